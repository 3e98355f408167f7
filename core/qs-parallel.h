/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Runs func (index, thread_index, user_data) for every index in [0, n_items), each exactly
 * once, on up to n_threads threads (0: g_get_num_processors ()). The calling thread takes
 * part as thread 0; helpers come from one process-wide GThreadPool and have thread_index
 * 1 .. n - 1 (n = MIN (n_threads, n_items)), so per-thread scratch can be indexed by it.
 * Items are claimed one at a time in increasing order: give each item enough work (a
 * micro-batch, a chunk) to amortise the claim.
 *
 * The cancellable is checked before every claim; once it is cancelled no new item starts,
 * the items running finish, and the call returns FALSE with G_IO_ERROR_CANCELLED. Returns
 * TRUE when every item ran. Calls may nest (a func may call qs_parallel_for). */
typedef void (*QsParallelFunc) (gsize    index,
                                guint    thread_index,
                                gpointer user_data);

gboolean qs_parallel_for          (gsize           n_items,
                                   guint           n_threads,
                                   QsParallelFunc  func,
                                   gpointer        user_data,
                                   GCancellable   *cancellable,
                                   GError        **error);

/* The number of threads qs_parallel_for () uses for n_items and n_threads (>= 1). */
guint    qs_parallel_n_threads    (gsize           n_items,
                                   guint           n_threads);

G_END_DECLS
