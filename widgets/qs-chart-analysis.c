/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-analysis.h"
#include "qs-chart-private.h"
#include "qs-colormap.h"

/* --- sensitivity heatmap --- */

typedef struct
{
  double label_w;   /* layer names column */
  double header_h;  /* format names row */
  double legend_h;
  QsChartRect cells;
  double cell_w;
  double cell_h;
} SensLayout;

static double
max_drop (QsSensitivity *s)
{
  double m = 0.0;

  for (guint l = 0; l < s->n_layers; l++)
    for (guint f = 0; f < s->layers[l].n_formats; f++)
      if (isfinite (s->layers[l].drop[f]))
        m = MAX (m, s->layers[l].drop[f]);
  return m;
}

static void
sens_layout (cairo_t            *cr,
             QsSensitivity      *s,
             double              width,
             double              height,
             double              top,
             const QsChartStyle *style,
             SensLayout         *lo)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale;
  guint F = s->layers[0].n_formats;

  lo->label_w = 0;
  for (guint l = 0; l < s->n_layers; l++)
    {
      double w = 0;

      if (cr != NULL)
        _qs_chart_text_extents (cr, style, 1.0, FALSE, s->layers[l].layer, &w, NULL);
      else
        w = 7.0 * style->font_scale * g_utf8_strlen (s->layers[l].layer, -1);
      lo->label_w = MAX (lo->label_w, w);
    }
  lo->label_w = MIN (lo->label_w + pad, width * 0.35);
  lo->header_h = lh + pad / 2;
  lo->legend_h = lh * 2 + pad;
  lo->cells.x = pad + lo->label_w;
  lo->cells.y = top + lo->header_h;
  lo->cells.width = MAX (width - lo->cells.x - pad, 1);
  lo->cells.height = MAX (height - lo->cells.y - lo->legend_h - pad, 1);
  lo->cell_w = lo->cells.width / F;
  lo->cell_h = lo->cells.height / s->n_layers;
}

static double
drop_t (double drop,
        double m)
{
  if (!(drop > 0) || !(m > 0))
    return 0.0;
  return CLAMP (log1p (drop) / log1p (m), 0.0, 1.0);
}

static char *
format_drop (double drop)
{
  if (isnan (drop))
    return g_strdup ("–");
  if (fabs (drop) >= 10)
    return g_strdup_printf ("%.0f", drop);
  return g_strdup_printf ("%.1f", drop);
}

