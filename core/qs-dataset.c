/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <hdf5.h>

#include "qs-data.h"
#include "qs-dataset-private.h"
#include "qs-file.h"
#include "qs-keras.h"

/* Image datasets: IDX files (MNIST family; plain or gzip through GZlibDecompressor) with the
 * labels file beside the images, HDF5 files with image and label datasets, and the bundled
 * Fashion-MNIST sample, kept in memory as uint8 (HWC); NumPy files and image folders
 * (qs-dataset-npy.c, qs-dataset-folder.c) read on demand through a QsDatasetSource. Every
 * image becomes a model input through a QsPreprocess (qs-preprocess.c). */

#define MAX_IDX_BYTES   ((gsize) 2 << 30)
#define MAX_IMAGE_DIM   4096
#define QS_DATASET_MAX_LABEL 65535

struct _QsDataset
{
  GObject   parent_instance;

  char     *name;
  const char *display_name;  /* N_ (): the bundled sets; NULL: the name is shown */
  guint     n_images;
  gsize     height, width, channels;
  guint8   *pixels;   /* in-memory formats; NULL with a source */
  float    *values;   /* HDF5 images that are not bytes: used as stored (nullable) */
  QsDatasetSource *source;  /* .npy, .npz, image folders (nullable) */
  gboolean  varying_size;
  gint     *labels;   /* NULL: unlabelled */
  guint     n_classes;
  GStrv     class_names;
  QsPreprocess preprocess;
};

G_DEFINE_QUARK (qs-dataset-error-quark, qs_dataset_error)
G_DEFINE_FINAL_TYPE (QsDataset, qs_dataset, G_TYPE_OBJECT)

static void
qs_dataset_finalize (GObject *object)
{
  QsDataset *self = QS_DATASET (object);

  g_free (self->name);
  g_free (self->pixels);
  g_free (self->values);
  g_clear_pointer (&self->source, _qs_dataset_source_free);
  g_free (self->labels);
  g_strfreev (self->class_names);
  G_OBJECT_CLASS (qs_dataset_parent_class)->finalize (object);
}

static void
qs_dataset_class_init (QsDatasetClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qs_dataset_finalize;
}

static void
qs_dataset_init (QsDataset *self)
{
  qs_preprocess_init (&self->preprocess);
}

void
_qs_dataset_source_free (QsDatasetSource *source)
{
  if (source == NULL)
    return;
  if (source->free != NULL)
    source->free (source);
  g_free (source->labels);
  g_strfreev (source->class_names);
  g_free (source);
}

/* --- IDX --- */

/* The size of the payload an IDX header declares, once the header is all there: -1 for a
 * header that is not one, 0 while more bytes are needed, 1 with *total set to header + data. */
static int
idx_declared_size (const guint8 *p,
                   gsize         size,
                   gsize        *total)
{
  guint n_dims;
  gsize need = 1;

  if (size < 4)
    return 0;
  if (p[0] != 0 || p[1] != 0 || p[2] != 0x08 || p[3] < 1 || p[3] > 4)
    return -1;
  n_dims = p[3];
  if (size < 4 + 4 * (gsize) n_dims)
    return 0;
  for (guint i = 0; i < n_dims; i++)
    {
      const guint8 *d = p + 4 + 4 * i;
      guint32 dim = ((guint32) d[0] << 24) | ((guint32) d[1] << 16) | ((guint32) d[2] << 8) | d[3];

      if ((i > 0 && (dim == 0 || dim > MAX_IMAGE_DIM)) || !qs_size_mul (need, dim, &need))
        return -1;
    }
  if (need > MAX_IDX_BYTES)
    return -1;
  *total = 4 + 4 * (gsize) n_dims + need;
  return 1;
}

/* Reads an IDX file, plain or gzip'd, no further than its header declares (plus one byte to
 * notice more): a small gzip file cannot inflate into gigabytes, and a file that goes on
 * past its data is refused. A bad header stops the reading; parse_idx () says what is wrong. */
