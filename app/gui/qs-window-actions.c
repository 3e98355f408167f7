/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "qs-dataset-window.h"
#include "qs-export-window.h"
#include "qs-qat-window.h"
#include "qs-playground-window.h"
#include "qs-window-private.h"

/* ---------------------------------------------------------------------------------------- */
/* File choosers                                                                            */

void
_qs_window_drop_chooser (QsWindow *self)
{
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
}

static void
chooser_response (GtkNativeDialog *dialog,
                  int              response,
                  gpointer         user_data)
{
  QsWindow *self = user_data;
  QsWindowChooserDone done = self->chooser_done;
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) parent = NULL;

      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      parent = file ? g_file_get_parent (file) : NULL;
      if (parent != NULL && g_file_peek_path (parent) != NULL)
        g_settings_set_string (self->settings, "last-folder", g_file_peek_path (parent));
    }
  else
    self->close_after_save = FALSE;

  g_clear_object (&self->chooser);
  if (file != NULL)
    done (self, file);
}

static void
add_filter (GtkFileChooser     *chooser,
            const char         *name,
            const char * const *patterns)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  for (guint i = 0; patterns[i] != NULL; i++)
    gtk_file_filter_add_pattern (filter, patterns[i]);
  gtk_file_chooser_add_filter (chooser, filter);
}

static const char * const model_patterns[] = { "*.h5", "*.hdf5", "*.keras", "*.json", NULL };
static const char * const json_patterns[] = { "*.json", NULL };
static const char * const lesson_patterns[] = { "*.lesson", NULL };
static const char * const encodings_patterns[] = { "*.encodings", "*.json", NULL };
static const char * const arch_patterns[] = { "*.json", "*.h5", "*.hdf5", "*.keras", NULL };

static void
choose_file (QsWindow             *self,
             GtkFileChooserAction  action,
             const char           *title,
             const char           *accept,
             const char           *filter_name,
             const char * const   *patterns,
             const char           *suggested_name,
             QsWindowChooserDone           done)
{
  g_autofree char *last = g_settings_get_string (self->settings, "last-folder");

  _qs_window_drop_chooser (self);

  self->chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, accept, NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  add_filter (GTK_FILE_CHOOSER (self->chooser), filter_name, patterns);
  if (last != NULL && *last != '\0' && g_file_test (last, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GFile) folder = g_file_new_for_path (last);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), folder, NULL);
    }
  if (suggested_name != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), suggested_name);
  self->chooser_done = done;
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---------------------------------------------------------------------------------------- */
/* Commands                                                                                 */

static void
open_chosen (QsWindow *self,
             GFile    *file)
{
  qs_window_open_file (self, file);
}

static void
open_sample_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  qs_window_open_sample (QS_WINDOW (widget));
}

static void
open_recent_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);
  const char *path = g_variant_get_string (param, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *message = NULL;

      qs_application_remove_recent (_qs_window_get_app (self), path);
      /* Translators: %s is a file path */
      message = g_strdup_printf (_("“%s” no longer exists"), path);
      _qs_window_show_toast (self, message);
      return;
    }
  qs_window_open_file (self, file);
}

static void
save_to (QsWindow *self,
         GFile    *file)
{
  g_autoptr(GError) error = NULL;

  if (!qs_document_save_session (self->document, file, &error))
    {
      self->close_after_save = FALSE;
      _qs_window_toast_error (self, _("Could not save the session"), error);
      return;
    }
  qs_application_add_recent (_qs_window_get_app (self), g_file_peek_path (file));
  if (self->close_after_save)
    {
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
  else
    _qs_window_show_toast (self, _("Session saved"));
}

static void
import_chosen (QsWindow *self,
               GFile    *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsConfig) config = NULL;

  if (self->document == NULL)
    return;
  /* A plain config or a config export (with its ranges fixed). */
  config = qs_export_import_config (qs_document_get_model (self->document), g_file_peek_path (file), NULL, &error);
  if (config == NULL)
    {
      _qs_window_toast_error (self, _("Could not import the config"), error);
      return;
    }
  qs_document_set_config (self->document, config, _("Import Config"));
  _qs_window_show_toast (self, _("Config imported"));
}

static void
export_chosen (QsWindow *self,
               GFile    *file)
{
  g_autoptr(GError) error = NULL;

  if (!qs_config_save_file (qs_document_get_config (self->document), g_file_peek_path (file), &error))
    {
      _qs_window_toast_error (self, _("Could not export the config"), error);
      return;
    }
  _qs_window_show_toast (self, _("Config exported"));
}

