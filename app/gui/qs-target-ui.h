/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-target.h"

G_BEGIN_DECLS

/* The app's side of deployment targets (issue 12): translated display names and the bundled
 * targets, read once. The rules stay in core (qs_target_check (), qs_target_accepts_*). */

/* target->title through the message catalog ("TFLite int8"). */
const char *qs_target_get_display_title (QsTarget *target);
/* The bundled targets in menu order (QsTarget*), loaded on first use; a file that does not
 * load is left out with a warning. Owned by the app. */
GPtrArray  *qs_target_get_bundled       (void);

G_END_DECLS
