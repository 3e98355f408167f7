/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <stdio.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

/* quantscope-cli eval MODEL --dataset D [--preset P | --config CFG] [--requant MODE] [--calib N]
 *                  [--calib-source S] [--limit N] [--threads N] [--no-layer-stats] [--json]
 *                  [--per-sample]
 * Without --preset / --config: float accuracy only. --per-sample (with a config) adds every
 * image's top-5 of both engines and the activation error at every value of the graph
 * (qs-attribution.h). */

/* The per-sample part of eval: one QsAttribution per image, the summary's predictions. */
static GPtrArray *
compute_per_sample (QsModel      *model,
                    QsConfig     *config,
                    QsDataset    *dataset,
                    QsEvalCache  *cache,
                    guint         n_images,
                    GError      **error)
{
  g_autoptr(QsAttributor) at = NULL;
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_attribution_unref);
  g_autofree float *x = NULL;
  const guint chunk = 64;
  gsize in_size;

  at = qs_attributor_new (model, config, qs_eval_cache_get_calibrations (cache),
                          qs_dataset_get_preprocess (dataset), NULL, error);
  if (at == NULL)
    return NULL;
  in_size = qs_attributor_get_input_size (at);
  x = g_new (float, in_size * chunk);
  for (guint start = 0; start < n_images; start += chunk)
    {
      guint count = MIN (chunk, n_images - start);
      g_autoptr(GPtrArray) part = NULL;

      if (!qs_dataset_fill_inputs (dataset, model, start, count, x, error))
        return NULL;
      part = qs_attributor_run_batch (at, x, count, NULL, error);
      if (part == NULL)
        return NULL;
      for (guint i = 0; i < part->len; i++)
        g_ptr_array_add (all, qs_attribution_ref (g_ptr_array_index (part, i)));
    }
  return g_steal_pointer (&all);
}

static void
add_top (JsonBuilder              *b,
         const char               *name,
         const QsAttributionClass *top,
         guint                     n_top)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint k = 0; k < n_top; k++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "class");
      json_builder_add_int_value (b, top[k].cls);
      qs_cli_json_add_number (b, "prob", top[k].prob);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
add_samples (JsonBuilder *b,
             QsDataset   *dataset,
             GPtrArray   *samples)
{
  json_builder_set_member_name (b, "samples");
  json_builder_begin_array (b);
  for (guint i = 0; i < samples->len; i++)
    {
      QsAttribution *a = g_ptr_array_index (samples, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, i);
      json_builder_set_member_name (b, "label");
      if (qs_dataset_is_labelled (dataset))
        json_builder_add_int_value (b, qs_dataset_get_label (dataset, i));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "float_class");
      json_builder_add_int_value (b, a->float_top[0].cls);
      json_builder_set_member_name (b, "quant_class");
      json_builder_add_int_value (b, a->quant_top[0].cls);
      json_builder_set_member_name (b, "changed");
      json_builder_add_boolean_value (b, a->float_top[0].cls != a->quant_top[0].cls);
      add_top (b, "float_top5", a->float_top, a->n_top);
      add_top (b, "quant_top5", a->quant_top, a->n_top);
      qs_cli_json_add_number (b, "output_sqnr_db", a->output_sqnr_db);
      json_builder_set_member_name (b, "worst_value");
      if (a->worst >= 0)
        json_builder_add_string_value (b, a->values[a->worst].name);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "layers");
      json_builder_begin_array (b);
      for (guint v = 0; v < a->n_values; v++)
        {
          const QsAttributionValue *val = &a->values[v];

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "value");
          json_builder_add_string_value (b, val->name);
          json_builder_set_member_name (b, "layer");
          json_builder_add_string_value (b, val->layer);
          json_builder_set_member_name (b, "integer");
          json_builder_add_boolean_value (b, val->is_integer);
          /* null: identical to the float run (+inf dB) */
          qs_cli_json_add_number (b, "sqnr_db", val->sqnr_db);
          qs_cli_json_add_number (b, "rel_l2", val->rel_l2);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
