/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: the importers of AIMET encodings (0.6.1 and 1.0.0 layouts) and of
 * Quantscope config exports (qs_export_import), checked against the bundled sample CNN. */
#include "config.h"

#include <glib/gstdio.h>

#include "quantscope-core.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static char *dir;
  static QsModel *model;
  g_autofree char *path = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(GString) summary = g_string_new (NULL);

  if (size > ((gsize) 1 << 20))
    return 0;
  if (model == NULL)
    {
      g_autofree char *model_path = qs_data_find_file (QS_DATA_SAMPLE_MODEL, NULL);
      model = qs_model_load (model_path, NULL, NULL, NULL);
      g_assert (model != NULL);
      dir = g_dir_make_tmp ("qs-fuzz-aimet-XXXXXX", NULL);
    }
  path = g_build_filename (dir, "f.encodings", NULL);
  g_file_set_contents (path, (const char *) data, (gssize) size, NULL);
  config = qs_export_import (model, path, NULL, summary, NULL);
  if (config != NULL)
    {
      g_autofree char *json = qs_config_to_json (config);
      (void) json;
    }
  return 0;
}
