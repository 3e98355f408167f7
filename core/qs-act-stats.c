/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qs-act-stats.h"
#include "qs-range.h"

typedef struct
{
  QsQuantSpec spec;
  float       lo, hi;
  GError     *error;
} RangeMemo;

static void
range_memo_clear (gpointer data)
{
  RangeMemo *m = data;

  g_clear_error (&m->error);
}

QsActStats *
qs_act_stats_new (const char  *name,
                  QsHistogram *hist,
                  float        min,
                  float        max,
                  guint64      n_values,
                  guint64      n_zero,
                  guint64      n_nonfinite,
                  double       sum_sq)
{
  QsActStats *stats;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (hist != NULL, NULL);

  stats = g_new0 (QsActStats, 1);
  stats->ref_count = 1;
  stats->name = g_strdup (name);
  stats->hist = qs_histogram_ref (hist);
  stats->min = min;
  stats->max = max;
  stats->n_values = n_values;
  stats->n_zero = n_zero;
  stats->n_nonfinite = n_nonfinite;
  stats->sum_sq = sum_sq;
  g_mutex_init (&stats->lock);
  stats->memo = g_array_new (FALSE, FALSE, sizeof (RangeMemo));
  g_array_set_clear_func (stats->memo, range_memo_clear);
  return stats;
}

QsActStats *
qs_act_stats_ref (QsActStats *stats)
{
  g_return_val_if_fail (stats != NULL, NULL);
  g_atomic_int_inc (&stats->ref_count);
  return stats;
}

void
qs_act_stats_unref (QsActStats *stats)
{
  g_return_if_fail (stats != NULL);

  if (g_atomic_int_dec_and_test (&stats->ref_count))
    {
      qs_histogram_unref (stats->hist);
      g_array_unref (stats->memo);
      g_mutex_clear (&stats->lock);
      g_free (stats->name);
      g_free (stats);
    }
}

/* Min-max, or nothing to choose from: the range is the extent, no search. */
static gboolean
range_is_extent (const QsActStats  *stats,
                 const QsQuantSpec *spec)
{
  return spec->range_method == QS_RANGE_MINMAX || stats->min == stats->max;
}

/* The remembered choice for spec, or NULL; stats->lock held. */
static const RangeMemo *
memo_find (const QsActStats  *stats,
           const QsQuantSpec *spec)
{
  for (guint i = 0; i < stats->memo->len; i++)
    {
      const RangeMemo *m = &g_array_index (stats->memo, RangeMemo, i);

      if (qs_quant_spec_equal (&m->spec, spec))
        return m;
    }
  return NULL;
}

gboolean
qs_act_stats_range_is_known (const QsActStats  *stats,
                             const QsQuantSpec *spec)
{
  QsActStats *s = (QsActStats *) stats;
  gboolean known;

  g_return_val_if_fail (stats != NULL && spec != NULL, FALSE);

  if (range_is_extent (stats, spec))
    return TRUE;
  g_mutex_lock (&s->lock);
  known = memo_find (stats, spec) != NULL;
  g_mutex_unlock (&s->lock);
  return known;
}

gboolean
qs_act_stats_choose_range (const QsActStats  *stats,
                           const QsQuantSpec *spec,
                           float             *lo,
                           float             *hi,
                           GError           **error)
{
  QsActStats *s = (QsActStats *) stats;
  const RangeMemo *found;
  RangeMemo m = { 0 };
  gboolean ok;

  g_return_val_if_fail (stats != NULL && spec != NULL, FALSE);
  g_return_val_if_fail (lo != NULL && hi != NULL, FALSE);

  /* as qs_calibration_get_range () */
  *lo = stats->min;
  *hi = stats->max;
  if (range_is_extent (stats, spec))
    return TRUE;
  g_mutex_lock (&s->lock);
  found = memo_find (stats, spec);
  if (found != NULL)
    {
      *lo = found->lo;
      *hi = found->hi;
      if (found->error != NULL)
        g_propagate_error (error, g_error_copy (found->error));
      g_mutex_unlock (&s->lock);
      return found->error == NULL;
    }
  g_mutex_unlock (&s->lock);

  /* outside the lock: two threads may both choose; the choice is deterministic */
  m.spec = *spec;
  m.lo = *lo;
  m.hi = *hi;
  if (!qs_range_choose (stats->hist, spec, &m.lo, &m.hi, &m.error))
    {
      m.lo = *lo;
      m.hi = *hi;
    }
  *lo = m.lo;
  *hi = m.hi;
  ok = m.error == NULL;
  if (!ok)
    g_propagate_error (error, g_error_copy (m.error));
  g_mutex_lock (&s->lock);
  if (memo_find (stats, spec) == NULL)
    g_array_append_val (s->memo, m);
  else
    g_clear_error (&m.error);
  g_mutex_unlock (&s->lock);
  return ok;
}

