/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Keras preprocessing layers inside a model (Normalization, Resizing, CenterCrop): the
 * resize matches tf.image.resize on known values; a model with them in front of a small
 * conv net gives the float output of the same preprocessing done by hand (an independent
 * double-precision re-implementation of Keras' formulas) followed by the net without
 * them; the integer engine runs them in float before the input quantization, bit for bit
 * what the stripped net's integer engine gives on the float engine's preprocessed input;
 * the layers survive the Keras writer, a Keras 3 configuration and the sandboxed loader;
 * bad parameters are errors naming the layer. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"
#include "qs-keras.h"
#include "qs-preproc-layers.h"

static GRand *rng;

#define C 3
#define FILTERS 4
#define CLASSES 5

/* ------------------------------------------------------------------ models */

typedef struct
{
  gsize           ih, iw;          /* raw input */
  gsize           rh, rw;          /* Resizing */
  QsInterpolation interp;
  gboolean        aspect;          /* crop_to_aspect_ratio */
  gsize           ch, cw;          /* CenterCrop */
  gboolean        norm_weights;    /* mean / variance as weights (adapt ()) instead of config */
  gboolean        norm_scalar;     /* axis None: one mean and variance */
} Geo;

typedef struct
{
  QsTensor *kernel, *bias, *dense_kernel, *dense_bias;
  float     mean[C], var[C];
} Weights;

static QsTensor *
rand_tensor (const char *name, guint n_dims, const gsize *shape, QsTensorLayout layout, double a)
{
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);

  qs_tensor_set_layout (t, layout);
  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) g_rand_double_range (rng, -a, a);
  return t;
}

static void
weights_init (Weights *w)
{
  gsize k[] = { 3, 3, C, FILTERS }, b[] = { FILTERS };

  w->kernel = rand_tensor ("conv/kernel", 4, k, QS_TENSOR_LAYOUT_CONV2D, 0.4);
  w->bias = rand_tensor ("conv/bias", 1, b, QS_TENSOR_LAYOUT_VECTOR, 0.1);
  w->dense_kernel = NULL;
  w->dense_bias = NULL;
  for (int c = 0; c < C; c++)
    {
      w->mean[c] = (float) g_rand_double_range (rng, 80, 160);
      w->var[c] = (float) g_rand_double_range (rng, 500, 4000);
    }
}

static void
weights_clear (Weights *w)
{
  g_clear_pointer (&w->kernel, qs_tensor_unref);
  g_clear_pointer (&w->bias, qs_tensor_unref);
  g_clear_pointer (&w->dense_kernel, qs_tensor_unref);
  g_clear_pointer (&w->dense_bias, qs_tensor_unref);
}

static QsLayer *
add (GPtrArray *layers, const char *name, const char *cls, QsLayerKind kind)
{
  QsLayer *l = qs_layer_new (name, cls, kind);

  if (layers->len > 0)
    {
      l->n_inputs = 1;
      l->inputs = g_new (guint, 1);
      l->inputs[0] = layers->len - 1;
    }
  g_ptr_array_add (layers, l);
  return l;
}

static QsLayer *
add_input (GPtrArray *layers, const char *name, gsize h, gsize w)
{
  QsLayer *l = add (layers, name, "InputLayer", QS_LAYER_INPUT);

  l->output_rank = 3;
  l->output_shape[0] = h;
  l->output_shape[1] = w;
  l->output_shape[2] = C;
  return l;
}

