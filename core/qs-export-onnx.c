/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "onnx.pb-c.h"
#include "qs-export-private.h"
#include "qs-quant.h"

/* The ONNX export: the lowering written as a QDQ graph (opset 13), the form ONNX Runtime's
 * quantizer writes and its graph optimizer fuses into QLinear* kernels.
 *
 * - Activations are uint8 with the engine's container parameters (a signed int8 value with
 *   zero-point z is the engine's code + 128 with zero-point z + 128; the real values and
 *   every accumulator are the same), so QuantizeLinear computes the engine's codes:
 *   x / scale, rounded half to even, saturated.
 * - An integer Conv / Dense / DepthwiseConv2D group: DequantizeLinear (input) -> Conv (group
 *   = channels for depthwise) or Gemm (transB) with DequantizeLinear'd int8 weights (per
 *   output channel scales, zero-point 0) and an int32 bias (DequantizeLinear, scale
 *   in_scale * w_scale, as ORT's quantizer writes it) -> QuantizeLinear. The engine's fused
 *   ReLU / ReLU6 clamp is a Clip on the uint8 codes, written only where it is narrower than
 *   the QuantizeLinear's saturation (a calibrated ReLU output starts at zero-point 0, so
 *   usually none is needed); reduced bit widths likewise.
 * - Max pooling, padding, clamps and reshapes run on the uint8 codes themselves (exact);
 *   average pooling, Add and Concat are DequantizeLinear -> op -> QuantizeLinear.
 * - Float steps (islands the lowering keeps float, the final Softmax) are float ops.
 * - Layout: the graph input is NHWC float like the Keras model's; spatial values are NCHW
 *   inside the graph, Dense values [N, features]. A value is kept either NCHW or "flat"
 *   ([N, h * w * c] in Keras order) and converted where a consumer needs the other. */

typedef struct
{
  const QsExportContext *ctx;
  QsLowering            *lw;
  GPtrArray             *nodes;      /* Onnx__NodeProto * */
  GPtrArray             *inits;      /* Onnx__TensorProto * */
  GPtrArray             *garbage;    /* g_free'd at the end */
  GStringChunk          *strings;
  const char           **names;      /* per value: its tensor in the graph */
  gboolean              *flat;       /* per value: [N, h*w*c] in Keras order, else NCHW */
  QsLoweredParams       *params;     /* per integer value */
  guint                  uid;
  guint                  n_weights;  /* weight initializer bytes */
} Builder;

static gpointer
balloc (Builder *b,
        gsize    size)
{
  gpointer p = g_malloc0 (size);

  g_ptr_array_add (b->garbage, p);
  return p;
}

static const char *
bstr (Builder    *b,
      const char *format,
      ...)
{
  va_list args;
  g_autofree char *s = NULL;

  va_start (args, format);
  s = g_strdup_vprintf (format, args);
  va_end (args);
  return g_string_chunk_insert (b->strings, s);
}

/* A new tensor name derived from base. */
static const char *
fresh (Builder    *b,
       const char *base)
{
  return bstr (b, "%s~%u", base, ++b->uid);
}

/* op (inputs...) -> output; inputs NULL-terminated ("" for an absent optional input). */
static Onnx__NodeProto *
node (Builder    *b,
      const char *op,
      const char *output,
      ...)
{
  Onnx__NodeProto *n = balloc (b, sizeof *n);
  const char *inputs[8];
  const char *in;
  guint n_in = 0;
  va_list args;

  onnx__node_proto__init (n);
  va_start (args, output);
  while ((in = va_arg (args, const char *)) != NULL)
    {
      g_assert (n_in < G_N_ELEMENTS (inputs));
      inputs[n_in++] = in;
    }
  va_end (args);
  n->op_type = (char *) op;
  n->name = (char *) bstr (b, "%s_%u", op, b->nodes->len);
  n->n_input = n_in;
  n->input = balloc (b, MAX (n_in, 1) * sizeof (char *));
  memcpy (n->input, inputs, n_in * sizeof (char *));
  n->n_output = 1;
  n->output = balloc (b, sizeof (char *));
  n->output[0] = (char *) output;
  g_ptr_array_add (b->nodes, n);
  return n;
}

static Onnx__AttributeProto *
attr_add (Builder         *b,
          Onnx__NodeProto *n,
          const char      *name)
{
  Onnx__AttributeProto *a = balloc (b, sizeof *a);
  Onnx__AttributeProto **list = balloc (b, (n->n_attribute + 1) * sizeof *list);

  onnx__attribute_proto__init (a);
  a->name = (char *) name;
  if (n->n_attribute > 0)
    memcpy (list, n->attribute, n->n_attribute * sizeof *list);
  list[n->n_attribute++] = a;
  n->attribute = list;
  a->has_type = TRUE;
  return a;
}

static void
attr_int (Builder         *b,
          Onnx__NodeProto *n,
          const char      *name,
          gint64           v)
{
  Onnx__AttributeProto *a = attr_add (b, n, name);

  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = TRUE;
  a->i = v;
}

static void
attr_ints (Builder         *b,
           Onnx__NodeProto *n,
           const char      *name,
           guint            count,
           const gint64    *v)
{
  Onnx__AttributeProto *a = attr_add (b, n, name);

  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = count;
  a->ints = balloc (b, count * sizeof (gint64));
  memcpy (a->ints, v, count * sizeof (gint64));
}

