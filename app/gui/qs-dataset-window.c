/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <glib/gi18n.h>

#include "qs-dataset-window.h"
#include "qs-engine-float.h"

#define N_PREVIEW        8
#define PREVIEW_DELAY_MS 200
#define PREVIEW_SIZE     88

/* Preset rows, in the order of the .ui's list. */
static const char * const preset_ids[] = { "auto", "0..1", "-1..1", "caffe", "torch", "raw" };

/* Recent datasets of this run (newest first), shared by every dialog. */
static GtkStringList *recent_specs;

struct _QsDatasetWindow
{
  AdwWindow     parent_instance;

  QsDocument   *document;
  char         *spec;
  guint         preview_id;
  GCancellable *preview_cancellable;
  QsDataset    *preview_dataset;     /* the last preview's, with its preprocessing */
  char         *preview_error;
  gint          predictions[N_PREVIEW];
  gboolean      updating_recent;

  GtkWidget    *apply_button;
  GtkWidget    *spinner;
  AdwActionRow *spec_row;
  AdwComboRow  *recent_row;
  AdwComboRow  *labels_row;
  AdwComboRow  *preset_row;
  GtkEditable  *resize_row;
  GtkEditable  *crop_row;
  GtkEditable  *scale_row;
  GtkEditable  *offset_row;
  GtkEditable  *mean_row;
  GtkEditable  *std_row;
  GtkSwitch    *bgr_switch;
  GtkLabel     *status_label;
  GtkFlowBox   *preview_box;
};

G_DEFINE_FINAL_TYPE (QsDatasetWindow, qs_dataset_window, ADW_TYPE_WINDOW)

/* --- the preview, in a worker ----------------------------------------------------------- */

typedef struct
{
  QsModel      *model;
  char         *spec;
  char         *labels;
  QsPreprocess  pp;
} PreviewJob;

typedef struct
{
  QsDataset *dataset;
  guint      n;
  gsize      h, w, c;
  GBytes    *images[N_PREVIEW];   /* RGB bytes, h x w, the batch's min..max as 0..255 */
  gint       predictions[N_PREVIEW];
  float      confidence[N_PREVIEW];
  float      lo, hi;
} PreviewResult;

static void
preview_job_free (PreviewJob *job)
{
  g_clear_object (&job->model);
  g_free (job->spec);
  g_free (job->labels);
  g_free (job);
}

static void
preview_result_free (PreviewResult *r)
{
  g_clear_object (&r->dataset);
  for (guint i = 0; i < N_PREVIEW; i++)
    g_clear_pointer (&r->images[i], g_bytes_unref);
  g_free (r);
}

/* The model's input as an image: HWC, or a square of grey values for a flat input. */
static gboolean
input_image_shape (QsModel *model,
                   gsize   *h,
                   gsize   *w,
                   gsize   *c)
{
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank = qs_model_get_input_shape (model, shape);

  if (rank == 3 && (shape[2] == 1 || shape[2] == 3 || shape[2] == 4))
    {
      *h = shape[0], *w = shape[1], *c = shape[2];
      return TRUE;
    }
  if (rank == 2)
    {
      *h = shape[0], *w = shape[1], *c = 1;
      return TRUE;
    }
  if (rank == 1)
    {
      gsize side = (gsize) sqrt ((double) shape[0]);

      if (side * side == shape[0])
        {
          *h = *w = side, *c = 1;
          return TRUE;
        }
    }
  return FALSE;
}

