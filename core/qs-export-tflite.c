/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The TensorFlow Lite export: walks the lowering (the program the integer engine runs) and
 * writes it as a .tflite flatbuffer (schema version 3):
 *
 * - integer values become int8 tensors: the engine's uint8 container codes minus 128, so
 *   the zero-point is zp - 128 and the scale is the same;
 * - CONV steps become FULLY_CONNECTED (Dense: weights [out, in]) or CONV_2D (weights
 *   [out, kh, kw, in]), DEPTHWISE steps DEPTHWISE_CONV_2D (weights [1, kh, kw, c * mult]),
 *   all with per-channel int8 weights (zero-point 0, quantized_dimension 0 or 3) and int32
 *   biases at in_scale * w_scale, a fused ReLU / ReLU6 as fused_activation_function;
 * - POOL, ADD, CONCAT, PAD, the integer ReLU clamps and the aliases (Flatten, Reshape)
 *   map one to one; QUANTIZE / DEQUANTIZE stay where the lowering converts (the graph's
 *   ends, float islands), so the file takes and gives float32;
 * - float steps (islands the config leaves in float) are written as float32 operators
 *   with the weights the engine uses (fake-quantized when the spec says so).
 *
 * The flatbuffer itself is built in qs-tflite-builder.cc (flatbuffers' C++ API over the
 * schema in tflite-schema.fbs). */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-export-private.h"
#include "qs-lowering.h"
#include "qs-quant.h"
#include "qs-tflite-builder.h"

typedef struct
{
  const QsExportContext *ctx;
  QsLowering            *lw;
  QsConfig              *config;
  QsTflModel             m;
  gint                  *tensor_of;     /* per lowered value: the TFLite tensor, or -1 */
  QsLoweredParams       *params;        /* per lowered value (integer values) */
  gboolean              *has_params;
  guint                  n_int_ops, n_float_ops;
  gsize                  weight_bytes;
} Writer;

static void
writer_clear (Writer *w)
{
  for (guint i = 0; w->m.tensors != NULL && i < w->m.tensors->len; i++)
    {
      QsTflTensor *t = &g_array_index (w->m.tensors, QsTflTensor, i);

      g_free (t->name);
      g_free (t->scale);
      g_free (t->zero_point);
    }
  g_clear_pointer (&w->m.tensors, g_array_unref);
  g_clear_pointer (&w->m.ops, g_array_unref);
  g_clear_pointer (&w->m.buffers, g_ptr_array_unref);
  g_clear_pointer (&w->tensor_of, g_free);
  g_clear_pointer (&w->params, g_free);
  g_clear_pointer (&w->has_params, g_free);
}

static const char *
step_layer_name (Writer              *w,
                 const QsLoweredStep *s)
{
  QsModel *model = qs_lowering_get_model (w->lw);

  if (s->layer >= 0 && (guint) s->layer < qs_model_get_n_layers (model))
    return qs_model_get_layer (model, s->layer)->name;
  return "?";
}

/* The quantization parameters of every integer value, exactly as the engine assigns them:
 * a range the config fixes wins over the range table; shared parameters follow
 * params_from (pooling, padding, clamps, aliases). */
