/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "quantscope-core.h"

static void
test_formats (void)
{
  QsQuantSpec spec;
  g_autoptr(GError) error = NULL;

  g_assert_true (qs_analysis_parse_format ("int4", &spec, NULL));
  g_assert_cmpint (spec.format, ==, QS_FORMAT_INT);
  g_assert_cmpuint (spec.bits, ==, 4);
  g_assert_cmpint (spec.granularity, ==, QS_GRANULARITY_CHANNEL);
  g_assert_true (qs_analysis_parse_format ("int8-tensor", &spec, NULL));
  g_assert_cmpint (spec.granularity, ==, QS_GRANULARITY_TENSOR);
  g_assert_true (qs_analysis_parse_format ("bf16", &spec, NULL));
  g_assert_cmpint (spec.format, ==, QS_FORMAT_BF16);
  g_assert_true (qs_analysis_parse_format ("fp8", &spec, NULL));
  g_assert_cmpint (spec.format, ==, QS_FORMAT_FP8_E4M3);
  for (guint i = 0; i < 4; i++)
    {
      const char *bad[] = { "int9", "int1", "int4x", "float" };

      g_assert_false (qs_analysis_parse_format (bad[i], &spec, &error));
      g_assert_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_clear_error (&error);
    }
}

/* A hand-made sensitivity table: the dynamic programme's front must be exactly the Pareto
 * front found by trying every combination. */
static QsSensitivity *
synthetic (guint    n_layers,
           guint    n_formats,
           guint32  seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  QsSensitivity *s = g_new0 (QsSensitivity, 1);
  const char *names[] = { "a", "b", "c", "d", "e", "f" };

  s->ref_count = 1;
  s->n_layers = n_layers;
  s->labelled = TRUE;
  s->layers = g_new0 (QsSensitivityLayer, n_layers);
  for (guint l = 0; l < n_layers; l++)
    {
      QsSensitivityLayer *sl = &s->layers[l];

      sl->layer = g_strdup_printf ("layer%u", l);
      sl->n_formats = n_formats;
      sl->formats = g_new0 (char *, n_formats + 1);
      sl->drop = g_new (double, n_formats);
      sl->bytes = g_new (guint64, n_formats);
      sl->sqnr_db = g_new0 (double, n_formats);
      for (guint f = 0; f < n_formats; f++)
        {
          sl->formats[f] = g_strdup (names[f]);
          /* fewer bytes, more drop, in tenths of a point (exact in binary sums: compared
           * with a tolerance anyway) */
          sl->bytes[f] = 50 + (n_formats - f) * (guint64) g_rand_int_range (rand, 20, 200);
          sl->drop[f] = f * 0.1 * g_rand_int_range (rand, 1, 40);
        }
    }
  return s;
}

static void
test_front_exact (void)
{
  for (guint32 seed = 1; seed <= 5; seed++)
    {
      guint L = 4, F = 4, n_combos = 256;
      g_autoptr(QsSensitivity) s = synthetic (L, F, seed);
      g_autoptr(QsFront) front = qs_front_build (s, 0);
      g_autoptr(GArray) pareto = g_array_new (FALSE, FALSE, sizeof (double) * 2);

      /* brute force: every combination, then the points no cheaper-or-equal one beats */
      for (guint c = 0; c < n_combos; c++)
        {
          double pt[2] = { 0, 0 };
          gboolean dominated = FALSE;

          for (guint l = 0, k = c; l < L; l++, k /= F)
            {
              pt[0] += s->layers[l].bytes[k % F];
              pt[1] += s->layers[l].drop[k % F];
            }
          for (guint d = 0; d < n_combos && !dominated; d++)
            {
              double q[2] = { 0, 0 };

              for (guint l = 0, k = d; l < L; l++, k /= F)
                {
                  q[0] += s->layers[l].bytes[k % F];
                  q[1] += s->layers[l].drop[k % F];
                }
              dominated = (q[0] <= pt[0] && q[1] < pt[1] - 1e-9)
                          || (q[0] < pt[0] && q[1] <= pt[1] + 1e-9);
            }
          if (!dominated)
            {
              gboolean seen = FALSE;

              for (guint i = 0; i < pareto->len; i++)
                seen |= ((double *) pareto->data)[2 * i] == pt[0];
              if (!seen)
                g_array_append_vals (pareto, pt, 1);
            }
        }
      g_assert_cmpuint (front->n_points, ==, pareto->len);
      for (guint i = 0; i < front->n_points; i++)
        {
          const QsFrontPoint *p = &front->points[i];
          gboolean found = FALSE;
          double bytes = 0, drop = 0;

          for (guint j = 0; j < pareto->len; j++)
            found |= ((double *) pareto->data)[2 * j] == (double) p->weight_bytes
                     && fabs (((double *) pareto->data)[2 * j + 1] - p->predicted_drop) < 1e-9;
          g_assert_true (found);
          /* the choice adds up to the point */
          for (guint l = 0; l < L; l++)
            for (guint f = 0; f < F; f++)
              if (strcmp (p->choice[l], s->layers[l].formats[f]) == 0)
                {
                  bytes += s->layers[l].bytes[f];
                  drop += s->layers[l].drop[f];
                }
          g_assert_cmpfloat (bytes, ==, (double) p->weight_bytes);
          g_assert_cmpfloat_with_epsilon (drop, p->predicted_drop, 1e-9);
          if (i > 0)
            {
              g_assert_cmpuint (p->weight_bytes, >, front->points[i - 1].weight_bytes);
              g_assert_cmpfloat (p->predicted_drop, <, front->points[i - 1].predicted_drop);
            }
        }
    }
}

