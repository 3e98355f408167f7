/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "qs-recompute.h"

/* A worker that "computes" input * 2 and takes wait_ms, returning early when cancelled. */
typedef struct
{
  int  value;
  int  wait_ms;
  int *saw_cancel;   /* atomic counter shared with the test */
  int *ran;          /* atomic */
  gboolean fail;
} Input;

static gpointer
slow_double (gpointer      data,
             GCancellable *cancellable,
             GError      **error)
{
  Input *input = data;
  gint64 end = g_get_monotonic_time () + input->wait_ms * 1000;

  g_atomic_int_inc (input->ran);
  while (g_get_monotonic_time () < end)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          g_atomic_int_inc (input->saw_cancel);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
          return NULL;
        }
      g_usleep (500);
    }
  if (input->fail)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "bad input %d", input->value);
      return NULL;
    }
  return GINT_TO_POINTER (input->value * 2);
}

typedef struct
{
  GHashTable *last;        /* key -> last delivered value */
  int         n_done;
  int         n_errors;
  char       *last_error;
  GString    *order;       /* keys in the order they were delivered */
} Sink;

static void
sink_done (QsRecompute  *self,
           const char   *key,
           gpointer      result,
           const GError *error,
           gpointer      user_data)
{
  Sink *sink = user_data;

  sink->n_done++;
  g_string_append (sink->order, key);
  if (error != NULL)
    {
      sink->n_errors++;
      g_free (sink->last_error);
      sink->last_error = g_strdup (error->message);
      return;
    }
  g_hash_table_insert (sink->last, g_strdup (key), result);
}

static Input *
input_new (int value, int wait_ms, int *saw_cancel, int *ran)
{
  Input *input = g_new0 (Input, 1);

  input->value = value;
  input->wait_ms = wait_ms;
  input->saw_cancel = saw_cancel;
  input->ran = ran;
  return input;
}

static void
wait_idle (QsRecompute *recompute)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (qs_recompute_is_busy (recompute))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
sink_init (Sink *sink)
{
  memset (sink, 0, sizeof *sink);
  sink->last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sink->order = g_string_new (NULL);
}

static void
sink_clear (Sink *sink)
{
  g_hash_table_unref (sink->last);
  g_free (sink->last_error);
  g_string_free (sink->order, TRUE);
}

/* A burst of requests while a job runs: the running job is cancelled, only the newest
 * request runs after it, and exactly one result (the newest) is delivered. */
static void
test_recompute_coalesce (void)
{
  Sink sink;
  int saw_cancel = 0, ran = 0;
  g_autoptr(QsRecompute) recompute = NULL;
  QsRecomputeCounters counters;

  sink_init (&sink);
  recompute = qs_recompute_new (sink_done, &sink, NULL);

  qs_recompute_submit (recompute, "conv", 0, slow_double, input_new (1, 2000, &saw_cancel, &ran), g_free);
  while (g_atomic_int_get (&ran) == 0)   /* the first job is really running */
    g_usleep (1000);
  for (int i = 2; i <= 20; i++)
    qs_recompute_submit (recompute, "conv", 0, slow_double, input_new (i, 20, &saw_cancel, &ran), g_free);
  g_assert_true (qs_recompute_key_is_busy (recompute, "conv"));
  wait_idle (recompute);

  qs_recompute_get_counters (recompute, &counters);
  g_assert_cmpuint (counters.submitted, ==, 20);
  g_assert_cmpuint (counters.started, ==, 2);      /* the first, then only the newest */
  g_assert_cmpuint (counters.coalesced, ==, 18);   /* 2..19 never ran */
  g_assert_cmpuint (counters.delivered, ==, 1);
  g_assert_cmpuint (counters.discarded, ==, 1);
  g_assert_cmpint (g_atomic_int_get (&saw_cancel), ==, 1); /* the first job stopped early */
  g_assert_cmpint (g_atomic_int_get (&ran), ==, 2);
  g_assert_cmpint (sink.n_done, ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (sink.last, "conv")), ==, 40);
  sink_clear (&sink);
}

/* Debounced requests collapse into a single job that sees the last input. */
static void
test_recompute_debounce (void)
{
  Sink sink;
  int saw_cancel = 0, ran = 0;
  g_autoptr(QsRecompute) recompute = NULL;
  QsRecomputeCounters counters;

  sink_init (&sink);
  recompute = qs_recompute_new (sink_done, &sink, NULL);

  for (int i = 1; i <= 5; i++)
    {
      qs_recompute_submit (recompute, "eval", 40, slow_double, input_new (i, 1, &saw_cancel, &ran), g_free);
      g_usleep (5000);
      g_main_context_iteration (NULL, FALSE);
    }
  wait_idle (recompute);

  qs_recompute_get_counters (recompute, &counters);
  g_assert_cmpuint (counters.started, ==, 1);
  g_assert_cmpuint (counters.delivered, ==, 1);
  g_assert_cmpint (g_atomic_int_get (&ran), ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (sink.last, "eval")), ==, 10);
  sink_clear (&sink);
}

