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

G_END_DECLS
