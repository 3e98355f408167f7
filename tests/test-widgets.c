/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "qs-channel-range-view.h"
#include "qs-chart-view-private.h"
#include "qs-eval-view.h"
#include "qs-colormap.h"
#include "qs-heatmap-view-private.h"
#include "qs-histogram-view.h"
#include "qs-scatter-chart-view.h"
#include "quantscope-core.h"

/* The chart widgets rendered offscreen (GSK cairo renderer) under Xvfb, in light and dark.
 * Skips without a display. PNGs go to $QS_WIDGETS_PNG_DIR (default: a temp folder). */

static char *png_dir;

static void
iterate_until_sized (GtkWidget *widget)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < end &&
         (!gtk_widget_get_mapped (widget) || gtk_widget_get_width (widget) < 50 ||
          gtk_widget_get_height (widget) < 50))
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  /* a few more frames for pending layout */
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (gtk_widget_get_mapped (widget));
  g_assert_cmpint (gtk_widget_get_width (widget), >=, 50);
}

/* Lets pending layout and drawing run (Xvfb without a compositor may not advance the
 * frame counter: give up after 100 ms), so the widget paintable has a current picture. */
static void
wait_for_frames (GtkWidget *widget)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  gint64 start, end = g_get_monotonic_time () + 100 * 1000;

  g_assert_nonnull (clock);
  start = gdk_frame_clock_get_frame_counter (clock);
  gtk_widget_queue_draw (widget);
  while (gdk_frame_clock_get_frame_counter (clock) < start + 2 && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* Renders a node of w x h to premultiplied ARGB32 pixels with the cairo renderer (takes the
 * node); optionally saves a PNG into png_dir. */
static guint32 *
node_to_pixels (GskRenderNode *node,
                int            w,
                int            h,
                const char    *png_name,
                int           *width,
                int           *height)
{
  g_autoptr(GskRenderer) renderer = gsk_cairo_renderer_new ();
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GError) error = NULL;
  guint32 *pixels;

  g_assert_true (gsk_renderer_realize (renderer, NULL, &error));
  g_assert_no_error (error);
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  gsk_renderer_unrealize (renderer);
  gsk_render_node_unref (node);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, w);

  pixels = g_new (guint32, (gsize) w * h);
  gdk_texture_download (texture, (guchar *) pixels, (gsize) w * 4);
  if (png_name != NULL)
    {
      g_autofree char *path = g_build_filename (png_dir, png_name, NULL);
      g_assert_true (gdk_texture_save_to_png (texture, path));
      g_test_message ("rendered %s", path);
    }
  *width = w;
  *height = h;
  return pixels;
}

/* Renders widget into premultiplied ARGB32 pixels of its size; optionally saves a PNG. */
static guint32 *
render (GtkWidget  *widget,
        const char *png_name,
        int        *width,
        int        *height)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GskRenderNode *node;
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);

  /* The heatmap colours its texture in a worker: on a busy machine the first frames can
   * come before it (the view then draws nothing yet). */
  if (QS_IS_HEATMAP_VIEW (widget))
    {
      gint64 end = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
      while (_qs_heatmap_view_texture_pending (QS_HEATMAP_VIEW (widget)) && g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, TRUE);
    }
  wait_for_frames (widget);
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  /* The paintable shows the widget's last frame: on a busy machine the first one may not
   * have been drawn within wait_for_frames' 100 ms. */
  for (gint64 end = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
       node == NULL && g_get_monotonic_time () < end;)
    {
      wait_for_frames (widget);
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snapshot, w, h);
      node = gtk_snapshot_free_to_node (snapshot);
    }
  if (node == NULL)
    g_error ("%s (%d x %d, mapped %d) drew nothing", G_OBJECT_TYPE_NAME (widget), w, h,
             gtk_widget_get_mapped (widget));
  return node_to_pixels (node, w, h, png_name, width, height);
}

static guint32
pixel (const guint32 *pixels,
       int            width,
       double         x,
       double         y)
{
  return pixels[(int) floor (y) * width + (int) floor (x)];
}

static int
channel_diff (guint32 a,
              guint32 b)
{
  int d = 0;

  for (int shift = 0; shift < 32; shift += 8)
    d = MAX (d, abs ((int) ((a >> shift) & 0xff) - (int) ((b >> shift) & 0xff)));
  return d;
}

static QsQuantResult *
planted_result (gsize rows,
                gsize cols,
                gsize planted_row,
                gsize planted_col)
{
  gsize shape[] = { rows, cols };
  g_autoptr(QsTensor) t = qs_tensor_new ("dense_1/kernel", 2, shape, NULL);
  QsQuantOptions opts = { 0 };
  QsQuantSpec spec;
  guint32 s = 11;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      s = s * 1664525u + 1013904223u;
      t->data[i] = ((s >> 8) / 16777216.0f - 0.5f) * 0.06f;
    }
  t->data[0] = 1.0f;
  t->data[planted_row * cols + planted_col] = 1.45f / 7.0f;
  qs_quant_spec_init (&spec);
  spec.bits = 4;
  spec.granularity = QS_GRANULARITY_TENSOR;
  opts.want_codes = opts.want_dequant = TRUE;
  return qs_quant_run (t, &spec, &opts, NULL, NULL);
}

static QsQuantResult *
gaussian_result (gboolean per_channel,
                 gboolean clip)
{
  gsize shape[] = { 3, 3, 32, 48 };
  g_autoptr(QsTensor) t = qs_tensor_new ("conv2d_3/kernel", 4, shape, NULL);
  QsQuantOptions opts = { 0 };
  QsQuantSpec spec;
  guint32 s = 5;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_CONV2D);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      float u1, u2, channel_scale = 0.02f + 0.1f * (float) ((i % 48) * 7 % 48) / 48.0f;

      s = s * 1664525u + 1013904223u;
      u1 = ((s >> 8) + 1.0f) / 16777217.0f;
      s = s * 1664525u + 1013904223u;
      u2 = (s >> 8) / 16777216.0f;
      t->data[i] = channel_scale * sqrtf (-2.0f * logf (u1)) * cosf (6.2831853f * u2);
    }
  t->data[100] = 0.9f;
  qs_quant_spec_init (&spec);
  spec.bits = 4;
  spec.granularity = per_channel ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
  if (clip)
    {
      spec.range_method = QS_RANGE_PERCENTILE;
      spec.range_param = 99.5;
    }
  opts.want_codes = opts.want_dequant = TRUE;
  return qs_quant_run (t, &spec, &opts, NULL, NULL);
}

static GtkWidget *
show_in_window (GtkWidget *child,
                int        width,
                int        height)
{
  GtkWidget *window = gtk_window_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_set_child (GTK_WINDOW (window), child);
  gtk_window_present (GTK_WINDOW (window));
  iterate_until_sized (child);
  return window;
}

