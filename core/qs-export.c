/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "qs-export.h"
#include "qs-export-private.h"
#include "qs-file.h"

G_DEFINE_QUARK (qs-export-error-quark, qs_export_error)

/* One row per format, in menu order. A format's writer lives in qs-export-FORMAT.c. */
static const QsExportFormat formats[] = {
#ifdef QS_HAVE_TFLITE_EXPORT
  { "tflite", N_("TensorFlow Lite"),
    N_("An int8 .tflite flatbuffer for LiteRT / TensorFlow Lite (XNNPACK), float32 input and output"),
    ".tflite", TRUE, QS_REQUANT_FP32_RNE, qs_export_tflite },
#endif
  { NULL, NULL, NULL, NULL, FALSE, QS_REQUANT_GEMMLOWP, NULL },
};

const QsExportFormat *
qs_export_list_formats (guint *n_formats)
{
  if (n_formats != NULL)
    *n_formats = G_N_ELEMENTS (formats) - 1;
  return formats;
}

const QsExportFormat *
qs_export_find_format (const char *id)
{
  for (guint i = 0; formats[i].id != NULL; i++)
    if (g_strcmp0 (formats[i].id, id) == 0)
      return &formats[i];
  return NULL;
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
