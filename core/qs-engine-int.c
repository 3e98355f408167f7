/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-engine-int.h"
#include "qs-fixedpoint.h"
#include "qs-kernels-int.h"
#include "qs-quant.h"
#include "qs-tensor.h"

#define MAX_OP_INPUTS 16
/* Rows of the im2col matrix built and multiplied at a time (stays in L1). */
#define IM2COL_BLOCK 64

typedef struct
{
  char    *key;        /* value name (layer output); NULL for conversions */
  gsize    h, w, c, size;
  gboolean is_int;
  float    scale;      /* integer tensors: container domain (uint8 codes) */
  gint32   zp, qmin, qmax;
  gint     storage;
  gint     to_int;     /* cached conversions, -1 */
  gint     to_float;
} PTensor;

typedef enum
{
  OP_QUANTIZE,
  OP_DEQUANTIZE,
  OP_F_CONV,
  OP_F_DW,
  OP_F_POOL,
  OP_F_BN,
  OP_F_ACT,
  OP_F_ADD,
  OP_F_CONCAT,
  OP_F_PAD,
  OP_F_RESCALE,
  OP_I_CONV,
  OP_I_DW,
  OP_I_POOL,
  OP_I_CLAMP,
  OP_I_ADD,
  OP_I_CONCAT,
  OP_I_PAD,
} OpKind;

typedef struct
{
  OpKind        kind;
  gint          layer;
  guint         n_in;
  gint          in[MAX_OP_INPUTS];
  gint          out;

  /* convolution / pooling geometry */
  gsize         kh, kw, sh, sw, dh, dw, pad_t, pad_l, mult;
  gsize         ih, iw, ic, oh, ow, oc;   /* conv / depthwise: as the op sees them */
  gboolean      is_max;
  gboolean      direct;          /* integer GEMM straight on the input (Dense, 1x1 conv) */
  gboolean      implicit;        /* integer conv read in place, one segment per kernel row */

  /* float weights: conv [kh][kw][cin][cout], depthwise [kh][kw][c * mult] */
  float        *fw;
  float        *fb;
  float        *bn_scale;
  float        *bn_shift;

  QsActivation  act;
  float         relu_max, slope, thr, alpha;

  /* quantize: the spec's rounding */
  QsRounding    rounding;

  /* integer */
  QsPackedWeights packed;
  gint8        *dw_codes;
  gint32       *bias;
  gint32       *mult_q;
  gint32       *shift_q;
  QsRequant     rq;
  QsAddParams   addp;
  gint32        cat_m[MAX_OP_INPUTS];
  gint32        cat_s[MAX_OP_INPUTS];
  gsize         pad[4];
  float         rs_scale, rs_offset;
} Op;

typedef struct
{
  gsize offset;
  gsize bytes;
} Storage;

/* What the program stores of one layer's kernels (after BatchNorm folding), summed over
 * its kernels (a SeparableConv2D has two). */
typedef struct
{
  gboolean has_kernel;
  gint     folded_bn;     /* the BatchNormalization folded into this layer, or -1 */
  gint     folded_into;   /* for a folded BatchNormalization: the layer it went into, or -1 */
  gsize    n_values;
  double   signal_sum;    /* sum x^2 over the float (folded) kernel values */
  double   noise_sum;     /* sum (x - q(x))^2 */
  guint64  storage_bits;
} LayerWeights;

struct _QsEngineInt
{
  QsModel            *model;
  const QsIntKernels *kernels;
  GArray             *tensors;   /* PTensor */
  GArray             *storage;   /* Storage */
  GPtrArray          *ops;       /* Op * */
  gboolean           *layer_int; /* n_layers */
  LayerWeights       *layer_w;   /* n_layers: the kernels the program stores */
  guint               n_layers;
  gint                input;     /* float input tensor */
  gint                output;    /* float output tensor */
  gsize               arena_bytes;
  gsize               im2col_bytes;
  gsize               acc_count;
};

typedef struct
{
  QsEngineInt   *e;
  QsConfig      *config;
  QsCalibration *calib;
  gint          *layer_out;
  guint        **consumers;
  guint         *n_consumers;
} Builder;

#define T(e, i) (&g_array_index ((e)->tensors, PTensor, (i)))

static void
op_free (gpointer data)
{
  Op *op = data;

  g_free (op->fw);
  g_free (op->fb);
  g_free (op->bn_scale);
  g_free (op->bn_shift);
  qs_packed_weights_clear (&op->packed);
  g_free (op->dw_codes);
  g_free (op->bias);
  g_free (op->mult_q);
  g_free (op->shift_q);
  g_free (op);
}

void
qs_engine_int_free (QsEngineInt *e)
{
  if (e == NULL)
    return;
  for (guint i = 0; i < e->tensors->len; i++)
    g_free (T (e, i)->key);
  g_array_unref (e->tensors);
  g_array_unref (e->storage);
  g_ptr_array_unref (e->ops);
  g_free (e->layer_int);
  g_free (e->layer_w);
  g_clear_object (&e->model);
  g_free (e);
}

/* --- building --- */

static gint
new_storage (QsEngineInt *e,
             gsize        bytes)
{
  Storage s = { 0, bytes };

  g_array_append_val (e->storage, s);
  return e->storage->len - 1;
}

static gint
new_tensor (QsEngineInt *e,
            const char  *key,
            gsize        h,
            gsize        w,
            gsize        c,
            gboolean     is_int)
{
  PTensor t = { 0 };

  t.key = g_strdup (key);
  t.h = h; t.w = w; t.c = c;
  t.size = h * w * c;
  t.is_int = is_int;
  t.storage = new_storage (e, t.size * (is_int ? 1 : sizeof (float)));
  t.to_int = t.to_float = -1;
  g_array_append_val (e->tensors, t);
  return e->tensors->len - 1;
}

static gint
alias_tensor (QsEngineInt *e,
              gint         src,
              gsize        h,
              gsize        w,
              gsize        c)
{
  PTensor t = *T (e, src);

  t.key = g_strdup (T (e, src)->key);
  t.h = h; t.w = w; t.c = c;
  t.to_int = t.to_float = -1;
  g_array_append_val (e->tensors, t);
  return e->tensors->len - 1;
}

static void
set_int_params (QsEngineInt *e,
                gint         tid,
                const PTensor *from)
{
  PTensor *t = T (e, tid);

  t->scale = from->scale;
  t->zp = from->zp;
  t->qmin = from->qmin;
  t->qmax = from->qmax;
}

static void
shape_to_hwc (const gsize *shape,
              guint        rank,
              gsize       *h,
              gsize       *w,
              gsize       *c)
{
  *h = rank >= 3 ? shape[rank - 3] : 1;
  *w = rank >= 2 ? shape[rank - 2] : 1;
  *c = rank >= 1 ? shape[rank - 1] : 1;
  for (guint i = 0; i + 3 < rank; i++)
    *h *= shape[i];
}

static Op *
add_op (QsEngineInt *e,
        OpKind       kind,
        gint         layer)
{
  Op *op = g_new0 (Op, 1);

  op->kind = kind;
  op->layer = layer;
  op->sh = op->sw = op->dh = op->dw = op->mult = 1;
  op->act = QS_ACTIVATION_LINEAR;
  op->relu_max = -1.0f;
  g_ptr_array_add (e->ops, op);
  return op;
}