static void
set_dark (gboolean dark)
{
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", dark, NULL);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
on_export_requested (GtkWidget *widget,
                     int       *count)
{
  (*count)++;
}

static void
test_heatmap_view (void)
{
  g_autoptr(QsQuantResult) result = planted_result (40, 24, 17, 9);
  GtkWidget *view = qs_heatmap_view_new ();
  GtkWidget *window;
  g_autofree guint32 *pixels = NULL;
  g_autoptr(QsChartHeatmap) hm = NULL;
  g_autofree char *export_path = g_build_filename (png_dir, "heatmap-export.png", NULL);
  g_autoptr(GdkTexture) exported = NULL;
  g_autoptr(GError) error = NULL;
  QsChartStyle style;
  QsChartRect plot;
  double err, rgb[3];
  guint32 expect;
  int w, h, exports = 0;

  g_assert_nonnull (result);
  set_dark (FALSE);
  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (view), result);
  window = show_in_window (view, 720, 480);

  /* the planted weight's cell has the diverging map's end colour */
  pixels = render (view, "heatmap-light.png", &w, &h);
  err = (double) result->dequant->data[17 * 24 + 9] - result->input->data[17 * 24 + 9];
  g_assert_cmpfloat_with_epsilon (fabs (err), result->stats.max_abs_error, 1e-7);
  qs_colormap_diverging (err / result->stats.max_abs_error, rgb);
  expect = qs_colormap_rgb_to_argb32 (rgb);
  _qs_chart_view_get_style (view, &style);
  g_assert_false (style.dark);
  hm = _qs_chart_heatmap_new (result, QS_MAP_VALUE_ERROR);
  _qs_chart_heatmap_layout (hm, w, h, NULL, &style, &plot);
  g_assert_cmpint (channel_diff (pixel (pixels, w, plot.x + (9 + 0.5) * plot.width / 24,
                                        plot.y + (17 + 0.5) * plot.height / 40), expect), <=, 2);
  g_clear_pointer (&pixels, g_free);

  /* zoomed to rows 10..29, columns 5..14: the cell moves accordingly */
  qs_heatmap_view_set_window (QS_HEATMAP_VIEW (view), 10, 5, 20, 10);
  pixels = render (view, NULL, &w, &h);
  g_assert_cmpint (channel_diff (pixel (pixels, w, plot.x + (4 + 0.5) * plot.width / 10,
                                        plot.y + (7 + 0.5) * plot.height / 20), expect), <=, 2);
  g_clear_pointer (&pixels, g_free);

  /* the mode property action: |error| on the sequential map, the planted cell at its top */
  gtk_widget_activate_action (view, "chart.mode", "s", "abs-error");
  g_assert_cmpint (qs_heatmap_view_get_mode (QS_HEATMAP_VIEW (view)), ==, QS_MAP_VALUE_ABS_ERROR);
  qs_colormap_sequential (1.0, rgb);
  pixels = render (view, NULL, &w, &h);
  g_assert_cmpint (channel_diff (pixel (pixels, w, plot.x + (4 + 0.5) * plot.width / 10,
                                        plot.y + (7 + 0.5) * plot.height / 20),
                                 qs_colormap_rgb_to_argb32 (rgb)), <=, 2);
  g_clear_pointer (&pixels, g_free);
  g_assert_nonnull (strstr (qs_heatmap_view_get_description (QS_HEATMAP_VIEW (view)), "dense_1/kernel"));

  /* dark theme */
  qs_heatmap_view_set_mode (QS_HEATMAP_VIEW (view), QS_MAP_VALUE_ERROR);
  qs_heatmap_view_reset_zoom (QS_HEATMAP_VIEW (view));
  set_dark (TRUE);
  _qs_chart_view_get_style (view, &style);
  g_assert_true (style.dark);
  pixels = render (view, NULL, &w, &h);
  g_clear_pointer (&pixels, g_free);

  /* context menu action and export */
  g_signal_connect (view, "export-requested", G_CALLBACK (on_export_requested), &exports);
  gtk_widget_activate_action (view, "chart.export", NULL);
  g_assert_cmpint (exports, ==, 1);
  g_assert_true (qs_heatmap_view_export (QS_HEATMAP_VIEW (view), export_path, 2.0, &error));
  g_assert_no_error (error);
  exported = gdk_texture_new_from_filename (export_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (exported), ==, 2 * w);
  g_assert_cmpint (gdk_texture_get_height (exported), ==, 2 * h);
  g_remove (export_path);

  set_dark (FALSE);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* A result of 1M values or more is binned in a worker: the view keeps drawing the previous
 * data, then installs the newest result's (a request made meanwhile cancels the older) with
 * the same description the frame-time path gives. */
static QsQuantResult *
big_result (guint bits)
{
  gsize shape[] = { 1024, 1024 };
  g_autoptr(QsTensor) t = qs_tensor_new ("dense_big/kernel", 2, shape, NULL);
  QsQuantOptions opts = { 0 };
  QsQuantSpec spec;
  guint32 s = 9;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      s = s * 1664525u + 1013904223u;
      t->data[i] = 0.1f * ((float) (s >> 8) / 16777216.0f - 0.5f);
    }
  qs_quant_spec_init (&spec);
  spec.bits = bits;
  opts.want_dequant = TRUE;
  return qs_quant_run (t, &spec, &opts, NULL, NULL);
}

