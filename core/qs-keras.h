/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Keras file formats (internal to libquantscope-core; the public entry points are
 * qs_model_load () and qs_model_save () in qs-model.h). */

#include <hdf5.h>
#include <json-glib/json-glib.h>

#include "qs-model-private.h"

G_BEGIN_DECLS

/* qs-keras.c: HDF5 reading */
QsModel   *_qs_keras_load            (const char    *path,
                                      const char    *architecture_path,
                                      GCancellable  *cancellable,
                                      GError       **error);
/* Sets error from the innermost entry of the HDF5 error stack, prefixed by the message. */
void       _qs_keras_set_h5_error    (GError       **error,
                                      gint           code,
                                      const char    *format,
                                      ...) G_GNUC_PRINTF (3, 4);
void       _qs_keras_h5_init         (void);
/* FALSE with QS_MODEL_ERROR_UNSUPPORTED naming the filter by id when `dcpl` (a dataset's
 * creation properties) uses a filter this HDF5 does not have: plugins are never loaded. */
gboolean   _qs_hdf5_check_filters    (hid_t          dcpl,
                                      const char    *path,
                                      const char    *dataset,
                                      GError       **error);
/* Serialises HDF5 use: the Flatpak's HDF5 may be built without thread safety. Recursive. */
void       _qs_hdf5_lock             (void);
void       _qs_hdf5_unlock           (void);

/* qs-keras-config.c: model_config / config.json parsing. Returns layers (QsLayer *, no
 * weights yet) in topological order with an InputLayer first, plus the per-layer
 * configs (JsonObject *) and the group names Keras 3 gives the layers in .weights.h5
 * files (snake_case class with a per-class counter, in config order). */
gboolean   _qs_keras_config_parse    (const char    *json,
                                      gsize          length,
                                      const char    *where,
                                      char         **model_name,
                                      GPtrArray    **layers,
                                      GPtrArray    **configs,
                                      GPtrArray    **keras3_names,
                                      GError       **error);
/* Keras 2 model_config JSON for a model that has an architecture. */
char      *_qs_keras_config_write    (QsModel       *model,
                                      GError       **error);
/* The snake_case group name Keras 3 gives a class ("Conv2D" -> "conv2d"). */
char      *_qs_keras_snake_case      (const char    *class_name);
/* Counts non-finite weights and sets the layouts of a layer whose weights are attached. */
void       _qs_keras_finish_layer_weights (QsLayer *layer);

G_END_DECLS
