/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sys/stat.h>

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <hdf5.h>

#include "quantscope-core.h"
#include "qs-keras.h"

/* The builder, the Keras 2 writer and the config variants: models built in memory are saved
 * and loaded back bit-exactly, weights-only files complete with an architecture in every
 * form Keras writes one, unsupported layers keep weights explorable. */

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static QsTensor *
random_tensor (const char *name,
               guint       n_dims,
               const gsize *shape,
               GRand      *rand,
               float       lo,
               float       hi)
{
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);

  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) g_rand_double_range (rand, lo, hi);
  return t;
}

static void
set_inputs (QsLayer *layer,
            guint    n,
            ...)
{
  va_list args;

  layer->n_inputs = n;
  layer->inputs = g_new (guint, n);
  va_start (args, n);
  for (guint i = 0; i < n; i++)
    layer->inputs[i] = va_arg (args, guint);
  va_end (args);
}

static QsLayer *
input_layer (const char *name,
             guint       rank,
             gsize       d0,
             gsize       d1,
             gsize       d2)
{
  QsLayer *l = qs_layer_new (name, "InputLayer", QS_LAYER_INPUT);

  l->output_rank = rank;
  l->output_shape[0] = d0;
  l->output_shape[1] = d1;
  l->output_shape[2] = d2;
  return l;
}

static void
add_weight (QsLayer     *layer,
            const char  *short_name,
            guint        n_dims,
            const gsize *shape,
            GRand       *rand)
{
  g_autofree char *name = g_strdup_printf ("%s/%s", layer->name, short_name);
  float lo = strcmp (short_name, "moving_variance") == 0 ? 0.5f : -0.5f;

  g_ptr_array_add (layer->weights, random_tensor (name, n_dims, shape, rand, lo, 1.0f));
}

/* A branchy CNN touching every layer kind the builder knows. */
static QsModel *
build_cnn (GError **error)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *l;

  g_ptr_array_add (layers, input_layer ("input", 3, 9, 9, 2));                   /* 0 */
  l = qs_layer_new ("rescale", "Rescaling", QS_LAYER_RESCALING);                   /* 1 */
  l->rescale_scale = 2.0f;
  l->rescale_offset = -1.0f;
  set_inputs (l, 1, 0);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("conv", "Conv2D", QS_LAYER_CONV2D);                           /* 2 */
  l->filters = 4;
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->strides[0] = l->strides[1] = 2;
  l->padding = QS_PADDING_SAME;
  l->activation = QS_ACTIVATION_RELU;
  add_weight (l, "kernel", 4, (gsize[]) { 3, 3, 2, 4 }, rand);
  add_weight (l, "bias", 1, (gsize[]) { 4 }, rand);
  set_inputs (l, 1, 1);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("bn", "BatchNormalization", QS_LAYER_BATCH_NORM);             /* 3 */
  add_weight (l, "gamma", 1, (gsize[]) { 4 }, rand);
  add_weight (l, "beta", 1, (gsize[]) { 4 }, rand);
  add_weight (l, "moving_mean", 1, (gsize[]) { 4 }, rand);
  add_weight (l, "moving_variance", 1, (gsize[]) { 4 }, rand);
  set_inputs (l, 1, 2);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("dw", "DepthwiseConv2D", QS_LAYER_DEPTHWISE_CONV2D);          /* 4 */
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->depth_multiplier = 2;
  l->padding = QS_PADDING_SAME;
  l->activation = QS_ACTIVATION_RELU6;
  add_weight (l, "depthwise_kernel", 4, (gsize[]) { 3, 3, 4, 2 }, rand);
  add_weight (l, "bias", 1, (gsize[]) { 8 }, rand);
  set_inputs (l, 1, 3);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("sep", "SeparableConv2D", QS_LAYER_SEPARABLE_CONV2D);         /* 5 */
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->filters = 8;
  l->padding = QS_PADDING_SAME;
  l->activation = QS_ACTIVATION_SWISH;
  add_weight (l, "depthwise_kernel", 4, (gsize[]) { 3, 3, 8, 1 }, rand);
  add_weight (l, "pointwise_kernel", 4, (gsize[]) { 1, 1, 8, 8 }, rand);
  add_weight (l, "bias", 1, (gsize[]) { 8 }, rand);
  set_inputs (l, 1, 4);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("add", "Add", QS_LAYER_ADD);                                  /* 6 */
  set_inputs (l, 2, 4, 5);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("concat", "Concatenate", QS_LAYER_CONCATENATE);               /* 7 */
  set_inputs (l, 2, 6, 4);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("pad", "ZeroPadding2D", QS_LAYER_ZERO_PADDING2D);             /* 8 */
  l->zero_padding[0] = 1;
  l->zero_padding[3] = 1;
  set_inputs (l, 1, 7);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("pool", "MaxPooling2D", QS_LAYER_MAX_POOL2D);                 /* 9 */
  l->padding = QS_PADDING_SAME;
  set_inputs (l, 1, 8);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("gap", "GlobalAveragePooling2D", QS_LAYER_GLOBAL_AVG_POOL2D); /* 10 */
  set_inputs (l, 1, 9);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("drop", "Dropout", QS_LAYER_IDENTITY);                        /* 11 */
  set_inputs (l, 1, 10);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("dense", "Dense", QS_LAYER_DENSE);                            /* 12 */
  l->units = 5;
  l->activation = QS_ACTIVATION_GELU;
  add_weight (l, "kernel", 2, (gsize[]) { 16, 5 }, rand);
  add_weight (l, "bias", 1, (gsize[]) { 5 }, rand);
  set_inputs (l, 1, 11);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("leaky", "LeakyReLU", QS_LAYER_ACTIVATION);                   /* 13 */
  l->activation = QS_ACTIVATION_LEAKY_RELU;
  l->alpha = 0.3f;
  set_inputs (l, 1, 12);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("softmax", "Softmax", QS_LAYER_ACTIVATION);                   /* 14 */
  l->activation = QS_ACTIVATION_SOFTMAX;
  set_inputs (l, 1, 13);
  g_ptr_array_add (layers, l);

  return qs_model_new_from_layers ("cnn", layers, error);
}

