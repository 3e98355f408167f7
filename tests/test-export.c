/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"

/* Exports (issue 13): the config export re-imports to bit-identical integer results, AIMET
 * encodings follow AIMET's formulas on hand-worked cases and round-trip in both layouts,
 * malformed encodings are refused with every problem listed, and the fake-quantized .h5
 * loads back to the weight-only-quantized float results. */

#define N_IMAGES 64
#define N_CALIB 100

static QsModel *
load_sample (const char *name)
{
  g_autofree char *rel = g_strdup_printf ("models/%s.h5", name);
  g_autofree char *path = qs_data_find_file (rel, NULL);
  g_autoptr(GError) error = NULL;
  QsModel *model;

  g_assert_nonnull (path);
  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  return model;
}

static QsConfig *
preset (const char *name)
{
  g_autoptr(GError) error = NULL;
  QsConfig *config = qs_config_new_from_preset (name, &error);

  g_assert_no_error (error);
  return config;
}

static char *
tmp_path (const char *name)
{
  static char *dir = NULL;

  if (dir == NULL)
    {
      g_autoptr(GError) error = NULL;

      dir = g_dir_make_tmp ("qs-test-export-XXXXXX", &error);
      g_assert_no_error (error);
    }
  return g_build_filename (dir, name, NULL);
}

/* Exports model + config in format_id to a temporary file; returns its path. */
static char *
export_to (QsModel      *model,
           QsConfig     *config,
           QsRangeTable *ranges,
           const char   *format_id,
           const char   *file)
{
  const QsExportFormat *format = qs_export_find_format (format_id);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, &error);
  g_autoptr(QsRangeTable) own = NULL;
  g_autoptr(GString) summary = g_string_new (NULL);
  QsExportContext ctx = { model, config, lowering, ranges, qs_model_get_path (model) };
  char *path = tmp_path (file);

  g_assert_no_error (error);
  g_assert_nonnull (format);
  if (ranges == NULL && format->needs_ranges)
    {
      own = qs_export_make_ranges (lowering, NULL, N_CALIB, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      ctx.ranges = own;
    }
  g_assert_true (qs_export_run (format, &ctx, path, summary, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (summary->len, >, 0);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  return path;
}

static float *
run_int (QsModel  *model,
         QsConfig *config,
         float    *inputs,
         gsize    *n_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, &error);
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  float *out;

  g_assert_no_error (error);
  ranges = qs_export_make_ranges (lowering, NULL, N_CALIB, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  engine = qs_engine_int_new (lowering, ranges, &error);
  g_assert_no_error (error);
  *n_out = N_IMAGES * qs_engine_int_get_output_size (engine);
  out = g_new (float, *n_out);
  g_assert_true (qs_engine_int_run (engine, inputs, N_IMAGES, out, 1, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return out;
}

static float *
sample_inputs (QsModel *model)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", &error);
  gsize shape[QS_TENSOR_MAX_DIMS], size = 1;
  guint rank = qs_model_get_input_shape (model, shape);
  float *x;

  g_assert_no_error (error);
  for (guint i = 0; i < rank; i++)
    size *= shape[i];
  x = g_new (float, N_IMAGES * size);
  g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, N_IMAGES, x, &error));
  g_assert_no_error (error);
  return x;
}

static JsonObject *
parse_file (JsonParser *parser,
            const char *path)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_formats (void)
{
  const char *ids[] = { "config", "aimet", "aimet-0.6.1", "h5-fake" };
  guint n;
  const QsExportFormat *formats = qs_export_list_formats (&n);

  g_assert_cmpuint (n, >=, G_N_ELEMENTS (ids));
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      const QsExportFormat *f = qs_export_find_format (ids[i]);

      g_assert_nonnull (f);
      g_assert_nonnull (f->label);
      g_assert_nonnull (f->description);
      g_assert_nonnull (f->write);
    }
  for (guint i = 0; i < n; i++)
    g_assert_true (qs_export_find_format (formats[i].id) == &formats[i]);
  g_assert_null (qs_export_find_format ("nope"));
}

