/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "quantscope-core.h"

/* Real Keras files from ../shared/models (skipped when absent): every format loads, the
 * float engine reproduces an independent NumPy forward pass (argmax exactly, probabilities
 * to 1e-5), and a loaded-then-saved model round-trips bit-exactly. */

#define N_GOLDEN 100

typedef struct
{
  const char    *file;
  const char    *architecture;  /* nullable */
  const char    *golden;        /* key in golden-outputs.json, nullable */
  QsModelFormat  format;
  const char    *keras_version; /* nullable: not checked */
  gboolean       can_infer;
} RealFile;

static const RealFile real_files[] = {
  { "TimOgden__FashionMNIST-Tutorial-__fashion_mnist.h5", NULL,
    "TimOgden__FashionMNIST-Tutorial-__fashion_mnist.h5", QS_MODEL_FORMAT_KERAS2_MODEL, "2.1.6-tf", TRUE },
  { "Muhtashim009__Fashion_mnist_cnn__fashion_mnist_model.h5", NULL,
    "Muhtashim009__Fashion_mnist_cnn__fashion_mnist_model.h5", QS_MODEL_FORMAT_KERAS2_MODEL, "2.4.0", TRUE },
  { "MrEliptik__Keras_to_TF_NCS2__model.h5", NULL,
    "MrEliptik__Keras_to_TF_NCS2__model.h5", QS_MODEL_FORMAT_KERAS2_MODEL, "2.2.4", TRUE },
  { "MrEliptik__Keras_to_TF_NCS2__weights.h5", "MrEliptik__Keras_to_TF_NCS2__model.h5",
    "MrEliptik__Keras_to_TF_NCS2__weights.h5", QS_MODEL_FORMAT_KERAS2_WEIGHTS, "2.2.4", TRUE },
  { "NTU-DL-APP__dnn-inference-113015062__fashion_mnist.h5", NULL,
    "NTU-DL-APP__dnn-inference-113015062__fashion_mnist.h5", QS_MODEL_FORMAT_KERAS3_LEGACY, "3.10.0", TRUE },
  { "ShreyanshGupta28__mnist_classification_app__model.weights.h5",
    "ShreyanshGupta28__mnist_classification_app__model.keras",
    "ShreyanshGupta28__mnist_classification_app__model.weights.h5", QS_MODEL_FORMAT_KERAS3_WEIGHTS, NULL, TRUE },
  { "ShreyanshGupta28__mnist_classification_app__model.keras", NULL,
    "ShreyanshGupta28__mnist_classification_app__model.weights.h5", QS_MODEL_FORMAT_KERAS3_ZIP, "3.14.0", TRUE },
  { "ShreyanshGupta28__mnist_classification_app__model.weights.h5", NULL,
    NULL, QS_MODEL_FORMAT_KERAS3_WEIGHTS, NULL, FALSE },
  { "MrEliptik__Keras_to_TF_NCS2__weights.h5", NULL,
    NULL, QS_MODEL_FORMAT_KERAS2_WEIGHTS, "2.2.4", FALSE },
  { "saikatbsk__MNIST-CNN__mnist_cnn_weights.h5", NULL,
    NULL, QS_MODEL_FORMAT_KERAS1_WEIGHTS, NULL, FALSE },
};

static char *
shared_path (const char *file)
{
  const char *dir = g_getenv ("QS_SHARED_DIR");
  g_autofree char *path = NULL;

  if (dir == NULL)
    return NULL;
  path = g_build_filename (dir, "models", file, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  return g_steal_pointer (&path);
}

static JsonObject *
golden_models (void)
{
  static JsonParser *parser;
  g_autofree char *path = shared_path ("golden-outputs.json");

  if (path == NULL)
    return NULL;
  if (parser == NULL)
    {
      g_autoptr(GError) error = NULL;
      parser = json_parser_new ();
      json_parser_load_from_file (parser, path, &error);
      g_assert_no_error (error);
    }
  return json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "models");
}

