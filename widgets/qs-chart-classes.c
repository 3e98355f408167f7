/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-eval.h"
#include "qs-chart-private.h"

/* Per-class accuracy as paired bars: float (accent) and quantized (second colour). */

QsChartClasses *
qs_chart_classes_new (const QsChartEvalData *data)
{
  QsChartClasses *b;
  guint n;

  g_return_val_if_fail (data != NULL, NULL);

  if (!data->labelled || data->n_classes == 0 || data->float_per_class == NULL)
    return NULL;
  n = data->n_classes;
  b = g_new0 (QsChartClasses, 1);
  b->n = n;
  b->has_quant = data->quant_per_class != NULL;
  b->float_acc = g_new (double, n);
  b->quant_acc = g_new (double, n);
  b->counts = g_new0 (guint, n);
  b->names = _qs_chart_eval_names (data);
  for (guint c = 0; c < n; c++)
    {
      b->float_acc[c] = 100.0 * data->float_per_class[c];
      b->quant_acc[c] = b->has_quant ? 100.0 * data->quant_per_class[c] : NAN;
      if (data->float_confusion != NULL)
        for (guint p = 0; p < n; p++)
          b->counts[c] += data->float_confusion[(gsize) c * n + p];
    }
  return b;
}

void
qs_chart_classes_free (QsChartClasses *b)
{
  if (b == NULL)
    return;
  g_free (b->float_acc);
  g_free (b->quant_acc);
  g_free (b->counts);
  g_strfreev (b->names);
  g_free (b);
}

typedef struct
{
  QsChartRect plot;
  double      group_w;      /* one class: its bars and the gap */
  double      names_h;
  gboolean    vertical;     /* names drawn upwards (they do not fit across) */
  guint       step;         /* every k-th name */
  double      legend_h;
} ClassesLayout;

static void
classes_layout (cairo_t              *cr,
                const QsChartClasses *b,
                double                width,
                double                height,
                double                top,
                const QsChartStyle   *style,
                ClassesLayout        *lo)
{
  double fs = style->font_scale, lh = _qs_chart_line_height (style), name_w = 0;

  for (guint c = 0; c < b->n; c++)
    {
      double w = 0;

      if (cr != NULL)
        _qs_chart_text_extents (cr, style, 0.9, FALSE, b->names[c], &w, NULL);
      else
        w = 7.0 * fs * g_utf8_strlen (b->names[c], -1);
      name_w = MAX (name_w, w);
    }
  lo->legend_h = lh * 1.6;
  lo->plot.x = 48 * fs;
  lo->plot.width = MAX (width - lo->plot.x - 12 * fs, 1);
  lo->group_w = lo->plot.width / b->n;
  lo->vertical = name_w + 6 * fs > lo->group_w;
  lo->names_h = lo->vertical ? MIN (name_w + 6 * fs, height * 0.3) : lh + 4 * fs;
  lo->step = lo->vertical ? qs_chart_eval_label_step (b->n, lo->plot.width, lh * 0.9) : 1;
  lo->plot.y = top + lo->legend_h;
  lo->plot.height = MAX (height - lo->plot.y - lo->names_h - lh * 1.4, 1);
}

static void
bar_rects (const ClassesLayout  *lo,
           const QsChartClasses *b,
           guint                 c,
           QsChartRect          *fr,
           QsChartRect          *qr)
{
  double inner = lo->group_w * (lo->group_w >= 6 ? 0.8 : 1.0);
  double bw = b->has_quant ? inner / 2 : inner;
  double x0 = lo->plot.x + c * lo->group_w + (lo->group_w - inner) / 2;
  double base = lo->plot.y + lo->plot.height;

  fr->x = x0;
  fr->width = bw;
  fr->height = isnan (b->float_acc[c]) ? 0 : lo->plot.height * CLAMP (b->float_acc[c], 0, 100) / 100;
  fr->y = base - fr->height;
  qr->x = x0 + bw;
  qr->width = b->has_quant ? bw : 0;
  qr->height = isnan (b->quant_acc[c]) ? 0 : lo->plot.height * CLAMP (b->quant_acc[c], 0, 100) / 100;
  qr->y = base - qr->height;
}