static GBytes *
read_idx_file (const char *path,
               GError    **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GInputStream) raw = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guchar magic[2] = { 0, 0 };
  gsize got = 0, limit = 4, total = 0;
  gboolean header_known = FALSE, gzip;
  guchar buf[65536];

  raw = G_INPUT_STREAM (g_file_read (file, NULL, error));
  if (raw == NULL)
    return NULL;
  if (!g_input_stream_read_all (raw, magic, 2, &got, NULL, error))
    return NULL;
  if (!g_seekable_seek (G_SEEKABLE (raw), 0, G_SEEK_SET, NULL, error))
    return NULL;
  gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gzip)
    {
      g_autoptr(GZlibDecompressor) dec = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      stream = g_converter_input_stream_new (raw, G_CONVERTER (dec));
    }
  else
    stream = g_object_ref (raw);
  for (;;)
    {
      gssize n = g_input_stream_read (stream, buf, MIN (sizeof buf, limit + 1 - data->len), NULL, error);

      if (n < 0)
        return NULL;
      if (n == 0)
        break;
      g_byte_array_append (data, buf, n);
      if (!header_known)
        {
          int state = idx_declared_size (data->data, data->len, &total);

          if (state < 0)
            break;
          if (state == 0)
            limit = data->len < 4 ? 4 : 4 + 4 * (gsize) data->data[3];
          else
            {
              header_known = TRUE;
              limit = total;
            }
        }
      if (header_known && data->len > limit)
        {
          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                       gzip ? _("%s: the data decompresses to more than the %zu bytes its header declares")
                            : _("%s: the file is longer than the %zu bytes its header declares"),
                       path, limit);
          return NULL;
        }
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* Parses an IDX header; returns the payload and its dims. */
static const guint8 *
parse_idx (GBytes     *bytes,
           const char *path,
           guint       min_dims,
           guint       max_dims,
           guint      *n_dims,
           guint32    *dims,
           GError    **error)
{
  gsize size;
  const guint8 *p = g_bytes_get_data (bytes, &size);
  gsize need = 1;

  if (size < 4 || p[0] != 0 || p[1] != 0)
    goto bad;
  if (p[2] != 0x08)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: only unsigned-byte IDX files are supported (type 0x%02x)"), path, p[2]);
      return NULL;
    }
  *n_dims = p[3];
  if (*n_dims < min_dims || *n_dims > max_dims || size < 4 + 4 * (gsize) *n_dims)
    goto bad;
  for (guint i = 0; i < *n_dims; i++)
    {
      const guint8 *d = p + 4 + 4 * i;
      dims[i] = ((guint32) d[0] << 24) | ((guint32) d[1] << 16) | ((guint32) d[2] << 8) | d[3];
      if ((i > 0 && (dims[i] == 0 || dims[i] > MAX_IMAGE_DIM)) || !qs_size_mul (need, dims[i], &need))
        goto bad;
    }
  if (size - 4 - 4 * (gsize) *n_dims != need)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: the header promises %zu bytes of data, the file has %zu (truncated?)"),
                   path, need, size - 4 - 4 * (gsize) *n_dims);
      return NULL;
    }
  return p + 4 + 4 * *n_dims;

bad:
  g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
               _("%s: not an IDX file of the expected kind (bad magic number or dimensions)"), path);
  return NULL;
}

static char *
labels_path_for (const char *images)
{
  g_autofree char *dir = g_path_get_dirname (images);
  g_autofree char *base = g_path_get_basename (images);
  static const char *pairs[][2] = {
    { "images-idx3-ubyte", "labels-idx1-ubyte" },
    { "images.idx3-ubyte", "labels.idx1-ubyte" },
    { "images", "labels" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      char *at = strstr (base, pairs[i][0]);
      if (at != NULL)
        {
          g_autoptr(GString) s = g_string_new (NULL);
          g_string_append_len (s, base, at - base);
          g_string_append (s, pairs[i][1]);
          g_string_append (s, at + strlen (pairs[i][0]));
          return g_build_filename (dir, s->str, NULL);
        }
    }
  return NULL;
}

static gboolean
open_idx (QsDataset  *self,
          const char *path,
          GError    **error)
{
  g_autoptr(GBytes) images = NULL;
  g_autoptr(GBytes) labels = NULL;
  g_autofree char *labels_path = labels_path_for (path);
  guint n_dims, l_dims;
  guint32 dims[4], ldims[4];
  const guint8 *px, *lb;
  gsize n_px;

  images = read_idx_file (path, error);
  if (images == NULL)
    {
      if (error != NULL && *error != NULL && (*error)->domain != QS_DATASET_ERROR)
        {
          g_prefix_error (error, _("Dataset “%s”: "), path);
          (*error)->domain = QS_DATASET_ERROR;
          (*error)->code = QS_DATASET_ERROR_NOT_FOUND;
        }
      return FALSE;
    }
  px = parse_idx (images, path, 3, 4, &n_dims, dims, error);
  if (px == NULL)
    return FALSE;
  if (dims[0] == 0)
    {
      /* (the pixel block is empty: nothing past the header to copy) */
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: the IDX header declares 0 images"), path);
      return FALSE;
    }
  if (labels_path == NULL || !g_file_test (labels_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND,
                   _("%s: no labels file beside the images (expected %s)"), path,
                   labels_path != NULL ? labels_path : "*-labels-idx1-ubyte");
      return FALSE;
    }
  {
    g_autoptr(GError) local = NULL;

    if (!qs_file_check_regular (labels_path, &local))
      {
        g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND, _("Labels: %s"), local->message);
        return FALSE;
      }
  }
  labels = read_idx_file (labels_path, error);
  if (labels == NULL)
    return FALSE;
  lb = parse_idx (labels, labels_path, 1, 1, &l_dims, ldims, error);
  if (lb == NULL)
    return FALSE;
  if (ldims[0] != dims[0])
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s has %u images but %s has %u labels"), path, dims[0], labels_path, ldims[0]);
      return FALSE;
    }
  self->n_images = dims[0];
  self->height = dims[1];
  self->width = dims[2];
  self->channels = n_dims == 4 ? dims[3] : 1;
  n_px = (gsize) self->n_images * self->height * self->width * self->channels;
  self->pixels = g_memdup2 (px, n_px);
  self->labels = g_new0 (gint, MAX (self->n_images, 1));
  self->n_classes = 0;
  for (guint i = 0; i < self->n_images; i++)
    {
      self->labels[i] = lb[i];
      self->n_classes = MAX (self->n_classes, (guint) lb[i] + 1);
    }
  return TRUE;
}

