/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-file.h"

#include "qs-keras.h"

/* Keras model_config / config.json: Keras 2 (dict or bare-list Sequential, Functional with
 * inbound_nodes lists) and Keras 3 (module/registered_name objects, DTypePolicy, __keras_tensor__
 * arguments). The JSON depth is checked on the raw text before json-glib parses it, so deeply
 * nested input cannot exhaust the stack. */

#define MAX_KERNEL 65536

typedef struct
{
  const char *where;   /* file name for messages */
  GError    **error;
} Ctx;

static gboolean
check_depth (const char *json,
             gsize       length,
             const char *where,
             GError    **error)
{
  if (qs_json_text_depth_ok (json, length, QS_MODEL_MAX_JSON_DEPTH))
    return TRUE;
  g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
               _("%s: the model configuration is nested more than %d levels deep"),
               where, QS_MODEL_MAX_JSON_DEPTH);
  return FALSE;
}

static gboolean
bad_field (Ctx        *ctx,
           const char *layer,
           const char *field,
           const char *what)
{
  g_set_error (ctx->error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
               _("%s: layer “%s”: field “%s” %s"), ctx->where, layer, field, what);
  return FALSE;
}

static gboolean
get_number (Ctx        *ctx,
            JsonObject *config,
            const char *layer,
            const char *field,
            double      fallback,
            double     *out)
{
  JsonNode *node = json_object_get_member (config, field);

  *out = fallback;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) == 1)
    node = json_array_get_element (json_node_get_array (node), 0);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) == G_TYPE_STRING)
    return bad_field (ctx, layer, field, _("is not a number"));
  *out = json_node_get_double (node);
  if (!isfinite (*out))
    return bad_field (ctx, layer, field, _("is not finite"));
  return TRUE;
}

static gboolean
get_uint (Ctx        *ctx,
          JsonObject *config,
          const char *layer,
          const char *field,
          guint       fallback,
          guint       max,
          guint      *out)
{
  double v;

  if (!get_number (ctx, config, layer, field, fallback, &v))
    return FALSE;
  if (v < 0 || v > max || v != (double) (gint64) v)
    return bad_field (ctx, layer, field, _("is out of range"));
  *out = (guint) v;
  return TRUE;
}

static gboolean
get_int (Ctx        *ctx,
         JsonObject *config,
         const char *layer,
         const char *field,
         gint        fallback,
         gint       *out)
{
  double v;

  if (!get_number (ctx, config, layer, field, fallback, &v))
    return FALSE;
  if (v < -1000 || v > 1000 || v != (double) (gint64) v)
    return bad_field (ctx, layer, field, _("is out of range"));
  *out = (gint) v;
  return TRUE;
}

/* An int or a list of ints of length n. */
static gboolean
get_uint_tuple (Ctx        *ctx,
                JsonObject *config,
                const char *layer,
                const char *field,
                guint       n,
                guint       fallback,
                guint      *out)
{
  JsonNode *node = json_object_get_member (config, field);

  for (guint i = 0; i < n; i++)
    out[i] = fallback;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node))
    {
      gint64 v = json_node_get_int (node);
      if (json_node_get_value_type (node) == G_TYPE_STRING || v < 0 || v > MAX_KERNEL)
        return bad_field (ctx, layer, field, _("is out of range"));
      for (guint i = 0; i < n; i++)
        out[i] = (guint) v;
      return TRUE;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      if (json_array_get_length (a) != n)
        return bad_field (ctx, layer, field, _("has the wrong number of values"));
      for (guint i = 0; i < n; i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          gint64 v;
          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) == G_TYPE_STRING)
            return bad_field (ctx, layer, field, _("is not a list of numbers"));
          v = json_node_get_int (e);
          if (v < 0 || v > MAX_KERNEL)
            return bad_field (ctx, layer, field, _("is out of range"));
          out[i] = (guint) v;
        }
      return TRUE;
    }
  return bad_field (ctx, layer, field, _("is not a number or a list of numbers"));
}

static const char *
get_string (JsonObject *config,
            const char *field)
{
  JsonNode *node = json_object_get_member (config, field);

  if (node == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  /* Keras 3 serialises some functions as {"class_name": "function", "config": "relu"}. */
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      JsonNode *c = json_object_get_member (o, "config");
      if (c != NULL && JSON_NODE_HOLDS_VALUE (c) && json_node_get_value_type (c) == G_TYPE_STRING)
        return json_node_get_string (c);
    }
  return NULL;
}

static gboolean
get_bool (JsonObject *config,
          const char *field,
          gboolean    fallback)
{
  JsonNode *node = json_object_get_member (config, field);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

static gboolean
parse_padding (Ctx        *ctx,
               JsonObject *config,
               QsLayer    *layer)
{
  const char *padding = get_string (config, "padding");

  if (padding == NULL || g_ascii_strcasecmp (padding, "valid") == 0)
    layer->padding = QS_PADDING_VALID;
  else if (g_ascii_strcasecmp (padding, "same") == 0)
    layer->padding = QS_PADDING_SAME;
  else
    return bad_field (ctx, layer->name, "padding", _("must be “valid” or “same”"));
  return TRUE;
}

static gboolean
parse_activation (Ctx        *ctx,
                  JsonObject *config,
                  QsLayer    *layer)
{
  const char *name = get_string (config, "activation");

  layer->activation = QS_ACTIVATION_LINEAR;
  if (name == NULL)
    {
      JsonNode *node = json_object_get_member (config, "activation");
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        {
          layer->kind = QS_LAYER_UNSUPPORTED;
          layer->why_unsupported = g_strdup (_("a custom activation function"));
        }
      return TRUE;
    }
  if (!_qs_activation_from_keras (name, &layer->activation, &layer->alpha))
    {
      layer->kind = QS_LAYER_UNSUPPORTED;
      layer->why_unsupported = g_strdup_printf (_("activation “%s”"), name);
    }
  return TRUE;
}

static gboolean
check_channels_last (JsonObject *config,
                     QsLayer    *layer)
{
  const char *df = get_string (config, "data_format");

  if (df != NULL && strcmp (df, "channels_last") != 0)
    {
      layer->kind = QS_LAYER_UNSUPPORTED;
      layer->why_unsupported = g_strdup_printf (_("data format “%s” (only channels_last runs)"), df);
      return FALSE;
    }
  return TRUE;
}

/* Fills rank/shape from a [null, d1, d2 ...] list; FALSE (no error) when absent. */
static gboolean
parse_batch_shape (Ctx        *ctx,
                   JsonNode   *node,
                   const char *layer_name,
                   const char *field,
                   gboolean    has_batch,
                   QsLayer    *input,
                   gboolean   *found)
{
  JsonArray *a;
  guint n, skip = has_batch ? 1 : 0;

  *found = FALSE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return bad_field (ctx, layer_name, field, _("is not a list"));
  a = json_node_get_array (node);
  n = json_array_get_length (a);
  if (n < skip + 1 || n - skip > QS_TENSOR_MAX_DIMS - 0)
    return bad_field (ctx, layer_name, field, _("has an unsupported number of dimensions"));
  input->output_rank = n - skip;
  for (guint i = skip; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_NULL (e))
        {
          input->output_rank = 0;
          g_free (input->why_unsupported);
          input->why_unsupported = g_strdup (_("an input of variable size"));
          *found = TRUE;
          return TRUE;
        }
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) == G_TYPE_STRING ||
          json_node_get_int (e) <= 0 || (gsize) json_node_get_int (e) > QS_MODEL_MAX_DIM)
        return bad_field (ctx, layer_name, field, _("has a dimension out of range"));
      input->output_shape[i - skip] = (gsize) json_node_get_int (e);
    }
  *found = TRUE;
  return TRUE;
}

