/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"
#include "qs-channel-range-view.h"

struct _QsChannelRangeView
{
  GtkWidget        parent_instance;

  QsQuantResult   *result;
  gboolean         sorted;
  char            *description;

  QsChartChannels *channels;
  gint             hover;
  GtkWidget       *menu;
};

G_DEFINE_FINAL_TYPE (QsChannelRangeView, qs_channel_range_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RESULT,
  PROP_SORTED,
  PROP_DESCRIPTION,
  N_PROPS
};

enum {
  EXPORT_REQUESTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
qs_channel_range_view_snapshot (GtkWidget   *widget,
                                GtkSnapshot *snapshot)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  QsChartStyle style;
  cairo_t *cr;

  if (w < 1 || h < 1)
    return;
  _qs_chart_view_get_style (widget, &style);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (self->channels == NULL)
    _qs_chart_draw_message (cr, w, h, _("No data"), &style);
  else
    _qs_chart_channels_draw (cr, w, h, self->channels, self->sorted, self->hover, NULL, &style);
  cairo_destroy (cr);
}

static void
qs_channel_range_view_measure (GtkWidget      *widget,
                               GtkOrientation  orientation,
                               int             for_size,
                               int            *minimum,
                               int            *natural,
                               int            *minimum_baseline,
                               int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 160;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 560 : 300;
}

static void
qs_channel_range_view_size_allocate (GtkWidget *widget,
                                     int        width,
                                     int        height,
                                     int        baseline)
{
  _qs_chart_view_present_menu (widget);
}

static gint
channel_at (QsChannelRangeView *self,
            double              x,
            double              y)
{
  QsChartStyle style;
  QsChartRect plot;

  if (self->channels == NULL)
    return -1;
  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  _qs_chart_channels_layout (self->channels, gtk_widget_get_width (GTK_WIDGET (self)),
                             gtk_widget_get_height (GTK_WIDGET (self)), NULL, &style, &plot);
  if (y < plot.y || y > plot.y + plot.height)
    return -1;
  return _qs_chart_channels_at (self->channels, &plot, self->sorted, x);
}

