/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-model-private.h"

G_DEFINE_QUARK (qs-model-error-quark, qs_model_error)
G_DEFINE_FINAL_TYPE (QsModel, qs_model, G_TYPE_OBJECT)

static GMutex checksum_lock;

static void
qs_model_finalize (GObject *object)
{
  QsModel *self = QS_MODEL (object);

  g_free (self->path);
  g_free (self->name);
  g_free (self->keras_version);
  g_free (self->backend);
  g_free (self->checksum);
  g_free (self->why_not);
  g_free (self->architecture_json);
  g_clear_pointer (&self->by_name, g_hash_table_unref);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_clear_pointer (&self->configs, g_ptr_array_unref);

  G_OBJECT_CLASS (qs_model_parent_class)->finalize (object);
}

static void
qs_model_class_init (QsModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qs_model_finalize;
}

static void
qs_model_init (QsModel *self)
{
  self->format = QS_MODEL_FORMAT_KERAS2_MODEL;
}

/* --- layers --- */

QsLayer *
qs_layer_new (const char  *name,
              const char  *class_name,
              QsLayerKind  kind)
{
  QsLayer *layer;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (class_name != NULL, NULL);

  layer = g_new0 (QsLayer, 1);
  layer->name = g_strdup (name);
  layer->class_name = g_strdup (class_name);
  layer->kind = kind;
  layer->weights = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_tensor_unref);
  layer->kernel_size[0] = layer->kernel_size[1] = 1;
  layer->strides[0] = layer->strides[1] = 1;
  layer->dilation[0] = layer->dilation[1] = 1;
  layer->padding = QS_PADDING_VALID;
  layer->depth_multiplier = 1;
  layer->use_bias = TRUE;
  layer->activation = QS_ACTIVATION_LINEAR;
  layer->relu_max_value = -1.0f;
  layer->relu_negative_slope = 0.0f;
  layer->relu_threshold = 0.0f;
  layer->alpha = 1.0f;
  layer->pool_size[0] = layer->pool_size[1] = 2;
  layer->pool_strides[0] = layer->pool_strides[1] = 2;
  layer->bn_epsilon = 1e-3f;
  layer->axis = -1;
  layer->rescale_scale = 1.0f;
  layer->rescale_offset = 0.0f;
  return layer;
}

void
qs_layer_free (QsLayer *layer)
{
  if (layer == NULL)
    return;
  g_free (layer->name);
  g_free (layer->class_name);
  g_clear_pointer (&layer->weights, g_ptr_array_unref);
  g_free (layer->inputs);
  g_free (layer->why_unsupported);
  g_free (layer->norm_mean);
  g_free (layer->norm_variance);
  g_free (layer);
}

QsTensor *
_qs_layer_find_weight (const QsLayer *layer,
                       const char    *short_name)
{
  for (guint i = 0; i < layer->weights->len; i++)
    {
      QsTensor *t = g_ptr_array_index (layer->weights, i);

      if (g_strcmp0 (_qs_weight_short_name (t), short_name) == 0)
        return t;
    }
  return NULL;
}

const char *
_qs_weight_short_name (const QsTensor *tensor)
{
  const char *slash = strrchr (tensor->name, '/');

  return slash != NULL ? slash + 1 : tensor->name;
}

QsTensor *
qs_layer_get_kernel (const QsLayer *layer)
{
  g_return_val_if_fail (layer != NULL, NULL);

  switch (layer->kind)
    {
    case QS_LAYER_DENSE:
    case QS_LAYER_CONV2D:
      return _qs_layer_find_weight (layer, "kernel");
    case QS_LAYER_DEPTHWISE_CONV2D:
    case QS_LAYER_SEPARABLE_CONV2D:
      return _qs_layer_find_weight (layer, "depthwise_kernel");
    case QS_LAYER_WEIGHTS:
    case QS_LAYER_UNSUPPORTED:
      {
        QsTensor *t = _qs_layer_find_weight (layer, "kernel");
        if (t == NULL && layer->weights->len > 0)
          t = g_ptr_array_index (layer->weights, 0);
        return t;
      }
    default:
      return NULL;
    }
}

QsTensor *
qs_layer_get_bias (const QsLayer *layer)
{
  g_return_val_if_fail (layer != NULL, NULL);

  if (layer->kind == QS_LAYER_BATCH_NORM)
    return NULL;
  return _qs_layer_find_weight (layer, "bias");
}

gboolean
qs_layer_has_weights (const QsLayer *layer)
{
  g_return_val_if_fail (layer != NULL, FALSE);
  return layer->weights->len > 0;
}

