/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define QS_PREPROCESS_ERROR (qs_preprocess_error_quark ())

typedef enum
{
  QS_PREPROCESS_ERROR_INVALID,   /* a bad preset, key or value: the message names it */
  QS_PREPROCESS_ERROR_SHAPE,     /* an image that cannot be brought to the model's input */
} QsPreprocessError;

typedef enum
{
  QS_PREPROCESS_RESIZE_AUTO,     /* none when the sizes agree; else stretch for image folders
                                  * (sizes vary), an error for arrays */
  QS_PREPROCESS_RESIZE_NONE,     /* the stored size must be the model's */
  QS_PREPROCESS_RESIZE_STRETCH,  /* bilinear to the model's height x width, aspect not kept */
  QS_PREPROCESS_RESIZE_SHORTER,  /* bilinear: shorter side to `resize`, then a centre crop */
} QsPreprocessResize;

#define QS_PREPROCESS_MAX_CHANNELS 4

/* How stored images become model inputs, in this order:
 *  1. channels: 1 -> 3 repeats the grey value; 3 or 4 -> 1 takes the luminance
 *     (0.299 R + 0.587 G + 0.114 B); 4 -> 3 drops alpha; then RGB -> BGR when `bgr`;
 *  2. size: bilinear resampling (half-pixel centres, as OpenCV INTER_LINEAR and
 *     tf.image.resize bilinear without antialias), per `resize_mode`, then a centre crop;
 *  3. values: y = (x * scale + offset - mean[c]) / std[c].
 * `auto_scale` (the default, preset "auto"): stored bytes get x/255, anything else is
 * fed as stored. Presets: "auto", "raw" (as stored), "0..1" (x/255), "-1..1"
 * (x/127.5 - 1), "caffe" (BGR, mean [103.939, 116.779, 123.68]), "torch" (x/255, mean
 * [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]). A plain struct: copy by value. */
typedef struct
{
  gboolean            auto_scale;
  float               scale;
  float               offset;
  guint               n_mean;     /* 0, 1 (all channels) or one per channel */
  float               mean[QS_PREPROCESS_MAX_CHANNELS];
  guint               n_std;
  float               std[QS_PREPROCESS_MAX_CHANNELS];
  gboolean            bgr;
  QsPreprocessResize  resize_mode;
  guint               resize;      /* SHORTER: the shorter side */
  guint               crop_height; /* 0 = the model's input size */
  guint               crop_width;
} QsPreprocess;

GQuark    qs_preprocess_error_quark (void);

/* The default: preset "auto". */
void      qs_preprocess_init        (QsPreprocess       *pp);
gboolean  qs_preprocess_is_default  (const QsPreprocess *pp);
/* "PRESET" or "PRESET,key=value,..." or "key=value,...": keys preset, scale, offset,
 * mean=A[/B/C], std=A[/B/C] (":" or "/" separated; also a single value), bgr, rgb,
 * resize=N|stretch|none, crop=N|HxW. Errors name the key. */
gboolean  qs_preprocess_parse       (QsPreprocess       *pp,
                                     const char         *text,
                                     GError            **error);
/* The canonical text form ("auto" for the default); parses back to the same settings. */
char     *qs_preprocess_to_string   (const QsPreprocess *pp);
gboolean  qs_preprocess_equal       (const QsPreprocess *a,
                                     const QsPreprocess *b);

/* Brings one stored image (height x width x channels floats, HWC, values as stored) to
 * the model's out_h x out_w x out_c (HWC). `bytes`: the values are whole numbers 0..255
 * (for auto_scale). */
gboolean  qs_preprocess_apply       (const QsPreprocess *pp,
                                     const float        *image,
                                     gsize               height,
                                     gsize               width,
                                     gsize               channels,
                                     gboolean            bytes,
                                     float              *out,
                                     gsize               out_h,
                                     gsize               out_w,
                                     gsize               out_c,
                                     GError            **error);
/* Only the value step (3.) over n values of `channels` interleaved channels, in place. */
void      qs_preprocess_apply_values (const QsPreprocess *pp,
                                      float              *values,
                                      gsize               n,
                                      gsize               channels,
                                      gboolean            bytes);

G_END_DECLS
