/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-chart.h"
#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "qs-enums.h"
#include "quantscope-core.h"

/* quantscope-cli plot MODEL --layer NAME --kind histogram|heatmap|channels
 *                     (--preset P | --config CFG) -o FILE.{png,svg,pdf} */
int
qs_cli_plot (int    argc,
             char **argv)
{
  g_autofree char *layer_name = NULL, *kind = NULL, *preset = NULL, *config_path = NULL;
  g_autofree char *output = NULL, *mode_name = NULL, *title = NULL;
  gint width = 960, height = 600, channel = -1;
  double scale = 1.0, font_scale = 1.25;
  gboolean dark = FALSE, log_scale = FALSE, sorted = FALSE;
  GOptionEntry entries[] = {
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &layer_name, N_("Layer whose kernel to plot"), N_("NAME") },
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind, N_("histogram, heatmap or channels"), N_("KIND") },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, N_("Quantization preset (see “presets”)"), N_("PRESET") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Quantization config JSON"), N_("CFG") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Image file: .png, .svg or .pdf"), N_("FILE") },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, N_("Figure width in points (PNG: pixels at scale 1), default 960"), N_("W") },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, N_("Figure height, default 600"), N_("H") },
    { "scale", 0, 0, G_OPTION_ARG_DOUBLE, &scale, N_("PNG pixels per point, e.g. 2 for HiDPI"), N_("S") },
    { "channel", 0, 0, G_OPTION_ARG_INT, &channel, N_("Histogram of one output channel (-1 = all)"), N_("C") },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode_name, N_("Heatmap: error, abs-error, rel-error, weight or code"), N_("MODE") },
    { "log", 0, 0, G_OPTION_ARG_NONE, &log_scale, N_("Histogram: logarithmic counts"), NULL },
    { "sorted", 0, 0, G_OPTION_ARG_NONE, &sorted, N_("Channels: widest channel first"), NULL },
    { "dark", 0, 0, G_OPTION_ARG_NONE, &dark, N_("Dark background"), NULL },
    { "font-scale", 0, 0, G_OPTION_ARG_DOUBLE, &font_scale,
      N_("Text size relative to 9 pt, default 1.25 (legible on a projector)"), N_("F") },
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, N_("Figure title (default: layer and quantization)"), N_("TEXT") },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsQuantResult) result = NULL;
  g_autofree char *label = NULL;
  const QsLayer *layer;
  QsTensor *kernel;
  QsLayerConfig layer_config;
  QsQuantOptions qopts = { 0 };
  QsChartOptions options;
  QsChartStyle style;

  if (!qs_cli_parse ("plot", N_("MODEL"),
                     _("Draws a layer's weight histogram, quantization-error heatmap or channel\n"
                       "ranges under a preset or config, as PNG, SVG or PDF."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc != 2)
    return qs_cli_usage_error ("plot", _("expected one MODEL argument"));
  if (layer_name == NULL)
    return qs_cli_usage_error ("plot", _("--layer is required"));
  if (kind == NULL || (!g_str_equal (kind, "histogram") && !g_str_equal (kind, "heatmap") &&
                       !g_str_equal (kind, "channels")))
    return qs_cli_usage_error ("plot", _("--kind must be histogram, heatmap or channels"));
  if ((preset == NULL) == (config_path == NULL))
    return qs_cli_usage_error ("plot", _("give exactly one of --preset and --config"));
  if (output == NULL)
    return qs_cli_usage_error ("plot", _("-o FILE is required"));
  if (width < 16 || height < 16 || width > 16384 || height > 16384)
    return qs_cli_usage_error ("plot", _("--width and --height must be 16 to 16384"));
  if (!(scale >= 0.25 && scale <= 8.0))
    return qs_cli_usage_error ("plot", _("--scale must be 0.25 to 8"));
  if (!(font_scale >= 0.5 && font_scale <= 4.0))
    return qs_cli_usage_error ("plot", _("--font-scale must be 0.5 to 4"));
  if (!qs_cli_check_output ("plot", output, 2, argv[1], config_path))
    return QS_CLI_EXIT_ERROR;
  if (channel < -1)
    return qs_cli_usage_error ("plot", _("--channel must be -1 (all) or a channel index"));

  qs_chart_options_init (&options);
  if (mode_name != NULL)
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (QS_TYPE_MAP_VALUE);
      GEnumValue *value = g_enum_get_value_by_nick (klass, mode_name);

      if (value == NULL)
        return qs_cli_usage_error ("plot", _("--mode must be error, abs-error, rel-error, weight or code"));
      options.mode = value->value;
    }

  if (preset != NULL)
    config = qs_config_new_from_preset (preset, &error);
  else
    config = qs_config_load_file (config_path, &error);
  if (config == NULL)
    return qs_cli_fail ("plot", error);

  model = qs_model_load_untrusted (argv[1], NULL, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("plot", error);
  layer = qs_model_find_layer (model, layer_name);
  if (layer == NULL)
    {
      g_set_error (&error, QS_MODEL_ERROR, QS_MODEL_ERROR_NOT_FOUND,
                   _("“%s” has no layer named “%s” (see “quantscope-cli info”)"), argv[1], layer_name);
      return qs_cli_fail ("plot", error);
    }
  kernel = qs_layer_get_kernel (layer);
  if (kernel == NULL)
    {
      g_set_error (&error, QS_MODEL_ERROR, QS_MODEL_ERROR_UNSUPPORTED,
                   _("Layer “%s” (%s) has no kernel to plot"), layer->name, layer->class_name);
      return qs_cli_fail ("plot", error);
    }

  qs_config_get_layer (config, layer->name, &layer_config);
  qopts.want_codes = TRUE;
  qopts.want_dequant = TRUE;
  result = qs_quant_run (kernel, &layer_config.weight, &qopts, NULL, &error);
  if (result == NULL)
    {
      g_prefix_error (&error, _("Layer “%s”: "), layer->name);
      return qs_cli_fail ("plot", error);
    }

  if (channel >= 0)
    {
      gsize n_channels = 1, inner, outer;

      if (result->params != NULL && result->params->n_channels > 1)
        n_channels = result->params->n_channels;
      else if (!qs_tensor_channel_geometry (kernel, -1, &n_channels, &inner, &outer, NULL))
        n_channels = 1;
      if ((gsize) channel >= n_channels)
        {
          g_set_error (&error, QS_MODEL_ERROR, QS_MODEL_ERROR_NOT_FOUND,
                       _("--channel %d: “%s” has %zu output channels (0 to %zu)"),
                       channel, kernel->name, n_channels, n_channels - 1);
          return qs_cli_fail ("plot", error);
        }
    }

  if (dark)
    qs_chart_style_init_dark (&style);
  else
    qs_chart_style_init_light (&style);
  style.font_scale = font_scale;
  options.style = &style;
  options.channel = channel;
  options.log_scale = log_scale;
  options.sorted = sorted;
  if (title == NULL)
    {
      label = qs_quant_spec_to_label (&layer_config.weight);
      title = g_strdup_printf ("%s — %s", kernel->name, label);
    }
  if (!qs_chart_export_full (kind, result, &options, title, output, width, height, scale, &error))
    return qs_cli_fail ("plot", error);
  return QS_CLI_EXIT_OK;
}
