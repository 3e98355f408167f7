/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "qs-chart-private.h"
#include "qs-colormap.h"
#include "quantscope-core.h"

/* GTK-free chart tests: colormaps, pixels of charts drawn into cairo image surfaces, and
 * exported files read back. */

static guint32
pixel_at (cairo_surface_t *surface,
          double           x,
          double           y)
{
  double sx, sy;
  int px, py;

  cairo_surface_flush (surface);
  cairo_surface_get_device_scale (surface, &sx, &sy);
  px = (int) floor (x * sx);
  py = (int) floor (y * sy);
  g_assert_cmpint (px, >=, 0);
  g_assert_cmpint (py, >=, 0);
  g_assert_cmpint (px, <, cairo_image_surface_get_width (surface));
  g_assert_cmpint (py, <, cairo_image_surface_get_height (surface));
  return *(guint32 *) (cairo_image_surface_get_data (surface) +
                       py * cairo_image_surface_get_stride (surface) + px * 4);
}

static int
channel_diff (guint32 a,
              guint32 b)
{
  int d = 0;

  for (int shift = 0; shift < 24; shift += 8)
    d = MAX (d, abs ((int) ((a >> shift) & 0xff) - (int) ((b >> shift) & 0xff)));
  return d;
}

static double
luminance (const double rgb[3])
{
  double lin[3];

  for (int c = 0; c < 3; c++)
    lin[c] = rgb[c] <= 0.04045 ? rgb[c] / 12.92 : pow ((rgb[c] + 0.055) / 1.055, 2.4);
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

static void
test_colormap (void)
{
  double rgb[3], prev = -1.0;
  guint32 lut[256];

  /* the published endpoints */
  qs_colormap_sequential (0.0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 0.267004, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[2], 0.329415, 1e-6);
  qs_colormap_sequential (1.0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 0.993248, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[1], 0.906157, 1e-6);
  qs_colormap_sequential (0.5, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[1], 0.566949, 1e-6);
  qs_colormap_diverging (-1.0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 59 / 255.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[2], 192 / 255.0, 1e-9);
  qs_colormap_diverging (0.0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 221 / 255.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[1], 221 / 255.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[2], 221 / 255.0, 1e-9);
  qs_colormap_diverging (1.0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 180 / 255.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[1], 4 / 255.0, 1e-9);

  /* sequential: luminance strictly increasing (perceptual order survives greyscale) */
  for (int i = 0; i <= 200; i++)
    {
      double l;

      qs_colormap_sequential (i / 200.0, rgb);
      l = luminance (rgb);
      g_assert_cmpfloat (l, >, prev);
      prev = l;
    }
  /* diverging: the neutral centre is the lightest colour and lightness falls with |t| */
  for (int i = 1; i <= 100; i++)
    {
      double a[3], b[3], c[3], d[3];

      qs_colormap_diverging (i / 100.0, a);
      qs_colormap_diverging (-i / 100.0, b);
      qs_colormap_diverging ((i - 1) / 100.0, c);
      qs_colormap_diverging (-(i - 1) / 100.0, d);
      g_assert_cmpfloat (luminance (a), <, luminance (c) + 1e-9);
      g_assert_cmpfloat (luminance (b), <, luminance (d) + 1e-9);
      /* blue side and red side stay close in lightness at equal |t| */
      g_assert_cmpfloat (fabs (luminance (a) - luminance (b)), <, 0.12);
    }
  /* clamping and NaN */
  qs_colormap_diverging (5.0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 180 / 255.0, 1e-9);
  qs_colormap_sequential (NAN, rgb);
  g_assert_true (isfinite (rgb[0]));

  qs_colormap_fill_lut (TRUE, lut, 256);
  g_assert_cmphex (lut[0], ==, 0xff3b4cc0u);
  g_assert_cmphex (lut[255], ==, 0xffb40426u);
  qs_colormap_fill_lut (FALSE, lut, 256);
  qs_colormap_sequential (1.0, rgb);
  g_assert_cmphex (lut[255], ==, qs_colormap_rgb_to_argb32 (rgb));
}

/* A tensor of tiny values, a spike of 1.0 that sets the int4 range (scale 1/7) and one
 * weight at 1.45 steps whose error, -0.45 steps, is the largest by far. */
static QsQuantResult *
planted_result (QsTensor *t,
                gsize     spike,
                gsize     planted)
{
  g_autoptr(GError) error = NULL;
  QsQuantOptions opts = { 0 };
  QsQuantSpec spec;
  QsQuantResult *result;
  guint32 s = 7;

  for (gsize i = 0; i < t->n_elements; i++)
    {
      s = s * 1664525u + 1013904223u;
      t->data[i] = ((s >> 8) / 16777216.0f - 0.5f) * 1e-4f;
    }
  t->data[spike] = 1.0f;
  t->data[planted] = 1.45f / 7.0f;

  qs_quant_spec_init (&spec);
  spec.bits = 4;
  spec.granularity = QS_GRANULARITY_TENSOR;
  opts.want_codes = TRUE;
  opts.want_dequant = TRUE;
  result = qs_quant_run (t, &spec, &opts, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_nonnull (result->dequant);
  return result;
}

/* Independent double-precision check that the planted weight has the largest |error|. */
static double
check_planted_error (QsQuantResult *result,
                     gsize          planted)
{
  double best = 0.0, err;
  gsize arg = 0;

  for (gsize i = 0; i < result->input->n_elements; i++)
    {
      double e = fabs ((double) result->dequant->data[i] - result->input->data[i]);
      if (e > best)
        {
          best = e;
          arg = i;
        }
    }
  g_assert_cmpuint (arg, ==, planted);
  err = (double) result->dequant->data[planted] - result->input->data[planted];
  g_assert_cmpfloat_with_epsilon (fabs (err), 0.45 / 7.0, 1e-5);
  g_assert_cmpfloat_with_epsilon (result->stats.max_abs_error, fabs (err), 1e-6);
  return err;
}

static void
check_heatmap_cell (QsQuantResult *result,
                    gsize          row,
                    gsize          col,
                    double         width,
                    double         height,
                    double         device_scale,
                    gboolean       expect_exact_cell)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
                                                         (int) (width * device_scale),
                                                         (int) (height * device_scale));
  cairo_t *cr = cairo_create (surface);
  g_autoptr(QsChartHeatmap) hm = _qs_chart_heatmap_new (result, QS_MAP_VALUE_ERROR);
  QsChartStyle style;
  QsChartRect plot;
  double err, rgb[3], cx, cy, cw, ch;
  guint32 expect, got;
  guint hits = 0;
  gsize planted = qs_tensor_matrix_index (result->input, row, col);

  cairo_surface_set_device_scale (surface, device_scale, device_scale);
  qs_chart_style_init_light (&style);
  qs_chart_draw_heatmap (cr, width, height, result, QS_MAP_VALUE_ERROR, &style);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  _qs_chart_heatmap_layout (hm, width, height, NULL, &style, &plot);

  err = check_planted_error (result, planted);
  /* the diverging map with symmetric limits +-max|error|: this weight is an end colour */
  qs_colormap_diverging (err / result->stats.max_abs_error, rgb);
  expect = qs_colormap_rgb_to_argb32 (rgb);
  g_assert_cmphex (expect, ==, err < 0 ? 0xff3b4cc0u : 0xffb40426u);

  cw = plot.width / hm->cols;
  ch = plot.height / hm->rows;
  cx = plot.x + (col + 0.5) * cw;
  cy = plot.y + (row + 0.5) * ch;
  if (expect_exact_cell)
    {
      got = pixel_at (surface, cx, cy);
      g_assert_cmpint (channel_diff (got, expect), <=, 1);
    }

  /* the end colour appears only around the planted cell (downsampled: within a pixel) */
  for (double y = plot.y + 0.5 / device_scale; y < plot.y + plot.height; y += 1.0 / device_scale)
    for (double x = plot.x + 0.5 / device_scale; x < plot.x + plot.width; x += 1.0 / device_scale)
      if (channel_diff (pixel_at (surface, x, y), expect) <= 2)
        {
          g_assert_cmpfloat (fabs (x - cx), <=, MAX (cw, 1.0 / device_scale) + 1.0);
          g_assert_cmpfloat (fabs (y - cy), <=, MAX (ch, 1.0 / device_scale) + 1.0);
          hits++;
        }
  g_assert_cmpuint (hits, >=, 1);

  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
test_heatmap_pixel (void)
{
  gsize shape[] = { 40, 24 };
  g_autoptr(QsTensor) t = qs_tensor_new ("dense/kernel", 2, shape, NULL);
  g_autoptr(QsQuantResult) result = NULL;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  result = planted_result (t, 3 * 24 + 4, 17 * 24 + 9);
  /* Dense: row = input 17, column = output 9; cells are several pixels large */
  check_heatmap_cell (result, 17, 9, 640, 480, 1.0, TRUE);
  check_heatmap_cell (result, 17, 9, 640, 480, 2.0, TRUE);

  /* an export of a zoomed window (rows 10..29, columns 5..14) puts the cell where the
   * window says, below the title */
  {
    g_autofree char *dir = g_dir_make_tmp ("qs-charts-XXXXXX", NULL);
    g_autofree char *png = g_build_filename (dir, "zoom.png", NULL);
    g_autoptr(QsChartHeatmap) hm = _qs_chart_heatmap_new (result, QS_MAP_VALUE_ERROR);
    g_autoptr(GError) error = NULL;
    QsChartOptions options;
    QsChartStyle style;
    QsChartRect plot;
    cairo_surface_t *img;
    guint32 expect;
    double rgb[3], err = (double) result->dequant->data[17 * 24 + 9] - t->data[17 * 24 + 9];

    qs_chart_style_init_light (&style);
    qs_chart_options_init (&options);
    options.row0 = 10;
    options.col0 = 5;
    options.rows = 20;
    options.cols = 10;
    g_assert_true (qs_chart_export_full ("heatmap", result, &options, "Zoom", png, 600, 400, 1.0, &error));
    g_assert_no_error (error);
    img = cairo_image_surface_create_from_png (png);
    _qs_chart_heatmap_layout (hm, 600, 400, "Zoom", &style, &plot);
    qs_colormap_diverging (err / result->stats.max_abs_error, rgb);
    expect = qs_colormap_rgb_to_argb32 (rgb);
    g_assert_cmpint (channel_diff (pixel_at (img, plot.x + 4.5 * plot.width / 10,
                                             plot.y + 7.5 * plot.height / 20), expect), <=, 1);
    /* the cell one to the left is an ordinary, near-neutral weight */
    g_assert_cmpint (channel_diff (pixel_at (img, plot.x + 3.5 * plot.width / 10,
                                             plot.y + 7.5 * plot.height / 20), expect), >, 40);
    cairo_surface_destroy (img);
    g_assert_cmpint (g_remove (png), ==, 0);
    g_assert_cmpint (g_rmdir (dir), ==, 0);
  }
}

static void
test_heatmap_conv_tiles (void)
{
  gsize shape[] = { 3, 3, 4, 8 };
  g_autoptr(QsTensor) t = qs_tensor_new ("conv/kernel", 4, shape, NULL);
  g_autoptr(QsQuantResult) result = NULL;
  g_autoptr(QsChartHeatmap) hm = NULL;
  g_autofree char *text = NULL;
  /* kernel position y = 2, x = 1, input channel 3, output channel 5 */
  gsize planted = ((2 * 3 + 1) * 4 + 3) * 8 + 5;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_CONV2D);
  result = planted_result (t, 0, planted);
  hm = _qs_chart_heatmap_new (result, QS_MAP_VALUE_ERROR);
  g_assert_cmpuint (hm->tile_h, ==, 3);
  g_assert_cmpuint (hm->tile_w, ==, 3);
  g_assert_cmpuint (hm->rows, ==, 12);
  g_assert_cmpuint (hm->cols, ==, 24);
  /* the picture: row = in * kh + y = 11, column = out * kw + x = 16 */
  check_heatmap_cell (result, 11, 16, 640, 480, 1.0, TRUE);
  text = _qs_chart_heatmap_describe_cell (hm, 11, 16);
  g_assert_nonnull (strstr (text, "3"));
  g_assert_nonnull (strstr (text, "5"));
  g_assert_nonnull (strstr (text, "(2, 1)"));
}

