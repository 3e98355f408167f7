/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quantscope-core.h"

/* The lowering of each bundled sample model, checked against what a reader of the model
 * expects by hand: which layers form a group (BatchNorm folded, ReLU fused), which run in
 * integers, the value names, and the cost numbers worked out on paper. */

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

static char *
describe (const char *model_name,
          QsConfig   *config)
{
  g_autoptr(QsModel) model = load_sample (model_name);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, &error);

  g_assert_no_error (error);
  return qs_lowering_describe (lowering);
}

static QsConfig *
preset (const char *name)
{
  g_autoptr(GError) error = NULL;
  QsConfig *config = qs_config_new_from_preset (name, &error);

  g_assert_no_error (error);
  return config;
}

typedef struct
{
  const char *model;
  const char *expected;
} Expectation;

/* w8a8: everything with weights runs in integers; the softmax after the last Dense runs in
 * float on its "#pre" value; Flatten and Dropout share storage with their input. */
static const Expectation w8a8_expected[] = {
  { "fmnist-mlp",
    "quantize int (input) -> input~q\n"
    "alias int flatten (input~q) -> input~q\n"
    "conv int fc1 (input~q) -> fc1\n"
    "alias int dropout (fc1) -> fc1\n"
    "conv int fc2 (fc1) -> fc2\n"
    "conv int predictions (fc2) -> predictions#pre\n"
    "dequantize float (predictions#pre) -> predictions#pre~f\n"
    "activation float predictions (predictions#pre~f) -> predictions\n" },
  { "fmnist-cnn",
    "quantize int (input) -> input~q\n"
    "conv int conv1 (input~q) -> conv1\n"
    "pool int pool1 (conv1) -> pool1\n"
    "conv int conv2 (pool1) -> conv2\n"
    "pool int pool2 (conv2) -> pool2\n"
    "alias int flatten (pool2) -> pool2\n"
    "conv int fc1 (pool2) -> fc1\n"
    "conv int predictions (fc1) -> predictions#pre\n"
    "dequantize float (predictions#pre) -> predictions#pre~f\n"
    "activation float predictions (predictions#pre~f) -> predictions\n" },
  /* BatchNorm folded into each convolution; the ReLU after a folded BatchNorm fused as a
   * clamp, except where an Add comes first: then the ReLU clamps the Add's codes. */
  { "fmnist-resnet",
    "quantize int (input) -> input~q\n"
    "conv int conv1+conv1_bn+conv1_relu (input~q) -> conv1_relu\n"
    "pool int pool1 (conv1_relu) -> pool1\n"
    "conv int block1_conv1+block1_conv1_bn+block1_conv1_relu (pool1) -> block1_conv1_relu\n"
    "conv int block1_conv2+block1_conv2_bn (block1_conv1_relu) -> block1_conv2_bn\n"
    "add int block1_add (block1_conv2_bn, pool1) -> block1_add\n"
    "activation int block1_relu (block1_add) -> block1_relu\n"
    "conv int block2_shortcut+block2_shortcut_bn (block1_relu) -> block2_shortcut_bn\n"
    "conv int block2_conv1+block2_conv1_bn+block2_conv1_relu (block1_relu) -> block2_conv1_relu\n"
    "conv int block2_conv2+block2_conv2_bn (block2_conv1_relu) -> block2_conv2_bn\n"
    "add int block2_add (block2_conv2_bn, block2_shortcut_bn) -> block2_add\n"
    "activation int block2_relu (block2_add) -> block2_relu\n"
    "pool int pool (block2_relu) -> pool\n"
    "conv int predictions (pool) -> predictions#pre\n"
    "dequantize float (predictions#pre) -> predictions#pre~f\n"
    "activation float predictions (predictions#pre~f) -> predictions\n" },
  { "fmnist-mobilenet",
    "quantize int (input) -> input~q\n"
    "conv int conv1+conv1_bn+conv1_relu (input~q) -> conv1_relu\n"
    "depthwise int conv_dw_1+conv_dw_1_bn+conv_dw_1_relu (conv1_relu) -> conv_dw_1_relu\n"
    "conv int conv_pw_1+conv_pw_1_bn+conv_pw_1_relu (conv_dw_1_relu) -> conv_pw_1_relu\n"
    "depthwise int conv_dw_2+conv_dw_2_bn+conv_dw_2_relu (conv_pw_1_relu) -> conv_dw_2_relu\n"
    "conv int conv_pw_2+conv_pw_2_bn+conv_pw_2_relu (conv_dw_2_relu) -> conv_pw_2_relu\n"
    "depthwise int conv_dw_3+conv_dw_3_bn+conv_dw_3_relu (conv_pw_2_relu) -> conv_dw_3_relu\n"
    "conv int conv_pw_3+conv_pw_3_bn+conv_pw_3_relu (conv_dw_3_relu) -> conv_pw_3_relu\n"
    "pool int pool (conv_pw_3_relu) -> pool\n"
    "alias int dropout (pool) -> pool\n"
    "conv int predictions (pool) -> predictions#pre\n"
    "dequantize float (predictions#pre) -> predictions#pre~f\n"
    "activation float predictions (predictions#pre~f) -> predictions\n" },
};

