/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-analysis.h"
#include "qs-lowering.h"

G_DEFINE_QUARK (qs-analysis-error-quark, qs_analysis_error)

/* The budget axis of the knapsack: kernel bytes are bucketed to at most this many steps
 * (rounded up, so a bucketed solution never exceeds its real budget by a bucket). */
#define BUDGET_BUCKETS 4096

static const char * const default_formats[] = { "int8", "int6", "int4", "int3", "int2", "fp16", NULL };

const char * const *
qs_analysis_default_formats (void)
{
  return default_formats;
}

gboolean
qs_analysis_parse_format (const char  *name,
                          QsQuantSpec *out,
                          GError     **error)
{
  guint bits = 0;
  gboolean tensor = FALSE;
  gboolean pow2 = FALSE;

  g_return_val_if_fail (name != NULL && out != NULL, FALSE);

  if (strcmp (name, "fp32") == 0 || strcmp (name, "fp16") == 0 || strcmp (name, "bf16") == 0
      || strcmp (name, "fp8") == 0)
    {
      qs_quant_spec_init_float (out, strcmp (name, "bf16") == 0 ? QS_FORMAT_BF16
                                     : strcmp (name, "fp32") == 0 ? QS_FORMAT_FP32
                                     : strcmp (name, "fp16") == 0 ? QS_FORMAT_FP16
                                     : QS_FORMAT_FP8_E4M3);
      return TRUE;
    }
  if (g_str_has_prefix (name, "int"))
    {
      char *end = NULL;

      bits = (guint) g_ascii_strtoull (name + 3, &end, 10);
      if (end != NULL && g_str_has_prefix (end, "-tensor"))
        {
          tensor = TRUE;
          end += strlen ("-tensor");
        }
      if (end != NULL && strcmp (end, "-pow2") == 0)
        {
          pow2 = TRUE;
          end += strlen ("-pow2");
        }
      if (end == NULL || *end != '\0')
        bits = 0;
    }
  if (bits < 2 || bits > 8)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID,
                   _("Unknown weight format “%s” (use int2 … int8, int8-tensor, int4-tensor, a “-pow2” suffix for power-of-two scales, fp16, bf16, fp8 or fp32)"),
                   name);
      return FALSE;
    }
  /* TFLite's weights: signed, symmetric, narrow range */
  qs_quant_spec_init (out);
  out->bits = bits;
  out->granularity = tensor ? QS_GRANULARITY_TENSOR : QS_GRANULARITY_CHANNEL;
  out->pow2_scale = pow2;   /* fixed-point hardware: scales rounded up to powers of two */
  return TRUE;
}

/* --- sensitivity --- */

QsSensitivity *
qs_sensitivity_ref (QsSensitivity *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_atomic_int_inc (&s->ref_count);
  return s;
}

void
qs_sensitivity_unref (QsSensitivity *s)
{
  g_return_if_fail (s != NULL);
  if (!g_atomic_int_dec_and_test (&s->ref_count))
    return;
  for (guint i = 0; i < s->n_layers; i++)
    {
      QsSensitivityLayer *l = &s->layers[i];

      g_free (l->layer);
      g_strfreev (l->formats);
      g_free (l->drop);
      g_free (l->bytes);
      g_free (l->sqnr_db);
      g_free (l->weight_bits);
    }
  g_free (s->layers);
  g_free (s->all_drop);
  g_free (s);
}

static gboolean
dataset_is_labelled (QsDataset *dataset,
                     guint      n)
{
  for (guint i = 0; i < n; i++)
    if (qs_dataset_get_label (dataset, i) < 0)
      return FALSE;
  return n > 0;
}

/* The drop of a config in points: float top-1 minus quantized top-1, or the disagreement
 * with the float model without labels. */
