/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <math.h>
#include <glib/gi18n.h>

#include "qs-activation-view.h"
#include "qs-channel-range-view.h"
#include "qs-gui-utils.h"
#include "qs-heatmap-view.h"
#include "qs-histogram-view.h"
#include "qs-layer-page.h"
#include "qs-target-ui.h"
#include "qs-explain-panel.h"
#include "qs-recompute.h"
#include "qs-reflow-box.h"

enum {
  STAT_SQNR,
  STAT_MSE,
  STAT_MAX_ERROR,
  STAT_CLIPPED,
  STAT_LEVELS,
  STAT_ENTROPY,
  STAT_SIZE,
  STAT_COSINE,
  N_STATS
};

struct _QsLayerPage
{
  AdwBin         parent_instance;

  GtkStack      *page_stack;
  AdwStatusPage *empty_page;
  GtkLabel      *title_label;
  GtkLabel      *subtitle_label;
  GtkWidget     *weight_group;
  AdwComboRow   *format_row;
  GtkWidget     *bits_row;
  GtkSpinButton *bits_spin;
  AdwComboRow   *mapping_row;
  AdwComboRow   *granularity_row;
  GtkWidget     *group_row;
  GtkSpinButton *group_spin;
  AdwComboRow   *rounding_row;
  AdwComboRow   *range_row;
  GtkWidget     *range_param_row;
  GtkSpinButton *range_param_spin;
  GtkWidget     *sparsity_row;
  GtkSpinButton *sparsity_spin;
  GtkWidget     *act_switch_row;
  GtkSwitch     *act_switch;
  AdwComboRow   *act_format_row;
  GtkWidget     *act_bits_row;
  GtkWidget     *target_banner;
  GtkLabel      *target_label;
  GtkSpinButton *act_bits_spin;
  AdwComboRow   *calib_row;
  AdwComboRow   *requant_row;
  GtkFlowBox    *stats_grid;
  GtkRevealer   *error_revealer;
  GtkLabel      *error_label;
  GtkStack      *chart_or_empty;
  AdwViewStack  *chart_stack;
  GtkWidget     *export_button;
  GtkLabel      *bn_title;
  GtkLabel      *bn_description;
  GtkWidget     *bn_target_button;
  GtkWidget     *bn_details;
  GtkLabel      *bn_details_title;
  GtkGrid       *bn_grid;
  char          *bn_target;      /* the layer a shown BatchNorm went into */

  GtkWidget     *histogram;
  GtkWidget     *heatmap;
  GtkWidget     *channels;
  GtkWidget     *activations;
  GtkLabel      *stat_values[N_STATS];
  GtkLabel      *stat_details[N_STATS];

  QsDocument    *document;
  char          *layer;
  gboolean       updating;
  GtkFileChooserNative *chooser;
  GtkWidget     *export_view;
  GtkWidget     *explain_hint;
  GtkRevealer   *explain_revealer;
  QsExplainPanel *explain_panel;
  GCancellable  *explain_cancellable;

  /* the activation view: histograms measured off the main thread (one slot, newest wins),
   * the range and SQNR recomputed on the main thread from them */
  QsRecompute   *act_jobs;
  char          *act_key;        /* what act_value / act_owner are (or are being) measured for */
  QsActStats    *act_value;      /* the layer's output */
  QsActStats    *act_owner;      /* the value owning its range (often the same) */
  char          *act_error;
};

G_DEFINE_FINAL_TYPE (QsLayerPage, qs_layer_page, ADW_TYPE_BIN)

static void on_explain_close (QsLayerPage *self);

/* ---------------------------------------------------------------------------------------- */
/* Enum rows                                                                                */

static char *
enum_item_label (AdwEnumListItem *item,
                 gpointer         user_data)
{
  GType type = GPOINTER_TO_SIZE (user_data);
  int value = adw_enum_list_item_get_value (item);

  if (type == QS_TYPE_FORMAT)
    return g_strdup (qs_format_display_name (value));
  if (type == QS_TYPE_MAPPING)
    return g_strdup (qs_mapping_display_name (value));
  if (type == QS_TYPE_GRANULARITY)
    return g_strdup (qs_granularity_display_name (value));
  if (type == QS_TYPE_ROUNDING)
    return g_strdup (qs_rounding_display_name (value));
  return g_strdup (qs_range_display_name (value));
}

static void
setup_enum_row (AdwComboRow *row,
                GType        type)
{
  g_autoptr(AdwEnumListModel) model = adw_enum_list_model_new (type);
  GtkExpression *expression;

  expression = gtk_cclosure_expression_new (G_TYPE_STRING, NULL, 0, NULL,
                                            G_CALLBACK (enum_item_label),
                                            GSIZE_TO_POINTER (type), NULL);
  adw_combo_row_set_expression (row, expression);
  gtk_expression_unref (expression);
  adw_combo_row_set_model (row, G_LIST_MODEL (model));
}

static int
row_get_enum (AdwComboRow *row)
{
  g_autoptr(AdwEnumListItem) item = NULL;
  guint pos = adw_combo_row_get_selected (row);

  item = g_list_model_get_item (adw_combo_row_get_model (row), pos);
  return item != NULL ? adw_enum_list_item_get_value (item) : 0;
}

static void
row_set_enum (AdwComboRow *row,
              int          value)
{
  AdwEnumListModel *model = ADW_ENUM_LIST_MODEL (adw_combo_row_get_model (row));

  adw_combo_row_set_selected (row, adw_enum_list_model_find_position (model, value));
}

/* ---------------------------------------------------------------------------------------- */
/* Statistics                                                                               */

static void
set_stat_detail (QsLayerPage *self,
                 guint        stat,
                 const char  *text,
                 const char  *detail)
{
  gtk_label_set_text (self->stat_values[stat], text);
  gtk_label_set_text (self->stat_details[stat], detail ? detail : "");
}

static void
set_stat (QsLayerPage *self,
          guint        stat,
          const char  *text)
{
  set_stat_detail (self, stat, text, NULL);
}

static void
clear_stats (QsLayerPage *self)
{
  for (guint i = 0; i < N_STATS; i++)
    set_stat (self, i, "—");
}

/* Dims the statistics while newer ones for this layer are being computed. */
static void
update_stale (QsLayerPage *self)
{
  if (self->document == NULL || self->layer == NULL)
    return;
  if (qs_document_get_layer_busy (self->document, self->layer))
    gtk_widget_add_css_class (GTK_WIDGET (self->stats_grid), "stale");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->stats_grid), "stale");
}

static void
update_stats (QsLayerPage *self)
{
  QsQuantResult *result;
  const GError *error;
  const QsLayer *layer;
  QsTensor *kernel;

  if (self->document == NULL || self->layer == NULL)
    return;

  layer = qs_model_find_layer (qs_document_get_model (self->document), self->layer);
  kernel = layer ? qs_layer_get_kernel (layer) : NULL;
  result = qs_document_get_layer_result (self->document, self->layer);
  error = qs_document_get_layer_error (self->document, self->layer);
  update_stale (self);

  if (error != NULL)
    {
      /* Translators: %s is the reason a layer's quantization failed */
      g_autofree char *text = g_strdup_printf (_("These settings do not work for this layer: %s"), error->message);
      gtk_label_set_text (self->error_label, text);
    }
  gtk_revealer_set_reveal_child (self->error_revealer, error != NULL);

  if (kernel == NULL)
    {
      clear_stats (self);
      return;
    }
  if (result == NULL)
    {
      if (error != NULL)
        clear_stats (self);
      return;
    }

  {
    const QsQuantStats *s = &result->stats;
    g_autofree char *sqnr = NULL, *mse = NULL, *maxerr = NULL, *clipped = NULL;
    g_autofree char *levels = NULL, *entropy = NULL, *size = NULL, *cosine = NULL;
    g_autofree char *clipped_detail = NULL, *levels_detail = NULL, *sqnr_detail = NULL;
    g_autofree char *fsize = g_format_size ((guint64) kernel->n_elements * 4);
    g_autofree char *qsize = g_format_size ((s->storage_bits + 7) / 8);

    sqnr = qs_format_sqnr (s->sqnr_db);
    mse = g_strdup_printf ("%.3g", s->mse);
    maxerr = g_strdup_printf ("%.3g", s->max_abs_error);
    clipped = g_strdup_printf ("%zu", s->n_clipped);
    clipped_detail = g_strdup_printf ("%.3f%%", 100.0 * s->clipped_fraction);
    if (s->levels_available > 0)
      {
        levels = g_strdup_printf ("%" PRIu64, s->levels_used);
        /* Translators: the number of integer codes available, "of 255" */
        levels_detail = g_strdup_printf (_("of %llu"), (unsigned long long) s->levels_available);
      }
    else
      levels = g_strdup ("—");
    if (result->is_estimate)
      {
        /* Translators: big layers show statistics from a sample first, then the exact
         * ones; %s is a compact count, "262k" */
        g_autofree char *count = g_strdup_printf ("%zuk", (result->n_sampled + 500) / 1000);
        sqnr_detail = g_strdup_printf (_("%s sampled"), count);
      }
    else if (!isinf (s->sqnr_db))
      /* Translators: a rule of thumb, about 6 dB of SQNR per bit */
      sqnr_detail = g_strdup_printf (_("≈ %.1f bits"), s->sqnr_db / 6.02);
    if (s->levels_available > 0)
      entropy = g_strdup_printf (_("%.2f bits"), s->code_entropy_bits);
    else
      entropy = g_strdup ("—");
    /* Translators: the kernel's float32 size, "from 640 bytes" */
    size = g_strdup_printf (_("from %s"), fsize);
    cosine = g_strdup_printf ("%.6f", s->cosine);

    set_stat_detail (self, STAT_SQNR, sqnr, sqnr_detail);
    {
      /* Translators: the tooltip while a big layer's statistics are a sample's */
      g_autofree char *tip = result->is_estimate
        ? g_strdup_printf (_("Estimate from %'zu of %'zu values; the exact statistics follow"),
                           result->n_sampled, kernel->n_elements)
        : NULL;
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->stat_details[STAT_SQNR]), tip);
    }
    set_stat (self, STAT_MSE, mse);
    set_stat (self, STAT_MAX_ERROR, maxerr);
    set_stat_detail (self, STAT_CLIPPED, clipped, clipped_detail);
    set_stat_detail (self, STAT_LEVELS, levels, levels_detail);
    set_stat (self, STAT_ENTROPY, entropy);
    set_stat_detail (self, STAT_SIZE, qsize, size);
    set_stat (self, STAT_COSINE, cosine);
  }

  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (self->histogram), result);
  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (self->heatmap), result);
  qs_channel_range_view_set_result (QS_CHANNEL_RANGE_VIEW (self->channels), result);
}

