/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "qs-config.h"
#include "qs-enums.h"
#include "qs-file.h"

typedef struct
{
  char          *pattern;
  gboolean       is_glob;
  QsLayerConfig  config;
} Override;

struct _QsConfig
{
  GObject        parent_instance;

  QsLayerConfig  def;
  GPtrArray     *overrides;     /* Override *, in insertion order */
  GHashTable    *by_pattern;    /* pattern -> Override * in overrides (not owned) */
  guint          n_globs;
  gboolean       has_input;
  QsQuantSpec    input;
  guint          calib_images;
  char          *calib_source;
  QsPreprocess   preprocess;     /* how dataset images become inputs; "auto" by default */
  QsRequantMode  requant_mode;
  char          *preset;
  GHashTable    *act_ranges;    /* value name -> float[2]: fixed ranges, over calibration */
};

G_DEFINE_FINAL_TYPE (QsConfig, qs_config, G_TYPE_OBJECT)

G_DEFINE_QUARK (qs-config-error-quark, qs_config_error)

#define DEFAULT_CALIB_IMAGES 500
#define DEFAULT_CALIB_SOURCE "sample-train"

static void
override_free (gpointer data)
{
  Override *o = data;

  g_free (o->pattern);
  g_free (o);
}

static void
qs_config_finalize (GObject *object)
{
  QsConfig *self = QS_CONFIG (object);

  g_hash_table_unref (self->by_pattern);
  g_ptr_array_unref (self->overrides);
  g_hash_table_unref (self->act_ranges);
  g_free (self->preset);
  g_free (self->calib_source);
  G_OBJECT_CLASS (qs_config_parent_class)->finalize (object);
}

static void
qs_config_class_init (QsConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qs_config_finalize;
}

static void
layer_config_init_float (QsLayerConfig *lc,
                         QsFormat       format)
{
  memset (lc, 0, sizeof *lc);
  qs_quant_spec_init_float (&lc->weight, format);
  lc->quantize_activations = FALSE;
  qs_quant_spec_init (&lc->activation);
  lc->activation.is_signed = TRUE;
  lc->activation.mapping = QS_MAPPING_AFFINE;
  lc->activation.narrow_range = FALSE;
  lc->activation.granularity = QS_GRANULARITY_TENSOR;
  lc->activation.rounding = QS_ROUNDING_NEAREST_AWAY;
  lc->activation.range_method = QS_RANGE_MINMAX;
}

static void
qs_config_init (QsConfig *self)
{
  self->overrides = g_ptr_array_new_with_free_func (override_free);
  self->by_pattern = g_hash_table_new (g_str_hash, g_str_equal);
  self->act_ranges = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  layer_config_init_float (&self->def, QS_FORMAT_FP32);
  self->calib_images = DEFAULT_CALIB_IMAGES;
  self->calib_source = g_strdup (DEFAULT_CALIB_SOURCE);
  qs_preprocess_init (&self->preprocess);
}

QsConfig *
qs_config_new (void)
{
  return g_object_new (QS_TYPE_CONFIG, NULL);
}

/* --- presets --- */

static const char * const preset_names[] = {
  "fp32", "fp16", "bf16", "w8", "w4g32", "w8a8", "w8a8-tensor", "w4a8", "w4a4", NULL
};

static const char * const preset_descriptions[] = {
  N_("Float32 everywhere: the reference"),
  N_("Weights rounded to IEEE half precision, float compute"),
  N_("Weights rounded to bfloat16, float compute"),
  N_("Weight-only int8, symmetric per channel; float activations"),
  N_("Weight-only int4, symmetric in groups of 32 along the input axis; float activations"),
  N_("TFLite int8: weights symmetric narrow-range per channel, activations affine int8 per tensor, min-max calibration"),
  N_("Like w8a8 but one weight scale per tensor"),
  N_("Weights int4 symmetric per channel, activations affine int8 per tensor"),
  N_("Weights int4 symmetric per channel, activations affine int4 per tensor"),
};

/* At most about 40 characters: they follow the name in a menu. */
static const char * const preset_summaries[] = {
  N_("float32, the reference"),
  N_("half-precision weights"),
  N_("bfloat16 weights"),
  N_("int8 weights only"),
  N_("int4 weights in groups of 32"),
  N_("int8 weights and activations (TFLite)"),
  N_("w8a8, one weight scale per tensor"),
  N_("int4 weights, int8 activations"),
  N_("int4 weights and activations"),
};

G_STATIC_ASSERT (G_N_ELEMENTS (preset_names) == G_N_ELEMENTS (preset_descriptions) + 1);
G_STATIC_ASSERT (G_N_ELEMENTS (preset_summaries) == G_N_ELEMENTS (preset_descriptions));

const char * const *
qs_config_list_presets (void)
{
  return preset_names;
}

static gint
preset_index (const char *preset)
{
  for (gint i = 0; preset_names[i] != NULL; i++)
    if (g_strcmp0 (preset, preset_names[i]) == 0)
      return i;
  return -1;
}

const char *
qs_config_preset_description (const char *preset)
{
  gint i = preset_index (preset);

  return i < 0 ? NULL : _(preset_descriptions[i]);
}

const char *
qs_config_preset_summary (const char *preset)
{
  gint i = preset_index (preset);

  return i < 0 ? NULL : _(preset_summaries[i]);
}

