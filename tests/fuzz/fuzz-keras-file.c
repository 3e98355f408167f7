/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: whole model files (HDF5 .h5 and .keras zip) through the in-process
 * loader, the code the sandboxed helper runs. Findings inside HDF5 itself (a library we
 * cannot fix) are what the sandbox turns into errors; tests/test-sandbox.c covers that
 * path. Seeds: data/models/*.h5 and ../shared/models. */
#include "config.h"

#include <glib/gstdio.h>

#include "quantscope-core.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static char *dir;
  g_autofree char *path = NULL;
  g_autoptr(QsModel) model = NULL;

  if (size > ((gsize) 8 << 20))
    return 0;
  if (dir == NULL)
    dir = g_dir_make_tmp ("qs-fuzz-keras-XXXXXX", NULL);
  /* The loader tells HDF5 from zip by the signature, not the name. */
  path = g_build_filename (dir, "model.h5", NULL);
  g_file_set_contents (path, (const char *) data, (gssize) size, NULL);
  model = qs_model_load (path, NULL, NULL, NULL);
  if (model != NULL)
    (void) qs_model_can_infer (model, NULL);
  return 0;
}