/* An initializer; data is copied. */
static const char *
init (Builder      *b,
      const char   *name,
      gint32        data_type,
      guint         n_dims,
      const gint64 *dims,
      const void   *data,
      gsize         bytes)
{
  Onnx__TensorProto *t = balloc (b, sizeof *t);

  onnx__tensor_proto__init (t);
  t->name = (char *) name;
  t->has_data_type = TRUE;
  t->data_type = data_type;
  t->n_dims = n_dims;
  t->dims = balloc (b, MAX (n_dims, 1) * sizeof (gint64));
  if (n_dims > 0)
    memcpy (t->dims, dims, n_dims * sizeof (gint64));
  t->has_raw_data = TRUE;
  t->raw_data.len = bytes;
  t->raw_data.data = balloc (b, MAX (bytes, 1));
  memcpy (t->raw_data.data, data, bytes);
  g_ptr_array_add (b->inits, t);
  return name;
}

static const char *
init_float (Builder *b, float v)
{
  return init (b, fresh (b, "scale"), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &v, 4);
}

static const char *
init_u8 (Builder *b, guint8 v)
{
  return init (b, fresh (b, "zero_point"), ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 0, NULL, &v, 1);
}

static const char *
init_i64s (Builder *b, guint n, const gint64 *v)
{
  gint64 dims[1] = { n };

  return init (b, fresh (b, "shape"), ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, dims, v, n * 8);
}

static const char *
quantize (Builder               *b,
          const char            *x,
          const QsLoweredParams *p,
          const char            *out)
{
  const char *q = p->qmin > 0 || p->qmax < 255 ? fresh (b, out) : out;

  node (b, "QuantizeLinear", q, x, init_float (b, p->scale), init_u8 (b, (guint8) p->zero_point), NULL);
  if (q != out)
    node (b, "Clip", out, q, init_u8 (b, (guint8) p->qmin), init_u8 (b, (guint8) p->qmax), NULL);
  return out;
}

static const char *
dequantize (Builder               *b,
            const char            *codes,
            const QsLoweredParams *p)
{
  const char *out = fresh (b, codes);

  node (b, "DequantizeLinear", out, codes, init_float (b, p->scale),
        init_u8 (b, (guint8) p->zero_point), NULL);
  return out;
}

/* Clip of codes to [lo, hi] (a fused ReLU / ReLU6, a reduced bit width). */
static const char *
clamp_codes (Builder    *b,
             const char *codes,
             gint32      lo,
             gint32      hi,
             const char *out)
{
  if (lo <= 0 && hi >= 255)
    {
      if (out != codes)
        node (b, "Identity", out, codes, NULL);
      return out;
    }
  node (b, "Clip", out, codes, init_u8 (b, (guint8) lo), init_u8 (b, (guint8) hi), NULL);
  return out;
}

static const char *
transpose (Builder *b, const char *x, gint64 p0, gint64 p1, gint64 p2, gint64 p3)
{
  const char *out = fresh (b, x);
  gint64 perm[4] = { p0, p1, p2, p3 };

  attr_ints (b, node (b, "Transpose", out, x, NULL), "perm", 4, perm);
  return out;
}

/* The value as [N, h*w*c] in Keras (NHWC) order. */
static const char *
as_flat (Builder *b,
         gint     v)
{
  const QsLoweredValue *val = qs_lowering_get_value (b->lw, v);
  const char *x = b->names[v], *out;

  if (b->flat[v])
    return x;
  if (val->h * val->w > 1)
    x = transpose (b, x, 0, 2, 3, 1);
  out = fresh (b, x);
  attr_int (b, node (b, "Flatten", out, x, NULL), "axis", 1);
  return out;
}

/* The value as NCHW [N, c, h, w]. */
static const char *
as_nchw (Builder *b,
         gint     v)
{
  const QsLoweredValue *val = qs_lowering_get_value (b->lw, v);
  const char *x = b->names[v], *out = fresh (b, x);

  if (!b->flat[v])
    return x;
  if (val->h * val->w == 1)
    {
      gint64 shape[4] = { -1, (gint64) val->c, 1, 1 };

      node (b, "Reshape", out, x, init_i64s (b, 4, shape), NULL);
      return out;
    }
  else
    {
      gint64 shape[4] = { -1, (gint64) val->h, (gint64) val->w, (gint64) val->c };

      node (b, "Reshape", out, x, init_i64s (b, 4, shape), NULL);
      return transpose (b, out, 0, 3, 1, 2);
    }
}

/* A per-channel op (BatchNorm, Rescale, Softmax, Concat) can work on a flat value only when
 * it has no spatial extent. */
static const char *
as_channels (Builder  *b,
             gint      v,
             gboolean *flat)
{
  const QsLoweredValue *val = qs_lowering_get_value (b->lw, v);

  *flat = b->flat[v] && val->h * val->w == 1;
  return *flat ? b->names[v] : as_nchw (b, v);
}

static const char *
layer_name (Builder             *b,
            const QsLoweredStep *s)
{
  if (s->layer >= 0)
    return qs_model_get_layer (b->ctx->model, s->layer)->name;
  return "?";
}

