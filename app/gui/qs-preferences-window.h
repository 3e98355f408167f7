/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define QS_TYPE_PREFERENCES_WINDOW (qs_preferences_window_get_type ())

/* Style (follow system, light, dark) and the quick-accuracy subset size, bound to GSettings. */
G_DECLARE_FINAL_TYPE (QsPreferencesWindow, qs_preferences_window, QS, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *qs_preferences_window_new (GSettings *settings);

G_END_DECLS
