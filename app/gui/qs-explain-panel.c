/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-explain-panel.h"

struct _QsExplainPanel
{
  GtkBox          parent_instance;

  GtkWidget      *heading;
  GtkWidget      *value_grid;
  GtkWidget      *requant_title;
  GtkWidget      *requant_grid;
  GtkWidget      *requant_message;
  QsExplainValue *value;
  char           *value_text;
  char           *requant_text;
  char           *heading_text;
};

G_DEFINE_FINAL_TYPE (QsExplainPanel, qs_explain_panel, GTK_TYPE_BOX)

enum {
  CLOSE_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
clear_grid (GtkWidget *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (grid)) != NULL)
    gtk_grid_remove (GTK_GRID (grid), child);
}

static GtkWidget *
cell (const char *markup,
      const char *css)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_markup (GTK_LABEL (label), markup);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
  gtk_label_set_yalign (GTK_LABEL (label), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  if (css != NULL)
    gtk_widget_add_css_class (label, css);
  return label;
}

static void
fill_grid (GtkWidget *grid,
           GPtrArray *lines)
{
  clear_grid (grid);
  for (guint i = 0; i < lines->len; i++)
    {
      const QsExplainLine *line = g_ptr_array_index (lines, i);
      g_autofree char *label = g_markup_escape_text (line->label, -1);
      g_autofree char *value = g_markup_escape_text (line->value, -1);
      g_autofree char *formula = line->formula ? g_markup_escape_text (line->formula, -1) : NULL;
      g_autofree char *rhs = formula
        ? g_strdup_printf ("%s = <b>%s</b>", formula, value)
        : g_strdup_printf ("<b>%s</b>", value);
      GtkWidget *l = cell (label, "dim-label"), *r = cell (rhs, "explain-formula");

      gtk_widget_set_hexpand (r, TRUE);
      gtk_grid_attach (GTK_GRID (grid), l, 0, (int) i, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), r, 1, (int) i, 1, 1);
    }
}

gboolean
qs_explain_panel_show_value (QsExplainPanel *self,
                             QsQuantResult  *result,
                             gsize           index,
                             const char     *heading)
{
  g_autoptr(GError) error = NULL;
  QsExplainValue *value;

  g_return_val_if_fail (QS_IS_EXPLAIN_PANEL (self), FALSE);
  g_return_val_if_fail (result != NULL, FALSE);

  g_clear_pointer (&self->value, qs_explain_value_free);
  g_clear_pointer (&self->value_text, g_free);
  g_clear_pointer (&self->requant_text, g_free);
  g_free (self->heading_text);
  self->heading_text = g_strdup (heading ? heading : _("One weight, step by step"));
  gtk_label_set_text (GTK_LABEL (self->heading), self->heading_text);
  gtk_widget_set_visible (self->requant_title, FALSE);
  gtk_widget_set_visible (self->requant_grid, FALSE);
  gtk_widget_set_visible (self->requant_message, FALSE);
  value = qs_explain_value_new (result, index, &error);
  if (value == NULL)
    {
      clear_grid (self->value_grid);
      gtk_grid_attach (GTK_GRID (self->value_grid), cell (error->message, NULL), 0, 0, 2, 1);
      self->value_text = g_strdup (error->message);
      return FALSE;
    }
  self->value = value;
  fill_grid (self->value_grid, value->lines);
  self->value_text = qs_explain_lines_to_text (value->lines);
  return TRUE;
}

void
qs_explain_panel_show_requant (QsExplainPanel         *self,
                               const QsExplainRequant *requant,
                               const char             *message)
{
  g_return_if_fail (QS_IS_EXPLAIN_PANEL (self));

  g_clear_pointer (&self->requant_text, g_free);
  gtk_widget_set_visible (self->requant_title, requant != NULL || message != NULL);
  gtk_widget_set_visible (self->requant_grid, requant != NULL);
  gtk_widget_set_visible (self->requant_message, message != NULL);
  gtk_label_set_text (GTK_LABEL (self->requant_message), message ? message : "");
  if (requant != NULL)
    {
      fill_grid (self->requant_grid, requant->lines);
      self->requant_text = qs_explain_lines_to_text (requant->lines);
    }
}

