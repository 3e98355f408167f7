/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-calib.h"
#include "qs-fixedpoint.h"
#include "qs-formats.h"
#include "qs-kernels-int.h"
#include "qs-lowering.h"
#include "qs-train-private.h"

/* Quantization-aware training: BatchNorm folding, fake quantization of kernels and
 * activations with the quantization library's own rounding (qs_quant_run for weights,
 * qs_quant_value / qs_dequant_value for activations), EMA activation ranges. The output of
 * a layer group the engine runs in integers is not a rounding of the float value but the
 * engine's own requantization of the same accumulator (see requantize_output). */

static QsTParam *
param_at (QsTrainNet *net,
          gint        index)
{
  return index >= 0 ? g_ptr_array_index (net->param_list, index) : NULL;
}

static QsTNode *
node_at (QsTrainNet *net,
         guint       index)
{
  return g_ptr_array_index (net->nodes, index);
}

/* The float kernel and bias of a node whose BatchNorm the lowering folded: the lowering's
 * own folded values (qs_lowering_get_step_kernel, its bias), so training starts from
 * exactly the numbers the integer engine would store. */
static void
copy_folded (QsTrainNet *dst,
             QsTNode    *dnode,
             QsLowering *folding,
             guint       layer)
{
  QsTParam *dk = param_at (dst, dnode->p_kernel), *db = param_at (dst, dnode->p_bias);

  for (guint i = 0; i < qs_lowering_get_n_steps (folding); i++)
    {
      const QsLoweredStep *st = qs_lowering_get_step (folding, i);
      g_autoptr(QsTensor) kernel = NULL;

      if (st->layer != (gint) layer || st->fold_scale == NULL)
        continue;
      kernel = qs_lowering_get_step_kernel (folding, i);
      g_assert (kernel->n_elements == dk->size && st->n_out == db->size);
      memcpy (dst->params + dk->offset, kernel->data, dk->size * sizeof (float));
      memcpy (dst->params + db->offset, st->bias, db->size * sizeof (float));
      return;
    }
  g_assert_not_reached ();
}

static gboolean
spec_supported (const QsQuantSpec *spec,
                const char        *layer,
                GError           **error)
{
  switch (spec->format)
    {
    case QS_FORMAT_FP32:
    case QS_FORMAT_INT:
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      return TRUE;
    default:
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_UNSUPPORTED,
                   _("Layer “%s”: activations in this number format cannot be trained; "
                     "use integer or floating-point activations"),
                   layer);
      return FALSE;
    }
}

static void
quantize_own (QsTNode           *node,
              const QsQuantSpec *spec,
              gboolean           pre_softmax)
{
  node->quant.output = TRUE;
  node->quant.source = (gint) node->index;
  node->quant.act_spec = *spec;
  g_free (node->quant.value_name);
  node->quant.value_name = pre_softmax ? g_strconcat (node->name, "#pre", NULL)
                                       : g_strdup (node->name);
}

/* The node a lowered value belongs to: its name without "#pre". */
static QsTNode *
value_node (GHashTable *by_name,
            const char *value_name)
{
  g_autofree char *name = g_strdup (value_name);
  char *hash = name ? strchr (name, '#') : NULL;

  if (hash != NULL)
    *hash = '\0';
  return name ? g_hash_table_lookup (by_name, name) : NULL;
}

/* The node whose parameters quantize an integer value of the lowering. */
static QsTNode *
range_node (QsLowering *lowering,
            GHashTable *by_name,
            gint        value)
{
  gint owner = qs_lowering_get_range_owner (lowering, value);

  return owner >= 0 ? value_node (by_name, qs_lowering_get_value (lowering, owner)->range_name) : NULL;
}

/* Fake quantization happens exactly where the integer engine holds integers: the
 * lowering of this network (qs-lowering: the engine's own decision) is mapped onto the
 * training nodes by name.
 * - every integer value with a range of its own (a group's output, "name#pre" before a
 *   softmax that runs in float, an Add, a float value quantized on its way into an integer
 *   group, the input image) is fake-quantized by its node with its own, EMA-tracked range;
 * - the output of an integer Dense / Conv2D / DepthwiseConv2D group (with a fused ReLU /
 *   ReLU6) and of an integer Add is computed with the engine's requantization;
 * - integer average and global pooling round the mean to the input's grid; an integer ReLU
 *   clamps the codes; max pooling, Flatten and Dropout keep them;
 * - everything else runs in float. Weights of a float layer are still fake-quantized (the
 *   engine's float steps use the qs_quant_run () values). */