/* The float activation of a step (a float group's fused one, or an ACTIVATION step). */
static gboolean
float_act (Builder             *b,
           const QsLoweredStep *s,
           const char          *x,
           gboolean             flat,
           const char          *out,
           GError             **error)
{
  Onnx__NodeProto *n;

  switch (s->act)
    {
    case QS_ACTIVATION_LINEAR:
      node (b, "Identity", out, x, NULL);
      return TRUE;
    case QS_ACTIVATION_RELU:
    case QS_ACTIVATION_RELU6:
      {
        float max = s->act == QS_ACTIVATION_RELU6 ? 6.0f : s->relu_max;

        if (s->act == QS_ACTIVATION_RELU && (s->slope != 0.0f || s->thr != 0.0f))
          break;
        if (max < 0.0f)
          node (b, "Relu", out, x, NULL);
        else
          node (b, "Clip", out, x, init_float (b, 0.0f), init_float (b, max), NULL);
        return TRUE;
      }
    case QS_ACTIVATION_SIGMOID:
      node (b, "Sigmoid", out, x, NULL);
      return TRUE;
    case QS_ACTIVATION_TANH:
      node (b, "Tanh", out, x, NULL);
      return TRUE;
    case QS_ACTIVATION_SOFTMAX:
      n = node (b, "Softmax", out, x, NULL);
      attr_int (b, n, "axis", flat ? -1 : 1);
      return TRUE;
    case QS_ACTIVATION_SWISH:
      {
        const char *sg = fresh (b, x);

        node (b, "Sigmoid", sg, x, NULL);
        node (b, "Mul", out, x, sg, NULL);
        return TRUE;
      }
    case QS_ACTIVATION_ELU:
      {
        Onnx__AttributeProto *a;

        n = node (b, "Elu", out, x, NULL);
        a = attr_add (b, n, "alpha");
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = TRUE;
        a->f = s->alpha;
        return TRUE;
      }
    case QS_ACTIVATION_LEAKY_RELU:
      {
        Onnx__AttributeProto *a;

        n = node (b, "LeakyRelu", out, x, NULL);
        a = attr_add (b, n, "alpha");
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = TRUE;
        a->f = s->alpha;
        return TRUE;
      }
    default:
      break;
    }
  g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
               _("Layer “%s”: its activation has no ONNX export yet"), layer_name (b, s));
  return FALSE;
}

/* The engine's clamp of an integer output by a fused ReLU / ReLU6 (qs-engine-int.c's
 * act_clamp, TFLite's CalculateActivationRangeQuantized). */
static void
act_clamp (const QsLoweredStep   *s,
           const QsLoweredParams *t,
           gint32                *lo,
           gint32                *hi)
{
  float max = s->act == QS_ACTIVATION_RELU6 ? 6.0f : s->relu_max;

  *lo = t->qmin;
  *hi = t->qmax;
  if (s->act == QS_ACTIVATION_RELU || s->act == QS_ACTIVATION_RELU6)
    {
      *lo = MAX (*lo, t->zero_point);
      if (max >= 0.0f)
        *hi = MIN (*hi, t->zero_point + (gint32) lrintf (max / t->scale));
      *hi = MAX (*hi, *lo);
    }
}

