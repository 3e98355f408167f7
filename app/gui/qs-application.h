/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define QS_TYPE_APPLICATION (qs_application_get_type ())

G_DECLARE_FINAL_TYPE (QsApplication, qs_application, QS, APPLICATION, AdwApplication)

#define QS_MAX_RECENT 10

QsApplication *qs_application_new             (void);
GSettings     *qs_application_get_settings    (QsApplication *self);
/* Remembers a model or session path at the top of the recent list. */
void           qs_application_add_recent      (QsApplication *self,
                                               const char    *path);
void           qs_application_remove_recent   (QsApplication *self,
                                               const char    *path);
/* Existing recent files, newest first. */
GStrv          qs_application_get_recent      (QsApplication *self);

/* The settings of a build that may not be installed: the compiled schema in the build
 * tree is used when the schema is not installed. */
GSettings     *qs_settings_new                (void);

G_END_DECLS
