/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "qs-document.h"

G_BEGIN_DECLS

#define QS_TYPE_DATASET_WINDOW (qs_dataset_window_get_type ())

/* The dataset dialog: which data (the bundled sample, a file or a folder: chooser, drop or a
 * recent one), its labels and its preprocessing, with a preview of the first preprocessed
 * inputs next to the float model's top prediction for each, computed in a worker. Apply sets
 * the document's dataset and the config's preprocessing (qs_document_set_dataset). */
G_DECLARE_FINAL_TYPE (QsDatasetWindow, qs_dataset_window, QS, DATASET_WINDOW, AdwWindow)

QsDatasetWindow *qs_dataset_window_new          (GtkWindow       *parent,
                                                 QsDocument      *document);
/* What the dialog shows, for tests and drops: a spec as qs_dataset_open takes it. */
void             qs_dataset_window_set_spec     (QsDatasetWindow *self,
                                                 const char      *spec);
/* "PRESET[,key=value...]" as qs_preprocess_parse takes it: sets the rows. */
gboolean         qs_dataset_window_set_preprocess (QsDatasetWindow *self,
                                                   const char      *text);
/* The last preview: NULL while it is computed or when it failed (then error says why). */
QsDataset       *qs_dataset_window_get_preview_dataset (QsDatasetWindow *self,
                                                        const char     **error);
gboolean         qs_dataset_window_get_preview_busy    (QsDatasetWindow *self);
/* Top prediction of preview image i (-1 without one). */
gint             qs_dataset_window_get_preview_prediction (QsDatasetWindow *self,
                                                           guint            index);
/* What Apply does. FALSE while the preview is not a valid dataset. */
gboolean         qs_dataset_window_apply        (QsDatasetWindow *self);

G_END_DECLS