static gboolean
plan_quantization (QsTrainNet  *net,
                   QsConfig    *config,
                   GError     **error)
{
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  QsQuantSpec input_spec;

  if (qs_config_get_input_spec (config, &input_spec)
      && !spec_supported (&input_spec, "input", error))
    return FALSE;
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = node_at (net, i);
      QsLayerConfig lc;

      g_hash_table_insert (by_name, node->name, node);
      if (i == 0)
        continue;
      qs_config_get_layer (config, node->name, &lc);
      if (node->p_kernel >= 0 && lc.weight.format != QS_FORMAT_FP32)
        {
          QsTParam *p = param_at (net, node->p_kernel);

          if (!qs_quant_spec_validate (&lc.weight, NULL, error))
            {
              g_prefix_error (error, _("Layer “%s”: "), node->name);
              return FALSE;
            }
          node->quant.weights = TRUE;
          node->quant.weight_spec = lc.weight;
          node->quant.kernel_q = g_new0 (float, p->size);
          node->quant.weight_scale = g_new0 (float, node->c);
        }
    }

  model = qs_train_net_to_model (net, "qat", error);
  if (model == NULL)
    return FALSE;
  lowering = qs_lowering_new (model, config, error);
  if (lowering == NULL)
    return FALSE;

  /* values with a range of their own */
  for (guint v = 0; v < qs_lowering_get_n_values (lowering); v++)
    {
      const QsLoweredValue *val = qs_lowering_get_value (lowering, v);
      QsTNode *node;

      if (!val->is_int || val->params_from >= 0)
        continue;
      node = value_node (by_name, val->range_name);
      g_assert (node != NULL);
      if (!spec_supported (&val->spec, node->name, error))
        return FALSE;
      if (!node->quant.output)
        quantize_own (node, &val->spec, g_str_has_suffix (val->range_name, "#pre"));
    }

  /* integer steps */
  for (guint i = 0; i < qs_lowering_get_n_steps (lowering); i++)
    {
      const QsLoweredStep *st = qs_lowering_get_step (lowering, i);
      QsTNode *node, *src;

      if (!st->is_int || st->layer < 0)
        continue;
      node = g_hash_table_lookup (by_name, qs_model_get_layer (model, (guint) st->layer)->name);
      g_assert (node != NULL);
      switch (st->kind)
        {
        case QS_LOWERED_CONV:
        case QS_LOWERED_DEPTHWISE:
          {
            QsTNode *end = value_node (by_name, qs_lowering_get_value (lowering, st->output)->name);

            end->quant.requant_layer = (gint) node->index;
            end->quant.in_source[0] = (gint) range_node (lowering, by_name, st->inputs[0])->index;
            end->quant.clamp_relu = end->act == QS_ACTIVATION_RELU;
            end->quant.clamp_max = end->relu_max;
          }
          break;
        case QS_LOWERED_ADD:
          for (guint k = 0; k < 2; k++)
            node->quant.in_source[k] = (gint) range_node (lowering, by_name, st->inputs[k])->index;
          break;
        case QS_LOWERED_POOL:
          if (st->is_max)
            break;
          G_GNUC_FALLTHROUGH;
        case QS_LOWERED_ACTIVATION:
          /* the integer mean on the input's grid; a ReLU / ReLU6 clamping the codes */
          src = range_node (lowering, by_name, st->inputs[0]);
          node->quant.output = TRUE;
          node->quant.source = (gint) src->index;
          break;
        default:
          break;
        }
    }
  return TRUE;
}