/* Integer params (container domain) of a value quantized with spec. */
static gboolean
value_params (Builder           *b,
              const char        *key,
              const QsQuantSpec *spec,
              PTensor           *out,
              GError           **error)
{
  g_autoptr(QsQuantParams) params = NULL;
  float lo, hi;
  gint32 off;

  /* a range the config fixes (quantization-aware training's) wins over calibration */
  if (b->config != NULL && qs_config_get_activation_range (b->config, key, &lo, &hi))
    ;
  else if (b->calib == NULL)
    {
      g_set_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_FAILED,
                   _("The configuration quantizes activations but no calibration was given"));
      return FALSE;
    }
  else if (!qs_calibration_get_range (b->calib, key, spec, &lo, &hi, error))
    return FALSE;
  params = qs_quant_params_from_range (spec, MIN (lo, 0.0f), MAX (hi, 0.0f), error);
  if (params == NULL)
    return FALSE;
  off = spec->is_signed ? 128 : 0;
  out->scale = params->scale[0] > 0.0f && isfinite (params->scale[0]) ? params->scale[0] : 1.0f;
  out->zp = params->zero_point[0] + off;
  out->qmin = MAX (params->qmin + off, 0);
  out->qmax = MIN (params->qmax + off, 255);
  out->zp = CLAMP (out->zp, out->qmin, out->qmax);
  return TRUE;
}

static gint
ensure_float (Builder *b,
              gint     tid)
{
  QsEngineInt *e = b->e;
  gint out;
  Op *op;

  if (!T (e, tid)->is_int)
    return tid;
  if (T (e, tid)->to_float >= 0)
    return T (e, tid)->to_float;
  out = new_tensor (e, NULL, T (e, tid)->h, T (e, tid)->w, T (e, tid)->c, FALSE);
  op = add_op (e, OP_DEQUANTIZE, -1);
  op->n_in = 1;
  op->in[0] = tid;
  op->out = out;
  T (e, tid)->to_float = out;
  return out;
}

