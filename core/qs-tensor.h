/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Progress of a long operation, fraction in [0, 1]. May be called from worker threads. */
typedef void (*QsProgressFunc) (double   fraction,
                                gpointer user_data);

#define QS_TENSOR_MAX_DIMS 4
#define QS_TENSOR_ALIGNMENT 64

#define QS_TENSOR_ERROR (qs_tensor_error_quark ())

typedef enum
{
  QS_TENSOR_ERROR_INVALID_SHAPE,
  QS_TENSOR_ERROR_TOO_LARGE,
  QS_TENSOR_ERROR_NO_MEMORY,
} QsTensorError;

/* How the values of a Keras weight are laid out; decides the default channel axis
 * and the reduction axis used by per-group quantization. */
typedef enum
{
  QS_TENSOR_LAYOUT_GENERIC,   /* any shape; channel axis = last */
  QS_TENSOR_LAYOUT_DENSE,     /* [in, out]: channel axis 1, reduction axis 0 */
  QS_TENSOR_LAYOUT_CONV2D,    /* [kh, kw, in, out]: channel axis 3, reduction kh*kw*in */
  QS_TENSOR_LAYOUT_DEPTHWISE, /* [kh, kw, in, mult]: channels in*mult, reduction kh*kw */
  QS_TENSOR_LAYOUT_VECTOR,    /* [n]: bias, BatchNorm parameters */
} QsTensorLayout;

#define QS_TYPE_TENSOR (qs_tensor_get_type ())

/* A float32 tensor: immutable by convention once shared between threads.
 * data is QS_TENSOR_ALIGNMENT-aligned, row-major (last axis fastest). */
typedef struct _QsTensor QsTensor;

struct _QsTensor
{
  char          *name;
  guint          n_dims;
  gsize          shape[QS_TENSOR_MAX_DIMS];
  gsize          n_elements;
  QsTensorLayout layout;
  float         *data;

  /*< private >*/
  gint ref_count;
};

GType           qs_tensor_get_type        (void) G_GNUC_CONST;
GQuark          qs_tensor_error_quark     (void);

QsTensor       *qs_tensor_new             (const char     *name,
                                           guint           n_dims,
                                           const gsize    *shape,
                                           GError        **error);
QsTensor       *qs_tensor_new_from_data   (const char     *name,
                                           guint           n_dims,
                                           const gsize    *shape,
                                           const float    *data,
                                           GError        **error);
QsTensor       *qs_tensor_dup             (const QsTensor *tensor);
QsTensor       *qs_tensor_ref             (QsTensor       *tensor);
void            qs_tensor_unref           (QsTensor       *tensor);

void            qs_tensor_set_layout      (QsTensor       *tensor,
                                           QsTensorLayout  layout);
QsTensorLayout  qs_tensor_layout_for_shape(guint           n_dims,
                                           const gsize    *shape,
                                           const char     *hint_class);
gboolean        qs_tensor_same_shape      (const QsTensor *a,
                                           const QsTensor *b);
char           *qs_tensor_shape_to_string (const QsTensor *tensor);

/* Channel structure derived from the layout (axis -1 = layout default):
 * n_channels, inner (elements between consecutive channel indices) and outer. */
gboolean        qs_tensor_channel_geometry(const QsTensor *tensor,
                                           gint            axis,
                                           gsize          *n_channels,
                                           gsize          *inner,
                                           gsize          *outer,
                                           GError        **error);
gint            qs_tensor_default_axis    (const QsTensor *tensor);

/* The 2-D picture of a weight that heatmaps show:
 *   DENSE [in, out]            -> rows = in,      cols = out
 *   CONV2D [kh, kw, in, out]   -> rows = in * kh, cols = out * kw  (a kh x kw tile per in/out pair)
 *   DEPTHWISE [kh, kw, in, m]  -> rows = in * kh, cols = m * kw
 *   VECTOR [n]                 -> rows = 1,       cols = n
 *   GENERIC                    -> rows = product of all but the last axis, cols = last axis
 * qs_tensor_matrix_index() maps (row, col) to the flat index into data. */
void            qs_tensor_matrix_shape    (const QsTensor *tensor,
                                           gsize          *rows,
                                           gsize          *cols);
gsize           qs_tensor_matrix_index    (const QsTensor *tensor,
                                           gsize           row,
                                           gsize           col);

/* 64-byte aligned allocation helpers for kernels. */
gpointer        qs_aligned_alloc          (gsize           n_bytes);
gpointer        qs_aligned_alloc0         (gsize           n_bytes);
void            qs_aligned_free           (gpointer        mem);

/* Checked size arithmetic: FALSE on overflow. */
gboolean        qs_size_mul               (gsize           a,
                                           gsize           b,
                                           gsize          *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsTensor, qs_tensor_unref)

G_END_DECLS
