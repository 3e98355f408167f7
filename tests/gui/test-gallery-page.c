/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <adwaita.h>

#include "qs-gallery-page.h"
#include "test-sample.h"

static QsModel *sample_model;

static QsDocument *
new_document (const char *preset)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", &error);
  QsDocument *doc;

  g_assert_no_error (error);
  doc = qs_document_new (sample_model, NULL, dataset);
  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_quick_subset (doc, 100);
  if (preset != NULL)
    {
      g_assert_true (qs_document_apply_preset (doc, preset, NULL, &error));
      g_assert_no_error (error);
    }
  return doc;
}

static GtkWidget *
new_page_in_window (QsDocument *doc)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = qs_gallery_page_new ();

  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 700);
  qs_gallery_page_set_document (QS_GALLERY_PAGE (page), doc);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
wait_answers (QsGalleryPage *page)
{
  while (qs_gallery_page_get_running (page))
    g_main_context_iteration (NULL, TRUE);
}

static void
wait_detail (QsGalleryPage *page)
{
  while (qs_gallery_page_get_busy (page))
    g_main_context_iteration (NULL, TRUE);
}

static guint
argmax (const float *p, guint n)
{
  guint best = 0;

  for (guint i = 1; i < n; i++)
    if (p[i] > p[best])
      best = i;
  return best;
}

/* The filters list exactly the images where the two engines disagree (or the quantized
 * one is wrong), computed here from the engines directly. */