static gboolean
find_input_shape (Ctx        *ctx,
                  JsonObject *layer_obj,
                  JsonObject *config,
                  const char *name,
                  QsLayer    *input,
                  gboolean   *found)
{
  if (!parse_batch_shape (ctx, json_object_get_member (config, "batch_input_shape"), name,
                          "batch_input_shape", TRUE, input, found))
    return FALSE;
  if (!*found && !parse_batch_shape (ctx, json_object_get_member (config, "batch_shape"), name,
                                     "batch_shape", TRUE, input, found))
    return FALSE;
  if (!*found && !parse_batch_shape (ctx, json_object_get_member (config, "input_shape"), name,
                                     "input_shape", FALSE, input, found))
    return FALSE;
  if (!*found && layer_obj != NULL && json_object_has_member (layer_obj, "build_config"))
    {
      JsonNode *bc = json_object_get_member (layer_obj, "build_config");
      if (JSON_NODE_HOLDS_OBJECT (bc) &&
          !parse_batch_shape (ctx, json_object_get_member (json_node_get_object (bc), "input_shape"),
                              name, "build_config.input_shape", TRUE, input, found))
        return FALSE;
    }
  return TRUE;
}

/* Keras "axis" counts the batch axis: positive values shift by one. */
static gboolean
parse_axis (Ctx        *ctx,
            JsonObject *config,
            QsLayer    *layer,
            gint        fallback)
{
  gint axis;

  if (!get_int (ctx, config, layer->name, "axis", fallback, &axis))
    return FALSE;
  if (axis == 0)
    return bad_field (ctx, layer->name, "axis", _("cannot be the batch axis"));
  layer->axis = axis > 0 ? axis - 1 : axis;
  return TRUE;
}

/* Normalization's "mean" / "variance": a number or a (nested) list of numbers, flattened.
 * Absent or null: NULL, the layer's weights hold them. */
static gboolean
get_float_list (Ctx         *ctx,
                JsonObject  *config,
                const char  *layer,
                const char  *field,
                GArray     **out)
{
  JsonNode *node = json_object_get_member (config, field);
  g_autoptr(GArray) values = NULL;
  g_autoptr(GPtrArray) stack = NULL;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  values = g_array_new (FALSE, FALSE, sizeof (float));
  stack = g_ptr_array_new ();
  g_ptr_array_add (stack, node);
  /* depth-first, in order: a stack of nodes, arrays pushed in reverse */
  while (stack->len > 0)
    {
      JsonNode *n = g_ptr_array_steal_index (stack, stack->len - 1);

      if (JSON_NODE_HOLDS_ARRAY (n))
        {
          JsonArray *a = json_node_get_array (n);

          for (guint i = json_array_get_length (a); i > 0; i--)
            g_ptr_array_add (stack, json_array_get_element (a, i - 1));
          if (stack->len > QS_MODEL_MAX_DIM)
            return bad_field (ctx, layer, field, _("has too many values"));
        }
      else if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) != G_TYPE_STRING)
        {
          float v = (float) json_node_get_double (n);

          if (!isfinite (v))
            return bad_field (ctx, layer, field, _("is not finite"));
          g_array_append_val (values, v);
        }
      else
        return bad_field (ctx, layer, field, _("is not a number or a list of numbers"));
    }
  if (values->len == 0)
    return bad_field (ctx, layer, field, _("is an empty list"));
  *out = g_steal_pointer (&values);
  return TRUE;
}

/* Keras Normalization (Keras 2 and 3 write the same fields): "axis" an int, a list of
 * ints or null (one mean for everything); "mean" / "variance" values or null (then the
 * weights hold them); "invert" must be false. Only the last axis (or none) runs. */
static gboolean
parse_normalization (Ctx        *ctx,
                     JsonObject *config,
                     QsLayer    *layer)
{
  JsonNode *axis = json_object_get_member (config, "axis");
  g_autoptr(GArray) mean = NULL;
  g_autoptr(GArray) variance = NULL;
  gint a = -1;

  if (axis == NULL)
    a = -1;
  else if (JSON_NODE_HOLDS_NULL (axis))
    a = QS_NORMALIZATION_AXIS_NONE;
  else if (JSON_NODE_HOLDS_ARRAY (axis) && json_array_get_length (json_node_get_array (axis)) == 0)
    a = QS_NORMALIZATION_AXIS_NONE;
  else
    {
      if (JSON_NODE_HOLDS_ARRAY (axis) && json_array_get_length (json_node_get_array (axis)) > 1)
        {
          layer->kind = QS_LAYER_UNSUPPORTED;
          layer->why_unsupported = g_strdup (_("normalization over more than one axis"));
          return TRUE;
        }
      if (!get_int (ctx, config, layer->name, "axis", -1, &a))
        return FALSE;
      if (a == 0)
        return bad_field (ctx, layer->name, "axis", _("cannot be the batch axis"));
      if (a > 0)
        a -= 1;   /* without the batch axis, as everywhere in QsLayer */
    }
  layer->axis = a;
  if (get_bool (config, "invert", FALSE))
    {
      layer->kind = QS_LAYER_UNSUPPORTED;
      layer->why_unsupported = g_strdup (_("inverted normalization (invert=True)"));
      return TRUE;
    }
  if (!get_float_list (ctx, config, layer->name, "mean", &mean) ||
      !get_float_list (ctx, config, layer->name, "variance", &variance))
    return FALSE;
  if ((mean == NULL) != (variance == NULL))
    return bad_field (ctx, layer->name, mean == NULL ? "mean" : "variance",
                      _("must be given together with the other of “mean” and “variance”"));
  if (mean != NULL)
    {
      if (mean->len != variance->len)
        return bad_field (ctx, layer->name, "variance", _("has a different number of values than “mean”"));
      layer->norm_n = mean->len;
      layer->norm_mean = (float *) (void *) g_array_free (g_steal_pointer (&mean), FALSE);
      layer->norm_variance = (float *) (void *) g_array_free (g_steal_pointer (&variance), FALSE);
    }
  return TRUE;
}

/* Resizing (height, width, interpolation, crop_to_aspect_ratio) and CenterCrop (height,
 * width). Both sizes must be positive. */
static gboolean
parse_resizing (Ctx        *ctx,
                JsonObject *config,
                QsLayer    *layer)
{
  const char *interp = get_string (config, "interpolation");

  if (!get_uint (ctx, config, layer->name, "height", 0, QS_MODEL_MAX_DIM, &layer->resize_size[0]) ||
      !get_uint (ctx, config, layer->name, "width", 0, QS_MODEL_MAX_DIM, &layer->resize_size[1]))
    return FALSE;
  if (layer->resize_size[0] == 0)
    return bad_field (ctx, layer->name, "height", _("must be a positive number of pixels"));
  if (layer->resize_size[1] == 0)
    return bad_field (ctx, layer->name, "width", _("must be a positive number of pixels"));
  check_channels_last (config, layer);
  if (layer->kind == QS_LAYER_CENTER_CROP)
    return TRUE;
  layer->crop_to_aspect_ratio = get_bool (config, "crop_to_aspect_ratio", FALSE);
  if (interp == NULL || strcmp (interp, "bilinear") == 0)
    layer->resize_interpolation = QS_INTERPOLATION_BILINEAR;
  else if (strcmp (interp, "nearest") == 0)
    layer->resize_interpolation = QS_INTERPOLATION_NEAREST;
  else
    {
      layer->kind = QS_LAYER_UNSUPPORTED;
      layer->why_unsupported = g_strdup_printf (_("resizing with “%s” interpolation (bilinear and nearest run)"),
                                                interp);
    }
  if (layer->kind != QS_LAYER_UNSUPPORTED && get_bool (config, "pad_to_aspect_ratio", FALSE))
    {
      layer->kind = QS_LAYER_UNSUPPORTED;
      layer->why_unsupported = g_strdup (_("resizing with pad_to_aspect_ratio"));
    }
  return TRUE;
}

