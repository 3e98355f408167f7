/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-export.h"

G_BEGIN_DECLS

/* Format writers (one per qs-export-FORMAT.c), the rows of the table in qs-export.c. */

/* ONNX (QDQ, opset 13): qs-export-onnx.c */
gboolean qs_export_onnx        (const QsExportContext *ctx,
                                const char            *path,
                                GString               *summary,
                                GError               **error);
/* For tests: also makes the named lowering values graph outputs (integer values as their
 * uint8 codes, Keras order, [N, h * w * c]), so a runtime's codes can be compared with the
 * engine's. taps is NULL-terminated, nullable. */
gboolean _qs_export_onnx_write (const QsExportContext *ctx,
                                const char            *path,
                                const char * const    *taps,
                                GString               *summary,
                                GError               **error);

G_END_DECLS