static gboolean
measure (QsModel                 *model,
         QsConfig                *config,
         QsDataset               *dataset,
         const QsAnalysisOptions *options,
         gboolean                 labelled,
         double                  *drop,
         double                  *top1,
         GCancellable            *cancellable,
         GError                 **error)
{
  QsEvalOptions eo = { 0 };
  g_autoptr(QsEvalResult) r = NULL;

  eo.limit = options->n_images ? options->n_images : 1000;
  eo.n_threads = options->n_threads;
  eo.cache = options->cache;
  r = qs_eval_run (model, config, dataset, &eo, NULL, NULL, cancellable, error);
  if (r == NULL)
    return FALSE;
  *top1 = labelled ? r->quant_top1 : NAN;
  *drop = labelled ? 100.0 * (r->float_top1 - r->quant_top1) : 100.0 * (1.0 - r->agreement);
  return TRUE;
}

/* Every kernel layer at spec (weights only) except skip, which stays float; skip NULL:
 * all of them. */
static QsConfig *
all_but_one_config (QsSensitivity     *s,
                    const char        *skip,
                    const QsQuantSpec *spec)
{
  QsConfig *config = qs_config_new_from_preset ("fp32", NULL);

  for (guint i = 0; i < s->n_layers; i++)
    {
      QsLayerConfig lc;

      if (g_strcmp0 (s->layers[i].layer, skip) == 0)
        continue;
      qs_config_get_layer (config, s->layers[i].layer, &lc);
      lc.weight = *spec;
      lc.quantize_activations = FALSE;
      qs_config_set_layer (config, s->layers[i].layer, &lc);
    }
  return config;
}

static QsConfig *
one_layer_config (const char        *layer,
                  const QsQuantSpec *spec)
{
  QsConfig *config = qs_config_new_from_preset ("fp32", NULL);
  QsLayerConfig lc;

  qs_config_get_layer (config, layer, &lc);
  lc.weight = *spec;
  lc.quantize_activations = FALSE;
  qs_config_set_layer (config, layer, &lc);
  return config;
}

