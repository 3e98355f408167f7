/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <gtk/gtk.h>

#include "qs-gui-utils.h"
#include "qs-layer-list.h"
#include "qs-layer-row.h"
#include "test-sample.h"

static QsModel *sample_model;

static void
wait_idle (QsDocument *doc)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (qs_document_get_busy (doc))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

/* One item per non-input layer, in model order, with the model's facts. */
static void
test_layer_list_items (void)
{
  g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, NULL);
  g_autoptr(QsLayerList) list = qs_layer_list_new (doc);
  guint n = qs_model_get_n_layers (sample_model), pos = 0;

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == QS_TYPE_LAYER_ITEM);
  for (guint i = 0; i < n; i++)
    {
      const QsLayer *layer = qs_model_get_layer (sample_model, i);
      g_autoptr(QsLayerItem) item = NULL;
      guint found = G_MAXUINT;

      if (layer->kind == QS_LAYER_INPUT)
        continue;
      item = g_list_model_get_item (G_LIST_MODEL (list), pos);
      g_assert_nonnull (item);
      g_assert_cmpstr (qs_layer_item_get_name (item), ==, layer->name);
      g_assert_cmpstr (qs_layer_item_get_class_name (item), ==, layer->class_name);
      g_assert_cmpuint (qs_layer_item_get_n_params (item), ==, layer->n_params);
      g_assert_cmpint (qs_layer_item_get_has_weights (item), ==, qs_layer_get_kernel (layer) != NULL);
      g_assert_true (qs_layer_list_find (list, layer->name, &found) == item);
      g_assert_cmpuint (found, ==, pos);
      pos++;
    }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, pos);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (list), pos));
  g_assert_null (qs_layer_list_find (list, "no-such-layer", NULL));
}

/* Badges follow the config (and its undo); health follows the statistics. */
static void
test_layer_list_updates (void)
{
  g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, NULL);
  g_autoptr(QsLayerList) list = qs_layer_list_new (doc);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (list));
  QsQuantSpec fp32;
  g_autofree char *fp32_label = NULL;
  guint notified = 0;

  qs_document_set_autosave_delay (doc, 0);
  qs_quant_spec_init_float (&fp32, QS_FORMAT_FP32);
  fp32_label = qs_quant_spec_to_label (&fp32);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);

      if (qs_layer_item_get_has_weights (item))
        {
          g_assert_cmpint (qs_layer_item_get_health (item), ==, QS_HEALTH_PENDING);
          g_assert_true (isnan (qs_layer_item_get_sqnr (item)));
          g_assert_nonnull (qs_layer_item_get_weight_label (item));
          g_assert_cmpstr (qs_layer_item_get_weight_label (item), !=, fp32_label);
        }
      else
        {
          g_assert_cmpint (qs_layer_item_get_health (item), ==, QS_HEALTH_NONE);
          g_assert_null (qs_layer_item_get_weight_label (item));
        }
    }

  qs_document_refresh (doc);
  wait_idle (doc);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);
      QsQuantResult *result;

      if (!qs_layer_item_get_has_weights (item))
        continue;
      result = qs_document_get_layer_result (doc, qs_layer_item_get_name (item));
      g_assert_nonnull (result);
      g_assert_cmpfloat (qs_layer_item_get_sqnr (item), ==, result->stats.sqnr_db);
      g_assert_cmpint (qs_layer_item_get_health (item), ==, qs_health_from_sqnr (result->stats.sqnr_db));
      /* int8 per-channel weights of a trained CNN are healthy. */
      g_assert_cmpint (qs_layer_item_get_health (item), ==, QS_HEALTH_GOOD);
    }

  g_assert_true (qs_document_apply_preset (doc, "fp32", NULL, NULL));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);

      if (qs_layer_item_get_has_weights (item))
        {
          g_assert_cmpstr (qs_layer_item_get_weight_label (item), ==, fp32_label);
          notified++;
        }
      g_assert_null (qs_layer_item_get_activation_label (item));
    }
  g_assert_cmpuint (notified, >, 0);
  wait_idle (doc);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);
      if (qs_layer_item_get_has_weights (item))
        g_assert_true (isinf (qs_layer_item_get_sqnr (item)));   /* float32 is lossless */
    }

  g_assert_true (qs_document_undo (doc));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);
      if (qs_layer_item_get_has_weights (item))
        g_assert_cmpstr (qs_layer_item_get_weight_label (item), !=, fp32_label);
    }
}

/* The sidebar's filter (a GtkStringFilter on "name") over the list. */
static void
test_layer_list_filter (void)
{
  g_autoptr(QsDocument) doc = NULL;
  g_autoptr(QsLayerList) list = NULL;
  g_autoptr(GtkFilterListModel) filtered = NULL;
  GtkStringFilter *filter;
  guint expected = 0, n;

  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return;
    }

  doc = qs_document_new (sample_model, NULL, NULL);
  list = qs_layer_list_new (doc);
  filter = gtk_string_filter_new (gtk_property_expression_new (QS_TYPE_LAYER_ITEM, NULL, "name"));
  gtk_string_filter_set_match_mode (filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
  gtk_string_filter_set_ignore_case (filter, TRUE);
  filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (list)), GTK_FILTER (filter));

  n = g_list_model_get_n_items (G_LIST_MODEL (list));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (filtered)), ==, n);
  gtk_string_filter_set_search (filter, "CONV");
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);
      g_autofree char *lower = g_ascii_strdown (qs_layer_item_get_name (item), -1);
      expected += strstr (lower, "conv") != NULL;
    }
  g_assert_cmpuint (expected, >, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (filtered)), ==, expected);
  gtk_string_filter_set_search (filter, "zzz-nothing");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (filtered)), ==, 0);
}