void
_qs_layer_set_layouts (QsLayer *layer)
{
  for (guint i = 0; i < layer->weights->len; i++)
    {
      QsTensor *t = g_ptr_array_index (layer->weights, i);
      const char *s = _qs_weight_short_name (t);
      QsTensorLayout layout;

      if (t->n_dims == 1)
        layout = QS_TENSOR_LAYOUT_VECTOR;
      else if (strcmp (s, "depthwise_kernel") == 0 && t->n_dims == 4)
        layout = QS_TENSOR_LAYOUT_DEPTHWISE;
      else if (layer->kind == QS_LAYER_DEPTHWISE_CONV2D && t->n_dims == 4)
        layout = QS_TENSOR_LAYOUT_DEPTHWISE;
      else if (t->n_dims == 4)
        layout = QS_TENSOR_LAYOUT_CONV2D;
      else if (t->n_dims == 2)
        layout = QS_TENSOR_LAYOUT_DENSE;
      else
        layout = QS_TENSOR_LAYOUT_GENERIC;
      qs_tensor_set_layout (t, layout);
    }
}

/* --- activations --- */

static const struct
{
  const char   *name;
  QsActivation  activation;
} activation_names[] = {
  { "linear", QS_ACTIVATION_LINEAR },
  { "relu", QS_ACTIVATION_RELU },
  { "relu6", QS_ACTIVATION_RELU6 },
  { "sigmoid", QS_ACTIVATION_SIGMOID },
  { "tanh", QS_ACTIVATION_TANH },
  { "softmax", QS_ACTIVATION_SOFTMAX },
  { "swish", QS_ACTIVATION_SWISH },
  { "silu", QS_ACTIVATION_SWISH },
  { "gelu", QS_ACTIVATION_GELU },
  { "elu", QS_ACTIVATION_ELU },
  { "leaky_relu", QS_ACTIVATION_LEAKY_RELU },
};

const char *
_qs_activation_to_keras (QsActivation activation)
{
  for (gsize i = 0; i < G_N_ELEMENTS (activation_names); i++)
    if (activation_names[i].activation == activation)
      return activation_names[i].name;
  return "linear";
}

gboolean
_qs_activation_from_keras (const char   *name,
                           QsActivation *activation,
                           float        *alpha)
{
  for (gsize i = 0; i < G_N_ELEMENTS (activation_names); i++)
    if (g_strcmp0 (activation_names[i].name, name) == 0)
      {
        *activation = activation_names[i].activation;
        if (alpha != NULL)
          {
            if (*activation == QS_ACTIVATION_LEAKY_RELU)
              *alpha = 0.2f; /* keras.activations.leaky_relu default */
            else if (*activation == QS_ACTIVATION_ELU)
              *alpha = 1.0f;
          }
        return TRUE;
      }
  return FALSE;
}

/* --- shapes --- */

static char *
shape_to_string (guint        rank,
                 const gsize *shape)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < rank; i++)
    g_string_append_printf (s, "%s%zu", i > 0 ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
check_weight (const QsLayer *layer,
              const char    *short_name,
              gboolean       required,
              guint          rank,
              const gsize   *shape,
              GError       **error)
{
  QsTensor *t = _qs_layer_find_weight (layer, short_name);

  if (t == NULL)
    {
      if (!required)
        return TRUE;
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                   _("Layer “%s” (%s) has no “%s” weight; the file is missing a dataset"),
                   layer->name, layer->class_name, short_name);
      return FALSE;
    }
  if (t->n_dims != rank || memcmp (t->shape, shape, rank * sizeof (gsize)) != 0)
    {
      g_autofree char *have = shape_to_string (t->n_dims, t->shape);
      g_autofree char *want = shape_to_string (rank, shape);

      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                   _("Layer “%s” (%s): weight “%s” has shape %s but the configuration needs %s"),
                   layer->name, layer->class_name, short_name, have, want);
      return FALSE;
    }
  return TRUE;
}

static gboolean
conv_out (const QsLayer *layer,
          gsize          in,
          guint          k,
          guint          stride,
          guint          dilation,
          gsize         *out,
          GError       **error)
{
  gsize eff = (gsize) (k - 1) * dilation + 1;

  if (stride == 0 || k == 0 || dilation == 0)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                   _("Layer “%s” (%s): kernel size, strides and dilation must be positive"),
                   layer->name, layer->class_name);
      return FALSE;
    }
  if (layer->padding == QS_PADDING_SAME)
    *out = (in + stride - 1) / stride;
  else
    {
      if (in < eff)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Layer “%s” (%s): the window (%zu) is larger than its input (%zu)"),
                       layer->name, layer->class_name, eff, in);
          return FALSE;
        }
      *out = (in - eff) / stride + 1;
    }
  return TRUE;
}

