/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quantscope-core.h"

/* ------------------------------------------------------------------ helpers */

static double
gauss (GRand *rand)
{
  double u = g_rand_double_range (rand, 1e-12, 1.0), v = g_rand_double (rand);
  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

/* Student-t with 3 degrees of freedom: heavy tails. */
static double
student_t3 (GRand *rand)
{
  double z = gauss (rand), chi2 = 0.0;

  for (int k = 0; k < 3; k++)
    {
      double g = gauss (rand);
      chi2 += g * g;
    }
  return z / sqrt (chi2 / 3.0);
}

static QsTensor *
make_tensor (const char *name,
             guint       n_dims,
             const gsize *shape,
             guint32     seed,
             double      sigma)
{
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) (sigma * gauss (rand));
  return t;
}

static const QsQuantOptions full_options = {
  .want_codes = TRUE, .want_dequant = TRUE, .hist_bins = 64, .hist_lo = 0, .hist_hi = 0,
  .hist_channel = -1, .map_width = 16, .map_height = 16,
};

static QsQuantResult *
run_ok (QsTensor          *t,
        const QsQuantSpec *spec)
{
  g_autoptr(GError) error = NULL;
  QsQuantResult *r = qs_quant_run (t, spec, &full_options, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

/* Every statistic recomputed independently in double precision from input and dequant. */
static void
check_stats_independent (QsQuantResult *r)
{
  const QsTensor *t = r->input;
  const float *d = r->dequant->data;
  double sx2 = 0, se2 = 0, se = 0, sxd = 0, sdd = 0, maxe = 0;
  gsize n = 0, n_nan = 0, n_inf = 0;

  for (gsize i = 0; i < t->n_elements; i++)
    {
      double x = t->data[i], q = d[i], e = q - x;

      if (isnan (x))
        {
          n_nan++;
          g_assert_true (isnan (q));
          continue;
        }
      if (isinf (x))
        {
          n_inf++;
          g_assert_cmpfloat (q, ==, x);
          continue;
        }
      n++;
      sx2 += x * x;
      se2 += e * e;
      se += e;
      sxd += x * q;
      sdd += q * q;
      maxe = MAX (maxe, fabs (e));
    }
  g_assert_cmpuint (r->stats.n_values, ==, n);
  g_assert_cmpuint (r->stats.n_nan, ==, n_nan);
  g_assert_cmpuint (r->stats.n_inf, ==, n_inf);
  g_assert_cmpfloat_with_epsilon (r->stats.signal_power, sx2 / n, 1e-5 * sx2 / n + 1e-30);
  g_assert_cmpfloat_with_epsilon (r->stats.mse, se2 / n, 1e-5 * se2 / n + 1e-30);
  if (se2 > 0 && sx2 > 0)
    g_assert_cmpfloat_with_epsilon (r->stats.sqnr_db, 10 * log10 (sx2 / se2), 1e-4);
  else if (se2 > 0)
    g_assert_cmpfloat (r->stats.sqnr_db, ==, -INFINITY);   /* noise, no signal */
  else
    g_assert_cmpfloat (r->stats.sqnr_db, ==, INFINITY);    /* exact */
  g_assert_cmpfloat (r->stats.max_abs_error, ==, (float) maxe);
  g_assert_cmpfloat_with_epsilon (r->stats.mean_error, se / n, 1e-4 * sqrt (se2 / n) + 1e-12);
  if (sx2 > 0 && sdd > 0)
    g_assert_cmpfloat_with_epsilon (r->stats.cosine, sxd / sqrt (sx2 * sdd), 1e-6);
  else   /* a zero vector: 1 when both are zero, else 0 */
    g_assert_cmpfloat (r->stats.cosine, ==, sx2 == sdd ? 1.0 : 0.0);
}

/* --------------------------------------------------------------------- specs */

/* The range the UI offers is exactly the range validation accepts; fixed formats report the
 * width they store. */
static void
test_format_bits_range (void)
{
  gsize shape[] = { 10, 6 };
  g_autoptr(QsTensor) t = make_tensor ("dense_1/kernel", 2, shape, 1, 1.0);
  static const struct { QsFormat format; guint bits; } fixed[] = {
    { QS_FORMAT_FP32, 32 }, { QS_FORMAT_FP16, 16 }, { QS_FORMAT_BF16, 16 },
    { QS_FORMAT_FP8_E4M3, 8 }, { QS_FORMAT_FP8_E5M2, 8 }, { QS_FORMAT_BINARY, 1 },
    { QS_FORMAT_TERNARY, 2 },
  };
  guint lo = 0, hi = 0;
  QsQuantSpec s;

  g_assert_true (qs_quant_format_get_bits_range (QS_FORMAT_INT, &lo, &hi));
  g_assert_cmpuint (lo, ==, 2);
  g_assert_cmpuint (hi, ==, 16);
  qs_quant_spec_init (&s);
  for (guint bits = lo - 1; bits <= hi + 1; bits++)
    {
      g_autoptr(GError) error = NULL;

      s.bits = bits;
      g_assert_cmpint (qs_quant_spec_validate (&s, t, &error), ==, bits >= lo && bits <= hi);
    }

  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    {
      g_assert_false (qs_quant_format_get_bits_range (fixed[i].format, &lo, &hi));
      g_assert_cmpuint (lo, ==, fixed[i].bits);
      g_assert_cmpuint (hi, ==, fixed[i].bits);
    }
  g_assert_false (qs_quant_format_get_bits_range (QS_FORMAT_FP16, NULL, NULL));
}

static void
test_spec_label (void)
{
  QsQuantSpec s;
  g_autofree char *l1 = NULL, *l2 = NULL, *l3 = NULL, *l4 = NULL, *l5 = NULL, *l6 = NULL,
                  *l7 = NULL, *l8 = NULL;

  qs_quant_spec_init (&s);
  l1 = qs_quant_spec_to_label (&s);
  g_assert_cmpstr (l1, ==, "int8 ch");
  g_assert_cmpfloat (qs_quant_spec_bits_per_value (&s), ==, 8.0);
  s.bits = 4;
  s.granularity = QS_GRANULARITY_GROUP;
  s.group_size = 32;
  l2 = qs_quant_spec_to_label (&s);
  g_assert_cmpstr (l2, ==, "int4 g32");
  qs_quant_spec_init (&s);
  s.is_signed = FALSE;
  s.mapping = QS_MAPPING_AFFINE;
  s.granularity = QS_GRANULARITY_TENSOR;
  l3 = qs_quant_spec_to_label (&s);
  g_assert_cmpstr (l3, ==, "uint8 aff");
  qs_quant_spec_init_float (&s, QS_FORMAT_FP16);
  l4 = qs_quant_spec_to_label (&s);
  g_assert_cmpstr (l4, ==, "fp16");
  g_assert_true (qs_quant_spec_is_float (&s));
  g_assert_cmpfloat (qs_quant_spec_bits_per_value (&s), ==, 16.0);
  qs_quant_spec_init_float (&s, QS_FORMAT_FP8_E4M3);
  l5 = qs_quant_spec_to_label (&s);
  g_assert_cmpstr (l5, ==, "e4m3");
  qs_quant_spec_init (&s);
  s.format = QS_FORMAT_BINARY;
  s.granularity = QS_GRANULARITY_TENSOR;
  l6 = qs_quant_spec_to_label (&s);
  g_assert_cmpstr (l6, ==, "bin");
  s.format = QS_FORMAT_TERNARY;
  l7 = qs_quant_spec_to_label (&s);
  g_assert_cmpstr (l7, ==, "tern");
  g_assert_cmpfloat (qs_quant_spec_bits_per_value (&s), ==, 2.0);
  qs_quant_spec_init (&s);
  s.sparsity = 0.5;
  l8 = qs_quant_spec_to_label (&s);
  g_assert_cmpstr (l8, ==, "int8 ch +50% sparse");
  g_assert_false (qs_quant_spec_is_float (&s));
}

static void
expect_invalid (QsTensor    *t,
                QsQuantSpec *spec,
                gint         code,
                const char  *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsQuantResult) r = qs_quant_run (t, spec, NULL, NULL, &error);

  g_assert_null (r);
  g_assert_error (error, QS_QUANT_ERROR, code);
  g_assert_nonnull (strstr (error->message, t->name));
  if (needle != NULL)
    g_assert_nonnull (strstr (error->message, needle));
}

static void
test_spec_invalid (void)
{
  gsize shape[] = { 10, 6 };
  gsize empty_shape[] = { 0, 6 };
  g_autoptr(QsTensor) t = make_tensor ("dense_1/kernel", 2, shape, 1, 1.0);
  g_autoptr(QsTensor) e = qs_tensor_new ("empty/kernel", 2, empty_shape, NULL);
  g_autoptr(QsTensor) nan_t = qs_tensor_new ("nan/kernel", 2, shape, NULL);
  QsQuantSpec s;

  qs_quant_spec_init (&s);
  s.bits = 0;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "bits");
  s.bits = 1;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "bits");
  s.bits = 17;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "bits");
  qs_quant_spec_init (&s);
  s.granularity = QS_GRANULARITY_GROUP;
  s.group_size = 3;   /* reduction length 10 */
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "group_size");
  s.group_size = 0;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "group_size");
  qs_quant_spec_init (&s);
  s.axis = 2;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "axis");
  s.axis = -2;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "axis");
  qs_quant_spec_init (&s);
  s.sparsity = 1.0;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "sparsity");
  s.sparsity = -0.1;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "sparsity");
  s.sparsity = NAN;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "sparsity");
  qs_quant_spec_init (&s);
  s.range_method = QS_RANGE_PERCENTILE;
  s.range_param = 0.0;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "range_param");
  qs_quant_spec_init (&s);
  s.format = QS_FORMAT_BINARY;
  s.sparsity = 0.5;
  expect_invalid (t, &s, QS_QUANT_ERROR_INVALID_SPEC, "sparsity");

  qs_quant_spec_init (&s);
  expect_invalid (e, &s, QS_QUANT_ERROR_EMPTY, NULL);
  for (gsize i = 0; i < nan_t->n_elements; i++)
    nan_t->data[i] = i % 2 ? NAN : -INFINITY;
  expect_invalid (nan_t, &s, QS_QUANT_ERROR_NON_FINITE, NULL);

  /* validate without a tensor checks what it can */
  s.bits = 17;
  g_assert_false (qs_quant_spec_validate (&s, NULL, NULL));
  qs_quant_spec_init (&s);
  g_assert_true (qs_quant_spec_validate (&s, NULL, NULL));
  g_assert_true (qs_quant_spec_validate (&s, t, NULL));
}

