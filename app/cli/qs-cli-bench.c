/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "qs-cli-bench.h"
#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

#define BENCH_N_FLOATS ((gsize) 16 << 20)

struct _QsBench
{
  JsonBuilder *builder;
  gboolean     json;
  gboolean     quick;
  double       memcpy_gb_per_s;
  char        *only;
  guint64      synthetic_params;
  char        *model;
  char        *dataset;
  guint        images;
  char        *write_models;
  gboolean     per_layer;
};

/* --- the table: one entry per module (add yours) --- */
static const struct
{
  const char  *group;
  QsBenchFunc  func;
} benches[] = {
  { "quant", qs_bench_quant },
  { "charts", qs_bench_charts },
  { "train", qs_bench_train },
  { "engine", qs_bench_engine },
  { "model", qs_bench_model },
  { "live", qs_bench_live },
  { "live-accuracy", qs_bench_live_accuracy },
  { "float-kernels", qs_bench_float_kernels },
  { NULL, NULL },
};

double
qs_bench_best_seconds (int    reps,
                       void (*func) (gpointer data),
                       gpointer data)
{
  double best = G_MAXDOUBLE;

  for (int rep = 0; rep < reps; rep++)
    {
      gint64 t0 = g_get_monotonic_time ();
      func (data);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    }
  return best;
}

double
qs_bench_memcpy_gb_per_s (QsBench *bench)
{
  return bench->memcpy_gb_per_s;
}

gboolean
qs_bench_quick (QsBench *bench)
{
  return bench->quick;
}

const char *
qs_bench_model_path (QsBench *bench)
{
  return bench->model;
}

const char *
qs_bench_dataset_spec (QsBench *bench)
{
  return bench->dataset;
}

guint
qs_bench_images (QsBench *bench,
                 guint    fallback)
{
  return bench->images > 0 ? bench->images : fallback;
}

gboolean
qs_bench_per_layer (QsBench *bench)
{
  return bench->per_layer;
}

guint64
qs_bench_synthetic_params (QsBench *bench)
{
  return bench->synthetic_params;
}

/* "25M", "16.8M", "500k", "4000000" -> a count; 0 when it is not one. */
static guint64
parse_count (const char *text)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);

  if (end == text || !(v > 0))
    return 0;
  if (*end == 'M' || *end == 'm')
    v *= 1e6, end++;
  else if (*end == 'k' || *end == 'K')
    v *= 1e3, end++;
  return *end == '\0' && v < 1e10 ? (guint64) v : 0;
}

static void
add_result (QsBench    *bench,
            const char *name,
            const char *unit,
            double      value,
            const char *ratio_name,
            double      ratio)
{
  json_builder_begin_object (bench->builder);
  json_builder_set_member_name (bench->builder, "name");
  json_builder_add_string_value (bench->builder, name);
  json_builder_set_member_name (bench->builder, unit);
  json_builder_add_double_value (bench->builder, value);
  if (ratio_name != NULL)
    {
      json_builder_set_member_name (bench->builder, ratio_name);
      json_builder_add_double_value (bench->builder, ratio);
    }
  json_builder_end_object (bench->builder);

  if (!bench->json)
    {
      g_print ("%-40s %12.3f %-13s", name, value, unit);
      if (ratio_name != NULL)
        g_print ("  %8.3f %s", ratio, ratio_name);
      g_print ("\n");
    }
}

void
qs_bench_add_bandwidth (QsBench    *bench,
                        const char *name,
                        double      gb_per_s)
{
  add_result (bench, name, "gb_per_s", gb_per_s, "vs_memcpy", gb_per_s / bench->memcpy_gb_per_s);
}

void
qs_bench_add_rate (QsBench    *bench,
                   const char *name,
                   const char *unit,
                   double      value,
                   const char *ratio_name,
                   double      ratio)
{
  add_result (bench, name, unit, value, ratio_name, ratio);
}

void
qs_bench_add_ms (QsBench    *bench,
                 const char *name,
                 double      ms,
                 const char *ratio_name,
                 double      ratio)
{
  add_result (bench, name, "ms", ms, ratio_name, ratio);
}

typedef struct
{
  float       *dst;
  const float *src;
  gsize        n;
} MemcpyJob;

static void
run_memcpy (gpointer data)
{
  MemcpyJob *job = data;

  memcpy (job->dst, job->src, job->n * sizeof (float));
}

