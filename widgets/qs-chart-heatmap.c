/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-colormap.h"
#include "qs-chart-private.h"

#define LUT_SIZE 1024

const char *
_qs_chart_map_value_label (QsMapValue mode)
{
  switch (mode)
    {
    case QS_MAP_VALUE_ERROR:
      return _("signed error q(x) − x");
    case QS_MAP_VALUE_ABS_ERROR:
      return _("absolute error |q(x) − x|");
    case QS_MAP_VALUE_REL_ERROR:
      return _("relative error |q(x) − x| / |x|");
    case QS_MAP_VALUE_WEIGHT:
      return _("weight value x");
    case QS_MAP_VALUE_CODE:
      return _("integer code");
    default:
      return "";
    }
}

QsChartHeatmap *
_qs_chart_heatmap_new (QsQuantResult *result,
                       QsMapValue     mode)
{
  QsChartHeatmap *hm = g_new0 (QsChartHeatmap, 1);
  QsTensor *input = result->input;
  QsQuantParams *params = result->params;
  gboolean int_codes = params != NULL && (params->spec.format == QS_FORMAT_INT ||
                                          params->spec.format == QS_FORMAT_BINARY ||
                                          params->spec.format == QS_FORMAT_TERNARY);
  double L;

  hm->result = qs_quant_result_ref (result);
  hm->mode = mode;
  qs_tensor_matrix_shape (input, &hm->rows, &hm->cols);
  hm->tile_h = hm->tile_w = 1;
  if (input->n_dims == 4 && (input->layout == QS_TENSOR_LAYOUT_CONV2D ||
                             input->layout == QS_TENSOR_LAYOUT_DEPTHWISE))
    {
      hm->tile_h = input->shape[0];
      hm->tile_w = input->shape[1];
    }

  switch (mode)
    {
    case QS_MAP_VALUE_ERROR:
    case QS_MAP_VALUE_ABS_ERROR:
      hm->available = result->dequant != NULL;
      L = result->stats.max_abs_error;
      if (!(L > 0.0) || !isfinite (L))
        L = 1.0;
      hm->diverging = mode == QS_MAP_VALUE_ERROR;
      hm->vmin = hm->diverging ? -L : 0.0;
      hm->vmax = L;
      break;
    case QS_MAP_VALUE_REL_ERROR:
      hm->available = result->dequant != NULL;
      L = 0.0;
      if (hm->available)
        {
          /* the same eps as qs_error_map_compute: 1e-6 of the largest |x| */
          double eps = MAX (1e-6 * MAX (fabs (result->stats.min), fabs (result->stats.max)), FLT_MIN);

          for (gsize i = 0; i < input->n_elements; i++)
          {
            double x = input->data[i], r = fabs ((double) result->dequant->data[i] - x) / (fabs (x) + eps);
            if (isfinite (r) && r > L)
              L = r;
          }
        }
      if (L > 1.0)
        {
          L = 1.0;
          hm->vmax_clamped = TRUE;
        }
      hm->vmin = 0.0;
      hm->vmax = L > 0.0 ? L : 1.0;
      break;
    case QS_MAP_VALUE_WEIGHT:
      hm->available = TRUE;
      L = MAX (fabs (result->stats.min), fabs (result->stats.max));
      hm->diverging = TRUE;
      hm->vmin = -(L > 0.0 ? L : 1.0);
      hm->vmax = L > 0.0 ? L : 1.0;
      break;
    case QS_MAP_VALUE_CODE:
    default:
      hm->available = result->codes != NULL && int_codes;
      hm->vmin = params ? params->qmin : 0;
      hm->vmax = params ? params->qmax : 1;
      if (!(hm->vmax > hm->vmin))
        hm->vmax = hm->vmin + 1;
      break;
    }
  if (hm->rows == 0 || hm->cols == 0)
    hm->available = FALSE;
  qs_colormap_fill_lut (hm->diverging, hm->lut, LUT_SIZE);
  return hm;
}

void
_qs_chart_heatmap_free (QsChartHeatmap *hm)
{
  if (hm == NULL)
    return;
  qs_quant_result_unref (hm->result);
  g_free (hm);
}