static void
preview_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  PreviewJob *job = task_data;
  PreviewResult *r = g_new0 (PreviewResult, 1);
  g_autoptr(QsEngineFloat) engine = NULL;
  g_autofree float *inputs = NULL;
  g_autofree float *outputs = NULL;
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank = qs_model_get_input_shape (job->model, shape);
  gsize per_image = 1;
  guint n_out = MAX (qs_model_get_n_classes (job->model), 1);
  GError *error = NULL;

  for (guint i = 0; i < rank; i++)
    per_image *= shape[i];
  r->dataset = qs_dataset_open_full (job->spec, job->labels, &job->pp, &error);
  if (r->dataset == NULL)
    goto fail;
  r->n = MIN (N_PREVIEW, qs_dataset_get_n_images (r->dataset));
  inputs = g_new0 (float, per_image * MAX (r->n, 1));
  if (!qs_dataset_fill_inputs (r->dataset, job->model, 0, r->n, inputs, &error))
    goto fail;
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    goto fail;

  for (guint i = 0; i < N_PREVIEW; i++)
    r->predictions[i] = -1;
  if (qs_model_can_infer (job->model, NULL))
    {
      engine = qs_engine_float_new (job->model, &error);
      if (engine == NULL)
        goto fail;
      outputs = g_new0 (float, (gsize) n_out * MAX (r->n, 1));
      if (!qs_engine_float_run (engine, inputs, r->n, outputs, 1, NULL, NULL, cancellable, &error))
        goto fail;
      for (guint i = 0; i < r->n; i++)
        {
          const float *o = outputs + (gsize) i * n_out;
          guint best = 0;

          for (guint k = 1; k < n_out; k++)
            if (o[k] > o[best])
              best = k;
          r->predictions[i] = (gint) best;
          r->confidence[i] = o[best];
        }
    }

  r->lo = INFINITY, r->hi = -INFINITY;
  for (gsize k = 0; k < per_image * r->n; k++)
    if (isfinite (inputs[k]))
      r->lo = MIN (r->lo, inputs[k]), r->hi = MAX (r->hi, inputs[k]);
  if (input_image_shape (job->model, &r->h, &r->w, &r->c))
    {
      float span = r->hi > r->lo ? r->hi - r->lo : 1;

      for (guint i = 0; i < r->n; i++)
        {
          guint8 *rgb = g_malloc (r->h * r->w * 3);
          const float *in = inputs + (gsize) i * per_image;

          for (gsize p = 0; p < r->h * r->w; p++)
            for (guint ch = 0; ch < 3; ch++)
              {
                /* BGR inputs are shown in their stored order: swapped colours are a hint */
                float v = in[p * r->c + (r->c >= 3 ? ch : 0)];

                rgb[p * 3 + ch] = (guint8) CLAMP (lrintf ((v - r->lo) / span * 255.f), 0, 255);
              }
          r->images[i] = g_bytes_new_take (rgb, r->h * r->w * 3);
        }
    }
  g_task_return_pointer (task, r, (GDestroyNotify) preview_result_free);
  return;

fail:
  preview_result_free (r);
  g_task_return_error (task, error);
}

static void
clear_preview_box (QsDatasetWindow *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->preview_box))) != NULL)
    gtk_flow_box_remove (self->preview_box, child);
}

static char *
class_text (QsDataset *dataset,
            gint       index)
{
  const char *name = index >= 0 ? qs_dataset_get_class_name (dataset, (guint) index) : NULL;

  if (name != NULL)
    return g_strdup (name);
  return g_strdup_printf ("%d", index);
}

