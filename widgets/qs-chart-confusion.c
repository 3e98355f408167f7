/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-eval.h"
#include "qs-chart-private.h"
#include "qs-colormap.h"

/* The confusion matrix chart and what the evaluation charts share (the data, label
 * thinning, export). The per-class bars are in qs-chart-classes.c. */

void
qs_chart_eval_data_init (QsChartEvalData    *data,
                         QsEvalResult       *result,
                         const char * const *class_names)
{
  gboolean quant;

  g_return_if_fail (data != NULL && result != NULL);

  quant = !isnan (result->quant_top1) || !isnan (result->agreement);
  data->n_classes = result->n_classes;
  data->float_confusion = result->float_confusion;
  data->quant_confusion = quant ? result->quant_confusion : NULL;
  data->float_per_class = result->float_per_class;
  data->quant_per_class = quant ? result->quant_per_class : NULL;
  data->class_names = class_names;
  data->labelled = result->labelled && result->classification;
}

char **
_qs_chart_eval_names (const QsChartEvalData *data)
{
  char **names = g_new0 (char *, data->n_classes + 1);

  for (guint c = 0; c < data->n_classes; c++)
    names[c] = data->class_names != NULL && data->class_names[c] != NULL
      ? g_strdup (data->class_names[c]) : g_strdup_printf ("%u", c);
  return names;
}

guint
qs_chart_eval_label_step (guint  n,
                          double extent,
                          double label_extent)
{
  static const guint nice[] = { 1, 2, 5 };
  double per = n > 0 ? extent / n : 0;

  if (n == 0)
    return 1;
  /* the smallest 1, 2, 5 x 10^k steps whose labels do not overlap */
  for (guint decade = 1; decade <= 100000; decade *= 10)
    for (guint i = 0; i < G_N_ELEMENTS (nice); i++)
      if (nice[i] * decade * per >= label_extent || nice[i] * decade >= n)
        return MIN (nice[i] * decade, MAX (n, 1));
  return n;
}

QsChartConfusion *
qs_chart_confusion_new (const QsChartEvalData *data,
                        QsConfusionMode        mode)
{
  QsChartConfusion *m;
  guint n;
  gsize nn;

  g_return_val_if_fail (data != NULL, NULL);

  if (!data->labelled || data->n_classes == 0 || data->float_confusion == NULL)
    return NULL;
  n = data->n_classes;
  nn = (gsize) n * n;
  m = g_new0 (QsChartConfusion, 1);
  m->n = n;
  m->has_quant = data->quant_confusion != NULL;
  m->mode = m->has_quant ? mode : QS_CONFUSION_FLOAT;
  m->float_counts = g_memdup2 (data->float_confusion, nn * sizeof (guint));
  m->quant_counts = m->has_quant ? g_memdup2 (data->quant_confusion, nn * sizeof (guint))
                                 : g_new0 (guint, nn);
  m->row_totals = g_new0 (guint, n);
  m->t = g_new0 (double, nn);
  m->names = _qs_chart_eval_names (data);
  m->limit = 1;
  for (guint r = 0; r < n; r++)
    for (guint c = 0; c < n; c++)
      m->row_totals[r] += m->float_counts[(gsize) r * n + c];
  for (gsize k = 0; k < nn; k++)
    m->limit = MAX (m->limit, abs ((gint) m->quant_counts[k] - (gint) m->float_counts[k]));
  for (guint r = 0; r < n; r++)
    for (guint c = 0; c < n; c++)
      {
        gsize k = (gsize) r * n + c;

        if (m->mode == QS_CONFUSION_DIFFERENCE)
          m->t[k] = ((double) m->quant_counts[k] - (double) m->float_counts[k]) / m->limit;
        else
          {
            const guint *counts = m->mode == QS_CONFUSION_QUANT ? m->quant_counts : m->float_counts;

            /* the share of the true class, square-root scale */
            m->t[k] = m->row_totals[r] > 0 ? sqrt ((double) counts[k] / m->row_totals[r]) : 0.0;
          }
      }
  return m;
}

void
qs_chart_confusion_free (QsChartConfusion *m)
{
  if (m == NULL)
    return;
  g_free (m->float_counts);
  g_free (m->quant_counts);
  g_free (m->row_totals);
  g_free (m->t);
  g_strfreev (m->names);
  g_free (m);
}

typedef struct
{
  double      label_w;    /* true-class names */
  double      header_h;   /* predicted-class names (vertical) */
  double      legend_h;
  QsChartRect cells;
  double      cell;       /* square cells */
  guint       row_step;   /* every k-th label */
  guint       col_step;
  double      x0;         /* left edge of the figure: centred when the height limits it */
} ConfusionLayout;

