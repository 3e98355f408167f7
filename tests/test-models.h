/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "quantscope-core.h"

/* Two small hand-built models that reach every step kind of the lowering (shared by
 * test-engine-int, test-export-c and test-export-onnx), with weights from rng:
 * model1: padding, strided conv + BatchNorm + ReLU, depthwise x2 + ReLU6, average pooling
 * (same), max pooling, flatten, dense;
 * model2: branches: Add, a separate ReLU, dilated conv, SeparableConv2D, Concatenate
 * (spatial and flat), global average and max pooling, a sigmoid output. */
QsModel *qs_test_model1 (GRand *rng);
QsModel *qs_test_model2 (GRand *rng);

/* Input [28, 28, 1] -> Conv2D (4, 3x3, relu) -> MaxPool -> Flatten -> Dense (10, softmax),
 * seeded weights, saved as DIR/eval.h5 and loaded back so it has a checksum (shared by
 * test-eval and test-attribution). */
QsModel *qs_test_small_cnn (const char *dir);
/* The index of the largest of n values (the first on ties). */
guint    qs_test_argmax    (const float *p,
                            guint        n);
