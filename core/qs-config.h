/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include <json-glib/json-glib.h>

#include "qs-requant-mode.h"
#include "qs-preprocess.h"

#include "qs-quant.h"

G_BEGIN_DECLS

#define QS_CONFIG_ERROR (qs_config_error_quark ())

typedef enum
{
  QS_CONFIG_ERROR_PARSE,        /* not JSON */
  QS_CONFIG_ERROR_SCHEMA,       /* unknown field or bad value: the message names the JSON path */
  QS_CONFIG_ERROR_VERSION,      /* schema_version newer than we read */
  QS_CONFIG_ERROR_UNKNOWN_PRESET,
  QS_CONFIG_ERROR_IO,
  QS_CONFIG_ERROR_TOO_LARGE,    /* over QS_CONFIG_MAX_BYTES or nested over QS_CONFIG_MAX_DEPTH */
} QsConfigError;

/* Limits on config files from strangers: json-glib parses recursively (deep nesting would
 * exhaust the stack) and holds the whole tree in memory. A real config nests 4 levels. */
#define QS_CONFIG_MAX_BYTES ((gsize) 64 << 20)
#define QS_CONFIG_MAX_DEPTH 64

#define QS_CONFIG_SCHEMA_VERSION 1

/* How one layer runs. Weights: `weight` (format fp32/fp16/bf16 = keep float, simulated).
 * Activations: quantized with `activation` when quantize_activations, else float ("hybrid"). */
typedef struct
{
  QsQuantSpec weight;
  gboolean    quantize_activations;
  QsQuantSpec activation;       /* format INT: ranges come from calibration with range_method */
} QsLayerConfig;

/* QsRequantMode (the requantization modes) is in qs-requant-mode.h. */

/* "gemmlowp", "single-rounding", "fp32-rne", "cmsis-nn". */
const char         *qs_requant_mode_to_string     (QsRequantMode        mode);
gboolean            qs_requant_mode_from_string   (const char          *name,
                                                   QsRequantMode       *out);
/* A translated one-line description for menus and help. */
const char         *qs_requant_mode_describe      (QsRequantMode        mode);

#define QS_TYPE_CONFIG (qs_config_get_type ())

/* A per-layer quantization config: a default plus overrides by exact layer name or glob
 * ("conv*"), exact names winning over globs, later globs over earlier ones. Value-like:
 * copy it to snapshot (undo), compare with qs_config_equal. Not thread-safe for writes;
 * hand workers a copy. */
G_DECLARE_FINAL_TYPE (QsConfig, qs_config, QS, CONFIG, GObject)

GQuark              qs_config_error_quark        (void);

QsConfig           *qs_config_new                (void); /* fp32 everywhere */
QsConfig           *qs_config_new_from_preset    (const char          *preset,
                                                  GError             **error);
QsConfig           *qs_config_copy               (QsConfig            *self);
gboolean            qs_config_equal              (QsConfig            *a,
                                                  QsConfig            *b);

/* Presets: fp32 fp16 bf16 w8 w4g32 w8a8 w8a8-tensor w4a8 w4a4 (at least). */
const char * const *qs_config_list_presets       (void);
const char         *qs_config_preset_description (const char          *preset); /* translated */
/* A few words for a menu beside the name ("int8 weights and activations, as TFLite"); the
 * description says it all. Translated, NULL for an unknown preset. */
const char         *qs_config_preset_summary     (const char          *preset);
/* Fixed activation ranges by value name (a layer's output, "name#pre" before a float
 * softmax, "name#dw" inside a SeparableConv2D): the integer engine uses them instead of
 * calibrating that value. Quantization-aware training writes the ranges it trained with. */
void                qs_config_set_activation_range (QsConfig    *self,
                                                    const char  *value_name,
                                                    float        lo,
                                                    float        hi);
gboolean            qs_config_get_activation_range (QsConfig    *self,
                                                    const char  *value_name,
                                                    float       *lo,
                                                    float       *hi);
guint               qs_config_get_n_activation_ranges (QsConfig *self);
const char         *qs_config_get_preset_name    (QsConfig            *self); /* nullable: name it came from */

