/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-summary-bar.h"
#include "qs-scatter-chart-view.h"
#include "qs-tradeoff-history.h"

G_BEGIN_DECLS

/* How many times the totals were recomputed and shown (the tests count them). */
guint    _qs_summary_bar_get_n_updates       (QsSummaryBar  *self);
/* TRUE when a float accuracy says the model was made for other data (under twice chance). */
gboolean _qs_summary_bar_is_near_chance      (double         float_top1,
                                              guint          n_classes);
/* The accuracy tile's labels (the tests read them). */
void     _qs_summary_bar_get_accuracy_labels (QsSummaryBar  *self,
                                              GtkLabel     **caption,
                                              GtkLabel     **value,
                                              GtkLabel     **detail);

/* The deployment target chooser and the line under it ("3 layers cannot run on …"). */
GtkDropDown *_qs_summary_bar_get_target_dropdown (QsSummaryBar *self);
GtkLabel    *_qs_summary_bar_get_target_label    (QsSummaryBar *self);
/* The trade-off history and its chart (in the popover of the accuracy's button). */
QsScatterChartView *_qs_summary_bar_get_history_chart (QsSummaryBar *self);
QsTradeoffHistory  *_qs_summary_bar_get_history       (QsSummaryBar *self);

G_END_DECLS
