/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-calib.h"
#include "qs-dataset.h"
#include "qs-engine-int.h"
#include "qs-lowering.h"
#include "qs-range.h"

G_DEFINE_QUARK (qs-calib-error-quark, qs_calib_error)

typedef struct
{
  float        lo;
  float        hi;
  QsHistogram *hist;
  guint64      n_values;     /* finite */
  guint64      n_zero;
  guint64      n_nonfinite;
  double       sum_sq;
} ValueStats;

struct _QsCalibration
{
  gint        ref_count;
  QsModel    *model;
  float      *inputs;
  gsize       n_images;
  gsize       in_size;
  GHashTable *values;      /* name -> ValueStats */
  GMutex      lock;        /* guards the lazy histogram pass */
  gboolean    have_hist;
};

static void
value_stats_free (gpointer data)
{
  ValueStats *v = data;

  g_clear_pointer (&v->hist, qs_histogram_unref);
  g_free (v);
}

QsCalibration *
qs_calibration_ref (QsCalibration *calib)
{
  g_return_val_if_fail (calib != NULL, NULL);
  g_atomic_int_inc (&calib->ref_count);
  return calib;
}

void
qs_calibration_unref (QsCalibration *calib)
{
  g_return_if_fail (calib != NULL);

  if (g_atomic_int_dec_and_test (&calib->ref_count))
    {
      g_object_unref (calib->model);
      g_free (calib->inputs);
      g_hash_table_unref (calib->values);
      g_mutex_clear (&calib->lock);
      g_free (calib);
    }
}

guint
qs_calibration_get_n_images (QsCalibration *calib)
{
  return calib->n_images;
}

static void
minmax_tap (const char  *name,
            const float *values,
            gsize        n,
            gboolean     is_integer,
            gpointer     user_data)
{
  GHashTable *table = user_data;
  ValueStats *v = g_hash_table_lookup (table, name);

  if (v == NULL)
    {
      v = g_new0 (ValueStats, 1);
      v->lo = INFINITY;
      v->hi = -INFINITY;
      g_hash_table_insert (table, g_strdup (name), v);
    }
  for (gsize i = 0; i < n; i++)
    if (isfinite (values[i]))
      {
        v->lo = MIN (v->lo, values[i]);
        v->hi = MAX (v->hi, values[i]);
        v->sum_sq += (double) values[i] * values[i];
        v->n_zero += values[i] == 0.0f;
        v->n_values++;
      }
    else
      v->n_nonfinite++;
}

static void
hist_tap (const char  *name,
          const float *values,
          gsize        n,
          gboolean     is_integer,
          gpointer     user_data)
{
  GHashTable *table = user_data;
  ValueStats *v = g_hash_table_lookup (table, name);

  if (v != NULL && v->hist != NULL)
    qs_histogram_add (v->hist, values, n);
}

/* The all-float program of the model's lowering: the groups, fusions and value names the
 * integer program has, in float32. */
static QsEngineInt *
float_program (QsModel  *model,
               GError  **error)
{
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, NULL, error);

  return lowering ? qs_engine_int_new (lowering, NULL, error) : NULL;
}

static gboolean
run_pass (QsCalibration   *calib,
          QsEngineTapFunc  tap,
          QsProgressFunc   progress,
          gpointer         progress_data,
          GCancellable    *cancellable,
          GError         **error)
{
  g_autoptr(QsEngineInt) engine = float_program (calib->model, error);

  if (engine == NULL)
    return FALSE;
  for (gsize i = 0; i < calib->n_images; i++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!qs_engine_int_run_tapped (engine, calib->inputs + i * calib->in_size, NULL,
                                     tap, calib->values, error))
        return FALSE;
      if (progress != NULL && (i & 31) == 31)
        progress ((double) (i + 1) / calib->n_images, progress_data);
    }
  return TRUE;
}

QsCalibration *
qs_calibration_new (QsModel        *model,
                    const float    *inputs,
                    gsize           n_images,
                    QsProgressFunc  progress,
                    gpointer        progress_data,
                    GCancellable   *cancellable,
                    GError        **error)
{
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) probe = NULL;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (inputs != NULL || n_images == 0, NULL);

  if (n_images == 0)
    {
      g_set_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_FAILED,
                   _("Calibration needs at least one image"));
      return NULL;
    }
  probe = float_program (model, error);
  if (probe == NULL)
    return NULL;

  calib = g_new0 (QsCalibration, 1);
  calib->ref_count = 1;
  calib->model = g_object_ref (model);
  calib->in_size = qs_engine_int_get_input_size (probe);
  calib->n_images = n_images;
  calib->inputs = g_memdup2 (inputs, n_images * calib->in_size * sizeof (float));
  calib->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, value_stats_free);
  g_mutex_init (&calib->lock);

  if (!run_pass (calib, minmax_tap, progress, progress_data, cancellable, error))
    return NULL;
  return g_steal_pointer (&calib);
}

