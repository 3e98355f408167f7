/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"
#include "qs-histogram-view.h"

struct _QsHistogramView
{
  QsChartView       parent_instance;

  gboolean          log_scale;
  gint              channel;

  QsChartHistogram *hist;       /* normalised data for the current result, channel, bins */
  guint             hist_bins;
  gboolean          hist_stale;  /* hist is an older result's, drawn until the worker's arrives */
  GCancellable     *build;       /* the worker building the normalised data of a big result */
  guint             build_bins;

  GtkWidget        *picker;     /* box: label + spin button, shown for multi-channel tensors */
  GtkWidget        *spin;
};

G_DEFINE_FINAL_TYPE (QsHistogramView, qs_histogram_view, QS_TYPE_CHART_VIEW)

enum {
  PROP_0,
  PROP_LOG_SCALE,
  PROP_CHANNEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static inline QsQuantResult *
get_result (QsHistogramView *self)
{
  return qs_chart_view_get_result (QS_CHART_VIEW (self));
}

static guint
bins_for_width (double width)
{
  /* about 3 px per bin, in steps so resizing does not recompute every frame */
  guint bins = 16;

  while (bins < 512 && bins * 2 * 3 <= width)
    bins *= 2;
  return bins;
}

static void
chart_area (QsHistogramView *self,
            double          *y,
            double          *width,
            double          *height)
{
  int ph = 0;

  if (gtk_widget_get_visible (self->picker))
    gtk_widget_measure (self->picker, GTK_ORIENTATION_VERTICAL, -1, NULL, &ph, NULL, NULL);
  *y = ph;
  *width = gtk_widget_get_width (GTK_WIDGET (self));
  *height = MAX (0, gtk_widget_get_height (GTK_WIDGET (self)) - ph);
}

/* Results with at least this many values are binned in a worker thread (a 4096 x 4096
 * Dense kernel: two passes over 16.8M values, ~70 ms); the previous histogram is drawn
 * meanwhile. Smaller ones are binned in the frame. */
#define BUILD_IN_WORKER_MIN ((gsize) 1 << 20)

typedef struct
{
  QsQuantResult *result;
  gint           channel;
  guint          bins;
} BuildJob;

static void
build_job_free (BuildJob *job)
{
  qs_quant_result_unref (job->result);
  g_free (job);
}

static void
build_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  BuildJob *job = task_data;

  g_task_return_pointer (task, _qs_chart_histogram_new (job->result, job->channel, job->bins),
                         (GDestroyNotify) _qs_chart_histogram_free);
}

static void update_description (QsHistogramView *self);

static void
build_done (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);
  GTask *task = G_TASK (result);
  BuildJob *job = g_task_get_task_data (task);
  QsChartHistogram *hist = g_task_propagate_pointer (task, NULL);

  /* only the newest request's data is installed (a newer one cancelled this) */
  if (hist == NULL || g_task_get_cancellable (task) != self->build ||
      g_cancellable_is_cancelled (self->build))
    {
      g_clear_pointer (&hist, _qs_chart_histogram_free);
      return;
    }
  g_clear_object (&self->build);
  g_clear_pointer (&self->hist, _qs_chart_histogram_free);
  self->hist = hist;
  self->hist_bins = job->bins;
  self->hist_stale = FALSE;
  _qs_chart_view_set_hover (QS_CHART_VIEW (self), -1);
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
cancel_build (QsHistogramView *self)
{
  if (self->build != NULL)
    g_cancellable_cancel (self->build);
  g_clear_object (&self->build);
}

/* Rebuilds the normalised histogram if the data, channel or bin count changed: at once for
 * small results, in a worker for big ones (self->hist stays the old one, or NULL, until it
 * is done). */
