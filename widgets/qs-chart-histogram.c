/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-private.h"
#include "qs-formats.h"

/* Level marks beyond this many in view are thinned to every k-th level. */
#define MAX_LEVEL_MARKS 64
/* Float grids (uneven: dense near zero) keep marks at least this far apart (px at 1x). */
#define MIN_FLOAT_MARK_GAP 3.0

static gboolean
format_is_fp8 (QsFormat format)
{
  return format == QS_FORMAT_FP8_E4M3 || format == QS_FORMAT_FP8_E5M2;
}

static gboolean
format_is_wide_float (QsFormat format)
{
  return format == QS_FORMAT_FP16 || format == QS_FORMAT_BF16;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The finite values of an fp8 format in [lo, hi], ascending, +0 and -0 as one. */
static void
fp8_levels (QsChartHistogram *hist)
{
  hist->levels = g_new (double, 256);
  for (guint bits = 0; bits < 256; bits++)
    {
      float v = qs_format_decode (hist->format, bits);

      if (!isfinite (v) || (v == 0.0f && signbit (v)))
        continue;
      hist->n_levels_total++;
      if (v >= hist->lo && v <= hist->hi)
        hist->levels[hist->n_levels++] = v;
    }
  qsort (hist->levels, hist->n_levels, sizeof (double), compare_doubles);
}

gboolean
_qs_chart_format_has_levels (QsFormat format)
{
  return format == QS_FORMAT_INT || format == QS_FORMAT_BINARY || format == QS_FORMAT_TERNARY;
}

void
_qs_chart_input_geometry (QsQuantResult *result,
                          gsize         *n_channels,
                          gsize         *inner,
                          gsize         *outer)
{
  QsQuantParams *params = result->params;

  if (params != NULL && params->n_channels > 1)
    {
      *n_channels = params->n_channels;
      *inner = params->inner;
      *outer = params->outer;
      return;
    }
  if (!qs_tensor_channel_geometry (result->input, -1, n_channels, inner, outer, NULL))
    {
      *n_channels = 1;
      *inner = result->input->n_elements;
      *outer = 1;
    }
}

/* Equal-width bins over [lo, hi] (the last bin closed), finite values only: the same
 * binning as qs_histogram_add (), fused for the two series a chart shows. */
static void
bin_values (guint64     *counts,
            guint        n_bins,
            double       lo,
            double       hi,
            const float *values,
            gsize        n)
{
  /* four interleaved count arrays: neighbouring values often share a bin, and one array
   * would serialise on its increments */
  g_autofree guint32 *part = g_new0 (guint32, 4 * (gsize) n_bins);
  double inv = n_bins / (hi - lo);
  guint last = n_bins - 1;
  gsize k = 0;

  while (k < n)
    {
      /* flush before a guint32 could overflow */
      gsize end = MIN (n, k + ((gsize) G_MAXUINT32 & ~(gsize) 3));

      for (; k < end; k++)
        {
          double t = ((double) values[k] - lo) * inv;
          guint b;

          if (!(t >= 0.0 && t <= n_bins))
            continue;
          b = (guint) t;
          part[(k & 3) * n_bins + (b < last ? b : last)]++;
        }
      for (guint i = 0; i < 4 * n_bins; i++)
        {
          counts[i % n_bins] += part[i];
          part[i] = 0;
        }
    }
}

QsChartHistogram *
_qs_chart_histogram_new (QsQuantResult *result,
                         gint           channel,
                         guint          n_bins)
{
  QsChartHistogram *hist = g_new0 (QsChartHistogram, 1);
  QsTensor *input = result->input;
  QsQuantParams *params = result->params;
  const float *x = input->data, *dq = result->dequant ? result->dequant->data : NULL;
  g_autofree float *xbuf = NULL, *dqbuf = NULL;
  g_autofree gsize *index = NULL;
  gsize n = input->n_elements, inner = 1, outer = 1;
  gboolean clip_format = params != NULL && _qs_chart_format_has_levels (params->spec.format);
  double dmin = G_MAXDOUBLE, dmax = -G_MAXDOUBLE, pad;
  gint single_param = -1;

  g_assert (n_bins > 0);

  hist->tensor_name = g_strdup (input->name ? input->name : "");
  hist->spec_label = params ? qs_quant_spec_to_label (&params->spec) : g_strdup (_("float"));
  hist->format = params ? params->spec.format : QS_FORMAT_FP32;
  _qs_chart_input_geometry (result, &hist->n_channels, &inner, &outer);
  hist->channel = (channel >= 0 && (gsize) channel < hist->n_channels) ? channel : -1;

  if (hist->channel >= 0)
    {
      gsize k = 0;

      xbuf = g_new (float, inner * outer);
      index = g_new (gsize, inner * outer);
      if (dq)
        dqbuf = g_new (float, inner * outer);
      for (gsize o = 0; o < outer; o++)
        for (gsize i = 0; i < inner; i++)
          {
            gsize idx = (o * hist->n_channels + hist->channel) * inner + i;

            index[k] = idx;
            xbuf[k] = x[idx];
            if (dq)
              dqbuf[k] = dq[idx];
            k++;
          }
      n = k;
      x = xbuf;
      dq = dqbuf;
    }

  /* the clipping range shown: the params of what is shown (envelope over several) */
  hist->clip_lo = G_MAXDOUBLE;
  hist->clip_hi = -G_MAXDOUBLE;
  if (clip_format)
    {
      gsize p0 = 0, p1 = params->n_params;

      if (hist->channel >= 0 && params->n_params > 1)
        {
          gsize per = params->n_params / params->n_channels;

          p0 = hist->channel * per;
          p1 = p0 + per;
        }
      for (gsize p = p0; p < p1; p++)
        {
          hist->clip_lo = MIN (hist->clip_lo, params->clip_lo[p]);
          hist->clip_hi = MAX (hist->clip_hi, params->clip_hi[p]);
        }
      single_param = p1 == p0 + 1 ? (gint) p0 : -2;
    }

  /* data range and clipped counts in one pass. The param of a flat walk advances every
   * `inner` elements (no division per element); groups use the general index. Clipped
   * means what QsQuantStats.n_clipped counts (qs_quant_value_clip_side_at: the rounded
   * value is outside the code range), so the legend and the statistics agree; binary and
   * ternary codes never saturate there. */
  {
    gboolean per_channel = clip_format && params->n_params > 1 &&
                           params->n_params == params->n_channels;
    gboolean varying = clip_format && single_param < 0;
    gboolean count_clip = clip_format && params->spec.format == QS_FORMAT_INT;
    gsize c = 0, j = 0, p = single_param >= 0 ? (gsize) single_param : 0;
    gsize n_values = 0, n_lo = 0, n_hi = 0;
    float fmin = G_MAXFLOAT, fmax = -G_MAXFLOAT;
    g_autofree float *safe_lo = NULL, *safe_hi = NULL;

    /* a value more than a step inside the code range cannot round out of it: only the
     * others go through the exact rule */
    if (count_clip)
      {
        safe_lo = g_new (float, params->n_params);
        safe_hi = g_new (float, params->n_params);
        for (gsize q = 0; q < params->n_params; q++)
          {
            safe_lo[q] = (float) (params->qmin - params->zero_point[q] + 2) * params->scale[q];
            safe_hi[q] = (float) (params->qmax - params->zero_point[q] - 2) * params->scale[q];
          }
      }

    for (gsize k = 0; k < n; k++)
      {
        float v = x[k];

        if (varying)
          {
            if (per_channel)
              {
                p = c;
                if (++j == params->inner)
                  {
                    j = 0;
                    if (++c == params->n_channels)
                      c = 0;
                  }
              }
            else
              p = qs_quant_params_index (params, index ? index[k] : k);
          }
        if (!isfinite (v))
          continue;
        n_values++;
        fmin = MIN (fmin, v);
        fmax = MAX (fmax, v);
        if (count_clip && !(v > safe_lo[p] && v < safe_hi[p]))
          {
            gint side = qs_quant_value_clip_side_at (v, params->scale[p], params->zero_point[p],
                                                     params->qmin, params->qmax,
                                                     params->spec.rounding, params->spec.seed,
                                                     index ? index[k] : k);

            n_lo += side < 0;
            n_hi += side > 0;
          }
      }
    hist->n_values = n_values;
    hist->n_clip_lo = n_lo;
    hist->n_clip_hi = n_hi;
    dmin = fmin;
    dmax = fmax;
  }
  if (hist->n_values == 0)
    {
      dmin = -1.0;
      dmax = 1.0;
    }
  /* shaded outer regions only where one range applies to everything shown */
  hist->counts_clipping = clip_format && params->spec.format == QS_FORMAT_INT;
  hist->has_clip = clip_format && single_param >= 0 && hist->clip_lo <= hist->clip_hi;
  hist->lo = dmin;
  hist->hi = dmax;
  if (hist->has_clip)
    {
      hist->lo = MIN (hist->lo, hist->clip_lo);
      hist->hi = MAX (hist->hi, hist->clip_hi);
    }
  if (!(hist->hi > hist->lo))
    {
      hist->lo -= 0.5;
      hist->hi += 0.5;
    }
  pad = (hist->hi - hist->lo) * 0.03;
  hist->lo -= pad;
  hist->hi += pad;

  /* a few values get few, wide bins: about 4 sqrt (n), at least 16 */
  n_bins = MIN (n_bins, MAX (16u, (guint) (4.0 * sqrt ((double) hist->n_values))));
  hist->n_bins = n_bins;
  hist->counts = g_new0 (guint64, n_bins);
  bin_values (hist->counts, n_bins, hist->lo, hist->hi, x, n);
  for (guint b = 0; b < n_bins; b++)
    hist->max_count = MAX (hist->max_count, hist->counts[b]);
  if (dq != NULL)
    {
      hist->dq_counts = g_new0 (guint64, n_bins);
      bin_values (hist->dq_counts, n_bins, hist->lo, hist->hi, dq, n);
      for (guint b = 0; b < n_bins; b++)
        hist->max_count = MAX (hist->max_count, hist->dq_counts[b]);
    }

  /* the grid of representable values, when one set of params covers what is shown */
  if (clip_format && single_param >= 0)
    {
      float s = params->scale[single_param];
      gint32 zp = params->zero_point[single_param];

      hist->has_zero_point = TRUE;
      hist->zero_point = zp;
      hist->n_levels_total = (guint) (params->qmax - params->qmin + 1);
      hist->levels = g_new (double, hist->n_levels_total);
      for (gint32 q = params->qmin; q <= params->qmax; q++)
        {
          double v = qs_dequant_value (q, s, zp);

          if (params->spec.format == QS_FORMAT_TERNARY || params->spec.format == QS_FORMAT_BINARY)
            v = (double) q * s;
          if (v >= hist->lo && v <= hist->hi)
            hist->levels[hist->n_levels++] = v;
        }
    }
  else if (clip_format)
    hist->levels_vary = TRUE;
  else if (params != NULL && format_is_fp8 (params->spec.format))
    {
      /* fp8 has no scale here (the values are the format's own): its 253 or 247 finite
       * values, spaced evenly within each power of two */
      hist->float_levels = TRUE;
      fp8_levels (hist);
    }
  else if (params != NULL && format_is_wide_float (params->spec.format))
    {
      hist->float_levels = TRUE;
      hist->levels_too_dense = TRUE;
    }

  return hist;
}

void
_qs_chart_histogram_free (QsChartHistogram *hist)
{
  if (hist == NULL)
    return;
  g_free (hist->counts);
  g_free (hist->dq_counts);
  g_free (hist->levels);
  g_free (hist->tensor_name);
  g_free (hist->spec_label);
  g_free (hist);
}

static char *
y_tick_label (double v)
{
  if (v >= 1e6)
    return g_strdup_printf ("%.3gM", v / 1e6);
  if (v >= 1e4)
    return g_strdup_printf ("%.3gk", v / 1e3);
  return g_strdup_printf ("%.0f", v);
}

/* Everything but the header, whose height is given. */
static void
layout_below (double              width,
              double              height,
              double              top,
              const QsChartStyle *style,
              QsChartRect        *plot)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale;

  plot->x = pad + lh * 1.2 + lh * 3.2;  /* y axis label + tick labels */
  plot->y = top;
  plot->width = MAX (1.0, width - plot->x - pad * 2);
  plot->height = MAX (1.0, height - top - lh * 2.4 - pad);
}

