/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: NumPy .npy and .npz files (core/qs-dataset-npy.c). The first byte
 * picks the suffix (even: .npy, odd: .npz); every image of what opens is read. */
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
  g_autoptr(QsDataset) dataset = NULL;

  if (size < 1 || size > ((gsize) 1 << 20))
    return 0;
  if (dir == NULL)
    dir = g_dir_make_tmp ("qs-fuzz-npy-XXXXXX", NULL);
  path = g_build_filename (dir, (data[0] & 1) ? "f.npz" : "f.npy", NULL);
  g_file_set_contents (path, (const char *) data + 1, (gssize) size - 1, NULL);
  dataset = qs_dataset_open_full (path, NULL, NULL, NULL);
  if (dataset != NULL)
    {
      guint n = MIN (qs_dataset_get_n_images (dataset), 64u);

      for (guint i = 0; i < n; i++)
        {
          gsize h, w, c;
          g_autofree guint8 *px = qs_dataset_read_pixels (dataset, i, &h, &w, &c, NULL);

          if (px != NULL && h * w * c > 0)
            (void) px[h * w * c - 1];
          (void) qs_dataset_get_label (dataset, i);
        }
    }
  return 0;
}
