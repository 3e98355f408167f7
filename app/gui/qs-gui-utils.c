/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "qs-document.h"
#include "qs-gui-utils.h"

/* ---------------------------------------------------------------------------------------- */
/* Numbers                                                                                  */

char *
qs_format_count (guint64 count)
{
  if (count >= 1000000)
    return g_strdup_printf ("%.1f M", count / 1e6);
  if (count >= 10000)
    return g_strdup_printf ("%.0f K", count / 1e3);
  if (count >= 1000)
    return g_strdup_printf ("%.1f K", count / 1e3);
  return g_strdup_printf ("%" PRIu64, count);
}

char *
qs_format_energy (double picojoules)
{
  static const char * const units[] = { "pJ", "nJ", "µJ", "mJ", "J" };
  double v = picojoules;
  guint u = 0;

  if (!isfinite (v))
    return g_strdup ("—");
  while (u + 1 < G_N_ELEMENTS (units) && fabs (v) >= 999.5)
    {
      v /= 1000.0;
      u++;
    }
  /* Translators: an energy and its unit, "17.5 µJ" */
  return g_strdup_printf (_("%.3g %s"), v, units[u]);
}

char *
qs_format_sqnr (double sqnr_db)
{
  if (isinf (sqnr_db))
    return g_strdup (_("Lossless"));
  if (isnan (sqnr_db))
    return g_strdup ("—");
  return g_strdup_printf (_("%.1f dB"), sqnr_db);
}

/* ---------------------------------------------------------------------------------------- */
/* Enum display names                                                                       */

const char *
qs_format_display_name (QsFormat value)
{
  switch (value)
    {
    case QS_FORMAT_FP32: return _("Float 32 (unchanged)");
    case QS_FORMAT_INT: return _("Integer");
    case QS_FORMAT_BINARY: return _("Binary (1 bit)");
    case QS_FORMAT_TERNARY: return _("Ternary (1.58 bits)");
    case QS_FORMAT_FP16: return _("Float 16");
    case QS_FORMAT_BF16: return _("BFloat16");
    case QS_FORMAT_FP8_E4M3: return _("FP8 E4M3");
    case QS_FORMAT_FP8_E5M2: return _("FP8 E5M2");
    default: return "?";
    }
}

const char *
qs_mapping_display_name (QsMapping value)
{
  switch (value)
    {
    case QS_MAPPING_SYMMETRIC: return _("Symmetric");
    case QS_MAPPING_AFFINE: return _("Affine (zero-point)");
    default: return "?";
    }
}

const char *
qs_granularity_display_name (QsGranularity value)
{
  switch (value)
    {
    case QS_GRANULARITY_TENSOR: return _("Per Tensor");
    case QS_GRANULARITY_CHANNEL: return _("Per Channel");
    case QS_GRANULARITY_GROUP: return _("Per Group");
    default: return "?";
    }
}

const char *
qs_rounding_display_name (QsRounding value)
{
  switch (value)
    {
    case QS_ROUNDING_NEAREST_EVEN: return _("Nearest, Ties to Even");
    case QS_ROUNDING_NEAREST_AWAY: return _("Nearest, Ties Away");
    case QS_ROUNDING_FLOOR: return _("Floor");
    case QS_ROUNDING_STOCHASTIC: return _("Stochastic");
    default: return "?";
    }
}

const char *
qs_range_display_name (QsRangeMethod value)
{
  switch (value)
    {
    case QS_RANGE_MINMAX: return _("Min–Max");
    case QS_RANGE_PERCENTILE: return _("Percentile");
    case QS_RANGE_MSE: return _("MSE-Optimal");
    case QS_RANGE_KL: return _("KL Divergence");
    default: return "?";
    }
}

/* The badge's abbreviations in words, for its tooltip and screen readers:
 * "Integer, 8 bits · Symmetric · Per Channel · Min–Max · Nearest, Ties to Even". */
