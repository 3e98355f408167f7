/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

/* quantscope-cli export MODEL (--preset P | --config CFG) --format F -o OUT
 *                      [--requant MODE] [--calibration N] [--architecture FILE]
 * quantscope-cli export --list
 * quantscope-cli import MODEL ENCODINGS -o CONFIG.json [--preset P | --config CFG]
 *
 * export is generic over the formats table (qs_export_list_formats): it lowers the model
 * with the config, calibrates when the format needs activation ranges (ranges the config
 * fixes are used as they are), runs the format's writer through qs_export_run (which
 * refuses to write over the model) and prints the writer's summary. import turns AIMET
 * encodings or a Quantscope config export into a plain config file. */

static QsConfig *
load_config (const char  *command,
             const char  *preset,
             const char  *config_path,
             int         *status)
{
  g_autoptr(GError) error = NULL;
  QsConfig *config;

  if (preset != NULL)
    {
      config = qs_config_new_from_preset (preset, &error);
      if (config == NULL)
        *status = g_error_matches (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET)
                  ? qs_cli_usage_error (command, "%s", error->message) : qs_cli_fail (command, error);
      return config;
    }
  /* A plain config or a config export (whose embedded config carries its ranges). */
  config = qs_export_import_config (NULL, config_path, NULL, &error);
  if (config == NULL)
    *status = qs_cli_fail (command, error);
  return config;
}

static int
list_formats (void)
{
  guint n;
  const QsExportFormat *formats = qs_export_list_formats (&n);

  printf ("%-14s %-16s %-11s %s\n", _("Format"), _("Requantization"), _("Suffix"), _("Description"));
  for (guint i = 0; i < n; i++)
    printf ("%-14s %-16s %-11s %s%s\n", formats[i].id, qs_requant_mode_to_string (formats[i].requant_mode),
            formats[i].extension[0] != '\0' ? formats[i].extension : _("(folder)"),
            _(formats[i].description),
            formats[i].needs_ranges ? _(" [calibrates]") : "");
  return QS_CLI_EXIT_OK;
}

