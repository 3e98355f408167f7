/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "quantscope-core.h"

static void
test_tensor_geometry (void)
{
  gsize dense[] = { 5, 7 }, conv[] = { 3, 3, 4, 8 }, dw[] = { 3, 3, 4, 2 };
  g_autoptr(QsTensor) d = qs_tensor_new ("dense", 2, dense, NULL);
  g_autoptr(QsTensor) c = qs_tensor_new ("conv", 4, conv, NULL);
  g_autoptr(QsTensor) w = qs_tensor_new ("dw", 4, dw, NULL);
  gsize n, inner, outer;

  g_assert_true (qs_tensor_channel_geometry (d, -1, &n, &inner, &outer, NULL));
  g_assert_cmpuint (n, ==, 7); g_assert_cmpuint (inner, ==, 1); g_assert_cmpuint (outer, ==, 5);
  g_assert_true (qs_tensor_channel_geometry (c, -1, &n, &inner, &outer, NULL));
  g_assert_cmpuint (n, ==, 8); g_assert_cmpuint (outer, ==, 36);

  qs_tensor_set_layout (w, QS_TENSOR_LAYOUT_DEPTHWISE);
  g_assert_true (qs_tensor_channel_geometry (w, -1, &n, &inner, &outer, NULL));
  g_assert_cmpuint (n, ==, 8); g_assert_cmpuint (inner, ==, 1); g_assert_cmpuint (outer, ==, 9);

  g_assert_true (qs_tensor_channel_geometry (d, 0, &n, &inner, &outer, NULL));
  g_assert_cmpuint (n, ==, 5); g_assert_cmpuint (inner, ==, 7); g_assert_cmpuint (outer, ==, 1);
}

static void
test_tensor_errors (void)
{
  gsize huge[] = { G_MAXSIZE / 2, 4 };
  gsize dense[] = { 2, 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTensor) d = qs_tensor_new ("d", 2, dense, NULL);
  gsize n, inner, outer;

  g_assert_null (qs_tensor_new ("huge", 2, huge, &error));
  g_assert_error (error, QS_TENSOR_ERROR, QS_TENSOR_ERROR_TOO_LARGE);
  g_clear_error (&error);
  g_assert_false (qs_tensor_channel_geometry (d, 2, &n, &inner, &outer, &error));
  g_assert_error (error, QS_TENSOR_ERROR, QS_TENSOR_ERROR_INVALID_SHAPE);
  g_assert_nonnull (strstr (error->message, "“d”"));
}

static void
test_tensor_matrix (void)
{
  gsize conv[] = { 2, 3, 4, 5 };
  g_autoptr(QsTensor) c = qs_tensor_new ("conv", 4, conv, NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  gsize rows, cols;

  qs_tensor_matrix_shape (c, &rows, &cols);
  g_assert_cmpuint (rows, ==, 4 * 2);
  g_assert_cmpuint (cols, ==, 5 * 3);
  /* The picture is a permutation of the tensor: every element exactly once. */
  for (gsize r = 0; r < rows; r++)
    for (gsize col = 0; col < cols; col++)
      {
        gsize idx = qs_tensor_matrix_index (c, r, col);
        g_assert_cmpuint (idx, <, c->n_elements);
        g_assert_false (g_hash_table_contains (seen, GSIZE_TO_POINTER (idx + 1)));
        g_hash_table_add (seen, GSIZE_TO_POINTER (idx + 1));
      }
  g_assert_cmpuint (g_hash_table_size (seen), ==, c->n_elements);
  /* (row = in*kh + y, col = out*kw + x) -> ((y*kw + x)*in + in)*out + out */
  g_assert_cmpuint (qs_tensor_matrix_index (c, 3 * 2 + 1, 4 * 3 + 2), ==, ((1 * 3 + 2) * 4 + 3) * 5 + 4);
  g_assert_true (((guintptr) c->data % QS_TENSOR_ALIGNMENT) == 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/tensor/geometry", test_tensor_geometry);
  g_test_add_func ("/qs/tensor/errors", test_tensor_errors);
  g_test_add_func ("/qs/tensor/matrix", test_tensor_matrix);
  return g_test_run ();
}
