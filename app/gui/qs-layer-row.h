/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-layer-item.h"

G_BEGIN_DECLS

#define QS_TYPE_LAYER_ROW (qs_layer_row_get_type ())

/* One row of the layer list: health dot, name, class and parameter count, and the weight and
 * output badges of the QsLayerItem it shows. Follows the item's notifications. */
G_DECLARE_FINAL_TYPE (QsLayerRow, qs_layer_row, QS, LAYER_ROW, GtkWidget)

GtkWidget   *qs_layer_row_new      (void);
QsLayerItem *qs_layer_row_get_item (QsLayerRow  *self); /* nullable */
void         qs_layer_row_set_item (QsLayerRow  *self,
                                    QsLayerItem *item); /* nullable */
/* The deployment target's warning icon (visible when the target cannot run the layer). */
GtkWidget   *_qs_layer_row_get_target_badge (QsLayerRow *self);

G_END_DECLS
