/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"
#include "qs-eval-view.h"

struct _QsEvalView
{
  QsChartView       parent_instance;

  gboolean          confusion_kind;
  QsConfusionMode   mode;
  QsEvalResult     *result;
  char            **names;
  QsChartConfusion *confusion;
  QsChartClasses   *classes;
};

G_DEFINE_FINAL_TYPE (QsEvalView, qs_eval_view, QS_TYPE_CHART_VIEW)

enum {
  PROP_0,
  PROP_KIND,
  PROP_MODE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
fill_data (QsEvalView      *self,
           QsChartEvalData *data)
{
  qs_chart_eval_data_init (data, self->result, (const char * const *) self->names);
}

static void
rebuild (QsEvalView *self)
{
  QsChartEvalData data;
  char *text;

  g_clear_pointer (&self->confusion, qs_chart_confusion_free);
  g_clear_pointer (&self->classes, qs_chart_classes_free);
  if (self->result != NULL)
    {
      fill_data (self, &data);
      if (self->confusion_kind)
        self->confusion = qs_chart_confusion_new (&data, self->mode);
      else
        self->classes = qs_chart_classes_new (&data);
    }
  _qs_chart_view_set_hover (QS_CHART_VIEW (self), -1);

  if (self->confusion != NULL)
    text = g_strdup_printf (self->mode == QS_CONFUSION_DIFFERENCE
                              ? _("Confusion matrix of %u classes, quantized minus float")
                              : self->mode == QS_CONFUSION_QUANT
                              ? _("Confusion matrix of %u classes, quantized model")
                              : _("Confusion matrix of %u classes, float model"),
                            self->confusion->n);
  else if (self->classes != NULL)
    text = g_strdup_printf (_("Top-1 accuracy of each of %u classes, float and quantized"),
                            self->classes->n);
  else
    text = g_strdup (_("No labelled evaluation yet"));
  _qs_chart_view_set_description (QS_CHART_VIEW (self), text);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
qs_eval_view_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  QsEvalView *self = QS_EVAL_VIEW (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  gint hover = _qs_chart_view_get_hover (QS_CHART_VIEW (self));
  QsChartStyle style;
  cairo_t *cr;

  if (w < 1 || h < 1)
    return;
  _qs_chart_view_get_style (widget, &style);
  style.draw_background = FALSE;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (self->confusion_kind)
    qs_chart_draw_confusion (cr, w, h, self->confusion, hover, NULL, &style);
  else
    qs_chart_draw_classes (cr, w, h, self->classes, hover, NULL, &style);
  cairo_destroy (cr);
}

static void
qs_eval_view_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  QsEvalView *self = QS_EVAL_VIEW (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 240;
      *natural = 520;
    }
  else if (self->confusion_kind)
    {
      /* square cells: room for ~40 px cells with 10 classes, and for a 100-class matrix
       * whose cells stay big enough to point at (the labels thin out) */
      guint n = self->result != NULL ? self->result->n_classes : 10;

      *minimum = n > 20 ? 600 : 420;
      *natural = n > 20 ? 760 : 560;
    }
  else
    {
      *minimum = 220;
      *natural = 280;
    }
}

static gint
qs_eval_view_item_at (QsChartView *view,
                      double       x,
                      double       y)
{
  QsEvalView *self = QS_EVAL_VIEW (view);
  GtkWidget *widget = GTK_WIDGET (view);
  QsChartStyle style;

  _qs_chart_view_get_style (widget, &style);
  if (self->confusion_kind)
    return qs_chart_confusion_cell_at (self->confusion, gtk_widget_get_width (widget),
                                       gtk_widget_get_height (widget), &style, x, y);
  return qs_chart_classes_at (self->classes, gtk_widget_get_width (widget),
                              gtk_widget_get_height (widget), &style, x, y);
}

static char *
qs_eval_view_describe_item (QsChartView *view,
                            gint         item)
{
  QsEvalView *self = QS_EVAL_VIEW (view);

  if (self->confusion_kind)
    return self->confusion == NULL ? NULL
      : qs_chart_confusion_describe_cell (self->confusion, item / self->confusion->n,
                                          item % self->confusion->n);
  return self->classes == NULL ? NULL : qs_chart_classes_describe_class (self->classes, item);
}

static void
qs_eval_view_finalize (GObject *object)
{
  QsEvalView *self = QS_EVAL_VIEW (object);

  g_clear_pointer (&self->confusion, qs_chart_confusion_free);
  g_clear_pointer (&self->classes, qs_chart_classes_free);
  g_clear_pointer (&self->result, qs_eval_result_unref);
  g_clear_pointer (&self->names, g_strfreev);
  G_OBJECT_CLASS (qs_eval_view_parent_class)->finalize (object);
}

static void
qs_eval_view_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  QsEvalView *self = QS_EVAL_VIEW (object);