static void
show_preview (QsDatasetWindow *self,
              PreviewResult   *r)
{
  g_autoptr(GString) status = g_string_new (NULL);
  gsize sh, sw, sc;
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank = qs_model_get_input_shape (qs_document_get_model (self->document), shape);
  g_autoptr(GString) model_shape = g_string_new (NULL);

  for (guint i = 0; i < rank; i++)
    g_string_append_printf (model_shape, i ? "×%" G_GSIZE_FORMAT : "%" G_GSIZE_FORMAT, shape[i]);
  qs_dataset_get_image_shape (r->dataset, &sh, &sw, &sc);
  /* Translators: the preview's summary: a number of images, the stored image shape
   * (28×28×1), the model's input shape, labels, and the range of the preprocessed values */
  g_string_append_printf (status, g_dngettext (GETTEXT_PACKAGE, "%'u image", "%'u images",
                                               qs_dataset_get_n_images (r->dataset)),
                          qs_dataset_get_n_images (r->dataset));
  g_string_append_printf (status, _(", stored %s%zu×%zu×%zu, model input %s"),
                          qs_dataset_has_varying_size (r->dataset) ? _("from ") : "",
                          sh, sw, sc, model_shape->str);
  if (qs_dataset_is_labelled (r->dataset))
    g_string_append_printf (status, g_dngettext (GETTEXT_PACKAGE, ", %u class", ", %u classes",
                                                 qs_dataset_get_n_classes (r->dataset)),
                            qs_dataset_get_n_classes (r->dataset));
  else
    g_string_append (status, _(", unlabelled: agreement with the float model only"));
  if (r->n > 0 && isfinite (r->lo))
    /* Translators: the range of the preprocessed input values */
    g_string_append_printf (status, _(". Inputs range from %.3g to %.3g."), r->lo, r->hi);
  gtk_label_set_text (self->status_label, status->str);
  gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");

  clear_preview_box (self);
  for (guint i = 0; i < r->n; i++)
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      GtkWidget *label;
      g_autofree char *text = NULL;
      g_autofree char *predicted = class_text (r->dataset, r->predictions[i]);

      self->predictions[i] = r->predictions[i];
      if (r->images[i] != NULL)
        {
          g_autoptr(GdkTexture) texture =
            gdk_memory_texture_new ((int) r->w, (int) r->h, GDK_MEMORY_R8G8B8, r->images[i], r->w * 3);
          GtkWidget *picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));

          gtk_widget_set_size_request (picture, PREVIEW_SIZE, PREVIEW_SIZE);
          gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
          gtk_box_append (GTK_BOX (box), picture);
        }
      if (r->predictions[i] >= 0)
        /* Translators: a preview image's float prediction: class and its probability */
        text = g_strdup_printf (_("%s · %.0f%%"), predicted, 100 * r->confidence[i]);
      else
        text = g_strdup (_("no prediction"));
      label = gtk_label_new (text);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_widget_add_css_class (label, "caption");
      gtk_box_append (GTK_BOX (box), label);
      if (qs_dataset_is_labelled (r->dataset))
        {
          g_autofree char *truth = class_text (r->dataset, qs_dataset_get_label (r->dataset, i));
          /* Translators: a preview image's label */
          g_autofree char *truth_text = g_strdup_printf (_("label %s"), truth);

          label = gtk_label_new (truth_text);
          gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
          gtk_widget_add_css_class (label, "caption");
          gtk_widget_add_css_class (label, r->predictions[i] == qs_dataset_get_label (r->dataset, i)
                                           ? "success" : "dim-label");
          gtk_box_append (GTK_BOX (box), label);
        }
      gtk_flow_box_append (self->preview_box, box);
    }
}

static void
preview_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  QsDatasetWindow *self = QS_DATASET_WINDOW (source);
  PreviewResult *r;
  g_autoptr(GError) error = NULL;

  if (g_task_get_cancellable (G_TASK (result)) != self->preview_cancellable)
    return;
  r = g_task_propagate_pointer (G_TASK (result), &error);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), FALSE);
  gtk_widget_set_visible (self->spinner, FALSE);
  if (r == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      self->preview_error = g_strdup (error->message);
      gtk_label_set_text (self->status_label, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
      clear_preview_box (self);
      return;
    }
  self->preview_dataset = g_object_ref (r->dataset);
  show_preview (self, r);
  preview_result_free (r);
  gtk_widget_set_sensitive (self->apply_button, TRUE);
}

static const char *
labels_choice (QsDatasetWindow *self)
{
  return adw_combo_row_get_selected (self->labels_row) == 1 ? "none" : NULL;
}

