/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#ifdef __linux__
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "qs-recompute.h"
#include "qs-tsan.h"

typedef struct
{
  QsRecompute    *owner;         /* not a reference: slots die with the scheduler */
  char           *key;
  guint64         serial;        /* serial of the newest request */

  /* The pending request, not started yet. */
  gboolean        has_pending;
  guint64         pending_serial;
  QsRecomputeFunc pending_func;
  gpointer        pending_input;
  GDestroyNotify  pending_input_free;
  guint           timeout_id;
  guint64         ready_order;   /* when the pending request became ready to start */

  /* The running job. */
  GCancellable   *running;
} Slot;

typedef struct
{
  char           *key;
  guint64         serial;
  QsRecomputeFunc func;
  gpointer        input;
  GDestroyNotify  input_free;
} Job;

struct _QsRecompute
{
  GObject              parent_instance;

  GHashTable          *slots;    /* key -> Slot */
  QsRecomputeDoneFunc  done;
  gpointer             user_data;
  GDestroyNotify       result_free;
  QsRecomputeCounters  counters;
  gboolean             shut_down;
  guint                max_running;   /* 0: no limit */
  guint                n_running;
  guint64              ready_clock;
  char                *priority_key;
  gboolean             urgent;
};

G_DEFINE_FINAL_TYPE (QsRecompute, qs_recompute, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
job_free (Job *job)
{
  if (job->input_free != NULL && job->input != NULL)
    job->input_free (job->input);
  g_free (job->key);
  g_free (job);
}

static void
slot_clear_pending (Slot *slot)
{
  g_clear_handle_id (&slot->timeout_id, g_source_remove);
  if (slot->has_pending && slot->pending_input_free != NULL && slot->pending_input != NULL)
    slot->pending_input_free (slot->pending_input);
  slot->has_pending = FALSE;
  slot->pending_func = NULL;
  slot->pending_input = NULL;
  slot->pending_input_free = NULL;
}

static void
slot_free (Slot *slot)
{
  slot_clear_pending (slot);
  if (slot->running != NULL)
    g_cancellable_cancel (slot->running);
  g_clear_object (&slot->running);
  g_free (slot->key);
  g_free (slot);
}

static gboolean
compute_busy (QsRecompute *self)
{
  GHashTableIter iter;
  Slot *slot;

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
    if (slot->has_pending || slot->running != NULL)
      return TRUE;
  return FALSE;
}

static void
notify_busy (QsRecompute *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  QsRecompute *self = source_object;
  Job *job = task_data;
  GError *error = NULL;
  gpointer result;

  /* QS_TSAN_RELEASE: the result reaches job_done () on the main thread through GLib. */
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      QS_TSAN_RELEASE (task);
      g_task_return_error (task, error);
      return;
    }

  result = job->func (job->input, cancellable, &error);
  if (error != NULL)
    {
      if (result != NULL && self->result_free != NULL)
        self->result_free (result);
      QS_TSAN_RELEASE (task);
      g_task_return_error (task, error);
    }
  else
    {
      GDestroyNotify result_free = self->result_free;

      QS_TSAN_RELEASE (task);   /* nothing of self is read after this */
      g_task_return_pointer (task, result, result_free);
    }
}

/* Jobs run in a pool of their own whose threads lower their priority (nice + 5 on Linux;
 * + 2 in the urgent pool) once: on a busy machine the main thread, which draws and handles
 * input, then wins the cores it shares with the statistics and the quick accuracy, and the
 * quick accuracy wins over the statistics. A thread only ever lowers its priority (raising
 * it needs a privilege), so each pool keeps its own threads. GTask still delivers the
 * result on the main thread (g_task_return_* may be called from any thread). */
#define NICE_NORMAL 5
#define NICE_URGENT 2

static void
lower_thread_priority (gint by)
{
#ifdef __linux__
  static GPrivate lowered;
  id_t tid;
  int nice_value;

  if (g_private_get (&lowered) != NULL)
    return;
  g_private_set (&lowered, GINT_TO_POINTER (1));
  tid = (id_t) syscall (SYS_gettid);
  errno = 0;
  nice_value = getpriority (PRIO_PROCESS, tid);
  if (errno == 0)
    setpriority (PRIO_PROCESS, tid, MIN (nice_value + by, 19));
#endif
}

static void
pool_run (gpointer data,
          gpointer user_data)
{
  GTask *task = data;

  QS_TSAN_ACQUIRE (task);   /* run_in_pool () */
  lower_thread_priority (GPOINTER_TO_INT (user_data));
  job_thread (task, g_task_get_source_object (task), g_task_get_task_data (task),
              g_task_get_cancellable (task));
  /* The reference run_in_pool () took is dropped by job_done () on the main thread: dropped
   * here it could be the last one, finalizing the task, its job input and the scheduler
   * itself on this thread while the main thread still uses them (ThreadSanitizer). */
}

