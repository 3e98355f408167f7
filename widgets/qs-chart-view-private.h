/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Folder-internal API of QsChartView, the base of the chart widgets: theme colours from
 * CSS, the context menu, the description and export. */

#include <gtk/gtk.h>

#include "qs-chart-private.h"
#include "qs-chart-view.h"

G_BEGIN_DECLS

/* Fills style from the widget's CSS: text colour, accent, error and background colours
 * (libadwaita named colours when present), light or dark from the text luminance. */
void        _qs_chart_view_get_style        (GtkWidget      *widget,
                                             QsChartStyle   *style);

/* Appends the standard "Export Image…" section (action chart.export, which emits
 * "export-requested") to menu and makes it the context menu: right click, long press,
 * Menu key and Shift+F10 (action menu.popup) open it. Call once, from the subclass init. */
void        _qs_chart_view_set_menu         (QsChartView    *self,
                                             GMenu          *menu);

/* The hovered item (see item_at in QsChartViewClass), -1 for none. Setting it redraws
 * when it changes; subclasses reset it to -1 when their items change. */
gint        _qs_chart_view_get_hover        (QsChartView    *self);
void        _qs_chart_view_set_hover        (QsChartView    *self,
                                             gint            item);

/* Sets "description" and the accessible description; notifies only on change. */
void        _qs_chart_view_set_description  (QsChartView    *self,
                                             char           *description); /* transfer full */

/* The size an export is drawn at (qs_chart_view_set_export_size (), else the widget's, else
 * 960 x 600): for subclasses that export data of their own. */
/* For the chart widgets that are not QsChartView (line, bar, scatter, analysis, eval):
 * a size of 0 means the widget's own, or 960 x 600 when it is not shown. */
void        _qs_chart_widget_export_size    (GtkWidget      *widget,
                                             int            *width,
                                             int            *height);
/* Replaces *slot with title; the accessible label follows and the widget redraws. FALSE
 * when nothing changed (the caller then skips its notify). */
gboolean    _qs_chart_widget_set_title      (GtkWidget      *widget,
                                             char          **slot,
                                             const char     *title);
void        _qs_chart_view_get_export_size  (QsChartView    *self,
                                             int            *width,
                                             int            *height);

/* Exports the current result drawn with the widget's theme colours (background included)
 * at the widget's size, or a default figure size when it is not shown. options->style is
 * set here. The result must not be NULL: the subclass reports that with its own words. */
gboolean    _qs_chart_view_export           (QsChartView    *self,
                                             const char     *kind,
                                             QsChartOptions *options,
                                             const char     *title,
                                             const char     *path,
                                             double          scale,
                                             GError        **error);

G_END_DECLS
