/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <zip.h>

#include "qs-file.h"
#include "qs-keras.h"

/* Keras HDF5 reader. Every file is scanned once before anything is read: external links,
 * external raw storage and virtual datasets are refused so that a file can never make
 * Quantscope open another file. Each dataset is checked against the size of the file before
 * memory is allocated for it. */

#define MAX_ATTRIBUTE_BYTES ((gsize) 256 << 20)
#define MAX_OBJECTS         1000000
#define MAX_ZIP_MEMBER      ((gsize) 4 << 30)  /* the weights of a .keras archive */
#define MAX_ZIP_RATIO       1000               /* inflated : compressed */
#define MAX_ZIP_RATIO_FREE  ((gsize) 1 << 20)  /* members this small may compress better */

typedef struct
{
  const char   *path;          /* for messages */
  hid_t         file;
  gsize         file_size;
  GCancellable *cancellable;
  GPtrArray    *float_datasets; /* char * paths of float datasets, file order */
} H5Ctx;

/* --- errors --- */

static herr_t
innermost_cb (unsigned          n,
              const H5E_error2_t *err,
              void             *data)
{
  char **msg = data;

  if (*msg == NULL && err->desc != NULL && *err->desc != '\0')
    *msg = g_strdup (err->desc);
  return 0;
}

static GRecMutex hdf5_lock;

void
_qs_hdf5_lock (void)
{
  g_rec_mutex_lock (&hdf5_lock);
}

void
_qs_hdf5_unlock (void)
{
  g_rec_mutex_unlock (&hdf5_lock);
}

void
_qs_keras_h5_init (void)
{
  static gsize plugins_off = 0;

  /* Per-thread in thread-safe builds: call on every entry point. */
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
  /* A dataset compressed with a filter HDF5 lacks would make it scan its plugin folder and
   * dlopen () every library there: code from a folder, chosen by a file from a stranger. */
  if (g_once_init_enter (&plugins_off))
    {
      H5PLset_loading_state (0);
      g_once_init_leave (&plugins_off, 1);
    }
}

gboolean
_qs_hdf5_check_filters (hid_t       dcpl,
                        const char *path,
                        const char *dataset,
                        GError    **error)
{
  int n = H5Pget_nfilters (dcpl);

  for (int i = 0; i < n; i++)
    {
      char name[64] = "";
      unsigned flags = 0, config = 0;
      size_t n_values = 0;
      H5Z_filter_t id = H5Pget_filter2 (dcpl, (unsigned) i, &flags, &n_values, NULL,
                                        sizeof name, name, &config);

      if (id < 0 || H5Zfilter_avail (id) <= 0)
        {
          g_autofree char *safe = g_utf8_make_valid (name, -1);

          g_strcanon (safe, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.", '?');
          H5Eclear2 (H5E_DEFAULT);
          g_autofree char *label = *safe != '\0' ? g_strdup_printf ("%d (“%s”)", (int) id, safe)
                                                  : g_strdup_printf ("%d", (int) id);

          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_UNSUPPORTED,
                       _("%s: dataset “%s” is compressed with HDF5 filter %s, which is not available: "
                         "only the built-in filters (deflate, shuffle, fletcher32, szip, nbit, scaleoffset) "
                         "are, and Quantscope loads no filter plugins; re-save the file with one of them"),
                       path, dataset, label);
          return FALSE;
        }
    }
  return TRUE;
}

void
_qs_keras_set_h5_error (GError    **error,
                        gint        code,
                        const char *format,
                        ...)
{
  g_autofree char *prefix = NULL;
  g_autofree char *inner = NULL;
  va_list args;

  va_start (args, format);
  prefix = g_strdup_vprintf (format, args);
  va_end (args);

  H5Ewalk2 (H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, &inner);
  H5Eclear2 (H5E_DEFAULT);
  if (inner != NULL)
    g_set_error (error, QS_MODEL_ERROR, code, _("%s (HDF5: %s)"), prefix, inner);
  else
    g_set_error_literal (error, QS_MODEL_ERROR, code, prefix);
}

static gboolean
check_cancel (H5Ctx   *ctx,
              GError **error)
{
  return !g_cancellable_set_error_if_cancelled (ctx->cancellable, error);
}

/* --- strings in attributes --- */

static gboolean
attribute_exists (hid_t       loc,
                  const char *name)
{
  return H5Aexists (loc, name) > 0;
}

/* Reads a string attribute (scalar or 1-D; fixed-length or variable-length) into a
 * NULL-terminated vector. A numeric empty array (what Keras writes for "no weights")
 * gives an empty vector. */
static GStrv
read_string_attribute_one (H5Ctx      *ctx,
                           hid_t       loc,
                           const char *loc_name,
                           const char *name,
                           GError    **error)
{
  hid_t attr = -1, type = -1, space = -1, mem = -1;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  hssize_t n;
  GStrv result = NULL;

  attr = H5Aopen (loc, name, H5P_DEFAULT);
  if (attr < 0)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: cannot open attribute “%s” of “%s”"),
                              ctx->path, name, loc_name);
      goto out;
    }
  type = H5Aget_type (attr);
  space = H5Aget_space (attr);
  n = H5Sget_simple_extent_npoints (space);
  if (type < 0 || space < 0 || n < 0 || H5Sget_simple_extent_ndims (space) > 1)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT,
                              _("%s: attribute “%s” of “%s” is not a list of strings"),
                              ctx->path, name, loc_name);
      goto out;
    }
  if (H5Tget_class (type) != H5T_STRING)
    {
      if (n == 0)
        result = g_strv_builder_end (builder);
      else
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                     _("%s: attribute “%s” of “%s” is not a list of strings"),
                     ctx->path, name, loc_name);
      goto out;
    }
  if (H5Tis_variable_str (type) > 0)
    {
      g_autofree char **strings = NULL;

      if ((gsize) n > MAX_ATTRIBUTE_BYTES / sizeof (char *))
        goto too_large;
      strings = g_new0 (char *, MAX (n, 1));
      mem = H5Tcopy (H5T_C_S1);
      H5Tset_size (mem, H5T_VARIABLE);
      H5Tset_cset (mem, H5Tget_cset (type));
      if (H5Aread (attr, mem, strings) < 0)
        {
          _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: cannot read attribute “%s” of “%s”"),
                                  ctx->path, name, loc_name);
          goto out;
        }
      for (hssize_t i = 0; i < n; i++)
        {
          g_strv_builder_add (builder, strings[i] != NULL ? strings[i] : "");
          if (strings[i] != NULL)
            H5free_memory (strings[i]);
        }
      result = g_strv_builder_end (builder);
    }
  else
    {
      size_t size = H5Tget_size (type);
      g_autofree char *buf = NULL;
      gsize total;

      if (size == 0 || !qs_size_mul (size, (gsize) n, &total) || total > MAX_ATTRIBUTE_BYTES)
        goto too_large;
      buf = g_malloc0 (total + 1);
      mem = H5Tcopy (H5T_C_S1);
      H5Tset_size (mem, size);
      H5Tset_strpad (mem, H5T_STR_NULLPAD);
      if (H5Aread (attr, mem, buf) < 0)
        {
          _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: cannot read attribute “%s” of “%s”"),
                                  ctx->path, name, loc_name);
          goto out;
        }
      for (hssize_t i = 0; i < n; i++)
        {
          const char *s = buf + i * size;
          g_autofree char *one = g_strndup (s, strnlen (s, size));
          g_strv_builder_add (builder, one);
        }
      result = g_strv_builder_end (builder);
    }
  goto out;

