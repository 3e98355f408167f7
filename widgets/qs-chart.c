/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <pango/pangocairo.h>

#include "qs-chart-private.h"

#define BASE_FONT_PT 9.0

G_DEFINE_QUARK (qs-chart-error-quark, qs_chart_error)

static void
set_rgb (QsChartColor *c,
         guint32       rgb,
         double        alpha)
{
  c->red = ((rgb >> 16) & 0xff) / 255.0f;
  c->green = ((rgb >> 8) & 0xff) / 255.0f;
  c->blue = (rgb & 0xff) / 255.0f;
  c->alpha = alpha;
}

/* libadwaita 1.2 palette: window colours, accent blue, orange 4/2, red 3/1. */
void
qs_chart_style_init_light (QsChartStyle *style)
{
  g_return_if_fail (style != NULL);

  memset (style, 0, sizeof *style);
  set_rgb (&style->fg, 0x1e1e1e, 1.0);
  set_rgb (&style->bg, 0xfafafa, 1.0);
  set_rgb (&style->grid, 0x1e1e1e, 0.12);
  set_rgb (&style->accent, 0x1c71d8, 1.0);
  set_rgb (&style->second, 0xe66100, 1.0);
  set_rgb (&style->clip, 0xc01c28, 1.0);
  style->font_scale = 1.0;
  style->line_scale = 1.0;
  style->dark = FALSE;
  style->draw_background = TRUE;
}

void
qs_chart_style_init_dark (QsChartStyle *style)
{
  g_return_if_fail (style != NULL);

  memset (style, 0, sizeof *style);
  set_rgb (&style->fg, 0xffffff, 1.0);
  set_rgb (&style->bg, 0x242424, 1.0);
  set_rgb (&style->grid, 0xffffff, 0.14);
  set_rgb (&style->accent, 0x78aeed, 1.0);
  set_rgb (&style->second, 0xffa348, 1.0);
  set_rgb (&style->clip, 0xff7b63, 1.0);
  style->font_scale = 1.0;
  style->line_scale = 1.0;
  style->dark = TRUE;
  style->draw_background = TRUE;
}

void
_qs_chart_set_color (cairo_t            *cr,
                     const QsChartColor *color,
                     double              alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

static PangoLayout *
make_layout (cairo_t            *cr,
             const QsChartStyle *style,
             double              size,
             gboolean            bold,
             const char         *text)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *desc = pango_font_description_new ();

  pango_font_description_set_family_static (desc, "Sans");
  pango_font_description_set_absolute_size (desc, BASE_FONT_PT * 96.0 / 72.0 * size *
                                                  style->font_scale * PANGO_SCALE);
  if (bold)
    pango_font_description_set_weight (desc, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);
  pango_layout_set_text (layout, text, -1);
  return layout;
}

void
_qs_chart_text_extents (cairo_t            *cr,
                        const QsChartStyle *style,
                        double              size,
                        gboolean            bold,
                        const char         *text,
                        double             *width,
                        double             *height)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, style, size, bold, text);
  PangoRectangle logical;

  pango_layout_get_extents (layout, NULL, &logical);
  if (width)
    *width = (double) logical.width / PANGO_SCALE;
  if (height)
    *height = (double) logical.height / PANGO_SCALE;
}

double
_qs_chart_text (cairo_t            *cr,
                const QsChartStyle *style,
                double              x,
                double              y,
                double              xalign,
                double              yalign,
                double              size,
                gboolean            bold,
                const char         *text)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, style, size, bold, text);
  PangoRectangle logical;
  double w, h;

  pango_layout_get_extents (layout, NULL, &logical);
  w = (double) logical.width / PANGO_SCALE;
  h = (double) logical.height / PANGO_SCALE;
  cairo_move_to (cr, round (x - w * xalign), round (y - h * yalign));
  pango_cairo_show_layout (cr, layout);
  return w;
}