void
_qs_chart_heatmap_full_window (const QsChartHeatmap *hm,
                               QsChartWindow        *window)
{
  window->row0 = 0;
  window->col0 = 0;
  window->rows = hm->rows;
  window->cols = hm->cols;
}

QsChartHeatmap *
_qs_chart_heatmap_copy (const QsChartHeatmap *hm)
{
  QsChartHeatmap *copy = g_memdup2 (hm, sizeof *hm);

  qs_quant_result_ref (copy->result);
  return copy;
}

/* The result's precomputed map, when it covers this window at least as finely. */
static QsErrorMap *
precomputed_map (const QsChartHeatmap *hm,
                 const QsChartWindow  *window,
                 guint                 width,
                 guint                 height)
{
  QsErrorMap *pre = hm->result->error_map;

  width = (guint) MIN ((gsize) MAX (width, 1u), window->cols);
  height = (guint) MIN ((gsize) MAX (height, 1u), window->rows);
  if (pre != NULL && hm->mode == QS_MAP_VALUE_ERROR &&
      pre->row0 == window->row0 && pre->col0 == window->col0 &&
      pre->rows == window->rows && pre->cols == window->cols &&
      pre->width >= width && pre->height >= height && pre->width <= 4 * width &&
      pre->height <= 4 * height)
    return pre;
  return NULL;
}

gsize
_qs_chart_heatmap_map_cost (const QsChartHeatmap *hm,
                            const QsChartWindow  *window,
                            guint                 width,
                            guint                 height)
{
  if (precomputed_map (hm, window, width, height) != NULL)
    return 0;
  return window->rows * window->cols;
}

QsErrorMap *
_qs_chart_heatmap_compute_map (const QsChartHeatmap *hm,
                               const QsChartWindow  *window,
                               guint                 width,
                               guint                 height)
{
  QsQuantResult *r = hm->result;
  QsErrorMap *pre;

  g_assert (hm->available);
  pre = precomputed_map (hm, window, width, height);
  if (pre != NULL)
    return qs_error_map_ref (pre);
  width = (guint) MIN ((gsize) MAX (width, 1u), window->cols);
  height = (guint) MIN ((gsize) MAX (height, 1u), window->rows);

  return qs_error_map_compute (r->input, r->dequant ? r->dequant->data : NULL, r->codes, hm->mode,
                               window->row0, window->col0, window->rows, window->cols,
                               width, height);
}

static inline guint32
lut_color (const QsChartHeatmap *hm,
           float                 v)
{
  double t;
  int i;

  if (isnan (v))
    return 0xff808080u;
  if (hm->diverging)
    t = (v / hm->vmax + 1.0) * 0.5;
  else
    t = (v - hm->vmin) / (hm->vmax - hm->vmin);
  i = (int) (t * (LUT_SIZE - 1) + 0.5);
  return hm->lut[CLAMP (i, 0, LUT_SIZE - 1)];
}

guint32
_qs_chart_heatmap_color_of (const QsChartHeatmap *hm,
                            double                value)
{
  return lut_color (hm, (float) value);
}

void
_qs_chart_heatmap_render (const QsChartHeatmap *hm,
                          const QsErrorMap     *map,
                          guint32              *pixels,
                          gsize                 stride_bytes,
                          guint                 width,
                          guint                 height)
{
  g_autofree guint *c0 = g_new (guint, width + 1);
  g_autofree guint *r0 = g_new (guint, height + 1);
  guint mw = map->width, mh = map->height;

  /* cell span of every output column and row: nearest cell when enlarging, the cells the
   * pixel covers when shrinking (then reduced by signed max-abs like the map itself) */
  for (guint x = 0; x <= width; x++)
    c0[x] = (guint) ((guint64) x * mw / width);
  for (guint y = 0; y <= height; y++)
    r0[y] = (guint) ((guint64) y * mh / height);

  for (guint y = 0; y < height; y++)
    {
      guint32 *row = (guint32 *) ((guint8 *) pixels + y * stride_bytes);
      guint ya = MIN (r0[y], mh - 1), yb = MAX (r0[y + 1], ya + 1);

      if (mw == width && yb == ya + 1)
        {
          const float *src = map->max_abs + (gsize) ya * mw;
          for (guint x = 0; x < width; x++)
            row[x] = lut_color (hm, src[x]);
          continue;
        }
      for (guint x = 0; x < width; x++)
        {
          guint xa = MIN (c0[x], mw - 1), xb = MAX (c0[x + 1], xa + 1);
          float best = map->max_abs[(gsize) ya * mw + xa];

          for (guint yy = ya; yy < yb; yy++)
            {
              const float *src = map->max_abs + (gsize) yy * mw;
              for (guint xx = xa; xx < xb; xx++)
                if (fabsf (src[xx]) > fabsf (best))
                  best = src[xx];
            }
          row[x] = lut_color (hm, best);
        }
    }
}

