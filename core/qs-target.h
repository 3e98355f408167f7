/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-analysis.h"
#include "qs-config.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* Deployment targets: what a runtime or accelerator accepts (weight and activation formats,
 * requantization modes, fixed output parameters), read from data files
 * (data/targets/NAME.json, format in docs/targets.md). qs_target_check () lists every layer
 * a config asks of the target that it cannot run, with the reason. */

#define QS_TARGET_ERROR (qs_target_error_quark ())

typedef enum
{
  QS_TARGET_ERROR_NOT_FOUND,   /* no bundled target of that name, no such file */
  QS_TARGET_ERROR_PARSE,       /* not JSON, too large */
  QS_TARGET_ERROR_SCHEMA,      /* unknown field or bad value: the message names the JSON path */
} QsTargetError;

#define QS_TARGET_SCHEMA_VERSION 1

/* One accepted format: a spec matches when every constraint given holds. */
typedef struct
{
  QsFormat format;
  guint32  bits_mask;         /* QS_FORMAT_INT: bit b set = b bits accepted; 0 = any */
  gint     is_signed;         /* -1 any, 0 unsigned, 1 signed */
  guint    mapping_mask;      /* 1 << QsMapping; 0 = any */
  guint    granularity_mask;  /* 1 << QsGranularity; 0 = any */
  gint     pow2_scale;        /* -1 any, 0 forbidden, 1 required */
  gint     narrow_range;      /* -1 any, 1 required (symmetric signed codes in [-(2^(b-1)-1), 2^(b-1)-1]) */
  guint64  layer_mask;        /* 1 << QsLayerKind: the layer kinds with such kernels; 0 = any */
  guint32  act_bits_mask;     /* weights: activation widths this weight format runs with; 0 = any */
  gint     float_activations; /* weights: -1 as the target, 0 no, 1 yes (hybrid kernels) */
} QsTargetRule;

typedef struct
{
  double scale;
  gint   zero_point;
  guint  bits;
} QsTargetFixedOutput;

typedef struct
{
  gint                ref_count;
  char               *name;             /* "tflite-int8" */
  char               *title;            /* "TFLite int8" */
  char               *description;
  char               *reference;        /* where the rules come from (URL), nullable */
  char               *path;             /* the file it was read from */
  GArray             *weight_rules;     /* QsTargetRule */
  GArray             *activation_rules; /* QsTargetRule */
  gboolean            float_activations;/* activations may stay float */
  guint               requant_mask;     /* 1 << QsRequantMode; 0 = any */
  guint               bias_bits;        /* informative: 32 (bias at S_in x S_w), 64 ... 0 = float */
  gboolean            has_softmax_output;
  QsTargetFixedOutput softmax_output;
  gboolean            has_logistic_output;
  QsTargetFixedOutput logistic_output;
} QsTarget;

typedef struct
{
  char *layer;                /* NULL: the whole model (requantization mode) */
  char *reason;               /* translated: "int4 activations: TFLite int8 needs 8-bit activations" */
} QsTargetIssue;

GQuark              qs_target_error_quark        (void);

/* The bundled targets' names, in menu order (tflite-int8 first). */
const char * const *qs_target_list_bundled       (void);
/* NAME (a bundled target, found with qs_data_find_file ("targets/NAME.json")) or the path
 * of a target file (contains '/' or ends in ".json"). */
QsTarget           *qs_target_load               (const char          *name_or_path,
                                                  GError             **error);
QsTarget           *qs_target_new_from_json      (const char          *data,
                                                  gssize               length,
                                                  const char          *where,  /* for messages */
                                                  GError             **error);
QsTarget           *qs_target_ref                (QsTarget            *target);
void                qs_target_unref              (QsTarget            *target);

/* Whether the target runs a kernel of layer_kind (-1: some kind) with weights in spec.
 * On FALSE, *reason (nullable) gets what the target needs instead. */
gboolean            qs_target_accepts_weight     (QsTarget            *target,
                                                  gint                 layer_kind,
                                                  const QsQuantSpec   *spec,
                                                  char               **reason);
/* The same for a layer's quantized output (activations) in spec: the app's layer page
 * limits its choices with both. */
gboolean            qs_target_accepts_activation (QsTarget            *target,
                                                  gint                 layer_kind,
                                                  const QsQuantSpec   *spec,
                                                  char               **reason);
/* Of the candidate weight-format names (qs_analysis_parse_format ()), those the target
 * accepts for some layer kind; a name the target accepts only with power-of-two scales
 * comes back with "-pow2" appended. NULL names: every format the analysis knows. */
GStrv               qs_target_filter_formats     (QsTarget            *target,
                                                  const char * const  *names);

/* Drops the front points that give some layer a weight format the target has no kernel for
 * (TFLite int8: per-tensor weights on a convolution); returns how many. Call before
 * verifying. A front of the target's formats stays a staircase. */
guint               qs_target_filter_front       (QsTarget            *target,
                                                  QsModel             *model,
                                                  QsFront             *front);

/* Every layer of model whose config the target cannot run, in model order, one issue per
 * reason (a layer may have several), the whole-model ones (layer NULL) first.
 * Element type QsTargetIssue. */
GPtrArray          *qs_target_check              (QsTarget            *target,
                                                  QsModel             *model,
                                                  QsConfig            *config);
void                qs_target_issue_free         (QsTargetIssue       *issue);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsTarget, qs_target_unref)

G_END_DECLS