/* ----------------------------------------------------------- integer property */

/* For one spec: codes in [qmin, qmax]; codes and dequant equal the single-value helpers;
 * in-range values have error <= scale / 2 (nearest rounding); zero-point rules; stats equal
 * an independent recomputation. */
static void
check_int_properties (QsTensor          *t,
                      const QsQuantSpec *spec)
{
  g_autoptr(QsQuantResult) r = run_ok (t, spec);
  const QsQuantParams *p = r->params;
  gboolean nearest = spec->rounding == QS_ROUNDING_NEAREST_EVEN ||
                     spec->rounding == QS_ROUNDING_NEAREST_AWAY;
  gsize n_clipped = 0;

  for (gsize k = 0; k < p->n_params; k++)
    {
      g_assert_cmpfloat (p->scale[k], >, 0.0f);
      g_assert_cmpint (p->zero_point[k], >=, p->qmin);
      g_assert_cmpint (p->zero_point[k], <=, p->qmax);
      if (spec->mapping == QS_MAPPING_SYMMETRIC)
        g_assert_cmpint (p->zero_point[k], ==, 0);
      else
        {
          /* 0.0 maps exactly */
          gint32 c = qs_quant_value (0.0f, p->scale[k], p->zero_point[k], p->qmin, p->qmax,
                                     QS_ROUNDING_NEAREST_EVEN);
          g_assert_cmpint (c, ==, p->zero_point[k]);
          g_assert_cmpfloat (qs_dequant_value (c, p->scale[k], p->zero_point[k]), ==, 0.0f);
        }
      if (spec->pow2_scale)
        {
          int e;
          g_assert_cmpfloat (frexpf (p->scale[k], &e), ==, 0.5f);
        }
    }
  for (gsize i = 0; i < t->n_elements; i++)
    {
      gsize k = qs_quant_params_index (p, i);
      float x = t->data[i], s = p->scale[k];
      gint32 code = r->codes[i];

      g_assert_cmpint (code, >=, p->qmin);
      g_assert_cmpint (code, <=, p->qmax);
      g_assert_cmpint (code, ==, qs_quant_value_at (x, s, p->zero_point[k], p->qmin, p->qmax,
                                                     spec->rounding, spec->seed, i));
      g_assert_cmpfloat (r->dequant->data[i], ==, qs_dequant_value (code, s, p->zero_point[k]));
      /* the per-value clipping rule (what the charts count) is the pass's: it saturates
       * onto the end code of its side, and the values it flags are stats.n_clipped */
      {
        gint side = qs_quant_value_clip_side_at (x, s, p->zero_point[k], p->qmin, p->qmax,
                                                 spec->rounding, spec->seed, i);

        if (side != 0)
          g_assert_cmpint (code, ==, side < 0 ? p->qmin : p->qmax);
        n_clipped += side != 0;
      }
      /* Exact arithmetic gives |e| <= s/2. In single precision x / s and r * s each round
       * by up to half an ulp of x, which matters for 16-bit codes: allow 2^-22 |x|. */
      if (nearest && x >= p->clip_lo[k] && x <= p->clip_hi[k])
        g_assert_cmpfloat (fabsf (r->dequant->data[i] - x), <=, s / 2 + ldexpf (fabsf (x), -22));
    }
  g_assert_cmpuint (n_clipped, ==, r->stats.n_clipped);
  check_stats_independent (r);
  g_assert_cmpuint (r->stats.levels_available, ==, (guint64) (p->qmax - p->qmin + 1));
  g_assert_cmpuint (r->stats.levels_used, <=, r->stats.levels_available);
  g_assert_cmpuint (r->code_hist->total, ==, r->stats.n_values);
}

static void
test_int_properties (void)
{
  gsize dense[] = { 64, 24 }, conv[] = { 3, 3, 8, 16 }, vec[] = { 96 };
  g_autoptr(QsTensor) d = make_tensor ("dense/kernel", 2, dense, 2, 0.1);
  g_autoptr(QsTensor) c = make_tensor ("conv/kernel", 4, conv, 3, 2.0);
  g_autoptr(QsTensor) v = make_tensor ("dense/bias", 1, vec, 4, 0.5);
  QsTensor *tensors[] = { d, c, v };
  guint bits_list[] = { 2, 3, 4, 8, 12, 16 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);

  /* a positive-only tensor for affine ranges that do not contain 0 */
  for (gsize i = 0; i < v->n_elements; i++)
    v->data[i] = fabsf (v->data[i]) + 0.25f;

  for (guint ti = 0; ti < G_N_ELEMENTS (tensors); ti++)
    for (guint bi = 0; bi < G_N_ELEMENTS (bits_list); bi++)
      for (int variant = 0; variant < 8; variant++)
        {
          QsQuantSpec s;

          qs_quant_spec_init (&s);
          s.bits = bits_list[bi];
          s.is_signed = (variant & 1) == 0;
          s.mapping = (variant & 2) ? QS_MAPPING_AFFINE : QS_MAPPING_SYMMETRIC;
          s.narrow_range = (variant & 4) != 0;
          s.pow2_scale = g_rand_int_range (rand, 0, 4) == 0;
          s.granularity = g_rand_int_range (rand, 0, 3);
          s.group_size = 8;
          s.rounding = g_rand_int_range (rand, 0, 4);
          s.seed = g_rand_int (rand);
          check_int_properties (tensors[ti], &s);
        }
}

static void
test_per_channel_sqnr (void)
{
  gsize shape[] = { 128, 16 };
  g_autoptr(QsTensor) t = make_tensor ("dense/kernel", 2, shape, 6, 1.0);
  QsQuantSpec s;

  /* channel c has scale 2^(c/2): very unequal ranges */
  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] *= powf (2.0f, (float) (i % 16) / 2.0f);
  for (guint bits = 2; bits <= 8; bits += 2)
    {
      g_autoptr(QsQuantResult) rt = NULL, rc = NULL;

      qs_quant_spec_init (&s);
      s.bits = bits;
      s.granularity = QS_GRANULARITY_TENSOR;
      rt = run_ok (t, &s);
      s.granularity = QS_GRANULARITY_CHANNEL;
      rc = run_ok (t, &s);
      g_assert_cmpuint (rc->params->n_params, ==, 16);
      g_assert_cmpfloat (rc->stats.sqnr_db, >=, rt->stats.sqnr_db);
      /* channel params: scale of channel c = max |x| over the column / qmax */
      for (gsize c = 0; c < 16; c++)
        {
          float amax = 0;
          for (gsize row = 0; row < 128; row++)
            amax = MAX (amax, fabsf (t->data[row * 16 + c]));
          g_assert_cmpfloat_with_epsilon (rc->params->scale[c], amax / rc->params->qmax,
                                          1e-6 * amax);
        }
    }
}

