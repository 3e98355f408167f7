/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-quant-private.h"
#include "qs-range.h"

#define RANGE_BINS        2048  /* histogram resolution for mse/kl (TensorRT uses 2048) */
#define COARSE_STEPS      64
#define REFINE_STEPS      16
#define EXACT_MSE_VALUES  1024  /* up to this many values the mse search is exact */

/* Bins for a histogram of n values: enough resolution for the search, never far more bins
 * than values (a channel or a group of 32 does not need TensorRT's 2048). */
static guint
bins_for (gsize n,
          guint at_least)
{
  gsize b = MAX (n / 4, (gsize) at_least);

  return (guint) MIN (b, (gsize) RANGE_BINS);
}

/* A histogram as the search sees it: n bins of equal width from lo, plus point masses at
 * the two ends (a QsHistogram's underflow and overflow). */
typedef struct
{
  guint   n;
  double  lo;
  double  width;
  double *counts;
  double  under;       /* mass at lo */
  double  over;        /* mass at lo + n * width */
  double  total;
} Hist;

static void
hist_from_qs (const QsHistogram *src,
              Hist              *h)
{
  h->n = src->n_bins;
  h->lo = src->lo;
  h->width = (src->hi - src->lo) / src->n_bins;
  h->counts = g_new (double, src->n_bins);
  for (guint i = 0; i < src->n_bins; i++)
    h->counts[i] = (double) src->counts[i];
  h->under = (double) src->underflow;
  h->over = (double) src->overflow;
  h->total = (double) src->total + h->under + h->over;
}

static void
hist_clear (Hist *h)
{
  g_clear_pointer (&h->counts, g_free);
}

/* The occupied extent [lo, hi] of the histogram. */
static void
hist_extent (const Hist *h,
             double     *lo,
             double     *hi)
{
  guint first = 0, last = h->n;

  while (first < h->n && h->counts[first] == 0.0)
    first++;
  while (last > first && h->counts[last - 1] == 0.0)
    last--;
  *lo = h->under > 0.0 || first == h->n ? h->lo : h->lo + first * h->width;
  *hi = h->over > 0.0 || first == h->n ? h->lo + h->n * h->width : h->lo + last * h->width;
  if (first == h->n && h->under > 0.0 && h->over == 0.0)
    *hi = h->lo;
  if (first == h->n && h->over > 0.0 && h->under == 0.0)
    *lo = *hi;
}

/* --------------------------------------------------------- closed-form error integrals */

typedef struct
{
  double s;            /* scale */
  double g_lo;         /* lowest and highest representable value */
  double g_hi;
  double r_lo;         /* the rounding region [g_lo - s/2, g_hi + s/2] */
  double r_hi;
} Grid;

static void
grid_for_range (const QsQuantSpec *spec,
                gint32             qmin,
                gint32             qmax,
                double             lo,
                double             hi,
                Grid              *g)
{
  float scale;
  gint32 zp;

  _qs_quant_scale_for_range (spec, qmin, qmax, lo, hi, &scale, &zp);
  g->s = scale;
  g->g_lo = (double) (qmin - zp) * scale;
  g->g_hi = (double) (qmax - zp) * scale;
  g->r_lo = g->g_lo - 0.5 * g->s;
  g->r_hi = g->g_hi + 0.5 * g->s;
}

/* G(u) = integral from 0 to u of saw(t)^2, saw(t) = t - s round (t / s): n full periods of
 * s^3 / 12 plus the partial period r in [0, s). */
static inline double
saw_integral (double u,
              double s)
{
  double n = floor (u / s);
  double r = u - n * s;
  double p;

  if (r <= 0.5 * s)
    p = r * r * r / 3.0;
  else
    p = s * s * s / 12.0 + (r - s) * (r - s) * (r - s) / 3.0;
  return n * (s * s * s / 12.0) + p;
}

static inline double
cube (double x)
{
  return x * x * x;
}