QsTrainNet *
qs_train_net_new_qat (QsTrainNet  *src,
                      QsConfig    *config,
                      GError     **error)
{
  guint n = src->nodes->len;
  g_autofree gint *fold_into = g_new (gint, n);
  g_autofree gint *folded_bn = g_new (gint, n);
  g_autofree guint *map = g_new (guint, n);
  g_autoptr(QsModel) src_model = NULL;
  g_autoptr(QsLowering) folding = NULL;
  QsTrainNet *net;

  g_return_val_if_fail (src != NULL, NULL);
  g_return_val_if_fail (QS_IS_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Which BatchNorm folds into which layer is the lowering's decision. */
  src_model = qs_train_net_to_model (src, "qat", error);
  if (src_model == NULL)
    return NULL;
  folding = qs_lowering_new (src_model, NULL, error);
  if (folding == NULL)
    return NULL;
  for (guint i = 0; i < n; i++)
    fold_into[i] = folded_bn[i] = -1;
  for (guint i = 0; i < n; i++)
    {
      const QsLayer *layer = qs_model_find_layer (src_model, node_at (src, i)->name);
      gint into = layer ? qs_lowering_get_layer (folding, layer->index)->folded_into : -1;

      if (into >= 0)
        {
          const char *target = qs_model_get_layer (src_model, (guint) into)->name;

          for (guint k = 0; k < n; k++)
            if (strcmp (node_at (src, k)->name, target) == 0)
              fold_into[i] = (gint) k;
          g_assert (fold_into[i] >= 0);
          folded_bn[fold_into[i]] = (gint) i;
        }
    }

  net = _qs_train_net_new ();
  net->arch = g_strdup (src->arch);
  net->input_rank = src->input_rank;
  for (guint i = 0; i < n; i++)
    {
      QsTNode *s = node_at (src, i), *d;
      guint inputs[2];

      if (fold_into[i] >= 0)
        {
          map[i] = map[fold_into[i]];
          continue;
        }
      for (guint k = 0; k < s->n_inputs; k++)
        inputs[k] = map[s->inputs[k]];
      d = _qs_train_net_add_node (net, s->kind, s->name, s->n_inputs, inputs);
      map[i] = d->index;
      d->class_name = g_strdup (s->class_name);
      d->h = s->h;
      d->w = s->w;
      d->c = s->kind == QS_TNODE_DEPTHWISE ? 0 : s->c;
      d->kh = s->kh;
      d->kw = s->kw;
      d->sh = s->sh;
      d->sw = s->sw;
      d->padding = s->padding;
      d->mult = s->mult;
      d->use_bias = s->use_bias || folded_bn[i] >= 0;
      d->act = s->act;
      d->relu_max = s->relu_max;
      d->bn_momentum = s->bn_momentum;
      d->bn_eps = s->bn_eps;
      d->dropout_rate = s->dropout_rate;
    }
  if (!_qs_train_net_finish (net, error))
    goto fail;

  for (guint i = 0; i < n; i++)
    {
      QsTNode *s = node_at (src, i), *d;

      if (fold_into[i] >= 0)
        continue;
      d = node_at (net, map[i]);
      if (folded_bn[i] >= 0)
        copy_folded (net, d, folding, qs_model_find_layer (src_model, s->name)->index);
      else
        {
          gint sp[4] = { s->p_kernel, s->p_bias, s->p_gamma, s->p_beta };
          gint dp[4] = { d->p_kernel, d->p_bias, d->p_gamma, d->p_beta };

          for (guint k = 0; k < 4; k++)
            if (sp[k] >= 0)
              memcpy (net->params + param_at (net, dp[k])->offset,
                      src->params + param_at (src, sp[k])->offset,
                      param_at (src, sp[k])->size * sizeof (float));
        }
      if (s->kind == QS_TNODE_BATCH_NORM)
        {
          memcpy (d->moving_mean, s->moving_mean, s->c * sizeof (float));
          memcpy (d->moving_var, s->moving_var, s->c * sizeof (float));
        }
    }

  net->qat = TRUE;
  net->seed = src->seed;
  net->qat_config = g_object_ref (config);
  if (!plan_quantization (net, config, error))
    goto fail;
  return net;

fail:
  qs_train_net_free (net);
  return NULL;
}

gboolean
qs_train_net_is_qat (QsTrainNet *net)
{
  g_return_val_if_fail (net != NULL, FALSE);

  return net->qat;
}

gboolean
_qs_train_net_quantize_weights (QsTrainNet  *net,
                                GError     **error)
{
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = node_at (net, i);
      QsTParam *p;
      g_autoptr(QsTensor) tensor = NULL;
      g_autoptr(QsQuantResult) result = NULL;
      QsQuantOptions options = { 0 };

      if (!node->quant.weights)
        continue;
      p = param_at (net, node->p_kernel);
      tensor = qs_tensor_new_from_data (p->name, p->n_dims, p->shape, net->params + p->offset,
                                        error);
      if (tensor == NULL)
        return FALSE;
      qs_tensor_set_layout (tensor, p->layout);
      options.want_dequant = TRUE;
      result = qs_quant_run (tensor, &node->quant.weight_spec, &options, NULL, error);
      if (result == NULL)
        return FALSE;
      memcpy (node->quant.kernel_q, result->dequant->data, p->size * sizeof (float));
      /* The engine's per-output-channel scales (compile_int_weights). */
      if (node->quant.weight_spec.format == QS_FORMAT_INT && result->params != NULL)
        for (gsize o = 0; o < node->c; o++)
          node->quant.weight_scale[o] =
            result->params->scale[qs_quant_params_index (result->params, o)];
    }
  return TRUE;
}

