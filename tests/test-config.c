/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"

static void
test_presets (void)
{
  const char * const *names = qs_config_list_presets ();
  const char *required[] = { "fp32", "fp16", "bf16", "w8", "w4g32", "w8a8", "w8a8-tensor", "w4a8", "w4a4" };
  g_autoptr(QsConfig) w8a8 = NULL, w4g32 = NULL, tensor = NULL;
  g_autoptr(GError) error = NULL;
  QsLayerConfig lc;
  QsQuantSpec input;

  for (gsize i = 0; i < G_N_ELEMENTS (required); i++)
    {
      g_autoptr(QsConfig) c = NULL;

      g_assert_true (g_strv_contains (names, required[i]));
      g_assert_nonnull (qs_config_preset_description (required[i]));
      /* a menu shows the name and the summary on one line: short, and shorter than the
       * description it summarises */
      g_assert_nonnull (qs_config_preset_summary (required[i]));
      g_assert_cmpuint (g_utf8_strlen (qs_config_preset_summary (required[i]), -1), >, 0);
      g_assert_cmpuint (g_utf8_strlen (qs_config_preset_summary (required[i]), -1), <=, 40);
      c = qs_config_new_from_preset (required[i], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (qs_config_get_preset_name (c), ==, required[i]);
    }

  /* w8a8 is TFLite's int8 scheme. */
  w8a8 = qs_config_new_from_preset ("w8a8", NULL);
  qs_config_get_layer (w8a8, "conv2d", &lc);
  g_assert_cmpint (lc.weight.format, ==, QS_FORMAT_INT);
  g_assert_cmpuint (lc.weight.bits, ==, 8);
  g_assert_true (lc.weight.is_signed);
  g_assert_cmpint (lc.weight.mapping, ==, QS_MAPPING_SYMMETRIC);
  g_assert_true (lc.weight.narrow_range);
  g_assert_cmpint (lc.weight.granularity, ==, QS_GRANULARITY_CHANNEL);
  g_assert_true (lc.quantize_activations);
  g_assert_cmpint (lc.activation.format, ==, QS_FORMAT_INT);
  g_assert_cmpuint (lc.activation.bits, ==, 8);
  g_assert_cmpint (lc.activation.mapping, ==, QS_MAPPING_AFFINE);
  g_assert_cmpint (lc.activation.granularity, ==, QS_GRANULARITY_TENSOR);
  g_assert_cmpint (lc.activation.range_method, ==, QS_RANGE_MINMAX);
  g_assert_true (qs_config_get_input_spec (w8a8, &input));
  g_assert_cmpuint (input.bits, ==, 8);

  tensor = qs_config_new_from_preset ("w8a8-tensor", NULL);
  qs_config_get_layer (tensor, "x", &lc);
  g_assert_cmpint (lc.weight.granularity, ==, QS_GRANULARITY_TENSOR);

  w4g32 = qs_config_new_from_preset ("w4g32", NULL);
  qs_config_get_layer (w4g32, "x", &lc);
  g_assert_cmpuint (lc.weight.bits, ==, 4);
  g_assert_cmpint (lc.weight.granularity, ==, QS_GRANULARITY_GROUP);
  g_assert_cmpuint (lc.weight.group_size, ==, 32);
  g_assert_false (lc.quantize_activations);
  g_assert_false (qs_config_get_input_spec (w4g32, NULL));

  g_assert_null (qs_config_new_from_preset ("w3a3", &error));
  g_assert_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET);
  g_assert_nonnull (strstr (error->message, "w8a8"));
}

