/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n.h>

#include "qs-gui-utils.h"
#include "qs-line-chart-view.h"
#include "qs-qat-window.h"

/* The bundled training split: what the README's and the lesson's `quantscope-cli qat`
 * commands pass as --dataset. Used when the document evaluates on the bundled test set. */
#define SAMPLE_TEST_SPEC  "sample"
#define SAMPLE_TRAIN_SPEC "sample-train"

struct _QsQatWindow
{
  AdwWindow             parent_instance;

  /* Template widgets */
  GtkWidget            *start_button;
  GtkWidget            *cancel_button;
  GtkWidget            *save_button;
  GtkWidget            *close_button;
  AdwPreferencesGroup  *settings_group;
  GtkSpinButton        *epochs_spin;
  GtkSpinButton        *lr_spin;
  GtkSpinButton        *batches_spin;
  AdwExpanderRow       *quick_row;
  AdwActionRow         *config_row;
  AdwActionRow         *train_data_row;
  AdwActionRow         *eval_data_row;
  GtkWidget            *progress_group;
  GtkProgressBar       *progress_bar;
  QsLineChartView      *loss_chart;
  QsLineChartView      *accuracy_chart;
  GtkWidget            *results_group;
  GtkLabel             *float_label;
  GtkLabel             *ptq_label;
  GtkLabel             *qat_label;
  GtkLabel             *delta_label;
  AdwActionRow         *saved_row;
  GtkWidget            *status_group;
  GtkLabel             *status_label;

  /* State: what a run starts from (the document's, when the dialog opened) */
  QsModel              *model;
  QsConfig             *config;      /* a copy */
  QsDataset            *dataset;     /* evaluation: the document's */
  char                 *train_spec;  /* nullable: train on dataset itself */
  guint                 eval_limit;  /* the document's quick subset */
  char                 *why_not;     /* nullable: why nothing can run */

  QsQatState            state;
  guint                 generation;  /* of the run under way; progress of older ones is dropped */
  GCancellable         *cancellable; /* of the run under way */
  GArray               *curve_x;     /* epochs (fractional) */
  GArray               *curve_loss;
  GArray               *curve_accuracy;
  GError               *error;

  /* The result of a finished run */
  QsTrainNet           *net;
  QsModel              *result_model;
  QsConfig             *result_config;
  double                float_top1;
  double                ptq_top1;
  double                qat_top1;
  guint                 n_images;
  char                 *table[4];    /* float, ptq, qat, delta */

  GtkFileChooserNative *chooser;
  char                 *saved_path;
  gboolean              disposed;
};

G_DEFINE_FINAL_TYPE (QsQatWindow, qs_qat_window, ADW_TYPE_WINDOW)

enum { OPEN_MODEL, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---------------------------------------------------------------------------------------- */
/* The worker                                                                               */

typedef struct
{
  QsQatWindow    *self;          /* the task's source object keeps it alive */
  guint           generation;
  QsModel        *model;
  QsConfig       *config;
  QsDataset      *dataset;
  char           *train_spec;
  guint           eval_limit;
  QsTrainOptions  options;
} QatJob;

typedef struct
{
  QsTrainNet *net;
  QsModel    *model;
  QsConfig   *config;
  double      float_top1;
  double      ptq_top1;
  double      qat_top1;
  guint       n_images;
} QatResult;

/* A progress report for the main thread: a phase message, or a batch. */
typedef struct
{
  QsQatWindow     *self;
  guint            generation;
  char            *phase;        /* nullable */
  gboolean         has_batch;
  QsTrainProgress  progress;
} QatUpdate;

static void
qat_job_free (QatJob *job)
{
  g_clear_object (&job->model);
  g_clear_object (&job->config);
  g_clear_object (&job->dataset);
  g_free (job->train_spec);
  g_free (job);
}

static void
qat_result_free (QatResult *result)
{
  g_clear_pointer (&result->net, qs_train_net_free);
  g_clear_object (&result->model);
  g_clear_object (&result->config);
  g_free (result);
}

static void apply_update (QsQatWindow *self, const QatUpdate *update);

static gboolean
update_in_main (gpointer data)
{
  QatUpdate *update = data;

  if (!update->self->disposed && update->generation == update->self->generation
      && update->self->state == QS_QAT_STATE_RUNNING)
    apply_update (update->self, update);
  return G_SOURCE_REMOVE;
}

static void
update_free (gpointer data)
{
  QatUpdate *update = data;

  g_object_unref (update->self);
  g_free (update->phase);
  g_free (update);
}

static void
post_update (QatJob                *job,
             const char            *phase,
             const QsTrainProgress *progress)
{
  QatUpdate *update = g_new0 (QatUpdate, 1);

  update->self = g_object_ref (job->self);
  update->generation = job->generation;
  update->phase = g_strdup (phase);
  if (progress != NULL)
    {
      update->has_batch = TRUE;
      update->progress = *progress;
    }
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, update_in_main, update, update_free);
}

