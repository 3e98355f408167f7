/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define QS_TYPE_START_PAGE (qs_start_page_get_type ())

/* The first thing a window shows: Open Model…, Try the Sample, the offer to restore unsaved
 * work, and the recent files. Buttons activate win.open, win.open-sample,
 * win.restore-autosave, win.discard-autosave and win.open-recent('path'). */
G_DECLARE_FINAL_TYPE (QsStartPage, qs_start_page, QS, START_PAGE, AdwBin)

GtkWidget *qs_start_page_new          (void);
void       qs_start_page_set_recent   (QsStartPage        *self,
                                       const char * const *paths);
/* title NULL hides the offer. */
void       qs_start_page_set_autosave (QsStartPage        *self,
                                       const char         *title,
                                       const char         *subtitle);

G_END_DECLS