static gboolean
assign_params (Writer  *w,
               GError **error)
{
  guint nv = qs_lowering_get_n_values (w->lw);

  w->params = g_new0 (QsLoweredParams, nv);
  w->has_params = g_new0 (gboolean, nv);
  for (guint i = 0; i < nv; i++)
    {
      const QsLoweredValue *v = qs_lowering_get_value (w->lw, i);
      float lo, hi;

      if (!v->is_int)
        continue;
      if (v->params_from >= 0)
        {
          g_assert ((guint) v->params_from < i && w->has_params[v->params_from]);
          w->params[i] = w->params[v->params_from];
          w->has_params[i] = TRUE;
          continue;
        }
      if (w->config != NULL && qs_config_get_activation_range (w->config, v->range_name, &lo, &hi))
        ;
      else if (w->ctx->ranges == NULL || !qs_range_table_lookup (w->ctx->ranges, v->range_name, &lo, &hi))
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("The calibration has no activation named “%s” (calibrate first)"),
                       v->range_name);
          return FALSE;
        }
      if (!qs_lowered_params_from_range (&v->spec, lo, hi, &w->params[i], error))
        return FALSE;
      if (w->params[i].qmin != 0 || w->params[i].qmax != 255)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("%s: TensorFlow Lite int8 tensors use all 256 codes; this activation "
                         "uses codes %d to %d (use 8-bit activations without narrow range)"),
                       v->range_name, w->params[i].qmin - 128, w->params[i].qmax - 128);
          return FALSE;
        }
      w->has_params[i] = TRUE;
    }
  return TRUE;
}

static guint
add_buffer (Writer *w,
            GBytes *bytes)
{
  w->weight_bytes += g_bytes_get_size (bytes);
  g_ptr_array_add (w->m.buffers, bytes);
  return w->m.buffers->len - 1;
}

static gint
add_tensor (Writer      *w,
            const char  *name,
            gint8        type,
            guint        rank,
            const gint32 *shape,
            guint        buffer)
{
  QsTflTensor t = { 0 };

  t.name = g_strdup (name);
  t.type = type;
  t.rank = rank;
  memcpy (t.shape, shape, rank * sizeof (gint32));
  t.buffer = buffer;
  g_array_append_val (w->m.tensors, t);
  return (gint) w->m.tensors->len - 1;
}

static QsTflTensor *
tensor (Writer *w,
        gint    index)
{
  return &g_array_index (w->m.tensors, QsTflTensor, index);
}

static void
set_quant (Writer       *w,
           gint          index,
           guint         n,
           const float  *scale,
           const gint64 *zero_point,
           gint32        dim)
{
  QsTflTensor *t = tensor (w, index);

  t->n_quant = n;
  t->scale = g_memdup2 (scale, n * sizeof (float));
  t->zero_point = g_memdup2 (zero_point, n * sizeof (gint64));
  t->quantized_dimension = dim;
}

/* The TFLite tensor of a lowered value, created with the given shape on first use. */
static gint
value_tensor (Writer       *w,
              gint          value,
              guint         rank,
              const gint32 *shape)
{
  const QsLoweredValue *v = qs_lowering_get_value (w->lw, value);
  g_autofree char *name = NULL;
  gint t;

  if (w->tensor_of[value] >= 0)
    return w->tensor_of[value];
  name = v->name != NULL ? g_strdup (v->name) : g_strdup_printf ("value%d", value);
  t = add_tensor (w, name, v->is_int ? QS_TFL_INT8 : QS_TFL_FLOAT32, rank, shape, 0);
  if (v->is_int)
    {
      float scale = w->params[value].scale;
      gint64 zp = w->params[value].zero_point - 128;

      set_quant (w, t, 1, &scale, &zp, 0);
    }
  w->tensor_of[value] = t;
  return t;
}

/* A value shaped [1, h, w, c] (images) or [1, c] (1-D values: h = w = 1). */
static gint
value_tensor_nhwc (Writer *w,
                   gint    value)
{
  const QsLoweredValue *v = qs_lowering_get_value (w->lw, value);
  gint32 shape4[4] = { 1, (gint32) v->h, (gint32) v->w, (gint32) v->c };
  gint32 shape2[2] = { 1, (gint32) v->c };

  if (v->h == 1 && v->w == 1)
    return value_tensor (w, value, 2, shape2);
  return value_tensor (w, value, 4, shape4);
}

