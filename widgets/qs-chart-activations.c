/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-activations.h"
#include "qs-chart-private.h"

/* Display bins: the calibration's 2048 grouped into 128 bars. */
#define GROUP 16

typedef struct
{
  QsChartRect plot;
  double      x_lo, x_hi;      /* the value axis */
  double      y_hi;            /* log10 (1 + largest count) */
} ActLayout;

guint
qs_chart_activations_n_bins (const QsChartActivations *data)
{
  if (data == NULL || data->stats == NULL)
    return 0;
  return (data->stats->hist->n_bins + GROUP - 1) / GROUP;
}

void
qs_chart_activations_bin (const QsChartActivations *data,
                          guint                     bin,
                          double                   *lo,
                          double                   *hi,
                          guint64                  *count)
{
  const QsHistogram *h = data->stats->hist;
  double w = (h->hi - h->lo) / h->n_bins;
  guint k0 = bin * GROUP, k1 = MIN (k0 + GROUP, h->n_bins);
  guint64 c = 0;

  for (guint k = k0; k < k1; k++)
    c += h->counts[k];
  if (bin == 0)
    c += h->underflow;
  if (k1 == h->n_bins)
    c += h->overflow;
  *lo = h->lo + k0 * w;
  *hi = h->lo + k1 * w;
  *count = c;
}

static GArray *
act_legend (const QsChartActivations *data,
            const QsChartStyle       *style)
{
  const QsActRangeStats *r = data->range;
  GArray *legend;

  legend = g_array_new (FALSE, TRUE, sizeof (QsChartLegendEntry));
  g_array_set_clear_func (legend, _qs_chart_legend_entry_clear);
  {
    g_autofree char *count = _qs_chart_format_count (data->stats->n_values);
    /* Translators: the legend of the activation histogram; %s is a count of values */
    g_autofree char *t = g_strdup_printf (_("Float activations (%s values)"), count);

    _qs_chart_legend_add (legend, &style->accent, 0.75, 0, t);
  }
  if (r != NULL)
    {
      g_autofree char *a = _qs_chart_format_value (r->clip_lo);
      g_autofree char *b = _qs_chart_format_value (r->clip_hi);
      /* Translators: the quantization range of the activations and its number of codes */
      g_autofree char *t = g_strdup_printf (_("Range [%s, %s], %u levels"), a, b, r->n_levels);
      /* Translators: the fraction of activations outside the range */
      g_autofree char *c = g_strdup_printf (_("Clipped %.3g%%"), 100.0 * r->clipped_fraction);
      g_autofree char *s = isinf (r->sqnr_db) ? g_strdup (_("SQNR exact"))
        /* Translators: activation signal-to-quantization-noise ratio */
        : g_strdup_printf (_("SQNR %.1f dB"), r->sqnr_db);

      _qs_chart_legend_add (legend, &style->second, 1.0, 1, t);
      _qs_chart_legend_add (legend, &style->clip, 0.9, 0, c);
      _qs_chart_legend_add (legend, NULL, 1.0, -1, s);
    }
  if (data->note != NULL)
    _qs_chart_legend_add (legend, NULL, 1.0, -1, data->note);
  return legend;
}

static void
act_layout (cairo_t                  *cr,
            GArray                   *legend,
            const QsChartActivations *data,
            double                    width,
            double                    height,
            double                    top,
            const QsChartStyle       *style,
            ActLayout                *lo)
{
  const QsHistogram *h = data->stats->hist;
  double fs = style->font_scale, lh = _qs_chart_line_height (style);
  double a = h->lo, b = h->hi, pad;
  guint64 top_count = 1;

  if (data->range != NULL)
    {
      a = MIN (a, data->range->clip_lo);
      b = MAX (b, data->range->clip_hi);
    }
  pad = (b - a) * 0.03;
  if (pad <= 0)
    pad = 1e-3;
  lo->x_lo = a - pad;
  lo->x_hi = b + pad;
  for (guint i = 0; i < qs_chart_activations_n_bins (data); i++)
    {
      double u, v;
      guint64 c;

      qs_chart_activations_bin (data, i, &u, &v, &c);
      top_count = MAX (top_count, c);
    }
  lo->y_hi = log10 (1.0 + top_count) * 1.08;
  lo->plot.x = 48 * fs + lh;
  /* the legend's rows (laid out here: they wrap on narrow charts), then the plot */
  lo->plot.y = top + _qs_chart_legend_flow (cr, style, lo->plot.x, top, width - 8, legend) + lh * 0.6;
  lo->plot.width = MAX (width - lo->plot.x - 16 * fs, 1);
  lo->plot.height = MAX (height - lo->plot.y - lh * 2.6, 1);
}