int
qs_cli_bench (int    argc,
              char **argv)
{
  gboolean json = FALSE, quick = FALSE;
  g_autofree char *only = NULL;
  g_autofree char *synthetic = NULL;
  g_autofree char *model = NULL, *dataset = NULL, *write_models = NULL;
  gint images = 0;
  gboolean per_layer = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print results as JSON"), NULL },
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, N_("Smaller sizes and fewer repetitions"), NULL },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, N_("Run only the group named TEXT, or else every group whose name contains it"), N_("TEXT") },
    { "synthetic-params", 0, 0, G_OPTION_ARG_STRING, &synthetic,
      N_("Size of the “live” group’s synthetic model, a 4096-wide MLP (default 25M; at least 17M)"),
      N_("N") },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      N_("“engine” group: float and int8 images/s of this model instead of the built-in cases"), N_("FILE") },
    { "dataset", 'd', 0, G_OPTION_ARG_FILENAME, &dataset,
      N_("Images for --model (default: synthetic random images)"), N_("D") },
    { "images", 'n', 0, G_OPTION_ARG_INT, &images,
      N_("Images per engine run for --model and the ImageNet-sized cases (default 64)"), N_("N") },
    { "per-layer", 0, 0, G_OPTION_ARG_NONE, &per_layer,
      N_("With --model: the int8 engine's time per op and GMAC/s per layer class, one thread"), NULL },
    { "write-models", 0, 0, G_OPTION_ARG_FILENAME, &write_models,
      N_("Write the “engine” group's synthetic ResNet-18 and MobileNetV2 and a ResNet-50 (.h5) into DIR and exit"), N_("DIR") },
    { NULL }
  };
  QsBench bench = { 0 };
  MemcpyJob job;
  gsize n = BENCH_N_FLOATS;

  if (!qs_cli_parse ("bench", NULL,
                     _("Every result is a ratio to a baseline measured in the same run:\n"
                       "memcpy of the same bytes, or the float engine on the same images.\n"
                       "Groups: quant, charts, train, engine, model, live (the app's live path on a\n"
                       "synthetic big model: bench --only live --synthetic-params 25M), live-accuracy\n"
                       "(the progressive quick accuracy on a synthetic ResNet-18, or --model FILE),\n"
                       "float-kernels.\n"
                       "Any model's engine throughput: bench --only engine --model FILE [--dataset D].\n"
                       "float-kernels: each float layer class, our kernels against XNNPACK and oneDNN."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc > 1)
    return qs_cli_usage_error ("bench", _("unexpected argument “%s”"), argv[1]);

  if (synthetic != NULL && (bench.synthetic_params = parse_count (synthetic)) == 0)
    return qs_cli_usage_error ("bench", _("--synthetic-params wants a count such as 25M, not “%s”"),
                               synthetic);

  if (images < 0)
    return qs_cli_usage_error ("bench", _("--images must be a positive number"));
  if (dataset != NULL && model == NULL)
    return qs_cli_usage_error ("bench", _("--dataset needs --model"));
  if (per_layer && model == NULL)
    return qs_cli_usage_error ("bench", _("--per-layer needs --model"));
  if (write_models != NULL)
    return qs_bench_write_models (write_models) ? QS_CLI_EXIT_OK : QS_CLI_EXIT_ERROR;
  bench.model = model;
  bench.dataset = dataset;
  bench.images = (guint) images;
  bench.per_layer = per_layer;

  bench.builder = json_builder_new ();
  bench.json = json;
  bench.quick = quick;
  if (quick)
    n /= 16;

  job.src = qs_aligned_alloc (n * sizeof (float));
  job.dst = qs_aligned_alloc (n * sizeof (float));
  job.n = n;
  for (gsize i = 0; i < n; i++)
    ((float *) job.src)[i] = (float) ((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  memset (job.dst, 0, n * sizeof (float));
  /* bytes copied per second: like every bandwidth here, the size of the tensor processed
   * over the time, so that vs_memcpy is memcpy's time over the operation's time */
  bench.memcpy_gb_per_s = (double) n * sizeof (float) / qs_bench_best_seconds (5, run_memcpy, &job) / 1e9;
  qs_aligned_free ((gpointer) job.src);
  qs_aligned_free (job.dst);

  json_builder_begin_object (bench.builder);
  /* which kernels the float engine runs (QS_KERNELS, QS_FLOAT_LIBRARY; issue 16) */
  json_builder_set_member_name (bench.builder, "float_kernels");
  json_builder_add_string_value (bench.builder, qs_engine_float_kernels_describe ());
  if (!json)
    g_print ("%-40s %s\n", "float-engine-kernels", qs_engine_float_kernels_describe ());
  json_builder_set_member_name (bench.builder, "results");
  json_builder_begin_array (bench.builder);
  add_result (&bench, quick ? "memcpy-1M-float" : "memcpy-16M-float", "gb_per_s",
              bench.memcpy_gb_per_s, "vs_memcpy", 1.0);
  {
    /* --only: the group of that exact name, else every group whose name contains it */
    gboolean exact = FALSE;

    for (gsize i = 0; i < G_N_ELEMENTS (benches) && only != NULL; i++)
      exact = exact || g_strcmp0 (benches[i].group, only) == 0;
    for (gsize i = 0; i < G_N_ELEMENTS (benches); i++)
      {
        if (benches[i].func == NULL)
          continue;
        if (only != NULL && (exact ? g_strcmp0 (benches[i].group, only) != 0
                                   : strstr (benches[i].group, only) == NULL))
          continue;
        benches[i].func (&bench);
      }
  }
  json_builder_end_array (bench.builder);
  json_builder_end_object (bench.builder);

  if (json)
    qs_cli_print_builder (bench.builder);
  g_object_unref (bench.builder);
  return QS_CLI_EXIT_OK;
}
