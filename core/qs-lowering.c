/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-kernels-int.h"
#include "qs-lowering.h"
#include "qs-parallel.h"
#include "qs-stats.h"

/* --- range tables --- */

struct _QsRangeTable
{
  gint        ref_count;
  GHashTable *ranges;   /* name -> float[2] */
};

QsRangeTable *
qs_range_table_new (void)
{
  QsRangeTable *t = g_new0 (QsRangeTable, 1);

  t->ref_count = 1;
  t->ranges = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return t;
}

QsRangeTable *
qs_range_table_ref (QsRangeTable *table)
{
  g_return_val_if_fail (table != NULL, NULL);
  g_atomic_int_inc (&table->ref_count);
  return table;
}

void
qs_range_table_unref (QsRangeTable *table)
{
  g_return_if_fail (table != NULL);
  if (g_atomic_int_dec_and_test (&table->ref_count))
    {
      g_hash_table_unref (table->ranges);
      g_free (table);
    }
}

void
qs_range_table_set (QsRangeTable *table,
                    const char   *name,
                    float         lo,
                    float         hi)
{
  float *r = g_new (float, 2);

  g_return_if_fail (table != NULL && name != NULL);
  r[0] = lo;
  r[1] = hi;
  g_hash_table_replace (table->ranges, g_strdup (name), r);
}

gboolean
qs_range_table_lookup (QsRangeTable *table,
                       const char   *name,
                       float        *lo,
                       float        *hi)
{
  const float *r;

  g_return_val_if_fail (table != NULL, FALSE);
  r = name ? g_hash_table_lookup (table->ranges, name) : NULL;
  if (r == NULL)
    return FALSE;
  *lo = r[0];
  *hi = r[1];
  return TRUE;
}

guint
qs_range_table_get_size (QsRangeTable *table)
{
  g_return_val_if_fail (table != NULL, 0);
  return g_hash_table_size (table->ranges);
}

gboolean
qs_lowered_params_from_range (const QsQuantSpec *spec,
                              float              lo,
                              float              hi,
                              QsLoweredParams   *out,
                              GError           **error)
{
  g_autoptr(QsQuantParams) params = NULL;
  gint32 off;

  g_return_val_if_fail (spec != NULL && out != NULL, FALSE);

  params = qs_quant_params_from_range (spec, MIN (lo, 0.0f), MAX (hi, 0.0f), error);
  if (params == NULL)
    return FALSE;
  off = spec->is_signed ? 128 : 0;
  out->scale = params->scale[0] > 0.0f && isfinite (params->scale[0]) ? params->scale[0] : 1.0f;
  out->zero_point = params->zero_point[0] + off;
  out->qmin = MAX (params->qmin + off, 0);
  out->qmax = MIN (params->qmax + off, 255);
  out->zero_point = CLAMP (out->zero_point, out->qmin, out->qmax);
  return TRUE;
}

/* --- the lowering --- */

struct _QsLowering
{
  gint            ref_count;
  QsModel        *model;
  QsConfig       *config;     /* nullable */
  GArray         *values;     /* QsLoweredValue */
  GArray         *steps;      /* QsLoweredStep */
  QsLoweredLayer *layers;
  guint           n_layers;
  gint            input;
  gint            output;

  GMutex          weights_lock;
  QsQuantResult **weights;    /* per step, computed on first use */
  QsTensor      **folded;     /* per step with fold_scale: the folded kernel, on first use */
  gboolean       *weights_done;
};

typedef struct
{
  QsLowering *lw;
  gint       *layer_out;
  guint     **consumers;
  guint      *n_consumers;
  GArray     *to_int;      /* per value: cached quantized copy, -1 */
  GArray     *to_float;    /* per value: cached float copy, -1 */
} Builder;

#define V(lw, i) (&g_array_index ((lw)->values, QsLoweredValue, (i)))
#define S(lw, i) (&g_array_index ((lw)->steps, QsLoweredStep, (i)))

static gint
new_value (Builder    *b,
           const char *name,
           gsize       h,
           gsize       w,
           gsize       c,
           gboolean    is_int)
{
  QsLoweredValue v = { 0 };
  gint none = -1;

  v.name = g_strdup (name);
  v.h = h; v.w = w; v.c = c;
  v.is_int = is_int;
  v.params_from = -1;
  v.alias_of = -1;
  v.producer = -1;
  g_array_append_val (b->lw->values, v);
  g_array_append_val (b->to_int, none);
  g_array_append_val (b->to_float, none);
  return b->lw->values->len - 1;
}

static void
set_own_range (Builder           *b,
               gint               value,
               const char        *range_name,
               const QsQuantSpec *spec)
{
  QsLoweredValue *v = V (b->lw, value);

  g_free (v->range_name);
  v->range_name = g_strdup (range_name);
  v->spec = *spec;
  v->params_from = -1;
}

static void
share_params (Builder *b,
              gint     value,
              gint     from)
{
  V (b->lw, value)->params_from = from;
}

static QsLoweredStep *
add_step (Builder       *b,
          QsLoweredKind  kind,
          gboolean       is_int,
          gint           layer)
{
  QsLoweredStep s = { 0 };

  s.kind = kind;
  s.is_int = is_int;
  s.layer = layer;
  s.sh = s.sw = s.dh = s.dw = s.mult = 1;
  s.act = QS_ACTIVATION_LINEAR;
  s.relu_max = -1.0f;
  s.output = -1;
  g_array_append_val (b->lw->steps, s);
  return S (b->lw, b->lw->steps->len - 1);
}

static void
set_output (Builder       *b,
            QsLoweredStep *s,
            gint           value)
{
  s->output = value;
  V (b->lw, value)->producer = (gint) (s - S (b->lw, 0));
}

static gint
alias_value (Builder *b,
             gint     src,
             gsize    h,
             gsize    w,
             gsize    c)
{
  QsLoweredValue *sv = V (b->lw, src);
  gboolean is_int = sv->is_int;
  g_autofree char *name = g_strdup (sv->name);
  gint root = sv->alias_of >= 0 ? sv->alias_of : src;
  gint producer = sv->producer;
  gint v = new_value (b, name, h, w, c, is_int);

  V (b->lw, v)->alias_of = root;
  V (b->lw, v)->producer = producer;
  if (is_int)
    share_params (b, v, src);
  return v;
}

static gint
ensure_float (Builder *b,
              gint     v)
{
  gint out;
  QsLoweredStep *s;

  if (!V (b->lw, v)->is_int)
    return v;
  if (g_array_index (b->to_float, gint, v) >= 0)
    return g_array_index (b->to_float, gint, v);
  out = new_value (b, NULL, V (b->lw, v)->h, V (b->lw, v)->w, V (b->lw, v)->c, FALSE);
  s = add_step (b, QS_LOWERED_DEQUANTIZE, FALSE, -1);
  s->n_inputs = 1;
  s->inputs[0] = v;
  set_output (b, s, out);
  g_array_index (b->to_float, gint, v) = out;
  return out;
}

/* A float value converted once, with the spec of the first integer step that reads it;
 * the copy's range is the float value's. */
static gint
ensure_int (Builder           *b,
            gint               v,
            const QsQuantSpec *spec)
{
  gint out;
  QsLoweredStep *s;
  g_autofree char *name = NULL;

  if (V (b->lw, v)->is_int)
    return v;
  if (g_array_index (b->to_int, gint, v) >= 0)
    return g_array_index (b->to_int, gint, v);
  name = g_strdup (V (b->lw, v)->name);
  out = new_value (b, NULL, V (b->lw, v)->h, V (b->lw, v)->w, V (b->lw, v)->c, TRUE);
  set_own_range (b, out, name, spec);
  s = add_step (b, QS_LOWERED_QUANTIZE, TRUE, -1);
  s->n_inputs = 1;
  s->inputs[0] = v;
  s->rounding = spec->rounding == QS_ROUNDING_STOCHASTIC ? QS_ROUNDING_NEAREST_EVEN : spec->rounding;
  set_output (b, s, out);
  g_array_index (b->to_int, gint, v) = out;
  return out;
}