static gint
ensure_int (Builder           *b,
            gint               tid,
            const QsQuantSpec *spec,
            GError           **error)
{
  QsEngineInt *e = b->e;
  PTensor params = { 0 };
  gint out;
  Op *op;

  if (T (e, tid)->is_int)
    return tid;
  if (T (e, tid)->to_int >= 0)
    return T (e, tid)->to_int;
  if (!value_params (b, T (e, tid)->key, spec, &params, error))
    return -1;
  out = new_tensor (e, NULL, T (e, tid)->h, T (e, tid)->w, T (e, tid)->c, TRUE);
  set_int_params (e, out, &params);
  op = add_op (e, OP_QUANTIZE, -1);
  op->n_in = 1;
  op->in[0] = tid;
  op->out = out;
  op->rounding = spec->rounding == QS_ROUNDING_STOCHASTIC ? QS_ROUNDING_NEAREST_EVEN : spec->rounding;
  T (e, tid)->to_int = out;
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
copy_act (Op            *op,
          const QsLayer *l)
{
  op->act = l->activation;
  op->relu_max = l->relu_max_value;
  op->slope = l->relu_negative_slope;
  op->thr = l->relu_threshold;
  op->alpha = l->alpha;
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

static QsTensor *
tensor_like (const QsTensor *src,
             const float    *data)
{
  QsTensor *t = qs_tensor_new_from_data (src->name, src->n_dims, src->shape, data, NULL);

  qs_tensor_set_layout (t, src->layout);
  return t;
}

/* Whether weights with this spec run as integer codes. */
static gboolean
weight_spec_is_integer (const QsQuantSpec *spec)
{
  return spec->format == QS_FORMAT_INT && spec->bits >= 2 && spec->bits <= 8 && spec->is_signed
         && spec->mapping == QS_MAPPING_SYMMETRIC && spec->granularity != QS_GRANULARITY_GROUP;
}

static void
record_weights (LayerWeights       *lw,
                const QsQuantStats *stats,
                QsTensor           *kernel)
{
  double signal = 0.0;

  if (lw == NULL)
    return;
  lw->has_kernel = TRUE;
  if (stats == NULL)
    {
      /* kept in float32 */
      for (gsize i = 0; i < kernel->n_elements; i++)
        signal += (double) kernel->data[i] * kernel->data[i];
      lw->n_values += kernel->n_elements;
      lw->signal_sum += signal;
      lw->storage_bits += (guint64) kernel->n_elements * 32;
      return;
    }
  lw->n_values += stats->n_values;
  lw->signal_sum += stats->signal_power * stats->n_values;
  lw->noise_sum += stats->mse * stats->n_values;
  lw->storage_bits += stats->storage_bits;
}

/* The float weights a float op uses: fake-quantized (or fp16/bf16-rounded) with the
 * layer's spec, as qs_quant_run produces them. */
static float *
float_weights (QsTensor          *kernel,
               const QsQuantSpec *spec,
               LayerWeights      *lw,
               GError           **error)
{
  QsQuantOptions opt = { 0 };
  g_autoptr(QsQuantResult) r = NULL;

  QsQuantSpec resolved;

  if (spec == NULL || spec->format == QS_FORMAT_FP32)
    {
      record_weights (lw, NULL, kernel);
      return g_memdup2 (kernel->data, kernel->n_elements * sizeof (float));
    }
  qs_config_resolve_weight_spec (spec, kernel, &resolved);
  opt.want_dequant = TRUE;
  r = qs_quant_run (kernel, &resolved, &opt, NULL, error);
  if (r == NULL)
    return NULL;
  record_weights (lw, &r->stats, kernel);
  return g_memdup2 (r->dequant->data, kernel->n_elements * sizeof (float));
}

/* Compiles an integer GEMM (conv / dense / pointwise) or depthwise op's weights. kernel is in
 * Keras layout; n output channels; K reduction values per channel. */
static gboolean
compile_int_weights (Op                *op,
                     QsTensor          *kernel,
                     const float       *bias,
                     const QsQuantSpec *spec,
                     const PTensor     *in,
                     const PTensor     *out,
                     gsize              n,
                     gsize              k,
                     gboolean           depthwise,
                     LayerWeights      *lw,
                     GError           **error)
{
  QsQuantOptions opt = { 0 };
  g_autoptr(QsQuantResult) r = NULL;
  g_autofree gint8 *w = NULL;
  g_autofree float *sw = NULL;

  opt.want_codes = TRUE;
  r = qs_quant_run (kernel, spec, &opt, NULL, error);
  if (r == NULL)
    return FALSE;
  record_weights (lw, &r->stats, kernel);
  w = g_new (gint8, n * k);
  sw = g_new (float, n);
  for (gsize o = 0; o < n; o++)
    {
      gsize idx = qs_quant_params_index (r->params, o);

      g_assert (r->params->zero_point[idx] == 0);
      sw[o] = r->params->scale[idx];
    }
  /* Keras kernels are [K][n] with the output channel fastest (depthwise: [kh*kw][c*mult]). */
  for (gsize kk = 0; kk < k; kk++)
    for (gsize o = 0; o < n; o++)
      {
        gint32 code = r->codes[kk * n + o];
        w[depthwise ? kk * n + o : o * k + kk] = (gint8) CLAMP (code, -128, 127);
      }

  op->bias = g_new (gint32, n + 16);
  op->mult_q = g_new0 (gint32, n + 16);
  op->shift_q = g_new0 (gint32, n + 16);
  for (gsize o = 0; o < n; o++)
    {
      double s = sw[o] > 0.0f && isfinite (sw[o]) ? sw[o] : out->scale / in->scale;
      double bias_real = bias ? bias[o] : 0.0;
      double bq = nearbyint (bias_real / ((double) in->scale * s));
      gint64 sum_w = 0, b64;
      gint sh;

      for (gsize kk = 0; kk < k; kk++)
        sum_w += depthwise ? w[kk * n + o] : w[o * k + kk];
      bq = CLAMP (bq, (double) G_MININT32, (double) G_MAXINT32);
      /* depthwise kernels subtract the zero-point themselves */
      b64 = (gint64) bq - (depthwise ? 0 : (gint64) in->zp * sum_w);
      op->bias[o] = (gint32) CLAMP (b64, G_MININT32, G_MAXINT32);
      qs_quantize_multiplier ((double) in->scale * s / out->scale, &op->mult_q[o], &sh);
      op->shift_q[o] = sh;
    }
  if (depthwise)
    op->dw_codes = g_steal_pointer (&w);
  else if (op->implicit)
    {
      /* one segment per kernel row, each padded with zero weights to whole 4-byte groups
       * (the GEMM reads, and multiplies by zero, up to 3 bytes past each input run) */
      gsize run = k / op->kh, seg = (run + 3) / 4 * 4;
      g_autofree gint8 *padded = g_new0 (gint8, n * op->kh * seg);

      for (gsize o = 0; o < n; o++)
        for (gsize ky = 0; ky < op->kh; ky++)
          memcpy (padded + (o * op->kh + ky) * seg, w + o * k + ky * run, run);
      qs_packed_weights_init (&op->packed, padded, n, op->kh * seg);
    }
  else
    qs_packed_weights_init (&op->packed, w, n, k);
  op->rq.bias = op->bias;
  op->rq.multiplier = op->mult_q;
  op->rq.shift = op->shift_q;
  op->rq.out_zp = out->zp;
  op->rq.out_min = out->qmin;
  op->rq.out_max = out->qmax;
  return TRUE;
}

/* Narrows an integer tensor's clamp range by a fused ReLU / ReLU6 (TFLite's
 * CalculateActivationRangeQuantized). */
static void
act_clamp (const Op *op,
           const PTensor *t,
           gint32   *lo,
           gint32   *hi)
{
  float max = op->act == QS_ACTIVATION_RELU6 ? 6.0f : op->relu_max;

  *lo = t->qmin;
  *hi = t->qmax;
  if (op->act == QS_ACTIVATION_RELU || op->act == QS_ACTIVATION_RELU6)
    {
      *lo = MAX (*lo, t->zp);
      if (max >= 0.0f)
        *hi = MIN (*hi, t->zp + (gint32) lrintf (max / t->scale));
      *hi = MAX (*hi, *lo);
    }
}

static void
conv_pads (const QsLayer *l,
           gsize h, gsize w, gsize oh, gsize ow,
           gsize kh, gsize kw, gsize sh, gsize sw, gsize dh, gsize dw,
           gsize *pad_t, gsize *pad_l)
{
  *pad_t = *pad_l = 0;
  if (l->padding == QS_PADDING_SAME)
    {
      gssize th = (gssize) ((oh - 1) * sh + (kh - 1) * dh + 1) - (gssize) h;
      gssize tw = (gssize) ((ow - 1) * sw + (kw - 1) * dw + 1) - (gssize) w;

      *pad_t = th > 0 ? (gsize) th / 2 : 0;
      *pad_l = tw > 0 ? (gsize) tw / 2 : 0;
    }
}

static void
layer_config (Builder       *b,
              const QsLayer *l,
              QsLayerConfig *lc)
{
  if (b->config != NULL)
    qs_config_get_layer (b->config, l->name, lc);
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

/* Dense, Conv2D, DepthwiseConv2D, SeparableConv2D with BatchNorm folding and activation
 * fusion. Returns the last layer of the group. */
static gint
build_weight_layer (Builder  *b,
                    guint     index,
                    GError  **error)
{
  QsEngineInt *e = b->e;
  QsModel *model = e->model;
  const QsLayer *l = qs_model_get_layer (model, index);
  const QsLayer *bn = NULL, *act_layer = NULL;
  QsLayerConfig lc;
  gint end = index, cons, in_t, out_t, bn_index = -1;
  PTensor *tin;
  gsize h, w, c, oh, ow, oc;
  gboolean is_int, separable = l->kind == QS_LAYER_SEPARABLE_CONV2D;
  gboolean depthwise = l->kind == QS_LAYER_DEPTHWISE_CONV2D;
  QsTensor *kernel, *bias_t;
  QsTensor *pw_kernel = NULL;
  g_autofree float *bias = NULL;
  g_autoptr(QsTensor) folded = NULL;
  Op act_info = { 0 };
  gsize n_out;

  layer_config (b, l, &lc);
  copy_act (&act_info, l);
  kernel = separable ? find_weight (l, "depthwise_kernel")
                     : depthwise ? find_weight (l, "depthwise_kernel") : find_weight (l, "kernel");
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

  /* BatchNorm right after a linear layer: fold it. */
  if (l->activation == QS_ACTIVATION_LINEAR && (cons = sole_consumer (b, index)) >= 0)
    {
      const QsLayer *cl = qs_model_get_layer (model, cons);

      if (cl->kind == QS_LAYER_BATCH_NORM && cl->n_inputs == 1
          && cl->axis == (gint) cl->output_rank - 1 && find_weight (cl, "moving_mean") != NULL
          && find_weight (cl, "moving_variance") != NULL)
        {
          bn = cl;
          bn_index = cons;
          end = cons;
        }
    }
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
      QsTensor *target = separable ? pw_kernel : kernel;
      g_autofree float *data = g_memdup2 (target->data, target->n_elements * sizeof (float));

      if (mean->n_elements != n_out || var->n_elements != n_out
          || (gamma && gamma->n_elements != n_out) || (beta && beta->n_elements != n_out))
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Layer “%s”: BatchNormalization parameters do not match %zu channels"),
                       bn->name, n_out);
          return -1;
        }
      for (gsize o = 0; o < n_out; o++)
        {
          double f = (gamma ? gamma->data[o] : 1.0) / sqrt ((double) var->data[o] + bn->bn_epsilon);

          bias[o] = (float) ((bias[o] - mean->data[o]) * f + (beta ? beta->data[o] : 0.0));
          for (gsize i = o; i < target->n_elements; i += n_out)
            data[i] = (float) (data[i] * f);
        }
      folded = tensor_like (target, data);
      if (separable)
        pw_kernel = folded;
      else
        kernel = folded;
    }

  in_t = b->layer_out[l->inputs[0]];
  tin = T (e, in_t);
  shape_to_hwc (l->output_shape, l->output_rank, &oh, &ow, &oc);
  is_int = lc.quantize_activations && weight_spec_is_integer (&lc.weight);
  if (l->kind == QS_LAYER_DENSE)
    {
      gsize in_dim = kernel->shape[0];

      if (in_dim == 0 || tin->size % in_dim != 0)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Layer “%s”: input of %zu values does not fit a kernel of %zu inputs"),
                       l->name, tin->size, in_dim);
          return -1;
        }
      h = tin->size / in_dim; w = 1; c = in_dim;
      oh = h; ow = 1;
    }
  else
    {
      h = tin->h; w = tin->w; c = tin->c;
    }
  if (is_int && (l->kind == QS_LAYER_DENSE ? c : kernel->shape[0] * kernel->shape[1] * c) > QS_INT_MAX_K)
    is_int = FALSE;

  if (is_int)
    {
      in_t = ensure_int (b, in_t, &lc.activation, error);
      if (in_t < 0)
        return -1;
      tin = T (e, in_t);
    }
  else
    in_t = ensure_float (b, in_t);

  /* SeparableConv2D: depthwise stage into "name#dw", then the pointwise stage below. */
  if (separable)
    {
      g_autofree char *key = g_strconcat (l->name, "#dw", NULL);
      gsize mult = kernel->shape[3], kh = kernel->shape[0], kw = kernel->shape[1];
      Op *op = add_op (e, is_int ? OP_I_DW : OP_F_DW, index);
      gint mid = new_tensor (e, key, oh, ow, c * mult, is_int);

      op->n_in = 1; op->in[0] = in_t; op->out = mid;
      op->kh = kh; op->kw = kw; op->mult = mult;
      op->ih = h; op->iw = w; op->ic = c; op->oh = oh; op->ow = ow; op->oc = c * mult;
      op->sh = l->strides[0]; op->sw = l->strides[1];
      op->dh = MAX (l->dilation[0], 1); op->dw = MAX (l->dilation[1], 1);
      conv_pads (l, h, w, oh, ow, kh, kw, op->sh, op->sw, op->dh, op->dw, &op->pad_t, &op->pad_l);
      if (is_int)
        {
          PTensor params = { 0 };
          g_autofree float *zero = g_new0 (float, c * mult);

          if (!value_params (b, key, &lc.activation, &params, error))
            return -1;
          set_int_params (e, mid, &params);
          if (!compile_int_weights (op, kernel, zero, &lc.weight, T (e, in_t), T (e, mid),
                                    c * mult, kh * kw, TRUE, &e->layer_w[index], error))
            return -1;
          e->acc_count = MAX (e->acc_count, c * mult);
        }
      else
        {
          op->fw = float_weights (kernel, &lc.weight, &e->layer_w[index], error);
          if (op->fw == NULL)
            return -1;
          op->fb = g_new0 (float, c * mult);
        }
      in_t = mid;
      tin = T (e, in_t);
      h = oh; w = ow; c = c * mult;
      kernel = pw_kernel;
      depthwise = FALSE;
    }

  {
    gboolean split = !act_fusable (act_info.act, act_info.slope, act_info.thr);
    const QsLayer *end_layer = qs_model_get_layer (model, end);
    g_autofree char *key = split ? g_strconcat (end_layer->name, "#pre", NULL) : g_strdup (end_layer->name);
    Op *op;
    gsize kh = separable ? 1 : (l->kind == QS_LAYER_DENSE ? 1 : kernel->shape[0]);
    gsize kw = separable ? 1 : (l->kind == QS_LAYER_DENSE ? 1 : kernel->shape[1]);

    out_t = new_tensor (e, key, oh, ow, oc, is_int);
    op = add_op (e, is_int ? (depthwise ? OP_I_DW : OP_I_CONV) : (depthwise ? OP_F_DW : OP_F_CONV), index);
    op->n_in = 1; op->in[0] = in_t; op->out = out_t;
    op->kh = kh; op->kw = kw;
    op->mult = depthwise ? kernel->shape[3] : 1;
    op->ih = h; op->iw = w; op->ic = c; op->oh = oh; op->ow = ow; op->oc = oc;
    if (l->kind != QS_LAYER_DENSE && !separable)
      {
        op->sh = MAX (l->strides[0], 1); op->sw = MAX (l->strides[1], 1);
        op->dh = MAX (l->dilation[0], 1); op->dw = MAX (l->dilation[1], 1);
        conv_pads (l, h, w, oh, ow, kh, kw, op->sh, op->sw, op->dh, op->dw, &op->pad_t, &op->pad_l);
      }
    if (!split)
      {
        op->act = act_info.act;
        op->relu_max = act_info.relu_max;
      }
    if (is_int)
      {
        PTensor params = { 0 };
        gsize k = depthwise ? kh * kw : kh * kw * c;

        if (!value_params (b, key, &lc.activation, &params, error))
          return -1;
        set_int_params (e, out_t, &params);
        act_clamp (op, T (e, out_t), &params.qmin, &params.qmax);
        op->direct = !depthwise && kh == 1 && kw == 1 && op->sh == 1 && op->sw == 1
                     && op->pad_t == 0 && op->pad_l == 0;
        op->implicit = !depthwise && !op->direct && op->pad_t == 0 && op->pad_l == 0
                       && op->dw == 1 && kh <= 64
                       && (oh - 1) * op->sh + (kh - 1) * op->dh < h && (ow - 1) * op->sw + kw <= w;
        if (!compile_int_weights (op, kernel, bias, &lc.weight, T (e, in_t), &params,
                                  depthwise ? oc : n_out, k, depthwise, &e->layer_w[index], error))
          return -1;
        if (!depthwise && !op->direct && !op->implicit)
          e->im2col_bytes = MAX (e->im2col_bytes, MIN (oh * ow, IM2COL_BLOCK) * op->packed.kp + 64);
        e->acc_count = MAX (e->acc_count, oc);
      }
    else
      {
        op->fw = float_weights (kernel, &lc.weight, &e->layer_w[index], error);
        if (op->fw == NULL)
          return -1;
        op->fb = g_memdup2 (bias, n_out * sizeof (float));
      }

    if (split)
      {
        gint f_in = ensure_float (b, out_t);
        Op *aop = add_op (e, OP_F_ACT, end);

        aop->act = act_info.act; aop->relu_max = act_info.relu_max;
        aop->slope = act_info.slope; aop->thr = act_info.thr; aop->alpha = act_info.alpha;
        aop->n_in = 1; aop->in[0] = f_in;
        out_t = new_tensor (e, end_layer->name, oh, ow, oc, FALSE);
        aop->out = out_t;
      }
  }

  for (gint i = index; i <= end; i++)
    e->layer_int[i] = is_int;
  /* one 32-bit bias per output channel (int32 at S_in * S_w, or float32) */
  e->layer_w[index].storage_bits += (guint64) n_out * 32;
  if (bn_index >= 0)
    {
      e->layer_w[index].folded_bn = bn_index;
      e->layer_w[bn_index].folded_into = index;
    }
  b->layer_out[index] = out_t;
  if (bn != NULL)
    b->layer_out[bn->index] = out_t;
  if (act_layer != NULL)
    b->layer_out[act_layer->index] = out_t;
  return end;
}