/* --- HDF5 --- */

static gboolean
read_h5_array (hid_t        file,
               const char  *path,
               const char  *name,
               guint       *rank,
               hsize_t     *dims,
               double     **values,
               GError     **error)
{
  g_autoptr(GError) local = NULL;
  hid_t dset, space, dcpl;
  int r;
  gsize n = 1;
  gboolean ok = FALSE;

  dset = H5Dopen2 (file, name, H5P_DEFAULT);
  if (dset < 0)
    {
      _qs_keras_set_h5_error (error, QS_DATASET_ERROR_FORMAT, _("%s: cannot open dataset “%s”"), path, name);
      if (error != NULL && *error != NULL)
        (*error)->domain = QS_DATASET_ERROR;
      return FALSE;
    }
  dcpl = H5Dget_create_plist (dset);
  if (dcpl >= 0 && (H5Pget_layout (dcpl) == H5D_VIRTUAL || H5Pget_external_count (dcpl) != 0))
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: dataset “%s” reads other files; Quantscope does not follow it"), path, name);
      H5Pclose (dcpl);
      H5Dclose (dset);
      return FALSE;
    }
  if (dcpl >= 0 && !_qs_hdf5_check_filters (dcpl, path, name, &local))
    {
      g_set_error_literal (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT, local->message);
      H5Pclose (dcpl);
      H5Dclose (dset);
      return FALSE;
    }
  if (dcpl >= 0)
    H5Pclose (dcpl);
  space = H5Dget_space (dset);
  r = H5Sget_simple_extent_ndims (space);
  if (r < 1 || r > 4)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: dataset “%s” has %d dimensions"), path, name, r);
      goto out;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  for (int i = 0; i < r; i++)
    if ((i > 0 && dims[i] > MAX_IMAGE_DIM) || !qs_size_mul (n, dims[i], &n) || n > ((gsize) 1 << 31))
      {
        g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                     _("%s: dataset “%s” is too large"), path, name);
        goto out;
      }
  *rank = r;
  *values = g_try_new (double, MAX (n, 1));
  if (*values == NULL)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT, _("%s: dataset “%s” is too large"), path, name);
      goto out;
    }
  if (H5Dread (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *values) < 0)
    {
      g_clear_pointer (values, g_free);
      _qs_keras_set_h5_error (error, QS_DATASET_ERROR_FORMAT, _("%s: cannot read dataset “%s”"), path, name);
      if (error != NULL && *error != NULL)
        (*error)->domain = QS_DATASET_ERROR;
      goto out;
    }
  ok = TRUE;
out:
  H5Sclose (space);
  H5Dclose (dset);
  return ok;
}

/* Finds and reads the image and label arrays of an HDF5 file: the part that runs HDF5,
 * in the sandboxed loader when it is available (qs_dataset_h5_arrays_read_untrusted). */