/* The engine's container parameters of an integer value (value_params): a non-positive
 * or non-finite scale becomes 1. */
static float
engine_scale (const QsQuantParams *p)
{
  return p->scale[0] > 0.0f && isfinite (p->scale[0]) ? p->scale[0] : 1.0f;
}

static gboolean
int_params_ready (const QsTQuant *q)
{
  return q->act_spec.format == QS_FORMAT_INT && q->act_params != NULL;
}

gboolean
_qs_tnode_requantizes (QsTrainNet *net,
                       QsTNode    *node)
{
  QsTQuant *q = &node->quant;
  QsTNode *wnode;

  if (!q->output || q->requant_layer < 0 || q->in_source[0] < 0 || !int_params_ready (q))
    return FALSE;
  wnode = node_at (net, (guint) q->requant_layer);
  return wnode->quant.weights && wnode->quant.weight_scale != NULL
         && wnode->quant.weight_spec.format == QS_FORMAT_INT
         && int_params_ready (&node_at (net, (guint) q->in_source[0])->quant);
}

/* The output of an integer group, computed as the integer engine computes it
 * in its default gemmlowp requantization mode (compile_int_weights, the GEMM and depthwise
 * kernels, qs_requant_channel, act_clamp):
 *
 *   acc  = round (bias / (S_in * S_w[o])) + sum (x_code - x_zp) * w_code     (int32)
 *   code = clamp (zp + multiply_by_quantized_multiplier (acc, M[o]), lo, hi)
 *   M[o] = S_in * S_w[o] / S_out;  [lo, hi]: the code range narrowed by a fused ReLU / ReLU6
 *
 * The trainer's float pre-activation y is bias + sum x * w with x and w on their grids, so
 * the integer sum is (y - bias) / (S_in * S_w[o]) up to float rounding, far below one
 * accumulator unit: rounding recovers the engine's sum. The rest is not a rounding of y:
 * the bias is rounded to the accumulator's unit, and the multiplier rounds twice (TFLite's
 * double rounding: to an integer after the high multiply, then by a power of two). Both
 * are tiny while S_in * S_w is much smaller than S_out, but a 3 x 3 DepthwiseConv2D at 4
 * bits has 9 taps and M of 0.1 to 0.7: a bias of 0.41 steps becomes 2 units of 0.25 steps
 * (0.50 -> 1), 10 units at M = 0.142 (1.42 steps) become 6 quarter steps, rounded up to 2. */
