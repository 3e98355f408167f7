/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-analysis-view.h"
#include "qs-chart-view-private.h"

struct _QsAnalysisView
{
  QsChartView         parent_instance;

  gboolean            front_kind;
  QsSensitivity      *sensitivity;
  QsFront            *front;
  QsChartFrontMarker  current;
};

G_DEFINE_FINAL_TYPE (QsAnalysisView, qs_analysis_view, QS_TYPE_CHART_VIEW)

enum {
  PROP_0,
  PROP_KIND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  POINT_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
qs_analysis_view_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  QsAnalysisView *self = QS_ANALYSIS_VIEW (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  QsChartStyle style;
  cairo_t *cr;

  if (w < 1 || h < 1)
    return;
  _qs_chart_view_get_style (widget, &style);
  style.draw_background = FALSE;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (self->front_kind)
    qs_chart_draw_front (cr, w, h, self->front, &self->current,
                         _qs_chart_view_get_hover (QS_CHART_VIEW (self)), NULL, &style);
  else
    qs_chart_draw_sensitivity (cr, w, h, self->sensitivity, NULL, &style);
  cairo_destroy (cr);
}

static void
qs_analysis_view_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  QsAnalysisView *self = QS_ANALYSIS_VIEW (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 240;
      *natural = 520;
    }
  else if (!self->front_kind && self->sensitivity != NULL)
    {
      /* a legible row per layer */
      *minimum = 80 + 18 * (int) self->sensitivity->n_layers;
      *natural = 80 + 26 * (int) self->sensitivity->n_layers;
    }
  else
    {
      *minimum = 200;
      *natural = 300;
    }
}

static gint
qs_analysis_view_item_at (QsChartView *view,
                          double       x,
                          double       y)
{
  QsAnalysisView *self = QS_ANALYSIS_VIEW (view);
  GtkWidget *widget = GTK_WIDGET (view);
  QsChartStyle style;
  guint l, f;

  _qs_chart_view_get_style (widget, &style);
  if (self->front_kind)
    return qs_chart_front_point_at (self->front, &self->current, gtk_widget_get_width (widget),
                                    gtk_widget_get_height (widget), &style, x, y);
  if (!qs_chart_sensitivity_cell_at (self->sensitivity, gtk_widget_get_width (widget),
                                     gtk_widget_get_height (widget), &style, x, y, &l, &f))
    return -1;
  return (gint) (l * self->sensitivity->layers[0].n_formats + f);
}

static char *
qs_analysis_view_describe_item (QsChartView *view,
                                gint         item)
{
  QsAnalysisView *self = QS_ANALYSIS_VIEW (view);

  if (self->front_kind)
    {
      const QsFrontPoint *p = &self->front->points[item];
      g_autofree char *measured = isnan (p->measured_drop)
        ? g_strdup (_("not measured"))
        : g_strdup_printf (_("%.2f points"), p->measured_drop);
      g_autofree char *size = g_format_size_full (p->weight_bytes, G_FORMAT_SIZE_IEC_UNITS);

      /* Translators: a Pareto front point; %s are byte sizes and accuracy drops */
      return g_strdup_printf (_("%s of kernels (%.1f%% of float)\nMeasured drop: %s\n"
                                "Predicted drop: %.2f points%s\nClick to apply"),
                              size, 100.0 * p->weight_bytes / MAX (self->front->float_bytes, 1),
                              measured, p->predicted_drop,
                              p->refined ? _("\nAdded by refinement") : "");
    }
  else
    {
      guint F = self->sensitivity->layers[0].n_formats;
      const QsSensitivityLayer *l = &self->sensitivity->layers[item / F];
      guint f = item % F;
      g_autofree char *size = g_format_size_full (l->bytes[f], G_FORMAT_SIZE_IEC_UNITS);

      return g_strdup_printf (_("%s in %s\nDrop: %.2f points\nWeight SQNR: %.1f dB\nKernel: %s"),
                              l->layer, l->formats[f], l->drop[f], l->sqnr_db[f], size);
    }
}

static void
update_description (QsAnalysisView *self)
{
  char *text;

  if (self->front_kind)
    text = self->front == NULL ? g_strdup (_("No front computed yet"))
      : g_strdup_printf (ngettext ("Pareto front: %u point, kernel bytes against accuracy drop",
                                   "Pareto front: %u points, kernel bytes against accuracy drop",
                                   self->front->n_points), self->front->n_points);
  else
    text = self->sensitivity == NULL ? g_strdup (_("No sensitivity measured yet"))
      : g_strdup_printf (_("Sensitivity of %u layers to %u weight formats over %u images"),
                         self->sensitivity->n_layers, self->sensitivity->layers[0].n_formats,
                         self->sensitivity->n_images);
  _qs_chart_view_set_description (QS_CHART_VIEW (self), text);
}