static void
mark_unsupported (QsLayer    *layer,
                  const char *why)
{
  if (layer->kind == QS_LAYER_UNSUPPORTED && layer->why_unsupported != NULL)
    return;
  layer->kind = QS_LAYER_UNSUPPORTED;
  g_free (layer->why_unsupported);
  layer->why_unsupported = g_strdup (why);
}

static gint
normalise_axis (gint  axis,
                guint rank)
{
  if (axis < 0)
    axis += (gint) rank;
  return axis;
}

/* Normalization: the axis must be the last one (or None); mean and variance come from the
 * config or, without them, from the "mean" / "variance" weights; 1 or C values each, every
 * variance positive and finite. */
static gboolean
infer_normalization (QsLayer      *layer,
                     guint         r,
                     const gsize  *s,
                     GError      **error)
{
  gsize c = r > 0 ? s[r - 1] : 1;

  if (layer->axis != QS_NORMALIZATION_AXIS_NONE)
    {
      layer->axis = normalise_axis (layer->axis, r);
      if (layer->axis != (gint) r - 1)
        {
          mark_unsupported (layer, _("normalization over an axis other than the last one"));
          return TRUE;
        }
    }
  if (layer->norm_mean == NULL)
    {
      QsTensor *mean = _qs_layer_find_weight (layer, "mean");
      QsTensor *var = _qs_layer_find_weight (layer, "variance");

      if (mean == NULL || var == NULL)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                       _("Layer “%s” (%s) has neither “mean” and “variance” in its configuration "
                         "nor as weights; adapt the layer or give them when creating it"),
                       layer->name, layer->class_name);
          return FALSE;
        }
      if (mean->n_elements != var->n_elements)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Layer “%s” (%s): weights “mean” and “variance” differ in size"),
                       layer->name, layer->class_name);
          return FALSE;
        }
      layer->norm_n = mean->n_elements;
      layer->norm_mean = g_memdup2 (mean->data, mean->n_elements * sizeof (float));
      layer->norm_variance = g_memdup2 (var->data, var->n_elements * sizeof (float));
    }
  if (layer->norm_n != 1 && (layer->axis == QS_NORMALIZATION_AXIS_NONE || layer->norm_n != c))
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                   _("Layer “%s” (%s): “mean” and “variance” have %zu values but the input has %zu channels"),
                   layer->name, layer->class_name, layer->norm_n, c);
      return FALSE;
    }
  for (gsize i = 0; i < layer->norm_n; i++)
    if (!isfinite (layer->norm_mean[i]) || !isfinite (layer->norm_variance[i])
        || !(layer->norm_variance[i] > 0.0f))
      {
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                     _("Layer “%s” (%s): the variance of channel %zu is %g; it must be positive "
                       "(a zero variance divides by Keras' epsilon, 1e-7, and blows the values up)"),
                     layer->name, layer->class_name, i, (double) layer->norm_variance[i]);
        return FALSE;
      }
  return TRUE;
}

/* Computes layer->output_shape from its inputs. Returns FALSE with an error for
 * configurations that contradict the weights; unknown shapes leave output_rank 0. */