void
_qs_chart_heatmap_layout (const QsChartHeatmap *hm,
                          double                width,
                          double                height,
                          const char           *title,
                          const QsChartStyle   *style,
                          QsChartRect          *plot)
{
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale;
  double top = pad;

  if (title != NULL && *title != '\0')
    top += ceil (lh * 1.3) + pad / 2;
  top += lh * 1.2;
  plot->x = pad + lh * 1.2 + lh * 2.6;
  plot->y = top;
  plot->width = MAX (1.0, width - plot->x - pad - lh * 1.2 - lh * 4.6);
  plot->height = MAX (1.0, height - top - lh * 2.4 - pad);
}

static void
draw_axis_ticks (cairo_t            *cr,
                 const QsChartStyle *style,
                 const QsChartRect  *plot,
                 gsize               start,
                 gsize               count,
                 gsize               tile,
                 gboolean            vertical)
{
  double lh = _qs_chart_line_height (style), ticks[16];
  double length = vertical ? plot->height : plot->width;
  double u0 = (double) start / tile, u1 = (double) (start + count) / tile;
  guint max_ticks = (guint) CLAMP (length / (lh * (vertical ? 2.5 : 4.5)), 2, 12), n;

  n = _qs_chart_nice_ticks (u0, u1, max_ticks, ticks);
  cairo_set_line_width (cr, 1.0);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = NULL;
      double pos;

      if (ticks[i] != floor (ticks[i]) || ticks[i] >= u1)
        continue;
      label = g_strdup_printf ("%.0f", ticks[i]);
      /* the centre of the tick's cell (or tile) */
      pos = ((ticks[i] + 0.5) * tile - start) / count;
      if (pos < 0.0 || pos > 1.0)
        continue;
      if (vertical)
        {
          double y = round (plot->y + pos * plot->height) + 0.5;
          cairo_move_to (cr, plot->x - 4, y);
          cairo_line_to (cr, plot->x, y);
          cairo_stroke (cr);
          _qs_chart_text (cr, style, plot->x - 6, y, 1.0, 0.5, 1.0, FALSE, label);
        }
      else
        {
          double x = round (plot->x + pos * plot->width) + 0.5;
          cairo_move_to (cr, x, plot->y + plot->height);
          cairo_line_to (cr, x, plot->y + plot->height + 4);
          cairo_stroke (cr);
          _qs_chart_text (cr, style, x, plot->y + plot->height + 5, 0.5, 0.0, 1.0, FALSE, label);
        }
    }
}

static char *
format_scale_value (const QsChartHeatmap *hm,
                    double                v)
{
  if (hm->mode == QS_MAP_VALUE_REL_ERROR)
    return g_strdup_printf ("%.3g %%", v * 100.0);
  if (hm->mode == QS_MAP_VALUE_CODE)
    return g_strdup_printf ("%.0f", v);
  return _qs_chart_format_value (v);
}

