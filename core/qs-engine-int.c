/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <glib/gi18n-lib.h>

#include "qs-engine-int.h"
#include "qs-engine-int-private.h"
#include "qs-lowering.h"
#include "qs-fixedpoint.h"
#include "qs-kernels-int.h"
#include "qs-parallel.h"
#include "qs-quant.h"
#include "qs-tensor.h"

#define MAX_OP_INPUTS QS_LOWERED_MAX_INPUTS

G_DEFINE_QUARK (qs-engine-int-error-quark, qs_engine_int_error)
/* Rows of the im2col matrix built and multiplied at a time (stays in L1). */
#define IM2COL_BLOCK 64
/* Images per work item of qs_engine_int_run (): at most this many, and about this many
 * multiply-accumulates per item (a millisecond or so: small images go 16 to an item to
 * amortise claiming it, ImageNet-sized ones one at a time so that a batch of 15 keeps both
 * cores busy instead of being one item on one thread) */
#define RUN_CHUNK 16
#define RUN_CHUNK_MACS 5e7

typedef struct
{
  char    *key;        /* value name (layer output); NULL for conversions */
  gsize    h, w, c, size;
  gboolean is_int;
  float    scale;      /* integer tensors: container domain (uint8 codes) */
  gint32   zp, qmin, qmax;
  gint     storage;
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
  OP_F_RESIZE,
  OP_I_CONV,
  OP_I_DW,
  OP_I_POOL,
  OP_I_CLAMP,
  OP_I_ADD,
  OP_I_CONCAT,
  OP_I_PAD,
} OpKind;

typedef struct _Op
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

  /* float weights: conv [kh][kw][cin][cout], depthwise [kh][kw][c * mult]; read in place
   * from the lowering (which the engine keeps) or from the result / tensor held here */
  const float  *fw;
  const float  *fb;
  const float  *bn_scale;
  const float  *bn_shift;
  QsQuantResult *fw_result;
  QsTensor     *fw_kernel;

  QsActivation  act;
  float         relu_max, slope, thr, alpha;

  /* quantize: the spec's rounding */
  QsRounding    rounding;

  /* integer: the weights and per-channel requantization, owned by wts (shared with other
   * programs of the same model that compiled the same: qs_engine_int_new_reusing) */
  struct _IntWeights *wts;
  QsPackedWeights packed;        /* wts's, copied: read on the hot path */
  const gint8  *dw_codes;
  QsRequant     rq;              /* bias, multipliers, shifts and fp32-rne scales: wts's */
  QsAddParams   addp;
  gint32        cat_m[MAX_OP_INPUTS];
  gint32        cat_s[MAX_OP_INPUTS];
  gsize         pad[4];
  float         rs_scale, rs_offset;
  QsResizeParams resize;

  double        macs;            /* multiply-accumulates per image (qs_engine_int_profile) */

  /* a standalone clamp fused into this op (fuse_clamps): the op writes the clamp's output
   * with the narrower range; fused_mid is the tensor it wrote before, [mid_min, mid_max]
   * its range then (qs_engine_int_run_tapped runs the two steps apart to tap both) */
  gboolean      fused_clamp;
  gint          fused_mid;
  gint32        mid_min, mid_max;
  gint32        clamp_min, clamp_max;   /* the fused clamp's own range */

  /* a zero-padding op folded into this depthwise op's padding (fuse_clamps; owned): the
   * tapped run still runs it to tap its value */
  struct _Op   *fused_pad;

  /* the depthwise filter packed for e->kernels (NULL: the kernel packs per call) */
  QsDepthwisePacked *dw_packed;
} Op;

typedef struct
{
  gsize offset;
  gsize bytes;
} Storage;

/* An integer conv / depthwise op's compiled weights: what int_weights_new () makes of the
 * lowering's codes (source) for one input and output quantization and mode. Immutable. */
typedef struct _IntWeights
{
  gint            ref_count;
  QsQuantResult  *source;
  QsRequantMode   mode;
  float           in_scale, out_scale;
  gint32          in_zp;
  gboolean        implicit;
  gsize           kh;
  float          *bias_real;     /* n: the lowering's (folded) float bias */
  gsize           n;
  QsPackedWeights packed;
  gint8          *dw_codes;
  gint32         *bias;
  gint32         *mult_q;
  gint32         *shift_q;
  float          *scale_f;
} IntWeights;

static IntWeights *
int_weights_ref (IntWeights *iw)
{
  g_atomic_int_inc (&iw->ref_count);
  return iw;
}

static void
int_weights_unref (IntWeights *iw)
{
  if (iw == NULL || !g_atomic_int_dec_and_test (&iw->ref_count))
    return;
  qs_quant_result_unref (iw->source);
  qs_packed_weights_clear (&iw->packed);
  g_free (iw->bias_real);
  g_free (iw->dw_codes);
  g_free (iw->bias);
  g_free (iw->mult_q);
  g_free (iw->shift_q);
  g_free (iw->scale_f);
  g_free (iw);
}

/* An integer conv / depthwise op waiting for its weights (compile_weights). */
typedef struct
{
  Op            *op;
  guint          step;
  QsQuantResult *r;
} PendingWeights;

struct _QsEngineInt
{
  gint                ref_count;
  QsLowering         *lowering;
  QsModel            *model;
  const QsIntKernels *kernels;
  QsRequantMode       mode;      /* the config's requantization mode */
  GArray             *tensors;   /* PTensor, one per lowered value */
  GArray             *storage;   /* Storage */
  GPtrArray          *ops;       /* Op * */
  gint                input;     /* float input tensor */
  gint                output;    /* float output tensor */
  gsize               arena_bytes;
  gsize               values_bytes;   /* every value in a place of its own (before planning) */
  gsize               im2col_bytes;
  gsize               acc_count;
  /* workspaces of finished runs, reused by later ones (runs allocate nothing else) */
  GMutex              lock;
  GPtrArray          *spare;
  guint               n_workspaces;   /* ever allocated (_qs_engine_int_get_memory) */
  /* while compiling: the integer ops waiting for their weights, and those of the program
   * compiled before (reused when they match) */
  GArray             *pending;
  GHashTable         *reusable;       /* QsQuantResult * -> IntWeights * */
  guint               n_reused;
  gsize               run_chunk;      /* images per work item of a run */
};

