/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-attribution.h"
#include "qs-engine-float.h"
#include "qs-engine-int.h"
#include "qs-eval-private.h"
#include "qs-stats.h"

struct _QsAttributor
{
  gint           ref_count;
  QsModel       *model;
  QsEngineInt   *reference;   /* the all-float lowering, tapped */
  QsEngineInt   *program;     /* the quantized lowering, tapped */
  QsEngineFloat *float_engine;
  QsEngineFloat *hybrid;      /* weight-only configs: the quantized predictions */
  gsize          in_size;
  gsize          out_size;
};

QsAttributor *
qs_attributor_ref (QsAttributor *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
qs_attributor_free (QsAttributor *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_clear_object (&self->model);
  g_clear_pointer (&self->reference, qs_engine_int_free);
  g_clear_pointer (&self->program, qs_engine_int_free);
  g_clear_pointer (&self->float_engine, qs_engine_float_free);
  g_clear_pointer (&self->hybrid, qs_engine_float_free);
  g_free (self);
}

QsAttributor *
qs_attributor_new (QsModel            *model,
                   QsConfig           *config,
                   QsCalibrationCache *calibs,
                   const QsPreprocess *preprocess,
                   GCancellable       *cancellable,
                   GError            **error)
{
  g_autoptr(QsAttributor) self = NULL;
  g_autoptr(QsLowering) ref_lowering = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  const char *why = NULL;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (QS_IS_CONFIG (config), NULL);

  if (!qs_model_can_infer (model, &why))
    {
      g_set_error (error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED, "%s", why);
      return NULL;
    }
  self = g_new0 (QsAttributor, 1);
  self->ref_count = 1;
  self->model = g_object_ref (model);
  if (qs_config_any_activations (config))
    {
      /* the calibration qs_eval_run () uses, so the program is the same */
      calib = qs_calibration_cache_get_full (calibs, model, qs_config_get_calib_source (config),
                                             preprocess, qs_config_get_calib_images (config),
                                             NULL, NULL, cancellable, error);
      if (calib == NULL)
        return NULL;
    }
  else if ((self->hybrid = _qs_eval_hybrid_engine_new (model, config, error)) == NULL)
    return NULL;
  if ((ref_lowering = qs_lowering_new (model, NULL, error)) == NULL
      || (self->reference = qs_engine_int_new (ref_lowering, NULL, error)) == NULL
      || (self->program = qs_calibration_compile (calib, model, config, error)) == NULL
      || (self->float_engine = qs_engine_float_new (model, error)) == NULL)
    return NULL;
  self->in_size = qs_engine_int_get_input_size (self->reference);
  self->out_size = qs_engine_int_get_output_size (self->program);
  return g_steal_pointer (&self);
}

gsize
qs_attributor_get_input_size (QsAttributor *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->in_size;
}

QsAttribution *
qs_attribution_ref (QsAttribution *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
qs_attribution_unref (QsAttribution *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  for (guint i = 0; i < self->n_values; i++)
    {
      g_free (self->values[i].name);
      g_free (self->values[i].layer);
    }
  g_free (self->values);
  g_free (self->float_output);
  g_free (self->quant_output);
  g_free (self);
}

typedef struct
{
  GHashTable *reference;   /* name -> GArray of float */
  GArray     *values;      /* QsAttributionValue */
} TapState;

static void
reference_tap (const char  *name,
               const float *values,
               gsize        n,
               gboolean     is_integer,
               gpointer     user_data)
{
  TapState *st = user_data;
  GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (float), n);

  g_array_append_vals (a, values, n);
  g_hash_table_replace (st->reference, g_strdup (name), a);
}

static void
quant_tap (const char  *name,
           const float *values,
           gsize        n,
           gboolean     is_integer,
           gpointer     user_data)
{
  TapState *st = user_data;
  GArray *ref = g_hash_table_lookup (st->reference, name);
  QsAttributionValue v = { 0 };
  double signal = 0.0, noise = 0.0;
  const char *hash;

  if (ref == NULL || ref->len != n)
    return;
  for (gsize i = 0; i < n; i++)
    {
      double f = g_array_index (ref, float, i), d = (double) values[i] - f;

      signal += f * f;
      noise += d * d;
    }
  hash = strchr (name, '#');
  v.name = g_strdup (name);
  v.layer = hash ? g_strndup (name, hash - name) : g_strdup (name);
  v.is_integer = is_integer;
  v.n = n;
  v.sqnr_db = qs_stats_sqnr_db (signal, noise);
  v.rel_l2 = noise <= 0.0 ? 0.0 : signal > 0.0 ? sqrt (noise / signal) : INFINITY;
  g_array_append_val (st->values, v);
}

static void
top_k (const float        *x,
       guint               n,
       QsAttributionClass *top,
       guint               k)
{
  for (guint j = 0; j < k; j++)
    {
      gint best = -1;

      for (guint c = 0; c < n; c++)
        {
          gboolean taken = FALSE;

          for (guint t = 0; t < j && !taken; t++)
            taken = top[t].cls == c;
          /* NaN never wins; ties go to the lower class */
          if (!taken && (best < 0 || x[c] > x[best] || (isnan (x[best]) && !isnan (x[c]))))
            best = c;
        }
      top[j].cls = best;
      top[j].prob = x[best];
    }
}

static double
noise_power (const QsAttributionValue *v)
{
  return isfinite (v->rel_l2) ? v->rel_l2 * v->rel_l2 : G_MAXDOUBLE;
}

QsAttribution *
qs_attributor_run (QsAttributor *self,
                   const float  *input,
                   GError      **error)
{
  g_autoptr(QsAttribution) a = NULL;
  g_autoptr(GHashTable) reference = NULL;
  g_autofree float *ref_out = NULL;
  g_autofree float *tapped_out = NULL;
  g_autoptr(GArray) values = NULL;
  double signal = 0.0, noise = 0.0, best_added = -INFINITY;
  gboolean any_integer = FALSE;
  TapState st;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (input != NULL, NULL);

  reference = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  values = g_array_new (FALSE, TRUE, sizeof (QsAttributionValue));
  st.reference = reference;
  st.values = values;
  ref_out = g_new (float, qs_engine_int_get_output_size (self->reference));
  tapped_out = g_new (float, self->out_size);
  if (!qs_engine_int_run_tapped (self->reference, input, ref_out, reference_tap, &st, error)
      || !qs_engine_int_run_tapped (self->program, input, tapped_out, quant_tap, &st, error))
    {
      for (guint i = 0; i < values->len; i++)
        {
          g_free (g_array_index (values, QsAttributionValue, i).name);
          g_free (g_array_index (values, QsAttributionValue, i).layer);
        }
      return NULL;
    }

  a = g_new0 (QsAttribution, 1);
  a->ref_count = 1;
  a->n_values = values->len;
  a->values = (QsAttributionValue *) g_array_free (g_steal_pointer (&values), FALSE);
  /* the value that added the most error: the largest increase of the relative noise power
   * (rel_l2²) over the value before it in execution order (exact along a chain, an
   * approximation at joins), among the values the program holds in integers when there are
   * any; linear, so the first quantized value is not favoured */
  a->worst = -1;
  for (guint i = 0; i < a->n_values; i++)
    any_integer |= a->values[i].is_integer;
  for (guint i = 0; i < a->n_values; i++)
    {
      double prev = i == 0 ? 0.0 : noise_power (&a->values[i - 1]);
      double added = noise_power (&a->values[i]) - prev;

      /* where the program quantizes (a float softmax after them only passes error on) */
      if (any_integer && !a->values[i].is_integer)
        continue;
      if (a->values[i].rel_l2 > 0.0 && added > best_added)
        {
          best_added = added;
          a->worst = i;
        }
    }

  a->n_classes = self->out_size;
  a->n_top = MIN (QS_ATTRIBUTION_TOP_K, a->n_classes);
  a->float_output = g_new (float, a->n_classes);
  if (!qs_engine_float_run (self->float_engine, input, 1, a->float_output, 1, NULL, NULL, NULL, error))
    return NULL;
  if (self->hybrid != NULL)
    {
      a->quant_output = g_new (float, a->n_classes);
      if (!qs_engine_float_run (self->hybrid, input, 1, a->quant_output, 1, NULL, NULL, NULL, error))
        return NULL;
    }
  else
    a->quant_output = g_steal_pointer (&tapped_out);
  top_k (a->float_output, a->n_classes, a->float_top, a->n_top);
  top_k (a->quant_output, a->n_classes, a->quant_top, a->n_top);
  for (guint c = 0; c < a->n_classes; c++)
    {
      double f = a->float_output[c], d = (double) a->quant_output[c] - f;

      signal += f * f;
      noise += d * d;
    }
  a->output_sqnr_db = qs_stats_sqnr_db (signal, noise);
  return g_steal_pointer (&a);
}

GPtrArray *
qs_attributor_run_batch (QsAttributor *self,
                         const float  *inputs,
                         guint         batch,
                         GCancellable *cancellable,
                         GError      **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_attribution_unref);

  g_return_val_if_fail (self != NULL, NULL);

  for (guint i = 0; i < batch; i++)
    {
      QsAttribution *a;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      a = qs_attributor_run (self, inputs + (gsize) i * self->in_size, error);
      if (a == NULL)
        return NULL;
      g_ptr_array_add (out, a);
    }
  return g_steal_pointer (&out);
}

