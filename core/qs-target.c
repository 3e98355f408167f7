/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-analysis.h"
#include "qs-data.h"
#include "qs-enums.h"
#include "qs-formats.h"
#include "qs-target.h"

G_DEFINE_QUARK (qs-target-error-quark, qs_target_error)

/* A target file is a few kilobytes; anything larger is not one. */
#define TARGET_MAX_BYTES (1 << 20)

static const char * const bundled[] = {
  "tflite-int8", "tflite-16x8", "cmsis-nn", "onnxruntime-qdq", "fixed-point", "fp16-gpu", NULL
};

const char * const *
qs_target_list_bundled (void)
{
  return bundled;
}

QsTarget *
qs_target_ref (QsTarget *target)
{
  g_return_val_if_fail (target != NULL, NULL);
  g_atomic_int_inc (&target->ref_count);
  return target;
}

void
qs_target_unref (QsTarget *target)
{
  g_return_if_fail (target != NULL);
  if (!g_atomic_int_dec_and_test (&target->ref_count))
    return;
  g_free (target->name);
  g_free (target->title);
  g_free (target->description);
  g_free (target->reference);
  g_free (target->path);
  g_array_unref (target->weight_rules);
  g_array_unref (target->activation_rules);
  g_free (target);
}

void
qs_target_issue_free (QsTargetIssue *issue)
{
  if (issue == NULL)
    return;
  g_free (issue->layer);
  g_free (issue->reason);
  g_free (issue);
}

/* --- parsing --- */

static gboolean
schema_error (GError    **error,
              const char *where,
              const char *path,
              const char *what)
{
  g_set_error (error, QS_TARGET_ERROR, QS_TARGET_ERROR_SCHEMA, _("%s: %s: %s"), where, path, what);
  return FALSE;
}

/* A mask of enum values from an array of nicks. */
static gboolean
parse_nick_mask (JsonNode   *node,
                 GType       type,
                 const char *where,
                 const char *path,
                 guint64    *out,
                 GError    **error)
{
  JsonArray *array;

  *out = 0;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return schema_error (error, where, path, _("expected an array of names"));
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      gint value;

      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING
          || !qs_enum_from_nick (type, json_node_get_string (e), &value))
        {
          g_autofree char *known = qs_enum_list_nicks (type);
          g_autofree char *what = g_strdup_printf (_("unknown name (known: %s)"), known);
          g_autofree char *p = g_strdup_printf ("%s[%u]", path, i);

          return schema_error (error, where, p, what);
        }
      *out |= G_GUINT64_CONSTANT (1) << value;
    }
  return TRUE;
}

static gboolean
parse_bits_mask (JsonNode   *node,
                 const char *where,
                 const char *path,
                 guint32    *out,
                 GError    **error)
{
  JsonArray *array;

  *out = 0;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return schema_error (error, where, path, _("expected an array of bit widths"));
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      gint64 bits;

      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64
          || (bits = json_node_get_int (e)) < 1 || bits > 31)
        {
          g_autofree char *p = g_strdup_printf ("%s[%u]", path, i);

          return schema_error (error, where, p, _("expected a bit width between 1 and 31"));
        }
      *out |= 1u << bits;
    }
  return TRUE;
}

static gboolean
parse_tristate (JsonNode   *node,
                const char *where,
                const char *path,
                gint       *out,
                GError    **error)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return schema_error (error, where, path, _("expected true or false"));
  *out = json_node_get_boolean (node) ? 1 : 0;
  return TRUE;
}