static double count_scale (const QsChartHistogram *hist,
                           gboolean                log_scale,
                           gboolean               *cut_stems);

GArray *
_qs_chart_histogram_legend (cairo_t                *cr,
                            const QsChartHistogram *hist,
                            double                  width,
                            double                  y0,
                            gboolean                cut_stems,
                            const QsChartStyle     *style,
                            double                 *legend_height)
{
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (QsChartLegendEntry));
  double pad = 8.0 * style->font_scale;
  g_autofree char *levels_label = NULL;
  QsChartRect plot;

  g_array_set_clear_func (entries, _qs_chart_legend_entry_clear);
  layout_below (width, 1000, 0, style, &plot);
  _qs_chart_legend_add (entries, &style->accent, style->dark ? 0.8 : 0.6, 0, _("float values"));
  if (hist->dq_counts != NULL)
    _qs_chart_legend_add (entries, &style->second, 1.0, 0,
                          cut_stems ? _("dequantized (tall stems cut)") : _("dequantized"));
  if (hist->counts_clipping)
    {
      g_autofree char *n = _qs_chart_format_count (hist->n_clip_lo + hist->n_clip_hi);
      g_autofree char *label = g_strdup_printf (_("clipped: %s (%.3g %%)"), n,
                                                hist->n_values ? 100.0 * (hist->n_clip_lo + hist->n_clip_hi) / hist->n_values : 0.0);
      _qs_chart_legend_add (entries, &style->clip, 0.35, 0, label);
    }
  _qs_chart_legend_add (entries, &style->fg, 1.0, -2, "");
  if (hist->n_levels > 0)
    {
      g_autofree guint *marks = g_new (guint, hist->n_levels);
      guint step = 1, n_marks = _qs_chart_histogram_level_marks (hist, &plot, marks, &step);

      if (hist->float_levels && n_marks < hist->n_levels)
        levels_label = g_strdup_printf (_("%s: %u values in view, %u marked (the others crowd near 0)"),
                                        hist->spec_label, hist->n_levels, n_marks);
      else if (hist->float_levels)
        levels_label = g_strdup_printf (_("%s: %u values in view"), hist->spec_label, hist->n_levels);
      else if (step > 1)
        levels_label = g_strdup_printf (_("%s: %u levels in view, a tick every %u levels"),
                                        hist->spec_label, hist->n_levels, step);
      else
        levels_label = g_strdup_printf (_("%s: %u levels in view"), hist->spec_label, hist->n_levels);
      _qs_chart_legend_add (entries, &style->fg, 0.7, 1, levels_label);
    }
  else if (hist->levels_vary)
    {
      if (hist->channel >= 0)
        levels_label = g_strdup_printf (_("%s: each group of this channel has its own levels"),
                                        hist->spec_label);
      else
        levels_label = g_strdup_printf (_("%s: levels differ per channel; pick a channel to see them"),
                                        hist->spec_label);
      _qs_chart_legend_add (entries, &style->fg, 0.7, 1, levels_label);
    }
  else
    {
      if (hist->levels_too_dense)
        levels_label = g_strdup_printf (_("%s: levels too dense to draw"), hist->spec_label);
      _qs_chart_legend_add (entries, &style->fg, 0.8, -1,
                            levels_label ? levels_label : hist->spec_label);
    }
  if (hist->channel >= 0)
    {
      g_autofree char *label = g_strdup_printf (_("channel %d of %zu"), hist->channel,
                                                hist->n_channels);
      _qs_chart_legend_add (entries, &style->fg, 0.85, -1, label);
    }
  *legend_height = _qs_chart_legend_flow (cr, style, plot.x, y0, width - pad, entries);
  return entries;
}

