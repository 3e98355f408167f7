/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "quantscope-core.h"

/* Deployment targets: every bundled file loads, and a target flags exactly the layers it
 * cannot run, with a reason that names what is wrong and what the target needs. */

static QsModel *
load_cnn (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-cnn.h5", NULL);

  if (path == NULL)
    return NULL;
  return qs_model_load (path, NULL, NULL, NULL);
}

static QsTarget *
load_target (const char *name)
{
  g_autoptr(GError) error = NULL;
  QsTarget *t = qs_target_load (name, &error);

  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

/* "conv2,predictions" from the flagged layers (unique, model order; "*" for the model) */
static char *
flagged_layers (GPtrArray *issues)
{
  GString *s = g_string_new (NULL);
  const char *last = "";

  for (guint i = 0; i < issues->len; i++)
    {
      QsTargetIssue *issue = g_ptr_array_index (issues, i);
      const char *layer = issue->layer ? issue->layer : "*";

      g_assert_nonnull (issue->reason);
      g_assert_cmpstr (issue->reason, !=, "");
      if (strcmp (layer, last) != 0)
        g_string_append_printf (s, "%s%s", s->len ? "," : "", layer);
      last = layer;
    }
  return g_string_free (s, FALSE);
}

static char *
check (const char *target_name,
       QsModel    *model,
       QsConfig   *config)
{
  g_autoptr(QsTarget) t = load_target (target_name);
  g_autoptr(GPtrArray) issues = qs_target_check (t, model, config);

  for (guint i = 0; i < issues->len; i++)
    g_test_message ("%s: %s", ((QsTargetIssue *) g_ptr_array_index (issues, i))->layer,
                    ((QsTargetIssue *) g_ptr_array_index (issues, i))->reason);
  return flagged_layers (issues);
}

static void
test_bundled (void)
{
  const char * const *names = qs_target_list_bundled ();

  g_assert_cmpuint (g_strv_length ((char **) names), >=, 6);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(QsTarget) t = load_target (names[i]);

      g_assert_cmpstr (t->name, ==, names[i]);
      g_assert_cmpuint (t->weight_rules->len, >, 0);
      g_assert_true (g_str_has_suffix (t->path, ".json"));
    }
}

static void
test_unknown (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTarget) t = qs_target_load ("tflite-int9", &error);

  g_assert_null (t);
  g_assert_error (error, QS_TARGET_ERROR, QS_TARGET_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "tflite-int9"));
  g_assert_nonnull (strstr (error->message, "tflite-int8"));
}

/* Bad files name the JSON path of the bad field. */
static void
test_schema_errors (void)
{
  const struct { const char *json; const char *path; } cases[] = {
    { "{\"name\": \"x\", \"weights\": [{\"format\": \"int\", \"bits\": [40]}]}", "$.weights[0].bits[0]" },
    { "{\"name\": \"x\", \"weights\": [{\"format\": \"int9\"}]}", "$.weights[0].format" },
    { "{\"name\": \"x\", \"weights\": [{\"format\": \"int\", \"granularity\": [\"row\"]}]}",
      "$.weights[0].granularity[0]" },
    { "{\"name\": \"x\", \"weights\": [{\"format\": \"fp16\"}], \"colour\": 1}", "$.colour" },
    { "{\"name\": \"x\", \"weights\": []}", "$.weights" },
    { "{\"weights\": [{\"format\": \"fp16\"}]}", "$.name" },
    { "{\"name\": \"x\", \"weights\": [{\"format\": \"fp16\"}], \"requantization\": [\"fast\"]}",
      "$.requantization[0]" },
    { "[1, 2]", "$" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsTarget) t = qs_target_new_from_json (cases[i].json, -1, "bad.json", &error);

      g_assert_null (t);
      g_assert_error (error, QS_TARGET_ERROR, QS_TARGET_ERROR_SCHEMA);
      g_assert_nonnull (strstr (error->message, "bad.json"));
      g_assert_nonnull (strstr (error->message, cases[i].path));
    }
}