too_large:
  g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
               _("%s: attribute “%s” of “%s” is too large"), ctx->path, name, loc_name);
out:
  if (mem >= 0)
    H5Tclose (mem);
  if (type >= 0)
    H5Tclose (type);
  if (space >= 0)
    H5Sclose (space);
  if (attr >= 0)
    H5Aclose (attr);
  return result;
}

/* Keras splits attributes over 64 KB into name0, name1 ... */
static GStrv
read_string_attribute (H5Ctx      *ctx,
                       hid_t       loc,
                       const char *loc_name,
                       const char *name,
                       gboolean   *found,
                       GError    **error)
{
  g_autoptr(GStrvBuilder) builder = NULL;

  *found = TRUE;
  if (attribute_exists (loc, name))
    return read_string_attribute_one (ctx, loc, loc_name, name, error);

  builder = g_strv_builder_new ();
  for (guint chunk = 0;; chunk++)
    {
      g_autofree char *chunk_name = g_strdup_printf ("%s%u", name, chunk);
      g_auto(GStrv) part = NULL;

      if (!attribute_exists (loc, chunk_name))
        {
          if (chunk == 0)
            *found = FALSE;
          break;
        }
      part = read_string_attribute_one (ctx, loc, loc_name, chunk_name, error);
      if (part == NULL)
        return NULL;
      g_strv_builder_addv (builder, (const char **) part);
    }
  return g_strv_builder_end (builder);
}

static char *
read_scalar_string (H5Ctx      *ctx,
                    hid_t       loc,
                    const char *loc_name,
                    const char *name,
                    GError    **error)
{
  gboolean found;
  g_auto(GStrv) v = read_string_attribute (ctx, loc, loc_name, name, &found, error);

  if (v == NULL)
    return NULL;
  if (!found || v[0] == NULL)
    return g_strdup ("");
  if (g_strv_length (v) == 1)
    return g_strdup (v[0]);
  /* A split attribute: the pieces form one string. */
  return g_strjoinv ("", v);
}

/* --- the safety scan --- */

typedef struct
{
  H5Ctx      *ctx;
  GError    **error;
  guint       count;
  guint       depth;     /* of the group being listed: 1 for the root's members */
  const char *prefix;    /* its path, "" for the root */
  GHashTable *visited;   /* object keys of the groups listed: hard links can form cycles */
} ScanData;

static gboolean
check_dataset_storage (H5Ctx      *ctx,
                       hid_t       dset,
                       const char *name,
                       GError    **error)
{
  hid_t dcpl = H5Dget_create_plist (dset);
  H5D_layout_t layout;
  int n_external;

  if (dcpl < 0)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: cannot read the storage of dataset “%s”"),
                              ctx->path, name);
      return FALSE;
    }
  layout = H5Pget_layout (dcpl);
  n_external = H5Pget_external_count (dcpl);
  if (!_qs_hdf5_check_filters (dcpl, ctx->path, name, error))
    {
      H5Pclose (dcpl);
      return FALSE;
    }
  H5Pclose (dcpl);
  if (layout == H5D_VIRTUAL)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_EXTERNAL,
                   _("%s: dataset “%s” is a virtual dataset that reads other files; Quantscope does not follow it"),
                   ctx->path, name);
      return FALSE;
    }
  if (n_external != 0)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_EXTERNAL,
                   _("%s: dataset “%s” keeps its data in external files; Quantscope does not read them"),
                   ctx->path, name);
      return FALSE;
    }
  return TRUE;
}

/* Where an object is, file and address: two hard links to one group give the same key. */
static char *
object_key (hid_t obj)
{
#if H5_VERSION_GE (1, 12, 0)
  H5O_info2_t info;
  g_autoptr(GString) key = g_string_new (NULL);

  if (H5Oget_info3 (obj, &info, H5O_INFO_BASIC) < 0)
    return NULL;
  g_string_printf (key, "%lu:", (unsigned long) info.fileno);
  for (gsize i = 0; i < sizeof info.token.__data; i++)
    g_string_append_printf (key, "%02x", info.token.__data[i]);
  return g_string_free (g_steal_pointer (&key), FALSE);
#else
  H5O_info_t info;

  if (H5Oget_info2 (obj, &info, H5O_INFO_BASIC) < 0)
    return NULL;
  return g_strdup_printf ("%lu:%" G_GUINT64_FORMAT, (unsigned long) info.fileno, (guint64) info.addr);
#endif
}

static herr_t scan_cb (hid_t group, const char *name, const H5L_info_t *info, void *user_data);

/* Lists one group, then the groups in it, at most QS_MODEL_MAX_GROUP_DEPTH deep. Replaces
 * H5Lvisit, which follows any depth and opens every object by its full path from the root:
 * 2,000 nested groups took 30 s. */
static gboolean
scan_group (ScanData   *data,
            hid_t       group,
            const char *path)
{
  const char *saved_prefix = data->prefix;
  g_autofree char *key = object_key (group);
  hsize_t index = 0;
  herr_t status;

  if (key != NULL && !g_hash_table_add (data->visited, g_steal_pointer (&key)))
    return TRUE;   /* listed already: a second hard link, or a cycle */
  if (data->depth >= QS_MODEL_MAX_GROUP_DEPTH)
    {
      g_autofree char *shown = g_utf8_make_valid (path, MIN (strlen (path), 80));

      g_set_error (data->error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("%s: groups are nested more than %d deep (at “%s…”); Quantscope does not read files nested this deep"),
                   data->ctx->path, QS_MODEL_MAX_GROUP_DEPTH, shown);
      return FALSE;
    }
  data->depth++;
  data->prefix = path;
  status = H5Literate (group, H5_INDEX_NAME, H5_ITER_INC, &index, scan_cb, data);
  data->prefix = saved_prefix;
  data->depth--;
  if (status < 0)
    {
      if (data->error != NULL && *data->error == NULL)
        _qs_keras_set_h5_error (data->error, QS_MODEL_ERROR_CORRUPT, _("%s: cannot list the objects of “%s”"),
                                data->ctx->path, *path != '\0' ? path : "/");
      return FALSE;
    }
  return TRUE;
}

