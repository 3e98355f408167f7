/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-cli-bench.h"
#include "quantscope-core.h"

/* Bench group "train": seconds per training epoch of 10,000 images for the sample CNN,
 * float and QAT (w8a8), on all cores. The float epoch is compared with a pass of the
 * trainer in inference mode over the same images, the QAT epoch with the float epoch.
 * With --quick only a few batches run and the time is extrapolated to 10,000 images. */

#define BENCH_IMAGES 10000

typedef struct
{
  gint64 first;     /* after the first batch */
  gint64 last;
  guint  batches;
} Timing;

static void
timing_progress (const QsTrainProgress *progress,
                 gpointer               user_data)
{
  Timing *t = user_data;

  if (progress->batch == 1)
    t->first = g_get_monotonic_time ();
  t->last = g_get_monotonic_time ();
  t->batches = progress->batch;
}

/* Steady-state seconds per 10,000 images: timed from the end of the first batch to the
 * end of the last, so setup (and QAT's calibration) is not counted. */
static double
epoch_seconds (QsTrainNet   *net,
               QsTrainData  *data,
               guint         max_batches,
               GError      **error)
{
  QsTrainOptions options;
  Timing t = { 0 };

  qs_train_options_init (&options);
  options.epochs = 1;
  options.max_batches = max_batches;
  if (!qs_train_net_fit (net, data, &options, timing_progress, &t, NULL, error))
    return -1;
  if (t.batches < 2)
    return 0;
  return (t.last - t.first) / 1e6 * BENCH_IMAGES / ((t.batches - 1) * (double) options.batch_size);
}

void
qs_bench_train (QsBench *bench)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsTrainData) data = NULL;
  g_autoptr(QsTrainNet) net = NULL;
  g_autoptr(QsTrainNet) qat = NULL;
  g_autoptr(QsConfig) config = NULL;
  guint max_batches = qs_bench_quick (bench) ? 9 : BENCH_IMAGES / 64;
  double infer, train_s, qat_s;
  gint64 t0;

  dataset = qs_dataset_open ("sample-train", &error);
  if (dataset != NULL)
    data = qs_train_data_new_from_dataset (dataset, BENCH_IMAGES, &error);
  if (data != NULL)
    net = qs_train_net_new_arch ("cnn", 1, &error);
  if (net == NULL)
    goto fail;

  t0 = g_get_monotonic_time ();
  if (!qs_train_net_evaluate (net, data, MIN (max_batches * 64, BENCH_IMAGES), 0, NULL, NULL, NULL, &error))
    goto fail;
  infer = (g_get_monotonic_time () - t0) / 1e6 * BENCH_IMAGES
          / MIN (max_batches * 64, BENCH_IMAGES);

  train_s = epoch_seconds (net, data, max_batches, &error);
  if (train_s < 0)
    goto fail;
  qs_bench_add_rate (bench, qs_bench_quick (bench) ? "train-cnn-float-epoch10k (extrapolated)"
                                                   : "train-cnn-float-epoch10k",
                     "seconds", train_s, "vs_inference", train_s / infer);

  config = qs_config_new_from_preset ("w8a8", &error);
  if (config != NULL)
    qat = qs_train_net_new_qat (net, config, &error);
  if (qat == NULL)
    goto fail;
  qat_s = epoch_seconds (qat, data, max_batches, &error);
  if (qat_s < 0)
    goto fail;
  qs_bench_add_rate (bench, qs_bench_quick (bench) ? "train-cnn-qat-w8a8-epoch10k (extrapolated)"
                                                   : "train-cnn-qat-w8a8-epoch10k",
                     "seconds", qat_s, "vs_float", qat_s / train_s);
  return;

fail:
  g_printerr (_("bench train: %s\n"), error->message);
}