/* Keras 1 field names, mapped to Keras 2 ones when the Keras 2 field is absent. Returns a
 * new reference: config itself, or a copy with the Keras 2 names added. */
static JsonObject *
shallow_copy (JsonObject *config)
{
  JsonObject *copy = json_object_new ();
  g_autoptr(GList) members = json_object_get_members (config);

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (copy, l->data, json_node_copy (json_object_get_member (config, l->data)));
  return copy;
}

static JsonObject *
keras1_aliases (JsonObject *config)
{
  static const char *aliases[][2] = {
    { "output_dim", "units" }, { "nb_filter", "filters" }, { "subsample", "strides" },
    { "border_mode", "padding" }, { "atrous_rate", "dilation_rate" }, { "bias", "use_bias" },
  };
  JsonObject *copy = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
    if (json_object_has_member (config, aliases[i][0]) && !json_object_has_member (config, aliases[i][1]))
      {
        if (copy == NULL)
          copy = shallow_copy (config);
        json_object_set_member (copy, aliases[i][1], json_node_copy (json_object_get_member (config, aliases[i][0])));
      }
  if (json_object_has_member (config, "nb_row") && json_object_has_member (config, "nb_col") &&
      !json_object_has_member (config, "kernel_size"))
    {
      JsonArray *k = json_array_new ();
      if (copy == NULL)
        copy = shallow_copy (config);
      json_array_add_element (k, json_node_copy (json_object_get_member (config, "nb_row")));
      json_array_add_element (k, json_node_copy (json_object_get_member (config, "nb_col")));
      json_object_set_array_member (copy, "kernel_size", k);
    }
  if (json_object_has_member (config, "dim_ordering") && !json_object_has_member (config, "data_format"))
    {
      const char *o = get_string (config, "dim_ordering");
      if (copy == NULL)
        copy = shallow_copy (config);
      json_object_set_string_member (copy, "data_format",
                                     g_strcmp0 (o, "th") == 0 ? "channels_first" : "channels_last");
    }
  return copy != NULL ? copy : json_object_ref (config);
}

static QsLayer *parse_layer_config (Ctx        *ctx,
                                    JsonObject *layer_obj,
                                    JsonObject *config,
                                    const char *class_name,
                                    const char *name);

static QsLayer *
parse_layer (Ctx        *ctx,
             JsonObject *layer_obj,
             JsonObject *config,
             const char *class_name,
             const char *name)
{
  JsonObject *aliased = keras1_aliases (config);
  QsLayer *layer = parse_layer_config (ctx, layer_obj, aliased, class_name, name);

  json_object_unref (aliased);
  return layer;
}