static void
fit_progress (const QsTrainProgress *progress,
              gpointer               user_data)
{
  post_update (user_data, NULL, progress);
}

static void
qat_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  QatJob *job = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTrainNet) float_net = NULL;
  g_autoptr(QsDataset) train_dataset = NULL;
  g_autoptr(QsTrainData) train = NULL;
  g_autoptr(QsEvalResult) ptq = NULL;
  g_autoptr(QsEvalResult) qat = NULL;
  g_autofree char *name = NULL;
  QsEvalOptions eval_options = { .limit = job->eval_limit };
  QatResult *result = g_new0 (QatResult, 1);

  /* Translators: a phase of quantization-aware training */
  post_update (job, _("Preparing the training images…"), NULL);
  float_net = qs_train_net_new_from_model (job->model, &error);
  if (float_net != NULL)
    {
      if (job->train_spec != NULL)
        train_dataset = qs_dataset_open_full (job->train_spec, NULL,
                                              qs_config_get_preprocess (job->config), &error);
      else
        train_dataset = g_object_ref (job->dataset);
    }
  if (train_dataset != NULL)
    train = qs_train_data_new_from_dataset (train_dataset, 0, &error);
  if (train != NULL)
    {
      /* Translators: a phase of quantization-aware training */
      post_update (job, _("Measuring the accuracy after post-training quantization…"), NULL);
      ptq = qs_eval_run (job->model, job->config, job->dataset, &eval_options, NULL, NULL,
                         cancellable, &error);
    }
  if (ptq != NULL)
    result->net = qs_train_net_new_qat (float_net, job->config, &error);
  if (result->net != NULL)
    {
      post_update (job, NULL, NULL);
      if (qs_train_net_fit (result->net, train, &job->options, fit_progress, job, cancellable, &error))
        {
          /* Translators: a phase of quantization-aware training */
          post_update (job, _("Measuring the accuracy after quantization-aware training…"), NULL);
          result->config = qs_train_net_get_qat_config (result->net, &error);
        }
    }
  if (result->config != NULL)
    {
      name = g_strconcat (qs_model_get_name (job->model), "-qat", NULL);
      result->model = qs_train_net_to_model (result->net, name, &error);
    }
  if (result->model != NULL)
    qat = qs_eval_run (result->model, result->config, job->dataset, &eval_options, NULL, NULL,
                       cancellable, &error);
  if (qat == NULL)
    {
      qat_result_free (result);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  result->float_top1 = ptq->float_top1;
  result->ptq_top1 = ptq->quant_top1;
  result->qat_top1 = qat->quant_top1;
  result->n_images = qat->n_images;
  g_task_return_pointer (task, result, (GDestroyNotify) qat_result_free);
}

/* ---------------------------------------------------------------------------------------- */
/* Showing state                                                                            */

static void
set_status (QsQatWindow *self,
            const char  *text,
            gboolean     is_error)
{
  gtk_label_set_text (self->status_label, text != NULL ? text : "");
  gtk_widget_set_visible (self->status_group, text != NULL);
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
}