static void
test_histogram_view_worker (void)
{
  g_autoptr(QsQuantResult) small = gaussian_result (FALSE, TRUE);
  g_autoptr(QsQuantResult) big4 = big_result (4);
  g_autoptr(QsQuantResult) big8 = big_result (8);
  g_autoptr(QsChartHistogram) expected = NULL;
  g_autofree char *expected_text = NULL;
  g_autofree char *small_text = NULL;
  GtkWidget *view = qs_histogram_view_new ();
  GtkWidget *window;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  int w, h;

  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (view), small);
  window = show_in_window (view, 800, 480);
  g_free (render (view, NULL, &w, &h));
  small_text = g_strdup (qs_histogram_view_get_description (QS_HISTOGRAM_VIEW (view)));

  /* two big results in a row: the view keeps the small result's description meanwhile */
  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (view), big4);
  g_assert_cmpstr (qs_histogram_view_get_description (QS_HISTOGRAM_VIEW (view)), ==, small_text);
  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (view), big8);
  expected = _qs_chart_histogram_new (big8, -1, 128);
  expected_text = _qs_chart_histogram_describe (expected);
  while (g_strcmp0 (qs_histogram_view_get_description (QS_HISTOGRAM_VIEW (view)), small_text) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  /* the newest result's data; the frame may ask for another bin count, same text */
  g_assert_cmpstr (qs_histogram_view_get_description (QS_HISTOGRAM_VIEW (view)), ==, expected_text);
  g_free (render (view, NULL, &w, &h));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The channel ranges of a big result are computed in a worker: the small result's stay
 * meanwhile, a newer big result supersedes the running build, and what arrives is what a
 * synchronous build gives. */
static void
test_channel_view_worker (void)
{
  g_autoptr(QsQuantResult) small = gaussian_result (FALSE, TRUE);
  g_autoptr(QsQuantResult) big4 = big_result (4);
  g_autoptr(QsQuantResult) big8 = big_result (8);
  g_autoptr(QsChartChannels) expected = NULL;
  g_autofree char *expected_text = NULL;
  g_autofree char *small_text = NULL;
  GtkWidget *view = qs_channel_range_view_new ();
  GtkWidget *window;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  int w, h;

  qs_channel_range_view_set_result (QS_CHANNEL_RANGE_VIEW (view), small);
  window = show_in_window (view, 800, 480);
  small_text = g_strdup (qs_channel_range_view_get_description (QS_CHANNEL_RANGE_VIEW (view)));

  qs_channel_range_view_set_result (QS_CHANNEL_RANGE_VIEW (view), big4);
  g_assert_cmpstr (qs_channel_range_view_get_description (QS_CHANNEL_RANGE_VIEW (view)), ==, small_text);
  qs_channel_range_view_set_result (QS_CHANNEL_RANGE_VIEW (view), big8);
  expected = _qs_chart_channels_new (big8);
  expected_text = _qs_chart_channels_describe (expected);
  while (g_strcmp0 (qs_channel_range_view_get_description (QS_CHANNEL_RANGE_VIEW (view)), small_text) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_cmpstr (qs_channel_range_view_get_description (QS_CHANNEL_RANGE_VIEW (view)), ==, expected_text);
  g_free (render (view, NULL, &w, &h));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* A big layer's estimate (a sample of its rows) does not replace the heatmap: the previous
 * picture and its zoom stay, and the exact result of the same shape keeps the zoom. */
static void
test_heatmap_view_estimate (void)
{
  g_autoptr(QsQuantResult) exact4 = big_result (4);
  g_autoptr(QsQuantResult) exact8 = big_result (8);
  g_autoptr(QsQuantResult) estimate = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *view = qs_heatmap_view_new ();
  GtkWidget *window;
  QsChartWindow zoom, seen;
  QsQuantSpec spec;

  qs_quant_spec_init (&spec);
  estimate = qs_quant_run_estimate (exact8->input, &spec, NULL, 64 * 1024, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (estimate->is_estimate);

  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (view), exact4);
  window = show_in_window (view, 640, 480);
  qs_heatmap_view_set_window (QS_HEATMAP_VIEW (view), 256, 512, 128, 128);
  _qs_heatmap_view_get_window (QS_HEATMAP_VIEW (view), &zoom);
  g_assert_cmpuint (zoom.rows, ==, 128);

  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (view), estimate);
  _qs_heatmap_view_get_window (QS_HEATMAP_VIEW (view), &seen);
  g_assert_cmpmem (&seen, sizeof seen, &zoom, sizeof zoom);
  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (view), exact8);
  _qs_heatmap_view_get_window (QS_HEATMAP_VIEW (view), &seen);
  g_assert_cmpmem (&seen, sizeof seen, &zoom, sizeof zoom);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_histogram_view (void)
{
  g_autoptr(QsQuantResult) result = gaussian_result (FALSE, TRUE);
  g_autoptr(QsQuantResult) per_channel = gaussian_result (TRUE, FALSE);
  g_autoptr(QsChartHistogram) hist = NULL;
  GtkWidget *view = qs_histogram_view_new ();
  GtkWidget *window;
  g_autofree guint32 *pixels = NULL;
  QsChartStyle style;
  QsChartRect plot;
  double xl, xr, y;
  int w, h;

  g_assert_nonnull (result);
  set_dark (FALSE);
  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (view), result);
  window = show_in_window (view, 800, 480);
  pixels = render (view, "histogram-light.png", &w, &h);

  /* the widget draws on the window background: shaded outer regions are the clip colour
   * at 14 % alpha, the inside of the range is transparent above the bars */
  _qs_chart_view_get_style (view, &style);
  {
    int ph = 0;
    GtkWidget *picker = gtk_widget_get_first_child (view);

    while (picker != NULL && !GTK_IS_BOX (picker))
      picker = gtk_widget_get_next_sibling (picker);
    g_assert_nonnull (picker);
    g_assert_true (gtk_widget_get_visible (picker));   /* 48 channels: a channel picker */
    gtk_widget_measure (picker, GTK_ORIENTATION_VERTICAL, -1, NULL, &ph, NULL, NULL);
    hist = _qs_chart_histogram_new (result, -1, 128);
    _qs_chart_histogram_layout (hist, w, h - ph, NULL, &style, &plot);
    plot.y += ph;
  }
  xl = _qs_chart_histogram_x_of (hist, &plot, result->params->clip_lo[0]);
  xr = _qs_chart_histogram_x_of (hist, &plot, result->params->clip_hi[0]);
  y = plot.y + plot.height * 0.5;
  g_assert_cmpfloat (xr - xl, >, 20);
  g_assert_cmpfloat (plot.x + plot.width - xr, >, 20);
  {
    guint32 outside = pixel (pixels, w, (xr + plot.x + plot.width) / 2 + 3, y);
    guint32 inside = pixel (pixels, w, (xl + xr) / 2 + 0.25 * (xr - xl), y);
    guint alpha_out = outside >> 24, alpha_in = inside >> 24;

    g_assert_cmpuint (alpha_out, >=, (guint) (0.14 * 255) - 3);
    g_assert_cmpuint (alpha_out, <=, (guint) (0.14 * 255) + 3);
    g_assert_cmpuint (alpha_in, <=, 3);
  }
  g_clear_pointer (&pixels, g_free);

  gtk_widget_activate_action (view, "chart.log-scale", NULL);
  g_assert_true (qs_histogram_view_get_log_scale (QS_HISTOGRAM_VIEW (view)));

  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (view), per_channel);
  qs_histogram_view_set_channel (QS_HISTOGRAM_VIEW (view), 7);
  g_assert_nonnull (strstr (qs_histogram_view_get_description (QS_HISTOGRAM_VIEW (view)), "channel 7"));
  for (int i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  pixels = render (view, "histogram-channel-light.png", &w, &h);
  g_clear_pointer (&pixels, g_free);

  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (view), result);
  qs_histogram_view_set_channel (QS_HISTOGRAM_VIEW (view), -1);
  qs_histogram_view_set_log_scale (QS_HISTOGRAM_VIEW (view), FALSE);
  set_dark (TRUE);
  _qs_chart_view_get_style (view, &style);
  g_assert_true (style.dark);
  pixels = render (window, "histogram-dark.png", &w, &h);
  g_clear_pointer (&pixels, g_free);
  set_dark (FALSE);
  pixels = render (window, "histogram-window-light.png", &w, &h);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_channel_view (void)
{
  g_autoptr(QsQuantResult) result = gaussian_result (TRUE, FALSE);
  GtkWidget *view = qs_channel_range_view_new ();
  GtkWidget *window;
  g_autofree guint32 *pixels = NULL;
  int w, h;

  g_assert_nonnull (result);
  set_dark (FALSE);
  qs_channel_range_view_set_result (QS_CHANNEL_RANGE_VIEW (view), result);
  window = show_in_window (view, 800, 420);
  g_assert_nonnull (strstr (qs_channel_range_view_get_description (QS_CHANNEL_RANGE_VIEW (view)),
                            "48 output channels"));
  pixels = render (window, "channels-light.png", &w, &h);
  g_clear_pointer (&pixels, g_free);
  gtk_widget_activate_action (view, "chart.sorted", NULL);
  g_assert_true (qs_channel_range_view_get_sorted (QS_CHANNEL_RANGE_VIEW (view)));
  set_dark (TRUE);
  pixels = render (window, "channels-dark.png", &w, &h);
  g_clear_pointer (&pixels, g_free);
  set_dark (FALSE);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The layer page's default chart width (about 520 px) and a narrower one, light and dark,
 * per channel and per tensor: the Channel Ranges legend and note wrap instead of being cut
 * (measured with the widget's own style), and the histogram keeps 5 to 8 value labels and
 * labels that do not overlap. */
static void
test_narrow_charts (void)
{
  g_autoptr(QsQuantResult) per_channel = gaussian_result (TRUE, FALSE);
  g_autoptr(QsQuantResult) per_tensor = gaussian_result (FALSE, TRUE);
  int widths[] = { 520, 400 };

  for (guint wi = 0; wi < G_N_ELEMENTS (widths); wi++)
    for (int dark = 0; dark < 2; dark++)
      for (int pc = 0; pc < 2; pc++)
        {
          QsQuantResult *result = pc ? per_channel : per_tensor;
          GtkWidget *channels = qs_channel_range_view_new ();
          GtkWidget *histogram = qs_histogram_view_new ();
          GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
          GtkWidget *window;
          g_autofree guint32 *pixels = NULL;
          g_autofree char *name = g_strdup_printf ("narrow-%d-%s-%s.png", widths[wi],
                                                   pc ? "channel" : "tensor",
                                                   dark ? "dark" : "light");
          QsChartStyle style;
          int w, h;

          set_dark (dark);
          gtk_widget_set_vexpand (channels, TRUE);
          gtk_widget_set_vexpand (histogram, TRUE);
          gtk_box_append (GTK_BOX (box), channels);
          gtk_box_append (GTK_BOX (box), histogram);
          qs_channel_range_view_set_result (QS_CHANNEL_RANGE_VIEW (channels), result);
          qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (histogram), result);
          window = show_in_window (box, widths[wi], 640);
          iterate_until_sized (channels);
          iterate_until_sized (histogram);
          pixels = render (window, name, &w, &h);

          _qs_chart_view_get_style (channels, &style);
          g_assert_cmpint (style.dark, ==, dark);
          {
            cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 8, 8);
            cairo_t *cr = cairo_create (surface);
            g_autoptr(QsChartChannels) ch = _qs_chart_channels_new (result);
            g_autoptr(QsChartHistogram) hist = _qs_chart_histogram_new (result, -1, 128);
            g_autoptr(GArray) legend = NULL, labels = NULL;
            double legend_h, cw = gtk_widget_get_width (channels), ticks[16];
            QsChartRect plot;
            guint n;

            g_assert_cmpfloat (cw, <=, widths[wi]);
            legend = _qs_chart_channels_legend (cr, ch, cw, 8, &style, &legend_h);
            for (guint i = 0; i < legend->len; i++)
              {
                const QsChartLegendEntry *e = &g_array_index (legend, QsChartLegendEntry, i);

                if (e->ellipsized)
                  g_error ("%s: “%s” is cut", name, e->text);
                g_assert_cmpfloat (e->rect.x + e->rect.width, <=, cw);
              }
            {
              g_autoptr(GArray) hlegend = NULL;
              double hw = gtk_widget_get_width (histogram), hlegend_h;

              /* the histogram's legend (the clipped count among it) wraps too */
              hlegend = _qs_chart_histogram_legend (cr, hist, hw, 8, TRUE, &style, &hlegend_h);
              for (guint i = 0; i < hlegend->len; i++)
                {
                  const QsChartLegendEntry *e = &g_array_index (hlegend, QsChartLegendEntry, i);

                  if (e->ellipsized)
                    g_error ("%s: “%s” is cut", name, e->text);
                  g_assert_cmpfloat (e->rect.x + e->rect.width, <=, hw);
                }
            }
            _qs_chart_histogram_layout (hist, gtk_widget_get_width (histogram),
                                        gtk_widget_get_height (histogram), NULL, &style, &plot);
            n = _qs_chart_histogram_x_ticks (cr, hist, &plot, &style, ticks);
            g_assert_cmpuint (n, >=, 5);
            g_assert_cmpuint (n, <=, 8);
            labels = _qs_chart_histogram_labels (cr, hist, &plot, FALSE, &style);
            for (guint i = 0; i < labels->len; i++)
              for (guint j = i + 1; j < labels->len; j++)
                g_assert_false (_qs_chart_rect_intersects (&g_array_index (labels, QsChartLabel, i).rect,
                                                           &g_array_index (labels, QsChartLabel, j).rect));
            cairo_destroy (cr);
            cairo_surface_destroy (surface);
          }
          gtk_window_destroy (GTK_WINDOW (window));
        }
  set_dark (FALSE);
}

static void
test_heatmap_conv_views (void)
{
  g_autoptr(QsQuantResult) result = gaussian_result (TRUE, FALSE);
  GtkWidget *view = qs_heatmap_view_new ();
  GtkWidget *window;
  g_autofree guint32 *pixels = NULL;
  int w, h;

  set_dark (FALSE);
  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (view), result);
  window = show_in_window (view, 900, 520);
  pixels = render (window, "heatmap-conv-light.png", &w, &h);
  g_clear_pointer (&pixels, g_free);
  qs_heatmap_view_set_window (QS_HEATMAP_VIEW (view), 0, 0, 24, 36);
  set_dark (TRUE);
  pixels = render (window, "heatmap-conv-zoom-dark.png", &w, &h);
  g_clear_pointer (&pixels, g_free);
  set_dark (FALSE);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
assert_window (QsHeatmapView *view,
               gsize          row0,
               gsize          col0,
               gsize          rows,
               gsize          cols)
{
  QsChartWindow w;

  _qs_heatmap_view_get_window (view, &w);
  if (w.row0 != row0 || w.col0 != col0 || w.rows != rows || w.cols != cols)
    g_error ("window is rows %" G_GSIZE_FORMAT "+%" G_GSIZE_FORMAT ", cols %" G_GSIZE_FORMAT
             "+%" G_GSIZE_FORMAT "; expected rows %" G_GSIZE_FORMAT "+%" G_GSIZE_FORMAT
             ", cols %" G_GSIZE_FORMAT "+%" G_GSIZE_FORMAT,
             w.row0, w.rows, w.col0, w.cols, row0, rows, col0, cols);
}

/* Presses a key the way GTK does: the widget's class shortcut for keyval activates its
 * action with its arguments. Returns whether the key was used (FALSE lets it propagate). */
static gboolean
press_key (GtkWidget *widget,
           guint      keyval)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);
  g_autoptr(GtkShortcutTrigger) trigger = gtk_keyval_trigger_new (keyval, 0);
  gboolean found = FALSE, used = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !found; i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)) && !found; j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);

          if (!gtk_shortcut_trigger_equal (gtk_shortcut_get_trigger (shortcut), trigger))
            continue;
          found = TRUE;
          used = gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, widget,
                                               gtk_shortcut_get_arguments (shortcut));
        }
    }
  if (!found)
    g_error ("no shortcut for key %s", gdk_keyval_name (keyval));
  return used;
}

