/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-quant.h"
#include "qs-stats.h"

G_BEGIN_DECLS

/* Range (clipping) selection for QS_FORMAT_INT, by spec->range_method:
 *
 *   minmax      the occupied extent of the histogram (underflow/overflow count as lying at
 *               hist->lo / hist->hi)
 *   percentile  symmetric: [-T, T] with T the range_param percentile of |x|;
 *               affine: [P(100 - p), P(p)] of x. Linear interpolation inside bins.
 *   mse         the clip [a * lo, a * hi], a in (0, 1], that minimises the expected squared
 *               error of round-to-nearest quantization with this spec's scale rule. The
 *               error of each candidate is integrated in closed form over the histogram bins
 *               (values uniform inside a bin): the rounding sawtooth inside the range, the
 *               distance to the end point outside. 64 coarse candidates, two 16-step
 *               refinements; nothing is re-quantized.
 *   kl          TensorRT entropy calibration on the |x| histogram (a signed histogram is
 *               folded): for ~128 candidate threshold bins i >= levels / 2, P = the first i
 *               bins with the outliers added to the last, Q = the same bins without the
 *               outliers merged into levels / 2 bins and spread back over P's non-empty
 *               bins, both smoothed as MXNet does; the threshold minimising KL (P || Q)
 *               gives [-T, T] (affine: intersected with the data extent).
 *
 * The histogram may be of x (any [lo, hi]) or of |x| (lo >= 0). Float formats, binary and
 * ternary use minmax. Errors: QS_QUANT_ERROR_EMPTY when the histogram counts nothing. */
gboolean qs_range_choose         (const QsHistogram *hist,
                                  const QsQuantSpec *spec,
                                  float             *lo,
                                  float             *hi,
                                  GError           **error);

/* The same choice for n finite values: percentile is exact (selection), mse is evaluated
 * exactly on the values when n <= 1024 and otherwise from a histogram of n / 4 bins
 * (512 to 2048); kl uses an |x| histogram of n / 8 bins (at least 2 per target bin, at
 * most 2048, TensorRT's size for large tensors) and about 128 candidate thresholds. With
 * more target bins than histogram bins (16-bit codes) kl keeps the full range. */
gboolean qs_range_choose_values  (const float       *values,
                                  gsize              n,
                                  const QsQuantSpec *spec,
                                  float             *lo,
                                  float             *hi,
                                  GError           **error);

/* Expected mean squared error (per value) of quantizing the histogram's population with
 * this spec clipped to [lo, hi], as the mse search evaluates it. */
double   qs_range_expected_mse   (const QsHistogram *hist,
                                  const QsQuantSpec *spec,
                                  float              lo,
                                  float              hi);

G_END_DECLS
