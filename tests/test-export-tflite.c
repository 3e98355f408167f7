/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The TensorFlow Lite export, proven by LiteRT: every bundled sample model, calibrated on
 * sample images with the w8a8 preset, exported and run in LiteRT.js (WASM, XNNPACK) from
 * Node; its outputs are compared with the integer engine's. Needs QS_NODE_MODULES (a
 * node_modules with @litertjs/core, which build-aux/quantscope-dev.sh installs) and node;
 * skips saying why without them. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "qs-calib.h"
#include "qs-data.h"
#include "qs-dataset.h"
#include "qs-engine-int.h"
#include "qs-export-private.h"

#define N_CALIB  200
#define N_IMAGES 300

/* TRUE once the engine computes QS_REQUANT_FP32_RNE (XNNPACK's requantization): then the
 * logits must agree code for code. Until then the engine requantizes with gemmlowp's
 * fixed-point multipliers and outputs may differ by one code. */
#define QS_TFLITE_EXPECT_EXACT TRUE
/* What holds meanwhile at the logits, in codes: the first layer differs by at most one
 * code in under 0.1% of its outputs (gemmlowp's double rounding against fp32), and those
 * differences grow through the layers that follow (ResNet's logits: up to 3 codes). */
#define MAX_CODE_DIFF 3.0


static char *
find_node_modules (void)
{
  const char *nm = g_getenv ("QS_NODE_MODULES");
  g_autofree char *core = NULL;

  if (nm == NULL || *nm == '\0')
    return NULL;
  core = g_build_filename (nm, "@litertjs", "core", "dist", "index.js", NULL);
  return g_file_test (core, G_FILE_TEST_EXISTS) ? g_strdup (nm) : NULL;
}

/* The integer value the model's float output is dequantized from (the logits before a
 * softmax), or NULL when the output is not such a conversion. */
static const char *
logits_value (QsLowering *lw)
{
  gint v = qs_lowering_get_output (lw);

  while (v >= 0)
    {
      const QsLoweredValue *val = qs_lowering_get_value (lw, v);
      const QsLoweredStep *s;

      if (val->producer < 0)
        return NULL;
      s = qs_lowering_get_step (lw, val->producer);
      if (s->kind == QS_LOWERED_DEQUANTIZE)
        return qs_lowering_get_value (lw, s->inputs[0])->name;
      if (s->is_int || s->n_inputs != 1)
        return NULL;
      v = s->inputs[0];
    }
  return NULL;
}

/* One comparison point: a named integer value, the program exported up to it (ending in
 * a DEQUANTIZE), our engine's dequantized values and LiteRT's. */
typedef struct
{
  const char *name;
  gsize       n;          /* values per image */
  float       scale;      /* its quantization step: differences in codes */
  float      *ours;       /* N_IMAGES * n */
  char       *model_file;
  char       *out_file;
  guint       mismatches;
  double      max_diff;   /* in codes */
} Probe;

typedef struct
{
  Probe *probes;
  guint  n_probes;
  guint  image;
} Taps;