QsSensitivity *
qs_sensitivity_run (QsModel                 *model,
                    QsDataset               *dataset,
                    const char * const      *formats,
                    const QsAnalysisOptions *options,
                    QsProgressFunc           progress,
                    gpointer                 progress_data,
                    GCancellable            *cancellable,
                    GError                 **error)
{
  QsAnalysisOptions opts = { 0 };
  g_autoptr(QsSensitivity) s = NULL;
  g_autoptr(QsEvalCache) own_cache = NULL;
  g_autoptr(GArray) specs = g_array_new (FALSE, FALSE, sizeof (QsQuantSpec));
  GArray *layers;
  guint n_formats, done = 0, total;
  gint64 t0 = g_get_monotonic_time ();

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (QS_IS_DATASET (dataset), NULL);

  if (options != NULL)
    opts = *options;
  if (opts.cache == NULL)
    opts.cache = own_cache = qs_eval_cache_new ();
  if (formats == NULL)
    formats = default_formats;
  n_formats = g_strv_length ((char **) formats);
  for (guint f = 0; f < n_formats; f++)
    {
      QsQuantSpec spec;

      if (!qs_analysis_parse_format (formats[f], &spec, error))
        return NULL;
      g_array_append_val (specs, spec);
    }
  if (n_formats == 0)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID, _("No weight formats to try"));
      return NULL;
    }

  s = g_new0 (QsSensitivity, 1);
  s->ref_count = 1;
  s->n_images = MIN (opts.n_images ? opts.n_images : 1000, qs_dataset_get_n_images (dataset));
  s->labelled = dataset_is_labelled (dataset, s->n_images);
  layers = g_array_new (FALSE, TRUE, sizeof (QsSensitivityLayer));
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    if (qs_layer_get_kernel (qs_model_get_layer (model, i)) != NULL)
      {
        QsSensitivityLayer l = { 0 };

        l.layer = g_strdup (qs_model_get_layer (model, i)->name);
        g_array_append_val (layers, l);
      }
  s->n_layers = layers->len;
  s->layers = (QsSensitivityLayer *) g_array_free (layers, FALSE);
  {
    /* MACs per layer from the all-float program (0 when the model cannot run) */
    g_autoptr(QsLowering) lw = qs_lowering_new (model, NULL, NULL);

    /* every step with a kernel counts toward the model layer it computes (both stages of a
     * SeparableConv2D) */
    for (guint st_i = 0; lw != NULL && st_i < qs_lowering_get_n_steps (lw); st_i++)
      {
        const QsLoweredStep *st = qs_lowering_get_step (lw, st_i);
        const char *name;

        if (st->kernel == NULL || st->layer < 0)
          continue;
        name = qs_model_get_layer (model, (guint) st->layer)->name;
        for (guint i = 0; i < s->n_layers; i++)
          if (strcmp (s->layers[i].layer, name) == 0)
            s->layers[i].macs += (guint64) st->oh * st->ow * st->n_out * st->k;
      }
  }
  if (s->n_layers == 0)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID,
                   _("The model has no layer with weights to analyse"));
      return NULL;
    }

  {
    g_autoptr(QsConfig) fp32 = qs_config_new_from_preset ("fp32", NULL);
    QsEvalOptions eo = { .limit = s->n_images, .n_threads = opts.n_threads, .float_only = TRUE,
                         .cache = opts.cache };
    g_autoptr(QsEvalResult) r = qs_eval_run (model, fp32, dataset, &eo, NULL, NULL, cancellable, error);

    if (r == NULL)
      return NULL;
    s->float_top1 = s->labelled ? r->float_top1 : NAN;
  }

  s->reverse = opts.reverse;
  total = (s->n_layers + (opts.reverse ? 1 : 0)) * n_formats;
  if (opts.reverse)
    {
      s->all_drop = g_new (double, n_formats);
      for (guint f = 0; f < n_formats; f++)
        {
          g_autoptr(QsConfig) config = all_but_one_config (s, NULL, &g_array_index (specs, QsQuantSpec, f));
          double top1;

          if (!measure (model, config, dataset, &opts, s->labelled, &s->all_drop[f], &top1,
                        cancellable, error))
            return NULL;
          if (progress != NULL)
            progress ((double) ++done / total, progress_data);
        }
    }
  for (guint i = 0; i < s->n_layers; i++)
    {
      QsSensitivityLayer *l = &s->layers[i];
      QsTensor *kernel = qs_layer_get_kernel (qs_model_find_layer (model, l->layer));

      l->n_formats = n_formats;
      l->formats = g_strdupv ((char **) formats);
      l->drop = g_new (double, n_formats);
      l->bytes = g_new (guint64, n_formats);
      l->sqnr_db = g_new (double, n_formats);
      l->weight_bits = g_new (guint, n_formats);
      l->float_bytes = (guint64) kernel->n_elements * 4;
      for (guint f = 0; f < n_formats; f++)
        {
          const QsQuantSpec *spec = &g_array_index (specs, QsQuantSpec, f);
          g_autoptr(QsConfig) config = opts.reverse ? all_but_one_config (s, l->layer, spec)
                                                    : one_layer_config (l->layer, spec);
          QsQuantSpec resolved;
          QsQuantOptions qo = { 0 };
          g_autoptr(QsQuantResult) q = NULL;
          double top1;

          qs_config_resolve_weight_spec (spec, kernel, &resolved);
          l->weight_bits[f] = spec->format == QS_FORMAT_INT ? spec->bits
                              : spec->format == QS_FORMAT_FP16 || spec->format == QS_FORMAT_BF16 ? 16
                              : spec->format == QS_FORMAT_FP8_E4M3 ? 8 : 32;
          l->bytes[f] = (qs_lowering_kernel_storage_bits (kernel, &resolved) + 7) / 8;
          q = qs_quant_run (kernel, &resolved, &qo, cancellable, error);
          if (q == NULL)
            return NULL;
          l->sqnr_db[f] = q->stats.sqnr_db;
          if (!measure (model, config, dataset, &opts, s->labelled, &l->drop[f], &top1,
                        cancellable, error))
            return NULL;
          if (progress != NULL)
            progress ((double) ++done / total, progress_data);
        }
    }
  s->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return g_steal_pointer (&s);
}

/* --- the front --- */

