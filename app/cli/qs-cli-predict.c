/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

/* quantscope-cli predict MODEL --dataset D [--preset P | --config CFG] [--requant MODE]
 *                     [--limit N] [--architecture F] [--json]
 * With --preset / --config: the integer engine (calibrated on the config's calibration
 * source), in the config's requantization mode or --requant's. */

#define PREDICT_CHUNK 256

int
qs_cli_predict (int    argc,
                char **argv)
{
  g_autofree char *architecture = NULL;
  g_autofree char *dataset_spec = NULL;
  g_autofree char *preset = NULL, *config_path = NULL, *requant = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineInt) int_engine = NULL;
  gint limit = -1;
  gboolean json = FALSE;
  g_autoptr(GError) error = NULL;
  g_autofree char *nonfinite_at = NULL;
  guint n_nonfinite = 0;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsEngineFloat) engine = NULL;
  g_autoptr(QsCliProgress) progress = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autofree float *input = NULL;
  g_autofree float *output = NULL;
  gsize shape[QS_TENSOR_MAX_DIMS], per = 1;
  guint rank, n_classes, n, correct = 0;
  g_auto(QsCliDataOptions) data_opts = { 0 };
  int status = QS_CLI_EXIT_OK;
  GOptionEntry entries[] = {
    QS_CLI_DATASET_ENTRY (&dataset_spec),
    QS_CLI_DATA_ENTRIES (&data_opts),
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Predict only the first N images"), N_("N") },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, N_("Run the integer engine with this quantization preset"), N_("P") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Run the integer engine with this quantization config JSON"), N_("CFG") },
    { "requant", 'r', 0, G_OPTION_ARG_STRING, &requant, QS_CLI_REQUANT_HELP, QS_CLI_REQUANT_ARG },
    { "architecture", 'a', 0, G_OPTION_ARG_FILENAME, &architecture,
      N_("Architecture for a weights-only file"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };

  if (!qs_cli_parse ("predict", "MODEL", _("Run the float engine (or, with --preset or --config, the integer engine) and print each image's prediction."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc != 2)
    return qs_cli_usage_error ("predict", _("expected exactly one MODEL file"));
  if (dataset_spec == NULL)
    return qs_cli_usage_error ("predict", _("--dataset is required"));
  if (limit == 0 || limit < -1)
    return qs_cli_usage_error ("predict", _("--limit must be a positive number"));
  if (preset != NULL && config_path != NULL)
    return qs_cli_usage_error ("predict", _("give either --preset or --config, not both"));
  if (requant != NULL && preset == NULL && config_path == NULL)
    return qs_cli_usage_error ("predict", _("--requant needs --preset or --config"));
  if (preset != NULL || config_path != NULL)
    {
      config = preset ? qs_config_new_from_preset (preset, &error) : qs_config_load_file (config_path, &error);
      if (config == NULL)
        {
          if (preset != NULL && g_error_matches (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET))
            return qs_cli_usage_error ("predict", "%s", error->message);
          return qs_cli_fail ("predict", error);
        }
      if (!qs_cli_apply_requant ("predict", requant, config))
        return QS_CLI_EXIT_USAGE;
    }

  model = qs_model_load_untrusted (argv[1], architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("predict", error);
  dataset = qs_cli_open_dataset ("predict", dataset_spec, &data_opts, NULL, FALSE, &status);
  if (dataset == NULL)
    return status;
  engine = qs_engine_float_new (model, &error);
  if (engine == NULL)
    return qs_cli_fail ("predict", error);
  if (config != NULL)
    {
      calib = qs_calibration_cache_get (NULL, model, qs_config_get_calib_source (config),
                                        qs_config_get_calib_images (config), NULL, NULL, NULL, &error);
      if (calib == NULL)
        return qs_cli_fail ("predict", error);
      int_engine = qs_calibration_compile (calib, model, config, &error);
      if (int_engine == NULL)
        return qs_cli_fail ("predict", error);
    }

  rank = qs_model_get_input_shape (model, shape);
  for (guint i = 0; i < rank; i++)
    per *= shape[i];
  n_classes = qs_model_get_n_classes (model);
  n = qs_dataset_get_n_images (dataset);
  if (limit > 0 && (guint) limit < n)
    n = limit;
  input = g_new (float, (gsize) PREDICT_CHUNK * per);
  output = g_new (float, (gsize) n * n_classes);
  progress = qs_cli_progress_new ("predict");
  for (guint start = 0; start < n; start += PREDICT_CHUNK)
    {
      guint count = MIN (PREDICT_CHUNK, n - start);
      if (!qs_dataset_fill_inputs (dataset, model, start, count, input, &error))
        return qs_cli_fail ("predict", error);
      if (int_engine != NULL)
        {
          if (!qs_engine_int_run (int_engine, input, count, output + (gsize) start * n_classes, 0,
                                  NULL, NULL, NULL, &error))
            return qs_cli_fail ("predict", error);
        }
      else if (!qs_engine_float_run (engine, input, count, output + (gsize) start * n_classes, 0,
                                     NULL, NULL, NULL, &error))
        return qs_cli_fail ("predict", error);
      else
        n_nonfinite += qs_engine_float_find_nonfinite (engine, input, count,
                                                       output + (gsize) start * n_classes,
                                                       nonfinite_at == NULL ? &nonfinite_at : NULL);
      qs_cli_progress_update (progress, (double) (start + count) / n, NULL);
    }
  g_clear_pointer (&progress, qs_cli_progress_free);
  qs_cli_warn_nonfinite_weights ("predict", model);
  qs_cli_warn_nonfinite ("predict", n_nonfinite, n, nonfinite_at);

  if (json)
    {
      b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, n);
      json_builder_set_member_name (b, "requantization");
      if (config != NULL)
        json_builder_add_string_value (b, qs_requant_mode_to_string (qs_config_get_requant_mode (config)));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "nonfinite_images");
      json_builder_add_int_value (b, n_nonfinite);
      json_builder_set_member_name (b, "nonfinite_at");
      if (nonfinite_at != NULL)
        json_builder_add_string_value (b, nonfinite_at);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "predictions");
      json_builder_begin_array (b);
    }
  else
    printf ("%-8s %-6s %-7s %-12s %s\n", _("Index"), _("Label"), _("Argmax"), _("Probability"), _("Class"));
  for (guint i = 0; i < n; i++)
    {
      const float *p = output + (gsize) i * n_classes;
      guint best = 0;
      gint label = qs_dataset_get_label (dataset, i);

      for (guint c = 1; c < n_classes; c++)
        if (p[c] > p[best])
          best = c;
      correct += (gint) best == label;
      if (json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "index");
          json_builder_add_int_value (b, i);
          json_builder_set_member_name (b, "label");
          json_builder_add_int_value (b, label);
          json_builder_set_member_name (b, "argmax");
          json_builder_add_int_value (b, best);
          json_builder_set_member_name (b, "probabilities");
          json_builder_begin_array (b);
          for (guint c = 0; c < n_classes; c++)
            json_builder_add_double_value (b, p[c]);
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      else
        {
          const char *name = qs_dataset_get_class_name (dataset, best);
          printf ("%-8u %-6d %-7u %-12.6f %s\n", i, label, best, p[best], name != NULL ? name : "");
        }
    }
  if (json)
    {
      json_builder_end_array (b);
      json_builder_end_object (b);
      qs_cli_print_builder (b);
    }
  else if (qs_dataset_is_labelled (dataset))
    printf (_("\n%u of %u images correct (%.2f%%)\n"), correct, n, 100.0 * correct / n);
  return QS_CLI_EXIT_OK;
}