void
_qs_chart_histogram_layout (const QsChartHistogram *hist,
                            double                  width,
                            double                  height,
                            const char             *title,
                            const QsChartStyle     *style,
                            QsChartRect            *plot)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale;
  double top = pad, legend_h;
  cairo_surface_t *scratch = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (scratch);
  g_autoptr(GArray) legend = NULL;
  gboolean cut_stems;

  if (title != NULL && *title != '\0')
    top += ceil (lh * 1.3) + pad / 2;
  /* the legend wraps: measure it, with the longer text of linear counts (log counts never
   * need more rows) */
  count_scale (hist, FALSE, &cut_stems);
  legend = _qs_chart_histogram_legend (cr, hist, width, top, cut_stems, style, &legend_h);
  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  layout_below (width, height, top + MAX (legend_h, 2 * lh) + pad / 2, style, plot);
}

double
_qs_chart_histogram_x_of (const QsChartHistogram *hist,
                          const QsChartRect      *plot,
                          double                  value)
{
  return plot->x + (value - hist->lo) / (hist->hi - hist->lo) * plot->width;
}

gint
_qs_chart_histogram_bin_at (const QsChartHistogram *hist,
                            const QsChartRect      *plot,
                            double                  x)
{
  double t = (x - plot->x) / plot->width;

  if (t < 0.0 || t >= 1.0)
    return -1;
  return MIN ((gint) (t * hist->n_bins), (gint) hist->n_bins - 1);
}

