/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "qs-export-private.h"

/* The "h5-fake" export: a Keras 2 full-model .h5 with the model's own layer structure
 * (BatchNormalization kept, not folded: Keras and any float runtime rebuild the same
 * graph), every kernel replaced by its fake-quantized float32 values, qs_quant_run () with
 * the layer's resolved weight spec (qs_config_resolve_weight_spec), exactly what
 * `quantscope-cli quantize -o` and the float side of the weight-only comparison use.
 * Biases and BatchNorm parameters stay float32. Activations are not quantized in the
 * file: it is the weight-only-quantized model; its float engine output matches the float
 * engine on the same weights bit for bit. Written with the project's Keras writer
 * (qs_model_save), atomically. */

gboolean
_qs_export_write_h5_fake (const QsExportContext  *ctx,
                          const char             *path,
                          GString                *summary,
                          GError                **error)
{
  g_autoptr(GHashTable) replaced = NULL;
  g_autoptr(GError) local = NULL;
  guint n_quantized = 0, n_kept = 0;
  GStatBuf st;

  replaced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) qs_tensor_unref);
  for (guint i = 0; i < qs_model_get_n_layers (ctx->model); i++)
    {
      const QsLayer *l = qs_model_get_layer (ctx->model, i);
      QsLayerConfig lc;

      if (!qs_layer_has_weights (l))
        continue;
      qs_config_get_layer (ctx->config, l->name, &lc);
      for (guint w = 0; w < l->weights->len; w++)
        {
          QsTensor *t = g_ptr_array_index (l->weights, w);
          QsQuantOptions opt = { .want_dequant = TRUE };
          g_autoptr(QsQuantResult) r = NULL;
          QsQuantSpec spec;

          if (t->layout != QS_TENSOR_LAYOUT_DENSE && t->layout != QS_TENSOR_LAYOUT_CONV2D
              && t->layout != QS_TENSOR_LAYOUT_DEPTHWISE)
            continue;
          qs_config_resolve_weight_spec (&lc.weight, t, &spec);
          if (spec.format == QS_FORMAT_FP32)
            {
              n_kept++;
              continue;
            }
          r = qs_quant_run (t, &spec, &opt, NULL, &local);
          if (r == NULL)
            {
              g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                           _("Layer “%s”, weight “%s”: %s"), l->name, t->name, local->message);
              return FALSE;
            }
          g_hash_table_insert (replaced, g_strdup (t->name), qs_tensor_ref (r->dequant));
          n_quantized++;
        }
    }
  if (!qs_model_save (ctx->model, path, replaced, &local))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_WRITE, "%s", local->message);
      return FALSE;
    }
  if (g_stat (path, &st) == 0)
    {
      g_autofree char *size = g_format_size (st.st_size);

      g_string_append_printf (summary, _("Wrote %s: a Keras 2 model, %u kernels fake-quantized, %u kept in float32\n"),
                              size, n_quantized, n_kept);
    }
  g_string_append (summary, _("Weights only: BatchNorm is kept as layers (not folded) and activations stay float; requantization does not apply\n"));
  return TRUE;
}
