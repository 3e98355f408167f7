/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-lowering.h"
#include "qs-model.h"
#include "qs-stats.h"

G_BEGIN_DECLS

#define QS_ENGINE_INT_ERROR (qs_engine_int_error_quark ())

typedef enum
{
  QS_ENGINE_INT_ERROR_NO_RANGE,   /* an integer value has no range in the table */
} QsEngineIntError;

/* The integer-only engine. qs_engine_int_new compiles a lowering (qs-lowering.h: the
 * groups, the integer/float decision, the stored weight codes) and a table of activation
 * ranges into a program of integer kernels with gemmlowp / TFLite int8 semantics:
 *
 * - weights as int8 containers of 2-8 bit codes with the lowering's scales; int32 bias at
 *   scale S_in * S_w; per-channel multipliers and shifts from qs_quantize_multiplier;
 * - activations as 2-8 bit codes (affine or symmetric, signed or unsigned; uint8
 *   containers) with parameters from each value's range, requantized with
 *   qs_multiply_by_quantized_multiplier; fused ReLU / ReLU6 as clamps of the codes;
 * - pooling, global pooling, Add and Concatenate (last axis) with rescaling, zero padding;
 *   Flatten / Reshape / Dropout share storage;
 * - float steps (everything the lowering keeps in float) run on float32 with the
 *   lowering's (fake-quantized or fp16/bf16-rounded) weights, with quantize / dequantize
 *   at the boundaries. The last value is dequantized; a softmax runs in float.
 *
 * The all-float lowering (config NULL) compiles without ranges: calibration runs it.
 * Immutable once built and reference counted: one engine may run on several threads at
 * once. qs_engine_int_free drops a reference. */
typedef struct _QsEngineInt QsEngineInt;

GQuark       qs_engine_int_error_quark      (void);
QsEngineInt *qs_engine_int_new              (QsLowering     *lowering,
                                             QsRangeTable   *ranges,     /* nullable when the lowering
                                                                            needs none */
                                             GError        **error);
/* The same, taking from previous (nullable; a program of the same model, e.g. for the
 * config before an edit) the quantized weights and compiled integer weights of every layer
 * that compiles to the same: after a one-layer edit only that layer is quantized and packed
 * again. The program is the one qs_engine_int_new () would build. */
QsEngineInt *qs_engine_int_new_reusing      (QsLowering     *lowering,
                                             QsRangeTable   *ranges,
                                             QsEngineInt    *previous,
                                             GError        **error);
QsEngineInt *qs_engine_int_ref              (QsEngineInt    *engine);
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
/* The requantization mode the engine computes in: its lowering's config's (qs-config.h). */
QsRequantMode qs_engine_int_get_requant_mode (QsEngineInt  *engine);
/* The integer kernel variant in use ("avx512", "avx2", "ref"; see qs-kernels.h). */
const char  *qs_engine_int_get_kernels_name (QsEngineInt    *engine);
QsLowering  *qs_engine_int_get_lowering     (QsEngineInt    *engine);
/* TRUE when the layer's arithmetic runs in integers (fused layers report their group). */
gboolean     qs_engine_int_layer_is_integer (QsEngineInt    *engine,
                                             guint           layer_index);
typedef QsLoweredWeights QsEngineLayerWeights;

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

/* Per-op timing (bench --per-layer): every op of the compiled program run on batch images
 * one after another on the calling thread; CPU seconds of that thread per image (other load
 * on the machine does not count). value: the op's output value
 * (NULL for a conversion); layer_class: "conv-3x3", "conv-1x1", "conv-other", "dense",
 * "depthwise", "add", "pool", "quantize", ... ("float-..." for the float islands). */
typedef struct
{
  const char *value;
  const char *layer_class;
  double      seconds;
  double      macs;          /* multiply-accumulates per image; 0 for the other ops */
} QsEngineOpTime;

/* Returns a GArray of QsEngineOpTime (strings owned by the engine). */
GArray      *qs_engine_int_profile          (QsEngineInt    *engine,
                                             const float    *input,
                                             gsize           batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsEngineInt, qs_engine_int_free)

G_END_DECLS