float
qs_act_fake_quant (const QsLoweredParams *params,
                   float                  x)
{
  float q = nearbyintf (x / params->scale) + params->zero_point;

  q = CLAMP (q, (float) params->qmin, (float) params->qmax);
  return params->scale * (q - params->zero_point);
}

/* The integral of (x - g)^2 over [u, v]. */
static double
square_integral (double u,
                 double v,
                 double g)
{
  double a = u - g, b = v - g;

  return (b * b * b - a * a * a) / 3.0;
}

/* The integral of (x - x^)^2 over [u, v] (u <= v) for the fake quantization: the clip
 * points outside, the nearest level inside (level k at clip_lo + k * scale). */
static double
error_integral (const QsActRangeStats *r,
                double                 u,
                double                 v)
{
  double s = r->params.scale, e = 0.0;

  if (u < r->clip_lo)
    {
      double w = MIN (v, r->clip_lo);

      e += square_integral (u, w, r->clip_lo);
      u = w;
    }
  if (v > r->clip_hi)
    {
      double w = MAX (u, r->clip_hi);

      e += square_integral (w, v, r->clip_hi);
      v = w;
    }
  if (v <= u)
    return e;
  {
    gint64 k = (gint64) floor ((u - r->clip_lo) / s + 0.5);
    gint64 k_end = (gint64) floor ((v - r->clip_lo) / s + 0.5);

    for (; k <= k_end; k++)
      {
        double g = r->clip_lo + k * s;
        double a = MAX (u, g - 0.5 * s), b = MIN (v, g + 0.5 * s);

        if (b > a)
          e += square_integral (a, b, g);
      }
  }
  return e;
}

gboolean
qs_act_stats_measure (const QsActStats  *stats,
                      const QsQuantSpec *spec,
                      float              lo,
                      float              hi,
                      QsActRangeStats   *out,
                      GError           **error)
{
  const QsHistogram *h;
  double width, below = 0.0, above = 0.0, sq = 0.0, clip_sq = 0.0, n;
  gint zero_bin = -1;

  g_return_val_if_fail (stats != NULL && spec != NULL && out != NULL, FALSE);

  memset (out, 0, sizeof *out);
  out->lo = lo;
  out->hi = hi;
  if (!qs_lowered_params_from_range (spec, lo, hi, &out->params, error))
    return FALSE;
  out->clip_lo = out->params.scale * (out->params.qmin - out->params.zero_point);
  out->clip_hi = out->params.scale * (out->params.qmax - out->params.zero_point);
  out->n_levels = (guint) (out->params.qmax - out->params.qmin + 1);
  n = (double) stats->n_values;
  out->signal_power = n > 0 ? stats->sum_sq / n : 0.0;
  if (n == 0)
    {
      out->sqnr_db = INFINITY;
      return TRUE;
    }

  h = stats->hist;
  width = (h->hi - h->lo) / h->n_bins;
  /* The exact zeros sit at 0 (quantized without error: 0 is a level), not spread over
   * their bin. */
  if (stats->n_zero > 0 && h->lo <= 0.0 && h->hi >= 0.0)
    zero_bin = (gint) MIN ((guint) ((0.0 - h->lo) / width), h->n_bins - 1);
  for (guint k = 0; k < h->n_bins; k++)
    {
      double c = (double) h->counts[k];
      double a = h->lo + k * width, b = a + width;

      if (k == (guint) zero_bin)
        c = MAX (c - (double) stats->n_zero, 0.0);
      if (c <= 0)
        continue;
      if (a < out->clip_lo)
        below += c * MIN ((out->clip_lo - a) / width, 1.0);
      if (b > out->clip_hi)
        above += c * MIN ((b - out->clip_hi) / width, 1.0);
      sq += c / width * error_integral (out, a, b);
      if (a < out->clip_lo)
        clip_sq += c / width * square_integral (a, MIN (b, out->clip_lo), out->clip_lo);
      if (b > out->clip_hi)
        clip_sq += c / width * square_integral (MAX (a, out->clip_hi), b, out->clip_hi);
    }
  /* values outside the histogram count as lying at its ends */
  if (h->underflow > 0)
    {
      double d = MAX (out->clip_lo - h->lo, 0.0);

      if (h->lo < out->clip_lo)
        below += h->underflow;
      sq += h->underflow * d * d;
      clip_sq += h->underflow * d * d;
    }
  if (h->overflow > 0)
    {
      double d = MAX (h->hi - out->clip_hi, 0.0);

      if (h->hi > out->clip_hi)
        above += h->overflow;
      sq += h->overflow * d * d;
      clip_sq += h->overflow * d * d;
    }
  out->below_fraction = below / n;
  out->above_fraction = above / n;
  out->clipped_fraction = (below + above) / n;
  out->mse = sq / n;
  out->clip_mse = clip_sq / n;
  out->sqnr_db = out->mse > 0 ? 10.0 * log10 (out->signal_power / out->mse) : INFINITY;
  return TRUE;
}
