/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-lesson-panel.h"

struct _QsLessonPanel
{
  AdwBin      parent_instance;

  GtkStack   *stack;
  GtkListBox *list;
  GtkLabel   *lesson_title;
  GtkLabel   *counter;
  GtkLabel   *step_title;
  GtkLabel   *text;
  GtkWidget  *back_button;
  GtkWidget  *next_button;

  GPtrArray  *bundled;   /* QsLesson* */
  QsLesson   *lesson;
  guint       step;
};

G_DEFINE_FINAL_TYPE (QsLessonPanel, qs_lesson_panel, ADW_TYPE_BIN)

enum { STEP_ENTERED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
show_step (QsLessonPanel *self)
{
  const QsLessonStep *step = qs_lesson_get_step (self->lesson, self->step);
  guint n = qs_lesson_get_n_steps (self->lesson);
  /* Translators: position in a lesson: "Step 2 of 3" */
  g_autofree char *counter = g_strdup_printf (_("Step %u of %u"), self->step + 1, n);

  gtk_label_set_text (self->lesson_title, self->lesson->title);
  gtk_label_set_text (self->counter, counter);
  gtk_label_set_text (self->step_title, step->title ? step->title : "");
  gtk_widget_set_visible (GTK_WIDGET (self->step_title), step->title != NULL);
  gtk_label_set_text (self->text, step->text);
  gtk_widget_set_sensitive (self->back_button, self->step > 0);
  gtk_button_set_label (GTK_BUTTON (self->next_button),
                        self->step + 1 < n ? _("_Next") : _("_Finish"));
  gtk_stack_set_visible_child_name (self->stack, "step");
  g_signal_emit (self, signals[STEP_ENTERED], 0, self->lesson, self->step);
}

void
qs_lesson_panel_open (QsLessonPanel *self,
                      QsLesson      *lesson,
                      guint          index)
{
  g_return_if_fail (QS_IS_LESSON_PANEL (self));
  g_return_if_fail (lesson != NULL);
  g_return_if_fail (index < qs_lesson_get_n_steps (lesson));

  qs_lesson_ref (lesson);
  g_clear_pointer (&self->lesson, qs_lesson_unref);
  self->lesson = lesson;
  self->step = index;
  show_step (self);
}

void
qs_lesson_panel_show_list (QsLessonPanel *self)
{
  g_return_if_fail (QS_IS_LESSON_PANEL (self));
  gtk_stack_set_visible_child_name (self->stack, "list");
}

QsLesson *
qs_lesson_panel_get_lesson (QsLessonPanel *self)
{
  g_return_val_if_fail (QS_IS_LESSON_PANEL (self), NULL);
  return self->lesson;
}

guint
qs_lesson_panel_get_step (QsLessonPanel *self)
{
  g_return_val_if_fail (QS_IS_LESSON_PANEL (self), 0);
  return self->step;
}

gboolean
qs_lesson_panel_next (QsLessonPanel *self)
{
  g_return_val_if_fail (QS_IS_LESSON_PANEL (self), FALSE);
  if (self->lesson == NULL)
    return FALSE;
  if (self->step + 1 >= qs_lesson_get_n_steps (self->lesson))
    {
      qs_lesson_panel_show_list (self);
      return FALSE;
    }
  self->step++;
  show_step (self);
  return TRUE;
}

gboolean
qs_lesson_panel_back (QsLessonPanel *self)
{
  g_return_val_if_fail (QS_IS_LESSON_PANEL (self), FALSE);
  if (self->lesson == NULL || self->step == 0)
    return FALSE;
  self->step--;
  show_step (self);
  return TRUE;
}

static void
on_row_activated (QsLessonPanel *self,
                  GtkListBoxRow *row)
{
  gint i = gtk_list_box_row_get_index (row);

  if (i >= 0 && (guint) i < self->bundled->len)
    qs_lesson_panel_open (self, g_ptr_array_index (self->bundled, i), 0);
}

static void
load_bundled (QsLessonPanel *self)
{
  const char * const *files = qs_lesson_list_bundled ();

  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = qs_data_find_file (files[i], &error);
      QsLesson *lesson = path ? qs_lesson_load_file (path, &error) : NULL;
      GtkWidget *row;

      if (lesson == NULL)
        {
          g_warning ("%s", error->message);
          continue;
        }
      g_ptr_array_add (self->bundled, lesson);
      row = adw_action_row_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), lesson->title);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      /* Translators: how many steps a lesson has */
      {
        g_autofree char *sub = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u step", "%u steps",
                                                             qs_lesson_get_n_steps (lesson)),
                                                qs_lesson_get_n_steps (lesson));
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), sub);
      }
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
      gtk_list_box_append (self->list, row);
    }
}