/* Export the config, re-import it, compile the integer engine from both: the outputs are
 * bit-identical (the re-imported config carries the ranges, no calibration runs). */
static void
test_config_round_trip (void)
{
  const char *models[] = { "fmnist-cnn", "fmnist-mobilenet" };

  for (guint m = 0; m < G_N_ELEMENTS (models); m++)
    {
      g_autoptr(QsModel) model = load_sample (models[m]);
      g_autoptr(QsConfig) config = preset ("w8a8");
      g_autoptr(QsConfig) back = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GString) summary = g_string_new (NULL);
      g_autofree char *file = g_strdup_printf ("%s.json", models[m]);
      g_autofree char *path = NULL;
      g_autofree float *x = sample_inputs (model);
      g_autofree float *a = NULL, *b = NULL;
      gsize na, nb;

      qs_config_set_requant_mode (config, QS_REQUANT_SINGLE_ROUNDING);
      path = export_to (model, config, NULL, "config", file);
      back = qs_export_import_config (model, path, summary, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (qs_config_get_n_activation_ranges (back), >, 0);
      g_assert_cmpint (qs_config_get_requant_mode (back), ==, QS_REQUANT_SINGLE_ROUNDING);
      a = run_int (model, config, x, &na);
      b = run_int (model, back, x, &nb);
      g_assert_cmpuint (na, ==, nb);
      g_assert_cmpint (memcmp (a, b, na * sizeof (float)), ==, 0);
    }
}

/* A config export holds the computed values: every integer value's scale and zero-point,
 * every kernel's scales. */
static void
test_config_values (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-cnn");
  g_autoptr(QsConfig) config = preset ("w8a8");
  g_autoptr(QsRangeTable) ranges = qs_range_table_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, &error);
  g_autofree QsLoweredRange *needed = NULL;
  g_autofree char *path = NULL;
  JsonObject *root;
  JsonArray *values, *weights;
  guint n;

  needed = qs_lowering_list_ranges (lowering, &n);
  for (guint i = 0; i < n; i++)
    qs_range_table_set (ranges, needed[i].name, -1.0f, 1.0f);
  path = export_to (model, config, ranges, "config", "values.json");
  root = parse_file (parser, path);
  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==, "quantscope-export");
  g_assert_cmpint (json_object_get_int_member (root, "version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (root, "requantization"), ==, "gemmlowp");
  values = json_object_get_array_member (root, "values");
  g_assert_cmpuint (json_array_get_length (values), ==, n);
  for (guint i = 0; i < json_array_get_length (values); i++)
    {
      JsonObject *v = json_array_get_object_element (values, i);

      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (v, "scale"), 2.0 / 255.0, 1e-7);
      g_assert_cmpint (json_object_get_int_member (v, "bits"), ==, 8);
    }
  weights = json_object_get_array_member (root, "weights");
  g_assert_cmpuint (json_array_get_length (weights), ==, 4);
  for (guint i = 0; i < json_array_get_length (weights); i++)
    {
      JsonObject *w = json_array_get_object_element (weights, i);
      const char *layer = json_object_get_string_member (w, "layer");
      const QsLayer *l = qs_model_find_layer (model, layer);
      QsTensor *k = qs_layer_get_kernel (l);

      g_assert_true (json_object_get_boolean_member (w, "integer"));
      g_assert_cmpstr (json_object_get_string_member (w, "granularity"), ==, "channel");
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (w, "scales")), ==,
                        k->shape[k->n_dims - 1]);
    }
}

static JsonObject *
find_061 (JsonObject *root,
          const char *section,
          const char *name,
          guint       index)
{
  JsonArray *a = json_object_get_array_member (json_object_get_object_member (root, section), name);

  g_assert_nonnull (a);
  return json_array_get_object_element (a, index);
}

