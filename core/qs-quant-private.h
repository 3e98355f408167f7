/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-quant.h"

G_BEGIN_DECLS

/* Code range [qmin, qmax] of a spec (INT, BINARY, TERNARY; float formats: bit patterns). */
void     _qs_quant_code_range       (const QsQuantSpec *spec,
                                     gint32            *qmin,
                                     gint32            *qmax);
/* Scale and zero-point of QS_FORMAT_INT for the float range [lo, hi] (lo <= hi, finite):
 * symmetric: scale = max (|lo|, |hi|) / qmax (unsigned: max (hi, 0) / qmax), zero-point 0;
 * affine: [lo, hi] widened to contain 0, scale = (hi - lo) / (qmax - qmin), zero-point
 * rounded from qmin - lo / scale and clamped, so 0.0 is exactly code zero-point (TFLite's
 * nudging); pow2_scale rounds the scale up to a power of two first. Unsigned symmetric
 * with nothing above 0 takes -lo / qmax (every value clips to 0). A degenerate range
 * gets scale 1. */
void     _qs_quant_scale_for_range  (const QsQuantSpec *spec,
                                     gint32             qmin,
                                     gint32             qmax,
                                     double             lo,
                                     double             hi,
                                     float             *scale,
                                     gint32            *zero_point);

/* The k-th smallest (0-based, k < n) of v[0..n), reordering v: quickselect, O(n). */
float    _qs_select_kth             (float             *v,
                                     gsize              n,
                                     gsize              k);

G_END_DECLS