static void
confusion_layout (cairo_t                *cr,
                  const QsChartConfusion *m,
                  double                  width,
                  double                  height,
                  double                  top,
                  const QsChartStyle     *style,
                  ConfusionLayout        *lo)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale, name_w = 0;
  double avail_w, avail_h;

  for (guint c = 0; c < m->n; c++)
    {
      double w = 0;

      if (cr != NULL)
        _qs_chart_text_extents (cr, style, 0.9, FALSE, m->names[c], &w, NULL);
      else
        w = 7.0 * style->font_scale * g_utf8_strlen (m->names[c], -1);
      name_w = MAX (name_w, w);
    }
  /* an axis title on each side, then the names */
  lo->label_w = MIN (name_w + pad, width * 0.3) + lh;
  lo->header_h = MIN (name_w + pad, height * 0.25) + lh;
  lo->legend_h = lh * 2 + pad;
  avail_w = MAX (width - lo->label_w - 2 * pad, 1);
  avail_h = MAX (height - top - lo->header_h - lo->legend_h - pad, 1);
  lo->cell = MAX (MIN (avail_w, avail_h) / m->n, 0.5);
  /* centre the matrix and its labels when there is width to spare */
  lo->x0 = MAX ((avail_w - lo->cell * m->n) / 2, 0);
  lo->cells.x = lo->x0 + pad + lo->label_w;
  lo->cells.y = top + lo->header_h;
  lo->cells.width = lo->cell * m->n;
  lo->cells.height = lo->cell * m->n;
  lo->row_step = qs_chart_eval_label_step (m->n, lo->cells.height, lh * 0.9);
  lo->col_step = qs_chart_eval_label_step (m->n, lo->cells.width, lh * 0.9);
}

static void
cell_color (const QsChartConfusion *m,
            gsize                   k,
            double                  rgb[3])
{
  if (m->mode == QS_CONFUSION_DIFFERENCE)
    qs_colormap_diverging (m->t[k], rgb);
  else
    qs_colormap_sequential (m->t[k], rgb);
}

static char *
cell_text (const QsChartConfusion *m,
           gsize                   k)
{
  gint d;

  switch (m->mode)
    {
    case QS_CONFUSION_DIFFERENCE:
      d = (gint) m->quant_counts[k] - (gint) m->float_counts[k];
      /* Translators: a signed count difference in a chart cell; − is U+2212 */
      return d == 0 ? NULL : d > 0 ? g_strdup_printf ("+%d", d) : g_strdup_printf ("−%d", -d);
    case QS_CONFUSION_QUANT:
      return m->quant_counts[k] ? g_strdup_printf ("%u", m->quant_counts[k]) : NULL;
    case QS_CONFUSION_FLOAT:
    default:
      return m->float_counts[k] ? g_strdup_printf ("%u", m->float_counts[k]) : NULL;
    }
}

static void
draw_colour_bar (cairo_t                *cr,
                 const QsChartConfusion *m,
                 const ConfusionLayout  *lo,
                 double                  width,
                 double                  height,
                 const QsChartStyle     *style)
{
  double bx = lo->x0 + 8.0 * style->font_scale, by = height - lo->legend_h + 4 * style->font_scale;
  double bw = MIN (MAX (lo->cells.width, 160 * style->font_scale), 280 * style->font_scale);
  double bh = _qs_chart_line_height (style) * 0.7;
  gboolean diff = m->mode == QS_CONFUSION_DIFFERENCE;
  cairo_pattern_t *pat;
  g_autofree char *lo_text = NULL, *hi_text = NULL;
  const char *what;

  bx = MIN (bx, MAX (width - bw - 8, 0));
  pat = cairo_pattern_create_linear (bx, 0, bx + bw, 0);
  for (guint i = 0; i <= 16; i++)
    {
      double rgb[3], t = i / 16.0;

      if (diff)
        qs_colormap_diverging (2 * t - 1, rgb);
      else
        qs_colormap_sequential (t, rgb);
      cairo_pattern_add_color_stop_rgb (pat, t, rgb[0], rgb[1], rgb[2]);
    }
  cairo_set_source (cr, pat);
  cairo_rectangle (cr, bx, by, bw, bh);
  cairo_fill (cr);
  cairo_pattern_destroy (pat);
  _qs_chart_set_color (cr, &style->fg, 0.75);
  if (diff)
    {
      lo_text = g_strdup_printf ("−%d", m->limit);
      hi_text = g_strdup_printf ("+%d", m->limit);
      _qs_chart_text (cr, style, bx + bw / 2, by + bh + 2, 0.5, 0.0, 0.9, FALSE, "0");
      what = _("Quantized minus float, images per cell");
    }
  else
    {
      lo_text = g_strdup ("0 %");
      hi_text = g_strdup ("100 %");
      _qs_chart_text (cr, style, bx + bw / 4, by + bh + 2, 0.5, 0.0, 0.9, FALSE, "6 %");
      what = m->mode == QS_CONFUSION_QUANT
        ? _("Quantized: share of the true class (square-root scale)")
        : _("Float: share of the true class (square-root scale)");
    }
  _qs_chart_text (cr, style, bx, by + bh + 2, 0.0, 0.0, 0.9, FALSE, lo_text);
  _qs_chart_text (cr, style, bx + bw, by + bh + 2, 1.0, 0.0, 0.9, FALSE, hi_text);
  _qs_chart_text_fit (cr, style, bx + bw + 12, by + bh / 2, 0.5, 0.9, FALSE, what,
                      width - (bx + bw + 12) - 8);
}

