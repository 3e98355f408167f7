/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"
#include "qs-calib.h"
#include "qs-engine-float.h"
#include "qs-engine-int.h"
#include "qs-train-private.h"

/* --- helpers --- */

static QsTNode *
add_node (QsTrainNet  *net,
          QsTNodeKind  kind,
          const char  *class_name,
          guint        input)
{
  g_autofree char *name = g_strdup_printf ("n%u", net->nodes->len);
  QsTNode *node = _qs_train_net_add_node (net, kind, name, 1, &input);

  node->class_name = g_strdup (class_name);
  return node;
}

static QsTrainNet *
new_input (gsize h,
           gsize w,
           gsize c)
{
  QsTrainNet *net = _qs_train_net_new ();
  QsTNode *in = _qs_train_net_add_node (net, QS_TNODE_INPUT, "input", 0, NULL);

  in->class_name = g_strdup ("InputLayer");
  in->h = h;
  in->w = w;
  in->c = c;
  return net;
}

static QsTNode *
add_conv (QsTrainNet *net,
          QsTNodeKind kind,
          guint       input,
          gsize       filters,
          guint       k,
          guint       stride,
          QsPadding   padding)
{
  QsTNode *node = add_node (net, kind, kind == QS_TNODE_CONV2D ? "Conv2D" : "DepthwiseConv2D", input);

  node->c = filters;
  node->mult = kind == QS_TNODE_DEPTHWISE ? (guint) filters : 1;
  node->kh = node->kw = k;
  node->sh = node->sw = stride;
  node->padding = padding;
  node->use_bias = TRUE;
  return node;
}

static QsTNode *
add_dense (QsTrainNet   *net,
           guint         input,
           gsize         units,
           QsActivation  act)
{
  QsTNode *node = add_node (net, QS_TNODE_DENSE, "Dense", input);

  node->c = units;
  node->use_bias = TRUE;
  node->act = act;
  return node;
}

/* Every layer kind: strided VALID and SAME convolutions, depthwise with a multiplier,
 * BatchNorm (batch statistics), ReLU6, Add, average / max / global pooling, Flatten,
 * Dropout, Dense with a fused ReLU and the softmax cross-entropy. */
static QsTrainNet *
new_every_layer_net (void)
{
  QsTrainNet *net = new_input (7, 6, 2);
  QsTNode *a, *b, *n;
  guint add_inputs[2];

  a = add_conv (net, QS_TNODE_CONV2D, 0, 3, 3, 1, QS_PADDING_SAME);
  n = add_node (net, QS_TNODE_BATCH_NORM, "BatchNormalization", a->index);
  b = add_conv (net, QS_TNODE_DEPTHWISE, n->index, 1, 3, 1, QS_PADDING_SAME);
  add_inputs[0] = n->index;
  add_inputs[1] = b->index;
  n = _qs_train_net_add_node (net, QS_TNODE_ADD, "add", 2, add_inputs);
  n->class_name = g_strdup ("Add");
  n = add_node (net, QS_TNODE_ACTIVATION, "ReLU", n->index);
  n->act = QS_ACTIVATION_RELU;
  n->relu_max = 6.0f;
  n = add_conv (net, QS_TNODE_DEPTHWISE, n->index, 2, 3, 2, QS_PADDING_VALID);
  n = add_conv (net, QS_TNODE_CONV2D, n->index, 4, 2, 1, QS_PADDING_SAME);
  a = add_node (net, QS_TNODE_AVG_POOL, "AveragePooling2D", n->index);
  a->kh = a->kw = 2;
  a->sh = a->sw = 1;
  a->padding = QS_PADDING_SAME;
  b = add_node (net, QS_TNODE_MAX_POOL, "MaxPooling2D", a->index);
  b->kh = b->kw = 2;
  b->sh = b->sw = 1;
  b->padding = QS_PADDING_VALID;
  n = add_node (net, QS_TNODE_GLOBAL_AVG_POOL, "GlobalAveragePooling2D", a->index);
  b = add_node (net, QS_TNODE_FLATTEN, "Flatten", b->index);
  b = add_node (net, QS_TNODE_DROPOUT, "Dropout", b->index);
  b->dropout_rate = 0.25f;
  b = add_dense (net, b->index, 5, QS_ACTIVATION_RELU);
  n = add_dense (net, n->index, 5, QS_ACTIVATION_LINEAR);
  add_inputs[0] = n->index;
  add_inputs[1] = b->index;
  n = _qs_train_net_add_node (net, QS_TNODE_ADD, "add2", 2, add_inputs);
  n->class_name = g_strdup ("Add");
  add_dense (net, n->index, 4, QS_ACTIVATION_SOFTMAX);
  g_assert_true (_qs_train_net_finish (net, NULL));
  _qs_train_net_init_weights (net, 5);
  return net;
}

static void
random_fill (float   *x,
             gsize    n,
             guint64  seed,
             float    lo,
             float    hi)
{
  guint64 state = seed;

  for (gsize i = 0; i < n; i++)
    x[i] = lo + (hi - lo) * (float) _qs_train_rand_uniform (&state);
}