/* ---------------------------------------------------------------------------------------- */
/* Controls                                                                                 */

static gboolean
format_is_cast (QsFormat format)
{
  return format == QS_FORMAT_FP32 || format == QS_FORMAT_FP16 || format == QS_FORMAT_BF16;
}

/* A width the format accepts: bits when it fits, else 8 (clamped to the format's range).
 * Formats with a fixed width ignore QsQuantSpec.bits: it is left as it is. */
static guint
bits_for_format (QsFormat format,
                 guint    bits)
{
  guint min_bits, max_bits;

  if (!qs_quant_format_get_bits_range (format, &min_bits, &max_bits))
    return bits;
  if (bits >= min_bits && bits <= max_bits)
    return bits;
  return CLAMP (8, min_bits, max_bits);
}

static void
update_sensitivity (QsLayerPage         *self,
                    const QsLayerConfig *lc)
{
  gboolean scaled = !format_is_cast (lc->weight.format);

  gtk_widget_set_sensitive (self->bits_row, qs_quant_format_get_bits_range (lc->weight.format, NULL, NULL));
  gtk_widget_set_sensitive (GTK_WIDGET (self->mapping_row), scaled);
  gtk_widget_set_sensitive (GTK_WIDGET (self->granularity_row), scaled);
  gtk_widget_set_sensitive (self->group_row, scaled && lc->weight.granularity == QS_GRANULARITY_GROUP);
  gtk_widget_set_sensitive (GTK_WIDGET (self->rounding_row), scaled);
  gtk_widget_set_sensitive (GTK_WIDGET (self->range_row), scaled);
  gtk_widget_set_sensitive (self->range_param_row, scaled && lc->weight.range_method == QS_RANGE_PERCENTILE);

  gtk_widget_set_sensitive (GTK_WIDGET (self->act_format_row), lc->quantize_activations);
  gtk_widget_set_sensitive (self->act_bits_row,
                            lc->quantize_activations
                            && qs_quant_format_get_bits_range (lc->activation.format, NULL, NULL));
  gtk_widget_set_sensitive (GTK_WIDGET (self->calib_row),
                            lc->quantize_activations && !format_is_cast (lc->activation.format));
}

/* A config from quantization-aware training fixes the layer's output range: say so on the
 * calibration row, which then has no effect. */
static void
sync_fixed_range (QsLayerPage         *self,
                  const QsLayerConfig *lc)
{
  QsConfig *config = qs_document_get_config (self->document);
  g_autofree char *pre = g_strconcat (self->layer, "#pre", NULL);
  g_autofree char *subtitle = NULL;
  float lo, hi;

  if (lc->quantize_activations
      && (qs_config_get_activation_range (config, self->layer, &lo, &hi)
          || qs_config_get_activation_range (config, pre, &lo, &hi)))
    {
      /* Translators: the range of a layer's output fixed by an imported config, e.g.
       * "Fixed by the config: 0 to 4.77 (from quantization-aware training)" */
      subtitle = g_strdup_printf (_("Fixed by the config: %.4g to %.4g (from quantization-aware training)"),
                                  lo, hi);
      gtk_widget_set_sensitive (GTK_WIDGET (self->calib_row), FALSE);
    }
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->calib_row), subtitle != NULL ? subtitle : "");
}

/* The config's requantization mode (global, not the layer's): the row's selection, and the
 * mode's description as subtitle and tooltip. */
static void
sync_requant (QsLayerPage *self)
{
  QsRequantMode mode = qs_config_get_requant_mode (qs_document_get_config (self->document));
  const char *describe = qs_requant_mode_describe (mode);

  adw_combo_row_set_selected (self->requant_row, mode);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->requant_row), describe);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->requant_row), describe);
}

static void
on_requant (QsLayerPage *self)
{
  guint selected = adw_combo_row_get_selected (self->requant_row);
  QsConfig *config;
  g_autoptr(QsConfig) next = NULL;

  if (self->updating || self->document == NULL || selected >= QS_REQUANT_N_MODES)
    return;
  config = qs_document_get_config (self->document);
  if (qs_config_get_requant_mode (config) == (QsRequantMode) selected)
    return;
  next = qs_config_copy (config);
  qs_config_set_requant_mode (next, (QsRequantMode) selected);
  /* Translators: an undo step (the undo button's tooltip quotes it) */
  qs_document_set_config (self->document, next, _("Change Requantization"));
}

/* ---------------------------------------------------------------------------------------- */
/* Deployment target (issue 12): the rows say what the target accepts, through the core's   */
/* qs_target_accepts_weight () / _activation (); the banner gives qs_target_check ()'s reasons. */

typedef enum
{
  LIMIT_FORMAT,
  LIMIT_BITS,
  LIMIT_MAPPING,
  LIMIT_GRANULARITY,
} LimitField;

static gboolean
target_accepts (QsTarget          *target,
                gint               kind,
                gboolean           weights,
                const QsQuantSpec *spec,
                char             **reason)
{
  return weights ? qs_target_accepts_weight (target, kind, spec, reason)
                 : qs_target_accepts_activation (target, kind, spec, reason);
}

/* Sets field of spec to value, as the control would. */
static void
spec_set (QsQuantSpec *spec,
          LimitField   field,
          guint        value)
{
  switch (field)
    {
    case LIMIT_FORMAT:
      spec->format = value;
      spec->bits = bits_for_format (spec->format, spec->bits);
      break;
    case LIMIT_BITS:
      spec->bits = value;
      break;
    case LIMIT_MAPPING:
      spec->mapping = value;
      break;
    case LIMIT_GRANULARITY:
      spec->granularity = value;
      break;
    default:
      g_assert_not_reached ();
    }
}

static char *
value_name (LimitField field,
            guint      value)
{
  switch (field)
    {
    case LIMIT_FORMAT:
      return g_strdup (qs_format_display_name (value));
    case LIMIT_BITS:
      /* Translators: a bit width in a list of accepted ones, "8" */
      return g_strdup_printf ("%u", value);
    case LIMIT_MAPPING:
      return g_strdup (qs_mapping_display_name (value));
    case LIMIT_GRANULARITY:
      return g_strdup (qs_granularity_display_name (value));
    default:
      g_assert_not_reached ();
    }
}

/* Limits one row to the values the target accepts for this layer: its subtitle lists them;
 * when the only one accepted is the current one, the row is insensitive (nothing else would
 * run) with the reason as tooltip. A rejected current value keeps the row open to fix it. */
static void
limit_row (QsLayerPage       *self,
           GtkWidget         *row,
           QsTarget          *target,
           gint               kind,
           gboolean           weights,
           const QsQuantSpec *current,
           LimitField         field,
           guint              lo,
           guint              hi)
{
  g_autoptr(GString) accepted = g_string_new (NULL);
  g_autofree char *reason = NULL;
  guint n_accepted = 0, n_values = 0;
  gboolean current_ok = target_accepts (target, kind, weights, current, NULL);

  for (guint v = lo; v <= hi; v++)
    {
      QsQuantSpec spec = *current;
      g_autofree char *why = NULL;

      if (field == LIMIT_BITS && !qs_quant_format_get_bits_range (current->format, NULL, NULL))
        break;
      if (field == LIMIT_BITS)
        {
          guint min_bits, max_bits;

          qs_quant_format_get_bits_range (current->format, &min_bits, &max_bits);
          if (v < min_bits || v > max_bits)
            continue;
        }
      n_values++;
      spec_set (&spec, field, v);
      if (target_accepts (target, kind, weights, &spec, &why))
        {
          g_autofree char *name = value_name (field, v);

          g_string_append_printf (accepted, "%s%s", n_accepted++ ? ", " : "", name);
        }
      else if (reason == NULL)
        reason = g_steal_pointer (&why);
    }
  /* all accepted: no limit; none: another setting is what the target rejects (the banner
   * says which), so this row has nothing to offer */
  if (n_values == 0 || n_accepted == n_values || n_accepted == 0)
    return;
  if (ADW_IS_ACTION_ROW (row))
    {
      /* Translators: a row's subtitle in the layer page: what the deployment target accepts
       * for this setting, "TFLite int8: 8" */
      g_autofree char *subtitle = g_strdup_printf (_("%s: %s"), qs_target_get_display_title (target),
                                                   accepted->str);

      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
    }
  gtk_widget_set_tooltip_text (row, reason);
  if (current_ok && n_accepted == 1)
    gtk_widget_set_sensitive (row, FALSE);
}

