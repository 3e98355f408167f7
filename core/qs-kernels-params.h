/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The geometry of a windowed NHWC kernel on one image (after TFLite's ConvParams /
 * DepthwiseParams / PoolParams): convolution, depthwise convolution and pooling, integer
 * and float. Output pixel (oy, ox) reads input rows oy * stride_height + ky *
 * dilation_height - pad_top for ky in [0, filter_height) (columns likewise); taps outside
 * the image contribute nothing (convolutions) or are not counted (average pooling). */
typedef struct
{
  gsize  input_height, input_width, input_depth;
  gsize  output_height, output_width, output_depth;
  gsize  filter_height, filter_width;   /* kernel or pooling window */
  gsize  stride_height, stride_width;
  gsize  dilation_height, dilation_width; /* 1 for pooling */
  gsize  pad_top, pad_left;             /* padding before the first row / column */
  gsize  depth_multiplier;              /* depthwise: output_depth = input_depth * it */
  gint32 input_offset;                  /* integer kernels: -(input zero-point), as TFLite */
} QsConvParams;

/* The depthwise convolution's parameters are the common ones. */
typedef QsConvParams QsDepthwiseParams;

G_END_DECLS
