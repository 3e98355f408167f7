/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-calib.h"
#include "qs-dataset.h"
#include "qs-engine-int.h"
#include "qs-lowering.h"
#include "qs-parallel.h"
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
  guint       n_threads;   /* of the passes (0: one per processor) */
  guint       n_taps;      /* tap calls per image */
  GPtrArray  *taps;        /* ValueStats of the k-th tap call (not owned) */
  double      seconds;     /* wall time of the min / max pass */
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
      g_clear_pointer (&calib->taps, g_ptr_array_unref);
      g_mutex_clear (&calib->lock);
      g_free (calib);
    }
}

guint
qs_calibration_get_n_images (QsCalibration *calib)
{
  return calib->n_images;
}

double
qs_calibration_get_seconds (QsCalibration *calib)
{
  return calib->seconds;
}

/* The calibration pass runs images in parallel (qs-parallel.h) on one shared float program
 * (qs_engine_int_run_tapped () takes its own workspace per call). The taps of one image come
 * in program order, so the k-th tap of every image is the same value: each image records its
 * statistics in its own row (ImageStats [image][k]) and the rows are merged in image order at
 * the end. min / max / counts merge exactly (MIN and MAX keep the later of equal values, so
 * folding per-image results in image order picks the same +0 / -0 as one sequential fold);
 * sum_sq is summed per image and the per-image sums are added in image order, so every
 * statistic is the same for any number of threads. */
typedef struct
{
  float   lo;
  float   hi;
  guint64 n_values;
  guint64 n_zero;
  guint64 n_nonfinite;
  double  sum_sq;
} ImageStats;

static void
image_stats_add (ImageStats  *s,
                 const float *values,
                 gsize        n)
{
  for (gsize i = 0; i < n; i++)
    if (isfinite (values[i]))
      {
        s->lo = MIN (s->lo, values[i]);
        s->hi = MAX (s->hi, values[i]);
        s->sum_sq += (double) values[i] * values[i];
        s->n_zero += values[i] == 0.0f;
        s->n_values++;
      }
    else
      s->n_nonfinite++;
}

/* What one image's taps write into: row (n_taps entries, or a growing array for the first
 * image, which also records the names). */
typedef struct
{
  ImageStats  *row;
  guint        n_taps;
  guint        next;
  GArray      *first;      /* image 0 only: ImageStats */
  GPtrArray   *names;      /* image 0 only */
  QsHistogram **hists;     /* histogram pass: one per tap, this worker's */
  gboolean     overflow;   /* more taps than image 0 had */
} TapCtx;

static ImageStats
image_stats_init (void)
{
  return (ImageStats) { INFINITY, -INFINITY, 0, 0, 0, 0.0 };
}

static void
minmax_tap (const char  *name,
            const float *values,
            gsize        n,
            gboolean     is_integer,
            gpointer     user_data)
{
  TapCtx *ctx = user_data;

  if (ctx->first != NULL)
    {
      ImageStats s = image_stats_init ();

      image_stats_add (&s, values, n);
      g_array_append_val (ctx->first, s);
      g_ptr_array_add (ctx->names, g_strdup (name));
      return;
    }
  if (ctx->next >= ctx->n_taps)
    {
      ctx->overflow = TRUE;
      return;
    }
  image_stats_add (&ctx->row[ctx->next++], values, n);
}

