/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"

#define MENU_KEY "qs-chart-view-menu"

static void
to_chart_color (const GdkRGBA *rgba,
                QsChartColor  *color)
{
  color->red = rgba->red;
  color->green = rgba->green;
  color->blue = rgba->blue;
  color->alpha = rgba->alpha;
}

static gboolean
lookup_color (GtkStyleContext *context,
              const char      *name,
              QsChartColor    *color)
{
  GdkRGBA rgba;
  gboolean found;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  found = gtk_style_context_lookup_color (context, name, &rgba);
  G_GNUC_END_IGNORE_DEPRECATIONS
  if (found)
    to_chart_color (&rgba, color);
  return found;
}

void
_qs_chart_view_get_style (GtkWidget    *widget,
                          QsChartStyle *style)
{
  GtkStyleContext *context;
  GdkRGBA fg;
  double luminance;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  context = gtk_widget_get_style_context (widget);
  gtk_style_context_get_color (context, &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS

  luminance = 0.2126 * fg.red + 0.7152 * fg.green + 0.0722 * fg.blue;
  if (luminance > 0.5)
    qs_chart_style_init_dark (style);
  else
    qs_chart_style_init_light (style);
  style->draw_background = FALSE;

  fg.alpha = MAX (fg.alpha, 0.8);
  to_chart_color (&fg, &style->fg);
  style->grid = style->fg;
  style->grid.alpha = style->dark ? 0.14f : 0.12f;
  /* libadwaita's accent (the user's accent colour in later versions), when it reads well
   * on this background: text-grade accents only (accent_color, not accent_bg_color) */
  {
    QsChartColor accent;

    if (lookup_color (context, "accent_color", &accent))
      {
        double l = 0.2126 * accent.red + 0.7152 * accent.green + 0.0722 * accent.blue;

        if (style->dark ? l >= 0.45 : l <= 0.45)
          style->accent = accent;
      }
  }
  if (!lookup_color (context, "view_bg_color", &style->bg))
    lookup_color (context, "theme_base_color", &style->bg);
}

static void
on_click_pressed (GtkGestureClick *gesture,
                  int              n_press,
                  double           x,
                  double           y,
                  GtkWidget       *widget)
{
  GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (gesture));

  if (event != NULL && !gdk_event_triggers_context_menu (event))
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  _qs_chart_view_popup (widget, x, y);
}

static void
on_long_pressed (GtkGestureLongPress *gesture,
                 double               x,
                 double               y,
                 GtkWidget           *widget)
{
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  _qs_chart_view_popup (widget, x, y);
}

GtkWidget *
_qs_chart_view_setup_menu (GtkWidget  *widget,
                           GMenuModel *model)
{
  GtkWidget *popover = gtk_popover_menu_new_from_model (model);
  GtkGesture *click = gtk_gesture_click_new ();
  GtkGesture *press = gtk_gesture_long_press_new ();

  gtk_widget_set_parent (popover, widget);
  gtk_popover_set_has_arrow (GTK_POPOVER (popover), FALSE);
  gtk_widget_set_halign (popover, GTK_ALIGN_START);
  g_object_set_data (G_OBJECT (widget), MENU_KEY, popover);

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  g_signal_connect (click, "pressed", G_CALLBACK (on_click_pressed), widget);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (click));

  gtk_gesture_single_set_touch_only (GTK_GESTURE_SINGLE (press), TRUE);
  g_signal_connect (press, "pressed", G_CALLBACK (on_long_pressed), widget);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (press));
  return popover;
}

void
_qs_chart_view_popup (GtkWidget *widget,
                      double     x,
                      double     y)
{
  GtkWidget *popover = g_object_get_data (G_OBJECT (widget), MENU_KEY);
  GdkRectangle rect;

  if (popover == NULL)
    return;
  if (x < 0 || y < 0)
    {
      x = gtk_widget_get_width (widget) / 2.0;
      y = gtk_widget_get_height (widget) / 2.0;
    }
  rect.x = (int) x;
  rect.y = (int) y;
  rect.width = rect.height = 1;
  gtk_popover_set_pointing_to (GTK_POPOVER (popover), &rect);
  gtk_popover_popup (GTK_POPOVER (popover));
}

static void
menu_popup_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  _qs_chart_view_popup (widget, -1, -1);
}

void
_qs_chart_view_class_add_menu (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "menu.popup", NULL, menu_popup_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "menu.popup", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK, "menu.popup", NULL);
}

void
_qs_chart_view_present_menu (GtkWidget *widget)
{
  GtkWidget *popover = g_object_get_data (G_OBJECT (widget), MENU_KEY);

  if (popover != NULL)
    gtk_popover_present (GTK_POPOVER (popover));
}

void
_qs_chart_view_append_export (GMenu *menu)
{
  g_autoptr(GMenu) section = g_menu_new ();

  g_menu_append (section, _("Export Image…"), "chart.export");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));
}

void
_qs_chart_view_export_size (GtkWidget *widget,
                            int       *width,
                            int       *height)
{
  *width = gtk_widget_get_width (widget);
  *height = gtk_widget_get_height (widget);
  if (*width < 200 || *height < 150)
    {
      *width = 960;
      *height = 600;
    }
}

void
_qs_chart_view_set_description (GtkWidget   *widget,
                                char       **slot,
                                char        *description,
                                GParamSpec  *pspec)
{
  if (g_strcmp0 (*slot, description) == 0)
    {
      g_free (description);
      return;
    }
  g_free (*slot);
  *slot = description;
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description ? description : "",
                                  -1);
  g_object_notify_by_pspec (G_OBJECT (widget), pspec);
}