static void
test_choose (void)
{
  g_autoptr(QsSensitivity) s = synthetic (3, 3, 7);
  g_autoptr(QsFront) front = qs_front_build (s, 0);
  g_autoptr(GError) error = NULL;
  const QsFrontPoint *p;

  p = qs_front_choose (front, front->points[front->n_points - 1].weight_bytes, -1.0, &error);
  g_assert_no_error (error);
  g_assert_true (p == &front->points[front->n_points - 1]);
  p = qs_front_choose (front, 0, front->points[1].predicted_drop, &error);
  g_assert_true (p == &front->points[1]);
  g_assert_null (qs_front_choose (front, front->points[0].weight_bytes - 1, -1.0, &error));
  g_assert_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE);
}

/* On the sample CNN: int8 weights in any one layer cost at most a point, int2 in the
 * large Dense layer costs many; the bytes are the lowering's storage; every front point is
 * measured, and the config of a point is what the evaluation measured. */
static void
test_sample (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-cnn.h5", NULL);
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsSensitivity) s = NULL;
  g_autoptr(QsFront) front = NULL;
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  g_autoptr(GError) error = NULL;
  const char *formats[] = { "int8", "int4", "int2", NULL };
  QsAnalysisOptions opts = { .n_images = 300, .n_threads = 2, .cache = cache };

  g_assert_nonnull (path);
  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  s = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (s->labelled);
  g_assert_cmpuint (s->n_layers, ==, 4);
  for (guint i = 0; i < s->n_layers; i++)
    {
      const QsSensitivityLayer *l = &s->layers[i];
      QsTensor *kernel = qs_layer_get_kernel (qs_model_find_layer (model, l->layer));
      gsize n_out = kernel->shape[kernel->n_dims - 1];

      g_assert_cmpfloat (fabs (l->drop[0]), <=, 1.0);
      /* int8 per channel: a byte a weight and a 32-bit scale per output channel */
      g_assert_cmpuint (l->bytes[0], ==, kernel->n_elements + 4 * n_out);
      g_assert_cmpuint (l->bytes[2], <, l->bytes[1]);
      g_assert_cmpfloat (l->sqnr_db[0], >, l->sqnr_db[2]);
    }
  g_assert_cmpfloat (s->layers[2].drop[2], >, 5.0);   /* fc1 at int2 */

  front = qs_front_build (s, 8);
  g_assert_cmpuint (front->n_points, >=, 2);
  g_assert_true (qs_front_verify (front, model, dataset, s, &opts, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < front->n_points; i++)
    {
      g_autoptr(QsConfig) config = qs_front_point_to_config (front, &front->points[i]);
      QsEvalOptions eo = { .limit = 300, .n_threads = 2 };
      g_autoptr(QsEvalResult) r = qs_eval_run (model, config, dataset, &eo, NULL, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_true (isfinite (front->points[i].measured_drop));
      g_assert_cmpfloat_with_epsilon (front->points[i].measured_top1, r->quant_top1, 1e-12);
    }

  /* the bit-operations axis: the layers' MACs are the cost model's, every point's
   * bit-operations are its formats' bits times them, and a bit-operations budget picks a
   * point within it */
  {
    g_autoptr(QsConfig) fp32 = qs_config_new_from_preset ("fp32", NULL);
    g_autoptr(QsFront) fb = qs_front_build_full (s, QS_FRONT_COST_BITOPS, 8, 0);
    guint64 macs = 0, budget;
    const QsFrontPoint *p;
    QsCost cost;

    qs_cost_compute (model, fp32, &cost);
    for (guint i = 0; i < s->n_layers; i++)
      macs += s->layers[i].macs;
    g_assert_cmpuint (macs, ==, cost.macs);
    g_assert_cmpuint (fb->n_points, >=, 2);
    for (guint i = 0; i < fb->n_points; i++)
      {
        guint64 ops = 0;

        for (guint l = 0; l < fb->n_layers; l++)
          {
            QsQuantSpec spec;

            g_assert_true (qs_analysis_parse_format (fb->points[i].choice[l], &spec, NULL));
            ops += s->layers[l].macs * spec.bits * 8;
          }
        g_assert_cmpuint (fb->points[i].bit_ops, ==, ops);
      }
    budget = fb->points[fb->n_points / 2].bit_ops;
    p = qs_front_choose_full (fb, 0, budget, -1.0, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (p->bit_ops, <=, budget);
    g_assert_null (qs_front_choose_full (fb, 0, 1, -1.0, &error));
    g_assert_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE);
  }
}

/* Sensitivities do not add up on the MLP (fc2 at int2 alone costs nothing, with the
 * others at int4 it does): refinement upgrades layers by measurement until the limit is
 * met, and the point it adds is measured. */
static void
test_refine (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-mlp.h5", NULL);
  g_autoptr(QsModel) model = qs_model_load (path, NULL, NULL, NULL);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsSensitivity) s = NULL;
  g_autoptr(QsFront) front = NULL;
  g_autoptr(GError) error = NULL;
  const char *formats[] = { "int8", "int4", "int2", NULL };
  QsAnalysisOptions opts = { .n_images = 200, .n_threads = 2 };
  const QsFrontPoint *p;
  double limit = 1.0;

  s = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  front = qs_front_build (s, 0);
  g_assert_true (qs_front_verify (front, model, dataset, s, &opts, NULL, &error));
  g_assert_true (qs_front_refine (front, model, dataset, s, limit, &opts, NULL, &error));
  g_assert_no_error (error);
  p = qs_front_choose (front, 0, limit, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  g_assert_cmpfloat (p->measured_drop, <=, limit);
  for (guint i = 1; i < front->n_points; i++)
    g_assert_cmpuint (front->points[i].weight_bytes, >=, front->points[i - 1].weight_bytes);
}

/* The reverse sensitivity: each row is exactly the config "every layer at the format but
 * this one" evaluated on its own, and the every-layer row is the all-quantized config. */
static void
test_reverse (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-cnn.h5", NULL);
  g_autoptr(QsModel) model = qs_model_load (path, NULL, NULL, NULL);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsSensitivity) s = NULL;
  g_autoptr(GError) error = NULL;
  const char *formats[] = { "int8", "int2", NULL };
  QsAnalysisOptions opts = { .n_images = 200, .n_threads = 2, .reverse = TRUE };
  QsEvalOptions eo = { .limit = 200, .n_threads = 2 };

  s = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (s->reverse);
  g_assert_nonnull (s->all_drop);
  for (guint f = 0; f < 2; f++)
    {
      g_autoptr(QsConfig) all = qs_config_new_from_preset ("fp32", NULL);
      g_autoptr(QsEvalResult) r = NULL;
      QsQuantSpec spec;

      g_assert_true (qs_analysis_parse_format (formats[f], &spec, NULL));
      for (guint i = 0; i < s->n_layers; i++)
        {
          QsLayerConfig lc;

          qs_config_get_layer (all, s->layers[i].layer, &lc);
          lc.weight = spec;
          lc.quantize_activations = FALSE;
          qs_config_set_layer (all, s->layers[i].layer, &lc);
        }
      r = qs_eval_run (model, all, dataset, &eo, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat_with_epsilon (s->all_drop[f], 100.0 * (r->float_top1 - r->quant_top1), 1e-9);
      /* one layer back in float: its row is that config's drop */
      {
        g_autoptr(QsConfig) but = qs_config_copy (all);
        g_autoptr(QsEvalResult) rb = NULL;
        QsLayerConfig lc;

        qs_config_get_layer (but, s->layers[2].layer, &lc);
        qs_quant_spec_init_float (&lc.weight, QS_FORMAT_FP32);
        qs_config_set_layer (but, s->layers[2].layer, &lc);
        rb = qs_eval_run (model, but, dataset, &eo, NULL, NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpfloat_with_epsilon (s->layers[2].drop[f], 100.0 * (rb->float_top1 - rb->quant_top1), 1e-9);
      }
    }
  /* int2 everywhere breaks the CNN; fc1 (most of the weights) back in float recovers much */
  g_assert_cmpfloat (s->all_drop[1], >, 10.0);
  g_assert_cmpfloat (s->layers[2].drop[1], <, s->all_drop[1]);
}

/* The energy estimate is the documented table applied to the cost model's counts. */
static void
test_energy (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-cnn.h5", NULL);
  g_autoptr(QsModel) model = qs_model_load (path, NULL, NULL, NULL);
  g_autoptr(QsConfig) w8a8 = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsConfig) fp32 = qs_config_new_from_preset ("fp32", NULL);
  const QsEnergyEntry *t = qs_energy_table ();
  QsCost c8, c32;

  g_assert_cmpstr (t[QS_ENERGY_DRAM_READ_32].name, ==, "dram-read-32");
  g_assert_cmpfloat (t[QS_ENERGY_DRAM_READ_32].picojoules, ==, 640.0);
  g_assert_cmpfloat (t[QS_ENERGY_INT8_ADD].picojoules, ==, 0.03);
  g_assert_cmpfloat (t[QS_ENERGY_FP32_MULT].picojoules, ==, 3.7);
  qs_cost_compute (model, w8a8, &c8);
  qs_cost_compute (model, fp32, &c32);
  g_assert_true (c8.has_program && c32.has_program);
  /* every MAC of w8a8 runs in integers: an 8 x 8-bit multiply and a 32-bit add */
  g_assert_cmpfloat_with_epsilon (c8.energy_compute_pj, c8.macs * (0.2 + 0.1), 1e-6 * c8.energy_compute_pj);
  g_assert_cmpfloat_with_epsilon (c32.energy_compute_pj, c32.macs * (3.7 + 0.9), 1e-6 * c32.energy_compute_pj);
  g_assert_cmpfloat (c8.energy_weights_pj, ==, (double) ((c8.weight_bytes + 3) / 4) * 640.0);
  g_assert_cmpfloat_with_epsilon (c8.energy_pj, c8.energy_compute_pj + c8.energy_weights_pj
                                  + c8.energy_activations_pj, 1e-9 * c8.energy_pj);
  g_assert_cmpfloat (c8.energy_activations_pj, >, 0.0);
  g_assert_cmpfloat (c8.energy_activations_pj, <, c32.energy_activations_pj);
  g_assert_cmpfloat (c8.energy_pj, <, c32.energy_pj / 3);
}

static char *
to_json (QsSensitivity *s)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  qs_sensitivity_build_json (s, b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* Sharding: the slices of a reverse sweep (the every-layer row is sharded too), merged in
 * any order, are the unsharded table exactly; merge refuses a missing slice, a duplicate and
 * a slice of another sweep; the JSON reads back to the same table. */
static void
test_shards (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-mlp.h5", NULL);
  g_autoptr(QsModel) model = qs_model_load (path, NULL, NULL, NULL);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  const char *formats[] = { "int8", "int3", "int2", NULL };
  const char *names[] = { "s2.json", "s0.json", "s1.json" };
  QsAnalysisOptions opts = { .n_images = 100, .cache = cache, .reverse = TRUE };
  g_autoptr(QsSensitivity) full = NULL, merged = NULL, other = NULL, back = NULL;
  QsSensitivity *shards[3];
  g_autoptr(GError) error = NULL;
  g_autofree char *full_json = NULL, *merged_json = NULL, *fp = NULL;

  g_assert_nonnull (model);
  full = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qs_sensitivity_is_complete (full));
  fp = qs_sensitivity_fingerprint (model, dataset, formats, &opts, &error);
  g_assert_cmpstr (fp, ==, full->fingerprint);
  for (guint k = 0; k < 3; k++)
    {
      opts.shard_index = (k + 2) % 3;   /* s2, s0, s1 */
      opts.shard_count = 3;
      shards[k] = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_false (qs_sensitivity_is_complete (shards[k]));
      g_assert_cmpstr (shards[k]->fingerprint, ==, full->fingerprint);
    }
  merged = qs_sensitivity_merge (shards, names, 3, &error);
  g_assert_no_error (error);
  full_json = to_json (full);
  merged_json = to_json (merged);
  g_assert_cmpstr (merged_json, ==, full_json);

  /* the JSON reads back to the same table (doubles round-trip) */
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autofree char *again = NULL;

    g_assert_true (json_parser_load_from_data (parser, full_json, -1, NULL));
    back = qs_sensitivity_load_json (json_parser_get_root (parser), "full.json", &error);
    g_assert_no_error (error);
    again = to_json (back);
    g_assert_cmpstr (again, ==, full_json);
  }

  g_assert_null (qs_sensitivity_merge (shards, names, 2, &error));
  g_assert_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "1/3"));
  g_clear_error (&error);
  {
    QsSensitivity *dup[3] = { shards[0], shards[1], shards[1] };

    g_assert_null (qs_sensitivity_merge (dup, names, 3, &error));
    g_assert_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH);
    g_assert_nonnull (strstr (error->message, "s0.json and s1.json"));
    g_clear_error (&error);
  }
  opts.n_images = 90;
  opts.shard_index = 1;
  other = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (other->fingerprint, !=, full->fingerprint);
  {
    QsSensitivity *mixed[3] = { shards[0], shards[1], other };

    g_assert_null (qs_sensitivity_merge (mixed, names, 3, &error));
    g_assert_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH);
    g_assert_nonnull (strstr (error->message, "s1.json belongs to another sweep"));
    g_clear_error (&error);
  }
  g_assert_null (qs_sensitivity_merge (&full, names, 1, &error));
  g_assert_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH);
  g_clear_error (&error);
  for (guint k = 0; k < 3; k++)
    qs_sensitivity_unref (shards[k]);
}

