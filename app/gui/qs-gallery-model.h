/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "quantscope-core.h"

G_BEGIN_DECLS

/* One image of the gallery: its index in the dataset, its label and, once computed, both
 * engines' predictions. Created on demand by QsGalleryModel. */
#define QS_TYPE_GALLERY_ITEM (qs_gallery_item_get_type ())
G_DECLARE_FINAL_TYPE (QsGalleryItem, qs_gallery_item, QS, GALLERY_ITEM, GObject)

guint                     qs_gallery_item_get_index      (QsGalleryItem *self);
QsDataset                *qs_gallery_item_get_dataset    (QsGalleryItem *self);
/* NULL until the predictions are computed. */
const QsSamplePrediction *qs_gallery_item_get_prediction (QsGalleryItem *self);
/* The image as a texture, at most max_size pixels on its longer side (scaled by whole
 * factors with nearest neighbours, so small images stay sharp). */
GdkTexture               *qs_gallery_thumbnail_new       (QsDataset     *dataset,
                                                          guint          index,
                                                          guint          max_size,
                                                          GError       **error);

typedef enum
{
  QS_GALLERY_FILTER_ALL,
  QS_GALLERY_FILTER_CHANGED,      /* quantization changed the answer */
  QS_GALLERY_FILTER_QUANT_WRONG,  /* the quantized answer is wrong (or changed, unlabelled) */
} QsGalleryFilter;

/* A GListModel of QsGalleryItem over a dataset, filtered, with items created only when
 * asked for (50,000 images cost an index array until they scroll into view). */
#define QS_TYPE_GALLERY_MODEL (qs_gallery_model_get_type ())
G_DECLARE_FINAL_TYPE (QsGalleryModel, qs_gallery_model, QS, GALLERY_MODEL, GObject)

QsGalleryModel *qs_gallery_model_new          (void);
/* dataset nullable; predictions nullable (the filters other than ALL then show nothing). */
void            qs_gallery_model_set_data     (QsGalleryModel  *self,
                                               QsDataset       *dataset,
                                               QsSampleSet     *predictions);
QsSampleSet    *qs_gallery_model_get_predictions (QsGalleryModel *self);
/* cls: -1 = every class; else images of that label (or float prediction, unlabelled). */
void            qs_gallery_model_set_filter   (QsGalleryModel  *self,
                                               QsGalleryFilter  filter,
                                               gint             cls);
/* The dataset index of the item at position. */
guint           qs_gallery_model_get_index    (QsGalleryModel  *self,
                                               guint            position);
/* Images in the dataset (before filtering). */
guint           qs_gallery_model_get_n_total  (QsGalleryModel  *self);

G_END_DECLS
