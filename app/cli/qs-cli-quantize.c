/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <stdio.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

/* quantscope-cli quantize MODEL (--preset P | --config CFG) [--requant MODE] [--lowering] [--json] [-o fake-quant.h5]
 *   [--dataset D [--labels L] [--preprocess P] [--calibration C] [--calib N]] [--save-config OUT.json]
 * Per-weight metrics, then the model's cost from the lowering (qs_cost_compute: what the
 * integer program stores and holds, the same numbers as the app's summary); --lowering lists
 * the fused groups; -o writes the fake-quantized model. With --dataset, the activation ranges
 * are calibrated on it (or on --calibration) with its preprocessing, as eval calibrates, and
 * listed; --save-config writes the config with those ranges fixed, the preprocessing and the
 * calibration source. */

/* Calibrates the config's calibration source (what qs_cli_open_dataset set) with the
 * dataset's preprocessing and fixes every range the lowering needs in config; adds them to
 * the JSON and prints them. */
static gboolean
calibrate_ranges (QsModel     *model,
                  QsConfig    *config,
                  QsDataset   *dataset,
                  JsonBuilder *b,
                  gboolean     json,
                  GError     **error)
{
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(QsCliProgress) progress = NULL;
  g_autofree QsLoweredRange *list = NULL;
  guint n = 0;

  lowering = qs_lowering_new (model, config, error);
  if (lowering == NULL)
    return FALSE;
  list = qs_lowering_list_ranges (lowering, &n);
  json_builder_set_member_name (b, "calibration");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, qs_config_get_calib_source (config));
  qs_cli_json_add_uint (b, "images", qs_config_get_calib_images (config));
  json_builder_set_member_name (b, "preprocessing");
  {
    g_autofree char *pp = qs_preprocess_to_string (qs_dataset_get_preprocess (dataset));
    json_builder_add_string_value (b, pp);
  }
  json_builder_set_member_name (b, "activation_ranges");
  json_builder_begin_array (b);
  if (n > 0)
    {
      progress = qs_cli_progress_new ("quantize");
      calib = qs_calibration_cache_get_full (NULL, model, qs_config_get_calib_source (config),
                                             qs_dataset_get_preprocess (dataset),
                                             qs_config_get_calib_images (config),
                                             qs_cli_progress_cb, progress, NULL, error);
      g_clear_pointer (&progress, qs_cli_progress_free);
      if (calib == NULL)
        return FALSE;
      ranges = qs_calibration_make_ranges (calib, lowering, error);
      if (ranges == NULL)
        return FALSE;
      if (!json)
        printf (_("\nActivation ranges calibrated on %s (%u images):\n%-28s %12s %12s\n"),
                qs_config_get_calib_source (config), qs_calibration_get_n_images (calib),
                _("Value"), _("Low"), _("High"));
    }
  for (guint i = 0; i < n; i++)
    {
      float lo, hi;

      if (!qs_range_table_lookup (ranges, list[i].name, &lo, &hi))
        continue;
      qs_config_set_activation_range (config, list[i].name, lo, hi);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, list[i].name);
      qs_cli_json_add_number (b, "lo", lo);
      qs_cli_json_add_number (b, "hi", hi);
      json_builder_set_member_name (b, "fixed");
      json_builder_add_boolean_value (b, list[i].fixed);
      json_builder_end_object (b);
      if (!json)
        printf ("%-28s %12.6g %12.6g%s\n", list[i].name, lo, hi, list[i].fixed ? _(" (fixed by the config)") : "");
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (!json && n == 0)
    printf (_("\nNo activation is quantized: nothing to calibrate.\n"));
  return TRUE;
}

