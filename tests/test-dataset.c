/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <hdf5.h>

#include "quantscope-core.h"

/* Datasets: the bundled sample, IDX files written here (plain and gzip), HDF5 image files,
 * input reshaping to the model, and broken files. */

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static GBytes *
idx_bytes (guint          n_dims,
           const guint32 *dims,
           const guint8  *data,
           gsize          n_data)
{
  GByteArray *a = g_byte_array_new ();
  guint8 head[4] = { 0, 0, 0x08, (guint8) n_dims };

  g_byte_array_append (a, head, 4);
  for (guint i = 0; i < n_dims; i++)
    {
      guint8 d[4] = { dims[i] >> 24, dims[i] >> 16, dims[i] >> 8, dims[i] };
      g_byte_array_append (a, d, 4);
    }
  g_byte_array_append (a, data, n_data);
  return g_byte_array_free_to_bytes (a);
}

static void
write_file (const char *path,
            GBytes     *bytes,
            gboolean    gzip)
{
  g_autoptr(GError) error = NULL;

  if (gzip)
    {
      g_autoptr(GZlibCompressor) comp = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
      g_autoptr(GInputStream) mem = g_memory_input_stream_new_from_bytes (bytes);
      g_autoptr(GInputStream) conv = g_converter_input_stream_new (mem, G_CONVERTER (comp));
      g_autoptr(GFile) file = g_file_new_for_path (path);
      g_autoptr(GFileOutputStream) out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
      g_assert_no_error (error);
      g_output_stream_splice (G_OUTPUT_STREAM (out), conv,
                              G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                              NULL, &error);
      g_assert_no_error (error);
    }
  else
    {
      g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
      g_assert_no_error (error);
    }
}

static QsModel *
mlp_model (guint        rank,
           const gsize *shape,
           gsize        n_in)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
  QsLayer *flat = qs_layer_new ("flat", "Flatten", QS_LAYER_FLATTEN);
  QsLayer *d = qs_layer_new ("d", "Dense", QS_LAYER_DENSE);

  in->output_rank = rank;
  memcpy (in->output_shape, shape, rank * sizeof (gsize));
  g_ptr_array_add (layers, in);
  flat->n_inputs = 1;
  flat->inputs = g_new0 (guint, 1);
  g_ptr_array_add (layers, flat);
  d->units = 2;
  d->n_inputs = 1;
  d->inputs = g_new (guint, 1);
  d->inputs[0] = 1;
  g_ptr_array_add (d->weights, qs_tensor_new ("d/kernel", 2, (gsize[]) { n_in, 2 }, NULL));
  g_ptr_array_add (d->weights, qs_tensor_new ("d/bias", 1, (gsize[]) { 2 }, NULL));
  g_ptr_array_add (layers, d);
  return qs_model_new_from_layers ("mlp", layers, NULL);
}

