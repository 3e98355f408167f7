/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the SIMD variants of the quantization kernels (no SIMD of its own). */

#include <string.h>
#include <glib.h>

G_BEGIN_DECLS

/* Counts histogram indices stored as bytes: byte j of every 8 goes to bank j, so eight
 * consecutive increments never hit the same counter. len is a multiple of 8. */
static inline void
_qs_count_hist_bytes (const guint8 *bytes,
                      gsize         len,
                      guint32      *hist,
                      gsize         n_levels)
{
  for (gsize j = 0; j < len; j += 8)
    {
      guint64 w;

      memcpy (&w, bytes + j, 8);
      hist[(w & 0xff)]++;
      hist[1 * n_levels + ((w >> 8) & 0xff)]++;
      hist[2 * n_levels + ((w >> 16) & 0xff)]++;
      hist[3 * n_levels + ((w >> 24) & 0xff)]++;
      hist[4 * n_levels + ((w >> 32) & 0xff)]++;
      hist[5 * n_levels + ((w >> 40) & 0xff)]++;
      hist[6 * n_levels + ((w >> 48) & 0xff)]++;
      hist[7 * n_levels + (w >> 56)]++;
    }
}

G_END_DECLS
