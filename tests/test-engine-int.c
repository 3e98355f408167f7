/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quantscope-core.h"
#include "test-models.h"
#include "qs-engine-int-private.h"

/* The integer engine against a straightforward re-implementation of the same integer
 * arithmetic (signed int8 codes as TFLite stores them, plain loops, no packing, no SIMD),
 * layer by layer, on small hand-built models that cover every layer type. */

/* ------------------------------------------------------------------ model building */

static GRand *rng;

static QsModel *
build_model1 (void)
{
  return qs_test_model1 (rng);
}

static QsModel *
build_model2 (void)
{
  return qs_test_model2 (rng);
}

/* ------------------------------------------------------------------ the re-implementation */

/* A quantized activation in TFLite's signed form. */
typedef struct
{
  gsize   h, w, c;
  gint32 *q;
  float   scale;
  gint32  zp, qmin, qmax;
} QT;

static void
qt_clear (QT *t)
{
  g_clear_pointer (&t->q, g_free);
}

static void
qt_alloc (QT *t, gsize h, gsize w, gsize c)
{
  t->h = h; t->w = w; t->c = c;
  t->q = g_new0 (gint32, h * w * c);
}

typedef struct
{
  QsCalibration *calib;
  QsQuantSpec    act;
  QsQuantSpec    wspec;
  GHashTable    *taps;      /* value name -> GArray of float: the engine's values */
} Ref;

static void
out_params (Ref *ref, const char *key, QT *t)
{
  g_autoptr(QsQuantParams) p = NULL;
  float lo, hi;

  g_assert_true (qs_calibration_get_range (ref->calib, key, &ref->act, &lo, &hi, NULL));
  p = qs_quant_params_from_range (&ref->act, MIN (lo, 0.0f), MAX (hi, 0.0f), NULL);
  t->scale = p->scale[0];
  t->zp = p->zero_point[0];
  t->qmin = p->qmin;
  t->qmax = p->qmax;
}

static void
same_params (QT *dst, const QT *src)
{
  dst->scale = src->scale; dst->zp = src->zp; dst->qmin = src->qmin; dst->qmax = src->qmax;
}

/* The engine's value of that name must equal ours exactly once dequantized. */
static void
check (Ref *ref, const char *key, const QT *t)
{
  GArray *got = g_hash_table_lookup (ref->taps, key);

  if (got == NULL)
    g_error ("the engine has no integer value “%s”", key);
  g_assert_cmpuint (got->len, ==, t->h * t->w * t->c);
  for (gsize i = 0; i < got->len; i++)
    {
      float want = (float) (t->q[i] - t->zp) * t->scale;
      if (g_array_index (got, float, i) != want)
        g_error ("value “%s” element %zu: engine %g, reference %g", key, i,
                 g_array_index (got, float, i), want);
    }
}

static gint32
clamp32 (gint64 v, gint32 lo, gint32 hi)
{
  return (gint32) CLAMP (v, lo, hi);
}

static void
act_range (const QT *out, QsActivation act, gint32 *lo, gint32 *hi)
{
  *lo = out->qmin;
  *hi = out->qmax;
  if (act == QS_ACTIVATION_RELU || act == QS_ACTIVATION_RELU6)
    *lo = MAX (*lo, out->zp);
  if (act == QS_ACTIVATION_RELU6)
    *hi = MIN (*hi, out->zp + (gint32) lrintf (6.0f / out->scale));
}

/* BatchNorm folded exactly as the engine documents it: f = gamma / sqrt (var + eps) in double. */
static QsTensor *
fold_bn (const QsTensor *kernel, float *bias, const QsLayer *bn)
{
  gsize n = kernel->shape[kernel->n_dims - 1];
  QsTensor *t = qs_tensor_dup (kernel);
  const float *g = ((QsTensor *) g_ptr_array_index (bn->weights, 0))->data;
  const float *be = ((QsTensor *) g_ptr_array_index (bn->weights, 1))->data;
  const float *mu = ((QsTensor *) g_ptr_array_index (bn->weights, 2))->data;
  const float *var = ((QsTensor *) g_ptr_array_index (bn->weights, 3))->data;

  for (gsize o = 0; o < n; o++)
    {
      double f = g[o] / sqrt ((double) var[o] + bn->bn_epsilon);

      bias[o] = (float) ((bias[o] - mu[o]) * f + be[o]);
      for (gsize i = o; i < t->n_elements; i += n)
        t->data[i] = (float) (t->data[i] * f);
    }
  return t;
}

/* Conv2D / Dense (kh = kw = 1 on a 1 x 1 x in "image") / depthwise with TFLite int8 math. */
static void
ref_conv (Ref *ref, const QT *in, QsTensor *kernel, const float *bias, gboolean depthwise,
          gsize mult, gsize kh, gsize kw, gsize sh, gsize sw, gsize dh, gsize dw,
          gsize pad_t, gsize pad_l, QsActivation act, QT *out)
{
  QsQuantOptions opt = { .want_codes = TRUE, .want_dequant = TRUE };
  g_autoptr(QsQuantResult) r = qs_quant_run (kernel, &ref->wspec, &opt, NULL, NULL);
  gsize n = out->c, cin = in->c;
  gint32 lo, hi;

  g_assert_nonnull (r);
  act_range (out, act, &lo, &hi);
  /* codes * scale reproduce qs_quant_run's fake-quantized weights: the engine's weights
   * are the app's. */
  for (gsize i = 0; i < kernel->n_elements; i++)
    g_assert_cmpfloat (r->codes[i] * r->params->scale[qs_quant_params_index (r->params, i)], ==,
                       r->dequant->data[i]);
  for (gsize o = 0; o < n; o++)
    {
      float sw_o = r->params->scale[qs_quant_params_index (r->params, o)];
      double real = (double) in->scale * sw_o / out->scale;
      gint32 m;
      gint s;
      gint64 bias_q = (gint64) nearbyint (bias[o] / ((double) in->scale * sw_o));

      qs_quantize_multiplier (real, &m, &s);
      for (gsize oy = 0; oy < out->h; oy++)
        for (gsize ox = 0; ox < out->w; ox++)
          {
            gint64 acc = bias_q;

            for (gsize ky = 0; ky < kh; ky++)
              for (gsize kx = 0; kx < kw; kx++)
                {
                  gssize iy = (gssize) (oy * sh + ky * dh) - (gssize) pad_t;
                  gssize ix = (gssize) (ox * sw + kx * dw) - (gssize) pad_l;

                  if (iy < 0 || ix < 0 || iy >= (gssize) in->h || ix >= (gssize) in->w)
                    continue;
                  if (depthwise)
                    {
                      gsize ic = o / mult;
                      acc += (gint64) (in->q[((gsize) iy * in->w + ix) * cin + ic] - in->zp)
                             * r->codes[(ky * kw + kx) * n + o];
                    }
                  else
                    for (gsize ic = 0; ic < cin; ic++)
                      acc += (gint64) (in->q[((gsize) iy * in->w + ix) * cin + ic] - in->zp)
                             * r->codes[((ky * kw + kx) * cin + ic) * n + o];
                }
            g_assert_cmpint (acc, ==, (gint32) acc);
            out->q[(oy * out->w + ox) * n + o] =
              clamp32 ((gint64) out->zp + qs_multiply_by_quantized_multiplier ((gint32) acc, m, s), lo, hi);
          }
    }
}

