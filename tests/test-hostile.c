/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <zip.h>

#include "quantscope-core.h"
#include "qs-keras.h"

/* Broken and hostile files: each gives a GError that names the file (and the layer and field
 * where there is one), never a crash or a hang, and no file makes the loader open another. */

static char *tmp_dir;
static char *valid_path;
static char *valid_config;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static void
set_inputs1 (QsLayer *l,
             guint    from)
{
  l->n_inputs = 1;
  l->inputs = g_new (guint, 1);
  l->inputs[0] = from;
}

/* Input [6, 6, 1] -> Conv2D "conv" (2 filters, 3x3) -> Flatten "flat" -> Dense "dense" (3). */
static QsModel *
small_model (float poison)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
  QsLayer *conv = qs_layer_new ("conv", "Conv2D", QS_LAYER_CONV2D);
  QsLayer *flat = qs_layer_new ("flat", "Flatten", QS_LAYER_FLATTEN);
  QsLayer *dense = qs_layer_new ("dense", "Dense", QS_LAYER_DENSE);
  QsTensor *t;

  in->output_rank = 3;
  in->output_shape[0] = in->output_shape[1] = 6;
  in->output_shape[2] = 1;
  g_ptr_array_add (layers, in);
  conv->filters = 2;
  conv->kernel_size[0] = conv->kernel_size[1] = 3;
  t = qs_tensor_new ("conv/kernel", 4, (gsize[]) { 3, 3, 1, 2 }, NULL);
  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) g_rand_double (rand);
  g_ptr_array_add (conv->weights, t);
  g_ptr_array_add (conv->weights, qs_tensor_new ("conv/bias", 1, (gsize[]) { 2 }, NULL));
  set_inputs1 (conv, 0);
  g_ptr_array_add (layers, conv);
  set_inputs1 (flat, 1);
  g_ptr_array_add (layers, flat);
  dense->units = 3;
  dense->activation = QS_ACTIVATION_SOFTMAX;
  t = qs_tensor_new ("dense/kernel", 2, (gsize[]) { 32, 3 }, NULL);
  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) g_rand_double (rand);
  t->data[5] = poison;
  g_ptr_array_add (dense->weights, t);
  g_ptr_array_add (dense->weights, qs_tensor_new ("dense/bias", 1, (gsize[]) { 3 }, NULL));
  set_inputs1 (dense, 2);
  g_ptr_array_add (layers, dense);
  return qs_model_new_from_layers ("small", layers, NULL);
}

static char *
copy_valid (const char *name)
{
  char *path = tmp_path (name);
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (valid_path, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (path, contents, len, NULL));
  return path;
}

static void
set_config (const char *path,
            const char *json,
            gssize      len)
{
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t type = H5Tcopy (H5T_C_S1);
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t attr;
  g_autofree char *copy = g_strndup (json, len < 0 ? strlen (json) : (gsize) len);

  g_assert_cmpint (file, >=, 0);
  H5Adelete (file, "model_config");
  H5Tset_size (type, H5T_VARIABLE);
  attr = H5Acreate2 (file, "model_config", type, space, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (H5Awrite (attr, type, &copy), >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
  H5Tclose (type);
  H5Fclose (file);
}

static GError *
load_error (const char *path,
            const char *arch)
{
  GError *error = NULL;
  g_autoptr(QsModel) model = qs_model_load (path, arch, NULL, &error);

  g_assert_null (model);
  g_assert_nonnull (error);
  g_assert_true (error->domain == QS_MODEL_ERROR);
  g_test_message ("%s", error->message);
  return error;
}

static void
expect_error (const char *path,
              gint        code,
              const char *needle1,
              const char *needle2)
{
  g_autoptr(GError) error = load_error (path, NULL);
  g_autofree char *base = g_path_get_basename (path);

  if (code >= 0)
    g_assert_error (error, QS_MODEL_ERROR, code);
  g_assert_nonnull (strstr (error->message, base));
  if (needle1 != NULL)
    g_assert_nonnull (strstr (error->message, needle1));
  if (needle2 != NULL)
    g_assert_nonnull (strstr (error->message, needle2));
}

static void
test_not_model (void)
{
  g_autofree char *text = tmp_path ("notes.h5");
  g_autofree char *empty = tmp_path ("empty.h5");

  g_assert_true (g_file_set_contents (text, "just some text\n", -1, NULL));
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  expect_error (text, QS_MODEL_ERROR_NOT_HDF5, NULL, NULL);
  expect_error (empty, QS_MODEL_ERROR_NOT_HDF5, NULL, NULL);
  expect_error ("/nonexistent/model.h5", QS_MODEL_ERROR_NOT_FOUND, NULL, NULL);
}

/* What a text conversion makes of a binary file: each byte >= 0x80 becomes U+FFFD (decoded
 * as UTF-8 with replacement), or is re-encoded from Latin-1 to UTF-8 (two bytes each). */
static GByteArray *
text_convert (const char *contents,
              gsize       len,
              gboolean    latin1)
{
  GByteArray *out = g_byte_array_sized_new (len * 2);

  for (gsize i = 0; i < len; i++)
    {
      guchar b = contents[i];

      if (b < 0x80)
        g_byte_array_append (out, &b, 1);
      else if (latin1)
        {
          guchar two[2] = { 0xc0 | (b >> 6), 0x80 | (b & 0x3f) };
          g_byte_array_append (out, two, 2);
        }
      else
        g_byte_array_append (out, (const guchar *) "\xef\xbf\xbd", 3);
    }
  return out;
}

/* A model saved through a text conversion ("\uFFFDHDF..."): the error says what happened
 * and how to get a good copy, for the model and for an architecture file alike. */
static void
test_text_converted (void)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (valid_path, &contents, &len, NULL));
  for (int latin1 = 0; latin1 <= 1; latin1++)
    {
      g_autofree char *path = tmp_path ("converted.h5");
      g_autoptr(GByteArray) converted = text_convert (contents, len, latin1);
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) arch_error = NULL;

      g_assert_cmpmem (converted->data, 3, latin1 ? "\xc2\x89H" : "\xef\xbf\xbd", 3);
      g_assert_true (g_file_set_contents (path, (const char *) converted->data, converted->len, NULL));
      error = load_error (path, NULL);
      g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TEXT_DAMAGED);
      g_assert_nonnull (strstr (error->message, "converted.h5"));
      g_assert_nonnull (strstr (error->message, "text conversion"));
      g_assert_nonnull (strstr (error->message, "binary mode"));

      arch_error = load_error (valid_path, path);
      g_assert_error (arch_error, QS_MODEL_ERROR, QS_MODEL_ERROR_TEXT_DAMAGED);
    }
}

