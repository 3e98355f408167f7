/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qs-chart-private.h"
#include "qs-cli-bench.h"
#include "quantscope-core.h"

/* Frame times of the chart code at 1280 x 800 into a cairo image surface: after a data
 * change (new normalised data / map + image) and for a plain redraw, each as a ratio to a
 * memcpy of the same surface measured here. */

#define FRAME_W 1280
#define FRAME_H 800

typedef struct
{
  cairo_surface_t *surface;
  cairo_t         *cr;
  QsQuantResult   *result;
  QsChartStyle     style;
  /* heatmap */
  QsChartHeatmap  *heatmap;
  QsChartWindow    window;
  QsChartRect      plot;
  cairo_surface_t *image;
  QsErrorMap      *worker_map;
  /* histogram */
  QsChartHistogram *hist;
  /* memcpy baseline */
  guint8          *copy;
} Frame;

static void
frame_init (Frame *f)
{
  memset (f, 0, sizeof *f);
  f->surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, FRAME_W, FRAME_H);
  f->cr = cairo_create (f->surface);
  f->copy = g_malloc ((gsize) cairo_image_surface_get_stride (f->surface) * FRAME_H);
  qs_chart_style_init_light (&f->style);
}

static void
frame_clear (Frame *f)
{
  g_clear_pointer (&f->heatmap, _qs_chart_heatmap_free);
  g_clear_pointer (&f->hist, _qs_chart_histogram_free);
  g_clear_pointer (&f->image, cairo_surface_destroy);
  g_clear_pointer (&f->worker_map, qs_error_map_unref);
  g_clear_pointer (&f->result, qs_quant_result_unref);
  cairo_destroy (f->cr);
  cairo_surface_destroy (f->surface);
  g_free (f->copy);
}

static void
run_memcpy (gpointer data)
{
  Frame *f = data;

  cairo_surface_flush (f->surface);
  memcpy (f->copy, cairo_image_surface_get_data (f->surface),
          (gsize) cairo_image_surface_get_stride (f->surface) * FRAME_H);
}

static QsTensor *
random_tensor (const char *name,
               gsize       rows,
               gsize       cols)
{
  gsize shape[2] = { rows, cols };
  QsTensor *t = qs_tensor_new (name, 2, shape, NULL);
  guint32 s = 12345;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      float u1, u2;

      s = s * 1664525u + 1013904223u;
      u1 = ((s >> 8) + 1.0f) / 16777217.0f;
      s = s * 1664525u + 1013904223u;
      u2 = (s >> 8) / 16777216.0f;
      t->data[i] = 0.05f * sqrtf (-2.0f * logf (u1)) * cosf (6.2831853f * u2);
    }
  return t;
}

static void
heatmap_image (Frame      *f,
               QsErrorMap *map)
{
  guint pw = (guint) ceil (f->plot.width), ph = (guint) ceil (f->plot.height);

  if (f->image == NULL)
    f->image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, pw, ph);
  cairo_surface_flush (f->image);
  _qs_chart_heatmap_render (f->heatmap, map, (guint32 *) cairo_image_surface_get_data (f->image),
                            cairo_image_surface_get_stride (f->image), pw, ph);
  cairo_surface_mark_dirty (f->image);
}

static void
heatmap_draw (Frame *f)
{
  _qs_chart_heatmap_draw (f->cr, FRAME_W, FRAME_H, f->heatmap, &f->window, f->image,
                          cairo_image_surface_get_width (f->image),
                          cairo_image_surface_get_height (f->image), NULL, &f->style);
  _qs_chart_heatmap_draw_overlay (f->cr, f->heatmap, &f->plot, &f->window, FALSE, 0, 0, &f->style);
  cairo_surface_flush (f->surface);
}

/* Data change: the window's map computed from the tensor, coloured, drawn. */
static void
run_heatmap_recompute (gpointer data)
{
  Frame *f = data;
  g_autoptr(QsErrorMap) map = _qs_chart_heatmap_compute_map (f->heatmap, &f->window,
                                                             (guint) ceil (f->plot.width),
                                                             (guint) ceil (f->plot.height));
  heatmap_image (f, map);
  heatmap_draw (f);
}

/* Data change as the app sees it: the worker thread made the map; the main thread colours
 * the texture and draws. */