static void
test_heatmap_spike_downsampled (void)
{
  gsize shape[] = { 1024, 1536 };
  g_autoptr(QsTensor) t = qs_tensor_new ("big/kernel", 2, shape, NULL);
  g_autoptr(QsQuantResult) result = NULL;
  g_autoptr(QsChartHeatmap) hm = NULL;
  g_autoptr(QsErrorMap) map = NULL;
  QsChartWindow window;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  result = planted_result (t, 5, (gsize) 517 * 1536 + 1001);
  /* about 5 x 8 weights per pixel: one weight in 40 still shows at full colour */
  check_heatmap_cell (result, 517, 1001, 400, 300, 1.0, FALSE);

  /* the map says it is downsampled, and keeps the signed extreme */
  hm = _qs_chart_heatmap_new (result, QS_MAP_VALUE_ERROR);
  _qs_chart_heatmap_full_window (hm, &window);
  map = _qs_chart_heatmap_compute_map (hm, &window, 100, 80);
  g_assert_true (map->downsampled);
  g_assert_cmpfloat_with_epsilon (map->lo, -result->stats.max_abs_error, 1e-7);
}

static void
test_histogram_clip (void)
{
  gsize shape[] = { 200, 50 };
  g_autoptr(QsTensor) t = qs_tensor_new ("fc/kernel", 2, shape, NULL);
  g_autoptr(QsQuantResult) result = NULL;
  g_autoptr(QsChartHistogram) hist = NULL;
  g_autoptr(GError) error = NULL;
  cairo_surface_t *surface;
  cairo_t *cr;
  QsQuantOptions opts = { 0 };
  QsQuantSpec spec;
  QsChartStyle style;
  QsChartRect plot;
  guint64 below = 0, above = 0;
  guint32 s = 99, shaded, clear;
  double xl, xr, y, a;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      s = s * 1664525u + 1013904223u;
      t->data[i] = ((s >> 8) / 16777216.0f - 0.5f) * 2.0f;
    }
  t->data[10] = -6.0f;
  t->data[20] = 5.0f;
  t->data[30] = 5.5f;

  qs_quant_spec_init (&spec);
  spec.granularity = QS_GRANULARITY_TENSOR;
  spec.mapping = QS_MAPPING_AFFINE;
  spec.narrow_range = FALSE;
  spec.range_method = QS_RANGE_PERCENTILE;
  spec.range_param = 99.0;
  opts.want_dequant = TRUE;
  opts.want_codes = TRUE;
  result = qs_quant_run (t, &spec, &opts, NULL, &error);
  g_assert_no_error (error);

  /* independent count of clipped values: the rounded value x / scale (half to even) lies
   * outside the code range, what QsQuantStats.n_clipped counts; values just outside the
   * params' float range that round onto the end code are not clipped */
  for (gsize i = 0; i < t->n_elements; i++)
    {
      float r = rintf (t->data[i] / result->params->scale[0]);

      below += r < (float) (result->params->qmin - result->params->zero_point[0]);
      above += r > (float) (result->params->qmax - result->params->zero_point[0]);
    }
  g_assert_cmpuint (below, >=, 1);
  g_assert_cmpuint (above, >=, 2);
  g_assert_cmpuint (below + above, ==, result->stats.n_clipped);

  hist = _qs_chart_histogram_new (result, -1, 256);
  g_assert_true (hist->has_clip);
  g_assert_cmpuint (hist->n_clip_lo, ==, below);
  g_assert_cmpuint (hist->n_clip_hi, ==, above);
  g_assert_cmpfloat (hist->lo, <=, -6.0);
  g_assert_cmpfloat (hist->hi, >=, 5.5);
  g_assert_true (hist->has_zero_point);
  g_assert_cmpuint (hist->n_levels_total, ==, 256);
  /* every level in view is a representable value: (q - zp) * scale */
  for (guint i = 0; i < hist->n_levels; i++)
    {
      double q = hist->levels[i] / result->params->scale[0] + result->params->zero_point[0];
      g_assert_cmpfloat_with_epsilon (q, round (q), 1e-3);
    }
  /* the hover text of a bin names its nearest level (independently: the closest (q - zp) * s) */
  {
    gint bin = hist->n_bins / 2 + 3;
    double w = (hist->hi - hist->lo) / hist->n_bins, mid = hist->lo + (bin + 0.5) * w;
    double scale = result->params->scale[0];
    gint32 zp = result->params->zero_point[0];
    double q = CLAMP (round (mid / scale + zp), result->params->qmin, result->params->qmax);
    g_autofree char *level = _qs_chart_format_value ((q - zp) * scale);
    g_autofree char *text = _qs_chart_histogram_describe_bin (hist, bin);

    g_assert_nonnull (strstr (text, level));
  }

  /* the dequantized series holds every value, collapsed to the levels */
  {
    guint64 total = 0;
    for (guint b = 0; b < hist->n_bins; b++)
      total += hist->dq_counts[b];
    g_assert_cmpuint (total, ==, t->n_elements);
  }

  /* pixels: the shaded outer regions start exactly at the clipping range */
  qs_chart_style_init_light (&style);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 960, 540);
  cr = cairo_create (surface);
  qs_chart_draw_histogram (cr, 960, 540, result, -1, FALSE, &style);
  cairo_destroy (cr);
  g_clear_pointer (&hist, _qs_chart_histogram_free);
  hist = _qs_chart_histogram_new (result, -1, (guint) CLAMP (960 / 3.0, 16, 512));
  _qs_chart_histogram_layout (hist, 960, 540, NULL, &style, &plot);
  xl = _qs_chart_histogram_x_of (hist, &plot, result->params->clip_lo[0]);
  xr = _qs_chart_histogram_x_of (hist, &plot, result->params->clip_hi[0]);
  g_assert_cmpfloat (xl - plot.x, >, 40);
  g_assert_cmpfloat (plot.x + plot.width - xr, >, 40);
  y = plot.y + plot.height * 0.45;   /* above every bar: the centre bins reach ~ 1/3 */
  a = 0.14 * style.clip.alpha;
  shaded = 0xff000000u |
           ((guint32) lround ((style.bg.red * (1 - a) + style.clip.red * a) * 255) << 16) |
           ((guint32) lround ((style.bg.green * (1 - a) + style.clip.green * a) * 255) << 8) |
           (guint32) lround ((style.bg.blue * (1 - a) + style.clip.blue * a) * 255);
  clear = qs_colormap_rgb_to_argb32 ((double[]) { style.bg.red, style.bg.green, style.bg.blue });
  for (double x = plot.x + 6; x < plot.x + plot.width - 6; x += 1.0)
    {
      guint32 p = pixel_at (surface, x, y);

      if (x < xl - 3 || x > xr + 3)
        {
          /* outside the range: shaded (or a level/bar mark on top of the shade) */
          if (channel_diff (p, clear) <= 2)
            g_error ("x = %.1f (clip %.1f … %.1f) is not shaded: %08x", x, xl, xr, p);
        }
      else if (x > xl + 3 && x < xr - 3)
        {
          if (channel_diff (p, shaded) <= 2)
            g_error ("x = %.1f inside the clipping range is shaded", x);
        }
    }
  g_assert_cmpint (channel_diff (pixel_at (surface, (plot.x + xl) / 2 + 0.5, y), shaded), <=, 2);
  cairo_surface_destroy (surface);
}

