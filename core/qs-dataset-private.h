/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-dataset.h"

G_BEGIN_DECLS

/* A dataset format that reads images on demand (qs-dataset-npy.c, qs-dataset-folder.c).
 * QsDataset owns it; read () is called from any thread (a source locks what it shares). */
typedef struct _QsDatasetSource QsDatasetSource;

struct _QsDatasetSource
{
  guint     n_images;
  gsize     height, width, channels;  /* as stored; of the first image when sizes vary */
  gboolean  varying_size;
  gboolean  bytes;                    /* values are whole numbers 0..255 (x/255 by default) */
  gint     *labels;                   /* nullable: unlabelled */
  guint     n_classes;
  GStrv     class_names;              /* nullable */
  /* One image as floats (HWC, values as stored), newly allocated; its shape in shape[3]. */
  float  *(*read)  (QsDatasetSource *self,
                    guint            index,
                    gsize           *shape,
                    GError         **error);
  void    (*free)  (QsDatasetSource *self);
};

void             _qs_dataset_source_free   (QsDatasetSource *source);

/* .npy / .npz: x_name / y_name NULL pick x_test/y_test, x/y, or the first two arrays. */
QsDatasetSource *_qs_dataset_npy_open      (const char      *path,
                                            const char      *x_name,
                                            const char      *y_name,
                                            GError         **error);
/* Labels from a .npy file: n labels (rank 1 whole numbers or bool, or rank 2 one-hot). */
gint            *_qs_dataset_npy_load_labels (const char    *path,
                                              guint         *n,
                                              guint         *n_classes,
                                              GError       **error);
/* Checks a .npy header (the bytes from the magic on) against size bytes of file; the
 * fuzz target and tests call it. Returns the offset of the data or 0 with an error. */
gsize            _qs_npy_check_header      (const guint8    *data,
                                            gsize            size,
                                            const char      *where,
                                            GError         **error);

/* A folder of images, one sub-folder per class (or none: unlabelled). */
QsDatasetSource *_qs_dataset_folder_open   (const char      *path,
                                            GError         **error);

/* The image and label arrays of an HDF5 dataset file, as HDF5 returns them (doubles). */
typedef struct
{
  char    *x_name;
  char    *y_name;
  guint    x_rank, y_rank;        /* x: 2..4, y: 1..2 */
  guint64  x_dims[4], y_dims[4];
  double  *x, *y;
} QsDatasetArrays;

/* In-process (runs HDF5: callers hold _qs_hdf5_lock). */
gboolean _qs_dataset_h5_arrays_read  (const char      *path,
                                      const char      *x_name,
                                      const char      *y_name,
                                      QsDatasetArrays *out,
                                      GError         **error);
/* The same through the sandboxed loader (qs-model-sandbox.c) when it is available, else
 * in-process under the HDF5 lock. */
gboolean _qs_dataset_h5_arrays_read_untrusted (const char      *path,
                                               const char      *x_name,
                                               const char      *y_name,
                                               QsDatasetArrays *out,
                                               GError         **error);
void     _qs_dataset_arrays_clear    (QsDatasetArrays *arrays);

G_END_DECLS
