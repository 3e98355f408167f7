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

/* See qs-kernels-float-xnn.h. The class names are QS_FLOAT_LIBRARY's words. */
static const char *const class_names[] = { "conv", "pointwise", "strided", "depthwise", "dense", NULL };
#define ALL_CLASSES ((1u << 5) - 1)
/* Measured on ResNet-18 and MobileNetV2 (docs/BENCHMARKS.md, issue 16): XNNPACK is faster
 * than our own AVX2 kernels for every class. */
#define DEFAULT_CLASSES ALL_CLASSES

#define QS_FLOAT_LIBRARY_ENV "QS_FLOAT_LIBRARY"

struct _QsXnnOp
{
#ifdef QS_HAVE_XNNPACK
  xnn_operator_t op;
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

static guint
parse_classes (const char *word)
{
  g_auto(GStrv) parts = NULL;
  guint mask = 0;

  if (word == NULL || *word == '\0' || g_str_equal (word, "auto"))
    return DEFAULT_CLASSES;
  if (g_str_equal (word, "own"))
    return 0;
  if (g_str_equal (word, "xnnpack"))
    return ALL_CLASSES;
  parts = g_strsplit (word, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint j;

      for (j = 0; class_names[j] != NULL; j++)
        if (g_str_equal (g_strstrip (parts[i]), class_names[j]))
          break;
      if (class_names[j] == NULL)
        {
          g_autofree char *all = g_strjoinv (",", (char **) class_names);

          g_error ("%s=%s: “%s” is not a layer class. Valid: auto, own, xnnpack or a list of %s",
                   QS_FLOAT_LIBRARY_ENV, word, parts[i], all);
        }
      mask |= 1u << j;
    }
  return mask;
}

guint
_qs_xnn_classes (void)
{
  static gsize init = 0;
  static guint classes;

  if (g_once_init_enter (&init))
    {
      const char *level = g_getenv (QS_KERNELS_ENV);

      /* parsed first, so that a wrong word aborts on every build */
      classes = parse_classes (g_getenv (QS_FLOAT_LIBRARY_ENV));
      /* a forced level means our own kernels at that level */
      if (level != NULL && *level != '\0' && !g_str_equal (level, "auto"))
        classes = 0;
#ifdef QS_HAVE_XNNPACK
      if (classes != 0 && !library_init ())
        classes = 0;
#else
      classes = 0;
#endif
      QS_TSAN_RELEASE (&init);
      g_once_init_leave (&init, 1);
    }
  QS_TSAN_ACQUIRE (&init);
  return classes;
}

const char *
_qs_xnn_describe (void)
{
  static char *text;
  static gsize init = 0;

  if (g_once_init_enter (&init))
    {
      guint classes = _qs_xnn_classes ();

      if (classes != 0)
        {
          GString *s = g_string_new ("xnnpack (");

          for (guint j = 0; class_names[j] != NULL; j++)
            if (classes & (1u << j))
              g_string_append_printf (s, "%s%s", s->str[s->len - 1] == '(' ? "" : ", ", class_names[j]);
          g_string_append_c (s, ')');
          text = g_string_free (s, FALSE);
        }
      QS_TSAN_RELEASE (&init);
      g_once_init_leave (&init, 1);
    }
  QS_TSAN_ACQUIRE (&init);
  return text;
}

#ifdef QS_HAVE_XNNPACK
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
  result->op = op;
  result->input_height = p->input_height;
  result->input_width = p->input_width;
  return result;
}
#endif

QsXnnOp *
_qs_xnn_conv_new (const QsConvParams *p,
                  const float        *filter,
                  const float        *bias,
                  float               out_min,
                  float               out_max)
{
#ifdef QS_HAVE_XNNPACK
  return conv_new (p, FALSE, filter, bias, out_min, out_max);
#else
  (void) p, (void) filter, (void) bias, (void) out_min, (void) out_max;
  return NULL;
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
#ifdef QS_HAVE_XNNPACK
  xnn_delete_operator (op->op);
#endif
  g_free (op);
}