guint
_qs_chart_histogram_level_marks (const QsChartHistogram *hist,
                                 const QsChartRect      *plot,
                                 guint                  *marks,
                                 guint                  *step)
{
  guint n = 0, zero = 0;
  double last, gap = MIN_FLOAT_MARK_GAP;

  *step = 1;
  if (hist->n_levels == 0)
    return 0;
  if (!hist->float_levels)
    {
      *step = (hist->n_levels + MAX_LEVEL_MARKS - 1) / MAX_LEVEL_MARKS;
      for (guint i = 0; i < hist->n_levels; i += *step)
        marks[n++] = i;
      return n;
    }

  /* outward from the level nearest zero, so both signs thin alike */
  for (guint i = 1; i < hist->n_levels; i++)
    if (fabs (hist->levels[i]) < fabs (hist->levels[zero]))
      zero = i;
  last = _qs_chart_histogram_x_of (hist, plot, hist->levels[zero]);
  for (guint i = zero; i-- > 0;)
    {
      double x = _qs_chart_histogram_x_of (hist, plot, hist->levels[i]);

      if (last - x >= gap)
        {
          marks[n++] = i;
          last = x;
        }
    }
  /* reverse what is left of zero into ascending order */
  for (guint a = 0, b = n; a + 1 < b; a++, b--)
    {
      guint t = marks[a];
      marks[a] = marks[b - 1];
      marks[b - 1] = t;
    }
  marks[n++] = zero;
  last = _qs_chart_histogram_x_of (hist, plot, hist->levels[zero]);
  for (guint i = zero + 1; i < hist->n_levels; i++)
    {
      double x = _qs_chart_histogram_x_of (hist, plot, hist->levels[i]);

      if (x - last >= gap)
        {
          marks[n++] = i;
          last = x;
        }
    }
  return n;
}

static double
count_y (const QsChartRect *plot,
         double             count,
         double             max_count,
         gboolean           log_scale)
{
  double t;

  if (log_scale)
    t = log10 (1.0 + count) / log10 (1.0 + max_count);
  else
    t = count / max_count;
  return plot->y + plot->height * (1.0 - t);
}

/* Linear counts: the dequantized stems pile up on few levels and can dwarf the float
 * distribution (int4: ~10x). Scale to at most 2.5x the float peak and cut taller stems,
 * their count written at the top. Log counts show everything. */
static double
count_scale (const QsChartHistogram *hist,
             gboolean                log_scale,
             gboolean               *cut_stems)
{
  guint64 float_max = 0;

  for (guint b = 0; b < hist->n_bins; b++)
    float_max = MAX (float_max, hist->counts[b]);
  *cut_stems = !log_scale && hist->dq_counts != NULL && float_max > 0 &&
               (double) hist->max_count > 2.5 * float_max * 1.05;
  if (*cut_stems)
    return 2.5 * float_max * 1.05;
  return MAX (1.0, (double) hist->max_count * 1.05);
}

guint
_qs_chart_histogram_x_ticks (cairo_t                *cr,
                             const QsChartHistogram *hist,
                             const QsChartRect      *plot,
                             const QsChartStyle     *style,
                             double                 *ticks)
{
  double gap = _qs_chart_line_height (style);

  /* the most ticks (8 at most, 5 when they fit) whose measured labels keep a gap */
  for (guint max = 8; max >= 2; max--)
    {
      guint n = _qs_chart_axis_ticks (hist->lo, hist->hi, MIN (5u, max), max, ticks);
      double prev_right = -G_MAXDOUBLE;
      gboolean fits = TRUE;

      for (guint i = 0; i < n && fits; i++)
        {
          g_autofree char *label = _qs_chart_format_value (ticks[i]);
          double tx = round (_qs_chart_histogram_x_of (hist, plot, ticks[i])) + 0.5, w;

          _qs_chart_text_extents (cr, style, 1.0, FALSE, label, &w, NULL);
          fits = tx - w / 2 >= prev_right + gap;
          prev_right = tx + w / 2;
        }
      if (fits || max == 2)
        return n;
    }
  g_assert_not_reached ();
}

