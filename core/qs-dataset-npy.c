/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <zip.h>

#include "qs-dataset-private.h"
#include "qs-file.h"

/* NumPy .npy and .npz datasets. The header parser is strict (the format of
 * numpy/lib/format.py: magic, version 1-3, a Python dict literal with exactly 'descr',
 * 'fortran_order' and 'shape'); dtypes b1, i1/u1, i2/u2, i4/u4, i8/u8, f2, f4, f8 in
 * either byte order, C or Fortran order. A .npy file is memory-mapped and converted per
 * image; an .npz member stored uncompressed (np.savez) is read through zip_fseek per image,
 * a compressed one (np.savez_compressed) is inflated once as a stream into memory. */

#define NPY_MAX_HEADER   (1 << 20)
#define NPY_MAX_RANK     8
#define NPY_MAX_DIM      ((guint64) 1 << 40)
#define NPZ_MAX_INFLATE  ((guint64) 4 << 30)

typedef struct
{
  char     kind;          /* 'b', 'i', 'u', 'f' */
  guint    itemsize;
  gboolean big_endian;
  gboolean fortran;
  guint    rank;
  guint64  shape[NPY_MAX_RANK];
  guint64  n_elements;
  gsize    data_offset;   /* from the start of the .npy bytes */
} NpyHeader;

/* --- header --- */

static gboolean
npy_error (GError    **error,
           const char *where,
           const char *field,
           const char *what)
{
  if (field != NULL)
    g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                 _("%s: .npy header field “%s”: %s"), where, field, what);
  else
    g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                 _("%s: .npy header: %s"), where, what);
  return FALSE;
}

static void
skip_ws (const char **p,
         const char  *end)
{
  while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n'))
    (*p)++;
}

