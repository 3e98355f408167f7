/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-target-ui.h"

/* The bundled targets' titles (the "title" of each data/targets/ file), here so that
 * xgettext finds them; keep in step with the files. */
static const char * const bundled_titles[] G_GNUC_UNUSED = {
  /* Translators: deployment target names in the target chooser */
  N_("TFLite int8"),
  N_("TFLite 16x8"),
  N_("CMSIS-NN"),
  N_("ONNX Runtime QDQ"),
  N_("Fixed-point accelerator"),
  N_("fp16 GPU"),
};

const char *
qs_target_get_display_title (QsTarget *target)
{
  g_return_val_if_fail (target != NULL, NULL);
  return g_dgettext (GETTEXT_PACKAGE, target->title);
}

GPtrArray *
qs_target_get_bundled (void)
{
  static GPtrArray *targets;

  if (g_once_init_enter (&targets))
    {
      const char * const *names = qs_target_list_bundled ();
      GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_target_unref);

      for (guint i = 0; names[i] != NULL; i++)
        {
          g_autoptr(GError) error = NULL;
          QsTarget *target = qs_target_load (names[i], &error);

          if (target != NULL)
            g_ptr_array_add (list, target);
          else
            g_warning ("Deployment target %s: %s", names[i], error->message);
        }
      g_once_init_leave (&targets, list);
    }
  return targets;
}