static void
run_model (QsModel *model,
           guint    batch,
           float   *output)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsEngineFloat) engine = qs_engine_float_new (model, &error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  gsize shape[4], per = 1;
  guint rank = qs_model_get_input_shape (model, shape);
  g_autofree float *input = NULL;

  g_assert_no_error (error);
  for (guint i = 0; i < rank; i++)
    per *= shape[i];
  input = g_new (float, batch * per);
  for (gsize i = 0; i < batch * per; i++)
    input[i] = (float) g_rand_double (rand);
  g_assert_true (qs_engine_float_run (engine, input, batch, output, 2, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
assert_same_model (QsModel *a,
                   QsModel *b)
{
  g_assert_cmpuint (qs_model_get_n_layers (a), ==, qs_model_get_n_layers (b));
  g_assert_cmpuint (qs_model_get_n_params (a), ==, qs_model_get_n_params (b));
  for (guint i = 0; i < qs_model_get_n_layers (a); i++)
    {
      const QsLayer *la = qs_model_get_layer (a, i);
      const QsLayer *lb = qs_model_find_layer (b, la->name);

      g_assert_nonnull (lb);
      g_assert_cmpint (la->kind, ==, lb->kind);
      g_assert_cmpint (la->activation, ==, lb->activation);
      g_assert_cmpuint (la->n_inputs, ==, lb->n_inputs);
      g_assert_cmpmem (la->output_shape, sizeof la->output_shape, lb->output_shape, sizeof lb->output_shape);
      g_assert_cmpuint (la->weights->len, ==, lb->weights->len);
      for (guint j = 0; j < la->weights->len; j++)
        {
          QsTensor *ta = g_ptr_array_index (la->weights, j);
          QsTensor *tb = g_ptr_array_index (lb->weights, j);
          g_assert_cmpstr (ta->name, ==, tb->name);
          g_assert_cmpint (ta->layout, ==, tb->layout);
          g_assert_cmpmem (ta->data, ta->n_elements * 4, tb->data, tb->n_elements * 4);
        }
    }
}

static void
test_builder (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = build_cnn (&error);
  g_autoptr(QsModel) loaded = NULL;
  g_autofree char *path = tmp_path ("cnn.h5");
  float out_a[3 * 5], out_b[3 * 5];
  const QsLayer *l;

  g_assert_no_error (error);
  g_assert_true (qs_model_can_infer (model, NULL));
  g_assert_cmpuint (qs_model_get_n_classes (model), ==, 5);
  /* conv: SAME stride 2 on 9x9 -> ceil (9 / 2) = 5 */
  l = qs_model_find_layer (model, "conv");
  g_assert_cmpuint (l->output_shape[0], ==, 5);
  g_assert_cmpuint (l->output_shape[2], ==, 4);
  g_assert_cmpuint (l->n_params, ==, 3 * 3 * 2 * 4 + 4);
  g_assert_cmpuint (qs_model_find_layer (model, "concat")->output_shape[2], ==, 16);
  g_assert_cmpuint (qs_model_find_layer (model, "pad")->output_shape[0], ==, 6);
  g_assert_cmpuint (qs_model_find_layer (model, "pad")->output_shape[1], ==, 6);
  g_assert_cmpuint (qs_model_find_layer (model, "pool")->output_shape[0], ==, 3);
  g_assert_cmpint (qs_layer_get_kernel (qs_model_find_layer (model, "sep"))->layout, ==, QS_TENSOR_LAYOUT_DEPTHWISE);
  g_assert_cmpint (qs_layer_get_kernel (qs_model_find_layer (model, "dw"))->layout, ==, QS_TENSOR_LAYOUT_DEPTHWISE);
  g_assert_cmpint (qs_layer_get_kernel (qs_model_find_layer (model, "conv"))->layout, ==, QS_TENSOR_LAYOUT_CONV2D);
  g_assert_cmpint (qs_layer_get_kernel (qs_model_find_layer (model, "dense"))->layout, ==, QS_TENSOR_LAYOUT_DENSE);
  g_assert_cmpstr (qs_layer_get_kernel (qs_model_find_layer (model, "sep"))->name, ==, "sep/depthwise_kernel");

  {
    /* a saved model is an ordinary file: 0666 less the umask, no temporary left behind */
    mode_t old_mask = umask (022);
    GStatBuf st;
    g_autofree char *dir = g_path_get_dirname (path);
    g_autoptr(GDir) d = NULL;
    const char *entry;

    g_assert_true (qs_model_save (model, path, NULL, &error));
    umask (old_mask);
    g_assert_no_error (error);
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0644);
    d = g_dir_open (dir, 0, NULL);
    while ((entry = g_dir_read_name (d)) != NULL)
      g_assert_null (strstr (entry, ".h5."));
  }
  loaded = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_model_get_format (loaded), ==, QS_MODEL_FORMAT_KERAS2_MODEL);
  assert_same_model (model, loaded);
  run_model (model, 3, out_a);
  run_model (loaded, 3, out_b);
  g_assert_cmpmem (out_a, sizeof out_a, out_b, sizeof out_b);
  for (guint i = 0; i < 3; i++)
    {
      double sum = 0;
      for (guint c = 0; c < 5; c++)
        sum += out_a[i * 5 + c];
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
    }
}

static void
expect_build_error (GPtrArray  *layers,
                    gint        code,
                    const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = qs_model_new_from_layers ("bad", layers, &error);

  g_assert_null (model);
  g_assert_error (error, QS_MODEL_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, needle));
}

