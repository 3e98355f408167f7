/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <adwaita.h>
#include <glib/gi18n.h>

#include "qs-gui-utils.h"
#include "qs-lowering.h"
#include "qs-reflow-box.h"
#include "qs-summary-bar-private.h"
#include "qs-target-ui.h"
#include "qs-scatter-chart-view.h"
#include "qs-tradeoff-history.h"

typedef struct
{
  GtkWidget *box;
  GtkWidget *caption;
  GtkWidget *value;
  GtkWidget *detail;
} Tile;

struct _QsSummaryBar
{
  GtkWidget   parent_instance;

  QsDocument *document;
  Tile        size;
  Tile        memory;
  Tile        sqnr;
  Tile        accuracy;
  GtkWidget  *tiles;         /* four tiles in a row, two by two when narrow */
  GtkWidget  *pairs[2];
  GtkWidget  *eval_spinner;
  GtkWidget  *dataset_button; /* in the accuracy tile when there is no fitting dataset */
  GtkWidget  *qat_button;     /* in the accuracy tile when quantization costs accuracy */
  /* invisible labels under the accuracy's caption and detail holding the final text (or a
   * template): the tile asks for the same width while the accuracy refines */
  GtkWidget  *caption_sizer;
  GtkWidget  *detail_sizer;
  Tile        target;        /* deployment target: chooser and how many layers it cannot run */
  GtkWidget  *target_dropdown;
  GPtrArray  *target_choices; /* QsTarget* per dropdown item after "Any target"; [0] NULL */
  gboolean    target_updating;
  GtkWidget  *history_button; /* next to the accuracy: the trade-off history popover */
  GtkWidget  *history_chart;
  QsTradeoffHistory *history;
  GtkFileChooserNative *history_chooser;
  guint       update_id;    /* idle: a burst of "summary-changed" becomes one update */
  guint       n_updates;    /* for the tests */
};

G_DEFINE_FINAL_TYPE (QsSummaryBar, qs_summary_bar, GTK_TYPE_WIDGET)

static void
tile_init (QsSummaryBar *self,
           GtkWidget    *pair,
           Tile         *tile,
           const char   *caption,
           const char   *tooltip)
{
  GtkWidget *label = gtk_label_new (caption);

  tile->caption = label;
  tile->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  tile->value = gtk_label_new ("—");
  tile->detail = gtk_label_new (NULL);
  gtk_widget_add_css_class (tile->box, "summary-tile");
  gtk_widget_set_hexpand (tile->box, TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (label, "caption-heading");
  gtk_widget_add_css_class (label, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (tile->value), 0);
  gtk_label_set_selectable (GTK_LABEL (tile->value), FALSE);
  gtk_widget_add_css_class (tile->value, "summary-value");
  gtk_widget_add_css_class (tile->value, "numeric");
  gtk_label_set_xalign (GTK_LABEL (tile->detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (tile->detail), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (tile->detail), 28);
  gtk_label_set_width_chars (GTK_LABEL (tile->detail), 18);
  gtk_widget_add_css_class (tile->detail, "caption");
  gtk_widget_add_css_class (tile->detail, "dim-label");
  gtk_box_append (GTK_BOX (tile->box), label);
  gtk_box_append (GTK_BOX (tile->box), tile->value);
  gtk_box_append (GTK_BOX (tile->box), tile->detail);
  gtk_widget_set_tooltip_text (tile->box, tooltip);
  gtk_box_append (GTK_BOX (pair), tile->box);
  gtk_accessible_update_property (GTK_ACCESSIBLE (tile->value), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, caption, -1);
}

static void
tile_set (Tile       *tile,
          const char *value,
          const char *detail)
{
  gtk_label_set_text (GTK_LABEL (tile->value), value);
  gtk_label_set_text (GTK_LABEL (tile->detail), detail ? detail : "");
}

static void
update_summary (QsSummaryBar *self)
{
  QsSummary summary;
  g_autofree char *fsize = NULL, *qsize = NULL, *value = NULL, *detail = NULL;
  g_autofree char *peak = NULL, *peak_float = NULL;

  if (self->document == NULL)
    return;

  self->n_updates++;
  qs_document_get_summary (self->document, &summary);

  fsize = g_format_size (summary.float_bytes);
  qsize = g_format_size (summary.quant_bytes);
  value = g_strdup_printf ("%s → %s", fsize, qsize);
  /* Translators: compression ratio of the weights, "3.9× smaller" */
  detail = g_strdup_printf (_("%.1f× smaller"), summary.ratio);
  tile_set (&self->size, value, detail);
  g_clear_pointer (&value, g_free);
  g_clear_pointer (&detail, g_free);

  if (summary.has_program)
    {
      g_autofree char *tip = NULL;
      g_autofree char *macs = qs_format_count (summary.macs);
      g_autofree char *bitops = qs_format_count (summary.bit_ops);
      g_autofree char *energy = qs_format_energy (summary.energy_pj);
      g_autofree char *e_compute = qs_format_energy (summary.energy_compute_pj);
      g_autofree char *e_weights = qs_format_energy (summary.energy_weights_pj);
      g_autofree char *e_acts = qs_format_energy (summary.energy_activations_pj);

      peak = g_format_size (summary.peak_activation_bytes);
      peak_float = g_format_size (summary.peak_activation_float_bytes);
      /* Translators: peak activation memory in float32 and the energy estimate per
       * inference, "float 880 kB · 1.2 µJ per image" */
      detail = g_strdup_printf (_("float %s · %s per image"), peak_float, energy);
      tile_set (&self->memory, peak, detail);
      /* Translators: operations per image; %s are counts such as "7.0 M" */
      tip = g_strdup_printf (_("The most activation memory alive at once while the program runs (one byte per integer code, four per float).\n%s multiply-accumulates and %s bit-operations (MACs × weight bits × activation bits) per image.\n"
                               "Energy estimate per image: %s (compute %s, weights read from DRAM %s, activations through SRAM %s), "
                               "with per-operation energies from %s."),
                             macs, bitops, energy, e_compute, e_weights, e_acts, QS_ENERGY_SOURCE);
      gtk_widget_set_tooltip_text (self->memory.box, tip);
    }
  else
    tile_set (&self->memory, "—", _("needs the architecture"));
  g_clear_pointer (&detail, g_free);

  value = qs_format_sqnr (summary.weighted_sqnr_db);
  if (summary.n_layers_failed > 0)
    detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u layer failed", "%u layers failed",
                                           summary.n_layers_failed), summary.n_layers_failed);
  else if (summary.n_layers_pending > 0)
    detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "computing %u layer…", "computing %u layers…",
                                           summary.n_layers_pending), summary.n_layers_pending);
  else
    detail = g_strdup (_("all weights, by their size"));
  tile_set (&self->sqnr, value, detail);
}

