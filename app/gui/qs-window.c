/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "qs-gui-utils.h"
#include "qs-layer-row.h"
#include "qs-window-private.h"

G_DEFINE_FINAL_TYPE (QsWindow, qs_window, ADW_TYPE_APPLICATION_WINDOW)

static void update_actions (QsWindow *self);

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                            */

static void
on_toast_dismissed (AdwToast *toast,
                    QsWindow *self)
{
  g_signal_handlers_disconnect_by_func (toast, on_toast_dismissed, self);
  if (self->toast == toast)
    g_clear_object (&self->toast);
}

static void
drop_toast (QsWindow *self)
{
  g_autoptr(AdwToast) toast = g_steal_pointer (&self->toast);

  if (toast == NULL)
    return;
  g_signal_handlers_disconnect_by_func (toast, on_toast_dismissed, self);
  adw_toast_dismiss (toast);
}

/* Shows the newest message asked for in this main-loop turn. One toast at a time: a toast
 * still on screen takes the new title (libadwaita documents modifying a shown toast)
 * instead of being dismissed, because libadwaita 1.2 crashes (adw_animation_skip) when a
 * toast is dismissed before its show animation has run, which a loaded machine makes
 * likely; toasts asked for together become one. */
static gboolean
show_pending_toast (gpointer user_data)
{
  QsWindow *self = user_data;
  g_autofree char *message = g_steal_pointer (&self->pending_toast);
  AdwToastOverlay *overlay = self->toast_overlay;

  self->toast_idle_id = 0;
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "document") == 0)
    overlay = self->document_toast_overlay;
  /* One toast at a time: toasts queued behind each other (a preset tried after another)
   * would report what is no longer true. */
  if (self->toast != NULL && self->toast_overlay_in_use == overlay)
    {
      adw_toast_set_title (self->toast, message);
      return G_SOURCE_REMOVE;
    }
  drop_toast (self);
  self->toast_overlay_in_use = overlay;

  self->toast = adw_toast_new (message);
  adw_toast_set_timeout (self->toast, self->toast_timeout);
  g_signal_connect (self->toast, "dismissed", G_CALLBACK (on_toast_dismissed), self);
  adw_toast_overlay_add_toast (overlay, g_object_ref (self->toast));
  return G_SOURCE_REMOVE;
}

void
_qs_window_show_toast (QsWindow   *self,
                       const char *message)
{
  g_assert (QS_IS_WINDOW (self));

  g_free (self->pending_toast);
  self->pending_toast = g_strdup (message);
  if (self->toast_idle_id == 0)
    self->toast_idle_id = g_idle_add (show_pending_toast, self);
}

void
_qs_window_set_toast_timeout (QsWindow *self,
                              guint     seconds)
{
  g_assert (QS_IS_WINDOW (self));
  self->toast_timeout = seconds;
}

AdwToast *
_qs_window_get_toast (QsWindow *self)
{
  g_assert (QS_IS_WINDOW (self));
  return self->toast;
}

/* The document's toasts cover the layer list and page: the summary bar's numbers stay
 * readable under them. Wraps what sits above the summary bar in its own overlay (the
 * window's overlay keeps the start, loading and error pages). */
static void
init_document_toast_overlay (QsWindow *self)
{
  GtkWidget *bar = GTK_WIDGET (self->summary_bar);
  GtkWidget *box = gtk_widget_get_parent (bar);
  GtkWidget *content = gtk_widget_get_prev_sibling (bar);
  GtkWidget *before;
  GtkWidget *overlay;

  g_assert (GTK_IS_BOX (box));
  g_assert (content != NULL && gtk_widget_get_next_sibling (content) == bar);

  before = gtk_widget_get_prev_sibling (content);
  overlay = adw_toast_overlay_new ();
  g_object_ref (content);
  gtk_box_remove (GTK_BOX (box), content);
  adw_toast_overlay_set_child (ADW_TOAST_OVERLAY (overlay), content);
  g_object_unref (content);
  gtk_box_insert_child_after (GTK_BOX (box), overlay, before);
  self->document_toast_overlay = ADW_TOAST_OVERLAY (overlay);
}

void
_qs_window_toast_error (QsWindow     *self,
                        const char   *what,
                        const GError *error)
{
  g_autofree char *message = g_strdup_printf ("%s: %s", what, error->message);
  _qs_window_show_toast (self, message);
}

QsApplication *
_qs_window_get_app (QsWindow *self)
{
  return QS_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
}

QsDocument *
qs_window_get_document (QsWindow *self)
{
  g_return_val_if_fail (QS_IS_WINDOW (self), NULL);
  return self->document;
}

gboolean
qs_window_is_empty (QsWindow *self)
{
  g_return_val_if_fail (QS_IS_WINDOW (self), FALSE);
  return self->document == NULL && self->load_cancellable == NULL;
}