static void
test_builder_errors (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  GPtrArray *layers;
  QsLayer *l;

  /* Kernel shape disagrees with units. */
  layers = g_ptr_array_new ();
  g_ptr_array_add (layers, input_layer ("in", 1, 4, 0, 0));
  l = qs_layer_new ("fc", "Dense", QS_LAYER_DENSE);
  l->units = 3;
  add_weight (l, "kernel", 2, (gsize[]) { 4, 2 }, rand);
  add_weight (l, "bias", 1, (gsize[]) { 3 }, rand);
  set_inputs (l, 1, 0);
  g_ptr_array_add (layers, l);
  expect_build_error (layers, QS_MODEL_ERROR_SHAPE_MISMATCH, "fc");

  /* Missing kernel. */
  layers = g_ptr_array_new ();
  g_ptr_array_add (layers, input_layer ("in", 1, 4, 0, 0));
  l = qs_layer_new ("fc", "Dense", QS_LAYER_DENSE);
  l->units = 3;
  l->use_bias = FALSE;
  set_inputs (l, 1, 0);
  g_ptr_array_add (layers, l);
  expect_build_error (layers, QS_MODEL_ERROR_CORRUPT, "kernel");

  /* Edge to a later layer (not topological). */
  layers = g_ptr_array_new ();
  g_ptr_array_add (layers, input_layer ("in", 1, 4, 0, 0));
  l = qs_layer_new ("a", "Activation", QS_LAYER_ACTIVATION);
  set_inputs (l, 1, 2);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("b", "Activation", QS_LAYER_ACTIVATION);
  set_inputs (l, 1, 1);
  g_ptr_array_add (layers, l);
  expect_build_error (layers, QS_MODEL_ERROR_GRAPH, "“a”");

  /* No input layer first. */
  layers = g_ptr_array_new ();
  l = qs_layer_new ("a", "Activation", QS_LAYER_ACTIVATION);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("b", "Activation", QS_LAYER_ACTIVATION);
  set_inputs (l, 1, 0);
  g_ptr_array_add (layers, l);
  expect_build_error (layers, QS_MODEL_ERROR_GRAPH, "InputLayer");

  /* Empty model. */
  layers = g_ptr_array_new ();
  g_ptr_array_add (layers, input_layer ("in", 1, 4, 0, 0));
  expect_build_error (layers, QS_MODEL_ERROR_BAD_CONFIG, "no layers");

  /* Add with different shapes. */
  layers = g_ptr_array_new ();
  g_ptr_array_add (layers, input_layer ("in", 1, 4, 0, 0));
  l = qs_layer_new ("fc", "Dense", QS_LAYER_DENSE);
  l->units = 3;
  add_weight (l, "kernel", 2, (gsize[]) { 4, 3 }, rand);
  add_weight (l, "bias", 1, (gsize[]) { 3 }, rand);
  set_inputs (l, 1, 0);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("sum", "Add", QS_LAYER_ADD);
  set_inputs (l, 2, 0, 1);
  g_ptr_array_add (layers, l);
  expect_build_error (layers, QS_MODEL_ERROR_SHAPE_MISMATCH, "sum");
}

