/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-application.h"
#include "qs-preferences-window.h"
#include "qs-window.h"

#define SCHEMA_ID "io.github.quantscope.Quantscope"

struct _QsApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;
};

G_DEFINE_FINAL_TYPE (QsApplication, qs_application, ADW_TYPE_APPLICATION)

GSettings *
qs_settings_new (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettingsSchemaSource) build_source = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, SCHEMA_ID, TRUE);
  if (schema == NULL)
    {
      g_autoptr(GError) error = NULL;

      build_source = g_settings_schema_source_new_from_directory (QS_BUILD_SCHEMADIR, source, FALSE, &error);
      if (build_source != NULL)
        schema = g_settings_schema_source_lookup (build_source, SCHEMA_ID, FALSE);
      if (schema == NULL)
        g_error ("The settings schema %s is not installed (nor compiled in %s): %s",
                 SCHEMA_ID, QS_BUILD_SCHEMADIR, error ? error->message : "not found");
    }
  return g_settings_new_full (schema, NULL, NULL);
}

static void
apply_color_scheme (QsApplication *self)
{
  g_autofree char *scheme = g_settings_get_string (self->settings, "color-scheme");
  AdwColorScheme value = ADW_COLOR_SCHEME_DEFAULT;

  if (g_strcmp0 (scheme, "light") == 0)
    value = ADW_COLOR_SCHEME_FORCE_LIGHT;
  else if (g_strcmp0 (scheme, "dark") == 0)
    value = ADW_COLOR_SCHEME_FORCE_DARK;
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), value);
}

GSettings *
qs_application_get_settings (QsApplication *self)
{
  g_return_val_if_fail (QS_IS_APPLICATION (self), NULL);
  return self->settings;
}

GStrv
qs_application_get_recent (QsApplication *self)
{
  g_auto(GStrv) recent = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (QS_IS_APPLICATION (self), NULL);

  recent = g_settings_get_strv (self->settings, "recent-files");
  for (guint i = 0; recent[i] != NULL; i++)
    if (g_file_test (recent[i], G_FILE_TEST_IS_REGULAR))
      g_strv_builder_add (builder, recent[i]);
  return g_strv_builder_end (builder);
}

static void
set_recent (QsApplication *self,
            const char    *first,
            const char    *skip)
{
  g_auto(GStrv) recent = g_settings_get_strv (self->settings, "recent-files");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) result = NULL;
  guint n = 0;

  if (first != NULL)
    {
      g_strv_builder_add (builder, first);
      n++;
    }
  for (guint i = 0; recent[i] != NULL && n < QS_MAX_RECENT; i++)
    {
      if (g_strcmp0 (recent[i], first) == 0 || g_strcmp0 (recent[i], skip) == 0)
        continue;
      g_strv_builder_add (builder, recent[i]);
      n++;
    }
  result = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-files", (const char * const *) result);
}

void
qs_application_add_recent (QsApplication *self,
                           const char    *path)
{
  g_autofree char *canonical = NULL;

  g_return_if_fail (QS_IS_APPLICATION (self));
  g_return_if_fail (path != NULL);

  canonical = g_canonicalize_filename (path, NULL);
  set_recent (self, canonical, NULL);
}

void
qs_application_remove_recent (QsApplication *self,
                              const char    *path)
{
  g_return_if_fail (QS_IS_APPLICATION (self));
  set_recent (self, NULL, path);
}

static QsWindow *
new_window (QsApplication *self)
{
  return qs_window_new (self);
}

/* A window showing its start page, to reuse before making a new one. */
static QsWindow *
find_empty_window (QsApplication *self)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (QS_IS_WINDOW (l->data) && qs_window_is_empty (l->data))
      return l->data;
  return NULL;
}

static void
qs_application_activate (GApplication *app)
{
  QsApplication *self = QS_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (new_window (self));
  gtk_window_present (window);
}

static void
qs_application_open (GApplication  *app,
                     GFile        **files,
                     int            n_files,
                     const char    *hint)
{
  QsApplication *self = QS_APPLICATION (app);

  for (int i = 0; i < n_files; i++)
    {
      QsWindow *window = find_empty_window (self);

      if (window == NULL)
        window = new_window (self);
      qs_window_open_file (window, files[i]);
      gtk_window_present (GTK_WINDOW (window));
    }
}

static void
open_sample_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  QsApplication *self = user_data;
  QsWindow *window = find_empty_window (self);

  if (window == NULL)
    window = new_window (self);
  qs_window_open_sample (window);
  gtk_window_present (GTK_WINDOW (window));
}

static void
quit_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  QsApplication *self = user_data;
  g_autoptr(GList) windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Each window asks about its own unsaved changes; the app quits when the last closes. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  QsApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWindow *prefs = GTK_WINDOW (qs_preferences_window_new (self->settings));

  gtk_window_set_transient_for (prefs, parent);
  gtk_window_present (prefs);
}

static void
about_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  QsApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  static const char *developers[] = { "The Quantscope authors", NULL };
  static const char *artists[] = { "The Quantscope authors (icon)", NULL };

  adw_show_about_window (parent,
                         "application-name", _("Quantscope"),
                         "application-icon", APPLICATION_ID,
                         "developer-name", _("The Quantscope authors"),
                         "version", PACKAGE_VERSION,
                         "comments", _("See what quantization does to a neural network, layer by layer"),
                         "website", "https://github.com/quantscope/quantscope",
                         "issue-url", "https://github.com/quantscope/quantscope/issues",
                         "developers", developers,
                         "artists", artists,
                         /* Translators: replace with your names, one per line */
                         "translator-credits", _("translator-credits"),
                         "copyright", "© 2026 The Quantscope authors",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         NULL);
}

static const GActionEntry app_actions[] = {
  { .name = "open-sample", .activate = open_sample_action },
  { .name = "quit", .activate = quit_action },
  { .name = "preferences", .activate = preferences_action },
  { .name = "about", .activate = about_action },
};

static void
qs_application_startup (GApplication *app)
{
  QsApplication *self = QS_APPLICATION (app);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *prefs_accels[] = { "<Control>comma", NULL };

  G_APPLICATION_CLASS (qs_application_parent_class)->startup (app);

  g_set_application_name (_("Quantscope"));
  gtk_window_set_default_icon_name (APPLICATION_ID);

  self->settings = qs_settings_new ();
  g_signal_connect_object (self->settings, "changed::color-scheme",
                           G_CALLBACK (apply_color_scheme), self, G_CONNECT_SWAPPED);
  apply_color_scheme (self);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", prefs_accels);
}

static int
qs_application_handle_local_options (GApplication *app,
                                     GVariantDict *options)
{
  g_autoptr(GError) error = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("quantscope %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (g_variant_dict_contains (options, "sample"))
    {
      if (!g_application_register (app, NULL, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      g_action_group_activate_action (G_ACTION_GROUP (app), "open-sample", NULL);
      return 0;
    }
  return -1;
}

static void
qs_application_dispose (GObject *object)
{
  QsApplication *self = QS_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (qs_application_parent_class)->dispose (object);
}

static void
qs_application_class_init (QsApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = qs_application_dispose;
  app_class->activate = qs_application_activate;
  app_class->open = qs_application_open;
  app_class->startup = qs_application_startup;
  app_class->handle_local_options = qs_application_handle_local_options;
}

static void
qs_application_init (QsApplication *self)
{
  static const GOptionEntry entries[] = {
    { "sample", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Open the bundled sample model with the sample dataset"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[MODEL-OR-SESSION…]"));
}

QsApplication *
qs_application_new (void)
{
  return g_object_new (QS_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/quantscope/Quantscope",
                       NULL);
}