/* Names of the selected layers, in model order. */
GStrv
_qs_window_get_selected_layers (QsWindow *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GtkBitset) set = NULL;
  GtkBitsetIter iter;
  guint pos;

  if (self->selection != NULL)
    {
      set = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
      for (gboolean ok = gtk_bitset_iter_init_first (&iter, set, &pos); ok;
           ok = gtk_bitset_iter_next (&iter, &pos))
        {
          g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->filter_model), pos);
          g_strv_builder_add (builder, qs_layer_item_get_name (item));
        }
    }
  return g_strv_builder_end (builder);
}

/* ---------------------------------------------------------------------------------------- */
/* Title, notice and actions                                                                */

static void
update_title (QsWindow *self)
{
  g_autofree char *subtitle = NULL;
  g_autofree char *title = NULL;
  g_autofree char *window_title = NULL;

  if (self->document == NULL)
    {
      adw_window_title_set_title (self->window_title, _("Quantscope"));
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_window_set_title (GTK_WINDOW (self), _("Quantscope"));
      return;
    }

  if (qs_document_get_file (self->document) != NULL)
    subtitle = g_file_get_basename (qs_document_get_file (self->document));
  else
    subtitle = g_path_get_basename (qs_model_get_path (qs_document_get_model (self->document)));

  if (qs_document_get_modified (self->document))
    title = g_strdup_printf ("• %s", qs_document_get_title (self->document));
  else
    title = g_strdup (qs_document_get_title (self->document));

  adw_window_title_set_title (self->window_title, title);
  /* A weights-only file is titled by its file name: do not repeat it underneath. */
  adw_window_title_set_subtitle (self->window_title,
                                 g_strcmp0 (subtitle, qs_document_get_title (self->document)) != 0 ? subtitle : NULL);
  /* Translators: the window title, %s is the model name */
  window_title = g_strdup_printf (_("%s — Quantscope"), title);
  gtk_window_set_title (GTK_WINDOW (self), window_title);
}

static void
update_busy (QsWindow *self)
{
  gboolean busy = FALSE;

  if (self->document != NULL)
    busy = qs_document_get_busy (self->document);
  gtk_spinner_set_spinning (self->busy_spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), busy);
}

/* A file with weights but no architecture: it can be explored but not run. */
gboolean
_qs_window_is_weights_only (QsWindow *self)
{
  if (self->document == NULL)
    return FALSE;
  switch (qs_model_get_format (qs_document_get_model (self->document)))
    {
    case QS_MODEL_FORMAT_KERAS2_WEIGHTS:
    case QS_MODEL_FORMAT_KERAS1_WEIGHTS:
    case QS_MODEL_FORMAT_KERAS3_WEIGHTS:
    case QS_MODEL_FORMAT_HDF5:
      return TRUE;
    default:
      return FALSE;
    }
}

static void
update_actions (QsWindow *self)
{
  _qs_window_actions_update (self);
  update_title (self);
}

static void
update_notice (QsWindow *self)
{
  const char *why = NULL;

  if (self->document == NULL)
    {
      gtk_revealer_set_reveal_child (self->notice_revealer, FALSE);
      return;
    }
  if (!qs_model_can_infer (qs_document_get_model (self->document), &why))
    {
      g_autofree char *text = NULL;
      gboolean weights_only = _qs_window_is_weights_only (self);

      if (weights_only)
        text = g_strdup (_("This file holds weights only, so the model cannot run and accuracy is off. The weights can still be explored; attach the model’s architecture (a model.to_json() file or the full model) to run it."));
      else
        /* Translators: %s says why the model cannot run */
        text = g_strdup_printf (_("Accuracy is off: %s"), why ? why : _("the model cannot run"));
      gtk_label_set_text (self->notice_label, text);
      gtk_widget_set_visible (self->notice_button, weights_only);
      gtk_revealer_set_reveal_child (self->notice_revealer, TRUE);
    }
  else if (qs_document_get_checksum_mismatch (self->document))
    {
      gtk_label_set_text (self->notice_label,
                          _("The model file changed since this session was saved. The saved settings were applied to the new file."));
      gtk_widget_set_visible (self->notice_button, FALSE);
      gtk_revealer_set_reveal_child (self->notice_revealer, TRUE);
    }
  else
    gtk_revealer_set_reveal_child (self->notice_revealer, FALSE);
}

static void
update_layer_count (QsWindow *self)
{
  guint shown, total;
  g_autofree char *text = NULL;

  if (self->layers == NULL)
    return;
  shown = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));
  total = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
  if (shown == total)
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u layer", "%u layers", total), total);
  else
    /* Translators: "3 of 12 layers" shown by the layer filter */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u layer", "%u of %u layers", total), shown, total);
  gtk_label_set_text (self->layer_count_label, text);
}

/* ---------------------------------------------------------------------------------------- */
/* Recent files                                                                             */