static void
test_truncated (void)
{
  g_autofree char *contents = NULL;
  gsize len;
  const double fractions[] = { 0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99 };

  g_assert_true (g_file_get_contents (valid_path, &contents, &len, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (fractions); i++)
    {
      g_autofree char *path = tmp_path ("truncated.h5");
      gsize cut = MAX ((gsize) (len * fractions[i]), 8);
      g_autoptr(GError) error = NULL;

      g_assert_true (g_file_set_contents (path, contents, cut, NULL));
      error = load_error (path, NULL);
      g_assert_nonnull (strstr (error->message, "truncated.h5"));
    }
}

static void
test_mangled (void)
{
  g_autofree char *contents = NULL;
  g_autofree char *path = tmp_path ("mangled.h5");
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  gsize len;

  g_assert_true (g_file_get_contents (valid_path, &contents, &len, NULL));
  /* Text-mangled: every non-ASCII byte replaced, as a careless text transfer does. */
  {
    g_autofree char *m = g_memdup2 (contents, len);
    g_autoptr(GError) error = NULL;
    for (gsize i = 0; i < len; i++)
      if ((guchar) m[i] >= 0x80)
        m[i] = '?';
    g_assert_true (g_file_set_contents (path, m, len, NULL));
    error = load_error (path, NULL);
    g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TEXT_DAMAGED);
  }
  /* Random damage: any outcome but a crash; errors name the file. */
  for (int round = 0; round < 40; round++)
    {
      g_autofree char *m = g_memdup2 (contents, len);
      GError *error = NULL;
      QsModel *model;

      for (int k = 0; k < 8; k++)
        m[g_rand_int_range (rand, 0, len)] = (char) g_rand_int_range (rand, 0, 256);
      g_assert_true (g_file_set_contents (path, m, len, NULL));
      model = qs_model_load (path, NULL, NULL, &error);
      if (model == NULL)
        {
          g_assert_nonnull (error);
          g_assert_nonnull (strstr (error->message, "mangled.h5"));
          g_error_free (error);
        }
      else
        {
          /* Whatever loaded must be safe to run. */
          if (qs_model_can_infer (model, NULL))
            {
              g_autoptr(QsEngineFloat) engine = qs_engine_float_new (model, NULL);
              float in[36] = { 0 }, out[64];
              if (engine != NULL && qs_model_get_n_classes (model) <= 64)
                qs_engine_float_run (engine, in, 1, out, 1, NULL, NULL, NULL, NULL);
            }
          g_object_unref (model);
        }
    }
}

static void
test_missing_dataset (void)
{
  g_autofree char *path = copy_valid ("missing.h5");
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);

  g_assert_cmpint (H5Ldelete (file, "model_weights/dense/dense/kernel:0", H5P_DEFAULT), >=, 0);
  H5Fclose (file);
  expect_error (path, QS_MODEL_ERROR_CORRUPT, "dense", "kernel");
}

static void
test_missing_group (void)
{
  g_autofree char *path = copy_valid ("nogroup.h5");
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);

  g_assert_cmpint (H5Ldelete (file, "model_weights/conv", H5P_DEFAULT), >=, 0);
  H5Fclose (file);
  expect_error (path, QS_MODEL_ERROR_CORRUPT, "conv", NULL);
}

