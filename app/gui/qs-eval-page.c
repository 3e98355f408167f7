/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "qs-eval-page.h"
#include "qs-eval-view.h"

struct _QsEvalPage
{
  AdwBin                parent_instance;

  /* Template widgets */
  GtkRevealer          *progress_revealer;
  GtkLabel             *progress_label;
  GtkProgressBar       *progress_bar;
  GtkStack             *page_stack;
  AdwStatusPage        *empty_page;
  GtkLabel             *subtitle_label;
  GtkLabel             *status_label;
  GtkLabel             *note_label;
  AdwPreferencesGroup  *accuracy_group;
  AdwPreferencesGroup  *agreement_group;
  AdwPreferencesGroup  *errors_group;
  GtkWidget            *classes_box;
  QsEvalView           *classes_view;
  GtkWidget            *confusion_box;
  QsEvalView           *confusion_view;
  GtkToggleButton      *mode_float_button;
  GtkToggleButton      *mode_quant_button;
  GtkToggleButton      *mode_diff_button;

  /* State */
  GHashTable           *values;         /* key -> GtkLabel (the rows own them) */
  GHashTable           *rows;           /* key -> AdwActionRow */
  QsDocument           *document;
  gulong                config_changed_id;
  gulong                dataset_changed_id;
  QsEvalResult         *result;
  char                 *result_dataset; /* the display name of what result was run on */
  gboolean              stale;
  char                 *status;
  QsEvalCache          *cache;          /* float side, program, calibrations between runs */
  GCancellable         *cancellable;
  GTask                *task;
  guint                 progress_id;
  GtkFileChooserNative *chooser;
  QsEvalView           *export_view;
};

G_DEFINE_FINAL_TYPE (QsEvalPage, qs_eval_page, ADW_TYPE_BIN)

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
  QsModel     *model;
  QsConfig    *config;
  QsDataset   *dataset;
  QsEvalCache *cache;
  char        *float_cache_dir;
  gint         progress;      /* permille, atomic: written by the worker, read by a timeout */
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_object (&job->model);
  g_clear_object (&job->config);
  g_clear_object (&job->dataset);
  g_clear_pointer (&job->cache, qs_eval_cache_unref);
  g_free (job->float_cache_dir);
  g_free (job);
}

static void
job_progress (double   fraction,
              gpointer data)
{
  Job *job = data;

  g_atomic_int_set (&job->progress, (gint) (CLAMP (fraction, 0.0, 1.0) * 1000));
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  /* every image (limit 0), as `quantscope-cli eval` does; leave a core to the main thread */
  QsEvalOptions opts = { .limit = 0,
                         .n_threads = MAX (g_get_num_processors (), 2) - 1,
                         .cache = job->cache,
                         .float_cache_dir = job->float_cache_dir };
  GError *error = NULL;
  QsEvalResult *r;

  r = qs_eval_run (job->model, job->config, job->dataset, &opts, job_progress, job,
                   cancellable, &error);
  if (r == NULL)
    g_task_return_error (task, error);
  else if (!g_task_return_error_if_cancelled (task))
    g_task_return_pointer (task, r, (GDestroyNotify) qs_eval_result_unref);
  else
    qs_eval_result_unref (r);
}

/* ---------------------------------------------------------------------------------------- */
/* Display                                                                                  */

static void
set_value (QsEvalPage *self,
           const char *key,
           char       *text) /* transfer full, NULL: hide the row */
{
  GtkLabel *label = g_hash_table_lookup (self->values, key);
  GtkWidget *row = g_hash_table_lookup (self->rows, key);

  gtk_widget_set_visible (row, text != NULL);
  gtk_label_set_label (label, text != NULL ? text : "");
  g_free (text);
}

static char *
percent (double fraction)
{
  return g_strdup_printf ("%.2f %%", 100.0 * fraction);
}

