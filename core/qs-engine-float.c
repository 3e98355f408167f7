/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

/* The element-wise loops (BatchNorm, Add, Rescaling) are written for the auto-vectoriser. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("O3")
#endif

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-engine-float.h"
#include "qs-kernels.h"
#include "qs-kernels-float-xnn.h"
#include "qs-model-private.h"
#include "qs-parallel.h"
#include "qs-preproc-layers.h"
#include "qs-tsan.h"

/* The float32 reference engine. NHWC activations, Keras weight layouts as stored
 * ([kh, kw, in, out] kernels), TensorFlow's SAME padding (the extra row/column goes to the
 * bottom/right) and TensorFlow's average pooling (padding cells do not count). Threads split
 * the batch; each runs the whole network on micro-batches with its own buffers.
 *
 * Convolutions and Dense run through XNNPACK, and convolutions through oneDNN, where the
 * build has them and they were measured faster (qs-kernels-float-xnn.h: the layer classes,
 * QS_FLOAT_LIBRARY); shapes they refuse fall back to our own kernels. Its operators hold setup state, so every worker takes a set
 * of its own from the engine's pool of sets (created on first use, kept for later runs). */

#define MICRO_BATCH 32
/* A thread's activation arena stays under this many bytes when images are big (fewer
 * images per micro-batch, down to one); small models keep MICRO_BATCH. */
#define ARENA_BUDGET ((gsize) 32 << 20)

typedef enum
{
  FOLD_NONE,
  FOLD_INTO,               /* computed by the library layer it follows */
  FOLD_IN_PLACE,           /* an activation on its input's buffer */
} StepFold;

typedef struct
{
  const QsLayer *layer;
  const float   *kernel;    /* Dense/Conv kernel, depthwise kernel */
  const float   *pointwise;
  const float   *bias;
  float         *bn_scale;  /* BatchNorm folded to y = x * scale + shift */
  float         *bn_shift;
  QsResizeParams *resize;   /* Resizing, CenterCrop */
  gsize          per_image; /* output elements per image */
  gsize          in_per_image;
  guint          last_use;  /* last layer reading this output */
  gsize          offset;    /* of the output in the arena, in floats per image of the batch */
  guint          xnn_class; /* QsXnnClass of this layer if the library runs it, else 0 */
  gboolean       fused;     /* the activation is the library's output clamp */
  float          out_min, out_max;
  guint          n_readers;
  /* The library plan (runs with operator sets): a BatchNorm and a ReLU/ReLU6 activation
   * right after a library layer are folded into it (weights and bias scaled, the clamp),
   * and an Activation layer whose input has no other reader works in place. */
  StepFold       fold;
  guint          alias;     /* FOLD_INTO, IN_PLACE: the step whose buffer this one shares */
  guint          followers[2]; /* a root's folded steps, applied in place when it falls back */
  guint          n_followers;
  float         *folded_kernel; /* a root with a BatchNorm folded in: its weights and bias */
  float         *folded_bias;
  guint          last_use_lib;  /* of the shared buffer, in the library plan */
  gsize          offset_lib;
} Step;

/* One worker's arena (allocated on first use, micro_batch images) and library operators
 * by step (NULL: our own kernel; ops NULL: no library layer at all). */
typedef struct
{
  QsXnnOp **ops;
  float    *arena;
  float    *input;  /* ops: a copy of the micro-batch's input (see ARENA_SLACK) */
} Workspace;

/* XNNPACK may read up to XNN_EXTRA_BYTES (16) past a tensor it is given: the library plan's
 * arena ends with this many spare floats, and a library layer reading the model's input
 * reads a copy with them, never the caller's buffer. */
#define ARENA_SLACK 16

static void workspace_free (QsEngineFloat *engine,
                            Workspace     *ws);

struct _QsEngineFloat
{
  QsModel   *model;
  guint      n_steps;
  Step      *steps;
  GPtrArray *tensors;       /* references kept alive */
  gsize      arena_per_image; /* floats: every layer output at its offset, per image */
  gsize      arena_lib_per_image; /* the same in the library plan */
  gsize      micro_batch;
  gboolean   library_reads_input; /* a library layer reads the model's input */
  GMutex     lock;          /* guards spare */
  GPtrArray *spare;         /* Workspace, idle */
  GMutex     create_lock;   /* guards twins: one workspace created at a time */
  QsXnnOp  **twins;         /* the first workspace's operators: later ones share their
                               packed weights where the library allows (oneDNN) */
};

static gsize
shape_elements (guint        rank,
                const gsize *shape)
{
  gsize n = 1;

  for (guint i = 0; i < rank; i++)
    n *= shape[i];
  return n;
}

static const float *
weight_data (QsEngineFloat *engine,
             const QsLayer *layer,
             const char    *short_name,
             GHashTable    *replace,
             GError       **error)
{
  QsTensor *t = _qs_layer_find_weight (layer, short_name);
  QsTensor *r;

  if (t == NULL)
    return NULL;
  r = replace != NULL ? g_hash_table_lookup (replace, t->name) : NULL;
  if (r != NULL)
    {
      if (!qs_tensor_same_shape (r, t))
        {
          g_autofree char *a = qs_tensor_shape_to_string (r);
          g_autofree char *b = qs_tensor_shape_to_string (t);
          g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_SHAPE_MISMATCH,
                       _("Replacement weight “%s” has shape %s, the model's has %s"), t->name, a, b);
          return NULL;
        }
      t = r;
    }
  g_ptr_array_add (engine->tensors, qs_tensor_ref (t));
  return t->data;
}

