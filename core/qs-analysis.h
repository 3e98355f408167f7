/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "qs-config.h"
#include "qs-dataset.h"
#include "qs-eval.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* Which layers matter: per-layer weight sensitivity and a mixed-precision search whose
 * Pareto front is measured, not predicted.
 *
 * Sensitivity: every layer with a kernel, one at a time, gets each candidate weight format
 * while every other layer stays float32 (activations float: the weights alone are
 * measured); the drop is float top-1 minus that model's top-1 on the evaluation subset in
 * points (or, without labels, the disagreement with the float model in points).
 *
 * Reverse sensitivity (options->reverse): every layer takes the format except one, which
 * stays float; drop[f] is that config's drop, all_drop[f] the drop with every layer at f.
 * all_drop[f] - drop[f] is what keeping that layer in float buys back, which counts the
 * layers' interactions that the one-at-a-time view misses. The front is built from the
 * forward sensitivity only.
 *
 * Search: a format per layer that minimises the summed sensitivities under a weight-byte
 * budget, by dynamic programming over the layers (a multiple-choice knapsack on the
 * lowering's storage of each kernel in each format). The front (bytes vs predicted drop)
 * is then evaluated point by point with the real engine; the front returned carries both
 * the prediction and the measurement. */

#define QS_ANALYSIS_ERROR (qs_analysis_error_quark ())

typedef enum
{
  QS_ANALYSIS_ERROR_INVALID,     /* unknown format name, nothing to analyse */
  QS_ANALYSIS_ERROR_INFEASIBLE,  /* no config fits the budget */
  QS_ANALYSIS_ERROR_MISMATCH,    /* shards or a saved table of another sweep, a slice missing */
  QS_ANALYSIS_ERROR_PARSE,       /* a sensitivity file that is not one */
} QsAnalysisError;

/* A candidate weight format: "int8", "int6", "int4", "int3", "int2" (symmetric per channel),
 * "int8-tensor", "int4-tensor" (per tensor), "fp16", "bf16", "fp8" (E4M3), "fp32"; an integer
 * format with "-pow2" appended ("int8-pow2", "int8-tensor-pow2") has power-of-two scales. */
gboolean        qs_analysis_parse_format        (const char     *name,
                                                 QsQuantSpec    *out,
                                                 GError        **error);
/* The default candidates: int8, int6, int4, int3, int2, fp16. */
const char * const *qs_analysis_default_formats (void);

typedef struct
{
  char    *layer;
  guint64  float_bytes;     /* the kernel in float32 */
  guint    n_formats;
  char   **formats;         /* names, as given */
  double  *drop;            /* points (0..100) per format */
  guint64 *bytes;           /* the kernel's storage per format (codes, scales, zero-points) */
  double  *sqnr_db;         /* the kernel's SQNR per format */
  guint   *weight_bits;     /* bits per weight per format (int N: N, fp16: 16, fp8: 8) */
  guint64  macs;            /* multiply-accumulates per image (0: the model cannot run) */
} QsSensitivityLayer;

typedef struct
{
  gint                ref_count;
  guint               n_images;
  gboolean            labelled;     /* FALSE: drops are disagreement with the float model */
  double              float_top1;   /* NAN without labels */
  gboolean            reverse;      /* drop[f]: every layer at f except this one (float) */
  double             *all_drop;     /* reverse: per format, every layer at it; else NULL */
  guint               n_layers;
  QsSensitivityLayer *layers;
  double              seconds;
  /* SHA-256 (hex) of what the sweep measures: the model, the evaluation inputs and labels,
   * the image count, reverse and the format list (qs_sensitivity_fingerprint ()) */
  char               *fingerprint;
  guint               shard_index;  /* slice shard_index of shard_count (0 of 0: the whole sweep) */
  guint               shard_count;
  guint               n_cached;     /* formats whose measurements came from the disk cache */
} QsSensitivity;

typedef struct
{
  guint       n_images;        /* evaluation subset (0 = 1,000) */
  guint       n_threads;       /* each evaluation runs over this many cores (0: all) */
  gboolean    reverse;         /* the reverse sensitivity: every layer quantized except one */
  QsEvalCache *cache;          /* nullable */
  /* Sharding: the sweep's measurements, numbered (reverse: the every-layer row per format
   * first) then layer by layer, format by format, are split round-robin; slice shard_index
   * of shard_count measures the ones whose number is shard_index modulo shard_count and
   * leaves the others NAN. shard_count 0: all of them. */
  guint        shard_index;
  guint        shard_count;
  /* The disk cache of measurements, one file per format (nullable: none; see
   * qs_sensitivity_cache_dir ()). Keyed by qs_sensitivity_fingerprint ()'s inputs and the
   * format; a format every layer of which was measured is written there atomically. */
  const char  *cache_dir;
} QsAnalysisOptions;

QsSensitivity  *qs_sensitivity_run              (QsModel                 *model,
                                                 QsDataset               *dataset,
                                                 const char * const      *formats,  /* nullable: the defaults */
                                                 const QsAnalysisOptions *options,
                                                 QsProgressFunc           progress,
                                                 gpointer                 progress_data,
                                                 GCancellable            *cancellable,
                                                 GError                 **error);
QsSensitivity  *qs_sensitivity_ref              (QsSensitivity  *s);
/* $XDG_CACHE_HOME/quantscope/sensitivity */
char           *qs_sensitivity_cache_dir        (void);
/* The sweep's fingerprint without running it (hex SHA-256, see QsSensitivity). */
char           *qs_sensitivity_fingerprint      (QsModel                 *model,
                                                 QsDataset               *dataset,
                                                 const char * const      *formats,  /* nullable: the defaults */
                                                 const QsAnalysisOptions *options,
                                                 GError                 **error);
/* Every measurement present (no slice left NAN). */
gboolean        qs_sensitivity_is_complete      (QsSensitivity  *s);
/* The sensitivity as members of the JSON object b is building (images, labelled,
 * float_accuracy, reverse, fingerprint, shard, formats, layers ...); qs_sensitivity_load_json
 * reads it back exactly (doubles round-trip). */
void            qs_sensitivity_build_json       (QsSensitivity  *s,
                                                 JsonBuilder    *b);
/* what names the source in messages (a file name) */
QsSensitivity  *qs_sensitivity_load_json        (JsonNode       *root,
                                                 const char     *what,
                                                 GError        **error);
QsSensitivity  *qs_sensitivity_load_file        (const char     *path,
                                                 GError        **error);
/* Combines the slices of one sharded sweep (names: the files, for messages): refuses a
 * table that is not a slice, slices of different sweeps (fingerprint or count) and a
 * slice given twice or missing. */
QsSensitivity  *qs_sensitivity_merge            (QsSensitivity * const *shards,
                                                 const char * const    *names,
                                                 guint                  n_shards,
                                                 GError               **error);
void            qs_sensitivity_unref            (QsSensitivity  *s);

typedef struct
{
  guint64   weight_bytes;      /* the kernels in their formats (qs_lowering_kernel_storage_bits) */
  guint64   bit_ops;           /* sum of MACs x weight bits x the front's act_bits */
  double    predicted_drop;    /* sum of the layers' sensitivities, points */
  double    measured_drop;     /* evaluated, points; NAN before verification */
  double    measured_top1;
  char    **choice;            /* per sensitivity layer: the format name */
  gboolean  refined;           /* added by qs_front_refine (), not by the additive model */
  guint64   peak_act_bytes;    /* qs_front_measure_activations (); 0 before */
  gboolean  uniform;           /* added by qs_front_add_uniform () */
} QsFrontPoint;

typedef struct
{
  gint          ref_count;
  guint64       float_bytes;   /* every kernel in float32 */
  guint         act_bits;      /* activation bits the bit-operations count */
  guint         n_points;
  QsFrontPoint *points;        /* by increasing bytes, predicted drop strictly decreasing */
  guint         n_layers;
  char        **layers;
} QsFront;

/* The exact front of the additive model: for every reachable kernel budget the least
 * predicted drop, keeping the points that improve on every cheaper one. max_points > 0
 * thins it to that many (cheapest and best kept). */
QsFront        *qs_front_build                  (QsSensitivity  *sensitivity,
                                                 guint           max_points);

/* The cost axis of the knapsack. */
typedef enum
{
  QS_FRONT_COST_BYTES,    /* kernel bytes */
  QS_FRONT_COST_BITOPS,   /* MACs x weight bits x act_bits, summed over the layers */
} QsFrontCost;

/* The front over either cost (qs_front_build () is the bytes axis with 8-bit activations).
 * Bit-operations count every layer's activations at act_bits (the deployment the search
 * prepares; the measured points keep activations float, as the sensitivity does). */
QsFront        *qs_front_build_full             (QsSensitivity  *sensitivity,
                                                 QsFrontCost     cost,
                                                 guint           act_bits,
                                                 guint           max_points);
/* Adds the uniform configs (every layer in one format, for each format) that the front
 * does not hold, so that a measured choice under a budget is never worse than the best
 * uniform bit width within it (layers interact: the additive model can miss them). Marked
 * uniform; the points stay sorted by bytes. */
void            qs_front_add_uniform            (QsFront        *front,
                                                 QsSensitivity  *sensitivity);
/* Evaluates every point (weights in the chosen formats, activations float) and fills
 * measured_drop / measured_top1. */
gboolean        qs_front_verify                 (QsFront                 *front,
                                                 QsModel                 *model,
                                                 QsDataset               *dataset,
                                                 QsSensitivity           *sensitivity,
                                                 const QsAnalysisOptions *options,
                                                 GCancellable            *cancellable,
                                                 GError                 **error);
/* Where measurement and prediction disagree (layers interact, so sensitivities do not
 * simply add up): from the best verified point whose measured drop exceeds max_drop,
 * upgrade one layer at a time to its next larger format, each step taking the measured
 * best improvement per byte, until the measured drop is at most max_drop or every layer is
 * at its largest format. Each step is added to the front as a measured, refined point.
 * Returns FALSE only on error. */
gboolean        qs_front_refine                 (QsFront                 *front,
                                                 QsModel                 *model,
                                                 QsDataset               *dataset,
                                                 QsSensitivity           *sensitivity,
                                                 double                   max_drop,
                                                 const QsAnalysisOptions *options,
                                                 GCancellable            *cancellable,
                                                 GError                 **error);
/* The point to deploy: with max_bytes > 0 the least measured (else predicted) drop within
 * the budget; with max_drop >= 0 the smallest one whose measured (else predicted) drop is
 * at most max_drop points. NULL (and an error) when none fits. */
const QsFrontPoint *qs_front_choose             (QsFront        *front,
                                                 guint64         max_bytes,
                                                 double          max_drop,
                                                 GError        **error);
/* A config (fp32 default, an exact override per layer) for a point. */
/* As qs_front_choose () with a bit-operations budget too (0: none): the least drop among
 * the points within every budget given. */
const QsFrontPoint *qs_front_choose_full        (QsFront        *front,
                                                 guint64         max_bytes,
                                                 guint64         max_bitops,
                                                 double          max_drop,
                                                 GError        **error);
/* The peak activation bytes of every point (the lowering's cost model, QsCost) in the
 * deployment the bit-operations count: layers with an integer weight format quantize their
 * activations to the front's act_bits (1-byte codes), float-format layers stay float32. */
gboolean        qs_front_measure_activations    (QsFront        *front,
                                                 QsModel        *model,
                                                 GError        **error);

typedef struct
{
  guint64 max_bytes;       /* 0: none */
  guint64 max_bitops;      /* 0: none */
  guint64 max_act_bytes;   /* 0: none; needs qs_front_measure_activations () */
  double  max_drop;        /* < 0: none */
} QsFrontBudget;

/* The point within every budget given: the smallest within max_drop when that is the only
 * other budget, else the least drop. NULL (and an error naming the budget) when none fits. */
const QsFrontPoint *qs_front_choose_budget      (QsFront             *front,
                                                 const QsFrontBudget *budget,
                                                 GError             **error);
QsConfig       *qs_front_point_to_config        (QsFront            *front,
                                                 const QsFrontPoint *point);
QsFront        *qs_front_ref                    (QsFront        *front);
void            qs_front_unref                  (QsFront        *front);

GQuark          qs_analysis_error_quark         (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsSensitivity, qs_sensitivity_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsFront, qs_front_unref)

G_END_DECLS
