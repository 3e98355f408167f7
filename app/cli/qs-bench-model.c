/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "qs-cli-bench.h"
#include "quantscope-core.h"

/* Benchmark group "model": load time and peak memory of a synthetic ResNet-50 (25.6M
 * parameters, written with the Keras 2 writer), and float engine images/s on a Fashion-MNIST
 * CNN (the real file from ../shared/models when QS_SHARED_DIR points there, otherwise a
 * synthesized CNN of the same shape). */

typedef struct
{
  GPtrArray *layers;
  guint32    seed;
  guint      counter;
} Builder;

static void
fill (Builder  *b,
      QsTensor *t,
      float     lo,
      float     hi)
{
  for (gsize i = 0; i < t->n_elements; i++)
    {
      b->seed = b->seed * 1664525u + 1013904223u;
      t->data[i] = lo + (hi - lo) * (float) (b->seed >> 8) / (float) (1 << 24);
    }
}

static guint
add (Builder *b,
     QsLayer *l,
     guint    n_inputs,
     guint    in0,
     guint    in1)
{
  l->n_inputs = n_inputs;
  l->inputs = g_new (guint, MAX (n_inputs, 1));
  if (n_inputs > 0)
    l->inputs[0] = in0;
  if (n_inputs > 1)
    l->inputs[1] = in1;
  g_ptr_array_add (b->layers, l);
  return b->layers->len - 1;
}

static QsLayer *
named (Builder    *b,
       const char *prefix,
       const char *cls,
       QsLayerKind kind)
{
  g_autofree char *name = g_strdup_printf ("%s_%u", prefix, b->counter++);
  return qs_layer_new (name, cls, kind);
}

static void
weight (Builder    *b,
        QsLayer    *l,
        const char *short_name,
        guint       n_dims,
        const gsize *shape,
        float       lo,
        float       hi)
{
  g_autofree char *name = g_strdup_printf ("%s/%s", l->name, short_name);
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);

  fill (b, t, lo, hi);
  g_ptr_array_add (l->weights, t);
}

static guint
conv (Builder  *b,
      guint     in,
      gsize     in_c,
      gsize     out_c,
      guint     k,
      guint     stride,
      QsPadding padding)
{
  QsLayer *l = named (b, "conv2d", "Conv2D", QS_LAYER_CONV2D);

  l->filters = out_c;
  l->kernel_size[0] = l->kernel_size[1] = k;
  l->strides[0] = l->strides[1] = stride;
  l->padding = padding;
  weight (b, l, "kernel", 4, (gsize[]) { k, k, in_c, out_c }, -0.05f, 0.05f);
  weight (b, l, "bias", 1, (gsize[]) { out_c }, -0.05f, 0.05f);
  return add (b, l, 1, in, 0);
}

static guint
bn (Builder *b,
    guint    in,
    gsize    c,
    gboolean relu)
{
  QsLayer *l = named (b, "batch_normalization", "BatchNormalization", QS_LAYER_BATCH_NORM);
  guint out;

  weight (b, l, "gamma", 1, &c, 0.5f, 1.5f);
  weight (b, l, "beta", 1, &c, -0.1f, 0.1f);
  weight (b, l, "moving_mean", 1, &c, -0.1f, 0.1f);
  weight (b, l, "moving_variance", 1, &c, 0.5f, 1.5f);
  out = add (b, l, 1, in, 0);
  if (relu)
    {
      QsLayer *a = named (b, "activation", "Activation", QS_LAYER_ACTIVATION);
      a->activation = QS_ACTIVATION_RELU;
      out = add (b, a, 1, out, 0);
    }
  return out;
}

