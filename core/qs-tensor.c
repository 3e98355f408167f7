/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "qs-tensor.h"

G_DEFINE_BOXED_TYPE (QsTensor, qs_tensor, qs_tensor_ref, qs_tensor_unref)
G_DEFINE_QUARK (qs-tensor-error-quark, qs_tensor_error)

/* Refuse single tensors above 4 GiB of floats: no Keras layer we load is near it,
 * and a hostile file claiming more must not make us try. */
#define QS_TENSOR_MAX_ELEMENTS ((gsize) 1 << 30)

gboolean
qs_size_mul (gsize  a,
             gsize  b,
             gsize *result)
{
  return g_size_checked_mul (result, a, b);
}

#define HUGE_PAGE      ((gsize) 2 * 1024 * 1024)
#define HUGE_BLOCK_MIN ((gsize) 8 * 1024 * 1024)

gpointer
qs_aligned_alloc (gsize n_bytes)
{
  void *mem = NULL;

  if (n_bytes == 0)
    n_bytes = QS_TENSOR_ALIGNMENT;
  /* Round up so SIMD tails may read a full vector without leaving the block. */
  n_bytes = (n_bytes + QS_TENSOR_ALIGNMENT - 1) & ~((gsize) QS_TENSOR_ALIGNMENT - 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  /* Big blocks (a 4096 x 4096 kernel's dequantized copy and codes: 64 MB each, made anew
   * on every change of the live path) in 2 MiB pages where the kernel allows it: one page
   * fault per 2 MiB instead of per 4 KiB, which took a third of a pass's time in a VM. */
  if (n_bytes >= HUGE_BLOCK_MIN)
    {
      n_bytes = (n_bytes + HUGE_PAGE - 1) & ~((gsize) HUGE_PAGE - 1);
      if (posix_memalign (&mem, HUGE_PAGE, n_bytes) != 0)
        return NULL;
      madvise (mem, n_bytes, MADV_HUGEPAGE);
      return mem;
    }
#endif
  if (posix_memalign (&mem, QS_TENSOR_ALIGNMENT, n_bytes) != 0)
    return NULL;
  return mem;
}

gpointer
qs_aligned_alloc0 (gsize n_bytes)
{
  gpointer mem = qs_aligned_alloc (n_bytes);

  if (mem != NULL)
    memset (mem, 0, n_bytes);
  return mem;
}

void
qs_aligned_free (gpointer mem)
{
  free (mem);
}

static gboolean
count_elements (guint        n_dims,
                const gsize *shape,
                gsize       *n_elements,
                GError     **error)
{
  gsize n = 1;

  if (n_dims > QS_TENSOR_MAX_DIMS)
    {
      g_set_error (error, QS_TENSOR_ERROR, QS_TENSOR_ERROR_INVALID_SHAPE,
                   _("Tensors have at most %d dimensions, this one has %u"),
                   QS_TENSOR_MAX_DIMS, n_dims);
      return FALSE;
    }
  for (guint i = 0; i < n_dims; i++)
    {
      if (!qs_size_mul (n, shape[i], &n) || n > QS_TENSOR_MAX_ELEMENTS)
        {
          g_set_error (error, QS_TENSOR_ERROR, QS_TENSOR_ERROR_TOO_LARGE,
                       _("Tensor shape is too large (more than %zu values)"),
                       QS_TENSOR_MAX_ELEMENTS);
          return FALSE;
        }
    }
  *n_elements = n;
  return TRUE;
}

QsTensor *
qs_tensor_new (const char  *name,
               guint        n_dims,
               const gsize *shape,
               GError     **error)
{
  QsTensor *tensor;
  gsize n_elements;

  g_return_val_if_fail (n_dims == 0 || shape != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!count_elements (n_dims, shape, &n_elements, error))
    return NULL;

  tensor = g_new0 (QsTensor, 1);
  tensor->ref_count = 1;
  tensor->name = g_strdup (name ? name : "");
  tensor->n_dims = n_dims;
  for (guint i = 0; i < n_dims; i++)
    tensor->shape[i] = shape[i];
  tensor->n_elements = n_elements;
  tensor->layout = qs_tensor_layout_for_shape (n_dims, shape, NULL);
  tensor->data = qs_aligned_alloc0 (n_elements * sizeof (float));
  if (tensor->data == NULL)
    {
      g_set_error (error, QS_TENSOR_ERROR, QS_TENSOR_ERROR_NO_MEMORY,
                   _("Out of memory allocating tensor “%s”"), tensor->name);
      g_free (tensor->name);
      g_free (tensor);
      return NULL;
    }
  return tensor;
}

QsTensor *
qs_tensor_new_from_data (const char  *name,
                         guint        n_dims,
                         const gsize *shape,
                         const float *data,
                         GError     **error)
{
  QsTensor *tensor = qs_tensor_new (name, n_dims, shape, error);

  if (tensor != NULL && data != NULL)
    memcpy (tensor->data, data, tensor->n_elements * sizeof (float));
  return tensor;
}

QsTensor *
qs_tensor_dup (const QsTensor *tensor)
{
  QsTensor *copy;

  g_return_val_if_fail (tensor != NULL, NULL);

  copy = qs_tensor_new_from_data (tensor->name, tensor->n_dims, tensor->shape, tensor->data, NULL);
  if (copy != NULL)
    copy->layout = tensor->layout;
  return copy;
}

QsTensor *
qs_tensor_ref (QsTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_atomic_int_inc (&tensor->ref_count);
  return tensor;
}

void
qs_tensor_unref (QsTensor *tensor)
{
  g_return_if_fail (tensor != NULL);

  if (g_atomic_int_dec_and_test (&tensor->ref_count))
    {
      qs_aligned_free (tensor->data);
      g_free (tensor->name);
      g_free (tensor);
    }
}

void
qs_tensor_set_layout (QsTensor       *tensor,
                      QsTensorLayout  layout)
{
  g_return_if_fail (tensor != NULL);
  tensor->layout = layout;
}

QsTensorLayout
qs_tensor_layout_for_shape (guint        n_dims,
                            const gsize *shape,
                            const char  *hint_class)
{
  if (hint_class != NULL && n_dims == 4 && strstr (hint_class, "Depthwise") != NULL)
    return QS_TENSOR_LAYOUT_DEPTHWISE;
  switch (n_dims)
    {
    case 1:
      return QS_TENSOR_LAYOUT_VECTOR;
    case 2:
      return QS_TENSOR_LAYOUT_DENSE;
    case 4:
      return QS_TENSOR_LAYOUT_CONV2D;
    default:
      return QS_TENSOR_LAYOUT_GENERIC;
    }
}

gboolean
qs_tensor_same_shape (const QsTensor *a,
                      const QsTensor *b)
{
  if (a->n_dims != b->n_dims)
    return FALSE;
  for (guint i = 0; i < a->n_dims; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

char *
qs_tensor_shape_to_string (const QsTensor *tensor)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < tensor->n_dims; i++)
    g_string_append_printf (s, "%s%zu", i ? ", " : "", tensor->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gint
qs_tensor_default_axis (const QsTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, 0);

  if (tensor->n_dims == 0)
    return 0;
  return (gint) tensor->n_dims - 1;
}

gboolean
qs_tensor_channel_geometry (const QsTensor *tensor,
                            gint            axis,
                            gsize          *n_channels,
                            gsize          *inner,
                            gsize          *outer,
                            GError        **error)
{
  gsize in = 1, out = 1;

  g_return_val_if_fail (tensor != NULL, FALSE);

  if (tensor->n_elements == 0 || tensor->n_dims == 0)
    {
      g_set_error (error, QS_TENSOR_ERROR, QS_TENSOR_ERROR_INVALID_SHAPE,
                   _("Tensor “%s” is empty"), tensor->name);
      return FALSE;
    }

  /* Depthwise kernels [kh, kw, in, mult]: by default every (in, mult) pair is an
   * output channel, as TFLite and CMSIS-NN see it. */
  if (axis < 0 && tensor->layout == QS_TENSOR_LAYOUT_DEPTHWISE && tensor->n_dims == 4)
    {
      *n_channels = tensor->shape[2] * tensor->shape[3];
      *inner = 1;
      *outer = tensor->shape[0] * tensor->shape[1];
      return TRUE;
    }

  if (axis < 0)
    axis = qs_tensor_default_axis (tensor);
  if ((guint) axis >= tensor->n_dims)
    {
      g_set_error (error, QS_TENSOR_ERROR, QS_TENSOR_ERROR_INVALID_SHAPE,
                   _("Axis %d is out of range for tensor “%s” with %u dimensions"),
                   axis, tensor->name, tensor->n_dims);
      return FALSE;
    }
  for (guint i = 0; i < (guint) axis; i++)
    out *= tensor->shape[i];
  for (guint i = axis + 1; i < tensor->n_dims; i++)
    in *= tensor->shape[i];
  *n_channels = tensor->shape[axis];
  *inner = in;
  *outer = out;
  return TRUE;
}

void
qs_tensor_matrix_shape (const QsTensor *tensor,
                        gsize          *rows,
                        gsize          *cols)
{
  g_return_if_fail (tensor != NULL);

  switch (tensor->n_dims == 4 ? tensor->layout : (tensor->n_dims == 1 ? QS_TENSOR_LAYOUT_VECTOR
                                                                      : QS_TENSOR_LAYOUT_GENERIC))
    {
    case QS_TENSOR_LAYOUT_CONV2D:
    case QS_TENSOR_LAYOUT_DEPTHWISE:
      *rows = tensor->shape[2] * tensor->shape[0];
      *cols = tensor->shape[3] * tensor->shape[1];
      return;
    case QS_TENSOR_LAYOUT_VECTOR:
      *rows = 1;
      *cols = tensor->n_elements;
      return;
    default:
      if (tensor->n_dims == 0)
        {
          *rows = *cols = 1;
          return;
        }
      *cols = tensor->shape[tensor->n_dims - 1];
      *rows = *cols ? tensor->n_elements / *cols : 0;
      return;
    }
}

gsize
qs_tensor_matrix_index (const QsTensor *tensor,
                        gsize           row,
                        gsize           col)
{
  if (tensor->n_dims == 4 && (tensor->layout == QS_TENSOR_LAYOUT_CONV2D ||
                              tensor->layout == QS_TENSOR_LAYOUT_DEPTHWISE))
    {
      gsize kh = tensor->shape[0], kw = tensor->shape[1];
      gsize cin = tensor->shape[2], cout = tensor->shape[3];
      gsize i = row / kh, y = row % kh;
      gsize o = col / kw, x = col % kw;

      return ((y * kw + x) * cin + i) * cout + o;
    }
  if (tensor->n_dims == 1)
    return col;
  return row * tensor->shape[tensor->n_dims - 1] + col;
}
