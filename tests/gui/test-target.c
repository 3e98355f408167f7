/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The deployment target in the app (issue 12) and the live trade-off history (issue 11). */
#include "config.h"

#include <adwaita.h>
#include <string.h>
#include <glib/gstdio.h>

#include "qs-layer-list.h"
#include "qs-layer-page.h"
#include "qs-layer-row.h"
#include "qs-summary-bar-private.h"
#include "test-sample.h"

static QsModel *sample_model;

static void
flush_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
wait_idle (QsDocument *doc)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (qs_document_get_busy (doc))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  flush_main_context ();
}

static void
set_activation_bits (QsDocument *doc,
                     const char *layer,
                     guint       bits)
{
  const char *layers[] = { layer, NULL };
  QsLayerConfig lc;

  qs_config_get_layer (qs_document_get_config (doc), layer, &lc);
  lc.quantize_activations = TRUE;
  lc.activation.format = QS_FORMAT_INT;
  lc.activation.bits = bits;
  qs_document_set_layer_config (doc, layers, &lc, "Activation Bits", NULL);
}

static void
set_weight_bits (QsDocument *doc,
                 const char *layer,
                 guint       bits)
{
  const char *layers[] = { layer, NULL };
  QsLayerConfig lc;

  qs_config_get_layer (qs_document_get_config (doc), layer, &lc);
  lc.weight.bits = bits;
  qs_document_set_layer_config (doc, layers, &lc, "Weight Bits", NULL);
}

/* The dropdown entry of a bundled target by name. */
static guint
dropdown_position (const char *name)
{
  const char * const *names = qs_target_list_bundled ();

  for (guint i = 0; names[i] != NULL; i++)
    if (g_str_equal (names[i], name))
      return i + 1;   /* after "Any target" */
  g_assert_not_reached ();
}

/* Choosing TFLite int8 in the summary bar and giving conv2 int4 activations: the badge is on
 * conv2's row only, with the core's reason as tooltip; the page's banner says the same; the
 * summary counts one layer. */