/* --- gradients --- */

/* Finite differences against the analytic gradient, for every parameter tensor: each
 * element of small tensors and a random sample of larger ones. The central difference
 * with eps in float carries ~1e-7 / eps of rounding noise, far below the error of a wrong
 * gradient. ReLU and max pooling have kinks: when one lies within eps of the point, the
 * central difference averages two slopes, but the one-sided difference on the kink-free
 * side still equals the gradient (within its O(eps) truncation error), so that one is
 * accepted too. */
static gboolean
close_enough (double fd,
              double an,
              double abs_tol,
              double rel_tol)
{
  return fabs (fd - an) <= abs_tol + rel_tol * MAX (fabs (fd), fabs (an));
}

static void
check_gradients (QsTrainNet *net,
                 gsize       batch,
                 guint64     seed,
                 float       eps,
                 guint       max_off)
{
  gsize in_size = qs_train_net_get_input_size (net);
  g_autofree float *x = g_new (float, batch * in_size);
  g_autofree guint8 *labels = g_new (guint8, batch);
  g_autofree float *grad = NULL;
  guint64 state = seed;
  guint checked = 0, one_sided = 0, off = 0;
  double l0;

  random_fill (x, batch * in_size, seed, -1.0f, 1.0f);
  for (gsize s = 0; s < batch; s++)
    labels[s] = (guint8) (s % qs_train_net_get_n_classes (net));
  /* Break the symmetry of zero biases and unit gammas. */
  for (gsize k = 0; k < net->n_params; k++)
    net->params[k] += 0.1f * (float) (_qs_train_rand_uniform (&state) - 0.5);

  l0 = _qs_train_net_loss_and_grad (net, x, labels, batch, 99);
  grad = g_memdup2 (net->grad, net->n_params * sizeof (float));

  for (guint pi = 0; pi < net->param_list->len; pi++)
    {
      QsTParam *p = g_ptr_array_index (net->param_list, pi);
      guint n = (guint) MIN (p->size, 24);

      for (guint t = 0; t < n; t++)
        {
          gsize k = p->offset + (p->size <= 24 ? t : (gsize) (_qs_train_rand_uniform (&state) * p->size));
          float save = net->params[k];
          double lp, lm, an = grad[k];

          net->params[k] = save + eps;
          lp = _qs_train_net_loss_and_grad (net, x, labels, batch, 99);
          net->params[k] = save - eps;
          lm = _qs_train_net_loss_and_grad (net, x, labels, batch, 99);
          net->params[k] = save;
          checked++;
          if (close_enough ((lp - lm) / (2.0 * eps), an, 5e-4, 0.02))
            continue;
          one_sided++;
          if (close_enough ((lp - l0) / eps, an, 2e-3, 0.05)
              || close_enough ((l0 - lm) / eps, an, 2e-3, 0.05))
            continue;
          g_test_message ("%s[%zu]: finite differences %g / %g / %g, gradient %g", p->name,
                          k - p->offset, (lp - lm) / (2.0 * eps), (lp - l0) / eps,
                          (l0 - lm) / eps, an);
          off++;
        }
    }
  g_test_message ("%u gradients checked, %u near a kink, %u off", checked, one_sided, off);
  g_assert_cmpuint (off, <=, max_off);
}

static void
test_train_gradients_every_layer (void)
{
  g_autoptr(QsTrainNet) net = new_every_layer_net ();

  check_gradients (net, 5, 1, 3e-4f, 0);
}

static void
test_train_gradients_archs (void)
{
  const char * const *archs = qs_train_list_archs ();

  for (guint i = 0; archs[i] != NULL; i++)
    {
      g_autoptr(QsTrainNet) net = qs_train_net_new_arch (archs[i], 3, NULL);

      g_assert_nonnull (net);
      g_test_message ("%s", archs[i]);
      /* 28 x 28 inputs put thousands of ReLU and max-pool kinks behind a first-layer
       * weight, so a few may lie within eps on both sides: tolerate 1 % (a wiring error
       * breaks whole tensors). Every layer kind is checked strictly above. */
      check_gradients (net, 1, 7 + i, 3e-4f, (net->param_list->len * 24) / 100);
    }
}

/* --- determinism and resuming --- */

static QsTrainData *
random_data (guint   n_images,
             gsize   image_size,
             guint   n_classes,
             guint64 seed)
{
  g_autofree guint8 *pixels = g_new (guint8, n_images * image_size);
  g_autofree guint8 *labels = g_new (guint8, n_images);
  guint64 state = seed;

  /* Class-dependent blobs so that there is something to learn. */
  for (guint i = 0; i < n_images; i++)
    {
      labels[i] = (guint8) (_qs_train_rand_next (&state) % n_classes);
      for (gsize k = 0; k < image_size; k++)
        pixels[i * image_size + k] = (guint8) ((k * (labels[i] + 1) * 37 % 256) / 2
                                               + _qs_train_rand_next (&state) % 128);
    }
  return qs_train_data_new (n_images, image_size, pixels, labels, n_classes);
}