static gboolean
parse_header_dict (const char *p,
                   const char *end,
                   const char *where,
                   NpyHeader  *h,
                   GError    **error)
{
  gboolean have_descr = FALSE, have_fortran = FALSE, have_shape = FALSE;
  char descr[16] = { 0 };

  skip_ws (&p, end);
  if (p >= end || *p++ != '{')
    return npy_error (error, where, NULL, _("does not start with “{”"));
  for (;;)
    {
      char key[32];
      gsize klen = 0;
      char quote;

      skip_ws (&p, end);
      if (p < end && *p == '}')
        {
          p++;
          break;
        }
      if (p >= end || (*p != '\'' && *p != '"'))
        return npy_error (error, where, NULL, _("expected a quoted key"));
      quote = *p++;
      while (p < end && *p != quote && klen < sizeof key - 1)
        key[klen++] = *p++;
      key[klen] = '\0';
      if (p >= end || *p++ != quote)
        return npy_error (error, where, NULL, _("unterminated or overlong key"));
      skip_ws (&p, end);
      if (p >= end || *p++ != ':')
        return npy_error (error, where, key, _("expected “:” after the key"));
      skip_ws (&p, end);
      if (strcmp (key, "descr") == 0 && !have_descr)
        {
          gsize dlen = 0;

          if (p >= end || (*p != '\'' && *p != '"'))
            return npy_error (error, where, "descr",
                              _("expected a simple dtype string such as '<f4' (structured dtypes are not supported)"));
          quote = *p++;
          while (p < end && *p != quote && dlen < sizeof descr - 1)
            descr[dlen++] = *p++;
          if (p >= end || *p++ != quote)
            return npy_error (error, where, "descr", _("unterminated or overlong string"));
          have_descr = TRUE;
        }
      else if (strcmp (key, "fortran_order") == 0 && !have_fortran)
        {
          if (end - p >= 4 && memcmp (p, "True", 4) == 0)
            {
              h->fortran = TRUE;
              p += 4;
            }
          else if (end - p >= 5 && memcmp (p, "False", 5) == 0)
            {
              h->fortran = FALSE;
              p += 5;
            }
          else
            return npy_error (error, where, "fortran_order", _("expected True or False"));
          have_fortran = TRUE;
        }
      else if (strcmp (key, "shape") == 0 && !have_shape)
        {
          if (p >= end || *p++ != '(')
            return npy_error (error, where, "shape", _("expected a tuple"));
          h->rank = 0;
          for (;;)
            {
              guint64 v = 0;
              gboolean digits = FALSE;

              skip_ws (&p, end);
              if (p < end && *p == ')')
                {
                  p++;
                  break;
                }
              while (p < end && g_ascii_isdigit (*p))
                {
                  if (v > NPY_MAX_DIM)
                    return npy_error (error, where, "shape", _("a dimension is absurdly large"));
                  v = v * 10 + (guint64) (*p++ - '0');
                  digits = TRUE;
                }
              if (end - p >= 1 && *p == 'L')   /* Python 2 longs */
                p++;
              if (!digits)
                return npy_error (error, where, "shape", _("expected a non-negative whole number"));
              if (v > NPY_MAX_DIM)
                return npy_error (error, where, "shape", _("a dimension is absurdly large"));
              if (h->rank == NPY_MAX_RANK)
                return npy_error (error, where, "shape", _("more than 8 dimensions"));
              h->shape[h->rank++] = v;
              skip_ws (&p, end);
              if (p < end && *p == ',')
                p++;
              else if (p < end && *p == ')')
                {
                  p++;
                  break;
                }
              else
                return npy_error (error, where, "shape", _("expected “,” or “)”"));
            }
          have_shape = TRUE;
        }
      else
        {
          g_autofree char *msg = g_strdup_printf (_("unknown or repeated key “%s”"), key);
          return npy_error (error, where, NULL, msg);
        }
      skip_ws (&p, end);
      if (p < end && *p == ',')
        p++;
      else if (p < end && *p == '}')
        {
          p++;
          break;
        }
      else
        return npy_error (error, where, key, _("expected “,” or “}” after the value"));
    }
  skip_ws (&p, end);
  if (p != end)
    return npy_error (error, where, NULL, _("unexpected text after the dictionary"));
  if (!have_descr)
    return npy_error (error, where, "descr", _("missing"));
  if (!have_fortran)
    return npy_error (error, where, "fortran_order", _("missing"));
  if (!have_shape)
    return npy_error (error, where, "shape", _("missing"));

  /* descr: byte order, kind, size */
  {
    const char *d = descr;
    char order = '=';
    guint64 size;

    if (*d == '<' || *d == '>' || *d == '|' || *d == '=')
      order = *d++;
    h->kind = *d++;
    if (!g_ascii_string_to_unsigned (d, 10, 1, 8, &size, NULL))
      return npy_error (error, where, "descr", _("not a supported dtype (b1, i1-i8, u1-u8, f2, f4, f8)"));
    h->itemsize = size;
    h->big_endian = order == '>' || (order == '=' && G_BYTE_ORDER == G_BIG_ENDIAN);
    if (!((h->kind == 'b' && size == 1)
          || ((h->kind == 'i' || h->kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8))
          || (h->kind == 'f' && (size == 2 || size == 4 || size == 8))))
      {
        g_autofree char *msg = g_strdup_printf (_("dtype “%s” is not supported (b1, i1-i8, u1-u8, f2, f4, f8)"), descr);
        return npy_error (error, where, "descr", msg);
      }
  }
  return TRUE;
}

/* Parses the header from its first bytes (all of it must be in data[0..size)) without the
 * size check: for members whose data is not all in memory. */