static void
tap_cb (const char  *name,
        const float *values,
        gsize        n,
        gboolean     is_integer,
        gpointer     user_data)
{
  Taps *taps = user_data;

  for (guint p = 0; p < taps->n_probes; p++)
    if (g_strcmp0 (name, taps->probes[p].name) == 0)
      memcpy (taps->probes[p].ours + taps->image * n, values, n * sizeof (float));
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  while (d != NULL && (entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *f = g_build_filename (dir, entry, NULL);

      g_unlink (f);
    }
  g_rmdir (dir);
}

static gsize
argmax (const float *x,
        gsize        n)
{
  gsize best = 0;

  for (gsize i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

/* flatc reads the file back with our schema; the weights' quantization is per channel
 * along the axis TFLite expects (0 for FULLY_CONNECTED / CONV_2D, 3 for depthwise). */
static gboolean
flatc_parses (const char *dir,
              const char *file,
              const char *base)
{
  g_autofree char *flatc = g_find_program_in_path ("flatc");
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *json = g_strdup_printf ("%s/%s.json", dir, base);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root, *sg;
  JsonArray *codes, *ops, *tensors;
  gint status = 0;
  const char *argv[] = { flatc, "--json", "--strict-json", "--defaults-json", "--raw-binary",
                         "-o", dir, QS_TFLITE_SCHEMA, "--", file, NULL };

  if (flatc == NULL)
    return TRUE;   /* optional check */
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_printerr ("flatc: %s\n", err);
      return FALSE;
    }
  g_assert_true (json_parser_load_from_file (parser, json, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "version"), ==, 3);
  codes = json_object_get_array_member (root, "operator_codes");
  sg = json_array_get_object_element (json_object_get_array_member (root, "subgraphs"), 0);
  ops = json_object_get_array_member (sg, "operators");
  tensors = json_object_get_array_member (sg, "tensors");
  for (guint i = 0; i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_array_get_object_element (ops, i);
      JsonObject *code = json_array_get_object_element (codes, json_object_get_int_member (op, "opcode_index"));
      const char *builtin = json_object_get_string_member (code, "builtin_code");
      JsonArray *inputs = json_object_get_array_member (op, "inputs");
      JsonObject *w, *q;
      JsonArray *shape;
      gint dim;

      if (g_strcmp0 (builtin, "CONV_2D") != 0 && g_strcmp0 (builtin, "FULLY_CONNECTED") != 0
          && g_strcmp0 (builtin, "DEPTHWISE_CONV_2D") != 0)
        continue;
      w = json_array_get_object_element (tensors, json_array_get_int_element (inputs, 1));
      if (g_strcmp0 (json_object_get_string_member (w, "type"), "INT8") != 0)
        continue;   /* a float island */
      dim = g_strcmp0 (builtin, "DEPTHWISE_CONV_2D") == 0 ? 3 : 0;
      q = json_object_get_object_member (w, "quantization");
      shape = json_object_get_array_member (w, "shape");
      g_assert_cmpint (json_object_get_int_member (q, "quantized_dimension"), ==, dim);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (q, "scale")), ==,
                        json_array_get_int_element (shape, dim));
    }
  return TRUE;
}

typedef struct
{
  const char *model;
  const char *float_layer;   /* nullable: a layer the config leaves in float (an island) */
} Case;

