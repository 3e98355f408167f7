/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

/* quantscope-cli presets [--json] */

int
qs_cli_presets (int    argc,
                char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON, with each preset's full config"), NULL },
    { NULL }
  };
  const char * const *names;
  g_autoptr(JsonBuilder) b = NULL;

  if (!qs_cli_parse ("presets", NULL, _("List the named quantization presets."), entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc > 1)
    return qs_cli_usage_error ("presets", _("unexpected argument “%s”"), argv[1]);

  names = qs_config_list_presets ();
  if (json)
    {
      b = json_builder_new ();
      json_builder_begin_array (b);
    }
  for (gsize i = 0; names[i] != NULL; i++)
    {
      if (json)
        {
          g_autoptr(QsConfig) config = qs_config_new_from_preset (names[i], NULL);
          g_autofree char *text = qs_config_to_json (config);
          g_autoptr(JsonNode) node = json_from_string (text, NULL);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, names[i]);
          json_builder_set_member_name (b, "description");
          json_builder_add_string_value (b, qs_config_preset_description (names[i]));
          json_builder_set_member_name (b, "config");
          json_builder_add_value (b, g_steal_pointer (&node));
          json_builder_end_object (b);
        }
      else
        printf ("%-12s %s\n", names[i], qs_config_preset_description (names[i]));
    }
  if (json)
    {
      json_builder_end_array (b);
      qs_cli_print_builder (b);
    }
  return QS_CLI_EXIT_OK;
}