static void
ref_pool (const QT *in, gboolean is_max, gsize ph, gsize pw, gsize sh, gsize sw,
          gsize pad_t, gsize pad_l, QT *out)
{
  same_params (out, in);
  for (gsize oy = 0; oy < out->h; oy++)
    for (gsize ox = 0; ox < out->w; ox++)
      for (gsize ch = 0; ch < in->c; ch++)
        {
          gint64 acc = is_max ? G_MININT32 : 0;
          gint32 count = 0;

          for (gsize y = 0; y < ph; y++)
            for (gsize x = 0; x < pw; x++)
              {
                gssize iy = (gssize) (oy * sh + y) - (gssize) pad_t, ix = (gssize) (ox * sw + x) - (gssize) pad_l;
                gint32 v;

                if (iy < 0 || ix < 0 || iy >= (gssize) in->h || ix >= (gssize) in->w)
                  continue;
                v = in->q[((gsize) iy * in->w + ix) * in->c + ch];
                acc = is_max ? MAX (acc, v) : acc + v;
                count++;
              }
          if (!is_max)   /* TFLite AveragePool: round half away from zero */
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          out->q[(oy * out->w + ox) * out->c + ch] = (gint32) acc;
        }
}

static void
requant_to (const QT *in, const QT *params, gint32 *dst, gsize dst_stride, gsize off)
{
  gint32 m;
  gint s;
  gsize rows = in->h * in->w;

  qs_quantize_multiplier ((double) in->scale / params->scale, &m, &s);
  for (gsize r = 0; r < rows; r++)
    for (gsize ch = 0; ch < in->c; ch++)
      dst[r * dst_stride + off + ch] =
        clamp32 ((gint64) params->zp + qs_multiply_by_quantized_multiplier (in->q[r * in->c + ch] - in->zp, m, s),
                 params->qmin, params->qmax);
}

static void
ref_quantize_input (Ref *ref, const float *x, gsize h, gsize w, gsize c, const char *key,
                    const QsQuantSpec *spec, QT *out)
{
  QsQuantSpec saved = ref->act;

  ref->act = *spec;
  qt_alloc (out, h, w, c);
  out_params (ref, key, out);
  ref->act = saved;
  for (gsize i = 0; i < h * w * c; i++)
    out->q[i] = qs_quant_value (x[i], out->scale, out->zp, out->qmin, out->qmax, spec->rounding);
}

static void
tap_store (const char  *name,
           const float *values,
           gsize        n,
           gboolean     is_integer,
           gpointer     user_data)
{
  GHashTable *taps = user_data;
  GArray *a;

  if (!is_integer)
    return;
  a = g_array_sized_new (FALSE, FALSE, sizeof (float), n);
  g_array_append_vals (a, values, n);
  g_hash_table_replace (taps, g_strdup (name), a);
}

static float *
random_inputs (gsize n)
{
  float *x = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    x[i] = g_rand_int_range (rng, 0, 4) == 0 ? 0.0f : (float) g_rand_double_range (rng, 0.0, 1.0);
  return x;
}

static QsConfig *
make_config (const char *preset)
{
  g_autoptr(GError) error = NULL;
  QsConfig *c = qs_config_new_from_preset (preset, &error);

  g_assert_no_error (error);
  qs_config_set_calib_images (c, 16);
  return c;
}

static void
setup_ref (Ref *ref, QsConfig *config, QsCalibration *calib)
{
  QsLayerConfig lc;

  qs_config_get_default (config, &lc);
  ref->calib = calib;
  ref->act = lc.activation;
  ref->wspec = lc.weight;
  ref->taps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
}

