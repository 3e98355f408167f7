/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "quantscope-core.h"

typedef struct
{
  gint  *visits;
  gint  *thread_of;
  guint  n_threads;
  GCancellable *cancel_at_item;
  gsize  cancel_index;
} Visit;

static void
visit (gsize    index,
       guint    thread_index,
       gpointer data)
{
  Visit *v = data;

  g_assert_cmpuint (thread_index, <, v->n_threads);
  g_atomic_int_inc (&v->visits[index]);
  v->thread_of[index] = (gint) thread_index;
  if (v->cancel_at_item != NULL && index == v->cancel_index)
    g_cancellable_cancel (v->cancel_at_item);
}

/* Every index is visited exactly once, for any thread count (0 = all cores), and the
 * per-thread index stays below the thread count qs_parallel_n_threads () reports. */
static void
test_parallel_every_index_once (void)
{
  const gsize sizes[] = { 0, 1, 2, 7, 64, 1000 };
  const guint threads[] = { 0, 1, 2, 3, 8 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (guint j = 0; j < G_N_ELEMENTS (threads); j++)
      {
        gsize n = sizes[i];
        g_autofree gint *visits = g_new0 (gint, n + 1);
        g_autofree gint *thread_of = g_new0 (gint, n + 1);
        Visit v = { visits, thread_of, qs_parallel_n_threads (n, threads[j]), NULL, 0 };
        g_autoptr(GError) error = NULL;

        g_assert_cmpuint (v.n_threads, >=, 1);
        g_assert_cmpuint (v.n_threads, <=, MAX (n, 1));
        g_assert_true (qs_parallel_for (n, threads[j], visit, &v, NULL, &error));
        g_assert_no_error (error);
        for (gsize k = 0; k < n; k++)
          g_assert_cmpint (visits[k], ==, 1);
      }
}

/* Cancelling stops new items from starting and reports G_IO_ERROR_CANCELLED; a cancellable
 * cancelled beforehand runs nothing. */
static void
test_parallel_cancel (void)
{
  gsize n = 10000;
  g_autofree gint *visits = g_new0 (gint, n);
  g_autofree gint *thread_of = g_new0 (gint, n);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Visit v = { visits, thread_of, qs_parallel_n_threads (n, 2), cancellable, 10 };
  gsize ran = 0;

  g_assert_false (qs_parallel_for (n, 2, visit, &v, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  for (gsize k = 0; k < n; k++)
    {
      g_assert_cmpint (visits[k], <=, 1);
      ran += visits[k];
    }
  g_assert_cmpuint (ran, <, n);
  g_assert_cmpint (visits[10], ==, 1);

  g_clear_error (&error);
  memset (visits, 0, n * sizeof (gint));
  v.cancel_at_item = NULL;
  g_assert_false (qs_parallel_for (n, 0, visit, &v, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  for (gsize k = 0; k < n; k++)
    g_assert_cmpint (visits[k], ==, 0);
}

static void
nested_outer (gsize    index,
              guint    thread_index,
              gpointer data)
{
  gint *sums = data;
  g_autofree gint *visits = g_new0 (gint, 50);
  g_autofree gint *thread_of = g_new0 (gint, 50);
  Visit v = { visits, thread_of, qs_parallel_n_threads (50, 2), NULL, 0 };

  g_assert_true (qs_parallel_for (50, 2, visit, &v, NULL, NULL));
  for (guint k = 0; k < 50; k++)
    g_atomic_int_add (&sums[index], visits[k]);
}

/* A func may call qs_parallel_for () itself (the shared pool has no thread limit). */
static void
test_parallel_nested (void)
{
  gint sums[8] = { 0 };

  g_assert_true (qs_parallel_for (G_N_ELEMENTS (sums), 4, nested_outer, sums, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (sums); i++)
    g_assert_cmpint (sums[i], ==, 50);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/parallel/every-index-once", test_parallel_every_index_once);
  g_test_add_func ("/qs/parallel/cancel", test_parallel_cancel);
  g_test_add_func ("/qs/parallel/nested", test_parallel_nested);
  return g_test_run ();
}
