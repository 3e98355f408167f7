/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "qs-dataset-private.h"

/* A folder of images, the layout of Keras image_dataset_from_directory and torchvision
 * ImageFolder: one sub-folder per class, classes = the sorted sub-folder names, labels from
 * them. A folder without sub-folders holds unlabelled images. Opening lists file names
 * only (no stat per file, no decoding); images are decoded with gdk-pixbuf on read. Files
 * are taken by extension (the extensions of the gdk-pixbuf loaders installed). */

#define MAX_FOLDER_IMAGES G_MAXINT32

typedef struct
{
  QsDatasetSource  base;
  char            *path;
  GPtrArray       *files;    /* full paths */
} FolderSource;

static GHashTable *
image_extensions (void)
{
  static GHashTable *exts;

  if (g_once_init_enter (&exts))
    {
      GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      GSList *formats = gdk_pixbuf_get_formats ();

      for (GSList *l = formats; l != NULL; l = l->next)
        {
          g_auto(GStrv) list = gdk_pixbuf_format_get_extensions (l->data);

          if (gdk_pixbuf_format_is_disabled (l->data))
            continue;
          for (guint i = 0; list != NULL && list[i] != NULL; i++)
            g_hash_table_add (t, g_ascii_strdown (list[i], -1));
        }
      g_slist_free (formats);
      /* never take .svg, .ani and such as dataset images by accident */
      g_hash_table_remove (t, "svg");
      g_hash_table_remove (t, "svgz");
      g_hash_table_remove (t, "ani");
      g_hash_table_remove (t, "ico");
      g_hash_table_remove (t, "cur");
      g_once_init_leave (&exts, t);
    }
  return exts;
}

static gboolean
is_image_name (const char *name)
{
  const char *dot = strrchr (name, '.');
  char low[16];
  gsize len;

  if (dot == NULL || name[0] == '.')
    return FALSE;
  len = strlen (dot + 1);
  if (len == 0 || len >= sizeof low)
    return FALSE;
  for (gsize i = 0; i <= len; i++)
    low[i] = g_ascii_tolower (dot[1 + i]);
  return g_hash_table_contains (image_extensions (), low);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static void
folder_source_free (QsDatasetSource *base)
{
  FolderSource *s = (FolderSource *) base;

  g_clear_pointer (&s->files, g_ptr_array_unref);
  g_free (s->path);
}

static float *
folder_source_read (QsDatasetSource *base,
                    guint            index,
                    gsize           *shape,
                    GError         **error)
{
  FolderSource *s = (FolderSource *) base;
  const char *file = g_ptr_array_index (s->files, index);
  g_autoptr(GError) local = NULL;
  g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new_from_file (file, &local);
  const guint8 *px;
  gsize w, h, nc, stride;
  float *out;

  if (pb == NULL)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: cannot decode the image: %s"), file, local->message);
      return NULL;
    }
  if (gdk_pixbuf_get_colorspace (pb) != GDK_COLORSPACE_RGB || gdk_pixbuf_get_bits_per_sample (pb) != 8)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: only 8-bit RGB images are supported"), file);
      return NULL;
    }
  w = gdk_pixbuf_get_width (pb);
  h = gdk_pixbuf_get_height (pb);
  nc = gdk_pixbuf_get_n_channels (pb);
  stride = gdk_pixbuf_get_rowstride (pb);
  px = gdk_pixbuf_read_pixels (pb);
  /* RGB (alpha dropped): gdk-pixbuf loads grey images as RGB too; the preprocessing
   * takes the luminance for a one-channel model */
  out = g_new (float, MAX (w * h * 3, 1));
  for (gsize y = 0; y < h; y++)
    for (gsize x = 0; x < w; x++)
      for (gsize c = 0; c < 3; c++)
        out[(y * w + x) * 3 + c] = px[y * stride + x * nc + c];
  shape[0] = h;
  shape[1] = w;
  shape[2] = 3;
  return out;
}

/* Adds the image files of one folder (names only), sorted; returns their count. */
static gboolean
list_images (const char *dir,
             GPtrArray  *out,
             GPtrArray  *subdirs,   /* nullable: names of sub-folders found */
             GError    **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND,
                   _("Cannot read the folder “%s”"), dir);
      return FALSE;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (is_image_name (name))
        g_ptr_array_add (names, g_strdup (name));
      else if (subdirs != NULL && name[0] != '.')
        {
          g_autofree char *full = g_build_filename (dir, name, NULL);

          if (g_file_test (full, G_FILE_TEST_IS_DIR))
            g_ptr_array_add (subdirs, g_strdup (name));
        }
      if (out->len + names->len >= MAX_FOLDER_IMAGES)
        break;
    }
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    g_ptr_array_add (out, g_build_filename (dir, g_ptr_array_index (names, i), NULL));
  return TRUE;
}

QsDatasetSource *
_qs_dataset_folder_open (const char *path,
                         GError    **error)
{
  FolderSource *s = g_new0 (FolderSource, 1);
  g_autoptr(GPtrArray) top = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) subdirs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) labels = g_array_new (FALSE, FALSE, sizeof (gint));
  int w = 0, h = 0;

  s->path = g_strdup (path);
  s->files = g_ptr_array_new_with_free_func (g_free);
  s->base.read = folder_source_read;
  s->base.free = folder_source_free;
  s->base.bytes = TRUE;
  if (!list_images (path, top, subdirs, error))
    goto fail;
  if (subdirs->len > 0)
    {
      g_autoptr(GStrvBuilder) classes = g_strv_builder_new ();

      g_ptr_array_sort (subdirs, compare_strings);
      for (guint c = 0; c < subdirs->len; c++)
        {
          g_autofree char *sub = g_build_filename (path, g_ptr_array_index (subdirs, c), NULL);
          guint before = s->files->len;

          if (!list_images (sub, s->files, NULL, error))
            goto fail;
          for (guint i = before; i < s->files->len; i++)
            {
              gint label = c;
              g_array_append_val (labels, label);
            }
          g_strv_builder_add (classes, g_ptr_array_index (subdirs, c));
        }
      s->base.class_names = g_strv_builder_end (classes);
      s->base.n_classes = subdirs->len;
      if (top->len > 0)
        g_debug ("%s: %u images beside the class folders are not used", path, top->len);
      s->base.labels = (gint *) g_array_free (g_steal_pointer (&labels), FALSE);
    }
  else
    {
      for (guint i = 0; i < top->len; i++)
        g_ptr_array_add (s->files, g_strdup (g_ptr_array_index (top, i)));
    }
  if (s->files->len == 0)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: no images found (expected PNG or JPEG files, in one sub-folder per class "
                     "or directly in the folder)"), path);
      goto fail;
    }
  s->base.n_images = s->files->len;
  /* the first image's size, from its header */
  if (gdk_pixbuf_get_file_info (g_ptr_array_index (s->files, 0), &w, &h) == NULL || w <= 0 || h <= 0)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: not an image gdk-pixbuf can read"), (char *) g_ptr_array_index (s->files, 0));
      goto fail;
    }
  s->base.height = h;
  s->base.width = w;
  s->base.channels = 3;
  s->base.varying_size = TRUE;
  return &s->base;

fail:
  _qs_dataset_source_free (&s->base);
  return NULL;
}
