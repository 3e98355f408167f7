/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <adwaita.h>
#include <glib/gstdio.h>

#include "qs-activation-view.h"
#include "qs-heatmap-view.h"
#include "qs-layer-page.h"
#include "test-sample.h"

static QsModel *sample_model;

static GtkWidget *
page_child (GtkWidget  *page,
            const char *name)
{
  GObject *child = gtk_widget_get_template_child (page, QS_TYPE_LAYER_PAGE, name);

  g_assert_nonnull (child);
  return GTK_WIDGET (child);
}

/* A range fixed by the config (quantization-aware training) overrides calibration: the
 * calibration row says so and cannot be changed; other layers keep their calibration. */
static void
test_layer_page_fixed_range (void)
{
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsDocument) doc = NULL;
  GtkWidget *page = g_object_ref_sink (qs_layer_page_new ());
  GtkWidget *calib;
  const char *subtitle;

  qs_config_set_activation_range (config, "conv1", 0.0f, 2.5f);
  doc = qs_document_new (sample_model, config, NULL);
  qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
  calib = page_child (page, "calib_row");

  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv1");
  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (calib));
  g_assert_nonnull (subtitle);
  g_assert_nonnull (strstr (subtitle, "2.5"));
  g_assert_false (gtk_widget_get_sensitive (calib));

  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv2");
  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (calib));
  g_assert_true (subtitle == NULL || *subtitle == '\0');
  g_assert_true (gtk_widget_get_sensitive (calib));

  qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
  g_object_unref (page);
}

/* The Requantization row edits the config's global mode: it follows the document, a choice
 * is one undo step that marks the document changed, and applying a preset keeps it. */
static void
test_layer_page_requant_row (void)
{
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsConfig) next = NULL;
  g_autoptr(QsDocument) doc = NULL;
  GtkWidget *page = g_object_ref_sink (qs_layer_page_new ());
  AdwComboRow *row;

  doc = qs_document_new (sample_model, config, NULL);
  qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv1");
  row = ADW_COMBO_ROW (page_child (page, "requant_row"));
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, QS_REQUANT_GEMMLOWP);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   qs_requant_mode_describe (QS_REQUANT_GEMMLOWP));

  /* the row follows the document */
  next = qs_config_copy (qs_document_get_config (doc));
  qs_config_set_requant_mode (next, QS_REQUANT_FP32_RNE);
  qs_document_set_config (doc, next, "test");
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, QS_REQUANT_FP32_RNE);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (row)), ==,
                   qs_requant_mode_describe (QS_REQUANT_FP32_RNE));

  /* the row edits the document: one undo step */
  adw_combo_row_set_selected (row, QS_REQUANT_SINGLE_ROUNDING);
  g_assert_cmpint (qs_config_get_requant_mode (qs_document_get_config (doc)), ==, QS_REQUANT_SINGLE_ROUNDING);
  g_assert_true (qs_document_get_modified (doc));
  g_assert_cmpstr (qs_document_get_undo_label (doc), ==, "Change Requantization");
  g_assert_true (qs_document_apply_preset (doc, "w4a8", NULL, NULL));
  g_assert_cmpint (qs_config_get_requant_mode (qs_document_get_config (doc)), ==, QS_REQUANT_SINGLE_ROUNDING);
  g_assert_true (qs_document_undo (doc));
  g_assert_true (qs_document_undo (doc));
  g_assert_cmpint (qs_config_get_requant_mode (qs_document_get_config (doc)), ==, QS_REQUANT_FP32_RNE);
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, QS_REQUANT_FP32_RNE);

  qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
  g_object_unref (page);
}

/* Tab visits each control once: the spin button of the Bits row, not the row as well, and
 * not the title (issue 17). */