static void
set_state (QsQatWindow *self,
           QsQatState   state)
{
  gboolean running = state == QS_QAT_STATE_RUNNING;

  self->state = state;
  gtk_widget_set_visible (self->start_button, !running && state != QS_QAT_STATE_DONE);
  gtk_widget_set_sensitive (self->start_button, self->why_not == NULL);
  gtk_widget_set_visible (self->cancel_button, running);
  gtk_widget_set_visible (self->save_button, state == QS_QAT_STATE_DONE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->settings_group), !running);
  gtk_widget_set_visible (self->progress_group, state != QS_QAT_STATE_READY);
  gtk_widget_set_visible (self->results_group, state == QS_QAT_STATE_DONE);
  if (state != QS_QAT_STATE_DONE)
    gtk_widget_set_visible (GTK_WIDGET (self->saved_row), FALSE);
}

static void
show_curves (QsQatWindow *self)
{
  QsChartLineData data;

  qs_chart_line_data_init (&data);
  /* Translators: the x axis of the training curves */
  data.x_label = _("Epoch");
  /* Translators: the y axis of the training loss curve */
  data.y_label = _("Loss");
  data.n_series = 1;
  data.series[0].x = (const double *) self->curve_x->data;
  data.series[0].y = (const double *) self->curve_loss->data;
  data.series[0].n = self->curve_x->len;
  /* Translators: a series of the training curve: cross-entropy, running mean of the epoch */
  data.series[0].label = _("Training loss (mean of the epoch so far)");
  qs_line_chart_view_set_data (self->loss_chart, self->curve_x->len > 0 ? &data : NULL);

  data.y_label = _("Accuracy");
  data.series[0].y = (const double *) self->curve_accuracy->data;
  /* Translators: a series of the training curve, top-1 of the epoch so far */
  data.series[0].label = _("Training accuracy (fake-quantized)");
  qs_line_chart_view_set_data (self->accuracy_chart, self->curve_x->len > 0 ? &data : NULL);
}

static void
apply_update (QsQatWindow     *self,
              const QatUpdate *update)
{
  const QsTrainProgress *p = &update->progress;
  g_autofree char *text = NULL;
  double x, loss, accuracy;

  if (update->phase != NULL)
    {
      gtk_progress_bar_set_text (self->progress_bar, update->phase);
      if (self->curve_x->len == 0)
        gtk_progress_bar_pulse (self->progress_bar);
      return;
    }
  if (!update->has_batch)
    {
      /* Translators: the progress bar before the first batch */
      gtk_progress_bar_set_text (self->progress_bar, _("Training…"));
      return;
    }
  /* x in epochs: 1.5 is the middle of the second epoch */
  x = p->epoch + (p->n_batches > 0 ? (double) p->batch / p->n_batches : 1.0);
  loss = p->loss;
  accuracy = p->accuracy;
  g_array_append_val (self->curve_x, x);
  g_array_append_val (self->curve_loss, loss);
  g_array_append_val (self->curve_accuracy, accuracy);
  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (p->fraction, 0.0, 1.0));
  /* Translators: progress of training: epoch 1 of 2, batch 12 of 40, the running loss and
   * training accuracy */
  text = g_strdup_printf (_("Epoch %u of %u, batch %u of %u — loss %.3f, accuracy %.1f %%"),
                          p->epoch + 1, p->n_epochs, p->batch, p->n_batches, p->loss,
                          100.0 * p->accuracy);
  gtk_progress_bar_set_text (self->progress_bar, text);
  show_curves (self);
}

static char *
format_accuracy (double top1)
{
  if (isnan (top1))
    /* Translators: an accuracy that cannot be measured (unlabelled images) */
    return g_strdup (_("n/a"));
  /* Translators: a top-1 accuracy in percent */
  return g_strdup_printf (_("%.2f %%"), 100.0 * top1);
}