static void
run_model1 (const char *preset)
{
  g_autoptr(QsModel) model = build_model1 ();
  g_autoptr(QsConfig) config = make_config (preset);
  g_autofree float *calib_in = random_inputs (16 * 162), *x = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(GError) error = NULL;
  Ref ref;
  QsQuantSpec in_spec;
  QT in = { 0 }, pad = { 0 }, conv = { 0 }, dw = { 0 }, avg = { 0 }, mx = { 0 }, d1 = { 0 }, d2 = { 0 };
  float out[4], want[4];

  calib = qs_calibration_new (model, calib_in, 16, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  engine = qs_calibration_compile (calib, model, config, &error);
  g_assert_no_error (error);
  g_assert_true (qs_engine_int_layer_is_integer (engine, 2));   /* conv */
  g_assert_true (qs_engine_int_layer_is_integer (engine, 3));   /* bn, folded */
  setup_ref (&ref, config, calib);
  g_assert_true (qs_config_get_input_spec (config, &in_spec));

  for (int rep = 0; rep < 4; rep++)
    {
      const QsLayer *L = NULL;
      g_autofree float *bias = NULL;
      g_autoptr(QsTensor) folded = NULL;

      x = random_inputs (162);
      g_hash_table_remove_all (ref.taps);
      g_assert_true (qs_engine_int_run_tapped (engine, x, out, tap_store, ref.taps, &error));

      ref_quantize_input (&ref, x, 9, 9, 2, "input", &in_spec, &in);
      /* zero padding: zero-point fill, same params */
      qt_alloc (&pad, 11, 12, 2);
      same_params (&pad, &in);
      for (gsize i = 0; i < 11 * 12 * 2; i++)
        pad.q[i] = in.zp;
      for (gsize y = 0; y < 9; y++)
        memcpy (pad.q + ((y + 1) * 12 + 1) * 2, in.q + y * 9 * 2, 9 * 2 * sizeof (gint32));
      check (&ref, "pad", &pad);

      L = qs_model_find_layer (model, "conv");
      bias = g_memdup2 (qs_layer_get_bias (L)->data, 5 * sizeof (float));
      folded = fold_bn (qs_layer_get_kernel (L), bias, qs_model_find_layer (model, "bn"));
      qt_alloc (&conv, 5, 5, 5);
      out_params (&ref, "relu", &conv);
      ref_conv (&ref, &pad, folded, bias, FALSE, 1, 3, 3, 2, 2, 1, 1, 0, 0, QS_ACTIVATION_RELU, &conv);
      check (&ref, "relu", &conv);

      L = qs_model_find_layer (model, "dw");
      qt_alloc (&dw, 5, 5, 10);
      out_params (&ref, "dw", &dw);
      ref_conv (&ref, &conv, qs_layer_get_kernel (L), qs_layer_get_bias (L)->data, TRUE, 2,
                3, 3, 1, 1, 1, 1, 1, 1, QS_ACTIVATION_RELU6, &dw);
      check (&ref, "dw", &dw);

      qt_alloc (&avg, 5, 5, 10);
      ref_pool (&dw, FALSE, 2, 2, 1, 1, 0, 0, &avg);
      check (&ref, "avg", &avg);
      qt_alloc (&mx, 2, 2, 10);
      ref_pool (&avg, TRUE, 2, 2, 2, 2, 0, 0, &mx);
      check (&ref, "max", &mx);

      L = qs_model_find_layer (model, "dense");
      mx.h = 1; mx.w = 1; mx.c = 40;           /* flatten */
      qt_alloc (&d1, 1, 1, 6);
      out_params (&ref, "dense", &d1);
      {
        g_autoptr(QsTensor) k4 = NULL;
        gsize shape[] = { 1, 1, 40, 6 };
        k4 = qs_tensor_new_from_data (qs_layer_get_kernel (L)->name, 4, shape, qs_layer_get_kernel (L)->data, NULL);
        qs_tensor_set_layout (k4, QS_TENSOR_LAYOUT_CONV2D);
        ref_conv (&ref, &mx, k4, qs_layer_get_bias (L)->data, FALSE, 1, 1, 1, 1, 1, 1, 1, 0, 0, QS_ACTIVATION_RELU, &d1);
      }
      check (&ref, "dense", &d1);

      L = qs_model_find_layer (model, "logits");
      qt_alloc (&d2, 1, 1, 4);
      out_params (&ref, "logits#pre", &d2);
      {
        g_autoptr(QsTensor) k4 = NULL;
        gsize shape[] = { 1, 1, 6, 4 };
        k4 = qs_tensor_new_from_data (qs_layer_get_kernel (L)->name, 4, shape, qs_layer_get_kernel (L)->data, NULL);
        qs_tensor_set_layout (k4, QS_TENSOR_LAYOUT_CONV2D);
        ref_conv (&ref, &d1, k4, qs_layer_get_bias (L)->data, FALSE, 1, 1, 1, 1, 1, 1, 1, 0, 0, QS_ACTIVATION_LINEAR, &d2);
      }
      check (&ref, "logits#pre", &d2);
      /* dequantized logits, softmax in float */
      {
        double m = -INFINITY, sum = 0.0;
        float e[4];

        for (int i = 0; i < 4; i++)
          m = MAX (m, (float) (d2.q[i] - d2.zp) * d2.scale);
        for (int i = 0; i < 4; i++)
          sum += (e[i] = expf ((float) (d2.q[i] - d2.zp) * d2.scale - (float) m));
        for (int i = 0; i < 4; i++)
          want[i] = (float) (e[i] / sum);
        for (int i = 0; i < 4; i++)
          g_assert_cmpfloat_with_epsilon (out[i], want[i], 1e-6);
      }
      qt_clear (&in); qt_clear (&pad); qt_clear (&conv); qt_clear (&dw); qt_clear (&avg);
      qt_clear (&mx); qt_clear (&d1); qt_clear (&d2);
      g_clear_pointer (&x, g_free);
    }
  g_hash_table_unref (ref.taps);
}

/* What the program stores: the conv's kernel with the BatchNorm folded in, quantized per
 * channel; the SQNR is recomputed here in double from an independent fold. */
static void
test_stored_weights (void)
{
  g_autoptr(QsModel) model = build_model1 ();
  g_autoptr(QsConfig) config = make_config ("w8a8");
  g_autofree float *calib_in = random_inputs (16 * 162);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTensor) folded = NULL;
  g_autoptr(QsQuantResult) r = NULL;
  QsEngineLayerWeights conv_w, bn_w, dense_w;
  const QsLayer *conv = qs_model_find_layer (model, "conv");
  const QsLayer *bn = qs_model_find_layer (model, "bn");
  QsTensor *kernel = qs_layer_get_kernel (conv);
  QsLayerConfig lc;
  QsQuantSpec spec;
  QsQuantOptions opt = { 0 };
  double signal = 0.0, noise = 0.0;
  gint conv_index = -1, bn_index = -1;

  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      if (qs_model_get_layer (model, i) == conv)
        conv_index = i;
      if (qs_model_get_layer (model, i) == bn)
        bn_index = i;
    }
  calib = qs_calibration_new (model, calib_in, 16, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  engine = qs_calibration_compile (calib, model, config, &error);
  g_assert_no_error (error);

  g_assert_true (qs_engine_int_get_layer_weights (engine, conv_index, &conv_w));
  g_assert_cmpint (conv_w.folded_bn, ==, bn_index);
  g_assert_false (qs_engine_int_get_layer_weights (engine, bn_index, &bn_w));
  g_assert_cmpint (bn_w.folded_into, ==, conv_index);
  g_assert_cmpuint (conv_w.n_values, ==, kernel->n_elements);

  /* fold gamma / sqrt (var + eps) into each output channel (the last axis) */
  folded = qs_tensor_new_from_data (kernel->name, kernel->n_dims, kernel->shape, kernel->data, NULL);
  qs_tensor_set_layout (folded, kernel->layout);
  {
    QsTensor *gamma = NULL, *var = NULL;

    for (guint w = 0; w < bn->weights->len; w++)
      {
        QsTensor *t = g_ptr_array_index (bn->weights, w);

        if (g_str_has_suffix (t->name, "gamma"))
          gamma = t;
        if (g_str_has_suffix (t->name, "moving_variance"))
          var = t;
      }
    g_assert_nonnull (gamma);
    g_assert_nonnull (var);
    for (gsize i = 0; i < folded->n_elements; i++)
      {
        gsize o = i % 5;

        folded->data[i] = (float) (folded->data[i] * (gamma->data[o] / sqrt ((double) var->data[o] + bn->bn_epsilon)));
      }
  }
  qs_config_get_layer (config, "conv", &lc);
  qs_config_resolve_weight_spec (&lc.weight, folded, &spec);
  opt.want_dequant = TRUE;
  r = qs_quant_run (folded, &spec, &opt, NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < folded->n_elements; i++)
    {
      double d = (double) folded->data[i] - r->dequant->data[i];

      signal += (double) folded->data[i] * folded->data[i];
      noise += d * d;
    }
  g_assert_cmpfloat_with_epsilon (conv_w.sqnr_db, 10.0 * log10 (signal / noise), 1e-6);
  /* 45 int8 codes, 5 per-channel fp32 scales, 5 int32 biases */
  g_assert_cmpuint (conv_w.storage_bits, ==, r->stats.storage_bits + 5 * 32);
  g_assert_cmpuint (r->stats.storage_bits, >=, 45 * 8 + 5 * 32);

  /* a layer without BatchNorm: its own kernel */
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    if (g_strcmp0 (qs_model_get_layer (model, i)->name, "dense") == 0)
      {
        g_assert_true (qs_engine_int_get_layer_weights (engine, i, &dense_w));
        g_assert_cmpint (dense_w.folded_bn, ==, -1);
        g_assert_cmpuint (dense_w.n_values, ==, 40 * 6);
      }
}

typedef struct
{
  const char *name;
  float       max;
  float       min;
  gboolean    seen;
} RangeTap;

static void
range_tap (const char  *value_name,
           const float *values,
           gsize        n,
           gboolean     is_integer,
           gpointer     user_data)
{
  RangeTap *t = user_data;

  if (strcmp (value_name, t->name) != 0)
    return;
  t->seen = TRUE;
  for (gsize i = 0; i < n; i++)
    {
      t->max = MAX (t->max, values[i]);
      t->min = MIN (t->min, values[i]);
    }
}

/* A range the config fixes replaces the calibrated one: the dense layer's output (ReLU,
 * calibrated up to several units) is clipped to [0, 0.25] on a grid of 0.25 / 255. */
static void
test_config_range_overrides_calibration (void)
{
  g_autoptr(QsModel) model = build_model1 ();
  g_autoptr(QsConfig) config = make_config ("w8a8");
  g_autofree float *calib_in = random_inputs (16 * 162);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) plain = NULL, fixed = NULL;
  g_autoptr(GError) error = NULL;
  RangeTap before = { "dense", -G_MAXFLOAT, G_MAXFLOAT, FALSE };
  RangeTap after = { "dense", -G_MAXFLOAT, G_MAXFLOAT, FALSE };
  float lo, hi;

  calib = qs_calibration_new (model, calib_in, 16, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qs_calibration_get_minmax (calib, "dense", &lo, &hi));
  g_assert_cmpfloat (hi, >, 0.5f);
  plain = qs_calibration_compile (calib, model, config, &error);
  g_assert_no_error (error);
  qs_config_set_activation_range (config, "dense", 0.0f, 0.25f);
  fixed = qs_calibration_compile (calib, model, config, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 16; i++)
    {
      g_assert_true (qs_engine_int_run_tapped (plain, calib_in + i * 162, NULL, range_tap, &before, &error));
      g_assert_true (qs_engine_int_run_tapped (fixed, calib_in + i * 162, NULL, range_tap, &after, &error));
    }
  g_assert_true (before.seen && after.seen);
  g_assert_cmpfloat (before.max, >, 0.3f);
  g_assert_cmpfloat (after.max, <=, 0.25f + 1e-6f);
  g_assert_cmpfloat (after.max, >=, 0.25f - 0.25f / 255);
  g_assert_cmpfloat (after.min, >=, 0.0f);
}

