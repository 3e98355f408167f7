/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "quantscope-core.h"

G_BEGIN_DECLS

/* The report export: a self-contained HTML page and a multi-page PDF describing a config
 * (summary, cost, per-layer table, weight charts of the largest layers, accuracy from
 * qs_eval_run ()). It draws with the charts library, which depends on core, so it lives in
 * its own library (libquantscope-report) and joins core's formats table at startup through
 * qs_export_register_format (): core stays free of chart code. */

/* Registers "report-html" and "report-pdf" with the export formats table. Idempotent; the
 * CLI and the app call it at startup. */
void     qs_report_register (void);

#define QS_REPORT_DEFAULT_IMAGES 1000
#define QS_REPORT_CHART_LAYERS   3

/* What a report held, for tests and the summary. */
typedef struct
{
  guint   n_layers;       /* rows of the per-layer table */
  guint   n_chart_layers; /* layers with charts (the largest kernels) */
  guint   n_images;       /* images evaluated; 0 when there was no evaluation */
  guint   n_pages;        /* PDF only */
  guint   n_table_pages;  /* PDF only */
  gsize   bytes;          /* the file written */
} QsReportInfo;

/* Writes ctx as HTML (pdf FALSE) or PDF to path atomically; fills info (nullable). eval
 * (nullable) is an evaluation already made (tests); otherwise the report evaluates as
 * ctx->eval_data / ctx->eval_images say. */
gboolean qs_report_write    (const QsExportContext *ctx,
                             gboolean               pdf,
                             const char            *path,
                             QsEvalResult          *eval,
                             GString               *summary,
                             QsReportInfo          *info,
                             GError               **error);

/* Rows of the per-layer table on one PDF page. */
#define QS_REPORT_PDF_ROWS_PER_PAGE 38

G_END_DECLS