static char *
patched_config (const char *from,
                const char *to)
{
  g_autoptr(GString) s = g_string_new (valid_config);

  g_assert_nonnull (strstr (valid_config, from));
  g_string_replace (s, from, to, 1);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_config_errors (void)
{
  struct
  {
    const char *from, *to;
    gint        code;
    const char *needle1, *needle2;
  } cases[] = {
    /* shape disagrees with the weights */
    { "\"units\":3", "\"units\":4", QS_MODEL_ERROR_SHAPE_MISMATCH, "dense", "kernel" },
    { "\"filters\":2", "\"filters\":5", QS_MODEL_ERROR_SHAPE_MISMATCH, "conv", "kernel" },
    /* absurd sizes */
    { "\"units\":3", "\"units\":1000000000000", QS_MODEL_ERROR_BAD_CONFIG, "dense", "units" },
    { "[null,6,6,1]", "[null,100000,100000,100000]", -1, NULL, NULL },
    { "\"kernel_size\":[3,3]", "\"kernel_size\":[3,-3]", QS_MODEL_ERROR_BAD_CONFIG, "conv", "kernel_size" },
    /* dangling and cyclic edges */
    { "[[[\"flat\",0,0,{}]]]", "[[[\"nowhere\",0,0,{}]]]", QS_MODEL_ERROR_GRAPH, "dense", "nowhere" },
    { "[[[\"conv\",0,0,{}]]]", "[[[\"dense\",0,0,{}]]]", QS_MODEL_ERROR_GRAPH, "inbound_nodes", NULL },
    /* wrong types */
    { "\"units\":3", "\"units\":\"three\"", QS_MODEL_ERROR_BAD_CONFIG, "dense", "units" },
    { "\"padding\":\"valid\"", "\"padding\":\"reflect\"", QS_MODEL_ERROR_BAD_CONFIG, "conv", "padding" },
    /* empty model */
    { "\"layers\":[", "\"layers\":[], \"x\":[", QS_MODEL_ERROR_BAD_CONFIG, "no layers", NULL },
    { "\"class_name\":\"Functional\"", "\"class_name\":\"Pipeline\"", QS_MODEL_ERROR_UNSUPPORTED, "Pipeline", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = copy_valid ("config.h5");
      g_autofree char *json = patched_config (cases[i].from, cases[i].to);

      set_config (path, json, -1);
      expect_error (path, cases[i].code, cases[i].needle1, cases[i].needle2);
    }

  /* Not JSON, not UTF-8, deeply nested. */
  {
    g_autofree char *path = copy_valid ("config.h5");
    set_config (path, "{\"class_name\": ", -1);
    expect_error (path, QS_MODEL_ERROR_BAD_CONFIG, "JSON", NULL);
    set_config (path, "{\"class_name\": \"\xff\xfe\"}", -1);
    expect_error (path, QS_MODEL_ERROR_BAD_CONFIG, "UTF-8", NULL);
  }
  {
    g_autofree char *path = copy_valid ("config.h5");
    GString *deep = g_string_new ("{\"class_name\": \"Sequential\", \"config\": ");
    g_autofree char *json = NULL;
    for (int i = 0; i < 100000; i++)
      g_string_append_c (deep, '[');
    for (int i = 0; i < 100000; i++)
      g_string_append_c (deep, ']');
    g_string_append_c (deep, '}');
    json = g_string_free (deep, FALSE);
    set_config (path, json, -1);
    expect_error (path, QS_MODEL_ERROR_BAD_CONFIG, "nested", NULL);
  }
}

static void
test_nonfinite (void)
{
  g_autoptr(QsModel) model = small_model (NAN);
  g_autoptr(QsModel) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("nan.h5");

  g_assert_true (qs_model_save (model, path, NULL, &error));
  g_assert_no_error (error);
  loaded = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_model_find_layer (loaded, "dense")->n_nonfinite, ==, 1);
  g_assert_cmpuint (qs_model_find_layer (loaded, "conv")->n_nonfinite, ==, 0);
  g_assert_true (isnan (qs_layer_get_kernel (qs_model_find_layer (loaded, "dense"))->data[5]));
}

static void
write_float_dataset (hid_t       loc,
                     const char *name,
                     hid_t       dcpl,
                     hsize_t     n)
{
  hsize_t dims[1] = { n };
  hid_t space = H5Screate_simple (1, dims, NULL);
  hid_t dset = H5Dcreate2 (loc, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);

  g_assert_cmpint (dset, >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
}

static void
test_external (void)
{
  g_autofree char *other = tmp_path ("other.h5");
  g_autofree char *elink = copy_valid ("elink.h5");
  g_autofree char *estore = copy_valid ("estore.h5");
  g_autofree char *vds = copy_valid ("vds.h5");
  g_autofree char *raw = tmp_path ("raw.bin");
  hid_t file, dcpl, space;
  hsize_t dims[1] = { 4 };

  file = H5Fcreate (other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  write_float_dataset (file, "data", H5P_DEFAULT, 4);
  H5Fclose (file);
  g_assert_true (g_file_set_contents (raw, "0123456789abcdef", 16, NULL));

  /* External link inside model_weights. */
  file = H5Fopen (elink, H5F_ACC_RDWR, H5P_DEFAULT);
  g_assert_cmpint (H5Lcreate_external (other, "/data", file, "model_weights/sneaky", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
  H5Fclose (file);
  expect_error (elink, QS_MODEL_ERROR_EXTERNAL, "sneaky", NULL);

  /* External raw storage. */
  file = H5Fopen (estore, H5F_ACC_RDWR, H5P_DEFAULT);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  H5Pset_external (dcpl, raw, 0, 16);
  write_float_dataset (file, "outside", dcpl, 4);
  H5Pclose (dcpl);
  H5Fclose (file);
  expect_error (estore, QS_MODEL_ERROR_EXTERNAL, "outside", NULL);

  /* Virtual dataset mapping another file. */
  file = H5Fopen (vds, H5F_ACC_RDWR, H5P_DEFAULT);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  space = H5Screate_simple (1, dims, NULL);
  H5Pset_virtual (dcpl, space, other, "/data", space);
  write_float_dataset (file, "virtual", dcpl, 4);
  H5Sclose (space);
  H5Pclose (dcpl);
  H5Fclose (file);
  expect_error (vds, QS_MODEL_ERROR_EXTERNAL, "virtual", NULL);
}

static void
test_absurd_dataset (void)
{
  g_autofree char *path = copy_valid ("huge.h5");
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
  hsize_t dims[2] = { (hsize_t) 1 << 20, (hsize_t) 1 << 20 }, chunk[2] = { 64, 64 };
  hid_t space = H5Screate_simple (2, dims, NULL);
  hid_t dset;

  /* A 4 TB dataset that is never written: HDF5 would happily return fill values. */
  H5Ldelete (file, "model_weights/dense/dense/kernel:0", H5P_DEFAULT);
  H5Pset_chunk (dcpl, 2, chunk);
  dset = H5Dcreate2 (file, "model_weights/dense/dense/kernel:0", H5T_IEEE_F32LE, space,
                     H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  H5Dclose (dset);
  H5Sclose (space);
  H5Pclose (dcpl);
  H5Fclose (file);
  expect_error (path, QS_MODEL_ERROR_TOO_LARGE, "dense", NULL);
}

static void
test_bad_weight_type (void)
{
  g_autofree char *path = copy_valid ("strings.h5");
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t type = H5Tcopy (H5T_C_S1);
  hsize_t dims[1] = { 3 };
  hid_t space = H5Screate_simple (1, dims, NULL);
  hid_t dset;

  H5Tset_size (type, 8);
  H5Ldelete (file, "model_weights/dense/dense/bias:0", H5P_DEFAULT);
  dset = H5Dcreate2 (file, "model_weights/dense/dense/bias:0", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose (dset);
  H5Sclose (space);
  H5Tclose (type);
  H5Fclose (file);
  expect_error (path, QS_MODEL_ERROR_CORRUPT, "dense/bias", NULL);
}

static void
test_generic_hdf5 (void)
{
  g_autofree char *path = tmp_path ("state_dict.h5");
  g_autofree char *none = tmp_path ("nothing.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  hid_t file;

  /* A PyTorch-style state dict: plain float datasets. */
  file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  write_float_dataset (file, "fc1.weight", H5P_DEFAULT, 12);
  write_float_dataset (file, "fc1.bias", H5P_DEFAULT, 3);
  H5Fclose (file);
  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_model_get_format (model), ==, QS_MODEL_FORMAT_HDF5);
  g_assert_cmpuint (qs_model_get_n_layers (model), ==, 2);
  g_assert_cmpuint (qs_model_get_n_params (model), ==, 15);
  g_assert_false (qs_model_can_infer (model, NULL));
  g_assert_nonnull (qs_model_find_layer (model, "fc1.weight"));

  file = H5Fcreate (none, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose (file);
  expect_error (none, QS_MODEL_ERROR_UNSUPPORTED, NULL, NULL);
}

static void
write_zip (const char *path,
           const char *config,
           const char *weights_path,
           const char *weights_literal)
{
  int err = 0;
  zip_t *z = zip_open (path, ZIP_CREATE | ZIP_TRUNCATE, &err);

  g_assert_nonnull (z);
  if (config != NULL)
    zip_file_add (z, "config.json", zip_source_buffer (z, config, strlen (config), 0), ZIP_FL_OVERWRITE);
  zip_file_add (z, "metadata.json", zip_source_buffer (z, "{\"keras_version\": \"3.1.0\"}", 26, 0), ZIP_FL_OVERWRITE);
  if (weights_path != NULL)
    zip_file_add (z, "model.weights.h5", zip_source_file (z, weights_path, 0, -1), ZIP_FL_OVERWRITE);
  else if (weights_literal != NULL)
    zip_file_add (z, "model.weights.h5", zip_source_buffer (z, weights_literal, strlen (weights_literal), 0), ZIP_FL_OVERWRITE);
  g_assert_cmpint (zip_close (z), ==, 0);
}

static void
test_keras_zip (void)
{
  g_autofree char *junk = tmp_path ("junk.keras");
  g_autofree char *noconfig = tmp_path ("noconfig.keras");
  g_autofree char *badh5 = tmp_path ("badh5.keras");

  g_assert_true (g_file_set_contents (junk, "PK\003\004 this is not really a zip file", -1, NULL));
  expect_error (junk, QS_MODEL_ERROR_CORRUPT, NULL, NULL);
  write_zip (noconfig, NULL, valid_path, NULL);
  expect_error (noconfig, QS_MODEL_ERROR_CORRUPT, "config.json", NULL);
  write_zip (badh5, "{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}", NULL, "not hdf5");
  expect_error (badh5, QS_MODEL_ERROR_CORRUPT, NULL, NULL);
}

/* Seeded mutations of a valid model_config through the parser and the graph builder:
 * every outcome is a model or a GError, never a crash (a bounded fuzz run). */
static void
test_config_mutations (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2024);
  static const char *tokens[] = { "[", "]", "{", "}", ",", ":", "\"", "null", "-1", "0",
                                  "1e308", "\"name\"", "\"inbound_nodes\"", "\"layers\"",
                                  "\"InputLayer\"", "[[[\"in\",0,0,{}]]]", "99999999999" };
  gsize len = strlen (valid_config);
  guint parsed = 0, built = 0;

  for (int round = 0; round < 10000; round++)
    {
      GString *m = g_string_new (valid_config);
      int edits = g_rand_int_range (rand, 1, 6);
      g_autoptr(GPtrArray) layers = NULL;
      g_autoptr(GPtrArray) configs = NULL;
      g_autoptr(GPtrArray) names = NULL;
      g_autofree char *model_name = NULL;
      GError *error = NULL;

      for (int e = 0; e < edits; e++)
        {
          gsize at, cut;

          if (m->len < 2)
            break;
          at = g_rand_int_range (rand, 0, m->len);
          cut = g_rand_int_range (rand, 1, 20);
          switch (g_rand_int_range (rand, 0, 3))
            {
            case 0:
              g_string_erase (m, at, MIN (cut, m->len - at));
              break;
            case 1:
              g_string_insert (m, at, tokens[g_rand_int_range (rand, 0, G_N_ELEMENTS (tokens))]);
              break;
            default:
              m->str[at] = (char) g_rand_int_range (rand, 32, 127);
              break;
            }
        }
      if (_qs_keras_config_parse (m->str, m->len, "mutant.json", &model_name, &layers, &configs, &names, &error))
        {
          QsModel *model;
          parsed++;
          model = _qs_model_build (model_name, g_steal_pointer (&layers), g_steal_pointer (&configs), TRUE, &error);
          if (model != NULL)
            {
              built++;
              g_object_unref (model);
            }
        }
      if (error != NULL)
        {
          g_assert_true (error->domain == QS_MODEL_ERROR);
          g_assert_cmpuint (strlen (error->message), >, 0);
          g_error_free (error);
        }
      g_string_free (m, TRUE);
    }
  g_test_message ("%u of 10000 mutants parsed, %u built (config is %" G_GSIZE_FORMAT " bytes)", parsed, built, len);
  g_assert_cmpuint (parsed, >, 0);
}

/* --- quantization configs (--config, Import Config) --- */

static GError *
config_file_error (const char *path,
                   gint        code)
{
  GError *error = NULL;
  g_autoptr(QsConfig) config = qs_config_load_file (path, &error);
  g_autofree char *base = g_path_get_basename (path);

  g_assert_null (config);
  g_assert_error (error, QS_CONFIG_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, base));
  return error;
}

/* 200,000 nested arrays once overflowed json-glib's recursive parser (the stack). */
static void
test_config_deep (void)
{
  g_autofree char *path = tmp_path ("deep-config.json");
  g_autofree char *big = tmp_path ("big-config.json");
  GString *s = g_string_new ("{\"schema_version\": 1, \"layers\": ");
  g_autoptr(GError) error = NULL;
  int fd;

  for (int i = 0; i < 200000; i++)
    g_string_append_c (s, '[');
  for (int i = 0; i < 200000; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  g_assert_true (g_file_set_contents (path, s->str, s->len, NULL));
  g_string_free (s, TRUE);
  error = config_file_error (path, QS_CONFIG_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "64 levels"));
  g_clear_error (&error);

  /* Just within the limit: parsed, then refused by the schema. */
  s = g_string_new ("{\"schema_version\": 1, \"layers\": ");
  for (int i = 0; i < 63; i++)
    g_string_append_c (s, '[');
  for (int i = 0; i < 63; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  g_assert_true (g_file_set_contents (path, s->str, s->len, NULL));
  g_string_free (s, TRUE);
  g_clear_pointer (&error, g_error_free);
  error = config_file_error (path, QS_CONFIG_ERROR_SCHEMA);
  g_clear_error (&error);

  /* Size: a sparse 65 MB file is refused before it is read. */
  fd = g_open (big, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) QS_CONFIG_MAX_BYTES + 1), ==, 0);
  close (fd);
  error = config_file_error (big, QS_CONFIG_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "64 MB"));
  g_unlink (big);
}

/* 100,000 overrides: a duplicate scan per insert made this quadratic (31 s). */
static void
test_config_many_overrides (void)
{
  GString *s = g_string_new ("{\"schema_version\": 1, \"preset\": \"w8\", \"layers\": [");
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsConfig) copy = NULL;
  g_autoptr(GError) error = NULL;
  QsLayerConfig lc;
  const guint n = 100000;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "%s{\"pattern\": \"layer_%u\", \"weight\": {\"format\": \"int\", \"bits\": %u}}",
                            i ? ", " : "", i, 2 + i % 7);
  /* a repeated pattern replaces the earlier entry in place */
  g_string_append (s, ", {\"pattern\": \"layer_7\", \"weight\": {\"format\": \"fp16\"}}");
  g_string_append (s, ", {\"pattern\": \"tail*\", \"weight\": {\"format\": \"bf16\"}}]}");
  config = qs_config_new_from_json (s->str, s->len, &error);
  g_string_free (s, TRUE);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_config_get_n_overrides (config), ==, n + 1);
  qs_config_get_layer (config, "layer_99999", &lc);
  g_assert_cmpuint (lc.weight.bits, ==, 2 + 99999 % 7);
  qs_config_get_layer (config, "layer_7", &lc);
  g_assert_cmpint (lc.weight.format, ==, QS_FORMAT_FP16);
  g_assert_cmpstr (qs_config_get_override (config, 7, NULL), ==, "layer_7");
  qs_config_get_layer (config, "tail_end", &lc);
  g_assert_cmpint (lc.weight.format, ==, QS_FORMAT_BF16);
  qs_config_get_layer (config, "other", &lc);
  g_assert_cmpint (lc.weight.format, ==, QS_FORMAT_INT);
  g_assert_cmpuint (lc.weight.bits, ==, 8);

  copy = qs_config_copy (config);
  g_assert_true (qs_config_equal (config, copy));
  qs_config_clear_layer (copy, "layer_5");
  g_assert_cmpuint (qs_config_get_n_overrides (copy), ==, n);
  qs_config_get_layer (copy, "layer_5", &lc);
  g_assert_cmpuint (lc.weight.bits, ==, 8);
  qs_config_get_layer (copy, "layer_6", &lc);
  g_assert_cmpuint (lc.weight.bits, ==, 2 + 6 % 7);
  qs_config_set_layer (copy, "layer_5", &lc);
  g_assert_cmpuint (qs_config_get_n_overrides (copy), ==, n + 1);
  g_assert_cmpstr (qs_config_get_override (copy, n, NULL), ==, "layer_5");
}

/* A config file with an unknown preset once ran everything in float, silently. */
static void
test_config_unknown_names (void)
{
  static const struct { const char *json; gint code; const char *needle1, *needle2; } cases[] = {
    { "{\"schema_version\": 1, \"preset\": \"w9a9\"}", QS_CONFIG_ERROR_UNKNOWN_PRESET, "$.preset", "w9a9" },
    { "{\"schema_version\": 1, \"preset\": \"W8A8\"}", QS_CONFIG_ERROR_UNKNOWN_PRESET, "$.preset", "W8A8" },
    { "{\"schema_version\": 1, \"preset\": \"w8a8\", \"calibraton_images\": 10}", QS_CONFIG_ERROR_SCHEMA,
      "$.calibraton_images", "unknown field" },
    { "{\"schema_version\": 1, \"default\": {\"weight\": {\"format\": \"int\", \"rounding\": \"sideways\"}}}",
      QS_CONFIG_ERROR_SCHEMA, "$.default.weight.rounding", "expected one of" },
    { "{\"schema_version\": 1, \"layers\": [{\"pattern\": \"c\", \"activaton\": {}}]}", QS_CONFIG_ERROR_SCHEMA,
      "$.layers[0].activaton", NULL },
  };
  g_autofree char *path = tmp_path ("names-config.json");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (g_file_set_contents (path, cases[i].json, -1, NULL));
      error = config_file_error (path, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].needle1));
      if (cases[i].needle2 != NULL)
        g_assert_nonnull (strstr (error->message, cases[i].needle2));
    }
}

