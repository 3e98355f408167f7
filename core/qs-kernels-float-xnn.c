/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qs-kernels.h"
#include "qs-kernels-float-xnn.h"
#include "qs-tsan.h"

#ifdef QS_HAVE_XNNPACK
#include <xnnpack.h>
#endif
#ifdef QS_HAVE_ONEDNN
#include <float.h>
#include <dnnl.h>
#include <omp.h>
#endif

/* See qs-kernels-float-xnn.h. The class names are QS_FLOAT_LIBRARY's words. */
static const char *const class_names[] = { "conv", "pointwise", "strided", "depthwise", "dense", NULL };
#define ALL_CLASSES ((1u << 5) - 1)
/* Measured on ResNet-18 and MobileNetV2 (docs/BENCHMARKS.md, issue 16): XNNPACK is faster
 * than our own AVX2 kernels for every class. */
#define DEFAULT_CLASSES ALL_CLASSES
/* The classes oneDNN can run (convolutions), and those it runs by default when built:
 * measured faster than XNNPACK in the engine (docs/BENCHMARKS.md, issue 16 round 2). */
#define ONEDNN_CLASSES (QS_XNN_CLASS_CONV | QS_XNN_CLASS_POINTWISE | QS_XNN_CLASS_STRIDED)
#define DEFAULT_ONEDNN_CLASSES ONEDNN_CLASSES
static const char *const library_names[] = { "xnnpack", "onednn" };

#define QS_FLOAT_LIBRARY_ENV "QS_FLOAT_LIBRARY"

struct _QsXnnOp
{
  QsXnnLibrary   library;
#ifdef QS_HAVE_XNNPACK
  xnn_operator_t op;
#endif
#ifdef QS_HAVE_ONEDNN
  dnnl_primitive_t conv;
  dnnl_stream_t    stream;
  dnnl_memory_t    src, weights, bias, dst, scratchpad;
  gsize            in_per_image, out_per_image;
  /* the reordered weights' buffer, shared by the operators of one layer in every
   * workspace (read-only; freed with the last of them) */
  struct OnednnWeights *shared;
#endif
  gboolean       dense;
  gsize          input_height, input_width;
};

#ifdef QS_HAVE_XNNPACK
static gboolean
library_init (void)
{
  static gsize init = 0;
  static gboolean ok;

  if (g_once_init_enter (&init))
    {
      ok = xnn_initialize (NULL) == xnn_status_success;
      if (!ok)
        g_debug ("XNNPACK does not initialise on this CPU: the float engine uses its own kernels");
      QS_TSAN_RELEASE (&init);
      g_once_init_leave (&init, 1);
    }
  QS_TSAN_ACQUIRE (&init);
  return ok;
}
#endif

/* QS_FLOAT_LIBRARY: auto, own, xnnpack, onednn, or a list of CLASS or CLASS=LIBRARY
 * (CLASS alone: XNNPACK). *classes gets the classes run by a library, *onednn those of
 * them run by oneDNN. */
static void
parse_classes (const char *word,
               guint      *classes,
               guint      *onednn)
{
  g_auto(GStrv) parts = NULL;

  *classes = *onednn = 0;
  if (word == NULL || *word == '\0' || g_str_equal (word, "auto"))
    {
      *classes = DEFAULT_CLASSES;
      *onednn = DEFAULT_ONEDNN_CLASSES;
      return;
    }
  if (g_str_equal (word, "own"))
    return;
  if (g_str_equal (word, "xnnpack"))
    {
      *classes = ALL_CLASSES;
      return;
    }
  if (g_str_equal (word, "onednn"))
    {
      *classes = ALL_CLASSES;
      *onednn = ONEDNN_CLASSES;
      return;
    }
  parts = g_strsplit (word, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (g_strstrip (parts[i]), "=", 2);
      const char *lib = pair[0] != NULL && pair[1] != NULL ? g_strstrip (pair[1]) : "xnnpack";
      guint j;

      for (j = 0; class_names[j] != NULL; j++)
        if (pair[0] != NULL && g_str_equal (g_strstrip (pair[0]), class_names[j]))
          break;
      if (class_names[j] == NULL)
        {
          g_autofree char *all = g_strjoinv (",", (char **) class_names);

          g_error ("%s=%s: “%s” is not a layer class. Valid: auto, own, xnnpack, onednn or a "
                   "list of %s, each optionally =xnnpack or =onednn",
                   QS_FLOAT_LIBRARY_ENV, word, parts[i], all);
        }
      if (g_str_equal (lib, "onednn") && ((1u << j) & ONEDNN_CLASSES))
        *onednn |= 1u << j;
      else if (!g_str_equal (lib, "xnnpack"))
        g_error ("%s=%s: “%s” is not a library for %s. Valid: xnnpack%s",
                 QS_FLOAT_LIBRARY_ENV, word, lib, class_names[j],
                 ((1u << j) & ONEDNN_CLASSES) ? ", onednn" : "");
      *classes |= 1u << j;
    }
}

