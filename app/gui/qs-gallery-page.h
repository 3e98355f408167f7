/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "qs-document.h"
#include "qs-gallery-model.h"

G_BEGIN_DECLS

#define QS_TYPE_GALLERY_PAGE (qs_gallery_page_get_type ())

/* The sample gallery (issue 11): every image of the document's dataset as a thumbnail with
 * its label and both models' answers, computed in a worker (progress and Cancel), filtered
 * by "quantization changed the answer", "quantized is wrong" and class. Selecting an image
 * runs it through both programs (qs-attribution.h): top-5 of each side by side and the
 * activation error along the graph, the layer that added the most highlighted; "Use 8 Bits
 * for LAYER" widens that layer as one undo step and runs the image again.
 * Properties "running" (the answers are being computed) and "busy" (the selected image is
 * being run), both read-only. */
G_DECLARE_FINAL_TYPE (QsGalleryPage, qs_gallery_page, QS, GALLERY_PAGE, AdwBin)

GtkWidget      *qs_gallery_page_new             (void);
void            qs_gallery_page_set_document    (QsGalleryPage   *self,
                                                 QsDocument      *document); /* nullable */
/* Computes both answers for every image in a worker. */
void            qs_gallery_page_compute         (QsGalleryPage   *self);
void            qs_gallery_page_cancel          (QsGalleryPage   *self);
/* The config the shown answers were computed with (NULL before the first answers). */
QsConfig       *qs_gallery_page_get_answers_config (QsGalleryPage *self);
gboolean        qs_gallery_page_get_running     (QsGalleryPage   *self);
gboolean        qs_gallery_page_get_busy        (QsGalleryPage   *self);
QsGalleryModel *qs_gallery_page_get_model       (QsGalleryPage   *self);
GtkGridView    *qs_gallery_page_get_grid_view   (QsGalleryPage   *self);
void            qs_gallery_page_set_filter      (QsGalleryPage   *self,
                                                 QsGalleryFilter  filter,
                                                 gint             cls);
/* Selects the item at position of the (filtered) model. */
void            qs_gallery_page_select          (QsGalleryPage   *self,
                                                 guint            position);
/* The selected image's attribution once computed (nullable). */
QsAttribution  *qs_gallery_page_get_attribution (QsGalleryPage   *self);
/* Widens the layer that added the most error to the selected image (one undo step) and
 * runs the image again. FALSE when there is nothing to widen. */
gboolean        qs_gallery_page_widen           (QsGalleryPage   *self);

G_END_DECLS
