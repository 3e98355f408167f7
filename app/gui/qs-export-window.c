/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "qs-export-window.h"
#include "qs-gui-utils.h"
#include "qs-report.h"

struct _QsExportWindow
{
  AdwWindow             parent_instance;

  /* Template widgets */
  GtkWidget            *export_button;
  GtkSpinner           *spinner;
  AdwComboRow          *format_row;
  GtkLabel             *description_label;
  AdwActionRow         *requant_row;
  AdwActionRow         *steps_row;
  AdwActionRow         *size_row;
  AdwActionRow         *calib_row;
  GtkLabel             *status_label;

  /* State */
  QsModel              *model;
  QsConfig             *config;      /* a copy */
  QsCost                cost;
  char                 *size_text;
  guint                 n_ranges;
  guint                 n_fixed;
  GCancellable         *cancellable;
  GtkFileChooserNative *chooser;
  gboolean              busy;
};

G_DEFINE_FINAL_TYPE (QsExportWindow, qs_export_window, ADW_TYPE_WINDOW)

enum { EXPORTED, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct
{
  const QsExportFormat *format;
  QsModel              *model;
  QsConfig             *config;
  char                 *path;
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_clear_object (&job->model);
  g_clear_object (&job->config);
  g_free (job->path);
  g_free (job);
}

const QsExportFormat *
qs_export_window_get_format (QsExportWindow *self)
{
  guint n, i;
  const QsExportFormat *formats = qs_export_list_formats (&n);

  g_return_val_if_fail (QS_IS_EXPORT_WINDOW (self), NULL);
  i = adw_combo_row_get_selected (self->format_row);
  return i < n ? &formats[i] : NULL;
}

gboolean
qs_export_window_set_format (QsExportWindow *self,
                             const char     *id)
{
  guint n;
  const QsExportFormat *formats = qs_export_list_formats (&n);

  g_return_val_if_fail (QS_IS_EXPORT_WINDOW (self), FALSE);
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (formats[i].id, id) == 0)
      {
        adw_combo_row_set_selected (self->format_row, i);
        return TRUE;
      }
  return FALSE;
}

static void
set_status (QsExportWindow *self,
            const char     *text,
            gboolean        is_error)
{
  gtk_label_set_text (self->status_label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), text != NULL);
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
}

static void
format_changed (QsExportWindow *self)
{
  const QsExportFormat *format = qs_export_window_get_format (self);
  g_autofree char *calib = NULL;

  if (format == NULL)
    return;
  gtk_label_set_text (self->description_label, _(format->description));
  /* A format without ranges holds float weights: nothing requantizes. A report describes
   * the config's own mode. */
  adw_action_row_set_subtitle (self->requant_row,
                               format->keeps_requant_mode
                               ? qs_requant_mode_describe (qs_config_get_requant_mode (self->config))
                               : format->needs_ranges ? qs_requant_mode_describe (format->requant_mode)
                                                      : _("Does not apply: the file holds float weights"));
  if (format->needs_ranges)
    adw_action_row_set_subtitle (self->size_row, self->size_text);
  else
    {
      g_autofree char *size = g_format_size (self->cost.float_weight_bytes);
      g_autofree char *text = NULL;

      /* Translators: %s is a size, "423.5 kB" */
      text = g_strdup_printf (_("%s as float32, holding the quantized values"), size);
      adw_action_row_set_subtitle (self->size_row, text);
    }
  if (!format->needs_ranges)
    calib = g_strdup (_("Not needed: the file holds weights only"));
  else if (self->n_ranges == 0)
    calib = g_strdup (_("None: nothing runs with integer activations"));
  else if (self->n_fixed == self->n_ranges)
    /* Translators: %u is a number of values */
    calib = g_strdup_printf (_("%u, all fixed in the config: no calibration"), self->n_ranges);
  else
    /* Translators: the first %u is a number of values, the second of images, %s a dataset */
    calib = g_strdup_printf (_("%u values calibrated on %u images of “%s” before writing"),
                             self->n_ranges - self->n_fixed, qs_config_get_calib_images (self->config),
                             qs_config_get_calib_source (self->config));
  adw_action_row_set_subtitle (self->calib_row, calib);
  set_status (self, NULL, FALSE);
}

