/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"
#include "qs-scatter-chart-view.h"

struct _QsScatterChartView
{
  GtkWidget           parent_instance;

  char               *title;
  QsChartScatterData  data;
  double             *x;
  double             *y;
  char               *x_label;
  char               *y_label;
  char               *current_label;
  GStrv               labels;
};

G_DEFINE_FINAL_TYPE (QsScatterChartView, qs_scatter_chart_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TITLE,
  N_PROPS
};

enum {
  POINT_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
clear_data (QsScatterChartView *self)
{
  g_clear_pointer (&self->x, g_free);
  g_clear_pointer (&self->y, g_free);
  g_clear_pointer (&self->x_label, g_free);
  g_clear_pointer (&self->y_label, g_free);
  g_clear_pointer (&self->current_label, g_free);
  g_clear_pointer (&self->labels, g_strfreev);
  qs_chart_scatter_data_init (&self->data);
}

void
qs_scatter_chart_view_set_data (QsScatterChartView       *self,
                                const QsChartScatterData *data,
                                const char * const       *labels)
{
  g_return_if_fail (QS_IS_SCATTER_CHART_VIEW (self));

  clear_data (self);
  if (data != NULL)
    {
      self->data = *data;
      self->data.hover = -1;
      self->x = g_memdup2 (data->x, data->n * sizeof (double));
      self->y = g_memdup2 (data->y, data->n * sizeof (double));
      self->x_label = g_strdup (data->x_label);
      self->y_label = g_strdup (data->y_label);
      self->current_label = g_strdup (data->current_label);
      self->data.x = self->x;
      self->data.y = self->y;
      self->data.x_label = self->x_label;
      self->data.y_label = self->y_label;
      self->data.current_label = self->current_label;
      if (labels != NULL)
        self->labels = g_strdupv ((char **) labels);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gsize
qs_scatter_chart_view_get_n_points (QsScatterChartView *self)
{
  g_return_val_if_fail (QS_IS_SCATTER_CHART_VIEW (self), 0);
  return self->data.n;
}

gint
qs_scatter_chart_view_get_current (QsScatterChartView *self)
{
  g_return_val_if_fail (QS_IS_SCATTER_CHART_VIEW (self), -1);
  return self->data.current;
}

void
qs_scatter_chart_view_set_title (QsScatterChartView *self,
                                 const char         *title)
{
  g_return_if_fail (QS_IS_SCATTER_CHART_VIEW (self));

  if (_qs_chart_widget_set_title (GTK_WIDGET (self), &self->title, title))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

gint
qs_scatter_chart_view_point_at (QsScatterChartView *self,
                                double              x,
                                double              y)
{
  QsChartStyle style;

  g_return_val_if_fail (QS_IS_SCATTER_CHART_VIEW (self), -1);

  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  return qs_chart_scatter_point_at (&self->data, gtk_widget_get_width (GTK_WIDGET (self)),
                                    gtk_widget_get_height (GTK_WIDGET (self)), self->title, &style, x, y);
}

gboolean
qs_scatter_chart_view_get_point_position (QsScatterChartView *self,
                                          gint                index,
                                          double             *x,
                                          double             *y)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));

  g_return_val_if_fail (QS_IS_SCATTER_CHART_VIEW (self), FALSE);

  if (index < 0 || (gsize) index >= self->data.n || w <= 0 || h <= 0)
    return FALSE;
  /* search the pixel grid for where the point answers: exact for any layout */
  for (int py = 0; py < h; py += 2)
    for (int px = 0; px < w; px += 2)
      if (qs_scatter_chart_view_point_at (self, px, py) == index)
        {
          *x = px;
          *y = py;
          return TRUE;
        }
  return FALSE;
}

void
qs_scatter_chart_view_activate_point (QsScatterChartView *self,
                                      gint                index)
{
  g_return_if_fail (QS_IS_SCATTER_CHART_VIEW (self));

  if (index >= 0 && (gsize) index < self->data.n)
    g_signal_emit (self, signals[POINT_ACTIVATED], 0, index);
}

gboolean
qs_scatter_chart_view_export (QsScatterChartView *self,
                              const char         *path,
                              int                 width,
                              int                 height,
                              double              scale,
                              GError            **error)
{
  QsChartStyle style;

  g_return_val_if_fail (QS_IS_SCATTER_CHART_VIEW (self), FALSE);

  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  style.draw_background = TRUE;
  _qs_chart_widget_export_size (GTK_WIDGET (self), &width, &height);
  {
    QsChartScatterData data = self->data;

    data.hover = -1;
    return qs_chart_export_scatter (&data, &style, self->title, path, width, height, scale, error);
  }
}

static void
on_motion (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           QsScatterChartView       *self)
{
  gint hover = qs_scatter_chart_view_point_at (self, x, y);

  if (hover != self->data.hover)
    {
      self->data.hover = hover;
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self), hover >= 0 ? "pointer" : NULL);
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
on_leave (GtkEventControllerMotion *motion,
          QsScatterChartView       *self)
{
  if (self->data.hover != -1)
    {
      self->data.hover = -1;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
on_click (GtkGestureClick    *click,
          int                 n_press,
          double              x,
          double              y,
          QsScatterChartView *self)
{
  gint index = qs_scatter_chart_view_point_at (self, x, y);

  if (index >= 0)
    {
      gtk_gesture_set_state (GTK_GESTURE (click), GTK_EVENT_SEQUENCE_CLAIMED);
      qs_scatter_chart_view_activate_point (self, index);
    }
}

static gboolean
on_query_tooltip (GtkWidget          *widget,
                  int                 x,
                  int                 y,
                  gboolean            keyboard,
                  GtkTooltip         *tooltip,
                  QsScatterChartView *self)
{
  gint index = keyboard ? -1 : qs_scatter_chart_view_point_at (self, x, y);

  if (index >= 0 && self->labels != NULL && (guint) index < g_strv_length (self->labels))
    {
      gtk_tooltip_set_text (tooltip, self->labels[index]);
      return TRUE;
    }
  if (keyboard && self->title != NULL)
    {
      gtk_tooltip_set_text (tooltip, self->title);
      return TRUE;
    }
  return FALSE;
}

static void
qs_scatter_chart_view_snapshot (GtkWidget   *widget,
                                GtkSnapshot *snapshot)
{
  QsScatterChartView *self = QS_SCATTER_CHART_VIEW (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  QsChartStyle style;
  cairo_t *cr;

  if (w <= 0 || h <= 0)
    return;
  _qs_chart_view_get_style (widget, &style);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  qs_chart_draw_scatter (cr, w, h, &self->data, self->title, &style);
  cairo_destroy (cr);
}

static void
qs_scatter_chart_view_css_changed (GtkWidget         *widget,
                                   GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (qs_scatter_chart_view_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

static void
qs_scatter_chart_view_finalize (GObject *object)
{
  QsScatterChartView *self = QS_SCATTER_CHART_VIEW (object);

  clear_data (self);
  g_free (self->title);
  G_OBJECT_CLASS (qs_scatter_chart_view_parent_class)->finalize (object);
}

static void
qs_scatter_chart_view_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  QsScatterChartView *self = QS_SCATTER_CHART_VIEW (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_scatter_chart_view_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  QsScatterChartView *self = QS_SCATTER_CHART_VIEW (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      qs_scatter_chart_view_set_title (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_scatter_chart_view_class_init (QsScatterChartViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = qs_scatter_chart_view_finalize;
  object_class->get_property = qs_scatter_chart_view_get_property;
  object_class->set_property = qs_scatter_chart_view_set_property;
  widget_class->snapshot = qs_scatter_chart_view_snapshot;
  widget_class->css_changed = qs_scatter_chart_view_css_changed;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A point was clicked: its index in the data. */
  signals[POINT_ACTIVATED] =
    g_signal_new ("point-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_set_css_name (widget_class, "scatterchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
qs_scatter_chart_view_init (QsScatterChartView *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  qs_chart_scatter_data_init (&self->data);
  gtk_widget_set_size_request (GTK_WIDGET (self), 240, 160);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "released", G_CALLBACK (on_click), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), self);
}

GtkWidget *
qs_scatter_chart_view_new (void)
{
  return g_object_new (QS_TYPE_SCATTER_CHART_VIEW, NULL);
}