static void
draw_colour_bar (cairo_t              *cr,
                 const QsChartHeatmap *hm,
                 const QsChartRect    *plot,
                 const QsChartStyle   *style)
{
  double lh = _qs_chart_line_height (style);
  double bx = plot->x + plot->width + lh * 1.0, bw = lh * 0.9;
  double by = plot->y, bh = plot->height, ticks[16];
  cairo_surface_t *bar = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 1, 256);
  guint32 *px;
  int stride;
  guint n;

  cairo_surface_flush (bar);
  px = (guint32 *) cairo_image_surface_get_data (bar);
  stride = cairo_image_surface_get_stride (bar);
  for (int i = 0; i < 256; i++)
    {
      double v = hm->vmax - (hm->vmax - hm->vmin) * i / 255.0;
      *(guint32 *) ((guint8 *) px + i * stride) = lut_color (hm, v);
    }
  cairo_surface_mark_dirty (bar);

  cairo_save (cr);
  cairo_rectangle (cr, bx, by, bw, bh);
  cairo_clip (cr);
  cairo_translate (cr, bx, by);
  cairo_scale (cr, bw, bh / 256.0);
  cairo_set_source_surface (cr, bar, 0, 0);
  cairo_pattern_set_extend (cairo_get_source (cr), CAIRO_EXTEND_PAD);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_BILINEAR);
  cairo_paint (cr);
  cairo_restore (cr);
  cairo_surface_destroy (bar);

  _qs_chart_set_color (cr, &style->fg, 0.5);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, round (bx) + 0.5, round (by) + 0.5, round (bw) - 1, round (bh) - 1);
  cairo_stroke (cr);

  _qs_chart_set_color (cr, &style->fg, 0.85);
  n = _qs_chart_nice_ticks (hm->vmin, hm->vmax, (guint) CLAMP (bh / (lh * 2.2), 2, 11), ticks);
  for (guint i = 0; i < n; i++)
    {
      double y = round (by + (hm->vmax - ticks[i]) / (hm->vmax - hm->vmin) * bh) + 0.5;
      g_autofree char *label = format_scale_value (hm, ticks[i]);

      if (hm->mode == QS_MAP_VALUE_CODE && ticks[i] != floor (ticks[i]))
        continue;
      cairo_move_to (cr, bx + bw, y);
      cairo_line_to (cr, bx + bw + 3, y);
      cairo_stroke (cr);
      _qs_chart_text (cr, style, bx + bw + 5, y, 0.0, 0.5, 0.9, FALSE, label);
    }
  if (hm->vmax_clamped)
    _qs_chart_text (cr, style, bx + bw / 2, by - 2, 0.5, 1.0, 0.9, FALSE, _("≥ 100 %"));
}