static void
update_recent (QsWindow *self)
{
  g_auto(GStrv) recent = qs_application_get_recent (_qs_window_get_app (self));

  g_menu_remove_all (self->recent_section);
  for (guint i = 0; recent[i] != NULL; i++)
    {
      g_autofree char *name = g_path_get_basename (recent[i]);
      g_auto(GStrv) parts = g_strsplit (name, "_", -1);
      /* Menu labels take mnemonics: "my_model.h5" must not lose its underscore. */
      g_autofree char *label = g_strjoinv ("__", parts);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);

      g_menu_item_set_action_and_target_value (item, "win.open-recent", g_variant_new_string (recent[i]));
      g_menu_append_item (self->recent_section, item);
    }
  qs_start_page_set_recent (self->start_page, (const char * const *) recent);
}

void
_qs_window_update_autosave_offer (QsWindow *self)
{
  g_autofree char *data = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  const char *name = NULL, *saved = NULL;

  g_clear_pointer (&self->restore_path, g_free);
  self->restore_path = qs_document_find_autosave ();
  if (self->restore_path == NULL)
    {
      qs_start_page_set_autosave (self->start_page, NULL, NULL);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.restore-autosave", FALSE);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.discard-autosave", FALSE);
      return;
    }

  if (g_file_get_contents (self->restore_path, &data, NULL, NULL)
      && json_parser_load_from_data (parser, data, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonObject *root = json_node_get_object (json_parser_get_root (parser));
      JsonObject *model = json_object_get_object_member (root, "model");

      name = model ? json_object_get_string_member_with_default (model, "name", NULL) : NULL;
      saved = json_object_get_string_member_with_default (root, "saved", NULL);
    }

  /* Translators: %s is a model name */
  title = g_strdup_printf (_("Unsaved changes to “%s”"), name ? name : _("a model"));
  if (saved != NULL)
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (saved, NULL);
      g_autoptr(GDateTime) local = dt ? g_date_time_to_local (dt) : NULL;
      g_autofree char *when = local ? g_date_time_format (local, "%x %R") : NULL;

      /* Translators: %s is a date and time */
      subtitle = when ? g_strdup_printf (_("Kept from the last session, %s"), when) : NULL;
    }
  qs_start_page_set_autosave (self->start_page, title,
                              subtitle ? subtitle : _("Kept from the last session"));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.restore-autosave", TRUE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.discard-autosave", TRUE);
}

/* ---------------------------------------------------------------------------------------- */
/* The layer list                                                                           */

static void
set_current_layer (QsWindow   *self,
                   const char *name)
{
  if (g_strcmp0 (name, self->current_layer) == 0)
    return;
  g_free (self->current_layer);
  self->current_layer = g_strdup (name);
  qs_layer_page_set_layer (self->layer_page, name);
  /* picking a layer shows it */
  if (name != NULL)
    {
      gtk_toggle_button_set_active (self->sensitivity_button, FALSE);
      gtk_toggle_button_set_active (self->evaluation_button, FALSE);
      gtk_toggle_button_set_active (self->gallery_button, FALSE);
    }
}

/* The lessons panel takes the place of the layer list: both do not fit beside the page. */
static void
on_lessons_toggled (QsWindow *self)
{
  if (gtk_toggle_button_get_active (self->lessons_button))
    adw_flap_set_reveal_flap (self->flap, FALSE);
}

static void
update_content_page (QsWindow *self)
{
  const char *page = "layer";

  if (gtk_toggle_button_get_active (self->sensitivity_button))
    page = "sensitivity";
  else if (gtk_toggle_button_get_active (self->evaluation_button))
    page = "evaluation";
  else if (gtk_toggle_button_get_active (self->gallery_button))
    page = "gallery";
  gtk_stack_set_visible_child_name (self->content_stack, page);
}

/* The Sensitivity, Evaluation and Gallery views each take the layer page's place: one at a time. */
static void
on_sensitivity_toggled (QsWindow *self)
{
  if (gtk_toggle_button_get_active (self->sensitivity_button))
    {
      gtk_toggle_button_set_active (self->evaluation_button, FALSE);
      gtk_toggle_button_set_active (self->gallery_button, FALSE);
    }
  update_content_page (self);
}

static void
on_evaluation_toggled (QsWindow *self)
{
  if (gtk_toggle_button_get_active (self->evaluation_button))
    {
      gtk_toggle_button_set_active (self->sensitivity_button, FALSE);
      gtk_toggle_button_set_active (self->gallery_button, FALSE);
    }
  update_content_page (self);
}

/* The sample gallery (issue 11) gets the document when it is first shown. */
static void
on_gallery_toggled (QsWindow *self)
{
  if (gtk_toggle_button_get_active (self->gallery_button))
    {
      gtk_toggle_button_set_active (self->sensitivity_button, FALSE);
      gtk_toggle_button_set_active (self->evaluation_button, FALSE);
      qs_gallery_page_set_document (self->gallery_page, self->document);
    }
  update_content_page (self);
}