/* The legend's "clipped: N" and the statistics card (QsQuantStats.n_clipped) count the
 * same values. Per channel they used to differ: the chart compared x with the params'
 * float range, which misses by an ulp (symmetric: max |x| > 127 * scale) or by up to half
 * a step (affine: the zero-point is rounded), where the values still round onto the end
 * code. */
static guint64
check_clipped_agree (QsQuantResult *result)
{
  g_autoptr(QsChartHistogram) all = _qs_chart_histogram_new (result, -1, 256);
  QsQuantParams *p = result->params;
  guint64 sum = 0, old = 0;

  g_assert_true (all->counts_clipping);
  g_assert_cmpuint (all->n_clip_lo + all->n_clip_hi, ==, result->stats.n_clipped);
  /* the channels' own counts add up to the same number */
  for (gsize c = 0; c < all->n_channels; c++)
    {
      g_autoptr(QsChartHistogram) one = _qs_chart_histogram_new (result, (gint) c, 64);

      g_assert_cmpint (one->channel, ==, (gint) c);
      sum += one->n_clip_lo + one->n_clip_hi;
    }
  g_assert_cmpuint (sum, ==, result->stats.n_clipped);
  /* how many more the old definition counted (the caller checks it covers such cases) */
  for (gsize i = 0; i < result->input->n_elements; i++)
    {
      gsize k = qs_quant_params_index (p, i);
      float x = result->input->data[i];

      old += x < p->clip_lo[k] || x > p->clip_hi[k];
    }
  g_assert_cmpuint (old, >=, result->stats.n_clipped);
  return old - result->stats.n_clipped;
}