double
_qs_chart_text_fit (cairo_t            *cr,
                    const QsChartStyle *style,
                    double              x,
                    double              y,
                    double              yalign,
                    double              size,
                    gboolean            bold,
                    const char         *text,
                    double              max_width)
{
  g_autoptr(PangoLayout) layout = NULL;
  PangoRectangle logical;

  if (max_width < 8.0)
    return 0.0;
  layout = make_layout (cr, style, size, bold, text);
  pango_layout_set_width (layout, (int) (max_width * PANGO_SCALE));
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_get_extents (layout, NULL, &logical);
  cairo_move_to (cr, round (x), round (y - (double) logical.height / PANGO_SCALE * yalign));
  pango_cairo_show_layout (cr, layout);
  return (double) logical.width / PANGO_SCALE;
}

double
_qs_chart_line_height (const QsChartStyle *style)
{
  /* about 1.25 em of the base font, in pixels */
  return ceil (BASE_FONT_PT * 96.0 / 72.0 * style->font_scale * 1.3);
}

char *
_qs_chart_format_value (double value)
{
  double a = fabs (value);

  if (value == 0.0)
    return g_strdup ("0");
  if (a >= 1e5 || a < 1e-3)
    return g_strdup_printf ("%.3g", value);
  if (a >= 100)
    return g_strdup_printf ("%.0f", value);
  return g_strdup_printf ("%.4g", value);
}

char *
_qs_chart_format_count (guint64 count)
{
  return g_strdup_printf ("%'" PRIu64, count);
}

static guint
nice_ticks_once (double  lo,
                 double  hi,
                 guint   max_ticks,
                 double *ticks)
{
  double span = hi - lo, raw, mag, step, first;
  guint n = 0;

  raw = span / (max_ticks - 1);
  mag = pow (10.0, floor (log10 (raw)));
  if (raw / mag <= 1.0)
    step = mag;
  else if (raw / mag <= 2.0)
    step = 2.0 * mag;
  else if (raw / mag <= 5.0)
    step = 5.0 * mag;
  else
    step = 10.0 * mag;
  first = ceil (lo / step - 1e-9) * step;
  for (double v = first; v <= hi + step * 1e-9 && n < max_ticks; v += step)
    ticks[n++] = fabs (v) < step * 1e-9 ? 0.0 : v;
  return n;
}

guint
_qs_chart_nice_ticks (double  lo,
                      double  hi,
                      guint   max_ticks,
                      double *ticks)
{
  double span = hi - lo;
  guint n;

  if (!(span > 0.0) || !isfinite (span) || max_ticks < 2)
    return 0;
  n = nice_ticks_once (lo, hi, max_ticks, ticks);
  /* a step rounded up can leave a single tick in a narrow axis: a finer step then, as
   * long as it stays within max_ticks */
  for (guint m = max_ticks + 1; n < MIN (3u, max_ticks) && m <= 2 * max_ticks + 1; m++)
    {
      double finer[64];
      guint k = nice_ticks_once (lo, hi, MIN (m, G_N_ELEMENTS (finer)), finer);

      if (k > n && k <= max_ticks)
        {
          memcpy (ticks, finer, k * sizeof (double));
          n = k;
        }
    }
  return n;
}

/* Steps q x 10^k by tier: the round ones first; a range can fall between two of them
 * (0.5 gives 9 ticks, 1 gives 4), and then the second tier still has a step in between. */
static const double tick_steps[][5] = {
  { 1.0, 2.0, 2.5, 5.0, 0.0 },
  { 4.0, 3.0, 1.5, 6.0, 8.0 },
};

