/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-enums.h"
#include "qs-chart-view-private.h"
#include "qs-heatmap-view-private.h"

#define ZOOM_STEP 1.25
#define MIN_CELLS 4
/* Windows reading more weights than this are mapped in a worker thread. Map and render
 * cost about 4-5 ns a weight (35-45 ms for 4096 x 4096 on a laptop core), so 1 Mi weights
 * is ~5 ms, a third of a 60 Hz frame; every matrix up to 1024 x 1024 stays synchronous
 * (drawn in the same frame, exactly as before). */
#define ASYNC_MIN_CELLS ((gsize) 1 << 20)

struct _QsHeatmapView
{
  QsChartView     parent_instance;

  QsMapValue      mode;

  QsChartHeatmap *heatmap;     /* colour scale and LUT for result + mode */
  QsChartWindow   window;      /* the matrix window shown */

  /* cache: the map and its texture for (window, pixel size) */
  QsErrorMap     *map;
  GdkTexture     *texture;
  QsChartWindow   cached_window;
  guint           cached_width;
  guint           cached_height;

  /* the texture wanted by the last snapshot, and the one worker computing a texture (at
   * most one runs; a newer request bumps generation, so the older result is dropped) */
  QsChartWindow   want_window;
  guint           want_width;
  guint           want_height;
  gboolean        job_busy;
  QsChartWindow   job_window;
  guint           job_width;
  guint           job_height;
  GCancellable   *job_cancellable;
  guint           generation;
  guint           n_sync_maps;
  guint           n_async_installed;
  guint           n_async_dropped;

  gboolean        hover;
  gsize           hover_row;
  gsize           hover_col;
  double          pointer_x;
  double          pointer_y;

  QsChartWindow   gesture_window;
  double          pan_rest_cols;  /* fractions of a cell not yet panned (touchpad scroll) */
  double          pan_rest_rows;
};

G_DEFINE_FINAL_TYPE (QsHeatmapView, qs_heatmap_view, QS_TYPE_CHART_VIEW)

enum {
  PROP_0,
  PROP_MODE,
  N_PROPS
};

static guint weight_activated_signal;
static GParamSpec *properties[N_PROPS];

/* Supersedes the running worker (if any): its result will be dropped. */
static void
cancel_job (QsHeatmapView *self)
{
  self->generation++;
  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
}

static void
drop_cache (QsHeatmapView *self)
{
  cancel_job (self);
  self->want_width = self->want_height = 0;   /* the next snapshot asks again */
  g_clear_pointer (&self->map, qs_error_map_unref);
  g_clear_object (&self->texture);
}

static void update_actions (QsHeatmapView *self);

static void
update_description (QsHeatmapView *self)
{
  char *text;

  if (self->heatmap != NULL && self->heatmap->available)
    {
      g_autofree char *what = _qs_chart_heatmap_describe (self->heatmap);

      /* the interactions, for screen readers and the keyboard tooltip */
      text = g_strdup_printf ("%s %s", what,
                              _("Hover a cell for its value, code and error. Ctrl+scroll, pinch or "
                                "the + and − keys zoom; 0 shows all. When zoomed in, drag, "
                                "scroll or the arrow keys pan. The context menu exports the image."));
    }
  else if (self->heatmap != NULL)
    text = _qs_chart_heatmap_describe (self->heatmap);
  else
    text = g_strdup (_("No data"));

  _qs_chart_view_set_description (QS_CHART_VIEW (self), text);
}