/* A FIFO as config blocked forever; saving over one replaced it with a plain file. */
static void
test_config_not_regular (void)
{
  g_autofree char *fifo = tmp_path ("config.fifo");
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8", NULL);
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  error = config_file_error (fifo, QS_CONFIG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);
  g_assert_false (qs_config_save_file (config, fifo, &error));
  g_assert_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_assert_cmpint (g_stat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_unlink (fifo);
}

/* --- datasets, and files that are not files --- */

static void
write_idx (const char    *path,
           guint          n_dims,
           const guint32 *dims,
           gsize          payload,
           gboolean       gzip)
{
  g_autoptr(GByteArray) a = g_byte_array_new ();
  guint8 head[4] = { 0, 0, 0x08, (guint8) n_dims };
  g_autofree guint8 *zeros = g_malloc0 (MAX (payload, 1));

  g_byte_array_append (a, head, 4);
  for (guint i = 0; i < n_dims; i++)
    {
      guint8 d[4] = { dims[i] >> 24, dims[i] >> 16, dims[i] >> 8, dims[i] };
      g_byte_array_append (a, d, 4);
    }
  g_byte_array_append (a, zeros, payload);
  if (gzip)
    {
      g_autoptr(GZlibCompressor) comp = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
      g_autoptr(GInputStream) mem = g_memory_input_stream_new_from_data (a->data, a->len, NULL);
      g_autoptr(GInputStream) conv = g_converter_input_stream_new (mem, G_CONVERTER (comp));
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

      g_assert_cmpint (g_output_stream_splice (out, conv, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, NULL), >, 0);
      g_assert_true (g_file_set_contents (path, g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out)),
                                          g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)), NULL));
    }
  else
    g_assert_true (g_file_set_contents (path, (const char *) a->data, a->len, NULL));
}