static void
fit_quiet (QsTrainNet           *net,
           QsTrainData          *data,
           const QsTrainOptions *options)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (qs_train_net_fit (net, data, options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_train_determinism (void)
{
  g_autoptr(QsTrainData) data = random_data (200, 7 * 6 * 2, 4, 3);
  g_autoptr(QsTrainNet) a = new_every_layer_net ();
  g_autoptr(QsTrainNet) b = new_every_layer_net ();
  g_autoptr(QsTrainNet) c = new_every_layer_net ();
  QsTrainOptions options;

  qs_train_options_init (&options);
  options.epochs = 2;
  options.batch_size = 32;
  options.seed = 11;
  options.n_threads = 1;
  fit_quiet (a, data, &options);
  options.n_threads = 3;
  fit_quiet (b, data, &options);
  /* Same seed, any number of threads: the same bits. */
  g_assert_cmpmem (a->params, a->n_params * sizeof (float), b->params, b->n_params * sizeof (float));
  options.seed = 12;
  fit_quiet (c, data, &options);
  g_assert_true (memcmp (a->params, c->params, a->n_params * sizeof (float)) != 0);
}

static void
cancel_after_first_epoch (const QsTrainProgress *progress,
                          gpointer               user_data)
{
  if (progress->epoch == 0 && progress->batch == progress->n_batches)
    g_cancellable_cancel (user_data);
}

static void
note_restore (const QsTrainProgress *progress,
              gpointer               user_data)
{
  guint *n_restored = user_data;

  if (progress->resumed)
    (*n_restored)++;
}

static void
test_train_resume (void)
{
  g_autoptr(QsTrainData) data = random_data (150, 7 * 6 * 2, 4, 5);
  g_autoptr(QsTrainNet) straight = new_every_layer_net ();
  g_autoptr(QsTrainNet) interrupted = new_every_layer_net ();
  g_autoptr(QsTrainNet) resumed = new_every_layer_net ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qs-train-XXXXXX", NULL);
  g_autofree char *ckpt = g_build_filename (dir, "model.h5.ckpt", NULL);
  QsTrainOptions options;
  guint n_restored = 0;

  qs_train_options_init (&options);
  options.epochs = 2;
  options.batch_size = 40;
  options.cosine_decay = TRUE;
  fit_quiet (straight, data, &options);

  options.checkpoint = ckpt;
  g_assert_false (qs_train_net_fit (interrupted, data, &options, cancel_after_first_epoch,
                                    cancellable, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_true (g_file_test (ckpt, G_FILE_TEST_IS_REGULAR));

  /* A fresh process picks up after the finished epoch and ends where the straight run did. */
  g_assert_true (qs_train_net_fit (resumed, data, &options, note_restore, &n_restored, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_restored, ==, 1);
  g_assert_cmpmem (straight->params, straight->n_params * sizeof (float),
                   resumed->params, resumed->n_params * sizeof (float));

  /* Other options: the checkpoint is refused with a clear error. */
  options.batch_size = 20;
  g_assert_false (qs_train_net_fit (resumed, data, &options, NULL, NULL, NULL, &error));
  g_assert_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_CHECKPOINT);
  g_clear_error (&error);

  /* A damaged checkpoint too. */
  options.batch_size = 40;
  g_assert_true (g_file_set_contents (ckpt, "QSTRAIN-CKPT-v1\0garbage", 24, NULL));
  g_assert_false (qs_train_net_fit (resumed, data, &options, NULL, NULL, NULL, &error));
  g_assert_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_CHECKPOINT);
  g_remove (ckpt);
  g_rmdir (dir);
}

/* --- model round trip --- */

static void
test_train_roundtrip (void)
{
  g_autoptr(QsTrainData) data = random_data (96, 784, 10, 9);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qs-train-XXXXXX", NULL);
  const char * const *archs = qs_train_list_archs ();

  for (guint a = 0; archs[a] != NULL; a++)
    {
      g_autoptr(QsTrainNet) net = qs_train_net_new_arch (archs[a], 2, NULL);
      g_autoptr(QsTrainNet) back = NULL;
      g_autoptr(QsModel) model = NULL;
      g_autoptr(QsEngineFloat) engine = NULL;
      g_autofree char *path = g_strdup_printf ("%s/%s.h5", dir, archs[a]);
      g_autofree float *x = g_new (float, 16 * 784);
      g_autofree float *logits = g_new (float, 16 * 10);
      g_autofree float *logits2 = g_new (float, 16 * 10);
      g_autofree float *probs = g_new (float, 16 * 10);
      QsTrainOptions options;

      qs_train_options_init (&options);
      options.batch_size = 32;
      fit_quiet (net, data, &options);   /* moves weights and BatchNorm statistics */
      g_assert_true (qs_train_net_save (net, path, &error));
      g_assert_no_error (error);

      model = qs_model_load (path, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (qs_model_get_n_params (model), ==, qs_train_net_get_n_params (net));
      back = qs_train_net_new_from_model (model, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (back->n_params, ==, net->n_params);
      g_assert_cmpmem (back->params, back->n_params * sizeof (float), net->params, net->n_params * sizeof (float));

      qs_train_data_fill (data, 0, 16, x);
      g_assert_true (qs_train_net_predict (net, x, 16, logits, 2, &error));
      g_assert_true (qs_train_net_predict (back, x, 16, logits2, 2, &error));
      g_assert_cmpmem (logits, 16 * 10 * sizeof (float), logits2, 16 * 10 * sizeof (float));

      /* The float engine runs the saved file to the same probabilities. */
      engine = qs_engine_float_new (model, &error);
      g_assert_no_error (error);
      g_assert_true (qs_engine_float_run (engine, x, 16, probs, 1, NULL, NULL, NULL, &error));
      for (guint s = 0; s < 16; s++)
        {
          double max = -INFINITY, sum = 0;

          for (guint k = 0; k < 10; k++)
            max = MAX (max, logits[s * 10 + k]);
          for (guint k = 0; k < 10; k++)
            sum += exp (logits[s * 10 + k] - max);
          for (guint k = 0; k < 10; k++)
            g_assert_cmpfloat_with_epsilon (probs[s * 10 + k], exp (logits[s * 10 + k] - max) / sum, 1e-5);
        }
      g_remove (path);
    }
  g_rmdir (dir);
}

/* Real Keras files (QS_SHARED_DIR/models): the trainer's copy of every runnable model
 * computes what the float engine computes. */
static void
test_train_shared_models (void)
{
  const char *shared = g_getenv ("QS_SHARED_DIR");
  g_autofree char *dir_path = shared != NULL ? g_build_filename (shared, "models", NULL) : NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(QsDataset) test = NULL;
  const char *entry;
  guint n_checked = 0;

  if (dir_path == NULL || (dir = g_dir_open (dir_path, 0, NULL)) == NULL)
    {
      g_test_skip ("QS_SHARED_DIR/models not available");
      return;
    }
  test = qs_dataset_open ("sample", NULL);
  g_assert_nonnull (test);
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, entry, NULL);
      g_autoptr(QsModel) model = NULL;
      g_autoptr(QsTrainNet) net = NULL;
      g_autoptr(QsEngineFloat) engine = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree float *x = NULL, *logits = NULL, *out = NULL;
      const QsLayer *last;
      gboolean softmax;
      guint n = 16, k;

      if (!g_str_has_suffix (entry, ".h5") && !g_str_has_suffix (entry, ".keras"))
        continue;
      model = qs_model_load (path, NULL, NULL, NULL);
      if (model == NULL || !qs_model_can_infer (model, NULL))
        continue;
      net = qs_train_net_new_from_model (model, &error);
      if (net == NULL)
        {
          g_test_message ("%s: %s", entry, error->message);
          continue;
        }
      k = qs_train_net_get_n_classes (net);
      x = g_new (float, n * qs_train_net_get_input_size (net));
      logits = g_new (float, n * k);
      out = g_new (float, n * k);
      g_assert_true (qs_dataset_fill_inputs (test, model, 0, n, x, &error));
      g_assert_true (qs_train_net_predict (net, x, n, logits, 2, &error));
      engine = qs_engine_float_new (model, &error);
      g_assert_no_error (error);
      g_assert_true (qs_engine_float_run (engine, x, n, out, 1, NULL, NULL, NULL, &error));
      last = qs_model_get_layer (model, qs_model_get_n_layers (model) - 1);
      softmax = last->activation == QS_ACTIVATION_SOFTMAX;
      for (guint s = 0; s < n; s++)
        {
          double max = -INFINITY, sum = 0;

          for (guint c = 0; c < k; c++)
            max = MAX (max, logits[s * k + c]);
          for (guint c = 0; c < k; c++)
            sum += exp (logits[s * k + c] - max);
          for (guint c = 0; c < k; c++)
            {
              double want = softmax ? exp (logits[s * k + c] - max) / sum : logits[s * k + c];

              g_assert_cmpfloat_with_epsilon (out[s * k + c], want, 1e-4 * MAX (1.0, fabs (want)));
            }
        }
      g_test_message ("%s: the trainer matches the float engine", entry);
      n_checked++;
    }
  g_assert_cmpuint (n_checked, >=, 1);
}

/* --- quantization-aware training --- */

static QsModel *
load_sample_model (const char *name)
{
  g_autofree char *rel = g_strdup_printf ("models/%s.h5", name);
  g_autofree char *path = qs_data_find_file (rel, NULL);

  if (path == NULL)
    return NULL;
  return qs_model_load (path, NULL, NULL, NULL);
}

/* With a float config nothing is quantized: the folded network must compute what the
 * original computes (BatchNorm folded exactly as the integer engine folds it). */
static void
test_train_qat_fold (void)
{
  g_autoptr(QsTrainNet) net = qs_train_net_new_arch ("mobilenet", 4, NULL);
  g_autoptr(QsTrainNet) qat = NULL;
  g_autoptr(QsConfig) config = qs_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree float *x = g_new (float, 8 * 784);
  float a[8 * 10], b[8 * 10];
  guint64 state = 1;

  /* Non-trivial BatchNorm statistics and affine parameters. */
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);

      if (node->kind != QS_TNODE_BATCH_NORM)
        continue;
      for (gsize c = 0; c < node->c; c++)
        {
          node->moving_mean[c] = (float) (_qs_train_rand_uniform (&state) - 0.5);
          node->moving_var[c] = (float) (0.2 + _qs_train_rand_uniform (&state));
        }
    }
  for (gsize k = 0; k < net->n_params; k++)
    net->params[k] += 0.1f * (float) (_qs_train_rand_uniform (&state) - 0.5);
  random_fill (x, 8 * 784, 3, 0.0f, 1.0f);

  qat = qs_train_net_new_qat (net, config, &error);
  g_assert_no_error (error);
  /* Every BatchNorm of the sample MobileNet follows a linear convolution. */
  for (guint i = 0; i < qat->nodes->len; i++)
    g_assert_cmpint (((QsTNode *) g_ptr_array_index (qat->nodes, i))->kind, !=, QS_TNODE_BATCH_NORM);
  g_assert_true (qs_train_net_predict (net, x, 8, a, 1, &error));
  g_assert_true (qs_train_net_predict (qat, x, 8, b, 1, &error));
  for (guint i = 0; i < 8 * 10; i++)
    g_assert_cmpfloat_with_epsilon (a[i], b[i], 1e-4 * MAX (1.0, fabs (a[i])));
}

typedef struct
{
  const char *name;
  float      *values;
  gsize       n;
} Tap;

static void
tap_value (const char  *value_name,
           const float *values,
           gsize        n,
           gboolean     is_integer,
           gpointer     user_data)
{
  Tap *tap = user_data;

  if (strcmp (value_name, tap->name) == 0)
    {
      g_free (tap->values);
      tap->values = g_memdup2 (values, n * sizeof (float));
      tap->n = n;
    }
}

/* The integer engine for a QAT net's folded model: its calibration, and the QAT config,
 * which carries the activation ranges the net trained with. */
static QsEngineInt *
qat_engine (QsTrainNet  *qat,
            QsModel     *folded,
            const float *calib_x,
            guint        n_calib)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsCalibration) calib = qs_calibration_new (folded, calib_x, n_calib, NULL, NULL,
                                                      NULL, &error);
  g_autoptr(QsConfig) trained = NULL;
  QsEngineInt *engine;

  g_assert_no_error (error);
  trained = qs_train_net_get_qat_config (qat, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_config_get_n_activation_ranges (trained), >, 0);
  engine = qs_calibration_compile (calib, folded, trained, &error);
  g_assert_no_error (error);
  return engine;
}

