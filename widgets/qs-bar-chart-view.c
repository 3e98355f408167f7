/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"
#include "qs-bar-chart-view.h"

struct _QsBarChartView
{
  GtkWidget        parent_instance;

  char            *title;
  QsChartBarsData  data;
  double          *values;
  GStrv            labels;
  char            *strings[4];
};

G_DEFINE_FINAL_TYPE (QsBarChartView, qs_bar_chart_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TITLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
clear_data (QsBarChartView *self)
{
  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->labels, g_strfreev);
  for (guint i = 0; i < G_N_ELEMENTS (self->strings); i++)
    g_clear_pointer (&self->strings[i], g_free);
  qs_chart_bars_data_init (&self->data);
}

static const char *
keep (QsBarChartView *self,
      guint           slot,
      const char     *s)
{
  self->strings[slot] = g_strdup (s);
  return self->strings[slot];
}

void
qs_bar_chart_view_set_data (QsBarChartView        *self,
                            const QsChartBarsData *data)
{
  g_return_if_fail (QS_IS_BAR_CHART_VIEW (self));

  clear_data (self);
  if (data != NULL)
    {
      self->data = *data;
      self->values = g_memdup2 (data->values, data->n * sizeof (double));
      self->data.values = self->values;
      if (data->labels != NULL)
        {
          self->labels = g_new0 (char *, data->n + 1);
          for (gsize i = 0; i < data->n; i++)
            self->labels[i] = g_strdup (data->labels[i]);
          self->data.labels = (const char * const *) self->labels;
        }
      self->data.x_label = keep (self, 0, data->x_label);
      self->data.y_label = keep (self, 1, data->y_label);
      self->data.series_label = keep (self, 2, data->series_label);
      self->data.highlight_label = keep (self, 3, data->highlight_label);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const QsChartBarsData *
qs_bar_chart_view_get_data (QsBarChartView *self)
{
  g_return_val_if_fail (QS_IS_BAR_CHART_VIEW (self), NULL);
  return &self->data;
}

void
qs_bar_chart_view_set_title (QsBarChartView *self,
                              const char      *title)
{
  g_return_if_fail (QS_IS_BAR_CHART_VIEW (self));

  if (_qs_chart_widget_set_title (GTK_WIDGET (self), &self->title, title))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

const char *
qs_bar_chart_view_get_title (QsBarChartView *self)
{
  g_return_val_if_fail (QS_IS_BAR_CHART_VIEW (self), NULL);
  return self->title;
}

gboolean
qs_bar_chart_view_export (QsBarChartView *self,
                           const char      *path,
                           int              width,
                           int              height,
                           double           scale,
                           GError         **error)
{
  QsChartStyle style;

  g_return_val_if_fail (QS_IS_BAR_CHART_VIEW (self), FALSE);

  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  style.draw_background = TRUE;
  _qs_chart_widget_export_size (GTK_WIDGET (self), &width, &height);
  return qs_chart_export_bars (&self->data, &style, self->title, path, width, height, scale, error);
}

static void
qs_bar_chart_view_snapshot (GtkWidget   *widget,
                             GtkSnapshot *snapshot)
{
  QsBarChartView *self = QS_BAR_CHART_VIEW (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  QsChartStyle style;
  cairo_t *cr;

  if (w <= 0 || h <= 0)
    return;
  _qs_chart_view_get_style (widget, &style);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  qs_chart_draw_bars (cr, w, h, &self->data, self->title, &style);
  cairo_destroy (cr);
}

static void
qs_bar_chart_view_css_changed (GtkWidget         *widget,
                                GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (qs_bar_chart_view_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

static void
qs_bar_chart_view_finalize (GObject *object)
{
  QsBarChartView *self = QS_BAR_CHART_VIEW (object);

  clear_data (self);
  g_free (self->title);
  G_OBJECT_CLASS (qs_bar_chart_view_parent_class)->finalize (object);
}

static void
qs_bar_chart_view_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  QsBarChartView *self = QS_BAR_CHART_VIEW (object);

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
qs_bar_chart_view_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  QsBarChartView *self = QS_BAR_CHART_VIEW (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      qs_bar_chart_view_set_title (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_bar_chart_view_class_init (QsBarChartViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = qs_bar_chart_view_finalize;
  object_class->get_property = qs_bar_chart_view_get_property;
  object_class->set_property = qs_bar_chart_view_set_property;
  widget_class->snapshot = qs_bar_chart_view_snapshot;
  widget_class->css_changed = qs_bar_chart_view_css_changed;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "barchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
qs_bar_chart_view_init (QsBarChartView *self)
{
  qs_chart_bars_data_init (&self->data);
  gtk_widget_set_size_request (GTK_WIDGET (self), 240, 160);
}

GtkWidget *
qs_bar_chart_view_new (void)
{
  return g_object_new (QS_TYPE_BAR_CHART_VIEW, NULL);
}
