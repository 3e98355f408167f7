/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-lowering.h"
#include "qs-quant.h"
#include "qs-stats.h"

G_BEGIN_DECLS

/* One value's activations over a calibration set, as the all-float program computed them
 * (qs_calibration_get_activations ()): the calibration's histogram (QS_CALIB_HIST_BINS
 * bins over [min (lo, 0), max (hi, 0)], so it holds every finite value) and exact moments
 * counted in the same pass as the min / max. Immutable and reference counted once made;
 * what a range costs is then measured from it in microseconds (qs_act_stats_measure ()). */
typedef struct
{
  char        *name;          /* the value name ("conv2d", "dense#pre" ...) */
  QsHistogram *hist;
  float        min, max;      /* finite extent (0, 0 when nothing was finite) */
  guint64      n_values;      /* finite values seen: hist->total + underflow + overflow */
  guint64      n_zero;        /* of them exactly 0 (a ReLU's output is mostly zeros) */
  guint64      n_nonfinite;   /* NaN and infinities, not in the histogram */
  double       sum_sq;        /* sum of x^2 over the finite values */

  /*< private >*/
  gint         ref_count;
  GMutex       lock;          /* guards memo */
  GArray      *memo;          /* RangeMemo: ranges chosen so far, by spec */
} QsActStats;

/* What quantizing the activations with spec at the chosen range [lo, hi] does to them. The
 * codes and clip points are the integer engine's (qs_lowered_params_from_range: the range
 * widened to include 0, the zero-point an integer code): values are fake-quantized to
 * scale * (clamp (round (x / scale) + zero_point, qmin, qmax) - zero_point). Counts come
 * from the histogram with values uniform inside a bin (the exact zeros kept at 0), so
 * fractions are within one bin of the exact ones and the SQNR of a layer's output within a
 * few hundredths of a dB (tests/test-act-stats.c). Values on a grid of their own (8-bit
 * images) look uniform too: a range whose levels land on that grid is exact, and the
 * estimate says it is not. */
typedef struct
{
  float           lo, hi;           /* the range asked for */
  QsLoweredParams params;
  float           clip_lo, clip_hi; /* the extent the codes reach: scale * (qmin - zp) ... */
  guint           n_levels;         /* qmax - qmin + 1 */
  double          below_fraction;   /* of the finite values, under clip_lo */
  double          above_fraction;   /* over clip_hi */
  double          clipped_fraction; /* the sum */
  double          signal_power;     /* mean x^2 (exact) */
  double          mse;              /* mean (x - x^)^2 */
  double          clip_mse;         /* the part of mse from clipped values */
  double          sqnr_db;          /* 10 log10 (signal_power / mse); +inf when mse == 0 */
} QsActRangeStats;

QsActStats *qs_act_stats_new             (const char        *name,
                                          QsHistogram       *hist,
                                          float              min,
                                          float              max,
                                          guint64            n_values,
                                          guint64            n_zero,
                                          guint64            n_nonfinite,
                                          double             sum_sq);
QsActStats *qs_act_stats_ref             (QsActStats        *stats);
void        qs_act_stats_unref           (QsActStats        *stats);

/* The range spec->range_method picks for these activations, exactly as
 * qs_calibration_get_range () picks it (min-max from the extent, the others from the
 * histogram through qs_range_choose ()). */
gboolean    qs_act_stats_choose_range    (const QsActStats  *stats,
                                          const QsQuantSpec *spec,
                                          float             *lo,
                                          float             *hi,
                                          GError           **error);
/* Whether qs_act_stats_choose_range () answers at once for spec: min-max, an empty extent,
 * or a range chosen before for an equal spec (choices are remembered: MSE and KL cost up to
 * tens of milliseconds on 2048 bins, so the app makes them in a worker and then asks
 * again on the main thread). Thread-safe, like qs_act_stats_choose_range (). */
gboolean    qs_act_stats_range_is_known  (const QsActStats  *stats,
                                          const QsQuantSpec *spec);
/* Clipping and error of quantizing these activations with spec at [lo, hi]. */
gboolean    qs_act_stats_measure         (const QsActStats  *stats,
                                          const QsQuantSpec *spec,
                                          float              lo,
                                          float              hi,
                                          QsActRangeStats   *out,
                                          GError           **error);
/* The fake quantization qs_act_stats_measure () assumes, for one value. */
float       qs_act_fake_quant            (const QsLoweredParams *params,
                                          float              x);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsActStats, qs_act_stats_unref)

G_END_DECLS
