/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-model.h"

G_BEGIN_DECLS

/* The arithmetic of Keras' preprocessing layers inside a model: Normalization as a
 * per-channel affine map, and the image geometry of Resizing and CenterCrop, shared by the
 * float engine and the integer engine's float steps (through the lowering) so both compute
 * the same floats. */

/* Normalization's y = (x - mean) / max (sqrt (variance), 1e-7) as y = x * scale + shift,
 * for c channels (a single mean broadcast when layer->norm_n is 1). */
void qs_normalization_affine (const QsLayer *layer,
                              gsize          c,
                              float         *scale,
                              float         *shift);

/* The image geometry of Keras' Resizing and CenterCrop layers, shared by the float engine
 * and the integer engine's float steps so both compute the same floats.
 *
 * A window (y0, x0, ch, cw) of the input is taken and resized to oh x ow as
 * tf.image.resize does it (what Keras runs): half-pixel centres, no antialiasing;
 * bilinear as TensorFlow's ResizeBilinear (source = (o + 0.5) * scale - 0.5 in float32,
 * lower = max (floor, 0), upper = min (ceil, n - 1), two lerps), nearest as
 * ResizeNearestNeighbor (floor ((o + 0.5) * scale), clamped). */
typedef struct
{
  gsize           ih, iw, c;
  gsize           y0, x0, ch, cw;   /* the window */
  gsize           oh, ow;
  QsInterpolation interpolation;
} QsResizeParams;

/* Resizing (crop_to_aspect_ratio: the largest centred window of the output's aspect ratio,
 * Keras' arithmetic) or CenterCrop (a centred oh x ow window when the input is at least
 * that large, else Keras' smart_resize: the aspect window resized bilinearly). */
void qs_resize_params_init (QsResizeParams  *p,
                            QsLayerKind      kind,
                            gsize            ih,
                            gsize            iw,
                            gsize            c,
                            gsize            oh,
                            gsize            ow,
                            QsInterpolation  interpolation,
                            gboolean         crop_to_aspect_ratio);
/* One image: in ih x iw x c, out oh x ow x c (NHWC floats). */
void qs_resize_f32         (const QsResizeParams *p,
                            const float          *in,
                            float                *out);

G_END_DECLS