/* conv 3x3 relu -> flatten -> dense, on an input of h x w */
static void
add_net (GPtrArray *layers, Weights *w, gsize h, gsize wd)
{
  QsLayer *l = add (layers, "conv", "Conv2D", QS_LAYER_CONV2D);
  gsize n_flat = (h - 2) * (wd - 2) * FILTERS;

  l->filters = FILTERS;
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->activation = QS_ACTIVATION_RELU;
  g_ptr_array_add (l->weights, qs_tensor_ref (w->kernel));
  g_ptr_array_add (l->weights, qs_tensor_ref (w->bias));
  add (layers, "flatten", "Flatten", QS_LAYER_FLATTEN);
  l = add (layers, "dense", "Dense", QS_LAYER_DENSE);
  l->units = CLASSES;
  if (w->dense_kernel == NULL)
    {
      gsize dk[] = { n_flat, CLASSES }, db[] = { CLASSES };

      w->dense_kernel = rand_tensor ("dense/kernel", 2, dk, QS_TENSOR_LAYOUT_DENSE, 1.0 / sqrt ((double) n_flat));
      w->dense_bias = rand_tensor ("dense/bias", 1, db, QS_TENSOR_LAYOUT_VECTOR, 0.1);
    }
  g_ptr_array_add (l->weights, qs_tensor_ref (w->dense_kernel));
  g_ptr_array_add (l->weights, qs_tensor_ref (w->dense_bias));
}

static QsModel *
build_full (const Geo *g, Weights *w, GError **error)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *l;
  gsize n = g->norm_scalar ? 1 : C;

  add_input (layers, "image", g->ih, g->iw);
  l = add (layers, "norm", "Normalization", QS_LAYER_NORMALIZATION);
  l->axis = g->norm_scalar ? QS_NORMALIZATION_AXIS_NONE : -1;
  if (g->norm_weights)
    {
      gsize s[] = { n };
      QsTensor *m = qs_tensor_new ("norm/mean", 1, s, NULL);
      QsTensor *v = qs_tensor_new ("norm/variance", 1, s, NULL);

      memcpy (m->data, w->mean, n * sizeof (float));
      memcpy (v->data, w->var, n * sizeof (float));
      qs_tensor_set_layout (m, QS_TENSOR_LAYOUT_VECTOR);
      qs_tensor_set_layout (v, QS_TENSOR_LAYOUT_VECTOR);

      g_ptr_array_add (l->weights, m);
      g_ptr_array_add (l->weights, v);
    }
  else
    {
      l->norm_n = n;
      l->norm_mean = g_memdup2 (w->mean, n * sizeof (float));
      l->norm_variance = g_memdup2 (w->var, n * sizeof (float));
    }
  l = add (layers, "resize", "Resizing", QS_LAYER_RESIZING);
  l->resize_size[0] = g->rh;
  l->resize_size[1] = g->rw;
  l->resize_interpolation = g->interp;
  l->crop_to_aspect_ratio = g->aspect;
  l = add (layers, "crop", "CenterCrop", QS_LAYER_CENTER_CROP);
  l->resize_size[0] = g->ch;
  l->resize_size[1] = g->cw;
  add_net (layers, w, g->ch, g->cw);
  return qs_model_new_from_layers ("preproc", layers, error);
}

/* The same net without the preprocessing; its input is named after the last
 * preprocessing layer so both programs look up the same ranges. */
static QsModel *
build_stripped (const Geo *g, Weights *w)
{
  GPtrArray *layers = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  QsModel *m;

  add_input (layers, "crop", g->ch, g->cw);
  add_net (layers, w, g->ch, g->cw);
  m = qs_model_new_from_layers ("net", layers, &error);
  g_assert_no_error (error);
  return m;
}

/* ------------------------------------------------------------------ the reference */

/* Keras' crop_to_aspect_ratio / smart_resize window. */
static void
ref_window (gsize ih, gsize iw, gsize oh, gsize ow, gsize *y0, gsize *x0, gsize *h, gsize *w)
{
  *h = MAX (MIN (ih, (gsize) floor ((double) iw * oh / ow)), 1);
  *w = MAX (MIN (iw, (gsize) floor ((double) ih * ow / oh)), 1);
  *y0 = (ih - *h) / 2;
  *x0 = (iw - *w) / 2;
}

