/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-model.h"

G_BEGIN_DECLS

/* Synthetic models with seeded weights, for benchmarks and responsiveness probes that need
 * real sizes without shipping files (quantscope-cli bench, tests/gui/bench-live).
 *
 * The big MLP: 4096 -> Dense 4096 (16.8M parameters) -> Dense N -> Dense 10, about n_params
 * parameters in all (at least the first layer's); N is a multiple of 32 so that group
 * presets (w4g32) fit every layer. Weights uniform in [-0.025, 0.025) from a fixed LCG,
 * biases 0: the same model on every machine. */
QsModel *qs_synthetic_mlp (guint64   n_params,
                           GError  **error);

/* ResNet-50 in the Keras applications layout (25.6M parameters at width_div 1, 224, 1000
 * classes); width_div and size shrink it. Weights uniform in +-0.05, BatchNorm statistics
 * random (not settled). */
QsModel *qs_synthetic_resnet50   (guint    width_div,
                                  gsize    size,
                                  gsize    classes,
                                  GError **error);
/* torchvision's resnet18 (11.7M parameters at 1000 classes) and mobilenet_v2 (3.5M) as
 * Keras functional graphs on size x size x 3 inputs: convolutions without bias, He-uniform
 * kernels, BatchNorm (gamma in [0.5, 1.5), beta in +-0.1), ReLU / ReLU6, explicit
 * ZeroPadding2D before strided convolutions (PyTorch's symmetric padding). BatchNorm
 * statistics are placeholders until qs_synthetic_settle_batch_norm. */
QsModel *qs_synthetic_resnet18   (gsize    size,
                                  gsize    classes,
                                  GError **error);
QsModel *qs_synthetic_mobilenet_v2 (gsize  size,
                                    gsize  classes,
                                    GError **error);
/* The Fashion-MNIST CNN of ../shared/models (Muhtashim009), same shapes, random weights. */
QsModel *qs_synthetic_fmnist_cnn (GError **error);

/* n random uint8 images of h x w x c (GRand with seed: the pixels, then the labels) and
 * random labels in [0, classes) as the NumPy files x_path ((n, h, w, c), |u1) and y_path
 * ((n,), <i8): a dataset of a model's input shape for benchmarks. Writes are atomic. */
gboolean qs_synthetic_write_dataset (const char *x_path,
                                     const char *y_path,
                                     guint       n,
                                     gsize       h,
                                     gsize       w,
                                     gsize       c,
                                     guint       classes,
                                     guint32     seed,
                                     GError    **error);

/* n_values uniform values in [0, 1) from an LCG: "synthetic images". */
void     qs_synthetic_images     (float    *out,
                                  gsize     n_values,
                                  guint32   seed);
/* Sets every BatchNormalization's moving_mean / moving_variance, in place, to the batch
 * statistics of its input over n_images synthetic images (qs_synthetic_images (seed)), in
 * one float-engine pass where each BN already normalises with its new statistics before
 * the next one is measured: every BN output then has mean beta and standard deviation
 * |gamma| per channel on such images, so activations stay in range through any depth.
 * Only for a model this module built and nobody else holds yet (it writes its weights). */
gboolean qs_synthetic_settle_batch_norm (QsModel  *model,
                                         guint     n_images,
                                         guint32   seed,
                                         GError  **error);

G_END_DECLS
