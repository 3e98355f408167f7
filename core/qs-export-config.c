/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <glib/gi18n-lib.h>

#include "qs-export-private.h"

/* The "config" export: Quantscope's own versioned JSON.
 *
 *   {
 *     "format": "quantscope-export", "version": 1, "generator": "Quantscope 0.x",
 *     "model": { "name": ..., "sha256": ... },
 *     "requantization": "gemmlowp",
 *     "config": { the config (qs_config_to_json) with every activation range the program
 *                 used fixed in "activation_ranges" },
 *     "values": [ { "name", "bits", "signed", "mapping", "min", "max", "scale",
 *                   "zero_point", "qmin", "qmax" } ],      every integer value with its own
 *                                                           range, in the uint8 container
 *                                                           domain the engine computes in
 *     "weights": [ { "layer", "tensor", "integer", "format", "bits", "granularity",
 *                    "scales": [...], "zero_points": [...] } ]   the stored kernels
 *   }
 *
 * Re-importing (qs_export_import_config) gives the config with the fixed ranges, so the
 * integer engine compiled from it computes the same codes as the one exported from: the
 * ranges are written as the float32 values the engine used (JSON doubles print with 17
 * significant digits and read back exactly). */

#define EXPORT_VERSION 1

static void
add_double (JsonBuilder *b,
            const char  *name,
            double       v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b,
         const char  *name,
         gint64       v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

static const char *
granularity_name (QsGranularity g)
{
  return g == QS_GRANULARITY_TENSOR ? "tensor" : g == QS_GRANULARITY_CHANNEL ? "channel" : "group";
}

gboolean
_qs_export_write_config (const QsExportContext  *ctx,
                         const char             *path,
                         GString                *summary,
                         GError                **error)
{
  g_autoptr(QsConfig) fixed = qs_config_copy (ctx->config);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) config_node = NULL;
  g_autofree QsLoweredRange *ranges = NULL;
  g_autofree char *config_json = NULL;
  guint n_ranges, n_values = 0, n_weights = 0, n_int_weights = 0;
  gsize written;

  /* The ranges the program used, fixed in the config. */
  ranges = qs_lowering_list_ranges (ctx->lowering, &n_ranges);
  for (guint i = 0; i < n_ranges; i++)
    {
      float lo, hi;

      if (!qs_range_table_lookup (ctx->ranges, ranges[i].name, &lo, &hi))
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("The value “%s” has no activation range (calibrate first)"), ranges[i].name);
          return FALSE;
        }
      qs_config_set_activation_range (fixed, ranges[i].name, lo, hi);
    }
  config_json = qs_config_to_json (fixed);
  config_node = json_from_string (config_json, error);
  if (config_node == NULL)
    return FALSE;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "quantscope-export");
  add_int (b, "version", EXPORT_VERSION);
  json_builder_set_member_name (b, "generator");
  json_builder_add_string_value (b, "Quantscope " PACKAGE_VERSION);
  json_builder_set_member_name (b, "model");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, qs_model_get_name (ctx->model));
  if (qs_model_get_checksum (ctx->model) != NULL)
    {
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, qs_model_get_checksum (ctx->model));
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "requantization");
  json_builder_add_string_value (b, qs_requant_mode_to_string (qs_config_get_requant_mode (ctx->config)));
  json_builder_set_member_name (b, "config");
  json_builder_add_value (b, g_steal_pointer (&config_node));

  json_builder_set_member_name (b, "values");
  json_builder_begin_array (b);
  for (guint i = 0; i < qs_lowering_get_n_values (ctx->lowering); i++)
    {
      const QsLoweredValue *v = qs_lowering_get_value (ctx->lowering, i);
      QsLoweredParams p;
      float lo, hi;

      if (!v->is_int || v->params_from >= 0)
        continue;
      if (!_qs_export_value_params (ctx, v, &lo, &hi, &p, error))
        return FALSE;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, v->range_name);
      add_int (b, "bits", v->spec.bits);
      json_builder_set_member_name (b, "signed");
      json_builder_add_boolean_value (b, v->spec.is_signed);
      json_builder_set_member_name (b, "mapping");
      json_builder_add_string_value (b, v->spec.mapping == QS_MAPPING_SYMMETRIC ? "symmetric" : "affine");
      add_double (b, "min", lo);
      add_double (b, "max", hi);
      add_double (b, "scale", p.scale);
      add_int (b, "zero_point", p.zero_point);
      add_int (b, "qmin", p.qmin);
      add_int (b, "qmax", p.qmax);
      json_builder_end_object (b);
      n_values++;
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "weights");
  json_builder_begin_array (b);
  for (guint i = 0; i < qs_lowering_get_n_steps (ctx->lowering); i++)
    {
      const QsLoweredStep *st = qs_lowering_get_step (ctx->lowering, i);
      g_autoptr(QsQuantResult) r = NULL;
      g_autofree char *label = NULL;
      QsQuantParams *p;

      if (st->kind != QS_LOWERED_CONV && st->kind != QS_LOWERED_DEPTHWISE)
        continue;
      r = qs_lowering_get_step_weights (ctx->lowering, i, error);
      if (r == NULL && error != NULL && *error != NULL)
        return FALSE;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "layer");
      json_builder_add_string_value (b, _qs_export_step_layer (ctx, st));
      json_builder_set_member_name (b, "tensor");
      json_builder_add_string_value (b, st->kernel != NULL && st->kernel->name != NULL ? st->kernel->name : "");
      json_builder_set_member_name (b, "integer");
      json_builder_add_boolean_value (b, st->is_int);
      label = qs_quant_spec_to_label (&st->weight_spec);
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, r != NULL ? label : "fp32");
      n_weights++;
      n_int_weights += st->is_int;
      p = r != NULL ? r->params : NULL;
      if (p != NULL && p->spec.format == QS_FORMAT_INT)
        {
          add_int (b, "bits", p->spec.bits);
          json_builder_set_member_name (b, "granularity");
          json_builder_add_string_value (b, granularity_name (p->spec.granularity));
          if (p->spec.granularity == QS_GRANULARITY_GROUP)
            add_int (b, "group_size", p->spec.group_size);
          add_int (b, "qmin", p->qmin);
          add_int (b, "qmax", p->qmax);
          json_builder_set_member_name (b, "scales");
          json_builder_begin_array (b);
          for (gsize k = 0; k < p->n_params; k++)
            json_builder_add_double_value (b, p->scale[k]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "zero_points");
          json_builder_begin_array (b);
          for (gsize k = 0; k < p->n_params; k++)
            json_builder_add_int_value (b, p->zero_point[k]);
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  if (!_qs_export_write_json (root, path, &written, error))
    return FALSE;
  {
    g_autofree char *size = g_format_size (written);

    g_string_append_printf (summary, _("Wrote %s: the config, %u activation ranges fixed in it, %u integer values with scale and zero-point, %u kernels (%u integer) with their scales\n"),
                            size, n_ranges, n_values, n_weights, n_int_weights);
    g_string_append_printf (summary, _("Requantization: %s\n"),
                            qs_requant_mode_to_string (qs_config_get_requant_mode (ctx->config)));
    g_string_append (summary, _("Read it back with quantscope-cli export --config FILE, quantscope-cli import MODEL FILE -o CONFIG.json (the plain config) or the app's Import Config\n"));
  }
  return TRUE;
}

