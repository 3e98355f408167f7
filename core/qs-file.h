/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Files from strangers. Quantscope opens only regular files (symbolic links are followed):
 * a FIFO blocks forever, /dev/zero never ends, and a device is not data. It writes only over
 * a regular file or a new path (the rename that makes a save atomic would replace a device
 * node with a file), and never over a file the same command reads.
 *
 * The errors are G_IO_ERROR (NOT_FOUND, NOT_REGULAR_FILE, EXISTS); callers put them in their
 * own domain with the context of the file (model, dataset, configuration). */

gboolean qs_file_check_regular   (const char         *path,
                                  GError            **error);
gboolean qs_file_check_writable  (const char         *path,
                                  GError            **error);
gboolean qs_file_is_same         (const char         *a,
                                  const char         *b);
gboolean qs_file_check_not_input (const char         *output,
                                  const char * const *inputs,
                                  GError            **error);

/* JSON text from a file: TRUE when its arrays and objects nest at most max_depth deep,
 * counted on the raw text (strings skipped) before a recursive parser such as json-glib's
 * sees it, so that a hostile file cannot exhaust the stack. */
gboolean qs_json_text_depth_ok   (const char         *json,
                                  gsize               length,
                                  guint               max_depth);

G_END_DECLS