gboolean
_qs_dataset_h5_arrays_read (const char      *path,
                            const char      *x_name,
                            const char      *y_name,
                            QsDatasetArrays *out,
                            GError         **error)
{
  const char *names[][2] = {
    { x_name != NULL ? x_name : "x_test", y_name != NULL ? y_name : "y_test" },
    { "x", "y" }, { "images", "labels" }, { "x_train", "y_train" }, { "X", "Y" }, { "data", "label" },
  };
  hid_t file;
  gsize i;
  gboolean ok = FALSE;

  memset (out, 0, sizeof *out);
  _qs_keras_h5_init ();
  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    {
      GError *local = NULL;
      _qs_keras_set_h5_error (&local, QS_DATASET_ERROR_FORMAT, _("%s: cannot open the HDF5 file"), path);
      local->domain = QS_DATASET_ERROR;
      g_propagate_error (error, local);
      return FALSE;
    }
  for (i = 0; i < (x_name != NULL ? 1 : G_N_ELEMENTS (names)); i++)
    if (H5Lexists (file, names[i][0], H5P_DEFAULT) > 0 && H5Lexists (file, names[i][1], H5P_DEFAULT) > 0)
      {
        H5L_info_t info;
        if (H5Lget_info (file, names[i][0], &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD ||
            H5Lget_info (file, names[i][1], &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD)
          {
            g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                         _("%s: “%s” or “%s” is a link; Quantscope reads only datasets stored in the file"),
                         path, names[i][0], names[i][1]);
            goto out;
          }
        break;
      }
  if (i == (x_name != NULL ? 1 : G_N_ELEMENTS (names)))
    {
      if (x_name != NULL)
        {
          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                       _("%s: no datasets “%s” and “%s”"), path, x_name, y_name);
          goto out;
        }
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: no image and label datasets (looked for x_test/y_test, x/y, images/labels, x_train/y_train)"),
                   path);
      goto out;
    }
  {
    hsize_t xd[4] = { 0 }, yd[4] = { 0 };

    if (!read_h5_array (file, path, names[i][0], &out->x_rank, xd, &out->x, error) ||
        !read_h5_array (file, path, names[i][1], &out->y_rank, yd, &out->y, error))
      {
        _qs_dataset_arrays_clear (out);
        goto out;
      }
    for (guint d = 0; d < 4; d++)
      {
        out->x_dims[d] = xd[d];
        out->y_dims[d] = yd[d];
      }
  }
  out->x_name = g_strdup (names[i][0]);
  out->y_name = g_strdup (names[i][1]);
  ok = TRUE;
out:
  H5Fclose (file);
  return ok;
}

void
_qs_dataset_arrays_clear (QsDatasetArrays *arrays)
{
  g_clear_pointer (&arrays->x, g_free);
  g_clear_pointer (&arrays->y, g_free);
  g_clear_pointer (&arrays->x_name, g_free);
  g_clear_pointer (&arrays->y_name, g_free);
}

/* Images and labels from the arrays, checked (they may come from the sandboxed reader:
 * nothing in them is trusted). */
static gboolean
build_from_arrays (QsDataset             *self,
                   const char            *path,
                   const QsDatasetArrays *a,
                   GError               **error)
{
  const double *x = a->x, *y = a->y;
  const guint64 *xd = a->x_dims, *yd = a->y_dims;
  guint xr = a->x_rank, yr = a->y_rank;
  gboolean bytes = TRUE;
  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
  gsize per;

  if (xr < 2 || xr > 4 || yr < 1 || yr > 2 || yd[0] != xd[0] || xd[0] > G_MAXUINT)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: “%s” and “%s” disagree on the number of images"), path, a->x_name, a->y_name);
      return FALSE;
    }
  self->n_images = (guint) xd[0];
  self->height = xd[1];
  self->width = xr >= 3 ? xd[2] : 1;
  self->channels = xr == 4 ? xd[3] : 1;
  per = self->height * self->width * self->channels;
  for (gsize k = 0; k < (gsize) self->n_images * per; k++)
    {
      if (!(x[k] >= 0 && x[k] <= 255 && x[k] == (double) (guint8) x[k]))
        bytes = FALSE;
      if (isfinite (x[k]))
        {
          lo = MIN (lo, x[k]);
          hi = MAX (hi, x[k]);
        }
    }
  /* Byte images keep the x/255 default. Anything else (floats in [0, 1], standardised data)
   * is fed as stored (scale 1); the byte pixels are then a min-max rendering for display. */
  self->pixels = g_malloc (MAX ((gsize) self->n_images * per, 1));
  if (!bytes)
    {
      self->values = g_malloc (MAX ((gsize) self->n_images * per, 1) * sizeof (float));
    }
  for (gsize k = 0; k < (gsize) self->n_images * per; k++)
    {
      if (bytes)
        self->pixels[k] = (guint8) x[k];
      else
        {
          double t = hi > lo && isfinite (x[k]) ? (x[k] - lo) / (hi - lo) : 0;
          self->values[k] = (float) x[k];
          self->pixels[k] = (guint8) CLAMP (t * 255.0 + 0.5, 0, 255);
        }
    }
  self->labels = g_new0 (gint, MAX (self->n_images, 1));
  for (guint k = 0; k < self->n_images; k++)
    {
      if (yr == 2)
        {
          gsize best = 0;
          if (yd[1] == 0 || yd[1] > QS_DATASET_MAX_LABEL + 1)
            {
              g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                           _("%s: dataset “%s” has %" PRIu64 " classes per label"),
                           path, a->y_name, yd[1]);
              return FALSE;
            }
          for (gsize j = 1; j < yd[1]; j++)
            if (y[k * yd[1] + j] > y[k * yd[1] + best])
              best = j;
          self->labels[k] = (gint) best;
          self->n_classes = MAX (self->n_classes, (guint) yd[1]);
        }
      else
        {
          /* NaN passes a range test (and became a class count of billions) */
          if (!isfinite (y[k]) || y[k] != floor (y[k]) || y[k] < 0 || y[k] > QS_DATASET_MAX_LABEL)
            {
              g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                           _("%s: dataset “%s”: label %u is %g; labels are whole numbers from 0 to %d"),
                           path, a->y_name, k, y[k], QS_DATASET_MAX_LABEL);
              return FALSE;
            }
          self->labels[k] = (gint) y[k];
          self->n_classes = MAX (self->n_classes, (guint) self->labels[k] + 1);
        }
    }
  return TRUE;
}

