/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <zip.h>

#include "quantscope-core.h"
#include "qs-dataset-private.h"

/* The user's own data: .npy / .npz written byte for byte as numpy writes them (every
 * dtype, byte order, Fortran order, a compressed member), image folders written with
 * gdk-pixbuf, preprocessing, unlabelled evaluation and output error metrics. */

static char *tmp_dir;

/* numpy.lib.format, version 1.0: magic, header dict padded with spaces to a multiple of 64
 * bytes ending in '\n', then the data. */
static GBytes *
npy_bytes (const char   *descr,
           gboolean      fortran,
           const char   *shape,
           const void   *data,
           gsize         size)
{
  g_autoptr(GString) h = g_string_new (NULL);
  GByteArray *out = g_byte_array_new ();
  guint8 pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0 };

  g_string_printf (h, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                   fortran ? "True" : "False", shape);
  while ((10 + h->len + 1) % 64 != 0)
    g_string_append_c (h, ' ');
  g_string_append_c (h, '\n');
  pre[8] = h->len & 0xff;
  pre[9] = h->len >> 8;
  g_byte_array_append (out, pre, 10);
  g_byte_array_append (out, (const guint8 *) h->str, h->len);
  g_byte_array_append (out, data, size);
  return g_byte_array_free_to_bytes (out);
}

static char *
write_file (const char *name,
            GBytes     *bytes)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  return path;
}

/* np.savez stores members uncompressed; np.savez_compressed deflates them. */
static char *
write_npz (const char  *name,
           guint        n,
           const char **names,
           GBytes     **members,
           gboolean    *compressed)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  int err = 0;
  zip_t *z;

  g_unlink (path);
  z = zip_open (path, ZIP_CREATE | ZIP_TRUNCATE, &err);
  g_assert_nonnull (z);
  for (guint i = 0; i < n; i++)
    {
      zip_source_t *src = zip_source_buffer (z, g_bytes_get_data (members[i], NULL),
                                             g_bytes_get_size (members[i]), 0);
      g_autofree char *member = g_strconcat (names[i], ".npy", NULL);
      zip_int64_t idx = zip_file_add (z, member, src, ZIP_FL_OVERWRITE);

      g_assert_cmpint (idx, >=, 0);
      zip_set_file_compression (z, idx, compressed[i] ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
  g_assert_cmpint (zip_close (z), ==, 0);
  return path;
}

static QsModel *
dense_model (guint        rank,
             const gsize *shape,
             gsize        n_in,
             guint        units,
             QsActivation act,
             guint32      seed)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
  QsLayer *flat = qs_layer_new ("flat", "Flatten", QS_LAYER_FLATTEN);
  QsLayer *d = qs_layer_new ("d", "Dense", QS_LAYER_DENSE);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  QsTensor *k, *b;

  in->output_rank = rank;
  memcpy (in->output_shape, shape, rank * sizeof (gsize));
  g_ptr_array_add (layers, in);
  flat->n_inputs = 1;
  flat->inputs = g_new0 (guint, 1);
  g_ptr_array_add (layers, flat);
  d->units = units;
  d->activation = act;
  d->n_inputs = 1;
  d->inputs = g_new (guint, 1);
  d->inputs[0] = 1;
  k = qs_tensor_new ("d/kernel", 2, (gsize[]) { n_in, units }, NULL);
  b = qs_tensor_new ("d/bias", 1, (gsize[]) { units }, NULL);
  for (gsize i = 0; i < k->n_elements; i++)
    k->data[i] = g_rand_double_range (rand, -0.5, 0.5);
  for (gsize i = 0; i < b->n_elements; i++)
    b->data[i] = g_rand_double_range (rand, -0.1, 0.1);
  g_ptr_array_add (d->weights, k);
  g_ptr_array_add (d->weights, b);
  g_ptr_array_add (layers, d);
  return qs_model_new_from_layers ("dense", layers, NULL);
}