/* AIMET's formulas on hand-worked cases (offset = round (min / scale), min = scale * offset,
 * max = scale * (2^b - 1 + offset)): [-1, 1.5] at 8 bits -> scale 2.5/255, offset -102;
 * [0, 6] -> scale 6/255, offset 0; symmetric weights -> offset -128, max = 127 scale.
 * [-1, 1] -> scale 2/255 and min / scale = -127.5, a tie: AIMET's torch.round would give
 * -128; the file describes the grid Quantscope's engine computes in, whose zero-point
 * rounds the tie the other way: offset -127, min = -127 scale, max = 128 scale. */
static void
test_aimet_formulas (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-cnn");
  g_autoptr(QsConfig) config = preset ("w8a8");
  g_autoptr(QsRangeTable) ranges = qs_range_table_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, &error);
  g_autofree QsLoweredRange *needed = NULL;
  g_autofree char *path = NULL;
  JsonObject *root, *e, *args;
  double scale, offset;
  guint n;

  needed = qs_lowering_list_ranges (lowering, &n);
  for (guint i = 0; i < n; i++)
    qs_range_table_set (ranges, needed[i].name, -1.0f, 1.0f);
  qs_range_table_set (ranges, "input", -1.0f, 1.5f);
  qs_range_table_set (ranges, "conv1", 0.0f, 6.0f);
  path = export_to (model, config, ranges, "aimet-0.6.1", "formulas.encodings");
  root = parse_file (parser, path);
  g_assert_cmpstr (json_object_get_string_member (root, "version"), ==, "0.6.1");

  e = find_061 (root, "activation_encodings", "input", 0);
  g_assert_cmpint (json_object_get_int_member (e, "bitwidth"), ==, 8);
  g_assert_cmpstr (json_object_get_string_member (e, "dtype"), ==, "int");
  g_assert_cmpstr (json_object_get_string_member (e, "is_symmetric"), ==, "False");
  scale = json_object_get_double_member (e, "scale");
  offset = json_object_get_int_member (e, "offset");
  g_assert_cmpfloat_with_epsilon (scale, 2.5 / 255.0, 1e-8);
  g_assert_cmpfloat (offset, ==, -102.0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "min"), -1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "max"), 1.5, 1e-6);

  e = find_061 (root, "activation_encodings", "conv2", 0);
  scale = json_object_get_double_member (e, "scale");
  g_assert_cmpfloat_with_epsilon (scale, 2.0 / 255.0, 1e-8);
  g_assert_cmpint (json_object_get_int_member (e, "offset"), ==, -127);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "min"), scale * -127.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "max"), scale * 128.0, 1e-9);

  e = find_061 (root, "activation_encodings", "conv1", 0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "scale"), 6.0 / 255.0, 1e-8);
  g_assert_cmpint (json_object_get_int_member (e, "offset"), ==, 0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "min"), 0.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "max"), 6.0, 1e-6);

  /* conv1/kernel: 16 channels, symmetric narrow int8 -> offset -128, max / scale = 127 */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_object_get_object_member (root, "param_encodings"), "conv1/kernel:0")), ==, 16);
  for (guint c = 0; c < 16; c++)
    {
      e = find_061 (root, "param_encodings", "conv1/kernel:0", c);
      scale = json_object_get_double_member (e, "scale");
      g_assert_cmpstr (json_object_get_string_member (e, "is_symmetric"), ==, "True");
      g_assert_cmpint (json_object_get_int_member (e, "offset"), ==, -128);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "max") / scale, 127.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "min") / scale, -128.0, 1e-6);
    }
  args = json_object_get_object_member (root, "quantizer_args");
  g_assert_cmpint (json_object_get_int_member (args, "param_bitwidth"), ==, 8);
  g_assert_cmpstr (json_object_get_string_member (args, "per_channel_quantization"), ==, "True");
}

/* Both layouts: export, import (into an fp32 config, so everything comes from the file),
 * export again: the same names, bit widths, offsets, scales (to float rounding) and
 * ranges. */
