/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "qs-data.h"

G_DEFINE_QUARK (qs-data-error-quark, qs_data_error)

char *
qs_data_find_file (const char  *relative,
                   GError     **error)
{
  const char *env = g_getenv ("QUANTSCOPE_DATADIR");
  const char *dirs[3];
  g_autoptr(GString) searched = g_string_new (NULL);
  guint n = 0;

  g_return_val_if_fail (relative != NULL, NULL);

  if (env != NULL && *env != '\0')
    dirs[n++] = env;
  dirs[n++] = PKGDATADIR;
  dirs[n++] = QS_SOURCE_DATADIR;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_build_filename (dirs[i], relative, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&path);
      g_string_append_printf (searched, "%s%s", i ? ", " : "", dirs[i]);
    }

  g_set_error (error, QS_DATA_ERROR, QS_DATA_ERROR_NOT_FOUND,
               _("Bundled file “%s” not found (searched %s); reinstall Quantscope or set QUANTSCOPE_DATADIR"),
               relative, searched->str);
  return NULL;
}

const char *
qs_data_get_localedir (void)
{
  /* An uninstalled build has no catalogs under LOCALEDIR: use the build tree's. */
  if (!g_file_test (LOCALEDIR "/de/LC_MESSAGES/" GETTEXT_PACKAGE ".mo", G_FILE_TEST_EXISTS)
      && g_file_test (QS_BUILD_LOCALEDIR, G_FILE_TEST_IS_DIR))
    return QS_BUILD_LOCALEDIR;
  return LOCALEDIR;
}