static void
int_weight_spec (QsQuantSpec  *spec,
                 guint         bits,
                 QsGranularity granularity,
                 guint         group_size)
{
  qs_quant_spec_init (spec);
  spec->format = QS_FORMAT_INT;
  spec->bits = bits;
  spec->is_signed = TRUE;
  spec->mapping = QS_MAPPING_SYMMETRIC;
  spec->narrow_range = TRUE;
  spec->granularity = granularity;
  spec->group_size = group_size;
  spec->axis = -1;
}

QsConfig *
qs_config_new_from_preset (const char  *preset,
                           GError     **error)
{
  g_autoptr(QsConfig) self = NULL;
  QsLayerConfig lc;
  gint index;

  g_return_val_if_fail (preset != NULL, NULL);

  index = preset_index (preset);
  if (index < 0)
    {
      g_autofree char *known = g_strjoinv (", ", (char **) preset_names);
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET,
                   _("Unknown preset “%s”; known presets: %s"), preset, known);
      return NULL;
    }

  self = qs_config_new ();
  layer_config_init_float (&lc, QS_FORMAT_FP32);
  if (strcmp (preset, "fp16") == 0)
    qs_quant_spec_init_float (&lc.weight, QS_FORMAT_FP16);
  else if (strcmp (preset, "bf16") == 0)
    qs_quant_spec_init_float (&lc.weight, QS_FORMAT_BF16);
  else if (strcmp (preset, "w8") == 0)
    int_weight_spec (&lc.weight, 8, QS_GRANULARITY_CHANNEL, 0);
  else if (strcmp (preset, "w4g32") == 0)
    int_weight_spec (&lc.weight, 4, QS_GRANULARITY_GROUP, 32);
  else if (g_str_has_prefix (preset, "w8a8") || g_str_has_prefix (preset, "w4a"))
    {
      QsQuantSpec input = lc.activation;

      int_weight_spec (&lc.weight, g_str_has_prefix (preset, "w8") ? 8 : 4,
                       strcmp (preset, "w8a8-tensor") == 0 ? QS_GRANULARITY_TENSOR
                                                           : QS_GRANULARITY_CHANNEL, 0);
      lc.quantize_activations = TRUE;
      lc.activation.bits = strcmp (preset, "w4a4") == 0 ? 4 : 8;
      /* The image enters as int8 (TFLite's quantized input), whatever the inner width. */
      input.bits = 8;
      qs_config_set_input_spec (self, &input);
    }
  qs_config_set_default (self, &lc);
  self->preset = g_strdup (preset);
  return g_steal_pointer (&self);
}

const char *
qs_config_get_preset_name (QsConfig *self)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), NULL);
  return self->preset;
}

/* --- copy, compare --- */

QsConfig *
qs_config_copy (QsConfig *self)
{
  QsConfig *copy;

  g_return_val_if_fail (QS_IS_CONFIG (self), NULL);

  copy = qs_config_new ();
  copy->def = self->def;
  for (guint i = 0; i < self->overrides->len; i++)
    {
      Override *o = g_ptr_array_index (self->overrides, i);
      Override *c = g_new (Override, 1);

      *c = *o;
      c->pattern = g_strdup (o->pattern);
      g_ptr_array_add (copy->overrides, c);
      g_hash_table_insert (copy->by_pattern, c->pattern, c);
    }
  copy->n_globs = self->n_globs;
  copy->has_input = self->has_input;
  copy->input = self->input;
  copy->calib_images = self->calib_images;
  copy->requant_mode = self->requant_mode;
  g_free (copy->calib_source);
  copy->calib_source = g_strdup (self->calib_source);
  copy->preprocess = self->preprocess;
  copy->preset = g_strdup (self->preset);
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, self->act_ranges);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_hash_table_insert (copy->act_ranges, g_strdup (key), g_memdup2 (value, 2 * sizeof (float)));
  }
  return copy;
}

static gboolean
layer_config_equal (const QsLayerConfig *a,
                    const QsLayerConfig *b)
{
  if (!qs_quant_spec_equal (&a->weight, &b->weight))
    return FALSE;
  if (a->quantize_activations != b->quantize_activations)
    return FALSE;
  return !a->quantize_activations || qs_quant_spec_equal (&a->activation, &b->activation);
}

gboolean
qs_config_equal (QsConfig *a,
                 QsConfig *b)
{
  g_return_val_if_fail (QS_IS_CONFIG (a), FALSE);
  g_return_val_if_fail (QS_IS_CONFIG (b), FALSE);

  if (a == b)
    return TRUE;
  if (!layer_config_equal (&a->def, &b->def)
      || a->overrides->len != b->overrides->len
      || a->has_input != b->has_input
      || (a->has_input && !qs_quant_spec_equal (&a->input, &b->input))
      || a->calib_images != b->calib_images
      || a->requant_mode != b->requant_mode
      || g_strcmp0 (a->calib_source, b->calib_source) != 0
      || !qs_preprocess_equal (&a->preprocess, &b->preprocess)
      || g_hash_table_size (a->act_ranges) != g_hash_table_size (b->act_ranges))
    return FALSE;
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, a->act_ranges);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        const float *ra = value, *rb = g_hash_table_lookup (b->act_ranges, key);

        if (rb == NULL || ra[0] != rb[0] || ra[1] != rb[1])
          return FALSE;
      }
  }
  for (guint i = 0; i < a->overrides->len; i++)
    {
      Override *oa = g_ptr_array_index (a->overrides, i);
      Override *ob = g_ptr_array_index (b->overrides, i);

      if (strcmp (oa->pattern, ob->pattern) != 0 || !layer_config_equal (&oa->config, &ob->config))
        return FALSE;
    }
  return TRUE;
}