/* The activation arena: every layer output gets an offset, first fit among the outputs
 * still alive when it is written (an output lives from its layer to its last reader), so a
 * run allocates one block per thread instead of a buffer per layer and micro-batch. Sizes
 * and offsets are per image and scale with the batch; each is a multiple of 16 floats, so
 * every buffer keeps the arena's 64-byte alignment. */
typedef struct
{
  gsize offset;
  gsize size;
  guint last_use;
} Block;

/* lib: the library plan, where folded and in-place steps share their root's buffer, which
 * lives until the last reader of any of them. Returns the arena's size per image. */
static gsize
plan_arena (QsEngineFloat *engine,
            gboolean       lib)
{
  g_autoptr(GArray) live = g_array_new (FALSE, FALSE, sizeof (Block));  /* by offset */
  gsize top = 0;

  for (guint i = 1; i < engine->n_steps; i++)
    {
      Step *s = &engine->steps[i];
      Block b = { 0, MAX ((s->per_image + 15) / 16 * 16, 16), lib ? s->last_use_lib : s->last_use };
      guint at;

      if (lib && s->fold != FOLD_NONE)
        {
          s->offset_lib = engine->steps[s->alias].offset_lib;
          continue;
        }

      for (guint j = live->len; j-- > 0;)
        if (g_array_index (live, Block, j).last_use < i)
          g_array_remove_index (live, j);
      for (at = 0; at < live->len; at++)
        {
          const Block *o = &g_array_index (live, Block, at);
          if (b.offset + b.size <= o->offset)
            break;
          b.offset = MAX (b.offset, o->offset + o->size);
        }
      g_array_insert_val (live, at, b);
      if (lib)
        s->offset_lib = b.offset;
      else
        s->offset = b.offset;
      top = MAX (top, b.offset + b.size);
    }
  return top;
}

static gboolean
all_finite (const float *x,
            gsize        n)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

/* The number of weights of a library layer (Dense, Conv2D, DepthwiseConv2D): the output
 * channel is the fastest axis of each Keras layout. */
static gsize
kernel_elements (QsEngineFloat *engine,
                 const Step    *s)
{
  const QsLayer *l = s->layer;
  const QsLayer *in = g_ptr_array_index (engine->model->layers, l->inputs[0]);

  switch (l->kind)
    {
    case QS_LAYER_DENSE:
      return s->in_per_image / (s->per_image / l->units) * l->units;
    case QS_LAYER_CONV2D:
      return l->kernel_size[0] * l->kernel_size[1] * in->output_shape[2] * l->filters;
    case QS_LAYER_DEPTHWISE_CONV2D:
      return l->kernel_size[0] * l->kernel_size[1] * in->output_shape[2] * l->depth_multiplier;
    default:
      g_assert_not_reached ();
    }
}

/* BatchNorm into the library layer before it: w' = w * scale, b' = b * scale + shift per
 * output channel (one rounding more than Keras' two steps, within the tests' tolerances). */
static void
fold_batch_norm (QsEngineFloat *engine,
                 Step          *root,
                 const Step    *bn)
{
  gsize c = bn->layer->output_shape[bn->layer->output_rank - 1];
  gsize n = kernel_elements (engine, root);

  root->folded_kernel = g_new (float, n);
  root->folded_bias = g_new (float, c);
  for (gsize i = 0; i < n; i++)
    root->folded_kernel[i] = root->kernel[i] * bn->bn_scale[i % c];
  for (gsize o = 0; o < c; o++)
    root->folded_bias[o] = (root->bias != NULL ? root->bias[o] : 0.0f) * bn->bn_scale[o] + bn->bn_shift[o];
}

static gboolean
is_clamp_activation (const QsLayer *l)
{
  return l->activation == QS_ACTIVATION_RELU6
         || (l->activation == QS_ACTIVATION_RELU && l->relu_negative_slope == 0 && l->relu_threshold == 0);
}

/* The library plan's folds (see Step). A step folds into the library layer before it
 * when that layer's output (or its chain's) has no other reader. */
static void
plan_folds (QsEngineFloat *engine)
{
  for (guint i = 0; i < engine->n_steps; i++)
    {
      engine->steps[i].alias = i;
      engine->steps[i].last_use_lib = engine->steps[i].last_use;
    }
  for (guint i = 1; i < engine->n_steps; i++)
    {
      Step *s = &engine->steps[i];
      const QsLayer *l = s->layer;
      guint in, root;
      Step *src, *r;

      if (l->n_inputs != 1 || l->inputs[0] == 0)
        continue;
      in = l->inputs[0];
      src = &engine->steps[in];
      root = src->fold != FOLD_NONE ? src->alias : in;
      r = &engine->steps[root];
      if (src->n_readers != 1)
        continue;
      if (r->xnn_class != 0 && src->fold != FOLD_IN_PLACE && r->n_followers < G_N_ELEMENTS (r->followers)
          && r->fused && r->out_min == -INFINITY && r->out_max == INFINITY)
        {
          /* the chain so far is linear */
          if (l->kind == QS_LAYER_BATCH_NORM && r->n_followers == 0
              && l->output_shape[l->output_rank - 1] == r->layer->output_shape[r->layer->output_rank - 1]
              && all_finite (s->bn_scale, l->output_shape[l->output_rank - 1])
              && all_finite (s->bn_shift, l->output_shape[l->output_rank - 1]))
            {
              fold_batch_norm (engine, r, s);
              s->fold = FOLD_INTO;
            }
          else if (l->kind == QS_LAYER_ACTIVATION && is_clamp_activation (l))
            {
              r->out_min = 0.0f;
              r->out_max = l->activation == QS_ACTIVATION_RELU6 ? 6.0f
                           : l->relu_max_value < 0 ? INFINITY : l->relu_max_value;
              s->fold = FOLD_INTO;
            }
          if (s->fold == FOLD_INTO)
            {
              r->followers[r->n_followers++] = i;
              s->alias = root;
              r->last_use_lib = MAX (r->last_use_lib, s->last_use);
              continue;
            }
        }
      if (l->kind == QS_LAYER_ACTIVATION)
        {
          s->fold = FOLD_IN_PLACE;
          s->alias = root;
          r->last_use_lib = MAX (r->last_use_lib, s->last_use);
        }
    }
}