static herr_t
scan_cb (hid_t             group,
         const char       *link_name,
         const H5L_info_t *info,
         void             *user_data)
{
  ScanData *data = user_data;
  H5Ctx *ctx = data->ctx;
  g_autofree char *name = *data->prefix != '\0' ? g_strconcat (data->prefix, "/", link_name, NULL)
                                                 : g_strdup (link_name);
  H5I_type_t type;
  hid_t obj;

  if (++data->count > MAX_OBJECTS)
    {
      g_set_error (data->error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("%s: the file has more than %u objects"), ctx->path, MAX_OBJECTS);
      return -1;
    }
  if ((data->count & 255) == 0 && !check_cancel (ctx, data->error))
    return -1;
  if (info->type == H5L_TYPE_SOFT)
    return 0;
  if (info->type != H5L_TYPE_HARD)
    {
      g_set_error (data->error, QS_MODEL_ERROR, QS_MODEL_ERROR_EXTERNAL,
                   _("%s: “%s” is a link to another file; Quantscope does not follow it"),
                   ctx->path, name);
      return -1;
    }
  obj = H5Oopen (group, link_name, H5P_DEFAULT);
  if (obj < 0)
    {
      _qs_keras_set_h5_error (data->error, QS_MODEL_ERROR_CORRUPT, _("%s: cannot open “%s”"), ctx->path, name);
      return -1;
    }
  type = H5Iget_type (obj);
  if (type == H5I_DATASET)
    {
      hid_t dtype;

      if (!check_dataset_storage (ctx, obj, name, data->error))
        {
          H5Oclose (obj);
          return -1;
        }
      dtype = H5Dget_type (obj);
      if (dtype >= 0 && H5Tget_class (dtype) == H5T_FLOAT)
        g_ptr_array_add (ctx->float_datasets, g_strdup (name));
      if (dtype >= 0)
        H5Tclose (dtype);
    }
  else if (type == H5I_GROUP && !scan_group (data, obj, name))
    {
      H5Oclose (obj);
      return -1;
    }
  H5Oclose (obj);
  return 0;
}

static gboolean
scan_file (H5Ctx   *ctx,
           GError **error)
{
  g_autoptr(GHashTable) visited = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ScanData data = { ctx, error, 0, 0, "", visited };
  hid_t root = H5Gopen2 (ctx->file, "/", H5P_DEFAULT);
  gboolean ok;

  if (root < 0)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: cannot list the objects of the file"),
                              ctx->path);
      return FALSE;
    }
  ok = scan_group (&data, root, "");
  H5Gclose (root);
  return ok;
}

/* --- tensors --- */

static QsTensor *
read_tensor (H5Ctx      *ctx,
             hid_t       loc,
             const char *dataset_path,
             const char *tensor_name,
             GError    **error)
{
  hid_t dset = -1, space = -1, type = -1;
  hsize_t dims[QS_TENSOR_MAX_DIMS];
  gsize shape[QS_TENSOR_MAX_DIMS];
  int rank;
  gsize n = 1, stored;
  H5T_class_t cls;
  QsTensor *tensor = NULL;
  g_autoptr(GError) local = NULL;

  dset = H5Dopen2 (loc, dataset_path, H5P_DEFAULT);
  if (dset < 0)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT,
                              _("%s: weight “%s”: dataset “%s” is missing or unreadable"),
                              ctx->path, tensor_name, dataset_path);
      goto out;
    }
  if (!check_dataset_storage (ctx, dset, dataset_path, error))
    goto out;
  type = H5Dget_type (dset);
  cls = type >= 0 ? H5Tget_class (type) : H5T_NO_CLASS;
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                   _("%s: weight “%s”: dataset “%s” does not hold numbers"),
                   ctx->path, tensor_name, dataset_path);
      goto out;
    }
  space = H5Dget_space (dset);
  rank = space >= 0 ? H5Sget_simple_extent_ndims (space) : -1;
  if (rank < 0 || rank > QS_TENSOR_MAX_DIMS)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_UNSUPPORTED,
                   _("%s: weight “%s” has %d dimensions; at most %d are supported"),
                   ctx->path, tensor_name, rank, QS_TENSOR_MAX_DIMS);
      goto out;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  for (int i = 0; i < rank; i++)
    {
      shape[i] = (gsize) dims[i];
      if (dims[i] > QS_MODEL_MAX_DIM || !qs_size_mul (n, shape[i], &n))
        goto too_large;
    }
  /* Data stored in the file cannot exceed the file (compressed chunks aside: allow 16x). */
  stored = (gsize) H5Tget_size (type) * n;
  if (n > ((gsize) 1 << 32) || (stored / 16 > ctx->file_size + 4096))
    goto too_large;
  tensor = qs_tensor_new (tensor_name, (guint) rank, shape, &local);
  if (tensor == NULL)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE, "%s: %s", ctx->path, local->message);
      goto out;
    }
  if (n > 0 && H5Dread (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor->data) < 0)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: weight “%s”: cannot read dataset “%s”"),
                              ctx->path, tensor_name, dataset_path);
      g_clear_pointer (&tensor, qs_tensor_unref);
    }
  goto out;

too_large:
  g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
               _("%s: weight “%s”: the shape of dataset “%s” is larger than the file can hold"),
               ctx->path, tensor_name, dataset_path);
out:
  if (type >= 0)
    H5Tclose (type);
  if (space >= 0)
    H5Sclose (space);
  if (dset >= 0)
    H5Dclose (dset);
  return tensor;
}

static gsize
count_nonfinite (const QsTensor *t)
{
  gsize bad = 0;

  for (gsize i = 0; i < t->n_elements; i++)
    bad += !isfinite (t->data[i]);
  return bad;
}