static gboolean
open_hdf5 (QsDataset  *self,
           const char *path,
           const char *x_name,
           const char *y_name,
           GError    **error)
{
  QsDatasetArrays arrays;
  gboolean ok;

  if (!_qs_dataset_h5_arrays_read_untrusted (path, x_name, y_name, &arrays, error))
    return FALSE;
  ok = build_from_arrays (self, path, &arrays, error);
  _qs_dataset_arrays_clear (&arrays);
  return ok;
}

static void
load_class_names (QsDataset  *self,
                  const char *classes_path)
{
  g_autofree char *contents = NULL;

  if (classes_path != NULL && qs_file_check_regular (classes_path, NULL) &&
      g_file_get_contents (classes_path, &contents, NULL, NULL) &&
      g_utf8_validate (contents, -1, NULL))
    {
      g_auto(GStrv) lines = g_strsplit (g_strstrip (contents), "\n", -1);
      if (g_strv_length (lines) >= self->n_classes)
        {
          self->class_names = g_steal_pointer (&lines);
          self->n_classes = MAX (self->n_classes, g_strv_length (self->class_names));
          return;
        }
    }
  self->class_names = g_new0 (char *, self->n_classes + 1);
  for (guint i = 0; i < self->n_classes; i++)
    self->class_names[i] = g_strdup_printf ("%u", i);
}

/* Takes shape, labels and class names from the source. */
static QsDataset *
finish_source (QsDataset   *self,
               const char  *path,
               const char  *classes_path,
               GError     **error)
{
  QsDatasetSource *src = self->source;

  self->n_images = src->n_images;
  self->height = src->height;
  self->width = src->width;
  self->channels = src->channels;
  self->varying_size = src->varying_size;
  self->labels = g_steal_pointer (&src->labels);
  self->n_classes = src->n_classes;
  if (self->n_images == 0)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: the dataset has no images"), path);
      g_object_unref (self);
      return NULL;
    }
  if (src->class_names != NULL)
    self->class_names = g_steal_pointer (&src->class_names);
  else
    load_class_names (self, classes_path);
  return self;
}