static void
ensure_hist (QsHistogramView *self,
             double           width)
{
  guint bins = bins_for_width (width);
  QsQuantResult *result = get_result (self);
  g_autoptr(GTask) task = NULL;
  BuildJob *job;

  if (result == NULL)
    return;
  if (self->hist != NULL && !self->hist_stale && self->hist_bins == bins)
    return;
  if (result->input->n_elements < BUILD_IN_WORKER_MIN)
    {
      cancel_build (self);
      g_clear_pointer (&self->hist, _qs_chart_histogram_free);
      self->hist = _qs_chart_histogram_new (result, self->channel, bins);
      self->hist_bins = bins;
      self->hist_stale = FALSE;
      return;
    }
  if (self->build != NULL && self->build_bins == bins)
    return;   /* on its way */

  cancel_build (self);
  self->build = g_cancellable_new ();
  self->build_bins = bins;
  self->hist_stale = TRUE;
  job = g_new0 (BuildJob, 1);
  job->result = qs_quant_result_ref (result);
  job->channel = self->channel;
  job->bins = bins;
  task = g_task_new (self, self->build, build_done, NULL);
  g_task_set_source_tag (task, ensure_hist);
  g_task_set_name (task, "[quantscope] histogram");
  g_task_set_task_data (task, job, (GDestroyNotify) build_job_free);
  g_task_run_in_thread (task, build_thread);
}

static void
invalidate (QsHistogramView *self)
{
  QsQuantResult *result = get_result (self);

  cancel_build (self);
  /* a big result keeps the old picture until its own is built (as the heatmap does) */
  if (result != NULL && result->input->n_elements >= BUILD_IN_WORKER_MIN && self->hist != NULL)
    self->hist_stale = TRUE;
  else
    g_clear_pointer (&self->hist, _qs_chart_histogram_free);
  _qs_chart_view_set_hover (QS_CHART_VIEW (self), -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The description comes from the same normalised data the next frame draws. */
static void
update_description (QsHistogramView *self)
{
  char *text;

  if (get_result (self) == NULL)
    text = g_strdup (_("No data"));
  else
    {
      int width = gtk_widget_get_width (GTK_WIDGET (self));

      ensure_hist (self, width > 0 ? width : 480);
      if (self->hist == NULL || self->hist_stale)
        return;   /* build_done () describes the new data */
      text = _qs_chart_histogram_describe (self->hist);
    }
  _qs_chart_view_set_description (QS_CHART_VIEW (self), text);
}

static void
qs_histogram_view_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (widget);
  QsChartStyle style;
  double y, w, h;
  cairo_t *cr;

  chart_area (self, &y, &w, &h);
  if (w < 1 || h < 1)
    return;
  _qs_chart_view_get_style (widget, &style);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, y, w, h));
  cairo_translate (cr, 0, y);
  if (get_result (self) == NULL)
    _qs_chart_draw_message (cr, w, h, _("No data"), &style);
  else
    {
      ensure_hist (self, w);
      if (self->hist != NULL)
        _qs_chart_histogram_draw (cr, w, h, self->hist, self->log_scale,
                                  _qs_chart_view_get_hover (QS_CHART_VIEW (self)), NULL, &style);
    }
  cairo_destroy (cr);

  if (gtk_widget_get_visible (self->picker))
    gtk_widget_snapshot_child (widget, self->picker, snapshot);
}

static void
qs_histogram_view_measure (GtkWidget      *widget,
                           GtkOrientation  orientation,
                           int             for_size,
                           int            *minimum,
                           int            *natural,
                           int            *minimum_baseline,
                           int            *natural_baseline)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (widget);
  int pmin = 0, pnat = 0;

  if (gtk_widget_get_visible (self->picker))
    gtk_widget_measure (self->picker, orientation, -1, &pmin, &pnat, NULL, NULL);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = MAX (pmin, 240);
      *natural = MAX (pnat, 480);
    }
  else
    {
      *minimum = pmin + 160;
      *natural = pnat + 300;
    }
}

static void
qs_histogram_view_size_allocate (GtkWidget *widget,
                                 int        width,
                                 int        height,
                                 int        baseline)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (widget);

  if (gtk_widget_get_visible (self->picker))
    {
      int pw, ph;

      gtk_widget_measure (self->picker, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &pw, NULL, NULL);
      gtk_widget_measure (self->picker, GTK_ORIENTATION_VERTICAL, -1, NULL, &ph, NULL, NULL);
      pw = MIN (pw, width);
      gtk_widget_size_allocate (self->picker, &(GtkAllocation) { width - pw, 0, pw, ph }, -1);
    }
  GTK_WIDGET_CLASS (qs_histogram_view_parent_class)->size_allocate (widget, width, height, baseline);
}

