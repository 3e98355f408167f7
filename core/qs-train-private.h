/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Internals of the trainer shared by qs-train*.c and the tests. Not installed. */

#include "qs-train.h"

G_BEGIN_DECLS

/* Fixed number of gradient buffers a batch is split into: the result does not depend on
 * the number of threads. */
#define QS_TRAIN_MAX_CHUNKS 8

typedef enum
{
  QS_TNODE_INPUT,
  QS_TNODE_DENSE,
  QS_TNODE_CONV2D,
  QS_TNODE_DEPTHWISE,
  QS_TNODE_MAX_POOL,
  QS_TNODE_AVG_POOL,
  QS_TNODE_GLOBAL_AVG_POOL,
  QS_TNODE_BATCH_NORM,
  QS_TNODE_ACTIVATION,
  QS_TNODE_ADD,
  QS_TNODE_FLATTEN,
  QS_TNODE_DROPOUT,
} QsTNodeKind;

/* One trainable tensor inside the flat parameter vector. */
typedef struct
{
  char           *name;        /* "<layer>/<short>", e.g. "conv1/kernel" */
  gsize           offset;      /* into QsTrainNet.params */
  gsize           size;
  guint           n_dims;
  gsize           shape[QS_TENSOR_MAX_DIMS];
  QsTensorLayout  layout;
} QsTParam;

/* Fake quantization of one node (QAT). */
typedef struct
{
  gboolean       weights;      /* fake-quantize the kernel with weight_spec */
  QsQuantSpec    weight_spec;
  float         *kernel_q;     /* the fake-quantized kernel used by forward and backward */
  guint8        *clip_mask;    /* per output value: 1 = inside the range (gradient passes) */
  float          chunk_lo[QS_TRAIN_MAX_CHUNKS]; /* raw output range of each chunk's images */
  float          chunk_hi[QS_TRAIN_MAX_CHUNKS];
  float         *weight_scale; /* per output channel: the quantized kernel's scale (integer
                                * weight specs), as the engine's requantization uses it */
  gboolean       output;       /* fake-quantize the output ... */
  gint           source;       /* ... with the params of this node: itself (own range, calibrated
                                * as value_name, EMA-tracked) or the node whose integer grid
                                * the output stays on (pooling) */
  char          *value_name;   /* the engine's name of the value: "layer" or "layer#pre" */
  QsQuantSpec    act_spec;
  gboolean       range_init;
  gboolean       range_frozen;
  float          range_lo;     /* EMA of the batch min / max, frozen at the end */
  float          range_hi;
  QsQuantParams *act_params;   /* params of the current range */
  /* The output of an operation the engine runs in integers is computed with the engine's
   * arithmetic, not by rounding the float value: a Dense / Conv2D / DepthwiseConv2D group
   * (int32 bias, fixed-point requantization, a fused ReLU / ReLU6 as a clamp of the codes)
   * from the weight layer's pre-activation value, an Add from its inputs' codes. */
  gint           requant_layer; /* the group's weight node, or -1 */
  gint           in_source[2];  /* the nodes whose params quantize the inputs, or -1 */
  gboolean       clamp_relu;    /* the group's fused activation: ReLU ... */
  float          clamp_max;     /* ... with this maximum (< 0: none) */
} QsTQuant;

typedef struct
{
  QsTNodeKind   kind;
  char         *name;
  char         *class_name;    /* Keras class written to the model file */
  guint         index;
  guint         n_inputs;
  guint         inputs[2];
  gsize         h, w, c;       /* output per image (Dense: 1 x 1 x units) */
  gsize         size;          /* h * w * c */

  /* Configuration. */
  guint         kh, kw, sh, sw;
  QsPadding     padding;
  guint         pad_top, pad_left;
  guint         mult;          /* depthwise multiplier */
  gboolean      use_bias;
  QsActivation  act;           /* LINEAR, RELU (relu_max < 0: none) or SOFTMAX (final layer) */
  float         relu_max;
  float         bn_momentum;
  float         bn_eps;
  float         dropout_rate;

  /* Parameters: indices into QsTrainNet.param_list, -1 when absent. */
  gint          p_kernel, p_bias, p_gamma, p_beta;
  float        *moving_mean;   /* BatchNorm, non-trainable */
  float        *moving_var;

  /* Per-batch buffers (batch_capacity images). */
  float        *out;
  float        *grad;
  guint8       *mask;          /* dropout keep mask / fake-quant clip mask */
  double       *bn_sum;        /* n_chunks * c scratch for batch statistics */
  double       *bn_sum2;
  float        *bn_mean;       /* batch mean and 1/sqrt(var + eps) of the last training forward */
  float        *bn_invstd;

  gboolean      needs_grad;    /* some trainable parameter lies upstream */
  QsTQuant      quant;
} QsTNode;

struct _QsTrainNet
{
  char       *arch;            /* nullable */
  GPtrArray  *nodes;           /* QsTNode *, topological order, node 0 = input */
  GPtrArray  *param_list;      /* QsTParam * */
  gsize       n_params;
  float      *params;
  gsize       input_h, input_w, input_c;
  guint       input_rank;      /* as the model file has it: 3 (h, w, c), 2 (h, w) or 1 (c) */
  guint       n_classes;
  guint64     seed;

  /* Optimizer state. */
  float      *opt_m;
  float      *opt_v;
  guint64     opt_step;