static void
test_model (gconstpointer data)
{
  const Case *c = data;
  const char *name = c->model;
  g_autofree char *rel = g_strdup_printf ("models/%s.h5", name);
  g_autofree char *path = qs_data_find_file (rel, NULL);
  g_autofree char *nm = find_node_modules ();
  g_autofree char *node = g_find_program_in_path ("node");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) train = NULL, test = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsLowering) lw = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(GString) summary = g_string_new (NULL);
  g_autofree char *dir = NULL, *file = NULL, *inputs_file = NULL;
  g_autofree char *out_file = NULL, *script = NULL;
  g_autofree float *calib_in = NULL, *inputs = NULL, *ours = NULL;
  g_autofree char *lite_raw = NULL, *stdout_s = NULL, *stderr_s = NULL;
  gsize in_size, out_size, lite_len = 0, size = 0;
  GArray *probes;
  guint logits_probe = 0, first_probe = 0, top1_logits = 0;
  gint first = -1;
  const Probe *lp_logits;
  const QsExportFormat *format = qs_export_find_format ("tflite");
  const char *logits;
  QsExportContext ctx = { 0 };
  guint top1_out = 0;
  gint status = 0;
  float lo, hi;

  g_assert_nonnull (path);
  g_assert_nonnull (format);
  g_assert_true (format->needs_ranges);
  g_assert_cmpint (format->requant_mode, ==, QS_REQUANT_FP32_RNE);

  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  config = qs_config_new_from_preset ("w8a8", &error);
  g_assert_no_error (error);
  qs_config_set_requant_mode (config, format->requant_mode);
  if (c->float_layer != NULL)
    {
      QsLayerConfig lc;

      qs_config_get_layer (config, c->float_layer, &lc);
      lc.quantize_activations = FALSE;
      qs_config_set_layer (config, c->float_layer, &lc);
    }
  train = qs_dataset_open ("sample-train", &error);
  g_assert_no_error (error);
  test = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);

  lw = qs_lowering_new (model, config, &error);
  g_assert_no_error (error);
  in_size = qs_lowering_get_value (lw, qs_lowering_get_input (lw))->h
            * qs_lowering_get_value (lw, qs_lowering_get_input (lw))->w
            * qs_lowering_get_value (lw, qs_lowering_get_input (lw))->c;
  calib_in = g_new (float, N_CALIB * in_size);
  g_assert_true (qs_dataset_fill_inputs (train, model, 0, N_CALIB, calib_in, &error));
  calib = qs_calibration_new (model, calib_in, N_CALIB, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  ranges = qs_calibration_make_ranges (calib, lw, &error);
  g_assert_no_error (error);
  engine = qs_engine_int_new (lw, ranges, &error);
  g_assert_no_error (error);
  out_size = qs_engine_int_get_output_size (engine);

  /* export through the formats table, as the CLI and the app do */
  dir = g_dir_make_tmp ("qs-tflite-XXXXXX", &error);
  g_assert_no_error (error);
  file = g_strdup_printf ("%s/%s.tflite", dir, name);
  ctx = (QsExportContext) { model, config, lw, ranges, path };
  g_assert_true (qs_export_run (format, &ctx, file, summary, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (file, &lite_raw, &size, NULL));
  g_assert_cmpuint (size, >, 8);
  g_assert_cmpmem (lite_raw + 4, 4, "TFL3", 4);
  g_clear_pointer (&lite_raw, g_free);
  g_assert_true (flatc_parses (dir, file, name));
  g_test_message ("%s", summary->str);

  /* ... and the same program ending at the logits (the exact comparison point); with
   * QS_TFLITE_PROBE_ALL=1 at every named integer value, to see where differences start */
  logits = logits_value (lw);
  g_assert_nonnull (logits);
  probes = g_array_new (FALSE, TRUE, sizeof (Probe));
  for (guint i = 0; i < qs_lowering_get_n_steps (lw) && first < 0; i++)
    {
      const QsLoweredStep *s = qs_lowering_get_step (lw, i);

      if (s->is_int && (s->kind == QS_LOWERED_CONV || s->kind == QS_LOWERED_DEPTHWISE))
        first = s->output;
    }
  g_assert_cmpint (first, >=, 0);
  for (guint v = 0; v < qs_lowering_get_n_values (lw); v++)
    {
      const QsLoweredValue *val = qs_lowering_get_value (lw, v);
      g_autoptr(GBytes) bytes = NULL;
      QsLoweredParams lp;
      Probe probe = { 0 };
      gint owner;

      if (!val->is_int || val->name == NULL
          || (g_strcmp0 (val->name, logits) != 0 && (gint) v != first
              && !g_getenv ("QS_TFLITE_PROBE_ALL")))
        continue;
      owner = qs_lowering_get_range_owner (lw, v);
      val = qs_lowering_get_value (lw, owner);
      g_assert_true (qs_range_table_lookup (ranges, val->range_name, &lo, &hi));
      g_assert_true (qs_lowered_params_from_range (&val->spec, lo, hi, &lp, &error));
      val = qs_lowering_get_value (lw, v);
      probe.name = val->name;
      probe.n = val->h * val->w * val->c;
      probe.scale = lp.scale;
      probe.ours = g_new (float, N_IMAGES * probe.n);
      probe.model_file = g_strdup_printf ("%s/probe%u.tflite", dir, v);
      probe.out_file = g_strdup_printf ("%s/probe%u.f32", dir, v);
      bytes = qs_export_tflite_build (&ctx, probe.name, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (qs_export_write_file (probe.model_file, g_bytes_get_data (bytes, NULL),
                                           g_bytes_get_size (bytes), &error));
      if (g_strcmp0 (probe.name, logits) == 0)
        logits_probe = probes->len;
      if ((gint) v == first)
        first_probe = probes->len;
      g_array_append_val (probes, probe);
    }

  /* our engine on the test images */
  inputs = g_new (float, N_IMAGES * in_size);
  g_assert_true (qs_dataset_fill_inputs (test, model, 0, N_IMAGES, inputs, &error));
  ours = g_new (float, N_IMAGES * out_size);
  for (guint i = 0; i < N_IMAGES; i++)
    {
      Taps taps = { (Probe *) probes->data, probes->len, i };

      g_assert_true (qs_engine_int_run_tapped (engine, inputs + i * in_size, ours + i * out_size,
                                               tap_cb, &taps, &error));
    }

  if (nm == NULL || node == NULL)
    {
      g_test_skip (nm == NULL ? "QS_NODE_MODULES does not point at a node_modules with "
                                "@litertjs/core (build-aux/quantscope-dev.sh installs it)"
                              : "node is not installed");
      goto out;
    }

  inputs_file = g_strdup_printf ("%s/inputs.f32", dir);
  out_file = g_strdup_printf ("%s/out.f32", dir);
  g_assert_true (g_file_set_contents (inputs_file, (const char *) inputs,
                                      N_IMAGES * in_size * sizeof (float), NULL));
  script = g_test_build_filename (G_TEST_DIST, "export-tflite-run.mjs", NULL);
  {
    g_autofree char *n_str = g_strdup_printf ("%u", N_IMAGES);
    g_autoptr(GPtrArray) argv = g_ptr_array_new ();

    g_ptr_array_add (argv, node);
    g_ptr_array_add (argv, script);
    g_ptr_array_add (argv, nm);
    g_ptr_array_add (argv, inputs_file);
    g_ptr_array_add (argv, n_str);
    g_ptr_array_add (argv, file);
    g_ptr_array_add (argv, out_file);
    for (guint p = 0; p < probes->len; p++)
      {
        g_ptr_array_add (argv, g_array_index (probes, Probe, p).model_file);
        g_ptr_array_add (argv, g_array_index (probes, Probe, p).out_file);
      }
    g_ptr_array_add (argv, NULL);
    g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                 &stdout_s, &stderr_s, &status, &error));
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, NULL))
      g_error ("LiteRT failed on %s:\n%s\n%s", name, stdout_s, stderr_s);
    g_test_message ("LiteRT: %s%s", stdout_s, stderr_s);
  }
  g_assert_true (g_file_get_contents (out_file, &lite_raw, &lite_len, NULL));
  g_assert_cmpuint (lite_len, ==, N_IMAGES * out_size * sizeof (float));
  for (guint p = 0; p < probes->len; p++)
    {
      Probe *probe = &g_array_index (probes, Probe, p);
      g_autofree char *raw = NULL;
      gsize len = 0;

      g_assert_true (g_file_get_contents (probe->out_file, &raw, &len, NULL));
      g_assert_cmpuint (len, ==, N_IMAGES * probe->n * sizeof (float));
      for (gsize j = 0; j < N_IMAGES * probe->n; j++)
        {
          double d = fabs ((double) probe->ours[j] - (double) ((const float *) raw)[j]) / probe->scale;

          probe->max_diff = MAX (probe->max_diff, d);
          probe->mismatches += d > 0.5;
        }
      if (p == logits_probe)
        for (guint i = 0; i < N_IMAGES; i++)
          top1_logits += argmax (probe->ours + i * probe->n, probe->n)
                         == argmax ((const float *) raw + i * probe->n, probe->n);
      if (g_getenv ("QS_TFLITE_PROBE_ALL") || p == first_probe)
        g_printerr ("#   %s: %u of %zu codes differ (max %.0f)\n", probe->name,
                    probe->mismatches, N_IMAGES * probe->n, probe->max_diff);
    }
  for (guint i = 0; i < N_IMAGES; i++)
    top1_out += argmax (ours + i * out_size, out_size)
                == argmax ((const float *) lite_raw + i * out_size, out_size);
  lp_logits = &g_array_index (probes, Probe, logits_probe);
  g_printerr ("# %s: %zu bytes .tflite; logits (%s): %u of %zu codes differ (max %.0f), "
              "top-1 agreement %u / %u (logits), %u / %u (softmax output)\n",
              name, size, logits, lp_logits->mismatches, N_IMAGES * lp_logits->n,
              lp_logits->max_diff, top1_logits, N_IMAGES, top1_out, N_IMAGES);

  /* the first layer sees the same input codes: only its requantization can differ */
  g_assert_cmpfloat (g_array_index (probes, Probe, first_probe).max_diff, <=, 1.0 + 1e-3);
  g_assert_cmpuint (g_array_index (probes, Probe, first_probe).mismatches * 1000, <=,
                    N_IMAGES * g_array_index (probes, Probe, first_probe).n);
  if (QS_TFLITE_EXPECT_EXACT)
    {
      g_assert_cmpuint (g_array_index (probes, Probe, first_probe).mismatches, ==, 0);
      g_assert_cmpuint (lp_logits->mismatches, ==, 0);
    }
  g_assert_cmpfloat (lp_logits->max_diff, <=, MAX_CODE_DIFF + 1e-3);
  g_assert_cmpuint (top1_logits * 100, >=, 99 * N_IMAGES);
  g_assert_cmpuint (top1_out * 100, >=, 99 * N_IMAGES);