/* Selects one layer alone and shows it; clears the filter when it hides the layer. */
void
_qs_window_select_layer (QsWindow   *self,
                         const char *name)
{
  for (guint attempt = 0; attempt < 2 && self->filter_model != NULL; attempt++)
    {
      guint n = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->filter_model), i);

          if (g_strcmp0 (qs_layer_item_get_name (item), name) == 0)
            {
              gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), i, TRUE);
              set_current_layer (self, name);
              gtk_widget_activate_action (GTK_WIDGET (self->layer_view), "list.scroll-to-item", "u", i);
              return;
            }
        }
      gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
    }
}

/* Narrow, the layer list lies over the page: picking a layer shows its page. */
static void
hide_folded_list (QsWindow *self)
{
  if (adw_flap_get_folded (self->flap))
    adw_flap_set_reveal_flap (self->flap, FALSE);
}

/* Return (or a double click) on a row: select that layer alone and show it. */
static void
on_layer_activated (GtkListView *view,
                    guint        position,
                    QsWindow    *self)
{
  if (self->selection != NULL)
    gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);
  hide_folded_list (self);
}

static void
on_layer_clicked (QsWindow *self)
{
  hide_folded_list (self);
}

/* Below this width the layer list folds over the page, which keeps its controls beside the
 * statistics down to about 770 px. The flap alone would fold only when the page's minimum
 * does not fit, far too late for a page that still works when stacked. */
#define FOLD_WIDTH 1080

static void
update_fold (QsWindow *self)
{
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (self));
  gboolean fold;

  if (surface == NULL)
    return;
  fold = gdk_surface_get_width (surface) < FOLD_WIDTH;
  adw_flap_set_fold_policy (self->flap, fold ? ADW_FLAP_FOLD_POLICY_ALWAYS : ADW_FLAP_FOLD_POLICY_NEVER);
}

static void
qs_window_realize (GtkWidget *widget)
{
  QsWindow *self = QS_WINDOW (widget);

  GTK_WIDGET_CLASS (qs_window_parent_class)->realize (widget);
  g_signal_connect_object (gtk_native_get_surface (GTK_NATIVE (self)), "notify::width",
                           G_CALLBACK (update_fold), self, G_CONNECT_SWAPPED);
  update_fold (self);
}

static void
on_main_stack_changed (QsWindow *self)
{
  gtk_widget_set_visible (self->sidebar_button,
                          g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "document") == 0);
}

static void
on_selection_changed (GtkSelectionModel *model,
                      guint              position,
                      guint              n_items,
                      QsWindow          *self)
{
  g_auto(GStrv) selected = _qs_window_get_selected_layers (self);

  /* Keep showing the current layer while it stays selected (ctrl-click adds others),
   * otherwise show the first selected one. */
  if (selected[0] != NULL
      && (self->current_layer == NULL || !g_strv_contains ((const char * const *) selected, self->current_layer)))
    set_current_layer (self, selected[0]);
  update_actions (self);
}

/* The page never shows a layer the filter hides: the first match takes its place, or,
 * with no match, the page and the list say so. */
static void
on_filter_items_changed (QsWindow *self)
{
  GListModel *shown = G_LIST_MODEL (self->filter_model);
  guint n = g_list_model_get_n_items (shown);
  gboolean current_shown = FALSE;

  update_layer_count (self);
  gtk_stack_set_visible_child_name (self->list_stack, n > 0 ? "list" : "no-match");
  if (n == 0)
    {
      g_clear_pointer (&self->current_layer, g_free);
      qs_layer_page_show_no_match (self->layer_page, gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
      return;
    }

  for (guint i = 0; i < n && self->current_layer != NULL && !current_shown; i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (shown, i);

      current_shown = g_strcmp0 (qs_layer_item_get_name (item), self->current_layer) == 0;
    }
  if (!current_shown)
    {
      g_autoptr(QsLayerItem) first = g_list_model_get_item (shown, 0);

      gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), 0, TRUE);
      set_current_layer (self, qs_layer_item_get_name (first));
    }
}