void
_qs_chart_heatmap_draw (cairo_t              *cr,
                        double                width,
                        double                height,
                        const QsChartHeatmap *hm,
                        const QsChartWindow  *window,
                        cairo_surface_t      *image,
                        guint                 image_width,
                        guint                 image_height,
                        const char           *title,
                        const QsChartStyle   *style)
{
  QsChartRect plot;
  double lh = _qs_chart_line_height (style), pad = 8.0 * style->font_scale, y0, x;
  gboolean conv = hm->tile_h > 1 || hm->tile_w > 1;

  _qs_chart_draw_background (cr, width, height, style);
  y0 = _qs_chart_draw_title (cr, width, title, style);
  _qs_chart_heatmap_layout (hm, width, height, title, style, &plot);
  if (!hm->available)
    {
      _qs_chart_draw_message (cr, width, height,
                              hm->mode == QS_MAP_VALUE_CODE
                                ? _("No integer codes: this format has no code map")
                                : _("No dequantized values in this result"),
                              style);
      return;
    }
  if (plot.width < 8 || plot.height < 8)
    return;

  /* info row: what is shown, how it is sampled */
  _qs_chart_set_color (cr, &style->fg, 0.9);
  x = plot.x + _qs_chart_text (cr, style, plot.x, y0 + lh * 0.5, 0.0, 0.5, 1.0, TRUE,
                               _qs_chart_map_value_label (hm->mode)) + lh;
  _qs_chart_set_color (cr, &style->fg, 0.75);
  if (image_width > 0 && image_height > 0 &&
      (window->cols > image_width || window->rows > image_height))
    {
      /* device pixels: the image has one pixel per device pixel of the plot */
      double bx = MAX (1.0, (double) window->cols / image_width);
      double by = MAX (1.0, (double) window->rows / image_height);
      g_autofree char *note = g_strdup_printf (_("downsampled: 1 px ≈ %.2g × %.2g weights, max-abs"), by, bx);

      x += _qs_chart_text_fit (cr, style, x, y0 + lh * 0.5, 0.5, 1.0, FALSE, note, width - pad - x) + lh;
    }
  if (window->rows != hm->rows || window->cols != hm->cols)
    {
      g_autofree char *note = g_strdup_printf (_("zoomed: rows %zu–%zu, columns %zu–%zu"),
                                               window->row0, window->row0 + window->rows - 1,
                                               window->col0, window->col0 + window->cols - 1);
      _qs_chart_text_fit (cr, style, x, y0 + lh * 0.5, 0.5, 1.0, FALSE, note, width - pad - x);
    }

  if (image != NULL)
    {
      cairo_save (cr);
      cairo_rectangle (cr, plot.x, plot.y, plot.width, plot.height);
      cairo_clip (cr);
      cairo_translate (cr, plot.x, plot.y);
      cairo_scale (cr, plot.width / image_width, plot.height / image_height);
      cairo_set_source_surface (cr, image, 0, 0);
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
      cairo_paint (cr);
      cairo_restore (cr);
    }

  draw_colour_bar (cr, hm, &plot, style);

  _qs_chart_set_color (cr, &style->fg, 0.85);
  draw_axis_ticks (cr, style, &plot, window->row0, window->rows, hm->tile_h, TRUE);
  draw_axis_ticks (cr, style, &plot, window->col0, window->cols, hm->tile_w, FALSE);
  _qs_chart_text (cr, style, plot.x + plot.width / 2, plot.y + plot.height + lh * 1.3 + 2,
                  0.5, 0.0, 1.0, TRUE,
                  conv ? _("output channel (each tile: kernel columns)") : _("output unit (column)"));
  cairo_save (cr);
  cairo_translate (cr, pad, plot.y + plot.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  _qs_chart_text (cr, style, 0, 0, 0.5, 0.0, 1.0, TRUE,
                  conv ? _("input channel (each tile: kernel rows)") : _("input (row)"));
  cairo_restore (cr);
}

void
_qs_chart_heatmap_draw_overlay (cairo_t              *cr,
                                const QsChartHeatmap *hm,
                                const QsChartRect    *plot,
                                const QsChartWindow  *window,
                                gboolean              hover,
                                gsize                 hover_row,
                                gsize                 hover_col,
                                const QsChartStyle   *style)
{
  double cw = plot->width / window->cols, ch = plot->height / window->rows;

  if (!hm->available || plot->width < 8 || plot->height < 8)
    return;

  cairo_save (cr);
  cairo_rectangle (cr, plot->x, plot->y, plot->width, plot->height);
  cairo_clip (cr);
  /* thin separators between kernel tiles when tiles are large enough to see */
  if ((hm->tile_w > 1 && cw * hm->tile_w >= 5.0) || (hm->tile_h > 1 && ch * hm->tile_h >= 5.0))
    {
      _qs_chart_set_color (cr, &style->bg, 0.85);
      cairo_set_line_width (cr, cw * hm->tile_w >= 12 ? 1.5 : 1.0);
      if (hm->tile_w > 1)
        for (gsize c = (window->col0 + hm->tile_w - 1) / hm->tile_w * hm->tile_w;
             c < window->col0 + window->cols; c += hm->tile_w)
          {
            double x = plot->x + (c - window->col0) * cw;
            cairo_move_to (cr, x, plot->y);
            cairo_line_to (cr, x, plot->y + plot->height);
          }
      if (hm->tile_h > 1)
        for (gsize r = (window->row0 + hm->tile_h - 1) / hm->tile_h * hm->tile_h;
             r < window->row0 + window->rows; r += hm->tile_h)
          {
            double y = plot->y + (r - window->row0) * ch;
            cairo_move_to (cr, plot->x, y);
            cairo_line_to (cr, plot->x + plot->width, y);
          }
      cairo_stroke (cr);
    }
  if (hover && hover_row >= window->row0 && hover_row < window->row0 + window->rows &&
      hover_col >= window->col0 && hover_col < window->col0 + window->cols)
    {
      double x = plot->x + (hover_col - window->col0) * cw, y = plot->y + (hover_row - window->row0) * ch;
      double w = MAX (cw, 5.0), h = MAX (ch, 5.0);

      x -= (w - cw) / 2;
      y -= (h - ch) / 2;
      cairo_set_line_width (cr, 2.0 * style->line_scale);
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_rectangle (cr, x - 1, y - 1, w + 2, h + 2);
      cairo_stroke (cr);
      cairo_set_line_width (cr, 1.0);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_rectangle (cr, x - 1, y - 1, w + 2, h + 2);
      cairo_stroke (cr);
    }
  cairo_restore (cr);

  _qs_chart_set_color (cr, &style->fg, 0.5);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, round (plot->x) - 0.5, round (plot->y) - 0.5, round (plot->width) + 1,
                   round (plot->height) + 1);
  cairo_stroke (cr);
}