static void
label_clear (gpointer data)
{
  g_free (((QsChartLabel *) data)->text);
}

/* Places text at the first of n_cand anchors (x, y, xalign pairs, top-aligned) where its
 * box stays within bounds and clear of every label placed so far; skips it otherwise. */
static gboolean
place_label (GArray             *labels,
             cairo_t            *cr,
             const QsChartStyle *style,
             QsChartLabelKind    kind,
             double              size,
             gboolean            bold,
             const char         *text,
             const QsChartRect  *bounds,
             const double       *cand,
             guint               n_cand)
{
  for (guint c = 0; c < n_cand; c++)
    {
      QsChartLabel label = { kind, { 0 }, NULL, size, bold };
      gboolean clear = TRUE;

      _qs_chart_text_rect (cr, style, cand[3 * c], cand[3 * c + 1], cand[3 * c + 2], 0.0,
                           size, bold, text, &label.rect);
      if (bounds != NULL &&
          (label.rect.x < bounds->x || label.rect.y < bounds->y ||
           label.rect.x + label.rect.width > bounds->x + bounds->width ||
           label.rect.y + label.rect.height > bounds->y + bounds->height))
        continue;
      for (guint i = 0; i < labels->len && clear; i++)
        clear = !_qs_chart_rect_intersects (&label.rect, &g_array_index (labels, QsChartLabel, i).rect);
      if (!clear)
        continue;
      label.text = g_strdup (text);
      g_array_append_val (labels, label);
      return TRUE;
    }
  return FALSE;
}

static gint
compare_stems (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  const QsChartHistogram *hist = user_data;
  guint64 x = hist->dq_counts[*(const guint *) a], y = hist->dq_counts[*(const guint *) b];

  if (x != y)
    return x > y ? -1 : 1;
  return (gint) *(const guint *) a - (gint) *(const guint *) b;
}

GArray *
_qs_chart_histogram_labels (cairo_t                *cr,
                            const QsChartHistogram *hist,
                            const QsChartRect      *plot,
                            gboolean                log_scale,
                            const QsChartStyle     *style)
{
  GArray *labels = g_array_new (FALSE, TRUE, sizeof (QsChartLabel));
  double lh = _qs_chart_line_height (style), ticks[16], max_count;
  gboolean cut_stems;
  guint n_ticks;

  g_array_set_clear_func (labels, label_clear);
  max_count = count_scale (hist, log_scale, &cut_stems);

  /* x ticks: chosen so their labels never touch */
  n_ticks = _qs_chart_histogram_x_ticks (cr, hist, plot, style, ticks);
  for (guint i = 0; i < n_ticks; i++)
    {
      g_autofree char *text = _qs_chart_format_value (ticks[i]);
      double cand[] = { round (_qs_chart_histogram_x_of (hist, plot, ticks[i])) + 0.5,
                        plot->y + plot->height + 5, 0.5 };

      place_label (labels, cr, style, QS_CHART_LABEL_X_TICK, 1.0, FALSE, text, NULL, cand, 1);
    }
  /* y ticks */
  if (log_scale)
    {
      for (double v = 1; v <= max_count; v *= 10)
        {
          g_autofree char *text = y_tick_label (v);
          QsChartRect r;
          double y = count_y (plot, v, max_count, TRUE), cand[3];

          _qs_chart_text_rect (cr, style, 0, 0, 0, 0, 1.0, FALSE, text, &r);
          cand[0] = plot->x - 5;
          cand[1] = y - r.height / 2;
          cand[2] = 1.0;
          place_label (labels, cr, style, QS_CHART_LABEL_Y_TICK, 1.0, FALSE, text, NULL, cand, 1);
        }
    }
  else
    {
      n_ticks = _qs_chart_nice_ticks (0, max_count, 6, ticks);
      for (guint i = 0; i < n_ticks; i++)
        {
          g_autofree char *text = y_tick_label (ticks[i]);
          QsChartRect r;
          double y = count_y (plot, ticks[i], max_count, FALSE), cand[3];

          _qs_chart_text_rect (cr, style, 0, 0, 0, 0, 1.0, FALSE, text, &r);
          cand[0] = plot->x - 5;
          cand[1] = y - r.height / 2;
          cand[2] = 1.0;
          place_label (labels, cr, style, QS_CHART_LABEL_Y_TICK, 1.0, FALSE, text, NULL, cand, 1);
        }
    }

  /* inside the plot, below the rug of level marks (0.45 lh): clipped counts in the shaded
   * regions first, then the counts of cut stems (tallest first, centred on their stem in
   * the first of three rows where they fit), then the zero-point beside its line; a
   * label whose places are all taken is left out */
  if (hist->has_clip && hist->counts_clipping)
    {
      double xl = _qs_chart_histogram_x_of (hist, plot, hist->clip_lo);
      double xr = _qs_chart_histogram_x_of (hist, plot, hist->clip_hi);
      double yl = plot->y + 1.45 * lh;
      g_autofree char *nl = _qs_chart_format_count (hist->n_clip_lo);
      g_autofree char *nr = _qs_chart_format_count (hist->n_clip_hi);
      double left[] = { xl - 3, yl, 1.0,  xl - 3, yl + lh, 1.0 };
      double right[] = { xr + 3, yl, 0.0,  xr + 3, yl + lh, 0.0 };

      if (hist->n_clip_lo > 0 || xl - plot->x > lh)
        place_label (labels, cr, style, QS_CHART_LABEL_CLIP_COUNT, 0.9, TRUE, nl, plot, left, 2);
      if (hist->n_clip_hi > 0 || plot->x + plot->width - xr > lh)
        place_label (labels, cr, style, QS_CHART_LABEL_CLIP_COUNT, 0.9, TRUE, nr, plot, right, 2);
    }
  if (cut_stems)
    {
      g_autoptr(GArray) tall = g_array_new (FALSE, FALSE, sizeof (guint));
      double bw = plot->width / hist->n_bins;

      for (guint b = 0; b < hist->n_bins; b++)
        if (hist->dq_counts[b] > max_count)
          g_array_append_val (tall, b);
      g_array_sort_with_data (tall, compare_stems, (gpointer) hist);
      for (guint i = 0; i < tall->len; i++)
        {
          guint b = g_array_index (tall, guint, i);
          double cx = plot->x + (b + 0.5) * bw, y = plot->y + 1.45 * lh;
          g_autofree char *text = y_tick_label ((double) hist->dq_counts[b]);
          double cand[] = { cx, y, 0.5,  cx, y + lh, 0.5,  cx, y + 2 * lh, 0.5 };

          place_label (labels, cr, style, QS_CHART_LABEL_STEM_COUNT, 0.85, TRUE, text, plot,
                       cand, G_N_ELEMENTS (cand) / 3);
        }
    }
  if (hist->has_zero_point && hist->lo < 0.0 && hist->hi > 0.0)
    {
      double zx = round (_qs_chart_histogram_x_of (hist, plot, 0.0)) + 0.5;
      double y = plot->y + 0.55 * lh, y2 = plot->y + 4.55 * lh;
      /* Translators: the integer code that real 0.0 maps to, "zero-point 128" */
      g_autofree char *text = g_strdup_printf (_("zero-point %d"), hist->zero_point);
      double cand[] = { zx + 3, y, 0.0,  zx - 3, y, 1.0,  zx + 3, y2, 0.0,  zx - 3, y2, 1.0 };

      place_label (labels, cr, style, QS_CHART_LABEL_ZERO_POINT, 0.9, FALSE, text, plot, cand,
                   G_N_ELEMENTS (cand) / 3);
    }
  return labels;
}