static gboolean
update_summary_idle (gpointer user_data)
{
  QsSummaryBar *self = user_data;

  self->update_id = 0;
  update_summary (self);
  return G_SOURCE_REMOVE;
}

/* A config change and the layer results that follow it each emit "summary-changed";
 * results often arrive several per main-loop turn. Update once per turn, before the next
 * frame is drawn. */
static void
queue_update_summary (QsSummaryBar *self)
{
  if (self->update_id == 0)
    self->update_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, update_summary_idle, self, NULL);
}

guint
_qs_summary_bar_get_n_updates (QsSummaryBar *self)
{
  g_return_val_if_fail (QS_IS_SUMMARY_BAR (self), 0);
  return self->n_updates;
}

/* A float model that gets hardly more right than guessing was made for other data: its
 * numbers are no result. Chance is 1 / n_classes; under twice that is "near", and with few
 * classes (where twice chance is most or all of the range) under a ninth of the way from
 * chance to 100 %: 20 % of 10 classes, 55.6 % of 2, 2 % of 100. */
gboolean
_qs_summary_bar_is_near_chance (double float_top1,
                                guint  n_classes)
{
  double chance;

  if (n_classes < 2)
    return FALSE;
  chance = 1.0 / n_classes;
  return float_top1 < MIN (2 * chance, chance + (1 - chance) / 9);
}

static void
set_accuracy_warning (QsSummaryBar *self,
                      const char   *style)
{
  const char * const styles[] = { "warning", "error" };

  for (guint i = 0; i < G_N_ELEMENTS (styles); i++)
    {
      gtk_widget_remove_css_class (self->accuracy.value, styles[i]);
      gtk_widget_remove_css_class (self->accuracy.detail, styles[i]);
    }
  /* The detail says why in the warning colour: not dimmed. */
  if (g_strcmp0 (style, "near-chance") == 0)
    {
      gtk_widget_add_css_class (self->accuracy.value, "warning");
      gtk_widget_add_css_class (self->accuracy.detail, "warning");
      gtk_widget_remove_css_class (self->accuracy.detail, "dim-label");
    }
  else
    {
      gtk_widget_add_css_class (self->accuracy.detail, "dim-label");
      if (style != NULL)
        gtk_widget_add_css_class (self->accuracy.value, style);
    }
}


/* "Accuracy · Fashion-MNIST test set, 1,000 images", or "Agreement · …" without labels. */
/* A first answer from a calibration on part of the calibration images (QsEvalPartial's
 * calib_images < calib_total): says so at the end of the tooltip *tip. */
static void
provisional_note (const QsEvalPartial  *sum,
                  char                **tip)
{
  g_autofree char *so_far = NULL;

  if (sum->calib_images >= sum->calib_total || *tip == NULL)
    return;
  so_far = g_steal_pointer (tip);
  /* Translators: appended to the accuracy's tooltip while its first answer comes from a
   * calibration on part of the images; the first %'u is the images calibrated on, the
   * second all the calibration images */
  *tip = g_strdup_printf (_("%s\nFirst estimate: activation ranges from %'u of the %'u calibration "
                            "images; the whole calibration is running."),
                          so_far, sum->calib_images, sum->calib_total);
}

static char *
final_caption (QsDataset *dataset,
               gboolean   labelled,
               guint      n_images)
{
  return g_strdup_printf (labelled
                          /* Translators: the caption of the accuracy in the summary bar; %s
                           * is a data set in words ("Fashion-MNIST test set", or a file
                           * name), %'u the number of its images used */
                          ? g_dngettext (GETTEXT_PACKAGE, "Accuracy · %s, %'u image",
                                         "Accuracy · %s, %'u images", n_images)
                          /* Translators: the same for a data set without labels, where the
                           * agreement with the float model is measured */
                          : g_dngettext (GETTEXT_PACKAGE, "Agreement · %s, %'u image",
                                         "Agreement · %s, %'u images", n_images),
                          qs_dataset_get_display_name (dataset), n_images);
}