static gboolean
parse_rule (JsonNode     *node,
            gboolean      weights,
            const char   *where,
            const char   *path,
            QsTargetRule *rule,
            GError      **error)
{
  JsonObject *o;
  g_autoptr(GList) members = NULL;
  gboolean have_format = FALSE;

  memset (rule, 0, sizeof *rule);
  rule->is_signed = rule->pow2_scale = rule->narrow_range = rule->float_activations = -1;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return schema_error (error, where, path, _("expected an object"));
  o = json_node_get_object (node);
  members = json_object_get_members (o);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *v = json_object_get_member (o, key);
      g_autofree char *p = g_strdup_printf ("%s.%s", path, key);
      guint64 mask;

      if (strcmp (key, "format") == 0)
        {
          gint format;

          if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING
              || !qs_enum_from_nick (QS_TYPE_FORMAT, json_node_get_string (v), &format))
            {
              g_autofree char *known = qs_enum_list_nicks (QS_TYPE_FORMAT);
              g_autofree char *what = g_strdup_printf (_("unknown format (known: %s)"), known);

              return schema_error (error, where, p, what);
            }
          rule->format = format;
          have_format = TRUE;
        }
      else if (strcmp (key, "bits") == 0)
        {
          if (!parse_bits_mask (v, where, p, &rule->bits_mask, error))
            return FALSE;
        }
      else if (strcmp (key, "signed") == 0)
        {
          if (!parse_tristate (v, where, p, &rule->is_signed, error))
            return FALSE;
        }
      else if (strcmp (key, "mapping") == 0)
        {
          if (!parse_nick_mask (v, QS_TYPE_MAPPING, where, p, &mask, error))
            return FALSE;
          rule->mapping_mask = (guint) mask;
        }
      else if (strcmp (key, "granularity") == 0)
        {
          if (!parse_nick_mask (v, QS_TYPE_GRANULARITY, where, p, &mask, error))
            return FALSE;
          rule->granularity_mask = (guint) mask;
        }
      else if (strcmp (key, "pow2_scale") == 0)
        {
          if (!parse_tristate (v, where, p, &rule->pow2_scale, error))
            return FALSE;
        }
      else if (strcmp (key, "narrow_range") == 0)
        {
          if (!parse_tristate (v, where, p, &rule->narrow_range, error))
            return FALSE;
          if (rule->narrow_range == 0)
            rule->narrow_range = -1;   /* "false": either */
        }
      else if (weights && strcmp (key, "layers") == 0)
        {
          if (!parse_nick_mask (v, QS_TYPE_LAYER_KIND, where, p, &rule->layer_mask, error))
            return FALSE;
        }
      else if (weights && strcmp (key, "activation_bits") == 0)
        {
          if (!parse_bits_mask (v, where, p, &rule->act_bits_mask, error))
            return FALSE;
        }
      else if (weights && strcmp (key, "float_activations") == 0)
        {
          if (!parse_tristate (v, where, p, &rule->float_activations, error))
            return FALSE;
        }
      else if (strcmp (key, "comment") != 0)
        return schema_error (error, where, p, _("unknown field"));
    }
  if (!have_format)
    return schema_error (error, where, path, _("“format” is required"));
  return TRUE;
}

static gboolean
parse_rules (JsonNode   *node,
             gboolean    weights,
             const char *where,
             const char *path,
             GArray     *rules,
             GError    **error)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return schema_error (error, where, path, _("expected an array of formats"));
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *p = g_strdup_printf ("%s[%u]", path, i);
      QsTargetRule rule;

      if (!parse_rule (json_array_get_element (array, i), weights, where, p, &rule, error))
        return FALSE;
      g_array_append_val (rules, rule);
    }
  return TRUE;
}

static gboolean
parse_fixed_output (JsonNode            *node,
                    const char          *where,
                    const char          *path,
                    QsTargetFixedOutput *out,
                    GError             **error)
{
  JsonObject *o;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return schema_error (error, where, path, _("expected an object with scale, zero_point and bits"));
  o = json_node_get_object (node);
  out->scale = json_object_get_double_member_with_default (o, "scale", 0.0);
  out->zero_point = (gint) json_object_get_int_member_with_default (o, "zero_point", 0);
  out->bits = (guint) json_object_get_int_member_with_default (o, "bits", 8);
  if (!(out->scale > 0.0) || !isfinite (out->scale) || out->bits < 2 || out->bits > 16)
    return schema_error (error, where, path, _("needs a positive scale and bits between 2 and 16"));
  return TRUE;
}

static char *
dup_string_member (JsonObject *o,
                   const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}