/* int4 activations on one layer: TFLite int8 flags that layer and no other. */
static void
test_tflite_int4_activations (void)
{
  g_autoptr(QsModel) model = load_cnn ();
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsTarget) t = NULL;
  g_autoptr(GPtrArray) issues = NULL;
  g_autofree char *flagged = NULL;
  QsLayerConfig lc;

  if (model == NULL)
    {
      g_test_skip ("the sample model data/models/fmnist-cnn.h5 is not there");
      return;
    }
  config = qs_config_new_from_preset ("w8a8", NULL);
  flagged = check ("tflite-int8", model, config);
  g_assert_cmpstr (flagged, ==, "");
  g_clear_pointer (&flagged, g_free);

  qs_config_get_layer (config, "conv2", &lc);
  lc.activation.bits = 4;
  qs_config_set_layer (config, "conv2", &lc);
  t = load_target ("tflite-int8");
  issues = qs_target_check (t, model, config);
  g_assert_cmpuint (issues->len, ==, 1);
  g_assert_cmpstr (((QsTargetIssue *) issues->pdata[0])->layer, ==, "conv2");
  g_assert_cmpstr (((QsTargetIssue *) issues->pdata[0])->reason, ==,
                   "int4 activations: TFLite int8 needs 8-bit activations");

  /* a whole w4a4 layer: both its weights and its activations, still that layer only */
  lc.weight.bits = 4;
  qs_config_set_layer (config, "conv2", &lc);
  flagged = check ("tflite-int8", model, config);
  g_assert_cmpstr (flagged, ==, "conv2");
}

/* Per-tensor weights: the convolutions need per-channel scales on TFLite and CMSIS-NN; the
 * dense layers take either. */
static void
test_per_tensor_weights (void)
{
  g_autoptr(QsModel) model = load_cnn ();
  g_autoptr(QsConfig) config = NULL;
  g_autofree char *tflite = NULL, *cmsis = NULL, *ort = NULL;
  g_autoptr(QsTarget) t = NULL;
  g_autoptr(GPtrArray) issues = NULL;

  if (model == NULL)
    {
      g_test_skip ("the sample model data/models/fmnist-cnn.h5 is not there");
      return;
    }
  config = qs_config_new_from_preset ("w8a8-tensor", NULL);
  tflite = check ("tflite-int8", model, config);
  g_assert_cmpstr (tflite, ==, "conv1,conv2");
  ort = check ("onnxruntime-qdq", model, config);
  g_assert_cmpstr (ort, ==, "*");   /* only the requantization mode: ORT rescales in float */
  qs_config_set_requant_mode (config, QS_REQUANT_CMSIS_NN);
  cmsis = check ("cmsis-nn", model, config);
  g_assert_cmpstr (cmsis, ==, "conv1,conv2");

  t = load_target ("tflite-int8");
  issues = qs_target_check (t, model, config);
  /* the model-wide issue first, naming the mode */
  g_assert_null (((QsTargetIssue *) issues->pdata[0])->layer);
  g_assert_nonnull (strstr (((QsTargetIssue *) issues->pdata[0])->reason, "cmsis-nn"));
  g_assert_cmpstr (((QsTargetIssue *) issues->pdata[1])->reason, ==,
                   "int8 per-tensor weights: TFLite int8 needs per-channel weights");
}

/* CMSIS-NN: int4 weights only with int8 activations; int16 activations with int8 weights. */
static void
test_cmsis_int4 (void)
{
  g_autoptr(QsModel) model = load_cnn ();
  g_autoptr(QsConfig) config = NULL;
  g_autofree char *a = NULL, *b = NULL, *c = NULL;
  QsLayerConfig lc;

  if (model == NULL)
    {
      g_test_skip ("the sample model data/models/fmnist-cnn.h5 is not there");
      return;
    }
  config = qs_config_new_from_preset ("w4a8", NULL);
  qs_config_set_requant_mode (config, QS_REQUANT_CMSIS_NN);
  a = check ("cmsis-nn", model, config);
  g_assert_cmpstr (a, ==, "");
  b = check ("tflite-int8", model, config);
  g_assert_cmpstr (b, ==, "*,conv1,conv2,fc1,predictions");

  qs_config_get_layer (config, "fc1", &lc);
  lc.activation.bits = 16;
  lc.activation.mapping = QS_MAPPING_SYMMETRIC;
  qs_config_set_layer (config, "fc1", &lc);
  c = check ("cmsis-nn", model, config);
  g_assert_cmpstr (c, ==, "fc1");
  lc.weight.bits = 8;
  qs_config_set_layer (config, "fc1", &lc);
  g_clear_pointer (&c, g_free);
  c = check ("cmsis-nn", model, config);
  g_assert_cmpstr (c, ==, "");
}

