/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "quantscope-core.h"

G_BEGIN_DECLS

#define QS_TYPE_LESSON_PANEL (qs_lesson_panel_get_type ())

/* The Lessons side panel: the bundled lessons (and "Open Lesson File…"), then one lesson's
 * steps with Back and Next. Entering a step emits "step-entered" (lesson, step index); the
 * window sets the app to the step's state. */
G_DECLARE_FINAL_TYPE (QsLessonPanel, qs_lesson_panel, QS, LESSON_PANEL, AdwBin)

GtkWidget *qs_lesson_panel_new          (void);
/* Shows lesson at step index (emits "step-entered"). */
void       qs_lesson_panel_open         (QsLessonPanel *self,
                                         QsLesson      *lesson,
                                         guint          index);
void       qs_lesson_panel_show_list    (QsLessonPanel *self);
QsLesson  *qs_lesson_panel_get_lesson   (QsLessonPanel *self); /* nullable */
guint      qs_lesson_panel_get_step     (QsLessonPanel *self);
gboolean   qs_lesson_panel_next         (QsLessonPanel *self);
gboolean   qs_lesson_panel_back         (QsLessonPanel *self);

G_END_DECLS