static void
show_result (QsQatWindow *self)
{
  double delta = 100.0 * (self->qat_top1 - self->ptq_top1);
  g_autofree char *status = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (self->table); i++)
    g_clear_pointer (&self->table[i], g_free);
  self->table[0] = format_accuracy (self->float_top1);
  self->table[1] = format_accuracy (self->ptq_top1);
  self->table[2] = format_accuracy (self->qat_top1);
  if (isnan (delta))
    self->table[3] = g_strdup (_("n/a"));
  else
    /* Translators: an accuracy change in percentage points, "+3.10 points" */
    self->table[3] = g_strdup_printf (_("%+.2f points"), delta);
  gtk_label_set_text (self->float_label, self->table[0]);
  gtk_label_set_text (self->ptq_label, self->table[1]);
  gtk_label_set_text (self->qat_label, self->table[2]);
  gtk_label_set_text (self->delta_label, self->table[3]);
  gtk_widget_remove_css_class (GTK_WIDGET (self->delta_label), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (self->delta_label), "warning");
  if (!isnan (delta))
    gtk_widget_add_css_class (GTK_WIDGET (self->delta_label), delta >= 0 ? "success" : "warning");
  gtk_progress_bar_set_fraction (self->progress_bar, 1.0);
  /* Translators: the progress bar when training finished */
  gtk_progress_bar_set_text (self->progress_bar, _("Finished"));
  /* Translators: %u is a number of images */
  status = g_strdup_printf (_("Measured on the first %u images, as the summary bar measures. "
                              "The document is unchanged: save the fine-tuned model to keep it."),
                            self->n_images);
  set_status (self, status, FALSE);
}

static void
qat_done (GObject      *source,
          GAsyncResult *res,
          gpointer      user_data)
{
  QsQatWindow *self = QS_QAT_WINDOW (source);
  guint generation = GPOINTER_TO_UINT (user_data);
  g_autoptr(GError) error = NULL;
  QatResult *result = g_task_propagate_pointer (G_TASK (res), &error);

  if (self->disposed || generation != self->generation)
    {
      g_clear_pointer (&result, qat_result_free);
      return;
    }
  g_clear_object (&self->cancellable);
  if (result == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          set_state (self, QS_QAT_STATE_CANCELLED);
          /* Translators: the progress bar after Cancel */
          gtk_progress_bar_set_text (self->progress_bar, _("Cancelled"));
          set_status (self, _("Training was cancelled. Nothing was changed."), FALSE);
        }
      else
        {
          set_state (self, QS_QAT_STATE_FAILED);
          gtk_progress_bar_set_text (self->progress_bar, _("Failed"));
          set_status (self, error->message, TRUE);
        }
      g_clear_error (&self->error);
      self->error = g_steal_pointer (&error);
      return;
    }
  self->net = g_steal_pointer (&result->net);
  self->result_model = g_steal_pointer (&result->model);
  self->result_config = g_steal_pointer (&result->config);
  self->float_top1 = result->float_top1;
  self->ptq_top1 = result->ptq_top1;
  self->qat_top1 = result->qat_top1;
  self->n_images = result->n_images;
  qat_result_free (result);
  set_state (self, QS_QAT_STATE_DONE);
  show_result (self);
}

/* ---------------------------------------------------------------------------------------- */
/* Public entry points                                                                      */

void
qs_qat_window_set_budget (QsQatWindow *self,
                          guint        epochs,
                          double       learning_rate,
                          guint        max_batches)
{
  g_return_if_fail (QS_IS_QAT_WINDOW (self));

  gtk_spin_button_set_value (self->epochs_spin, epochs);
  gtk_spin_button_set_value (self->lr_spin, learning_rate);
  adw_expander_row_set_enable_expansion (self->quick_row, max_batches > 0);
  if (max_batches > 0)
    gtk_spin_button_set_value (self->batches_spin, max_batches);
}