/* "conv2d/kernel:0" -> "kernel"; Keras 1 "convolution2d_1_W:0" -> "kernel". */
static char *
short_weight_name (const char *layer,
                   const char *weight_name,
                   gboolean    keras1)
{
  const char *base = strrchr (weight_name, '/');
  g_autofree char *s = g_strdup (base != NULL ? base + 1 : weight_name);
  char *colon = strrchr (s, ':');

  if (colon != NULL)
    *colon = '\0';
  if (keras1)
    {
      static const char *map[][2] = {
        { "W", "kernel" }, { "b", "bias" }, { "gamma", "gamma" }, { "beta", "beta" },
        { "running_mean", "moving_mean" }, { "running_std", "moving_variance" },
        { "depthwise_kernel", "depthwise_kernel" }, { "pointwise_kernel", "pointwise_kernel" },
      };
      const char *tail = s;
      if (g_str_has_prefix (s, layer) && s[strlen (layer)] == '_')
        tail = s + strlen (layer) + 1;
      for (gsize i = 0; i < G_N_ELEMENTS (map); i++)
        if (strcmp (tail, map[i][0]) == 0)
          return g_strdup (map[i][1]);
      return g_strdup (tail);
    }
  return g_steal_pointer (&s);
}

static void
add_unique_weight (GPtrArray  *weights,
                   QsTensor   *tensor)
{
  g_ptr_array_add (weights, tensor);
}

/* Keras 2 (and Keras 1 / Keras 3 legacy) weight groups: layer_names on `group`, each layer
 * a subgroup with weight_names. Returns layer name -> GPtrArray of QsTensor, and the
 * layer order. */
static gboolean
read_keras2_weights (H5Ctx       *ctx,
                     hid_t        group,
                     const char  *group_name,
                     gboolean    *keras1,
                     GHashTable **out_weights,
                     GStrv       *out_order,
                     GError     **error)
{
  gboolean found;
  g_auto(GStrv) layer_names = read_string_attribute (ctx, group, group_name, "layer_names", &found, error);
  g_autoptr(GHashTable) weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) g_ptr_array_unref);

  if (layer_names == NULL)
    return FALSE;
  if (!found)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                   _("%s: group “%s” has no “layer_names” attribute"), ctx->path, group_name);
      return FALSE;
    }

  *keras1 = FALSE;
  for (guint i = 0; layer_names[i] != NULL; i++)
    {
      const char *lname = layer_names[i];
      g_auto(GStrv) weight_names = NULL;
      g_autoptr(GPtrArray) tensors = NULL;
      hid_t lg;

      if (!check_cancel (ctx, error))
        return FALSE;
      if (*lname == '\0' || strchr (lname, '/') != NULL || g_hash_table_contains (weights, lname))
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                       _("%s: attribute “layer_names” has an empty, nested or repeated name “%s”"),
                       ctx->path, lname);
          return FALSE;
        }
      lg = H5Gopen2 (group, lname, H5P_DEFAULT);
      if (lg < 0)
        {
          _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT,
                                  _("%s: layer “%s” is listed in “layer_names” but its group is missing"),
                                  ctx->path, lname);
          return FALSE;
        }
      weight_names = read_string_attribute (ctx, lg, lname, "weight_names", &found, error);
      if (weight_names == NULL)
        {
          H5Gclose (lg);
          return FALSE;
        }
      tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_tensor_unref);
      for (guint j = 0; weight_names[j] != NULL; j++)
        {
          const char *wn = weight_names[j];
          g_autofree char *short_name = NULL;
          g_autofree char *tensor_name = NULL;
          QsTensor *t;

          if (strchr (wn, '/') == NULL && (g_str_has_suffix (wn, "_W:0") || g_str_has_suffix (wn, "_b:0") ||
                                           g_str_has_suffix (wn, "_W") || g_str_has_suffix (wn, "_b") ||
                                           g_str_has_prefix (wn, lname)))
            *keras1 = TRUE;
          short_name = short_weight_name (lname, wn, *keras1);
          tensor_name = g_strdup_printf ("%s/%s", lname, short_name);
          for (guint k = 0; k < tensors->len; k++)
            if (strcmp (((QsTensor *) g_ptr_array_index (tensors, k))->name, tensor_name) == 0)
              {
                /* Nested models repeat short names: keep the full path. */
                g_autofree char *full = g_strdup (wn);
                char *colon = strrchr (full, ':');
                if (colon != NULL)
                  *colon = '\0';
                g_free (tensor_name);
                tensor_name = g_strdup_printf ("%s/%s", lname, full);
                break;
              }
          t = read_tensor (ctx, lg, wn, tensor_name, error);
          if (t == NULL)
            {
              H5Gclose (lg);
              return FALSE;
            }
          add_unique_weight (tensors, t);
        }
      H5Gclose (lg);
      g_hash_table_insert (weights, g_strdup (lname), g_steal_pointer (&tensors));
    }
  *out_weights = g_steal_pointer (&weights);
  *out_order = g_steal_pointer (&layer_names);
  return TRUE;
}

/* Short names of a Keras 3 layer's vars/N datasets, by class. */
static const char *
keras3_var_name (const QsLayer *layer,
                 JsonObject    *config_obj,
                 guint          index,
                 guint          n_vars)
{
  static const char *dense[] = { "kernel", "bias" };
  static const char *depthwise[] = { "depthwise_kernel", "bias" };
  static const char *separable[] = { "depthwise_kernel", "pointwise_kernel", "bias" };
  static const char *bn[] = { "gamma", "beta", "moving_mean", "moving_variance" };

  switch (layer->kind)
    {
    case QS_LAYER_DENSE:
    case QS_LAYER_CONV2D:
      return index < 2 ? dense[index] : NULL;
    case QS_LAYER_DEPTHWISE_CONV2D:
      return index < 2 ? depthwise[index] : NULL;
    case QS_LAYER_SEPARABLE_CONV2D:
      return index < 3 ? separable[index] : NULL;
    case QS_LAYER_NORMALIZATION:
      {
        static const char *norm[] = { "mean", "variance", "count" };
        return index < 3 ? norm[index] : NULL;
      }
    case QS_LAYER_BATCH_NORM:
      {
        JsonNode *cn = config_obj != NULL ? json_object_get_member (config_obj, "config") : NULL;
        JsonObject *c = cn != NULL && JSON_NODE_HOLDS_OBJECT (cn) ? json_node_get_object (cn) : NULL;
        gboolean scale = c == NULL || !json_object_has_member (c, "scale") || json_object_get_boolean_member (c, "scale");
        gboolean center = c == NULL || !json_object_has_member (c, "center") || json_object_get_boolean_member (c, "center");
        guint skip = 0;

        if (n_vars == 4)
          return bn[index];
        if (!scale)
          skip = 1;
        if (!scale && !center)
          skip = 2;
        if (!center && scale && index >= 1)
          return index + 1 < 4 ? bn[index + 1] : NULL;
        return index + skip < 4 ? bn[index + skip] : NULL;
      }
    default:
      return NULL;
    }
}

