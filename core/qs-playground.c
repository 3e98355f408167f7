/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-playground.h"
#include "qs-range.h"
#include "qs-stats.h"

const char *
qs_playground_distribution_label (QsPlaygroundDistribution distribution)
{
  static const char *labels[QS_PLAYGROUND_N_DISTRIBUTIONS] = {
    N_("Normal"), N_("Laplace"), N_("Uniform"), N_("Bimodal"), N_("Normal with outliers"),
  };

  g_return_val_if_fail (distribution < QS_PLAYGROUND_N_DISTRIBUTIONS, "");
  return _(labels[distribution]);
}

static double
normal (GRand *rand)
{
  /* Box-Muller; 1 - u keeps the logarithm finite */
  double u = 1.0 - g_rand_double (rand), v = g_rand_double (rand);

  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

static double
sample (QsPlaygroundDistribution d,
        GRand                   *rand)
{
  switch (d)
    {
    case QS_PLAYGROUND_LAPLACE:
      {
        double u = g_rand_double (rand) - 0.5;
        /* b = 1 / sqrt (2): unit variance */
        return -G_SQRT2 / 2.0 * (u < 0 ? -1.0 : 1.0) * log (1.0 - 2.0 * fabs (u) + 1e-300);
      }
    case QS_PLAYGROUND_UNIFORM:
      return g_rand_double_range (rand, -sqrt (3.0), sqrt (3.0));
    case QS_PLAYGROUND_BIMODAL:
      return (g_rand_boolean (rand) ? 1.0 : -1.0) * 1.0 + 0.35 * normal (rand);
    case QS_PLAYGROUND_OUTLIERS:
      if (g_rand_int_range (rand, 0, 1000) < 2)
        return (g_rand_boolean (rand) ? 1.0 : -1.0) * g_rand_double_range (rand, 8.0, 12.0);
      return normal (rand);
    case QS_PLAYGROUND_NORMAL:
    default:
      return normal (rand);
    }
}

QsTensor *
qs_playground_make_tensor (QsPlaygroundDistribution distribution,
                           gsize                    n_values,
                           guint                    n_channels,
                           double                   spread,
                           guint64                  seed,
                           GError                 **error)
{
  g_autoptr(GRand) rand = NULL;
  g_autoptr(QsTensor) t = NULL;
  gsize shape[2];

  g_return_val_if_fail (distribution < QS_PLAYGROUND_N_DISTRIBUTIONS, NULL);

  if (n_channels == 0 || n_values < n_channels || !(spread >= 1.0) || !isfinite (spread))
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC,
                   _("The playground needs at least one value per channel and a channel spread of 1 or more"));
      return NULL;
    }
  shape[0] = n_values / n_channels;
  shape[1] = n_channels;
  if ((t = qs_tensor_new ("playground", 2, shape, error)) == NULL)
    return NULL;
  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  rand = g_rand_new_with_seed_array ((const guint32[]) { (guint32) seed, (guint32) (seed >> 32) }, 2);
  for (gsize r = 0; r < shape[0]; r++)
    for (gsize c = 0; c < n_channels; c++)
      {
        double f = n_channels > 1 ? pow (spread, (double) c / (n_channels - 1)) / spread : 1.0;
        t->data[r * n_channels + c] = (float) (0.1 * f * sample (distribution, rand));
      }
  return g_steal_pointer (&t);
}

void
qs_playground_free (QsPlayground *pg)
{
  if (pg == NULL)
    return;
  g_clear_pointer (&pg->tensor, qs_tensor_unref);
  g_clear_pointer (&pg->per_tensor.result, qs_quant_result_unref);
  g_clear_pointer (&pg->per_channel.result, qs_quant_result_unref);
  g_free (pg->threshold);
  g_free (pg->curve_mse);
  g_free (pg);
}

/* The MSE search's starting clip (qs-range.c's search_start). */
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