QsTarget *
qs_target_new_from_json (const char  *data,
                         gssize       length,
                         const char  *where,
                         GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(QsTarget) t = NULL;
  g_autoptr(GList) members = NULL;
  g_autoptr(GError) local = NULL;
  JsonObject *root;

  g_return_val_if_fail (data != NULL, NULL);
  if (where == NULL)
    where = _("target");
  if (length < 0)
    length = (gssize) strlen (data);
  if (length > TARGET_MAX_BYTES)
    {
      g_set_error (error, QS_TARGET_ERROR, QS_TARGET_ERROR_PARSE,
                   _("%s: too large for a target file (over %d bytes)"), where, TARGET_MAX_BYTES);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, length, &local))
    {
      g_set_error (error, QS_TARGET_ERROR, QS_TARGET_ERROR_PARSE, _("%s: not JSON: %s"), where, local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      schema_error (error, where, "$", _("expected an object"));
      return NULL;
    }
  root = json_node_get_object (json_parser_get_root (parser));

  t = g_new0 (QsTarget, 1);
  t->ref_count = 1;
  t->weight_rules = g_array_new (FALSE, TRUE, sizeof (QsTargetRule));
  t->activation_rules = g_array_new (FALSE, TRUE, sizeof (QsTargetRule));
  t->bias_bits = 32;
  members = json_object_get_members (root);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *v = json_object_get_member (root, key);
      g_autofree char *p = g_strdup_printf ("$.%s", key);

      if (strcmp (key, "schema_version") == 0)
        {
          if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_INT64)
            return schema_error (error, where, p, _("expected a number")), NULL;
          if (json_node_get_int (v) > QS_TARGET_SCHEMA_VERSION)
            return schema_error (error, where, p, _("written by a newer Quantscope; update it")), NULL;
        }
      else if (strcmp (key, "name") == 0 || strcmp (key, "title") == 0 || strcmp (key, "description") == 0
               || strcmp (key, "reference") == 0)
        {
          if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
            return schema_error (error, where, p, _("expected a string")), NULL;
        }
      else if (strcmp (key, "weights") == 0)
        {
          if (!parse_rules (v, TRUE, where, p, t->weight_rules, error))
            return NULL;
        }
      else if (strcmp (key, "activations") == 0)
        {
          JsonObject *a;
          JsonNode *formats;

          if (!JSON_NODE_HOLDS_OBJECT (v))
            return schema_error (error, where, p, _("expected an object with “float” and “formats”")), NULL;
          a = json_node_get_object (v);
          t->float_activations = json_object_get_boolean_member_with_default (a, "float", FALSE);
          formats = json_object_get_member (a, "formats");
          if (formats != NULL)
            {
              g_autofree char *fp = g_strdup_printf ("%s.formats", p);

              if (!parse_rules (formats, FALSE, where, fp, t->activation_rules, error))
                return NULL;
            }
        }
      else if (strcmp (key, "requantization") == 0)
        {
          JsonArray *array;

          if (!JSON_NODE_HOLDS_ARRAY (v))
            return schema_error (error, where, p, _("expected an array of requantization modes")), NULL;
          array = json_node_get_array (v);
          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              const char *mode_name = json_array_get_string_element (array, i);
              QsRequantMode mode;

              if (mode_name == NULL || !qs_requant_mode_from_string (mode_name, &mode))
                {
                  g_autofree char *pi = g_strdup_printf ("%s[%u]", p, i);

                  return schema_error (error, where, pi,
                                       _("unknown mode (known: gemmlowp, single-rounding, fp32-rne, cmsis-nn)")), NULL;
                }
              t->requant_mask |= 1u << mode;
            }
        }
      else if (strcmp (key, "bias") == 0)
        {
          if (!JSON_NODE_HOLDS_OBJECT (v))
            return schema_error (error, where, p, _("expected an object")), NULL;
          t->bias_bits = (guint) json_object_get_int_member_with_default (json_node_get_object (v), "bits", 32);
        }
      else if (strcmp (key, "fixed_outputs") == 0)
        {
          JsonObject *f;
          JsonNode *n;

          if (!JSON_NODE_HOLDS_OBJECT (v))
            return schema_error (error, where, p, _("expected an object")), NULL;
          f = json_node_get_object (v);
          if ((n = json_object_get_member (f, "softmax")) != NULL)
            {
              if (!parse_fixed_output (n, where, "$.fixed_outputs.softmax", &t->softmax_output, error))
                return NULL;
              t->has_softmax_output = TRUE;
            }
          if ((n = json_object_get_member (f, "logistic")) != NULL)
            {
              if (!parse_fixed_output (n, where, "$.fixed_outputs.logistic", &t->logistic_output, error))
                return NULL;
              t->has_logistic_output = TRUE;
            }
        }
      else if (strcmp (key, "comment") != 0)
        return schema_error (error, where, p, _("unknown field")), NULL;
    }

  t->name = dup_string_member (root, "name");
  if (t->name == NULL || *t->name == '\0')
    return schema_error (error, where, "$.name", _("a name is required")), NULL;
  t->title = dup_string_member (root, "title");
  if (t->title == NULL)
    t->title = g_strdup (t->name);
  t->description = dup_string_member (root, "description");
  if (t->description == NULL)
    t->description = g_strdup ("");
  t->reference = dup_string_member (root, "reference");
  if (t->weight_rules->len == 0)
    return schema_error (error, where, "$.weights", _("at least one weight format is required")), NULL;
  return g_steal_pointer (&t);
}