static void
draw_sensitivity (cairo_t            *cr,
                  double              width,
                  double              height,
                  QsSensitivity      *s,
                  const char         *title,
                  const QsChartStyle *style)
{
  SensLayout lo;
  double top, m, pad = 8.0 * style->font_scale;
  guint F;

  if (style->draw_background)
    _qs_chart_draw_background (cr, width, height, style);
  top = _qs_chart_draw_title (cr, width, title, style);
  if (s == NULL || s->n_layers == 0)
    {
      _qs_chart_draw_message (cr, width, height, _("No sensitivity measured yet"), style);
      return;
    }
  F = s->layers[0].n_formats;
  sens_layout (cr, s, width, height, top, style, &lo);
  m = max_drop (s);

  _qs_chart_set_color (cr, &style->fg, 0.8);
  for (guint f = 0; f < F; f++)
    _qs_chart_text (cr, style, lo.cells.x + (f + 0.5) * lo.cell_w, top, 0.5, 0.0, 1.0, TRUE,
                    s->layers[0].formats[f]);
  for (guint l = 0; l < s->n_layers; l++)
    {
      QsSensitivityLayer *sl = &s->layers[l];
      double y = lo.cells.y + l * lo.cell_h;

      _qs_chart_set_color (cr, &style->fg, 0.85);
      _qs_chart_text_fit (cr, style, pad, y + lo.cell_h / 2, 0.5, 1.0, FALSE, sl->layer,
                          lo.label_w - pad / 2);
      for (guint f = 0; f < F; f++)
        {
          double rgb[3], lum, x = lo.cells.x + f * lo.cell_w;
          g_autofree char *text = format_drop (sl->drop[f]);
          double tw, th;

          qs_colormap_sequential (drop_t (sl->drop[f], m), rgb);
          cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
          cairo_rectangle (cr, x + 0.5, y + 0.5, lo.cell_w - 1, lo.cell_h - 1);
          cairo_fill (cr);
          _qs_chart_text_extents (cr, style, 0.95, FALSE, text, &tw, &th);
          if (tw + 4 > lo.cell_w || th > lo.cell_h)
            continue;
          /* black on the light end of the map, white on the dark end */
          lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
          if (lum > 0.45)
            cairo_set_source_rgb (cr, 0, 0, 0);
          else
            cairo_set_source_rgb (cr, 1, 1, 1);
          _qs_chart_text (cr, style, x + lo.cell_w / 2, y + lo.cell_h / 2, 0.5, 0.5, 0.95, FALSE, text);
        }
    }

  /* the colour bar */
  {
    double bx = lo.cells.x, by = height - lo.legend_h, bw = MIN (lo.cells.width, 320 * style->font_scale);
    double bh = _qs_chart_line_height (style) * 0.7;
    cairo_pattern_t *pat = cairo_pattern_create_linear (bx, 0, bx + bw, 0);
    g_autofree char *lo_text = NULL, *hi_text = NULL;

    for (guint i = 0; i <= 10; i++)
      {
        double rgb[3];

        qs_colormap_sequential (i / 10.0, rgb);
        cairo_pattern_add_color_stop_rgb (pat, i / 10.0, rgb[0], rgb[1], rgb[2]);
      }
    cairo_set_source (cr, pat);
    cairo_rectangle (cr, bx, by, bw, bh);
    cairo_fill (cr);
    cairo_pattern_destroy (pat);
    _qs_chart_set_color (cr, &style->fg, 0.75);
    _qs_chart_text (cr, style, bx, by + bh + 2, 0.0, 0.0, 0.9, FALSE, "0");
    hi_text = g_strdup_printf (_("%.1f points (log scale)"), m);
    _qs_chart_text (cr, style, bx + bw, by + bh + 2, 1.0, 0.0, 0.9, FALSE, hi_text);
    lo_text = s->labelled
      ? g_strdup_printf (_("Top-1 drop, one layer quantized, %u images"), s->n_images)
      : g_strdup_printf (_("Disagreement with float, one layer quantized, %u images"), s->n_images);
    _qs_chart_text_fit (cr, style, bx + bw + 12, by + bh / 2, 0.5, 0.9, FALSE, lo_text,
                        width - (bx + bw + 12) - 8);
  }
}

void
qs_chart_draw_sensitivity (cairo_t            *cr,
                           double              width,
                           double              height,
                           QsSensitivity      *sensitivity,
                           const char         *title,
                           const QsChartStyle *style)
{
  g_return_if_fail (cr != NULL && style != NULL);
  draw_sensitivity (cr, width, height, sensitivity, title, style);
}

gboolean
qs_chart_sensitivity_cell_at (QsSensitivity      *s,
                              double              width,
                              double              height,
                              const QsChartStyle *style,
                              double              x,
                              double              y,
                              guint              *layer,
                              guint              *format)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  SensLayout lo;
  double top;

  if (s == NULL || s->n_layers == 0)
    return FALSE;
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (surface);
  top = _qs_chart_draw_title (cr, width, NULL, style);
  sens_layout (cr, s, width, height, top, style, &lo);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  if (x < lo.cells.x || y < lo.cells.y || x >= lo.cells.x + lo.cells.width
      || y >= lo.cells.y + lo.cells.height)
    return FALSE;
  *format = MIN ((guint) ((x - lo.cells.x) / lo.cell_w), s->layers[0].n_formats - 1);
  *layer = MIN ((guint) ((y - lo.cells.y) / lo.cell_h), s->n_layers - 1);
  return TRUE;
}

