/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-train-private.h"
#include "qs-parallel.h"

/* The trainer: a small graph of nodes with batch buffers, run layer by layer over a batch.
 * A batch is split into at most QS_TRAIN_MAX_CHUNKS fixed ranges of images; threads take
 * whole chunks, every chunk accumulates its parameter gradient in its own buffer, and the
 * buffers (and BatchNorm's batch sums) are reduced in chunk order. So a run is
 * deterministic for a seed whatever the number of threads. */

G_DEFINE_QUARK (qs-train-error-quark, qs_train_error)

/* --- random numbers --- */

guint64
_qs_train_rand_next (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

double
_qs_train_rand_uniform (guint64 *state)
{
  return (_qs_train_rand_next (state) >> 11) * (1.0 / 9007199254740992.0);
}

guint64
_qs_train_hash (guint64 a,
                guint64 b)
{
  guint64 state = a ^ (b * G_GUINT64_CONSTANT (0xd6e8feb86659fd93));

  _qs_train_rand_next (&state);
  return _qs_train_rand_next (&state);
}

/* --- training data --- */

struct _QsTrainData
{
  guint   n_images;
  gsize   image_size;
  guint   n_classes;
  guint8 *pixels;
  guint8 *labels;
  float   scale;
  float   offset;
  float  *inputs;      /* from_model_inputs: the model inputs, n_images x image_size */
};

QsTrainData *
qs_train_data_new (guint         n_images,
                   gsize         image_size,
                   const guint8 *pixels,
                   const guint8 *labels,
                   guint         n_classes)
{
  QsTrainData *data;

  g_return_val_if_fail (pixels != NULL && labels != NULL, NULL);

  data = g_new0 (QsTrainData, 1);
  data->n_images = n_images;
  data->image_size = image_size;
  data->n_classes = n_classes;
  data->pixels = g_memdup2 (pixels, (gsize) n_images * image_size);
  data->labels = g_memdup2 (labels, n_images);
  data->scale = 1.0f / 255.0f;
  data->offset = 0.0f;
  return data;
}

QsTrainData *
qs_train_data_new_from_dataset (QsDataset  *dataset,
                                guint       limit,
                                GError    **error)
{
  QsTrainData *data;
  gsize h, w, c;
  guint n;

  g_return_val_if_fail (QS_IS_DATASET (dataset), NULL);

  n = qs_dataset_get_n_images (dataset);
  if (limit > 0)
    n = MIN (n, limit);
  qs_dataset_get_image_shape (dataset, &h, &w, &c);
  if (n == 0 || h * w * c == 0)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                   _("The dataset “%s” has no images to train on"),
                   qs_dataset_get_name (dataset));
      return NULL;
    }

  data = g_new0 (QsTrainData, 1);
  data->n_images = n;
  data->image_size = h * w * c;
  data->n_classes = qs_dataset_get_n_classes (dataset);
  data->pixels = g_malloc ((gsize) n * data->image_size);
  data->labels = g_malloc (n);
  data->scale = 1.0f / 255.0f;
  data->offset = 0.0f;
  for (guint i = 0; i < n; i++)
    {
      gint label = qs_dataset_get_label (dataset, i);

      if (label < 0 || label > 255)
        {
          g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                       _("Image %u of the dataset “%s” has the invalid label %d"),
                       i, qs_dataset_get_name (dataset), label);
          qs_train_data_free (data);
          return NULL;
        }
      {
        g_autofree guint8 *px = NULL;
        gsize ih = 0, iw = 0, ic = 0;

        px = qs_dataset_read_pixels (dataset, i, &ih, &iw, &ic, error);
        if (px == NULL || ih * iw * ic != data->image_size)
          {
            if (px != NULL)
              g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                           _("Image %u of the dataset “%s” has another size than the first"),
                           i, qs_dataset_get_name (dataset));
            qs_train_data_free (data);
            return NULL;
          }
        memcpy (data->pixels + (gsize) i * data->image_size, px, data->image_size);
      }
      data->labels[i] = (guint8) label;
    }
  return data;
}

QsTrainData *
qs_train_data_new_from_model_inputs (QsDataset  *dataset,
                                     QsModel    *model,
                                     guint       limit,
                                     GError    **error)
{
  g_autoptr(QsTrainData) data = NULL;
  gsize shape[QS_TENSOR_MAX_DIMS], size = 1;
  guint rank, n;

  g_return_val_if_fail (QS_IS_DATASET (dataset), NULL);
  g_return_val_if_fail (QS_IS_MODEL (model), NULL);

  n = qs_dataset_get_n_images (dataset);
  if (limit > 0)
    n = MIN (n, limit);
  rank = qs_model_get_input_shape (model, shape);
  for (guint i = 0; i < rank; i++)
    size *= shape[i];
  if (n == 0 || size == 0)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                   _("The dataset “%s” has no images to train on"),
                   qs_dataset_get_name (dataset));
      return NULL;
    }
  data = g_new0 (QsTrainData, 1);
  data->n_images = n;
  data->image_size = size;
  data->n_classes = qs_dataset_get_n_classes (dataset);
  data->labels = g_malloc (n);
  data->inputs = g_try_malloc ((gsize) n * size * sizeof (float));
  if (data->inputs == NULL)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                   _("The %u training images of “%s” do not fit in memory; train on fewer (--limit)"),
                   n, qs_dataset_get_name (dataset));
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    {
      gint label = qs_dataset_get_label (dataset, i);

      if (label < 0 || label > 255)
        {
          g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                       _("Image %u of the dataset “%s” has the invalid label %d"),
                       i, qs_dataset_get_name (dataset), label);
          return NULL;
        }
      data->labels[i] = (guint8) label;
    }
  if (!qs_dataset_fill_inputs (dataset, model, 0, n, data->inputs, error))
    return NULL;
  return g_steal_pointer (&data);
}

void
qs_train_data_free (QsTrainData *data)
{
  if (data == NULL)
    return;
  g_free (data->pixels);
  g_free (data->inputs);
  g_free (data->labels);
  g_free (data);
}

guint
qs_train_data_get_n_images (QsTrainData *data)
{
  return data->n_images;
}

gsize
qs_train_data_get_image_size (QsTrainData *data)
{
  return data->image_size;
}