void
qs_chart_draw_confusion (cairo_t                *cr,
                         double                  width,
                         double                  height,
                         const QsChartConfusion *m,
                         gint                    hover,
                         const char             *title,
                         const QsChartStyle     *style)
{
  ConfusionLayout lo;
  double top, lh, pad;

  g_return_if_fail (cr != NULL && style != NULL);

  lh = _qs_chart_line_height (style);
  pad = 8.0 * style->font_scale;
  if (style->draw_background)
    _qs_chart_draw_background (cr, width, height, style);
  top = _qs_chart_draw_title (cr, width, title, style);
  if (m == NULL)
    {
      _qs_chart_draw_message (cr, width, height, _("No labelled evaluation yet"), style);
      return;
    }
  confusion_layout (cr, m, width, height, top, style, &lo);

  /* axis titles */
  _qs_chart_set_color (cr, &style->fg, 0.85);
  _qs_chart_text (cr, style, lo.cells.x + lo.cells.width / 2, top, 0.5, 0.0, 1.0, TRUE,
                  _("Predicted class"));
  cairo_save (cr);
  cairo_translate (cr, lo.x0 + pad, lo.cells.y + lo.cells.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  _qs_chart_text (cr, style, 0, 0, 0.5, 0.0, 1.0, TRUE, _("True class"));
  cairo_restore (cr);

  /* class names, thinned out */
  _qs_chart_set_color (cr, &style->fg, 0.8);
  for (guint r = 0; r < m->n; r += lo.row_step)
    _qs_chart_text_fit (cr, style, lo.x0 + pad + lh, lo.cells.y + (r + 0.5) * lo.cell, 0.5, 0.9, FALSE,
                        m->names[r], lo.label_w - lh - pad / 2);
  for (guint c = 0; c < m->n; c += lo.col_step)
    {
      cairo_save (cr);
      cairo_translate (cr, lo.cells.x + (c + 0.5) * lo.cell, lo.cells.y - pad / 2);
      cairo_rotate (cr, -G_PI / 2);
      _qs_chart_text_fit (cr, style, 0, 0, 0.5, 0.9, FALSE, m->names[c], lo.header_h - lh - pad / 2);
      cairo_restore (cr);
    }

  /* cells */
  for (guint r = 0; r < m->n; r++)
    for (guint c = 0; c < m->n; c++)
      {
        gsize k = (gsize) r * m->n + c;
        double rgb[3], x = lo.cells.x + c * lo.cell, y = lo.cells.y + r * lo.cell;
        double gap = lo.cell >= 6 ? 0.5 : 0.0, tw, th;
        g_autofree char *text = NULL;

        cell_color (m, k, rgb);
        cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle (cr, x + gap, y + gap, lo.cell - 2 * gap, lo.cell - 2 * gap);
        cairo_fill (cr);
        if (lo.cell < lh || (text = cell_text (m, k)) == NULL)
          continue;
        _qs_chart_text_extents (cr, style, 0.85, FALSE, text, &tw, &th);
        if (tw + 4 > lo.cell || th > lo.cell)
          continue;
        /* black on the light colours, white on the dark ones */
        if (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] > 0.45)
          cairo_set_source_rgb (cr, 0, 0, 0);
        else
          cairo_set_source_rgb (cr, 1, 1, 1);
        _qs_chart_text (cr, style, x + lo.cell / 2, y + lo.cell / 2, 0.5, 0.5, 0.85, r == c, text);
      }
  /* the diagonal and the hovered cell */
  _qs_chart_set_color (cr, &style->fg, 0.35);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, lo.cells.x - 0.5, lo.cells.y - 0.5, lo.cells.width + 1, lo.cells.height + 1);
  cairo_stroke (cr);
  if (hover >= 0 && (guint) hover < m->n * m->n)
    {
      guint r = hover / m->n, c = hover % m->n;

      _qs_chart_set_color (cr, &style->fg, 1.0);
      cairo_set_line_width (cr, 2.0);
      cairo_rectangle (cr, lo.cells.x + c * lo.cell, lo.cells.y + r * lo.cell, lo.cell, lo.cell);
      cairo_stroke (cr);
    }
  draw_colour_bar (cr, m, &lo, width, height, style);
}