/* --- front --- */

typedef struct
{
  QsChartRect plot;
  double x_hi;      /* bytes */
  double y_hi;      /* points */
} FrontLayout;

static double
point_drop (const QsFrontPoint *p)
{
  return isnan (p->measured_drop) ? p->predicted_drop : p->measured_drop;
}

static void
front_layout (QsFront                  *front,
              const QsChartFrontMarker *current,
              double                    width,
              double                    height,
              double                    top,
              const QsChartStyle       *style,
              FrontLayout              *lo)
{
  double fs = style->font_scale, lh = _qs_chart_line_height (style);
  double xh = 0, yh = 0;

  for (guint i = 0; i < front->n_points; i++)
    {
      xh = MAX (xh, front->points[i].weight_bytes);
      yh = MAX (yh, point_drop (&front->points[i]));
      yh = MAX (yh, front->points[i].predicted_drop);
    }
  if (current != NULL && current->valid)
    {
      xh = MAX (xh, current->weight_bytes);
      if (isfinite (current->drop))
        yh = MAX (yh, current->drop);
    }
  lo->x_hi = MAX (xh * 1.05, 1);
  lo->y_hi = MAX (yh * 1.1, 0.5);
  lo->plot.x = 64 * fs;
  lo->plot.y = top + lh * 2.4;   /* room for the legend */
  lo->plot.width = MAX (width - lo->plot.x - 16 * fs, 1);
  lo->plot.height = MAX (height - lo->plot.y - lh * 2.6, 1);
}

static void
front_xy (const FrontLayout *lo,
          double             bytes,
          double             drop,
          double            *x,
          double            *y)
{
  *x = lo->plot.x + lo->plot.width * bytes / lo->x_hi;
  *y = lo->plot.y + lo->plot.height * (1.0 - MAX (drop, 0.0) / lo->y_hi);
}

static char *
format_bytes (double bytes)
{
  if (bytes >= 1024.0 * 1024.0)
    return g_strdup_printf (_("%g MiB"), bytes / (1024.0 * 1024.0));
  if (bytes >= 1024.0)
    return g_strdup_printf (_("%g KiB"), bytes / 1024.0);
  return g_strdup_printf (_("%g B"), bytes);
}