/* Typing on while nothing matches changes no items: keep the page's text up to date. */
static void
on_filter_search_changed (QsWindow *self)
{
  if (self->filter_model != NULL && g_list_model_get_n_items (G_LIST_MODEL (self->filter_model)) == 0)
    qs_layer_page_show_no_match (self->layer_page, gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
}

/* ---------------------------------------------------------------------------------------- */
/* Documents                                                                                */

static void
on_document_notify (QsWindow *self)
{
  update_actions (self);
}

static void
on_notes_changed (QsWindow      *self,
                  GtkTextBuffer *buffer)
{
  GtkTextIter start, end;
  g_autofree char *text = NULL;

  if (self->document == NULL)
    return;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  qs_document_set_notes (self->document, text);
}

static void
on_quick_subset_changed (QsWindow *self)
{
  if (self->document != NULL)
    qs_document_set_quick_subset (self->document, g_settings_get_int (self->settings, "quick-subset"));
}

static void
clear_document (QsWindow *self)
{
  if (self->document != NULL)
    {
      /* Replaced or closed on purpose: its autosave is no longer needed. */
      qs_document_discard_autosave (self->document);
      g_signal_handlers_disconnect_by_data (self->document, self);
    }
  qs_layer_page_set_document (self->layer_page, NULL);
  qs_sensitivity_page_set_document (self->sensitivity_page, NULL);
  qs_eval_page_set_document (self->evaluation_page, NULL);
  qs_gallery_page_set_document (self->gallery_page, NULL);
  qs_summary_bar_set_document (self->summary_bar, NULL);
  gtk_list_view_set_model (self->layer_view, NULL);
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  if (self->filter_model != NULL)
    g_signal_handlers_disconnect_by_data (self->filter_model, self);
  g_clear_object (&self->selection);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->filter);
  g_clear_object (&self->layers);
  g_clear_pointer (&self->current_layer, g_free);
  g_clear_object (&self->document);
}

/* The deployment target chosen last is the next new model's (GSettings "default-target"). */
static void
remember_target (QsWindow *self)
{
  const char *key = self->document != NULL ? qs_document_get_target_key (self->document) : NULL;

  g_settings_set_string (self->settings, "default-target", key != NULL ? key : "");
}

static void
set_document (QsWindow   *self,
              QsDocument *document)
{
  GtkExpression *expression;
  guint n;

  clear_document (self);
  self->document = g_object_ref (document);

  self->layers = qs_layer_list_new (document);
  expression = gtk_property_expression_new (QS_TYPE_LAYER_ITEM, NULL, "name");
  self->filter = gtk_string_filter_new (expression);
  gtk_string_filter_set_match_mode (self->filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
  gtk_string_filter_set_ignore_case (self->filter, TRUE);
  g_object_bind_property (self->search_entry, "text", self->filter, "search", G_BINDING_SYNC_CREATE);
  self->filter_model = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->layers)),
                                                  g_object_ref (GTK_FILTER (self->filter)));
  self->selection = gtk_multi_selection_new (g_object_ref (G_LIST_MODEL (self->filter_model)));
  g_signal_connect (self->selection, "selection-changed", G_CALLBACK (on_selection_changed), self);
  g_signal_connect_swapped (self->filter_model, "items-changed", G_CALLBACK (on_filter_items_changed), self);
  g_signal_connect_object (self->filter, "notify::search", G_CALLBACK (on_filter_search_changed), self,
                           G_CONNECT_SWAPPED);
  gtk_list_view_set_model (self->layer_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_swapped (document, "notify::modified", G_CALLBACK (on_document_notify), self);
  g_signal_connect_swapped (document, "notify::can-undo", G_CALLBACK (on_document_notify), self);
  g_signal_connect_swapped (document, "notify::file", G_CALLBACK (on_document_notify), self);
  g_signal_connect_swapped (document, "notify::busy", G_CALLBACK (update_busy), self);

  {
    GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->notes_view);

    g_signal_handlers_block_by_func (buffer, on_notes_changed, self);
    gtk_text_buffer_set_text (buffer, qs_document_get_notes (document), -1);
    g_signal_handlers_unblock_by_func (buffer, on_notes_changed, self);
  }

  /* Deployment target (issue 12): a new model starts with the last one chosen; a choice is
   * remembered for the next. */
  if (qs_document_get_target (document) == NULL && qs_document_get_file (document) == NULL
      && !qs_document_get_modified (document))
    {
      g_autofree char *name = g_settings_get_string (self->settings, "default-target");
      g_autoptr(QsTarget) target = name[0] != '\0' ? qs_target_load (name, NULL) : NULL;

      if (target != NULL)
        {
          qs_document_set_target (document, target);
          /* the default is no change of the document's */
          qs_document_mark_target_saved (document);
        }
    }
  g_signal_connect_object (document, "notify::target", G_CALLBACK (remember_target), self, G_CONNECT_SWAPPED);

  qs_document_set_quick_subset (document, g_settings_get_int (self->settings, "quick-subset"));
  qs_layer_page_set_document (self->layer_page, document);
  qs_sensitivity_page_set_document (self->sensitivity_page, document);
  qs_eval_page_set_document (self->evaluation_page, document);
  /* the gallery gets the document when it is first shown: its grid of every image costs
   * nothing until then (and stays out of the accessibility tree) */
  qs_gallery_page_set_document (self->gallery_page,
                                gtk_toggle_button_get_active (self->gallery_button) ? document : NULL);
  qs_summary_bar_set_document (self->summary_bar, document);
  qs_document_refresh (document);

  /* Start on the first layer with weights. */
  n = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(QsLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->filter_model), i);

      if (qs_layer_item_get_has_weights (item) || i == n - 1)
        {
          gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), i, TRUE);
          gtk_widget_activate_action (GTK_WIDGET (self->layer_view), "list.scroll-to-item", "u", i);
          break;
        }
    }

  if (n == 0)
    on_filter_items_changed (self);
  update_layer_count (self);
  update_notice (self);
  update_busy (self);
  update_actions (self);
  gtk_stack_set_visible_child_name (self->main_stack, "document");
}