/* --- accessors --- */

void
qs_config_set_activation_range (QsConfig   *self,
                                const char *value_name,
                                float       lo,
                                float       hi)
{
  float *r;

  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail (value_name != NULL);
  g_return_if_fail (isfinite (lo) && isfinite (hi) && lo <= hi);

  r = g_new (float, 2);
  r[0] = lo;
  r[1] = hi;
  g_hash_table_insert (self->act_ranges, g_strdup (value_name), r);
}

gboolean
qs_config_get_activation_range (QsConfig   *self,
                                const char *value_name,
                                float      *lo,
                                float      *hi)
{
  const float *r;

  g_return_val_if_fail (QS_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (value_name != NULL, FALSE);

  r = g_hash_table_lookup (self->act_ranges, value_name);
  if (r == NULL)
    return FALSE;
  *lo = r[0];
  *hi = r[1];
  return TRUE;
}

guint
qs_config_get_n_activation_ranges (QsConfig *self)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), 0);
  return g_hash_table_size (self->act_ranges);
}

void
qs_config_get_default (QsConfig      *self,
                       QsLayerConfig *out)
{
  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail (out != NULL);
  *out = self->def;
}

void
qs_config_set_default (QsConfig            *self,
                       const QsLayerConfig *layer_config)
{
  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail (layer_config != NULL);
  self->def = *layer_config;
}

static gboolean
is_glob (const char *pattern)
{
  return strpbrk (pattern, "*?") != NULL;
}

void
qs_config_get_layer (QsConfig      *self,
                     const char    *layer_name,
                     QsLayerConfig *out)
{
  const Override *glob_match = NULL;
  const Override *exact;

  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail (layer_name != NULL);
  g_return_if_fail (out != NULL);

  exact = g_hash_table_lookup (self->by_pattern, layer_name);
  if (exact != NULL && !exact->is_glob)
    {
      *out = exact->config;
      return;
    }
  for (guint i = 0; self->n_globs > 0 && i < self->overrides->len; i++)
    {
      const Override *o = g_ptr_array_index (self->overrides, i);

      if (o->is_glob && g_pattern_match_simple (o->pattern, layer_name))
        glob_match = o;   /* later globs win over earlier ones */
    }
  *out = glob_match != NULL ? glob_match->config : self->def;
}

void
qs_config_set_layer (QsConfig            *self,
                     const char          *pattern,
                     const QsLayerConfig *layer_config)
{
  Override *o;

  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail (pattern != NULL && *pattern != '\0');
  g_return_if_fail (layer_config != NULL);

  /* A hash lookup, not a scan: a config with 100k overrides loads in linear time. */
  o = g_hash_table_lookup (self->by_pattern, pattern);
  if (o != NULL)
    {
      o->config = *layer_config;
      return;
    }
  o = g_new0 (Override, 1);
  o->pattern = g_strdup (pattern);
  o->is_glob = is_glob (pattern);
  o->config = *layer_config;
  g_ptr_array_add (self->overrides, o);
  g_hash_table_insert (self->by_pattern, o->pattern, o);
  self->n_globs += o->is_glob;
}

void
qs_config_clear_layer (QsConfig   *self,
                       const char *pattern)
{
  Override *o;
  guint index;

  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail (pattern != NULL);

  o = g_hash_table_lookup (self->by_pattern, pattern);
  if (o == NULL || !g_ptr_array_find (self->overrides, o, &index))
    return;
  g_hash_table_remove (self->by_pattern, pattern);
  self->n_globs -= o->is_glob;
  g_ptr_array_remove_index (self->overrides, index);
}

guint
qs_config_get_n_overrides (QsConfig *self)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), 0);
  return self->overrides->len;
}

const char *
qs_config_get_override (QsConfig      *self,
                        guint          index,
                        QsLayerConfig *out)
{
  const Override *o;

  g_return_val_if_fail (QS_IS_CONFIG (self), NULL);
  g_return_val_if_fail (index < self->overrides->len, NULL);

  o = g_ptr_array_index (self->overrides, index);
  if (out != NULL)
    *out = o->config;
  return o->pattern;
}

gboolean
qs_config_get_input_spec (QsConfig    *self,
                          QsQuantSpec *out)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), FALSE);

  if (self->has_input && out != NULL)
    *out = self->input;
  return self->has_input;
}

void
qs_config_set_input_spec (QsConfig          *self,
                          const QsQuantSpec *spec)
{
  g_return_if_fail (QS_IS_CONFIG (self));

  self->has_input = spec != NULL;
  if (spec != NULL)
    self->input = *spec;
}

static const struct
{
  const char *name;
  const char *description;
} requant_modes[QS_REQUANT_N_MODES] = {
  [QS_REQUANT_GEMMLOWP] = { "gemmlowp", N_("TFLite reference: gemmlowp fixed-point multiply, rounded twice") },
  [QS_REQUANT_SINGLE_ROUNDING] = { "single-rounding", N_("TFLite single rounding: one 64-bit product, rounded once") },
  [QS_REQUANT_FP32_RNE] = { "fp32-rne", N_("Float32 scale, round half to even (XNNPACK, LiteRT CPU, ONNX Runtime)") },
  [QS_REQUANT_CMSIS_NN] = { "cmsis-nn", N_("CMSIS-NN microcontroller kernels (arm_nn_requantize)") },
};