static gboolean
infer_layer (GPtrArray *layers,
             QsLayer   *layer,
             GError   **error)
{
  const QsLayer *in = layer->n_inputs > 0 ? g_ptr_array_index (layers, layer->inputs[0]) : NULL;
  guint r = in != NULL ? in->output_rank : 0;
  gsize s[QS_TENSOR_MAX_DIMS] = { 0 };
  gsize w[QS_TENSOR_MAX_DIMS];

  if (in != NULL)
    memcpy (s, in->output_shape, sizeof s);

  if (layer->kind == QS_LAYER_INPUT)
    return TRUE;
  if (layer->kind == QS_LAYER_UNSUPPORTED || layer->kind == QS_LAYER_WEIGHTS)
    {
      layer->output_rank = 0;
      return TRUE;
    }
  for (guint i = 0; i < layer->n_inputs; i++)
    if (((QsLayer *) g_ptr_array_index (layers, layer->inputs[i]))->output_rank == 0)
      {
        layer->output_rank = 0;
        return TRUE;
      }
  if (layer->n_inputs == 0)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                   _("Layer “%s” (%s) has no inputs"), layer->name, layer->class_name);
      return FALSE;
    }
  if (layer->kind != QS_LAYER_ADD && layer->kind != QS_LAYER_CONCATENATE && layer->n_inputs != 1)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                   _("Layer “%s” (%s) takes one input, the file gives it %u"),
                   layer->name, layer->class_name, layer->n_inputs);
      return FALSE;
    }

  switch (layer->kind)
    {
    case QS_LAYER_DENSE:
      if (layer->units == 0)
        goto bad_units;
      w[0] = s[r - 1];
      w[1] = layer->units;
      if (!check_weight (layer, "kernel", TRUE, 2, w, error))
        return FALSE;
      if (!check_weight (layer, "bias", layer->use_bias, 1, &w[1], error))
        return FALSE;
      s[r - 1] = layer->units;
      break;

    case QS_LAYER_CONV2D:
    case QS_LAYER_DEPTHWISE_CONV2D:
    case QS_LAYER_SEPARABLE_CONV2D:
      {
        gsize oh, ow, out_c;

        if (r != 3)
          goto need_rank3;
        if (!conv_out (layer, s[0], layer->kernel_size[0], layer->strides[0], layer->dilation[0], &oh, error) ||
            !conv_out (layer, s[1], layer->kernel_size[1], layer->strides[1], layer->dilation[1], &ow, error))
          return FALSE;
        w[0] = layer->kernel_size[0];
        w[1] = layer->kernel_size[1];
        w[2] = s[2];
        if (layer->kind == QS_LAYER_CONV2D)
          {
            if (layer->filters == 0)
              goto bad_units;
            w[3] = out_c = layer->filters;
            if (!check_weight (layer, "kernel", TRUE, 4, w, error))
              return FALSE;
          }
        else
          {
            if (layer->depth_multiplier == 0)
              goto bad_units;
            w[3] = layer->depth_multiplier;
            if (!check_weight (layer, "depthwise_kernel", TRUE, 4, w, error))
              return FALSE;
            out_c = s[2] * layer->depth_multiplier;
            if (layer->kind == QS_LAYER_SEPARABLE_CONV2D)
              {
                if (layer->filters == 0)
                  goto bad_units;
                w[0] = w[1] = 1;
                w[2] = out_c;
                w[3] = out_c = layer->filters;
                if (!check_weight (layer, "pointwise_kernel", TRUE, 4, w, error))
                  return FALSE;
              }
          }
        if (!check_weight (layer, "bias", layer->use_bias, 1, &out_c, error))
          return FALSE;
        s[0] = oh;
        s[1] = ow;
        s[2] = out_c;
      }
      break;

    case QS_LAYER_MAX_POOL2D:
    case QS_LAYER_AVG_POOL2D:
      {
        gsize oh, ow;

        if (r != 3)
          goto need_rank3;
        if (!conv_out (layer, s[0], layer->pool_size[0], layer->pool_strides[0], 1, &oh, error) ||
            !conv_out (layer, s[1], layer->pool_size[1], layer->pool_strides[1], 1, &ow, error))
          return FALSE;
        s[0] = oh;
        s[1] = ow;
      }
      break;

    case QS_LAYER_GLOBAL_AVG_POOL2D:
    case QS_LAYER_GLOBAL_MAX_POOL2D:
      if (r != 3)
        goto need_rank3;
      s[0] = s[2];
      r = 1;
      break;

    case QS_LAYER_FLATTEN:
      {
        gsize n = 1;
        for (guint i = 0; i < r; i++)
          n *= s[i];
        s[0] = n;
        r = 1;
      }
      break;

    case QS_LAYER_RESHAPE:
      {
        gsize n = 1, known = 1;
        gint unknown = -1;

        for (guint i = 0; i < r; i++)
          n *= s[i];
        if (layer->target_rank == 0 || layer->target_rank > QS_TENSOR_MAX_DIMS)
          goto bad_reshape;
        for (guint i = 0; i < layer->target_rank; i++)
          {
            if (layer->target_shape[i] < 0)
              {
                if (unknown >= 0)
                  goto bad_reshape;
                unknown = (gint) i;
              }
            else if (layer->target_shape[i] == 0 || !qs_size_mul (known, layer->target_shape[i], &known))
              goto bad_reshape;
          }
        for (guint i = 0; i < layer->target_rank; i++)
          s[i] = layer->target_shape[i] < 0 ? 0 : (gsize) layer->target_shape[i];
        if (unknown >= 0)
          {
            if (n % known != 0)
              goto bad_reshape;
            s[unknown] = n / known;
          }
        else if (known != n)
          goto bad_reshape;
        r = layer->target_rank;
      }
      break;

    case QS_LAYER_BATCH_NORM:
      layer->axis = normalise_axis (layer->axis, r);
      if (layer->axis != (gint) r - 1)
        {
          mark_unsupported (layer, _("batch normalization over an axis other than the last one"));
          layer->output_rank = 0;
          return TRUE;
        }
      w[0] = s[r - 1];
      if (!check_weight (layer, "gamma", FALSE, 1, w, error) ||
          !check_weight (layer, "beta", FALSE, 1, w, error) ||
          !check_weight (layer, "moving_mean", TRUE, 1, w, error) ||
          !check_weight (layer, "moving_variance", TRUE, 1, w, error))
        return FALSE;
      break;

    case QS_LAYER_ACTIVATION:
      if (layer->activation == QS_ACTIVATION_SOFTMAX)
        {
          layer->axis = normalise_axis (layer->axis, r);
          if (layer->axis != (gint) r - 1)
            {
              mark_unsupported (layer, _("softmax over an axis other than the last one"));
              layer->output_rank = 0;
              return TRUE;
            }
        }
      break;

    case QS_LAYER_IDENTITY:
    case QS_LAYER_RESCALING:
      break;

    case QS_LAYER_NORMALIZATION:
      if (!infer_normalization (layer, r, s, error))
        return FALSE;
      if (layer->kind == QS_LAYER_UNSUPPORTED)
        {
          layer->output_rank = 0;
          return TRUE;
        }
      break;

    case QS_LAYER_RESIZING:
    case QS_LAYER_CENTER_CROP:
      if (r != 3)
        goto need_rank3;
      s[0] = layer->resize_size[0];
      s[1] = layer->resize_size[1];
      break;

    case QS_LAYER_ADD:
      for (guint i = 1; i < layer->n_inputs; i++)
        {
          const QsLayer *other = g_ptr_array_index (layers, layer->inputs[i]);
          if (other->output_rank != r || memcmp (other->output_shape, s, r * sizeof (gsize)) != 0)
            {
              g_autofree char *a = shape_to_string (r, s);
              g_autofree char *b = shape_to_string (other->output_rank, other->output_shape);
              g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                           _("Layer “%s” (%s): inputs “%s” %s and “%s” %s differ in shape"),
                           layer->name, layer->class_name, in->name, a, other->name, b);
              return FALSE;
            }
        }
      break;

    case QS_LAYER_CONCATENATE:
      {
        gint axis = normalise_axis (layer->axis, r);
        if (axis < 0 || axis >= (gint) r)
          {
            g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                         _("Layer “%s” (%s): field “axis” is out of range"),
                         layer->name, layer->class_name);
            return FALSE;
          }
        layer->axis = axis;
        for (guint i = 1; i < layer->n_inputs; i++)
          {
            const QsLayer *other = g_ptr_array_index (layers, layer->inputs[i]);
            gboolean ok = other->output_rank == r;
            for (guint d = 0; ok && d < r; d++)
              if ((gint) d != axis && other->output_shape[d] != s[d])
                ok = FALSE;
            if (!ok)
              {
                g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                             _("Layer “%s” (%s): input “%s” does not fit the others along the non-concatenated axes"),
                             layer->name, layer->class_name, other->name);
                return FALSE;
              }
            s[axis] += other->output_shape[axis];
          }
      }
      break;

    case QS_LAYER_ZERO_PADDING2D:
      if (r != 3)
        goto need_rank3;
      s[0] += layer->zero_padding[0] + layer->zero_padding[1];
      s[1] += layer->zero_padding[2] + layer->zero_padding[3];
      break;

    case QS_LAYER_INPUT:
    case QS_LAYER_WEIGHTS:
    case QS_LAYER_UNSUPPORTED:
    default:
      g_assert_not_reached ();
    }

  for (guint i = 0; i < r; i++)
    if (s[i] == 0 || s[i] > QS_MODEL_MAX_DIM)
      {
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                     _("Layer “%s” (%s): output dimension %u is %zu, outside the supported range"),
                     layer->name, layer->class_name, i, s[i]);
        return FALSE;
      }
  {
    gsize n = 1;
    for (guint i = 0; i < r; i++)
      if (!qs_size_mul (n, s[i], &n) || n > QS_MODEL_MAX_DIM)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                       _("Layer “%s” (%s): the output has too many values per image"),
                       layer->name, layer->class_name);
          return FALSE;
        }
  }
  layer->output_rank = r;
  memcpy (layer->output_shape, s, sizeof s);
  return TRUE;

