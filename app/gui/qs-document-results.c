/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qs-tsan.h"
#include "qs-document-results.h"
#include "qs-recompute.h"

#define EVAL_DEBOUNCE_MS 50
/* Layers with more weights than this get a first answer from a subsample of
 * ESTIMATE_VALUES values (tens of milliseconds) while the exact statistics are computed. */
#define ESTIMATE_MIN_VALUES (2 * 1024 * 1024)
#define ESTIMATE_VALUES     (256 * 1024)
/* Results at least this big are released in a worker (see release_result ()). */
#define RELEASE_IN_WORKER_MIN (256 * 1024)

struct _QsDocumentResults
{
  GObject       parent_instance;

  QsDocument   *document;       /* weak: it owns us */

  QsRecompute  *layer_jobs;     /* key: layer name; exact statistics */
  QsRecompute  *estimate_jobs;  /* key: layer name; big layers' first answer from a sample */
  QsRecompute  *eval_jobs;      /* key: "quick" */
  GHashTable   *results;        /* layer name -> QsQuantResult* */
  GHashTable   *errors;         /* layer name -> GError* */
  GHashTable   *held;           /* layer name -> exact QsQuantResult* waiting for its estimate */
  GHashTable   *submitted;      /* layer name -> QsQuantSpec* last requested */
  QsEvalCache  *eval_cache;     /* float side, program and calibrations between quick runs */
  QsEvalResult *quick_eval;
  GError       *quick_eval_error;
  /* the running quick evaluation's latest chunk (NULL when none is newer than quick_eval);
   * serials: each submitted evaluation's, and the last delivered (chunks of it or of older
   * ones are stale) */
  QsEvalPartial *quick_partial;
  guint         eval_serial;
  guint         delivered_serial;
  struct _EvalLink *eval_link;
  guint         quick_subset;
  guint         hist_bins;
  guint         map_width;
  guint         map_height;
  gboolean      busy;
  gboolean      evaluating;
};

G_DEFINE_FINAL_TYPE (QsDocumentResults, qs_document_results, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BUSY,
  PROP_EVALUATING,
  N_PROPS
};

