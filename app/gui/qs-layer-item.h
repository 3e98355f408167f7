/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-document.h"

G_BEGIN_DECLS

/* Quality of a layer's quantized weights, from its SQNR. */
typedef enum
{
  QS_HEALTH_NONE,     /* no weights */
  QS_HEALTH_PENDING,  /* statistics being computed */
  QS_HEALTH_GOOD,     /* >= 30 dB (or lossless) */
  QS_HEALTH_FAIR,     /* >= 12 dB (4-bit weights, roughly) */
  QS_HEALTH_POOR,     /* below, or quantization failed */
} QsHealth;

#define QS_HEALTH_GOOD_DB 30.0
#define QS_HEALTH_FAIR_DB 12.0

QsHealth    qs_health_from_sqnr (double sqnr_db);
const char *qs_health_css_class (QsHealth health);

#define QS_TYPE_LAYER_ITEM (qs_layer_item_get_type ())

/* One row of the layer list: what the sidebar shows about a layer. Properties notify. */
G_DECLARE_FINAL_TYPE (QsLayerItem, qs_layer_item, QS, LAYER_ITEM, GObject)

QsLayerItem *qs_layer_item_new                (const QsLayer *layer);
const char  *qs_layer_item_get_name           (QsLayerItem   *self);
const char  *qs_layer_item_get_class_name     (QsLayerItem   *self);
guint        qs_layer_item_get_index          (QsLayerItem   *self);
guint64      qs_layer_item_get_n_params       (QsLayerItem   *self);
gboolean     qs_layer_item_get_has_weights    (QsLayerItem   *self);
const char  *qs_layer_item_get_weight_label   (QsLayerItem   *self);
const char  *qs_layer_item_get_activation_label (QsLayerItem *self);
const char  *qs_layer_item_get_weight_description     (QsLayerItem *self); /* nullable */
const char  *qs_layer_item_get_activation_description (QsLayerItem *self); /* nullable */
double       qs_layer_item_get_sqnr           (QsLayerItem   *self); /* NAN: unknown */
QsHealth     qs_layer_item_get_health         (QsLayerItem   *self);
void         qs_layer_item_set_config         (QsLayerItem   *self,
                                               const QsLayerConfig *config);
void         qs_layer_item_set_result         (QsLayerItem   *self,
                                               QsQuantResult *result, /* nullable */
                                               const GError  *error); /* nullable */
/* Why the document's deployment target cannot run this layer (the core's reasons, one per
 * line), or NULL. The "target-issue" property notifies. */
const char  *qs_layer_item_get_target_issue   (QsLayerItem   *self); /* nullable */
void         qs_layer_item_set_target_issue   (QsLayerItem   *self,
                                               const char    *reason); /* nullable */

G_END_DECLS