static gint point_cmp_bytes (gconstpointer a,
                             gconstpointer b);

QsFront *
qs_front_ref (QsFront *front)
{
  g_return_val_if_fail (front != NULL, NULL);
  g_atomic_int_inc (&front->ref_count);
  return front;
}

void
qs_front_unref (QsFront *front)
{
  g_return_if_fail (front != NULL);
  if (!g_atomic_int_dec_and_test (&front->ref_count))
    return;
  for (guint i = 0; i < front->n_points; i++)
    g_free (front->points[i].choice);   /* the names belong to front->layers' sensitivity copy */
  g_free (front->points);
  g_strfreev (front->layers);
  g_free (front);
}

/* Multiple-choice knapsack over the layers: best[b] = least summed drop of the layers so far
 * with bucketed bytes exactly b; pick[l][b] = the format layer l took. Kernel bytes are
 * bucketed by rounding up, so the bytes reported are always the exact sum. */
QsFront *
qs_front_build (QsSensitivity *s,
                guint          max_points)
{
  return qs_front_build_full (s, QS_FRONT_COST_BYTES, 8, max_points);
}

static guint64
layer_bitops (const QsSensitivityLayer *l,
              guint                     f,
              guint                     act_bits)
{
  /* a sensitivity built by hand may leave the operations out */
  return l->weight_bits != NULL ? l->macs * l->weight_bits[f] * act_bits : 0;
}

