/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The playground builds, follows its controls, and its optimum is the MSE method's; chart
 * exports honour the size asked for (slides). */
#include "config.h"

#include <math.h>
#include <adwaita.h>
#include <cairo.h>
#include <glib/gstdio.h>

#include "qs-histogram-view.h"
#include "qs-line-chart-view.h"
#include "qs-playground-window.h"

static const QsPlayground *
wait_result (QsPlaygroundWindow *window)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (qs_playground_window_get_busy (window) || qs_playground_window_get_playground (window) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  return qs_playground_window_get_playground (window);
}

static void
test_playground_builds_and_updates (void)
{
  GtkWidget *window = qs_playground_window_new (NULL);
  QsPlaygroundWindow *pw = QS_PLAYGROUND_WINDOW (window);
  const QsPlayground *pg;
  double mse4;

  gtk_window_present (GTK_WINDOW (window));
  pg = wait_result (pw);
  g_assert_cmpuint (pg->spec.bits, ==, 4);
  g_assert_cmpuint (pg->tensor->n_elements, ==, 8192);
  g_assert_nonnull (pg->per_tensor.result);
  mse4 = pg->per_tensor.mse;

  /* one more bit: the spin change recomputes, with about a quarter of the error */
  gtk_spin_button_set_value (qs_playground_window_get_spin (pw, "bits"), 5);
  g_assert_true (qs_playground_window_get_busy (pw));
  pg = wait_result (pw);
  g_assert_cmpuint (pg->spec.bits, ==, 5);
  g_assert_cmpfloat (pg->per_tensor.mse, <, mse4 * 0.5);

  /* the optimum shown is the MSE method's on the same tensor */
  {
    QsQuantSpec spec = pg->spec;
    g_autoptr(QsQuantResult) r = NULL;

    spec.granularity = QS_GRANULARITY_TENSOR;
    spec.range_method = QS_RANGE_MSE;
    r = qs_quant_run (pg->tensor, &spec, NULL, NULL, NULL);
    g_assert_cmpfloat ((float) pg->optimum, ==, r->params->clip_hi[0]);
  }

  gtk_spin_button_set_value (qs_playground_window_get_spin (pw, "values"), 2048);
  pg = wait_result (pw);
  g_assert_cmpuint (pg->tensor->n_elements, ==, 2048);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
png_size (const char *path,
          int        *w,
          int        *h)
{
  cairo_surface_t *s = cairo_image_surface_create_from_png (path);

  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  *w = cairo_image_surface_get_width (s);
  *h = cairo_image_surface_get_height (s);
  cairo_surface_destroy (s);
}

/* A slide-sized export is that size, whatever the widget's; the line chart too. */
static void
test_export_size (void)
{
  g_autofree char *dir = g_dir_make_tmp ("qs-export-size-XXXXXX", NULL);
  g_autofree char *p1 = g_build_filename (dir, "hist.png", NULL);
  g_autofree char *p2 = g_build_filename (dir, "line.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTensor) t = qs_playground_make_tensor (QS_PLAYGROUND_LAPLACE, 1024, 4, 2.0, 3, &error);
  g_autoptr(QsPlayground) pg = NULL;
  GtkWidget *hist = g_object_ref_sink (qs_histogram_view_new ());
  GtkWidget *line = g_object_ref_sink (qs_line_chart_view_new ());
  QsChartLineData data;
  QsQuantSpec spec;
  int w, h;

  qs_quant_spec_init (&spec);
  pg = qs_playground_new (t, &spec, 0.0, 32, 64, NULL, &error);
  g_assert_no_error (error);
  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (hist), pg->per_tensor.result);
  qs_chart_view_set_export_size (QS_CHART_VIEW (hist), 1920, 1080);
  g_assert_true (qs_histogram_view_export (QS_HISTOGRAM_VIEW (hist), p1, 1.0, &error));
  g_assert_no_error (error);
  png_size (p1, &w, &h);
  g_assert_cmpint (w, ==, 1920);
  g_assert_cmpint (h, ==, 1080);

  qs_chart_line_data_init (&data);
  data.n_series = 1;
  data.series[0].x = pg->threshold;
  data.series[0].y = pg->curve_mse;
  data.series[0].n = pg->n_points;
  data.marker_x = pg->optimum;
  data.marker_y = pg->optimum_mse;
  qs_line_chart_view_set_data (QS_LINE_CHART_VIEW (line), &data);
  g_assert_true (qs_line_chart_view_export (QS_LINE_CHART_VIEW (line), p2, 1280, 720, 2.0, &error));
  g_assert_no_error (error);
  png_size (p2, &w, &h);
  g_assert_cmpint (w, ==, 2560);
  g_assert_cmpint (h, ==, 1440);

  g_unlink (p1);
  g_unlink (p2);
  g_rmdir (dir);
  g_object_unref (hist);
  g_object_unref (line);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 0;
    }
  adw_init ();
  g_test_add_func ("/qs/playground/window-builds-and-updates", test_playground_builds_and_updates);
  g_test_add_func ("/qs/playground/export-size", test_export_size);
  return g_test_run ();
}