/* tf.image.resize (half-pixel centres, antialias False) of a window, from the formula. */
static void
ref_resize (const double *in, gsize ih, gsize iw, gsize y0, gsize x0, gsize h, gsize w,
            gsize oh, gsize ow, gboolean nearest, double *out)
{
  for (gsize y = 0; y < oh; y++)
    for (gsize x = 0; x < ow; x++)
      for (gsize c = 0; c < C; c++)
        {
          double sy = (y + 0.5) * h / oh, sx = (x + 0.5) * w / ow;
          double v;

          if (nearest)
            {
              gsize iy = MIN ((gsize) floor (sy), h - 1), ix = MIN ((gsize) floor (sx), w - 1);
              v = in[((y0 + iy) * iw + x0 + ix) * C + c];
            }
          else
            {
              double fy = sy - 0.5, fx = sx - 0.5;
              double ly = fy - floor (fy), lx = fx - floor (fx);
              gssize a = (gssize) floor (fy), bb = (gssize) ceil (fy);
              gssize l = (gssize) floor (fx), r = (gssize) ceil (fx);
              double p00, p01, p10, p11;

              a = CLAMP (a, 0, (gssize) h - 1); bb = CLAMP (bb, 0, (gssize) h - 1);
              l = CLAMP (l, 0, (gssize) w - 1); r = CLAMP (r, 0, (gssize) w - 1);
#define P(yy, xx) in[((y0 + (gsize) (yy)) * iw + x0 + (gsize) (xx)) * C + c]
              p00 = P (a, l); p01 = P (a, r); p10 = P (bb, l); p11 = P (bb, r);
#undef P
              v = (1 - ly) * ((1 - lx) * p00 + lx * p01) + ly * ((1 - lx) * p10 + lx * p11);
            }
          out[(y * ow + x) * C + c] = v;
        }
  (void) ih;
}

/* Normalization, Resizing and CenterCrop of one raw image, by hand, in double. */
static double *
ref_preprocess (const Geo *g, const Weights *w, const float *raw)
{
  g_autofree double *norm = g_new (double, g->ih * g->iw * C);
  g_autofree double *resized = g_new (double, g->rh * g->rw * C);
  double *out = g_new (double, g->ch * g->cw * C);
  gsize y0 = 0, x0 = 0, h = g->ih, wd = g->iw;

  for (gsize i = 0; i < g->ih * g->iw * C; i++)
    {
      gsize c = g->norm_scalar ? 0 : i % C;
      norm[i] = (raw[i] - (double) w->mean[c]) / MAX (sqrt ((double) w->var[c]), 1e-7);
    }
  if (g->aspect)
    ref_window (g->ih, g->iw, g->rh, g->rw, &y0, &x0, &h, &wd);
  ref_resize (norm, g->ih, g->iw, y0, x0, h, wd, g->rh, g->rw, g->interp == QS_INTERPOLATION_NEAREST, resized);
  if (g->rh >= g->ch && g->rw >= g->cw)
    {
      for (gsize y = 0; y < g->ch; y++)
        for (gsize x = 0; x < g->cw; x++)
          for (gsize c = 0; c < C; c++)
            out[(y * g->cw + x) * C + c] =
              resized[((y + (g->rh - g->ch) / 2) * g->rw + x + (g->rw - g->cw) / 2) * C + c];
    }
  else
    {
      ref_window (g->rh, g->rw, g->ch, g->cw, &y0, &x0, &h, &wd);
      ref_resize (resized, g->rh, g->rw, y0, x0, h, wd, g->ch, g->cw, FALSE, out);
    }
  return out;
}

static float *
raw_images (const Geo *g, gsize n)
{
  float *x = g_new (float, n * g->ih * g->iw * C);

  for (gsize i = 0; i < n * g->ih * g->iw * C; i++)
    x[i] = (float) g_rand_int_range (rng, 0, 256);
  return x;
}