static QsLayer *
parse_layer_config (Ctx        *ctx,
                    JsonObject *layer_obj,
                    JsonObject *config,
                    const char *class_name,
                    const char *name)
{
  QsLayer *layer = qs_layer_new (name, class_name, QS_LAYER_UNSUPPORTED);
  const char *c = class_name;
  double v;

#define FAIL() G_STMT_START { qs_layer_free (layer); return NULL; } G_STMT_END

  if (strcmp (c, "InputLayer") == 0)
    {
      gboolean found;
      layer->kind = QS_LAYER_INPUT;
      if (!find_input_shape (ctx, layer_obj, config, name, layer, &found))
        FAIL ();
      if (!found)
        {
          layer->output_rank = 0;
          layer->why_unsupported = g_strdup (_("no input shape"));
        }
    }
  else if (strcmp (c, "Dense") == 0)
    {
      layer->kind = QS_LAYER_DENSE;
      if (!get_uint (ctx, config, name, "units", 0, QS_MODEL_MAX_DIM, &layer->units))
        FAIL ();
      layer->use_bias = get_bool (config, "use_bias", TRUE);
      parse_activation (ctx, config, layer);
    }
  else if (strcmp (c, "Conv2D") == 0 || strcmp (c, "Convolution2D") == 0 ||
           strcmp (c, "DepthwiseConv2D") == 0 || strcmp (c, "SeparableConv2D") == 0 ||
           strcmp (c, "SeparableConvolution2D") == 0)
    {
      guint groups;
      layer->kind = c[0] == 'D' ? QS_LAYER_DEPTHWISE_CONV2D
                  : c[0] == 'S' ? QS_LAYER_SEPARABLE_CONV2D : QS_LAYER_CONV2D;
      if (layer->kind != QS_LAYER_DEPTHWISE_CONV2D &&
          !get_uint (ctx, config, name, "filters", 0, QS_MODEL_MAX_DIM, &layer->filters))
        FAIL ();
      if (layer->kind != QS_LAYER_CONV2D &&
          !get_uint (ctx, config, name, "depth_multiplier", 1, MAX_KERNEL, &layer->depth_multiplier))
        FAIL ();
      if (!get_uint_tuple (ctx, config, name, "kernel_size", 2, 1, layer->kernel_size) ||
          !get_uint_tuple (ctx, config, name, "strides", 2, 1, layer->strides) ||
          !get_uint_tuple (ctx, config, name, "dilation_rate", 2, 1, layer->dilation) ||
          !get_uint (ctx, config, name, "groups", 1, MAX_KERNEL, &groups) ||
          !parse_padding (ctx, config, layer))
        FAIL ();
      if (layer->kernel_size[0] == 0 || layer->kernel_size[1] == 0 || layer->strides[0] == 0 ||
          layer->strides[1] == 0 || layer->dilation[0] == 0 || layer->dilation[1] == 0)
        {
          bad_field (ctx, name, "kernel_size", _("strides and dilation_rate must be positive"));
          FAIL ();
        }
      layer->use_bias = get_bool (config, "use_bias", TRUE);
      parse_activation (ctx, config, layer);
      check_channels_last (config, layer);
      if (groups != 1 && layer->kind != QS_LAYER_UNSUPPORTED)
        {
          layer->kind = QS_LAYER_UNSUPPORTED;
          layer->why_unsupported = g_strdup (_("grouped convolution"));
        }
    }
  else if (strcmp (c, "MaxPooling2D") == 0 || strcmp (c, "MaxPool2D") == 0 ||
           strcmp (c, "AveragePooling2D") == 0 || strcmp (c, "AvgPool2D") == 0)
    {
      JsonNode *strides = json_object_get_member (config, "strides");
      layer->kind = c[0] == 'M' ? QS_LAYER_MAX_POOL2D : QS_LAYER_AVG_POOL2D;
      if (!get_uint_tuple (ctx, config, name, "pool_size", 2, 2, layer->pool_size) ||
          !parse_padding (ctx, config, layer))
        FAIL ();
      if (strides == NULL || JSON_NODE_HOLDS_NULL (strides))
        memcpy (layer->pool_strides, layer->pool_size, sizeof layer->pool_strides);
      else if (!get_uint_tuple (ctx, config, name, "strides", 2, 1, layer->pool_strides))
        FAIL ();
      if (layer->pool_size[0] == 0 || layer->pool_size[1] == 0 ||
          layer->pool_strides[0] == 0 || layer->pool_strides[1] == 0)
        {
          bad_field (ctx, name, "pool_size", _("and strides must be positive"));
          FAIL ();
        }
      check_channels_last (config, layer);
    }
  else if (strcmp (c, "GlobalAveragePooling2D") == 0 || strcmp (c, "GlobalAvgPool2D") == 0 ||
           strcmp (c, "GlobalMaxPooling2D") == 0 || strcmp (c, "GlobalMaxPool2D") == 0)
    {
      layer->kind = strstr (c, "Max") != NULL ? QS_LAYER_GLOBAL_MAX_POOL2D : QS_LAYER_GLOBAL_AVG_POOL2D;
      if (check_channels_last (config, layer) && get_bool (config, "keepdims", FALSE))
        {
          layer->kind = QS_LAYER_UNSUPPORTED;
          layer->why_unsupported = g_strdup (_("keepdims=True"));
        }
    }
  else if (strcmp (c, "Flatten") == 0)
    {
      layer->kind = QS_LAYER_FLATTEN;
      check_channels_last (config, layer);
    }
  else if (strcmp (c, "Reshape") == 0)
    {
      JsonNode *ts = json_object_get_member (config, "target_shape");
      JsonArray *a;

      layer->kind = QS_LAYER_RESHAPE;
      if (ts == NULL || !JSON_NODE_HOLDS_ARRAY (ts))
        {
          bad_field (ctx, name, "target_shape", _("is missing or not a list"));
          FAIL ();
        }
      a = json_node_get_array (ts);
      if (json_array_get_length (a) == 0 || json_array_get_length (a) > QS_TENSOR_MAX_DIMS)
        {
          bad_field (ctx, name, "target_shape", _("has an unsupported number of dimensions"));
          FAIL ();
        }
      layer->target_rank = json_array_get_length (a);
      for (guint i = 0; i < layer->target_rank; i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          gint64 d = JSON_NODE_HOLDS_NULL (e) ? -1 : JSON_NODE_HOLDS_VALUE (e) ? json_node_get_int (e) : 0;
          if (d == 0 || d < -1 || d > (gint64) QS_MODEL_MAX_DIM)
            {
              bad_field (ctx, name, "target_shape", _("has a dimension out of range"));
              FAIL ();
            }
          layer->target_shape[i] = (gssize) d;
        }
    }
  else if (strcmp (c, "Dropout") == 0 || strcmp (c, "SpatialDropout2D") == 0 ||
           strcmp (c, "GaussianNoise") == 0 || strcmp (c, "GaussianDropout") == 0 ||
           strcmp (c, "AlphaDropout") == 0 || strcmp (c, "ActivityRegularization") == 0)
    layer->kind = QS_LAYER_IDENTITY;
  else if (strcmp (c, "BatchNormalization") == 0)
    {
      layer->kind = QS_LAYER_BATCH_NORM;
      if (!parse_axis (ctx, config, layer, -1) ||
          !get_number (ctx, config, name, "epsilon", 1e-3, &v))
        FAIL ();
      layer->bn_epsilon = (float) v;
      if (v < 0)
        {
          bad_field (ctx, name, "epsilon", _("is negative"));
          FAIL ();
        }
    }
  else if (strcmp (c, "Activation") == 0)
    {
      layer->kind = QS_LAYER_ACTIVATION;
      parse_activation (ctx, config, layer);
    }
  else if (strcmp (c, "ReLU") == 0)
    {
      layer->kind = QS_LAYER_ACTIVATION;
      layer->activation = QS_ACTIVATION_RELU;
      if (!get_number (ctx, config, name, "max_value", -1, &v))
        FAIL ();
      layer->relu_max_value = (float) v;
      if (!get_number (ctx, config, name, "negative_slope", 0, &v))
        FAIL ();
      layer->relu_negative_slope = (float) v;
      if (!get_number (ctx, config, name, "threshold", 0, &v))
        FAIL ();
      layer->relu_threshold = (float) v;
    }
  else if (strcmp (c, "LeakyReLU") == 0)
    {
      layer->kind = QS_LAYER_ACTIVATION;
      layer->activation = QS_ACTIVATION_LEAKY_RELU;
      if (!get_number (ctx, config, name, json_object_has_member (config, "negative_slope") ? "negative_slope" : "alpha",
                       0.3, &v))
        FAIL ();
      layer->alpha = (float) v;
    }
  else if (strcmp (c, "ELU") == 0)
    {
      layer->kind = QS_LAYER_ACTIVATION;
      layer->activation = QS_ACTIVATION_ELU;
      if (!get_number (ctx, config, name, "alpha", 1.0, &v))
        FAIL ();
      layer->alpha = (float) v;
    }
  else if (strcmp (c, "Softmax") == 0)
    {
      layer->kind = QS_LAYER_ACTIVATION;
      layer->activation = QS_ACTIVATION_SOFTMAX;
      if (!parse_axis (ctx, config, layer, -1))
        FAIL ();
    }
  else if (strcmp (c, "Add") == 0)
    layer->kind = QS_LAYER_ADD;
  else if (strcmp (c, "Concatenate") == 0)
    {
      layer->kind = QS_LAYER_CONCATENATE;
      if (!parse_axis (ctx, config, layer, -1))
        FAIL ();
    }
  else if (strcmp (c, "ZeroPadding2D") == 0)
    {
      JsonNode *p = json_object_get_member (config, "padding");
      layer->kind = QS_LAYER_ZERO_PADDING2D;
      if (p != NULL && JSON_NODE_HOLDS_ARRAY (p) && json_array_get_length (json_node_get_array (p)) == 2 &&
          JSON_NODE_HOLDS_ARRAY (json_array_get_element (json_node_get_array (p), 0)))
        {
          JsonArray *a = json_node_get_array (p);
          for (guint i = 0; i < 2; i++)
            {
              JsonNode *e = json_array_get_element (a, i);
              JsonObject *wrap = json_object_new ();
              gboolean ok;
              json_object_set_member (wrap, "padding", json_node_copy (e));
              ok = get_uint_tuple (ctx, wrap, name, "padding", 2, 0, &layer->zero_padding[2 * i]);
              json_object_unref (wrap);
              if (!ok)
                FAIL ();
            }
        }
      else
        {
          guint hw[2];
          if (!get_uint_tuple (ctx, config, name, "padding", 2, 1, hw))
            FAIL ();
          layer->zero_padding[0] = layer->zero_padding[1] = hw[0];
          layer->zero_padding[2] = layer->zero_padding[3] = hw[1];
        }
      check_channels_last (config, layer);
    }
  else if (strcmp (c, "Rescaling") == 0)
    {
      JsonNode *s = json_object_get_member (config, "scale");
      JsonNode *o = json_object_get_member (config, "offset");
      layer->kind = QS_LAYER_RESCALING;
      if ((s != NULL && JSON_NODE_HOLDS_ARRAY (s) && json_array_get_length (json_node_get_array (s)) > 1) ||
          (o != NULL && JSON_NODE_HOLDS_ARRAY (o) && json_array_get_length (json_node_get_array (o)) > 1))
        {
          layer->kind = QS_LAYER_UNSUPPORTED;
          layer->why_unsupported = g_strdup (_("per-channel rescaling"));
        }
      else
        {
          if (!get_number (ctx, config, name, "scale", 1.0, &v))
            FAIL ();
          layer->rescale_scale = (float) v;
          if (!get_number (ctx, config, name, "offset", 0.0, &v))
            FAIL ();
          layer->rescale_offset = (float) v;
        }
    }
  else if (strcmp (c, "Normalization") == 0)
    {
      layer->kind = QS_LAYER_NORMALIZATION;
      if (!parse_normalization (ctx, config, layer))
        FAIL ();
    }
  else if (strcmp (c, "Resizing") == 0 || strcmp (c, "CenterCrop") == 0)
    {
      layer->kind = c[0] == 'R' ? QS_LAYER_RESIZING : QS_LAYER_CENTER_CROP;
      if (!parse_resizing (ctx, config, layer))
        FAIL ();
    }
  else
    layer->why_unsupported = g_strdup (_("unsupported layer type"));

#undef FAIL
  return layer;
}

