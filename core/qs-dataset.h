/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-model.h"

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

/* spec: an IDX images file (plain or .gz; labels found beside it: *-images-idx3-ubyte ->
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
guint        qs_dataset_get_n_classes   (QsDataset     *self);
gint         qs_dataset_get_label       (QsDataset     *self,
                                         guint          index);
const char  *qs_dataset_get_class_name  (QsDataset     *self,
                                         guint          label);
/* Raw uint8 pixels of one image (height * width * channels, HWC). */
const guint8*qs_dataset_get_pixels      (QsDataset     *self,
                                         guint          index);
/* Writes `count` images from `start` as float32 model inputs (x * scale + offset, default
 * 1/255 and 0; HDF5 images that are not bytes are used as stored: default scale 1), reshaped to the model's input when element counts agree (28x28 vs 28x28x1
 * vs 784). Fails with QS_DATASET_ERROR_SHAPE naming both shapes otherwise. */
gboolean     qs_dataset_fill_inputs     (QsDataset     *self,
                                         QsModel       *model,
                                         guint          start,
                                         guint          count,
                                         float         *out,
                                         GError       **error);
void         qs_dataset_set_scaling     (QsDataset     *self,
                                         float          scale,
                                         float          offset);

G_END_DECLS
