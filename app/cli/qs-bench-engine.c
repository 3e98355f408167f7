/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "qs-cli-bench.h"
#include "quantscope-core.h"
#include "qs-engine-int-private.h"

/* Bench group "engine": the 10,000 Fashion-MNIST test images through a CNN (the shared
 * Muhtashim009 Fashion-MNIST CNN when ../shared is present, else a synthesized CNN of the
 * same shape) with the float engine and the integer engine (w8a8), 2 threads, in the same
 * run; plus the latency of the app's "quick accuracy" (qs_eval_run on 1,000 images with
 * the float side and the calibration cached, as in the live view).
 *
 * ImageNet-sized cases: a ResNet-18-shaped and a MobileNetV2-shaped model at 224x224x3
 * (qs-synthetic: seeded weights, BatchNorm settled on synthetic images) written with the
 * Keras writer and loaded back, float engine and int8 engine (w8a8, gemmlowp and fp32-rne)
 * images/s on --images N synthetic images (default 64). With --model FILE the same three
 * numbers for that file instead, on --dataset D or synthetic images. */

#define BENCH_THREADS 2

static void bench_engine_cnn (QsBench *bench);

static QsTensor *
random_tensor (const char    *name,
               guint          n_dims,
               const gsize   *shape,
               QsTensorLayout layout,
               double         fan_in,
               GRand         *rand)
{
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);
  double a = sqrt (3.0 / fan_in);

  qs_tensor_set_layout (t, layout);
  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = layout == QS_TENSOR_LAYOUT_VECTOR ? (float) g_rand_double_range (rand, -0.05, 0.05)
                                                   : (float) g_rand_double_range (rand, -a, a);
  return t;
}

static QsLayer *
layer_with_input (const char  *name,
                  const char  *class_name,
                  QsLayerKind  kind,
                  guint        input)
{
  QsLayer *l = qs_layer_new (name, class_name, kind);

  l->n_inputs = 1;
  l->inputs = g_new (guint, 1);
  l->inputs[0] = input;
  return l;
}

static void
add_conv (GPtrArray  *layers,
          const char *name,
          gsize       cin,
          gsize       cout,
          GRand      *rand)
{
  QsLayer *l = layer_with_input (name, "Conv2D", QS_LAYER_CONV2D, layers->len - 1);
  gsize k[] = { 3, 3, cin, cout }, b[] = { cout };
  g_autofree char *kn = g_strconcat (name, "/kernel", NULL), *bn = g_strconcat (name, "/bias", NULL);

  l->filters = cout;
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->activation = QS_ACTIVATION_RELU;
  l->use_bias = TRUE;
  g_ptr_array_add (l->weights, random_tensor (kn, 4, k, QS_TENSOR_LAYOUT_CONV2D, 9.0 * cin, rand));
  g_ptr_array_add (l->weights, random_tensor (bn, 1, b, QS_TENSOR_LAYOUT_VECTOR, 1, rand));
  g_ptr_array_add (layers, l);
}

static void
add_pool (GPtrArray  *layers,
          const char *name)
{
  QsLayer *l = layer_with_input (name, "MaxPooling2D", QS_LAYER_MAX_POOL2D, layers->len - 1);

  l->pool_size[0] = l->pool_size[1] = 2;
  l->pool_strides[0] = l->pool_strides[1] = 2;
  g_ptr_array_add (layers, l);
}

static void
add_dense (GPtrArray   *layers,
           const char  *name,
           gsize        in,
           gsize        out,
           QsActivation act,
           GRand       *rand)
{
  QsLayer *l = layer_with_input (name, "Dense", QS_LAYER_DENSE, layers->len - 1);
  gsize k[] = { in, out }, b[] = { out };
  g_autofree char *kn = g_strconcat (name, "/kernel", NULL), *bn = g_strconcat (name, "/bias", NULL);

  l->units = out;
  l->activation = act;
  l->use_bias = TRUE;
  g_ptr_array_add (l->weights, random_tensor (kn, 2, k, QS_TENSOR_LAYOUT_DENSE, in, rand));
  g_ptr_array_add (l->weights, random_tensor (bn, 1, b, QS_TENSOR_LAYOUT_VECTOR, 1, rand));
  g_ptr_array_add (layers, l);
}