gboolean
qs_calibration_get_minmax (QsCalibration *calib,
                           const char    *value_name,
                           float         *lo,
                           float         *hi)
{
  ValueStats *v;

  g_return_val_if_fail (calib != NULL, FALSE);

  v = g_hash_table_lookup (calib->values, value_name);
  if (v == NULL)
    return FALSE;
  /* A value that was never finite (or a dead layer) gets the range [0, 0]. */
  *lo = isfinite (v->lo) ? v->lo : 0.0f;
  *hi = isfinite (v->hi) ? v->hi : 0.0f;
  return TRUE;
}

QsHistogram *
qs_calibration_get_histogram (QsCalibration *calib,
                              const char    *value_name,
                              GError       **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  ValueStats *v;

  g_return_val_if_fail (calib != NULL, NULL);

  locker = g_mutex_locker_new (&calib->lock);
  if (!calib->have_hist)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, calib->values);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          ValueStats *s = value;
          double lo = isfinite (s->lo) ? MIN (s->lo, 0.0f) : 0.0;
          double hi = isfinite (s->hi) ? MAX (s->hi, 0.0f) : 0.0;

          if (hi <= lo)
            hi = lo + 1e-6;
          s->hist = qs_histogram_new (QS_CALIB_HIST_BINS, lo, hi);
        }
      if (!run_pass (calib, hist_tap, NULL, NULL, NULL, error))
        {
          g_hash_table_iter_init (&iter, calib->values);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            g_clear_pointer (&((ValueStats *) value)->hist, qs_histogram_unref);
          return NULL;
        }
      calib->have_hist = TRUE;
    }
  v = g_hash_table_lookup (calib->values, value_name);
  if (v == NULL)
    {
      g_set_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_NO_VALUE,
                   _("The calibration has no activation named “%s”"), value_name);
      return NULL;
    }
  return qs_histogram_ref (v->hist);
}

QsActStats *
qs_calibration_get_activations (QsCalibration *calib,
                                const char    *value_name,
                                GError       **error)
{
  g_autoptr(QsHistogram) hist = NULL;
  ValueStats *v;
  float lo, hi;

  g_return_val_if_fail (calib != NULL, NULL);
  g_return_val_if_fail (value_name != NULL, NULL);

  hist = qs_calibration_get_histogram (calib, value_name, error);
  if (hist == NULL)
    return NULL;
  /* the pass that made the statistics is over: they no longer change */
  v = g_hash_table_lookup (calib->values, value_name);
  qs_calibration_get_minmax (calib, value_name, &lo, &hi);
  return qs_act_stats_new (value_name, hist, lo, hi, v->n_values, v->n_zero, v->n_nonfinite,
                           v->sum_sq);
}

gboolean
qs_calibration_get_range (QsCalibration     *calib,
                          const char        *value_name,
                          const QsQuantSpec *spec,
                          float             *lo,
                          float             *hi,
                          GError           **error)
{
  g_autoptr(QsHistogram) hist = NULL;

  g_return_val_if_fail (calib != NULL, FALSE);
  g_return_val_if_fail (value_name != NULL, FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  if (!qs_calibration_get_minmax (calib, value_name, lo, hi))
    {
      g_set_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_NO_VALUE,
                   _("The calibration has no activation named “%s”"), value_name);
      return FALSE;
    }
  if (spec->range_method == QS_RANGE_MINMAX || *lo == *hi)
    return TRUE;
  hist = qs_calibration_get_histogram (calib, value_name, error);
  if (hist == NULL)
    return FALSE;
  return qs_range_choose (hist, spec, lo, hi, error);
}

/* --- ranges for a lowering --- */

QsRangeTable *
qs_calibration_make_ranges (QsCalibration  *calib,
                            QsLowering     *lowering,
                            GError        **error)
{
  g_autoptr(QsRangeTable) table = qs_range_table_new ();
  g_autofree QsLoweredRange *ranges = NULL;
  guint n;

  g_return_val_if_fail (lowering != NULL, NULL);

  ranges = qs_lowering_list_ranges (lowering, &n);
  for (guint i = 0; i < n; i++)
    {
      float lo = ranges[i].lo, hi = ranges[i].hi;

      if (ranges[i].fixed)
        ;
      else if (calib == NULL)
        {
          g_set_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_FAILED,
                       _("The configuration quantizes activations but no calibration was given"));
          return NULL;
        }
      else if (!qs_calibration_get_range (calib, ranges[i].name, ranges[i].spec, &lo, &hi, error))
        return NULL;
      qs_range_table_set (table, ranges[i].name, lo, hi);
    }
  return g_steal_pointer (&table);
}