static void
compare_encodings (JsonNode *a,
                   JsonNode *b)
{
  if (JSON_NODE_HOLDS_OBJECT (a))
    {
      JsonObject *oa = json_node_get_object (a), *ob = json_node_get_object (b);
      g_autoptr(GList) members = json_object_get_members (oa);

      g_assert_cmpuint (json_object_get_size (oa), ==, json_object_get_size (ob));
      for (GList *l = members; l != NULL; l = l->next)
        {
          JsonNode *mb = json_object_get_member (ob, l->data);

          if (mb == NULL)
            g_error ("member %s missing after the round trip", (const char *) l->data);
          compare_encodings (json_object_get_member (oa, l->data), mb);
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (a))
    {
      JsonArray *xa = json_node_get_array (a), *xb = json_node_get_array (b);

      g_assert_cmpuint (json_array_get_length (xa), ==, json_array_get_length (xb));
      for (guint i = 0; i < json_array_get_length (xa); i++)
        compare_encodings (json_array_get_element (xa, i), json_array_get_element (xb, i));
    }
  else if (json_node_get_value_type (a) == G_TYPE_DOUBLE)
    {
      double x = json_node_get_double (a), y = json_node_get_double (b);

      g_assert_cmpfloat (fabs (x - y), <=, 1e-6 * fabs (x) + 1e-12);
    }
  else if (json_node_get_value_type (a) == G_TYPE_INT64 || json_node_get_value_type (a) == G_TYPE_STRING
           || json_node_get_value_type (a) == G_TYPE_BOOLEAN)
    g_assert_true (json_node_equal (a, b));
}

static void
test_aimet_round_trip (void)
{
  const char *formats[] = { "aimet", "aimet-0.6.1" };
  const char *models[] = { "fmnist-cnn", "fmnist-mobilenet" };

  for (guint m = 0; m < G_N_ELEMENTS (models); m++)
    for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
      {
        g_autoptr(QsModel) model = load_sample (models[m]);
        g_autoptr(QsConfig) config = preset ("w8a8");
        g_autoptr(QsConfig) back = NULL;
        g_autoptr(QsRangeTable) ranges = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GString) summary = g_string_new (NULL);
        g_autoptr(JsonParser) pa = json_parser_new ();
        g_autoptr(JsonParser) pb = json_parser_new ();
        g_autofree char *name_a = g_strdup_printf ("%s-a.%s", models[m], formats[f]);
        g_autofree char *name_b = g_strdup_printf ("%s-b.%s", models[m], formats[f]);
        g_autofree char *a = NULL, *b = NULL;
        JsonObject *ra, *rb;

        a = export_to (model, config, NULL, formats[f], name_a);
        back = qs_export_import_aimet (model, a, config, &ranges, summary, &error);
        g_assert_no_error (error);
        g_assert_nonnull (back);
        g_assert_cmpuint (qs_range_table_get_size (ranges), >, 0);
        g_assert_nonnull (strstr (summary->str, "AIMET"));
        b = export_to (model, back, ranges, formats[f], name_b);
        ra = parse_file (pa, a);
        rb = parse_file (pb, b);
        compare_encodings (json_object_get_member (ra, "activation_encodings"),
                           json_object_get_member (rb, "activation_encodings"));
        compare_encodings (json_object_get_member (ra, "param_encodings"),
                           json_object_get_member (rb, "param_encodings"));

        /* into an fp32 config: the weights' bits, mapping and granularity come from the file */
        {
          g_autoptr(QsConfig) fresh = qs_export_import_aimet (model, a, NULL, NULL, NULL, &error);
          QsLayerConfig lc;

          g_assert_no_error (error);
          qs_config_get_layer (fresh, qs_model_get_layer (model, 1)->name, &lc);
          g_assert_cmpint (lc.weight.format, ==, QS_FORMAT_INT);
          g_assert_cmpuint (lc.weight.bits, ==, 8);
          g_assert_cmpint (lc.weight.granularity, ==, QS_GRANULARITY_CHANNEL);
          g_assert_cmpint (lc.weight.mapping, ==, QS_MAPPING_SYMMETRIC);
        }
      }
}

static char *
write_text (const char *name,
            const char *text)
{
  char *path = tmp_path (name);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  return path;
}