static void
test_histogram_clipped_matches_stats (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data", "models",
                                                 "fmnist-mlp.h5", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = qs_model_load (path, NULL, NULL, &error);
  const char *layers[] = { "fc1", "fc2" };
  guint64 old_extra_sym = 0;

  g_assert_no_error (error);
  for (guint l = 0; l < G_N_ELEMENTS (layers); l++)
    {
      QsTensor *kernel = qs_layer_get_kernel (qs_model_find_layer (model, layers[l]));
      g_autoptr(QsQuantResult) sym = NULL, affine = NULL;
      QsQuantSpec spec;

      g_assert_nonnull (kernel);
      /* int8 symmetric narrow per channel, min-max (the w8 preset): nothing is clipped; the
       * old definition counted a value that misses 127 * scale by an ulp (the 1 vs
       * 0 was on the models trained on the 10k subset) */
      qs_quant_spec_init (&spec);
      sym = qs_quant_run (kernel, &spec, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (sym->stats.n_clipped, ==, 0);
      old_extra_sym += check_clipped_agree (sym);
      /* affine per channel: hundreds of values sat beyond the rounded range */
      spec.mapping = QS_MAPPING_AFFINE;
      spec.narrow_range = FALSE;
      affine = qs_quant_run (kernel, &spec, NULL, NULL, &error);
      g_assert_no_error (error);
      /* affine per channel: the old definition counted many values beyond the rounded
       * range that still round onto the end code, so the case is covered on every layer */
      g_assert_cmpuint (check_clipped_agree (affine), >, 0);
    }
  g_test_message ("the old definition counted %" G_GUINT64_FORMAT " more symmetric values",
                  old_extra_sym);
}

static void
test_histogram_channel (void)
{
  gsize shape[] = { 64, 6 };
  g_autoptr(QsTensor) t = qs_tensor_new ("ch/kernel", 2, shape, NULL);
  g_autoptr(QsQuantResult) result = NULL;
  g_autoptr(QsChartHistogram) all = NULL, one = NULL;
  g_autoptr(QsChartChannels) ch = NULL;
  QsQuantOptions opts = { 0 };
  QsQuantSpec spec;
  guint64 total = 0;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  /* channel c holds values in [-(c + 1), c + 1] */
  for (gsize r = 0; r < 64; r++)
    for (gsize c = 0; c < 6; c++)
      t->data[r * 6 + c] = (c + 1.0f) * ((r / 63.0f) * 2.0f - 1.0f);
  qs_quant_spec_init (&spec);   /* per-channel int8 */
  opts.want_dequant = TRUE;
  result = qs_quant_run (t, &spec, &opts, NULL, NULL);
  g_assert_nonnull (result);

  all = _qs_chart_histogram_new (result, -1, 64);
  g_assert_cmpuint (all->n_channels, ==, 6);
  g_assert_true (all->levels_vary);
  g_assert_cmpuint (all->n_levels, ==, 0);
  g_assert_cmpuint (all->n_values, ==, 384);

  one = _qs_chart_histogram_new (result, 2, 64);
  g_assert_cmpint (one->channel, ==, 2);
  g_assert_cmpuint (one->n_values, ==, 64);
  for (guint b = 0; b < one->n_bins; b++)
    total += one->counts[b];
  g_assert_cmpuint (total, ==, 64);
  /* channel 2 spans +-3: its own grid, 255 narrow levels of step 3/127 */
  g_assert_cmpfloat (one->lo, <=, -3.0);
  g_assert_cmpfloat (one->hi, >=, 3.0);
  g_assert_cmpfloat (one->hi, <, 3.5);
  g_assert_cmpuint (one->n_levels, ==, 255);
  g_assert_cmpfloat_with_epsilon (one->levels[1] - one->levels[0], 3.0 / 127, 1e-5);

  ch = _qs_chart_channels_new (result);
  g_assert_cmpuint (ch->n, ==, 6);
  for (guint c = 0; c < 6; c++)
    {
      g_assert_cmpfloat_with_epsilon (ch->max[c], c + 1.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (ch->min[c], -(c + 1.0), 1e-6);
      g_assert_cmpfloat_with_epsilon (ch->scale[c], (c + 1.0) / 127, 1e-6);
      g_assert_cmpuint (ch->sorted[c], ==, 5 - c);
    }
  g_assert_cmpfloat_with_epsilon (ch->tensor_hi, 6.0, 1e-6);
  /* median channel (index 3: range 8) against the tensor range 12 */
  g_assert_cmpfloat_with_epsilon (ch->median_ratio, 12.0 / 8.0, 1e-6);
}

static void
test_histogram_float_grid (void)
{
  gsize shape[] = { 128, 64 };
  g_autoptr(QsTensor) t = qs_tensor_new ("fc2/kernel", 2, shape, NULL);
  QsFormat formats[] = { QS_FORMAT_FP8_E4M3, QS_FORMAT_FP8_E5M2 };
  QsQuantOptions opts = { 0 };
  QsChartStyle style;
  guint32 s = 7;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      s = s * 1664525u + 1013904223u;
      t->data[i] = ((s >> 8) / 16777216.0f - 0.5f) * 1.2f;
    }
  opts.want_dequant = TRUE;
  qs_chart_style_init_light (&style);

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      g_autoptr(QsQuantResult) result = NULL;
      g_autoptr(QsChartHistogram) hist = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree guint *marks = NULL;
      g_autofree char *text = NULL, *nearest = NULL;
      QsQuantSpec spec;
      QsChartRect plot;
      guint n_in_view = 0, n_marks, step, n_neg = 0, n_pos = 0;
      gint bin;
      double mid;

      qs_quant_spec_init_float (&spec, formats[f]);
      result = qs_quant_run (t, &spec, &opts, NULL, &error);
      g_assert_no_error (error);
      hist = _qs_chart_histogram_new (result, -1, 256);
      g_assert_true (hist->float_levels);
      g_assert_false (hist->levels_too_dense);
      g_assert_false (hist->counts_clipping);
      g_assert_cmpuint (hist->n_levels_total, ==, formats[f] == QS_FORMAT_FP8_E4M3 ? 253 : 247);

      /* the levels are exactly the format's finite values in view, ascending */
      for (guint bits = 0; bits < 256; bits++)
        {
          float v = qs_format_decode (formats[f], bits);
          n_in_view += isfinite (v) && !(v == 0.0f && signbit (v)) && v >= hist->lo && v <= hist->hi;
        }
      g_assert_cmpuint (hist->n_levels, ==, n_in_view);
      g_assert_cmpuint (hist->n_levels, >, 60);
      for (guint i = 0; i < hist->n_levels; i++)
        {
          g_assert_cmpfloat (qs_format_round (formats[f], (float) hist->levels[i]), ==, hist->levels[i]);
          if (i > 0)
            g_assert_cmpfloat (hist->levels[i], >, hist->levels[i - 1]);
        }

      /* marks: thinned to >= 3 px apart, mirrored about zero, the outermost kept */
      _qs_chart_histogram_layout (hist, 800, 450, NULL, &style, &plot);
      marks = g_new (guint, hist->n_levels);
      n_marks = _qs_chart_histogram_level_marks (hist, &plot, marks, &step);
      g_assert_cmpuint (n_marks, >, 20);
      g_assert_cmpuint (n_marks, <, hist->n_levels);   /* dense near 0: some merged */
      for (guint m = 0; m < n_marks; m++)
        {
          if (m > 0)
            {
              g_assert_cmpuint (marks[m], >, marks[m - 1]);
              g_assert_cmpfloat (_qs_chart_histogram_x_of (hist, &plot, hist->levels[marks[m]]) -
                                 _qs_chart_histogram_x_of (hist, &plot, hist->levels[marks[m - 1]]),
                                 >=, 3.0 - 1e-9);
            }
          n_neg += hist->levels[marks[m]] < 0;
          n_pos += hist->levels[marks[m]] > 0;
        }
      g_assert_cmpuint (n_neg, ==, n_pos);   /* the data range is about symmetric */
      g_assert_cmpfloat (hist->levels[marks[n_marks - 1]], ==, hist->levels[hist->n_levels - 1]);

      /* hover: the nearest representable value */
      bin = hist->n_bins * 3 / 4;
      mid = hist->lo + (bin + 0.5) * (hist->hi - hist->lo) / hist->n_bins;
      nearest = _qs_chart_format_value (qs_format_round (formats[f], (float) mid));
      text = _qs_chart_histogram_describe_bin (hist, bin);
      g_assert_nonnull (strstr (text, nearest));
    }

  /* fp16: no grid, and the legend and description say why */
  {
    g_autoptr(QsQuantResult) result = NULL;
    g_autoptr(QsChartHistogram) hist = NULL;
    g_autofree char *text = NULL;
    QsQuantSpec spec;

    qs_quant_spec_init_float (&spec, QS_FORMAT_FP16);
    result = qs_quant_run (t, &spec, &opts, NULL, NULL);
    g_assert_nonnull (result);
    hist = _qs_chart_histogram_new (result, -1, 256);
    g_assert_true (hist->levels_too_dense);
    g_assert_cmpuint (hist->n_levels, ==, 0);
    text = _qs_chart_histogram_describe (hist);
    g_assert_nonnull (strstr (text, "too dense to draw"));
  }
}