guint
_qs_chart_axis_ticks (double  lo,
                      double  hi,
                      guint   min_ticks,
                      guint   max_ticks,
                      double *ticks)
{
  double span = hi - lo;

  if (!(span > 0.0) || !isfinite (span) || max_ticks < 2)
    return 0;
  min_ticks = CLAMP (min_ticks, 2, max_ticks);
  for (guint tier = 0; tier < G_N_ELEMENTS (tick_steps); tier++)
    {
      double best_step = 0.0, best_first = 0.0;
      guint best_n = 0;
      int k0 = (int) floor (log10 (span / max_ticks)) - 1;

      for (int k = k0; k <= k0 + 3; k++)
        for (guint i = 0; i < G_N_ELEMENTS (tick_steps[tier]) && tick_steps[tier][i] > 0.0; i++)
          {
            double step = tick_steps[tier][i] * pow (10.0, k);
            double first = ceil (lo / step - 1e-9), last = floor (hi / step + 1e-9);
            double n = last - first + 1;

            if (n >= min_ticks && n <= max_ticks && n > best_n)
              {
                best_n = (guint) n;
                best_step = step;
                best_first = first;
              }
          }
      if (best_n > 0)
        {
          for (guint i = 0; i < best_n; i++)
            {
              double v = (best_first + i) * best_step;

              ticks[i] = fabs (v) < best_step * 1e-9 ? 0.0 : v;
            }
          return best_n;
        }
    }
  return _qs_chart_nice_ticks (lo, hi, max_ticks, ticks);
}

gboolean
_qs_chart_rect_intersects (const QsChartRect *a,
                           const QsChartRect *b)
{
  return a->x < b->x + b->width && b->x < a->x + a->width &&
         a->y < b->y + b->height && b->y < a->y + a->height;
}

void
_qs_chart_text_rect (cairo_t            *cr,
                     const QsChartStyle *style,
                     double              x,
                     double              y,
                     double              xalign,
                     double              yalign,
                     double              size,
                     gboolean            bold,
                     const char         *text,
                     QsChartRect        *rect)
{
  double w, h;

  _qs_chart_text_extents (cr, style, size, bold, text, &w, &h);
  /* where _qs_chart_text puts it */
  rect->x = round (x - w * xalign);
  rect->y = round (y - h * yalign);
  rect->width = w;
  rect->height = h;
}

void
_qs_chart_draw_background (cairo_t            *cr,
                           double              width,
                           double              height,
                           const QsChartStyle *style)
{
  if (!style->draw_background)
    return;
  _qs_chart_set_color (cr, &style->bg, 1.0);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
}

double
_qs_chart_draw_title (cairo_t            *cr,
                      double              width,
                      const char         *title,
                      const QsChartStyle *style)
{
  double pad = 8.0 * style->font_scale, h;

  if (title == NULL || *title == '\0')
    return pad;
  _qs_chart_set_color (cr, &style->fg, 1.0);
  _qs_chart_text_extents (cr, style, 1.3, TRUE, title, NULL, &h);
  _qs_chart_text (cr, style, width / 2, pad, 0.5, 0.0, 1.3, TRUE, title);
  return pad + h + pad / 2;
}

void
_qs_chart_draw_message (cairo_t            *cr,
                        double              width,
                        double              height,
                        const char         *message,
                        const QsChartStyle *style)
{
  _qs_chart_set_color (cr, &style->fg, 0.55);
  _qs_chart_text (cr, style, width / 2, height / 2, 0.5, 0.5, 1.1, FALSE, message);
}

