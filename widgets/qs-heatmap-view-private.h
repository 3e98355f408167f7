/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Folder-internal: what the heatmap's event controllers call, so tests can drive the
 * same code paths (GTK 4 has no public way to synthesise input events). */

#include "qs-chart-view-private.h"
#include "qs-heatmap-view.h"

G_BEGIN_DECLS

/* The matrix window shown and the plot rectangle (widget coordinates). */
void      _qs_heatmap_view_get_window     (QsHeatmapView   *self,
                                           QsChartWindow   *window);
void      _qs_heatmap_view_get_plot       (QsHeatmapView   *self,
                                           QsChartRect     *plot);
/* A scroll event at (x, y): with Ctrl it zooms around the pointer; without, it pans when
 * zoomed in. Returns FALSE when the event is not used (not zoomed in, or already at the
 * bound in that direction) so it propagates to the scrolled page. */
gboolean  _qs_heatmap_view_scroll         (QsHeatmapView   *self,
                                           double           x,
                                           double           y,
                                           double           dx,
                                           double           dy,
                                           GdkScrollUnit    unit,
                                           GdkModifierType  state);
/* Drag: pans the window the drag began with by the pointer's offset (dx, dy) in pixels. */
void      _qs_heatmap_view_drag_begin     (QsHeatmapView   *self);
void      _qs_heatmap_view_drag_update    (QsHeatmapView   *self,
                                           double           dx,
                                           double           dy);
/* Pinch: zooms the window the gesture began with by scale around (cx, cy). */
void      _qs_heatmap_view_pinch_begin    (QsHeatmapView   *self);
void      _qs_heatmap_view_pinch_update   (QsHeatmapView   *self,
                                           double           scale,
                                           double           cx,
                                           double           cy);
/* Pointer motion: sets the hovered cell. The text is the hover readout, NULL without one. */
void      _qs_heatmap_view_pointer_moved  (QsHeatmapView   *self,
                                           double           x,
                                           double           y);
char     *_qs_heatmap_view_hover_text     (QsHeatmapView   *self);
/* The texture cache. Windows over 1 Mi weights are mapped in a worker thread: pending is
 * TRUE while one runs; the texture is the one drawn (NULL without one; transfer none),
 * mapped from window; the counts are maps computed in snapshot, and worker results installed or
 * dropped as superseded. */
gboolean  _qs_heatmap_view_texture_pending    (QsHeatmapView   *self);
GdkTexture *_qs_heatmap_view_get_texture     (QsHeatmapView   *self,
                                               QsChartWindow   *window);
void      _qs_heatmap_view_get_map_counts     (QsHeatmapView   *self,
                                               guint           *n_sync,
                                               guint           *n_async_installed,
                                               guint           *n_async_dropped);

G_END_DECLS