static void
test_new_with_weights (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = build_cnn (&error);
  g_autoptr(QsModel) copy = NULL;
  g_autoptr(GHashTable) weights = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(QsTensor) zero = NULL;
  g_autofree char *path = tmp_path ("replaced.h5");
  g_autoptr(QsModel) saved = NULL;
  QsTensor *orig = qs_layer_get_kernel (qs_model_find_layer (model, "dense"));

  g_assert_no_error (error);
  zero = qs_tensor_new ("dense/kernel", orig->n_dims, orig->shape, NULL);
  g_hash_table_insert (weights, (gpointer) "dense/kernel", zero);
  copy = qs_model_new_with_weights (model, weights, &error);
  g_assert_no_error (error);
  g_assert_true (qs_layer_get_kernel (qs_model_find_layer (copy, "dense"))->data[0] == 0.0f);
  g_assert_true (orig->data[0] != 0.0f);

  /* Saving with replacements writes the replacement. */
  g_assert_true (qs_model_save (model, path, weights, &error));
  g_assert_no_error (error);
  saved = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_same_model (copy, saved);

  /* A wrong shape is refused. */
  {
    g_autoptr(QsTensor) wrong = qs_tensor_new ("dense/kernel", 2, (gsize[]) { 2, 2 }, NULL);
    g_autoptr(QsModel) bad = NULL;
    g_hash_table_insert (weights, (gpointer) "dense/kernel", wrong);
    bad = qs_model_new_with_weights (model, weights, &error);
    g_assert_null (bad);
    g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH);
  }
}

