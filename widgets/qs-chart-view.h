/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-quant.h"

G_BEGIN_DECLS

#define QS_TYPE_CHART_VIEW (qs_chart_view_get_type ())

/* The abstract base of the chart widgets (QsHistogramView, QsHeatmapView,
 * QsChannelRangeView). It owns what they share: the "result" property (QsQuantResult,
 * nullable), the read-only "description" property (what the chart shows, also set as the
 * accessible description), the context menu (right click, long press, Menu key, Shift+F10)
 * with its "Export Image…" entry, and the "export-requested" signal that entry emits (the
 * app asks for a file name and calls the subclass's _export ()). The accessible role is
 * GTK_ACCESSIBLE_ROLE_IMG; the view is focusable, has tooltips and clips its drawing.
 * Classes of discrete items also emit "item-activated" (gint item) on a primary click.
 * Inside a widget with the "presentation" style class, text and lines are drawn larger. */
G_DECLARE_DERIVABLE_TYPE (QsChartView, qs_chart_view, QS, CHART_VIEW, GtkWidget)

struct _QsChartViewClass
{
  GtkWidgetClass parent_class;

  /* Called when "result" changed, before it is notified: the new result is
   * qs_chart_view_get_result (), old_result the previous one (NULL when there was none). */
  void  (*result_changed) (QsChartView   *self,
                           QsQuantResult *old_result);

  /* For charts of discrete items (histogram bins, channels): the item at (x, y) in widget
   * coordinates or -1, and its tooltip text. With item_at set, the view tracks the item
   * under the pointer (redrawing when it changes) and shows describe_item () as the tooltip;
   * without it, the subclass handles pointer and tooltips itself. Either way the keyboard
   * tooltip is the description. */
  gint  (*item_at)        (QsChartView   *self,
                           double         x,
                           double         y);
  char *(*describe_item)  (QsChartView   *self,
                           gint           item);

  /*< private >*/
  gpointer padding[5];
};

void           qs_chart_view_set_result      (QsChartView   *self,
                                              QsQuantResult *result);
QsQuantResult *qs_chart_view_get_result      (QsChartView   *self);
const char    *qs_chart_view_get_description (QsChartView   *self);
/* Emits "item-activated" (histogram bin, channel) as a primary click on it does. */
void           qs_chart_view_activate_item   (QsChartView   *self,
                                              gint           item);
/* The size (points; PNG pixels at scale 1) exports are drawn at: a slide's 1920 x 1080.
 * 0 x 0: the widget's size (the default). */
void           qs_chart_view_set_export_size (QsChartView   *self,
                                              int            width,
                                              int            height);

G_END_DECLS
