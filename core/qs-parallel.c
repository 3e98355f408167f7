/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "qs-parallel.h"
#include "qs-tsan.h"

/* One shared pool with no thread limit: helpers are reused between calls, and a func that
 * calls qs_parallel_for () again never waits for a thread that waits for it. */

typedef struct
{
  gsize           n_items;
  QsParallelFunc  func;
  gpointer        user_data;
  GCancellable   *cancellable;
  gsize           next;        /* atomic: the next unclaimed index */
  GMutex          mutex;
  GCond           cond;
  guint           n_active;    /* helpers still running */
} Run;

typedef struct
{
  Run  *run;
  guint thread_index;
} Helper;

static void
run_items (Run   *run,
           guint  thread_index)
{
  for (;;)
    {
      gsize i;

      if (run->cancellable != NULL && g_cancellable_is_cancelled (run->cancellable))
        break;
      i = (gsize) g_atomic_pointer_add (&run->next, 1);
      if (i >= run->n_items)
        break;
      run->func (i, thread_index, run->user_data);
    }
}

static void
helper_func (gpointer data,
             gpointer pool_data)
{
  Helper *h = data;
  Run *run;

  QS_TSAN_ACQUIRE (h);   /* pushed through GThreadPool's queue */
  run = h->run;
  run_items (run, h->thread_index);
  g_mutex_lock (&run->mutex);
  QS_TSAN_ACQUIRE (&run->mutex);
  if (--run->n_active == 0)
    g_cond_signal (&run->cond);
  QS_TSAN_RELEASE (&run->mutex);
  g_mutex_unlock (&run->mutex);
}

static GThreadPool *
shared_pool (void)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    {
      GThreadPool *p = g_thread_pool_new (helper_func, NULL, -1, FALSE, NULL);

      g_once_init_leave (&pool, p);
    }
  return pool;
}

guint
qs_parallel_n_threads (gsize n_items,
                       guint n_threads)
{
  if (n_threads == 0)
    n_threads = g_get_num_processors ();
  return (guint) MAX (MIN ((gsize) n_threads, n_items), 1);
}

gboolean
qs_parallel_for (gsize           n_items,
                 guint           n_threads,
                 QsParallelFunc  func,
                 gpointer        user_data,
                 GCancellable   *cancellable,
                 GError        **error)
{
  Run run = { n_items, func, user_data, cancellable, 0 };
  guint n;

  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);

  n = qs_parallel_n_threads (n_items, n_threads);
  if (n == 1)
    run_items (&run, 0);
  else
    {
      g_autofree Helper *helpers = g_new (Helper, n - 1);
      GThreadPool *pool = shared_pool ();

      g_mutex_init (&run.mutex);
      g_cond_init (&run.cond);
      run.n_active = n - 1;
      for (guint t = 1; t < n; t++)
        {
          helpers[t - 1] = (Helper) { &run, t };
          QS_TSAN_RELEASE (&helpers[t - 1]);
          g_thread_pool_push (pool, &helpers[t - 1], NULL);
        }
      run_items (&run, 0);
      g_mutex_lock (&run.mutex);
      for (;;)
        {
          QS_TSAN_ACQUIRE (&run.mutex);   /* the lock is taken again after each wait */
          if (run.n_active == 0)
            break;
          QS_TSAN_RELEASE (&run.mutex);   /* g_cond_wait () unlocks it */
          g_cond_wait (&run.cond, &run.mutex);
        }
      QS_TSAN_RELEASE (&run.mutex);
      g_mutex_unlock (&run.mutex);
      g_mutex_clear (&run.mutex);
      g_cond_clear (&run.cond);
    }
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}