static gboolean
read_keras3_vars (H5Ctx       *ctx,
                  hid_t        layers_group,
                  const char  *group_name,
                  QsLayer     *layer,
                  JsonObject  *config_obj,
                  GError     **error)
{
  hid_t g;
  guint n_vars = 0;
  g_autofree char *vars_path = g_strdup_printf ("%s/vars", group_name);

  if (H5Lexists (layers_group, group_name, H5P_DEFAULT) <= 0 ||
      H5Lexists (layers_group, vars_path, H5P_DEFAULT) <= 0)
    return TRUE;
  g = H5Gopen2 (layers_group, vars_path, H5P_DEFAULT);
  if (g < 0)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: layer “%s”: cannot open “layers/%s”"),
                              ctx->path, layer->name, vars_path);
      return FALSE;
    }
  for (;; n_vars++)
    {
      char key[16];
      g_snprintf (key, sizeof key, "%u", n_vars);
      if (H5Lexists (g, key, H5P_DEFAULT) <= 0 || n_vars > 1000)
        break;
    }
  for (guint i = 0; i < n_vars; i++)
    {
      char key[16];
      const char *short_name = keras3_var_name (layer, config_obj, i, n_vars);
      g_autofree char *tensor_name = NULL;
      QsTensor *t;

      g_snprintf (key, sizeof key, "%u", i);
      tensor_name = g_strdup_printf ("%s/%s", layer->name, short_name != NULL ? short_name : key);
      t = read_tensor (ctx, g, key, tensor_name, error);
      if (t == NULL)
        {
          H5Gclose (g);
          return FALSE;
        }
      g_ptr_array_add (layer->weights, t);
    }
  H5Gclose (g);
  return TRUE;
}

void
_qs_keras_finish_layer_weights (QsLayer *layer)
{
  layer->n_nonfinite = 0;
  for (guint i = 0; i < layer->weights->len; i++)
    layer->n_nonfinite += count_nonfinite (g_ptr_array_index (layer->weights, i));
  _qs_layer_set_layouts (layer);
}

/* --- opening --- */

typedef enum
{
  KIND_MISSING,
  KIND_HDF5,
  KIND_ZIP,
  KIND_TEXT_DAMAGED,  /* an HDF5 file that went through a text conversion */
  KIND_OTHER,
} FileKind;

/* An HDF5 signature (89 'HDF' \r \n 1a \n) whose first byte a text conversion replaced:
 * with U+FFFD (EF BF BD, decoded as UTF-8), with '?' (encoded as ASCII) or re-encoded from
 * Latin-1 to UTF-8 (C2 89). The rest of such a file is damaged the same way, so nothing in
 * it can be trusted. */
static gboolean
is_text_damaged_hdf5 (const guchar *head,
                      gsize         length)
{
  static const guchar replaced[6] = { 0xef, 0xbf, 0xbd, 'H', 'D', 'F' };
  static const guchar latin1[5] = { 0xc2, 0x89, 'H', 'D', 'F' };
  static const guchar ascii[4] = { '?', 'H', 'D', 'F' };

  return (length >= sizeof replaced && memcmp (head, replaced, sizeof replaced) == 0)
         || (length >= sizeof latin1 && memcmp (head, latin1, sizeof latin1) == 0)
         || (length >= sizeof ascii && memcmp (head, ascii, sizeof ascii) == 0);
}

static void
set_text_damaged_error (GError     **error,
                        const char  *path)
{
  g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TEXT_DAMAGED,
               _("%s was damaged by a text conversion (its binary bytes were replaced): "
                 "download or copy it again in binary mode"), path);
}

static FileKind
sniff (const char *path,
       gsize      *size,
       GError    **error)
{
  static const guchar hdf5_sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  guchar head[8];
  gsize got = 0;

  /* a FIFO would block forever, a device never end */
  if (!qs_file_check_regular (path, error))
    return KIND_MISSING;
  stream = g_file_read (file, NULL, error);
  if (stream == NULL)
    return KIND_MISSING;
  info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
  *size = info != NULL ? (gsize) g_file_info_get_size (info) : 0;
  /* The superblock sits at 0, 512, 1024, 2048 ... (after a user block). */
  for (gsize offset = 0; offset == 0 || offset < MIN (*size, (gsize) 1 << 20); offset = offset ? offset * 2 : 512)
    {
      if (!g_seekable_seek (G_SEEKABLE (stream), offset, G_SEEK_SET, NULL, NULL) ||
          !g_input_stream_read_all (G_INPUT_STREAM (stream), head, sizeof head, &got, NULL, NULL) ||
          got < sizeof head)
        break;
      if (memcmp (head, hdf5_sig, 8) == 0)
        return KIND_HDF5;
      if (offset == 0 && memcmp (head, "PK\003\004", 4) == 0)
        return KIND_ZIP;
      if (offset == 0 && is_text_damaged_hdf5 (head, got))
        return KIND_TEXT_DAMAGED;
    }
  return KIND_OTHER;
}

static hid_t
open_hdf5 (const char *path,
           GError    **error)
{
  hid_t file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);

  if (file < 0)
    _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT,
                            _("%s: the HDF5 file is damaged or truncated"), path);
  return file;
}

/* Opens an HDF5 image held in memory (the inner file of a .keras zip). */
static hid_t
open_hdf5_image (const char *name,
                 gpointer    image,
                 gsize       size,
                 GError    **error)
{
  hid_t fapl = H5Pcreate (H5P_FILE_ACCESS);
  /* The core driver refuses names of existing files; a member path inside the archive
   * cannot exist on disk. */
  g_autofree char *image_name = g_build_filename (name, "model.weights.h5", NULL);
  hid_t file;

  H5Pset_fapl_core (fapl, 1 << 20, 0);
  H5Pset_file_image (fapl, image, size);
  file = H5Fopen (image_name, H5F_ACC_RDONLY, fapl);
  if (file < 0)
    _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT,
                            _("%s: the HDF5 file is damaged or truncated"), image_name);
  H5Pclose (fapl);
  return file;
}

typedef struct
{
  gpointer config;
  gsize    config_size;
  gpointer metadata;
  gsize    metadata_size;
  gpointer weights;
  gsize    weights_size;
} ZipParts;

static void
zip_parts_clear (ZipParts *parts)
{
  g_free (parts->config);
  g_free (parts->metadata);
  g_free (parts->weights);
}

