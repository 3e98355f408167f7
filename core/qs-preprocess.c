/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-preprocess.h"

/* Dataset preprocessing: channel conversion, bilinear resize and centre crop, value
 * scaling and per-channel normalisation (see qs-preprocess.h for the order). */

#define MAX_SIDE 16384

G_DEFINE_QUARK (qs-preprocess-error-quark, qs_preprocess_error)

void
qs_preprocess_init (QsPreprocess *pp)
{
  g_return_if_fail (pp != NULL);
  memset (pp, 0, sizeof *pp);
  pp->auto_scale = TRUE;
  pp->scale = 1.0f;
  pp->offset = 0.0f;
  pp->resize_mode = QS_PREPROCESS_RESIZE_AUTO;
}

gboolean
qs_preprocess_is_default (const QsPreprocess *pp)
{
  QsPreprocess def;

  qs_preprocess_init (&def);
  return qs_preprocess_equal (pp, &def);
}

gboolean
qs_preprocess_equal (const QsPreprocess *a,
                     const QsPreprocess *b)
{
  g_autofree char *sa = qs_preprocess_to_string (a);
  g_autofree char *sb = qs_preprocess_to_string (b);

  return strcmp (sa, sb) == 0;
}

static gboolean
apply_preset (QsPreprocess *pp,
              const char   *name)
{
  qs_preprocess_init (pp);
  if (strcmp (name, "auto") == 0)
    return TRUE;
  pp->auto_scale = FALSE;
  if (strcmp (name, "raw") == 0)
    return TRUE;
  if (strcmp (name, "0..1") == 0)
    pp->scale = 1.0f / 255.0f;
  else if (strcmp (name, "-1..1") == 0)
    {
      pp->scale = 1.0f / 127.5f;
      pp->offset = -1.0f;
    }
  else if (strcmp (name, "caffe") == 0)
    {
      pp->bgr = TRUE;
      pp->n_mean = 3;
      pp->mean[0] = 103.939f;
      pp->mean[1] = 116.779f;
      pp->mean[2] = 123.68f;
    }
  else if (strcmp (name, "torch") == 0)
    {
      pp->scale = 1.0f / 255.0f;
      pp->n_mean = pp->n_std = 3;
      pp->mean[0] = 0.485f; pp->mean[1] = 0.456f; pp->mean[2] = 0.406f;
      pp->std[0] = 0.229f; pp->std[1] = 0.224f; pp->std[2] = 0.225f;
    }
  else
    return FALSE;
  return TRUE;
}

static gboolean
parse_float (const char *text,
             float      *out)
{
  char *end = NULL;
  double v;

  if (text == NULL || *text == '\0')
    return FALSE;
  v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v) || fabs (v) > 1e30)
    return FALSE;
  *out = (float) v;
  return TRUE;
}

static gboolean
parse_uint (const char *text,
            guint       max,
            guint      *out)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (text, 10, 1, max, &v, NULL))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

static gboolean
parse_list (const char *text,
            float      *values,
            guint      *n)
{
  g_auto(GStrv) parts = g_strsplit_set (text, ":/;", -1);
  guint len = g_strv_length (parts);

  if (len != 1 && len != 3 && len != 4)
    return FALSE;
  for (guint i = 0; i < len; i++)
    if (!parse_float (g_strstrip (parts[i]), &values[i]))
      return FALSE;
  *n = len;
  return TRUE;
}