static void
update_summary (QsExportWindow *self)
{
  g_autoptr(QsLowering) lowering = qs_lowering_new (self->model, self->config, NULL);
  g_autofree char *steps = NULL, *size = NULL, *stored = NULL, *as_float = NULL;

  qs_cost_compute (self->model, self->config, &self->cost);
  if (lowering != NULL)
    {
      g_autofree QsLoweredRange *ranges = qs_lowering_list_ranges (lowering, &self->n_ranges);

      self->n_fixed = 0;
      for (guint i = 0; i < self->n_ranges; i++)
        self->n_fixed += ranges[i].fixed;
    }
  if (self->cost.has_program)
    {
      g_autofree char *n_int = NULL, *n_float = NULL;

      /* Translators: a count of the program's steps, followed by the float ones */
      n_int = g_strdup_printf (ngettext ("%u integer step", "%u integer steps", self->cost.n_int_steps),
                               self->cost.n_int_steps);
      n_float = g_strdup_printf (ngettext ("%u float step", "%u float steps", self->cost.n_float_steps),
                                 self->cost.n_float_steps);
      /* Translators: "6 integer steps, 1 float step" */
      steps = g_strdup_printf (_("%s, %s"), n_int, n_float);
    }
  else
    steps = g_strdup (_("The model cannot run: only weight formats can be exported"));
  adw_action_row_set_subtitle (self->steps_row, steps);
  stored = g_format_size (self->cost.weight_bytes);
  as_float = g_format_size (self->cost.float_weight_bytes);
  /* Translators: "105 kB stored (423 kB as float32)" */
  size = g_strdup_printf (_("%s stored (%s as float32)"), stored, as_float);
  g_free (self->size_text);
  self->size_text = g_steal_pointer (&size);
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportJob *job = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(GString) summary = g_string_new (NULL);
  QsExportContext ctx = { 0 };

  lowering = qs_lowering_new (job->model, job->config, &error);
  if (lowering != NULL && job->format->needs_ranges)
    ranges = qs_export_make_ranges (lowering, NULL, 0, NULL, NULL, cancellable, &error);
  if (error == NULL && g_task_return_error_if_cancelled (task))
    return;
  if (error == NULL)
    {
      ctx.model = job->model;
      ctx.config = job->config;
      ctx.lowering = lowering;
      ctx.ranges = ranges;
      ctx.model_path = qs_model_get_path (job->model);
      qs_export_run (job->format, &ctx, job->path, summary, &error);
    }
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_string_free (g_steal_pointer (&summary), FALSE), g_free);
}

static void
set_busy (QsExportWindow *self,
          gboolean        busy)
{
  self->busy = busy;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_sensitive (self->export_button, !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->format_row), !busy);
}

static void
task_completed (GTask          *task,
                GParamSpec     *pspec,
                QsExportWindow *self)
{
  set_busy (self, FALSE);
}

void
qs_export_window_export_async (QsExportWindow      *self,
                               GFile               *file,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportJob *job;

  g_return_if_fail (QS_IS_EXPORT_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, qs_export_window_export_async);
  if (self->busy || g_file_peek_path (file) == NULL || qs_export_window_get_format (self) == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BUSY,
                               self->busy ? _("An export is already running") : _("Choose a local file"));
      return;
    }
  job = g_new0 (ExportJob, 1);
  job->format = qs_export_window_get_format (self);
  job->model = g_object_ref (self->model);
  job->config = qs_config_copy (self->config);
  /* The mode the format's consumer computes in (a report describes the config's own). */
  if (!job->format->keeps_requant_mode)
    qs_config_set_requant_mode (job->config, job->format->requant_mode);
  job->path = g_strdup (g_file_peek_path (file));
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  set_busy (self, TRUE);
  set_status (self, job->format->needs_ranges && self->n_fixed < self->n_ranges
                    ? _("Calibrating and writing…") : _("Writing…"), FALSE);
  g_signal_connect_object (task, "notify::completed", G_CALLBACK (task_completed), self, 0);
  g_task_run_in_thread (task, export_thread);
}