enum {
  LAYER_RESULT_CHANGED,
  SUMMARY_CHANGED,
  QUICK_EVAL_CHANGED,
  QUICK_EVAL_PROGRESS,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* ---------------------------------------------------------------------------------------- */
/* Releasing results                                                                        */

static void
release_in_worker (gpointer data,
                   gpointer user_data)
{
  QS_TSAN_ACQUIRE (data);   /* release_result () */
  qs_quant_result_unref (data);
}

static gpointer
create_release_pool (gpointer data)
{
  return g_thread_pool_new (release_in_worker, NULL, 1, FALSE, NULL);
}

/* Freeing a big layer's result gives back its dequantized copy and codes (128 MB for a
 * 4096 x 4096 Dense kernel): milliseconds of page unmapping the main thread should not
 * wait for. The document's references to big results are dropped in a worker thread;
 * small ones at once. */
static void
release_result (gpointer data)
{
  static GOnce once = G_ONCE_INIT;
  QsQuantResult *result = data;

  if (result == NULL)
    return;
  if (result->input == NULL || result->input->n_elements < RELEASE_IN_WORKER_MIN)
    {
      qs_quant_result_unref (result);
      return;
    }
  g_once (&once, create_release_pool, NULL);
  QS_TSAN_RELEASE (result);
  g_thread_pool_push (once.retval, result, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Jobs                                                                                     */

typedef struct
{
  QsTensor       *kernel;
  QsQuantSpec     spec;
  QsQuantOptions  options;
  gsize           sample;   /* > 0: an estimate from this many values */
} LayerJob;

static void
layer_job_free (gpointer data)
{
  LayerJob *job = data;

  qs_tensor_unref (job->kernel);
  g_free (job);
}

static gpointer
layer_job_run (gpointer      data,
               GCancellable *cancellable,
               GError      **error)
{
  LayerJob *job = data;

  if (job->sample > 0)
    return qs_quant_run_estimate (job->kernel, &job->spec, &job->options, job->sample,
                                  cancellable, error);
  return qs_quant_run (job->kernel, &job->spec, &job->options, cancellable, error);
}

/* Progressive quick evaluation: the worker posts each chunk's counts to the main thread
 * through a link that holds a weak reference to the results (created and cleared on the
 * main thread; the worker only references the link). */
typedef struct _EvalLink
{
  gint     ref_count;
  GWeakRef owner;
} EvalLink;

static EvalLink *
eval_link_ref (EvalLink *link)
{
  g_atomic_int_inc (&link->ref_count);
  return link;
}

static void
eval_link_unref (EvalLink *link)
{
  if (g_atomic_int_dec_and_test (&link->ref_count))
    {
      g_weak_ref_clear (&link->owner);
      g_free (link);
    }
}

typedef struct
{
  QsModel       *model;
  QsConfig      *config;
  QsDataset     *dataset;
  QsEvalOptions  options;
  EvalLink      *link;
  guint          serial;
} EvalJob;

typedef struct
{
  EvalLink      *link;
  guint          serial;
  QsEvalPartial  partial;
} EvalChunk;

static void
eval_chunk_free (gpointer data)
{
  EvalChunk *chunk = data;

  eval_link_unref (chunk->link);
  g_free (chunk);
}

/* Main thread: shows a chunk unless a newer evaluation was submitted, or its own final
 * result (or a bigger chunk) is already shown. */
static gboolean
eval_chunk_apply (gpointer data)
{
  EvalChunk *chunk = data;
  g_autoptr(QsDocumentResults) self = g_weak_ref_get (&chunk->link->owner);

  if (self == NULL || self->document == NULL || chunk->serial != self->eval_serial
      || chunk->serial == self->delivered_serial
      || chunk->partial.n_images >= chunk->partial.n_total
      || (self->quick_partial != NULL && self->quick_partial->n_images >= chunk->partial.n_images))
    return G_SOURCE_REMOVE;
  g_free (self->quick_partial);
  self->quick_partial = g_memdup2 (&chunk->partial, sizeof chunk->partial);
  g_signal_emit (self, signals[QUICK_EVAL_PROGRESS], 0);
  return G_SOURCE_REMOVE;
}

/* Worker thread. The last chunk is the final result: it comes through the scheduler. */
static void
eval_job_partial (const QsEvalPartial *partial,
                  gpointer             user_data)
{
  EvalJob *job = user_data;
  EvalChunk *chunk;

  if (partial->n_images >= partial->n_total)
    return;
  chunk = g_new0 (EvalChunk, 1);
  chunk->link = eval_link_ref (job->link);
  chunk->serial = job->serial;
  chunk->partial = *partial;
  g_idle_add_full (G_PRIORITY_DEFAULT, eval_chunk_apply, chunk, eval_chunk_free);
}

static void
eval_job_free (gpointer data)
{
  EvalJob *job = data;

  g_clear_pointer (&job->link, eval_link_unref);
  g_object_unref (job->model);
  g_object_unref (job->config);
  g_object_unref (job->dataset);
  g_clear_pointer (&job->options.cache, qs_eval_cache_unref);
  g_free (job);
}

static gpointer
eval_job_run (gpointer      data,
              GCancellable *cancellable,
              GError      **error)
{
  EvalJob *job = data;

  return qs_eval_run (job->model, job->config, job->dataset, &job->options,
                      NULL, NULL, cancellable, error);
}

static void
layer_job_done (QsRecompute  *recompute,
                const char   *key,
                gpointer      result,
                const GError *error,
                gpointer      user_data)
{
  QsDocumentResults *self = user_data;

  if (error != NULL)
    {
      g_hash_table_remove (self->results, key);
      g_hash_table_insert (self->errors, g_strdup (key), g_error_copy (error));
    }
  else if (qs_recompute_key_is_busy (self->estimate_jobs, key))
    {
      /* The estimate of the same request is on its way (tens of milliseconds): it is shown
       * first and this replaces it at once, so the order is always estimate, then exact. */
      g_hash_table_insert (self->held, g_strdup (key), qs_quant_result_ref (result));
      return;
    }
  else
    {
      g_hash_table_remove (self->errors, key);
      g_hash_table_insert (self->results, g_strdup (key), qs_quant_result_ref (result));
    }
  g_signal_emit (self, signals[LAYER_RESULT_CHANGED], 0, key);
  g_signal_emit (self, signals[SUMMARY_CHANGED], 0);
}

static void
estimate_job_done (QsRecompute  *recompute,
                   const char   *key,
                   gpointer      result,
                   const GError *error,
                   gpointer      user_data)
{
  QsDocumentResults *self = user_data;
  gpointer held_key = NULL, exact = NULL;

  /* Errors are the exact job's to report; an estimate never replaces the exact result of
   * the same request (results and errors are cleared when a new one is submitted). */
  if (error == NULL && !g_hash_table_contains (self->results, key) &&
      !g_hash_table_contains (self->errors, key))
    {
      g_hash_table_insert (self->results, g_strdup (key), qs_quant_result_ref (result));
      g_signal_emit (self, signals[LAYER_RESULT_CHANGED], 0, key);
    }
  /* the exact result that finished first */
  if (g_hash_table_steal_extended (self->held, key, &held_key, &exact))
    {
      g_hash_table_insert (self->results, held_key, exact);
      g_signal_emit (self, signals[LAYER_RESULT_CHANGED], 0, key);
    }
  g_signal_emit (self, signals[SUMMARY_CHANGED], 0);
}

static void
eval_job_done (QsRecompute  *recompute,
               const char   *key,
               gpointer      result,
               const GError *error,
               gpointer      user_data)
{
  QsDocumentResults *self = user_data;

  g_clear_pointer (&self->quick_eval, qs_eval_result_unref);
  g_clear_error (&self->quick_eval_error);
  g_clear_pointer (&self->quick_partial, g_free);
  /* the scheduler delivers only the newest request's result */
  self->delivered_serial = self->eval_serial;
  if (error != NULL)
    self->quick_eval_error = g_error_copy (error);
  else
    self->quick_eval = qs_eval_result_ref (result);
  g_signal_emit (self, signals[QUICK_EVAL_CHANGED], 0);
}

/* The schedulers notify "busy" on every request and delivery: pass on real changes only. */
static void
update_busy (QsDocumentResults *self)
{
  gboolean evaluating = qs_recompute_is_busy (self->eval_jobs);
  gboolean busy = evaluating || qs_recompute_is_busy (self->layer_jobs) ||
                  qs_recompute_is_busy (self->estimate_jobs);

  g_object_freeze_notify (G_OBJECT (self));
  if (evaluating != self->evaluating)
    {
      self->evaluating = evaluating;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EVALUATING]);
    }
  if (busy != self->busy)
    {
      self->busy = busy;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
submit_layer (QsDocumentResults *self,
              const QsLayer     *layer,
              const QsQuantSpec *spec)
{
  QsTensor *kernel = qs_layer_get_kernel (layer);
  LayerJob *job;
  gsize rows, cols;

  if (kernel == NULL)
    return;

  job = g_new0 (LayerJob, 1);
  job->kernel = qs_tensor_ref (kernel);
  job->spec = *spec;
  /* The heatmap needs the fake-quantized values and codes for its modes and zoom. */
  job->options.want_dequant = TRUE;
  job->options.want_codes = TRUE;
  job->options.hist_bins = self->hist_bins;
  job->options.hist_channel = -1;
  qs_tensor_matrix_shape (kernel, &rows, &cols);
  job->options.map_width = (guint) MIN ((gsize) self->map_width, cols);
  job->options.map_height = (guint) MIN ((gsize) self->map_height, rows);

  /* A big layer first gets statistics from a strided sample, labelled as an estimate, in
   * its own scheduler so it does not wait behind exact passes; the exact result replaces
   * it. */
  if (kernel->n_elements > ESTIMATE_MIN_VALUES)
    {
      LayerJob *estimate = g_memdup2 (job, sizeof *job);
      gsize sample_rows = MAX (ESTIMATE_VALUES / MAX (cols, 1), 1);

      estimate->kernel = qs_tensor_ref (kernel);
      estimate->sample = ESTIMATE_VALUES;
      estimate->options.map_height = (guint) MIN ((gsize) self->map_height, sample_rows);
      qs_recompute_submit (self->estimate_jobs, layer->name, 0, layer_job_run, estimate,
                           layer_job_free);
    }
  else
    qs_recompute_cancel (self->estimate_jobs, layer->name);
  qs_recompute_submit (self->layer_jobs, layer->name, 0, layer_job_run, job, layer_job_free);
}

void
qs_document_results_update_eval (QsDocumentResults *self)
{
  EvalJob *job;

  g_return_if_fail (QS_IS_DOCUMENT_RESULTS (self));

  if (self->document == NULL || !qs_document_can_evaluate (self->document, NULL))
    return;

  job = g_new0 (EvalJob, 1);
  job->model = g_object_ref (qs_document_get_model (self->document));
  job->config = qs_config_copy (qs_document_get_config (self->document));
  job->dataset = g_object_ref (qs_document_get_dataset (self->document));
  job->options.limit = self->quick_subset;
  job->options.cache = qs_eval_cache_ref (self->eval_cache);
  /* a first answer from a few images, refined in place (qs_document_get_quick_eval_partial) */
  job->options.partial = eval_job_partial;
  job->options.partial_data = job;
  job->link = eval_link_ref (self->eval_link);
  job->serial = ++self->eval_serial;
  /* the running evaluation's chunks are of the old config: drop the one shown */
  if (self->quick_partial != NULL)
    {
      g_clear_pointer (&self->quick_partial, g_free);
      g_signal_emit (self, signals[QUICK_EVAL_PROGRESS], 0);
    }
  qs_recompute_submit (self->eval_jobs, "quick", EVAL_DEBOUNCE_MS, eval_job_run, job, eval_job_free);
}

void
qs_document_results_update (QsDocumentResults *self,
                            gboolean           force)
{
  QsModel *model;
  QsConfig *config;
  guint n;

  g_return_if_fail (QS_IS_DOCUMENT_RESULTS (self));

  if (self->document == NULL)
    return;

  model = qs_document_get_model (self->document);
  config = qs_document_get_config (self->document);
  n = qs_model_get_n_layers (model);
  /* Small layers first (pass 0), then the big ones, which show an estimate meanwhile: the
   * exact passes run a few at a time, and the model's summary is complete as soon as every
   * small layer is exact and every big one has its estimate. The layer on screen goes
   * before all others (the schedulers' priority key). */
  for (guint i = 0; i < 2 * n; i++)
    {
      const QsLayer *layer = qs_model_get_layer (model, i % n);
      QsTensor *kernel = qs_layer_get_kernel (layer);
      QsLayerConfig lc;
      QsQuantSpec *last;

      if (kernel == NULL || (kernel->n_elements > ESTIMATE_MIN_VALUES) != (i >= n))
        continue;

      qs_config_get_layer (config, layer->name, &lc);
      last = g_hash_table_lookup (self->submitted, layer->name);
      if (!force && last != NULL && qs_quant_spec_equal (last, &lc.weight))
        continue;

      g_hash_table_insert (self->submitted, g_strdup (layer->name), g_memdup2 (&lc.weight, sizeof lc.weight));
      g_hash_table_remove (self->results, layer->name);
      g_hash_table_remove (self->errors, layer->name);
      g_hash_table_remove (self->held, layer->name);
      submit_layer (self, layer, &lc.weight);
    }
  qs_document_results_update_eval (self);
  g_signal_emit (self, signals[SUMMARY_CHANGED], 0);
}

void
qs_document_results_shutdown (QsDocumentResults *self)
{
  g_return_if_fail (QS_IS_DOCUMENT_RESULTS (self));

  qs_recompute_shutdown (self->layer_jobs);
  qs_recompute_shutdown (self->estimate_jobs);
  qs_recompute_shutdown (self->eval_jobs);
}

void
qs_document_results_set_focus_layer (QsDocumentResults *self,
                                      const char        *layer)
{
  g_return_if_fail (QS_IS_DOCUMENT_RESULTS (self));

  qs_recompute_set_priority_key (self->layer_jobs, layer);
  qs_recompute_set_priority_key (self->estimate_jobs, layer);
}

/* ---------------------------------------------------------------------------------------- */
/* Results                                                                                  */

QsQuantResult *
qs_document_results_get_layer_result (QsDocumentResults *self,
                                      const char        *layer)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), NULL);
  return g_hash_table_lookup (self->results, layer);
}