static double
act_x (const ActLayout *lo,
       double           v)
{
  return lo->plot.x + lo->plot.width * (v - lo->x_lo) / (lo->x_hi - lo->x_lo);
}

static double
act_y (const ActLayout *lo,
       guint64          count)
{
  return lo->plot.y + lo->plot.height * (1.0 - log10 (1.0 + count) / lo->y_hi);
}

gint
qs_chart_activations_bin_at (const QsChartActivations *data,
                             double                    width,
                             double                    height,
                             const QsChartStyle       *style,
                             double                    x,
                             double                    y)
{
  g_autoptr(GArray) legend = NULL;
  cairo_surface_t *surface;
  cairo_t *cr;
  ActLayout lo;

  if (data == NULL || data->stats == NULL || data->stats->n_values == 0)
    return -1;
  /* the layout the drawing has (without a title), measured on a scratch surface */
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (surface);
  legend = act_legend (data, style);
  act_layout (cr, legend, data, width, height, 8.0 * style->font_scale, style, &lo);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  if (y < lo.plot.y || y > lo.plot.y + lo.plot.height)
    return -1;
  for (guint i = 0; i < qs_chart_activations_n_bins (data); i++)
    {
      double u, v;
      guint64 c;

      qs_chart_activations_bin (data, i, &u, &v, &c);
      if (x >= act_x (&lo, u) && x < act_x (&lo, v))
        return (gint) i;
    }
  return -1;
}

