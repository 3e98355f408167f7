/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include "qs-export.h"
#include "qs-export-private.h"
#include "qs-file.h"
#include <glib/gstdio.h>

G_DEFINE_QUARK (qs-export-error-quark, qs_export_error)

/* One row per format, in menu order. A format's writer lives in qs-export-FORMAT.c. */
static const QsExportFormat formats[] = {
  { "config", N_("Quantscope config"),
    N_("Quantscope's own JSON: the config with its activation ranges, every scale and zero-point; re-imports to identical results"),
    ".json", TRUE, QS_REQUANT_GEMMLOWP, _qs_export_write_config },
  { "aimet", N_("AIMET encodings 1.0.0"),
    N_("Qualcomm AIMET / QAIRT quantization encodings (1.0.0 layout): bit widths, scales and offsets by tensor"),
    ".encodings", TRUE, QS_REQUANT_GEMMLOWP, _qs_export_write_aimet },
  { "aimet-0.6.1", N_("AIMET encodings 0.6.1"),
    N_("The older AIMET encodings layout (0.6.1): one list of min, max, scale and offset per tensor"),
    ".encodings", TRUE, QS_REQUANT_GEMMLOWP, _qs_export_write_aimet_061 },
  { "h5-fake", N_("Fake-quantized .h5"),
    N_("A Keras 2 model whose kernels hold the quantized values as float32, for Keras or any float runtime"),
    ".h5", FALSE, QS_REQUANT_GEMMLOWP, _qs_export_write_h5_fake },
  { "c", N_("C for microcontrollers"),
    N_("C99 source: int8 weights, CMSIS-NN style parameters and a reference forward pass"),
    "", TRUE, QS_REQUANT_CMSIS_NN, _qs_export_c },
#ifdef QS_HAVE_ONNX
  { "onnx", N_("ONNX (QDQ)"),
    N_("ONNX Runtime and other ONNX consumers: QuantizeLinear / DequantizeLinear around each integer layer"),
    ".onnx", TRUE, QS_REQUANT_FP32_RNE, qs_export_onnx },
#endif
#ifdef QS_HAVE_TFLITE_EXPORT
  { "tflite", N_("TensorFlow Lite"),
    N_("An int8 .tflite flatbuffer for LiteRT / TensorFlow Lite (XNNPACK), float32 input and output"),
    ".tflite", TRUE, QS_REQUANT_FP32_RNE, qs_export_tflite },
#endif
  { NULL, NULL, NULL, NULL, FALSE, QS_REQUANT_GEMMLOWP, NULL },
};

/* The built-in rows followed by registered ones, in fixed storage so pointers handed out
 * stay valid when a format is registered later. */
#define QS_EXPORT_MAX_REGISTERED 8
static QsExportFormat all_formats[G_N_ELEMENTS (formats) + QS_EXPORT_MAX_REGISTERED];
static guint n_all_formats;
G_LOCK_DEFINE_STATIC (all_formats);

static void
ensure_formats (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      n_all_formats = G_N_ELEMENTS (formats) - 1;
      memcpy (all_formats, formats, n_all_formats * sizeof formats[0]);
      g_once_init_leave (&done, 1);
    }
}

const QsExportFormat *
qs_export_list_formats (guint *n_formats)
{
  ensure_formats ();
  if (n_formats != NULL)
    *n_formats = n_all_formats;
  return all_formats;
}

const QsExportFormat *
qs_export_find_format (const char *id)
{
  ensure_formats ();
  for (guint i = 0; i < n_all_formats; i++)
    if (g_strcmp0 (all_formats[i].id, id) == 0)
      return &all_formats[i];
  return NULL;
}

gboolean
qs_export_register_format (const QsExportFormat *format)
{
  gboolean ok = FALSE;

  g_return_val_if_fail (format != NULL && format->id != NULL && format->write != NULL, FALSE);

  ensure_formats ();
  G_LOCK (all_formats);
  if (qs_export_find_format (format->id) == NULL
      && n_all_formats < G_N_ELEMENTS (all_formats) - 1)
    {
      all_formats[n_all_formats++] = *format;
      ok = TRUE;
    }
  G_UNLOCK (all_formats);
  return ok;
}

gboolean
qs_export_run (const QsExportFormat   *format,
               const QsExportContext  *ctx,
               const char             *path,
               GString                *summary,
               GError                **error)
{
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (format != NULL && format->write != NULL, FALSE);
  g_return_val_if_fail (ctx != NULL && ctx->model != NULL && ctx->config != NULL
                        && ctx->lowering != NULL, FALSE);
  g_return_val_if_fail (path != NULL && summary != NULL, FALSE);

  if (ctx->model_path != NULL && qs_file_is_same (path, ctx->model_path))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET,
                   _("%s: refusing to export over the loaded model"), path);
      return FALSE;
    }
  if (!qs_file_check_writable (path, &local))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET, "%s", local->message);
      return FALSE;
    }
  if (format->needs_ranges && ctx->ranges == NULL)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("%s: the %s export needs activation ranges (calibrate first)"),
                   path, format->id);
      return FALSE;
    }
  return format->write (ctx, path, summary, error);
}

