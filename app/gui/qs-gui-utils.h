/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "quantscope-core.h"

G_BEGIN_DECLS

/* Helpers the app's widgets share: how numbers and the core enums are shown to people. */

/* "1.2 M", "18.5 K", "640" */
char       *qs_format_count             (guint64            count);
/* An energy given in picojoules, in the unit that reads best: "840 pJ", "17.5 µJ",
 * "2.44 mJ", "1.3 J" (three significant digits) */
char       *qs_format_energy            (double             picojoules);
/* "Lossless" (+inf), "—" (NAN: unknown), "31.4 dB" */
char       *qs_format_sqnr              (double             sqnr_db);

/* Translated display names of the core enums (combo rows, tooltips; the CLI uses the nicks). */
const char *qs_format_display_name      (QsFormat           value);
const char *qs_mapping_display_name     (QsMapping          value);
const char *qs_granularity_display_name (QsGranularity      value);
const char *qs_rounding_display_name    (QsRounding         value);
const char *qs_range_display_name       (QsRangeMethod      value);

/* A spec in words, for tooltips and screen readers:
 * "Integer, 8 bits · Symmetric · Per Channel · Min–Max · Nearest, Ties to Even". */
char       *qs_quant_spec_describe      (const QsQuantSpec *spec);

/* An error's domain and code in words, for the details under a message (never the quark's
 * name): "Model file: corrupt (code 2)", "File: not found (code 1)". */
char       *qs_error_describe_code      (const GError      *error);

/* The model's file name without its extension ("fmnist-cnn"), or its name when it has no
 * file: the stem of the names the app suggests for files made from it. */
char       *qs_model_file_stem          (QsModel           *model);
/* A modal Save chooser in the model's folder (when it has a file), suggesting name. */
GtkFileChooserNative *
            qs_model_save_chooser_new   (GtkWindow         *parent,
                                         QsModel           *model,
                                         const char        *title,
                                         const char        *accept,
                                         const char        *name);

G_END_DECLS