static void
rebuild_heatmap (QsHeatmapView *self)
{
  QsQuantResult *result = qs_chart_view_get_result (QS_CHART_VIEW (self));

  g_clear_pointer (&self->heatmap, _qs_chart_heatmap_free);
  drop_cache (self);
  if (result != NULL)
    self->heatmap = _qs_chart_heatmap_new (result, self->mode);
  self->hover = FALSE;
  update_description (self);
  update_actions (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
get_plot (QsHeatmapView *self,
          QsChartRect   *plot)
{
  QsChartStyle style;

  _qs_chart_view_get_style (GTK_WIDGET (self), &style);
  _qs_chart_heatmap_layout (self->heatmap, gtk_widget_get_width (GTK_WIDGET (self)),
                            gtk_widget_get_height (GTK_WIDGET (self)), NULL, &style, plot);
}

static gboolean
same_window (const QsChartWindow *a,
             const QsChartWindow *b)
{
  return a->row0 == b->row0 && a->col0 == b->col0 && a->rows == b->rows && a->cols == b->cols;
}

static void
install_texture (QsHeatmapView       *self,
                 QsErrorMap          *map,
                 GBytes              *bytes,
                 const QsChartWindow *window,
                 guint                width,
                 guint                height)
{
  g_clear_pointer (&self->map, qs_error_map_unref);
  g_clear_object (&self->texture);
  self->map = map;
  self->texture = gdk_memory_texture_new (width, height, GDK_MEMORY_DEFAULT, bytes,
                                          (gsize) width * 4);
  self->cached_window = *window;
  self->cached_width = width;
  self->cached_height = height;
}

/* What a worker computes with: its own copy of the heatmap (holding the result, which is
 * immutable), so the view may rebuild or free its own meanwhile. */
typedef struct
{
  QsChartHeatmap *heatmap;
  QsChartWindow   window;
  guint           width;
  guint           height;
  guint           generation;
  QsErrorMap     *map;       /* out */
  GBytes         *bytes;     /* out: width x height ARGB32 */
} TextureJob;

static void
texture_job_free (gpointer data)
{
  TextureJob *job = data;

  g_clear_pointer (&job->heatmap, _qs_chart_heatmap_free);
  g_clear_pointer (&job->map, qs_error_map_unref);
  g_clear_pointer (&job->bytes, g_bytes_unref);
  g_free (job);
}

static void
texture_job_run (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  TextureJob *job = task_data;
  guint32 *pixels;

  if (g_task_return_error_if_cancelled (task))
    return;
  job->map = _qs_chart_heatmap_compute_map (job->heatmap, &job->window, job->width, job->height);
  if (g_task_return_error_if_cancelled (task))
    return;
  pixels = g_malloc ((gsize) job->width * job->height * 4);
  _qs_chart_heatmap_render (job->heatmap, job->map, pixels, (gsize) job->width * 4,
                            job->width, job->height);
  job->bytes = g_bytes_new_take (pixels, (gsize) job->width * job->height * 4);
  g_task_return_boolean (task, TRUE);
}

static void start_job (QsHeatmapView *self);

static gboolean
texture_is (QsHeatmapView       *self,
            const QsChartWindow *window,
            guint                width,
            guint                height)
{
  return self->texture != NULL && self->cached_width == width && self->cached_height == height &&
         same_window (&self->cached_window, window);
}

/* Main thread: installs the worker's texture unless a newer request superseded it; then
 * starts the newest request if it is still missing. */
static void
texture_job_done (GObject      *source,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (source);
  TextureJob *job = g_task_get_task_data (G_TASK (res));
  gboolean ok = g_task_propagate_boolean (G_TASK (res), NULL);

  self->job_busy = FALSE;
  g_clear_object (&self->job_cancellable);
  if (ok && job->generation == self->generation)
    {
      install_texture (self, g_steal_pointer (&job->map), job->bytes, &job->window,
                       job->width, job->height);
      self->n_async_installed++;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  self->n_async_dropped++;
  if (self->heatmap != NULL && self->heatmap->available && self->want_width > 0 &&
      gtk_widget_get_mapped (GTK_WIDGET (self)) &&
      !texture_is (self, &self->want_window, self->want_width, self->want_height))
    start_job (self);
}

static void
start_job (QsHeatmapView *self)
{
  g_autoptr(GTask) task = NULL;
  TextureJob *job = g_new0 (TextureJob, 1);

  job->heatmap = _qs_chart_heatmap_copy (self->heatmap);
  job->window = self->want_window;
  job->width = self->want_width;
  job->height = self->want_height;
  job->generation = ++self->generation;

  self->job_busy = TRUE;
  self->job_window = job->window;
  self->job_width = job->width;
  self->job_height = job->height;
  self->job_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->job_cancellable, texture_job_done, NULL);
  g_task_set_source_tag (task, start_job);
  g_task_set_task_data (task, job, texture_job_free);
  g_task_run_in_thread (task, texture_job_run);
}

/* The texture has one pixel per device pixel of the plot: rebuilt only when the data,
 * the mode (colormap), the window or the pixel size (allocation x scale factor) change.
 * Small windows are mapped here; large ones in a worker, the old texture staying (drawn
 * scaled to the new window) until the new one is installed. */
static void
ensure_texture (QsHeatmapView     *self,
                const QsChartRect *plot)
{
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  guint pw = (guint) ceil (plot->width * scale), ph = (guint) ceil (plot->height * scale);
  g_autoptr(GBytes) bytes = NULL;
  QsErrorMap *map;
  guint32 *pixels;

  self->want_window = self->window;
  self->want_width = pw;
  self->want_height = ph;
  if (texture_is (self, &self->window, pw, ph))
    {
      if (self->job_busy)
        cancel_job (self);   /* back to the installed window: the job is stale */
      return;
    }
  if (_qs_chart_heatmap_map_cost (self->heatmap, &self->window, pw, ph) > ASYNC_MIN_CELLS)
    {
      if (!self->job_busy)
        start_job (self);
      else if (!same_window (&self->job_window, &self->window) || self->job_width != pw ||
               self->job_height != ph)
        cancel_job (self);   /* texture_job_done starts the newest request */
      return;
    }
  cancel_job (self);
  map = _qs_chart_heatmap_compute_map (self->heatmap, &self->window, pw, ph);
  pixels = g_malloc ((gsize) pw * ph * 4);
  _qs_chart_heatmap_render (self->heatmap, map, pixels, (gsize) pw * 4, pw, ph);
  bytes = g_bytes_new_take (pixels, (gsize) pw * ph * 4);
  install_texture (self, map, bytes, &self->window, pw, ph);
  self->n_sync_maps++;
}

static void
qs_heatmap_view_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  QsChartStyle style;
  QsChartRect plot;
  cairo_t *cr;

  if (w < 1 || h < 1)
    return;
  _qs_chart_view_get_style (widget, &style);
  if (self->heatmap == NULL)
    {
      cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
      _qs_chart_draw_message (cr, w, h, _("No data"), &style);
      cairo_destroy (cr);
      return;
    }
  _qs_chart_heatmap_layout (self->heatmap, w, h, NULL, &style, &plot);
  if (self->heatmap->available && plot.width >= 8 && plot.height >= 8)
    ensure_texture (self, &plot);

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  _qs_chart_heatmap_draw (cr, w, h, self->heatmap, &self->window, NULL,
                          self->cached_width, self->cached_height, NULL, &style);
  cairo_destroy (cr);

  if (self->texture != NULL && self->heatmap->available && plot.width >= 8 && plot.height >= 8)
    {
      const QsChartWindow *tw = &self->cached_window, *win = &self->window;
      double sx = plot.width / win->cols, sy = plot.height / win->rows;

      /* while a worker maps a new window, the texture of the old one is drawn where its
       * cells fall in the new window (scaled and clipped to the plot) */
      if (same_window (tw, win))
        gtk_snapshot_append_texture (snapshot, self->texture,
                                     &GRAPHENE_RECT_INIT (plot.x, plot.y, plot.width, plot.height));
      else
        {
          gtk_snapshot_push_clip (snapshot,
                                  &GRAPHENE_RECT_INIT (plot.x, plot.y, plot.width, plot.height));
          gtk_snapshot_append_texture (snapshot, self->texture,
                                       &GRAPHENE_RECT_INIT (plot.x + ((double) tw->col0 - win->col0) * sx,
                                                            plot.y + ((double) tw->row0 - win->row0) * sy,
                                                            tw->cols * sx, tw->rows * sy));
          gtk_snapshot_pop (snapshot);
        }
      cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
      _qs_chart_heatmap_draw_overlay (cr, self->heatmap, &plot, &self->window, self->hover,
                                      self->hover_row, self->hover_col, &style);
      cairo_destroy (cr);
    }
}

static void
qs_heatmap_view_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 160;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 560 : 400;
}