#ifdef QS_HAVE_ONEDNN
/* oneDNN's CPU engine, shared by every operator (its stream is per operator). Debian's
 * build runs on OpenMP: each call is made with one OpenMP thread (omp_set_num_threads on
 * the calling thread, put back after) so the engine's own split of the batch over its
 * threads stays the only parallelism. */
static dnnl_engine_t
onednn_engine (void)
{
  static gsize init = 0;
  static dnnl_engine_t engine;

  if (g_once_init_enter (&init))
    {
      if (dnnl_engine_create (&engine, dnnl_cpu, 0) != dnnl_success)
        {
          engine = NULL;
          g_debug ("oneDNN does not initialise on this CPU: the float engine uses XNNPACK or its own kernels");
        }
      QS_TSAN_RELEASE (&init);
      g_once_init_leave (&init, 1);
    }
  QS_TSAN_ACQUIRE (&init);
  return engine;
}
#endif

gboolean
_qs_xnn_library_available (QsXnnLibrary library)
{
  switch (library)
    {
    case QS_XNN_LIBRARY_XNNPACK:
#ifdef QS_HAVE_XNNPACK
      return library_init ();
#else
      return FALSE;
#endif
    case QS_XNN_LIBRARY_ONEDNN:
#ifdef QS_HAVE_ONEDNN
      return onednn_engine () != NULL;
#else
      return FALSE;
#endif
    default:
      return FALSE;
    }
}

static guint onednn_mask;

guint
_qs_xnn_classes (void)
{
  static gsize init = 0;
  static guint classes;

  if (g_once_init_enter (&init))
    {
      const char *level = g_getenv (QS_KERNELS_ENV);

      guint onednn;

      /* parsed first, so that a wrong word aborts on every build */
      parse_classes (g_getenv (QS_FLOAT_LIBRARY_ENV), &classes, &onednn);
      /* a forced level means our own kernels at that level */
      if (level != NULL && *level != '\0' && !g_str_equal (level, "auto"))
        classes = onednn = 0;
      if (onednn != 0 && !_qs_xnn_library_available (QS_XNN_LIBRARY_ONEDNN))
        onednn = 0;
      /* without XNNPACK, only the oneDNN classes */
      if (classes != 0 && !_qs_xnn_library_available (QS_XNN_LIBRARY_XNNPACK))
        classes &= onednn;
      onednn_mask = onednn & classes;
      QS_TSAN_RELEASE (&init);
      g_once_init_leave (&init, 1);
    }
  QS_TSAN_ACQUIRE (&init);
  return classes;
}

guint
_qs_xnn_onednn_classes (void)
{
  _qs_xnn_classes ();
  return onednn_mask;
}

QsXnnClass
_qs_xnn_conv_class (const QsConvParams *p)
{
  if (p->stride_height > 1 || p->stride_width > 1)
    return QS_XNN_CLASS_STRIDED;
  if (p->filter_height == 1 && p->filter_width == 1)
    return QS_XNN_CLASS_POINTWISE;
  return QS_XNN_CLASS_CONV;
}