/* AIMET encodings (or a config export) into the document's config, as one undoable step.
 * A file that does not fit lists every problem: in a dialog, a toast would cut it. */
static void
import_encodings_chosen (QsWindow *self,
                         GFile    *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) summary = g_string_new (NULL);
  g_autoptr(QsConfig) config = NULL;
  char *newline;

  if (self->document == NULL)
    return;
  config = qs_export_import (qs_document_get_model (self->document), g_file_peek_path (file),
                             qs_document_get_config (self->document), summary, &error);
  if (config == NULL)
    {
      AdwMessageDialog *dialog;

      dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self),
                                                           _("Could Not Import the Encodings"),
                                                           error->message));
      adw_message_dialog_add_response (dialog, "close", _("_Close"));
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }
  /* Translators: an undo step */
  qs_document_set_config (self->document, config, _("Import AIMET Encodings"));
  if ((newline = strchr (summary->str, '\n')) != NULL)
    *newline = '\0';
  _qs_window_show_toast (self, summary->str);
}

static void
exported (QsExportWindow *dialog,
          const char     *path,
          const char     *summary,
          QsWindow       *self)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *message = NULL;
  g_autofree char *size = NULL;
  GStatBuf st;

  size = g_format_size (g_stat (path, &st) == 0 ? (guint64) st.st_size : 0);
  /* Translators: a toast; the first %s is the file name, the second its size */
  message = g_strdup_printf (_("Exported “%s” (%s)"), base, size);
  _qs_window_show_toast (self, message);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);
  QsExportWindow *dialog;

  if (self->document == NULL)
    return;
  dialog = qs_export_window_new (GTK_WINDOW (self), qs_document_get_model (self->document),
                                 qs_document_get_config (self->document));
  g_signal_connect_object (dialog, "exported", G_CALLBACK (exported), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Fine-tune with Quantization (issue 11): the QAT dialog over the document's current
 * config; what it saved opens in a new window with its config, the document stays. */
static void
qat_open_model (QsQatWindow *dialog,
                const char  *path,
                QsConfig    *config,
                QsWindow    *self)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  QsWindow *window = qs_window_new (_qs_window_get_app (self));

  _qs_window_begin_load (window, file, NULL, config);
  gtk_window_present (GTK_WINDOW (window));
}

static void
qat_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);
  QsQatWindow *dialog;

  if (self->document == NULL)
    return;
  dialog = qs_qat_window_new (GTK_WINDOW (self), self->document);
  g_signal_connect_object (dialog, "open-model", G_CALLBACK (qat_open_model), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
choose_dataset_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  if (self->document == NULL)
    return;
  gtk_window_present (GTK_WINDOW (qs_dataset_window_new (GTK_WINDOW (self), self->document)));
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  if (self->document != NULL)
    qs_document_undo (self->document);
}

static void
redo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  if (self->document != NULL)
    qs_document_redo (self->document);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  /* Folded, the list (and its search entry) may be hidden. */
  adw_flap_set_reveal_flap (self->flap, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
attach_chosen (QsWindow *self,
               GFile    *file)
{
  g_autoptr(GFile) model = g_file_new_for_path (qs_model_get_path (qs_document_get_model (self->document)));

  _qs_window_begin_load (self, model, g_file_peek_path (file), qs_document_get_config (self->document));
}

static void
open_lesson_chosen (QsWindow *self,
                    GFile    *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLesson) lesson = NULL;

  if (g_file_peek_path (file) == NULL
      || (lesson = qs_lesson_load_file (g_file_peek_path (file), &error)) == NULL)
    {
      _qs_window_toast_error (self, _("Could not open the lesson"), error);
      return;
    }
  gtk_toggle_button_set_active (self->lessons_button, TRUE);
  qs_lesson_panel_open (self->lesson_panel, lesson, 0);
}

/* The commands that ask for a file: one chooser each, then done () with the file. */
typedef struct
{
  const char           *action_name;
  GtkFileChooserAction  chooser_action;
  const char           *title;        /* N_ () */
  const char           *accept;       /* N_ () */
  const char           *filter_name;  /* N_ () */
  const char * const   *patterns;
  /* N_ (): the suggested file name of a save, %s is the model name; such a command needs a
   * document. NULL for the commands that open a file. */
  const char           *name_format;
  QsWindowChooserDone           done;
} FileCommand;

