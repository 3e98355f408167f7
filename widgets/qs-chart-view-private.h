/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Folder-internal helpers shared by the chart widgets: theme colours from CSS, the
 * context menu (right click, long press, Menu key, Shift+F10) and export. */

#include <gtk/gtk.h>

#include "qs-chart-private.h"

G_BEGIN_DECLS

/* Fills style from the widget's CSS: text colour, accent, error and background colours
 * (libadwaita named colours when present), light or dark from the text luminance. */
void        _qs_chart_view_get_style        (GtkWidget      *widget,
                                             QsChartStyle   *style);

/* Creates the context-menu popover (parented to widget; unparent it in dispose), and the
 * gestures that open it. The class must install the "menu.popup" action with
 * _qs_chart_view_class_add_menu (). */
GtkWidget  *_qs_chart_view_setup_menu       (GtkWidget      *widget,
                                             GMenuModel     *model);
void        _qs_chart_view_class_add_menu   (GtkWidgetClass *widget_class);
/* Opens the widget's popover (stored as object data by setup) at x, y (or the centre). */
void        _qs_chart_view_popup            (GtkWidget      *widget,
                                             double          x,
                                             double          y);
/* Calls gtk_popover_present () on the menu: from size_allocate. */
void        _qs_chart_view_present_menu     (GtkWidget      *widget);

/* The standard menu section with "Export Image…" (chart.export). */
void        _qs_chart_view_append_export    (GMenu          *menu);

/* Export size: the widget's size, or a default figure size when it is not shown. */
void        _qs_chart_view_export_size      (GtkWidget      *widget,
                                             int            *width,
                                             int            *height);

void        _qs_chart_view_set_description  (GtkWidget      *widget,
                                             char          **slot,
                                             char           *description, /* transfer full */
                                             GParamSpec     *pspec);

G_END_DECLS