static inline void
fill_image (QsTrainData *data,
            guint        index,
            float       *out)
{
  const guint8 *p;

  if (data->inputs != NULL)
    {
      memcpy (out, data->inputs + (gsize) index * data->image_size, data->image_size * sizeof (float));
      return;
    }
  p = data->pixels + (gsize) index * data->image_size;
  /* The same arithmetic as qs_dataset_fill_inputs(), so the trainer sees the very inputs
   * the engines see. */
  if (data->scale == 1.0f / 255.0f && data->offset == 0.0f)
    for (gsize i = 0; i < data->image_size; i++)
      out[i] = (float) p[i] / 255.0f;
  else
    for (gsize i = 0; i < data->image_size; i++)
      out[i] = (float) p[i] * data->scale + data->offset;
}

void
qs_train_data_fill (QsTrainData *data,
                    guint        start,
                    guint        count,
                    float       *out)
{
  g_return_if_fail (data != NULL);
  g_return_if_fail ((guint64) start + count <= data->n_images);

  for (guint i = 0; i < count; i++)
    fill_image (data, start + i, out + (gsize) i * data->image_size);
}

/* --- options --- */

void
qs_train_options_init (QsTrainOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->epochs = 1;
  options->batch_size = 64;
  options->optimizer = QS_OPTIMIZER_ADAM;
  options->learning_rate = 1e-3;
  options->momentum = 0.9;
  options->beta1 = 0.9;
  options->beta2 = 0.999;
  options->epsilon = 1e-7;
  options->seed = 1;
}

/* --- building --- */

QsTrainNet *
_qs_train_net_new (void)
{
  QsTrainNet *net = g_new0 (QsTrainNet, 1);

  net->nodes = g_ptr_array_new ();
  net->param_list = g_ptr_array_new ();
  net->ema_decay = 0.99f;
  net->input_rank = 3;
  return net;
}

static void
node_free_buffers (QsTNode *node)
{
  g_clear_pointer (&node->out, qs_aligned_free);
  g_clear_pointer (&node->grad, qs_aligned_free);
  g_clear_pointer (&node->mask, g_free);
  g_clear_pointer (&node->quant.clip_mask, g_free);
}

static void
node_free (QsTNode *node)
{
  node_free_buffers (node);
  g_free (node->name);
  g_free (node->class_name);
  g_free (node->moving_mean);
  g_free (node->moving_var);
  g_free (node->bn_sum);
  g_free (node->bn_sum2);
  g_free (node->bn_mean);
  g_free (node->bn_invstd);
  g_free (node->quant.kernel_q);
  g_free (node->quant.weight_scale);
  g_free (node->quant.value_name);
  g_clear_pointer (&node->quant.act_params, qs_quant_params_unref);
  g_free (node);
}

static void
param_free (QsTParam *param)
{
  g_free (param->name);
  g_free (param);
}

void
qs_train_net_free (QsTrainNet *net)
{
  if (net == NULL)
    return;
  for (guint i = 0; i < net->nodes->len; i++)
    node_free (g_ptr_array_index (net->nodes, i));
  g_ptr_array_unref (net->nodes);
  for (guint i = 0; i < net->param_list->len; i++)
    param_free (g_ptr_array_index (net->param_list, i));
  g_ptr_array_unref (net->param_list);
  qs_aligned_free (net->params);
  qs_aligned_free (net->opt_m);
  qs_aligned_free (net->opt_v);
  qs_aligned_free (net->grad);
  for (guint i = 0; i < QS_TRAIN_MAX_CHUNKS && net->chunk_grads != NULL; i++)
    qs_aligned_free (net->chunk_grads[i]);
  g_free (net->chunk_grads);
  g_free (net->chunk_loss);
  g_free (net->chunk_correct);
  g_clear_object (&net->qat_config);
  g_free (net->arch);
  g_free (net);
}

QsTNode *
_qs_train_net_add_node (QsTrainNet  *net,
                        QsTNodeKind  kind,
                        const char  *name,
                        guint        n_inputs,
                        const guint *inputs)
{
  QsTNode *node = g_new0 (QsTNode, 1);

  g_assert (n_inputs <= 2);
  node->kind = kind;
  node->name = g_strdup (name);
  node->index = net->nodes->len;
  node->n_inputs = n_inputs;
  for (guint i = 0; i < n_inputs; i++)
    {
      g_assert (inputs[i] < net->nodes->len);
      node->inputs[i] = inputs[i];
    }
  node->kh = node->kw = node->sh = node->sw = 1;
  node->mult = 1;
  node->act = QS_ACTIVATION_LINEAR;
  node->relu_max = -1.0f;
  node->bn_momentum = 0.99f;
  node->bn_eps = 1e-3f;
  node->p_kernel = node->p_bias = node->p_gamma = node->p_beta = -1;
  node->quant.source = -1;
  node->quant.requant_layer = -1;
  node->quant.in_source[0] = node->quant.in_source[1] = -1;
  g_ptr_array_add (net->nodes, node);
  return node;
}

gint
_qs_train_net_add_param (QsTrainNet     *net,
                         const char     *layer,
                         const char     *short_name,
                         guint           n_dims,
                         const gsize    *shape,
                         QsTensorLayout  layout)
{
  QsTParam *p = g_new0 (QsTParam, 1);

  p->name = g_strdup_printf ("%s/%s", layer, short_name);
  p->n_dims = n_dims;
  p->size = 1;
  for (guint i = 0; i < n_dims; i++)
    {
      p->shape[i] = shape[i];
      p->size *= shape[i];
    }
  p->layout = layout;
  p->offset = net->n_params;
  /* Keep every tensor 64-byte aligned inside the flat vector. */
  net->n_params += (p->size + 15) & ~(gsize) 15;
  g_ptr_array_add (net->param_list, p);
  return (gint) net->param_list->len - 1;
}

static gboolean
window_geometry (QsTNode  *node,
                 QsTNode  *in,
                 guint     k_h,
                 guint     k_w,
                 GError  **error)
{
  if (node->padding == QS_PADDING_SAME)
    {
      gsize th, tw;

      node->h = (in->h + node->sh - 1) / node->sh;
      node->w = (in->w + node->sw - 1) / node->sw;
      th = (node->h - 1) * node->sh + k_h;
      tw = (node->w - 1) * node->sw + k_w;
      node->pad_top = th > in->h ? (guint) (th - in->h) / 2 : 0;
      node->pad_left = tw > in->w ? (guint) (tw - in->w) / 2 : 0;
    }
  else
    {
      if (in->h < k_h || in->w < k_w)
        {
          g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                       _("Layer “%s”: the window %u × %u is larger than its %zu × %zu input"),
                       node->name, k_h, k_w, in->h, in->w);
          return FALSE;
        }
      node->h = (in->h - k_h) / node->sh + 1;
      node->w = (in->w - k_w) / node->sw + 1;
      node->pad_top = node->pad_left = 0;
    }
  return TRUE;
}

