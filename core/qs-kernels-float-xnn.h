/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-kernels-params.h"

G_BEGIN_DECLS

/* The float engine's library kernels: XNNPACK's F32 NHWC operators (convolution,
 * depthwise convolution, fully connected), the ones LiteRT runs on CPUs, and oneDNN's
 * convolution (NHWC, weights reordered once into the format its primitive picks, the
 * clamp as an eltwise relu / clip post-op, one image per call) for the convolution
 * classes where it measures faster. Each optional at build time (meson -Dxnnpack=auto,
 * QS_HAVE_XNNPACK; -Donednn=auto, QS_HAVE_ONEDNN); without them every function here
 * reports "not available" and the float engine keeps its own kernels.
 *
 * An operator packs its weights when created and keeps the state of its last setup, so
 * each worker of the float engine has its own set; one operator is never run by two
 * threads at once. Operators run single-threaded (no pthreadpool; oneDNN's OpenMP runtime
 * set to one thread around each call): the engine splits the batch over its threads itself.
 *
 * Arithmetic: XNNPACK sums in its own blocked order with FMA, so results differ from the
 * reference kernels in the last bits (tests/test-kernels-float-xnn.c bounds the gap). Each
 * output element is computed by the same micro-kernel whatever the batch size and its
 * position in the batch, so results do not depend on the micro-batch or thread split. */

typedef struct _QsXnnOp QsXnnOp;

/* The layer classes the engine chooses a library for, one bit each. */
typedef enum
{
  QS_XNN_CLASS_CONV      = 1 << 0,  /* Conv2D, stride 1, kernel larger than 1 x 1 */
  QS_XNN_CLASS_POINTWISE = 1 << 1,  /* Conv2D 1 x 1, stride 1 */
  QS_XNN_CLASS_STRIDED   = 1 << 2,  /* Conv2D with a stride > 1 */
  QS_XNN_CLASS_DEPTHWISE = 1 << 3,  /* DepthwiseConv2D */
  QS_XNN_CLASS_DENSE     = 1 << 4,  /* Dense */
} QsXnnClass;

/* The libraries behind a QsXnnOp (issue 16, round 2: oneDNN for the convolution classes
 * where it measures faster; meson -Donednn=auto, QS_HAVE_ONEDNN). */
typedef enum
{
  QS_XNN_LIBRARY_XNNPACK,
  QS_XNN_LIBRARY_ONEDNN,
} QsXnnLibrary;

/* The classes the float engine runs through a library: 0 when none is built, when
 * QS_KERNELS names one of our own levels (ref, avx2, avx512: forces the own kernels
 * everywhere), or when the libraries do not initialise on this CPU. QS_FLOAT_LIBRARY=
 * own|xnnpack|onednn or a list of CLASS[=xnnpack|onednn] overrides the default (oneDNN for
 * the convolutions, XNNPACK for the rest, as measured: docs/BENCHMARKS.md). */
guint        _qs_xnn_classes        (void);
/* "xnnpack (conv, pointwise, strided, depthwise, dense)" or NULL (own kernels only);
 * with oneDNN: "onednn (conv, pointwise, strided), xnnpack (depthwise, dense)". */
const char  *_qs_xnn_describe       (void);
/* The subset of _qs_xnn_classes () that runs through oneDNN (conv, pointwise, strided at
 * most; 0 without it). QS_FLOAT_LIBRARY=onednn, or CLASS=onednn in a list, chooses it. */
guint        _qs_xnn_onednn_classes (void);
/* Whether the library was built in and initialises (whatever QS_FLOAT_LIBRARY says). */
gboolean     _qs_xnn_library_available (QsXnnLibrary library);
/* The convolution's class (conv, pointwise or strided) from its geometry. */
QsXnnClass   _qs_xnn_conv_class     (const QsConvParams *p);

/* Convolution on NHWC images; filter in Keras layout [kh][kw][in][out] (copied and
 * transposed for the library), through the library QS_FLOAT_LIBRARY chooses for its class
 * (oneDNN, falling back to XNNPACK when oneDNN refuses the shape). out_min/out_max: the fused clamp (-INFINITY, INFINITY for
 * none). NULL when the library is missing or refuses the shape: the caller falls back. */
QsXnnOp     *_qs_xnn_conv_new       (const QsConvParams *p,
                                     const float        *filter,
                                     const float        *bias,
                                     float               out_min,
                                     float               out_max);
/* The same through the given library (benchmarks, tests), whatever QS_FLOAT_LIBRARY says:
 * NULL when that library is missing or refuses the shape. */
QsXnnOp     *_qs_xnn_conv_new_with  (QsXnnLibrary        library,
                                     const QsConvParams *p,
                                     const float        *filter,
                                     const float        *bias,
                                     float               out_min,
                                     float               out_max);
/* Another operator for the layer twin (nullable) was made for, with the same arguments
 * (the float engine's next workspace): a oneDNN operator reads twin's reordered weights in
 * place (read-only, kept until every operator sharing them is freed: any order) instead of
 * reordering a copy of its own; XNNPACK operators pack their own (the 2022 XNNPACK Debian
 * ships has no weights cache). Results are those of _qs_xnn_conv_new, bit for bit. */
QsXnnOp     *_qs_xnn_conv_new_like  (QsXnnOp            *twin,
                                     const QsConvParams *p,
                                     const float        *filter,
                                     const float        *bias,
                                     float               out_min,
                                     float               out_max);
/* TRUE when a and b read one copy of the packed weights (tests). */
gboolean     _qs_xnn_op_shares_weights (QsXnnOp *a,
                                        QsXnnOp *b);
/* Depthwise convolution; filter [kh][kw][in * depth_multiplier], used in place. */
QsXnnOp     *_qs_xnn_depthwise_new  (const QsDepthwiseParams *p,
                                     const float             *filter,
                                     const float             *bias,
                                     float                    out_min,
                                     float                    out_max);
/* Fully connected: out[r][n] = bias[n] + sum_k in[r][k] * w[k][n], w [k][n]. */
QsXnnOp     *_qs_xnn_dense_new      (gsize               k,
                                     gsize               n,
                                     const float        *w,
                                     const float        *bias,
                                     float               out_min,
                                     float               out_max);
/* batch: images (convolutions) or rows (dense). FALSE if the library fails. */
gboolean     _qs_xnn_op_run         (QsXnnOp            *op,
                                     gsize               batch,
                                     const float        *input,
                                     float              *output);
void         _qs_xnn_op_free        (QsXnnOp            *op);

G_END_DECLS