QsDataset *
qs_dataset_open (const char  *spec,
                 GError     **error)
{
  g_autoptr(QsDataset) self = NULL;
  g_autofree char *path = NULL;
  g_autofree char *classes = NULL;
  g_autofree char *x_name = NULL;
  g_autofree char *y_name = NULL;
  guchar head[8] = { 0 };

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (QS_TYPE_DATASET, NULL);
  if (strcmp (spec, "sample-train-full") == 0)
    {
      /* Debian's dataset-fashion-mnist: the full 60,000 training images. Opt-in by name,
       * so that "sample-train" (and every number computed from it) is the same everywhere. */
      path = g_build_filename (QS_DATA_SYSTEM_FMNIST_DIR, "train-images-idx3-ubyte.gz", NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND,
                       _("The full Fashion-MNIST training set is not installed (%s is missing); "
                         "install the Debian package dataset-fashion-mnist, or use “sample-train”"),
                       path);
          return NULL;
        }
      classes = qs_data_find_file (QS_DATA_SAMPLE_CLASSES, NULL);
      self->name = g_strdup (spec);
      self->display_name = N_("Fashion-MNIST training set");
    }
  else if (strcmp (spec, "sample") == 0 || strcmp (spec, "sample-train") == 0)
    {
      g_autoptr(GError) local = NULL;

      path = qs_data_find_file (strcmp (spec, "sample") == 0 ? QS_DATA_SAMPLE_TEST_IMAGES
                                                            : QS_DATA_SAMPLE_TRAIN_IMAGES, &local);
      if (path == NULL)
        {
          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND,
                       _("The bundled sample data set is missing: %s"), local->message);
          return NULL;
        }
      classes = qs_data_find_file (QS_DATA_SAMPLE_CLASSES, NULL);
      self->name = g_strdup (spec);
      self->display_name = strcmp (spec, "sample") == 0 ? N_("Fashion-MNIST test set")
                                                        : N_("Fashion-MNIST training sample");
    }
  else
    {
      g_autofree char *dir = NULL;
      const char *colon = strrchr (spec, ':');

      path = g_strdup (spec);
      /* "file.h5:IMAGES,LABELS" names the HDF5 datasets or the .npz arrays ("file.npz:X"
       * alone: unlabelled). */
      if (!g_file_test (spec, G_FILE_TEST_EXISTS) && colon != NULL && colon[1] != '\0')
        {
          g_auto(GStrv) names = g_strsplit (colon + 1, ",", 2);
          g_autofree char *prefix = g_strndup (spec, colon - spec);

          if (names[1] != NULL || g_file_test (prefix, G_FILE_TEST_IS_REGULAR))
            {
              g_free (path);
              path = g_steal_pointer (&prefix);
              x_name = g_strdup (names[0]);
              y_name = g_strdup (names[1] != NULL ? names[1] : "none");
            }
        }
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          self->name = g_path_get_basename (path);
          self->source = _qs_dataset_folder_open (path, error);
          if (self->source == NULL)
            return NULL;
          return finish_source (g_steal_pointer (&self), path, NULL, error);
        }
      dir = g_path_get_dirname (path);
      classes = g_build_filename (dir, "classes.txt", NULL);
      self->name = g_path_get_basename (path);
    }

  {
    g_autoptr(GFile) file = g_file_new_for_path (path);
    g_autoptr(GFileInputStream) in = NULL;
    g_autoptr(GError) local = NULL;

    /* /dev/zero never ends, a FIFO blocks forever */
    if (!qs_file_check_regular (path, &local))
      {
        g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND,
                     _("Dataset: %s"), local->message);
        return NULL;
      }
    in = g_file_read (file, NULL, NULL);
    if (in == NULL)
      {
        g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND,
                     _("Cannot open dataset “%s”"), path);
        return NULL;
      }
    g_input_stream_read_all (G_INPUT_STREAM (in), head, sizeof head, NULL, NULL, NULL);
  }
  if (memcmp (head, "\x93NUMPY", 6) == 0 || (head[0] == 'P' && head[1] == 'K'))
    {
      self->source = _qs_dataset_npy_open (path, x_name, y_name, error);
      if (self->source == NULL)
        return NULL;
      return finish_source (g_steal_pointer (&self), path, classes, error);
    }
  if (head[0] == 0x89 && memcmp (head + 1, "HDF", 3) == 0)
    {
      gboolean ok;

      ok = open_hdf5 (self, path, x_name, y_name, error);
      if (!ok)
        return NULL;
    }
  else if (!open_idx (self, path, error))
    return NULL;

  if (self->n_images == 0)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: the dataset has no images"), path);
      return NULL;
    }
  load_class_names (self, classes);
  return g_steal_pointer (&self);
}

const char *
qs_dataset_get_name (QsDataset *self)
{
  g_return_val_if_fail (QS_IS_DATASET (self), NULL);
  return self->name;
}

const char *
qs_dataset_get_display_name (QsDataset *self)
{
  g_return_val_if_fail (QS_IS_DATASET (self), NULL);
  return self->display_name != NULL ? _(self->display_name) : self->name;
}

guint
qs_dataset_get_n_images (QsDataset *self)
{
  g_return_val_if_fail (QS_IS_DATASET (self), 0);
  return self->n_images;
}

void
qs_dataset_get_image_shape (QsDataset *self,
                            gsize     *height,
                            gsize     *width,
                            gsize     *channels)
{
  g_return_if_fail (QS_IS_DATASET (self));
  if (height != NULL)
    *height = self->height;
  if (width != NULL)
    *width = self->width;
  if (channels != NULL)
    *channels = self->channels;
}

guint
qs_dataset_get_n_classes (QsDataset *self)
{
  g_return_val_if_fail (QS_IS_DATASET (self), 0);
  return self->n_classes;
}

gint
qs_dataset_get_label (QsDataset *self,
                      guint      index)
{
  g_return_val_if_fail (QS_IS_DATASET (self), -1);
  g_return_val_if_fail (index < self->n_images, -1);
  return self->labels != NULL ? self->labels[index] : -1;
}

gboolean
qs_dataset_is_labelled (QsDataset *self)
{
  g_return_val_if_fail (QS_IS_DATASET (self), FALSE);
  return self->labels != NULL;
}

gboolean
qs_dataset_has_varying_size (QsDataset *self)
{
  g_return_val_if_fail (QS_IS_DATASET (self), FALSE);
  return self->varying_size;
}

const char *
qs_dataset_get_class_name (QsDataset *self,
                           guint      label)
{
  g_return_val_if_fail (QS_IS_DATASET (self), NULL);
  if (self->class_names == NULL || label >= g_strv_length (self->class_names))
    return NULL;
  return self->class_names[label];
}

const guint8 *
qs_dataset_get_pixels (QsDataset *self,
                       guint      index)
{
  g_return_val_if_fail (QS_IS_DATASET (self), NULL);
  g_return_val_if_fail (index < self->n_images, NULL);
  if (self->pixels == NULL)
    return NULL;
  return self->pixels + (gsize) index * self->height * self->width * self->channels;
}

