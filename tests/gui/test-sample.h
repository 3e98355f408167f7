/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The GUI tests' sample model: the bundled CNN, or a TAP skip when it is missing. */

#include <stdio.h>
#include <stdlib.h>

#include <adwaita.h>

#include "quantscope-core.h"

G_BEGIN_DECLS

/* Loads the bundled sample model; without it prints a TAP skip plan and exits. Call after
 * g_test_init (). */
static inline QsModel *
test_load_sample_model_or_skip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = qs_data_find_file (QS_DATA_SAMPLE_MODEL, &error);
  QsModel *model = path != NULL ? qs_model_load (path, NULL, NULL, &error) : NULL;

  if (model == NULL)
    {
      g_print ("1..0 # SKIP sample model not available: %s\n", error->message);
      exit (0);
    }
  return model;
}

/* g_test_init (), then GTK and libadwaita; without a display prints a TAP skip plan (an
 * empty plan with a reason) and exits. */
static inline void
test_gui_init_or_skip (int    *argc,
                       char ***argv)
{
  g_test_init (argc, argv, NULL);
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      exit (0);
    }
  adw_init ();
}

G_END_DECLS