/* Zoom and pan through the code the scroll, drag and zoom controllers and the key
 * shortcuts call: windows change as computed and clamp at the matrix bounds; plain
 * scroll is left to the page unless zoomed in; the hover readout names the cell. */
static void
test_heatmap_interaction (void)
{
  g_autoptr(QsQuantResult) result = planted_result (40, 24, 17, 9);
  QsHeatmapView *view = QS_HEATMAP_VIEW (qs_heatmap_view_new ());
  g_autofree guint32 *pixels = NULL;
  g_autofree char *text = NULL, *expect_value = NULL, *expect_dq = NULL, *expect_err = NULL;
  g_autofree char *line = NULL;
  GtkWidget *window;
  QsChartRect plot;
  QsChartWindow win;
  double rgb[3], err;
  gsize idx = 17 * 24 + 9;
  int w, h;

  g_assert_nonnull (result);
  set_dark (FALSE);
  qs_heatmap_view_set_result (view, result);
  window = show_in_window (GTK_WIDGET (view), 720, 480);
  _qs_heatmap_view_get_plot (view, &plot);
  g_assert_cmpfloat (plot.width, >, 100);
  g_assert_cmpfloat (plot.height, >, 100);
  assert_window (view, 0, 0, 40, 24);

  /* not zoomed: plain scroll, arrows and "zoom out" are not used (the page scrolls) */
  g_assert_false (_qs_heatmap_view_scroll (view, plot.x + 10, plot.y + 10, 0, 1,
                                           GDK_SCROLL_UNIT_WHEEL, 0));
  g_assert_false (_qs_heatmap_view_scroll (view, plot.x + 10, plot.y + 10, 0, 12,
                                           GDK_SCROLL_UNIT_SURFACE, 0));
  g_assert_false (press_key (GTK_WIDGET (view), GDK_KEY_Down));
  g_assert_false (press_key (GTK_WIDGET (view), GDK_KEY_minus));
  assert_window (view, 0, 0, 40, 24);

  /* Ctrl+wheel up zooms 1.25x keeping the matrix point under the pointer: at a quarter
   * of the width and half the height, that is column 6, row 20 */
  g_assert_true (_qs_heatmap_view_scroll (view, plot.x + 0.25 * plot.width,
                                          plot.y + 0.5 * plot.height, 0, -1,
                                          GDK_SCROLL_UNIT_WHEEL, GDK_CONTROL_MASK));
  assert_window (view, 4, 1, 32, 19);   /* 40 / 1.25, 24 / 1.25; 20 - 16, 6 - 4.75 */

  /* the zoomed image: the planted weight (row 17, column 9) moved to (13, 8) */
  pixels = render (GTK_WIDGET (view), "heatmap-zoomed-light.png", &w, &h);
  err = (double) result->dequant->data[idx] - result->input->data[idx];
  qs_colormap_diverging (err / result->stats.max_abs_error, rgb);
  g_assert_cmpint (channel_diff (pixel (pixels, w, plot.x + (8 + 0.5) * plot.width / 19,
                                        plot.y + (13 + 0.5) * plot.height / 32),
                                 qs_colormap_rgb_to_argb32 (rgb)), <=, 2);
  g_clear_pointer (&pixels, g_free);

  /* zoomed: wheel pans by a tenth of the window, Shift+wheel sideways */
  g_assert_true (_qs_heatmap_view_scroll (view, 0, 0, 0, 1, GDK_SCROLL_UNIT_WHEEL, 0));
  assert_window (view, 7, 1, 32, 19);
  g_assert_true (_qs_heatmap_view_scroll (view, 0, 0, 0, 1, GDK_SCROLL_UNIT_WHEEL,
                                          GDK_SHIFT_MASK));
  assert_window (view, 7, 3, 32, 19);
  /* down to the last row, then the scroll goes to the page */
  g_assert_true (_qs_heatmap_view_scroll (view, 0, 0, 0, 1, GDK_SCROLL_UNIT_WHEEL, 0));
  assert_window (view, 8, 3, 32, 19);
  g_assert_false (_qs_heatmap_view_scroll (view, 0, 0, 0, 1, GDK_SCROLL_UNIT_WHEEL, 0));
  assert_window (view, 8, 3, 32, 19);
  /* touchpad: quarter-cell steps add up, four to a row */
  for (int i = 0; i < 8; i++)
    g_assert_true (_qs_heatmap_view_scroll (view, 0, 0, 0, -0.25 * plot.height / 32,
                                            GDK_SCROLL_UNIT_SURFACE, 0));
  assert_window (view, 6, 3, 32, 19);

  /* keys: arrows pan by a tenth of the window, + zooms around the centre */
  g_assert_true (press_key (GTK_WIDGET (view), GDK_KEY_Right));
  assert_window (view, 6, 5, 32, 19);
  g_assert_true (press_key (GTK_WIDGET (view), GDK_KEY_Up));
  assert_window (view, 3, 5, 32, 19);
  g_assert_true (press_key (GTK_WIDGET (view), GDK_KEY_Left));
  g_assert_true (press_key (GTK_WIDGET (view), GDK_KEY_Left));
  g_assert_true (press_key (GTK_WIDGET (view), GDK_KEY_Left));
  assert_window (view, 3, 0, 32, 19);   /* clamped at column 0 */
  g_assert_true (press_key (GTK_WIDGET (view), GDK_KEY_plus));
  assert_window (view, 6, 2, 26, 15);   /* centre (19, 9.5) kept */
  g_assert_true (press_key (GTK_WIDGET (view), GDK_KEY_0));
  assert_window (view, 0, 0, 40, 24);
  g_assert_false (press_key (GTK_WIDGET (view), GDK_KEY_0));

  /* zooming in stops at 4 x 4 cells; out, at the whole matrix */
  for (int i = 0; i < 30; i++)
    _qs_heatmap_view_scroll (view, plot.x + plot.width - 1, plot.y + plot.height - 1, 0, -1,
                             GDK_SCROLL_UNIT_WHEEL, GDK_CONTROL_MASK);
  assert_window (view, 36, 20, 4, 4);   /* anchored at the bottom-right corner */
  g_assert_false (press_key (GTK_WIDGET (view), GDK_KEY_plus));
  for (int i = 0; i < 30; i++)
    _qs_heatmap_view_scroll (view, plot.x + 1, plot.y + 1, 0, 3, GDK_SCROLL_UNIT_WHEEL,
                             GDK_CONTROL_MASK);
  assert_window (view, 0, 0, 40, 24);
  g_assert_false (_qs_heatmap_view_scroll (view, 0, 0, 0, 1, GDK_SCROLL_UNIT_WHEEL, 0));

  /* pinch: scale 2 around the plot centre halves the window; a far pinch out clamps */
  _qs_heatmap_view_pinch_begin (view);
  _qs_heatmap_view_pinch_update (view, 2.0, plot.x + plot.width / 2, plot.y + plot.height / 2);
  assert_window (view, 10, 6, 20, 12);
  _qs_heatmap_view_pinch_update (view, 1.0, plot.x + plot.width / 2, plot.y + plot.height / 2);
  assert_window (view, 0, 0, 40, 24);   /* relative to where the gesture began */
  _qs_heatmap_view_pinch_update (view, 2.0, plot.x, plot.y);
  assert_window (view, 0, 0, 20, 12);
  _qs_heatmap_view_pinch_begin (view);
  _qs_heatmap_view_pinch_update (view, 0.05, plot.x + plot.width / 2, plot.y + plot.height / 2);
  assert_window (view, 0, 0, 40, 24);

  /* drag: the content follows the pointer; clamped at the far edge */
  qs_heatmap_view_set_window (view, 10, 5, 20, 10);
  _qs_heatmap_view_drag_begin (view);
  _qs_heatmap_view_drag_update (view, -plot.width / 2, plot.height / 4);
  assert_window (view, 5, 10, 20, 10);
  _qs_heatmap_view_drag_update (view, -10 * plot.width, -10 * plot.height);
  assert_window (view, 20, 14, 20, 10);

  /* hover readout of the planted weight in the window rows 10..29, columns 5..14 */
  qs_heatmap_view_set_window (view, 10, 5, 20, 10);
  _qs_heatmap_view_pointer_moved (view, plot.x + (4 + 0.5) * plot.width / 10,
                                  plot.y + (7 + 0.5) * plot.height / 20);
  text = _qs_heatmap_view_hover_text (view);
  g_assert_nonnull (text);
  expect_value = _qs_chart_format_value (result->input->data[idx]);
  expect_dq = _qs_chart_format_value (result->dequant->data[idx]);
  expect_err = _qs_chart_format_value (err);
  g_test_message ("hover: %s", text);
  g_assert_nonnull (strstr (text, "Row 17, column 9\n"));
  line = g_strdup_printf ("Float value: %s\n", expect_value);
  g_assert_nonnull (strstr (text, line));
  g_clear_pointer (&line, g_free);
  line = g_strdup_printf ("Code: %d\n", result->codes[idx]);
  g_assert_nonnull (strstr (text, line));
  g_assert_cmpint (result->codes[idx], ==, 1);   /* 1.45 / 7 with steps of 1 / 7 */
  g_clear_pointer (&line, g_free);
  line = g_strdup_printf ("Dequantized: %s\n", expect_dq);
  g_assert_nonnull (strstr (text, line));
  g_clear_pointer (&line, g_free);
  line = g_strdup_printf ("Error: %s", expect_err);
  g_assert_true (g_str_has_suffix (text, line));
  g_clear_pointer (&text, g_free);
  /* outside the plot: no readout */
  _qs_heatmap_view_pointer_moved (view, plot.x - 5, plot.y + 5);
  g_assert_null (_qs_heatmap_view_hover_text (view));

  /* the interactions are described for screen readers */
  g_assert_nonnull (strstr (qs_heatmap_view_get_description (view), "Ctrl+scroll"));
  _qs_heatmap_view_get_window (view, &win);
  g_assert_cmpuint (win.rows, ==, 20);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Snapshots the widget now, without iterating the main loop (no worker result can be
 * installed meanwhile), and renders the picture to ARGB32 pixels. */
static guint32 *
snapshot_now (GtkWidget  *widget,
              const char *png_name,
              int        *width,
              int        *height)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GskRenderNode *node;
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);

  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return node_to_pixels (node, w, h, png_name, width, height);
}

