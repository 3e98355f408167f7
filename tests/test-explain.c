/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The explain panel's numbers are the library's: S, Z, q, x̂ of sampled weights of the
 * sample model equal qs_quant_run ()'s bit for bit; a requantization example equals the
 * integer engine's output code; the playground's optimum is the MSE range method's. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quantscope-core.h"

static QsModel *
load_sample (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-cnn.h5", NULL);
  g_autoptr(GError) error = NULL;
  QsModel *model;

  g_assert_nonnull (path);
  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  return model;
}

static void
check_result (QsQuantResult *r,
              GRand         *rand,
              guint          n_samples)
{
  gsize n = r->input->n_elements;

  for (guint s = 0; s < n_samples; s++)
    {
      /* the first, the last and random elements */
      gsize i = s == 0 ? 0 : s == 1 ? n - 1 : (gsize) g_rand_int_range (rand, 0, (gint32) MIN (n, G_MAXINT32));
      g_autoptr(GError) error = NULL;
      g_autoptr(QsExplainValue) e = qs_explain_value_new (r, i, &error);
      gsize k = qs_quant_params_index (r->params, i);
      guint32 a, b;

      g_assert_no_error (error);
      g_assert_cmpint (memcmp (&e->scale, &r->params->scale[k], sizeof (float)), ==, 0);
      g_assert_cmpint (e->zero_point, ==, r->params->zero_point[k]);
      g_assert_cmpfloat (e->clip_lo, ==, r->params->clip_lo[k]);
      g_assert_cmpfloat (e->clip_hi, ==, r->params->clip_hi[k]);
      g_assert_cmpint (e->q, ==, r->codes[i]);
      /* bit for bit, except the sign of a zero (the row kernels give -0 to a negative x
       * that rounds to code Z; S (q - Z) is +0) */
      memcpy (&a, &e->x_hat, 4);
      memcpy (&b, &r->dequant->data[i], 4);
      if (e->x_hat == 0.0f)
        g_assert_cmpfloat (r->dequant->data[i], ==, 0.0f);
      else
        g_assert_cmphex (a, ==, b);
      g_assert_cmpfloat (e->x, ==, r->input->data[i]);
      /* the bound it states holds */
      if (e->clip_side == 0)
        g_assert_cmpfloat (fabs (e->error), <=, e->bound * (1.0 + 1e-6));
      else
        g_assert_cmpfloat (fabs (e->error), >, e->bound * (1.0 - 1e-6));
      g_assert_cmpfloat (e->data_min, <=, e->x);
      g_assert_cmpfloat (e->data_max, >=, e->x);
    }
}

static void
test_value_matches_quant_run (void)
{
  g_autoptr(QsModel) model = load_sample ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  static const struct { guint bits; QsMapping mapping; QsGranularity gran; QsRangeMethod method; QsRounding rounding; } specs[] = {
    { 8, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_CHANNEL, QS_RANGE_MINMAX, QS_ROUNDING_NEAREST_EVEN },
    { 4, QS_MAPPING_AFFINE, QS_GRANULARITY_TENSOR, QS_RANGE_MSE, QS_ROUNDING_NEAREST_EVEN },
    { 3, QS_MAPPING_SYMMETRIC, QS_GRANULARITY_TENSOR, QS_RANGE_PERCENTILE, QS_ROUNDING_STOCHASTIC },
    { 6, QS_MAPPING_AFFINE, QS_GRANULARITY_CHANNEL, QS_RANGE_KL, QS_ROUNDING_NEAREST_AWAY },
  };
  guint checked = 0;

  for (guint l = 0; l < qs_model_get_n_layers (model); l++)
    {
      const QsLayer *layer = qs_model_get_layer (model, l);
      QsTensor *kernel = qs_layer_get_kernel (layer);

      if (kernel == NULL)
        continue;
      for (guint s = 0; s < G_N_ELEMENTS (specs); s++)
        {
          QsQuantSpec spec;
          QsQuantOptions opts = { .want_codes = TRUE, .want_dequant = TRUE };
          g_autoptr(QsQuantResult) r = NULL;
          g_autoptr(GError) error = NULL;

          qs_quant_spec_init (&spec);
          spec.bits = specs[s].bits;
          spec.mapping = specs[s].mapping;
          spec.narrow_range = spec.mapping == QS_MAPPING_SYMMETRIC;
          spec.granularity = specs[s].gran;
          spec.range_method = specs[s].method;
          spec.range_param = 99.9;
          spec.rounding = specs[s].rounding;
          spec.seed = 7;
          r = qs_quant_run (kernel, &spec, &opts, NULL, &error);
          g_assert_no_error (error);
          check_result (r, rand, 24);
          checked++;
        }
    }
  g_assert_cmpuint (checked, >=, 8);
}

