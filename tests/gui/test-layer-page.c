/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <adwaita.h>

#include "qs-layer-page.h"
#include "test-sample.h"

static QsModel *sample_model;

static GtkWidget *
page_child (GtkWidget  *page,
            const char *name)
{
  GObject *child = gtk_widget_get_template_child (page, QS_TYPE_LAYER_PAGE, name);

  g_assert_nonnull (child);
  return GTK_WIDGET (child);
}

/* A range fixed by the config (quantization-aware training) overrides calibration: the
 * calibration row says so and cannot be changed; other layers keep their calibration. */
static void
test_layer_page_fixed_range (void)
{
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsDocument) doc = NULL;
  GtkWidget *page = g_object_ref_sink (qs_layer_page_new ());
  GtkWidget *calib;
  const char *subtitle;

  qs_config_set_activation_range (config, "conv1", 0.0f, 2.5f);
  doc = qs_document_new (sample_model, config, NULL);
  qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
  calib = page_child (page, "calib_row");

  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv1");
  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (calib));
  g_assert_nonnull (subtitle);
  g_assert_nonnull (strstr (subtitle, "2.5"));
  g_assert_false (gtk_widget_get_sensitive (calib));

  qs_layer_page_set_layer (QS_LAYER_PAGE (page), "conv2");
  subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (calib));
  g_assert_true (subtitle == NULL || *subtitle == '\0');
  g_assert_true (gtk_widget_get_sensitive (calib));

  qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
  g_object_unref (page);
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-layer-page-XXXXXX", NULL);
  int ret;

  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      /* TAP: an empty plan with a reason is a skip */
      g_print ("1..0 # SKIP no display\n");
      return 0;
    }
  adw_init ();

  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/layer-page/fixed-range", test_layer_page_fixed_range);

  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