static gboolean
act_fusable (QsActivation act,
             float        slope,
             float        thr)
{
  return act == QS_ACTIVATION_LINEAR || act == QS_ACTIVATION_RELU6
         || (act == QS_ACTIVATION_RELU && slope == 0.0f && thr == 0.0f);
}

static void
copy_act (QsLoweredStep *s,
          const QsLayer *l)
{
  s->act = l->activation;
  s->relu_max = l->relu_max_value;
  s->slope = l->relu_negative_slope;
  s->thr = l->relu_threshold;
  s->alpha = l->alpha;
}

static QsTensor *
find_weight (const QsLayer *l,
             const char    *short_name)
{
  for (guint i = 0; i < l->weights->len; i++)
    {
      QsTensor *t = g_ptr_array_index (l->weights, i);
      const char *slash = t->name ? strrchr (t->name, '/') : NULL;
      const char *s = slash ? slash + 1 : t->name;

      if (s != NULL && (g_str_has_prefix (s, short_name)
                        && (s[strlen (short_name)] == '\0' || s[strlen (short_name)] == ':')))
        return t;
    }
  return NULL;
}

/* The engine runs a weight group in integers only with these weight specs. */
static gboolean
weight_spec_is_integer (const QsQuantSpec *spec)
{
  return spec->format == QS_FORMAT_INT && spec->bits >= 2 && spec->bits <= 8 && spec->is_signed
         && spec->mapping == QS_MAPPING_SYMMETRIC && spec->granularity != QS_GRANULARITY_GROUP;
}

static void
conv_pads (const QsLayer *l,
           QsLoweredStep *s,
           gsize          h,
           gsize          w)
{
  s->pad_t = s->pad_l = 0;
  if (l->padding == QS_PADDING_SAME)
    {
      gssize th = (gssize) ((s->oh - 1) * s->sh + (s->kh - 1) * s->dh + 1) - (gssize) h;
      gssize tw = (gssize) ((s->ow - 1) * s->sw + (s->kw - 1) * s->dw + 1) - (gssize) w;

      s->pad_t = th > 0 ? (gsize) th / 2 : 0;
      s->pad_l = tw > 0 ? (gsize) tw / 2 : 0;
    }
}

static void
shape_to_hwc (const gsize *shape,
              guint        rank,
              gsize       *h,
              gsize       *w,
              gsize       *c)
{
  *h = *w = *c = 1;
  if (rank == 3)
    {
      *h = shape[0]; *w = shape[1]; *c = shape[2];
    }
  else if (rank >= 1)
    {
      for (guint i = 0; i + 1 < rank; i++)
        *h *= shape[i];
      *c = shape[rank - 1];
    }
}

static void
layer_config (Builder       *b,
              const QsLayer *l,
              QsLayerConfig *lc)
{
  if (b->lw->config != NULL)
    qs_config_get_layer (b->lw->config, l->name, lc);
  else
    {
      memset (lc, 0, sizeof *lc);
      qs_quant_spec_init_float (&lc->weight, QS_FORMAT_FP32);
      lc->quantize_activations = FALSE;
    }
}

static gint
sole_consumer (Builder *b,
               guint    index)
{
  return b->n_consumers[index] == 1 ? (gint) b->consumers[index][0] : -1;
}

static void
set_layer_out (Builder *b,
               guint    layer,
               gint     value,
               gint     step,
               gboolean is_int)
{
  b->layer_out[layer] = value;
  b->lw->layers[layer].output = value;
  b->lw->layers[layer].step = step;
  b->lw->layers[layer].is_integer = is_int;
}

static gint
last_step (Builder *b)
{
  return (gint) b->lw->steps->len - 1;
}

/* Dense, Conv2D, DepthwiseConv2D, SeparableConv2D with BatchNorm folding and activation
 * fusion. Returns the last layer of the group, -1 on error. */
