/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "qs-channel-range-view.h"
#include "qs-gui-utils.h"
#include "qs-histogram-view.h"
#include "qs-line-chart-view.h"
#include "qs-playground-window.h"

#define CURVE_POINTS 96
#define HIST_BINS    160

struct _QsPlaygroundWindow
{
  AdwWindow      parent_instance;

  QsQuantResult *layer;          /* the real layer offered, or NULL */
  QsPlayground  *playground;
  GCancellable  *cancellable;
  guint          debounce_id;
  gboolean       busy;

  AdwComboRow   *dist_row;
  GtkSpinButton *values_spin;
  GtkSpinButton *channels_spin;
  GtkSpinButton *spread_spin;
  GtkSpinButton *seed_spin;
  GtkSpinButton *bits_spin;
  AdwComboRow   *mapping_row;
  AdwComboRow   *rounding_row;
  AdwComboRow   *range_row;
  GtkSwitch     *clip_switch;
  GtkScale      *clip_scale;
  GtkWidget     *clip_row;

  GtkWidget     *histogram;
  GtkWidget     *channels;
  GtkWidget     *curve;
  GtkLabel      *stats[2][5];    /* per tensor, per channel x mse, rounding, clipping, sqnr, clipped */
  GtkLabel      *optimum_label;
  GtkLabel      *status_label;
};

G_DEFINE_FINAL_TYPE (QsPlaygroundWindow, qs_playground_window, ADW_TYPE_WINDOW)

typedef struct
{
  QsTensor   *tensor;
  QsQuantSpec spec;
  double      clip;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_pointer (&job->tensor, qs_tensor_unref);
  g_free (job);
}

static void
compute_thread (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  QsPlayground *pg = qs_playground_new (job->tensor, &job->spec, job->clip, CURVE_POINTS, HIST_BINS,
                                        cancellable, &error);

  if (pg == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, pg, (GDestroyNotify) qs_playground_free);
}

static char *
fmt (double v)
{
  return g_strdup_printf ("%.4g", v);
}

static void
show_playground (QsPlaygroundWindow *self)
{
  const QsPlayground *pg = self->playground;
  const QsPlaygroundSide *sides[2] = { &pg->per_tensor, &pg->per_channel };
  QsChartLineData data;
  g_autofree char *opt = NULL;

  qs_chart_view_set_result (QS_CHART_VIEW (self->histogram), pg->per_tensor.result);
  qs_chart_view_set_result (QS_CHART_VIEW (self->channels), pg->per_channel.result != NULL
                                                             ? pg->per_channel.result : pg->per_tensor.result);
  for (guint s = 0; s < 2; s++)
    {
      g_autofree char *a = fmt (sides[s]->mse), *b = fmt (sides[s]->rounding_mse), *c = fmt (sides[s]->clipping_mse);
      g_autofree char *d = g_strdup_printf (_("%.1f dB"), sides[s]->sqnr_db);
      g_autofree char *e = g_strdup_printf ("%zu", sides[s]->n_clipped);

      gtk_label_set_text (self->stats[s][0], a);
      gtk_label_set_text (self->stats[s][1], b);
      gtk_label_set_text (self->stats[s][2], c);
      gtk_label_set_text (self->stats[s][3], d);
      gtk_label_set_text (self->stats[s][4], e);
    }

  qs_chart_line_data_init (&data);
  data.x_label = _("Clip threshold");
  data.y_label = _("Mean squared error");
  data.log_y = TRUE;
  data.n_series = 1;
  data.series[0].x = pg->threshold;
  data.series[0].y = pg->curve_mse;
  data.series[0].n = pg->n_points;
  data.series[0].label = _("MSE, per tensor (measured)");
  data.marker_x = pg->optimum;
  data.marker_y = pg->optimum_mse;
  data.marker_label = _("MSE method's choice");
  data.cursor_x = pg->used_threshold;
  data.cursor_label = _("Clip in use");
  qs_line_chart_view_set_data (QS_LINE_CHART_VIEW (self->curve), &data);

  opt = g_strdup_printf (_("The MSE range method clips at %.4g (MSE %.4g); the clip in use is %.4g (MSE %.4g)."),
                         pg->optimum, pg->optimum_mse, pg->used_threshold, pg->per_tensor.mse);
  gtk_label_set_text (self->optimum_label, opt);
  gtk_range_set_range (GTK_RANGE (self->clip_scale), pg->max_threshold / 100, pg->max_threshold);
}