gboolean
qs_preprocess_parse (QsPreprocess *pp,
                     const char   *text,
                     GError      **error)
{
  QsPreprocess r;
  g_auto(GStrv) items = NULL;

  g_return_val_if_fail (pp != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  qs_preprocess_init (&r);
  items = g_strsplit (text, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      char *item = g_strstrip (items[i]);
      char *eq = strchr (item, '=');
      const char *key = item, *value = NULL;

      if (*item == '\0')
        continue;
      if (eq != NULL)
        {
          *eq = '\0';
          value = g_strstrip (eq + 1);
          key = g_strstrip (item);
        }
      if (value == NULL && i == 0 && apply_preset (&r, key))
        continue;
      if (strcmp (key, "preset") == 0)
        {
          if (value == NULL || !apply_preset (&r, value))
            goto bad_preset;
        }
      else if (strcmp (key, "bgr") == 0 && value == NULL)
        r.bgr = TRUE;
      else if (strcmp (key, "rgb") == 0 && value == NULL)
        r.bgr = FALSE;
      else if (value == NULL)
        {
          if (i == 0)
            {
              key = item;
              goto bad_preset;
            }
          g_set_error (error, QS_PREPROCESS_ERROR, QS_PREPROCESS_ERROR_INVALID,
                       _("Preprocessing “%s”: “%s” needs a value (key=value)"), text, key);
          return FALSE;
        }
      else if (strcmp (key, "scale") == 0)
        {
          if (!parse_float (value, &r.scale) || r.scale == 0.0f)
            goto bad_value;
          r.auto_scale = FALSE;
        }
      else if (strcmp (key, "offset") == 0)
        {
          if (!parse_float (value, &r.offset))
            goto bad_value;
          r.auto_scale = FALSE;
        }
      else if (strcmp (key, "mean") == 0)
        {
          if (!parse_list (value, r.mean, &r.n_mean))
            goto bad_value;
        }
      else if (strcmp (key, "std") == 0)
        {
          if (!parse_list (value, r.std, &r.n_std))
            goto bad_value;
          for (guint c = 0; c < r.n_std; c++)
            if (r.std[c] == 0.0f)
              goto bad_value;
        }
      else if (strcmp (key, "resize") == 0)
        {
          if (strcmp (value, "stretch") == 0)
            r.resize_mode = QS_PREPROCESS_RESIZE_STRETCH;
          else if (strcmp (value, "none") == 0)
            r.resize_mode = QS_PREPROCESS_RESIZE_NONE;
          else if (strcmp (value, "auto") == 0)
            r.resize_mode = QS_PREPROCESS_RESIZE_AUTO;
          else if (parse_uint (value, MAX_SIDE, &r.resize))
            r.resize_mode = QS_PREPROCESS_RESIZE_SHORTER;
          else
            goto bad_value;
        }
      else if (strcmp (key, "crop") == 0)
        {
          g_auto(GStrv) hw = g_strsplit (value, "x", 2);

          if (!parse_uint (hw[0], MAX_SIDE, &r.crop_height)
              || (hw[1] != NULL && !parse_uint (hw[1], MAX_SIDE, &r.crop_width)))
            goto bad_value;
          if (hw[1] == NULL)
            r.crop_width = r.crop_height;
        }
      else
        {
          g_set_error (error, QS_PREPROCESS_ERROR, QS_PREPROCESS_ERROR_INVALID,
                       _("Preprocessing “%s”: unknown key “%s” (known: preset, scale, offset, "
                         "mean, std, bgr, rgb, resize, crop)"), text, key);
          return FALSE;
        }
      continue;

    bad_value:
      g_set_error (error, QS_PREPROCESS_ERROR, QS_PREPROCESS_ERROR_INVALID,
                   _("Preprocessing “%s”: bad value “%s” for “%s”"), text, value, key);
      return FALSE;
    bad_preset:
      g_set_error (error, QS_PREPROCESS_ERROR, QS_PREPROCESS_ERROR_INVALID,
                   _("Preprocessing “%s”: unknown preset “%s” (known: auto, raw, 0..1, -1..1, caffe, torch)"),
                   text, value != NULL ? value : key);
      return FALSE;
    }
  *pp = r;
  return TRUE;
}

static void
append_float (GString *s,
              float    v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.9g", v));
}

char *
qs_preprocess_to_string (const QsPreprocess *pp)
{
  GString *s = g_string_new (NULL);

  g_return_val_if_fail (pp != NULL, NULL);
  g_string_append (s, pp->auto_scale ? "auto" : "raw");
  if (!pp->auto_scale && pp->scale != 1.0f)
    {
      g_string_append (s, ",scale=");
      append_float (s, pp->scale);
    }
  if (!pp->auto_scale && pp->offset != 0.0f)
    {
      g_string_append (s, ",offset=");
      append_float (s, pp->offset);
    }
  if (pp->n_mean > 0)
    {
      g_string_append (s, ",mean=");
      for (guint c = 0; c < pp->n_mean; c++)
        {
          if (c > 0)
            g_string_append_c (s, '/');
          append_float (s, pp->mean[c]);
        }
    }
  if (pp->n_std > 0)
    {
      g_string_append (s, ",std=");
      for (guint c = 0; c < pp->n_std; c++)
        {
          if (c > 0)
            g_string_append_c (s, '/');
          append_float (s, pp->std[c]);
        }
    }
  if (pp->bgr)
    g_string_append (s, ",bgr");
  switch (pp->resize_mode)
    {
    case QS_PREPROCESS_RESIZE_AUTO:
      break;
    case QS_PREPROCESS_RESIZE_NONE:
      g_string_append (s, ",resize=none");
      break;
    case QS_PREPROCESS_RESIZE_STRETCH:
      g_string_append (s, ",resize=stretch");
      break;
    case QS_PREPROCESS_RESIZE_SHORTER:
      g_string_append_printf (s, ",resize=%u", pp->resize);
      break;
    default:
      g_assert_not_reached ();
    }
  if (pp->crop_height > 0)
    g_string_append_printf (s, ",crop=%ux%u", pp->crop_height, pp->crop_width);
  return g_string_free (s, FALSE);
}

void
qs_preprocess_apply_values (const QsPreprocess *pp,
                            float              *values,
                            gsize               n,
                            gsize               channels,
                            gboolean            bytes)
{
  float scale = pp->scale, offset = pp->offset;
  float mean[QS_PREPROCESS_MAX_CHANNELS] = { 0 }, inv_std[QS_PREPROCESS_MAX_CHANNELS];
  gboolean identity_norm = pp->n_mean == 0 && pp->n_std == 0;

  if (pp->auto_scale)
    {
      scale = bytes ? 1.0f / 255.0f : 1.0f;
      offset = 0.0f;
    }
  channels = CLAMP (channels, 1, QS_PREPROCESS_MAX_CHANNELS);
  for (gsize c = 0; c < channels; c++)
    {
      mean[c] = pp->n_mean == 0 ? 0.0f : pp->mean[pp->n_mean == 1 ? 0 : MIN (c, pp->n_mean - 1)];
      inv_std[c] = pp->n_std == 0 ? 1.0f : 1.0f / pp->std[pp->n_std == 1 ? 0 : MIN (c, pp->n_std - 1)];
    }
  if (identity_norm && scale == 1.0f / 255.0f && offset == 0.0f)
    {
      /* exactly what x.astype (float32) / 255 gives */
      for (gsize i = 0; i < n; i++)
        values[i] = values[i] / 255.0f;
      return;
    }
  if (identity_norm)
    {
      for (gsize i = 0; i < n; i++)
        values[i] = values[i] * scale + offset;
      return;
    }
  for (gsize i = 0; i < n; i++)
    {
      gsize c = i % channels;
      values[i] = (values[i] * scale + offset - mean[c]) * inv_std[c];
    }
}

/* Bilinear, half-pixel centres, edge clamped (OpenCV INTER_LINEAR; TF resize "bilinear"
 * with antialias=False, half_pixel_centers=True). */
static void
resize_bilinear (const float *in,
                 gsize        ih,
                 gsize        iw,
                 gsize        c,
                 float       *out,
                 gsize        oh,
                 gsize        ow)
{
  double sy = (double) ih / oh, sx = (double) iw / ow;

  for (gsize y = 0; y < oh; y++)
    {
      double fy = (y + 0.5) * sy - 0.5;
      gssize y0 = (gssize) floor (fy);
      double wy = fy - y0;
      gsize ya = CLAMP (y0, 0, (gssize) ih - 1), yb = CLAMP (y0 + 1, 0, (gssize) ih - 1);

      for (gsize x = 0; x < ow; x++)
        {
          double fx = (x + 0.5) * sx - 0.5;
          gssize x0 = (gssize) floor (fx);
          double wx = fx - x0;
          gsize xa = CLAMP (x0, 0, (gssize) iw - 1), xb = CLAMP (x0 + 1, 0, (gssize) iw - 1);

          for (gsize k = 0; k < c; k++)
            {
              double a = in[(ya * iw + xa) * c + k], b = in[(ya * iw + xb) * c + k];
              double d = in[(yb * iw + xa) * c + k], e = in[(yb * iw + xb) * c + k];
              double top = a + (b - a) * wx, bottom = d + (e - d) * wx;

              out[(y * ow + x) * c + k] = (float) (top + (bottom - top) * wy);
            }
        }
    }
}

gboolean
qs_preprocess_apply (const QsPreprocess *pp,
                     const float        *image,
                     gsize               height,
                     gsize               width,
                     gsize               channels,
                     gboolean            bytes,
                     float              *out,
                     gsize               out_h,
                     gsize               out_w,
                     gsize               out_c,
                     GError            **error)
{
  g_autofree float *conv = NULL;
  g_autofree float *sized = NULL;
  const float *src;
  gsize rh, rw, ch, cw, top, left;

  g_return_val_if_fail (pp != NULL && image != NULL && out != NULL, FALSE);

  if (height == 0 || width == 0 || channels == 0 || out_h == 0 || out_w == 0 || out_c == 0)
    {
      g_set_error (error, QS_PREPROCESS_ERROR, QS_PREPROCESS_ERROR_SHAPE,
                   _("An image of %zu×%zu×%zu cannot become a %zu×%zu×%zu input"),
                   height, width, channels, out_h, out_w, out_c);
      return FALSE;
    }
  /* 1. channels */
  if (channels == out_c && !pp->bgr)
    src = image;
  else
    {
      gsize n = height * width;

      if (!((channels == out_c) || (channels == 1 && out_c == 3) || (channels == 1 && out_c == 4)
            || (channels >= 3 && channels <= 4 && (out_c == 1 || out_c == 3))))
        {
          g_set_error (error, QS_PREPROCESS_ERROR, QS_PREPROCESS_ERROR_SHAPE,
                       _("Images have %zu channels but the model wants %zu"), channels, out_c);
          return FALSE;
        }
      conv = g_new (float, n * out_c);
      for (gsize i = 0; i < n; i++)
        {
          const float *p = image + i * channels;
          float *q = conv + i * out_c;

          if (channels == out_c)
            memcpy (q, p, out_c * sizeof (float));
          else if (channels == 1)
            for (gsize k = 0; k < out_c; k++)
              q[k] = p[0];
          else if (out_c == 1)
            q[0] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
          else
            memcpy (q, p, 3 * sizeof (float));
          if (pp->bgr && out_c >= 3)
            {
              float t = q[0];
              q[0] = q[2];
              q[2] = t;
            }
        }
      src = conv;
    }
  /* 2. size: resize to rh x rw, then crop the centre ch x cw (= the model's input) */
  ch = pp->crop_height > 0 ? pp->crop_height : out_h;
  cw = pp->crop_width > 0 ? pp->crop_width : out_w;
  if (ch != out_h || cw != out_w)
    {
      g_set_error (error, QS_PREPROCESS_ERROR, QS_PREPROCESS_ERROR_SHAPE,
                   _("The crop (%zu×%zu) is not the model's input size (%zu×%zu)"), ch, cw, out_h, out_w);
      return FALSE;
    }
  switch (pp->resize_mode)
    {
    case QS_PREPROCESS_RESIZE_SHORTER:
      if (height <= width)
        {
          rh = pp->resize;
          rw = MAX ((gsize) 1, (gsize) floor ((double) width * pp->resize / height + 0.5));
        }
      else
        {
          rw = pp->resize;
          rh = MAX ((gsize) 1, (gsize) floor ((double) height * pp->resize / width + 0.5));
        }
      break;
    case QS_PREPROCESS_RESIZE_NONE:
      rh = height;
      rw = width;
      break;
    case QS_PREPROCESS_RESIZE_STRETCH:
    case QS_PREPROCESS_RESIZE_AUTO:
    default:
      rh = pp->crop_height > 0 && pp->resize_mode == QS_PREPROCESS_RESIZE_AUTO ? height : out_h;
      rw = pp->crop_height > 0 && pp->resize_mode == QS_PREPROCESS_RESIZE_AUTO ? width : out_w;
      break;
    }
  if (rh < ch || rw < cw || rh > MAX_SIDE || rw > MAX_SIDE)
    {
      g_set_error (error, QS_PREPROCESS_ERROR, QS_PREPROCESS_ERROR_SHAPE,
                   _("Images of %zu×%zu×%zu do not fit the model's input %zu×%zu×%zu "
                     "(resized to %zu×%zu, smaller than the crop); set resize= or crop="),
                   height, width, channels, out_h, out_w, out_c, rh, rw);
      return FALSE;
    }
  if (rh != height || rw != width)
    {
      sized = g_new (float, rh * rw * out_c);
      resize_bilinear (src, height, width, out_c, sized, rh, rw);
      src = sized;
    }
  top = (rh - ch) / 2;
  left = (rw - cw) / 2;
  for (gsize y = 0; y < ch; y++)
    memcpy (out + y * cw * out_c, src + ((y + top) * rw + left) * out_c, cw * out_c * sizeof (float));
  /* 3. values */
  qs_preprocess_apply_values (pp, out, out_h * out_w * out_c, out_c, bytes);
  return TRUE;
}