static void
draw_front (cairo_t                  *cr,
            double                    width,
            double                    height,
            QsFront                  *front,
            const QsChartFrontMarker *current,
            gint                      hover,
            const char               *title,
            const QsChartStyle       *style)
{
  FrontLayout lo;
  double top, ticks[12], fs = style->font_scale, lh = _qs_chart_line_height (style);
  guint n;
  gboolean first = TRUE;
  g_autoptr(GArray) legend = NULL;

  if (style->draw_background)
    _qs_chart_draw_background (cr, width, height, style);
  top = _qs_chart_draw_title (cr, width, title, style);
  if (front == NULL || front->n_points == 0)
    {
      _qs_chart_draw_message (cr, width, height, _("No front computed yet"), style);
      return;
    }
  front_layout (front, current, width, height, top, style, &lo);

  /* grid and axes */
  cairo_set_line_width (cr, 1.0);
  n = _qs_chart_axis_ticks (0, lo.y_hi, 3, 6, ticks);
  for (guint i = 0; i < n; i++)
    {
      double x, y;
      g_autofree char *t = _qs_chart_format_value (ticks[i]);

      front_xy (&lo, 0, ticks[i], &x, &y);
      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, lo.plot.x, round (y) + 0.5);
      cairo_line_to (cr, lo.plot.x + lo.plot.width, round (y) + 0.5);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.75);
      _qs_chart_text (cr, style, lo.plot.x - 6, y, 1.0, 0.5, 0.9, FALSE, t);
    }
  {
    /* ticks at nice values of the unit the labels use */
    double unit = lo.x_hi >= 4.0 * 1024 * 1024 ? 1024.0 * 1024.0 : lo.x_hi >= 4.0 * 1024 ? 1024.0 : 1.0;

    n = _qs_chart_axis_ticks (0, lo.x_hi / unit, 3, MAX (2, MIN (8, (guint) (lo.plot.width / (80 * fs)))), ticks);
    for (guint i = 0; i < n; i++)
      ticks[i] *= unit;
  }
  for (guint i = 0; i < n; i++)
    {
      double x, y;
      g_autofree char *t = format_bytes (ticks[i]);

      front_xy (&lo, ticks[i], 0, &x, &y);
      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, round (x) + 0.5, lo.plot.y);
      cairo_line_to (cr, round (x) + 0.5, lo.plot.y + lo.plot.height);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.75);
      _qs_chart_text (cr, style, x, lo.plot.y + lo.plot.height + 4, 0.5, 0.0, 0.9, FALSE, t);
    }
  _qs_chart_set_color (cr, &style->fg, 0.85);
  _qs_chart_text (cr, style, lo.plot.x + lo.plot.width / 2, height - 4, 0.5, 1.0, 1.0, FALSE,
                  _("Kernel weight bytes"));
  cairo_save (cr);
  cairo_translate (cr, 4 + lh / 2, lo.plot.y + lo.plot.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  _qs_chart_text (cr, style, 0, 0, 0.5, 0.5, 1.0, FALSE, _("Accuracy drop (points)"));
  cairo_restore (cr);

  /* predictions: rings */
  for (guint i = 0; i < front->n_points; i++)
    {
      const QsFrontPoint *p = &front->points[i];
      double x, y;

      if (p->refined)
        continue;
      front_xy (&lo, p->weight_bytes, p->predicted_drop, &x, &y);
      _qs_chart_set_color (cr, &style->fg, 0.45);
      cairo_new_sub_path (cr);
      cairo_arc (cr, x, y, 3.5 * fs, 0, 2 * G_PI);
      cairo_stroke (cr);
    }
  /* the measured front */
  cairo_new_path (cr);
  _qs_chart_set_color (cr, &style->accent, 0.8);
  cairo_set_line_width (cr, 1.5);
  for (guint i = 0; i < front->n_points; i++)
    {
      double x, y;

      front_xy (&lo, front->points[i].weight_bytes, point_drop (&front->points[i]), &x, &y);
      if (first)
        cairo_move_to (cr, x, y);
      else
        cairo_line_to (cr, x, y);
      first = FALSE;
    }
  cairo_stroke (cr);
  for (guint i = 0; i < front->n_points; i++)
    {
      const QsFrontPoint *p = &front->points[i];
      double x, y, r = ((gint) i == hover ? 6.5 : 4.5) * fs;

      front_xy (&lo, p->weight_bytes, point_drop (p), &x, &y);
      _qs_chart_set_color (cr, p->refined ? &style->second : &style->accent, 1.0);
      cairo_new_sub_path (cr);
      cairo_arc (cr, x, y, r, 0, 2 * G_PI);
      if (isnan (p->measured_drop))
        cairo_stroke (cr);
      else
        cairo_fill (cr);
      if ((gint) i == hover)
        {
          _qs_chart_set_color (cr, &style->fg, 1.0);
          cairo_new_sub_path (cr);
          cairo_arc (cr, x, y, r + 2, 0, 2 * G_PI);
          cairo_stroke (cr);
        }
    }
  /* the current config */
  if (current != NULL && current->valid)
    {
      double x, y, r = 6 * fs;

      front_xy (&lo, current->weight_bytes, isfinite (current->drop) ? current->drop : 0, &x, &y);
      _qs_chart_set_color (cr, &style->clip, 1.0);
      cairo_set_line_width (cr, 2.5);
      cairo_move_to (cr, x - r, y - r);
      cairo_line_to (cr, x + r, y + r);
      cairo_move_to (cr, x - r, y + r);
      cairo_line_to (cr, x + r, y - r);
      cairo_stroke (cr);
    }

  legend = g_array_new (FALSE, TRUE, sizeof (QsChartLegendEntry));
  g_array_set_clear_func (legend, _qs_chart_legend_entry_clear);
  _qs_chart_legend_add (legend, &style->accent, 1.0, 2, _("Measured front"));
  _qs_chart_legend_add (legend, &style->fg, 0.45, 4, _("Predicted (sum of sensitivities)"));
  for (guint i = 0; i < front->n_points; i++)
    if (front->points[i].refined)
      {
        _qs_chart_legend_add (legend, &style->second, 1.0, 2, _("Refined by measurement"));
        break;
      }
  if (current != NULL && current->valid)
    _qs_chart_legend_add (legend, &style->clip, 1.0, 1, _("Current config"));
  _qs_chart_legend_flow (cr, style, lo.plot.x, top, width - 8, legend);
  _qs_chart_legend_draw (cr, style, legend);
}