/* Power-of-two scales: the fixed-point target wants them; the search's candidates carry them. */
static void
test_fixed_point (void)
{
  g_autoptr(QsModel) model = load_cnn ();
  g_autoptr(QsTarget) t = load_target ("fixed-point");
  g_autoptr(QsConfig) config = NULL;
  g_auto(GStrv) formats = qs_target_filter_formats (t, NULL);
  g_autofree char *a = NULL, *b = NULL, *joined = g_strjoinv (",", formats);
  QsLayerConfig lc;

  g_assert_cmpstr (joined, ==, "int8-pow2,int4-pow2,int8-tensor-pow2,int4-tensor-pow2");
  for (guint i = 0; formats[i] != NULL; i++)
    {
      QsQuantSpec spec;

      g_assert_true (qs_analysis_parse_format (formats[i], &spec, NULL));
      g_assert_true (spec.pow2_scale);
      g_assert_true (qs_target_accepts_weight (t, -1, &spec, NULL));
    }
  if (model == NULL)
    {
      g_test_skip ("the sample model data/models/fmnist-cnn.h5 is not there");
      return;
    }
  config = qs_config_new_from_preset ("w8a8", NULL);
  a = check ("fixed-point", model, config);
  g_assert_cmpstr (a, ==, "conv1,conv2,fc1,predictions");
  qs_config_get_default (config, &lc);
  lc.weight.pow2_scale = TRUE;
  lc.activation.pow2_scale = TRUE;
  lc.activation.mapping = QS_MAPPING_SYMMETRIC;
  qs_config_set_default (config, &lc);
  b = check ("fixed-point", model, config);
  g_assert_cmpstr (b, ==, "");
}

static void
test_fp16_gpu (void)
{
  g_autoptr(QsModel) model = load_cnn ();
  g_autoptr(QsConfig) fp16 = qs_config_new_from_preset ("fp16", NULL);
  g_autoptr(QsConfig) w8 = qs_config_new_from_preset ("w8", NULL);
  g_autoptr(QsTarget) t = load_target ("fp16-gpu");
  g_auto(GStrv) formats = qs_target_filter_formats (t, NULL);
  g_autofree char *a = NULL, *b = NULL, *joined = g_strjoinv (",", formats);

  g_assert_cmpstr (joined, ==, "fp16,fp32");
  if (model == NULL)
    {
      g_test_skip ("the sample model data/models/fmnist-cnn.h5 is not there");
      return;
    }
  a = check ("fp16-gpu", model, fp16);
  g_assert_cmpstr (a, ==, "");
  b = check ("fp16-gpu", model, w8);
  g_assert_cmpstr (b, ==, "conv1,conv2,fc1,predictions");
}

/* TFLite fixes softmax outputs at scale 1/256, zero-point -128: a fixed range that differs
 * is flagged, the matching one is not. */
static void
test_softmax_fixed_output (void)
{
  g_autoptr(QsModel) model = load_cnn ();
  g_autoptr(QsConfig) config = NULL;
  g_autofree char *a = NULL, *b = NULL;

  if (model == NULL)
    {
      g_test_skip ("the sample model data/models/fmnist-cnn.h5 is not there");
      return;
    }
  g_assert_cmpint (qs_model_find_layer (model, "predictions")->activation, ==, QS_ACTIVATION_SOFTMAX);
  config = qs_config_new_from_preset ("w8a8", NULL);
  qs_config_set_activation_range (config, "predictions", 0.0f, 2.0f);
  a = check ("tflite-int8", model, config);
  g_assert_cmpstr (a, ==, "predictions");
  qs_config_set_activation_range (config, "predictions", 0.0f, 255.0f / 256.0f);
  b = check ("tflite-int8", model, config);
  g_assert_cmpstr (b, ==, "");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/target/bundled-load", test_bundled);
  g_test_add_func ("/qs/target/unknown-name", test_unknown);
  g_test_add_func ("/qs/target/schema-errors-name-the-path", test_schema_errors);
  g_test_add_func ("/qs/target/tflite-int8-flags-int4-activations", test_tflite_int4_activations);
  g_test_add_func ("/qs/target/per-tensor-weights-on-per-channel-convs", test_per_tensor_weights);
  g_test_add_func ("/qs/target/cmsis-nn-int4-needs-int8-activations", test_cmsis_int4);
  g_test_add_func ("/qs/target/fixed-point-needs-pow2-scales", test_fixed_point);
  g_test_add_func ("/qs/target/fp16-gpu", test_fp16_gpu);
  g_test_add_func ("/qs/target/softmax-fixed-output", test_softmax_fixed_output);
  return g_test_run ();
}
