/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-config.h"
#include "qs-model.h"
#include "qs-preproc-layers.h"
#include "qs-quant.h"

G_BEGIN_DECLS

/* The lowering: the one place that decides how a model + config becomes kernels. The
 * integer engine, calibration, quantization-aware training, the cost model and every
 * exporter read it; none of them decides again.
 *
 * A lowering is plain data, immutable once built (any thread may read it while it holds a
 * reference):
 *
 * - values (QsLoweredValue): every tensor the program holds, in creation order. A value is
 *   float32 or integer (uint8 container codes with a scale and zero-point). Named values
 *   are what ranges, taps and exporters address: the input layer's name, a layer's name
 *   (its output), "name#pre" (a group's output before an activation that runs apart, e.g.
 *   a softmax), "name#dw" (between the depthwise and pointwise stages of a
 *   SeparableConv2D). Unnamed values are conversions (a quantized copy of a float value,
 *   or a float copy of an integer one).
 * - steps (QsLoweredStep): the operations in execution order. A weight step is a fused
 *   group: Dense / Conv2D / DepthwiseConv2D / SeparableConv2D (two steps) with the
 *   BatchNormalization that follows folded into its kernel and bias, and a following
 *   ReLU / ReLU6 fused as an output clamp. A group runs in integers when its layer
 *   quantizes activations, its weight spec is signed symmetric int2..8 per tensor or per
 *   channel, and its reduction fits QS_INT_MAX_K; otherwise in float with the weights
 *   qs_quant_run () fake-quantizes (fp16 / bf16 rounding included).
 * - layers (QsLoweredLayer): for each model layer, the step that computes it, whether it
 *   runs in integers, what was folded or fused into what.
 *
 * An integer value with an own range needs (range_name -> lo, hi) from a QsRangeTable:
 * qs_lowering_list_ranges () lists them with the spec (bits, mapping, range method) each is
 * chosen for. A range fixed by the config (quantization-aware training's) is part of the
 * lowering's answer; calibration supplies the rest. */

#define QS_LOWERED_MAX_INPUTS 16

typedef enum
{
  QS_LOWERED_QUANTIZE,    /* float value -> integer codes (the value's own range) */
  QS_LOWERED_DEQUANTIZE,  /* integer codes -> float */
  QS_LOWERED_CONV,        /* Dense, Conv2D, the pointwise stage of SeparableConv2D: a GEMM */
  QS_LOWERED_DEPTHWISE,   /* DepthwiseConv2D, the depthwise stage of SeparableConv2D */
  QS_LOWERED_POOL,        /* max / average, also global (kernel = the input's h x w) */
  QS_LOWERED_BATCH_NORM,  /* a BatchNormalization that could not be folded (float) */
  QS_LOWERED_ACTIVATION,  /* float: the function; integer: a ReLU / ReLU6 clamp of the codes */
  QS_LOWERED_ADD,
  QS_LOWERED_CONCAT,      /* last axis */
  QS_LOWERED_PAD,         /* ZeroPadding2D */
  QS_LOWERED_RESCALE,     /* Rescaling (float) */
  QS_LOWERED_ALIAS,       /* Flatten, Reshape, Dropout: the same storage, another shape */
  QS_LOWERED_RESIZE,      /* Resizing, CenterCrop (float; geometry in resize) */
} QsLoweredKind;

typedef struct
{
  char        *name;          /* nullable: conversions are unnamed */
  gsize        h, w, c;       /* NHWC without the batch axis; Dense values are h x 1 x c */
  gboolean     is_int;
  /* Integer values: where the quantization parameters come from. */
  gint         params_from;   /* -1: own range (range_name, spec); else the value whose
                               * parameters it shares (pooling, padding, clamps, aliases) */
  char        *range_name;    /* own range: the name looked up in the range table */
  QsQuantSpec  spec;          /* own range: the activation spec */
  gint         alias_of;      /* ALIAS outputs: the value whose storage they share, else -1 */
  gint         producer;      /* the step that writes it; -1 for the model input */
} QsLoweredValue;

