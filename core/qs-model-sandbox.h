/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-dataset-private.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* The two ends of the sandboxed loader's stream (see qs-model-sandbox.c); the helper
 * process (app/loader/qs-loader.c) writes, qs_model_load_untrusted () reads. */
gboolean _qs_model_sandbox_write_model (int            fd,
                                        QsModel       *model,
                                        GError       **error);
gboolean _qs_model_sandbox_write_error (int            fd,
                                        const GError  *model_error);

/* The parent's side, after the magic and a status of 0: the header and the tensors,
 * everything checked. */
QsModel *_qs_model_sandbox_read_model  (GInputStream  *in,
                                        const char    *path,
                                        GCancellable  *cancellable,
                                        GError       **error);

/* The helper's side of an HDF5 dataset read (quantscope-loader --h5-dataset): the arrays
 * _qs_dataset_h5_arrays_read () returned. */
gboolean _qs_dataset_sandbox_write_arrays (int                     fd,
                                           const QsDatasetArrays  *arrays,
                                           GError                **error);

G_END_DECLS