void
qs_chart_draw_front (cairo_t                  *cr,
                     double                    width,
                     double                    height,
                     QsFront                  *front,
                     const QsChartFrontMarker *current,
                     gint                      hover,
                     const char               *title,
                     const QsChartStyle       *style)
{
  g_return_if_fail (cr != NULL && style != NULL);
  draw_front (cr, width, height, front, current, hover, title, style);
}

gint
qs_chart_front_point_at (QsFront                  *front,
                         const QsChartFrontMarker *current,
                         double                    width,
                         double                    height,
                         const QsChartStyle       *style,
                         double                    x,
                         double                    y)
{
  FrontLayout lo;
  gint best = -1;
  double best_d = 10.0 * style->font_scale;

  if (front == NULL || front->n_points == 0)
    return -1;
  front_layout (front, current, width, height, 8.0 * style->font_scale, style, &lo);
  for (guint i = 0; i < front->n_points; i++)
    {
      double px, py, d;

      front_xy (&lo, front->points[i].weight_bytes, point_drop (&front->points[i]), &px, &py);
      d = hypot (px - x, py - y);
      if (d <= best_d)
        {
          best_d = d;
          best = (gint) i;
        }
    }
  return best;
}

typedef struct
{
  const char               *kind;
  QsSensitivity            *sensitivity;
  QsFront                  *front;
  const QsChartFrontMarker *current;
  const QsChartStyle       *style;
  const char               *title;
} AnalysisExport;

static void
export_draw (cairo_t            *cr,
             double              width,
             double              height,
             const char         *title,
             const QsChartStyle *style,
             gpointer            data)
{
  AnalysisExport *e = data;

  if (g_str_equal (e->kind, "sensitivity"))
    draw_sensitivity (cr, width, height, e->sensitivity, e->title, e->style);
  else
    draw_front (cr, width, height, e->front, e->current, -1, e->title, e->style);
}

gboolean
qs_chart_export_analysis (const char               *kind,
                          QsSensitivity            *sensitivity,
                          QsFront                  *front,
                          const QsChartFrontMarker *current,
                          const QsChartStyle       *style,
                          const char               *title,
                          const char               *path,
                          int                       width,
                          int                       height,
                          double                    scale,
                          GError                  **error)
{
  QsChartStyle light;
  AnalysisExport e = { kind, sensitivity, front, current, style, title };

  g_return_val_if_fail (kind != NULL && path != NULL, FALSE);

  if (style == NULL)
    {
      qs_chart_style_init_light (&light);
      e.style = &light;
    }
  if (!g_str_equal (kind, "sensitivity") && !g_str_equal (kind, "front"))
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Unknown chart kind “%s”: use sensitivity or front"), kind);
      return FALSE;
    }
  if ((g_str_equal (kind, "sensitivity") && sensitivity == NULL)
      || (g_str_equal (kind, "front") && front == NULL))
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Nothing to export to “%s”: run the sensitivity analysis first"), path);
      return FALSE;
    }
  return _qs_chart_export_drawing (export_draw, &e, e.style, title, path, width, height, scale,
                                   error);
}