/* "91.23 % float → 91.10 % quantized (−0.13 points)" */
static char *
accuracy_text (double float_value,
               double quant_value)
{
  double delta;

  if (isnan (quant_value))
    /* Translators: an accuracy of the float model alone */
    return g_strdup_printf (_("%.2f %% float"), 100.0 * float_value);
  /* the change of what is shown, so that the three numbers agree with each other */
  delta = 100.0 * (quant_value - float_value);
  /* Translators: float accuracy, quantized accuracy, the change in percentage points */
  return g_strdup_printf (_("%.2f %% float → %.2f %% quantized (%+.2f points)"),
                          100.0 * float_value, 100.0 * quant_value, delta);
}

static void
update_status (QsEvalPage *self)
{
  const char *text = self->status;

  if ((text == NULL || *text == '\0') && self->stale && self->result != NULL)
    text = _("The config or the dataset changed since this evaluation: these numbers are stale. "
             "Evaluate again to update them.");
  gtk_label_set_label (self->status_label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), text != NULL && *text != '\0');
  if (self->stale)
    gtk_widget_add_css_class (GTK_WIDGET (self->page_stack), "stale");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->page_stack), "stale");
}

static void
update_views (QsEvalPage *self)
{
  QsEvalResult *r = self->result;
  QsDataset *dataset = self->document ? qs_document_get_dataset (self->document) : NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *subtitle = NULL;
  gboolean quant, classes;

  gtk_stack_set_visible_child_name (self->page_stack, r != NULL ? "results" : "empty");
  update_status (self);
  if (r == NULL)
    {
      qs_eval_view_set_data (self->classes_view, NULL, NULL);
      qs_eval_view_set_data (self->confusion_view, NULL, NULL);
      return;
    }
  quant = !isnan (r->agreement);
  classes = r->labelled && r->classification;

  /* Translators: "10000 images of Fashion-MNIST test set, 3.2 s" */
  subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u image of %s, %.1f s",
                                           "%u images of %s, %.1f s", r->n_images),
                              r->n_images, self->result_dataset ? self->result_dataset : "",
                              r->seconds);
  gtk_label_set_label (self->subtitle_label, subtitle);

  if (!r->labelled)
    gtk_label_set_label (self->note_label,
                         _("This dataset has no labels, so there is no accuracy: the quantized "
                           "model is compared with the float model instead."));
  else if (!r->classification)
    gtk_label_set_label (self->note_label,
                         _("The model's output is not a class distribution: it is judged by "
                           "the errors of its outputs against the float model."));
  gtk_widget_set_visible (GTK_WIDGET (self->note_label), !classes);

  gtk_widget_set_visible (GTK_WIDGET (self->accuracy_group), classes);
  set_value (self, "top1", classes ? accuracy_text (r->float_top1, r->quant_top1) : NULL);
  set_value (self, "top5", classes && r->n_classes > 5
                           ? accuracy_text (r->float_top5, r->quant_top5) : NULL);

  gtk_widget_set_visible (GTK_WIDGET (self->agreement_group), quant && r->classification);
  set_value (self, "agreement", quant && r->classification ? percent (r->agreement) : NULL);
  set_value (self, "top5-overlap", quant && r->classification && r->n_classes > 5
                                   ? percent (r->top5_overlap) : NULL);
  set_value (self, "kl", quant && r->classification ? g_strdup_printf ("%.5f", r->mean_kl) : NULL);

  gtk_widget_set_visible (GTK_WIDGET (self->errors_group), quant);
  set_value (self, "sqnr", quant ? g_strdup_printf (_("%.2f dB"), r->output_sqnr_db) : NULL);
  set_value (self, "mse", quant ? g_strdup_printf ("%.6g", r->output_mse) : NULL);
  set_value (self, "cosine", quant ? g_strdup_printf ("%.6f", r->output_cosine) : NULL);
  set_value (self, "max-error", quant ? g_strdup_printf ("%.6g", r->output_max_abs_error) : NULL);

  if (dataset != NULL && classes)
    {
      names = g_ptr_array_new ();
      for (guint c = 0; c < r->n_classes; c++)
        g_ptr_array_add (names, (gpointer) qs_dataset_get_class_name (dataset, c));
    }
  qs_eval_view_set_data (self->classes_view, r,
                         names ? (const char * const *) names->pdata : NULL);
  qs_eval_view_set_data (self->confusion_view, r,
                         names ? (const char * const *) names->pdata : NULL);
  gtk_widget_set_visible (self->classes_box, classes);
  gtk_widget_set_visible (self->confusion_box, classes);
  gtk_widget_set_sensitive (GTK_WIDGET (self->mode_quant_button), quant);
  gtk_widget_set_sensitive (GTK_WIDGET (self->mode_diff_button), quant);
}