const char *
_qs_xnn_describe (void)
{
  static char *text;
  static gsize init = 0;

  if (g_once_init_enter (&init))
    {
      guint classes = _qs_xnn_classes (), onednn = _qs_xnn_onednn_classes ();
      guint per_library[2] = { classes & ~onednn, onednn };

      if (classes != 0)
        {
          GString *s = g_string_new (NULL);

          for (int lib = 1; lib >= 0; lib--)
            {
              if (per_library[lib] == 0)
                continue;
              g_string_append_printf (s, "%s%s (", s->len > 0 ? ", " : "", library_names[lib]);
              for (guint j = 0; class_names[j] != NULL; j++)
                if (per_library[lib] & (1u << j))
                  g_string_append_printf (s, "%s%s", s->str[s->len - 1] == '(' ? "" : ", ", class_names[j]);
              g_string_append_c (s, ')');
            }
          text = g_string_free (s, FALSE);
        }
      QS_TSAN_RELEASE (&init);
      g_once_init_leave (&init, 1);
    }
  QS_TSAN_ACQUIRE (&init);
  return text;
}

#if defined (QS_HAVE_XNNPACK) || defined (QS_HAVE_ONEDNN)
/* TensorFlow's padding as explicit numbers: the rows below / columns right of the input
 * that make the library's output size the layer's. */
static gboolean
pad_after (gsize  in,
           gsize  out,
           gsize  k,
           gsize  stride,
           gsize  dilation,
           gsize  before,
           gsize *after)
{
  gsize eff = (k - 1) * dilation + 1;
  gssize total = (gssize) ((out - 1) * stride + eff) - (gssize) in - (gssize) before;

  *after = total > 0 ? (gsize) total : 0;
  /* the library's own output size must be the layer's */
  return in + before + *after >= eff && (in + before + *after - eff) / stride + 1 == out;
}

#endif

#ifdef QS_HAVE_XNNPACK
static QsXnnOp *
conv_new (const QsConvParams *p,
          gboolean            depthwise,
          const float        *filter,
          const float        *bias,
          float               out_min,
          float               out_max)
{
  g_autofree float *ohwi = NULL;
  gsize pb, pr;
  xnn_operator_t op = NULL;
  enum xnn_status status;
  QsXnnOp *result;

  if (!library_init ()
      || !pad_after (p->input_height, p->output_height, p->filter_height, p->stride_height,
                     p->dilation_height, p->pad_top, &pb)
      || !pad_after (p->input_width, p->output_width, p->filter_width, p->stride_width,
                     p->dilation_width, p->pad_left, &pr))
    return NULL;
  if (depthwise)
    status = xnn_create_convolution2d_nhwc_f32 (
      p->pad_top, pr, pb, p->pad_left, p->filter_height, p->filter_width,
      p->stride_height, p->stride_width, p->dilation_height, p->dilation_width,
      p->input_depth, 1, p->depth_multiplier, p->input_depth,
      p->input_depth * p->depth_multiplier, filter, bias, out_min, out_max,
      XNN_FLAG_DEPTHWISE_CONVOLUTION, &op);
  else
    {
      gsize taps = p->filter_height * p->filter_width, c = p->input_depth, f = p->output_depth;

      /* Keras [kh][kw][in][out] to the library's [out][kh][kw][in] */
      ohwi = g_new (float, taps * c * f);
      for (gsize t = 0; t < taps; t++)
        for (gsize i = 0; i < c; i++)
          for (gsize o = 0; o < f; o++)
            ohwi[(o * taps + t) * c + i] = filter[(t * c + i) * f + o];
      status = xnn_create_convolution2d_nhwc_f32 (
        p->pad_top, pr, pb, p->pad_left, p->filter_height, p->filter_width,
        p->stride_height, p->stride_width, p->dilation_height, p->dilation_width,
        1, c, f, c, f, ohwi, bias, out_min, out_max, 0, &op);
    }
  if (status != xnn_status_success)
    return NULL;
  result = g_new0 (QsXnnOp, 1);
  result->library = QS_XNN_LIBRARY_XNNPACK;
  result->op = op;
  result->input_height = p->input_height;
  result->input_width = p->input_width;
  return result;
}
#endif

#ifdef QS_HAVE_ONEDNN
#define DNNL_OK(call) ((call) == dnnl_success)

typedef struct OnednnWeights
{
  gatomicrefcount ref_count;
  dnnl_memory_t   memory;    /* owns the buffer */
} OnednnWeights;