QsTarget *
qs_target_load (const char  *name_or_path,
                GError     **error)
{
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize length;
  g_autoptr(GError) local = NULL;
  QsTarget *t;

  g_return_val_if_fail (name_or_path != NULL, NULL);

  if (strchr (name_or_path, '/') != NULL || g_str_has_suffix (name_or_path, ".json"))
    path = g_strdup (name_or_path);
  else
    {
      g_autofree char *rel = NULL;

      if (!g_strv_contains (bundled, name_or_path))
        {
          g_autofree char *known = g_strjoinv (", ", (char **) bundled);

          g_set_error (error, QS_TARGET_ERROR, QS_TARGET_ERROR_NOT_FOUND,
                       _("Unknown target “%s”; known targets: %s (or the path of a target .json file)"),
                       name_or_path, known);
          return NULL;
        }
      rel = g_strdup_printf ("targets/%s.json", name_or_path);
      path = qs_data_find_file (rel, &local);
      if (path == NULL)
        {
          g_set_error_literal (error, QS_TARGET_ERROR, QS_TARGET_ERROR_NOT_FOUND, local->message);
          return NULL;
        }
    }
  if (!g_file_get_contents (path, &data, &length, &local))
    {
      g_set_error (error, QS_TARGET_ERROR, QS_TARGET_ERROR_NOT_FOUND, _("Cannot read target file: %s"),
                   local->message);
      return NULL;
    }
  t = qs_target_new_from_json (data, (gssize) length, path, error);
  if (t != NULL)
    t->path = g_steal_pointer (&path);
  return t;
}

/* --- matching --- */

static gboolean
rule_applies (const QsTargetRule *r,
              gint                layer_kind)
{
  return layer_kind < 0 || r->layer_mask == 0 || (r->layer_mask & (G_GUINT64_CONSTANT (1) << layer_kind)) != 0;
}

typedef enum
{
  STEP_FORMAT,
  STEP_BITS,
  STEP_SIGNED,
  STEP_MAPPING,
  STEP_NARROW,
  STEP_GRANULARITY,
  STEP_POW2,
  N_STEPS
} Step;