/* Conv / Dense / DepthwiseConv2D, integer or float. */
static gboolean
emit_conv (Builder             *b,
           guint                index,
           const QsLoweredStep *s,
           GError             **error)
{
  gboolean depthwise = s->kind == QS_LOWERED_DEPTHWISE;
  gboolean dense = !depthwise && s->kernel->n_dims == 2;
  const QsLoweredValue *in = qs_lowering_get_value (b->lw, s->inputs[0]);
  const QsLoweredValue *outv = qs_lowering_get_value (b->lw, s->output);
  gsize n = s->n_out, k = s->k, kk_n = s->kh * s->kw;
  gsize in_per_group = depthwise ? 1 : (dense ? k : s->ic);
  g_autoptr(QsQuantResult) r = NULL;
  g_autoptr(QsTensor) kernel = NULL;
  g_autoptr(GError) local = NULL;
  const char *x, *w, *bias, *y, *name = outv->name ? outv->name : fresh (b, "value");
  gint64 wdims[4] = { (gint64) n, (gint64) in_per_group, (gint64) s->kh, (gint64) s->kw };
  Onnx__NodeProto *op;

  r = qs_lowering_get_step_weights (b->lw, index, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (dense && in->h * in->w > 1)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("Layer “%s”: a Dense layer on a %zu×%zu×%zu input has no ONNX export yet"),
                   layer_name (b, s), in->h, in->w, in->c);
      return FALSE;
    }

  x = dense ? as_flat (b, s->inputs[0]) : as_nchw (b, s->inputs[0]);
  if (s->is_int)
    {
      const QsLoweredParams *pin = &b->params[s->inputs[0]], *pout = &b->params[s->output];
      g_autofree gint8 *codes = g_new (gint8, n * k);
      g_autofree float *wscale = g_new (float, n);
      g_autofree float *bscale = g_new (float, n);
      g_autofree gint32 *bq = g_new (gint32, n);
      g_autofree gint8 *wzp = g_new0 (gint8, n);
      g_autofree gint32 *bzp = g_new0 (gint32, n);
      gint64 ndims[1] = { (gint64) n };
      const char *wc, *wq, *bc, *acc, *q;
      gint32 lo, hi;

      for (gsize o = 0; o < n; o++)
        {
          gsize idx = qs_quant_params_index (r->params, o);
          float sw = r->params->scale[idx];
          double sc = sw > 0.0f && isfinite (sw) ? sw : pout->scale / pin->scale;
          double bias_real = s->bias ? s->bias[o] : 0.0;
          double v = nearbyint (bias_real / ((double) pin->scale * sc));

          if (r->params->zero_point[idx] != 0)
            {
              g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                           _("Layer “%s”: ONNX export needs symmetric weights (zero-point 0)"),
                           layer_name (b, s));
              return FALSE;
            }
          /* the engine's int32 bias at in_scale * w_scale, the same rounding */
          bq[o] = (gint32) CLAMP (v, (double) G_MININT32, (double) G_MAXINT32);
          wscale[o] = (float) sc;
          bscale[o] = (float) ((double) pin->scale * sc);
        }
      /* Keras [kh][kw][in][out] (depthwise [kh][kw][c * mult], Dense [in][out]) ->
       * ONNX [out][in][kh][kw] (Gemm with transB: [out][in]) */
      for (gsize o = 0; o < n; o++)
        for (gsize t = 0; t < k; t++)
          {
            gsize dst;
            gint32 code;

            if (dense || depthwise)
              dst = o * k + t;
            else
              {
                gsize tap = t / s->ic, ci = t % s->ic;
                dst = (o * s->ic + ci) * kk_n + tap;
              }
            code = r->codes[t * n + o];
            codes[dst] = (gint8) CLAMP (code, -128, 127);
          }

      wc = init (b, bstr (b, "%s/kernel_codes", name), ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
                 dense ? 2 : 4, wdims, codes, n * k);
      wq = init (b, bstr (b, "%s/kernel_scale", name), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                 1, ndims, wscale, n * 4);
      w = bstr (b, "%s/kernel", name);
      attr_int (b, node (b, "DequantizeLinear", w, wc, wq,
                         init (b, fresh (b, "zero_point"), ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
                               1, ndims, wzp, n), NULL),
                "axis", 0);
      bc = init (b, bstr (b, "%s/bias_codes", name), ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
                 1, ndims, bq, n * 4);
      bias = bstr (b, "%s/bias", name);
      attr_int (b, node (b, "DequantizeLinear", bias, bc,
                         init (b, bstr (b, "%s/bias_scale", name), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                               1, ndims, bscale, n * 4),
                         init (b, fresh (b, "zero_point"), ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
                               1, ndims, bzp, n * 4), NULL),
                "axis", 0);
      b->n_weights += n * k + n * 8;

      x = dequantize (b, x, pin);
      acc = fresh (b, name);
      if (dense)
        {
          op = node (b, "Gemm", acc, x, w, bias, NULL);
          attr_int (b, op, "transB", 1);
        }
      else
        op = node (b, "Conv", acc, x, w, bias, NULL);
      act_clamp (s, pout, &lo, &hi);
      q = quantize (b, acc, &(QsLoweredParams) { pout->scale, pout->zero_point, 0, 255 },
                    lo > 0 || hi < 255 ? fresh (b, name) : name);
      y = clamp_codes (b, q, lo, hi, name);
      b->flat[s->output] = dense;
    }
  else
    {
      const float *fw;
      g_autofree float *wt = g_new (float, n * k);
      g_autofree float *bias_v = g_new0 (float, n);
      gint64 ndims[1] = { (gint64) n };
      const char *acc;

      if (r == NULL)
        kernel = qs_lowering_get_step_kernel (b->lw, index);
      fw = r != NULL ? r->dequant->data : kernel->data;
      for (gsize o = 0; o < n; o++)
        for (gsize t = 0; t < k; t++)
          {
            gsize dst = dense || depthwise ? o * k + t
                                           : (o * s->ic + t % s->ic) * kk_n + t / s->ic;
            wt[dst] = fw[t * n + o];
          }
      if (s->bias != NULL)
        memcpy (bias_v, s->bias, n * sizeof (float));
      if (dense)
        wdims[1] = (gint64) k;
      w = init (b, bstr (b, "%s/kernel", name), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                dense ? 2 : 4, wdims, wt, n * k * 4);
      bias = init (b, bstr (b, "%s/bias", name), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                   1, ndims, bias_v, n * 4);
      b->n_weights += n * k * 4 + n * 4;
      acc = fresh (b, name);
      if (dense)
        attr_int (b, op = node (b, "Gemm", acc, x, w, bias, NULL), "transB", 1);
      else
        op = node (b, "Conv", acc, x, w, bias, NULL);
      if (!float_act (b, s, acc, dense, name, error))
        return FALSE;
      y = name;
      b->flat[s->output] = dense;
    }

  if (!dense)
    {
      gint64 ks[2] = { (gint64) s->kh, (gint64) s->kw };
      gint64 st[2] = { (gint64) s->sh, (gint64) s->sw };
      gint64 dl[2] = { (gint64) s->dh, (gint64) s->dw };
      gint64 pb = MAX (0, (gint64) ((s->oh - 1) * s->sh + (s->kh - 1) * s->dh + 1)
                          - (gint64) s->ih - (gint64) s->pad_t);
      gint64 pr = MAX (0, (gint64) ((s->ow - 1) * s->sw + (s->kw - 1) * s->dw + 1)
                          - (gint64) s->iw - (gint64) s->pad_l);
      gint64 pads[4] = { (gint64) s->pad_t, (gint64) s->pad_l, pb, pr };

      attr_ints (b, op, "kernel_shape", 2, ks);
      attr_ints (b, op, "strides", 2, st);
      attr_ints (b, op, "dilations", 2, dl);
      attr_ints (b, op, "pads", 4, pads);
      if (depthwise)
        attr_int (b, op, "group", (gint64) s->ic);
    }
  b->names[s->output] = y;
  return TRUE;
}