/* A value shaped like the tensor of another (element-wise steps keep their input's shape). */
static gint
value_tensor_like (Writer *w,
                   gint    value,
                   gint    like)
{
  const QsTflTensor *t = tensor (w, like);
  gint32 shape[4];
  guint rank = t->rank;

  memcpy (shape, t->shape, sizeof shape);
  shape[rank - 1] = (gint32) qs_lowering_get_value (w->lw, value)->c;
  return value_tensor (w, value, rank, shape);
}

static QsTflOp *
add_op (Writer *w,
        gint32  builtin,
        gint32  version,
        gint32  output)
{
  QsTflOp op = { 0 };

  op.builtin = builtin;
  op.version = version;
  op.output = output;
  op.padding = QS_TFL_PADDING_VALID;
  op.stride_w = op.stride_h = op.dilation_w = op.dilation_h = 1;
  op.fused_activation = QS_TFL_ACT_NONE;
  g_array_append_val (w->m.ops, op);
  return &g_array_index (w->m.ops, QsTflOp, w->m.ops->len - 1);
}

static void
op_input (QsTflOp *op,
          gint     tensor_index)
{
  g_assert (op->n_inputs < G_N_ELEMENTS (op->inputs));
  op->inputs[op->n_inputs++] = tensor_index;
}

/* The fused activation of a step, or FALSE when TFLite has none for it. */
static gboolean
fused_activation (Writer              *w,
                  const QsLoweredStep *s,
                  gint8               *out,
                  GError             **error)
{
  switch (s->act)
    {
    case QS_ACTIVATION_LINEAR:
      *out = QS_TFL_ACT_NONE;
      return TRUE;
    case QS_ACTIVATION_RELU6:
      *out = QS_TFL_ACT_RELU6;
      return TRUE;
    case QS_ACTIVATION_RELU:
      if (s->slope == 0.0f && s->thr == 0.0f && s->relu_max < 0.0f)
        {
          *out = QS_TFL_ACT_RELU;
          return TRUE;
        }
      if (s->slope == 0.0f && s->thr == 0.0f && s->relu_max == 6.0f)
        {
          *out = QS_TFL_ACT_RELU6;
          return TRUE;
        }
      break;
    default:
      break;
    }
  g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
               _("%s: TensorFlow Lite has no fused activation for this one "
                 "(ReLU and ReLU6 only)"), step_layer_name (w, s));
  return FALSE;
}

/* SAME or VALID padding for a window step, or FALSE when its explicit padding is
 * neither (TFLite knows only these two). */
static gboolean
window_padding (Writer              *w,
                const QsLoweredStep *s,
                gint8               *out,
                GError             **error)
{
  gsize ekh = (s->kh - 1) * MAX (s->dh, 1) + 1, ekw = (s->kw - 1) * MAX (s->dw, 1) + 1;
  gsize sh = MAX (s->sh, 1), sw = MAX (s->sw, 1);

  if (s->pad_t == 0 && s->pad_l == 0 && s->ih >= ekh && s->iw >= ekw
      && s->oh == (s->ih - ekh) / sh + 1 && s->ow == (s->iw - ekw) / sw + 1)
    {
      *out = QS_TFL_PADDING_VALID;
      return TRUE;
    }
  if (s->oh == (s->ih + sh - 1) / sh && s->ow == (s->iw + sw - 1) / sw)
    {
      gssize th = (gssize) ((s->oh - 1) * sh + ekh) - (gssize) s->ih;
      gssize tw = (gssize) ((s->ow - 1) * sw + ekw) - (gssize) s->iw;

      if ((gssize) s->pad_t == MAX (th, 0) / 2 && (gssize) s->pad_l == MAX (tw, 0) / 2)
        {
          *out = QS_TFL_PADDING_SAME;
          return TRUE;
        }
    }
  g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
               _("%s: its padding is neither SAME nor VALID, which TensorFlow Lite cannot express"),
               step_layer_name (w, s));
  return FALSE;
}

static gint
const_tensor (Writer       *w,
              const char   *name,
              gint8         type,
              guint         rank,
              const gint32 *shape,
              const void   *data,
              gsize         bytes)
{
  return add_tensor (w, name, type, rank, shape, add_buffer (w, g_bytes_new (data, bytes)));
}

