/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-config.h"
#include "qs-lowering.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* Exports for deployment. Every format walks the lowering (so it writes what the integer
 * engine computes), writes atomically (temporary file + rename), refuses to write over the
 * loaded model or a non-regular file, and appends what it wrote to a summary.
 *
 * One file per format: core/qs-export-FORMAT.c implements a QsExportWriteFunc and adds a
 * row to the table in qs-export.c. */

#define QS_EXPORT_ERROR (qs_export_error_quark ())

typedef enum
{
  QS_EXPORT_ERROR_UNKNOWN_FORMAT,
  QS_EXPORT_ERROR_UNSUPPORTED,   /* the model or config uses something the format cannot express;
                                    the message names the layer */
  QS_EXPORT_ERROR_TARGET,        /* the output path is the model, a directory, a device... */
  QS_EXPORT_ERROR_WRITE,
  QS_EXPORT_ERROR_INVALID,       /* imports: the file does not fit the model */
} QsExportError;

/* What an export reads. model, config and lowering (qs_lowering_new (model, config)) are
 * required; ranges (the activation ranges from calibration or the config's fixed ones) when
 * the format's needs_ranges is TRUE. */
typedef struct
{
  QsModel      *model;
  QsConfig     *config;
  QsLowering   *lowering;
  QsRangeTable *ranges;       /* nullable unless needs_ranges */
  const char   *model_path;   /* the loaded model's file, nullable */
} QsExportContext;

/* Writes ctx to path; appends human-readable lines (translated) about what it wrote to
 * summary: sizes, tensor counts, the requantization mode, what a user must know. */
typedef gboolean (*QsExportWriteFunc) (const QsExportContext *ctx,
                                       const char            *path,
                                       GString               *summary,
                                       GError               **error);

typedef struct
{
  const char        *id;           /* "tflite", "onnx", "c", "aimet", "config", ... (CLI --format) */
  const char        *label;        /* translatable (N_), for the export dialog */
  const char        *description;  /* translatable (N_), one line: who consumes it */
  const char        *extension;    /* default file name suffix incl. the dot, "" for a folder */
  gboolean           needs_ranges; /* needs ctx->ranges (full integer formats) */
  QsRequantMode      requant_mode; /* the mode the consumer computes in (the test demands
                                      bit-exact agreement in it) */
  QsExportWriteFunc  write;
} QsExportFormat;

GQuark                qs_export_error_quark  (void);
/* The formats in menu order; n_formats (nullable) receives the count. */
const QsExportFormat *qs_export_list_formats (guint                 *n_formats);
const QsExportFormat *qs_export_find_format  (const char            *id);

/* Checks the target (not the model, not a directory or device), then runs the format. */
gboolean              qs_export_run          (const QsExportFormat  *format,
                                              const QsExportContext *ctx,
                                              const char            *path,
                                              GString               *summary,
                                              GError               **error);

/* For format writers: data to path atomically (temporary file in the same folder, fsync,
 * rename), errors in QS_EXPORT_ERROR naming the path. */
gboolean              qs_export_write_file   (const char            *path,
                                              const void            *data,
                                              gsize                  length,
                                              GError               **error);

G_END_DECLS
