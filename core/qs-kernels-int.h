/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-requant-mode.h"
#include "qs-kernels-params.h"

G_BEGIN_DECLS

/* Integer kernels of the integer engine. Conventions (shared by every variant):
 *
 * - Activations are 8-bit codes in uint8 containers with a zero-point in [0, 255]. A signed
 *   int8 tensor (TFLite) with zero-point z is stored as code + 128 with zero-point z + 128:
 *   the real value scale * (code - zero_point) and therefore every int32 accumulator are
 *   identical. Reduced ranges (2-7 bits) are a clamp range inside the container.
 * - Weights are int8 codes (2-8 bit symmetric: zero-point 0).
 * - acc = bias + sum (a - a_zp) * w is computed as bias' + sum a * w with
 *   bias' = bias - a_zp * sum w folded at compile time (exact in int32).
 *   The reduction length is limited so that no int32 overflow can occur: K <= QS_INT_MAX_K.
 * - Requantization: out = clamp (out_zp + requant (acc)), clamp range [out_min, out_max]
 *   inside [0, 255] (fused ReLU / ReLU6 and reduced bit widths are part of the clamp range),
 *   requant in the QsRequant's mode (qs-fixedpoint.h): gemmlowp
 *   qs_multiply_by_quantized_multiplier (acc, m, s) per output channel m and s (the
 *   default), TFLite's single rounding, CMSIS-NN's arm_nn_requantize, or fp32-rne with a
 *   float32 scale per channel (qs_requantize_fp32_rne). */

#define QS_INT_MAX_K 65536   /* 255 * 128 * 65536 < 2^31 */

/* Weights of a GEMM, packed for the kernels: n output channels, k reduction values.
 * Layout [np / 16][kp / 4][16][4] int8 (VNNI order), zero-padded. */
typedef struct
{
  gsize  n;
  gsize  k;
  gsize  np;      /* n rounded up to 16 */
  gsize  kp;      /* k rounded up to 4 */
  gint8 *data;    /* np * kp, 64-byte aligned */
} QsPackedWeights;

typedef struct
{
  const gint32 *bias;        /* n (already includes -a_zp * sum w) */
  const gint32 *multiplier;  /* n, [2^30, 2^31) or 0 (the integer modes) */
  const gint32 *shift;       /* n, [-31, 30] */
  gint32        out_zp;      /* [0, 255] */
  gint32        out_min;     /* 0 <= out_min <= out_max <= 255 */
  gint32        out_max;
  QsRequantMode mode;        /* 0 (QS_REQUANT_GEMMLOWP) in a zero-initialised struct */
  const float  *scale;       /* n float32 scales (qs_requant_scale_f32); QS_REQUANT_FP32_RNE
                                only, >= 0 and finite (0: the output is the zero-point) */
} QsRequant;

/* C[m][n] = requant (bias[n] + sum_k A[m][k] * W[n][k]).
 * Row m of A is n_seg segments of kp / n_seg bytes each (kp / n_seg a multiple of 4), the
 * segment s at a + m * lda + seg_off[s]; seg_off NULL means one contiguous row (n_seg 1).
 * Segments let a valid, dilation-free convolution read its input in place ("implicit
 * im2col"): one segment per kernel row, lda = stride * channels. Bytes past k are
 * ignored (the packed weights are zero there) but must be readable.
 * C: m rows of n bytes, stride ldc. */
typedef void (*QsGemmU8S8Func) (const guint8          *a,
                                gsize                  lda,
                                gsize                  m,
                                const gsize           *seg_off,
                                gsize                  n_seg,
                                const QsPackedWeights *w,
                                const QsRequant       *rq,
                                guint8                *c,
                                gsize                  ldc);

/* out[i] = requant of acc[i] with channel c0 + i's multiplier, shift (no bias added). */
typedef void (*QsRequantFunc)  (const gint32          *acc,
                                gsize                  n,
                                const QsRequant       *rq,
                                guint8                *out);

typedef struct _QsAddParams QsAddParams;
typedef struct _QsIntKernels QsIntKernels;
typedef struct _QsDepthwisePacked QsDepthwisePacked;

