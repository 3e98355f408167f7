/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "qs-summary-bar-private.h"
#include "test-sample.h"

/* The progressive quick accuracy (issue 16) as the summary bar shows it. */

static QsModel *sample_model;

typedef struct
{
  GtkLabel  *caption;
  GtkLabel  *value;
  GPtrArray *captions;   /* the caption at each chunk */
  GPtrArray *values;
} Seen;

static void
on_progress (Seen *seen)
{
  g_ptr_array_add (seen->captions, g_strdup (gtk_label_get_text (seen->caption)));
  g_ptr_array_add (seen->values, g_strdup (gtk_label_get_text (seen->value)));
}

/* The first chunk's answer shows "n of 1,000 images" with n below 1,000 and an estimate
 * ("≈"); the final one "1,000 images" and exactly the core's one-shot accuracy. */
static void
test_live_accuracy_refines (void)
{
  g_autoptr(QsDataset) sample = qs_dataset_open ("sample", NULL);
  g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, sample);
  g_autoptr(QsEvalResult) core = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *partial_prefix = NULL, *final_caption = NULL, *final_value = NULL;
  g_autofree char *total = g_strdup_printf ("%'u", 1000);
  GtkWidget *bar = g_object_ref_sink (qs_summary_bar_new ());
  GtkLabel *detail;
  Seen seen = { NULL, NULL, g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free) };
  const QsEvalPartial *p;
  QsEvalResult *eval;

  _qs_summary_bar_get_accuracy_labels (QS_SUMMARY_BAR (bar), &seen.caption, &seen.value, &detail);
  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_quick_subset (doc, 1000);
  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), doc);
  /* after the bar's own handler: the labels as the chunk left them */
  g_signal_connect_swapped (doc, "quick-eval-progress", G_CALLBACK (on_progress), &seen);
  qs_document_refresh (doc);
  while (qs_document_get_quick_eval (doc) == NULL && qs_document_get_quick_eval_error (doc) == NULL)
    g_main_context_iteration (NULL, TRUE);
  while (qs_document_get_evaluating (doc))
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (qs_document_get_quick_eval_error (doc));
  g_assert_null (qs_document_get_quick_eval_partial (doc));

  /* at least one chunk came before the final answer, each over fewer images */
  g_assert_cmpuint (seen.captions->len, >=, 1);
  partial_prefix = g_strdup ("Accuracy · ");
  for (guint i = 0; i < seen.captions->len; i++)
    {
      const char *c = g_ptr_array_index (seen.captions, i);
      const char *of = strstr (c, " of ");
      guint64 n;

      g_test_message ("chunk %u: %s | %s", i, c, (const char *) g_ptr_array_index (seen.values, i));
      g_assert_true (g_str_has_prefix (c, partial_prefix));
      g_assert_nonnull (of);
      n = g_ascii_strtoull (c + strlen (partial_prefix), NULL, 10);
      g_assert_cmpuint (n, >, 0);
      g_assert_cmpuint (n, <, 1000);
      g_assert_true (g_str_has_suffix (c, " images"));
      g_assert_nonnull (strstr (of, total));
      g_assert_true (g_str_has_prefix (g_ptr_array_index (seen.values, i), "≈ "));
    }

  /* the final answer: all images, the core's numbers */
  {
    QsEvalOptions opts = { .limit = 1000 };

    core = qs_eval_run (sample_model, qs_document_get_config (doc), sample, &opts, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  eval = qs_document_get_quick_eval (doc);
  g_assert_cmpuint (eval->n_images, ==, 1000);
  g_assert_cmpfloat (eval->float_top1, ==, core->float_top1);
  g_assert_cmpfloat (eval->quant_top1, ==, core->quant_top1);
  final_caption = g_strdup_printf ("Accuracy · Fashion-MNIST test set, %s images", total);
  final_value = g_strdup_printf ("%.1f%% → %.1f%%", 100 * core->float_top1, 100 * core->quant_top1);
  g_test_message ("final: %s | %s | %s", gtk_label_get_text (seen.caption),
                  gtk_label_get_text (seen.value), gtk_label_get_text (detail));
  g_assert_cmpstr (gtk_label_get_text (seen.caption), ==, final_caption);
  g_assert_cmpstr (gtk_label_get_text (seen.value), ==, final_value);
  /* the change and the half-width of its interval */
  g_assert_nonnull (strstr (gtk_label_get_text (detail), "±"));

  /* a chunk that arrives for an evaluation already answered is never shown */
  p = qs_document_get_quick_eval_partial (doc);
  g_assert_null (p);

  qs_summary_bar_set_document (QS_SUMMARY_BAR (bar), NULL);
  g_signal_handlers_disconnect_by_data (doc, &seen);
  g_ptr_array_unref (seen.captions);
  g_ptr_array_unref (seen.values);
  g_object_unref (bar);
}

typedef struct
{
  QsDocument *doc;
  GPtrArray  *partials;   /* QsEvalPartial copies shown after the change */
  gboolean    changed;
} Change;

static void
on_progress_change (Change *c)
{
  const QsEvalPartial *p = qs_document_get_quick_eval_partial (c->doc);

  if (!c->changed)
    {
      /* the first chunk of the w8a8 run: change the config while it refines */
      c->changed = TRUE;
      g_assert_true (qs_document_apply_preset (c->doc, "w4a4", NULL, NULL));
      /* the old run's chunk is no longer shown */
      g_assert_null (qs_document_get_quick_eval_partial (c->doc));
      return;
    }
  if (p != NULL)
    g_ptr_array_add (c->partials, g_memdup2 (p, sizeof *p));
}

/* A config change while the accuracy refines: every chunk shown afterwards is the new
 * config's (its counts are the core's on its first n images), and so is the final result. */
static void
test_live_accuracy_change_while_refining (void)
{
  g_autoptr(QsDataset) sample = qs_dataset_open ("sample", NULL);
  g_autoptr(QsDocument) doc = qs_document_new (sample_model, NULL, sample);
  g_autoptr(QsEvalResult) core = NULL;
  g_autoptr(GError) error = NULL;
  Change c = { doc, g_ptr_array_new_with_free_func (g_free), FALSE };
  QsEvalResult *eval;

  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_quick_subset (doc, 1000);
  g_signal_connect_swapped (doc, "quick-eval-progress", G_CALLBACK (on_progress_change), &c);
  qs_document_refresh (doc);
  while (!c.changed)
    g_main_context_iteration (NULL, TRUE);
  while (qs_document_get_quick_eval (doc) == NULL || qs_document_get_evaluating (doc))
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_signal_handlers_disconnect_by_data (doc, &c);

  for (guint i = 0; i < c.partials->len; i++)
    {
      const QsEvalPartial *p = g_ptr_array_index (c.partials, i);
      g_autoptr(QsEvalResult) prefix = NULL;
      QsEvalOptions po = { .limit = p->n_images };

      prefix = qs_eval_run (sample_model, qs_document_get_config (doc), sample, &po, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_test_message ("after the change: %u images, %.4f", p->n_images, p->quant_top1);
      g_assert_cmpuint (p->quant_correct, ==, prefix->summary.quant_correct);
      g_assert_cmpuint (p->agree, ==, prefix->summary.agree);
    }
  {
    QsEvalOptions opts = { .limit = 1000 };

    core = qs_eval_run (sample_model, qs_document_get_config (doc), sample, &opts, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  eval = qs_document_get_quick_eval (doc);
  g_assert_cmpfloat (eval->quant_top1, ==, core->quant_top1);
  g_assert_cmpuint (eval->summary.agree, ==, core->summary.agree);
  g_ptr_array_unref (c.partials);
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-live-accuracy-XXXXXX", NULL);
  int ret;

  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_setenv ("LANGUAGE", "C", TRUE);
  test_gui_init_or_skip (&argc, &argv);
  sample_model = test_load_sample_model_or_skip ();
  g_test_add_func ("/qs/live-accuracy/refines-to-core", test_live_accuracy_refines);
  g_test_add_func ("/qs/live-accuracy/change-while-refining", test_live_accuracy_change_while_refining);
  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