out:
  for (guint p = 0; p < probes->len; p++)
    {
      Probe *probe = &g_array_index (probes, Probe, p);

      g_free (probe->ours);
      g_free (probe->model_file);
      g_free (probe->out_file);
    }
  g_array_unref (probes);
  remove_dir (dir);
}

/* What TFLite cannot express fails with an error naming the layer, and writes nothing. */
static void
test_unsupported (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-cnn.h5", NULL);
  g_autoptr(QsModel) model = qs_model_load (path, NULL, NULL, NULL);
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsLowering) lw = NULL;
  g_autoptr(QsRangeTable) ranges = qs_range_table_new ();
  g_autoptr(GString) summary = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qs-tflite-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "x.tflite", NULL);
  const QsExportFormat *format = qs_export_find_format ("tflite");
  QsExportContext ctx;

  lw = qs_lowering_new (model, config, &error);
  g_assert_no_error (error);
  /* no ranges at all */
  ctx = (QsExportContext) { model, config, lw, NULL, path };
  g_assert_false (qs_export_run (format, &ctx, file, summary, &error));
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  /* a range table without the activations */
  ctx.ranges = ranges;
  g_assert_false (qs_export_run (format, &ctx, file, summary, &error));
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "“input”"));
  g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  /* 4-bit activations: TFLite's int8 tensors cannot hold the clamp, the error names the value */
  {
    g_autoptr(QsConfig) w4a4 = qs_config_new_from_preset ("w4a4", NULL);
    g_autoptr(QsLowering) lw4 = qs_lowering_new (model, w4a4, &error);
    g_autoptr(QsRangeTable) full = qs_range_table_new ();
    g_autofree QsLoweredRange *needed = NULL;
    guint n = 0;

    g_assert_no_error (error);
    needed = qs_lowering_list_ranges (lw4, &n);
    for (guint i = 0; i < n; i++)
      qs_range_table_set (full, needed[i].name, -1.0f, 1.0f);
    ctx = (QsExportContext) { model, w4a4, lw4, full, path };
    g_assert_false (qs_export_run (format, &ctx, file, summary, &error));
    g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED);
    g_test_message ("%s", error->message);
    g_assert_true (g_str_has_prefix (error->message, "conv1: "));
    g_assert_nonnull (strstr (error->message, "-8 to 7"));
    g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
    g_clear_error (&error);
    ctx = (QsExportContext) { model, config, lw, ranges, path };
  }
  /* never over the model itself */
  g_assert_false (qs_export_run (format, &ctx, path, summary, &error));
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  static const Case cases[] = {
    { "fmnist-mlp", NULL },
    { "fmnist-cnn", NULL },
    { "fmnist-mobilenet", NULL },
    { "fmnist-resnet", NULL },
    { "fmnist-cnn", "fc1" },   /* a float island: DEQUANTIZE, float FULLY_CONNECTED, QUANTIZE */
  };

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *test = g_strdup_printf ("/qs/export-tflite/litert/%s%s%s", cases[i].model,
                                               cases[i].float_layer ? "-float-" : "",
                                               cases[i].float_layer ? cases[i].float_layer : "");

      g_test_add_data_func (test, &cases[i], test_model);
    }
  g_test_add_func ("/qs/export-tflite/unsupported", test_unsupported);
  return g_test_run ();
}