static void
update_accuracy (QsSummaryBar *self)
{
  QsEvalResult *eval;
  QsDataset *dataset;
  const GError *error;
  const char *why = NULL;
  g_autofree char *value = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *caption = NULL;
  g_autofree char *tip = NULL;
  const QsEvalPartial *partial;
  QsEvalPartial sum;
  guint n_classes;
  gboolean near_chance;

  if (self->document == NULL)
    return;

  /* a stopped spinner draws nothing but keeps its place: the tiles do not move when the
   * refining accuracy turns final */
  gtk_spinner_set_spinning (GTK_SPINNER (self->eval_spinner), qs_document_get_evaluating (self->document));
  gtk_label_set_text (GTK_LABEL (self->accuracy.caption), _("Accuracy"));
  gtk_label_set_text (GTK_LABEL (self->caption_sizer), NULL);
  set_accuracy_warning (self, NULL);
  gtk_widget_set_visible (self->dataset_button, FALSE);
  gtk_widget_set_visible (self->qat_button, FALSE);

  if (!qs_document_can_evaluate (self->document, &why))
    {
      if (qs_model_can_infer (qs_document_get_model (self->document), NULL))
        {
          /* the model runs: it only needs data that fits it */
          tile_set (&self->accuracy, _("Off"), _("no dataset fits this model"));
          gtk_widget_set_visible (self->dataset_button, TRUE);
        }
      else
        tile_set (&self->accuracy, _("Off"), _("the model cannot run"));
      gtk_widget_set_tooltip_text (self->accuracy.box, why);
      return;
    }

  eval = qs_document_get_quick_eval (self->document);
  error = qs_document_get_quick_eval_error (self->document);
  if (error != NULL)
    {
      tile_set (&self->accuracy, _("Failed"), error->message);
      gtk_widget_set_tooltip_text (self->accuracy.box, error->message);
      gtk_widget_set_visible (self->dataset_button, TRUE);
      return;
    }
  /* While the quick evaluation runs, its latest chunk: a first answer from a few images,
   * refined in place until the final result replaces it. */
  partial = qs_document_get_evaluating (self->document)
            ? qs_document_get_quick_eval_partial (self->document) : NULL;
  if (eval == NULL && partial == NULL)
    {
      tile_set (&self->accuracy, "…", _("measuring…"));
      return;
    }
  if (partial != NULL)
    sum = *partial;
  else
    sum = eval->summary;
  n_classes = eval != NULL ? eval->n_classes : 0;

  /* Which images, in words: "Fashion-MNIST test set, 1,000 images" (never the spec "sample"). */
  dataset = qs_document_get_dataset (self->document);
  if (partial != NULL && sum.calib_images < sum.calib_total)
    {
      caption = g_strdup_printf (sum.labelled
                                 /* Translators: the caption of the accuracy while its first
                                  * answer comes from a calibration on part of the calibration
                                  * images and the whole calibration still runs; %'u is the
                                  * images measured so far */
                                 ? g_dngettext (GETTEXT_PACKAGE, "Accuracy · %'u image · calibrating…",
                                                "Accuracy · %'u images · calibrating…", sum.n_images)
                                 /* Translators: the same for a data set without labels */
                                 : g_dngettext (GETTEXT_PACKAGE, "Agreement · %'u image · calibrating…",
                                                "Agreement · %'u images · calibrating…", sum.n_images),
                                 sum.n_images);
      gtk_label_set_text (GTK_LABEL (self->accuracy.caption), caption);
    }
  else if (partial != NULL)
    {
      /* Short, so the counts stay visible (the data set is in the tooltip). */
      caption = g_strdup_printf (sum.labelled
                                 /* Translators: the caption of the accuracy in the summary bar
                                  * while it is being measured; the first %'u is the images
                                  * measured so far, the second all the images that will be
                                  * measured: "Accuracy · 128 of 1,000 images" */
                                 ? g_dngettext (GETTEXT_PACKAGE, "Accuracy · %'u of %'u image",
                                                "Accuracy · %'u of %'u images", sum.n_total)
                                 /* Translators: the same for a data set without labels, where
                                  * the agreement with the float model is measured */
                                 : g_dngettext (GETTEXT_PACKAGE, "Agreement · %'u of %'u image",
                                                "Agreement · %'u of %'u images", sum.n_total),
                                 sum.n_images, sum.n_total);
      gtk_label_set_text (GTK_LABEL (self->accuracy.caption), caption);
    }
  else if (dataset != NULL)
    {
      caption = final_caption (dataset, sum.labelled, sum.n_images);
      gtk_label_set_text (GTK_LABEL (self->accuracy.caption), caption);
    }
  /* the caption the final result will have: its width is kept from the first chunk on */
  if (dataset != NULL)
    {
      g_autofree char *final = final_caption (dataset, sum.labelled, sum.n_total);

      gtk_label_set_text (GTK_LABEL (self->caption_sizer), final);
    }

  if (!sum.labelled)
    {
      /* No labels (your own images, unlabelled): how often the quantized model gives the
       * float model's answer is what can be measured. */
      if (partial != NULL)
        /* Translators: top-1 agreement of the quantized model with the float model while
         * it is measured; "≈" says it is a first estimate from part of the images */
        value = g_strdup_printf (_("≈ %.1f%% agree"), 100 * sum.agreement);
      else
        /* Translators: top-1 agreement of the quantized model with the float model */
        value = g_strdup_printf (_("%.1f%% agree"), 100 * sum.agreement);
      /* Translators: the 95 % interval of the agreement, in percent */
      detail = g_strdup_printf (_("95%% interval %.1f–%.1f"), 100 * sum.agreement_low, 100 * sum.agreement_high);
      tip = g_strdup_printf (_("The data set has no labels: the share of images where the quantized model "
                               "(integer engine) gives the float model’s top answer, on %'u images of %s."),
                             sum.n_images, dataset ? qs_dataset_get_display_name (dataset) : _("the test set"));
      provisional_note (&sum, &tip);
      tile_set (&self->accuracy, value, detail);
      gtk_widget_set_tooltip_text (self->accuracy.box, tip);
      if (1.0 - sum.agreement > 0.05)
        set_accuracy_warning (self, "error");
      else if (1.0 - sum.agreement > 0.01)
        set_accuracy_warning (self, "warning");
      return;
    }
  if (partial != NULL)
    /* Translators: the accuracy while it is being measured, float → quantized; "≈" says it
     * is a first estimate from part of the images */
    value = g_strdup_printf (_("≈ %.1f%% → %.1f%%"), 100 * sum.float_top1, 100 * sum.quant_top1);
  else
    /* Translators: the accuracy, float → quantized */
    value = g_strdup_printf (_("%.1f%% → %.1f%%"), 100 * sum.float_top1, 100 * sum.quant_top1);
  near_chance = n_classes > 0 && _qs_summary_bar_is_near_chance (sum.float_top1, n_classes);
  if (near_chance)
    {
      detail = g_strdup (_("near chance: is this the right dataset?"));
      /* Translators: tooltip of the accuracy when the float model is near chance; %.1f%% are
       * percentages, %u the number of classes, %s the data set in words */
      tip = g_strdup_printf (_("The float model gets %.1f%% right; guessing among %u classes gets %.1f%%. "
                               "It was probably made for other data than “%s”: open the data set it was trained on to measure the quantization."),
                             100 * sum.float_top1, n_classes, 100.0 / n_classes,
                             dataset ? qs_dataset_get_display_name (dataset) : _("the test set"));
    }
  else
    {
      g_autofree char *what = NULL;

      /* Translators: accuracy change in percentage points with the half-width of its 95 %
       * interval, "−0.4 ± 0.6 points" */
      detail = g_strdup_printf (_("%+.1f ± %.1f points"), 100 * sum.diff,
                                100 * (sum.diff_high - sum.diff_low) / 2);
      if (dataset != NULL)
        /* Translators: tooltip of the accuracy in the summary bar; %u is a number of images,
         * %s the data set in words, "Fashion-MNIST test set" */
        what = g_strdup_printf (_("Top-1 accuracy of the float model and of the quantized model (integer engine) on the first %u images of the %s"),
                                sum.n_images, qs_dataset_get_display_name (dataset));
      else
        what = g_strdup (_("Top-1 accuracy of the float model and of the quantized model (integer engine) on the quick subset of the test set"));
      /* Translators: second part of the accuracy's tooltip: 95 % confidence intervals in
       * percent and percentage points; "±" in the tile is half the change's interval */
      tip = g_strdup_printf (_("%s.\n"
                               "Float: %.1f%% (95%% interval %.1f–%.1f)\n"
                               "Quantized: %.1f%% (95%% interval %.1f–%.1f)\n"
                               "Change: %+.1f points (95%% interval %+.1f to %+.1f, paired: the same images on both sides)"),
                             what, 100 * sum.float_top1, 100 * sum.float_low, 100 * sum.float_high,
                             100 * sum.quant_top1, 100 * sum.quant_low, 100 * sum.quant_high,
                             100 * sum.diff, 100 * sum.diff_low, 100 * sum.diff_high);
      if (partial != NULL)
        {
          g_autofree char *so_far = g_steal_pointer (&tip);

          /* Translators: appended to the accuracy's tooltip while it is measured; %'u is the
           * number of images still to measure */
          tip = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s\nRefining: %'u more image to measure.",
                                              "%s\nRefining: %'u more images to measure.",
                                              sum.n_total - sum.n_images),
                                 so_far, sum.n_total - sum.n_images);
        }
    }
  provisional_note (&sum, &tip);
  tile_set (&self->accuracy, value, detail);
  gtk_widget_set_tooltip_text (self->accuracy.box, tip);

  if (near_chance)
    gtk_widget_set_visible (self->dataset_button, TRUE);
  if (near_chance)
    set_accuracy_warning (self, "near-chance");
  else if (sum.float_top1 - sum.quant_top1 > 0.05)
    set_accuracy_warning (self, "error");
  else if (sum.float_top1 - sum.quant_top1 > 0.01)
    set_accuracy_warning (self, "warning");
  /* more than a point lost: what quantization-aware training wins back (once measured) */
  if (!near_chance && partial == NULL && sum.float_top1 - sum.quant_top1 > 0.01)
    gtk_widget_set_visible (self->qat_button, TRUE);
}

