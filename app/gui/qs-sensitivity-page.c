/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <glib/gi18n.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "qs-analysis-view.h"
#include "qs-lowering.h"
#include "qs-sensitivity-page.h"
#include "qs-target-ui.h"

/* Front points kept for the plot (each one is measured: one evaluation each). */
#define FRONT_POINTS 10

struct _QsSensitivityPage
{
  AdwBin          parent_instance;

  /* Template widgets */
  GtkRevealer    *progress_revealer;
  GtkLabel       *progress_label;
  GtkProgressBar *progress_bar;
  GtkStack       *page_stack;
  AdwStatusPage  *empty_page;
  GtkLabel       *sens_subtitle;
  QsAnalysisView *sens_view;
  GtkLabel       *front_subtitle;
  QsAnalysisView *front_view;
  AdwComboRow    *budget_kind_row;
  GtkSpinButton  *budget_spin;
  GtkLabel       *search_label;

  /* State */
  QsDocument     *document;
  gulong          config_changed_id;
  gulong          eval_changed_id;
  QsSensitivity  *sensitivity;     /* cached for (model, dataset, n_images) below */
  QsFront        *front;
  QsModel        *cached_model;    /* not a reference: compared only */
  QsDataset      *cached_dataset;
  guint           cached_images;
  GCancellable   *cancellable;     /* the running job's, NULL when idle */
  GTask          *task;            /* the running job */
  guint           progress_id;
  GtkFileChooserNative *chooser;
  QsAnalysisView *export_view;
};

G_DEFINE_FINAL_TYPE (QsSensitivityPage, qs_sensitivity_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_RUNNING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---------------------------------------------------------------------------------------- */
/* The worker                                                                               */

typedef struct
{
  QsModel       *model;
  QsDataset     *dataset;
  guint          n_images;
  QsSensitivity *sensitivity;   /* search: the input; run: NULL */
  gboolean       search;
  QsBudgetKind   kind;
  double         limit;
  gint           progress;      /* permille, atomic: written by the worker, read by a timeout */
  QsTarget      *target;        /* the document's deployment target, nullable */
} Job;

typedef struct
{
  QsSensitivity *sensitivity;
  QsFront       *front;
  gint           chosen;        /* search: the point to apply */
} JobResult;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_object (&job->model);
  g_clear_object (&job->dataset);
  g_clear_pointer (&job->sensitivity, qs_sensitivity_unref);
  g_clear_pointer (&job->target, qs_target_unref);
  g_free (job);
}

static void
job_result_free (gpointer data)
{
  JobResult *r = data;

  g_clear_pointer (&r->sensitivity, qs_sensitivity_unref);
  g_clear_pointer (&r->front, qs_front_unref);
  g_free (r);
}

static void
job_progress (double   fraction,
              gpointer data)
{
  Job *job = data;

  /* the sensitivity is most of the work; the front's measurements the rest */
  g_atomic_int_set (&job->progress, (gint) (fraction * 800));
}

/* A copy of s in which a format the target has no kernel for on a layer's kind costs the
 * whole accuracy, so that the front keeps to what the target runs (as `quantscope-cli search
 * --target` does); the core decides, through qs_target_accepts_weight (). */
