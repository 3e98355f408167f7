/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-gallery-model.h"

G_BEGIN_DECLS

/* One thumbnail of the gallery with its label and both predictions; the thumbnail is made
 * from the dataset's pixels when the cell is bound (and dropped when unbound). */
#define QS_TYPE_GALLERY_CELL (qs_gallery_cell_get_type ())
G_DECLARE_FINAL_TYPE (QsGalleryCell, qs_gallery_cell, QS, GALLERY_CELL, GtkWidget)

#define QS_GALLERY_THUMB_SIZE 84

GtkWidget *qs_gallery_cell_new      (void);
void       qs_gallery_cell_set_item (QsGalleryCell *self,
                                     QsGalleryItem *item);   /* nullable */

G_END_DECLS