static char *
read_text (const char *path,
           gsize      *length)
{
  char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, length, NULL));
  return contents;
}

/* PDF files hold binary streams: search past NUL bytes. */
static gboolean
contains_bytes (const char *data,
                gsize       length,
                const char *needle)
{
  gsize n = strlen (needle);

  for (gsize i = 0; i + n <= length; i++)
    if (memcmp (data + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}

static void
test_export (void)
{
  gsize shape[] = { 3, 3, 8, 16 };
  g_autoptr(QsTensor) t = qs_tensor_new ("conv2d/kernel", 4, shape, NULL);
  g_autoptr(QsQuantResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qs-charts-XXXXXX", NULL);
  const char *kinds[] = { "histogram", "heatmap", "channels" };
  QsQuantOptions opts = { 0 };
  QsQuantSpec spec;
  guint32 s = 3;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_CONV2D);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      s = s * 1664525u + 1013904223u;
      t->data[i] = ((s >> 8) / 16777216.0f - 0.5f) * (1.0f + (i % 16));
    }
  qs_quant_spec_init (&spec);
  opts.want_codes = opts.want_dequant = TRUE;
  result = qs_quant_run (t, &spec, &opts, NULL, NULL);
  g_assert_nonnull (result);

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree char *png = g_strdup_printf ("%s/%s.png", dir, kinds[k]);
      g_autofree char *svg = g_strdup_printf ("%s/%s.svg", dir, kinds[k]);
      g_autofree char *pdf = g_strdup_printf ("%s/%s.pdf", dir, kinds[k]);
      g_autofree char *text = NULL;
      g_autofree char *w_attr = NULL, *h_attr = NULL;
      cairo_surface_t *img;
      gsize length;

      g_assert_true (qs_chart_export (kinds[k], result, "Title", png, 640, 400, 2.0, &error));
      g_assert_no_error (error);
      img = cairo_image_surface_create_from_png (png);
      g_assert_cmpint (cairo_surface_status (img), ==, CAIRO_STATUS_SUCCESS);
      g_assert_cmpint (cairo_image_surface_get_width (img), ==, 1280);
      g_assert_cmpint (cairo_image_surface_get_height (img), ==, 800);
      /* not blank: a good part of the figure differs from the background corner */
      {
        guint32 bg = pixel_at (img, 2, 2);
        guint drawn = 0;

        for (int y = 0; y < 800; y += 4)
          for (int x = 0; x < 1280; x += 4)
            drawn += channel_diff (pixel_at (img, x, y), bg) > 8;
        g_assert_cmpuint (drawn, >, 1280 * 800 / 16 / 50);
      }
      cairo_surface_destroy (img);

      g_assert_true (qs_chart_export (kinds[k], result, "Title", svg, 500, 300, 1.0, &error));
      g_assert_no_error (error);
      text = read_text (svg, &length);
      g_assert_true (g_str_has_prefix (text, "<?xml"));
      w_attr = g_strdup_printf ("width=\"%dpx\"", 500);
      h_attr = g_strdup_printf ("height=\"%dpx\"", 300);
      g_assert_nonnull (strstr (text, w_attr));
      g_assert_nonnull (strstr (text, h_attr));
      g_assert_nonnull (strstr (text, "</svg>"));
      g_clear_pointer (&text, g_free);

      g_assert_true (qs_chart_export (kinds[k], result, "Title", pdf, 500, 300, 1.0, &error));
      g_assert_no_error (error);
      text = read_text (pdf, &length);
      g_assert_true (g_str_has_prefix (text, "%PDF-"));
      g_assert_true (contains_bytes (text, length, "/MediaBox [ 0 0 500 300 ]"));
      g_assert_true (contains_bytes (text, length, "%%EOF"));

      g_assert_cmpint (g_remove (png), ==, 0);
      g_assert_cmpint (g_remove (svg), ==, 0);
      g_assert_cmpint (g_remove (pdf), ==, 0);
    }

  /* bad requests are errors that name the file, and leave nothing behind */
  {
    g_autofree char *bad = g_strdup_printf ("%s/chart.bmp", dir);
    g_autofree char *missing = g_strdup_printf ("%s/no/such/dir/chart.png", dir);

    g_assert_false (qs_chart_export ("heatmap", result, NULL, bad, 300, 200, 1.0, &error));
    g_assert_error (error, QS_CHART_ERROR, QS_CHART_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, bad));
    g_clear_error (&error);
    g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));

    g_assert_false (qs_chart_export ("pie", result, NULL, bad, 300, 200, 1.0, &error));
    g_assert_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID);
    g_clear_error (&error);

    g_assert_false (qs_chart_export ("heatmap", result, NULL, bad, 300, 200, 100.0, &error));
    g_assert_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID);
    g_clear_error (&error);

    g_assert_false (qs_chart_export ("heatmap", result, NULL, missing, 300, 200, 1.0, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, missing));
    g_clear_error (&error);
  }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_ticks (void)
{
  double ticks[16];
  guint n = _qs_chart_nice_ticks (-0.37, 0.41, 6, ticks);

  g_assert_cmpuint (n, >=, 3);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpfloat (ticks[i], >=, -0.37);
      g_assert_cmpfloat (ticks[i], <=, 0.41);
      g_assert_cmpfloat_with_epsilon (ticks[i] / 0.2, round (ticks[i] / 0.2), 1e-9);
    }
  g_assert_cmpuint (_qs_chart_nice_ticks (1.0, 1.0, 6, ticks), ==, 0);
  g_assert_cmpuint (_qs_chart_nice_ticks (0.0, NAN, 6, ticks), ==, 0);
}

