/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: Keras model_config JSON -> layers -> graph building and shapes. */
#include "config.h"

#include "quantscope-core.h"
#include "qs-keras.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GPtrArray) configs = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *model_name = NULL;
  g_autoptr(GError) error = NULL;

  if (size > ((gsize) 1 << 20))
    return 0;
  if (_qs_keras_config_parse ((const char *) data, size, "fuzz.json", &model_name, &layers, &configs,
                              &names, &error))
    {
      QsModel *model = _qs_model_build (model_name, g_steal_pointer (&layers), g_steal_pointer (&configs),
                                        TRUE, &error);
      if (model != NULL)
        g_object_unref (model);
    }
  return 0;
}