typedef struct
{
  QsLoweredKind kind;
  gboolean      is_int;
  gint          layer;        /* the model layer it computes (a group's first layer); -1
                               * for conversions */
  guint         n_inputs;
  gint          inputs[QS_LOWERED_MAX_INPUTS];   /* value indices */
  gint          output;

  /* geometry of CONV / DEPTHWISE / POOL, as the step sees its input and output */
  gsize         kh, kw, sh, sw, dh, dw, pad_t, pad_l, mult;
  gsize         ih, iw, ic, oh, ow, oc;
  gboolean      is_max;       /* POOL */
  gsize         pad[4];       /* PAD: top, bottom, left, right */

  /* The activation at the output: an integer step clamps to ReLU / ReLU6 (act, relu_max);
   * a float step or ACTIVATION applies the function. */
  QsActivation  act;
  float         relu_max, slope, thr, alpha;

  QsRounding    rounding;     /* QUANTIZE: the activation spec's (stochastic -> half-even) */

  /* CONV / DEPTHWISE weights: the layer's kernel as the model holds it (Keras layout; Dense
   * [in, out], Conv2D [kh, kw, in, out], depthwise [kh, kw, c, mult]); with a folded
   * BatchNorm, the program stores it scaled per output channel by fold_scale
   * (qs_lowering_get_step_kernel). The bias is the folded one. */
  QsTensor     *kernel;
  double       *fold_scale;   /* n_out factors gamma / sqrt (var + eps), or NULL */
  float        *bias;         /* n_out values (zeros for the depthwise stage of a separable) */
  gsize         n_out;        /* output channels */
  gsize         k;            /* reduction length per output: kh*kw*ic (GEMM) or kh*kw */
  QsQuantSpec   weight_spec;  /* as the config gives it (integer steps) or resolved (float) */

  float        *bn_scale;     /* BATCH_NORM: y = x * scale + shift per channel */
  float        *bn_shift;
  float         rs_scale;     /* RESCALE: y = x * scale + offset */
  float         rs_offset;
  QsResizeParams resize;      /* RESIZE: the window and output of each image */
} QsLoweredStep;

typedef struct
{
  gint     step;              /* the step computing the layer's output (-1: none, e.g. the input) */
  gint     output;            /* the value holding the layer's output */
  gboolean is_integer;        /* its arithmetic runs in integers (fused layers: their group's) */
  gint     folded_bn;         /* a weight layer: the BatchNormalization folded into it, or -1 */
  gint     folded_into;       /* a folded BatchNormalization: the layer it went into, or -1 */
  gint     fused_into;        /* an Activation fused as a clamp: the layer it went into, or -1 */
} QsLoweredLayer;

/* What the program stores of one layer's kernels (after BatchNorm folding; both kernels of
 * a SeparableConv2D together). */
typedef struct
{
  gint    folded_bn;     /* index of the BatchNormalization folded into this layer, or -1 */
  gint    folded_into;   /* for a folded BatchNormalization: the layer it went into, or -1 */
  gsize   n_values;      /* kernel values */
  double  sqnr_db;       /* stored kernel vs the float (folded) kernel; +inf when exact */
  guint64 storage_bits;  /* codes with scales and zero-points, plus a 32-bit bias per channel */
} QsLoweredWeights;