QsEngineInt *
qs_calibration_compile (QsCalibration  *calib,
                        QsModel        *model,
                        QsConfig       *config,
                        GError        **error)
{
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);

  lowering = qs_lowering_new (model, config, error);
  if (lowering == NULL)
    return NULL;
  ranges = qs_calibration_make_ranges (calib, lowering, error);
  if (ranges == NULL)
    return NULL;
  return qs_engine_int_new (lowering, ranges, error);
}

/* --- the cache --- */

struct _QsCalibrationCache
{
  GMutex      lock;
  GHashTable *entries;   /* "checksum|source|n" -> QsCalibration */
};

QsCalibrationCache *
qs_calibration_cache_new (void)
{
  QsCalibrationCache *cache = g_new0 (QsCalibrationCache, 1);

  g_mutex_init (&cache->lock);
  cache->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) qs_calibration_unref);
  return cache;
}

void
qs_calibration_cache_free (QsCalibrationCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->entries);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

void
qs_calibration_cache_clear (QsCalibrationCache *cache)
{
  g_return_if_fail (cache != NULL);
  g_mutex_lock (&cache->lock);
  g_hash_table_remove_all (cache->entries);
  g_mutex_unlock (&cache->lock);
}

QsCalibration *
qs_calibration_cache_get (QsCalibrationCache *cache,
                          QsModel            *model,
                          const char         *source,
                          guint               n_images,
                          QsProgressFunc      progress,
                          gpointer            progress_data,
                          GCancellable       *cancellable,
                          GError            **error)
{
  return qs_calibration_cache_get_full (cache, model, source, NULL, n_images, progress,
                                        progress_data, cancellable, error);
}

QsCalibration *
qs_calibration_cache_get_full (QsCalibrationCache *cache,
                               QsModel            *model,
                               const char         *source,
                               const QsPreprocess *preprocess,
                               guint               n_images,
                               QsProgressFunc      progress,
                               gpointer            progress_data,
                               GCancellable       *cancellable,
                               GError            **error)
{
  g_autofree char *pp_text = NULL;
  const char *checksum = qs_model_get_checksum (model);
  g_autofree char *key = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autofree float *inputs = NULL;
  gsize in_size = 1;
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank;
  QsCalibration *calib;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (source != NULL, NULL);

  /* Keyed by the requested count: a hit must not even open (decompress) the dataset. The
   * lock is not held while a calibration runs: two callers may compute the same entry,
   * and the second result replaces the first. */
  if (cache != NULL && checksum != NULL)
    {
      pp_text = preprocess != NULL ? qs_preprocess_to_string (preprocess) : g_strdup ("auto");
      key = g_strdup_printf ("%s|%s|%s|%u", checksum, source, pp_text, n_images);
      g_mutex_lock (&cache->lock);
      calib = g_hash_table_lookup (cache->entries, key);
      if (calib != NULL)
        qs_calibration_ref (calib);
      g_mutex_unlock (&cache->lock);
      if (calib != NULL)
        return calib;
    }

  dataset = qs_dataset_open_full (source, NULL, preprocess, error);
  if (dataset == NULL)
    return NULL;
  n_images = MIN (n_images, qs_dataset_get_n_images (dataset));
  rank = qs_model_get_input_shape (model, shape);
  for (guint i = 0; i < rank; i++)
    in_size *= shape[i];
  inputs = n_images > 0 ? g_try_new (float, (gsize) n_images * in_size) : NULL;
  if (inputs == NULL)
    {
      g_set_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_FAILED,
                   _("Cannot take %u calibration images from “%s”"), n_images, source);
      return NULL;
    }
  if (!qs_dataset_fill_inputs (dataset, model, 0, n_images, inputs, error))
    return NULL;
  calib = qs_calibration_new (model, inputs, n_images, progress, progress_data, cancellable, error);
  if (calib != NULL && cache != NULL && key != NULL)
    {
      g_mutex_lock (&cache->lock);
      g_hash_table_replace (cache->entries, g_steal_pointer (&key), qs_calibration_ref (calib));
      g_mutex_unlock (&cache->lock);
    }
  return calib;
}