static guint
bottleneck (Builder *b,
            guint    in,
            gsize    in_c,
            gsize    f,
            guint    stride,
            gboolean project)
{
  guint shortcut = in, y, sum;
  QsLayer *l;

  if (project)
    shortcut = bn (b, conv (b, in, in_c, 4 * f, 1, stride, QS_PADDING_VALID), 4 * f, FALSE);
  y = bn (b, conv (b, in, in_c, f, 1, stride, QS_PADDING_VALID), f, TRUE);
  y = bn (b, conv (b, y, f, f, 3, 1, QS_PADDING_SAME), f, TRUE);
  y = bn (b, conv (b, y, f, 4 * f, 1, 1, QS_PADDING_VALID), 4 * f, FALSE);
  sum = add (b, named (b, "add", "Add", QS_LAYER_ADD), 2, shortcut, y);
  l = named (b, "activation", "Activation", QS_LAYER_ACTIVATION);
  l->activation = QS_ACTIVATION_RELU;
  return add (b, l, 1, sum, 0);
}

/* ResNet-50 (Keras applications layout); width_div and size shrink it for --quick. */
static QsModel *
build_resnet50 (guint width_div,
                gsize size,
                gsize classes)
{
  Builder b = { g_ptr_array_new (), 12345u, 1 };
  static const guint blocks[4] = { 3, 4, 6, 3 };
  QsLayer *l;
  guint x;
  gsize c, w = 64 / width_div;

  l = qs_layer_new ("input_1", "InputLayer", QS_LAYER_INPUT);
  l->output_rank = 3;
  l->output_shape[0] = l->output_shape[1] = size;
  l->output_shape[2] = 3;
  x = add (&b, l, 0, 0, 0);
  l = named (&b, "zero_padding2d", "ZeroPadding2D", QS_LAYER_ZERO_PADDING2D);
  l->zero_padding[0] = l->zero_padding[1] = l->zero_padding[2] = l->zero_padding[3] = 3;
  x = add (&b, l, 1, x, 0);
  x = bn (&b, conv (&b, x, 3, w, 7, 2, QS_PADDING_VALID), w, TRUE);
  l = named (&b, "zero_padding2d", "ZeroPadding2D", QS_LAYER_ZERO_PADDING2D);
  l->zero_padding[0] = l->zero_padding[1] = l->zero_padding[2] = l->zero_padding[3] = 1;
  x = add (&b, l, 1, x, 0);
  l = named (&b, "max_pooling2d", "MaxPooling2D", QS_LAYER_MAX_POOL2D);
  l->pool_size[0] = l->pool_size[1] = 3;
  l->pool_strides[0] = l->pool_strides[1] = 2;
  x = add (&b, l, 1, x, 0);
  c = w;
  for (guint s = 0; s < 4; s++)
    {
      gsize f = (64 << s) / width_div;
      for (guint k = 0; k < blocks[s]; k++)
        {
          x = bottleneck (&b, x, c, f, k == 0 && s > 0 ? 2 : 1, k == 0);
          c = 4 * f;
        }
    }
  x = add (&b, named (&b, "global_average_pooling2d", "GlobalAveragePooling2D", QS_LAYER_GLOBAL_AVG_POOL2D), 1, x, 0);
  l = named (&b, "dense", "Dense", QS_LAYER_DENSE);
  l->units = classes;
  l->activation = QS_ACTIVATION_SOFTMAX;
  weight (&b, l, "kernel", 2, (gsize[]) { c, classes }, -0.05f, 0.05f);
  weight (&b, l, "bias", 1, &classes, -0.05f, 0.05f);
  add (&b, l, 1, x, 0);
  return qs_model_new_from_layers ("resnet50", b.layers, NULL);
}