static const FileCommand file_commands[] = {
  { "win.open", GTK_FILE_CHOOSER_ACTION_OPEN,
    N_("Open Model or Session"), N_("_Open"), N_("Keras Models and Sessions"), model_patterns,
    NULL, open_chosen },
  { "win.save-as", GTK_FILE_CHOOSER_ACTION_SAVE,
    N_("Save Session"), N_("_Save"), N_("Quantscope Sessions"), json_patterns,
    /* Translators: the suggested file name of a session, %s is the model name */
    N_("%s-session.json"), save_to },
  { "win.import-config", GTK_FILE_CHOOSER_ACTION_OPEN,
    N_("Import Config"), N_("_Import"), N_("Quantization Configs"), json_patterns,
    NULL, import_chosen },
  { "win.export-config", GTK_FILE_CHOOSER_ACTION_SAVE,
    N_("Export Config"), N_("_Export"), N_("Quantization Configs"), json_patterns,
    /* Translators: the suggested file name of an exported config, %s is the model name */
    N_("%s-config.json"), export_chosen },
  { "win.import-aimet", GTK_FILE_CHOOSER_ACTION_OPEN,
    N_("Import AIMET Encodings"), N_("_Import"), N_("AIMET Encodings"), encodings_patterns,
    NULL, import_encodings_chosen },
  { "win.attach-architecture", GTK_FILE_CHOOSER_ACTION_OPEN,
    N_("Attach Architecture"), N_("_Attach"), N_("Model Architectures (JSON, HDF5, Keras)"),
    arch_patterns, NULL, attach_chosen },
  { "win.open-lesson", GTK_FILE_CHOOSER_ACTION_OPEN,
    N_("Open Lesson"), N_("_Open"), N_("Quantscope Lessons"), lesson_patterns,
    NULL, open_lesson_chosen },
};

static void
file_command_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);
  const FileCommand *command = NULL;
  g_autofree char *name = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (file_commands) && command == NULL; i++)
    if (g_str_equal (file_commands[i].action_name, action_name))
      command = &file_commands[i];
  g_return_if_fail (command != NULL);

  if (command->name_format != NULL)
    {
      if (self->document == NULL)
        return;
      name = g_strdup_printf (_(command->name_format), qs_document_get_title (self->document));
    }
  choose_file (self, command->chooser_action, _(command->title), _(command->accept),
               _(command->filter_name), command->patterns, name, command->done);
}

void
_qs_window_save_or_ask (QsWindow *self)
{
  if (self->document == NULL)
    return;
  if (qs_document_get_file (self->document) != NULL)
    save_to (self, qs_document_get_file (self->document));
  else
    file_command_action (GTK_WIDGET (self), "win.save-as", NULL);
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  _qs_window_save_or_ask (QS_WINDOW (widget));
}

static void
apply_preset (QsWindow           *self,
              const char         *preset,
              const char * const *layers)
{
  g_autoptr(GError) error = NULL;

  if (self->document == NULL)
    return;
  if (!qs_document_apply_preset (self->document, preset, layers, &error))
    _qs_window_toast_error (self, _("Could not apply the preset"), error);
  else
    {
      const char *description = qs_config_preset_description (preset);
      g_autofree char *message = NULL;

      /* Translators: a toast, "w8a8: TFLite int8: weights symmetric ..." */
      message = g_strdup_printf (_("%s: %s"), preset, description ? description : "");
      _qs_window_show_toast (self, message);
    }
}

static void
apply_preset_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  apply_preset (QS_WINDOW (widget), g_variant_get_string (param, NULL), NULL);
}

static void
apply_preset_selected_action (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);
  g_auto(GStrv) selected = _qs_window_get_selected_layers (self);

  apply_preset (self, g_variant_get_string (param, NULL), (const char * const *) selected);
}

static void
copy_settings_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);
  g_auto(GStrv) selected = _qs_window_get_selected_layers (self);
  g_autofree char *message = NULL;
  QsLayerConfig lc;
  guint n;

  if (self->document == NULL || self->current_layer == NULL)
    return;
  qs_config_get_layer (qs_document_get_config (self->document), self->current_layer, &lc);
  qs_document_set_layer_config (self->document, (const char * const *) selected, &lc,
                                _("Copy Settings to Selected Layers"), NULL);
  n = g_strv_length (selected);
  /* Translators: %s is a layer name */
  message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Settings of “%s” copied to %u layer",
                                          "Settings of “%s” copied to %u layers", n),
                             self->current_layer, n);
  _qs_window_show_toast (self, message);
}