static gboolean
build_layer (Builder  *b,
             guint     index,
             GError  **error)
{
  QsEngineInt *e = b->e;
  const QsLayer *l = qs_model_get_layer (e->model, index);
  QsLayerConfig lc;
  gsize oh, ow, oc;
  gint in_t = l->n_inputs > 0 ? b->layer_out[l->inputs[0]] : -1;
  gboolean want_int;
  Op *op;

  layer_config (b, l, &lc);
  want_int = lc.quantize_activations;
  shape_to_hwc (l->output_shape, l->output_rank, &oh, &ow, &oc);

  switch (l->kind)
    {
    case QS_LAYER_IDENTITY:
    case QS_LAYER_FLATTEN:
    case QS_LAYER_RESHAPE:
      b->layer_out[index] = alias_tensor (e, in_t, oh, ow, oc);
      e->layer_int[index] = T (e, in_t)->is_int;
      return TRUE;

    case QS_LAYER_MAX_POOL2D:
    case QS_LAYER_AVG_POOL2D:
    case QS_LAYER_GLOBAL_AVG_POOL2D:
    case QS_LAYER_GLOBAL_MAX_POOL2D:
      {
        gboolean global = l->kind == QS_LAYER_GLOBAL_AVG_POOL2D || l->kind == QS_LAYER_GLOBAL_MAX_POOL2D;
        gboolean is_int = want_int && T (e, in_t)->is_int;
        PTensor *tin;

        if (!is_int)
          in_t = ensure_float (b, in_t);
        tin = T (e, in_t);
        op = add_op (e, is_int ? OP_I_POOL : OP_F_POOL, index);
        op->is_max = l->kind == QS_LAYER_MAX_POOL2D || l->kind == QS_LAYER_GLOBAL_MAX_POOL2D;
        if (global)
          {
            op->kh = tin->h; op->kw = tin->w; op->sh = op->sw = 1;
            oh = ow = 1; oc = tin->c;
          }
        else
          {
            op->kh = l->pool_size[0]; op->kw = l->pool_size[1];
            op->sh = MAX (l->pool_strides[0], 1); op->sw = MAX (l->pool_strides[1], 1);
            conv_pads (l, tin->h, tin->w, oh, ow, op->kh, op->kw, op->sh, op->sw, 1, 1, &op->pad_t, &op->pad_l);
          }
        op->n_in = 1; op->in[0] = in_t;
        op->out = new_tensor (e, l->name, oh, ow, oc, is_int);   /* may move the tensor array */
        if (is_int)
          set_int_params (e, op->out, T (e, in_t));
        b->layer_out[index] = op->out;
        e->layer_int[index] = is_int;
        return TRUE;
      }

    case QS_LAYER_ZERO_PADDING2D:
      {
        gboolean is_int = want_int && T (e, in_t)->is_int;

        if (!is_int)
          in_t = ensure_float (b, in_t);
        op = add_op (e, is_int ? OP_I_PAD : OP_F_PAD, index);
        for (guint i = 0; i < 4; i++)
          op->pad[i] = l->zero_padding[i];
        op->n_in = 1; op->in[0] = in_t;
        op->out = new_tensor (e, l->name, oh, ow, oc, is_int);
        if (is_int)
          set_int_params (e, op->out, T (e, in_t));
        b->layer_out[index] = op->out;
        e->layer_int[index] = is_int;
        return TRUE;
      }

    case QS_LAYER_ACTIVATION:
      {
        gboolean is_int = want_int && T (e, in_t)->is_int && l->activation != QS_ACTIVATION_LINEAR
                          && act_fusable (l->activation, l->relu_negative_slope, l->relu_threshold);

        if (!is_int)
          in_t = ensure_float (b, in_t);
        op = add_op (e, is_int ? OP_I_CLAMP : OP_F_ACT, index);
        copy_act (op, l);
        op->n_in = 1; op->in[0] = in_t;
        op->out = new_tensor (e, l->name, oh, ow, oc, is_int);
        if (is_int)
          {
            set_int_params (e, op->out, T (e, in_t));
            act_clamp (op, T (e, in_t), &op->rq.out_min, &op->rq.out_max);
          }
        b->layer_out[index] = op->out;
        e->layer_int[index] = is_int;
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
        op = add_op (e, OP_F_BN, index);
        op->bn_scale = g_new (float, oc);
        op->bn_shift = g_new (float, oc);
        for (gsize i = 0; i < oc; i++)
          {
            double f = (gamma ? gamma->data[i] : 1.0) / sqrt ((double) var->data[i] + l->bn_epsilon);
            op->bn_scale[i] = (float) f;
            op->bn_shift[i] = (float) ((beta ? beta->data[i] : 0.0) - mean->data[i] * f);
          }
        op->n_in = 1; op->in[0] = ensure_float (b, in_t);
        op->out = new_tensor (e, l->name, oh, ow, oc, FALSE);
        b->layer_out[index] = op->out;
        return TRUE;
      }

    case QS_LAYER_RESCALING:
      op = add_op (e, OP_F_RESCALE, index);
      op->rs_scale = l->rescale_scale;
      op->rs_offset = l->rescale_offset;
      op->n_in = 1; op->in[0] = ensure_float (b, in_t);
      op->out = new_tensor (e, l->name, oh, ow, oc, FALSE);
      b->layer_out[index] = op->out;
      return TRUE;

    case QS_LAYER_ADD:
    case QS_LAYER_CONCATENATE:
      {
        gboolean is_add = l->kind == QS_LAYER_ADD;
        gboolean is_int = want_int && (!is_add || l->n_inputs == 2);

        if (l->n_inputs < 1 || l->n_inputs > MAX_OP_INPUTS
            || (!is_add && l->axis != (gint) l->output_rank - 1))
          {
            g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE,
                         _("Layer “%s” (%s): only up to %d inputs and the last axis are supported"),
                         l->name, l->class_name, MAX_OP_INPUTS);
            return FALSE;
          }
        op = add_op (e, is_add ? (is_int ? OP_I_ADD : OP_F_ADD) : (is_int ? OP_I_CONCAT : OP_F_CONCAT), index);
        op->n_in = l->n_inputs;
        for (guint i = 0; i < l->n_inputs; i++)
          {
            gint t = b->layer_out[l->inputs[i]];

            op->in[i] = is_int ? ensure_int (b, t, &lc.activation, error) : ensure_float (b, t);
            if (op->in[i] < 0)
              return FALSE;
          }
        op->out = new_tensor (e, l->name, oh, ow, oc, is_int);
        if (is_int)
          {
            PTensor params = { 0 };

            if (!value_params (b, l->name, &lc.activation, &params, error))
              return FALSE;
            set_int_params (e, op->out, &params);
            if (is_add)
              {
                PTensor *a = T (e, op->in[0]), *c2 = T (e, op->in[1]);
                qs_add_params_init (&op->addp, a->scale, a->zp, c2->scale, c2->zp,
                                    params.scale, params.zp, params.qmin, params.qmax);
              }
            else
              for (guint i = 0; i < op->n_in; i++)
                {
                  gint s;
                  qs_quantize_multiplier ((double) T (e, op->in[i])->scale / params.scale, &op->cat_m[i], &s);
                  op->cat_s[i] = s;
                }
          }
        b->layer_out[index] = op->out;
        e->layer_int[index] = is_int;
        return TRUE;
      }

    default:
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE,
                   _("Layer “%s” (%s) cannot run in the engine"), l->name, l->class_name);
      return FALSE;
    }
}