/* A member is read only if its declared size is at most `cap` and it does not claim to
 * inflate more than MAX_ZIP_RATIO times (a zip bomb: deflate itself tops out near 1032:1, so
 * only a member of long runs of one byte, or a lying header, gets there). It is read to the
 * end of its stream, past the declared size, so that libzip compares the CRC. */
static gpointer
zip_read_member (zip_t      *zip,
                 const char *path,
                 const char *member,
                 gsize       cap,
                 gsize      *size,
                 GError    **error)
{
  zip_stat_t st;
  zip_file_t *zf;
  g_autofree guchar *buf = NULL;
  zip_uint64_t total = 0;
  zip_int64_t got;
  guchar extra;
  int status;

  zip_stat_init (&st);
  if (zip_stat (zip, member, 0, &st) != 0)
    return NULL;
  if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE) || st.size > cap)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("%s: member “%s” of the archive is too large (%" PRIu64 " bytes; at most %zu MB)"),
                   path, member, (guint64) st.size, cap >> 20);
      return NULL;
    }
  if (st.size > MAX_ZIP_RATIO_FREE
      && (st.comp_size == 0 || st.size / st.comp_size > MAX_ZIP_RATIO))
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("%s: member “%s” of the archive claims to inflate %" PRIu64 " bytes into %" PRIu64
                     ", more than %d:1; it is refused as a zip bomb"),
                   path, member, (guint64) st.comp_size, (guint64) st.size, MAX_ZIP_RATIO);
      return NULL;
    }
  zf = zip_fopen (zip, member, 0);
  if (zf == NULL)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                   _("%s: cannot open member “%s” of the archive: %s"), path, member, zip_strerror (zip));
      return NULL;
    }
  buf = g_try_malloc (st.size + 1);
  if (buf == NULL)
    {
      zip_fclose (zf);
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("%s: not enough memory for member “%s”"), path, member);
      return NULL;
    }
  while (total < st.size && (got = zip_fread (zf, buf + total, st.size - total)) > 0)
    total += got;
  /* one more read: 0 at the end of the stream, where libzip checks the CRC */
  got = total == st.size ? zip_fread (zf, &extra, 1) : -1;
  if (got < 0 || total != st.size)
    {
      zip_error_t *ze = zip_file_get_error (zf);
      g_autofree char *why = g_strdup (zip_error_code_zip (ze) != ZIP_ER_OK ? zip_error_strerror (ze)
                                                                             : _("shorter than declared"));
      zip_fclose (zf);
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                   _("%s: member “%s” of the archive is damaged or truncated: %s"), path, member, why);
      return NULL;
    }
  status = zip_fclose (zf);
  if (got > 0 || status != 0)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                   _("%s: member “%s” of the archive is damaged: %s"), path, member,
                   got > 0 ? _("longer than declared") : zip_strerror (zip));
      return NULL;
    }
  buf[st.size] = '\0';
  *size = st.size;
  return g_steal_pointer (&buf);
}

static gboolean
read_zip (const char *path,
          ZipParts   *parts,
          gboolean    need_weights,
          GError    **error)
{
  int zerr = 0;
  zip_t *zip = zip_open (path, ZIP_RDONLY, &zerr);

  if (zip == NULL)
    {
      zip_error_t ze;
      zip_error_init_with_code (&ze, zerr);
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                   _("%s: the .keras archive is damaged: %s"), path, zip_error_strerror (&ze));
      zip_error_fini (&ze);
      return FALSE;
    }
  parts->config = zip_read_member (zip, path, "config.json", QS_MODEL_MAX_JSON_BYTES, &parts->config_size, error);
  if (parts->config == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                     _("%s: the .keras archive has no “config.json”"), path);
      zip_close (zip);
      return FALSE;
    }
  parts->metadata = zip_read_member (zip, path, "metadata.json", 1 << 20, &parts->metadata_size, error);
  if (error != NULL && *error != NULL)
    {
      zip_close (zip);
      return FALSE;
    }
  if (need_weights)
    {
      parts->weights = zip_read_member (zip, path, "model.weights.h5", MAX_ZIP_MEMBER, &parts->weights_size, error);
      if (parts->weights == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                         _("%s: the .keras archive has no “model.weights.h5”"), path);
          zip_close (zip);
          return FALSE;
        }
    }
  zip_discard (zip);
  return TRUE;
}

static char *
metadata_keras_version (const char *json,
                        gsize       size)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (json == NULL || !g_utf8_validate (json, size, NULL) ||
      !json_parser_load_from_data (parser, json, size, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  {
    JsonNode *v = json_object_get_member (json_node_get_object (root), "keras_version");
    if (v != NULL && JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING)
      return g_strdup (json_node_get_string (v));
  }
  return NULL;
}

/* Reads an architecture: a model.to_json () file, a .keras zip or a Keras full-model .h5. */
static char *
read_architecture (const char *path,
                   gsize      *length,
                   GError    **error)
{
  gsize size = 0;
  FileKind kind = sniff (path, &size, error);

  switch (kind)
    {
    case KIND_MISSING:
      g_prefix_error (error, _("Architecture “%s”: "), path);
      if (error != NULL && *error != NULL)
        (*error)->domain = QS_MODEL_ERROR, (*error)->code = QS_MODEL_ERROR_NOT_FOUND;
      return NULL;
    case KIND_ZIP:
      {
        ZipParts parts = { 0 };
        char *config;
        if (!read_zip (path, &parts, FALSE, error))
          {
            zip_parts_clear (&parts);
            return NULL;
          }
        config = g_steal_pointer (&parts.config);
        *length = parts.config_size;
        zip_parts_clear (&parts);
        return config;
      }
    case KIND_HDF5:
      {
        H5Ctx ctx = { path, -1, size, NULL, NULL };
        char *json = NULL;

        ctx.file = open_hdf5 (path, error);
        if (ctx.file < 0)
          return NULL;
        if (!attribute_exists (ctx.file, "model_config"))
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_BAD_CONFIG,
                       _("%s: the file has no “model_config” attribute to take the architecture from"), path);
        else
          json = read_scalar_string (&ctx, ctx.file, "/", "model_config", error);
        H5Fclose (ctx.file);
        if (json != NULL)
          *length = strlen (json);
        return json;
      }
    case KIND_TEXT_DAMAGED:
      set_text_damaged_error (error, path);
      return NULL;
    case KIND_OTHER:
    default:
      {
        char *contents = NULL;
        if (size > QS_MODEL_MAX_JSON_BYTES)
          {
            g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                         _("%s: the architecture file is too large"), path);
            return NULL;
          }
        if (!g_file_get_contents (path, &contents, length, error))
          return NULL;
        return contents;
      }
    }
}