QsConfig *
qs_export_import_config (QsModel     *model,
                         const char  *path,
                         GString     *summary,
                         GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *text = NULL;
  JsonObject *root;
  JsonNode *config_node;
  QsConfig *config;

  g_return_val_if_fail (path != NULL, NULL);

  parser = _qs_export_load_json (path, error);
  if (parser == NULL)
    return NULL;
  root = json_node_get_object (json_parser_get_root (parser));
  config_node = json_parser_get_root (parser);
  if (json_object_has_member (root, "format"))
    {
      const char *format = json_object_get_string_member_with_default (root, "format", "");
      gint64 version = json_object_get_int_member_with_default (root, "version", 0);
      JsonObject *m;

      if (g_strcmp0 (format, "quantscope-export") != 0)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                       _("%s: $.format is “%s”, not “quantscope-export”"), path, format);
          return NULL;
        }
      if (version < 1 || version > EXPORT_VERSION)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                       _("%s: $.version %" PRId64 " is not one this Quantscope reads (1 to %d)"),
                       path, version, EXPORT_VERSION);
          return NULL;
        }
      config_node = json_object_get_member (root, "config");
      if (config_node == NULL || !JSON_NODE_HOLDS_OBJECT (config_node))
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                       _("%s: $.config is missing or not an object"), path);
          return NULL;
        }
      m = json_object_get_object_member (root, "model");
      if (model != NULL && summary != NULL && m != NULL && qs_model_get_checksum (model) != NULL
          && json_object_has_member (m, "sha256")
          && g_strcmp0 (json_object_get_string_member (m, "sha256"), qs_model_get_checksum (model)) != 0)
        g_string_append_printf (summary, _("Note: %s was exported from another model file (%s); its ranges were measured on that one\n"),
                                path, json_object_get_string_member_with_default (m, "name", "?"));
    }
  json_generator_set_root (gen, config_node);
  text = json_generator_to_data (gen, NULL);
  config = qs_config_new_from_json (text, -1, &local);
  if (config == NULL)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID, "%s: %s%s", path,
                   config_node != json_parser_get_root (parser) ? "$.config: " : "", local->message);
      return NULL;
    }
  if (summary != NULL)
    g_string_append_printf (summary, _("Imported the config of %s (%u fixed activation ranges, requantization %s)\n"),
                            path, qs_config_get_n_activation_ranges (config),
                            qs_requant_mode_to_string (qs_config_get_requant_mode (config)));
  return config;
}