const char *
qs_requant_mode_to_string (QsRequantMode mode)
{
  g_return_val_if_fail ((guint) mode < QS_REQUANT_N_MODES, NULL);
  return requant_modes[mode].name;
}

gboolean
qs_requant_mode_from_string (const char    *name,
                             QsRequantMode *out)
{
  for (guint i = 0; name != NULL && i < QS_REQUANT_N_MODES; i++)
    if (g_strcmp0 (name, requant_modes[i].name) == 0)
      {
        *out = (QsRequantMode) i;
        return TRUE;
      }
  return FALSE;
}

const char *
qs_requant_mode_describe (QsRequantMode mode)
{
  g_return_val_if_fail ((guint) mode < QS_REQUANT_N_MODES, NULL);
  return _(requant_modes[mode].description);
}

QsRequantMode
qs_config_get_requant_mode (QsConfig *self)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), QS_REQUANT_GEMMLOWP);
  return self->requant_mode;
}

void
qs_config_set_requant_mode (QsConfig      *self,
                            QsRequantMode  mode)
{
  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail ((guint) mode < QS_REQUANT_N_MODES);
  self->requant_mode = mode;
}

guint
qs_config_get_calib_images (QsConfig *self)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), DEFAULT_CALIB_IMAGES);
  return self->calib_images;
}

void
qs_config_set_calib_images (QsConfig *self,
                            guint     n)
{
  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail (n > 0);
  self->calib_images = n;
}

const char *
qs_config_get_default_calib_source (void)
{
  return DEFAULT_CALIB_SOURCE;
}

const char *
qs_config_get_calib_source (QsConfig *self)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), NULL);
  return self->calib_source;
}

void
qs_config_set_calib_source (QsConfig   *self,
                            const char *source)
{
  g_return_if_fail (QS_IS_CONFIG (self));
  g_return_if_fail (source != NULL && *source != '\0');
  g_free (self->calib_source);
  self->calib_source = g_strdup (source);
}

const QsPreprocess *
qs_config_get_preprocess (QsConfig *self)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), NULL);
  return &self->preprocess;
}

void
qs_config_set_preprocess (QsConfig           *self,
                          const QsPreprocess *preprocess)
{
  g_return_if_fail (QS_IS_CONFIG (self));
  if (preprocess != NULL)
    self->preprocess = *preprocess;
  else
    qs_preprocess_init (&self->preprocess);
}

gboolean
qs_config_any_activations (QsConfig *self)
{
  g_return_val_if_fail (QS_IS_CONFIG (self), FALSE);

  if (self->def.quantize_activations || self->has_input)
    return TRUE;
  for (guint i = 0; i < self->overrides->len; i++)
    if (((Override *) g_ptr_array_index (self->overrides, i))->config.quantize_activations)
      return TRUE;
  return FALSE;
}

void
qs_config_resolve_weight_spec (const QsQuantSpec *spec,
                               const QsTensor    *kernel,
                               QsQuantSpec       *out)
{
  g_return_if_fail (spec != NULL);
  g_return_if_fail (out != NULL);

  *out = *spec;
  if (kernel != NULL && spec->granularity == QS_GRANULARITY_GROUP
      && !qs_quant_spec_validate (spec, kernel, NULL))
    out->granularity = QS_GRANULARITY_CHANNEL;
}

/* --- JSON --- */

static const char *
enum_nick (GType type,
           gint  value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *v = g_enum_get_value (klass, value);

  return v != NULL ? v->value_nick : "?";
}

JsonNode *
qs_quant_spec_to_json_node (const QsQuantSpec *spec)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (spec != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, enum_nick (QS_TYPE_FORMAT, spec->format));
  if (!qs_quant_spec_is_float (spec))
    {
      json_builder_set_member_name (b, "bits");
      json_builder_add_int_value (b, spec->bits);
      json_builder_set_member_name (b, "signed");
      json_builder_add_boolean_value (b, spec->is_signed);
      json_builder_set_member_name (b, "mapping");
      json_builder_add_string_value (b, enum_nick (QS_TYPE_MAPPING, spec->mapping));
      json_builder_set_member_name (b, "narrow_range");
      json_builder_add_boolean_value (b, spec->narrow_range);
      json_builder_set_member_name (b, "pow2_scale");
      json_builder_add_boolean_value (b, spec->pow2_scale);
      json_builder_set_member_name (b, "granularity");
      json_builder_add_string_value (b, enum_nick (QS_TYPE_GRANULARITY, spec->granularity));
      json_builder_set_member_name (b, "axis");
      json_builder_add_int_value (b, spec->axis);
      json_builder_set_member_name (b, "group_size");
      json_builder_add_int_value (b, spec->group_size);
      json_builder_set_member_name (b, "rounding");
      json_builder_add_string_value (b, enum_nick (QS_TYPE_ROUNDING, spec->rounding));
      json_builder_set_member_name (b, "seed");
      json_builder_add_int_value (b, (gint64) spec->seed);
      json_builder_set_member_name (b, "range");
      json_builder_add_string_value (b, enum_nick (QS_TYPE_RANGE_METHOD, spec->range_method));
      json_builder_set_member_name (b, "range_param");
      json_builder_add_double_value (b, spec->range_param);
      json_builder_set_member_name (b, "sparsity");
      json_builder_add_double_value (b, spec->sparsity);
      json_builder_set_member_name (b, "prune_per_channel");
      json_builder_add_boolean_value (b, spec->prune_per_channel);
    }
  else if (spec->sparsity > 0)
    {
      /* pruning applies to float formats too */
      json_builder_set_member_name (b, "sparsity");
      json_builder_add_double_value (b, spec->sparsity);
      json_builder_set_member_name (b, "prune_per_channel");
      json_builder_add_boolean_value (b, spec->prune_per_channel);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
schema_error (GError    **error,
              const char *path,
              const char *what)
{
  g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA, "%s: %s", path, what);
  return FALSE;
}

