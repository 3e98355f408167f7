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

G_END_DECLS