gint
qs_chart_confusion_cell_at (const QsChartConfusion *m,
                            double                  width,
                            double                  height,
                            const QsChartStyle     *style,
                            double                  x,
                            double                  y)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  ConfusionLayout lo;
  double top;
  guint r, c;

  if (m == NULL)
    return -1;
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (surface);
  top = _qs_chart_draw_title (cr, width, NULL, style);
  confusion_layout (cr, m, width, height, top, style, &lo);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  if (x < lo.cells.x || y < lo.cells.y || x >= lo.cells.x + lo.cells.width
      || y >= lo.cells.y + lo.cells.height)
    return -1;
  c = MIN ((guint) ((x - lo.cells.x) / lo.cell), m->n - 1);
  r = MIN ((guint) ((y - lo.cells.y) / lo.cell), m->n - 1);
  return (gint) (r * m->n + c);
}

char *
qs_chart_confusion_describe_cell (const QsChartConfusion *m,
                                  guint                   row,
                                  guint                   col)
{
  gsize k;
  guint total;

  g_return_val_if_fail (m != NULL && row < m->n && col < m->n, NULL);

  k = (gsize) row * m->n + col;
  total = MAX (m->row_totals[row], 1);
  if (!m->has_quant)
    /* Translators: a confusion matrix cell: true class, predicted class, images */
    return g_strdup_printf (_("True %s, predicted %s\nFloat: %u of %u images (%.1f%%)"),
                            m->names[row], m->names[col], m->float_counts[k], m->row_totals[row],
                            100.0 * m->float_counts[k] / total);
  return g_strdup_printf (_("True %s, predicted %s\nFloat: %u of %u images (%.1f%%)\n"
                            "Quantized: %u (%.1f%%), %+d"),
                          m->names[row], m->names[col], m->float_counts[k], m->row_totals[row],
                          100.0 * m->float_counts[k] / total, m->quant_counts[k],
                          100.0 * m->quant_counts[k] / total,
                          (gint) m->quant_counts[k] - (gint) m->float_counts[k]);
}

/* --- export --- */

typedef struct
{
  gboolean                confusion;
  const QsChartConfusion *m;
  const QsChartClasses   *classes;
} EvalExport;

static void
export_draw (cairo_t            *cr,
             double              width,
             double              height,
             const char         *title,
             const QsChartStyle *style,
             gpointer            data)
{
  EvalExport *e = data;

  if (e->confusion)
    qs_chart_draw_confusion (cr, width, height, e->m, -1, title, style);
  else
    qs_chart_draw_classes (cr, width, height, e->classes, -1, title, style);
}

gboolean
qs_chart_export_eval (const char            *kind,
                      const QsChartEvalData *data,
                      QsConfusionMode        mode,
                      const QsChartStyle    *style,
                      const char            *title,
                      const char            *path,
                      int                    width,
                      int                    height,
                      double                 scale,
                      GError               **error)
{
  g_autoptr(QsChartConfusion) m = NULL;
  g_autoptr(QsChartClasses) classes = NULL;
  EvalExport e = { 0 };

  g_return_val_if_fail (kind != NULL && data != NULL && path != NULL, FALSE);

  if (!g_str_equal (kind, "confusion") && !g_str_equal (kind, "classes"))
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Unknown chart kind “%s”: use confusion or classes"), kind);
      return FALSE;
    }
  e.confusion = g_str_equal (kind, "confusion");
  if (e.confusion)
    e.m = m = qs_chart_confusion_new (data, mode);
  else
    e.classes = classes = qs_chart_classes_new (data);
  if (m == NULL && classes == NULL)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Nothing to export to “%s”: the evaluation has no labelled classes"), path);
      return FALSE;
    }
  return _qs_chart_export_drawing (export_draw, &e, style, title, path, width, height, scale,
                                   error);
}