static void
test_layer_page_tab_stops (void)
{
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsDocument) doc = qs_document_new (sample_model, config, NULL);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = qs_layer_page_new ();
  GtkWidget *bits_row, *bits_spin, *title;
  guint bits_stops = 0, n_stops = 0;
  GtkWidget *first = NULL;

  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv1");
  gtk_window_present (GTK_WINDOW (window));
  /* Tab order follows the allocation: wait until the page is mapped and sized. */
  for (guint i = 0; i < 500 && !(gtk_widget_get_mapped (page) && gtk_widget_get_width (page) > 0); i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
  for (guint i = 0; i < 50; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
  g_assert_true (gtk_widget_get_mapped (page));
  /* From the first control. */
  g_assert_true (gtk_widget_grab_focus (page_child (page, "format_row")));
  bits_row = page_child (page, "bits_row");
  bits_spin = page_child (page, "bits_spin");
  title = page_child (page, "title_label");

  /* The rows around a spin button or switch and the title take no focus of their own; the
   * statistics cards offer none (a focusable flow box without focusable children would keep
   * Tab where it is). */
  g_assert_false (gtk_widget_get_focusable (bits_row));
  g_assert_false (gtk_widget_get_focusable (page_child (page, "act_bits_row")));
  g_assert_false (gtk_widget_get_focusable (title));
  g_assert_false (gtk_widget_get_can_focus (page_child (page, "stats_grid")));

  /* GtkListBoxRow moves focus by gtk_widget_has_focus (), which holds only in the active
   * window: walk the chain only when this window is (other gui tests' windows may be). */
  if (!gtk_window_is_active (GTK_WINDOW (window)))
    {
      g_test_message ("window not active: Tab chain not walked");
      qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
      gtk_window_destroy (GTK_WINDOW (window));
      return;
    }
  /* Around the whole chain once: no stop twice, none that keeps the focus where it is. */
  for (guint i = 0; i < 80; i++)
    {
      GtkWidget *focus, *before = gtk_root_get_focus (GTK_ROOT (window));

      if (!gtk_widget_child_focus (window, GTK_DIR_TAB_FORWARD))
        break;
      focus = gtk_root_get_focus (GTK_ROOT (window));
      g_test_message ("tab %u: %s", i, focus ? G_OBJECT_TYPE_NAME (focus) : "(none)");
      g_assert_nonnull (focus);
      g_assert_true (focus != before);
      if (focus == first)
        break;
      if (first == NULL)
        first = focus;
      n_stops++;
      g_assert_true (focus != bits_row);
      g_assert_true (focus != title);
      if (focus == bits_spin || gtk_widget_is_ancestor (focus, bits_spin))
        bits_stops++;
    }
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == first);
  g_assert_cmpuint (n_stops, >, 5);
  g_assert_cmpuint (bits_stops, ==, 1);

  qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* A BatchNormalization folded into the convolution before it says so, links to that layer
 * and shows the stored (folded) kernel instead of "No Weights" (issue 17). */
static void
test_layer_page_folded_batch_norm (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "..", "data", "models", "fmnist-resnet.h5", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = qs_model_load (path, NULL, NULL, &error);
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsDocument) doc = NULL;
  GtkWidget *page = g_object_ref_sink (qs_layer_page_new ());
  GtkWidget *button;
  GVariant *target;

  if (model == NULL)
    {
      g_test_skip (error->message);
      g_object_unref (page);
      return;
    }
  doc = qs_document_new (model, config, NULL);
  qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "block1_conv1_bn");

  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (page_child (page, "chart_or_empty"))), ==, "batch-norm");
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (page_child (page, "bn_title"))), "block1_conv1"));
  button = page_child (page, "bn_target_button");
  g_assert_true (gtk_widget_get_visible (button));
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (button)), ==, "win.select-layer");
  target = gtk_actionable_get_action_target_value (GTK_ACTIONABLE (button));
  g_assert_cmpstr (g_variant_get_string (target, NULL), ==, "block1_conv1");
  /* The stored kernel's statistics: kernel, largest weight, SQNR, storage. */
  g_assert_true (gtk_widget_get_visible (page_child (page, "bn_details")));
  g_assert_nonnull (gtk_grid_get_child_at (GTK_GRID (page_child (page, "bn_grid")), 1, 3));

  /* A convolution still shows its charts. */
  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "block1_conv1");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (page_child (page, "chart_or_empty"))), ==, "charts");

  qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
  g_object_unref (page);
}