void
qs_qat_window_start (QsQatWindow *self)
{
  g_autoptr(GTask) task = NULL;
  QatJob *job;

  g_return_if_fail (QS_IS_QAT_WINDOW (self));

  if (self->state == QS_QAT_STATE_RUNNING)
    return;
  if (self->why_not != NULL)
    {
      set_status (self, self->why_not, TRUE);
      return;
    }

  self->generation++;
  g_clear_pointer (&self->net, qs_train_net_free);
  g_clear_object (&self->result_model);
  g_clear_object (&self->result_config);
  g_clear_error (&self->error);
  g_clear_pointer (&self->saved_path, g_free);
  g_array_set_size (self->curve_x, 0);
  g_array_set_size (self->curve_loss, 0);
  g_array_set_size (self->curve_accuracy, 0);
  show_curves (self);

  job = g_new0 (QatJob, 1);
  job->self = self;
  job->generation = self->generation;
  job->model = g_object_ref (self->model);
  job->config = qs_config_copy (self->config);
  job->dataset = g_object_ref (self->dataset);
  job->train_spec = g_strdup (self->train_spec);
  job->eval_limit = self->eval_limit;
  /* the CLI's qat defaults (qs-cli-qat.c) but for what the dialog sets */
  qs_train_options_init (&job->options);
  job->options.epochs = (guint) gtk_spin_button_get_value_as_int (self->epochs_spin);
  job->options.learning_rate = gtk_spin_button_get_value (self->lr_spin);
  job->options.batch_size = 64;
  job->options.seed = 1;
  job->options.cosine_decay = TRUE;
  job->options.max_batches = adw_expander_row_get_enable_expansion (self->quick_row)
                             ? (guint) gtk_spin_button_get_value_as_int (self->batches_spin) : 0;

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  task = g_task_new (self, self->cancellable, qat_done, GUINT_TO_POINTER (self->generation));
  g_task_set_source_tag (task, qs_qat_window_start);
  g_task_set_task_data (task, job, (GDestroyNotify) qat_job_free);
  set_state (self, QS_QAT_STATE_RUNNING);
  adw_expander_row_set_expanded (self->quick_row, FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  set_status (self, NULL, FALSE);
  g_task_run_in_thread (task, qat_thread);
}

void
qs_qat_window_cancel (QsQatWindow *self)
{
  g_return_if_fail (QS_IS_QAT_WINDOW (self));

  if (self->state != QS_QAT_STATE_RUNNING)
    return;
  g_cancellable_cancel (self->cancellable);
  /* Translators: the progress bar between Cancel and the end of the current batch */
  gtk_progress_bar_set_text (self->progress_bar, _("Cancelling…"));
  gtk_widget_set_sensitive (self->cancel_button, FALSE);
}

QsQatState
qs_qat_window_get_state (QsQatWindow *self)
{
  g_return_val_if_fail (QS_IS_QAT_WINDOW (self), QS_QAT_STATE_READY);
  return self->state;
}

guint
qs_qat_window_get_n_batches_seen (QsQatWindow *self)
{
  g_return_val_if_fail (QS_IS_QAT_WINDOW (self), 0);
  return self->curve_x->len;
}

QsModel *
qs_qat_window_get_model (QsQatWindow *self)
{
  g_return_val_if_fail (QS_IS_QAT_WINDOW (self), NULL);
  return self->result_model;
}

QsConfig *
qs_qat_window_get_config (QsQatWindow *self)
{
  g_return_val_if_fail (QS_IS_QAT_WINDOW (self), NULL);
  return self->result_config;
}

void
qs_qat_window_get_accuracies (QsQatWindow *self,
                              double      *float_top1,
                              double      *ptq_top1,
                              double      *qat_top1,
                              guint       *n_images)
{
  g_return_if_fail (QS_IS_QAT_WINDOW (self));

  if (float_top1 != NULL)
    *float_top1 = self->float_top1;
  if (ptq_top1 != NULL)
    *ptq_top1 = self->ptq_top1;
  if (qat_top1 != NULL)
    *qat_top1 = self->qat_top1;
  if (n_images != NULL)
    *n_images = self->n_images;
}

const GError *
qs_qat_window_get_error (QsQatWindow *self)
{
  g_return_val_if_fail (QS_IS_QAT_WINDOW (self), NULL);
  return self->error;
}

const char *
qs_qat_window_get_status_text (QsQatWindow *self)
{
  g_return_val_if_fail (QS_IS_QAT_WINDOW (self), NULL);
  return gtk_widget_get_visible (self->status_group) ? gtk_label_get_text (self->status_label) : NULL;
}

const char *
qs_qat_window_get_table_text (QsQatWindow *self,
                              const char  *row)
{
  static const char * const rows[] = { "float", "ptq", "qat", "delta" };

  g_return_val_if_fail (QS_IS_QAT_WINDOW (self), NULL);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    if (g_strcmp0 (row, rows[i]) == 0)
      return gtk_label_get_text (i == 0 ? self->float_label : i == 1 ? self->ptq_label
                                 : i == 2 ? self->qat_label : self->delta_label);
  return NULL;
}

char *
qs_qat_window_config_path_for (const char *model_path)
{
  g_autofree char *base = g_strdup (model_path);
  char *dot = strrchr (base, '.');
  char *slash = strrchr (base, G_DIR_SEPARATOR);

  if (dot != NULL && (slash == NULL || dot > slash))
    *dot = '\0';
  return g_strconcat (base, ".json", NULL);
}

/* The canonical form of path, following symbolic links of the file and its folders when
 * they exist, so that two names of one file compare equal. */
static char *
canonical_path (const char *path)
{
  g_autofree char *absolute = g_canonicalize_filename (path, NULL);
  g_autofree char *dir = g_path_get_dirname (absolute);
  g_autofree char *base = g_path_get_basename (absolute);
  char *real;

  if ((real = realpath (absolute, NULL)) != NULL)
    {
      char *copy = g_strdup (real);

      free (real);
      return copy;
    }
  if ((real = realpath (dir, NULL)) != NULL)
    {
      char *joined = g_build_filename (real, base, NULL);

      free (real);
      return joined;
    }
  return g_steal_pointer (&absolute);
}

static gboolean
same_file (const char *a,
           const char *b)
{
  g_autofree char *ca = NULL, *cb = NULL;

  if (a == NULL || b == NULL)
    return FALSE;
  ca = canonical_path (a);
  cb = canonical_path (b);
  return strcmp (ca, cb) == 0;
}

gboolean
qs_qat_window_save (QsQatWindow  *self,
                    GFile        *file,
                    GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *base = NULL;
  g_autofree char *config_base = NULL;
  g_autofree char *text = NULL;
  const char *path, *open_path;

  g_return_val_if_fail (QS_IS_QAT_WINDOW (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  path = g_file_peek_path (file);
  open_path = qs_model_get_path (self->model);
  base = g_file_get_basename (file);
  if (self->state != QS_QAT_STATE_DONE || self->net == NULL)
    g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_BUSY, _("Nothing to save: the fine-tuning has not finished"));
  else if (path == NULL)
    g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 _("“%s” is not a local file: choose a file on this computer"), base);
  else if (!g_str_has_suffix (path, ".h5"))
    /* Translators: %s is a file name */
    g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME,
                 _("“%s” does not end in .h5: choose a name like model-qat.h5 (its config is written beside it as .json)"),
                 base);
  else
    {
      config_path = qs_qat_window_config_path_for (path);
      config_base = g_path_get_basename (config_path);
      if (same_file (path, open_path) || same_file (config_path, open_path))
        /* Translators: %s is a file name */
        g_set_error (&local_error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     _("“%s” is the open model: the fine-tuned model is never written over the original. Choose another name."),
                     base);
    }

  if (local_error == NULL
      && (!qs_train_net_save (self->net, path, &local_error)
          || !qs_config_save_file (self->result_config, config_path, &local_error)))
    g_prefix_error (&local_error, _("Could not save “%s”: "), base);

  if (local_error != NULL)
    {
      set_status (self, local_error->message, TRUE);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  g_free (self->saved_path);
  self->saved_path = g_strdup (path);
  /* Translators: the first %s is the fine-tuned model's file name, the second its config's */
  text = g_strdup_printf (_("Saved “%s” and its config “%s”"), base, config_base);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->saved_row), text);
  adw_action_row_set_subtitle (self->saved_row,
                               _("Open it in a new window, with its config and trained activation ranges"));
  gtk_widget_set_visible (GTK_WIDGET (self->saved_row), TRUE);
  set_status (self, NULL, FALSE);
  return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* Buttons                                                                                  */