/* CONV / DEPTHWISE: weights, bias and the operator. */
static gboolean
write_weight_step (Writer              *w,
                   guint                index,
                   const QsLoweredStep *s,
                   GError             **error)
{
  g_autoptr(QsQuantResult) r = NULL;
  g_autoptr(GError) local = NULL;
  gboolean depthwise = s->kind == QS_LOWERED_DEPTHWISE;
  gboolean dense = !depthwise && s->kernel->n_dims == 2;
  const char *lname = step_layer_name (w, s);
  gsize n = s->n_out, k = s->k;
  gint in_t = w->tensor_of[s->inputs[0]], out_t, w_t, b_t;
  g_autofree char *wname = NULL, *bname = NULL;
  gint32 wshape[4];
  guint wrank;
  gint32 builtin, version;
  QsTflOp *op;
  gint8 padding = QS_TFL_PADDING_VALID, act;

  if (!fused_activation (w, s, &act, error))
    return FALSE;
  if (!dense && !window_padding (w, s, &padding, error))
    return FALSE;
  r = qs_lowering_get_step_weights (w->lw, index, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  if (dense)
    {
      gint32 shape[2] = { (gint32) (qs_lowering_get_value (w->lw, s->output)->h
                                    * qs_lowering_get_value (w->lw, s->output)->w),
                          (gint32) n };

      out_t = value_tensor (w, s->output, 2, shape);
      wshape[0] = n; wshape[1] = k; wrank = 2;
      builtin = QS_TFL_OP_FULLY_CONNECTED;
      version = s->is_int ? 4 : 1;
    }
  else
    {
      gint32 shape[4] = { 1, (gint32) s->oh, (gint32) s->ow, (gint32) s->oc };

      out_t = value_tensor (w, s->output, 4, shape);
      wrank = 4;
      if (depthwise)
        {
          wshape[0] = 1; wshape[1] = s->kh; wshape[2] = s->kw; wshape[3] = n;
          builtin = QS_TFL_OP_DEPTHWISE_CONV_2D;
          version = s->is_int ? 3 : 1;
        }
      else
        {
          wshape[0] = n; wshape[1] = s->kh; wshape[2] = s->kw; wshape[3] = k / (s->kh * s->kw);
          builtin = QS_TFL_OP_CONV_2D;
          version = s->is_int ? 3 : 1;
        }
    }
  wname = g_strdup_printf ("%s/kernel", lname);
  bname = g_strdup_printf ("%s/bias", lname);

  if (s->is_int)
    {
      g_autofree gint8 *codes = g_new (gint8, n * k);
      g_autofree gint32 *bias = g_new (gint32, n);
      g_autofree float *scales = g_new (float, n), *bscales = g_new (float, n);
      g_autofree gint64 *zeros = g_new0 (gint64, n);
      const QsLoweredParams *pin = &w->params[s->inputs[0]], *pout = &w->params[s->output];

      for (gsize o = 0; o < n; o++)
        {
          gsize idx = qs_quant_params_index (r->params, o);
          float sc = r->params->scale[idx];
          double bq;

          if (r->params->zero_point[idx] != 0)
            {
              g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                           _("%s: TensorFlow Lite int8 weights are symmetric (zero-point 0)"),
                           lname);
              return FALSE;
            }
          /* the engine's stand-in for a channel of zeros (scale 0) */
          if (!(sc > 0.0f && isfinite (sc)))
            sc = pout->scale / pin->scale;
          scales[o] = sc;
          bscales[o] = pin->scale * sc;
          bq = nearbyint ((s->bias ? s->bias[o] : 0.0) / ((double) pin->scale * sc));
          bias[o] = (gint32) CLAMP (bq, (double) G_MININT32, (double) G_MAXINT32);
        }
      /* Keras order [K][n], output channel fastest: TFLite wants [n][K] (FULLY_CONNECTED,
       * CONV_2D: O then kh, kw, in) or [K][n] as it is (DEPTHWISE_CONV_2D) */
      for (gsize kk = 0; kk < k; kk++)
        for (gsize o = 0; o < n; o++)
          {
            gint32 c = CLAMP (r->codes[kk * n + o], -128, 127);

            codes[depthwise ? kk * n + o : o * k + kk] = (gint8) c;
          }
      w_t = const_tensor (w, wname, QS_TFL_INT8, wrank, wshape, codes, n * k);
      set_quant (w, w_t, n, scales, zeros, depthwise ? 3 : 0);
      {
        gint32 bshape[1] = { (gint32) n };

        b_t = const_tensor (w, bname, QS_TFL_INT32, 1, bshape, bias, n * sizeof (gint32));
        set_quant (w, b_t, n, bscales, zeros, 0);
      }
      w->n_int_ops++;
    }
  else
    {
      g_autoptr(QsTensor) kernel = r == NULL ? qs_lowering_get_step_kernel (w->lw, index) : NULL;
      const float *kv = r != NULL ? r->dequant->data : kernel->data;
      g_autofree float *wf = g_new (float, n * k);
      g_autofree float *bias = g_new0 (float, n);
      gint32 bshape[1] = { (gint32) n };

      for (gsize kk = 0; kk < k; kk++)
        for (gsize o = 0; o < n; o++)
          wf[depthwise ? kk * n + o : o * k + kk] = kv[kk * n + o];
      if (s->bias != NULL)
        memcpy (bias, s->bias, n * sizeof (float));
      w_t = const_tensor (w, wname, QS_TFL_FLOAT32, wrank, wshape, wf, n * k * sizeof (float));
      b_t = const_tensor (w, bname, QS_TFL_FLOAT32, 1, bshape, bias, n * sizeof (float));
      w->n_float_ops++;
    }

  op = add_op (w, builtin, version, out_t);
  op_input (op, in_t);
  op_input (op, w_t);
  op_input (op, b_t);
  op->fused_activation = act;
  op->padding = padding;
  if (!dense)
    {
      op->stride_w = s->sw; op->stride_h = s->sh;
      op->dilation_w = MAX (s->dw, 1); op->dilation_h = MAX (s->dh, 1);
      op->depth_multiplier = MAX (s->mult, 1);
    }
  return TRUE;
}