static QsSensitivity *
sensitivity_for_target (QsSensitivity *s,
                        QsModel       *model,
                        QsTarget      *target)
{
  QsSensitivity *t = g_memdup2 (s, sizeof *s);

  t->ref_count = 1;
  t->all_drop = s->all_drop != NULL && s->layers != NULL && s->n_layers > 0
    ? g_memdup2 (s->all_drop, s->layers[0].n_formats * sizeof (double)) : NULL;
  t->layers = g_memdup2 (s->layers, s->n_layers * sizeof (QsSensitivityLayer));
  for (guint l = 0; l < s->n_layers; l++)
    {
      QsSensitivityLayer *dst = &t->layers[l];
      const QsSensitivityLayer *src = &s->layers[l];
      const QsLayer *layer = qs_model_find_layer (model, src->layer);
      guint n = src->n_formats;

      dst->layer = g_strdup (src->layer);
      dst->formats = g_strdupv (src->formats);
      dst->drop = g_memdup2 (src->drop, n * sizeof (double));
      dst->bytes = g_memdup2 (src->bytes, n * sizeof (guint64));
      dst->sqnr_db = g_memdup2 (src->sqnr_db, n * sizeof (double));
      dst->weight_bits = g_memdup2 (src->weight_bits, n * sizeof (guint));
      for (guint f = 0; f < n; f++)
        {
          QsQuantSpec spec;

          if (layer != NULL && qs_analysis_parse_format (src->formats[f], &spec, NULL)
              && !qs_target_accepts_weight (target, layer->kind, &spec, NULL))
            dst->drop[f] = 1e6;
        }
    }
  return t;
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  /* leave a core to the main thread: the helpers of qs-parallel run at normal priority */
  QsAnalysisOptions opts = { .n_images = job->n_images,
                             .n_threads = MAX (g_get_num_processors (), 2) - 1 };
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  g_autoptr(QsSensitivity) s = NULL;
  g_autoptr(QsFront) front = NULL;
  GError *error = NULL;
  JobResult *r;
  gint chosen = -1;

  opts.cache = cache;
  if (job->sensitivity != NULL)
    s = qs_sensitivity_ref (job->sensitivity);
  else
    {
      g_auto(GStrv) formats = job->target != NULL ? qs_target_filter_formats (job->target, NULL) : NULL;

      if (formats != NULL && formats[0] == NULL)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                   _("%s accepts none of the weight formats the analysis knows"),
                                   qs_target_get_display_title (job->target));
          return;
        }
      s = qs_sensitivity_run (job->model, job->dataset, (const char * const *) formats, &opts,
                              job_progress, job, cancellable, &error);
      if (s == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_atomic_int_set (&job->progress, 800);
  if (job->target != NULL)
    {
      /* the front of the target's formats; the page keeps showing the measured sensitivity */
      g_autoptr(QsSensitivity) ts = sensitivity_for_target (s, job->model, job->target);

      front = qs_front_build (ts, FRONT_POINTS);
      qs_target_filter_front (job->target, job->model, front);
      if (front->n_points == 0)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                   _("No mix of the measured formats runs on %s"),
                                   qs_target_get_display_title (job->target));
          return;
        }
    }
  else
    front = qs_front_build (s, FRONT_POINTS);
  if (!qs_front_verify (front, job->model, job->dataset, s, &opts, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_atomic_int_set (&job->progress, 900);
  if (job->search)
    {
      const QsFrontPoint *p;

      if (job->kind == QS_BUDGET_MAX_DROP
          && !qs_front_refine (front, job->model, job->dataset, s, job->limit, &opts,
                               cancellable, &error))
        {
          g_task_return_error (task, error);
          return;
        }
      p = job->kind == QS_BUDGET_MAX_BYTES
        ? qs_front_choose (front, (guint64) MAX (job->limit * 1024.0, 1.0), -1.0, &error)
        : qs_front_choose (front, 0, job->limit, &error);
      if (p == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      chosen = (gint) (p - front->points);
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  g_atomic_int_set (&job->progress, 1000);
  r = g_new0 (JobResult, 1);
  r->sensitivity = g_steal_pointer (&s);
  r->front = g_steal_pointer (&front);
  r->chosen = chosen;
  g_task_return_pointer (task, r, job_result_free);
}

/* ---------------------------------------------------------------------------------------- */
/* Display                                                                                  */

/* Where the current config sits: its kernels' bytes, and the quick accuracy drop. */
static void
current_marker (QsSensitivityPage  *self,
                QsChartFrontMarker *marker)
{
  QsConfig *config;
  QsModel *model;
  QsEvalResult *eval;

  marker->valid = FALSE;
  marker->drop = NAN;
  marker->weight_bytes = 0;
  if (self->document == NULL || self->sensitivity == NULL)
    return;
  config = qs_document_get_config (self->document);
  model = qs_document_get_model (self->document);
  for (guint l = 0; l < self->sensitivity->n_layers; l++)
    {
      const char *name = self->sensitivity->layers[l].layer;
      const QsLayer *layer = qs_model_find_layer (model, name);
      QsTensor *kernel = layer ? qs_layer_get_kernel (layer) : NULL;
      QsLayerConfig lc;
      QsQuantSpec resolved;

      if (kernel == NULL)
        return;
      qs_config_get_layer (config, name, &lc);
      qs_config_resolve_weight_spec (&lc.weight, kernel, &resolved);
      marker->weight_bytes += (qs_lowering_kernel_storage_bits (kernel, &resolved) + 7) / 8;
    }
  eval = qs_document_get_quick_eval (self->document);
  if (eval != NULL && !isnan (eval->quant_top1) && self->sensitivity->labelled)
    marker->drop = 100.0 * (eval->float_top1 - eval->quant_top1);
  else if (eval != NULL && !self->sensitivity->labelled)
    marker->drop = 100.0 * (1.0 - eval->agreement);
  marker->valid = TRUE;
}

static void
update_views (QsSensitivityPage *self)
{
  QsChartFrontMarker marker;
  g_autofree char *subtitle = NULL;

  current_marker (self, &marker);
  qs_analysis_view_set_data (self->sens_view, self->sensitivity, NULL, NULL);
  qs_analysis_view_set_data (self->front_view, NULL, self->front, &marker);
  gtk_stack_set_visible_child_name (self->page_stack, self->sensitivity ? "results" : "empty");
  if (self->sensitivity == NULL)
    return;
  if (self->sensitivity->labelled)
    /* Translators: %u images, %.1f seconds, %.2f%% the float model's top-1 accuracy */
    subtitle = g_strdup_printf (_("Accuracy drop in points when only that layer's weights take the "
                                  "format, over %u images (%.1f s). Float top-1: %.2f%%."),
                                self->sensitivity->n_images, self->sensitivity->seconds,
                                100.0 * self->sensitivity->float_top1);
  else
    subtitle = g_strdup_printf (_("Disagreement with the float model in points when only that layer's "
                                  "weights take the format, over %u unlabelled images (%.1f s)."),
                                self->sensitivity->n_images, self->sensitivity->seconds);
  gtk_label_set_label (self->sens_subtitle, subtitle);
  gtk_label_set_label (self->front_subtitle,
                       _("The best mix of weight formats for each kernel size, each one measured "
                         "(activations in float). The cross is the current config with its "
                         "activation settings. Click a point to apply it."));
}

/* The measurement covers the target's formats only: another target measures again. */
static void
on_target_changed (QsSensitivityPage *self)
{
  qs_sensitivity_page_cancel (self);
  g_clear_pointer (&self->sensitivity, qs_sensitivity_unref);
  g_clear_pointer (&self->front, qs_front_unref);
  self->cached_model = NULL;
  self->cached_dataset = NULL;
  gtk_label_set_label (self->search_label, "");
  update_views (self);
}

static void
on_config_changed (QsSensitivityPage *self)
{
  if (self->sensitivity != NULL)
    update_views (self);
}

static gboolean
progress_tick (gpointer data)
{
  QsSensitivityPage *self = data;
  Job *job;

  if (self->task == NULL)
    {
      self->progress_id = 0;
      return G_SOURCE_REMOVE;
    }
  job = g_task_get_task_data (self->task);
  gtk_progress_bar_set_fraction (self->progress_bar, g_atomic_int_get (&job->progress) / 1000.0);
  return G_SOURCE_CONTINUE;
}

static void
set_running (QsSensitivityPage *self,
             GTask             *task,
             const char        *what)
{
  gboolean was = self->task != NULL;

  g_clear_object (&self->task);
  if (task != NULL)
    self->task = g_object_ref (task);
  if (task == NULL)
    g_clear_object (&self->cancellable);
  gtk_revealer_set_reveal_child (self->progress_revealer, task != NULL);
  if (what != NULL)
    gtk_label_set_label (self->progress_label, what);
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  if (task != NULL && self->progress_id == 0)
    self->progress_id = g_timeout_add (100, progress_tick, self);
  else if (task == NULL)
    g_clear_handle_id (&self->progress_id, g_source_remove);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sensitivity.run", task == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sensitivity.search",
                                 task == NULL && self->sensitivity != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sensitivity.cancel", task != NULL);
  if (was != (task != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static QsConfig *
config_for_point (QsSensitivityPage  *self,
                  const QsFrontPoint *p)
{
  QsConfig *config = qs_config_copy (qs_document_get_config (self->document));

  /* the weights of the point, everything else (activations) as the user has it */
  for (guint l = 0; l < self->front->n_layers; l++)
    {
      QsLayerConfig lc;

      qs_config_get_layer (config, self->front->layers[l], &lc);
      if (!qs_analysis_parse_format (p->choice[l], &lc.weight, NULL))
        g_assert_not_reached ();
      qs_config_set_layer (config, self->front->layers[l], &lc);
    }
  return config;
}

static void
describe_point (QsSensitivityPage  *self,
                const QsFrontPoint *p,
                const char         *prefix)
{
  g_autofree char *size = g_format_size_full (p->weight_bytes, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *text = NULL;

  /* Translators: "Applied: 31.2 KiB of kernels (26% of float), measured drop 0.40 points" */
  text = g_strdup_printf (_("%s: %s of kernels (%.0f%% of float), measured drop %.2f points"),
                          prefix, size, 100.0 * p->weight_bytes / MAX (self->front->float_bytes, 1),
                          isnan (p->measured_drop) ? p->predicted_drop : p->measured_drop);
  gtk_label_set_label (self->search_label, text);
}

static void on_budget_kind_changed (QsSensitivityPage *self);

static void
job_done (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  QsSensitivityPage *self = QS_SENSITIVITY_PAGE (object);
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  JobResult *r = g_task_propagate_pointer (task, &error);

  if (task != self->task)
    {
      g_clear_pointer (&r, job_result_free);
      return;
    }
  set_running (self, NULL, NULL);
  if (r == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_label (self->search_label, _("Cancelled: nothing was changed."));
      else
        {
          g_autofree char *text = g_strdup_printf (_("Could not finish: %s"), error->message);

          gtk_label_set_label (self->search_label, text);
          if (self->sensitivity == NULL)
            adw_status_page_set_description (self->empty_page, text);
        }
      return;
    }
  if (self->sensitivity != r->sensitivity)
    {
      g_clear_pointer (&self->sensitivity, qs_sensitivity_unref);
      self->sensitivity = qs_sensitivity_ref (r->sensitivity);
    }
  self->cached_model = job->model;
  self->cached_dataset = job->dataset;
  self->cached_images = job->n_images;
  g_clear_pointer (&self->front, qs_front_unref);
  self->front = qs_front_ref (r->front);
  if (r->chosen >= 0)
    {
      const QsFrontPoint *p = &self->front->points[r->chosen];
      g_autoptr(QsConfig) config = config_for_point (self, p);

      /* Translators: an undo step */
      qs_document_set_config (self->document, config, _("Apply Mixed Precision"));
      describe_point (self, p, _("Applied"));
    }
  else
    {
      gtk_label_set_label (self->search_label, "");
      /* a fresh measurement: a budget that means something for this model */
      on_budget_kind_changed (self);
    }
  set_running (self, NULL, NULL);
  update_views (self);
  job_result_free (r);
}

static gboolean
drop_task_ref (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

/* Each job runs in a thread of its own that lowers its priority (nice + 5 on Linux, as
 * QsRecompute's pool does), so that on a busy machine the main thread, which draws and
 * handles input, wins the cores; a thread of its own because the nice value cannot be
 * raised back on a shared pool thread. */
static gpointer
job_thread_main (gpointer data)
{
  GTask *task = data;

#ifdef __linux__
  {
    id_t tid = (id_t) syscall (SYS_gettid);
    int nice_value;

    errno = 0;
    nice_value = getpriority (PRIO_PROCESS, tid);
    if (errno == 0)
      setpriority (PRIO_PROCESS, tid, MIN (nice_value + 5, 19));
  }
#endif
  job_thread (task, g_task_get_source_object (task), g_task_get_task_data (task),
              g_task_get_cancellable (task));
  /* The thread's reference goes back to the main thread: dropped here it could be the last
   * one (job_done () already ran and the window is gone), finalizing the task, and with it
   * the page, a widget, on this thread; and a process exiting meanwhile would find this
   * thread inside GObject. */
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, drop_task_ref, task, NULL);
  return NULL;
}

static void
start_job (QsSensitivityPage *self,
           Job               *job,
           const char        *what)
{
  g_autoptr(GTask) task = NULL;

  self->cancellable = g_cancellable_new ();
  task = g_task_new (self, self->cancellable, job_done, NULL);
  g_task_set_source_tag (task, start_job);
  g_task_set_name (task, "[quantscope] sensitivity");
  g_task_set_task_data (task, job, job_free);
  set_running (self, task, what);
  g_thread_unref (g_thread_new ("qs-sensitivity", job_thread_main, g_object_ref (task)));
}

static Job *
new_job (QsSensitivityPage *self)
{
  Job *job = g_new0 (Job, 1);

  job->model = g_object_ref (qs_document_get_model (self->document));
  job->dataset = g_object_ref (qs_document_get_dataset (self->document));
  job->n_images = qs_document_get_quick_subset (self->document);
  if (qs_document_get_target (self->document) != NULL)
    job->target = qs_target_ref (qs_document_get_target (self->document));
  return job;
}

/* ---------------------------------------------------------------------------------------- */
/* Public API and actions                                                                   */

void
qs_sensitivity_page_run (QsSensitivityPage *self)
{
  const char *why = NULL;

  g_return_if_fail (QS_IS_SENSITIVITY_PAGE (self));

  if (self->document == NULL || self->task != NULL)
    return;
  if (!qs_document_can_evaluate (self->document, &why))
    {
      adw_status_page_set_description (self->empty_page, why);
      return;
    }
  start_job (self, new_job (self), _("Measuring each layer in each format…"));
}

void
qs_sensitivity_page_search (QsSensitivityPage *self,
                            QsBudgetKind       kind,
                            double             limit)
{
  Job *job;

  g_return_if_fail (QS_IS_SENSITIVITY_PAGE (self));

  if (self->document == NULL || self->task != NULL || self->sensitivity == NULL)
    return;
  job = new_job (self);
  job->sensitivity = qs_sensitivity_ref (self->sensitivity);
  job->search = TRUE;
  job->kind = kind;
  job->limit = limit;
  start_job (self, job, _("Searching for the best mix of formats…"));
}

void
qs_sensitivity_page_cancel (QsSensitivityPage *self)
{
  g_return_if_fail (QS_IS_SENSITIVITY_PAGE (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

gboolean
qs_sensitivity_page_get_running (QsSensitivityPage *self)
{
  g_return_val_if_fail (QS_IS_SENSITIVITY_PAGE (self), FALSE);
  return self->task != NULL;
}

gboolean
qs_sensitivity_page_apply_point (QsSensitivityPage *self,
                                 guint              index)
{
  g_autoptr(QsConfig) config = NULL;

  g_return_val_if_fail (QS_IS_SENSITIVITY_PAGE (self), FALSE);

  if (self->document == NULL || self->front == NULL || index >= self->front->n_points)
    return FALSE;
  config = config_for_point (self, &self->front->points[index]);
  /* Translators: an undo step */
  qs_document_set_config (self->document, config, _("Apply Front Point"));
  describe_point (self, &self->front->points[index], _("Applied"));
  return TRUE;
}

QsSensitivity *
qs_sensitivity_page_get_sensitivity (QsSensitivityPage *self)
{
  g_return_val_if_fail (QS_IS_SENSITIVITY_PAGE (self), NULL);
  return self->sensitivity;
}

QsFront *
qs_sensitivity_page_get_front (QsSensitivityPage *self)
{
  g_return_val_if_fail (QS_IS_SENSITIVITY_PAGE (self), NULL);
  return self->front;
}

void
qs_sensitivity_page_set_document (QsSensitivityPage *self,
                                  QsDocument        *document)
{
  g_return_if_fail (QS_IS_SENSITIVITY_PAGE (self));

  if (self->document == document)
    return;
  qs_sensitivity_page_cancel (self);
  set_running (self, NULL, NULL);
  if (self->document != NULL)
    {
      g_clear_signal_handler (&self->config_changed_id, self->document);
      g_clear_signal_handler (&self->eval_changed_id, self->document);
      g_signal_handlers_disconnect_by_func (self->document, on_target_changed, self);
    }
  g_set_object (&self->document, document);
  /* the cache is per model, dataset and subset: a new document with the same ones keeps it */
  if (document == NULL || qs_document_get_model (document) != self->cached_model
      || qs_document_get_dataset (document) != self->cached_dataset
      || qs_document_get_quick_subset (document) != self->cached_images)
    {
      g_clear_pointer (&self->sensitivity, qs_sensitivity_unref);
      g_clear_pointer (&self->front, qs_front_unref);
      self->cached_model = NULL;
      self->cached_dataset = NULL;
    }
  if (document != NULL)
    {
      const char *why = NULL;
      gboolean can = qs_document_can_evaluate (document, &why);

      self->config_changed_id = g_signal_connect_swapped (document, "config-changed",
                                                          G_CALLBACK (on_config_changed), self);
      self->eval_changed_id = g_signal_connect_swapped (document, "quick-eval-changed",
                                                        G_CALLBACK (on_config_changed), self);
      g_signal_connect_swapped (document, "notify::target", G_CALLBACK (on_target_changed), self);
      gtk_widget_set_sensitive (GTK_WIDGET (adw_status_page_get_child (self->empty_page)), can);
      if (!can && why != NULL)
        adw_status_page_set_description (self->empty_page, why);
    }
  gtk_label_set_label (self->search_label, "");
  update_views (self);
  set_running (self, NULL, NULL);
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  qs_sensitivity_page_run (QS_SENSITIVITY_PAGE (widget));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  qs_sensitivity_page_cancel (QS_SENSITIVITY_PAGE (widget));
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  QsSensitivityPage *self = QS_SENSITIVITY_PAGE (widget);

  qs_sensitivity_page_search (self,
                              adw_combo_row_get_selected (self->budget_kind_row) == 0
                                ? QS_BUDGET_MAX_BYTES : QS_BUDGET_MAX_DROP,
                              gtk_spin_button_get_value (self->budget_spin));
}

static void
on_point_activated (QsAnalysisView    *view,
                    guint              index,
                    QsSensitivityPage *self)
{
  if (self->task == NULL)
    qs_sensitivity_page_apply_point (self, index);
}

static void
on_budget_kind_changed (QsSensitivityPage *self)
{
  /* a sensible starting value for each kind: half the float kernels, or half a point */
  if (adw_combo_row_get_selected (self->budget_kind_row) == 0)
    {
      double kib = self->front ? self->front->float_bytes / 1024.0 / 4.0 : 64;

      gtk_spin_button_set_digits (self->budget_spin, 0);
      gtk_spin_button_set_increments (self->budget_spin, 1, 10);
      gtk_spin_button_set_value (self->budget_spin, round (kib));
    }
  else
    {
      gtk_spin_button_set_digits (self->budget_spin, 2);
      gtk_spin_button_set_increments (self->budget_spin, 0.1, 1);
      gtk_spin_button_set_value (self->budget_spin, 0.5);
    }
}

static void
export_response (GtkNativeDialog   *dialog,
                 int                response,
                 QsSensitivityPage *self)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      path = file ? g_file_get_path (file) : NULL;
      if (path != NULL && !qs_analysis_view_export (self->export_view, path, 1.0, &error))
        gtk_label_set_label (self->search_label, error->message);
    }
  g_clear_object (&self->chooser);
}

static void
on_export_requested (QsAnalysisView    *view,
                     QsSensitivityPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  self->export_view = view;
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Export Image"), GTK_WINDOW (root),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_filter_set_name (filter, _("Images (PNG, SVG, PDF)"));
  gtk_file_filter_add_pattern (filter, "*.png");
  gtk_file_filter_add_pattern (filter, "*.svg");
  gtk_file_filter_add_pattern (filter, "*.pdf");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser),
                                     g_str_equal (qs_analysis_view_get_kind (view), "front")
                                       ? "pareto-front.png" : "sensitivity.png");
  g_signal_connect (self->chooser, "response", G_CALLBACK (export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---------------------------------------------------------------------------------------- */
/* GObject                                                                                  */

static void
qs_sensitivity_page_dispose (GObject *object)
{
  QsSensitivityPage *self = QS_SENSITIVITY_PAGE (object);

  qs_sensitivity_page_set_document (self, NULL);
  g_clear_handle_id (&self->progress_id, g_source_remove);
  g_clear_object (&self->task);
  g_clear_object (&self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->sensitivity, qs_sensitivity_unref);
  g_clear_pointer (&self->front, qs_front_unref);
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_SENSITIVITY_PAGE);

  G_OBJECT_CLASS (qs_sensitivity_page_parent_class)->dispose (object);
}

static void
qs_sensitivity_page_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  QsSensitivityPage *self = QS_SENSITIVITY_PAGE (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, self->task != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_sensitivity_page_class_init (QsSensitivityPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_sensitivity_page_dispose;
  object_class->get_property = qs_sensitivity_page_get_property;

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (QS_TYPE_ANALYSIS_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/quantscope/Quantscope/qs-sensitivity-page.ui");
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, progress_label);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, page_stack);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, sens_subtitle);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, sens_view);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, front_subtitle);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, front_view);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, budget_kind_row);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, budget_spin);
  gtk_widget_class_bind_template_child (widget_class, QsSensitivityPage, search_label);

  gtk_widget_class_install_action (widget_class, "sensitivity.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "sensitivity.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "sensitivity.cancel", NULL, cancel_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "sensitivity.cancel", NULL);
}

static void
qs_sensitivity_page_init (QsSensitivityPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (self->front_view, "point-activated", G_CALLBACK (on_point_activated), self);
  g_signal_connect (self->sens_view, "export-requested", G_CALLBACK (on_export_requested), self);
  g_signal_connect (self->front_view, "export-requested", G_CALLBACK (on_export_requested), self);
  g_signal_connect_swapped (self->budget_kind_row, "notify::selected",
                            G_CALLBACK (on_budget_kind_changed), self);
  on_budget_kind_changed (self);
  set_running (self, NULL, NULL);
  update_views (self);
}

GtkWidget *
qs_sensitivity_page_new (void)
{
  return g_object_new (QS_TYPE_SENSITIVITY_PAGE, NULL);
}