static void
test_group_geometry (void)
{
  gsize dense[] = { 64, 8 }, vec[] = { 256 }, conv[] = { 3, 3, 4, 6 };
  g_autoptr(QsTensor) d = make_tensor ("dense/kernel", 2, dense, 7, 1.0);
  g_autoptr(QsTensor) v = make_tensor ("vec", 1, vec, 8, 1.0);
  g_autoptr(QsTensor) c = make_tensor ("conv/kernel", 4, conv, 9, 1.0);
  QsQuantSpec s;

  /* Dense [in, out], G = 16: G rows of one output column; param = col * 4 + row / 16 */
  qs_quant_spec_init (&s);
  s.bits = 4;
  s.granularity = QS_GRANULARITY_GROUP;
  s.group_size = 16;
  {
    g_autoptr(QsQuantParams) p = qs_quant_params_compute (d, &s, NULL);

    g_assert_nonnull (p);
    g_assert_cmpuint (p->n_params, ==, 8 * 4);
    g_assert_cmpuint (p->groups_per_channel, ==, 4);
    for (gsize row = 0; row < 64; row++)
      for (gsize col = 0; col < 8; col++)
        g_assert_cmpuint (qs_quant_params_index (p, row * 8 + col), ==, col * 4 + row / 16);
    /* each group's scale is its own max |x| / qmax */
    for (gsize col = 0; col < 8; col++)
      for (gsize g = 0; g < 4; g++)
        {
          float amax = 0;
          for (gsize row = g * 16; row < (g + 1) * 16; row++)
            amax = MAX (amax, fabsf (d->data[row * 8 + col]));
          g_assert_cmpfloat_with_epsilon (p->scale[col * 4 + g], amax / 7, 1e-6);
        }
  }
  /* Conv2D [kh, kw, in, out]: reduction kh*kw*in = 36, G = 12 -> 3 groups per channel */
  s.group_size = 12;
  {
    g_autoptr(QsQuantParams) p = qs_quant_params_compute (c, &s, NULL);

    g_assert_cmpuint (p->n_params, ==, 6 * 3);
    for (gsize i = 0; i < c->n_elements; i++)
      g_assert_cmpuint (qs_quant_params_index (p, i), ==, (i % 6) * 3 + (i / 6) / 12);
    check_int_properties (c, &s);
  }

  /* G = tensor length on a vector equals per-tensor exactly */
  s.group_size = 256;
  {
    g_autoptr(QsQuantResult) rg = run_ok (v, &s);
    g_autoptr(QsQuantResult) rt = NULL;

    s.granularity = QS_GRANULARITY_TENSOR;
    rt = run_ok (v, &s);
    g_assert_cmpuint (rg->params->n_params, ==, 1);
    g_assert_cmpfloat (rg->params->scale[0], ==, rt->params->scale[0]);
    g_assert_cmpmem (rg->codes, v->n_elements * 4, rt->codes, v->n_elements * 4);
    g_assert_cmpfloat (rg->stats.mse, ==, rt->stats.mse);
    g_assert_cmpfloat (rg->stats.sqnr_db, ==, rt->stats.sqnr_db);
    g_assert_cmpuint (rg->stats.storage_bits, ==, rt->stats.storage_bits);
  }
  /* G = reduction length on Dense equals per-channel */
  s.granularity = QS_GRANULARITY_GROUP;
  s.group_size = 64;
  {
    g_autoptr(QsQuantResult) rg = run_ok (d, &s);
    g_autoptr(QsQuantResult) rc = NULL;

    s.granularity = QS_GRANULARITY_CHANNEL;
    rc = run_ok (d, &s);
    g_assert_cmpmem (rg->codes, d->n_elements * 4, rc->codes, d->n_elements * 4);
    g_assert_cmpfloat (rg->stats.mse, ==, rc->stats.mse);
  }
  /* A smaller group never hurts: g16 SQNR >= per-channel SQNR */
  {
    g_autoptr(QsQuantResult) rc = NULL, rg = NULL;

    s.granularity = QS_GRANULARITY_CHANNEL;
    rc = run_ok (d, &s);
    s.granularity = QS_GRANULARITY_GROUP;
    s.group_size = 16;
    rg = run_ok (d, &s);
    g_assert_cmpfloat (rg->stats.sqnr_db, >=, rc->stats.sqnr_db);
  }
}

static void
test_depthwise_and_axis (void)
{
  gsize dw[] = { 3, 3, 4, 2 }, dense[] = { 10, 6 };
  g_autoptr(QsTensor) w = make_tensor ("dw/depthwise_kernel", 4, dw, 10, 1.0);
  g_autoptr(QsTensor) d = make_tensor ("dense/kernel", 2, dense, 11, 1.0);
  QsQuantSpec s;

  qs_tensor_set_layout (w, QS_TENSOR_LAYOUT_DEPTHWISE);
  qs_quant_spec_init (&s);
  {
    g_autoptr(QsQuantParams) p = qs_quant_params_compute (w, &s, NULL);
    g_assert_cmpuint (p->n_params, ==, 8);     /* in * mult */
    check_int_properties (w, &s);
  }
  s.axis = 0;   /* per input row of a Dense kernel */
  {
    g_autoptr(QsQuantParams) p = qs_quant_params_compute (d, &s, NULL);
    g_assert_cmpuint (p->n_params, ==, 10);
    for (gsize i = 0; i < d->n_elements; i++)
      g_assert_cmpuint (qs_quant_params_index (p, i), ==, i / 6);
    check_int_properties (d, &s);
  }
}

/* ------------------------------------------------------------------- ranges */

static void
test_mse_heavy_tail (void)
{
  gsize sizes[] = { 2000, 200000 };   /* exact path and histogram path */

  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    {
      g_autoptr(QsTensor) t = qs_tensor_new ("heavy", 1, &sizes[si], NULL);
      g_autoptr(GRand) rand = g_rand_new_with_seed (12 + si);

      for (gsize i = 0; i < t->n_elements; i++)
        t->data[i] = (float) student_t3 (rand);
      for (guint bits = 3; bits <= 8; bits++)
        for (int affine = 0; affine < 2; affine++)
          {
            g_autoptr(QsQuantResult) rm = NULL, rs = NULL, rp = NULL, rk = NULL;
            QsQuantSpec s;

            qs_quant_spec_init (&s);
            s.granularity = QS_GRANULARITY_TENSOR;
            s.bits = bits;
            s.mapping = affine ? QS_MAPPING_AFFINE : QS_MAPPING_SYMMETRIC;
            rm = run_ok (t, &s);
            s.range_method = QS_RANGE_MSE;
            rs = run_ok (t, &s);
            g_assert_cmpfloat (rs->stats.sqnr_db, >=, rm->stats.sqnr_db);
            g_assert_cmpuint (rs->stats.n_clipped, >, 0);
            check_stats_independent (rs);
            s.range_method = QS_RANGE_PERCENTILE;
            s.range_param = 99.9;
            rp = run_ok (t, &s);
            g_assert_cmpfloat (rp->params->scale[0], <=, rm->params->scale[0]);
            s.range_method = QS_RANGE_KL;
            rk = run_ok (t, &s);
            g_assert_cmpfloat (rk->params->scale[0], <=, rm->params->scale[0] * 1.0001f);
            g_assert_cmpfloat (rk->params->scale[0], >, 0.0f);
          }
    }
}

static void
test_percentile_exact (void)
{
  gsize n = 1000;
  g_autoptr(QsTensor) t = qs_tensor_new ("ramp", 1, &n, NULL);
  g_autoptr(QsQuantParams) p = NULL;
  QsQuantSpec s;

  for (gsize i = 0; i < n; i++)
    t->data[i] = (float) (i + 1) * (i % 2 ? 1.0f : -1.0f);   /* |x| = 1 .. 1000 */
  qs_quant_spec_init (&s);
  s.granularity = QS_GRANULARITY_TENSOR;
  s.range_method = QS_RANGE_PERCENTILE;
  s.range_param = 99.0;
  p = qs_quant_params_compute (t, &s, NULL);
  /* the 99th percentile of |x| is 990: scale = 990 / 127 */
  g_assert_cmpfloat_with_epsilon (p->scale[0], 990.0f / 127.0f, 1e-4);
}

/* ---------------------------------------------------------------- rounding */

