/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-calib.h"
#include "qs-config.h"
#include "qs-dataset.h"
#include "qs-model.h"

G_BEGIN_DECLS

#define QS_EVAL_ERROR (qs_eval_error_quark ())

typedef enum
{
  QS_EVAL_ERROR_FAILED,
} QsEvalError;

/* What evaluations keep between runs: the float side (float outputs of the model on a
 * dataset, and its preprocessed inputs only when they fit in one input window), the last compiled program and the calibrations. Owned by the caller
 * (a document, a CLI run), reference counted, thread-safe; no lock is held while a program
 * runs, so two evaluations with one cache run at the same time. */
typedef struct _QsEvalCache QsEvalCache;

QsEvalCache  *qs_eval_cache_new       (void);
/* $XDG_CACHE_HOME/quantscope/float-outputs (newly allocated). */
char         *qs_eval_float_cache_dir (void);
QsEvalCache  *qs_eval_cache_ref       (QsEvalCache *cache);
void          qs_eval_cache_unref     (QsEvalCache *cache);
void          qs_eval_cache_clear     (QsEvalCache *cache);
QsCalibrationCache *qs_eval_cache_get_calibrations (QsEvalCache *cache);

/* Progressive evaluation (the app's live accuracy): what is known after each chunk of
 * images. Counts are of top-1 answers against the labels on the first n_images images;
 * intervals are 95 % (z = 1.959964), NAN when the dataset has no labels (agreement's
 * interval is always set). */
typedef struct
{
  guint    n_images;         /* scored so far */
  guint    n_total;          /* the whole run (the limit) */
  gboolean labelled;
  guint    float_correct;
  guint    quant_correct;
  guint    both_correct;     /* float and quantized both right on the same image */
  guint    agree;            /* same argmax */
  double   float_top1, float_low, float_high;
  double   quant_top1, quant_low, quant_high;
  double   diff, diff_low, diff_high;   /* quant_top1 - float_top1, paired (Newcombe) */
  double   agreement, agreement_low, agreement_high;
  /* the calibration of the quantized side: its first calib_images of the config's
   * calib_total images (fewer only in the first answers of a progressive run while the
   * whole calibration runs: see QsEvalOptions.provisional_seconds); 0 and 0 without one */
  guint    calib_images;
  guint    calib_total;
} QsEvalPartial;

/* Runs on the evaluating thread after each chunk; partial is borrowed. */
typedef void (*QsEvalPartialFunc) (const QsEvalPartial *partial,
                                   gpointer             user_data);

/* Wilson's score interval for a proportion successes / n at z (1.959964 for 95 %)
 * [Wilson 1927; Newcombe, Stat. Med. 17 (1998) 857, method 3]. n = 0: [0, 1]. */
void          qs_wilson_interval      (guint                successes,
                                       guint                n,
                                       double               z,
                                       double              *lower,
                                       double              *upper);
/* The interval of p1 - p2 for paired proportions from the 2x2 table of the same n items:
 * both right, only the first right, only the second right, neither; Newcombe's method 10
 * (square-and-add of Wilson intervals, with the phi correlation; Stat. Med. 17 (1998)
 * 2635-2650), no continuity correction. */
void          qs_paired_difference_interval (guint          both,
                                       guint                only_first,
                                       guint                only_second,
                                       guint                neither,
                                       double               z,
                                       double              *lower,
                                       double              *upper);
/* Fills the proportions and intervals of partial from its counts (n_images, labelled and
 * the counts must be set). */
void          qs_eval_partial_compute (QsEvalPartial       *partial);

typedef struct
{
  guint    limit;            /* 0 = every image */
  guint    n_threads;        /* 0 = all cores */
  gboolean float_only;       /* skip the quantized side */
  gboolean layer_stats;      /* per-layer activation SQNR (costs a second pass) */
  QsEvalCache *cache;        /* nullable: nothing is kept */
  /* nullable: a folder where the float outputs are kept on disk between runs (the CLI
   * passes qs_eval_float_cache_dir ()). A file per model checksum + the exact float inputs
   * (dataset, its size, preprocessing and limit all change them) + float engine revision;
   * a file that does not match (header checksum, sizes, key, payload checksum) is ignored
   * and rewritten. Models without a file (no checksum) are not cached on disk. */
  const char  *float_cache_dir;
  /* keep every image's outputs of both engines in the result (float_outputs,
   * quant_outputs): the sample gallery's per-image predictions (qs-attribution.h) */
  gboolean     keep_outputs;
  /* nullable: evaluate progressively. The images run in growing chunks (the first sized
   * from the cache's measured cost per image to fit what is left of 200 ms after
   * calibrating and compiling: 50 to 150 ms, at least 8 images; each next chunk as many images as are done, so the count doubles) and partial is called
   * after each with the counts so far. The final result is the same as without it (the
   * engines answer each image independently of the batch). Without float_cache_dir the
   * float side is computed chunk by chunk too and kept in cache once complete. */
  QsEvalPartialFunc partial;
  gpointer     partial_data;
  /* The preprocessed float inputs are never held for the whole run: each pass fills them
   * from the dataset a window of at most this many bytes at a time (at least one image);
   * 0 = 64 MiB. A window holding every image of the run is kept in the cache with the float
   * outputs (so small datasets are preprocessed once); the results do not depend on it. */
  gsize        window_bytes;
  /* A progressive run whose calibration is not cached yet first calibrates on the first
   * 16 images of the calibration set; when the whole set would take longer than this many
   * seconds at that pace (0 = 1 s), it first answers from that calibration on up to 32
   * images (partials with calib_images < calib_total), then calibrates on the whole set and
   * starts over: so a big model answers in seconds, not after minutes of calibration. The
   * final result is the same either way. */
  double       provisional_seconds;
} QsEvalOptions;