/* The cost model, computed from the lowering without running anything. */
typedef struct
{
  guint64 float_weight_bytes;     /* every parameter of the model as float32 */
  guint64 weight_bytes;           /* what the program stores: kernels in their formats with
                                   * scales and zero-points, 32-bit biases (folded BatchNorm
                                   * costs nothing), every other parameter as float32 */
  guint64 float_peak_activation_bytes; /* the largest live set of the all-float program */
  guint64 peak_activation_bytes;  /* the largest live set: a step's inputs and output, codes
                                   * at 1 byte (the engine's uint8 containers), float at 4 */
  guint64 macs;                   /* multiply-accumulates of CONV / DEPTHWISE per image */
  guint64 bit_ops;                /* sum of MACs x weight bits x activation bits (32 x 32 in
                                   * float, 16 x 16 for fp16 ...) */
  guint   n_int_steps;
  guint   n_float_steps;
  /* Energy per inference, picojoules, from the per-operation table below
   * (qs_energy_table ()): compute (each MAC a multiply and an accumulate: integer steps an
   * 8-bit multiply scaled by (weight bits x activation bits) / 64 and a 32-bit integer add,
   * float steps a 32-bit float multiply and add, as the engine runs them); weights read once
   * from DRAM (32-bit reads, weight_bytes / 4 of them); activations, every step's inputs
   * read and output written through an 8 KB SRAM (32-bit accesses). */
  double  energy_compute_pj;
  double  energy_weights_pj;
  double  energy_activations_pj;
  double  energy_pj;              /* the sum */
  gboolean has_program;           /* FALSE: the model cannot run (weights-only file, an
                                   * unsupported layer); weights are counted layer by layer
                                   * without folding, activations and operations are 0 */
} QsCost;

/* The energy table: Horowitz, "Computing's energy problem (and what we can do about it)",
 * ISSCC 2014, 45 nm at 0.9 V (QS_ENERGY_SOURCE). */
#define QS_ENERGY_SOURCE "M. Horowitz, Computing's energy problem (and what we can do about it), ISSCC 2014 (45 nm, 0.9 V)"

typedef enum
{
  QS_ENERGY_INT8_ADD,
  QS_ENERGY_INT8_MULT,
  QS_ENERGY_INT32_ADD,
  QS_ENERGY_INT32_MULT,
  QS_ENERGY_FP16_ADD,
  QS_ENERGY_FP16_MULT,
  QS_ENERGY_FP32_ADD,
  QS_ENERGY_FP32_MULT,
  QS_ENERGY_SRAM_READ_32,    /* 32-bit read, 8 KB SRAM */
  QS_ENERGY_DRAM_READ_32,    /* 32-bit read, DRAM */
  QS_ENERGY_N_OPS
} QsEnergyOp;

typedef struct
{
  const char *name;          /* "int8-add", "fp32-mult", "dram-read-32" ... */
  double      picojoules;
} QsEnergyEntry;

/* The table, indexed by QsEnergyOp. */
const QsEnergyEntry *qs_energy_table           (void);

typedef struct
{
  const char        *name;   /* the range table key */
  const QsQuantSpec *spec;   /* the spec the range is chosen for */
  gboolean           fixed;  /* the config fixes it (lo, hi are set) */
  float              lo, hi;
} QsLoweredRange;

/* An integer value's parameters in the engine's uint8 container domain: codes q in
 * [qmin, qmax] stand for scale * (q - zero_point). */
typedef struct
{
  float  scale;
  gint32 zero_point;
  gint32 qmin;
  gint32 qmax;
} QsLoweredParams;

/* The container parameters of a value quantized with spec over [lo, hi] (the range is
 * widened to include 0; signed codes move up by 128). */
gboolean       qs_lowered_params_from_range    (const QsQuantSpec *spec,
                                                float              lo,
                                                float              hi,
                                                QsLoweredParams   *out,
                                                GError           **error);

/* Ranges by value name. */
typedef struct _QsRangeTable QsRangeTable;

QsRangeTable  *qs_range_table_new              (void);
QsRangeTable  *qs_range_table_ref              (QsRangeTable   *table);
void           qs_range_table_unref            (QsRangeTable   *table);
void           qs_range_table_set              (QsRangeTable   *table,
                                                const char     *name,
                                                float           lo,
                                                float           hi);
gboolean       qs_range_table_lookup           (QsRangeTable   *table,
                                                const char     *name,
                                                float          *lo,
                                                float          *hi);
guint          qs_range_table_get_size         (QsRangeTable   *table);

typedef struct _QsLowering QsLowering;

/* config NULL: the all-float lowering (the same groups and fusions in float32, unquantized
 * weights), the program calibration and per-layer activation errors run. */