/* Collects the names of the layers an inbound node refers to: Keras 2 lists
 * ["name", node, tensor, {kwargs}] and Keras 3 {"class_name": "__keras_tensor__",
 * "config": {"keras_history": ["name", node, tensor]}}. */
static void
collect_refs (JsonNode  *node,
              GPtrArray *names,
              guint      depth,
              gboolean  *nonzero_node)
{
  if (node == NULL || depth > QS_MODEL_MAX_JSON_DEPTH)
    return;
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      guint n = json_array_get_length (a);

      if (n >= 3 && n <= 4)
        {
          JsonNode *e0 = json_array_get_element (a, 0);
          JsonNode *e1 = json_array_get_element (a, 1);
          JsonNode *e2 = json_array_get_element (a, 2);
          if (JSON_NODE_HOLDS_VALUE (e0) && json_node_get_value_type (e0) == G_TYPE_STRING &&
              JSON_NODE_HOLDS_VALUE (e1) && json_node_get_value_type (e1) == G_TYPE_INT64 &&
              JSON_NODE_HOLDS_VALUE (e2) && json_node_get_value_type (e2) == G_TYPE_INT64)
            {
              if (json_node_get_int (e1) != 0)
                *nonzero_node = TRUE;
              g_ptr_array_add (names, (gpointer) json_node_get_string (e0));
              return;
            }
        }
      for (guint i = 0; i < n; i++)
        collect_refs (json_array_get_element (a, i), names, depth + 1, nonzero_node);
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      const char *cls = get_string (o, "class_name");

      if (g_strcmp0 (cls, "__keras_tensor__") == 0)
        {
          JsonNode *cfg = json_object_get_member (o, "config");
          if (cfg != NULL && JSON_NODE_HOLDS_OBJECT (cfg))
            collect_refs (json_object_get_member (json_node_get_object (cfg), "keras_history"),
                          names, depth + 1, nonzero_node);
          return;
        }
      {
        g_autoptr(GList) members = json_object_get_members (o);
        for (GList *l = members; l != NULL; l = l->next)
          collect_refs (json_object_get_member (o, l->data), names, depth + 1, nonzero_node);
      }
    }
}

typedef struct
{
  QsLayer    *layer;
  JsonObject *config;
  GPtrArray  *input_names; /* const char * (borrowed from the JSON) */
  char       *keras3_name;
  guint       new_index;
  guint8      mark;        /* 0 white, 1 grey, 2 black */
} Entry;

static void
entry_clear (Entry *e)
{
  if (e->layer != NULL)
    qs_layer_free (e->layer);
  if (e->config != NULL)
    json_object_unref (e->config);
  if (e->input_names != NULL)
    g_ptr_array_unref (e->input_names);
  g_free (e->keras3_name);
}

/* Depth-first post-order, iterative (no recursion on hostile graphs). */
static gboolean
visit (Ctx        *ctx,
       GArray     *entries,
       GHashTable *index_of,
       guint       start,
       GArray     *order)
{
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (guint) * 2);
  guint frame[2] = { start, 0 };

  if (g_array_index (entries, Entry, start).mark == 2)
    return TRUE;
  g_array_index (entries, Entry, start).mark = 1;
  g_array_append_val (stack, frame);
  while (stack->len > 0)
    {
      guint *top = &((guint *) stack->data)[2 * (stack->len - 1)];
      Entry *e = &g_array_index (entries, Entry, top[0]);

      if (top[1] < e->input_names->len)
        {
          const char *dep = g_ptr_array_index (e->input_names, top[1]);
          gpointer idx;
          Entry *d;

          top[1]++;
          if (!g_hash_table_lookup_extended (index_of, dep, NULL, &idx))
            {
              g_set_error (ctx->error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                           _("%s: layer “%s”: field “inbound_nodes” refers to “%s”, which is not a layer of the model"),
                           ctx->where, e->layer->name, dep);
              return FALSE;
            }
          d = &g_array_index (entries, Entry, GPOINTER_TO_UINT (idx));
          if (d->mark == 1)
            {
              g_set_error (ctx->error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                           _("%s: layer “%s”: field “inbound_nodes” makes a cycle through “%s”"),
                           ctx->where, e->layer->name, dep);
              return FALSE;
            }
          if (d->mark == 0)
            {
              guint f[2] = { GPOINTER_TO_UINT (idx), 0 };
              d->mark = 1;
              g_array_append_val (stack, f);
            }
        }
      else
        {
          guint idx = top[0];
          e->mark = 2;
          e->new_index = order->len;
          g_array_append_val (order, idx);
          g_array_set_size (stack, stack->len - 1);
        }
    }
  return TRUE;
}

static const char *
ref_name (JsonNode *node)
{
  /* ["name", 0, 0] or [["name", 0, 0]] */
  while (node != NULL && JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) > 0)
    {
      JsonNode *first = json_array_get_element (json_node_get_array (node), 0);
      if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING)
        return json_node_get_string (first);
      node = first;
    }
  return NULL;
}

