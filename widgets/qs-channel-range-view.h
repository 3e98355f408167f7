/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-chart-view.h"
#include "qs-quant.h"

G_BEGIN_DECLS

#define QS_TYPE_CHANNEL_RANGE_VIEW (qs_channel_range_view_get_type ())

/* Per output channel min … max bars with the per-tensor range overlaid and each channel's
 * step size as a faint line: the picture that explains per-channel quantization.
 * Properties: "result", "sorted" (widest channel first), "description" (read-only).
 * Signal "export-requested". */
G_DECLARE_FINAL_TYPE (QsChannelRangeView, qs_channel_range_view, QS, CHANNEL_RANGE_VIEW, QsChartView)

GtkWidget     *qs_channel_range_view_new             (void);
void           qs_channel_range_view_set_result      (QsChannelRangeView *self,
                                                      QsQuantResult      *result);
QsQuantResult *qs_channel_range_view_get_result      (QsChannelRangeView *self);
void           qs_channel_range_view_set_sorted      (QsChannelRangeView *self,
                                                      gboolean            sorted);
gboolean       qs_channel_range_view_get_sorted      (QsChannelRangeView *self);
const char    *qs_channel_range_view_get_description (QsChannelRangeView *self);
gboolean       qs_channel_range_view_export          (QsChannelRangeView *self,
                                                      const char         *path,
                                                      double              scale,
                                                      GError            **error);

G_END_DECLS
