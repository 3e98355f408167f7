/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-export-private.h"

/* AIMET quantization encodings, export and import.
 *
 * The layouts, from AIMET's "Quantization Encoding Specification"
 * (quic/aimet Docs/api_docs/quantsim_encoding_format... "Encoding Format Specification"):
 *
 * - 0.6.1: {"version": "0.6.1", "activation_encodings": {name: [Encoding, ...]},
 *   "param_encodings": {name: [Encoding, ...]}, "quantizer_args": {...}} with
 *   Encoding = {"bitwidth", "dtype": "int" | "float", "is_symmetric": "True" | "False" (the
 *   strings), "min", "max", "offset" (an integer), "scale"}; more than one Encoding in a
 *   list = per channel. quantizer_args: activation_bitwidth, dtype, is_symmetric,
 *   param_bitwidth, per_channel_quantization, quant_scheme.
 * - 1.0.0 (AIMET 2 `sim.export ()`): {"version": "1.0.0", "activation_encodings": [...],
 *   "param_encodings": [...], "excluded_layers": [...], "quantizer_args": {...}} with
 *   entries {"name", "dtype": "INT" | "FLOAT", "enc_type": "PER_TENSOR" | "PER_CHANNEL" |
 *   "PER_BLOCK", "bw", "is_sym" (a JSON boolean), "scale": [...], "offset": [...] (floats),
 *   "block_size" with PER_BLOCK}; no min / max.
 *
 * AIMET's convention (aimet_torch.quantization.affine.quantize): codes on an unsigned grid
 * q = clamp (round (x / scale) - offset, 0, 2^b - 1), x ~ (q + offset) * scale, so
 * offset = round (min / scale) <= 0, min = scale * offset, max = scale * (2^b - 1 + offset).
 * A symmetric b-bit encoding has offset -2^(b-1) (min = -2^(b-1) scale, max = (2^(b-1) - 1)
 * scale). Worked case: min -1, max 1, 8 bit affine -> scale 2/255, offset
 * round (-1 / (2/255)) = round (-127.5) = -128 (AIMET rounds half away from zero).
 *
 * Mapping from Quantscope: an integer value's codes q in [qmin, qmax] stand for
 * scale (q - zero_point) (the engine's uint8 container domain, qs_lowered_params_from_range;
 * signed kernels' codes are signed). Its b-bit grid starts at qmin_full = qmax - (2^b - 1)
 * (narrow-range grids of 2^b - 1 codes start one below qmin), and
 * offset = qmin_full - zero_point, scale unchanged.
 *
 * Names (our choice, documented in the README): parameters by the Keras variable name
 * AIMET's Keras QuantSim keys them with, "<layer>/<weight>:0" ("conv2d/kernel:0",
 * "sep/depthwise_kernel:0"); per-channel along the kernel's output-channel axis (Keras'
 * last axis; depthwise: channels x multiplier). The kernel's encodings are those of the
 * kernel the program stores: with a BatchNormalization folded in (as AIMET's own
 * batch-norm folding does before QuantSim). Activations by Quantscope's value names (the
 * Keras layer name, "name#pre", "name#dw"). The import also takes "<layer>.weight"
 * (PyTorch / ONNX style), names without ":0", and for activations the part before the
 * first "/" ("conv2d/Relu:0" -> "conv2d"). Biases are left in float (the target stores
 * them as int32 at scale_in * scale_w); an import ignores bias encodings. */

/* --- export --- */

static void
add_061_encoding (JsonBuilder *b,
                  guint        bits,
                  gboolean     is_sym,
                  double       scale,
                  gint64       offset)
{
  double qmax = (double) (((gint64) 1 << bits) - 1);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "bitwidth");
  json_builder_add_int_value (b, bits);
  json_builder_set_member_name (b, "dtype");
  json_builder_add_string_value (b, "int");
  json_builder_set_member_name (b, "is_symmetric");
  json_builder_add_string_value (b, is_sym ? "True" : "False");
  json_builder_set_member_name (b, "max");
  json_builder_add_double_value (b, scale * (qmax + (double) offset));
  json_builder_set_member_name (b, "min");
  json_builder_add_double_value (b, scale * (double) offset);
  json_builder_set_member_name (b, "offset");
  json_builder_add_int_value (b, offset);
  json_builder_set_member_name (b, "scale");
  json_builder_add_double_value (b, scale);
  json_builder_end_object (b);
}

typedef struct
{
  const char   *name;      /* tensor name, with ":0" for parameters */
  gboolean      is_float;  /* fp16 */
  guint         bits;
  gboolean      is_sym;
  const char   *enc_type;
  guint         block_size;
  gsize         n;
  double       *scale;
  gint64       *offset;
} Encoding;