static gboolean
is_zoomed (QsHeatmapView *self)
{
  return self->heatmap != NULL &&
         (self->window.rows < self->heatmap->rows || self->window.cols < self->heatmap->cols);
}

/* Zoom and pan actions are enabled only when they can do something, so their keys
 * (arrows above all) fall through to focus navigation when they cannot. */
static void
update_actions (QsHeatmapView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean available = self->heatmap != NULL && self->heatmap->available;
  gboolean can_zoom_in = available &&
                         (self->window.rows > MIN ((gsize) MIN_CELLS, self->heatmap->rows) ||
                          self->window.cols > MIN ((gsize) MIN_CELLS, self->heatmap->cols));

  gtk_widget_action_set_enabled (widget, "chart.zoom-in", can_zoom_in);
  gtk_widget_action_set_enabled (widget, "chart.zoom-out", available && is_zoomed (self));
  gtk_widget_action_set_enabled (widget, "chart.reset-zoom", available && is_zoomed (self));
  gtk_widget_action_set_enabled (widget, "chart.pan", available && is_zoomed (self));
}

static void
set_window (QsHeatmapView       *self,
            const QsChartWindow *window)
{
  if (same_window (&self->window, window))
    return;
  self->window = *window;
  update_actions (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Zooms by factor (> 1 = in) keeping the matrix point under (fx, fy) (fractions of the
 * plot) in place. */
static void
zoom_window (const QsChartHeatmap *hm,
             const QsChartWindow  *from,
             double                factor,
             double                fx,
             double                fy,
             QsChartWindow        *to)
{
  double anchor_c = from->col0 + fx * from->cols, anchor_r = from->row0 + fy * from->rows;
  double cols = CLAMP (from->cols / factor, MIN ((double) MIN_CELLS, hm->cols), hm->cols);
  double rows = CLAMP (from->rows / factor, MIN ((double) MIN_CELLS, hm->rows), hm->rows);
  double c0, r0;

  to->cols = (gsize) round (cols);
  to->rows = (gsize) round (rows);
  c0 = anchor_c - fx * to->cols;
  r0 = anchor_r - fy * to->rows;
  to->col0 = (gsize) CLAMP (round (c0), 0.0, (double) (hm->cols - to->cols));
  to->row0 = (gsize) CLAMP (round (r0), 0.0, (double) (hm->rows - to->rows));
}

static void
pan_window (const QsChartHeatmap *hm,
            const QsChartWindow  *from,
            double                dcols,
            double                drows,
            QsChartWindow        *to)
{
  *to = *from;
  to->col0 = (gsize) CLAMP (round (from->col0 + dcols), 0.0, (double) (hm->cols - from->cols));
  to->row0 = (gsize) CLAMP (round (from->row0 + drows), 0.0, (double) (hm->rows - from->rows));
}

static void
zoom_at (QsHeatmapView *self,
         double         factor,
         double         x,
         double         y)
{
  QsChartRect plot;
  QsChartWindow to;
  double fx = 0.5, fy = 0.5;

  if (self->heatmap == NULL || !self->heatmap->available)
    return;
  get_plot (self, &plot);
  if (x >= plot.x && x < plot.x + plot.width && y >= plot.y && y < plot.y + plot.height)
    {
      fx = (x - plot.x) / plot.width;
      fy = (y - plot.y) / plot.height;
    }
  zoom_window (self->heatmap, &self->window, factor, fx, fy, &to);
  set_window (self, &to);
}

/* Pans by a fraction of a cell too: the remainder is kept for the next small step
 * (touchpads send many). Returns FALSE when already at the bound in that direction. */
static gboolean
pan_by_cells (QsHeatmapView *self,
              double         dcols,
              double         drows)
{
  const QsChartHeatmap *hm = self->heatmap;
  QsChartWindow to;
  gboolean can_move;
  double mc, mr;

  can_move = (dcols < 0 && self->window.col0 > 0) ||
             (dcols > 0 && self->window.col0 + self->window.cols < hm->cols) ||
             (drows < 0 && self->window.row0 > 0) ||
             (drows > 0 && self->window.row0 + self->window.rows < hm->rows);
  if (!can_move)
    {
      self->pan_rest_cols = self->pan_rest_rows = 0.0;
      return FALSE;
    }
  dcols += self->pan_rest_cols;
  drows += self->pan_rest_rows;
  mc = trunc (dcols);
  mr = trunc (drows);
  self->pan_rest_cols = dcols - mc;
  self->pan_rest_rows = drows - mr;
  pan_window (hm, &self->window, mc, mr, &to);
  set_window (self, &to);
  return TRUE;
}

void
_qs_heatmap_view_get_window (QsHeatmapView *self,
                             QsChartWindow *window)
{
  *window = self->window;
}

void
_qs_heatmap_view_get_plot (QsHeatmapView *self,
                           QsChartRect   *plot)
{
  g_assert (self->heatmap != NULL);
  get_plot (self, plot);
}

gboolean
_qs_heatmap_view_scroll (QsHeatmapView   *self,
                         double           x,
                         double           y,
                         double           dx,
                         double           dy,
                         GdkScrollUnit    unit,
                         GdkModifierType  state)
{
  QsChartRect plot;

  if (self->heatmap == NULL || !self->heatmap->available)
    return FALSE;

  if (state & GDK_CONTROL_MASK)
    {
      /* a wheel click is one step; touchpads send surface pixels */
      double steps = unit == GDK_SCROLL_UNIT_WHEEL ? dy : dy / 20.0;

      if (steps == 0.0)
        return FALSE;
      zoom_at (self, pow (ZOOM_STEP, -steps), x, y);
      return TRUE;
    }

  /* plain scroll belongs to the page unless the view is zoomed in */
  if (!is_zoomed (self))
    return FALSE;
  if ((state & GDK_SHIFT_MASK) && dx == 0.0)
    {
      dx = dy;
      dy = 0.0;
    }
  if (unit == GDK_SCROLL_UNIT_WHEEL)
    return pan_by_cells (self, dx * MAX (1.0, round (self->window.cols * 0.1)),
                         dy * MAX (1.0, round (self->window.rows * 0.1)));
  get_plot (self, &plot);
  return pan_by_cells (self, dx / plot.width * self->window.cols,
                       dy / plot.height * self->window.rows);
}

void
_qs_heatmap_view_drag_begin (QsHeatmapView *self)
{
  self->gesture_window = self->window;
}

void
_qs_heatmap_view_drag_update (QsHeatmapView *self,
                              double         dx,
                              double         dy)
{
  QsChartRect plot;
  QsChartWindow to;

  if (self->heatmap == NULL || !self->heatmap->available)
    return;
  get_plot (self, &plot);
  pan_window (self->heatmap, &self->gesture_window, -dx / plot.width * self->gesture_window.cols,
              -dy / plot.height * self->gesture_window.rows, &to);
  set_window (self, &to);
}

void
_qs_heatmap_view_pinch_begin (QsHeatmapView *self)
{
  self->gesture_window = self->window;
}

void
_qs_heatmap_view_pinch_update (QsHeatmapView *self,
                               double         scale,
                               double         cx,
                               double         cy)
{
  QsChartRect plot;
  QsChartWindow to;

  if (self->heatmap == NULL || !self->heatmap->available || scale <= 0.0)
    return;
  get_plot (self, &plot);
  zoom_window (self->heatmap, &self->gesture_window, scale,
               CLAMP ((cx - plot.x) / plot.width, 0.0, 1.0),
               CLAMP ((cy - plot.y) / plot.height, 0.0, 1.0), &to);
  set_window (self, &to);
}

void
_qs_heatmap_view_pointer_moved (QsHeatmapView *self,
                                double         x,
                                double         y)
{
  QsChartRect plot;
  gsize row = 0, col = 0;
  gboolean hover;

  self->pointer_x = x;
  self->pointer_y = y;
  if (self->heatmap == NULL)
    return;
  get_plot (self, &plot);
  hover = _qs_chart_heatmap_cell_at (self->heatmap, &plot, &self->window, x, y, &row, &col);
  if (hover != self->hover || (hover && (row != self->hover_row || col != self->hover_col)))
    {
      self->hover = hover;
      self->hover_row = row;
      self->hover_col = col;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

gboolean
_qs_heatmap_view_texture_pending (QsHeatmapView *self)
{
  return self->job_busy;
}

GdkTexture *
_qs_heatmap_view_get_texture (QsHeatmapView *self,
                              QsChartWindow *window)
{
  if (self->texture != NULL)
    *window = self->cached_window;
  return self->texture;
}

void
_qs_heatmap_view_get_map_counts (QsHeatmapView *self,
                                 guint         *n_sync,
                                 guint         *n_async_installed,
                                 guint         *n_async_dropped)
{
  *n_sync = self->n_sync_maps;
  *n_async_installed = self->n_async_installed;
  *n_async_dropped = self->n_async_dropped;
}

char *
_qs_heatmap_view_hover_text (QsHeatmapView *self)
{
  if (self->heatmap == NULL || !self->hover)
    return NULL;
  return _qs_chart_heatmap_describe_cell (self->heatmap, self->hover_row, self->hover_col);
}

static gboolean
on_scroll (GtkEventControllerScroll *scroll,
           double                    dx,
           double                    dy,
           QsHeatmapView            *self)
{
  GtkEventController *controller = GTK_EVENT_CONTROLLER (scroll);

  return _qs_heatmap_view_scroll (self, self->pointer_x, self->pointer_y, dx, dy,
                                  gtk_event_controller_scroll_get_unit (scroll),
                                  gtk_event_controller_get_current_event_state (controller));
}

static void
on_drag_begin (GtkGestureDrag *gesture,
               double          x,
               double          y,
               QsHeatmapView  *self)
{
  _qs_heatmap_view_drag_begin (self);
}

void
qs_heatmap_view_activate_cell (QsHeatmapView *self,
                               gsize          row,
                               gsize          col)
{
  QsQuantResult *r;
  gsize rows, cols;

  g_return_if_fail (QS_IS_HEATMAP_VIEW (self));

  r = qs_chart_view_get_result (QS_CHART_VIEW (self));
  if (r == NULL)
    return;
  qs_tensor_matrix_shape (r->input, &rows, &cols);
  if (row >= rows || col >= cols)
    return;
  g_signal_emit (self, weight_activated_signal, 0, (guint64) qs_tensor_matrix_index (r->input, row, col));
}

/* A drag that did not move is a click: the weight under it is activated. */
static void
on_drag_end (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             QsHeatmapView  *self)
{
  QsChartRect plot;
  double x, y;
  gsize row, col;

  if (fabs (dx) > 3.0 || fabs (dy) > 3.0 || self->heatmap == NULL)
    return;
  if (!gtk_gesture_drag_get_start_point (gesture, &x, &y))
    return;
  get_plot (self, &plot);
  if (_qs_chart_heatmap_cell_at (self->heatmap, &plot, &self->window, x, y, &row, &col))
    qs_heatmap_view_activate_cell (self, row, col);
}

static void
on_drag_update (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                QsHeatmapView  *self)
{
  _qs_heatmap_view_drag_update (self, dx, dy);
}

static void
on_zoom_begin (GtkGesture       *gesture,
               GdkEventSequence *sequence,
               QsHeatmapView    *self)
{
  _qs_heatmap_view_pinch_begin (self);
}

static void
on_zoom_scale_changed (GtkGestureZoom *gesture,
                       double          scale,
                       QsHeatmapView  *self)
{
  QsChartRect plot;
  double cx, cy;

  if (self->heatmap == NULL)
    return;
  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &cx, &cy))
    {
      get_plot (self, &plot);
      cx = plot.x + plot.width / 2;
      cy = plot.y + plot.height / 2;
    }
  _qs_heatmap_view_pinch_update (self, scale, cx, cy);
}

static void
on_motion (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           QsHeatmapView            *self)
{
  _qs_heatmap_view_pointer_moved (self, x, y);
}

static void
on_leave (GtkEventControllerMotion *motion,
          QsHeatmapView            *self)
{
  self->pointer_x = self->pointer_y = -1;
  if (self->hover)
    {
      self->hover = FALSE;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static gboolean
qs_heatmap_view_query_tooltip (GtkWidget  *widget,
                               int         x,
                               int         y,
                               gboolean    keyboard_mode,
                               GtkTooltip *tooltip)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (widget);
  g_autofree char *text = NULL;
  g_autofree char *markup = NULL;
  g_autofree char *escaped = NULL;
  QsChartRect plot;
  gsize row, col;

  if (self->heatmap == NULL)
    return FALSE;
  if (keyboard_mode)
    {
      gtk_tooltip_set_text (tooltip, qs_chart_view_get_description (QS_CHART_VIEW (self)));
      return TRUE;
    }
  get_plot (self, &plot);
  if (!_qs_chart_heatmap_cell_at (self->heatmap, &plot, &self->window, x, y, &row, &col))
    return FALSE;
  text = _qs_chart_heatmap_describe_cell (self->heatmap, row, col);
  escaped = g_markup_escape_text (text, -1);
  markup = g_strdup_printf ("%s\n<small>%s</small>", escaped, is_zoomed (self)
                            ? _("Ctrl+scroll or pinch to zoom, drag or scroll to pan")
                            : _("Ctrl+scroll or pinch to zoom"));
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

static void
zoom_in_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  zoom_at (QS_HEATMAP_VIEW (widget), ZOOM_STEP, -1, -1);
}

static void
zoom_out_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  zoom_at (QS_HEATMAP_VIEW (widget), 1.0 / ZOOM_STEP, -1, -1);
}

/* Parameter (ii): steps right and down, each a tenth of the window (at least a cell). */
static void
pan_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (widget);
  QsChartWindow to;
  gint32 sx, sy;

  if (self->heatmap == NULL || !self->heatmap->available)
    return;
  g_variant_get (parameter, "(ii)", &sx, &sy);
  pan_window (self->heatmap, &self->window, MAX (1.0, round (self->window.cols * 0.1)) * sx,
              MAX (1.0, round (self->window.rows * 0.1)) * sy, &to);
  set_window (self, &to);
}

static void
reset_zoom_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  qs_heatmap_view_reset_zoom (QS_HEATMAP_VIEW (widget));
}

