/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The data colormaps of every Quantscope chart, in one place.
 *
 * Sequential ("viridis"): for values with a natural zero and one direction: |error|,
 * relative error, integer codes. These are the published matplotlib viridis colours
 * (van der Walt & Smith, CC0) sampled at t = 0, 0.1, ... 1 and interpolated linearly in
 * sRGB: perceptually uniform (lightness rises monotonically from dark purple to yellow),
 * readable for the common colour-vision deficiencies, and it keeps its order in greyscale.
 * Both ends stay distinguishable from the light and the dark window background.
 *
 * Diverging ("cool-warm"): for signed values centred on zero (signed error, weights).
 * Kenneth Moreland's "Diverging Color Maps for Scientific Visualization" (2009) cool-warm
 * table (33 points, blue 59,76,192 -> neutral 221,221,221 -> red 180,4,38), interpolated in
 * sRGB. t = -1 is the most negative value, 0 is exactly zero (neutral grey), +1 the most
 * positive; callers map a value v with symmetric limits L as t = v / L so that zero is
 * always the neutral colour and equal magnitudes get equal saturation on both sides.
 *
 * Values outside the domain are clamped; NaN gives the neutral middle colour. */

/* t in [0, 1] -> sRGB in [0, 1]. */
void    qs_colormap_sequential      (double   t,
                                     double   rgb[3]);
/* t in [-1, 1] -> sRGB in [0, 1]. */
void    qs_colormap_diverging       (double   t,
                                     double   rgb[3]);

/* Lookup tables for fast image building: n opaque cairo ARGB32 pixels (0xffRRGGBB), entry i
 * for t = i / (n - 1) over [0, 1] (sequential) or [-1, 1] (diverging). */
void    qs_colormap_fill_lut        (gboolean diverging,
                                     guint32 *lut,
                                     guint    n);

/* Packs an sRGB triple into an opaque ARGB32 pixel (rounding to nearest). */
guint32 qs_colormap_rgb_to_argb32   (const double rgb[3]);

G_END_DECLS