static gboolean
uses_library (QsEngineFloat *engine)
{
  for (guint i = 1; i < engine->n_steps; i++)
    if (engine->steps[i].xnn_class != 0)
      return TRUE;
  return FALSE;
}

/* Which library runs the step (by its layer class), and whether its activation becomes
 * the library's output clamp: linear, ReLU (no slope, no threshold) and ReLU6 do; the
 * others run after it with our own activation kernel. */
static void
choose_library (QsEngineFloat *engine,
                Step          *s)
{
  const QsLayer *l = s->layer;
  guint cls = 0;

  switch (l->kind)
    {
    case QS_LAYER_DENSE:
      cls = QS_XNN_CLASS_DENSE;
      break;
    case QS_LAYER_CONV2D:
      if (l->strides[0] > 1 || l->strides[1] > 1)
        cls = QS_XNN_CLASS_STRIDED;
      else if (l->kernel_size[0] == 1 && l->kernel_size[1] == 1)
        cls = QS_XNN_CLASS_POINTWISE;
      else
        cls = QS_XNN_CLASS_CONV;
      break;
    case QS_LAYER_DEPTHWISE_CONV2D:
      cls = QS_XNN_CLASS_DEPTHWISE;
      break;
    default:
      break;
    }
  s->xnn_class = cls & _qs_xnn_classes ();
  /* NaN or infinity in the weights stays with our own kernels: the library's output clamp
   * turns NaN into a bound, and NaN weights must show as NaN outputs (counted, located) */
  if (s->xnn_class == 0 || s->kernel == NULL || !all_finite (s->kernel, kernel_elements (engine, s))
      || (s->bias != NULL && !all_finite (s->bias, l->output_shape[l->output_rank - 1])))
    {
      s->xnn_class = 0;
      return;
    }
  s->out_min = -INFINITY;
  s->out_max = INFINITY;
  s->fused = TRUE;
  if (l->activation == QS_ACTIVATION_RELU && l->relu_negative_slope == 0 && l->relu_threshold == 0)
    {
      s->out_min = 0.0f;
      s->out_max = l->relu_max_value < 0 ? INFINITY : l->relu_max_value;
    }
  else if (l->activation == QS_ACTIVATION_RELU6)
    {
      s->out_min = 0.0f;
      s->out_max = 6.0f;
    }
  else if (l->activation != QS_ACTIVATION_LINEAR)
    s->fused = FALSE;
}

QsEngineFloat *
qs_engine_float_new_with_weights (QsModel     *model,
                                  GHashTable  *weights,
                                  GError     **error)
{
  g_autoptr(QsEngineFloat) engine = NULL;
  const char *why_not = NULL;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!qs_model_can_infer (model, &why_not))
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NO_INFERENCE,
                   _("%s cannot run: %s"), qs_model_get_name (model), why_not);
      return NULL;
    }

  engine = g_new0 (QsEngineFloat, 1);
  engine->model = g_object_ref (model);
  engine->n_steps = model->output_index + 1;
  engine->steps = g_new0 (Step, engine->n_steps);
  engine->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_tensor_unref);
  g_mutex_init (&engine->lock);
  g_mutex_init (&engine->create_lock);
  engine->spare = g_ptr_array_new ();

  for (guint i = 0; i < engine->n_steps; i++)
    {
      const QsLayer *layer = g_ptr_array_index (model->layers, i);
      Step *s = &engine->steps[i];
      GError *local = NULL;

      s->layer = layer;
      s->per_image = shape_elements (layer->output_rank, layer->output_shape);
      s->last_use = i;
      if (layer->n_inputs > 0)
        {
          const QsLayer *in = g_ptr_array_index (model->layers, layer->inputs[0]);
          s->in_per_image = shape_elements (in->output_rank, in->output_shape);
        }
      for (guint j = 0; j < layer->n_inputs; j++)
        {
          engine->steps[layer->inputs[j]].last_use = MAX (engine->steps[layer->inputs[j]].last_use, i);
          engine->steps[layer->inputs[j]].n_readers++;
        }

      switch (layer->kind)
        {
        case QS_LAYER_DENSE:
        case QS_LAYER_CONV2D:
          s->kernel = weight_data (engine, layer, "kernel", weights, &local);
          break;
        case QS_LAYER_DEPTHWISE_CONV2D:
          s->kernel = weight_data (engine, layer, "depthwise_kernel", weights, &local);
          break;
        case QS_LAYER_SEPARABLE_CONV2D:
          s->kernel = weight_data (engine, layer, "depthwise_kernel", weights, &local);
          if (local == NULL)
            s->pointwise = weight_data (engine, layer, "pointwise_kernel", weights, &local);
          break;
        case QS_LAYER_BATCH_NORM:
          {
            gsize c = layer->output_shape[layer->output_rank - 1];
            const float *gamma = weight_data (engine, layer, "gamma", weights, &local);
            const float *beta = local == NULL ? weight_data (engine, layer, "beta", weights, &local) : NULL;
            const float *mean = local == NULL ? weight_data (engine, layer, "moving_mean", weights, &local) : NULL;
            const float *var = local == NULL ? weight_data (engine, layer, "moving_variance", weights, &local) : NULL;

            if (local != NULL)
              break;
            s->bn_scale = g_new (float, c);
            s->bn_shift = g_new (float, c);
            for (gsize k = 0; k < c; k++)
              {
                float inv = 1.0f / sqrtf (var[k] + layer->bn_epsilon);
                float g = gamma != NULL ? gamma[k] : 1.0f;
                float b = beta != NULL ? beta[k] : 0.0f;
                s->bn_scale[k] = inv * g;
                s->bn_shift[k] = b - mean[k] * inv * g;
              }
          }
          break;
        case QS_LAYER_NORMALIZATION:
          {
            gsize c = layer->output_shape[layer->output_rank - 1];

            s->bn_scale = g_new (float, c);
            s->bn_shift = g_new (float, c);
            qs_normalization_affine (layer, c, s->bn_scale, s->bn_shift);
          }
          break;
        case QS_LAYER_RESIZING:
        case QS_LAYER_CENTER_CROP:
          {
            const QsLayer *in = g_ptr_array_index (model->layers, layer->inputs[0]);

            s->resize = g_new (QsResizeParams, 1);
            qs_resize_params_init (s->resize, layer->kind, in->output_shape[0], in->output_shape[1],
                                   in->output_shape[2], layer->output_shape[0], layer->output_shape[1],
                                   layer->resize_interpolation, layer->crop_to_aspect_ratio);
          }
          break;
        default:
          break;
        }
      if (local == NULL && layer->use_bias &&
          (layer->kind == QS_LAYER_DENSE || layer->kind == QS_LAYER_CONV2D ||
           layer->kind == QS_LAYER_DEPTHWISE_CONV2D || layer->kind == QS_LAYER_SEPARABLE_CONV2D))
        s->bias = weight_data (engine, layer, "bias", weights, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
    }
  engine->steps[engine->n_steps - 1].last_use = G_MAXUINT;
  for (guint i = 1; i < engine->n_steps; i++)
    choose_library (engine, &engine->steps[i]);
  engine->arena_per_image = plan_arena (engine, FALSE);
  engine->micro_batch = CLAMP (ARENA_BUDGET / MAX (engine->arena_per_image * sizeof (float), 1), 1,
                               MICRO_BATCH);
  if (uses_library (engine))
    {
      for (guint i = 1; i < engine->n_steps; i++)
        if (engine->steps[i].xnn_class != 0 && engine->steps[i].layer->inputs[0] == 0)
          engine->library_reads_input = TRUE;
      plan_folds (engine);
      engine->arena_lib_per_image = plan_arena (engine, TRUE);
    }
  return g_steal_pointer (&engine);
}

