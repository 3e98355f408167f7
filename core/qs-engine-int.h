/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-calib.h"
#include "qs-config.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* The integer-only engine. qs_engine_int_new compiles model + config + calibration into a
 * program of integer kernels with gemmlowp / TFLite int8 semantics:
 *
 * - weights as integer codes (2-8 bits, symmetric, per tensor or per channel) taken from
 *   qs_quant_run() with the layer's weight spec, so the engine, the app and the charts use
 *   the same codes and scales; int32 bias at scale S_in * S_w; per-channel multipliers
 *   and shifts from qs_quantize_multiplier;
 * - BatchNormalization folded into the preceding Dense / Conv2D / DepthwiseConv2D /
 *   SeparableConv2D, ReLU / ReLU6 (also a following Activation or ReLU layer) fused as
 *   output clamps; SeparableConv2D as a depthwise and a pointwise integer stage;
 * - activations as 2-8 bit codes (affine or symmetric, signed or unsigned) with ranges
 *   from the calibration, requantized with qs_multiply_by_quantized_multiplier;
 * - pooling, global pooling, Add and Concatenate (last axis) with rescaling, zero padding;
 *   Flatten / Reshape / Dropout are no-ops;
 * - everything else (sigmoid, tanh, softmax, other activations, standalone BatchNorm,
 *   Rescaling) and every layer whose config keeps activations float runs in float with
 *   the layer's (fake-quantized or fp16/bf16-rounded) weights, with quantize / dequantize
 *   at the boundaries: any mix of precisions works. The last layer's output is
 *   dequantized; a softmax runs in float.
 *
 * A NULL config compiles an all-float program (the same graph and fusions in float32),
 * used for calibration and as the reference of per-layer activation errors.
 * Immutable once built: one engine may run on several threads at once. */
typedef struct _QsEngineInt QsEngineInt;

QsEngineInt *qs_engine_int_new              (QsModel        *model,
                                             QsConfig       *config,     /* nullable: all float */
                                             QsCalibration  *calibration,/* nullable when the config
                                                                            quantizes no activations */
                                             GError        **error);
void         qs_engine_int_free             (QsEngineInt    *engine);

/* input: batch * input elements (float, as qs_dataset_fill_inputs writes them);
 * output: batch * qs_engine_int_get_output_size floats. Threads over the batch
 * (n_threads 0 = all cores). progress (nullable) may be called from worker threads. */
gboolean     qs_engine_int_run              (QsEngineInt    *engine,
                                             const float    *input,
                                             gsize           batch,
                                             float          *output,
                                             guint           n_threads,
                                             QsProgressFunc  progress,
                                             gpointer        progress_data,
                                             GCancellable   *cancellable,
                                             GError        **error);

gsize        qs_engine_int_get_input_size   (QsEngineInt    *engine);
gsize        qs_engine_int_get_output_size  (QsEngineInt    *engine);
/* The integer kernel variant in use ("avx512", "avx2", "ref"; see qs-kernels.h). */
const char  *qs_engine_int_get_kernels_name (QsEngineInt    *engine);
/* TRUE when the layer's arithmetic runs in integers (fused layers report their group). */
gboolean     qs_engine_int_layer_is_integer (QsEngineInt    *engine,
                                             guint           layer_index);
/* What the program stores of a layer's kernels: after BatchNormalization folding, quantized
 * with the layer's weight spec (both kernels of a SeparableConv2D together). */
typedef struct
{
  gint    folded_bn;     /* index of the BatchNormalization folded into this layer, or -1 */
  gint    folded_into;   /* for a folded BatchNormalization: the layer it went into, or -1 */
  gsize   n_values;      /* kernel values */
  double  sqnr_db;       /* stored kernel vs the float (folded) kernel; +inf when exact */
  guint64 storage_bits;  /* codes with scales and zero-points, plus a 32-bit bias per channel */
} QsEngineLayerWeights;

/* Fills out for any layer (folded_into is set on a folded BatchNormalization); returns TRUE
 * when the layer has kernels in the program. */
gboolean     qs_engine_int_get_layer_weights (QsEngineInt          *engine,
                                              guint                 layer_index,
                                              QsEngineLayerWeights *out);
/* Number of integer / float operations in the program (for summaries). */
void         qs_engine_int_count_ops        (QsEngineInt    *engine,
                                             guint          *n_int,
                                             guint          *n_float);

/* Called after each operation with a named value (a layer output, or "name#pre" before a
 * split-off activation, "name#dw" inside SeparableConv2D), dequantized to float when the
 * value is integer. Runs on the calling thread only. */
typedef void (*QsEngineTapFunc) (const char  *value_name,
                                 const float *values,
                                 gsize        n,
                                 gboolean     is_integer,
                                 gpointer     user_data);

gboolean     qs_engine_int_run_tapped       (QsEngineInt    *engine,
                                             const float    *input,    /* one image */
                                             float          *output,   /* nullable */
                                             QsEngineTapFunc tap,
                                             gpointer        user_data,
                                             GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsEngineInt, qs_engine_int_free)

G_END_DECLS
