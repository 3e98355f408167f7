/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

/* quantscope-cli check MODEL --target T (--preset P | --config CFG) [--requant MODE] [--json]
 * quantscope-cli check --list
 * Every layer whose config the deployment target cannot run, with the reason (qs-target).
 * Exit status 0 whether or not layers are flagged: the summary line counts them. */

static int
list_targets (gboolean json)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const char * const *names = qs_target_list_bundled ();

  json_builder_begin_array (b);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsTarget) t = qs_target_load (names[i], &error);

      if (t == NULL)
        return qs_cli_fail ("check", error);
      if (json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, t->name);
          json_builder_set_member_name (b, "title");
          json_builder_add_string_value (b, t->title);
          json_builder_set_member_name (b, "description");
          json_builder_add_string_value (b, t->description);
          json_builder_set_member_name (b, "file");
          json_builder_add_string_value (b, t->path);
          json_builder_end_object (b);
        }
      else
        printf ("%-18s %s\n", t->name, t->description);
    }
  json_builder_end_array (b);
  if (json)
    qs_cli_print_builder (b);
  return QS_CLI_EXIT_OK;
}

int
qs_cli_check (int    argc,
              char **argv)
{
  g_autofree char *target_name = NULL, *preset = NULL, *config_path = NULL, *architecture = NULL;
  g_autofree char *requant = NULL;
  gboolean json = FALSE, list = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTarget) target = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(GPtrArray) issues = NULL;
  g_autoptr(GHashTable) flagged = g_hash_table_new (g_str_hash, g_str_equal);
  guint n_model = 0;
  GOptionEntry entries[] = {
    { "target", 'T', 0, G_OPTION_ARG_STRING, &target_name,
      N_("Deployment target: a bundled name (see --list) or a target .json file"), N_("T") },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, N_("Quantization preset (see “presets”)"), N_("P") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Quantization config JSON"), N_("CFG") },
    { "requant", 'r', 0, G_OPTION_ARG_STRING, &requant, QS_CLI_REQUANT_HELP, QS_CLI_REQUANT_ARG },
    { "architecture", 'a', 0, G_OPTION_ARG_FILENAME, &architecture,
      N_("Architecture for a weights-only file"), N_("FILE") },
    { "list", 0, 0, G_OPTION_ARG_NONE, &list, N_("List the bundled targets"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };

  if (!qs_cli_parse ("check", "MODEL",
                     _("List every layer whose quantization config the deployment target cannot run,\n"
                       "with the reason. Exit status 0 either way; the last line counts the layers."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (list)
    return list_targets (json);
  if (argc != 2)
    return qs_cli_usage_error ("check", _("expected exactly one MODEL file"));
  if (target_name == NULL)
    return qs_cli_usage_error ("check", _("--target is required (see --list)"));
  if ((preset == NULL) == (config_path == NULL))
    return qs_cli_usage_error ("check", _("give exactly one of --preset and --config"));

  target = qs_target_load (target_name, &error);
  if (target == NULL)
    {
      if (g_error_matches (error, QS_TARGET_ERROR, QS_TARGET_ERROR_NOT_FOUND))
        return qs_cli_usage_error ("check", "%s", error->message);
      return qs_cli_fail ("check", error);
    }
  config = preset ? qs_config_new_from_preset (preset, &error) : qs_config_load_file (config_path, &error);
  if (config == NULL)
    {
      if (preset != NULL && g_error_matches (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET))
        return qs_cli_usage_error ("check", "%s", error->message);
      return qs_cli_fail ("check", error);
    }
  if (!qs_cli_apply_requant ("check", requant, config))
    return QS_CLI_EXIT_USAGE;
  model = qs_model_load_untrusted (argv[1], architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("check", error);

  issues = qs_target_check (target, model, config);
  for (guint i = 0; i < issues->len; i++)
    {
      QsTargetIssue *issue = g_ptr_array_index (issues, i);

      if (issue->layer != NULL)
        g_hash_table_add (flagged, issue->layer);
      else
        n_model++;
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "target");
      json_builder_add_string_value (b, target->name);
      json_builder_set_member_name (b, "flagged_layers");
      json_builder_add_int_value (b, g_hash_table_size (flagged));
      json_builder_set_member_name (b, "model_issues");
      json_builder_add_int_value (b, n_model);
      json_builder_set_member_name (b, "issues");
      json_builder_begin_array (b);
      for (guint i = 0; i < issues->len; i++)
        {
          QsTargetIssue *issue = g_ptr_array_index (issues, i);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "layer");
          if (issue->layer != NULL)
            json_builder_add_string_value (b, issue->layer);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "reason");
          json_builder_add_string_value (b, issue->reason);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      qs_cli_print_builder (b);
      return QS_CLI_EXIT_OK;
    }

  for (guint i = 0; i < issues->len; i++)
    {
      QsTargetIssue *issue = g_ptr_array_index (issues, i);

      /* Translators: the layer column for a problem of the whole model */
      printf ("%-20s %s\n", issue->layer ? issue->layer : _("(model)"), issue->reason);
    }
  /* Translators: "2 layers flagged for TFLite int8 (1 model-wide issue)" */
  printf (g_dngettext (GETTEXT_PACKAGE, "%u layer flagged for %s", "%u layers flagged for %s",
                       g_hash_table_size (flagged)),
          g_hash_table_size (flagged), target->title);
  if (n_model > 0)
    printf (g_dngettext (GETTEXT_PACKAGE, " (%u model-wide issue)", " (%u model-wide issues)", n_model), n_model);
  printf ("\n");
  return QS_CLI_EXIT_OK;
}