static gboolean
npy_parse (const guint8 *data,
           gsize         size,
           guint64       total_size,
           const char   *where,
           NpyHeader    *h,
           GError      **error)
{
  guint32 hlen;
  gsize start;
  guint64 bytes;

  memset (h, 0, sizeof *h);
  if (size < 10 || memcmp (data, "\x93NUMPY", 6) != 0)
    return npy_error (error, where, NULL, _("not a .npy file (bad magic)"));
  if (data[6] == 1)
    {
      hlen = data[8] | (data[9] << 8);
      start = 10;
    }
  else if ((data[6] == 2 || data[6] == 3) && size >= 12)
    {
      hlen = data[8] | (data[9] << 8) | ((guint32) data[10] << 16) | ((guint32) data[11] << 24);
      start = 12;
    }
  else
    return npy_error (error, where, NULL, _("unsupported format version or truncated"));
  if (hlen > NPY_MAX_HEADER || hlen > size - start || start + hlen > total_size)
    return npy_error (error, where, NULL, _("the header length runs past the end of the file"));
  if (memchr (data + start, '\0', hlen) != NULL || !g_utf8_validate ((const char *) data + start, hlen, NULL))
    return npy_error (error, where, NULL, _("the header is not text"));
  if (!parse_header_dict ((const char *) data + start, (const char *) data + start + hlen, where, h, error))
    return FALSE;
  h->data_offset = start + hlen;
  h->n_elements = 1;
  for (guint i = 0; i < h->rank; i++)
    if (!g_uint64_checked_mul (&h->n_elements, h->n_elements, h->shape[i]))
      return npy_error (error, where, "shape", _("the element count overflows"));
  if (!g_uint64_checked_mul (&bytes, h->n_elements, h->itemsize))
    return npy_error (error, where, "shape", _("the byte count overflows"));
  if (bytes != total_size - h->data_offset)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   bytes > total_size - h->data_offset
                     ? _("%s: the .npy header field “shape” declares %" PRIu64 " bytes of data but the file has %" PRIu64 " (truncated?)")
                     : _("%s: the .npy header field “shape” declares %" PRIu64 " bytes of data but the file has %" PRIu64 " (extra bytes follow)"),
                   where, bytes, (guint64) (total_size - h->data_offset));
      return FALSE;
    }
  return TRUE;
}

gsize
_qs_npy_check_header (const guint8 *data,
                      gsize         size,
                      const char   *where,
                      GError      **error)
{
  NpyHeader h;

  if (!npy_parse (data, MIN (size, (gsize) NPY_MAX_HEADER + 12), size, where, &h, error))
    return 0;
  return h.data_offset;
}

/* --- element conversion --- */

static inline double
npy_value (const NpyHeader *h,
           const guint8    *p)
{
  guint8 b[8];

  if (h->big_endian != (G_BYTE_ORDER == G_BIG_ENDIAN) && h->itemsize > 1)
    {
      for (guint i = 0; i < h->itemsize; i++)
        b[i] = p[h->itemsize - 1 - i];
      p = b;
    }
  switch (h->kind)
    {
    case 'b':
      return p[0] != 0;
    case 'u':
      switch (h->itemsize)
        {
        case 1: return p[0];
        case 2: { guint16 v; memcpy (&v, p, 2); return v; }
        case 4: { guint32 v; memcpy (&v, p, 4); return v; }
        default: { guint64 v; memcpy (&v, p, 8); return (double) v; }
        }
    case 'i':
      switch (h->itemsize)
        {
        case 1: return (gint8) p[0];
        case 2: { gint16 v; memcpy (&v, p, 2); return v; }
        case 4: { gint32 v; memcpy (&v, p, 4); return v; }
        default: { gint64 v; memcpy (&v, p, 8); return (double) v; }
        }
    case 'f':
      switch (h->itemsize)
        {
        case 2:
          {
            guint16 v;
            guint32 sign, exp, man;

            memcpy (&v, p, 2);
            sign = v >> 15;
            exp = (v >> 10) & 0x1f;
            man = v & 0x3ff;
            if (exp == 0)
              return (sign ? -1.0 : 1.0) * ldexp (man, -24);
            if (exp == 31)
              return man ? NAN : (sign ? -INFINITY : INFINITY);
            return (sign ? -1.0 : 1.0) * ldexp (man + 1024, (int) exp - 25);
          }
        case 4: { float v; memcpy (&v, p, 4); return v; }
        default: { double v; memcpy (&v, p, 8); return v; }
        }
    default:
      g_assert_not_reached ();
    }
  return 0;
}

/* --- sources --- */

typedef struct
{
  QsDatasetSource  base;
  NpyHeader        h;
  char            *where;
  GMappedFile     *map;        /* a .npy file */
  guint8          *memory;     /* an inflated or Fortran-order .npz member (whole .npy bytes) */
  zip_t           *zip;        /* a stored .npz member */
  zip_file_t      *zf;
  GMutex           lock;       /* guards zf */
  gsize            per_image;  /* elements */
} NpySource;