/* One lowered step as TFLite operators. */
static gboolean
write_step (Writer  *w,
            guint    index,
            GError **error)
{
  const QsLoweredStep *s = qs_lowering_get_step (w->lw, index);
  const char *lname = step_layer_name (w, s);
  gint in_t = s->n_inputs > 0 ? w->tensor_of[s->inputs[0]] : -1;
  gint out_t;
  QsTflOp *op;
  gint8 act;

  g_assert (s->n_inputs == 0 || in_t >= 0);
  switch (s->kind)
    {
    case QS_LOWERED_QUANTIZE:
    case QS_LOWERED_DEQUANTIZE:
      out_t = value_tensor_like (w, s->output, in_t);
      op = add_op (w, s->kind == QS_LOWERED_QUANTIZE ? QS_TFL_OP_QUANTIZE : QS_TFL_OP_DEQUANTIZE,
                   2, out_t);
      op_input (op, in_t);
      return TRUE;

    case QS_LOWERED_CONV:
    case QS_LOWERED_DEPTHWISE:
      return write_weight_step (w, index, s, error);

    case QS_LOWERED_POOL:
      {
        gint32 shape[4] = { 1, (gint32) s->oh, (gint32) s->ow, (gint32) s->oc };

        if (!fused_activation (w, s, &act, error))
          return FALSE;
        out_t = value_tensor (w, s->output, 4, shape);
        op = add_op (w, s->is_max ? QS_TFL_OP_MAX_POOL_2D : QS_TFL_OP_AVERAGE_POOL_2D,
                     s->is_int ? 2 : 1, out_t);
        op_input (op, in_t);
        if (!window_padding (w, s, &op->padding, error))
          return FALSE;
        op->stride_w = s->sw; op->stride_h = s->sh;
        op->filter_w = s->kw; op->filter_h = s->kh;
        op->fused_activation = act;
        s->is_int ? w->n_int_ops++ : w->n_float_ops++;
        return TRUE;
      }

    case QS_LOWERED_ACTIVATION:
      {
        gint32 builtin;

        switch (s->act)
          {
          case QS_ACTIVATION_LINEAR:
            w->tensor_of[s->output] = in_t;
            return TRUE;
          case QS_ACTIVATION_SOFTMAX:
            builtin = QS_TFL_OP_SOFTMAX;
            break;
          case QS_ACTIVATION_SIGMOID:
            builtin = QS_TFL_OP_LOGISTIC;
            break;
          case QS_ACTIVATION_TANH:
            builtin = QS_TFL_OP_TANH;
            break;
          default:
            if (!fused_activation (w, s, &act, error))
              return FALSE;
            builtin = act == QS_TFL_ACT_RELU ? QS_TFL_OP_RELU : QS_TFL_OP_RELU6;
            break;
          }
        if (s->is_int && builtin != QS_TFL_OP_RELU && builtin != QS_TFL_OP_RELU6)
          {
            g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                         _("%s: an integer activation other than ReLU / ReLU6"), lname);
            return FALSE;
          }
        out_t = value_tensor_like (w, s->output, in_t);
        op = add_op (w, builtin, s->is_int ? 2 : 1, out_t);
        op_input (op, in_t);
        op->beta = 1.0f;
        s->is_int ? w->n_int_ops++ : w->n_float_ops++;
        return TRUE;
      }

    case QS_LOWERED_ADD:
    case QS_LOWERED_CONCAT:
      if (!fused_activation (w, s, &act, error))
        return FALSE;
      if (s->kind == QS_LOWERED_ADD && s->n_inputs != 2)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("%s: TensorFlow Lite adds two tensors at a time"), lname);
          return FALSE;
        }
      out_t = value_tensor_like (w, s->output, in_t);
      op = add_op (w, s->kind == QS_LOWERED_ADD ? QS_TFL_OP_ADD : QS_TFL_OP_CONCATENATION,
                   s->is_int ? 2 : 1, out_t);
      for (guint i = 0; i < s->n_inputs; i++)
        op_input (op, w->tensor_of[s->inputs[i]]);
      op->axis = (gint32) tensor (w, out_t)->rank - 1;
      op->fused_activation = act;
      s->is_int ? w->n_int_ops++ : w->n_float_ops++;
      return TRUE;

    case QS_LOWERED_PAD:
      {
        gint32 paddings[8] = { 0, 0, (gint32) s->pad[0], (gint32) s->pad[1],
                               (gint32) s->pad[2], (gint32) s->pad[3], 0, 0 };
        gint32 pshape[2] = { 4, 2 };
        g_autofree char *pname = g_strdup_printf ("%s/paddings", lname);
        gint p_t;

        if (tensor (w, in_t)->rank != 4)
          {
            g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                         _("%s: padding a tensor that is not an image"), lname);
            return FALSE;
          }
        out_t = value_tensor_nhwc (w, s->output);
        p_t = const_tensor (w, pname, QS_TFL_INT32, 2, pshape, paddings, sizeof paddings);
        op = add_op (w, QS_TFL_OP_PAD, s->is_int ? 2 : 1, out_t);
        op_input (op, in_t);
        op_input (op, p_t);
        return TRUE;
      }

    case QS_LOWERED_ALIAS:
      {
        const QsTflTensor *ti = tensor (w, in_t);
        const QsLoweredValue *v = qs_lowering_get_value (w->lw, s->output);
        gint32 shape4[4] = { 1, (gint32) v->h, (gint32) v->w, (gint32) v->c };
        gint32 shape2[2] = { 1, (gint32) v->c };
        gboolean flat = v->h == 1 && v->w == 1;
        const gint32 *shape = flat ? shape2 : shape4;
        guint rank = flat ? 2 : 4;
        g_autofree char *sname = g_strdup_printf ("%s/shape", lname);
        gint32 sshape[1] = { (gint32) rank };
        gint s_t;

        if (ti->rank == rank && memcmp (ti->shape, shape, rank * sizeof (gint32)) == 0)
          {
            w->tensor_of[s->output] = in_t;   /* Dropout, or already this shape */
            return TRUE;
          }
        /* an alias shares its input's storage and parameters: a new tensor of the same
         * quantization, named after the layer */
        out_t = value_tensor (w, s->output, rank, shape);
        g_free (tensor (w, out_t)->name);
        tensor (w, out_t)->name = g_strdup (lname);
        s_t = const_tensor (w, sname, QS_TFL_INT32, 1, sshape, shape, rank * sizeof (gint32));
        op = add_op (w, QS_TFL_OP_RESHAPE, 1, out_t);
        op_input (op, in_t);
        op_input (op, s_t);
        return TRUE;
      }

    case QS_LOWERED_BATCH_NORM:
    case QS_LOWERED_RESCALE:
      {
        g_autofree float *mul = g_new (float, s->oc), *add = g_new (float, s->oc);
        g_autofree char *mname = g_strdup_printf ("%s/scale", lname);
        g_autofree char *aname = g_strdup_printf ("%s/offset", lname);
        g_autofree char *tname = g_strdup_printf ("%s/scaled", lname);
        gint32 cshape[1] = { (gint32) s->oc };
        gint m_t, a_t, mid_t;

        if (s->oc == 0)
          {
            g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                         _("%s: a float step without channels"), lname);
            return FALSE;
          }
        for (gsize c = 0; c < s->oc; c++)
          {
            mul[c] = s->kind == QS_LOWERED_RESCALE ? s->rs_scale : s->bn_scale[c];
            add[c] = s->kind == QS_LOWERED_RESCALE ? s->rs_offset : s->bn_shift[c];
          }
        out_t = value_tensor_like (w, s->output, in_t);
        m_t = const_tensor (w, mname, QS_TFL_FLOAT32, 1, cshape, mul, s->oc * sizeof (float));
        a_t = const_tensor (w, aname, QS_TFL_FLOAT32, 1, cshape, add, s->oc * sizeof (float));
        mid_t = add_tensor (w, tname, QS_TFL_FLOAT32, tensor (w, out_t)->rank,
                            tensor (w, out_t)->shape, 0);
        op = add_op (w, QS_TFL_OP_MUL, 1, mid_t);
        op_input (op, in_t);
        op_input (op, m_t);
        op = add_op (w, QS_TFL_OP_ADD, 1, out_t);
        op_input (op, mid_t);
        op_input (op, a_t);
        w->n_float_ops += 2;
        return TRUE;
      }

    case QS_LOWERED_RESIZE:   /* Resizing / CenterCrop: not exported yet */
      break;
    }
  g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
               _("%s: no TensorFlow Lite operator for this step"), lname);
  return FALSE;
}

