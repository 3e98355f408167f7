/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-explain.h"

G_BEGIN_DECLS

#define QS_TYPE_EXPLAIN_PANEL (qs_explain_panel_get_type ())

/* The explain panel: the arithmetic of one weight (and, for a layer that runs in integers,
 * of one output's requantization) with the actual numbers, from core/qs-explain. Each
 * line reads "what: formula = value"; the text is selectable and "Copy" puts the plain
 * text on the clipboard. Signal "close-requested" when the user closes it. */
G_DECLARE_FINAL_TYPE (QsExplainPanel, qs_explain_panel, QS, EXPLAIN_PANEL, GtkBox)

GtkWidget  *qs_explain_panel_new          (void);
/* Explains element index of result; FALSE (and the reason shown) when it cannot. */
gboolean    qs_explain_panel_show_value   (QsExplainPanel   *self,
                                           QsQuantResult    *result,
                                           gsize             index,
                                           const char       *heading);
/* Adds (or replaces) the requantization section; NULL with a message shows the message. */
void        qs_explain_panel_show_requant (QsExplainPanel   *self,
                                           const QsExplainRequant *requant,
                                           const char       *message);
/* What "Copy" copies: every line as plain text. */
char       *qs_explain_panel_get_text     (QsExplainPanel   *self);
/* The value explained last (NULL before the first). */
const QsExplainValue *qs_explain_panel_get_value (QsExplainPanel *self);

G_END_DECLS
