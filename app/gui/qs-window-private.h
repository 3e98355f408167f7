/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-layer-list.h"
#include "qs-lesson-panel.h"
#include "qs-layer-page.h"
#include "qs-sensitivity-page.h"
#include "qs-eval-page.h"
#include "qs-gallery-page.h"
#include "qs-start-page.h"
#include "qs-summary-bar.h"
#include "qs-window.h"

G_BEGIN_DECLS

/* What qs-window.c and qs-window-actions.c share: the instance struct and the window's
 * internal entry points. */

/* Called with the file a chooser returned. */
typedef void (*QsWindowChooserDone) (QsWindow *self,
                                     GFile    *file);

struct _QsWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  AdwToastOverlay      *document_toast_overlay; /* above the summary bar */
  AdwWindowTitle       *window_title;
  GtkWidget            *sidebar_button;
  AdwFlap              *flap;
  GtkWidget            *undo_button;
  GtkWidget            *redo_button;
  GtkWidget            *presets_button;
  GtkWidget            *notes_button;
  GtkTextView          *notes_view;
  GtkSpinner           *busy_spinner;
  GtkRevealer          *notice_revealer;
  GtkLabel             *notice_label;
  GtkWidget            *notice_button;
  GtkStack             *main_stack;
  QsStartPage          *start_page;
  GtkSpinner           *loading_spinner;
  GtkLabel             *loading_label;
  AdwStatusPage        *error_page;
  GtkExpander          *error_expander;
  GtkLabel             *error_detail;
  GtkSearchEntry       *search_entry;
  GtkListView          *layer_view;
  GtkStack             *list_stack;
  GtkLabel             *layer_count_label;
  QsLayerPage          *layer_page;
  GtkStack             *content_stack;
  QsSensitivityPage    *sensitivity_page;
  GtkToggleButton      *sensitivity_button;
  QsEvalPage           *evaluation_page;
  GtkToggleButton      *evaluation_button;
  QsGalleryPage        *gallery_page;       /* the sample gallery (issue 11) */
  GtkToggleButton      *gallery_button;
  QsSummaryBar         *summary_bar;
  GtkToggleButton      *lessons_button;
  GtkRevealer          *lesson_revealer;
  QsLessonPanel        *lesson_panel;
  GMenu                *recent_section;
  GMenu                *presets_all_section;
  GMenu                *presets_selected_section;

  /* State */
  GSettings            *settings;
  QsDocument           *document;
  QsLayerList          *layers;
  GtkStringFilter      *filter;
  GtkFilterListModel   *filter_model;
  GtkMultiSelection    *selection;
  char                 *current_layer;
  AdwToastOverlay      *toast_overlay_in_use; /* where self->toast is shown */
  AdwToast             *toast;           /* the one shown: a new toast replaces it */
  char                 *pending_toast;   /* shown from an idle: the newest message wins */
  guint                 toast_idle_id;
  guint                 toast_timeout;     /* seconds; 0 = until dismissed (tests) */
  GCancellable         *load_cancellable;
  GFile                *loading_file;
  GtkFileChooserNative *chooser;
  QsWindowChooserDone   chooser_done;    /* what to do with the file chooser returns */
  char                 *restore_path;
  gboolean              close_confirmed;
  gboolean              close_after_save;
  QsLesson             *pending_lesson;  /* a step waiting for its model to load */
  guint                 pending_step;
  GtkWidget            *lesson_playground; /* the playground a lesson step opened (weak) */
};

/* qs-window.c */
QsApplication *_qs_window_get_app                (QsWindow             *self);
GStrv          _qs_window_get_selected_layers    (QsWindow             *self);
gboolean       _qs_window_is_weights_only        (QsWindow             *self);
/* Shows message (from an idle), replacing the toast shown before; over the document it
 * covers the layer list and page, never the summary bar. */
void           _qs_window_show_toast             (QsWindow             *self,
                                                  const char           *message);
AdwToast      *_qs_window_get_toast              (QsWindow             *self); /* nullable */
/* Seconds a toast stays (6 by default); 0 keeps it until the next one or a click, for
 * tests that must not race the timeout on a busy machine. */
void           _qs_window_set_toast_timeout      (QsWindow             *self,
                                                  guint                 seconds);
void           _qs_window_toast_error            (QsWindow             *self,
                                                  const char           *what,
                                                  const GError         *error);
void           _qs_window_begin_load             (QsWindow             *self,
                                                  GFile                *file,
                                                  const char           *architecture_path,
                                                  QsConfig             *config);
void           _qs_window_update_autosave_offer  (QsWindow             *self);
void           _qs_window_select_layer           (QsWindow             *self,
                                                  const char           *name);

/* qs-window-actions.c */
/* Sets the app to a lesson step's state: its model (loading it first when another one is
 * open), config, layer, page and chart. */
void           _qs_window_apply_lesson_step      (QsWindow             *self,
                                                  QsLesson             *lesson,
                                                  guint                 index);
void           _qs_window_class_actions_init     (QsWindowClass        *klass);
void           _qs_window_actions_init           (QsWindow             *self);
/* Enables the actions that apply to the current state, with the undo and redo tooltips. */
void           _qs_window_actions_update         (QsWindow             *self);
/* Saves to the session file, or asks for one when the document has none yet. */
void           _qs_window_save_or_ask            (QsWindow             *self);
void           _qs_window_drop_chooser           (QsWindow             *self);

G_END_DECLS