static void
compute_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  QsPlayground *pg = g_task_propagate_pointer (G_TASK (result), &error);
  QsPlaygroundWindow *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = QS_PLAYGROUND_WINDOW (source);
  self->busy = FALSE;
  if (pg == NULL)
    {
      gtk_label_set_text (self->status_label, error->message);
      return;
    }
  gtk_label_set_text (self->status_label, "");
  g_clear_pointer (&self->playground, qs_playground_free);
  self->playground = pg;
  show_playground (self);
}

static gboolean
recompute (gpointer data)
{
  QsPlaygroundWindow *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  guint dist = adw_combo_row_get_selected (self->dist_row);
  Job *job = g_new0 (Job, 1);

  self->debounce_id = 0;
  if (self->layer != NULL && dist == QS_PLAYGROUND_N_DISTRIBUTIONS)
    job->tensor = qs_tensor_ref (self->layer->input);
  else
    job->tensor = qs_playground_make_tensor (MIN (dist, QS_PLAYGROUND_N_DISTRIBUTIONS - 1),
                                             (gsize) gtk_spin_button_get_value (self->values_spin),
                                             (guint) gtk_spin_button_get_value (self->channels_spin),
                                             gtk_spin_button_get_value (self->spread_spin),
                                             (guint64) gtk_spin_button_get_value (self->seed_spin), &error);
  if (job->tensor == NULL)
    {
      job_free (job);
      self->busy = FALSE;
      gtk_label_set_text (self->status_label, error->message);
      return G_SOURCE_REMOVE;
    }
  qs_quant_spec_init (&job->spec);
  job->spec.bits = (guint) gtk_spin_button_get_value (self->bits_spin);
  job->spec.mapping = adw_combo_row_get_selected (self->mapping_row);
  job->spec.narrow_range = FALSE;
  job->spec.rounding = adw_combo_row_get_selected (self->rounding_row);
  job->spec.range_method = adw_combo_row_get_selected (self->range_row);
  job->spec.range_param = 99.9;
  job->spec.seed = 1;
  job->clip = gtk_switch_get_active (self->clip_switch) ? gtk_range_get_value (GTK_RANGE (self->clip_scale)) : 0.0;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  task = g_task_new (self, self->cancellable, compute_done, NULL);
  g_task_set_source_tag (task, recompute);
  g_task_set_task_data (task, job, job_free);
  g_task_run_in_thread (task, compute_thread);
  return G_SOURCE_REMOVE;
}

static void
queue_recompute (QsPlaygroundWindow *self)
{
  self->busy = TRUE;
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  self->debounce_id = g_timeout_add (120, recompute, self);
}

const QsPlayground *
qs_playground_window_get_playground (QsPlaygroundWindow *self)
{
  g_return_val_if_fail (QS_IS_PLAYGROUND_WINDOW (self), NULL);
  return self->playground;
}

gboolean
qs_playground_window_get_busy (QsPlaygroundWindow *self)
{
  g_return_val_if_fail (QS_IS_PLAYGROUND_WINDOW (self), FALSE);
  return self->busy;
}

GtkSpinButton *
qs_playground_window_get_spin (QsPlaygroundWindow *self,
                               const char         *name)
{
  g_return_val_if_fail (QS_IS_PLAYGROUND_WINDOW (self), NULL);

  if (g_str_equal (name, "bits"))
    return self->bits_spin;
  if (g_str_equal (name, "values"))
    return self->values_spin;
  if (g_str_equal (name, "channels"))
    return self->channels_spin;
  if (g_str_equal (name, "seed"))
    return self->seed_spin;
  return NULL;
}

/* ------------------------------------------------------------------ building */

