/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Scrolling the sample gallery: one viewport per frame from the top to the end of the
 * 10,000-image sample test set (with both answers computed, so every cell shows them).
 * Prints the time, the frames and their mean / 95th percentile / worst duration. Not a
 * test: nothing is asserted on time. */
#include "config.h"

#include <adwaita.h>

#include "qs-gallery-page.h"
#include "test-sample.h"

static gboolean painted;

static void
after_paint (GdkFrameClock *clock,
             gpointer       data)
{
  painted = TRUE;
}

static void
wait_frame (GdkFrameClock *clock)
{
  painted = FALSE;
  gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_PAINT);
  while (!painted)
    g_main_context_iteration (NULL, TRUE);
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-bench-gallery-XXXXXX", NULL);
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsDocument) doc = NULL;
  g_autoptr(GArray) frames = g_array_new (FALSE, FALSE, sizeof (double));
  GtkWidget *window, *page, *scroller;
  GtkAdjustment *adj;
  GdkFrameClock *clock;
  gint64 t0, t;
  double total;

  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  if (!gtk_init_check ())
    {
      g_print ("SKIP: no display\n");
      return 0;
    }
  adw_init ();
  model = test_load_sample_model_or_skip ();
  dataset = qs_dataset_open ("sample", NULL);
  doc = qs_document_new (model, NULL, dataset);
  qs_document_set_autosave_delay (doc, 0);
  window = gtk_window_new ();
  page = qs_gallery_page_new ();
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  qs_gallery_page_set_document (QS_GALLERY_PAGE (page), doc);
  gtk_window_present (GTK_WINDOW (window));
  qs_gallery_page_compute (QS_GALLERY_PAGE (page));
  while (qs_gallery_page_get_running (QS_GALLERY_PAGE (page)))
    g_main_context_iteration (NULL, TRUE);

  scroller = gtk_widget_get_parent (GTK_WIDGET (qs_gallery_page_get_grid_view (QS_GALLERY_PAGE (page))));
  adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  clock = gtk_widget_get_frame_clock (window);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), NULL);
  while (gtk_adjustment_get_page_size (adj) <= 0 || gtk_adjustment_get_upper (adj) <= gtk_adjustment_get_page_size (adj))
    wait_frame (clock);
  wait_frame (clock);

  t0 = t = g_get_monotonic_time ();
  while (gtk_adjustment_get_value (adj) + gtk_adjustment_get_page_size (adj) < gtk_adjustment_get_upper (adj) - 1)
    {
      gint64 now;
      double ms;

      gtk_adjustment_set_value (adj, gtk_adjustment_get_value (adj) + gtk_adjustment_get_page_size (adj));
      wait_frame (clock);
      now = g_get_monotonic_time ();
      ms = (now - t) / 1000.0;
      g_array_append_val (frames, ms);
      t = now;
    }
  total = (g_get_monotonic_time () - t0) / 1e6;
  g_array_sort (frames, compare_double);
  {
    double sum = 0.0;

    for (guint i = 0; i < frames->len; i++)
      sum += g_array_index (frames, double, i);
    g_print ("gallery scroll: %u images, %u frames (one viewport each) in %.2f s; "
             "frame mean %.1f ms, p95 %.1f ms, worst %.1f ms\n",
             qs_dataset_get_n_images (dataset), frames->len, total, sum / MAX (frames->len, 1),
             frames->len ? g_array_index (frames, double, (guint) (frames->len * 0.95)) : 0.0,
             frames->len ? g_array_index (frames, double, frames->len - 1) : 0.0);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}