static void
test_target_badge (void)
{
  g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, NULL);
  g_autoptr(QsLayerList) list = qs_layer_list_new (doc);
  GtkWidget *bar = g_object_ref_sink (qs_summary_bar_new ());
  GtkWidget *page = g_object_ref_sink (qs_layer_page_new ());
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) issues = NULL;
  const char *expected = NULL;
  GtkLabel *banner_label;
  GtkWidget *banner;
  guint n_badges = 0;

  qs_document_set_autosave_delay (doc, 0);
  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), doc);
  qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv2");
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (list)); i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);
      GtkWidget *row = g_object_ref_sink (qs_layer_row_new ());

      qs_layer_row_set_item (QS_LAYER_ROW (row), item);
      g_ptr_array_add (rows, row);
    }

  gtk_drop_down_set_selected (_qs_summary_bar_get_target_dropdown (QS_SUMMARY_BAR (bar)),
                              dropdown_position ("tflite-int8"));
  g_assert_nonnull (qs_document_get_target (doc));
  g_assert_cmpstr (qs_document_get_target (doc)->name, ==, "tflite-int8");
  /* w8a8 runs on TFLite int8 */
  g_assert_cmpuint (qs_document_get_n_target_layers (doc, NULL), ==, 0);
  for (guint i = 0; i < rows->len; i++)
    g_assert_false (gtk_widget_get_visible (_qs_layer_row_get_target_badge (g_ptr_array_index (rows, i))));

  set_activation_bits (doc, "conv2", 4);
  flush_main_context ();

  /* the core's reason for conv2 */
  issues = qs_target_check (qs_document_get_target (doc), sample_model, qs_document_get_config (doc));
  g_assert_cmpuint (issues->len, ==, 1);
  g_assert_cmpstr (((QsTargetIssue *) g_ptr_array_index (issues, 0))->layer, ==, "conv2");
  expected = ((QsTargetIssue *) g_ptr_array_index (issues, 0))->reason;
  g_assert_nonnull (strstr (expected, "activations"));

  for (guint i = 0; i < rows->len; i++)
    {
      QsLayerRow *row = g_ptr_array_index (rows, i);
      GtkWidget *badge = _qs_layer_row_get_target_badge (row);
      const char *name = qs_layer_item_get_name (qs_layer_row_get_item (row));

      if (g_str_equal (name, "conv2"))
        {
          const char *tip = gtk_widget_get_tooltip_text (badge);

          g_assert_true (gtk_widget_get_visible (badge));
          g_assert_cmpstr (tip, ==, expected);
          n_badges++;
        }
      else
        g_assert_false (gtk_widget_get_visible (badge));
    }
  g_assert_cmpuint (n_badges, ==, 1);

  banner = _qs_layer_page_get_target_banner (QS_LAYER_PAGE (page), &banner_label);
  g_assert_true (gtk_widget_get_visible (banner));
  g_assert_cmpstr (gtk_label_get_text (banner_label), ==, expected);

  /* untranslated in the tests: "1 layer cannot run on TFLite int8" */
  g_assert_nonnull (strstr (gtk_label_get_text (_qs_summary_bar_get_target_label (QS_SUMMARY_BAR (bar))), "1 layer"));
  g_assert_nonnull (strstr (gtk_label_get_text (_qs_summary_bar_get_target_label (QS_SUMMARY_BAR (bar))), "TFLite int8"));

  /* live: back to 8 bits clears the badge and the banner */
  set_activation_bits (doc, "conv2", 8);
  flush_main_context ();
  for (guint i = 0; i < rows->len; i++)
    g_assert_false (gtk_widget_get_visible (_qs_layer_row_get_target_badge (g_ptr_array_index (rows, i))));
  g_assert_false (gtk_widget_get_visible (banner));

  /* "Any target" lifts it */
  set_activation_bits (doc, "conv2", 4);
  gtk_drop_down_set_selected (_qs_summary_bar_get_target_dropdown (QS_SUMMARY_BAR (bar)), 0);
  g_assert_null (qs_document_get_target (doc));
  flush_main_context ();
  for (guint i = 0; i < rows->len; i++)
    g_assert_false (gtk_widget_get_visible (_qs_layer_row_get_target_badge (g_ptr_array_index (rows, i))));

  qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), NULL);
  g_object_unref (page);
  g_object_unref (bar);
  wait_idle (doc);
}

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  QsDocument **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = qs_document_load_session_finish (result, &error);
  g_assert_no_error (error);
}

/* The target is part of the session: saved, restored, and a change marks the document. */
static void
test_target_session (void)
{
  g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, NULL);
  g_autoptr(QsDocument) restored = NULL;
  g_autoptr(QsTarget) target = qs_target_load ("cmsis-nn", NULL);
  g_autofree char *dir = g_dir_make_tmp ("qs-target-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "session.json", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;

  qs_document_set_autosave_delay (doc, 0);
  g_assert_nonnull (target);
  g_assert_true (qs_document_save_session (doc, file, &error));
  g_assert_no_error (error);
  g_assert_false (qs_document_get_modified (doc));
  qs_document_set_target (doc, target);
  g_assert_true (qs_document_get_modified (doc));
  g_assert_true (qs_document_save_session (doc, file, &error));
  g_assert_false (qs_document_get_modified (doc));
  g_assert_true (g_file_get_contents (path, &json, NULL, NULL));
  g_assert_nonnull (strstr (json, "\"target\" : \"cmsis-nn\""));

  qs_document_load_session_async (file, NULL, on_loaded, &restored);
  while (restored == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (qs_document_get_target (restored));
  g_assert_cmpstr (qs_document_get_target (restored)->name, ==, "cmsis-nn");
  g_assert_cmpstr (qs_document_get_target_key (restored), ==, "cmsis-nn");
  g_assert_false (qs_document_get_modified (restored));
  qs_document_set_autosave_delay (restored, 0);
  wait_idle (restored);
  wait_idle (doc);
  g_unlink (path);
  g_rmdir (dir);
}

static void
wait_for_history (QsTradeoffHistory *history,
                  QsDocument        *doc,
                  guint              n)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (qs_tradeoff_history_get_n_entries (history) < n || qs_document_get_busy (doc))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  flush_main_context ();
}

