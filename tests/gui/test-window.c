/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "qs-application.h"
#include "qs-gui-utils.h"
#include "qs-window-private.h"
#include "test-sample.h"

/* The main window over the sample: toasts, the presets menu, the undo tooltip and the error
 * page (issue 17). */

static QsApplication *app;
static char *tmp_dir;

static void
wait_for (QsWindow   *window,
          const char *page)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (g_strcmp0 (gtk_stack_get_visible_child_name (window->main_stack), page) != 0
         || window->load_cancellable != NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
flush_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static QsWindow *
new_sample_window (void)
{
  QsWindow *window = qs_window_new (app);

  gtk_window_present (GTK_WINDOW (window));
  qs_window_open_sample (window);
  wait_for (window, "document");
  qs_document_set_autosave_delay (window->document, 0);
  return window;
}

static void
close_window (QsWindow *window)
{
  /* Unmodified or not: close without asking. */
  window->close_confirmed = TRUE;
  gtk_window_destroy (GTK_WINDOW (window));
  flush_main_context ();
}

static void
count_dismissed (AdwToast *toast,
                 guint    *n)
{
  (*n)++;
}

/* Finds the widget with CSS name css_name under widget, depth first. */
static GtkWidget *
find_css_name (GtkWidget  *widget,
               const char *css_name)
{
  if (g_strcmp0 (gtk_widget_get_css_name (widget), css_name) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_css_name (child, css_name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The toast widget showing title under widget. */
static GtkWidget *
find_toast (GtkWidget  *widget,
            const char *title)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = NULL;

      if (g_strcmp0 (gtk_widget_get_css_name (child), "toast") == 0)
        {
          GtkWidget *label = find_css_name (child, "label");

          if (label != NULL && g_strcmp0 (gtk_label_get_text (GTK_LABEL (label)), title) == 0)
            return child;
        }
      else if ((found = find_toast (child, title)) != NULL)
        return found;
    }
  return NULL;
}

/* A new toast replaces the one shown instead of queueing behind it, and over the document
 * it lies above the summary bar, never over its numbers. */
static void
test_window_toasts (void)
{
  QsWindow *window = new_sample_window ();
  g_autoptr(AdwToast) first = NULL;
  GtkWidget *toast_widget, *overlay;
  graphene_rect_t toast_bounds, bar_bounds;
  guint n_dismissed = 0;
  gint64 deadline;

  /* On a busy machine a step can take longer than a toast's few seconds: what is checked
   * is replacement, not the timeout. */
  _qs_window_set_toast_timeout (window, 0);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.apply-preset", "s", "fp32");
  flush_main_context ();
  first = g_object_ref (_qs_window_get_toast (window));
  g_assert_nonnull (first);
  g_assert_true (g_str_has_prefix (adw_toast_get_title (first), "fp32: "));
  g_signal_connect (first, "dismissed", G_CALLBACK (count_dismissed), &n_dismissed);

  /* The next preset's message replaces it at once instead of waiting behind it: the toast
   * on screen takes the new title (nothing is queued, nothing dismissed mid-animation). */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.apply-preset", "s", "w4a4");
  flush_main_context ();
  g_assert_cmpuint (n_dismissed, ==, 0);
  g_assert_true (_qs_window_get_toast (window) == first);
  g_assert_true (g_str_has_prefix (adw_toast_get_title (_qs_window_get_toast (window)), "w4a4: "));

  /* Toasts asked for together: the newest is shown. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.toast", "s", "second");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.toast", "s", "third");
  flush_main_context ();
  g_assert_cmpstr (adw_toast_get_title (_qs_window_get_toast (window)), ==, "third");

  /* The toast shown is in an overlay that does not hold the summary bar, and it ends above
   * the bar once laid out. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((toast_widget = find_toast (GTK_WIDGET (window->document_toast_overlay), "third")) == NULL
         || !gtk_widget_get_mapped (toast_widget))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  flush_main_context ();
  overlay = gtk_widget_get_ancestor (toast_widget, ADW_TYPE_TOAST_OVERLAY);
  g_assert_true (overlay == GTK_WIDGET (window->document_toast_overlay));
  g_assert_false (gtk_widget_is_ancestor (GTK_WIDGET (window->summary_bar), overlay));
  g_assert_true (gtk_widget_compute_bounds (toast_widget, GTK_WIDGET (window), &toast_bounds));
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (window->summary_bar), GTK_WIDGET (window), &bar_bounds));
  g_assert_cmpfloat (bar_bounds.size.height, >, 0);
  g_assert_cmpfloat (toast_bounds.origin.y + toast_bounds.size.height, <=, bar_bounds.origin.y);

  close_window (window);
}

/* Every preset in the menu says in a few words what it does, and applies that preset. */
static void
test_window_presets_menu (void)
{
  QsWindow *window = qs_window_new (app);
  GMenuModel *all = G_MENU_MODEL (window->presets_all_section);
  const char * const *presets = qs_config_list_presets ();
  guint n = g_strv_length ((GStrv) presets);

  g_assert_cmpint (g_menu_model_get_n_items (all), ==, n);
  g_assert_cmpint (g_menu_model_get_n_items (G_MENU_MODEL (window->presets_selected_section)), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = NULL;
      g_autofree char *target = NULL;
      g_autoptr(GVariant) value = NULL;

      g_assert_true (g_menu_model_get_item_attribute (all, i, G_MENU_ATTRIBUTE_LABEL, "s", &label));
      value = g_menu_model_get_item_attribute_value (all, i, G_MENU_ATTRIBUTE_TARGET, G_VARIANT_TYPE_STRING);
      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, presets[i]);
      g_assert_true (g_str_has_prefix (label, presets[i]));
      g_assert_nonnull (strstr (label, qs_config_preset_summary (presets[i])));
      g_assert_cmpuint (strlen (label), >, strlen (presets[i]) + 3);
    }
  close_window (window);
}

/* The undo tooltip quotes the step once: "Undo “Apply Preset w4a4”". */
static void
test_window_undo_tooltip (void)
{
  QsWindow *window = new_sample_window ();
  g_autofree char *tooltip = NULL;
  const char *p;
  guint n_open = 0;

  gtk_widget_activate_action (GTK_WIDGET (window), "win.apply-preset", "s", "w4a4");
  tooltip = g_strdup (gtk_widget_get_tooltip_text (window->undo_button));
  g_test_message ("%s", tooltip);
  g_assert_cmpstr (qs_document_get_undo_label (window->document), ==, "Apply Preset w4a4");
  for (p = tooltip; (p = strstr (p, "“")) != NULL; p += strlen ("“"))
    n_open++;
  g_assert_cmpuint (n_open, ==, 1);
  g_assert_nonnull (strstr (tooltip, "Apply Preset w4a4"));

  g_assert_true (qs_document_undo (window->document));
  g_clear_pointer (&tooltip, g_free);
  tooltip = g_strdup (gtk_widget_get_tooltip_text (window->redo_button));
  g_assert_null (strstr (tooltip, "““"));
  g_assert_nonnull (strstr (tooltip, "“Apply Preset w4a4”"));

  close_window (window);
}

/* The error page's details say what kind of error in words, never a quark's name; a file
 * saved through a text conversion says so and how to get a good copy. */
static void
test_window_error_page (void)
{
  QsWindow *window = qs_window_new (app);
  g_autofree char *sample = qs_data_find_file (QS_DATA_SAMPLE_MODEL, NULL);
  g_autofree char *contents = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, "converted.h5", NULL);
  g_autoptr(GString) converted = g_string_new (NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  const char *detail;
  gsize len;

  /* Decoded as UTF-8 with replacement, as a text editor or a careless download does. */
  g_assert_true (g_file_get_contents (sample, &contents, &len, NULL));
  for (gsize i = 0; i < len; i++)
    if ((guchar) contents[i] < 0x80)
      g_string_append_c (converted, contents[i]);
    else
      g_string_append (converted, "\xef\xbf\xbd");
  g_assert_true (g_file_set_contents (path, converted->str, converted->len, NULL));

  gtk_window_present (GTK_WINDOW (window));
  qs_window_open_file (window, file);
  wait_for (window, "error");
  detail = gtk_label_get_text (window->error_detail);
  g_test_message ("%s", detail);
  g_assert_null (strstr (detail, "quark"));
  g_assert_nonnull (strstr (detail, "Model file: damaged by a text conversion (code "));
  g_assert_nonnull (strstr (adw_status_page_get_description (window->error_page), "binary mode"));
  close_window (window);
}

static void
test_window_error_words (void)
{
  g_autoptr(GError) corrupt = g_error_new_literal (QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT, "x");
  g_autoptr(GError) io = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "x");
  g_autoptr(GError) file = g_error_new_literal (G_FILE_ERROR, G_FILE_ERROR_NOENT, "x");
  g_autoptr(GError) config = g_error_new_literal (QS_CONFIG_ERROR, QS_CONFIG_ERROR_PARSE, "x");
  g_autoptr(GError) dataset = g_error_new_literal (QS_DATASET_ERROR, QS_DATASET_ERROR_SHAPE, "x");
  g_autoptr(GError) session = g_error_new_literal (QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_VERSION, "x");
  g_autoptr(GError) unknown_code = g_error_new_literal (QS_MODEL_ERROR, 999, "x");
  g_autoptr(GError) other = g_error_new_literal (G_CONVERT_ERROR, G_CONVERT_ERROR_NO_CONVERSION, "x");
  const struct { GError *error; const char *words; } cases[] = {
    { corrupt, "Model file: corrupt (code 2)" },
    { io, "File: not found (code 1)" },
    { file, "File: not found (code 4)" },
    { config, "Quantization config: not JSON (code 0)" },
    { dataset, "Dataset: images do not fit the model (code 2)" },
    { session, "Session: newer version (code 1)" },
    { unknown_code, "Model file (code 999)" },
    { other, "g convert (code 0)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *words = qs_error_describe_code (cases[i].error);

      g_assert_cmpstr (words, ==, cases[i].words);
    }
}

/* Energies in the unit that reads best (the ResNet-18-sized summary said "2.44e+03 µJ"). */
static void
test_window_energy_words (void)
{
  const struct { double pj; const char *words; } cases[] = {
    { 840.0, "840 pJ" },
    { 17500000.0, "17.5 µJ" },
    { 2.44e9, "2.44 mJ" },
    { 999.4, "999 pJ" },
    { 999.6, "1 nJ" },
    { 1.3e12, "1.3 J" },
    { 4.2e15, "4.2e+03 J" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *words = qs_format_energy (cases[i].pj);

      g_assert_cmpstr (words, ==, cases[i].words);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_home = NULL;
  int ret;

  tmp_dir = g_dir_make_tmp ("quantscope-test-window-XXXXXX", NULL);
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

  g_test_add_func ("/qs/window/toasts", test_window_toasts);
  g_test_add_func ("/qs/window/presets-menu", test_window_presets_menu);
  g_test_add_func ("/qs/window/undo-tooltip", test_window_undo_tooltip);
  g_test_add_func ("/qs/window/error-page", test_window_error_page);
  g_test_add_func ("/qs/window/error-words", test_window_error_words);
  g_test_add_func ("/qs/window/energy-words", test_window_energy_words);

  ret = g_test_run ();
  g_clear_object (&app);
  return ret;
}