static void
encoding_clear (Encoding *e)
{
  g_free (e->scale);
  g_free (e->offset);
}

static void
add_encoding (JsonBuilder    *b,
              const Encoding *e,
              gboolean        v1)
{
  if (v1)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, e->name);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, e->is_float ? "FLOAT" : "INT");
      json_builder_set_member_name (b, "enc_type");
      json_builder_add_string_value (b, e->enc_type);
      json_builder_set_member_name (b, "bw");
      json_builder_add_int_value (b, e->bits);
      if (!e->is_float)
        {
          json_builder_set_member_name (b, "is_sym");
          json_builder_add_boolean_value (b, e->is_sym);
          if (e->block_size > 0)
            {
              json_builder_set_member_name (b, "block_size");
              json_builder_add_int_value (b, e->block_size);
            }
          json_builder_set_member_name (b, "scale");
          json_builder_begin_array (b);
          for (gsize i = 0; i < e->n; i++)
            json_builder_add_double_value (b, e->scale[i]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "offset");
          json_builder_begin_array (b);
          for (gsize i = 0; i < e->n; i++)
            json_builder_add_double_value (b, (double) e->offset[i]);
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
      return;
    }
  json_builder_set_member_name (b, e->name);
  json_builder_begin_array (b);
  if (e->is_float)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "bitwidth");
      json_builder_add_int_value (b, e->bits);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, "float");
      json_builder_end_object (b);
    }
  else
    for (gsize i = 0; i < e->n; i++)
      add_061_encoding (b, e->bits, e->is_sym, e->scale[i], e->offset[i]);
  json_builder_end_array (b);
}

/* The encodings of a kernel step; FALSE with an error naming the layer when AIMET has no
 * way to say it; TRUE with e->n == 0 when the kernel stays float32. */
static gboolean
step_encoding (const QsExportContext  *ctx,
               guint                   index,
               gboolean                v1,
               Encoding               *e,
               char                  **name,
               GError                **error)
{
  const QsLoweredStep *st = qs_lowering_get_step (ctx->lowering, index);
  const char *layer = _qs_export_step_layer (ctx, st);
  g_autoptr(QsQuantResult) r = NULL;
  QsQuantParams *p;

  memset (e, 0, sizeof *e);
  r = qs_lowering_get_step_weights (ctx->lowering, index, error);
  if (r == NULL)
    return error == NULL || *error == NULL;
  p = r->params;
  *name = g_strdup_printf ("%s:0", st->kernel->name);
  e->name = *name;
  if (p->spec.format == QS_FORMAT_FP16 || p->spec.format == QS_FORMAT_BF16)
    {
      if (p->spec.format == QS_FORMAT_BF16)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("Layer “%s”: AIMET encodings have no bfloat16 (only float16); choose fp16 or an integer format"), layer);
          return FALSE;
        }
      e->is_float = TRUE;
      e->bits = 16;
      e->enc_type = "PER_TENSOR";
      e->n = 1;
      return TRUE;
    }
  if (p->spec.format != QS_FORMAT_INT)
    {
      g_autofree char *label = qs_quant_spec_to_label (&p->spec);

      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("Layer “%s”: AIMET encodings cannot express %s weights (integer or float16 only)"),
                   layer, label);
      return FALSE;
    }
  if (p->spec.granularity == QS_GRANULARITY_GROUP && !v1)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("Layer “%s”: per-group scales need the AIMET 1.0.0 layout (PER_BLOCK); export with --format aimet"),
                   layer);
      return FALSE;
    }
  e->bits = p->spec.bits;
  e->is_sym = p->spec.mapping == QS_MAPPING_SYMMETRIC;
  e->enc_type = p->spec.granularity == QS_GRANULARITY_TENSOR ? "PER_TENSOR"
                : p->spec.granularity == QS_GRANULARITY_CHANNEL ? "PER_CHANNEL" : "PER_BLOCK";
  e->block_size = p->spec.granularity == QS_GRANULARITY_GROUP ? p->spec.group_size : 0;
  e->n = p->n_params;
  e->scale = g_new (double, e->n);
  e->offset = g_new (gint64, e->n);
  for (gsize i = 0; i < e->n; i++)
    {
      gint64 qmin_full = (gint64) p->qmax - (((gint64) 1 << e->bits) - 1);

      e->scale[i] = p->scale[i];
      e->offset[i] = qmin_full - p->zero_point[i];
    }
  return TRUE;
}

static const char *
quant_scheme (QsRangeMethod m)
{
  switch (m)
    {
    case QS_RANGE_PERCENTILE: return "post_training_percentile";
    case QS_RANGE_MSE:
    case QS_RANGE_KL:         return "post_training_tf_enhanced";
    case QS_RANGE_MINMAX:
    default:                  return "post_training_tf";
    }
}

