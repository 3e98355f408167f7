/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <string.h>

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

static void
wait_for_eval (QsDocument *doc)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (qs_document_get_quick_eval (doc) == NULL && qs_document_get_quick_eval_error (doc) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  wait_idle (doc);
}

static void
write_be32 (GByteArray *out,
            guint32     v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (out, b, 4);
}

/* The first n sample images with every label moved to the next class: a data set the model
 * was not made for, on which it gets almost nothing right. */
static QsDataset *
open_mislabelled (const char *dir,
                  guint       n)
{
  g_autoptr(QsDataset) sample = qs_dataset_open ("sample", NULL);
  g_autoptr(GByteArray) images = g_byte_array_new ();
  g_autoptr(GByteArray) labels = g_byte_array_new ();
  g_autofree char *images_path = g_build_filename (dir, "shifted-images-idx3-ubyte", NULL);
  g_autofree char *labels_path = g_build_filename (dir, "shifted-labels-idx1-ubyte", NULL);
  g_autoptr(GError) error = NULL;
  QsDataset *dataset;

  g_assert_nonnull (sample);
  write_be32 (images, 0x803);
  write_be32 (images, n);
  write_be32 (images, 28);
  write_be32 (images, 28);
  write_be32 (labels, 0x801);
  write_be32 (labels, n);
  for (guint i = 0; i < n; i++)
    {
      guint8 label = (qs_dataset_get_label (sample, i) + 1) % 10;

      g_byte_array_append (images, qs_dataset_get_pixels (sample, i), 28 * 28);
      g_byte_array_append (labels, &label, 1);
    }
  g_assert_true (g_file_set_contents (images_path, (char *) images->data, images->len, NULL));
  g_assert_true (g_file_set_contents (labels_path, (char *) labels->data, labels->len, NULL));
  dataset = qs_dataset_open (images_path, &error);
  g_assert_no_error (error);
  return dataset;
}

static void
has_class (GtkLabel   *label,
           const char *css_class,
           gboolean    expected)
{
  g_assert_cmpint (gtk_widget_has_css_class (GTK_WIDGET (label), css_class), ==, expected);
}

/* On its own data the accuracy looks like a result and names the data set in words; on data
 * the model was not made for (accuracy near chance) it warns instead of looking like one. */
static void
test_summary_bar_near_chance (void)
{
  g_autoptr(QsDataset) sample = qs_dataset_open ("sample", NULL);
  g_autoptr(QsDataset) shifted = open_mislabelled (g_getenv ("XDG_CACHE_HOME"), 200);
  GtkWidget *bar = g_object_ref_sink (qs_summary_bar_new ());
  GtkLabel *caption, *value, *detail;

  g_assert_true (_qs_summary_bar_is_near_chance (0.137, 10));
  g_assert_false (_qs_summary_bar_is_near_chance (0.25, 10));
  g_assert_false (_qs_summary_bar_is_near_chance (0.60, 2));
  g_assert_true (_qs_summary_bar_is_near_chance (0.55, 2));
  g_assert_false (_qs_summary_bar_is_near_chance (0.0, 0));
  _qs_summary_bar_get_accuracy_labels (QS_SUMMARY_BAR (bar), &caption, &value, &detail);

  {
    g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, sample);

    qs_document_set_autosave_delay (doc, 0);
    qs_document_set_quick_subset (doc, 200);
    qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), doc);
    qs_document_refresh (doc);
    wait_for_eval (doc);
    g_assert_cmpfloat (qs_document_get_quick_eval (doc)->float_top1, >, 0.5);
    g_test_message ("%s | %s | %s", gtk_label_get_text (caption), gtk_label_get_text (value), gtk_label_get_text (detail));
    g_assert_cmpstr (gtk_label_get_text (caption), ==, "Accuracy · Fashion-MNIST test set, 200 images");
    g_assert_null (strstr (gtk_label_get_text (detail), "near chance"));
    has_class (value, "warning", FALSE);
    has_class (detail, "warning", FALSE);
    qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), NULL);
  }
  {
    g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, shifted);

    qs_document_set_autosave_delay (doc, 0);
    qs_document_set_quick_subset (doc, 200);
    qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), doc);
    qs_document_refresh (doc);
    wait_for_eval (doc);
    g_test_message ("%s | %s | %s", gtk_label_get_text (caption), gtk_label_get_text (value), gtk_label_get_text (detail));
    g_assert_cmpfloat (qs_document_get_quick_eval (doc)->float_top1, <, 0.2);
    g_assert_cmpstr (gtk_label_get_text (detail), ==, "near chance: is this the right dataset?");
    g_assert_nonnull (strstr (gtk_label_get_text (caption), "shifted-images-idx3-ubyte, 200 images"));
    has_class (value, "warning", TRUE);
    has_class (detail, "warning", TRUE);
    has_class (detail, "dim-label", FALSE);
    qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), NULL);
  }
  g_object_unref (bar);
}

/* Without labels the tile measures agreement with the float model (it showed
 * "nan% → nan%" on a user's unlabelled images). */
static void
test_summary_bar_unlabelled (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) unlabelled = qs_dataset_open_full ("sample", "none", NULL, &error);
  GtkWidget *bar = g_object_ref_sink (qs_summary_bar_new ());
  g_autoptr(QsDocument) doc = NULL;
  GtkLabel *caption, *value, *detail;
  g_autofree char *expect = NULL;
  const QsEvalResult *eval;

  g_assert_no_error (error);
  _qs_summary_bar_get_accuracy_labels (QS_SUMMARY_BAR (bar), &caption, &value, &detail);
  doc = qs_document_new (sample_model, NULL, unlabelled);
  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_quick_subset (doc, 200);
  qs_document_apply_preset (doc, "w4a4", NULL, NULL);
  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), doc);
  qs_document_refresh (doc);
  wait_for_eval (doc);
  eval = qs_document_get_quick_eval (doc);
  g_assert_false (eval->labelled);
  g_test_message ("%s | %s | %s", gtk_label_get_text (caption), gtk_label_get_text (value), gtk_label_get_text (detail));
  g_assert_null (strstr (gtk_label_get_text (value), "nan"));
  g_assert_null (strstr (gtk_label_get_text (detail), "nan"));
  expect = g_strdup_printf ("%.1f%% agree", 100 * eval->agreement);
  g_assert_cmpstr (gtk_label_get_text (value), ==, expect);
  g_assert_true (g_str_has_prefix (gtk_label_get_text (caption), "Agreement · "));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (detail), "95% interval "));
  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), NULL);
  g_object_unref (bar);
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-summary-bar-XXXXXX", NULL);
  int ret;

  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_setenv ("LANGUAGE", "C", TRUE);
  test_gui_init_or_skip (&argc, &argv);

  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/summary-bar/updates-once", test_summary_bar_updates_once);
  g_test_add_func ("/qs/summary-bar/near-chance", test_summary_bar_near_chance);
  g_test_add_func ("/qs/summary-bar/unlabelled-agreement", test_summary_bar_unlabelled);

  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
