/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-tensor.h"
#include "qs-stats.h"

G_BEGIN_DECLS

#define QS_QUANT_ERROR (qs_quant_error_quark ())

typedef enum
{
  QS_QUANT_ERROR_INVALID_SPEC,   /* bits, group size, axis, sparsity out of range */
  QS_QUANT_ERROR_EMPTY,          /* nothing to quantize */
  QS_QUANT_ERROR_NON_FINITE,     /* every value is NaN/Inf, no range can be chosen */
} QsQuantError;

/* The number format of the stored values. Nicks are the strings used in JSON and the CLI. */
typedef enum
{
  QS_FORMAT_FP32,      /*< nick=fp32 >*/     /* pass-through */
  QS_FORMAT_INT,       /*< nick=int >*/      /* integer codes, 2..16 bits, signed or unsigned */
  QS_FORMAT_BINARY,    /*< nick=binary >*/   /* sign(x) * scale, 1 bit */
  QS_FORMAT_TERNARY,   /*< nick=ternary >*/  /* {-1, 0, +1} * scale, ~1.58 bits */
  QS_FORMAT_FP16,      /*< nick=fp16 >*/     /* IEEE binary16, RNE, saturating to +-65504 */
  QS_FORMAT_BF16,      /*< nick=bf16 >*/     /* bfloat16, RNE */
  QS_FORMAT_FP8_E4M3,  /*< nick=fp8-e4m3 >*/ /* OCP E4M3FN: finite only, max 448, saturating */
  QS_FORMAT_FP8_E5M2,  /*< nick=fp8-e5m2 >*/ /* OCP E5M2: max 57344, saturating */
} QsFormat;

/* The widths QS_FORMAT_INT accepts (qs_quant_format_get_bits_range ()). */
#define QS_QUANT_INT_MIN_BITS 2
#define QS_QUANT_INT_MAX_BITS 16

typedef enum
{
  QS_MAPPING_SYMMETRIC, /*< nick=symmetric >*/ /* zero-point 0 */
  QS_MAPPING_AFFINE,    /*< nick=affine >*/    /* scale and zero-point; 0.0 maps exactly */
} QsMapping;

typedef enum
{
  QS_GRANULARITY_TENSOR,  /*< nick=tensor >*/
  QS_GRANULARITY_CHANNEL, /*< nick=channel >*/ /* along axis (layout default when -1) */
  QS_GRANULARITY_GROUP,   /*< nick=group >*/   /* G consecutive values along the reduction axis, per channel */
} QsGranularity;

typedef enum
{
  QS_ROUNDING_NEAREST_EVEN, /*< nick=nearest-even >*/
  QS_ROUNDING_NEAREST_AWAY, /*< nick=nearest-away >*/
  QS_ROUNDING_FLOOR,        /*< nick=floor >*/
  QS_ROUNDING_STOCHASTIC,   /*< nick=stochastic >*/ /* seeded, reproducible */
} QsRounding;

typedef enum
{
  QS_RANGE_MINMAX,     /*< nick=minmax >*/
  QS_RANGE_PERCENTILE, /*< nick=percentile >*/ /* range_param: e.g. 99.99 */
  QS_RANGE_MSE,        /*< nick=mse >*/        /* clip minimising expected MSE, from a histogram */
  QS_RANGE_KL,         /*< nick=kl >*/         /* TensorRT-style KL-entropy calibration */
} QsRangeMethod;

/* A complete description of how one tensor is quantized. Plain value type: copy freely. */
typedef struct
{
  QsFormat      format;
  guint         bits;              /* QS_FORMAT_INT: 2..16; ignored for the others */
  gboolean      is_signed;         /* QS_FORMAT_INT: int codes (TRUE) or uint codes */
  QsMapping     mapping;
  gboolean      narrow_range;      /* symmetric signed: [-(2^(b-1)-1), 2^(b-1)-1] (TFLite weights) */
  gboolean      pow2_scale;        /* round scales up to powers of two (fixed-point hardware) */
  QsGranularity granularity;
  gint          axis;              /* channel axis; -1 = the layout's default */
  guint         group_size;        /* QS_GRANULARITY_GROUP: 32, 64, 128 ... */
  QsRounding    rounding;
  guint64       seed;              /* QS_ROUNDING_STOCHASTIC */
  QsRangeMethod range_method;
  double        range_param;       /* QS_RANGE_PERCENTILE: the percentile of |x| kept, e.g. 99.99 */
  double        sparsity;          /* magnitude pruning target in [0, 1); 0 = off */
  gboolean      prune_per_channel; /* prune each channel to the target rather than the tensor */
} QsQuantSpec;