static void
wait_idle (QsDocument *doc)
{
  while (qs_document_get_busy (doc))
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* A click on an error-map cell (the heatmap's API) fills the explain panel with that
 * weight's numbers, which are qs_quant_run ()'s; for an integer layer the requantization
 * of one output follows and agrees with the engine. */
static void
test_layer_page_explain_panel (void)
{
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsDocument) doc = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = qs_layer_page_new ();
  QsQuantResult *result;
  QsExplainPanel *panel;
  const QsExplainValue *v;
  GtkWidget *heatmap = NULL;
  g_autofree char *text = NULL;
  gsize rows, cols, index;

  if (dataset == NULL)
    {
      g_test_skip ("the sample dataset is not available");
      gtk_window_destroy (GTK_WINDOW (window));
      return;
    }
  doc = qs_document_new (sample_model, config, dataset);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 800);
  gtk_window_present (GTK_WINDOW (window));
  qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv2");
  qs_document_refresh (doc);
  {
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    while ((result = qs_document_get_layer_result (doc, "conv2")) == NULL || result->is_estimate)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_main_context_iteration (NULL, TRUE);
      }
    wait_idle (doc);
  }

  /* the heatmap of the page, found by type */
  {
    AdwViewStack *stack = ADW_VIEW_STACK (page_child (page, "chart_stack"));
    heatmap = adw_view_stack_get_child_by_name (stack, "heatmap");
  }
  g_assert_true (QS_IS_HEATMAP_VIEW (heatmap));
  g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (page_child (page, "explain_revealer"))));
  qs_tensor_matrix_shape (result->input, &rows, &cols);
  qs_heatmap_view_activate_cell (QS_HEATMAP_VIEW (heatmap), rows / 2, cols / 3);
  index = qs_tensor_matrix_index (result->input, rows / 2, cols / 3);

  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (page_child (page, "explain_revealer"))));
  panel = qs_layer_page_get_explain_panel (QS_LAYER_PAGE (page));
  v = qs_explain_panel_get_value (panel);
  g_assert_nonnull (v);
  g_assert_cmpuint (v->index, ==, index);
  g_assert_cmpint (v->q, ==, result->codes[index]);
  g_assert_cmpfloat (v->scale, ==, result->params->scale[qs_quant_params_index (result->params, index)]);
  g_assert_cmpfloat (v->x_hat, ==, result->dequant->data[index]);
  text = qs_explain_panel_get_text (panel);
  g_assert_nonnull (strstr (text, "clamp (round (x / S) + Z, qmin, qmax)"));

  /* the requantization arrives from the worker */
  {
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    while (strstr (text, "M0 = ") == NULL)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_main_context_iteration (NULL, TRUE);
        g_free (text);
        text = qs_explain_panel_get_text (panel);
      }
  }
  g_assert_nonnull (strstr (text, "(the same)"));

  /* a histogram bin and a channel explain too */
  {
    AdwViewStack *stack = ADW_VIEW_STACK (page_child (page, "chart_stack"));
    GtkWidget *channels = adw_view_stack_get_child_by_name (stack, "channels");

    qs_chart_view_activate_item (QS_CHART_VIEW (channels), 3);
    v = qs_explain_panel_get_value (panel);
    g_assert_cmpuint (v->channel, ==, 3);
    /* the channel's largest |x| sets a min-max range: it lands on an end code */
    g_assert_true (v->q == v->qmax || v->q == v->qmin);
  }

  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv1");
  g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (page_child (page, "explain_revealer"))));
  qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The Activations tab shows the histogram of the layer's output over the calibration set
 * and the range the layer's calibration method picks (what qs_calibration_get_range ()
 * computes, at the engine's clip points); choosing another method moves the range at once
 * (no main-loop turn: the histogram is kept), and a weights-only config keeps the
 * histogram and says the activations stay float. */