/* ---------------------------------------------------------------------------------------- */
/* Trade-off history (issue 11)                                                             */

static void
update_history (QsSummaryBar *self)
{
  guint n = self->history ? qs_tradeoff_history_get_n_entries (self->history) : 0;
  g_autofree double *x = g_new0 (double, MAX (n, 1));
  g_autofree double *y = g_new0 (double, MAX (n, 1));
  g_autoptr(GStrvBuilder) labels = g_strv_builder_new ();
  g_auto(GStrv) tips = NULL;
  QsChartScatterData data;

  for (guint i = 0; i < n; i++)
    {
      const QsTradeoffEntry *e = qs_tradeoff_history_get_entry (self->history, i);
      g_autofree char *size = g_format_size (e->weight_bytes);
      g_autofree char *tip = NULL;

      x[i] = e->weight_bytes / 1000.0;
      y[i] = 100.0 * e->quant_top1;
      /* Translators: tooltip of a point of the trade-off history: the step that made the
       * config, its weight size and quick accuracy, "Weight Bits: 21.3 kB, 88.1 % — click to go back" */
      tip = g_strdup_printf (_("%s: %s, %.1f%% — click to go back to it"), e->label, size, y[i]);
      g_strv_builder_add (labels, tip);
    }
  tips = g_strv_builder_end (labels);
  qs_chart_scatter_data_init (&data);
  data.x = x;
  data.y = y;
  data.n = n;
  data.current = self->history ? qs_tradeoff_history_get_current (self->history) : -1;
  /* Translators: axis of the trade-off history chart */
  data.x_label = _("Weight size (kB)");
  /* Translators: axis of the trade-off history chart */
  data.y_label = _("Quick accuracy (%)");
  /* Translators: legend of the trade-off history chart: the point of the current config */
  data.current_label = _("Current");
  qs_scatter_chart_view_set_data (QS_SCATTER_CHART_VIEW (self->history_chart), &data, (const char * const *) tips);
  gtk_widget_set_sensitive (self->history_button, n > 0);
}