static void
clear_limit (GtkWidget *row)
{
  if (ADW_IS_ACTION_ROW (row))
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), "");
  gtk_widget_set_tooltip_text (row, NULL);
}

static void
sync_target (QsLayerPage         *self,
             const QsLayerConfig *lc)
{
  QsTarget *target = qs_document_get_target (self->document);
  const QsLayer *layer = qs_model_find_layer (qs_document_get_model (self->document), self->layer);
  g_autofree char *issue = qs_document_get_layer_target_issue (self->document, self->layer);
  GtkWidget *weight_rows[] = { GTK_WIDGET (self->format_row), self->bits_row,
                               GTK_WIDGET (self->mapping_row), GTK_WIDGET (self->granularity_row) };
  GtkWidget *act_rows[] = { GTK_WIDGET (self->act_format_row), self->act_bits_row };
  gint kind = layer != NULL ? (gint) layer->kind : -1;

  gtk_widget_set_visible (self->target_banner, issue != NULL);
  gtk_label_set_text (self->target_label, issue != NULL ? issue : "");
  for (guint i = 0; i < G_N_ELEMENTS (weight_rows); i++)
    if (weight_rows[i] != self->bits_row)
      clear_limit (weight_rows[i]);
  gtk_widget_set_tooltip_text (self->bits_row, NULL);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->act_format_row), NULL);
  gtk_widget_set_tooltip_text (self->act_bits_row, NULL);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->bits_row), "");
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->act_bits_row), "");
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->act_format_row), "");
  if (target == NULL || layer == NULL)
    return;

  if (qs_layer_get_kernel (layer) != NULL)
    {
      limit_row (self, weight_rows[0], target, kind, TRUE, &lc->weight, LIMIT_FORMAT, 0, QS_FORMAT_FP8_E5M2);
      limit_row (self, weight_rows[1], target, kind, TRUE, &lc->weight, LIMIT_BITS, 2, 16);
      limit_row (self, weight_rows[2], target, kind, TRUE, &lc->weight, LIMIT_MAPPING, 0, QS_MAPPING_AFFINE);
      limit_row (self, weight_rows[3], target, kind, TRUE, &lc->weight, LIMIT_GRANULARITY, 0, QS_GRANULARITY_GROUP);
    }
  if (lc->quantize_activations)
    {
      limit_row (self, act_rows[0], target, kind, FALSE, &lc->activation, LIMIT_FORMAT, 0, QS_FORMAT_FP8_E5M2);
      limit_row (self, act_rows[1], target, kind, FALSE, &lc->activation, LIMIT_BITS, 2, 16);
    }
}

GtkWidget *
_qs_layer_page_get_target_banner (QsLayerPage *self,
                                  GtkLabel   **label)
{
  g_return_val_if_fail (QS_IS_LAYER_PAGE (self), NULL);
  if (label != NULL)
    *label = self->target_label;
  return self->target_banner;
}

static void
sync_controls (QsLayerPage *self)
{
  QsLayerConfig lc;

  if (self->document == NULL || self->layer == NULL)
    return;

  qs_config_get_layer (qs_document_get_config (self->document), self->layer, &lc);
  self->updating = TRUE;
  row_set_enum (self->format_row, lc.weight.format);
  gtk_spin_button_set_value (self->bits_spin, lc.weight.bits);
  row_set_enum (self->mapping_row, lc.weight.mapping);
  row_set_enum (self->granularity_row, lc.weight.granularity);
  gtk_spin_button_set_value (self->group_spin, lc.weight.group_size > 0 ? lc.weight.group_size : 32);
  row_set_enum (self->rounding_row, lc.weight.rounding);
  row_set_enum (self->range_row, lc.weight.range_method);
  gtk_spin_button_set_value (self->range_param_spin, lc.weight.range_param > 0 ? lc.weight.range_param : 99.99);
  gtk_spin_button_set_value (self->sparsity_spin, 100.0 * lc.weight.sparsity);
  gtk_switch_set_active (self->act_switch, lc.quantize_activations);
  row_set_enum (self->act_format_row, lc.activation.format);
  gtk_spin_button_set_value (self->act_bits_spin, lc.activation.bits);
  row_set_enum (self->calib_row, lc.activation.range_method);
  update_sensitivity (self, &lc);
  sync_fixed_range (self, &lc);
  sync_requant (self);
  sync_target (self, &lc);
  self->updating = FALSE;
}

typedef enum
{
  FIELD_FORMAT,
  FIELD_BITS,
  FIELD_MAPPING,
  FIELD_GRANULARITY,
  FIELD_GROUP,
  FIELD_ROUNDING,
  FIELD_RANGE,
  FIELD_RANGE_PARAM,
  FIELD_SPARSITY,
  FIELD_ACT_ON,
  FIELD_ACT_FORMAT,
  FIELD_ACT_BITS,
  FIELD_CALIB,
} Field;

static void
control_changed (QsLayerPage *self,
                 Field        field)
{
  const char *layers[] = { self->layer, NULL };
  g_autofree char *key = NULL;
  const char *label = NULL;
  QsLayerConfig lc;

  if (self->updating || self->document == NULL || self->layer == NULL)
    return;

  qs_config_get_layer (qs_document_get_config (self->document), self->layer, &lc);
  switch (field)
    {
    case FIELD_FORMAT:
      lc.weight.format = row_get_enum (self->format_row);
      lc.weight.bits = bits_for_format (lc.weight.format, lc.weight.bits);
      label = _("Weight Format");
      break;
    case FIELD_BITS:
      lc.weight.bits = (guint) gtk_spin_button_get_value_as_int (self->bits_spin);
      label = _("Weight Bits");
      break;
    case FIELD_MAPPING:
      lc.weight.mapping = row_get_enum (self->mapping_row);
      label = _("Weight Mapping");
      break;
    case FIELD_GRANULARITY:
      lc.weight.granularity = row_get_enum (self->granularity_row);
      if (lc.weight.granularity == QS_GRANULARITY_GROUP && lc.weight.group_size == 0)
        lc.weight.group_size = (guint) gtk_spin_button_get_value_as_int (self->group_spin);
      label = _("Weight Granularity");
      break;
    case FIELD_GROUP:
      lc.weight.group_size = (guint) gtk_spin_button_get_value_as_int (self->group_spin);
      label = _("Group Size");
      break;
    case FIELD_ROUNDING:
      lc.weight.rounding = row_get_enum (self->rounding_row);
      label = _("Rounding");
      break;
    case FIELD_RANGE:
      lc.weight.range_method = row_get_enum (self->range_row);
      if (lc.weight.range_method == QS_RANGE_PERCENTILE && lc.weight.range_param <= 0)
        lc.weight.range_param = gtk_spin_button_get_value (self->range_param_spin);
      label = _("Range Method");
      break;
    case FIELD_RANGE_PARAM:
      lc.weight.range_param = gtk_spin_button_get_value (self->range_param_spin);
      label = _("Percentile");
      break;
    case FIELD_SPARSITY:
      lc.weight.sparsity = gtk_spin_button_get_value (self->sparsity_spin) / 100.0;
      label = _("Pruning");
      break;
    case FIELD_ACT_ON:
      lc.quantize_activations = gtk_switch_get_active (self->act_switch);
      label = lc.quantize_activations ? _("Quantize Outputs") : _("Float Outputs");
      break;
    case FIELD_ACT_FORMAT:
      lc.activation.format = row_get_enum (self->act_format_row);
      lc.activation.bits = bits_for_format (lc.activation.format, lc.activation.bits);
      label = _("Activation Format");
      break;
    case FIELD_ACT_BITS:
      lc.activation.bits = (guint) gtk_spin_button_get_value_as_int (self->act_bits_spin);
      label = _("Activation Bits");
      break;
    case FIELD_CALIB:
      lc.activation.range_method = row_get_enum (self->calib_row);
      if (lc.activation.range_method == QS_RANGE_PERCENTILE && lc.activation.range_param <= 0)
        lc.activation.range_param = 99.99;
      label = _("Calibration");
      break;
    default:
      g_assert_not_reached ();
    }

  /* Spin buttons and repeated choices on the same control merge into one undo step. */
  key = g_strdup_printf ("%s/%d", self->layer, field);
  qs_document_set_layer_config (self->document, layers, &lc, label, key);
}

#define DEFINE_HANDLER(name, field) \
  static void name (QsLayerPage *self) { control_changed (self, field); }

DEFINE_HANDLER (on_format, FIELD_FORMAT)
DEFINE_HANDLER (on_bits, FIELD_BITS)
DEFINE_HANDLER (on_mapping, FIELD_MAPPING)
DEFINE_HANDLER (on_granularity, FIELD_GRANULARITY)
DEFINE_HANDLER (on_group, FIELD_GROUP)
DEFINE_HANDLER (on_rounding, FIELD_ROUNDING)
DEFINE_HANDLER (on_range, FIELD_RANGE)
DEFINE_HANDLER (on_range_param, FIELD_RANGE_PARAM)
DEFINE_HANDLER (on_sparsity, FIELD_SPARSITY)
DEFINE_HANDLER (on_act_on, FIELD_ACT_ON)
DEFINE_HANDLER (on_act_format, FIELD_ACT_FORMAT)
DEFINE_HANDLER (on_act_bits, FIELD_ACT_BITS)
DEFINE_HANDLER (on_calib, FIELD_CALIB)

/* ---------------------------------------------------------------------------------------- */
/* Document                                                                                 */

static void update_header (QsLayerPage *self);
static void update_activations (QsLayerPage *self);