static GtkSpinButton *
add_spin (QsPlaygroundWindow *self,
          GtkWidget          *group,
          const char         *title,
          const char         *subtitle,
          double              lo,
          double              hi,
          double              step,
          double              value,
          guint               digits)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *spin = gtk_spin_button_new_with_range (lo, hi, step);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  g_signal_connect_swapped (spin, "value-changed", G_CALLBACK (queue_recompute), self);
  return GTK_SPIN_BUTTON (spin);
}

static AdwComboRow *
add_combo (QsPlaygroundWindow *self,
           GtkWidget          *group,
           const char         *title,
           const char * const *items,
           guint               selected)
{
  GtkWidget *row = adw_combo_row_new ();
  g_autoptr(GtkStringList) list = gtk_string_list_new (items);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (list));
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), selected);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  g_signal_connect_swapped (row, "notify::selected", G_CALLBACK (queue_recompute), self);
  return ADW_COMBO_ROW (row);
}

static GtkWidget *
stats_grid (QsPlaygroundWindow *self)
{
  const char *rows[] = { N_("Mean squared error"), N_("from rounding"), N_("from clipping"), N_("SQNR"), N_("Clipped values") };
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *h;

  gtk_grid_set_column_spacing (GTK_GRID (grid), 18);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  h = gtk_label_new (_("Per tensor"));
  gtk_widget_add_css_class (h, "heading");
  gtk_grid_attach (GTK_GRID (grid), h, 1, 0, 1, 1);
  h = gtk_label_new (_("Per channel"));
  gtk_widget_add_css_class (h, "heading");
  gtk_grid_attach (GTK_GRID (grid), h, 2, 0, 1, 1);
  for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      GtkWidget *l = gtk_label_new (_(rows[r]));

      gtk_label_set_xalign (GTK_LABEL (l), 0.0f);
      gtk_widget_add_css_class (l, "dim-label");
      gtk_grid_attach (GTK_GRID (grid), l, 0, (int) r + 1, 1, 1);
      for (guint s = 0; s < 2; s++)
        {
          GtkWidget *v = gtk_label_new ("…");

          gtk_label_set_xalign (GTK_LABEL (v), 1.0f);
          gtk_label_set_selectable (GTK_LABEL (v), TRUE);
          gtk_widget_add_css_class (v, "numeric");
          gtk_grid_attach (GTK_GRID (grid), v, (int) s + 1, (int) r + 1, 1, 1);
          self->stats[s][r] = GTK_LABEL (v);
        }
    }
  return grid;
}

static GtkWidget *
framed (GtkWidget *chart,
        int        height)
{
  gtk_widget_set_size_request (chart, 320, height);
  gtk_widget_set_hexpand (chart, TRUE);
  gtk_widget_set_vexpand (chart, TRUE);
  gtk_widget_add_css_class (chart, "chart-frame");
  return chart;
}

static void
on_clip_switch (QsPlaygroundWindow *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->clip_scale), gtk_switch_get_active (self->clip_switch));
  gtk_widget_set_sensitive (GTK_WIDGET (self->range_row), !gtk_switch_get_active (self->clip_switch));
  queue_recompute (self);
}

static void
presentation_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  if (gtk_widget_has_css_class (widget, "presentation"))
    {
      gtk_widget_remove_css_class (widget, "presentation");
      gtk_window_unfullscreen (GTK_WINDOW (widget));
    }
  else
    {
      gtk_widget_add_css_class (widget, "presentation");
      gtk_window_fullscreen (GTK_WINDOW (widget));
    }
}

static void
qs_playground_window_dispose (GObject *object)
{
  QsPlaygroundWindow *self = QS_PLAYGROUND_WINDOW (object);

  g_clear_handle_id (&self->debounce_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->playground, qs_playground_free);
  g_clear_pointer (&self->layer, qs_quant_result_unref);
  G_OBJECT_CLASS (qs_playground_window_parent_class)->dispose (object);
}

static void
qs_playground_window_class_init (QsPlaygroundWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_playground_window_dispose;
  gtk_widget_class_install_action (widget_class, "win.presentation", NULL, presentation_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.presentation", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close", NULL);
}