/* Scales and zero-points, one entry per tensor, channel or group. Immutable, refcounted. */
typedef struct
{
  QsQuantSpec spec;         /* the spec these were made for, axis resolved */
  gsize       n_params;     /* 1, n_channels or n_channels * groups_per_channel */
  gsize       n_channels;   /* 1 for per-tensor */
  gsize       inner;        /* channel geometry, as qs_tensor_channel_geometry() */
  gsize       outer;
  gsize       groups_per_channel;
  gint32      qmin;         /* code range (QS_FORMAT_INT, BINARY, TERNARY) */
  gint32      qmax;
  float      *scale;        /* n_params */
  gint32     *zero_point;   /* n_params */
  float      *clip_lo;      /* n_params: float range represented, after range selection */
  float      *clip_hi;
  float      *threshold;    /* n_params for QS_FORMAT_TERNARY (|x| <= threshold -> code 0), else NULL */

  /*< private >*/
  gint ref_count;
} QsQuantParams;

/* What a quantization pass should produce besides the statistics. */
typedef struct
{
  gboolean want_codes;      /* integer codes (bit patterns for fp16/bf16/fp8) */
  gboolean want_dequant;    /* the fake-quantized tensor */
  guint    hist_bins;       /* 0 = no histograms; else float and dequant histograms over [hist_lo, hist_hi] */
  double   hist_lo;         /* hist_lo == hist_hi: the tensor's finite min/max */
  double   hist_hi;
  gint     hist_channel;    /* -1 = all values; else histograms of that channel only */
  guint    map_width;       /* 0 = no error map; else a map_width x map_height error map */
  guint    map_height;      /*     of the tensor's matrix picture (qs_tensor_matrix_shape) */
} QsQuantOptions;

/* Everything one pass over a tensor produced. Immutable once returned, refcounted,
 * safe to hand from a worker thread to the main thread. */
typedef struct
{
  QsTensor      *input;       /* a reference to the tensor that was quantized */
  QsQuantParams *params;
  gint32        *codes;       /* n_elements or NULL */
  QsTensor      *dequant;     /* fake-quantized values or NULL */
  QsQuantStats   stats;
  QsHistogram   *float_hist;  /* NULL unless hist_bins > 0 */
  QsHistogram   *dequant_hist;
  QsHistogram   *code_hist;   /* one bin per code in [qmin, qmax] (integer formats, NULL otherwise) */
  QsErrorMap    *error_map;   /* NULL unless map_width > 0 */
  double         seconds;     /* wall time of the pass */
  gboolean       is_estimate; /* qs_quant_run_estimate () on a subsample: input is the sample,
                               * the counts in stats are scaled to the whole tensor */
  gsize          n_sampled;   /* values the estimate measured (0 when exact) */

  /*< private >*/
  gint ref_count;
} QsQuantResult;

#define QS_TYPE_QUANT_PARAMS (qs_quant_params_get_type ())
#define QS_TYPE_QUANT_RESULT (qs_quant_result_get_type ())

GType          qs_quant_params_get_type      (void) G_GNUC_CONST;
GType          qs_quant_result_get_type      (void) G_GNUC_CONST;
GQuark         qs_quant_error_quark          (void);

/* Specs */
void           qs_quant_spec_init            (QsQuantSpec          *spec); /* int8 symmetric narrow per-channel, RNE, min-max */
void           qs_quant_spec_init_float      (QsQuantSpec          *spec,
                                              QsFormat              format);
gboolean       qs_quant_spec_validate        (const QsQuantSpec    *spec,
                                              const QsTensor       *tensor, /* nullable: checks that need a shape are skipped */
                                              GError              **error);
gboolean       qs_quant_spec_equal           (const QsQuantSpec    *a,
                                              const QsQuantSpec    *b);
/* Compact label for badges and tables: "int8 sym/ch", "int4 g32", "fp16", "e4m3", "int8 50%sp". */
char          *qs_quant_spec_to_label        (const QsQuantSpec    *spec);
/* Bits a value costs in storage, without scale overhead (fp32: 32, int4: 4, ternary: 2 ...). */
double         qs_quant_spec_bits_per_value  (const QsQuantSpec    *spec);
gboolean       qs_quant_spec_is_float        (const QsQuantSpec    *spec); /* fp32/fp16/bf16/fp8 */
/* The bits qs_quant_run () reports as stats.storage_bits for this tensor and spec: codes
 * plus scales (and zero-points when affine), without quantizing anything. */
guint64        qs_quant_storage_bits         (const QsTensor       *tensor,
                                              const QsQuantSpec    *spec);
/* The bit widths a format accepts in QsQuantSpec.bits. TRUE when the width is the user's
 * choice (QS_FORMAT_INT: 2..16); FALSE when the format fixes it, with *min_bits == *max_bits
 * == its storage bits (fp16: 16, e4m3: 8, ternary: 2 ...). Both outputs are nullable. */