static void
test_rounding_modes (void)
{
  gsize n = 4096;
  g_autoptr(QsTensor) t = qs_tensor_new ("ties", 1, &n, NULL);
  QsQuantSpec s;
  g_autoptr(QsQuantParams) p = NULL;

  /* values k + 0.5 (exact ties) in units of the scale, scale = 1 (range +-127) */
  for (gsize i = 0; i < n; i++)
    t->data[i] = (float) ((gint) (i % 200) - 100) + 0.5f;
  t->data[0] = 127.0f;
  qs_quant_spec_init (&s);
  s.granularity = QS_GRANULARITY_TENSOR;
  p = qs_quant_params_compute (t, &s, NULL);
  g_assert_cmpfloat (p->scale[0], ==, 1.0f);

  s.rounding = QS_ROUNDING_NEAREST_EVEN;
  {
    g_autoptr(QsQuantResult) r = run_ok (t, &s);
    for (gsize i = 1; i < n; i++)
      {
        g_assert_cmpint (r->codes[i] % 2, ==, 0);   /* ties to even */
        g_assert_cmpfloat (fabsf (r->dequant->data[i] - t->data[i]), ==, 0.5f);
      }
    g_assert_cmpfloat (fabs (r->stats.mean_error), <, 0.01);
  }
  s.rounding = QS_ROUNDING_NEAREST_AWAY;
  {
    g_autoptr(QsQuantResult) r = run_ok (t, &s);
    for (gsize i = 1; i < n; i++)
      g_assert_cmpfloat (fabsf (r->dequant->data[i]), ==, fabsf (t->data[i]) + 0.5f);
  }
  s.rounding = QS_ROUNDING_FLOOR;
  {
    g_autoptr(QsQuantResult) r = run_ok (t, &s);
    /* floor shows its bias: every tie loses exactly half a step */
    g_assert_cmpfloat_with_epsilon (r->stats.mean_error, -0.5 * (n - 1) / n, 1e-9);
  }
}

static void
test_stochastic (void)
{
  gsize n = 20000;
  g_autoptr(QsTensor) t = make_tensor ("sr", 1, &n, 13, 1.0);
  QsQuantSpec s;
  double total_bias = 0.0;
  gint32 *first = NULL;

  qs_quant_spec_init (&s);
  s.granularity = QS_GRANULARITY_TENSOR;
  s.bits = 4;
  s.rounding = QS_ROUNDING_STOCHASTIC;
  for (guint trial = 0; trial < 20; trial++)
    {
      g_autoptr(QsQuantResult) r = NULL, again = NULL;
      double bias = 0.0;
      gsize n_in = 0;

      s.seed = 1000 + trial;
      r = run_ok (t, &s);
      again = run_ok (t, &s);
      /* reproducible for a seed */
      g_assert_cmpmem (r->codes, n * 4, again->codes, n * 4);
      if (first == NULL)
        first = g_memdup2 (r->codes, n * 4);
      else
        g_assert_true (memcmp (first, r->codes, n * 4) != 0);   /* and seed-dependent */
      for (gsize i = 0; i < n; i++)
        {
          float x = t->data[i];
          if (x >= r->params->clip_lo[0] && x <= r->params->clip_hi[0])
            {
              float e = r->dequant->data[i] - x;
              g_assert_cmpfloat (fabsf (e), <, r->params->scale[0]);
              bias += e;
              n_in++;
            }
        }
      total_bias += bias / n_in / r->params->scale[0];
    }
  /* unbiased: mean error in steps over 400k draws; sd of one draw <= 0.5 step */
  g_assert_cmpfloat (fabs (total_bias / 20), <, 0.005);
  g_free (first);

  /* the same element index gives the same draw whatever the chunking: per-channel rows */
  {
    gsize shape[] = { 100, 7 };
    g_autoptr(QsTensor) d = make_tensor ("sr2", 2, shape, 14, 1.0);
    check_int_properties (d, &s);
  }
}

/* ------------------------------------------------------ NaN, Inf, pruning */

static void
test_non_finite (void)
{
  gsize shape[] = { 50, 8 };
  g_autoptr(QsTensor) t = make_tensor ("dense_nan/kernel", 2, shape, 15, 1.0);
  g_autoptr(QsTensor) clean = qs_tensor_dup (t);
  QsQuantSpec s;

  t->data[3] = NAN;
  t->data[17] = INFINITY;
  t->data[40] = -INFINITY;
  t->data[41] = NAN;
  clean->data[3] = clean->data[17] = clean->data[40] = clean->data[41] = 0.0f;
  qs_quant_spec_init (&s);
  for (int gran = 0; gran < 3; gran++)
    {
      g_autoptr(QsQuantResult) r = NULL;

      s.granularity = gran;
      s.group_size = 10;
      r = run_ok (t, &s);
      g_assert_cmpuint (r->stats.n_nan, ==, 2);
      g_assert_cmpuint (r->stats.n_inf, ==, 2);
      g_assert_cmpuint (r->stats.n_values, ==, t->n_elements - 4);
      g_assert_true (isnan (r->dequant->data[3]));
      g_assert_cmpfloat (r->dequant->data[17], ==, INFINITY);
      g_assert_cmpfloat (r->dequant->data[40], ==, -INFINITY);
      g_assert_cmpint (r->codes[3], ==, r->params->zero_point[qs_quant_params_index (r->params, 3)]);
      g_assert_true (isfinite (r->stats.sqnr_db));
      g_assert_true (isfinite (r->params->scale[0]));
      check_stats_independent (r);
      g_assert_cmpuint (r->float_hist->total, ==, t->n_elements - 4);
    }
  for (QsFormat f = QS_FORMAT_FP16; f <= QS_FORMAT_FP8_E5M2; f++)
    {
      g_autoptr(QsQuantResult) r = NULL;

      qs_quant_spec_init_float (&s, f);
      r = run_ok (t, &s);
      g_assert_cmpuint (r->stats.n_nan, ==, 2);
      g_assert_true (isnan (r->dequant->data[41]));
      check_stats_independent (r);
    }
}

static void
test_prune (void)
{
  gsize shape[] = { 40, 10 };
  g_autoptr(QsTensor) t = make_tensor ("dense_p/kernel", 2, shape, 16, 1.0);
  QsQuantSpec s;

  qs_quant_spec_init (&s);
  s.sparsity = 0.5;
  s.mapping = QS_MAPPING_AFFINE;
  {
    g_autoptr(QsQuantResult) r = run_ok (t, &s);
    float max_pruned = 0.0f, min_kept = G_MAXFLOAT;
    gsize zeros = 0;

    g_assert_cmpuint (r->stats.n_pruned, ==, 200);
    for (gsize i = 0; i < t->n_elements; i++)
      {
        gsize k = qs_quant_params_index (r->params, i);
        float q = r->dequant->data[i];
        float threshold = r->params->scale[k] / 2;

        /* pruned values are exactly 0 and their code is the zero-point */
        if (q == 0.0f && fabsf (t->data[i]) > threshold)
          {
            g_assert_cmpint (r->codes[i], ==, r->params->zero_point[k]);
            max_pruned = MAX (max_pruned, fabsf (t->data[i]));
          }
        if (q != 0.0f)
          min_kept = MIN (min_kept, fabsf (t->data[i]));
        zeros += q == 0.0f;
      }
    g_assert_cmpuint (zeros, >=, 200);
    g_assert_cmpfloat (max_pruned, <=, min_kept);
    check_stats_independent (r);
  }
  s.prune_per_channel = TRUE;
  s.sparsity = 0.3;
  {
    g_autoptr(QsQuantResult) r = run_ok (t, &s);

    g_assert_cmpuint (r->stats.n_pruned, ==, 10 * 12);   /* floor (0.3 * 40) per column */
    check_stats_independent (r);
  }
  /* ternary with pruning */
  s.format = QS_FORMAT_TERNARY;
  {
    g_autoptr(QsQuantResult) r = run_ok (t, &s);
    check_stats_independent (r);
  }
}

/* -------------------------------------------------------- binary and floats */