void
_qs_chart_histogram_draw (cairo_t                *cr,
                          double                  width,
                          double                  height,
                          const QsChartHistogram *hist,
                          gboolean                log_scale,
                          gint                    hover_bin,
                          const char             *title,
                          const QsChartStyle     *style)
{
  QsChartRect plot;
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale, y0;
  double max_count, bw, ticks[16];
  double bar_alpha = style->dark ? 0.8 : 0.6;   /* the same weight on both backgrounds */
  guint n_ticks, step = 1, n_marks = 0;
  gboolean cut_stems = FALSE;
  g_autofree guint *marks = NULL;

  _qs_chart_draw_background (cr, width, height, style);
  y0 = _qs_chart_draw_title (cr, width, title, style);
  _qs_chart_histogram_layout (hist, width, height, title, style, &plot);
  if (plot.width < 8 || plot.height < 8)
    return;
  max_count = count_scale (hist, log_scale, &cut_stems);
  bw = plot.width / hist->n_bins;

  /* legend, wrapped into as many rows as the width needs */
  {
    double legend_h;
    g_autoptr(GArray) legend = _qs_chart_histogram_legend (cr, hist, width, y0, cut_stems, style,
                                                           &legend_h);

    _qs_chart_legend_draw (cr, style, legend);
  }
  if (hist->n_levels > 0)
    {
      marks = g_new (guint, hist->n_levels);
      n_marks = _qs_chart_histogram_level_marks (hist, &plot, marks, &step);
    }

  cairo_save (cr);
  cairo_rectangle (cr, plot.x, plot.y, plot.width, plot.height);
  cairo_clip (cr);

  /* clipped regions */
  if (hist->has_clip)
    {
      double xl = _qs_chart_histogram_x_of (hist, &plot, hist->clip_lo);
      double xr = _qs_chart_histogram_x_of (hist, &plot, hist->clip_hi);

      _qs_chart_set_color (cr, &style->clip, style->dark ? 0.11 : 0.14);
      cairo_rectangle (cr, plot.x, plot.y, xl - plot.x, plot.height);
      cairo_rectangle (cr, xr, plot.y, plot.x + plot.width - xr, plot.height);
      cairo_fill (cr);
      _qs_chart_set_color (cr, &style->clip, 0.9);
      cairo_set_line_width (cr, 1.5 * style->line_scale);
      cairo_move_to (cr, xl, plot.y);
      cairo_line_to (cr, xl, plot.y + plot.height);
      cairo_move_to (cr, xr, plot.y);
      cairo_line_to (cr, xr, plot.y + plot.height);
      cairo_stroke (cr);
    }

  /* horizontal grid */
  _qs_chart_set_color (cr, &style->grid, 1.0);
  cairo_set_line_width (cr, 1.0);
  if (log_scale)
    for (double v = 1; v <= max_count; v *= 10)
      {
        double y = round (count_y (&plot, v, max_count, TRUE)) + 0.5;
        cairo_move_to (cr, plot.x, y);
        cairo_line_to (cr, plot.x + plot.width, y);
      }
  else
    {
      n_ticks = _qs_chart_nice_ticks (0, max_count, 6, ticks);
      for (guint i = 0; i < n_ticks; i++)
        {
          double y = round (count_y (&plot, ticks[i], max_count, FALSE)) + 0.5;
          cairo_move_to (cr, plot.x, y);
          cairo_line_to (cr, plot.x + plot.width, y);
        }
    }
  cairo_stroke (cr);

  /* hovered bin */
  if (hover_bin >= 0 && (guint) hover_bin < hist->n_bins)
    {
      _qs_chart_set_color (cr, &style->fg, 0.10);
      cairo_rectangle (cr, plot.x + hover_bin * bw, plot.y, bw, plot.height);
      cairo_fill (cr);
    }

  /* float distribution */
  _qs_chart_set_color (cr, &style->accent, bar_alpha);
  for (guint b = 0; b < hist->n_bins; b++)
    if (hist->counts[b] > 0)
      {
        double y = count_y (&plot, hist->counts[b], max_count, log_scale);
        cairo_rectangle (cr, plot.x + b * bw, y, bw, plot.y + plot.height - y);
      }
  cairo_fill (cr);

  /* dequantized series: stems where values collapse onto levels */
  if (hist->dq_counts != NULL)
    {
      _qs_chart_set_color (cr, &style->second, 0.95);
      for (guint b = 0; b < hist->n_bins; b++)
        if (hist->dq_counts[b] > 0)
          {
            double y = MAX (plot.y, count_y (&plot, hist->dq_counts[b], max_count, log_scale));
            double sw = MAX (1.5, bw * 0.45);
            cairo_rectangle (cr, plot.x + (b + 0.5) * bw - sw / 2, y, sw, plot.y + plot.height - y);
          }
      cairo_fill (cr);
      if (cut_stems)
        {
          /* a notch marks the cut (the counts are labels, placed below) */
          _qs_chart_set_color (cr, &style->bg, 1.0);
          for (guint b = 0; b < hist->n_bins; b++)
            if (hist->dq_counts[b] > max_count)
              {
                double cx = plot.x + (b + 0.5) * bw;

                cairo_rectangle (cr, cx - MAX (3.0, bw), plot.y + 0.9 * lh, 2 * MAX (3.0, bw), 2.0);
              }
          cairo_fill (cr);
        }
    }

  /* quantization grid: a rug along the top, faint lines where marks are far apart */
  if (n_marks > 0)
    {
      double *mx = g_newa (double, n_marks);

      for (guint m = 0; m < n_marks; m++)
        mx[m] = round (_qs_chart_histogram_x_of (hist, &plot, hist->levels[marks[m]])) + 0.5;
      cairo_set_line_width (cr, style->line_scale);
      _qs_chart_set_color (cr, &style->fg, 0.10);
      for (guint m = 0; m < n_marks; m++)
        if ((m == 0 || mx[m] - mx[m - 1] >= 14.0) && (m + 1 == n_marks || mx[m + 1] - mx[m] >= 14.0))
          {
            cairo_move_to (cr, mx[m], plot.y);
            cairo_line_to (cr, mx[m], plot.y + plot.height);
          }
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.75);
      for (guint m = 0; m < n_marks; m++)
        {
          cairo_move_to (cr, mx[m], plot.y);
          cairo_line_to (cr, mx[m], plot.y + 0.45 * lh);
        }
      cairo_stroke (cr);
    }

  /* zero-point: the code real 0.0 maps to */
  if (hist->has_zero_point && hist->lo < 0.0 && hist->hi > 0.0)
    {
      double zx = round (_qs_chart_histogram_x_of (hist, &plot, 0.0)) + 0.5;
      double dash[] = { 4.0, 3.0 };

      _qs_chart_set_color (cr, &style->fg, 0.7);
      cairo_set_dash (cr, dash, 2, 0);
      cairo_move_to (cr, zx, plot.y + 0.5 * lh);
      cairo_line_to (cr, zx, plot.y + plot.height);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }

  cairo_restore (cr);

  /* axes */
  _qs_chart_set_color (cr, &style->fg, 0.55);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, plot.x - 0.5, plot.y);
  cairo_line_to (cr, plot.x - 0.5, plot.y + plot.height + 0.5);
  cairo_line_to (cr, plot.x + plot.width, plot.y + plot.height + 0.5);
  cairo_stroke (cr);

  n_ticks = _qs_chart_histogram_x_ticks (cr, hist, &plot, style, ticks);
  _qs_chart_set_color (cr, &style->fg, 0.85);
  for (guint i = 0; i < n_ticks; i++)
    {
      double tx = round (_qs_chart_histogram_x_of (hist, &plot, ticks[i])) + 0.5;

      cairo_move_to (cr, tx, plot.y + plot.height);
      cairo_line_to (cr, tx, plot.y + plot.height + 4);
    }
  cairo_stroke (cr);

  /* every label in and around the plot, laid out so none overlaps another */
  {
    g_autoptr(GArray) labels = _qs_chart_histogram_labels (cr, hist, &plot, log_scale, style);

    for (guint i = 0; i < labels->len; i++)
      {
        const QsChartLabel *label = &g_array_index (labels, QsChartLabel, i);

        switch (label->kind)
          {
          case QS_CHART_LABEL_ZERO_POINT:
            _qs_chart_set_color (cr, &style->fg, 0.8);
            break;
          case QS_CHART_LABEL_STEM_COUNT:
            /* on its stem: knocked out of it */
            _qs_chart_set_color (cr, &style->bg, 1.0);
            cairo_rectangle (cr, label->rect.x - 2, label->rect.y, label->rect.width + 4,
                             label->rect.height);
            cairo_fill (cr);
            _qs_chart_set_color (cr, &style->second, 1.0);
            break;
          case QS_CHART_LABEL_CLIP_COUNT:
            _qs_chart_set_color (cr, &style->clip, 1.0);
            break;
          case QS_CHART_LABEL_X_TICK:
          case QS_CHART_LABEL_Y_TICK:
          default:
            _qs_chart_set_color (cr, &style->fg, 0.85);
            break;
          }
        _qs_chart_text (cr, style, label->rect.x, label->rect.y, 0.0, 0.0, label->size,
                        label->bold, label->text);
      }
  }

  /* axis labels */
  _qs_chart_set_color (cr, &style->fg, 0.85);
  {
    g_autofree char *xlabel = NULL;

    if (hist->tensor_name[0] != '\0')
      xlabel = g_strdup_printf (_("value of %s"), hist->tensor_name);
    else
      xlabel = g_strdup (_("value"));
    _qs_chart_text (cr, style, plot.x + plot.width / 2, plot.y + plot.height + lh * 1.3 + 2,
                    0.5, 0.0, 1.0, TRUE, xlabel);
    cairo_save (cr);
    cairo_translate (cr, pad, plot.y + plot.height / 2);
    cairo_rotate (cr, -G_PI / 2);
    _qs_chart_text (cr, style, 0, 0, 0.5, 0.0, 1.0, TRUE,
                    log_scale ? _("count (log scale)") : _("count"));
    cairo_restore (cr);
  }
}

