/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quantscope-core.h"
#include "qs-kernels-int.h"

typedef struct
{
  gsize   m, n, k;
  guint8 *a;
  gint8  *w;
  gint32 *bias, *mult, *shift;
  float  *scale;
  QsRequant rq;
  QsPackedWeights packed;
} Case;

static void
case_init (Case  *c,
           GRand *rand,
           gsize  m,
           gsize  n,
           gsize  k)
{
  gsize kp = (k + 3) / 4 * 4;

  c->m = m; c->n = n; c->k = k;
  c->a = g_malloc (m * kp + 64);
  c->w = g_malloc (n * k);
  c->bias = g_new (gint32, n + 16);
  c->mult = g_new (gint32, n + 16);
  c->shift = g_new (gint32, n + 16);
  c->scale = g_new0 (float, n + 16);
  for (gsize i = 0; i < m * kp + 64; i++)
    c->a[i] = g_rand_int_range (rand, 0, 8) == 0 ? 255 : g_rand_int_range (rand, 0, 256);
  for (gsize i = 0; i < n * k; i++)
    c->w[i] = g_rand_int_range (rand, 0, 8) == 0 ? -128 : g_rand_int_range (rand, -128, 128);
  for (gsize i = 0; i < n; i++)
    {
      int kind = g_rand_int_range (rand, 0, 10);

      c->bias[i] = g_rand_int_range (rand, -(1 << 24), 1 << 24);
      c->mult[i] = kind == 0 ? 0 : kind == 1 ? G_MAXINT32 : kind == 2 ? (1 << 30)
                   : g_rand_int_range (rand, 1 << 30, G_MAXINT32);
      c->shift[i] = kind == 3 ? -31 : kind == 4 ? 30 : g_rand_int_range (rand, -20, 4);
      /* fp32-rne scales: 0, powers of two (exact ties), huge, or random */
      c->scale[i] = kind == 0 ? 0.0f : kind == 1 ? 0.5f : kind == 2 ? ldexpf (1.0f, -g_rand_int_range (rand, 1, 20))
                    : kind == 3 ? 1e30f : (float) g_rand_double_range (rand, 1e-7, 2.0);
    }
  c->rq.scale = c->scale;
  c->rq.mode = QS_REQUANT_GEMMLOWP;
  c->rq.bias = c->bias;
  c->rq.multiplier = c->mult;
  c->rq.shift = c->shift;
  c->rq.out_zp = g_rand_int_range (rand, 0, 256);
  c->rq.out_min = g_rand_int_range (rand, 0, 64);
  c->rq.out_max = g_rand_int_range (rand, 192, 256);
  qs_packed_weights_init (&c->packed, c->w, n, k);
}

static void
case_clear (Case *c)
{
  g_free (c->a); g_free (c->w); g_free (c->bias); g_free (c->mult); g_free (c->shift);
  g_free (c->scale);
  qs_packed_weights_clear (&c->packed);
}

/* A requantized code written out per mode from the scalar helpers, independent of
 * qs_requant_channel. */
static guint8
naive_requant (const Case *c,
               gint32      acc,
               gsize       o)
{
  gint64 v;

  switch (c->rq.mode)
    {
    case QS_REQUANT_FP32_RNE:
      {
        double x = (double) (float) acc * c->scale[o];   /* exact product of two floats */
        float f = (float) x;

        if (isnan (f))
          f = 0.0f;
        v = c->rq.out_zp + (gint64) CLAMP (nearbyint (f), (double) (c->rq.out_min - c->rq.out_zp),
                                           (double) (c->rq.out_max - c->rq.out_zp));
        return (guint8) v;
      }
    case QS_REQUANT_SINGLE_ROUNDING:
      v = qs_multiply_by_quantized_multiplier_single_rounding (acc, c->mult[o], c->shift[o]);
      break;
    case QS_REQUANT_CMSIS_NN:
      v = qs_cmsis_nn_requantize (acc, c->mult[o], c->shift[o]);
      break;
    default:
      v = qs_multiply_by_quantized_multiplier (acc, c->mult[o], c->shift[o]);
      break;
    }
  v += c->rq.out_zp;
  return (guint8) CLAMP (v, c->rq.out_min, c->rq.out_max);
}

/* The reference GEMM against a naive loop over the unpacked weights. */
static void
test_gemm_ref_naive (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (10);
  gsize ms[] = { 1, 3, 8 }, ns[] = { 1, 5, 16, 17 }, ks[] = { 1, 3, 4, 9, 37 };

  for (gsize im = 0; im < G_N_ELEMENTS (ms); im++)
    for (gsize in = 0; in < G_N_ELEMENTS (ns); in++)
      for (gsize ik = 0; ik < G_N_ELEMENTS (ks); ik++)
        {
          Case c;
          gsize kp = (ks[ik] + 3) / 4 * 4;
          g_autofree guint8 *out = NULL;

          case_init (&c, rand, ms[im], ns[in], ks[ik]);
          out = g_malloc (c.m * c.n);
          qs_gemm_u8s8_ref (c.a, kp, c.m, NULL, 1, &c.packed, &c.rq, out, c.n);
          for (gsize r = 0; r < c.m; r++)
            for (gsize o = 0; o < c.n; o++)
              {
                gint64 acc = c.bias[o], v;

                for (gsize j = 0; j < c.k; j++)
                  acc += (gint64) c.a[r * kp + j] * c.w[o * c.k + j];
                g_assert_cmpint (acc, ==, (gint32) acc);
                v = c.rq.out_zp + (gint64) qs_multiply_by_quantized_multiplier ((gint32) acc, c.mult[o], c.shift[o]);
                v = CLAMP (v, c.rq.out_min, c.rq.out_max);
                g_assert_cmpint (out[r * c.n + o], ==, v);
                g_assert_cmpint (qs_packed_weights_get (&c.packed, o, r % c.k), ==, c.w[o * c.k + r % c.k]);
              }
          /* the other modes: the same accumulators, each mode's arithmetic */
          for (QsRequantMode mode = QS_REQUANT_SINGLE_ROUNDING; mode < QS_REQUANT_N_MODES; mode++)
            {
              c.rq.mode = mode;
              qs_gemm_u8s8_ref (c.a, kp, c.m, NULL, 1, &c.packed, &c.rq, out, c.n);
              for (gsize r = 0; r < c.m; r++)
                for (gsize o = 0; o < c.n; o++)
                  {
                    gint32 acc = c.bias[o];

                    for (gsize j = 0; j < c.k; j++)
                      acc += (gint32) c.a[r * kp + j] * c.w[o * c.k + j];
                    g_assert_cmpint (out[r * c.n + o], ==, naive_requant (&c, acc, o));
                  }
            }
          case_clear (&c);
        }
}