/* Integral of the squared quantization error over [a, b]. */
static double
interval_error (const Grid *g,
                double      a,
                double      b)
{
  double sum = 0.0;

  if (a < g->r_lo)
    {
      double e = MIN (b, g->r_lo);
      sum += (cube (e - g->g_lo) - cube (a - g->g_lo)) / 3.0;
    }
  if (b > g->r_lo && a < g->r_hi)
    {
      double s0 = MAX (a, g->r_lo), e0 = MIN (b, g->r_hi);
      sum += saw_integral (e0, g->s) - saw_integral (s0, g->s);
    }
  if (b > g->r_hi)
    {
      double s0 = MAX (a, g->r_hi);
      sum += (cube (b - g->g_hi) - cube (s0 - g->g_hi)) / 3.0;
    }
  return sum;
}

static inline double
point_error (const Grid *g,
             double      x)
{
  double q;

  if (x <= g->r_lo)
    q = g->g_lo;
  else if (x >= g->r_hi)
    q = g->g_hi;
  else
    q = g->s * nearbyint (x / g->s);
  return (x - q) * (x - q);
}

static double
hist_expected_error (const Hist *h,
                     const Grid *g)
{
  double sum = 0.0;

  if (h->total <= 0.0)
    return 0.0;
  for (guint i = 0; i < h->n; i++)
    {
      double a;

      if (h->counts[i] == 0.0)
        continue;
      a = h->lo + i * h->width;
      sum += h->counts[i] / h->width * interval_error (g, a, a + h->width);
    }
  if (h->under > 0.0)
    sum += h->under * point_error (g, h->lo);
  if (h->over > 0.0)
    sum += h->over * point_error (g, h->lo + h->n * h->width);
  return sum / h->total;
}

/* Exact mean squared error on values with the kernels' arithmetic (RNE). */
static double
values_error (const float *v,
              gsize        n,
              const QsQuantSpec *spec,
              gint32       qmin,
              gint32       qmax,
              double       lo,
              double       hi)
{
  float scale;
  gint32 zp;
  float rlo, rhi;
  double sum = 0.0;

  _qs_quant_scale_for_range (spec, qmin, qmax, lo, hi, &scale, &zp);
  rlo = (float) (qmin - zp);
  rhi = (float) (qmax - zp);
  for (gsize i = 0; i < n; i++)
    {
      /* Clamping before rounding is the same as after (the bounds are integers). Adding
       * and subtracting 1.5 * 2^23 rounds |v| < 2^22 to nearest even without a libm
       * call; the codes' range is within +-2^17. */
      float c = v[i] / scale;
      float r, e;

      c = c < rlo ? rlo : (c > rhi ? rhi : c);
      r = (c + 12582912.0f) - 12582912.0f;
      e = r * scale - v[i];
      sum += (double) e * e;
    }
  return n ? sum / n : 0.0;
}

/* --------------------------------------------------------------------- searches */

typedef double (*ErrorFunc) (gpointer data, double lo, double hi);

/* Minimise err (a * lo0, a * hi0) over a in (0, 1]: a coarse grid, then two finer grids
 * around the best point. Ties keep the smaller a. */
static void
search_clip (ErrorFunc err,
             gpointer  data,
             double    lo0,
             double    hi0,
             double   *lo,
             double   *hi)
{
  double best_a = 1.0, best = err (data, lo0, hi0);
  double step = 1.0 / COARSE_STEPS;

  for (int k = 1; k < COARSE_STEPS; k++)
    {
      double a = k * step;
      double e = err (data, a * lo0, a * hi0);
      if (e < best)
        best = e, best_a = a;
    }
  for (int level = 0; level < 2; level++)
    {
      double center = best_a, from = MAX (center - step, step / REFINE_STEPS);
      double to = MIN (center + step, 1.0);
      double fine = (to - from) / REFINE_STEPS;

      for (int k = 0; k <= REFINE_STEPS; k++)
        {
          double a = from + k * fine;
          double e = err (data, a * lo0, a * hi0);
          if (e < best)
            best = e, best_a = a;
        }
      step = fine;
    }
  *lo = best_a * lo0;
  *hi = best_a * hi0;
}

typedef struct
{
  const Hist        *h;
  const float       *values;
  gsize              n;
  const QsQuantSpec *spec;
  gint32             qmin, qmax;
} ErrCtx;