static void
cancel_load_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  g_cancellable_cancel (self->load_cancellable);
}

static void
show_start_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  if (self->document == NULL)
    {
      _qs_window_update_autosave_offer (self);
      gtk_stack_set_visible_child_name (self->main_stack, "start");
    }
  else
    gtk_stack_set_visible_child_name (self->main_stack, "document");
}

static void
restore_autosave_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);
  g_autoptr(GFile) file = NULL;

  if (self->restore_path == NULL)
    return;
  file = g_file_new_for_path (self->restore_path);
  qs_window_open_file (self, file);
}

static void
discard_autosave_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  if (self->restore_path != NULL)
    g_unlink (self->restore_path);
  _qs_window_update_autosave_offer (self);
}

static void
fill_presets_menu (QsWindow *self)
{
  const char * const *presets = qs_config_list_presets ();

  /* The names are the ones the CLI and config files use; a popover menu item has one line
   * (no subtitles in GTK 4.8), so each name is followed by a few words on what it does.
   * Applying a preset tells the whole description in a toast. */
  for (guint i = 0; presets[i] != NULL; i++)
    {
      const char *summary = qs_config_preset_summary (presets[i]);
      g_autofree char *label = NULL;
      g_autoptr(GMenuItem) all = NULL;
      g_autoptr(GMenuItem) sel = NULL;

      /* Translators: a preset in the Presets menu, "w8a8 — int8 weights and activations (TFLite)" */
      label = summary ? g_strdup_printf (_("%s — %s"), presets[i], summary) : g_strdup (presets[i]);
      all = g_menu_item_new (label, NULL);
      sel = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target_value (all, "win.apply-preset", g_variant_new_string (presets[i]));
      g_menu_item_set_action_and_target_value (sel, "win.apply-preset-selected", g_variant_new_string (presets[i]));
      g_menu_append_item (self->presets_all_section, all);
      g_menu_append_item (self->presets_selected_section, sel);
    }
}

static void
toast_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  _qs_window_show_toast (QS_WINDOW (widget), g_variant_get_string (param, NULL));
}

static void
select_layer_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  _qs_window_select_layer (QS_WINDOW (widget), g_variant_get_string (param, NULL));
}

/* Reveals or hides the layer list (F9); beside the page it can be hidden too. */
static void
show_layers_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  adw_flap_set_reveal_flap (self->flap, !adw_flap_get_reveal_flap (self->flap));
  if (adw_flap_get_reveal_flap (self->flap))
    gtk_widget_grab_focus (GTK_WIDGET (self->layer_view));
}

/* The Evaluation view (issue 11): Ctrl+U (Ctrl+E is Export Config). */
static void
show_evaluation_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  if (gtk_widget_get_visible (GTK_WIDGET (self->evaluation_button)))
    gtk_toggle_button_set_active (self->evaluation_button,
                                  !gtk_toggle_button_get_active (self->evaluation_button));
}

/* The sample gallery (issue 11), Ctrl+G. */
static void
show_gallery_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  if (gtk_widget_get_visible (GTK_WIDGET (self->gallery_button)))
    gtk_toggle_button_set_active (self->gallery_button,
                                  !gtk_toggle_button_get_active (self->gallery_button));
}

static void
show_sensitivity_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  if (gtk_widget_get_visible (GTK_WIDGET (self->sensitivity_button)))
    gtk_toggle_button_set_active (self->sensitivity_button,
                                  !gtk_toggle_button_get_active (self->sensitivity_button));
}

static void
lessons_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  QsWindow *self = QS_WINDOW (widget);

  gtk_toggle_button_set_active (self->lessons_button, !gtk_toggle_button_get_active (self->lessons_button));
}

/* ---------------------------------------------------------------------------------------- */
/* Lessons                                                                                  */

static gboolean
document_has_model (QsWindow   *self,
                    const char *file)
{
  g_autofree char *want = NULL;
  g_autofree char *have = NULL;

  if (self->document == NULL || self->load_cancellable != NULL)
    return FALSE;
  want = g_path_get_basename (file);
  have = g_path_get_basename (qs_model_get_path (qs_document_get_model (self->document)));
  return g_strcmp0 (want, have) == 0;
}