/* One image as stored, as floats (newly allocated), with its shape. */
static float *
read_image (QsDataset *self,
            guint      index,
            gsize     *shape,
            GError   **error)
{
  gsize per = self->height * self->width * self->channels;
  float *out;

  if (self->source != NULL)
    return self->source->read (self->source, index, shape, error);
  shape[0] = self->height;
  shape[1] = self->width;
  shape[2] = self->channels;
  out = g_new (float, MAX (per, 1));
  if (self->values != NULL)
    memcpy (out, self->values + (gsize) index * per, per * sizeof (float));
  else
    {
      const guint8 *px = self->pixels + (gsize) index * per;
      for (gsize i = 0; i < per; i++)
        out[i] = px[i];
    }
  return out;
}

guint8 *
qs_dataset_read_pixels (QsDataset *self,
                        guint      index,
                        gsize     *height,
                        gsize     *width,
                        gsize     *channels,
                        GError   **error)
{
  g_autofree float *v = NULL;
  gsize shape[3], n;
  guint8 *out;
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;

  g_return_val_if_fail (QS_IS_DATASET (self), NULL);
  g_return_val_if_fail (index < self->n_images, NULL);

  if (self->pixels != NULL)
    {
      n = self->height * self->width * self->channels;
      shape[0] = self->height;
      shape[1] = self->width;
      shape[2] = self->channels;
      out = g_memdup2 (self->pixels + (gsize) index * n, n);
    }
  else
    {
      gboolean bytes = self->source->bytes;

      v = read_image (self, index, shape, error);
      if (v == NULL)
        return NULL;
      n = shape[0] * shape[1] * shape[2];
      for (gsize i = 0; i < n; i++)
        if (isfinite (v[i]))
          {
            lo = MIN (lo, v[i]);
            hi = MAX (hi, v[i]);
          }
      out = g_malloc (MAX (n, 1));
      for (gsize i = 0; i < n; i++)
        {
          double t = bytes ? v[i] / 255.0 : hi > lo && isfinite (v[i]) ? (v[i] - lo) / (hi - lo) : 0;

          /* NaN would pass CLAMP and make the cast undefined (found by fuzz-npy) */
          if (!isfinite (t))
            t = 0;
          out[i] = (guint8) CLAMP (t * 255.0 + 0.5, 0, 255);
        }
    }
  if (height != NULL)
    *height = shape[0];
  if (width != NULL)
    *width = shape[1];
  if (channels != NULL)
    *channels = shape[2];
  return out;
}

/* The model's input as height, width, channels: rank 3 HWC, rank 2 HW (one channel),
 * rank 1 a feature vector (height = features). */
static gboolean
model_input_hwc (QsModel *model,
                 gsize   *hwc,
                 guint   *rank_out,
                 gsize   *total)
{
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank = qs_model_get_input_shape (model, shape);

  *total = 1;
  for (guint i = 0; i < rank; i++)
    *total *= shape[i];
  *rank_out = rank;
  if (rank == 0 || rank > 3)
    return FALSE;
  hwc[0] = shape[0];
  hwc[1] = rank >= 2 ? shape[1] : 1;
  hwc[2] = rank == 3 ? shape[2] : 1;
  return TRUE;
}