static gboolean
write_aimet (const QsExportContext  *ctx,
             const char             *path,
             gboolean                v1,
             GString                *summary,
             GError                **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) excluded = g_ptr_array_new ();
  QsLayerConfig def;
  guint n_act = 0, n_param = 0;
  gsize written;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, v1 ? "1.0.0" : "0.6.1");

  json_builder_set_member_name (b, "activation_encodings");
  if (v1)
    json_builder_begin_array (b);
  else
    json_builder_begin_object (b);
  for (guint i = 0; i < qs_lowering_get_n_values (ctx->lowering); i++)
    {
      const QsLoweredValue *v = qs_lowering_get_value (ctx->lowering, i);
      QsLoweredParams p;
      Encoding e = { 0 };
      double scale;
      gint64 offset;
      float lo, hi;

      if (!v->is_int || v->params_from >= 0)
        continue;
      if (!_qs_export_value_params (ctx, v, &lo, &hi, &p, error))
        return FALSE;
      scale = p.scale;
      offset = ((gint64) p.qmax - (((gint64) 1 << v->spec.bits) - 1)) - p.zero_point;
      e.name = v->range_name;
      e.bits = v->spec.bits;
      e.is_sym = v->spec.mapping == QS_MAPPING_SYMMETRIC;
      e.enc_type = "PER_TENSOR";
      e.n = 1;
      e.scale = &scale;
      e.offset = &offset;
      add_encoding (b, &e, v1);
      n_act++;
    }
  if (v1)
    json_builder_end_array (b);
  else
    json_builder_end_object (b);

  json_builder_set_member_name (b, "param_encodings");
  if (v1)
    json_builder_begin_array (b);
  else
    json_builder_begin_object (b);
  for (guint i = 0; i < qs_lowering_get_n_steps (ctx->lowering); i++)
    {
      const QsLoweredStep *st = qs_lowering_get_step (ctx->lowering, i);
      g_autofree char *name = NULL;
      Encoding e;

      if (st->kind != QS_LOWERED_CONV && st->kind != QS_LOWERED_DEPTHWISE)
        continue;
      if (!step_encoding (ctx, i, v1, &e, &name, error))
        {
          encoding_clear (&e);
          return FALSE;
        }
      if (e.n == 0)
        {
          if (!st->is_int)
            g_ptr_array_add (excluded, (gpointer) _qs_export_step_layer (ctx, st));
          continue;
        }
      add_encoding (b, &e, v1);
      encoding_clear (&e);
      n_param++;
    }
  if (v1)
    json_builder_end_array (b);
  else
    json_builder_end_object (b);

  if (v1)
    {
      json_builder_set_member_name (b, "excluded_layers");
      json_builder_begin_array (b);
      for (guint i = 0; i < excluded->len; i++)
        if (i == 0 || strcmp (excluded->pdata[i], excluded->pdata[i - 1]) != 0)
          json_builder_add_string_value (b, excluded->pdata[i]);
      json_builder_end_array (b);
    }

  qs_config_get_default (ctx->config, &def);
  json_builder_set_member_name (b, "quantizer_args");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "activation_bitwidth");
  json_builder_add_int_value (b, def.quantize_activations && def.activation.format == QS_FORMAT_INT
                                 ? def.activation.bits : 32);
  json_builder_set_member_name (b, "dtype");
  json_builder_add_string_value (b, def.weight.format == QS_FORMAT_INT ? "int" : "float");
  json_builder_set_member_name (b, "is_symmetric");
  json_builder_add_string_value (b, def.weight.mapping == QS_MAPPING_SYMMETRIC ? "True" : "False");
  json_builder_set_member_name (b, "param_bitwidth");
  json_builder_add_int_value (b, def.weight.format == QS_FORMAT_INT ? def.weight.bits
                                 : (guint) qs_quant_spec_bits_per_value (&def.weight));
  json_builder_set_member_name (b, "per_channel_quantization");
  json_builder_add_string_value (b, def.weight.granularity != QS_GRANULARITY_TENSOR ? "True" : "False");
  json_builder_set_member_name (b, "quant_scheme");
  json_builder_add_string_value (b, quant_scheme (def.activation.range_method));
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  if (!_qs_export_write_json (root, path, &written, error))
    return FALSE;
  {
    g_autofree char *size = g_format_size (written);

    g_string_append_printf (summary, _("Wrote %s: AIMET encodings %s, %u activation and %u parameter encodings\n"),
                            size, v1 ? "1.0.0" : "0.6.1", n_act, n_param);
    g_string_append_printf (summary, _("Parameters as Keras variables (“layer/kernel:0”), BatchNorm folded into the kernels; requantization is the runtime's (Quantscope's was %s)\n"),
                            qs_requant_mode_to_string (qs_config_get_requant_mode (ctx->config)));
  }
  return TRUE;
}