static gboolean
check_members (JsonObject         *object,
               const char         *path,
               const char * const *allowed,
               GError            **error)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        g_autofree char *where = g_strdup_printf ("%s.%s", path, (char *) l->data);
        return schema_error (error, where, _("unknown field"));
      }
  return TRUE;
}

static gboolean
get_enum (JsonObject *object,
          const char *member,
          const char *path,
          GType       type,
          gint       *out,
          GError    **error)
{
  g_autofree char *where = g_strdup_printf ("%s.%s", path, member);
  g_autoptr(GEnumClass) klass = NULL;
  JsonNode *node = json_object_get_member (object, member);
  GEnumValue *v;

  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      klass = g_type_class_ref (type);
      v = g_enum_get_value_by_nick (klass, json_node_get_string (node));
      if (v != NULL)
        {
          *out = v->value;
          return TRUE;
        }
    }
  {
    g_autoptr(GString) names = g_string_new (NULL);

    if (klass == NULL)
      klass = g_type_class_ref (type);
    for (guint i = 0; i < klass->n_values; i++)
      g_string_append_printf (names, "%s%s", i ? ", " : "", klass->values[i].value_nick);
    g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA,
                 _("%s: expected one of %s"), where, names->str);
  }
  return FALSE;
}

static gboolean
get_int (JsonObject *object,
         const char *member,
         const char *path,
         gint64      lo,
         gint64      hi,
         gint64     *out,
         GError    **error)
{
  JsonNode *node = json_object_get_member (object, member);
  g_autofree char *where = g_strdup_printf ("%s.%s", path, member);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA,
                   _("%s: expected an integer"), where);
      return FALSE;
    }
  *out = json_node_get_int (node);
  if (*out < lo || *out > hi)
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA,
                   _("%s: %" PRId64 " is outside [%" PRId64 ", %" PRId64 "]"),
                   where, *out, lo, hi);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_double (JsonObject *object,
            const char *member,
            const char *path,
            double     *out,
            GError    **error)
{
  JsonNode *node = json_object_get_member (object, member);
  GType t;

  if (node == NULL)
    return TRUE;
  t = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    {
      g_autofree char *where = g_strdup_printf ("%s.%s", path, member);
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA,
                   _("%s: expected a number"), where);
      return FALSE;
    }
  *out = json_node_get_double (node);
  return TRUE;
}

static gboolean
get_bool (JsonObject *object,
          const char *member,
          const char *path,
          gboolean   *out,
          GError    **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_autofree char *where = g_strdup_printf ("%s.%s", path, member);
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA,
                   _("%s: expected true or false"), where);
      return FALSE;
    }
  *out = json_node_get_boolean (node);
  return TRUE;
}

static JsonObject *
expect_object (JsonNode   *node,
               const char *path,
               GError    **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA,
                   _("%s: expected an object"), path);
      return NULL;
    }
  return json_node_get_object (node);
}

gboolean
qs_quant_spec_from_json_node (JsonNode    *node,
                              const char  *json_path,
                              QsQuantSpec *out,
                              GError     **error)
{
  static const char * const allowed[] = {
    "format", "bits", "signed", "mapping", "narrow_range", "pow2_scale", "granularity",
    "axis", "group_size", "rounding", "seed", "range", "range_param", "sparsity",
    "prune_per_channel", NULL
  };
  QsQuantSpec spec;
  JsonObject *o;
  gint format = QS_FORMAT_INT, e;
  gint64 v;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (json_path != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if ((o = expect_object (node, json_path, error)) == NULL)
    return FALSE;
  if (!check_members (o, json_path, allowed, error))
    return FALSE;
  if (!json_object_has_member (o, "format"))
    return schema_error (error, json_path, _("missing field “format”"));
  if (!get_enum (o, "format", json_path, QS_TYPE_FORMAT, &format, error))
    return FALSE;

  qs_quant_spec_init (&spec);
  if (format != QS_FORMAT_INT && format != QS_FORMAT_BINARY && format != QS_FORMAT_TERNARY)
    qs_quant_spec_init_float (&spec, format);
  spec.format = format;

  v = spec.bits;
  if (!get_int (o, "bits", json_path, 1, 16, &v, error))
    return FALSE;
  spec.bits = v;
  if (!get_bool (o, "signed", json_path, &spec.is_signed, error))
    return FALSE;
  e = spec.mapping;
  if (!get_enum (o, "mapping", json_path, QS_TYPE_MAPPING, &e, error))
    return FALSE;
  spec.mapping = e;
  if (!get_bool (o, "narrow_range", json_path, &spec.narrow_range, error)
      || !get_bool (o, "pow2_scale", json_path, &spec.pow2_scale, error))
    return FALSE;
  e = spec.granularity;
  if (!get_enum (o, "granularity", json_path, QS_TYPE_GRANULARITY, &e, error))
    return FALSE;
  spec.granularity = e;
  v = spec.axis;
  if (!get_int (o, "axis", json_path, -1, QS_TENSOR_MAX_DIMS - 1, &v, error))
    return FALSE;
  spec.axis = v;
  v = spec.group_size;
  if (!get_int (o, "group_size", json_path, 0, 1 << 20, &v, error))
    return FALSE;
  spec.group_size = v;
  e = spec.rounding;
  if (!get_enum (o, "rounding", json_path, QS_TYPE_ROUNDING, &e, error))
    return FALSE;
  spec.rounding = e;
  v = (gint64) spec.seed;
  if (!get_int (o, "seed", json_path, 0, G_MAXINT64, &v, error))
    return FALSE;
  spec.seed = v;
  e = spec.range_method;
  if (!get_enum (o, "range", json_path, QS_TYPE_RANGE_METHOD, &e, error))
    return FALSE;
  spec.range_method = e;
  if (!get_double (o, "range_param", json_path, &spec.range_param, error)
      || !get_double (o, "sparsity", json_path, &spec.sparsity, error)
      || !get_bool (o, "prune_per_channel", json_path, &spec.prune_per_channel, error))
    return FALSE;

  if (!qs_quant_spec_validate (&spec, NULL, &local))
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_SCHEMA, "%s: %s", json_path, local->message);
      return FALSE;
    }
  /* A float format has no integer grid: fields that only an integer format uses are not
   * kept (they are not saved either), so that a config equals itself after a round trip
   * (found by fuzz-config). Pruning stays. */
  if (qs_quant_spec_is_float (&spec))
    {
      QsQuantSpec f;

      qs_quant_spec_init_float (&f, spec.format);
      f.sparsity = spec.sparsity;
      f.prune_per_channel = spec.prune_per_channel;
      spec = f;
    }
  *out = spec;
  return TRUE;
}