gboolean
_qs_train_net_finish (QsTrainNet  *net,
                      GError     **error)
{
  g_assert (net->params == NULL);

  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);
      QsTNode *in = node->n_inputs > 0 ? g_ptr_array_index (net->nodes, node->inputs[0]) : NULL;
      gsize shape[4];

      if ((i == 0) != (node->kind == QS_TNODE_INPUT) || (in == NULL && i > 0))
        {
          g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_UNSUPPORTED,
                       _("Layer “%s”: the trainer needs exactly one input layer, first"),
                       node->name);
          return FALSE;
        }

      switch (node->kind)
        {
        case QS_TNODE_INPUT:
          net->input_h = node->h;
          net->input_w = node->w;
          net->input_c = node->c;
          break;
        case QS_TNODE_DENSE:
          node->h = node->w = 1;
          shape[0] = in->size;
          shape[1] = node->c;
          node->p_kernel = _qs_train_net_add_param (net, node->name, "kernel", 2, shape,
                                                    QS_TENSOR_LAYOUT_DENSE);
          break;
        case QS_TNODE_CONV2D:
          if (!window_geometry (node, in, node->kh, node->kw, error))
            return FALSE;
          shape[0] = node->kh;
          shape[1] = node->kw;
          shape[2] = in->c;
          shape[3] = node->c;
          node->p_kernel = _qs_train_net_add_param (net, node->name, "kernel", 4, shape,
                                                    QS_TENSOR_LAYOUT_CONV2D);
          break;
        case QS_TNODE_DEPTHWISE:
          if (!window_geometry (node, in, node->kh, node->kw, error))
            return FALSE;
          node->c = in->c * node->mult;
          shape[0] = node->kh;
          shape[1] = node->kw;
          shape[2] = in->c;
          shape[3] = node->mult;
          node->p_kernel = _qs_train_net_add_param (net, node->name, "depthwise_kernel", 4,
                                                    shape, QS_TENSOR_LAYOUT_DEPTHWISE);
          break;
        case QS_TNODE_MAX_POOL:
        case QS_TNODE_AVG_POOL:
          if (!window_geometry (node, in, node->kh, node->kw, error))
            return FALSE;
          node->c = in->c;
          break;
        case QS_TNODE_GLOBAL_AVG_POOL:
          node->h = node->w = 1;
          node->c = in->c;
          break;
        case QS_TNODE_BATCH_NORM:
          node->h = in->h;
          node->w = in->w;
          node->c = in->c;
          shape[0] = node->c;
          node->p_gamma = _qs_train_net_add_param (net, node->name, "gamma", 1, shape,
                                                   QS_TENSOR_LAYOUT_VECTOR);
          node->p_beta = _qs_train_net_add_param (net, node->name, "beta", 1, shape,
                                                  QS_TENSOR_LAYOUT_VECTOR);
          node->moving_mean = g_new0 (float, node->c);
          node->moving_var = g_new (float, node->c);
          for (gsize ch = 0; ch < node->c; ch++)
            node->moving_var[ch] = 1.0f;
          node->bn_sum = g_new0 (double, (QS_TRAIN_MAX_CHUNKS + 1) * node->c);
          node->bn_sum2 = g_new0 (double, (QS_TRAIN_MAX_CHUNKS + 1) * node->c);
          node->bn_mean = g_new0 (float, node->c);
          node->bn_invstd = g_new0 (float, node->c);
          break;
        case QS_TNODE_ADD:
          {
            QsTNode *b = g_ptr_array_index (net->nodes, node->inputs[1]);

            if (in->h != b->h || in->w != b->w || in->c != b->c)
              {
                g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                             _("Layer “%s”: the inputs %zu × %zu × %zu and %zu × %zu × %zu of "
                               "Add differ"),
                             node->name, in->h, in->w, in->c, b->h, b->w, b->c);
                return FALSE;
              }
          }
          G_GNUC_FALLTHROUGH;
        case QS_TNODE_ACTIVATION:
        case QS_TNODE_DROPOUT:
          node->h = in->h;
          node->w = in->w;
          node->c = in->c;
          break;
        case QS_TNODE_FLATTEN:
          node->h = node->w = 1;
          node->c = in->size;
          break;
        default:
          g_assert_not_reached ();
        }

      if (node->use_bias && node->p_kernel >= 0)
        {
          shape[0] = node->c;
          node->p_bias = _qs_train_net_add_param (net, node->name, "bias", 1, shape,
                                                  QS_TENSOR_LAYOUT_VECTOR);
        }
      node->size = node->h * node->w * node->c;
      if (node->size == 0 || node->size > ((gsize) 1 << 24))
        {
          g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                       _("Layer “%s”: the output size %zu × %zu × %zu is not trainable here"),
                       node->name, node->h, node->w, node->c);
          return FALSE;
        }

      node->needs_grad = node->p_kernel >= 0 || node->p_gamma >= 0;
      for (guint k = 0; k < node->n_inputs; k++)
        node->needs_grad |= ((QsTNode *) g_ptr_array_index (net->nodes, node->inputs[k]))->needs_grad;
    }

  {
    QsTNode *last = g_ptr_array_index (net->nodes, net->nodes->len - 1);

    net->n_classes = (guint) last->size;
    if (net->nodes->len < 2 || last->h != 1 || last->w != 1 || !last->needs_grad)
      {
        g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_UNSUPPORTED,
                     _("Layer “%s”: the last layer must give one score per class"),
                     last->name);
        return FALSE;
      }
  }

  net->params = qs_aligned_alloc0 (MAX (net->n_params, 1) * sizeof (float));
  net->opt_m = qs_aligned_alloc0 (MAX (net->n_params, 1) * sizeof (float));
  net->opt_v = qs_aligned_alloc0 (MAX (net->n_params, 1) * sizeof (float));
  net->grad = qs_aligned_alloc0 (MAX (net->n_params, 1) * sizeof (float));
  net->chunk_grads = g_new0 (float *, QS_TRAIN_MAX_CHUNKS);
  for (guint i = 0; i < QS_TRAIN_MAX_CHUNKS; i++)
    net->chunk_grads[i] = qs_aligned_alloc0 (MAX (net->n_params, 1) * sizeof (float));
  net->chunk_loss = g_new0 (double, QS_TRAIN_MAX_CHUNKS);
  net->chunk_correct = g_new0 (guint, QS_TRAIN_MAX_CHUNKS);
  return TRUE;
}