static gint
qs_histogram_view_item_at (QsChartView *view,
                           double       x,
                           double       y)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (view);
  QsChartStyle style;
  QsChartRect plot;
  double cy, w, h;

  if (self->hist == NULL)
    return -1;
  chart_area (self, &cy, &w, &h);
  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  _qs_chart_histogram_layout (self->hist, w, h, NULL, &style, &plot);
  y -= cy;
  if (y < plot.y || y > plot.y + plot.height)
    return -1;
  return _qs_chart_histogram_bin_at (self->hist, &plot, x);
}

static char *
qs_histogram_view_describe_item (QsChartView *view,
                                 gint         bin)
{
  return _qs_chart_histogram_describe_bin (QS_HISTOGRAM_VIEW (view)->hist, bin);
}

static gboolean
on_spin_output (GtkSpinButton *spin,
                gpointer       user_data)
{
  if (gtk_spin_button_get_value_as_int (spin) < 0)
    {
      gtk_editable_set_text (GTK_EDITABLE (spin), _("All"));
      return TRUE;
    }
  return FALSE;
}

static int
on_spin_input (GtkSpinButton *spin,
               double        *new_value,
               gpointer       user_data)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (spin));
  char *end = NULL;
  gint64 v;

  if (g_ascii_strcasecmp (text, _("All")) == 0 || *text == '\0')
    {
      *new_value = -1;
      return TRUE;
    }
  v = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0')
    return GTK_INPUT_ERROR;
  *new_value = (double) v;
  return TRUE;
}

static void
on_spin_value_changed (GtkSpinButton   *spin,
                       QsHistogramView *self)
{
  qs_histogram_view_set_channel (self, gtk_spin_button_get_value_as_int (spin));
}

static void
sync_picker (QsHistogramView *self)
{
  gsize n = 1, inner, outer;

  if (get_result (self) != NULL)
    _qs_chart_input_geometry (get_result (self), &n, &inner, &outer);
  gtk_widget_set_visible (self->picker, n > 1);
  gtk_spin_button_set_range (GTK_SPIN_BUTTON (self->spin), -1, MAX (0, (double) n - 1));
  g_signal_handlers_block_by_func (self->spin, on_spin_value_changed, self);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->spin), self->channel);
  g_signal_handlers_unblock_by_func (self->spin, on_spin_value_changed, self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

static void
qs_histogram_view_result_changed (QsChartView   *view,
                                  QsQuantResult *old_result)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (view);

  sync_picker (self);
  invalidate (self);
  update_description (self);
}

static void
qs_histogram_view_dispose (GObject *object)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  cancel_build (self);
  g_clear_pointer (&self->picker, gtk_widget_unparent);
  G_OBJECT_CLASS (qs_histogram_view_parent_class)->dispose (object);
}

static void
qs_histogram_view_finalize (GObject *object)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  g_clear_pointer (&self->hist, _qs_chart_histogram_free);
  G_OBJECT_CLASS (qs_histogram_view_parent_class)->finalize (object);
}