int
qs_cli_quantize (int    argc,
                 char **argv)
{
  g_autofree char *preset = NULL, *config_path = NULL, *output = NULL, *architecture = NULL;
  g_autofree char *requant = NULL, *dataset_spec = NULL, *save_config = NULL;
  gboolean json = FALSE, show_lowering = FALSE;
  gint calib_images = 0;
  g_auto(QsCliDataOptions) data_opts = { 0 };
  g_autoptr(QsDataset) dataset = NULL;
  int status = QS_CLI_EXIT_OK;
  g_autoptr(GError) error = NULL;
  QsCost cost;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(GHashTable) replaced = NULL;
  double weighted_noise = 0.0, weighted_signal = 0.0;
  GOptionEntry entries[] = {
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, N_("Quantization preset (see “presets”)"), N_("P") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Quantization config JSON"), N_("CFG") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Write the fake-quantized model (Keras .h5)"), N_("OUT.h5") },
    { "architecture", 'a', 0, G_OPTION_ARG_FILENAME, &architecture,
      N_("Architecture for a weights-only file"), N_("FILE") },
    { "lowering", 'l', 0, G_OPTION_ARG_NONE, &show_lowering,
      N_("List the groups the integer engine runs (BatchNorm folded, activations fused, integer or float)"), NULL },
    { "requant", 'r', 0, G_OPTION_ARG_STRING, &requant, QS_CLI_REQUANT_HELP, QS_CLI_REQUANT_ARG },
    QS_CLI_DATASET_ENTRY (&dataset_spec),
    QS_CLI_DATA_ENTRIES (&data_opts),
    { "calib", 0, 0, G_OPTION_ARG_INT, &calib_images, N_("Calibration images (default 500)"), N_("N") },
    { "save-config", 0, 0, G_OPTION_ARG_FILENAME, &save_config,
      N_("Write the config (with the calibrated activation ranges, the preprocessing and the calibration source)"),
      N_("OUT.json") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };

  if (!qs_cli_parse ("quantize", "MODEL",
                     _("Quantize every weight with a preset or config and report the errors.\n"
                       "With --dataset, calibrate the activation ranges on it (or on --calibration)\n"
                       "as eval does, list them, and with --save-config keep them in the config."),
                     entries, &argc, &argv))
    {
      return QS_CLI_EXIT_USAGE;
    }
  if (argc != 2)
    return qs_cli_usage_error ("quantize", _("expected exactly one MODEL file"));
  if ((preset == NULL) == (config_path == NULL))
    return qs_cli_usage_error ("quantize", _("give exactly one of --preset and --config"));
  if (dataset_spec == NULL && (data_opts.labels != NULL || data_opts.preprocess != NULL
                               || data_opts.calibration != NULL || calib_images != 0))
    return qs_cli_usage_error ("quantize", _("--labels, --preprocess, --calibration and --calib need --dataset"));
  if (calib_images < 0)
    return qs_cli_usage_error ("quantize", _("--calib must be a positive number"));

  if (!qs_cli_check_output ("quantize", output, 3, argv[1], architecture, config_path)
      || !qs_cli_check_output ("quantize", save_config, 4, argv[1], architecture, config_path, output))
    return QS_CLI_EXIT_ERROR;
  config = preset ? qs_config_new_from_preset (preset, &error) : qs_config_load_file (config_path, &error);
  if (config == NULL)
    {
      if (preset != NULL && g_error_matches (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET))
        return qs_cli_usage_error ("quantize", "%s", error->message);
      return qs_cli_fail ("quantize", error);
    }
  if (!qs_cli_apply_requant ("quantize", requant, config))
    return QS_CLI_EXIT_USAGE;
  if (calib_images > 0)
    qs_config_set_calib_images (config, calib_images);
  model = qs_model_load_untrusted (argv[1], architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("quantize", error);
  if (dataset_spec != NULL)
    {
      /* the preprocessing goes into the config; calibration on --calibration, else the dataset */
      dataset = qs_cli_open_dataset ("quantize", dataset_spec, &data_opts, config, FALSE, &status);
      if (dataset == NULL)
        return status;
    }

  replaced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) qs_tensor_unref);
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  if (!json)
    printf ("%-20s %-28s %-14s %9s %12s %12s %10s %10s\n", _("Layer"), _("Weight"), _("Format"),
            _("SQNR dB"), _("MSE"), _("Max error"), _("Bytes"), _("Float"));
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);
      QsLayerConfig lc;

      if (!qs_layer_has_weights (l))
        continue;
      qs_config_get_layer (config, l->name, &lc);
      for (guint w = 0; w < l->weights->len; w++)
        {
          QsTensor *t = g_ptr_array_index (l->weights, w);
          QsQuantOptions opt = { 0 };
          QsQuantSpec spec;
          g_autoptr(QsQuantResult) r = NULL;
          g_autofree char *label = NULL;
          guint64 bytes;
          gboolean is_kernel = t->layout == QS_TENSOR_LAYOUT_DENSE || t->layout == QS_TENSOR_LAYOUT_CONV2D
                               || t->layout == QS_TENSOR_LAYOUT_DEPTHWISE;

          if (!is_kernel)
            continue;   /* biases and BatchNorm parameters: counted in the totals */
          qs_config_resolve_weight_spec (&lc.weight, t, &spec);
          opt.want_dequant = output != NULL;
          r = qs_quant_run (t, &spec, &opt, NULL, &error);
          if (r == NULL)
            return qs_cli_fail ("quantize", error);
          label = qs_quant_spec_to_label (&spec);
          bytes = (r->stats.storage_bits + 7) / 8;
          weighted_signal += r->stats.signal_power * r->stats.n_values;
          weighted_noise += r->stats.mse * r->stats.n_values;
          if (output != NULL)
            g_hash_table_insert (replaced, g_strdup (t->name), qs_tensor_ref (r->dequant));
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "layer");
          json_builder_add_string_value (b, l->name);
          json_builder_set_member_name (b, "weight");
          json_builder_add_string_value (b, t->name);
          json_builder_set_member_name (b, "format");
          json_builder_add_string_value (b, label);
          json_builder_set_member_name (b, "granularity");
          json_builder_add_string_value (b, spec.format == QS_FORMAT_INT
                                            ? (spec.granularity == QS_GRANULARITY_TENSOR ? "tensor"
                                               : spec.granularity == QS_GRANULARITY_CHANNEL ? "channel" : "group")
                                            : "element");
          qs_cli_json_add_number (b, "sqnr_db", r->stats.sqnr_db);
          qs_cli_json_add_number (b, "mse", r->stats.mse);
          qs_cli_json_add_number (b, "max_abs_error", r->stats.max_abs_error);
          json_builder_set_member_name (b, "bytes");
          json_builder_add_int_value (b, bytes);
          json_builder_set_member_name (b, "float_bytes");
          json_builder_add_int_value (b, t->n_elements * 4);
          json_builder_end_object (b);
          if (!json)
            printf ("%-20s %-28s %-14s %9.2f %12.4g %12.4g %10" PRIu64 " %10zu\n",
                    l->name, t->name, label, r->stats.sqnr_db, r->stats.mse, r->stats.max_abs_error,
                    bytes, t->n_elements * 4);
        }
    }
  json_builder_end_array (b);

  /* The totals: the cost model of the lowering, as the app's summary shows it. */
  qs_cost_compute (model, config, &cost);
  qs_cli_json_add_uint (b, "float_bytes", cost.float_weight_bytes);
  qs_cli_json_add_uint (b, "quant_bytes", cost.weight_bytes);
  qs_cli_json_add_number (b, "compression", cost.weight_bytes ? (double) cost.float_weight_bytes / cost.weight_bytes : NAN);
  qs_cli_json_add_number (b, "weighted_sqnr_db", qs_stats_sqnr_db (weighted_signal, weighted_noise));
  json_builder_set_member_name (b, "has_program");
  json_builder_add_boolean_value (b, cost.has_program);
  qs_cli_json_add_uint (b, "peak_activation_bytes", cost.peak_activation_bytes);
  qs_cli_json_add_uint (b, "float_peak_activation_bytes", cost.float_peak_activation_bytes);
  qs_cli_json_add_uint (b, "macs", cost.macs);
  qs_cli_json_add_uint (b, "bit_ops", cost.bit_ops);
  qs_cli_json_add_uint (b, "integer_steps", cost.n_int_steps);
  qs_cli_json_add_uint (b, "float_steps", cost.n_float_steps);
  if (cost.has_program)
    {
      const QsEnergyEntry *table = qs_energy_table ();

      json_builder_set_member_name (b, "energy");
      json_builder_begin_object (b);
      qs_cli_json_add_number (b, "picojoules", cost.energy_pj);
      qs_cli_json_add_number (b, "compute_pj", cost.energy_compute_pj);
      qs_cli_json_add_number (b, "weights_pj", cost.energy_weights_pj);
      qs_cli_json_add_number (b, "activations_pj", cost.energy_activations_pj);
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, QS_ENERGY_SOURCE);
      json_builder_set_member_name (b, "table_pj");
      json_builder_begin_object (b);
      for (guint i = 0; i < QS_ENERGY_N_OPS; i++)
        qs_cli_json_add_number (b, table[i].name, table[i].picojoules);
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  if (show_lowering)
    {
      g_autoptr(QsLowering) lowering = qs_lowering_new (model, config, &error);
      g_autofree char *listing = NULL;

      if (lowering == NULL)
        return qs_cli_fail ("quantize", error);
      listing = qs_lowering_describe (lowering);
      json_builder_set_member_name (b, "lowering");
      json_builder_add_string_value (b, listing);
      json_builder_set_member_name (b, "requantization");
      json_builder_add_string_value (b, qs_requant_mode_to_string (qs_config_get_requant_mode (config)));
      if (!json)
        {
          printf (_("\nLowering (one step a line: kind, integer or float, layer+folded+fused, inputs -> output):\n%s"),
                  listing);
          printf (_("Requantization: %s (%s)\n"), qs_requant_mode_to_string (qs_config_get_requant_mode (config)),
                  qs_requant_mode_describe (qs_config_get_requant_mode (config)));
        }
    }
  if (dataset != NULL && !calibrate_ranges (model, config, dataset, b, json, &error))
    return qs_cli_fail ("quantize", error);
  json_builder_end_object (b);

  if (output != NULL && !qs_model_save (model, output, replaced, &error))
    return qs_cli_fail ("quantize", error);
  if (save_config != NULL && !qs_config_save_file (config, save_config, &error))
    return qs_cli_fail ("quantize", error);
  if (json)
    qs_cli_print_builder (b);
  else
    {
      g_autofree char *fb = g_format_size (cost.float_weight_bytes);
      g_autofree char *qb = g_format_size (cost.weight_bytes);

      printf (_("\nWeights: %s stored (codes, scales, 32-bit biases; BatchNorm folded), %s as float32: %.2fx smaller; weighted SQNR %.2f dB\n"),
              qb, fb, cost.weight_bytes ? (double) cost.float_weight_bytes / cost.weight_bytes : 0.0,
              qs_stats_sqnr_db (weighted_signal, weighted_noise));
      if (cost.has_program)
        {
          g_autofree char *pa = g_format_size (cost.peak_activation_bytes);
          g_autofree char *pf = g_format_size (cost.float_peak_activation_bytes);

          printf (_("Peak activation memory: %s (%s in float32); %.3g MACs, %.3g bit-operations per image; %u integer and %u float steps\n"),
                  pa, pf, (double) cost.macs, (double) cost.bit_ops, cost.n_int_steps, cost.n_float_steps);
          printf (_("Energy estimate: %.3g µJ per image (compute %.3g, weights from DRAM %.3g, activations in SRAM %.3g µJ), per-operation energies from %s\n"),
                  cost.energy_pj / 1e6, cost.energy_compute_pj / 1e6, cost.energy_weights_pj / 1e6,
                  cost.energy_activations_pj / 1e6, QS_ENERGY_SOURCE);
        }
      else
        printf (_("The model cannot run (weights only or an unsupported layer): weights counted layer by layer, no activation memory.\n"));
    }
  return QS_CLI_EXIT_OK;
}