/* The element-wise and depthwise kernels below (qs_add_u8, qs_rescale_u8,
 * qs_depthwise_u8s8) as a variant implements them; NULL in a variant: the scalar reference
 * runs (qs_depthwise_u8s8 with that variant's requant). */
typedef void (*QsAddU8Func)       (const guint8 *a, const guint8 *b, gsize n,
                                   const QsAddParams *p, guint8 *out);
typedef void (*QsRescaleU8Func)   (QsRequantMode mode,
                                   const guint8 *in, gsize n, gint32 in_zp, gint32 multiplier,
                                   gint32 shift, gint32 out_zp, gint32 out_min, gint32 out_max,
                                   guint8 *out, gsize out_stride, gsize in_stride, gsize rows);
/* Float input to codes (the engine's Quantize op): x / scale (IEEE single division)
 * rounded by rounding (a QsRounding: nearest-even, nearest-away, floor; stochastic rounds
 * to nearest even here), clamped to [qmin - zp, qmax - zp], plus zp; a non-finite x gives
 * zp. scale > 0. */
typedef void (*QsQuantizeU8Func)  (const float *x, gsize n, float scale, gint32 zp,
                                   gint32 qmin, gint32 qmax, int rounding, guint8 *out);
typedef void (*QsDepthwiseU8Func) (const QsDepthwiseParams *p,
                                   const guint8            *input,
                                   const gint8             *filter,
                                   const QsRequant         *rq,
                                   guint8                  *output);

/* A depthwise op's filter, bias, input offset and requantization packed once in the layout
 * a variant's kernel reads (qs_depthwise_u8s8_pack). A variant's pack function returns NULL
 * for the shapes its kernel does not take. */
typedef QsDepthwisePacked *(*QsDepthwisePackFunc) (const QsDepthwiseParams *p,
                                                   const gint8             *filter,
                                                   const QsRequant         *rq);

/* The header of every variant's packed depthwise (the variant's struct starts with it). */
struct _QsDepthwisePacked
{
  /* qs_depthwise_u8s8 on the packed filter: p must equal the pack's params */
  void (*run)  (const QsDepthwisePacked *pk, const QsDepthwiseParams *p,
                const guint8 *input, guint8 *output);
  void (*free) (QsDepthwisePacked *pk);
};

struct _QsIntKernels
{
  const char       *name;       /* the level: "ref", "avx2", "avx512" (VNNI) */
  QsGemmU8S8Func    gemm;
  QsRequantFunc     requant;
  QsAddU8Func       add;        /* NULL: qs_add_u8 */
  QsRescaleU8Func   rescale;    /* NULL: qs_rescale_u8 */
  QsDepthwiseU8Func depthwise;  /* NULL: the reference loop; may itself handle only some
                                   shapes and call qs_depthwise_u8s8_ref for the others */
  QsQuantizeU8Func  quantize;   /* NULL: qs_quantize_u8_ref */
  QsDepthwisePackFunc depthwise_pack;   /* NULL: the variant packs nothing ahead */
  /* The machine's multiply-accumulate peak for this variant's GEMM instruction on the
   * calling thread, measured (GMAC/s: back-to-back independent vpdpbusd for "avx512", about
   * 20 ms); NULL where the variant has no such single instruction. */
  double          (*peak_gmacs) (void);
};

/* The variant in use: qs_kernels_get ()->int_kernels (see qs-kernels.h for QS_KERNELS). */
const QsIntKernels *qs_int_kernels_get         (void);
/* This family's own variant at a level ("ref", "avx2", "avx512"), or NULL when it is not
 * built or the CPU lacks it. */
const QsIntKernels *qs_int_kernels_get_by_name (const char *name);

/* w: n rows of k int8 values (row = output channel). Frees with qs_packed_weights_clear. */
void   qs_packed_weights_init  (QsPackedWeights *packed,
                                const gint8     *w,
                                gsize            n,
                                gsize            k);
