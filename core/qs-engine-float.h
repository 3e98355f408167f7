/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-model.h"

G_BEGIN_DECLS

/* Called after each layer with its float output for the whole batch
 * (batch * per_image floats, NHWC). Runs on a worker thread. */
typedef void (*QsLayerOutputFunc) (const QsLayer *layer,
                                   const float   *output,
                                   gsize          batch,
                                   gsize          per_image,
                                   gpointer       user_data);

/* The float32 reference engine: NHWC, batched, threads over the batch. Immutable after
 * creation; one engine may serve several threads at once. The weights are read when it
 * is created (XNNPACK packs them, BatchNorm is folded): change a tensor, make a new engine.
 * Workspaces (arena, library operators) are kept for later runs until it is freed. */
typedef struct _QsEngineFloat QsEngineFloat;

QsEngineFloat *qs_engine_float_new        (QsModel            *model,
                                           GError            **error);
void           qs_engine_float_free       (QsEngineFloat      *engine);
/* input: batch * input elements; output: batch * n_classes (the last layer's output,
 * softmax included when the model has it). layer_func (nullable) sees every layer's output;
 * when set, the batch is run on the calling thread only. n_threads 0 = all cores. */
gboolean       qs_engine_float_run        (QsEngineFloat      *engine,
                                           const float        *input,
                                           gsize               batch,
                                           float              *output,
                                           guint               n_threads,
                                           QsLayerOutputFunc   layer_func,
                                           gpointer            user_data,
                                           GCancellable       *cancellable,
                                           GError            **error);
/* Replace weights (fake-quantized or retrained) without reloading: name -> QsTensor. */
QsEngineFloat *qs_engine_float_new_with_weights (QsModel     *model,
                                                 GHashTable  *weights,
                                                 GError     **error);

/* Images whose output, or which themselves, hold NaN or infinity: how many, and for the
 * first such image the first value where it appears ("input" when the image itself holds
 * one, else a layer name), found by running that image again layer by layer. Returns the
 * number of such images; *first_layer (nullable out) is set when there is one. */
guint          qs_engine_float_find_nonfinite (QsEngineFloat *engine,
                                               const float   *input,
                                               gsize          batch,
                                               const float   *output,
                                               char         **first_layer);

/* The kernels the float engine runs, for benchmarks and reports: "xnnpack (conv,
 * pointwise, strided, depthwise, dense) + avx2" (the library for those layer classes, our
 * own kernels at that level for the rest) or our own level alone ("avx2"). Static. */
const char    *qs_engine_float_kernels_describe (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsEngineFloat, qs_engine_float_free)

G_END_DECLS