static void
npy_source_free (QsDatasetSource *base)
{
  NpySource *s = (NpySource *) base;

  g_clear_pointer (&s->map, g_mapped_file_unref);
  g_free (s->memory);
  if (s->zf != NULL)
    zip_fclose (s->zf);
  if (s->zip != NULL)
    zip_discard (s->zip);
  g_mutex_clear (&s->lock);
  g_free (s->where);
}

static const guint8 *
npy_source_bytes (NpySource *s)
{
  if (s->map != NULL)
    return (const guint8 *) g_mapped_file_get_contents (s->map);
  return s->memory;
}

static float *
npy_source_read (QsDatasetSource *base,
                 guint            index,
                 gsize           *shape,
                 GError         **error)
{
  NpySource *s = (NpySource *) base;
  g_autofree float *out = g_new (float, MAX (s->per_image, 1));
  const NpyHeader *h = &s->h;

  shape[0] = base->height;
  shape[1] = base->width;
  shape[2] = base->channels;
  if (s->zf != NULL)
    {
      g_autofree guint8 *buf = g_malloc (MAX (s->per_image * h->itemsize, 1));
      gboolean ok;

      g_mutex_lock (&s->lock);
      ok = zip_fseek (s->zf, h->data_offset + (guint64) index * s->per_image * h->itemsize, SEEK_SET) == 0
           && zip_fread (s->zf, buf, s->per_image * h->itemsize) == (zip_int64_t) (s->per_image * h->itemsize);
      g_mutex_unlock (&s->lock);
      if (!ok)
        {
          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                       _("%s: cannot read image %u"), s->where, index);
          return NULL;
        }
      for (gsize i = 0; i < s->per_image; i++)
        out[i] = (float) npy_value (h, buf + i * h->itemsize);
      return g_steal_pointer (&out);
    }
  else
    {
      const guint8 *data = npy_source_bytes (s) + h->data_offset;

      if (!h->fortran)
        {
          const guint8 *p = data + (gsize) index * s->per_image * h->itemsize;

          if (h->kind == 'u' && h->itemsize == 1)
            for (gsize i = 0; i < s->per_image; i++)
              out[i] = p[i];
          else
            for (gsize i = 0; i < s->per_image; i++)
              out[i] = (float) npy_value (h, p + i * h->itemsize);
        }
      else
        {
          /* Fortran order: element (n, i1, ..., ik) is at n + N * (i1 + d1 * (i2 + ...));
           * walk the image's elements in C order. */
          guint64 idx[NPY_MAX_RANK] = { 0 };
          guint64 stride[NPY_MAX_RANK];

          stride[0] = 1;
          for (guint d = 1; d < h->rank; d++)
            stride[d] = stride[d - 1] * h->shape[d - 1];
          for (gsize i = 0; i < s->per_image; i++)
            {
              guint64 off = index;

              for (guint d = 1; d < h->rank; d++)
                off += idx[d] * stride[d];
              out[i] = (float) npy_value (h, data + off * h->itemsize);
              for (guint d = h->rank - 1; d >= 1; d--)
                {
                  if (++idx[d] < h->shape[d])
                    break;
                  idx[d] = 0;
                }
            }
        }
    }
  return g_steal_pointer (&out);
}

/* Reads all of an array (small: labels) as doubles. */
static double *
npy_read_all (const NpyHeader *h,
              const guint8    *data)
{
  double *v = g_new (double, MAX (h->n_elements, 1));
  guint64 idx[NPY_MAX_RANK] = { 0 };
  guint64 stride[NPY_MAX_RANK];

  if (!h->fortran || h->rank < 2)
    {
      for (guint64 i = 0; i < h->n_elements; i++)
        v[i] = npy_value (h, data + i * h->itemsize);
      return v;
    }
  stride[0] = 1;
  for (guint d = 1; d < h->rank; d++)
    stride[d] = stride[d - 1] * h->shape[d - 1];
  for (guint64 i = 0; i < h->n_elements; i++)
    {
      guint64 off = 0;

      for (guint d = 0; d < h->rank; d++)
        off += idx[d] * stride[d];
      v[i] = npy_value (h, data + off * h->itemsize);
      for (gint d = h->rank - 1; d >= 0; d--)
        {
          if (++idx[d] < h->shape[d])
            break;
          idx[d] = 0;
        }
    }
  return v;
}