static void
run_heatmap_texture (gpointer data)
{
  Frame *f = data;

  heatmap_image (f, f->worker_map);
  heatmap_draw (f);
}

static void
run_heatmap_redraw (gpointer data)
{
  heatmap_draw (data);
}

static void
run_hist_change (gpointer data)
{
  Frame *f = data;

  g_clear_pointer (&f->hist, _qs_chart_histogram_free);
  f->hist = _qs_chart_histogram_new (f->result, -1, 256);
  _qs_chart_histogram_draw (f->cr, FRAME_W, FRAME_H, f->hist, FALSE, -1, NULL, &f->style);
  cairo_surface_flush (f->surface);
}

static void
run_hist_redraw (gpointer data)
{
  Frame *f = data;

  _qs_chart_histogram_draw (f->cr, FRAME_W, FRAME_H, f->hist, FALSE, -1, NULL, &f->style);
  cairo_surface_flush (f->surface);
}

static void
report (QsBench    *bench,
        const char *name,
        double      seconds,
        double      memcpy_seconds)
{
  qs_bench_add_ms (bench, name, seconds * 1e3, "vs_surface_memcpy", seconds / memcpy_seconds);
}

void
qs_bench_charts (QsBench *bench)
{
  gboolean quick = qs_bench_quick (bench);
  gsize n = quick ? 1024 : 4096;
  int reps = quick ? 3 : 15;
  g_autoptr(QsTensor) weights = random_tensor ("bench/kernel", n, n);
  g_autoptr(QsTensor) values = random_tensor ("bench/values", quick ? 256 : 1024, 1024);
  g_autofree char *name = NULL;
  QsQuantOptions opts = { 0 };
  QsQuantSpec spec;
  Frame f;
  double t_copy;

  qs_quant_spec_init (&spec);
  opts.want_codes = TRUE;
  opts.want_dequant = TRUE;

  frame_init (&f);
  t_copy = qs_bench_best_seconds (reps, run_memcpy, &f);

  /* heatmap */
  f.result = qs_quant_run (weights, &spec, &opts, NULL, NULL);
  if (f.result == NULL)
    {
      frame_clear (&f);
      return;
    }
  f.heatmap = _qs_chart_heatmap_new (f.result, QS_MAP_VALUE_ERROR);
  _qs_chart_heatmap_full_window (f.heatmap, &f.window);
  _qs_chart_heatmap_layout (f.heatmap, FRAME_W, FRAME_H, NULL, &f.style, &f.plot);
  f.worker_map = _qs_chart_heatmap_compute_map (f.heatmap, &f.window, (guint) ceil (f.plot.width),
                                                (guint) ceil (f.plot.height));
  run_heatmap_recompute (&f);

  name = g_strdup_printf ("charts-heatmap-%zu-map-recompute", n);
  report (bench, name, qs_bench_best_seconds (reps, run_heatmap_recompute, &f), t_copy);
  g_clear_pointer (&name, g_free);
  name = g_strdup_printf ("charts-heatmap-%zu-data-change", n);
  report (bench, name, qs_bench_best_seconds (reps, run_heatmap_texture, &f), t_copy);
  g_clear_pointer (&name, g_free);
  name = g_strdup_printf ("charts-heatmap-%zu-redraw", n);
  report (bench, name, qs_bench_best_seconds (reps, run_heatmap_redraw, &f), t_copy);
  g_clear_pointer (&name, g_free);

  /* histogram */
  g_clear_pointer (&f.heatmap, _qs_chart_heatmap_free);
  g_clear_pointer (&f.result, qs_quant_result_unref);
  f.result = qs_quant_run (values, &spec, &opts, NULL, NULL);
  if (f.result != NULL)
    {
      f.hist = _qs_chart_histogram_new (f.result, -1, 256);
      name = g_strdup_printf ("charts-histogram-%zu-data-change", values->n_elements);
      report (bench, name, qs_bench_best_seconds (reps, run_hist_change, &f), t_copy);
      g_clear_pointer (&name, g_free);
      name = g_strdup_printf ("charts-histogram-%zu-redraw", values->n_elements);
      report (bench, name, qs_bench_best_seconds (reps, run_hist_redraw, &f), t_copy);
      g_clear_pointer (&name, g_free);
    }
  frame_clear (&f);
}