static void
run_float (QsModel *m, const float *in, gsize n, float *out)
{
  g_autoptr(GError) error = NULL;
  QsEngineFloat *e = qs_engine_float_new (m, &error);

  g_assert_no_error (error);
  g_assert_true (qs_engine_float_run (e, in, n, out, 1, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  qs_engine_float_free (e);
}

static const Geo geos[] = {
  /* downscale with the aspect window, then a plain centre crop */
  { 20, 30, 16, 16, QS_INTERPOLATION_BILINEAR, TRUE, 12, 12, FALSE, FALSE },
  /* upscale, nearest, stretched; normalization from weights */
  { 7, 9, 13, 11, QS_INTERPOLATION_NEAREST, FALSE, 10, 8, TRUE, FALSE },
  /* CenterCrop larger than its input (in one axis): Keras resizes (smart_resize) */
  { 12, 12, 10, 14, QS_INTERPOLATION_BILINEAR, FALSE, 12, 12, FALSE, TRUE },
  /* downscale bilinear by a non-integer factor, crop of the same size */
  { 23, 17, 9, 6, QS_INTERPOLATION_BILINEAR, FALSE, 9, 6, TRUE, TRUE },
};

/* ------------------------------------------------------------------ tests */

/* tf.image.resize ([[1, 2], [3, 4]], [4, 4]) and the nearest-neighbour indices. */
static void
test_resize_known_values (void)
{
  const float in[] = { 1, 2, 3, 4 };
  const float want[] = { 1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                         2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4 };
  const float want_nn[] = { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 };
  float out[16], line[8], down[2];
  const float ramp[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  QsResizeParams p;

  qs_resize_params_init (&p, QS_LAYER_RESIZING, 2, 2, 1, 4, 4, QS_INTERPOLATION_BILINEAR, FALSE);
  qs_resize_f32 (&p, in, out);
  g_assert_cmpmem (out, sizeof out, want, sizeof want);
  qs_resize_params_init (&p, QS_LAYER_RESIZING, 2, 2, 1, 4, 4, QS_INTERPOLATION_NEAREST, FALSE);
  qs_resize_f32 (&p, in, out);
  g_assert_cmpmem (out, sizeof out, want_nn, sizeof want_nn);
  /* 8 -> 2: bilinear samples at 1.5 and 5.5 (no antialiasing), nearest at floor 2, 6 */
  qs_resize_params_init (&p, QS_LAYER_RESIZING, 1, 8, 1, 1, 2, QS_INTERPOLATION_BILINEAR, FALSE);
  qs_resize_f32 (&p, ramp, down);
  g_assert_cmpfloat (down[0], ==, 1.5f);
  g_assert_cmpfloat (down[1], ==, 5.5f);
  qs_resize_params_init (&p, QS_LAYER_RESIZING, 1, 8, 1, 1, 2, QS_INTERPOLATION_NEAREST, FALSE);
  qs_resize_f32 (&p, ramp, down);
  g_assert_cmpfloat (down[0], ==, 2.0f);
  g_assert_cmpfloat (down[1], ==, 6.0f);
  /* crop_to_aspect_ratio: 1 x 8 to 1 x 4 keeps the aspect; 2 x 8 to 2 x 2 takes columns 3..4 */
  qs_resize_params_init (&p, QS_LAYER_RESIZING, 1, 8, 1, 1, 4, QS_INTERPOLATION_BILINEAR, TRUE);
  g_assert_cmpuint (p.cw, ==, 4);
  g_assert_cmpuint (p.x0, ==, 2);
  qs_resize_f32 (&p, ramp, line);
  g_assert_cmpfloat (line[0], ==, 2.0f);
  g_assert_cmpfloat (line[3], ==, 5.0f);
  /* CenterCrop: a window when the input is large enough, odd differences round down */
  qs_resize_params_init (&p, QS_LAYER_CENTER_CROP, 1, 8, 1, 1, 3, QS_INTERPOLATION_BILINEAR, FALSE);
  qs_resize_f32 (&p, ramp, line);
  g_assert_cmpfloat (line[0], ==, 2.0f);
  g_assert_cmpfloat (line[2], ==, 4.0f);
}

static void
test_float_matches_hand (void)
{
  for (gsize gi = 0; gi < G_N_ELEMENTS (geos); gi++)
    {
      const Geo *g = &geos[gi];
      Weights w = { 0 };
      g_autoptr(GError) error = NULL;
      g_autoptr(QsModel) full = NULL;
      g_autoptr(QsModel) net = NULL;
      const gsize n = 6, in_size = g->ih * g->iw * C, pre_size = g->ch * g->cw * C;
      g_autofree float *raw = raw_images (g, n);
      g_autofree float *pre = g_new (float, n * pre_size);
      float out[n * CLASSES], want[n * CLASSES];
      double max_err = 0;

      weights_init (&w);
      full = build_full (g, &w, &error);
      g_assert_no_error (error);
      g_assert_true (qs_model_can_infer (full, NULL));
      net = build_stripped (g, &w);
      for (gsize i = 0; i < n; i++)
        {
          g_autofree double *r = ref_preprocess (g, &w, raw + i * in_size);
          for (gsize k = 0; k < pre_size; k++)
            pre[i * pre_size + k] = (float) r[k];
        }
      run_float (full, raw, n, out);
      run_float (net, pre, n, want);
      for (gsize i = 0; i < n * CLASSES; i++)
        max_err = MAX (max_err, fabs ((double) out[i] - want[i]));
      g_test_message ("geometry %zu: largest |full - by hand| = %g", gi, max_err);
      if (max_err > 1e-4)
        g_error ("geometry %zu: float output differs from the hand preprocessing by %g", gi, max_err);
      weights_clear (&w);
    }
}

typedef struct
{
  float  *pre;
  gsize   per_image;
} Tap;

static void
tap_crop (const QsLayer *layer, const float *output, gsize batch, gsize per_image, gpointer data)
{
  Tap *t = data;

  if (strcmp (layer->name, "crop") == 0)
    {
      t->pre = g_memdup2 (output, batch * per_image * sizeof (float));
      t->per_image = per_image;
    }
}

/* The integer engine runs the preprocessing in float before the input quantization: its
 * output equals, bit for bit, the stripped net's integer program (same ranges) on the float
 * engine's preprocessed images; and the preprocessing values themselves stay float. */
static void
test_int_matches_stripped (void)
{
  for (gsize gi = 0; gi < G_N_ELEMENTS (geos); gi++)
    {
      const Geo *g = &geos[gi];
      Weights w = { 0 };
      g_autoptr(GError) error = NULL;
      g_autoptr(QsModel) full = NULL;
      g_autoptr(QsModel) net = NULL;
      g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", &error);
      const gsize n = 8;
      g_autofree float *raw = raw_images (g, n);
      g_autoptr(QsCalibration) calib = NULL;
      g_autoptr(QsLowering) lw_full = NULL;
      g_autoptr(QsLowering) lw_net = NULL;
      g_autoptr(QsRangeTable) ranges = NULL;
      g_autoptr(QsRangeTable) net_ranges = qs_range_table_new ();
      g_autofree QsLoweredRange *list = NULL;
      QsEngineInt *e_full, *e_net;
      QsEngineFloat *ef;
      Tap tap = { 0 };
      float out[n * CLASSES], want[n * CLASSES], fout[n * CLASSES];
      guint n_ranges;

      g_assert_no_error (error);
      weights_init (&w);
      full = build_full (g, &w, &error);
      g_assert_no_error (error);
      net = build_stripped (g, &w);

      calib = qs_calibration_new (full, raw, n, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      lw_full = qs_lowering_new (full, config, &error);
      g_assert_no_error (error);
      /* Normalization, Resizing and CenterCrop: float, before the conv's integer group */
      for (guint li = 1; li <= 3; li++)
        g_assert_false (qs_lowering_get_layer (lw_full, li)->is_integer);
      g_assert_true (qs_lowering_get_layer (lw_full, 4)->is_integer);
      ranges = qs_calibration_make_ranges (calib, lw_full, &error);
      g_assert_no_error (error);
      e_full = qs_engine_int_new (lw_full, ranges, &error);
      g_assert_no_error (error);

      lw_net = qs_lowering_new (net, config, &error);
      g_assert_no_error (error);
      list = qs_lowering_list_ranges (lw_net, &n_ranges);
      for (guint i = 0; i < n_ranges; i++)
        {
          float lo, hi;

          g_assert_true (qs_range_table_lookup (ranges, list[i].name, &lo, &hi));
          qs_range_table_set (net_ranges, list[i].name, lo, hi);
        }
      e_net = qs_engine_int_new (lw_net, net_ranges, &error);
      g_assert_no_error (error);

      ef = qs_engine_float_new (full, &error);
      g_assert_no_error (error);
      g_assert_true (qs_engine_float_run (ef, raw, n, fout, 1, tap_crop, &tap, NULL, &error));
      g_assert_nonnull (tap.pre);
      g_assert_cmpuint (tap.per_image, ==, g->ch * g->cw * C);

      g_assert_true (qs_engine_int_run (e_full, raw, n, out, 1, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (qs_engine_int_run (e_net, tap.pre, n, want, 1, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (out, sizeof out, want, sizeof want);
      /* and the quantized program stays close to the float one */
      for (gsize i = 0; i < n * CLASSES; i++)
        g_assert_cmpfloat (fabsf (out[i] - fout[i]), <, 0.25f);

      g_free (tap.pre);
      qs_engine_float_free (ef);
      qs_engine_int_free (e_full);
      qs_engine_int_free (e_net);
      weights_clear (&w);
    }
}

static char *
tmp_path (const char *name)
{
  g_autofree char *dir = g_dir_make_tmp ("qs-preproc-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

static void
assert_same_outputs (QsModel *a, QsModel *b, const Geo *g)
{
  const gsize n = 3;
  g_autofree float *raw = raw_images (g, n);
  float oa[n * CLASSES], ob[n * CLASSES];

  run_float (a, raw, n, oa);
  run_float (b, raw, n, ob);
  g_assert_cmpmem (oa, sizeof oa, ob, sizeof ob);
}

/* The Keras writer writes the layers (config values or weights) and the loader, in
 * process and in the sandbox, reads them back: same layers, same outputs. */
static void
test_keras_round_trip (void)
{
  for (gsize gi = 0; gi < G_N_ELEMENTS (geos); gi++)
    {
      const Geo *g = &geos[gi];
      Weights w = { 0 };
      g_autoptr(GError) error = NULL;
      g_autoptr(QsModel) full = NULL;
      g_autoptr(QsModel) loaded = NULL;
      g_autofree char *path = tmp_path ("preproc.h5");

      weights_init (&w);
      full = build_full (g, &w, &error);
      g_assert_no_error (error);
      g_assert_true (qs_model_save (full, path, NULL, &error));
      g_assert_no_error (error);
      loaded = qs_model_load (path, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (qs_model_find_layer (loaded, "norm")->kind, ==, QS_LAYER_NORMALIZATION);
      g_assert_cmpint (qs_model_find_layer (loaded, "resize")->kind, ==, QS_LAYER_RESIZING);
      g_assert_cmpint (qs_model_find_layer (loaded, "resize")->resize_interpolation, ==, g->interp);
      g_assert_cmpint (qs_model_find_layer (loaded, "resize")->crop_to_aspect_ratio, ==, g->aspect);
      g_assert_cmpint (qs_model_find_layer (loaded, "crop")->kind, ==, QS_LAYER_CENTER_CROP);
      assert_same_outputs (full, loaded, g);
      if (qs_model_sandbox_available ())
        {
          g_autoptr(QsModel) sandboxed = qs_model_load_untrusted (path, NULL, NULL, &error);

          g_assert_no_error (error);
          g_assert_cmpuint (qs_model_find_layer (sandboxed, "resize")->resize_size[0], ==, g->rh);
          g_assert_cmpuint (qs_model_find_layer (sandboxed, "crop")->resize_size[1], ==, g->cw);
          assert_same_outputs (full, sandboxed, g);
        }
      else
        g_test_message ("quantscope-loader not found (QS_LOADER unset): sandbox part skipped");
      weights_clear (&w);
      g_remove (path);
    }
}

/* A Keras 3 functional config (module / registered_name, __keras_tensor__ arguments,
 * DTypePolicy objects, "axis": [-1], mean / variance as nested lists) completing the
 * weights of a written file. */
static void
test_keras3_config (void)
{
  const Geo *g = &geos[0];
  Weights w = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) full = NULL;
  g_autoptr(QsModel) loaded = NULL;
  g_autofree char *path = tmp_path ("preproc.h5");
  g_autofree char *arch = tmp_path ("k3.json");
  g_autofree char *json = NULL;
  const char *dtype = "{\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null}";

#define K3_LAYER(cls, name, cfg, prev) \
  "{\"module\": \"keras.layers\", \"class_name\": \"" cls "\", \"config\": {\"name\": \"" name "\", \"trainable\": true, \"dtype\": %s, " cfg "}, " \
  "\"registered_name\": null, \"name\": \"" name "\", \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", " \
  "\"config\": {\"shape\": [null], \"dtype\": \"float32\", \"keras_history\": [\"" prev "\", 0, 0]}}], \"kwargs\": {}}]}"

  weights_init (&w);
  full = build_full (g, &w, &error);
  g_assert_no_error (error);
  g_assert_true (qs_model_save (full, path, NULL, &error));
  json = g_strdup_printf (
    "{\"module\": \"keras\", \"class_name\": \"Functional\", \"config\": {\"name\": \"preproc\", \"trainable\": true, \"layers\": ["
    "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 20, 30, 3], \"dtype\": \"float32\", \"sparse\": false, \"name\": \"image\"}, \"registered_name\": null, \"name\": \"image\", \"inbound_nodes\": []}, "
    K3_LAYER ("Normalization", "norm", "\"axis\": [-1], \"invert\": false, \"mean\": [[[%.9g, %.9g, %.9g]]], \"variance\": [[[%.9g, %.9g, %.9g]]]", "image") ", "
    K3_LAYER ("Resizing", "resize", "\"height\": 16, \"width\": 16, \"interpolation\": \"bilinear\", \"crop_to_aspect_ratio\": true, \"pad_to_aspect_ratio\": false, \"fill_mode\": \"constant\", \"fill_value\": 0.0, \"data_format\": \"channels_last\"", "norm") ", "
    K3_LAYER ("CenterCrop", "crop", "\"height\": 12, \"width\": 12, \"data_format\": \"channels_last\"", "resize") ", "
    K3_LAYER ("Conv2D", "conv", "\"filters\": 4, \"kernel_size\": [3, 3], \"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", \"dilation_rate\": [1, 1], \"groups\": 1, \"activation\": \"relu\", \"use_bias\": true", "crop") ", "
    K3_LAYER ("Flatten", "flatten", "\"data_format\": \"channels_last\"", "conv") ", "
    K3_LAYER ("Dense", "dense", "\"units\": 5, \"activation\": \"linear\", \"use_bias\": true", "flatten")
    "], \"input_layers\": [\"image\", 0, 0], \"output_layers\": [\"dense\", 0, 0]}, \"registered_name\": \"Functional\"}",
    dtype, (double) w.mean[0], (double) w.mean[1], (double) w.mean[2], (double) w.var[0], (double) w.var[1], (double) w.var[2],
    dtype, dtype, dtype, dtype, dtype);
#undef K3_LAYER
  g_assert_true (g_file_set_contents (arch, json, -1, NULL));
  loaded = qs_model_load (path, arch, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_model_find_layer (loaded, "norm")->norm_n, ==, C);
  g_assert_true (qs_model_find_layer (loaded, "resize")->crop_to_aspect_ratio);
  assert_same_outputs (full, loaded, g);
  weights_clear (&w);
}

/* Bad parameters: an error that names the layer (and the field). Values through the model
 * builder (the same validation every loader ends in), sizes through a written config. */
static void
test_bad_params (void)
{
  const char *config_cases[][3] = {
    /* from, to, the layer the error must name */
    { "\"height\":16", "\"height\":0", "resize" },
    { "\"width\":12", "\"width\":-3", "crop" },
    { "\"height\":12", "\"height\":\"twelve\"", "crop" },
    { "\"mean\":[", "\"mean\":[1,", "norm" },
    { "\"mean\":[", "\"mean\":null,\"x\":[", "norm" },
  };
  const Geo *g = &geos[0];

  for (guint vi = 0; vi < 3; vi++)
    {
      Weights w = { 0 };
      g_autoptr(GError) error = NULL;
      g_autoptr(QsModel) full = NULL;
      Geo bad = *g;

      weights_init (&w);
      if (vi == 0)
        w.var[1] = 0.0f;      /* Keras would divide by 1e-7 */
      else if (vi == 1)
        w.var[2] = -4.0f;
      else
        {
          w.var[0] = NAN;
          bad.norm_weights = TRUE;
        }
      full = build_full (&bad, &w, &error);
      g_assert_null (full);
      g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG);
      g_assert_nonnull (strstr (error->message, "“norm”"));
      g_assert_nonnull (strstr (error->message, "variance"));
      weights_clear (&w);
    }

  for (gsize ci = 0; ci < G_N_ELEMENTS (config_cases); ci++)
    {
      Weights w = { 0 };
      g_autoptr(GError) error = NULL;
      g_autoptr(QsModel) full = NULL;
      g_autoptr(QsModel) loaded = NULL;
      g_autofree char *path = tmp_path ("preproc.h5");
      g_autofree char *arch = tmp_path ("bad.json");
      g_autofree char *text = NULL;
      g_autofree char *needle = g_strdup_printf ("“%s”", config_cases[ci][2]);
      GString *s;

      weights_init (&w);
      full = build_full (g, &w, &error);
      g_assert_no_error (error);
      g_assert_true (qs_model_save (full, path, NULL, &error));
      text = _qs_keras_config_write (full, &error);
      g_assert_no_error (error);
      s = g_string_new (text);
      if (strstr (s->str, config_cases[ci][0]) == NULL)
        g_error ("the written config has no %s: %s", config_cases[ci][0], s->str);
      g_string_replace (s, config_cases[ci][0], config_cases[ci][1], 1);
      g_assert_true (g_file_set_contents (arch, s->str, -1, NULL));
      g_string_free (s, TRUE);
      loaded = qs_model_load (path, arch, NULL, &error);
      g_assert_null (loaded);
      g_assert_nonnull (error);
      if (strstr (error->message, needle) == NULL)
        g_error ("%s: the error does not name the layer %s: %s", config_cases[ci][1], needle, error->message);
      weights_clear (&w);
    }

  /* an interpolation Quantscope does not run: the model loads, and says which layer stops it */
  {
    Weights w = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(QsModel) full = NULL;
    g_autoptr(QsModel) loaded = NULL;
    g_autofree char *path = tmp_path ("preproc.h5");
    g_autofree char *arch = tmp_path ("bicubic.json");
    g_autofree char *text = NULL;
    const char *why = NULL;
    GString *s;

    weights_init (&w);
    full = build_full (g, &w, &error);
    g_assert_true (qs_model_save (full, path, NULL, &error));
    text = _qs_keras_config_write (full, &error);
    s = g_string_new (text);
    g_assert_cmpuint (g_string_replace (s, "\"bilinear\"", "\"bicubic\"", 1), ==, 1);
    g_assert_true (g_file_set_contents (arch, s->str, -1, NULL));
    g_string_free (s, TRUE);
    loaded = qs_model_load (path, arch, NULL, &error);
    g_assert_no_error (error);
    g_assert_false (qs_model_can_infer (loaded, &why));
    g_assert_nonnull (strstr (why, "resize"));
    g_assert_nonnull (strstr (why, "bicubic"));
    weights_clear (&w);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (11);
  g_test_add_func ("/qs/preproc-layers/resize-known-values", test_resize_known_values);
  g_test_add_func ("/qs/preproc-layers/float-matches-hand-preprocessing", test_float_matches_hand);
  g_test_add_func ("/qs/preproc-layers/int-matches-stripped-net", test_int_matches_stripped);
  g_test_add_func ("/qs/preproc-layers/keras-round-trip-and-sandbox", test_keras_round_trip);
  g_test_add_func ("/qs/preproc-layers/keras3-config", test_keras3_config);
  g_test_add_func ("/qs/preproc-layers/bad-params-name-the-layer", test_bad_params);
  return g_test_run ();
}
