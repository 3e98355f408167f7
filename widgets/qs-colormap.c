/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "qs-colormap.h"

/* matplotlib viridis at t = 0, 0.1, ... 1 (entries 0, 25, 51, ... 255 of the 256 table). */
static const double viridis[11][3] = {
  { 0.267004, 0.004874, 0.329415 },
  { 0.282623, 0.140926, 0.457517 },
  { 0.253935, 0.265254, 0.529983 },
  { 0.206756, 0.371758, 0.553117 },
  { 0.163625, 0.471133, 0.558148 },
  { 0.127568, 0.566949, 0.550556 },
  { 0.134692, 0.658636, 0.517649 },
  { 0.266941, 0.748751, 0.440573 },
  { 0.477504, 0.821444, 0.318195 },
  { 0.741388, 0.873449, 0.149561 },
  { 0.993248, 0.906157, 0.143936 },
};

/* Moreland cool-warm, 33 points over [0, 1], 8-bit sRGB. */
static const guint8 coolwarm[33][3] = {
  {  59,  76, 192 }, {  68,  90, 204 }, {  77, 104, 215 }, {  87, 117, 225 },
  {  98, 130, 234 }, { 108, 142, 241 }, { 119, 154, 247 }, { 130, 165, 251 },
  { 141, 176, 254 }, { 152, 185, 255 }, { 163, 194, 255 }, { 174, 201, 253 },
  { 184, 208, 249 }, { 194, 213, 244 }, { 204, 217, 238 }, { 213, 219, 230 },
  { 221, 221, 221 },
  { 229, 216, 209 }, { 236, 211, 197 }, { 241, 204, 185 }, { 245, 196, 173 },
  { 247, 187, 160 }, { 247, 177, 148 }, { 247, 166, 135 }, { 244, 154, 123 },
  { 241, 141, 111 }, { 236, 127,  99 }, { 229, 112,  88 }, { 222,  96,  77 },
  { 213,  80,  66 }, { 203,  62,  56 }, { 192,  40,  47 }, { 180,   4,  38 },
};

void
qs_colormap_sequential (double t,
                        double rgb[3])
{
  double s;
  int i;

  if (isnan (t))
    t = 0.5;
  t = CLAMP (t, 0.0, 1.0);
  s = t * 10.0;
  i = MIN ((int) s, 9);
  s -= i;
  for (int c = 0; c < 3; c++)
    rgb[c] = viridis[i][c] + (viridis[i + 1][c] - viridis[i][c]) * s;
}

void
qs_colormap_diverging (double t,
                       double rgb[3])
{
  double s;
  int i;

  if (isnan (t))
    t = 0.0;
  t = CLAMP (t, -1.0, 1.0);
  s = (t + 1.0) * 16.0;
  i = MIN ((int) s, 31);
  s -= i;
  for (int c = 0; c < 3; c++)
    rgb[c] = (coolwarm[i][c] + (coolwarm[i + 1][c] - coolwarm[i][c]) * s) / 255.0;
}

guint32
qs_colormap_rgb_to_argb32 (const double rgb[3])
{
  guint32 r = (guint32) lround (CLAMP (rgb[0], 0.0, 1.0) * 255.0);
  guint32 g = (guint32) lround (CLAMP (rgb[1], 0.0, 1.0) * 255.0);
  guint32 b = (guint32) lround (CLAMP (rgb[2], 0.0, 1.0) * 255.0);

  return 0xff000000u | (r << 16) | (g << 8) | b;
}

void
qs_colormap_fill_lut (gboolean diverging,
                      guint32 *lut,
                      guint    n)
{
  g_return_if_fail (lut != NULL);
  g_return_if_fail (n >= 2);

  for (guint i = 0; i < n; i++)
    {
      double t = (double) i / (n - 1), rgb[3];

      if (diverging)
        qs_colormap_diverging (2.0 * t - 1.0, rgb);
      else
        qs_colormap_sequential (t, rgb);
      lut[i] = qs_colormap_rgb_to_argb32 (rgb);
    }
}