static double
hist_err_cb (gpointer data,
             double   lo,
             double   hi)
{
  ErrCtx *ctx = data;
  Grid g;

  grid_for_range (ctx->spec, ctx->qmin, ctx->qmax, lo, hi, &g);
  return hist_expected_error (ctx->h, &g);
}

static double
values_err_cb (gpointer data,
               double   lo,
               double   hi)
{
  ErrCtx *ctx = data;

  return values_error (ctx->values, ctx->n, ctx->spec, ctx->qmin, ctx->qmax, lo, hi);
}

/* The starting clip of the mse search: the data extent, made symmetric for symmetric
 * mappings so the search shrinks [-amax, amax]. */
static void
search_start (const QsQuantSpec *spec,
              double             dlo,
              double             dhi,
              double            *lo0,
              double            *hi0)
{
  if (spec->mapping == QS_MAPPING_SYMMETRIC)
    {
      double amax = MAX (fabs (dlo), fabs (dhi));
      *lo0 = spec->is_signed ? -amax : MIN (dlo, 0.0);
      *hi0 = spec->is_signed ? amax : MAX (dhi, 0.0);
    }
  else
    {
      *lo0 = MIN (dlo, 0.0);
      *hi0 = MAX (dhi, 0.0);
    }
}

/* Fold a histogram of x into a histogram of |x| with as many bins over [0, max |x|]. */
static void
hist_fold_abs (const Hist *h,
               Hist       *abs_h)
{
  double hi = h->lo + h->n * h->width;
  double amax = MAX (fabs (h->lo), fabs (hi));
  double w;

  abs_h->n = h->n;
  abs_h->lo = 0.0;
  abs_h->width = w = (amax > 0.0 ? amax : 1.0) / h->n;
  abs_h->counts = g_new0 (double, h->n);
  abs_h->under = 0.0;
  abs_h->over = 0.0;
  abs_h->total = h->total;

  for (guint i = 0; i < h->n; i++)
    {
      double a = h->lo + i * h->width, b = a + h->width;
      double parts[2][3];   /* (from, to, mass) of the positive and the negative side */
      guint n_parts = 0;

      if (h->counts[i] == 0.0)
        continue;
      if (b > 0.0)
        {
          double from = MAX (a, 0.0);
          parts[n_parts][0] = from;
          parts[n_parts][1] = b;
          parts[n_parts][2] = h->counts[i] * (b - from) / h->width;
          n_parts++;
        }
      if (a < 0.0)
        {
          double to = MIN (b, 0.0);
          parts[n_parts][0] = -to;
          parts[n_parts][1] = -a;
          parts[n_parts][2] = h->counts[i] * (to - a) / h->width;
          n_parts++;
        }
      for (guint p = 0; p < n_parts; p++)
        {
          double from = parts[p][0], to = parts[p][1], mass = parts[p][2];
          guint k0 = (guint) MIN (from / w, h->n - 1), k1 = (guint) MIN (to / w, h->n - 1);

          if (to <= from || k0 == k1)
            {
              abs_h->counts[k0] += mass;
              continue;
            }
          for (guint k = k0; k <= k1; k++)
            {
              double bl = MAX (from, k * w), br = MIN (to, (k + 1) * w);
              if (br > bl)
                abs_h->counts[k] += mass * (br - bl) / (to - from);
            }
        }
    }
  if (h->under > 0.0)
    abs_h->counts[(guint) MIN (fabs (h->lo) / w, h->n - 1)] += h->under;
  if (h->over > 0.0)
    abs_h->counts[(guint) MIN (fabs (hi) / w, h->n - 1)] += h->over;
}

/* Smallest x with (mass <= x) >= q * total, interpolating linearly inside bins. */
static double
hist_quantile (const Hist *h,
               double      q)
{
  double target = q * h->total, cum = h->under;

  if (target <= cum && h->under > 0.0)
    return h->lo;
  for (guint i = 0; i < h->n; i++)
    {
      double c = h->counts[i];
      if (c > 0.0 && cum + c >= target)
        return h->lo + (i + CLAMP ((target - cum) / c, 0.0, 1.0)) * h->width;
      cum += c;
    }
  return h->lo + h->n * h->width;
}

