/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"
#include "qs-channel-range-view.h"

struct _QsChannelRangeView
{
  QsChartView      parent_instance;

  gboolean         sorted;

  QsChartChannels *channels;
  GCancellable    *build;      /* the worker building channels for the newest big result */
};

G_DEFINE_FINAL_TYPE (QsChannelRangeView, qs_channel_range_view, QS_TYPE_CHART_VIEW)

enum {
  PROP_0,
  PROP_SORTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

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
    _qs_chart_channels_draw (cr, w, h, self->channels, self->sorted,
                             _qs_chart_view_get_hover (QS_CHART_VIEW (self)), NULL, &style);
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

static gint
qs_channel_range_view_item_at (QsChartView *view,
                               double       x,
                               double       y)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (view);
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

static char *
qs_channel_range_view_describe_item (QsChartView *view,
                                     gint         channel)
{
  return _qs_chart_channels_describe_channel (QS_CHANNEL_RANGE_VIEW (view)->channels, channel);
}

/* Results with at least this many values are summarised in a worker thread (a 4096 x 4096
 * Dense kernel: one pass over 16.8M values with a division each, ~70-110 ms); the previous
 * ranges stay on screen meanwhile, as the histogram and the heatmap do. */
#define BUILD_IN_WORKER_MIN ((gsize) 1 << 20)

static void
build_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  g_task_return_pointer (task, _qs_chart_channels_new (task_data),
                         (GDestroyNotify) _qs_chart_channels_free);
}

static void
install (QsChannelRangeView *self,
         QsChartChannels    *channels)
{
  QsChartView *view = QS_CHART_VIEW (self);

  g_clear_pointer (&self->channels, _qs_chart_channels_free);
  self->channels = channels;
  _qs_chart_view_set_hover (view, -1);
  _qs_chart_view_set_description (view, self->channels ? _qs_chart_channels_describe (self->channels)
                                                       : g_strdup (_("No data")));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
build_done (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);
  GTask *task = G_TASK (result);
  QsChartChannels *channels = g_task_propagate_pointer (task, NULL);

  /* only the newest request's data is installed (a newer one cancelled this) */
  if (channels == NULL || g_task_get_cancellable (task) != self->build
      || g_cancellable_is_cancelled (self->build))
    {
      g_clear_pointer (&channels, _qs_chart_channels_free);
      return;
    }
  g_clear_object (&self->build);
  install (self, channels);
}

static void
cancel_build (QsChannelRangeView *self)
{
  if (self->build != NULL)
    g_cancellable_cancel (self->build);
  g_clear_object (&self->build);
}

static void
qs_channel_range_view_result_changed (QsChartView   *view,
                                      QsQuantResult *old_result)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (view);
  QsQuantResult *result = qs_chart_view_get_result (view);
  g_autoptr(GTask) task = NULL;

  cancel_build (self);
  if (result == NULL || result->input->n_elements < BUILD_IN_WORKER_MIN)
    {
      install (self, result ? _qs_chart_channels_new (result) : NULL);
      return;
    }
  self->build = g_cancellable_new ();
  task = g_task_new (self, self->build, build_done, NULL);
  g_task_set_source_tag (task, qs_channel_range_view_result_changed);
  g_task_set_name (task, "[quantscope] channel ranges");
  g_task_set_task_data (task, qs_quant_result_ref (result), (GDestroyNotify) qs_quant_result_unref);
  g_task_run_in_thread (task, build_thread);
}

static void
qs_channel_range_view_finalize (GObject *object)
{
  QsChannelRangeView *self = QS_CHANNEL_RANGE_VIEW (object);

  cancel_build (self);
  g_clear_pointer (&self->channels, _qs_chart_channels_free);
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
    case PROP_SORTED:
      g_value_set_boolean (value, self->sorted);
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
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);

  object_class->finalize = qs_channel_range_view_finalize;
  object_class->get_property = qs_channel_range_view_get_property;
  object_class->set_property = qs_channel_range_view_set_property;

  widget_class->snapshot = qs_channel_range_view_snapshot;
  widget_class->measure = qs_channel_range_view_measure;

  chart_class->result_changed = qs_channel_range_view_result_changed;
  chart_class->item_at = qs_channel_range_view_item_at;
  chart_class->describe_item = qs_channel_range_view_describe_item;

  properties[PROP_SORTED] =
    g_param_spec_boolean ("sorted", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_property_action (widget_class, "chart.sorted", "sorted");
  gtk_widget_class_set_css_name (widget_class, "qs-channel-range-view");
}

static void
qs_channel_range_view_init (QsChannelRangeView *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) section = g_menu_new ();

  g_menu_append (section, _("_Sort by Range"), "chart.sorted");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));
  _qs_chart_view_set_menu (QS_CHART_VIEW (self), menu);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Channel ranges"), -1);
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

  qs_chart_view_set_result (QS_CHART_VIEW (self), result);
}

QsQuantResult *
qs_channel_range_view_get_result (QsChannelRangeView *self)
{
  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), NULL);
  return qs_chart_view_get_result (QS_CHART_VIEW (self));
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
  return qs_chart_view_get_description (QS_CHART_VIEW (self));
}

gboolean
qs_channel_range_view_export (QsChannelRangeView *self,
                              const char         *path,
                              double              scale,
                              GError            **error)
{
  QsQuantResult *result;
  QsChartOptions options;
  g_autofree char *title = NULL;

  g_return_val_if_fail (QS_IS_CHANNEL_RANGE_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  result = qs_chart_view_get_result (QS_CHART_VIEW (self));
  if (result == NULL)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Cannot export “%s”: the chart has no data"), path);
      return FALSE;
    }
  qs_chart_options_init (&options);
  options.sorted = self->sorted;
  title = g_strdup_printf (_("Channel ranges of %s"), result->input->name);
  return _qs_chart_view_export (QS_CHART_VIEW (self), "channels", &options, title, path,
                                scale, error);
}
