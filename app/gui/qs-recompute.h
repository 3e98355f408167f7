/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define QS_TYPE_RECOMPUTE (qs_recompute_get_type ())

/* The live-path scheduler: one slot per key (a layer name, "eval" ...). Each slot runs at
 * most one job at a time in a worker thread and keeps at most one pending request:
 *   - a new request replaces the pending one (newest wins: coalescing);
 *   - a new request cancels the running job's GCancellable (stale work stops early);
 *   - an optional delay debounces a burst of requests into one job;
 *   - a result is delivered on the main thread only if no newer request for the same key
 *     arrived after the job's own request, so the UI never shows stale numbers. */
G_DECLARE_FINAL_TYPE (QsRecompute, qs_recompute, QS, RECOMPUTE, GObject)

/* Runs in a worker thread and owns nothing: input stays owned by the scheduler.
 * Returns a new result (freed with the scheduler's result_free) or NULL with error. */
typedef gpointer (*QsRecomputeFunc)     (gpointer       input,
                                         GCancellable  *cancellable,
                                         GError       **error);
/* Main thread. result is borrowed (take a reference to keep it); NULL when error is set. */
typedef void     (*QsRecomputeDoneFunc) (QsRecompute   *self,
                                         const char    *key,
                                         gpointer       result,
                                         const GError  *error,
                                         gpointer       user_data);

typedef struct
{
  guint submitted;   /* requests */
  guint coalesced;   /* requests replaced by a newer one before they started */
  guint started;     /* jobs handed to a worker */
  guint cancelled;   /* running jobs whose cancellable was triggered */
  guint discarded;   /* finished jobs whose result was stale */
  guint delivered;   /* results (or errors) handed to done */
} QsRecomputeCounters;

QsRecompute *qs_recompute_new          (QsRecomputeDoneFunc  done,
                                        gpointer             user_data,
                                        GDestroyNotify       result_free);
/* delay_ms: 0 starts at once (when the slot is idle); > 0 (re)starts a debounce timer. */
void         qs_recompute_submit       (QsRecompute         *self,
                                        const char          *key,
                                        guint                delay_ms,
                                        QsRecomputeFunc      func,
                                        gpointer             input,
                                        GDestroyNotify       input_free);
void         qs_recompute_cancel       (QsRecompute         *self,
                                        const char          *key);
void         qs_recompute_cancel_all   (QsRecompute         *self);
/* Cancels everything and never calls done again (the owner is going away). */
void         qs_recompute_shutdown     (QsRecompute         *self);
gboolean     qs_recompute_is_busy      (QsRecompute         *self);
gboolean     qs_recompute_key_is_busy  (QsRecompute         *self,
                                        const char          *key);
void         qs_recompute_get_counters (QsRecompute         *self,
                                        QsRecomputeCounters *out);
/* At most max_running jobs at once over all keys (0, the default: no limit). Requests that
 * are ready wait in the order they were made, except that the priority key goes first. */
void         qs_recompute_set_max_running (QsRecompute      *self,
                                        guint                max_running);
/* Urgent jobs (the quick accuracy's) run in threads of their own whose priority is lowered
 * less than the others' (nice + 2 instead of + 5 on Linux): on a busy machine they win the
 * cores they share with the statistics, and the main thread still wins over both. */
void         qs_recompute_set_urgent      (QsRecompute      *self,
                                           gboolean          urgent);
/* The key whose waiting request starts before the others (the layer on screen); NULL: none. */
void         qs_recompute_set_priority_key (QsRecompute     *self,
                                        const char          *key);

G_END_DECLS