static void
qs_histogram_view_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  switch (prop_id)
    {
    case PROP_LOG_SCALE:
      g_value_set_boolean (value, self->log_scale);
      break;
    case PROP_CHANNEL:
      g_value_set_int (value, self->channel);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_histogram_view_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  switch (prop_id)
    {
    case PROP_LOG_SCALE:
      qs_histogram_view_set_log_scale (self, g_value_get_boolean (value));
      break;
    case PROP_CHANNEL:
      qs_histogram_view_set_channel (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_histogram_view_class_init (QsHistogramViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);

  object_class->dispose = qs_histogram_view_dispose;
  object_class->finalize = qs_histogram_view_finalize;
  object_class->get_property = qs_histogram_view_get_property;
  object_class->set_property = qs_histogram_view_set_property;

  widget_class->snapshot = qs_histogram_view_snapshot;
  widget_class->measure = qs_histogram_view_measure;
  widget_class->size_allocate = qs_histogram_view_size_allocate;

  chart_class->result_changed = qs_histogram_view_result_changed;
  chart_class->item_at = qs_histogram_view_item_at;
  chart_class->describe_item = qs_histogram_view_describe_item;

  properties[PROP_LOG_SCALE] =
    g_param_spec_boolean ("log-scale", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CHANNEL] =
    g_param_spec_int ("channel", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_property_action (widget_class, "chart.log-scale", "log-scale");
  gtk_widget_class_set_css_name (widget_class, "qs-histogram-view");
}

static void
qs_histogram_view_init (QsHistogramView *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) section = g_menu_new ();
  GtkWidget *label;

  self->channel = -1;

  self->picker = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_margin_start (self->picker, 6);
  gtk_widget_set_margin_end (self->picker, 6);
  gtk_widget_set_margin_top (self->picker, 4);
  gtk_widget_set_margin_bottom (self->picker, 2);
  label = gtk_label_new_with_mnemonic (_("C_hannel"));
  gtk_box_append (GTK_BOX (self->picker), label);
  self->spin = gtk_spin_button_new_with_range (-1, 0, 1);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (self->spin), FALSE);
  gtk_editable_set_width_chars (GTK_EDITABLE (self->spin), 5);
  gtk_widget_set_tooltip_text (self->spin, _("Show one output channel, or All"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), self->spin);
  g_signal_connect (self->spin, "output", G_CALLBACK (on_spin_output), NULL);
  g_signal_connect (self->spin, "input", G_CALLBACK (on_spin_input), NULL);
  g_signal_connect (self->spin, "value-changed", G_CALLBACK (on_spin_value_changed), self);
  gtk_box_append (GTK_BOX (self->picker), self->spin);
  gtk_widget_set_parent (self->picker, GTK_WIDGET (self));
  gtk_widget_set_visible (self->picker, FALSE);

  g_menu_append (section, _("_Logarithmic Counts"), "chart.log-scale");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));
  _qs_chart_view_set_menu (QS_CHART_VIEW (self), menu);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Value histogram"), -1);
}

GtkWidget *
qs_histogram_view_new (void)
{
  return g_object_new (QS_TYPE_HISTOGRAM_VIEW, NULL);
}

void
qs_histogram_view_set_result (QsHistogramView *self,
                              QsQuantResult   *result)
{
  g_return_if_fail (QS_IS_HISTOGRAM_VIEW (self));

  qs_chart_view_set_result (QS_CHART_VIEW (self), result);
}

QsQuantResult *
qs_histogram_view_get_result (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), NULL);
  return get_result (self);
}

void
qs_histogram_view_set_log_scale (QsHistogramView *self,
                                 gboolean         log_scale)
{
  g_return_if_fail (QS_IS_HISTOGRAM_VIEW (self));

  log_scale = !!log_scale;
  if (self->log_scale == log_scale)
    return;
  self->log_scale = log_scale;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_SCALE]);
}

gboolean
qs_histogram_view_get_log_scale (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), FALSE);
  return self->log_scale;
}

void
qs_histogram_view_set_channel (QsHistogramView *self,
                               gint             channel)
{
  g_return_if_fail (QS_IS_HISTOGRAM_VIEW (self));

  channel = MAX (channel, -1);
  if (self->channel == channel)
    return;
  self->channel = channel;
  sync_picker (self);
  invalidate (self);
  update_description (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHANNEL]);
}

gint
qs_histogram_view_get_channel (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), -1);
  return self->channel;
}

const char *
qs_histogram_view_get_description (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), NULL);
  return qs_chart_view_get_description (QS_CHART_VIEW (self));
}

gboolean
qs_histogram_view_export (QsHistogramView *self,
                          const char      *path,
                          double           scale,
                          GError         **error)
{
  QsChartOptions options;
  g_autofree char *title = NULL;

  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (get_result (self) == NULL)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Cannot export “%s”: the histogram has no data"), path);
      return FALSE;
    }
  qs_chart_options_init (&options);
  options.channel = self->channel;
  options.log_scale = self->log_scale;
  title = g_strdup_printf (_("Distribution of %s"), get_result (self)->input->name);
  return _qs_chart_view_export (QS_CHART_VIEW (self), "histogram", &options, title, path,
                                scale, error);
}

gboolean
qs_histogram_view_get_bin_range (QsHistogramView *self,
                                 gint             bin,
                                 double          *lo,
                                 double          *hi)
{
  double w;

  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), FALSE);

  if (self->hist == NULL || bin < 0 || (guint) bin >= self->hist->n_bins)
    return FALSE;
  w = (self->hist->hi - self->hist->lo) / self->hist->n_bins;
  *lo = self->hist->lo + bin * w;
  *hi = *lo + w;
  return TRUE;
}