gboolean
_qs_chart_heatmap_cell_at (const QsChartHeatmap *hm,
                           const QsChartRect    *plot,
                           const QsChartWindow  *window,
                           double                x,
                           double                y,
                           gsize                *row,
                           gsize                *col)
{
  double tx = (x - plot->x) / plot->width, ty = (y - plot->y) / plot->height;

  if (!hm->available || tx < 0.0 || tx >= 1.0 || ty < 0.0 || ty >= 1.0)
    return FALSE;
  *col = window->col0 + MIN ((gsize) (tx * window->cols), window->cols - 1);
  *row = window->row0 + MIN ((gsize) (ty * window->rows), window->rows - 1);
  return TRUE;
}

char *
_qs_chart_heatmap_describe_cell (const QsChartHeatmap *hm,
                                 gsize                 row,
                                 gsize                 col)
{
  QsQuantResult *r = hm->result;
  gsize idx = qs_tensor_matrix_index (r->input, row, col);
  float x = r->input->data[idx];
  g_autofree char *xs = _qs_chart_format_value (x);
  GString *text = g_string_new (NULL);

  if (hm->tile_h > 1 || hm->tile_w > 1)
    g_string_append_printf (text, _("Input channel %zu, output channel %zu, kernel position (%zu, %zu)"),
                            row / hm->tile_h, col / hm->tile_w, row % hm->tile_h, col % hm->tile_w);
  else
    g_string_append_printf (text, _("Row %zu, column %zu"), row, col);
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("Float value: %s"), xs);
  if (r->codes != NULL)
    {
      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("Code: %d"), r->codes[idx]);
    }
  if (r->dequant != NULL)
    {
      float q = r->dequant->data[idx];
      g_autofree char *qs = _qs_chart_format_value (q);
      g_autofree char *es = _qs_chart_format_value ((double) q - x);

      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("Dequantized: %s"), qs);
      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("Error: %s"), es);
    }
  return g_string_free (text, FALSE);
}

char *
_qs_chart_heatmap_describe (const QsChartHeatmap *hm)
{
  QsQuantResult *r = hm->result;
  g_autofree char *lo = format_scale_value (hm, hm->vmin);
  g_autofree char *hi = format_scale_value (hm, hm->vmax);
  const char *name = r->input->name ? r->input->name : "";

  if (!hm->available)
    return g_strdup_printf (_("Heatmap of %s: nothing to show in this mode."), name);
  if (hm->tile_h > 1 || hm->tile_w > 1)
    return g_strdup_printf (_("Heatmap of the %s of %s: %zu input by %zu output channels as %zu × %zu kernel tiles; colour scale %s to %s."),
                            _qs_chart_map_value_label (hm->mode), name, hm->rows / hm->tile_h,
                            hm->cols / hm->tile_w, hm->tile_h, hm->tile_w, lo, hi);
  return g_strdup_printf (_("Heatmap of the %s of %s: %zu rows (inputs) by %zu columns (outputs); colour scale %s to %s."),
                          _qs_chart_map_value_label (hm->mode), name, hm->rows, hm->cols, lo, hi);
}
