/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include <stdio.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "quantscope-core.h"

gboolean
qs_cli_parse (const char    *name,
              const char    *parameter_string,
              const char    *description,
              GOptionEntry  *entries,
              int           *argc,
              char        ***argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *params = g_strdup_printf ("%s %s", name, parameter_string ? parameter_string : "");

  context = g_option_context_new (params);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (description != NULL)
    g_option_context_set_description (context, description);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("quantscope-cli %s: %s\n", name, error->message);
      g_printerr (_("Run “quantscope-cli %s --help” for usage.\n"), name);
      return FALSE;
    }
  return TRUE;
}

int
qs_cli_usage_error (const char *name,
                    const char *format,
                    ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("quantscope-cli %s: %s\n", name, message);
  g_printerr (_("Run “quantscope-cli %s --help” for usage.\n"), name);
  return QS_CLI_EXIT_USAGE;
}

int
qs_cli_fail (const char   *name,
             const GError *error)
{
  g_printerr ("quantscope-cli %s: %s\n", name, error ? error->message : _("unknown error"));
  return QS_CLI_EXIT_ERROR;
}

void
qs_cli_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

void
qs_cli_print_builder (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  qs_cli_print_json (root);
}

struct _QsCliProgress
{
  char    *label;
  gboolean tty;
  gboolean quiet;
  int      last_percent;
  gint64   last_time;
  GMutex   mutex;
};

QsCliProgress *
qs_cli_progress_new (const char *label)
{
  QsCliProgress *progress = g_new0 (QsCliProgress, 1);

  progress->label = g_strdup (label);
  progress->tty = isatty (STDERR_FILENO);
  progress->quiet = g_getenv ("QS_CLI_QUIET") != NULL;
  progress->last_percent = -1;
  g_mutex_init (&progress->mutex);
  return progress;
}

void
qs_cli_progress_update (QsCliProgress *progress,
                        double         fraction,
                        const char    *detail)
{
  int percent;
  gint64 now;

  if (progress == NULL || progress->quiet)
    return;

  percent = (int) CLAMP (fraction * 100.0 + 0.5, 0, 100);
  now = g_get_monotonic_time ();

  g_mutex_lock (&progress->mutex);
  if (progress->tty)
    {
      if (percent != progress->last_percent || detail != NULL)
        {
          char bar[31];
          int filled = percent * 30 / 100;

          for (int i = 0; i < 30; i++)
            bar[i] = i < filled ? '#' : '-';
          bar[30] = '\0';
          g_printerr ("\r%s [%s] %3d%% %s\033[K", progress->label, bar, percent, detail ? detail : "");
          if (percent >= 100)
            g_printerr ("\n");
        }
    }
  else if (detail != NULL || percent / 10 != progress->last_percent / 10 ||
           now - progress->last_time > 5 * G_USEC_PER_SEC)
    {
      /* Plain lines for logs: one per 10% or per message, never a flood. */
      g_printerr ("%s: %d%%%s%s\n", progress->label, percent, detail ? " " : "", detail ? detail : "");
      progress->last_time = now;
    }
  progress->last_percent = percent;
  g_mutex_unlock (&progress->mutex);
}

void
qs_cli_progress_cb (double   fraction,
                    gpointer user_data)
{
  qs_cli_progress_update (user_data, fraction, NULL);
}

void
qs_cli_progress_free (QsCliProgress *progress)
{
  if (progress == NULL)
    return;
  if (progress->tty && !progress->quiet && progress->last_percent >= 0 && progress->last_percent < 100)
    g_printerr ("\n");
  g_mutex_clear (&progress->mutex);
  g_free (progress->label);
  g_free (progress);
}

gboolean
qs_cli_check_output (const char *name,
                     const char *output,
                     guint       n_inputs,
                     ...)
{
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  va_list args;

  if (output == NULL)
    return TRUE;
  va_start (args, n_inputs);
  for (guint i = 0; i < n_inputs; i++)
    {
      const char *input = va_arg (args, const char *);
      if (input != NULL)
        g_ptr_array_add (inputs, (gpointer) input);
    }
  va_end (args);
  g_ptr_array_add (inputs, NULL);
  if (!qs_file_check_not_input (output, (const char * const *) inputs->pdata, &error))
    {
      qs_cli_fail (name, error);
      return FALSE;
    }
  return TRUE;
}

void
qs_cli_warn_nonfinite (const char *command,
                       guint       n_bad,
                       guint       n_images,
                       const char *first_at)
{
  if (n_bad == 0)
    return;
  if (first_at != NULL)
    g_printerr (_("%s: warning: %u of %u images produced NaN or infinity (first in “%s”); their predictions are meaningless\n"),
                command, n_bad, n_images, first_at);
  else
    g_printerr (_("%s: warning: %u of %u images produced NaN or infinity; their predictions are meaningless\n"),
                command, n_bad, n_images);
}

void
qs_cli_warn_nonfinite_weights (const char *command,
                               QsModel    *model)
{
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);

      if (l->n_nonfinite > 0)
        g_printerr (_("%s: warning: %zu weights of layer “%s” are NaN or infinite\n"),
                    command, l->n_nonfinite, l->name);
    }
}

void
qs_cli_json_add_number (JsonBuilder *b,
                        const char  *name,
                        double       value)
{
  json_builder_set_member_name (b, name);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
qs_cli_json_add_uint (JsonBuilder *b,
                      const char  *name,
                      guint64      value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, (gint64) value);
}

gboolean
qs_cli_apply_requant (const char *command,
                      const char *mode,
                      QsConfig   *config)
{
  QsRequantMode m;

  if (mode == NULL)
    return TRUE;
  if (!qs_requant_mode_from_string (mode, &m))
    {
      qs_cli_usage_error (command, _("unknown requantization mode “%s” (use gemmlowp, single-rounding, fp32-rne or cmsis-nn)"),
                          mode);
      return FALSE;
    }
  if (config != NULL)
    qs_config_set_requant_mode (config, m);
  return TRUE;
}

void
qs_cli_data_options_clear (QsCliDataOptions *o)
{
  g_clear_pointer (&o->labels, g_free);
  g_clear_pointer (&o->preprocess, g_free);
  g_clear_pointer (&o->calibration, g_free);
}

QsDataset *
qs_cli_open_dataset (const char       *command,
                     const char       *spec,
                     QsCliDataOptions *o,
                     QsConfig         *config,
                     gboolean          calib_source_given,
                     int              *exit_status)
{
  g_autoptr(GError) error = NULL;
  QsPreprocess pp;
  QsDataset *dataset;

  if (o->preprocess != NULL)
    {
      if (!qs_preprocess_parse (&pp, o->preprocess, &error))
        {
          *exit_status = qs_cli_usage_error (command, "%s", error->message);
          return NULL;
        }
    }
  else if (config != NULL)
    pp = *qs_config_get_preprocess (config);
  else
    qs_preprocess_init (&pp);
  if (config != NULL)
    {
      qs_config_set_preprocess (config, &pp);
      if (o->calibration != NULL)
        qs_config_set_calib_source (config, o->calibration);
      else if (!calib_source_given && !g_str_has_prefix (spec, "sample")
               && g_strcmp0 (qs_config_get_calib_source (config), "sample-train") == 0)
        qs_config_set_calib_source (config, spec);
    }
  dataset = qs_dataset_open_full (spec, o->labels, &pp, &error);
  if (dataset == NULL)
    *exit_status = qs_cli_fail (command, error);
  return dataset;
}