void
_qs_train_net_init_weights (QsTrainNet *net,
                            guint64     seed)
{
  net->seed = seed;
  memset (net->params, 0, net->n_params * sizeof (float));
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);
      QsTNode *in = node->n_inputs > 0 ? g_ptr_array_index (net->nodes, node->inputs[0]) : NULL;
      double fan_in = 0, fan_out = 0;

      switch (node->kind)
        {
        case QS_TNODE_DENSE:
          fan_in = in->size;
          fan_out = node->c;
          break;
        case QS_TNODE_CONV2D:
          fan_in = (double) node->kh * node->kw * in->c;
          fan_out = (double) node->kh * node->kw * node->c;
          break;
        case QS_TNODE_DEPTHWISE:
          /* Each output channel sees one input channel. */
          fan_in = (double) node->kh * node->kw;
          fan_out = (double) node->kh * node->kw * node->mult;
          break;
        case QS_TNODE_BATCH_NORM:
          {
            float *gamma = net->params + ((QsTParam *) g_ptr_array_index (net->param_list, node->p_gamma))->offset;

            for (gsize ch = 0; ch < node->c; ch++)
              {
                gamma[ch] = 1.0f;
                node->moving_mean[ch] = 0.0f;
                node->moving_var[ch] = 1.0f;
              }
          }
          break;
        default:
          break;
        }

      if (node->p_kernel >= 0)
        {
          QsTParam *p = g_ptr_array_index (net->param_list, node->p_kernel);
          double limit = sqrt (6.0 / (fan_in + fan_out));
          guint64 state = _qs_train_hash (seed, (guint64) node->p_kernel);

          for (gsize k = 0; k < p->size; k++)
            net->params[p->offset + k] = (float) ((2.0 * _qs_train_rand_uniform (&state) - 1.0) * limit);
        }
    }
  memset (net->opt_m, 0, net->n_params * sizeof (float));
  memset (net->opt_v, 0, net->n_params * sizeof (float));
  net->opt_step = 0;
}

gboolean
_qs_train_net_reserve (QsTrainNet  *net,
                       gsize        batch,
                       GError     **error)
{
  if (batch <= net->batch_capacity)
    return TRUE;

  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);
      gsize n;

      if (!qs_size_mul (batch, node->size, &n) || n > ((gsize) 1 << 31))
        {
          g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                       _("Layer “%s”: a batch of %zu images needs too much memory"),
                       node->name, batch);
          return FALSE;
        }
      node_free_buffers (node);
      node->out = qs_aligned_alloc0 (n * sizeof (float));
      node->grad = qs_aligned_alloc0 (n * sizeof (float));
      if (node->kind == QS_TNODE_DROPOUT)
        node->mask = g_malloc0 (n);
      if (node->quant.output)
        node->quant.clip_mask = g_malloc0 (n);
    }
  net->batch_capacity = batch;
  return TRUE;
}

/* --- passes --- */

static inline void
chunk_range (gsize  batch,
             guint  n_chunks,
             guint  chunk,
             gsize *s0,
             gsize *s1)
{
  *s0 = batch * chunk / n_chunks;
  *s1 = batch * (chunk + 1) / n_chunks;
}

typedef struct
{
  QsTrainNet   *net;
  gsize         batch;
  guint         first;       /* node range [first, last) */
  guint         last;
  gboolean      training;
  guint64       noise_seed;
  QsTNode      *node;
  gboolean      centered;
  const guint8 *labels;
  gboolean      want_grad;
  gsize         p0;          /* parameter slices */
  gsize         p_step;
  double        lr;
} PassJob;

static gboolean
is_batch_stats_bn (QsTrainNet *net,
                   QsTNode    *node,
                   gboolean    training)
{
  return node->kind == QS_TNODE_BATCH_NORM && training && !net->qat;
}

static void
forward_segment_chunk (gsize    chunk,
                       guint    thread_index G_GNUC_UNUSED,
                       gpointer data)
{
  PassJob *job = data;
  gsize s0, s1;

  chunk_range (job->batch, job->net->n_chunks, chunk, &s0, &s1);
  for (guint i = job->first; i < job->last; i++)
    _qs_tnode_forward (job->net, g_ptr_array_index (job->net->nodes, i), chunk, s0, s1,
                       job->training, job->noise_seed);
}

static void
bn_sums_chunk (gsize    chunk,
               guint    thread_index G_GNUC_UNUSED,
               gpointer data)
{
  PassJob *job = data;
  gsize s0, s1;

  chunk_range (job->batch, job->net->n_chunks, chunk, &s0, &s1);
  _qs_tnode_bn_partial_sums (job->net, job->node, chunk, s0, s1, job->centered);
}

static void
bn_forward_batch_stats (QsTrainNet *net,
                        QsTNode    *node,
                        PassJob    *job)
{
  double count = (double) job->batch * node->h * node->w;

  job->node = node;
  job->centered = FALSE;
  qs_parallel_for (net->n_chunks, net->n_threads, bn_sums_chunk, job, NULL, NULL);
  for (gsize ch = 0; ch < node->c; ch++)
    {
      double sum = 0;

      for (guint k = 0; k < net->n_chunks; k++)
        sum += node->bn_sum[k * node->c + ch];
      node->bn_mean[ch] = (float) (sum / count);
    }
  job->centered = TRUE;
  qs_parallel_for (net->n_chunks, net->n_threads, bn_sums_chunk, job, NULL, NULL);
  for (gsize ch = 0; ch < node->c; ch++)
    {
      double sum = 0, var, unbiased;

      for (guint k = 0; k < net->n_chunks; k++)
        sum += node->bn_sum2[k * node->c + ch];
      var = sum / count;
      /* Moving variance with Bessel's correction, as TensorFlow's fused BatchNorm. */
      unbiased = count > 1 ? sum / (count - 1) : var;
      node->bn_invstd[ch] = (float) (1.0 / sqrt (var + node->bn_eps));
      node->moving_mean[ch] = node->bn_momentum * node->moving_mean[ch]
                              + (1.0f - node->bn_momentum) * node->bn_mean[ch];
      node->moving_var[ch] = node->bn_momentum * node->moving_var[ch]
                             + (1.0f - node->bn_momentum) * (float) unbiased;
    }
  job->first = node->index;
  job->last = node->index + 1;
  qs_parallel_for (net->n_chunks, net->n_threads, forward_segment_chunk, job, NULL, NULL);
}

