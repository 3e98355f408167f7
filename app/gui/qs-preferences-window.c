/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-preferences-window.h"

struct _QsPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;
  AdwComboRow          *style_row;
  GtkSpinButton        *subset_spin;
};

G_DEFINE_FINAL_TYPE (QsPreferencesWindow, qs_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* Order of the style row's entries; the values are the "color-scheme" choices. */
static const char * const style_ids[] = { "default", "light", "dark" };

static gboolean
style_get_mapping (GValue   *value,
                   GVariant *variant,
                   gpointer  user_data)
{
  const char *id = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (style_ids); i++)
    if (g_strcmp0 (id, style_ids[i]) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  g_value_set_uint (value, 0);
  return TRUE;
}

static GVariant *
style_set_mapping (const GValue       *value,
                   const GVariantType *expected_type,
                   gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  return g_variant_new_string (style_ids[i < G_N_ELEMENTS (style_ids) ? i : 0]);
}

static void
qs_preferences_window_dispose (GObject *object)
{
  QsPreferencesWindow *self = QS_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (qs_preferences_window_parent_class)->dispose (object);
}

static void
qs_preferences_window_class_init (QsPreferencesWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = qs_preferences_window_dispose;
}

static void
qs_preferences_window_init (QsPreferencesWindow *self)
{
  AdwPreferencesPage *page = ADW_PREFERENCES_PAGE (adw_preferences_page_new ());
  AdwPreferencesGroup *appearance = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  AdwPreferencesGroup *evaluation = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  const char *styles[] = { _("Follow System"), _("Light"), _("Dark"), NULL };
  g_autoptr(GtkStringList) style_model = gtk_string_list_new (styles);
  GtkWidget *subset_row;

  adw_preferences_page_set_title (page, _("General"));
  adw_preferences_page_set_icon_name (page, "preferences-system-symbolic");

  adw_preferences_group_set_title (appearance, _("Appearance"));
  self->style_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->style_row), _("Style"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->style_row), _("Charts follow the style too"));
  adw_combo_row_set_model (self->style_row, G_LIST_MODEL (style_model));
  adw_preferences_group_add (appearance, GTK_WIDGET (self->style_row));

  adw_preferences_group_set_title (evaluation, _("Live Accuracy"));
  adw_preferences_group_set_description (evaluation,
                                         _("The accuracy in the summary bar is measured on the first images of the test set after every change. More images give steadier numbers and take longer."));
  subset_row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (subset_row), _("Images"));
  self->subset_spin = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (100, 10000, 100));
  gtk_widget_set_valign (GTK_WIDGET (self->subset_spin), GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (subset_row), GTK_WIDGET (self->subset_spin));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (subset_row), GTK_WIDGET (self->subset_spin));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->subset_spin),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Images for live accuracy"), -1);
  adw_preferences_group_add (evaluation, subset_row);

  adw_preferences_page_add (page, appearance);
  adw_preferences_page_add (page, evaluation);
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self), page);
  gtk_window_set_default_size (GTK_WINDOW (self), 520, 420);
  adw_preferences_window_set_search_enabled (ADW_PREFERENCES_WINDOW (self), FALSE);
}

GtkWidget *
qs_preferences_window_new (GSettings *settings)
{
  QsPreferencesWindow *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (QS_TYPE_PREFERENCES_WINDOW, "modal", TRUE, NULL);
  self->settings = g_object_ref (settings);
  g_settings_bind_with_mapping (settings, "color-scheme", self->style_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, style_get_mapping, style_set_mapping, NULL, NULL);
  g_settings_bind (settings, "quick-subset", self->subset_spin, "value", G_SETTINGS_BIND_DEFAULT);
  return GTK_WIDGET (self);
}
