/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-private.h"

static int
compare_float (const void *a,
               const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

static int
compare_by_range (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  const QsChartChannels *ch = user_data;
  guint i = *(const guint *) a, j = *(const guint *) b;
  float ri = ch->max[i] - ch->min[i], rj = ch->max[j] - ch->min[j];

  if (ri != rj)
    return ri < rj ? 1 : -1;
  return (i > j) - (i < j);
}

/* Widens channel c's quantization range and step by the params element idx uses. */
static inline void
channel_params (QsChartChannels *ch,
                QsQuantParams   *params,
                gsize            n,
                gsize            c,
                gsize            idx)
{
  gsize p = params->n_params == 1 ? 0 : params->n_params == n ? c : qs_quant_params_index (params, idx);

  ch->clip_lo[c] = MIN (ch->clip_lo[c], params->clip_lo[p]);
  ch->clip_hi[c] = MAX (ch->clip_hi[c], params->clip_hi[p]);
  ch->scale[c] = MAX (ch->scale[c], params->scale[p]);
}

QsChartChannels *
_qs_chart_channels_new (QsQuantResult *result)
{
  QsChartChannels *ch = g_new0 (QsChartChannels, 1);
  QsTensor *input = result->input;
  QsQuantParams *params = result->params;
  gboolean levels = params != NULL && _qs_chart_format_has_levels (params->spec.format);
  gboolean symmetric = params == NULL || params->spec.mapping == QS_MAPPING_SYMMETRIC;
  g_autofree float *ranges = NULL;
  gsize inner, outer, n;
  double tmin = G_MAXDOUBLE, tmax = -G_MAXDOUBLE, amax, median, pad;

  _qs_chart_input_geometry (result, &ch->n, &inner, &outer);
  n = ch->n;
  ch->tensor_name = g_strdup (input->name ? input->name : "");
  ch->min = g_new (float, n);
  ch->max = g_new (float, n);
  ch->clip_lo = g_new (float, n);
  ch->clip_hi = g_new (float, n);
  ch->scale = g_new0 (float, n);
  ch->sorted = g_new (guint, n);
  ch->per_channel = params != NULL && params->n_params > 1;
  for (gsize c = 0; c < n; c++)
    {
      ch->min[c] = ch->clip_lo[c] = G_MAXFLOAT;
      ch->max[c] = ch->clip_hi[c] = -G_MAXFLOAT;
    }

  /* channel c of slice o holds elements [(o * n + c) * inner, + inner): walked in that
   * (storage) order, without a division per weight */
  if (n > 0 && outer * n * inner == input->n_elements)
    {
      const float *v = input->data;
      /* per-tensor or per-channel params: a channel's are the same for all its weights */
      gboolean params_by_channel = levels && (params->n_params == 1 || params->n_params == n);
      gsize idx = 0;

      for (gsize o = 0; o < outer; o++)
        for (gsize c = 0; c < n; c++)
          {
            float lo = ch->min[c], hi = ch->max[c];

            for (gsize i = 0; i < inner; i++)
              if (isfinite (v[idx + i]))
                {
                  lo = MIN (lo, v[idx + i]);
                  hi = MAX (hi, v[idx + i]);
                }
            ch->min[c] = lo;
            ch->max[c] = hi;
            if (levels && !params_by_channel)
              for (gsize i = 0; i < inner; i++)
                channel_params (ch, params, n, c, idx + i);
            idx += inner;
          }
      if (params_by_channel && input->n_elements > 0)
        for (gsize c = 0; c < n; c++)
          channel_params (ch, params, n, c, c * inner);
    }
  else
    for (gsize idx = 0; idx < input->n_elements; idx++)
      {
        gsize c = (idx / inner) % n;
        float v = input->data[idx];

        if (isfinite (v))
          {
            ch->min[c] = MIN (ch->min[c], v);
            ch->max[c] = MAX (ch->max[c], v);
          }
        if (levels)
          channel_params (ch, params, n, c, idx);
      }
  ranges = g_new (float, n);
  for (gsize c = 0; c < n; c++)
    {
      if (ch->min[c] > ch->max[c])
        ch->min[c] = ch->max[c] = 0.0f;
      if (!levels)
        {
          ch->clip_lo[c] = ch->min[c];
          ch->clip_hi[c] = ch->max[c];
        }
      tmin = MIN (tmin, ch->min[c]);
      tmax = MAX (tmax, ch->max[c]);
      ranges[c] = symmetric ? 2.0f * MAX (fabsf (ch->min[c]), fabsf (ch->max[c])) : ch->max[c] - ch->min[c];
      ch->scale_max = MAX (ch->scale_max, ch->scale[c]);
      ch->sorted[c] = (guint) c;
    }
  if (n == 0)
    tmin = tmax = 0.0;
  amax = MAX (fabs (tmin), fabs (tmax));
  ch->tensor_lo = symmetric ? -amax : tmin;
  ch->tensor_hi = symmetric ? amax : tmax;
  qsort (ranges, n, sizeof (float), compare_float);
  median = n ? ranges[n / 2] : 0.0;
  ch->median_ratio = median > 0.0 ? (ch->tensor_hi - ch->tensor_lo) / median : 1.0;
  g_qsort_with_data (ch->sorted, (gint) n, sizeof (guint), compare_by_range, ch);

  ch->vmin = MIN (ch->tensor_lo, tmin);
  ch->vmax = MAX (ch->tensor_hi, tmax);
  if (levels)
    for (gsize c = 0; c < n; c++)
      {
        ch->vmin = MIN (ch->vmin, ch->clip_lo[c]);
        ch->vmax = MAX (ch->vmax, ch->clip_hi[c]);
      }
  if (!(ch->vmax > ch->vmin))
    {
      ch->vmin -= 1.0;
      ch->vmax += 1.0;
    }
  pad = (ch->vmax - ch->vmin) * 0.04;
  ch->vmin -= pad;
  ch->vmax += pad;
  return ch;
}

void
_qs_chart_channels_free (QsChartChannels *ch)
{
  if (ch == NULL)
    return;
  g_free (ch->min);
  g_free (ch->max);
  g_free (ch->clip_lo);
  g_free (ch->clip_hi);
  g_free (ch->scale);
  g_free (ch->sorted);
  g_free (ch->tensor_name);
  g_free (ch);
}

/* The right axis (step sizes) is there when channels have their own steps to compare. */
static gboolean
has_step_axis (const QsChartChannels *ch)
{
  return ch->per_channel && ch->scale_max > 0.0;
}

/* Everything but the header, whose height is given. */
static void
layout_below (const QsChartChannels *ch,
              double                 width,
              double                 height,
              double                 top,
              const QsChartStyle    *style,
              QsChartRect           *plot)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale;

  plot->x = pad + lh * 1.2 + lh * 3.2;
  plot->y = top;
  plot->width = MAX (1.0, width - plot->x - pad - (has_step_axis (ch) ? lh * 4.4 : pad));
  plot->height = MAX (1.0, height - top - lh * 2.4 - pad);
}