static void
test_binary_ternary (void)
{
  gsize shape[] = { 30, 4 };
  g_autoptr(QsTensor) t = make_tensor ("bt/kernel", 2, shape, 17, 1.0);
  QsQuantSpec s;

  qs_quant_spec_init (&s);
  s.format = QS_FORMAT_BINARY;
  {
    g_autoptr(QsQuantResult) r = run_ok (t, &s);

    for (gsize c = 0; c < 4; c++)
      {
        double sum = 0;
        for (gsize row = 0; row < 30; row++)
          sum += fabsf (t->data[row * 4 + c]);
        g_assert_cmpfloat_with_epsilon (r->params->scale[c], sum / 30, 1e-6);
      }
    for (gsize i = 0; i < t->n_elements; i++)
      {
        g_assert_cmpint (r->codes[i], ==, t->data[i] >= 0 ? 1 : -1);
        g_assert_cmpfloat (r->dequant->data[i], ==, r->codes[i] * r->params->scale[i % 4]);
      }
    g_assert_cmpuint (r->stats.levels_available, ==, 2);
    g_assert_cmpuint (r->stats.storage_bits, ==, 120 + 4 * 32);
    check_stats_independent (r);
  }
  s.format = QS_FORMAT_TERNARY;
  s.granularity = QS_GRANULARITY_TENSOR;
  {
    g_autoptr(QsQuantResult) r = run_ok (t, &s);
    double sum = 0, kept = 0, thr;
    gsize n_kept = 0;

    for (gsize i = 0; i < t->n_elements; i++)
      sum += fabsf (t->data[i]);
    thr = 0.7 * sum / t->n_elements;
    for (gsize i = 0; i < t->n_elements; i++)
      if (fabsf (t->data[i]) > thr)
        kept += fabsf (t->data[i]), n_kept++;
    g_assert_cmpfloat_with_epsilon (r->params->threshold[0], thr, 1e-6);
    g_assert_cmpfloat_with_epsilon (r->params->scale[0], kept / n_kept, 1e-6);
    for (gsize i = 0; i < t->n_elements; i++)
      g_assert_cmpint (r->codes[i], ==, fabsf (t->data[i]) > thr ? (t->data[i] > 0 ? 1 : -1) : 0);
    g_assert_cmpuint (r->stats.levels_used, ==, 3);
    check_stats_independent (r);
  }
}

static void
test_float_formats (void)
{
  gsize n = 5000;
  g_autoptr(QsTensor) t = make_tensor ("floats", 1, &n, 18, 3.0);
  QsQuantSpec s;

  t->data[0] = 1e6f;   /* beyond fp16 and fp8 */
  for (QsFormat f = QS_FORMAT_FP32; f <= QS_FORMAT_FP8_E5M2; f++)
    {
      g_autoptr(QsQuantResult) r = NULL;

      if (f == QS_FORMAT_INT || f == QS_FORMAT_BINARY || f == QS_FORMAT_TERNARY)
        continue;
      qs_quant_spec_init_float (&s, f);
      r = run_ok (t, &s);
      for (gsize i = 0; i < n; i++)
        {
          g_assert_cmpfloat (r->dequant->data[i], ==, qs_format_round (f, t->data[i]));
          g_assert_cmpuint ((guint32) r->codes[i], ==, qs_format_encode (f, t->data[i]));
        }
      if (f == QS_FORMAT_FP32)
        {
          g_assert_cmpfloat (r->stats.mse, ==, 0.0);
          g_assert_true (isinf (r->stats.sqnr_db));
          g_assert_cmpfloat (r->stats.cosine, ==, 1.0);
          g_assert_cmpuint (r->stats.storage_bits, ==, n * 32);
        }
      else
        {
          g_assert_cmpuint (r->stats.n_clipped, ==, f == QS_FORMAT_BF16 ? 0 : 1);
          g_assert_cmpuint (r->stats.storage_bits, ==, n * qs_format_storage_bits (f));
          g_assert_cmpuint (r->stats.levels_used, >, 0);
          check_stats_independent (r);
        }
    }
}

/* ----------------------------------------------- histograms, maps, options */

static void
test_outputs (void)
{
  gsize shape[] = { 12, 9 };
  g_autoptr(QsTensor) t = make_tensor ("out/kernel", 2, shape, 19, 1.0);
  QsQuantSpec s;
  QsQuantOptions o = full_options;
  g_autoptr(QsQuantResult) r = NULL, r2 = NULL, stats_only = NULL;

  qs_quant_spec_init (&s);
  s.bits = 3;
  o.map_width = 9;
  o.map_height = 12;
  r = qs_quant_run (t, &s, &o, NULL, NULL);
  /* same bins for float and dequant histograms; totals; code histogram */
  g_assert_cmpfloat (r->float_hist->lo, ==, r->dequant_hist->lo);
  g_assert_cmpfloat (r->float_hist->hi, ==, r->dequant_hist->hi);
  g_assert_cmpuint (r->float_hist->total, ==, t->n_elements);
  g_assert_cmpuint (r->dequant_hist->total + r->dequant_hist->underflow + r->dequant_hist->overflow, ==, t->n_elements);
  g_assert_cmpuint (r->code_hist->n_bins, ==, 7);
  {
    gsize counts[7] = { 0 };
    double entropy = 0;
    guint used = 0;

    for (gsize i = 0; i < t->n_elements; i++)
      counts[r->codes[i] + 3]++;
    for (int k = 0; k < 7; k++)
      {
        g_assert_cmpuint (r->code_hist->counts[k], ==, counts[k]);
        if (counts[k])
          {
            double p = (double) counts[k] / t->n_elements;
            entropy -= p * log2 (p);
            used++;
          }
      }
    g_assert_cmpuint (r->stats.levels_used, ==, used);
    g_assert_cmpfloat_with_epsilon (r->stats.code_entropy_bits, entropy, 1e-9);
  }
  g_assert_cmpuint (r->stats.storage_bits, ==, t->n_elements * 3 + 9 * 32);
  g_assert_cmpfloat (r->stats.bits_per_value, ==, (double) r->stats.storage_bits / t->n_elements);
  /* non-downsampled error map: pixel (row, col) is that element's error */
  g_assert_false (r->error_map->downsampled);
  g_assert_cmpuint (r->error_map->width, ==, 9);
  for (gsize row = 0; row < 12; row++)
    for (gsize col = 0; col < 9; col++)
      {
        gsize i = row * 9 + col;
        g_assert_cmpfloat (r->error_map->max_abs[row * 9 + col], ==, r->dequant->data[i] - t->data[i]);
        g_assert_cmpfloat (r->error_map->mean[row * 9 + col], ==, r->dequant->data[i] - t->data[i]);
      }

  /* one channel's histograms */
  o.hist_channel = 4;
  o.hist_lo = -3;
  o.hist_hi = 3;
  r2 = qs_quant_run (t, &s, &o, NULL, NULL);
  g_assert_cmpuint (r2->float_hist->total + r2->float_hist->underflow + r2->float_hist->overflow, ==, 12);
  g_assert_cmpfloat (r2->float_hist->lo, ==, -3.0);
  o.hist_channel = 9;
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QsQuantResult) bad = qs_quant_run (t, &s, &o, NULL, &error);
    g_assert_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC);
    g_assert_null (bad);
  }

  /* stats only: no outputs, same numbers */
  stats_only = qs_quant_run (t, &s, NULL, NULL, NULL);
  g_assert_null (stats_only->codes);
  g_assert_null (stats_only->dequant);
  g_assert_null (stats_only->float_hist);
  g_assert_null (stats_only->error_map);
  g_assert_cmpfloat (stats_only->stats.mse, ==, r->stats.mse);
}