/* Keys are independent: work on one never cancels another. */
static void
test_recompute_keys (void)
{
  Sink sink;
  int saw_cancel = 0, ran = 0;
  g_autoptr(QsRecompute) recompute = NULL;

  sink_init (&sink);
  recompute = qs_recompute_new (sink_done, &sink, NULL);

  qs_recompute_submit (recompute, "a", 0, slow_double, input_new (1, 30, &saw_cancel, &ran), g_free);
  qs_recompute_submit (recompute, "b", 0, slow_double, input_new (2, 30, &saw_cancel, &ran), g_free);
  qs_recompute_submit (recompute, "c", 0, slow_double, input_new (3, 30, &saw_cancel, &ran), g_free);
  wait_idle (recompute);

  g_assert_cmpint (g_atomic_int_get (&saw_cancel), ==, 0);
  g_assert_cmpint (sink.n_done, ==, 3);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (sink.last, "a")), ==, 2);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (sink.last, "b")), ==, 4);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (sink.last, "c")), ==, 6);
  sink_clear (&sink);
}

/* Cancelling a key stops its running job and delivers nothing; shutdown likewise, and the
 * done callback is never called after it. */
static void
test_recompute_cancel (void)
{
  Sink sink;
  int saw_cancel = 0, ran = 0;
  g_autoptr(QsRecompute) recompute = NULL;
  QsRecomputeCounters counters;

  sink_init (&sink);
  recompute = qs_recompute_new (sink_done, &sink, NULL);

  qs_recompute_submit (recompute, "a", 0, slow_double, input_new (1, 2000, &saw_cancel, &ran), g_free);
  while (g_atomic_int_get (&ran) == 0)
    g_usleep (1000);
  qs_recompute_submit (recompute, "b", 30, slow_double, input_new (2, 1, &saw_cancel, &ran), g_free);
  qs_recompute_cancel (recompute, "a");
  qs_recompute_cancel (recompute, "b");
  wait_idle (recompute);
  qs_recompute_get_counters (recompute, &counters);
  g_assert_cmpint (sink.n_done, ==, 0);
  g_assert_cmpuint (counters.started, ==, 1);
  g_assert_cmpuint (counters.discarded, ==, 1);

  qs_recompute_submit (recompute, "a", 0, slow_double, input_new (5, 2000, &saw_cancel, &ran), g_free);
  while (g_atomic_int_get (&ran) == 1)
    g_usleep (1000);
  qs_recompute_shutdown (recompute);
  wait_idle (recompute);
  g_assert_cmpint (sink.n_done, ==, 0);
  g_assert_cmpint (g_atomic_int_get (&saw_cancel), ==, 2);

  /* Requests after shutdown are dropped (their input freed). */
  qs_recompute_submit (recompute, "a", 0, slow_double, input_new (6, 1, &saw_cancel, &ran), g_free);
  g_assert_false (qs_recompute_is_busy (recompute));
  sink_clear (&sink);
}

/* A worker error reaches the done callback with its message. */
static void
test_recompute_error (void)
{
  Sink sink;
  int saw_cancel = 0, ran = 0;
  g_autoptr(QsRecompute) recompute = NULL;
  Input *input;

  sink_init (&sink);
  recompute = qs_recompute_new (sink_done, &sink, NULL);

  input = input_new (7, 1, &saw_cancel, &ran);
  input->fail = TRUE;
  qs_recompute_submit (recompute, "x", 0, slow_double, input, g_free);
  wait_idle (recompute);
  g_assert_cmpint (sink.n_errors, ==, 1);
  g_assert_cmpstr (sink.last_error, ==, "bad input 7");
  sink_clear (&sink);
}

/* With a limit of one running job, requests wait their turn: in the order they were made,
 * except the priority key (the layer on screen), which goes before the others waiting; never
 * more than one job runs. */
static int n_running;
static int max_running_seen;

static gpointer
counted_job (gpointer      data,
             GCancellable *cancellable,
             GError      **error)
{
  int now = g_atomic_int_add (&n_running, 1) + 1;
  gpointer result;

  if (now > g_atomic_int_get (&max_running_seen))
    g_atomic_int_set (&max_running_seen, now);
  result = slow_double (data, cancellable, error);
  g_atomic_int_add (&n_running, -1);
  return result;
}

static void
test_recompute_max_running (void)
{
  Sink sink;
  int saw_cancel = 0, ran = 0;
  g_autoptr(QsRecompute) recompute = NULL;
  const char *keys[] = { "a", "b", "c", "d", "e" };

  sink_init (&sink);
  recompute = qs_recompute_new (sink_done, &sink, NULL);
  qs_recompute_set_max_running (recompute, 1);
  qs_recompute_set_priority_key (recompute, "d");
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    qs_recompute_submit (recompute, keys[i], 0, counted_job,
                         input_new (i, 20, &saw_cancel, &ran), g_free);
  g_assert_true (qs_recompute_key_is_busy (recompute, "e"));
  wait_idle (recompute);

  /* "a" had started before the others were asked for */
  g_assert_cmpstr (sink.order->str, ==, "adbce");
  g_assert_cmpint (g_atomic_int_get (&max_running_seen), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&ran), ==, 5);
  g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (sink.last, "e")), ==, 8);
  sink_clear (&sink);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qs/recompute/coalesce", test_recompute_coalesce);
  g_test_add_func ("/qs/recompute/max-running-priority", test_recompute_max_running);
  g_test_add_func ("/qs/recompute/debounce", test_recompute_debounce);
  g_test_add_func ("/qs/recompute/keys", test_recompute_keys);
  g_test_add_func ("/qs/recompute/cancel", test_recompute_cancel);
  g_test_add_func ("/qs/recompute/error", test_recompute_error);

  return g_test_run ();
}