/* The Muhtashim009 architecture with random weights. */
static QsModel *
synthesize_cnn (GError **error)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("input", "InputLayer", QS_LAYER_INPUT);

  in->output_rank = 3;
  in->output_shape[0] = in->output_shape[1] = 28;
  in->output_shape[2] = 1;
  g_ptr_array_add (layers, in);
  add_conv (layers, "conv2d", 1, 16, rand);
  add_conv (layers, "conv2d_1", 16, 16, rand);
  add_pool (layers, "max_pooling2d");
  add_conv (layers, "conv2d_2", 16, 32, rand);
  add_conv (layers, "conv2d_3", 32, 64, rand);
  add_pool (layers, "max_pooling2d_1");
  g_ptr_array_add (layers, layer_with_input ("flatten", "Flatten", QS_LAYER_FLATTEN, layers->len - 1));
  add_dense (layers, "dense", 1024, 128, QS_ACTIVATION_RELU, rand);
  add_dense (layers, "dense_1", 128, 10, QS_ACTIVATION_SOFTMAX, rand);
  return qs_model_new_from_layers ("synthetic-cnn", layers, error);
}

typedef struct
{
  QsEngineInt   *engine;
  QsEngineFloat *fengine;
  QsModel       *model;
  QsConfig      *config;
  QsDataset     *dataset;
  const float   *input;
  float         *output;
  gsize          n;
  gboolean       ok;
  QsEvalCache   *cache;
} Job;

static void
run_float (gpointer data)
{
  Job *j = data;

  j->ok &= qs_engine_float_run (j->fengine, j->input, j->n, j->output, BENCH_THREADS, NULL, NULL, NULL, NULL);
}

static void
run_int (gpointer data)
{
  Job *j = data;

  j->ok &= qs_engine_int_run (j->engine, j->input, j->n, j->output, BENCH_THREADS, NULL, NULL, NULL, NULL);
}

static void
run_quick_eval (gpointer data)
{
  Job *j = data;
  QsEvalOptions opts = { .limit = 1000, .n_threads = BENCH_THREADS, .cache = j->cache };
  QsEvalResult *r = qs_eval_run (j->model, j->config, j->dataset, &opts, NULL, NULL, NULL, NULL);

  j->ok &= r != NULL;
  if (r != NULL)
    qs_eval_result_unref (r);
}

/* --- ImageNet-sized models --- */

static const struct
{
  const char *name;
  QsModel   *(*build) (gsize size, gsize classes, GError **error);
} shapes[] = {
  { "resnet18", qs_synthetic_resnet18 },
  { "mobilenetv2", qs_synthetic_mobilenet_v2 },
};

#define SETTLE_IMAGES 4
#define SETTLE_SEED   99
#define INPUT_SEED    7

static QsModel *
build_settled (guint    which,
               gsize    size,
               GError **error)
{
  g_autoptr(QsModel) model = shapes[which].build (size, 1000, error);

  if (model == NULL || !qs_synthetic_settle_batch_norm (model, SETTLE_IMAGES, SETTLE_SEED, error))
    return NULL;
  return g_steal_pointer (&model);
}

gboolean
qs_bench_write_models (const char *dir)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_printerr (_("quantscope-cli bench: cannot create “%s”: %s\n"), dir, g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsModel) model = build_settled (i, 224, &error);
      g_autofree char *base = g_strconcat (shapes[i].name, ".h5", NULL);
      g_autofree char *path = g_build_filename (dir, base, NULL);

      if (model == NULL || !qs_model_save (model, path, NULL, &error))
        {
          g_printerr ("quantscope-cli bench: %s: %s\n", path, error->message);
          return FALSE;
        }
      g_print ("%s\n", path);
    }
  /* and a 25.6M-parameter network, for the live accuracy at that size (not an engine case:
   * bench --only live-accuracy --model DIR/resnet50.h5) */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QsModel) model = qs_synthetic_resnet50 (1, 224, 1000, &error);
    g_autofree char *path = g_build_filename (dir, "resnet50.h5", NULL);

    if (model == NULL || !qs_synthetic_settle_batch_norm (model, SETTLE_IMAGES, SETTLE_SEED, &error)
        || !qs_model_save (model, path, NULL, &error))
      {
        g_printerr ("quantscope-cli bench: %s: %s\n", path, error->message);
        return FALSE;
      }
    g_print ("%s\n", path);
  }
  return TRUE;
}

