/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-engine-int.h"

G_BEGIN_DECLS

/* What an integer program holds in memory (tests, bench): the planned activation arena of
 * one workspace next to what every value in a place of its own would take, one workspace
 * (arena, im2col rows, accumulators), the packed int8 weights (one copy, read by every
 * worker), and how many workspaces the engine has allocated so far (runs reuse them). */
typedef struct
{
  gsize arena_bytes;
  gsize values_bytes;
  gsize workspace_bytes;
  gsize packed_bytes;
  guint n_workspaces;
} QsEngineIntMemory;

void _qs_engine_int_get_memory (QsEngineInt       *engine,
                                QsEngineIntMemory *out);

/* How many integer ops took their compiled weights from the previous program
 * (qs_engine_int_new_reusing). */
guint _qs_engine_int_get_n_reused (QsEngineInt       *engine);

G_END_DECLS
