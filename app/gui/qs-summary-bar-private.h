/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-summary-bar.h"

G_BEGIN_DECLS

/* How many times the totals were recomputed and shown (the tests count them). */
guint _qs_summary_bar_get_n_updates (QsSummaryBar *self);

G_END_DECLS
