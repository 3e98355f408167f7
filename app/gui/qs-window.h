/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "qs-application.h"
#include "qs-document.h"

G_BEGIN_DECLS

#define QS_TYPE_WINDOW (qs_window_get_type ())

G_DECLARE_FINAL_TYPE (QsWindow, qs_window, QS, WINDOW, AdwApplicationWindow)

QsWindow   *qs_window_new          (QsApplication *application);
/* Opens a model (.h5, .hdf5, .keras) or a session (.json) in this window. */
void        qs_window_open_file    (QsWindow      *self,
                                    GFile         *file);
void        qs_window_open_sample  (QsWindow      *self);
/* TRUE while the window shows its start page (or an error) rather than a document. */
gboolean    qs_window_is_empty     (QsWindow      *self);
QsDocument *qs_window_get_document (QsWindow      *self); /* nullable */

G_END_DECLS
