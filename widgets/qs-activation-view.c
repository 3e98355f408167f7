/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-activation-view.h"
#include "qs-chart-view-private.h"

struct _QsActivationView
{
  QsChartView      parent_instance;

  QsActStats      *stats;
  QsActRangeStats  range;
  gboolean         has_range;
  char            *note;
};

G_DEFINE_FINAL_TYPE (QsActivationView, qs_activation_view, QS_TYPE_CHART_VIEW)

static void
get_data (QsActivationView   *self,
          QsChartActivations *data)
{
  data->stats = self->stats;
  data->range = self->has_range ? &self->range : NULL;
  data->note = self->note;
}

static void
qs_activation_view_snapshot (GtkWidget   *widget,
                             GtkSnapshot *snapshot)
{
  QsActivationView *self = QS_ACTIVATION_VIEW (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  QsChartActivations data;
  QsChartStyle style;
  cairo_t *cr;

  if (w < 1 || h < 1)
    return;
  _qs_chart_view_get_style (widget, &style);
  style.draw_background = FALSE;
  get_data (self, &data);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  qs_chart_draw_activations (cr, w, h, &data, _qs_chart_view_get_hover (QS_CHART_VIEW (self)),
                             NULL, &style);
  cairo_destroy (cr);
}

static void
qs_activation_view_measure (GtkWidget      *widget,
                            GtkOrientation  orientation,
                            int             for_size,
                            int            *minimum,
                            int            *natural,
                            int            *minimum_baseline,
                            int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 200;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 520 : 300;
}

static gint
qs_activation_view_item_at (QsChartView *view,
                            double       x,
                            double       y)
{
  QsActivationView *self = QS_ACTIVATION_VIEW (view);
  GtkWidget *widget = GTK_WIDGET (view);
  QsChartActivations data;
  QsChartStyle style;

  _qs_chart_view_get_style (widget, &style);
  get_data (self, &data);
  return qs_chart_activations_bin_at (&data, gtk_widget_get_width (widget),
                                      gtk_widget_get_height (widget), &style, x, y);
}

static char *
qs_activation_view_describe_item (QsChartView *view,
                                  gint         item)
{
  QsActivationView *self = QS_ACTIVATION_VIEW (view);
  QsChartActivations data;
  g_autofree char *what = NULL;
  double lo, hi, mid;
  guint64 count;

  get_data (self, &data);
  qs_chart_activations_bin (&data, item, &lo, &hi, &count);
  mid = 0.5 * (lo + hi);
  if (self->has_range && (hi <= self->range.clip_lo || lo >= self->range.clip_hi))
    /* Translators: a histogram bar of activations wholly outside the quantization range */
    what = g_strdup_printf (_("clipped to %.4g"), hi <= self->range.clip_lo ? self->range.clip_lo
                                                                           : self->range.clip_hi);
  else if (self->has_range)
    {
      const QsLoweredParams *p = &self->range.params;
      float q = nearbyintf (mid / p->scale) + p->zero_point;

      /* Translators: the range arithmetic for the middle of a bar: code q = round (x / S) + Z */
      what = g_strdup_printf (_("middle %.4g → code round (%.4g / %.4g) + %d = %.0f → %.4g"),
                              mid, mid, p->scale, p->zero_point, q,
                              qs_act_fake_quant (p, (float) mid));
    }
  /* Translators: a histogram bar: value interval, count and share of all activations */
  return g_strdup_printf (_("%.4g to %.4g: %'" PRIu64 " values (%.3g%%)%s%s"),
                          lo, hi, count, 100.0 * count / MAX (self->stats->n_values, 1),
                          what != NULL ? "\n" : "", what != NULL ? what : "");
}

static void
update_description (QsActivationView *self)
{
  char *text;

  if (self->stats == NULL)
    text = g_strdup (_("No activations measured yet"));
  else if (self->has_range)
    /* Translators: the activation chart's description (screen readers, keyboard tooltip) */
    text = g_strdup_printf (_("Activations of %s: %'" PRIu64 " values from %.4g to %.4g; range %.4g to %.4g clips %.3g%%, SQNR %.1f dB"),
                            self->stats->name, self->stats->n_values, self->stats->min,
                            self->stats->max, self->range.clip_lo, self->range.clip_hi,
                            100.0 * self->range.clipped_fraction, self->range.sqnr_db);
  else
    text = g_strdup_printf (_("Activations of %s: %'" PRIu64 " values from %.4g to %.4g; not quantized"),
                            self->stats->name, self->stats->n_values, self->stats->min,
                            self->stats->max);
  _qs_chart_view_set_description (QS_CHART_VIEW (self), text);
}

static void
qs_activation_view_finalize (GObject *object)
{
  QsActivationView *self = QS_ACTIVATION_VIEW (object);

  g_clear_pointer (&self->stats, qs_act_stats_unref);
  g_clear_pointer (&self->note, g_free);
  G_OBJECT_CLASS (qs_activation_view_parent_class)->finalize (object);
}

static void
qs_activation_view_class_init (QsActivationViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);

  object_class->finalize = qs_activation_view_finalize;
  widget_class->snapshot = qs_activation_view_snapshot;
  widget_class->measure = qs_activation_view_measure;
  chart_class->item_at = qs_activation_view_item_at;
  chart_class->describe_item = qs_activation_view_describe_item;

  gtk_widget_class_set_css_name (widget_class, "qs-activation-view");
}

