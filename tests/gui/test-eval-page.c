/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <adwaita.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "qs-eval-page.h"
#include "test-sample.h"

/* The Evaluation view (issue 11): its numbers are qs_eval_run's on the whole dataset (and
 * `quantscope-cli eval`'s), bit for bit; Cancel leaves the document alone. */

static QsModel *sample_model;
static char *tmp_dir;

static QsDocument *
new_document (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", &error);
  QsDocument *doc;

  g_assert_no_error (error);
  doc = qs_document_new (sample_model, NULL, dataset);
  qs_document_set_autosave_delay (doc, 0);
  /* the quick evaluation would compete for the cores: keep it tiny */
  qs_document_set_quick_subset (doc, 50);
  return doc;
}

static GtkWidget *
new_page_in_window (QsDocument *doc)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = qs_eval_page_new ();

  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 900, 700);
  gtk_window_present (GTK_WINDOW (window));
  qs_eval_page_set_document (QS_EVAL_PAGE (page), doc);
  return window;
}

static void
wait_idle (QsEvalPage *page)
{
  while (qs_eval_page_get_running (page))
    g_main_context_iteration (NULL, TRUE);
}

static void
assert_same_doubles (const double *a,
                     const double *b,
                     guint         n)
{
  for (guint i = 0; i < n; i++)
    g_assert_true ((isnan (a[i]) && isnan (b[i])) || a[i] == b[i]);
}

static double
json_number (JsonObject *o,
             const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  g_assert_nonnull (node);
  return JSON_NODE_HOLDS_NULL (node) ? NAN : json_node_get_double (node);
}

/* The CLI on the same model, data and config: the same numbers. */
static void
compare_with_cli (QsDocument   *doc,
                  QsEvalResult *r)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *config_path = g_build_filename (tmp_dir, "eval.json", NULL);
  g_autofree char *out = NULL;
  const char *cli = g_getenv ("QS_CLI");
  JsonObject *o;
  JsonArray *fc, *pc;
  gint status = 0;

  if (cli == NULL)
    {
      g_test_message ("QS_CLI is not set: the CLI comparison is skipped");
      return;
    }
  g_assert_true (qs_config_save_file (qs_document_get_config (doc), config_path, &error));
  g_assert_no_error (error);
  {
    const char *argv[] = { cli, "eval", qs_model_get_path (sample_model), "--dataset", "sample",
                           "--config", config_path, "--no-layer-stats", "--json", NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                 NULL, &out, NULL, &status, &error));
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "images"), ==, r->n_images);
  g_assert_cmpfloat (json_number (o, "float_accuracy"), ==, r->float_top1);
  g_assert_cmpfloat (json_number (o, "quant_accuracy"), ==, r->quant_top1);
  g_assert_cmpfloat (json_number (o, "float_top5"), ==, r->float_top5);
  g_assert_cmpfloat (json_number (o, "quant_top5"), ==, r->quant_top5);
  g_assert_cmpfloat (json_number (o, "agreement"), ==, r->agreement);
  g_assert_cmpfloat (json_number (o, "mean_kl"), ==, r->mean_kl);
  g_assert_cmpfloat (json_number (json_object_get_object_member (o, "output_errors"), "sqnr_db"), ==,
                     r->output_sqnr_db);
  fc = json_object_get_array_member (o, "quant_confusion");
  pc = json_object_get_array_member (o, "per_class");
  g_assert_cmpuint (json_array_get_length (fc), ==, r->n_classes);
  for (guint i = 0; i < r->n_classes; i++)
    {
      JsonArray *row = json_array_get_array_element (fc, i);
      JsonObject *c = json_array_get_object_element (pc, i);

      for (guint j = 0; j < r->n_classes; j++)
        g_assert_cmpint (json_array_get_int_element (row, j), ==, r->quant_confusion[i * r->n_classes + j]);
      g_assert_cmpfloat (json_number (c, "quant_accuracy"), ==, r->quant_per_class[i]);
    }
  g_unlink (config_path);
}

/* The page on the whole sample set = qs_eval_run on the same model, config and dataset,
 * value for value; what it shows is those values; then a cancelled second run keeps the
 * result, marked stale, and says so. */