static void
test_sample (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) ds = qs_dataset_open ("sample", &error);
  gsize h, w, c;
  guint counts[10] = { 0 };
  g_autoptr(QsModel) m1 = mlp_model (3, (gsize[]) { 28, 28, 1 }, 784);
  g_autoptr(QsModel) m2 = mlp_model (2, (gsize[]) { 28, 28 }, 784);
  g_autoptr(QsModel) m3 = mlp_model (1, (gsize[]) { 784 }, 784);
  g_autoptr(QsModel) bad = mlp_model (3, (gsize[]) { 32, 32, 3 }, 3072);
  float a[784 * 2], b[784 * 2];
  const guint8 *px;

  g_assert_no_error (error);
  g_assert_cmpuint (qs_dataset_get_n_images (ds), ==, 10000);
  /* People read the data set's name in words, never the spec "sample". */
  g_assert_cmpstr (qs_dataset_get_name (ds), ==, "sample");
  g_assert_cmpstr (qs_dataset_get_display_name (ds), ==, "Fashion-MNIST test set");
  qs_dataset_get_image_shape (ds, &h, &w, &c);
  g_assert_cmpuint (h, ==, 28);
  g_assert_cmpuint (w, ==, 28);
  g_assert_cmpuint (c, ==, 1);
  g_assert_cmpuint (qs_dataset_get_n_classes (ds), ==, 10);
  g_assert_cmpstr (qs_dataset_get_class_name (ds, 0), ==, "T-shirt/top");
  g_assert_cmpstr (qs_dataset_get_class_name (ds, 9), ==, "Ankle boot");
  /* Fashion-MNIST t10k: first labels 9, 2, 1; 1,000 images per class. */
  g_assert_cmpint (qs_dataset_get_label (ds, 0), ==, 9);
  g_assert_cmpint (qs_dataset_get_label (ds, 1), ==, 2);
  g_assert_cmpint (qs_dataset_get_label (ds, 2), ==, 1);
  for (guint i = 0; i < 10000; i++)
    counts[qs_dataset_get_label (ds, i)]++;
  for (guint k = 0; k < 10; k++)
    g_assert_cmpuint (counts[k], ==, 1000);

  /* 28x28x1, 28x28 and 784 inputs receive the same values; x/255 by default. */
  px = qs_dataset_get_pixels (ds, 5);
  g_assert_true (qs_dataset_fill_inputs (ds, m1, 5, 2, a, &error));
  for (int i = 0; i < 784; i++)
    g_assert_cmpfloat (a[i], ==, px[i] / 255.0f);
  g_assert_true (qs_dataset_fill_inputs (ds, m2, 5, 2, b, &error));
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  g_assert_true (qs_dataset_fill_inputs (ds, m3, 5, 2, b, &error));
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  g_assert_no_error (error);

  /* Mean/std normalisation through scale and offset. */
  qs_dataset_set_scaling (ds, 1.0f / (255.0f * 0.5f), -0.2f / 0.5f);
  g_assert_true (qs_dataset_fill_inputs (ds, m1, 5, 1, b, &error));
  for (int i = 0; i < 784; i++)
    g_assert_cmpfloat_with_epsilon (b[i], (px[i] / 255.0 - 0.2) / 0.5, 1e-6);

  g_assert_false (qs_dataset_fill_inputs (ds, bad, 0, 1, b, &error));
  g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "32, 32, 3"));
  g_clear_error (&error);
  g_assert_false (qs_dataset_fill_inputs (ds, m1, 9999, 2, b, &error));
  g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_SHAPE);
}

static void
test_sample_train (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) ds = qs_dataset_open ("sample-train", &error);
  g_autoptr(QsDataset) full = NULL;
  gboolean installed = g_file_test (QS_DATA_SYSTEM_FMNIST_DIR "/train-images-idx3-ubyte.gz",
                                    G_FILE_TEST_EXISTS);

  /* always the bundled subset, whatever else is installed */
  g_assert_no_error (error);
  g_assert_cmpuint (qs_dataset_get_n_images (ds), ==, 10000);
  g_assert_cmpstr (qs_dataset_get_class_name (ds, 1), ==, "Trouser");
  g_assert_cmpstr (qs_dataset_get_display_name (ds), ==, "Fashion-MNIST training sample");

  full = qs_dataset_open ("sample-train-full", &error);
  if (installed)
    {
      g_assert_no_error (error);
      g_assert_cmpuint (qs_dataset_get_n_images (full), ==, 60000);
    }
  else
    {
      g_assert_null (full);
      g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND);
      g_assert_nonnull (strstr (error->message, "dataset-fashion-mnist"));
    }
}