static const char *
friendly_error (const GError *error)
{
  if (error->domain == QS_MODEL_ERROR)
    switch ((QsModelError) error->code)
      {
      case QS_MODEL_ERROR_NOT_FOUND:
        return _("The file does not exist or cannot be read.");
      case QS_MODEL_ERROR_NOT_HDF5:
        return _("This is not a model Quantscope can read. Open a Keras model saved as HDF5 (.h5, .hdf5) or .keras, or a Quantscope session.");
      case QS_MODEL_ERROR_CORRUPT:
        return _("The file is damaged or incomplete. Try saving the model again.");
      case QS_MODEL_ERROR_UNSUPPORTED:
        return _("The model uses something Quantscope cannot read yet.");
      case QS_MODEL_ERROR_BAD_CONFIG:
      case QS_MODEL_ERROR_SHAPE_MISMATCH:
      case QS_MODEL_ERROR_GRAPH:
        return _("The model’s description does not match its weights.");
      case QS_MODEL_ERROR_EXTERNAL:
        return _("The file refers to data stored in other files. For your safety Quantscope does not follow such references.");
      case QS_MODEL_ERROR_TOO_LARGE:
        return _("The model is too large to open.");
      case QS_MODEL_ERROR_TEXT_DAMAGED:
        return _("This file was damaged by a text conversion (its binary bytes were replaced): download or copy it again in binary mode.");
      default:
        break;
      }
  if (error->domain == QS_DOCUMENT_ERROR)
    return _("This session file cannot be opened.");
  if (error->domain == QS_DATASET_ERROR)
    return _("The evaluation dataset of this session cannot be opened.");
  if (error->domain == G_IO_ERROR || error->domain == G_FILE_ERROR)
    return _("The file cannot be read.");
  return _("Something went wrong while opening the file.");
}

static void
show_error (QsWindow     *self,
            GFile        *file,
            const GError *error)
{
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *title = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *kind = NULL;

  /* Translators: %s is a file name */
  title = g_strdup_printf (_("Could Not Open “%s”"), name);
  kind = qs_error_describe_code (error);
  detail = g_strdup_printf ("%s\n\n%s", error->message, kind);
  adw_status_page_set_title (self->error_page, title);
  adw_status_page_set_description (self->error_page, friendly_error (error));
  gtk_label_set_text (self->error_detail, detail);
  gtk_expander_set_expanded (self->error_expander, FALSE);
  gtk_stack_set_visible_child_name (self->main_stack, "error");
}

static void
load_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(QsWindow) self = user_data;
  g_autoptr(QsDocument) document = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_steal_pointer (&self->loading_file);
  gboolean is_session = g_async_result_is_tagged (result, qs_document_load_session_async);

  if (is_session)
    document = qs_document_load_session_finish (result, &error);
  else
    document = qs_document_load_finish (result, &error);

  /* The window was closed while the file loaded. */
  if (self->main_stack == NULL)
    return;

  g_clear_object (&self->load_cancellable);
  gtk_spinner_stop (self->loading_spinner);

  if (document == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_stack_set_visible_child_name (self->main_stack,
                                          self->document != NULL ? "document" : "start");
      else if (self->document != NULL)
        _qs_window_toast_error (self, _("Could not reload the model"), error);
      else
        show_error (self, file, error);
      update_actions (self);
      return;
    }

  /* An autosave is not a file the user knows about: do not list it as recent. */
  if (!(is_session && g_str_has_prefix (g_file_peek_path (file), g_get_user_data_dir ())))
    qs_application_add_recent (_qs_window_get_app (self), g_file_peek_path (file));
  set_document (self, document);
  if (self->pending_lesson != NULL)
    {
      g_autoptr(QsLesson) lesson = g_steal_pointer (&self->pending_lesson);

      _qs_window_apply_lesson_step (self, lesson, self->pending_step);
    }
  if (qs_document_get_checksum_mismatch (document))
    _qs_window_show_toast (self, _("The model file changed since the session was saved"));
}

void
_qs_window_begin_load (QsWindow   *self,
                       GFile      *file,
                       const char *architecture_path,
                       QsConfig   *config)
{
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *label = NULL;
  const char *path = g_file_peek_path (file);

  if (path == NULL)
    {
      g_autoptr(GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                             _("“%s” is not a local file"), name);
      show_error (self, file, error);
      return;
    }

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  g_set_object (&self->loading_file, file);

  /* Translators: %s is a file name */
  label = g_strdup_printf (_("Opening “%s”…"), name);
  gtk_label_set_text (self->loading_label, label);
  gtk_spinner_start (self->loading_spinner);
  gtk_stack_set_visible_child_name (self->main_stack, "loading");

  if (architecture_path == NULL && qs_document_is_session_file (path))
    qs_document_load_session_async (file, self->load_cancellable, load_done, g_object_ref (self));
  else
    qs_document_load_async (path, architecture_path, config, self->load_cancellable,
                            load_done, g_object_ref (self));
  update_actions (self);
}