static void
test_same_as_eval_run (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  GtkWidget *window = new_page_in_window (doc);
  QsEvalPage *page = QS_EVAL_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  g_autoptr(QsConfig) config = qs_config_copy (qs_document_get_config (doc));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsEvalResult) direct = NULL;
  g_autofree char *before = qs_config_to_json (qs_document_get_config (doc));
  g_autofree char *after = NULL, *top1 = NULL;
  QsEvalResult *r;
  guint nc;

  g_assert_null (qs_eval_page_get_result (page));
  qs_eval_page_run (page);
  g_assert_true (qs_eval_page_get_running (page));
  wait_idle (page);
  r = qs_eval_page_get_result (page);
  g_assert_nonnull (r);
  g_assert_false (qs_eval_page_get_stale (page));

  direct = qs_eval_run (sample_model, config, qs_document_get_dataset (doc), NULL, NULL, NULL,
                        NULL, &error);
  g_assert_no_error (error);
  /* the whole dataset */
  g_assert_cmpuint (r->n_images, ==, qs_dataset_get_n_images (qs_document_get_dataset (doc)));
  g_assert_cmpuint (r->n_images, ==, direct->n_images);
  g_assert_cmpuint (r->n_classes, ==, direct->n_classes);
  g_assert_true (r->labelled && r->classification);
  g_assert_cmpfloat (r->float_top1, ==, direct->float_top1);
  g_assert_cmpfloat (r->float_top5, ==, direct->float_top5);
  g_assert_cmpfloat (r->quant_top1, ==, direct->quant_top1);
  g_assert_cmpfloat (r->quant_top5, ==, direct->quant_top5);
  g_assert_cmpfloat (r->agreement, ==, direct->agreement);
  g_assert_cmpfloat (r->top5_overlap, ==, direct->top5_overlap);
  g_assert_cmpfloat (r->mean_kl, ==, direct->mean_kl);
  g_assert_cmpfloat (r->output_sqnr_db, ==, direct->output_sqnr_db);
  g_assert_cmpfloat (r->output_mse, ==, direct->output_mse);
  g_assert_cmpfloat (r->output_cosine, ==, direct->output_cosine);
  g_assert_cmpfloat (r->output_max_abs_error, ==, direct->output_max_abs_error);
  nc = r->n_classes;
  assert_same_doubles (r->float_per_class, direct->float_per_class, nc);
  assert_same_doubles (r->quant_per_class, direct->quant_per_class, nc);
  g_assert_cmpmem (r->float_confusion, nc * nc * sizeof (guint),
                   direct->float_confusion, nc * nc * sizeof (guint));
  g_assert_cmpmem (r->quant_confusion, nc * nc * sizeof (guint),
                   direct->quant_confusion, nc * nc * sizeof (guint));

  /* what the page shows is those numbers */
  top1 = g_strdup_printf ("%.2f %% float → %.2f %% quantized (%+.2f points)",
                          100.0 * direct->float_top1, 100.0 * direct->quant_top1,
                          100.0 * (direct->quant_top1 - direct->float_top1));
  g_assert_cmpstr (qs_eval_page_get_value_text (page, "top1"), ==, top1);
  {
    g_autofree char *agreement = g_strdup_printf ("%.2f %%", 100.0 * direct->agreement);
    g_autofree char *kl = g_strdup_printf ("%.5f", direct->mean_kl);
    g_autofree char *cosine = g_strdup_printf ("%.6f", direct->output_cosine);

    g_assert_cmpstr (qs_eval_page_get_value_text (page, "agreement"), ==, agreement);
    g_assert_cmpstr (qs_eval_page_get_value_text (page, "kl"), ==, kl);
    g_assert_cmpstr (qs_eval_page_get_value_text (page, "cosine"), ==, cosine);
  }
  compare_with_cli (doc, r);

  /* a cancelled run: the previous result stays, marked stale, and the page says so */
  qs_eval_page_run (page);
  g_assert_true (qs_eval_page_get_running (page));
  /* the worker has started; the float side and the program are cached, so it is quick:
   * cancel before the main loop can deliver its result */
  qs_eval_page_cancel (page);
  wait_idle (page);
  g_assert_true (qs_eval_page_get_result (page) == r);
  g_assert_true (qs_eval_page_get_stale (page));
  g_assert_nonnull (strstr (qs_eval_page_get_status (page), "Cancelled"));
  after = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, ==, after);
  g_assert_false (qs_document_can_undo (doc));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Cancel mid-run without a previous result: no crash, no result, the config untouched and
 * no undo step, the page says it was cancelled; a config change marks a result stale. */
static void
test_cancel (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  GtkWidget *window = new_page_in_window (doc);
  QsEvalPage *page = QS_EVAL_PAGE (gtk_window_get_child (GTK_WINDOW (window)));
  g_autofree char *before = qs_config_to_json (qs_document_get_config (doc));
  g_autofree char *after = NULL;

  qs_eval_page_run (page);
  g_assert_true (qs_eval_page_get_running (page));
  /* the worker has started; the float side and the program are cached, so it is quick:
   * cancel before the main loop can deliver its result */
  qs_eval_page_cancel (page);
  wait_idle (page);
  g_assert_false (qs_eval_page_get_running (page));
  g_assert_null (qs_eval_page_get_result (page));
  g_assert_nonnull (strstr (qs_eval_page_get_status (page), "Cancelled"));
  after = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (before, ==, after);
  g_assert_false (qs_document_can_undo (doc));

  /* closing the document while a run is going: cancelled, nothing left behind */
  qs_eval_page_run (page);
  g_assert_true (qs_eval_page_get_running (page));
  qs_eval_page_set_document (page, NULL);
  g_assert_false (qs_eval_page_get_running (page));
  g_assert_null (qs_eval_page_get_result (page));
  gtk_window_destroy (GTK_WINDOW (window));
  /* let the cancelled worker finish and its callback be dropped */
  for (int i = 0; i < 200; i++)
    g_main_context_iteration (NULL, FALSE);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *cache = NULL;
  int status;

  tmp_dir = g_dir_make_tmp ("qs-eval-page-XXXXXX", NULL);
  cache = g_build_filename (tmp_dir, "cache", NULL);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_setenv ("QS_CLI_QUIET", "1", TRUE);
  test_gui_init_or_skip (&argc, &argv);
  sample_model = test_load_sample_model_or_skip ();
  g_test_add_func ("/qs/eval-page/same-as-eval-run", test_same_as_eval_run);
  g_test_add_func ("/qs/eval-page/cancel", test_cancel);
  status = g_test_run ();
  g_clear_object (&sample_model);
  return status;
}