static void
layer_config_to_json (JsonBuilder         *b,
                      const QsLayerConfig *lc)
{
  json_builder_set_member_name (b, "weight");
  json_builder_add_value (b, qs_quant_spec_to_json_node (&lc->weight));
  json_builder_set_member_name (b, "quantize_activations");
  json_builder_add_boolean_value (b, lc->quantize_activations);
  if (lc->quantize_activations)
    {
      json_builder_set_member_name (b, "activation");
      json_builder_add_value (b, qs_quant_spec_to_json_node (&lc->activation));
    }
}

/* Members left out keep their value in *lc (the preset's default, or the default). */
static gboolean
layer_config_from_json (JsonObject    *o,
                        const char    *path,
                        QsLayerConfig *lc,
                        GError       **error)
{
  JsonNode *node;

  if ((node = json_object_get_member (o, "weight")) != NULL)
    {
      g_autofree char *where = g_strdup_printf ("%s.weight", path);
      if (!qs_quant_spec_from_json_node (node, where, &lc->weight, error))
        return FALSE;
    }
  if (!get_bool (o, "quantize_activations", path, &lc->quantize_activations, error))
    return FALSE;
  if ((node = json_object_get_member (o, "activation")) != NULL)
    {
      g_autofree char *where = g_strdup_printf ("%s.activation", path);
      if (!qs_quant_spec_from_json_node (node, where, &lc->activation, error))
        return FALSE;
      /* activations are per tensor: that is the default here, not per channel */
      if (JSON_NODE_HOLDS_OBJECT (node)
          && !json_object_has_member (json_node_get_object (node), "granularity"))
        lc->activation.granularity = QS_GRANULARITY_TENSOR;
      if (lc->activation.format != QS_FORMAT_INT)
        return schema_error (error, where, _("activations are quantized to integers: use format “int”"));
      if (lc->activation.bits > 8)
        return schema_error (error, where, _("activations take 2 to 8 bits"));
      if (lc->activation.granularity != QS_GRANULARITY_TENSOR)
        return schema_error (error, where, _("activations are quantized per tensor"));
    }
  else if (lc->quantize_activations && lc->activation.format != QS_FORMAT_INT)
    return schema_error (error, path, _("“quantize_activations” is true but “activation” is missing"));
  return TRUE;
}

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

