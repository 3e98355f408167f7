/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "qs-document.h"
#include "qs-explain-panel.h"

G_BEGIN_DECLS

#define QS_TYPE_LAYER_PAGE (qs_layer_page_get_type ())

/* The main pane for one layer: its quantization controls (every change goes through the
 * document, so it is undoable), its statistics, and the three charts. */
G_DECLARE_FINAL_TYPE (QsLayerPage, qs_layer_page, QS, LAYER_PAGE, AdwBin)

GtkWidget  *qs_layer_page_new          (void);
void        qs_layer_page_set_document (QsLayerPage *self,
                                        QsDocument  *document); /* nullable */
void        qs_layer_page_set_layer    (QsLayerPage *self,
                                        const char  *layer); /* nullable */
const char *qs_layer_page_get_layer    (QsLayerPage *self);
/* The chart shown: "histogram", "heatmap" or "channels" (what lessons set). */
void        qs_layer_page_set_chart    (QsLayerPage *self,
                                        const char  *chart);
const char *qs_layer_page_get_chart    (QsLayerPage *self);
/* No layer, and a page saying that the layer filter (search) matches none. */
void        qs_layer_page_show_no_match (QsLayerPage *self,
                                         const char  *search);
/* Opens the explain panel on weight index of the layer's kernel (what a click on the error
 * map does); for a layer that runs in integers, the requantization of one output of the
 * weight's channel follows from a worker. */
void        qs_layer_page_explain_weight (QsLayerPage *self,
                                          gsize        index);
QsExplainPanel *qs_layer_page_get_explain_panel (QsLayerPage *self);

/* The banner that says why the deployment target cannot run the layer (tests). */
GtkWidget   *_qs_layer_page_get_target_banner (QsLayerPage *self,
                                               GtkLabel   **label);

G_END_DECLS