static void
requantize_output (QsTrainNet *net,
                   QsTNode    *node,
                   guint       chunk,
                   gsize       s0,
                   gsize       s1)
{
  QsTQuant *q = &node->quant;
  QsTNode *wnode = node_at (net, (guint) q->requant_layer);
  const QsQuantParams *pin = node_at (net, (guint) q->in_source[0])->quant.act_params;
  const QsQuantParams *p = q->act_params;
  const float *bias = wnode->use_bias ? net->params + param_at (net, wnode->p_bias)->offset
                                      : NULL;
  float s_in = engine_scale (pin), s_out = engine_scale (p);
  gint32 zp = CLAMP (p->zero_point[0], p->qmin, p->qmax), lo = p->qmin, hi = p->qmax;
  gsize c = node->c, n = (s1 - s0) * node->size;
  g_autofree double *unit = g_new (double, c);
  g_autofree gint64 *bq = g_new (gint64, c);
  g_autofree gint32 *mult = g_new (gint32, c);
  g_autofree gint *shift = g_new (gint, c);
  /* the pre-activation: the weight node's output (a fused activation of its own is not
   * applied to it, see _qs_tnode_forward) */
  const float *y = wnode->out + s0 * node->size;
  float *x = node->out + s0 * node->size;
  guint8 *mask = q->clip_mask != NULL ? q->clip_mask + s0 * node->size : NULL;
  float clip_lo = p->clip_lo[0], clip_hi = p->clip_hi[0], rmax = q->clamp_max;
  float range_lo = INFINITY, range_hi = -INFINITY;

  g_assert (wnode->size == node->size && wnode->c == c);
  if (q->clamp_relu)
    {
      lo = MAX (lo, zp);
      if (rmax >= 0.0f)
        hi = MIN (hi, zp + (gint32) lrintf (rmax / s_out));
      hi = MAX (hi, lo);
    }
  for (gsize o = 0; o < c; o++)
    {
      double sw = wnode->quant.weight_scale[o];
      double b;

      if (!(sw > 0.0) || !isfinite (sw))
        sw = s_out / s_in;
      unit[o] = (double) s_in * sw;
      b = nearbyint ((bias != NULL ? bias[o] : 0.0) / unit[o]);
      bq[o] = (gint64) CLAMP (b, (double) G_MININT32, (double) G_MAXINT32);
      qs_quantize_multiplier (unit[o] / s_out, &mult[o], &shift[o]);
    }

  for (gsize i = 0; i < n; i++)
    {
      gsize o = i % c;
      float v = y[i], post = v;
      double sum;
      gint64 acc;
      gint32 code;

      if (q->clamp_relu)
        post = v > 0.0f ? (rmax >= 0.0f && v > rmax ? rmax : v) : 0.0f;
      range_lo = post < range_lo ? post : range_lo;
      range_hi = post > range_hi ? post : range_hi;
      if (mask != NULL)
        mask[i] = post >= clip_lo && post <= clip_hi;
      sum = nearbyint (((double) v - (bias != NULL ? bias[o] : 0.0)) / unit[o]);
      acc = (gint64) CLAMP (sum, (double) G_MININT32, (double) G_MAXINT32) + bq[o];
      acc = CLAMP (acc, G_MININT32, G_MAXINT32);
      code = zp + qs_multiply_by_quantized_multiplier ((gint32) acc, mult[o], shift[o]);
      x[i] = qs_dequant_value (CLAMP (code, lo, hi), s_out, zp);
    }
  if (_qs_tnode_owns_range (node))
    {
      q->chunk_lo[chunk] = range_lo;
      q->chunk_hi[chunk] = range_hi;
    }
}

/* A value's code in the engine's uint8 container (signed codes offset by 128) and that
 * container's zero-point, from a value on the grid of p. */
static gint32
container_zero_point (const QsQuantParams *p)
{
  return CLAMP (p->zero_point[0], p->qmin, p->qmax) + (p->spec.is_signed ? 128 : 0);
}

static guint8
container_code (float                v,
                const QsQuantParams *p)
{
  double code = nearbyint ((double) v / engine_scale (p)) + container_zero_point (p);

  return (guint8) CLAMP (code, 0.0, 255.0);
}

/* Add of two integer values with TFLite's int8 Add, the engine's own kernel
 * (qs_add_params_init, qs_add_u8): both inputs rescaled to twice the larger input scale
 * after a left shift of 20 bits, summed, requantized to the output. The inputs are on their
 * grids, so their codes are exact; the range still follows the float sum. */