int
qs_cli_export (int    argc,
               char **argv)
{
  g_autofree char *preset = NULL, *config_path = NULL, *output = NULL, *architecture = NULL;
  g_autofree char *format_id = NULL, *requant = NULL;
  g_autofree char *eval_data = NULL;
  gint calibration = 0, images = -2; /* -2: not given */
  gboolean list = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(GString) summary = g_string_new (NULL);
  const QsExportFormat *format;
  QsExportContext ctx = { 0 };
  QsRequantMode mode;
  int status = QS_CLI_EXIT_ERROR;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format_id, N_("Export format (see --list)"), N_("F") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("The file to write"), N_("OUT") },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, N_("Quantization preset (see “presets”)"), N_("P") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Quantization config JSON (or a config export)"), N_("CFG") },
    { "requant", 'r', 0, G_OPTION_ARG_STRING, &requant,
      N_("Requantization mode: gemmlowp, single-rounding, fp32-rne, cmsis-nn (default: the format's)"), N_("MODE") },
    { "calibration", 0, 0, G_OPTION_ARG_INT, &calibration,
      N_("Calibration images (default: the config's, 500)"), N_("N") },
    { "architecture", 'a', 0, G_OPTION_ARG_FILENAME, &architecture,
      N_("Architecture for a weights-only file"), N_("FILE") },
    { "data", 0, 0, G_OPTION_ARG_STRING, &eval_data,
      N_("Reports: the data to evaluate on (default: the config's calibration source)"), N_("SPEC") },
    { "images", 0, 0, G_OPTION_ARG_INT, &images,
      N_("Reports: images to evaluate (default 1000; 0: do not evaluate)"), N_("N") },
    { "list", 'l', 0, G_OPTION_ARG_NONE, &list, N_("List the formats and exit"), NULL },
    { NULL }
  };

  if (!qs_cli_parse ("export", "MODEL",
                     _("Write the quantized model for deployment: a config with every scale, AIMET encodings, a fake-quantized Keras file, or a format a colleague's runtime reads."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (list)
    return list_formats ();
  if (argc != 2)
    return qs_cli_usage_error ("export", _("expected exactly one MODEL file"));
  if ((preset == NULL) == (config_path == NULL))
    return qs_cli_usage_error ("export", _("give exactly one of --preset and --config"));
  if (format_id == NULL)
    return qs_cli_usage_error ("export", _("give --format (quantscope-cli export --list shows them)"));
  if ((format = qs_export_find_format (format_id)) == NULL)
    return qs_cli_usage_error ("export", _("unknown format “%s” (quantscope-cli export --list shows them)"), format_id);
  if (output == NULL)
    return qs_cli_usage_error ("export", _("give the file to write with -o"));
  if (calibration < 0)
    return qs_cli_usage_error ("export", _("--calibration must be a positive number"));
  if (images < 0 && images != -2)
    return qs_cli_usage_error ("export", _("--images must be 0 (do not evaluate) or a positive number"));
  if (requant != NULL && !qs_requant_mode_from_string (requant, &mode))
    return qs_cli_usage_error ("export", _("unknown requantization mode “%s” (gemmlowp, single-rounding, fp32-rne, cmsis-nn)"),
                               requant);
  if (!qs_cli_check_output ("export", output, 3, argv[1], architecture, config_path))
    return QS_CLI_EXIT_ERROR;

  config = load_config ("export", preset, config_path, &status);
  if (config == NULL)
    return status;
  /* The mode the consumer computes in, unless asked for another one; a report describes
   * the config's own. */
  if (requant != NULL)
    qs_config_set_requant_mode (config, mode);
  else if (!format->keeps_requant_mode)
    qs_config_set_requant_mode (config, format->requant_mode);
  model = qs_model_load_untrusted (argv[1], architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("export", error);
  lowering = qs_lowering_new (model, config, &error);
  if (lowering == NULL)
    return qs_cli_fail ("export", error);
  if (format->needs_ranges)
    {
      g_autoptr(QsCliProgress) progress = qs_cli_progress_new ("calibration");

      ranges = qs_export_make_ranges (lowering, NULL, (guint) calibration,
                                      qs_cli_progress_cb, progress, NULL, &error);
      if (ranges == NULL)
        return qs_cli_fail ("export", error);
    }
  ctx.model = model;
  ctx.config = config;
  ctx.lowering = lowering;
  ctx.ranges = ranges;
  ctx.model_path = argv[1];
  ctx.eval_data = eval_data;
  /* --images 0: no evaluation; not given: the format's default */
  ctx.eval_images = images == -2 ? 0 : images == 0 ? -1 : images;
  if (!qs_export_run (format, &ctx, output, summary, &error))
    return qs_cli_fail ("export", error);
  printf (_("Exported %s (%s) to %s\n"), qs_model_get_name (model), format->id, output);
  fputs (summary->str, stdout);
  return QS_CLI_EXIT_OK;
}

int
qs_cli_import (int    argc,
               char **argv)
{
  g_autofree char *preset = NULL, *config_path = NULL, *output = NULL, *architecture = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsConfig) base = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(GString) summary = g_string_new (NULL);
  int status = QS_CLI_EXIT_ERROR;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("The config file to write"), N_("CONFIG.json") },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset,
      N_("Start from this preset for what the file does not say (default fp32)"), N_("P") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      N_("Start from this config for what the file does not say"), N_("CFG") },
    { "architecture", 'a', 0, G_OPTION_ARG_FILENAME, &architecture,
      N_("Architecture for a weights-only file"), N_("FILE") },
    { NULL }
  };

  if (!qs_cli_parse ("import", "MODEL FILE",
                     _("Turn AIMET encodings (0.6.1 or 1.0.0) or a Quantscope config export into a config for MODEL. Every unknown layer, channel-count mismatch and impossible value is listed; nothing is written unless the whole file fits."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc != 3)
    return qs_cli_usage_error ("import", _("expected a MODEL and the FILE to import"));
  if (preset != NULL && config_path != NULL)
    return qs_cli_usage_error ("import", _("give either --preset or --config, not both"));
  if (output == NULL)
    return qs_cli_usage_error ("import", _("give the config file to write with -o"));
  if (!qs_cli_check_output ("import", output, 4, argv[1], argv[2], architecture, config_path))
    return QS_CLI_EXIT_ERROR;
  if (preset != NULL || config_path != NULL)
    {
      base = load_config ("import", preset, config_path, &status);
      if (base == NULL)
        return status;
    }
  model = qs_model_load_untrusted (argv[1], architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("import", error);
  config = qs_export_import (model, argv[2], base, summary, &error);
  if (config == NULL)
    return qs_cli_fail ("import", error);
  if (!qs_config_save_file (config, output, &error))
    return qs_cli_fail ("import", error);
  fputs (summary->str, stdout);
  printf (_("Wrote the config to %s\n"), output);
  return QS_CLI_EXIT_OK;
}