static void
test_idx (void)
{
  const guint8 pixels[3 * 2 * 2] = { 0, 255, 10, 20, 1, 2, 3, 4, 200, 100, 50, 25 };
  const guint8 labels[3] = { 4, 0, 7 };
  const guint32 idims[3] = { 3, 2, 2 }, ldims[1] = { 3 };
  g_autoptr(GBytes) ib = idx_bytes (3, idims, pixels, sizeof pixels);
  g_autoptr(GBytes) lb = idx_bytes (1, ldims, labels, sizeof labels);

  for (int gz = 0; gz < 2; gz++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *ip = tmp_path (gz ? "tiny-images-idx3-ubyte.gz" : "tiny-images-idx3-ubyte");
      g_autofree char *lp = tmp_path (gz ? "tiny-labels-idx1-ubyte.gz" : "tiny-labels-idx1-ubyte");
      g_autoptr(QsDataset) ds = NULL;

      write_file (ip, ib, gz);
      write_file (lp, lb, gz);
      ds = qs_dataset_open (ip, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (qs_dataset_get_n_images (ds), ==, 3);
      g_assert_cmpint (qs_dataset_get_label (ds, 2), ==, 7);
      g_assert_cmpuint (qs_dataset_get_n_classes (ds), ==, 8);
      g_assert_cmpstr (qs_dataset_get_class_name (ds, 7), ==, "7");
      g_assert_cmpmem (qs_dataset_get_pixels (ds, 1), 4, pixels + 4, 4);
      /* a file is shown by its name */
      g_assert_cmpstr (qs_dataset_get_display_name (ds), ==, qs_dataset_get_name (ds));
      g_assert_true (g_str_has_suffix (ip, qs_dataset_get_display_name (ds)));
    }

  /* Truncated images, label count mismatch, missing labels, bad magic. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *ip = tmp_path ("trunc-images-idx3-ubyte");
    g_autofree char *lp = tmp_path ("trunc-labels-idx1-ubyte");
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes (ib, 0, g_bytes_get_size (ib) - 3);
    g_autoptr(QsDataset) ds = NULL;

    write_file (ip, cut, FALSE);
    write_file (lp, lb, FALSE);
    ds = qs_dataset_open (ip, &error);
    g_assert_null (ds);
    g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "trunc-images"));
  }
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *ip = tmp_path ("mism-images-idx3-ubyte");
    g_autofree char *lp = tmp_path ("mism-labels-idx1-ubyte");
    const guint32 two[1] = { 2 };
    g_autoptr(GBytes) lb2 = idx_bytes (1, two, labels, 2);
    g_autoptr(QsDataset) ds = NULL;

    write_file (ip, ib, FALSE);
    write_file (lp, lb2, FALSE);
    ds = qs_dataset_open (ip, &error);
    g_assert_null (ds);
    g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *ip = tmp_path ("lonely-images-idx3-ubyte");
    g_autoptr(QsDataset) ds = NULL;

    write_file (ip, ib, FALSE);
    ds = qs_dataset_open (ip, &error);
    g_assert_null (ds);
    g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *ip = tmp_path ("text-images-idx3-ubyte");
    g_autoptr(GBytes) text = g_bytes_new_static ("hello, world\n", 13);
    g_autoptr(QsDataset) ds = NULL;

    write_file (ip, text, FALSE);
    ds = qs_dataset_open (ip, &error);
    g_assert_null (ds);
    g_assert_nonnull (error);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QsDataset) ds = qs_dataset_open ("/nonexistent/images-idx3-ubyte", &error);
    g_assert_null (ds);
    g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND);
  }
}

static void
test_hdf5 (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("data.h5");
  g_autoptr(QsDataset) ds = NULL;
  float x[4 * 3 * 3];
  gint64 y[4][3] = { { 0, 1, 0 }, { 1, 0, 0 }, { 0, 0, 1 }, { 0, 1, 0 } };
  hsize_t xd[3] = { 4, 3, 3 }, yd[2] = { 4, 3 };
  hid_t file, space, dset;

  for (guint i = 0; i < G_N_ELEMENTS (x); i++)
    x[i] = (float) i / (G_N_ELEMENTS (x) - 1);
  file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  space = H5Screate_simple (3, xd, NULL);
  dset = H5Dcreate2 (file, "x_test", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
  H5Dclose (dset);
  H5Sclose (space);
  space = H5Screate_simple (2, yd, NULL);
  dset = H5Dcreate2 (file, "y_test", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite (dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, y);
  H5Dclose (dset);
  H5Sclose (space);
  H5Fclose (file);

  ds = qs_dataset_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_dataset_get_n_images (ds), ==, 4);
  /* One-hot labels become class indices. */
  g_assert_cmpint (qs_dataset_get_label (ds, 0), ==, 1);
  g_assert_cmpint (qs_dataset_get_label (ds, 2), ==, 2);
  g_assert_cmpuint (qs_dataset_get_n_classes (ds), ==, 3);
  /* Float data is fed as stored; the byte pixels are a min-max rendering. */
  g_assert_cmpuint (qs_dataset_get_pixels (ds, 3)[8], ==, 255);
  g_assert_cmpuint (qs_dataset_get_pixels (ds, 0)[0], ==, 0);
  {
    gsize shape[1] = { 9 };
    g_autoptr(QsModel) model = NULL;
    GPtrArray *layers = g_ptr_array_new ();
    QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
    QsLayer *d = qs_layer_new ("d", "Dense", QS_LAYER_DENSE);
    float got[2 * 9];

    in->output_rank = 1;
    in->output_shape[0] = shape[0];
    g_ptr_array_add (layers, in);
    d->units = 3;
    d->n_inputs = 1;
    d->inputs = g_new0 (guint, 1);
    g_ptr_array_add (d->weights, qs_tensor_new ("d/kernel", 2, (gsize[]) { 9, 3 }, NULL));
    g_ptr_array_add (d->weights, qs_tensor_new ("d/bias", 1, (gsize[]) { 3 }, NULL));
    g_ptr_array_add (layers, d);
    model = qs_model_new_from_layers ("m", layers, &error);
    g_assert_no_error (error);
    g_assert_true (qs_dataset_fill_inputs (ds, model, 1, 2, got, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (got, sizeof got, x + 9, sizeof got);
  }

  /* Dataset names given in the spec. */
  {
    g_autofree char *spec = g_strdup_printf ("%s:x_test,y_test", path);
    g_autofree char *wrong = g_strdup_printf ("%s:pics,tags", path);
    g_autoptr(QsDataset) named = qs_dataset_open (spec, &error);
    g_autoptr(QsDataset) missing = NULL;
    g_assert_no_error (error);
    g_assert_cmpuint (qs_dataset_get_n_images (named), ==, 4);
    missing = qs_dataset_open (wrong, &error);
    g_assert_null (missing);
    g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "pics"));
  }
}

static void
test_hdf5_bytes (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("bytes.h5");
  g_autoptr(QsDataset) ds = NULL;
  guint8 x[3][2][2] = { { { 0, 255 }, { 7, 8 } }, { { 1, 2 }, { 3, 4 } }, { { 9, 9 }, { 9, 9 } } };
  guint8 y[3] = { 5, 0, 2 };
  hsize_t xd[3] = { 3, 2, 2 }, yd[1] = { 3 };
  hid_t file, space, dset;

  file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  space = H5Screate_simple (3, xd, NULL);
  dset = H5Dcreate2 (file, "images", H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite (dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
  H5Dclose (dset);
  H5Sclose (space);
  space = H5Screate_simple (1, yd, NULL);
  dset = H5Dcreate2 (file, "labels", H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite (dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, y);
  H5Dclose (dset);
  H5Sclose (space);
  H5Fclose (file);

  ds = qs_dataset_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_dataset_get_n_images (ds), ==, 3);
  g_assert_cmpint (qs_dataset_get_label (ds, 0), ==, 5);
  g_assert_cmpuint (qs_dataset_get_n_classes (ds), ==, 6);
  g_assert_cmpmem (qs_dataset_get_pixels (ds, 0), 4, x[0], 4);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  tmp_dir = g_dir_make_tmp ("qs-dataset-XXXXXX", NULL);

  g_test_add_func ("/qs/dataset/sample", test_sample);
  g_test_add_func ("/qs/dataset/sample-train", test_sample_train);
  g_test_add_func ("/qs/dataset/idx", test_idx);
  g_test_add_func ("/qs/dataset/hdf5", test_hdf5);
  g_test_add_func ("/qs/dataset/hdf5-bytes", test_hdf5_bytes);
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
  return status;
}