GBytes *
qs_export_tflite_build (const QsExportContext *ctx,
                        const char            *output_value,
                        GString               *summary,
                        GError               **error)
{
  Writer w = { 0 };
  gint output = qs_lowering_get_output (ctx->lowering);
  gint last_step;
  guint nv = qs_lowering_get_n_values (ctx->lowering);
  GBytes *bytes = NULL;

  w.ctx = ctx;
  w.lw = ctx->lowering;
  w.config = qs_lowering_get_config (w.lw);
  w.m.tensors = g_array_new (FALSE, TRUE, sizeof (QsTflTensor));
  w.m.ops = g_array_new (FALSE, TRUE, sizeof (QsTflOp));
  w.m.buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (w.m.buffers, g_bytes_new (NULL, 0));   /* the empty sentinel */
  w.tensor_of = g_new (gint, nv);
  for (guint i = 0; i < nv; i++)
    w.tensor_of[i] = -1;

  if (output_value != NULL)
    {
      output = qs_lowering_find_value (w.lw, output_value);
      if (output < 0)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("The program has no value named “%s”"), output_value);
          goto out;
        }
    }
  if (output < 0 || qs_lowering_get_input (w.lw) < 0)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("%s: the model cannot run (no program to export)"),
                   qs_model_get_name (ctx->model));
      goto out;
    }
  if (!assign_params (&w, error))
    goto out;

  w.m.input = value_tensor_nhwc (&w, qs_lowering_get_input (w.lw));
  last_step = qs_lowering_get_value (w.lw, output)->producer;
  for (gint i = 0; i <= last_step; i++)
    if (!write_step (&w, i, error))
      goto out;
  w.m.output = w.tensor_of[output];
  g_assert (w.m.output >= 0);
  if (qs_lowering_get_value (w.lw, output)->is_int)
    {
      /* the JS wrappers know float32 ends only */
      const QsTflTensor *t = tensor (&w, w.m.output);
      gint32 shape[4];
      guint rank = t->rank;
      gint f;
      QsTflOp *op;

      memcpy (shape, t->shape, sizeof shape);
      f = add_tensor (&w, output_value != NULL ? output_value : "output", QS_TFL_FLOAT32,
                      rank, shape, 0);
      op = add_op (&w, QS_TFL_OP_DEQUANTIZE, 2, f);
      op_input (op, w.m.output);
      w.m.output = f;
    }

  w.m.description = "Quantscope " PACKAGE_VERSION;
  bytes = qs_tflite_build (&w.m);
  if (bytes == NULL)
    g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_WRITE,
                 _("%s: the TensorFlow Lite flatbuffer failed verification"),
                 qs_model_get_name (ctx->model));
  if (bytes != NULL && summary != NULL)
    {
      g_string_append_printf (summary,
                              _("TensorFlow Lite flatbuffer: %zu bytes, %u tensors, %u operators "
                                "(%u integer, %u float), %zu bytes of constants\n"),
                              g_bytes_get_size (bytes), w.m.tensors->len, w.m.ops->len,
                              w.n_int_ops, w.n_float_ops, w.weight_bytes);
      g_string_append (summary,
                       _("int8 activations (per tensor), int8 weights per channel, int32 biases; "
                         "float32 input and output (QUANTIZE / DEQUANTIZE at the ends)\n"));
      if (w.config != NULL && qs_config_get_requant_mode (w.config) != QS_REQUANT_FP32_RNE)
        g_string_append_printf (summary,
                                _("This configuration requantizes with %s; LiteRT (XNNPACK) "
                                  "computes fp32-rne: set the requantization mode to fp32-rne "
                                  "to predict its outputs (otherwise a code may differ by one)\n"),
                                qs_requant_mode_to_string (qs_config_get_requant_mode (w.config)));
      else
        g_string_append (summary,
                         _("Requantization: fp32-rne, as LiteRT's XNNPACK kernels compute it\n"));
    }

out:
  writer_clear (&w);
  return bytes;
}

gboolean
qs_export_tflite (const QsExportContext *ctx,
                  const char            *path,
                  GString               *summary,
                  GError               **error)
{
  g_autoptr(GBytes) bytes = qs_export_tflite_build (ctx, NULL, summary, error);
  gsize size;
  const void *data;

  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &size);
  if (!qs_export_write_file (path, data, size, error))
    return FALSE;
  g_string_append_printf (summary, _("Wrote %s\n"), path);
  return TRUE;
}
