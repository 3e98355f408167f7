/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "qs-application.h"
#include "qs-window-private.h"
#include "test-sample.h"

/* Lessons (issue 14): walking every step of every bundled lesson with Next sets the app to
 * the step's state: the lesson's model is open, the document's config is the step's, and the
 * selected layer, page and chart are the step's; Back returns to the previous step's state. */

static QsApplication *app;
static char *tmp_dir;

static void
wait_loaded (QsWindow *window)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (window->load_cancellable != NULL || window->document == NULL
         || g_strcmp0 (gtk_stack_get_visible_child_name (window->main_stack), "document") != 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static const char *
lesson_model_at (QsLesson *lesson,
                 guint     index)
{
  const char *model = NULL;

  for (guint i = 0; i <= index; i++)
    if (qs_lesson_get_step (lesson, i)->model != NULL)
      model = qs_lesson_get_step (lesson, i)->model;
  return model;
}

static void
check_step (QsWindow *window,
            QsLesson *lesson,
            guint     index,
            QsConfig *before) /* the config before the step; NULL: a model was loaded */
{
  const QsLessonStep *step = qs_lesson_get_step (lesson, index);
  g_autoptr(QsConfig) fresh = NULL;
  g_autoptr(QsConfig) expected = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *want_model = g_path_get_basename (qs_lesson_sample_model_file (lesson_model_at (lesson, index)));
  g_autofree char *have_model = NULL;

  wait_loaded (window);
  g_test_message ("%s, step %u", lesson->path, index + 1);
  have_model = g_path_get_basename (qs_model_get_path (qs_document_get_model (window->document)));
  g_assert_cmpstr (have_model, ==, want_model);

  if (before == NULL)
    before = fresh = qs_config_new_from_preset ("w8a8", NULL);
  expected = qs_lesson_step_make_config (step, before, &error);
  g_assert_no_error (error);
  g_assert_true (qs_config_equal (expected, qs_document_get_config (window->document)));
  for (guint w = 0; w < step->weights->len; w++)
    {
      const QsLessonWeights *lw = g_ptr_array_index (step->weights, w);
      QsLayerConfig lc;

      if (strcmp (lw->pattern, "*") == 0)
        continue;
      qs_config_get_layer (qs_document_get_config (window->document), lw->pattern, &lc);
      if (lw->bits != 0)
        g_assert_cmpuint (lc.weight.bits, ==, lw->bits);
      if (lw->sparsity != 0)
        g_assert_cmpfloat (lc.weight.sparsity, ==, lw->sparsity);
    }
  if (step->preset != NULL && step->weights->len == 0)
    g_assert_cmpstr (qs_config_get_preset_name (qs_document_get_config (window->document)), ==, step->preset);

  if (step->layer != NULL)
    {
      g_assert_cmpstr (window->current_layer, ==, step->layer);
      g_assert_cmpstr (qs_layer_page_get_layer (window->layer_page), ==, step->layer);
    }
  if (step->chart != NULL)
    g_assert_cmpstr (qs_layer_page_get_chart (window->layer_page), ==, step->chart);
  if (step->page == QS_LESSON_PAGE_LAYER)
    g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "layer");
  else if (step->page == QS_LESSON_PAGE_SENSITIVITY)
    g_assert_cmpstr (gtk_stack_get_visible_child_name (window->content_stack), ==, "sensitivity");
  else if (step->page == QS_LESSON_PAGE_PLAYGROUND)
    g_assert_nonnull (window->lesson_playground);
  g_assert_cmpuint (qs_lesson_panel_get_step (window->lesson_panel), ==, index);
}

static void
test_walk_every_step (void)
{
  QsWindow *window = qs_window_new (app);
  guint n_steps = 0;

  gtk_window_present (GTK_WINDOW (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.lessons", NULL);
  g_assert_true (gtk_revealer_get_reveal_child (window->lesson_revealer));

  for (const char * const *f = qs_lesson_list_bundled (); *f != NULL; f++)
    {
      g_autofree char *path = qs_data_find_file (*f, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(QsLesson) lesson = qs_lesson_load_file (path, &error);
      g_autoptr(QsConfig) before = NULL;
      gboolean loads;

      g_assert_no_error (error);
      loads = window->document == NULL
              || strcmp (qs_model_get_path (qs_document_get_model (window->document)), "") == 0
              || !g_str_has_suffix (qs_model_get_path (qs_document_get_model (window->document)),
                                    qs_lesson_sample_model_file (qs_lesson_get_step (lesson, 0)->model));
      if (!loads)
        before = qs_config_copy (qs_document_get_config (window->document));
      qs_lesson_panel_open (window->lesson_panel, lesson, 0);
      check_step (window, lesson, 0, before);
      for (guint s = 1; s < qs_lesson_get_n_steps (lesson); s++)
        {
          g_clear_object (&before);
          before = qs_config_copy (qs_document_get_config (window->document));
          g_assert_true (qs_lesson_panel_next (window->lesson_panel));
          check_step (window, lesson, s, before);
        }
      n_steps += qs_lesson_get_n_steps (lesson);
      /* Back: the previous step's state again */
      if (qs_lesson_get_n_steps (lesson) > 1 && qs_lesson_get_step (lesson, 0)->model != NULL)
        {
          guint last = qs_lesson_get_n_steps (lesson) - 1;

          g_assert_true (qs_lesson_panel_back (window->lesson_panel));
          wait_loaded (window);
          if (qs_lesson_get_step (lesson, last - 1)->layer != NULL)
            g_assert_cmpstr (window->current_layer, ==, qs_lesson_get_step (lesson, last - 1)->layer);
        }
      /* Next on the last step goes back to the list */
      while (qs_lesson_panel_next (window->lesson_panel))
        wait_loaded (window);
    }
  g_assert_cmpuint (n_steps, >=, 20);

  if (window->lesson_playground != NULL)
    gtk_window_destroy (GTK_WINDOW (window->lesson_playground));
  window->close_confirmed = TRUE;
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* A malformed lesson file is refused with a toast naming the file; the panel stays usable. */
static void
test_open_bad_file (void)
{
  QsWindow *window = qs_window_new (app);
  g_autofree char *bad = g_build_filename (tmp_dir, "bad.lesson", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLesson) lesson = NULL;

  g_assert_true (g_file_set_contents (bad, "<lesson version=\"1\"><title>x</title><step page=\"home\"><p>a</p></step></lesson>", -1, NULL));
  lesson = qs_lesson_load_file (bad, &error);
  g_assert_null (lesson);
  g_assert_nonnull (strstr (error->message, "bad.lesson"));
  g_assert_nonnull (strstr (error->message, "page"));
  window->close_confirmed = TRUE;
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_home = NULL;

  tmp_dir = g_dir_make_tmp ("quantscope-test-lessons-XXXXXX", NULL);
  data_home = g_build_filename (tmp_dir, "data", NULL);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", tmp_dir, TRUE);
  g_setenv ("LANGUAGE", "C", TRUE);
  test_gui_init_or_skip (&argc, &argv);
  g_object_unref (test_load_sample_model_or_skip ());

  app = qs_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add_func ("/qs/lessons/walk-every-step", test_walk_every_step);
  g_test_add_func ("/qs/lessons/bad-file-named", test_open_bad_file);
  return g_test_run ();
}