/* The axis ticks: between min and max of them for any range (a sweep of random ranges
 * and widths), evenly spaced by q x 10^k with q a nice step, inside the range, 0 included
 * when the range holds it; the first tier (1, 2, 2.5, 5) whenever it fits. */
static void
test_axis_ticks (void)
{
  static const double nice_q[] = { 1.0, 2.0, 2.5, 5.0, 4.0, 3.0, 1.5, 6.0, 8.0 };
  GRand *rand = g_rand_new_with_seed (17);
  double ticks[16];
  guint n;

  for (int i = 0; i < 20000; i++)
    {
      double e = pow (10.0, g_rand_int_range (rand, -4, 4));
      double lo = g_rand_double_range (rand, -10.0, 5.0) * e;
      double hi = lo + pow (10.0, g_rand_double_range (rand, -0.5, 1.5)) * e;
      guint min = g_rand_boolean (rand) ? 5 : 4, max = min == 5 ? 8 : 6;
      double step, q;
      gboolean nice = FALSE;

      n = _qs_chart_axis_ticks (lo, hi, min, max, ticks);
      if (n < min || n > max)
        g_error ("[%g, %g]: %u ticks, wanted %u to %u", lo, hi, n, min, max);
      step = ticks[1] - ticks[0];
      q = step / pow (10.0, floor (log10 (step) + 1e-9));
      for (guint k = 0; k < G_N_ELEMENTS (nice_q); k++)
        nice |= fabs (q - nice_q[k]) < 1e-6 * nice_q[k];
      if (!nice)
        g_error ("[%g, %g]: step %g is not nice", lo, hi, step);
      for (guint k = 0; k < n; k++)
        {
          g_assert_cmpfloat (ticks[k], >=, lo - 1e-9 * (hi - lo));
          g_assert_cmpfloat (ticks[k], <=, hi + 1e-9 * (hi - lo));
          /* a whole multiple of the step, evenly spaced */
          g_assert_cmpfloat (fabs (ticks[k] / step - round (ticks[k] / step)), <, 1e-6);
          if (k > 0)
            g_assert_cmpfloat (fabs (ticks[k] - ticks[k - 1] - step), <, 1e-6 * step);
        }
      if (lo < 0.0 && hi > 0.0 && -lo > step && hi > step)
        {
          gboolean zero = FALSE;

          for (guint k = 0; k < n; k++)
            zero |= ticks[k] == 0.0;
          g_assert_true (zero);
        }
    }
  g_rand_free (rand);

  /* a histogram's axis: -0.47 ... 0.47 gets 0.2 steps, not the 0.5 steps with one label
   * the old rule gave at four ticks */
  n = _qs_chart_axis_ticks (-0.47, 0.47, 5, 8, ticks);
  g_assert_cmpuint (n, ==, 5);
  g_assert_cmpfloat_with_epsilon (ticks[0], -0.4, 1e-12);
  g_assert_cmpfloat_with_epsilon (ticks[4], 0.4, 1e-12);
  /* between the round steps (0.5 gives 9, 1 gives 4): a second-tier step */
  n = _qs_chart_axis_ticks (0.02, 4.4, 5, 8, ticks);
  g_assert_cmpuint (n, >=, 5);
  g_assert_cmpuint (n, <=, 8);
  /* too narrow for the minimum: as many as fit */
  n = _qs_chart_axis_ticks (0.0, 1.0, 5, 3, ticks);
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpuint (n, <=, 3);
  g_assert_cmpuint (_qs_chart_axis_ticks (1.0, 1.0, 5, 8, ticks), ==, 0);
}