static void
on_history_point (QsSummaryBar *self,
                  gint          index)
{
  if (self->history != NULL && index >= 0)
    qs_tradeoff_history_restore (self->history, (guint) index);
}

static void
history_export_response (GtkNativeDialog *dialog,
                         int              response,
                         QsSummaryBar    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GError) error = NULL;

      if (!qs_scatter_chart_view_export (QS_SCATTER_CHART_VIEW (self->history_chart), g_file_peek_path (file),
                                         960, 600, 1.0, &error))
        {
          GtkWidget *root = GTK_WIDGET (gtk_widget_get_root (GTK_WIDGET (self)));
          GtkWidget *msg = adw_message_dialog_new (GTK_WINDOW (root), _("Could Not Export the Chart"), error->message);

          adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (msg), "close", _("_Close"));
          gtk_window_present (GTK_WINDOW (msg));
        }
    }
  g_clear_object (&self->history_chooser);
}

static void
on_history_export (QsSummaryBar *self)
{
  GtkWidget *root = GTK_WIDGET (gtk_widget_get_root (GTK_WIDGET (self)));

  gtk_menu_button_popdown (GTK_MENU_BUTTON (self->history_button));
  g_clear_object (&self->history_chooser);
  self->history_chooser = gtk_file_chooser_native_new (_("Export Chart"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                       GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), NULL);
  /* Translators: the default file name of the trade-off history chart; keep the extension */
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->history_chooser), _("tradeoff-history.png"));
  g_signal_connect (self->history_chooser, "response", G_CALLBACK (history_export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->history_chooser));
}

QsScatterChartView *
_qs_summary_bar_get_history_chart (QsSummaryBar *self)
{
  g_return_val_if_fail (QS_IS_SUMMARY_BAR (self), NULL);
  return QS_SCATTER_CHART_VIEW (self->history_chart);
}

QsTradeoffHistory *
_qs_summary_bar_get_history (QsSummaryBar *self)
{
  g_return_val_if_fail (QS_IS_SUMMARY_BAR (self), NULL);
  return self->history;
}

/* Puts an invisible copy of label (same style) in the same grid cell: the pair asks for
 * the wider of the two texts, so changing label's text within the sizer's never moves the
 * tiles. */
static GtkWidget *
add_width_sizer (GtkWidget *box,
                 GtkWidget *label)
{
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *sizer = gtk_label_new (NULL);
  GtkWidget *prev = gtk_widget_get_prev_sibling (label);
  g_auto(GStrv) classes = gtk_widget_get_css_classes (label);

  g_object_ref (label);
  gtk_box_remove (GTK_BOX (box), label);
  gtk_box_insert_child_after (GTK_BOX (box), grid, prev);
  gtk_grid_attach (GTK_GRID (grid), sizer, 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), label, 0, 0, 1, 1);
  g_object_unref (label);
  gtk_widget_set_css_classes (sizer, (const char **) classes);
  gtk_label_set_xalign (GTK_LABEL (sizer), 0);
  gtk_label_set_ellipsize (GTK_LABEL (sizer), gtk_label_get_ellipsize (GTK_LABEL (label)));
  gtk_label_set_max_width_chars (GTK_LABEL (sizer), gtk_label_get_max_width_chars (GTK_LABEL (label)));
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_set_opacity (sizer, 0.0);
  gtk_widget_set_can_target (sizer, FALSE);
  gtk_accessible_update_state (GTK_ACCESSIBLE (sizer), GTK_ACCESSIBLE_STATE_HIDDEN, TRUE, -1);
  return sizer;
}

