/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "quantscope-core.h"

/* The activation view's numbers (QsActStats from the calibration) against the raw
 * activations of the sample CNN, collected here with the float engine. */

#define N_IMAGES 40

typedef struct
{
  GHashTable *outputs;   /* layer name -> GArray of float */
} Collect;

static void
collect_layer (const QsLayer *layer,
               const float   *output,
               gsize          batch,
               gsize          per_image,
               gpointer       user_data)
{
  Collect *c = user_data;
  GArray *a;

  /* The model input (8-bit images) sits on a grid a histogram does not see: its values
   * look uniform inside a bin, so the error estimate of a range that puts the levels on
   * that grid is far too high. The view is for layer outputs. */
  if (layer->kind == QS_LAYER_INPUT)
    return;
  a = g_array_sized_new (FALSE, FALSE, sizeof (float), batch * per_image);
  g_array_append_vals (a, output, batch * per_image);
  g_hash_table_replace (c->outputs, g_strdup (layer->name), a);
}

/* The fake quantization written out again from the container parameters. */
static double
fake_quant (const QsLoweredParams *p,
            double                 x)
{
  double q = nearbyint (x / p->scale) + p->zero_point;

  q = CLAMP (q, p->qmin, p->qmax);
  return p->scale * (q - p->zero_point);
}

/* The count of the calibration bins holding x: how far a histogram fraction may be off at
 * a clip point. */
static guint64
bin_count_at (const QsHistogram *h,
              double             x)
{
  double w = (h->hi - h->lo) / h->n_bins;
  gint64 k = (gint64) floor ((x - h->lo) / w);

  if (k < 0 || k >= (gint64) h->n_bins)
    return 0;
  return h->counts[k];
}