QsFront *
qs_front_build_full (QsSensitivity *s,
                     QsFrontCost    cost_axis,
                     guint          act_bits,
                     guint          max_points)
{
  guint L, F;
  guint64 max_total = 0, bucket;
  guint B;
  g_autofree double *best = NULL, *next = NULL;
  g_autofree guint8 *pick = NULL;
  g_autofree guint64 *exact = NULL, *next_exact = NULL;
  g_autofree guint64 *cost = NULL;   /* cost[l * F + f] on the chosen axis */
  GArray *points;
  QsFront *front;
  double best_so_far = INFINITY;

  g_return_val_if_fail (s != NULL && s->n_layers > 0, NULL);

  L = s->n_layers;
  F = s->layers[0].n_formats;
  cost = g_new (guint64, (gsize) L * F);
  for (guint l = 0; l < L; l++)
    for (guint f = 0; f < F; f++)
      cost[l * F + f] = cost_axis == QS_FRONT_COST_BITOPS ? layer_bitops (&s->layers[l], f, act_bits)
                                                          : s->layers[l].bytes[f];
  for (guint l = 0; l < L; l++)
    {
      guint64 m = 0;

      for (guint f = 0; f < F; f++)
        m = MAX (m, cost[l * F + f]);
      max_total += m;
    }
  bucket = MAX ((max_total + BUDGET_BUCKETS - 1) / BUDGET_BUCKETS, 1);
  B = (guint) (max_total / bucket) + L + 1;
  best = g_new (double, B);
  next = g_new (double, B);
  exact = g_new0 (guint64, B);
  next_exact = g_new0 (guint64, B);
  pick = g_new (guint8, (gsize) L * B);
  for (guint b = 0; b < B; b++)
    best[b] = INFINITY;
  best[0] = 0.0;
  for (guint l = 0; l < L; l++)
    {
      const QsSensitivityLayer *sl = &s->layers[l];

      for (guint b = 0; b < B; b++)
        next[b] = INFINITY;
      for (guint b = 0; b < B; b++)
        {
          if (!isfinite (best[b]))
            continue;
          for (guint f = 0; f < F; f++)
            {
              guint64 c = cost[l * F + f];
              guint nb = b + (guint) ((c + bucket - 1) / bucket);
              /* a format that measured better than float counts as no loss: the additive
               * model must not chase noise */
              double d = best[b] + MAX (sl->drop[f], 0.0);

              if (nb < B && (d < next[nb] || (d == next[nb] && exact[b] + c < next_exact[nb])))
                {
                  next[nb] = d;
                  next_exact[nb] = exact[b] + c;
                  pick[(gsize) l * B + nb] = (guint8) f;
                }
            }
        }
      memcpy (best, next, B * sizeof (double));
      memcpy (exact, next_exact, B * sizeof (guint64));
    }

  points = g_array_new (FALSE, TRUE, sizeof (QsFrontPoint));
  for (guint b = 0; b < B; b++)
    {
      QsFrontPoint p = { 0 };
      guint cur = b;

      if (!isfinite (best[b]) || best[b] >= best_so_far - 1e-9)
        continue;
      best_so_far = best[b];
      p.predicted_drop = best[b];
      p.measured_drop = NAN;
      p.measured_top1 = NAN;
      p.choice = g_new0 (char *, L + 1);
      for (guint l = L; l-- > 0;)
        {
          guint f = pick[(gsize) l * B + cur];

          p.choice[l] = s->layers[l].formats[f];
          p.weight_bytes += s->layers[l].bytes[f];
          p.bit_ops += layer_bitops (&s->layers[l], f, act_bits);
          cur -= (guint) ((cost[l * F + f] + bucket - 1) / bucket);
        }
      g_array_append_val (points, p);
    }

  /* thin to max_points, keeping the cheapest and the best */
  if (max_points >= 2 && points->len > max_points)
    {
      GArray *thin = g_array_new (FALSE, TRUE, sizeof (QsFrontPoint));
      guint n = points->len;

      for (guint k = 0; k < max_points; k++)
        {
          guint idx = (guint) llround ((double) k * (n - 1) / (max_points - 1));

          g_array_append_val (thin, g_array_index (points, QsFrontPoint, idx));
          g_array_index (points, QsFrontPoint, idx).choice = NULL;
        }
      for (guint k = 0; k < n; k++)
        g_free (g_array_index (points, QsFrontPoint, k).choice);
      g_array_unref (points);
      points = thin;
    }

  front = g_new0 (QsFront, 1);
  front->ref_count = 1;
  front->act_bits = act_bits;
  front->n_layers = L;
  front->layers = g_new0 (char *, L + 1);
  for (guint l = 0; l < L; l++)
    {
      front->layers[l] = g_strdup (s->layers[l].layer);
      front->float_bytes += s->layers[l].float_bytes;
    }
  /* the choices point into the sensitivity's format names: make them the front's own */
  front->n_points = points->len;
  front->points = (QsFrontPoint *) g_array_free (points, FALSE);
  for (guint i = 0; i < front->n_points; i++)
    for (guint l = 0; l < L; l++)
      front->points[i].choice[l] = (char *) g_intern_string (front->points[i].choice[l]);
  if (cost_axis != QS_FRONT_COST_BYTES)
    qsort (front->points, front->n_points, sizeof (QsFrontPoint), point_cmp_bytes);
  return front;
}

QsConfig *
qs_front_point_to_config (QsFront            *front,
                          const QsFrontPoint *point)
{
  QsConfig *config;

  g_return_val_if_fail (front != NULL && point != NULL, NULL);

  config = qs_config_new_from_preset ("fp32", NULL);
  for (guint l = 0; l < front->n_layers; l++)
    {
      QsLayerConfig lc;

      qs_config_get_layer (config, front->layers[l], &lc);
      if (!qs_analysis_parse_format (point->choice[l], &lc.weight, NULL))
        g_assert_not_reached ();
      lc.quantize_activations = FALSE;
      qs_config_set_layer (config, front->layers[l], &lc);
    }
  return config;
}

gboolean
qs_front_verify (QsFront                 *front,
                 QsModel                 *model,
                 QsDataset               *dataset,
                 QsSensitivity           *sensitivity,
                 const QsAnalysisOptions *options,
                 GCancellable            *cancellable,
                 GError                 **error)
{
  QsAnalysisOptions opts = { 0 };
  g_autoptr(QsEvalCache) own_cache = NULL;

  g_return_val_if_fail (front != NULL && sensitivity != NULL, FALSE);

  if (options != NULL)
    opts = *options;
  if (opts.cache == NULL)
    opts.cache = own_cache = qs_eval_cache_new ();
  opts.n_images = sensitivity->n_images;
  for (guint i = 0; i < front->n_points; i++)
    {
      QsFrontPoint *p = &front->points[i];
      g_autoptr(QsConfig) config = qs_front_point_to_config (front, p);

      if (!measure (model, config, dataset, &opts, sensitivity->labelled, &p->measured_drop,
                    &p->measured_top1, cancellable, error))
        return FALSE;
    }
  return TRUE;
}