static const char *
row_label (GtkWidget  *row,
           const char *name)
{
  GObject *label = gtk_widget_get_template_child (row, QS_TYPE_LAYER_ROW, name);

  g_assert_true (GTK_IS_LABEL (label));
  return gtk_label_get_text (GTK_LABEL (label));
}

static gboolean
row_child_visible (GtkWidget  *row,
                   const char *name)
{
  return gtk_widget_get_visible (GTK_WIDGET (gtk_widget_get_template_child (row, QS_TYPE_LAYER_ROW, name)));
}

/* A row shows its item and follows it: name, class and parameters, badges, health. Rows
 * are made and dropped as the list scrolls: disposing one leaves nothing behind (the test
 * log makes the warning GTK would print fatal). */
static void
test_layer_list_row (void)
{
  g_autoptr(QsDocument) doc = NULL;
  g_autoptr(QsLayerList) list = NULL;
  QsLayerItem *item;
  GtkWidget *row, *dot;
  const char *names[2] = { NULL, NULL };
  QsLayerConfig lc;

  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return;
    }

  doc = qs_document_new (sample_model, NULL, NULL);
  qs_document_set_autosave_delay (doc, 0);
  list = qs_layer_list_new (doc);
  item = qs_layer_list_find (list, "conv1", NULL);
  g_assert_nonnull (item);

  row = g_object_ref_sink (qs_layer_row_new ());
  qs_layer_row_set_item (QS_LAYER_ROW (row), item);
  g_assert_true (qs_layer_row_get_item (QS_LAYER_ROW (row)) == item);
  g_assert_cmpstr (row_label (row, "name_label"), ==, "conv1");
  g_assert_nonnull (strstr (row_label (row, "details_label"), qs_layer_item_get_class_name (item)));
  g_assert_cmpstr (row_label (row, "weight_badge"), ==, qs_layer_item_get_weight_label (item));
  g_assert_true (row_child_visible (row, "weight_badge"));
  dot = GTK_WIDGET (gtk_widget_get_template_child (row, QS_TYPE_LAYER_ROW, "health_dot"));
  g_assert_true (gtk_widget_has_css_class (dot, qs_health_css_class (qs_layer_item_get_health (item))));

  /* A config change reaches the badge through the item. */
  names[0] = "conv1";
  qs_config_get_layer (qs_document_get_config (doc), "conv1", &lc);
  lc.weight.format = QS_FORMAT_INT;
  lc.weight.bits = 4;
  qs_document_set_layer_config (doc, names, &lc, "Weight Bits", NULL);
  g_assert_nonnull (strstr (row_label (row, "weight_badge"), "int4"));
  g_assert_cmpstr (row_label (row, "weight_badge"), ==, qs_layer_item_get_weight_label (item));

  /* Results arrive: the dot follows the item's health. */
  qs_document_refresh (doc);
  wait_idle (doc);
  g_assert_true (gtk_widget_has_css_class (dot, qs_health_css_class (qs_layer_item_get_health (item))));

  qs_layer_row_set_item (QS_LAYER_ROW (row), NULL);
  g_assert_null (qs_layer_row_get_item (QS_LAYER_ROW (row)));
  g_object_unref (row);
}

/* The badge's abbreviations spelled out for its tooltip: every field the label shows. */
static void
test_layer_list_describe (void)
{
  QsQuantSpec spec;
  g_autofree char *int8 = NULL;
  g_autofree char *int4 = NULL;
  g_autofree char *fp16 = NULL;

  qs_quant_spec_init (&spec);
  int8 = qs_quant_spec_describe (&spec);
  g_assert_nonnull (strstr (int8, "8 bits"));
  g_assert_nonnull (strstr (int8, "Per Channel"));
  g_assert_nonnull (strstr (int8, "Symmetric"));
  g_assert_nonnull (strstr (int8, "Min–Max"));
  g_assert_nonnull (strstr (int8, "Ties to Even"));
  g_assert_null (strstr (int8, "pruned"));

  spec.bits = 4;
  spec.granularity = QS_GRANULARITY_GROUP;
  spec.group_size = 32;
  spec.mapping = QS_MAPPING_AFFINE;
  spec.range_method = QS_RANGE_PERCENTILE;
  spec.range_param = 99.9;
  spec.rounding = QS_ROUNDING_NEAREST_AWAY;
  spec.sparsity = 0.5;
  int4 = qs_quant_spec_describe (&spec);
  g_assert_nonnull (strstr (int4, "4 bits"));
  g_assert_nonnull (strstr (int4, "Per Group of 32"));
  g_assert_nonnull (strstr (int4, "Affine"));
  g_assert_nonnull (strstr (int4, "Percentile 99.9"));
  g_assert_nonnull (strstr (int4, "Ties Away"));
  g_assert_nonnull (strstr (int4, "50% pruned"));

  /* Float formats have no bits, scales or rounding choices to spell out. */
  qs_quant_spec_init_float (&spec, QS_FORMAT_FP16);
  fp16 = qs_quant_spec_describe (&spec);
  g_assert_null (strstr (fp16, "bits"));
  g_assert_null (strstr (fp16, "Per "));
  g_assert_null (strstr (fp16, "·"));
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-layer-list-XXXXXX", NULL);
  int ret;

  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_test_init (&argc, &argv, NULL);

  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/layer-list/items", test_layer_list_items);
  g_test_add_func ("/qs/layer-list/updates", test_layer_list_updates);
  g_test_add_func ("/qs/layer-list/filter", test_layer_list_filter);
  g_test_add_func ("/qs/layer-list/describe", test_layer_list_describe);
  g_test_add_func ("/qs/layer-list/row", test_layer_list_row);

  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