/* Long layer names push layer_names past 64 KB: Keras splits it into layer_names0, 1 ... */
static void
test_split_attributes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  GPtrArray *layers = g_ptr_array_new ();
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsModel) loaded = NULL;
  g_autofree char *path = tmp_path ("split.h5");
  g_autofree char *long_name = g_strnfill (600, 'x');
  hid_t file, group;

  g_ptr_array_add (layers, input_layer ("in", 1, 3, 0, 0));
  for (guint i = 0; i < 150; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s_%u", long_name, i);
      QsLayer *l = qs_layer_new (name, "Dense", QS_LAYER_DENSE);
      l->units = 3;
      add_weight (l, "kernel", 2, (gsize[]) { 3, 3 }, rand);
      add_weight (l, "bias", 1, (gsize[]) { 3 }, rand);
      set_inputs (l, 1, i);
      g_ptr_array_add (layers, l);
    }
  model = qs_model_new_from_layers ("split", layers, &error);
  g_assert_no_error (error);
  g_assert_true (qs_model_save (model, path, NULL, &error));
  g_assert_no_error (error);

  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  group = H5Gopen2 (file, "model_weights", H5P_DEFAULT);
  g_assert_cmpint (H5Aexists (group, "layer_names"), ==, 0);
  g_assert_cmpint (H5Aexists (group, "layer_names0"), >, 0);
  g_assert_cmpint (H5Aexists (group, "layer_names1"), >, 0);
  H5Gclose (group);
  H5Fclose (file);

  loaded = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_same_model (model, loaded);
}

/* Writes `json` as an architecture file and loads `weights` with it. */
static QsModel *
load_with_architecture (const char *weights,
                        const char *json,
                        GError    **error)
{
  g_autofree char *arch = tmp_path ("arch.json");

  g_assert_true (g_file_set_contents (arch, json, -1, NULL));
  return qs_model_load (weights, arch, NULL, error);
}

static QsModel *
build_mlp (const char *in_name,
           guint       in_rank)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *l;

  g_ptr_array_add (layers, input_layer (in_name, in_rank, in_rank == 2 ? 4 : 16, 4, 0));
  l = qs_layer_new ("flatten", "Flatten", QS_LAYER_FLATTEN);
  set_inputs (l, 1, 0);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("dense", "Dense", QS_LAYER_DENSE);
  l->units = 6;
  l->activation = QS_ACTIVATION_RELU;
  add_weight (l, "kernel", 2, (gsize[]) { 16, 6 }, rand);
  add_weight (l, "bias", 1, (gsize[]) { 6 }, rand);
  set_inputs (l, 1, 1);
  g_ptr_array_add (layers, l);
  l = qs_layer_new ("dense_1", "Dense", QS_LAYER_DENSE);
  l->units = 3;
  l->activation = QS_ACTIVATION_SOFTMAX;
  add_weight (l, "kernel", 2, (gsize[]) { 6, 3 }, rand);
  add_weight (l, "bias", 1, (gsize[]) { 3 }, rand);
  set_inputs (l, 1, 2);
  g_ptr_array_add (layers, l);
  return qs_model_new_from_layers ("mlp", layers, NULL);
}

