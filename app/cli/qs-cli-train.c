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

GOptionEntry *
qs_cli_fit_args_entries (QsCliFitArgs       *a,
                         const GOptionEntry *extra,
                         const char         *epochs_help,
                         const char         *seed_help,
                         const char         *lr_help,
                         const char         *output_help)
{
  const GOptionEntry shared[] = {
    { "dataset", 'd', 0, G_OPTION_ARG_FILENAME, &a->dataset,
      N_("Training images: an image folder (one sub-folder per class), .npz[:X,Y], .npy, HDF5[:X,Y], "
         "IDX images file, sample-train, sample-train-full or sample"), N_("D") },
    { "test", 0, 0, G_OPTION_ARG_STRING, &a->test, N_("Images to measure accuracy on (default: sample)"), N_("D") },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &a->epochs, epochs_help, N_("N") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a->seed, seed_help, N_("S") },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &a->batch_size, N_("Images per step (default: 64)"), N_("N") },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &a->lr, lr_help, N_("RATE") },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &a->optimizer, N_("adam (default) or sgd (momentum 0.9)"), N_("NAME") },
    { "constant-lr", 0, 0, G_OPTION_ARG_NONE, &a->constant_lr, N_("Keep the learning rate constant instead of a cosine decay"), NULL },
    { "limit", 0, 0, G_OPTION_ARG_INT, &a->limit, N_("Train on the first N images only"), N_("N") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &a->threads, N_("Worker threads (default: all cores; results do not depend on it)"), N_("N") },
    { "no-resume", 0, 0, G_OPTION_ARG_NONE, &a->no_resume, N_("Ignore and overwrite a checkpoint left by an interrupted run"), NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &a->output, output_help, N_("OUT.h5") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &a->json, N_("Print a JSON summary"), NULL },
  };
  gsize n_extra = 0;
  GOptionEntry *all;

  while (extra != NULL && extra[n_extra].long_name != NULL)
    n_extra++;
  all = g_new0 (GOptionEntry, n_extra + G_N_ELEMENTS (shared) + 1);
  if (n_extra > 0)
    memcpy (all, extra, n_extra * sizeof (GOptionEntry));
  memcpy (all + n_extra, shared, sizeof shared);
  return all;
}

gboolean
qs_cli_fit_args_to_options (const char     *command,
                            QsCliFitArgs   *a,
                            QsTrainOptions *options)
{
  if (a->dataset == NULL)
    return qs_cli_usage_error (command, _("--dataset is required")), FALSE;
  if (a->output == NULL)
    return qs_cli_usage_error (command, _("-o OUT.h5 is required")), FALSE;
  if (a->epochs <= 0 || a->batch_size <= 0 || a->limit < 0 || a->threads < 0 || a->seed < 0
      || !(a->lr > 0))
    return qs_cli_usage_error (command, _("--epochs, --batch-size and --lr must be positive")), FALSE;

  qs_train_options_init (options);
  if (!qs_cli_train_parse_optimizer (a->optimizer, &options->optimizer))
    return qs_cli_usage_error (command, _("unknown optimizer “%s” (adam or sgd)"), a->optimizer), FALSE;
  options->epochs = (guint) a->epochs;
  options->batch_size = (guint) a->batch_size;
  options->learning_rate = a->lr;
  options->cosine_decay = !a->constant_lr;
  options->seed = (guint64) a->seed;
  options->n_threads = (guint) a->threads;
  g_free (a->checkpoint);
  a->checkpoint = g_strconcat (a->output, ".ckpt", NULL);
  if (a->no_resume)
    g_remove (a->checkpoint);
  options->checkpoint = a->checkpoint;
  return TRUE;
}

void
qs_cli_fit_args_clear (QsCliFitArgs *a)
{
  g_clear_pointer (&a->dataset, g_free);
  g_clear_pointer (&a->test, g_free);
  g_clear_pointer (&a->optimizer, g_free);
  g_clear_pointer (&a->output, g_free);
  g_clear_pointer (&a->checkpoint, g_free);
}

int
qs_cli_train (int    argc,
              char **argv)
{
  g_autofree char *arch = NULL;
  g_auto(QsCliFitArgs) a = { .epochs = 3, .batch_size = 64, .seed = 1, .lr = 1e-3 };
  const GOptionEntry own[] = {
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, N_("Architecture: mlp, cnn, resnet or mobilenet"), N_("ARCH") },
    { NULL }
  };
  g_autofree GOptionEntry *entries = qs_cli_fit_args_entries (&a, own,
      N_("Passes over the training images (default: 3)"),
      N_("Seed of the initial weights, shuffling and dropout (default: 1)"),
      N_("Learning rate (default: 0.001)"),
      N_("Where to write the trained model (.h5)"));
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTrainNet) net = NULL;
  g_autoptr(QsTrainData) train = NULL;
  g_autoptr(QsTrainData) test_data = NULL;
  QsCliTrainProgress tp;
  QsTrainOptions options;
  double accuracy = NAN, loss = NAN, seconds;
  const char *test;
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
  /* SGD wants a larger step than Adam's default */
  if (g_strcmp0 (a.optimizer, "sgd") == 0 && a.lr == 1e-3)
    a.lr = 0.01;
  if (!qs_cli_fit_args_to_options ("train", &a, &options))
    return QS_CLI_EXIT_USAGE;
  test = a.test != NULL ? a.test : "sample";
  if (!qs_cli_check_output ("train", a.output, 2, a.dataset, test)
      || !qs_cli_check_output ("train", a.checkpoint, 2, a.dataset, test))
    return QS_CLI_EXIT_ERROR;

  net = qs_train_net_new_arch (arch, (guint64) a.seed, &error);
  if (net == NULL)
    return qs_cli_usage_error ("train", "%s", error->message);
  train = qs_cli_train_open_data (a.dataset, (guint) a.limit, &error);
  if (train == NULL)
    return qs_cli_fail ("train", error);
  test_data = qs_cli_train_open_data (test, 0, &error);
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
      || !qs_train_net_save (net, a.output, &error))
    return qs_cli_fail ("train", error);
  g_remove (a.checkpoint);

  if (a.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "arch");
      json_builder_add_string_value (b, arch);
      json_builder_set_member_name (b, "dataset");
      json_builder_add_string_value (b, a.dataset);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, qs_train_data_get_n_images (train));
      json_builder_set_member_name (b, "epochs");
      json_builder_add_int_value (b, a.epochs);
      json_builder_set_member_name (b, "seed");
      json_builder_add_int_value (b, a.seed);
      json_builder_set_member_name (b, "params");
      json_builder_add_int_value (b, (gint64) qs_train_net_get_n_params (net));
      json_builder_set_member_name (b, "train_loss");
      json_builder_add_double_value (b, tp.last_loss);
      json_builder_set_member_name (b, "train_accuracy");
      json_builder_add_double_value (b, tp.last_accuracy);
      json_builder_set_member_name (b, "test_dataset");
      json_builder_add_string_value (b, test);
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
      json_builder_add_string_value (b, a.output);
      json_builder_end_object (b);
      qs_cli_print_builder (b);
    }
  else
    {
      g_print (_("Trained %s (%zu parameters) on %u images for %d epochs in %.1f s\n"),
               arch, qs_train_net_get_n_params (net), qs_train_data_get_n_images (train), a.epochs,
               seconds);
      g_print (_("Test accuracy on %s: %.2f%% (loss %.4f)\n"), test,
               100.0 * accuracy, loss);
      g_print (_("Saved %s\n"), a.output);
    }
  return QS_CLI_EXIT_OK;
}
