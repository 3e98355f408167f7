/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qs-preproc-layers.h"

/* Keras' backend.epsilon (): the smallest denominator of Normalization. */
#define KERAS_EPSILON 1e-7f

void
qs_normalization_affine (const QsLayer *layer,
                         gsize          c,
                         float         *scale,
                         float         *shift)
{
  g_assert (layer->norm_n == 1 || layer->norm_n == c);
  for (gsize k = 0; k < c; k++)
    {
      gsize i = layer->norm_n == 1 ? 0 : k;
      float den = MAX (sqrtf (layer->norm_variance[i]), KERAS_EPSILON);

      scale[k] = 1.0f / den;
      shift[k] = -layer->norm_mean[i] / den;
    }
}

/* Keras' centred window of the target aspect ratio (keras.src.utils.image_utils.smart_resize
 * and ops.image.resize (crop_to_aspect_ratio=True)): float32 quotients truncated, at least
 * one pixel, starts truncated halves. */
static void
aspect_window (QsResizeParams *p)
{
  gsize crop_h = (gsize) ((float) (p->iw * p->oh) / (float) p->ow);
  gsize crop_w = (gsize) ((float) (p->ih * p->ow) / (float) p->oh);

  crop_h = MAX (MIN (p->ih, crop_h), 1);
  crop_w = MAX (MIN (p->iw, crop_w), 1);
  p->ch = crop_h;
  p->cw = crop_w;
  p->y0 = (gsize) ((float) (p->ih - crop_h) / 2.0f);
  p->x0 = (gsize) ((float) (p->iw - crop_w) / 2.0f);
}

void
qs_resize_params_init (QsResizeParams  *p,
                       QsLayerKind      kind,
                       gsize            ih,
                       gsize            iw,
                       gsize            c,
                       gsize            oh,
                       gsize            ow,
                       QsInterpolation  interpolation,
                       gboolean         crop_to_aspect_ratio)
{
  g_assert (ih > 0 && iw > 0 && oh > 0 && ow > 0);
  p->ih = ih; p->iw = iw; p->c = c;
  p->oh = oh; p->ow = ow;
  p->y0 = p->x0 = 0;
  p->ch = ih; p->cw = iw;
  p->interpolation = interpolation;
  if (kind == QS_LAYER_CENTER_CROP)
    {
      p->interpolation = QS_INTERPOLATION_BILINEAR;
      if (ih >= oh && iw >= ow)
        {
          p->y0 = (ih - oh) / 2;
          p->x0 = (iw - ow) / 2;
          p->ch = oh;
          p->cw = ow;
        }
      else
        aspect_window (p);
    }
  else if (crop_to_aspect_ratio)
    aspect_window (p);
}

typedef struct
{
  gsize lower, upper;
  float lerp;
} Weight;

/* TensorFlow's compute_interpolation_weights with the half-pixel scaler. */
static void
bilinear_weights (gsize   in_size,
                  gsize   out_size,
                  Weight *w)
{
  float scale = (float) in_size / (float) out_size;

  for (gsize i = 0; i < out_size; i++)
    {
      float in = ((float) i + 0.5f) * scale - 0.5f;
      float in_f = floorf (in);
      gssize lo = (gssize) in_f, hi = (gssize) ceilf (in);

      w[i].lower = (gsize) MAX (lo, 0);
      w[i].upper = (gsize) MIN (hi, (gssize) in_size - 1);
      w[i].lerp = in - in_f;
    }
}

static gsize
nearest_index (gsize in_size,
               gsize out_size,
               gsize i)
{
  float scale = (float) in_size / (float) out_size;
  gssize v = (gssize) floorf (((float) i + 0.5f) * scale);

  return (gsize) CLAMP (v, 0, (gssize) in_size - 1);
}

void
qs_resize_f32 (const QsResizeParams *p,
               const float          *in,
               float                *out)
{
  gsize c = p->c;

  if (p->ch == p->oh && p->cw == p->ow)
    {
      /* a plain window (CenterCrop, or a resize to the same size: both samplers read the
       * same pixel with weight 0) */
      for (gsize y = 0; y < p->oh; y++)
        memcpy (out + y * p->ow * c, in + ((p->y0 + y) * p->iw + p->x0) * c, p->ow * c * sizeof (float));
      return;
    }
  if (p->interpolation == QS_INTERPOLATION_NEAREST)
    {
      for (gsize y = 0; y < p->oh; y++)
        {
          gsize sy = p->y0 + nearest_index (p->ch, p->oh, y);

          for (gsize x = 0; x < p->ow; x++)
            {
              gsize sx = p->x0 + nearest_index (p->cw, p->ow, x);

              memcpy (out + (y * p->ow + x) * c, in + (sy * p->iw + sx) * c, c * sizeof (float));
            }
        }
      return;
    }
  {
    g_autofree Weight *wy = g_new (Weight, p->oh);
    g_autofree Weight *wx = g_new (Weight, p->ow);

    bilinear_weights (p->ch, p->oh, wy);
    bilinear_weights (p->cw, p->ow, wx);
    for (gsize y = 0; y < p->oh; y++)
      {
        const float *top = in + (p->y0 + wy[y].lower) * p->iw * c;
        const float *bottom = in + (p->y0 + wy[y].upper) * p->iw * c;
        float yl = wy[y].lerp;

        for (gsize x = 0; x < p->ow; x++)
          {
            gsize l = (p->x0 + wx[x].lower) * c, r = (p->x0 + wx[x].upper) * c;
            float xl = wx[x].lerp;
            float *o = out + (y * p->ow + x) * c;

            for (gsize k = 0; k < c; k++)
              {
                float t = top[l + k] + (top[r + k] - top[l + k]) * xl;
                float b = bottom[l + k] + (bottom[r + k] - bottom[l + k]) * xl;

                o[k] = t + (b - t) * yl;
              }
          }
      }
  }
}