/* bench --per-layer: each op of the int8 engine on one thread (CPU ms per image, share of
 * the engine's time), then each layer class (conv 3x3, conv 1x1, depthwise, dense, add ...):
 * ms per image, GMAC/s and share; with VNNI kernels also the measured per-thread peak and
 * each class's GMAC/s as a fraction of it ("of_peak"). */
static void
bench_per_layer (QsBench     *bench,
                 const char  *label,
                 QsEngineInt *engine,
                 const float *input,
                 guint        n)
{
  g_autoptr(GArray) times = qs_engine_int_profile (engine, input, MIN (n, 16));
  g_autoptr(GHashTable) classes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  double total = 0.0;
  g_autofree double *sums = g_new0 (double, 2 * times->len);   /* seconds, MACs per class */
  guint n_classes = 0;
  const QsIntKernels *kernels = qs_int_kernels_get ();
  double peak = 0.0;

  for (guint i = 0; i < times->len; i++)
    total += g_array_index (times, QsEngineOpTime, i).seconds;
  for (guint i = 0; i < times->len; i++)
    {
      const QsEngineOpTime *t = &g_array_index (times, QsEngineOpTime, i);
      g_autofree char *name = g_strdup_printf ("engine-int-w8a8-%s-op%03u-%s%s%s", label, i,
                                               t->layer_class, t->value ? "-" : "",
                                               t->value ? t->value : "");
      gpointer slot;

      qs_bench_add_ms (bench, name, t->seconds * 1e3, "share", total > 0 ? t->seconds / total : 0);
      if (!g_hash_table_lookup_extended (classes, t->layer_class, NULL, &slot))
        {
          slot = GUINT_TO_POINTER (n_classes++);
          g_hash_table_insert (classes, (gpointer) t->layer_class, slot);
          g_ptr_array_add (order, (gpointer) t->layer_class);
        }
      sums[2 * GPOINTER_TO_UINT (slot)] += t->seconds;
      sums[2 * GPOINTER_TO_UINT (slot) + 1] += t->macs;
    }
  /* the machine's multiply-accumulate peak on this thread, measured now, when the kernels
   * in use have one GEMM instruction (VNNI): each class's GMAC/s is also a share of it */
  if (kernels->peak_gmacs != NULL)
    {
      g_autofree char *name = g_strdup_printf ("engine-int-peak-%s", kernels->name);

      peak = kernels->peak_gmacs ();
      qs_bench_add_rate (bench, name, "gmac_per_s", peak, NULL, 0);
    }
  for (guint c = 0; c < n_classes; c++)
    {
      g_autofree char *name = g_strdup_printf ("engine-int-w8a8-%s-class-%s", label,
                                               (const char *) order->pdata[c]);
      g_autofree char *rate = g_strdup_printf ("%s-gmac", name);

      qs_bench_add_ms (bench, name, sums[2 * c] * 1e3, "share", total > 0 ? sums[2 * c] / total : 0);
      if (sums[2 * c + 1] > 0 && sums[2 * c] > 0)
        {
          double gmacs = sums[2 * c + 1] / sums[2 * c] / 1e9;

          qs_bench_add_rate (bench, rate, "gmac_per_s", gmacs, peak > 0 ? "of_peak" : NULL,
                             peak > 0 ? gmacs / peak : 0);
        }
    }
}

static double
process_cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* QS_BENCH_CALIB_THREADS=N: the calibration pass on N threads (default 0: one per
 * processor, as the app), to compare with the one-thread pass. */
static guint
calib_threads (void)
{
  const char *s = g_getenv ("QS_BENCH_CALIB_THREADS");

  return s != NULL ? (guint) g_ascii_strtoull (s, NULL, 10) : 0;
}

/* QS_BENCH_CALIB_IMAGES=N: calibrate on min (N, --images) images (default 32). */
static guint
calib_images (void)
{
  const char *s = g_getenv ("QS_BENCH_CALIB_IMAGES");
  guint n = s != NULL ? (guint) g_ascii_strtoull (s, NULL, 10) : 0;

  return n > 0 ? n : 32;
}

