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

/* The target check the app's summary bar makes on every config change (TFLite int8: the
 * most rules of the bundled targets). */
typedef struct
{
  QsModel  *model;
  QsConfig *config;
  QsTarget *target;
} TargetJob;

static void
run_target_check (gpointer data)
{
  TargetJob *job = data;
  g_autoptr(GPtrArray) issues = qs_target_check (job->target, job->model, job->config);

  g_assert (issues != NULL);
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
  g_autoptr(QsModel) model = qs_synthetic_resnet50 (quick ? 8 : 1, quick ? 64 : 224, quick ? 10 : 1000, NULL);
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
    {
      g_autoptr(QsTarget) target = qs_target_load ("tflite-int8", NULL);

      if (target != NULL)
        {
          TargetJob tjob = { loaded, config, target };
          double t_target = qs_bench_best_seconds (5, run_target_check, &tjob);

          qs_bench_add_ms (bench, quick ? "target-check-resnet50-small" : "target-check-resnet50",
                           t_target * 1e3, "vs_cost", t_target / t_cost);
        }
    }
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
      model = qs_synthetic_fmnist_cnn (NULL);
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