const GError *
qs_document_results_get_layer_error (QsDocumentResults *self,
                                     const char        *layer)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), NULL);
  return g_hash_table_lookup (self->errors, layer);
}

gboolean
qs_document_results_get_layer_busy (QsDocumentResults *self,
                                    const char        *layer)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), FALSE);
  g_return_val_if_fail (layer != NULL, FALSE);
  return qs_recompute_key_is_busy (self->layer_jobs, layer);
}

void
qs_document_results_get_summary (QsDocumentResults *self,
                                 QsSummary         *out)
{
  guint n;
  double signal = 0, noise = 0;
  QsModel *model;
  QsConfig *config;
  QsCost cost;

  g_return_if_fail (QS_IS_DOCUMENT_RESULTS (self));
  g_return_if_fail (out != NULL);

  memset (out, 0, sizeof *out);
  if (self->document == NULL)
    return;
  model = qs_document_get_model (self->document);
  config = qs_document_get_config (self->document);
  n = qs_model_get_n_layers (model);

  /* Bytes and operations: core's cost model of the lowering, the numbers
   * `quantscope-cli quantize` prints for the same config. */
  qs_cost_compute (model, config, &cost);
  out->float_bytes = cost.float_weight_bytes;
  out->quant_bytes = cost.weight_bytes;
  out->peak_activation_bytes = cost.peak_activation_bytes;
  out->peak_activation_float_bytes = cost.float_peak_activation_bytes;
  out->macs = cost.macs;
  out->bit_ops = cost.bit_ops;
  out->energy_pj = cost.energy_pj;
  out->energy_compute_pj = cost.energy_compute_pj;
  out->energy_weights_pj = cost.energy_weights_pj;
  out->energy_activations_pj = cost.energy_activations_pj;
  out->has_program = cost.has_program;

  /* Quality: the live statistics of each layer's kernel. */
  for (guint i = 0; i < n; i++)
    {
      const QsLayer *layer = qs_model_get_layer (model, i);
      QsQuantResult *result;

      if (qs_layer_get_kernel (layer) == NULL)
        continue;
      result = g_hash_table_lookup (self->results, layer->name);
      if (result != NULL)
        {
          /* an estimate's n_values is already scaled to the whole kernel */
          signal += result->stats.signal_power * (double) result->stats.n_values;
          noise += result->stats.mse * (double) result->stats.n_values;
          if (result->is_estimate)
            out->n_layers_estimated++;
        }
      else if (g_hash_table_contains (self->errors, layer->name))
        out->n_layers_failed++;
      else
        out->n_layers_pending++;
    }

  out->ratio = out->quant_bytes > 0 ? (double) out->float_bytes / (double) out->quant_bytes : 1.0;
  if (signal <= 0)
    out->weighted_sqnr_db = NAN;
  else if (noise <= 0)
    out->weighted_sqnr_db = INFINITY;
  else
    out->weighted_sqnr_db = 10.0 * log10 (signal / noise);
}