static void
extent (const float *v,
        gsize        n,
        gsize        stride,
        double      *lo,
        double      *hi)
{
  *lo = INFINITY;
  *hi = -INFINITY;
  for (gsize i = 0; i < n; i++)
    if (isfinite (v[i * stride]))
      {
        *lo = MIN (*lo, v[i * stride]);
        *hi = MAX (*hi, v[i * stride]);
      }
  if (*lo > *hi)
    *lo = *hi = 0.0;
}

/* Splits the squared error of r over its input into the rounding and the clipping part,
 * with the library's definition of clipped (qs_quant_value_clip_side_at). */
static void
accumulate (QsQuantResult *r,
            double        *sum_round,
            double        *sum_clip,
            gsize         *n_clipped)
{
  const QsQuantParams *p = r->params;
  const float *x = r->input->data, *xh = r->dequant->data;

  for (gsize i = 0; i < r->input->n_elements; i++)
    {
      gsize k = qs_quant_params_index (p, i);
      double e = (double) xh[i] - x[i];

      if (!isfinite (x[i]))
        continue;
      if (qs_quant_value_clip_side_at (x[i], p->scale[k], p->zero_point[k], p->qmin, p->qmax,
                                       p->spec.rounding, p->spec.seed, i) != 0)
        {
          *sum_clip += e * e;
          (*n_clipped)++;
        }
      else
        *sum_round += e * e;
    }
}

static void
finish_side (QsPlaygroundSide *side,
             double            sum_round,
             double            sum_clip,
             double            power,
             gsize             n)
{
  side->rounding_mse = sum_round / n;
  side->clipping_mse = sum_clip / n;
  side->mse = (sum_round + sum_clip) / n;
  side->sqnr_db = qs_stats_sqnr_db (power / n, side->mse);
}

static double
measured_mse (QsTensor          *t,
              const QsQuantSpec *spec,
              double             lo,
              double             hi,
              GCancellable      *cancellable,
              GError           **error)
{
  g_autoptr(QsQuantParams) p = qs_quant_params_from_range (spec, (float) lo, (float) hi, error);
  g_autoptr(QsQuantResult) r = NULL;

  if (p == NULL)
    return NAN;
  if ((r = qs_quant_run_with_params (t, p, NULL, cancellable, error)) == NULL)
    return NAN;
  return r->stats.mse;
}