/* int4 per tensor on a bell curve: the tall stems near 0 are cut and carry their counts,
 * right where the zero-point label goes. Every label in and around the plot is measured;
 * no two boxes may intersect, at several widths, font sizes and both count scales, and
 * the zero-point label, the tallest stem's count and 5 to 8 x tick labels are there. */
static void
test_histogram_labels_apart (void)
{
  gsize shape[] = { 256, 128 };
  g_autoptr(QsTensor) t = qs_tensor_new ("fc2/kernel", 2, shape, NULL);
  double widths[] = { 360, 520, 960 }, font_scales[] = { 1.0, 1.25 };
  QsQuantOptions opts = { 0 };
  QsQuantSpec specs[2];
  GRand *rand = g_rand_new_with_seed (5);

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      /* Box-Muller */
      double u = g_rand_double_range (rand, 1e-12, 1.0), v = g_rand_double (rand);
      t->data[i] = (float) (0.1 * sqrt (-2.0 * log (u)) * cos (2 * G_PI * v));
    }
  g_rand_free (rand);
  opts.want_dequant = TRUE;
  for (guint sp = 0; sp < 2; sp++)
    {
      qs_quant_spec_init (&specs[sp]);
      specs[sp].bits = 4;
      specs[sp].granularity = QS_GRANULARITY_TENSOR;
    }
  specs[1].mapping = QS_MAPPING_AFFINE;
  specs[1].narrow_range = FALSE;

  for (guint sp = 0; sp < G_N_ELEMENTS (specs); sp++)
    {
      g_autoptr(QsQuantResult) result = qs_quant_run (t, &specs[sp], &opts, NULL, NULL);
      g_autoptr(QsChartHistogram) hist = _qs_chart_histogram_new (result, -1, 256);
      guint64 tallest = 0;

      g_assert_nonnull (result);
      g_assert_true (hist->has_zero_point);
      for (guint b = 0; b < hist->n_bins; b++)
        tallest = MAX (tallest, hist->dq_counts[b]);
      for (guint wi = 0; wi < G_N_ELEMENTS (widths); wi++)
        for (guint fi = 0; fi < G_N_ELEMENTS (font_scales); fi++)
          for (int log_scale = 0; log_scale < 2; log_scale++)
            {
              cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 8, 8);
              cairo_t *cr = cairo_create (surface);
              g_autoptr(GArray) labels = NULL;
              QsChartStyle style;
              QsChartRect plot;
              guint n_x = 0, n_zero = 0, n_stems = 0;
              gboolean tallest_shown = FALSE;

              qs_chart_style_init_light (&style);
              style.font_scale = font_scales[fi];
              _qs_chart_histogram_layout (hist, widths[wi], 340, "Title", &style, &plot);
              labels = _qs_chart_histogram_labels (cr, hist, &plot, log_scale, &style);
              for (guint i = 0; i < labels->len; i++)
                {
                  const QsChartLabel *a = &g_array_index (labels, QsChartLabel, i);
                  g_autofree char *tall_text = NULL;

                  g_assert_cmpfloat (a->rect.width, >, 0.0);
                  g_assert_cmpfloat (a->rect.x, >=, 0.0);
                  g_assert_cmpfloat (a->rect.x + a->rect.width, <=, widths[wi]);
                  for (guint j = i + 1; j < labels->len; j++)
                    {
                      const QsChartLabel *b = &g_array_index (labels, QsChartLabel, j);

                      if (_qs_chart_rect_intersects (&a->rect, &b->rect))
                        g_error ("width %g, font %g, log %d: “%s” (%g, %g, %g x %g) overlaps “%s” (%g, %g, %g x %g)",
                                 widths[wi], font_scales[fi], log_scale,
                                 a->text, a->rect.x, a->rect.y, a->rect.width, a->rect.height,
                                 b->text, b->rect.x, b->rect.y, b->rect.width, b->rect.height);
                    }
                  n_x += a->kind == QS_CHART_LABEL_X_TICK;
                  n_zero += a->kind == QS_CHART_LABEL_ZERO_POINT;
                  n_stems += a->kind == QS_CHART_LABEL_STEM_COUNT;
                  tall_text = g_strdup_printf ("%" G_GUINT64_FORMAT, tallest);
                  tallest_shown |= a->kind == QS_CHART_LABEL_STEM_COUNT && g_str_equal (a->text, tall_text);
                }
              g_assert_cmpuint (n_zero, ==, 1);
              g_assert_cmpuint (n_x, >=, 5);
              g_assert_cmpuint (n_x, <=, 8);
              if (!log_scale)
                {
                  /* int4 stems reach ~10x the float peak: cut, with counts */
                  g_assert_cmpuint (n_stems, >=, 3);
                  g_assert_true (tallest_shown);
                }
              else
                g_assert_cmpuint (n_stems, ==, 0);
              cairo_destroy (cr);
              cairo_surface_destroy (surface);
            }
    }
}

/* A Dense kernel whose 16 (or n) channels span different ranges, quantized per channel or
 * per tensor. */
static QsQuantResult *
channels_result (gsize    n,
                 gboolean per_channel)
{
  gsize shape[] = { 64, n };
  g_autoptr(QsTensor) t = qs_tensor_new ("fc/kernel", 2, shape, NULL);
  QsQuantSpec spec;
  guint32 s = 3;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  for (gsize r = 0; r < 64; r++)
    for (gsize c = 0; c < n; c++)
      {
        s = s * 1664525u + 1013904223u;
        t->data[r * n + c] = ((s >> 8) / 16777216.0f - 0.5f) * (0.2f + 0.05f * (c % 7));
      }
  qs_quant_spec_init (&spec);
  if (!per_channel)
    spec.granularity = QS_GRANULARITY_TENSOR;
  return qs_quant_run (t, &spec, NULL, NULL, NULL);
}

/* The Channel Ranges legend and note wrap instead of being cut: at the layer page's
 * default chart width (about 520 px) and narrower, no entry is ellipsized, each stays in
 * the figure and none overlaps another; per tensor the one step is said in words. */