static void
test_overrides (void)
{
  g_autoptr(QsConfig) c = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsConfig) copy = NULL;
  QsLayerConfig def, f16, w4, got;

  qs_config_get_default (c, &def);
  memset (&f16, 0, sizeof f16);
  qs_quant_spec_init_float (&f16.weight, QS_FORMAT_FP16);
  w4 = def;
  w4.weight.bits = 4;

  qs_config_set_layer (c, "conv*", &w4);
  qs_config_set_layer (c, "conv2d_1", &f16);
  qs_config_set_layer (c, "conv2d_*", &f16);
  qs_config_get_layer (c, "dense", &got);
  g_assert_true (qs_quant_spec_equal (&got.weight, &def.weight));
  qs_config_get_layer (c, "conv2d", &got);
  g_assert_cmpuint (got.weight.bits, ==, 4);           /* only the first glob matches */
  qs_config_get_layer (c, "conv2d_2", &got);
  g_assert_cmpint (got.weight.format, ==, QS_FORMAT_FP16); /* the later glob wins */
  qs_config_set_layer (c, "conv2d_1", &w4);
  qs_config_get_layer (c, "conv2d_1", &got);
  g_assert_cmpuint (got.weight.bits, ==, 4);           /* exact name beats globs */

  copy = qs_config_copy (c);
  g_assert_true (qs_config_equal (c, copy));
  qs_config_clear_layer (copy, "conv2d_1");
  g_assert_false (qs_config_equal (c, copy));
  qs_config_get_layer (copy, "conv2d_1", &got);
  g_assert_cmpint (got.weight.format, ==, QS_FORMAT_FP16);
  g_assert_cmpuint (qs_config_get_n_overrides (copy), ==, 2);
}