QsPlayground *
qs_playground_new (QsTensor          *tensor,
                   const QsQuantSpec *spec,
                   double             clip,
                   guint              n_points,
                   guint              hist_bins,
                   GCancellable      *cancellable,
                   GError           **error)
{
  g_autoptr(QsPlayground) pg = NULL;
  QsQuantSpec st, sc, smse;
  QsQuantOptions opts = { 0 };
  const float *d;
  gsize n, n_ch, rows;
  double dlo, dhi, lo0, hi0, a, power = 0.0, sr = 0.0, scl = 0.0;
  float olo, ohi;

  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (spec != NULL, NULL);

  if (spec->format != QS_FORMAT_INT)
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC,
                   _("The playground quantizes to integer codes; choose an integer format"));
      return NULL;
    }
  if (!qs_quant_spec_validate (spec, tensor, error))
    return NULL;

  pg = g_new0 (QsPlayground, 1);
  pg->tensor = qs_tensor_ref (tensor);
  pg->spec = *spec;
  pg->clip = clip;
  d = tensor->data;
  n = tensor->n_elements;
  for (gsize i = 0; i < n; i++)
    if (isfinite (d[i]))
      power += (double) d[i] * d[i];

  st = *spec;
  st.granularity = QS_GRANULARITY_TENSOR;
  st.sparsity = 0.0;
  sc = st;
  sc.granularity = QS_GRANULARITY_CHANNEL;
  sc.axis = -1;
  smse = st;
  smse.range_method = QS_RANGE_MSE;

  extent (d, n, 1, &dlo, &dhi);
  search_start (&st, dlo, dhi, &lo0, &hi0);
  pg->max_threshold = hi0;

  opts.want_codes = TRUE;
  opts.want_dequant = TRUE;
  opts.hist_bins = hist_bins;
  opts.hist_channel = -1;

  /* per tensor */
  if (clip > 0.0)
    {
      g_autoptr(QsQuantParams) p = NULL;

      a = hi0 > 0.0 ? MIN (clip / hi0, 1.0) : 1.0;
      if ((p = qs_quant_params_from_range (&st, (float) (a * lo0), (float) (a * hi0), error)) == NULL)
        return NULL;
      pg->per_tensor.result = qs_quant_run_with_params (tensor, p, &opts, cancellable, error);
    }
  else
    pg->per_tensor.result = qs_quant_run (tensor, &st, &opts, cancellable, error);
  if (pg->per_tensor.result == NULL)
    return NULL;
  pg->used_threshold = pg->per_tensor.result->params->clip_hi[0];
  accumulate (pg->per_tensor.result, &sr, &scl, &pg->per_tensor.n_clipped);
  finish_side (&pg->per_tensor, sr, scl, power, n);

  /* per channel: the range method per channel, or the same fraction of each channel's
   * own range, channel by channel */
  sr = scl = 0.0;
  opts.hist_bins = 0;
  if (!qs_tensor_channel_geometry (tensor, -1, &n_ch, &rows, &(gsize) { 0 }, error))
    return NULL;
  if (clip <= 0.0)
    {
      if ((pg->per_channel.result = qs_quant_run (tensor, &sc, &opts, cancellable, error)) == NULL)
        return NULL;
      accumulate (pg->per_channel.result, &sr, &scl, &pg->per_channel.n_clipped);
    }
  else
    {
      gsize outer = n / n_ch;   /* Dense / generic: channel fastest (inner 1) */
      g_autofree float *col = g_new (float, outer);

      if (rows != 1)
        {
          g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC,
                       _("A manual clip per channel needs the channel axis last"));
          return NULL;
        }
      a = hi0 > 0.0 ? MIN (clip / hi0, 1.0) : 1.0;
      for (gsize c = 0; c < n_ch; c++)
        {
          g_autoptr(QsTensor) ct = NULL;
          g_autoptr(QsQuantParams) p = NULL;
          g_autoptr(QsQuantResult) r = NULL;
          double clo, chi, l0, h0;

          for (gsize i = 0; i < outer; i++)
            col[i] = d[i * n_ch + c];
          if ((ct = qs_tensor_new_from_data ("channel", 1, &outer, col, error)) == NULL)
            return NULL;
          extent (col, outer, 1, &clo, &chi);
          search_start (&st, clo, chi, &l0, &h0);
          if ((p = qs_quant_params_from_range (&st, (float) (a * l0), (float) (a * h0), error)) == NULL)
            return NULL;
          if ((r = qs_quant_run_with_params (ct, p, &opts, cancellable, error)) == NULL)
            return NULL;
          accumulate (r, &sr, &scl, &pg->per_channel.n_clipped);
        }
    }
  finish_side (&pg->per_channel, sr, scl, power, n);

  /* the curve and the MSE method's choice */
  {
    g_autofree float *finite = g_new (float, n);
    gsize nf = 0;

    for (gsize i = 0; i < n; i++)
      if (isfinite (d[i]))
        finite[nf++] = d[i];
    if (!qs_range_choose_values (finite, nf, &smse, &olo, &ohi, error))
      return NULL;
  }
  pg->optimum = ohi;
  pg->optimum_mse = measured_mse (tensor, &st, olo, ohi, cancellable, error);
  if (isnan (pg->optimum_mse))
    return NULL;
  pg->n_points = n_points;
  pg->threshold = g_new0 (double, MAX (n_points, 1));
  pg->curve_mse = g_new0 (double, MAX (n_points, 1));
  for (guint i = 0; i < n_points; i++)
    {
      a = (i + 1.0) / n_points;
      pg->threshold[i] = a * hi0;
      pg->curve_mse[i] = measured_mse (tensor, &st, a * lo0, a * hi0, cancellable, error);
      if (isnan (pg->curve_mse[i]))
        return NULL;
    }
  return g_steal_pointer (&pg);
}