char *
qs_quant_spec_describe (const QsQuantSpec *spec)
{
  g_autoptr(GString) s = g_string_new (qs_format_display_name (spec->format));
  gboolean coded = spec->format == QS_FORMAT_INT || spec->format == QS_FORMAT_BINARY
                   || spec->format == QS_FORMAT_TERNARY;

  if (spec->format == QS_FORMAT_INT)
    /* Translators: appended to the format name in the layer badges' tooltip, "Integer, 8 bits" */
    g_string_append_printf (s, g_dngettext (GETTEXT_PACKAGE, ", %u bit", ", %u bits", spec->bits), spec->bits);
  if (coded)
    {
      g_string_append_printf (s, " · %s", qs_granularity_display_name (spec->granularity));
      if (spec->granularity == QS_GRANULARITY_GROUP)
        /* Translators: the group size in the layer badges' tooltip */
        g_string_append_printf (s, _(" of %u"), spec->group_size);
    }
  if (spec->format == QS_FORMAT_INT)
    {
      g_string_append_printf (s, " · %s", qs_mapping_display_name (spec->mapping));
      g_string_append_printf (s, " · %s", qs_range_display_name (spec->range_method));
      if (spec->range_method == QS_RANGE_PERCENTILE)
        g_string_append_printf (s, " %g", spec->range_param);
      g_string_append_printf (s, " · %s", qs_rounding_display_name (spec->rounding));
      if (spec->pow2_scale)
        g_string_append_printf (s, " · %s", _("Power-of-Two Scales"));
    }
  if (spec->sparsity > 0.0)
    /* Translators: pruning in the layer badges' tooltip */
    g_string_append_printf (s, _(" · %.0f%% pruned"), spec->sparsity * 100.0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The codes of one error domain in words, in enum order. */
typedef struct
{
  GQuark             (*quark) (void);
  const char         *domain;   /* N_ () */
  const char * const *codes;    /* N_ (), NULL-terminated, indexed by code */
} ErrorDomainWords;

static const char * const model_codes[] = {
  N_("not found"), N_("not a Keras file"), N_("corrupt"), N_("unsupported"),
  N_("bad architecture"), N_("weights do not fit the architecture"), N_("broken layer graph"),
  N_("refers to other files"), N_("too large"), N_("cannot run"), N_("cannot write"),
  N_("damaged by a text conversion"), NULL
};
static const char * const config_codes[] = {
  N_("not JSON"), N_("invalid field"), N_("newer version"), N_("unknown preset"),
  N_("cannot read or write"), N_("too large"), NULL
};
static const char * const dataset_codes[] = {
  N_("not found"), N_("bad format"), N_("images do not fit the model"), NULL
};
static const char * const document_codes[] = {
  N_("not a session"), N_("newer version"), N_("cannot write"), NULL
};
static const char * const data_codes[] = {
  N_("bundled file missing"), NULL
};

static const ErrorDomainWords error_domains[] = {
  { qs_model_error_quark, N_("Model file"), model_codes },
  { qs_config_error_quark, N_("Quantization config"), config_codes },
  { qs_dataset_error_quark, N_("Dataset"), dataset_codes },
  { qs_document_error_quark, N_("Session"), document_codes },
  { qs_data_error_quark, N_("Bundled data"), data_codes },
};

char *
qs_error_describe_code (const GError *error)
{
  g_autofree char *nick_words = NULL;
  g_autofree char *domain_words = NULL;
  const char *domain = NULL;
  const char *code = NULL;
  GQuark io_domain;
  gint io_code;

  g_return_val_if_fail (error != NULL, NULL);

  io_domain = error->domain;
  io_code = error->code;
  for (guint i = 0; i < G_N_ELEMENTS (error_domains) && domain == NULL; i++)
    if (error->domain == error_domains[i].quark ())
      {
        domain = _(error_domains[i].domain);
        if (error->code >= 0 && error->code < (gint) g_strv_length ((GStrv) error_domains[i].codes))
          code = _(error_domains[i].codes[error->code]);
      }

  /* GLib's file errors: the nicks of GIOErrorEnum, "not-found" as "not found". */
  if (io_domain == G_FILE_ERROR)
    {
      io_domain = G_IO_ERROR;
      io_code = g_io_error_from_file_error (error->code);
    }
  if (domain == NULL && io_domain == G_IO_ERROR)
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (G_TYPE_IO_ERROR_ENUM);
      GEnumValue *value = g_enum_get_value (klass, io_code);

      domain = _("File");
      if (value != NULL)
        code = nick_words = g_strdelimit (g_strdup (value->value_nick), "-", ' ');
    }

  if (domain == NULL)
    {
      /* Another library's domain: its name in words, "g-convert-error-quark" and
       * "g_convert_error" as "g convert". */
      char *words = g_strdelimit (g_strdup (g_quark_to_string (error->domain)), "-_", ' ');

      if (g_str_has_suffix (words, " quark"))
        words[strlen (words) - strlen (" quark")] = '\0';
      if (g_str_has_suffix (words, " error"))
        words[strlen (words) - strlen (" error")] = '\0';
      domain = domain_words = words;
    }

  if (code != NULL)
    /* Translators: an error's kind under its message, "Model file: corrupt (code 2)" */
    return g_strdup_printf (_("%s: %s (code %d)"), domain, code, error->code);
  /* Translators: an error's kind under its message, "Model file (code 42)" */
  return g_strdup_printf (_("%s (code %d)"), domain, error->code);
}

/* ---------------------------------------------------------------------------------------- */
/* Files made from a model                                                                  */

char *
qs_model_file_stem (QsModel *model)
{
  const char *path = qs_model_get_path (model);
  char *stem = g_path_get_basename (path != NULL ? path : qs_model_get_name (model));
  char *dot = strrchr (stem, '.');

  if (dot != NULL && dot != stem)
    *dot = '\0';
  return stem;
}

GtkFileChooserNative *
qs_model_save_chooser_new (GtkWindow  *parent,
                           QsModel    *model,
                           const char *title,
                           const char *accept,
                           const char *name)
{
  const char *path = qs_model_get_path (model);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (title, parent, GTK_FILE_CHOOSER_ACTION_SAVE, accept, NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (path != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_path (path);
      g_autoptr(GFile) folder = g_file_get_parent (file);

      if (folder != NULL)
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
    }
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  return chooser;
}