gboolean
_qs_export_write_aimet (const QsExportContext  *ctx,
                        const char             *path,
                        GString                *summary,
                        GError                **error)
{
  return write_aimet (ctx, path, TRUE, summary, error);
}

gboolean
_qs_export_write_aimet_061 (const QsExportContext  *ctx,
                            const char             *path,
                            GString                *summary,
                            GError                **error)
{
  return write_aimet (ctx, path, FALSE, summary, error);
}

/* --- import --- */

typedef struct
{
  char     *name;
  gboolean  is_param;
  gboolean  is_float;
  gint64    bits;
  gboolean  is_sym;
  QsGranularity granularity;
  gint64    block_size;
  gsize     n;
  double   *scale;
  double   *offset;
  double    min, max;   /* the first entry's (activations) */
} Entry;

static void
entry_free (Entry *e)
{
  g_free (e->name);
  g_free (e->scale);
  g_free (e->offset);
  g_free (e);
}

typedef struct
{
  const char *path;
  GPtrArray  *problems;   /* char * */
} Import;

static void problem (Import *imp, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
problem (Import     *imp,
         const char *format,
         ...)
{
  va_list ap;

  va_start (ap, format);
  g_ptr_array_add (imp->problems, g_strdup_vprintf (format, ap));
  va_end (ap);
}

static gboolean
get_number (JsonObject *o,
            const char *member,
            double     *out)
{
  JsonNode *n = json_object_get_member (o, member);

  if (n == NULL || json_node_get_value_type (n) == G_TYPE_STRING || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  *out = json_node_get_double (n);
  return TRUE;
}

static gboolean
get_bool_or_string (JsonObject *o,
                    const char *member,
                    gboolean   *out)
{
  JsonNode *n = json_object_get_member (o, member);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  if (json_node_get_value_type (n) == G_TYPE_BOOLEAN)
    {
      *out = json_node_get_boolean (n);
      return TRUE;
    }
  if (json_node_get_value_type (n) == G_TYPE_STRING)
    {
      const char *s = json_node_get_string (n);

      if (g_ascii_strcasecmp (s, "true") == 0 || g_ascii_strcasecmp (s, "false") == 0)
        {
          *out = g_ascii_strcasecmp (s, "true") == 0;
          return TRUE;
        }
    }
  return FALSE;
}

/* Checks the numbers every layout shares; where is "param_encodings.conv2d/kernel:0". */
static void
check_entry (Import     *imp,
             Entry      *e,
             const char *where)
{
  if (e->is_float)
    {
      if (e->bits != 16 && e->bits != 32)
        problem (imp, _("%s: a float encoding of %" PRId64 " bits (16 or 32 only)"), where, e->bits);
      return;
    }
  if (e->bits < QS_QUANT_INT_MIN_BITS || e->bits > QS_QUANT_INT_MAX_BITS)
    {
      problem (imp, _("%s: bitwidth %" PRId64 " is out of range (%d to %d)"),
               where, e->bits, QS_QUANT_INT_MIN_BITS, QS_QUANT_INT_MAX_BITS);
      return;
    }
  for (gsize i = 0; i < e->n; i++)
    {
      double grid = (double) (((gint64) 1 << e->bits) - 1);

      if (!isfinite (e->scale[i]) || e->scale[i] <= 0.0)
        {
          problem (imp, _("%s[%zu]: scale %g is not a positive number"), where, i, e->scale[i]);
          return;
        }
      if (!isfinite (e->offset[i]) || e->offset[i] > 0.0 || e->offset[i] < -grid
          || e->offset[i] != floor (e->offset[i]))
        {
          problem (imp, _("%s[%zu]: offset %g is impossible (a whole number from -%.0f to 0)"),
                   where, i, e->offset[i], grid);
          return;
        }
      if (e->is_sym && e->offset[i] != -(double) ((gint64) 1 << (e->bits - 1)) && e->offset[i] != 0.0)
        {
          problem (imp, _("%s[%zu]: a symmetric %" PRId64 "-bit encoding has offset -%" PRId64 " (or 0 when unsigned), not %g"),
                   where, i, e->bits, (gint64) 1 << (e->bits - 1), e->offset[i]);
          return;
        }
    }
  if (e->n > 0)
    {
      e->min = e->scale[0] * e->offset[0];
      e->max = e->scale[0] * ((double) (((gint64) 1 << e->bits) - 1) + e->offset[0]);
    }
}

/* One 0.6.1 list: [Encoding, ...] (more than one = per channel). */
static Entry *
parse_061 (Import     *imp,
           const char *section,
           const char *name,
           JsonNode   *node)
{
  g_autofree char *where = g_strdup_printf ("%s.%s", section, name);
  JsonArray *a;
  Entry *e;

  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) == 0)
    {
      problem (imp, _("%s: expected a non-empty list of encodings"), where);
      return NULL;
    }
  a = json_node_get_array (node);
  e = g_new0 (Entry, 1);
  e->name = g_strdup (name);
  e->n = json_array_get_length (a);
  e->scale = g_new0 (double, e->n);
  e->offset = g_new0 (double, e->n);
  e->granularity = e->n > 1 ? QS_GRANULARITY_CHANNEL : QS_GRANULARITY_TENSOR;
  for (gsize i = 0; i < e->n; i++)
    {
      JsonNode *item = json_array_get_element (a, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;
      const char *dtype;
      double bits, mn, mx;
      gboolean sym;

      if (o == NULL)
        {
          problem (imp, _("%s[%zu]: expected an object"), where, i);
          entry_free (e);
          return NULL;
        }
      dtype = json_object_get_string_member_with_default (o, "dtype", "int");
      if (g_ascii_strcasecmp (dtype, "float") == 0)
        {
          e->is_float = TRUE;
          e->bits = get_number (o, "bitwidth", &bits) ? (gint64) bits : 0;
          e->n = 1;
          break;
        }
      if (g_ascii_strcasecmp (dtype, "int") != 0)
        {
          problem (imp, _("%s[%zu]: dtype “%s” (int or float)"), where, i, dtype);
          entry_free (e);
          return NULL;
        }
      if (!get_number (o, "bitwidth", &bits) || bits != floor (bits)
          || !get_number (o, "scale", &e->scale[i]) || !get_number (o, "offset", &e->offset[i]))
        {
          problem (imp, _("%s[%zu]: bitwidth, scale and offset must be numbers"), where, i);
          entry_free (e);
          return NULL;
        }
      if (isnan (bits) || (i > 0 && (gint64) bits != e->bits))
        {
          problem (imp, _("%s[%zu]: the channels of one tensor must share a bitwidth"), where, i);
          entry_free (e);
          return NULL;
        }
      e->bits = (gint64) bits;
      sym = FALSE;
      if (json_object_has_member (o, "is_symmetric") && !get_bool_or_string (o, "is_symmetric", &sym))
        {
          problem (imp, _("%s[%zu]: is_symmetric must be “True” or “False”"), where, i);
          entry_free (e);
          return NULL;
        }
      e->is_sym = sym;
      if ((get_number (o, "min", &mn) && !isfinite (mn)) || (get_number (o, "max", &mx) && !isfinite (mx)))
        {
          problem (imp, _("%s[%zu]: min and max must be finite"), where, i);
          entry_free (e);
          return NULL;
        }
    }
  check_entry (imp, e, where);
  return e;
}

static JsonArray *
get_array (JsonObject *o,
           const char *member)
{
  JsonNode *n = json_object_get_member (o, member);

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

/* One 1.0.0 entry: {name, dtype, enc_type, bw, is_sym, scale[], offset[], block_size}. */
static Entry *
parse_100 (Import     *imp,
           const char *section,
           guint       index,
           JsonNode   *node)
{
  g_autofree char *where = NULL;
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *name, *dtype, *enc_type;
  JsonArray *scale, *offset;
  double bits;
  Entry *e;

  where = g_strdup_printf ("%s[%u]", section, index);
  if (o == NULL || (name = json_object_get_string_member_with_default (o, "name", NULL)) == NULL)
    {
      problem (imp, _("%s: expected an object with a “name”"), where);
      return NULL;
    }
  g_free (where);
  where = g_strdup_printf ("%s.%s", section, name);
  e = g_new0 (Entry, 1);
  e->name = g_strdup (name);
  dtype = json_object_get_string_member_with_default (o, "dtype", "INT");
  if (!get_number (o, "bw", &bits) || bits != floor (bits))
    {
      problem (imp, _("%s: “bw” must be a whole number"), where);
      entry_free (e);
      return NULL;
    }
  e->bits = (gint64) bits;
  if (g_ascii_strcasecmp (dtype, "float") == 0)
    {
      e->is_float = TRUE;
      e->n = 1;
      check_entry (imp, e, where);
      return e;
    }
  if (g_ascii_strcasecmp (dtype, "int") != 0)
    {
      problem (imp, _("%s: dtype “%s” (INT or FLOAT)"), where, dtype);
      entry_free (e);
      return NULL;
    }
  enc_type = json_object_get_string_member_with_default (o, "enc_type", "PER_TENSOR");
  if (g_strcmp0 (enc_type, "PER_TENSOR") == 0)
    e->granularity = QS_GRANULARITY_TENSOR;
  else if (g_strcmp0 (enc_type, "PER_CHANNEL") == 0)
    e->granularity = QS_GRANULARITY_CHANNEL;
  else if (g_strcmp0 (enc_type, "PER_BLOCK") == 0)
    {
      double bs;

      e->granularity = QS_GRANULARITY_GROUP;
      if (!get_number (o, "block_size", &bs) || bs < 1 || bs != floor (bs) || bs > G_MAXINT32)
        {
          problem (imp, _("%s: PER_BLOCK needs a positive whole “block_size”"), where);
          entry_free (e);
          return NULL;
        }
      e->block_size = (gint64) bs;
    }
  else
    {
      problem (imp, _("%s: enc_type “%s” (PER_TENSOR, PER_CHANNEL or PER_BLOCK)"), where, enc_type);
      entry_free (e);
      return NULL;
    }
  if (json_object_has_member (o, "is_sym") && !get_bool_or_string (o, "is_sym", &e->is_sym))
    {
      problem (imp, _("%s: “is_sym” must be true or false"), where);
      entry_free (e);
      return NULL;
    }
  scale = get_array (o, "scale");
  offset = get_array (o, "offset");
  if (scale == NULL || offset == NULL || json_array_get_length (scale) == 0
      || json_array_get_length (scale) != json_array_get_length (offset))
    {
      problem (imp, _("%s: “scale” and “offset” must be lists of the same, non-zero length"), where);
      entry_free (e);
      return NULL;
    }
  e->n = json_array_get_length (scale);
  e->scale = g_new0 (double, e->n);
  e->offset = g_new0 (double, e->n);
  for (gsize i = 0; i < e->n; i++)
    {
      JsonNode *s = json_array_get_element (scale, i), *f = json_array_get_element (offset, i);

      if (!JSON_NODE_HOLDS_VALUE (s) || !JSON_NODE_HOLDS_VALUE (f)
          || json_node_get_value_type (s) == G_TYPE_STRING || json_node_get_value_type (f) == G_TYPE_STRING)
        {
          problem (imp, _("%s[%zu]: scale and offset must be numbers"), where, i);
          entry_free (e);
          return NULL;
        }
      e->scale[i] = json_node_get_double (s);
      e->offset[i] = json_node_get_double (f);
    }
  check_entry (imp, e, where);
  return e;
}

/* All entries of a section, either layout; NULL entries are skipped (problems noted). */
static void
parse_section (Import     *imp,
               JsonObject *root,
               const char *section,
               gboolean    is_param,
               GPtrArray  *out)
{
  JsonNode *node = json_object_get_member (root, section);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return;
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          Entry *e = parse_100 (imp, section, i, json_array_get_element (a, i));

          if (e != NULL)
            {
              e->is_param = is_param;
              g_ptr_array_add (out, e);
            }
        }
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      g_autoptr(GList) names = json_object_get_members (o);

      for (GList *l = names; l != NULL; l = l->next)
        {
          Entry *e = parse_061 (imp, section, l->data, json_object_get_member (o, l->data));

          if (e != NULL)
            {
              e->is_param = is_param;
              g_ptr_array_add (out, e);
            }
        }
    }
  else
    problem (imp, _("%s: expected an object (0.6.1) or a list (1.0.0)"), section);
}

