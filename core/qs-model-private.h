/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "qs-model.h"

G_BEGIN_DECLS

/* Limits that keep hostile files from exhausting memory or stack. */
#define QS_MODEL_MAX_LAYERS      100000
#define QS_MODEL_MAX_DIM         ((gsize) 1 << 28)
#define QS_MODEL_MAX_JSON_DEPTH  64
#define QS_MODEL_MAX_JSON_BYTES  ((gsize) 64 << 20)
#define QS_MODEL_MAX_GROUP_DEPTH 64       /* HDF5 groups in groups: Keras nests about 6 */

struct _QsModel
{
  GObject        parent_instance;

  char          *path;
  char          *name;
  char          *keras_version;
  char          *backend;
  char          *checksum;
  char          *why_not;
  QsModelFormat  format;
  gboolean       has_architecture;
  char          *architecture_json; /* the model_config text it was built from (nullable):
                                       the sandboxed loader hands it to the parent */

  GPtrArray     *layers;        /* QsLayer *, owned */
  GPtrArray     *configs;       /* JsonObject * (nullable) per layer: the config as read */
  GHashTable    *by_name;       /* name -> QsLayer * */
  guint          output_index;
  guint          input_rank;
  gsize          input_shape[QS_TENSOR_MAX_DIMS];
  gsize          n_params;
  gboolean       can_infer;
};

/* Builds a model from layers (transfer full). With has_architecture, the graph is checked
 * (topological order, layer 0 an InputLayer) and shapes are computed; weights are checked
 * against the configuration. configs (nullable, transfer full) parallels layers. */
QsModel   *_qs_model_build              (const char     *name,
                                         GPtrArray      *layers,
                                         GPtrArray      *configs,
                                         gboolean        has_architecture,
                                         GError        **error);
const char*_qs_activation_to_keras      (QsActivation    activation);
gboolean   _qs_activation_from_keras    (const char     *name,
                                         QsActivation   *activation,
                                         float          *alpha);
QsTensor  *_qs_layer_find_weight        (const QsLayer  *layer,
                                         const char     *short_name);
/* Sets the weight layouts: Dense kernel DENSE, Conv2D kernel CONV2D,
 * depthwise kernels DEPTHWISE, 1-D VECTOR. */
void       _qs_layer_set_layouts        (QsLayer        *layer);
const char*_qs_weight_short_name        (const QsTensor *tensor);

static inline void
_qs_json_object_unref0 (gpointer object)
{
  if (object != NULL)
    json_object_unref (object);
}

G_END_DECLS
