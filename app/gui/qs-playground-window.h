/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "qs-playground.h"

G_BEGIN_DECLS

#define QS_TYPE_PLAYGROUND_WINDOW (qs_playground_window_get_type ())

/* The quantization playground (no model needed): a distribution, its size and seed; bits,
 * mapping, rounding, range method or a manual clip; the histogram with its quantization
 * levels, the error split into rounding and clipping, per tensor next to per channel, and
 * the MSE against the clip threshold with the MSE method's optimum (core/qs-playground).
 * Recomputes in a worker after each change. F11 toggles presentation mode. */
G_DECLARE_FINAL_TYPE (QsPlaygroundWindow, qs_playground_window, QS, PLAYGROUND_WINDOW, AdwWindow)

/* layer: a real layer's result from the open model, offered as a distribution (nullable). */
GtkWidget          *qs_playground_window_new            (QsQuantResult      *layer);
/* The outcome on screen (NULL while the first one is computed). */
const QsPlayground *qs_playground_window_get_playground (QsPlaygroundWindow *self);
/* TRUE while a recomputation is pending or running. */
gboolean            qs_playground_window_get_busy       (QsPlaygroundWindow *self);
/* The controls, for tests and lessons: "bits", "values", "channels", "seed" spin buttons. */
GtkSpinButton      *qs_playground_window_get_spin       (QsPlaygroundWindow *self,
                                                         const char         *name);

G_END_DECLS