double
_qs_chart_legend_item (cairo_t            *cr,
                       const QsChartStyle *style,
                       double              x,
                       double              y,
                       double              right,
                       const QsChartColor *color,
                       double              alpha,
                       int                 kind,
                       const char         *label)
{
  double lh = _qs_chart_line_height (style), sw = lh * 0.8, w;

  if (kind < 0)
    {
      /* text only */
      _qs_chart_set_color (cr, &style->fg, 0.85);
      w = _qs_chart_text_fit (cr, style, x, y + lh * 0.5, 0.5, 1.0, FALSE, label, right - x);
      return x + w + lh;
    }
  if (x + sw + lh * 2 > right)
    return x;
  cairo_new_path (cr);   /* no line from where the last text ended */
  _qs_chart_set_color (cr, color, alpha);
  if (kind == 0)
    {
      cairo_rectangle (cr, x, y + lh * 0.2, sw, lh * 0.6);
      cairo_fill (cr);
    }
  else if (kind == 1)
    {
      cairo_set_line_width (cr, 2.0 * style->font_scale);
      cairo_move_to (cr, x, y + lh * 0.5);
      cairo_line_to (cr, x + sw, y + lh * 0.5);
      cairo_stroke (cr);
    }
  else if (kind == 3)
    {
      double dash[] = { 4.0 * style->font_scale, 2.0 * style->font_scale };

      cairo_set_line_width (cr, 2.0 * style->font_scale);
      cairo_set_dash (cr, dash, 2, 0);
      cairo_move_to (cr, x, y + lh * 0.5);
      cairo_line_to (cr, x + sw, y + lh * 0.5);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
  else if (kind == 4)
    {
      _qs_chart_set_color (cr, &style->bg, 1.0);
      cairo_arc (cr, x + sw / 2, y + lh * 0.5, 3.5 * style->font_scale, 0, 2 * G_PI);
      cairo_fill_preserve (cr);
      _qs_chart_set_color (cr, color, alpha);
      cairo_set_line_width (cr, 1.5 * style->font_scale);
      cairo_stroke (cr);
    }
  else
    {
      cairo_arc (cr, x + sw / 2, y + lh * 0.5, 3.5 * style->font_scale, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  _qs_chart_set_color (cr, &style->fg, 0.85);
  w = _qs_chart_text_fit (cr, style, x + sw + lh * 0.3, y + lh * 0.5, 0.5, 1.0, FALSE, label,
                          right - (x + sw + lh * 0.3));
  return x + sw + lh * 0.3 + w + lh;
}

void
_qs_chart_legend_entry_clear (gpointer data)
{
  g_free (((QsChartLegendEntry *) data)->text);
}

void
_qs_chart_legend_add (GArray             *entries,
                      const QsChartColor *color,
                      double              alpha,
                      int                 kind,
                      const char         *text)
{
  QsChartLegendEntry entry = { color, alpha, kind, g_strdup (text), { 0 }, FALSE, 0 };

  g_array_append_val (entries, entry);
}

static PangoLayout *
note_layout (cairo_t            *cr,
             const QsChartStyle *style,
             const char         *text,
             double              width)
{
  PangoLayout *layout = make_layout (cr, style, 1.0, FALSE, text);

  pango_layout_set_width (layout, (int) (MAX (width, 1.0) * PANGO_SCALE));
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_height (layout, -3);   /* three lines at most, the last ellipsized */
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  return layout;
}

double
_qs_chart_legend_flow (cairo_t            *cr,
                       const QsChartStyle *style,
                       double              x0,
                       double              y0,
                       double              right,
                       GArray             *entries)
{
  double lh = _qs_chart_line_height (style), sw = lh * 0.8, x = x0, y = y0;
  gboolean row_empty = TRUE;

  for (guint i = 0; i < entries->len; i++)
    {
      QsChartLegendEntry *e = &g_array_index (entries, QsChartLegendEntry, i);
      double tw = 0, th = 0, w;

      if (e->kind == -2)
        {
          /* a row break */
          if (!row_empty)
            {
              x = x0;
              y += lh;
              row_empty = TRUE;
            }
          continue;
        }
      if (e->color == NULL)
        {
          /* a note: wrapped on rows of its own */
          g_autoptr(PangoLayout) layout = note_layout (cr, style, e->text, right - x0);
          PangoRectangle logical;

          if (!row_empty)
            y += lh;
          pango_layout_get_extents (layout, NULL, &logical);
          e->rect.x = x0;
          e->rect.y = y;
          e->rect.width = MIN ((double) logical.width / PANGO_SCALE, right - x0);
          e->rect.height = (double) logical.height / PANGO_SCALE;
          e->wrap_width = right - x0;
          e->ellipsized = pango_layout_is_ellipsized (layout);
          e->n_lines = pango_layout_get_line_count (layout);
          y += MAX (lh, e->rect.height);
          x = x0;
          row_empty = TRUE;
          continue;
        }
      _qs_chart_text_extents (cr, style, 1.0, FALSE, e->text, &tw, &th);
      w = (e->kind < 0 ? 0.0 : sw + lh * 0.3) + tw;
      if (!row_empty && x + w > right)
        {
          x = x0;
          y += lh;
          row_empty = TRUE;
        }
      e->rect.x = x;
      e->rect.y = y;
      e->n_lines = 1;
      if (w > right - x)
        {
          /* longer than a row: the text wraps beside its swatch, rows of its own */
          double indent = e->kind < 0 ? 0.0 : sw + lh * 0.3;
          g_autoptr(PangoLayout) layout = note_layout (cr, style, e->text, right - x - indent);
          PangoRectangle logical;

          pango_layout_get_extents (layout, NULL, &logical);
          e->wrap_width = right - x - indent;
          e->n_lines = pango_layout_get_line_count (layout);
          e->ellipsized = pango_layout_is_ellipsized (layout);
          e->rect.width = MIN (indent + (double) logical.width / PANGO_SCALE, right - x);
          e->rect.height = MAX (lh, (double) logical.height / PANGO_SCALE);
          y += e->rect.height;
          x = x0;
          row_empty = TRUE;
          continue;
        }
      e->rect.width = w;
      e->rect.height = lh;
      e->ellipsized = FALSE;
      x += w + lh;
      row_empty = FALSE;
    }
  if (!row_empty)
    y += lh;
  return y - y0;
}

void
_qs_chart_legend_draw (cairo_t            *cr,
                       const QsChartStyle *style,
                       GArray             *entries)
{
  for (guint i = 0; i < entries->len; i++)
    {
      const QsChartLegendEntry *e = &g_array_index (entries, QsChartLegendEntry, i);

      if (e->kind == -2)
        continue;
      if (e->color != NULL && e->n_lines > 1)
        {
          /* the swatch, then the text wrapped beside it */
          double lh = _qs_chart_line_height (style), indent = e->kind < 0 ? 0.0 : lh * 1.1;
          g_autoptr(PangoLayout) layout = note_layout (cr, style, e->text, e->wrap_width);

          if (e->kind >= 0)
            _qs_chart_legend_item (cr, style, e->rect.x, e->rect.y, e->rect.x + lh * 3,
                                   e->color, e->alpha, e->kind, "");
          _qs_chart_set_color (cr, &style->fg, 0.85);
          cairo_move_to (cr, round (e->rect.x + indent), round (e->rect.y));
          pango_cairo_show_layout (cr, layout);
          continue;
        }
      if (e->color == NULL)
        {
          g_autoptr(PangoLayout) layout = note_layout (cr, style, e->text, e->wrap_width);

          _qs_chart_set_color (cr, &style->fg, 0.8);
          cairo_move_to (cr, round (e->rect.x), round (e->rect.y));
          pango_cairo_show_layout (cr, layout);
          continue;
        }
      _qs_chart_legend_item (cr, style, e->rect.x, e->rect.y, e->rect.x + e->rect.width + 1,
                             e->color, e->alpha, e->kind, e->text);
    }
}

/* --- public entry points --- */

void
qs_chart_draw_histogram (cairo_t            *cr,
                         double              width,
                         double              height,
                         QsQuantResult      *result,
                         gint                channel,
                         gboolean            log_scale,
                         const QsChartStyle *style)
{
  g_autoptr(QsChartHistogram) hist = NULL;
  guint bins;

  g_return_if_fail (cr != NULL);
  g_return_if_fail (result != NULL);
  g_return_if_fail (style != NULL);

  bins = (guint) CLAMP (width / 3.0, 16, 512);
  hist = _qs_chart_histogram_new (result, channel, bins);
  _qs_chart_histogram_draw (cr, width, height, hist, log_scale, -1, NULL, style);
}

/* Resolution of the heatmap image for a target: device pixels for image surfaces, twice
 * the size for vector surfaces (viewers zoom in). */
static double
target_pixel_scale (cairo_t *cr)
{
  cairo_surface_t *target = cairo_get_target (cr);
  double sx = 1.0, sy = 1.0;

  if (cairo_surface_get_type (target) != CAIRO_SURFACE_TYPE_IMAGE)
    return 2.0;
  cairo_surface_get_device_scale (target, &sx, &sy);
  return MAX (sx, 1.0);
}

static void
draw_heatmap_full (cairo_t              *cr,
                   double                width,
                   double                height,
                   QsQuantResult        *result,
                   QsMapValue            mode,
                   const QsChartOptions *options,
                   const char           *title,
                   const QsChartStyle   *style)
{
  g_autoptr(QsChartHeatmap) heatmap = _qs_chart_heatmap_new (result, mode);
  g_autoptr(QsErrorMap) map = NULL;
  cairo_surface_t *image = NULL;
  QsChartWindow window;
  QsChartRect plot;
  double scale = target_pixel_scale (cr);

  _qs_chart_heatmap_full_window (heatmap, &window);
  if (options != NULL && options->rows > 0 && options->cols > 0 && heatmap->rows > 0 &&
      heatmap->cols > 0)
    {
      window.rows = MIN (options->rows, heatmap->rows);
      window.cols = MIN (options->cols, heatmap->cols);
      window.row0 = MIN (options->row0, heatmap->rows - window.rows);
      window.col0 = MIN (options->col0, heatmap->cols - window.cols);
    }
  _qs_chart_heatmap_layout (heatmap, width, height, title, style, &plot);
  if (heatmap->available && plot.width >= 1 && plot.height >= 1)
    {
      guint pw = (guint) ceil (plot.width * scale), ph = (guint) ceil (plot.height * scale);

      map = _qs_chart_heatmap_compute_map (heatmap, &window, pw, ph);
      image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, pw, ph);
      cairo_surface_flush (image);
      _qs_chart_heatmap_render (heatmap, map, (guint32 *) cairo_image_surface_get_data (image),
                                cairo_image_surface_get_stride (image), pw, ph);
      cairo_surface_mark_dirty (image);
    }
  _qs_chart_heatmap_draw (cr, width, height, heatmap, &window, image,
                          image ? cairo_image_surface_get_width (image) : 0,
                          image ? cairo_image_surface_get_height (image) : 0, title, style);
  if (image != NULL)
    _qs_chart_heatmap_draw_overlay (cr, heatmap, &plot, &window, FALSE, 0, 0, style);
  g_clear_pointer (&image, cairo_surface_destroy);
}

void
qs_chart_draw_heatmap (cairo_t            *cr,
                       double              width,
                       double              height,
                       QsQuantResult      *result,
                       QsMapValue          mode,
                       const QsChartStyle *style)
{
  g_return_if_fail (cr != NULL);
  g_return_if_fail (result != NULL);
  g_return_if_fail (style != NULL);

  draw_heatmap_full (cr, width, height, result, mode, NULL, NULL, style);
}

void
qs_chart_draw_channels (cairo_t            *cr,
                        double              width,
                        double              height,
                        QsQuantResult      *result,
                        const QsChartStyle *style)
{
  g_autoptr(QsChartChannels) channels = NULL;

  g_return_if_fail (cr != NULL);
  g_return_if_fail (result != NULL);
  g_return_if_fail (style != NULL);

  channels = _qs_chart_channels_new (result);
  _qs_chart_channels_draw (cr, width, height, channels, FALSE, -1, NULL, style);
}

/* --- export --- */

void
qs_chart_options_init (QsChartOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->channel = -1;
  options->mode = QS_MAP_VALUE_ERROR;
}

typedef struct
{
  GOutputStream *stream;
  GError        *error;
} StreamClosure;

static cairo_status_t
write_to_stream (void                *closure,
                 const unsigned char *data,
                 unsigned int         length)
{
  StreamClosure *sc = closure;

  if (sc->error != NULL)
    return CAIRO_STATUS_WRITE_ERROR;
  if (!g_output_stream_write_all (sc->stream, data, length, NULL, NULL, &sc->error))
    return CAIRO_STATUS_WRITE_ERROR;
  return CAIRO_STATUS_SUCCESS;
}

static void
draw_kind (cairo_t              *cr,
           const char           *kind,
           QsQuantResult        *result,
           const QsChartOptions *options,
           const QsChartStyle   *style,
           const char           *title,
           double                width,
           double                height)
{
  if (g_str_equal (kind, "histogram"))
    {
      g_autoptr(QsChartHistogram) hist = NULL;

      hist = _qs_chart_histogram_new (result, options->channel, (guint) CLAMP (width / 3.0, 16, 512));
      _qs_chart_histogram_draw (cr, width, height, hist, options->log_scale, -1, title, style);
    }
  else if (g_str_equal (kind, "heatmap"))
    {
      draw_heatmap_full (cr, width, height, result, options->mode, options, title, style);
    }
  else
    {
      g_autoptr(QsChartChannels) channels = _qs_chart_channels_new (result);

      _qs_chart_channels_draw (cr, width, height, channels, options->sorted, -1, title, style);
    }
}


gboolean
_qs_chart_export_drawing (QsChartDrawFunc     draw,
                          gpointer            data,
                          const QsChartStyle *style_or_null,
                          const char         *title,
                          const char         *path,
                          int                 width,
                          int                 height,
                          double              scale,
                          GError            **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileOutputStream) out = NULL;
  g_autoptr(GCancellable) cancel = NULL;
  g_autofree char *lower = NULL;
  QsChartStyle light;
  const QsChartStyle *style;
  StreamClosure sc = { NULL, NULL };
  cairo_surface_t *surface = NULL;
  cairo_status_t status;
  cairo_t *cr;
  gboolean existed;
  enum { PNG, SVG, PDF } format;

  if (style_or_null != NULL)
    style = style_or_null;
  else
    {
      qs_chart_style_init_light (&light);
      style = &light;
    }

  if (width < 16 || height < 16 || width > 16384 || height > 16384 ||
      !(scale >= 0.25 && scale <= 8.0) || width * scale > 32767 || height * scale > 32767)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Cannot export “%s” at %d × %d with scale %g: sizes must be 16 to 16384 "
                     "and the scale 0.25 to 8"), path, width, height, scale);
      return FALSE;
    }
  lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".png"))
    format = PNG;
  else if (g_str_has_suffix (lower, ".svg"))
    format = SVG;
  else if (g_str_has_suffix (lower, ".pdf"))
    format = PDF;
  else
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_FORMAT,
                   _("Cannot export “%s”: the file name must end in .png, .svg or .pdf"), path);
      return FALSE;
    }

  file = g_file_new_for_path (path);
  existed = g_file_query_exists (file, NULL);
  out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL, error);
  if (out == NULL)
    {
      g_prefix_error (error, _("Cannot export the chart to “%s”: "), path);
      return FALSE;
    }
  sc.stream = G_OUTPUT_STREAM (out);

  switch (format)
    {
    case PNG:
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) ceil (width * scale),
                                            (int) ceil (height * scale));
      cairo_surface_set_device_scale (surface, scale, scale);
      break;
    case SVG:
      surface = cairo_svg_surface_create_for_stream (write_to_stream, &sc, width, height);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PX);
      break;
    case PDF:
      surface = cairo_pdf_surface_create_for_stream (write_to_stream, &sc, width, height);
      if (title != NULL)
        cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Quantscope");
      break;
    default:
      g_assert_not_reached ();
    }

  cr = cairo_create (surface);
  draw (cr, width, height, title, style, data);
  cairo_show_page (cr);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS && format == PNG)
    status = cairo_surface_write_to_png_stream (surface, write_to_stream, &sc);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS || sc.error != NULL)
    {
      cancel = g_cancellable_new ();
      g_cancellable_cancel (cancel);
      g_output_stream_close (G_OUTPUT_STREAM (out), cancel, NULL);
      /* a new file is written in place: do not leave a truncated one behind */
      if (!existed)
        g_file_delete (file, NULL, NULL);
      if (sc.error != NULL)
        {
          g_propagate_prefixed_error (error, sc.error, _("Cannot write the chart to “%s”: "), path);
        }
      else
        g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_WRITE,
                     _("Cannot write the chart to “%s”: %s"), path, cairo_status_to_string (status));
      return FALSE;
    }
  if (!g_output_stream_close (G_OUTPUT_STREAM (out), NULL, error))
    {
      g_prefix_error (error, _("Cannot write the chart to “%s”: "), path);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  const char           *kind;
  QsQuantResult        *result;
  const QsChartOptions *options;
} KindDraw;