void
qs_chart_draw_classes (cairo_t              *cr,
                       double                width,
                       double                height,
                       const QsChartClasses *b,
                       gint                  hover,
                       const char           *title,
                       const QsChartStyle   *style)
{
  ClassesLayout lo;
  double top, ticks[8], lh, fs;
  guint n_ticks;
  g_autoptr(GArray) legend = NULL;

  g_return_if_fail (cr != NULL && style != NULL);

  lh = _qs_chart_line_height (style);
  fs = style->font_scale;
  if (style->draw_background)
    _qs_chart_draw_background (cr, width, height, style);
  top = _qs_chart_draw_title (cr, width, title, style);
  if (b == NULL)
    {
      _qs_chart_draw_message (cr, width, height, _("No labelled evaluation yet"), style);
      return;
    }
  classes_layout (cr, b, width, height, top, style, &lo);

  /* grid: 0 .. 100 % */
  n_ticks = _qs_chart_axis_ticks (0, 100, 3, lo.plot.height > 160 * fs ? 6 : 3, ticks);
  cairo_set_line_width (cr, 1.0);
  for (guint i = 0; i < n_ticks; i++)
    {
      double y = lo.plot.y + lo.plot.height * (1 - ticks[i] / 100);
      g_autofree char *t = g_strdup_printf ("%g %%", ticks[i]);

      _qs_chart_set_color (cr, &style->grid, 1.0);
      cairo_move_to (cr, lo.plot.x, round (y) + 0.5);
      cairo_line_to (cr, lo.plot.x + lo.plot.width, round (y) + 0.5);
      cairo_stroke (cr);
      _qs_chart_set_color (cr, &style->fg, 0.75);
      _qs_chart_text (cr, style, lo.plot.x - 6, y, 1.0, 0.5, 0.9, FALSE, t);
    }

  for (guint c = 0; c < b->n; c++)
    {
      QsChartRect fr, qr;

      bar_rects (&lo, b, c, &fr, &qr);
      if ((gint) c == hover)
        {
          _qs_chart_set_color (cr, &style->fg, 0.08);
          cairo_rectangle (cr, lo.plot.x + c * lo.group_w, lo.plot.y, lo.group_w, lo.plot.height);
          cairo_fill (cr);
        }
      _qs_chart_set_color (cr, &style->accent, 1.0);
      cairo_rectangle (cr, fr.x, fr.y, fr.width, fr.height);
      cairo_fill (cr);
      if (b->has_quant)
        {
          _qs_chart_set_color (cr, &style->second, 1.0);
          cairo_rectangle (cr, qr.x, qr.y, qr.width, qr.height);
          cairo_fill (cr);
        }
      if (c % lo.step != 0)
        continue;
      _qs_chart_set_color (cr, &style->fg, 0.8);
      if (lo.vertical)
        {
          cairo_save (cr);
          cairo_translate (cr, lo.plot.x + (c + 0.5) * lo.group_w - lh * 0.45,
                           lo.plot.y + lo.plot.height + 4 * fs);
          cairo_rotate (cr, -G_PI / 2);
          /* right-aligned against the axis: drawn from the end of the available length */
          {
            double tw = 0;

            _qs_chart_text_extents (cr, style, 0.9, FALSE, b->names[c], &tw, NULL);
            tw = MIN (tw, lo.names_h - 6 * fs);
            _qs_chart_text_fit (cr, style, -tw, 0, 0.0, 0.9, FALSE, b->names[c], lo.names_h - 6 * fs);
          }
          cairo_restore (cr);
        }
      else
        _qs_chart_text (cr, style, lo.plot.x + (c + 0.5) * lo.group_w,
                        lo.plot.y + lo.plot.height + 4 * fs, 0.5, 0.0, 0.9, FALSE, b->names[c]);
    }
  _qs_chart_set_color (cr, &style->fg, 0.35);
  cairo_move_to (cr, lo.plot.x, lo.plot.y + lo.plot.height + 0.5);
  cairo_line_to (cr, lo.plot.x + lo.plot.width, lo.plot.y + lo.plot.height + 0.5);
  cairo_stroke (cr);
  _qs_chart_set_color (cr, &style->fg, 0.85);
  _qs_chart_text (cr, style, lo.plot.x + lo.plot.width / 2, height - 4, 0.5, 1.0, 1.0, FALSE,
                  _("Class (top-1 accuracy of its images)"));

  legend = g_array_new (FALSE, TRUE, sizeof (QsChartLegendEntry));
  g_array_set_clear_func (legend, _qs_chart_legend_entry_clear);
  _qs_chart_legend_add (legend, &style->accent, 1.0, 0, _("Float"));
  if (b->has_quant)
    _qs_chart_legend_add (legend, &style->second, 1.0, 0, _("Quantized"));
  _qs_chart_legend_flow (cr, style, lo.plot.x, top, width - 8, legend);
  _qs_chart_legend_draw (cr, style, legend);
}

gint
qs_chart_classes_at (const QsChartClasses *b,
                     double                width,
                     double                height,
                     const QsChartStyle   *style,
                     double                x,
                     double                y)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  ClassesLayout lo;
  double top;

  if (b == NULL)
    return -1;
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (surface);
  top = _qs_chart_draw_title (cr, width, NULL, style);
  classes_layout (cr, b, width, height, top, style, &lo);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  if (x < lo.plot.x || x >= lo.plot.x + lo.plot.width || y < lo.plot.y
      || y >= lo.plot.y + lo.plot.height + lo.names_h)
    return -1;
  return (gint) MIN ((guint) ((x - lo.plot.x) / lo.group_w), b->n - 1);
}

char *
qs_chart_classes_describe_class (const QsChartClasses *b,
                                 guint                 c)
{
  g_autofree char *f = NULL, *q = NULL;

  g_return_val_if_fail (b != NULL && c < b->n, NULL);

  f = isnan (b->float_acc[c]) ? g_strdup ("–") : g_strdup_printf ("%.2f%%", b->float_acc[c]);
  if (!b->has_quant)
    /* Translators: a class's bar: name, float accuracy, number of images */
    return g_strdup_printf (_("%s\nFloat: %s\n%u images"), b->names[c], f, b->counts[c]);
  q = isnan (b->quant_acc[c]) ? g_strdup ("–") : g_strdup_printf ("%.2f%%", b->quant_acc[c]);
  /* Translators: a class's bars: name, float and quantized accuracy, the difference in
   * points, number of images */
  return g_strdup_printf (_("%s\nFloat: %s\nQuantized: %s (%+.2f points)\n%u images"),
                          b->names[c], f, q, b->quant_acc[c] - b->float_acc[c], b->counts[c]);
}