static void
emit_pool (Builder             *b,
           const QsLoweredStep *s)
{
  const QsLoweredValue *outv = qs_lowering_get_value (b->lw, s->output);
  const char *name = outv->name ? outv->name : fresh (b, "value");
  const char *x = as_nchw (b, s->inputs[0]), *y;
  gboolean global = !s->is_max && s->kh == s->ih && s->kw == s->iw && s->oh == 1 && s->ow == 1
                    && s->pad_t == 0 && s->pad_l == 0;
  gboolean dq = s->is_int && !s->is_max;   /* max pooling of codes is exact on the codes */
  /* Integer average pooling rounds the mean of (code - 128) half away from zero (TFLite);
   * ORT's QLinearAveragePool rounds ties to even. Where a window's tap count can be even
   * (ties possible), the mean is taken in float of (code - 128) (exact) and rounded away
   * from zero with Sign * Floor (|m| + 0.5) (exact: a non-tie mean is at least 1 / (2 *
   * count) from a tie); otherwise the QDQ form, which ORT fuses. */
  gboolean odd = global ? (s->ih * s->iw) % 2 == 1
                        : (s->kh * s->kw) % 2 == 1 && s->pad_t == 0 && s->pad_l == 0
                          && (s->oh - 1) * s->sh + s->kh <= s->ih && (s->ow - 1) * s->sw + s->kw <= s->iw;
  gboolean emulate = dq && !odd;
  QsLoweredParams offset = { 1.0f, 128, 0, 255 };
  Onnx__NodeProto *op;

  if (dq)
    x = dequantize (b, x, emulate ? &offset : &b->params[s->inputs[0]]);
  y = dq ? fresh (b, name) : name;
  if (global)
    op = node (b, "GlobalAveragePool", y, x, NULL);
  else
    {
      gint64 ks[2] = { (gint64) s->kh, (gint64) s->kw };
      gint64 st[2] = { (gint64) s->sh, (gint64) s->sw };
      gint64 pb = MAX (0, (gint64) ((s->oh - 1) * s->sh + s->kh) - (gint64) s->ih - (gint64) s->pad_t);
      gint64 pr = MAX (0, (gint64) ((s->ow - 1) * s->sw + s->kw) - (gint64) s->iw - (gint64) s->pad_l);
      gint64 pads[4] = { (gint64) s->pad_t, (gint64) s->pad_l, pb, pr };

      op = node (b, s->is_max ? "MaxPool" : "AveragePool", y, x, NULL);
      attr_ints (b, op, "kernel_shape", 2, ks);
      attr_ints (b, op, "strides", 2, st);
      attr_ints (b, op, "pads", 4, pads);
      if (!s->is_max)
        attr_int (b, op, "count_include_pad", 0);
    }
  if (emulate)
    {
      const char *sg = fresh (b, name), *ab = fresh (b, name), *h = fresh (b, name);
      const char *fl = fresh (b, name), *r = fresh (b, name), *c = fresh (b, name);
      const char *cl = fresh (b, name);

      node (b, "Sign", sg, y, NULL);
      node (b, "Abs", ab, y, NULL);
      node (b, "Add", h, ab, init_float (b, 0.5f), NULL);
      node (b, "Floor", fl, h, NULL);
      node (b, "Mul", r, fl, sg, NULL);
      node (b, "Add", c, r, init_float (b, 128.0f), NULL);
      node (b, "Clip", cl, c, init_float (b, 0.0f), init_float (b, 255.0f), NULL);   /* as the engine */
      attr_int (b, node (b, "Cast", name, cl, NULL), "to", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8);
    }
  else if (dq)
    quantize (b, y, &b->params[s->output], name);
  b->names[s->output] = name;
  b->flat[s->output] = FALSE;
}

