/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>

#include "qs-summary-bar-private.h"
#include "test-sample.h"

static QsModel *sample_model;

static void
flush_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
wait_idle (QsDocument *doc)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (qs_document_get_busy (doc))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  flush_main_context ();
}

static void
set_activation_bits (QsDocument *doc,
                     const char *layer,
                     guint       bits)
{
  const char *layers[] = { layer, NULL };
  QsLayerConfig lc;

  qs_config_get_layer (qs_document_get_config (doc), layer, &lc);
  /* 0 bits: the layer's activations stay float */
  lc.quantize_activations = bits > 0;
  lc.activation.format = QS_FORMAT_INT;
  lc.activation.bits = bits > 0 ? bits : lc.activation.bits;
  qs_document_set_layer_config (doc, layers, &lc, "Activation Bits", NULL);
}

/* The totals are recomputed once per change, not once for "config-changed" and again for
 * "summary-changed"; a burst of changes in one main-loop turn is one update. Keeping a
 * layer's activations float changes the peak memory (its group runs in float32) but no
 * weight statistics, so nothing else arrives. */
static void
test_summary_bar_updates_once (void)
{
  g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, NULL);
  GtkWidget *bar = g_object_ref_sink (qs_summary_bar_new ());
  QsSummary before, after;
  guint n;

  qs_document_set_autosave_delay (doc, 0);
  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), doc);
  qs_document_refresh (doc);
  wait_idle (doc);
  qs_document_get_summary (doc, &before);

  n = _qs_summary_bar_get_n_updates (QS_SUMMARY_BAR (bar));
  set_activation_bits (doc, "conv1", 0);
  g_assert_false (qs_document_get_busy (doc));
  flush_main_context ();
  g_assert_cmpuint (_qs_summary_bar_get_n_updates (QS_SUMMARY_BAR (bar)), ==, n + 1);
  qs_document_get_summary (doc, &after);
  g_assert_cmpuint (after.peak_activation_bytes, >, before.peak_activation_bytes);

  n = _qs_summary_bar_get_n_updates (QS_SUMMARY_BAR (bar));
  set_activation_bits (doc, "conv1", 6);
  g_assert_true (qs_document_undo (doc));
  g_assert_true (qs_document_undo (doc));
  flush_main_context ();
  g_assert_cmpuint (_qs_summary_bar_get_n_updates (QS_SUMMARY_BAR (bar)), ==, n + 1);

  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), NULL);
  g_object_unref (bar);
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-summary-bar-XXXXXX", NULL);
  int ret;

  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      /* TAP: an empty plan with a reason is a skip */
      g_print ("1..0 # SKIP no display\n");
      return 0;
    }
  adw_init ();

  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/summary-bar/updates-once", test_summary_bar_updates_once);

  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