static void
test_architecture_variants (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) mlp = build_mlp ("flatten_input", 2);
  g_autofree char *path = tmp_path ("mlp.h5");
  float ref[4 * 3], out[4 * 3];
  /* Keras 2.1: bare list, no InputLayer, [None, 4, 4] without channel axis. */
  const char *bare =
    "[{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\", \"batch_input_shape\": [null, 4, 4], \"trainable\": true}},"
    " {\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 6, \"activation\": \"relu\", \"use_bias\": true}},"
    " {\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"units\": 3, \"activation\": \"softmax\"}}]";
  /* Keras 2.0: {"class_name": "Sequential", "config": [layers]} */
  g_autofree char *seq_list = g_strdup_printf ("{\"class_name\": \"Sequential\", \"config\": %s}", bare);
  /* Keras 3 Functional with __keras_tensor__ arguments and DTypePolicy objects. */
  const char *k3 =
    "{\"module\": \"keras\", \"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
    "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 4], \"dtype\": \"float32\", \"name\": \"flatten_input\"}, \"registered_name\": null, \"name\": \"flatten_input\", \"inbound_nodes\": []},"
    "{\"module\": \"keras.layers\", \"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\", \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"float32\"}}}, \"name\": \"flatten\","
    " \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 4, 4], \"dtype\": \"float32\", \"keras_history\": [\"flatten_input\", 0, 0]}}], \"kwargs\": {}}]},"
    "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 6, \"activation\": \"relu\"}, \"name\": \"dense\","
    " \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 16], \"keras_history\": [\"flatten\", 0, 0]}}], \"kwargs\": {}}]},"
    "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"units\": 3, \"activation\": \"softmax\"}, \"name\": \"dense_1\","
    " \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 6], \"keras_history\": [\"dense\", 0, 0]}}], \"kwargs\": {}}]}],"
    " \"input_layers\": [\"flatten_input\", 0, 0], \"output_layers\": [\"dense_1\", 0, 0]}}";
  /* Keras 1: output_dim instead of units. */
  const char *k1 =
    "[{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\", \"batch_input_shape\": [null, 4, 4]}},"
    " {\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"output_dim\": 6, \"activation\": \"relu\", \"bias\": true}},"
    " {\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"output_dim\": 3, \"activation\": \"softmax\"}}]";
  const char *variants[] = { bare, seq_list, k3, k1 };

  g_assert_nonnull (mlp);
  g_assert_true (qs_model_save (mlp, path, NULL, &error));
  g_assert_no_error (error);
  run_model (mlp, 4, ref);

  for (gsize v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      g_autoptr(QsModel) model = load_with_architecture (path, variants[v], &error);
      gsize shape[4];

      g_assert_no_error (error);
      g_assert_true (qs_model_can_infer (model, NULL));
      g_assert_cmpuint (qs_model_get_input_shape (model, shape), ==, 2);
      g_assert_cmpuint (shape[0], ==, 4);
      g_assert_cmpstr (qs_model_get_layer (model, 0)->name, ==, "flatten_input");
      run_model (model, 4, out);
      g_assert_cmpmem (ref, sizeof ref, out, sizeof out);
    }

  /* The architecture can also come from a full-model .h5. */
  {
    g_autoptr(QsModel) model = qs_model_load (path, path, NULL, &error);
    g_assert_no_error (error);
    run_model (model, 4, out);
    g_assert_cmpmem (ref, sizeof ref, out, sizeof out);
  }
}

/* Keras 3 .weights.h5: layers/<snake_case class>[_N]/vars/I, while the config names the
 * layers otherwise ("dense_13"): groups are matched by class and order. */
static void
test_keras3_weights_by_class (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) mlp = build_mlp ("flatten_input", 2);
  g_autofree char *path = tmp_path ("model.weights.h5");
  g_autofree char *arch = tmp_path ("k3.json");
  g_autoptr(QsModel) model = NULL;
  float ref[4 * 3], out[4 * 3];
  const char *groups[] = { "dense", "dense_1" };
  const char *json =
    "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential_7\", \"layers\": ["
    "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 4], \"name\": \"input_layer_3\"}},"
    "{\"module\": \"keras.layers\", \"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten_9\"}},"
    "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"dense_13\", \"units\": 6, \"activation\": \"relu\"}},"
    "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"dense_14\", \"units\": 3, \"activation\": \"softmax\"}}]}}";
  hid_t file;

  file = H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  for (guint g = 0; g < 2; g++)
    {
      const QsLayer *l = qs_model_find_layer (mlp, g == 0 ? "dense" : "dense_1");
      for (guint v = 0; v < l->weights->len; v++)
        {
          QsTensor *t = g_ptr_array_index (l->weights, v);
          g_autofree char *name = g_strdup_printf ("layers/%s/vars/%u", groups[g], v);
          hsize_t dims[2] = { t->shape[0], t->shape[1] };
          hid_t lcpl = H5Pcreate (H5P_LINK_CREATE);
          hid_t space = H5Screate_simple (t->n_dims, dims, NULL);
          hid_t dset;
          H5Pset_create_intermediate_group (lcpl, 1);
          dset = H5Dcreate2 (file, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
          H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data);
          H5Dclose (dset);
          H5Sclose (space);
          H5Pclose (lcpl);
        }
    }
  H5Fclose (file);
  g_assert_true (g_file_set_contents (arch, json, -1, NULL));

  model = qs_model_load (path, arch, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_model_get_format (model), ==, QS_MODEL_FORMAT_KERAS3_WEIGHTS);
  g_assert_true (qs_model_can_infer (model, NULL));
  g_assert_cmpstr (qs_layer_get_kernel (qs_model_find_layer (model, "dense_13"))->name, ==, "dense_13/kernel");
  g_assert_cmpint (qs_layer_get_kernel (qs_model_find_layer (model, "dense_13"))->layout, ==, QS_TENSOR_LAYOUT_DENSE);
  run_model (mlp, 4, ref);
  run_model (model, 4, out);
  g_assert_cmpmem (ref, sizeof ref, out, sizeof out);

  /* Without the architecture the groups are browsable weights. */
  {
    g_autoptr(QsModel) bare = qs_model_load (path, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_false (qs_model_can_infer (bare, NULL));
    g_assert_cmpuint (qs_model_get_n_params (bare), ==, qs_model_get_n_params (mlp));
  }
}