QsEngineInt *
qs_engine_int_new (QsModel        *model,
                   QsConfig       *config,
                   QsCalibration  *calibration,
                   GError        **error)
{
  g_autoptr(QsEngineInt) e = NULL;
  Builder b = { 0 };
  const char *why = NULL;
  const QsLayer *first;
  gsize h, w, c, offset = 0;
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
  e = g_new0 (QsEngineInt, 1);
  e->model = g_object_ref (model);
  e->kernels = qs_int_kernels_get ();
  e->tensors = g_array_new (FALSE, TRUE, sizeof (PTensor));
  e->storage = g_array_new (FALSE, TRUE, sizeof (Storage));
  e->ops = g_ptr_array_new_with_free_func (op_free);
  e->n_layers = n;
  e->layer_int = g_new0 (gboolean, n);
  e->layer_w = g_new0 (LayerWeights, n);
  for (guint i = 0; i < n; i++)
    e->layer_w[i].folded_bn = e->layer_w[i].folded_into = -1;

  b.e = e;
  b.config = config;
  b.calib = calibration;
  b.layer_out = g_new (gint, n);
  b.n_consumers = g_new0 (guint, n);
  b.consumers = g_new0 (guint *, n);
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
  e->input = new_tensor (e, first->name, h, w, c, FALSE);
  b.layer_out[0] = e->input;
  if (config != NULL && qs_config_get_input_spec (config, &input_spec))
    {
      gint q = ensure_int (&b, e->input, &input_spec, error);

      if (q < 0)
        ok = FALSE;
      else
        b.layer_out[0] = q;
      e->layer_int[0] = TRUE;
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
        ok = build_weight_layer (&b, i, error) >= 0;
      else
        ok = build_layer (&b, i, error);
    }
  if (ok)
    e->output = ensure_float (&b, b.layer_out[n - 1]);

  for (guint i = 0; i < n; i++)
    g_free (b.consumers[i]);
  g_free (b.consumers);
  g_free (b.n_consumers);
  g_free (b.layer_out);
  if (!ok)
    return NULL;

  for (guint i = 0; i < e->tensors->len; i++)
    {
      PTensor *t = T (e, i);
      Storage *s = &g_array_index (e->storage, Storage, t->storage);

      s->bytes = MAX (s->bytes, t->size * (t->is_int ? 1 : sizeof (float)));
    }
  for (guint i = 0; i < e->storage->len; i++)
    {
      Storage *s = &g_array_index (e->storage, Storage, i);

      s->offset = offset;
      offset += (s->bytes + 64 + 63) / 64 * 64;
    }
  e->arena_bytes = offset;
  return g_steal_pointer (&e);
}