char *
_qs_chart_histogram_describe_bin (const QsChartHistogram *hist,
                                  gint                    bin)
{
  double w = (hist->hi - hist->lo) / hist->n_bins;
  double b0 = hist->lo + bin * w, b1 = b0 + w, mid = (b0 + b1) / 2;
  g_autofree char *s0 = _qs_chart_format_value (b0);
  g_autofree char *s1 = _qs_chart_format_value (b1);
  g_autofree char *c = _qs_chart_format_count (hist->counts[bin]);
  GString *text = g_string_new (NULL);

  g_assert (bin >= 0 && (guint) bin < hist->n_bins);

  g_string_append_printf (text, _("Values %s to %s: %s"), s0, s1, c);
  if (hist->dq_counts != NULL)
    {
      g_autofree char *d = _qs_chart_format_count (hist->dq_counts[bin]);
      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("Dequantized values in this bin: %s"), d);
    }
  if (hist->n_levels > 0)
    {
      guint best = 0;
      g_autofree char *lv = NULL;

      for (guint i = 1; i < hist->n_levels; i++)
        if (fabs (hist->levels[i] - mid) < fabs (hist->levels[best] - mid))
          best = i;
      lv = _qs_chart_format_value (hist->levels[best]);
      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("Nearest level: %s"), lv);
    }
  else if (hist->float_levels)
    {
      g_autofree char *lv = _qs_chart_format_value (qs_format_round (hist->format, (float) mid));

      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("Nearest %s value: %s"), qs_format_short_name (hist->format), lv);
    }
  if (hist->has_clip && (b1 <= hist->clip_lo || b0 >= hist->clip_hi))
    {
      g_string_append_c (text, '\n');
      g_string_append (text, _("Outside the clipping range: these values saturate"));
    }
  return g_string_free (text, FALSE);
}

