/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"

typedef struct
{
  QsQuantResult *result;
  char          *description;
  GtkWidget     *menu;         /* the context-menu popover, NULL until _qs_chart_view_set_menu () */
  gint           hover;        /* the item under the pointer (classes with item_at), or -1 */
  int            export_width; /* the size exports are drawn at; 0: the widget's */
  int            export_height;
} QsChartViewPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (QsChartView, qs_chart_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RESULT,
  PROP_DESCRIPTION,
  N_PROPS
};

enum {
  EXPORT_REQUESTED,
  ITEM_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

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

  /* presentation mode: a window (or any ancestor) with the "presentation" style class
   * draws text and data lines larger, for a projector */
  for (GtkWidget *w = widget; w != NULL; w = gtk_widget_get_parent (w))
    if (gtk_widget_has_css_class (w, "presentation"))
      {
        style->font_scale = 1.5;
        style->line_scale = 2.0;
        break;
      }
}

/* Opens the popover at x, y (widget coordinates), or at the centre when x or y is < 0. */
static void
popup_menu (QsChartView *self,
            double       x,
            double       y)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRectangle rect;

  if (priv->menu == NULL)
    return;
  if (x < 0 || y < 0)
    {
      x = gtk_widget_get_width (widget) / 2.0;
      y = gtk_widget_get_height (widget) / 2.0;
    }
  rect.x = (int) x;
  rect.y = (int) y;
  rect.width = rect.height = 1;
  gtk_popover_set_pointing_to (GTK_POPOVER (priv->menu), &rect);
  gtk_popover_popup (GTK_POPOVER (priv->menu));
}

static void
on_click_pressed (GtkGestureClick *gesture,
                  int              n_press,
                  double           x,
                  double           y,
                  QsChartView     *self)
{
  GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (gesture));

  if (event != NULL && !gdk_event_triggers_context_menu (event))
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  popup_menu (self, x, y);
}

static void
on_long_pressed (GtkGestureLongPress *gesture,
                 double               x,
                 double               y,
                 QsChartView         *self)
{
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  popup_menu (self, x, y);
}

static void on_primary_drag_end (GtkGestureDrag *gesture,
                                 double          dx,
                                 double          dy,
                                 QsChartView    *self);

void
_qs_chart_view_set_menu (QsChartView *self,
                         GMenu       *menu)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);
  g_autoptr(GMenu) section = g_menu_new ();
  GtkGesture *click;
  GtkGesture *press;

  g_return_if_fail (QS_IS_CHART_VIEW (self));
  g_return_if_fail (priv->menu == NULL);

  g_menu_append (section, _("Export Image…"), "chart.export");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));

  priv->menu = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
  gtk_widget_set_parent (priv->menu, GTK_WIDGET (self));
  gtk_popover_set_has_arrow (GTK_POPOVER (priv->menu), FALSE);
  gtk_widget_set_halign (priv->menu, GTK_ALIGN_START);

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  g_signal_connect (click, "pressed", G_CALLBACK (on_click_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  /* Items are activated by a primary click. Added here, from the subclass's init: in the
   * base's own init the instance's class is still the base class. */
  if (QS_CHART_VIEW_GET_CLASS (self)->item_at != NULL)
    {
      GtkGesture *drag = gtk_gesture_drag_new ();

      gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
      g_signal_connect (drag, "drag-end", G_CALLBACK (on_primary_drag_end), self);
      gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
    }

  press = gtk_gesture_long_press_new ();
  gtk_gesture_single_set_touch_only (GTK_GESTURE_SINGLE (press), TRUE);
  g_signal_connect (press, "pressed", G_CALLBACK (on_long_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (press));
}

gint
_qs_chart_view_get_hover (QsChartView *self)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);

  return priv->hover;
}

void
_qs_chart_view_set_hover (QsChartView *self,
                          gint         item)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);

  if (priv->hover == item)
    return;
  priv->hover = item;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           QsChartView              *self)
{
  _qs_chart_view_set_hover (self, QS_CHART_VIEW_GET_CLASS (self)->item_at (self, x, y));
}

static void
on_leave (GtkEventControllerMotion *motion,
          QsChartView              *self)
{
  _qs_chart_view_set_hover (self, -1);
}