need_rank3:
  {
    g_autofree char *a = shape_to_string (r, s);
    g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                 _("Layer “%s” (%s) needs an image input (height, width, channels), it gets %s"),
                 layer->name, layer->class_name, a);
    return FALSE;
  }
bad_units:
  g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
               _("Layer “%s” (%s): field “units”, “filters” or “depth_multiplier” must be positive"),
               layer->name, layer->class_name);
  return FALSE;
bad_reshape:
  {
    g_autofree char *a = shape_to_string (r, s);
    g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                 _("Layer “%s” (%s): field “target_shape” does not fit the input %s"),
                 layer->name, layer->class_name, a);
    return FALSE;
  }
}

/* The weights a layer of each kind has (NULL: any, for weights-only and unsupported layers,
 * which are shown but never run). A weight outside the list, say a kernel on a pooling layer,
 * means the weights file and the architecture do not match: it is an error, not ignored. */
static const char * const *
expected_weights (QsLayerKind kind)
{
  static const char * const none[] = { NULL };
  static const char * const dense[] = { "kernel", "bias", NULL };
  static const char * const depthwise[] = { "depthwise_kernel", "bias", NULL };
  static const char * const separable[] = { "depthwise_kernel", "pointwise_kernel", "bias", NULL };
  static const char * const batch_norm[] = { "gamma", "beta", "moving_mean", "moving_variance", NULL };
  static const char * const normalization[] = { "mean", "variance", "count", NULL };

  switch (kind)
    {
    case QS_LAYER_DENSE:
    case QS_LAYER_CONV2D:
      return dense;
    case QS_LAYER_DEPTHWISE_CONV2D:
      return depthwise;
    case QS_LAYER_SEPARABLE_CONV2D:
      return separable;
    case QS_LAYER_BATCH_NORM:
      return batch_norm;
    case QS_LAYER_NORMALIZATION:
      return normalization;
    case QS_LAYER_WEIGHTS:
    case QS_LAYER_UNSUPPORTED:
      return NULL;
    default:
      return none;
    }
}

