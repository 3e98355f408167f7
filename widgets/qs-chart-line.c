/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The line chart: series over a shared x axis, a marked point and a cursor. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-private.h"

void
qs_chart_line_data_init (QsChartLineData *data)
{
  g_return_if_fail (data != NULL);

  memset (data, 0, sizeof *data);
  data->marker_x = NAN;
  data->marker_y = NAN;
  data->cursor_x = NAN;
}

static const QsChartColor *
series_color (const QsChartStyle *style,
              guint               i)
{
  return i == 0 ? &style->accent : i == 1 ? &style->second : &style->fg;
}

static double
map_y (double v,
       double lo,
       double hi,
       gboolean log_y,
       const QsChartRect *plot)
{
  double t;

  if (log_y)
    t = (log10 (MAX (v, 1e-300)) - lo) / (hi - lo);
  else
    t = (v - lo) / (hi - lo);
  return plot->y + plot->height * (1.0 - CLAMP (t, -0.02, 1.02));
}

void
qs_chart_draw_line (cairo_t               *cr,
                    double                 width,
                    double                 height,
                    const QsChartLineData *data,
                    const char            *title,
                    const QsChartStyle    *style)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale, top;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  double xt[12], yt[12], label_w = 0.0;
  guint nxt, nyt;
  QsChartRect plot;
  g_autoptr(GArray) legend = NULL;

  g_return_if_fail (cr != NULL && data != NULL && style != NULL);

  if (style->draw_background)
    _qs_chart_draw_background (cr, width, height, style);
  top = _qs_chart_draw_title (cr, width, title, style);

  for (guint s = 0; s < data->n_series; s++)
    for (gsize i = 0; i < data->series[s].n; i++)
      {
        double x = data->series[s].x[i], y = data->series[s].y[i];

        if (!isfinite (x) || !isfinite (y) || (data->log_y && !(y > 0.0)))
          continue;
        xlo = MIN (xlo, x);
        xhi = MAX (xhi, x);
        ylo = MIN (ylo, data->log_y ? log10 (y) : y);
        yhi = MAX (yhi, data->log_y ? log10 (y) : y);
      }
  if (!(xlo < xhi))
    {
      _qs_chart_draw_message (cr, width, height, _("Nothing to plot"), style);
      return;
    }
  if (!data->log_y)
    ylo = MIN (ylo, 0.0);
  if (!(ylo < yhi))
    yhi = ylo + 1.0;
  else
    {
      double m = (yhi - ylo) * 0.06;
      yhi += m;
      if (data->log_y)
        ylo -= m;
    }

  /* legend */
  legend = g_array_new (FALSE, TRUE, sizeof (QsChartLegendEntry));
  g_array_set_clear_func (legend, _qs_chart_legend_entry_clear);
  for (guint s = 0; s < data->n_series; s++)
    if (data->series[s].label != NULL)
      _qs_chart_legend_add (legend, series_color (style, s), 1.0, 1, data->series[s].label);
  if (isfinite (data->marker_x) && data->marker_label != NULL)
    _qs_chart_legend_add (legend, &style->clip, 1.0, 2, data->marker_label);
  if (isfinite (data->cursor_x) && data->cursor_label != NULL)
    _qs_chart_legend_add (legend, &style->fg, 0.7, 3, data->cursor_label);
  top += _qs_chart_legend_flow (cr, style, pad, top, width - pad, legend) + pad / 2;

  /* y ticks decide the left margin */
  nyt = _qs_chart_axis_ticks (ylo, yhi, 3, 6, yt);
  for (guint t = 0; t < nyt; t++)
    {
      g_autofree char *s = _qs_chart_format_value (data->log_y ? pow (10.0, yt[t]) : yt[t]);
      double w;

      _qs_chart_text_extents (cr, style, 1.0, FALSE, s, &w, NULL);
      label_w = MAX (label_w, w);
    }
  plot.x = pad + (data->y_label ? lh + pad / 2 : 0) + label_w + pad / 2;
  plot.y = top;
  plot.width = MAX (width - plot.x - pad * 2, 10.0);
  plot.height = MAX (height - top - 2 * lh - pad * 1.5, 10.0);

  /* grid and y labels */
  cairo_set_line_width (cr, 1.0);
  for (guint t = 0; t < nyt; t++)
    {
      double y = round (map_y (data->log_y ? pow (10.0, yt[t]) : yt[t], ylo, yhi, data->log_y, &plot)) + 0.5;
      g_autofree char *s = _qs_chart_format_value (data->log_y ? pow (10.0, yt[t]) : yt[t]);

      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, plot.x, y);
      cairo_line_to (cr, plot.x + plot.width, y);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.8);
      _qs_chart_text (cr, style, plot.x - pad / 2, y, 1.0, 0.5, 1.0, FALSE, s);
    }
  nxt = _qs_chart_axis_ticks (xlo, xhi, 3, MAX (3, (guint) MIN (10.0, plot.width / (90.0 * style->font_scale))), xt);
  for (guint t = 0; t < nxt; t++)
    {
      double x = plot.x + (xt[t] - xlo) / (xhi - xlo) * plot.width;
      g_autofree char *s = _qs_chart_format_value (xt[t]);

      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, round (x) + 0.5, plot.y);
      cairo_line_to (cr, round (x) + 0.5, plot.y + plot.height);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.8);
      _qs_chart_text (cr, style, x, plot.y + plot.height + pad / 2, 0.5, 0.0, 1.0, FALSE, s);
    }
  _qs_chart_set_color (cr, &style->fg, 0.9);
  if (data->x_label != NULL)
    _qs_chart_text (cr, style, plot.x + plot.width / 2, plot.y + plot.height + pad / 2 + lh, 0.5, 0.0,
                    1.0, FALSE, data->x_label);
  if (data->y_label != NULL)
    {
      cairo_save (cr);
      cairo_translate (cr, pad, plot.y + plot.height / 2);
      cairo_rotate (cr, -G_PI / 2);
      _qs_chart_text (cr, style, 0, 0, 0.5, 0.0, 1.0, FALSE, data->y_label);
      cairo_restore (cr);
    }
  /* axes */
  _qs_chart_set_color (cr, &style->fg, 0.5);
  cairo_move_to (cr, plot.x + 0.5, plot.y);
  cairo_line_to (cr, plot.x + 0.5, plot.y + plot.height + 0.5);
  cairo_line_to (cr, plot.x + plot.width, plot.y + plot.height + 0.5);
  cairo_stroke (cr);

  cairo_save (cr);
  cairo_rectangle (cr, plot.x, plot.y - 4, plot.width + 4, plot.height + 8);
  cairo_clip (cr);
  /* cursor */
  if (isfinite (data->cursor_x))
    {
      double x = plot.x + (data->cursor_x - xlo) / (xhi - xlo) * plot.width;
      double dash[] = { 4.0 * style->font_scale, 3.0 * style->font_scale };

      _qs_chart_set_color (cr, &style->fg, 0.7);
      cairo_set_line_width (cr, 1.5 * style->line_scale);
      cairo_set_dash (cr, dash, 2, 0);
      cairo_move_to (cr, x, plot.y);
      cairo_line_to (cr, x, plot.y + plot.height);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
  /* series */
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint s = 0; s < data->n_series; s++)
    {
      gboolean pen = FALSE;

      _qs_chart_set_color (cr, series_color (style, s), 1.0);
      cairo_set_line_width (cr, 2.0 * style->line_scale);
      for (gsize i = 0; i < data->series[s].n; i++)
        {
          double x = data->series[s].x[i], y = data->series[s].y[i];
          double px, py;

          if (!isfinite (x) || !isfinite (y) || (data->log_y && !(y > 0.0)))
            {
              pen = FALSE;
              continue;
            }
          px = plot.x + (x - xlo) / (xhi - xlo) * plot.width;
          py = map_y (y, ylo, yhi, data->log_y, &plot);
          if (pen)
            cairo_line_to (cr, px, py);
          else
            cairo_move_to (cr, px, py);
          pen = TRUE;
        }
      cairo_stroke (cr);
    }
  /* marker */
  if (isfinite (data->marker_x) && isfinite (data->marker_y))
    {
      double x = plot.x + (data->marker_x - xlo) / (xhi - xlo) * plot.width;
      double y = map_y (data->marker_y, ylo, yhi, data->log_y, &plot);
      double dash[] = { 2.0 * style->font_scale, 2.0 * style->font_scale };

      _qs_chart_set_color (cr, &style->clip, 0.8);
      cairo_set_line_width (cr, 1.0 * style->line_scale);
      cairo_set_dash (cr, dash, 2, 0);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x, plot.y + plot.height);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      _qs_chart_set_color (cr, &style->clip, 1.0);
      cairo_arc (cr, x, y, 4.5 * style->line_scale, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  cairo_restore (cr);
  _qs_chart_legend_draw (cr, style, legend);
}

typedef struct
{
  const QsChartLineData *data;
} LineDraw;

static void
draw_line_cb (cairo_t            *cr,
              double              width,
              double              height,
              const char         *title,
              const QsChartStyle *style,
              gpointer            user_data)
{
  LineDraw *ld = user_data;

  qs_chart_draw_line (cr, width, height, ld->data, title, style);
}

gboolean
qs_chart_export_line (const QsChartLineData *data,
                      const QsChartStyle    *style,
                      const char            *title,
                      const char            *path,
                      int                    width,
                      int                    height,
                      double                 scale,
                      GError               **error)
{
  LineDraw ld = { data };

  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return _qs_chart_export_drawing (draw_line_cb, &ld, style, title, path, width, height, scale, error);
}