static JsonNode *
keras_tensor (const char *layer)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "class_name");
  json_builder_add_string_value (b, "__keras_tensor__");
  json_builder_set_member_name (b, "config");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "dtype");
  json_builder_add_string_value (b, "float32");
  json_builder_set_member_name (b, "keras_history");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, layer);
  json_builder_add_int_value (b, 0);
  json_builder_add_int_value (b, 0);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* The branchy CNN (Add, Concatenate) described the Keras 3 way: inbound_nodes with
 * __keras_tensor__ args (a list of them for merges), config objects with "module". */
static void
test_keras3_functional_merges (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) cnn = build_cnn (&error);
  g_autofree char *path = tmp_path ("branchy.h5");
  g_autofree char *arch = tmp_path ("branchy-k3.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(QsModel) model = NULL;
  g_autofree char *config = NULL;
  JsonObject *root, *cfg;
  JsonArray *layers;
  hid_t file, attr, type;
  char *text = NULL;
  float ref[3 * 5], out[3 * 5];

  g_assert_no_error (error);
  g_assert_true (qs_model_save (cnn, path, NULL, &error));
  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  attr = H5Aopen (file, "model_config", H5P_DEFAULT);
  type = H5Aget_type (attr);
  H5Aread (attr, type, &text);
  config = g_strdup (text);
  H5free_memory (text);
  H5Tclose (type);
  H5Aclose (attr);
  H5Fclose (file);

  g_assert_true (json_parser_load_from_data (parser, config, -1, &error));
  root = json_node_get_object (json_parser_get_root (parser));
  json_object_set_string_member (root, "module", "keras");
  cfg = json_object_get_object_member (root, "config");
  layers = json_object_get_array_member (cfg, "layers");
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *l = json_array_get_object_element (layers, i);
      JsonArray *nodes = json_object_get_array_member (l, "inbound_nodes");
      JsonArray *k3_nodes = json_array_new ();

      json_object_set_string_member (l, "module", "keras.layers");
      json_object_set_null_member (l, "registered_name");
      if (json_array_get_length (nodes) > 0)
        {
          JsonArray *refs = json_array_get_array_element (nodes, 0);
          JsonObject *node = json_object_new ();
          JsonArray *args = json_array_new ();

          if (json_array_get_length (refs) == 1)
            json_array_add_element (args, keras_tensor (json_array_get_string_element (json_array_get_array_element (refs, 0), 0)));
          else
            {
              JsonArray *list = json_array_new ();
              for (guint j = 0; j < json_array_get_length (refs); j++)
                json_array_add_element (list, keras_tensor (json_array_get_string_element (json_array_get_array_element (refs, j), 0)));
              json_array_add_array_element (args, list);
            }
          json_object_set_array_member (node, "args", args);
          json_object_set_object_member (node, "kwargs", json_object_new ());
          json_array_add_object_element (k3_nodes, node);
        }
      json_object_set_array_member (l, "inbound_nodes", k3_nodes);
    }
  json_generator_set_root (gen, json_parser_get_root (parser));
  g_assert_true (json_generator_to_file (gen, arch, &error));

  model = qs_model_load (path, arch, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (qs_model_can_infer (model, NULL));
  g_assert_cmpuint (qs_model_find_layer (model, "add")->n_inputs, ==, 2);
  g_assert_cmpuint (qs_model_find_layer (model, "concat")->n_inputs, ==, 2);
  run_model (cnn, 3, ref);
  run_model (model, 3, out);
  g_assert_cmpmem (ref, sizeof ref, out, sizeof out);
}