/* Float, int8 gemmlowp and int8 fp32-rne images/s of one model on n images, and the
 * calibration pass (qs_calibration_new on min (n, calib_images ()) images) as images/s
 * with its ratio to the float engine and its process CPU time (calibration-LABEL,
 * calibration-LABEL-cpu). */
static gboolean
bench_one_model (QsBench     *bench,
                 const char  *label,
                 QsModel     *model,
                 QsDataset   *dataset,
                 guint        n,
                 GError     **error)
{
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", error);
  g_autoptr(QsConfig) rne = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineFloat) fengine = NULL;
  g_autoptr(QsEngineInt) engine = NULL, engine_rne = NULL;
  g_autofree float *input = NULL, *output = NULL;
  g_autofree char *name_float = NULL, *name_int = NULL, *name_rne = NULL;
  gsize in_size, out_size;
  double t_float, t_int, t_rne, t_calib, cpu_calib, cpu0;
  QsEngineIntMemory mem;
  gint64 wall0;
  guint n_calib;
  g_autofree char *name_calib = NULL, *name_calib_cpu = NULL;
  int reps = qs_bench_quick (bench) ? 1 : 2;
  Job job = { 0 };

  if (config == NULL)
    return FALSE;
  if (dataset != NULL)
    n = MIN (n, qs_dataset_get_n_images (dataset));
  fengine = qs_engine_float_new (model, error);
  if (fengine == NULL || n == 0)
    return fengine != NULL;
  {
    gsize shape[QS_TENSOR_MAX_DIMS];
    guint rank = qs_model_get_input_shape (model, shape);
    const QsLayer *last = qs_model_get_layer (model, qs_model_get_n_layers (model) - 1);

    in_size = out_size = 1;
    for (guint i = 0; i < rank; i++)
      in_size *= shape[i];
    for (guint i = 0; i < last->output_rank; i++)
      out_size *= last->output_shape[i];
  }
  input = g_try_new (float, (gsize) n * in_size);
  output = g_try_new (float, (gsize) n * out_size);
  if (input == NULL || output == NULL)
    {
      g_set_error (error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED, _("Not enough memory for %u images"), n);
      return FALSE;
    }
  if (dataset != NULL)
    {
      if (!qs_dataset_fill_inputs (dataset, model, 0, n, input, error))
        return FALSE;
    }
  else
    qs_synthetic_images (input, (gsize) n * in_size, INPUT_SEED);

  /* the float engine first, then freed: the integer runs do not need its packed weights and
   * arenas (issue 16: peak memory) */
  job = (Job) { NULL, fengine, model, config, dataset, input, output, n, TRUE, NULL };
  t_float = qs_bench_best_seconds (reps, run_float, &job);
  g_clear_pointer (&fengine, qs_engine_float_free);
  job.fengine = NULL;

  /* the calibration pass alone (the float program, tapped, over the images in parallel):
   * wall and process CPU time */
  n_calib = MIN (n, calib_images ());
  wall0 = g_get_monotonic_time ();
  cpu0 = process_cpu_seconds ();
  calib = qs_calibration_new_full (model, input, n_calib, calib_threads (), NULL, NULL, NULL, error);
  if (calib == NULL)
    return FALSE;
  t_calib = (g_get_monotonic_time () - wall0) / 1e6;
  cpu_calib = process_cpu_seconds () - cpu0;
  engine = qs_calibration_compile (calib, model, config, error);
  if (engine == NULL)
    return FALSE;
  job.engine = engine;
  t_int = qs_bench_best_seconds (reps, run_int, &job);
  _qs_engine_int_get_memory (engine, &mem);
  if (!qs_bench_per_layer (bench))
    g_clear_pointer (&engine, qs_engine_int_free);   /* its last use: one program at a time */
  rne = qs_config_copy (config);
  qs_config_set_requant_mode (rne, QS_REQUANT_FP32_RNE);
  engine_rne = qs_calibration_compile (calib, model, rne, error);
  if (engine_rne == NULL)
    return FALSE;
  job.engine = engine_rne;
  t_rne = qs_bench_best_seconds (reps, run_int, &job);
  if (!job.ok)
    {
      g_set_error (error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED, _("an engine run failed"));
      return FALSE;
    }
  name_float = g_strdup_printf ("engine-float-%s", label);
  name_int = g_strdup_printf ("engine-int-w8a8-%s", label);
  name_rne = g_strdup_printf ("engine-int-w8a8-%s-fp32-rne", label);
  qs_bench_add_rate (bench, name_float, "images_per_s", n / t_float, "vs_float", 1.0);
  qs_bench_add_rate (bench, name_int, "images_per_s", n / t_int, "vs_float", t_float / t_int);
  qs_bench_add_rate (bench, name_rne, "images_per_s", n / t_rne, "vs_float", t_float / t_rne);
  {
    g_autofree char *name_mem = g_strdup_printf ("engine-int-w8a8-%s-arena", label);

    /* one worker's planned activation arena, next to every value in a place of its own */
    qs_bench_add_rate (bench, name_mem, "MB", mem.arena_bytes / 1e6, "vs_unplanned",
                       (double) mem.arena_bytes / MAX (mem.values_bytes, 1));
  }
  name_calib = g_strdup_printf ("calibration-%s", label);
  name_calib_cpu = g_strdup_printf ("calibration-%s-cpu", label);
  qs_bench_add_rate (bench, name_calib, "images_per_s", n_calib / t_calib, "vs_float",
                     (n_calib / t_calib) / (n / t_float));
  qs_bench_add_ms (bench, name_calib_cpu, cpu_calib * 1e3, "cpu_vs_wall", cpu_calib / t_calib);
  if (qs_bench_per_layer (bench))
    bench_per_layer (bench, label, engine, input, n);
  return TRUE;
}

