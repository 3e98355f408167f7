/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bar chart: one bar per item along an axis (the values of a graph in execution
 * order), one of them highlighted. The sample gallery's per-layer activation error. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-private.h"

void
qs_chart_bars_data_init (QsChartBarsData *data)
{
  g_return_if_fail (data != NULL);

  memset (data, 0, sizeof *data);
  data->highlight = -1;
}

void
qs_chart_draw_bars (cairo_t               *cr,
                    double                 width,
                    double                 height,
                    const QsChartBarsData *data,
                    const char            *title,
                    const QsChartStyle    *style)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale, top;
  double yhi = 0.0, yt[12], label_w = 0.0, slot, last_label_right = -INFINITY;
  guint nyt;
  QsChartRect plot;
  g_autoptr(GArray) legend = NULL;

  g_return_if_fail (cr != NULL && data != NULL && style != NULL);

  if (style->draw_background)
    _qs_chart_draw_background (cr, width, height, style);
  top = _qs_chart_draw_title (cr, width, title, style);
  for (gsize i = 0; i < data->n; i++)
    if (isfinite (data->values[i]))
      yhi = MAX (yhi, data->values[i]);
  if (data->n == 0)
    {
      _qs_chart_draw_message (cr, width, height, _("Nothing to plot"), style);
      return;
    }
  if (!(yhi > 0.0))
    yhi = 1.0;
  else
    yhi *= 1.08;

  legend = g_array_new (FALSE, TRUE, sizeof (QsChartLegendEntry));
  g_array_set_clear_func (legend, _qs_chart_legend_entry_clear);
  if (data->series_label != NULL)
    _qs_chart_legend_add (legend, &style->accent, 0.55, 0, data->series_label);
  if (data->highlight >= 0 && (gsize) data->highlight < data->n && data->highlight_label != NULL)
    _qs_chart_legend_add (legend, &style->clip, 1.0, 0, data->highlight_label);
  top += _qs_chart_legend_flow (cr, style, pad, top, width - pad, legend) + pad / 2;

  nyt = _qs_chart_axis_ticks (0.0, yhi, 3, 6, yt);
  for (guint t = 0; t < nyt; t++)
    {
      g_autofree char *s = _qs_chart_format_value (yt[t]);
      double w;

      _qs_chart_text_extents (cr, style, 1.0, FALSE, s, &w, NULL);
      label_w = MAX (label_w, w);
    }
  plot.x = pad + (data->y_label ? lh + pad / 2 : 0) + label_w + pad / 2;
  plot.y = top;
  plot.width = MAX (width - plot.x - pad * 2, 10.0);
  plot.height = MAX (height - top - 2 * lh - pad * 1.5, 10.0);
  slot = plot.width / data->n;

  cairo_set_line_width (cr, 1.0);
  for (guint t = 0; t < nyt; t++)
    {
      double y = round (plot.y + plot.height * (1.0 - yt[t] / yhi)) + 0.5;
      g_autofree char *s = _qs_chart_format_value (yt[t]);

      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, plot.x, y);
      cairo_line_to (cr, plot.x + plot.width, y);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.8);
      _qs_chart_text (cr, style, plot.x - pad / 2, y, 1.0, 0.5, 1.0, FALSE, s);
    }
  if (data->y_label != NULL)
    {
      cairo_save (cr);
      cairo_translate (cr, pad, plot.y + plot.height / 2);
      cairo_rotate (cr, -G_PI / 2);
      _qs_chart_set_color (cr, &style->fg, 0.9);
      _qs_chart_text (cr, style, 0, 0, 0.5, 0.0, 1.0, FALSE, data->y_label);
      cairo_restore (cr);
    }

  /* bars: a gap between them while they are wide enough to show one */
  for (gsize i = 0; i < data->n; i++)
    {
      double v = isfinite (data->values[i]) ? MAX (data->values[i], 0.0) : 0.0;
      double gap = slot >= 6.0 ? MAX (1.0, slot * 0.2) : 0.0;
      double x = plot.x + i * slot + gap / 2, h = plot.height * v / yhi;
      gboolean hl = (gint) i == data->highlight;

      _qs_chart_set_color (cr, hl ? &style->clip : &style->accent, hl ? 1.0 : 0.55);
      cairo_rectangle (cr, x, plot.y + plot.height - h, MAX (slot - gap, 1.0), h);
      cairo_fill (cr);
    }
  /* item labels under the bars where they fit; the highlighted one always */
  if (data->labels != NULL)
    {
      gint hl = data->highlight;
      QsChartRect hr = { 0 };

      if (hl >= 0 && (gsize) hl < data->n)
        {
          _qs_chart_text_rect (cr, style, plot.x + (hl + 0.5) * slot, plot.y + plot.height + pad / 2,
                               0.5, 0.0, 1.0, TRUE, data->labels[hl], &hr);
          hr.x = CLAMP (hr.x, 0.0, width - hr.width);
        }
      for (gsize i = 0; i < data->n; i++)
        {
          QsChartRect r;

          if ((gint) i == hl)
            continue;
          _qs_chart_text_rect (cr, style, plot.x + (i + 0.5) * slot, plot.y + plot.height + pad / 2,
                               0.5, 0.0, 1.0, FALSE, data->labels[i], &r);
          if (r.x < last_label_right + pad || r.x < 0 || r.x + r.width > width
              || (hr.width > 0 && _qs_chart_rect_intersects (&r, &hr)))
            continue;
          _qs_chart_set_color (cr, &style->fg, 0.8);
          _qs_chart_text (cr, style, r.x, r.y, 0.0, 0.0, 1.0, FALSE, data->labels[i]);
          last_label_right = r.x + r.width;
        }
      if (hr.width > 0)
        {
          _qs_chart_set_color (cr, &style->clip, 1.0);
          _qs_chart_text (cr, style, hr.x, hr.y, 0.0, 0.0, 1.0, TRUE, data->labels[hl]);
        }
    }
  if (data->x_label != NULL)
    {
      _qs_chart_set_color (cr, &style->fg, 0.9);
      _qs_chart_text (cr, style, plot.x + plot.width / 2, plot.y + plot.height + pad / 2 + lh, 0.5, 0.0,
                      1.0, FALSE, data->x_label);
    }
  _qs_chart_set_color (cr, &style->fg, 0.5);
  cairo_move_to (cr, plot.x + 0.5, plot.y);
  cairo_line_to (cr, plot.x + 0.5, plot.y + plot.height + 0.5);
  cairo_line_to (cr, plot.x + plot.width, plot.y + plot.height + 0.5);
  cairo_stroke (cr);
  _qs_chart_legend_draw (cr, style, legend);
}

typedef struct
{
  const QsChartBarsData *data;
} BarsDraw;

static void
draw_bars_cb (cairo_t            *cr,
              double              width,
              double              height,
              const char         *title,
              const QsChartStyle *style,
              gpointer            user_data)
{
  BarsDraw *bd = user_data;

  qs_chart_draw_bars (cr, width, height, bd->data, title, style);
}

gboolean
qs_chart_export_bars (const QsChartBarsData *data,
                      const QsChartStyle    *style,
                      const char            *title,
                      const char            *path,
                      int                    width,
                      int                    height,
                      double                 scale,
                      GError               **error)
{
  BarsDraw bd = { data };

  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return _qs_chart_export_drawing (draw_bars_cb, &bd, style, title, path, width, height, scale, error);
}