static gint
point_cmp_bytes (gconstpointer a,
                 gconstpointer b)
{
  const QsFrontPoint *pa = a, *pb = b;

  return pa->weight_bytes < pb->weight_bytes ? -1 : pa->weight_bytes > pb->weight_bytes;
}

static guint
format_index (const QsSensitivityLayer *l,
              const char               *name)
{
  for (guint f = 0; f < l->n_formats; f++)
    if (strcmp (l->formats[f], name) == 0)
      return f;
  g_assert_not_reached ();
  return 0;
}

/* The format of layer l that is the next larger than f in bytes (ties: the better drop),
 * or -1. */
static gint
next_larger (const QsSensitivityLayer *l,
             guint                     f)
{
  gint best = -1;

  for (guint g = 0; g < l->n_formats; g++)
    if (l->bytes[g] > l->bytes[f]
        && (best < 0 || l->bytes[g] < l->bytes[best]
            || (l->bytes[g] == l->bytes[best] && l->drop[g] < l->drop[best])))
      best = (gint) g;
  return best;
}

gboolean
qs_front_refine (QsFront                 *front,
                 QsModel                 *model,
                 QsDataset               *dataset,
                 QsSensitivity           *s,
                 double                   max_drop,
                 const QsAnalysisOptions *options,
                 GCancellable            *cancellable,
                 GError                 **error)
{
  QsAnalysisOptions opts = { 0 };
  g_autoptr(QsEvalCache) own_cache = NULL;
  g_autoptr(GArray) added = g_array_new (FALSE, TRUE, sizeof (QsFrontPoint));
  g_autofree guint *cur = NULL;
  const QsFrontPoint *start = NULL;
  double cur_drop;
  guint64 cur_bytes;

  g_return_val_if_fail (front != NULL && s != NULL, FALSE);

  if (options != NULL)
    opts = *options;
  if (opts.cache == NULL)
    opts.cache = own_cache = qs_eval_cache_new ();
  opts.n_images = s->n_images;

  /* already met, or nothing measured: nothing to refine */
  for (guint i = 0; i < front->n_points; i++)
    {
      const QsFrontPoint *p = &front->points[i];

      if (isnan (p->measured_drop))
        return TRUE;
      if (p->measured_drop <= max_drop)
        return TRUE;
      if (start == NULL || p->measured_drop < start->measured_drop)
        start = p;
    }
  if (start == NULL)
    return TRUE;
  cur = g_new (guint, front->n_layers);
  for (guint l = 0; l < front->n_layers; l++)
    cur[l] = format_index (&s->layers[l], start->choice[l]);
  cur_drop = start->measured_drop;
  cur_bytes = start->weight_bytes;

  while (cur_drop > max_drop)
    {
      gint best_l = -1, best_f = -1;
      double best_score = -INFINITY, best_drop = 0, best_top1 = NAN;

      for (guint l = 0; l < front->n_layers; l++)
        {
          gint f = next_larger (&s->layers[l], cur[l]);
          QsFrontPoint trial = { 0 };
          g_autofree char **choice = NULL;
          g_autoptr(QsConfig) config = NULL;
          double drop, top1, score;

          if (f < 0)
            continue;
          choice = g_new0 (char *, front->n_layers + 1);
          for (guint k = 0; k < front->n_layers; k++)
            choice[k] = s->layers[k].formats[k == l ? (guint) f : cur[k]];
          trial.choice = choice;
          config = qs_front_point_to_config (front, &trial);
          if (!measure (model, config, dataset, &opts, s->labelled, &drop, &top1, cancellable, error))
            return FALSE;
          score = (cur_drop - drop) / (double) (s->layers[l].bytes[f] - s->layers[l].bytes[cur[l]]);
          if (score > best_score)
            {
              best_score = score;
              best_l = (gint) l;
              best_f = f;
              best_drop = drop;
              best_top1 = top1;
            }
        }
      if (best_l < 0)
        break;
      cur_bytes += s->layers[best_l].bytes[best_f] - s->layers[best_l].bytes[cur[best_l]];
      cur[best_l] = (guint) best_f;
      cur_drop = best_drop;
      {
        QsFrontPoint p = { 0 };

        p.weight_bytes = cur_bytes;
        p.measured_drop = best_drop;
        p.measured_top1 = best_top1;
        p.predicted_drop = 0.0;
        p.choice = g_new0 (char *, front->n_layers + 1);
        for (guint k = 0; k < front->n_layers; k++)
          {
            p.choice[k] = (char *) g_intern_string (s->layers[k].formats[cur[k]]);
            p.predicted_drop += MAX (s->layers[k].drop[cur[k]], 0.0);
            p.bit_ops += layer_bitops (&s->layers[k], cur[k], front->act_bits);
          }
        p.refined = TRUE;
        g_array_append_val (added, p);
      }
    }
  if (added->len > 0)
    {
      front->points = g_renew (QsFrontPoint, front->points, front->n_points + added->len);
      memcpy (front->points + front->n_points, added->data, added->len * sizeof (QsFrontPoint));
      front->n_points += added->len;
      qsort (front->points, front->n_points, sizeof (QsFrontPoint), point_cmp_bytes);
    }
  return TRUE;
}