/* The disk cache: a second identical run takes every format from it and gives the same
 * table; another image count or the reverse sweep measures again; another format list
 * reuses the formats it shares. */
static void
test_cache (void)
{
  g_autofree char *path = qs_data_find_file ("models/fmnist-mlp.h5", NULL);
  g_autoptr(QsModel) model = qs_model_load (path, NULL, NULL, NULL);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autofree char *dir = g_dir_make_tmp ("qs-sens-XXXXXX", NULL);
  const char *formats[] = { "int8", "int2", NULL };
  const char *formats2[] = { "int2", "int4", NULL };
  QsAnalysisOptions opts = { .n_images = 100, .cache_dir = dir };
  g_autoptr(QsSensitivity) a = NULL, b = NULL, c = NULL, d = NULL, e = NULL;
  g_autofree char *ja = NULL, *jb = NULL;
  g_autoptr(GError) error = NULL;

  a = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a->n_cached, ==, 0);
  b = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (b->n_cached, ==, 2);
  ja = to_json (a);
  jb = to_json (b);
  g_assert_cmpstr (ja, ==, jb);
  opts.n_images = 80;
  c = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->n_cached, ==, 0);
  opts.n_images = 100;
  opts.reverse = TRUE;
  d = qs_sensitivity_run (model, dataset, formats, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (d->n_cached, ==, 0);
  opts.reverse = FALSE;
  e = qs_sensitivity_run (model, dataset, formats2, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (e->n_cached, ==, 1);
  for (guint i = 0; i < a->n_layers; i++)
    g_assert_true (e->layers[i].drop[0] == a->layers[i].drop[1]);   /* int2 */
  {
    g_autoptr(GDir) gd = g_dir_open (dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (gd)) != NULL)
      {
        g_autofree char *p = g_build_filename (dir, name, NULL);

        g_unlink (p);
      }
    g_rmdir (dir);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qs/analysis/formats", test_formats);
  g_test_add_func ("/qs/analysis/front-exact", test_front_exact);
  g_test_add_func ("/qs/analysis/choose", test_choose);
  g_test_add_func ("/qs/analysis/sample-cnn", test_sample);
  g_test_add_func ("/qs/analysis/refine-mlp", test_refine);
  g_test_add_func ("/qs/analysis/reverse", test_reverse);
  g_test_add_func ("/qs/analysis/energy-from-table", test_energy);
  g_test_add_func ("/qs/analysis/shards-merge-exactly", test_shards);
  g_test_add_func ("/qs/analysis/cache-reuse-and-invalidation", test_cache);
  return g_test_run ();
}