/* MXNet's _smooth_distribution: move eps of mass onto the empty bins so KL stays finite. */
static gboolean
smooth (double *p,
        guint   n)
{
  const double eps = 1e-4;
  guint n_zeros = 0;
  double eps1, sum = 0.0;

  for (guint k = 0; k < n; k++)
    n_zeros += p[k] == 0.0;
  if (n_zeros == n)
    return FALSE;
  eps1 = eps * n_zeros / (n - n_zeros);
  for (guint k = 0; k < n; k++)
    {
      p[k] = p[k] == 0.0 ? eps : MAX (p[k] - eps1, eps * 1e-3);
      sum += p[k];
    }
  for (guint k = 0; k < n; k++)
    p[k] /= sum;
  return TRUE;
}

/* TensorRT / MXNet entropy calibration on an |x| histogram; returns the threshold.
 * For each candidate i: P = bins [0, i) with every outlier added to the last bin;
 * Q = the same i bins without outliers, merged into n_quant bins and spread evenly back over
 * the bins where P is non-empty. Clipping too early leaves a heavy last bin in P that Q
 * cannot match; clipping too late merges too coarsely. */
static double
kl_threshold (const Hist *h,
              guint       n_quant)
{
  g_autofree double *p = NULL;
  g_autofree double *q = NULL;
  g_autofree double *suffix = NULL;
  double best_kl = G_MAXDOUBLE;
  guint best_i = h->n;

  if (n_quant < 1 || n_quant >= h->n)
    return h->lo + h->n * h->width;

  p = g_new (double, h->n);
  q = g_new (double, h->n);
  /* suffix[i]: the mass at or beyond bin i (the outliers of threshold bin i) */
  suffix = g_new (double, h->n + 1);
  suffix[h->n] = h->over;
  for (guint i = h->n; i-- > 0;)
    suffix[i] = suffix[i + 1] + h->counts[i];

  /* At most ~128 candidate thresholds, evenly spaced (KL is flat near its minimum). */
  for (guint i = n_quant, step = MAX (1u, (h->n - n_quant) / 128); i <= h->n;
       i = (i < h->n && i + step > h->n) ? h->n : i + step)
    {
      double kl = 0.0;

      memcpy (p, h->counts, i * sizeof (double));
      p[0] += h->under;
      p[i - 1] += suffix[i];
      for (guint j = 0; j < n_quant; j++)
        {
          guint start = (guint) ((guint64) j * i / n_quant);
          guint stop = (guint) ((guint64) (j + 1) * i / n_quant);
          double mass = 0.0;
          guint nonzero = 0;

          for (guint k = start; k < stop; k++)
            {
              mass += h->counts[k];
              nonzero += p[k] != 0.0;
            }
          for (guint k = start; k < stop; k++)
            q[k] = p[k] != 0.0 ? mass / nonzero : 0.0;
        }
      if (!smooth (p, i) || !smooth (q, i))
        continue;
      for (guint k = 0; k < i; k++)
        kl += p[k] * log (p[k] / q[k]);
      if (kl < best_kl)
        {
          best_kl = kl;
          best_i = i;
        }
    }
  return h->lo + best_i * h->width;
}

static guint
kl_target_bins (gint32 qmin,
                gint32 qmax)
{
  return (guint) (((gint64) qmax - qmin + 1) / 2);   /* int8: 128 */
}

static gboolean
check_spec (const QsQuantSpec *spec,
            GError           **error)
{
  if (spec->range_method == QS_RANGE_PERCENTILE &&
      !(spec->range_param > 0.0 && spec->range_param <= 100.0))
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC,
                   _("Invalid range percentile %g: range_param must be in (0, 100]"),
                   spec->range_param);
      return FALSE;
    }
  return TRUE;
}

static void
store_range (double lo,
             double hi,
             float *out_lo,
             float *out_hi)
{
  *out_lo = (float) CLAMP (lo, -FLT_MAX, FLT_MAX);
  *out_hi = (float) CLAMP (hi, -FLT_MAX, FLT_MAX);
  if (*out_lo > *out_hi)
    *out_lo = *out_hi;
}