/* 6 images of 2x3, values v = 10 n + 3 y + x (fit in every dtype). */
#define N 6
#define H 2
#define W 3

static double
value_at (guint n, guint y, guint x)
{
  return 10.0 * n + 3 * y + x;
}

static void
test_npy_dtypes (void)
{
  g_autoptr(QsModel) model = dense_model (2, (gsize[]) { H, W }, H * W, 2, QS_ACTIVATION_LINEAR, 1);
  QsPreprocess raw;
  struct { const char *descr; gboolean fortran; } cases[] = {
    { "|u1", FALSE }, { "|i1", FALSE }, { "<u2", FALSE }, { ">i2", FALSE }, { "<i4", FALSE },
    { ">i8", TRUE }, { "<f2", FALSE }, { ">f4", FALSE }, { "<f8", TRUE }, { ">u4", TRUE },
  };

  qs_preprocess_parse (&raw, "raw", NULL);
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const char *d = cases[c].descr;
      guint size = d[2] - '0';
      gboolean be = d[0] == '>';
      g_autofree guint8 *data = g_malloc0 (N * H * W * size);
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *path = NULL, *name = NULL;
      g_autoptr(QsDataset) ds = NULL;
      g_autoptr(GError) error = NULL;
      float out[N * H * W];

      for (guint n = 0; n < N; n++)
        for (guint y = 0; y < H; y++)
          for (guint x = 0; x < W; x++)
            {
              double v = value_at (n, y, x);
              gsize idx = cases[c].fortran ? n + N * (y + H * x) : (n * H + y) * W + x;
              guint8 le[8] = { 0 };

              if (d[1] == 'f' && size == 4)
                {
                  float f = v;
                  memcpy (le, &f, 4);
                }
              else if (d[1] == 'f' && size == 8)
                memcpy (le, &v, 8);
              else if (d[1] == 'f' && size == 2)
                {
                  /* half: exact for these small integers */
                  int e;
                  double m = frexp (v, &e);
                  guint16 hbits = v == 0 ? 0 : (guint16) (((e - 1 + 15) << 10) | ((guint16) ((m * 2 - 1) * 1024)));
                  memcpy (le, &hbits, 2);
                }
              else
                {
                  gint64 iv = (gint64) v;
                  memcpy (le, &iv, 8);
                }
              for (guint b = 0; b < size; b++)
                data[idx * size + b] = be ? le[size - 1 - b] : le[b];
            }
      bytes = npy_bytes (d, cases[c].fortran, "(6, 2, 3)", data, N * H * W * size);
      name = g_strdup_printf ("x%zu.npy", c);
      path = write_file (name, bytes);
      ds = qs_dataset_open_full (path, NULL, &raw, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (qs_dataset_get_n_images (ds), ==, N);
      g_assert_false (qs_dataset_is_labelled (ds));
      g_assert_cmpint (qs_dataset_get_label (ds, 0), ==, -1);
      g_assert_true (qs_dataset_fill_inputs (ds, model, 0, N, out, &error));
      g_assert_no_error (error);
      for (guint n = 0; n < N; n++)
        for (guint y = 0; y < H; y++)
          for (guint x = 0; x < W; x++)
            g_assert_cmpfloat (out[(n * H + y) * W + x], ==, value_at (n, y, x));
    }
}