#define T(e, i) (&g_array_index ((e)->tensors, PTensor, (i)))

static void workspace_free (gpointer data);

static void
op_free (gpointer data)
{
  Op *op = data;

  g_clear_pointer (&op->fw_result, qs_quant_result_unref);
  g_clear_pointer (&op->fw_kernel, qs_tensor_unref);
  g_clear_pointer (&op->wts, int_weights_unref);
  qs_depthwise_packed_free (op->dw_packed);
  if (op->fused_pad != NULL)
    op_free (op->fused_pad);
  g_free (op);
}

QsEngineInt *
qs_engine_int_ref (QsEngineInt *e)
{
  g_return_val_if_fail (e != NULL, NULL);
  g_atomic_int_inc (&e->ref_count);
  return e;
}

void
qs_engine_int_free (QsEngineInt *e)
{
  if (e == NULL || !g_atomic_int_dec_and_test (&e->ref_count))
    return;
  for (guint i = 0; i < e->tensors->len; i++)
    g_free (T (e, i)->key);
  g_array_unref (e->tensors);
  g_array_unref (e->storage);
  g_ptr_array_unref (e->ops);
  g_ptr_array_unref (e->spare);
  g_mutex_clear (&e->lock);
  if (e->pending != NULL)
    {
      /* a compilation that failed before compile_weights () */
      for (guint i = 0; i < e->pending->len; i++)
        qs_quant_result_unref (g_array_index (e->pending, PendingWeights, i).r);
      g_array_unref (e->pending);
    }
  g_clear_pointer (&e->lowering, qs_lowering_unref);
  g_clear_object (&e->model);
  g_free (e);
}

/* --- compilation: one op per lowered step, one tensor per lowered value --- */

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

/* The parameters of every integer value: its own range (the table's, or the config's fixed
 * one) or those of the value it shares them with. */
static gboolean
assign_params (QsEngineInt   *e,
               QsRangeTable  *ranges,
               GError       **error)
{
  QsLowering *lw = e->lowering;
  QsConfig *config = qs_lowering_get_config (lw);

  for (guint i = 0; i < qs_lowering_get_n_values (lw); i++)
    {
      const QsLoweredValue *v = qs_lowering_get_value (lw, i);
      PTensor *t = T (e, i);
      QsLoweredParams p;
      float lo, hi;

      if (!v->is_int)
        continue;
      if (v->params_from >= 0)
        {
          const PTensor *from = T (e, v->params_from);

          t->scale = from->scale;
          t->zp = from->zp;
          t->qmin = from->qmin;
          t->qmax = from->qmax;
          continue;
        }
      /* a range the config fixes (quantization-aware training's) wins over calibration */
      if (config != NULL && qs_config_get_activation_range (config, v->range_name, &lo, &hi))
        ;
      else if (ranges == NULL)
        {
          g_set_error (error, QS_ENGINE_INT_ERROR, QS_ENGINE_INT_ERROR_NO_RANGE,
                       _("The configuration quantizes activations but no calibration was given"));
          return FALSE;
        }
      else if (!qs_range_table_lookup (ranges, v->range_name, &lo, &hi))
        {
          g_set_error (error, QS_ENGINE_INT_ERROR, QS_ENGINE_INT_ERROR_NO_RANGE,
                       _("The calibration has no activation named “%s”"), v->range_name);
          return FALSE;
        }
      if (!qs_lowered_params_from_range (&v->spec, lo, hi, &p, error))
        return FALSE;
      t->scale = p.scale;
      t->zp = p.zero_point;
      t->qmin = p.qmin;
      t->qmax = p.qmax;
    }
  return TRUE;
}

/* Narrows an integer tensor's clamp range by a fused ReLU / ReLU6 (TFLite's
 * CalculateActivationRangeQuantized). */
static void
act_clamp (const Op      *op,
           const PTensor *t,
           gint32        *lo,
           gint32        *hi)
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

/* An integer GEMM (conv / dense / pointwise) or depthwise op's weights from the lowering's
 * codes: int8 codes, int32 bias at S_in * S_w, per-channel multipliers and shifts. */
static IntWeights *
int_weights_new (QsRequantMode        mode,
                 const QsLoweredStep *s,
                 QsQuantResult       *r,
                 const PTensor       *in,
                 const PTensor       *out,
                 gboolean             implicit)
{
  gboolean depthwise = s->kind == QS_LOWERED_DEPTHWISE;
  gsize n = s->n_out, k = s->k;
  g_autofree gint8 *w = NULL;
  g_autofree float *sw = g_new (float, n);
  g_autofree gint64 *sum_w = g_new0 (gint64, n);
  IntWeights *iw = g_new0 (IntWeights, 1);

  iw->ref_count = 1;
  iw->source = qs_quant_result_ref (r);
  iw->mode = mode;
  iw->in_scale = in->scale;
  iw->in_zp = in->zp;
  iw->out_scale = out->scale;
  iw->implicit = implicit;
  iw->kh = s->kh;
  iw->n = n;
  iw->bias_real = s->bias ? g_memdup2 (s->bias, n * sizeof (float)) : NULL;
  for (gsize o = 0; o < n; o++)
    {
      gsize idx = qs_quant_params_index (r->params, o);

      g_assert (r->params->zero_point[idx] == 0);
      sw[o] = r->params->scale[idx];
    }
  /* Keras kernels are [K][n] with the output channel fastest (depthwise: [kh*kw][c*mult],
   * kept so); GEMM weights are packed straight from the codes, each row's sum on the way
   * (implicit: one segment per kernel row, each padded with zero weights to whole 4-byte
   * groups: the GEMM reads, and multiplies by zero, up to 3 bytes past each input run) */
  if (depthwise)
    {
      w = g_new (gint8, n * k);
      for (gsize i = 0; i < n * k; i++)
        w[i] = (gint8) CLAMP (r->codes[i], -128, 127);
      for (gsize kk = 0; kk < k; kk++)
        for (gsize o = 0; o < n; o++)
          sum_w[o] += w[kk * n + o];
    }
  else
    {
      gsize run = implicit ? k / s->kh : 0;

      qs_packed_weights_init_kn (&iw->packed, r->codes, n, k, run, (run + 3) / 4 * 4, sum_w);
    }

  iw->bias = g_new (gint32, n + 16);
  iw->mult_q = g_new0 (gint32, n + 16);
  iw->shift_q = g_new0 (gint32, n + 16);
  iw->scale_f = g_new0 (float, n + 16);
  for (gsize o = 0; o < n; o++)
    {
      double sc = sw[o] > 0.0f && isfinite (sw[o]) ? sw[o] : out->scale / in->scale;
      double bias_real = s->bias ? s->bias[o] : 0.0;
      double bq = nearbyint (bias_real / ((double) in->scale * sc));
      gint64 b64;
      gint sh;

      bq = CLAMP (bq, (double) G_MININT32, (double) G_MAXINT32);
      /* depthwise kernels subtract the zero-point themselves */
      b64 = (gint64) bq - (depthwise ? 0 : (gint64) in->zp * sum_w[o]);
      iw->bias[o] = (gint32) CLAMP (b64, G_MININT32, G_MAXINT32);
      qs_quantize_multiplier ((double) in->scale * sc / out->scale, &iw->mult_q[o], &sh);
      iw->shift_q[o] = sh;
      /* fp32-rne: the float32 scale XNNPACK / ONNX Runtime compute from the stored float32
       * scales (a channel without a usable weight scale has real multiplier 1, as above) */
      iw->scale_f[o] = sw[o] > 0.0f && isfinite (sw[o])
                       ? qs_requant_scale_f32 (in->scale, sw[o], out->scale) : 1.0f;
      if (!(iw->scale_f[o] > 0.0f) || !isfinite (iw->scale_f[o]))
        iw->scale_f[o] = 0.0f;
    }
  if (depthwise)
    iw->dw_codes = g_steal_pointer (&w);
  return iw;
}

