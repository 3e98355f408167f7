/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "qs-model-private.h"
#include "qs-synthetic.h"

static void
fill_weights (QsTensor *t,
              guint32  *seed)
{
  for (gsize i = 0; i < t->n_elements; i++)
    {
      *seed = *seed * 1664525u + 1013904223u;
      t->data[i] = 0.05f * ((float) (*seed >> 8) / (float) (1 << 24) - 0.5f);
    }
}

static QsLayer *
dense_layer (const char *name,
             gsize       in,
             gsize       out,
             guint       input,
             guint32    *seed)
{
  QsLayer *dense = qs_layer_new (name, "Dense", QS_LAYER_DENSE);
  g_autofree char *kname = g_strdup_printf ("%s/kernel", name);
  g_autofree char *bname = g_strdup_printf ("%s/bias", name);
  gsize kshape[] = { in, out }, bshape[] = { out };
  QsTensor *kernel = qs_tensor_new (kname, 2, kshape, NULL);
  QsTensor *bias = qs_tensor_new (bname, 1, bshape, NULL);

  fill_weights (kernel, seed);
  qs_tensor_set_layout (kernel, QS_TENSOR_LAYOUT_DENSE);
  qs_tensor_set_layout (bias, QS_TENSOR_LAYOUT_VECTOR);
  dense->units = out;
  dense->n_inputs = 1;
  dense->inputs = g_new0 (guint, 1);
  dense->inputs[0] = input;
  g_ptr_array_add (dense->weights, kernel);
  g_ptr_array_add (dense->weights, bias);
  return dense;
}

QsModel *
qs_synthetic_mlp (guint64   n_params,
                  GError  **error)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *input = qs_layer_new ("input", "InputLayer", QS_LAYER_INPUT);
  guint64 first = 4096 * 4097;
  gsize hidden = n_params > first + 32 * 4107 ? (gsize) ((n_params - first) / 4107) / 32 * 32 : 32;
  guint32 seed = 17;

  input->output_rank = 1;
  input->output_shape[0] = 4096;
  input->inputs = g_new0 (guint, 1);
  g_ptr_array_add (layers, input);
  g_ptr_array_add (layers, dense_layer ("dense_16m", 4096, 4096, 0, &seed));
  g_ptr_array_add (layers, dense_layer ("dense_hidden", 4096, hidden, 1, &seed));
  g_ptr_array_add (layers, dense_layer ("dense_out", hidden, 10, 2, &seed));
  return qs_model_new_from_layers ("synthetic", layers, error);
}
