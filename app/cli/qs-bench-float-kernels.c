/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "qs-cli-bench.h"
#include "qs-kernels.h"
#include "qs-kernels-float-xnn.h"
#include "quantscope-core.h"

/* Bench group "float-kernels" (issue 16): each layer class of the float engine on the
 * ResNet-18 and MobileNetV2 shapes, one image, one thread: our own kernel at the level in
 * use against XNNPACK and, for convolutions, oneDNN (each when built and the float engine
 * uses a library at all), so the engine's choice per class (qs-kernels-float-xnn.c,
 * DEFAULT_CLASSES, DEFAULT_ONEDNN_CLASSES) can be checked by measurement. Results:
 * float-kernel-ID-own, -xnnpack and -onednn in ms, vs_own = own time / that time (the
 * bench header's float kernels line says which library the engine picks per class). */

typedef struct
{
  const char *id;
  int         kind;          /* 0 conv, 1 depthwise, 2 dense (h = rows) */
  gsize       h, w, c, f, k, s;
} Shape;

static const Shape shapes[] = {
  { "conv3x3-56x56x64-64", 0, 56, 56, 64, 64, 3, 1 },
  { "conv3x3-14x14x256-256", 0, 14, 14, 256, 256, 3, 1 },
  { "strided3x3-56x56x64-128", 0, 56, 56, 64, 128, 3, 2 },
  { "strided1x1-56x56x64-128", 0, 56, 56, 64, 128, 1, 2 },
  { "strided3x3-224x224x3-32", 0, 224, 224, 3, 32, 3, 2 },
  { "pointwise-56x56x24-144", 0, 56, 56, 24, 144, 1, 1 },
  { "pointwise-14x14x384-64", 0, 14, 14, 384, 64, 1, 1 },
  { "depthwise3x3s2-112x112x96", 1, 112, 112, 96, 96, 3, 2 },
  { "depthwise3x3-56x56x144", 1, 56, 56, 144, 144, 3, 1 },
  { "depthwise3x3-14x14x384", 1, 14, 14, 384, 384, 3, 1 },
  { "dense-8x512-1000", 2, 8, 1, 512, 1000, 1, 1 },
};

typedef struct
{
  const Shape          *shape;
  const QsFloatKernels *own;
  QsConvParams          p;
  QsXnnOp              *op, *op_onednn;
  float                *in, *w, *bias, *out, *patches;
} Job;

static void
run_own (gpointer data)
{
  Job *j = data;
  const Shape *sh = j->shape;

  if (sh->kind == 2)
    j->own->gemm (j->in, sh->c, sh->h, sh->c, j->w, sh->f, j->bias, j->out, sh->f);
  else if (sh->kind == 1)
    j->own->depthwise (&j->p, j->in, j->w, j->bias, j->out);
  else
    qs_conv_f32 (j->own, &j->p, j->in, j->w, j->bias, j->out, j->patches);
}

static void
run_library (gpointer data)
{
  Job *j = data;

  _qs_xnn_op_run (j->op, j->shape->kind == 2 ? j->shape->h : 1, j->in, j->out);
}

static void
run_onednn (gpointer data)
{
  Job *j = data;

  _qs_xnn_op_run (j->op_onednn, 1, j->in, j->out);
}

void
qs_bench_float_kernels (QsBench *bench)
{
  int reps = qs_bench_quick (bench) ? 2 : 7;

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      const Shape *sh = &shapes[i];
      Job j = { sh, qs_float_kernels_get () };
      gsize in_n, out_n, wn;
      gssize total;
      double t_own, t_lib;
      g_autofree char *name_own = g_strdup_printf ("float-kernel-%s-own", sh->id);
      g_autofree char *name_lib = g_strdup_printf ("float-kernel-%s-xnnpack", sh->id);
      g_autofree char *name_onednn = g_strdup_printf ("float-kernel-%s-onednn", sh->id);

      j.p = (QsConvParams) {
        .input_height = sh->h, .input_width = sh->w, .input_depth = sh->c,
        .output_height = (sh->h + sh->s - 1) / sh->s, .output_width = (sh->w + sh->s - 1) / sh->s,
        .output_depth = sh->kind == 1 ? sh->c : sh->f,
        .filter_height = sh->k, .filter_width = sh->k, .stride_height = sh->s, .stride_width = sh->s,
        .dilation_height = 1, .dilation_width = 1, .depth_multiplier = 1,
      };
      /* TensorFlow SAME */
      total = (gssize) ((j.p.output_height - 1) * sh->s + sh->k) - (gssize) sh->h;
      j.p.pad_top = j.p.pad_left = total > 0 ? (gsize) total / 2 : 0;
      in_n = sh->h * sh->w * sh->c;
      out_n = sh->kind == 2 ? sh->h * sh->f : j.p.output_height * j.p.output_width * j.p.output_depth;
      wn = sh->kind == 1 ? sh->k * sh->k * sh->c : sh->k * sh->k * sh->c * sh->f;
      j.in = g_new0 (float, in_n + 16);   /* XNNPACK may read 16 bytes past it */
      j.w = g_new (float, wn);
      j.bias = g_new0 (float, j.p.output_depth);
      j.out = g_new (float, out_n);
      j.patches = g_new (float, 4 * sh->k * sh->k * sh->c);
      for (gsize x = 0; x < in_n; x++)
        j.in[x] = (float) (x % 7) * 0.1f;
      for (gsize x = 0; x < wn; x++)
        j.w[x] = (float) (x % 5) * 0.01f - 0.02f;
      if (_qs_xnn_classes () != 0)
        {
          j.op = sh->kind == 2 ? _qs_xnn_dense_new (sh->c, sh->f, j.w, j.bias, -INFINITY, INFINITY)
                 : sh->kind == 1 ? _qs_xnn_depthwise_new (&j.p, j.w, j.bias, -INFINITY, INFINITY)
                 : _qs_xnn_conv_new_with (QS_XNN_LIBRARY_XNNPACK, &j.p, j.w, j.bias, -INFINITY, INFINITY);
          if (sh->kind == 0)
            {
              j.op_onednn = _qs_xnn_conv_new_with (QS_XNN_LIBRARY_ONEDNN, &j.p, j.w, j.bias,
                                                   -INFINITY, INFINITY);
            }
        }
      t_own = qs_bench_best_seconds (reps, run_own, &j);
      qs_bench_add_ms (bench, name_own, t_own * 1e3, "vs_own", 1.0);
      if (j.op != NULL)
        {
          t_lib = qs_bench_best_seconds (reps, run_library, &j);
          qs_bench_add_ms (bench, name_lib, t_lib * 1e3, "vs_own", t_own / t_lib);
        }
      if (j.op_onednn != NULL)
        {
          t_lib = qs_bench_best_seconds (reps, run_onednn, &j);
          qs_bench_add_ms (bench, name_onednn, t_lib * 1e3, "vs_own", t_own / t_lib);
        }
      _qs_xnn_op_free (j.op);
      _qs_xnn_op_free (j.op_onednn);
      g_free (j.in);
      g_free (j.w);
      g_free (j.bias);
      g_free (j.out);
      g_free (j.patches);
    }
}