/* Iterates the main context until no worker maps a texture (10 s at most). */
static void
wait_for_texture (QsHeatmapView *view)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (_qs_heatmap_view_texture_pending (view) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_false (_qs_heatmap_view_texture_pending (view));
}

/* The smallest channel difference to expected within radius pixels of (x, y). */
static int
nearest_diff (const guint32 *pixels,
              int            width,
              int            height,
              double         x,
              double         y,
              int            radius,
              guint32        expected)
{
  int best = 255;

  for (int dy = -radius; dy <= radius; dy++)
    for (int dx = -radius; dx <= radius; dx++)
      {
        int px = (int) floor (x) + dx, py = (int) floor (y) + dy;

        if (px >= 0 && py >= 0 && px < width && py < height)
          best = MIN (best, channel_diff (pixels[py * width + px], expected));
      }
  return best;
}

static void
assert_texture_window (QsHeatmapView       *view,
                       const QsChartWindow *expected)
{
  QsChartWindow tw;

  g_assert_nonnull (_qs_heatmap_view_get_texture (view, &tw));
  g_assert_cmpuint (tw.row0, ==, expected->row0);
  g_assert_cmpuint (tw.col0, ==, expected->col0);
  g_assert_cmpuint (tw.rows, ==, expected->rows);
  g_assert_cmpuint (tw.cols, ==, expected->cols);
}

/* The view's texture (one pixel per device pixel of the plot, exact colours) shows
 * colour at the pixel of cell (row, col) of its window, give or take a pixel. */