/* bench --only engine --model FILE [--dataset D] */
static void
bench_model_file (QsBench *bench)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = qs_model_load (qs_bench_model_path (bench), NULL, NULL, &error);
  g_autoptr(QsDataset) dataset = NULL;
  g_autofree char *base = NULL;

  if (model != NULL && qs_bench_dataset_spec (bench) != NULL)
    dataset = qs_dataset_open (qs_bench_dataset_spec (bench), &error);
  if (model == NULL || (qs_bench_dataset_spec (bench) != NULL && dataset == NULL))
    goto fail;
  base = g_path_get_basename (qs_bench_model_path (bench));
  if (strrchr (base, '.') != NULL)
    *strrchr (base, '.') = '\0';
  if (bench_one_model (bench, base, model, dataset, qs_bench_images (bench, 64), &error))
    return;
fail:
  g_printerr (_("bench engine: %s: %s\n"), qs_bench_model_path (bench), error ? error->message : "?");
}

/* The synthetic ResNet-18 and MobileNetV2 through the writer and the loader. */
static void
bench_imagenet_shapes (QsBench *bench)
{
  gboolean quick = qs_bench_quick (bench);
  gsize size = quick ? 64 : 224;
  guint n = quick ? 4 : qs_bench_images (bench, 64);

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsModel) built = build_settled (i, size, &error);
      g_autoptr(QsModel) model = NULL;
      g_autofree char *path = NULL;
      g_autofree char *label = g_strdup_printf ("%s-%zu", shapes[i].name, size);
      int fd;

      if (built == NULL)
        goto fail;
      fd = g_file_open_tmp ("qs-bench-engine-XXXXXX.h5", &path, &error);
      if (fd < 0)
        goto fail;
      close (fd);
      if (qs_model_save (built, path, NULL, &error))
        model = qs_model_load (path, NULL, NULL, &error);
      g_unlink (path);
      if (model == NULL || !bench_one_model (bench, label, model, NULL, n, &error))
        goto fail;
      continue;
fail:
      g_printerr (_("bench engine: %s: %s\n"), shapes[i].name, error ? error->message : "?");
    }
}

void
qs_bench_engine (QsBench *bench)
{
  if (qs_bench_model_path (bench) != NULL)
    bench_model_file (bench);
  else
    {
      bench_engine_cnn (bench);
      bench_imagenet_shapes (bench);
    }
}