static void
draw_kind_cb (cairo_t            *cr,
              double              width,
              double              height,
              const char         *title,
              const QsChartStyle *style,
              gpointer            data)
{
  KindDraw *kd = data;

  draw_kind (cr, kd->kind, kd->result, kd->options, style, title, width, height);
}

static gboolean
check_kind (const char  *kind,
            GError     **error)
{
  if (!g_str_equal (kind, "histogram") && !g_str_equal (kind, "heatmap") &&
      !g_str_equal (kind, "channels"))
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Unknown chart kind “%s”: use histogram, heatmap or channels"), kind);
      return FALSE;
    }
  return TRUE;
}

gboolean
qs_chart_draw_figure (cairo_t              *cr,
                      const char           *kind,
                      QsQuantResult        *result,
                      const QsChartOptions *options,
                      const char           *title,
                      double                width,
                      double                height,
                      GError              **error)
{
  QsChartOptions defaults;
  QsChartStyle light;
  const QsChartStyle *style;

  g_return_val_if_fail (cr != NULL, FALSE);
  g_return_val_if_fail (kind != NULL, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (options == NULL)
    {
      qs_chart_options_init (&defaults);
      options = &defaults;
    }
  if (!check_kind (kind, error))
    return FALSE;
  style = options->style;
  if (style == NULL)
    {
      qs_chart_style_init_light (&light);
      style = &light;
    }
  cairo_save (cr);
  draw_kind (cr, kind, result, options, style, title, width, height);
  cairo_restore (cr);
  return TRUE;
}

gboolean
qs_chart_export_full (const char           *kind,
                      QsQuantResult        *result,
                      const QsChartOptions *options,
                      const char           *title,
                      const char           *path,
                      int                   width,
                      int                   height,
                      double                scale,
                      GError              **error)
{
  QsChartOptions defaults;
  KindDraw kd;

  g_return_val_if_fail (kind != NULL, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (options == NULL)
    {
      qs_chart_options_init (&defaults);
      options = &defaults;
    }
  if (!check_kind (kind, error))
    return FALSE;
  kd.kind = kind;
  kd.result = result;
  kd.options = options;
  return _qs_chart_export_drawing (draw_kind_cb, &kd, options->style, title, path, width, height,
                                   scale, error);
}

gboolean
qs_chart_export (const char    *kind,
                 QsQuantResult *result,
                 const char    *title,
                 const char    *path,
                 int            width,
                 int            height,
                 double         scale,
                 GError       **error)
{
  return qs_chart_export_full (kind, result, NULL, title, path, width, height, scale, error);
}