static gboolean
emit_step (Builder  *b,
           guint     index,
           GError  **error)
{
  const QsLoweredStep *s = qs_lowering_get_step (b->lw, index);
  const QsLoweredValue *outv = qs_lowering_get_value (b->lw, s->output);
  const char *name = outv->name ? outv->name : bstr (b, "value%d", s->output);
  gboolean flat;

  switch (s->kind)
    {
    case QS_LOWERED_QUANTIZE:
      b->names[s->output] = quantize (b, b->names[s->inputs[0]], &b->params[s->output], name);
      b->flat[s->output] = b->flat[s->inputs[0]];
      return TRUE;

    case QS_LOWERED_DEQUANTIZE:
      b->names[s->output] = dequantize (b, b->names[s->inputs[0]], &b->params[s->inputs[0]]);
      b->flat[s->output] = b->flat[s->inputs[0]];
      return TRUE;

    case QS_LOWERED_CONV:
    case QS_LOWERED_DEPTHWISE:
      return emit_conv (b, index, s, error);

    case QS_LOWERED_POOL:
      emit_pool (b, s);
      return TRUE;

    case QS_LOWERED_BATCH_NORM:
    case QS_LOWERED_RESCALE:
      {
        const char *x = as_channels (b, s->inputs[0], &flat);
        g_autofree float *sc = g_new (float, s->oc), *sh = g_new (float, s->oc);
        gint64 dims[3] = { (gint64) s->oc, 1, 1 };
        const char *m = fresh (b, name);

        for (gsize c = 0; c < s->oc; c++)
          {
            sc[c] = s->kind == QS_LOWERED_RESCALE ? s->rs_scale : s->bn_scale[c];
            sh[c] = s->kind == QS_LOWERED_RESCALE ? s->rs_offset : s->bn_shift[c];
          }
        if (s->kind == QS_LOWERED_RESCALE)
          {
            node (b, "Mul", m, x, init_float (b, sc[0]), NULL);
            node (b, "Add", name, m, init_float (b, sh[0]), NULL);
          }
        else
          {
            node (b, "Mul", m, x, init (b, fresh (b, "bn_scale"), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                        flat ? 1 : 3, dims, sc, s->oc * 4), NULL);
            node (b, "Add", name, m, init (b, fresh (b, "bn_shift"), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                           flat ? 1 : 3, dims, sh, s->oc * 4), NULL);
          }
        b->names[s->output] = name;
        b->flat[s->output] = flat;
        return TRUE;
      }

    case QS_LOWERED_ACTIVATION:
      if (s->is_int)
        {
          gint32 lo, hi;

          /* the clamp of the input's codes (the output shares its parameters) */
          act_clamp (s, &b->params[s->inputs[0]], &lo, &hi);
          b->names[s->output] = clamp_codes (b, b->names[s->inputs[0]], lo, hi, name);
          b->flat[s->output] = b->flat[s->inputs[0]];
          return TRUE;
        }
      else
        {
          const char *x = s->act == QS_ACTIVATION_SOFTMAX ? as_channels (b, s->inputs[0], &flat)
                                                          : b->names[s->inputs[0]];

          if (s->act != QS_ACTIVATION_SOFTMAX)
            flat = b->flat[s->inputs[0]];
          if (!float_act (b, s, x, flat, name, error))
            return FALSE;
          b->names[s->output] = name;
          b->flat[s->output] = flat;
          return TRUE;
        }

    case QS_LOWERED_ADD:
    case QS_LOWERED_CONCAT:
      {
        gboolean concat = s->kind == QS_LOWERED_CONCAT;
        const char *acc = s->is_int ? fresh (b, name) : name;
        gboolean all_flat = TRUE;
        Onnx__NodeProto *op;
        const char *xs[QS_LOWERED_MAX_INPUTS];

        for (guint i = 0; i < s->n_inputs; i++)
          {
            const QsLoweredValue *iv = qs_lowering_get_value (b->lw, s->inputs[i]);
            all_flat = all_flat && b->flat[s->inputs[i]] && (!concat || iv->h * iv->w == 1);
          }
        for (guint i = 0; i < s->n_inputs; i++)
          {
            xs[i] = all_flat ? b->names[s->inputs[i]] : as_nchw (b, s->inputs[i]);
            if (s->is_int)
              xs[i] = dequantize (b, xs[i], &b->params[s->inputs[i]]);
          }
        if (concat)
          {
            op = node (b, "Concat", acc, xs[0], NULL);
            op->n_input = s->n_inputs;
            op->input = balloc (b, s->n_inputs * sizeof (char *));
            memcpy (op->input, xs, s->n_inputs * sizeof (char *));
            attr_int (b, op, "axis", 1);
          }
        else
          {
            const char *sum = xs[0];

            for (guint i = 1; i < s->n_inputs; i++)
              {
                const char *o = i + 1 == s->n_inputs ? acc : fresh (b, name);

                node (b, "Add", o, sum, xs[i], NULL);
                sum = o;
              }
          }
        if (s->is_int)
          quantize (b, acc, &b->params[s->output], name);
        b->names[s->output] = name;
        b->flat[s->output] = all_flat;
        return TRUE;
      }

    case QS_LOWERED_PAD:
      {
        const char *x = as_nchw (b, s->inputs[0]);
        gint64 pads[8] = { 0, 0, (gint64) s->pad[0], (gint64) s->pad[2],
                           0, 0, (gint64) s->pad[1], (gint64) s->pad[3] };

        if (s->is_int)
          node (b, "Pad", name, x, init_i64s (b, 8, pads),
                init_u8 (b, (guint8) b->params[s->inputs[0]].zero_point), NULL);
        else
          node (b, "Pad", name, x, init_i64s (b, 8, pads), NULL);
        b->names[s->output] = name;
        b->flat[s->output] = FALSE;
        return TRUE;
      }

    case QS_LOWERED_ALIAS:
      {
        const QsLoweredValue *iv = qs_lowering_get_value (b->lw, s->inputs[0]);

        if (iv->h == outv->h && iv->w == outv->w && iv->c == outv->c)
          {
            b->names[s->output] = b->names[s->inputs[0]];
            b->flat[s->output] = b->flat[s->inputs[0]];
          }
        else
          {
            /* any reshape is the identity on Keras-ordered flat data */
            b->names[s->output] = as_flat (b, s->inputs[0]);
            b->flat[s->output] = TRUE;
          }
        return TRUE;
      }

    default:
      break;
    }
  g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
               _("Layer “%s”: this operation has no ONNX export yet"), layer_name (b, s));
  return FALSE;
}