void
qs_chart_draw_activations (cairo_t                  *cr,
                           double                    width,
                           double                    height,
                           const QsChartActivations *data,
                           gint                      hover,
                           const char               *title,
                           const QsChartStyle       *style)
{
  const QsActRangeStats *r = data != NULL ? data->range : NULL;
  double top, ticks[12], fs = style->font_scale, lh = _qs_chart_line_height (style);
  double bottom;
  g_autoptr(GArray) legend = NULL;
  ActLayout lo;
  guint n;

  if (style->draw_background)
    _qs_chart_draw_background (cr, width, height, style);
  top = _qs_chart_draw_title (cr, width, title, style);
  if (data == NULL || data->stats == NULL)
    {
      _qs_chart_draw_message (cr, width, height,
                              data != NULL && data->note != NULL ? data->note
                              : _("No activations measured yet"), style);
      return;
    }
  if (data->stats->n_values == 0)
    {
      _qs_chart_draw_message (cr, width, height, _("The calibration saw no finite activations here"), style);
      return;
    }
  legend = act_legend (data, style);
  act_layout (cr, legend, data, width, height, top, style, &lo);
  bottom = lo.plot.y + lo.plot.height;

  /* grid and the count axis (log scale: 1, 10, 100 …) */
  cairo_set_line_width (cr, 1.0);
  for (guint e = 0; e <= (guint) lo.y_hi; e++)
    {
      static const char *const powers[] = { "1", "10", "100", "1k", "10k", "100k", "1M", "10M",
                                            "100M", "1G", "10G", "100G" };
      guint64 c = (guint64) pow (10.0, e);
      double y = act_y (&lo, c);
      const char *t = e < G_N_ELEMENTS (powers) ? powers[e] : "";

      if (y < lo.plot.y)
        break;
      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, lo.plot.x, round (y) + 0.5);
      cairo_line_to (cr, lo.plot.x + lo.plot.width, round (y) + 0.5);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.75);
      _qs_chart_text (cr, style, lo.plot.x - 6, y, 1.0, 0.5, 0.9, FALSE, t);
    }
  n = _qs_chart_axis_ticks (lo.x_lo, lo.x_hi, 3, MAX (2, MIN (10, (guint) (lo.plot.width / (70 * fs)))), ticks);
  for (guint i = 0; i < n; i++)
    {
      double x = act_x (&lo, ticks[i]);
      g_autofree char *t = _qs_chart_format_value (ticks[i]);

      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, round (x) + 0.5, lo.plot.y);
      cairo_line_to (cr, round (x) + 0.5, bottom);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.75);
      _qs_chart_text (cr, style, x, bottom + 4, 0.5, 0.0, 0.9, FALSE, t);
    }
  _qs_chart_set_color (cr, &style->fg, 0.85);
  _qs_chart_text (cr, style, lo.plot.x + lo.plot.width / 2, height - 4, 0.5, 1.0, 1.0, FALSE,
                  _("Activation value (float)"));
  cairo_save (cr);
  cairo_translate (cr, 4 + lh / 2, lo.plot.y + lo.plot.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  _qs_chart_text (cr, style, 0, 0, 0.5, 0.5, 1.0, FALSE, _("Values (log scale)"));
  cairo_restore (cr);

  /* the clipped regions */
  if (r != NULL)
    {
      double xl = act_x (&lo, r->clip_lo), xh = act_x (&lo, r->clip_hi);

      _qs_chart_set_color (cr, &style->clip, 0.14);
      if (xl > lo.plot.x)
        cairo_rectangle (cr, lo.plot.x, lo.plot.y, xl - lo.plot.x, lo.plot.height);
      if (xh < lo.plot.x + lo.plot.width)
        cairo_rectangle (cr, xh, lo.plot.y, lo.plot.x + lo.plot.width - xh, lo.plot.height);
      cairo_fill (cr);
    }

  /* bars: the part of a bar beyond a clip point in the clip colour */
  for (guint i = 0; i < qs_chart_activations_n_bins (data); i++)
    {
      double u, v, x0, x1, y;
      guint64 c;

      qs_chart_activations_bin (data, i, &u, &v, &c);
      if (c == 0)
        continue;
      x0 = act_x (&lo, u);
      x1 = MAX (act_x (&lo, v), x0 + 1.0);
      y = act_y (&lo, c);
      _qs_chart_set_color (cr, &style->accent, (gint) i == hover ? 1.0 : 0.75);
      cairo_rectangle (cr, x0, y, x1 - x0, bottom - y);
      cairo_fill (cr);
      if (r != NULL)
        {
          double cl = act_x (&lo, r->clip_lo), ch = act_x (&lo, r->clip_hi);

          _qs_chart_set_color (cr, &style->clip, 0.9);
          if (x0 < cl)
            {
              cairo_rectangle (cr, x0, y, MIN (x1, cl) - x0, bottom - y);
              cairo_fill (cr);
            }
          if (x1 > ch)
            {
              cairo_rectangle (cr, MAX (x0, ch), y, x1 - MAX (x0, ch), bottom - y);
              cairo_fill (cr);
            }
        }
      if ((gint) i == hover)
        {
          _qs_chart_set_color (cr, &style->fg, 0.9);
          cairo_set_line_width (cr, 1.0);
          cairo_rectangle (cr, x0 + 0.5, y + 0.5, x1 - x0 - 1, bottom - y - 1);
          cairo_stroke (cr);
        }
    }

  /* the levels (few bits: every code as a tick on the axis) and the range's lines */
  if (r != NULL)
    {
      if (r->n_levels <= 64)
        {
          _qs_chart_set_color (cr, &style->second, 0.8);
          cairo_set_line_width (cr, 1.0);
          for (gint q = r->params.qmin; q <= r->params.qmax; q++)
            {
              double x = act_x (&lo, r->params.scale * (q - r->params.zero_point));

              /* along the top, as the weight histogram marks its grid */
              cairo_move_to (cr, round (x) + 0.5, lo.plot.y);
              cairo_line_to (cr, round (x) + 0.5, lo.plot.y + 7 * fs);
            }
          cairo_stroke (cr);
        }
      cairo_set_line_width (cr, 2.0 * style->line_scale);
      _qs_chart_set_color (cr, &style->second, 1.0);
      for (guint e = 0; e < 2; e++)
        {
          double v = e == 0 ? r->clip_lo : r->clip_hi;
          double x = act_x (&lo, v);
          g_autofree char *t = _qs_chart_format_value (v);

          cairo_move_to (cr, x, lo.plot.y);
          cairo_line_to (cr, x, bottom);
          cairo_stroke (cr);
          _qs_chart_text (cr, style, e == 0 ? x + 3 : x - 3, lo.plot.y + 9 * fs, e == 0 ? 0.0 : 1.0,
                          0.0, 0.9, TRUE, t);
        }
    }

  _qs_chart_legend_draw (cr, style, legend);
}

typedef struct
{
  const QsChartActivations *data;
} ActExport;

static void
export_draw (cairo_t            *cr,
             double              width,
             double              height,
             const char         *title,
             const QsChartStyle *style,
             gpointer            user_data)
{
  ActExport *e = user_data;

  qs_chart_draw_activations (cr, width, height, e->data, -1, title, style);
}

gboolean
qs_chart_export_activations (const QsChartActivations *data,
                             const QsChartStyle       *style,
                             const char               *title,
                             const char               *path,
                             int                       width,
                             int                       height,
                             double                    scale,
                             GError                  **error)
{
  QsChartStyle light;
  ActExport e = { data };

  g_return_val_if_fail (data != NULL && path != NULL, FALSE);

  if (style == NULL)
    {
      qs_chart_style_init_light (&light);
      style = &light;
    }
  if (data->stats == NULL)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Nothing to export to “%s”: the activations are not measured yet"), path);
      return FALSE;
    }
  return _qs_chart_export_drawing (export_draw, &e, style, title, path, width, height, scale,
                                   error);
}