void
_qs_window_apply_lesson_step (QsWindow *self,
                              QsLesson *lesson,
                              guint     index)
{
  const QsLessonStep *step = qs_lesson_get_step (lesson, index);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsConfig) config = NULL;

  g_clear_pointer (&self->pending_lesson, qs_lesson_unref);
  /* a step without a model runs on the model of the lesson's last step that names one */
  {
    const char *model = NULL;

    for (guint i = 0; i <= index; i++)
      if (qs_lesson_get_step (lesson, i)->model != NULL)
        model = qs_lesson_get_step (lesson, i)->model;
    if (model != NULL && !document_has_model (self, qs_lesson_sample_model_file (model)))
      {
        g_autofree char *path = qs_data_find_file (qs_lesson_sample_model_file (model), &error);
        g_autoptr(GFile) file = NULL;

        if (path == NULL)
          {
            _qs_window_toast_error (self, _("Could not open the lesson's model"), error);
            return;
          }
        self->pending_lesson = qs_lesson_ref (lesson);
        self->pending_step = index;
        file = g_file_new_for_path (path);
        _qs_window_begin_load (self, file, NULL, NULL);
        return;
      }
  }
  if (self->document == NULL)
    return;

  if ((config = qs_lesson_step_make_config (step, qs_document_get_config (self->document), &error)) == NULL)
    {
      _qs_window_toast_error (self, _("Could not apply the lesson step"), error);
      return;
    }
  if (!qs_config_equal (config, qs_document_get_config (self->document)))
    /* Translators: the undo label of a lesson step */
    qs_document_set_config (self->document, config, _("Lesson Step"));
  if (step->layer != NULL)
    _qs_window_select_layer (self, step->layer);
  if (step->chart != NULL)
    qs_layer_page_set_chart (self->layer_page, step->chart);
  if (step->page == QS_LESSON_PAGE_LAYER)
    gtk_toggle_button_set_active (self->sensitivity_button, FALSE);
  else if (step->page == QS_LESSON_PAGE_SENSITIVITY)
    gtk_toggle_button_set_active (self->sensitivity_button, TRUE);
  else if (step->page == QS_LESSON_PAGE_PLAYGROUND && self->lesson_playground == NULL)
    {
      gtk_widget_activate_action (GTK_WIDGET (self), "win.playground", NULL);
      self->lesson_playground = GTK_WIDGET (gtk_application_get_active_window (gtk_window_get_application (GTK_WINDOW (self))));
      if (self->lesson_playground == GTK_WIDGET (self))
        self->lesson_playground = NULL;
      else
        g_object_add_weak_pointer (G_OBJECT (self->lesson_playground), (gpointer *) &self->lesson_playground);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Installing and updating                                                                  */

void
_qs_window_actions_update (QsWindow *self)
{
  gboolean has_doc = self->document != NULL;
  g_auto(GStrv) selected = _qs_window_get_selected_layers (self);
  const char *undo_label = has_doc ? qs_document_get_undo_label (self->document) : NULL;
  const char *redo_label = has_doc ? qs_document_get_redo_label (self->document) : NULL;
  g_autofree char *undo_tip = NULL;
  g_autofree char *redo_tip = NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", has_doc && qs_document_can_undo (self->document));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", has_doc && qs_document_can_redo (self->document));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-as", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.import-config", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export-config", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.qat", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.choose-dataset", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.import-aimet", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.search", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.select-layer", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.show-layers", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.apply-preset", has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.apply-preset-selected",
                                 has_doc && g_strv_length (selected) > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.copy-settings",
                                 has_doc && self->current_layer != NULL && g_strv_length (selected) > 1);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.attach-architecture",
                                 has_doc && _qs_window_is_weights_only (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-load", self->load_cancellable != NULL);

  gtk_widget_set_visible (self->undo_button, has_doc);
  gtk_widget_set_visible (self->redo_button, has_doc);
  gtk_widget_set_visible (self->presets_button, has_doc);
  gtk_widget_set_visible (GTK_WIDGET (self->sensitivity_button), has_doc);
  gtk_widget_set_visible (GTK_WIDGET (self->evaluation_button), has_doc);
  gtk_widget_set_visible (GTK_WIDGET (self->gallery_button), has_doc);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.show-gallery", has_doc);
  gtk_widget_set_visible (self->notes_button, has_doc);

  /* Translators: tooltip of the undo button, %s says what will be undone ("Apply Preset
   * w8a8"); undo step labels carry no quotes of their own */
  undo_tip = undo_label ? g_strdup_printf (_("Undo “%s”"), undo_label) : g_strdup (_("Undo"));
  /* Translators: tooltip of the redo button, %s says what will be redone */
  redo_tip = redo_label ? g_strdup_printf (_("Redo “%s”"), redo_label) : g_strdup (_("Redo"));
  gtk_widget_set_tooltip_text (self->undo_button, undo_tip);
  gtk_widget_set_tooltip_text (self->redo_button, redo_tip);
}