static void
on_motion (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           QsChannelRangeView       *self)
{
  gint c = channel_at (self, x, y);

  if (c != self->hover)
    {
      self->hover = c;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
on_leave (GtkEventControllerMotion *motion,
          QsChannelRangeView       *self)
{
  if (self->hover != -1)
    {
      self->hover = -1;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static gboolean
qs_channel_range_view_query_tooltip (GtkWidget  *widget,
                                     int         x,
                                     int         y,
                                     gboolean    keyboard_mode,
                                     GtkTooltip *tooltip)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (widget);
  g_autofree char *text = NULL;
  gint c;

  if (keyboard_mode)
    {
      if (self->description == NULL)
        return FALSE;
      gtk_tooltip_set_text (tooltip, self->description);
      return TRUE;
    }
  c = channel_at (self, x, y);
  if (c < 0)
    return FALSE;
  text = _qs_chart_channels_describe_channel (self->channels, c);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  g_signal_emit (widget, signals[EXPORT_REQUESTED], 0);
}

static void
qs_channel_range_view_css_changed (GtkWidget         *widget,
                                   GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (qs_channel_range_view_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

static void
qs_channel_range_view_dispose (GObject *object)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  g_clear_pointer (&self->menu, gtk_widget_unparent);
  G_OBJECT_CLASS (qs_channel_range_view_parent_class)->dispose (object);
}

static void
qs_channel_range_view_finalize (GObject *object)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  g_clear_pointer (&self->channels, _qs_chart_channels_free);
  g_clear_pointer (&self->result, qs_quant_result_unref);
  g_free (self->description);
  G_OBJECT_CLASS (qs_channel_range_view_parent_class)->finalize (object);
}

static void
qs_channel_range_view_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      g_value_set_boxed (value, self->result);
      break;
    case PROP_SORTED:
      g_value_set_boolean (value, self->sorted);
      break;
    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_channel_range_view_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      qs_channel_range_view_set_result (self, g_value_get_boxed (value));
      break;
    case PROP_SORTED:
      qs_channel_range_view_set_sorted (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_channel_range_view_class_init (QsChannelRangeViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_channel_range_view_dispose;
  object_class->finalize = qs_channel_range_view_finalize;
  object_class->get_property = qs_channel_range_view_get_property;
  object_class->set_property = qs_channel_range_view_set_property;

  widget_class->snapshot = qs_channel_range_view_snapshot;
  widget_class->measure = qs_channel_range_view_measure;
  widget_class->size_allocate = qs_channel_range_view_size_allocate;
  widget_class->query_tooltip = qs_channel_range_view_query_tooltip;
  widget_class->css_changed = qs_channel_range_view_css_changed;

  properties[PROP_RESULT] =
    g_param_spec_boxed ("result", NULL, NULL, QS_TYPE_QUANT_RESULT,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SORTED] =
    g_param_spec_boolean ("sorted", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[EXPORT_REQUESTED] =
    g_signal_new ("export-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_property_action (widget_class, "chart.sorted", "sorted");
  gtk_widget_class_install_action (widget_class, "chart.export", NULL, export_action);
  _qs_chart_view_class_add_menu (widget_class);
  gtk_widget_class_set_css_name (widget_class, "qs-channel-range-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
qs_channel_range_view_init (QsChannelRangeView *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) section = g_menu_new ();
  GtkEventController *motion;

  self->hover = -1;
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  g_menu_append (section, _("_Sort by Range"), "chart.sorted");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));
  _qs_chart_view_append_export (menu);
  self->menu = _qs_chart_view_setup_menu (GTK_WIDGET (self), G_MENU_MODEL (menu));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Channel ranges"), -1);
  _qs_chart_view_set_description (GTK_WIDGET (self), &self->description, g_strdup (_("No data")),
                                  properties[PROP_DESCRIPTION]);
}

GtkWidget *
qs_channel_range_view_new (void)
{
  return g_object_new (QS_TYPE_CHANNEL_RANGE_VIEW, NULL);
}

void
qs_channel_range_view_set_result (QsChannelRangeView *self,
                                  QsQuantResult      *result)
{
  g_return_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self));

  if (self->result == result)
    return;
  g_clear_pointer (&self->result, qs_quant_result_unref);
  g_clear_pointer (&self->channels, _qs_chart_channels_free);
  if (result != NULL)
    {
      self->result = qs_quant_result_ref (result);
      self->channels = _qs_chart_channels_new (result);
    }
  self->hover = -1;
  _qs_chart_view_set_description (GTK_WIDGET (self), &self->description,
                                  self->channels ? _qs_chart_channels_describe (self->channels)
                                                 : g_strdup (_("No data")),
                                  properties[PROP_DESCRIPTION]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
}

QsQuantResult *
qs_channel_range_view_get_result (QsChannelRangeView *self)
{
  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), NULL);
  return self->result;
}

void
qs_channel_range_view_set_sorted (QsChannelRangeView *self,
                                  gboolean            sorted)
{
  g_return_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self));

  sorted = !!sorted;
  if (self->sorted == sorted)
    return;
  self->sorted = sorted;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SORTED]);
}

gboolean
qs_channel_range_view_get_sorted (QsChannelRangeView *self)
{
  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), FALSE);
  return self->sorted;
}

const char *
qs_channel_range_view_get_description (QsChannelRangeView *self)
{
  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), NULL);
  return self->description;
}

gboolean
qs_channel_range_view_export (QsChannelRangeView *self,
                              const char         *path,
                              double              scale,
                              GError            **error)
{
  QsChartOptions options;
  QsChartStyle style;
  g_autofree char *title = NULL;
  int width, height;

  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (self->result == NULL)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Cannot export “%s”: the chart has no data"), path);
      return FALSE;
    }
  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  style.draw_background = TRUE;
  qs_chart_options_init (&options);
  options.sorted = self->sorted;
  options.style = &style;
  _qs_chart_view_export_size (GTK_WIDGET (self), &width, &height);
  title = g_strdup_printf (_("Channel ranges of %s"), self->result->input->name);
  return qs_chart_export_full ("channels", self->result, &options, title, path,
                               width, height, scale, error);
}