static void
set_status (QsEvalPage *self,
            const char *text)
{
  g_free (self->status);
  self->status = g_strdup (text != NULL ? text : "");
  update_status (self);
  if (self->result == NULL && text != NULL && *text != '\0')
    adw_status_page_set_description (self->empty_page, text);
}

static void
mark_stale (QsEvalPage *self)
{
  if (self->result == NULL || self->stale)
    return;
  self->stale = TRUE;
  update_status (self);
}

static gboolean
progress_tick (gpointer data)
{
  QsEvalPage *self = data;
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
set_running (QsEvalPage *self,
             GTask      *task)
{
  gboolean was = self->task != NULL;

  g_clear_object (&self->task);
  if (task != NULL)
    self->task = g_object_ref (task);
  else
    g_clear_object (&self->cancellable);
  gtk_revealer_set_reveal_child (self->progress_revealer, task != NULL);
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  if (task != NULL && self->progress_id == 0)
    self->progress_id = g_timeout_add (100, progress_tick, self);
  else if (task == NULL)
    g_clear_handle_id (&self->progress_id, g_source_remove);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluation.run",
                                 task == NULL && self->document != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "evaluation.cancel", task != NULL);
  if (was != (task != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
job_done (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  QsEvalPage *self = QS_EVAL_PAGE (object);
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsEvalResult) r = g_task_propagate_pointer (task, &error);

  if (task != self->task)
    return;
  set_running (self, NULL);
  if (r == NULL)
    {
      g_autofree char *text = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        text = g_strdup (self->result != NULL
                           ? _("Cancelled: the numbers below are from the previous evaluation.")
                           : _("Cancelled: nothing was evaluated."));
      else
        text = g_strdup_printf (_("Could not evaluate: %s"), error->message);
      /* what is shown no longer answers the question asked */
      if (self->result != NULL)
        self->stale = TRUE;
      set_status (self, text);
      return;
    }
  g_clear_pointer (&self->result, qs_eval_result_unref);
  self->result = g_steal_pointer (&r);
  g_free (self->result_dataset);
  self->result_dataset = g_strdup (qs_dataset_get_display_name (job->dataset));
  /* the config may have changed while it ran */
  self->stale = !qs_config_equal (job->config, qs_document_get_config (self->document))
                || job->dataset != qs_document_get_dataset (self->document);
  g_clear_pointer (&self->status, g_free);
  update_views (self);
}

/* ---------------------------------------------------------------------------------------- */
/* Public API and actions                                                                   */

void
qs_eval_page_run (QsEvalPage *self)
{
  g_autoptr(GTask) task = NULL;
  const char *why = NULL;
  Job *job;
  QsDataset *dataset;

  g_return_if_fail (QS_IS_EVAL_PAGE (self));

  if (self->document == NULL || self->task != NULL)
    return;
  if (!qs_document_can_evaluate (self->document, &why))
    {
      set_status (self, why);
      return;
    }
  dataset = qs_document_get_dataset (self->document);
  job = g_new0 (Job, 1);
  job->model = g_object_ref (qs_document_get_model (self->document));
  job->config = qs_config_copy (qs_document_get_config (self->document));
  job->dataset = g_object_ref (dataset);
  job->cache = qs_eval_cache_ref (self->cache);
  job->float_cache_dir = qs_eval_float_cache_dir ();

  self->cancellable = g_cancellable_new ();
  task = g_task_new (self, self->cancellable, job_done, NULL);
  g_task_set_source_tag (task, qs_eval_page_run);
  g_task_set_name (task, "[quantscope] evaluation");
  g_task_set_task_data (task, job, job_free);
  set_running (self, task);
  {
    /* Translators: %u images, %s the dataset's name */
    g_autofree char *what = g_strdup_printf (_("Evaluating %u images of %s…"),
                                             qs_dataset_get_n_images (dataset),
                                             qs_dataset_get_display_name (dataset));
    gtk_label_set_label (self->progress_label, what);
  }
  g_task_run_in_thread (task, job_thread);
}

void
qs_eval_page_cancel (QsEvalPage *self)
{
  g_return_if_fail (QS_IS_EVAL_PAGE (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

gboolean
qs_eval_page_get_running (QsEvalPage *self)
{
  g_return_val_if_fail (QS_IS_EVAL_PAGE (self), FALSE);
  return self->task != NULL;
}

QsEvalResult *
qs_eval_page_get_result (QsEvalPage *self)
{
  g_return_val_if_fail (QS_IS_EVAL_PAGE (self), NULL);
  return self->result;
}

gboolean
qs_eval_page_get_stale (QsEvalPage *self)
{
  g_return_val_if_fail (QS_IS_EVAL_PAGE (self), FALSE);
  return self->stale;
}

const char *
qs_eval_page_get_status (QsEvalPage *self)
{
  g_return_val_if_fail (QS_IS_EVAL_PAGE (self), NULL);
  return gtk_label_get_label (self->status_label);
}

const char *
qs_eval_page_get_value_text (QsEvalPage *self,
                             const char *key)
{
  GtkWidget *row;

  g_return_val_if_fail (QS_IS_EVAL_PAGE (self), NULL);

  row = g_hash_table_lookup (self->rows, key);
  if (row == NULL || !gtk_widget_get_visible (row) || self->result == NULL)
    return NULL;
  return gtk_label_get_label (g_hash_table_lookup (self->values, key));
}

void
qs_eval_page_set_document (QsEvalPage *self,
                           QsDocument *document)
{
  g_return_if_fail (QS_IS_EVAL_PAGE (self));

  if (self->document == document)
    return;
  qs_eval_page_cancel (self);
  if (self->document != NULL)
    {
      g_clear_signal_handler (&self->config_changed_id, self->document);
      g_clear_signal_handler (&self->dataset_changed_id, self->document);
    }
  g_set_object (&self->document, document);
  /* a result belongs to its document: a new one starts empty, with a fresh cache */
  g_clear_pointer (&self->result, qs_eval_result_unref);
  g_clear_pointer (&self->cache, qs_eval_cache_unref);
  self->cache = qs_eval_cache_new ();
  self->stale = FALSE;
  g_clear_pointer (&self->status, g_free);
  if (document != NULL)
    {
      self->config_changed_id = g_signal_connect_swapped (document, "config-changed",
                                                          G_CALLBACK (mark_stale), self);
      self->dataset_changed_id = g_signal_connect_swapped (document, "notify::dataset",
                                                           G_CALLBACK (mark_stale), self);
    }
  set_running (self, NULL);
  update_views (self);
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  qs_eval_page_run (QS_EVAL_PAGE (widget));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  qs_eval_page_cancel (QS_EVAL_PAGE (widget));
}

static void
on_mode_toggled (QsEvalPage *self)
{
  QsConfusionMode mode = QS_CONFUSION_FLOAT;

  if (gtk_toggle_button_get_active (self->mode_quant_button))
    mode = QS_CONFUSION_QUANT;
  else if (gtk_toggle_button_get_active (self->mode_diff_button))
    mode = QS_CONFUSION_DIFFERENCE;
  qs_eval_view_set_mode (self->confusion_view, mode);
}

static void
export_response (GtkNativeDialog *dialog,
                 int              response,
                 QsEvalPage      *self)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      path = file ? g_file_get_path (file) : NULL;
      if (path != NULL && !qs_eval_view_export (self->export_view, path, 1.0, &error))
        set_status (self, error->message);
    }
  g_clear_object (&self->chooser);
}

static void
on_export_requested (QsEvalView *view,
                     QsEvalPage *self)
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
                                     g_str_equal (qs_eval_view_get_kind (view), "confusion")
                                       ? "confusion-matrix.png" : "per-class-accuracy.png");
  g_signal_connect (self->chooser, "response", G_CALLBACK (export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---------------------------------------------------------------------------------------- */
/* GObject                                                                                  */

static void
add_row (QsEvalPage          *self,
         AdwPreferencesGroup *group,
         const char          *key,
         const char          *title,
         const char          *subtitle)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *label = gtk_label_new (NULL);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 1.0);
  gtk_widget_add_css_class (label, "numeric");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
  adw_preferences_group_add (group, row);
  g_hash_table_insert (self->values, (gpointer) key, label);
  g_hash_table_insert (self->rows, (gpointer) key, row);
}

static void
qs_eval_page_dispose (GObject *object)
{
  QsEvalPage *self = QS_EVAL_PAGE (object);

  qs_eval_page_set_document (self, NULL);
  g_clear_handle_id (&self->progress_id, g_source_remove);
  g_clear_object (&self->task);
  g_clear_object (&self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->result, qs_eval_result_unref);
  g_clear_pointer (&self->cache, qs_eval_cache_unref);
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_EVAL_PAGE);

  G_OBJECT_CLASS (qs_eval_page_parent_class)->dispose (object);
}

static void
qs_eval_page_finalize (GObject *object)
{
  QsEvalPage *self = QS_EVAL_PAGE (object);

  g_clear_pointer (&self->values, g_hash_table_unref);
  g_clear_pointer (&self->rows, g_hash_table_unref);
  g_free (self->result_dataset);
  g_free (self->status);
  G_OBJECT_CLASS (qs_eval_page_parent_class)->finalize (object);
}

static void
qs_eval_page_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  QsEvalPage *self = QS_EVAL_PAGE (object);

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
qs_eval_page_class_init (QsEvalPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_eval_page_dispose;
  object_class->finalize = qs_eval_page_finalize;
  object_class->get_property = qs_eval_page_get_property;

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (QS_TYPE_EVAL_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/quantscope/Quantscope/qs-eval-page.ui");
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, progress_label);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, page_stack);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, note_label);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, accuracy_group);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, agreement_group);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, errors_group);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, classes_box);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, classes_view);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, confusion_box);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, confusion_view);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, mode_float_button);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, mode_quant_button);
  gtk_widget_class_bind_template_child (widget_class, QsEvalPage, mode_diff_button);

  gtk_widget_class_install_action (widget_class, "evaluation.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "evaluation.cancel", NULL, cancel_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "evaluation.cancel", NULL);
}