QsLowering    *qs_lowering_new                 (QsModel        *model,
                                                QsConfig       *config,
                                                GError        **error);
QsLowering    *qs_lowering_ref                 (QsLowering     *lowering);
void           qs_lowering_unref               (QsLowering     *lowering);
QsModel       *qs_lowering_get_model           (QsLowering     *lowering);
QsConfig      *qs_lowering_get_config          (QsLowering     *lowering); /* nullable */
guint          qs_lowering_get_n_values        (QsLowering     *lowering);
const QsLoweredValue *qs_lowering_get_value    (QsLowering     *lowering,
                                                guint           index);
gint           qs_lowering_find_value          (QsLowering     *lowering,
                                                const char     *name);
guint          qs_lowering_get_n_steps         (QsLowering     *lowering);
const QsLoweredStep  *qs_lowering_get_step     (QsLowering     *lowering,
                                                guint           index);
const QsLoweredLayer *qs_lowering_get_layer    (QsLowering     *lowering,
                                                guint           layer_index);
gint           qs_lowering_get_input           (QsLowering     *lowering); /* the float input value */
gint           qs_lowering_get_output          (QsLowering     *lowering); /* the float output value */
/* Follows params_from to the value that owns the range an integer value uses. */
gint           qs_lowering_get_range_owner     (QsLowering     *lowering,
                                                gint            value);
/* The ranges the program needs, in value order (each name once). Free with g_free. */
QsLoweredRange *qs_lowering_list_ranges        (QsLowering     *lowering,
                                                guint          *n_ranges);

/* The weights a CONV / DEPTHWISE step stores: codes and scales (integer steps) or the
 * fake-quantized values (float steps, NULL when they stay float32), from qs_quant_run ()
 * with the step's spec, computed once on first use (thread-safe). */
QsQuantResult *qs_lowering_get_step_weights    (QsLowering     *lowering,
                                                guint           step,
                                                GError        **error);
/* The float kernel a CONV / DEPTHWISE step stores before quantization: BatchNorm folded
 * in (computed once, thread-safe). A new reference; NULL for other steps. */
QsTensor      *qs_lowering_get_step_kernel     (QsLowering     *lowering,
                                                guint           step);
/* Quantizes every kernel now (otherwise done on first use), the kernels on all cores. */
gboolean       qs_lowering_prepare_weights     (QsLowering     *lowering,
                                                GError        **error);
/* Takes the folded kernels and quantized weights previous (a lowering of the same model,
 * e.g. for the config before an edit) has computed for steps that store the same: the same
 * model kernel, kind and folded BatchNorm (folded kernels), and also the same weight spec
 * and integer decision (weights). After a one-layer edit only that layer is quantized
 * again. Computes nothing; a no-op for another model. */
void           qs_lowering_reuse_weights       (QsLowering     *lowering,
                                                QsLowering     *previous);
/* What the program stores of a layer's kernels; computes the weights when needed.
 * Returns TRUE when the layer has kernels in the program. */
gboolean       qs_lowering_get_layer_weights   (QsLowering       *lowering,
                                                guint             layer_index,
                                                QsLoweredWeights *out);
void           qs_lowering_get_cost            (QsLowering     *lowering,
                                                QsCost         *out);
/* The cost of a model with a config: qs_lowering_get_cost () when the model lowers,
 * otherwise each layer's kernels in their format and every other parameter as float32. The
 * app's summary and `quantscope-cli quantize` both show this. */
void           qs_cost_compute                 (QsModel        *model,
                                                QsConfig       *config,
                                                QsCost         *out);
/* The storage of a kernel with a spec, as qs_quant_run () reports it in its statistics. */
guint64        qs_lowering_kernel_storage_bits (const QsTensor    *kernel,
                                                const QsQuantSpec *spec);
/* A readable listing of the groups (one line a step), for tests and `quantscope-cli quantize
 * --lowering`. */
char          *qs_lowering_describe            (QsLowering     *lowering);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsLowering, qs_lowering_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsRangeTable, qs_range_table_unref)

G_END_DECLS