static double
point_drop (const QsFrontPoint *p)
{
  return isnan (p->measured_drop) ? p->predicted_drop : p->measured_drop;
}

const QsFrontPoint *
qs_front_choose (QsFront  *front,
                 guint64   max_bytes,
                 double    max_drop,
                 GError  **error)
{
  return qs_front_choose_full (front, max_bytes, 0, max_drop, error);
}

const QsFrontPoint *
qs_front_choose_full (QsFront  *front,
                      guint64   max_bytes,
                      guint64   max_bitops,
                      double    max_drop,
                      GError  **error)
{
  const QsFrontPoint *chosen = NULL;

  g_return_val_if_fail (front != NULL, NULL);

  if (max_bitops > 0)
    {
      for (guint i = 0; i < front->n_points; i++)
        {
          const QsFrontPoint *p = &front->points[i];

          if (p->bit_ops <= max_bitops && (max_bytes == 0 || p->weight_bytes <= max_bytes)
              && (chosen == NULL || point_drop (p) < point_drop (chosen)))
            chosen = p;
        }
      if (chosen == NULL)
        {
          guint64 least = G_MAXUINT64;

          for (guint i = 0; i < front->n_points; i++)
            least = MIN (least, front->points[i].bit_ops);
          g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE,
                       _("No mix of the formats fits into %" PRIu64 " bit-operations per image (the smallest takes %" PRIu64 ")"),
                       max_bitops, front->n_points ? least : 0);
        }
      return chosen;
    }
  for (guint i = 0; i < front->n_points; i++)
    {
      const QsFrontPoint *p = &front->points[i];

      if (max_bytes > 0)
        {
          if (p->weight_bytes <= max_bytes && (chosen == NULL || point_drop (p) < point_drop (chosen)))
            chosen = p;
        }
      else if (max_drop >= 0.0 && point_drop (p) <= max_drop
               && (chosen == NULL || p->weight_bytes < chosen->weight_bytes))
        chosen = p;
    }
  if (chosen == NULL)
    {
      if (max_bytes > 0)
        g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE,
                     _("No mix of the formats fits the kernels into %" PRIu64 " bytes (the smallest takes %" PRIu64 ")"),
                     max_bytes, front->n_points ? front->points[0].weight_bytes : 0);
      else
        g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE,
                     _("No mix of the formats loses at most %.2f points"), max_drop);
    }
  return chosen;
}