static void
bench_engine_cnn (QsBench *bench)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineFloat) fengine = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autofree float *input = NULL, *output = NULL;
  g_autofree char *path = NULL;
  const char *shared = g_getenv ("QS_SHARED_DIR");
  gsize n = qs_bench_quick (bench) ? 1000 : 10000, in_size;
  double t_float, t_int, t_quick;
  Job job = { 0 };
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  g_autofree char *name_float = NULL, *name_int = NULL, *name_int_ms = NULL;

  path = g_build_filename (shared ? shared : "../shared", "models",
                           "Muhtashim009__Fashion_mnist_cnn__fashion_mnist_model.h5", NULL);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    model = qs_model_load (path, NULL, NULL, &error);
  else
    model = synthesize_cnn (&error);
  if (model == NULL)
    goto fail;
  dataset = qs_dataset_open ("sample", &error);
  if (dataset == NULL)
    goto fail;
  n = MIN (n, qs_dataset_get_n_images (dataset));
  config = qs_config_new_from_preset ("w8a8", &error);
  calib = qs_calibration_cache_get (qs_eval_cache_get_calibrations (cache), model,
                                    qs_config_get_calib_source (config),
                                    qs_config_get_calib_images (config), NULL, NULL, NULL, &error);
  if (calib == NULL)
    goto fail;
  fengine = qs_engine_float_new (model, &error);
  engine = fengine ? qs_calibration_compile (calib, model, config, &error) : NULL;
  if (engine == NULL)
    goto fail;
  in_size = qs_engine_int_get_input_size (engine);
  input = g_new (float, n * in_size);
  output = g_new (float, n * qs_engine_int_get_output_size (engine));
  if (!qs_dataset_fill_inputs (dataset, model, 0, n, input, &error))
    goto fail;

  job = (Job) { engine, fengine, model, config, dataset, input, output, n, TRUE, cache };
  t_float = qs_bench_best_seconds (qs_bench_quick (bench) ? 1 : 2, run_float, &job);
  t_int = qs_bench_best_seconds (5, run_int, &job);
  run_quick_eval (&job);   /* fills the float-side and program caches, as the live view has them */
  t_quick = qs_bench_best_seconds (5, run_quick_eval, &job);
  if (!job.ok)
    {
      g_set_error (&error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED, _("an engine run failed"));
      goto fail;
    }

  name_float = g_strdup_printf ("engine-float-cnn-%zuk", n / 1000);
  name_int = g_strdup_printf ("engine-int-w8a8-cnn-%zuk", n / 1000);
  name_int_ms = g_strdup_printf ("engine-int-w8a8-cnn-%zuk-time", n / 1000);
  qs_bench_add_rate (bench, name_float, "images_per_s", n / t_float, "vs_float", 1.0);
  qs_bench_add_rate (bench, name_int, "images_per_s", n / t_int, "vs_float", t_float / t_int);
  qs_bench_add_ms (bench, name_int_ms, t_int * 1e3, "vs_float", t_float / t_int);
  qs_bench_add_ms (bench, "engine-quick-eval-1k-w8a8", t_quick * 1e3, "vs_float",
                   (t_float * 1000.0 / n) / t_quick);

  /* the integer engine in the other requantization modes (the lines above: gemmlowp, the
   * default), relative to gemmlowp */
  for (QsRequantMode mode = QS_REQUANT_SINGLE_ROUNDING; mode < QS_REQUANT_N_MODES; mode++)
    {
      g_autoptr(QsConfig) mode_config = qs_config_copy (config);
      g_autoptr(QsEngineInt) mode_engine = NULL;
      g_autofree char *name = NULL;
      double t_mode;

      qs_config_set_requant_mode (mode_config, mode);
      mode_engine = qs_calibration_compile (calib, model, mode_config, &error);
      if (mode_engine == NULL)
        goto fail;
      job.engine = mode_engine;
      t_mode = qs_bench_best_seconds (5, run_int, &job);
      job.engine = engine;
      if (!job.ok)
        {
          g_set_error (&error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED, _("an engine run failed"));
          goto fail;
        }
      name = g_strdup_printf ("engine-int-w8a8-cnn-%zuk-%s", n / 1000, qs_requant_mode_to_string (mode));
      qs_bench_add_rate (bench, name, "images_per_s", n / t_mode, "vs_gemmlowp", t_int / t_mode);
    }
  return;

fail:
  g_printerr (_("bench engine: %s\n"), error ? error->message : "?");
}