static void
onednn_weights_unref (OnednnWeights *w)
{
  if (w != NULL && g_atomic_ref_count_dec (&w->ref_count))
    {
      dnnl_memory_destroy (w->memory);
      g_free (w);
    }
}

static void
onednn_op_free (QsXnnOp *op)
{
  dnnl_primitive_destroy (op->conv);
  dnnl_memory_destroy (op->src);
  if (op->shared == NULL || op->weights != op->shared->memory)
    dnnl_memory_destroy (op->weights);
  onednn_weights_unref (op->shared);
  dnnl_memory_destroy (op->bias);
  dnnl_memory_destroy (op->dst);
  dnnl_memory_destroy (op->scratchpad);
  dnnl_stream_destroy (op->stream);
}

/* A memory object on the engine from a descriptor: its own buffer (handle NULL) or none
 * (the caller sets it per run). */
static dnnl_memory_t
onednn_memory (const dnnl_memory_desc_t *md,
               gboolean                  allocate)
{
  dnnl_memory_t m = NULL;

  if (!DNNL_OK (dnnl_memory_create (&m, md, onednn_engine (), allocate ? DNNL_MEMORY_ALLOCATE : DNNL_MEMORY_NONE)))
    return NULL;
  return m;
}

/* One image per call (N = 1): the primitive is the same whatever the micro-batch, so each
 * image is computed by the same code in the same order whatever the batch and thread split
 * (the engine's determinism), and the weights are reordered once. */