static void
test_samples_w8a8 (void)
{
  g_autoptr(QsConfig) config = preset ("w8a8");

  for (guint i = 0; i < G_N_ELEMENTS (w8a8_expected); i++)
    {
      g_autofree char *got = describe (w8a8_expected[i].model, config);

      g_test_message ("%s", w8a8_expected[i].model);
      g_assert_cmpstr (got, ==, w8a8_expected[i].expected);
    }
}

/* Without a config the same groups run in float (the program calibration runs): the
 * folding and fusion do not depend on the precision. */
static void
test_float (void)
{
  g_autofree char *got = describe ("fmnist-resnet", NULL);
  g_autoptr(QsModel) model = load_sample ("fmnist-resnet");
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, NULL, NULL);
  guint n_ranges;
  g_autofree QsLoweredRange *ranges = qs_lowering_list_ranges (lowering, &n_ranges);

  g_assert_true (ranges == NULL || n_ranges == 0);
  g_assert_true (g_str_has_prefix (got,
                                   "conv float conv1+conv1_bn+conv1_relu (input) -> conv1_relu\n"
                                   "pool float pool1 (conv1_relu) -> pool1\n"));
  g_assert_null (strstr (got, " int "));
  g_assert_null (strstr (got, "quantize"));
  g_assert_cmpuint (n_ranges, ==, 0);
  for (guint l = 0; l < qs_model_get_n_layers (model); l++)
    g_assert_false (qs_lowering_get_layer (lowering, l)->is_integer);
}

/* One layer with fp16 weights and one that keeps its activations float: both groups run in
 * float, with a dequantize before and a quantize after (the float value's own range). */
static void
test_mixed_decision (void)
{
  g_autoptr(QsConfig) config = preset ("w8a8");
  g_autoptr(QsModel) model = load_sample ("fmnist-cnn");
  g_autoptr(QsLowering) lowering = NULL;
  g_autofree char *got = NULL;
  g_autofree QsLoweredRange *ranges = NULL;
  QsLayerConfig lc;
  guint n_ranges;
  const char *expected_ranges[] = { "input", "conv1", "conv2", "fc1", "predictions#pre" };

  qs_config_get_layer (config, "conv2", &lc);
  qs_quant_spec_init_float (&lc.weight, QS_FORMAT_FP16);
  qs_config_set_layer (config, "conv2", &lc);
  lowering = qs_lowering_new (model, config, NULL);
  got = qs_lowering_describe (lowering);
  g_assert_cmpstr (got, ==,
                   "quantize int (input) -> input~q\n"
                   "conv int conv1 (input~q) -> conv1\n"
                   "pool int pool1 (conv1) -> pool1\n"
                   "dequantize float (pool1) -> pool1~f\n"
                   "conv float conv2 (pool1~f) -> conv2\n"
                   "pool float pool2 (conv2) -> pool2\n"
                   "alias float flatten (pool2) -> pool2\n"
                   "quantize int (pool2) -> pool2~q\n"
                   "conv int fc1 (pool2~q) -> fc1\n"
                   "conv int predictions (fc1) -> predictions#pre\n"
                   "dequantize float (predictions#pre) -> predictions#pre~f\n"
                   "activation float predictions (predictions#pre~f) -> predictions\n");
  g_assert_false (qs_lowering_get_layer (lowering, qs_model_find_layer (model, "conv2")->index)->is_integer);
  g_assert_true (qs_lowering_get_layer (lowering, qs_model_find_layer (model, "conv1")->index)->is_integer);

  /* the ranges the program needs: pool1 shares conv1's, the float pool2 gets its own */
  ranges = qs_lowering_list_ranges (lowering, &n_ranges);
  g_assert_cmpuint (n_ranges, ==, 5);
  expected_ranges[2] = "pool2";
  for (guint i = 0; i < n_ranges; i++)
    {
      g_assert_cmpstr (ranges[i].name, ==, expected_ranges[i]);
      g_assert_false (ranges[i].fixed);
    }
}