static gint
lower_weight_layer (Builder  *b,
                    guint     index,
                    GError  **error)
{
  QsLowering *lw = b->lw;
  QsModel *model = lw->model;
  const QsLayer *l = qs_model_get_layer (model, index);
  const QsLayer *bn = NULL, *act_layer = NULL;
  QsLayerConfig lc;
  gint end = index, cons, in_v, out_v;
  gsize h, w, c, oh, ow, oc;
  gboolean is_int, separable = l->kind == QS_LAYER_SEPARABLE_CONV2D;
  gboolean depthwise = l->kind == QS_LAYER_DEPTHWISE_CONV2D;
  QsTensor *kernel, *bias_t, *pw_kernel = NULL;
  g_autofree float *bias = NULL;
  g_autofree double *fold = NULL;
  QsLoweredStep act_info = { 0 };
  gsize n_out;

  layer_config (b, l, &lc);
  copy_act (&act_info, l);
  kernel = (separable || depthwise) ? find_weight (l, "depthwise_kernel") : find_weight (l, "kernel");
  if (kernel == NULL)
    kernel = qs_layer_get_kernel (l);
  if (separable)
    pw_kernel = find_weight (l, "pointwise_kernel");
  bias_t = find_weight (l, "bias");
  if (kernel == NULL || (separable && pw_kernel == NULL))
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE,
                   _("Layer “%s” (%s) has no kernel"), l->name, l->class_name);
      return -1;
    }
  n_out = separable ? pw_kernel->shape[3] : depthwise ? kernel->shape[2] * kernel->shape[3]
          : kernel->shape[kernel->n_dims - 1];
  bias = g_new0 (float, n_out);
  if (bias_t != NULL && bias_t->n_elements == n_out)
    memcpy (bias, bias_t->data, n_out * sizeof (float));

  /* A BatchNormalization right after a linear layer, read by nothing else: fold it. */
  if (l->activation == QS_ACTIVATION_LINEAR && (cons = sole_consumer (b, index)) >= 0)
    {
      const QsLayer *cl = qs_model_get_layer (model, cons);

      if (cl->kind == QS_LAYER_BATCH_NORM && cl->n_inputs == 1
          && cl->axis == (gint) cl->output_rank - 1 && find_weight (cl, "moving_mean") != NULL
          && find_weight (cl, "moving_variance") != NULL)
        {
          bn = cl;
          end = cons;
        }
    }
  /* ... then a ReLU / ReLU6 (or any activation, which runs apart) */
  if (act_info.act == QS_ACTIVATION_LINEAR && (cons = sole_consumer (b, end)) >= 0)
    {
      const QsLayer *cl = qs_model_get_layer (model, cons);

      if (cl->kind == QS_LAYER_ACTIVATION && cl->n_inputs == 1
          && cl->activation != QS_ACTIVATION_LINEAR && cl->activation != QS_ACTIVATION_SOFTMAX
          && act_fusable (cl->activation, cl->relu_negative_slope, cl->relu_threshold))
        {
          act_layer = cl;
          copy_act (&act_info, cl);
          end = cons;
        }
    }

  if (bn != NULL)
    {
      QsTensor *gamma = find_weight (bn, "gamma"), *beta = find_weight (bn, "beta");
      QsTensor *mean = find_weight (bn, "moving_mean"), *var = find_weight (bn, "moving_variance");

      if (mean->n_elements != n_out || var->n_elements != n_out
          || (gamma && gamma->n_elements != n_out) || (beta && beta->n_elements != n_out))
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Layer “%s”: BatchNormalization parameters do not match %zu channels"),
                       bn->name, n_out);
          return -1;
        }
      /* per output channel o, in double: f = gamma / sqrt (var + eps);
       * bias = (bias - mean) * f + beta; the kernel is scaled by f on first use */
      fold = g_new (double, n_out);
      for (gsize o = 0; o < n_out; o++)
        {
          fold[o] = (gamma ? gamma->data[o] : 1.0) / sqrt ((double) var->data[o] + bn->bn_epsilon);
          bias[o] = (float) ((bias[o] - mean->data[o]) * fold[o] + (beta ? beta->data[o] : 0.0));
        }
    }

  in_v = b->layer_out[l->inputs[0]];
  shape_to_hwc (l->output_shape, l->output_rank, &oh, &ow, &oc);
  is_int = lc.quantize_activations && weight_spec_is_integer (&lc.weight);
  if (l->kind == QS_LAYER_DENSE)
    {
      gsize in_dim = kernel->shape[0];
      gsize in_size = V (lw, in_v)->h * V (lw, in_v)->w * V (lw, in_v)->c;

      if (in_dim == 0 || in_size % in_dim != 0)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Layer “%s”: input of %zu values does not fit a kernel of %zu inputs"),
                       l->name, in_size, in_dim);
          return -1;
        }
      h = in_size / in_dim; w = 1; c = in_dim;
      oh = h; ow = 1;
    }
  else
    {
      h = V (lw, in_v)->h; w = V (lw, in_v)->w; c = V (lw, in_v)->c;
    }
  if (is_int && (l->kind == QS_LAYER_DENSE ? c : kernel->shape[0] * kernel->shape[1] * c) > QS_INT_MAX_K)
    is_int = FALSE;

  in_v = is_int ? ensure_int (b, in_v, &lc.activation) : ensure_float (b, in_v);

  /* SeparableConv2D: the depthwise stage into "name#dw", then the pointwise stage. */
  if (separable)
    {
      g_autofree char *key = g_strconcat (l->name, "#dw", NULL);
      gsize mult = kernel->shape[3];
      QsLoweredStep *s = add_step (b, QS_LOWERED_DEPTHWISE, is_int, index);
      gint mid;

      s->kh = kernel->shape[0]; s->kw = kernel->shape[1]; s->mult = mult;
      s->ih = h; s->iw = w; s->ic = c; s->oh = oh; s->ow = ow; s->oc = c * mult;
      s->sh = l->strides[0]; s->sw = l->strides[1];
      s->dh = MAX (l->dilation[0], 1); s->dw = MAX (l->dilation[1], 1);
      conv_pads (l, s, h, w);
      s->kernel = qs_tensor_ref (kernel);
      s->bias = g_new0 (float, c * mult);
      s->n_out = c * mult;
      s->k = s->kh * s->kw;
      s->weight_spec = lc.weight;
      s->n_inputs = 1;
      s->inputs[0] = in_v;
      mid = new_value (b, key, oh, ow, c * mult, is_int);
      s = S (lw, last_step (b));
      if (is_int)
        set_own_range (b, mid, key, &lc.activation);
      set_output (b, s, mid);
      in_v = mid;
      h = oh; w = ow; c = c * mult;
      kernel = pw_kernel;
      depthwise = FALSE;
    }

  {
    gboolean split = !act_fusable (act_info.act, act_info.slope, act_info.thr);
    const QsLayer *end_layer = qs_model_get_layer (model, end);
    g_autofree char *key = split ? g_strconcat (end_layer->name, "#pre", NULL) : g_strdup (end_layer->name);
    QsLoweredStep *s;
    gsize kh = separable ? 1 : (l->kind == QS_LAYER_DENSE ? 1 : kernel->shape[0]);
    gsize kw = separable ? 1 : (l->kind == QS_LAYER_DENSE ? 1 : kernel->shape[1]);
    gint step;

    out_v = new_value (b, key, oh, ow, oc, is_int);
    if (is_int)
      set_own_range (b, out_v, key, &lc.activation);
    s = add_step (b, depthwise ? QS_LOWERED_DEPTHWISE : QS_LOWERED_CONV, is_int, index);
    step = last_step (b);
    s->n_inputs = 1;
    s->inputs[0] = in_v;
    s->kh = kh; s->kw = kw;
    s->mult = depthwise ? kernel->shape[3] : 1;
    s->ih = h; s->iw = w; s->ic = c; s->oh = oh; s->ow = ow; s->oc = oc;
    if (l->kind != QS_LAYER_DENSE && !separable)
      {
        s->sh = MAX (l->strides[0], 1); s->sw = MAX (l->strides[1], 1);
        s->dh = MAX (l->dilation[0], 1); s->dw = MAX (l->dilation[1], 1);
        conv_pads (l, s, h, w);
      }
    if (!split)
      {
        s->act = act_info.act;
        s->relu_max = act_info.relu_max;
      }
    s->kernel = qs_tensor_ref (kernel);
    s->fold_scale = g_steal_pointer (&fold);
    s->bias = g_memdup2 (bias, n_out * sizeof (float));
    s->n_out = depthwise ? oc : n_out;
    s->k = depthwise ? kh * kw : kh * kw * c;
    s->weight_spec = lc.weight;
    set_output (b, s, out_v);

    if (split)
      {
        gint f_in = ensure_float (b, out_v);
        QsLoweredStep *as = add_step (b, QS_LOWERED_ACTIVATION, FALSE, end);

        as->act = act_info.act; as->relu_max = act_info.relu_max;
        as->slope = act_info.slope; as->thr = act_info.thr; as->alpha = act_info.alpha;
        as->n_inputs = 1;
        as->inputs[0] = f_in;
        out_v = new_value (b, end_layer->name, oh, ow, oc, FALSE);
        set_output (b, S (lw, last_step (b)), out_v);
      }

    for (gint i = index; i <= end; i++)
      set_layer_out (b, i, out_v, i == end ? last_step (b) : step, is_int);
  }
  if (bn != NULL)
    {
      lw->layers[index].folded_bn = (gint) bn->index;
      lw->layers[bn->index].folded_into = (gint) index;
    }
  if (act_layer != NULL)
    lw->layers[act_layer->index].fused_into = (gint) index;
  return end;
}