static void
chooser_response (GtkNativeDialog *dialog,
                  int              response,
                  QsQatWindow     *self)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  g_clear_object (&self->chooser);
  if (file != NULL)
    qs_qat_window_save (self, file, NULL);
}

static void
save_clicked (QsQatWindow *self)
{
  g_autofree char *stem = NULL, *name = NULL;

  if (self->state != QS_QAT_STATE_DONE)
    return;
  stem = qs_model_file_stem (self->model);
  /* Translators: the suggested file name of a fine-tuned model, %s is the model's name */
  name = g_strdup_printf (_("%s-qat.h5"), stem);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  /* Translators: the title of the file chooser that saves a fine-tuned model */
  self->chooser = qs_model_save_chooser_new (GTK_WINDOW (self), self->model, _("Save Fine-tuned Model"),
                                             _("_Save"), name);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_clicked (QsQatWindow *self)
{
  if (self->saved_path == NULL || self->result_config == NULL)
    return;
  g_signal_emit (self, signals[OPEN_MODEL], 0, self->saved_path, self->result_config);
  gtk_window_close (GTK_WINDOW (self));
}

/* ---------------------------------------------------------------------------------------- */
/* Construction                                                                             */

static gboolean
fits_sample_train (QsModel *model)
{
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank = qs_model_get_input_shape (model, shape);
  gsize n = 1;

  for (guint i = 0; i < rank; i++)
    n *= shape[i];
  return rank > 0 && n == 28 * 28;
}

static void
describe_inputs (QsQatWindow *self,
                 QsDocument  *document)
{
  const char *spec = qs_document_get_dataset_spec (document);
  const char *preset = qs_config_get_preset_name (self->config);
  g_autofree char *train = NULL, *eval = NULL, *config = NULL;

  if (preset != NULL)
    /* Translators: %s is a preset name, "w4a4" */
    config = g_strdup_printf (_("A copy of the current config (from the preset “%s”); the open document is not changed"), preset);
  else
    config = g_strdup (_("A copy of the current config; the open document is not changed"));
  adw_action_row_set_subtitle (self->config_row, config);

  if (self->dataset == NULL)
    {
      self->why_not = g_strdup (_("This model has no labelled dataset to train and measure on: choose one with Choose Dataset… first."));
      adw_action_row_set_subtitle (self->train_data_row, _("None"));
      adw_action_row_set_subtitle (self->eval_data_row, _("None"));
      return;
    }
  if (!qs_dataset_is_labelled (self->dataset))
    self->why_not = g_strdup (_("The document's dataset has no labels: training needs labelled images. Choose a labelled dataset with Choose Dataset…"));

  if (g_strcmp0 (spec, SAMPLE_TEST_SPEC) == 0 && fits_sample_train (self->model))
    {
      self->train_spec = g_strdup (SAMPLE_TRAIN_SPEC);
      /* Translators: the training images of QAT when the document measures on the bundled
       * test set; keep “sample-train” and the command as they are */
      train = g_strdup (_("The bundled Fashion-MNIST training sample (10,000 images, “sample-train”), "
                          "as in quantscope-cli qat --dataset sample-train: the document's own dataset is a test set, "
                          "and training on it would overstate the accuracy"));
    }
  else
    /* Translators: %s is a dataset name */
    train = g_strdup_printf (_("“%s”, the document's dataset: the images accuracy is measured on, so the QAT accuracy below is optimistic"),
                             qs_dataset_get_display_name (self->dataset));
  adw_action_row_set_subtitle (self->train_data_row, train);
  /* Translators: %u is a number of images, %s a dataset; the summary bar's evaluation */
  eval = g_strdup_printf (_("The first %u images of “%s”, on the integer engine, as the summary bar measures"),
                          MIN (self->eval_limit > 0 ? self->eval_limit : G_MAXUINT,
                               qs_dataset_get_n_images (self->dataset)),
                          qs_dataset_get_display_name (self->dataset));
  adw_action_row_set_subtitle (self->eval_data_row, eval);
}

static void
qs_qat_window_dispose (GObject *object)
{
  QsQatWindow *self = QS_QAT_WINDOW (object);

  /* closing the dialog stops a run within a batch */
  self->disposed = TRUE;
  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_QAT_WINDOW);
  G_OBJECT_CLASS (qs_qat_window_parent_class)->dispose (object);
}

