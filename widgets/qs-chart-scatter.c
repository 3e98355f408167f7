/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The scatter chart: points in the order they were made, the current one ringed. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-private.h"
#include "qs-chart-scatter.h"

void
qs_chart_scatter_data_init (QsChartScatterData *data)
{
  g_return_if_fail (data != NULL);

  memset (data, 0, sizeof *data);
  data->current = -1;
  data->hover = -1;
}

/* A tick label with as many decimals as the step between ticks needs ("106.62", "107"). */
static char *
format_tick (double value,
             double step)
{
  int decimals = step > 0 && isfinite (step) ? (int) CLAMP (-floor (log10 (step) + 1e-9), 0, 6) : 0;

  if (decimals == 0)
    return _qs_chart_format_value (value);
  return g_strdup_printf ("%.*f", decimals, value);
}

static double
tick_step (const double *ticks,
           guint         n)
{
  return n >= 2 ? ticks[1] - ticks[0] : 0.0;
}

typedef struct
{
  QsChartRect plot;
  double      xlo, xhi, ylo, yhi;
  double      xt[12], yt[12];
  guint       nxt, nyt;
  GArray     *legend;
} Layout;

static void
layout_clear (Layout *l)
{
  g_clear_pointer (&l->legend, g_array_unref);
}

/* FALSE: nothing to plot. */
static gboolean
layout (cairo_t                  *cr,
        double                    width,
        double                    height,
        const QsChartScatterData *data,
        const char               *title,
        const QsChartStyle       *style,
        Layout                   *l)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale, top, label_w = 0.0;
  gsize n_finite = 0;

  memset (l, 0, sizeof *l);
  l->xlo = l->ylo = INFINITY;
  l->xhi = l->yhi = -INFINITY;
  for (gsize i = 0; i < data->n; i++)
    {
      if (!isfinite (data->x[i]) || !isfinite (data->y[i]))
        continue;
      n_finite++;
      l->xlo = MIN (l->xlo, data->x[i]);
      l->xhi = MAX (l->xhi, data->x[i]);
      l->ylo = MIN (l->ylo, data->y[i]);
      l->yhi = MAX (l->yhi, data->y[i]);
    }
  /* point_at () lays out on a scratch surface: the same title, drawn where nobody sees it */
  top = _qs_chart_draw_title (cr, width, title, style);
  if (n_finite == 0)
    return FALSE;
  /* one point, or all at one size or accuracy: a range around it */
  if (!(l->xlo < l->xhi))
    {
      double m = MAX (fabs (l->xlo) * 0.1, 1.0);
      l->xlo -= m;
      l->xhi += m;
    }
  if (!(l->ylo < l->yhi))
    {
      double m = MAX (fabs (l->ylo) * 0.02, 0.5);
      l->ylo -= m;
      l->yhi += m;
    }
  else
    {
      double m = (l->yhi - l->ylo) * 0.08;
      l->ylo -= m;
      l->yhi += m;
    }
  {
    double m = (l->xhi - l->xlo) * 0.05;
    l->xlo = MAX (l->xlo - m, 0.0);
    l->xhi += m;
  }

  l->legend = g_array_new (FALSE, TRUE, sizeof (QsChartLegendEntry));
  g_array_set_clear_func (l->legend, _qs_chart_legend_entry_clear);
  /* Translators: legend of the trade-off history chart */
  _qs_chart_legend_add (l->legend, &style->accent, 1.0, 2, _("Configurations tried"));
  if (data->current >= 0 && (gsize) data->current < data->n && data->current_label != NULL)
    _qs_chart_legend_add (l->legend, &style->clip, 1.0, 4, data->current_label);
  top += _qs_chart_legend_flow (cr, style, pad, top, width - pad, l->legend) + pad / 2;

  l->nyt = _qs_chart_axis_ticks (l->ylo, l->yhi, 3, 5, l->yt);
  for (guint t = 0; t < l->nyt; t++)
    {
      g_autofree char *s = format_tick (l->yt[t], tick_step (l->yt, l->nyt));
      double w;

      _qs_chart_text_extents (cr, style, 1.0, FALSE, s, &w, NULL);
      label_w = MAX (label_w, w);
    }
  l->plot.x = pad + (data->y_label ? lh + pad / 2 : 0) + label_w + pad / 2;
  l->plot.y = top;
  l->plot.width = MAX (width - l->plot.x - pad * 2, 10.0);
  l->plot.height = MAX (height - top - 2 * lh - pad * 1.5, 10.0);
  l->nxt = _qs_chart_axis_ticks (l->xlo, l->xhi, 2,
                                 MAX (2, (guint) MIN (8.0, l->plot.width / (80.0 * style->font_scale))), l->xt);
  return TRUE;
}

static void
map (const Layout *l,
     double        x,
     double        y,
     double       *px,
     double       *py)
{
  *px = l->plot.x + (x - l->xlo) / (l->xhi - l->xlo) * l->plot.width;
  *py = l->plot.y + l->plot.height * (1.0 - (y - l->ylo) / (l->yhi - l->ylo));
}

