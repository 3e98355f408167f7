/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-model.h"
#include "qs-preprocess.h"

G_BEGIN_DECLS

#define QS_DATASET_ERROR (qs_dataset_error_quark ())

typedef enum
{
  QS_DATASET_ERROR_NOT_FOUND,
  QS_DATASET_ERROR_FORMAT,        /* bad magic, truncated, label count mismatch ... */
  QS_DATASET_ERROR_SHAPE,         /* images do not fit the model input */
} QsDatasetError;

#define QS_TYPE_DATASET (qs_dataset_get_type ())

G_DECLARE_FINAL_TYPE (QsDataset, qs_dataset, QS, DATASET, GObject)

GQuark       qs_dataset_error_quark     (void);

/* spec: a folder of images (one sub-folder per class, Keras image_dataset_from_directory /
 * torchvision ImageFolder layout; no sub-folders: unlabelled), a NumPy .npy file (images,
 * unlabelled) or .npz file (x_test/y_test, x/y or the first two arrays; "file.npz:X,Y"
 * names them, "file.npz:X" alone is unlabelled), an IDX images file (plain or .gz; labels found beside it: *-images-idx3-ubyte ->
 * *-labels-idx1-ubyte), an HDF5 file (x_test/y_test by default; "file.h5:IMAGES,LABELS"
 * names the datasets), "sample" (bundled
 * Fashion-MNIST test set, 10,000 images), "sample-train" (the bundled 10,000 training
 * images) or "sample-train-full" (Debian's dataset-fashion-mnist: all 60,000 training
 * images; an error when it is not installed). Immutable once opened; thread-safe reads. */
QsDataset   *qs_dataset_open            (const char    *spec,
                                         GError       **error);
/* The spec's short name: "sample", "sample-train", or the file's base name. */
const char  *qs_dataset_get_name        (QsDataset     *self);
/* The name in words for people (translated): "Fashion-MNIST test set" for "sample", the
 * file's base name for a file. */
const char  *qs_dataset_get_display_name (QsDataset    *self);
guint        qs_dataset_get_n_images    (QsDataset     *self);
/* Image shape as stored: height, width, channels. */
void         qs_dataset_get_image_shape (QsDataset     *self,
                                         gsize         *height,
                                         gsize         *width,
                                         gsize         *channels);
/* Opens a spec (see qs_dataset_open) with labels from another file (a .npy of class
 * numbers or one-hot rows), "none" (unlabelled) or NULL (those of the spec), and the
 * preprocessing its images get (NULL: the default, "auto"). */
QsDataset   *qs_dataset_open_full       (const char          *spec,
                                         const char          *labels,
                                         const QsPreprocess  *preprocess,
                                         GError             **error);
/* Whether images sizes vary (image folders: the shape above is the first image's). */
gboolean     qs_dataset_has_varying_size (QsDataset    *self);
/* 0 for unlabelled data. */
guint        qs_dataset_get_n_classes   (QsDataset     *self);
gboolean     qs_dataset_is_labelled     (QsDataset     *self);
/* -1 for unlabelled data. */
gint         qs_dataset_get_label       (QsDataset     *self,
                                         guint          index);
const char  *qs_dataset_get_class_name  (QsDataset     *self,
                                         guint          label);
/* Raw uint8 pixels of one image (height * width * channels, HWC) of the in-memory
 * formats (IDX, HDF5, the samples); NULL for formats read on demand (use
 * qs_dataset_read_pixels). */
const guint8*qs_dataset_get_pixels      (QsDataset     *self,
                                         guint          index);
/* One image as bytes (newly allocated, HWC) for display or training, with its shape, for
 * every format: values that are not bytes are scaled min..max to 0..255. */
guint8      *qs_dataset_read_pixels     (QsDataset     *self,
                                         guint          index,
                                         gsize         *height,
                                         gsize         *width,
                                         gsize         *channels,
                                         GError       **error);
/* Writes `count` images from `start` as float32 model inputs through the dataset's
 * preprocessing (default "auto": bytes x/255, other values as stored), reshaped to the
 * model's input when element counts agree (28x28 vs 28x28x1 vs 784), else resized and
 * cropped to the model's height x width x channels (image models). Fails with
 * QS_DATASET_ERROR_SHAPE naming both shapes when the images cannot fit. Thread-safe. */
gboolean     qs_dataset_fill_inputs     (QsDataset     *self,
                                         QsModel       *model,
                                         guint          start,
                                         guint          count,
                                         float         *out,
                                         GError       **error);
/* Shorthand for a preprocessing with this scale and offset and nothing else. */
void         qs_dataset_set_scaling     (QsDataset     *self,
                                         float          scale,
                                         float          offset);
/* Not while another thread fills inputs. NULL: the default. */
void         qs_dataset_set_preprocess  (QsDataset          *self,
                                         const QsPreprocess *preprocess);
const QsPreprocess *qs_dataset_get_preprocess (QsDataset    *self);

G_END_DECLS