static void
set_n_threads (QsTrainNet *net,
             guint       n_threads)
{
  if (n_threads == 0)
    n_threads = g_get_num_processors ();
  net->n_threads = n_threads;
}

void
_qs_train_net_forward (QsTrainNet  *net,
                       const float *inputs,
                       gsize        batch,
                       gboolean     training,
                       guint64      noise_seed)
{
  QsTNode *input = g_ptr_array_index (net->nodes, 0);
  PassJob job = { net, batch, 0, 0, training, noise_seed };
  guint i = 0;

  g_assert (batch > 0 && batch <= net->batch_capacity);
  set_n_threads (net, net->n_threads);
  net->n_chunks = (guint) MIN (batch, QS_TRAIN_MAX_CHUNKS);

  memcpy (input->out, inputs, batch * input->size * sizeof (float));

  while (i < net->nodes->len)
    {
      guint j = i;

      while (j < net->nodes->len
             && !is_batch_stats_bn (net, g_ptr_array_index (net->nodes, j), training))
        j++;
      if (j > i)
        {
          job.first = i;
          job.last = j;
          qs_parallel_for (net->n_chunks, net->n_threads, forward_segment_chunk, &job, NULL, NULL);
        }
      if (j < net->nodes->len)
        bn_forward_batch_stats (net, g_ptr_array_index (net->nodes, j), &job);
      i = j + 1;
    }
}

static void
loss_chunk (gsize    chunk,
            guint    thread_index G_GNUC_UNUSED,
            gpointer data)
{
  PassJob *job = data;
  QsTrainNet *net = job->net;
  QsTNode *last = g_ptr_array_index (net->nodes, net->nodes->len - 1);
  gsize k = last->size, s0, s1;
  double loss = 0;
  guint correct = 0;

  chunk_range (job->batch, net->n_chunks, chunk, &s0, &s1);
  for (gsize s = s0; s < s1; s++)
    {
      const float *z = last->out + s * k;
      float *g = last->grad + s * k;
      guint label = job->labels[s];
      double max = z[0], sum = 0, lse;
      gsize argmax = 0;

      for (gsize j = 1; j < k; j++)
        if (z[j] > max)
          {
            max = z[j];
            argmax = j;
          }
      for (gsize j = 0; j < k; j++)
        sum += exp ((double) z[j] - max);
      lse = max + log (sum);
      loss += lse - z[label];
      correct += argmax == label;
      if (job->want_grad)
        for (gsize j = 0; j < k; j++)
          g[j] = (float) ((exp ((double) z[j] - lse) - (j == label)) / (double) job->batch);
    }
  net->chunk_loss[chunk] = loss;
  net->chunk_correct[chunk] = correct;
}

double
_qs_train_net_loss (QsTrainNet   *net,
                    const guint8 *labels,
                    gsize         batch,
                    gboolean      want_grad,
                    guint        *correct)
{
  PassJob job = { net, batch };
  double loss = 0;
  guint hits = 0;

  job.labels = labels;
  job.want_grad = want_grad;
  qs_parallel_for (net->n_chunks, net->n_threads, loss_chunk, &job, NULL, NULL);
  for (guint c = 0; c < net->n_chunks; c++)
    {
      loss += net->chunk_loss[c];
      hits += net->chunk_correct[c];
    }
  if (correct != NULL)
    *correct = hits;
  return loss;
}

static void
backward_zero_chunk (gsize    chunk,
                     guint    thread_index G_GNUC_UNUSED,
                     gpointer data)
{
  PassJob *job = data;
  QsTrainNet *net = job->net;
  gsize s0, s1;

  chunk_range (job->batch, net->n_chunks, chunk, &s0, &s1);
  memset (net->chunk_grads[chunk], 0, net->n_params * sizeof (float));
  for (guint i = 0; i + 1 < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);

      if (node->needs_grad)
        memset (node->grad + s0 * node->size, 0, (s1 - s0) * node->size * sizeof (float));
    }
}

static void
backward_segment_chunk (gsize    chunk,
                        guint    thread_index G_GNUC_UNUSED,
                        gpointer data)
{
  PassJob *job = data;
  QsTrainNet *net = job->net;
  gsize s0, s1;

  chunk_range (job->batch, net->n_chunks, chunk, &s0, &s1);
  for (guint i = job->last; i > job->first; i--)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i - 1);

      if (node->needs_grad)
        _qs_tnode_backward (net, node, s0, s1, job->batch, job->training,
                            net->chunk_grads[chunk]);
    }
}

static void
bn_backward_sums_chunk (gsize    chunk,
                        guint    thread_index G_GNUC_UNUSED,
                        gpointer data)
{
  PassJob *job = data;
  gsize s0, s1;

  chunk_range (job->batch, job->net->n_chunks, chunk, &s0, &s1);
  _qs_tnode_bn_backward_sums (job->net, job->node, chunk, s0, s1);
}

static void
reduce_chunk (gsize    slice,
              guint    thread_index G_GNUC_UNUSED,
              gpointer data)
{
  PassJob *job = data;
  QsTrainNet *net = job->net;
  gsize p0 = slice * job->p_step, p1 = MIN (net->n_params, p0 + job->p_step);

  for (gsize k = p0; k < p1; k++)
    {
      float sum = net->chunk_grads[0][k];

      for (guint c = 1; c < net->n_chunks; c++)
        sum += net->chunk_grads[c][k];
      net->grad[k] = sum;
    }
}

#define N_SLICES 16