static void
choose_from_hist (const Hist        *h,
                  const QsQuantSpec *spec,
                  double            *lo,
                  double            *hi)
{
  gint32 qmin, qmax;
  double dlo, dhi;

  hist_extent (h, &dlo, &dhi);
  *lo = dlo;
  *hi = dhi;
  if (spec->format != QS_FORMAT_INT)
    return;
  _qs_quant_code_range (spec, &qmin, &qmax);

  switch (spec->range_method)
    {
    case QS_RANGE_PERCENTILE:
      {
        double p = spec->range_param / 100.0;

        if (spec->mapping == QS_MAPPING_SYMMETRIC && spec->is_signed)
          {
            Hist abs_h = { 0 };
            double t;

            hist_fold_abs (h, &abs_h);
            t = hist_quantile (&abs_h, p);
            hist_clear (&abs_h);
            *lo = MAX (-t, dlo);
            *hi = MIN (t, dhi);
          }
        else
          {
            *lo = hist_quantile (h, 1.0 - p);
            *hi = hist_quantile (h, p);
          }
        return;
      }
    case QS_RANGE_MSE:
      {
        ErrCtx ctx = { h, NULL, 0, spec, qmin, qmax };
        double lo0, hi0;

        search_start (spec, dlo, dhi, &lo0, &hi0);
        search_clip (hist_err_cb, &ctx, lo0, hi0, lo, hi);
        return;
      }
    case QS_RANGE_KL:
      {
        Hist abs_h = { 0 };
        double t;

        if (h->lo >= 0.0)
          t = kl_threshold (h, kl_target_bins (qmin, qmax));
        else
          {
            hist_fold_abs (h, &abs_h);
            t = kl_threshold (&abs_h, kl_target_bins (qmin, qmax));
            hist_clear (&abs_h);
          }
        /* symmetric signed: [-T, T] even from an |x| histogram (whose extent starts at 0) */
        *lo = spec->mapping == QS_MAPPING_SYMMETRIC && spec->is_signed ? -t : MAX (-t, dlo);
        *hi = MIN (t, dhi);
        return;
      }
    case QS_RANGE_MINMAX:
    default:
      return;
    }
}

gboolean
qs_range_choose (const QsHistogram *hist,
                 const QsQuantSpec *spec,
                 float             *lo,
                 float             *hi,
                 GError           **error)
{
  Hist h = { 0 };
  double l, u;

  g_return_val_if_fail (hist != NULL, FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (lo != NULL && hi != NULL, FALSE);

  if (!check_spec (spec, error))
    return FALSE;
  if (hist->total + hist->underflow + hist->overflow == 0)
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_EMPTY,
                   _("Cannot choose a range: the histogram holds no values"));
      return FALSE;
    }
  hist_from_qs (hist, &h);
  choose_from_hist (&h, spec, &l, &u);
  hist_clear (&h);
  store_range (l, u, lo, hi);
  return TRUE;
}

double
qs_range_expected_mse (const QsHistogram *hist,
                       const QsQuantSpec *spec,
                       float              lo,
                       float              hi)
{
  Hist h = { 0 };
  Grid g;
  gint32 qmin, qmax;
  double mse;

  g_return_val_if_fail (hist != NULL && spec != NULL, 0.0);
  g_return_val_if_fail (spec->format == QS_FORMAT_INT, 0.0);

  _qs_quant_code_range (spec, &qmin, &qmax);
  hist_from_qs (hist, &h);
  grid_for_range (spec, qmin, qmax, lo, hi, &g);
  mse = hist_expected_error (&h, &g);
  hist_clear (&h);
  return mse;
}

/* ------------------------------------------------------------- from values */

static void
swap_f (float *a,
        float *b)
{
  float t = *a;
  *a = *b;
  *b = t;
}

float
_qs_select_kth (float *v,
                gsize  n,
                gsize  k)
{
  gsize left = 0, right = n - 1;

  while (right > left)
    {
      gsize mid = left + (right - left) / 2, i, j;
      float pivot;

      if (v[mid] < v[left])
        swap_f (&v[mid], &v[left]);
      if (v[right] < v[left])
        swap_f (&v[right], &v[left]);
      if (v[right] < v[mid])
        swap_f (&v[right], &v[mid]);
      pivot = v[mid];
      i = left;
      j = right;
      while (i <= j)
        {
          while (v[i] < pivot)
            i++;
          while (v[j] > pivot)
            j--;
          if (i <= j)
            {
              swap_f (&v[i], &v[j]);
              i++;
              if (j == 0)
                break;
              j--;
            }
        }
      if (k <= j)
        right = j;
      else if (k >= i)
        left = i;
      else
        return v[k];
    }
  return v[k];
}