static void
test_npz (void)
{
  g_autoptr(QsModel) model = dense_model (2, (gsize[]) { H, W }, H * W, 3, QS_ACTIVATION_SOFTMAX, 1);
  guint8 x[N * H * W];
  gint64 y[N] = { 0, 1, 2, 0, 1, 2 };
  guint8 onehot[N * 3] = { 0 };
  g_autoptr(GError) error = NULL;
  float a[N * H * W], b[N * H * W];

  for (guint i = 0; i < N * H * W; i++)
    x[i] = i * 7 % 256;
  for (guint i = 0; i < N; i++)
    onehot[i * 3 + y[i]] = 1;
  for (int compressed = 0; compressed < 2; compressed++)
    {
      GBytes *m[3] = {
        npy_bytes ("|u1", FALSE, "(6, 2, 3)", x, sizeof x),
        npy_bytes ("<i8", FALSE, "(6,)", y, sizeof y),
        npy_bytes ("|u1", FALSE, "(6, 3)", onehot, sizeof onehot),
      };
      const char *names[3] = { "x_test", "y_test", "onehot" };
      gboolean comp[3] = { compressed, compressed, TRUE };
      g_autofree char *path = write_npz (compressed ? "c.npz" : "s.npz", 3, names, m, comp);
      g_autofree char *spec = g_strconcat (path, ":x_test,onehot", NULL);
      g_autofree char *spec_x = g_strconcat (path, ":x_test", NULL);
      g_autoptr(QsDataset) ds = qs_dataset_open (path, &error);
      g_autoptr(QsDataset) ds2 = NULL;
      g_autoptr(QsDataset) ds3 = NULL;

      g_assert_no_error (error);
      g_assert_true (qs_dataset_is_labelled (ds));
      g_assert_cmpuint (qs_dataset_get_n_classes (ds), ==, 3);
      for (guint i = 0; i < N; i++)
        g_assert_cmpint (qs_dataset_get_label (ds, i), ==, y[i]);
      g_assert_true (qs_dataset_fill_inputs (ds, model, 0, N, a, &error));
      for (guint i = 0; i < N * H * W; i++)
        g_assert_cmpfloat (a[i], ==, x[i] / 255.0f);
      /* named arrays, one-hot labels */
      ds2 = qs_dataset_open (spec, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < N; i++)
        g_assert_cmpint (qs_dataset_get_label (ds2, i), ==, y[i]);
      g_assert_true (qs_dataset_fill_inputs (ds2, model, 2, 4, b, &error));
      g_assert_cmpmem (a + 2 * H * W, 4 * H * W * sizeof (float), b, 4 * H * W * sizeof (float));
      /* images alone: unlabelled */
      ds3 = qs_dataset_open (spec_x, &error);
      g_assert_no_error (error);
      g_assert_false (qs_dataset_is_labelled (ds3));
      for (guint i = 0; i < 3; i++)
        g_bytes_unref (m[i]);
    }
}

static void
test_npy_header_errors (void)
{
  guint8 data[24] = { 0 };
  struct { const char *descr; const char *shape; gsize size; const char *field; } bad[] = {
    { "<f4", "(6, 2, 3)", 24, "shape" },          /* truncated: 144 bytes declared */
    { "<f4", "(2, 3)", 23, "shape" },             /* 24 declared, 23 given */
    { "<c8", "(3,)", 24, "descr" },               /* complex */
    { "<f4", "(99999999999999, 99999999999999, 99999999)", 24, "shape" },
    { "<f4", "(2, -3)", 24, "shape" },
    { "<f4", "[2, 3]", 24, "shape" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GBytes) b = npy_bytes (bad[i].descr, FALSE, bad[i].shape, data, bad[i].size);
      g_autoptr(GError) error = NULL;
      gsize off = _qs_npy_check_header (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "bad.npy", &error);

      g_assert_cmpuint (off, ==, 0);
      g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, "bad.npy"));
      g_assert_nonnull (strstr (error->message, bad[i].field));
      /* the same bytes as a file: refused with its name, and nothing leaks on the way out
       * (fuzz-idx found the source's name leaked on this path; CI's ASan suite checks) */
      {
        g_autofree char *dir = g_dir_make_tmp ("qs-npy-XXXXXX", NULL);
        g_autofree char *path = g_build_filename (dir, "bad.npy", NULL);
        g_autoptr(GError) open_error = NULL;
        g_autoptr(QsDataset) ds = NULL;

        g_assert_true (g_file_set_contents (path, g_bytes_get_data (b, NULL), g_bytes_get_size (b), NULL));
        ds = qs_dataset_open (path, &open_error);
        g_assert_null (ds);
        g_assert_nonnull (open_error);
        g_assert_nonnull (strstr (open_error->message, "bad.npy"));
        g_unlink (path);
        g_rmdir (dir);
      }
    }
  /* missing and unknown keys, not a dict */
  {
    const char *texts[] = {
      "{'descr': '<f4', 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
      "descr",
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
    };
    for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
      {
        g_autoptr(GByteArray) a = g_byte_array_new ();
        guint8 pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0 };
        g_autoptr(GError) error = NULL;

        pre[8] = strlen (texts[i]);
        g_byte_array_append (a, pre, 10);
        g_byte_array_append (a, (const guint8 *) texts[i], strlen (texts[i]));
        g_byte_array_append (a, data, 4);
        g_assert_cmpuint (_qs_npy_check_header (a->data, a->len, "bad.npy", &error), ==, 0);
        g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT);
      }
  }
}

