/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "quantscope-core.h"

G_BEGIN_DECLS

#define QS_TYPE_EXPORT_WINDOW (qs_export_window_get_type ())

/* The export dialog: a format chooser over qs_export_list_formats (every format in the
 * table appears), what the export will write (requantization mode, integer and float steps,
 * stored weight size, whether it calibrates), a file chooser and the export itself in a
 * worker with a spinner. Emits "exported" (path, summary) on success, shows errors in
 * itself. */
G_DECLARE_FINAL_TYPE (QsExportWindow, qs_export_window, QS, EXPORT_WINDOW, AdwWindow)

/* model and config are copied / referenced: later edits do not change an export under way. */
QsExportWindow *qs_export_window_new          (GtkWindow           *parent,
                                               QsModel             *model,
                                               QsConfig            *config);
const QsExportFormat *qs_export_window_get_format (QsExportWindow  *self);
gboolean        qs_export_window_set_format   (QsExportWindow      *self,
                                               const char          *id);
/* What the Export button does after its file chooser: exports to file in a worker. */
void            qs_export_window_export_async (QsExportWindow      *self,
                                               GFile               *file,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
/* The summary the format's writer wrote, or NULL with error. */
char           *qs_export_window_export_finish (QsExportWindow     *self,
                                                GAsyncResult       *result,
                                                GError            **error);

G_END_DECLS
