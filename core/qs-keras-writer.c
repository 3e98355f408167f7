/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "qs-file.h"
#include "qs-keras.h"

/* Keras 2 writer: the layout `model.save ("m.h5")` produces in TensorFlow 2.x Keras:
 * root attributes keras_version, backend, model_config (JSON); model_weights/ with
 * layer_names and, per layer, weight_names and datasets <layer>/<layer>/<short>:0.
 * String lists are fixed-length byte strings, split into name0, name1 ... when over the
 * 64 KB HDF5 object header limit, exactly as Keras splits them. */

#define WRITER_KERAS_VERSION "2.15.0"
#define HDF5_OBJECT_HEADER_LIMIT 64512

static gboolean
write_string_scalar (hid_t       loc,
                     const char *name,
                     const char *value,
                     GError    **error)
{
  hid_t type = H5Tcopy (H5T_C_S1);
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t attr;
  gboolean ok = FALSE;

  H5Tset_size (type, H5T_VARIABLE);
  H5Tset_cset (type, H5T_CSET_UTF8);
  attr = H5Acreate2 (loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0)
    {
      ok = H5Awrite (attr, type, &value) >= 0;
      H5Aclose (attr);
    }
  H5Sclose (space);
  H5Tclose (type);
  if (!ok)
    _qs_keras_set_h5_error (error, QS_MODEL_ERROR_WRITE, _("Cannot write attribute “%s”"), name);
  return ok;
}

static gboolean
write_fixed_strings (hid_t        loc,
                     const char  *name,
                     const char **values,
                     gsize        n,
                     GError     **error)
{
  hsize_t dims[1] = { n };
  gsize itemsize = 1;
  hid_t type, space, attr;
  g_autofree char *buf = NULL;
  gboolean ok = FALSE;

  if (n == 0)
    {
      /* Keras writes np.asarray ([]): an empty float64 array. */
      space = H5Screate_simple (1, dims, NULL);
      attr = H5Acreate2 (loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
      ok = attr >= 0;
      if (attr >= 0)
        H5Aclose (attr);
      H5Sclose (space);
      if (!ok)
        _qs_keras_set_h5_error (error, QS_MODEL_ERROR_WRITE, _("Cannot write attribute “%s”"), name);
      return ok;
    }
  for (gsize i = 0; i < n; i++)
    itemsize = MAX (itemsize, strlen (values[i]));
  buf = g_malloc0 (itemsize * n);
  for (gsize i = 0; i < n; i++)
    memcpy (buf + i * itemsize, values[i], strlen (values[i]));
  type = H5Tcopy (H5T_C_S1);
  H5Tset_size (type, itemsize);
  H5Tset_strpad (type, H5T_STR_NULLPAD);
  space = H5Screate_simple (1, dims, NULL);
  attr = H5Acreate2 (loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0)
    {
      ok = H5Awrite (attr, type, buf) >= 0;
      H5Aclose (attr);
    }
  H5Sclose (space);
  H5Tclose (type);
  if (!ok)
    _qs_keras_set_h5_error (error, QS_MODEL_ERROR_WRITE, _("Cannot write attribute “%s”"), name);
  return ok;
}

/* Keras save_attributes_to_hdf5_group: np.array_split into the fewest chunks whose byte
 * size fits the object header limit. */
static gboolean
write_string_list (hid_t       loc,
                   const char *name,
                   GPtrArray  *values,
                   GError    **error)
{
  gsize n = values->len, itemsize = 1, n_chunks = 1;

  for (gsize i = 0; i < n; i++)
    {
      gsize len = strlen (g_ptr_array_index (values, i));
      if (len > HDF5_OBJECT_HEADER_LIMIT)
        {
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE,
                       _("The name “%.40s…” is longer than an HDF5 attribute can hold"),
                       (const char *) g_ptr_array_index (values, i));
          return FALSE;
        }
      itemsize = MAX (itemsize, len);
    }
  while (n > 0 && ((n + n_chunks - 1) / n_chunks) * itemsize > HDF5_OBJECT_HEADER_LIMIT)
    n_chunks++;
  if (n_chunks == 1)
    return write_fixed_strings (loc, name, (const char **) values->pdata, n, error);
  for (gsize c = 0, start = 0; c < n_chunks; c++)
    {
      gsize count = n / n_chunks + (c < n % n_chunks ? 1 : 0);
      g_autofree char *chunk_name = g_strdup_printf ("%s%zu", name, c);

      if (!write_fixed_strings (loc, chunk_name, (const char **) values->pdata + start, count, error))
        return FALSE;
      start += count;
    }
  return TRUE;
}