typedef struct
{
  char   *name;
  char   *weight_label;      /* qs_quant_spec_to_label of the weights, "fp32" when float */
  char   *activation_label;
  /* With an integer program, of the kernels it stores (BatchNorm folded in); else of the
   * layer's own kernel. NAN when the layer has no weights. */
  double  weight_sqnr_db;
  double  activation_sqnr_db;/* NAN without layer_stats or when activations stay float */
  guint64 weight_bytes;      /* quantized storage incl. scales; 0 when folded into another */
  guint64 float_bytes;
  char   *folded_into;       /* a folded BatchNormalization: the layer it went into */
} QsEvalLayer;

/* Float and quantized evaluation side by side. Immutable, refcounted. */
typedef struct
{
  guint        n_images;
  guint        n_classes;
  double       float_top1;
  double       float_top5;
  double       quant_top1;   /* NAN when float_only */
  double       quant_top5;
  double       agreement;    /* fraction of images with the same argmax */
  double       mean_kl;      /* mean KL(float || quant) of the output distributions */
  /* What the data and the model allow: without labels, accuracies are NAN and only the
   * agreement with the float model (agreement, top5_overlap, mean_kl) is reported; a model
   * whose output is not a class distribution (one output, or no softmax at the end and no
   * labels) is judged by the output errors below. */
  gboolean     labelled;
  gboolean     classification;
  double       top5_overlap;     /* mean |top-5 float ∩ top-5 quant| / 5; NAN when float_only */
  /* Quantized outputs vs the float model's over all images and outputs (NAN when
   * float_only): SQNR = 10 log10 (Σf² / Σ(q-f)²), mean squared error, cosine similarity of
   * the flattened outputs, largest |q - f|. */
  double       output_sqnr_db;
  double       output_mse;
  double       output_cosine;
  double       output_max_abs_error;
  double      *float_per_class;  /* n_classes */
  double      *quant_per_class;
  guint       *float_confusion;  /* n_classes x n_classes, [label][prediction] */
  guint       *quant_confusion;
  guint        n_layers;
  QsEvalLayer *layers;
  double       seconds;
  double       float_images_per_s;
  double       quant_images_per_s;
  /* Images whose output holds NaN or infinity (counted, never scored as class 0 silently),
   * and where it first appears in the first such image: a layer or value name, "input"
   * when the image itself holds one; NULL when every output is finite. */
  guint        float_nonfinite;
  guint        quant_nonfinite;
  char        *float_nonfinite_at;
  char        *quant_nonfinite_at;
  /* The float outputs were read from options->float_cache_dir rather than computed (then
   * float_images_per_s is the rate measured when the file was written). */
  gboolean     float_from_disk;
  /* The top-1 counts and 95 % intervals of the whole run (the last QsEvalPartial). */
  QsEvalPartial summary;
  /* With QsEvalOptions.keep_outputs: n_images x n_classes outputs of the float engine and
   * of the quantized one (quant_outputs NULL when float_only); else NULL. */
  float       *float_outputs;
  float       *quant_outputs;
  /* Images per input window (QsEvalOptions.window_bytes): the run held at most this many
   * preprocessed inputs at once, whatever n_images. */
  guint        input_window;

  /*< private >*/
  gint ref_count;
} QsEvalResult;

#define QS_TYPE_EVAL_RESULT (qs_eval_result_get_type ())

GType         qs_eval_result_get_type (void) G_GNUC_CONST;
GQuark        qs_eval_error_quark     (void);

/* Calibrates (cached in options->cache per model + calibration set), compiles the integer program, and runs
 * both engines. config NULL = float only. */
QsEvalResult *qs_eval_run             (QsModel             *model,
                                       QsConfig            *config,
                                       QsDataset           *dataset,
                                       const QsEvalOptions *options,
                                       QsProgressFunc       progress,
                                       gpointer             progress_data,
                                       GCancellable        *cancellable,
                                       GError             **error);
void          qs_eval_run_async       (QsModel             *model,
                                       QsConfig            *config,
                                       QsDataset           *dataset,
                                       const QsEvalOptions *options,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
QsEvalResult *qs_eval_run_finish      (GAsyncResult        *result,
                                       GError             **error);
QsEvalResult *qs_eval_result_ref      (QsEvalResult        *result);
void          qs_eval_result_unref    (QsEvalResult        *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsEvalResult, qs_eval_result_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsEvalCache, qs_eval_cache_unref)

G_END_DECLS