static void
test_unsupported_layer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) mlp = build_mlp ("flatten_input", 2);
  g_autofree char *path = tmp_path ("unsupported.h5");
  g_autofree char *resaved = tmp_path ("unsupported-resaved.h5");
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsModel) again = NULL;
  const char *why = NULL;
  const char *json =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4, 4], \"name\": \"flatten_input\"}},"
    "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 6, \"activation\": \"relu\"}},"
    "{\"class_name\": \"MyFancyLayer\", \"config\": {\"name\": \"fancy\", \"k\": 2}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"units\": 3, \"activation\": \"softmax\"}}]}}";

  g_assert_true (qs_model_save (mlp, path, NULL, &error));
  model = load_with_architecture (path, json, &error);
  g_assert_no_error (error);
  g_assert_false (qs_model_can_infer (model, &why));
  g_assert_nonnull (strstr (why, "fancy"));
  g_assert_nonnull (strstr (why, "MyFancyLayer"));
  /* Weights stay explorable. */
  g_assert_nonnull (qs_layer_get_kernel (qs_model_find_layer (model, "dense_1")));
  g_assert_cmpint (qs_model_find_layer (model, "fancy")->kind, ==, QS_LAYER_UNSUPPORTED);

  /* Saving keeps the unknown layer's own config. */
  g_assert_true (qs_model_save (model, resaved, NULL, &error));
  g_assert_no_error (error);
  again = qs_model_load (resaved, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (qs_model_find_layer (again, "fancy")->kind, ==, QS_LAYER_UNSUPPORTED);
  g_assert_false (qs_model_can_infer (again, NULL));
  g_assert_nonnull (qs_engine_float_new (again, &error) == NULL ? (gpointer) 1 : NULL);
  g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE);
}

static void
load_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  QsModel **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = qs_model_load_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_async (void)
{
  g_autoptr(QsModel) mlp = build_mlp ("flatten_input", 2);
  g_autofree char *path = tmp_path ("async.h5");
  g_autoptr(QsModel) loaded = NULL;

  g_assert_true (qs_model_save (mlp, path, NULL, NULL));
  qs_model_load_async (path, NULL, NULL, load_cb, &loaded);
  while (loaded == NULL)
    g_main_context_iteration (NULL, TRUE);
  assert_same_model (mlp, loaded);
  g_assert_cmpuint (strlen (qs_model_get_checksum (loaded)), ==, 64);
}

static void
test_snake_case (void)
{
  /* Group names Keras 3 gives classes in .weights.h5 files. */
  const char *cases[][2] = {
    { "Conv2D", "conv2d" }, { "Dense", "dense" }, { "BatchNormalization", "batch_normalization" },
    { "ReLU", "re_lu" }, { "DepthwiseConv2D", "depthwise_conv2d" },
    { "GlobalAveragePooling2D", "global_average_pooling2d" }, { "MaxPooling2D", "max_pooling2d" },
    { "InputLayer", "input_layer" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *s = _qs_keras_snake_case (cases[i][0]);
      g_assert_cmpstr (s, ==, cases[i][1]);
    }
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-model-XXXXXX", NULL);

  g_test_add_func ("/qs/model/builder-round-trip", test_builder);
  g_test_add_func ("/qs/model/builder-errors", test_builder_errors);
  g_test_add_func ("/qs/model/new-with-weights", test_new_with_weights);
  g_test_add_func ("/qs/model/split-attributes", test_split_attributes);
  g_test_add_func ("/qs/model/architecture-variants", test_architecture_variants);
  g_test_add_func ("/qs/model/unsupported-layer", test_unsupported_layer);
  g_test_add_func ("/qs/model/keras3-weights-by-class", test_keras3_weights_by_class);
  g_test_add_func ("/qs/model/keras3-functional-merges", test_keras3_functional_merges);
  g_test_add_func ("/qs/model/load-async", test_async);
  g_test_add_func ("/qs/model/keras3-snake-case", test_snake_case);
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
