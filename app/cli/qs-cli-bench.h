/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Benchmarks are ratios taken in one run: every result names its baseline
 * (memcpy of the same bytes, or the float engine on the same images). */
typedef struct _QsBench QsBench;

/* Best-of-N memcpy bandwidth in GB/s (bytes copied per second) measured at the start of the
 * run. Every bandwidth result counts the size of the tensor it processes, so a ratio to
 * memcpy is memcpy's time over the operation's time on the same tensor. */
double qs_bench_memcpy_gb_per_s (QsBench    *bench);
/* Reports a bandwidth result; vs_memcpy is computed from the run's memcpy figure. */
void   qs_bench_add_bandwidth   (QsBench    *bench,
                                 const char *name,
                                 double      gb_per_s);
/* Reports a throughput result with its ratio to a baseline measured in the same run. */
void   qs_bench_add_rate        (QsBench    *bench,
                                 const char *name,
                                 const char *unit,        /* "images_per_s", "frames_per_s" ... */
                                 double      value,
                                 const char *ratio_name,  /* "vs_float", "vs_memcpy" ... or NULL */
                                 double      ratio);
/* Reports a latency in milliseconds (frame times, recompute times). */
void   qs_bench_add_ms          (QsBench    *bench,
                                 const char *name,
                                 double      ms,
                                 const char *ratio_name,
                                 double      ratio);
/* Wall time of the best of `reps` calls of func, in seconds. */
double qs_bench_best_seconds    (int         reps,
                                 void      (*func) (gpointer data),
                                 gpointer    data);
gboolean qs_bench_quick         (QsBench    *bench); /* --quick: smaller sizes, for tests */
/* --synthetic-params N (25M, 16M, 4000000 ...): the size of the "live" group's synthetic
 * model; 0 when not given. */
guint64  qs_bench_synthetic_params (QsBench *bench);
/* --model FILE, --dataset D (nullable) and --images N (fallback when not given). */
const char *qs_bench_model_path  (QsBench *bench);
const char *qs_bench_dataset_spec (QsBench *bench);
guint    qs_bench_images         (QsBench    *bench,
                                  guint       fallback);
/* --per-layer: with --model, the int8 engine's time per op and per layer class. */
gboolean qs_bench_per_layer      (QsBench    *bench);
/* bench --write-models DIR: the engine group's synthetic ImageNet-sized models as .h5. */
gboolean qs_bench_write_models   (const char *dir);

void   qs_bench_quant           (QsBench    *bench); /* app/cli/qs-bench-quant.c */
void   qs_bench_charts          (QsBench    *bench); /* app/cli/qs-bench-charts.c */
void   qs_bench_train           (QsBench    *bench); /* app/cli/qs-bench-train.c */
void   qs_bench_engine          (QsBench    *bench); /* app/cli/qs-bench-engine.c */
void   qs_bench_float_kernels   (QsBench    *bench); /* app/cli/qs-bench-float-kernels.c */
void   qs_bench_model           (QsBench    *bench); /* app/cli/qs-bench-model.c */
void   qs_bench_live            (QsBench    *bench); /* app/cli/qs-bench-live.c */
void   qs_bench_live_accuracy   (QsBench    *bench); /* app/cli/qs-bench-live-accuracy.c */

/* Each module registers one function; add yours to the table in qs-cli-bench.c. */
typedef void (*QsBenchFunc) (QsBench *bench);

G_END_DECLS