QsEngineFloat *
qs_engine_float_new (QsModel  *model,
                     GError  **error)
{
  return qs_engine_float_new_with_weights (model, NULL, error);
}

void
qs_engine_float_free (QsEngineFloat *engine)
{
  if (engine == NULL)
    return;
  engine->twins = NULL;
  for (guint i = 0; i < engine->spare->len; i++)
    workspace_free (engine, g_ptr_array_index (engine->spare, i));
  g_ptr_array_unref (engine->spare);
  g_mutex_clear (&engine->lock);
  g_mutex_clear (&engine->create_lock);
  for (guint i = 0; i < engine->n_steps; i++)
    {
      g_free (engine->steps[i].bn_scale);
      g_free (engine->steps[i].bn_shift);
      g_free (engine->steps[i].resize);
      g_free (engine->steps[i].folded_kernel);
      g_free (engine->steps[i].folded_bias);
    }
  g_free (engine->steps);
  g_clear_pointer (&engine->tensors, g_ptr_array_unref);
  g_clear_object (&engine->model);
  g_free (engine);
}

/* --- layers (the kernels are in qs-kernels-float.c) --- */

static void
activate (const QsLayer *layer,
          QsActivation   act,
          float         *x,
          gsize          n,
          gsize          last_dim)
{
  QsActivationParams p = { act, layer->relu_max_value, layer->relu_negative_slope,
                           layer->relu_threshold, layer->alpha };

  qs_activation_f32 (&p, x, n, last_dim);
}

static void
dense (const Step  *s,
       const float *in,
       float       *out,
       gsize        rows)
{
  const QsLayer *l = s->layer;
  gsize n = l->units;
  gsize k_dim = s->in_per_image / (s->per_image / n);

  qs_float_kernels_get ()->gemm (in, k_dim, rows, k_dim, s->kernel, n, s->bias, out, n);
}

static gsize
pad_before (gsize     in,
            gsize     out,
            guint     k,
            guint     stride,
            guint     dilation,
            QsPadding padding)
{
  gssize eff = (gssize) (k - 1) * dilation + 1;
  gssize total;

  if (padding == QS_PADDING_VALID)
    return 0;
  total = (gssize) (out - 1) * stride + eff - (gssize) in;
  return total > 0 ? (gsize) total / 2 : 0;
}

/* The kernel parameters of a convolution (kh, kw: kernel or pooling window). */
static void
conv_params (const QsLayer *layer,
             const QsLayer *input,
             guint          kh,
             guint          kw,
             const guint   *strides,
             const guint   *dilation,
             gsize          depth_multiplier,
             QsConvParams  *p)
{
  *p = (QsConvParams) {
    .input_height = input->output_shape[0], .input_width = input->output_shape[1],
    .input_depth = input->output_shape[2],
    .output_height = layer->output_shape[0], .output_width = layer->output_shape[1],
    .output_depth = input->output_shape[2] * depth_multiplier,
    .filter_height = kh, .filter_width = kw,
    .stride_height = strides[0], .stride_width = strides[1],
    .dilation_height = dilation[0], .dilation_width = dilation[1],
    .depth_multiplier = depth_multiplier,
  };
  p->pad_top = pad_before (p->input_height, p->output_height, kh, strides[0], dilation[0],
                           layer->padding);
  p->pad_left = pad_before (p->input_width, p->output_width, kw, strides[1], dilation[1],
                            layer->padding);
}

