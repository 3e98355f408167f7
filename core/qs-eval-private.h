/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-config.h"
#include "qs-engine-float.h"
#include "qs-eval.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* The float engine with every kernel replaced by its fake-quantized (or fp16/bf16-rounded)
 * values: the quantized side qs_eval_run () runs for configs that quantize no activation. */
QsEngineFloat *_qs_eval_hybrid_engine_new (QsModel  *model,
                                           QsConfig *config,
                                           GError  **error);

/* Bytes of preprocessed inputs the cache holds (its float side's, when they fit in one
 * input window; else 0): for the tests that evaluation memory does not grow with the
 * number of images. */
gsize          _qs_eval_cache_get_input_bytes (QsEvalCache *cache);
/* The input window the cache keeps for the next run (bytes; 0: none). */
gsize _qs_eval_cache_get_spare_window_bytes (QsEvalCache *cache);

G_END_DECLS