static void
on_config_changed (QsLayerPage *self)
{
  sync_controls (self);
  update_stats (self);
  update_activations (self);
  /* A folded BatchNorm shows its target's stored kernel, which the config changes. */
  if (self->layer != NULL && g_strcmp0 (gtk_stack_get_visible_child_name (self->chart_or_empty), "batch-norm") == 0)
    update_header (self);
}

static void
on_layer_result_changed (QsLayerPage *self,
                         const char  *layer)
{
  if (g_strcmp0 (layer, self->layer) == 0)
    update_stats (self);
  else if (self->bn_target != NULL && g_strcmp0 (layer, self->bn_target) == 0
           && g_strcmp0 (gtk_stack_get_visible_child_name (self->chart_or_empty), "batch-norm") == 0)
    update_header (self);
}

/* ---------------------------------------------------------------------------------------- */
/* BatchNormalization                                                                       */

static float
tensor_max_abs (const QsTensor *tensor)
{
  float m = 0.0f;

  for (gsize i = 0; i < tensor->n_elements; i++)
    m = MAX (m, fabsf (tensor->data[i]));
  return m;
}

static void
add_fold_row (QsLayerPage *self,
              int          row,
              const char  *caption,
              const char  *value,
              const char  *detail)
{
  GtkWidget *label = gtk_label_new (caption);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *value_label = gtk_label_new (value);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_valign (label, GTK_ALIGN_START);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (value_label), 0);
  gtk_label_set_wrap (GTK_LABEL (value_label), TRUE);
  gtk_widget_add_css_class (value_label, "numeric");
  gtk_box_append (GTK_BOX (box), value_label);
  if (detail != NULL)
    {
      GtkWidget *detail_label = gtk_label_new (detail);

      gtk_label_set_xalign (GTK_LABEL (detail_label), 0);
      gtk_label_set_wrap (GTK_LABEL (detail_label), TRUE);
      gtk_widget_add_css_class (detail_label, "caption");
      gtk_widget_add_css_class (detail_label, "dim-label");
      gtk_box_append (GTK_BOX (box), detail_label);
    }
  gtk_widget_set_hexpand (box, TRUE);
  gtk_grid_attach (self->bn_grid, label, 0, row, 1, 1);
  gtk_grid_attach (self->bn_grid, box, 1, row, 1, 1);
}

/* A BatchNormalization has parameters but no kernel: say where the lowering put it. Folded
 * into the layer before it, it costs nothing at inference; what it changes is that layer's
 * stored kernel (scaled per output channel), shown here with the statistics of the kernel
 * the program stores. Not folded, it runs as a float step. */
static void
update_batch_norm (QsLayerPage   *self,
                   const QsLayer *layer)
{
  QsModel *model = qs_document_get_model (self->document);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, qs_document_get_config (self->document), &error);
  const QsLoweredLayer *lowered = lowering != NULL ? qs_lowering_get_layer (lowering, layer->index) : NULL;
  g_autofree char *params = g_strdup_printf ("%'zu", (gsize) layer->n_params);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->bn_grid))) != NULL)
    gtk_grid_remove (self->bn_grid, child);
  g_clear_pointer (&self->bn_target, g_free);

  if (lowered == NULL || lowered->folded_into < 0)
    {
      g_autofree char *description = NULL;

      if (lowering == NULL)
        /* Translators: %s says why the model cannot be lowered to a program */
        description = g_strdup_printf (_("Whether it folds into the layer before it is not known: %s"), error->message);
      else
        /* Translators: %s is a parameter count */
        description = g_strdup_printf (_("No layer before it takes it in, so it runs on its own as a float step: its %s parameters stay float32 and are not quantized."),
                                       params);
      gtk_label_set_text (self->bn_title, _("Runs in Float"));
      gtk_label_set_text (self->bn_description, description);
      gtk_widget_set_visible (self->bn_target_button, FALSE);
      gtk_widget_set_visible (self->bn_details, FALSE);
      return;
    }

  {
    const QsLayer *target = qs_model_get_layer (model, lowered->folded_into);
    const QsLoweredLayer *target_lowered = qs_lowering_get_layer (lowering, lowered->folded_into);
    const QsLoweredStep *step = target_lowered->step >= 0 ? qs_lowering_get_step (lowering, target_lowered->step) : NULL;
    g_autoptr(QsTensor) folded = step != NULL ? qs_lowering_get_step_kernel (lowering, target_lowered->step) : NULL;
    QsTensor *kernel = qs_layer_get_kernel (target);
    QsQuantResult *result = qs_document_get_layer_result (self->document, target->name);
    QsLoweredWeights weights;
    g_autofree char *title = NULL, *description = NULL, *button = NULL, *heading = NULL;
    g_autofree char *shape = NULL, *scales = NULL, *range = NULL, *range_detail = NULL;
    g_autofree char *sqnr = NULL, *sqnr_detail = NULL, *storage = NULL, *storage_detail = NULL;
    g_autofree char *mnemonic = NULL;

    /* Translators: %s is a layer name */
    title = g_strdup_printf (_("Folded into “%s”"), target->name);
    /* Translators: %s is a layer name, then a parameter count */
    description = g_strdup_printf (_("At inference its scale and shift are part of the kernel and bias of “%s”: its %s parameters cost nothing and have nothing of their own to quantize."),
                                   target->name, params);
    /* Mnemonics: a layer name's underscores are literal. */
    {
      g_auto(GStrv) parts = g_strsplit (target->name, "_", -1);

      mnemonic = g_strjoinv ("__", parts);
    }
    /* Translators: a button that selects the layer (its name) a BatchNormalization went into */
    button = g_strdup_printf (_("_Show “%s”"), mnemonic);
    gtk_label_set_text (self->bn_title, title);
    gtk_label_set_text (self->bn_description, description);
    gtk_button_set_label (GTK_BUTTON (self->bn_target_button), button);
    gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->bn_target_button),
                                            g_variant_new_string (target->name));
    gtk_actionable_set_action_name (GTK_ACTIONABLE (self->bn_target_button), "win.select-layer");
    gtk_widget_set_visible (self->bn_target_button, TRUE);
    g_free (self->bn_target);
    self->bn_target = g_strdup (target->name);

    if (folded == NULL || kernel == NULL || !qs_lowering_get_layer_weights (lowering, lowered->folded_into, &weights))
      {
        gtk_widget_set_visible (self->bn_details, FALSE);
        return;
      }

    /* Translators: %s is a layer name */
    heading = g_strdup_printf (_("What “%s” stores"), target->name);
    gtk_label_set_text (self->bn_details_title, heading);

    shape = qs_tensor_shape_to_string (folded);
    if (step->fold_scale != NULL && step->oc > 0)
      {
        double lo = step->fold_scale[0], hi = step->fold_scale[0];

        for (gsize i = 1; i < step->oc; i++)
          {
            lo = MIN (lo, step->fold_scale[i]);
            hi = MAX (hi, step->fold_scale[i]);
          }
        /* Translators: the per-channel factors of BatchNorm folding, γ / √(σ² + ε) */
        scales = g_strdup_printf (_("each output channel scaled by γ/√(σ²+ε), %.3g to %.3g"), lo, hi);
      }
    add_fold_row (self, 0, _("Kernel"), shape, scales);

    /* Translators: the largest absolute weight, before → after folding */
    range = g_strdup_printf (_("%.3g → %.3g"), tensor_max_abs (kernel), tensor_max_abs (folded));
    range_detail = g_strdup (_("as trained → with the BatchNormalization folded in"));
    add_fold_row (self, 1, _("Largest Weight"), range, range_detail);

    sqnr = qs_format_sqnr (weights.sqnr_db);
    if (result != NULL)
      {
        g_autofree char *unfolded = qs_format_sqnr (result->stats.sqnr_db);

        /* Translators: %s is an SQNR such as "48.8 dB" */
        sqnr_detail = g_strdup_printf (_("the folded kernel as stored vs in float; %s for the kernel as trained"), unfolded);
      }
    else
      sqnr_detail = g_strdup (_("the folded kernel as stored vs in float"));
    add_fold_row (self, 2, _("Stored SQNR"), sqnr, sqnr_detail);

    storage = g_format_size ((weights.storage_bits + 7) / 8);
    storage_detail = g_strdup (_("codes with scales and zero-points, and a 32-bit bias per channel"));
    add_fold_row (self, 3, _("Storage"), storage, storage_detail);
    gtk_widget_set_visible (self->bn_details, TRUE);
  }
}

static void
update_header (QsLayerPage *self)
{
  const QsLayer *layer = qs_model_find_layer (qs_document_get_model (self->document), self->layer);
  QsTensor *kernel = layer ? qs_layer_get_kernel (layer) : NULL;
  g_autofree char *subtitle = NULL;

  gtk_label_set_text (self->title_label, self->layer);
  if (layer == NULL)
    return;
  if (kernel != NULL)
    {
      g_autofree char *shape = qs_tensor_shape_to_string (kernel);
      g_autofree char *count = g_strdup_printf ("%'zu", (gsize) layer->n_params);

      /* Translators: "Conv2D · kernel [3, 3, 1, 32] · 320 parameters" */
      subtitle = g_strdup_printf (_("%s · kernel %s · %s parameters"), layer->class_name, shape, count);
    }
  else
    subtitle = g_strdup (layer->class_name);
  gtk_label_set_text (self->subtitle_label, subtitle);

  gtk_widget_set_visible (self->weight_group, kernel != NULL);
  /* Weight statistics of a layer without weights would be a grid of dashes. */
  gtk_widget_set_visible (GTK_WIDGET (self->stats_grid), kernel != NULL);
  if (kernel == NULL && strcmp (layer->class_name, "BatchNormalization") == 0)
    {
      update_batch_norm (self, layer);
      gtk_stack_set_visible_child_name (self->chart_or_empty, "batch-norm");
    }
  else
    gtk_stack_set_visible_child_name (self->chart_or_empty, kernel != NULL ? "charts" : "no-weights");
}