/* Every problem in one error; nothing applied. */
static void
test_aimet_malformed (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-cnn");
  g_autoptr(QsConfig) base = preset ("w8a8");
  g_autoptr(QsConfig) before = qs_config_copy (base);
  g_autoptr(GError) error = NULL;
  g_autofree char *bad = write_text ("bad.encodings",
    "{\"version\": \"1.0.0\","
    " \"activation_encodings\": ["
    "  {\"name\": \"no_such_layer\", \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\", \"bw\": 8, \"is_sym\": false, \"scale\": [0.1], \"offset\": [-3]},"
    "  {\"name\": \"conv1\", \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\", \"bw\": 8, \"is_sym\": false, \"scale\": [0.0], \"offset\": [-3]},"
    "  {\"name\": \"conv2\", \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\", \"bw\": 8, \"is_sym\": false, \"scale\": [0.1], \"offset\": [5]},"
    "  {\"name\": \"fc1\", \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\", \"bw\": 40, \"is_sym\": false, \"scale\": [0.1], \"offset\": [0]},"
    "  {\"name\": \"pool1\", \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\", \"bw\": 8, \"is_sym\": false, \"scale\": [\"NaN\"], \"offset\": [0]}"
    " ],"
    " \"param_encodings\": ["
    "  {\"name\": \"conv1/kernel:0\", \"dtype\": \"INT\", \"enc_type\": \"PER_CHANNEL\", \"bw\": 8, \"is_sym\": true, \"scale\": [0.1, 0.1, 0.1], \"offset\": [-128, -128, -128]},"
    "  {\"name\": \"nothere/kernel:0\", \"dtype\": \"INT\", \"enc_type\": \"PER_TENSOR\", \"bw\": 8, \"is_sym\": true, \"scale\": [0.1], \"offset\": [-128]}"
    " ]}");
  g_autofree char *bad061 = write_text ("bad061.encodings",
    "{\"version\": \"0.6.1\", \"activation_encodings\": {},"
    " \"param_encodings\": {\"fc1/kernel:0\": [{\"bitwidth\": 1, \"dtype\": \"int\", \"is_symmetric\": \"True\", \"min\": -1, \"max\": 1, \"offset\": 0, \"scale\": 1}],"
    "                       \"predictions/kernel\": [{\"bitwidth\": 8, \"dtype\": \"int\", \"is_symmetric\": \"maybe\", \"offset\": -128, \"scale\": 1}]}}");
  g_autofree char *notjson = write_text ("notjson.encodings", "{\"version\": ");
  g_autofree char *deep = NULL;
  QsConfig *r;

  r = qs_export_import_aimet (model, bad, base, NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "bad.encodings"));
  g_assert_nonnull (strstr (error->message, "no_such_layer"));
  g_assert_nonnull (strstr (error->message, "nothere/kernel:0"));
  g_assert_nonnull (strstr (error->message, "3 scales for a kernel of 16 output channels"));
  g_assert_nonnull (strstr (error->message, "scale 0 is not a positive number"));
  g_assert_nonnull (strstr (error->message, "offset 5 is impossible"));
  g_assert_nonnull (strstr (error->message, "bitwidth 40 is out of range"));
  g_assert_nonnull (strstr (error->message, "activation_encodings.pool1"));
  g_assert_nonnull (strstr (error->message, "(7 problems)"));
  g_assert_true (qs_config_equal (base, before));
  g_clear_error (&error);

  r = qs_export_import_aimet (model, bad061, base, NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "bitwidth 1 is out of range"));
  g_assert_nonnull (strstr (error->message, "is_symmetric must be"));
  g_clear_error (&error);

  r = qs_export_import (model, notjson, base, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "notjson.encodings"));
  g_clear_error (&error);

  {
    GString *s = g_string_new ("{\"param_encodings\": ");
    for (guint i = 0; i < 100000; i++)
      g_string_append_c (s, '[');
    deep = write_text ("deep.encodings", s->str);
    g_string_free (s, TRUE);
  }
  r = qs_export_import (model, deep, base, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID);
  g_clear_error (&error);
}