static void
add_like_engine (QsTrainNet *net,
                 QsTNode    *node,
                 guint       chunk,
                 gsize       s0,
                 gsize       s1)
{
  QsTQuant *q = &node->quant;
  QsTNode *a = node_at (net, node->inputs[0]), *b = node_at (net, node->inputs[1]);
  const QsQuantParams *pa = node_at (net, (guint) q->in_source[0])->quant.act_params;
  const QsQuantParams *pb = node_at (net, (guint) q->in_source[1])->quant.act_params;
  const QsQuantParams *p = q->act_params;
  gint32 off = p->spec.is_signed ? 128 : 0, zp = container_zero_point (p);
  float *x = node->out + s0 * node->size, lo = INFINITY, hi = -INFINITY;
  guint8 *mask = q->clip_mask != NULL ? q->clip_mask + s0 * node->size : NULL;
  gsize n = (s1 - s0) * node->size;
  QsAddParams ap;

  qs_add_params_init (&ap, engine_scale (pa), container_zero_point (pa),
                      engine_scale (pb), container_zero_point (pb), engine_scale (p), zp,
                      MAX (p->qmin + off, 0), MIN (p->qmax + off, 255));
  for (gsize i = 0; i < n; i++)
    {
      gsize k = s0 * node->size + i;
      guint8 ca = container_code (a->out[k], pa), cb = container_code (b->out[k], pb), co;

      lo = x[i] < lo ? x[i] : lo;
      hi = x[i] > hi ? x[i] : hi;
      if (mask != NULL)
        mask[i] = x[i] >= p->clip_lo[0] && x[i] <= p->clip_hi[0];
      qs_add_u8 (&ca, &cb, 1, &ap, &co);
      x[i] = qs_dequant_value ((gint32) co - off, engine_scale (p), zp - off);
    }
  q->chunk_lo[chunk] = lo;
  q->chunk_hi[chunk] = hi;
}

/* Average and global average pooling of an integer value, as the engine's qs_pool_u8
 * computes it: the sum of the codes (held in uint8 containers, signed codes offset by
 * 128) less 128 per tap, divided by the number of taps with ties rounded away from zero,
 * plus 128 (TFLite's int8 AveragePool). The trainer's mean of values on the input's grid
 * gives that sum exactly (n * mean / scale is an integer up to float rounding); rounding
 * the mean itself would break the ties of an even window its own way. The clip mask stays
 * all ones: a mean lies inside the range of its inputs. */
static void
average_like_engine (QsTrainNet *net,
                     QsTNode    *node,
                     gsize       s0,
                     gsize       s1)
{
  QsTQuant *q = &node->quant;
  const QsQuantParams *p = node_at (net, (guint) q->source)->quant.act_params;
  QsTNode *in = node_at (net, node->inputs[0]);
  float scale = engine_scale (p);
  gint32 off = p->spec.is_signed ? 128 : 0;
  gint32 zp = CLAMP (p->zero_point[0], p->qmin, p->qmax);

  for (gsize s = s0; s < s1; s++)
    for (gsize oh = 0; oh < node->h; oh++)
      for (gsize ow = 0; ow < node->w; ow++)
        {
          gsize at = s * node->size + (oh * node->w + ow) * node->c;
          gint64 n;

          if (node->kind == QS_TNODE_GLOBAL_AVG_POOL)
            n = (gint64) (in->h * in->w);
          else
            {
              gsize h0, h1, w0, w1;

              _qs_tnode_pool_window (node, in, oh, ow, &h0, &h1, &w0, &w1);
              n = (gint64) ((h1 - h0) * (w1 - w0));
            }
          g_assert (n > 0);
          for (gsize ch = 0; ch < node->c; ch++)
            {
              /* sum (code - zp), then sum (container code - 128) */
              gint64 a = (gint64) nearbyint ((double) node->out[at + ch] * (double) n / scale)
                         + n * (zp + off - 128);
              gint64 r = (a > 0 ? (a + n / 2) / n : (a - n / 2) / n) + 128;

              node->out[at + ch] = qs_dequant_value ((gint32) CLAMP (r, 0, 255) - off, scale, zp);
            }
        }
  if (q->clip_mask != NULL)
    memset (q->clip_mask + s0 * node->size, 1, (s1 - s0) * node->size);
}

