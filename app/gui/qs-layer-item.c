/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <glib/gi18n.h>

#include "qs-layer-item.h"
#include "qs-gui-utils.h"

struct _QsLayerItem
{
  GObject   parent_instance;

  char     *name;
  char     *class_name;
  guint     index;
  guint64   n_params;
  gboolean  has_weights;
  char     *weight_label;
  char     *activation_label;
  char     *weight_description;
  char     *activation_description;
  double    sqnr;
  QsHealth  health;
  char     *target_issue;   /* why the deployment target cannot run the layer, nullable */
};

G_DEFINE_FINAL_TYPE (QsLayerItem, qs_layer_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_CLASS_NAME,
  PROP_INDEX,
  PROP_N_PARAMS,
  PROP_HAS_WEIGHTS,
  PROP_WEIGHT_LABEL,
  PROP_ACTIVATION_LABEL,
  PROP_SQNR,
  PROP_HEALTH,
  PROP_TARGET_ISSUE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

QsHealth
qs_health_from_sqnr (double sqnr_db)
{
  if (isnan (sqnr_db))
    return QS_HEALTH_PENDING;
  if (sqnr_db >= QS_HEALTH_GOOD_DB)
    return QS_HEALTH_GOOD;
  if (sqnr_db >= QS_HEALTH_FAIR_DB)
    return QS_HEALTH_FAIR;
  return QS_HEALTH_POOR;
}

const char *
qs_health_css_class (QsHealth health)
{
  switch (health)
    {
    case QS_HEALTH_GOOD:
      return "health-good";
    case QS_HEALTH_FAIR:
      return "health-fair";
    case QS_HEALTH_POOR:
      return "health-poor";
    case QS_HEALTH_PENDING:
      return "health-pending";
    case QS_HEALTH_NONE:
    default:
      return "health-none";
    }
}

static void
qs_layer_item_finalize (GObject *object)
{
  QsLayerItem *self = QS_LAYER_ITEM (object);

  g_free (self->name);
  g_free (self->class_name);
  g_free (self->weight_label);
  g_free (self->activation_label);
  g_free (self->weight_description);
  g_free (self->activation_description);
  g_free (self->target_issue);

  G_OBJECT_CLASS (qs_layer_item_parent_class)->finalize (object);
}

static void
qs_layer_item_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  QsLayerItem *self = QS_LAYER_ITEM (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_CLASS_NAME:
      g_value_set_string (value, self->class_name);
      break;
    case PROP_INDEX:
      g_value_set_uint (value, self->index);
      break;
    case PROP_N_PARAMS:
      g_value_set_uint64 (value, self->n_params);
      break;
    case PROP_HAS_WEIGHTS:
      g_value_set_boolean (value, self->has_weights);
      break;
    case PROP_WEIGHT_LABEL:
      g_value_set_string (value, self->weight_label);
      break;
    case PROP_ACTIVATION_LABEL:
      g_value_set_string (value, self->activation_label);
      break;
    case PROP_SQNR:
      g_value_set_double (value, self->sqnr);
      break;
    case PROP_HEALTH:
      g_value_set_int (value, self->health);
      break;
    case PROP_TARGET_ISSUE:
      g_value_set_string (value, self->target_issue);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_layer_item_class_init (QsLayerItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = qs_layer_item_finalize;
  object_class->get_property = qs_layer_item_get_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLASS_NAME] =
    g_param_spec_string ("class-name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_INDEX] =
    g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_PARAMS] =
    g_param_spec_uint64 ("n-params", NULL, NULL, 0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_WEIGHTS] =
    g_param_spec_boolean ("has-weights", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_WEIGHT_LABEL] =
    g_param_spec_string ("weight-label", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACTIVATION_LABEL] =
    g_param_spec_string ("activation-label", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SQNR] =
    g_param_spec_double ("sqnr", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEALTH] =
    g_param_spec_int ("health", NULL, NULL, QS_HEALTH_NONE, QS_HEALTH_POOR, QS_HEALTH_NONE,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TARGET_ISSUE] =
    g_param_spec_string ("target-issue", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
qs_layer_item_init (QsLayerItem *self)
{
  self->sqnr = NAN;
}

QsLayerItem *
qs_layer_item_new (const QsLayer *layer)
{
  QsLayerItem *self;

  g_return_val_if_fail (layer != NULL, NULL);

  self = g_object_new (QS_TYPE_LAYER_ITEM, NULL);
  self->name = g_strdup (layer->name);
  self->class_name = g_strdup (layer->class_name);
  self->index = layer->index;
  self->n_params = layer->n_params;
  self->has_weights = qs_layer_get_kernel (layer) != NULL;
  self->health = self->has_weights ? QS_HEALTH_PENDING : QS_HEALTH_NONE;
  return self;
}

const char *
qs_layer_item_get_name (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), NULL);
  return self->name;
}

const char *
qs_layer_item_get_class_name (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), NULL);
  return self->class_name;
}