static void
test_layer_page_activations (void)
{
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w4a4", NULL);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsDocument) doc = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = qs_layer_page_new ();
  AdwViewStack *stack;
  QsActivationView *view;
  AdwComboRow *row;
  const QsActRangeStats *shown;
  const QsRangeMethod methods[] = { QS_RANGE_MINMAX, QS_RANGE_PERCENTILE, QS_RANGE_MSE, QS_RANGE_KL };
  float minmax_hi = 0;
  guint n_moved = 0;

  if (dataset == NULL)
    {
      g_test_skip ("the sample dataset is not available");
      gtk_window_destroy (GTK_WINDOW (window));
      return;
    }
  doc = qs_document_new (sample_model, config, dataset);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 800);
  gtk_window_present (GTK_WINDOW (window));
  qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv1");
  qs_layer_page_set_chart (QS_LAYER_PAGE (page), "activations");
  g_assert_cmpstr (qs_layer_page_get_chart (QS_LAYER_PAGE (page)), ==, "activations");
  stack = ADW_VIEW_STACK (page_child (page, "chart_stack"));
  view = QS_ACTIVATION_VIEW (adw_view_stack_get_child_by_name (stack, "activations"));
  {
    gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

    while (qs_activation_view_get_stats (view) == NULL)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_main_context_iteration (NULL, TRUE);
      }
  }
  g_assert_cmpstr (qs_activation_view_get_stats (view)->name, ==, "conv1");
  g_assert_cmpuint (qs_activation_view_get_stats (view)->n_values, >, 0);

  /* the same calibration the view used: the quick evaluation's cache */
  calib = qs_calibration_cache_get_full (qs_eval_cache_get_calibrations (qs_document_get_eval_cache (doc)),
                                         sample_model, qs_config_get_calib_source (config),
                                         qs_dataset_get_preprocess (dataset),
                                         qs_config_get_calib_images (config), NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  row = ADW_COMBO_ROW (page_child (page, "calib_row"));
  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      AdwEnumListModel *model = ADW_ENUM_LIST_MODEL (adw_combo_row_get_model (row));
      QsLayerConfig lc;
      QsLoweredParams p;
      float lo, hi;

      adw_combo_row_set_selected (row, adw_enum_list_model_find_position (model, methods[i]));
      qs_config_get_layer (qs_document_get_config (doc), "conv1", &lc);
      g_assert_cmpint (lc.activation.range_method, ==, methods[i]);
      g_assert_true (qs_calibration_get_range (calib, "conv1", &lc.activation, &lo, &hi, &error));
      g_assert_no_error (error);
      g_assert_true (qs_lowered_params_from_range (&lc.activation, lo, hi, &p, &error));
      /* MSE and KL are chosen in a worker: the view shows the new range when it is in */
      {
        gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

        while ((shown = qs_activation_view_get_range (view)) == NULL || shown->lo != lo || shown->hi != hi)
          {
            g_assert_cmpint (g_get_monotonic_time (), <, deadline);
            g_main_context_iteration (NULL, FALSE);
            g_usleep (1000);
          }
      }
      g_assert_cmpfloat (shown->lo, ==, lo);
      g_assert_cmpfloat (shown->hi, ==, hi);
      g_assert_cmpfloat (shown->clip_hi, ==, p.scale * (p.qmax - p.zero_point));
      g_assert_cmpuint (shown->n_levels, ==, 16);
      g_assert_true (isfinite (shown->sqnr_db));
      if (i == 0)
        {
          minmax_hi = shown->clip_hi;
          g_assert_cmpfloat (shown->clipped_fraction, <, 1e-9);
        }
      else if (shown->clip_hi < minmax_hi)
        {
          n_moved++;
          g_assert_cmpfloat (shown->clipped_fraction, >, 0.0);
        }
    }
  g_assert_cmpuint (n_moved, >, 0);

  /* exportable like the other charts: a PNG with the PNG signature */
  {
    g_autofree char *dir = g_dir_make_tmp ("quantscope-act-XXXXXX", NULL);
    g_autofree char *png = g_build_filename (dir, "conv1-activations.png", NULL);
    g_autofree char *contents = NULL;
    gsize length = 0;

    g_assert_true (qs_activation_view_export (view, png, 1.0, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (png, &contents, &length, NULL));
    g_assert_cmpuint (length, >, 1000);
    g_assert_true (memcmp (contents, "\x89PNG", 4) == 0);
    g_unlink (png);
    g_rmdir (dir);
  }

  /* weights only: the histogram stays, the activations are float */
  {
    g_autoptr(QsConfig) w8 = qs_config_new_from_preset ("w8", NULL);

    qs_document_set_config (doc, w8, "test");
    g_assert_nonnull (qs_activation_view_get_stats (view));
    g_assert_null (qs_activation_view_get_range (view));
    g_assert_nonnull (strstr (qs_activation_view_get_note (view), "float"));
  }

  qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-layer-page-XXXXXX", NULL);
  int ret;

  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  test_gui_init_or_skip (&argc, &argv);

  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/layer-page/fixed-range", test_layer_page_fixed_range);
  g_test_add_func ("/qs/layer-page/requant-row", test_layer_page_requant_row);
  g_test_add_func ("/qs/layer-page/tab-stops", test_layer_page_tab_stops);
  g_test_add_func ("/qs/layer-page/folded-batch-norm", test_layer_page_folded_batch_norm);
  g_test_add_func ("/qs/layer-page/explain-panel", test_layer_page_explain_panel);
  g_test_add_func ("/qs/layer-page/activations", test_layer_page_activations);

  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