static char *
shape_string (QsModel *model)
{
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank = qs_model_get_input_shape (model, shape);
  GString *s = g_string_new ("[");

  for (guint i = 0; i < rank; i++)
    g_string_append_printf (s, "%s%zu", i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
qs_dataset_fill_inputs (QsDataset *self,
                        QsModel   *model,
                        guint      start,
                        guint      count,
                        float     *out,
                        GError   **error)
{
  const QsPreprocess *pp;
  gsize hwc[3], want = 1, per = self->height * self->width * self->channels;
  guint rank;
  gboolean model_ok;
  gboolean bytes;

  g_return_val_if_fail (QS_IS_DATASET (self), FALSE);
  g_return_val_if_fail (QS_IS_MODEL (model), FALSE);
  g_return_val_if_fail (out != NULL || count == 0, FALSE);

  pp = &self->preprocess;
  bytes = self->source != NULL ? self->source->bytes : self->values == NULL;
  if ((gsize) start + count > self->n_images)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_SHAPE,
                   _("Images %u to %u are outside dataset “%s” (%u images)"),
                   start, start + count, self->name, self->n_images);
      return FALSE;
    }
  model_ok = model_input_hwc (model, hwc, &rank, &want);
  /* The same element count, no resize or crop asked for: reshaped as stored (28x28 vs
   * 28x28x1 vs 784), the fast path of the in-memory formats. */
  if (model_ok && !self->varying_size && want == per && pp->crop_height == 0
      && (pp->resize_mode == QS_PREPROCESS_RESIZE_AUTO || pp->resize_mode == QS_PREPROCESS_RESIZE_NONE
          || (pp->resize_mode == QS_PREPROCESS_RESIZE_STRETCH
              && hwc[0] == self->height && hwc[1] == self->width))
      && (rank == 1 || hwc[2] == self->channels))
    {
      gsize ch = rank == 1 ? self->channels : hwc[2];

      for (guint i = 0; i < count; i++)
        {
          float *o = out + (gsize) i * per;

          if (self->values != NULL)
            memcpy (o, self->values + (gsize) (start + i) * per, per * sizeof (float));
          else if (self->pixels != NULL)
            {
              const guint8 *px = self->pixels + (gsize) (start + i) * per;
              for (gsize k = 0; k < per; k++)
                o[k] = px[k];
            }
          else
            {
              gsize shape[3];
              g_autofree float *v = self->source->read (self->source, start + i, shape, error);

              if (v == NULL)
                return FALSE;
              memcpy (o, v, per * sizeof (float));
            }
          if (pp->bgr && ch >= 3)
            for (gsize k = 0; k + ch <= per; k += ch)
              {
                float t = o[k];
                o[k] = o[k + 2];
                o[k + 2] = t;
              }
          qs_preprocess_apply_values (pp, o, per, ch, bytes);
        }
      return TRUE;
    }
  /* Arrays of another size are resized only when asked (resize=); image folders (sizes
   * vary) are brought to the model's size by default, as Keras image_dataset_from_directory
   * does. */
  if (!model_ok || rank == 1
      || (pp->resize_mode == QS_PREPROCESS_RESIZE_AUTO && pp->crop_height == 0 && !self->varying_size
          && (hwc[0] != self->height || hwc[1] != self->width)))
    {
      g_autofree char *s = shape_string (model);

      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_SHAPE,
                   _("Dataset “%s” has images of %zu×%zu×%zu but model “%s” expects %s "
                     "(preprocessing “resize=stretch” or “resize=N” resizes images)"),
                   self->name, self->height, self->width, self->channels,
                   qs_model_get_name (model), s);
      return FALSE;
    }
  for (guint i = 0; i < count; i++)
    {
      gsize shape[3];
      g_autofree float *v = read_image (self, start + i, shape, error);
      g_autoptr(GError) local = NULL;

      if (v == NULL)
        return FALSE;
      if (!qs_preprocess_apply (pp, v, shape[0], shape[1], shape[2], bytes,
                                out + (gsize) i * want, hwc[0], hwc[1], hwc[2], &local))
        {
          g_autofree char *s = shape_string (model);

          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_SHAPE,
                       _("Dataset “%s”, image %u has %zu×%zu×%zu values but model “%s” expects %s: %s"),
                       self->name, start + i, shape[0], shape[1], shape[2],
                       qs_model_get_name (model), s, local->message);
          return FALSE;
        }
    }
  return TRUE;
}

void
qs_dataset_set_scaling (QsDataset *self,
                        float      scale,
                        float      offset)
{
  g_return_if_fail (QS_IS_DATASET (self));
  self->preprocess.auto_scale = FALSE;
  self->preprocess.scale = scale;
  self->preprocess.offset = offset;
}

void
qs_dataset_set_preprocess (QsDataset          *self,
                           const QsPreprocess *preprocess)
{
  g_return_if_fail (QS_IS_DATASET (self));
  if (preprocess != NULL)
    self->preprocess = *preprocess;
  else
    qs_preprocess_init (&self->preprocess);
}

const QsPreprocess *
qs_dataset_get_preprocess (QsDataset *self)
{
  g_return_val_if_fail (QS_IS_DATASET (self), NULL);
  return &self->preprocess;
}

QsDataset *
qs_dataset_open_full (const char          *spec,
                      const char          *labels,
                      const QsPreprocess  *preprocess,
                      GError             **error)
{
  g_autoptr(QsDataset) self = NULL;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = qs_dataset_open (spec, error);
  if (self == NULL)
    return NULL;
  if (labels != NULL && g_ascii_strcasecmp (labels, "none") == 0)
    {
      g_clear_pointer (&self->labels, g_free);
      self->n_classes = 0;
    }
  else if (labels != NULL)
    {
      guint n = 0, n_classes = 0;
      gint *l = _qs_dataset_npy_load_labels (labels, &n, &n_classes, error);

      if (l == NULL)
        return NULL;
      if (n != self->n_images)
        {
          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                       _("%s has %u labels but dataset “%s” has %u images"),
                       labels, n, self->name, self->n_images);
          g_free (l);
          return NULL;
        }
      g_free (self->labels);
      self->labels = l;
      self->n_classes = n_classes;
      if (self->class_names == NULL || g_strv_length (self->class_names) < n_classes)
        {
          g_clear_pointer (&self->class_names, g_strfreev);
          load_class_names (self, NULL);
        }
    }
  if (preprocess != NULL)
    self->preprocess = *preprocess;
  return g_steal_pointer (&self);
}