static void
test_with_params (void)
{
  gsize n = 1000;
  g_autoptr(QsTensor) t = make_tensor ("act", 1, &n, 20, 2.0);
  g_autoptr(QsQuantParams) p = NULL;
  g_autoptr(QsQuantResult) r = NULL;
  g_autoptr(GError) error = NULL;
  QsQuantSpec s;

  qs_quant_spec_init (&s);
  s.is_signed = FALSE;
  s.mapping = QS_MAPPING_AFFINE;
  s.granularity = QS_GRANULARITY_TENSOR;
  p = qs_quant_params_from_range (&s, -1.0f, 3.0f, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (p->scale[0], 4.0f / 255.0f, 1e-7);
  g_assert_cmpint (p->zero_point[0], ==, 64);   /* round (0 - (-1) / (4/255)) = round (63.75) */
  r = qs_quant_run_with_params (t, p, &full_options, NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (r->codes[i], ==, qs_quant_value (t->data[i], p->scale[0], 64, 0, 255,
                                                      QS_ROUNDING_NEAREST_EVEN));
  g_assert_cmpuint (r->stats.n_clipped, >, 0);
  check_stats_independent (r);

  /* per-channel params only fit their own shape */
  {
    gsize shape[] = { 5, 4 }, other[] = { 4, 5 };
    g_autoptr(QsTensor) a = make_tensor ("a", 2, shape, 21, 1.0);
    g_autoptr(QsTensor) b = make_tensor ("b", 2, other, 22, 1.0);
    g_autoptr(QsQuantParams) pa = NULL;
    g_autoptr(QsQuantResult) rb = NULL;
    g_autoptr(GError) err2 = NULL;

    qs_quant_spec_init (&s);
    pa = qs_quant_params_compute (a, &s, NULL);
    rb = qs_quant_run_with_params (b, pa, NULL, NULL, &err2);
    g_assert_error (err2, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC);
  }
}

static void
test_cancel (void)
{
  gsize n = 1 << 20;
  g_autoptr(QsTensor) t = make_tensor ("big", 1, &n, 23, 1.0);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QsQuantResult) r = NULL;
  QsQuantSpec s;

  qs_quant_spec_init (&s);
  g_cancellable_cancel (cancellable);
  r = qs_quant_run (t, &s, NULL, cancellable, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_refcount_boxed (void)
{
  gsize n = 10;
  g_autoptr(QsTensor) t = make_tensor ("rc", 1, &n, 24, 1.0);
  QsQuantSpec s;
  QsQuantResult *r, *copy;

  qs_quant_spec_init (&s);
  r = qs_quant_run (t, &s, &full_options, NULL, NULL);
  copy = g_boxed_copy (QS_TYPE_QUANT_RESULT, r);
  g_assert_true (copy == r);
  qs_quant_result_unref (r);
  g_assert_cmpuint (copy->stats.n_values, ==, 10);
  g_boxed_free (QS_TYPE_QUANT_RESULT, copy);
  g_assert_true (G_TYPE_IS_BOXED (QS_TYPE_QUANT_PARAMS));
  g_assert_true (G_TYPE_IS_ENUM (QS_TYPE_FORMAT));
}

/* Degenerate and extreme inputs: never NaN in params or stats, never a crash. */
static void
test_edge_values (void)
{
  gsize shape[] = { 4, 3 };
  const float fills[][3] = {
    { 0.0f, 0.0f, 0.0f },                  /* all zeros */
    { 5.0f, 5.0f, 5.0f },                  /* constant */
    { FLT_MAX, -FLT_MAX, 1.0f },           /* range overflows float */
    { 1e-42f, -3e-44f, 0.0f },             /* subnormals */
    { 1e30f, 1e-30f, -2.0f },              /* huge dynamic range */
  };

  for (guint fi = 0; fi < G_N_ELEMENTS (fills); fi++)
    for (QsFormat f = QS_FORMAT_FP32; f <= QS_FORMAT_FP8_E5M2; f++)
      for (int variant = 0; variant < 8; variant++)
        {
          g_autoptr(QsTensor) t = qs_tensor_new ("edge", 2, shape, NULL);
          g_autoptr(QsQuantResult) r = NULL;
          g_autoptr(GError) error = NULL;
          QsQuantSpec s;

          for (gsize i = 0; i < t->n_elements; i++)
            t->data[i] = fills[fi][i % 3];
          qs_quant_spec_init (&s);
          s.format = f;
          s.mapping = variant & 1 ? QS_MAPPING_AFFINE : QS_MAPPING_SYMMETRIC;
          s.range_method = variant / 2;
          s.pow2_scale = variant == 3;
          s.granularity = variant % 3;
          s.group_size = 2;
          r = qs_quant_run (t, &s, &full_options, NULL, &error);
          g_assert_no_error (error);
          for (gsize k = 0; k < r->params->n_params; k++)
            {
              g_assert_true (isfinite (r->params->scale[k]));
              g_assert_true (isfinite (r->params->clip_lo[k]) && isfinite (r->params->clip_hi[k]));
            }
          g_assert_false (isnan (r->stats.mse));
          g_assert_false (isnan (r->stats.sqnr_db));
          g_assert_false (isnan (r->stats.cosine));
          g_assert_false (isnan (r->stats.code_entropy_bits));
          for (gsize i = 0; i < t->n_elements; i++)
            g_assert_false (isnan (r->dequant->data[i]));
          for (gsize k = 0; k < r->params->n_params; k++)
            if (f != QS_FORMAT_FP32 && !qs_quant_spec_is_float (&s))
              g_assert_cmpfloat (r->params->scale[k], >, 0.0f);
          if (fi == 0 && f == QS_FORMAT_BINARY)
            {
              /* no zero code: +-the smallest normal scale */
              for (gsize i = 0; i < t->n_elements; i++)
                g_assert_cmpfloat (fabsf (r->dequant->data[i]), ==, FLT_MIN);
            }
          else if (fi == 0)
            {
              g_assert_cmpfloat (r->stats.mse, ==, 0.0);
              for (gsize i = 0; i < t->n_elements; i++)
                g_assert_cmpfloat (r->dequant->data[i], ==, 0.0f);
            }
        }
}

/* ------------------------------------------------- code ranges and layouts */

/* qmin / qmax of every integer width and mapping, through params made from a range. */
static void
test_code_ranges (void)
{
  for (guint bits = 2; bits <= 16; bits++)
    for (int variant = 0; variant < 4; variant++)
      {
        g_autoptr(QsQuantParams) p = NULL;
        g_autoptr(GError) error = NULL;
        gint32 half = 1 << (bits - 1);
        QsQuantSpec s;

        qs_quant_spec_init (&s);
        s.bits = bits;
        s.granularity = QS_GRANULARITY_TENSOR;
        s.narrow_range = variant == 0;
        s.mapping = variant == 2 ? QS_MAPPING_AFFINE : QS_MAPPING_SYMMETRIC;
        s.is_signed = variant != 3;
        p = qs_quant_params_from_range (&s, -2.0f, 3.0f, &error);
        g_assert_no_error (error);
        switch (variant)
          {
          case 0:   /* symmetric narrow: [-(2^(b-1) - 1), 2^(b-1) - 1] */
            g_assert_cmpint (p->qmin, ==, -(half - 1));
            g_assert_cmpint (p->qmax, ==, half - 1);
            g_assert_cmpfloat_with_epsilon (p->scale[0], 3.0f / (half - 1), 1e-6f * 3.0f / (half - 1));
            break;
          case 1:   /* symmetric full range */
            g_assert_cmpint (p->qmin, ==, -half);
            g_assert_cmpint (p->qmax, ==, half - 1);
            g_assert_cmpint (p->zero_point[0], ==, 0);
            break;
          case 2:   /* affine signed: zero-point maps 0.0 exactly */
            g_assert_cmpint (p->qmin, ==, -half);
            g_assert_cmpint (p->qmax, ==, half - 1);
            g_assert_cmpfloat_with_epsilon (p->scale[0], 5.0f / (2 * half - 1), 1e-6f);
            g_assert_cmpfloat (qs_dequant_value (p->zero_point[0], p->scale[0], p->zero_point[0]), ==, 0.0f);
            break;
          default:  /* unsigned symmetric: [0, 2^b - 1], negatives clip to 0 */
            g_assert_cmpint (p->qmin, ==, 0);
            g_assert_cmpint (p->qmax, ==, 2 * half - 1);
            g_assert_cmpint (qs_quant_value (-1.0f, p->scale[0], 0, p->qmin, p->qmax,
                                             QS_ROUNDING_NEAREST_EVEN), ==, 0);
            break;
          }
      }
}

/* Keras default channel axes: Dense [in, out] -> out, Conv2D [kh, kw, in, out] -> out,
 * DepthwiseConv2D [kh, kw, in, mult] -> the in * mult pairs; each channel's symmetric scale
 * is that channel's own max |x| / qmax. */
static void
check_channel_layout (QsTensor *t,
                      gsize     n_channels)
{
  g_autoptr(QsQuantParams) p = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *amax = g_new0 (float, n_channels);
  QsQuantSpec s;

  qs_quant_spec_init (&s);
  s.granularity = QS_GRANULARITY_CHANNEL;
  p = qs_quant_params_compute (t, &s, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->n_params, ==, n_channels);
  /* depthwise keeps axis -1: its channels span two dimensions */
  g_assert_cmpint (p->spec.axis, ==, t->layout == QS_TENSOR_LAYOUT_DEPTHWISE ? -1 : (gint) t->n_dims - 1);
  for (gsize i = 0; i < t->n_elements; i++)
    {
      g_assert_cmpuint (qs_quant_params_index (p, i), ==, i % n_channels);
      amax[i % n_channels] = MAX (amax[i % n_channels], fabsf (t->data[i]));
    }
  for (gsize c = 0; c < n_channels; c++)
    g_assert_cmpfloat_with_epsilon (p->scale[c], amax[c] / 127.0f, 1e-6f * amax[c]);
}

static void
test_keras_default_axes (void)
{
  gsize dense[] = { 20, 6 }, conv[] = { 3, 3, 5, 7 }, dw[] = { 3, 3, 4, 3 };
  g_autoptr(QsTensor) d = make_tensor ("dense/kernel", 2, dense, 30, 1.0);
  g_autoptr(QsTensor) c = make_tensor ("conv2d/kernel", 4, conv, 31, 1.0);
  g_autoptr(QsTensor) w = make_tensor ("depthwise/depthwise_kernel", 4, dw, 32, 1.0);

  /* make every channel's range different so a wrong mapping shows */
  for (gsize i = 0; i < c->n_elements; i++)
    c->data[i] *= 1.0f + (float) (i % 7);
  for (gsize i = 0; i < w->n_elements; i++)
    w->data[i] *= 1.0f + (float) (i % 12);
  qs_tensor_set_layout (c, QS_TENSOR_LAYOUT_CONV2D);
  qs_tensor_set_layout (w, QS_TENSOR_LAYOUT_DEPTHWISE);
  check_channel_layout (d, 6);
  check_channel_layout (c, 7);
  check_channel_layout (w, 12);
}

/* ------------------------------------------------- inputs a user can reach */

static void
assert_sane (QsQuantResult *r)
{
  for (gsize k = 0; k < r->params->n_params; k++)
    {
      g_assert_true (isfinite (r->params->scale[k]));
      g_assert_cmpfloat (r->params->scale[k], >, 0.0f);
    }
  g_assert_true (isfinite (r->stats.mse));
  g_assert_false (isnan (r->stats.sqnr_db));
  g_assert_true (isfinite (r->stats.cosine));
  g_assert_true (isfinite (r->stats.mean_error));
  g_assert_true (isfinite (r->stats.max_abs_error));
  g_assert_true (isfinite (r->stats.code_entropy_bits));
  g_assert_true (isfinite (r->stats.clipped_fraction));
  g_assert_cmpfloat (r->stats.clipped_fraction, >=, 0.0);
  g_assert_cmpfloat (r->stats.clipped_fraction, <=, 1.0);
  g_assert_cmpfloat (r->stats.bits_per_value, >, 0.0);
  for (gsize i = 0; i < r->input->n_elements; i++)
    g_assert_true (isfinite (r->dequant->data[i]));
}

static void
test_user_edge_cases (void)
{
  QsQuantSpec s;

  /* per-channel on a bias vector: one channel per element, exact up to rounding */
  {
    gsize n = 10;
    g_autoptr(QsTensor) b = make_tensor ("dense/bias", 1, &n, 40, 1.0);
    g_autoptr(QsQuantResult) r = NULL;

    b->data[3] = 0.0f;
    qs_quant_spec_init (&s);
    r = run_ok (b, &s);
    assert_sane (r);
    g_assert_cmpuint (r->params->n_params, ==, 10);
    g_assert_cmpfloat (r->stats.sqnr_db, >, 40.0);
    check_stats_independent (r);
  }
  /* group size that does not divide a conv layer's reduction length: a clear error */
  {
    gsize conv[] = { 3, 3, 5, 4 };
    g_autoptr(QsTensor) c = make_tensor ("conv2d_3/kernel", 4, conv, 41, 1.0);

    qs_tensor_set_layout (c, QS_TENSOR_LAYOUT_CONV2D);
    qs_quant_spec_init (&s);
    s.granularity = QS_GRANULARITY_GROUP;
    s.group_size = 32;   /* 3 * 3 * 5 = 45 */
    expect_invalid (c, &s, QS_QUANT_ERROR_INVALID_SPEC, "group_size 32");
    expect_invalid (c, &s, QS_QUANT_ERROR_INVALID_SPEC, "45");
    s.group_size = 9;
    {
      g_autoptr(QsQuantResult) r = run_ok (c, &s);
      g_assert_cmpuint (r->params->n_params, ==, 4 * 5);
      assert_sane (r);
    }
  }
  /* 16-bit affine: tight error, codes in range, stats independent */
  {
    gsize shape[] = { 64, 16 };
    g_autoptr(QsTensor) t = make_tensor ("dense16/kernel", 2, shape, 42, 1.0);
    g_autoptr(QsQuantResult) r = NULL;

    qs_quant_spec_init (&s);
    s.bits = 16;
    s.mapping = QS_MAPPING_AFFINE;
    s.granularity = QS_GRANULARITY_TENSOR;
    check_int_properties (t, &s);
    r = run_ok (t, &s);
    g_assert_cmpint (r->params->qmin, ==, -32768);
    g_assert_cmpint (r->params->qmax, ==, 32767);
    g_assert_cmpfloat (r->stats.sqnr_db, >, 80.0);
    /* codes + one fp32 scale + one 16-bit zero-point */
    g_assert_cmpuint (r->stats.storage_bits, ==, t->n_elements * 16 + 32 + 16);
  }
  /* unsigned codes on signed data: negatives clip to 0, and say so */
  {
    gsize n = 1000;
    g_autoptr(QsTensor) t = make_tensor ("act/signed", 1, &n, 43, 1.0);
    gsize negative = 0;

    for (int affine = 0; affine < 2; affine++)
      {
        g_autoptr(QsQuantResult) r = NULL;

        qs_quant_spec_init (&s);
        s.is_signed = FALSE;
        s.mapping = affine ? QS_MAPPING_AFFINE : QS_MAPPING_SYMMETRIC;
        s.granularity = QS_GRANULARITY_TENSOR;
        r = run_ok (t, &s);
        assert_sane (r);
        check_int_properties (t, &s);
        if (!affine)
          {
            negative = 0;
            for (gsize i = 0; i < n; i++)
              negative += rintf (t->data[i] / r->params->scale[0]) < 0.0f;
            g_assert_cmpuint (r->stats.n_clipped, ==, negative);
            g_assert_cmpuint (negative, >, 400);
          }
        else
          {
            g_assert_cmpint (r->params->zero_point[0], >, 0);
            g_assert_cmpuint (r->stats.n_clipped, ==, 0);
          }
      }
    /* all negative under unsigned symmetric: everything clips, numbers stay finite */
    for (gsize i = 0; i < n; i++)
      t->data[i] = -fabsf (t->data[i]) - 0.1f;
    {
      g_autoptr(QsQuantResult) r = NULL;

      s.mapping = QS_MAPPING_SYMMETRIC;
      r = run_ok (t, &s);
      assert_sane (r);
      g_assert_cmpfloat (r->stats.clipped_fraction, >, 0.99);
      g_assert_cmpfloat (r->stats.sqnr_db, ==, 0.0);   /* every value dequantizes to 0 */
    }
  }
  /* all-zero and single-value tensors, every format, range method and granularity */
  for (int shape_kind = 0; shape_kind < 3; shape_kind++)
    for (QsFormat f = QS_FORMAT_FP32; f <= QS_FORMAT_FP8_E5M2; f++)
      for (QsRangeMethod m = QS_RANGE_MINMAX; m <= QS_RANGE_KL; m++)
        for (int gran = 0; gran < 3; gran++)
          for (int affine = 0; affine < 2; affine++)
            {
              gsize zeros[] = { 8, 4 }, one[] = { 1 };
              g_autoptr(QsTensor) t = shape_kind == 0 ? qs_tensor_new ("zeros/kernel", 2, zeros, NULL)
                                                      : qs_tensor_new ("one/bias", 1, one, NULL);
              g_autoptr(QsQuantResult) r = NULL;

              if (shape_kind == 1)
                t->data[0] = -0.37f;
              else if (shape_kind == 2)
                t->data[0] = 0.0f;
              qs_quant_spec_init (&s);
              s.format = f;
              s.range_method = m;
              s.range_param = 100.0;
              s.granularity = gran;
              s.group_size = shape_kind == 0 ? 4 : 1;
              s.mapping = affine ? QS_MAPPING_AFFINE : QS_MAPPING_SYMMETRIC;
              r = run_ok (t, &s);
              assert_sane (r);
              check_stats_independent (r);
              if (shape_kind != 1 && f == QS_FORMAT_BINARY)
                g_assert_cmpfloat (r->params->scale[0], ==, FLT_MIN);
              else if (shape_kind != 1)
                {
                  /* zero in, zero out */
                  g_assert_cmpfloat (r->stats.mse, ==, 0.0);
                  g_assert_true (isinf (r->stats.sqnr_db));
                }
              if (shape_kind == 1 && f == QS_FORMAT_INT)
                {
                  /* one value: its own range, represented to within half a step */
                  g_assert_cmpfloat (fabsf (r->dequant->data[0] + 0.37f), <=, r->params->scale[0] / 2);
                  g_assert_cmpuint (r->stats.levels_used, ==, 1);
                  g_assert_cmpfloat (r->stats.code_entropy_bits, ==, 0.0);
                }
            }
}

/* Percentile 100 keeps the full range: the same params as min-max. */
static void
test_percentile_100 (void)
{
  gsize shape[] = { 200, 8 };
  g_autoptr(QsTensor) t = make_tensor ("p100/kernel", 2, shape, 44, 1.0);

  for (int gran = 0; gran < 3; gran++)
    for (int affine = 0; affine < 2; affine++)
      {
        g_autoptr(QsQuantParams) pm = NULL, pp = NULL;
        QsQuantSpec s;

        qs_quant_spec_init (&s);
        s.granularity = gran;
        s.group_size = 50;
        s.mapping = affine ? QS_MAPPING_AFFINE : QS_MAPPING_SYMMETRIC;
        pm = qs_quant_params_compute (t, &s, NULL);
        s.range_method = QS_RANGE_PERCENTILE;
        s.range_param = 100.0;
        pp = qs_quant_params_compute (t, &s, NULL);
        g_assert_cmpuint (pm->n_params, ==, pp->n_params);
        for (gsize k = 0; k < pm->n_params; k++)
          {
            g_assert_cmpfloat (pp->scale[k], ==, pm->scale[k]);
            g_assert_cmpint (pp->zero_point[k], ==, pm->zero_point[k]);
          }
      }
}

/* Binary and ternary: level counts, entropy, cosine and storage from first principles. */
static void
test_binary_ternary_stats (void)
{
  gsize shape[] = { 64, 8 };
  g_autoptr(QsTensor) t = make_tensor ("bt2/kernel", 2, shape, 45, 1.0);

  for (QsFormat f = QS_FORMAT_BINARY; f <= QS_FORMAT_TERNARY; f++)
    for (int gran = 0; gran < 3; gran++)
      {
        g_autoptr(QsQuantResult) r = NULL;
        gsize counts[3] = { 0 };
        double entropy = 0.0;
        guint used = 0;
        QsQuantSpec s;

        qs_quant_spec_init (&s);
        s.format = f;
        s.granularity = gran;
        s.group_size = 16;
        r = run_ok (t, &s);
        assert_sane (r);
        check_stats_independent (r);
        for (gsize i = 0; i < t->n_elements; i++)
          counts[r->codes[i] + 1]++;
        for (int k = 0; k < 3; k++)
          {
            g_assert_cmpuint (r->code_hist->counts[k], ==, counts[k]);
            if (counts[k])
              {
                double pr = (double) counts[k] / t->n_elements;
                entropy -= pr * log2 (pr);
                used++;
              }
          }
        g_assert_cmpuint (r->stats.levels_used, ==, used);
        g_assert_cmpuint (r->stats.levels_available, ==, f == QS_FORMAT_BINARY ? 2 : 3);
        g_assert_cmpfloat_with_epsilon (r->stats.code_entropy_bits, entropy, 1e-9);
        g_assert_cmpuint (r->stats.storage_bits, ==,
                          t->n_elements * (f == QS_FORMAT_BINARY ? 1 : 2) + r->params->n_params * 32);
        g_assert_cmpfloat (r->stats.cosine, >, 0.7);
        g_assert_cmpuint (r->stats.n_clipped, ==, 0);
      }
}

/* Issue 17: the estimate of a big tensor measures a subsample of whole rows (whole groups)
 * with the whole tensor's ranges where the granularity allows, scales the counts to the
 * whole tensor, and lands close to the exact statistics; a small tensor gets the exact
 * result. */
static void
test_estimate (void)
{
  gsize shape[] = { 2048, 256 }, conv_shape[] = { 3, 3, 64, 128 };
  g_autoptr(QsTensor) t = make_tensor ("dense/kernel", 2, shape, 17, 0.05);
  g_autoptr(QsTensor) conv = make_tensor ("conv/kernel", 4, conv_shape, 18, 0.05);
  QsQuantSpec specs[4];
  g_autoptr(GError) error = NULL;

  qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_DENSE);
  qs_tensor_set_layout (conv, QS_TENSOR_LAYOUT_CONV2D);
  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] *= 1.0f + (float) (i % 256) / 64.0f;   /* unequal channels */
  qs_quant_spec_init (&specs[0]);                      /* int8 per channel */
  qs_quant_spec_init (&specs[1]);
  specs[1].bits = 4;
  specs[1].granularity = QS_GRANULARITY_GROUP;
  specs[1].group_size = 32;
  qs_quant_spec_init (&specs[2]);
  specs[2].granularity = QS_GRANULARITY_TENSOR;
  specs[2].range_method = QS_RANGE_MSE;
  qs_quant_spec_init_float (&specs[3], QS_FORMAT_FP16);

  for (guint k = 0; k < G_N_ELEMENTS (specs); k++)
    for (guint m = 0; m < 2; m++)
      {
        QsTensor *x = m == 0 ? t : conv;
        g_autoptr(QsQuantResult) exact = run_ok (x, &specs[k]);
        g_autoptr(QsQuantResult) est = qs_quant_run_estimate (x, &specs[k], &full_options,
                                                             32 * 1024, NULL, &error);

        g_assert_no_error (error);
        g_assert_true (est->is_estimate);
        g_assert_false (exact->is_estimate);
        g_assert_cmpuint (exact->n_sampled, ==, 0);
        g_assert_cmpuint (est->n_sampled, ==, est->input->n_elements);
        g_assert_cmpuint (est->n_sampled, <=, 32 * 1024);
        g_assert_cmpuint (est->n_sampled, >=, 16 * 1024);
        g_assert_cmpuint (est->stats.n_values, ==, x->n_elements);
        g_assert_cmpuint (est->stats.storage_bits, ==, exact->stats.storage_bits);
        g_assert_cmpfloat (fabs (est->stats.sqnr_db - exact->stats.sqnr_db), <, 0.5);
        if (specs[k].granularity != QS_GRANULARITY_GROUP)
          {
            /* the whole tensor's ranges */
            g_assert_cmpuint (est->params->n_params, ==, exact->params->n_params);
            g_assert_cmpmem (est->params->scale, sizeof (float) * est->params->n_params,
                             exact->params->scale, sizeof (float) * exact->params->n_params);
          }
        else
          g_assert_cmpuint (est->params->n_params, ==, est->n_sampled / 32);
      }

  /* small enough: the exact result itself */
  {
    g_autoptr(QsQuantResult) exact = run_ok (t, &specs[0]);
    g_autoptr(QsQuantResult) same = qs_quant_run_estimate (t, &specs[0], &full_options,
                                                          t->n_elements, NULL, &error);

    g_assert_no_error (error);
    g_assert_false (same->is_estimate);
    g_assert_cmpfloat (same->stats.mse, ==, exact->stats.mse);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/quant/format/bits-range", test_format_bits_range);
  g_test_add_func ("/qs/quant/spec/label", test_spec_label);
  g_test_add_func ("/qs/quant/spec/invalid", test_spec_invalid);
  g_test_add_func ("/qs/quant/int/properties", test_int_properties);
  g_test_add_func ("/qs/quant/estimate", test_estimate);
  g_test_add_func ("/qs/quant/per-channel-sqnr", test_per_channel_sqnr);
  g_test_add_func ("/qs/quant/group/geometry", test_group_geometry);
  g_test_add_func ("/qs/quant/depthwise-and-axis", test_depthwise_and_axis);
  g_test_add_func ("/qs/quant/range/mse-heavy-tail", test_mse_heavy_tail);
  g_test_add_func ("/qs/quant/range/percentile-exact", test_percentile_exact);
  g_test_add_func ("/qs/quant/rounding/modes", test_rounding_modes);
  g_test_add_func ("/qs/quant/rounding/stochastic", test_stochastic);
  g_test_add_func ("/qs/quant/non-finite", test_non_finite);
  g_test_add_func ("/qs/quant/prune", test_prune);
  g_test_add_func ("/qs/quant/binary-ternary", test_binary_ternary);
  g_test_add_func ("/qs/quant/float-formats", test_float_formats);
  g_test_add_func ("/qs/quant/outputs", test_outputs);
  g_test_add_func ("/qs/quant/with-params", test_with_params);
  g_test_add_func ("/qs/quant/cancel", test_cancel);
  g_test_add_func ("/qs/quant/boxed", test_refcount_boxed);
  g_test_add_func ("/qs/quant/edge-values", test_edge_values);
  g_test_add_func ("/qs/quant/int/code-ranges", test_code_ranges);
  g_test_add_func ("/qs/quant/keras-default-axes", test_keras_default_axes);
  g_test_add_func ("/qs/quant/user-edge-cases", test_user_edge_cases);
  g_test_add_func ("/qs/quant/range/percentile-100", test_percentile_100);
  g_test_add_func ("/qs/quant/binary-ternary-stats", test_binary_ternary_stats);
  return g_test_run ();
}
