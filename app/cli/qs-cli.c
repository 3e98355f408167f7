/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "qs-report.h"
#include "qs-data.h"

/* The CLI is the headless twin of the app: every capability has a subcommand here. */
static const QsCliCommand commands[] = {
  { "bench", N_("Measure kernel and engine speed against memcpy and the float engine"), qs_cli_bench },
  { "plot", N_("Draw a layer's weight histogram, error heatmap or channel ranges to PNG, SVG or PDF"), qs_cli_plot },
  { "info", N_("Describe a model file: format, input, layers and weights"), qs_cli_info },
  { "predict", N_("Print the float engine's prediction for each image of a dataset"), qs_cli_predict },
  { "eval", N_("Evaluate float and quantized accuracy side by side with the integer engine"), qs_cli_eval },
  { "quantize", N_("Quantize the weights with a preset or config and report per-layer errors"), qs_cli_quantize },
  { "presets", N_("List the named quantization presets"), qs_cli_presets },
  { "sensitivity", N_("Measure how much each layer's weights matter, in each candidate format"), qs_cli_sensitivity },
  { "search", N_("Find the mixed-precision weight config for a byte budget or an accuracy drop (measured Pareto front)"), qs_cli_search },
  { "merge", N_("Combine the slices of a sharded sensitivity sweep (sensitivity/search --shard K/N)"), qs_cli_merge },
  { "check", N_("List the layers a deployment target (TFLite int8, CMSIS-NN, ONNX Runtime ...) cannot run, with the reason"), qs_cli_check },
  { "export", N_("Write the quantized model for deployment (config, AIMET encodings, fake-quantized .h5 ...)"), qs_cli_export },
  { "import", N_("Turn AIMET encodings or a config export into a Quantscope config"), qs_cli_import },
  { "train", N_("Train a sample architecture (mlp, cnn, resnet, mobilenet) from scratch"), qs_cli_train },
  { "qat", N_("Fine-tune a model with quantization in the loop (quantization-aware training)"), qs_cli_qat },
};

static void
print_help (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: quantscope-cli COMMAND [OPTIONS…]"));
  fprintf (out, "%s\n\n", _("Explore and tune neural-network quantization from the command line."));
  fprintf (out, "%s\n", _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n", _("Options:"));
  fprintf (out, "  %-12s %s\n", "--help", _("Show this help"));
  fprintf (out, "  %-12s %s\n", "--version", _("Show the version"));
  fprintf (out, "\n%s\n", _("Run “quantscope-cli COMMAND --help” for the options of a command."));
  fprintf (out, "%s\n", _("Exit status: 0 success, 1 error, 2 usage error."));
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, qs_data_get_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  /* Formats that live outside core join its table here (the report draws with the charts). */
  qs_report_register ();

  if (argc < 2)
    {
      print_help (stderr);
      return QS_CLI_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_help (stdout);
      return QS_CLI_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("quantscope-cli %s\n", PACKAGE_VERSION);
      return QS_CLI_EXIT_OK;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].func (argc - 1, argv + 1);

  g_printerr (_("quantscope-cli: unknown command “%s”\n"), argv[1]);
  g_printerr (_("Run “quantscope-cli --help” for the list of commands.\n"));
  return QS_CLI_EXIT_USAGE;
}