QsEvalResult *
qs_document_results_get_quick_eval (QsDocumentResults *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), NULL);
  return self->quick_eval;
}

const QsEvalPartial *
qs_document_results_get_quick_eval_partial (QsDocumentResults *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), NULL);
  return self->quick_partial;
}

const GError *
qs_document_results_get_quick_eval_error (QsDocumentResults *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), NULL);
  return self->quick_eval_error;
}

gboolean
qs_document_results_get_busy (QsDocumentResults *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), FALSE);
  return self->busy;
}

gboolean
qs_document_results_get_evaluating (QsDocumentResults *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), FALSE);
  return self->evaluating;
}

void
qs_document_results_set_quick_subset (QsDocumentResults *self,
                                      guint              n_images)
{
  g_return_if_fail (QS_IS_DOCUMENT_RESULTS (self));

  n_images = CLAMP (n_images, 100, 10000);
  if (n_images == self->quick_subset)
    return;
  self->quick_subset = n_images;
  qs_document_results_update_eval (self);
}

QsEvalCache *
qs_document_results_get_eval_cache (QsDocumentResults *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), NULL);
  return self->eval_cache;
}

guint
qs_document_results_get_quick_subset (QsDocumentResults *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT_RESULTS (self), 0);
  return self->quick_subset;
}