static GError *
dataset_error (const char *spec,
               gint        code,
               const char *needle1,
               const char *needle2)
{
  GError *error = NULL;
  g_autoptr(QsDataset) dataset = qs_dataset_open (spec, &error);
  g_autofree char *base = g_path_get_basename (spec);

  g_assert_null (dataset);
  g_assert_error (error, QS_DATASET_ERROR, code);
  g_test_message ("%s", error->message);
  if (strchr (base, ':') != NULL)
    *strchr (base, ':') = '\0';
  g_assert_nonnull (strstr (error->message, base));
  if (needle1 != NULL)
    g_assert_nonnull (strstr (error->message, needle1));
  if (needle2 != NULL)
    g_assert_nonnull (strstr (error->message, needle2));
  return error;
}

/* An IDX file with 0 images: the pixel copy once read a byte past the end of the file's data. */
static void
test_idx_zero_images (void)
{
  g_autofree char *images = tmp_path ("zero-images-idx3-ubyte");
  g_autofree char *labels = tmp_path ("zero-labels-idx1-ubyte");
  g_autoptr(GError) error = NULL;

  write_idx (images, 3, (guint32[]) { 0, 28, 28 }, 0, FALSE);
  write_idx (labels, 1, (guint32[]) { 0 }, 0, FALSE);
  error = dataset_error (images, QS_DATASET_ERROR_FORMAT, "declares 0 images", NULL);
  g_unlink (images);
  g_unlink (labels);
}