static QsXnnOp *
onednn_conv_new (const QsConvParams *p,
                 const float        *filter,
                 const float        *bias,
                 float               out_min,
                 float               out_max,
                 QsXnnOp            *twin)
{
  dnnl_engine_t engine = onednn_engine ();
  dnnl_memory_desc_t src_md, wei_md, keras_md, bias_md, dst_md;
  const dnnl_memory_desc_t *chosen, *scratch_md;
  dnnl_convolution_desc_t desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t post_ops = NULL;
  dnnl_primitive_desc_t pd = NULL, reorder_pd = NULL;
  dnnl_primitive_t reorder = NULL;
  dnnl_memory_t keras = NULL;
  gsize pb, pr;
  gboolean ok = FALSE;
  int saved_threads;
  QsXnnOp *op;

  if (engine == NULL
      || !pad_after (p->input_height, p->output_height, p->filter_height, p->stride_height,
                     p->dilation_height, p->pad_top, &pb)
      || !pad_after (p->input_width, p->output_width, p->filter_width, p->stride_width,
                     p->dilation_width, p->pad_left, &pr))
    return NULL;

  {
    dnnl_dims_t src_dims = { 1, (dnnl_dim_t) p->input_depth, (dnnl_dim_t) p->input_height, (dnnl_dim_t) p->input_width };
    dnnl_dims_t wei_dims = { (dnnl_dim_t) p->output_depth, (dnnl_dim_t) p->input_depth,
                             (dnnl_dim_t) p->filter_height, (dnnl_dim_t) p->filter_width };
    dnnl_dims_t bias_dims = { (dnnl_dim_t) p->output_depth };
    dnnl_dims_t dst_dims = { 1, (dnnl_dim_t) p->output_depth, (dnnl_dim_t) p->output_height, (dnnl_dim_t) p->output_width };
    dnnl_dims_t strides = { (dnnl_dim_t) p->stride_height, (dnnl_dim_t) p->stride_width };
    /* oneDNN counts dilation from 0 (no gap), Keras from 1 */
    dnnl_dims_t dilates = { (dnnl_dim_t) p->dilation_height - 1, (dnnl_dim_t) p->dilation_width - 1 };
    dnnl_dims_t pad_l = { (dnnl_dim_t) p->pad_top, (dnnl_dim_t) p->pad_left };
    dnnl_dims_t pad_r = { (dnnl_dim_t) pb, (dnnl_dim_t) pr };

    if (!DNNL_OK (dnnl_memory_desc_init_by_tag (&src_md, 4, src_dims, dnnl_f32, dnnl_nhwc))
        || !DNNL_OK (dnnl_memory_desc_init_by_tag (&dst_md, 4, dst_dims, dnnl_f32, dnnl_nhwc))
        || !DNNL_OK (dnnl_memory_desc_init_by_tag (&wei_md, 4, wei_dims, dnnl_f32, dnnl_format_tag_any))
        /* Keras [kh][kw][in][out] is oneDNN's hwio */
        || !DNNL_OK (dnnl_memory_desc_init_by_tag (&keras_md, 4, wei_dims, dnnl_f32, dnnl_hwio))
        || !DNNL_OK (dnnl_memory_desc_init_by_tag (&bias_md, 1, bias_dims, dnnl_f32, dnnl_x))
        || !DNNL_OK (dnnl_dilated_convolution_forward_desc_init (
                       &desc, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &wei_md,
                       bias != NULL ? &bias_md : NULL, &dst_md, strides, dilates, pad_l, pad_r)))
      return NULL;
  }

  op = g_new0 (QsXnnOp, 1);
  op->library = QS_XNN_LIBRARY_ONEDNN;
  op->input_height = p->input_height;
  op->input_width = p->input_width;
  op->in_per_image = p->input_height * p->input_width * p->input_depth;
  op->out_per_image = p->output_height * p->output_width * p->output_depth;
  saved_threads = omp_get_max_threads ();
  omp_set_num_threads (1);
  if (!DNNL_OK (dnnl_primitive_attr_create (&attr))
      || !DNNL_OK (dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user))
      || !DNNL_OK (dnnl_post_ops_create (&post_ops)))
    goto out;
  /* the fused clamp: ReLU, ReLU6 and other bounds as eltwise post-ops */
  if (out_min == 0.0f && out_max == INFINITY)
    ok = DNNL_OK (dnnl_post_ops_append_eltwise (post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
  else if (out_min != -INFINITY || out_max != INFINITY)
    ok = DNNL_OK (dnnl_post_ops_append_eltwise (post_ops, 1.0f, dnnl_eltwise_clip,
                                                MAX (out_min, -FLT_MAX), MIN (out_max, FLT_MAX)));
  else
    ok = TRUE;
  if (!ok || !DNNL_OK (dnnl_primitive_attr_set_post_ops (attr, post_ops))
      || !DNNL_OK (dnnl_primitive_desc_create (&pd, &desc, attr, engine, NULL)))
    {
      ok = FALSE;
      goto out;
    }
  ok = FALSE;
  chosen = dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0);
  scratch_md = dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0);
  if (chosen == NULL
      || !DNNL_OK (dnnl_primitive_create (&op->conv, pd))
      || !DNNL_OK (dnnl_stream_create (&op->stream, engine, dnnl_stream_default_flags))
      || (op->src = onednn_memory (&src_md, FALSE)) == NULL
      || (op->dst = onednn_memory (&dst_md, FALSE)) == NULL
      || (scratch_md != NULL && dnnl_memory_desc_get_size (scratch_md) > 0
          && (op->scratchpad = onednn_memory (scratch_md, TRUE)) == NULL)
      || (keras = onednn_memory (&keras_md, FALSE)) == NULL
      || !DNNL_OK (dnnl_memory_set_data_handle (keras, (void *) filter)))
    goto out;
  if (bias != NULL
      && ((op->bias = onednn_memory (&bias_md, FALSE)) == NULL
          || !DNNL_OK (dnnl_memory_set_data_handle (op->bias, (void *) bias))))
    goto out;
  /* the weights of the same layer's operator in another workspace, when the primitive
   * chose the same format: read in place (issue 16: one copy, not one per worker) */
  if (twin != NULL && twin->library == QS_XNN_LIBRARY_ONEDNN && twin->shared != NULL)
    {
      const dnnl_memory_desc_t *twin_md = NULL;
      void *handle = NULL;

      if (DNNL_OK (dnnl_memory_get_memory_desc (twin->shared->memory, &twin_md))
          && dnnl_memory_desc_equal (twin_md, chosen)
          && DNNL_OK (dnnl_memory_get_data_handle (twin->shared->memory, &handle))
          && (op->weights = onednn_memory (chosen, FALSE)) != NULL
          && DNNL_OK (dnnl_memory_set_data_handle (op->weights, handle)))
        {
          op->shared = twin->shared;
          g_atomic_ref_count_inc (&op->shared->ref_count);
          ok = TRUE;
          goto out;
        }
      g_clear_pointer (&op->weights, dnnl_memory_destroy);
    }
  if ((op->weights = onednn_memory (chosen, TRUE)) == NULL)
    goto out;
  op->shared = g_new0 (OnednnWeights, 1);
  g_atomic_ref_count_init (&op->shared->ref_count);
  op->shared->memory = op->weights;
  /* the weights into the format the primitive chose, once (the bias is used in place) */
  {
    dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, keras }, { DNNL_ARG_TO, op->weights } };

    if (!DNNL_OK (dnnl_reorder_primitive_desc_create (&reorder_pd, &keras_md, engine, chosen, engine, NULL))
        || !DNNL_OK (dnnl_primitive_create (&reorder, reorder_pd))
        || !DNNL_OK (dnnl_primitive_execute (reorder, op->stream, 2, args))
        || !DNNL_OK (dnnl_stream_wait (op->stream)))
      goto out;
  }
  ok = TRUE;