char *
qs_export_window_export_finish (QsExportWindow  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
export_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  QsExportWindow *self = QS_EXPORT_WINDOW (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = qs_export_window_export_finish (self, result, &error);
  ExportJob *job = g_task_get_task_data (G_TASK (result));

  if (summary == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_status (self, error->message, TRUE);
      return;
    }
  set_status (self, NULL, FALSE);
  g_signal_emit (self, signals[EXPORTED], 0, job->path, summary);
  gtk_window_close (GTK_WINDOW (self));
}

static void
chooser_response (GtkNativeDialog *dialog,
                  int              response,
                  QsExportWindow  *self)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  g_clear_object (&self->chooser);
  if (file != NULL)
    qs_export_window_export_async (self, file, self->cancellable, export_done, NULL);
}

static void
export_clicked (QsExportWindow *self)
{
  const QsExportFormat *format = qs_export_window_get_format (self);
  g_autofree char *stem = NULL, *name = NULL;

  if (format == NULL || self->busy)
    return;
  stem = qs_model_file_stem (self->model);
  name = g_strconcat (stem, format->extension, NULL);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  /* Translators: the title of the file chooser of the export dialog */
  self->chooser = qs_model_save_chooser_new (GTK_WINDOW (self), self->model, _("Export To"),
                                             _("_Export"), name);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
qs_export_window_dispose (GObject *object)
{
  QsExportWindow *self = QS_EXPORT_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_EXPORT_WINDOW);
  G_OBJECT_CLASS (qs_export_window_parent_class)->dispose (object);
}

static void
qs_export_window_finalize (GObject *object)
{
  QsExportWindow *self = QS_EXPORT_WINDOW (object);

  g_clear_object (&self->model);
  g_clear_object (&self->config);
  g_clear_object (&self->cancellable);
  g_free (self->size_text);
  G_OBJECT_CLASS (qs_export_window_parent_class)->finalize (object);
}

static void
qs_export_window_class_init (QsExportWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_export_window_dispose;
  object_class->finalize = qs_export_window_finalize;

  /* The report formats live outside core (they draw with the charts library). */
  qs_report_register ();

  /**
   * QsExportWindow::exported:
   * @path: the file written
   * @summary: the writer's summary, one line a fact
   */
  signals[EXPORTED] = g_signal_new ("exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-export-window.ui");
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, export_button);
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, format_row);
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, description_label);
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, requant_row);
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, steps_row);
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, size_row);
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, calib_row);
  gtk_widget_class_bind_template_child (widget_class, QsExportWindow, status_label);
  gtk_widget_class_bind_template_callback (widget_class, export_clicked);
  gtk_widget_class_bind_template_callback (widget_class, format_changed);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
qs_export_window_init (QsExportWindow *self)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  guint n;
  const QsExportFormat *formats = qs_export_list_formats (&n);

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  for (guint i = 0; i < n; i++)
    gtk_string_list_append (labels, _(formats[i].label));
  adw_combo_row_set_model (self->format_row, G_LIST_MODEL (labels));
}

QsExportWindow *
qs_export_window_new (GtkWindow *parent,
                      QsModel   *model,
                      QsConfig  *config)
{
  QsExportWindow *self;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (QS_IS_CONFIG (config), NULL);

  self = g_object_new (QS_TYPE_EXPORT_WINDOW, "transient-for", parent, NULL);
  self->model = g_object_ref (model);
  self->config = qs_config_copy (config);
  update_summary (self);
  format_changed (self);
  return self;
}