/* The rows as the text qs_preprocess_parse takes. */
static char *
preprocess_text (QsDatasetWindow *self)
{
  GString *s = g_string_new (preset_ids[MIN (adw_combo_row_get_selected (self->preset_row),
                                             G_N_ELEMENTS (preset_ids) - 1)]);
  struct { GtkEditable *row; const char *key; } fields[] = {
    { self->resize_row, "resize" }, { self->crop_row, "crop" }, { self->scale_row, "scale" },
    { self->offset_row, "offset" }, { self->mean_row, "mean" }, { self->std_row, "std" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      g_autofree char *v = g_strstrip (g_strdup (gtk_editable_get_text (fields[i].row)));

      if (*v != '\0')
        g_string_append_printf (s, ",%s=%s", fields[i].key, v);
    }
  if (gtk_switch_get_active (self->bgr_switch))
    g_string_append (s, ",bgr");
  return g_string_free (s, FALSE);
}

static gboolean
start_preview (gpointer data)
{
  QsDatasetWindow *self = data;
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = preprocess_text (self);
  PreviewJob *job;
  QsPreprocess pp;

  self->preview_id = 0;
  if (self->preview_cancellable != NULL)
    g_cancellable_cancel (self->preview_cancellable);
  g_clear_object (&self->preview_cancellable);
  g_clear_object (&self->preview_dataset);
  g_clear_pointer (&self->preview_error, g_free);
  for (guint i = 0; i < N_PREVIEW; i++)
    self->predictions[i] = -1;
  gtk_widget_set_sensitive (self->apply_button, FALSE);

  if (self->spec == NULL)
    {
      self->preview_error = g_strdup (_("No dataset chosen"));
      gtk_label_set_text (self->status_label, _("Choose a file or a folder, or drop one here."));
      clear_preview_box (self);
      return G_SOURCE_REMOVE;
    }
  if (!qs_preprocess_parse (&pp, text, &error))
    {
      self->preview_error = g_strdup (error->message);
      gtk_label_set_text (self->status_label, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
      return G_SOURCE_REMOVE;
    }

  job = g_new0 (PreviewJob, 1);
  job->model = g_object_ref (qs_document_get_model (self->document));
  job->spec = g_strdup (self->spec);
  job->labels = g_strdup (labels_choice (self));
  job->pp = pp;
  self->preview_cancellable = g_cancellable_new ();
  /* the previous spec's message (often an error) does not stay up while this one loads */
  gtk_label_set_text (self->status_label, _("Reading the data and running the model on its first images…"));
  gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
  gtk_widget_set_visible (self->spinner, TRUE);
  gtk_spinner_set_spinning (GTK_SPINNER (self->spinner), TRUE);
  task = g_task_new (self, self->preview_cancellable, preview_done, NULL);
  g_task_set_source_tag (task, start_preview);
  g_task_set_task_data (task, job, (GDestroyNotify) preview_job_free);
  g_task_run_in_thread (task, preview_thread);
  return G_SOURCE_REMOVE;
}

static void
schedule_preview (QsDatasetWindow *self)
{
  g_clear_handle_id (&self->preview_id, g_source_remove);
  gtk_widget_set_sensitive (self->apply_button, FALSE);
  self->preview_id = g_timeout_add (PREVIEW_DELAY_MS, start_preview, self);
}

static void
settings_changed (QsDatasetWindow *self)
{
  schedule_preview (self);
}

void
qs_dataset_window_set_spec (QsDatasetWindow *self,
                            const char      *spec)
{
  g_return_if_fail (QS_IS_DATASET_WINDOW (self));

  g_free (self->spec);
  self->spec = g_strdup (spec);
  adw_action_row_set_subtitle (self->spec_row,
                               spec == NULL ? _("None")
                               : g_strcmp0 (spec, "sample") == 0 ? _("Fashion-MNIST test set (bundled sample)")
                               : spec);
  schedule_preview (self);
}

gboolean
qs_dataset_window_set_preprocess (QsDatasetWindow *self,
                                  const char      *text)
{
  QsPreprocess pp, preset;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (QS_IS_DATASET_WINDOW (self), FALSE);

  if (!qs_preprocess_parse (&pp, text, &error))
    return FALSE;
  /* the preset whose settings these are, else "auto" with every field written out */
  for (guint i = 0; i < G_N_ELEMENTS (preset_ids); i++)
    {
      qs_preprocess_parse (&preset, preset_ids[i], NULL);
      if (qs_preprocess_equal (&pp, &preset))
        {
          adw_combo_row_set_selected (self->preset_row, i);
          return TRUE;
        }
    }
  {
    g_auto(GStrv) parts = g_strsplit (text, ",", -1);

    adw_combo_row_set_selected (self->preset_row, 0);
    for (guint i = 0; parts[i] != NULL; i++)
      {
        char *eq = strchr (parts[i], '=');
        const char *value = eq ? eq + 1 : "";

        if (eq != NULL)
          *eq = '\0';
        if (g_str_equal (parts[i], "preset"))
          for (guint k = 0; k < G_N_ELEMENTS (preset_ids); k++)
            if (g_str_equal (value, preset_ids[k]))
              adw_combo_row_set_selected (self->preset_row, k);
        for (guint k = 0; k < G_N_ELEMENTS (preset_ids); k++)
          if (i == 0 && eq == NULL && g_str_equal (parts[i], preset_ids[k]))
            adw_combo_row_set_selected (self->preset_row, k);
        if (g_str_equal (parts[i], "resize"))
          gtk_editable_set_text (self->resize_row, value);
        else if (g_str_equal (parts[i], "crop"))
          gtk_editable_set_text (self->crop_row, value);
        else if (g_str_equal (parts[i], "scale"))
          gtk_editable_set_text (self->scale_row, value);
        else if (g_str_equal (parts[i], "offset"))
          gtk_editable_set_text (self->offset_row, value);
        else if (g_str_equal (parts[i], "mean"))
          gtk_editable_set_text (self->mean_row, value);
        else if (g_str_equal (parts[i], "std"))
          gtk_editable_set_text (self->std_row, value);
        else if (g_str_equal (parts[i], "bgr"))
          gtk_switch_set_active (self->bgr_switch, TRUE);
      }
  }
  return TRUE;
}

/* --- choosing ---------------------------------------------------------------------------- */

static void
sample_clicked (QsDatasetWindow *self)
{
  qs_dataset_window_set_spec (self, "sample");
}

static void
chooser_response (GtkNativeDialog *chooser,
                  int              response,
                  gpointer         user_data)
{
  QsDatasetWindow *self = QS_DATASET_WINDOW (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL && g_file_peek_path (file) != NULL)
        qs_dataset_window_set_spec (self, g_file_peek_path (file));
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
choose (QsDatasetWindow      *self,
        GtkFileChooserAction  action)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (action == GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                         ? _("Choose an Image Folder") : _("Choose a Dataset File"),
                                         GTK_WINDOW (self), action, _("_Choose"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
file_clicked (QsDatasetWindow *self)
{
  choose (self, GTK_FILE_CHOOSER_ACTION_OPEN);
}

static void
folder_clicked (QsDatasetWindow *self)
{
  choose (self, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
}

static void
recent_selected (QsDatasetWindow *self)
{
  guint i = adw_combo_row_get_selected (self->recent_row);

  if (self->updating_recent || i == GTK_INVALID_LIST_POSITION)
    return;
  qs_dataset_window_set_spec (self, gtk_string_list_get_string (recent_specs, i));
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         gpointer       user_data)
{
  QsDatasetWindow *self = QS_DATASET_WINDOW (user_data);
  GFile *file = NULL;

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = g_value_get_boxed (value);

      file = files != NULL ? files->data : NULL;
    }
  else if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    file = g_value_get_object (value);
  if (file == NULL || g_file_peek_path (file) == NULL)
    return FALSE;
  qs_dataset_window_set_spec (self, g_file_peek_path (file));
  return TRUE;
}

static void
add_recent (const char *spec)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (recent_specs));

  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (gtk_string_list_get_string (recent_specs, i), spec) == 0)
      {
        gtk_string_list_remove (recent_specs, i);
        break;
      }
  gtk_string_list_splice (recent_specs, 0, 0, (const char * const []) { spec, NULL });
}

gboolean
qs_dataset_window_apply (QsDatasetWindow *self)
{
  g_return_val_if_fail (QS_IS_DATASET_WINDOW (self), FALSE);

  if (self->preview_dataset == NULL)
    return FALSE;
  qs_document_set_dataset (self->document, self->spec, labels_choice (self), self->preview_dataset);
  add_recent (self->spec);
  return TRUE;
}

static void
apply_clicked (QsDatasetWindow *self)
{
  if (qs_dataset_window_apply (self))
    gtk_window_destroy (GTK_WINDOW (self));
}

QsDataset *
qs_dataset_window_get_preview_dataset (QsDatasetWindow  *self,
                                       const char      **error)
{
  g_return_val_if_fail (QS_IS_DATASET_WINDOW (self), NULL);

  if (error != NULL)
    *error = self->preview_error;
  return self->preview_dataset;
}

gboolean
qs_dataset_window_get_preview_busy (QsDatasetWindow *self)
{
  g_return_val_if_fail (QS_IS_DATASET_WINDOW (self), FALSE);
  return self->preview_id != 0
         || (self->preview_dataset == NULL && self->preview_error == NULL);
}

gint
qs_dataset_window_get_preview_prediction (QsDatasetWindow *self,
                                          guint            index)
{
  g_return_val_if_fail (QS_IS_DATASET_WINDOW (self), -1);
  return index < N_PREVIEW ? self->predictions[index] : -1;
}

/* --- GObject ------------------------------------------------------------------------------ */

static void
qs_dataset_window_dispose (GObject *object)
{
  QsDatasetWindow *self = QS_DATASET_WINDOW (object);

  g_clear_handle_id (&self->preview_id, g_source_remove);
  if (self->preview_cancellable != NULL)
    g_cancellable_cancel (self->preview_cancellable);
  g_clear_object (&self->preview_cancellable);
  g_clear_object (&self->preview_dataset);
  g_clear_object (&self->document);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_DATASET_WINDOW);
  G_OBJECT_CLASS (qs_dataset_window_parent_class)->dispose (object);
}

static void
qs_dataset_window_finalize (GObject *object)
{
  QsDatasetWindow *self = QS_DATASET_WINDOW (object);

  g_free (self->spec);
  g_free (self->preview_error);
  G_OBJECT_CLASS (qs_dataset_window_parent_class)->finalize (object);
}

static void
qs_dataset_window_class_init (QsDatasetWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_dataset_window_dispose;
  object_class->finalize = qs_dataset_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/quantscope/Quantscope/qs-dataset-window.ui");
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, apply_button);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, spec_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, recent_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, labels_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, preset_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, resize_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, crop_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, scale_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, offset_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, mean_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, std_row);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, bgr_switch);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, QsDatasetWindow, preview_box);
  gtk_widget_class_bind_template_callback (widget_class, apply_clicked);
  gtk_widget_class_bind_template_callback (widget_class, sample_clicked);
  gtk_widget_class_bind_template_callback (widget_class, file_clicked);
  gtk_widget_class_bind_template_callback (widget_class, folder_clicked);
  gtk_widget_class_bind_template_callback (widget_class, recent_selected);
  gtk_widget_class_bind_template_callback (widget_class, settings_changed);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);

  recent_specs = gtk_string_list_new (NULL);
}