static gboolean
rule_step_ok (const QsTargetRule *r,
              Step                step,
              const QsQuantSpec  *spec)
{
  gboolean is_int = spec->format == QS_FORMAT_INT;

  switch (step)
    {
    case STEP_FORMAT:
      return r->format == spec->format;
    case STEP_BITS:
      return !is_int || r->bits_mask == 0 || spec->bits > 31 || (r->bits_mask & (1u << spec->bits)) != 0;
    case STEP_SIGNED:
      return !is_int || r->is_signed < 0 || r->is_signed == (spec->is_signed ? 1 : 0);
    case STEP_MAPPING:
      return !is_int || r->mapping_mask == 0 || (r->mapping_mask & (1u << spec->mapping)) != 0;
    case STEP_NARROW:
      return !is_int || r->narrow_range < 0 || spec->mapping != QS_MAPPING_SYMMETRIC || !spec->is_signed
             || spec->narrow_range;
    case STEP_GRANULARITY:
      return (!is_int && spec->format != QS_FORMAT_BINARY && spec->format != QS_FORMAT_TERNARY)
             || r->granularity_mask == 0 || (r->granularity_mask & (1u << spec->granularity)) != 0;
    case STEP_POW2:
      return !is_int || r->pow2_scale < 0 || r->pow2_scale == (spec->pow2_scale ? 1 : 0);
    case N_STEPS:
    default:
      g_assert_not_reached ();
    }
}

static const char *
granularity_words (QsGranularity g)
{
  switch (g)
    {
    case QS_GRANULARITY_TENSOR:
      return _("per-tensor");
    case QS_GRANULARITY_CHANNEL:
      return _("per-channel");
    case QS_GRANULARITY_GROUP:
    default:
      return _("per-group");
    }
}

static char *
format_name (QsFormat format,
             guint    bits,
             gboolean is_signed)
{
  if (format == QS_FORMAT_INT)
    return g_strdup_printf ("%s%u", is_signed ? "int" : "uint", bits);
  return g_strdup (qs_format_short_name (format));
}

/* "4- or 8-bit" from a mask */
static char *
bits_words (guint32 mask)
{
  GString *s = g_string_new (NULL);
  guint n = (guint) __builtin_popcount (mask), k = 0;

  for (guint b = 1; b < 32; b++)
    if (mask & (1u << b))
      {
        k++;
        if (k == n)
          g_string_append_printf (s, k > 1 ? _(" or %u-bit") : _("%u-bit"), b);
        else
          g_string_append_printf (s, k > 1 ? ", %u-" : "%u-", b);
      }
  return g_string_free (s, FALSE);
}

/* What the remaining rules accept at the failing step, for the message. */
static char *
needs_words (GPtrArray         *rules,
             Step               step)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  guint32 bits = 0;
  guint mapping = 0, granularity = 0;
  gboolean pow2 = FALSE, signed_ = FALSE, unsigned_ = FALSE;

  for (guint i = 0; i < rules->len; i++)
    {
      const QsTargetRule *r = g_ptr_array_index (rules, i);

      bits |= r->bits_mask;
      mapping |= r->mapping_mask;
      granularity |= r->granularity_mask;
      pow2 |= r->pow2_scale == 1;
      signed_ |= r->is_signed != 0;
      unsigned_ |= r->is_signed != 1;
      if (step == STEP_FORMAT)
        {
          g_autofree char *name = NULL;

          if (r->format == QS_FORMAT_INT && r->bits_mask != 0)
            {
              g_autofree char *b = bits_words (r->bits_mask);
              name = g_strdup_printf (r->is_signed == 0 ? _("%s unsigned integer") : _("%s integer"), b);
            }
          else
            name = format_name (r->format, 8, TRUE);
          if (!g_ptr_array_find_with_equal_func (parts, name, g_str_equal, NULL))
            g_ptr_array_add (parts, g_steal_pointer (&name));
        }
    }
  switch (step)
    {
    case STEP_FORMAT:
      {
        GString *s = g_string_new (NULL);

        for (guint i = 0; i < parts->len; i++)
          g_string_append_printf (s, "%s%s", i == 0 ? "" : i + 1 == parts->len ? _(" or ") : ", ",
                                  (char *) g_ptr_array_index (parts, i));
        return g_string_free (s, FALSE);
      }
    case STEP_BITS:
      return bits_words (bits);
    case STEP_SIGNED:
      return g_strdup (signed_ && !unsigned_ ? _("signed") : _("unsigned"));
    case STEP_MAPPING:
      return g_strdup ((mapping & (1u << QS_MAPPING_SYMMETRIC)) ? _("symmetric (zero-point 0)") : _("affine"));
    case STEP_NARROW:
      return g_strdup (_("narrow-range (codes in [-(2^(b-1)-1), 2^(b-1)-1])"));
    case STEP_GRANULARITY:
      {
        GString *s = g_string_new (NULL);
        guint k = 0;

        for (guint g = 0; g < 3; g++)
          if (granularity & (1u << g))
            g_string_append_printf (s, "%s%s", k++ ? _(" or ") : "", granularity_words (g));
        return g_string_free (s, FALSE);
      }
    case STEP_POW2:
    case N_STEPS:
    default:
      return g_strdup (pow2 ? _("power-of-two-scale") : _("arbitrary-scale"));
    }
}