static gboolean
lower_layer (Builder  *b,
             guint     index,
             GError  **error)
{
  QsLowering *lw = b->lw;
  const QsLayer *l = qs_model_get_layer (lw->model, index);
  QsLayerConfig lc;
  gsize oh, ow, oc;
  gint in_v = l->n_inputs > 0 ? b->layer_out[l->inputs[0]] : -1;
  gboolean want_int;
  QsLoweredStep *s;
  gint out;

  layer_config (b, l, &lc);
  want_int = lc.quantize_activations;
  shape_to_hwc (l->output_shape, l->output_rank, &oh, &ow, &oc);

  switch (l->kind)
    {
    case QS_LAYER_IDENTITY:
    case QS_LAYER_FLATTEN:
    case QS_LAYER_RESHAPE:
      {
        gboolean is_int = V (lw, in_v)->is_int;

        out = alias_value (b, in_v, oh, ow, oc);
        s = add_step (b, QS_LOWERED_ALIAS, is_int, index);
        s->n_inputs = 1;
        s->inputs[0] = in_v;
        s->output = out;   /* shares the storage: the producer stays the source's */
        set_layer_out (b, index, out, last_step (b), is_int);
        return TRUE;
      }

    case QS_LAYER_MAX_POOL2D:
    case QS_LAYER_AVG_POOL2D:
    case QS_LAYER_GLOBAL_AVG_POOL2D:
    case QS_LAYER_GLOBAL_MAX_POOL2D:
      {
        gboolean global = l->kind == QS_LAYER_GLOBAL_AVG_POOL2D || l->kind == QS_LAYER_GLOBAL_MAX_POOL2D;
        gboolean is_int = want_int && V (lw, in_v)->is_int;
        const QsLoweredValue *tin;

        if (!is_int)
          in_v = ensure_float (b, in_v);
        tin = V (lw, in_v);
        s = add_step (b, QS_LOWERED_POOL, is_int, index);
        s->is_max = l->kind == QS_LAYER_MAX_POOL2D || l->kind == QS_LAYER_GLOBAL_MAX_POOL2D;
        s->ih = tin->h; s->iw = tin->w; s->ic = tin->c;
        if (global)
          {
            s->kh = tin->h; s->kw = tin->w; s->sh = s->sw = 1;
            oh = ow = 1; oc = tin->c;
          }
        else
          {
            s->kh = l->pool_size[0]; s->kw = l->pool_size[1];
            s->sh = MAX (l->pool_strides[0], 1); s->sw = MAX (l->pool_strides[1], 1);
          }
        s->oh = oh; s->ow = ow; s->oc = oc;
        if (!global)
          conv_pads (l, s, s->ih, s->iw);
        s->n_inputs = 1;
        s->inputs[0] = in_v;
        out = new_value (b, l->name, oh, ow, oc, is_int);
        s = S (lw, last_step (b));
        if (is_int)
          share_params (b, out, in_v);
        set_output (b, s, out);
        set_layer_out (b, index, out, last_step (b), is_int);
        return TRUE;
      }

    case QS_LAYER_ZERO_PADDING2D:
      {
        gboolean is_int = want_int && V (lw, in_v)->is_int;

        if (!is_int)
          in_v = ensure_float (b, in_v);
        s = add_step (b, QS_LOWERED_PAD, is_int, index);
        for (guint i = 0; i < 4; i++)
          s->pad[i] = l->zero_padding[i];
        s->ih = V (lw, in_v)->h; s->iw = V (lw, in_v)->w; s->ic = V (lw, in_v)->c;
        s->oh = oh; s->ow = ow; s->oc = oc;
        s->n_inputs = 1;
        s->inputs[0] = in_v;
        out = new_value (b, l->name, oh, ow, oc, is_int);
        s = S (lw, last_step (b));
        if (is_int)
          share_params (b, out, in_v);
        set_output (b, s, out);
        set_layer_out (b, index, out, last_step (b), is_int);
        return TRUE;
      }

    case QS_LAYER_ACTIVATION:
      {
        gboolean is_int = want_int && V (lw, in_v)->is_int && l->activation != QS_ACTIVATION_LINEAR
                          && act_fusable (l->activation, l->relu_negative_slope, l->relu_threshold);

        if (!is_int)
          in_v = ensure_float (b, in_v);
        s = add_step (b, QS_LOWERED_ACTIVATION, is_int, index);
        copy_act (s, l);
        s->n_inputs = 1;
        s->inputs[0] = in_v;
        out = new_value (b, l->name, oh, ow, oc, is_int);
        s = S (lw, last_step (b));
        if (is_int)
          share_params (b, out, in_v);
        set_output (b, s, out);
        set_layer_out (b, index, out, last_step (b), is_int);
        return TRUE;
      }

    case QS_LAYER_BATCH_NORM:
      {
        QsTensor *gamma = find_weight (l, "gamma"), *beta = find_weight (l, "beta");
        QsTensor *mean = find_weight (l, "moving_mean"), *var = find_weight (l, "moving_variance");

        if (mean == NULL || var == NULL || mean->n_elements != oc || var->n_elements != oc
            || l->axis != (gint) l->output_rank - 1)
          {
            g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE,
                         _("Layer “%s” (BatchNormalization): only the last axis with moving mean and variance is supported"),
                         l->name);
            return FALSE;
          }
        /* the input is made float first: the conversion runs before the step */
        in_v = ensure_float (b, in_v);
        s = add_step (b, QS_LOWERED_BATCH_NORM, FALSE, index);
        s->bn_scale = g_new (float, oc);
        s->bn_shift = g_new (float, oc);
        s->oc = oc;
        for (gsize i = 0; i < oc; i++)
          {
            double f = (gamma ? gamma->data[i] : 1.0) / sqrt ((double) var->data[i] + l->bn_epsilon);
            s->bn_scale[i] = (float) f;
            s->bn_shift[i] = (float) ((beta ? beta->data[i] : 0.0) - mean->data[i] * f);
          }
        s->n_inputs = 1;
        s->inputs[0] = in_v;
        out = new_value (b, l->name, oh, ow, oc, FALSE);
        set_output (b, s, out);
        set_layer_out (b, index, out, last_step (b), FALSE);
        return TRUE;
      }

    case QS_LAYER_NORMALIZATION:
      /* float, before the input quantization: a per-channel affine map, the same one the
       * float engine applies (qs_normalization_affine) */
      in_v = ensure_float (b, in_v);
      s = add_step (b, QS_LOWERED_BATCH_NORM, FALSE, index);
      s->bn_scale = g_new (float, oc);
      s->bn_shift = g_new (float, oc);
      s->oc = oc;
      qs_normalization_affine (l, oc, s->bn_scale, s->bn_shift);
      s->n_inputs = 1;
      s->inputs[0] = in_v;
      out = new_value (b, l->name, oh, ow, oc, FALSE);
      set_output (b, s, out);
      set_layer_out (b, index, out, last_step (b), FALSE);
      return TRUE;

    case QS_LAYER_RESIZING:
    case QS_LAYER_CENTER_CROP:
      {
        const QsLoweredValue *tin;

        in_v = ensure_float (b, in_v);
        tin = V (lw, in_v);
        s = add_step (b, QS_LOWERED_RESIZE, FALSE, index);
        s->ih = tin->h; s->iw = tin->w; s->ic = tin->c;
        s->oh = oh; s->ow = ow; s->oc = oc;
        qs_resize_params_init (&s->resize, l->kind, tin->h, tin->w, tin->c, oh, ow,
                               l->resize_interpolation, l->crop_to_aspect_ratio);
        s->n_inputs = 1;
        s->inputs[0] = in_v;
        out = new_value (b, l->name, oh, ow, oc, FALSE);
        s = S (lw, last_step (b));
        set_output (b, s, out);
        set_layer_out (b, index, out, last_step (b), FALSE);
        return TRUE;
      }

    case QS_LAYER_RESCALING:
      in_v = ensure_float (b, in_v);
      s = add_step (b, QS_LOWERED_RESCALE, FALSE, index);
      s->rs_scale = l->rescale_scale;
      s->rs_offset = l->rescale_offset;
      s->n_inputs = 1;
      s->inputs[0] = in_v;
      out = new_value (b, l->name, oh, ow, oc, FALSE);
      set_output (b, s, out);
      set_layer_out (b, index, out, last_step (b), FALSE);
      return TRUE;

    case QS_LAYER_ADD:
    case QS_LAYER_CONCATENATE:
      {
        gboolean is_add = l->kind == QS_LAYER_ADD;
        gboolean is_int = want_int && (!is_add || l->n_inputs == 2);
        gint ins[QS_LOWERED_MAX_INPUTS];

        if (l->n_inputs < 1 || l->n_inputs > QS_LOWERED_MAX_INPUTS
            || (!is_add && l->axis != (gint) l->output_rank - 1))
          {
            g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE,
                         _("Layer “%s” (%s): only up to %d inputs and the last axis are supported"),
                         l->name, l->class_name, QS_LOWERED_MAX_INPUTS);
            return FALSE;
          }
        for (guint i = 0; i < l->n_inputs; i++)
          {
            gint t = b->layer_out[l->inputs[i]];

            ins[i] = is_int ? ensure_int (b, t, &lc.activation) : ensure_float (b, t);
          }
        s = add_step (b, is_add ? QS_LOWERED_ADD : QS_LOWERED_CONCAT, is_int, index);
        s->n_inputs = l->n_inputs;
        memcpy (s->inputs, ins, l->n_inputs * sizeof (gint));
        s->oh = oh; s->ow = ow; s->oc = oc;
        out = new_value (b, l->name, oh, ow, oc, is_int);
        s = S (lw, last_step (b));
        if (is_int)
          set_own_range (b, out, l->name, &lc.activation);
        set_output (b, s, out);
        set_layer_out (b, index, out, last_step (b), is_int);
        return TRUE;
      }

    default:
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE,
                   _("Layer “%s” (%s) cannot run in the engine"), l->name, l->class_name);
      return FALSE;
    }
}

static void
value_clear (gpointer data)
{
  QsLoweredValue *v = data;

  g_free (v->name);
  g_free (v->range_name);
}

static void
step_clear (gpointer data)
{
  QsLoweredStep *s = data;

  g_clear_pointer (&s->kernel, qs_tensor_unref);
  g_free (s->fold_scale);
  g_free (s->bias);
  g_free (s->bn_scale);
  g_free (s->bn_shift);
}

QsLowering *
qs_lowering_ref (QsLowering *lowering)
{
  g_return_val_if_fail (lowering != NULL, NULL);
  g_atomic_int_inc (&lowering->ref_count);
  return lowering;
}