void
qs_window_open_file (QsWindow *self,
                     GFile    *file)
{
  g_return_if_fail (QS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (!qs_window_is_empty (self))
    {
      QsWindow *window = qs_window_new (_qs_window_get_app (self));

      qs_window_open_file (window, file);
      gtk_window_present (GTK_WINDOW (window));
      return;
    }
  _qs_window_begin_load (self, file, NULL, NULL);
}

void
qs_window_open_sample (QsWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = qs_data_find_file (QS_DATA_SAMPLE_MODEL, &error);
  g_autoptr(GFile) file = NULL;

  g_return_if_fail (QS_IS_WINDOW (self));

  if (path == NULL)
    {
      file = g_file_new_for_path (QS_DATA_SAMPLE_MODEL);
      show_error (self, file, error);
      return;
    }
  file = g_file_new_for_path (path);
  qs_window_open_file (self, file);
}

/* ---------------------------------------------------------------------------------------- */
/* Drag and drop                                                                            */

static gboolean
is_openable (GFile *file)
{
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *lower = g_ascii_strdown (name ? name : "", -1);

  return g_str_has_suffix (lower, ".h5") || g_str_has_suffix (lower, ".hdf5")
         || g_str_has_suffix (lower, ".keras") || g_str_has_suffix (lower, ".json");
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         QsWindow      *self)
{
  GSList *files = g_value_get_boxed (value);
  gboolean opened = FALSE;

  for (GSList *l = files; l != NULL; l = l->next)
    {
      GFile *file = l->data;

      if (is_openable (file))
        {
          qs_window_open_file (self, file);
          opened = TRUE;
        }
      else
        {
          g_autofree char *name = g_file_get_basename (file);
          g_autofree char *message = NULL;

          /* Translators: %s is a file name */
          message = g_strdup_printf (_("“%s” is not a Keras model (.h5, .hdf5, .keras) or a session (.json)"), name);
          _qs_window_show_toast (self, message);
        }
    }
  return opened;
}

/* ---------------------------------------------------------------------------------------- */
/* Closing                                                                                  */

static void
save_window_state (QsWindow *self)
{
  int width, height;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
  if (!gtk_window_is_maximized (GTK_WINDOW (self)) && width > 0 && height > 0)
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
}

static void
close_response (AdwMessageDialog *dialog,
                const char       *response,
                QsWindow         *self)
{
  if (g_strcmp0 (response, "discard") == 0)
    {
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
  else if (g_strcmp0 (response, "save") == 0)
    {
      self->close_after_save = TRUE;
      _qs_window_save_or_ask (self);
    }
}

static gboolean
qs_window_close_request (GtkWindow *window)
{
  QsWindow *self = QS_WINDOW (window);

  save_window_state (self);

  if (!self->close_confirmed && self->document != NULL && qs_document_get_modified (self->document))
    {
      GtkWidget *dialog;

      dialog = adw_message_dialog_new (window, _("Save Changes?"), NULL);
      adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                      _("The quantization settings of “%s” have unsaved changes. Changes you do not save are lost."),
                                      qs_document_get_title (self->document));
      adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                        "cancel", _("_Cancel"),
                                        "discard", _("_Discard"),
                                        "save", _("_Save"),
                                        NULL);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "discard",
                                                  ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save",
                                                  ADW_RESPONSE_SUGGESTED);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
      adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
      g_signal_connect (dialog, "response", G_CALLBACK (close_response), self);
      gtk_window_present (GTK_WINDOW (dialog));
      return TRUE;
    }

  /* Closing on purpose: the autosave is no longer needed. */
  if (self->document != NULL)
    qs_document_discard_autosave (self->document);
  g_cancellable_cancel (self->load_cancellable);

  return GTK_WINDOW_CLASS (qs_window_parent_class)->close_request (window);
}

/* ---------------------------------------------------------------------------------------- */
/* GObject                                                                                  */

static void
qs_window_dispose (GObject *object)
{
  QsWindow *self = QS_WINDOW (object);

  clear_document (self);
  if (self->toast != NULL)
    g_signal_handlers_disconnect_by_func (self->toast, on_toast_dismissed, self);
  g_clear_object (&self->toast);
  g_clear_handle_id (&self->toast_idle_id, g_source_remove);
  g_clear_pointer (&self->pending_toast, g_free);
  _qs_window_drop_chooser (self);
  g_clear_pointer (&self->pending_lesson, qs_lesson_unref);
  if (self->lesson_playground != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->lesson_playground), (gpointer *) &self->lesson_playground);
  self->lesson_playground = NULL;
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->loading_file);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->restore_path, g_free);
  /* the window owns the template's root: drop it first, so the toast overlay does not
   * unparent a child the template has already disposed */
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_WINDOW);

  G_OBJECT_CLASS (qs_window_parent_class)->dispose (object);
}