const QsExplainValue *
qs_explain_panel_get_value (QsExplainPanel *self)
{
  g_return_val_if_fail (QS_IS_EXPLAIN_PANEL (self), NULL);
  return self->value;
}

char *
qs_explain_panel_get_text (QsExplainPanel *self)
{
  GString *s;

  g_return_val_if_fail (QS_IS_EXPLAIN_PANEL (self), NULL);

  s = g_string_new (NULL);
  if (self->heading_text != NULL)
    g_string_append_printf (s, "%s\n", self->heading_text);
  if (self->value_text != NULL)
    g_string_append (s, self->value_text);
  if (self->requant_text != NULL)
    g_string_append_printf (s, "\n%s\n%s", _("Integer requantization of one output"), self->requant_text);
  return g_string_free (s, FALSE);
}

static void
on_copy (QsExplainPanel *self)
{
  g_autofree char *text = qs_explain_panel_get_text (self);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text);
}

static void
on_close (QsExplainPanel *self)
{
  g_signal_emit (self, signals[CLOSE_REQUESTED], 0);
}

static void
qs_explain_panel_finalize (GObject *object)
{
  QsExplainPanel *self = QS_EXPLAIN_PANEL (object);

  g_clear_pointer (&self->value, qs_explain_value_free);
  g_free (self->value_text);
  g_free (self->requant_text);
  g_free (self->heading_text);
  G_OBJECT_CLASS (qs_explain_panel_parent_class)->finalize (object);
}

static void
qs_explain_panel_class_init (QsExplainPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = qs_explain_panel_finalize;

  signals[CLOSE_REQUESTED] =
    g_signal_new ("close-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "explainpanel");
}

static GtkWidget *
new_grid (void)
{
  GtkWidget *grid = gtk_grid_new ();

  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  return grid;
}

static void
qs_explain_panel_init (QsExplainPanel *self)
{
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *copy = gtk_button_new_with_mnemonic (_("_Copy"));
  GtkWidget *close = gtk_button_new_from_icon_name ("window-close-symbolic");

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 8);
  gtk_widget_add_css_class (GTK_WIDGET (self), "card");

  self->heading = gtk_label_new (_("One weight, step by step"));
  gtk_label_set_xalign (GTK_LABEL (self->heading), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (self->heading), TRUE);
  gtk_widget_set_hexpand (self->heading, TRUE);
  gtk_widget_add_css_class (self->heading, "heading");
  gtk_widget_set_tooltip_text (copy, _("Copy the explanation as text"));
  gtk_widget_set_tooltip_text (close, _("Close the explanation"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (close), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Close"), -1);
  gtk_widget_add_css_class (copy, "flat");
  gtk_widget_add_css_class (close, "flat");
  g_signal_connect_swapped (copy, "clicked", G_CALLBACK (on_copy), self);
  g_signal_connect_swapped (close, "clicked", G_CALLBACK (on_close), self);
  gtk_box_append (GTK_BOX (header), self->heading);
  gtk_box_append (GTK_BOX (header), copy);
  gtk_box_append (GTK_BOX (header), close);
  gtk_box_append (GTK_BOX (self), header);

  self->value_grid = new_grid ();
  gtk_box_append (GTK_BOX (self), self->value_grid);

  self->requant_title = gtk_label_new (_("Integer requantization of one output"));
  gtk_label_set_xalign (GTK_LABEL (self->requant_title), 0.0f);
  gtk_widget_add_css_class (self->requant_title, "heading");
  gtk_widget_set_margin_top (self->requant_title, 6);
  gtk_box_append (GTK_BOX (self), self->requant_title);
  self->requant_message = cell ("", "dim-label");
  gtk_box_append (GTK_BOX (self), self->requant_message);
  self->requant_grid = new_grid ();
  gtk_box_append (GTK_BOX (self), self->requant_grid);
  gtk_widget_set_visible (self->requant_title, FALSE);
  gtk_widget_set_visible (self->requant_message, FALSE);
  gtk_widget_set_visible (self->requant_grid, FALSE);
}

GtkWidget *
qs_explain_panel_new (void)
{
  return g_object_new (QS_TYPE_EXPLAIN_PANEL, NULL);
}
