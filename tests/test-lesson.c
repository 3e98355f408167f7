/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Lesson files: every bundled lesson parses, names layers that exist in its model and sets
 * up a config the app can apply; malformed files are refused with a message naming the file
 * and the field; a bundled lesson's strings come out translated. */
#include "config.h"

#include <locale.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "quantscope-core.h"

static void
test_bundled (void)
{
  const char * const *files = qs_lesson_list_bundled ();
  guint n_files = 0;

  for (guint i = 0; files[i] != NULL; i++, n_files++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = qs_data_find_file (files[i], &error);
      g_autoptr(QsLesson) lesson = NULL;
      g_autoptr(QsModel) model = NULL;
      g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);

      g_assert_no_error (error);
      lesson = qs_lesson_load_file (path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (lesson->title);
      g_assert_cmpuint (qs_lesson_get_n_steps (lesson), >=, 1);
      /* the first step says which sample model the lesson runs on */
      g_assert_nonnull (qs_lesson_get_step (lesson, 0)->model);

      for (guint s = 0; s < qs_lesson_get_n_steps (lesson); s++)
        {
          const QsLessonStep *step = qs_lesson_get_step (lesson, s);
          g_autoptr(QsConfig) next = NULL;

          g_assert_nonnull (step->text);
          if (step->model != NULL)
            {
              g_autofree char *model_path = qs_data_find_file (qs_lesson_sample_model_file (step->model), &error);

              g_assert_no_error (error);
              g_clear_object (&model);
              model = qs_model_load (model_path, NULL, NULL, &error);
              g_assert_no_error (error);
            }
          if (step->layer != NULL)
            g_assert_nonnull (qs_model_find_layer (model, step->layer));
          next = qs_lesson_step_make_config (step, config, &error);
          g_assert_no_error (error);
          /* every <weights> lands in the config */
          for (guint w = 0; w < step->weights->len; w++)
            {
              const QsLessonWeights *lw = g_ptr_array_index (step->weights, w);
              QsLayerConfig lc;

              if (strcmp (lw->pattern, "*") != 0)
                g_assert_nonnull (qs_model_find_layer (model, lw->pattern));
              qs_config_get_layer (next, strcmp (lw->pattern, "*") == 0 ? "conv2" : lw->pattern, &lc);
              if (lw->sparsity > 0)
                g_assert_cmpfloat (lc.weight.sparsity, ==, lw->sparsity);
              if (lw->bits > 0)
                g_assert_cmpuint (lc.weight.bits, ==, lw->bits);
            }
          /* the model lowers with this config (the engine can run it) */
          {
            g_autoptr(QsLowering) lowering = qs_lowering_new (model, next, &error);

            g_assert_no_error (error);
            g_assert_nonnull (lowering);
          }
          g_set_object (&config, next);
        }
    }
  g_assert_cmpuint (n_files, ==, 10);
}

static void
test_config (void)
{
  g_autofree char *path = qs_data_find_file ("lessons/01-scale-and-zero-point.lesson", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLesson) lesson = qs_lesson_load_file (path, &error);
  g_autoptr(QsConfig) start = qs_config_new ();
  g_autoptr(QsConfig) c1 = NULL;
  g_autoptr(QsConfig) c3 = NULL;
  QsLayerConfig lc;

  g_assert_no_error (error);
  c1 = qs_lesson_step_make_config (qs_lesson_get_step (lesson, 0), start, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qs_config_get_preset_name (c1), ==, "w8a8");
  c3 = qs_lesson_step_make_config (qs_lesson_get_step (lesson, 2), c1, &error);
  g_assert_no_error (error);
  qs_config_get_layer (c3, "conv1", &lc);
  g_assert_cmpint (lc.weight.mapping, ==, QS_MAPPING_AFFINE);
  g_assert_cmpint (lc.weight.granularity, ==, QS_GRANULARITY_TENSOR);
  g_assert_false (lc.weight.narrow_range);
  /* other layers keep the preset */
  qs_config_get_layer (c3, "fc1", &lc);
  g_assert_cmpint (lc.weight.mapping, ==, QS_MAPPING_SYMMETRIC);
  g_assert_cmpint (lc.weight.granularity, ==, QS_GRANULARITY_CHANNEL);
}