static void
hist_tap (const char  *name,
          const float *values,
          gsize        n,
          gboolean     is_integer,
          gpointer     user_data)
{
  TapCtx *ctx = user_data;
  guint k = ctx->next;

  if (k >= ctx->n_taps)
    {
      ctx->overflow = TRUE;
      return;
    }
  ctx->next++;
  if (ctx->hists[k] != NULL)
    qs_histogram_add (ctx->hists[k], values, n);
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

typedef struct
{
  QsCalibration   *calib;
  QsEngineInt     *engine;
  QsEngineTapFunc  tap;
  gsize            first;      /* item i is image first + i */
  ImageStats      *rows;       /* minmax pass: one row of n_taps per item */
  QsHistogram   ***hists;      /* histogram pass: per thread, n_taps each (lazily made) */
  gint             done;
  gint             failed;
  GMutex           lock;       /* guards error */
  GError          *error;
  QsProgressFunc   progress;
  gpointer         progress_data;
} Pass;

static void
run_image (gsize    index,
           guint    thread_index,
           gpointer data)
{
  Pass *pass = data;
  QsCalibration *calib = pass->calib;
  TapCtx ctx = { NULL, calib->n_taps, 0 };
  GError *error = NULL;
  gint done;

  if (g_atomic_int_get (&pass->failed))
    return;
  if (pass->rows != NULL)
    {
      ctx.row = pass->rows + index * calib->n_taps;
      for (guint k = 0; k < calib->n_taps; k++)
        ctx.row[k] = image_stats_init ();
    }
  else
    {
      ctx.hists = pass->hists[thread_index];
      for (guint k = 0; k < calib->n_taps; k++)
        if (ctx.hists[k] == NULL)
          {
            const QsHistogram *h = ((ValueStats *) g_ptr_array_index (calib->taps, k))->hist;

            ctx.hists[k] = qs_histogram_new (h->n_bins, h->lo, h->hi);
          }
    }
  if (!qs_engine_int_run_tapped (pass->engine, calib->inputs + (pass->first + index) * calib->in_size,
                                 NULL, pass->tap, &ctx, &error)
      || (ctx.next != calib->n_taps && error == NULL))
    {
      if (error == NULL)
        g_set_error (&error, QS_CALIB_ERROR, QS_CALIB_ERROR_FAILED,
                     _("Calibration image %zu gave %u values where the first image gave %u"),
                     pass->first + index + 1, ctx.next + (ctx.overflow ? 1 : 0), calib->n_taps);
      g_mutex_lock (&pass->lock);
      if (pass->error == NULL)
        pass->error = g_steal_pointer (&error);
      g_mutex_unlock (&pass->lock);
      g_clear_error (&error);
      g_atomic_int_set (&pass->failed, 1);
      return;
    }
  done = g_atomic_int_add (&pass->done, 1) + 1;
  /* progress on the calling thread only (thread 0), as before the pass was parallel */
  if (pass->progress != NULL && thread_index == 0)
    pass->progress ((double) done / calib->n_images, pass->progress_data);
}

static gboolean
run_pass (QsCalibration   *calib,
          Pass            *pass,
          GCancellable    *cancellable,
          GError         **error)
{
  gboolean ok;

  g_mutex_init (&pass->lock);
  ok = qs_parallel_for (calib->n_images - pass->first, calib->n_threads, run_image, pass, cancellable, error);
  g_mutex_clear (&pass->lock);
  if (ok && pass->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&pass->error));
      ok = FALSE;
    }
  g_clear_error (&pass->error);
  return ok;
}

static void
value_stats_merge (ValueStats       *v,
                   const ImageStats *s)
{
  v->lo = MIN (v->lo, s->lo);
  v->hi = MAX (v->hi, s->hi);
  v->n_values += s->n_values;
  v->n_zero += s->n_zero;
  v->n_nonfinite += s->n_nonfinite;
  v->sum_sq += s->sum_sq;
}

/* The min / max pass: image 0 on the calling thread (it names the taps), the others in
 * parallel, then the merge in image order. */
static gboolean
minmax_pass (QsCalibration   *calib,
             QsEngineInt     *engine,
             QsProgressFunc   progress,
             gpointer         progress_data,
             GCancellable    *cancellable,
             GError         **error)
{
  g_autoptr(GArray) first = g_array_new (FALSE, FALSE, sizeof (ImageStats));
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree ImageStats *rows = NULL;
  TapCtx ctx = { NULL };
  Pass pass = { calib, engine, minmax_tap };

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  ctx.first = first;
  ctx.names = names;
  if (!qs_engine_int_run_tapped (engine, calib->inputs, NULL, minmax_tap, &ctx, error))
    return FALSE;
  calib->n_taps = first->len;
  calib->taps = g_ptr_array_new ();
  for (guint k = 0; k < names->len; k++)
    {
      const char *name = g_ptr_array_index (names, k);
      ValueStats *v = g_hash_table_lookup (calib->values, name);

      if (v == NULL)
        {
          v = g_new0 (ValueStats, 1);
          v->lo = INFINITY;
          v->hi = -INFINITY;
          g_hash_table_insert (calib->values, g_strdup (name), v);
        }
      g_ptr_array_add (calib->taps, v);
      value_stats_merge (v, &g_array_index (first, ImageStats, k));
    }
  if (calib->n_images > 1)
    {
      rows = g_try_new (ImageStats, (calib->n_images - 1) * MAX (calib->n_taps, 1));
      if (rows == NULL)
        {
          g_set_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_FAILED,
                       _("Not enough memory for the statistics of %zu calibration images"),
                       calib->n_images);
          return FALSE;
        }
      /* image i (i >= 1) is item i - 1, its row rows[i - 1] */
      pass.first = 1;
      pass.rows = rows;
      pass.progress = progress;
      pass.progress_data = progress_data;
      pass.done = 1;
      if (!run_pass (calib, &pass, cancellable, error))
        return FALSE;
      for (gsize i = 0; i + 1 < calib->n_images; i++)
        for (guint k = 0; k < calib->n_taps; k++)
          value_stats_merge (g_ptr_array_index (calib->taps, k), &rows[i * calib->n_taps + k]);
    }
  if (progress != NULL)
    progress (1.0, progress_data);
  return TRUE;
}

/* The histogram pass (the bins of every value fixed by its min / max): each thread fills
 * histograms of its own, which are summed at the end (integer counts: exact in any order). */
