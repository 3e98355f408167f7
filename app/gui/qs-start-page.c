/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "qs-start-page.h"

struct _QsStartPage
{
  AdwBin      parent_instance;

  GtkWidget  *restore_group;
  AdwActionRow *restore_row;
  GtkWidget  *recent_group;
  GtkListBox *recent_list;
};

G_DEFINE_FINAL_TYPE (QsStartPage, qs_start_page, ADW_TYPE_BIN)

static void
qs_start_page_dispose (GObject *object)
{
  /* AdwBin owns the template's root: let it go before the template's children */
  adw_bin_set_child (ADW_BIN (object), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (object), QS_TYPE_START_PAGE);

  G_OBJECT_CLASS (qs_start_page_parent_class)->dispose (object);
}

static void
qs_start_page_class_init (QsStartPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_start_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-start-page.ui");
  gtk_widget_class_bind_template_child (widget_class, QsStartPage, restore_group);
  gtk_widget_class_bind_template_child (widget_class, QsStartPage, restore_row);
  gtk_widget_class_bind_template_child (widget_class, QsStartPage, recent_group);
  gtk_widget_class_bind_template_child (widget_class, QsStartPage, recent_list);
}

static void
qs_start_page_init (QsStartPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
qs_start_page_new (void)
{
  return g_object_new (QS_TYPE_START_PAGE, NULL);
}

void
qs_start_page_set_recent (QsStartPage        *self,
                          const char * const *paths)
{
  GtkWidget *child;
  guint n = 0;

  g_return_if_fail (QS_IS_START_PAGE (self));

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, child);

  for (guint i = 0; paths != NULL && paths[i] != NULL && n < 6; i++, n++)
    {
      g_autofree char *name = g_path_get_basename (paths[i]);
      g_autofree char *dir = g_path_get_dirname (paths[i]);
      g_autofree char *home_dir = NULL;
      const char *home = g_get_home_dir ();
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *arrow = gtk_image_new_from_icon_name ("go-next-symbolic");

      /* Show folders under the home folder as ~/… */
      if (home != NULL && g_str_has_prefix (dir, home) && (dir[strlen (home)] == '/' || dir[strlen (home)] == '\0'))
        home_dir = g_strconcat ("~", dir + strlen (home), NULL);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), home_dir ? home_dir : dir);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), arrow);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.open-recent");
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (row), g_variant_new_string (paths[i]));
      gtk_widget_set_tooltip_text (row, paths[i]);
      gtk_list_box_append (self->recent_list, row);
    }
  gtk_widget_set_visible (self->recent_group, n > 0);
}

void
qs_start_page_set_autosave (QsStartPage *self,
                            const char  *title,
                            const char  *subtitle)
{
  g_return_if_fail (QS_IS_START_PAGE (self));

  gtk_widget_set_visible (self->restore_group, title != NULL);
  if (title == NULL)
    return;
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->restore_row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->restore_row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->restore_row), subtitle);
}