/* A small chart button right of the accuracy number; its popover holds the chart. */
static void
history_init (QsSummaryBar *self)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *hint = gtk_label_new (_("Every configuration measured in this session; click a point to go back to it (one undo step)."));
  GtkWidget *export = gtk_button_new_with_mnemonic (_("_Export Image…"));

  g_object_ref (self->accuracy.value);
  gtk_box_remove (GTK_BOX (self->accuracy.box), self->accuracy.value);
  gtk_box_append (GTK_BOX (row), self->accuracy.value);
  g_object_unref (self->accuracy.value);
  self->history_button = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (self->history_button), "document-open-recent-symbolic");
  gtk_widget_add_css_class (self->history_button, "flat");
  gtk_widget_set_valign (self->history_button, GTK_ALIGN_CENTER);
  /* Translators: tooltip of the button next to the accuracy in the summary bar */
  gtk_widget_set_tooltip_text (self->history_button, _("Trade-off History: size against accuracy of every configuration tried"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->history_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Trade-off History"), -1);
  gtk_box_append (GTK_BOX (row), self->history_button);
  /* the caption may sit in a grid with its width sizer (add_width_sizer ()) */
  gtk_box_insert_child_after (GTK_BOX (self->accuracy.box), row,
                              gtk_widget_get_parent (self->accuracy.caption) == self->accuracy.box
                              ? self->accuracy.caption : gtk_widget_get_parent (self->accuracy.caption));

  self->history_chart = qs_scatter_chart_view_new ();
  /* Translators: title of the trade-off history chart */
  qs_scatter_chart_view_set_title (QS_SCATTER_CHART_VIEW (self->history_chart), _("Size and Accuracy of Each Configuration"));
  /* fits a 1024 x 600 screen with the summary bar below it */
  gtk_widget_set_size_request (self->history_chart, 380, 250);
  g_signal_connect_swapped (self->history_chart, "point-activated", G_CALLBACK (on_history_point), self);
  gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (hint), 50);
  gtk_label_set_xalign (GTK_LABEL (hint), 0);
  gtk_widget_add_css_class (hint, "caption");
  gtk_widget_add_css_class (hint, "dim-label");
  gtk_widget_set_halign (export, GTK_ALIGN_END);
  g_signal_connect_swapped (export, "clicked", G_CALLBACK (on_history_export), self);
  gtk_box_append (GTK_BOX (box), self->history_chart);
  gtk_box_append (GTK_BOX (box), hint);
  gtk_box_append (GTK_BOX (box), export);
  gtk_popover_set_child (GTK_POPOVER (popover), box);
  gtk_menu_button_set_popover (GTK_MENU_BUTTON (self->history_button), popover);
  gtk_widget_set_sensitive (self->history_button, FALSE);
}

/* ---------------------------------------------------------------------------------------- */
/* Deployment target (issue 12)                                                             */

static void
update_target_choices (QsSummaryBar *self)
{
  GPtrArray *bundled = qs_target_get_bundled ();
  QsTarget *current = self->document ? qs_document_get_target (self->document) : NULL;
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  guint selected = 0;

  /* the list has it (the user just chose it): select, never rebuild the model under the
   * dropdown's own selection change */
  for (guint i = 0; i < self->target_choices->len; i++)
    {
      QsTarget *t = g_ptr_array_index (self->target_choices, i);

      if (t == current || (t != NULL && current != NULL && g_strcmp0 (t->path, current->path) == 0))
        {
          if (gtk_drop_down_get_selected (GTK_DROP_DOWN (self->target_dropdown)) != i)
            {
              self->target_updating = TRUE;
              gtk_drop_down_set_selected (GTK_DROP_DOWN (self->target_dropdown), i);
              self->target_updating = FALSE;
            }
          return;
        }
    }

  g_ptr_array_set_size (self->target_choices, 0);
  g_ptr_array_add (self->target_choices, NULL);
  /* Translators: the first entry of the deployment target chooser: no target’s rules apply */
  gtk_string_list_append (names, _("Any target"));
  for (guint i = 0; i < bundled->len; i++)
    {
      QsTarget *t = g_ptr_array_index (bundled, i);

      if (current != NULL && g_strcmp0 (current->path, t->path) == 0)
        selected = self->target_choices->len;
      g_ptr_array_add (self->target_choices, qs_target_ref (t));
      gtk_string_list_append (names, qs_target_get_display_title (t));
    }
  if (current != NULL && selected == 0)
    {
      /* a target file of one's own, from a session */
      selected = self->target_choices->len;
      g_ptr_array_add (self->target_choices, qs_target_ref (current));
      gtk_string_list_append (names, qs_target_get_display_title (current));
    }
  self->target_updating = TRUE;
  gtk_drop_down_set_model (GTK_DROP_DOWN (self->target_dropdown), G_LIST_MODEL (names));
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->target_dropdown), selected);
  self->target_updating = FALSE;
}