static void
test_model1_w8a8 (void)
{
  run_model1 ("w8a8");
}

static void
test_model1_w4a4 (void)
{
  run_model1 ("w4a4");
}

static void
test_model2_w8a8 (void)
{
  g_autoptr(QsModel) model = build_model2 ();
  g_autoptr(QsConfig) config = make_config ("w8a8");
  g_autofree float *calib_in = random_inputs (16 * 192), *x = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(GError) error = NULL;
  Ref ref;
  QsQuantSpec in_spec;

  calib = qs_calibration_new (model, calib_in, 16, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  engine = qs_calibration_compile (calib, model, config, &error);
  g_assert_no_error (error);
  setup_ref (&ref, config, calib);
  g_assert_true (qs_config_get_input_spec (config, &in_spec));

  for (int rep = 0; rep < 4; rep++)
    {
      QT in = { 0 }, a = { 0 }, b = { 0 }, add = { 0 }, act = { 0 }, sepdw = { 0 }, sep = { 0 };
      QT c = { 0 }, cat = { 0 }, gap = { 0 }, gmp = { 0 }, cat2 = { 0 }, out = { 0 };
      const QsLayer *L;
      float y[3];
      g_autofree float *zero = g_new0 (float, 4);

      x = random_inputs (192);
      g_hash_table_remove_all (ref.taps);
      g_assert_true (qs_engine_int_run_tapped (engine, x, y, tap_store, ref.taps, &error));
      ref_quantize_input (&ref, x, 8, 8, 3, "input", &in_spec, &in);

      L = qs_model_find_layer (model, "a");
      qt_alloc (&a, 8, 8, 4);
      out_params (&ref, "a", &a);
      ref_conv (&ref, &in, qs_layer_get_kernel (L), qs_layer_get_bias (L)->data, FALSE, 1, 1, 1, 1, 1, 1, 1, 0, 0, QS_ACTIVATION_RELU, &a);
      check (&ref, "a", &a);
      L = qs_model_find_layer (model, "b");
      qt_alloc (&b, 8, 8, 4);
      out_params (&ref, "b", &b);
      ref_conv (&ref, &in, qs_layer_get_kernel (L), qs_layer_get_bias (L)->data, FALSE, 1, 3, 3, 1, 1, 2, 2, 2, 2, QS_ACTIVATION_LINEAR, &b);
      check (&ref, "b", &b);

      /* TFLite Add: both sides to 2 * max scale with 20 bits of headroom */
      qt_alloc (&add, 8, 8, 4);
      out_params (&ref, "add", &add);
      {
        double twice = 2.0 * MAX (a.scale, b.scale);
        gint32 m1, m2, mo;
        gint s1, s2, so;

        qs_quantize_multiplier (a.scale / twice, &m1, &s1);
        qs_quantize_multiplier (b.scale / twice, &m2, &s2);
        qs_quantize_multiplier (twice / ((1 << 20) * (double) add.scale), &mo, &so);
        for (gsize i = 0; i < 8 * 8 * 4; i++)
          {
            gint32 sum = qs_multiply_by_quantized_multiplier ((a.q[i] - a.zp) * (1 << 20), m1, s1)
                         + qs_multiply_by_quantized_multiplier ((b.q[i] - b.zp) * (1 << 20), m2, s2);
            add.q[i] = clamp32 ((gint64) add.zp + qs_multiply_by_quantized_multiplier (sum, mo, so), add.qmin, add.qmax);
          }
      }
      check (&ref, "add", &add);

      /* standalone ReLU: a clamp at the zero-point, same params */
      qt_alloc (&act, 8, 8, 4);
      same_params (&act, &add);
      for (gsize i = 0; i < 8 * 8 * 4; i++)
        act.q[i] = MAX (add.q[i], add.zp);
      check (&ref, "act", &act);

      L = qs_model_find_layer (model, "sep");
      qt_alloc (&sepdw, 6, 6, 4);
      out_params (&ref, "sep#dw", &sepdw);
      ref_conv (&ref, &act, g_ptr_array_index (L->weights, 0), zero, TRUE, 1, 3, 3, 1, 1, 1, 1, 0, 0, QS_ACTIVATION_LINEAR, &sepdw);
      check (&ref, "sep#dw", &sepdw);
      qt_alloc (&sep, 6, 6, 6);
      out_params (&ref, "sep", &sep);
      ref_conv (&ref, &sepdw, g_ptr_array_index (L->weights, 1), qs_layer_get_bias (L)->data, FALSE, 1, 1, 1, 1, 1, 1, 1, 0, 0, QS_ACTIVATION_RELU, &sep);
      check (&ref, "sep", &sep);

      L = qs_model_find_layer (model, "c");
      qt_alloc (&c, 6, 6, 2);
      out_params (&ref, "c", &c);
      ref_conv (&ref, &act, qs_layer_get_kernel (L), qs_layer_get_bias (L)->data, FALSE, 1, 3, 3, 1, 1, 1, 1, 0, 0, QS_ACTIVATION_LINEAR, &c);
      check (&ref, "c", &c);

      qt_alloc (&cat, 6, 6, 8);
      out_params (&ref, "cat", &cat);
      requant_to (&sep, &cat, cat.q, 8, 0);
      requant_to (&c, &cat, cat.q, 8, 6);
      check (&ref, "cat", &cat);

      qt_alloc (&gap, 1, 1, 8);
      ref_pool (&cat, FALSE, 6, 6, 1, 1, 0, 0, &gap);
      check (&ref, "gap", &gap);
      qt_alloc (&gmp, 1, 1, 8);
      ref_pool (&cat, TRUE, 6, 6, 1, 1, 0, 0, &gmp);
      check (&ref, "gmp", &gmp);
      qt_alloc (&cat2, 1, 1, 16);
      out_params (&ref, "cat2", &cat2);
      requant_to (&gap, &cat2, cat2.q, 16, 0);
      requant_to (&gmp, &cat2, cat2.q, 16, 8);
      check (&ref, "cat2", &cat2);

      L = qs_model_find_layer (model, "out");
      qt_alloc (&out, 1, 1, 3);
      out_params (&ref, "out#pre", &out);
      {
        g_autoptr(QsTensor) k4 = NULL;
        gsize shape[] = { 1, 1, 16, 3 };
        k4 = qs_tensor_new_from_data (qs_layer_get_kernel (L)->name, 4, shape, qs_layer_get_kernel (L)->data, NULL);
        qs_tensor_set_layout (k4, QS_TENSOR_LAYOUT_CONV2D);
        ref_conv (&ref, &cat2, k4, qs_layer_get_bias (L)->data, FALSE, 1, 1, 1, 1, 1, 1, 1, 0, 0, QS_ACTIVATION_LINEAR, &out);
      }
      check (&ref, "out#pre", &out);
      /* sigmoid runs in float on the dequantized logits */
      for (int i = 0; i < 3; i++)
        g_assert_cmpfloat_with_epsilon (y[i], 1.0f / (1.0f + expf (-(float) (out.q[i] - out.zp) * out.scale)), 1e-6);

      qt_clear (&in); qt_clear (&a); qt_clear (&b); qt_clear (&add); qt_clear (&act);
      qt_clear (&sepdw); qt_clear (&sep); qt_clear (&c); qt_clear (&cat); qt_clear (&gap);
      qt_clear (&gmp); qt_clear (&cat2); qt_clear (&out);
      g_clear_pointer (&x, g_free);
    }
  g_hash_table_unref (ref.taps);
}

/* The batched, threaded run equals the tapped single-image run; all-float programs match
 * the float reference engine. */
static void
test_batch_and_float (void)
{
  g_autoptr(QsModel) m1 = build_model1 ();
  g_autoptr(QsModel) m2 = build_model2 ();
  QsModel *models[] = { m1, m2 };

  for (guint mi = 0; mi < G_N_ELEMENTS (models); mi++)
    {
      QsModel *model = models[mi];
      g_autoptr(QsConfig) config = make_config ("w8a8");
      g_autoptr(GError) error = NULL;
      g_autoptr(QsCalibration) calib = NULL;
      g_autoptr(QsEngineInt) engine = NULL, fprog = NULL;
      g_autoptr(QsEngineFloat) fengine = NULL;
      gsize in_size, out_size, batch = 37;
      g_autofree float *x = NULL, *y = NULL, *one = NULL, *fy = NULL, *fref = NULL;

      engine = qs_calibration_compile (NULL, model, NULL, &error);
      g_assert_no_error (error);
      in_size = qs_engine_int_get_input_size (engine);
      out_size = qs_engine_int_get_output_size (engine);
      g_clear_pointer (&engine, qs_engine_int_free);
      x = random_inputs (batch * in_size);
      calib = qs_calibration_new (model, x, 16, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      engine = qs_calibration_compile (calib, model, config, &error);
      g_assert_no_error (error);
      y = g_new (float, batch * out_size);
      one = g_new (float, out_size);
      g_assert_true (qs_engine_int_run (engine, x, batch, y, 2, NULL, NULL, NULL, &error));
      for (gsize i = 0; i < batch; i++)
        {
          g_assert_true (qs_engine_int_run_tapped (engine, x + i * in_size, one, NULL, NULL, &error));
          g_assert_cmpmem (one, out_size * sizeof (float), y + i * out_size, out_size * sizeof (float));
        }

      fprog = qs_calibration_compile (NULL, model, NULL, &error);
      fengine = qs_engine_float_new (model, &error);
      g_assert_no_error (error);
      fy = g_new (float, batch * out_size);
      fref = g_new (float, batch * out_size);
      g_assert_true (qs_engine_int_run (fprog, x, batch, fy, 2, NULL, NULL, NULL, &error));
      g_assert_true (qs_engine_float_run (fengine, x, batch, fref, 2, NULL, NULL, NULL, &error));
      for (gsize i = 0; i < batch * out_size; i++)
        g_assert_cmpfloat_with_epsilon (fy[i], fref[i], 1e-5);
    }
}

/* Memory (issue 16): the activation arena is planned from the lowering (values whose lives
 * do not overlap share bytes), every worker reads one copy of the packed weights, and runs
 * reuse the workspaces of earlier runs instead of allocating: a second run allocates none.
 * Reusing a planned, already written arena changes no output bit: each image of a batch
 * run on one engine equals the same image run alone on a freshly compiled engine. */
static void
test_arena_and_workspaces (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) r18 = qs_synthetic_resnet18 (32, 10, &error);
  g_autoptr(QsModel) mv2 = NULL;
  g_autoptr(QsModel) m2 = build_model2 ();
  QsModel *models[3];

  g_assert_no_error (error);
  mv2 = qs_synthetic_mobilenet_v2 (32, 10, &error);
  g_assert_no_error (error);
  models[0] = r18, models[1] = mv2, models[2] = m2;
  for (guint mi = 0; mi < G_N_ELEMENTS (models); mi++)
    {
      QsModel *model = models[mi];
      g_autoptr(QsConfig) config = make_config ("w8a8");
      g_autoptr(QsEngineInt) probe = qs_calibration_compile (NULL, model, NULL, &error);
      g_autoptr(QsCalibration) calib = NULL;
      g_autoptr(QsEngineInt) engine = NULL;
      QsEngineIntMemory mem, mem2;
      gsize in_size, out_size, batch = 9;
      g_autofree float *x = NULL, *y = NULL, *one = NULL;

      g_assert_no_error (error);
      in_size = qs_engine_int_get_input_size (probe);
      out_size = qs_engine_int_get_output_size (probe);
      /* the all-float program: planned arena well under every value in its own place */
      _qs_engine_int_get_memory (probe, &mem);
      g_assert_cmpuint (mem.arena_bytes, >, 0);
      if (mi < 2)
        g_assert_cmpuint (mem.arena_bytes * 3, <, mem.values_bytes);
      else
        g_assert_cmpuint (mem.arena_bytes, <, mem.values_bytes);
      g_assert_cmpuint (mem.n_workspaces, ==, 0);

      x = random_inputs (batch * in_size);
      calib = qs_calibration_new (model, x, 4, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      engine = qs_calibration_compile (calib, model, config, &error);
      g_assert_no_error (error);
      y = g_new (float, batch * out_size);
      one = g_new (float, out_size);
      g_assert_true (qs_engine_int_run (engine, x, batch, y, 2, NULL, NULL, NULL, &error));
      _qs_engine_int_get_memory (engine, &mem);
      g_assert_cmpuint (mem.n_workspaces, >=, 1);
      g_assert_cmpuint (mem.n_workspaces, <=, 2);
      g_assert_cmpuint (mem.packed_bytes, >, 0);
      /* later runs, batched and tapped, take the spare workspaces: never more than one per
       * thread that ever ran at once (a run's second thread may have found no item left
       * in the first run: one workspace more then, once) */
      for (guint run = 0; run < 8; run++)
        {
          g_assert_true (qs_engine_int_run (engine, x, batch, y, 2, NULL, NULL, NULL, &error));
          g_assert_true (qs_engine_int_run_tapped (engine, x, one, NULL, NULL, &error));
        }
      _qs_engine_int_get_memory (engine, &mem2);
      g_assert_cmpuint (mem2.n_workspaces, >=, mem.n_workspaces);
      g_assert_cmpuint (mem2.n_workspaces, <=, 2);

      for (gsize i = 0; i < batch; i++)
        {
          g_autoptr(QsEngineInt) fresh = qs_calibration_compile (calib, model, config, &error);

          g_assert_no_error (error);
          g_assert_true (qs_engine_int_run (fresh, x + i * in_size, 1, one, 1, NULL, NULL, NULL, &error));
          g_assert_cmpmem (one, out_size * sizeof (float), y + i * out_size, out_size * sizeof (float));
        }
    }
}

/* Input quantization (inlined in the engine) equals qs_quant_value for every rounding mode,
 * on exact ties, out-of-range values and NaN: with a range of [0, 255/256] the scale is
 * exactly 2^-8, so (k + 0.5) / 256 is an exact tie. */
static void
test_input_rounding (void)
{
  g_autoptr(QsModel) model = build_model1 ();
  QsRounding modes[] = { QS_ROUNDING_NEAREST_EVEN, QS_ROUNDING_NEAREST_AWAY, QS_ROUNDING_FLOOR };
  g_autofree float *calib_in = g_new (float, 162), *x = g_new (float, 162);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < 162; i++)
    calib_in[i] = (float) (i % 256) / 256.0f;
  calib_in[0] = 0.0f;
  calib_in[1] = 255.0f / 256.0f;
  calib = qs_calibration_new (model, calib_in, 1, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < 162; i++)
    x[i] = (float) ((gint) (i % 140) - 6 + 0.25 * (i % 4)) / 256.0f;
  x[5] = NAN;
  x[6] = -0.5f / 256.0f;
  x[7] = 1e30f;

  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_autoptr(QsConfig) config = make_config ("w8a8");
      g_autoptr(QsEngineInt) engine = NULL;
      g_autoptr(GHashTable) taps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
      g_autoptr(QsQuantParams) p = NULL;
      QsQuantSpec spec;
      GArray *pad;

      g_assert_true (qs_config_get_input_spec (config, &spec));
      spec.is_signed = FALSE;
      spec.rounding = modes[m];
      qs_config_set_input_spec (config, &spec);
      engine = qs_calibration_compile (calib, model, config, &error);
      g_assert_no_error (error);
      g_assert_true (qs_engine_int_run_tapped (engine, x, NULL, tap_store, taps, &error));
      p = qs_quant_params_from_range (&spec, 0.0f, 255.0f / 256.0f, NULL);
      g_assert_cmpfloat (p->scale[0], ==, 1.0f / 256.0f);
      pad = g_hash_table_lookup (taps, "pad");
      g_assert_nonnull (pad);
      for (gsize y = 0; y < 9; y++)
        for (gsize xx = 0; xx < 9; xx++)
          for (gsize c = 0; c < 2; c++)
            {
              gsize i = (y * 9 + xx) * 2 + c;
              gint32 q = qs_quant_value (x[i], p->scale[0], p->zero_point[0], p->qmin, p->qmax, modes[m]);
              float got = g_array_index (pad, float, ((y + 1) * 12 + xx + 1) * 2 + c);

              g_assert_cmpfloat (got, ==, (float) (q - p->zero_point[0]) * p->scale[0]);
            }
    }
}

