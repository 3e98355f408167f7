/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-lowering.h"
#include "qs-quant.h"

G_BEGIN_DECLS

/* The arithmetic behind one number, for teaching: what the explain panel shows and what a
 * guided lesson can quote. Every number is computed by the library's own functions
 * (qs_quant_value_at, qs_dequant_value, the params of the result, qs_quantize_multiplier,
 * qs_multiply_by_quantized_multiplier's steps), never re-derived with other arithmetic,
 * so what the explanation says is what the engines do. No GTK. */

#define QS_EXPLAIN_ERROR (qs_explain_error_quark ())

typedef enum
{
  QS_EXPLAIN_ERROR_UNSUPPORTED,  /* a format or layer the explanation does not cover */
  QS_EXPLAIN_ERROR_INDEX,        /* an element or output index out of range */
} QsExplainError;

/* One line of an explanation: what is computed, the formula with the actual numbers, and
 * the result ("Scale S", "max (|lo|, |hi|) / qmax = 0.51 / 127", "0.0040157"). */
typedef struct
{
  char *label;
  char *formula;    /* nullable */
  char *value;
} QsExplainLine;

/* Quantization of one weight (QS_FORMAT_INT results). */
typedef struct
{
  gsize       index;          /* flat index into result->input */
  gsize       param_index;    /* into scale / zero_point: the tensor, channel or group */
  gsize       channel;        /* the output channel (0 for per-tensor) */
  QsQuantSpec spec;
  float       x;
  float       data_min;       /* the values that share the element's parameters */
  float       data_max;
  float       clip_lo;        /* the range the range method chose */
  float       clip_hi;
  float       scale;
  gint32      zero_point;
  gint32      qmin;
  gint32      qmax;
  double      x_over_s;       /* x / S */
  gint32      q;              /* qs_quant_value_at () */
  gint32      result_code;    /* the code qs_quant_run () stored (== q unless pruned) */
  gboolean    pruned;
  float       x_hat;          /* qs_dequant_value (q, S, Z) */
  float       result_dequant; /* what qs_quant_run () stored (NaN when it kept no dequant) */
  double      error;          /* x_hat - x */
  double      bound;          /* the largest rounding error inside the range: S / 2 (nearest),
                               * S (floor, stochastic) */
  gint        clip_side;      /* qs_quant_value_clip_side_at (): -1 below, +1 above, 0 */
  double      clipped_by;     /* how far outside the representable range x lies (>= 0) */
  GPtrArray  *lines;          /* QsExplainLine, in reading order */
} QsExplainValue;

/* An integer layer's requantization of one output element. Codes are the engine's uint8
 * container codes (signed int8 is stored as code + 128 with zero-point + 128). */
typedef struct
{
  char       *layer_name;
  gsize       out_index;      /* flat NHWC index into the step's output */
  gsize       oy, ox, oc;
  gsize       n_taps;         /* products summed (taps inside the image) */
  float       s_in;
  float       s_w;
  float       s_out;
  gint32      in_zp;
  gint32      out_zp;
  gint32      out_min;        /* the clamp (code range, narrowed by a fused ReLU / ReLU6) */
  gint32      out_max;
  gint32      bias_q;         /* round (bias / (S_in S_w)) */
  gint64      sum;            /* sum (a - a_zp) * w */
  gint32      acc;            /* the int32 accumulator: bias_q + sum */
  double      m_real;         /* S_in S_w / S_out */
  gint32      m0;             /* qs_quantize_multiplier (): m_real = m0 2^shift / 2^31 */
  gint        shift;
  gint32      shifted;        /* qs_saturating_left_shift (acc, max (shift, 0)) */
  gint32      high_mul;       /* qs_saturating_rounding_doubling_high_mul (shifted, m0) */
  gint32      scaled;         /* qs_rounding_divide_by_pot (high_mul, max (-shift, 0)) */
  gint32      unclamped;      /* out_zp + scaled */
  gint32      code;           /* clamp (unclamped, out_min, out_max) == qs_requant_channel () */
  float       real;           /* s_out (code - out_zp) */
  double      exact;          /* the accumulator's real value before rounding: S_in S_w acc */
  gboolean    has_engine_code;
  gint32      engine_code;    /* what the engine's program wrote for this element */
  QsRequantMode config_mode;  /* the config's mode: the steps shown (and the engine compared)
                                 are gemmlowp's, the TFLite reference, whatever it is */
  GPtrArray  *lines;
} QsExplainRequant;

GQuark            qs_explain_error_quark       (void);

/* Explains element index of a QS_FORMAT_INT result (codes are used when present). */
QsExplainValue   *qs_explain_value_new         (QsQuantResult          *result,
                                                gsize                   index,
                                                GError                **error);
void              qs_explain_value_free        (QsExplainValue         *explain);
/* The element of a result nearest to x (within channel, or anywhere for -1): what a click
 * on a histogram bin explains. */
gsize             qs_explain_find_nearest      (QsQuantResult          *result,
                                                gint                    channel,
                                                double                  x);
/* The element of channel with the largest |x| (the one that sets a min-max range). */
gsize             qs_explain_find_channel_extreme (QsQuantResult       *result,
                                                gsize                   channel);

/* Fills the steps of a requantization from e->acc, s_in, s_w, s_out, out_zp, out_min,
 * out_max (the rest is computed; lines are rebuilt). */
void              qs_explain_requant_compute   (QsExplainRequant       *e);
/* Runs the integer program of lowering + ranges on one image (a model input,
 * qs_engine_int_get_input_size floats) and explains output element out_index of the
 * integer layer layer_index (Dense, Conv2D, DepthwiseConv2D, SeparableConv2D's
 * pointwise stage): its input codes, weight codes and bias give the accumulator, whose
 * requantization is then computed step by step; engine_code is what the program wrote. */
QsExplainRequant *qs_explain_requant_new       (QsLowering             *lowering,
                                                QsRangeTable           *ranges,
                                                const float            *image,
                                                guint                   layer_index,
                                                gsize                   out_index,
                                                GError                **error);
/* The number of output elements of the layer's step (0 when it cannot be explained). */
gsize             qs_explain_requant_n_outputs (QsLowering             *lowering,
                                                guint                   layer_index);
void              qs_explain_requant_free      (QsExplainRequant       *explain);

/* Plain text: one "label: formula = value" line per QsExplainLine. */
char             *qs_explain_lines_to_text     (GPtrArray              *lines);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsExplainValue, qs_explain_value_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsExplainRequant, qs_explain_requant_free)

G_END_DECLS