static void
assert_texture_cell (QsHeatmapView *view,
                     gsize          row,
                     gsize          col,
                     guint32        colour)
{
  QsChartWindow tw;
  GdkTexture *texture = _qs_heatmap_view_get_texture (view, &tw);
  g_autofree guint32 *pixels = NULL;
  int tw_px, th_px;

  g_assert_nonnull (texture);
  tw_px = gdk_texture_get_width (texture);
  th_px = gdk_texture_get_height (texture);
  pixels = g_new (guint32, (gsize) tw_px * th_px);
  gdk_texture_download (texture, (guchar *) pixels, (gsize) tw_px * 4);
  g_assert_cmpint (nearest_diff (pixels, tw_px, th_px,
                                 (col - tw.col0 + 0.5) * tw_px / tw.cols,
                                 (row - tw.row0 + 0.5) * th_px / tw.rows, 1, colour), <=, 2);
}

/* A 2048 x 1024 Dense kernel (2 Mi weights): windows over 1 Mi weights are mapped in a
 * worker thread. A zoom step returns and snapshots without mapping (the old texture is
 * drawn scaled to the new window meanwhile); the worker's texture is installed later and
 * shows the planted weight where it belongs. Of two quick steps only the second window's
 * texture is installed; a small window is still mapped synchronously. */
static void
test_heatmap_async (void)
{
  g_autoptr(QsQuantResult) result = planted_result (2048, 1024, 1100, 600);
  QsHeatmapView *view = QS_HEATMAP_VIEW (qs_heatmap_view_new ());
  g_autofree guint32 *pixels = NULL;
  GtkWidget *window;
  QsChartRect plot;
  QsChartWindow full, zoomed, step1, step2;
  guint n_sync, n_installed, n_dropped;
  gsize idx = 1100 * 1024 + 600;
  guint32 planted;
  double rgb[3], err;
  gint64 t0;
  int w, h;

  g_assert_nonnull (result);
  g_assert_null (result->error_map);   /* nothing precomputed: every big window is mapped */
  err = (double) result->dequant->data[idx] - result->input->data[idx];
  g_assert_cmpfloat (fabs (err), ==, result->stats.max_abs_error);
  qs_colormap_diverging (err / result->stats.max_abs_error, rgb);
  planted = qs_colormap_rgb_to_argb32 (rgb);

  set_dark (FALSE);
  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (view), result);
  window = show_in_window (GTK_WIDGET (view), 720, 480);
  _qs_heatmap_view_get_plot (view, &plot);
  wait_for_texture (view);
  _qs_heatmap_view_get_window (view, &full);
  assert_texture_window (view, &full);
  _qs_heatmap_view_get_map_counts (view, &n_sync, &n_installed, &n_dropped);
  g_assert_cmpuint (n_sync, ==, 0);
  g_assert_cmpuint (n_installed, >=, 1);

  /* Ctrl+wheel at the plot centre: 1638 x 819 cells, still over the threshold */
  t0 = g_get_monotonic_time ();
  g_assert_true (_qs_heatmap_view_scroll (view, plot.x + plot.width / 2, plot.y + plot.height / 2,
                                          0, -1, GDK_SCROLL_UNIT_WHEEL, GDK_CONTROL_MASK));
  {
    GtkSnapshot *snapshot = gtk_snapshot_new ();

    GTK_WIDGET_GET_CLASS (view)->snapshot (GTK_WIDGET (view), snapshot);
    g_test_message ("zoom step + snapshot on the main thread: %.2f ms",
                    (g_get_monotonic_time () - t0) / 1000.0);
    g_clear_pointer (&snapshot, g_object_unref);
  }
  pixels = snapshot_now (GTK_WIDGET (view), "heatmap-async-pending-light.png", &w, &h);
  _qs_heatmap_view_get_window (view, &zoomed);
  g_assert_cmpuint (zoomed.rows, ==, 1638);
  g_assert_cmpuint (zoomed.cols, ==, 819);
  g_assert_true (_qs_heatmap_view_texture_pending (view));
  assert_texture_window (view, &full);   /* not mapped yet */
  _qs_heatmap_view_get_map_counts (view, &n_sync, &n_installed, &n_dropped);
  g_assert_cmpuint (n_sync, ==, 0);
  /* meanwhile the old texture, scaled (and so filtered): the planted weight, the
   * largest error, is already in its new place, darker than any pixel around it */
  {
    double px = plot.x + (600 - zoomed.col0 + 0.5) * plot.width / zoomed.cols;
    double py = plot.y + (1100 - zoomed.row0 + 0.5) * plot.height / zoomed.rows;
    int near = nearest_diff (pixels, w, h, px, py, 2, planted);
    int around = MIN (MIN (nearest_diff (pixels, w, h, px - 12, py, 4, planted),
                           nearest_diff (pixels, w, h, px + 12, py, 4, planted)),
                      MIN (nearest_diff (pixels, w, h, px, py - 12, 4, planted),
                           nearest_diff (pixels, w, h, px, py + 12, 4, planted)));

    g_test_message ("scaled preview: planted %d, around %d", near, around);
    g_assert_cmpint (near + 30, <, around);
  }
  g_clear_pointer (&pixels, g_free);

  wait_for_texture (view);
  assert_texture_window (view, &zoomed);
  _qs_heatmap_view_get_map_counts (view, &n_sync, &n_installed, &n_dropped);
  g_assert_cmpuint (n_sync, ==, 0);
  assert_texture_cell (view, 1100, 600, planted);
  pixels = snapshot_now (GTK_WIDGET (view), "heatmap-async-zoomed-light.png", &w, &h);
  g_clear_pointer (&pixels, g_free);

  /* two quick steps (wheel pans down, then right): the first worker's texture is
   * dropped, only the second window's is installed */
  g_assert_true (_qs_heatmap_view_scroll (view, 0, 0, 0, 1, GDK_SCROLL_UNIT_WHEEL, 0));
  _qs_heatmap_view_get_window (view, &step1);
  g_clear_pointer (&pixels, g_free);
  pixels = snapshot_now (GTK_WIDGET (view), NULL, &w, &h);
  g_assert_true (_qs_heatmap_view_texture_pending (view));
  g_assert_true (_qs_heatmap_view_scroll (view, 0, 0, 0, 1, GDK_SCROLL_UNIT_WHEEL,
                                          GDK_SHIFT_MASK));
  _qs_heatmap_view_get_window (view, &step2);
  g_assert_cmpuint (step2.col0, >, step1.col0);
  g_clear_pointer (&pixels, g_free);
  pixels = snapshot_now (GTK_WIDGET (view), NULL, &w, &h);
  g_clear_pointer (&pixels, g_free);
  wait_for_texture (view);
  assert_texture_window (view, &step2);
  {
    guint n_sync2, n_installed2, n_dropped2;

    _qs_heatmap_view_get_map_counts (view, &n_sync2, &n_installed2, &n_dropped2);
    g_assert_cmpuint (n_sync2, ==, 0);
    g_assert_cmpuint (n_installed2, ==, n_installed + 1);
    g_assert_cmpuint (n_dropped2, ==, n_dropped + 1);
    n_installed = n_installed2;
  }
  assert_texture_cell (view, 1100, 600, planted);

  /* a small window is mapped in the snapshot itself, as before */
  qs_heatmap_view_set_window (view, 1090, 590, 40, 24);
  pixels = snapshot_now (GTK_WIDGET (view), NULL, &w, &h);
  g_assert_false (_qs_heatmap_view_texture_pending (view));
  _qs_heatmap_view_get_window (view, &zoomed);
  assert_texture_window (view, &zoomed);
  _qs_heatmap_view_get_map_counts (view, &n_sync, &n_installed, &n_dropped);
  g_assert_cmpuint (n_sync, ==, 1);
  g_assert_cmpint (channel_diff (pixel (pixels, w, plot.x + (10 + 0.5) * plot.width / 24,
                                        plot.y + (10 + 0.5) * plot.height / 40),
                                 planted), <=, 2);
  g_clear_pointer (&pixels, g_free);

  /* a new result while a worker runs: its texture is dropped, never drawn */
  qs_heatmap_view_reset_zoom (view);
  g_clear_pointer (&pixels, g_free);
  pixels = snapshot_now (GTK_WIDGET (view), NULL, &w, &h);
  g_assert_true (_qs_heatmap_view_texture_pending (view));
  qs_heatmap_view_set_mode (view, QS_MAP_VALUE_ABS_ERROR);
  g_assert_null (_qs_heatmap_view_get_texture (view, &zoomed));
  g_clear_pointer (&pixels, g_free);
  pixels = snapshot_now (GTK_WIDGET (view), NULL, &w, &h);
  wait_for_texture (view);
  assert_texture_window (view, &full);
  _qs_heatmap_view_get_map_counts (view, &n_sync, &n_installed, &n_dropped);
  g_assert_cmpuint (n_dropped, >=, 2);
  qs_colormap_sequential (fabs (err) / result->stats.max_abs_error, rgb);
  assert_texture_cell (view, 1100, 600, qs_colormap_rgb_to_argb32 (rgb));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* --- the evaluation charts (issue 11) --- */