static void
test_value_text_and_errors (void)
{
  g_autoptr(QsModel) model = load_sample ();
  QsTensor *kernel = NULL;
  QsQuantSpec spec;
  QsQuantOptions opts = { .want_codes = TRUE, .want_dequant = TRUE };
  g_autoptr(QsQuantResult) r = NULL, rf = NULL;
  g_autoptr(QsExplainValue) e = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL, *want = NULL;
  gsize extreme;

  for (guint l = 0; kernel == NULL && l < qs_model_get_n_layers (model); l++)
    kernel = qs_layer_get_kernel (qs_model_get_layer (model, l));
  qs_quant_spec_init (&spec);
  spec.bits = 2;   /* coarse: a visible error */
  spec.range_method = QS_RANGE_PERCENTILE;
  spec.range_param = 50.0;
  spec.granularity = QS_GRANULARITY_TENSOR;
  r = qs_quant_run (kernel, &spec, &opts, NULL, &error);
  g_assert_no_error (error);

  /* the extreme value of a median (50th-percentile) range is clipped, and the text says so */
  extreme = qs_explain_find_channel_extreme (r, 0);
  e = qs_explain_value_new (r, extreme, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->clip_side, !=, 0);
  g_assert_cmpfloat (e->clipped_by, >, 0.0);
  text = qs_explain_lines_to_text (e->lines);
  want = g_strdup_printf ("%d", e->q);
  g_assert_nonnull (strstr (text, "clamp (round (x / S) + Z, qmin, qmax)"));
  g_assert_nonnull (strstr (text, "Clipped"));

  /* nearest to a value finds an element with that value */
  g_assert_cmpfloat (kernel->data[qs_explain_find_nearest (r, -1, kernel->data[5])], ==, kernel->data[5]);

  /* errors: index out of range, float formats */
  g_clear_pointer (&e, qs_explain_value_free);
  e = qs_explain_value_new (r, kernel->n_elements, &error);
  g_assert_null (e);
  g_assert_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_INDEX);
  g_clear_error (&error);
  qs_quant_spec_init_float (&spec, QS_FORMAT_FP16);
  rf = qs_quant_run (kernel, &spec, &opts, NULL, &error);
  g_assert_no_error (error);
  e = qs_explain_value_new (rf, 0, &error);
  g_assert_null (e);
  g_assert_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_UNSUPPORTED);
}

/* One output code of every integer layer, on one image, equals what the engine wrote;
 * the steps are the fixed-point helpers'. */