gboolean
qs_export_write_file (const char  *path,
                      const void  *data,
                      gsize        length,
                      GError     **error)
{
  g_autoptr(GError) local = NULL;

  /* g_file_set_contents_full writes a temporary file beside path, fsyncs it and renames. */
  if (!g_file_set_contents_full (path, data, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_WRITE,
                   _("Could not write %s: %s"), path, local->message);
      return FALSE;
    }
  return TRUE;
}

/* --- shared by the writers --- */

gboolean
_qs_export_value_params (const QsExportContext  *ctx,
                         const QsLoweredValue   *value,
                         float                  *lo,
                         float                  *hi,
                         QsLoweredParams        *out,
                         GError                **error)
{
  g_autoptr(GError) local = NULL;

  g_assert (value->is_int && value->params_from < 0);
  if (ctx->ranges == NULL || !qs_range_table_lookup (ctx->ranges, value->range_name, lo, hi))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("The value “%s” has no activation range (calibrate first)"), value->range_name);
      return FALSE;
    }
  if (!qs_lowered_params_from_range (&value->spec, *lo, *hi, out, &local))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("The value “%s”: %s"), value->range_name, local->message);
      return FALSE;
    }
  return TRUE;
}

guint
_qs_export_grid_bits (const QsLoweredParams *params)
{
  guint bits = 1;

  while (bits < 31 && ((gint64) 1 << bits) < (gint64) params->qmax - params->qmin + 1)
    bits++;
  return bits;
}

const char *
_qs_export_step_layer (const QsExportContext *ctx,
                       const QsLoweredStep   *step)
{
  if (step->layer < 0)
    return "";
  return qs_model_get_layer (ctx->model, step->layer)->name;
}

gboolean
_qs_export_write_json (JsonNode    *root,
                       const char  *path,
                       gsize       *written,
                       GError     **error)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  gsize length;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &length);
  if (written != NULL)
    *written = length + 1;
  text = g_realloc (text, length + 2);
  text[length] = '\n';
  text[length + 1] = '\0';
  return qs_export_write_file (path, text, length + 1, error);
}

/* --- ranges --- */

QsRangeTable *
qs_export_make_ranges (QsLowering          *lowering,
                       QsCalibrationCache  *cache,
                       guint                n_images,
                       QsProgressFunc       progress,
                       gpointer             progress_data,
                       GCancellable        *cancellable,
                       GError             **error)
{
  g_autofree QsLoweredRange *ranges = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  QsConfig *config = qs_lowering_get_config (lowering);
  gboolean need_calib = FALSE;
  guint n;

  g_return_val_if_fail (lowering != NULL, NULL);

  ranges = qs_lowering_list_ranges (lowering, &n);
  for (guint i = 0; i < n; i++)
    need_calib |= !ranges[i].fixed;
  if (need_calib)
    {
      g_assert (config != NULL);
      calib = qs_calibration_cache_get (cache, qs_lowering_get_model (lowering),
                                        qs_config_get_calib_source (config),
                                        n_images > 0 ? n_images : qs_config_get_calib_images (config),
                                        progress, progress_data, cancellable, error);
      if (calib == NULL)
        return NULL;
    }
  return qs_calibration_make_ranges (calib, lowering, error);
}

/* --- imports --- */

JsonParser *
_qs_export_load_json (const char  *path,
                      GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *data = NULL;
  gsize length;
  GStatBuf st;

  /* Regular files only, no larger than a config may be, nested no deeper (json-glib
   * parses recursively): checked before parsing. */
  if (!qs_file_check_regular (path, &local))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID, "%s", local->message);
      return NULL;
    }
  if (g_stat (path, &st) == 0 && (guint64) st.st_size > QS_CONFIG_MAX_BYTES)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                   _("%s: the file is larger than %u MiB"), path, (guint) (QS_CONFIG_MAX_BYTES >> 20));
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &length, &local))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID, "%s", local->message);
      return NULL;
    }
  if (!qs_json_text_depth_ok (data, length, QS_CONFIG_MAX_DEPTH))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                   _("%s: the JSON nests more than %d levels deep"), path, QS_CONFIG_MAX_DEPTH);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, (gssize) length, &local))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                   _("%s: not a JSON file: %s"), path, local->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_INVALID,
                   _("%s: expected a JSON object at the top"), path);
      return NULL;
    }
  return g_steal_pointer (&parser);
}

QsConfig *
qs_export_import (QsModel     *model,
                  const char  *path,
                  QsConfig    *base,
                  GString     *summary,
                  GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  parser = _qs_export_load_json (path, error);
  if (parser == NULL)
    return NULL;
  o = json_node_get_object (json_parser_get_root (parser));
  if ((json_object_has_member (o, "activation_encodings")
                    || json_object_has_member (o, "param_encodings")))
    return qs_export_import_aimet (model, path, base, NULL, summary, error);
  return qs_export_import_config (model, path, summary, error);
}
