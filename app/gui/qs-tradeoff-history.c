/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-tradeoff-history.h"

struct _QsTradeoffHistory
{
  GObject     parent_instance;

  QsDocument *document;   /* weak */
  GPtrArray  *entries;    /* QsTradeoffEntry* */
  gint        current;
};

G_DEFINE_FINAL_TYPE (QsTradeoffHistory, qs_tradeoff_history, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
entry_free (gpointer data)
{
  QsTradeoffEntry *entry = data;

  g_clear_object (&entry->config);
  g_free (entry->label);
  g_free (entry);
}

static gint
find_config (QsTradeoffHistory *self,
             QsConfig          *config)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      QsTradeoffEntry *entry = g_ptr_array_index (self->entries, i);

      if (qs_config_equal (entry->config, config))
        return (gint) i;
    }
  return -1;
}

/* The config changed: the current entry is the one with that config, if tried before. */
static void
on_config_changed (QsTradeoffHistory *self)
{
  gint current = find_config (self, qs_document_get_config (self->document));

  if (current != self->current)
    {
      self->current = current;
      g_signal_emit (self, signals[CHANGED], 0);
    }
}

/* A quick accuracy the summary bar shows: one point of the history. */
static void
on_quick_eval_changed (QsTradeoffHistory *self)
{
  QsEvalResult *eval = qs_document_get_quick_eval (self->document);
  QsConfig *config = qs_document_get_config (self->document);
  QsTradeoffEntry *entry;
  QsSummary summary;
  gint index;

  if (eval == NULL)
    return;
  qs_document_get_summary (self->document, &summary);
  index = find_config (self, config);
  if (index >= 0)
    entry = g_ptr_array_index (self->entries, index);
  else
    {
      const char *label = qs_document_get_undo_label (self->document);

      entry = g_new0 (QsTradeoffEntry, 1);
      entry->config = qs_config_copy (config);
      /* The undo step that made the config; none: the config the session started with. A
       * config changed before its accuracy arrived was never shown, so it is no point. */
      /* Translators: a point of the trade-off history: the config the session started with */
      entry->label = g_strdup (label != NULL && qs_document_can_undo (self->document) ? label : _("Initial"));
      g_ptr_array_add (self->entries, entry);
      index = (gint) self->entries->len - 1;
    }
  entry->weight_bytes = summary.quant_bytes;
  /* without labels the quick evaluation measures agreement with the float model */
  entry->quant_top1 = eval->labelled ? eval->quant_top1 : eval->agreement;
  self->current = index;
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
qs_tradeoff_history_dispose (GObject *object)
{
  QsTradeoffHistory *self = QS_TRADEOFF_HISTORY (object);

  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_weak_pointer (&self->document);
  G_OBJECT_CLASS (qs_tradeoff_history_parent_class)->dispose (object);
}

static void
qs_tradeoff_history_finalize (GObject *object)
{
  QsTradeoffHistory *self = QS_TRADEOFF_HISTORY (object);

  g_clear_pointer (&self->entries, g_ptr_array_unref);
  G_OBJECT_CLASS (qs_tradeoff_history_parent_class)->finalize (object);
}

static void
qs_tradeoff_history_class_init (QsTradeoffHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_tradeoff_history_dispose;
  object_class->finalize = qs_tradeoff_history_finalize;

  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
qs_tradeoff_history_init (QsTradeoffHistory *self)
{
  self->entries = g_ptr_array_new_with_free_func (entry_free);
  self->current = -1;
}

QsTradeoffHistory *
qs_tradeoff_history_new (QsDocument *document)
{
  QsTradeoffHistory *self;

  g_return_val_if_fail (QS_IS_DOCUMENT (document), NULL);

  self = g_object_new (QS_TYPE_TRADEOFF_HISTORY, NULL);
  g_set_weak_pointer (&self->document, document);
  g_signal_connect_swapped (document, "config-changed", G_CALLBACK (on_config_changed), self);
  g_signal_connect_swapped (document, "quick-eval-changed", G_CALLBACK (on_quick_eval_changed), self);
  on_quick_eval_changed (self);
  return self;
}

guint
qs_tradeoff_history_get_n_entries (QsTradeoffHistory *self)
{
  g_return_val_if_fail (QS_IS_TRADEOFF_HISTORY (self), 0);
  return self->entries->len;
}

const QsTradeoffEntry *
qs_tradeoff_history_get_entry (QsTradeoffHistory *self,
                               guint              index)
{
  g_return_val_if_fail (QS_IS_TRADEOFF_HISTORY (self), NULL);
  g_return_val_if_fail (index < self->entries->len, NULL);
  return g_ptr_array_index (self->entries, index);
}

gint
qs_tradeoff_history_get_current (QsTradeoffHistory *self)
{
  g_return_val_if_fail (QS_IS_TRADEOFF_HISTORY (self), -1);
  return self->current;
}

void
qs_tradeoff_history_restore (QsTradeoffHistory *self,
                             guint              index)
{
  QsTradeoffEntry *entry;

  g_return_if_fail (QS_IS_TRADEOFF_HISTORY (self));
  g_return_if_fail (index < self->entries->len);

  entry = g_ptr_array_index (self->entries, index);
  if (self->document == NULL || qs_config_equal (entry->config, qs_document_get_config (self->document)))
    return;
  /* Translators: an undo step: the config of a point of the trade-off history came back */
  qs_document_set_config (self->document, entry->config, _("Go Back to a Tried Configuration"));
}