/* A small gzip file that inflates past what its header declares stops at the header's size. */
static void
test_idx_inflates_too_much (void)
{
  g_autofree char *images = tmp_path ("bomb-images-idx3-ubyte.gz");
  g_autofree char *labels = tmp_path ("bomb-labels-idx1-ubyte.gz");
  g_autofree char *plain = tmp_path ("long-images-idx3-ubyte");
  g_autofree char *plain_labels = tmp_path ("long-labels-idx1-ubyte");
  g_autoptr(GError) error = NULL;

  /* 2 images of 2x2 (8 bytes) followed by 32 MB of zeros (32 KB compressed) */
  write_idx (images, 3, (guint32[]) { 2, 2, 2 }, 8 + (32 << 20), TRUE);
  write_idx (labels, 1, (guint32[]) { 2 }, 2, TRUE);
  error = dataset_error (images, QS_DATASET_ERROR_FORMAT, "decompresses to more than the 24 bytes", NULL);
  g_clear_error (&error);
  write_idx (plain, 3, (guint32[]) { 2, 2, 2 }, 9, FALSE);
  write_idx (plain_labels, 1, (guint32[]) { 2 }, 2, FALSE);
  error = dataset_error (plain, QS_DATASET_ERROR_FORMAT, "longer than the 24 bytes", NULL);
  g_clear_error (&error);
  /* exactly what the header declares loads */
  write_idx (images, 3, (guint32[]) { 2, 2, 2 }, 8, TRUE);
  {
    g_autoptr(QsDataset) ok = qs_dataset_open (images, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (qs_dataset_get_n_images (ok), ==, 2);
  }
  g_unlink (images);
  g_unlink (labels);
  g_unlink (plain);
  g_unlink (plain_labels);
}

static void
write_h5_images (const char   *path,
                 const double *labels,
                 guint         n)
{
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t xd[3] = { n, 4, 4 }, yd[1] = { n };
  g_autofree guint8 *pixels = g_malloc0 (n * 16);
  hid_t space, dset;

  space = H5Screate_simple (3, xd, NULL);
  dset = H5Dcreate2 (file, "x_test", H5T_NATIVE_UINT8, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite (dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels);
  H5Dclose (dset);
  H5Sclose (space);
  space = H5Screate_simple (1, yd, NULL);
  dset = H5Dcreate2 (file, "y_test", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels);
  H5Dclose (dset);
  H5Sclose (space);
  H5Fclose (file);
}

/* NaN labels once became a class count of billions (a 17 GB allocation). */
static void
test_h5_bad_labels (void)
{
  g_autofree char *path = tmp_path ("labels.h5");
  const double bad[][3] = { { 0, NAN, 1 }, { 0, 1, INFINITY }, { 2.5, 0, 1 }, { 0, 1, 70000 }, { 0, -1, 1 } };
  const char *index[] = { "label 1", "label 2", "label 0", "label 2", "label 1" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      write_h5_images (path, bad[i], 3);
      error = dataset_error (path, QS_DATASET_ERROR_FORMAT, "y_test", index[i]);
      g_assert_nonnull (strstr (error->message, "0 to 65535"));
    }
  {
    const double good[] = { 0, 9, 3 };
    g_autoptr(GError) error = NULL;
    g_autoptr(QsDataset) ok = NULL;

    write_h5_images (path, good, 3);
    ok = qs_dataset_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (qs_dataset_get_n_classes (ok), ==, 10);
  }
  g_unlink (path);
}

/* --dataset /dev/zero read until memory ran out; a FIFO as model, architecture or dataset
 * blocked forever. */
static void
test_not_regular (void)
{
  g_autofree char *fifo = tmp_path ("model.h5");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  error = dataset_error ("/dev/zero", QS_DATASET_ERROR_NOT_FOUND, "not a regular file", "character device");
  g_clear_error (&error);
  error = dataset_error (fifo, QS_DATASET_ERROR_NOT_FOUND, "not a regular file", "named pipe");
  g_clear_error (&error);
  expect_error (fifo, QS_MODEL_ERROR_NOT_FOUND, "not a regular file", NULL);
  expect_error ("/dev/zero", QS_MODEL_ERROR_NOT_FOUND, "not a regular file", NULL);
  error = load_error (valid_path, fifo);
  g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "Architecture"));
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);
  error = load_error (tmp_dir, NULL);
  g_assert_nonnull (strstr (error->message, "folder"));
  g_unlink (fifo);
}

/* A dataset compressed with a filter HDF5 lacks once made it dlopen () every library in its
 * plugin folder. The filter is optional here, so HDF5 stores the chunks unfiltered and
 * reading would succeed without it: only the check refuses. */
