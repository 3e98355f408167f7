/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <glib/gi18n.h>

#include "qs-chart-analysis.h"
#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

/* quantscope-cli sensitivity MODEL --dataset D [--formats F,...] [--images N] [--shard K/N] [--no-cache] [--json] [-o OUT.json]
 * quantscope-cli search MODEL --dataset D (--max-bytes N | --max-drop PTS | --max-bitops N) [--max-act-bytes N]
 *                       [--formats F,...] [--images N] [--points N] [--sensitivities S.json] [--json] [-o CFG]
 * quantscope-cli search MODEL --dataset D --shard K/N [-o SHARD.json]
 * quantscope-cli merge SHARD.json... [-o OUT.json] [--json]
 * Per-layer weight sensitivity, and the measured Pareto front of mixed-precision weight
 * configs (qs-analysis). */

typedef struct
{
  char     *dataset_spec;
  char     *formats;
  char     *architecture;
  char     *target;
  gint      images;
  gint      threads;
  char     *shard;
  gboolean  json;
  gboolean  reverse;
  gboolean  no_cache;
} AnalysisArgs;

static void
analysis_args_clear (AnalysisArgs *a)
{
  g_free (a->dataset_spec);
  g_free (a->formats);
  g_free (a->architecture);
  g_free (a->target);
  g_free (a->shard);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AnalysisArgs, analysis_args_clear)

#define ANALYSIS_ENTRIES(a) \
  { "dataset", 'd', 0, G_OPTION_ARG_FILENAME, &(a).dataset_spec, \
    N_("IDX images file, HDF5 dataset file, or “sample”"), N_("D") }, \
  { "formats", 'f', 0, G_OPTION_ARG_STRING, &(a).formats, \
    N_("Candidate weight formats, comma-separated (default int8,int6,int4,int3,int2,fp16)"), N_("F,…") }, \
  { "images", 'n', 0, G_OPTION_ARG_INT, &(a).images, N_("Evaluation images (default 1000)"), N_("N") }, \
  { "threads", 't', 0, G_OPTION_ARG_INT, &(a).threads, N_("Worker threads (default: all cores)"), N_("N") }, \
  { "architecture", 'a', 0, G_OPTION_ARG_FILENAME, &(a).architecture, \
    N_("Architecture for a weights-only file"), N_("FILE") }, \
  { "target", 'T', 0, G_OPTION_ARG_STRING, &(a).target, \
    N_("Deployment target (see “check --list”): only the weight formats it accepts"), N_("T") }, \
  { "shard", 0, 0, G_OPTION_ARG_STRING, &(a).shard, \
    N_("Measure only slice K (0 … N-1) of N of the sweep and write its JSON, for “merge”"), N_("K/N") }, \
  { "no-cache", 0, 0, G_OPTION_ARG_NONE, &(a).no_cache, \
    N_("Measure again instead of reusing the sensitivity cache"), NULL }, \
  { "json", 0, 0, G_OPTION_ARG_NONE, &(a).json, N_("Print JSON"), NULL }

/* "K/N" with 0 <= K < N <= 100000 */
static gboolean
parse_shard (const char *text,
             guint      *index,
             guint      *count)
{
  g_auto(GStrv) parts = g_strsplit (text, "/", -1);
  guint64 k, n;

  if (g_strv_length (parts) != 2
      || !g_ascii_string_to_unsigned (parts[0], 10, 0, 100000, &k, NULL)
      || !g_ascii_string_to_unsigned (parts[1], 10, 1, 100000, &n, NULL) || k >= n)
    return FALSE;
  *index = (guint) k;
  *count = (guint) n;
  return TRUE;
}

/* The sensitivity JSON (a slice or a whole table) to path atomically, or stdout. */
static int
write_sensitivity (const char    *command,
                   QsSensitivity *s,
                   const char    *path)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  json_builder_begin_object (b);
  qs_sensitivity_build_json (s, b);
  qs_cli_json_add_number (b, "seconds", s->seconds);
  json_builder_end_object (b);
  if (path == NULL)
    {
      qs_cli_print_builder (b);
      return QS_CLI_EXIT_OK;
    }
  root = json_builder_get_root (b);
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  if (!g_file_set_contents (path, text, -1, &error))
    return qs_cli_fail (command, error);
  return QS_CLI_EXIT_OK;
}