void
qs_document_results_set_view_options (QsDocumentResults *self,
                                      guint              hist_bins,
                                      guint              map_width,
                                      guint              map_height)
{
  g_return_if_fail (QS_IS_DOCUMENT_RESULTS (self));

  self->hist_bins = hist_bins;
  self->map_width = map_width;
  self->map_height = map_height;
}

/* ---------------------------------------------------------------------------------------- */
/* GObject                                                                                  */

static void
qs_document_results_dispose (GObject *object)
{
  QsDocumentResults *self = QS_DOCUMENT_RESULTS (object);

  if (self->layer_jobs != NULL)
    qs_recompute_shutdown (self->layer_jobs);
  if (self->estimate_jobs != NULL)
    qs_recompute_shutdown (self->estimate_jobs);
  if (self->eval_jobs != NULL)
    qs_recompute_shutdown (self->eval_jobs);
  g_clear_weak_pointer (&self->document);

  G_OBJECT_CLASS (qs_document_results_parent_class)->dispose (object);
}

static void
qs_document_results_finalize (GObject *object)
{
  QsDocumentResults *self = QS_DOCUMENT_RESULTS (object);

  g_clear_object (&self->layer_jobs);
  g_clear_object (&self->estimate_jobs);
  g_clear_object (&self->eval_jobs);
  g_clear_pointer (&self->eval_cache, qs_eval_cache_unref);
  g_clear_pointer (&self->results, g_hash_table_unref);
  g_clear_pointer (&self->errors, g_hash_table_unref);
  g_clear_pointer (&self->held, g_hash_table_unref);
  g_clear_pointer (&self->submitted, g_hash_table_unref);
  g_clear_pointer (&self->quick_eval, qs_eval_result_unref);
  g_clear_error (&self->quick_eval_error);
  g_clear_pointer (&self->quick_partial, g_free);
  g_clear_pointer (&self->eval_link, eval_link_unref);

  G_OBJECT_CLASS (qs_document_results_parent_class)->finalize (object);
}