/* Random bytes and every truncation of a good header: an error, never a crash. */
static void
test_npy_header_fuzz (void)
{
  guint8 data[24] = { 0 };
  g_autoptr(GBytes) good = npy_bytes ("<f4", FALSE, "(2, 3)", data, 24);
  gsize size;
  const guint8 *p = g_bytes_get_data (good, &size);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (_qs_npy_check_header (p, size, "good.npy", &error), ==, size - 24);
  g_assert_no_error (error);
  for (gsize cut = 0; cut < size; cut++)
    {
      g_autoptr(GError) e = NULL;
      g_assert_cmpuint (_qs_npy_check_header (p, cut, "cut.npy", &e), ==, 0);
      g_assert_nonnull (e);
    }
  for (guint round = 0; round < 20000; round++)
    {
      g_autofree guint8 *m = g_memdup2 (p, size);
      g_autoptr(GError) e = NULL;
      guint flips = g_rand_int_range (rand, 1, 4);

      for (guint f = 0; f < flips; f++)
        m[g_rand_int_range (rand, 6, size - 24)] = g_rand_int_range (rand, 0, 256);
      if (_qs_npy_check_header (m, size, "fuzz.npy", &e) == 0)
        g_assert_nonnull (e);
    }
}

static void
save_png (const char *path,
          int         w,
          int         h,
          guint8      value,
          const char *type)
{
  g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  g_autoptr(GError) error = NULL;

  gdk_pixbuf_fill (pb, ((guint32) value << 24) | ((guint32) value << 16) | ((guint32) value << 8) | 0xff);
  gdk_pixbuf_save (pb, path, type, &error, NULL);
  g_assert_no_error (error);
}