char *
qs_config_to_json (QsConfig *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (QS_IS_CONFIG (self), NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "schema_version");
  json_builder_add_int_value (b, QS_CONFIG_SCHEMA_VERSION);
  if (self->preset != NULL)
    {
      json_builder_set_member_name (b, "preset");
      json_builder_add_string_value (b, self->preset);
    }
  json_builder_set_member_name (b, "calibration_images");
  json_builder_add_int_value (b, self->calib_images);
  json_builder_set_member_name (b, "calibration_source");
  json_builder_add_string_value (b, self->calib_source);
  if (!qs_preprocess_is_default (&self->preprocess))
    {
      g_autofree char *pp = qs_preprocess_to_string (&self->preprocess);

      json_builder_set_member_name (b, "preprocessing");
      json_builder_add_string_value (b, pp);
    }
  if (self->requant_mode != QS_REQUANT_GEMMLOWP)
    {
      json_builder_set_member_name (b, "requantization");
      json_builder_add_string_value (b, qs_requant_mode_to_string (self->requant_mode));
    }
  json_builder_set_member_name (b, "input");
  if (self->has_input)
    json_builder_add_value (b, qs_quant_spec_to_json_node (&self->input));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "default");
  json_builder_begin_object (b);
  layer_config_to_json (b, &self->def);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->overrides->len; i++)
    {
      Override *o = g_ptr_array_index (self->overrides, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "pattern");
      json_builder_add_string_value (b, o->pattern);
      layer_config_to_json (b, &o->config);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (g_hash_table_size (self->act_ranges) > 0)
    {
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (self->act_ranges, NULL);
      guint n = g_hash_table_size (self->act_ranges);

      /* sorted, so that the file is the same every time */
      qsort (keys, n, sizeof (gpointer), compare_strings);
      json_builder_set_member_name (b, "activation_ranges");
      json_builder_begin_object (b);
      for (guint i = 0; i < n; i++)
        {
          const float *r = g_hash_table_lookup (self->act_ranges, keys[i]);

          json_builder_set_member_name (b, keys[i]);
          json_builder_begin_array (b);
          json_builder_add_double_value (b, r[0]);
          json_builder_add_double_value (b, r[1]);
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

/* The nesting depth, counted on the raw text before json-glib (a recursive parser) sees it:
 * the same scan as the Keras config parser's. */
static gboolean
check_depth (const char *json,
             gsize       length,
             GError    **error)
{
  if (qs_json_text_depth_ok (json, length, QS_CONFIG_MAX_DEPTH))
    return TRUE;
  g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_TOO_LARGE,
               _("The configuration is nested more than %d levels deep (a real one nests 4)"),
               QS_CONFIG_MAX_DEPTH);
  return FALSE;
}

static gboolean
size_error (GError **error)
{
  g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_TOO_LARGE,
               _("The configuration is larger than %zu MB, the most Quantscope reads"),
               QS_CONFIG_MAX_BYTES >> 20);
  return FALSE;
}

QsConfig *
qs_config_new_from_json (const char  *data,
                         gssize       length,
                         GError     **error)
{
  static const char * const top_allowed[] = {
    "schema_version", "preset", "calibration_images", "calibration_source", "requantization", "preprocessing", "input", "default", "layers",
    "activation_ranges", NULL
  };
  static const char * const layer_allowed[] = {
    "pattern", "weight", "quantize_activations", "activation", NULL
  };
  static const char * const default_allowed[] = {
    "weight", "quantize_activations", "activation", NULL
  };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(QsConfig) self = NULL;
  g_autoptr(GError) local = NULL;
  JsonObject *root;
  JsonNode *node;
  gint64 version = -1, calib = DEFAULT_CALIB_IMAGES;

  g_return_val_if_fail (data != NULL, NULL);

  if (length < 0)
    length = strlen (data);
  if ((gsize) length > QS_CONFIG_MAX_BYTES)
    {
      size_error (error);
      return NULL;
    }
  if (!check_depth (data, length, error))
    return NULL;
  if (!json_parser_load_from_data (parser, data, length, &local))
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_PARSE,
                   _("Not a valid configuration (JSON): %s"), local->message);
      return NULL;
    }
  if ((root = expect_object (json_parser_get_root (parser), "$", error)) == NULL)
    return NULL;
  if (!json_object_has_member (root, "schema_version"))
    {
      schema_error (error, "$", _("missing field “schema_version”"));
      return NULL;
    }
  if (!get_int (root, "schema_version", "$", 1, G_MAXINT32, &version, error))
    return NULL;
  if (version > QS_CONFIG_SCHEMA_VERSION)
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_VERSION,
                   _("$.schema_version: version %" PRId64 " is newer than this Quantscope reads (%d); update Quantscope"),
                   version, QS_CONFIG_SCHEMA_VERSION);
      return NULL;
    }
  if (!check_members (root, "$", top_allowed, error))
    return NULL;

  self = qs_config_new ();
  if ((node = json_object_get_member (root, "preset")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          schema_error (error, "$.preset", _("expected a string"));
          return NULL;
        }
      /* The preset is the base: the fields below change only what they name. An unknown
       * one is an error, as on the command line: ignoring it would run everything in float. */
      {
        g_autoptr(QsConfig) base = qs_config_new_from_preset (json_node_get_string (node), &local);

        if (base == NULL)
          {
            g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET,
                         "$.preset: %s", local->message);
            return NULL;
          }
        self->def = base->def;
        self->input = base->input;
        self->has_input = base->has_input;
      }
      self->preset = g_strdup (json_node_get_string (node));
    }
  if (!get_int (root, "calibration_images", "$", 1, G_MAXINT32, &calib, error))
    return NULL;
  self->calib_images = calib;
  if ((node = json_object_get_member (root, "calibration_source")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
          || *json_node_get_string (node) == '\0')
        {
          schema_error (error, "$.calibration_source", _("expected a dataset name or path"));
          return NULL;
        }
      qs_config_set_calib_source (self, json_node_get_string (node));
    }
  if ((node = json_object_get_member (root, "preprocessing")) != NULL)
    {
      g_autoptr(GError) pp_error = NULL;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          schema_error (error, "$.preprocessing",
                        _("expected a preset or key=value list such as \"torch\" or \"resize=256,crop=224,mean=0.5,std=0.5\""));
          return NULL;
        }
      if (!qs_preprocess_parse (&self->preprocess, json_node_get_string (node), &pp_error))
        {
          schema_error (error, "$.preprocessing", pp_error->message);
          return NULL;
        }
    }
  if ((node = json_object_get_member (root, "requantization")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
          || !qs_requant_mode_from_string (json_node_get_string (node), &self->requant_mode))
        {
          schema_error (error, "$.requantization",
                        _("expected \"gemmlowp\", \"single-rounding\", \"fp32-rne\" or \"cmsis-nn\""));
          return NULL;
        }
    }
  if ((node = json_object_get_member (root, "input")) != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (!qs_quant_spec_from_json_node (node, "$.input", &self->input, error))
        return NULL;
      if (self->input.format != QS_FORMAT_INT || self->input.bits > 8)
        {
          schema_error (error, "$.input", _("the input is quantized to 2 to 8 bit integers"));
          return NULL;
        }
      self->has_input = TRUE;
    }
  if ((node = json_object_get_member (root, "default")) != NULL)
    {
      JsonObject *o = expect_object (node, "$.default", error);

      if (o == NULL || !check_members (o, "$.default", default_allowed, error)
          || !layer_config_from_json (o, "$.default", &self->def, error))
        return NULL;
    }
  if ((node = json_object_get_member (root, "layers")) != NULL)
    {
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (node))
        {
          schema_error (error, "$.layers", _("expected an array"));
          return NULL;
        }
      array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *path = g_strdup_printf ("$.layers[%u]", i);
          JsonObject *o = expect_object (json_array_get_element (array, i), path, error);
          JsonNode *pattern;
          QsLayerConfig lc;

          if (o == NULL || !check_members (o, path, layer_allowed, error))
            return NULL;
          pattern = json_object_get_member (o, "pattern");
          if (pattern == NULL || !JSON_NODE_HOLDS_VALUE (pattern)
              || json_node_get_value_type (pattern) != G_TYPE_STRING
              || *json_node_get_string (pattern) == '\0')
            {
              g_autofree char *where = g_strdup_printf ("%s.pattern", path);
              schema_error (error, where, _("expected a layer name or glob"));
              return NULL;
            }
          lc = self->def;
          if (!layer_config_from_json (o, path, &lc, error))
            return NULL;
          qs_config_set_layer (self, json_node_get_string (pattern), &lc);
        }
    }
  if ((node = json_object_get_member (root, "activation_ranges")) != NULL)
    {
      JsonObject *ranges = expect_object (node, "$.activation_ranges", error);
      g_autoptr(GList) names = NULL;

      if (ranges == NULL)
        return NULL;
      names = json_object_get_members (ranges);
      for (GList *l = names; l != NULL; l = l->next)
        {
          g_autofree char *where = g_strdup_printf ("$.activation_ranges.%s", (const char *) l->data);
          JsonNode *member = json_object_get_member (ranges, l->data);
          JsonArray *pair;
          double lo, hi;

          if (!JSON_NODE_HOLDS_ARRAY (member)
              || json_array_get_length (pair = json_node_get_array (member)) != 2
              || !JSON_NODE_HOLDS_VALUE (json_array_get_element (pair, 0))
              || !JSON_NODE_HOLDS_VALUE (json_array_get_element (pair, 1))
              || json_node_get_value_type (json_array_get_element (pair, 0)) == G_TYPE_STRING
              || json_node_get_value_type (json_array_get_element (pair, 1)) == G_TYPE_STRING
              || json_node_get_value_type (json_array_get_element (pair, 0)) == G_TYPE_BOOLEAN
              || json_node_get_value_type (json_array_get_element (pair, 1)) == G_TYPE_BOOLEAN)
            {
              schema_error (error, where, _("expected [low, high]"));
              return NULL;
            }
          lo = json_array_get_double_element (pair, 0);
          hi = json_array_get_double_element (pair, 1);
          if (!isfinite (lo) || !isfinite (hi) || lo > hi || fabs (lo) > FLT_MAX || fabs (hi) > FLT_MAX)
            {
              schema_error (error, where, _("expected finite numbers with low ≤ high"));
              return NULL;
            }
          qs_config_set_activation_range (self, l->data, (float) lo, (float) hi);
        }
    }
  return g_steal_pointer (&self);
}