/* What is wrong, in the words of the failing step: "int4", "int8 per-tensor" ... */
static char *
spec_words (const QsQuantSpec *spec,
            Step               step)
{
  g_autofree char *base = format_name (spec->format, spec->bits, spec->is_signed);

  switch (step)
    {
    case STEP_MAPPING:
      return g_strdup_printf ("%s %s", base, spec->mapping == QS_MAPPING_AFFINE ? _("affine") : _("symmetric"));
    case STEP_NARROW:
      return g_strdup_printf (_("%s full-range"), base);
    case STEP_GRANULARITY:
      return g_strdup_printf ("%s %s", base, granularity_words (spec->granularity));
    case STEP_POW2:
      return g_strdup_printf ("%s %s", base, spec->pow2_scale ? _("power-of-two-scale") : _("arbitrary-scale"));
    case STEP_FORMAT:
    case STEP_BITS:
    case STEP_SIGNED:
    case N_STEPS:
    default:
      return g_steal_pointer (&base);
    }
}

/* The rules that accept spec for layer_kind (into matched, nullable); on none, the reason. */
static char *
match_rules (QsTarget          *target,
             GArray            *rules,
             gboolean           weights,
             gint               layer_kind,
             const QsQuantSpec *spec,
             GPtrArray         *matched)
{
  g_autoptr(GPtrArray) left = g_ptr_array_new ();

  for (guint i = 0; i < rules->len; i++)
    if (rule_applies (&g_array_index (rules, QsTargetRule, i), layer_kind))
      g_ptr_array_add (left, &g_array_index (rules, QsTargetRule, i));
  if (left->len == 0)
    {
      g_autofree char *what = format_name (spec->format, spec->bits, spec->is_signed);

      return weights
        ? g_strdup_printf (_("%s weights: %s has no kernel for this layer with quantized weights"), what, target->title)
        : g_strdup_printf (_("%s activations: %s cannot quantize activations"), what, target->title);
    }
  for (Step step = 0; step < N_STEPS; step++)
    {
      g_autoptr(GPtrArray) next = g_ptr_array_new ();

      for (guint i = 0; i < left->len; i++)
        if (rule_step_ok (g_ptr_array_index (left, i), step, spec))
          g_ptr_array_add (next, g_ptr_array_index (left, i));
      if (next->len == 0)
        {
          g_autofree char *what = spec_words (spec, step);
          g_autofree char *needs = needs_words (left, step);

          /* Translators: "int4 activations: TFLite int8 needs 8-bit activations" */
          return weights ? g_strdup_printf (_("%s weights: %s needs %s weights"), what, target->title, needs)
                         : g_strdup_printf (_("%s activations: %s needs %s activations"), what, target->title, needs);
        }
      g_ptr_array_set_size (left, 0);
      g_ptr_array_extend (left, next, NULL, NULL);
    }
  if (matched != NULL)
    g_ptr_array_extend (matched, left, NULL, NULL);
  return NULL;
}

gboolean
qs_target_accepts_weight (QsTarget          *target,
                          gint               layer_kind,
                          const QsQuantSpec *spec,
                          char             **reason)
{
  g_autofree char *why = NULL;

  g_return_val_if_fail (target != NULL && spec != NULL, FALSE);

  why = match_rules (target, target->weight_rules, TRUE, layer_kind, spec, NULL);
  if (why == NULL)
    return TRUE;
  if (reason != NULL)
    *reason = g_steal_pointer (&why);
  return FALSE;
}