static GtkWidget *
make_label (const char *css_class,
            gboolean    wrap)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), wrap);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

static void
qs_lesson_panel_dispose (GObject *object)
{
  QsLessonPanel *self = QS_LESSON_PANEL (object);

  g_clear_pointer (&self->lesson, qs_lesson_unref);
  g_clear_pointer (&self->bundled, g_ptr_array_unref);
  G_OBJECT_CLASS (qs_lesson_panel_parent_class)->dispose (object);
}

static void
qs_lesson_panel_class_init (QsLessonPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_lesson_panel_dispose;
  signals[STEP_ENTERED] = g_signal_new ("step-entered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                        QS_TYPE_LESSON, G_TYPE_UINT);
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "lessonpanel");
}

static void
qs_lesson_panel_init (QsLessonPanel *self)
{
  GtkWidget *list_page, *scroller, *open_button, *step_page, *buttons, *all_button, *text_scroller, *box;

  self->bundled = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_lesson_unref);
  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_set_transition_type (self->stack, GTK_STACK_TRANSITION_TYPE_CROSSFADE);
  gtk_widget_set_size_request (GTK_WIDGET (self->stack), 340, -1);
  adw_bin_set_child (ADW_BIN (self), GTK_WIDGET (self->stack));

  /* the list of lessons */
  list_page = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  g_object_set (list_page, "margin-start", 12, "margin-end", 12, "margin-top", 12, "margin-bottom", 12, NULL);
  box = make_label ("title-4", FALSE);
  gtk_label_set_text (GTK_LABEL (box), _("Lessons"));
  gtk_box_append (GTK_BOX (list_page), box);
  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  g_signal_connect_swapped (self->list, "row-activated", G_CALLBACK (on_row_activated), self);
  scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->list));
  gtk_box_append (GTK_BOX (list_page), scroller);
  open_button = gtk_button_new_with_mnemonic (_("_Open Lesson File…"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (open_button), "win.open-lesson");
  gtk_box_append (GTK_BOX (list_page), open_button);
  gtk_stack_add_named (self->stack, list_page, "list");

  /* one step */
  step_page = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  g_object_set (step_page, "margin-start", 12, "margin-end", 12, "margin-top", 12, "margin-bottom", 12, NULL);
  all_button = gtk_button_new_with_mnemonic (_("_All Lessons"));
  gtk_widget_set_halign (all_button, GTK_ALIGN_START);
  gtk_widget_add_css_class (all_button, "flat");
  g_signal_connect_swapped (all_button, "clicked", G_CALLBACK (qs_lesson_panel_show_list), self);
  gtk_box_append (GTK_BOX (step_page), all_button);
  self->lesson_title = GTK_LABEL (make_label ("title-4", TRUE));
  gtk_box_append (GTK_BOX (step_page), GTK_WIDGET (self->lesson_title));
  self->counter = GTK_LABEL (make_label ("dim-label", FALSE));
  gtk_box_append (GTK_BOX (step_page), GTK_WIDGET (self->counter));
  self->step_title = GTK_LABEL (make_label ("heading", TRUE));
  gtk_box_append (GTK_BOX (step_page), GTK_WIDGET (self->step_title));
  self->text = GTK_LABEL (make_label ("lesson-text", TRUE));
  gtk_label_set_selectable (self->text, TRUE);
  gtk_widget_set_valign (GTK_WIDGET (self->text), GTK_ALIGN_START);
  text_scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (text_scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (text_scroller, TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (text_scroller), GTK_WIDGET (self->text));
  gtk_box_append (GTK_BOX (step_page), text_scroller);
  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_box_set_homogeneous (GTK_BOX (buttons), TRUE);
  self->back_button = gtk_button_new_with_mnemonic (_("_Back"));
  g_signal_connect_swapped (self->back_button, "clicked", G_CALLBACK (qs_lesson_panel_back), self);
  self->next_button = gtk_button_new_with_mnemonic (_("_Next"));
  gtk_widget_add_css_class (self->next_button, "suggested-action");
  g_signal_connect_swapped (self->next_button, "clicked", G_CALLBACK (qs_lesson_panel_next), self);
  gtk_box_append (GTK_BOX (buttons), self->back_button);
  gtk_box_append (GTK_BOX (buttons), self->next_button);
  gtk_box_append (GTK_BOX (step_page), buttons);
  gtk_stack_add_named (self->stack, step_page, "step");

  load_bundled (self);
  gtk_stack_set_visible_child_name (self->stack, "list");
}

GtkWidget *
qs_lesson_panel_new (void)
{
  return g_object_new (QS_TYPE_LESSON_PANEL, NULL);
}