/* QAT's fake quantization against the integer engine on the same model, config and
 * calibration: the trainer computes every integer value with the engine's arithmetic
 * (see test_train_qat_engine_exact), so every logit lands on the same step of the output
 * grid. A wrong range, fusion or fold would move logits by many steps; rounding the float
 * value instead of requantizing the accumulator as the engine does, by a step or a few
 * (most at 4 bits, in the 3 x 3 depthwise layers of MobileNet). */
static void
check_engine_agreement (const char *model_name,
                        const char *preset,
                        gboolean    fine_tune)
{
  g_autoptr(QsModel) model = load_sample_model (model_name);
  g_autoptr(QsTrainNet) net = NULL, qat = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsModel) folded = NULL;
  g_autoptr(QsDataset) test = NULL;
  g_autoptr(QsDataset) calib_set = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL, *calib_x = NULL;
  g_autofree float *logits = NULL;
  g_autofree char *pre = NULL;
  const QsLayer *last;
  guint n = 64, n_calib = 64, agree = 0, far = 0, exact = 0;
  float lo, hi, step, worst = 0;

  if (model == NULL)
    {
      g_test_skip ("sample model not found");
      return;
    }
  config = qs_config_new_from_preset (preset, &error);
  g_assert_no_error (error);
  qs_config_set_calib_images (config, n_calib);
  net = qs_train_net_new_from_model (model, &error);
  g_assert_no_error (error);
  qat = qs_train_net_new_qat (net, config, &error);
  g_assert_no_error (error);

  if (fine_tune)
    {
      g_autoptr(QsDataset) train_set = qs_dataset_open ("sample-train", &error);
      g_autoptr(QsTrainData) data = NULL;
      QsTrainOptions options;

      QsTNode *fc = NULL;
      g_autofree float *before = NULL;
      gsize fc_size;

      /* the last weight layer before the output layer */
      for (guint i = qat->nodes->len - 1; i-- > 0 && fc == NULL;)
        if (((QsTNode *) g_ptr_array_index (qat->nodes, i))->p_kernel >= 0)
          fc = g_ptr_array_index (qat->nodes, i);
      g_assert_nonnull (fc);
      fc_size = ((QsTParam *) g_ptr_array_index (qat->param_list, fc->p_kernel))->size;

      g_assert_no_error (error);
      data = qs_train_data_new_from_dataset (train_set, 640, &error);
      g_assert_no_error (error);
      g_assert_true (_qs_train_net_quantize_weights (qat, &error));
      before = g_memdup2 (fc->quant.kernel_q, fc_size * sizeof (float));
      qs_train_options_init (&options);
      options.learning_rate = 2e-3;
      fit_quiet (qat, data, &options);
      /* The fine-tuning moved weights across quantization steps. */
      g_assert_true (memcmp (before, fc->quant.kernel_q, fc_size * sizeof (float)) != 0);
    }

  test = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  calib_set = qs_dataset_open ("sample-train", &error);
  g_assert_no_error (error);
  folded = qs_train_net_to_model (qat, "qat", &error);
  g_assert_no_error (error);
  x = g_new (float, n * qs_train_net_get_input_size (qat));
  calib_x = g_new (float, n_calib * qs_train_net_get_input_size (qat));
  g_assert_true (qs_dataset_fill_inputs (test, folded, 0, n, x, &error));
  g_assert_true (qs_dataset_fill_inputs (calib_set, folded, 0, n_calib, calib_x, &error));
  engine = qat_engine (qat, folded, calib_x, n_calib);

  logits = g_new (float, n * 10);
  g_assert_true (qs_train_net_predict (qat, x, n, logits, 2, &error));
  g_assert_no_error (error);

  last = qs_model_get_layer (folded, qs_model_get_n_layers (folded) - 1);
  pre = g_strconcat (last->name, "#pre", NULL);
  g_assert_true (qs_train_net_get_activation_range (qat, last->name, &lo, &hi));
  g_assert_cmpfloat (lo, <, hi);
  {
    QsTNode *out = g_ptr_array_index (qat->nodes, qat->nodes->len - 1);

    g_assert_nonnull (out->quant.act_params);
    step = out->quant.act_params->scale[0];
  }
  for (guint s = 0; s < n; s++)
    {
      Tap tap = { pre, NULL, 0 };
      guint am = 0, bm = 0;

      g_assert_true (qs_engine_int_run_tapped (engine, x + s * qs_train_net_get_input_size (qat),
                                               NULL, tap_value, &tap, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (tap.n, ==, 10);
      for (guint k = 0; k < 10; k++)
        {
          float d = fabsf (tap.values[k] - logits[s * 10 + k]) / step;

          far += d > 1.5f;
          exact += d < 0.5f;
          worst = MAX (worst, d);
          if (tap.values[k] > tap.values[bm])
            bm = k;
          if (logits[s * 10 + k] > logits[s * 10 + am])
            am = k;
        }
      agree += am == bm;
      g_free (tap.values);
    }
  g_test_message ("%s %s: argmax agrees on %u / %u images; of %u logits %u equal, %u more "
                  "than one step apart, worst %.2f steps",
                  model_name, preset, agree, n, n * 10, exact, far, worst);
  g_assert_cmpuint (exact, ==, n * 10);
  g_assert_cmpfloat (worst, <, 0.01f);
  g_assert_cmpuint (agree, ==, n);
}

/* A small MobileNet-style network: a stride-2 'same' Conv2D, DepthwiseConv2D (stride 1
 * and stride 2 with a multiplier of 2) and 1x1 Conv2D, each with a BatchNorm and a ReLU6,
 * a linear bottleneck added to its input and clamped by a standalone ReLU6, an even
 * average pooling ('same', windows of 4, 2 and 1 taps), a global average of 16 values,
 * Dropout and a softmax Dense. BatchNorm statistics and weights are perturbed so that
 * every folded bias and scale is non-trivial. */
static QsTNode *
add_bn_relu6 (QsTrainNet *net,
              QsTNode    *conv)
{
  QsTNode *n = add_node (net, QS_TNODE_BATCH_NORM, "BatchNormalization", conv->index);

  conv->use_bias = FALSE;
  n = add_node (net, QS_TNODE_ACTIVATION, "ReLU", n->index);
  n->act = QS_ACTIVATION_RELU;
  n->relu_max = 6.0f;
  return n;
}

static QsTrainNet *
new_tiny_mobilenet (guint64 seed)
{
  QsTrainNet *net = new_input (28, 28, 1);
  QsTNode *n, *skip;
  guint add_inputs[2];
  guint64 state = seed;

  n = add_bn_relu6 (net, add_conv (net, QS_TNODE_CONV2D, 0, 8, 3, 2, QS_PADDING_SAME));
  n = add_bn_relu6 (net, add_conv (net, QS_TNODE_DEPTHWISE, n->index, 1, 3, 1, QS_PADDING_SAME));
  n = add_bn_relu6 (net, add_conv (net, QS_TNODE_CONV2D, n->index, 12, 1, 1, QS_PADDING_SAME));
  n = add_bn_relu6 (net, add_conv (net, QS_TNODE_DEPTHWISE, n->index, 2, 3, 2, QS_PADDING_SAME));
  skip = n = add_bn_relu6 (net, add_conv (net, QS_TNODE_CONV2D, n->index, 16, 1, 1, QS_PADDING_SAME));
  n = add_bn_relu6 (net, add_conv (net, QS_TNODE_DEPTHWISE, n->index, 1, 3, 1, QS_PADDING_SAME));
  n = add_conv (net, QS_TNODE_CONV2D, n->index, 16, 1, 1, QS_PADDING_SAME);
  n->use_bias = FALSE;
  n = add_node (net, QS_TNODE_BATCH_NORM, "BatchNormalization", n->index);
  add_inputs[0] = skip->index;
  add_inputs[1] = n->index;
  n = _qs_train_net_add_node (net, QS_TNODE_ADD, "add", 2, add_inputs);
  n->class_name = g_strdup ("Add");
  n = add_node (net, QS_TNODE_ACTIVATION, "ReLU", n->index);
  n->act = QS_ACTIVATION_RELU;
  n->relu_max = 6.0f;
  n = add_node (net, QS_TNODE_AVG_POOL, "AveragePooling2D", n->index);
  n->kh = n->kw = n->sh = n->sw = 2;
  n->padding = QS_PADDING_SAME;
  n = add_node (net, QS_TNODE_GLOBAL_AVG_POOL, "GlobalAveragePooling2D", n->index);
  n = add_node (net, QS_TNODE_DROPOUT, "Dropout", n->index);
  n->dropout_rate = 0.1f;
  add_dense (net, n->index, 10, QS_ACTIVATION_SOFTMAX);
  g_assert_true (_qs_train_net_finish (net, NULL));
  _qs_train_net_init_weights (net, seed);

  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);

      if (node->kind != QS_TNODE_BATCH_NORM)
        continue;
      for (gsize c = 0; c < node->c; c++)
        {
          node->moving_mean[c] = (float) (0.4 * (_qs_train_rand_uniform (&state) - 0.5));
          node->moving_var[c] = (float) (0.3 + _qs_train_rand_uniform (&state));
        }
    }
  for (gsize k = 0; k < net->n_params; k++)
    net->params[k] += 0.2f * (float) (_qs_train_rand_uniform (&state) - 0.5);
  return net;
}