static void
test_errors (void)
{
  g_autoptr(QsModel) model = build_model1 ();
  g_autoptr(QsConfig) config = make_config ("w8a8");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsEngineInt) engine = NULL;

  /* activations to quantize but no calibration */
  engine = qs_calibration_compile (NULL, model, config, &error);
  g_assert_null (engine);
  g_assert_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (qs_calibration_new (model, NULL, 0, NULL, NULL, NULL, &error));
  g_assert_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_FAILED);
}

static guint
argmax_f (const float *x,
          guint        n)
{
  guint best = 0;

  for (guint i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

/* The bundled sample model NAME ("fmnist-resnet" ...) in *model, and its calibration on
 * 32 of the sample training images. */
static QsCalibration *
sample_calibrated (const char  *name,
                   QsModel    **model)
{
  g_autofree char *file = g_strdup_printf ("models/%s.h5", name);
  g_autofree char *path = qs_data_find_file (file, NULL);
  g_autoptr(GError) error = NULL;
  QsCalibration *calib;

  g_assert_nonnull (path);
  *model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  calib = qs_calibration_cache_get (NULL, *model, "sample-train", 32, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return calib;
}

/* The bundled sample models (plain CNN, MobileNet with depthwise convolutions, ResNet with
 * Add, MLP) in every requantization mode: deterministic (two runs, one and two threads,
 * identical bytes), close to the gemmlowp mode (top-1 agreement >= 99 %), and the modes do
 * compute differently (the single-rounding and fp32-rne logits differ somewhere). */
static void
test_requant_modes_sample_models (void)
{
  const char *names[] = { "fmnist-cnn", "fmnist-mobilenet", "fmnist-resnet", "fmnist-mlp" };
  const guint n = 600;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  for (gsize mi = 0; mi < G_N_ELEMENTS (names); mi++)
    {
      g_autoptr(QsModel) model = NULL;
      g_autoptr(QsCalibration) calib = sample_calibrated (names[mi], &model);
      g_autofree float *x = NULL, *base = NULL;
      gsize in_size, out_size;
      gboolean any_differs = FALSE;

      for (QsRequantMode mode = 0; mode < QS_REQUANT_N_MODES; mode++)
        {
          g_autoptr(QsConfig) config = make_config ("w8a8");
          g_autoptr(QsEngineInt) engine = NULL;
          g_autofree float *y = NULL, *y2 = NULL;
          guint agree = 0;

          qs_config_set_requant_mode (config, mode);
          engine = qs_calibration_compile (calib, model, config, &error);
          g_assert_no_error (error);
          g_assert_cmpint (qs_engine_int_get_requant_mode (engine), ==, mode);
          in_size = qs_engine_int_get_input_size (engine);
          out_size = qs_engine_int_get_output_size (engine);
          if (x == NULL)
            {
              x = g_new (float, n * in_size);
              g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, n, x, &error));
            }
          y = g_new (float, n * out_size);
          y2 = g_new (float, n * out_size);
          g_assert_true (qs_engine_int_run (engine, x, n, y, 1, NULL, NULL, NULL, &error));
          g_assert_true (qs_engine_int_run (engine, x, n, y2, 2, NULL, NULL, NULL, &error));
          g_assert_cmpmem (y, n * out_size * sizeof (float), y2, n * out_size * sizeof (float));
          if (mode == QS_REQUANT_GEMMLOWP)
            {
              base = g_steal_pointer (&y);
              continue;
            }
          for (guint i = 0; i < n; i++)
            agree += argmax_f (y + i * out_size, out_size) == argmax_f (base + i * out_size, out_size);
          g_test_message ("%s %s: top-1 agreement with gemmlowp %u / %u, logits %s",
                          names[mi], qs_requant_mode_to_string (mode), agree, n,
                          memcmp (y, base, n * out_size * sizeof (float)) ? "differ" : "identical");
          g_assert_cmpuint (agree * 100, >=, 99 * n);
          if (mode != QS_REQUANT_CMSIS_NN)
            any_differs |= memcmp (y, base, n * out_size * sizeof (float)) != 0;
        }
      g_assert_true (any_differs);
    }
}

/* The mode survives the config's JSON and changes the engine's values: on the hand-built
 * model 1 the two modes round ties (and, with different multipliers, near-ties) of the
 * same accumulators differently, so some tapped values differ. */
static void
test_requant_mode_config_and_ties (void)
{
  g_autoptr(QsModel) model = build_model1 ();
  g_autoptr(QsConfig) config = make_config ("w8a8");
  g_autoptr(QsConfig) loaded = NULL;
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *calib_in = random_inputs (16 * 162);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) gemmlowp = NULL, rne = NULL;
  guint n_diff = 0;

  qs_config_set_requant_mode (config, QS_REQUANT_FP32_RNE);
  json = qs_config_to_json (config);
  g_assert_nonnull (strstr (json, "\"requantization\""));
  loaded = qs_config_new_from_json (json, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_config_get_requant_mode (loaded), ==, QS_REQUANT_FP32_RNE);

  calib = qs_calibration_new (model, calib_in, 16, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  rne = qs_calibration_compile (calib, model, loaded, &error);
  g_assert_no_error (error);
  qs_config_set_requant_mode (loaded, QS_REQUANT_GEMMLOWP);
  gemmlowp = qs_calibration_compile (calib, model, loaded, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_engine_int_get_requant_mode (rne), ==, QS_REQUANT_FP32_RNE);
  for (int rep = 0; rep < 64; rep++)
    {
      g_autofree float *x = random_inputs (162);
      g_autoptr(GHashTable) ta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
      g_autoptr(GHashTable) tb = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
      GHashTableIter it;
      gpointer key, value;

      g_assert_true (qs_engine_int_run_tapped (gemmlowp, x, NULL, tap_store, ta, &error));
      g_assert_true (qs_engine_int_run_tapped (rne, x, NULL, tap_store, tb, &error));
      g_hash_table_iter_init (&it, ta);
      while (g_hash_table_iter_next (&it, &key, &value))
        {
          GArray *a = value, *b = g_hash_table_lookup (tb, key);

          g_assert_nonnull (b);
          for (guint i = 0; i < a->len; i++)
            n_diff += g_array_index (a, float, i) != g_array_index (b, float, i);
        }
    }
  g_test_message ("values that differ between gemmlowp and fp32-rne: %u", n_diff);
  g_assert_cmpuint (n_diff, >, 0);
}

/* fuse_clamps (a standalone ReLU folded into the Add, conv or depthwise before it) and the
 * packed depthwise change no code: on the bundled ResNet (Add + ReLU) and MobileNet
 * (depthwise) in every requantization mode, the engine with the fusion gives the same
 * bytes as the one compiled with QS_ENGINE_INT_NO_FUSE=1, its tapped run (which runs a
 * fused pair as two steps) the same as its plain run, and the ResNet has fewer ops. */
static void
test_fused_clamp_matches_unfused (void)
{
  const char *names[] = { "fmnist-resnet", "fmnist-mobilenet" };
  const guint n = 64;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  for (gsize mi = 0; mi < G_N_ELEMENTS (names); mi++)
    {
      g_autoptr(QsModel) model = NULL;
      g_autoptr(QsCalibration) calib = sample_calibrated (names[mi], &model);
      g_autofree float *x = NULL;

      for (QsRequantMode mode = 0; mode < QS_REQUANT_N_MODES; mode++)
        {
          g_autoptr(QsConfig) config = make_config ("w8a8");
          g_autoptr(QsEngineInt) fused = NULL, plain = NULL;
          g_autofree float *y = NULL, *y2 = NULL, *y3 = NULL;
          gsize in_size, out_size;
          guint fi, ff, pi, pf;

          qs_config_set_requant_mode (config, mode);
          fused = qs_calibration_compile (calib, model, config, &error);
          g_assert_no_error (error);
          g_setenv ("QS_ENGINE_INT_NO_FUSE", "1", TRUE);
          plain = qs_calibration_compile (calib, model, config, &error);
          g_unsetenv ("QS_ENGINE_INT_NO_FUSE");
          g_assert_no_error (error);
          qs_engine_int_count_ops (fused, &fi, &ff);
          qs_engine_int_count_ops (plain, &pi, &pf);
          g_test_message ("%s %s: %u integer ops fused, %u unfused", names[mi],
                          qs_requant_mode_to_string (mode), fi, pi);
          if (mi == 0)
            g_assert_cmpuint (fi, <, pi);
          in_size = qs_engine_int_get_input_size (fused);
          out_size = qs_engine_int_get_output_size (fused);
          if (x == NULL)
            {
              x = g_new (float, n * in_size);
              g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, n, x, &error));
            }
          y = g_new (float, n * out_size);
          y2 = g_new (float, n * out_size);
          y3 = g_new (float, out_size);
          g_assert_true (qs_engine_int_run (fused, x, n, y, 1, NULL, NULL, NULL, &error));
          g_assert_true (qs_engine_int_run (plain, x, n, y2, 1, NULL, NULL, NULL, &error));
          g_assert_cmpmem (y, n * out_size * sizeof (float), y2, n * out_size * sizeof (float));
          g_assert_true (qs_engine_int_run_tapped (fused, x, y3, NULL, NULL, &error));
          g_assert_cmpmem (y, out_size * sizeof (float), y3, out_size * sizeof (float));
        }
    }
}