/* Checks the shared options, loads the model and dataset, runs the sensitivity. */
static int
run_sensitivity (const char     *command,
                 AnalysisArgs   *a,
                 const char     *model_path,
                 QsModel       **model_out,
                 QsDataset     **dataset_out,
                 QsEvalCache    *cache,
                 QsSensitivity **out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsCliProgress) progress = NULL;
  g_auto(GStrv) formats = NULL;
  g_autofree char *cache_dir = NULL;
  QsAnalysisOptions opts = { 0 };

  if (a->shard != NULL && !parse_shard (a->shard, &opts.shard_index, &opts.shard_count))
    return qs_cli_usage_error (command, _("--shard wants K/N with 0 ≤ K < N, e.g. 0/4"));
  if (a->dataset_spec == NULL)
    return qs_cli_usage_error (command, _("--dataset is required"));
  if (a->images < 0)
    return qs_cli_usage_error (command, _("--images must be a positive number"));
  if (a->threads < 0 || a->threads > 64)
    return qs_cli_usage_error (command, _("--threads must be between 1 and 64"));
  if (a->formats != NULL)
    {
      formats = g_strsplit (a->formats, ",", -1);
      for (guint i = 0; formats[i] != NULL; i++)
        {
          QsQuantSpec spec;

          g_strstrip (formats[i]);
          if (!qs_analysis_parse_format (formats[i], &spec, &error))
            return qs_cli_usage_error (command, "%s", error->message);
        }
    }

  if (a->target != NULL)
    {
      g_autoptr(QsTarget) target = qs_target_load (a->target, &error);
      g_auto(GStrv) accepted = NULL;

      if (target == NULL)
        return qs_cli_usage_error (command, "%s", error->message);
      accepted = qs_target_filter_formats (target, (const char * const *) formats);
      if (accepted[0] == NULL)
        return qs_cli_usage_error (command, _("%s accepts none of the candidate weight formats"), target->title);
      g_strfreev (formats);
      formats = g_steal_pointer (&accepted);
    }

  model = qs_model_load_untrusted (model_path, a->architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail (command, error);
  dataset = qs_dataset_open (a->dataset_spec, &error);
  if (dataset == NULL)
    return qs_cli_fail (command, error);
  opts.n_images = (guint) a->images;
  opts.n_threads = (guint) a->threads;
  opts.cache = cache;
  opts.reverse = a->reverse;
  if (!a->no_cache)
    opts.cache_dir = cache_dir = qs_sensitivity_cache_dir ();
  progress = qs_cli_progress_new (command);
  *out = qs_sensitivity_run (model, dataset, (const char * const *) formats, &opts,
                             qs_cli_progress_cb, progress, NULL, &error);
  g_clear_pointer (&progress, qs_cli_progress_free);
  if (*out == NULL)
    return qs_cli_fail (command, error);
  if ((*out)->n_cached > 0)
    /* Translators: %s is the command, then the formats reused, the formats, the folder */
    g_printerr (_("%s: %u of %u formats reused from the sensitivity cache %s (--no-cache to measure again)\n"),
                command, (*out)->n_cached, (*out)->layers[0].n_formats, cache_dir);
  *model_out = g_steal_pointer (&model);
  *dataset_out = g_steal_pointer (&dataset);
  return QS_CLI_EXIT_OK;
}

static void
sensitivity_to_json (JsonBuilder   *b,
                     QsSensitivity *s)
{
  qs_sensitivity_build_json (s, b);
}

