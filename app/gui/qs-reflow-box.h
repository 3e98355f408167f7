/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define QS_TYPE_REFLOW_BOX (qs_reflow_box_get_type ())

/* Two children side by side when the width holds the first one's natural width and the
 * second one's minimum, otherwise stacked: the first at its natural height above the second
 * (libadwaita 1.2 has no breakpoints). Put it in a scrolled window: stacked, it is as tall as
 * both children. A thin line separates the two in either arrangement. Children are added in
 * a .ui file with <child>, the first is the start child. */
G_DECLARE_FINAL_TYPE (QsReflowBox, qs_reflow_box, QS, REFLOW_BOX, GtkWidget)

GtkWidget *qs_reflow_box_new         (void);
/* The gap between the children (1 by default) and whether a line is drawn in it (the
 * default). */
void       qs_reflow_box_set_spacing (QsReflowBox *self,
                                      int          spacing,
                                      gboolean     separator);
/* Side by side, each child gets half the width (or the first its natural width when that
 * is more); by default the first gets its natural width and the second the rest. */
void       qs_reflow_box_set_homogeneous (QsReflowBox *self,
                                          gboolean     homogeneous);
/* TRUE when the last allocation stacked the children. */
gboolean   qs_reflow_box_get_stacked (QsReflowBox *self);

G_END_DECLS