static void
test_act_stats_sample_cnn (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-cnn.h5", NULL);
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineFloat) engine = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree float *inputs = NULL, *outputs = NULL;
  Collect c;
  GHashTableIter iter;
  gpointer key, value;
  gsize in_size = 1, shape[QS_TENSOR_MAX_DIMS];
  guint rank, n_compared = 0, n_clipping = 0;

  if (path == NULL)
    {
      g_test_skip ("the sample model is not available");
      return;
    }
  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  dataset = qs_dataset_open ("sample-train", &error);
  g_assert_no_error (error);
  rank = qs_model_get_input_shape (model, shape);
  for (guint i = 0; i < rank; i++)
    in_size *= shape[i];
  inputs = g_new (float, N_IMAGES * in_size);
  g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, N_IMAGES, inputs, &error));
  calib = qs_calibration_new (model, inputs, N_IMAGES, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  c.outputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  engine = qs_engine_float_new (model, &error);
  g_assert_no_error (error);
  outputs = g_new (float, N_IMAGES * qs_model_get_n_classes (model));
  g_assert_true (qs_engine_float_run (engine, inputs, N_IMAGES, outputs, 1, collect_layer, &c, NULL, &error));
  g_assert_no_error (error);

  g_hash_table_iter_init (&iter, c.outputs);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *name = key;
      GArray *raw = value;
      const float *x = (const float *) raw->data;
      g_autoptr(QsActStats) stats = qs_calibration_get_activations (calib, name, NULL);
      const QsHistogram *h;
      double raw_min = INFINITY, raw_max = -INFINITY;
      QsLayerConfig lc;

      /* the float engine's output of a layer the program does not name (folded, fused) */
      if (stats == NULL || stats->n_values != raw->len)
        continue;
      for (guint i = 0; i < raw->len; i++)
        {
          raw_min = MIN (raw_min, x[i]);
          raw_max = MAX (raw_max, x[i]);
        }
      /* the same tensor: the same extent (float sums in another order) */
      g_assert_cmpfloat_with_epsilon (stats->min, raw_min, 1e-4 * MAX (1.0, fabs (raw_min)));
      g_assert_cmpfloat_with_epsilon (stats->max, raw_max, 1e-4 * MAX (1.0, fabs (raw_max)));

      /* the histogram counts every activation seen */
      h = stats->hist;
      g_assert_cmpuint (h->total + h->underflow + h->overflow, ==, stats->n_values);
      g_assert_cmpuint (stats->n_values, ==, (guint64) N_IMAGES * (raw->len / N_IMAGES));
      {
        guint64 sum = 0;

        for (guint k = 0; k < h->n_bins; k++)
          sum += h->counts[k];
        g_assert_cmpuint (sum, ==, h->total);
      }
      n_compared++;

      qs_config_get_layer (config, name, &lc);
      for (guint bits = 4; bits <= 8; bits += 4)
        for (guint m = QS_RANGE_MINMAX; m <= QS_RANGE_KL; m++)
          {
            QsQuantSpec spec = lc.activation;
            QsActRangeStats r;
            float lo, hi, clo, chi;
            double sig = 0, err = 0, exact_sqnr, tol;
            guint64 clipped = 0;

            spec.bits = bits;
            spec.range_method = m;
            spec.range_param = m == QS_RANGE_PERCENTILE ? 99.9 : 0;
            {
              /* what the layer page does on the main thread per change (reported, not
               * asserted: speed belongs to the benchmarks) */
              gint64 t0 = g_get_monotonic_time ();

              g_assert_true (qs_act_stats_choose_range (stats, &spec, &lo, &hi, &error));
              g_assert_true (qs_act_stats_measure (stats, &spec, lo, hi, &r, &error));
              if (g_test_verbose ())
                g_test_message ("%s %u bits method %u: range and measure in %" G_GINT64_FORMAT " µs",
                                name, bits, m, g_get_monotonic_time () - t0);
            }
            g_assert_no_error (error);
            /* the range the calibration itself picks */
            g_assert_true (qs_calibration_get_range (calib, name, &spec, &clo, &chi, &error));
            g_assert_cmpfloat (lo, ==, clo);
            g_assert_cmpfloat (hi, ==, chi);

            g_assert_true (qs_act_stats_measure (stats, &spec, lo, hi, &r, &error));
            g_assert_no_error (error);
            for (guint i = 0; i < raw->len; i++)
              {
                double d = x[i] - fake_quant (&r.params, x[i]);

                sig += (double) x[i] * x[i];
                err += d * d;
                clipped += x[i] < r.clip_lo || x[i] > r.clip_hi;
              }
            g_assert_cmpfloat_with_epsilon (r.signal_power, sig / raw->len, 1e-6 * sig / raw->len);
            /* the clipped fraction, to within the bins a clip point falls in */
            tol = (double) (bin_count_at (h, r.clip_lo) + bin_count_at (h, r.clip_hi) + 1) / raw->len;
            g_assert_cmpfloat_with_epsilon (r.clipped_fraction, (double) clipped / raw->len, tol);
            n_clipping += clipped > 0;
            /* the SQNR: values uniform inside 2048 bins against the real ones */
            exact_sqnr = 10.0 * log10 (sig / err);
            if (g_test_verbose ())
              g_test_message ("%s %u bits method %u: range [%g, %g] clipped %.5f (exact %.5f) "
                              "SQNR %.3f dB (exact %.3f)", name, bits, m, r.clip_lo, r.clip_hi,
                              r.clipped_fraction, (double) clipped / raw->len, r.sqnr_db, exact_sqnr);
            /* within 0.15 dB (0.103 dB at most on the sample CNN: int8 steps span only ~8
             * bins there); a softmax's probabilities pile up just above 0 and below 1, far
             * from uniform inside their bins: 1 dB there (0.91 dB on the sample CNN at 8
             * bits, whose probabilities are mostly within 1e-3 of 0 or 1) */
            g_assert_cmpfloat_with_epsilon (r.sqnr_db, exact_sqnr,
                                            qs_model_find_layer (model, name)->activation == QS_ACTIVATION_SOFTMAX
                                            ? 1.0 : 0.15);
          }
    }
  g_assert_cmpuint (n_compared, >=, 3);
  /* percentile, MSE and KL clip something somewhere: the fraction was not trivially 0 */
  g_assert_cmpuint (n_clipping, >, 0);
  g_hash_table_unref (c.outputs);
}

/* Fake quantization and the closed-form error on a population we know exactly: values
 * spread evenly over [0, 1] with a spike of zeros. */
