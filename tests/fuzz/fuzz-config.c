/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: quantization config JSON (what Import Config and --config read). A config
 * that loads must write back to JSON that loads to an equal config. */
#include "config.h"

#include "quantscope-core.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsConfig) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;

  if (size > ((gsize) 1 << 20))
    return 0;
  config = qs_config_new_from_json ((const char *) data, size, &error);
  if (config == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      return 0;
    }
  json = qs_config_to_json (config);
  again = qs_config_new_from_json (json, -1, &error);
  if (again == NULL)
    g_error ("a loaded config does not load again: %s\n%s", error->message, json);
  if (!qs_config_equal (config, again))
    g_error ("a config changed on its JSON round trip:\n%s", json);
  return 0;
}