static void
test_filters_match_engines (void)
{
  g_autoptr(QsDocument) doc = new_document ("w4a4");
  GtkWidget *window = new_page_in_window (doc);
  QsGalleryPage *page = QS_GALLERY_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  QsGalleryModel *gm = qs_gallery_page_get_model (page);
  QsDataset *dataset = qs_document_get_dataset (doc);
  QsConfig *config = qs_document_get_config (doc);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineFloat) fe = NULL;
  g_autoptr(QsEngineInt) ie = NULL;
  g_autoptr(GError) error = NULL;
  guint n = qs_dataset_get_n_images (dataset), nc = 10, n_changed = 0, n_wrong = 0;
  g_autofree float *x = g_new (float, (gsize) n * 784);
  g_autofree float *fo = g_new (float, (gsize) n * nc), *qo = g_new (float, (gsize) n * nc);
  g_autofree gboolean *changed = g_new0 (gboolean, n), *wrong = g_new0 (gboolean, n);
  guint shown;

  /* before the answers: "changed" shows nothing, "all" every image */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (gm)), ==, n);
  qs_gallery_page_compute (page);
  g_assert_true (qs_gallery_page_get_running (page));
  wait_answers (page);
  g_assert_nonnull (qs_gallery_model_get_predictions (gm));

  calib = qs_calibration_cache_get_full (NULL, sample_model, qs_config_get_calib_source (config),
                                         qs_dataset_get_preprocess (dataset),
                                         qs_config_get_calib_images (config), NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  fe = qs_engine_float_new (sample_model, &error);
  ie = qs_calibration_compile (calib, sample_model, config, &error);
  g_assert_no_error (error);
  g_assert_true (qs_dataset_fill_inputs (dataset, sample_model, 0, n, x, &error));
  g_assert_true (qs_engine_float_run (fe, x, n, fo, 0, NULL, NULL, NULL, &error));
  g_assert_true (qs_engine_int_run (ie, x, n, qo, 0, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      guint af = argmax (fo + (gsize) i * nc, nc), aq = argmax (qo + (gsize) i * nc, nc);

      changed[i] = af != aq;
      wrong[i] = (gint) aq != qs_dataset_get_label (dataset, i);
      n_changed += changed[i];
      n_wrong += wrong[i];
    }
  /* w4a4 changes some answers on the sample model, or the test proves nothing */
  g_assert_cmpuint (n_changed, >, 0);

  qs_gallery_page_set_filter (page, QS_GALLERY_FILTER_CHANGED, -1);
  shown = g_list_model_get_n_items (G_LIST_MODEL (gm));
  g_assert_cmpuint (shown, ==, n_changed);
  for (guint p = 0; p < shown; p++)
    {
      g_autoptr(QsGalleryItem) item = g_list_model_get_item (G_LIST_MODEL (gm), p);

      g_assert_true (changed[qs_gallery_item_get_index (item)]);
      g_assert_true (qs_gallery_item_get_prediction (item)->changed);
    }

  qs_gallery_page_set_filter (page, QS_GALLERY_FILTER_QUANT_WRONG, -1);
  shown = g_list_model_get_n_items (G_LIST_MODEL (gm));
  g_assert_cmpuint (shown, ==, n_wrong);
  for (guint p = 0; p < shown; p++)
    g_assert_true (wrong[qs_gallery_model_get_index (gm, p)]);

  /* one class: every image of that label, and only those */
  qs_gallery_page_set_filter (page, QS_GALLERY_FILTER_ALL, 3);
  shown = g_list_model_get_n_items (G_LIST_MODEL (gm));
  g_assert_cmpuint (shown, >, 0);
  for (guint p = 0; p < shown; p++)
    g_assert_cmpint (qs_dataset_get_label (dataset, qs_gallery_model_get_index (gm, p)), ==, 3);
  {
    guint expect = 0;

    for (guint i = 0; i < n; i++)
      expect += qs_dataset_get_label (dataset, i) == 3;
    g_assert_cmpuint (shown, ==, expect);
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

/* "Use 8 Bits for LAYER" is one undo step that widens the layer the image blames, and the
 * image is run again with the new config. */
static void
test_widen_is_one_undo_step (void)
{
  g_autoptr(QsDocument) doc = new_document ("w4a4");
  GtkWidget *window = new_page_in_window (doc);
  QsGalleryPage *page = QS_GALLERY_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  g_autofree char *before = qs_config_to_json (qs_document_get_config (doc));
  g_autofree char *after = NULL, *undone = NULL, *layer = NULL, *label = NULL;
  QsAttribution *a, *again;
  QsLayerConfig lc_before, lc_after;
  guint steps;

  qs_gallery_page_select (page, 7);
  g_assert_true (qs_gallery_page_get_busy (page));
  wait_detail (page);
  a = qs_gallery_page_get_attribution (page);
  g_assert_nonnull (a);
  g_assert_cmpint (a->worst, >=, 0);
  layer = g_strdup (a->values[a->worst].layer);
  qs_config_get_layer (qs_document_get_config (doc), layer, &lc_before);
  steps = qs_document_get_n_history_steps (doc, FALSE);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gallery.widen", NULL));
  g_assert_cmpuint (qs_document_get_n_history_steps (doc, FALSE), ==, steps + 1);
  label = g_strdup_printf ("Use 8 Bits for %s", layer);
  g_assert_cmpstr (qs_document_get_undo_label (doc), ==, label);
  qs_config_get_layer (qs_document_get_config (doc), layer, &lc_after);
  g_assert_cmpuint (lc_after.weight.bits, ==, 8);
  g_assert_true (lc_before.weight.bits < 8 || lc_before.activation.bits < 8);
  if (lc_after.quantize_activations)
    g_assert_cmpuint (lc_after.activation.bits, ==, 8);
  after = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, !=, after);

  /* the image runs again with the widened layer */
  g_assert_true (qs_gallery_page_get_busy (page));
  wait_detail (page);
  again = qs_gallery_page_get_attribution (page);
  g_assert_nonnull (again);
  g_assert_true (again != a);

  g_assert_true (qs_document_undo (doc));
  undone = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, ==, undone);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* On screen, the answers follow the document: computed without a click, computed again
 * after a config change, and a cancelled job is not restarted until the next change. */
static void
test_answers_follow_config (void)
{
  g_autoptr(QsDocument) doc = new_document ("w8a8");
  g_autoptr(GError) error = NULL;
  GtkWidget *window = new_page_in_window (doc);
  QsGalleryPage *page = QS_GALLERY_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  QsGalleryModel *gm = qs_gallery_page_get_model (page);
  gint64 deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  QsSampleSet *first;

  while (qs_gallery_model_get_predictions (gm) == NULL || qs_gallery_page_get_running (page))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (qs_config_equal (qs_gallery_page_get_answers_config (page), qs_document_get_config (doc)));
  first = qs_gallery_model_get_predictions (gm);

  g_assert_true (qs_document_apply_preset (doc, "w4a4", NULL, &error));
  g_assert_no_error (error);
  while (!qs_config_equal (qs_gallery_page_get_answers_config (page), qs_document_get_config (doc))
         || qs_gallery_page_get_running (page))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (qs_gallery_model_get_predictions (gm) != first);
  /* w4a4 changes answers on the sample model */
  g_assert_cmpuint (qs_gallery_model_get_predictions (gm)->n_changed, >, 0);

  /* cancelled by the user: stays cancelled */
  g_assert_true (qs_document_apply_preset (doc, "w8a8", NULL, &error));
  while (!qs_gallery_page_get_running (page))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  qs_gallery_page_cancel (page);
  {
    gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC;

    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
  g_assert_false (qs_gallery_page_get_running (page));
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-gallery-XXXXXX", NULL);

  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  test_gui_init_or_skip (&argc, &argv);
  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/gallery-page/filters-match-engines", test_filters_match_engines);
  g_test_add_func ("/qs/gallery-page/widen-is-one-undo-step", test_widen_is_one_undo_step);
  g_test_add_func ("/qs/gallery-page/answers-follow-config", test_answers_follow_config);
  return g_test_run ();
}