/* iw was compiled for what s now needs: the same codes, mode, input quantization, output
 * scale and bias (the output's zero-point and clamp range are the op's own). */
static gboolean
int_weights_match (const IntWeights    *iw,
                   QsRequantMode        mode,
                   const QsLoweredStep *s,
                   const PTensor       *in,
                   const PTensor       *out,
                   gboolean             implicit)
{
  return iw->mode == mode && iw->in_scale == in->scale && iw->in_zp == in->zp
         && iw->out_scale == out->scale && iw->implicit == implicit && iw->kh == s->kh
         && iw->n == s->n_out && (iw->bias_real == NULL) == (s->bias == NULL)
         && (s->bias == NULL || memcmp (iw->bias_real, s->bias, iw->n * sizeof (float)) == 0);
}

/* Gives op its compiled weights (a new reference to iw) and its requantization. */
static void
op_set_int_weights (Op         *op,
                    IntWeights *iw)
{
  op->wts = int_weights_ref (iw);
  op->packed = iw->packed;
  op->dw_codes = iw->dw_codes;
  op->rq.bias = iw->bias;
  op->rq.multiplier = iw->mult_q;
  op->rq.shift = iw->shift_q;
  op->rq.scale = iw->scale_f;
}

static OpKind
op_kind (const QsLoweredStep *s)
{
  switch (s->kind)
    {
    case QS_LOWERED_QUANTIZE:   return OP_QUANTIZE;
    case QS_LOWERED_DEQUANTIZE: return OP_DEQUANTIZE;
    case QS_LOWERED_CONV:       return s->is_int ? OP_I_CONV : OP_F_CONV;
    case QS_LOWERED_DEPTHWISE:  return s->is_int ? OP_I_DW : OP_F_DW;
    case QS_LOWERED_POOL:       return s->is_int ? OP_I_POOL : OP_F_POOL;
    case QS_LOWERED_BATCH_NORM: return OP_F_BN;
    case QS_LOWERED_ACTIVATION: return s->is_int ? OP_I_CLAMP : OP_F_ACT;
    case QS_LOWERED_ADD:        return s->is_int ? OP_I_ADD : OP_F_ADD;
    case QS_LOWERED_CONCAT:     return s->is_int ? OP_I_CONCAT : OP_F_CONCAT;
    case QS_LOWERED_PAD:        return s->is_int ? OP_I_PAD : OP_F_PAD;
    case QS_LOWERED_RESCALE:    return OP_F_RESCALE;
    case QS_LOWERED_RESIZE:     return OP_F_RESIZE;
    case QS_LOWERED_ALIAS:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
compile_step (QsEngineInt  *e,
              guint         index,
              GError      **error)
{
  const QsLoweredStep *s = qs_lowering_get_step (e->lowering, index);
  Op *op;

  if (s->kind == QS_LOWERED_ALIAS)
    return TRUE;   /* the output tensor shares the input's storage */

  op = add_op (e, op_kind (s), s->layer);
  op->n_in = s->n_inputs;
  memcpy (op->in, s->inputs, s->n_inputs * sizeof (gint));
  op->out = s->output;
  op->kh = s->kh; op->kw = s->kw; op->sh = s->sh; op->sw = s->sw;
  op->dh = s->dh; op->dw = s->dw; op->pad_t = s->pad_t; op->pad_l = s->pad_l;
  op->mult = s->mult;
  op->ih = s->ih; op->iw = s->iw; op->ic = s->ic;
  op->oh = s->oh; op->ow = s->ow; op->oc = s->oc;
  op->is_max = s->is_max;
  memcpy (op->pad, s->pad, sizeof op->pad);
  op->act = s->act; op->relu_max = s->relu_max;
  op->slope = s->slope; op->thr = s->thr; op->alpha = s->alpha;
  op->rounding = s->rounding;
  op->rs_scale = s->rs_scale;
  op->rs_offset = s->rs_offset;
  op->resize = s->resize;

  switch (s->kind)
    {
    case QS_LOWERED_CONV:
    case QS_LOWERED_DEPTHWISE:
      {
        g_autoptr(QsQuantResult) r = NULL;
        g_autoptr(GError) local = NULL;
        gboolean depthwise = s->kind == QS_LOWERED_DEPTHWISE;

        r = qs_lowering_get_step_weights (e->lowering, index, &local);
        if (local != NULL)
          {
            g_propagate_error (error, g_steal_pointer (&local));
            return FALSE;
          }
        if (s->is_int)
          {
            const PTensor *tout = T (e, s->output);
            PendingWeights pw = { op, index, g_steal_pointer (&r) };
            gint32 lo, hi;

            act_clamp (op, tout, &lo, &hi);
            op->direct = !depthwise && s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1
                         && s->pad_t == 0 && s->pad_l == 0;
            op->implicit = !depthwise && !op->direct && s->pad_t == 0 && s->pad_l == 0
                           && s->dw == 1 && s->kh <= 64
                           && (s->oh - 1) * s->sh + (s->kh - 1) * s->dh < s->ih
                           && (s->ow - 1) * s->sw + s->kw <= s->iw;
            op->rq.mode = e->mode;
            op->rq.out_zp = tout->zp;
            op->rq.out_min = lo;
            op->rq.out_max = hi;
            op->macs = (double) tout->size * (double) s->k;
            e->acc_count = MAX (e->acc_count, s->oc);
            /* the weights are compiled after every step, in parallel (compile_weights) */
            g_array_append_val (e->pending, pw);
          }
        else
          {
            /* no copy: the weights stay where the lowering computed them */
            if (r != NULL)
              op->fw = (op->fw_result = g_steal_pointer (&r))->dequant->data;
            else
              op->fw = (op->fw_kernel = qs_lowering_get_step_kernel (e->lowering, index))->data;
            op->fb = s->bias;
          }
        return TRUE;
      }

    case QS_LOWERED_BATCH_NORM:
      op->bn_scale = s->bn_scale;
      op->bn_shift = s->bn_shift;
      return TRUE;

    case QS_LOWERED_ACTIVATION:
      if (s->is_int)
        act_clamp (op, T (e, s->inputs[0]), &op->rq.out_min, &op->rq.out_max);
      return TRUE;

    case QS_LOWERED_ADD:
    case QS_LOWERED_CONCAT:
      if (s->is_int)
        {
          const PTensor *to = T (e, s->output);

          if (s->kind == QS_LOWERED_ADD)
            {
              const PTensor *a = T (e, op->in[0]), *c2 = T (e, op->in[1]);

              qs_add_params_init (&op->addp, a->scale, a->zp, c2->scale, c2->zp,
                                  to->scale, to->zp, to->qmin, to->qmax);
              /* fp32-rne keeps the gemmlowp arithmetic for Add (see QsAddParams) */
              op->addp.mode = e->mode;
            }
          else
            for (guint i = 0; i < op->n_in; i++)
              {
                gint sh;

                qs_quantize_multiplier ((double) T (e, op->in[i])->scale / to->scale, &op->cat_m[i], &sh);
                op->cat_s[i] = sh;
              }
        }
      return TRUE;

    default:
      return TRUE;
    }
}

/* Places every storage in the arena (TFLite's greedy-by-size plan): a storage lives from
 * the op that first writes it to the last op that reads it (the input from before the
 * first op, the output to after the last), and two storages share bytes only when their
 * lives do not overlap, so an op never writes over what it reads. Each storage keeps its
 * 64 bytes of slack (kernels read and write a few bytes past a tensor). Biggest first, at
 * the lowest offset free for its whole life. */
static gint
storage_cmp (gconstpointer a,
             gconstpointer b,
             gpointer      user_data)
{
  GArray *storage = user_data;
  guint ia = *(const guint *) a, ib = *(const guint *) b;
  gsize sa = g_array_index (storage, Storage, ia).bytes, sb = g_array_index (storage, Storage, ib).bytes;

  if (sa != sb)
    return sa > sb ? -1 : 1;
  return (ia > ib) - (ia < ib);
}

static void
plan_arena (QsEngineInt *e)
{
  guint ns = e->storage->len, n_ops = e->ops->len;
  g_autofree gint *first = g_new (gint, ns);
  g_autofree gint *last = g_new (gint, ns);
  g_autofree guint *order = g_new (guint, ns);
  g_autofree gboolean *placed = g_new0 (gboolean, ns);
  gsize end = 0;

  for (guint i = 0; i < ns; i++)
    {
      first[i] = G_MAXINT;
      last[i] = -1;
      order[i] = i;
    }
#define STORAGE_OF(t) (T (e, (t))->storage)
  first[STORAGE_OF (e->input)] = -1;
  last[STORAGE_OF (e->output)] = (gint) n_ops;
  for (guint i = 0; i < n_ops; i++)
    {
      const Op *op = g_ptr_array_index (e->ops, i);
      gint so = STORAGE_OF (op->out);

      for (guint j = 0; j < op->n_in; j++)
        last[STORAGE_OF (op->in[j])] = MAX (last[STORAGE_OF (op->in[j])], (gint) i);
      first[so] = MIN (first[so], (gint) i);
      last[so] = MAX (last[so], (gint) i);
    }
#undef STORAGE_OF
  e->values_bytes = 0;
  for (guint i = 0; i < ns; i++)
    {
      Storage *st = &g_array_index (e->storage, Storage, i);

      st->bytes = (st->bytes + 64 + 63) / 64 * 64;   /* from here on: with the slack */
      e->values_bytes += st->bytes;
      if (first[i] > last[i])   /* never written nor read: a place of its own */
        {
          first[i] = -1;
          last[i] = (gint) n_ops;
        }
    }
  /* biggest first, equal sizes in storage order */
  g_qsort_with_data (order, (gint) ns, sizeof (guint), storage_cmp, e->storage);
  for (guint i = 0; i < ns; i++)
    {
      guint a = order[i];
      Storage *sa = &g_array_index (e->storage, Storage, a);
      gsize offset = 0;
      gboolean moved = TRUE;

      /* raise the offset past every placed storage that overlaps it in bytes and in life,
       * until none does */
      while (moved)
        {
          moved = FALSE;
          for (guint j = 0; j < i; j++)
            {
              guint b = order[j];
              const Storage *sb = &g_array_index (e->storage, Storage, b);

              if (placed[b] && first[a] <= last[b] && first[b] <= last[a]
                  && offset < sb->offset + sb->bytes && sb->offset < offset + sa->bytes)
                {
                  offset = sb->offset + sb->bytes;
                  moved = TRUE;
                }
            }
        }
      sa->offset = offset;
      placed[a] = TRUE;
      end = MAX (end, offset + sa->bytes);
    }
  e->arena_bytes = end;
}

static void op_conv_params (const Op *op, const PTensor *ti, const PTensor *to, QsConvParams *p);

/* Packs each depthwise op's filter for the kernels in use (after fuse_clamps: the pack
 * holds the output range). */
static void
pack_depthwise (QsEngineInt *e)
{
  for (guint i = 0; i < e->ops->len; i++)
    {
      Op *op = g_ptr_array_index (e->ops, i);
      QsDepthwiseParams p;

      if (op->kind != OP_I_DW)
        continue;
      op_conv_params (op, T (e, op->in[0]), T (e, op->out), &p);
      op->dw_packed = qs_depthwise_u8s8_pack (e->kernels, &p, op->dw_codes, &op->rq);
    }
}

/* The clamp range of an integer op that ends in a clamp to [out_min, out_max] (Add, conv,
 * depthwise), NULL for the others. */
static gint32 *
op_out_range (Op *op)
{
  switch (op->kind)
    {
    case OP_I_ADD:
      return &op->addp.out_min;   /* out_min, out_max */
    case OP_I_CONV:
    case OP_I_DW:
      return &op->rq.out_min;
    default:
      return NULL;
    }
}

G_STATIC_ASSERT (G_STRUCT_OFFSET (QsAddParams, out_max) == G_STRUCT_OFFSET (QsAddParams, out_min) + sizeof (gint32));
G_STATIC_ASSERT (G_STRUCT_OFFSET (QsRequant, out_max) == G_STRUCT_OFFSET (QsRequant, out_min) + sizeof (gint32));

/* No value but tid (and other, unless -1) lives in tid's storage (no alias reads it). */
static gboolean
only_storage (QsEngineInt *e,
              gint         tid,
              gint         other)
{
  for (guint t = 0; t < e->tensors->len; t++)
    if (t != (guint) tid && (other < 0 || t != (guint) other) && T (e, t)->storage == T (e, tid)->storage)
      return FALSE;
  return TRUE;
}

static guint
op_index (QsEngineInt *e,
          gpointer     op)
{
  guint i = 0;
  gboolean found = g_ptr_array_find (e->ops, op, &i);

  g_assert (found);
  return i;
}

/* Fuses each standalone integer clamp (OP_I_CLAMP: a ReLU / ReLU6 the lowering could not
 * fold, e.g. ResNet's Add + ReLU) into the op producing its input, when that op ends in a
 * clamp itself (Add, conv, depthwise), the clamp is the only reader of the value (not the
 * engine's output, no alias shares its storage) and both values have the same
 * quantization (the clamp copies codes: its output has its input's scale and zero-point).
 *
 * Exact: the producer computes y = clamp (g (x), a, b) for some integer g (every mode
 * requantizes and then clamps the code to [out_min, out_max]; fp32-rne clamps in float to
 * integer bounds before rounding, the same), the clamp z = clamp (y, lo, hi) with
 * lo <= hi. clamp (clamp (v, a, b), lo, hi) = clamp (v, a', b') with
 * a' = clamp (a, lo, hi), b' = clamp (b, lo, hi) for every integer v: v <= a gives a',
 * v >= b gives b', and for a < v < b both sides are clamp (v, lo, hi) (a' = hi when
 * a >= hi; otherwise a' = max (a, lo) and max (v, a') = max (v, lo), and b' <= lo only when
 * b <= lo, where both sides are lo, else b' = min (b, hi) > v). a' <= b' keeps the
 * kernels' 0 <= out_min <= out_max <= 255. It also folds a zero padding (ZeroPadding2D
 * before MobileNet's stride-2 depthwise) read only by a depthwise op into that op's
 * padding. QS_ENGINE_INT_NO_FUSE=1 in the environment turns both off (the tests compare
 * both). */
static void
fuse_clamps (QsEngineInt *e)
{
  guint n_ops = e->ops->len;
  g_autofree guint *readers = g_new0 (guint, e->tensors->len);
  g_autofree Op **producer = g_new0 (Op *, e->tensors->len);
  const char *off = g_getenv ("QS_ENGINE_INT_NO_FUSE");

  if (off != NULL && *off != '\0' && strcmp (off, "0") != 0)
    return;
  for (guint i = 0; i < n_ops; i++)
    {
      Op *op = g_ptr_array_index (e->ops, i);

      for (guint j = 0; j < op->n_in; j++)
        readers[op->in[j]]++;
      producer[op->out] = op;
    }
  for (guint i = 0; i < e->ops->len; )
    {
      Op *op = g_ptr_array_index (e->ops, i);
      gint mid = op->n_in == 1 ? op->in[0] : -1;
      Op *prod = mid >= 0 ? producer[mid] : NULL;
      const PTensor *tm = mid >= 0 ? T (e, mid) : NULL, *tz = T (e, op->out);
      gint32 *range = prod != NULL ? op_out_range (prod) : NULL;
      gboolean ok;

      /* a zero padding read only by a depthwise op: its padding, which the depthwise
       * kernels read as the input zero-point as the padding op writes it (the padded
       * value has its input's zero-point), so every tap's (code - zp) * w is the same */
      if (op->kind == OP_I_DW && prod != NULL && prod->kind == OP_I_PAD && readers[mid] == 1
          && mid != e->output && tm->is_int && T (e, prod->in[0])->is_int
          && T (e, prod->in[0])->zp == tm->zp && op->fused_pad == NULL && only_storage (e, mid, -1))
        {
          op->in[0] = prod->in[0];
          op->pad_t += prod->pad[0];
          op->pad_l += prod->pad[2];
          op->fused_pad = prod;
          g_ptr_array_steal_index (e->ops, op_index (e, prod));   /* prod lives on in op */
          producer[mid] = NULL;
          continue;   /* i now indexes the op after this one */
        }
      ok = op->kind == OP_I_CLAMP && range != NULL && !prod->fused_clamp && readers[mid] == 1
           && mid != e->output && tm->is_int && tz->is_int && tm->scale == tz->scale
           && tm->zp == tz->zp && tm->size == tz->size;
      ok = ok && only_storage (e, mid, op->out);
      if (!ok)
        {
          i++;
          continue;
        }
      prod->fused_clamp = TRUE;
      prod->fused_mid = mid;
      prod->mid_min = range[0];
      prod->mid_max = range[1];
      prod->clamp_min = op->rq.out_min;
      prod->clamp_max = op->rq.out_max;
      range[0] = CLAMP (prod->mid_min, op->rq.out_min, op->rq.out_max);
      range[1] = CLAMP (prod->mid_max, op->rq.out_min, op->rq.out_max);
      prod->out = op->out;
      producer[op->out] = prod;
      g_ptr_array_remove_index (e->ops, i);   /* frees the clamp */
    }
}

/* compile_weights: one pending op's weights, reused from the program before when they
 * match, else compiled */
static void
compile_pending (gsize    index,
                 guint    thread_index,
                 gpointer user_data)
{
  QsEngineInt *e = user_data;
  PendingWeights *pw = &g_array_index (e->pending, PendingWeights, index);
  const QsLoweredStep *s = qs_lowering_get_step (e->lowering, pw->step);
  const PTensor *tin = T (e, s->inputs[0]), *tout = T (e, s->output);
  IntWeights *iw = e->reusable ? g_hash_table_lookup (e->reusable, pw->r) : NULL;

  if (iw != NULL && int_weights_match (iw, e->mode, s, tin, tout, pw->op->implicit))
    {
      op_set_int_weights (pw->op, iw);
      g_atomic_int_inc (&e->n_reused);
      return;
    }
  iw = int_weights_new (e->mode, s, pw->r, tin, tout, pw->op->implicit);
  op_set_int_weights (pw->op, iw);
  int_weights_unref (iw);
}

/* Bigger weights (reduction length x output channels) first, then in step order. */
static gint
pending_cmp (gconstpointer a,
             gconstpointer b)
{
  const PendingWeights *pa = a, *pb = b;
  double wa = pa->op->macs / (pa->op->oh * pa->op->ow), wb = pb->op->macs / (pb->op->oh * pb->op->ow);

  if (wa != wb)
    return wa > wb ? -1 : 1;
  return (pa->step > pb->step) - (pa->step < pb->step);
}

/* The integer ops' weights, on all cores, the biggest first. */
static void
compile_weights (QsEngineInt *e,
                 QsEngineInt *previous)
{
  if (previous != NULL && previous->model == e->model)
    {
      e->reusable = g_hash_table_new (NULL, NULL);
      for (guint i = 0; i < previous->ops->len; i++)
        {
          Op *op = g_ptr_array_index (previous->ops, i);

          if (op->wts != NULL)
            g_hash_table_insert (e->reusable, op->wts->source, op->wts);
        }
    }
  g_array_sort (e->pending, pending_cmp);
  qs_parallel_for (e->pending->len, 0, compile_pending, e, NULL, NULL);
  for (guint i = 0; i < e->pending->len; i++)
    {
      PendingWeights *pw = &g_array_index (e->pending, PendingWeights, i);
      Op *op = pw->op;

      if (op->kind == OP_I_CONV && !op->direct && !op->implicit)
        e->im2col_bytes = MAX (e->im2col_bytes, MIN (op->oh * op->ow, IM2COL_BLOCK) * op->packed.kp + 64);
      qs_quant_result_unref (pw->r);
    }
  g_clear_pointer (&e->pending, g_array_unref);
  g_clear_pointer (&e->reusable, g_hash_table_unref);
}

QsEngineInt *
qs_engine_int_new (QsLowering    *lowering,
                   QsRangeTable  *ranges,
                   GError       **error)
{
  return qs_engine_int_new_reusing (lowering, ranges, NULL, error);
}

QsEngineInt *
qs_engine_int_new_reusing (QsLowering    *lowering,
                           QsRangeTable  *ranges,
                           QsEngineInt   *previous,
                           GError       **error)
{
  g_autoptr(QsEngineInt) e = NULL;
  guint nv;

  g_return_val_if_fail (lowering != NULL, NULL);

  if (previous != NULL)
    qs_lowering_reuse_weights (lowering, previous->lowering);
  if (!qs_lowering_prepare_weights (lowering, error))
    return NULL;

  e = g_new0 (QsEngineInt, 1);
  e->ref_count = 1;
  e->lowering = qs_lowering_ref (lowering);
  e->model = g_object_ref (qs_lowering_get_model (lowering));
  e->kernels = qs_int_kernels_get ();
  e->mode = qs_lowering_get_config (lowering) != NULL
            ? qs_config_get_requant_mode (qs_lowering_get_config (lowering)) : QS_REQUANT_GEMMLOWP;
  e->tensors = g_array_new (FALSE, TRUE, sizeof (PTensor));
  e->storage = g_array_new (FALSE, TRUE, sizeof (Storage));
  e->ops = g_ptr_array_new_with_free_func (op_free);
  e->spare = g_ptr_array_new_with_free_func (workspace_free);
  e->pending = g_array_new (FALSE, FALSE, sizeof (PendingWeights));
  g_mutex_init (&e->lock);
  e->input = qs_lowering_get_input (lowering);
  e->output = qs_lowering_get_output (lowering);

  nv = qs_lowering_get_n_values (lowering);
  for (guint i = 0; i < nv; i++)
    {
      const QsLoweredValue *v = qs_lowering_get_value (lowering, i);
      PTensor t = { 0 };

      t.key = g_strdup (v->name);
      t.h = v->h; t.w = v->w; t.c = v->c;
      t.size = v->h * v->w * v->c;
      t.is_int = v->is_int;
      if (v->alias_of >= 0)
        t.storage = T (e, v->alias_of)->storage;
      else
        {
          Storage st = { 0, 0 };

          g_array_append_val (e->storage, st);
          t.storage = e->storage->len - 1;
        }
      g_array_append_val (e->tensors, t);
    }
  if (!assign_params (e, ranges, error))
    return NULL;
  for (guint i = 0; i < qs_lowering_get_n_steps (lowering); i++)
    if (!compile_step (e, i, error))
      return NULL;
  compile_weights (e, previous);
  fuse_clamps (e);
  pack_depthwise (e);

  for (guint i = 0; i < e->tensors->len; i++)
    {
      PTensor *t = T (e, i);
      Storage *st = &g_array_index (e->storage, Storage, t->storage);

      st->bytes = MAX (st->bytes, t->size * (t->is_int ? 1 : sizeof (float)));
    }
  plan_arena (e);
  {
    double macs = 0.0;

    for (guint i = 0; i < e->ops->len; i++)
      macs += ((Op *) g_ptr_array_index (e->ops, i))->macs;
    for (guint i = 0; i < e->tensors->len; i++)
      macs += T (e, i)->size;   /* every value is written once at least */
    e->run_chunk = (gsize) CLAMP (RUN_CHUNK_MACS / MAX (macs, 1.0), 1.0, (double) RUN_CHUNK);
  }
  return g_steal_pointer (&e);
}

guint
_qs_engine_int_get_n_reused (QsEngineInt *e)
{
  return e->n_reused;
}

QsLowering *
qs_engine_int_get_lowering (QsEngineInt *e)
{
  g_return_val_if_fail (e != NULL, NULL);
  return e->lowering;
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

QsRequantMode
qs_engine_int_get_requant_mode (QsEngineInt *e)
{
  g_return_val_if_fail (e != NULL, QS_REQUANT_GEMMLOWP);
  return e->mode;
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
  g_return_val_if_fail (layer_index < qs_model_get_n_layers (e->model), FALSE);
  return qs_lowering_get_layer (e->lowering, layer_index)->is_integer;
}

gboolean
qs_engine_int_get_layer_weights (QsEngineInt          *e,
                                 guint                 layer_index,
                                 QsEngineLayerWeights *out)
{
  g_return_val_if_fail (e != NULL, FALSE);
  return qs_lowering_get_layer_weights (e->lowering, layer_index, out);
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

/* The layer class of an op for qs_engine_int_profile. */
static const char *
op_class (const Op *op)
{
  static const char *const names[] = {
    [OP_QUANTIZE] = "quantize", [OP_DEQUANTIZE] = "dequantize", [OP_F_CONV] = "float-conv",
    [OP_F_DW] = "float-depthwise", [OP_F_POOL] = "float-pool", [OP_F_BN] = "float-batchnorm",
    [OP_F_ACT] = "float-activation", [OP_F_ADD] = "float-add", [OP_F_CONCAT] = "float-concat",
    [OP_F_PAD] = "float-pad", [OP_F_RESCALE] = "float-rescale", [OP_F_RESIZE] = "float-resize",
    [OP_I_CONV] = "conv", [OP_I_DW] = "depthwise", [OP_I_POOL] = "pool", [OP_I_CLAMP] = "clamp",
    [OP_I_ADD] = "add", [OP_I_CONCAT] = "concat", [OP_I_PAD] = "pad",
  };

  if (op->kind == OP_I_CONV)
    {
      if (op->kh == 1 && op->kw == 1)
        return op->oh * op->ow == 1 ? "dense" : "conv-1x1";
      if (op->kh == 3 && op->kw == 3)
        return "conv-3x3";
      return "conv-other";
    }
  return names[op->kind];
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
        QsQuantizeU8Func quantize = e->kernels->quantize != NULL ? e->kernels->quantize
                                                                  : qs_quantize_u8_ref;

        quantize (tdata (e, ws, op->in[0]), to->size, to->scale, to->zp, to->qmin, to->qmax,
                  op->rounding, tdata (e, ws, op->out));
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
        if (op->dw_packed != NULL)
          qs_depthwise_u8s8_packed (op->dw_packed, &p, tdata (e, ws, op->in[0]), tdata (e, ws, op->out));
        else
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
    case OP_F_RESIZE:
      qs_resize_f32 (&op->resize, tdata (e, ws, op->in[0]), tdata (e, ws, op->out));
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
        QsRescaleU8Func rescale = e->kernels->rescale ? e->kernels->rescale : qs_rescale_u8;

        for (guint j = 0; j < op->n_in; j++)
          {
            const PTensor *tj = T (e, op->in[j]);
            gsize cj = tj->size / rows;

            if (is_int)
              rescale (e->mode, tdata (e, ws, op->in[j]), cj, tj->zp, op->cat_m[j], op->cat_s[j],
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
        guint8 lo = (guint8) op->rq.out_min, hi = (guint8) op->rq.out_max;

        /* byte min / max: vectorised by the compiler */
        for (gsize i = 0; i < to->size; i++)
          out[i] = MIN (MAX (in[i], lo), hi);
        break;
      }
    case OP_I_ADD:
      {
        QsAddU8Func add = e->kernels->add != NULL ? e->kernels->add : qs_add_u8;

        add (tdata (e, ws, op->in[0]), tdata (e, ws, op->in[1]), to->size, &op->addp,
             tdata (e, ws, op->out));
        break;
      }
    default:
      g_assert_not_reached ();
    }
}

static void
workspace_free (gpointer data)
{
  Workspace *ws = data;

  qs_aligned_free (ws->arena);
  qs_aligned_free (ws->im2col);
  qs_aligned_free (ws->acc);
  g_free (ws);
}

/* A workspace for one thread's run: a spare one from an earlier run, or a new one (its
 * pages are touched once, not per run: no page faults and no system time in later runs). */
static Workspace *
workspace_take (QsEngineInt *e)
{
  Workspace *ws = NULL;

  g_mutex_lock (&e->lock);
  if (e->spare->len > 0)
    ws = g_ptr_array_steal_index_fast (e->spare, e->spare->len - 1);
  else
    e->n_workspaces++;
  g_mutex_unlock (&e->lock);
  if (ws != NULL)
    return ws;
  ws = g_new0 (Workspace, 1);
  ws->arena = qs_aligned_alloc0 (e->arena_bytes + 64);
  ws->im2col = qs_aligned_alloc0 (e->im2col_bytes + 64);
  ws->acc = qs_aligned_alloc0 ((e->acc_count + 16) * sizeof (gint32));
  return ws;
}

static void
workspace_give (QsEngineInt *e,
                Workspace   *ws)
{
  g_mutex_lock (&e->lock);
  g_ptr_array_add (e->spare, ws);
  g_mutex_unlock (&e->lock);
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


typedef struct
{
  QsEngineInt    *e;
  const float    *input;
  float          *output;
  gsize           batch;
  gsize           chunk;       /* images per item */
  Workspace     **ws;          /* one per thread, taken on first use */
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
  gsize start = index * job->chunk, end = MIN (start + job->chunk, job->batch);
  Workspace *ws;
  gint done;

  if (job->ws[thread_index] == NULL)
    job->ws[thread_index] = workspace_take (e);
  ws = job->ws[thread_index];
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
  g_autofree Workspace **ws = NULL;
  Job job;
  gsize n_items, chunk;
  gboolean ok;

  g_return_val_if_fail (e != NULL, FALSE);
  g_return_val_if_fail (batch == 0 || (input != NULL && output != NULL), FALSE);

  chunk = e->run_chunk;
  n_items = (batch + chunk - 1) / chunk;
  n_threads = qs_parallel_n_threads (n_items, n_threads);
  ws = g_new0 (Workspace *, n_threads);
  job = (Job) { e, input, output, batch, chunk, ws, 0, progress, progress_data };
  ok = qs_parallel_for (n_items, n_threads, run_chunk, &job, cancellable, error);
  for (guint t = 0; t < n_threads; t++)
    if (ws[t] != NULL)
      workspace_give (e, ws[t]);
  if (ok && progress != NULL)
    progress (1.0, progress_data);
  return ok;
}

/* Hands value tid of a run to tap (integer values dequantized into *tmp). */
static void
tap_value (QsEngineInt    *e,
           Workspace      *ws,
           gint            tid,
           QsEngineTapFunc tap,
           gpointer        user_data,
           float         **tmp)
{
  const PTensor *to = T (e, tid);

  if (tap == NULL || to->key == NULL)
    return;
  if (to->is_int)
    {
      const guint8 *q = tdata (e, ws, tid);

      *tmp = g_renew (float, *tmp, to->size);
      for (gsize j = 0; j < to->size; j++)
        (*tmp)[j] = (float) ((gint32) q[j] - to->zp) * to->scale;
      tap (to->key, *tmp, to->size, TRUE, user_data);
    }
  else
    tap (to->key, tdata (e, ws, tid), to->size, FALSE, user_data);
}

gboolean
qs_engine_int_run_tapped (QsEngineInt    *e,
                          const float    *input,
                          float          *output,
                          QsEngineTapFunc tap,
                          gpointer        user_data,
                          GError        **error)
{
  Workspace *ws;
  g_autofree float *tmp = NULL;

  g_return_val_if_fail (e != NULL, FALSE);
  g_return_val_if_fail (input != NULL, FALSE);

  ws = workspace_take (e);
  memcpy (tdata (e, ws, e->input), input, T (e, e->input)->size * sizeof (float));
  if (tap != NULL)
    tap (T (e, e->input)->key, input, T (e, e->input)->size, FALSE, user_data);
  for (guint i = 0; i < e->ops->len; i++)
    {
      const Op *op = g_ptr_array_index (e->ops, i);

      if (op->fused_pad != NULL)
        {
          /* the folded padding op too, for its value's tap */
          run_op (e, op->fused_pad, ws);
          tap_value (e, ws, op->fused_pad->out, tap, user_data, &tmp);
        }
      if (op->fused_clamp)
        {
          /* the two steps apart, as before fuse_clamps, to tap the value between them */
          Op unfused = *op;
          gint32 *range = op_out_range (&unfused);
          const guint8 *in;
          guint8 *out;

          unfused.out = op->fused_mid;
          range[0] = op->mid_min;
          range[1] = op->mid_max;
          unfused.dw_packed = NULL;   /* packed with the fused range */
          run_op (e, &unfused, ws);
          tap_value (e, ws, op->fused_mid, tap, user_data, &tmp);
          in = tdata (e, ws, op->fused_mid);
          out = tdata (e, ws, op->out);
          for (gsize j = 0; j < T (e, op->out)->size; j++)
            out[j] = (guint8) CLAMP ((gint32) in[j], op->clamp_min, op->clamp_max);
        }
      else
        run_op (e, op, ws);
      tap_value (e, ws, op->out, tap, user_data, &tmp);
    }
  if (output != NULL)
    memcpy (output, tdata (e, ws, e->output), T (e, e->output)->size * sizeof (float));
  workspace_give (e, ws);
  return TRUE;
}

/* The calling thread's CPU time: the profile runs every op on this thread, so other load
 * on the machine does not inflate an op's time (wall time would). */
static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

GArray *
qs_engine_int_profile (QsEngineInt *e,
                       const float *input,
                       gsize        batch)
{
  GArray *times;
  Workspace *ws;
  gsize in_size;

  g_return_val_if_fail (e != NULL, NULL);
  g_return_val_if_fail (batch == 0 || input != NULL, NULL);

  in_size = T (e, e->input)->size;
  times = g_array_sized_new (FALSE, TRUE, sizeof (QsEngineOpTime), e->ops->len);
  g_array_set_size (times, e->ops->len);
  for (guint i = 0; i < e->ops->len; i++)
    {
      const Op *op = g_ptr_array_index (e->ops, i);
      QsEngineOpTime *t = &g_array_index (times, QsEngineOpTime, i);

      t->value = T (e, op->out)->key;
      t->layer_class = op_class (op);
      t->macs = op->macs;
    }
  ws = workspace_take (e);
  for (gsize b = 0; b < batch; b++)
    {
      memcpy (tdata (e, ws, e->input), input + b * in_size, in_size * sizeof (float));
      for (guint i = 0; i < e->ops->len; i++)
        {
          double t0 = now_seconds ();

          run_op (e, g_ptr_array_index (e->ops, i), ws);
          g_array_index (times, QsEngineOpTime, i).seconds += now_seconds () - t0;
        }
    }
  workspace_give (e, ws);
  for (guint i = 0; batch > 0 && i < times->len; i++)
    g_array_index (times, QsEngineOpTime, i).seconds /= (double) batch;
  return times;
}

void
_qs_engine_int_get_memory (QsEngineInt       *e,
                           QsEngineIntMemory *out)
{
  g_return_if_fail (e != NULL && out != NULL);
  out->arena_bytes = e->arena_bytes;
  out->values_bytes = e->values_bytes;
  out->workspace_bytes = e->arena_bytes + e->im2col_bytes + (e->acc_count + 16) * sizeof (gint32) + 192;
  out->packed_bytes = 0;
  for (guint i = 0; i < e->ops->len; i++)
    {
      const Op *op = g_ptr_array_index (e->ops, i);

      out->packed_bytes += op->packed.np * op->packed.kp;
    }
  g_mutex_lock (&e->lock);
  out->n_workspaces = e->n_workspaces;
  g_mutex_unlock (&e->lock);
}