static void
conv2d (const Step    *s,
        const QsLayer *input,
        const float   *in,
        float         *out,
        gsize          batch)
{
  const QsLayer *l = s->layer;
  const QsFloatKernels *k = qs_float_kernels_get ();
  QsConvParams p;
  gsize in_n, out_n;
  float *patches;

  conv_params (l, input, l->kernel_size[0], l->kernel_size[1], l->strides, l->dilation, 1, &p);
  p.output_depth = l->filters;
  in_n = p.input_height * p.input_width * p.input_depth;
  out_n = p.output_height * p.output_width * p.output_depth;
  patches = qs_aligned_alloc (4 * p.filter_height * p.filter_width * p.input_depth * sizeof (float));
  for (gsize b = 0; b < batch; b++)
    qs_conv_f32 (k, &p, in + b * in_n, s->kernel, s->bias, out + b * out_n, patches);
  qs_aligned_free (patches);
}

static void
depthwise (const Step    *s,
           const QsLayer *input,
           const float   *in,
           float         *out,
           const float   *bias,
           gsize          batch)
{
  const QsLayer *l = s->layer;
  const QsFloatKernels *k = qs_float_kernels_get ();
  QsDepthwiseParams p;
  gsize in_n, out_n;

  conv_params (l, input, l->kernel_size[0], l->kernel_size[1], l->strides, l->dilation,
               l->depth_multiplier, &p);
  in_n = p.input_height * p.input_width * p.input_depth;
  out_n = p.output_height * p.output_width * p.output_depth;
  for (gsize b = 0; b < batch; b++)
    k->depthwise (&p, in + b * in_n, s->kernel, bias, out + b * out_n);
}

static void
separable (const Step    *s,
           const QsLayer *input,
           const float   *in,
           float         *out,
           gsize          batch)
{
  const QsLayer *l = s->layer;
  gsize pixels = l->output_shape[0] * l->output_shape[1];
  gsize mid_c = input->output_shape[2] * l->depth_multiplier;
  gsize f = l->filters;
  float *mid = qs_aligned_alloc (batch * pixels * mid_c * sizeof (float));

  depthwise (s, input, in, mid, NULL, batch);
  qs_float_kernels_get ()->gemm (mid, mid_c, batch * pixels, mid_c, s->pointwise, f, s->bias,
                                 out, f);
  qs_aligned_free (mid);
}

static void
pool2d (const Step    *s,
        const QsLayer *input,
        const float   *in,
        float         *out,
        gsize          batch)
{
  static const guint one[2] = { 1, 1 };
  const QsLayer *l = s->layer;
  QsConvParams p;
  gsize in_n, out_n;

  conv_params (l, input, l->pool_size[0], l->pool_size[1], l->pool_strides, one, 1, &p);
  in_n = p.input_height * p.input_width * p.input_depth;
  out_n = p.output_height * p.output_width * p.output_depth;
  for (gsize b = 0; b < batch; b++)
    if (l->kind == QS_LAYER_MAX_POOL2D)
      qs_max_pool_f32 (&p, in + b * in_n, out + b * out_n);
    else
      qs_avg_pool_f32 (&p, QS_POOL_MEAN_DIVIDE, in + b * in_n, out + b * out_n);
}

/* Global pooling: pooling with the whole image as the window. */
static void
global_pool (const Step    *s,
             const QsLayer *input,
             const float   *in,
             float         *out,
             gsize          batch)
{
  gsize h = input->output_shape[0], w = input->output_shape[1], c = input->output_shape[2];
  QsConvParams p = {
    .input_height = h, .input_width = w, .input_depth = c,
    .output_height = 1, .output_width = 1, .output_depth = c,
    .filter_height = h, .filter_width = w,
    .stride_height = 1, .stride_width = 1, .dilation_height = 1, .dilation_width = 1,
    .depth_multiplier = 1,
  };

  for (gsize b = 0; b < batch; b++)
    if (s->layer->kind == QS_LAYER_GLOBAL_MAX_POOL2D)
      qs_max_pool_f32 (&p, in + b * h * w * c, out + b * c);
    else
      qs_avg_pool_f32 (&p, QS_POOL_MEAN_DIVIDE, in + b * h * w * c, out + b * c);
}

static void
concatenate (QsEngineFloat *engine,
             const Step    *s,
             float        **bufs,
             float         *out,
             gsize          batch)
{
  const QsLayer *l = s->layer;
  gsize outer = 1, inner = 1, out_axis = l->output_shape[l->axis];
  gsize offset = 0;

  for (gint d = 0; d < l->axis; d++)
    outer *= l->output_shape[d];
  for (guint d = l->axis + 1; d < l->output_rank; d++)
    inner *= l->output_shape[d];
  for (guint i = 0; i < l->n_inputs; i++)
    {
      const QsLayer *src = g_ptr_array_index (engine->model->layers, l->inputs[i]);
      gsize axis_len = src->output_shape[l->axis];
      const float *x = bufs[l->inputs[i]];

      for (gsize b = 0; b < batch; b++)
        for (gsize o = 0; o < outer; o++)
          memcpy (out + b * s->per_image + (o * out_axis + offset) * inner,
                  x + b * (outer * axis_len * inner) + o * axis_len * inner,
                  axis_len * inner * sizeof (float));
      offset += axis_len;
    }
}