gboolean
_qs_keras_config_parse (const char  *json,
                        gsize        length,
                        const char  *where,
                        char       **model_name,
                        GPtrArray  **out_layers,
                        GPtrArray  **out_configs,
                        GPtrArray  **out_keras3_names,
                        GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GArray) entries = NULL;
  g_autoptr(GHashTable) index_of = NULL;
  g_autoptr(GArray) order = NULL;
  g_autoptr(GHashTable) used_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Ctx ctx = { where, error };
  JsonNode *root;
  JsonArray *layer_list = NULL;
  JsonObject *model_config = NULL;
  gboolean functional = FALSE;
  const char *output_name = NULL;
  GPtrArray *layers, *configs;

  if (length > QS_MODEL_MAX_JSON_BYTES)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("%s: the model configuration is larger than %zu MB"),
                   where, QS_MODEL_MAX_JSON_BYTES >> 20);
      return FALSE;
    }
  if (!g_utf8_validate (json, length, NULL))
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                   _("%s: the model configuration is not valid UTF-8 text"), where);
      return FALSE;
    }
  if (!check_depth (json, length, where, error))
    return FALSE;

  parser = json_parser_new_immutable ();
  {
    g_autoptr(GError) local = NULL;
    if (!json_parser_load_from_data (parser, json, length, &local))
      {
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                     _("%s: the model configuration is not valid JSON: %s"), where, local->message);
        return FALSE;
      }
  }
  root = json_parser_get_root (parser);
  if (root == NULL)
    goto not_a_model;

  if (JSON_NODE_HOLDS_ARRAY (root))
    layer_list = json_node_get_array (root);  /* Keras 2.1 and older: bare Sequential list */
  else if (JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *o = json_node_get_object (root);
      const char *cls = get_string (o, "class_name");
      JsonNode *cfg = json_object_get_member (o, "config");

      if (cls == NULL || cfg == NULL)
        goto not_a_model;
      if (JSON_NODE_HOLDS_ARRAY (cfg))
        layer_list = json_node_get_array (cfg);
      else if (JSON_NODE_HOLDS_OBJECT (cfg))
        {
          JsonNode *ln;
          model_config = json_node_get_object (cfg);
          ln = json_object_get_member (model_config, "layers");
          if (ln == NULL || !JSON_NODE_HOLDS_ARRAY (ln))
            {
              g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                           _("%s: model “%s”: field “layers” is missing or not a list"), where, cls);
              return FALSE;
            }
          layer_list = json_node_get_array (ln);
          functional = strcmp (cls, "Sequential") != 0;
        }
      else
        goto not_a_model;
      if (functional && strcmp (cls, "Functional") != 0 && strcmp (cls, "Model") != 0)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_UNSUPPORTED,
                       _("%s: the model class “%s” is not a Sequential or Functional model"), where, cls);
          return FALSE;
        }
    }
  else
    goto not_a_model;

  if (model_name != NULL)
    *model_name = model_config != NULL ? g_strdup (get_string (model_config, "name")) : NULL;

  if (json_array_get_length (layer_list) == 0)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                   _("%s: the model has no layers"), where);
      return FALSE;
    }
  if (json_array_get_length (layer_list) > QS_MODEL_MAX_LAYERS)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("%s: the model has more than %u layers"), where, QS_MODEL_MAX_LAYERS);
      return FALSE;
    }

  entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (entries, (GDestroyNotify) entry_clear);
  index_of = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < json_array_get_length (layer_list); i++)
    {
      JsonNode *ln = json_array_get_element (layer_list, i);
      JsonObject *lo, *config;
      JsonNode *cn;
      const char *cls, *name;
      Entry e = { 0 };

      if (!JSON_NODE_HOLDS_OBJECT (ln))
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                       _("%s: layer %u of field “layers” is not an object"), where, i);
          return FALSE;
        }
      lo = json_node_get_object (ln);
      cls = get_string (lo, "class_name");
      cn = json_object_get_member (lo, "config");
      if (cls == NULL || cn == NULL || !JSON_NODE_HOLDS_OBJECT (cn))
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                       _("%s: layer %u has no “class_name” or “config”"), where, i);
          return FALSE;
        }
      config = json_node_get_object (cn);
      name = get_string (config, "name");
      if (name == NULL)
        name = get_string (lo, "name");
      if (name == NULL || *name == '\0' || strchr (name, '/') != NULL)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                       _("%s: layer %u (%s): field “name” is missing or invalid"), where, i, cls);
          return FALSE;
        }
      if (g_hash_table_contains (index_of, name))
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                       _("%s: two layers are named “%s”"), where, name);
          return FALSE;
        }

      /* Sequential without an InputLayer: Keras builds one named "<first>_input". */
      if (i == 0 && !functional && strcmp (cls, "InputLayer") != 0)
        {
          g_autofree char *input_name = g_strdup_printf ("%s_input", name);
          Entry in = { 0 };
          gboolean found;

          in.layer = qs_layer_new (input_name, "InputLayer", QS_LAYER_INPUT);
          in.input_names = g_ptr_array_new ();
          if (!find_input_shape (&ctx, lo, config, name, in.layer, &found))
            {
              entry_clear (&in);
              return FALSE;
            }
          g_array_append_val (entries, in);
          g_hash_table_insert (index_of, in.layer->name, GUINT_TO_POINTER (entries->len - 1));
        }

      e.layer = parse_layer (&ctx, lo, config, cls, name);
      if (e.layer == NULL)
        return FALSE;
      e.config = json_object_ref (lo);
      e.input_names = g_ptr_array_new ();
      {
        char *snake = _qs_keras_snake_case (cls);
        gpointer count;
        if (g_hash_table_lookup_extended (used_names, snake, NULL, &count))
          {
            guint c = GPOINTER_TO_UINT (count) + 1;
            e.keras3_name = g_strdup_printf ("%s_%u", snake, c);
            g_hash_table_insert (used_names, snake, GUINT_TO_POINTER (c));
          }
        else
          {
            e.keras3_name = g_strdup (snake);
            g_hash_table_insert (used_names, snake, GUINT_TO_POINTER (0));
          }
      }
      if (functional)
        {
          JsonNode *nodes = json_object_get_member (lo, "inbound_nodes");
          gboolean nonzero = FALSE;
          if (nodes != NULL && JSON_NODE_HOLDS_ARRAY (nodes) && json_array_get_length (json_node_get_array (nodes)) > 0)
            {
              JsonArray *na = json_node_get_array (nodes);
              collect_refs (json_array_get_element (na, 0), e.input_names, 0, &nonzero);
              if ((json_array_get_length (na) > 1 || nonzero) && e.layer->kind != QS_LAYER_UNSUPPORTED)
                {
                  e.layer->kind = QS_LAYER_UNSUPPORTED;
                  g_free (e.layer->why_unsupported);
                  e.layer->why_unsupported = g_strdup (_("a layer called more than once (shared weights)"));
                }
            }
          if (e.input_names->len == 0 && e.layer->kind != QS_LAYER_INPUT)
            {
              g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                           _("%s: layer “%s” (%s): field “inbound_nodes” names no input"), where, name, cls);
              entry_clear (&e);
              return FALSE;
            }
        }
      else if (entries->len > 0)
        {
          Entry *prev = &g_array_index (entries, Entry, entries->len - 1);
          g_ptr_array_add (e.input_names, prev->layer->name);
        }
      if (!functional && e.layer->kind == QS_LAYER_INPUT && entries->len > 0)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                       _("%s: layer “%s”: an InputLayer in the middle of a Sequential model"), where, name);
          entry_clear (&e);
          return FALSE;
        }
      g_array_append_val (entries, e);
      g_hash_table_insert (index_of, e.layer->name, GUINT_TO_POINTER (entries->len - 1));
    }

  if (functional)
    {
      output_name = ref_name (json_object_get_member (model_config, "output_layers"));
      if (output_name == NULL || !g_hash_table_contains (index_of, output_name))
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                       _("%s: field “output_layers” does not name a layer of the model"), where);
          return FALSE;
        }
    }

  /* Topological order: every layer except the output first (config order), then the output,
   * so the output comes last; InputLayers are moved to the front. */
  order = g_array_new (FALSE, FALSE, sizeof (guint));
  {
    guint out_idx = output_name != NULL ? GPOINTER_TO_UINT (g_hash_table_lookup (index_of, output_name))
                                        : entries->len - 1;
    const char *input_name = functional ? ref_name (json_object_get_member (model_config, "input_layers")) : NULL;
    guint first_input = G_MAXUINT;

    if (input_name != NULL && g_hash_table_contains (index_of, input_name))
      first_input = GPOINTER_TO_UINT (g_hash_table_lookup (index_of, input_name));
    else
      for (guint i = 0; i < entries->len && first_input == G_MAXUINT; i++)
        if (g_array_index (entries, Entry, i).layer->kind == QS_LAYER_INPUT)
          first_input = i;
    if (first_input == G_MAXUINT)
      {
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                     _("%s: the model has no InputLayer"), where);
        return FALSE;
      }
    if (!visit (&ctx, entries, index_of, first_input, order))
      return FALSE;
    for (guint i = 0; i < entries->len; i++)
      if (i != out_idx && g_array_index (entries, Entry, i).layer->kind == QS_LAYER_INPUT &&
          !visit (&ctx, entries, index_of, i, order))
        return FALSE;
    for (guint i = 0; i < entries->len; i++)
      if (i != out_idx && !visit (&ctx, entries, index_of, i, order))
        return FALSE;
    if (!visit (&ctx, entries, index_of, out_idx, order))
      return FALSE;
  }

  layers = g_ptr_array_new_full (order->len, (GDestroyNotify) qs_layer_free);
  configs = g_ptr_array_new_full (order->len, _qs_json_object_unref0);
  if (out_keras3_names != NULL)
    *out_keras3_names = g_ptr_array_new_full (order->len, g_free);
  for (guint k = 0; k < order->len; k++)
    {
      Entry *e = &g_array_index (entries, Entry, g_array_index (order, guint, k));
      QsLayer *layer = g_steal_pointer (&e->layer);

      layer->n_inputs = e->input_names->len;
      layer->inputs = g_new0 (guint, MAX (layer->n_inputs, 1));
      for (guint j = 0; j < layer->n_inputs; j++)
        {
          guint idx = GPOINTER_TO_UINT (g_hash_table_lookup (index_of, g_ptr_array_index (e->input_names, j)));
          layer->inputs[j] = g_array_index (entries, Entry, idx).new_index;
        }
      g_ptr_array_add (layers, layer);
      g_ptr_array_add (configs, g_steal_pointer (&e->config));
      if (out_keras3_names != NULL)
        g_ptr_array_add (*out_keras3_names, g_strdup (e->keras3_name));
    }
  *out_layers = layers;
  *out_configs = configs;
  return TRUE;