/* in 10x10x8 -> ZeroPadding2D (0, 1, 0, 1) -> DepthwiseConv2D 3x3 / 2 valid, ReLU6 ->
 * ZeroPadding2D (1, 1, 1, 1) -> DepthwiseConv2D 3x3 valid -> ReLU -> Flatten -> Dense:
 * paddings the engine folds into the depthwise ops (fuse_clamps). */
static QsModel *
build_padded_depthwise (void)
{
  GPtrArray *layers = g_ptr_array_new ();
  const char *kinds[] = { "InputLayer", "ZeroPadding2D", "DepthwiseConv2D", "ZeroPadding2D",
                          "DepthwiseConv2D", "ReLU", "Flatten", "Dense" };
  const QsLayerKind types[] = { QS_LAYER_INPUT, QS_LAYER_ZERO_PADDING2D, QS_LAYER_DEPTHWISE_CONV2D,
                                QS_LAYER_ZERO_PADDING2D, QS_LAYER_DEPTHWISE_CONV2D, QS_LAYER_ACTIVATION,
                                QS_LAYER_FLATTEN, QS_LAYER_DENSE };
  const char *names[] = { "in", "pad1", "dw1", "pad2", "dw2", "relu", "flat", "dense" };
  QsLayer *l[8];
  g_autoptr(GError) error = NULL;
  QsModel *model;

  for (int i = 0; i < 8; i++)
    {
      l[i] = qs_layer_new (names[i], kinds[i], types[i]);
      if (i > 0)
        {
          l[i]->n_inputs = 1;
          l[i]->inputs = g_new (guint, 1);
          l[i]->inputs[0] = i - 1;
        }
      g_ptr_array_add (layers, l[i]);
    }
  l[0]->output_rank = 3;
  l[0]->output_shape[0] = l[0]->output_shape[1] = 10;
  l[0]->output_shape[2] = 8;
  l[1]->zero_padding[1] = l[1]->zero_padding[3] = 1;
  for (int i = 0; i < 4; i++)
    l[3]->zero_padding[i] = 1;
  for (int d = 2; d <= 4; d += 2)
    {
      g_autofree char *kn = g_strdup_printf ("%s/depthwise_kernel", names[d]);
      g_autofree char *bn = g_strdup_printf ("%s/bias", names[d]);
      QsTensor *k = qs_tensor_new (kn, 4, (gsize[]) { 3, 3, 8, 1 }, NULL);
      QsTensor *b = qs_tensor_new (bn, 1, (gsize[]) { 8 }, NULL);

      l[d]->kernel_size[0] = l[d]->kernel_size[1] = 3;
      l[d]->strides[0] = l[d]->strides[1] = d == 2 ? 2 : 1;
      l[d]->depth_multiplier = 1;
      l[d]->use_bias = TRUE;
      l[d]->activation = d == 2 ? QS_ACTIVATION_RELU6 : QS_ACTIVATION_LINEAR;
      qs_tensor_set_layout (k, QS_TENSOR_LAYOUT_CONV2D);
      qs_tensor_set_layout (b, QS_TENSOR_LAYOUT_VECTOR);
      for (gsize j = 0; j < k->n_elements; j++)
        k->data[j] = (float) g_rand_double_range (rng, -0.5, 0.5);
      for (gsize j = 0; j < b->n_elements; j++)
        b->data[j] = (float) g_rand_double_range (rng, -0.2, 0.2);
      g_ptr_array_add (l[d]->weights, k);
      g_ptr_array_add (l[d]->weights, b);
    }
  l[5]->activation = QS_ACTIVATION_RELU;
  l[7]->units = 5;
  {
    QsTensor *k = qs_tensor_new ("dense/kernel", 2, (gsize[]) { 5 * 5 * 8, 5 }, NULL);
    QsTensor *b = qs_tensor_new ("dense/bias", 1, (gsize[]) { 5 }, NULL);

    qs_tensor_set_layout (k, QS_TENSOR_LAYOUT_DENSE);
    qs_tensor_set_layout (b, QS_TENSOR_LAYOUT_VECTOR);
    for (gsize j = 0; j < k->n_elements; j++)
      k->data[j] = (float) g_rand_double_range (rng, -0.3, 0.3);
    for (gsize j = 0; j < b->n_elements; j++)
      b->data[j] = 0.0f;
    g_ptr_array_add (l[7]->weights, k);
    g_ptr_array_add (l[7]->weights, b);
  }
  model = qs_model_new_from_layers ("padded-depthwise", layers, &error);
  g_assert_no_error (error);
  return model;
}