static void
test_channels_legend_fits (void)
{
  double widths[] = { 520, 440, 960 }, font_scales[] = { 1.0, 1.25 };

  for (int per_channel = 0; per_channel < 2; per_channel++)
    for (guint n_i = 0; n_i < 2; n_i++)
      {
        g_autoptr(QsQuantResult) result = channels_result (n_i ? 128 : 16, per_channel);
        g_autoptr(QsChartChannels) ch = _qs_chart_channels_new (result);

        g_assert_cmpint (ch->per_channel, ==, per_channel);
        for (guint wi = 0; wi < G_N_ELEMENTS (widths); wi++)
          for (guint fi = 0; fi < G_N_ELEMENTS (font_scales); fi++)
            {
              cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 8, 8);
              cairo_t *cr = cairo_create (surface);
              g_autoptr(GArray) legend = NULL;
              QsChartStyle style;
              QsChartRect plot;
              double legend_h;
              gboolean says_one_step = FALSE, has_note = FALSE;

              qs_chart_style_init_light (&style);
              style.font_scale = font_scales[fi];
              legend = _qs_chart_channels_legend (cr, ch, widths[wi], 30, &style, &legend_h);
              _qs_chart_channels_layout (ch, widths[wi], 420, "Title", &style, &plot);
              for (guint i = 0; i < legend->len; i++)
                {
                  const QsChartLegendEntry *a = &g_array_index (legend, QsChartLegendEntry, i);

                  if (a->ellipsized)
                    g_error ("width %g, font %g: “%s” is cut", widths[wi], font_scales[fi], a->text);
                  g_assert_cmpfloat (a->rect.x, >=, 0.0);
                  g_assert_cmpfloat (a->rect.x + a->rect.width, <=, widths[wi]);
                  g_assert_cmpfloat (a->rect.y + a->rect.height, <=, 30 + legend_h);
                  for (guint j = i + 1; j < legend->len; j++)
                    g_assert_false (_qs_chart_rect_intersects (&a->rect, &g_array_index (legend, QsChartLegendEntry, j).rect));
                  says_one_step |= strstr (a->text, "one for all channels") != NULL;
                  has_note |= a->color == NULL;
                }
              g_assert_true (has_note);
              g_assert_cmpint (says_one_step, ==, !per_channel);
              /* the plot starts below the legend, whatever it took */
              g_assert_cmpfloat (plot.y, >=, legend_h);
              cairo_destroy (cr);
              cairo_surface_destroy (surface);
            }
      }
}

/* The step-size axis: 4 to 6 nice labels from 0 up to at least the largest step; per
 * tensor there is none. The step markers are hollow rings: the centre of a channel's
 * ring is background colour even where it lies on the channel's bar. */
static void
test_channels_step_axis (void)
{
  g_autoptr(QsQuantResult) result = channels_result (16, TRUE);
  g_autoptr(QsQuantResult) tensor = channels_result (16, FALSE);
  g_autoptr(QsChartChannels) ch = _qs_chart_channels_new (result);
  g_autoptr(QsChartChannels) ch_tensor = _qs_chart_channels_new (tensor);
  double sizes[][2] = { { 520, 300 }, { 960, 600 }, { 520, 420 } };
  QsChartStyle style;

  qs_chart_style_init_light (&style);
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      double w = sizes[k][0], h = sizes[k][1], ticks[8], top, step;
      cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) w, (int) h);
      cairo_t *cr = cairo_create (surface);
      QsChartRect plot;
      guint n, bar_hits = 0;
      guint32 bg = qs_colormap_rgb_to_argb32 ((double[]) { style.bg.red, style.bg.green, style.bg.blue });

      _qs_chart_channels_layout (ch, w, h, NULL, &style, &plot);
      n = _qs_chart_channels_step_ticks (ch, &plot, &style, ticks, &top);
      g_assert_cmpuint (n, >=, 4);
      g_assert_cmpuint (n, <=, 6);
      g_assert_cmpfloat (ticks[0], ==, 0.0);
      g_assert_cmpfloat (top, >=, ch->scale_max);
      g_assert_cmpfloat (ticks[n - 1], <=, top);
      step = ticks[1] - ticks[0];
      {
        double q = step / pow (10.0, floor (log10 (step) + 1e-9));
        g_assert_true (fabs (q - 1) < 1e-6 || fabs (q - 2) < 1e-6 || fabs (q - 2.5) < 1e-6 ||
                       fabs (q - 5) < 1e-6 || fabs (q - 4) < 1e-6 || fabs (q - 3) < 1e-6 ||
                       fabs (q - 1.5) < 1e-6 || fabs (q - 6) < 1e-6 || fabs (q - 8) < 1e-6);
      }

      _qs_chart_channels_draw (cr, w, h, ch, FALSE, -1, NULL, &style);
      cairo_surface_flush (surface);
      for (gsize c = 0; c < ch->n; c++)
        {
          double bw = plot.width / ch->n, cx = plot.x + (c + 0.5) * bw;
          double cy = plot.y + plot.height * (1.0 - ch->scale[c] / top);
          double ya = plot.y + (ch->vmax - ch->max[c]) / (ch->vmax - ch->vmin) * plot.height;
          double yb = plot.y + (ch->vmax - ch->min[c]) / (ch->vmax - ch->vmin) * plot.height;

          g_assert_cmpint (channel_diff (pixel_at (surface, cx, cy), bg), <=, 2);
          bar_hits += cy > ya + 4 && cy < yb - 4;
        }
      /* the case that matters: rings on their bars */
      g_assert_cmpuint (bar_hits, >=, 4);
      cairo_destroy (cr);
      cairo_surface_destroy (surface);

      _qs_chart_channels_layout (ch_tensor, w, h, NULL, &style, &plot);
      g_assert_false (ch_tensor->per_channel);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qs/charts/colormap", test_colormap);
  g_test_add_func ("/qs/charts/ticks", test_ticks);
  g_test_add_func ("/qs/charts/axis-ticks", test_axis_ticks);
  g_test_add_func ("/qs/charts/histogram-labels-apart", test_histogram_labels_apart);
  g_test_add_func ("/qs/charts/heatmap-pixel", test_heatmap_pixel);
  g_test_add_func ("/qs/charts/heatmap-conv-tiles", test_heatmap_conv_tiles);
  g_test_add_func ("/qs/charts/heatmap-spike-downsampled", test_heatmap_spike_downsampled);
  g_test_add_func ("/qs/charts/histogram-clip", test_histogram_clip);
  g_test_add_func ("/qs/charts/histogram-clipped-matches-stats", test_histogram_clipped_matches_stats);
  g_test_add_func ("/qs/charts/histogram-channel", test_histogram_channel);
  g_test_add_func ("/qs/charts/channels-legend-fits", test_channels_legend_fits);
  g_test_add_func ("/qs/charts/channels-step-axis", test_channels_step_axis);
  g_test_add_func ("/qs/charts/histogram-float-grid", test_histogram_float_grid);
  g_test_add_func ("/qs/charts/export", test_export);
  return g_test_run ();
}