/* Folding and the stored weights: the folded kernel is the kernel times gamma / sqrt (var
 * + eps) per output channel, computed here independently; the folded BatchNorm has no
 * weights of its own in the program. */
static void
test_folded_weights (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-mobilenet");
  g_autoptr(QsConfig) config = preset ("w8a8");
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, NULL);
  const QsLayer *conv = qs_model_find_layer (model, "conv_pw_1");
  const QsLayer *bn = qs_model_find_layer (model, "conv_pw_1_bn");
  const QsLoweredLayer *ll = qs_lowering_get_layer (lowering, conv->index);
  const QsLoweredStep *st = qs_lowering_get_step (lowering, (guint) ll->step);
  g_autoptr(QsTensor) folded = NULL;
  QsTensor *kernel = qs_layer_get_kernel (conv);
  QsTensor *gamma = g_ptr_array_index (bn->weights, 0), *var = g_ptr_array_index (bn->weights, 3);
  QsLoweredWeights w, wbn;
  gsize n_out = kernel->shape[kernel->n_dims - 1];

  g_assert_cmpint (ll->folded_bn, ==, (gint) bn->index);
  g_assert_cmpint (qs_lowering_get_layer (lowering, bn->index)->folded_into, ==, (gint) conv->index);
  /* the fused ReLU's layer points at its group */
  g_assert_cmpint (qs_lowering_get_layer (lowering, qs_model_find_layer (model, "conv_pw_1_relu")->index)->fused_into,
                   ==, (gint) conv->index);
  g_assert_true (st->kind == QS_LOWERED_CONV && st->is_int);
  g_assert_cmpuint (st->n_out, ==, n_out);
  g_assert_cmpuint (st->k, ==, kernel->n_elements / n_out);

  folded = qs_lowering_get_step_kernel (lowering, (guint) ll->step);
  for (gsize i = 0; i < kernel->n_elements; i++)
    {
      gsize o = i % n_out;
      double f = gamma->data[o] / sqrt ((double) var->data[o] + bn->bn_epsilon);

      g_assert_cmpfloat (folded->data[i], ==, (float) (kernel->data[i] * f));
    }

  g_assert_true (qs_lowering_get_layer_weights (lowering, conv->index, &w));
  g_assert_cmpuint (w.n_values, ==, kernel->n_elements);
  /* int8 codes, a 32-bit scale and a 32-bit bias per output channel */
  g_assert_cmpuint (w.storage_bits, ==, kernel->n_elements * 8 + n_out * 32 + n_out * 32);
  g_assert_cmpfloat (w.sqnr_db, >, 35.0);
  g_assert_false (qs_lowering_get_layer_weights (lowering, bn->index, &wbn));
  g_assert_cmpint (wbn.folded_into, ==, (gint) conv->index);
  g_assert_cmpuint (wbn.storage_bits, ==, 0);
}

/* The storage the cost model computes without quantizing equals what qs_quant_run ()
 * reports after quantizing, for every kind of spec. */