static void
test_requant_matches_engine (void)
{
  g_autoptr(QsModel) model = load_sample ();
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL;
  guint n_layers_checked = 0, n_nonzero = 0;

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  calib = qs_calibration_cache_get (NULL, model, "sample-train", 16, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  lowering = qs_lowering_new (model, config, &error);
  g_assert_no_error (error);
  ranges = qs_calibration_make_ranges (calib, lowering, &error);
  g_assert_no_error (error);
  x = g_new (float, 784);
  g_assert_true (qs_dataset_fill_inputs (dataset, model, 3, 1, x, &error));

  for (guint l = 0; l < qs_model_get_n_layers (model); l++)
    {
      gsize n_out = qs_explain_requant_n_outputs (lowering, l);

      if (n_out == 0)
        continue;
      for (guint s = 0; s < 6; s++)
        {
          gsize idx = s == 0 ? 0 : s == 1 ? n_out - 1 : (n_out * s * 7919u / 6) % n_out;
          g_autoptr(QsExplainRequant) e = qs_explain_requant_new (lowering, ranges, x, l, idx, &error);
          gint32 m0;
          gint shift;

          g_assert_no_error (error);
          g_assert_true (e->has_engine_code);
          g_assert_cmpint (e->code, ==, e->engine_code);
          qs_quantize_multiplier ((double) e->s_in * e->s_w / e->s_out, &m0, &shift);
          g_assert_cmpint (e->m0, ==, m0);
          g_assert_cmpint (e->shift, ==, shift);
          g_assert_cmpint (e->scaled, ==, qs_multiply_by_quantized_multiplier (e->acc, m0, shift));
          g_assert_cmpint (e->code, >=, e->out_min);
          g_assert_cmpint (e->code, <=, e->out_max);
          n_nonzero += e->acc != 0;
        }
      n_layers_checked++;
    }
  g_assert_cmpuint (n_layers_checked, >=, 3);
  g_assert_cmpuint (n_nonzero, >, 0);

  /* A config in another requantization mode: the steps shown are still gemmlowp's, the
   * engine they are compared with too, and the explanation says so. */
  {
    g_autoptr(QsConfig) rne = qs_config_copy (config);
    g_autoptr(QsLowering) rne_lowering = NULL;
    g_autoptr(QsExplainRequant) e = NULL;
    gboolean said = FALSE;

    qs_config_set_requant_mode (rne, QS_REQUANT_FP32_RNE);
    rne_lowering = qs_lowering_new (model, rne, &error);
    g_assert_no_error (error);
    for (guint l = 0; l < qs_model_get_n_layers (model) && e == NULL; l++)
      if (qs_explain_requant_n_outputs (rne_lowering, l) > 0)
        e = qs_explain_requant_new (rne_lowering, ranges, x, l, 0, &error);
    g_assert_no_error (error);
    g_assert_nonnull (e);
    g_assert_cmpint (e->config_mode, ==, QS_REQUANT_FP32_RNE);
    g_assert_cmpint (e->code, ==, e->engine_code);
    for (guint i = 0; i < e->lines->len; i++)
      said |= strstr (((QsExplainLine *) g_ptr_array_index (e->lines, i))->formula
                      ? ((QsExplainLine *) g_ptr_array_index (e->lines, i))->formula : "", "fp32-rne") != NULL;
    g_assert_true (said);
  }

  /* a float layer is refused with a reason */
  {
    g_autoptr(QsExplainRequant) e = qs_explain_requant_new (lowering, ranges, x, 0, 0, &error);
    g_assert_null (e);
    g_assert_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_UNSUPPORTED);
  }
}

/* The requantization of a hand-made accumulator, step by step (TFLite's double rounding). */
static void
test_requant_steps (void)
{
  QsExplainRequant e = { 0 };

  e.acc = 12345;
  e.s_in = 0.02f;
  e.s_w = 0.004f;
  e.s_out = 0.05f;
  e.out_zp = 10;
  e.out_min = 0;
  e.out_max = 255;
  qs_explain_requant_compute (&e);
  /* M = 0.0016 = 0.8192 * 2^-9 */
  g_assert_cmpint (e.shift, ==, -9);
  g_assert_cmpfloat (fabs ((double) e.m0 * ldexp (1.0, e.shift - 31) - e.m_real), <=, e.m_real * 1e-9);
  g_assert_cmpint (e.code, ==, 30);
  g_assert_cmpint (e.code, ==, 10 + (gint32) lround (12345 * (double) e.m_real));
  g_assert_cmpfloat (fabs (e.real - e.exact), <=, e.s_out / 2.0 + 1e-6);
  g_clear_pointer (&e.lines, g_ptr_array_unref);

  e.acc = 1000000;    /* clamps */
  qs_explain_requant_compute (&e);
  g_assert_cmpint (e.unclamped, >, 255);
  g_assert_cmpint (e.code, ==, 255);
  g_clear_pointer (&e.lines, g_ptr_array_unref);
}

/* The playground's optimum is the clip qs_quant_run () picks with the MSE range method, and
 * the measured curve has its minimum there. */