  /* Batch machinery. */
  gsize       batch_capacity;
  guint       n_chunks;
  float     **chunk_grads;     /* n_chunks x n_params */
  float      *grad;            /* reduced gradient */
  double     *chunk_loss;      /* per chunk: summed loss */
  guint      *chunk_correct;
  guint       n_threads;       /* of the qs_parallel_for () calls; 0 = all cores */

  /* QAT */
  gboolean    qat;
  QsConfig   *qat_config;
  float       ema_decay;
};

/* Building. */
QsTNode  *_qs_train_net_add_node     (QsTrainNet   *net,
                                      QsTNodeKind   kind,
                                      const char   *name,
                                      guint         n_inputs,
                                      const guint  *inputs);
gint      _qs_train_net_add_param    (QsTrainNet   *net,
                                      const char   *layer,
                                      const char   *short_name,
                                      guint         n_dims,
                                      const gsize  *shape,
                                      QsTensorLayout layout);
/* Computes shapes, allocates the parameter vector (zeroed) and the BN statistics. */
gboolean  _qs_train_net_finish       (QsTrainNet   *net,
                                      GError      **error);
QsTrainNet *_qs_train_net_new        (void);
void      _qs_train_net_init_weights (QsTrainNet   *net,
                                      guint64       seed);

/* Batch passes. inputs: batch * input size floats. */
gboolean  _qs_train_net_reserve      (QsTrainNet   *net,
                                      gsize         batch,
                                      GError      **error);
void      _qs_train_net_forward      (QsTrainNet   *net,
                                      const float  *inputs,
                                      gsize         batch,
                                      gboolean      training,
                                      guint64       noise_seed);
/* Softmax cross-entropy of the last node against labels; fills the last node's grad
 * (mean over the batch) when want_grad. Returns the summed loss; *correct = top-1 hits. */
double    _qs_train_net_loss         (QsTrainNet   *net,
                                      const guint8 *labels,
                                      gsize         batch,
                                      gboolean      want_grad,
                                      guint        *correct);
/* Backward pass; leaves the reduced gradient (mean loss) in net->grad. */
void      _qs_train_net_backward     (QsTrainNet   *net,
                                      gsize         batch);
/* One full step without the optimizer: forward (training mode), loss, backward. The
 * gradient is left in net->grad. Returns the mean loss. */
double    _qs_train_net_loss_and_grad (QsTrainNet  *net,
                                       const float *inputs,
                                       const guint8*labels,
                                       gsize        batch,
                                       guint64      noise_seed);

/* Layers (qs-train-layers.c): one image range [s0, s1) of a batch. */
void      _qs_tnode_forward          (QsTrainNet   *net,
                                      QsTNode      *node,
                                      guint         chunk,
                                      gsize         s0,
                                      gsize         s1,
                                      gboolean      training,
                                      guint64       noise_seed);
void      _qs_tnode_backward         (QsTrainNet   *net,
                                      QsTNode      *node,
                                      gsize         s0,
                                      gsize         s1,
                                      gsize         batch,
                                      gboolean      training,
                                      float        *param_grad);
/* BatchNorm in training mode is split around the batch statistics. */
void      _qs_tnode_bn_partial_sums  (QsTrainNet   *net,
                                      QsTNode      *node,
                                      guint         chunk,
                                      gsize         s0,
                                      gsize         s1,
                                      gboolean      centered);
void      _qs_tnode_bn_backward_sums (QsTrainNet   *net,
                                      QsTNode      *node,
                                      guint         chunk,
                                      gsize         s0,
                                      gsize         s1);
const float *_qs_tnode_kernel        (QsTrainNet   *net,
                                      QsTNode      *node);
/* The input rows [h0, h1) and columns [w0, w1) an average or max pooling window covers
 * (padding excluded). */
void      _qs_tnode_pool_window      (QsTNode      *node,
                                      QsTNode      *in,
                                      gsize         oh,
                                      gsize         ow,
                                      gsize        *h0,
                                      gsize        *h1,
                                      gsize        *w0,
                                      gsize        *w1);

/* QAT (qs-train-qat.c) */
gboolean  _qs_train_net_quantize_weights (QsTrainNet *net,
                                          GError    **error);
/* Calibrates the ranges not initialised yet, as the integer engine does. */
gboolean  _qs_train_net_init_ranges  (QsTrainNet   *net,
                                      GError      **error);
gboolean  _qs_train_net_freeze_ranges (QsTrainNet  *net,
                                       GError     **error);
/* Recomputes the quantization parameters of every initialised range (after a resume). */
gboolean  _qs_train_net_apply_ranges (QsTrainNet  *net,
                                      GError     **error);
/* Fake-quantizes node outputs of images [s0, s1) with the current ranges. */
void      _qs_tnode_fake_quant_output (QsTrainNet  *net,
                                       QsTNode     *node,
                                       guint        chunk,
                                       gsize        s0,
                                       gsize        s1);
gboolean  _qs_train_net_update_ranges (QsTrainNet  *net,
                                       GError     **error);

/* TRUE when the node's output is the engine's requantization of its group's accumulator
 * (the current ranges and kernel allow it); its own fused activation is then the clamp. */
gboolean  _qs_tnode_requantizes      (QsTrainNet   *net,
                                      QsTNode      *node);

static inline gboolean
_qs_tnode_owns_range (const QsTNode *node)
{
  return node->quant.output && node->quant.source == (gint) node->index;
}

/* Deterministic random numbers: splitmix64 and a counter-based hash. */
guint64   _qs_train_rand_next        (guint64      *state);
double    _qs_train_rand_uniform     (guint64      *state); /* [0, 1) */
guint64   _qs_train_hash             (guint64       a,
                                      guint64       b);

G_END_DECLS