void
_qs_train_net_backward (QsTrainNet *net,
                        gsize       batch)
{
  PassJob job = { net, batch };
  gint i = (gint) net->nodes->len - 1;

  job.training = TRUE;
  qs_parallel_for (net->n_chunks, net->n_threads, backward_zero_chunk, &job, NULL, NULL);

  while (i >= 1)
    {
      gint j = i;

      while (j >= 1 && !is_batch_stats_bn (net, g_ptr_array_index (net->nodes, j), TRUE))
        j--;
      if (j < i)
        {
          job.first = (guint) j + 1;
          job.last = (guint) i + 1;
          qs_parallel_for (net->n_chunks, net->n_threads, backward_segment_chunk, &job, NULL, NULL);
        }
      if (j >= 1)
        {
          QsTNode *node = g_ptr_array_index (net->nodes, j);
          float *ggamma = net->chunk_grads[0]
                          + ((QsTParam *) g_ptr_array_index (net->param_list, node->p_gamma))->offset;
          float *gbeta = net->chunk_grads[0]
                         + ((QsTParam *) g_ptr_array_index (net->param_list, node->p_beta))->offset;
          gsize c = node->c;

          job.node = node;
          qs_parallel_for (net->n_chunks, net->n_threads, bn_backward_sums_chunk, &job, NULL, NULL);
          for (gsize ch = 0; ch < c; ch++)
            {
              double sg = 0, sgx = 0;

              for (guint k = 0; k < net->n_chunks; k++)
                {
                  sg += node->bn_sum[k * c + ch];
                  sgx += node->bn_sum2[k * c + ch];
                }
              node->bn_sum[net->n_chunks * c + ch] = sg;
              node->bn_sum2[net->n_chunks * c + ch] = sgx;
              gbeta[ch] += (float) sg;
              ggamma[ch] += (float) sgx;
            }
          job.first = (guint) j;
          job.last = (guint) j + 1;
          qs_parallel_for (net->n_chunks, net->n_threads, backward_segment_chunk, &job, NULL, NULL);
        }
      i = j - 1;
    }

  job.p_step = (net->n_params + N_SLICES - 1) / N_SLICES;
  job.p_step = MAX ((job.p_step + 15) & ~(gsize) 15, 16);
  qs_parallel_for ((net->n_params + job.p_step - 1) / job.p_step, net->n_threads, reduce_chunk, &job,
                   NULL, NULL);
}

double
_qs_train_net_loss_and_grad (QsTrainNet   *net,
                             const float  *inputs,
                             const guint8 *labels,
                             gsize         batch,
                             guint64       noise_seed)
{
  double loss;

  if (!_qs_train_net_reserve (net, batch, NULL))
    g_error ("batch too large");
  if (net->qat)
    _qs_train_net_quantize_weights (net, NULL);
  _qs_train_net_forward (net, inputs, batch, TRUE, noise_seed);
  loss = _qs_train_net_loss (net, labels, batch, TRUE, NULL);
  _qs_train_net_backward (net, batch);
  return loss / batch;
}

/* --- optimizer --- */

typedef struct
{
  QsTrainNet           *net;
  const QsTrainOptions *options;
  double                lr;
  gsize                 p_step;
} StepJob;

static void
step_chunk (gsize    slice,
            guint    thread_index G_GNUC_UNUSED,
            gpointer data)
{
  StepJob *job = data;
  QsTrainNet *net = job->net;
  const QsTrainOptions *o = job->options;
  gsize p0 = slice * job->p_step, p1 = MIN (net->n_params, p0 + job->p_step);

  if (o->optimizer == QS_OPTIMIZER_ADAM)
    {
      double t = (double) net->opt_step;
      float lr_t = (float) (job->lr * sqrt (1.0 - pow (o->beta2, t)) / (1.0 - pow (o->beta1, t)));
      float b1 = (float) o->beta1, b2 = (float) o->beta2, eps = (float) o->epsilon;

      for (gsize k = p0; k < p1; k++)
        {
          float g = net->grad[k];

          net->opt_m[k] = b1 * net->opt_m[k] + (1.0f - b1) * g;
          net->opt_v[k] = b2 * net->opt_v[k] + (1.0f - b2) * g * g;
          net->params[k] -= lr_t * net->opt_m[k] / (sqrtf (net->opt_v[k]) + eps);
        }
    }
  else
    {
      float lr = (float) job->lr, mu = (float) o->momentum;

      for (gsize k = p0; k < p1; k++)
        {
          net->opt_m[k] = mu * net->opt_m[k] - lr * net->grad[k];
          net->params[k] += net->opt_m[k];
        }
    }
}

static void
optimizer_step (QsTrainNet           *net,
                const QsTrainOptions *options,
                double                lr)
{
  StepJob job = { net, options, lr };

  net->opt_step++;
  job.p_step = (net->n_params + N_SLICES - 1) / N_SLICES;
  job.p_step = MAX ((job.p_step + 15) & ~(gsize) 15, 16);
  qs_parallel_for ((net->n_params + job.p_step - 1) / job.p_step, net->n_threads, step_chunk, &job,
                   NULL, NULL);
}

/* --- checkpoints: parameters, optimizer state, BatchNorm statistics, QAT ranges --- */

#define CHECKPOINT_MAGIC "QSTRAIN-CKPT-v1"

static guint64
net_fingerprint (QsTrainNet           *net,
                 const QsTrainOptions *options)
{
  guint64 h = _qs_train_hash (options->seed, options->batch_size);

  h = _qs_train_hash (h, ((guint64) options->optimizer << 1) | (guint64) net->qat);
  h = _qs_train_hash (h, (guint64) (options->learning_rate * 1e9));
  h = _qs_train_hash (h, options->epochs);
  h = _qs_train_hash (h, options->cosine_decay);
  for (guint i = 0; i < net->param_list->len; i++)
    {
      QsTParam *p = g_ptr_array_index (net->param_list, i);

      h = _qs_train_hash (h, g_str_hash (p->name));
      h = _qs_train_hash (h, p->size);
    }
  return h;
}

static void
append_floats (GByteArray  *bytes,
               const float *values,
               gsize        n)
{
  g_byte_array_append (bytes, (const guint8 *) values, (guint) (n * sizeof (float)));
}