GArray *
_qs_chart_channels_legend (cairo_t               *cr,
                           const QsChartChannels *ch,
                           double                 width,
                           double                 y0,
                           const QsChartStyle    *style,
                           double                *legend_height)
{
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (QsChartLegendEntry));
  double pad = 8.0 * style->font_scale, bw;
  g_autofree char *note = NULL;
  QsChartRect plot;

  g_array_set_clear_func (entries, _qs_chart_legend_entry_clear);
  layout_below (ch, width, 1000, 0, style, &plot);
  bw = ch->n ? plot.width / ch->n : 0.0;
  _qs_chart_legend_add (entries, &style->accent, 0.75, 0, _("channel min … max"));
  _qs_chart_legend_add (entries, &style->second, 1.0, 3, _("per-tensor range"));
  if (ch->per_channel && bw >= 3.0)
    _qs_chart_legend_add (entries, &style->fg, 0.75, 1, _("channel’s quantization range"));
  if (has_step_axis (ch))
    _qs_chart_legend_add (entries, &style->fg, 0.8, bw >= 3.0 ? 4 : 2, _("step size (right axis)"));
  else if (ch->scale_max > 0.0)
    {
      g_autofree char *step = _qs_chart_format_value (ch->scale_max);
      /* Translators: per-tensor quantization: %s is the one step size, "step 0.0035, one for all channels" */
      g_autofree char *text = g_strdup_printf (_("step %s, one for all channels"), step);

      _qs_chart_legend_add (entries, &style->fg, 0.85, -1, text);
    }
  if (ch->median_ratio > 1.0)
    note = g_strdup_printf (_("The per-tensor range is %.1f× the median channel’s: one shared scale costs that channel about %.1f bits."),
                            ch->median_ratio, log2 (ch->median_ratio));
  else
    note = g_strdup (_("Channels span about the same range: per-tensor scales lose little."));
  _qs_chart_legend_add (entries, NULL, 0.8, 0, note);
  *legend_height = _qs_chart_legend_flow (cr, style, plot.x, y0, width - pad, entries);
  return entries;
}