static void
build (QsPlaygroundWindow *self)
{
  const char *mappings[] = { qs_mapping_display_name (QS_MAPPING_SYMMETRIC), qs_mapping_display_name (QS_MAPPING_AFFINE), NULL };
  const char *roundings[] = { qs_rounding_display_name (QS_ROUNDING_NEAREST_EVEN), qs_rounding_display_name (QS_ROUNDING_NEAREST_AWAY),
                              qs_rounding_display_name (QS_ROUNDING_FLOOR), qs_rounding_display_name (QS_ROUNDING_STOCHASTIC), NULL };
  const char *ranges[] = { qs_range_display_name (QS_RANGE_MINMAX), qs_range_display_name (QS_RANGE_PERCENTILE),
                           qs_range_display_name (QS_RANGE_MSE), qs_range_display_name (QS_RANGE_KL), NULL };
  const char *dists[QS_PLAYGROUND_N_DISTRIBUTIONS + 2];
  g_autofree char *layer_label = NULL;
  GtkWidget *toolbar = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *paned = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *controls_scroll = gtk_scrolled_window_new ();
  GtkWidget *controls = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *data_group = adw_preferences_group_new ();
  GtkWidget *quant_group = adw_preferences_group_new ();
  GtkWidget *right_scroll = gtk_scrolled_window_new ();
  GtkWidget *right = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *charts = gtk_grid_new ();
  GtkWidget *pres = gtk_button_new_from_icon_name ("view-fullscreen-symbolic");
  GtkWidget *scale_box;
  guint nd = 0;

  for (guint d = 0; d < QS_PLAYGROUND_N_DISTRIBUTIONS; d++)
    dists[nd++] = qs_playground_distribution_label (d);
  if (self->layer != NULL)
    {
      /* Translators: a distribution of the playground: the weights of the open model's layer %s */
      layer_label = g_strdup_printf (_("The layer “%s”"), self->layer->input->name ? self->layer->input->name : "");
      dists[nd++] = layer_label;
    }
  dists[nd] = NULL;

  gtk_window_set_title (GTK_WINDOW (self), _("Quantization Playground"));
  gtk_window_set_default_size (GTK_WINDOW (self), 1200, 820);
  gtk_widget_set_tooltip_text (pres, _("Presentation Mode (F11)"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (pres), "win.presentation");
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), pres);
  gtk_box_append (GTK_BOX (toolbar), header);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (data_group), _("Weights"));
  self->dist_row = add_combo (self, data_group, _("Distribution"), dists, 0);
  self->values_spin = add_spin (self, data_group, _("Values"), NULL, 64, 262144, 256, 8192, 0);
  self->channels_spin = add_spin (self, data_group, _("Channels"), NULL, 1, 64, 1, 16, 0);
  self->spread_spin = add_spin (self, data_group, _("Channel spread"),
                                _("Widest channel's range over the narrowest's"), 1, 32, 0.5, 8, 1);
  self->seed_spin = add_spin (self, data_group, _("Seed"), NULL, 0, 1e6, 1, 1, 0);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (quant_group), _("Quantization"));
  self->bits_spin = add_spin (self, quant_group, _("Bits"), NULL, 2, 8, 1, 4, 0);
  self->mapping_row = add_combo (self, quant_group, _("Mapping"), mappings, 0);
  self->rounding_row = add_combo (self, quant_group, _("Rounding"), roundings, 0);
  self->range_row = add_combo (self, quant_group, _("Range"), ranges, 0);
  self->clip_row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->clip_row), _("Manual clip"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->clip_row), _("Clip at the threshold below instead of the range method"));
  self->clip_switch = GTK_SWITCH (gtk_switch_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->clip_switch), GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self->clip_row), GTK_WIDGET (self->clip_switch));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (self->clip_row), GTK_WIDGET (self->clip_switch));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (quant_group), self->clip_row);
  self->clip_scale = GTK_SCALE (gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0.001, 1.0, 0.001));
  gtk_scale_set_digits (self->clip_scale, 3);
  gtk_scale_set_draw_value (self->clip_scale, TRUE);
  gtk_range_set_value (GTK_RANGE (self->clip_scale), 0.2);
  gtk_widget_set_sensitive (GTK_WIDGET (self->clip_scale), FALSE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->clip_scale), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Clip threshold"), -1);
  g_signal_connect_swapped (self->clip_switch, "notify::active", G_CALLBACK (on_clip_switch), self);
  g_signal_connect_swapped (self->clip_scale, "value-changed", G_CALLBACK (queue_recompute), self);
  scale_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  {
    GtkWidget *caption = gtk_label_new (_("Clip threshold (manual clip)"));

    gtk_label_set_xalign (GTK_LABEL (caption), 0.0f);
    gtk_widget_add_css_class (caption, "dim-label");
    gtk_box_append (GTK_BOX (scale_box), caption);
  }
  gtk_box_append (GTK_BOX (scale_box), GTK_WIDGET (self->clip_scale));

  gtk_box_append (GTK_BOX (controls), data_group);
  gtk_box_append (GTK_BOX (controls), quant_group);
  gtk_box_append (GTK_BOX (controls), scale_box);
  gtk_widget_set_margin_start (controls, 18);
  gtk_widget_set_margin_end (controls, 18);
  gtk_widget_set_margin_top (controls, 18);
  gtk_widget_set_margin_bottom (controls, 18);
  gtk_widget_set_size_request (controls, 340, -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (controls_scroll), controls);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (controls_scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);

  self->histogram = framed (qs_histogram_view_new (), 240);
  self->channels = framed (qs_channel_range_view_new (), 240);
  self->curve = framed (qs_line_chart_view_new (), 240);
  qs_line_chart_view_set_title (QS_LINE_CHART_VIEW (self->curve), _("MSE vs clip"));
  gtk_grid_set_column_spacing (GTK_GRID (charts), 12);
  gtk_grid_set_row_spacing (GTK_GRID (charts), 12);
  gtk_grid_attach (GTK_GRID (charts), self->histogram, 0, 0, 2, 1);
  gtk_grid_attach (GTK_GRID (charts), self->curve, 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (charts), self->channels, 1, 1, 1, 1);

  self->optimum_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->optimum_label, TRUE);
  gtk_label_set_xalign (self->optimum_label, 0.0f);
  gtk_label_set_selectable (self->optimum_label, TRUE);
  self->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->status_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");

  gtk_box_append (GTK_BOX (right), charts);
  gtk_box_append (GTK_BOX (right), GTK_WIDGET (self->optimum_label));
  gtk_box_append (GTK_BOX (right), stats_grid (self));
  gtk_box_append (GTK_BOX (right), GTK_WIDGET (self->status_label));
  gtk_widget_set_margin_start (right, 12);
  gtk_widget_set_margin_end (right, 18);
  gtk_widget_set_margin_top (right, 18);
  gtk_widget_set_margin_bottom (right, 18);
  gtk_widget_set_hexpand (right, TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (right_scroll), right);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (right_scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_hexpand (right_scroll, TRUE);
  gtk_widget_set_vexpand (right_scroll, TRUE);

  gtk_box_append (GTK_BOX (paned), controls_scroll);
  gtk_box_append (GTK_BOX (paned), gtk_separator_new (GTK_ORIENTATION_VERTICAL));
  gtk_box_append (GTK_BOX (paned), right_scroll);
  gtk_box_append (GTK_BOX (toolbar), paned);
  adw_window_set_content (ADW_WINDOW (self), toolbar);
}

static void
qs_playground_window_init (QsPlaygroundWindow *self)
{
}

GtkWidget *
qs_playground_window_new (QsQuantResult *layer)
{
  QsPlaygroundWindow *self = g_object_new (QS_TYPE_PLAYGROUND_WINDOW, NULL);

  if (layer != NULL && layer->params != NULL && !layer->is_estimate)
    self->layer = qs_quant_result_ref (layer);
  build (self);
  self->busy = TRUE;
  recompute (self);
  return GTK_WIDGET (self);
}