static gboolean
save_checkpoint (QsTrainNet           *net,
                 const QsTrainOptions *options,
                 guint                 epochs_done,
                 GError              **error)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  guint64 header[4] = { net_fingerprint (net, options), epochs_done, net->opt_step, net->n_params };

  g_byte_array_append (bytes, (const guint8 *) CHECKPOINT_MAGIC, sizeof CHECKPOINT_MAGIC);
  g_byte_array_append (bytes, (const guint8 *) header, sizeof header);
  append_floats (bytes, net->params, net->n_params);
  append_floats (bytes, net->opt_m, net->n_params);
  append_floats (bytes, net->opt_v, net->n_params);
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);

      if (node->kind == QS_TNODE_BATCH_NORM)
        {
          append_floats (bytes, node->moving_mean, node->c);
          append_floats (bytes, node->moving_var, node->c);
        }
      if (_qs_tnode_owns_range (node))
        {
          float range[3] = { node->quant.range_lo, node->quant.range_hi, node->quant.range_init };

          append_floats (bytes, range, 3);
        }
    }
  if (!g_file_set_contents (options->checkpoint, (const char *) bytes->data, bytes->len, error))
    return FALSE;
  return TRUE;
}

static gboolean
read_floats (const guint8 **p,
             const guint8  *end,
             float         *values,
             gsize          n)
{
  if ((gsize) (end - *p) < n * sizeof (float))
    return FALSE;
  memcpy (values, *p, n * sizeof (float));
  *p += n * sizeof (float);
  return TRUE;
}

/* Returns the number of finished epochs in *epochs_done (0 when there is no checkpoint). */
static gboolean
load_checkpoint (QsTrainNet           *net,
                 const QsTrainOptions *options,
                 guint                *epochs_done,
                 GError              **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  const guint8 *p, *end;
  guint64 header[4];
  gsize length;

  *epochs_done = 0;
  if (!g_file_get_contents (options->checkpoint, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  p = (const guint8 *) contents;
  end = p + length;
  if (length < sizeof CHECKPOINT_MAGIC + sizeof header
      || memcmp (p, CHECKPOINT_MAGIC, sizeof CHECKPOINT_MAGIC) != 0)
    goto corrupt;
  p += sizeof CHECKPOINT_MAGIC;
  memcpy (header, p, sizeof header);
  p += sizeof header;
  if (header[0] != net_fingerprint (net, options) || header[3] != net->n_params)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_CHECKPOINT,
                   _("The checkpoint “%s” belongs to another model or other training options; "
                     "delete it to start over"),
                   options->checkpoint);
      return FALSE;
    }
  if (header[1] > options->epochs)
    goto corrupt;
  if (!read_floats (&p, end, net->params, net->n_params)
      || !read_floats (&p, end, net->opt_m, net->n_params)
      || !read_floats (&p, end, net->opt_v, net->n_params))
    goto corrupt;
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);

      if (node->kind == QS_TNODE_BATCH_NORM
          && (!read_floats (&p, end, node->moving_mean, node->c)
              || !read_floats (&p, end, node->moving_var, node->c)))
        goto corrupt;
      if (_qs_tnode_owns_range (node))
        {
          float range[3];

          if (!read_floats (&p, end, range, 3))
            goto corrupt;
          node->quant.range_lo = range[0];
          node->quant.range_hi = range[1];
          node->quant.range_init = range[2] != 0.0f;
        }
    }
  if (p != end)
    goto corrupt;
  net->opt_step = header[2];
  *epochs_done = (guint) header[1];
  return TRUE;

corrupt:
  g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_CHECKPOINT,
               _("The checkpoint “%s” is damaged; delete it to start over"), options->checkpoint);
  return FALSE;
}

/* --- fitting --- */

static gboolean
check_data (QsTrainNet   *net,
            QsTrainData  *data,
            GError      **error)
{
  gsize input_size = net->input_h * net->input_w * net->input_c;

  if (data->image_size != input_size)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                   _("The images have %zu values but the model’s input %zu × %zu × %zu needs %zu"),
                   data->image_size, net->input_h, net->input_w, net->input_c, input_size);
      return FALSE;
    }
  for (guint i = 0; i < data->n_images; i++)
    if (data->labels[i] >= net->n_classes)
      {
        g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                     _("Image %u has label %u but the model has only %u classes"),
                     i, data->labels[i], net->n_classes);
        return FALSE;
      }
  return TRUE;
}

static gboolean
set_cancelled (GCancellable  *cancellable,
               GError       **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Training was cancelled"));
  return TRUE;
}