out:
  omp_set_num_threads (saved_threads);
  dnnl_primitive_destroy (reorder);
  dnnl_primitive_desc_destroy (reorder_pd);
  dnnl_memory_destroy (keras);
  dnnl_primitive_desc_destroy (pd);
  dnnl_post_ops_destroy (post_ops);
  dnnl_primitive_attr_destroy (attr);
  if (!ok)
    {
      onednn_op_free (op);
      g_clear_pointer (&op, g_free);
    }
  return op;
}

static gboolean
onednn_run (QsXnnOp     *op,
            gsize        batch,
            const float *input,
            float       *output)
{
  dnnl_exec_arg_t args[] = {
    { DNNL_ARG_SRC, op->src }, { DNNL_ARG_WEIGHTS, op->weights }, { DNNL_ARG_DST, op->dst },
    { DNNL_ARG_SCRATCHPAD, op->scratchpad }, { DNNL_ARG_BIAS, op->bias },
  };
  int n_args = 3 + (op->scratchpad != NULL);
  int saved_threads = omp_get_max_threads ();
  gboolean ok = TRUE;

  if (op->bias != NULL)
    {
      args[n_args] = args[4];
      n_args++;
    }
  omp_set_num_threads (1);
  for (gsize b = 0; b < batch && ok; b++)
    ok = DNNL_OK (dnnl_memory_set_data_handle (op->src, (void *) (input + b * op->in_per_image)))
         && DNNL_OK (dnnl_memory_set_data_handle (op->dst, output + b * op->out_per_image))
         && DNNL_OK (dnnl_primitive_execute (op->conv, op->stream, n_args, args));
  ok = ok && DNNL_OK (dnnl_stream_wait (op->stream));
  omp_set_num_threads (saved_threads);
  return ok;
}
#endif

QsXnnOp *
_qs_xnn_conv_new_with (QsXnnLibrary        library,
                       const QsConvParams *p,
                       const float        *filter,
                       const float        *bias,
                       float               out_min,
                       float               out_max)
{
  if (!_qs_xnn_library_available (library))
    return NULL;
#ifdef QS_HAVE_ONEDNN
  if (library == QS_XNN_LIBRARY_ONEDNN)
    return onednn_conv_new (p, filter, bias, out_min, out_max, NULL);
#endif
#ifdef QS_HAVE_XNNPACK
  if (library == QS_XNN_LIBRARY_XNNPACK)
    return conv_new (p, FALSE, filter, bias, out_min, out_max);
#endif
  (void) p, (void) filter, (void) bias, (void) out_min, (void) out_max;
  return NULL;
}

QsXnnOp *
_qs_xnn_conv_new (const QsConvParams *p,
                  const float        *filter,
                  const float        *bias,
                  float               out_min,
                  float               out_max)
{
  QsXnnOp *op = NULL;

  if (_qs_xnn_onednn_classes () & _qs_xnn_conv_class (p))
    op = _qs_xnn_conv_new_with (QS_XNN_LIBRARY_ONEDNN, p, filter, bias, out_min, out_max);
  /* oneDNN refused the shape: XNNPACK, else the caller's own kernels */
  if (op == NULL)
    op = _qs_xnn_conv_new_with (QS_XNN_LIBRARY_XNNPACK, p, filter, bias, out_min, out_max);
  return op;
}