/* The Fashion-MNIST CNN of ../shared/models, same shapes, random weights. */
static QsModel *
build_fmnist_cnn (void)
{
  Builder b = { g_ptr_array_new (), 777u, 1 };
  QsLayer *l;
  guint x;
  static const gsize filters[4] = { 16, 16, 32, 64 };
  gsize c = 1;

  l = qs_layer_new ("input_1", "InputLayer", QS_LAYER_INPUT);
  l->output_rank = 3;
  l->output_shape[0] = l->output_shape[1] = 28;
  l->output_shape[2] = 1;
  x = add (&b, l, 0, 0, 0);
  for (guint i = 0; i < 4; i++)
    {
      QsLayer *cl;
      x = conv (&b, x, c, filters[i], 3, 1, QS_PADDING_VALID);
      cl = g_ptr_array_index (b.layers, x);
      cl->activation = QS_ACTIVATION_RELU;
      c = filters[i];
      if (i == 1 || i == 3)
        {
          l = named (&b, "max_pooling2d", "MaxPooling2D", QS_LAYER_MAX_POOL2D);
          x = add (&b, l, 1, x, 0);
        }
    }
  x = add (&b, named (&b, "flatten", "Flatten", QS_LAYER_FLATTEN), 1, x, 0);
  l = named (&b, "dense", "Dense", QS_LAYER_DENSE);
  l->units = 128;
  l->activation = QS_ACTIVATION_RELU;
  weight (&b, l, "kernel", 2, (gsize[]) { 1024, 128 }, -0.05f, 0.05f);
  weight (&b, l, "bias", 1, (gsize[]) { 128 }, -0.05f, 0.05f);
  x = add (&b, l, 1, x, 0);
  l = named (&b, "dense", "Dense", QS_LAYER_DENSE);
  l->units = 10;
  l->activation = QS_ACTIVATION_SOFTMAX;
  weight (&b, l, "kernel", 2, (gsize[]) { 128, 10 }, -0.05f, 0.05f);
  weight (&b, l, "bias", 1, (gsize[]) { 10 }, -0.05f, 0.05f);
  add (&b, l, 1, x, 0);
  return qs_model_new_from_layers ("fmnist-cnn", b.layers, NULL);
}

static gint64
proc_status_kb (const char *field)
{
  g_autofree char *status = NULL;
  const char *at;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  at = strstr (status, field);
  if (at == NULL)
    return -1;
  return g_ascii_strtoll (at + strlen (field) + 1, NULL, 10);
}

typedef struct
{
  const char *path;
} LoadJob;

static void
run_load (gpointer data)
{
  LoadJob *job = data;
  g_autoptr(QsModel) model = qs_model_load (job->path, NULL, NULL, NULL);

  g_assert (model != NULL);
}

/* The same file through the sandboxed reader (quantscope-loader and the pipe). */
static void
run_load_untrusted (gpointer data)
{
  LoadJob *job = data;
  g_autoptr(QsModel) model = qs_model_load_untrusted (job->path, NULL, NULL, NULL);

  g_assert (model != NULL);
}

typedef struct
{
  QsEngineFloat *engine;
  const float   *input;
  float         *output;
  gsize          batch;
  guint          threads;
} RunJob;

static void
run_engine (gpointer data)
{
  RunJob *job = data;

  qs_engine_float_run (job->engine, job->input, job->batch, job->output, job->threads,
                       NULL, NULL, NULL, NULL);
}

typedef struct
{
  QsModel  *model;
  QsConfig *config;
} CostJob;

/* What the app's summary does on every config change: lower and cost the whole model. */
static void
run_cost (gpointer data)
{
  CostJob *job = data;
  QsCost cost;

  qs_cost_compute (job->model, job->config, &cost);
  g_assert (cost.has_program);
}

/* What compiling a program adds: every kernel folded and quantized. */
static void
run_lowering_weights (gpointer data)
{
  CostJob *job = data;
  g_autoptr(QsLowering) lowering = qs_lowering_new (job->model, job->config, NULL);

  g_assert (lowering != NULL && qs_lowering_prepare_weights (lowering, NULL));
}

