/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "qs-chart-view-private.h"
#include "qs-histogram-view.h"

struct _QsHistogramView
{
  GtkWidget         parent_instance;

  QsQuantResult    *result;
  gboolean          log_scale;
  gint              channel;
  char             *description;

  QsChartHistogram *hist;       /* normalised data for the current result, channel, bins */
  guint             hist_bins;
  gint              hover_bin;

  GtkWidget        *picker;     /* box: label + spin button, shown for multi-channel tensors */
  GtkWidget        *spin;
  GtkWidget        *menu;
};

G_DEFINE_FINAL_TYPE (QsHistogramView, qs_histogram_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RESULT,
  PROP_LOG_SCALE,
  PROP_CHANNEL,
  PROP_DESCRIPTION,
  N_PROPS
};

enum {
  EXPORT_REQUESTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

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

/* Rebuilds the normalised histogram if the data, channel or bin count changed. */
static void
ensure_hist (QsHistogramView *self,
             double           width)
{
  guint bins = bins_for_width (width);

  if (self->result == NULL)
    return;
  if (self->hist != NULL && self->hist_bins == bins)
    return;
  g_clear_pointer (&self->hist, _qs_chart_histogram_free);
  self->hist = _qs_chart_histogram_new (self->result, self->channel, bins);
  self->hist_bins = bins;
}

static void
invalidate (QsHistogramView *self)
{
  g_clear_pointer (&self->hist, _qs_chart_histogram_free);
  self->hover_bin = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The description comes from the same normalised data the next frame draws. */
static void
update_description (QsHistogramView *self)
{
  char *text;

  if (self->result == NULL)
    text = g_strdup (_("No data"));
  else
    {
      int width = gtk_widget_get_width (GTK_WIDGET (self));

      ensure_hist (self, width > 0 ? width : 480);
      text = _qs_chart_histogram_describe (self->hist);
    }
  _qs_chart_view_set_description (GTK_WIDGET (self), &self->description, text,
                                  properties[PROP_DESCRIPTION]);
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
  if (self->result == NULL)
    _qs_chart_draw_message (cr, w, h, _("No data"), &style);
  else
    {
      ensure_hist (self, w);
      _qs_chart_histogram_draw (cr, w, h, self->hist, self->log_scale, self->hover_bin, NULL, &style);
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
  _qs_chart_view_present_menu (widget);
}

static gint
bin_at (QsHistogramView *self,
        double           x,
        double           y)
{
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

static gboolean
qs_histogram_view_query_tooltip (GtkWidget  *widget,
                                 int         x,
                                 int         y,
                                 gboolean    keyboard_mode,
                                 GtkTooltip *tooltip)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (widget);
  g_autofree char *text = NULL;
  gint bin;

  if (keyboard_mode)
    {
      if (self->description == NULL)
        return FALSE;
      gtk_tooltip_set_text (tooltip, self->description);
      return TRUE;
    }
  bin = bin_at (self, x, y);
  if (bin < 0)
    return FALSE;
  text = _qs_chart_histogram_describe_bin (self->hist, bin);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
on_motion (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           QsHistogramView          *self)
{
  gint bin = bin_at (self, x, y);

  if (bin != self->hover_bin)
    {
      self->hover_bin = bin;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
on_leave (GtkEventControllerMotion *motion,
          QsHistogramView          *self)
{
  if (self->hover_bin != -1)
    {
      self->hover_bin = -1;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
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

  if (self->result != NULL)
    _qs_chart_input_geometry (self->result, &n, &inner, &outer);
  gtk_widget_set_visible (self->picker, n > 1);
  gtk_spin_button_set_range (GTK_SPIN_BUTTON (self->spin), -1, MAX (0, (double) n - 1));
  g_signal_handlers_block_by_func (self->spin, on_spin_value_changed, self);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->spin), self->channel);
  g_signal_handlers_unblock_by_func (self->spin, on_spin_value_changed, self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  g_signal_emit (widget, signals[EXPORT_REQUESTED], 0);
}

static void
qs_histogram_view_css_changed (GtkWidget         *widget,
                               GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (qs_histogram_view_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

static void
qs_histogram_view_dispose (GObject *object)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  g_clear_pointer (&self->picker, gtk_widget_unparent);
  g_clear_pointer (&self->menu, gtk_widget_unparent);
  G_OBJECT_CLASS (qs_histogram_view_parent_class)->dispose (object);
}

static void
qs_histogram_view_finalize (GObject *object)
{
  QsHistogramView *self = QS_HISTOGRAM_VIEW (object);

  g_clear_pointer (&self->result, qs_quant_result_unref);
  g_clear_pointer (&self->hist, _qs_chart_histogram_free);
  g_free (self->description);
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
    case PROP_RESULT:
      g_value_set_boxed (value, self->result);
      break;
    case PROP_LOG_SCALE:
      g_value_set_boolean (value, self->log_scale);
      break;
    case PROP_CHANNEL:
      g_value_set_int (value, self->channel);
      break;
    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
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
    case PROP_RESULT:
      qs_histogram_view_set_result (self, g_value_get_boxed (value));
      break;
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

  object_class->dispose = qs_histogram_view_dispose;
  object_class->finalize = qs_histogram_view_finalize;
  object_class->get_property = qs_histogram_view_get_property;
  object_class->set_property = qs_histogram_view_set_property;

  widget_class->snapshot = qs_histogram_view_snapshot;
  widget_class->measure = qs_histogram_view_measure;
  widget_class->size_allocate = qs_histogram_view_size_allocate;
  widget_class->query_tooltip = qs_histogram_view_query_tooltip;
  widget_class->css_changed = qs_histogram_view_css_changed;

  properties[PROP_RESULT] =
    g_param_spec_boxed ("result", NULL, NULL, QS_TYPE_QUANT_RESULT,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LOG_SCALE] =
    g_param_spec_boolean ("log-scale", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CHANNEL] =
    g_param_spec_int ("channel", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The user chose "Export Image…": the app asks for a file and calls _export (). */
  signals[EXPORT_REQUESTED] =
    g_signal_new ("export-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_property_action (widget_class, "chart.log-scale", "log-scale");
  gtk_widget_class_install_action (widget_class, "chart.export", NULL, export_action);
  _qs_chart_view_class_add_menu (widget_class);
  gtk_widget_class_set_css_name (widget_class, "qs-histogram-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
qs_histogram_view_init (QsHistogramView *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) section = g_menu_new ();
  GtkEventController *motion;
  GtkWidget *label;

  self->channel = -1;
  self->hover_bin = -1;
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

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

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  g_menu_append (section, _("_Logarithmic Counts"), "chart.log-scale");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (section));
  _qs_chart_view_append_export (menu);
  self->menu = _qs_chart_view_setup_menu (GTK_WIDGET (self), G_MENU_MODEL (menu));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Value histogram"), -1);
  update_description (self);
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

  if (self->result == result)
    return;
  g_clear_pointer (&self->result, qs_quant_result_unref);
  if (result != NULL)
    self->result = qs_quant_result_ref (result);
  sync_picker (self);
  invalidate (self);
  update_description (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
}

QsQuantResult *
qs_histogram_view_get_result (QsHistogramView *self)
{
  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), NULL);
  return self->result;
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
  return self->description;
}

gboolean
qs_histogram_view_export (QsHistogramView *self,
                          const char      *path,
                          double           scale,
                          GError         **error)
{
  QsChartOptions options;
  QsChartStyle style;
  g_autofree char *title = NULL;
  int width, height;

  g_return_val_if_fail (QS_IS_HISTOGRAM_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (self->result == NULL)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Cannot export “%s”: the histogram has no data"), path);
      return FALSE;
    }
  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  style.draw_background = TRUE;
  qs_chart_options_init (&options);
  options.channel = self->channel;
  options.log_scale = self->log_scale;
  options.style = &style;
  _qs_chart_view_export_size (GTK_WIDGET (self), &width, &height);
  title = g_strdup_printf (_("Distribution of %s"), self->result->input->name);
  return qs_chart_export_full ("histogram", self->result, &options, title, path,
                               width, height, scale, error);
}