static void
test_unknown_filter (void)
{
  g_autofree char *model = tmp_path ("filtered.h5");
  g_autofree char *data = tmp_path ("filtered-data.h5");
  g_autoptr(GError) error = NULL;
  hid_t file, dcpl, space, dset;
  hsize_t dims[1] = { 8 }, chunk[1] = { 8 };
  float values[8] = { 0 };
  const double labels[3] = { 0, 1, 2 };

  g_assert_cmpint (H5Zfilter_avail (32123), ==, 0);
  file = H5Fcreate (model, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  dcpl = H5Pcreate (H5P_DATASET_CREATE);
  H5Pset_chunk (dcpl, 1, chunk);
  g_assert_cmpint (H5Pset_filter (dcpl, 32123, H5Z_FLAG_OPTIONAL, 0, NULL), >=, 0);
  space = H5Screate_simple (1, dims, NULL);
  dset = H5Dcreate2 (file, "fc.weight", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  g_assert_cmpint (dset, >=, 0);
  H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
  H5Dclose (dset);
  H5Sclose (space);
  H5Fclose (file);
  expect_error (model, QS_MODEL_ERROR_UNSUPPORTED, "filter 32123", "not available");

  write_h5_images (data, labels, 3);
  file = H5Fopen (data, H5F_ACC_RDWR, H5P_DEFAULT);
  H5Ldelete (file, "y_test", H5P_DEFAULT);
  dims[0] = chunk[0] = 3;
  H5Pset_chunk (dcpl, 1, chunk);
  space = H5Screate_simple (1, dims, NULL);
  dset = H5Dcreate2 (file, "y_test", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Dwrite (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels);
  H5Dclose (dset);
  H5Sclose (space);
  H5Fclose (file);
  H5Pclose (dcpl);
  error = dataset_error (data, QS_DATASET_ERROR_FORMAT, "filter 32123", "y_test");
  g_unlink (model);
  g_unlink (data);
}

static void
write_nested (const char *path,
              guint       depth,
              gboolean    cycle)
{
  hid_t file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t group = H5Gopen2 (file, "/", H5P_DEFAULT);

  for (guint i = 0; i < depth; i++)
    {
      hid_t child = H5Gcreate2 (group, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      H5Gclose (group);
      group = child;
    }
  write_float_dataset (group, "w", H5P_DEFAULT, 4);
  if (cycle)
    {
      /* hard links back up: a cycle, and a second way into the same group */
      g_assert_cmpint (H5Lcreate_hard (file, "/", group, "up", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
      g_assert_cmpint (H5Lcreate_hard (file, "/g", file, "again", H5P_DEFAULT, H5P_DEFAULT), >=, 0);
    }
  H5Gclose (group);
  H5Fclose (file);
}

/* 2,000 nested groups took 30 s to describe: the walk stops at QS_MODEL_MAX_GROUP_DEPTH. */
static void
test_nested_groups (void)
{
  g_autofree char *deep = tmp_path ("deep-groups.h5");
  g_autofree char *ok = tmp_path ("nested-groups.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  gint64 start;

  write_nested (deep, 2000, FALSE);
  start = g_get_monotonic_time ();
  expect_error (deep, QS_MODEL_ERROR_TOO_LARGE, "nested more than 64 deep", "g/g/g");
  g_test_message ("refused in %.3f s", (g_get_monotonic_time () - start) / 1e6);

  write_nested (ok, 60, TRUE);
  model = qs_model_load (ok, NULL, NULL, &error);
  g_assert_no_error (error);
  /* listed once, by "again/g/...": "g" is the same group */
  g_assert_cmpuint (qs_model_get_n_params (model), ==, 4);
  g_unlink (deep);
  g_unlink (ok);
}

/* Writes a .keras archive of the valid model (weights stored, not deflated) and returns
 * its bytes. */
static GBytes *
valid_keras_zip (const char *path)
{
  int err = 0;
  zip_t *z = zip_open (path, ZIP_CREATE | ZIP_TRUNCATE, &err);
  zip_int64_t index;
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_nonnull (z);
  zip_file_add (z, "config.json", zip_source_buffer (z, valid_config, strlen (valid_config), 0), ZIP_FL_OVERWRITE);
  zip_file_add (z, "metadata.json", zip_source_buffer (z, "{\"keras_version\": \"3.1.0\"}", 26, 0), ZIP_FL_OVERWRITE);
  index = zip_file_add (z, "model.weights.h5", zip_source_file (z, valid_path, 0, -1), ZIP_FL_OVERWRITE);
  g_assert_cmpint (index, >=, 0);
  zip_set_file_compression (z, index, ZIP_CM_STORE, 0);
  g_assert_cmpint (zip_close (z), ==, 0);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_bytes_new_take (g_steal_pointer (&contents), len);
}

/* Offsets of the local and the central header of `member` in a zip image. */
static void
find_headers (const guint8 *p,
              gsize         len,
              const char   *member,
              gsize        *local,
              gsize        *central)
{
  gsize n = strlen (member);

  *local = *central = 0;
  for (gsize i = 0; i + 46 + n <= len; i++)
    {
      if (memcmp (p + i, "PK\003\004", 4) == 0 && memcmp (p + i + 30, member, n) == 0)
        *local = i;
      if (memcmp (p + i, "PK\001\002", 4) == 0 && memcmp (p + i + 46, member, n) == 0)
        *central = i;
    }
  g_assert_cmpuint (*central, >, 0);
}

/* A member with a wrong CRC must not load (libzip checks it at the end of the stream, which
 * a read of exactly the declared size never reached); a member that claims to inflate more
 * than 1000:1 is refused as a zip bomb before it is read. */
static void
test_keras_zip_integrity (void)
{
  g_autofree char *good = tmp_path ("good.keras");
  g_autofree char *crc = tmp_path ("crc.keras");
  g_autofree char *bomb = tmp_path ("bomb.keras");
  g_autofree char *liar = tmp_path ("liar.keras");
  g_autoptr(GBytes) bytes = valid_keras_zip (good);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  gsize len, local, central;
  g_autofree guint8 *p = g_memdup2 (g_bytes_get_data (bytes, &len), g_bytes_get_size (bytes));

  model = qs_model_load (good, NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&model);

  /* CRC-32 at offset 14 of the local header and 16 of the central one */
  find_headers (p, len, "model.weights.h5", &local, &central);
  p[local + 14] ^= 0x5a;
  p[central + 16] ^= 0x5a;
  g_assert_true (g_file_set_contents (crc, (const char *) p, len, NULL));
  expect_error (crc, QS_MODEL_ERROR_CORRUPT, "model.weights.h5", "CRC");

  /* 64 MB of zeros: deflate packs them about 1030:1 */
  {
    int err = 0;
    zip_t *z = zip_open (bomb, ZIP_CREATE | ZIP_TRUNCATE, &err);
    gsize n = (gsize) 64 << 20;

    zip_file_add (z, "config.json", zip_source_buffer (z, valid_config, strlen (valid_config), 0), ZIP_FL_OVERWRITE);
    zip_file_add (z, "model.weights.h5", zip_source_buffer (z, g_malloc0 (n), n, 1), ZIP_FL_OVERWRITE);
    g_assert_cmpint (zip_close (z), ==, 0);
  }
  expect_error (bomb, QS_MODEL_ERROR_TOO_LARGE, "model.weights.h5", "zip bomb");

  /* a header that lies: 3 GB declared for the stored weights (uncompressed size at 22 / 24) */
  find_headers (p, len, "model.weights.h5", &local, &central);
  p[local + 14] ^= 0x5a;
  p[central + 16] ^= 0x5a;
  p[central + 24 + 3] = 0xb0;
  p[local + 22 + 3] = 0xb0;
  g_assert_true (g_file_set_contents (liar, (const char *) p, len, NULL));
  expect_error (liar, QS_MODEL_ERROR_TOO_LARGE, "model.weights.h5", "zip bomb");
  g_unlink (good);
  g_unlink (crc);
  g_unlink (bomb);
  g_unlink (liar);
}

/* Sets the weight_names of layer `layer` in a copy of the valid model, and adds the dataset
 * `extra` (4 floats) to its group. */
static void
add_extra_weight (const char         *path,
                  const char         *layer,
                  const char * const *names,
                  const char         *extra)
{
  hid_t file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  g_autofree char *group_path = g_strdup_printf ("model_weights/%s", layer);
  hid_t group = H5Gopen2 (file, group_path, H5P_DEFAULT);
  hid_t type = H5Tcopy (H5T_C_S1);
  hid_t lcpl = H5Pcreate (H5P_LINK_CREATE);
  hsize_t n = g_strv_length ((char **) names), dims[1] = { 4 };
  hid_t space = H5Screate_simple (1, &n, NULL);
  float zeros[4] = { 0 };
  hid_t attr, d;

  g_assert_cmpint (group, >=, 0);
  H5Tset_size (type, H5T_VARIABLE);
  H5Adelete (group, "weight_names");
  attr = H5Acreate2 (group, "weight_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (H5Awrite (attr, type, names), >=, 0);
  H5Aclose (attr);
  H5Sclose (space);
  H5Pset_create_intermediate_group (lcpl, 1);
  space = H5Screate_simple (1, dims, NULL);
  d = H5Dcreate2 (group, extra, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (d, >=, 0);
  H5Dwrite (d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
  H5Dclose (d);
  H5Sclose (space);
  H5Pclose (lcpl);
  H5Tclose (type);
  H5Gclose (group);
  H5Fclose (file);
}

/* A kernel on a layer without weights (and a weight a Dense layer does not use) was ignored. */
static void
test_extra_weights (void)
{
  g_autofree char *flat = copy_valid ("extra-flat.h5");
  g_autofree char *dense = copy_valid ("extra-dense.h5");
  const char * const flat_names[] = { "flat/kernel:0", NULL };
  const char * const dense_names[] = { "dense/kernel:0", "dense/bias:0", "dense/gamma:0", NULL };

  add_extra_weight (flat, "flat", flat_names, "flat/kernel:0");
  expect_error (flat, QS_MODEL_ERROR_SHAPE_MISMATCH, "“flat”", "flat/kernel");
  add_extra_weight (dense, "dense", dense_names, "dense/gamma:0");
  expect_error (dense, QS_MODEL_ERROR_SHAPE_MISMATCH, "“dense”", "dense/gamma");
}

/* -o /dev/full (as root) once replaced the device node with a plain file and reported
 * success, and saving over the file a model came from destroyed it silently. A FIFO stands
 * in for the device here. */
static void
test_save_targets (void)
{
  g_autofree char *fifo = tmp_path ("out.fifo");
  g_autofree char *input = copy_valid ("input.h5");
  g_autofree char *out = tmp_path ("out.h5");
  g_autofree char *link = tmp_path ("input-link.h5");
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = qs_model_load (input, NULL, NULL, &error);
  gsize before_len = 0, after_len = 0;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_false (qs_model_save (model, fifo, NULL, &error));
  g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_assert_nonnull (strstr (error->message, "out.fifo"));
  g_assert_cmpint (g_stat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_clear_error (&error);

  g_assert_true (g_file_get_contents (input, &before, &before_len, NULL));
  g_assert_cmpint (symlink (input, link), ==, 0);
  g_assert_false (qs_model_save (model, input, NULL, &error));
  g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE);
  g_assert_nonnull (strstr (error->message, "input.h5"));
  g_assert_nonnull (strstr (error->message, "loaded from"));
  g_clear_error (&error);
  g_assert_false (qs_model_save (model, link, NULL, &error));
  g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (input, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);

  /* a new path, then the same path again (a regular file): both fine */
  g_assert_true (qs_model_save (model, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qs_model_save (model, out, NULL, &error));
  g_assert_no_error (error);
  g_unlink (fifo);
  g_unlink (link);
  g_unlink (input);
  g_unlink (out);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(QsModel) valid = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  tmp_dir = g_dir_make_tmp ("qs-hostile-XXXXXX", NULL);
  valid_path = tmp_path ("valid.h5");
  valid = small_model (0.5f);
  g_assert_true (qs_model_save (valid, valid_path, NULL, NULL));
  {
    hid_t file = H5Fopen (valid_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t attr = H5Aopen (file, "model_config", H5P_DEFAULT);
    hid_t type = H5Aget_type (attr);
    char *s = NULL;
    H5Aread (attr, type, &s);
    valid_config = g_strdup (s);
    H5free_memory (s);
    H5Tclose (type);
    H5Aclose (attr);
    H5Fclose (file);
  }

  g_test_add_func ("/qs/hostile/not-a-model", test_not_model);
  g_test_add_func ("/qs/hostile/truncated", test_truncated);
  g_test_add_func ("/qs/hostile/mangled", test_mangled);
  g_test_add_func ("/qs/hostile/text-converted", test_text_converted);
  g_test_add_func ("/qs/hostile/missing-dataset", test_missing_dataset);
  g_test_add_func ("/qs/hostile/missing-group", test_missing_group);
  g_test_add_func ("/qs/hostile/config-errors", test_config_errors);
  g_test_add_func ("/qs/hostile/nonfinite-weights", test_nonfinite);
  g_test_add_func ("/qs/hostile/external", test_external);
  g_test_add_func ("/qs/hostile/absurd-dataset", test_absurd_dataset);
  g_test_add_func ("/qs/hostile/bad-weight-type", test_bad_weight_type);
  g_test_add_func ("/qs/hostile/generic-hdf5", test_generic_hdf5);
  g_test_add_func ("/qs/hostile/keras-zip", test_keras_zip);
  g_test_add_func ("/qs/hostile/config-mutations", test_config_mutations);
  g_test_add_func ("/qs/hostile/config-deep", test_config_deep);
  g_test_add_func ("/qs/hostile/config-many-overrides", test_config_many_overrides);
  g_test_add_func ("/qs/hostile/config-unknown-names", test_config_unknown_names);
  g_test_add_func ("/qs/hostile/config-not-regular", test_config_not_regular);
  g_test_add_func ("/qs/hostile/idx-zero-images", test_idx_zero_images);
  g_test_add_func ("/qs/hostile/idx-inflates-too-much", test_idx_inflates_too_much);
  g_test_add_func ("/qs/hostile/h5-bad-labels", test_h5_bad_labels);
  g_test_add_func ("/qs/hostile/not-regular", test_not_regular);
  g_test_add_func ("/qs/hostile/unknown-filter", test_unknown_filter);
  g_test_add_func ("/qs/hostile/nested-groups", test_nested_groups);
  g_test_add_func ("/qs/hostile/keras-zip-integrity", test_keras_zip_integrity);
  g_test_add_func ("/qs/hostile/extra-weights", test_extra_weights);
  g_test_add_func ("/qs/hostile/save-targets", test_save_targets);
  status = g_test_run ();

  {
    g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *p = g_build_filename (tmp_dir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (tmp_dir);
  }
  g_free (tmp_dir);
  g_free (valid_path);
  g_free (valid_config);
  return status;
}