/* Labels from an array: rank 1 whole numbers (or bool), rank 2 one-hot / scores (argmax). */
static gint *
labels_from_array (const NpyHeader *h,
                   const guint8    *data,
                   const char      *where,
                   guint           *n_classes,
                   GError         **error)
{
  g_autofree double *v = NULL;
  g_autofree gint *labels = NULL;
  guint64 n;

  if (h->rank < 1 || h->rank > 2 || (h->rank == 2 && h->shape[1] == 0))
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: labels must have 1 dimension (class numbers) or 2 (one-hot), not %u"),
                   where, h->rank);
      return NULL;
    }
  if (h->n_elements > ((guint64) 1 << 31))
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT, _("%s: too many labels"), where);
      return NULL;
    }
  v = npy_read_all (h, data);
  n = h->shape[0];
  labels = g_new0 (gint, MAX (n, 1));
  *n_classes = 0;
  for (guint64 k = 0; k < n; k++)
    {
      if (h->rank == 2)
        {
          guint64 best = 0;

          for (guint64 j = 1; j < h->shape[1]; j++)
            if (v[k * h->shape[1] + j] > v[k * h->shape[1] + best])
              best = j;
          labels[k] = (gint) best;
          *n_classes = MAX (*n_classes, (guint) h->shape[1]);
        }
      else
        {
          if (!isfinite (v[k]) || v[k] != floor (v[k]) || v[k] < 0 || v[k] > 65535)
            {
              g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                           _("%s: label %" PRIu64 " is %g; labels are whole numbers from 0 to 65535"),
                           where, k, v[k]);
              return NULL;
            }
          labels[k] = (gint) v[k];
          *n_classes = MAX (*n_classes, (guint) labels[k] + 1);
        }
    }
  return g_steal_pointer (&labels);
}

static gboolean
setup_images (NpySource  *s,
              GError    **error)
{
  const NpyHeader *h = &s->h;
  QsDatasetSource *b = &s->base;

  if (h->rank < 2 || h->rank > 4)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: images must have 2 to 4 dimensions (N, features) or (N, H, W[, C]), not %u"),
                   s->where, h->rank);
      return FALSE;
    }
  for (guint d = 1; d < h->rank; d++)
    if (h->shape[d] == 0 || h->shape[d] > 65536)
      {
        g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                     _("%s: .npy header field “shape”: dimension %u is %" PRIu64), s->where, d, h->shape[d]);
        return FALSE;
      }
  if (h->shape[0] == 0 || h->shape[0] > G_MAXINT32)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: the array holds %" PRIu64 " images"), s->where, h->shape[0]);
      return FALSE;
    }
  b->n_images = h->shape[0];
  b->height = h->shape[1];
  b->width = h->rank >= 3 ? h->shape[2] : 1;
  b->channels = h->rank == 4 ? h->shape[3] : 1;
  s->per_image = h->n_elements / h->shape[0];
  if (s->per_image > ((gsize) 1 << 28))
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: one image holds %zu values; too large"), s->where, s->per_image);
      return FALSE;
    }
  b->bytes = (h->kind == 'u' && h->itemsize == 1) || h->kind == 'b';
  b->read = npy_source_read;
  b->free = npy_source_free;
  return TRUE;
}

static NpySource *
npy_source_new (const char *where)
{
  NpySource *s = g_new0 (NpySource, 1);

  g_mutex_init (&s->lock);
  s->where = g_strdup (where);
  s->base.free = npy_source_free;   /* from the start: the error paths free through it */
  return s;
}