static gboolean
hist_pass (QsCalibration  *calib,
           GError        **error)
{
  g_autoptr(QsEngineInt) engine = float_program (calib->model, error);
  guint n_threads = qs_parallel_n_threads (calib->n_images, calib->n_threads);
  g_autofree QsHistogram ***hists = NULL;
  Pass pass = { calib, engine, hist_tap };
  gboolean ok;

  if (engine == NULL)
    return FALSE;
  hists = g_new0 (QsHistogram **, n_threads);
  for (guint t = 0; t < n_threads; t++)
    hists[t] = g_new0 (QsHistogram *, MAX (calib->n_taps, 1));
  pass.hists = hists;
  ok = run_pass (calib, &pass, NULL, error);
  for (guint t = 0; t < n_threads; t++)
    {
      for (guint k = 0; k < calib->n_taps; k++)
        {
          QsHistogram *h = hists[t][k];
          QsHistogram *dst = ((ValueStats *) g_ptr_array_index (calib->taps, k))->hist;

          if (h == NULL)
            continue;
          if (ok)
            {
              g_assert (h->n_bins == dst->n_bins);
              for (guint b = 0; b < h->n_bins; b++)
                dst->counts[b] += h->counts[b];
              dst->total += h->total;
              dst->underflow += h->underflow;
              dst->overflow += h->overflow;
            }
          qs_histogram_unref (h);
        }
      g_free (hists[t]);
    }
  return ok;
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
  return qs_calibration_new_full (model, inputs, n_images, 0, progress, progress_data,
                                  cancellable, error);
}

/* qs_calibration_new_full () keeping inputs itself (owned: transfer full, freed on failure;
 * else copied), so a caller that filled a buffer for it holds no second copy. */
static QsCalibration *
calibration_new (QsModel        *model,
                 const float    *inputs,
                 float          *owned,
                 gsize           n_images,
                 guint           n_threads,
                 QsProgressFunc  progress,
                 gpointer        progress_data,
                 GCancellable   *cancellable,
                 GError        **error)
{
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) probe = NULL;
  g_autofree float *take = owned;
  gint64 t0;

  if (owned != NULL)
    inputs = owned;
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
  calib->inputs = take != NULL ? g_steal_pointer (&take)
                                : g_memdup2 (inputs, n_images * calib->in_size * sizeof (float));
  calib->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, value_stats_free);
  g_mutex_init (&calib->lock);
  calib->n_threads = n_threads;

  t0 = g_get_monotonic_time ();
  if (!minmax_pass (calib, probe, progress, progress_data, cancellable, error))
    return NULL;
  calib->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return g_steal_pointer (&calib);
}

QsCalibration *
qs_calibration_new_full (QsModel        *model,
                         const float    *inputs,
                         gsize           n_images,
                         guint           n_threads,
                         QsProgressFunc  progress,
                         gpointer        progress_data,
                         GCancellable   *cancellable,
                         GError        **error)
{
  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (inputs != NULL || n_images == 0, NULL);

  return calibration_new (model, inputs, NULL, n_images, n_threads, progress, progress_data,
                          cancellable, error);
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
      if (!hist_pass (calib, error))
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
  return qs_calibration_compile_reusing (calib, model, config, NULL, error);
}

QsEngineInt *
qs_calibration_compile_reusing (QsCalibration *calib,
                                QsModel       *model,
                                QsConfig      *config,
                                QsEngineInt   *previous,
                                GError       **error)
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
  return qs_engine_int_new_reusing (lowering, ranges, previous, error);
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

/* The cache's key for these arguments (NULL: the model has no checksum, never cached). */
static char *
cache_key (QsModel            *model,
           const char         *source,
           const QsPreprocess *preprocess,
           guint               n_images)
{
  const char *checksum = qs_model_get_checksum (model);
  g_autofree char *pp_text = NULL;

  if (checksum == NULL)
    return NULL;
  pp_text = preprocess != NULL ? qs_preprocess_to_string (preprocess) : g_strdup ("auto");
  return g_strdup_printf ("%s|%s|%s|%u", checksum, source, pp_text, n_images);
}

gboolean
qs_calibration_cache_contains (QsCalibrationCache *cache,
                               QsModel            *model,
                               const char         *source,
                               const QsPreprocess *preprocess,
                               guint               n_images)
{
  g_autofree char *key = NULL;
  gboolean found;

  g_return_val_if_fail (QS_IS_MODEL (model), FALSE);
  g_return_val_if_fail (source != NULL, FALSE);

  if (cache == NULL || (key = cache_key (model, source, preprocess, n_images)) == NULL)
    return FALSE;
  g_mutex_lock (&cache->lock);
  found = g_hash_table_contains (cache->entries, key);
  g_mutex_unlock (&cache->lock);
  return found;
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
  if (cache != NULL && (key = cache_key (model, source, preprocess, n_images)) != NULL)
    {
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
  /* the calibration keeps the buffer (no second copy of every image while it runs) */
  calib = calibration_new (model, NULL, g_steal_pointer (&inputs), n_images, 0, progress,
                           progress_data, cancellable, error);
  if (calib != NULL && cache != NULL && key != NULL)
    {
      g_mutex_lock (&cache->lock);
      g_hash_table_replace (cache->entries, g_steal_pointer (&key), qs_calibration_ref (calib));
      g_mutex_unlock (&cache->lock);
    }
  return calib;
}
