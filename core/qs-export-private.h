/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-export.h"

G_BEGIN_DECLS

/* The format writers the table in qs-export.c points at (one line per format). */

#ifdef QS_HAVE_TFLITE_EXPORT
gboolean qs_export_tflite       (const QsExportContext *ctx,
                                 const char            *path,
                                 GString               *summary,
                                 GError               **error);
/* The TFLite flatbuffer in memory. output_value (nullable) names a lowered value to end
 * the graph at instead of the model's output (an integer value gets a DEQUANTIZE to
 * float32): tests compare an exact point, such as the logits before a softmax. */
GBytes  *qs_export_tflite_build (const QsExportContext *ctx,
                                 const char            *output_value,
                                 GString               *summary,
                                 GError               **error);
#endif

G_END_DECLS