static QsDatasetSource *
open_npy_file (const char  *path,
               GError     **error)
{
  NpySource *s = npy_source_new (path);
  g_autoptr(GError) local = NULL;
  const guint8 *data;
  gsize size;

  s->map = g_mapped_file_new (path, FALSE, &local);
  if (s->map == NULL)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND, "%s", local->message);
      goto fail;
    }
  data = (const guint8 *) g_mapped_file_get_contents (s->map);
  size = g_mapped_file_get_length (s->map);
  if (data == NULL || !npy_parse (data, MIN (size, (gsize) NPY_MAX_HEADER + 12), size, path, &s->h, error)
      || !setup_images (s, error))
    goto fail;
  return &s->base;
fail:
  _qs_dataset_source_free (&s->base);
  return NULL;
}

gint *
_qs_dataset_npy_load_labels (const char *path,
                             guint      *n,
                             guint      *n_classes,
                             GError    **error)
{
  g_autoptr(GMappedFile) map = NULL;
  g_autoptr(GError) local = NULL;
  NpyHeader h;
  gint *labels;

  if (!qs_file_check_regular (path, &local))
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND, _("Labels: %s"), local->message);
      return NULL;
    }
  map = g_mapped_file_new (path, FALSE, &local);
  if (map == NULL)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND, "%s", local->message);
      return NULL;
    }
  if (!npy_parse ((const guint8 *) g_mapped_file_get_contents (map),
                  MIN (g_mapped_file_get_length (map), (gsize) NPY_MAX_HEADER + 12),
                  g_mapped_file_get_length (map), path, &h, error))
    return NULL;
  labels = labels_from_array (&h, (const guint8 *) g_mapped_file_get_contents (map) + h.data_offset,
                              path, n_classes, error);
  if (labels != NULL)
    *n = h.shape[0];
  return labels;
}

/* --- .npz --- */

static gboolean
npz_fail (GError    **error,
               const char *path,
               zip_t      *z)
{
  g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
               _("%s: not a readable .npz (zip) file: %s"), path, z ? zip_strerror (z) : "");
  return FALSE;
}

/* Inflates (or copies) a whole member into memory, at most its stated size. */
static guint8 *
zip_read_member (zip_t      *z,
                 zip_uint64_t index,
                 guint64     size,
                 const char *where,
                 GError    **error)
{
  zip_file_t *zf;
  g_autofree guint8 *buf = NULL;
  zip_int64_t got;

  if (size > NPZ_MAX_INFLATE)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: the member is %" PRIu64 " bytes; too large"), where, size);
      return NULL;
    }
  buf = g_try_malloc (MAX (size, 1));
  zf = zip_fopen_index (z, index, 0);
  if (buf == NULL || zf == NULL)
    {
      if (zf != NULL)
        zip_fclose (zf);
      npz_fail (error, where, z);
      return NULL;
    }
  got = zip_fread (zf, buf, size);
  zip_fclose (zf);
  if (got < 0 || (guint64) got != size)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: the member is truncated or corrupt"), where);
      return NULL;
    }
  return g_steal_pointer (&buf);
}

static gboolean
zip_find (zip_t        *z,
          const char   *name,
          zip_uint64_t *index)
{
  g_autofree char *with = g_strconcat (name, ".npy", NULL);
  zip_int64_t i = zip_name_locate (z, with, 0);

  if (i < 0)
    i = zip_name_locate (z, name, 0);
  if (i < 0)
    return FALSE;
  *index = i;
  return TRUE;
}