void
qs_layer_page_set_document (QsLayerPage *self,
                            QsDocument  *document)
{
  g_return_if_fail (QS_IS_LAYER_PAGE (self));

  if (self->document == document)
    return;
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  g_clear_pointer (&self->layer, g_free);
  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (self->histogram), NULL);
  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (self->heatmap), NULL);
  qs_channel_range_view_set_result (QS_CHANNEL_RANGE_VIEW (self->channels), NULL);
  qs_recompute_cancel_all (self->act_jobs);
  g_clear_pointer (&self->act_key, g_free);
  g_clear_pointer (&self->act_value, qs_act_stats_unref);
  g_clear_pointer (&self->act_owner, qs_act_stats_unref);
  qs_activation_view_set_data (QS_ACTIVATION_VIEW (self->activations), NULL, NULL, NULL);
  gtk_stack_set_visible_child_name (self->page_stack, "empty");
  if (document == NULL)
    return;

  g_signal_connect_swapped (document, "config-changed", G_CALLBACK (on_config_changed), self);
  g_signal_connect_swapped (document, "layer-result-changed", G_CALLBACK (on_layer_result_changed), self);
  g_signal_connect_swapped (document, "notify::busy", G_CALLBACK (update_stats), self);
  /* Emitted once the changed layers are resubmitted (after "config-changed"). */
  g_signal_connect_swapped (document, "summary-changed", G_CALLBACK (update_stale), self);
  g_signal_connect_swapped (document, "notify::target", G_CALLBACK (sync_controls), self);
}

static void
show_empty (QsLayerPage *self,
            const char  *search)
{
  if (search != NULL)
    {
      /* Translators: the layer filter matches nothing; %s is what was typed */
      g_autofree char *description = g_strdup_printf (_("No layer name contains “%s”"), search);

      adw_status_page_set_icon_name (self->empty_page, "system-search-symbolic");
      adw_status_page_set_title (self->empty_page, _("No Layer Matches"));
      adw_status_page_set_description (self->empty_page, description);
    }
  else
    {
      adw_status_page_set_icon_name (self->empty_page, "view-list-symbolic");
      adw_status_page_set_title (self->empty_page, _("No Layer Selected"));
      adw_status_page_set_description (self->empty_page, _("Pick a layer in the list to tune its quantization"));
    }
  gtk_stack_set_visible_child_name (self->page_stack, "empty");
}

void
qs_layer_page_show_no_match (QsLayerPage *self,
                             const char  *search)
{
  g_return_if_fail (QS_IS_LAYER_PAGE (self));
  g_return_if_fail (search != NULL);

  g_clear_pointer (&self->layer, g_free);
  show_empty (self, search);
}

void
qs_layer_page_set_layer (QsLayerPage *self,
                         const char  *layer)
{
  g_return_if_fail (QS_IS_LAYER_PAGE (self));

  if (g_strcmp0 (layer, self->layer) == 0)
    return;
  g_free (self->layer);
  self->layer = g_strdup (layer);
  if (self->document == NULL || layer == NULL)
    {
      show_empty (self, NULL);
      return;
    }

  qs_document_set_focus_layer (self->document, layer);
  /* an explanation belongs to the layer it was asked on */
  on_explain_close (self);
  qs_histogram_view_set_result (QS_HISTOGRAM_VIEW (self->histogram), NULL);
  qs_heatmap_view_set_result (QS_HEATMAP_VIEW (self->heatmap), NULL);
  qs_channel_range_view_set_result (QS_CHANNEL_RANGE_VIEW (self->channels), NULL);
  clear_stats (self);
  update_header (self);
  sync_controls (self);
  update_stats (self);
  update_activations (self);
  qs_document_break_coalescing (self->document);
  gtk_stack_set_visible_child_name (self->page_stack, "layer");
}

const char *
qs_layer_page_get_layer (QsLayerPage *self)
{
  g_return_val_if_fail (QS_IS_LAYER_PAGE (self), NULL);
  return self->layer;
}

void
qs_layer_page_set_chart (QsLayerPage *self,
                         const char  *chart)
{
  g_return_if_fail (QS_IS_LAYER_PAGE (self));
  g_return_if_fail (chart != NULL);

  if (adw_view_stack_get_child_by_name (self->chart_stack, chart) != NULL)
    adw_view_stack_set_visible_child_name (self->chart_stack, chart);
}

const char *
qs_layer_page_get_chart (QsLayerPage *self)
{
  g_return_val_if_fail (QS_IS_LAYER_PAGE (self), NULL);
  return adw_view_stack_get_visible_child_name (self->chart_stack);
}

/* ---------------------------------------------------------------------------------------- */
/* Chart export                                                                             */

static void
export_response (GtkNativeDialog *dialog,
                 int              response,
                 QsLayerPage     *self)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  gboolean ok = TRUE;
  const char *path;
  double scale = 2.0;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  if (file == NULL || self->export_view == NULL)
    {
      g_clear_object (&self->chooser);
      return;
    }

  path = g_file_peek_path (file);
  /* the size chosen in the dialog: the chart's own, or a slide's (PNG pixels at scale 1) */
  {
    const char *size = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (dialog), "size");
    int w = 0, h = 0;

    if (size != NULL && sscanf (size, "%dx%d", &w, &h) == 2 && w > 0 && h > 0)
      scale = 1.0;
    else
      w = h = 0;
    qs_chart_view_set_export_size (QS_CHART_VIEW (self->export_view), w, h);
  }
  if (QS_IS_HISTOGRAM_VIEW (self->export_view))
    ok = qs_histogram_view_export (QS_HISTOGRAM_VIEW (self->export_view), path, scale, &error);
  else if (QS_IS_HEATMAP_VIEW (self->export_view))
    ok = qs_heatmap_view_export (QS_HEATMAP_VIEW (self->export_view), path, scale, &error);
  else if (QS_IS_CHANNEL_RANGE_VIEW (self->export_view))
    ok = qs_channel_range_view_export (QS_CHANNEL_RANGE_VIEW (self->export_view), path, scale, &error);
  else if (QS_IS_ACTIVATION_VIEW (self->export_view))
    ok = qs_activation_view_export (QS_ACTIVATION_VIEW (self->export_view), path, scale, &error);
  g_clear_object (&self->chooser);

  if (ok)
    {
      g_autofree char *name = g_file_get_basename (file);
      /* Translators: %s is a file name */
      message = g_strdup_printf (_("Chart saved as “%s”"), name);
    }
  else
    message = g_strdup_printf (_("Could not export the chart: %s"), error->message);
  /* The window shows it; outside a window (tests) nothing does. */
  gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s", message);
}

static void
export_view (QsLayerPage *self,
             GtkWidget   *view)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *name = NULL;
  const char *kind;

  if (self->layer == NULL)
    return;
  kind = QS_IS_HISTOGRAM_VIEW (view) ? "histogram" : QS_IS_HEATMAP_VIEW (view) ? "heatmap"
    : QS_IS_ACTIVATION_VIEW (view) ? "activations" : "channels";
  name = g_strdup_printf ("%s-%s.png", self->layer, kind);
  g_strdelimit (name, "/\\:", '_');

  self->export_view = view;
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Export Image"), GTK_WINDOW (root),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_filter_set_name (filter, _("Images (PNG, SVG, PDF)"));
  gtk_file_filter_add_pattern (filter, "*.png");
  gtk_file_filter_add_pattern (filter, "*.svg");
  gtk_file_filter_add_pattern (filter, "*.pdf");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
  {
    /* slides want a known size: the chart as on screen (at 2x), or 16:9 sizes */
    const char *ids[] = { "window", "1280x720", "1920x1080", "3840x2160", NULL };
    const char *labels[] = { _("As on screen"), _("1280 × 720 (HD)"), _("1920 × 1080 (Full HD)"),
                             _("3840 × 2160 (4K)"), NULL };

    gtk_file_chooser_add_choice (GTK_FILE_CHOOSER (self->chooser), "size", _("Size"), ids, labels);
    gtk_file_chooser_set_choice (GTK_FILE_CHOOSER (self->chooser), "size", "window");
  }
  g_signal_connect (self->chooser, "response", G_CALLBACK (export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_export_clicked (QsLayerPage *self)
{
  export_view (self, adw_view_stack_get_visible_child (self->chart_stack));
}

static void
on_export_requested (GtkWidget   *view,
                     QsLayerPage *self)
{
  export_view (self, view);
}

/* ---------------------------------------------------------------------------------------- */
/* GObject                                                                                  */

static void
qs_layer_page_dispose (GObject *object)
{
  QsLayerPage *self = QS_LAYER_PAGE (object);

  qs_layer_page_set_document (self, NULL);
  if (self->act_jobs != NULL)
    qs_recompute_shutdown (self->act_jobs);
  g_clear_object (&self->act_jobs);
  g_clear_pointer (&self->act_error, g_free);
  g_cancellable_cancel (self->explain_cancellable);
  g_clear_object (&self->explain_cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->layer, g_free);
  g_clear_pointer (&self->bn_target, g_free);
  /* AdwBin owns the template's root: let it go first, or AdwBin's own dispose unparents
   * a child the template has already disposed */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_LAYER_PAGE);

  G_OBJECT_CLASS (qs_layer_page_parent_class)->dispose (object);
}

static void
qs_layer_page_class_init (QsLayerPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_layer_page_dispose;

  g_type_ensure (QS_TYPE_REFLOW_BOX);
  g_type_ensure (QS_TYPE_EXPLAIN_PANEL);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-layer-page.ui");
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, page_stack);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, weight_group);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, format_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, bits_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, bits_spin);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, mapping_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, granularity_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, group_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, group_spin);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, rounding_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, range_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, range_param_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, range_param_spin);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, sparsity_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, sparsity_spin);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, act_switch_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, act_switch);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, act_format_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, act_bits_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, target_banner);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, target_label);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, act_bits_spin);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, calib_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, requant_row);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, explain_hint);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, explain_revealer);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, explain_panel);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, stats_grid);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, chart_or_empty);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, chart_stack);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, export_button);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, bn_title);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, bn_description);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, bn_target_button);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, bn_details);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, bn_details_title);
  gtk_widget_class_bind_template_child (widget_class, QsLayerPage, bn_grid);
}