/* --- per-image predictions over a dataset --- */

QsSampleSet *
qs_sample_set_ref (QsSampleSet *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
qs_sample_set_unref (QsSampleSet *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_free (self->samples);
  g_clear_pointer (&self->eval, qs_eval_result_unref);
  g_free (self);
}

gboolean
qs_sample_prediction_quant_wrong (const QsSamplePrediction *p)
{
  g_return_val_if_fail (p != NULL, FALSE);
  return p->label >= 0 ? (guint) p->label != p->quant_class : p->changed;
}

static guint
argmax (const float *x,
        guint        n)
{
  guint best = 0;

  /* as qs_eval_run () counts it */
  for (guint i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

QsSampleSet *
qs_sample_set_compute (QsModel             *model,
                       QsConfig            *config,
                       QsDataset           *dataset,
                       const QsEvalOptions *options,
                       QsProgressFunc       progress,
                       gpointer             progress_data,
                       GCancellable        *cancellable,
                       GError             **error)
{
  QsEvalOptions opts = { 0 };
  g_autoptr(QsEvalResult) r = NULL;
  QsSampleSet *set;
  guint nc;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (QS_IS_CONFIG (config), NULL);
  g_return_val_if_fail (QS_IS_DATASET (dataset), NULL);

  if (options != NULL)
    opts = *options;
  opts.keep_outputs = TRUE;
  opts.float_only = FALSE;
  r = qs_eval_run (model, config, dataset, &opts, progress, progress_data, cancellable, error);
  if (r == NULL)
    return NULL;
  nc = r->n_classes;
  set = g_new0 (QsSampleSet, 1);
  set->ref_count = 1;
  set->n_images = r->n_images;
  set->n_classes = nc;
  set->samples = g_new0 (QsSamplePrediction, r->n_images);
  for (guint i = 0; i < r->n_images; i++)
    {
      QsSamplePrediction *p = &set->samples[i];
      const float *fo = r->float_outputs + (gsize) i * nc, *qo = r->quant_outputs + (gsize) i * nc;

      p->label = qs_dataset_is_labelled (dataset) ? qs_dataset_get_label (dataset, i) : -1;
      p->float_class = argmax (fo, nc);
      p->quant_class = argmax (qo, nc);
      p->float_prob = fo[p->float_class];
      p->quant_prob = qo[p->quant_class];
      p->changed = p->float_class != p->quant_class;
      set->n_changed += p->changed;
    }
  /* the outputs are no longer needed (50,000 x 1,000 classes is 400 MB) */
  g_clear_pointer (&r->float_outputs, g_free);
  g_clear_pointer (&r->quant_outputs, g_free);
  set->eval = g_steal_pointer (&r);
  return set;
}

/* --- widening a layer --- */

QsWidenKind
qs_layer_config_widen (const QsLayerConfig *in,
                       QsLayerConfig       *out)
{
  QsLayerConfig lc;
  gboolean changed = FALSE;

  g_return_val_if_fail (in != NULL && out != NULL, QS_WIDEN_FLOAT);

  lc = *in;
  switch (lc.weight.format)
    {
    case QS_FORMAT_INT:
      if (lc.weight.bits < 8)
        {
          lc.weight.bits = 8;
          changed = TRUE;
        }
      break;
    case QS_FORMAT_BINARY:
    case QS_FORMAT_TERNARY:
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      qs_quant_spec_init (&lc.weight);
      changed = TRUE;
      break;
    default:
      break;
    }
  if (lc.quantize_activations && lc.activation.format == QS_FORMAT_INT && lc.activation.bits < 8)
    {
      lc.activation.bits = 8;
      changed = TRUE;
    }
  if (changed)
    {
      *out = lc;
      return QS_WIDEN_8_BITS;
    }
  *out = *in;
  qs_quant_spec_init_float (&out->weight, QS_FORMAT_FP32);
  out->quantize_activations = FALSE;
  return QS_WIDEN_FLOAT;
}