void
_qs_chart_channels_layout (const QsChartChannels *ch,
                           double                 width,
                           double                 height,
                           const char            *title,
                           const QsChartStyle    *style,
                           QsChartRect           *plot)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale, top = pad, legend_h;
  cairo_surface_t *scratch = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (scratch);
  g_autoptr(GArray) legend = NULL;

  if (title != NULL && *title != '\0')
    top += ceil (lh * 1.3) + pad / 2;
  /* the legend wraps: measure it */
  legend = _qs_chart_channels_legend (cr, ch, width, top, style, &legend_h);
  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  layout_below (ch, width, height, top + legend_h + pad / 2, style, plot);
}

static double
value_y (const QsChartChannels *ch,
         const QsChartRect     *plot,
         double                 v)
{
  return plot->y + (ch->vmax - v) / (ch->vmax - ch->vmin) * plot->height;
}

static double
step_y (const QsChartRect *plot,
        double             step,
        double             top)
{
  return plot->y + plot->height * (1.0 - step / top);
}

guint
_qs_chart_channels_step_ticks (const QsChartChannels *ch,
                               const QsChartRect     *plot,
                               const QsChartStyle    *style,
                               double                *ticks,
                               double                *top)
{
  double lh = _qs_chart_line_height (style);
  guint max = (guint) CLAMP (plot->height / (lh * 1.1), 2, 6), n;

  /* the axis ends at the largest step plus a margin; its labels are nice values in it */
  *top = ch->scale_max > 0.0 ? ch->scale_max * 1.08 : 1.0;
  n = _qs_chart_axis_ticks (0.0, *top, MIN (4u, max), max, ticks);
  return n;
}

gint
_qs_chart_channels_at (const QsChartChannels *ch,
                       const QsChartRect     *plot,
                       gboolean               sorted,
                       double                 x)
{
  double t = (x - plot->x) / plot->width;
  gsize pos;

  if (ch->n == 0 || t < 0.0 || t >= 1.0)
    return -1;
  pos = MIN ((gsize) (t * ch->n), ch->n - 1);
  return (gint) (sorted ? ch->sorted[pos] : pos);
}

