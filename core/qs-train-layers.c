/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qs-kernels-float.h"
#include "qs-train-private.h"

/* Forward and backward kernels of the trainer, NHWC, one image at a time over a range
 * [s0, s1) of the batch. Every loop has a fixed order, so a chunk's results do not depend
 * on which thread runs it. Weight layouts are Keras': Dense [in, out], Conv2D
 * [kh, kw, in, out], DepthwiseConv2D [kh, kw, in, mult]. */

static inline void
axpy (float       *restrict y,
      const float *restrict x,
      float                 a,
      gsize                 n)
{
  for (gsize i = 0; i < n; i++)
    y[i] += a * x[i];
}

static inline void
axpy_mul (float       *restrict y,
          const float *restrict x,
          const float *restrict a,
          gsize                 n)
{
  for (gsize i = 0; i < n; i++)
    y[i] += a[i] * x[i];
}

static inline float
dot (const float *restrict a,
     const float *restrict b,
     gsize                 n)
{
  float acc[8] = { 0 };
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    for (gsize k = 0; k < 8; k++)
      acc[k] += a[i + k] * b[i + k];
  for (; i < n; i++)
    acc[0] += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline QsTNode *
input_node (QsTrainNet *net,
            QsTNode    *node,
            guint       i)
{
  return g_ptr_array_index (net->nodes, node->inputs[i]);
}

static inline float *
param (QsTrainNet *net,
       gint        index)
{
  QsTParam *p = g_ptr_array_index (net->param_list, index);

  return net->params + p->offset;
}

static inline gsize
param_offset (QsTrainNet *net,
              gint        index)
{
  QsTParam *p = g_ptr_array_index (net->param_list, index);

  return p->offset;
}

const float *
_qs_tnode_kernel (QsTrainNet *net,
                  QsTNode    *node)
{
  if (node->quant.weights && node->quant.kernel_q != NULL)
    return node->quant.kernel_q;
  return param (net, node->p_kernel);
}

/* --- activations --- */

static gboolean
has_activation (QsTNode *node)
{
  switch (node->kind)
    {
    case QS_TNODE_DENSE:
    case QS_TNODE_CONV2D:
    case QS_TNODE_DEPTHWISE:
    case QS_TNODE_ACTIVATION:
      return node->act == QS_ACTIVATION_RELU;
    default:
      return FALSE;
    }
}

static void
activation_forward (QsTNode *node,
                    float   *y,
                    gsize    n)
{
  QsActivationParams p = { QS_ACTIVATION_RELU, node->relu_max, 0.0f, 0.0f, 0.0f };

  qs_activation_f32 (&p, y, n, 1);
}

static void
activation_backward (QsTNode     *node,
                     const float *y,
                     float       *g,
                     gsize        n)
{
  if (node->relu_max < 0)
    {
      for (gsize i = 0; i < n; i++)
        if (!(y[i] > 0.0f))
          g[i] = 0.0f;
    }
  else
    {
      float hi = node->relu_max;

      for (gsize i = 0; i < n; i++)
        if (!(y[i] > 0.0f && y[i] < hi))
          g[i] = 0.0f;
    }
}

/* --- Dense --- */

/* Dense is the 1 x 1 sparse convolution of a 1 x 1 x n_in image. */
static void
dense_forward (QsTrainNet *net,
               QsTNode    *node,
               gsize       s0,
               gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  const float *kernel = _qs_tnode_kernel (net, node);
  const float *bias = node->use_bias ? param (net, node->p_bias) : NULL;
  gsize n_in = in->size, n_out = node->size;
  QsConvParams p = {
    .input_height = 1, .input_width = 1, .input_depth = n_in,
    .output_height = 1, .output_width = 1, .output_depth = n_out,
    .filter_height = 1, .filter_width = 1, .stride_height = 1, .stride_width = 1,
    .dilation_height = 1, .dilation_width = 1, .depth_multiplier = 1,
  };

  for (gsize s = s0; s < s1; s++)
    qs_conv_f32_sparse (&p, in->out + s * n_in, kernel, bias, node->out + s * n_out);
}

static void
dense_backward (QsTrainNet *net,
                QsTNode    *node,
                gsize       s0,
                gsize       s1,
                float      *pgrad)
{
  QsTNode *in = input_node (net, node, 0);
  const float *kernel = _qs_tnode_kernel (net, node);
  float *gk = pgrad + param_offset (net, node->p_kernel);
  float *gb = node->use_bias ? pgrad + param_offset (net, node->p_bias) : NULL;
  gsize n_in = in->size, n_out = node->size;

  for (gsize s = s0; s < s1; s++)
    {
      const float *x = in->out + s * n_in;
      const float *g = node->grad + s * n_out;

      if (gb != NULL)
        axpy (gb, g, 1.0f, n_out);
      for (gsize i = 0; i < n_in; i++)
        if (x[i] != 0.0f)
          axpy (gk + i * n_out, g, x[i], n_out);
      if (in->needs_grad)
        {
          float *gx = in->grad + s * n_in;

          for (gsize i = 0; i < n_in; i++)
            gx[i] += dot (kernel + i * n_out, g, n_out);
        }
    }
}

/* --- Conv2D and DepthwiseConv2D --- */

/* The kernel parameters of a convolution or pooling node (no dilation). */
static void
node_conv_params (QsTNode      *node,
                  QsTNode      *in,
                  QsConvParams *p)
{
  *p = (QsConvParams) {
    .input_height = in->h, .input_width = in->w, .input_depth = in->c,
    .output_height = node->h, .output_width = node->w, .output_depth = node->c,
    .filter_height = node->kh, .filter_width = node->kw,
    .stride_height = node->sh, .stride_width = node->sw,
    .dilation_height = 1, .dilation_width = 1,
    .pad_top = node->pad_top, .pad_left = node->pad_left,
    .depth_multiplier = node->kind == QS_TNODE_DEPTHWISE ? node->mult : 1,
  };
}

static void
conv_forward (QsTrainNet *net,
              QsTNode    *node,
              gsize       s0,
              gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  const float *kernel = _qs_tnode_kernel (net, node);
  const float *bias = node->use_bias ? param (net, node->p_bias) : NULL;
  QsConvParams p;

  node_conv_params (node, in, &p);
  for (gsize s = s0; s < s1; s++)
    qs_conv_f32_sparse (&p, in->out + s * in->size, kernel, bias, node->out + s * node->size);
}

static void
conv_backward (QsTrainNet *net,
               QsTNode    *node,
               gsize       s0,
               gsize       s1,
               float      *pgrad)
{
  QsTNode *in = input_node (net, node, 0);
  const float *kernel = _qs_tnode_kernel (net, node);
  float *gk = pgrad + param_offset (net, node->p_kernel);
  float *gb = node->use_bias ? pgrad + param_offset (net, node->p_bias) : NULL;
  gsize ih_n = in->h, iw_n = in->w, cin = in->c, cout = node->c;

  for (gsize s = s0; s < s1; s++)
    {
      const float *x = in->out + s * in->size;
      const float *gyb = node->grad + s * node->size;
      float *gxb = in->needs_grad ? in->grad + s * in->size : NULL;

      for (gsize oh = 0; oh < node->h; oh++)
        for (gsize ow = 0; ow < node->w; ow++)
          {
            const float *g = gyb + (oh * node->w + ow) * cout;

            if (gb != NULL)
              axpy (gb, g, 1.0f, cout);
            for (guint kh = 0; kh < node->kh; kh++)
              {
                gssize ih = (gssize) (oh * node->sh + kh) - node->pad_top;

                if (ih < 0 || ih >= (gssize) ih_n)
                  continue;
                for (guint kw = 0; kw < node->kw; kw++)
                  {
                    gssize iw = (gssize) (ow * node->sw + kw) - node->pad_left;
                    gsize pix, koff;
                    const float *xp;

                    if (iw < 0 || iw >= (gssize) iw_n)
                      continue;
                    pix = ((gsize) ih * iw_n + (gsize) iw) * cin;
                    koff = ((gsize) kh * node->kw + kw) * cin * cout;
                    xp = x + pix;
                    for (gsize ci = 0; ci < cin; ci++)
                      if (xp[ci] != 0.0f)
                        axpy (gk + koff + ci * cout, g, xp[ci], cout);
                    if (gxb != NULL)
                      for (gsize ci = 0; ci < cin; ci++)
                        gxb[pix + ci] += dot (kernel + koff + ci * cout, g, cout);
                  }
              }
          }
    }
}

static void
depthwise_forward (QsTrainNet *net,
                   QsTNode    *node,
                   gsize       s0,
                   gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  const float *kernel = _qs_tnode_kernel (net, node);
  const float *bias = node->use_bias ? param (net, node->p_bias) : NULL;
  QsDepthwiseParams p;

  node_conv_params (node, in, &p);
  for (gsize s = s0; s < s1; s++)
    qs_depthwise_f32_ref (&p, in->out + s * in->size, kernel, bias, node->out + s * node->size);
}

static void
depthwise_backward (QsTrainNet *net,
                    QsTNode    *node,
                    gsize       s0,
                    gsize       s1,
                    float      *pgrad)
{
  QsTNode *in = input_node (net, node, 0);
  const float *kernel = _qs_tnode_kernel (net, node);
  float *gk = pgrad + param_offset (net, node->p_kernel);
  float *gb = node->use_bias ? pgrad + param_offset (net, node->p_bias) : NULL;
  gsize ih_n = in->h, iw_n = in->w, cin = in->c, cout = node->c, mult = node->mult;

  for (gsize s = s0; s < s1; s++)
    {
      const float *x = in->out + s * in->size;
      const float *gyb = node->grad + s * node->size;
      float *gxb = in->needs_grad ? in->grad + s * in->size : NULL;

      for (gsize oh = 0; oh < node->h; oh++)
        for (gsize ow = 0; ow < node->w; ow++)
          {
            const float *g = gyb + (oh * node->w + ow) * cout;

            if (gb != NULL)
              axpy (gb, g, 1.0f, cout);
            for (guint kh = 0; kh < node->kh; kh++)
              {
                gssize ih = (gssize) (oh * node->sh + kh) - node->pad_top;

                if (ih < 0 || ih >= (gssize) ih_n)
                  continue;
                for (guint kw = 0; kw < node->kw; kw++)
                  {
                    gssize iw = (gssize) (ow * node->sw + kw) - node->pad_left;
                    gsize pix, koff;

                    if (iw < 0 || iw >= (gssize) iw_n)
                      continue;
                    pix = ((gsize) ih * iw_n + (gsize) iw) * cin;
                    koff = ((gsize) kh * node->kw + kw) * cout;
                    if (mult == 1)
                      {
                        axpy_mul (gk + koff, g, x + pix, cout);
                        if (gxb != NULL)
                          axpy_mul (gxb + pix, g, kernel + koff, cout);
                      }
                    else
                      for (gsize ci = 0; ci < cin; ci++)
                        {
                          axpy (gk + koff + ci * mult, g + ci * mult, x[pix + ci], mult);
                          if (gxb != NULL)
                            gxb[pix + ci] += dot (kernel + koff + ci * mult, g + ci * mult, mult);
                        }
                  }
              }
          }
    }
}

/* --- pooling --- */

void
_qs_tnode_pool_window (QsTNode *node,
                       QsTNode *in,
                       gsize    oh,
                       gsize    ow,
                       gsize   *h0,
                       gsize   *h1,
                       gsize   *w0,
                       gsize   *w1)
{
  gssize a = (gssize) (oh * node->sh) - node->pad_top;
  gssize b = (gssize) (ow * node->sw) - node->pad_left;

  *h0 = (gsize) MAX (a, 0);
  *h1 = (gsize) MIN (a + (gssize) node->kh, (gssize) in->h);
  *w0 = (gsize) MAX (b, 0);
  *w1 = (gsize) MIN (b + (gssize) node->kw, (gssize) in->w);
}

static void
max_pool_forward (QsTrainNet *net,
                  QsTNode    *node,
                  gsize       s0,
                  gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  QsConvParams p;

  node_conv_params (node, in, &p);
  for (gsize s = s0; s < s1; s++)
    qs_max_pool_f32 (&p, in->out + s * in->size, node->out + s * node->size);
}

static void
max_pool_backward (QsTrainNet *net,
                   QsTNode    *node,
                   gsize       s0,
                   gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  gsize c = node->c;

  for (gsize s = s0; s < s1; s++)
    {
      const float *x = in->out + s * in->size;
      const float *y = node->out + s * node->size;
      const float *g = node->grad + s * node->size;
      float *gx = in->grad + s * in->size;

      for (gsize oh = 0; oh < node->h; oh++)
        for (gsize ow = 0; ow < node->w; ow++)
          {
            gsize o = (oh * node->w + ow) * c;
            gsize h0, h1, w0, w1;

            _qs_tnode_pool_window (node, in, oh, ow, &h0, &h1, &w0, &w1);
            /* The gradient goes to the first maximum in row-major order. */
            for (gsize ch = 0; ch < c; ch++)
              {
                gboolean done = FALSE;

                for (gsize ih = h0; ih < h1 && !done; ih++)
                  for (gsize iw = w0; iw < w1 && !done; iw++)
                    {
                      gsize i = (ih * in->w + iw) * c + ch;

                      if (x[i] == y[o + ch])
                        {
                          gx[i] += g[o + ch];
                          done = TRUE;
                        }
                    }
              }
          }
    }
}

/* Average pooling counts only the positions inside the image (TensorFlow's SAME). */
static void
avg_pool_forward (QsTrainNet *net,
                  QsTNode    *node,
                  gsize       s0,
                  gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  QsConvParams p;

  node_conv_params (node, in, &p);
  for (gsize s = s0; s < s1; s++)
    qs_avg_pool_f32 (&p, QS_POOL_MEAN_RECIPROCAL, in->out + s * in->size, node->out + s * node->size);
}

static void
avg_pool_backward (QsTrainNet *net,
                   QsTNode    *node,
                   gsize       s0,
                   gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  gsize c = node->c;

  for (gsize s = s0; s < s1; s++)
    {
      const float *g = node->grad + s * node->size;
      float *gx = in->grad + s * in->size;

      for (gsize oh = 0; oh < node->h; oh++)
        for (gsize ow = 0; ow < node->w; ow++)
          {
            const float *gp = g + (oh * node->w + ow) * c;
            gsize h0, h1, w0, w1;
            float inv;

            _qs_tnode_pool_window (node, in, oh, ow, &h0, &h1, &w0, &w1);
            inv = 1.0f / (float) ((h1 - h0) * (w1 - w0));
            for (gsize ih = h0; ih < h1; ih++)
              for (gsize iw = w0; iw < w1; iw++)
                axpy (gx + (ih * in->w + iw) * c, gp, inv, c);
          }
    }
}

/* Global average pooling: average pooling with the whole image as the window. */
static void
gap_forward (QsTrainNet *net,
             QsTNode    *node,
             gsize       s0,
             gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  QsConvParams p = {
    .input_height = in->h, .input_width = in->w, .input_depth = in->c,
    .output_height = 1, .output_width = 1, .output_depth = in->c,
    .filter_height = in->h, .filter_width = in->w,
    .stride_height = 1, .stride_width = 1, .dilation_height = 1, .dilation_width = 1,
    .depth_multiplier = 1,
  };

  for (gsize s = s0; s < s1; s++)
    qs_avg_pool_f32 (&p, QS_POOL_MEAN_RECIPROCAL, in->out + s * in->size, node->out + s * node->c);
}

static void
gap_backward (QsTrainNet *net,
              QsTNode    *node,
              gsize       s0,
              gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  gsize c = node->c, n = in->h * in->w;
  float inv = 1.0f / (float) n;

  for (gsize s = s0; s < s1; s++)
    {
      const float *g = node->grad + s * c;
      float *gx = in->grad + s * in->size;

      for (gsize p = 0; p < n; p++)
        axpy (gx + p * c, g, inv, c);
    }
}

/* --- BatchNormalization --- */

/* Inference mode, or training mode once bn_mean / bn_invstd hold the batch statistics. */
static void
bn_forward (QsTrainNet *net,
            QsTNode    *node,
            gsize       s0,
            gsize       s1,
            gboolean    batch_stats)
{
  QsTNode *in = input_node (net, node, 0);
  const float *gamma = param (net, node->p_gamma);
  const float *beta = param (net, node->p_beta);
  gsize c = node->c, n = node->h * node->w;
  g_autofree float *scale = g_new (float, c);
  g_autofree float *shift = g_new (float, c);

  for (gsize ch = 0; ch < c; ch++)
    {
      float mean = batch_stats ? node->bn_mean[ch] : node->moving_mean[ch];
      float invstd = batch_stats ? node->bn_invstd[ch]
                                 : 1.0f / sqrtf (node->moving_var[ch] + node->bn_eps);

      scale[ch] = gamma[ch] * invstd;
      shift[ch] = beta[ch] - mean * scale[ch];
    }
  for (gsize s = s0; s < s1; s++)
    {
      const float *x = in->out + s * in->size;
      float *y = node->out + s * node->size;

      for (gsize p = 0; p < n; p++)
        for (gsize ch = 0; ch < c; ch++)
          y[p * c + ch] = x[p * c + ch] * scale[ch] + shift[ch];
    }
}

void
_qs_tnode_bn_partial_sums (QsTrainNet *net,
                           QsTNode    *node,
                           guint       chunk,
                           gsize       s0,
                           gsize       s1,
                           gboolean    centered)
{
  QsTNode *in = input_node (net, node, 0);
  gsize c = node->c, n = node->h * node->w;
  double *acc = (centered ? node->bn_sum2 : node->bn_sum) + chunk * c;

  memset (acc, 0, c * sizeof (double));
  for (gsize s = s0; s < s1; s++)
    {
      const float *x = in->out + s * in->size;

      for (gsize p = 0; p < n; p++)
        for (gsize ch = 0; ch < c; ch++)
          {
            double v = x[p * c + ch];

            if (centered)
              {
                v -= node->bn_mean[ch];
                acc[ch] += v * v;
              }
            else
              acc[ch] += v;
          }
    }
}

/* Sums of g (-> beta gradient) and g * xhat (-> gamma gradient) over a chunk. */
void
_qs_tnode_bn_backward_sums (QsTrainNet *net,
                            QsTNode    *node,
                            guint       chunk,
                            gsize       s0,
                            gsize       s1)
{
  QsTNode *in = input_node (net, node, 0);
  gsize c = node->c, n = node->h * node->w;
  double *sg = node->bn_sum + chunk * c;
  double *sgx = node->bn_sum2 + chunk * c;

  memset (sg, 0, c * sizeof (double));
  memset (sgx, 0, c * sizeof (double));
  for (gsize s = s0; s < s1; s++)
    {
      const float *x = in->out + s * in->size;
      const float *g = node->grad + s * node->size;

      for (gsize p = 0; p < n; p++)
        for (gsize ch = 0; ch < c; ch++)
          {
            double xhat = ((double) x[p * c + ch] - node->bn_mean[ch]) * node->bn_invstd[ch];

            sg[ch] += g[p * c + ch];
            sgx[ch] += g[p * c + ch] * xhat;
          }
    }
}

/* Training mode: dx = gamma * invstd / N * (N g - sum g - xhat sum (g xhat)), with the
 * batch sums reduced into row n_chunks of bn_sum / bn_sum2. Inference mode (frozen
 * BatchNorm during QAT): dx = g * gamma * invstd, and the parameter gradients here. */
static void
bn_backward (QsTrainNet *net,
             QsTNode    *node,
             gsize       s0,
             gsize       s1,
             gsize       batch,
             gboolean    batch_stats,
             float      *pgrad)
{
  QsTNode *in = input_node (net, node, 0);
  const float *gamma = param (net, node->p_gamma);
  gsize c = node->c, n = node->h * node->w;

  if (batch_stats)
    {
      const double *sg = node->bn_sum + net->n_chunks * c;
      const double *sgx = node->bn_sum2 + net->n_chunks * c;
      double count = (double) batch * n;

      if (!in->needs_grad)
        return;
      for (gsize s = s0; s < s1; s++)
        {
          const float *x = in->out + s * in->size;
          const float *g = node->grad + s * node->size;
          float *gx = in->grad + s * in->size;

          for (gsize p = 0; p < n; p++)
            for (gsize ch = 0; ch < c; ch++)
              {
                double invstd = node->bn_invstd[ch];
                double xhat = ((double) x[p * c + ch] - node->bn_mean[ch]) * invstd;
                double d = gamma[ch] * invstd / count
                           * (count * g[p * c + ch] - sg[ch] - xhat * sgx[ch]);

                gx[p * c + ch] += (float) d;
              }
        }
    }
  else
    {
      float *ggamma = pgrad + param_offset (net, node->p_gamma);
      float *gbeta = pgrad + param_offset (net, node->p_beta);

      for (gsize s = s0; s < s1; s++)
        {
          const float *x = in->out + s * in->size;
          const float *g = node->grad + s * node->size;
          float *gx = in->needs_grad ? in->grad + s * in->size : NULL;

          for (gsize p = 0; p < n; p++)
            for (gsize ch = 0; ch < c; ch++)
              {
                float invstd = 1.0f / sqrtf (node->moving_var[ch] + node->bn_eps);
                float xhat = (x[p * c + ch] - node->moving_mean[ch]) * invstd;

                gbeta[ch] += g[p * c + ch];
                ggamma[ch] += g[p * c + ch] * xhat;
                if (gx != NULL)
                  gx[p * c + ch] += g[p * c + ch] * gamma[ch] * invstd;
              }
        }
    }
}

/* --- dropout --- */

static void
dropout_forward (QsTrainNet *net,
                 QsTNode    *node,
                 gsize       s0,
                 gsize       s1,
                 gboolean    training,
                 guint64     noise_seed)
{
  QsTNode *in = input_node (net, node, 0);
  gsize n = node->size;
  float keep = 1.0f - node->dropout_rate;
  float inv_keep = 1.0f / keep;

  for (gsize s = s0; s < s1; s++)
    {
      const float *x = in->out + s * n;
      float *y = node->out + s * n;
      guint8 *mask = node->mask + s * n;
      guint64 state;

      if (!training || node->dropout_rate <= 0.0f)
        {
          memcpy (y, x, n * sizeof (float));
          continue;
        }
      /* The mask depends on the image's position in the batch, the step and the node
       * only: identical whichever thread computes it. */
      state = _qs_train_hash (_qs_train_hash (noise_seed, node->index), s);
      for (gsize i = 0; i < n; i++)
        {
          mask[i] = _qs_train_rand_uniform (&state) < keep;
          y[i] = mask[i] ? x[i] * inv_keep : 0.0f;
        }
    }
}

static void
dropout_backward (QsTrainNet *net,
                  QsTNode    *node,
                  gsize       s0,
                  gsize       s1,
                  gboolean    training)
{
  QsTNode *in = input_node (net, node, 0);
  gsize n = node->size;
  float inv_keep = 1.0f / (1.0f - node->dropout_rate);

  for (gsize s = s0; s < s1; s++)
    {
      const float *g = node->grad + s * n;
      const guint8 *mask = node->mask + s * n;
      float *gx = in->grad + s * n;

      if (!training || node->dropout_rate <= 0.0f)
        axpy (gx, g, 1.0f, n);
      else
        for (gsize i = 0; i < n; i++)
          if (mask[i])
            gx[i] += g[i] * inv_keep;
    }
}

/* --- dispatch --- */

void
_qs_tnode_forward (QsTrainNet *net,
                   QsTNode    *node,
                   guint       chunk,
                   gsize       s0,
                   gsize       s1,
                   gboolean    training,
                   guint64     noise_seed)
{
  switch (node->kind)
    {
    case QS_TNODE_INPUT:
      break;
    case QS_TNODE_DENSE:
      dense_forward (net, node, s0, s1);
      break;
    case QS_TNODE_CONV2D:
      conv_forward (net, node, s0, s1);
      break;
    case QS_TNODE_DEPTHWISE:
      depthwise_forward (net, node, s0, s1);
      break;
    case QS_TNODE_MAX_POOL:
      max_pool_forward (net, node, s0, s1);
      break;
    case QS_TNODE_AVG_POOL:
      avg_pool_forward (net, node, s0, s1);
      break;
    case QS_TNODE_GLOBAL_AVG_POOL:
      gap_forward (net, node, s0, s1);
      break;
    case QS_TNODE_BATCH_NORM:
      bn_forward (net, node, s0, s1, training && !net->qat);
      break;
    case QS_TNODE_ACTIVATION:
    case QS_TNODE_FLATTEN:
      memcpy (node->out + s0 * node->size, input_node (net, node, 0)->out + s0 * node->size,
              (s1 - s0) * node->size * sizeof (float));
      break;
    case QS_TNODE_ADD:
      {
        QsTNode *a = input_node (net, node, 0), *b = input_node (net, node, 1);

        for (gsize i = s0 * node->size; i < s1 * node->size; i++)
          node->out[i] = a->out[i] + b->out[i];
      }
      break;
    case QS_TNODE_DROPOUT:
      dropout_forward (net, node, s0, s1, training, noise_seed);
      break;
    default:
      g_assert_not_reached ();
    }

  /* A group the engine runs in integers applies its own fused activation as the clamp
   * of its requantized codes, from the pre-activation value. */
  if (has_activation (node)
      && !(node->quant.requant_layer == (gint) node->index && _qs_tnode_requantizes (net, node)))
    activation_forward (node, node->out + s0 * node->size, (s1 - s0) * node->size);
  if (node->quant.output)
    _qs_tnode_fake_quant_output (net, node, chunk, s0, s1);
}

void
_qs_tnode_backward (QsTrainNet *net,
                    QsTNode    *node,
                    gsize       s0,
                    gsize       s1,
                    gsize       batch,
                    gboolean    training,
                    float      *pgrad)
{
  float *g = node->grad + s0 * node->size;
  gsize n = (s1 - s0) * node->size;

  if (node->quant.output)
    {
      /* Straight-through estimator: the rounding passes the gradient unchanged, the
       * clipping stops it. */
      const guint8 *mask = node->quant.clip_mask + s0 * node->size;

      for (gsize i = 0; i < n; i++)
        if (!mask[i])
          g[i] = 0.0f;
    }
  if (has_activation (node))
    activation_backward (node, node->out + s0 * node->size, g, n);

  switch (node->kind)
    {
    case QS_TNODE_INPUT:
      break;
    case QS_TNODE_DENSE:
      dense_backward (net, node, s0, s1, pgrad);
      break;
    case QS_TNODE_CONV2D:
      conv_backward (net, node, s0, s1, pgrad);
      break;
    case QS_TNODE_DEPTHWISE:
      depthwise_backward (net, node, s0, s1, pgrad);
      break;
    case QS_TNODE_MAX_POOL:
      if (input_node (net, node, 0)->needs_grad)
        max_pool_backward (net, node, s0, s1);
      break;
    case QS_TNODE_AVG_POOL:
      if (input_node (net, node, 0)->needs_grad)
        avg_pool_backward (net, node, s0, s1);
      break;
    case QS_TNODE_GLOBAL_AVG_POOL:
      if (input_node (net, node, 0)->needs_grad)
        gap_backward (net, node, s0, s1);
      break;
    case QS_TNODE_BATCH_NORM:
      bn_backward (net, node, s0, s1, batch, training && !net->qat, pgrad);
      break;
    case QS_TNODE_ACTIVATION:
    case QS_TNODE_FLATTEN:
      if (input_node (net, node, 0)->needs_grad)
        axpy (input_node (net, node, 0)->grad + s0 * node->size, g, 1.0f, n);
      break;
    case QS_TNODE_ADD:
      for (guint k = 0; k < 2; k++)
        if (input_node (net, node, k)->needs_grad)
          axpy (input_node (net, node, k)->grad + s0 * node->size, g, 1.0f, n);
      break;
    case QS_TNODE_DROPOUT:
      if (input_node (net, node, 0)->needs_grad)
        dropout_backward (net, node, s0, s1, training);
      break;
    default:
      g_assert_not_reached ();
    }
}