static QsModel *
load_real (const RealFile *rf)
{
  g_autofree char *path = shared_path (rf->file);
  g_autofree char *arch = rf->architecture != NULL ? shared_path (rf->architecture) : NULL;
  g_autoptr(GError) error = NULL;
  QsModel *model;

  if (path == NULL || (rf->architecture != NULL && arch == NULL))
    return NULL;
  model = qs_model_load (path, arch, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

static void
test_format (gconstpointer data)
{
  const RealFile *rf = data;
  g_autoptr(QsModel) model = load_real (rf);
  const char *why = NULL;

  if (model == NULL)
    {
      g_test_skip ("QS_SHARED_DIR/models not available");
      return;
    }
  g_assert_cmpint (qs_model_get_format (model), ==, rf->format);
  if (rf->keras_version != NULL)
    g_assert_cmpstr (qs_model_get_keras_version (model), ==, rf->keras_version);
  g_assert_cmpint (qs_model_can_infer (model, &why), ==, rf->can_infer);
  if (!rf->can_infer)
    g_assert_nonnull (why);
  g_assert_cmpuint (qs_model_get_n_params (model), >, 0);

  /* Every weight is named "<layer>/<short>" and has a layout. */
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *layer = qs_model_get_layer (model, i);
      for (guint j = 0; j < layer->weights->len; j++)
        {
          QsTensor *t = g_ptr_array_index (layer->weights, j);
          g_assert_true (g_str_has_prefix (t->name, layer->name));
          g_assert_cmpint (t->name[strlen (layer->name)], ==, '/');
          if (t->n_dims == 1)
            g_assert_cmpint (t->layout, ==, QS_TENSOR_LAYOUT_VECTOR);
        }
    }
  if (rf->format == QS_MODEL_FORMAT_KERAS1_WEIGHTS)
    {
      const QsLayer *conv = qs_model_find_layer (model, "convolution2d_1");
      QsTensor *kernel;
      g_assert_nonnull (conv);
      kernel = qs_layer_get_kernel (conv);
      g_assert_nonnull (kernel);
      g_assert_cmpstr (kernel->name, ==, "convolution2d_1/kernel");
      g_assert_cmpint (kernel->layout, ==, QS_TENSOR_LAYOUT_CONV2D);
      g_assert_nonnull (qs_layer_get_bias (conv));
    }
}

static void
check_golden (QsModel    *model,
              const char *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", &error);
  g_autoptr(QsEngineFloat) engine = NULL;
  g_autofree float *input = NULL;
  g_autofree float *output = NULL;
  g_autofree float *output1 = NULL;
  JsonObject *golden = json_object_get_object_member (golden_models (), key);
  JsonArray *argmax = json_object_get_array_member (golden, "argmax");
  JsonArray *probs = json_object_get_array_member (golden, "probabilities");
  gsize shape[4], per = 1;
  guint rank = qs_model_get_input_shape (model, shape);
  guint n_classes = qs_model_get_n_classes (model);
  double max_err = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (n_classes, ==, 10);
  for (guint i = 0; i < rank; i++)
    per *= shape[i];
  input = g_new (float, N_GOLDEN * per);
  output = g_new (float, N_GOLDEN * n_classes);
  output1 = g_new (float, N_GOLDEN * n_classes);
  g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, N_GOLDEN, input, &error));
  g_assert_no_error (error);
  engine = qs_engine_float_new (model, &error);
  g_assert_no_error (error);
  g_assert_true (qs_engine_float_run (engine, input, N_GOLDEN, output, 2, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  /* One thread gives the same bits as two. */
  g_assert_true (qs_engine_float_run (engine, input, N_GOLDEN, output1, 1, NULL, NULL, NULL, &error));
  g_assert_cmpmem (output, N_GOLDEN * n_classes * sizeof (float), output1, N_GOLDEN * n_classes * sizeof (float));

  g_assert_cmpuint (json_array_get_length (argmax), ==, N_GOLDEN);
  for (guint i = 0; i < N_GOLDEN; i++)
    {
      JsonArray *p = json_array_get_array_element (probs, i);
      guint best = 0;
      for (guint c = 1; c < n_classes; c++)
        if (output[i * n_classes + c] > output[i * n_classes + best])
          best = c;
      g_assert_cmpint (best, ==, json_array_get_int_element (argmax, i));
      for (guint c = 0; c < n_classes; c++)
        max_err = MAX (max_err, fabs (output[i * n_classes + c] - json_array_get_double_element (p, c)));
    }
  g_test_message ("%s: max |p - golden| = %.3g", key, max_err);
  /* Golden values are printed with 7 decimals. */
  g_assert_cmpfloat (max_err, <, 1e-5);
}

static void
test_golden (gconstpointer data)
{
  const RealFile *rf = data;
  g_autoptr(QsModel) model = load_real (rf);

  if (model == NULL || golden_models () == NULL)
    {
      g_test_skip ("QS_SHARED_DIR/models not available");
      return;
    }
  check_golden (model, rf->golden);
}

static void
assert_same_weights (QsModel *a,
                     QsModel *b)
{
  g_assert_cmpuint (qs_model_get_n_params (a), ==, qs_model_get_n_params (b));
  for (guint i = 0; i < qs_model_get_n_layers (a); i++)
    {
      const QsLayer *la = qs_model_get_layer (a, i);
      const QsLayer *lb = qs_model_find_layer (b, la->name);

      g_assert_nonnull (lb);
      g_assert_cmpint (la->kind, ==, lb->kind);
      g_assert_cmpuint (la->output_rank, ==, lb->output_rank);
      g_assert_cmpmem (la->output_shape, la->output_rank * sizeof (gsize), lb->output_shape, lb->output_rank * sizeof (gsize));
      g_assert_cmpuint (la->weights->len, ==, lb->weights->len);
      for (guint j = 0; j < la->weights->len; j++)
        {
          QsTensor *ta = g_ptr_array_index (la->weights, j);
          QsTensor *tb = g_ptr_array_index (lb->weights, j);
          g_assert_cmpstr (ta->name, ==, tb->name);
          g_assert_true (qs_tensor_same_shape (ta, tb));
          g_assert_cmpint (ta->layout, ==, tb->layout);
          g_assert_cmpmem (ta->data, ta->n_elements * 4, tb->data, tb->n_elements * 4);
        }
    }
}

static void
test_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *first = shared_path (real_files[0].file);

  if (first == NULL)
    {
      g_test_skip ("QS_SHARED_DIR/models not available");
      return;
    }
  dir = g_dir_make_tmp ("qs-keras-XXXXXX", &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (real_files); i++)
    {
      const RealFile *rf = &real_files[i];
      g_autoptr(QsModel) model = load_real (rf);
      g_autoptr(QsModel) again = NULL;
      g_autofree char *out = g_build_filename (dir, "saved.h5", NULL);

      g_assert_nonnull (model);
      g_assert_true (qs_model_save (model, out, NULL, &error));
      g_assert_no_error (error);
      again = qs_model_load (out, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (qs_model_get_format (again), ==,
                       rf->can_infer ? QS_MODEL_FORMAT_KERAS2_MODEL : QS_MODEL_FORMAT_KERAS2_WEIGHTS);
      g_assert_cmpint (qs_model_can_infer (again, NULL), ==, rf->can_infer);
      assert_same_weights (model, again);
      if (rf->golden != NULL && rf->can_infer)
        check_golden (again, rf->golden);
      g_unlink (out);
    }
  g_rmdir (dir);
}

/* Keras 1 weights (convolution2d_1_W:0) completed by a Keras 1 architecture (mnist_cnn.py:
 * nb_filter, nb_row, border_mode, output_dim, dim_ordering). */
static void
test_keras1_with_architecture (void)
{
  static const char *arch =
    "{\"class_name\": \"Sequential\", \"config\": ["
    "{\"class_name\": \"Convolution2D\", \"config\": {\"name\": \"convolution2d_1\", \"nb_filter\": 32, \"nb_row\": 3, \"nb_col\": 3,"
    " \"border_mode\": \"valid\", \"subsample\": [1, 1], \"dim_ordering\": \"tf\", \"activation\": \"linear\", \"bias\": true,"
    " \"batch_input_shape\": [null, 28, 28, 1]}},"
    "{\"class_name\": \"Activation\", \"config\": {\"name\": \"activation_1\", \"activation\": \"relu\"}},"
    "{\"class_name\": \"Convolution2D\", \"config\": {\"name\": \"convolution2d_2\", \"nb_filter\": 32, \"nb_row\": 3, \"nb_col\": 3,"
    " \"border_mode\": \"valid\", \"dim_ordering\": \"tf\", \"activation\": \"linear\"}},"
    "{\"class_name\": \"Activation\", \"config\": {\"name\": \"activation_2\", \"activation\": \"relu\"}},"
    "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"maxpooling2d_1\", \"pool_size\": [2, 2], \"border_mode\": \"valid\"}},"
    "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout_1\", \"p\": 0.25}},"
    "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten_1\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"output_dim\": 128, \"activation\": \"linear\"}},"
    "{\"class_name\": \"Activation\", \"config\": {\"name\": \"activation_3\", \"activation\": \"relu\"}},"
    "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout_2\", \"p\": 0.5}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_2\", \"output_dim\": 10, \"activation\": \"linear\"}},"
    "{\"class_name\": \"Activation\", \"config\": {\"name\": \"activation_4\", \"activation\": \"softmax\"}}]}";
  g_autofree char *path = shared_path ("saikatbsk__MNIST-CNN__mnist_cnn_weights.h5");
  g_autoptr(GError) error = NULL;
  g_autofree char *arch_path = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsEngineFloat) engine = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  float input[4 * 784], output[4 * 10];
  int fd;

  if (path == NULL)
    {
      g_test_skip ("QS_SHARED_DIR/models not available");
      return;
    }
  fd = g_file_open_tmp ("qs-keras1-XXXXXX.json", &arch_path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (arch_path, arch, -1, NULL));
  model = qs_model_load (path, arch_path, NULL, &error);
  g_unlink (arch_path);
  g_assert_no_error (error);
  g_assert_cmpint (qs_model_get_format (model), ==, QS_MODEL_FORMAT_KERAS1_WEIGHTS);
  g_assert_true (qs_model_can_infer (model, NULL));
  g_assert_cmpuint (qs_model_get_n_params (model), ==, 320 + 9248 + 589952 + 1290);
  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, 4, input, &error));
  engine = qs_engine_float_new (model, &error);
  g_assert_no_error (error);
  g_assert_true (qs_engine_float_run (engine, input, 4, output, 1, NULL, NULL, NULL, &error));
  for (int i = 0; i < 4; i++)
    {
      double sum = 0;
      for (int c = 0; c < 10; c++)
        sum += output[i * 10 + c];
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (real_files); i++)
    {
      g_autofree char *p = g_strdup_printf ("/qs/keras/format/%" G_GSIZE_FORMAT "-%s", i, real_files[i].file);
      g_test_add_data_func (p, &real_files[i], test_format);
      if (real_files[i].golden != NULL && real_files[i].can_infer)
        {
          g_autofree char *g = g_strdup_printf ("/qs/keras/golden/%" G_GSIZE_FORMAT "-%s", i, real_files[i].file);
          g_test_add_data_func (g, &real_files[i], test_golden);
        }
    }
  g_test_add_func ("/qs/keras/round-trip", test_round_trip);
  g_test_add_func ("/qs/keras/keras1-with-architecture", test_keras1_with_architecture);
  return g_test_run ();
}