char *
_qs_chart_histogram_describe (const QsChartHistogram *hist)
{
  g_autofree char *n = _qs_chart_format_count (hist->n_values);
  g_autofree char *lo = _qs_chart_format_value (hist->lo);
  g_autofree char *hi = _qs_chart_format_value (hist->hi);
  GString *text = g_string_new (NULL);

  if (hist->channel >= 0)
    g_string_append_printf (text, _("Histogram of %s values of %s, channel %d, from %s to %s, quantized as %s."),
                            n, hist->tensor_name, hist->channel, lo, hi, hist->spec_label);
  else
    g_string_append_printf (text, _("Histogram of %s values of %s from %s to %s, quantized as %s."),
                            n, hist->tensor_name, lo, hi, hist->spec_label);
  if (hist->n_levels > 0)
    {
      g_string_append_c (text, ' ');
      if (hist->float_levels)
        g_string_append_printf (text, _("%u representable values in view."), hist->n_levels);
      else
        g_string_append_printf (text, _("%u quantization levels in view."), hist->n_levels);
    }
  else if (hist->levels_too_dense)
    {
      g_string_append_c (text, ' ');
      g_string_append (text, _("Its representable values are too dense to draw."));
    }
  if (hist->has_clip)
    {
      g_autofree char *cl = _qs_chart_format_value (hist->clip_lo);
      g_autofree char *ch = _qs_chart_format_value (hist->clip_hi);
      g_autofree char *nc = _qs_chart_format_count (hist->n_clip_lo + hist->n_clip_hi);

      g_string_append_c (text, ' ');
      if (hist->counts_clipping)
        g_string_append_printf (text, _("Clipping range %s to %s; %s values clipped."), cl, ch, nc);
      else
        g_string_append_printf (text, _("Clipping range %s to %s."), cl, ch);
    }
  else if (hist->counts_clipping)
    {
      g_autofree char *nc = _qs_chart_format_count (hist->n_clip_lo + hist->n_clip_hi);

      g_string_append_c (text, ' ');
      g_string_append_printf (text, _("%s values lie outside the range of their channel or group."), nc);
    }
  return g_string_free (text, FALSE);
}