/* The kernel a parameter name addresses: "layer/kernel:0", "layer/kernel", "layer.weight";
 * *is_bias for biases (ignored). */
static QsTensor *
find_kernel (QsModel        *model,
             const char     *name,
             const QsLayer **layer_out,
             gboolean       *is_bias)
{
  g_autofree char *bare = g_strdup (name);
  gsize len = strlen (bare);

  *is_bias = FALSE;
  if (len > 2 && strcmp (bare + len - 2, ":0") == 0)
    bare[len - 2] = '\0';
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);

      for (guint w = 0; l->weights != NULL && w < l->weights->len; w++)
        {
          QsTensor *t = g_ptr_array_index (l->weights, w);
          g_autofree char *dotted = NULL;
          gboolean kernel = t->layout == QS_TENSOR_LAYOUT_DENSE || t->layout == QS_TENSOR_LAYOUT_CONV2D
                            || t->layout == QS_TENSOR_LAYOUT_DEPTHWISE;

          if (g_strcmp0 (t->name, bare) == 0)
            {
              *layer_out = l;
              *is_bias = !kernel;
              return kernel ? t : NULL;
            }
          dotted = g_strdup_printf ("%s.%s", l->name, kernel ? "weight" : "bias");
          if (strcmp (dotted, bare) == 0 && (kernel || w == l->weights->len - 1))
            {
              *layer_out = l;
              *is_bias = !kernel;
              return kernel ? t : NULL;
            }
        }
    }
  return NULL;
}

