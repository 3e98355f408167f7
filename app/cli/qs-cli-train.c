/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "qs-cli-train-private.h"
#include "quantscope-core.h"

/* quantscope-cli train: float training of a sample architecture. */

static void
train_progress (const QsTrainProgress *p,
                gpointer               user_data)
{
  QsCliTrainProgress *tp = user_data;
  int percent = (int) (p->fraction * 100.0);
  gboolean epoch_end = p->batch == p->n_batches;
  g_autofree char *detail = NULL;

  if (p->resumed)
    detail = g_strdup_printf (_("epoch %u/%u restored from the checkpoint"), p->epoch + 1, p->n_epochs);
  else if (epoch_end || (tp->tty && percent != tp->last_percent))
    detail = g_strdup_printf (_("epoch %u/%u  loss %.4f  accuracy %.2f%%  %.1f s"),
                              p->epoch + 1, p->n_epochs, p->loss, 100.0 * p->accuracy, p->seconds);
  tp->last_percent = percent;
  if (!p->resumed && epoch_end)
    {
      tp->last_loss = p->loss;
      tp->last_accuracy = p->accuracy;
      tp->epoch_seconds += p->seconds;
      tp->epochs_run++;
    }
  qs_cli_progress_update (tp->progress, p->fraction, detail);
}

void
qs_cli_train_progress_init (QsCliTrainProgress *tp,
                            const char         *label)
{
  memset (tp, 0, sizeof *tp);
  tp->progress = qs_cli_progress_new (label);
  tp->tty = isatty (STDERR_FILENO);
  tp->last_percent = -1;
  tp->last_loss = NAN;
  tp->last_accuracy = NAN;
  tp->func = train_progress;
}

void
qs_cli_train_progress_clear (QsCliTrainProgress *tp)
{
  g_clear_pointer (&tp->progress, qs_cli_progress_free);
}

QsTrainData *
qs_cli_train_open_data (const char  *spec,
                        guint        limit,
                        GError     **error)
{
  g_autoptr(QsDataset) dataset = qs_dataset_open (spec, error);

  if (dataset == NULL)
    return NULL;
  return qs_train_data_new_from_dataset (dataset, limit, error);
}

gboolean
qs_cli_train_parse_optimizer (const char  *name,
                              QsOptimizer *out)
{
  if (name == NULL || strcmp (name, "adam") == 0)
    *out = QS_OPTIMIZER_ADAM;
  else if (strcmp (name, "sgd") == 0)
    *out = QS_OPTIMIZER_SGD;
  else
    return FALSE;
  return TRUE;
}

