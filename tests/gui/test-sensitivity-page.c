/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <adwaita.h>

#include "qs-lowering.h"
#include "qs-sensitivity-page.h"
#include "test-sample.h"

static QsModel *sample_model;

/* A small subset keeps the runs short; the property tested does not depend on it. */
#define SUBSET 100

static QsDocument *
new_document (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", &error);
  QsDocument *doc;

  g_assert_no_error (error);
  doc = qs_document_new (sample_model, NULL, dataset);
  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_quick_subset (doc, SUBSET);
  return doc;
}

static void
wait_idle (QsSensitivityPage *page)
{
  while (qs_sensitivity_page_get_running (page))
    g_main_context_iteration (NULL, TRUE);
}

static GtkWidget *
new_page_in_window (QsDocument *doc)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = qs_sensitivity_page_new ();

  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 900, 700);
  qs_sensitivity_page_set_document (QS_SENSITIVITY_PAGE (page), doc);
  return window;
}

/* Measures once and keeps it for the other tests (the cache is per model, data, subset). */
static void
run_to_end (QsSensitivityPage *page)
{
  qs_sensitivity_page_run (page);
  g_assert_true (qs_sensitivity_page_get_running (page));
  wait_idle (page);
  g_assert_nonnull (qs_sensitivity_page_get_sensitivity (page));
  g_assert_nonnull (qs_sensitivity_page_get_front (page));
}

static void
test_run_fills_charts (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  GtkWidget *window = new_page_in_window (doc);
  QsSensitivityPage *page = QS_SENSITIVITY_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  QsSensitivity *s;
  QsFront *front;
  g_autofree char *before = qs_config_to_json (qs_document_get_config (doc));
  g_autofree char *after = NULL;

  g_assert_null (qs_sensitivity_page_get_sensitivity (page));
  run_to_end (page);
  s = qs_sensitivity_page_get_sensitivity (page);
  front = qs_sensitivity_page_get_front (page);
  g_assert_cmpuint (s->n_images, <=, SUBSET);
  g_assert_cmpuint (s->n_images, >, 0);
  g_assert_cmpuint (s->n_layers, >, 0);
  /* every front point is measured */
  for (guint i = 0; i < front->n_points; i++)
    g_assert_false (isnan (front->points[i].measured_drop));
  /* measuring changes nothing in the document */
  after = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, ==, after);
  g_assert_false (qs_document_can_undo (doc));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_cancel_leaves_config (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  GtkWidget *window = new_page_in_window (doc);
  QsSensitivityPage *page = QS_SENSITIVITY_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  g_autofree char *before = NULL, *after = NULL, *after_run = NULL;

  /* a cancelled first run leaves no sensitivity and no change */
  before = qs_config_to_json (qs_document_get_config (doc));
  qs_sensitivity_page_run (page);
  qs_sensitivity_page_cancel (page);
  wait_idle (page);
  g_assert_null (qs_sensitivity_page_get_sensitivity (page));
  after_run = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, ==, after_run);

  /* a cancelled search applies nothing: same config, no undo step */
  run_to_end (page);
  qs_sensitivity_page_search (page, QS_BUDGET_MAX_DROP, 0.0);
  g_assert_true (qs_sensitivity_page_get_running (page));
  qs_sensitivity_page_cancel (page);
  wait_idle (page);
  after = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, ==, after);
  g_assert_false (qs_document_can_undo (doc));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_apply_point_one_undo (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  GtkWidget *window = new_page_in_window (doc);
  QsSensitivityPage *page = QS_SENSITIVITY_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  g_autofree char *before = NULL, *applied = NULL, *undone = NULL, *redone = NULL;
  QsFront *front;
  guint steps;

  run_to_end (page);
  front = qs_sensitivity_page_get_front (page);
  before = qs_config_to_json (qs_document_get_config (doc));
  steps = qs_document_get_n_history_steps (doc, FALSE);
  /* the cheapest point: every layer in a small format, never the w8a8 default */
  g_assert_true (qs_sensitivity_page_apply_point (page, 0));
  applied = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, !=, applied);
  g_assert_cmpuint (qs_document_get_n_history_steps (doc, FALSE), ==, steps + 1);
  /* its weights are the point's, layer by layer */
  for (guint l = 0; l < front->n_layers; l++)
    {
      QsLayerConfig lc;
      QsQuantSpec want;

      qs_config_get_layer (qs_document_get_config (doc), front->layers[l], &lc);
      g_assert_true (qs_analysis_parse_format (front->points[0].choice[l], &want, NULL));
      g_assert_cmpint (lc.weight.format, ==, want.format);
      g_assert_cmpuint (lc.weight.bits, ==, want.bits);
    }
  /* one undo brings back the config before, one redo the point */
  g_assert_true (qs_document_undo (doc));
  undone = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, ==, undone);
  g_assert_false (qs_document_can_undo (doc));
  g_assert_true (qs_document_redo (doc));
  redone = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (applied, ==, redone);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_search_applies_within_budget (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  GtkWidget *window = new_page_in_window (doc);
  QsSensitivityPage *page = QS_SENSITIVITY_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  g_autofree char *before = NULL, *undone = NULL;
  QsFront *front;
  guint64 budget;

  run_to_end (page);
  front = qs_sensitivity_page_get_front (page);
  before = qs_config_to_json (qs_document_get_config (doc));
  /* a budget halfway between the cheapest and the largest point */
  budget = (front->points[0].weight_bytes + front->points[front->n_points - 1].weight_bytes) / 2;
  qs_sensitivity_page_search (page, QS_BUDGET_MAX_BYTES, budget / 1024.0);
  wait_idle (page);
  g_assert_cmpuint (qs_document_get_n_history_steps (doc, FALSE), ==, 1);
  front = qs_sensitivity_page_get_front (page);   /* the search's own, measured again */
  {
    QsConfig *config = qs_document_get_config (doc);
    guint64 bytes = 0;

    for (guint l = 0; l < front->n_layers; l++)
      {
        QsTensor *kernel = qs_layer_get_kernel (qs_model_find_layer (sample_model, front->layers[l]));
        QsLayerConfig lc;
        QsQuantSpec resolved;

        qs_config_get_layer (config, front->layers[l], &lc);
        qs_config_resolve_weight_spec (&lc.weight, kernel, &resolved);
        bytes += (qs_lowering_kernel_storage_bits (kernel, &resolved) + 7) / 8;
      }
    g_assert_cmpuint (bytes, <=, budget);
  }
  g_assert_true (qs_document_undo (doc));
  undone = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, ==, undone);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-sensitivity-XXXXXX", NULL);

  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  test_gui_init_or_skip (&argc, &argv);
  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/sensitivity-page/run-fills-charts", test_run_fills_charts);
  g_test_add_func ("/qs/sensitivity-page/cancel-leaves-config", test_cancel_leaves_config);
  g_test_add_func ("/qs/sensitivity-page/apply-point-one-undo", test_apply_point_one_undo);
  g_test_add_func ("/qs/sensitivity-page/search-applies-within-budget", test_search_applies_within_budget);
  return g_test_run ();
}