void
_qs_tnode_fake_quant_output (QsTrainNet *net,
                             QsTNode    *node,
                             guint       chunk,
                             gsize       s0,
                             gsize       s1)
{
  QsTQuant *q = &node->quant;
  QsTQuant *src = &node_at (net, (guint) q->source)->quant;
  float *x = node->out + s0 * node->size;
  guint8 *mask = q->clip_mask != NULL ? q->clip_mask + s0 * node->size : NULL;
  gsize n = (s1 - s0) * node->size;

  if (_qs_tnode_requantizes (net, node))
    {
      requantize_output (net, node, chunk, s0, s1);
      return;
    }
  if ((node->kind == QS_TNODE_AVG_POOL || node->kind == QS_TNODE_GLOBAL_AVG_POOL)
      && q->source != (gint) node->index && int_params_ready (src))
    {
      average_like_engine (net, node, s0, s1);
      return;
    }
  if (node->kind == QS_TNODE_ADD && _qs_tnode_owns_range (node) && int_params_ready (q)
      && q->in_source[0] >= 0 && q->in_source[1] >= 0
      && int_params_ready (&node_at (net, (guint) q->in_source[0])->quant)
      && int_params_ready (&node_at (net, (guint) q->in_source[1])->quant))
    {
      add_like_engine (net, node, chunk, s0, s1);
      return;
    }
  if (_qs_tnode_owns_range (node))
    {
      float lo = INFINITY, hi = -INFINITY;

      for (gsize i = 0; i < n; i++)
        {
          lo = x[i] < lo ? x[i] : lo;
          hi = x[i] > hi ? x[i] : hi;
        }
      q->chunk_lo[chunk] = lo;
      q->chunk_hi[chunk] = hi;
    }

  if (src->act_spec.format == QS_FORMAT_INT && src->act_params != NULL)
    {
      const QsQuantParams *p = src->act_params;
      float scale = p->scale[0], clip_lo = p->clip_lo[0], clip_hi = p->clip_hi[0];
      gint32 zp = p->zero_point[0];

      for (gsize i = 0; i < n; i++)
        {
          if (mask != NULL)
            mask[i] = x[i] >= clip_lo && x[i] <= clip_hi;
          x[i] = qs_dequant_value (qs_quant_value (x[i], scale, zp, p->qmin, p->qmax,
                                                   src->act_spec.rounding),
                                   scale, zp);
        }
    }
  else if (src->act_spec.format != QS_FORMAT_INT && src->act_spec.format != QS_FORMAT_FP32)
    {
      for (gsize i = 0; i < n; i++)
        {
          x[i] = qs_format_round (src->act_spec.format, x[i]);
          if (mask != NULL)
            mask[i] = isfinite (x[i]);
        }
    }
  else if (mask != NULL)
    memset (mask, 1, n);
}

static gboolean
set_range (QsTNode  *node,
           float     lo,
           float     hi,
           GError  **error)
{
  QsTQuant *q = &node->quant;

  q->range_lo = lo;
  q->range_hi = hi;
  q->range_init = TRUE;
  g_clear_pointer (&q->act_params, qs_quant_params_unref);
  if (q->act_spec.format != QS_FORMAT_INT)
    return TRUE;
  q->act_params = qs_quant_params_from_range (&q->act_spec, lo, hi, error);
  if (q->act_params == NULL)
    {
      g_prefix_error (error, _("Layer “%s”: "), node->name);
      return FALSE;
    }
  return TRUE;
}

gboolean
_qs_train_net_update_ranges (QsTrainNet  *net,
                             GError     **error)
{
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = node_at (net, i);
      QsTQuant *q = &node->quant;
      float lo = INFINITY, hi = -INFINITY;

      if (!_qs_tnode_owns_range (node) || q->range_frozen)
        continue;
      for (guint c = 0; c < net->n_chunks; c++)
        {
          lo = MIN (lo, q->chunk_lo[c]);
          hi = MAX (hi, q->chunk_hi[c]);
        }
      if (!isfinite (lo) || !isfinite (hi))
        continue;
      if (q->range_init)
        {
          lo = net->ema_decay * q->range_lo + (1.0f - net->ema_decay) * lo;
          hi = net->ema_decay * q->range_hi + (1.0f - net->ema_decay) * hi;
        }
      if (!set_range (node, lo, hi, error))
        return FALSE;
    }
  return TRUE;
}

/* Activation ranges exactly as the integer engine gets them: the engine's calibration (the
 * all-float program of this network's lowering, with float weights) on the config's
 * calibration images, each value's range chosen with its spec (qs_calibration_make_ranges). */