not_a_model:
  g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
               _("%s: the model configuration has no “class_name” and “config”"), where);
  return FALSE;
}

char *
_qs_keras_snake_case (const char *class_name)
{
  GString *a = g_string_new (NULL);
  GString *b = g_string_new (NULL);
  gsize n = strlen (class_name), i = 0;

  /* keras.src.utils.naming.to_snake_case: re.sub ("(.)([A-Z][a-z]+)", r"\1_\2"), then
   * re.sub ("([a-z])([A-Z])", r"\1_\2"), then lower (). */
  while (i < n)
    {
      if (i + 2 < n + 0 && g_ascii_isupper (class_name[i + 1]) && g_ascii_islower (class_name[i + 2]))
        {
          gsize j = i + 2;
          while (j < n && g_ascii_islower (class_name[j]))
            j++;
          g_string_append_c (a, class_name[i]);
          g_string_append_c (a, '_');
          g_string_append_len (a, class_name + i + 1, j - i - 1);
          i = j;
        }
      else
        g_string_append_c (a, class_name[i++]);
    }
  for (i = 0; i < a->len; i++)
    {
      if (i > 0 && g_ascii_islower (a->str[i - 1]) && g_ascii_isupper (a->str[i]))
        g_string_append_c (b, '_');
      g_string_append_c (b, g_ascii_tolower (a->str[i]));
    }
  g_string_free (a, TRUE);
  return g_string_free (b, FALSE);
}

/* --- writing (Keras 2 Functional config) --- */

static void
add_uint_pair (JsonBuilder *b,
               const char  *name,
               const guint *v)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  json_builder_add_int_value (b, v[0]);
  json_builder_add_int_value (b, v[1]);
  json_builder_end_array (b);
}