static void
click_released (GtkGestureClick *gesture,
                int              n_press,
                double           x,
                double           y,
                QsAnalysisView  *self)
{
  gint item;

  if (!self->front_kind || self->front == NULL)
    return;
  item = qs_analysis_view_item_at (QS_CHART_VIEW (self), x, y);
  if (item >= 0)
    g_signal_emit (self, signals[POINT_ACTIVATED], 0, (guint) item);
}

static void
qs_analysis_view_finalize (GObject *object)
{
  QsAnalysisView *self = QS_ANALYSIS_VIEW (object);

  g_clear_pointer (&self->sensitivity, qs_sensitivity_unref);
  g_clear_pointer (&self->front, qs_front_unref);
  G_OBJECT_CLASS (qs_analysis_view_parent_class)->finalize (object);
}

static void
qs_analysis_view_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  QsAnalysisView *self = QS_ANALYSIS_VIEW (object);

  switch (prop_id)
    {
    case PROP_KIND:
      g_value_set_string (value, qs_analysis_view_get_kind (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_analysis_view_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  QsAnalysisView *self = QS_ANALYSIS_VIEW (object);

  switch (prop_id)
    {
    case PROP_KIND:
      self->front_kind = g_strcmp0 (g_value_get_string (value), "front") == 0;
      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      self->front_kind ? _("Pareto front") : _("Layer sensitivity"),
                                      -1);
      update_description (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_analysis_view_class_init (QsAnalysisViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);

  object_class->finalize = qs_analysis_view_finalize;
  object_class->get_property = qs_analysis_view_get_property;
  object_class->set_property = qs_analysis_view_set_property;
  widget_class->snapshot = qs_analysis_view_snapshot;
  widget_class->measure = qs_analysis_view_measure;
  chart_class->item_at = qs_analysis_view_item_at;
  chart_class->describe_item = qs_analysis_view_describe_item;

  properties[PROP_KIND] =
    g_param_spec_string ("kind", NULL, NULL, "sensitivity",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* emitted with the index of the front point clicked */
  signals[POINT_ACTIVATED] =
    g_signal_new ("point-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);

  gtk_widget_class_set_css_name (widget_class, "qs-analysis-view");
}

static void
qs_analysis_view_init (QsAnalysisView *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "released", G_CALLBACK (click_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  _qs_chart_view_set_menu (QS_CHART_VIEW (self), menu);
}

GtkWidget *
qs_analysis_view_new (const char *kind)
{
  return g_object_new (QS_TYPE_ANALYSIS_VIEW, "kind", kind, NULL);
}

const char *
qs_analysis_view_get_kind (QsAnalysisView *self)
{
  g_return_val_if_fail (QS_IS_ANALYSIS_VIEW (self), NULL);
  return self->front_kind ? "front" : "sensitivity";
}

void
qs_analysis_view_set_data (QsAnalysisView           *self,
                           QsSensitivity            *sensitivity,
                           QsFront                  *front,
                           const QsChartFrontMarker *current)
{
  g_return_if_fail (QS_IS_ANALYSIS_VIEW (self));

  if (sensitivity != NULL)
    qs_sensitivity_ref (sensitivity);
  g_clear_pointer (&self->sensitivity, qs_sensitivity_unref);
  self->sensitivity = sensitivity;
  if (front != NULL)
    qs_front_ref (front);
  g_clear_pointer (&self->front, qs_front_unref);
  self->front = front;
  if (current != NULL)
    self->current = *current;
  else
    self->current.valid = FALSE;
  _qs_chart_view_set_hover (QS_CHART_VIEW (self), -1);
  update_description (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

QsSensitivity *
qs_analysis_view_get_sensitivity (QsAnalysisView *self)
{
  g_return_val_if_fail (QS_IS_ANALYSIS_VIEW (self), NULL);
  return self->sensitivity;
}

QsFront *
qs_analysis_view_get_front (QsAnalysisView *self)
{
  g_return_val_if_fail (QS_IS_ANALYSIS_VIEW (self), NULL);
  return self->front;
}

gboolean
qs_analysis_view_export (QsAnalysisView  *self,
                         const char      *path,
                         double           scale,
                         GError         **error)
{
  GtkWidget *widget = GTK_WIDGET (self);
  QsChartStyle style;
  int width, height;

  g_return_val_if_fail (QS_IS_ANALYSIS_VIEW (self), FALSE);

  _qs_chart_view_get_style (widget, &style);
  style.draw_background = TRUE;
  width = height = 0;
  _qs_chart_widget_export_size (widget, &width, &height);
  return qs_chart_export_analysis (qs_analysis_view_get_kind (self), self->sensitivity,
                                   self->front, &self->current, &style,
                                   self->front_kind ? _("Pareto front") : _("Layer sensitivity"),
                                   path, width, height, scale, error);
}