void
qs_lowering_unref (QsLowering *lw)
{
  g_return_if_fail (lw != NULL);
  if (!g_atomic_int_dec_and_test (&lw->ref_count))
    return;
  if (lw->weights != NULL)
    for (guint i = 0; i < lw->steps->len; i++)
      g_clear_pointer (&lw->weights[i], qs_quant_result_unref);
  if (lw->folded != NULL)
    for (guint i = 0; i < lw->steps->len; i++)
      g_clear_pointer (&lw->folded[i], qs_tensor_unref);
  g_free (lw->folded);
  g_free (lw->weights);
  g_free (lw->weights_done);
  g_array_unref (lw->values);
  g_array_unref (lw->steps);
  g_free (lw->layers);
  g_clear_object (&lw->model);
  g_clear_object (&lw->config);
  g_mutex_clear (&lw->weights_lock);
  g_free (lw);
}

QsLowering *
qs_lowering_new (QsModel   *model,
                 QsConfig  *config,
                 GError   **error)
{
  g_autoptr(QsLowering) lw = NULL;
  Builder b = { 0 };
  const char *why = NULL;
  const QsLayer *first;
  gsize h, w, c;
  guint n;
  QsQuantSpec input_spec;
  gboolean ok = TRUE;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (config == NULL || QS_IS_CONFIG (config), NULL);

  if (!qs_model_can_infer (model, &why))
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE, "%s",
                   why ? why : _("The model cannot run inference"));
      return NULL;
    }
  n = qs_model_get_n_layers (model);
  lw = g_new0 (QsLowering, 1);
  lw->ref_count = 1;
  lw->model = g_object_ref (model);
  lw->config = config ? qs_config_copy (config) : NULL;
  lw->values = g_array_new (FALSE, TRUE, sizeof (QsLoweredValue));
  g_array_set_clear_func (lw->values, value_clear);
  lw->steps = g_array_new (FALSE, TRUE, sizeof (QsLoweredStep));
  g_array_set_clear_func (lw->steps, step_clear);
  lw->n_layers = n;
  lw->layers = g_new0 (QsLoweredLayer, n);
  g_mutex_init (&lw->weights_lock);
  for (guint i = 0; i < n; i++)
    {
      lw->layers[i].step = lw->layers[i].output = -1;
      lw->layers[i].folded_bn = lw->layers[i].folded_into = lw->layers[i].fused_into = -1;
    }

  b.lw = lw;
  b.layer_out = g_new (gint, n);
  b.n_consumers = g_new0 (guint, n);
  b.consumers = g_new0 (guint *, n);
  b.to_int = g_array_new (FALSE, FALSE, sizeof (gint));
  b.to_float = g_array_new (FALSE, FALSE, sizeof (gint));
  for (guint i = 0; i < n; i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);

      b.layer_out[i] = -1;
      for (guint j = 0; j < l->n_inputs; j++)
        {
          guint src = l->inputs[j];
          b.consumers[src] = g_renew (guint, b.consumers[src], b.n_consumers[src] + 1);
          b.consumers[src][b.n_consumers[src]++] = i;
        }
    }

  first = qs_model_get_layer (model, 0);
  shape_to_hwc (first->output_shape, first->output_rank, &h, &w, &c);
  lw->input = new_value (&b, first->name, h, w, c, FALSE);
  set_layer_out (&b, 0, lw->input, -1, FALSE);
  if (config != NULL && qs_config_get_input_spec (config, &input_spec))
    {
      gint q = ensure_int (&b, lw->input, &input_spec);

      set_layer_out (&b, 0, q, last_step (&b), TRUE);
    }

  for (guint i = 1; ok && i < n; i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);

      if (b.layer_out[i] >= 0)
        continue;   /* fused into an earlier group */
      for (guint j = 0; j < l->n_inputs; j++)
        g_assert (b.layer_out[l->inputs[j]] >= 0);
      if (l->kind == QS_LAYER_DENSE || l->kind == QS_LAYER_CONV2D
          || l->kind == QS_LAYER_DEPTHWISE_CONV2D || l->kind == QS_LAYER_SEPARABLE_CONV2D)
        ok = lower_weight_layer (&b, i, error) >= 0;
      else
        ok = lower_layer (&b, i, error);
    }
  if (ok)
    lw->output = ensure_float (&b, b.layer_out[n - 1]);

  for (guint i = 0; i < n; i++)
    g_free (b.consumers[i]);
  g_free (b.consumers);
  g_free (b.n_consumers);
  g_free (b.layer_out);
  g_array_unref (b.to_int);
  g_array_unref (b.to_float);
  if (!ok)
    return NULL;
  lw->weights = g_new0 (QsQuantResult *, lw->steps->len);
  lw->folded = g_new0 (QsTensor *, lw->steps->len);
  lw->weights_done = g_new0 (gboolean, lw->steps->len);
  return g_steal_pointer (&lw);
}

QsModel *
qs_lowering_get_model (QsLowering *lowering)
{
  g_return_val_if_fail (lowering != NULL, NULL);
  return lowering->model;
}

QsConfig *
qs_lowering_get_config (QsLowering *lowering)
{
  g_return_val_if_fail (lowering != NULL, NULL);
  return lowering->config;
}

guint
qs_lowering_get_n_values (QsLowering *lowering)
{
  g_return_val_if_fail (lowering != NULL, 0);
  return lowering->values->len;
}

const QsLoweredValue *
qs_lowering_get_value (QsLowering *lowering,
                       guint       index)
{
  g_return_val_if_fail (lowering != NULL, NULL);
  g_return_val_if_fail (index < lowering->values->len, NULL);
  return V (lowering, index);
}

gint
qs_lowering_find_value (QsLowering *lowering,
                        const char *name)
{
  g_return_val_if_fail (lowering != NULL, -1);
  g_return_val_if_fail (name != NULL, -1);

  /* the value a name was first given to (aliases repeat their source's name) */
  for (guint i = 0; i < lowering->values->len; i++)
    if (g_strcmp0 (V (lowering, i)->name, name) == 0)
      return (gint) i;
  return -1;
}

guint
qs_lowering_get_n_steps (QsLowering *lowering)
{
  g_return_val_if_fail (lowering != NULL, 0);
  return lowering->steps->len;
}

const QsLoweredStep *
qs_lowering_get_step (QsLowering *lowering,
                      guint       index)
{
  g_return_val_if_fail (lowering != NULL, NULL);
  g_return_val_if_fail (index < lowering->steps->len, NULL);
  return S (lowering, index);
}

const QsLoweredLayer *
qs_lowering_get_layer (QsLowering *lowering,
                       guint       layer_index)
{
  g_return_val_if_fail (lowering != NULL, NULL);
  g_return_val_if_fail (layer_index < lowering->n_layers, NULL);
  return &lowering->layers[layer_index];
}

gint
qs_lowering_get_input (QsLowering *lowering)
{
  g_return_val_if_fail (lowering != NULL, -1);
  return lowering->input;
}

gint
qs_lowering_get_output (QsLowering *lowering)
{
  g_return_val_if_fail (lowering != NULL, -1);
  return lowering->output;
}

gint
qs_lowering_get_range_owner (QsLowering *lowering,
                             gint        value)
{
  g_return_val_if_fail (lowering != NULL, -1);
  g_return_val_if_fail (value >= 0 && (guint) value < lowering->values->len, -1);

  if (!V (lowering, value)->is_int)
    return -1;
  while (V (lowering, value)->params_from >= 0)
    value = V (lowering, value)->params_from;
  return value;
}

QsLoweredRange *
qs_lowering_list_ranges (QsLowering *lowering,
                         guint      *n_ranges)
{
  GArray *out;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_return_val_if_fail (lowering != NULL, NULL);
  g_return_val_if_fail (n_ranges != NULL, NULL);

  out = g_array_new (FALSE, TRUE, sizeof (QsLoweredRange));
  for (guint i = 0; i < lowering->values->len; i++)
    {
      const QsLoweredValue *v = V (lowering, i);
      QsLoweredRange r = { 0 };

      if (!v->is_int || v->params_from >= 0 || v->range_name == NULL
          || g_hash_table_contains (seen, v->range_name))
        continue;
      g_hash_table_add (seen, v->range_name);
      r.name = v->range_name;
      r.spec = &v->spec;
      r.fixed = lowering->config != NULL
                && qs_config_get_activation_range (lowering->config, v->range_name, &r.lo, &r.hi);
      g_array_append_val (out, r);
    }
  *n_ranges = out->len;
  return (QsLoweredRange *) g_array_free (out, FALSE);
}