/* --- assembling a model --- */

static QsModel *
model_from_config (H5Ctx       *ctx,
                   const char  *json,
                   gsize        json_length,
                   const char  *json_where,
                   GHashTable  *keras2_weights, /* nullable: layer -> GPtrArray */
                   hid_t        keras3_layers,  /* < 0: none */
                   GError     **error)
{
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GPtrArray) configs = NULL;
  g_autoptr(GPtrArray) k3_names = NULL;
  g_autofree char *model_name = NULL;
  QsModel *model;

  if (!_qs_keras_config_parse (json, json_length, json_where, &model_name, &layers, &configs,
                               &k3_names, error))
    return NULL;

  for (guint i = 0; i < layers->len; i++)
    {
      QsLayer *layer = g_ptr_array_index (layers, i);

      if (keras2_weights != NULL)
        {
          GPtrArray *w = g_hash_table_lookup (keras2_weights, layer->name);
          for (guint j = 0; w != NULL && j < w->len; j++)
            g_ptr_array_add (layer->weights, qs_tensor_ref (g_ptr_array_index (w, j)));
        }
      else if (keras3_layers >= 0 && layer->kind != QS_LAYER_INPUT)
        {
          const char *group = g_ptr_array_index (k3_names, i);
          if (group == NULL || H5Lexists (keras3_layers, group, H5P_DEFAULT) <= 0)
            group = layer->name;
          if (!read_keras3_vars (ctx, keras3_layers, group, layer, g_ptr_array_index (configs, i), error))
            return NULL;
        }
      _qs_keras_finish_layer_weights (layer);
    }

  model = _qs_model_build (model_name, g_steal_pointer (&layers), g_steal_pointer (&configs), TRUE, error);
  if (model == NULL)
    {
      g_prefix_error (error, "%s: ", ctx->path);
      return NULL;
    }
  model->architecture_json = g_strndup (json, json_length);
  return model;
}

static QsModel *
model_weights_only (H5Ctx       *ctx,
                    GHashTable  *weights,
                    GStrv        order,
                    GError     **error)
{
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_layer_free);

  for (guint i = 0; order[i] != NULL; i++)
    {
      GPtrArray *w = g_hash_table_lookup (weights, order[i]);
      QsLayer *layer;

      if (w == NULL || w->len == 0)
        continue;
      layer = qs_layer_new (order[i], "Weights", QS_LAYER_WEIGHTS);
      for (guint j = 0; j < w->len; j++)
        g_ptr_array_add (layer->weights, qs_tensor_ref (g_ptr_array_index (w, j)));
      _qs_keras_finish_layer_weights (layer);
      g_ptr_array_add (layers, layer);
    }
  return _qs_model_build (NULL, g_steal_pointer (&layers), NULL, FALSE, error);
}

static QsModel *
model_generic (H5Ctx   *ctx,
               GError **error)
{
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_layer_free);

  for (guint i = 0; i < ctx->float_datasets->len; i++)
    {
      const char *name = g_ptr_array_index (ctx->float_datasets, i);
      g_autoptr(GError) local = NULL;
      QsLayer *layer;
      QsTensor *t;

      if (!check_cancel (ctx, error))
        return NULL;
      t = read_tensor (ctx, ctx->file, name, name, &local);
      if (t == NULL)
        {
          /* Tensors of more than 4 dimensions are left out of browsing. */
          if (g_error_matches (local, QS_MODEL_ERROR, QS_MODEL_ERROR_UNSUPPORTED))
            continue;
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      layer = qs_layer_new (name, "Dataset", QS_LAYER_WEIGHTS);
      g_ptr_array_add (layer->weights, t);
      _qs_keras_finish_layer_weights (layer);
      qs_tensor_set_layout (t, qs_tensor_layout_for_shape (t->n_dims, t->shape, name));
      g_ptr_array_add (layers, layer);
    }
  if (layers->len == 0)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_UNSUPPORTED,
                   _("%s: the HDF5 file holds no Keras model and no floating-point datasets"), ctx->path);
      return NULL;
    }
  return _qs_model_build (NULL, g_steal_pointer (&layers), NULL, FALSE, error);
}