static void
test_json_roundtrip (void)
{
  g_autoptr(QsConfig) c = qs_config_new_from_preset ("w4a8", NULL);
  g_autoptr(QsConfig) back = NULL, loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL, *dir = NULL, *path = NULL;
  QsLayerConfig lc;

  qs_config_get_default (c, &lc);
  lc.activation.range_method = QS_RANGE_PERCENTILE;
  lc.activation.range_param = 99.99;
  qs_config_set_layer (c, "dense*", &lc);
  qs_config_set_calib_images (c, 123);
  qs_config_set_calib_source (c, "sample");
  json = qs_config_to_json (c);
  g_assert_nonnull (strstr (json, "\"schema_version\""));
  back = qs_config_new_from_json (json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (qs_config_equal (c, back));

  dir = g_dir_make_tmp ("qs-config-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "c.json", NULL);
  g_assert_true (qs_config_save_file (c, path, &error));
  g_assert_no_error (error);
  loaded = qs_config_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (qs_config_equal (c, loaded));
  g_unlink (path);
  g_rmdir (dir);
}

/* A named preset is the base; "default" and "layers" entries change only what they name. */
static void
test_json_preset_base (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsConfig) c = qs_config_new_from_json (
      "{\"schema_version\": 1, \"preset\": \"w4a4\","
      " \"default\": {\"activation\": {\"format\": \"int\", \"bits\": 4, \"mapping\": \"affine\","
      " \"range\": \"mse\"}},"
      " \"layers\": [{\"pattern\": \"fc*\", \"weight\": {\"format\": \"fp16\"}}]}", -1, &error);
  g_autoptr(QsConfig) preset = qs_config_new_from_preset ("w4a4", NULL);
  QsLayerConfig def, base, fc, conv;
  QsQuantSpec in_c, in_p;

  g_assert_no_error (error);
  qs_config_get_default (c, &def);
  qs_config_get_default (preset, &base);
  /* weights and the activation switch come from the preset */
  g_assert_true (def.quantize_activations);
  g_assert_cmpint (def.weight.format, ==, QS_FORMAT_INT);
  g_assert_cmpuint (def.weight.bits, ==, 4);
  g_assert_cmpint (def.weight.granularity, ==, base.weight.granularity);
  g_assert_cmpint (def.activation.range_method, ==, QS_RANGE_MSE);
  g_assert_cmpuint (def.activation.bits, ==, 4);
  g_assert_true (qs_config_get_input_spec (c, &in_c));
  g_assert_true (qs_config_get_input_spec (preset, &in_p));
  g_assert_cmpuint (in_c.bits, ==, in_p.bits);
  /* the override replaces the weight spec only: activations stay quantized with MSE ranges */
  qs_config_get_layer (c, "fc1", &fc);
  g_assert_cmpint (fc.weight.format, ==, QS_FORMAT_FP16);
  g_assert_true (fc.quantize_activations);
  g_assert_cmpint (fc.activation.range_method, ==, QS_RANGE_MSE);
  qs_config_get_layer (c, "conv1", &conv);
  g_assert_cmpint (conv.weight.format, ==, QS_FORMAT_INT);
}

/* Fixed activation ranges (quantization-aware training writes them) survive JSON. */
static void
test_json_activation_ranges (void)
{
  g_autoptr(QsConfig) c = qs_config_new_from_preset ("w4a4", NULL);
  g_autoptr(QsConfig) back = NULL, copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  float lo, hi;

  qs_config_set_activation_range (c, "conv1_relu", 0.0f, 4.773885727f);
  qs_config_set_activation_range (c, "predictions#pre", -7.25f, 9.5f);
  json = qs_config_to_json (c);
  g_assert_nonnull (strstr (json, "\"activation_ranges\""));
  back = qs_config_new_from_json (json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (qs_config_equal (c, back));
  g_assert_cmpuint (qs_config_get_n_activation_ranges (back), ==, 2);
  g_assert_true (qs_config_get_activation_range (back, "conv1_relu", &lo, &hi));
  g_assert_cmpfloat (lo, ==, 0.0f);
  g_assert_cmpfloat (hi, ==, 4.773885727f);   /* float -> JSON double -> float is exact */
  g_assert_false (qs_config_get_activation_range (back, "conv2", &lo, &hi));
  copy = qs_config_copy (back);
  g_assert_true (qs_config_equal (copy, c));
  qs_config_set_activation_range (copy, "conv1_relu", 0.0f, 5.0f);
  g_assert_false (qs_config_equal (copy, c));
}

static void
expect_error (const char *json,
              gint        code,
              const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsConfig) c = qs_config_new_from_json (json, -1, &error);

  g_assert_null (c);
  g_assert_error (error, QS_CONFIG_ERROR, code);
  if (path != NULL && strstr (error->message, path) == NULL)
    g_error ("“%s” does not name %s", error->message, path);
}

static void
test_requant_mode (void)
{
  g_autoptr(QsConfig) c = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsConfig) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  QsRequantMode mode;

  g_assert_cmpint (qs_config_get_requant_mode (c), ==, QS_REQUANT_GEMMLOWP);
  for (guint i = 0; i < QS_REQUANT_N_MODES; i++)
    {
      g_assert_true (qs_requant_mode_from_string (qs_requant_mode_to_string (i), &mode));
      g_assert_cmpint (mode, ==, i);
    }
  g_assert_false (qs_requant_mode_from_string ("fp32", &mode));

  qs_config_set_requant_mode (c, QS_REQUANT_FP32_RNE);
  json = qs_config_to_json (c);
  g_assert_nonnull (strstr (json, "\"requantization\" : \"fp32-rne\""));
  back = qs_config_new_from_json (json, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_config_get_requant_mode (back), ==, QS_REQUANT_FP32_RNE);
  g_assert_true (qs_config_equal (c, back));
  qs_config_set_requant_mode (back, QS_REQUANT_CMSIS_NN);
  g_assert_false (qs_config_equal (c, back));

  g_clear_object (&back);
  back = qs_config_new_from_json ("{\"schema_version\": 1, \"requantization\": \"nearest\"}",
                                  -1, &error);
  g_assert_null (back);
  g_assert_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "$.requantization"));
}

/* A float weight format with integer-only fields: the config equals itself after a JSON
 * round trip (found by fuzz-config), and pruning on a float format is kept. */
