/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-document.h"
#include "qs-layer-item.h"

G_BEGIN_DECLS

#define QS_TYPE_LAYER_LIST (qs_layer_list_get_type ())

/* A GListModel of QsLayerItem, one per layer of the document's model (input layers left
 * out), in model order, kept current: badges follow config changes, health follows the
 * per-layer statistics as they arrive. */
G_DECLARE_FINAL_TYPE (QsLayerList, qs_layer_list, QS, LAYER_LIST, GObject)

QsLayerList *qs_layer_list_new  (QsDocument  *document);
QsLayerItem *qs_layer_list_find (QsLayerList *self,
                                 const char  *name,
                                 guint       *position); /* nullable */

G_END_DECLS