gboolean
qs_train_net_fit (QsTrainNet           *net,
                  QsTrainData          *data,
                  const QsTrainOptions *options,
                  QsTrainProgressFunc   progress,
                  gpointer              user_data,
                  GCancellable         *cancellable,
                  GError              **error)
{
  gsize input_size, bs;
  guint n_batches, epochs_done = 0;
  g_autofree guint *order = NULL;
  g_autofree float *inputs = NULL;
  g_autofree guint8 *labels = NULL;
  guint64 total_steps;

  g_return_val_if_fail (net != NULL, FALSE);
  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (options != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (options->batch_size == 0 || options->batch_size > 4096 || options->epochs == 0
      || options->epochs > 10000 || !(options->learning_rate > 0) || options->learning_rate > 10)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
                   _("Invalid training options: batch size %u, %u epochs, learning rate %g"),
                   options->batch_size, options->epochs, options->learning_rate);
      return FALSE;
    }
  if (!check_data (net, data, error))
    return FALSE;

  input_size = data->image_size;
  bs = MIN (options->batch_size, data->n_images);
  n_batches = (guint) ((data->n_images + bs - 1) / bs);
  if (options->max_batches > 0)
    n_batches = MIN (n_batches, options->max_batches);
  total_steps = (guint64) n_batches * options->epochs;

  if (!_qs_train_net_reserve (net, bs, error))
    return FALSE;
  set_n_threads (net, options->n_threads);
  if (options->checkpoint != NULL && !load_checkpoint (net, options, &epochs_done, error))
    return FALSE;
  if (net->qat && !_qs_train_net_apply_ranges (net, error))
    return FALSE;

  order = g_new (guint, data->n_images);
  inputs = g_new (float, bs * input_size);
  labels = g_new (guint8, bs);

  if (net->qat && !_qs_train_net_init_ranges (net, error))
    return FALSE;

  for (guint epoch = 0; epoch < options->epochs; epoch++)
    {
      guint64 state = _qs_train_hash (options->seed, G_GUINT64_CONSTANT (0x5eed0000) + epoch);
      gint64 t0 = g_get_monotonic_time ();
      double loss_sum = 0;
      guint64 seen = 0, hits = 0;

      if (epoch < epochs_done)
        {
          if (progress != NULL)
            {
              QsTrainProgress p = { epoch, options->epochs, n_batches, n_batches, NAN, NAN,
                                    (double) (epoch + 1) / options->epochs, 0, TRUE };

              progress (&p, user_data);
            }
          continue;
        }

      for (guint i = 0; i < data->n_images; i++)
        order[i] = i;
      for (guint i = data->n_images - 1; i > 0; i--)
        {
          guint j = (guint) (_qs_train_rand_next (&state) % (i + 1));
          guint tmp = order[i];

          order[i] = order[j];
          order[j] = tmp;
        }

      for (guint b = 0; b < n_batches; b++)
        {
          gsize start = (gsize) b * bs, n = MIN (bs, data->n_images - start);
          guint64 step = (guint64) epoch * n_batches + b;
          double lr = options->learning_rate, loss;
          guint correct;

          if (set_cancelled (cancellable, error))
            return FALSE;
          for (gsize s = 0; s < n; s++)
            {
              fill_image (data, order[start + s], inputs + s * input_size);
              labels[s] = data->labels[order[start + s]];
            }
          if (net->qat && !_qs_train_net_quantize_weights (net, error))
            return FALSE;
          _qs_train_net_forward (net, inputs, n, TRUE,
                                 _qs_train_hash (options->seed ^ G_GUINT64_CONSTANT (0xd20f), step));
          loss = _qs_train_net_loss (net, labels, n, TRUE, &correct);
          if (!isfinite (loss))
            {
              g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_DIVERGED,
                           _("The loss became %g in epoch %u, batch %u; try a smaller learning "
                             "rate"),
                           loss, epoch + 1, b + 1);
              return FALSE;
            }
          _qs_train_net_backward (net, n);
          if (options->cosine_decay)
            lr *= 0.5 * (1.0 + cos (G_PI * (double) step / (double) total_steps));
          optimizer_step (net, options, lr);
          if (net->qat && !_qs_train_net_update_ranges (net, error))
            return FALSE;

          loss_sum += loss;
          seen += n;
          hits += correct;
          if (progress != NULL)
            {
              QsTrainProgress p = { epoch, options->epochs, b + 1, n_batches, loss_sum / seen,
                                    (double) hits / seen,
                                    ((double) epoch + (double) (b + 1) / n_batches) / options->epochs,
                                    (g_get_monotonic_time () - t0) / 1e6, FALSE };

              progress (&p, user_data);
            }
        }

      if (options->checkpoint != NULL && !save_checkpoint (net, options, epoch + 1, error))
        return FALSE;
    }

  if (net->qat)
    return _qs_train_net_freeze_ranges (net, error);
  return TRUE;
}

/* --- inference --- */

gboolean
qs_train_net_predict (QsTrainNet   *net,
                      const float  *inputs,
                      gsize         batch,
                      float        *logits,
                      guint         n_threads,
                      GError      **error)
{
  QsTNode *last;
  gsize step = 64;

  g_return_val_if_fail (net != NULL, FALSE);
  g_return_val_if_fail (inputs != NULL && logits != NULL, FALSE);

  if (!_qs_train_net_reserve (net, MIN (batch, step), error))
    return FALSE;
  set_n_threads (net, n_threads);
  if (net->qat && (!_qs_train_net_init_ranges (net, error)
                   || !_qs_train_net_quantize_weights (net, error)))
    return FALSE;
  last = g_ptr_array_index (net->nodes, net->nodes->len - 1);
  step = MIN (step, net->batch_capacity);
  for (gsize start = 0; start < batch; start += step)
    {
      gsize n = MIN (step, batch - start);

      _qs_train_net_forward (net, inputs + start * qs_train_net_get_input_size (net), n, FALSE, 0);
      memcpy (logits + start * last->size, last->out, n * last->size * sizeof (float));
    }
  return TRUE;
}

gboolean
qs_train_net_evaluate (QsTrainNet    *net,
                       QsTrainData   *data,
                       guint          limit,
                       guint          n_threads,
                       double        *accuracy,
                       double        *mean_loss,
                       GCancellable  *cancellable,
                       GError       **error)
{
  gsize step = 64, n_images;
  g_autofree float *inputs = NULL;
  double loss = 0;
  guint64 hits = 0;

  g_return_val_if_fail (net != NULL, FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  if (!check_data (net, data, error))
    return FALSE;
  n_images = limit > 0 ? MIN (limit, data->n_images) : data->n_images;
  if (!_qs_train_net_reserve (net, MIN (step, n_images), error))
    return FALSE;
  step = MIN (step, net->batch_capacity);
  set_n_threads (net, n_threads);
  if (net->qat && (!_qs_train_net_init_ranges (net, error)
                   || !_qs_train_net_quantize_weights (net, error)))
    return FALSE;
  inputs = g_new (float, step * data->image_size);
  for (gsize start = 0; start < n_images; start += step)
    {
      gsize n = MIN (step, n_images - start);
      guint correct;

      if (set_cancelled (cancellable, error))
        return FALSE;
      qs_train_data_fill (data, (guint) start, (guint) n, inputs);
      _qs_train_net_forward (net, inputs, n, FALSE, 0);
      loss += _qs_train_net_loss (net, data->labels + start, n, FALSE, &correct);
      hits += correct;
    }
  if (accuracy != NULL)
    *accuracy = (double) hits / n_images;
  if (mean_loss != NULL)
    *mean_loss = loss / n_images;
  return TRUE;
}

/* --- accessors --- */

gsize
qs_train_net_get_n_params (QsTrainNet *net)
{
  gsize n = 0;

  g_return_val_if_fail (net != NULL, 0);

  for (guint i = 0; i < net->param_list->len; i++)
    n += ((QsTParam *) g_ptr_array_index (net->param_list, i))->size;
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsTNode *node = g_ptr_array_index (net->nodes, i);

      if (node->kind == QS_TNODE_BATCH_NORM)
        n += 2 * node->c;
    }
  return n;
}

gsize
qs_train_net_get_input_size (QsTrainNet *net)
{
  g_return_val_if_fail (net != NULL, 0);

  return net->input_h * net->input_w * net->input_c;
}

guint
qs_train_net_get_n_classes (QsTrainNet *net)
{
  g_return_val_if_fail (net != NULL, 0);

  return net->n_classes;
}

const char *
qs_train_net_get_arch (QsTrainNet *net)
{
  g_return_val_if_fail (net != NULL, NULL);

  return net->arch;
}