static void
update_target_issues (QsSummaryBar *self)
{
  QsTarget *target;
  g_autofree char *detail = NULL;
  g_autofree char *tip = NULL;
  gboolean model_wide = FALSE;
  guint n;

  if (self->document == NULL)
    return;
  target = qs_document_get_target (self->document);
  gtk_widget_remove_css_class (self->target.detail, "warning");
  if (target == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->target.detail), _("no target’s rules"));
      gtk_widget_set_tooltip_text (self->target.box,
                                   _("Choose the runtime the model is for: layers whose settings it cannot run get a warning badge, and the layer page shows what it accepts"));
      return;
    }
  n = qs_document_get_n_target_layers (self->document, &model_wide);
  if (n > 0)
    /* Translators: in the summary bar under the target chooser, "3 layers cannot run on TFLite int8" */
    detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u layer cannot run on %s",
                                           "%u layers cannot run on %s", n),
                              n, qs_target_get_display_title (target));
  else if (model_wide)
    /* Translators: %s is a deployment target, "TFLite int8" */
    detail = g_strdup_printf (_("the requantization does not suit %s"), qs_target_get_display_title (target));
  else
    /* Translators: %s is a deployment target, "TFLite int8" */
    detail = g_strdup_printf (_("every layer runs on %s"), qs_target_get_display_title (target));
  if (n > 0 || model_wide)
    gtk_widget_add_css_class (self->target.detail, "warning");
  gtk_label_set_text (GTK_LABEL (self->target.detail), detail);
  tip = g_strdup_printf ("%s\n%s", target->description ? target->description : qs_target_get_display_title (target), detail);
  gtk_widget_set_tooltip_text (self->target.box, tip);
}

static void
on_target_selected (QsSummaryBar *self)
{
  guint selected = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->target_dropdown));

  if (self->target_updating || self->document == NULL || selected >= self->target_choices->len)
    return;
  qs_document_set_target (self->document, g_ptr_array_index (self->target_choices, selected));
}

GtkDropDown *
_qs_summary_bar_get_target_dropdown (QsSummaryBar *self)
{
  g_return_val_if_fail (QS_IS_SUMMARY_BAR (self), NULL);
  return GTK_DROP_DOWN (self->target_dropdown);
}

GtkLabel *
_qs_summary_bar_get_target_label (QsSummaryBar *self)
{
  g_return_val_if_fail (QS_IS_SUMMARY_BAR (self), NULL);
  return GTK_LABEL (self->target.detail);
}

static void
target_choice_free (gpointer target)
{
  if (target != NULL)
    qs_target_unref (target);
}

static void
target_init (QsSummaryBar *self)
{
  self->target_choices = g_ptr_array_new_with_free_func (target_choice_free);
  self->target.box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_add_css_class (self->target.box, "summary-tile");
  /* Translators: caption of the deployment target chooser in the summary bar */
  self->target.caption = gtk_label_new (_("Target"));
  gtk_label_set_xalign (GTK_LABEL (self->target.caption), 0);
  gtk_widget_add_css_class (self->target.caption, "caption-heading");
  gtk_widget_add_css_class (self->target.caption, "dim-label");
  self->target_dropdown = gtk_drop_down_new (NULL, NULL);
  gtk_widget_set_halign (self->target_dropdown, GTK_ALIGN_START);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->target_dropdown), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Deployment Target"), -1);
  self->target.value = self->target_dropdown;
  self->target.detail = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->target.detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (self->target.detail), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (self->target.detail), 30);
  gtk_label_set_width_chars (GTK_LABEL (self->target.detail), 16);
  gtk_widget_add_css_class (self->target.detail, "caption");
  gtk_box_append (GTK_BOX (self->target.box), self->target.caption);
  gtk_box_append (GTK_BOX (self->target.box), self->target_dropdown);
  gtk_box_append (GTK_BOX (self->target.box), self->target.detail);
  gtk_widget_set_parent (self->target.box, GTK_WIDGET (self));
  g_signal_connect_swapped (self->target_dropdown, "notify::selected", G_CALLBACK (on_target_selected), self);
}

void
_qs_summary_bar_get_accuracy_labels (QsSummaryBar  *self,
                                     GtkLabel     **caption,
                                     GtkLabel     **value,
                                     GtkLabel     **detail)
{
  g_return_if_fail (QS_IS_SUMMARY_BAR (self));
  *caption = GTK_LABEL (self->accuracy.caption);
  *value = GTK_LABEL (self->accuracy.value);
  *detail = GTK_LABEL (self->accuracy.detail);
}

static void
qs_summary_bar_dispose (GObject *object)
{
  QsSummaryBar *self = QS_SUMMARY_BAR (object);
  GtkWidget *child;

  qs_summary_bar_set_document (self, NULL);
  g_clear_pointer (&self->target_choices, g_ptr_array_unref);
  g_clear_object (&self->history_chooser);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (qs_summary_bar_parent_class)->dispose (object);
}