static gboolean
write_tensor (hid_t           loc,
              const char     *path,
              const QsTensor *tensor,
              GError        **error)
{
  hsize_t dims[QS_TENSOR_MAX_DIMS];
  hid_t space, lcpl, dset;
  gboolean ok = FALSE;

  for (guint i = 0; i < tensor->n_dims; i++)
    dims[i] = tensor->shape[i];
  space = tensor->n_dims == 0 ? H5Screate (H5S_SCALAR) : H5Screate_simple (tensor->n_dims, dims, NULL);
  lcpl = H5Pcreate (H5P_LINK_CREATE);
  H5Pset_create_intermediate_group (lcpl, 1);
  dset = H5Dcreate2 (loc, path, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  if (dset >= 0)
    {
      ok = tensor->n_elements == 0 ||
           H5Dwrite (dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor->data) >= 0;
      H5Dclose (dset);
    }
  H5Pclose (lcpl);
  H5Sclose (space);
  if (!ok)
    _qs_keras_set_h5_error (error, QS_MODEL_ERROR_WRITE, _("Cannot write weight “%s”"), tensor->name);
  return ok;
}

static int
canonical_rank (const char *short_name)
{
  static const char *order[] = {
    "kernel", "depthwise_kernel", "pointwise_kernel", "gamma", "beta", "bias",
    "moving_mean", "moving_variance",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    if (strcmp (short_name, order[i]) == 0)
      return (int) i;
  return G_N_ELEMENTS (order);
}

static gint
compare_weights (gconstpointer a,
                 gconstpointer b)
{
  const QsTensor *ta = *(QsTensor **) a;
  const QsTensor *tb = *(QsTensor **) b;
  /* Keras order: kernel, (pointwise), bias | gamma, beta, moving_mean, moving_variance.
   * Separable: depthwise, pointwise, bias. */
  int ra = canonical_rank (_qs_weight_short_name (ta));
  int rb = canonical_rank (_qs_weight_short_name (tb));

  return ra - rb;
}

static gboolean
write_layer_weights (hid_t          group,
                     const QsLayer *layer,
                     gboolean       architecture,
                     GHashTable    *replace,
                     GError       **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  hid_t lg;
  gboolean ok = TRUE;

  for (guint i = 0; i < layer->weights->len; i++)
    g_ptr_array_add (sorted, g_ptr_array_index (layer->weights, i));
  if (architecture && layer->kind != QS_LAYER_UNSUPPORTED && layer->kind != QS_LAYER_WEIGHTS)
    g_ptr_array_sort (sorted, compare_weights);

  lg = H5Gcreate2 (group, layer->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (lg < 0)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_WRITE, _("Cannot create the group of layer “%s”"), layer->name);
      return FALSE;
    }
  for (guint i = 0; ok && i < sorted->len; i++)
    {
      const QsTensor *t = g_ptr_array_index (sorted, i);
      const QsTensor *r = replace != NULL ? g_hash_table_lookup (replace, t->name) : NULL;
      const char *rel = g_str_has_prefix (t->name, layer->name) && t->name[strlen (layer->name)] == '/'
        ? t->name + strlen (layer->name) + 1 : t->name;
      char *wn = g_strdup_printf ("%s/%s:0", layer->name, rel);

      if (r != NULL && !qs_tensor_same_shape (r, t))
        {
          g_autofree char *a = qs_tensor_shape_to_string (r);
          g_autofree char *b = qs_tensor_shape_to_string (t);
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Replacement weight “%s” has shape %s, the model's has %s"), t->name, a, b);
          g_free (wn);
          ok = FALSE;
          break;
        }
      g_ptr_array_add (names, wn);
      ok = write_tensor (lg, wn, r != NULL ? r : t, error);
    }
  if (ok)
    ok = write_string_list (lg, "weight_names", names, error);
  H5Gclose (lg);
  return ok;
}

static gboolean save_locked (QsModel    *model,
                             const char *path,
                             GHashTable *weights,
                             GError    **error);

gboolean
qs_model_save (QsModel    *model,
               const char *path,
               GHashTable *weights,
               GError    **error)
{
  gboolean ok;

  g_return_val_if_fail (QS_IS_MODEL (model), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  _qs_hdf5_lock ();
  ok = save_locked (model, path, weights, error);
  _qs_hdf5_unlock ();
  return ok;
}

static gboolean
save_locked (QsModel    *model,
             const char *path,
             GHashTable *weights,
             GError    **error)
{
  g_autofree char *tmp = NULL;
  g_autofree char *config = NULL;
  g_autoptr(GPtrArray) layer_names = g_ptr_array_new ();
  gboolean architecture;
  hid_t file = -1, group = -1;
  gboolean ok = FALSE;
  int fd;

  _qs_keras_h5_init ();

  {
    g_autoptr(GError) local = NULL;

    /* The rename below would replace a device node (say /dev/full, as root) with a plain
     * file and report success; and writing over the model's own file destroys the input. */
    if (!qs_file_check_writable (path, &local))
      {
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE, _("Cannot write the model: %s"), local->message);
        return FALSE;
      }
    if (model->path != NULL && qs_file_is_same (path, model->path))
      {
        g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE,
                     _("Cannot write the model to “%s”: it is the file the model was loaded from; write to another file"),
                     path);
        return FALSE;
      }
  }

  architecture = model->has_architecture;
  for (guint i = 0; architecture && i < model->layers->len; i++)
    if (((QsLayer *) g_ptr_array_index (model->layers, i))->kind == QS_LAYER_WEIGHTS)
      architecture = FALSE;
  if (architecture)
    {
      config = _qs_keras_config_write (model, error);
      if (config == NULL)
        return FALSE;
    }

  tmp = g_strdup_printf ("%s.XXXXXX", path);
  /* 0666 less the umask, like any new file (g_mkstemp alone would make it 0600) */
  fd = g_mkstemp_full (tmp, O_RDWR, 0666);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE,
                   _("Cannot write “%s”: %s"), path, g_strerror (saved));
      return FALSE;
    }
  close (fd);

  file = H5Fcreate (tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0)
    {
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_WRITE, _("Cannot create “%s”"), path);
      goto out;
    }
  if (!write_string_scalar (file, "keras_version", WRITER_KERAS_VERSION, error) ||
      !write_string_scalar (file, "backend", "tensorflow", error))
    goto out;
  if (architecture)
    {
      if (!write_string_scalar (file, "model_config", config, error))
        goto out;
      group = H5Gcreate2 (file, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      if (group < 0)
        {
          _qs_keras_set_h5_error (error, QS_MODEL_ERROR_WRITE, _("Cannot create group “model_weights”"));
          goto out;
        }
      if (!write_string_scalar (group, "keras_version", WRITER_KERAS_VERSION, error) ||
          !write_string_scalar (group, "backend", "tensorflow", error))
        goto out;
    }
  else
    group = H5Gopen2 (file, "/", H5P_DEFAULT);

  for (guint i = 0; i < model->layers->len; i++)
    {
      const QsLayer *layer = g_ptr_array_index (model->layers, i);

      g_ptr_array_add (layer_names, layer->name);
      if (!write_layer_weights (group, layer, architecture, weights, error))
        goto out;
    }
  if (!write_string_list (group, "layer_names", layer_names, error))
    goto out;

  H5Gclose (group);
  group = -1;
  if (H5Fclose (file) < 0)
    {
      file = -1;
      _qs_keras_set_h5_error (error, QS_MODEL_ERROR_WRITE, _("Cannot finish writing “%s”"), path);
      goto out;
    }
  file = -1;
  /* on disk before it takes the name: a crash leaves the old file or the whole new one */
  fd = g_open (tmp, O_RDONLY, 0);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_WRITE,
                   _("Cannot write “%s”: %s"), path, g_strerror (saved));
      goto out;
    }
  ok = TRUE;

out:
  if (group >= 0)
    H5Gclose (group);
  if (file >= 0)
    H5Fclose (file);
  if (!ok)
    g_unlink (tmp);
  return ok;
}