static void
qs_eval_page_init (QsEvalPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->values = g_hash_table_new (g_str_hash, g_str_equal);
  self->rows = g_hash_table_new (g_str_hash, g_str_equal);
  self->cache = qs_eval_cache_new ();

  add_row (self, self->accuracy_group, "top1", _("Top-1"), NULL);
  add_row (self, self->accuracy_group, "top5", _("Top-5"), NULL);
  add_row (self, self->agreement_group, "agreement", _("Top-1 agreement"),
           _("Images where both models predict the same class"));
  add_row (self, self->agreement_group, "top5-overlap", _("Top-5 overlap"),
           _("Classes the two top-5 lists share, on average"));
  add_row (self, self->agreement_group, "kl", _("Mean KL divergence"),
           _("Of the quantized output distribution from the float one"));
  add_row (self, self->errors_group, "sqnr", _("SQNR"),
           _("Signal to quantization noise of all outputs"));
  add_row (self, self->errors_group, "mse", _("Mean squared error"), NULL);
  add_row (self, self->errors_group, "cosine", _("Cosine similarity"), NULL);
  add_row (self, self->errors_group, "max-error", _("Largest absolute error"), NULL);

  g_signal_connect_swapped (self->mode_float_button, "toggled", G_CALLBACK (on_mode_toggled), self);
  g_signal_connect_swapped (self->mode_quant_button, "toggled", G_CALLBACK (on_mode_toggled), self);
  g_signal_connect_swapped (self->mode_diff_button, "toggled", G_CALLBACK (on_mode_toggled), self);
  g_signal_connect (self->classes_view, "export-requested", G_CALLBACK (on_export_requested), self);
  g_signal_connect (self->confusion_view, "export-requested", G_CALLBACK (on_export_requested), self);
  set_running (self, NULL);
  update_views (self);
}

GtkWidget *
qs_eval_page_new (void)
{
  return g_object_new (QS_TYPE_EVAL_PAGE, NULL);
}