typedef struct
{
  QsTrainNet *qat;
  guint       image;
  guint       n_values;   /* compared */
  guint       n_off;      /* more than half a step apart */
  float       worst;      /* in steps */
  char       *first_off;  /* the first value (in program order) that differs */
} LayerCompare;

static void
compare_value (const char  *value_name,
               const float *values,
               gsize        n,
               gboolean     is_integer,
               gpointer     user_data)
{
  LayerCompare *cmp = user_data;

  if (!is_integer)
    return;   /* the float image, before the engine quantizes it */
  for (guint i = 0; i < cmp->qat->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (cmp->qat->nodes, i);
      const char *name = node->quant.value_name != NULL ? node->quant.value_name : node->name;
      QsTNode *src;
      float step;
      guint off = 0;

      if (strcmp (name, value_name) != 0 || !node->quant.output || node->quant.source < 0)
        continue;
      src = g_ptr_array_index (cmp->qat->nodes, node->quant.source);
      g_assert_cmpuint (n, ==, node->size);
      g_assert_nonnull (src->quant.act_params);
      step = src->quant.act_params->scale[0];
      for (gsize k = 0; k < n; k++)
        {
          float d = fabsf (values[k] - node->out[k]) / step;

          off += d > 0.5f;
          cmp->worst = MAX (cmp->worst, d);
        }
      cmp->n_values++;
      cmp->n_off += off;
      if (off > 0 && cmp->first_off == NULL)
        cmp->first_off = g_strdup_printf ("%s (image %u: %u of %zu values)", value_name,
                                          cmp->image, off, n);
    }
}