static void
check_variant_mode (const char    *name,
                    QsRequantMode  mode)
{
  const QsIntKernels *kern = qs_int_kernels_get_by_name (name);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  gsize ms[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13, 19 };
  gsize ns[] = { 1, 3, 8, 15, 16, 17, 31, 33, 64 };
  gsize ks[] = { 1, 2, 3, 4, 5, 9, 12, 31, 144, 1023 };

  if (kern == NULL)
    {
      g_test_skip ("this CPU or build lacks the variant");
      return;
    }
  for (gsize im = 0; im < G_N_ELEMENTS (ms); im++)
    for (gsize in = 0; in < G_N_ELEMENTS (ns); in++)
      for (gsize ik = 0; ik < G_N_ELEMENTS (ks); ik++)
        {
          Case c;
          gsize kp = (ks[ik] + 3) / 4 * 4, ldc = ns[in] + 3;
          g_autofree guint8 *want = NULL, *got = NULL;

          case_init (&c, rand, ms[im], ns[in], ks[ik]);
          c.rq.mode = mode;
          want = g_malloc0 (c.m * ldc);
          got = g_malloc0 (c.m * ldc);
          qs_gemm_u8s8_ref (c.a, kp + 1, c.m - (c.m > 1), NULL, 1, &c.packed, &c.rq, want, ldc);
          kern->gemm (c.a, kp + 1, c.m - (c.m > 1), NULL, 1, &c.packed, &c.rq, got, ldc);
          g_assert_cmpmem (want, c.m * ldc, got, c.m * ldc);
          case_clear (&c);
        }

  /* requant alone on edge accumulators */
  for (int rep = 0; rep < 200; rep++)
    {
      Case c;
      gsize n = g_rand_int_range (rand, 1, 70);
      g_autofree gint32 *acc = g_new (gint32, n);
      g_autofree guint8 *want = g_malloc (n), *got = g_malloc (n);
      static const gint32 edges[] = { G_MININT32, G_MAXINT32, 0, -1, 1, G_MININT32 + 1, 1 << 30 };

      case_init (&c, rand, 1, n, 4);
      c.rq.mode = mode;
      for (gsize i = 0; i < n; i++)
        acc[i] = g_rand_boolean (rand) ? edges[g_rand_int_range (rand, 0, G_N_ELEMENTS (edges))]
                                       : (gint32) g_rand_int (rand);
      /* ties: small accumulators against power-of-two scales and large right shifts */
      if (rep % 2 == 0)
        for (gsize i = 0; i < n; i++)
          acc[i] = g_rand_int_range (rand, -4096, 4097);
      qs_requant_ref (acc, n, &c.rq, want);
      kern->requant (acc, n, &c.rq, got);
      g_assert_cmpmem (want, n, got, n);
      case_clear (&c);
    }
}

static void
check_variant (const char *name)
{
  if (qs_int_kernels_get_by_name (name) == NULL)
    {
      g_test_skip ("this CPU or build lacks the variant");
      return;
    }
  for (QsRequantMode mode = 0; mode < QS_REQUANT_N_MODES; mode++)
    check_variant_mode (name, mode);
}

/* Segmented rows (implicit im2col of a valid convolution) equal the explicit im2col, for
 * the reference and every SIMD variant. */