static gboolean
check_extra_weights (const QsLayer *layer,
                     GError       **error)
{
  const char * const *expected = expected_weights (layer->kind);

  for (guint i = 0; expected != NULL && i < layer->weights->len; i++)
    {
      const QsTensor *t = g_ptr_array_index (layer->weights, i);
      const char *short_name = _qs_weight_short_name (t);

      if (!g_strv_contains (expected, short_name))
        {
          if (expected[0] == NULL)
            g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                         _("Layer “%s” (%s) has a weight “%s”, but a %s layer has no weights; "
                           "the weights do not belong to this architecture"),
                         layer->name, layer->class_name, t->name, layer->class_name);
          else
            {
              g_autofree char *known = g_strjoinv (", ", (char **) expected);
              g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                           _("Layer “%s” (%s) has a weight “%s” that it does not use (it uses %s); "
                             "the weights do not belong to this architecture"),
                           layer->name, layer->class_name, t->name, known);
            }
          return FALSE;
        }
    }
  return TRUE;
}

QsModel *
_qs_model_build (const char *name,
                 GPtrArray  *layers,
                 GPtrArray  *configs,
                 gboolean    has_architecture,
                 GError    **error)
{
  g_autoptr(QsModel) self = g_object_new (QS_TYPE_MODEL, NULL);
  g_autoptr(GPtrArray) owned = layers;
  g_autoptr(GPtrArray) owned_configs = configs;

  self->name = g_strdup (name != NULL ? name : "model");
  self->has_architecture = has_architecture;
  self->layers = g_steal_pointer (&owned);
  g_ptr_array_set_free_func (self->layers, (GDestroyNotify) qs_layer_free);
  self->configs = g_steal_pointer (&owned_configs);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);

  if (self->layers->len > QS_MODEL_MAX_LAYERS)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("The model has %u layers, more than the %u supported"),
                   self->layers->len, QS_MODEL_MAX_LAYERS);
      return NULL;
    }

  for (guint i = 0; i < self->layers->len; i++)
    {
      QsLayer *layer = g_ptr_array_index (self->layers, i);

      layer->index = i;
      if (g_hash_table_contains (self->by_name, layer->name))
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                       _("Two layers are named “%s”; layer names must be unique"), layer->name);
          return NULL;
        }
      g_hash_table_insert (self->by_name, layer->name, layer);
      for (guint j = 0; j < layer->weights->len; j++)
        {
          QsTensor *t = g_ptr_array_index (layer->weights, j);
          self->n_params += t->n_elements;
        }
    }

  if (!has_architecture)
    {
      for (guint i = 0; i < self->layers->len; i++)
        {
          QsLayer *layer = g_ptr_array_index (self->layers, i);
          layer->n_params = 0;
          for (guint j = 0; j < layer->weights->len; j++)
            layer->n_params += ((QsTensor *) g_ptr_array_index (layer->weights, j))->n_elements;
        }
      self->can_infer = FALSE;
      self->why_not = g_strdup (_("The file holds weights only; open it with an architecture (a model.to_json () file or the full model) to run it"));
      self->output_index = self->layers->len > 0 ? self->layers->len - 1 : 0;
      return g_steal_pointer (&self);
    }

  if (self->layers->len < 2)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                   _("The model has no layers besides its input"));
      return NULL;
    }
  {
    QsLayer *first = g_ptr_array_index (self->layers, 0);
    if (first->kind != QS_LAYER_INPUT)
      {
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                     _("The first layer “%s” (%s) is not an InputLayer"),
                     first->name, first->class_name);
        return NULL;
      }
    self->input_rank = first->output_rank;
    memcpy (self->input_shape, first->output_shape, sizeof self->input_shape);
  }

  for (guint i = 0; i < self->layers->len; i++)
    {
      QsLayer *layer = g_ptr_array_index (self->layers, i);

      layer->n_params = 0;
      for (guint j = 0; j < layer->weights->len; j++)
        layer->n_params += ((QsTensor *) g_ptr_array_index (layer->weights, j))->n_elements;
      _qs_layer_set_layouts (layer);
      if (!check_extra_weights (layer, error))
        return NULL;
      for (guint j = 0; j < layer->n_inputs; j++)
        if (layer->inputs[j] >= i)
          {
            const char *what = layer->inputs[j] < self->layers->len
              ? ((QsLayer *) g_ptr_array_index (self->layers, layer->inputs[j]))->name : "?";
            g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_GRAPH,
                         _("Layer “%s” (%s) reads “%s”, which does not come before it (a cycle or a dangling edge)"),
                         layer->name, layer->class_name, what);
            return NULL;
          }
      if (layer->kind == QS_LAYER_INPUT && i > 0)
        mark_unsupported (layer, _("models with more than one input"));
      if (!infer_layer (self->layers, layer, error))
        return NULL;
    }

  self->output_index = self->layers->len - 1;
  self->can_infer = TRUE;
  if (self->input_rank == 0)
    {
      self->can_infer = FALSE;
      self->why_not = g_strdup (_("The model does not say the shape of its input"));
    }
  for (guint i = 0; self->can_infer && i < self->layers->len; i++)
    {
      QsLayer *layer = g_ptr_array_index (self->layers, i);

      if (layer->kind == QS_LAYER_UNSUPPORTED || layer->kind == QS_LAYER_WEIGHTS)
        {
          self->can_infer = FALSE;
          self->why_not = g_strdup_printf (_("Layer “%s” (%s) cannot run: %s"), layer->name,
                                           layer->class_name,
                                           layer->why_unsupported != NULL ? layer->why_unsupported
                                                                          : _("unsupported layer type"));
        }
    }
  if (self->can_infer)
    {
      QsLayer *last = g_ptr_array_index (self->layers, self->output_index);
      if (last->output_rank != 1)
        {
          self->can_infer = FALSE;
          self->why_not = g_strdup_printf (_("The output layer “%s” (%s) does not produce one vector of class scores"),
                                           last->name, last->class_name);
        }
    }
  return g_steal_pointer (&self);
}