static QsModel *
load_hdf5 (H5Ctx       *ctx,
           const char  *architecture_path,
           QsModelFormat zip_format,
           const char  *zip_config,
           gsize        zip_config_size,
           char       **keras_version,
           QsModelFormat *format,
           GError     **error)
{
  g_autofree char *arch = NULL;
  gsize arch_len = 0;
  const char *arch_where = NULL;

  if (!scan_file (ctx, error))
    return NULL;

  if (zip_config != NULL)
    {
      arch = g_strndup (zip_config, zip_config_size);
      arch_len = zip_config_size;
      arch_where = ctx->path;
    }
  else if (architecture_path != NULL)
    {
      arch = read_architecture (architecture_path, &arch_len, error);
      if (arch == NULL)
        return NULL;
      arch_where = architecture_path;
    }

  if (attribute_exists (ctx->file, "model_config") || attribute_exists (ctx->file, "layer_names") ||
      H5Lexists (ctx->file, "model_weights", H5P_DEFAULT) > 0)
    {
      g_autoptr(GHashTable) weights = NULL;
      g_auto(GStrv) order = NULL;
      g_autofree char *config = NULL;
      gboolean full = attribute_exists (ctx->file, "model_config");
      gboolean keras1 = FALSE;
      hid_t group;

      if (attribute_exists (ctx->file, "keras_version"))
        {
          *keras_version = read_scalar_string (ctx, ctx->file, "/", "keras_version", error);
          if (*keras_version == NULL)
            return NULL;
        }
      if (full)
        {
          config = read_scalar_string (ctx, ctx->file, "/", "model_config", error);
          if (config == NULL)
            return NULL;
        }
      group = full || H5Lexists (ctx->file, "model_weights", H5P_DEFAULT) > 0
        ? H5Gopen2 (ctx->file, "model_weights", H5P_DEFAULT) : H5Gopen2 (ctx->file, "/", H5P_DEFAULT);
      if (group < 0)
        {
          _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: group “model_weights” is missing"),
                                  ctx->path);
          return NULL;
        }
      if (!read_keras2_weights (ctx, group, full ? "model_weights" : "/", &keras1, &weights, &order, error))
        {
          H5Gclose (group);
          return NULL;
        }
      H5Gclose (group);

      if (full)
        *format = *keras_version != NULL && g_str_has_prefix (*keras_version, "3")
          ? QS_MODEL_FORMAT_KERAS3_LEGACY : QS_MODEL_FORMAT_KERAS2_MODEL;
      else
        *format = keras1 ? QS_MODEL_FORMAT_KERAS1_WEIGHTS : QS_MODEL_FORMAT_KERAS2_WEIGHTS;

      if (arch != NULL)
        return model_from_config (ctx, arch, arch_len, arch_where, weights, -1, error);
      if (full)
        return model_from_config (ctx, config, strlen (config), ctx->path, weights, -1, error);
      return model_weights_only (ctx, weights, order, error);
    }

  if (H5Lexists (ctx->file, "layers", H5P_DEFAULT) > 0)
    {
      hid_t layers = H5Gopen2 (ctx->file, "layers", H5P_DEFAULT);
      QsModel *model;

      if (layers < 0)
        {
          _qs_keras_set_h5_error (error, QS_MODEL_ERROR_CORRUPT, _("%s: group “layers” is unreadable"), ctx->path);
          return NULL;
        }
      *format = zip_config != NULL ? zip_format : QS_MODEL_FORMAT_KERAS3_WEIGHTS;
      if (arch != NULL)
        model = model_from_config (ctx, arch, arch_len, arch_where, NULL, layers, error);
      else
        {
          /* Without a config: every layers/NAME/vars group becomes a weights-only layer. */
          g_autoptr(GHashTable) weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                                 (GDestroyNotify) g_ptr_array_unref);
          g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
          g_auto(GStrv) order = NULL;

          for (guint i = 0; i < ctx->float_datasets->len; i++)
            {
              const char *p = g_ptr_array_index (ctx->float_datasets, i);
              g_auto(GStrv) parts = g_strsplit (p, "/", -1);
              guint n = g_strv_length (parts);
              g_autofree char *lname = NULL;
              g_autofree char *tname = NULL;
              GPtrArray *w;
              QsTensor *t;

              if (n != 4 || strcmp (parts[0], "layers") != 0 || strcmp (parts[2], "vars") != 0)
                continue;
              lname = g_strdup (parts[1]);
              tname = g_strdup_printf ("%s/%s", lname, parts[3]);
              t = read_tensor (ctx, ctx->file, p, tname, error);
              if (t == NULL)
                {
                  H5Gclose (layers);
                  return NULL;
                }
              w = g_hash_table_lookup (weights, lname);
              if (w == NULL)
                {
                  w = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_tensor_unref);
                  g_hash_table_insert (weights, g_strdup (lname), w);
                  g_strv_builder_add (names, lname);
                }
              g_ptr_array_add (w, t);
            }
          order = g_strv_builder_end (names);
          model = model_weights_only (ctx, weights, order, error);
        }
      H5Gclose (layers);
      return model;
    }

  *format = QS_MODEL_FORMAT_HDF5;
  return model_generic (ctx, error);
}

static QsModel *
keras_load_locked (const char    *path,
                   const char    *architecture_path,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) float_datasets = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *keras_version = NULL;
  g_autofree char *basename = NULL;
  QsModelFormat format = QS_MODEL_FORMAT_HDF5;
  H5Ctx ctx = { path, -1, 0, cancellable, float_datasets };
  ZipParts parts = { 0 };
  QsModel *model = NULL;
  FileKind kind;

  _qs_keras_h5_init ();

  kind = sniff (path, &ctx.file_size, &local);
  if (kind == KIND_MISSING)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NOT_FOUND,
                   _("Cannot open model “%s”: %s"), path, local->message);
      return NULL;
    }
  if (kind == KIND_TEXT_DAMAGED)
    {
      set_text_damaged_error (error, path);
      return NULL;
    }
  if (kind == KIND_OTHER)
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NOT_HDF5,
                   _("%s is not a Keras model: it is neither an HDF5 file nor a .keras archive"), path);
      return NULL;
    }

  if (kind == KIND_ZIP)
    {
      if (!read_zip (path, &parts, TRUE, error))
        goto out;
      keras_version = metadata_keras_version (parts.metadata, parts.metadata_size);
      ctx.file_size = parts.weights_size;
      ctx.file = open_hdf5_image (path, parts.weights, parts.weights_size, error);
      g_clear_pointer (&parts.weights, g_free);
      if (ctx.file < 0)
        goto out;
      {
        g_autofree char *ignored_version = NULL;
        model = load_hdf5 (&ctx, NULL, QS_MODEL_FORMAT_KERAS3_ZIP, parts.config, parts.config_size,
                           &ignored_version, &format, error);
      }
    }
  else
    {
      ctx.file = open_hdf5 (path, error);
      if (ctx.file < 0)
        goto out;
      model = load_hdf5 (&ctx, architecture_path, QS_MODEL_FORMAT_HDF5, NULL, 0, &keras_version, &format, error);
    }

  if (model != NULL)
    {
      model->path = g_strdup (path);
      model->format = format;
      model->keras_version = g_steal_pointer (&keras_version);
      if (model->name == NULL || strcmp (model->name, "model") == 0)
        {
          g_free (model->name);
          basename = g_path_get_basename (path);
          model->name = g_steal_pointer (&basename);
        }
    }

out:
  if (ctx.file >= 0)
    H5Fclose (ctx.file);
  zip_parts_clear (&parts);
  return model;
}

QsModel *
_qs_keras_load (const char    *path,
                const char    *architecture_path,
                GCancellable  *cancellable,
                GError       **error)
{
  QsModel *model;

  _qs_hdf5_lock ();
  model = keras_load_locked (path, architecture_path, cancellable, error);
  _qs_hdf5_unlock ();
  return model;
}

/* --- the public entry points (declared in qs-model.h: the graph module knows no file
 * format; loading and saving live here and in qs-keras-writer.c) --- */

QsModel *
qs_model_load (const char    *path,
               const char    *architecture_path,
               GCancellable  *cancellable,
               GError       **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _qs_keras_load (path, architecture_path, cancellable, error);
}

typedef struct
{
  char *path;
  char *architecture_path;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->path);
  g_free (data->architecture_path);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  QsModel *model = qs_model_load (data->path, data->architecture_path, cancellable, &error);

  if (model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, model, g_object_unref);
}

void
qs_model_load_async (const char          *path,
                     const char          *architecture_path,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, qs_model_load_async);
  data = g_new0 (LoadData, 1);
  data->path = g_strdup (path);
  data->architecture_path = g_strdup (architecture_path);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_thread);
}

QsModel *
qs_model_load_finish (GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qs_model_load_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