/* The same straight from a Keras kernel's codes, [K][n] with the output channel fastest,
 * each clamped to int8, in one pass: row o, column kk is the clamped codes[kk * n + o].
 * With run > 0, the k values of a row are k / run segments of run values each stored from a
 * multiple of seg (seg >= run; the gaps are zero weights): packed k is then (k / run) * seg
 * (the implicit convolution's one segment per kernel row); run 0: packed k is k. sum_w (n, or
 * NULL) receives each row's sum of clamped codes. Identical to transposing, padding and
 * qs_packed_weights_init (). */
void   qs_packed_weights_init_kn (QsPackedWeights *packed,
                                  const gint32    *codes,
                                  gsize            n,
                                  gsize            k,
                                  gsize            run,
                                  gsize            seg,
                                  gint64          *sum_w);
void   qs_packed_weights_clear (QsPackedWeights *packed);
gint8  qs_packed_weights_get   (const QsPackedWeights *packed,
                                gsize            row,
                                gsize            col);

/* Scalar reference kernels (also the SIMD tails). */
void   qs_gemm_u8s8_ref        (const guint8          *a,
                                gsize                  lda,
                                gsize                  m,
                                const gsize           *seg_off,
                                gsize                  n_seg,
                                const QsPackedWeights *w,
                                const QsRequant       *rq,
                                guint8                *c,
                                gsize                  ldc);
void   qs_requant_ref          (const gint32          *acc,
                                gsize                  n,
                                const QsRequant       *rq,
                                guint8                *out);
/* One accumulator of output channel c requantized in rq->mode (the reference). */
static inline guint8
qs_requant_channel (gint32 acc, gsize c, const QsRequant *rq);

/* Depthwise convolution of one image, NHWC (TFLite's DepthwiseConv, integer_ops): input
 * p->input_height x input_width x input_depth codes, filter [filter_height][filter_width]
 * [input_depth * depth_multiplier] int8 (Keras order), output output_height x output_width
 * x output_depth codes. acc = rq->bias[ch] + sum over the taps inside the image of
 * (input + p->input_offset) * filter, taps in row-major order; k->requant requantizes each
 * pixel (every variant bit-exact to the reference). acc_scratch: output_depth int32. */
void   qs_depthwise_u8s8       (const QsIntKernels      *k,
                                const QsDepthwiseParams *p,
                                const guint8            *input,
                                const gint8             *filter,
                                const QsRequant         *rq,
                                guint8                  *output,
                                gint32                  *acc_scratch);
/* qs_depthwise_u8s8 in two steps: the filter (with rq, p's input offset and geometry)
 * packed once for k's kernel, then run on any number of images with the same p. The pack
 * is NULL when k has nothing to pack for p (run qs_depthwise_u8s8 then); filter and rq
 * may be freed after it. Bit-exact to qs_depthwise_u8s8. */
QsDepthwisePacked *qs_depthwise_u8s8_pack (const QsIntKernels      *k,
                                           const QsDepthwiseParams *p,
                                           const gint8             *filter,
                                           const QsRequant         *rq);
void   qs_depthwise_u8s8_packed (const QsDepthwisePacked *pk,
                                 const QsDepthwiseParams *p,
                                 const guint8            *input,
                                 guint8                  *output);
void   qs_depthwise_packed_free (QsDepthwisePacked       *pk);

/* The scalar reference of qs_depthwise_u8s8 (requantization by qs_requant_ref). */
void   qs_depthwise_u8s8_ref   (const QsDepthwiseParams *p,
                                const guint8            *input,
                                const gint8             *filter,
                                const QsRequant         *rq,
                                guint8                  *output);

/* Max / average pooling of uint8 codes (output params = input params, as TFLite), window
 * p->filter_height x filter_width (dilation and depth_multiplier unused).
 * Average: signed sum (code - 128) over the valid taps, divided rounding half away from
 * zero (TFLite's int8 AveragePool); padding taps are excluded from the count. */
void   qs_pool_u8              (gboolean                 is_max,
                                const QsConvParams      *p,
                                const guint8            *input,
                                guint8                  *output);