static gboolean
calibrate_like_engine (QsTrainNet  *net,
                       gboolean     only_missing,
                       GError     **error)
{
  QsConfig *config = net->qat_config;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autofree float *inputs = NULL;
  guint n;

  model = qs_train_net_to_model (net, "qat", error);
  if (model == NULL)
    return FALSE;
  lowering = qs_lowering_new (model, config, error);
  if (lowering == NULL)
    return FALSE;
  /* the calibration images get the config's preprocessing, as the engine's do */
  dataset = qs_dataset_open_full (qs_config_get_calib_source (config), NULL,
                                  qs_config_get_preprocess (config), error);
  if (dataset == NULL)
    return FALSE;
  n = MIN (qs_config_get_calib_images (config), qs_dataset_get_n_images (dataset));
  if (n == 0)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                   _("The calibration set “%s” has no images"), qs_config_get_calib_source (config));
      return FALSE;
    }
  inputs = g_new (float, (gsize) n * qs_train_net_get_input_size (net));
  if (!qs_dataset_fill_inputs (dataset, model, 0, n, inputs, error))
    return FALSE;
  calib = qs_calibration_new (model, inputs, n, NULL, NULL, NULL, error);
  if (calib == NULL)
    return FALSE;
  ranges = qs_calibration_make_ranges (calib, lowering, error);
  if (ranges == NULL)
    return FALSE;

  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = node_at (net, i);
      float lo, hi;

      if (!_qs_tnode_owns_range (node) || (only_missing && node->quant.range_init))
        continue;
      if (!qs_range_table_lookup (ranges, node->quant.value_name, &lo, &hi))
        {
          g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                       _("The engine has no activation named “%s”"), node->quant.value_name);
          return FALSE;
        }
      if (!set_range (node, lo, hi, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
_qs_train_net_init_ranges (QsTrainNet  *net,
                           GError     **error)
{
  gboolean missing = FALSE;

  for (guint i = 0; i < net->nodes->len; i++)
    missing |= _qs_tnode_owns_range (node_at (net, i)) && !node_at (net, i)->quant.range_init;
  if (!missing)
    return TRUE;
  return calibrate_like_engine (net, TRUE, error);
}

gboolean
_qs_train_net_apply_ranges (QsTrainNet  *net,
                            GError     **error)
{
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = node_at (net, i);

      if (_qs_tnode_owns_range (node) && node->quant.range_init
          && !set_range (node, node->quant.range_lo, node->quant.range_hi, error))
        return FALSE;
    }
  return TRUE;
}

/* The EMA ranges steer training and are kept: the weights learned to live with them
 * (recalibrating a 4-bit MobileNet afterwards lost 19 points). qs_train_net_get_qat_config ()
 * hands them to the integer engine, so it runs the arithmetic the last evaluation saw.
 * Values training never reached get the engine's calibration. */
gboolean
_qs_train_net_freeze_ranges (QsTrainNet  *net,
                             GError     **error)
{
  if (!calibrate_like_engine (net, TRUE, error))
    return FALSE;
  for (guint i = 0; i < net->nodes->len; i++)
    node_at (net, i)->quant.range_frozen = TRUE;
  return _qs_train_net_quantize_weights (net, error);
}

QsConfig *
qs_train_net_get_qat_config (QsTrainNet  *net,
                             GError     **error)
{
  QsConfig *config;

  g_return_val_if_fail (net != NULL, NULL);

  if (net->qat_config == NULL)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                   _("The network is not prepared for quantization-aware training"));
      return NULL;
    }
  if (!_qs_train_net_init_ranges (net, error))
    return NULL;
  config = qs_config_copy (net->qat_config);
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = node_at (net, i);

      if (_qs_tnode_owns_range (node) && node->quant.range_init && node->quant.value_name != NULL)
        qs_config_set_activation_range (config, node->quant.value_name,
                                        node->quant.range_lo, node->quant.range_hi);
    }
  return config;
}

gboolean
qs_train_net_get_activation_range (QsTrainNet *net,
                                   const char *layer,
                                   float      *lo,
                                   float      *hi)
{
  g_return_val_if_fail (net != NULL && layer != NULL, FALSE);

  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = node_at (net, i);

      if (strcmp (node->name, layer) == 0 && _qs_tnode_owns_range (node) && node->quant.range_init)
        {
          *lo = node->quant.range_lo;
          *hi = node->quant.range_hi;
          return TRUE;
        }
    }
  return FALSE;
}
