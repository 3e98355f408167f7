/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-quant.h"

G_BEGIN_DECLS

/* The quantization playground (no model needed): a synthetic weight tensor, quantized per
 * tensor and per channel with one spec; the error split into rounding and clipping; the
 * MSE against the clip threshold with the MSE range method's choice marked. Everything is
 * computed with qs_quant_run () and qs-range, so the playground shows what the library
 * does. No GTK. */

typedef enum
{
  QS_PLAYGROUND_NORMAL,    /*< nick=normal >*/
  QS_PLAYGROUND_LAPLACE,   /*< nick=laplace >*/
  QS_PLAYGROUND_UNIFORM,   /*< nick=uniform >*/
  QS_PLAYGROUND_BIMODAL,   /*< nick=bimodal >*/   /* two normals at +-2 sigma */
  QS_PLAYGROUND_OUTLIERS,  /*< nick=outliers >*/  /* normal with 0.2 % of values at 8-12 sigma */
  QS_PLAYGROUND_N_DISTRIBUTIONS
} QsPlaygroundDistribution;

/* The display name of a distribution (translated). */
const char *qs_playground_distribution_label (QsPlaygroundDistribution distribution);

/* A Dense-layout [n_values / n_channels, n_channels] tensor of seeded samples. Channel c
 * is scaled by spread^(c / (n_channels - 1)) (spread >= 1: the widest channel's range over
 * the narrowest's), which is what makes per-channel scales worth having. */
QsTensor   *qs_playground_make_tensor (QsPlaygroundDistribution distribution,
                                       gsize                    n_values,
                                       guint                    n_channels,
                                       double                   spread,
                                       guint64                  seed,
                                       GError                 **error);

/* One granularity's outcome. */
typedef struct
{
  QsQuantResult *result;        /* codes, dequantized values, histograms (per tensor) */
  double         mse;           /* mean (x̂ - x)^2 over all values */
  double         rounding_mse;  /* the part from values inside the range (each <= (S/2)^2) */
  double         clipping_mse;  /* the part from clipped values */
  double         sqnr_db;
  gsize          n_clipped;
} QsPlaygroundSide;

typedef struct
{
  QsTensor        *tensor;
  QsQuantSpec      spec;          /* QS_FORMAT_INT */
  double           clip;          /* the manual threshold asked for, 0 = the range method */
  QsPlaygroundSide per_tensor;
  QsPlaygroundSide per_channel;
  /* The MSE against the clip: clip [a lo0, a hi0] with [lo0, hi0] the MSE search's start
   * (symmetric: [-max |x|, max |x|]), a on n_points steps in (0, 1]. threshold[i] = a hi0,
   * mse[i] measured by quantizing the tensor per tensor with that clip. */
  guint            n_points;
  double          *threshold;
  double          *curve_mse;
  double           max_threshold; /* hi0 */
  double           optimum;       /* hi of the range qs_range_choose_values () picks with
                                   * range_method MSE: what qs_quant_run () uses */
  double           optimum_mse;   /* measured at the optimum */
  double           used_threshold;/* the per-tensor clip hi actually used */
} QsPlayground;

/* Quantizes tensor (per tensor and per channel) with spec (its granularity is ignored);
 * clip > 0 replaces the range method by the clip [-clip, clip] (affine: intersected with
 * the data) per tensor and the same fraction of each channel's range per channel.
 * hist_bins: histogram bins of the per-tensor result (0: none). */
QsPlayground *qs_playground_new  (QsTensor          *tensor,
                                  const QsQuantSpec *spec,
                                  double             clip,
                                  guint              n_points,
                                  guint              hist_bins,
                                  GCancellable      *cancellable,
                                  GError           **error);
void          qs_playground_free (QsPlayground      *playground);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsPlayground, qs_playground_free)

G_END_DECLS