void
qs_chart_draw_scatter (cairo_t                  *cr,
                       double                    width,
                       double                    height,
                       const QsChartScatterData *data,
                       const char               *title,
                       const QsChartStyle       *style)
{
  double pad, lh, r;
  gboolean pen = FALSE;
  Layout l;

  g_return_if_fail (cr != NULL && data != NULL && style != NULL);

  pad = 8.0 * style->font_scale;
  lh = _qs_chart_line_height (style);
  r = 4.0 * style->line_scale;
  if (style->draw_background)
    _qs_chart_draw_background (cr, width, height, style);
  if (!layout (cr, width, height, data, title, style, &l))
    {
      /* Translators: the trade-off history chart before any accuracy was measured */
      _qs_chart_draw_message (cr, width, height, _("No configuration measured yet"), style);
      layout_clear (&l);
      return;
    }

  cairo_set_line_width (cr, 1.0);
  for (guint t = 0; t < l.nyt; t++)
    {
      double px, py;
      g_autofree char *s = format_tick (l.yt[t], tick_step (l.yt, l.nyt));

      map (&l, l.xlo, l.yt[t], &px, &py);
      py = round (py) + 0.5;
      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, l.plot.x, py);
      cairo_line_to (cr, l.plot.x + l.plot.width, py);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.8);
      _qs_chart_text (cr, style, l.plot.x - pad / 2, py, 1.0, 0.5, 1.0, FALSE, s);
    }
  for (guint t = 0; t < l.nxt; t++)
    {
      double px, py;
      g_autofree char *s = format_tick (l.xt[t], tick_step (l.xt, l.nxt));

      map (&l, l.xt[t], l.ylo, &px, &py);
      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, round (px) + 0.5, l.plot.y);
      cairo_line_to (cr, round (px) + 0.5, l.plot.y + l.plot.height);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.8);
      _qs_chart_text (cr, style, px, l.plot.y + l.plot.height + pad / 2, 0.5, 0.0, 1.0, FALSE, s);
    }
  _qs_chart_set_color (cr, &style->fg, 0.9);
  if (data->x_label != NULL)
    _qs_chart_text (cr, style, l.plot.x + l.plot.width / 2, l.plot.y + l.plot.height + pad / 2 + lh,
                    0.5, 0.0, 1.0, FALSE, data->x_label);
  if (data->y_label != NULL)
    {
      cairo_save (cr);
      cairo_translate (cr, pad, l.plot.y + l.plot.height / 2);
      cairo_rotate (cr, -G_PI / 2);
      _qs_chart_text (cr, style, 0, 0, 0.5, 0.0, 1.0, FALSE, data->y_label);
      cairo_restore (cr);
    }
  _qs_chart_set_color (cr, &style->fg, 0.5);
  cairo_move_to (cr, l.plot.x + 0.5, l.plot.y);
  cairo_line_to (cr, l.plot.x + 0.5, l.plot.y + l.plot.height + 0.5);
  cairo_line_to (cr, l.plot.x + l.plot.width, l.plot.y + l.plot.height + 0.5);
  cairo_stroke (cr);

  cairo_save (cr);
  cairo_rectangle (cr, l.plot.x - r * 2, l.plot.y - r * 2, l.plot.width + r * 4, l.plot.height + r * 4);
  cairo_clip (cr);
  /* the path taken, oldest to newest */
  _qs_chart_set_color (cr, &style->fg, 0.25);
  cairo_set_line_width (cr, 1.0 * style->line_scale);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (gsize i = 0; i < data->n; i++)
    {
      double px, py;

      if (!isfinite (data->x[i]) || !isfinite (data->y[i]))
        {
          pen = FALSE;
          continue;
        }
      map (&l, data->x[i], data->y[i], &px, &py);
      if (pen)
        cairo_line_to (cr, px, py);
      else
        cairo_move_to (cr, px, py);
      pen = TRUE;
    }
  cairo_stroke (cr);
  for (gsize i = 0; i < data->n; i++)
    {
      double px, py;

      if (!isfinite (data->x[i]) || !isfinite (data->y[i]))
        continue;
      map (&l, data->x[i], data->y[i], &px, &py);
      _qs_chart_set_color (cr, &style->accent, 0.9);
      cairo_arc (cr, px, py, (gint) i == data->hover ? r * 1.6 : r, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  if (data->current >= 0 && (gsize) data->current < data->n
      && isfinite (data->x[data->current]) && isfinite (data->y[data->current]))
    {
      double px, py;

      map (&l, data->x[data->current], data->y[data->current], &px, &py);
      _qs_chart_set_color (cr, &style->clip, 1.0);
      cairo_set_line_width (cr, 2.0 * style->line_scale);
      cairo_arc (cr, px, py, r * 2.0, 0, 2 * G_PI);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
  _qs_chart_legend_draw (cr, style, l.legend);
  layout_clear (&l);
}

gint
qs_chart_scatter_point_at (const QsChartScatterData *data,
                           double                    width,
                           double                    height,
                           const char               *title,
                           const QsChartStyle       *style,
                           double                    x,
                           double                    y)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  double best = INFINITY, reach;
  gint found = -1;
  Layout l;

  g_return_val_if_fail (data != NULL && style != NULL, -1);

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (surface);
  if (layout (cr, width, height, data, title, style, &l))
    {
      reach = 8.0 * style->line_scale;
      for (gsize i = 0; i < data->n; i++)
        {
          double px, py, d;

          if (!isfinite (data->x[i]) || !isfinite (data->y[i]))
            continue;
          map (&l, data->x[i], data->y[i], &px, &py);
          d = hypot (px - x, py - y);
          /* the newest of points on top of each other: it is drawn last */
          if (d <= reach && d <= best)
            {
              best = d;
              found = (gint) i;
            }
        }
    }
  layout_clear (&l);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return found;
}

static void
draw_scatter_cb (cairo_t            *cr,
                 double              width,
                 double              height,
                 const char         *title,
                 const QsChartStyle *style,
                 gpointer            user_data)
{
  qs_chart_draw_scatter (cr, width, height, user_data, title, style);
}

gboolean
qs_chart_export_scatter (const QsChartScatterData *data,
                         const QsChartStyle       *style,
                         const char               *title,
                         const char               *path,
                         int                       width,
                         int                       height,
                         double                    scale,
                         GError                  **error)
{
  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  return _qs_chart_export_drawing (draw_scatter_cb, (gpointer) data, style, title, path, width, height,
                                   scale, error);
}