gboolean
qs_target_accepts_activation (QsTarget          *target,
                              gint               layer_kind,
                              const QsQuantSpec *spec,
                              char             **reason)
{
  g_autofree char *why = NULL;

  g_return_val_if_fail (target != NULL && spec != NULL, FALSE);

  why = match_rules (target, target->activation_rules, FALSE, layer_kind, spec, NULL);
  if (why == NULL)
    return TRUE;
  if (reason != NULL)
    *reason = g_steal_pointer (&why);
  return FALSE;
}

GStrv
qs_target_filter_formats (QsTarget           *target,
                          const char * const *names)
{
  static const char * const all[] = {
    "int8", "int6", "int4", "int3", "int2", "int8-tensor", "int4-tensor", "fp16", "bf16", "fp8", "fp32", NULL
  };
  g_autoptr(GStrvBuilder) out = g_strv_builder_new ();

  g_return_val_if_fail (target != NULL, NULL);

  if (names == NULL)
    names = all;
  for (guint i = 0; names[i] != NULL; i++)
    {
      QsQuantSpec spec;

      if (!qs_analysis_parse_format (names[i], &spec, NULL))
        continue;
      if (qs_target_accepts_weight (target, -1, &spec, NULL))
        g_strv_builder_add (out, names[i]);
      else if (spec.format == QS_FORMAT_INT && !g_str_has_suffix (names[i], "-pow2"))
        {
          spec.pow2_scale = TRUE;
          if (qs_target_accepts_weight (target, -1, &spec, NULL))
            {
              g_autofree char *pow2 = g_strconcat (names[i], "-pow2", NULL);

              g_strv_builder_add (out, pow2);
            }
        }
    }
  return g_strv_builder_end (out);
}

/* --- check --- */

static void
add_issue (GPtrArray  *issues,
           const char *layer,
           char       *reason)
{
  QsTargetIssue *issue = g_new0 (QsTargetIssue, 1);

  issue->layer = g_strdup (layer);
  issue->reason = reason;
  g_ptr_array_add (issues, issue);
}

static void
check_fixed_output (QsTarget                  *target,
                    QsConfig                  *config,
                    const QsLayer             *layer,
                    const QsTargetFixedOutput *fixed,
                    const char                *what,
                    GPtrArray                 *issues)
{
  float lo, hi;
  gint32 qmin = -(1 << (fixed->bits - 1)), qmax = (1 << (fixed->bits - 1)) - 1;
  double want_lo = fixed->scale * (qmin - fixed->zero_point);
  double want_hi = fixed->scale * (qmax - fixed->zero_point);
  double tol = fixed->scale * 0.5;

  if (!qs_config_get_activation_range (config, layer->name, &lo, &hi))
    return;   /* calibrated: the export uses the fixed parameters */
  if (fabs (lo - want_lo) <= tol && fabs (hi - want_hi) <= tol)
    return;
  /* Translators: "softmax output range [0, 1.5]: TFLite int8 fixes it at scale 0.00390625, zero-point -128" */
  add_issue (issues, layer->name,
             g_strdup_printf (_("%s output range [%g, %g]: %s fixes it at scale %g, zero-point %d"),
                              what, lo, hi, target->title, fixed->scale, fixed->zero_point));
}