static void
qs_dataset_window_init (QsDatasetWindow *self)
{
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));
  for (guint i = 0; i < N_PREVIEW; i++)
    self->predictions[i] = -1;
  self->updating_recent = TRUE;
  adw_combo_row_set_model (self->recent_row, G_LIST_MODEL (recent_specs));
  adw_combo_row_set_selected (self->recent_row, GTK_INVALID_LIST_POSITION);
  self->updating_recent = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->recent_row),
                          g_list_model_get_n_items (G_LIST_MODEL (recent_specs)) > 0);

  drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, (GType []) { GDK_TYPE_FILE_LIST, G_TYPE_FILE }, 2);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}

QsDatasetWindow *
qs_dataset_window_new (GtkWindow  *parent,
                       QsDocument *document)
{
  QsDatasetWindow *self;
  g_autofree char *pp = NULL;

  g_return_val_if_fail (QS_IS_DOCUMENT (document), NULL);

  self = g_object_new (QS_TYPE_DATASET_WINDOW, "transient-for", parent, NULL);
  self->document = g_object_ref (document);
  pp = qs_preprocess_to_string (qs_config_get_preprocess (qs_document_get_config (document)));
  qs_dataset_window_set_preprocess (self, pp);
  if (g_strcmp0 (qs_document_get_dataset_labels (document), "none") == 0)
    adw_combo_row_set_selected (self->labels_row, 1);
  qs_dataset_window_set_spec (self, qs_document_get_dataset_spec (document) != NULL
                                    ? qs_document_get_dataset_spec (document) : "sample");
  return self;
}
