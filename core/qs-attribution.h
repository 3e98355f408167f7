/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-calib.h"
#include "qs-config.h"
#include "qs-dataset.h"
#include "qs-eval.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* "Which layer hurt this image": one input run through the float model and the quantized
 * one, with the activation error of the quantized run at every value along the graph.
 *
 * Per value: both sides are the lowering's programs run with taps (qs-engine-int.h), the
 * reference the all-float lowering (config NULL: the same folds and value names), the
 * quantized side the program qs_eval_run () compiles (integer activations dequantized with
 * their scale and zero-point). Predictions: the float engine's and the quantized side's
 * exactly as qs_eval_run () computes them (the calibrated integer program, or for
 * weight-only configs the float engine on fake-quantized weights), so a sample's answer
 * here and in an evaluation agree. */

#define QS_ATTRIBUTION_TOP_K 5

typedef struct
{
  char    *name;          /* value name: a layer, "layer#pre", "layer#dw", the input layer */
  char    *layer;         /* the model layer that computes it */
  gboolean is_integer;    /* the quantized run holds it in integer codes */
  gsize    n;             /* values per image */
  double   sqnr_db;       /* 10 log10 (Σf² / Σ(q-f)²); +inf when identical */
  double   rel_l2;        /* ||q - f|| / ||f||; 0 when identical */
} QsAttributionValue;

typedef struct
{
  guint  cls;
  float  prob;            /* the output's value (a probability when the model ends in softmax) */
} QsAttributionClass;

/* One image. Immutable, reference counted. */
typedef struct
{
  guint               n_values;
  QsAttributionValue *values;          /* in execution order of the quantized program */
  gint                worst;           /* the value that added the most error: the largest
                                          increase of rel_l2² over the value before it in
                                          execution order, among the integer values when
                                          there are any; -1 when every value is exact */
  guint               n_classes;
  guint               n_top;           /* MIN (5, n_classes) */
  QsAttributionClass  float_top[QS_ATTRIBUTION_TOP_K];
  QsAttributionClass  quant_top[QS_ATTRIBUTION_TOP_K];
  float              *float_output;    /* n_classes, the float engine */
  float              *quant_output;    /* n_classes, the quantized side */
  /* SQNR of quant_output vs float_output over the classes */
  double              output_sqnr_db;

  /*< private >*/
  gint ref_count;
} QsAttribution;

/* The programs for a model and config, compiled once (calibration through the cache, like
 * qs_eval_run ()). Immutable and reference counted: one may run on several threads;
 * qs_attributor_free drops a reference. */
typedef struct _QsAttributor QsAttributor;

/* calibs: nullable (qs_eval_cache_get_calibrations () shares the evaluation's);
 * preprocess: the evaluated dataset's (the calibration images get it), nullable. */
QsAttributor  *qs_attributor_new          (QsModel            *model,
                                           QsConfig           *config,
                                           QsCalibrationCache *calibs,
                                           const QsPreprocess *preprocess,
                                           GCancellable       *cancellable,
                                           GError            **error);
QsAttributor  *qs_attributor_ref          (QsAttributor       *self);
void           qs_attributor_free         (QsAttributor       *self);
gsize          qs_attributor_get_input_size (QsAttributor     *self);
/* input: one image (qs_dataset_fill_inputs). */
QsAttribution *qs_attributor_run          (QsAttributor       *self,
                                           const float        *input,
                                           GError            **error);
/* batch images; returns a GPtrArray of QsAttribution (unrefs them when freed). */
GPtrArray     *qs_attributor_run_batch    (QsAttributor       *self,
                                           const float        *inputs,
                                           guint               batch,
                                           GCancellable       *cancellable,
                                           GError            **error);

QsAttribution *qs_attribution_ref         (QsAttribution      *self);
void           qs_attribution_unref       (QsAttribution      *self);

/* Per-image predictions over a dataset (qs_eval_run () with keep_outputs). Immutable,
 * reference counted. */
typedef struct
{
  gint   label;            /* -1 without labels */
  guint  float_class;
  guint  quant_class;
  float  float_prob;
  float  quant_prob;
  gboolean changed;        /* float_class != quant_class */
} QsSamplePrediction;

typedef struct
{
  guint               n_images;
  guint               n_classes;
  guint               n_changed;
  QsSamplePrediction *samples;
  QsEvalResult       *eval;          /* the evaluation it came from (outputs dropped) */

  /*< private >*/
  gint ref_count;
} QsSampleSet;

/* options: as for qs_eval_run () (keep_outputs is set for you; limit, cache, threads as
 * given). config must not be NULL. */
QsSampleSet   *qs_sample_set_compute      (QsModel             *model,
                                           QsConfig            *config,
                                           QsDataset           *dataset,
                                           const QsEvalOptions *options,
                                           QsProgressFunc       progress,
                                           gpointer             progress_data,
                                           GCancellable        *cancellable,
                                           GError             **error);
QsSampleSet   *qs_sample_set_ref          (QsSampleSet         *self);
void           qs_sample_set_unref        (QsSampleSet         *self);
/* Whether the quantized answer is wrong (labelled data) or, without labels, changed. */
gboolean       qs_sample_prediction_quant_wrong (const QsSamplePrediction *p);

/* A wider setting for one layer, what the gallery offers for the layer that hurt an
 * image: integer weights or activations under 8 bits become 8 bits (binary, ternary and
 * fp8 weights become int8 per channel); a layer already at 8 bits or more stays in float
 * (fp32 weights, float outputs). Returns QS_WIDEN_8_BITS or QS_WIDEN_FLOAT. */
typedef enum
{
  QS_WIDEN_8_BITS,
  QS_WIDEN_FLOAT,
} QsWidenKind;

QsWidenKind    qs_layer_config_widen      (const QsLayerConfig *in,
                                           QsLayerConfig       *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsAttributor, qs_attributor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsAttribution, qs_attribution_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsSampleSet, qs_sample_set_unref)

G_END_DECLS