/* --- weights --- */

static gboolean
step_has_weights (const QsLoweredStep *s)
{
  return (s->kind == QS_LOWERED_CONV || s->kind == QS_LOWERED_DEPTHWISE) && s->kernel != NULL;
}

/* The kernel scaled by the folded BatchNorm's factors (float32 of the double product),
 * written in one pass in memory order (the output channel is the fastest dimension). */
static QsTensor *
fold_kernel (const QsLoweredStep *s)
{
  QsTensor *t = qs_tensor_new (s->kernel->name, s->kernel->n_dims, s->kernel->shape, NULL);
  const float *src = s->kernel->data;
  gsize n = s->kernel->n_elements;

  qs_tensor_set_layout (t, s->kernel->layout);
  g_assert (n % s->n_out == 0);
  for (gsize i = 0; i < n; i += s->n_out)
    for (gsize o = 0; o < s->n_out; o++)
      t->data[i + o] = (float) (src[i + o] * s->fold_scale[o]);
  return t;
}

/* with weights_lock held */
static QsTensor *
step_kernel_locked (QsLowering *lw,
                    guint       step)
{
  const QsLoweredStep *s = S (lw, step);

  if (s->fold_scale == NULL)
    return s->kernel;
  if (lw->folded[step] == NULL)
    lw->folded[step] = fold_kernel (s);
  return lw->folded[step];
}

QsTensor *
qs_lowering_get_step_kernel (QsLowering *lowering,
                             guint       step)
{
  QsTensor *t;

  g_return_val_if_fail (lowering != NULL, NULL);
  g_return_val_if_fail (step < lowering->steps->len, NULL);

  if (S (lowering, step)->kernel == NULL)
    return NULL;
  g_mutex_lock (&lowering->weights_lock);
  t = qs_tensor_ref (step_kernel_locked (lowering, step));
  g_mutex_unlock (&lowering->weights_lock);
  return t;
}

/* Integer steps store codes from the layer's own spec; float steps use the values
 * qs_quant_run () gives with the spec resolved for the kernel (fp32: the kernel itself). */
static QsQuantResult *
quantize_step (const QsLoweredStep *s,
               QsTensor            *kernel,
               GError             **error)
{
  QsQuantOptions opt = { 0 };
  QsQuantSpec resolved;

  if (s->is_int)
    {
      opt.want_codes = TRUE;
      return qs_quant_run (kernel, &s->weight_spec, &opt, NULL, error);
    }
  if (s->weight_spec.format == QS_FORMAT_FP32)
    return NULL;
  qs_config_resolve_weight_spec (&s->weight_spec, kernel, &resolved);
  opt.want_dequant = TRUE;
  return qs_quant_run (kernel, &resolved, &opt, NULL, error);
}

QsQuantResult *
qs_lowering_get_step_weights (QsLowering  *lowering,
                              guint        step,
                              GError     **error)
{
  const QsLoweredStep *s;
  QsQuantResult *r = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (lowering != NULL, NULL);
  g_return_val_if_fail (step < lowering->steps->len, NULL);

  s = S (lowering, step);
  if (!step_has_weights (s))
    return NULL;
  g_mutex_lock (&lowering->weights_lock);
  if (!lowering->weights_done[step])
    {
      /* the lock is held while one kernel is quantized: concurrent callers wait for the
       * same result instead of computing it twice */
      lowering->weights[step] = quantize_step (s, step_kernel_locked (lowering, step), &local);
      lowering->weights_done[step] = local == NULL;
    }
  if (lowering->weights[step] != NULL)
    r = qs_quant_result_ref (lowering->weights[step]);
  g_mutex_unlock (&lowering->weights_lock);
  if (local != NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  return r;
}

/* qs_lowering_prepare_weights: one step's folded kernel and weights, computed without the
 * lock (steps in parallel) and stored unless another thread stored them first. */
typedef struct
{
  QsLowering *lw;
  guint      *steps;
  GError    **errors;
} Prepare;

static void
prepare_step (gsize    index,
              guint    thread_index,
              gpointer user_data)
{
  Prepare *p = user_data;
  QsLowering *lw = p->lw;
  guint step = p->steps[index];
  const QsLoweredStep *s = S (lw, step);
  g_autoptr(QsTensor) kernel = NULL;
  QsQuantResult *r;

  g_mutex_lock (&lw->weights_lock);
  if (s->fold_scale == NULL)
    kernel = qs_tensor_ref (s->kernel);
  else if (lw->folded[step] != NULL)
    kernel = qs_tensor_ref (lw->folded[step]);
  g_mutex_unlock (&lw->weights_lock);
  if (kernel == NULL)
    {
      kernel = fold_kernel (s);
      g_mutex_lock (&lw->weights_lock);
      if (lw->folded[step] == NULL)
        lw->folded[step] = qs_tensor_ref (kernel);
      g_mutex_unlock (&lw->weights_lock);
    }
  r = quantize_step (s, kernel, &p->errors[index]);
  g_mutex_lock (&lw->weights_lock);
  if (p->errors[index] == NULL && !lw->weights_done[step])
    {
      lw->weights[step] = g_steal_pointer (&r);
      lw->weights_done[step] = TRUE;
    }
  g_mutex_unlock (&lw->weights_lock);
  g_clear_pointer (&r, qs_quant_result_unref);
}

/* Steps with bigger kernels first, then in step order. */
static gint
kernel_size_cmp (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  QsLowering *lw = user_data;
  guint ia = *(const guint *) a, ib = *(const guint *) b;
  gsize na = S (lw, ia)->kernel->n_elements, nb = S (lw, ib)->kernel->n_elements;

  if (na != nb)
    return na > nb ? -1 : 1;
  return (ia > ib) - (ia < ib);
}

gboolean
qs_lowering_prepare_weights (QsLowering  *lowering,
                             GError     **error)
{
  g_autofree guint *steps = NULL;
  g_autofree GError **errors = NULL;
  Prepare p;
  guint n = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (lowering != NULL, FALSE);

  steps = g_new (guint, lowering->steps->len + 1);
  g_mutex_lock (&lowering->weights_lock);
  for (guint i = 0; i < lowering->steps->len; i++)
    if (step_has_weights (S (lowering, i)) && !lowering->weights_done[i])
      steps[n++] = i;
  g_mutex_unlock (&lowering->weights_lock);
  /* the biggest kernels first, so that no thread is left with one at the end */
  g_qsort_with_data (steps, (gint) n, sizeof (guint), kernel_size_cmp, lowering);
  errors = g_new0 (GError *, n + 1);
  p.lw = lowering;
  p.steps = steps;
  p.errors = errors;
  qs_parallel_for (n, 0, prepare_step, &p, NULL, NULL);
  for (guint i = 0; i < n; i++)
    if (errors[i] != NULL)
      {
        if (ok)
          g_propagate_error (error, g_steal_pointer (&errors[i]));
        g_clear_error (&errors[i]);
        ok = FALSE;
      }
  return ok;
}

/* Two steps compute the same stored kernel: the same model kernel, kind and folded
 * BatchNorm factors. */
static gboolean
same_kernel (const QsLoweredStep *a,
             const QsLoweredStep *b)
{
  if (a->kernel != b->kernel || a->kind != b->kind || a->n_out != b->n_out
      || (a->fold_scale == NULL) != (b->fold_scale == NULL))
    return FALSE;
  return a->fold_scale == NULL || memcmp (a->fold_scale, b->fold_scale, a->n_out * sizeof (double)) == 0;
}

void
qs_lowering_reuse_weights (QsLowering *lowering,
                           QsLowering *previous)
{
  g_autoptr(GHashTable) by_kernel = NULL;
  g_autofree QsTensor **folded = NULL;
  g_autofree QsQuantResult **weights = NULL;
  g_autofree gboolean *done = NULL;
  guint n;

  g_return_if_fail (lowering != NULL);
  g_return_if_fail (previous != NULL);

  if (previous == lowering || previous->model != lowering->model)
    return;
  by_kernel = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < previous->steps->len; i++)
    if (step_has_weights (S (previous, i)))
      g_hash_table_insert (by_kernel, S (previous, i)->kernel, GUINT_TO_POINTER (i + 1));

  /* what previous has, taken under its lock, then stored under lowering's: one lock at a
   * time, in no fixed order between lowerings */
  n = lowering->steps->len;
  folded = g_new0 (QsTensor *, n);
  weights = g_new0 (QsQuantResult *, n);
  done = g_new0 (gboolean, n);
  g_mutex_lock (&previous->weights_lock);
  for (guint i = 0; i < n; i++)
    {
      const QsLoweredStep *s = S (lowering, i), *ps;
      guint j = GPOINTER_TO_UINT (step_has_weights (s) ? g_hash_table_lookup (by_kernel, s->kernel) : NULL);

      if (j == 0)
        continue;
      ps = S (previous, j - 1);
      if (!same_kernel (s, ps))
        continue;
      if (previous->folded[j - 1] != NULL)
        folded[i] = qs_tensor_ref (previous->folded[j - 1]);
      if (previous->weights_done[j - 1] && s->is_int == ps->is_int
          && qs_quant_spec_equal (&s->weight_spec, &ps->weight_spec))
        {
          done[i] = TRUE;
          if (previous->weights[j - 1] != NULL)
            weights[i] = qs_quant_result_ref (previous->weights[j - 1]);
        }
    }
  g_mutex_unlock (&previous->weights_lock);

  g_mutex_lock (&lowering->weights_lock);
  for (guint i = 0; i < n; i++)
    {
      if (lowering->folded[i] == NULL)
        lowering->folded[i] = g_steal_pointer (&folded[i]);
      if (done[i] && !lowering->weights_done[i])
        {
          lowering->weights[i] = g_steal_pointer (&weights[i]);
          lowering->weights_done[i] = TRUE;
        }
    }
  g_mutex_unlock (&lowering->weights_lock);
  for (guint i = 0; i < n; i++)
    {
      g_clear_pointer (&folded[i], qs_tensor_unref);
      g_clear_pointer (&weights[i], qs_quant_result_unref);
    }
}