void
_qs_chart_channels_draw (cairo_t               *cr,
                         double                 width,
                         double                 height,
                         const QsChartChannels *ch,
                         gboolean               sorted,
                         gint                   hover,
                         const char            *title,
                         const QsChartStyle    *style)
{
  QsChartRect plot;
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale, y0, bw, gap, ticks[16];
  double step_top = 1.0;
  double dash[] = { 5.0, 3.0 };
  guint n_ticks;

  _qs_chart_draw_background (cr, width, height, style);
  y0 = _qs_chart_draw_title (cr, width, title, style);
  _qs_chart_channels_layout (ch, width, height, title, style, &plot);
  if (ch->n == 0)
    {
      _qs_chart_draw_message (cr, width, height, _("No channels"), style);
      return;
    }
  if (plot.width < 8 || plot.height < 8)
    return;
  bw = plot.width / ch->n;
  gap = bw >= 4.0 ? MIN (bw * 0.25, 3.0) : 0.0;
  if (has_step_axis (ch))
    {
      double sticks[8];

      _qs_chart_channels_step_ticks (ch, &plot, style, sticks, &step_top);
    }

  /* legend and note, wrapped into as many rows as the width needs */
  {
    double legend_h;
    g_autoptr(GArray) legend = _qs_chart_channels_legend (cr, ch, width, y0, style, &legend_h);

    _qs_chart_legend_draw (cr, style, legend);
  }

  cairo_save (cr);
  cairo_rectangle (cr, plot.x, plot.y, plot.width, plot.height);
  cairo_clip (cr);

  /* grid */
  _qs_chart_set_color (cr, &style->grid, 1.0);
  cairo_set_line_width (cr, 1.0);
  n_ticks = (guint) CLAMP (plot.height / (lh * 1.6), 3, 11);
  n_ticks = _qs_chart_axis_ticks (ch->vmin, ch->vmax, MIN (n_ticks, 5u), MIN (n_ticks, 6u), ticks);
  for (guint i = 0; i < n_ticks; i++)
    {
      double y = round (value_y (ch, &plot, ticks[i])) + 0.5;
      cairo_move_to (cr, plot.x, y);
      cairo_line_to (cr, plot.x + plot.width, y);
    }
  cairo_stroke (cr);

  if (hover >= 0 && (gsize) hover < ch->n)
    {
      gsize pos = hover;

      if (sorted)
        for (pos = 0; pos < ch->n && ch->sorted[pos] != (guint) hover; pos++)
          ;
      _qs_chart_set_color (cr, &style->fg, 0.10);
      cairo_rectangle (cr, plot.x + pos * bw, plot.y, bw, plot.height);
      cairo_fill (cr);
    }

  /* bars */
  _qs_chart_set_color (cr, &style->accent, 0.75);
  for (gsize pos = 0; pos < ch->n; pos++)
    {
      guint c = sorted ? ch->sorted[pos] : (guint) pos;
      double ya = value_y (ch, &plot, ch->max[c]), yb = value_y (ch, &plot, ch->min[c]);

      cairo_rectangle (cr, plot.x + pos * bw + gap / 2, ya, MAX (bw - gap, 0.75), MAX (yb - ya, 1.0));
    }
  cairo_fill (cr);

  /* each channel's quantization range, when it has its own */
  if (ch->per_channel && bw >= 3.0)
    {
      _qs_chart_set_color (cr, &style->fg, 0.75);
      cairo_set_line_width (cr, 1.5 * style->line_scale);
      for (gsize pos = 0; pos < ch->n; pos++)
        {
          guint c = sorted ? ch->sorted[pos] : (guint) pos;
          double xa = plot.x + pos * bw + gap / 2, xb = plot.x + (pos + 1) * bw - gap / 2;

          cairo_move_to (cr, xa, value_y (ch, &plot, ch->clip_hi[c]));
          cairo_line_to (cr, xb, value_y (ch, &plot, ch->clip_hi[c]));
          cairo_move_to (cr, xa, value_y (ch, &plot, ch->clip_lo[c]));
          cairo_line_to (cr, xb, value_y (ch, &plot, ch->clip_lo[c]));
        }
      cairo_stroke (cr);
    }

  /* the per-tensor range over all channels */
  _qs_chart_set_color (cr, &style->second, 1.0);
  cairo_set_line_width (cr, 2.0 * style->line_scale);
  cairo_set_dash (cr, dash, 2, 0);
  cairo_move_to (cr, plot.x, value_y (ch, &plot, ch->tensor_hi));
  cairo_line_to (cr, plot.x + plot.width, value_y (ch, &plot, ch->tensor_hi));
  cairo_move_to (cr, plot.x, value_y (ch, &plot, ch->tensor_lo));
  cairo_line_to (cr, plot.x + plot.width, value_y (ch, &plot, ch->tensor_lo));
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);

  /* step size per channel on the right axis: a marker each (channels are not a series),
   * hollow rings that read apart from the bars they cross; too narrow for rings, small
   * dots in a halo. One step for all channels is said in the legend instead. */
  if (has_step_axis (ch))
    {
      double r = MIN (bw * 0.35, 3.5 * style->font_scale);

      for (gsize pos = 0; pos < ch->n; pos++)
        {
          guint c = sorted ? ch->sorted[pos] : (guint) pos;
          double y = step_y (&plot, ch->scale[c], step_top), cx = plot.x + (pos + 0.5) * bw;

          cairo_new_sub_path (cr);
          cairo_arc (cr, cx, y, bw >= 3.0 ? MAX (r, 1.5) : 1.25, 0, 2 * G_PI);
        }
      _qs_chart_set_color (cr, &style->bg, 1.0);
      cairo_set_line_width (cr, (bw >= 3.0 ? 3.5 : 1.5) * style->line_scale);
      cairo_stroke_preserve (cr);
      if (bw >= 3.0)
        {
          cairo_fill_preserve (cr);
          _qs_chart_set_color (cr, &style->fg, 0.85);
          cairo_set_line_width (cr, 1.5 * style->line_scale);
          cairo_stroke (cr);
        }
      else
        {
          _qs_chart_set_color (cr, &style->fg, 0.85);
          cairo_fill (cr);
        }
    }
  cairo_restore (cr);

  /* axes and labels */
  _qs_chart_set_color (cr, &style->fg, 0.55);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, plot.x - 0.5, plot.y);
  cairo_line_to (cr, plot.x - 0.5, plot.y + plot.height + 0.5);
  cairo_line_to (cr, plot.x + plot.width, plot.y + plot.height + 0.5);
  cairo_stroke (cr);
  _qs_chart_set_color (cr, &style->fg, 0.85);
  for (guint i = 0; i < n_ticks; i++)
    {
      g_autofree char *label = _qs_chart_format_value (ticks[i]);
      _qs_chart_text (cr, style, plot.x - 5, value_y (ch, &plot, ticks[i]), 1.0, 0.5, 1.0, FALSE, label);
    }
  if (has_step_axis (ch))
    {
      double sticks[8];
      guint n_sticks = _qs_chart_channels_step_ticks (ch, &plot, style, sticks, &step_top);

      _qs_chart_set_color (cr, &style->fg, 0.55);
      cairo_move_to (cr, plot.x + plot.width + 0.5, plot.y);
      cairo_line_to (cr, plot.x + plot.width + 0.5, plot.y + plot.height + 0.5);
      for (guint i = 0; i < n_sticks; i++)
        {
          double y = round (step_y (&plot, sticks[i], step_top)) + 0.5;

          cairo_move_to (cr, plot.x + plot.width, y);
          cairo_line_to (cr, plot.x + plot.width + 4, y);
        }
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.7);
      for (guint i = 0; i < n_sticks; i++)
        {
          g_autofree char *label = _qs_chart_format_value (sticks[i]);

          _qs_chart_text (cr, style, plot.x + plot.width + 6, step_y (&plot, sticks[i], step_top),
                          0.0, 0.5, 0.9, FALSE, label);
        }
      _qs_chart_set_color (cr, &style->fg, 0.85);
    }
  if (!sorted)
    {
      n_ticks = _qs_chart_nice_ticks (0, ch->n - 1, (guint) CLAMP (plot.width / (lh * 4), 2, 12), ticks);
      for (guint i = 0; i < n_ticks; i++)
        {
          g_autofree char *label = g_strdup_printf ("%.0f", ticks[i]);
          double tx = plot.x + (ticks[i] + 0.5) * bw;

          if (ticks[i] != floor (ticks[i]))
            continue;
          _qs_chart_text (cr, style, tx, plot.y + plot.height + 5, 0.5, 0.0, 1.0, FALSE, label);
        }
    }
  {
    g_autofree char *xlabel = g_strdup_printf (sorted ? _("%zu output channels of %s, widest first")
                                                      : _("output channel of %2$s (%1$zu channels)"),
                                               ch->n, ch->tensor_name);
    double tw;

    /* centred under the plot, within the figure (ellipsized when narrower) */
    _qs_chart_text_extents (cr, style, 1.0, TRUE, xlabel, &tw, NULL);
    tw = MIN (tw, width - 2 * pad);
    _qs_chart_text_fit (cr, style, CLAMP (plot.x + plot.width / 2 - tw / 2, pad, width - pad - tw),
                        plot.y + plot.height + lh * 1.3 + 2, 0.0, 1.0, TRUE, xlabel, tw + 1);
  }
  cairo_save (cr);
  cairo_translate (cr, pad, plot.y + plot.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  _qs_chart_text (cr, style, 0, 0, 0.5, 0.0, 1.0, TRUE, _("weight value"));
  cairo_restore (cr);
}

