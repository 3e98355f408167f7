/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-document.h"

G_BEGIN_DECLS

/* One undo or redo step an autosave keeps: the config it returns to and its label. */
typedef struct
{
  char     *label;
  QsConfig *config;
} QsSessionStep;

void           qs_session_step_free        (QsSessionStep *step);

/* What a session file says: the model (path, architecture, checksum), the dataset, the
 * config and the notes; an autosave also the undo and redo steps. Reading one loads
 * nothing: the document does that. */
typedef struct
{
  char     *model_path;          /* absolute (relative paths resolved against the file) */
  char     *architecture_path;   /* nullable */
  char     *model_checksum;      /* sha256, nullable */
  char     *dataset_spec;        /* nullable */
  char     *dataset_labels;      /* nullable: the spec's own labels */
  QsConfig *config;              /* nullable: the default preset */
  char     *notes;               /* nullable */
  GFile    *saved_file;          /* autosaves: the session file the user had saved to; nullable */
  GPtrArray *undo;               /* autosaves: QsSessionStep*, oldest first; nullable */
  GPtrArray *redo;               /* autosaves: QsSessionStep*, oldest first; nullable */
  char     *target;              /* deployment target: bundled name or file path; nullable */
} QsSessionData;

void           qs_session_data_free        (QsSessionData *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsSessionData, qs_session_data_free)

/* Parses the content of session (named in errors); QS_DOCUMENT_ERROR on failure. */
QsSessionData *qs_session_data_parse       (GFile         *session,
                                            const char    *data,
                                            gsize          length,
                                            GError       **error);
/* TRUE when path looks like a session file (by its content). */
gboolean       qs_session_is_session_file  (const char    *path);
/* g_get_user_data_dir()/quantscope/autosave */
char          *qs_session_autosave_dir     (void);
gboolean       qs_session_is_autosave_file (GFile         *file);
/* The newest autosave left behind by a previous run (not one of a live document), or NULL. */
char          *qs_session_find_autosave    (void);

#define QS_TYPE_SESSION (qs_session_get_type ())

/* A document's session file and autosave: writes the session JSON, and after a change a
 * debounced autosave to qs_session_autosave_dir()/session-<id>.json, removed when the
 * document is saved or closed on purpose. QsDocument owns one and delegates to it. */
G_DECLARE_FINAL_TYPE (QsSession, qs_session, QS, SESSION, GObject)

/* document is not referenced: it owns the session. */
QsSession     *qs_session_new                (QsDocument  *document);
char          *qs_session_to_json            (QsSession   *self,
                                              gboolean     for_autosave);
/* Writes the session to file atomically. */
gboolean       qs_session_write              (QsSession   *self,
                                              GFile       *file,
                                              GError     **error);
/* 0 disables autosave. */
void           qs_session_set_autosave_delay (QsSession   *self,
                                              guint        delay_ms);
/* The document's modified state changed or its content did: schedule an autosave when
 * modified, drop the autosave when not. */
void           qs_session_schedule_autosave  (QsSession   *self,
                                              gboolean     modified);
const char    *qs_session_get_autosave_path  (QsSession   *self);
gboolean       qs_session_autosave_now       (QsSession   *self,
                                              GError     **error);
void           qs_session_discard_autosave   (QsSession   *self);
/* Adopts an autosave file that was restored: later autosaves overwrite it. */
void           qs_session_adopt_autosave     (QsSession   *self,
                                              const char  *path);

G_END_DECLS