static void
test_malformed (void)
{
  static const struct { const char *text; const char *expect; } cases[] = {
    { "<lesson", "bad.lesson" },
    { "<recipe version=\"1\"/>", "<lesson>" },
    { "<lesson><title>x</title></lesson>", "version" },
    { "<lesson version=\"9\"><title>x</title></lesson>", "version" },
    { "<lesson version=\"1\"><step><p>a</p></step></lesson>", "<title>" },
    { "<lesson version=\"1\"><title>x</title></lesson>", "<step>" },
    { "<lesson version=\"1\"><title>x</title><step model=\"cnn\"></step></lesson>", "<p>" },
    { "<lesson version=\"1\"><title>x</title><step model=\"vgg\"><p>a</p></step></lesson>", "model=“vgg”" },
    { "<lesson version=\"1\"><title>x</title><step preset=\"w3\"><p>a</p></step></lesson>", "preset=“w3”" },
    { "<lesson version=\"1\"><title>x</title><step page=\"home\"><p>a</p></step></lesson>", "page=“home”" },
    { "<lesson version=\"1\"><title>x</title><step chart=\"pie\"><p>a</p></step></lesson>", "chart=“pie”" },
    { "<lesson version=\"1\"><title>x</title><step requantization=\"fast\"><p>a</p></step></lesson>", "requantization" },
    { "<lesson version=\"1\"><title>x</title><step colour=\"red\"><p>a</p></step></lesson>", "“colour”" },
    { "<lesson version=\"1\"><title>x</title><step><p>a</p><weights bits=\"4\"/></step></lesson>", "“layer”" },
    { "<lesson version=\"1\"><title>x</title><step><p>a</p><weights layer=\"fc1\" bits=\"40\"/></step></lesson>", "bits=“40”" },
    { "<lesson version=\"1\"><title>x</title><step><p>a</p><weights layer=\"fc1\" mapping=\"odd\"/></step></lesson>", "symmetric, affine" },
    { "<lesson version=\"1\"><title>x</title><step><p>a</p><weights layer=\"fc1\" sparsity=\"1.5\"/></step></lesson>", "sparsity" },
    { "<lesson version=\"1\"><title>x</title><step><p>a <b>b</b></p></step></lesson>", "markup" },
    { "<lesson version=\"1\"><title>x</title><step><p>  </p></step></lesson>", "empty" },
    { "<lesson version=\"1\"><title>x</title>stray<step><p>a</p></step></lesson>", "text outside" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsLesson) lesson = qs_lesson_new_from_data (cases[i].text, -1, "bad.lesson", &error);

      g_test_message ("case %u: %s", i, error ? error->message : "(no error)");
      g_assert_null (lesson);
      g_assert_error (error, QS_LESSON_ERROR, error->code);
      g_assert_nonnull (strstr (error->message, "bad.lesson"));
      g_assert_nonnull (strstr (error->message, cases[i].expect));
    }
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLesson) lesson = qs_lesson_load_file ("/nonexistent/x.lesson", &error);

  g_assert_null (lesson);
  g_assert_error (error, QS_LESSON_ERROR, QS_LESSON_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "x.lesson"));
}

/* xgettext's ITS extraction normalises white space; the loader looks the same string up. */
static void
test_translated (void)
{
  g_autofree char *path = qs_data_find_file ("lessons/01-scale-and-zero-point.lesson", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLesson) lesson = NULL;
  g_autofree char *mo = g_build_filename (qs_data_get_localedir (), "de", "LC_MESSAGES",
                                          GETTEXT_PACKAGE ".mo", NULL);

  if (!g_file_test (mo, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the German catalogue is not built");
      return;
    }
  g_setenv ("LANGUAGE", "de", TRUE);
  setlocale (LC_ALL, "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, qs_data_get_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  lesson = qs_lesson_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lesson->title, ==, "1. Skala und Nullpunkt");
  g_assert_cmpstr (qs_lesson_get_step (lesson, 0)->title, ==, "Codes stehen für reelle Zahlen");
  g_unsetenv ("LANGUAGE");
}

static void
test_normalize (void)
{
  g_autofree char *a = qs_lesson_normalize_space ("  a\n   b\tc  ");

  g_assert_cmpstr (a, ==, "a b c");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/lesson/bundled-apply", test_bundled);
  g_test_add_func ("/qs/lesson/step-config", test_config);
  g_test_add_func ("/qs/lesson/malformed-named", test_malformed);
  g_test_add_func ("/qs/lesson/missing-file", test_missing_file);
  g_test_add_func ("/qs/lesson/normalize-space", test_normalize);
  g_test_add_func ("/qs/lesson/translated", test_translated);
  return g_test_run ();
}