static void
add_stat (QsLayerPage *self,
          guint        stat,
          const char  *caption,
          const char  *description,
          const char  *tooltip)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *label = gtk_label_new (caption);
  GtkWidget *value = gtk_label_new ("—");
  GtkWidget *detail = gtk_label_new (NULL);

  gtk_widget_add_css_class (box, "stat-tile");
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (detail), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (detail, "caption");
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (label, "caption-heading");
  gtk_widget_add_css_class (label, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (value), 0);
  gtk_label_set_ellipsize (GTK_LABEL (value), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (value, "stat-value");
  gtk_widget_add_css_class (value, "numeric");
  gtk_accessible_update_property (GTK_ACCESSIBLE (value), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
  gtk_widget_set_tooltip_text (box, tooltip);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), value);
  gtk_box_append (GTK_BOX (box), detail);
  /* A flow box: the cards reflow to fewer columns when the pane is narrow. They are not
   * selectable, so no Tab stop either. */
  gtk_flow_box_append (self->stats_grid, box);
  gtk_widget_set_focusable (gtk_widget_get_parent (box), FALSE);
  self->stat_values[stat] = GTK_LABEL (value);
  self->stat_details[stat] = GTK_LABEL (detail);
}

/* ---------------------------------------------------------------------------------------- */
/* Activations                                                                              */

typedef struct
{
  QsModel     *model;
  QsEvalCache *cache;      /* the document's: its calibrations are the quick evaluation's */
  QsDataset   *dataset;    /* nullable: its preprocessing, part of the calibration key */
  char        *source;
  guint        n_images;
  char        *value;
  char        *owner;
} ActJob;

typedef struct
{
  QsActStats *value;
  QsActStats *owner;
} ActResult;

static void
act_job_free (gpointer data)
{
  ActJob *job = data;

  g_clear_object (&job->model);
  g_clear_pointer (&job->cache, qs_eval_cache_unref);
  g_clear_object (&job->dataset);
  g_free (job->source);
  g_free (job->value);
  g_free (job->owner);
  g_free (job);
}

static void
act_result_free (gpointer data)
{
  ActResult *r = data;

  g_clear_pointer (&r->value, qs_act_stats_unref);
  g_clear_pointer (&r->owner, qs_act_stats_unref);
  g_free (r);
}

/* Worker: the calibration (cached with the quick evaluation's: usually there already) and
 * its histograms (one pass over the calibration images, on first use, then kept). */
static gpointer
act_job_run (gpointer       input,
             GCancellable  *cancellable,
             GError       **error)
{
  ActJob *job = input;
  g_autoptr(QsCalibration) calib = NULL;
  ActResult *r;

  calib = qs_calibration_cache_get_full (qs_eval_cache_get_calibrations (job->cache), job->model,
                                         job->source,
                                         job->dataset != NULL ? qs_dataset_get_preprocess (job->dataset) : NULL,
                                         job->n_images, NULL, NULL, cancellable, error);
  if (calib == NULL)
    return NULL;
  r = g_new0 (ActResult, 1);
  r->value = qs_calibration_get_activations (calib, job->value, error);
  if (r->value != NULL)
    r->owner = g_str_equal (job->value, job->owner) ? qs_act_stats_ref (r->value)
      : qs_calibration_get_activations (calib, job->owner, error);
  if (r->owner == NULL)
    {
      act_result_free (r);
      return NULL;
    }
  return r;
}

/* Worker: a range the main thread does not know yet (MSE and KL search the histogram:
 * up to tens of milliseconds); the statistics remember it, and act_job_done () asks again. */
typedef struct
{
  QsActStats  *owner;
  QsQuantSpec  spec;
} RangeJob;

static void
range_job_free (gpointer data)
{
  RangeJob *job = data;

  qs_act_stats_unref (job->owner);
  g_free (job);
}

static gpointer
range_job_run (gpointer       input,
               GCancellable  *cancellable,
               GError       **error)
{
  RangeJob *job = input;
  ActResult *r = g_new0 (ActResult, 1);
  float lo, hi;

  /* an error is remembered with the choice and shown by act_apply () */
  qs_act_stats_choose_range (job->owner, &job->spec, &lo, &hi, NULL);
  r->value = qs_act_stats_ref (job->owner);
  r->owner = qs_act_stats_ref (job->owner);
  return r;
}

/* The value the view shows for a layer: its output as the program holds it, or
 * "name#pre" when its own activation (a softmax) was split off and runs in float while the
 * value before it is quantized. *owner: the value whose range it uses (pooling and the like
 * share their input's); *quantized: the program holds it as integer codes with *spec. */
static char *
act_value_for_layer (QsLowering  *lowering,
                     guint        layer_index,
                     const char  *layer_name,
                     char       **owner,
                     gboolean    *quantized,
                     QsQuantSpec *spec)
{
  const QsLoweredLayer *ll = qs_lowering_get_layer (lowering, layer_index);
  g_autofree char *pre = g_strconcat (layer_name, "#pre", NULL);
  const QsLoweredValue *val, *own;
  gint v, pv;

  if (ll == NULL || ll->output < 0)
    return NULL;
  v = ll->output;
  val = qs_lowering_get_value (lowering, v);
  pv = qs_lowering_find_value (lowering, pre);
  if (!val->is_int && pv >= 0 && qs_lowering_get_value (lowering, pv)->is_int)
    {
      v = pv;
      val = qs_lowering_get_value (lowering, v);
    }
  if (val->name == NULL)
    return NULL;
  *quantized = val->is_int;
  own = val->is_int ? qs_lowering_get_value (lowering, qs_lowering_get_range_owner (lowering, v)) : val;
  *owner = g_strdup (own->range_name != NULL ? own->range_name : own->name != NULL ? own->name : val->name);
  if (val->is_int)
    *spec = own->spec;
  return g_strdup (val->name);
}

static void
act_show (QsLayerPage *self,
          const char  *note)
{
  qs_activation_view_set_data (QS_ACTIVATION_VIEW (self->activations), NULL, NULL, note);
}

/* Main thread, microseconds: the range the config picks (fixed by the config, or chosen by
 * the calibration method from the owner's histogram, as qs_calibration_get_range ()), and
 * what it clips and costs in SQNR. A range not chosen yet (MSE, KL) is chosen in a worker
 * first; the statistics remember it, so later changes elsewhere in the model find it. */
static void
act_apply (QsLayerPage       *self,
           QsLowering        *lowering,
           gboolean           quantized,
           const QsQuantSpec *spec,
           const char        *owner)
{
  g_autoptr(GError) error = NULL;
  g_autofree QsLoweredRange *ranges = NULL;
  g_autofree char *note = NULL;
  QsActRangeStats r;
  gboolean fixed = FALSE;
  float lo = 0, hi = 0;
  guint n = 0;

  if (self->act_value == NULL)
    return;
  if (!quantized)
    {
      qs_activation_view_set_data (QS_ACTIVATION_VIEW (self->activations), self->act_value, NULL,
                                   _("Activations stay float: this layer’s output is not quantized"));
      return;
    }
  ranges = qs_lowering_list_ranges (lowering, &n);
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (ranges[i].name, owner) == 0 && ranges[i].fixed)
      {
        fixed = TRUE;
        lo = ranges[i].lo;
        hi = ranges[i].hi;
      }
  if (!fixed && !qs_act_stats_range_is_known (self->act_owner, spec))
    {
      RangeJob *job = g_new0 (RangeJob, 1);

      /* the view keeps what it shows until the worker has chosen */
      job->owner = qs_act_stats_ref (self->act_owner);
      job->spec = *spec;
      qs_recompute_submit (self->act_jobs, "activation-range", 0, range_job_run, job, range_job_free);
      return;
    }
  if ((!fixed && !qs_act_stats_choose_range (self->act_owner, spec, &lo, &hi, &error))
      || !qs_act_stats_measure (self->act_value, spec, lo, hi, &r, &error))
    {
      /* Translators: %s says why no range could be chosen for the activations */
      note = g_strdup_printf (_("No range: %s"), error->message);
      qs_activation_view_set_data (QS_ACTIVATION_VIEW (self->activations), self->act_value, NULL, note);
      return;
    }
  if (fixed)
    note = g_strdup (_("Range fixed by the config (quantization-aware training)"));
  else if (g_strcmp0 (owner, self->act_value->name) != 0)
    /* Translators: %s is the value (a layer output) whose range this one shares */
    note = g_strdup_printf (_("Range shared with “%s”"), owner);
  qs_activation_view_set_data (QS_ACTIVATION_VIEW (self->activations), self->act_value, &r, note);
}