static void
qs_summary_bar_class_init (QsSummaryBarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_summary_bar_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "summarybar");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
qs_summary_bar_init (QsSummaryBar *self)
{
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (gtk_widget_get_layout_manager (GTK_WIDGET (self))), 12);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Model Summary"), -1);

  /* Two pairs of tiles: side by side when they fit, one above the other when not. */
  self->tiles = qs_reflow_box_new ();
  qs_reflow_box_set_spacing (QS_REFLOW_BOX (self->tiles), 12, FALSE);
  qs_reflow_box_set_homogeneous (QS_REFLOW_BOX (self->tiles), TRUE);
  gtk_widget_set_hexpand (self->tiles, TRUE);
  gtk_widget_set_parent (self->tiles, GTK_WIDGET (self));
  for (guint i = 0; i < G_N_ELEMENTS (self->pairs); i++)
    {
      self->pairs[i] = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      gtk_box_set_homogeneous (GTK_BOX (self->pairs[i]), FALSE);
      gtk_widget_set_hexpand (self->pairs[i], TRUE);
      gtk_widget_set_parent (self->pairs[i], self->tiles);
    }

  tile_init (self, self->pairs[0], &self->size, _("Weights"),
             _("Weight storage in float32 and as the integer program stores it: codes with their scales and zero-points, 32-bit biases, BatchNormalization folded into the layer before it"));
  tile_init (self, self->pairs[0], &self->memory, _("Peak Activations"),
             _("The most activation memory alive at once while the program runs: every value from the layer that writes it to the last layer that reads it, one byte per integer code, four per float"));
  tile_init (self, self->pairs[1], &self->sqnr, _("Weighted SQNR"),
             _("Signal-to-quantization-noise ratio of all kernels together: total signal power over total error power"));
  tile_init (self, self->pairs[1], &self->accuracy, _("Accuracy"), NULL);
  /* room for "near chance: is this the right dataset?" */
  gtk_label_set_max_width_chars (GTK_LABEL (self->accuracy.detail), 44);
  /* room for "≈ 100.0% → 100.0%" (tabular digits): refining in place moves nothing */
  gtk_label_set_width_chars (GTK_LABEL (self->accuracy.value), 19);
  gtk_widget_add_css_class (self->accuracy.detail, "numeric");
  /* "Accuracy · Fashion-MNIST test set, 1,000 images" takes a second line rather than
   * losing the data set's name when the window is narrow */
  gtk_label_set_wrap (GTK_LABEL (self->accuracy.caption), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (self->accuracy.caption), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_lines (GTK_LABEL (self->accuracy.caption), 2);
  self->caption_sizer = add_width_sizer (self->accuracy.box, self->accuracy.caption);
  self->detail_sizer = add_width_sizer (self->accuracy.box, self->accuracy.detail);
  /* the widest change the tile shows while refining */
  gtk_label_set_text (GTK_LABEL (self->detail_sizer), "+00.0 ± 00.0 points");
  /* Translators: a button in the accuracy tile that opens the dataset dialog */
  self->dataset_button = gtk_button_new_with_mnemonic (_("Choose _Dataset…"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->dataset_button), "win.choose-dataset");
  gtk_widget_set_halign (self->dataset_button, GTK_ALIGN_START);
  gtk_widget_add_css_class (self->dataset_button, "pill");
  gtk_widget_add_css_class (self->dataset_button, "small");
  gtk_widget_set_visible (self->dataset_button, FALSE);
  gtk_box_append (GTK_BOX (self->accuracy.box), self->dataset_button);
  /* Translators: a button in the accuracy tile that opens the quantization-aware training
   * dialog; shown when quantization costs more than a point */
  self->qat_button = gtk_button_new_with_mnemonic (_("_Fine-tune…"));
  gtk_widget_set_tooltip_text (self->qat_button, _("Fine-tune with quantization (QAT) to win back accuracy"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->qat_button), "win.qat");
  gtk_widget_set_halign (self->qat_button, GTK_ALIGN_START);
  gtk_widget_add_css_class (self->qat_button, "pill");
  gtk_widget_add_css_class (self->qat_button, "small");
  gtk_widget_set_visible (self->qat_button, FALSE);
  gtk_box_append (GTK_BOX (self->accuracy.box), self->qat_button);
  target_init (self);
  history_init (self);
  self->eval_spinner = gtk_spinner_new ();
  gtk_widget_set_valign (self->eval_spinner, GTK_ALIGN_CENTER);
  gtk_widget_set_parent (self->eval_spinner, GTK_WIDGET (self));
}

GtkWidget *
qs_summary_bar_new (void)
{
  return g_object_new (QS_TYPE_SUMMARY_BAR, NULL);
}

void
qs_summary_bar_set_document (QsSummaryBar *self,
                             QsDocument   *document)
{
  g_return_if_fail (QS_IS_SUMMARY_BAR (self));

  if (self->document == document)
    return;
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_handle_id (&self->update_id, g_source_remove);
  g_set_object (&self->document, document);
  if (self->history != NULL)
    g_signal_handlers_disconnect_by_data (self->history, self);
  g_clear_object (&self->history);
  if (document == NULL)
    return;

  self->history = qs_tradeoff_history_new (document);
  g_signal_connect_swapped (self->history, "changed", G_CALLBACK (update_history), self);
  update_history (self);

  /* Not "config-changed" too: every config change is followed by one "summary-changed"
   * (the document resubmits the changed layers first). */
  g_signal_connect_swapped (document, "summary-changed", G_CALLBACK (queue_update_summary), self);
  g_signal_connect_swapped (document, "quick-eval-changed", G_CALLBACK (update_accuracy), self);
  g_signal_connect_swapped (document, "quick-eval-progress", G_CALLBACK (update_accuracy), self);
  g_signal_connect_swapped (document, "notify::evaluating", G_CALLBACK (update_accuracy), self);
  g_signal_connect_swapped (document, "notify::dataset", G_CALLBACK (update_accuracy), self);
  g_signal_connect_swapped (document, "notify::target", G_CALLBACK (update_target_choices), self);
  g_signal_connect_swapped (document, "target-issues-changed", G_CALLBACK (update_target_issues), self);
  update_summary (self);
  update_accuracy (self);
  update_target_choices (self);
  update_target_issues (self);
}