static void
bench_load (QsBench *bench)
{
  gboolean quick = qs_bench_quick (bench);
  g_autoptr(QsModel) model = build_resnet50 (quick ? 8 : 1, quick ? 64 : 224, quick ? 10 : 1000);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  gsize weight_bytes;
  gint64 rss0, hwm;
  double seconds;
  LoadJob job;
  int fd;

  g_assert (model != NULL);
  weight_bytes = qs_model_get_n_params (model) * sizeof (float);
  fd = g_file_open_tmp ("qs-bench-model-XXXXXX.h5", &path, &error);
  if (fd < 0)
    {
      g_printerr ("bench model: %s\n", error->message);
      return;
    }
  close (fd);
  if (!qs_model_save (model, path, NULL, &error))
    {
      g_printerr ("bench model: %s\n", error->message);
      g_unlink (path);
      return;
    }
  g_clear_object (&model);

  /* Peak memory of one load: reset the high-water mark (Linux clear_refs 5), then load. */
  g_file_set_contents ("/proc/self/clear_refs", "5", 1, NULL);
  rss0 = proc_status_kb ("VmRSS:");
  job.path = path;
  run_load (&job);
  hwm = proc_status_kb ("VmHWM:");
  seconds = qs_bench_best_seconds (quick ? 2 : 3, run_load, &job);
  if (qs_model_sandbox_available ())
    {
      double t_sandboxed = qs_bench_best_seconds (quick ? 2 : 3, run_load_untrusted, &job);
      qs_bench_add_ms (bench, quick ? "model-load-resnet50-small-sandboxed" : "model-load-resnet50-sandboxed",
                       t_sandboxed * 1e3, "vs_in_process", t_sandboxed / seconds);
    }
  {
    /* after the memory measurement: the quantized kernels would stay in the heap */
    g_autoptr(QsModel) loaded = qs_model_load (path, NULL, NULL, NULL);
    g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
    CostJob cjob = { loaded, config };
    double t_cost = qs_bench_best_seconds (5, run_cost, &cjob);
    double t_weights = qs_bench_best_seconds (quick ? 1 : 2, run_lowering_weights, &cjob);

    qs_bench_add_ms (bench, quick ? "lowering-cost-resnet50-small" : "lowering-cost-resnet50",
                     t_cost * 1e3, "vs_quantize_all", t_weights / t_cost);
    qs_bench_add_ms (bench, quick ? "lowering-weights-resnet50-small" : "lowering-weights-resnet50",
                     t_weights * 1e3, NULL, 0);
  }
  g_unlink (path);

  qs_bench_add_ms (bench, quick ? "model-load-resnet50-small" : "model-load-resnet50",
                   seconds * 1e3, NULL, 0);
  qs_bench_add_bandwidth (bench, quick ? "model-load-resnet50-small-bytes" : "model-load-resnet50-bytes",
                          weight_bytes / seconds / 1e9);
  if (rss0 > 0 && hwm > 0)
    qs_bench_add_rate (bench, quick ? "model-load-peak-memory-small" : "model-load-peak-memory",
                       "mb", (hwm - rss0) / 1024.0, "vs_weight_bytes",
                       (hwm - rss0) * 1024.0 / weight_bytes);
}

static void
bench_engine_float (QsBench *bench)
{
  gboolean quick = qs_bench_quick (bench);
  const char *shared = g_getenv ("QS_SHARED_DIR");
  g_autofree char *cnn_path = shared != NULL
    ? g_build_filename (shared, "models", "Muhtashim009__Fashion_mnist_cnn__fashion_mnist_model.h5", NULL) : NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsEngineFloat) engine = NULL;
  g_autofree float *input = NULL;
  g_autofree float *output = NULL;
  gsize n = quick ? 64 : 1000;
  const char *name;
  RunJob job;
  double one, all;

  if (cnn_path != NULL && g_file_test (cnn_path, G_FILE_TEST_EXISTS))
    {
      model = qs_model_load (cnn_path, NULL, NULL, NULL);
      name = "float-engine-fmnist-cnn";
    }
  if (model == NULL)
    {
      model = build_fmnist_cnn ();
      name = "float-engine-fmnist-cnn-synthetic";
    }
  dataset = qs_dataset_open ("sample", NULL);
  engine = qs_engine_float_new (model, NULL);
  if (dataset == NULL || engine == NULL)
    return;
  input = g_new (float, n * 784);
  output = g_new (float, n * 10);
  if (!qs_dataset_fill_inputs (dataset, model, 0, n, input, NULL))
    return;
  job.engine = engine;
  job.input = input;
  job.output = output;
  job.batch = n;
  job.threads = 1;
  one = qs_bench_best_seconds (quick ? 1 : 2, run_engine, &job);
  job.threads = 0;
  all = qs_bench_best_seconds (quick ? 1 : 2, run_engine, &job);
  qs_bench_add_rate (bench, name, "images_per_s", n / all, "vs_one_thread", one / all);
}

void
qs_bench_model (QsBench *bench)
{
  bench_load (bench);
  bench_engine_float (bench);
}