static gboolean
same_weight_shape (const QsQuantSpec *a,
                   const QsQuantSpec *b)
{
  return a->format == b->format && a->bits == b->bits && a->mapping == b->mapping
         && a->granularity == b->granularity && a->group_size == b->group_size;
}

QsConfig *
qs_export_import_aimet (QsModel       *model,
                        const char    *path,
                        QsConfig      *base,
                        QsRangeTable **out_ranges,
                        GString       *summary,
                        GError       **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsLowering) all_float = NULL;
  g_autoptr(QsRangeTable) ranges = qs_range_table_new ();
  g_autoptr(GHashTable) weight_specs = g_hash_table_new (g_str_hash, g_str_equal); /* layer -> spec */
  g_autoptr(GError) local = NULL;
  g_autofree char *version = NULL;
  Import imp = { path, problems };
  JsonObject *root;
  guint n_param = 0, n_act = 0, n_bias = 0, n_shared = 0;
  QsQuantSpec *specs;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  parser = _qs_export_load_json (path, error);
  if (parser == NULL)
    return NULL;
  root = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (root, "activation_encodings") && !json_object_has_member (root, "param_encodings"))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                   _("%s: not AIMET encodings (no “activation_encodings” or “param_encodings”)"), path);
      return NULL;
    }
  version = g_strdup (json_object_get_string_member_with_default (root, "version", "0.4.0"));
  if (!g_str_has_prefix (version, "0.") && !g_str_has_prefix (version, "1."))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                   _("%s: AIMET encodings version “%s” (this Quantscope reads 0.4 to 1.x)"), path, version);
      return NULL;
    }
  parse_section (&imp, root, "param_encodings", TRUE, entries);
  parse_section (&imp, root, "activation_encodings", FALSE, entries);

  all_float = qs_lowering_new (model, NULL, &local);
  if (all_float == NULL)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID, "%s: %s", path, local->message);
      return NULL;
    }
  config = base != NULL ? qs_config_copy (base) : qs_config_new ();
  specs = g_new0 (QsQuantSpec, entries->len);

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = entries->pdata[i];
      const char *section = e->is_param ? "param_encodings" : "activation_encodings";

      if (e->is_param)
        {
          const QsLayer *layer = NULL;
          gboolean is_bias;
          QsTensor *kernel = find_kernel (model, e->name, &layer, &is_bias);
          QsLayerConfig lc;
          QsQuantSpec *spec = &specs[i], *prev;
          gsize n_channels = 1, inner, outer;

          if (is_bias)
            {
              n_bias++;
              continue;
            }
          if (kernel == NULL)
            {
              problem (&imp, _("%s.%s: the model has no layer or kernel of that name"), section, e->name);
              continue;
            }
          qs_config_get_layer (config, layer->name, &lc);
          if (e->is_float)
            qs_quant_spec_init_float (spec, e->bits == 16 ? QS_FORMAT_FP16 : QS_FORMAT_FP32);
          else
            {
              if (lc.weight.format == QS_FORMAT_INT)
                *spec = lc.weight;
              else
                qs_quant_spec_init (spec);
              spec->bits = (guint) e->bits;
              spec->is_signed = TRUE;
              spec->mapping = e->is_sym ? QS_MAPPING_SYMMETRIC : QS_MAPPING_AFFINE;
              spec->narrow_range = e->is_sym;
              spec->granularity = e->granularity;
              spec->axis = -1;
              spec->group_size = e->granularity == QS_GRANULARITY_GROUP ? (guint) e->block_size : 0;
              qs_tensor_channel_geometry (kernel, -1, &n_channels, &inner, &outer, NULL);
              if (e->granularity == QS_GRANULARITY_TENSOR && e->n != 1)
                problem (&imp, _("%s.%s: PER_TENSOR with %zu scales"), section, e->name, e->n);
              else if (e->granularity == QS_GRANULARITY_CHANNEL && e->n != n_channels)
                problem (&imp, _("%s.%s: %zu scales for a kernel of %zu output channels"),
                         section, e->name, e->n, n_channels);
              else if (e->granularity == QS_GRANULARITY_GROUP
                       && (kernel->n_elements / n_channels) % e->block_size != 0)
                problem (&imp, _("%s.%s: block_size %" PRId64 " does not divide the reduction length %zu"),
                         section, e->name, e->block_size, kernel->n_elements / n_channels);
              else if (e->granularity == QS_GRANULARITY_GROUP
                       && e->n != n_channels * (kernel->n_elements / n_channels / e->block_size))
                problem (&imp, _("%s.%s: %zu scales for %zu channels of %zu blocks"),
                         section, e->name, e->n, n_channels,
                         kernel->n_elements / n_channels / (gsize) e->block_size);
            }
          prev = g_hash_table_lookup (weight_specs, layer->name);
          if (prev != NULL && !same_weight_shape (prev, spec))
            problem (&imp, _("%s.%s: the kernels of layer “%s” have different encodings (a config holds one weight format per layer)"),
                     section, e->name, layer->name);
          g_hash_table_insert (weight_specs, layer->name, spec);
          n_param++;
        }
      else
        {
          g_autofree char *bare = g_strdup (e->name);
          gsize len = strlen (bare);
          char *slash;

          if (len > 2 && strcmp (bare + len - 2, ":0") == 0)
            bare[len - 2] = '\0';
          if (qs_lowering_find_value (all_float, bare) < 0 && (slash = strchr (bare, '/')) != NULL)
            *slash = '\0';
          if (qs_lowering_find_value (all_float, bare) < 0)
            {
              if (qs_model_find_layer (model, bare) != NULL)
                n_shared++;   /* a layer whose output shares its input's parameters */
              else
                problem (&imp, _("%s.%s: the model has no layer or value of that name"), section, e->name);
              continue;
            }
          if (e->is_float)
            continue;   /* stays float */
          g_free (e->name);
          e->name = g_steal_pointer (&bare);
          n_act++;
        }
    }

  if (problems->len > 0)
    {
      g_autoptr(GString) msg = g_string_new (NULL);

      g_string_append_printf (msg, g_dngettext (GETTEXT_PACKAGE, "%s does not fit the model “%s” (%u problem):",
                                                "%s does not fit the model “%s” (%u problems):", problems->len),
                              path, qs_model_get_name (model), problems->len);
      for (guint i = 0; i < problems->len; i++)
        g_string_append_printf (msg, "\n  %s", (const char *) problems->pdata[i]);
      g_set_error_literal (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID, msg->str);
      g_free (specs);
      return NULL;
    }

  /* Apply: weight specs per layer, activation specs and fixed ranges per value. */
  {
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init (&it, weight_specs);
    while (g_hash_table_iter_next (&it, &key, &value))
      {
        QsLayerConfig lc;

        qs_config_get_layer (config, key, &lc);
        lc.weight = *(QsQuantSpec *) value;
        qs_config_set_layer (config, key, &lc);
      }
  }
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = entries->pdata[i];
      gint vi;
      const QsLoweredValue *v;
      QsQuantSpec act;
      QsLayerConfig lc;
      g_autofree char *layer = NULL;
      char *hash;

      if (e->is_param || e->is_float || (vi = qs_lowering_find_value (all_float, e->name)) < 0)
        continue;
      v = qs_lowering_get_value (all_float, vi);
      layer = g_strdup (v->name);
      if ((hash = strchr (layer, '#')) != NULL)
        *hash = '\0';
      qs_config_get_layer (config, layer, &lc);
      if (lc.activation.format == QS_FORMAT_INT)
        act = lc.activation;
      else
        {
          qs_quant_spec_init (&act);
          act.granularity = QS_GRANULARITY_TENSOR;
          act.narrow_range = FALSE;
        }
      act.bits = (guint) e->bits;
      act.is_signed = !(e->is_sym && e->offset[0] == 0.0);
      act.mapping = e->is_sym ? QS_MAPPING_SYMMETRIC : QS_MAPPING_AFFINE;
      act.narrow_range = FALSE;
      act.granularity = QS_GRANULARITY_TENSOR;
      if (vi == qs_lowering_get_input (all_float))
        qs_config_set_input_spec (config, &act);
      else
        {
          lc.quantize_activations = TRUE;
          lc.activation = act;
          qs_config_set_layer (config, layer, &lc);
        }
      qs_config_set_activation_range (config, e->name, (float) e->min, (float) e->max);
      qs_range_table_set (ranges, e->name, (float) e->min, (float) e->max);
    }
  g_free (specs);

  /* What the engine makes of it: the config must lower. */
  {
    g_autoptr(QsLowering) check = qs_lowering_new (model, config, &local);

    if (check == NULL)
      {
        g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID, "%s: %s", path, local->message);
        return NULL;
      }
  }
  if (summary != NULL)
    {
      g_string_append_printf (summary, _("Imported AIMET encodings %s from %s: %u parameter encodings (%u layers), %u activation ranges\n"),
                              version, path, n_param, g_hash_table_size (weight_specs), n_act);
      if (n_bias > 0 || n_shared > 0)
        g_string_append_printf (summary, _("Not used: %u bias encodings (biases are int32 at the product of scales), %u encodings of values that share their input's parameters here\n"),
                                n_bias, n_shared);
      g_string_append (summary, _("Weight scales are recomputed from the kernels by each layer's range method; the file's were checked, not copied\n"));
    }
  if (out_ranges != NULL)
    *out_ranges = g_steal_pointer (&ranges);
  return g_steal_pointer (&config);
}
