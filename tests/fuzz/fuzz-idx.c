/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: IDX images + labels files (the first byte splits the input). */
#include "config.h"

#include <glib/gstdio.h>

#include "quantscope-core.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static char *dir;
  g_autofree char *images = NULL;
  g_autofree char *labels = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  gsize split;

  if (size < 1 || size > ((gsize) 1 << 20))
    return 0;
  if (dir == NULL)
    dir = g_dir_make_tmp ("qs-fuzz-idx-XXXXXX", NULL);
  images = g_build_filename (dir, "f-images-idx3-ubyte", NULL);
  labels = g_build_filename (dir, "f-labels-idx1-ubyte", NULL);
  split = MIN ((gsize) data[0] * 4, size - 1);
  g_file_set_contents (labels, (const char *) data + 1, split, NULL);
  g_file_set_contents (images, (const char *) data + 1 + split, size - 1 - split, NULL);
  dataset = qs_dataset_open (images, NULL);
  if (dataset != NULL)
    {
      guint n = qs_dataset_get_n_images (dataset);
      gsize h, w, c;
      qs_dataset_get_image_shape (dataset, &h, &w, &c);
      if (n > 0)
        (void) qs_dataset_get_pixels (dataset, n - 1)[h * w * c - 1];
    }
  return 0;
}
