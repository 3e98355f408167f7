/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-document.h"

G_BEGIN_DECLS

#define QS_TYPE_SUMMARY_BAR (qs_summary_bar_get_type ())

/* The always-visible model totals: weight size float -> quantized (and ratio), peak
 * activation memory, weighted SQNR, float vs quantized quick accuracy with the delta. */
G_DECLARE_FINAL_TYPE (QsSummaryBar, qs_summary_bar, QS, SUMMARY_BAR, GtkWidget)

GtkWidget *qs_summary_bar_new          (void);
void       qs_summary_bar_set_document (QsSummaryBar *self,
                                        QsDocument   *document); /* nullable */

G_END_DECLS