static gboolean
assign_params (Builder  *b,
               GError  **error)
{
  QsConfig *config = b->ctx->config;

  for (guint i = 0; i < qs_lowering_get_n_values (b->lw); i++)
    {
      const QsLoweredValue *v = qs_lowering_get_value (b->lw, i);
      float lo, hi;

      if (!v->is_int)
        continue;
      if (v->params_from >= 0)
        {
          g_assert ((guint) v->params_from < i);
          b->params[i] = b->params[v->params_from];
          continue;
        }
      /* as the engine: a range the config fixes wins over calibration */
      if (!qs_config_get_activation_range (config, v->range_name, &lo, &hi)
          && (b->ctx->ranges == NULL || !qs_range_table_lookup (b->ctx->ranges, v->range_name, &lo, &hi)))
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("The activation “%s” has no range (calibrate first)"), v->range_name);
          return FALSE;
        }
      if (!qs_lowered_params_from_range (&v->spec, lo, hi, &b->params[i], error))
        return FALSE;
    }
  return TRUE;
}

static Onnx__ValueInfoProto *
value_info (Builder      *b,
            const char   *name,
            gint32        elem_type,
            guint         n_dims,
            const gint64 *dims)   /* dims[0] is the batch: "N" */
{
  Onnx__ValueInfoProto *vi = balloc (b, sizeof *vi);
  Onnx__TypeProto *tp = balloc (b, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = balloc (b, sizeof *tt);
  Onnx__TensorShapeProto *shape = balloc (b, sizeof *shape);

  onnx__value_info_proto__init (vi);
  onnx__type_proto__init (tp);
  onnx__type_proto__tensor__init (tt);
  onnx__tensor_shape_proto__init (shape);
  vi->name = (char *) name;
  vi->type = tp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  tt->has_elem_type = TRUE;
  tt->elem_type = elem_type;
  tt->shape = shape;
  shape->n_dim = n_dims;
  shape->dim = balloc (b, n_dims * sizeof (gpointer));
  for (guint i = 0; i < n_dims; i++)
    {
      Onnx__TensorShapeProto__Dimension *d = balloc (b, sizeof *d);

      onnx__tensor_shape_proto__dimension__init (d);
      if (i == 0)
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          d->dim_param = (char *) "N";
        }
      else
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          d->dim_value = dims[i];
        }
      shape->dim[i] = d;
    }
  return vi;
}

/* The Keras shape of a value: [N, c] without spatial extent, else [N, h, w, c]. */
static guint
keras_dims (const QsLoweredValue *v,
            gint64               *dims)
{
  dims[0] = -1;
  if (v->h * v->w == 1)
    {
      dims[1] = (gint64) v->c;
      return 2;
    }
  dims[1] = (gint64) v->h;
  dims[2] = (gint64) v->w;
  dims[3] = (gint64) v->c;
  return 4;
}