GPtrArray *
qs_target_check (QsTarget *target,
                 QsModel  *model,
                 QsConfig *config)
{
  g_autoptr(GPtrArray) issues = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_target_issue_free);
  QsRequantMode mode;

  g_return_val_if_fail (target != NULL, NULL);
  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (QS_IS_CONFIG (config), NULL);

  mode = qs_config_get_requant_mode (config);
  if (target->requant_mask != 0 && (target->requant_mask & (1u << mode)) == 0)
    {
      GString *known = g_string_new (NULL);

      for (guint m = 0; m < QS_REQUANT_N_MODES; m++)
        if (target->requant_mask & (1u << m))
          g_string_append_printf (known, "%s%s", known->len ? ", " : "", qs_requant_mode_to_string (m));
      add_issue (issues, NULL,
                 g_strdup_printf (_("%s requantization: %s rescales as %s"), qs_requant_mode_to_string (mode),
                                  target->title, known->str));
      g_string_free (known, TRUE);
    }

  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *layer = qs_model_get_layer (model, i);
      QsLayerConfig lc;
      g_autoptr(GPtrArray) matched = g_ptr_array_new ();
      char *reason;

      if (layer->activation == QS_ACTIVATION_SOFTMAX && target->has_softmax_output)
        check_fixed_output (target, config, layer, &target->softmax_output, _("softmax"), issues);
      else if (layer->activation == QS_ACTIVATION_SIGMOID && target->has_logistic_output)
        check_fixed_output (target, config, layer, &target->logistic_output, _("logistic"), issues);
      if (qs_layer_get_kernel (layer) == NULL)
        continue;

      qs_config_get_layer (config, layer->name, &lc);
      reason = match_rules (target, target->weight_rules, TRUE, layer->kind, &lc.weight, matched);
      if (reason != NULL)
        add_issue (issues, layer->name, reason);

      if (lc.quantize_activations)
        {
          reason = match_rules (target, target->activation_rules, FALSE, layer->kind, &lc.activation, NULL);
          if (reason != NULL)
            add_issue (issues, layer->name, reason);
        }
      else if (!target->float_activations)
        {
          gboolean hybrid = FALSE;

          for (guint r = 0; r < matched->len; r++)
            hybrid |= ((QsTargetRule *) g_ptr_array_index (matched, r))->float_activations == 1;
          if (!hybrid)
            add_issue (issues, layer->name,
                       g_strdup_printf (_("float activations: %s needs quantized activations"), target->title));
        }

      /* the weight format's own condition on the activations (CMSIS-NN: int4 weights with int8 activations) */
      if (matched->len > 0)
        {
          gboolean ok = FALSE;
          guint32 want = 0;

          for (guint r = 0; r < matched->len; r++)
            {
              const QsTargetRule *rule = g_ptr_array_index (matched, r);
              gboolean float_ok = rule->float_activations >= 0 ? rule->float_activations == 1
                                                                : target->float_activations;

              want |= rule->act_bits_mask;
              if (lc.quantize_activations)
                ok |= rule->act_bits_mask == 0 || (lc.activation.bits < 32
                                                   && (rule->act_bits_mask & (1u << lc.activation.bits)) != 0);
              else
                ok |= float_ok;
            }
          if (!ok && want != 0 && lc.quantize_activations)
            {
              g_autofree char *what = format_name (lc.weight.format, lc.weight.bits, lc.weight.is_signed);
              g_autofree char *needs = bits_words (want);

              /* Translators: "int4 weights: CMSIS-NN runs them only with 8-bit activations" */
              add_issue (issues, layer->name,
                         g_strdup_printf (_("%s weights: %s runs them only with %s activations"), what,
                                          target->title, needs));
            }
        }
    }
  return g_steal_pointer (&issues);
}

guint
qs_target_filter_front (QsTarget *target,
                        QsModel  *model,
                        QsFront  *front)
{
  guint kept = 0, removed;

  g_return_val_if_fail (target != NULL, 0);
  g_return_val_if_fail (QS_IS_MODEL (model), 0);
  g_return_val_if_fail (front != NULL, 0);

  for (guint i = 0; i < front->n_points; i++)
    {
      QsFrontPoint *p = &front->points[i];
      gboolean ok = TRUE;

      for (guint l = 0; ok && l < front->n_layers; l++)
        {
          const QsLayer *layer = qs_model_find_layer (model, front->layers[l]);
          QsQuantSpec spec;

          ok = layer != NULL && qs_analysis_parse_format (p->choice[l], &spec, NULL)
               && qs_target_accepts_weight (target, layer->kind, &spec, NULL);
        }
      if (ok)
        front->points[kept++] = *p;
      else
        g_free (p->choice);
    }
  removed = front->n_points - kept;
  front->n_points = kept;
  return removed;
}