static void
zero_pad (const Step    *s,
          const QsLayer *input,
          const float   *in,
          float         *out,
          gsize          batch)
{
  const QsLayer *l = s->layer;
  gsize ih = input->output_shape[0], iw = input->output_shape[1], c = input->output_shape[2];
  gsize ow = l->output_shape[1];

  memset (out, 0, batch * s->per_image * sizeof (float));
  for (gsize b = 0; b < batch; b++)
    for (gsize y = 0; y < ih; y++)
      memcpy (out + b * s->per_image + ((y + l->zero_padding[0]) * ow + l->zero_padding[2]) * c,
              in + ((b * ih + y) * iw) * c, iw * c * sizeof (float));
}

/* TRUE when the library computed the step (with what is folded into it). */
static gboolean
run_step (QsEngineFloat *engine,
          const Step    *s,
          QsXnnOp      **ops,
          float        **bufs,
          float         *out,
          gsize          batch)
{
  QsXnnOp *op = ops != NULL ? ops[s - engine->steps] : NULL;
  const QsLayer *l = s->layer;
  const QsLayer *input = l->n_inputs > 0 ? g_ptr_array_index (engine->model->layers, l->inputs[0]) : NULL;
  const float *in = l->n_inputs > 0 ? bufs[l->inputs[0]] : NULL;
  gsize n = batch * s->per_image;
  gsize last = l->output_rank > 0 ? l->output_shape[l->output_rank - 1] : 1;

  /* Dense runs on rows of the last axis: n / units of them */
  if (op != NULL && _qs_xnn_op_run (op, l->kind == QS_LAYER_DENSE ? n / l->units : batch, in, out))
    {
      if (!s->fused)
        activate (l, l->activation, out, n, last);
      return TRUE;
    }
  switch (l->kind)
    {
    case QS_LAYER_DENSE:
      dense (s, in, out, n / l->units);
      activate (l, l->activation, out, n, last);
      break;
    case QS_LAYER_CONV2D:
      conv2d (s, input, in, out, batch);
      activate (l, l->activation, out, n, last);
      break;
    case QS_LAYER_DEPTHWISE_CONV2D:
      depthwise (s, input, in, out, s->bias, batch);
      activate (l, l->activation, out, n, last);
      break;
    case QS_LAYER_SEPARABLE_CONV2D:
      separable (s, input, in, out, batch);
      activate (l, l->activation, out, n, last);
      break;
    case QS_LAYER_MAX_POOL2D:
    case QS_LAYER_AVG_POOL2D:
      pool2d (s, input, in, out, batch);
      break;
    case QS_LAYER_GLOBAL_AVG_POOL2D:
    case QS_LAYER_GLOBAL_MAX_POOL2D:
      global_pool (s, input, in, out, batch);
      break;
    case QS_LAYER_FLATTEN:
    case QS_LAYER_RESHAPE:
    case QS_LAYER_IDENTITY:
      memcpy (out, in, n * sizeof (float));
      break;
    case QS_LAYER_RESIZING:
    case QS_LAYER_CENTER_CROP:
      for (gsize b = 0; b < batch; b++)
        qs_resize_f32 (s->resize, in + b * s->in_per_image, out + b * s->per_image);
      break;
    case QS_LAYER_NORMALIZATION:
    case QS_LAYER_BATCH_NORM:
      for (gsize i = 0; i < n; i += last)
        for (gsize c = 0; c < last; c++)
          out[i + c] = in[i + c] * s->bn_scale[c] + s->bn_shift[c];
      break;
    case QS_LAYER_ACTIVATION:
      memcpy (out, in, n * sizeof (float));
      activate (l, l->activation, out, n, last);
      break;
    case QS_LAYER_ADD:
      /* the same sums as copy-then-add, one pass less */
      if (l->n_inputs >= 2)
        {
          const float *x = bufs[l->inputs[1]];
          for (gsize i = 0; i < n; i++)
            out[i] = in[i] + x[i];
        }
      else
        memcpy (out, in, n * sizeof (float));
      for (guint j = 2; j < l->n_inputs; j++)
        {
          const float *x = bufs[l->inputs[j]];
          for (gsize i = 0; i < n; i++)
            out[i] += x[i];
        }
      break;
    case QS_LAYER_CONCATENATE:
      concatenate (engine, s, bufs, out, batch);
      break;
    case QS_LAYER_ZERO_PADDING2D:
      zero_pad (s, input, in, out, batch);
      break;
    case QS_LAYER_RESCALING:
      for (gsize i = 0; i < n; i++)
        out[i] = in[i] * l->rescale_scale + l->rescale_offset;
      break;
    case QS_LAYER_INPUT:
    case QS_LAYER_WEIGHTS:
    case QS_LAYER_UNSUPPORTED:
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

/* A library step that fell back to our own kernel: what was folded into it, in place. */
static void
run_followers (QsEngineFloat *engine,
               const Step    *s,
               float         *out,
               gsize          batch)
{
  gsize n = batch * s->per_image;

  for (guint j = 0; j < s->n_followers; j++)
    {
      const Step *f = &engine->steps[s->followers[j]];
      const QsLayer *l = f->layer;
      gsize last = l->output_shape[l->output_rank - 1];

      if (l->kind == QS_LAYER_BATCH_NORM)
        for (gsize i = 0; i < n; i += last)
          for (gsize c = 0; c < last; c++)
            out[i + c] = out[i + c] * f->bn_scale[c] + f->bn_shift[c];
      else
        activate (l, l->activation, out, n, last);
    }
}

/* --- workspaces: a worker's arena and library operators, kept for later runs --- */

static void
workspace_free (QsEngineFloat *engine,
                Workspace     *ws)
{
  if (ws == NULL)
    return;
  if (ws->ops != NULL)
    for (guint i = 0; i < engine->n_steps; i++)
      _qs_xnn_op_free (ws->ops[i]);
  g_free (ws->ops);
  qs_aligned_free (ws->arena);
  qs_aligned_free (ws->input);
  g_free (ws);
}

static Workspace *
workspace_new (QsEngineFloat *engine)
{
  Workspace *ws = g_new0 (Workspace, 1);

  if (!uses_library (engine))
    return ws;
  ws->ops = g_new0 (QsXnnOp *, engine->n_steps);
  g_mutex_lock (&engine->create_lock);
  for (guint i = 1; i < engine->n_steps; i++)
    {
      const Step *s = &engine->steps[i];
      const QsLayer *l = s->layer;
      const QsLayer *input;
      const float *kernel = s->folded_kernel != NULL ? s->folded_kernel : s->kernel;
      const float *bias = s->folded_kernel != NULL ? s->folded_bias : s->bias;
      QsConvParams p;

      if (s->xnn_class == 0)
        continue;
      input = g_ptr_array_index (engine->model->layers, l->inputs[0]);
      switch (l->kind)
        {
        case QS_LAYER_DENSE:
          ws->ops[i] = _qs_xnn_dense_new (s->in_per_image / (s->per_image / l->units), l->units,
                                          kernel, bias, s->out_min, s->out_max);
          break;
        case QS_LAYER_CONV2D:
          conv_params (l, input, l->kernel_size[0], l->kernel_size[1], l->strides, l->dilation, 1, &p);
          p.output_depth = l->filters;
          ws->ops[i] = _qs_xnn_conv_new_like (engine->twins != NULL ? engine->twins[i] : NULL,
                                              &p, kernel, bias, s->out_min, s->out_max);
          break;
        case QS_LAYER_DEPTHWISE_CONV2D:
          conv_params (l, input, l->kernel_size[0], l->kernel_size[1], l->strides, l->dilation,
                       l->depth_multiplier, &p);
          ws->ops[i] = _qs_xnn_depthwise_new (&p, kernel, bias, s->out_min, s->out_max);
          break;
        default:
          g_assert_not_reached ();
        }
    }
  if (engine->twins == NULL)
    engine->twins = ws->ops;   /* lives until qs_engine_float_free: workspaces are kept */
  g_mutex_unlock (&engine->create_lock);
  return ws;
}

/* An idle workspace, or a new one (the library packs the weights once per workspace). */
static Workspace *
workspace_take (QsEngineFloat *engine)
{
  Workspace *ws = NULL;

  g_mutex_lock (&engine->lock);
  if (engine->spare->len > 0)
    ws = g_ptr_array_steal_index_fast (engine->spare, engine->spare->len - 1);
  g_mutex_unlock (&engine->lock);
  return ws != NULL ? ws : workspace_new (engine);
}

static void
workspace_give_back (QsEngineFloat *engine,
                     Workspace     *ws)
{
  if (ws == NULL)
    return;
  g_mutex_lock (&engine->lock);
  g_ptr_array_add (engine->spare, ws);
  g_mutex_unlock (&engine->lock);
}

/* arena: engine->arena_per_image * batch floats (arena_lib_per_image with ops), 64-byte
 * aligned. ops: the library's operators by step and the library plan, or NULL: our own
 * kernels and the plain plan (what the taps see). */
static gboolean
run_range (QsEngineFloat     *engine,
           const float       *input,
           gsize              batch,
           float             *output,
           float             *arena,
           QsXnnOp          **ops,
           QsLayerOutputFunc  layer_func,
           gpointer           user_data,
           GCancellable      *cancellable,
           GError           **error)
{
  g_autofree float **bufs = g_new0 (float *, engine->n_steps);

  bufs[0] = (float *) input;
  if (layer_func != NULL)
    layer_func (engine->steps[0].layer, input, batch, engine->steps[0].per_image, user_data);
  for (guint i = 1; i < engine->n_steps; i++)
    {
      const Step *s = &engine->steps[i];

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      bufs[i] = arena + (ops != NULL ? s->offset_lib : s->offset) * batch;
      if (ops != NULL && s->fold == FOLD_INTO)
        continue;   /* its root computed it */
      if (ops != NULL && s->fold == FOLD_IN_PLACE)
        activate (s->layer, s->layer->activation, bufs[i], batch * s->per_image,
                  s->layer->output_shape[s->layer->output_rank - 1]);
      else if (!run_step (engine, s, ops, bufs, bufs[i], batch) && ops != NULL)
        run_followers (engine, s, bufs[i], batch);
      /* the tap sees the buffer while every output it may read is alive: an output's
       * space is reused only after its last reader ran */
      if (layer_func != NULL)
        layer_func (s->layer, bufs[i], batch, s->per_image, user_data);
    }
  memcpy (output, bufs[engine->n_steps - 1], batch * engine->steps[engine->n_steps - 1].per_image * sizeof (float));
  return TRUE;
}

static float *
arena_new (QsEngineFloat *engine,
           gsize          per_image,
           gsize          batch,
           GError       **error)
{
  float *arena = qs_aligned_alloc ((MAX (per_image * batch, 16) + ARENA_SLACK) * sizeof (float));

  if (arena == NULL)
    {
      g_autofree char *size = g_format_size (per_image * batch * sizeof (float));
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_TOO_LARGE,
                   _("Out of memory running “%s” (%s of activations)"), qs_model_get_name (engine->model),
                   size);
    }
  return arena;
}

typedef struct
{
  QsEngineFloat *engine;
  const float   *input;
  float         *output;
  gsize          batch;
  GError       **errors;      /* one slot per thread */
  Workspace    **workspaces;  /* one per thread, taken on first use */
  GCancellable  *cancellable;
} Work;

/* One micro-batch; results do not depend on which thread runs it. */
static void
run_micro_batch (gsize    index,
                 guint    thread_index,
                 gpointer data)
{
  Work *w = data;
  QsEngineFloat *engine = w->engine;
  gsize in_n = engine->steps[0].per_image;
  gsize out_n = engine->steps[engine->n_steps - 1].per_image;
  gsize mb = engine->micro_batch;
  gsize at = index * mb;
  gsize n = MIN (mb, w->batch - at);
  const float *input;
  Workspace *ws;

  if (w->errors[thread_index] != NULL)
    return;
  if (w->workspaces[thread_index] == NULL)
    w->workspaces[thread_index] = workspace_take (engine);
  ws = w->workspaces[thread_index];
  if (ws->arena == NULL
      && (ws->arena = arena_new (engine, ws->ops != NULL ? engine->arena_lib_per_image
                                                         : engine->arena_per_image,
                                 mb, &w->errors[thread_index])) == NULL)
    return;
  input = w->input + at * in_n;
  if (engine->library_reads_input && ws->ops != NULL)
    {
      if (ws->input == NULL
          && (ws->input = arena_new (engine, in_n, mb, &w->errors[thread_index])) == NULL)
        return;
      memcpy (ws->input, input, n * in_n * sizeof (float));
      input = ws->input;
    }
  run_range (engine, input, n, w->output + at * out_n, ws->arena, ws->ops, NULL,
             NULL, w->cancellable, &w->errors[thread_index]);
}

gboolean
qs_engine_float_run (QsEngineFloat     *engine,
                     const float       *input,
                     gsize              batch,
                     float             *output,
                     guint              n_threads,
                     QsLayerOutputFunc  layer_func,
                     gpointer           user_data,
                     GCancellable      *cancellable,
                     GError           **error)
{
  g_autofree GError **errors = NULL;
  g_autofree Workspace **workspaces = NULL;
  Work work;
  gsize n_items;
  gboolean ok;

  g_return_val_if_fail (engine != NULL, FALSE);
  g_return_val_if_fail (input != NULL || batch == 0, FALSE);
  g_return_val_if_fail (output != NULL || batch == 0, FALSE);

  if (batch == 0)
    return TRUE;
  if (layer_func != NULL)
    {
      /* every layer's own output for the taps: our own kernels, nothing folded */
      float *arena = arena_new (engine, engine->arena_per_image, batch, error);

      if (arena == NULL)
        return FALSE;
      ok = run_range (engine, input, batch, output, arena, NULL, layer_func, user_data, cancellable,
                      error);
      qs_aligned_free (arena);
      return ok;
    }

  n_items = (batch + engine->micro_batch - 1) / engine->micro_batch;
  n_threads = qs_parallel_n_threads (n_items, n_threads);
  errors = g_new0 (GError *, n_threads);
  workspaces = g_new0 (Workspace *, n_threads);
  work = (Work) { engine, input, output, batch, errors, workspaces, cancellable };
  ok = qs_parallel_for (n_items, n_threads, run_micro_batch, &work, cancellable, error);
  for (guint t = 0; t < n_threads; t++)
    workspace_give_back (engine, workspaces[t]);
  for (guint t = 0; t < n_threads; t++)
    if (errors[t] != NULL)
      {
        if (ok)
          g_propagate_error (error, g_steal_pointer (&errors[t]));
        else
          g_clear_error (&errors[t]);
        ok = FALSE;
      }
  return ok;
}

typedef struct
{
  char *first;
} NonfiniteTap;

static void
nonfinite_tap (const QsLayer *layer,
               const float   *output,
               gsize          batch,
               gsize          per_image,
               gpointer       user_data)
{
  NonfiniteTap *t = user_data;

  if (t->first != NULL)
    return;
  for (gsize i = 0; i < batch * per_image; i++)
    if (!isfinite (output[i]))
      {
        t->first = g_strdup (layer->name);
        return;
      }
}

guint
qs_engine_float_find_nonfinite (QsEngineFloat *engine,
                                const float   *input,
                                gsize          batch,
                                const float   *output,
                                char         **first_layer)
{
  gsize in_n, out_n;
  guint count = 0;
  gssize first = -1;

  g_return_val_if_fail (engine != NULL, 0);

  in_n = engine->steps[0].per_image;
  out_n = engine->steps[engine->n_steps - 1].per_image;
  /* an image counts when its output, or the image itself, holds one: ReLU and max pooling
   * can hide a NaN pixel behind a finite, meaningless answer */
  for (gsize b = 0; b < batch; b++)
    {
      gboolean bad = FALSE;

      for (gsize i = 0; i < out_n && !bad; i++)
        bad = !isfinite (output[b * out_n + i]);
      for (gsize i = 0; i < in_n && !bad; i++)
        bad = !isfinite (input[b * in_n + i]);
      if (bad)
        {
          if (first < 0)
            first = (gssize) b;
          count++;
        }
    }
  if (first_layer != NULL && first >= 0)
    {
      NonfiniteTap t = { NULL };
      g_autofree float *out = g_new (float, out_n);

      /* the first layer callback is the input itself */
      qs_engine_float_run (engine, input + (gsize) first * in_n, 1, out, 1, nonfinite_tap, &t,
                           NULL, NULL);
      *first_layer = t.first;
    }
  return count;
}

const char *
qs_engine_float_kernels_describe (void)
{
  static char *text;
  static gsize init = 0;

  if (g_once_init_enter (&init))
    {
      const char *own = qs_float_kernels_get ()->name;
      const char *lib = _qs_xnn_describe ();

      text = lib != NULL ? g_strdup_printf ("%s + %s", lib, own) : g_strdup (own);
      QS_TSAN_RELEASE (&init);
      g_once_init_leave (&init, 1);
    }
  QS_TSAN_ACQUIRE (&init);
  return text;
}