static void
qs_heatmap_view_result_changed (QsChartView   *view,
                                QsQuantResult *old_result)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (view);
  QsQuantResult *result = qs_chart_view_get_result (view);
  QsQuantResult *shown = self->heatmap != NULL ? self->heatmap->result : old_result;
  gboolean same_shape;

  /* A big layer's first estimate covers a sample of its rows: the picture (and the zoom)
   * of the previous result stays until the exact result arrives. */
  if (result != NULL && result->is_estimate && self->heatmap != NULL)
    return;
  same_shape = shown != NULL && result != NULL && qs_tensor_same_shape (shown->input, result->input);
  rebuild_heatmap (self);
  /* a new quantization of the same tensor keeps the zoom; another tensor shows all */
  if (!same_shape && self->heatmap != NULL)
    _qs_chart_heatmap_full_window (self->heatmap, &self->window);
  update_actions (self);
}

static void
on_scale_factor_changed (QsHeatmapView *self)
{
  drop_cache (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
qs_heatmap_view_dispose (GObject *object)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (object);

  drop_cache (self);
  G_OBJECT_CLASS (qs_heatmap_view_parent_class)->dispose (object);
}

static void
qs_heatmap_view_finalize (GObject *object)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (object);

  g_clear_pointer (&self->heatmap, _qs_chart_heatmap_free);
  G_OBJECT_CLASS (qs_heatmap_view_parent_class)->finalize (object);
}

