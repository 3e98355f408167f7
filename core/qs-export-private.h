/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-export.h"

G_BEGIN_DECLS

/* The format writers (one file each: qs-export-FORMAT.c), listed in qs-export.c's table. */

/* C99 for microcontrollers: PATH is a stem, DIR/NAME writes DIR/NAME.h, DIR/NAME.c and
 * DIR/NAME_main.c (qs-export-c.c). */
gboolean _qs_export_c (const QsExportContext *ctx,
                       const char            *path,
                       GString               *summary,
                       GError               **error);

/* What the C export computed for one model, for tests and the summary. */
typedef struct
{
  gsize  scratch_bytes;   /* the one static activation buffer */
  gsize  input_size;      /* int8 values per input */
  gsize  output_size;     /* int8 values per output */
  gint   input_value;     /* the lowering's values the C input and output codes hold */
  gint   output_value;
  float  input_scale;     /* int8 codes q stand for scale * (q - zero_point) */
  gint32 input_zero_point;
  gint32 input_qmin;      /* the input's code range (reduced bit widths are narrower) */
  gint32 input_qmax;
  float  output_scale;
  gint32 output_zero_point;
  gsize  source_bytes;    /* the three files together */
} QsExportCInfo;

/* As _qs_export_c (), and fills info (nullable). */
gboolean _qs_export_c_full (const QsExportContext *ctx,
                            const char            *path,
                            GString               *summary,
                            QsExportCInfo         *info,
                            GError               **error);
/* The format writers, one file each (core/qs-export-FORMAT.c), listed in the table in
 * qs-export.c. Colleagues: add one line for yours. */
gboolean _qs_export_write_config     (const QsExportContext *ctx,
                                      const char            *path,
                                      GString               *summary,
                                      GError               **error);
gboolean _qs_export_write_aimet      (const QsExportContext *ctx,
                                      const char            *path,
                                      GString               *summary,
                                      GError               **error);
gboolean _qs_export_write_aimet_061  (const QsExportContext *ctx,
                                      const char            *path,
                                      GString               *summary,
                                      GError               **error);
gboolean _qs_export_write_h5_fake    (const QsExportContext *ctx,
                                      const char            *path,
                                      GString               *summary,
                                      GError               **error);

/* Shared by the writers. */

/* The parameters of an integer value with a range of its own (params_from == -1) from
 * ctx->ranges; FALSE with QS_EXPORT_ERROR_UNSUPPORTED naming the value when it has none. */
gboolean _qs_export_value_params     (const QsExportContext *ctx,
                                      const QsLoweredValue  *value,
                                      float                 *lo,
                                      float                 *hi,
                                      QsLoweredParams       *out,
                                      GError               **error);
/* The bits of the code grid a value's parameters span: qmax - qmin + 1 rounded up to a
 * power of two (a narrow grid of 255 codes is an 8-bit grid). */
guint    _qs_export_grid_bits        (const QsLoweredParams *params);
/* The model's layer a step computes ("" when none). */
const char *_qs_export_step_layer    (const QsExportContext *ctx,
                                      const QsLoweredStep   *step);
/* Parses a JSON file whose top is an object, with the size and depth limits of configs;
 * errors in QS_EXPORT_ERROR_INVALID naming the file. */
JsonParser *_qs_export_load_json     (const char            *path,
                                      GError               **error);
/* Writes a JSON node (pretty) to path atomically. */
gboolean _qs_export_write_json       (JsonNode              *root,
                                      const char            *path,
                                      gsize                 *written,
                                      GError               **error);
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