/* Three config changes: the chart has the initial point and three more, the current one
 * ringed; clicking the first brings its config back in one undo step. */
static void
test_history (void)
{
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsDocument) doc = NULL;
  g_autoptr(QsConfig) initial = NULL;
  g_autoptr(QsConfig) last = NULL;
  GtkWidget *window, *bar;
  QsScatterChartView *chart;
  QsTradeoffHistory *history;
  const QsTradeoffEntry *e0, *e3;
  double x, y;

  if (dataset == NULL)
    {
      g_test_skip ("the sample dataset is not available");
      return;
    }
  doc = qs_document_new (sample_model, NULL, dataset);
  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_quick_subset (doc, 100);
  window = gtk_window_new ();
  bar = qs_summary_bar_new ();
  gtk_window_set_child (GTK_WINDOW (window), bar);
  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), doc);
  history = _qs_summary_bar_get_history (QS_SUMMARY_BAR (bar));
  chart = _qs_summary_bar_get_history_chart (QS_SUMMARY_BAR (bar));
  qs_document_refresh (doc);
  wait_for_history (history, doc, 1);
  initial = qs_config_copy (qs_document_get_config (doc));

  set_weight_bits (doc, "fc1", 4);
  wait_for_history (history, doc, 2);
  set_weight_bits (doc, "conv2", 6);
  wait_for_history (history, doc, 3);
  set_weight_bits (doc, "fc1", 3);
  wait_for_history (history, doc, 4);
  last = qs_config_copy (qs_document_get_config (doc));

  g_assert_cmpuint (qs_tradeoff_history_get_n_entries (history), ==, 4);
  g_assert_cmpuint (qs_scatter_chart_view_get_n_points (chart), ==, 4);
  g_assert_cmpint (qs_scatter_chart_view_get_current (chart), ==, 3);
  e0 = qs_tradeoff_history_get_entry (history, 0);
  e3 = qs_tradeoff_history_get_entry (history, 3);
  g_assert_true (qs_config_equal (e0->config, initial));
  /* 3-bit and 4-bit weights take fewer bytes than the initial int8 */
  g_assert_cmpuint (e3->weight_bytes, <, e0->weight_bytes);

  /* click the first point where the chart draws it */
  gtk_widget_set_size_request (GTK_WIDGET (chart), 380, 250);
  gtk_window_present (GTK_WINDOW (window));
  gtk_popover_popup (GTK_POPOVER (gtk_widget_get_ancestor (GTK_WIDGET (chart), GTK_TYPE_POPOVER)));
  {
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (gtk_widget_get_width (GTK_WIDGET (chart)) < 200)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_main_context_iteration (NULL, TRUE);
      }
  }
  g_assert_true (qs_scatter_chart_view_get_point_position (chart, 0, &x, &y));
  g_assert_cmpint (qs_scatter_chart_view_point_at (chart, x, y), ==, 0);
  qs_scatter_chart_view_activate_point (chart, qs_scatter_chart_view_point_at (chart, x, y));
  g_assert_true (qs_config_equal (qs_document_get_config (doc), initial));
  g_assert_cmpstr (qs_document_get_undo_label (doc), ==, "Go Back to a Tried Configuration");
  flush_main_context ();
  g_assert_cmpint (qs_tradeoff_history_get_current (history), ==, 0);

  /* one undo step returns to the config before the click */
  g_assert_true (qs_document_undo (doc));
  g_assert_true (qs_config_equal (qs_document_get_config (doc), last));

  wait_idle (doc);
  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), NULL);
  gtk_window_destroy (GTK_WINDOW (window));
  flush_main_context ();
}

int
main (int   argc,
      char *argv[])
{
  test_gui_init_or_skip (&argc, &argv);
  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/gui/target/badge", test_target_badge);
  g_test_add_func ("/qs/gui/target/session", test_target_session);
  g_test_add_func ("/qs/gui/history/points-and-restore", test_history);
  return g_test_run ();
}