static void
qs_heatmap_view_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_heatmap_view_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  QsHeatmapView *self = QS_HEATMAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_MODE:
      qs_heatmap_view_set_mode (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_heatmap_view_class_init (QsHeatmapViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  QsChartViewClass *chart_class = QS_CHART_VIEW_CLASS (klass);
  const guint zoom_in_keys[] = { GDK_KEY_plus, GDK_KEY_equal, GDK_KEY_KP_Add };
  const guint zoom_out_keys[] = { GDK_KEY_minus, GDK_KEY_KP_Subtract };

  object_class->dispose = qs_heatmap_view_dispose;
  object_class->finalize = qs_heatmap_view_finalize;
  object_class->get_property = qs_heatmap_view_get_property;
  object_class->set_property = qs_heatmap_view_set_property;

  widget_class->snapshot = qs_heatmap_view_snapshot;
  widget_class->measure = qs_heatmap_view_measure;
  widget_class->query_tooltip = qs_heatmap_view_query_tooltip;

  chart_class->result_changed = qs_heatmap_view_result_changed;

  /* A weight was clicked (or qs_heatmap_view_activate_cell ()): its flat index into the
   * result's input. The app explains it. */
  weight_activated_signal =
    g_signal_new ("weight-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);

  properties[PROP_MODE] =
    g_param_spec_enum ("mode", NULL, NULL, QS_TYPE_MAP_VALUE, QS_MAP_VALUE_ERROR,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_property_action (widget_class, "chart.mode", "mode");
  gtk_widget_class_install_action (widget_class, "chart.zoom-in", NULL, zoom_in_action);
  gtk_widget_class_install_action (widget_class, "chart.zoom-out", NULL, zoom_out_action);
  gtk_widget_class_install_action (widget_class, "chart.reset-zoom", NULL, reset_zoom_action);
  gtk_widget_class_install_action (widget_class, "chart.pan", "(ii)", pan_action);

  for (guint i = 0; i < G_N_ELEMENTS (zoom_in_keys); i++)
    gtk_widget_class_add_binding_action (widget_class, zoom_in_keys[i], 0, "chart.zoom-in", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (zoom_out_keys); i++)
    gtk_widget_class_add_binding_action (widget_class, zoom_out_keys[i], 0, "chart.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "chart.reset-zoom", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, 0, "chart.reset-zoom", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "chart.pan", "(ii)", -1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "chart.pan", "(ii)", 1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, 0, "chart.pan", "(ii)", 0, -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, 0, "chart.pan", "(ii)", 0, 1);

  gtk_widget_class_set_css_name (widget_class, "qs-heatmap-view");
}

static void
append_with_accel (GMenu      *menu,
                   const char *label,
                   const char *action,
                   const char *accel)
{
  g_autoptr(GMenuItem) item = g_menu_item_new (label, action);

  g_menu_item_set_attribute (item, "accel", "s", accel);
  g_menu_append_item (menu, item);
}

static void
qs_heatmap_view_init (QsHeatmapView *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) modes = g_menu_new ();
  g_autoptr(GMenu) zoom = g_menu_new ();
  GtkEventController *controller;
  GtkGesture *gesture;

  self->mode = QS_MAP_VALUE_ERROR;
  self->pointer_x = self->pointer_y = -1;

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  /* Ctrl+scroll zooms; plain scroll pans only when zoomed in, else the page scrolls */
  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (on_zoom_begin), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (on_zoom_scale_changed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  g_signal_connect (self, "notify::scale-factor", G_CALLBACK (on_scale_factor_changed), NULL);

  g_menu_append (modes, _("Signed _Error"), "chart.mode::error");
  g_menu_append (modes, _("_Absolute Error"), "chart.mode::abs-error");
  g_menu_append (modes, _("_Relative Error"), "chart.mode::rel-error");
  g_menu_append (modes, _("_Weights"), "chart.mode::weight");
  g_menu_append (modes, _("_Codes"), "chart.mode::code");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (modes));
  /* the "accel" attribute shows the widget's own keys beside the items */
  append_with_accel (zoom, _("Zoom _In"), "chart.zoom-in", "plus");
  append_with_accel (zoom, _("Zoom _Out"), "chart.zoom-out", "minus");
  append_with_accel (zoom, _("Show _All"), "chart.reset-zoom", "0");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (zoom));
  _qs_chart_view_set_menu (QS_CHART_VIEW (self), menu);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Quantization error heatmap"), -1);
  update_actions (self);
}

GtkWidget *
qs_heatmap_view_new (void)
{
  return g_object_new (QS_TYPE_HEATMAP_VIEW, NULL);
}

void
qs_heatmap_view_set_result (QsHeatmapView *self,
                            QsQuantResult *result)
{
  g_return_if_fail (QS_IS_HEATMAP_VIEW (self));

  qs_chart_view_set_result (QS_CHART_VIEW (self), result);
}

QsQuantResult *
qs_heatmap_view_get_result (QsHeatmapView *self)
{
  g_return_val_if_fail (QS_IS_HEATMAP_VIEW (self), NULL);
  return qs_chart_view_get_result (QS_CHART_VIEW (self));
}

void
qs_heatmap_view_set_mode (QsHeatmapView *self,
                          QsMapValue     mode)
{
  g_return_if_fail (QS_IS_HEATMAP_VIEW (self));
  g_return_if_fail (mode <= QS_MAP_VALUE_CODE);

  if (self->mode == mode)
    return;
  self->mode = mode;
  rebuild_heatmap (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODE]);
}

QsMapValue
qs_heatmap_view_get_mode (QsHeatmapView *self)
{
  g_return_val_if_fail (QS_IS_HEATMAP_VIEW (self), QS_MAP_VALUE_ERROR);
  return self->mode;
}

void
qs_heatmap_view_reset_zoom (QsHeatmapView *self)
{
  QsChartWindow full;

  g_return_if_fail (QS_IS_HEATMAP_VIEW (self));

  if (self->heatmap == NULL)
    return;
  _qs_chart_heatmap_full_window (self->heatmap, &full);
  set_window (self, &full);
}

void
qs_heatmap_view_set_window (QsHeatmapView *self,
                            gsize          row0,
                            gsize          col0,
                            gsize          rows,
                            gsize          cols)
{
  QsChartWindow w;

  g_return_if_fail (QS_IS_HEATMAP_VIEW (self));

  if (self->heatmap == NULL || self->heatmap->rows == 0 || self->heatmap->cols == 0)
    return;
  w.rows = CLAMP (rows, 1, self->heatmap->rows);
  w.cols = CLAMP (cols, 1, self->heatmap->cols);
  w.row0 = MIN (row0, self->heatmap->rows - w.rows);
  w.col0 = MIN (col0, self->heatmap->cols - w.cols);
  set_window (self, &w);
}

const char *
qs_heatmap_view_get_description (QsHeatmapView *self)
{
  g_return_val_if_fail (QS_IS_HEATMAP_VIEW (self), NULL);
  return qs_chart_view_get_description (QS_CHART_VIEW (self));
}

gboolean
qs_heatmap_view_export (QsHeatmapView *self,
                        const char    *path,
                        double         scale,
                        GError       **error)
{
  QsQuantResult *result;
  QsChartOptions options;
  g_autofree char *title = NULL;

  g_return_val_if_fail (QS_IS_HEATMAP_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  result = qs_chart_view_get_result (QS_CHART_VIEW (self));
  if (result == NULL)
    {
      g_set_error (error, QS_CHART_ERROR, QS_CHART_ERROR_INVALID,
                   _("Cannot export “%s”: the heatmap has no data"), path);
      return FALSE;
    }
  qs_chart_options_init (&options);
  options.mode = self->mode;
  options.row0 = self->window.row0;   /* what the view shows, zoom included */
  options.col0 = self->window.col0;
  options.rows = self->window.rows;
  options.cols = self->window.cols;
  title = g_strdup_printf (_("Quantization error of %s"), result->input->name);
  return _qs_chart_view_export (QS_CHART_VIEW (self), "heatmap", &options, title, path,
                                scale, error);
}