add_confusion (JsonBuilder *b,
               const char  *name,
               const guint *m,
               guint        n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      json_builder_begin_array (b);
      for (guint j = 0; j < n; j++)
        json_builder_add_int_value (b, m[(gsize) i * n + j]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

/* "name": [low, high], or null when not measured */
static void
add_interval (JsonBuilder *b,
              const char  *name,
              double       low,
              double       high)
{
  json_builder_set_member_name (b, name);
  if (!isfinite (low) || !isfinite (high))
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_array (b);
  json_builder_add_double_value (b, low);
  json_builder_add_double_value (b, high);
  json_builder_end_array (b);
}

static void
print_json (QsEvalResult *r,
            GPtrArray    *samples,
            QsDataset    *dataset,
            QsConfig     *config,
            gboolean      quant)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree guint *counts = g_new0 (guint, MAX (r->n_classes, 1));

  /* the images of each class, from the labels themselves: each confusion row sums to it */
  for (guint i = 0; i < r->n_images; i++)
    {
      gint label = qs_dataset_get_label (dataset, i);

      if (label >= 0 && (guint) label < r->n_classes)
        counts[label]++;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, r->n_images);
  json_builder_set_member_name (b, "preset");
  if (config != NULL && qs_config_get_preset_name (config) != NULL)
    json_builder_add_string_value (b, qs_config_get_preset_name (config));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "requantization");
  if (config != NULL)
    json_builder_add_string_value (b, qs_requant_mode_to_string (qs_config_get_requant_mode (config)));
  else
    json_builder_add_null_value (b);
  qs_cli_json_add_number (b, "float_accuracy", r->float_top1);
  qs_cli_json_add_number (b, "float_top5", r->float_top5);
  qs_cli_json_add_number (b, "quant_accuracy", r->quant_top1);
  qs_cli_json_add_number (b, "quant_top5", r->quant_top5);
  qs_cli_json_add_number (b, "agreement", r->agreement);
  qs_cli_json_add_number (b, "mean_kl", r->mean_kl);
  /* 95 % intervals: Wilson for each proportion, Newcombe's paired method for the change */
  add_interval (b, "float_accuracy_interval", r->summary.float_low, r->summary.float_high);
  add_interval (b, "quant_accuracy_interval", quant ? r->summary.quant_low : NAN,
                quant ? r->summary.quant_high : NAN);
  qs_cli_json_add_number (b, "accuracy_change", quant ? r->summary.diff : NAN);
  add_interval (b, "accuracy_change_interval", quant ? r->summary.diff_low : NAN,
                quant ? r->summary.diff_high : NAN);
  add_interval (b, "agreement_interval", quant ? r->summary.agreement_low : NAN,
                quant ? r->summary.agreement_high : NAN);
  json_builder_set_member_name (b, "labelled");
  json_builder_add_boolean_value (b, r->labelled);
  json_builder_set_member_name (b, "classification");
  json_builder_add_boolean_value (b, r->classification);
  json_builder_set_member_name (b, "preprocessing");
  {
    g_autofree char *pp = qs_preprocess_to_string (qs_dataset_get_preprocess (dataset));
    json_builder_add_string_value (b, pp);
  }
  qs_cli_json_add_number (b, "top5_overlap", r->top5_overlap);
  json_builder_set_member_name (b, "output_errors");
  json_builder_begin_object (b);
  qs_cli_json_add_number (b, "sqnr_db", r->output_sqnr_db);
  qs_cli_json_add_number (b, "mse", r->output_mse);
  qs_cli_json_add_number (b, "cosine", r->output_cosine);
  qs_cli_json_add_number (b, "max_abs_error", r->output_max_abs_error);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "float_nonfinite_images");
  json_builder_add_int_value (b, r->float_nonfinite);
  json_builder_set_member_name (b, "quant_nonfinite_images");
  json_builder_add_int_value (b, r->quant_nonfinite);
  json_builder_set_member_name (b, "per_class");
  json_builder_begin_array (b);
  for (guint c = 0; c < r->n_classes; c++)
    {
      const char *name = qs_dataset_get_class_name (dataset, c);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "class");
      json_builder_add_int_value (b, c);
      json_builder_set_member_name (b, "name");
      if (name != NULL)
        json_builder_add_string_value (b, name);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, counts[c]);
      qs_cli_json_add_number (b, "float_accuracy", r->float_per_class[c]);
      qs_cli_json_add_number (b, "quant_accuracy", r->quant_per_class[c]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (r->labelled && r->classification)
    {
      add_confusion (b, "float_confusion", r->float_confusion, r->n_classes);
      if (quant)
        add_confusion (b, "quant_confusion", r->quant_confusion, r->n_classes);
    }
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->n_layers; i++)
    {
      const QsEvalLayer *l = &r->layers[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, l->name);
      json_builder_set_member_name (b, "weight");
      json_builder_add_string_value (b, l->weight_label);
      json_builder_set_member_name (b, "activation");
      json_builder_add_string_value (b, l->activation_label);
      qs_cli_json_add_number (b, "weight_sqnr_db", l->weight_sqnr_db);
      qs_cli_json_add_number (b, "activation_sqnr_db", l->activation_sqnr_db);
      json_builder_set_member_name (b, "weight_bytes");
      json_builder_add_int_value (b, l->weight_bytes);
      json_builder_set_member_name (b, "float_bytes");
      json_builder_add_int_value (b, l->float_bytes);
      if (l->folded_into != NULL)
        {
          json_builder_set_member_name (b, "folded_into");
          json_builder_add_string_value (b, l->folded_into);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  qs_cli_json_add_number (b, "seconds", r->seconds);
  qs_cli_json_add_number (b, "float_images_per_s", r->float_images_per_s);
  qs_cli_json_add_number (b, "quant_images_per_s", r->quant_images_per_s);
  json_builder_set_member_name (b, "float_from_cache");
  json_builder_add_boolean_value (b, r->float_from_disk);
  if (samples != NULL)
    add_samples (b, dataset, samples);
  json_builder_end_object (b);
  qs_cli_print_builder (b);
}

static void
print_text (QsEvalResult *r,
            QsDataset    *dataset,
            QsConfig     *config)
{
  gboolean quant = config != NULL;

  printf (_("Images: %u\n"), r->n_images);
  if (quant)
    printf (_("Requantization: %s\n"), qs_requant_mode_to_string (qs_config_get_requant_mode (config)));
  if (!r->labelled)
    printf (_("Unlabelled data: no accuracy; the quantized model is compared with the float model\n"));
  if (!r->classification)
    printf (_("The output is not a class distribution: judged by output errors against the float model\n"));
  if (r->labelled && r->classification)
    printf (_("Float:     top-1 %6.2f%%  top-5 %6.2f%%\n"), 100 * r->float_top1, 100 * r->float_top5);
  if (quant && r->labelled && r->classification)
    printf (_("Quantized: top-1 %6.2f%%  top-5 %6.2f%%  (%+.2f points)\n"),
            100 * r->quant_top1, 100 * r->quant_top5, 100 * (r->quant_top1 - r->float_top1));
  if (quant && r->labelled && r->classification)
    printf (_("95%% intervals: float %.2f–%.2f%%   quantized %.2f–%.2f%%   change %+.2f to %+.2f points\n"),
            100 * r->summary.float_low, 100 * r->summary.float_high,
            100 * r->summary.quant_low, 100 * r->summary.quant_high,
            100 * r->summary.diff_low, 100 * r->summary.diff_high);
  else if (r->labelled && r->classification)
    printf (_("95%% interval: float %.2f–%.2f%%\n"),
            100 * r->summary.float_low, 100 * r->summary.float_high);
  if (quant && r->classification)
    printf (_("Agreement with float: top-1 %.2f%%   top-5 overlap %.2f%%   mean KL: %.5f\n"),
            100 * r->agreement, 100 * r->top5_overlap, r->mean_kl);
  if (quant)
    printf (_("Outputs vs float: SQNR %.2f dB   MSE %.6g   cosine %.6f   max abs error %.6g\n"),
            r->output_sqnr_db, r->output_mse, r->output_cosine, r->output_max_abs_error);
  if (!r->labelled || !r->classification)
    goto layers;
  printf ("\n%-24s %8s %8s\n", _("Class"), _("Float"), quant ? _("Quant") : "");
  for (guint c = 0; c < r->n_classes; c++)
    {
      const char *name = qs_dataset_get_class_name (dataset, c);
      g_autofree char *fallback = g_strdup_printf ("%u", c);

      printf ("%-24s %7.2f%%", name ? name : fallback, 100 * r->float_per_class[c]);
      if (quant)
        printf (" %7.2f%%", 100 * r->quant_per_class[c]);
      printf ("\n");
    }
layers:
  if (quant)
    {
      printf ("\n%-20s %-16s %-16s %10s %10s %10s\n", _("Layer"), _("Weights"), _("Activations"),
              _("W SQNR dB"), _("A SQNR dB"), _("Bytes"));
      for (guint i = 0; i < r->n_layers; i++)
        {
          const QsEvalLayer *l = &r->layers[i];

          printf ("%-20s %-16s %-16s %10.2f %10.2f %10" PRIu64 "\n", l->name, l->weight_label,
                  l->activation_label, l->weight_sqnr_db, l->activation_sqnr_db, l->weight_bytes);
        }
    }
  printf (_("\n%.3f s; float %.0f images/s"), r->seconds, r->float_images_per_s);
  if (r->float_from_disk)
    printf (_(" (float outputs from the cache)"));
  if (quant)
    printf (_(", quantized %.0f images/s"), r->quant_images_per_s);
  printf ("\n");
}

static void
print_samples_text (QsDataset *dataset,
                    GPtrArray *samples)
{
  printf ("\n%8s %6s %6s %6s %-8s %s\n", _("Image"), _("Label"), _("Float"), _("Quant"),
          _("Changed"), _("Largest error added at"));
  for (guint i = 0; i < samples->len; i++)
    {
      QsAttribution *a = g_ptr_array_index (samples, i);
      gboolean changed = a->float_top[0].cls != a->quant_top[0].cls;

      printf ("%8u %6d %6u %6u %-8s %s", i, qs_dataset_get_label (dataset, i), a->float_top[0].cls,
              a->quant_top[0].cls, changed ? _("yes") : "", a->worst >= 0 ? a->values[a->worst].name : "—");
      if (a->worst >= 0)
        printf (" (%.1f dB)", a->values[a->worst].sqnr_db);
      printf ("\n");
    }
}

int
qs_cli_eval (int    argc,
             char **argv)
{
  g_autofree char *dataset_spec = NULL, *preset = NULL, *config_path = NULL, *requant = NULL;
  g_autofree char *architecture = NULL, *calib_source = NULL;
  gint limit = 0, calib = 0, threads = 0;
  gboolean json = FALSE, no_layer_stats = FALSE, no_float_cache = FALSE, per_sample = FALSE;
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  g_autoptr(GPtrArray) samples = NULL;
  g_autofree char *float_cache_dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsEvalResult) r = NULL;
  g_autoptr(QsCliProgress) progress = NULL;
  QsEvalOptions opts = { 0 };
  g_auto(QsCliDataOptions) data_opts = { 0 };
  int status = QS_CLI_EXIT_OK;
  GOptionEntry entries[] = {
    QS_CLI_DATASET_ENTRY (&dataset_spec),
    QS_CLI_DATA_ENTRIES (&data_opts),
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, N_("Quantization preset (see “presets”)"), N_("P") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Quantization config JSON"), N_("CFG") },
    { "requant", 'r', 0, G_OPTION_ARG_STRING, &requant, QS_CLI_REQUANT_HELP, QS_CLI_REQUANT_ARG },
    { "calib", 0, 0, G_OPTION_ARG_INT, &calib, N_("Calibration images (default 500)"), N_("N") },
    { "calib-source", 0, 0, G_OPTION_ARG_STRING, &calib_source,
      N_("Calibration dataset (default “sample-train”)"), N_("D") },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Evaluate only the first N images"), N_("N") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("Worker threads (default: all cores)"), N_("N") },
    { "no-layer-stats", 0, 0, G_OPTION_ARG_NONE, &no_layer_stats,
      N_("Skip the per-layer activation SQNR pass"), NULL },
    { "no-float-cache", 0, 0, G_OPTION_ARG_NONE, &no_float_cache,
      N_("Recompute the float outputs instead of reading or writing them in the cache folder"), NULL },
    { "architecture", 'a', 0, G_OPTION_ARG_FILENAME, &architecture,
      N_("Architecture for a weights-only file"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { "per-sample", 0, 0, G_OPTION_ARG_NONE, &per_sample,
      N_("Also report every image: both engines’ top-5 and the activation error at every layer"), NULL },
    { NULL }
  };

  if (!qs_cli_parse ("eval", "MODEL",
                     _("Evaluate the float model and, with --preset or --config, the integer engine\n"
                       "side by side: accuracy, agreement, per-class accuracy and per-layer errors."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc != 2)
    return qs_cli_usage_error ("eval", _("expected exactly one MODEL file"));
  if (dataset_spec == NULL)
    return qs_cli_usage_error ("eval", _("--dataset is required"));
  if (preset != NULL && config_path != NULL)
    return qs_cli_usage_error ("eval", _("give either --preset or --config, not both"));
  if (limit < 0)
    return qs_cli_usage_error ("eval", _("--limit must be a positive number"));
  if (calib < 0)
    return qs_cli_usage_error ("eval", _("--calib must be a positive number"));
  if (threads < 0 || threads > 64)
    return qs_cli_usage_error ("eval", _("--threads must be between 1 and 64"));
  if (per_sample && preset == NULL && config_path == NULL)
    return qs_cli_usage_error ("eval", _("--per-sample needs --preset or --config"));

  if (preset != NULL)
    config = qs_config_new_from_preset (preset, &error);
  else if (config_path != NULL)
    config = qs_config_load_file (config_path, &error);
  if ((preset != NULL || config_path != NULL) && config == NULL)
    {
      if (preset != NULL && g_error_matches (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET))
        return qs_cli_usage_error ("eval", "%s", error->message);
      return qs_cli_fail ("eval", error);
    }
  if (requant != NULL && config == NULL)
    return qs_cli_usage_error ("eval", _("--requant needs --preset or --config"));
  if (!qs_cli_apply_requant ("eval", requant, config))
    return QS_CLI_EXIT_USAGE;
  if (config != NULL && calib > 0)
    qs_config_set_calib_images (config, calib);
  if (config != NULL && calib_source != NULL)
    qs_config_set_calib_source (config, calib_source);

  model = qs_model_load_untrusted (argv[1], architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("eval", error);
  if (config != NULL && calib_source != NULL && data_opts.calibration == NULL)
    data_opts.calibration = g_strdup (calib_source);
  dataset = qs_cli_open_dataset ("eval", dataset_spec, &data_opts, config, calib_source != NULL, &status);
  if (dataset == NULL)
    return status;

  opts.limit = limit;
  opts.n_threads = threads;
  opts.float_only = config == NULL;
  opts.layer_stats = config != NULL && !no_layer_stats;
  opts.cache = cache;
  if (!no_float_cache)
    opts.float_cache_dir = float_cache_dir = qs_eval_float_cache_dir ();
  progress = qs_cli_progress_new ("eval");
  r = qs_eval_run (model, config, dataset, &opts, qs_cli_progress_cb, progress, NULL, &error);
  g_clear_pointer (&progress, qs_cli_progress_free);
  if (r == NULL)
    return qs_cli_fail ("eval", error);
  qs_cli_warn_nonfinite_weights ("eval", model);
  qs_cli_warn_nonfinite ("eval", r->float_nonfinite, r->n_images, r->float_nonfinite_at);
  qs_cli_warn_nonfinite ("eval", r->quant_nonfinite, r->n_images, r->quant_nonfinite_at);

  if (per_sample)
    {
      samples = compute_per_sample (model, config, dataset, cache, r->n_images, &error);
      if (samples == NULL)
        return qs_cli_fail ("eval", error);
    }

  if (json)
    print_json (r, samples, dataset, config, config != NULL);
  else
    {
      print_text (r, dataset, config);
      if (samples != NULL)
        print_samples_text (dataset, samples);
    }
  return QS_CLI_EXIT_OK;
}