static gpointer
create_pool (gpointer data)
{
  return g_thread_pool_new (pool_run, data, MAX ((gint) g_get_num_processors () + 2, 4), FALSE, NULL);
}

static void
run_in_pool (GTask   *task,
             gboolean urgent)
{
  static GOnce once = G_ONCE_INIT, once_urgent = G_ONCE_INIT;
  GOnce *o = urgent ? &once_urgent : &once;

  g_once (o, create_pool, GINT_TO_POINTER (urgent ? NICE_URGENT : NICE_NORMAL));
  QS_TSAN_RELEASE (task);
  g_thread_pool_push (o->retval, g_object_ref (task), NULL);
}

static void slot_try_start (Slot *slot);
static void start_waiting  (QsRecompute *self);

static void
job_done (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  QsRecompute *self = QS_RECOMPUTE (object);
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gpointer value;
  Slot *slot;

  QS_TSAN_ACQUIRE (task);   /* job_thread () */
  value = g_task_propagate_pointer (task, &error);
  slot = g_hash_table_lookup (self->slots, job->key);

  if (slot != NULL && slot->running == g_task_get_cancellable (task))
    g_clear_object (&slot->running);
  g_assert (self->n_running > 0);
  self->n_running--;

  if (!self->shut_down && slot != NULL && job->serial == slot->serial
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      self->counters.delivered++;
      if (self->done != NULL)
        self->done (self, job->key, value, error, self->user_data);
    }
  else
    self->counters.discarded++;

  if (value != NULL && self->result_free != NULL)
    self->result_free (value);

  if (!self->shut_down)
    start_waiting (self);

  notify_busy (self);
  g_object_unref (task);   /* pool_run ()'s reference */
}

static void
slot_try_start (Slot *slot)
{
  QsRecompute *self = slot->owner;
  g_autoptr(GTask) task = NULL;
  Job *job;

  if (!slot->has_pending || slot->timeout_id != 0)
    return;
  if (slot->ready_order == 0)
    slot->ready_order = ++self->ready_clock;
  if (slot->running != NULL)
    return;
  if (self->max_running > 0 && self->n_running >= self->max_running)
    return;   /* waits for a running job to finish: start_waiting () */

  job = g_new0 (Job, 1);
  job->key = g_strdup (slot->key);
  job->serial = slot->pending_serial;
  job->func = slot->pending_func;
  job->input = slot->pending_input;
  job->input_free = slot->pending_input_free;
  slot->has_pending = FALSE;
  slot->pending_func = NULL;
  slot->pending_input = NULL;
  slot->pending_input_free = NULL;
  slot->ready_order = 0;

  self->n_running++;
  slot->running = g_cancellable_new ();
  task = g_task_new (self, slot->running, job_done, NULL);
  g_task_set_source_tag (task, slot_try_start);
  g_task_set_name (task, "[quantscope] recompute");
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  self->counters.started++;
  run_in_pool (task, self->urgent);
}

static gboolean
slot_is_ready (Slot *slot)
{
  return slot->running == NULL && slot->has_pending && slot->timeout_id == 0;
}

/* Starts waiting requests while there is room: the priority key first, then in the order
 * they became ready. */
static void
start_waiting (QsRecompute *self)
{
  while (self->max_running == 0 || self->n_running < self->max_running)
    {
      GHashTableIter iter;
      Slot *slot, *next = NULL;

      if (self->priority_key != NULL)
        {
          next = g_hash_table_lookup (self->slots, self->priority_key);
          if (next != NULL && !slot_is_ready (next))
            next = NULL;
        }
      if (next == NULL)
        {
          g_hash_table_iter_init (&iter, self->slots);
          while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
            if (slot_is_ready (slot) && (next == NULL || slot->ready_order < next->ready_order))
              next = slot;
        }
      if (next == NULL)
        return;
      slot_try_start (next);
    }
}

static gboolean
slot_timeout_cb (gpointer user_data)
{
  Slot *slot = user_data;

  slot->timeout_id = 0;
  slot_try_start (slot);
  return G_SOURCE_REMOVE;
}

static void
qs_recompute_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  QsRecompute *self = QS_RECOMPUTE (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, compute_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_recompute_finalize (GObject *object)
{
  QsRecompute *self = QS_RECOMPUTE (object);

  g_clear_pointer (&self->slots, g_hash_table_unref);
  g_clear_pointer (&self->priority_key, g_free);

  G_OBJECT_CLASS (qs_recompute_parent_class)->finalize (object);
}

static void
qs_recompute_class_init (QsRecomputeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = qs_recompute_finalize;
  object_class->get_property = qs_recompute_get_property;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
qs_recompute_init (QsRecompute *self)
{
  self->slots = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) slot_free);
}