static void
qs_qat_window_finalize (GObject *object)
{
  QsQatWindow *self = QS_QAT_WINDOW (object);

  g_clear_object (&self->model);
  g_clear_object (&self->config);
  g_clear_object (&self->dataset);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->net, qs_train_net_free);
  g_clear_object (&self->result_model);
  g_clear_object (&self->result_config);
  g_clear_error (&self->error);
  g_array_unref (self->curve_x);
  g_array_unref (self->curve_loss);
  g_array_unref (self->curve_accuracy);
  for (guint i = 0; i < G_N_ELEMENTS (self->table); i++)
    g_free (self->table[i]);
  g_free (self->train_spec);
  g_free (self->why_not);
  g_free (self->saved_path);
  G_OBJECT_CLASS (qs_qat_window_parent_class)->finalize (object);
}

static void
qs_qat_window_class_init (QsQatWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_qat_window_dispose;
  object_class->finalize = qs_qat_window_finalize;

  /**
   * QsQatWindow::open-model:
   * @path: the fine-tuned model that was saved
   * @config: its config, with the trained activation ranges
   */
  signals[OPEN_MODEL] = g_signal_new ("open-model", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, QS_TYPE_CONFIG);

  g_type_ensure (QS_TYPE_LINE_CHART_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-qat-window.ui");
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, start_button);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, save_button);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, close_button);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, settings_group);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, lr_spin);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, batches_spin);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, quick_row);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, config_row);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, train_data_row);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, eval_data_row);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, progress_group);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, loss_chart);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, accuracy_chart);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, results_group);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, float_label);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, ptq_label);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, qat_label);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, delta_label);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, saved_row);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, status_group);
  gtk_widget_class_bind_template_child (widget_class, QsQatWindow, status_label);
  gtk_widget_class_bind_template_callback (widget_class, qs_qat_window_start);
  gtk_widget_class_bind_template_callback (widget_class, qs_qat_window_cancel);
  gtk_widget_class_bind_template_callback (widget_class, save_clicked);
  gtk_widget_class_bind_template_callback (widget_class, open_clicked);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