static QsDatasetSource *
open_npz (const char  *path,
          const char  *x_name,
          const char  *y_name,
          GError     **error)
{
  static const char *defaults[][2] = { { "x_test", "y_test" }, { "x", "y" } };
  g_autofree char *where_x = NULL, *where_y = NULL;
  NpySource *s = NULL;
  zip_t *z;
  int zerr = 0;
  zip_uint64_t xi = 0, yi = 0;
  gboolean have_y = FALSE;
  zip_stat_t st;
  guint8 head[NPY_MAX_HEADER / 16];
  zip_file_t *zf;
  zip_int64_t got;

  z = zip_open (path, ZIP_RDONLY, &zerr);
  if (z == NULL)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                   _("%s: not a readable .npz (zip) file (error %d)"), path, zerr);
      return NULL;
    }
  if (x_name != NULL)
    {
      if (!zip_find (z, x_name, &xi))
        {
          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                       _("%s: no array “%s”"), path, x_name);
          goto fail;
        }
      if (y_name != NULL && g_ascii_strcasecmp (y_name, "none") != 0)
        {
          if (!zip_find (z, y_name, &yi))
            {
              g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                           _("%s: no array “%s”"), path, y_name);
              goto fail;
            }
          have_y = TRUE;
        }
    }
  else
    {
      gsize k;

      for (k = 0; k < G_N_ELEMENTS (defaults); k++)
        if (zip_find (z, defaults[k][0], &xi))
          {
            have_y = zip_find (z, defaults[k][1], &yi);
            break;
          }
      if (k == G_N_ELEMENTS (defaults))
        {
          zip_int64_t n = zip_get_num_entries (z, 0);

          if (n < 1)
            {
              g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                           _("%s: the .npz file holds no arrays"), path);
              goto fail;
            }
          xi = 0;
          if (n >= 2)
            {
              yi = 1;
              have_y = TRUE;
            }
        }
    }
  where_x = g_strdup_printf ("%s:%s", path, zip_get_name (z, xi, 0));
  s = npy_source_new (where_x);
  if (zip_stat_index (z, xi, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_METHOD))
    {
      npz_fail (error, path, z);
      goto fail;
    }
  zf = zip_fopen_index (z, xi, 0);
  if (zf == NULL)
    {
      npz_fail (error, path, z);
      goto fail;
    }
  got = zip_fread (zf, head, MIN (sizeof head, st.size));
  zip_fclose (zf);
  if (got < 0 || !npy_parse (head, got, st.size, where_x, &s->h, error))
    {
      if (got < 0)
        npz_fail (error, path, z);
      goto fail;
    }
  if (st.comp_method == ZIP_CM_STORE && !s->h.fortran && st.encryption_method == ZIP_EM_NONE)
    {
      s->zf = zip_fopen_index (z, xi, 0);
      if (s->zf == NULL)
        {
          npz_fail (error, path, z);
          goto fail;
        }
    }
  else
    {
      s->memory = zip_read_member (z, xi, st.size, where_x, error);
      if (s->memory == NULL)
        goto fail;
    }
  if (!setup_images (s, error))
    goto fail;
  if (have_y)
    {
      g_autofree guint8 *ybytes = NULL;
      NpyHeader yh;
      guint n_classes = 0;

      where_y = g_strdup_printf ("%s:%s", path, zip_get_name (z, yi, 0));
      if (zip_stat_index (z, yi, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        {
          npz_fail (error, path, z);
          goto fail;
        }
      ybytes = zip_read_member (z, yi, st.size, where_y, error);
      if (ybytes == NULL || !npy_parse (ybytes, MIN (st.size, (guint64) NPY_MAX_HEADER + 12), st.size, where_y, &yh, error))
        goto fail;
      s->base.labels = labels_from_array (&yh, ybytes + yh.data_offset, where_y, &n_classes, error);
      if (s->base.labels == NULL)
        goto fail;
      if (yh.shape[0] != s->base.n_images)
        {
          g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                       _("%s has %u images but %s has %" PRIu64 " labels"),
                       where_x, s->base.n_images, where_y, yh.shape[0]);
          goto fail;
        }
      s->base.n_classes = n_classes;
    }
  if (s->zf != NULL)
    s->zip = z;
  else
    zip_discard (z);
  return &s->base;

fail:
  if (s != NULL)
    _qs_dataset_source_free (&s->base);
  zip_discard (z);
  return NULL;
}

QsDatasetSource *
_qs_dataset_npy_open (const char *path,
                      const char *x_name,
                      const char *y_name,
                      GError    **error)
{
  guint8 head[4] = { 0 };
  FILE *f = g_fopen (path, "rb");

  if (f == NULL)
    {
      g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_NOT_FOUND,
                   _("Cannot open dataset “%s”"), path);
      return NULL;
    }
  if (fread (head, 1, 4, f) != 4)
    memset (head, 0, 4);
  fclose (f);
  if (memcmp (head, "PK", 2) == 0)
    return open_npz (path, x_name, y_name, error);
  return open_npy_file (path, error);
}