void
qs_chart_view_activate_item (QsChartView *self,
                             gint         item)
{
  g_return_if_fail (QS_IS_CHART_VIEW (self));

  if (item >= 0)
    g_signal_emit (self, signals[ITEM_ACTIVATED], 0, item);
}

/* A press and release without moving (a drag of under 4 px) activates the item under it. */
static void
on_primary_drag_end (GtkGestureDrag *gesture,
                     double          dx,
                     double          dy,
                     QsChartView    *self)
{
  double x, y;

  if (qs_chart_view_get_result (self) == NULL || fabs (dx) > 3.0 || fabs (dy) > 3.0)
    return;
  if (gtk_gesture_drag_get_start_point (gesture, &x, &y))
    qs_chart_view_activate_item (self, QS_CHART_VIEW_GET_CLASS (self)->item_at (self, x, y));
}

void
qs_chart_view_set_export_size (QsChartView *self,
                               int          width,
                               int          height)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);

  g_return_if_fail (QS_IS_CHART_VIEW (self));

  priv->export_width = MAX (width, 0);
  priv->export_height = MAX (height, 0);
}

void
_qs_chart_view_get_export_size (QsChartView *self,
                                int         *width,
                                int         *height)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);
  GtkWidget *widget = GTK_WIDGET (self);

  /* the size asked for, the widget's, or a default figure size when it is not shown */
  *width = priv->export_width;
  *height = priv->export_height;
  _qs_chart_widget_export_size (widget, width, height);
}

void
_qs_chart_widget_export_size (GtkWidget *widget,
                              int       *width,
                              int       *height)
{
  if (*width <= 0 || *height <= 0)
    {
      *width = gtk_widget_get_width (widget);
      *height = gtk_widget_get_height (widget);
    }
  if (*width < 200 || *height < 150)
    {
      *width = 960;
      *height = 600;
    }
}

gboolean
_qs_chart_widget_set_title (GtkWidget  *widget,
                            char      **slot,
                            const char *title)
{
  if (g_strcmp0 (*slot, title) == 0)
    return FALSE;
  g_free (*slot);
  *slot = g_strdup (title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  title ? title : "", -1);
  gtk_widget_queue_draw (widget);
  return TRUE;
}

void
_qs_chart_view_set_description (QsChartView *self,
                                char        *description)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);

  if (g_strcmp0 (priv->description, description) == 0)
    {
      g_free (description);
      return;
    }
  g_free (priv->description);
  priv->description = description;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description ? description : "",
                                  -1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DESCRIPTION]);
}

gboolean
_qs_chart_view_export (QsChartView    *self,
                       const char     *kind,
                       QsChartOptions *options,
                       const char     *title,
                       const char     *path,
                       double          scale,
                       GError        **error)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);
  GtkWidget *widget = GTK_WIDGET (self);
  QsChartStyle style;
  int width, height;

  g_assert (priv->result != NULL);

  _qs_chart_view_get_style (widget, &style);
  style.draw_background = TRUE;
  options->style = &style;
  _qs_chart_view_get_export_size (QS_CHART_VIEW (widget), &width, &height);
  return qs_chart_export_full (kind, priv->result, options, title, path,
                               width, height, scale, error);
}

static void
menu_popup_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  popup_menu (QS_CHART_VIEW (widget), -1, -1);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  g_signal_emit (widget, signals[EXPORT_REQUESTED], 0);
}

static gboolean
qs_chart_view_query_tooltip (GtkWidget  *widget,
                             int         x,
                             int         y,
                             gboolean    keyboard_mode,
                             GtkTooltip *tooltip)
{
  QsChartView *self = QS_CHART_VIEW (widget);
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);
  QsChartViewClass *klass = QS_CHART_VIEW_GET_CLASS (self);
  g_autofree char *text = NULL;
  gint item;

  if (keyboard_mode)
    {
      if (priv->description == NULL)
        return FALSE;
      gtk_tooltip_set_text (tooltip, priv->description);
      return TRUE;
    }
  if (klass->item_at == NULL || klass->describe_item == NULL)
    return FALSE;
  item = klass->item_at (self, x, y);
  if (item < 0)
    return FALSE;
  text = klass->describe_item (self, item);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
