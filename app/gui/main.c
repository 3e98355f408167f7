/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-application.h"
#include "qs-data.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(QsApplication) app = NULL;
  bindtextdomain (GETTEXT_PACKAGE, qs_data_get_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = qs_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
