/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qs-cli-bench.h"
#include "qs-kernels-quant.h"
#include "quantscope-core.h"

/* The quantization group of `quantscope-cli bench`, on one 16M-float tensor (1M with
 * --quick), one core, best of several runs. Bandwidth = the tensor's size (4 bytes per
 * value) over the time, like memcpy's (bytes copied per second), so vs_memcpy is the time
 * memcpy takes to copy the tensor over the time the operation takes on it: 0.5 means the
 * operation takes twice as long as copying the tensor. A quantize pass includes its range
 * scan. */

#define DENSE_COLS 4096

typedef struct
{
  QsTensor          *tensor;      /* Laplace-like weights, 4096 columns */
  QsQuantSpec        spec;
  const QsQuantKernels *kernels;
  gint32            *codes;
  float             *dequant;
  guint32           *hist;
  QsHistogram       *histogram;
  QsQuantRowStats    stats;
} QuantJob;

static void
run_quant (gpointer data)
{
  QuantJob *job = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsQuantResult) r = qs_quant_run (job->tensor, &job->spec, NULL, NULL, &error);

  if (r == NULL)
    g_error ("bench: %s", error->message);
}

static void
run_params (gpointer data)
{
  QuantJob *job = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsQuantParams) p = qs_quant_params_compute (job->tensor, &job->spec, &error);

  if (p == NULL)
    g_error ("bench: %s", error->message);
}

/* The fused row kernel alone, int8 per-tensor, writing codes, dequant and code histogram. */
static void
run_kernel (gpointer data)
{
  QuantJob *job = data;
  QsTensor *t = job->tensor;

  memset (job->hist, 0, QS_QUANT_HIST_BANKS * 255 * sizeof (guint32));
  memset (&job->stats, 0, sizeof job->stats);
  job->kernels->quantize_row (t->data, t->n_elements, 0.05f, 0, -127, 127, job->codes,
                              job->dequant, job->hist, &job->stats);
}

static void
run_histogram (gpointer data)
{
  QuantJob *job = data;

  memset (job->histogram->counts, 0, job->histogram->n_bins * sizeof (guint64));
  job->histogram->total = job->histogram->underflow = job->histogram->overflow = 0;
  qs_histogram_add (job->histogram, job->tensor->data, job->tensor->n_elements);
}

void
qs_bench_quant (QsBench *bench)
{
  gboolean quick = qs_bench_quick (bench);
  gsize n = quick ? (gsize) 1 << 20 : (gsize) 16 << 20;
  gsize shape[2] = { n / DENSE_COLS, DENSE_COLS };
  int reps = quick ? 3 : 5;
  double gb = n * sizeof (float) / 1e9;
  double t_int8, t_mse;
  QuantJob job = { 0 };
  g_autoptr(GError) error = NULL;
  const QsQuantKernels *const *list = qs_quant_kernels_list ();
  guint64 state = 0x853c49e6748fea9bULL;

  job.tensor = qs_tensor_new ("bench/kernel", 2, shape, &error);
  if (job.tensor == NULL)
    g_error ("bench: %s", error->message);
  /* Laplace(0, 1) from a seeded xorshift: heavy-ish tails like real weights */
  for (gsize i = 0; i < n; i++)
    {
      double u;

      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      u = ((state >> 11) + 0.5) / 9007199254740992.0 - 0.5;
      job.tensor->data[i] = (float) (u < 0 ? log1p (2 * u) : -log1p (-2 * u));
    }

  /* Fused quantize + statistics through the public API, stats only (the live path), int8
   * per-tensor, range scan included. */
  qs_quant_spec_init (&job.spec);
  job.spec.granularity = QS_GRANULARITY_TENSOR;
  t_int8 = qs_bench_best_seconds (reps, run_quant, &job);
  qs_bench_add_bandwidth (bench, "quantize-int8-per-tensor", gb / t_int8);

  /* int4 per-channel on a [n / 4096, 4096] Dense kernel (per-element scales in the row
   * kernel). */
  job.spec.bits = 4;
  job.spec.granularity = QS_GRANULARITY_CHANNEL;
  qs_bench_add_bandwidth (bench, "quantize-int4-per-channel",
                          gb / qs_bench_best_seconds (reps, run_quant, &job));

  /* The row kernel of every implementation with all outputs (codes, dequantized values,
   * statistics, code histogram), no range scan. The first is the scalar reference. */
  job.codes = qs_aligned_alloc (n * sizeof (gint32));
  job.dequant = qs_aligned_alloc (n * sizeof (float));
  job.hist = g_new0 (guint32, QS_QUANT_HIST_BANKS * 255);
  memset (job.codes, 0, n * sizeof (gint32));
  memset (job.dequant, 0, n * sizeof (float));
  for (guint i = 0; list[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup_printf ("quantize-int8-kernel-%s", list[i]->name);

      job.kernels = list[i];
      qs_bench_add_bandwidth (bench, name, gb / qs_bench_best_seconds (reps, run_kernel, &job));
    }
  qs_aligned_free (job.codes);
  qs_aligned_free (job.dequant);
  g_free (job.hist);

  /* MSE-optimal clip search, int8 per-tensor: range scan + 2048-bin histogram + closed-form
   * candidate evaluation. Also as a multiple of one quantize pass. */
  qs_quant_spec_init (&job.spec);
  job.spec.granularity = QS_GRANULARITY_TENSOR;
  job.spec.range_method = QS_RANGE_MSE;
  t_mse = qs_bench_best_seconds (reps, run_params, &job);
  qs_bench_add_bandwidth (bench, "mse-clip-search", gb / t_mse);
  qs_bench_add_ms (bench, "mse-clip-search-time", t_mse * 1e3, "vs_quantize_pass", t_mse / t_int8);

  /* Histogram of the input, 2048 bins. */
  job.histogram = qs_histogram_new (2048, -8.0, 8.0);
  qs_bench_add_bandwidth (bench, "histogram-build",
                          gb / qs_bench_best_seconds (reps, run_histogram, &job));
  qs_histogram_unref (job.histogram);
  qs_tensor_unref (job.tensor);
}