QsModel *
qs_model_new_from_layers (const char *name,
                          GPtrArray  *layers,
                          GError    **error)
{
  g_return_val_if_fail (layers != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _qs_model_build (name, layers, NULL, TRUE, error);
}

/* --- accessors --- */

const char *
qs_model_get_path (QsModel *self)
{
  g_return_val_if_fail (QS_IS_MODEL (self), NULL);
  return self->path;
}

const char *
qs_model_get_name (QsModel *self)
{
  g_return_val_if_fail (QS_IS_MODEL (self), NULL);
  return self->name;
}

QsModelFormat
qs_model_get_format (QsModel *self)
{
  g_return_val_if_fail (QS_IS_MODEL (self), QS_MODEL_FORMAT_HDF5);
  return self->format;
}

const char *
qs_model_get_keras_version (QsModel *self)
{
  g_return_val_if_fail (QS_IS_MODEL (self), NULL);
  return self->keras_version;
}

guint
qs_model_get_n_layers (QsModel *self)
{
  g_return_val_if_fail (QS_IS_MODEL (self), 0);
  return self->layers->len;
}

const QsLayer *
qs_model_get_layer (QsModel *self,
                    guint    index)
{
  g_return_val_if_fail (QS_IS_MODEL (self), NULL);
  g_return_val_if_fail (index < self->layers->len, NULL);
  return g_ptr_array_index (self->layers, index);
}

const QsLayer *
qs_model_find_layer (QsModel    *self,
                     const char *name)
{
  g_return_val_if_fail (QS_IS_MODEL (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return g_hash_table_lookup (self->by_name, name);
}

guint
qs_model_get_input_shape (QsModel *self,
                          gsize   *shape)
{
  g_return_val_if_fail (QS_IS_MODEL (self), 0);
  if (shape != NULL)
    memcpy (shape, self->input_shape, self->input_rank * sizeof (gsize));
  return self->input_rank;
}

guint
qs_model_get_n_classes (QsModel *self)
{
  const QsLayer *last;

  g_return_val_if_fail (QS_IS_MODEL (self), 0);
  if (!self->has_architecture || self->layers->len == 0)
    return 0;
  last = g_ptr_array_index (self->layers, self->output_index);
  return last->output_rank == 1 ? (guint) last->output_shape[0] : 0;
}

gsize
qs_model_get_n_params (QsModel *self)
{
  g_return_val_if_fail (QS_IS_MODEL (self), 0);
  return self->n_params;
}

gboolean
qs_model_can_infer (QsModel     *self,
                    const char **why_not)
{
  g_return_val_if_fail (QS_IS_MODEL (self), FALSE);
  if (why_not != NULL)
    *why_not = self->can_infer ? NULL : self->why_not;
  return self->can_infer;
}

const char *
qs_model_get_checksum (QsModel *self)
{
  const char *result;

  g_return_val_if_fail (QS_IS_MODEL (self), NULL);

  g_mutex_lock (&checksum_lock);
  if (self->checksum == NULL && self->path != NULL)
    {
      g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
      g_autoptr(GFile) file = g_file_new_for_path (self->path);
      g_autoptr(GFileInputStream) stream = g_file_read (file, NULL, NULL);

      if (stream != NULL)
        {
          g_autofree guchar *buf = g_malloc (1 << 20);
          gssize n;

          while ((n = g_input_stream_read (G_INPUT_STREAM (stream), buf, 1 << 20, NULL, NULL)) > 0)
            g_checksum_update (sum, buf, n);
          if (n == 0)
            self->checksum = g_strdup (g_checksum_get_string (sum));
        }
    }
  result = self->checksum;
  g_mutex_unlock (&checksum_lock);
  return result;
}

/* --- weights replacement --- */

static QsLayer *
layer_copy (const QsLayer *layer,
            GHashTable    *weights,
            GError       **error)
{
  QsLayer *copy = g_memdup2 (layer, sizeof *layer);

  copy->name = g_strdup (layer->name);
  copy->class_name = g_strdup (layer->class_name);
  copy->inputs = g_memdup2 (layer->inputs, layer->n_inputs * sizeof (guint));
  copy->why_unsupported = g_strdup (layer->why_unsupported);
  copy->weights = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_tensor_unref);
  for (guint i = 0; i < layer->weights->len; i++)
    {
      QsTensor *t = g_ptr_array_index (layer->weights, i);
      QsTensor *r = weights != NULL ? g_hash_table_lookup (weights, t->name) : NULL;

      if (r != NULL && !qs_tensor_same_shape (r, t))
        {
          g_autofree char *a = qs_tensor_shape_to_string (r);
          g_autofree char *b = qs_tensor_shape_to_string (t);
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Replacement weight “%s” has shape %s, the model's has %s"),
                       t->name, a, b);
          qs_layer_free (copy);
          return NULL;
        }
      if (r != NULL && g_strcmp0 (r->name, t->name) != 0)
        {
          /* Keep the model's name so the copy stays addressable. */
          QsTensor *renamed = qs_tensor_dup (r);
          if (renamed == NULL)
            {
              g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                           _("Out of memory copying weight “%s”"), t->name);
              qs_layer_free (copy);
              return NULL;
            }
          g_free (renamed->name);
          renamed->name = g_strdup (t->name);
          renamed->layout = t->layout;
          g_ptr_array_add (copy->weights, renamed);
        }
      else
        g_ptr_array_add (copy->weights, qs_tensor_ref (r != NULL ? r : t));
    }
  return copy;
}

QsModel *
qs_model_new_with_weights (QsModel    *model,
                           GHashTable *weights,
                           GError    **error)
{
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GPtrArray) configs = NULL;
  QsModel *copy;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  layers = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_layer_free);
  for (guint i = 0; i < model->layers->len; i++)
    {
      QsLayer *l = layer_copy (g_ptr_array_index (model->layers, i), weights, error);
      if (l == NULL)
        return NULL;
      g_ptr_array_add (layers, l);
    }
  if (model->configs != NULL)
    {
      configs = g_ptr_array_new_with_free_func (_qs_json_object_unref0);
      for (guint i = 0; i < model->configs->len; i++)
        {
          JsonObject *o = g_ptr_array_index (model->configs, i);
          g_ptr_array_add (configs, o != NULL ? json_object_ref (o) : NULL);
        }
    }
  copy = _qs_model_build (model->name, g_steal_pointer (&layers), g_steal_pointer (&configs),
                          model->has_architecture, error);
  if (copy == NULL)
    return NULL;
  copy->path = g_strdup (model->path);
  copy->format = model->format;
  copy->keras_version = g_strdup (model->keras_version);
  copy->backend = g_strdup (model->backend);
  return copy;
}