static void
update_activations (QsLayerPage *self)
{
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL, *owner = NULL, *key = NULL, *pp = NULL;
  QsConfig *config;
  QsModel *model;
  QsDataset *dataset;
  const QsLayer *layer;
  QsQuantSpec spec = { 0 };
  gboolean quantized = FALSE;

  if (self->document == NULL || self->layer == NULL || self->act_jobs == NULL
      || adw_view_stack_get_visible_child (self->chart_stack) != self->activations)
    return;
  model = qs_document_get_model (self->document);
  config = qs_document_get_config (self->document);
  dataset = qs_document_get_dataset (self->document);
  layer = qs_model_find_layer (model, self->layer);
  if (layer == NULL)
    return;
  lowering = qs_lowering_new (model, config, &error);
  if (lowering == NULL)
    {
      /* Translators: %s says why the model cannot run */
      g_autofree char *note = g_strdup_printf (_("No activations: %s"), error->message);

      act_show (self, note);
      return;
    }
  value = act_value_for_layer (lowering, layer->index, layer->name, &owner, &quantized, &spec);
  if (value == NULL)
    {
      act_show (self, _("This layer has no output of its own in the program"));
      return;
    }
  pp = dataset != NULL && qs_dataset_get_preprocess (dataset) != NULL
    ? qs_preprocess_to_string (qs_dataset_get_preprocess (dataset)) : g_strdup ("auto");
  key = g_strdup_printf ("%s|%s|%s|%u|%s|%s", qs_model_get_checksum (model),
                         qs_config_get_calib_source (config), pp,
                         qs_config_get_calib_images (config), value, owner);
  if (g_strcmp0 (key, self->act_key) != 0)
    {
      ActJob *job = g_new0 (ActJob, 1);

      g_free (self->act_key);
      self->act_key = g_steal_pointer (&key);
      g_clear_pointer (&self->act_value, qs_act_stats_unref);
      g_clear_pointer (&self->act_owner, qs_act_stats_unref);
      g_clear_pointer (&self->act_error, g_free);
      job->model = g_object_ref (model);
      job->cache = qs_eval_cache_ref (qs_document_get_eval_cache (self->document));
      job->dataset = dataset != NULL ? g_object_ref (dataset) : NULL;
      job->source = g_strdup (qs_config_get_calib_source (config));
      job->n_images = qs_config_get_calib_images (config);
      job->value = g_strdup (value);
      job->owner = g_strdup (owner);
      {
        /* Translators: shown while the activations are measured; %u is an image count */
        g_autofree char *note = g_strdup_printf (_("Measuring the activations on %u calibration images…"),
                                                 job->n_images);
        act_show (self, note);
      }
      qs_recompute_submit (self->act_jobs, "activations", 0, act_job_run, job, act_job_free);
      return;
    }
  if (self->act_error != NULL)
    act_show (self, self->act_error);
  else
    act_apply (self, lowering, quantized, &spec, owner);
}

/* The Activations tab has no explain panel: its hint goes while it is shown. */
static void
on_chart_switched (QsLayerPage *self)
{
  if (adw_view_stack_get_visible_child (self->chart_stack) == self->activations)
    gtk_widget_set_visible (self->explain_hint, FALSE);
  else if (!gtk_revealer_get_reveal_child (self->explain_revealer))
    gtk_widget_set_visible (self->explain_hint, TRUE);
  update_activations (self);
}

static void
act_job_done (QsRecompute  *jobs,
              const char   *key,
              gpointer      result,
              const GError *error,
              gpointer      user_data)
{
  QsLayerPage *self = user_data;
  ActResult *r = result;

  if (g_strcmp0 (key, "activation-range") == 0)
    {
      /* the range is remembered now (or the job was cancelled by a newer one) */
      if (r != NULL && r->owner == self->act_owner)
        update_activations (self);
      return;
    }
  g_clear_pointer (&self->act_value, qs_act_stats_unref);
  g_clear_pointer (&self->act_owner, qs_act_stats_unref);
  g_clear_pointer (&self->act_error, g_free);
  if (r == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* Translators: %s says why the activations could not be measured */
      self->act_error = g_strdup_printf (_("The activations could not be measured: %s"), error->message);
    }
  else
    {
      self->act_value = qs_act_stats_ref (r->value);
      self->act_owner = qs_act_stats_ref (r->owner);
    }
  update_activations (self);
}

/* ---------------------------------------------------------------------------------------- */
/* The explain panel                                                                        */

typedef struct
{
  QsModel  *model;
  QsConfig *config;
  char     *dataset;     /* calibration source */
  QsDataset *images;     /* the document's dataset: the example image */
  guint     layer_index;
  gsize     channel;
} RequantJob;

static void
requant_job_free (gpointer data)
{
  RequantJob *job = data;

  g_clear_object (&job->model);
  g_clear_object (&job->config);
  g_clear_object (&job->images);
  g_free (job->dataset);
  g_free (job);
}

/* Worker: calibrates (16 images), lowers, runs the integer program on the first image and
 * explains the first output pixel of the clicked weight's output channel. */
static void
requant_thread (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  RequantJob *job = data;
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *image = NULL;
  QsExplainRequant *e;
  gsize n_out, oc;

  if ((lowering = qs_lowering_new (job->model, job->config, &error)) == NULL)
    goto fail;
  n_out = qs_explain_requant_n_outputs (lowering, job->layer_index);
  if (n_out == 0)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  calib = qs_calibration_cache_get (NULL, job->model, job->dataset, 16, NULL, NULL, cancellable, &error);
  if (calib == NULL || (ranges = qs_calibration_make_ranges (calib, lowering, &error)) == NULL)
    goto fail;
  {
    const QsLoweredValue *in = qs_lowering_get_value (lowering, (guint) qs_lowering_get_input (lowering));
    image = g_new (float, in->h * in->w * in->c);
  }
  if (!qs_dataset_fill_inputs (job->images, job->model, 0, 1, image, &error))
    goto fail;
  oc = qs_lowering_get_step (lowering, (guint) qs_lowering_get_layer (lowering, job->layer_index)->step)->oc;
  e = qs_explain_requant_new (lowering, ranges, image, job->layer_index, job->channel % MAX (oc, 1), &error);
  if (e == NULL)
    goto fail;
  g_task_return_pointer (task, e, (GDestroyNotify) qs_explain_requant_free);
  return;

fail:
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
requant_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsExplainRequant) e = g_task_propagate_pointer (G_TASK (result), &error);
  QsLayerPage *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = QS_LAYER_PAGE (source);
  if (e != NULL)
    qs_explain_panel_show_requant (self->explain_panel, e, NULL);
  else if (error != NULL)
    qs_explain_panel_show_requant (self->explain_panel, NULL, error->message);
  else
    qs_explain_panel_show_requant (self->explain_panel, NULL,
                                   _("This layer runs in float: its output is not requantized. Quantize its activations and use signed symmetric int2 to int8 weights to see the integer arithmetic."));
}

static void
start_requant (QsLayerPage *self,
               gsize        channel)
{
  QsModel *model = qs_document_get_model (self->document);
  QsDataset *dataset = qs_document_get_dataset (self->document);
  g_autoptr(GTask) task = NULL;
  RequantJob *job;
  gint layer_index = -1;

  g_cancellable_cancel (self->explain_cancellable);
  g_clear_object (&self->explain_cancellable);
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    if (g_strcmp0 (qs_model_get_layer (model, i)->name, self->layer) == 0)
      layer_index = (gint) i;
  if (layer_index < 0)
    return;
  if (dataset == NULL)
    {
      qs_explain_panel_show_requant (self->explain_panel, NULL,
                                     _("Open a dataset to see an integer requantization on an image."));
      return;
    }
  self->explain_cancellable = g_cancellable_new ();
  job = g_new0 (RequantJob, 1);
  job->model = g_object_ref (model);
  job->config = qs_config_copy (qs_document_get_config (self->document));
  job->dataset = g_strdup (qs_config_get_calib_source (job->config));
  job->images = g_object_ref (dataset);
  job->layer_index = (guint) layer_index;
  job->channel = channel;
  task = g_task_new (self, self->explain_cancellable, requant_done, NULL);
  g_task_set_source_tag (task, start_requant);
  g_task_set_task_data (task, job, requant_job_free);
  g_task_run_in_thread (task, requant_thread);
}

void
qs_layer_page_explain_weight (QsLayerPage *self,
                              gsize        index)
{
  QsQuantResult *result;
  g_autofree char *heading = NULL;

  g_return_if_fail (QS_IS_LAYER_PAGE (self));

  if (self->document == NULL || self->layer == NULL)
    return;
  result = qs_document_get_layer_result (self->document, self->layer);
  if (result == NULL || index >= result->input->n_elements)
    return;
  /* Translators: the explain panel's heading; %zu is the weight's index in the kernel */
  heading = g_strdup_printf (_("Weight #%zu of “%s”, step by step"), index, self->layer);
  gtk_revealer_set_reveal_child (self->explain_revealer, TRUE);
  gtk_widget_set_visible (self->explain_hint, FALSE);
  if (qs_explain_panel_show_value (self->explain_panel, result, index, heading))
    {
      const QsExplainValue *v = qs_explain_panel_get_value (self->explain_panel);
      start_requant (self, v->channel);
    }
}

QsExplainPanel *
qs_layer_page_get_explain_panel (QsLayerPage *self)
{
  g_return_val_if_fail (QS_IS_LAYER_PAGE (self), NULL);
  return self->explain_panel;
}