int
qs_cli_train (int    argc,
              char **argv)
{
  g_autofree char *arch = NULL, *dataset = NULL, *output = NULL, *test = NULL, *optimizer = NULL;
  gint epochs = 3, batch_size = 64, threads = 0, limit = 0;
  gint64 seed = 1;
  double lr = 1e-3;
  gboolean json = FALSE, no_resume = FALSE, constant_lr = FALSE;
  GOptionEntry entries[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, N_("Architecture: mlp, cnn, resnet or mobilenet"), N_("ARCH") },
    { "dataset", 0, 0, G_OPTION_ARG_STRING, &dataset, N_("Training images: sample-train, sample, an IDX or HDF5 file"), N_("D") },
    { "test", 0, 0, G_OPTION_ARG_STRING, &test, N_("Images to measure accuracy on (default: sample)"), N_("D") },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, N_("Passes over the training images (default: 3)"), N_("N") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Seed of the initial weights, shuffling and dropout (default: 1)"), N_("S") },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &batch_size, N_("Images per step (default: 64)"), N_("N") },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, N_("Learning rate (default: 0.001)"), N_("RATE") },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, N_("adam (default) or sgd (momentum 0.9)"), N_("NAME") },
    { "constant-lr", 0, 0, G_OPTION_ARG_NONE, &constant_lr, N_("Keep the learning rate constant instead of a cosine decay"), NULL },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("Train on the first N images only"), N_("N") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Worker threads (default: all cores; results do not depend on it)"), N_("N") },
    { "no-resume", 0, 0, G_OPTION_ARG_NONE, &no_resume, N_("Ignore and overwrite a checkpoint left by an interrupted run"), NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Where to write the trained model (.h5)"), N_("OUT.h5") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTrainNet) net = NULL;
  g_autoptr(QsTrainData) train = NULL;
  g_autoptr(QsTrainData) test_data = NULL;
  g_autofree char *checkpoint = NULL;
  QsCliTrainProgress tp;
  QsTrainOptions options;
  double accuracy = NAN, loss = NAN, seconds;
  gint64 t0;

  if (!qs_cli_parse ("train", NULL,
                     _("Trains a sample architecture from scratch in float32 (deterministic for a\n"
                       "seed) and saves it as a Keras 2 .h5 model. An interrupted run resumes from\n"
                       "OUT.h5.ckpt, written after every epoch."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc > 1)
    return qs_cli_usage_error ("train", _("unexpected argument “%s”"), argv[1]);
  if (arch == NULL)
    return qs_cli_usage_error ("train", _("--arch is required (mlp, cnn, resnet or mobilenet)"));
  if (dataset == NULL)
    return qs_cli_usage_error ("train", _("--dataset is required"));
  if (output == NULL)
    return qs_cli_usage_error ("train", _("-o OUT.h5 is required"));
  if (epochs <= 0 || batch_size <= 0 || limit < 0 || threads < 0 || seed < 0 || !(lr > 0))
    return qs_cli_usage_error ("train", _("--epochs, --batch-size and --lr must be positive"));

  qs_train_options_init (&options);
  if (!qs_cli_train_parse_optimizer (optimizer, &options.optimizer))
    return qs_cli_usage_error ("train", _("unknown optimizer “%s” (adam or sgd)"), optimizer);
  if (options.optimizer == QS_OPTIMIZER_SGD && lr == 1e-3)
    lr = 0.01;
  options.epochs = (guint) epochs;
  options.batch_size = (guint) batch_size;
  options.learning_rate = lr;
  options.cosine_decay = !constant_lr;
  options.seed = (guint64) seed;
  options.n_threads = (guint) threads;
  checkpoint = g_strconcat (output, ".ckpt", NULL);
  if (no_resume)
    g_remove (checkpoint);
  options.checkpoint = checkpoint;

  net = qs_train_net_new_arch (arch, (guint64) seed, &error);
  if (net == NULL)
    return qs_cli_usage_error ("train", "%s", error->message);
  train = qs_cli_train_open_data (dataset, (guint) limit, &error);
  if (train == NULL)
    return qs_cli_fail ("train", error);
  test_data = qs_cli_train_open_data (test != NULL ? test : "sample", 0, &error);
  if (test_data == NULL)
    return qs_cli_fail ("train", error);

  qs_cli_train_progress_init (&tp, "train");
  t0 = g_get_monotonic_time ();
  if (!qs_train_net_fit (net, train, &options, tp.func, &tp, NULL, &error))
    {
      qs_cli_train_progress_clear (&tp);
      return qs_cli_fail ("train", error);
    }
  qs_cli_train_progress_clear (&tp);
  seconds = (g_get_monotonic_time () - t0) / 1e6;

  if (!qs_train_net_evaluate (net, test_data, 0, options.n_threads, &accuracy, &loss, NULL, &error)
      || !qs_train_net_save (net, output, &error))
    return qs_cli_fail ("train", error);
  g_remove (checkpoint);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "arch");
      json_builder_add_string_value (b, arch);
      json_builder_set_member_name (b, "dataset");
      json_builder_add_string_value (b, dataset);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, qs_train_data_get_n_images (train));
      json_builder_set_member_name (b, "epochs");
      json_builder_add_int_value (b, epochs);
      json_builder_set_member_name (b, "seed");
      json_builder_add_int_value (b, seed);
      json_builder_set_member_name (b, "params");
      json_builder_add_int_value (b, (gint64) qs_train_net_get_n_params (net));
      json_builder_set_member_name (b, "train_loss");
      json_builder_add_double_value (b, tp.last_loss);
      json_builder_set_member_name (b, "train_accuracy");
      json_builder_add_double_value (b, tp.last_accuracy);
      json_builder_set_member_name (b, "test_dataset");
      json_builder_add_string_value (b, test != NULL ? test : "sample");
      json_builder_set_member_name (b, "test_images");
      json_builder_add_int_value (b, qs_train_data_get_n_images (test_data));
      json_builder_set_member_name (b, "test_loss");
      json_builder_add_double_value (b, loss);
      json_builder_set_member_name (b, "test_accuracy");
      json_builder_add_double_value (b, accuracy);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, seconds);
      json_builder_set_member_name (b, "seconds_per_epoch");
      json_builder_add_double_value (b, tp.epochs_run > 0 ? tp.epoch_seconds / tp.epochs_run : 0.0);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, output);
      json_builder_end_object (b);
      qs_cli_print_builder (b);
    }
  else
    {
      g_print (_("Trained %s (%zu parameters) on %u images for %d epochs in %.1f s\n"),
               arch, qs_train_net_get_n_params (net), qs_train_data_get_n_images (train), epochs,
               seconds);
      g_print (_("Test accuracy on %s: %.2f%% (loss %.4f)\n"), test != NULL ? test : "sample",
               100.0 * accuracy, loss);
      g_print (_("Saved %s\n"), output);
    }
  return QS_CLI_EXIT_OK;
}