static void
test_float_format_round_trip (void)
{
  const char *inputs[] = {
    "{\"schema_version\": 1, \"default\": {\"weight\": {\"format\": \"bf16\", \"bits\": 4, \"mapping\": \"affine\"}}}",
    "{\"schema_version\": 1, \"default\": {\"weight\": {\"format\": \"fp16\", \"sparsity\": 0.5}}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsConfig) c = qs_config_new_from_json (inputs[i], -1, &error);
      g_autoptr(QsConfig) back = NULL;
      g_autofree char *json = NULL;
      QsLayerConfig lc;

      g_assert_no_error (error);
      json = qs_config_to_json (c);
      back = qs_config_new_from_json (json, -1, &error);
      g_assert_no_error (error);
      g_assert_true (qs_config_equal (c, back));
      qs_config_get_default (back, &lc);
      if (i == 1)
        g_assert_cmpfloat (lc.weight.sparsity, ==, 0.5);
    }
}

static void
test_json_errors (void)
{
  expect_error ("{", QS_CONFIG_ERROR_PARSE, NULL);
  expect_error ("[]", QS_CONFIG_ERROR_SCHEMA, "$");
  expect_error ("{\"default\": {}}", QS_CONFIG_ERROR_SCHEMA, "schema_version");
  expect_error ("{\"schema_version\": 99}", QS_CONFIG_ERROR_VERSION, "$.schema_version");
  expect_error ("{\"schema_version\": 1, \"colour\": 3}", QS_CONFIG_ERROR_SCHEMA, "$.colour");
  expect_error ("{\"schema_version\": 1, \"layers\": [{\"pattern\": \"c\", \"weight\": {\"format\": \"int\", \"bits\": 99}}]}",
                QS_CONFIG_ERROR_SCHEMA, "$.layers[0].weight.bits");
  expect_error ("{\"schema_version\": 1, \"default\": {\"weight\": {\"format\": \"int9\"}}}",
                QS_CONFIG_ERROR_SCHEMA, "$.default.weight.format");
  expect_error ("{\"schema_version\": 1, \"default\": {\"weight\": {\"format\": \"int\", \"granularity\": \"row\"}}}",
                QS_CONFIG_ERROR_SCHEMA, "$.default.weight.granularity");
  expect_error ("{\"schema_version\": 1, \"layers\": [{\"pattern\": \"c\", \"quantize_activations\": \"yes\"}]}",
                QS_CONFIG_ERROR_SCHEMA, "$.layers[0].quantize_activations");
  expect_error ("{\"schema_version\": 1, \"layers\": [{\"weight\": {\"format\": \"fp16\"}}]}",
                QS_CONFIG_ERROR_SCHEMA, "$.layers[0].pattern");
  expect_error ("{\"schema_version\": 1, \"layers\": [{\"pattern\": \"c\", \"weight\": {\"format\": \"int\", \"extra\": 1}}]}",
                QS_CONFIG_ERROR_SCHEMA, "$.layers[0].weight.extra");
  expect_error ("{\"schema_version\": 1, \"activation_ranges\": {\"conv1\": [3, 1]}}",
                QS_CONFIG_ERROR_SCHEMA, "$.activation_ranges.conv1");
  expect_error ("{\"schema_version\": 1, \"activation_ranges\": {\"conv1\": [0]}}",
                QS_CONFIG_ERROR_SCHEMA, "$.activation_ranges.conv1");
  expect_error ("{\"schema_version\": 1, \"activation_ranges\": {\"fc\": [\"a\", 1]}}",
                QS_CONFIG_ERROR_SCHEMA, "$.activation_ranges.fc");
  expect_error ("{\"schema_version\": 1, \"activation_ranges\": [1, 2]}",
                QS_CONFIG_ERROR_SCHEMA, "$.activation_ranges");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/config/presets", test_presets);
  g_test_add_func ("/qs/config/overrides", test_overrides);
  g_test_add_func ("/qs/config/json-roundtrip", test_json_roundtrip);
  g_test_add_func ("/qs/config/json-errors", test_json_errors);
  g_test_add_func ("/qs/config/requant-mode", test_requant_mode);
  g_test_add_func ("/qs/config/float-format-round-trip", test_float_format_round_trip);
  g_test_add_func ("/qs/config/json-preset-base", test_json_preset_base);
  g_test_add_func ("/qs/config/json-activation-ranges", test_json_activation_ranges);
  return g_test_run ();
}