guint64
qs_lowering_kernel_storage_bits (const QsTensor    *kernel,
                                 const QsQuantSpec *spec)
{
  g_return_val_if_fail (kernel != NULL && spec != NULL, 0);

  if (spec->format == QS_FORMAT_FP32)
    return (guint64) kernel->n_elements * 32;
  return qs_quant_storage_bits (kernel, spec);
}

static guint64
step_storage_bits (const QsLoweredStep *s)
{
  QsQuantSpec resolved;

  if (s->is_int)
    return qs_lowering_kernel_storage_bits (s->kernel, &s->weight_spec);
  if (s->weight_spec.format == QS_FORMAT_FP32)
    return (guint64) s->kernel->n_elements * 32;
  qs_config_resolve_weight_spec (&s->weight_spec, s->kernel, &resolved);
  return qs_lowering_kernel_storage_bits (s->kernel, &resolved);
}

/* The step whose output is the layer group's (it stores the group's 32-bit bias). */
static gboolean
step_stores_bias (QsLowering          *lw,
                  const QsLoweredStep *s)
{
  const char *name = V (lw, s->output)->name;

  return !(name != NULL && g_str_has_suffix (name, "#dw"));
}

gboolean
qs_lowering_get_layer_weights (QsLowering       *lowering,
                               guint             layer_index,
                               QsLoweredWeights *out)
{
  double signal = 0.0, noise = 0.0;
  gboolean has_kernel = FALSE;

  g_return_val_if_fail (lowering != NULL, FALSE);
  g_return_val_if_fail (layer_index < lowering->n_layers, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  memset (out, 0, sizeof *out);
  out->folded_bn = lowering->layers[layer_index].folded_bn;
  out->folded_into = lowering->layers[layer_index].folded_into;
  for (guint i = 0; i < lowering->steps->len; i++)
    {
      const QsLoweredStep *s = S (lowering, i);
      g_autoptr(QsQuantResult) r = NULL;

      if (s->layer != (gint) layer_index || !step_has_weights (s))
        continue;
      has_kernel = TRUE;
      r = qs_lowering_get_step_weights (lowering, i, NULL);
      if (r == NULL)
        {
          /* kept in float32 (or a kernel that failed to quantize: counted as float) */
          g_autoptr(QsTensor) kernel = qs_lowering_get_step_kernel (lowering, i);

          for (gsize k = 0; k < kernel->n_elements; k++)
            signal += (double) kernel->data[k] * kernel->data[k];
          out->n_values += s->kernel->n_elements;
          out->storage_bits += (guint64) s->kernel->n_elements * 32;
        }
      else
        {
          out->n_values += r->stats.n_values;
          signal += r->stats.signal_power * r->stats.n_values;
          noise += r->stats.mse * r->stats.n_values;
          out->storage_bits += r->stats.storage_bits;
        }
      if (step_stores_bias (lowering, s))
        out->storage_bits += (guint64) s->n_out * 32;
    }
  out->sqnr_db = qs_stats_sqnr_db (out->n_values ? signal / out->n_values : 0.0,
                                   out->n_values ? noise / out->n_values : 0.0);
  return has_kernel;
}

/* --- cost --- */

static guint64
value_bytes (const QsLoweredValue *v,
             gboolean              as_float)
{
  return (guint64) v->h * v->w * v->c * (v->is_int && !as_float ? 1 : 4);
}

static guint
value_bits (QsLowering *lw,
            gint        value)
{
  gint owner = qs_lowering_get_range_owner (lw, value);

  if (owner < 0)
    return 32;
  return V (lw, owner)->spec.format == QS_FORMAT_INT ? V (lw, owner)->spec.bits : 8;
}

/* In the float view a conversion is its source: the all-float program has no copies. */
static gint
float_view (QsLowering *lw,
            gint        v,
            gboolean    as_float)
{
  while (as_float && V (lw, v)->producer >= 0 && V (lw, v)->alias_of < 0
         && (S (lw, V (lw, v)->producer)->kind == QS_LOWERED_QUANTIZE
             || S (lw, V (lw, v)->producer)->kind == QS_LOWERED_DEQUANTIZE))
    v = S (lw, V (lw, v)->producer)->inputs[0];
  return V (lw, v)->alias_of >= 0 ? float_view (lw, V (lw, v)->alias_of, as_float) : v;
}

/* The largest set of values alive at once (each from the step that writes it to the last
 * step that reads it; aliases share their source's storage): the bound TFLite's arena
 * planner reaches. as_float: the same program with every value in float32 and no
 * conversions. */
static guint64
peak_live_bytes (QsLowering *lw,
                 gboolean    as_float)
{
  guint nv = lw->values->len, ns = lw->steps->len;
  g_autofree gint *last_use = g_new (gint, nv);
  guint64 peak = 0;

  for (guint i = 0; i < nv; i++)
    last_use[i] = V (lw, i)->producer;
  for (guint s = 0; s < ns; s++)
    for (guint k = 0; k < S (lw, s)->n_inputs; k++)
      {
        gint v = float_view (lw, S (lw, s)->inputs[k], as_float);

        last_use[v] = MAX (last_use[v], (gint) s);
      }
  last_use[float_view (lw, lw->output, as_float)] = (gint) ns;
  for (guint s = 0; s < ns; s++)
    {
      guint64 live = 0;

      for (guint v = 0; v < nv; v++)
        if (float_view (lw, (gint) v, as_float) == (gint) v
            && V (lw, v)->producer <= (gint) s && last_use[v] >= (gint) s)
          live += value_bytes (V (lw, v), as_float);
      peak = MAX (peak, live);
    }
  return ns ? peak : value_bytes (V (lw, lw->input), as_float);
}

static const QsEnergyEntry energy_table[QS_ENERGY_N_OPS] = {
  [QS_ENERGY_INT8_ADD]     = { "int8-add", 0.03 },
  [QS_ENERGY_INT8_MULT]    = { "int8-mult", 0.2 },
  [QS_ENERGY_INT32_ADD]    = { "int32-add", 0.1 },
  [QS_ENERGY_INT32_MULT]   = { "int32-mult", 3.1 },
  [QS_ENERGY_FP16_ADD]     = { "fp16-add", 0.4 },
  [QS_ENERGY_FP16_MULT]    = { "fp16-mult", 1.1 },
  [QS_ENERGY_FP32_ADD]     = { "fp32-add", 0.9 },
  [QS_ENERGY_FP32_MULT]    = { "fp32-mult", 3.7 },
  [QS_ENERGY_SRAM_READ_32] = { "sram-read-32", 5.0 },
  [QS_ENERGY_DRAM_READ_32] = { "dram-read-32", 640.0 },
};

const QsEnergyEntry *
qs_energy_table (void)
{
  return energy_table;
}

void
qs_lowering_get_cost (QsLowering *lowering,
                      QsCost     *out)
{
  QsLowering *lw = lowering;

  g_return_if_fail (lowering != NULL);
  g_return_if_fail (out != NULL);

  memset (out, 0, sizeof *out);
  for (guint i = 0; i < lw->n_layers; i++)
    {
      const QsLayer *l = qs_model_get_layer (lw->model, i);

      for (guint k = 0; k < l->weights->len; k++)
        out->float_weight_bytes += (guint64) ((QsTensor *) g_ptr_array_index (l->weights, k))->n_elements * 4;
    }
  {
    guint64 bits = 0;

    for (guint s = 0; s < lw->steps->len; s++)
      {
        const QsLoweredStep *st = S (lw, s);

        if (step_has_weights (st))
          {
            guint64 macs = (guint64) st->oh * st->ow * st->n_out * st->k;
            guint wbits = 32, abits = 32;

            bits += step_storage_bits (st);
            if (step_stores_bias (lw, st))
              bits += (guint64) st->n_out * 32;
            if (st->is_int)
              {
                wbits = st->weight_spec.bits;
                abits = value_bits (lw, st->inputs[0]);
              }
            out->macs += macs;
            out->bit_ops += macs * wbits * abits;
            /* a multiplier's energy grows with the product of its operand widths
             * (Horowitz: 8-bit 0.2 pJ, 32-bit 3.1 pJ, about 16x) */
            if (st->is_int)
              out->energy_compute_pj += (double) macs
                * (energy_table[QS_ENERGY_INT8_MULT].picojoules * wbits * abits / 64.0
                   + energy_table[QS_ENERGY_INT32_ADD].picojoules);
            else
              out->energy_compute_pj += (double) macs
                * (energy_table[QS_ENERGY_FP32_MULT].picojoules + energy_table[QS_ENERGY_FP32_ADD].picojoules);
          }
        else if (st->kind == QS_LOWERED_BATCH_NORM)
          bits += (guint64) st->oc * 2 * 32;
        if (st->kind != QS_LOWERED_QUANTIZE && st->kind != QS_LOWERED_DEQUANTIZE
            && st->kind != QS_LOWERED_ALIAS)
          {
            if (st->is_int)
              out->n_int_steps++;
            else
              out->n_float_steps++;
          }
      }
    out->weight_bytes = (bits + 7) / 8;
  }
  /* activation traffic: every step reads its inputs and writes its output once */
  for (guint s = 0; s < lw->steps->len; s++)
    {
      const QsLoweredStep *st = S (lw, s);
      guint64 bytes = 0;

      if (st->kind == QS_LOWERED_ALIAS)
        continue;
      for (guint k = 0; k < st->n_inputs; k++)
        bytes += value_bytes (V (lw, st->inputs[k]), FALSE);
      if (st->output >= 0)
        bytes += value_bytes (V (lw, st->output), FALSE);
      out->energy_activations_pj += (double) ((bytes + 3) / 4) * energy_table[QS_ENERGY_SRAM_READ_32].picojoules;
    }
  out->energy_weights_pj = (double) ((out->weight_bytes + 3) / 4) * energy_table[QS_ENERGY_DRAM_READ_32].picojoules;
  out->energy_pj = out->energy_compute_pj + out->energy_weights_pj + out->energy_activations_pj;
  out->peak_activation_bytes = peak_live_bytes (lw, FALSE);
  out->float_peak_activation_bytes = peak_live_bytes (lw, TRUE);
}

void
qs_cost_compute (QsModel  *model,
                 QsConfig *config,
                 QsCost   *out)
{
  g_autoptr(QsLowering) lowering = NULL;
  guint64 bits = 0;

  g_return_if_fail (QS_IS_MODEL (model));
  g_return_if_fail (out != NULL);

  lowering = qs_lowering_new (model, config, NULL);
  if (lowering != NULL)
    {
      qs_lowering_get_cost (lowering, out);
      out->has_program = TRUE;
      return;
    }
  memset (out, 0, sizeof *out);
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);
      QsLayerConfig lc;

      if (config != NULL)
        qs_config_get_layer (config, l->name, &lc);
      else
        qs_quant_spec_init_float (&lc.weight, QS_FORMAT_FP32);
      for (guint k = 0; k < l->weights->len; k++)
        {
          QsTensor *t = g_ptr_array_index (l->weights, k);
          QsQuantSpec spec;

          out->float_weight_bytes += (guint64) t->n_elements * 4;
          if (t->layout != QS_TENSOR_LAYOUT_DENSE && t->layout != QS_TENSOR_LAYOUT_CONV2D
              && t->layout != QS_TENSOR_LAYOUT_DEPTHWISE)
            {
              bits += (guint64) t->n_elements * 32;
              continue;
            }
          qs_config_resolve_weight_spec (&lc.weight, t, &spec);
          bits += qs_lowering_kernel_storage_bits (t, &spec);
        }
    }
  out->weight_bytes = (bits + 7) / 8;
}