/* The trainer's fake-quantized forward pass against the integer engine, value by value.
 * Both quantize the same image with the same function, and every later integer value is
 * computed from exact codes: a layer's accumulator is an integer that the trainer's float
 * sum (of values on their grids) gives to far better than half a unit, and the rest (the
 * int32 bias, the fixed-point multiplier with its double rounding, the ReLU6 clamp, the
 * integer mean with its ties away from zero, TFLite's Add) the trainer computes as the
 * engine does. So every value, logits included, must land on the same code. At 4 bits a
 * 3 x 3 depthwise layer has accumulator units of 0.1 to 0.7 output steps: rounding the
 * float value instead moves about one output in ten by a step, and the logits by several. */
static void
test_train_qat_engine_exact (gconstpointer data)
{
  const char *preset = data;
  g_autoptr(QsTrainNet) net = new_tiny_mobilenet (21);
  g_autoptr(QsTrainNet) qat = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsModel) folded = NULL;
  g_autoptr(QsDataset) test = NULL, calib_set = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL, *calib_x = NULL;
  LayerCompare cmp = { 0 };
  guint n = 24, n_calib = 64;
  gsize in_size;

  test = qs_dataset_open ("sample", NULL);
  calib_set = qs_dataset_open ("sample-train", NULL);
  if (test == NULL || calib_set == NULL)
    {
      g_test_skip ("sample datasets not found");
      return;
    }
  config = qs_config_new_from_preset (preset, &error);
  g_assert_no_error (error);
  qs_config_set_calib_images (config, n_calib);
  qs_config_set_calib_source (config, "sample-train");
  qat = qs_train_net_new_qat (net, config, &error);
  g_assert_no_error (error);
  folded = qs_train_net_to_model (qat, "tiny-mobilenet", &error);
  g_assert_no_error (error);
  in_size = qs_train_net_get_input_size (qat);
  x = g_new (float, n * in_size);
  calib_x = g_new (float, n_calib * in_size);
  g_assert_true (qs_dataset_fill_inputs (test, folded, 0, n, x, &error));
  g_assert_true (qs_dataset_fill_inputs (calib_set, folded, 0, n_calib, calib_x, &error));
  engine = qat_engine (qat, folded, calib_x, n_calib);

  cmp.qat = qat;
  for (guint s = 0; s < n; s++)
    {
      float logits[10];

      /* one image at a time: the trainer's node outputs are then this image's */
      g_assert_true (qs_train_net_predict (qat, x + s * in_size, 1, logits, 1, &error));
      g_assert_no_error (error);
      cmp.image = s;
      g_assert_true (qs_engine_int_run_tapped (engine, x + s * in_size, NULL, compare_value,
                                               &cmp, &error));
      g_assert_no_error (error);
    }
  g_test_message ("%s: %u integer values compared, %u outputs off by more than half a "
                  "step (worst %.2f steps), first: %s", preset, cmp.n_values, cmp.n_off,
                  cmp.worst, cmp.first_off != NULL ? cmp.first_off : "none");
  /* input, 5 ReLU6 groups, add, its ReLU6, 2 poolings, logits; and the depthwise ones */
  g_assert_cmpuint (cmp.n_values, ==, n * 12);
  g_assert_cmpstr (cmp.first_off, ==, NULL);
  g_assert_cmpfloat (cmp.worst, <, 0.01f);
}