qs_chart_view_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (QS_CHART_VIEW (widget));

  if (priv->menu != NULL)
    gtk_popover_present (GTK_POPOVER (priv->menu));
}

static void
qs_chart_view_css_changed (GtkWidget         *widget,
                           GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (qs_chart_view_parent_class)->css_changed (widget, change);
  /* the chart's colours come from the theme */
  gtk_widget_queue_draw (widget);
}

static void
qs_chart_view_dispose (GObject *object)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (QS_CHART_VIEW (object));

  g_clear_pointer (&priv->menu, gtk_widget_unparent);
  G_OBJECT_CLASS (qs_chart_view_parent_class)->dispose (object);
}

static void
qs_chart_view_finalize (GObject *object)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (QS_CHART_VIEW (object));

  g_clear_pointer (&priv->result, qs_quant_result_unref);
  g_free (priv->description);
  G_OBJECT_CLASS (qs_chart_view_parent_class)->finalize (object);
}

static void
qs_chart_view_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (QS_CHART_VIEW (object));

  switch (prop_id)
    {
    case PROP_RESULT:
      g_value_set_boxed (value, priv->result);
      break;
    case PROP_DESCRIPTION:
      g_value_set_string (value, priv->description);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_chart_view_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_RESULT:
      qs_chart_view_set_result (QS_CHART_VIEW (object), g_value_get_boxed (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_chart_view_class_init (QsChartViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_chart_view_dispose;
  object_class->finalize = qs_chart_view_finalize;
  object_class->get_property = qs_chart_view_get_property;
  object_class->set_property = qs_chart_view_set_property;

  widget_class->size_allocate = qs_chart_view_size_allocate;
  widget_class->query_tooltip = qs_chart_view_query_tooltip;
  widget_class->css_changed = qs_chart_view_css_changed;

  properties[PROP_RESULT] =
    g_param_spec_boxed ("result", NULL, NULL, QS_TYPE_QUANT_RESULT,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The user chose "Export Image…": the app asks for a file and calls _export (). */
  signals[EXPORT_REQUESTED] =
    g_signal_new ("export-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /* An item (histogram bin, channel) was clicked or activated with
   * qs_chart_view_activate_item (): the app explains it. */
  signals[ITEM_ACTIVATED] =
    g_signal_new ("item-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "chart.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "menu.popup", NULL, menu_popup_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "menu.popup", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK, "menu.popup", NULL);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
qs_chart_view_init (QsChartView *self)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);

  priv->hover = -1;
  /* the class is complete here: subclasses of discrete items get hover tracking */
  if (QS_CHART_VIEW_GET_CLASS (self)->item_at != NULL)
    {
      GtkEventController *motion = gtk_event_controller_motion_new ();

      g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
      g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
      gtk_widget_add_controller (GTK_WIDGET (self), motion);
    }
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  _qs_chart_view_set_description (self, g_strdup (_("No data")));
}

/**
 * qs_chart_view_set_result:
 * @self: a #QsChartView
 * @result: (nullable): the quantization result to show
 *
 * Shows @result (keeping a reference); the subclass rebuilds its chart data in
 * result_changed and updates the description.
 */
void
qs_chart_view_set_result (QsChartView   *self,
                          QsQuantResult *result)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);
  g_autoptr(QsQuantResult) old_result = NULL;

  g_return_if_fail (QS_IS_CHART_VIEW (self));

  if (priv->result == result)
    return;
  old_result = g_steal_pointer (&priv->result);
  if (result != NULL)
    priv->result = qs_quant_result_ref (result);
  if (QS_CHART_VIEW_GET_CLASS (self)->result_changed != NULL)
    QS_CHART_VIEW_GET_CLASS (self)->result_changed (self, old_result);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
}

QsQuantResult *
qs_chart_view_get_result (QsChartView *self)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);

  g_return_val_if_fail (QS_IS_CHART_VIEW (self), NULL);
  return priv->result;
}

const char *
qs_chart_view_get_description (QsChartView *self)
{
  QsChartViewPrivate *priv = qs_chart_view_get_instance_private (self);

  g_return_val_if_fail (QS_IS_CHART_VIEW (self), NULL);
  return priv->description;
}