  switch (prop_id)
    {
    case PROP_KIND:
      g_value_set_string (value, qs_eval_view_get_kind (self));
      break;
    case PROP_MODE:
      g_value_set_int (value, self->mode);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_eval_view_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  QsEvalView *self = QS_EVAL_VIEW (object);

  switch (prop_id)
    {
    case PROP_KIND:
      self->confusion_kind = g_strcmp0 (g_value_get_string (value), "classes") != 0;
      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      self->confusion_kind ? _("Confusion matrix")
                                                           : _("Per-class accuracy"),
                                      -1);
      rebuild (self);
      break;
    case PROP_MODE:
      qs_eval_view_set_mode (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_eval_view_class_init (QsEvalViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);

  object_class->finalize = qs_eval_view_finalize;
  object_class->get_property = qs_eval_view_get_property;
  object_class->set_property = qs_eval_view_set_property;
  widget_class->snapshot = qs_eval_view_snapshot;
  widget_class->measure = qs_eval_view_measure;
  chart_class->item_at = qs_eval_view_item_at;
  chart_class->describe_item = qs_eval_view_describe_item;

  properties[PROP_KIND] =
    g_param_spec_string ("kind", NULL, NULL, "confusion",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* a QsConfusionMode */
  properties[PROP_MODE] =
    g_param_spec_int ("mode", NULL, NULL, QS_CONFUSION_FLOAT, QS_CONFUSION_DIFFERENCE,
                      QS_CONFUSION_FLOAT,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "qs-eval-view");
}

static void
qs_eval_view_init (QsEvalView *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();

  self->confusion_kind = TRUE;
  _qs_chart_view_set_menu (QS_CHART_VIEW (self), menu);
}

GtkWidget *
qs_eval_view_new (const char *kind)
{
  return g_object_new (QS_TYPE_EVAL_VIEW, "kind", kind, NULL);
}

const char *
qs_eval_view_get_kind (QsEvalView *self)
{
  g_return_val_if_fail (QS_IS_EVAL_VIEW (self), NULL);
  return self->confusion_kind ? "confusion" : "classes";
}

void
qs_eval_view_set_data (QsEvalView         *self,
                       QsEvalResult       *result,
                       const char * const *class_names)
{
  char **names = NULL;

  g_return_if_fail (QS_IS_EVAL_VIEW (self));

  if (result != NULL)
    {
      qs_eval_result_ref (result);
      if (class_names != NULL)
        {
          names = g_new0 (char *, result->n_classes + 1);
          for (guint c = 0; c < result->n_classes; c++)
            names[c] = class_names[c] != NULL ? g_strdup (class_names[c])
                                              : g_strdup_printf ("%u", c);
        }
    }
  g_clear_pointer (&self->result, qs_eval_result_unref);
  g_clear_pointer (&self->names, g_strfreev);
  self->result = result;
  self->names = names;
  rebuild (self);
}

QsEvalResult *
qs_eval_view_get_data (QsEvalView *self)
{
  g_return_val_if_fail (QS_IS_EVAL_VIEW (self), NULL);
  return self->result;
}

void
qs_eval_view_set_mode (QsEvalView      *self,
                       QsConfusionMode  mode)
{
  g_return_if_fail (QS_IS_EVAL_VIEW (self));
  g_return_if_fail (mode <= QS_CONFUSION_DIFFERENCE);

  if (self->mode == mode)
    return;
  self->mode = mode;
  rebuild (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODE]);
}

QsConfusionMode
qs_eval_view_get_mode (QsEvalView *self)
{
  g_return_val_if_fail (QS_IS_EVAL_VIEW (self), QS_CONFUSION_FLOAT);
  return self->mode;
}

const QsChartConfusion *
qs_eval_view_get_confusion (QsEvalView *self)
{
  g_return_val_if_fail (QS_IS_EVAL_VIEW (self), NULL);
  return self->confusion;
}

const QsChartClasses *
qs_eval_view_get_classes (QsEvalView *self)
{
  g_return_val_if_fail (QS_IS_EVAL_VIEW (self), NULL);
  return self->classes;
}

gboolean
qs_eval_view_export (QsEvalView  *self,
                     const char  *path,
                     double       scale,
                     GError     **error)
{
  GtkWidget *widget = GTK_WIDGET (self);
  QsChartEvalData data = { 0 };
  QsChartStyle style;
  int width, height;

  g_return_val_if_fail (QS_IS_EVAL_VIEW (self), FALSE);

  if (self->result == NULL)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Nothing to export to “%s”: run the evaluation first"), path);
      return FALSE;
    }
  _qs_chart_view_get_style (widget, &style);
  style.draw_background = TRUE;
  width = height = 0;
  _qs_chart_widget_export_size (widget, &width, &height);
  fill_data (self, &data);
  return qs_chart_export_eval (qs_eval_view_get_kind (self), &data, self->mode, &style,
                               self->confusion_kind ? _("Confusion matrix")
                                                    : _("Per-class accuracy"),
                               path, width, height, scale, error);
}
