/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "qs-export-window.h"
#include "test-sample.h"

/* The export dialog (issue 13): it offers every format of the table, and its worker writes
 * files that read back (a config export re-imports, AIMET encodings import, the .h5 loads);
 * a bad target comes back as an error naming it, and the window stays usable. */

static QsModel *sample_model;
static char *tmp_dir;

static QsConfig *
w8a8 (void)
{
  g_autoptr(GError) error = NULL;
  QsConfig *config = qs_config_new_from_preset ("w8a8", &error);

  g_assert_no_error (error);
  qs_config_set_calib_images (config, 50);
  return config;
}

static void
got_result (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Runs the dialog's export to path; returns the summary or NULL with error. */
static char *
export_to (QsExportWindow *win,
           const char     *path,
           GError        **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GAsyncResult) result = NULL;
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  qs_export_window_export_async (win, file, NULL, got_result, &result);
  while (result == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  return qs_export_window_export_finish (win, result, error);
}

static void
test_lists_every_format (void)
{
  g_autoptr(QsConfig) config = w8a8 ();
  QsExportWindow *win = qs_export_window_new (NULL, sample_model, config);
  guint n;
  const QsExportFormat *formats = qs_export_list_formats (&n);

  for (guint i = 0; i < n; i++)
    {
      g_assert_true (qs_export_window_set_format (win, formats[i].id));
      g_assert_true (qs_export_window_get_format (win) == &formats[i]);
    }
  g_assert_false (qs_export_window_set_format (win, "no-such-format"));
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_exports_read_back (void)
{
  g_autoptr(QsConfig) config = w8a8 ();
  QsExportWindow *win = qs_export_window_new (NULL, sample_model, config);
  const char *ids[] = { "config", "aimet", "h5-fake", "report-pdf" };

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      const QsExportFormat *format = qs_export_find_format (ids[i]);
      g_autofree char *name = g_strconcat ("out-", ids[i], format->extension, NULL);
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
      g_autoptr(GError) error = NULL;
      g_autofree char *summary = NULL;

      g_assert_true (qs_export_window_set_format (win, ids[i]));
      summary = export_to (win, path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (summary);
      g_assert_true (g_str_has_prefix (summary, "Wrote "));
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
      if (strcmp (ids[i], "config") == 0)
        {
          g_autoptr(QsConfig) back = qs_export_import_config (sample_model, path, NULL, &error);

          g_assert_no_error (error);
          g_assert_cmpuint (qs_config_get_n_activation_ranges (back), >, 0);
        }
      else if (strcmp (ids[i], "aimet") == 0)
        {
          g_autoptr(QsConfig) back = qs_export_import_aimet (sample_model, path, NULL, NULL, NULL, &error);

          g_assert_no_error (error);
          g_assert_nonnull (back);
        }
      else if (strcmp (ids[i], "report-pdf") == 0)
        {
          g_autofree char *data = NULL;

          /* the dialog reaches the report, which core's table gets from the app */
          g_assert_true (g_file_get_contents (path, &data, NULL, &error));
          g_assert_true (g_str_has_prefix (data, "%PDF-"));
          g_assert_nonnull (strstr (summary, "Evaluated on"));
        }
      else
        {
          g_autoptr(QsModel) back = qs_model_load (path, NULL, NULL, &error);

          g_assert_no_error (error);
          g_assert_cmpuint (qs_model_get_n_layers (back), ==, qs_model_get_n_layers (sample_model));
        }
    }
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_bad_target (void)
{
  g_autoptr(QsConfig) config = w8a8 ();
  QsExportWindow *win = qs_export_window_new (NULL, sample_model, config);
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;

  g_assert_true (qs_export_window_set_format (win, "h5-fake"));
  summary = export_to (win, tmp_dir, &error);
  g_assert_null (summary);
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET);
  g_clear_error (&error);
  summary = export_to (win, qs_model_get_path (sample_model), &error);
  g_assert_null (summary);
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET);
  g_clear_error (&error);
  /* usable again after an error */
  {
    g_autofree char *path = g_build_filename (tmp_dir, "after-error.h5", NULL);

    summary = export_to (win, path, &error);
    g_assert_no_error (error);
    g_assert_nonnull (summary);
  }
  gtk_window_destroy (GTK_WINDOW (win));
}

int
main (int argc, char **argv)
{
  int ret;

  tmp_dir = g_dir_make_tmp ("quantscope-test-export-window-XXXXXX", NULL);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_setenv ("LANGUAGE", "C", TRUE);
  test_gui_init_or_skip (&argc, &argv);

  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/export-window/lists-every-format", test_lists_every_format);
  g_test_add_func ("/qs/export-window/exports-read-back", test_exports_read_back);
  g_test_add_func ("/qs/export-window/bad-target-is-an-error", test_bad_target);

  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