/* A hand-made evaluation of 3 classes, 10 images each. */
static QsEvalResult *
known_eval (void)
{
  static const guint f[9] = { 8, 1, 1,   0, 5, 5,   2, 0, 8 };
  static const guint q[9] = { 7, 2, 1,   0, 6, 4,   2, 1, 7 };
  QsEvalResult *r = g_new0 (QsEvalResult, 1);

  r->ref_count = 1;
  r->n_images = 30;
  r->n_classes = 3;
  r->labelled = r->classification = TRUE;
  r->float_top1 = 21.0 / 30;
  r->quant_top1 = 20.0 / 30;
  r->agreement = 0.9;
  r->float_confusion = g_memdup2 (f, sizeof f);
  r->quant_confusion = g_memdup2 (q, sizeof q);
  r->float_per_class = g_new (double, 3);
  r->quant_per_class = g_new (double, 3);
  for (guint c = 0; c < 3; c++)
    {
      r->float_per_class[c] = f[c * 3 + c] / 10.0;
      r->quant_per_class[c] = q[c * 3 + c] / 10.0;
    }
  return r;
}

static void
test_eval_charts (void)
{
  static const char * const names[] = { "cat", "dog", "bird" };
  g_autoptr(QsEvalResult) r = known_eval ();
  GtkWidget *window;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  QsEvalView *confusion = QS_EVAL_VIEW (qs_eval_view_new ("confusion"));
  QsEvalView *classes = QS_EVAL_VIEW (qs_eval_view_new ("classes"));
  const QsChartConfusion *m;
  const QsChartClasses *b;
  QsChartStyle style;
  g_autofree guint32 *pixels = NULL;
  g_autofree char *tip = NULL;
  double rgb[3];
  int w, h, x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;

  gtk_widget_set_size_request (GTK_WIDGET (confusion), 600, 420);
  gtk_widget_set_size_request (GTK_WIDGET (classes), 600, 260);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (confusion));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (classes));
  qs_eval_view_set_data (confusion, r, names);
  qs_eval_view_set_data (classes, r, names);

  /* cells: the share of the true class, square-root scale; the row totals are the images */
  m = qs_eval_view_get_confusion (confusion);
  g_assert_nonnull (m);
  g_assert_cmpuint (m->n, ==, 3);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpuint (m->row_totals[c], ==, 10);
  g_assert_cmpfloat (m->t[0], ==, sqrt (0.8));
  g_assert_cmpfloat (m->t[5], ==, sqrt (0.5));
  g_assert_cmpfloat (m->t[3], ==, 0.0);
  g_assert_cmpstr (m->names[2], ==, "bird");
  tip = qs_chart_confusion_describe_cell (m, 1, 2);
  g_assert_nonnull (strstr (tip, "True dog, predicted bird"));
  g_assert_nonnull (strstr (tip, "5 of 10"));
  g_assert_nonnull (strstr (tip, "Quantized: 4"));

  /* bars: percent of each class, counts from the rows */
  b = qs_eval_view_get_classes (classes);
  g_assert_nonnull (b);
  g_assert_true (b->has_quant);
  g_assert_cmpfloat (b->float_acc[1], ==, 50.0);
  g_assert_cmpfloat (b->quant_acc[1], ==, 60.0);
  g_assert_cmpfloat (b->quant_acc[2], ==, 70.0);
  g_assert_cmpuint (b->counts[0], ==, 10);

  /* drawn: the cell (0, 0) has its colour */
  window = show_in_window (box, 640, 720);
  iterate_until_sized (GTK_WIDGET (classes));
  pixels = render (GTK_WIDGET (confusion), "eval-confusion.png", &w, &h);
  _qs_chart_view_get_style (GTK_WIDGET (confusion), &style);
  for (int y = 0; y < h; y += 2)
    for (int x = 0; x < w; x += 2)
      if (qs_chart_confusion_cell_at (m, w, h, &style, x, y) == 0)
        {
          x0 = MIN (x0, x); y0 = MIN (y0, y); x1 = MAX (x1, x); y1 = MAX (y1, y);
        }
  g_assert_cmpint (x1, >, x0 + 10);
  qs_colormap_sequential (sqrt (0.8), rgb);
  /* a corner of the cell, away from the printed count */
  g_assert_cmpint (channel_diff (pixel (pixels, w, x0 + 3, y0 + 3),
                                 qs_colormap_rgb_to_argb32 (rgb)), <=, 2);

  /* difference: quantized minus float on the diverging map, limit the largest |d| = 1 */
  qs_eval_view_set_mode (confusion, QS_CONFUSION_DIFFERENCE);
  m = qs_eval_view_get_confusion (confusion);
  g_assert_cmpint (m->limit, ==, 1);
  g_assert_cmpfloat (m->t[0], ==, -1.0);
  g_assert_cmpfloat (m->t[1], ==, 1.0);
  g_assert_cmpfloat (m->t[2], ==, 0.0);
  g_clear_pointer (&pixels, g_free);
  pixels = render (GTK_WIDGET (confusion), "eval-confusion-diff.png", &w, &h);
  qs_colormap_diverging (-1.0, rgb);
  g_assert_cmpint (channel_diff (pixel (pixels, w, x0 + 3, y0 + 3),
                                 qs_colormap_rgb_to_argb32 (rgb)), <=, 2);
  g_clear_pointer (&pixels, g_free);
  pixels = render (GTK_WIDGET (classes), "eval-classes.png", &w, &h);
  /* dark: the same data colours, the theme's text (looked at in the PNGs) */
  set_dark (TRUE);
  g_clear_pointer (&pixels, g_free);
  pixels = render (window, "eval-charts-dark.png", &w, &h);
  set_dark (FALSE);

  /* export in the three formats */
  {
    const char *exts[] = { "png", "svg", "pdf" };

    for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
      for (guint k = 0; k < 2; k++)
        {
          g_autoptr(GError) error = NULL;
          g_autofree char *name = g_strdup_printf ("eval-export-%u.%s", k, exts[i]);
          g_autofree char *path = g_build_filename (png_dir, name, NULL);
          g_autofree char *contents = NULL;
          gsize len = 0;

          g_assert_true (qs_eval_view_export (k == 0 ? confusion : classes, path, 1.0, &error));
          g_assert_no_error (error);
          g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
          g_assert_cmpuint (len, >, 1000);
        }
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

/* 100 classes: the labels thin out to every 5th / 10th, every cell still has its tooltip. */
static void
test_eval_charts_many_classes (void)
{
  QsEvalResult *r = g_new0 (QsEvalResult, 1);
  g_autoptr(QsChartConfusion) m = NULL;
  g_autofree char *tip = NULL;
  QsChartEvalData data;
  QsChartStyle style;
  guint n = 100;

  r->ref_count = 1;
  r->n_classes = n;
  r->n_images = 10 * n;
  r->labelled = r->classification = TRUE;
  r->quant_top1 = 0.5;
  r->agreement = 0.5;
  r->float_confusion = g_new0 (guint, n * n);
  r->quant_confusion = g_new0 (guint, n * n);
  r->float_per_class = g_new0 (double, n);
  r->quant_per_class = g_new0 (double, n);
  for (guint c = 0; c < n; c++)
    {
      r->float_confusion[c * n + c] = 9;
      r->float_confusion[c * n + (c + 1) % n] = 1;
      r->quant_confusion[c * n + c] = 10;
      r->float_per_class[c] = 0.9;
      r->quant_per_class[c] = 1.0;
    }
  qs_chart_eval_data_init (&data, r, NULL);
  m = qs_chart_confusion_new (&data, QS_CONFUSION_FLOAT);
  g_assert_cmpstr (m->names[42], ==, "42");
  g_assert_cmpuint (qs_chart_eval_label_step (10, 400, 14), ==, 1);
  g_assert_cmpuint (qs_chart_eval_label_step (100, 600, 14), ==, 5);
  g_assert_cmpuint (qs_chart_eval_label_step (100, 300, 14), ==, 5);
  g_assert_cmpuint (qs_chart_eval_label_step (100, 120, 14), ==, 20);
  qs_chart_style_init_light (&style);
  {
    /* every cell can be pointed at: the last one is found at its place */
    gint last = -1;

    for (double y = 759; y > 0 && last < 0; y -= 1)
      last = qs_chart_confusion_cell_at (m, 760, 760, &style, 600, y);
    g_assert_cmpint (last, >=, 0);
    g_assert_cmpint (last / (gint) n, ==, (gint) n - 1);
  }
  tip = qs_chart_confusion_describe_cell (m, 99, 0);
  g_assert_nonnull (strstr (tip, "True 99, predicted 0"));
  g_assert_nonnull (strstr (tip, "1 of 10"));
  {
    g_autofree char *path = g_build_filename (png_dir, "eval-confusion-100.png", NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true (qs_chart_export_eval ("confusion", &data, QS_CONFUSION_DIFFERENCE, NULL,
                                         "100 classes", path, 760, 760, 1.0, &error));
    g_assert_no_error (error);
  }
  qs_eval_result_unref (r);
}

static void
on_point_activated (QsScatterChartView *view,
                    gint                index,
                    gint               *out)
{
  *out = index;
}

/* The scatter chart (issue 11's trade-off history), light and dark: every point is drawn in
 * the accent colour where point_at () finds it, the current one is ringed, a click on a
 * point activates that point, and the export writes a PNG of the asked size. */
static void
test_scatter_view (void)
{
  const double x[] = { 106.7, 61.2, 48.0, 35.5 };
  const double y[] = { 88.7, 87.9, 86.0, 79.5 };
  const char * const labels[] = { "Initial", "Weight Bits", "Weight Bits", "Weight Bits", NULL };
  GtkWidget *view = g_object_ref_sink (qs_scatter_chart_view_new ());
  g_autofree char *path = g_build_filename (png_dir, "scatter-export.png", NULL);
  g_autoptr(GdkTexture) exported = NULL;
  g_autoptr(GError) error = NULL;
  QsChartScatterData data;
  GtkWidget *window;
  QsChartStyle style;
  gint activated = -1;

  qs_chart_scatter_data_init (&data);
  data.x = x;
  data.y = y;
  data.n = G_N_ELEMENTS (x);
  data.current = 2;
  data.x_label = "Weight size (kB)";
  data.y_label = "Quick accuracy (%)";
  data.current_label = "Current";
  qs_scatter_chart_view_set_data (QS_SCATTER_CHART_VIEW (view), &data, labels);
  qs_scatter_chart_view_set_title (QS_SCATTER_CHART_VIEW (view), "Size and Accuracy of Each Configuration");
  g_signal_connect (view, "point-activated", G_CALLBACK (on_point_activated), &activated);
  g_assert_cmpuint (qs_scatter_chart_view_get_n_points (QS_SCATTER_CHART_VIEW (view)), ==, 4);

  for (int dark = 0; dark <= 1; dark++)
    {
      g_autofree guint32 *pixels = NULL;
      double px[4], py[4];
      guint32 accent;
      int w, h;

      set_dark (dark);
      window = show_in_window (view, 420, 280);
      _qs_chart_view_get_style (view, &style);
      accent = 0xff000000u | ((guint32) lround (style.accent.red * 255) << 16)
               | ((guint32) lround (style.accent.green * 255) << 8) | (guint32) lround (style.accent.blue * 255);
      pixels = render (view, dark ? "scatter-dark.png" : "scatter-light.png", &w, &h);
      for (guint i = 0; i < data.n; i++)
        {
          g_assert_true (qs_scatter_chart_view_get_point_position (QS_SCATTER_CHART_VIEW (view), i, &px[i], &py[i]));
          g_assert_cmpint (qs_scatter_chart_view_point_at (QS_SCATTER_CHART_VIEW (view), px[i], py[i]), ==, (gint) i);
        }
      /* bigger and more accurate is up and right: the first point right of and above the last */
      g_assert_cmpfloat (px[0], >, px[3]);
      g_assert_cmpfloat (py[0], <, py[3]);
      /* the centre of each dot (found by searching the 3 px around the first hit) is the accent */
      for (guint i = 0; i < data.n; i++)
        {
          int best = 255;

          for (int dy = -4; dy <= 4; dy++)
            for (int dx = -4; dx <= 4; dx++)
              if (px[i] + dx >= 0 && px[i] + dx < w && py[i] + dy >= 0 && py[i] + dy < h
                  && qs_scatter_chart_view_point_at (QS_SCATTER_CHART_VIEW (view), px[i] + dx, py[i] + dy) == (gint) i)
                best = MIN (best, channel_diff (pixel (pixels, w, px[i] + dx, py[i] + dy), accent));
          g_assert_cmpint (best, <, 40);
        }
      g_assert_cmpint (qs_scatter_chart_view_point_at (QS_SCATTER_CHART_VIEW (view), 2, 2), ==, -1);
      qs_scatter_chart_view_activate_point (QS_SCATTER_CHART_VIEW (view),
                                            qs_scatter_chart_view_point_at (QS_SCATTER_CHART_VIEW (view), px[1], py[1]));
      g_assert_cmpint (activated, ==, 1);
      gtk_window_set_child (GTK_WINDOW (window), NULL);
      gtk_window_destroy (GTK_WINDOW (window));
      if (dark)
        {
          g_assert_true (qs_scatter_chart_view_export (QS_SCATTER_CHART_VIEW (view), path, 640, 400, 1.0, &error));
          g_assert_no_error (error);
        }
    }
  g_object_unref (view);
  set_dark (FALSE);
  exported = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (exported), ==, 640);
  g_assert_cmpint (gdk_texture_get_height (exported), ==, 400);
}

static void
skip_no_display (void)
{
  g_test_skip ("no display: gtk_init_check () failed");
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmp = g_dir_make_tmp ("qs-widgets-XXXXXX", NULL);
  g_autofree char *cache = g_build_filename (tmp, "cache", NULL);
  g_autofree char *config = g_build_filename (tmp, "config", NULL);

  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  png_dir = g_strdup (g_getenv ("QS_WIDGETS_PNG_DIR") ? g_getenv ("QS_WIDGETS_PNG_DIR") : tmp);
  g_mkdir_with_parents (png_dir, 0755);

  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_test_message ("no display");
      g_test_add_func ("/qs/widgets/no-display", skip_no_display);
      return g_test_run ();
    }
  g_test_add_func ("/qs/widgets/heatmap", test_heatmap_view);
  g_test_add_func ("/qs/widgets/histogram-big-in-worker", test_histogram_view_worker);
  g_test_add_func ("/qs/widgets/channels-big-in-worker", test_channel_view_worker);
  g_test_add_func ("/qs/widgets/heatmap-keeps-zoom-over-estimate", test_heatmap_view_estimate);
  g_test_add_func ("/qs/widgets/heatmap-conv", test_heatmap_conv_views);
  g_test_add_func ("/qs/widgets/heatmap-interaction", test_heatmap_interaction);
  g_test_add_func ("/qs/widgets/heatmap-async", test_heatmap_async);
  g_test_add_func ("/qs/widgets/histogram", test_histogram_view);
  g_test_add_func ("/qs/widgets/channels", test_channel_view);
  g_test_add_func ("/qs/widgets/scatter", test_scatter_view);
  g_test_add_func ("/qs/widgets/narrow-charts", test_narrow_charts);
  g_test_add_func ("/qs/widgets/eval-charts", test_eval_charts);
  g_test_add_func ("/qs/widgets/eval-charts-100-classes", test_eval_charts_many_classes);
  return g_test_run ();
}