/* Needs the application, which g_object_new sets only after constructed(). */
static void
setup_with_application (QsWindow *self)
{
  QsApplication *app = _qs_window_get_app (self);

  self->settings = g_object_ref (qs_application_get_settings (app));
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  g_signal_connect_object (self->settings, "changed::recent-files",
                           G_CALLBACK (update_recent), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::quick-subset",
                           G_CALLBACK (on_quick_subset_changed), self, G_CONNECT_SWAPPED);
  update_recent (self);
  _qs_window_update_autosave_offer (self);
  update_actions (self);
}

static void
qs_window_class_init (QsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = qs_window_dispose;
  widget_class->realize = qs_window_realize;
  window_class->close_request = qs_window_close_request;

  g_type_ensure (QS_TYPE_START_PAGE);
  g_type_ensure (QS_TYPE_LAYER_PAGE);
  g_type_ensure (QS_TYPE_SENSITIVITY_PAGE);
  g_type_ensure (QS_TYPE_EVAL_PAGE);
  g_type_ensure (QS_TYPE_GALLERY_PAGE);
  g_type_ensure (QS_TYPE_SUMMARY_BAR);
  g_type_ensure (QS_TYPE_LAYER_ROW);
  g_type_ensure (QS_TYPE_LESSON_PANEL);

  _qs_window_class_actions_init (klass);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-window.ui");
  gtk_widget_class_bind_template_child (widget_class, QsWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, sidebar_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, undo_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, redo_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, presets_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, notes_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, notes_view);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, notice_revealer);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, notice_label);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, notice_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, start_page);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, loading_label);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, error_expander);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, error_detail);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, layer_view);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, list_stack);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, layer_count_label);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, layer_page);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, sensitivity_page);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, sensitivity_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, evaluation_page);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, evaluation_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, gallery_page);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, gallery_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, lessons_button);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, lesson_revealer);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, lesson_panel);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, summary_bar);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, recent_section);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, presets_all_section);
  gtk_widget_class_bind_template_child (widget_class, QsWindow, presets_selected_section);

}

static void
qs_window_init (QsWindow *self)
{
  GtkDropTarget *drop;

  self->toast_timeout = 6;
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->sensitivity_button, "toggled",
                            G_CALLBACK (on_sensitivity_toggled), self);
  g_signal_connect_swapped (self->evaluation_button, "toggled",
                            G_CALLBACK (on_evaluation_toggled), self);
  g_signal_connect_swapped (self->gallery_button, "toggled", G_CALLBACK (on_gallery_toggled), self);
  g_object_bind_property (self->lessons_button, "active", self->lesson_revealer, "reveal-child",
                          G_BINDING_SYNC_CREATE);
  g_signal_connect_swapped (self->lessons_button, "toggled", G_CALLBACK (on_lessons_toggled), self);
  g_signal_connect_swapped (self->lesson_panel, "step-entered",
                            G_CALLBACK (_qs_window_apply_lesson_step), self);
  init_document_toast_overlay (self);

#ifdef QS_DEVELOPMENT
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif

  gtk_accessible_update_property (GTK_ACCESSIBLE (self->layer_view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Layers"), -1);

  /* The list beside the page when there is room, over it (behind the header button) when
   * not. */
  g_object_bind_property (self->flap, "reveal-flap", self->sidebar_button, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_signal_connect_swapped (self->main_stack, "notify::visible-child-name",
                            G_CALLBACK (on_main_stack_changed), self);
  g_signal_connect (self->layer_view, "activate", G_CALLBACK (on_layer_activated), self);
  /* Return in the filter: the first match is shown already; show its page. */
  g_signal_connect_swapped (self->search_entry, "activate", G_CALLBACK (hide_folded_list), self);
  {
    GtkGesture *click = gtk_gesture_click_new ();

    gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_BUBBLE);
    g_signal_connect_swapped (click, "released", G_CALLBACK (on_layer_clicked), self);
    gtk_widget_add_controller (GTK_WIDGET (self->layer_view), GTK_EVENT_CONTROLLER (click));
  }

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  g_signal_connect_swapped (gtk_text_view_get_buffer (self->notes_view), "changed",
                            G_CALLBACK (on_notes_changed), self);

  _qs_window_actions_init (self);
}

QsWindow *
qs_window_new (QsApplication *application)
{
  QsWindow *self;

  g_return_val_if_fail (QS_IS_APPLICATION (application), NULL);

  self = g_object_new (QS_TYPE_WINDOW, "application", application, NULL);
  setup_with_application (self);
  return self;
}