static void
test_folder (void)
{
  g_autofree char *root = g_build_filename (tmp_dir, "folder", NULL);
  g_autofree char *flat = g_build_filename (tmp_dir, "flat", NULL);
  const char *classes[] = { "cat", "dog" };
  g_autoptr(QsModel) model = dense_model (3, (gsize[]) { 4, 4, 1 }, 16, 2, QS_ACTIVATION_SOFTMAX, 3);
  g_autoptr(QsDataset) ds = NULL;
  g_autoptr(QsDataset) un = NULL;
  g_autoptr(GError) error = NULL;
  float out[4 * 16];

  for (guint c = 0; c < 2; c++)
    {
      g_autofree char *dir = g_build_filename (root, classes[c], NULL);
      g_autofree char *png = g_build_filename (dir, "a.png", NULL);
      g_autofree char *jpg = g_build_filename (dir, "b.jpg", NULL);

      g_mkdir_with_parents (dir, 0755);
      save_png (png, 8, 8, c == 0 ? 40 : 200, "png");    /* resized to 4x4 */
      save_png (jpg, 6, 4, c == 0 ? 40 : 200, "jpeg");
    }
  g_mkdir_with_parents (flat, 0755);
  {
    g_autofree char *png = g_build_filename (flat, "x.png", NULL);
    save_png (png, 4, 4, 100, "png");
  }
  ds = qs_dataset_open (root, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_dataset_get_n_images (ds), ==, 4);
  g_assert_cmpuint (qs_dataset_get_n_classes (ds), ==, 2);
  g_assert_cmpstr (qs_dataset_get_class_name (ds, 1), ==, "dog");
  g_assert_cmpint (qs_dataset_get_label (ds, 0), ==, 0);
  g_assert_cmpint (qs_dataset_get_label (ds, 3), ==, 1);
  g_assert_true (qs_dataset_fill_inputs (ds, model, 0, 4, out, &error));
  g_assert_no_error (error);
  /* a uniform grey image stays that grey after resizing and RGB -> luminance */
  for (guint i = 0; i < 4; i++)
    for (guint k = 0; k < 16; k++)
      g_assert_cmpfloat_with_epsilon (out[i * 16 + k], (i < 2 ? 40 : 200) / 255.0, 3.0 / 255);

  un = qs_dataset_open (flat, &error);
  g_assert_no_error (error);
  g_assert_false (qs_dataset_is_labelled (un));
  g_assert_cmpuint (qs_dataset_get_n_images (un), ==, 1);
}

