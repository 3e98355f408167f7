/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(QsApplication) app = NULL;
  const char *localedir = LOCALEDIR;

  /* An uninstalled build finds its catalogs in the build tree. */
  if (!g_file_test (LOCALEDIR "/de/LC_MESSAGES/" GETTEXT_PACKAGE ".mo", G_FILE_TEST_EXISTS)
      && g_file_test (QS_BUILD_LOCALEDIR, G_FILE_TEST_IS_DIR))
    localedir = QS_BUILD_LOCALEDIR;
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = qs_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