QsRecompute *
qs_recompute_new (QsRecomputeDoneFunc done,
                  gpointer            user_data,
                  GDestroyNotify      result_free)
{
  QsRecompute *self = g_object_new (QS_TYPE_RECOMPUTE, NULL);

  self->done = done;
  self->user_data = user_data;
  self->result_free = result_free;
  return self;
}

void
qs_recompute_submit (QsRecompute     *self,
                     const char      *key,
                     guint            delay_ms,
                     QsRecomputeFunc  func,
                     gpointer         input,
                     GDestroyNotify   input_free)
{
  Slot *slot;

  g_return_if_fail (QS_IS_RECOMPUTE (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (func != NULL);

  if (self->shut_down)
    {
      if (input_free != NULL && input != NULL)
        input_free (input);
      return;
    }

  slot = g_hash_table_lookup (self->slots, key);
  if (slot == NULL)
    {
      slot = g_new0 (Slot, 1);
      slot->owner = self;
      slot->key = g_strdup (key);
      g_hash_table_insert (self->slots, slot->key, slot);
    }

  self->counters.submitted++;
  if (slot->has_pending)
    self->counters.coalesced++;
  slot_clear_pending (slot);

  slot->serial++;
  slot->has_pending = TRUE;
  slot->pending_serial = slot->serial;
  slot->pending_func = func;
  slot->pending_input = input;
  slot->pending_input_free = input_free;

  if (slot->running != NULL && !g_cancellable_is_cancelled (slot->running))
    {
      g_cancellable_cancel (slot->running);
      self->counters.cancelled++;
    }

  if (delay_ms > 0)
    slot->timeout_id = g_timeout_add (delay_ms, slot_timeout_cb, slot);
  else
    slot_try_start (slot);

  notify_busy (self);
}

static void
slot_cancel (QsRecompute *self,
             Slot        *slot)
{
  slot_clear_pending (slot);
  slot->ready_order = 0;
  slot->serial++;
  if (slot->running != NULL && !g_cancellable_is_cancelled (slot->running))
    {
      g_cancellable_cancel (slot->running);
      self->counters.cancelled++;
    }
}

void
qs_recompute_cancel (QsRecompute *self,
                     const char  *key)
{
  Slot *slot;

  g_return_if_fail (QS_IS_RECOMPUTE (self));
  g_return_if_fail (key != NULL);

  slot = g_hash_table_lookup (self->slots, key);
  if (slot != NULL)
    {
      slot_cancel (self, slot);
      notify_busy (self);
    }
}

void
qs_recompute_cancel_all (QsRecompute *self)
{
  GHashTableIter iter;
  Slot *slot;

  g_return_if_fail (QS_IS_RECOMPUTE (self));

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &slot))
    slot_cancel (self, slot);
  notify_busy (self);
}

void
qs_recompute_shutdown (QsRecompute *self)
{
  g_return_if_fail (QS_IS_RECOMPUTE (self));

  qs_recompute_cancel_all (self);
  self->shut_down = TRUE;
  self->done = NULL;
  self->user_data = NULL;
}

gboolean
qs_recompute_is_busy (QsRecompute *self)
{
  g_return_val_if_fail (QS_IS_RECOMPUTE (self), FALSE);

  return compute_busy (self);
}

gboolean
qs_recompute_key_is_busy (QsRecompute *self,
                          const char  *key)
{
  Slot *slot;

  g_return_val_if_fail (QS_IS_RECOMPUTE (self), FALSE);

  slot = g_hash_table_lookup (self->slots, key);
  return slot != NULL && (slot->has_pending || slot->running != NULL);
}

void
qs_recompute_get_counters (QsRecompute         *self,
                           QsRecomputeCounters *out)
{
  g_return_if_fail (QS_IS_RECOMPUTE (self));
  g_return_if_fail (out != NULL);

  *out = self->counters;
}

void
qs_recompute_set_urgent (QsRecompute *self,
                         gboolean     urgent)
{
  g_return_if_fail (QS_IS_RECOMPUTE (self));
  self->urgent = urgent;
}

void
qs_recompute_set_max_running (QsRecompute *self,
                              guint        max_running)
{
  g_return_if_fail (QS_IS_RECOMPUTE (self));

  self->max_running = max_running;
  if (!self->shut_down)
    start_waiting (self);
}

void
qs_recompute_set_priority_key (QsRecompute *self,
                               const char  *key)
{
  g_return_if_fail (QS_IS_RECOMPUTE (self));

  g_free (self->priority_key);
  self->priority_key = g_strdup (key);
}