gboolean       qs_quant_format_get_bits_range (QsFormat             format,
                                              guint                *min_bits,
                                              guint                *max_bits);

/* Params */
QsQuantParams *qs_quant_params_compute       (const QsTensor       *tensor,
                                              const QsQuantSpec    *spec,
                                              GError              **error);
/* Per-tensor params from a known float range (activation calibration). */
QsQuantParams *qs_quant_params_from_range    (const QsQuantSpec    *spec,
                                              float                 lo,
                                              float                 hi,
                                              GError              **error);
QsQuantParams *qs_quant_params_ref           (QsQuantParams        *params);
void           qs_quant_params_unref         (QsQuantParams        *params);
/* Index into scale/zero_point for flat element index i of a tensor these params fit. */
gsize          qs_quant_params_index         (const QsQuantParams  *params,
                                              gsize                 i);

/* The fused pass: prune (if asked), choose ranges, quantize, dequantize and measure. */
QsQuantResult *qs_quant_run                  (QsTensor             *tensor,
                                              const QsQuantSpec    *spec,
                                              const QsQuantOptions *options, /* nullable: stats only */
                                              GCancellable         *cancellable,
                                              GError              **error);
/* A first answer for a big tensor: the statistics of spec measured on a strided subsample of
 * at most max_values values (whole rows of the reduction axis, whole groups), with the
 * ranges chosen on the whole tensor where the granularity allows it (per tensor, per
 * channel along the last axis). The result's input is the sample, is_estimate is set,
 * n_sampled says how many values were measured and the counts in stats (values, NaN, Inf,
 * clipped, pruned) are scaled to the whole tensor; storage_bits and bits_per_value are the
 * whole tensor's. A tensor of at most max_values values (or one the sampling cannot keep
 * the parameter layout of) gets qs_quant_run ()'s exact result. */
QsQuantResult *qs_quant_run_estimate         (QsTensor             *tensor,
                                              const QsQuantSpec    *spec,
                                              const QsQuantOptions *options, /* nullable */
                                              gsize                 max_values,
                                              GCancellable         *cancellable,
                                              GError              **error);
/* Quantize with given params (calibrated activations, engine weights). */
QsQuantResult *qs_quant_run_with_params      (QsTensor             *tensor,
                                              QsQuantParams        *params,
                                              const QsQuantOptions *options,
                                              GCancellable         *cancellable,
                                              GError              **error);
QsQuantResult *qs_quant_result_ref           (QsQuantResult        *result);
void           qs_quant_result_unref         (QsQuantResult        *result);

/* Single-value helpers shared with the engines: identical rounding to qs_quant_run(). */
gint32         qs_quant_value                (float                 x,
                                              float                 scale,
                                              gint32                zero_point,
                                              gint32                qmin,
                                              gint32                qmax,
                                              QsRounding            rounding);
float          qs_dequant_value              (gint32                code,
                                              float                 scale,
                                              gint32                zero_point);
/* qs_quant_value() for the element at flat index `index` of a pass with this seed: the
 * exact code qs_quant_run() gives it, stochastic rounding included (qs_quant_value() is
 * this with seed 0, index 0). Non-finite x gives the zero-point. Binary and ternary
 * params use their own rule (sign, threshold) and are not covered by these helpers. */
gint32         qs_quant_value_at             (float                 x,
                                              float                 scale,
                                              gint32                zero_point,
                                              gint32                qmin,
                                              gint32                qmax,
                                              QsRounding            rounding,
                                              guint64               seed,
                                              guint64               index);
/* Which side x saturates on at flat index `index`: -1 when its rounded value lies below
 * the code range, +1 above, 0 inside (and for non-finite x). This is the definition
 * QsQuantStats.n_clipped counts for QS_FORMAT_INT: a value just outside the params'
 * clip_lo / clip_hi that rounds onto the end code is not clipped. */
gint           qs_quant_value_clip_side_at   (float                 x,
                                              float                 scale,
                                              gint32                zero_point,
                                              gint32                qmin,
                                              gint32                qmax,
                                              QsRounding            rounding,
                                              guint64               seed,
                                              guint64               index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsQuantParams, qs_quant_params_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsQuantResult, qs_quant_result_unref)

/* Enum values by their nick (the JSON / CLI names): the value of nick, and "a, b, c" of all
 * nicks for error messages (free with g_free). Shared by every parser of data files. */
gboolean       qs_enum_from_nick             (GType                 type,
                                              const char           *nick,
                                              gint                 *out);
char          *qs_enum_list_nicks            (GType                 type);

G_END_DECLS