static void
test_playground_optimum (void)
{
  for (guint d = 0; d < QS_PLAYGROUND_N_DISTRIBUTIONS; d++)
    for (guint bits = 3; bits <= 6; bits += 3)
      for (guint sz = 0; sz < 2; sz++)
        {
          gsize n = sz == 0 ? 768 : 8192;   /* exact search and histogram search */
          g_autoptr(GError) error = NULL;
          g_autoptr(QsTensor) t = qs_playground_make_tensor (d, n, 8, 4.0, 42 + d, &error);
          g_autoptr(QsPlayground) pg = NULL;
          g_autoptr(QsQuantResult) r = NULL;
          QsQuantSpec spec;
          double best = INFINITY, best_t = 0.0;

          g_assert_no_error (error);
          qs_quant_spec_init (&spec);
          spec.bits = bits;
          pg = qs_playground_new (t, &spec, 0.0, 200, 64, NULL, &error);
          g_assert_no_error (error);

          spec.granularity = QS_GRANULARITY_TENSOR;
          spec.range_method = QS_RANGE_MSE;
          r = qs_quant_run (t, &spec, NULL, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpfloat ((float) pg->optimum, ==, r->params->clip_hi[0]);
          g_assert_cmpfloat (pg->optimum_mse, ==, r->stats.mse);

          for (guint i = 0; i < pg->n_points; i++)
            if (pg->curve_mse[i] < best)
              best = pg->curve_mse[i], best_t = pg->threshold[i];
          /* the method's clip is as good as the best of 200 measured clips (within 3 %:
           * the histogram search estimates) and close to it */
          g_assert_cmpfloat (pg->optimum_mse, <=, best * 1.03);
          g_assert_cmpfloat (fabs (best_t - pg->optimum), <=, 0.15 * pg->max_threshold);

          /* the split adds up; per channel beats per tensor on channels of 4x different range */
          g_assert_cmpfloat (fabs (pg->per_tensor.rounding_mse + pg->per_tensor.clipping_mse - pg->per_tensor.mse), <=, 1e-12);
          g_assert_cmpfloat (fabs (pg->per_tensor.mse - pg->per_tensor.result->stats.mse), <=, 1e-6 * pg->per_tensor.mse + 1e-15);
          g_assert_cmpfloat (pg->per_channel.mse, <, pg->per_tensor.mse);
          g_assert_cmpuint (pg->per_tensor.n_clipped, ==, pg->per_tensor.result->stats.n_clipped);
        }
}

/* A manual clip: clipping error appears below the data's range, not above it. */
static void
test_playground_manual_clip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTensor) t = qs_playground_make_tensor (QS_PLAYGROUND_OUTLIERS, 4096, 4, 2.0, 1, &error);
  g_autoptr(QsPlayground) full = NULL, tight = NULL;
  QsQuantSpec spec;

  g_assert_no_error (error);
  qs_quant_spec_init (&spec);
  spec.bits = 4;
  full = qs_playground_new (t, &spec, 1e9, 16, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (full->per_tensor.clipping_mse, ==, 0.0);
  g_assert_cmpfloat (full->per_channel.clipping_mse, ==, 0.0);
  tight = qs_playground_new (t, &spec, full->max_threshold / 4, 16, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (tight->per_tensor.clipping_mse, >, 0.0);
  g_assert_cmpfloat (tight->per_tensor.rounding_mse, <, full->per_tensor.rounding_mse);
  g_assert_cmpfloat (fabs (tight->used_threshold - full->max_threshold / 4), <=, 1e-6 * full->max_threshold);

  /* bad input: a clear error */
  g_assert_null (qs_playground_make_tensor (QS_PLAYGROUND_NORMAL, 3, 4, 1.0, 1, &error));
  g_assert_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/explain/value-matches-quant-run", test_value_matches_quant_run);
  g_test_add_func ("/qs/explain/value-text-and-errors", test_value_text_and_errors);
  g_test_add_func ("/qs/explain/requant-matches-engine", test_requant_matches_engine);
  g_test_add_func ("/qs/explain/requant-steps", test_requant_steps);
  g_test_add_func ("/qs/playground/optimum-is-mse-method", test_playground_optimum);
  g_test_add_func ("/qs/playground/manual-clip", test_playground_manual_clip);
  return g_test_run ();
}
