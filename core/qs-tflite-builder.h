/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A TFLite model as plain data, serialized by qs_tflite_build () (a C++ translation unit
 * over the flatbuffers code flatc generates from core/tflite-schema.fbs). The values are
 * the schema's: tensor types, builtin operator codes, padding and activation enums. */

enum
{
  QS_TFL_FLOAT32 = 0,
  QS_TFL_INT32 = 2,
  QS_TFL_INT8 = 9,
};

enum
{
  QS_TFL_OP_ADD = 0,
  QS_TFL_OP_AVERAGE_POOL_2D = 1,
  QS_TFL_OP_CONCATENATION = 2,
  QS_TFL_OP_CONV_2D = 3,
  QS_TFL_OP_DEPTHWISE_CONV_2D = 4,
  QS_TFL_OP_DEQUANTIZE = 6,
  QS_TFL_OP_FULLY_CONNECTED = 9,
  QS_TFL_OP_LOGISTIC = 14,
  QS_TFL_OP_MAX_POOL_2D = 17,
  QS_TFL_OP_MUL = 18,
  QS_TFL_OP_RELU = 19,
  QS_TFL_OP_RELU6 = 21,
  QS_TFL_OP_RESHAPE = 22,
  QS_TFL_OP_SOFTMAX = 25,
  QS_TFL_OP_TANH = 28,
  QS_TFL_OP_PAD = 34,
  QS_TFL_OP_QUANTIZE = 114,
};

enum { QS_TFL_PADDING_SAME = 0, QS_TFL_PADDING_VALID = 1 };
enum { QS_TFL_ACT_NONE = 0, QS_TFL_ACT_RELU = 1, QS_TFL_ACT_RELU6 = 3 };

typedef struct
{
  char    *name;
  gint32   shape[4];
  guint    rank;
  gint8    type;
  guint    buffer;          /* 0: no data (activations) */
  guint    n_quant;         /* 0: not quantized */
  float   *scale;           /* n_quant */
  gint64  *zero_point;      /* n_quant */
  gint32   quantized_dimension;
} QsTflTensor;

typedef struct
{
  gint32   builtin;         /* QS_TFL_OP_* */
  gint32   version;
  guint    n_inputs;
  gint32   inputs[16];
  gint32   output;
  /* options, as the operator uses them */
  gint8    padding;
  gint32   stride_w, stride_h, dilation_w, dilation_h;
  gint32   filter_w, filter_h, depth_multiplier;
  gint8    fused_activation;
  gint32   axis;
  float    beta;
} QsTflOp;

typedef struct
{
  GArray    *tensors;       /* QsTflTensor */
  GArray    *ops;           /* QsTflOp */
  GPtrArray *buffers;       /* GBytes; [0] is the empty sentinel */
  gint32     input;
  gint32     output;
  const char *description;
} QsTflModel;

/* The flatbuffer ("TFL3"), checked by the generated verifier; NULL when it fails. */
GBytes *qs_tflite_build (const QsTflModel *model);

G_END_DECLS