static void
on_weight_activated (QsLayerPage *self,
                     guint64      index)
{
  qs_layer_page_explain_weight (self, (gsize) index);
}

static void
on_bin_activated (QsLayerPage *self,
                  gint         bin)
{
  QsQuantResult *result = qs_chart_view_get_result (QS_CHART_VIEW (self->histogram));
  double lo, hi;

  if (result == NULL || !qs_histogram_view_get_bin_range (QS_HISTOGRAM_VIEW (self->histogram), bin, &lo, &hi))
    return;
  /* the weight nearest to the bin's centre, in the channel shown */
  qs_layer_page_explain_weight (self, qs_explain_find_nearest (result, qs_histogram_view_get_channel (QS_HISTOGRAM_VIEW (self->histogram)),
                                                               (lo + hi) / 2));
}

static void
on_channel_activated (QsLayerPage *self,
                      gint         channel)
{
  QsQuantResult *result = qs_chart_view_get_result (QS_CHART_VIEW (self->channels));

  if (result == NULL || channel < 0)
    return;
  /* the weight that sets the channel's range */
  qs_layer_page_explain_weight (self, qs_explain_find_channel_extreme (result, (gsize) channel));
}

static void
on_explain_close (QsLayerPage *self)
{
  gtk_revealer_set_reveal_child (self->explain_revealer, FALSE);
  gtk_widget_set_visible (self->explain_hint,
                          adw_view_stack_get_visible_child (self->chart_stack) != self->activations);
}

static void
add_chart (QsLayerPage *self,
           GtkWidget   *view,
           const char  *name,
           const char  *title,
           const char  *icon)
{
  AdwViewStackPage *page = adw_view_stack_add_titled (self->chart_stack, view, name, title);

  adw_view_stack_page_set_icon_name (page, icon);
  gtk_widget_set_hexpand (view, TRUE);
  gtk_widget_set_vexpand (view, TRUE);
  g_signal_connect (view, "export-requested", G_CALLBACK (on_export_requested), self);
}

static void
qs_layer_page_init (QsLayerPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  setup_enum_row (self->format_row, QS_TYPE_FORMAT);
  setup_enum_row (self->mapping_row, QS_TYPE_MAPPING);
  setup_enum_row (self->granularity_row, QS_TYPE_GRANULARITY);
  setup_enum_row (self->rounding_row, QS_TYPE_ROUNDING);
  setup_enum_row (self->range_row, QS_TYPE_RANGE_METHOD);
  setup_enum_row (self->act_format_row, QS_TYPE_FORMAT);
  setup_enum_row (self->calib_row, QS_TYPE_RANGE_METHOD);
  {
    g_autoptr(GtkStringList) modes = gtk_string_list_new (NULL);

    for (guint m = 0; m < QS_REQUANT_N_MODES; m++)
      gtk_string_list_append (modes, qs_requant_mode_to_string ((QsRequantMode) m));
    adw_combo_row_set_model (self->requant_row, G_LIST_MODEL (modes));
  }

  /* The spin buttons offer the integer widths core accepts. */
  {
    guint min_bits, max_bits;

    qs_quant_format_get_bits_range (QS_FORMAT_INT, &min_bits, &max_bits);
    gtk_spin_button_set_range (self->bits_spin, min_bits, max_bits);
    gtk_spin_button_set_range (self->act_bits_spin, min_bits, max_bits);
  }

  /* Ctrl+Z undoes document changes, not the text of a spin button. */
  gtk_editable_set_enable_undo (GTK_EDITABLE (self->bits_spin), FALSE);
  gtk_editable_set_enable_undo (GTK_EDITABLE (self->group_spin), FALSE);
  gtk_editable_set_enable_undo (GTK_EDITABLE (self->range_param_spin), FALSE);
  gtk_editable_set_enable_undo (GTK_EDITABLE (self->sparsity_spin), FALSE);
  gtk_editable_set_enable_undo (GTK_EDITABLE (self->act_bits_spin), FALSE);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self->bits_spin), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Weight bits"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->group_spin), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Group size"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->range_param_spin), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Percentile kept"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->sparsity_spin), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Pruning percent"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->act_switch), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Quantize outputs"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->act_bits_spin), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Activation bits"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->export_button), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Export Image"), -1);
  /* The rows' "activatable-widget" also labels the controls by the row title ("Bits"), which
   * screen readers append to the names above: keep only the unambiguous names. */
  {
    GtkWidget *labelled[] = { GTK_WIDGET (self->bits_spin), GTK_WIDGET (self->group_spin),
                              GTK_WIDGET (self->range_param_spin), GTK_WIDGET (self->sparsity_spin),
                              GTK_WIDGET (self->act_switch), GTK_WIDGET (self->act_bits_spin) };

    for (guint i = 0; i < G_N_ELEMENTS (labelled); i++)
      gtk_accessible_reset_relation (GTK_ACCESSIBLE (labelled[i]), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
  }
  /* One Tab stop per control: the spin button or switch, not also the row around it. */
  {
    GtkWidget *rows[] = { self->bits_row, self->group_row, self->range_param_row, self->sparsity_row,
                          self->act_switch_row, self->act_bits_row };

    for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
      gtk_widget_set_focusable (rows[i], FALSE);
  }
  /* Both sections have a "Format" row. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->format_row), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Weight format"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->act_format_row), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Activation format"), -1);

  g_signal_connect_swapped (self->format_row, "notify::selected", G_CALLBACK (on_format), self);
  g_signal_connect_swapped (self->bits_spin, "value-changed", G_CALLBACK (on_bits), self);
  g_signal_connect_swapped (self->mapping_row, "notify::selected", G_CALLBACK (on_mapping), self);
  g_signal_connect_swapped (self->granularity_row, "notify::selected", G_CALLBACK (on_granularity), self);
  g_signal_connect_swapped (self->group_spin, "value-changed", G_CALLBACK (on_group), self);
  g_signal_connect_swapped (self->rounding_row, "notify::selected", G_CALLBACK (on_rounding), self);
  g_signal_connect_swapped (self->range_row, "notify::selected", G_CALLBACK (on_range), self);
  g_signal_connect_swapped (self->range_param_spin, "value-changed", G_CALLBACK (on_range_param), self);
  g_signal_connect_swapped (self->sparsity_spin, "value-changed", G_CALLBACK (on_sparsity), self);
  g_signal_connect_swapped (self->act_switch, "notify::active", G_CALLBACK (on_act_on), self);
  g_signal_connect_swapped (self->act_format_row, "notify::selected", G_CALLBACK (on_act_format), self);
  g_signal_connect_swapped (self->act_bits_spin, "value-changed", G_CALLBACK (on_act_bits), self);
  g_signal_connect_swapped (self->calib_row, "notify::selected", G_CALLBACK (on_calib), self);
  g_signal_connect_swapped (self->requant_row, "notify::selected", G_CALLBACK (on_requant), self);
  g_signal_connect_swapped (self->export_button, "clicked", G_CALLBACK (on_export_clicked), self);

  add_stat (self, STAT_SQNR, _("SQNR"), _("Layer SQNR"),
            _("Signal-to-quantization-noise ratio of the weights: higher is better, each bit adds about 6 dB"));
  add_stat (self, STAT_MSE, _("MSE"), _("Layer MSE"), _("Mean squared error of the quantized weights"));
  add_stat (self, STAT_MAX_ERROR, _("Max Error"), _("Layer maximum error"), _("Largest absolute error of a single weight"));
  add_stat (self, STAT_CLIPPED, _("Clipped"), _("Layer clipped weights"), _("Weights outside the representable range"));
  add_stat (self, STAT_LEVELS, _("Levels Used"), _("Layer levels used"), _("Distinct integer codes the weights use"));
  add_stat (self, STAT_ENTROPY, _("Entropy"), _("Layer code entropy"),
            _("Shannon entropy of the codes: the bits a perfect entropy coder would need per weight"));
  add_stat (self, STAT_SIZE, _("Storage"), _("Layer storage"),
            _("Kernel size in float32 and quantized, with scales and zero-points"));
  add_stat (self, STAT_COSINE, _("Cosine"), _("Layer cosine similarity"),
            _("Cosine similarity of the float and the quantized weights"));

  self->histogram = qs_histogram_view_new ();
  self->heatmap = qs_heatmap_view_new ();
  self->channels = qs_channel_range_view_new ();
  add_chart (self, self->histogram, "histogram", _("Histogram"), "view-continuous-symbolic");
  add_chart (self, self->heatmap, "heatmap", _("Error Map"), "view-grid-symbolic");
  add_chart (self, self->channels, "channels", _("Channel Ranges"), "view-list-symbolic");
  self->activations = qs_activation_view_new ();
  add_chart (self, self->activations, "activations", _("Activations"), "media-playlist-shuffle-symbolic");
  self->act_jobs = qs_recompute_new (act_job_done, self, act_result_free);
  g_signal_connect_swapped (self->chart_stack, "notify::visible-child", G_CALLBACK (on_chart_switched), self);
  g_signal_connect_swapped (self->heatmap, "weight-activated", G_CALLBACK (on_weight_activated), self);
  g_signal_connect_swapped (self->histogram, "item-activated", G_CALLBACK (on_bin_activated), self);
  g_signal_connect_swapped (self->channels, "item-activated", G_CALLBACK (on_channel_activated), self);
  g_signal_connect_swapped (self->explain_panel, "close-requested", G_CALLBACK (on_explain_close), self);
}

GtkWidget *
qs_layer_page_new (void)
{
  return g_object_new (QS_TYPE_LAYER_PAGE, NULL);
}