void                qs_config_get_default        (QsConfig            *self,
                                                  QsLayerConfig       *out);
void                qs_config_set_default        (QsConfig            *self,
                                                  const QsLayerConfig *layer_config);
/* The effective config of a layer (overrides resolved). */
void                qs_config_get_layer          (QsConfig            *self,
                                                  const char          *layer_name,
                                                  QsLayerConfig       *out);
/* Sets an exact-name override (pattern may be a glob: "conv*"). */
void                qs_config_set_layer          (QsConfig            *self,
                                                  const char          *pattern,
                                                  const QsLayerConfig *layer_config);
void                qs_config_clear_layer        (QsConfig            *self,
                                                  const char          *pattern);
/* The overrides in the order they apply (later globs win); returns the pattern. */
guint               qs_config_get_n_overrides    (QsConfig            *self);
const char         *qs_config_get_override       (QsConfig            *self,
                                                  guint                index,
                                                  QsLayerConfig       *out); /* nullable */
/* TRUE when any layer (or the input) quantizes activations: needs calibration. */
gboolean            qs_config_any_activations    (QsConfig            *self);
/* Model-wide input quantization (int8/uint8 of the input image); NULL spec = float input. */
gboolean            qs_config_get_input_spec     (QsConfig            *self,
                                                  QsQuantSpec         *out);
void                qs_config_set_input_spec     (QsConfig            *self,
                                                  const QsQuantSpec   *spec);
/* Calibration set size and source used by engines ("sample-train", 500 by default). */
guint               qs_config_get_calib_images   (QsConfig            *self);
void                qs_config_set_calib_images   (QsConfig            *self,
                                                  guint                n);
/* A dataset spec as qs_dataset_open() takes it ("sample-train" by default). */
const char         *qs_config_get_calib_source   (QsConfig            *self);
/* What a new config calibrates on: "sample-train", the bundled training images. */
const char         *qs_config_get_default_calib_source (void);
void                qs_config_set_calib_source   (QsConfig            *self,
                                                  const char          *source);

/* How dataset images become model inputs (saved as "preprocessing", the text of
 * qs_preprocess_to_string; omitted when it is the default "auto"). */
const QsPreprocess *qs_config_get_preprocess     (QsConfig            *self);
void                qs_config_set_preprocess     (QsConfig            *self,
                                                  const QsPreprocess  *preprocess);

/* How integer layers requantize (QS_REQUANT_GEMMLOWP by default); saved as "requantization". */
QsRequantMode       qs_config_get_requant_mode   (QsConfig            *self);
void                qs_config_set_requant_mode   (QsConfig            *self,
                                                  QsRequantMode        mode);

/* JSON with "schema_version"; errors name the JSON path ("$.layers.conv2d_1.weight.bits"). */
char               *qs_config_to_json            (QsConfig            *self);
QsConfig           *qs_config_new_from_json      (const char          *data,
                                                  gssize               length,
                                                  GError             **error);
QsConfig           *qs_config_load_file          (const char          *path,
                                                  GError             **error);
gboolean            qs_config_save_file          (QsConfig            *self,
                                                  const char          *path, /* atomic */
                                                  GError             **error);

/* The weight spec that applies to a particular kernel: a group size that does not divide
 * the kernel's reduction length (e.g. w4g32 on a 3x3x1 first conv, 9 values per channel)
 * falls back to per-channel scales for that kernel. Engines, evaluation and exports use
 * this so they agree on every layer. */
void                qs_config_resolve_weight_spec (const QsQuantSpec  *spec,
                                                   const QsTensor     *kernel,
                                                   QsQuantSpec        *out);

/* JSON fragments for one spec, shared by sessions and exports. */
JsonNode           *qs_quant_spec_to_json_node   (const QsQuantSpec   *spec);
gboolean            qs_quant_spec_from_json_node (JsonNode            *node,
                                                  const char          *json_path,
                                                  QsQuantSpec         *out,
                                                  GError             **error);

G_END_DECLS