static void
qs_document_results_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  QsDocumentResults *self = QS_DOCUMENT_RESULTS (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_EVALUATING:
      g_value_set_boolean (value, self->evaluating);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_document_results_class_init (QsDocumentResultsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_document_results_dispose;
  object_class->finalize = qs_document_results_finalize;
  object_class->get_property = qs_document_results_get_property;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EVALUATING] =
    g_param_spec_boolean ("evaluating", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[LAYER_RESULT_CHANGED] =
    g_signal_new ("layer-result-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SUMMARY_CHANGED] =
    g_signal_new ("summary-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[QUICK_EVAL_CHANGED] =
    g_signal_new ("quick-eval-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[QUICK_EVAL_PROGRESS] =
    g_signal_new ("quick-eval-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
qs_document_results_init (QsDocumentResults *self)
{
  self->results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, release_result);
  self->errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_error_free);
  self->held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, release_result);
  self->submitted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->layer_jobs = qs_recompute_new (layer_job_done, self, release_result);
  self->estimate_jobs = qs_recompute_new (estimate_job_done, self, release_result);
  /* One exact pass per spare core, one estimate at a time beside them: the layer on screen
   * (the priority key) starts first, the rest in model order, so opening a big model does
   * not start every layer's pass at once. */
  qs_recompute_set_max_running (self->layer_jobs, MAX (g_get_num_processors () - 1, 1));
  qs_recompute_set_max_running (self->estimate_jobs, 1);
  self->eval_jobs = qs_recompute_new (eval_job_done, self, (GDestroyNotify) qs_eval_result_unref);
  /* the accuracy's first answer goes before the statistics of a preset's every layer */
  qs_recompute_set_urgent (self->eval_jobs, TRUE);
  self->eval_cache = qs_eval_cache_new ();
  self->eval_link = g_new0 (EvalLink, 1);
  self->eval_link->ref_count = 1;
  g_weak_ref_init (&self->eval_link->owner, self);
  g_signal_connect_object (self->layer_jobs, "notify::busy",
                           G_CALLBACK (update_busy), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->estimate_jobs, "notify::busy",
                           G_CALLBACK (update_busy), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->eval_jobs, "notify::busy",
                           G_CALLBACK (update_busy), self, G_CONNECT_SWAPPED);
  self->quick_subset = 1000;
  self->hist_bins = 128;
  self->map_width = 128;
  self->map_height = 128;
}

QsDocumentResults *
qs_document_results_new (QsDocument *document)
{
  QsDocumentResults *self;

  g_return_val_if_fail (QS_IS_DOCUMENT (document), NULL);

  self = g_object_new (QS_TYPE_DOCUMENT_RESULTS, NULL);
  g_set_weak_pointer (&self->document, document);
  return self;
}
