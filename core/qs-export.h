/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-calib.h"
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
  /* Formats that evaluate the config (the report): the dataset spec (nullable: the config's
   * calibration source) and how many of its images (0: the format's default; negative: do
   * not evaluate). */
  const char   *eval_data;
  gint          eval_images;
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
  gboolean           keeps_requant_mode; /* describes the config as it is: callers do not
                                            switch it to requant_mode (the report) */
} QsExportFormat;

GQuark                qs_export_error_quark  (void);
/* The formats in menu order; n_formats (nullable) receives the count. Rows registered with
 * qs_export_register_format () follow the built-in ones. */
const QsExportFormat *qs_export_list_formats (guint                 *n_formats);
const QsExportFormat *qs_export_find_format  (const char            *id);

/* Adds a format whose writer lives outside core (the report, which draws with the charts
 * library: core must not depend on it). format is copied; registering an id again does
 * nothing. Call at startup, before formats are listed from other threads. Returns FALSE
 * when the id is taken or the table is full. */
gboolean              qs_export_register_format (const QsExportFormat *format);

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

/* The range table an export of lowering needs: the config's fixed ranges, the rest from a
 * calibration over the config's calibration source (n_images 0: the config's count),
 * through cache (nullable). Calibrates only when some integer value has no fixed range;
 * returns an empty table when the lowering needs none. May run on a worker thread. */
QsRangeTable         *qs_export_make_ranges  (QsLowering            *lowering,
                                              QsCalibrationCache    *cache,
                                              guint                  n_images,
                                              QsProgressFunc         progress,
                                              gpointer               progress_data,
                                              GCancellable          *cancellable,
                                              GError               **error);

/* Imports. Each validates the whole file against the model and lists every problem (an
 * unknown layer or value, a channel-count mismatch, an impossible value) in one
 * QS_EXPORT_ERROR_INVALID error naming the file; nothing is applied half-way.
 *
 * The config export ("config" format, or a plain Quantscope config): the config it
 * carries, with the activation ranges it was exported with fixed in it, so the integer
 * engine computes the same codes. model (nullable) checks that the file was exported from
 * the same model (by checksum, a summary line when it differs). */
QsConfig             *qs_export_import_config (QsModel              *model,
                                               const char           *path,
                                               GString              *summary,
                                               GError              **error);
/* AIMET encodings (0.6.1 or 1.0.0 layout): base (nullable: fp32 everywhere) with, for
 * every layer the file names, the weight spec its param encoding gives (bits, symmetric or
 * affine, per tensor / per channel / per block) and, for every value with an activation
 * encoding, activation quantization with that width and its [min, max] as a fixed range.
 * out_ranges (nullable) receives the imported activation ranges by value name. */
QsConfig             *qs_export_import_aimet  (QsModel              *model,
                                               const char           *path,
                                               QsConfig             *base,
                                               QsRangeTable        **out_ranges,
                                               GString              *summary,
                                               GError              **error);
/* Either of the two, told apart by the file's content. */
QsConfig             *qs_export_import        (QsModel              *model,
                                               const char           *path,
                                               QsConfig             *base,
                                               GString              *summary,
                                               GError              **error);

G_END_DECLS