static void
test_preprocess (void)
{
  QsPreprocess pp, back;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  float img[2 * 2 * 3] = { 0, 128, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90 };
  float out[12];

  g_assert_true (qs_preprocess_parse (&pp, "torch,resize=4,crop=2", &error));
  text = qs_preprocess_to_string (&pp);
  g_assert_true (qs_preprocess_parse (&back, text, &error));
  g_assert_true (qs_preprocess_equal (&pp, &back));
  /* torch: (x/255 - mean) / std, per channel */
  g_assert_true (qs_preprocess_parse (&pp, "torch", &error));
  g_assert_true (qs_preprocess_apply (&pp, img, 2, 2, 3, TRUE, out, 2, 2, 3, &error));
  g_assert_cmpfloat_with_epsilon (out[1], (128 / 255.0 - 0.456) / 0.224, 1e-5);
  /* caffe: BGR, mean subtracted, not scaled */
  g_assert_true (qs_preprocess_parse (&pp, "caffe", &error));
  g_assert_true (qs_preprocess_apply (&pp, img, 2, 2, 3, TRUE, out, 2, 2, 3, &error));
  g_assert_cmpfloat_with_epsilon (out[0], 255 - 103.939, 1e-4);
  g_assert_cmpfloat_with_epsilon (out[2], 0 - 123.68, 1e-4);
  g_assert_true (qs_preprocess_parse (&pp, "-1..1", &error));
  g_assert_true (qs_preprocess_apply (&pp, img, 2, 2, 3, TRUE, out, 2, 2, 3, &error));
  g_assert_cmpfloat_with_epsilon (out[2], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (out[0], -1.0, 1e-6);
  /* errors name the key */
  g_assert_false (qs_preprocess_parse (&pp, "resize=big", &error));
  g_assert_nonnull (strstr (error->message, "resize"));
  g_clear_error (&error);
  g_assert_false (qs_preprocess_parse (&pp, "colour=blue", &error));
  g_assert_nonnull (strstr (error->message, "colour"));
  g_clear_error (&error);
  g_assert_false (qs_preprocess_parse (&pp, "imagenet", &error));
  g_assert_nonnull (strstr (error->message, "imagenet"));
}

/* Config JSON keeps the preprocessing; a bad one is refused naming $.preprocessing. */
static void
test_config_preprocessing (void)
{
  g_autoptr(QsConfig) c = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsConfig) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  QsPreprocess pp;

  qs_preprocess_parse (&pp, "torch,resize=256,crop=224", NULL);
  qs_config_set_preprocess (c, &pp);
  json = qs_config_to_json (c);
  back = qs_config_new_from_json (json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (qs_preprocess_equal (qs_config_get_preprocess (back), &pp));
  g_clear_object (&back);
  back = qs_config_new_from_json ("{\"schema_version\": 1, \"preprocessing\": \"resize=-3\"}", -1, &error);
  g_assert_null (back);
  g_assert_nonnull (strstr (error->message, "$.preprocessing"));
}

static void
metrics (const float *f,
         const float *q,
         gsize        n,
         double      *sqnr,
         double      *mse,
         double      *cosine,
         double      *max_err)
{
  double ss = 0, se = 0, sq = 0, dot = 0;

  *max_err = 0;
  for (gsize i = 0; i < n; i++)
    {
      ss += (double) f[i] * f[i];
      sq += (double) q[i] * q[i];
      se += ((double) q[i] - f[i]) * ((double) q[i] - f[i]);
      dot += (double) f[i] * q[i];
      *max_err = MAX (*max_err, fabs ((double) q[i] - f[i]));
    }
  *sqnr = 10 * log10 (ss / se);
  *mse = se / n;
  *cosine = dot / sqrt (ss * sq);
}

/* A Dense regression head (one output, no softmax) on unlabelled features: SQNR, MSE,
 * cosine and max error equal a computation from the two engines' outputs. */
static void
test_regression_metrics (void)
{
  enum { NI = 64, F = 16 };
  g_autoptr(QsModel) model = dense_model (1, (gsize[]) { F }, F, 1, QS_ACTIVATION_LINEAR, 5);
  g_autofree float *x = g_new (float, NI * F);
  g_autofree float *inputs = g_new (float, NI * F);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *path = NULL;
  g_autoptr(QsDataset) ds = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsEvalResult) r = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(QsEngineFloat) fe = NULL;
  g_autoptr(GError) error = NULL;
  float fo[NI], qo[NI];
  double sqnr, mse, cosine, max_err;
  QsEvalOptions opts = { .layer_stats = FALSE };

  for (guint i = 0; i < NI * F; i++)
    x[i] = g_rand_double_range (rand, -2, 2);
  bytes = npy_bytes ("<f4", FALSE, "(64, 16)", x, NI * F * sizeof (float));
  path = write_file ("features.npy", bytes);
  qs_config_set_calib_source (config, path);
  qs_config_set_calib_images (config, NI);
  ds = qs_dataset_open (path, &error);
  g_assert_no_error (error);
  r = qs_eval_run (model, config, ds, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (r->labelled);
  g_assert_false (r->classification);
  g_assert_true (isnan (r->float_top1));

  /* independently: both engines on the same inputs */
  g_assert_true (qs_dataset_fill_inputs (ds, model, 0, NI, inputs, &error));
  for (guint i = 0; i < NI * F; i++)
    g_assert_cmpfloat (inputs[i], ==, x[i]);   /* floats are fed as stored */
  fe = qs_engine_float_new (model, &error);
  g_assert_true (qs_engine_float_run (fe, inputs, NI, fo, 1, NULL, NULL, NULL, &error));
  calib = qs_calibration_new (model, inputs, NI, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  engine = qs_calibration_compile (calib, model, config, &error);
  g_assert_no_error (error);
  g_assert_true (qs_engine_int_run (engine, inputs, NI, qo, 1, NULL, NULL, NULL, &error));
  metrics (fo, qo, NI, &sqnr, &mse, &cosine, &max_err);
  g_assert_cmpfloat (sqnr, >, 10);    /* the quantization is not nothing ... */
  g_assert_cmpfloat (max_err, >, 0);  /* ... and not everything */
  g_assert_cmpfloat_with_epsilon (r->output_sqnr_db, sqnr, 1e-6 * fabs (sqnr));
  g_assert_cmpfloat_with_epsilon (r->output_mse, mse, 1e-9 + 1e-6 * mse);
  g_assert_cmpfloat_with_epsilon (r->output_cosine, cosine, 1e-9);
  g_assert_cmpfloat_with_epsilon (r->output_max_abs_error, max_err, 1e-9);
}

/* Unlabelled images, a float config (fp32 everywhere): agreement 1.0, overlap 1.0. */
static void
test_unlabelled_agreement (void)
{
  g_autoptr(QsModel) model = dense_model (2, (gsize[]) { H, W }, H * W, 10, QS_ACTIVATION_SOFTMAX, 9);
  guint8 x[40 * H * W];
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *path = NULL;
  g_autoptr(QsDataset) ds = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("fp32", NULL);
  g_autoptr(QsEvalResult) r = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < sizeof x; i++)
    x[i] = (i * 37) % 256;
  bytes = npy_bytes ("|u1", FALSE, "(40, 2, 3)", x, sizeof x);
  path = write_file ("unlabelled.npy", bytes);
  ds = qs_dataset_open (path, &error);
  g_assert_no_error (error);
  r = qs_eval_run (model, config, ds, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (r->labelled);
  g_assert_true (r->classification);
  g_assert_cmpfloat (r->agreement, ==, 1.0);
  g_assert_cmpfloat (r->top5_overlap, ==, 1.0);
  g_assert_cmpfloat_with_epsilon (r->mean_kl, 0.0, 1e-9);
  g_assert_true (isnan (r->quant_top1));
}

/* A model that starts with Rescaling(1/255) on raw bytes gives the float outputs of the
 * same model without it on x/255 data (float engine), and the integer program agrees. */
static void
test_rescaling_layer (void)
{
  enum { NI = 32 };
  g_autoptr(QsModel) plain = dense_model (2, (gsize[]) { H, W }, H * W, 4, QS_ACTIVATION_SOFTMAX, 21);
  g_autoptr(QsModel) scaled = NULL;
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
  QsLayer *rs = qs_layer_new ("rescale", "Rescaling", QS_LAYER_RESCALING);
  QsLayer *flat = qs_layer_new ("flat", "Flatten", QS_LAYER_FLATTEN);
  QsLayer *d = qs_layer_new ("d", "Dense", QS_LAYER_DENSE);
  const QsLayer *pd = qs_model_find_layer (plain, "d");
  guint8 x[NI * H * W];
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *path = NULL;
  g_autoptr(QsDataset) raw_ds = NULL;
  g_autoptr(QsDataset) scaled_ds = NULL;
  g_autoptr(QsEngineFloat) e1 = NULL;
  g_autoptr(QsEngineFloat) e2 = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsEvalResult) r = NULL;
  g_autoptr(GError) error = NULL;
  QsPreprocess raw;
  float in1[NI * H * W], in2[NI * H * W], o1[NI * 4], o2[NI * 4];

  in->output_rank = 2;
  in->output_shape[0] = H;
  in->output_shape[1] = W;
  g_ptr_array_add (layers, in);
  rs->rescale_scale = 1.0f / 255.0f;
  rs->n_inputs = 1;
  rs->inputs = g_new0 (guint, 1);
  g_ptr_array_add (layers, rs);
  flat->n_inputs = 1;
  flat->inputs = g_new0 (guint, 1);
  flat->inputs[0] = 1;
  g_ptr_array_add (layers, flat);
  d->units = 4;
  d->activation = QS_ACTIVATION_SOFTMAX;
  d->n_inputs = 1;
  d->inputs = g_new (guint, 1);
  d->inputs[0] = 2;
  for (guint w = 0; w < pd->weights->len; w++)
    g_ptr_array_add (d->weights, qs_tensor_dup (g_ptr_array_index (pd->weights, w)));
  g_ptr_array_add (layers, d);
  scaled = qs_model_new_from_layers ("rescaled", layers, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < sizeof x; i++)
    x[i] = (i * 53 + 7) % 256;
  bytes = npy_bytes ("|u1", FALSE, "(32, 2, 3)", x, sizeof x);
  path = write_file ("rescale.npy", bytes);
  qs_preprocess_parse (&raw, "raw", NULL);
  raw_ds = qs_dataset_open_full (path, NULL, &raw, &error);
  scaled_ds = qs_dataset_open_full (path, NULL, NULL, &error);   /* auto: x/255 */
  g_assert_no_error (error);
  g_assert_true (qs_dataset_fill_inputs (raw_ds, scaled, 0, NI, in1, &error));
  g_assert_true (qs_dataset_fill_inputs (scaled_ds, plain, 0, NI, in2, &error));
  e1 = qs_engine_float_new (scaled, &error);
  e2 = qs_engine_float_new (plain, &error);
  g_assert_no_error (error);
  g_assert_true (qs_engine_float_run (e1, in1, NI, o1, 1, NULL, NULL, NULL, &error));
  g_assert_true (qs_engine_float_run (e2, in2, NI, o2, 1, NULL, NULL, NULL, &error));
  for (guint i = 0; i < NI * 4; i++)
    g_assert_cmpfloat_with_epsilon (o1[i], o2[i], 1e-6);
  /* the integer program runs the Rescaling too: it agrees with its float model */
  qs_config_set_calib_source (config, path);
  qs_config_set_preprocess (config, &raw);
  r = qs_eval_run (scaled, config, raw_ds, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (r->output_sqnr_db, >, 25);
}

/* Non-finite and huge values in a float .npy: the bytes shown for them are defined (NaN
 * once reached an undefined float -> byte cast: fuzz-npy, UBSan). */
static void
test_npy_nonfinite_pixels (void)
{
  const double v[8] = { NAN, INFINITY, -INFINITY, 1e30, -1e30, 0, 1, 0.5 };
  g_autoptr(GBytes) b = npy_bytes ("<f8", FALSE, "(1, 2, 4)", v, sizeof v);
  g_autofree char *path = write_file ("nonfinite.npy", b);
  g_autoptr(QsDataset) d = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *px = NULL;
  gsize h, w, c;

  d = qs_dataset_open_full (path, "none", NULL, &error);
  g_assert_no_error (error);
  px = qs_dataset_read_pixels (d, 0, &h, &w, &c, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (h * w * c, ==, 8);
  g_assert_cmpuint (px[0], ==, 0);   /* NaN */
  g_assert_cmpuint (px[1], ==, 0);   /* infinities are not part of the range */
  g_assert_cmpuint (px[2], ==, 0);
  g_assert_cmpuint (px[3], ==, 255); /* the range's ends */
  g_assert_cmpuint (px[4], ==, 0);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-dataset-formats-XXXXXX", NULL);
  g_test_add_func ("/qs/dataset-formats/npy-dtypes-orders", test_npy_dtypes);
  g_test_add_func ("/qs/dataset-formats/npz-stored-compressed-named", test_npz);
  g_test_add_func ("/qs/dataset-formats/npy-header-errors-name-field", test_npy_header_errors);
  g_test_add_func ("/qs/dataset-formats/npy-header-fuzz", test_npy_header_fuzz);
  g_test_add_func ("/qs/dataset-formats/npy-nonfinite-pixels", test_npy_nonfinite_pixels);
  g_test_add_func ("/qs/dataset-formats/image-folder", test_folder);
  g_test_add_func ("/qs/dataset-formats/preprocess", test_preprocess);
  g_test_add_func ("/qs/dataset-formats/config-preprocessing", test_config_preprocessing);
  g_test_add_func ("/qs/dataset-formats/regression-output-metrics", test_regression_metrics);
  g_test_add_func ("/qs/dataset-formats/unlabelled-agreement", test_unlabelled_agreement);
  g_test_add_func ("/qs/dataset-formats/rescaling-layer", test_rescaling_layer);
  status = g_test_run ();
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_dir);
    (void) !system (cmd);
  }
  return status;
}