QsXnnOp *
_qs_xnn_conv_new_like (QsXnnOp            *twin,
                       const QsConvParams *p,
                       const float        *filter,
                       const float        *bias,
                       float               out_min,
                       float               out_max)
{
  if (twin == NULL)
    return _qs_xnn_conv_new (p, filter, bias, out_min, out_max);
#ifdef QS_HAVE_ONEDNN
  if (twin->library == QS_XNN_LIBRARY_ONEDNN)
    {
      QsXnnOp *op = onednn_conv_new (p, filter, bias, out_min, out_max, twin);

      if (op != NULL)
        return op;
    }
#endif
  return _qs_xnn_conv_new_with (twin->library, p, filter, bias, out_min, out_max);
}

gboolean
_qs_xnn_op_shares_weights (QsXnnOp *a,
                           QsXnnOp *b)
{
#ifdef QS_HAVE_ONEDNN
  return a != NULL && b != NULL && a->library == QS_XNN_LIBRARY_ONEDNN
         && b->library == QS_XNN_LIBRARY_ONEDNN && a->shared != NULL && a->shared == b->shared;
#else
  (void) a, (void) b;
  return FALSE;
#endif
}

QsXnnOp *
_qs_xnn_depthwise_new (const QsDepthwiseParams *p,
                       const float             *filter,
                       const float             *bias,
                       float                    out_min,
                       float                    out_max)
{
#ifdef QS_HAVE_XNNPACK
  return conv_new (p, TRUE, filter, bias, out_min, out_max);
#else
  (void) p, (void) filter, (void) bias, (void) out_min, (void) out_max;
  return NULL;
#endif
}

QsXnnOp *
_qs_xnn_dense_new (gsize        k,
                   gsize        n,
                   const float *w,
                   const float *bias,
                   float        out_min,
                   float        out_max)
{
#ifdef QS_HAVE_XNNPACK
  xnn_operator_t op = NULL;
  QsXnnOp *result;

  if (!library_init ()
      || xnn_create_fully_connected_nc_f32 (k, n, k, n, w, bias, out_min, out_max,
                                            XNN_FLAG_TRANSPOSE_WEIGHTS, &op) != xnn_status_success)
    return NULL;
  result = g_new0 (QsXnnOp, 1);
  result->library = QS_XNN_LIBRARY_XNNPACK;
  result->op = op;
  result->dense = TRUE;
  return result;
#else
  (void) k, (void) n, (void) w, (void) bias, (void) out_min, (void) out_max;
  return NULL;
#endif
}

gboolean
_qs_xnn_op_run (QsXnnOp     *op,
                gsize        batch,
                const float *input,
                float       *output)
{
#ifdef QS_HAVE_ONEDNN
  if (op->library == QS_XNN_LIBRARY_ONEDNN)
    return onednn_run (op, batch, input, output);
#endif
#ifdef QS_HAVE_XNNPACK
  enum xnn_status status;

  if (op->dense)
    status = xnn_setup_fully_connected_nc_f32 (op->op, batch, input, output, NULL);
  else
    status = xnn_setup_convolution2d_nhwc_f32 (op->op, batch, op->input_height, op->input_width,
                                               input, output, NULL);
  return status == xnn_status_success && xnn_run_operator (op->op, NULL) == xnn_status_success;
#else
  (void) op, (void) batch, (void) input, (void) output;
  return FALSE;
#endif
}

void
_qs_xnn_op_free (QsXnnOp *op)
{
  if (op == NULL)
    return;
#ifdef QS_HAVE_ONEDNN
  if (op->library == QS_XNN_LIBRARY_ONEDNN)
    onednn_op_free (op);
#endif
#ifdef QS_HAVE_XNNPACK
  if (op->library == QS_XNN_LIBRARY_XNNPACK)
    xnn_delete_operator (op->op);
#endif
  g_free (op);
}