static void
add_member_string (JsonBuilder *b,
                   const char  *name,
                   const char  *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
add_member_int (JsonBuilder *b,
                const char  *name,
                gint64       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_member_double (JsonBuilder *b,
                   const char  *name,
                   double       value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, value);
}

static void
add_member_bool (JsonBuilder *b,
                 const char  *name,
                 gboolean     value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

static void
write_layer_config (JsonBuilder   *b,
                    const QsLayer *l)
{
  const char *cls = l->class_name;

  add_member_string (b, "name", l->name);
  if (l->kind != QS_LAYER_INPUT)
    {
      add_member_bool (b, "trainable", TRUE);
      add_member_string (b, "dtype", "float32");
    }
  switch (l->kind)
    {
    case QS_LAYER_INPUT:
      json_builder_set_member_name (b, "batch_input_shape");
      json_builder_begin_array (b);
      json_builder_add_null_value (b);
      for (guint i = 0; i < l->output_rank; i++)
        json_builder_add_int_value (b, l->output_shape[i]);
      json_builder_end_array (b);
      add_member_string (b, "dtype", "float32");
      add_member_bool (b, "sparse", FALSE);
      add_member_bool (b, "ragged", FALSE);
      break;
    case QS_LAYER_DENSE:
      add_member_int (b, "units", l->units);
      add_member_string (b, "activation", _qs_activation_to_keras (l->activation));
      add_member_bool (b, "use_bias", l->use_bias);
      break;
    case QS_LAYER_CONV2D:
    case QS_LAYER_DEPTHWISE_CONV2D:
    case QS_LAYER_SEPARABLE_CONV2D:
      if (l->kind != QS_LAYER_DEPTHWISE_CONV2D)
        add_member_int (b, "filters", l->filters);
      add_uint_pair (b, "kernel_size", l->kernel_size);
      add_uint_pair (b, "strides", l->strides);
      add_member_string (b, "padding", l->padding == QS_PADDING_SAME ? "same" : "valid");
      add_member_string (b, "data_format", "channels_last");
      add_uint_pair (b, "dilation_rate", l->dilation);
      if (l->kind == QS_LAYER_CONV2D)
        add_member_int (b, "groups", 1);
      else
        add_member_int (b, "depth_multiplier", l->depth_multiplier);
      add_member_string (b, "activation", _qs_activation_to_keras (l->activation));
      add_member_bool (b, "use_bias", l->use_bias);
      break;
    case QS_LAYER_MAX_POOL2D:
    case QS_LAYER_AVG_POOL2D:
      add_uint_pair (b, "pool_size", l->pool_size);
      add_uint_pair (b, "strides", l->pool_strides);
      add_member_string (b, "padding", l->padding == QS_PADDING_SAME ? "same" : "valid");
      add_member_string (b, "data_format", "channels_last");
      break;
    case QS_LAYER_GLOBAL_AVG_POOL2D:
    case QS_LAYER_GLOBAL_MAX_POOL2D:
      add_member_string (b, "data_format", "channels_last");
      add_member_bool (b, "keepdims", FALSE);
      break;
    case QS_LAYER_FLATTEN:
      add_member_string (b, "data_format", "channels_last");
      break;
    case QS_LAYER_RESHAPE:
      json_builder_set_member_name (b, "target_shape");
      json_builder_begin_array (b);
      for (guint i = 0; i < l->target_rank; i++)
        json_builder_add_int_value (b, l->target_shape[i]);
      json_builder_end_array (b);
      break;
    case QS_LAYER_IDENTITY:
      if (strcmp (cls, "GaussianNoise") == 0)
        add_member_double (b, "stddev", 0.0);
      else
        add_member_double (b, "rate", 0.0);
      break;
    case QS_LAYER_BATCH_NORM:
      add_member_int (b, "axis", -1);
      add_member_double (b, "momentum", 0.99);
      add_member_double (b, "epsilon", l->bn_epsilon);
      add_member_bool (b, "center", _qs_layer_find_weight (l, "beta") != NULL);
      add_member_bool (b, "scale", _qs_layer_find_weight (l, "gamma") != NULL);
      break;
    case QS_LAYER_ACTIVATION:
      if (strcmp (cls, "ReLU") == 0)
        {
          json_builder_set_member_name (b, "max_value");
          if (l->relu_max_value < 0)
            json_builder_add_null_value (b);
          else
            json_builder_add_double_value (b, l->relu_max_value);
          add_member_double (b, "negative_slope", l->relu_negative_slope);
          add_member_double (b, "threshold", l->relu_threshold);
        }
      else if (strcmp (cls, "LeakyReLU") == 0 || strcmp (cls, "ELU") == 0)
        add_member_double (b, "alpha", l->alpha);
      else if (strcmp (cls, "Softmax") == 0)
        add_member_int (b, "axis", -1);
      else
        add_member_string (b, "activation", _qs_activation_to_keras (l->activation));
      break;
    case QS_LAYER_ADD:
      break;
    case QS_LAYER_CONCATENATE:
      add_member_int (b, "axis", l->axis + 1);
      break;
    case QS_LAYER_ZERO_PADDING2D:
      json_builder_set_member_name (b, "padding");
      json_builder_begin_array (b);
      for (guint i = 0; i < 2; i++)
        {
          json_builder_begin_array (b);
          json_builder_add_int_value (b, l->zero_padding[2 * i]);
          json_builder_add_int_value (b, l->zero_padding[2 * i + 1]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      break;
    case QS_LAYER_RESCALING:
      add_member_double (b, "scale", l->rescale_scale);
      add_member_double (b, "offset", l->rescale_offset);
      break;
    case QS_LAYER_NORMALIZATION:
      json_builder_set_member_name (b, "axis");
      if (l->axis == QS_NORMALIZATION_AXIS_NONE)
        json_builder_add_null_value (b);
      else
        {
          json_builder_begin_array (b);
          json_builder_add_int_value (b, l->axis < 0 ? l->axis : l->axis + 1);
          json_builder_end_array (b);
        }
      add_member_bool (b, "invert", FALSE);
      for (guint k = 0; k < 2; k++)
        {
          const float *v = k == 0 ? l->norm_mean : l->norm_variance;

          json_builder_set_member_name (b, k == 0 ? "mean" : "variance");
          if (v == NULL || _qs_layer_find_weight (l, k == 0 ? "mean" : "variance") != NULL)
            json_builder_add_null_value (b);
          else
            {
              json_builder_begin_array (b);
              for (gsize i = 0; i < l->norm_n; i++)
                json_builder_add_double_value (b, v[i]);
              json_builder_end_array (b);
            }
        }
      break;
    case QS_LAYER_RESIZING:
    case QS_LAYER_CENTER_CROP:
      add_member_int (b, "height", l->resize_size[0]);
      add_member_int (b, "width", l->resize_size[1]);
      if (l->kind == QS_LAYER_RESIZING)
        {
          add_member_string (b, "interpolation",
                             l->resize_interpolation == QS_INTERPOLATION_NEAREST ? "nearest" : "bilinear");
          add_member_bool (b, "crop_to_aspect_ratio", l->crop_to_aspect_ratio);
        }
      break;
    case QS_LAYER_WEIGHTS:
    case QS_LAYER_UNSUPPORTED:
    default:
      g_assert_not_reached ();
    }
}

static const char *
keras2_class_name (const QsLayer *l)
{
  switch (l->kind)
    {
    case QS_LAYER_IDENTITY:
      if (strcmp (l->class_name, "SpatialDropout2D") == 0 || strcmp (l->class_name, "GaussianNoise") == 0)
        return l->class_name;
      return "Dropout";
    case QS_LAYER_ACTIVATION:
      if (strcmp (l->class_name, "ReLU") == 0 || strcmp (l->class_name, "LeakyReLU") == 0 ||
          strcmp (l->class_name, "ELU") == 0 || strcmp (l->class_name, "Softmax") == 0)
        return l->class_name;
      return "Activation";
    case QS_LAYER_CONV2D:
      return "Conv2D";
    case QS_LAYER_SEPARABLE_CONV2D:
      return "SeparableConv2D";
    case QS_LAYER_MAX_POOL2D:
      return "MaxPooling2D";
    case QS_LAYER_AVG_POOL2D:
      return "AveragePooling2D";
    case QS_LAYER_GLOBAL_AVG_POOL2D:
      return "GlobalAveragePooling2D";
    case QS_LAYER_GLOBAL_MAX_POOL2D:
      return "GlobalMaxPooling2D";
    default:
      return l->class_name;
    }
}

char *
_qs_keras_config_write (QsModel  *model,
                        GError  **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = NULL;
  g_autoptr(JsonNode) root = NULL;
  guint n = model->layers->len;
  const QsLayer *last;

  json_builder_begin_object (b);
  add_member_string (b, "class_name", "Functional");
  json_builder_set_member_name (b, "config");
  json_builder_begin_object (b);
  add_member_string (b, "name", model->name);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      const QsLayer *l = g_ptr_array_index (model->layers, i);
      JsonObject *orig = model->configs != NULL && i < model->configs->len ? g_ptr_array_index (model->configs, i) : NULL;

      json_builder_begin_object (b);
      if (l->kind == QS_LAYER_UNSUPPORTED || l->kind == QS_LAYER_WEIGHTS)
        {
          JsonNode *cfg = orig != NULL ? json_object_get_member (orig, "config") : NULL;
          if (cfg == NULL)
            {
              g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE,
                           _("Layer “%s” (%s) has no configuration that Keras could read"),
                           l->name, l->class_name);
              return NULL;
            }
          add_member_string (b, "class_name", l->class_name);
          json_builder_set_member_name (b, "config");
          json_builder_add_value (b, json_node_copy (cfg));
        }
      else
        {
          add_member_string (b, "class_name", keras2_class_name (l));
          json_builder_set_member_name (b, "config");
          json_builder_begin_object (b);
          write_layer_config (b, l);
          json_builder_end_object (b);
        }
      add_member_string (b, "name", l->name);
      json_builder_set_member_name (b, "inbound_nodes");
      json_builder_begin_array (b);
      if (l->n_inputs > 0)
        {
          json_builder_begin_array (b);
          for (guint j = 0; j < l->n_inputs; j++)
            {
              const QsLayer *src = g_ptr_array_index (model->layers, l->inputs[j]);
              json_builder_begin_array (b);
              json_builder_add_string_value (b, src->name);
              json_builder_add_int_value (b, 0);
              json_builder_add_int_value (b, 0);
              json_builder_begin_object (b);
              json_builder_end_object (b);
              json_builder_end_array (b);
            }
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  last = g_ptr_array_index (model->layers, model->output_index);
  json_builder_set_member_name (b, "input_layers");
  json_builder_begin_array (b);
  json_builder_begin_array (b);
  json_builder_add_string_value (b, ((QsLayer *) g_ptr_array_index (model->layers, 0))->name);
  json_builder_add_int_value (b, 0);
  json_builder_add_int_value (b, 0);
  json_builder_end_array (b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "output_layers");
  json_builder_begin_array (b);
  json_builder_begin_array (b);
  json_builder_add_string_value (b, last->name);
  json_builder_add_int_value (b, 0);
  json_builder_add_int_value (b, 0);
  json_builder_end_array (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}