int
qs_cli_sensitivity (int    argc,
                    char **argv)
{
  g_auto(AnalysisArgs) a = { 0 };
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsSensitivity) s = NULL;
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  g_autofree char *output = NULL;
  GOptionEntry entries[] = {
    ANALYSIS_ENTRIES (a),
    { "reverse", 'r', 0, G_OPTION_ARG_NONE, &a.reverse,
      N_("Reverse: every layer quantized except this one (kept float)"), NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write the table (JSON) to this file, for “merge” or “search --sensitivities”"), N_("FILE") },
    { NULL }
  };
  int rc;

  if (!qs_cli_parse ("sensitivity", "MODEL",
                     _("Quantize one layer's weights at a time in each candidate format (the rest float)\n"
                       "and measure the accuracy drop in points on the evaluation images (without\n"
                       "labels: the disagreement with the float model)."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc != 2)
    return qs_cli_usage_error ("sensitivity", _("expected exactly one MODEL file"));
  if (!qs_cli_check_output ("sensitivity", output, 3, argv[1], a.architecture, a.dataset_spec))
    return QS_CLI_EXIT_ERROR;
  rc = run_sensitivity ("sensitivity", &a, argv[1], &model, &dataset, cache, &s);
  if (rc != QS_CLI_EXIT_OK)
    return rc;

  if (output != NULL || a.shard != NULL)
    {
      rc = write_sensitivity ("sensitivity", s, output);
      if (rc != QS_CLI_EXIT_OK || output == NULL || !a.json)
        return rc;
    }
  if (a.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      sensitivity_to_json (b, s);
      qs_cli_json_add_number (b, "seconds", s->seconds);
      json_builder_end_object (b);
      qs_cli_print_builder (b);
      return QS_CLI_EXIT_OK;
    }
  if (s->reverse)
    printf (_("Accuracy drop in points when every layer's weights are quantized except this layer's (%s, %u images):\n"),
            s->labelled ? _("top-1") : _("disagreement, no labels"), s->n_images);
  else if (s->labelled)
    printf (_("Accuracy drop in points when only this layer's weights are quantized (float top-1 %.2f%%, %u images):\n"),
            100 * s->float_top1, s->n_images);
  else
    printf (_("Disagreement with the float model in points when only this layer's weights are quantized (%u images, no labels):\n"),
            s->n_images);
  printf ("%-24s", _("Layer"));
  for (guint f = 0; f < s->layers[0].n_formats; f++)
    printf (" %9s", s->layers[0].formats[f]);
  printf ("\n");
  for (guint i = 0; i < s->n_layers; i++)
    {
      printf ("%-24s", s->layers[i].layer);
      for (guint f = 0; f < s->layers[i].n_formats; f++)
        printf (" %+9.2f", s->layers[i].drop[f]);
      printf ("\n");
    }
  if (s->reverse)
    {
      printf ("%-24s", _("(every layer)"));
      for (guint f = 0; f < s->layers[0].n_formats; f++)
        printf (" %+9.2f", s->all_drop[f]);
      printf ("\n");
    }
  printf (_("\n%.2f s\n"), s->seconds);
  return QS_CLI_EXIT_OK;
}

/* search --sensitivities: a complete table of this model, dataset and image count. */
static int
load_sensitivities (AnalysisArgs   *a,
                    const char     *model_path,
                    const char     *path,
                    QsModel       **model_out,
                    QsDataset     **dataset_out,
                    QsSensitivity **out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsSensitivity) s = NULL;
  g_autofree char *fingerprint = NULL;
  QsAnalysisOptions opts = { 0 };

  if (a->dataset_spec == NULL)
    return qs_cli_usage_error ("search", _("--dataset is required"));
  if (a->formats != NULL || a->images != 0 || a->target != NULL)
    return qs_cli_usage_error ("search", _("--sensitivities takes the formats and image count from the file (leave out --formats, --images and --target)"));
  s = qs_sensitivity_load_file (path, &error);
  if (s == NULL)
    return qs_cli_fail ("search", error);
  if (s->shard_count > 0)
    return qs_cli_usage_error ("search", _("%s is slice %u/%u: merge the slices first (“quantscope-cli merge”)"),
                               path, s->shard_index, s->shard_count);
  if (s->reverse || !qs_sensitivity_is_complete (s))
    return qs_cli_usage_error ("search", _("%s is not a complete forward sensitivity table"), path);
  model = qs_model_load_untrusted (model_path, a->architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("search", error);
  dataset = qs_dataset_open (a->dataset_spec, &error);
  if (dataset == NULL)
    return qs_cli_fail ("search", error);
  opts.n_images = s->n_images;
  {
    g_autofree char **formats = g_new0 (char *, s->layers[0].n_formats + 1);

    for (guint f = 0; f < s->layers[0].n_formats; f++)
      formats[f] = s->layers[0].formats[f];
    fingerprint = qs_sensitivity_fingerprint (model, dataset, (const char * const *) formats, &opts, &error);
  }
  if (fingerprint == NULL)
    return qs_cli_fail ("search", error);
  if (g_strcmp0 (fingerprint, s->fingerprint) != 0)
    {
      g_printerr (_("%s: %s was measured on another model, dataset or image count (its fingerprint differs)\n"),
                  "search", path);
      return QS_CLI_EXIT_ERROR;
    }
  *model_out = g_steal_pointer (&model);
  *dataset_out = g_steal_pointer (&dataset);
  *out = g_steal_pointer (&s);
  return QS_CLI_EXIT_OK;
}

int
qs_cli_merge (int    argc,
              char **argv)
{
  g_autofree char *output = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Write the merged table (JSON)"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the merged table as JSON"), NULL },
    { NULL }
  };
  g_autoptr(GPtrArray) shards = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_sensitivity_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsSensitivity) m = NULL;
  int rc;

  if (!qs_cli_parse ("merge", "SHARD.json…",
                     _("Combine the slices of a sharded sweep (“sensitivity --shard K/N” or\n"
                       "“search --shard K/N”) into one sensitivity table, for “search --sensitivities”."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc < 2)
    return qs_cli_usage_error ("merge", _("expected the SHARD.json files"));
  for (int i = 1; i < argc; i++)
    if (output != NULL && !qs_cli_check_output ("merge", output, 1, argv[i]))
      return QS_CLI_EXIT_ERROR;
  for (int i = 1; i < argc; i++)
    {
      QsSensitivity *s = qs_sensitivity_load_file (argv[i], &error);

      if (s == NULL)
        return qs_cli_fail ("merge", error);
      g_ptr_array_add (shards, s);
    }
  m = qs_sensitivity_merge ((QsSensitivity * const *) shards->pdata, (const char * const *) argv + 1,
                            shards->len, &error);
  if (m == NULL)
    return qs_cli_fail ("merge", error);
  if (output != NULL)
    {
      rc = write_sensitivity ("merge", m, output);
      if (rc != QS_CLI_EXIT_OK)
        return rc;
    }
  if (json || output == NULL)
    return write_sensitivity ("merge", m, NULL);
  printf (_("Merged %u slices of %u layers × %u formats into %s\n"), shards->len, m->n_layers,
          m->layers[0].n_formats, output);
  return QS_CLI_EXIT_OK;
}

int
qs_cli_search (int    argc,
               char **argv)
{
  g_auto(AnalysisArgs) a = { 0 };
  g_autofree char *output = NULL;
  gint64 max_bytes = 0;
  gint64 max_bitops = 0;
  gint64 max_act_bytes = 0;
  g_autofree char *sens_path = NULL;
  g_autofree char *plot_path = NULL;
  QsFrontBudget budget = { 0 };
  gint act_bits = 8;
  double max_drop = -1.0;
  gint points = 24;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsSensitivity) s = NULL;
  g_autoptr(QsFront) front = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  const QsFrontPoint *chosen;
  QsAnalysisOptions opts = { 0 };
  GOptionEntry entries[] = {
    ANALYSIS_ENTRIES (a),
    { "max-bytes", 0, 0, G_OPTION_ARG_INT64, &max_bytes,
      N_("Budget for the kernels in bytes (codes, scales, zero-points)"), N_("N") },
    { "max-drop", 0, 0, G_OPTION_ARG_DOUBLE, &max_drop,
      N_("Largest accuracy drop allowed, in points"), N_("PTS") },
    { "max-bitops", 0, 0, G_OPTION_ARG_INT64, &max_bitops,
      N_("Budget in bit-operations per image (MACs x weight bits x activation bits)"), N_("N") },
    { "max-act-bytes", 0, 0, G_OPTION_ARG_INT64, &max_act_bytes,
      N_("Budget for the peak activation bytes (the lowering's cost model, activations at --act-bits)"), N_("N") },
    { "sensitivities", 's', 0, G_OPTION_ARG_FILENAME, &sens_path,
      N_("Build the front from this sensitivity table (“merge” or “sensitivity -o”) instead of measuring"), N_("FILE") },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot_path,
      N_("Draw the front (bytes vs drop, the chosen point marked) to a .png, .svg or .pdf"), N_("FILE") },
    { "act-bits", 0, 0, G_OPTION_ARG_INT, &act_bits,
      N_("Activation bits the bit-operations count (default 8)"), N_("B") },
    { "points", 0, 0, G_OPTION_ARG_INT, &points, N_("Front points to verify (default 24)"), N_("N") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write the chosen config (JSON); with --shard, the slice's measurements"), N_("CFG") },
    { NULL }
  };

  if (!qs_cli_parse ("search", "MODEL",
                     _("Choose a weight format per layer: the sensitivities, then the exact Pareto front of\n"
                       "kernel bytes vs accuracy drop (dynamic programming over the layers), each front\n"
                       "point measured; prints the front and the point that meets the budget."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc != 2)
    return qs_cli_usage_error ("search", _("expected exactly one MODEL file"));
  if (a.shard != NULL)
    {
      /* a slice of the sensitivities only: the front needs all of them (merge, then
       * --sensitivities) */
      if (sens_path != NULL)
        return qs_cli_usage_error ("search", _("--shard measures sensitivities; it cannot read them (--sensitivities)"));
      if (!qs_cli_check_output ("search", output, 3, argv[1], a.architecture, a.dataset_spec))
        return QS_CLI_EXIT_ERROR;
      if (run_sensitivity ("search", &a, argv[1], &model, &dataset, cache, &s) != QS_CLI_EXIT_OK)
        return QS_CLI_EXIT_ERROR;
      return write_sensitivity ("search", s, output);
    }
  if ((max_bytes > 0) + (max_drop >= 0.0) + (max_bitops > 0) > 1
      || ((max_bytes > 0) + (max_drop >= 0.0) + (max_bitops > 0) == 0 && max_act_bytes <= 0))
    return qs_cli_usage_error ("search", _("give one of --max-bytes, --max-drop and --max-bitops, and/or --max-act-bytes"));
  if (max_act_bytes < 0)
    return qs_cli_usage_error ("search", _("--max-act-bytes must be a positive number"));
  if (max_bytes < 0)
    return qs_cli_usage_error ("search", _("--max-bytes must be a positive number"));
  if (max_bitops < 0)
    return qs_cli_usage_error ("search", _("--max-bitops must be a positive number"));
  if (act_bits < 2 || act_bits > 32)
    return qs_cli_usage_error ("search", _("--act-bits must be between 2 and 32"));
  if (points < 2 || points > 1000)
    return qs_cli_usage_error ("search", _("--points must be between 2 and 1000"));
  if (!qs_cli_check_output ("search", output, 3, argv[1], a.architecture, sens_path)
      || !qs_cli_check_output ("search", plot_path, 3, argv[1], a.architecture, sens_path))
    return QS_CLI_EXIT_ERROR;

  if (sens_path != NULL)
    {
      int rc = load_sensitivities (&a, argv[1], sens_path, &model, &dataset, &s);

      if (rc != QS_CLI_EXIT_OK)
        return rc;
    }
  else if (run_sensitivity ("search", &a, argv[1], &model, &dataset, cache, &s) != QS_CLI_EXIT_OK)
    return QS_CLI_EXIT_ERROR;
  if (a.target != NULL)
    {
      /* a format the layer's kind has no kernel for on the target: never the better choice,
       * so the front keeps the target's points (the rest are dropped below) */
      g_autoptr(QsTarget) target = qs_target_load (a.target, NULL);

      for (guint l = 0; target != NULL && l < s->n_layers; l++)
        for (guint f = 0; f < s->layers[l].n_formats; f++)
          {
            const QsLayer *layer = qs_model_find_layer (model, s->layers[l].layer);
            QsQuantSpec spec;

            if (layer != NULL && qs_analysis_parse_format (s->layers[l].formats[f], &spec, NULL)
                && !qs_target_accepts_weight (target, layer->kind, &spec, NULL))
              s->layers[l].drop[f] = 1e6;
          }
    }
  if (max_bitops > 0 && s->layers[0].macs == 0)
    return qs_cli_usage_error ("search", _("--max-bitops needs a model that can run (the operations come from its program)"));
  front = qs_front_build_full (s, max_bitops > 0 ? QS_FRONT_COST_BITOPS : QS_FRONT_COST_BYTES,
                               (guint) act_bits, (guint) points);
  if (a.target != NULL)
    {
      g_autoptr(QsTarget) target = qs_target_load (a.target, &error);

      if (target == NULL)
        return qs_cli_fail ("search", error);
      qs_target_filter_front (target, model, front);
      if (front->n_points == 0)
        return qs_cli_usage_error ("search", _("no front point has only formats %s runs"), target->title);
    }
  /* the uniform bit widths too: a choice never loses to one of them within its budget */
  qs_front_add_uniform (front, s);
  if (a.target != NULL)
    {
      g_autoptr(QsTarget) target = qs_target_load (a.target, &error);

      if (target == NULL)
        return qs_cli_fail ("search", error);
      qs_target_filter_front (target, model, front);
    }
  opts.n_images = s->n_images;
  opts.n_threads = (guint) a.threads;
  opts.cache = cache;
  if (!qs_front_verify (front, model, dataset, s, &opts, NULL, &error))
    return qs_cli_fail ("search", error);
  if (max_drop >= 0.0 && !qs_front_refine (front, model, dataset, s, max_drop, &opts, NULL, &error))
    return qs_cli_fail ("search", error);
  if (max_act_bytes > 0 && !qs_front_measure_activations (front, model, &error))
    return qs_cli_fail ("search", error);
  budget.max_bytes = (guint64) max_bytes;
  budget.max_bitops = (guint64) max_bitops;
  budget.max_act_bytes = (guint64) max_act_bytes;
  budget.max_drop = max_drop;
  chosen = qs_front_choose_budget (front, &budget, &error);
  if (chosen == NULL)
    return qs_cli_fail ("search", error);
  config = qs_front_point_to_config (front, chosen);
  if (output != NULL && !qs_config_save_file (config, output, &error))
    return qs_cli_fail ("search", error);
  if (plot_path != NULL)
    {
      QsChartFrontMarker marker = { TRUE, chosen->weight_bytes, chosen->measured_drop };

      if (!qs_chart_export_analysis ("front", s, front, &marker, NULL, NULL, plot_path, 960, 600, 1.0, &error))
        return qs_cli_fail ("search", error);
    }

  if (a.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      sensitivity_to_json (b, s);
      json_builder_set_member_name (b, "float_kernel_bytes");
      json_builder_add_int_value (b, (gint64) front->float_bytes);
      json_builder_set_member_name (b, "bit_ops_activation_bits");
      json_builder_add_int_value (b, front->act_bits);
      json_builder_set_member_name (b, "front");
      json_builder_begin_array (b);
      for (guint i = 0; i < front->n_points; i++)
        {
          const QsFrontPoint *p = &front->points[i];

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "kernel_bytes");
          json_builder_add_int_value (b, (gint64) p->weight_bytes);
          json_builder_set_member_name (b, "bit_ops");
          json_builder_add_int_value (b, (gint64) p->bit_ops);
          if (max_act_bytes > 0)
            {
              json_builder_set_member_name (b, "peak_activation_bytes");
              json_builder_add_int_value (b, (gint64) p->peak_act_bytes);
            }
          qs_cli_json_add_number (b, "predicted_drop", p->predicted_drop);
          qs_cli_json_add_number (b, "measured_drop", p->measured_drop);
          qs_cli_json_add_number (b, "measured_accuracy", p->measured_top1);
          json_builder_set_member_name (b, "chosen");
          json_builder_add_boolean_value (b, p == chosen);
          json_builder_set_member_name (b, "refined");
          json_builder_add_boolean_value (b, p->refined);
          json_builder_set_member_name (b, "uniform");
          json_builder_add_boolean_value (b, p->uniform);
          json_builder_set_member_name (b, "formats");
          json_builder_begin_object (b);
          for (guint l = 0; l < front->n_layers; l++)
            {
              json_builder_set_member_name (b, front->layers[l]);
              json_builder_add_string_value (b, p->choice[l]);
            }
          json_builder_end_object (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      qs_cli_print_builder (b);
      return QS_CLI_EXIT_OK;
    }

  printf (_("Pareto front (kernel bytes vs drop in points; float32 kernels: %" PRIu64 " bytes):\n"),
          front->float_bytes);
  printf ("  %12s %14s %10s %10s\n", _("Bytes"), _("Bit-ops"), _("Predicted"), _("Measured"));
  for (guint i = 0; i < front->n_points; i++)
    {
      const QsFrontPoint *p = &front->points[i];

      /* Translators: "(refined)" marks a front point added by measured refinement */
      printf ("%c %12" PRIu64 " %14" PRIu64 " %+10.2f %+10.2f%s\n", p == chosen ? '*' : ' ', p->weight_bytes,
              p->bit_ops, p->predicted_drop, p->measured_drop,
              p->refined ? _("  (refined)") : p->uniform ? _("  (uniform)") : "");
    }
  printf (_("\nChosen (*): %" PRIu64 " bytes, %.2f points measured:\n"), chosen->weight_bytes, chosen->measured_drop);
  if (max_act_bytes > 0)
    printf (_("Peak activations: %" PRIu64 " bytes (budget %" PRId64 ")\n"), chosen->peak_act_bytes, max_act_bytes);
  for (guint l = 0; l < front->n_layers; l++)
    printf ("  %-24s %s\n", front->layers[l], chosen->choice[l]);
  if (output != NULL)
    printf (_("Config written to %s\n"), output);
  return QS_CLI_EXIT_OK;
}
