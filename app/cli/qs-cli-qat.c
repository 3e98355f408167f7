/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "qs-cli-train-private.h"
#include "quantscope-core.h"

/* quantscope-cli qat: quantization-aware fine-tuning under a config. */

static char *
config_path_for (const char *output)
{
  g_autofree char *base = g_strdup (output);
  char *dot = strrchr (base, '.');
  char *slash = strrchr (base, G_DIR_SEPARATOR);

  if (dot != NULL && (slash == NULL || dot > slash))
    *dot = '\0';
  return g_strconcat (base, ".json", NULL);
}

int
qs_cli_qat (int    argc,
            char **argv)
{
  g_autofree char *preset = NULL, *config_file = NULL;
  g_auto(QsCliFitArgs) a = { .epochs = 2, .batch_size = 64, .seed = 1, .lr = 5e-4 };
  g_auto(QsCliDataOptions) data_opts = { 0 };
  const GOptionEntry own[] = {
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset, N_("Quantization preset (see “quantscope-cli presets”)"), N_("P") },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file, N_("Quantization config JSON"), N_("CFG") },
    QS_CLI_DATA_ENTRIES (&data_opts),
    { NULL }
  };
  g_autoptr(QsDataset) train_set = NULL;
  g_autoptr(QsDataset) test_set = NULL;
  int status = QS_CLI_EXIT_OK;
  g_autofree GOptionEntry *entries = qs_cli_fit_args_entries (&a, own,
      N_("Passes over the training images (default: 2)"),
      N_("Seed of shuffling and dropout (default: 1)"),
      N_("Learning rate (default: 0.0005)"),
      N_("Where to write the fine-tuned model (.h5); its config goes beside it (.json)"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsTrainNet) float_net = NULL;
  g_autoptr(QsTrainNet) net = NULL;
  g_autoptr(QsTrainData) train = NULL;
  g_autoptr(QsTrainData) test_data = NULL;
  g_autofree char *config_out = NULL;
  g_autoptr(QsConfig) trained_config = NULL;
  const char *test_spec;
  QsCliTrainProgress tp;
  QsTrainOptions options;
  double float_acc = NAN, before_acc = NAN, after_acc = NAN, seconds;
  gint64 t0;

  if (!qs_cli_parse ("qat", "MODEL",
                     _("Fine-tunes MODEL with the quantization of a preset or config in the loop:\n"
                       "BatchNorm folded as the integer engine folds it, weights and activations\n"
                       "fake-quantized with the engine's rounding, straight-through gradients,\n"
                       "EMA activation ranges, kept at the end. Writes OUT.h5 (BatchNorm folded) and\n"
                       "OUT.json (its config, with the trained activation ranges); evaluate\n"
                       "them with “quantscope-cli eval OUT.h5 --config OUT.json”. An interrupted run\n"
                       "resumes from OUT.h5.ckpt, written after every epoch."),
                     entries, &argc, &argv))
    {
      return QS_CLI_EXIT_USAGE;
    }
  if (argc < 2)
    return qs_cli_usage_error ("qat", _("MODEL is required"));
  if (argc > 2)
    return qs_cli_usage_error ("qat", _("unexpected argument “%s”"), argv[2]);
  if ((preset == NULL) == (config_file == NULL))
    return qs_cli_usage_error ("qat", _("give exactly one of --preset and --config"));
  if (!qs_cli_fit_args_to_options ("qat", &a, &options))
    return QS_CLI_EXIT_USAGE;
  config_out = config_path_for (a.output);
  test_spec = a.test != NULL ? a.test : "sample";
  if (!qs_cli_check_output ("qat", a.output, 4, argv[1], config_file, a.dataset, test_spec)
      || !qs_cli_check_output ("qat", config_out, 5, argv[1], config_file, a.dataset, test_spec, a.output)
      || !qs_cli_check_output ("qat", a.checkpoint, 4, argv[1], config_file, a.dataset, test_spec))
    return QS_CLI_EXIT_ERROR;

  if (preset != NULL)
    config = qs_config_new_from_preset (preset, &error);
  else
    config = qs_config_load_file (config_file, &error);
  if (config == NULL)
    return preset != NULL ? qs_cli_usage_error ("qat", "%s", error->message)
                          : qs_cli_fail ("qat", error);

  model = qs_model_load_untrusted (argv[1], NULL, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("qat", error);
  float_net = qs_train_net_new_from_model (model, &error);
  if (float_net == NULL)
    return qs_cli_fail ("qat", error);
  /* The training images with --labels and the preprocessing (--preprocess, else the
   * config's), which also goes into the config; calibration on --calibration or on them. */
  train_set = qs_cli_open_dataset ("qat", a.dataset, &data_opts, config, FALSE, &status);
  if (train_set == NULL)
    return status;
  if (!qs_dataset_is_labelled (train_set))
    {
      g_printerr (_("quantscope-cli qat: the dataset “%s” has no labels; quantization-aware "
                    "training needs one class per image: give --labels FILE.npy, an .npz or "
                    "HDF5 file with labels (FILE:X,Y), or an image folder with one sub-folder "
                    "per class\n"), a.dataset);
      return QS_CLI_EXIT_ERROR;
    }
  train = qs_train_data_new_from_model_inputs (train_set, model, (guint) a.limit, &error);
  if (train == NULL)
    return qs_cli_fail ("qat", error);
  test_set = qs_dataset_open_full (test_spec, NULL, qs_config_get_preprocess (config), &error);
  if (test_set == NULL)
    return qs_cli_fail ("qat", error);
  if (!qs_dataset_is_labelled (test_set))
    {
      g_printerr (_("quantscope-cli qat: the test set “%s” has no labels; give --test with labelled images\n"),
                  test_spec);
      return QS_CLI_EXIT_ERROR;
    }
  test_data = qs_train_data_new_from_model_inputs (test_set, model, 0, &error);
  if (test_data == NULL)
    return qs_cli_fail ("qat", error);

  /* Float, then post-training quantization (fake-quantized, engine calibration), then QAT. */
  if (!qs_train_net_evaluate (float_net, test_data, 0, options.n_threads, &float_acc, NULL, NULL, &error))
    return qs_cli_fail ("qat", error);
  net = qs_train_net_new_qat (float_net, config, &error);
  if (net == NULL
      || !qs_train_net_evaluate (net, test_data, 0, options.n_threads, &before_acc, NULL, NULL, &error))
    return qs_cli_fail ("qat", error);

  qs_cli_train_progress_init (&tp, "qat");
  t0 = g_get_monotonic_time ();
  if (!qs_train_net_fit (net, train, &options, tp.func, &tp, NULL, &error))
    {
      qs_cli_train_progress_clear (&tp);
      return qs_cli_fail ("qat", error);
    }
  qs_cli_train_progress_clear (&tp);
  seconds = (g_get_monotonic_time () - t0) / 1e6;

  /* the config with the activation ranges the net trained with */
  trained_config = qs_train_net_get_qat_config (net, &error);
  if (trained_config == NULL
      || !qs_train_net_evaluate (net, test_data, 0, options.n_threads, &after_acc, NULL, NULL, &error)
      || !qs_train_net_save (net, a.output, &error)
      || !qs_config_save_file (trained_config, config_out, &error))
    return qs_cli_fail ("qat", error);
  g_remove (a.checkpoint);

  if (a.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "config");
      json_builder_add_string_value (b, preset != NULL ? preset : config_file);
      json_builder_set_member_name (b, "dataset");
      json_builder_add_string_value (b, a.dataset);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, qs_train_data_get_n_images (train));
      json_builder_set_member_name (b, "preprocessing");
      {
        g_autofree char *pp = qs_preprocess_to_string (qs_config_get_preprocess (config));
        json_builder_add_string_value (b, pp);
      }
      json_builder_set_member_name (b, "calibration");
      json_builder_add_string_value (b, qs_config_get_calib_source (config));
      json_builder_set_member_name (b, "epochs");
      json_builder_add_int_value (b, a.epochs);
      json_builder_set_member_name (b, "test_dataset");
      json_builder_add_string_value (b, test_spec);
      json_builder_set_member_name (b, "float_accuracy");
      json_builder_add_double_value (b, float_acc);
      json_builder_set_member_name (b, "ptq_accuracy");
      json_builder_add_double_value (b, before_acc);
      json_builder_set_member_name (b, "qat_accuracy");
      json_builder_add_double_value (b, after_acc);
      json_builder_set_member_name (b, "train_loss");
      json_builder_add_double_value (b, tp.last_loss);
      json_builder_set_member_name (b, "train_accuracy");
      json_builder_add_double_value (b, tp.last_accuracy);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, seconds);
      json_builder_set_member_name (b, "seconds_per_epoch");
      json_builder_add_double_value (b, tp.epochs_run > 0 ? tp.epoch_seconds / tp.epochs_run : 0.0);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, a.output);
      json_builder_set_member_name (b, "output_config");
      json_builder_add_string_value (b, config_out);
      json_builder_end_object (b);
      qs_cli_print_builder (b);
    }
  else
    {
      g_print (_("Accuracy on %s (trainer, fake-quantized like the integer engine):\n"), test_spec);
      g_print (_("  float  %6.2f%%\n"), 100.0 * float_acc);
      g_print (_("  PTQ    %6.2f%%\n"), 100.0 * before_acc);
      g_print (_("  QAT    %6.2f%%  (%d epochs, %.1f s)\n"), 100.0 * after_acc, a.epochs, seconds);
      g_print (_("Saved %s and %s\n"), a.output, config_out);
    }
  return QS_CLI_EXIT_OK;
}