static gsize
quantile_rank (double q,
               gsize  n)
{
  double r = ceil (q * n) - 1.0;

  return (gsize) CLAMP (r, 0.0, (double) (n - 1));
}

gboolean
qs_range_choose_values (const float       *values,
                        gsize              n,
                        const QsQuantSpec *spec,
                        float             *lo,
                        float             *hi,
                        GError           **error)
{
  float vmin = FLT_MAX, vmax = -FLT_MAX;
  double l, u;
  gint32 qmin, qmax;

  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (n == 0 || values != NULL, FALSE);
  g_return_val_if_fail (lo != NULL && hi != NULL, FALSE);

  if (!check_spec (spec, error))
    return FALSE;
  if (n == 0)
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_EMPTY,
                   _("Cannot choose a range: there are no finite values"));
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      vmin = MIN (vmin, values[i]);
      vmax = MAX (vmax, values[i]);
    }
  l = vmin;
  u = vmax;
  if (spec->format != QS_FORMAT_INT || spec->range_method == QS_RANGE_MINMAX)
    {
      store_range (l, u, lo, hi);
      return TRUE;
    }
  _qs_quant_code_range (spec, &qmin, &qmax);

  switch (spec->range_method)
    {
    case QS_RANGE_PERCENTILE:
      {
        g_autofree float *scratch = g_new (float, n);
        double p = spec->range_param / 100.0;

        if (spec->mapping == QS_MAPPING_SYMMETRIC && spec->is_signed)
          {
            float t;

            for (gsize i = 0; i < n; i++)
              scratch[i] = fabsf (values[i]);
            t = _qs_select_kth (scratch, n, quantile_rank (p, n));
            l = MAX (-t, vmin);
            u = MIN (t, vmax);
          }
        else
          {
            memcpy (scratch, values, n * sizeof (float));
            l = _qs_select_kth (scratch, n, quantile_rank (1.0 - p, n));
            u = _qs_select_kth (scratch, n, quantile_rank (p, n));
          }
        break;
      }
    case QS_RANGE_MSE:
      {
        double lo0, hi0;

        search_start (spec, vmin, vmax, &lo0, &hi0);
        if (n <= EXACT_MSE_VALUES)
          {
            ErrCtx ctx = { NULL, values, n, spec, qmin, qmax };
            search_clip (values_err_cb, &ctx, lo0, hi0, &l, &u);
          }
        else
          {
            g_autoptr(QsHistogram) qh = qs_histogram_new (bins_for (n, 512), vmin, vmax);
            Hist h = { 0 };
            ErrCtx ctx = { &h, NULL, 0, spec, qmin, qmax };

            qs_histogram_add (qh, values, n);
            hist_from_qs (qh, &h);
            search_clip (hist_err_cb, &ctx, lo0, hi0, &l, &u);
            hist_clear (&h);
          }
        break;
      }
    case QS_RANGE_KL:
      {
        double amax = MAX (fabs (vmin), fabs (vmax));
        guint nq = kl_target_bins (qmin, qmax);
        g_autoptr(QsHistogram) qh = qs_histogram_new (bins_for (n / 2, MIN (2 * nq, RANGE_BINS)), 0.0, amax);
        g_autofree float *scratch = g_new (float, MIN (n, (gsize) 65536));
        Hist h = { 0 };
        double t;

        for (gsize start = 0; start < n; start += 65536)
          {
            gsize len = MIN ((gsize) 65536, n - start);
            for (gsize i = 0; i < len; i++)
              scratch[i] = fabsf (values[start + i]);
            qs_histogram_add (qh, scratch, len);
          }
        hist_from_qs (qh, &h);
        t = kl_threshold (&h, nq);
        hist_clear (&h);
        l = MAX (-t, vmin);
        u = MIN (t, vmax);
        break;
      }
    case QS_RANGE_MINMAX:
    default:
      break;
    }
  store_range (l, u, lo, hi);
  return TRUE;
}