/* The folded paddings change no code: a model of two padded depthwise layers gives the
 * same outputs with and without the fusion in every mode, with two ops fewer. */
static void
test_fused_pad_matches_unfused (void)
{
  g_autoptr(QsModel) model = build_padded_depthwise ();
  g_autofree float *calib_in = random_inputs (16 * 800), *x = random_inputs (32 * 800);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(GError) error = NULL;

  calib = qs_calibration_new (model, calib_in, 16, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (QsRequantMode mode = 0; mode < QS_REQUANT_N_MODES; mode++)
    {
      g_autoptr(QsConfig) config = make_config ("w8a8");
      g_autoptr(QsEngineInt) fused = NULL, plain = NULL;
      gsize out_size;
      g_autofree float *y = NULL, *y2 = NULL, *y3 = NULL;
      guint fi, ff, pi, pf;

      qs_config_set_requant_mode (config, mode);
      fused = qs_calibration_compile (calib, model, config, &error);
      g_assert_no_error (error);
      g_setenv ("QS_ENGINE_INT_NO_FUSE", "1", TRUE);
      plain = qs_calibration_compile (calib, model, config, &error);
      g_unsetenv ("QS_ENGINE_INT_NO_FUSE");
      g_assert_no_error (error);
      g_assert_cmpuint (qs_engine_int_get_input_size (fused), ==, 800);
      qs_engine_int_count_ops (fused, &fi, &ff);
      qs_engine_int_count_ops (plain, &pi, &pf);
      g_assert_cmpuint (fi + 2, <=, pi);
      out_size = qs_engine_int_get_output_size (fused);
      y = g_new (float, 32 * out_size);
      y2 = g_new (float, 32 * out_size);
      y3 = g_new (float, out_size);
      g_assert_true (qs_engine_int_run (fused, x, 32, y, 1, NULL, NULL, NULL, &error));
      g_assert_true (qs_engine_int_run (plain, x, 32, y2, 1, NULL, NULL, NULL, &error));
      g_assert_cmpmem (y, 32 * out_size * sizeof (float), y2, 32 * out_size * sizeof (float));
      g_assert_true (qs_engine_int_run_tapped (fused, x, y3, NULL, NULL, &error));
      g_assert_cmpmem (y, out_size * sizeof (float), y3, out_size * sizeof (float));
    }
}

/* Programs compiled from the one before (qs_engine_int_new_reusing, what the live accuracy
 * does after each edit) are the programs compiled from scratch, bit for bit: through a
 * one-layer edit (every other layer reused), a preset, a requantization mode (nothing
 * reused: the multipliers differ) and the edit undone; on every sample model. */
static void
test_reuse_matches_fresh (void)
{
  const char *names[] = { "fmnist-cnn", "fmnist-mobilenet", "fmnist-resnet", "fmnist-mlp" };
  const guint n = 64;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  for (gsize mi = 0; mi < G_N_ELEMENTS (names); mi++)
    {
      g_autoptr(QsModel) model = NULL;
      g_autoptr(QsCalibration) calib = sample_calibrated (names[mi], &model);
      g_autoptr(QsConfig) config = make_config ("w8a8");
      g_autoptr(QsEngineInt) previous = NULL;
      g_autofree float *x = NULL;
      const char *edited = NULL;
      guint n_weighted = 0;
      QsLayerConfig lc;

      for (guint i = 0; i < qs_model_get_n_layers (model); i++)
        if (qs_layer_get_kernel (qs_model_get_layer (model, i)) != NULL && n_weighted++ == 1)
          edited = qs_model_get_layer (model, i)->name;
      g_assert_nonnull (edited);
      for (guint round = 0; round < 5; round++)
        {
          g_autoptr(QsEngineInt) fresh = NULL, reused = NULL;
          g_autofree float *y = NULL, *y2 = NULL;
          gsize in_size, out_size;

          switch (round)
            {
            case 1:   /* one layer to 4 bits */
            case 4:   /* and back */
              qs_config_get_layer (config, edited, &lc);
              lc.weight.bits = round == 1 ? 4 : 8;
              qs_config_set_layer (config, edited, &lc);
              break;
            case 2:
              g_clear_object (&config);
              config = make_config ("w4a8");
              break;
            case 3:
              qs_config_set_requant_mode (config, QS_REQUANT_FP32_RNE);
              break;
            default:
              break;
            }
          fresh = qs_calibration_compile (calib, model, config, &error);
          g_assert_no_error (error);
          reused = qs_calibration_compile_reusing (calib, model, config, previous, &error);
          g_assert_no_error (error);
          if (round == 1 || round == 4)
            g_assert_cmpuint (_qs_engine_int_get_n_reused (reused), >=, 1);
          if (round == 0 || round == 3)
            g_assert_cmpuint (_qs_engine_int_get_n_reused (reused), ==, 0);
          in_size = qs_engine_int_get_input_size (fresh);
          out_size = qs_engine_int_get_output_size (fresh);
          if (x == NULL)
            {
              x = g_new (float, n * in_size);
              g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, n, x, &error));
            }
          y = g_new (float, n * out_size);
          y2 = g_new (float, n * out_size);
          g_assert_true (qs_engine_int_run (fresh, x, n, y, 1, NULL, NULL, NULL, &error));
          g_assert_true (qs_engine_int_run (reused, x, n, y2, 1, NULL, NULL, NULL, &error));
          g_assert_cmpmem (y, n * out_size * sizeof (float), y2, n * out_size * sizeof (float));
          g_test_message ("%s round %u: %u ops reused", names[mi], round,
                          _qs_engine_int_get_n_reused (reused));
          g_clear_pointer (&previous, qs_engine_int_free);
          previous = g_steal_pointer (&reused);
        }
    }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (42);
  g_test_add_func ("/qs/engine-int/model1-w8a8-matches-reference", test_model1_w8a8);
  g_test_add_func ("/qs/engine-int/model1-w4a4-matches-reference", test_model1_w4a4);
  g_test_add_func ("/qs/engine-int/model2-w8a8-matches-reference", test_model2_w8a8);
  g_test_add_func ("/qs/engine-int/batch-threads-and-float", test_batch_and_float);
  g_test_add_func ("/qs/engine-int/input-rounding", test_input_rounding);
  g_test_add_func ("/qs/engine-int/arena-and-workspaces", test_arena_and_workspaces);
  g_test_add_func ("/qs/engine-int/errors", test_errors);
  g_test_add_func ("/qs/engine-int/stored-weights", test_stored_weights);
  g_test_add_func ("/qs/engine-int/config-range-overrides-calibration", test_config_range_overrides_calibration);
  g_test_add_func ("/qs/engine-int/requant-modes-sample-models", test_requant_modes_sample_models);
  g_test_add_func ("/qs/engine-int/requant-mode-config-and-ties", test_requant_mode_config_and_ties);
  g_test_add_func ("/qs/engine-int/fused-clamp-matches-unfused", test_fused_clamp_matches_unfused);
  g_test_add_func ("/qs/engine-int/fused-pad-matches-unfused", test_fused_pad_matches_unfused);
  g_test_add_func ("/qs/engine-int/reuse-matches-fresh", test_reuse_matches_fresh);
  ret = g_test_run ();
  g_rand_free (rng);
  return ret;
}