/* x * multiplier * 2^shift / 2^31 in an integer mode's arithmetic (gemmlowp,
 * single-rounding, cmsis-nn). The element-wise kernels (rescale, Add) use it; in
 * QS_REQUANT_FP32_RNE they keep the gemmlowp arithmetic (see qs_add_u8). */
static inline gint32
qs_requant_mbqm (QsRequantMode mode, gint32 x, gint32 multiplier, gint32 shift);

/* Element-wise rescale: out = clamp (out_zp + qs_requant_mbqm (mode, in - in_zp, m, s))
 * (Concatenate inputs; standalone ReLU with the same params uses m = 2^30, s = 1). */
void   qs_rescale_u8           (QsRequantMode mode,
                                const guint8 *in, gsize n, gint32 in_zp, gint32 multiplier,
                                gint32 shift, gint32 out_zp, gint32 out_min, gint32 out_max,
                                guint8 *out, gsize out_stride, gsize in_stride, gsize rows);

/* TFLite int8 Add: both inputs scaled to 2 * max (s1, s2) with left_shift 20, summed,
 * requantized to the output; each of the three rescales with qs_requant_mbqm in the
 * params' mode. TFLite built with TFLITE_SINGLE_ROUNDING uses its single-rounding
 * MultiplyByQuantizedMultiplier there, CMSIS-NN's arm_elementwise_add_s8 arm_nn_requantize
 * with the same left shift of 20. QS_REQUANT_FP32_RNE keeps the gemmlowp arithmetic: the
 * float runtimes do not agree on one Add (XNNPACK's qs8 vadd is an integer multiply-shift
 * of its own, ONNX Runtime's QLinearAdd a float computation), so an exporter targeting them
 * must expect Add outputs to differ by a code now and then. */
struct _QsAddParams
{
  gint32 zp1, m1, s1;
  gint32 zp2, m2, s2;
  gint32 out_zp, m_out, s_out;
  gint32 out_min, out_max;
  QsRequantMode mode;   /* QS_REQUANT_GEMMLOWP after qs_add_params_init; set it after */
};

#define QS_ADD_LEFT_SHIFT 20

void   qs_quantize_u8_ref      (const float *x, gsize n, float scale, gint32 zp,
                                gint32 qmin, gint32 qmax, int rounding, guint8 *out);

void   qs_add_params_init      (QsAddParams *p,
                                double scale1, gint32 zp1,
                                double scale2, gint32 zp2,
                                double out_scale, gint32 out_zp,
                                gint32 out_min, gint32 out_max);
void   qs_add_u8               (const guint8 *a, const guint8 *b, gsize n,
                                const QsAddParams *p, guint8 *out);

G_END_DECLS

#include "qs-fixedpoint.h"

static inline gint32
qs_requant_mbqm (QsRequantMode mode,
                 gint32        x,
                 gint32        multiplier,
                 gint32        shift)
{
  switch (mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING:
      return qs_multiply_by_quantized_multiplier_single_rounding (x, multiplier, shift);
    case QS_REQUANT_CMSIS_NN:
      return qs_cmsis_nn_requantize (x, multiplier, shift);
    case QS_REQUANT_GEMMLOWP:
    case QS_REQUANT_FP32_RNE:
    default:
      return qs_multiply_by_quantized_multiplier (x, multiplier, shift);
    }
}

/* One accumulator of channel c requantized in rq's mode: the scalar reference every SIMD
 * variant matches. */
static inline guint8
qs_requant_channel (gint32           acc,
                    gsize            c,
                    const QsRequant *rq)
{
  gint64 v;

  if (rq->mode == QS_REQUANT_FP32_RNE)
    return (guint8) (rq->out_zp + qs_requantize_fp32_rne (acc, rq->scale[c],
                                                          (float) (rq->out_min - rq->out_zp),
                                                          (float) (rq->out_max - rq->out_zp)));
  v = (gint64) rq->out_zp + qs_requant_mbqm (rq->mode, acc, rq->multiplier[c], rq->shift[c]);
  if (v < rq->out_min)
    v = rq->out_min;
  if (v > rq->out_max)
    v = rq->out_max;
  return (guint8) v;
}