guint
qs_layer_item_get_index (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), 0);
  return self->index;
}

guint64
qs_layer_item_get_n_params (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), 0);
  return self->n_params;
}

gboolean
qs_layer_item_get_has_weights (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), FALSE);
  return self->has_weights;
}

const char *
qs_layer_item_get_weight_label (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), NULL);
  return self->weight_label;
}

const char *
qs_layer_item_get_activation_label (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), NULL);
  return self->activation_label;
}

const char *
qs_layer_item_get_weight_description (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), NULL);
  return self->weight_description;
}

const char *
qs_layer_item_get_activation_description (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), NULL);
  return self->activation_description;
}

double
qs_layer_item_get_sqnr (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), NAN);
  return self->sqnr;
}

QsHealth
qs_layer_item_get_health (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), QS_HEALTH_NONE);
  return self->health;
}

static void
set_string (QsLayerItem  *self,
            char        **field,
            char         *value, /* transfer full */
            guint         prop)
{
  if (g_strcmp0 (*field, value) == 0)
    {
      g_free (value);
      return;
    }
  g_free (*field);
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_health (QsLayerItem *self,
            double       sqnr,
            QsHealth     health)
{
  gboolean same_sqnr = (isnan (sqnr) && isnan (self->sqnr)) || sqnr == self->sqnr;

  if (!same_sqnr)
    {
      self->sqnr = sqnr;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SQNR]);
    }
  if (health != self->health)
    {
      self->health = health;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH]);
    }
}

void
qs_layer_item_set_config (QsLayerItem         *self,
                          const QsLayerConfig *config)
{
  g_return_if_fail (QS_IS_LAYER_ITEM (self));
  g_return_if_fail (config != NULL);

  /* Descriptions first: a label's notify handler reads them. */
  g_free (self->weight_description);
  self->weight_description = self->has_weights ? qs_quant_spec_describe (&config->weight) : NULL;
  g_free (self->activation_description);
  self->activation_description = config->quantize_activations ? qs_quant_spec_describe (&config->activation) : NULL;

  set_string (self, &self->weight_label,
              self->has_weights ? qs_quant_spec_to_label (&config->weight) : NULL,
              PROP_WEIGHT_LABEL);
  set_string (self, &self->activation_label,
              config->quantize_activations ? qs_quant_spec_to_label (&config->activation) : NULL,
              PROP_ACTIVATION_LABEL);
}

void
qs_layer_item_set_result (QsLayerItem   *self,
                          QsQuantResult *result,
                          const GError  *error)
{
  g_return_if_fail (QS_IS_LAYER_ITEM (self));

  if (!self->has_weights)
    set_health (self, NAN, QS_HEALTH_NONE);
  else if (error != NULL)
    set_health (self, NAN, QS_HEALTH_POOR);
  else if (result == NULL)
    set_health (self, NAN, QS_HEALTH_PENDING);
  else
    set_health (self, result->stats.sqnr_db, qs_health_from_sqnr (result->stats.sqnr_db));
}

const char *
qs_layer_item_get_target_issue (QsLayerItem *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ITEM (self), NULL);
  return self->target_issue;
}

void
qs_layer_item_set_target_issue (QsLayerItem *self,
                                const char  *reason)
{
  g_return_if_fail (QS_IS_LAYER_ITEM (self));
  set_string (self, &self->target_issue, g_strdup (reason), PROP_TARGET_ISSUE);
}