/* --- description --- */

static const char *
kind_name (QsLoweredKind kind)
{
  static const char *names[] = {
    "quantize", "dequantize", "conv", "depthwise", "pool", "batch-norm", "activation",
    "add", "concat", "pad", "rescale", "alias", "resize",
  };

  return names[kind];
}

static void
append_value (GString    *s,
              QsLowering *lw,
              gint        v)
{
  const QsLoweredValue *val = V (lw, v);

  if (val->name != NULL)
    g_string_append (s, val->name);
  else
    {
      /* a conversion: its source's name with ~q (quantized) or ~f (float) */
      const QsLoweredStep *p = S (lw, val->producer);

      append_value (s, lw, p->inputs[0]);
      g_string_append (s, val->is_int ? "~q" : "~f");
    }
}

char *
qs_lowering_describe (QsLowering *lowering)
{
  GString *s = g_string_new (NULL);

  g_return_val_if_fail (lowering != NULL, NULL);

  for (guint i = 0; i < lowering->steps->len; i++)
    {
      const QsLoweredStep *st = S (lowering, i);

      g_string_append_printf (s, "%s %s", kind_name (st->kind), st->is_int ? "int" : "float");
      if (st->layer >= 0)
        {
          const QsLoweredLayer *ll = &lowering->layers[st->layer];

          g_string_append_printf (s, " %s", qs_model_get_layer (lowering->model, st->layer)->name);
          if (ll->folded_bn >= 0 && step_has_weights (st) && step_stores_bias (lowering, st))
            g_string_append_printf (s, "+%s", qs_model_get_layer (lowering->model, ll->folded_bn)->name);
          for (guint l = 0; l < lowering->n_layers; l++)
            if (lowering->layers[l].fused_into == st->layer && step_stores_bias (lowering, st)
                && step_has_weights (st))
              g_string_append_printf (s, "+%s", qs_model_get_layer (lowering->model, l)->name);
        }
      g_string_append (s, " (");
      for (guint k = 0; k < st->n_inputs; k++)
        {
          if (k > 0)
            g_string_append (s, ", ");
          append_value (s, lowering, st->inputs[k]);
        }
      g_string_append (s, ") -> ");
      append_value (s, lowering, st->output);
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}