static void
builder_clear (Builder *b)
{
  g_clear_pointer (&b->nodes, g_ptr_array_unref);
  g_clear_pointer (&b->inits, g_ptr_array_unref);
  g_clear_pointer (&b->garbage, g_ptr_array_unref);
  g_clear_pointer (&b->strings, g_string_chunk_free);
  g_clear_pointer (&b->names, g_free);
  g_clear_pointer (&b->flat, g_free);
  g_clear_pointer (&b->params, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Builder, builder_clear)

gboolean
_qs_export_onnx_write (const QsExportContext *ctx,
                       const char            *path,
                       const char * const    *taps,
                       GString               *summary,
                       GError               **error)
{
  g_auto(Builder) b = { 0 };
  QsLowering *lw = ctx->lowering;
  guint n_values = qs_lowering_get_n_values (lw);
  gint in_v = qs_lowering_get_input (lw), out_v = qs_lowering_get_output (lw);
  const QsLoweredValue *iv = qs_lowering_get_value (lw, in_v);
  const QsLoweredValue *ov = qs_lowering_get_value (lw, out_v);
  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *opsets[1] = { &opset };
  GPtrArray *outputs;
  g_autoptr(GPtrArray) outputs_owned = g_ptr_array_new ();
  Onnx__ValueInfoProto *inputs[1];
  gint64 dims[4];
  guint nd;
  g_autofree guint8 *buf = NULL;
  gsize len;
  guint n_qlinear = 0, n_clip = 0;

  g_return_val_if_fail (ctx != NULL && ctx->lowering != NULL, FALSE);

  b.ctx = ctx;
  b.lw = lw;
  b.nodes = g_ptr_array_new ();
  b.inits = g_ptr_array_new ();
  b.garbage = g_ptr_array_new_with_free_func (g_free);
  b.strings = g_string_chunk_new (4096);
  b.names = g_new0 (const char *, n_values);
  b.flat = g_new0 (gboolean, n_values);
  b.params = g_new0 (QsLoweredParams, n_values);

  if (!qs_lowering_prepare_weights (lw, error) || !assign_params (&b, error))
    return FALSE;

  /* the graph input: NHWC float as the model's, flattened (Keras order) and converted to
   * NCHW where a consumer needs it */
  nd = keras_dims (iv, dims);
  inputs[0] = value_info (&b, "input", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, nd, dims);
  if (nd == 4)
    {
      const char *f = fresh (&b, "input");

      attr_int (&b, node (&b, "Flatten", f, "input", NULL), "axis", 1);
      b.names[in_v] = f;
    }
  else
    b.names[in_v] = "input";
  b.flat[in_v] = TRUE;

  for (guint i = 0; i < qs_lowering_get_n_steps (lw); i++)
    if (!emit_step (&b, i, error))
      return FALSE;

  /* the graph output in the Keras shape */
  outputs = outputs_owned;
  nd = keras_dims (ov, dims);
  {
    const char *y = as_flat (&b, out_v);

    if (nd == 4)
      {
        const char *r = fresh (&b, y);
        gint64 shape[4] = { -1, dims[1], dims[2], dims[3] };

        node (&b, "Reshape", r, y, init_i64s (&b, 4, shape), NULL);
        y = r;
      }
    node (&b, "Identity", "output", y, NULL);
    g_ptr_array_add (outputs, value_info (&b, "output", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, nd, dims));
  }
  for (guint t = 0; taps != NULL && taps[t] != NULL; t++)
    {
      gint v = qs_lowering_find_value (lw, taps[t]);
      const QsLoweredValue *tv;
      const char *name;
      gint64 tdims[2];

      if (v < 0)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                       "No value named “%s” to tap", taps[t]);
          return FALSE;
        }
      tv = qs_lowering_get_value (lw, v);
      name = bstr (&b, "tap:%s", taps[t]);
      node (&b, "Identity", name, as_flat (&b, v), NULL);
      tdims[0] = -1;
      tdims[1] = (gint64) (tv->h * tv->w * tv->c);
      g_ptr_array_add (outputs, value_info (&b, name, tv->is_int ? ONNX__TENSOR_PROTO__DATA_TYPE__UINT8
                                                                 : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                            2, tdims));
    }

  graph.name = (char *) qs_model_get_name (ctx->model);
  graph.n_node = b.nodes->len;
  graph.node = (Onnx__NodeProto **) b.nodes->pdata;
  graph.n_initializer = b.inits->len;
  graph.initializer = (Onnx__TensorProto **) b.inits->pdata;
  graph.n_input = 1;
  graph.input = inputs;
  graph.n_output = outputs->len;
  graph.output = (Onnx__ValueInfoProto **) outputs->pdata;

  opset.domain = (char *) "";
  opset.has_version = TRUE;
  opset.version = 13;
  model.has_ir_version = TRUE;
  model.ir_version = 7;   /* ONNX 1.8+, opset 13 */
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.producer_name = (char *) "Quantscope";
  model.producer_version = (char *) PACKAGE_VERSION;
  model.graph = &graph;

  len = onnx__model_proto__get_packed_size (&model);
  buf = g_malloc (len);
  onnx__model_proto__pack (&model, buf);
  if (!qs_export_write_file (path, buf, len, error))
    return FALSE;

  for (guint i = 0; i < b.nodes->len; i++)
    {
      const Onnx__NodeProto *n = g_ptr_array_index (b.nodes, i);

      if (g_str_equal (n->op_type, "Conv") || g_str_equal (n->op_type, "Gemm")
          || g_str_equal (n->op_type, "Add") || g_str_equal (n->op_type, "Concat")
          || g_str_equal (n->op_type, "AveragePool") || g_str_equal (n->op_type, "GlobalAveragePool"))
        n_qlinear++;
      else if (g_str_equal (n->op_type, "Clip"))
        n_clip++;
    }
  {
    g_autofree char *size = g_format_size (len);

    g_string_append_printf (summary,
                            _("Wrote %s (ONNX, QDQ form, opset 13): %s, %u nodes, %u initializers\n"),
                            path, size, b.nodes->len, b.inits->len);
    g_string_append_printf (summary,
                            _("Activations uint8 with a scale and zero-point per tensor, weights int8 per "
                              "output channel with int32 biases: %u quantized operations for ONNX Runtime "
                              "to fuse (QLinearConv, QGemm, QLinearAdd ...), %u Clip nodes for clamps\n"),
                            n_qlinear, n_clip);
    g_string_append (summary,
                     _("ONNX Runtime requantizes with a float32 scale, rounding half to even: the "
                       "engine computes the same codes in the fp32-rne requantization mode\n"));    for (guint i = 0; i < qs_lowering_get_n_steps (lw); i++)
      {
        const QsLoweredStep *st = qs_lowering_get_step (lw, i);

        if (st->kind == QS_LOWERED_QUANTIZE && st->rounding != QS_ROUNDING_NEAREST_EVEN)
          {
            g_string_append (summary,
                             _("QuantizeLinear rounds ties to even; the config rounds activations "
                               "otherwise (exact ties may quantize one code apart)\n"));
            break;
          }
      }
  }
  return TRUE;
}

gboolean
qs_export_onnx (const QsExportContext *ctx,
                const char            *path,
                GString               *summary,
                GError               **error)
{
  return _qs_export_onnx_write (ctx, path, NULL, summary, error);
}