static void
test_storage_bits (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-cnn");
  QsTensor *kernel = qs_layer_get_kernel (qs_model_find_layer (model, "conv2"));
  struct { QsFormat format; guint bits; QsMapping mapping; QsGranularity gran; guint group; } specs[] = {
    { QS_FORMAT_INT, 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, 0 },
    { QS_FORMAT_INT, 4, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_TENSOR, 0 },
    { QS_FORMAT_INT, 6, QS_MAPPING_AFFINE, QS_GRANULARITY_CHANNEL, 0 },
    { QS_FORMAT_INT, 4, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_GROUP, 32 },
    { QS_FORMAT_FP16, 16, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_TENSOR, 0 },
    { QS_FORMAT_FP8_E4M3, 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_TENSOR, 0 },
    { QS_FORMAT_BINARY, 1, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      QsQuantSpec spec, resolved;
      QsQuantOptions opt = { 0 };
      g_autoptr(QsQuantResult) r = NULL;
      g_autoptr(GError) error = NULL;

      if (specs[i].format == QS_FORMAT_INT || specs[i].format == QS_FORMAT_BINARY)
        {
          qs_quant_spec_init (&spec);
          spec.format = specs[i].format;
          spec.bits = specs[i].bits;
          spec.mapping = specs[i].mapping;
          spec.granularity = specs[i].gran;
          spec.group_size = specs[i].group;
        }
      else
        qs_quant_spec_init_float (&spec, specs[i].format);
      qs_config_resolve_weight_spec (&spec, kernel, &resolved);
      r = qs_quant_run (kernel, &resolved, &opt, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (qs_lowering_kernel_storage_bits (kernel, &resolved), ==, r->stats.storage_bits);
    }
}

/* The MLP's cost at w8a8, worked out by hand:
 * weights: fc1 784x256, fc2 256x128, predictions 128x10 as int8 codes with a 32-bit scale
 * and a 32-bit bias per output: 200704 + 2 * 1024 + 32768 + 2 * 512 + 1280 + 2 * 40;
 * MACs 784*256 + 256*128 + 128*10; bit-operations 8 x 8 per MAC;
 * peak activations: the float input image (784 x 4 bytes) and its int8 copy (784). */
static void
test_cost_mlp (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-mlp");
  g_autoptr(QsConfig) config = preset ("w8a8");
  QsCost cost, fcost;

  qs_cost_compute (model, config, &cost);
  g_assert_true (cost.has_program);
  g_assert_cmpuint (cost.float_weight_bytes, ==, 235146 * 4);
  g_assert_cmpuint (cost.weight_bytes, ==, 200704 + 2 * 1024 + 32768 + 2 * 512 + 1280 + 2 * 40);
  g_assert_cmpuint (cost.macs, ==, 784 * 256 + 256 * 128 + 128 * 10);
  g_assert_cmpuint (cost.bit_ops, ==, cost.macs * 64);
  g_assert_cmpuint (cost.peak_activation_bytes, ==, 784 * 4 + 784);
  /* all float: the input and fc1's output are the largest live pair */
  g_assert_cmpuint (cost.float_peak_activation_bytes, ==, 784 * 4 + 256 * 4);
  g_assert_cmpuint (cost.n_int_steps, ==, 3);
  g_assert_cmpuint (cost.n_float_steps, ==, 1);

  qs_cost_compute (model, NULL, &fcost);
  g_assert_cmpuint (fcost.weight_bytes, ==, 235146 * 4);
  g_assert_cmpuint (fcost.bit_ops, ==, fcost.macs * 32 * 32);
  g_assert_cmpuint (fcost.peak_activation_bytes, ==, cost.float_peak_activation_bytes);
}

/* The ResNet's skip connection keeps pool1 alive across block 1: the peak is a set of
 * live values, not one layer's input and output. The liveness is recomputed here from the
 * lowering's steps independently (every value from its producer to its last reader). */
static void
test_cost_resnet_liveness (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-resnet");
  g_autoptr(QsConfig) config = preset ("w8a8");
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, NULL);
  guint ns = qs_lowering_get_n_steps (lowering);
  guint64 peak = 0;
  QsCost cost;

  for (guint s = 0; s < ns; s++)
    {
      guint64 live = 0;

      for (guint v = 0; v < qs_lowering_get_n_values (lowering); v++)
        {
          const QsLoweredValue *val = qs_lowering_get_value (lowering, v);
          gint last = val->producer;

          if (val->alias_of >= 0)
            continue;
          for (guint t = 0; t < ns; t++)
            {
              const QsLoweredStep *st = qs_lowering_get_step (lowering, t);

              for (guint k = 0; k < st->n_inputs; k++)
                {
                  const QsLoweredValue *in = qs_lowering_get_value (lowering, st->inputs[k]);

                  if (st->inputs[k] == (gint) v || in->alias_of == (gint) v)
                    last = MAX (last, (gint) t);
                }
            }
          if ((gint) v == qs_lowering_get_output (lowering))
            last = (gint) ns;
          if (val->producer <= (gint) s && last >= (gint) s)
            live += (guint64) val->h * val->w * val->c * (val->is_int ? 1 : 4);
        }
      peak = MAX (peak, live);
    }
  qs_lowering_get_cost (lowering, &cost);
  g_assert_cmpuint (cost.peak_activation_bytes, ==, peak);
  g_assert_cmpuint (cost.peak_activation_bytes, <, cost.float_peak_activation_bytes);
}

/* The integer engine compiled from a lowering plus an explicit range table gives the same
 * outputs as the calibrated one when the table holds the calibration's ranges; a missing
 * range is an error naming the value. */
static void
test_engine_from_table (void)
{
  g_autoptr(QsModel) model = load_sample ("fmnist-cnn");
  g_autoptr(QsConfig) config = preset ("w8a8");
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, NULL);
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsRangeTable) table = NULL, partial = NULL;
  g_autoptr(QsEngineInt) a = NULL, b = NULL, c = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL, *ya = NULL, *yb = NULL;
  g_autofree QsLoweredRange *ranges = NULL;
  guint n_ranges, n = 20;

  calib = qs_calibration_cache_get (NULL, model, "sample-train", 32, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  a = qs_calibration_compile (calib, model, config, &error);
  g_assert_no_error (error);

  ranges = qs_lowering_list_ranges (lowering, &n_ranges);
  table = qs_range_table_new ();
  partial = qs_range_table_new ();
  for (guint i = 0; i < n_ranges; i++)
    {
      float lo, hi;

      g_assert_true (qs_calibration_get_range (calib, ranges[i].name, ranges[i].spec, &lo, &hi, &error));
      qs_range_table_set (table, ranges[i].name, lo, hi);
      if (i + 1 < n_ranges)
        qs_range_table_set (partial, ranges[i].name, lo, hi);
    }
  b = qs_engine_int_new (lowering, table, &error);
  g_assert_no_error (error);

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  x = g_new (float, n * qs_engine_int_get_input_size (a));
  ya = g_new (float, n * qs_engine_int_get_output_size (a));
  yb = g_new (float, n * qs_engine_int_get_output_size (b));
  g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, n, x, &error));
  g_assert_true (qs_engine_int_run (a, x, n, ya, 1, NULL, NULL, NULL, &error));
  g_assert_true (qs_engine_int_run (b, x, n, yb, 1, NULL, NULL, NULL, &error));
  g_assert_cmpmem (ya, n * qs_engine_int_get_output_size (a) * sizeof (float),
                   yb, n * qs_engine_int_get_output_size (b) * sizeof (float));

  c = qs_engine_int_new (lowering, partial, &error);
  g_assert_null (c);
  g_assert_error (error, QS_ENGINE_INT_ERROR, QS_ENGINE_INT_ERROR_NO_RANGE);
  g_assert_nonnull (strstr (error->message, ranges[n_ranges - 1].name));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qs/lowering/samples-w8a8", test_samples_w8a8);
  g_test_add_func ("/qs/lowering/float", test_float);
  g_test_add_func ("/qs/lowering/mixed-decision", test_mixed_decision);
  g_test_add_func ("/qs/lowering/folded-weights", test_folded_weights);
  g_test_add_func ("/qs/lowering/storage-bits", test_storage_bits);
  g_test_add_func ("/qs/lowering/cost-mlp", test_cost_mlp);
  g_test_add_func ("/qs/lowering/cost-resnet-liveness", test_cost_resnet_liveness);
  g_test_add_func ("/qs/lowering/engine-from-range-table", test_engine_from_table);
  return g_test_run ();
}