gsize
qs_engine_int_get_input_size (QsEngineInt *e)
{
  return T (e, e->input)->size;
}

gsize
qs_engine_int_get_output_size (QsEngineInt *e)
{
  return T (e, e->output)->size;
}

const char *
qs_engine_int_get_kernels_name (QsEngineInt *e)
{
  return e->kernels->name;
}

gboolean
qs_engine_int_layer_is_integer (QsEngineInt *e,
                                guint        layer_index)
{
  g_return_val_if_fail (layer_index < e->n_layers, FALSE);
  return e->layer_int[layer_index];
}

gboolean
qs_engine_int_get_layer_weights (QsEngineInt          *e,
                                 guint                 layer_index,
                                 QsEngineLayerWeights *out)
{
  const LayerWeights *lw;

  g_return_val_if_fail (e != NULL, FALSE);
  g_return_val_if_fail (layer_index < e->n_layers, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  lw = &e->layer_w[layer_index];
  out->folded_bn = lw->folded_bn;
  out->folded_into = lw->folded_into;
  out->n_values = lw->n_values;
  out->storage_bits = lw->storage_bits;
  out->sqnr_db = qs_stats_sqnr_db (lw->n_values ? lw->signal_sum / lw->n_values : 0.0,
                                   lw->n_values ? lw->noise_sum / lw->n_values : 0.0);
  return lw->has_kernel;
}

void
qs_engine_int_count_ops (QsEngineInt *e,
                         guint       *n_int,
                         guint       *n_float)
{
  *n_int = *n_float = 0;
  for (guint i = 0; i < e->ops->len; i++)
    {
      Op *op = g_ptr_array_index (e->ops, i);

      if (op->kind >= OP_I_CONV)
        (*n_int)++;
      else if (op->kind >= OP_F_CONV)
        (*n_float)++;
    }
}

/* --- execution --- */

#include "qs-kernels-float.h"
#include "qs-parallel.h"

typedef struct
{
  guint8 *arena;
  guint8 *im2col;
  gint32 *acc;
} Workspace;

static inline gpointer
tdata (QsEngineInt *e,
       Workspace   *ws,
       gint         tid)
{
  return ws->arena + g_array_index (e->storage, Storage, T (e, tid)->storage).offset;
}

/* The kernel parameters of a convolution, depthwise or pooling op (built per run: a few
 * stores, and the compiled Op keeps its fields). */
static void
op_conv_params (const Op      *op,
                const PTensor *ti,
                const PTensor *to,
                QsConvParams  *p)
{
  *p = (QsConvParams) {
    .input_height = ti->h, .input_width = ti->w, .input_depth = ti->c,
    .output_height = to->h, .output_width = to->w, .output_depth = to->c,
    .filter_height = op->kh, .filter_width = op->kw,
    .stride_height = op->sh, .stride_width = op->sw,
    .dilation_height = MAX (op->dh, 1), .dilation_width = MAX (op->dw, 1),
    .pad_top = op->pad_t, .pad_left = op->pad_l,
    .depth_multiplier = MAX (op->mult, 1),
    .input_offset = ti->is_int ? -ti->zp : 0,
  };
}

/* The float islands run the float kernels' references (qs-kernels-float.h): the same
 * results on every CPU, and bit for bit the trainer's forward pass. */
static void
apply_act (const Op *op,
           float    *x,
           gsize     n,
           gsize     c)
{
  QsActivationParams p = { op->act, op->relu_max, op->slope, op->thr, op->alpha };

  qs_activation_f32 (&p, x, n, c);
}

static void
run_f_conv (QsEngineInt *e,
            const Op    *op,
            Workspace   *ws)
{
  const float *in = tdata (e, ws, op->in[0]);
  float *out = tdata (e, ws, op->out);
  QsConvParams p = {
    .input_height = op->ih, .input_width = op->iw, .input_depth = op->ic,
    .output_height = op->oh, .output_width = op->ow, .output_depth = op->oc,
    .filter_height = op->kh, .filter_width = op->kw,
    .stride_height = op->sh, .stride_width = op->sw,
    .dilation_height = op->dh, .dilation_width = op->dw,
    .pad_top = op->pad_t, .pad_left = op->pad_l,
    .depth_multiplier = op->mult,
  };

  if (op->kind == OP_F_DW)
    qs_depthwise_f32_ref (&p, in, op->fw, op->fb, out);
  else
    qs_conv_f32_sparse (&p, in, op->fw, op->fb, out);
  apply_act (op, out, op->oh * op->ow * op->oc, op->oc);
}

/* Copies n bytes in 16-byte pieces: may write up to 15 bytes past dst + n and read past
 * src + n (row buffers and tensor storage carry 64 bytes of slack; the bytes past a run
 * are rewritten by the next run or the row's padding). */
static inline void
copy_run (guint8       *dst,
          const guint8 *src,
          gsize         n)
{
  for (gsize j = 0; j < n; j += 16)
    memcpy (dst + j, src + j, 16);
}

static void
run_i_conv (QsEngineInt *e,
            const Op    *op,
            Workspace   *ws)
{
  const PTensor *ti = T (e, op->in[0]);
  const guint8 *in = tdata (e, ws, op->in[0]);
  guint8 *out = tdata (e, ws, op->out);
  gsize n = op->packed.n;
  gsize h = op->ih, w = op->iw, c = op->ic, ow = op->ow, kp = op->packed.kp;
  gsize rows = op->oh * op->ow;
  guint8 *col = ws->im2col;
  guint8 zp = (guint8) ti->zp;

  if (op->direct)
    {
      gsize k = op->packed.k;

      e->kernels->gemm (in, k, ti->size / k, NULL, 1, &op->packed, &op->rq, out, n);
      return;
    }
  if (op->implicit)
    {
      /* valid padding, no horizontal dilation: the GEMM reads each output row's patches
       * straight from the input, one (zero-padded) segment per kernel row */
      gsize seg_off[64];

      for (gsize ky = 0; ky < op->kh; ky++)
        seg_off[ky] = ky * op->dh * w * c;
      for (gsize oy = 0; oy < op->oh; oy++)
        e->kernels->gemm (in + oy * op->sh * w * c, op->sw * c, ow, seg_off, op->kh,
                          &op->packed, &op->rq, out + oy * ow * n, n);
      return;
    }
  for (gsize r0 = 0; r0 < rows; r0 += IM2COL_BLOCK)
    {
      gsize nr = MIN (IM2COL_BLOCK, rows - r0);
      gsize oy = r0 / ow, ox = r0 % ow;

      for (gsize r = 0; r < nr; r++, ox = ox + 1 == ow ? (oy++, 0) : ox + 1)
        {
          guint8 *row = col + r * kp;
          gsize k = 0;

          for (gsize ky = 0; ky < op->kh; ky++)
            {
              gssize iy = (gssize) (oy * op->sh + ky * op->dh) - (gssize) op->pad_t;
              gssize ix0 = (gssize) (ox * op->sw) - (gssize) op->pad_l;
              gssize ix1 = ix0 + (gssize) ((op->kw - 1) * op->dw);

              if (op->dw == 1 && iy >= 0 && iy < (gssize) h && ix0 >= 0 && ix1 < (gssize) w)
                {
                  /* the kw taps of this kernel row are one contiguous run of the input */
                  copy_run (row + k, in + ((gsize) iy * w + (gsize) ix0) * c, op->kw * c);
                  k += op->kw * c;
                  continue;
                }
              for (gsize kx = 0; kx < op->kw; kx++, k += c)
                {
                  gssize ix = ix0 + (gssize) (kx * op->dw);

                  if (iy < 0 || iy >= (gssize) h || ix < 0 || ix >= (gssize) w)
                    memset (row + k, zp, c);
                  else
                    copy_run (row + k, in + ((gsize) iy * w + (gsize) ix) * c, c);
                }
            }
          for (; k < kp; k++)
            row[k] = zp;
        }
      e->kernels->gemm (col, kp, nr, NULL, 1, &op->packed, &op->rq, out + r0 * n, n);
    }
}

/* qs_quant_value () inlined: x / scale rounded by the spec's mode (ties away from zero,
 * to even, or floor, exactly as roundf / rintf / floorf), clamped, plus the zero-point.
 * The value is clamped to the code range before rounding, which keeps |v| < 2^23 so the
 * truncation below is exact and gives the same code as rounding first. */
static inline guint8
quantize_one (float      x,
              float      scale,
              gint32     zp,
              gint32     qmin,
              gint32     qmax,
              QsRounding rounding)
{
  float lo = (float) (qmin - zp), hi = (float) (qmax - zp), v, t, d;

  if (!isfinite (x))
    return (guint8) zp;
  v = x / scale;
  v = v < lo - 1.0f ? lo - 1.0f : (v > hi + 1.0f ? hi + 1.0f : v);
  t = (float) (gint32) v;          /* toward zero */
  d = v - t;                       /* exact */
  switch (rounding)
    {
    case QS_ROUNDING_FLOOR:
      if (d < 0.0f)
        t -= 1.0f;
      break;
    case QS_ROUNDING_NEAREST_AWAY:
      if (d >= 0.5f)
        t += 1.0f;
      else if (d <= -0.5f)
        t -= 1.0f;
      break;
    case QS_ROUNDING_NEAREST_EVEN:
    case QS_ROUNDING_STOCHASTIC:
    default:
      if (d > 0.5f || (d == 0.5f && ((gint32) t & 1)))
        t += 1.0f;
      else if (d < -0.5f || (d == -0.5f && ((gint32) t & 1)))
        t -= 1.0f;
      break;
    }
  t = t < lo ? lo : (t > hi ? hi : t);
  return (guint8) ((gint32) t + zp);
}

static void
run_op (QsEngineInt *e,
        const Op    *op,
        Workspace   *ws)
{
  const PTensor *ti = op->n_in > 0 ? T (e, op->in[0]) : NULL, *to = T (e, op->out);

  switch (op->kind)
    {
    case OP_QUANTIZE:
      {
        const float *in = tdata (e, ws, op->in[0]);
        guint8 *out = tdata (e, ws, op->out);
        for (gsize i = 0; i < to->size; i++)
          out[i] = quantize_one (in[i], to->scale, to->zp, to->qmin, to->qmax, op->rounding);
        break;
      }
    case OP_DEQUANTIZE:
      {
        const guint8 *in = tdata (e, ws, op->in[0]);
        float *out = tdata (e, ws, op->out);

        for (gsize i = 0; i < to->size; i++)
          out[i] = (float) ((gint32) in[i] - ti->zp) * ti->scale;
        break;
      }
    case OP_F_CONV:
    case OP_F_DW:
      run_f_conv (e, op, ws);
      break;
    case OP_I_CONV:
      run_i_conv (e, op, ws);
      break;
    case OP_I_DW:
      {
        QsDepthwiseParams p;

        op_conv_params (op, ti, to, &p);
        qs_depthwise_u8s8 (e->kernels, &p, tdata (e, ws, op->in[0]), op->dw_codes, &op->rq,
                           tdata (e, ws, op->out), ws->acc);
        break;
      }
    case OP_I_POOL:
      {
        QsConvParams p;

        op_conv_params (op, ti, to, &p);
        qs_pool_u8 (op->is_max, &p, tdata (e, ws, op->in[0]), tdata (e, ws, op->out));
        break;
      }
    case OP_F_POOL:
      {
        QsConvParams p;

        op_conv_params (op, ti, to, &p);
        if (op->is_max)
          qs_max_pool_f32 (&p, tdata (e, ws, op->in[0]), tdata (e, ws, op->out));
        else
          qs_avg_pool_f32 (&p, QS_POOL_MEAN_DOUBLE, tdata (e, ws, op->in[0]), tdata (e, ws, op->out));
        break;
      }
    case OP_F_BN:
      {
        const float *in = tdata (e, ws, op->in[0]);
        float *out = tdata (e, ws, op->out);

        for (gsize i = 0; i < to->size; i++)
          out[i] = in[i] * op->bn_scale[i % to->c] + op->bn_shift[i % to->c];
        break;
      }
    case OP_F_ACT:
      memcpy (tdata (e, ws, op->out), tdata (e, ws, op->in[0]), to->size * sizeof (float));
      apply_act (op, tdata (e, ws, op->out), to->size, to->c);
      break;
    case OP_F_RESCALE:
      {
        const float *in = tdata (e, ws, op->in[0]);
        float *out = tdata (e, ws, op->out);

        for (gsize i = 0; i < to->size; i++)
          out[i] = in[i] * op->rs_scale + op->rs_offset;
        break;
      }
    case OP_F_ADD:
      {
        float *out = tdata (e, ws, op->out);

        memcpy (out, tdata (e, ws, op->in[0]), to->size * sizeof (float));
        for (guint j = 1; j < op->n_in; j++)
          {
            const float *in = tdata (e, ws, op->in[j]);
            for (gsize i = 0; i < to->size; i++)
              out[i] += in[i];
          }
        break;
      }
    case OP_F_CONCAT:
    case OP_I_CONCAT:
      {
        gsize rows = to->size / to->c, off = 0;
        gboolean is_int = op->kind == OP_I_CONCAT;

        for (guint j = 0; j < op->n_in; j++)
          {
            const PTensor *tj = T (e, op->in[j]);
            gsize cj = tj->size / rows;

            if (is_int)
              qs_rescale_u8 (tdata (e, ws, op->in[j]), cj, tj->zp, op->cat_m[j], op->cat_s[j],
                             to->zp, to->qmin, to->qmax, (guint8 *) tdata (e, ws, op->out) + off,
                             to->c, cj, rows);
            else
              for (gsize r = 0; r < rows; r++)
                memcpy ((float *) tdata (e, ws, op->out) + r * to->c + off,
                        (const float *) tdata (e, ws, op->in[j]) + r * cj, cj * sizeof (float));
            off += cj;
          }
        break;
      }
    case OP_F_PAD:
    case OP_I_PAD:
      {
        gsize el = op->kind == OP_I_PAD ? 1 : sizeof (float);
        guint8 *out = tdata (e, ws, op->out);
        const guint8 *in = tdata (e, ws, op->in[0]);

        if (op->kind == OP_I_PAD)
          memset (out, ti->zp, to->size);
        else
          memset (out, 0, to->size * el);
        for (gsize y = 0; y < ti->h; y++)
          memcpy (out + (((y + op->pad[0]) * to->w + op->pad[2]) * to->c) * el,
                  in + (y * ti->w * ti->c) * el, ti->w * ti->c * el);
        break;
      }
    case OP_I_CLAMP:
      {
        const guint8 *in = tdata (e, ws, op->in[0]);
        guint8 *out = tdata (e, ws, op->out);

        for (gsize i = 0; i < to->size; i++)
          out[i] = (guint8) CLAMP ((gint32) in[i], op->rq.out_min, op->rq.out_max);
        break;
      }
    case OP_I_ADD:
      qs_add_u8 (tdata (e, ws, op->in[0]), tdata (e, ws, op->in[1]), to->size, &op->addp,
                 tdata (e, ws, op->out));
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
workspace_init (QsEngineInt *e,
                Workspace   *ws)
{
  ws->arena = qs_aligned_alloc0 (e->arena_bytes + 64);
  ws->im2col = qs_aligned_alloc0 (e->im2col_bytes + 64);
  ws->acc = qs_aligned_alloc0 ((e->acc_count + 16) * sizeof (gint32));
}

static void
workspace_clear (Workspace *ws)
{
  qs_aligned_free (ws->arena);
  qs_aligned_free (ws->im2col);
  qs_aligned_free (ws->acc);
}

static void
run_one (QsEngineInt *e,
         Workspace   *ws,
         const float *input,
         float       *output)
{
  memcpy (tdata (e, ws, e->input), input, T (e, e->input)->size * sizeof (float));
  for (guint i = 0; i < e->ops->len; i++)
    run_op (e, g_ptr_array_index (e->ops, i), ws);
  memcpy (output, tdata (e, ws, e->output), T (e, e->output)->size * sizeof (float));
}

/* Images per work item of qs_engine_int_run (), and progress granularity. */
#define RUN_CHUNK 16

typedef struct
{
  QsEngineInt    *e;
  const float    *input;
  float          *output;
  gsize           batch;
  Workspace      *ws;          /* one per thread, allocated on first use */
  gint            done;
  QsProgressFunc  progress;
  gpointer        progress_data;
} Job;

static void
run_chunk (gsize    index,
           guint    thread_index,
           gpointer data)
{
  Job *job = data;
  QsEngineInt *e = job->e;
  gsize in_size = T (e, e->input)->size, out_size = T (e, e->output)->size;
  gsize start = index * RUN_CHUNK, end = MIN (start + RUN_CHUNK, job->batch);
  Workspace *ws = &job->ws[thread_index];
  gint done;

  if (ws->arena == NULL)
    workspace_init (e, ws);
  for (gsize i = start; i < end; i++)
    run_one (e, ws, job->input + i * in_size, job->output + i * out_size);
  done = g_atomic_int_add (&job->done, (gint) (end - start)) + (gint) (end - start);
  if (job->progress != NULL && (done - (gint) (end - start)) / 64 != done / 64)
    job->progress ((double) done / job->batch, job->progress_data);
}

gboolean
qs_engine_int_run (QsEngineInt    *e,
                   const float    *input,
                   gsize           batch,
                   float          *output,
                   guint           n_threads,
                   QsProgressFunc  progress,
                   gpointer        progress_data,
                   GCancellable   *cancellable,
                   GError        **error)
{
  g_autofree Workspace *ws = NULL;
  Job job;
  gsize n_items;
  gboolean ok;

  g_return_val_if_fail (e != NULL, FALSE);
  g_return_val_if_fail (batch == 0 || (input != NULL && output != NULL), FALSE);

  n_items = (batch + RUN_CHUNK - 1) / RUN_CHUNK;
  n_threads = qs_parallel_n_threads (n_items, n_threads);
  ws = g_new0 (Workspace, n_threads);
  job = (Job) { e, input, output, batch, ws, 0, progress, progress_data };
  ok = qs_parallel_for (n_items, n_threads, run_chunk, &job, cancellable, error);
  for (guint t = 0; t < n_threads; t++)
    if (ws[t].arena != NULL)
      workspace_clear (&ws[t]);
  if (ok && progress != NULL)
    progress (1.0, progress_data);
  return ok;
}

gboolean
qs_engine_int_run_tapped (QsEngineInt    *e,
                          const float    *input,
                          float          *output,
                          QsEngineTapFunc tap,
                          gpointer        user_data,
                          GError        **error)
{
  Workspace ws;
  g_autofree float *tmp = NULL;

  g_return_val_if_fail (e != NULL, FALSE);
  g_return_val_if_fail (input != NULL, FALSE);

  workspace_init (e, &ws);
  memcpy (tdata (e, &ws, e->input), input, T (e, e->input)->size * sizeof (float));
  if (tap != NULL)
    tap (T (e, e->input)->key, input, T (e, e->input)->size, FALSE, user_data);
  for (guint i = 0; i < e->ops->len; i++)
    {
      const Op *op = g_ptr_array_index (e->ops, i);
      const PTensor *to = T (e, op->out);

      run_op (e, op, &ws);
      if (tap == NULL || to->key == NULL)
        continue;
      if (to->is_int)
        {
          const guint8 *q = tdata (e, &ws, op->out);

          tmp = g_renew (float, tmp, to->size);
          for (gsize j = 0; j < to->size; j++)
            tmp[j] = (float) ((gint32) q[j] - to->zp) * to->scale;
          tap (to->key, tmp, to->size, TRUE, user_data);
        }
      else
        tap (to->key, tdata (e, &ws, op->out), to->size, FALSE, user_data);
    }
  if (output != NULL)
    memcpy (output, tdata (e, &ws, e->output), T (e, e->output)->size * sizeof (float));
  workspace_clear (&ws);
  return TRUE;
}