/* --- errors --- */

static void
test_train_qat_engine (gconstpointer data)
{
  g_auto(GStrv) parts = g_strsplit (data, " ", 3);

  check_engine_agreement (parts[0], parts[1], parts[2] != NULL);
}

static void
test_train_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTrainNet) net = qs_train_net_new_arch ("cnn", 1, NULL);
  g_autoptr(QsTrainData) wrong_size = random_data (10, 100, 10, 1);
  g_autoptr(QsTrainData) wrong_labels = NULL;
  guint8 pixels[2 * 784] = { 0 }, labels[2] = { 3, 11 };
  QsTrainOptions options;

  g_assert_null (qs_train_net_new_arch ("transformer", 1, &error));
  g_assert_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "transformer"));
  g_clear_error (&error);

  qs_train_options_init (&options);
  g_assert_false (qs_train_net_fit (net, wrong_size, &options, NULL, NULL, NULL, &error));
  g_assert_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID);
  g_clear_error (&error);

  /* Label 11 does not exist in a 10-class model. */
  wrong_labels = qs_train_data_new (2, 784, pixels, labels, 12);
  g_assert_false (qs_train_net_fit (net, wrong_labels, &options, NULL, NULL, NULL, &error));
  g_assert_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "11"));
  g_clear_error (&error);

  options.learning_rate = 1e6;
  g_assert_false (qs_train_net_fit (net, wrong_size, &options, NULL, NULL, NULL, &error));
  g_assert_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qs/train/gradients/every-layer", test_train_gradients_every_layer);
  g_test_add_func ("/qs/train/gradients/archs", test_train_gradients_archs);
  g_test_add_func ("/qs/train/determinism", test_train_determinism);
  g_test_add_func ("/qs/train/resume", test_train_resume);
  g_test_add_func ("/qs/train/errors", test_train_errors);
  g_test_add_func ("/qs/train/roundtrip", test_train_roundtrip);
  g_test_add_func ("/qs/train/shared-models", test_train_shared_models);
  g_test_add_func ("/qs/train/qat/fold", test_train_qat_fold);
  g_test_add_data_func ("/qs/train/qat/engine/cnn-w8a8", "fmnist-cnn w8a8", test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/cnn-w4a4", "fmnist-cnn w4a4", test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/cnn-w4a4-fine-tuned", "fmnist-cnn w4a4 fit",
                        test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/mlp-w4a8", "fmnist-mlp w4a8", test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/resnet-w8a8", "fmnist-resnet w8a8", test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/resnet-w4a4", "fmnist-resnet w4a4", test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/mobilenet-w8a8-tensor", "fmnist-mobilenet w8a8-tensor",
                        test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/mobilenet-w4a4", "fmnist-mobilenet w4a4",
                        test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/mobilenet-w4a4-fine-tuned", "fmnist-mobilenet w4a4 fit",
                        test_train_qat_engine);
  g_test_add_data_func ("/qs/train/qat/engine/exact/tiny-mobilenet-w4a4", "w4a4",
                        test_train_qat_engine_exact);
  g_test_add_data_func ("/qs/train/qat/engine/exact/tiny-mobilenet-w8a8", "w8a8",
                        test_train_qat_engine_exact);
  return g_test_run ();
}