/* The fake-quantized .h5 loads back, and the float engine on it gives the outputs of the
 * float engine with the weight-only-quantized kernels, bit for bit; its kernels hold at
 * most 2^bits distinct values per output channel. */
static void
test_h5_fake (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-mobilenet");
  g_autoptr(QsConfig) config = preset ("w4g32");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) back = NULL;
  g_autoptr(GHashTable) weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) qs_tensor_unref);
  g_autoptr(QsEngineFloat) ea = NULL, eb = NULL;
  g_autofree char *path = NULL;
  g_autofree float *x = sample_inputs (model);
  g_autofree float *a = NULL, *b = NULL;
  gsize n_out = N_IMAGES * qs_model_get_n_classes (model);

  path = export_to (model, config, NULL, "h5-fake", "fake.h5");
  back = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_model_get_n_layers (back), ==, qs_model_get_n_layers (model));

  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);
      QsTensor *k = qs_layer_get_kernel (l);
      QsLayerConfig lc;
      QsQuantSpec spec;
      QsQuantOptions opt = { .want_dequant = TRUE };
      g_autoptr(QsQuantResult) r = NULL;

      if (k == NULL || l->kind == QS_LAYER_BATCH_NORM)
        continue;
      qs_config_get_layer (config, l->name, &lc);
      qs_config_resolve_weight_spec (&lc.weight, k, &spec);
      r = qs_quant_run (k, &spec, &opt, NULL, &error);
      g_assert_no_error (error);
      g_hash_table_insert (weights, g_strdup (k->name), qs_tensor_ref (r->dequant));
      /* the file holds the same values */
      {
        QsTensor *kb = qs_layer_get_kernel (qs_model_find_layer (back, l->name));

        g_assert_cmpuint (kb->n_elements, ==, k->n_elements);
        g_assert_cmpint (memcmp (kb->data, r->dequant->data, k->n_elements * sizeof (float)), ==, 0);
      }
    }
  ea = qs_engine_float_new_with_weights (model, weights, &error);
  g_assert_no_error (error);
  eb = qs_engine_float_new (back, &error);
  g_assert_no_error (error);
  a = g_new (float, n_out);
  b = g_new (float, n_out);
  g_assert_true (qs_engine_float_run (ea, x, N_IMAGES, a, 1, NULL, NULL, NULL, &error));
  g_assert_true (qs_engine_float_run (eb, x, N_IMAGES, b, 1, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (memcmp (a, b, n_out * sizeof (float)), ==, 0);
}

/* qs_export_run refuses the loaded model as its target. */
static void
test_refuses_model (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-mlp");
  g_autoptr(QsConfig) config = preset ("w8");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, &error);
  g_autoptr(GString) summary = g_string_new (NULL);
  QsExportContext ctx = { model, config, lowering, NULL, qs_model_get_path (model) };
  GStatBuf before, after;

  g_assert_cmpint (g_stat (qs_model_get_path (model), &before), ==, 0);
  g_assert_false (qs_export_run (qs_export_find_format ("h5-fake"), &ctx, qs_model_get_path (model),
                                 summary, &error));
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET);
  g_assert_cmpint (g_stat (qs_model_get_path (model), &after), ==, 0);
  g_assert_cmpint (before.st_mtime, ==, after.st_mtime);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/export/formats", test_formats);
  g_test_add_func ("/qs/export/config/round-trip-bit-identical", test_config_round_trip);
  g_test_add_func ("/qs/export/config/values", test_config_values);
  g_test_add_func ("/qs/export/aimet/formulas", test_aimet_formulas);
  g_test_add_func ("/qs/export/aimet/round-trip", test_aimet_round_trip);
  g_test_add_func ("/qs/export/aimet/malformed-lists-every-problem", test_aimet_malformed);
  g_test_add_func ("/qs/export/h5-fake/reload-matches-weight-only", test_h5_fake);
  g_test_add_func ("/qs/export/refuses-the-model", test_refuses_model);
  return g_test_run ();
}