static void
qs_activation_view_init (QsActivationView *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Activations"), -1);
  _qs_chart_view_set_menu (QS_CHART_VIEW (self), menu);
  update_description (self);
}

GtkWidget *
qs_activation_view_new (void)
{
  return g_object_new (QS_TYPE_ACTIVATION_VIEW, NULL);
}

void
qs_activation_view_set_data (QsActivationView      *self,
                             QsActStats            *stats,
                             const QsActRangeStats *range,
                             const char            *note)
{
  g_return_if_fail (QS_IS_ACTIVATION_VIEW (self));

  if (stats != NULL)
    qs_act_stats_ref (stats);
  if (self->stats != stats)
    _qs_chart_view_set_hover (QS_CHART_VIEW (self), -1);
  g_clear_pointer (&self->stats, qs_act_stats_unref);
  self->stats = stats;
  self->has_range = range != NULL;
  if (range != NULL)
    self->range = *range;
  g_free (self->note);
  self->note = g_strdup (note);
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

QsActStats *
qs_activation_view_get_stats (QsActivationView *self)
{
  g_return_val_if_fail (QS_IS_ACTIVATION_VIEW (self), NULL);
  return self->stats;
}

const QsActRangeStats *
qs_activation_view_get_range (QsActivationView *self)
{
  g_return_val_if_fail (QS_IS_ACTIVATION_VIEW (self), NULL);
  return self->has_range ? &self->range : NULL;
}

const char *
qs_activation_view_get_note (QsActivationView *self)
{
  g_return_val_if_fail (QS_IS_ACTIVATION_VIEW (self), NULL);
  return self->note;
}

gboolean
qs_activation_view_export (QsActivationView  *self,
                           const char        *path,
                           double             scale,
                           GError           **error)
{
  QsChartActivations data;
  QsChartStyle style;
  g_autofree char *title = NULL;
  int width, height;

  g_return_val_if_fail (QS_IS_ACTIVATION_VIEW (self), FALSE);

  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  style.draw_background = TRUE;
  _qs_chart_view_get_export_size (QS_CHART_VIEW (self), &width, &height);
  get_data (self, &data);
  /* Translators: an exported chart's title; %s is a value (layer output) name */
  title = self->stats != NULL ? g_strdup_printf (_("Activations of %s"), self->stats->name) : NULL;
  return qs_chart_export_activations (&data, &style, title, path, width, height, scale, error);
}