/* The quantization playground; the layer on screen is offered as a distribution. */
static void
playground_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  QsWindow *self = QS_WINDOW (widget);
  QsQuantResult *layer = NULL;
  GtkWidget *window;

  if (self->document != NULL && self->current_layer != NULL)
    layer = qs_document_get_layer_result (self->document, self->current_layer);
  window = qs_playground_window_new (layer);
  gtk_window_set_transient_for (GTK_WINDOW (window), GTK_WINDOW (self));
  gtk_window_set_application (GTK_WINDOW (window), gtk_window_get_application (GTK_WINDOW (self)));
  if (gtk_widget_has_css_class (widget, "presentation"))
    gtk_widget_activate_action (window, "win.presentation", NULL);
  gtk_window_present (GTK_WINDOW (window));
}

/* Presentation mode (F11): full screen, larger text, thicker chart lines, for a projector. */
static void
presentation_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  gboolean on = !gtk_widget_has_css_class (widget, "presentation");

  if (on)
    {
      gtk_widget_add_css_class (widget, "presentation");
      gtk_window_fullscreen (GTK_WINDOW (widget));
    }
  else
    {
      gtk_widget_remove_css_class (widget, "presentation");
      gtk_window_unfullscreen (GTK_WINDOW (widget));
    }
}

void
_qs_window_actions_init (QsWindow *self)
{
  fill_presets_menu (self);
}

void
_qs_window_class_actions_init (QsWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  for (guint i = 0; i < G_N_ELEMENTS (file_commands); i++)
    gtk_widget_class_install_action (widget_class, file_commands[i].action_name, NULL, file_command_action);
  gtk_widget_class_install_action (widget_class, "win.open-sample", NULL, open_sample_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", open_recent_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.qat", NULL, qat_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_t, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.qat", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_T, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.qat", NULL);
  gtk_widget_class_install_action (widget_class, "win.choose-dataset", NULL, choose_dataset_action);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, redo_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.apply-preset", "s", apply_preset_action);
  gtk_widget_class_install_action (widget_class, "win.apply-preset-selected", "s", apply_preset_selected_action);
  gtk_widget_class_install_action (widget_class, "win.copy-settings", NULL, copy_settings_action);
  gtk_widget_class_install_action (widget_class, "win.cancel-load", NULL, cancel_load_action);
  gtk_widget_class_install_action (widget_class, "win.show-start", NULL, show_start_action);
  gtk_widget_class_install_action (widget_class, "win.restore-autosave", NULL, restore_autosave_action);
  gtk_widget_class_install_action (widget_class, "win.discard-autosave", NULL, discard_autosave_action);
  /* Pages show another layer with "win.select-layer" (its name). */
  gtk_widget_class_install_action (widget_class, "win.select-layer", "s", select_layer_action);
  gtk_widget_class_install_action (widget_class, "win.show-layers", NULL, show_layers_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "win.show-layers", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-sensitivity", NULL, show_sensitivity_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, GDK_CONTROL_MASK, "win.show-sensitivity", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-evaluation", NULL, show_evaluation_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_u, GDK_CONTROL_MASK, "win.show-evaluation", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-gallery", NULL, show_gallery_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_g, GDK_CONTROL_MASK, "win.show-gallery", NULL);
  /* Pages ask for a toast with gtk_widget_activate_action (page, "win.toast", "s", message). */
  gtk_widget_class_install_action (widget_class, "win.toast", "s", toast_action);
  gtk_widget_class_install_action (widget_class, "win.playground", NULL, playground_action);
  gtk_widget_class_install_action (widget_class, "win.presentation", NULL, presentation_action);
  gtk_widget_class_install_action (widget_class, "win.lessons", NULL, lessons_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F2, 0, "win.lessons", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.presentation", NULL);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "win.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.save-as", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK, "win.import-config", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export-config", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.export", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_E, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.export", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_y, GDK_CONTROL_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close", NULL);
}