static void
test_gemm_segments (void)
{
  const char *variants[] = { "ref", "avx2", "avx512" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  struct { gsize h, w, c, kh, kw, sw, n; } shapes[] = {
    { 7, 9, 4, 3, 3, 1, 16 }, { 8, 8, 16, 3, 3, 1, 17 }, { 9, 11, 8, 2, 3, 2, 5 },
    { 6, 6, 12, 3, 1, 1, 33 }, { 10, 12, 32, 3, 3, 1, 64 },
  };

  for (gsize si = 0; si < G_N_ELEMENTS (shapes); si++)
    {
      gsize h = shapes[si].h, w = shapes[si].w, c = shapes[si].c, kh = shapes[si].kh, kw = shapes[si].kw;
      gsize sw = shapes[si].sw, oh = h - kh + 1, ow = (w - kw) / sw + 1, k = kh * kw * c;
      g_autofree guint8 *img = g_malloc (h * w * c + 64), *col = g_malloc (ow * k + 64);
      g_autofree guint8 *want = g_malloc (oh * ow * shapes[si].n), *got = g_malloc (oh * ow * shapes[si].n);
      gsize seg_off[8];
      Case cs;

      case_init (&cs, rand, 1, shapes[si].n, k);
      for (gsize i = 0; i < h * w * c + 64; i++)
        img[i] = g_rand_int_range (rand, 0, 256);
      for (gsize ky = 0; ky < kh; ky++)
        seg_off[ky] = ky * w * c;
      for (gsize oy = 0; oy < oh; oy++)
        {
          for (gsize ox = 0; ox < ow; ox++)
            for (gsize ky = 0; ky < kh; ky++)
              memcpy (col + ox * k + ky * kw * c, img + ((oy + ky) * w + ox * sw) * c, kw * c);
          qs_gemm_u8s8_ref (col, k, ow, NULL, 1, &cs.packed, &cs.rq, want + oy * ow * cs.n, cs.n);
        }
      for (gsize v = 0; v < G_N_ELEMENTS (variants) * QS_REQUANT_N_MODES; v++)
        {
          const QsIntKernels *kern = qs_int_kernels_get_by_name (variants[v % G_N_ELEMENTS (variants)]);

          if (v % G_N_ELEMENTS (variants) == 0)
            {
              /* the next mode: recompute the explicit im2col reference */
              cs.rq.mode = (QsRequantMode) (v / G_N_ELEMENTS (variants));
              for (gsize oy = 0; oy < oh; oy++)
                {
                  for (gsize ox = 0; ox < ow; ox++)
                    for (gsize ky = 0; ky < kh; ky++)
                      memcpy (col + ox * k + ky * kw * c, img + ((oy + ky) * w + ox * sw) * c, kw * c);
                  qs_gemm_u8s8_ref (col, k, ow, NULL, 1, &cs.packed, &cs.rq, want + oy * ow * cs.n, cs.n);
                }
            }
          if (kern == NULL)
            continue;
          memset (got, 0, oh * ow * cs.n);
          for (gsize oy = 0; oy < oh; oy++)
            kern->gemm (img + oy * w * c, sw * c, ow, seg_off, kh, &cs.packed, &cs.rq, got + oy * ow * cs.n, cs.n);
          g_assert_cmpmem (want, oh * ow * cs.n, got, oh * ow * cs.n);
        }
      case_clear (&cs);
    }
}

static void
test_gemm_avx2 (void)
{
  check_variant ("avx2");
}

static void
test_gemm_avx512vnni (void)
{
  check_variant ("avx512");
}

/* Depthwise convolution through its params struct: every variant (their requant) equals a
 * naive loop with an independent padding test, on seeded shapes with strides, dilations,
 * paddings and depth multipliers. */
static void
test_depthwise (void)
{
  const char *variants[] = { "ref", "avx2", "avx512" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  struct { gsize h, w, c, mult, kh, kw, sh, sw, dh, dw, pt, pl; } shapes[] = {
    { 7, 9, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1 }, { 8, 8, 16, 1, 3, 3, 2, 2, 1, 1, 0, 0 },
    { 9, 6, 3, 2, 3, 2, 1, 2, 2, 1, 2, 1 }, { 5, 5, 33, 1, 5, 5, 1, 1, 1, 1, 2, 2 },
    { 6, 7, 4, 3, 1, 1, 1, 1, 1, 1, 0, 0 }, { 10, 10, 24, 1, 3, 3, 2, 1, 1, 2, 1, 2 },
  };

  for (gsize si = 0; si < G_N_ELEMENTS (shapes); si++)
    {
      QsDepthwiseParams p = { 0 };
      gsize oc, n_in, n_out, n_w;
      g_autofree guint8 *in = NULL, *want = NULL, *got = NULL;
      g_autofree gint8 *filter = NULL;
      g_autofree gint32 *acc = NULL;
      Case cs;

      p.input_height = shapes[si].h; p.input_width = shapes[si].w; p.input_depth = shapes[si].c;
      p.depth_multiplier = shapes[si].mult;
      p.filter_height = shapes[si].kh; p.filter_width = shapes[si].kw;
      p.stride_height = shapes[si].sh; p.stride_width = shapes[si].sw;
      p.dilation_height = shapes[si].dh; p.dilation_width = shapes[si].dw;
      p.pad_top = shapes[si].pt; p.pad_left = shapes[si].pl;
      p.output_height = (p.input_height + 2 * p.pad_top - (p.filter_height - 1) * p.dilation_height - 1) / p.stride_height + 1;
      p.output_width = (p.input_width + 2 * p.pad_left - (p.filter_width - 1) * p.dilation_width - 1) / p.stride_width + 1;
      p.output_depth = oc = p.input_depth * p.depth_multiplier;
      p.input_offset = -g_rand_int_range (rand, 0, 256);
      n_in = p.input_height * p.input_width * p.input_depth;
      n_out = p.output_height * p.output_width * oc;
      n_w = p.filter_height * p.filter_width * oc;
      case_init (&cs, rand, 1, oc, 4);
      in = g_malloc (n_in);
      filter = g_malloc (n_w);
      want = g_malloc (n_out);
      got = g_malloc (n_out);
      acc = g_new (gint32, oc);
      for (gsize i = 0; i < n_in; i++)
        in[i] = g_rand_int_range (rand, 0, 256);
      for (gsize i = 0; i < n_w; i++)
        filter[i] = g_rand_int_range (rand, -128, 128);
      for (gsize oy = 0; oy < p.output_height; oy++)
        for (gsize ox = 0; ox < p.output_width; ox++)
          for (gsize o = 0; o < oc; o++)
            {
              gint64 a = cs.bias[o], v;

              for (gsize ky = 0; ky < p.filter_height; ky++)
                for (gsize kx = 0; kx < p.filter_width; kx++)
                  {
                    gint64 y = (gint64) (oy * p.stride_height + ky * p.dilation_height) - (gint64) p.pad_top;
                    gint64 x = (gint64) (ox * p.stride_width + kx * p.dilation_width) - (gint64) p.pad_left;

                    if (y >= 0 && y < (gint64) p.input_height && x >= 0 && x < (gint64) p.input_width)
                      a += ((gint64) in[(y * p.input_width + x) * p.input_depth + o / p.depth_multiplier]
                            + p.input_offset) * filter[(ky * p.filter_width + kx) * oc + o];
                  }
              v = cs.rq.out_zp + (gint64) qs_multiply_by_quantized_multiplier ((gint32) a, cs.mult[o], cs.shift[o]);
              want[(oy * p.output_width + ox) * oc + o] = (guint8) CLAMP (v, cs.rq.out_min, cs.rq.out_max);
            }
      for (gsize v = 0; v < G_N_ELEMENTS (variants); v++)
        {
          const QsIntKernels *kern = qs_int_kernels_get_by_name (variants[v]);

          if (kern == NULL)
            continue;
          memset (got, 0, n_out);
          qs_depthwise_u8s8 (kern, &p, in, filter, &cs.rq, got, acc);
          g_assert_cmpmem (want, n_out, got, n_out);
        }
      /* every other mode: each variant equals the reference */
      for (QsRequantMode mode = QS_REQUANT_SINGLE_ROUNDING; mode < QS_REQUANT_N_MODES; mode++)
        {
          cs.rq.mode = mode;
          qs_depthwise_u8s8 (qs_int_kernels_get_by_name ("ref"), &p, in, filter, &cs.rq, want, acc);
          for (gsize v = 1; v < G_N_ELEMENTS (variants); v++)
            {
              const QsIntKernels *kern = qs_int_kernels_get_by_name (variants[v]);

              if (kern == NULL)
                continue;
              memset (got, 0, n_out);
              qs_depthwise_u8s8 (kern, &p, in, filter, &cs.rq, got, acc);
              g_assert_cmpmem (want, n_out, got, n_out);
            }
        }
      case_clear (&cs);
    }
}

/* The register-blocked GEMM on shapes past one panel (more than 64 output channels, rows
 * not multiples of the 6-row block, K not a multiple of 4, large K): every variant equals
 * the reference bit for bit in every mode. */
static void
test_gemm_blocking (void)
{
  const char *variants[] = { "avx2", "avx512" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  gsize ms[] = { 1, 6, 11, 13, 25, 72 };
  gsize ns[] = { 48, 65, 100, 129, 200 };
  gsize ks[] = { 3, 257, 1157 };

  for (QsRequantMode mode = 0; mode < QS_REQUANT_N_MODES; mode++)
    for (gsize im = 0; im < G_N_ELEMENTS (ms); im++)
      for (gsize in = 0; in < G_N_ELEMENTS (ns); in++)
        for (gsize ik = 0; ik < G_N_ELEMENTS (ks); ik++)
          {
            Case c;
            gsize kp = (ks[ik] + 3) / 4 * 4, ldc = ns[in] + 5, lda = kp + 4 * (im % 2);
            g_autofree guint8 *want = NULL, *got = NULL;

            /* rows of lda > kp bytes: twice the rows keeps every row inside the buffer */
            case_init (&c, rand, ms[im] * 2 + 1, ns[in], ks[ik]);
            c.rq.mode = mode;
            want = g_malloc0 (ms[im] * ldc);
            got = g_malloc0 (ms[im] * ldc);
            qs_gemm_u8s8_ref (c.a, lda, ms[im], NULL, 1, &c.packed, &c.rq, want, ldc);
            for (gsize v = 0; v < G_N_ELEMENTS (variants); v++)
              {
                const QsIntKernels *kern = qs_int_kernels_get_by_name (variants[v]);

                if (kern == NULL)
                  continue;
                memset (got, 0, ms[im] * ldc);
                kern->gemm (c.a, lda, ms[im], NULL, 1, &c.packed, &c.rq, got, ldc);
                g_assert_cmpmem (want, ms[im] * ldc, got, ms[im] * ldc);
              }
            case_clear (&c);
          }
}

/* A multiplier and shift for the element-wise kernels, extremes included. */
static void
random_mult (GRand  *rand,
             gint32 *m,
             gint32 *s)
{
  int kind = g_rand_int_range (rand, 0, 8);

  *m = kind == 0 ? 0 : kind == 1 ? G_MAXINT32 : kind == 2 ? (1 << 30)
       : g_rand_int_range (rand, 1 << 30, G_MAXINT32);
  *s = kind == 3 ? -31 : kind == 4 ? 30 : kind == 5 ? g_rand_int_range (rand, 1, 12)
       : g_rand_int_range (rand, -24, 1);
}

/* Add and rescale (Concatenate) of every variant equal the scalar reference (qs_add_u8,
 * qs_rescale_u8) in every mode, on odd lengths, strided rows and extreme multipliers. */
static void
test_elementwise (void)
{
  const char *variants[] = { "avx2", "avx512" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (15);

  for (int rep = 0; rep < 400; rep++)
    {
      QsRequantMode mode = (QsRequantMode) (rep % QS_REQUANT_N_MODES);
      gsize n = g_rand_int_range (rand, 1, 200), rows = g_rand_int_range (rand, 1, 4);
      gsize in_stride = n + g_rand_int_range (rand, 0, 5), out_stride = n + g_rand_int_range (rand, 0, 9);
      g_autofree guint8 *a = g_malloc (rows * in_stride), *b = g_malloc (n);
      g_autofree guint8 *want = g_malloc0 (rows * out_stride), *got = g_malloc0 (rows * out_stride);
      QsAddParams ap;
      gint32 m, sh, in_zp = g_rand_int_range (rand, 0, 256), out_zp = g_rand_int_range (rand, 0, 256);
      gint32 lo = g_rand_int_range (rand, 0, 100), hi = g_rand_int_range (rand, 150, 256);

      for (gsize i = 0; i < rows * in_stride; i++)
        a[i] = g_rand_int_range (rand, 0, 256);
      for (gsize i = 0; i < n; i++)
        b[i] = g_rand_int_range (rand, 0, 256);
      if (rep % 3 == 0)
        qs_add_params_init (&ap, g_rand_double_range (rand, 1e-4, 1.0), in_zp,
                            g_rand_double_range (rand, 1e-4, 1.0), out_zp / 2,
                            g_rand_double_range (rand, 1e-4, 1.0), out_zp, lo, hi);
      else
        {
          /* raw parameters: the extremes qs_add_params_init never makes */
          ap = (QsAddParams) { .zp1 = in_zp, .zp2 = g_rand_int_range (rand, 0, 256),
                               .out_zp = out_zp, .out_min = lo, .out_max = hi };
          random_mult (rand, &ap.m1, &ap.s1);
          random_mult (rand, &ap.m2, &ap.s2);
          random_mult (rand, &ap.m_out, &ap.s_out);
          /* the input rescales keep the sum inside int32, as qs_add_params_init's do */
          ap.s1 = MIN (ap.s1, -1);
          ap.s2 = MIN (ap.s2, -1);
        }
      ap.mode = mode;
      random_mult (rand, &m, &sh);
      qs_add_u8 (a, b, n, &ap, want);
      for (gsize v = 0; v < G_N_ELEMENTS (variants); v++)
        {
          const QsIntKernels *kern = qs_int_kernels_get_by_name (variants[v]);

          if (kern == NULL || kern->add == NULL)
            continue;
          memset (got, 0, n);
          kern->add (a, b, n, &ap, got);
          g_assert_cmpmem (want, n, got, n);
        }
      memset (want, 0, rows * out_stride);
      qs_rescale_u8 (mode, a, n, in_zp, m, sh, out_zp, lo, hi, want, out_stride, in_stride, rows);
      for (gsize v = 0; v < G_N_ELEMENTS (variants); v++)
        {
          const QsIntKernels *kern = qs_int_kernels_get_by_name (variants[v]);

          if (kern == NULL || kern->rescale == NULL)
            continue;
          memset (got, 0, rows * out_stride);
          kern->rescale (mode, a, n, in_zp, m, sh, out_zp, lo, hi, got, out_stride, in_stride, rows);
          g_assert_cmpmem (want, rows * out_stride, got, rows * out_stride);
        }
    }
}

/* The variant's packed depthwise (when it packs p) equals want: packed from copies of the
 * filter and requantization arrays overwritten before the runs (the pack keeps what it
 * needs), run twice (nothing of a run stays in the pack). */
static void
check_depthwise_packed (const QsIntKernels      *kern,
                        const QsDepthwiseParams *p,
                        const guint8            *in,
                        const gint8             *filter,
                        const QsRequant         *rq,
                        const guint8            *want)
{
  gsize n_out = p->output_height * p->output_width * p->output_depth;
  gsize n_w = p->filter_height * p->filter_width * p->output_depth, oc = p->output_depth;
  g_autofree gint8 *fcopy = g_memdup2 (filter, n_w);
  g_autofree gint32 *bias = g_memdup2 (rq->bias, oc * sizeof (gint32));
  g_autofree gint32 *mult = g_memdup2 (rq->multiplier, oc * sizeof (gint32));
  g_autofree gint32 *shift = g_memdup2 (rq->shift, oc * sizeof (gint32));
  g_autofree float *scale = g_memdup2 (rq->scale, oc * sizeof (float));
  g_autofree guint8 *got = g_malloc (n_out);
  QsRequant rcopy = *rq;
  QsDepthwisePacked *pk;

  rcopy.bias = bias;
  rcopy.multiplier = mult;
  rcopy.shift = shift;
  rcopy.scale = scale;
  pk = qs_depthwise_u8s8_pack (kern, p, fcopy, &rcopy);
  if (pk == NULL)
    return;
  memset (fcopy, 0x55, n_w);
  memset (bias, 0x55, oc * sizeof (gint32));
  memset (mult, 0x55, oc * sizeof (gint32));
  memset (shift, 0x55, oc * sizeof (gint32));
  memset (scale, 0x55, oc * sizeof (float));
  for (int run = 0; run < 2; run++)
    {
      memset (got, 0, n_out);
      qs_depthwise_u8s8_packed (pk, p, in, got);
      g_assert_cmpmem (want, n_out, got, n_out);
    }
  qs_depthwise_packed_free (pk);
}

/* Every depthwise variant built here equals qs_depthwise_u8s8_ref on this case. */
static void
check_depthwise_variants (const QsDepthwiseParams *p,
                          const guint8            *in,
                          const gint8             *filter,
                          const QsRequant         *rq)
{
  const char *variants[] = { "ref", "avx2", "avx512" };
  gsize n_out = p->output_height * p->output_width * p->output_depth;
  g_autofree guint8 *want = g_malloc (n_out), *got = g_malloc (n_out);
  g_autofree gint32 *acc = g_new (gint32, p->output_depth);

  qs_depthwise_u8s8_ref (p, in, filter, rq, want);
  for (gsize v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      const QsIntKernels *kern = qs_int_kernels_get_by_name (variants[v]);

      if (kern == NULL)
        continue;
      memset (got, 0, n_out);
      qs_depthwise_u8s8 (kern, p, in, filter, rq, got, acc);
      g_assert_cmpmem (want, n_out, got, n_out);
      check_depthwise_packed (kern, p, in, filter, rq, want);
    }
}

/* check_depthwise_variants on n_in random input codes and n_w random filter values. */
static void
check_depthwise_random (GRand                   *rand,
                        const QsDepthwiseParams *p,
                        gsize                    n_in,
                        gsize                    n_w,
                        const QsRequant         *rq)
{
  g_autofree guint8 *in = g_malloc (n_in);
  g_autofree gint8 *filter = g_malloc (n_w);

  for (gsize i = 0; i < n_in; i++)
    in[i] = g_rand_int_range (rand, 0, 256);
  for (gsize i = 0; i < n_w; i++)
    filter[i] = g_rand_int_range (rand, -128, 128);
  check_depthwise_variants (p, in, filter, rq);
}

/* Depthwise on random shapes (odd channel counts, stride 1 and 2, padding, 3x3 and 5x5,
 * multiplier 1 and 2) in every mode: every variant equals qs_depthwise_u8s8_ref. */
static void
test_depthwise_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (16);

  for (int rep = 0; rep < 48; rep++)
    {
      QsDepthwiseParams p = { 0 };
      gsize k = g_rand_boolean (rand) ? 3 : 5, oc, n_in, n_w;
      Case cs;

      p.input_height = g_rand_int_range (rand, 1, 12);
      p.input_width = g_rand_int_range (rand, 1, 12);
      p.input_depth = g_rand_int_range (rand, 1, 150);
      p.depth_multiplier = rep % 8 == 7 ? 2 : 1;
      p.filter_height = p.filter_width = k;
      p.stride_height = p.stride_width = g_rand_int_range (rand, 1, 3);
      p.dilation_height = p.dilation_width = 1;
      p.pad_top = g_rand_int_range (rand, 0, k / 2 + 1);
      p.pad_left = g_rand_int_range (rand, 0, k / 2 + 1);
      if (p.input_height + 2 * p.pad_top < k || p.input_width + 2 * p.pad_left < k)
        {
          p.input_height += k;
          p.input_width += k;
        }
      p.output_height = (p.input_height + 2 * p.pad_top - k) / p.stride_height + 1;
      p.output_width = (p.input_width + 2 * p.pad_left - k) / p.stride_width + 1;
      p.output_depth = oc = p.input_depth * p.depth_multiplier;
      p.input_offset = -g_rand_int_range (rand, 0, 256);
      n_in = p.input_height * p.input_width * p.input_depth;
      n_w = k * k * oc;
      case_init (&cs, rand, 1, oc, 4);
      cs.rq.mode = (QsRequantMode) (rep % QS_REQUANT_N_MODES);
      check_depthwise_random (rand, &p, n_in, n_w, &cs.rq);
      case_clear (&cs);
    }
}

/* Depthwise shapes for the 64-channel vpdpbusd kernel: channel counts around its blocks of
 * 64 and 16 (1 to 200), kernels 1x1 to 7x7 (tap counts not a multiple of its groups of
 * four), unequal strides 1-3, dilation 1-2, padding up to the kernel's extent, the extreme
 * input offsets (0, -255) and full or reduced output ranges, in every mode with the
 * extreme multipliers and shifts of case_init: every variant equals the reference. */
static void
test_depthwise_shapes (void)
{
  const gsize depths[] = { 1, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 127, 128, 129, 144, 200 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (18);

  for (int rep = 0; rep < 160; rep++)
    {
      QsDepthwiseParams p = { 0 };
      gsize oc, n_in, n_w, ext_h, ext_w;
      g_autofree guint8 *in = NULL;
      g_autofree gint8 *filter = NULL;
      Case cs;

      p.input_depth = depths[g_rand_int_range (rand, 0, G_N_ELEMENTS (depths))];
      p.depth_multiplier = 1;
      p.filter_height = g_rand_int_range (rand, 1, 8);
      p.filter_width = g_rand_int_range (rand, 1, 8);
      p.stride_height = g_rand_int_range (rand, 1, 4);
      p.stride_width = g_rand_int_range (rand, 1, 4);
      p.dilation_height = g_rand_int_range (rand, 1, 3);
      p.dilation_width = g_rand_int_range (rand, 1, 3);
      ext_h = (p.filter_height - 1) * p.dilation_height + 1;
      ext_w = (p.filter_width - 1) * p.dilation_width + 1;
      p.pad_top = g_rand_int_range (rand, 0, (gint32) ext_h);
      p.pad_left = g_rand_int_range (rand, 0, (gint32) ext_w);
      p.input_height = g_rand_int_range (rand, 1, 10) + (ext_h > p.pad_top ? ext_h - p.pad_top : 0);
      p.input_width = g_rand_int_range (rand, 1, 10) + (ext_w > p.pad_left ? ext_w - p.pad_left : 0);
      p.output_height = (p.input_height + 2 * p.pad_top - ext_h) / p.stride_height + 1;
      p.output_width = (p.input_width + 2 * p.pad_left - ext_w) / p.stride_width + 1;
      p.output_depth = oc = p.input_depth;
      p.input_offset = rep % 5 == 0 ? 0 : rep % 5 == 1 ? -255 : -g_rand_int_range (rand, 0, 256);
      n_in = p.input_height * p.input_width * p.input_depth;
      n_w = p.filter_height * p.filter_width * oc;
      case_init (&cs, rand, 1, oc, 4);
      cs.rq.mode = (QsRequantMode) (rep % QS_REQUANT_N_MODES);
      /* most channels with a scale that maps the accumulators onto many codes (a change of
         one in a filter value shows), the rest keep case_init's extremes */
      for (gsize i = 0; i < oc; i++)
        if (g_rand_int_range (rand, 0, 4) != 0)
          {
            cs.bias[i] = g_rand_int_range (rand, -(1 << 14), 1 << 14);
            cs.shift[i] = g_rand_int_range (rand, -12, -5);
            cs.scale[i] = ldexpf ((float) g_rand_double_range (rand, 0.5, 1.0), -g_rand_int_range (rand, 5, 12));
          }
      if (rep % 3 == 0)
        {
          cs.rq.out_min = 0;
          cs.rq.out_max = 255;
        }
      in = g_malloc (n_in);
      filter = g_malloc (n_w);
      for (gsize i = 0; i < n_in; i++)
        in[i] = g_rand_int_range (rand, 0, 4) == 0 ? 255 : g_rand_int_range (rand, 0, 256);
      for (gsize i = 0; i < n_w; i++)
        filter[i] = g_rand_int_range (rand, 0, 4) == 0 ? -128 : g_rand_int_range (rand, -128, 128);
      check_depthwise_variants (&p, in, filter, &cs.rq);
      case_clear (&cs);
    }
}

/* Tall filters (17-20 kernel rows: more than four groups of four rows per kernel column,
 * the AVX-512 kernel's row pointers past its stack array) and wide ones, strides and
 * padding, in every mode: every variant and its packed path equal the reference. */
static void
test_depthwise_tall (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (19);

  for (int rep = 0; rep < 16; rep++)
    {
      QsDepthwiseParams p = { 0 };
      gsize oc, n_in, n_w;
      Case cs;

      p.input_depth = g_rand_int_range (rand, 1, 100);
      p.depth_multiplier = 1;
      p.filter_height = rep % 2 == 0 ? g_rand_int_range (rand, 17, 21) : g_rand_int_range (rand, 1, 3);
      p.filter_width = rep % 2 == 0 ? g_rand_int_range (rand, 1, 3) : g_rand_int_range (rand, 9, 13);
      p.stride_height = g_rand_int_range (rand, 1, 3);
      p.stride_width = g_rand_int_range (rand, 1, 3);
      p.dilation_height = p.dilation_width = 1;
      p.pad_top = g_rand_int_range (rand, 0, (gint32) p.filter_height);
      p.pad_left = g_rand_int_range (rand, 0, (gint32) p.filter_width);
      p.input_height = p.filter_height + g_rand_int_range (rand, 0, 5);
      p.input_width = p.filter_width + g_rand_int_range (rand, 0, 5);
      p.output_height = (p.input_height + 2 * p.pad_top - p.filter_height) / p.stride_height + 1;
      p.output_width = (p.input_width + 2 * p.pad_left - p.filter_width) / p.stride_width + 1;
      p.output_depth = oc = p.input_depth;
      p.input_offset = -g_rand_int_range (rand, 0, 256);
      n_in = p.input_height * p.input_width * p.input_depth;
      n_w = p.filter_height * p.filter_width * oc;
      case_init (&cs, rand, 1, oc, 4);
      cs.rq.mode = (QsRequantMode) (rep % QS_REQUANT_N_MODES);
      for (gsize i = 0; i < oc; i++)
        {
          cs.bias[i] = g_rand_int_range (rand, -(1 << 14), 1 << 14);
          cs.shift[i] = g_rand_int_range (rand, -14, -7);
          cs.scale[i] = ldexpf ((float) g_rand_double_range (rand, 0.5, 1.0), -g_rand_int_range (rand, 7, 14));
        }
      check_depthwise_random (rand, &p, n_in, n_w, &cs.rq);
      case_clear (&cs);
    }
}

/* The Quantize op of every variant equals qs_quantize_u8_ref in every rounding: ties
 * (k + 0.5) * scale, values past the range, NaN and +-Inf, odd lengths. */
static void
test_quantize (void)
{
  const char *variants[] = { "avx2", "avx512" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  const QsRounding roundings[] = { QS_ROUNDING_NEAREST_EVEN, QS_ROUNDING_NEAREST_AWAY,
                                   QS_ROUNDING_FLOOR, QS_ROUNDING_STOCHASTIC };

  for (int rep = 0; rep < 200; rep++)
    {
      gsize n = g_rand_int_range (rand, 1, 300);
      float scale = ldexpf ((float) g_rand_double_range (rand, 0.5, 1.0), g_rand_int_range (rand, -12, 2));
      gint32 zp = g_rand_int_range (rand, 0, 256), qmin = g_rand_int_range (rand, 0, 100);
      gint32 qmax = g_rand_int_range (rand, 150, 256);
      g_autofree float *x = g_new (float, n);
      g_autofree guint8 *want = g_malloc (n), *got = g_malloc (n);

      for (gsize i = 0; i < n; i++)
        switch (g_rand_int_range (rand, 0, 8))
          {
          case 0: x[i] = ((float) g_rand_int_range (rand, -300, 300) + 0.5f) * scale; break;
          case 1: x[i] = (float) g_rand_int_range (rand, -300, 300) * scale; break;
          case 2: x[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY; break;
          case 3: x[i] = (float) g_rand_double_range (rand, -1e30, 1e30); break;
          case 4: x[i] = -0.0f; break;
          default: x[i] = (float) g_rand_double_range (rand, -300.0, 300.0) * scale; break;
          }
      for (gsize r = 0; r < G_N_ELEMENTS (roundings); r++)
        {
          qs_quantize_u8_ref (x, n, scale, zp, qmin, qmax, roundings[r], want);
          for (gsize v = 0; v < G_N_ELEMENTS (variants); v++)
            {
              const QsIntKernels *kern = qs_int_kernels_get_by_name (variants[v]);

              if (kern == NULL || kern->quantize == NULL)
                continue;
              memset (got, 0, n);
              kern->quantize (x, n, scale, zp, qmin, qmax, roundings[r], got);
              g_assert_cmpmem (want, n, got, n);
            }
        }
    }
}

static void
test_dispatch (void)
{
  const QsIntKernels *k = qs_int_kernels_get ();

  g_assert_nonnull (k);
  g_assert_true (qs_int_kernels_get_by_name (k->name) == k);
  g_assert_null (qs_int_kernels_get_by_name ("no-such-variant"));
  /* the bench's peak probe (VNNI only) runs and gives a plausible rate: at least one
   * vpdpbusd per 10 ns, at most 16 per cycle at 10 GHz */
  k = qs_int_kernels_get_by_name ("avx512");
  if (k != NULL)
    {
      double peak;

      g_assert_nonnull (k->peak_gmacs);
      peak = k->peak_gmacs ();
      g_assert_cmpfloat (peak, >, 6.4);
      g_assert_cmpfloat (peak, <, 16 * 64 * 10.0);
    }
}

/* qs_packed_weights_init_kn (the engine's packing straight from a Keras kernel's [K][n]
 * int32 codes) is transposing, clamping, padding each segment and qs_packed_weights_init ():
 * the same bytes, the same sizes, and each row's sum of clamped codes; with and without
 * segments, over odd sizes and codes outside int8. */
static void
test_packed_from_codes (void)
{
  const gsize shapes[][3] = {   /* n, k, run (0: no segments) */
    { 1, 1, 0 }, { 5, 7, 0 }, { 16, 64, 0 }, { 33, 27, 9 }, { 64, 9, 3 }, { 17, 30, 10 },
    { 48, 36, 12 }, { 3, 5, 5 },
  };
  GRand *rand = g_rand_new_with_seed (23);

  for (gsize si = 0; si < G_N_ELEMENTS (shapes); si++)
    {
      gsize n = shapes[si][0], k = shapes[si][1], run = shapes[si][2];
      gsize seg = run ? (run + 3) / 4 * 4 : 0, sk = run ? k / run * seg : k;
      g_autofree gint32 *codes = g_new (gint32, n * k);
      g_autofree gint8 *w = g_new0 (gint8, n * sk);
      g_autofree gint64 *sum = g_new (gint64, n);
      g_autofree gint64 *want_sum = g_new0 (gint64, n);
      QsPackedWeights a = { 0 }, b = { 0 };

      for (gsize i = 0; i < n * k; i++)
        codes[i] = g_rand_int_range (rand, -140, 140);
      for (gsize kk = 0; kk < k; kk++)
        for (gsize o = 0; o < n; o++)
          {
            gint8 v = (gint8) CLAMP (codes[kk * n + o], -128, 127);
            gsize col = run ? kk / run * seg + kk % run : kk;

            w[o * sk + col] = v;
            want_sum[o] += v;
          }
      qs_packed_weights_init (&a, w, n, sk);
      qs_packed_weights_init_kn (&b, codes, n, k, run, seg, sum);
      g_assert_cmpuint (a.n, ==, b.n);
      g_assert_cmpuint (a.k, ==, b.k);
      g_assert_cmpuint (a.np, ==, b.np);
      g_assert_cmpuint (a.kp, ==, b.kp);
      g_assert_cmpmem (a.data, a.np * a.kp, b.data, b.np * b.kp);
      g_assert_cmpmem (sum, n * sizeof (gint64), want_sum, n * sizeof (gint64));
      qs_packed_weights_clear (&a);
      qs_packed_weights_clear (&b);
    }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/kernels-int/gemm-ref-naive", test_gemm_ref_naive);
  g_test_add_func ("/qs/kernels-int/gemm-avx2-bit-exact", test_gemm_avx2);
  g_test_add_func ("/qs/kernels-int/gemm-avx512vnni-bit-exact", test_gemm_avx512vnni);
  g_test_add_func ("/qs/kernels-int/gemm-segments", test_gemm_segments);
  g_test_add_func ("/qs/kernels-int/packed-from-codes", test_packed_from_codes);
  g_test_add_func ("/qs/kernels-int/depthwise-naive-every-variant", test_depthwise);
  g_test_add_func ("/qs/kernels-int/gemm-blocking-every-mode", test_gemm_blocking);
  g_test_add_func ("/qs/kernels-int/elementwise-every-variant", test_elementwise);
  g_test_add_func ("/qs/kernels-int/depthwise-random-every-mode", test_depthwise_random);
  g_test_add_func ("/qs/kernels-int/depthwise-shapes-every-mode", test_depthwise_shapes);
  g_test_add_func ("/qs/kernels-int/depthwise-tall-every-mode", test_depthwise_tall);
  g_test_add_func ("/qs/kernels-int/quantize-every-rounding", test_quantize);
  g_test_add_func ("/qs/kernels-int/dispatch", test_dispatch);
  return g_test_run ();
}