char *
_qs_chart_channels_describe_channel (const QsChartChannels *ch,
                                     gint                   c)
{
  g_autofree char *lo = _qs_chart_format_value (ch->min[c]);
  g_autofree char *hi = _qs_chart_format_value (ch->max[c]);
  GString *text = g_string_new (NULL);

  g_assert (c >= 0 && (gsize) c < ch->n);

  g_string_append_printf (text, _("Channel %d: %s to %s"), c, lo, hi);
  if (ch->scale_max > 0.0)
    {
      g_autofree char *s = _qs_chart_format_value (ch->scale[c]);
      g_autofree char *cl = _qs_chart_format_value (ch->clip_lo[c]);
      g_autofree char *chi = _qs_chart_format_value (ch->clip_hi[c]);

      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("Quantization range %s to %s, step %s"), cl, chi, s);
    }
  return g_string_free (text, FALSE);
}

char *
_qs_chart_channels_describe (const QsChartChannels *ch)
{
  g_autofree char *lo = _qs_chart_format_value (ch->tensor_lo);
  g_autofree char *hi = _qs_chart_format_value (ch->tensor_hi);

  if (ch->n == 0)
    return g_strdup (_("No channels"));
  return g_strdup_printf (_("Ranges of the %zu output channels of %s against the per-tensor "
                            "range %s to %s, which is %.1f times the median channel’s range."),
                          ch->n, ch->tensor_name, lo, hi, ch->median_ratio);
}
