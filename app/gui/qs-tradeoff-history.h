/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-document.h"

G_BEGIN_DECLS

/* The live trade-off history (issue 11): every configuration of this session whose quick
 * accuracy the summary bar showed, with its weight size (the summary's quantized bytes), its
 * top-1 and a copy of the config; a config tried again updates its entry instead of adding
 * one. Emits "changed" when an entry is added or updated or the current one changes. */
typedef struct
{
  QsConfig *config;
  guint64   weight_bytes;
  double    quant_top1;       /* 0..1 */
  char     *label;            /* the undo step that made it ("Weight Bits"), or "Initial" */
} QsTradeoffEntry;

#define QS_TYPE_TRADEOFF_HISTORY (qs_tradeoff_history_get_type ())

G_DECLARE_FINAL_TYPE (QsTradeoffHistory, qs_tradeoff_history, QS, TRADEOFF_HISTORY, GObject)

/* document is not referenced: the history follows it until the document goes away. */
QsTradeoffHistory     *qs_tradeoff_history_new         (QsDocument        *document);
guint                  qs_tradeoff_history_get_n_entries (QsTradeoffHistory *self);
const QsTradeoffEntry *qs_tradeoff_history_get_entry   (QsTradeoffHistory *self,
                                                        guint              index);
/* The entry whose config is the document's now, or -1 (not measured yet). */
gint                   qs_tradeoff_history_get_current (QsTradeoffHistory *self);
/* Goes back to entry index's config: one undo step. */
void                   qs_tradeoff_history_restore     (QsTradeoffHistory *self,
                                                        guint              index);

G_END_DECLS