QsConfig *
qs_config_load_file (const char  *path,
                     GError     **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  gsize length;
  QsConfig *self;

  g_return_val_if_fail (path != NULL, NULL);

  /* Regular files only (a FIFO would block, /dev/zero never end), and no larger than the
   * limit: checked before reading. */
  if (!qs_file_check_regular (path, &local))
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_IO,
                   _("Configuration: %s"), local->message);
      return NULL;
    }
  {
    GStatBuf st;

    if (g_stat (path, &st) == 0 && (guint64) st.st_size > QS_CONFIG_MAX_BYTES)
      {
        g_autofree char *name = g_filename_display_name (path);
        size_error (&local);
        g_set_error (error, QS_CONFIG_ERROR, local->code, "%s: %s", name, local->message);
        return NULL;
      }
  }
  if (!g_file_get_contents (path, &data, &length, &local))
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_IO, "%s", local->message);
      return NULL;
    }
  self = qs_config_new_from_json (data, length, &local);
  if (self == NULL)
    {
      g_autofree char *name = g_filename_display_name (path);
      g_set_error (error, QS_CONFIG_ERROR, local->code, "%s: %s", name, local->message);
    }
  return self;
}

gboolean
qs_config_save_file (QsConfig    *self,
                     const char  *path,
                     GError     **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (QS_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* g_file_set_contents renames a temporary file over the target: over a device node (say
   * /dev/full) that would replace the node with a plain file and report success. */
  if (!qs_file_check_writable (path, &local))
    {
      g_set_error_literal (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_IO, local->message);
      return FALSE;
    }
  data = qs_config_to_json (self);
  if (!g_file_set_contents (path, data, -1, &local))
    {
      g_set_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}