static void
test_act_stats_uniform (void)
{
  g_autoptr(QsHistogram) h = qs_histogram_new (QS_CALIB_HIST_BINS, 0.0, 1.0);
  g_autoptr(QsActStats) stats = NULL;
  g_autoptr(GError) error = NULL;
  QsQuantSpec spec = { 0 };
  const guint n = 1 << 20, zeros = 1 << 18;
  g_autofree float *x = g_new (float, n + zeros);
  double sum_sq = 0, err = 0;
  QsActRangeStats r;

  for (guint i = 0; i < n; i++)
    {
      x[i] = (i + 0.5f) / n;
      sum_sq += (double) x[i] * x[i];
    }
  for (guint i = 0; i < zeros; i++)
    x[n + i] = 0.0f;
  qs_histogram_add (h, x, n + zeros);
  stats = qs_act_stats_new ("u", h, 0.0f, 1.0f, n + zeros, zeros, 0, sum_sq);

  spec.format = QS_FORMAT_INT;
  spec.bits = 8;
  spec.mapping = QS_MAPPING_AFFINE;
  spec.granularity = QS_GRANULARITY_TENSOR;
  /* clip at 0.5: half of the non-zero values */
  g_assert_true (qs_act_stats_measure (stats, &spec, 0.0f, 0.5f, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (r.clip_lo, ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (r.clip_hi, 0.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (r.clipped_fraction, 0.5 * n / (n + zeros), 1e-4);
  for (guint i = 0; i < n + zeros; i++)
    {
      double d = x[i] - qs_act_fake_quant (&r.params, x[i]);

      err += d * d;
    }
  g_assert_cmpfloat_with_epsilon (r.mse, err / (n + zeros), 1e-3 * err / (n + zeros));
}

/* Chosen ranges are remembered per spec (the app chooses MSE / KL in a worker and then
 * asks again on the main thread): the remembered answer is the histogram's choice, a
 * different spec is not known, and an error is remembered as an error. */
static void
test_act_stats_range_memo (void)
{
  g_autoptr(QsHistogram) h = qs_histogram_new (QS_CALIB_HIST_BINS, -1.0, 3.0);
  g_autoptr(QsHistogram) empty = qs_histogram_new (16, 0.0, 1.0);
  g_autoptr(QsActStats) stats = NULL, none = NULL;
  QsQuantSpec spec = { 0 }, other;
  float x[4096], lo, hi, lo2, hi2, rlo, rhi;

  for (guint i = 0; i < G_N_ELEMENTS (x); i++)
    x[i] = (float) (i % 97) / 32.0f - 1.0f + (i % 7 == 0 ? 1.5f : 0.0f);
  qs_histogram_add (h, x, G_N_ELEMENTS (x));
  stats = qs_act_stats_new ("v", h, -1.0f, 3.0f, G_N_ELEMENTS (x), 0, 0, 1.0);
  qs_quant_spec_init (&spec);
  spec.bits = 4;
  spec.mapping = QS_MAPPING_AFFINE;
  spec.granularity = QS_GRANULARITY_TENSOR;
  spec.range_method = QS_RANGE_MSE;

  g_assert_false (qs_act_stats_range_is_known (stats, &spec));
  rlo = -1.0f;
  rhi = 3.0f;
  g_assert_true (qs_range_choose (h, &spec, &rlo, &rhi, NULL));
  g_assert_true (qs_act_stats_choose_range (stats, &spec, &lo, &hi, NULL));
  g_assert_cmpfloat (lo, ==, rlo);
  g_assert_cmpfloat (hi, ==, rhi);
  g_assert_cmpfloat (hi, <, 3.0f);     /* MSE clipped something: not the min-max answer */
  g_assert_true (qs_act_stats_range_is_known (stats, &spec));
  g_assert_true (qs_act_stats_choose_range (stats, &spec, &lo2, &hi2, NULL));
  g_assert_cmpfloat (lo2, ==, lo);
  g_assert_cmpfloat (hi2, ==, hi);

  other = spec;
  other.bits = 3;
  g_assert_false (qs_act_stats_range_is_known (stats, &other));
  other = spec;
  other.range_method = QS_RANGE_MINMAX;
  g_assert_true (qs_act_stats_range_is_known (stats, &other));

  /* nothing counted: the error comes back the second time too */
  none = qs_act_stats_new ("n", empty, 0.0f, 1.0f, 0, 0, 0, 0.0);
  for (int i = 0; i < 2; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (qs_act_stats_choose_range (none, &spec, &lo, &hi, &error));
      g_assert_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_EMPTY);
      g_assert_true (qs_act_stats_range_is_known (none, &spec));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/act-stats/sample-cnn-vs-raw", test_act_stats_sample_cnn);
  g_test_add_func ("/qs/act-stats/uniform-closed-form", test_act_stats_uniform);
  g_test_add_func ("/qs/act-stats/range-memo", test_act_stats_range_memo);
  return g_test_run ();
}
