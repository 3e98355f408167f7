/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "qs-gui-utils.h"
#include "qs-layer-row.h"

struct _QsLayerRow
{
  GtkWidget    parent_instance;

  QsLayerItem *item;

  /* Template widgets */
  GtkWidget   *health_dot;
  GtkLabel    *name_label;
  GtkLabel    *details_label;
  GtkLabel    *weight_badge;
  GtkLabel    *activation_badge;
  GtkWidget   *target_badge;
};

G_DEFINE_FINAL_TYPE (QsLayerRow, qs_layer_row, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ITEM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
update_health (QsLayerRow *self)
{
  static const char *classes[] = { "health-none", "health-pending", "health-good", "health-fair", "health-poor" };
  QsHealth health = qs_layer_item_get_health (self->item);
  double sqnr = qs_layer_item_get_sqnr (self->item);
  g_autofree char *tip = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (self->health_dot, classes[i]);
  gtk_widget_add_css_class (self->health_dot, qs_health_css_class (health));

  switch (health)
    {
    case QS_HEALTH_NONE:
      tip = g_strdup (_("No weights"));
      break;
    case QS_HEALTH_PENDING:
      tip = g_strdup (_("Computing…"));
      break;
    default:
      if (isinf (sqnr))
        tip = g_strdup (_("Weight SQNR: lossless"));
      else if (isnan (sqnr))
        tip = g_strdup (_("Quantization failed"));
      else
        /* Translators: signal-to-quantization-noise ratio in decibels */
        tip = g_strdup_printf (_("Weight SQNR: %.1f dB"), sqnr);
    }
  gtk_widget_set_tooltip_text (self->health_dot, tip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->health_dot), GTK_ACCESSIBLE_PROPERTY_LABEL, tip, -1);
}

static void
update_badge (GtkLabel   *badge,
              const char *label,
              const char *tip)
{
  gtk_label_set_text (badge, label ? label : "");
  gtk_widget_set_visible (GTK_WIDGET (badge), label != NULL);
  if (label != NULL)
    {
      gtk_widget_set_tooltip_text (GTK_WIDGET (badge), tip);
      gtk_accessible_update_property (GTK_ACCESSIBLE (badge), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, tip, -1);
    }
}

static void
update_badges (QsLayerRow *self)
{
  const char *w = qs_layer_item_get_weight_label (self->item);
  const char *a = qs_layer_item_get_activation_label (self->item);
  g_autofree char *wtip = NULL;
  g_autofree char *atip = NULL;

  if (w != NULL)
    /* Translators: tooltip of the weight badge in the layer list; %s spells out the badge,
     * "Integer, 8 bits · Symmetric · Per Channel · …" */
    wtip = g_strdup_printf (_("Weights: %s"), qs_layer_item_get_weight_description (self->item));
  if (a != NULL)
    /* Translators: tooltip of the activation badge in the layer list; %s spells out the badge */
    atip = g_strdup_printf (_("Layer output: %s"), qs_layer_item_get_activation_description (self->item));
  update_badge (self->weight_badge, w, wtip);
  update_badge (self->activation_badge, a, atip);
}

/* The deployment target cannot run this layer: a warning icon with the core's reason. */
static void
update_target_badge (QsLayerRow *self)
{
  const char *reason = qs_layer_item_get_target_issue (self->item);

  gtk_widget_set_visible (self->target_badge, reason != NULL);
  gtk_widget_set_tooltip_text (self->target_badge, reason);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->target_badge), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  reason != NULL ? reason : "", -1);
}

static void
update_text (QsLayerRow *self)
{
  guint64 n_params = qs_layer_item_get_n_params (self->item);
  g_autofree char *details = NULL;

  if (n_params > 0)
    {
      g_autofree char *params = qs_format_count (n_params);

      /* Translators: layer class and parameter count in the layer list, "Conv2D · 18.5 K params" */
      details = g_strdup_printf (_("%s · %s params"), qs_layer_item_get_class_name (self->item), params);
    }
  else
    details = g_strdup (qs_layer_item_get_class_name (self->item));

  gtk_label_set_text (self->name_label, qs_layer_item_get_name (self->item));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->name_label), qs_layer_item_get_name (self->item));
  gtk_label_set_text (self->details_label, details);
}

QsLayerItem *
qs_layer_row_get_item (QsLayerRow *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ROW (self), NULL);
  return self->item;
}

void
qs_layer_row_set_item (QsLayerRow  *self,
                       QsLayerItem *item)
{
  g_return_if_fail (QS_IS_LAYER_ROW (self));
  g_return_if_fail (item == NULL || QS_IS_LAYER_ITEM (item));

  if (self->item == item)
    return;

  if (self->item != NULL)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_set_object (&self->item, item);

  if (item != NULL)
    {
      g_signal_connect_object (item, "notify::health", G_CALLBACK (update_health), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (item, "notify::weight-label", G_CALLBACK (update_badges), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (item, "notify::activation-label", G_CALLBACK (update_badges), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (item, "notify::target-issue", G_CALLBACK (update_target_badge), self, G_CONNECT_SWAPPED);
      update_target_badge (self);
      update_text (self);
      update_health (self);
      update_badges (self);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ITEM]);
}

static void
qs_layer_row_dispose (GObject *object)
{
  QsLayerRow *self = QS_LAYER_ROW (object);
  GtkWidget *child;

  qs_layer_row_set_item (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_LAYER_ROW);
  /* The boxes without an id are not the template's to drop. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (qs_layer_row_parent_class)->dispose (object);
}

static void
qs_layer_row_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  QsLayerRow *self = QS_LAYER_ROW (object);

  switch (prop_id)
    {
    case PROP_ITEM:
      g_value_set_object (value, self->item);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_layer_row_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  QsLayerRow *self = QS_LAYER_ROW (object);

  switch (prop_id)
    {
    case PROP_ITEM:
      qs_layer_row_set_item (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_layer_row_class_init (QsLayerRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_layer_row_dispose;
  object_class->get_property = qs_layer_row_get_property;
  object_class->set_property = qs_layer_row_set_property;

  properties[PROP_ITEM] =
    g_param_spec_object ("item", NULL, NULL, QS_TYPE_LAYER_ITEM,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-layer-row.ui");
  gtk_widget_class_bind_template_child (widget_class, QsLayerRow, health_dot);
  gtk_widget_class_bind_template_child (widget_class, QsLayerRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, QsLayerRow, details_label);
  gtk_widget_class_bind_template_child (widget_class, QsLayerRow, weight_badge);
  gtk_widget_class_bind_template_child (widget_class, QsLayerRow, activation_badge);
  gtk_widget_class_bind_template_child (widget_class, QsLayerRow, target_badge);
}

static void
qs_layer_row_init (QsLayerRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (gtk_widget_get_layout_manager (GTK_WIDGET (self))), 10);
}

GtkWidget *
_qs_layer_row_get_target_badge (QsLayerRow *self)
{
  g_return_val_if_fail (QS_IS_LAYER_ROW (self), NULL);
  return self->target_badge;
}

GtkWidget *
qs_layer_row_new (void)
{
  return g_object_new (QS_TYPE_LAYER_ROW, NULL);
}