qs_qat_window_init (QsQatWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->curve_x = g_array_new (FALSE, FALSE, sizeof (double));
  self->curve_loss = g_array_new (FALSE, FALSE, sizeof (double));
  self->curve_accuracy = g_array_new (FALSE, FALSE, sizeof (double));
  self->float_top1 = self->ptq_top1 = self->qat_top1 = NAN;
  /* Translators: the title of the training loss chart */
  qs_line_chart_view_set_title (self->loss_chart, _("Loss"));
  /* Translators: the title of the training accuracy chart */
  qs_line_chart_view_set_title (self->accuracy_chart, _("Training Accuracy"));
}

QsQatWindow *
qs_qat_window_new (GtkWindow  *parent,
                   QsDocument *document)
{
  QsQatWindow *self;
  QsDataset *dataset;

  g_return_val_if_fail (QS_IS_DOCUMENT (document), NULL);

  self = g_object_new (QS_TYPE_QAT_WINDOW, "transient-for", parent, NULL);
  self->model = g_object_ref (qs_document_get_model (document));
  self->config = qs_config_copy (qs_document_get_config (document));
  dataset = qs_document_get_dataset (document);
  self->dataset = dataset != NULL ? g_object_ref (dataset) : NULL;
  self->eval_limit = qs_document_get_quick_subset (document);
  describe_inputs (self, document);
  set_state (self, QS_QAT_STATE_READY);
  if (self->why_not != NULL)
    set_status (self, self->why_not, TRUE);
  return self;
}
