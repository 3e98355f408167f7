/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-formats.h"
#include "qs-kernels-quant.h"
#include "qs-quant-private.h"
#include "qs-quant.h"
#include "qs-range.h"

/* How non-finite inputs are treated (everywhere in this file and the kernels):
 * NaN and +-Inf are counted in stats.n_nan / n_inf and excluded from ranges, from every
 * statistic and from the histograms. Their dequantized value is the input itself (NaN stays
 * NaN, Inf stays Inf: visible, never a plausible-looking number); their code is the
 * zero-point for integer, binary and ternary formats and the format's own encoding for the
 * float formats (E4M3 has no Inf and saturates it to +-448). A tensor with no finite value
 * at all fails with QS_QUANT_ERROR_NON_FINITE. */

G_DEFINE_BOXED_TYPE (QsQuantParams, qs_quant_params, qs_quant_params_ref, qs_quant_params_unref)
G_DEFINE_BOXED_TYPE (QsQuantResult, qs_quant_result, qs_quant_result_ref, qs_quant_result_unref)
G_DEFINE_QUARK (qs-quant-error-quark, qs_quant_error)

#define CHUNK ((gsize) 1 << 18)   /* values between cancellation checks */

/* ------------------------------------------------------------------------- specs */

void
qs_quant_spec_init (QsQuantSpec *spec)
{
  g_return_if_fail (spec != NULL);

  memset (spec, 0, sizeof *spec);
  spec->format = QS_FORMAT_INT;
  spec->bits = 8;
  spec->is_signed = TRUE;
  spec->mapping = QS_MAPPING_SYMMETRIC;
  spec->narrow_range = TRUE;
  spec->pow2_scale = FALSE;
  spec->granularity = QS_GRANULARITY_CHANNEL;
  spec->axis = -1;
  spec->group_size = 32;
  spec->rounding = QS_ROUNDING_NEAREST_EVEN;
  spec->seed = 0;
  spec->range_method = QS_RANGE_MINMAX;
  spec->range_param = 99.99;
  spec->sparsity = 0.0;
  spec->prune_per_channel = FALSE;
}

void
qs_quant_spec_init_float (QsQuantSpec *spec,
                          QsFormat     format)
{
  g_return_if_fail (spec != NULL);

  qs_quant_spec_init (spec);
  spec->format = format;
  spec->bits = qs_format_storage_bits (format);
  spec->granularity = QS_GRANULARITY_TENSOR;
}

gboolean
qs_quant_spec_is_float (const QsQuantSpec *spec)
{
  g_return_val_if_fail (spec != NULL, FALSE);

  switch (spec->format)
    {
    case QS_FORMAT_FP32:
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      return TRUE;
    case QS_FORMAT_INT:
    case QS_FORMAT_BINARY:
    case QS_FORMAT_TERNARY:
    default:
      return FALSE;
    }
}

gboolean
qs_quant_spec_equal (const QsQuantSpec *a,
                     const QsQuantSpec *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return a->format == b->format && a->bits == b->bits && a->is_signed == b->is_signed &&
         a->mapping == b->mapping && a->narrow_range == b->narrow_range &&
         a->pow2_scale == b->pow2_scale && a->granularity == b->granularity &&
         a->axis == b->axis && a->group_size == b->group_size && a->rounding == b->rounding &&
         a->seed == b->seed && a->range_method == b->range_method &&
         a->range_param == b->range_param && a->sparsity == b->sparsity &&
         a->prune_per_channel == b->prune_per_channel;
}

gboolean
qs_quant_format_get_bits_range (QsFormat  format,
                                guint    *min_bits,
                                guint    *max_bits)
{
  guint lo, hi;
  gboolean adjustable = format == QS_FORMAT_INT;

  if (adjustable)
    {
      lo = QS_QUANT_INT_MIN_BITS;
      hi = QS_QUANT_INT_MAX_BITS;
    }
  else
    lo = hi = qs_format_storage_bits (format);
  if (min_bits != NULL)
    *min_bits = lo;
  if (max_bits != NULL)
    *max_bits = hi;
  return adjustable;
}

double
qs_quant_spec_bits_per_value (const QsQuantSpec *spec)
{
  g_return_val_if_fail (spec != NULL, 32.0);

  if (spec->format == QS_FORMAT_INT)
    return spec->bits;
  return qs_format_storage_bits (spec->format);
}

char *
qs_quant_spec_to_label (const QsQuantSpec *spec)
{
  GString *s;

  g_return_val_if_fail (spec != NULL, NULL);

  s = g_string_new (NULL);
  if (spec->format == QS_FORMAT_INT)
    g_string_append_printf (s, "%s%u", spec->is_signed ? "int" : "uint", spec->bits);
  else
    g_string_append (s, qs_format_short_name (spec->format));

  if (spec->format == QS_FORMAT_INT || spec->format == QS_FORMAT_BINARY ||
      spec->format == QS_FORMAT_TERNARY)
    {
      if (spec->granularity == QS_GRANULARITY_CHANNEL)
        g_string_append (s, " ch");
      else if (spec->granularity == QS_GRANULARITY_GROUP)
        g_string_append_printf (s, " g%u", spec->group_size);
    }
  if (spec->format == QS_FORMAT_INT)
    {
      if (spec->mapping == QS_MAPPING_AFFINE)
        g_string_append (s, " aff");
      if (spec->pow2_scale)
        g_string_append (s, " p2");
      switch (spec->range_method)
        {
        case QS_RANGE_PERCENTILE:
          g_string_append_printf (s, " p%g", spec->range_param);
          break;
        case QS_RANGE_MSE:
          g_string_append (s, " mse");
          break;
        case QS_RANGE_KL:
          g_string_append (s, " kl");
          break;
        case QS_RANGE_MINMAX:
        default:
          break;
        }
      switch (spec->rounding)
        {
        case QS_ROUNDING_NEAREST_AWAY:
          g_string_append (s, " away");
          break;
        case QS_ROUNDING_FLOOR:
          g_string_append (s, " floor");
          break;
        case QS_ROUNDING_STOCHASTIC:
          g_string_append (s, " sr");
          break;
        case QS_ROUNDING_NEAREST_EVEN:
        default:
          break;
        }
    }
  if (spec->sparsity > 0.0)
    g_string_append_printf (s, " +%.0f%% sparse", spec->sparsity * 100.0);
  return g_string_free (s, FALSE);
}

static const char *
tensor_name (const QsTensor *tensor)
{
  return tensor != NULL && tensor->name != NULL && *tensor->name ? tensor->name : "tensor";
}

gboolean
qs_quant_spec_validate (const QsQuantSpec *spec,
                        const QsTensor    *tensor,
                        GError           **error)
{
  const char *name = tensor_name (tensor);

  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

#define INVALID(...) \
  G_STMT_START { \
    g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

  if ((guint) spec->format > QS_FORMAT_FP8_E5M2)
    INVALID (_("Cannot quantize “%s”: unknown format %d"), name, (int) spec->format);
  if (spec->format == QS_FORMAT_INT
      && (spec->bits < QS_QUANT_INT_MIN_BITS || spec->bits > QS_QUANT_INT_MAX_BITS))
    INVALID (_("Cannot quantize “%s”: bits must be between 2 and 16 for integer formats, not %u"),
             name, spec->bits);
  if ((guint) spec->mapping > QS_MAPPING_AFFINE)
    INVALID (_("Cannot quantize “%s”: unknown mapping %d"), name, (int) spec->mapping);
  if ((guint) spec->granularity > QS_GRANULARITY_GROUP)
    INVALID (_("Cannot quantize “%s”: unknown granularity %d"), name, (int) spec->granularity);
  if ((guint) spec->rounding > QS_ROUNDING_STOCHASTIC)
    INVALID (_("Cannot quantize “%s”: unknown rounding mode %d"), name, (int) spec->rounding);
  if ((guint) spec->range_method > QS_RANGE_KL)
    INVALID (_("Cannot quantize “%s”: unknown range method %d"), name, (int) spec->range_method);
  if (spec->range_method == QS_RANGE_PERCENTILE &&
      !(spec->range_param > 0.0 && spec->range_param <= 100.0))
    INVALID (_("Cannot quantize “%s”: the range percentile (range_param) must be in (0, 100], not %g"),
             name, spec->range_param);
  if (!(spec->sparsity >= 0.0 && spec->sparsity < 1.0))
    INVALID (_("Cannot quantize “%s”: sparsity must be in [0, 1), not %g"), name, spec->sparsity);
  if (spec->sparsity > 0.0 && spec->format == QS_FORMAT_BINARY)
    INVALID (_("Cannot quantize “%s”: the binary format has no zero, so it cannot be pruned; "
               "set sparsity to 0 or use ternary"), name);
  if (spec->axis < -1)
    INVALID (_("Cannot quantize “%s”: axis must be -1 (the layout's default) or a dimension, not %d"),
             name, spec->axis);
  if (spec->granularity == QS_GRANULARITY_GROUP && !qs_quant_spec_is_float (spec) &&
      spec->group_size == 0)
    INVALID (_("Cannot quantize “%s”: group_size must be at least 1"), name);

  if (tensor == NULL)
    return TRUE;

  if (tensor->n_elements == 0)
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_EMPTY,
                   _("Cannot quantize “%s”: the tensor is empty"), name);
      return FALSE;
    }
  if (spec->axis >= 0 && (guint) spec->axis >= MAX (tensor->n_dims, 1))
    INVALID (_("Cannot quantize “%s”: axis %d is out of range for a tensor with %u dimensions"),
             name, spec->axis, tensor->n_dims);
  if (spec->granularity == QS_GRANULARITY_GROUP && !qs_quant_spec_is_float (spec))
    {
      gsize n_channels = 1, inner = tensor->n_elements, outer = 1;

      if (tensor->n_dims > 1 && tensor->layout != QS_TENSOR_LAYOUT_VECTOR)
        qs_tensor_channel_geometry (tensor, spec->axis, &n_channels, &inner, &outer, NULL);
      if ((inner * outer) % spec->group_size != 0)
        {
          g_autofree char *shape = qs_tensor_shape_to_string (tensor);
          INVALID (_("Cannot quantize “%s” %s: group_size %u does not divide the reduction "
                     "length %zu of each channel"),
                   name, shape, spec->group_size, inner * outer);
        }
    }
#undef INVALID
  return TRUE;
}

/* ------------------------------------------------------------------ scale rules */

void
_qs_quant_code_range (const QsQuantSpec *spec,
                      gint32            *qmin,
                      gint32            *qmax)
{
  switch (spec->format)
    {
    case QS_FORMAT_INT:
      if (spec->is_signed)
        {
          *qmax = (1 << (spec->bits - 1)) - 1;
          *qmin = spec->mapping == QS_MAPPING_SYMMETRIC && spec->narrow_range ? -*qmax : -*qmax - 1;
        }
      else
        {
          *qmin = 0;
          *qmax = (gint32) ((1u << spec->bits) - 1);
        }
      return;
    case QS_FORMAT_BINARY:
    case QS_FORMAT_TERNARY:
      *qmin = -1;
      *qmax = 1;
      return;
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      *qmin = 0;
      *qmax = (gint32) ((1u << qs_format_storage_bits (spec->format)) - 1);
      return;
    case QS_FORMAT_FP32:
    default:
      *qmin = G_MININT32;
      *qmax = G_MAXINT32;
      return;
    }
}

static double
pow2_ceil (double s)
{
  int e;
  double f = frexp (s, &e);   /* s = f * 2^e, f in [0.5, 1) */

  return f == 0.5 ? s : ldexp (1.0, e);
}

void
_qs_quant_scale_for_range (const QsQuantSpec *spec,
                           gint32             qmin,
                           gint32             qmax,
                           double             lo,
                           double             hi,
                           float             *scale,
                           gint32            *zero_point)
{
  double s, limit;
  gint32 zp = 0;

  lo = MIN (lo, 0.0);
  hi = MAX (hi, 0.0);
  if (spec->mapping == QS_MAPPING_SYMMETRIC)
    {
      s = (spec->is_signed ? MAX (-lo, hi) : hi) / qmax;
      /* unsigned codes on data with nothing above 0: every value clips to 0 whatever the
       * scale; take the data's own magnitude so the clipping shows in the statistics */
      if (!spec->is_signed && !(hi > 0.0) && lo < 0.0)
        s = -lo / qmax;
    }
  else
    s = (hi - lo) / ((double) qmax - qmin);
  if (!(s > 0.0) || !isfinite (s))
    s = s > 0.0 ? FLT_MAX : 1.0;
  /* Largest scale whose every code dequantizes to a finite float (|code - zp| is at most
   * qmax - qmin), with a margin for float rounding. */
  limit = FLT_MAX / ((double) qmax - qmin) * (1.0 - 1e-6);
  s = CLAMP (s, FLT_MIN, limit);
  if (spec->pow2_scale)
    {
      s = pow2_ceil (s);
      if (s > limit)
        s /= 2.0;
    }
  *scale = (float) s;
  if (spec->mapping == QS_MAPPING_AFFINE)
    {
      /* TFLite's nudging: the zero-point is an integer in [qmin, qmax], so 0.0 is exact. */
      double zp_real = qmin - lo / (double) *scale;
      zp = (gint32) CLAMP (nearbyint (zp_real), (double) qmin, (double) qmax);
    }
  *zero_point = zp;
}

/* ------------------------------------------------------------------- geometry */

typedef struct
{
  gsize n;
  gsize n_channels;
  gsize inner;
  gsize outer;
  gsize gpc;          /* groups per channel */
  gsize group_len;    /* values per group: (inner * outer) / gpc */
  gint  axis;
} Geometry;

static gboolean
resolve_geometry (const QsTensor    *tensor,
                  const QsQuantSpec *spec,
                  Geometry          *g,
                  GError           **error)
{
  g->n = tensor->n_elements;
  g->axis = spec->axis;
  g->n_channels = 1;
  g->inner = tensor->n_elements;
  g->outer = 1;
  g->gpc = 1;

  if (qs_quant_spec_is_float (spec) || spec->granularity == QS_GRANULARITY_TENSOR ||
      tensor->n_dims == 0)
    {
      g->group_len = g->n;
      return TRUE;
    }
  if (spec->granularity == QS_GRANULARITY_CHANNEL ||
      (tensor->n_dims > 1 && tensor->layout != QS_TENSOR_LAYOUT_VECTOR))
    {
      g_autoptr(GError) local = NULL;

      if (!qs_tensor_channel_geometry (tensor, spec->axis, &g->n_channels, &g->inner,
                                       &g->outer, &local))
        {
          g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC,
                       _("Cannot quantize “%s”: %s"), tensor_name (tensor), local->message);
          return FALSE;
        }
    }
  g->group_len = g->inner * g->outer;
  if (spec->granularity == QS_GRANULARITY_GROUP)
    {
      /* validated: group_size divides the reduction length */
      g->gpc = g->group_len / spec->group_size;
      g->group_len = spec->group_size;
    }
  if (g->axis < 0 && !(tensor->layout == QS_TENSOR_LAYOUT_DEPTHWISE && tensor->n_dims == 4))
    g->axis = qs_tensor_default_axis (tensor);
  return TRUE;
}

static inline gsize
geometry_n_params (const Geometry *g)
{
  return g->n_channels * g->gpc;
}

guint64
qs_quant_storage_bits (const QsTensor    *tensor,
                       const QsQuantSpec *spec)
{
  Geometry g;
  guint bits;
  guint64 storage;

  g_return_val_if_fail (tensor != NULL, 0);
  g_return_val_if_fail (spec != NULL, 0);

  bits = spec->format == QS_FORMAT_INT ? spec->bits : qs_format_storage_bits (spec->format);
  storage = (guint64) tensor->n_elements * bits;
  if (qs_quant_spec_is_float (spec) || !resolve_geometry (tensor, spec, &g, NULL))
    return storage;
  /* as the statistics count it: a 32-bit scale per parameter, plus a zero-point of the
   * code width when affine */
  return storage + (guint64) geometry_n_params (&g)
                   * (32 + (spec->format == QS_FORMAT_INT && spec->mapping == QS_MAPPING_AFFINE
                            ? spec->bits : 0));
}

/* A run of consecutive values sharing one parameter index. Returns FALSE to stop. */
typedef gboolean (*SegmentFunc) (gpointer data,
                                 gsize    start,
                                 gsize    len,
                                 gsize    pidx);

static gboolean
for_each_segment (const Geometry *g,
                  SegmentFunc     func,
                  gpointer        data)
{
  if (geometry_n_params (g) == 1)
    {
      for (gsize start = 0; start < g->n; start += CHUNK)
        if (!func (data, start, MIN (CHUNK, g->n - start), 0))
          return FALSE;
      return TRUE;
    }
  for (gsize o = 0; o < g->outer; o++)
    for (gsize c = 0; c < g->n_channels; c++)
      {
        gsize base = (o * g->n_channels + c) * g->inner;
        gsize p0 = o * g->inner;
        gsize j = 0;

        while (j < g->inner)
          {
            gsize grp = g->gpc == 1 ? 0 : (p0 + j) / g->group_len;
            gsize end = g->gpc == 1 ? g->inner : MIN (g->inner, (grp + 1) * g->group_len - p0);

            end = MIN (end, j + CHUNK);
            if (!func (data, base + j, end - j, c * g->gpc + grp))
              return FALSE;
            j = end;
          }
      }
  return TRUE;
}

/* ------------------------------------------------------------------- params */

static QsQuantParams *
params_new (const QsQuantSpec *spec,
            const Geometry    *g)
{
  QsQuantParams *p = g_new0 (QsQuantParams, 1);
  gsize n = g ? geometry_n_params (g) : 1;

  p->ref_count = 1;
  p->spec = *spec;
  p->n_params = n;
  p->n_channels = g ? g->n_channels : 1;
  p->inner = g ? g->inner : 0;
  p->outer = g ? g->outer : 1;
  p->groups_per_channel = g ? g->gpc : 1;
  if (g)
    p->spec.axis = g->axis;
  _qs_quant_code_range (spec, &p->qmin, &p->qmax);
  p->scale = g_new (float, n);
  p->zero_point = g_new0 (gint32, n);
  p->clip_lo = g_new (float, n);
  p->clip_hi = g_new (float, n);
  if (spec->format == QS_FORMAT_TERNARY)
    p->threshold = g_new0 (float, n);
  return p;
}

QsQuantParams *
qs_quant_params_ref (QsQuantParams *params)
{
  g_return_val_if_fail (params != NULL, NULL);
  g_atomic_int_inc (&params->ref_count);
  return params;
}

void
qs_quant_params_unref (QsQuantParams *params)
{
  g_return_if_fail (params != NULL);

  if (g_atomic_int_dec_and_test (&params->ref_count))
    {
      g_free (params->scale);
      g_free (params->zero_point);
      g_free (params->clip_lo);
      g_free (params->clip_hi);
      g_free (params->threshold);
      g_free (params);
    }
}

gsize
qs_quant_params_index (const QsQuantParams *params,
                       gsize                i)
{
  gsize j, t, c, o;

  g_return_val_if_fail (params != NULL, 0);

  if (params->n_params == 1 || params->inner == 0)
    return 0;
  j = i % params->inner;
  t = i / params->inner;
  c = t % params->n_channels;
  if (params->groups_per_channel == 1)
    return c;
  o = t / params->n_channels;
  return c * params->groups_per_channel +
         (o * params->inner + j) / (params->inner * params->outer / params->groups_per_channel);
}

static void
set_int_param (QsQuantParams *p,
               gsize          k,
               double         lo,
               double         hi)
{
  _qs_quant_scale_for_range (&p->spec, p->qmin, p->qmax, lo, hi, &p->scale[k], &p->zero_point[k]);
  p->clip_lo[k] = (float) (p->qmin - p->zero_point[k]) * p->scale[k];
  p->clip_hi[k] = (float) (p->qmax - p->zero_point[k]) * p->scale[k];
}

static void
set_float_param (QsQuantParams *p)
{
  float m = qs_format_max_finite (p->spec.format);

  p->scale[0] = 1.0f;
  p->zero_point[0] = 0;
  p->clip_lo[0] = -m;
  p->clip_hi[0] = m;
}

/* Binary (XNOR-Net): scale = mean |x|. Ternary (TWN): threshold = 0.7 mean |x|, scale = mean
 * of the |x| above it. */
static void
set_binary_param (QsQuantParams *p,
                  gsize          k,
                  const float   *v,
                  gsize          n)
{
  double sum = 0.0, mean, kept = 0.0;
  gsize n_kept = 0;

  for (gsize i = 0; i < n; i++)
    sum += fabsf (v[i]);
  mean = n ? sum / n : 0.0;
  if (p->spec.format == QS_FORMAT_BINARY)
    {
      p->scale[k] = (float) mean;
    }
  else
    {
      float thr = (float) (0.7 * mean);

      for (gsize i = 0; i < n; i++)
        if (fabsf (v[i]) > thr)
          {
            kept += fabsf (v[i]);
            n_kept++;
          }
      p->threshold[k] = thr;
      p->scale[k] = n_kept ? (float) (kept / n_kept) : 0.0f;
    }
  /* all zeros: the smallest normal scale, so the scale is never 0 (engines divide by it) */
  if (!(p->scale[k] > 0.0f))
    p->scale[k] = FLT_MIN;
  p->zero_point[k] = 0;
  p->clip_lo[k] = -p->scale[k];
  p->clip_hi[k] = p->scale[k];
}

QsQuantParams *
qs_quant_params_from_range (const QsQuantSpec *spec,
                            float              lo,
                            float              hi,
                            GError           **error)
{
  QsQuantParams *p;

  g_return_val_if_fail (spec != NULL, NULL);

  if (!qs_quant_spec_validate (spec, NULL, error))
    return NULL;
  if (!isfinite (lo) || !isfinite (hi) || lo > hi)
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_NON_FINITE,
                   _("Cannot make quantization parameters from the range [%g, %g]"), lo, hi);
      return NULL;
    }
  p = params_new (spec, NULL);
  p->spec.granularity = QS_GRANULARITY_TENSOR;
  switch (spec->format)
    {
    case QS_FORMAT_INT:
      set_int_param (p, 0, lo, hi);
      break;
    case QS_FORMAT_BINARY:
    case QS_FORMAT_TERNARY:
      {
        /* Values assumed uniform on [-a, a]: mean |x| = a / 2; ternary keeps |x| > 0.35 a,
         * whose mean is 0.675 a. */
        double a = MAX (fabs (lo), fabs (hi));

        p->scale[0] = (float) (spec->format == QS_FORMAT_BINARY ? 0.5 * a : 0.675 * a);
        if (!(p->scale[0] > 0.0f))
          p->scale[0] = FLT_MIN;
        if (p->threshold)
          p->threshold[0] = (float) (0.35 * a);
        p->clip_lo[0] = -p->scale[0];
        p->clip_hi[0] = p->scale[0];
        break;
      }
    case QS_FORMAT_FP32:
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
    default:
      set_float_param (p);
      break;
    }
  return p;
}

/* --------------------------------------------------------------- the scan pass */

typedef struct
{
  const float *data;
  float       *min;        /* per param */
  float       *max;
  gsize        n_nan;
  gsize        n_inf;
  const QsQuantKernels *kernels;
} ScanCtx;

static gboolean
scan_segment (gpointer data,
              gsize    start,
              gsize    len,
              gsize    pidx)
{
  ScanCtx *ctx = data;

  ctx->kernels->minmax (ctx->data + start, len, &ctx->min[pidx], &ctx->max[pidx],
                        &ctx->n_nan, &ctx->n_inf);
  return TRUE;
}

/* Finite min / max per parameter and the non-finite counts, in memory order. */
static void
scan_ranges (const float    *data,
             const Geometry *g,
             float          *min,
             float          *max,
             gsize          *n_nan,
             gsize          *n_inf)
{
  gsize n_params = geometry_n_params (g);
  ScanCtx ctx = { data, min, max, 0, 0, qs_quant_kernels () };

  for (gsize k = 0; k < n_params; k++)
    {
      min[k] = FLT_MAX;
      max[k] = -FLT_MAX;
    }
  if (n_params > 1 && g->inner == 1)
    {
      /* Dense-like: consecutive values belong to consecutive channels. Rows fold into
       * per-channel arrays, copied out at the end of each group of rows. */
      gsize nch = g->n_channels;
      g_autofree float *row_min = g_new (float, nch);
      g_autofree float *row_max = g_new (float, nch);

      for (gsize o = 0; o < g->outer; o++)
        {
          if (o % g->group_len == 0)
            for (gsize c = 0; c < nch; c++)
              {
                row_min[c] = FLT_MAX;
                row_max[c] = -FLT_MAX;
              }
          ctx.kernels->minmax_vec (data + o * nch, nch, row_min, row_max, &ctx.n_nan, &ctx.n_inf);
          if ((o + 1) % g->group_len == 0)
            {
              gsize grp = o / g->group_len;
              for (gsize c = 0; c < nch; c++)
                {
                  min[c * g->gpc + grp] = row_min[c];
                  max[c * g->gpc + grp] = row_max[c];
                }
            }
        }
    }
  else
    for_each_segment (g, scan_segment, &ctx);
  *n_nan = ctx.n_nan;
  *n_inf = ctx.n_inf;
}

/* Gathers the finite values of every parameter: parameter k's values are
 * values[k * slot .. k * slot + count[k]), slot = n / n_params. */
typedef struct
{
  const float *data;
  float       *values;
  gsize       *count;
  gsize        slot;
} GatherCtx;

static gboolean
gather_segment (gpointer data,
                gsize    start,
                gsize    len,
                gsize    pidx)
{
  GatherCtx *ctx = data;
  float *dst = ctx->values + pidx * ctx->slot;
  gsize c = ctx->count[pidx];

  for (gsize i = 0; i < len; i++)
    {
      float v = ctx->data[start + i];
      if (isfinite (v))
        dst[c++] = v;
    }
  ctx->count[pidx] = c;
  return TRUE;
}

/* ---------------------------------------------------------------------- pruning */

typedef struct
{
  gsize  n_pruned;
  double sum_x2;      /* over the pruned values: their error is -x */
  double sum_x;
  float  max_abs;
} PruneInfo;

/* Zeroes the k smallest-magnitude finite values among idx[0..n) of data (in place):
 * everything below the k-th magnitude, then ties in index order until k are gone. */
static void
prune_set (float       *data,
           const float *orig,
           const gsize *idx,
           gsize        n,
           double       sparsity,
           float       *scratch,
           PruneInfo   *info)
{
  gsize n_fin = 0, k, done = 0;
  float thr;

  for (gsize i = 0; i < n; i++)
    {
      float v = orig[idx ? idx[i] : i];
      if (isfinite (v))
        scratch[n_fin++] = fabsf (v);
    }
  k = (gsize) floor (sparsity * n_fin);
  if (k == 0)
    return;
  thr = _qs_select_kth (scratch, n_fin, k - 1);
  for (int pass = 0; pass < 2 && done < k; pass++)
    for (gsize i = 0; i < n && done < k; i++)
      {
        gsize at = idx ? idx[i] : i;
        float v = orig[at], a = fabsf (v);

        if (!isfinite (v) || (data[at] == 0.0f && v != 0.0f))
          continue;
        if (pass == 0 ? a < thr : a == thr)
          {
            data[at] = 0.0f;
            info->sum_x2 += (double) v * v;
            info->sum_x += v;
            info->max_abs = MAX (info->max_abs, a);
            done++;
          }
      }
  info->n_pruned += done;
}

/* A pruned copy of the tensor's values, or NULL when the spec prunes nothing. */
static float *
prune_copy (const QsTensor    *tensor,
            const QsQuantSpec *spec,
            PruneInfo         *info)
{
  float *copy;
  g_autofree float *scratch = NULL;

  memset (info, 0, sizeof *info);
  if (!(spec->sparsity > 0.0))
    return NULL;

  copy = qs_aligned_alloc (tensor->n_elements * sizeof (float));
  memcpy (copy, tensor->data, tensor->n_elements * sizeof (float));
  scratch = g_new (float, tensor->n_elements);

  if (spec->prune_per_channel && tensor->n_dims > 0)
    {
      gsize n_channels, inner, outer;

      if (qs_tensor_channel_geometry (tensor, spec->axis, &n_channels, &inner, &outer, NULL))
        {
          g_autofree gsize *idx = g_new (gsize, inner * outer);

          for (gsize c = 0; c < n_channels; c++)
            {
              gsize m = 0;

              for (gsize o = 0; o < outer; o++)
                for (gsize j = 0; j < inner; j++)
                  idx[m++] = (o * n_channels + c) * inner + j;
              prune_set (copy, tensor->data, idx, m, spec->sparsity, scratch, info);
            }
          return copy;
        }
    }
  prune_set (copy, tensor->data, NULL, tensor->n_elements, spec->sparsity, scratch, info);
  return copy;
}

/* ------------------------------------------------------------- params compute */

typedef struct
{
  gsize n_nan;
  gsize n_inf;
  float min;
  float max;
} ScanInfo;

static QsQuantParams *
compute_params (const QsTensor    *tensor,
                const float       *data,
                const QsQuantSpec *spec,
                ScanInfo          *scan,
                GError           **error)
{
  Geometry g;
  g_autoptr(QsQuantParams) p = NULL;
  g_autofree float *min = NULL;
  g_autofree float *max = NULL;
  gsize n_params;

  if (!qs_quant_spec_validate (spec, tensor, error))
    return NULL;
  if (!resolve_geometry (tensor, spec, &g, error))
    return NULL;

  n_params = geometry_n_params (&g);
  p = params_new (spec, &g);
  min = g_new (float, n_params);
  max = g_new (float, n_params);
  scan_ranges (data, &g, min, max, &scan->n_nan, &scan->n_inf);
  scan->min = FLT_MAX;
  scan->max = -FLT_MAX;
  for (gsize k = 0; k < n_params; k++)
    {
      scan->min = MIN (scan->min, min[k]);
      scan->max = MAX (scan->max, max[k]);
    }
  if (scan->n_nan + scan->n_inf == tensor->n_elements)
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_NON_FINITE,
                   _("Cannot quantize “%s”: all %zu values are NaN or infinite"),
                   tensor_name (tensor), tensor->n_elements);
      return NULL;
    }

  if (qs_quant_spec_is_float (spec))
    {
      set_float_param (p);
      return g_steal_pointer (&p);
    }

  if (spec->format == QS_FORMAT_INT && spec->range_method == QS_RANGE_MINMAX)
    {
      for (gsize k = 0; k < n_params; k++)
        {
          if (min[k] > max[k])             /* no finite value in this channel/group */
            set_int_param (p, k, 0.0, 0.0);
          else
            set_int_param (p, k, min[k], max[k]);
        }
      return g_steal_pointer (&p);
    }

  /* Every other rule needs the values of each parameter. */
  {
    g_autofree float *owned = NULL;
    g_autofree gsize *count = g_new0 (gsize, n_params);
    const float *values;
    gsize slot = g.n / n_params;

    if (n_params == 1 && scan->n_nan + scan->n_inf == 0)
      {
        values = data;
        count[0] = g.n;
      }
    else
      {
        GatherCtx ctx;

        owned = g_new (float, g.n);
        ctx.data = data;
        ctx.values = owned;
        ctx.count = count;
        ctx.slot = slot;
        for_each_segment (&g, gather_segment, &ctx);
        values = owned;
      }

    for (gsize k = 0; k < n_params; k++)
      {
        const float *v = values + k * slot;

        if (spec->format != QS_FORMAT_INT)
          {
            set_binary_param (p, k, v, count[k]);
            continue;
          }
        if (count[k] == 0)
          {
            set_int_param (p, k, 0.0, 0.0);
            continue;
          }
        {
          float lo, hi;

          if (!qs_range_choose_values (v, count[k], spec, &lo, &hi, error))
            return NULL;
          set_int_param (p, k, lo, hi);
        }
      }
  }
  return g_steal_pointer (&p);
}

QsQuantParams *
qs_quant_params_compute (const QsTensor    *tensor,
                         const QsQuantSpec *spec,
                         GError           **error)
{
  PruneInfo prune;
  ScanInfo scan;
  float *pruned;
  QsQuantParams *p;

  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!qs_quant_spec_validate (spec, tensor, error))
    return NULL;
  pruned = prune_copy (tensor, spec, &prune);
  p = compute_params (tensor, pruned ? pruned : tensor->data, spec, &scan, error);
  qs_aligned_free (pruned);
  return p;
}

/* ------------------------------------------------------------ the quantize pass */

typedef struct
{
  const float          *data;
  const QsQuantParams  *p;
  const QsQuantKernels *kernels;
  gint32               *codes;
  float                *dequant;
  guint32              *hist;       /* QS_QUANT_HIST_BANKS banks */
  gsize                 n_levels;
  QsQuantRowStats       st;
  GCancellable         *cancellable;
  gsize                 since_check;
  gboolean              cancelled;
} PassCtx;

static gboolean
pass_check_cancel (PassCtx *ctx,
                   gsize    len)
{
  ctx->since_check += len;
  if (ctx->since_check >= CHUNK)
    {
      ctx->since_check = 0;
      if (g_cancellable_is_cancelled (ctx->cancellable))
        {
          ctx->cancelled = TRUE;
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
int_segment (gpointer data,
             gsize    start,
             gsize    len,
             gsize    pidx)
{
  PassCtx *ctx = data;
  const QsQuantParams *p = ctx->p;
  gint32 *codes = ctx->codes ? ctx->codes + start : NULL;
  float *deq = ctx->dequant ? ctx->dequant + start : NULL;

  if (p->spec.rounding == QS_ROUNDING_NEAREST_EVEN)
    ctx->kernels->quantize_row (ctx->data + start, len, p->scale[pidx], p->zero_point[pidx],
                                p->qmin, p->qmax, codes, deq, ctx->hist, &ctx->st);
  else
    qs_quantize_row_round_ref (ctx->data + start, len, p->scale[pidx], p->zero_point[pidx],
                               p->qmin, p->qmax, p->spec.rounding, p->spec.seed, start,
                               codes, deq, ctx->hist, &ctx->st);
  return pass_check_cancel (ctx, len);
}

/* Binary / ternary, scalar: sign (0 counts as +) or the ternary threshold. */
static gboolean
bin_segment (gpointer data,
             gsize    start,
             gsize    len,
             gsize    pidx)
{
  PassCtx *ctx = data;
  const QsQuantParams *p = ctx->p;
  float scale = p->scale[pidx];
  float thr = p->threshold ? p->threshold[pidx] : 0.0f;
  gboolean ternary = p->spec.format == QS_FORMAT_TERNARY;
  QsQuantRowStats *st = &ctx->st;

  for (gsize i = start; i < start + len; i++)
    {
      float x = ctx->data[i], d, e;
      gint32 code;

      if (!isfinite (x))
        {
          if (isnan (x))
            st->n_nan++;
          else
            st->n_inf++;
          if (ctx->codes)
            ctx->codes[i] = 0;
          if (ctx->dequant)
            ctx->dequant[i] = x;
          continue;
        }
      if (ternary)
        code = x > thr ? 1 : (x < -thr ? -1 : 0);
      else
        code = x >= 0.0f ? 1 : -1;
      d = (float) code * scale;
      e = d - x;
      if (ctx->codes)
        ctx->codes[i] = code;
      if (ctx->dequant)
        ctx->dequant[i] = d;
      ctx->hist[(i & 7) * ctx->n_levels + (gsize) (code + 1)]++;
      st->sum_e2 += (double) e * e;
      st->sum_x2 += (double) x * x;
      st->sum_e += e;
      st->sum_xe += (double) x * e;
      st->max_abs_e = MAX (st->max_abs_e, fabsf (e));
      st->n_finite++;
    }
  return pass_check_cancel (ctx, len);
}

typedef struct
{
  guint32 *level_counts;   /* 2^bits counters for 8/16-bit float formats, else NULL */
} FloatExtra;

static gboolean
float_pass (PassCtx    *ctx,
            gsize       n,
            FloatExtra *extra)
{
  QsFormat format = ctx->p->spec.format;
  float fmax = qs_format_max_finite (format);
  QsQuantRowStats *st = &ctx->st;

  for (gsize start = 0; start < n; start += CHUNK)
    {
      gsize end = MIN (n, start + CHUNK);

      for (gsize i = start; i < end; i++)
        {
          float x = ctx->data[i], d, e;
          guint32 bits = qs_format_encode (format, x);

          if (ctx->codes)
            ctx->codes[i] = (gint32) bits;
          if (!isfinite (x))
            {
              if (isnan (x))
                st->n_nan++;
              else
                st->n_inf++;
              if (ctx->dequant)
                ctx->dequant[i] = x;
              continue;
            }
          d = format == QS_FORMAT_FP32 ? x : qs_format_decode (format, bits);
          e = d - x;
          if (ctx->dequant)
            ctx->dequant[i] = d;
          if (extra->level_counts)
            extra->level_counts[bits]++;
          st->n_clipped += fabsf (x) > fmax;
          st->sum_e2 += (double) e * e;
          st->sum_x2 += (double) x * x;
          st->sum_e += e;
          st->sum_xe += (double) x * e;
          st->max_abs_e = MAX (st->max_abs_e, fabsf (e));
          st->n_finite++;
        }
      if (g_cancellable_is_cancelled (ctx->cancellable))
        {
          ctx->cancelled = TRUE;
          return FALSE;
        }
    }
  return TRUE;
}

/* INT with per-element params along Dense-like rows (inner == 1, several params). */
static gboolean
int_rows_pass (PassCtx        *ctx,
               const Geometry *g)
{
  const QsQuantParams *p = ctx->p;
  g_autofree float *row_scale = NULL;
  g_autofree gint32 *row_zp = NULL;
  const float *scale = p->scale;
  const gint32 *zp = p->zero_point;
  gsize nch = g->n_channels;

  if (g->gpc > 1)
    {
      row_scale = g_new (float, nch);
      row_zp = g_new (gint32, nch);
      scale = row_scale;
      zp = row_zp;
    }
  for (gsize o = 0; o < g->outer; o++)
    {
      gsize start = o * nch;
      gint32 *codes = ctx->codes ? ctx->codes + start : NULL;
      float *deq = ctx->dequant ? ctx->dequant + start : NULL;

      if (g->gpc > 1 && o % g->group_len == 0)
        {
          gsize grp = o / g->group_len;
          for (gsize c = 0; c < nch; c++)
            {
              row_scale[c] = p->scale[c * g->gpc + grp];
              row_zp[c] = p->zero_point[c * g->gpc + grp];
            }
        }
      if (p->spec.rounding == QS_ROUNDING_NEAREST_EVEN)
        ctx->kernels->quantize_row_vec (ctx->data + start, nch, scale, zp, p->qmin, p->qmax,
                                        codes, deq, ctx->hist, &ctx->st);
      else
        qs_quantize_row_vec_round_ref (ctx->data + start, nch, scale, zp, p->qmin, p->qmax,
                                       p->spec.rounding, p->spec.seed, start, codes, deq,
                                       ctx->hist, &ctx->st);
      if (!pass_check_cancel (ctx, nch))
        return FALSE;
    }
  return TRUE;
}

/* --------------------------------------------------------------------- results */

QsQuantResult *
qs_quant_result_ref (QsQuantResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_int_inc (&result->ref_count);
  return result;
}

void
qs_quant_result_unref (QsQuantResult *result)
{
  g_return_if_fail (result != NULL);

  if (g_atomic_int_dec_and_test (&result->ref_count))
    {
      g_clear_pointer (&result->input, qs_tensor_unref);
      g_clear_pointer (&result->params, qs_quant_params_unref);
      g_clear_pointer (&result->codes, qs_aligned_free);
      g_clear_pointer (&result->dequant, qs_tensor_unref);
      g_clear_pointer (&result->float_hist, qs_histogram_unref);
      g_clear_pointer (&result->dequant_hist, qs_histogram_unref);
      g_clear_pointer (&result->code_hist, qs_histogram_unref);
      g_clear_pointer (&result->error_map, qs_error_map_unref);
      g_free (result);
    }
}

static gboolean
set_cancelled (const QsTensor *tensor,
               GError        **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
               _("Quantization of “%s” was cancelled"), tensor_name (tensor));
  return FALSE;
}

/* Histograms of the input and of the dequantized values over one range and bins,
 * of every value or of one channel. */
static gboolean
build_histograms (QsQuantResult        *r,
                  const float          *deq,
                  const QsQuantOptions *opt,
                  GError              **error)
{
  const QsTensor *t = r->input;
  double lo = opt->hist_lo, hi = opt->hist_hi;
  g_autofree float *xs = NULL;
  g_autofree float *ds = NULL;
  const float *xv = t->data, *dv = deq;
  gsize n = t->n_elements;

  if (opt->hist_channel >= 0)
    {
      gsize n_channels = 1, inner = t->n_elements, outer = 1, m = 0;
      gsize c = (gsize) opt->hist_channel;

      if (t->n_dims > 0 &&
          !qs_tensor_channel_geometry (t, r->params->spec.axis, &n_channels, &inner, &outer, NULL))
        n_channels = 1;
      if (c >= n_channels)
        {
          g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC,
                       _("Cannot build histograms of “%s”: hist_channel %d is out of range "
                         "(%zu channels)"),
                       tensor_name (t), opt->hist_channel, n_channels);
          return FALSE;
        }
      xs = g_new (float, inner * outer);
      ds = g_new (float, inner * outer);
      for (gsize o = 0; o < outer; o++)
        for (gsize j = 0; j < inner; j++)
          {
            gsize at = (o * n_channels + c) * inner + j;
            xs[m] = t->data[at];
            ds[m] = deq[at];
            m++;
          }
      xv = xs;
      dv = ds;
      n = m;
    }
  if (!(isfinite (lo) && isfinite (hi)) || lo >= hi)
    {
      float mn = FLT_MAX, mx = -FLT_MAX;
      gsize nan_count = 0, inf_count = 0;

      qs_quant_kernels ()->minmax (xv, n, &mn, &mx, &nan_count, &inf_count);
      if (mn > mx)
        mn = mx = 0.0f;
      lo = mn;
      hi = mx;
    }
  r->float_hist = qs_histogram_new (opt->hist_bins, lo, hi);
  r->dequant_hist = qs_histogram_new (opt->hist_bins, r->float_hist->lo, r->float_hist->hi);
  qs_histogram_add (r->float_hist, xv, n);
  qs_histogram_add (r->dequant_hist, dv, n);
  return TRUE;
}

static QsQuantResult *
run_pass (QsTensor             *tensor,
          QsQuantParams        *params,
          const float          *data,
          const PruneInfo      *prune,
          const ScanInfo       *scan,
          const QsQuantOptions *options,
          GCancellable         *cancellable,
          gint64                t0,
          GError              **error)
{
  static const QsQuantOptions no_options = { FALSE, FALSE, 0, 0.0, 0.0, -1, 0, 0 };
  const QsQuantOptions *opt = options ? options : &no_options;
  const QsQuantSpec *spec = &params->spec;
  g_autoptr(QsQuantResult) r = g_new0 (QsQuantResult, 1);
  g_autoptr(QsTensor) deq_tensor = NULL;
  g_autofree guint32 *banks = NULL;
  g_autofree guint32 *level_counts = NULL;
  gboolean need_deq = opt->want_dequant || opt->hist_bins > 0 || opt->map_width > 0;
  gboolean is_int_like = !qs_quant_spec_is_float (spec);
  Geometry g;
  PassCtx ctx = { 0 };
  QsQuantStats *s = &r->stats;
  gsize n = tensor->n_elements;
  gboolean ok;

  r->ref_count = 1;
  r->input = qs_tensor_ref (tensor);
  r->params = qs_quant_params_ref (params);

  g.n = n;
  g.n_channels = params->n_channels;
  g.inner = params->n_params == 1 ? n : params->inner;
  g.outer = params->n_params == 1 ? 1 : params->outer;
  g.gpc = params->groups_per_channel;
  g.group_len = params->n_params == 1 ? n : g.inner * g.outer / g.gpc;
  g.axis = spec->axis;
  if (params->n_params == 1)
    g.n_channels = 1, g.gpc = 1;

  if (need_deq)
    {
      deq_tensor = qs_tensor_new (tensor->name, tensor->n_dims, tensor->shape, error);
      if (deq_tensor == NULL)
        return NULL;
      deq_tensor->layout = tensor->layout;
    }
  if (opt->want_codes)
    {
      r->codes = qs_aligned_alloc (MAX (n, 1) * sizeof (gint32));
      if (r->codes == NULL)
        {
          g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC,
                       _("Out of memory quantizing “%s”"), tensor_name (tensor));
          return NULL;
        }
    }

  ctx.data = data;
  ctx.p = params;
  ctx.kernels = qs_quant_kernels ();
  ctx.codes = r->codes;
  ctx.dequant = deq_tensor ? deq_tensor->data : NULL;
  ctx.cancellable = cancellable;

  if (is_int_like)
    {
      ctx.n_levels = (gsize) (params->qmax - params->qmin) + 1;
      banks = g_new0 (guint32, QS_QUANT_HIST_BANKS * ctx.n_levels);
      ctx.hist = banks;
      if (spec->format == QS_FORMAT_INT)
        {
          if (params->n_params > 1 && params->inner == 1)
            ok = int_rows_pass (&ctx, &g);
          else
            ok = for_each_segment (&g, int_segment, &ctx);
        }
      else
        ok = for_each_segment (&g, bin_segment, &ctx);
    }
  else
    {
      FloatExtra extra = { NULL };

      if (spec->format != QS_FORMAT_FP32)
        extra.level_counts = level_counts =
          g_new0 (guint32, (gsize) 1 << qs_format_storage_bits (spec->format));
      ok = float_pass (&ctx, n, &extra);
    }
  if (!ok || ctx.cancelled)
    {
      set_cancelled (tensor, error);
      return NULL;
    }

  /* Statistics. Pruned values were quantized as exact zeros (error 0); their real error
   * is -x, added here. */
  {
    QsQuantRowStats *st = &ctx.st;
    double nv, sxd, sdd;

    st->sum_e2 += prune->sum_x2;
    st->sum_x2 += prune->sum_x2;
    st->sum_e -= prune->sum_x;
    st->sum_xe -= prune->sum_x2;
    st->max_abs_e = MAX (st->max_abs_e, prune->max_abs);

    s->n_values = st->n_finite;
    s->n_nan = st->n_nan;
    s->n_inf = st->n_inf;
    s->min = scan->min;
    s->max = scan->max;
    nv = MAX ((double) st->n_finite, 1.0);
    s->signal_power = st->sum_x2 / nv;
    s->mse = st->sum_e2 / nv;
    s->sqnr_db = qs_stats_sqnr_db (s->signal_power, s->mse);
    s->max_abs_error = st->max_abs_e;
    s->mean_error = st->sum_e / nv;
    /* x . q = sum x^2 + sum x e; q . q = sum x^2 + 2 sum x e + sum e^2 */
    sxd = st->sum_x2 + st->sum_xe;
    sdd = MAX (st->sum_x2 + 2.0 * st->sum_xe + st->sum_e2, 0.0);
    if (st->sum_x2 > 0.0 && sdd > 0.0)
      s->cosine = CLAMP (sxd / sqrt (st->sum_x2 * sdd), -1.0, 1.0);
    else
      s->cosine = st->sum_x2 == sdd ? 1.0 : 0.0;
    s->n_clipped = st->n_clipped;
    s->clipped_fraction = st->n_finite ? (double) st->n_clipped / st->n_finite : 0.0;
    s->n_pruned = prune->n_pruned;
  }

  /* Levels, entropy and storage. */
  {
    double entropy = 0.0, total = 0.0;
    guint64 used = 0;
    guint bits = spec->format == QS_FORMAT_INT ? spec->bits : qs_format_storage_bits (spec->format);

    if (is_int_like)
      {
        r->code_hist = qs_histogram_new ((guint) ctx.n_levels, params->qmin - 0.5, params->qmax + 0.5);
        for (gsize k = 0; k < ctx.n_levels; k++)
          {
            guint64 c = 0;

            for (guint b = 0; b < QS_QUANT_HIST_BANKS; b++)
              c += banks[b * ctx.n_levels + k];
            r->code_hist->counts[k] = c;
            r->code_hist->total += c;
          }
        total = (double) r->code_hist->total;
        for (gsize k = 0; k < ctx.n_levels; k++)
          if (r->code_hist->counts[k])
            {
              double pr = r->code_hist->counts[k] / total;
              used++;
              entropy -= pr * log2 (pr);
            }
        s->levels_available = spec->format == QS_FORMAT_BINARY ? 2 : ctx.n_levels;
      }
    else if (level_counts != NULL)
      {
        gsize n_codes = (gsize) 1 << bits;

        for (gsize k = 0; k < n_codes; k++)
          total += level_counts[k];
        for (gsize k = 0; k < n_codes; k++)
          if (level_counts[k])
            {
              double pr = level_counts[k] / total;
              used++;
              entropy -= pr * log2 (pr);
            }
        s->levels_available = n_codes;
      }
    else
      s->levels_available = G_GUINT64_CONSTANT (1) << 32;
    s->levels_used = used;
    s->code_entropy_bits = entropy;
    s->storage_bits = (guint64) n * bits;
    if (is_int_like)
      s->storage_bits += (guint64) params->n_params *
                         (32 + (spec->format == QS_FORMAT_INT && spec->mapping == QS_MAPPING_AFFINE
                                ? spec->bits : 0));
    s->bits_per_value = (double) s->storage_bits / n;
  }

  if (opt->hist_bins > 0 && !build_histograms (r, deq_tensor->data, opt, error))
    return NULL;
  if (opt->map_width > 0 && opt->map_height > 0)
    {
      gsize rows, cols;

      qs_tensor_matrix_shape (tensor, &rows, &cols);
      r->error_map = qs_error_map_compute (tensor, deq_tensor->data, r->codes,
                                           QS_MAP_VALUE_ERROR, 0, 0, rows, cols,
                                           opt->map_width, opt->map_height);
    }
  if (opt->want_dequant)
    r->dequant = g_steal_pointer (&deq_tensor);
  r->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return g_steal_pointer (&r);
}

QsQuantResult *
qs_quant_run (QsTensor             *tensor,
              const QsQuantSpec    *spec,
              const QsQuantOptions *options,
              GCancellable         *cancellable,
              GError              **error)
{
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(QsQuantParams) params = NULL;
  PruneInfo prune;
  ScanInfo scan;
  float *pruned;
  QsQuantResult *r = NULL;

  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!qs_quant_spec_validate (spec, tensor, error))
    return NULL;
  if (g_cancellable_is_cancelled (cancellable))
    {
      set_cancelled (tensor, error);
      return NULL;
    }
  pruned = prune_copy (tensor, spec, &prune);
  params = compute_params (tensor, pruned ? pruned : tensor->data, spec, &scan, error);
  if (params != NULL)
    {
      /* The range scan saw the pruned values; report the input's own range. */
      if (pruned != NULL)
        {
          float mn = FLT_MAX, mx = -FLT_MAX;
          gsize a = 0, b = 0;

          qs_quant_kernels ()->minmax (tensor->data, tensor->n_elements, &mn, &mx, &a, &b);
          scan.min = mn;
          scan.max = mx;
        }
      r = run_pass (tensor, params, pruned ? pruned : tensor->data, &prune, &scan, options,
                    cancellable, t0, error);
    }
  qs_aligned_free (pruned);
  return r;
}

static gboolean
params_fit (const QsQuantParams *params,
            const QsTensor      *tensor,
            GError             **error)
{
  Geometry g;

  if (params->n_params == 1)
    return TRUE;
  if (!qs_quant_spec_validate (&params->spec, tensor, error) ||
      !resolve_geometry (tensor, &params->spec, &g, error))
    return FALSE;
  if (geometry_n_params (&g) != params->n_params || g.inner != params->inner ||
      g.outer != params->outer || g.n_channels != params->n_channels)
    {
      g_autofree char *shape = qs_tensor_shape_to_string (tensor);
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC,
                   _("Cannot quantize “%s” %s with %zu parameters made for "
                     "another shape"), tensor_name (tensor), shape, params->n_params);
      return FALSE;
    }
  return TRUE;
}

QsQuantResult *
qs_quant_run_with_params (QsTensor             *tensor,
                          QsQuantParams        *params,
                          const QsQuantOptions *options,
                          GCancellable         *cancellable,
                          GError              **error)
{
  gint64 t0 = g_get_monotonic_time ();
  PruneInfo prune;
  ScanInfo scan = { 0, 0, FLT_MAX, -FLT_MAX };
  float *pruned;
  QsQuantResult *r;

  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (tensor->n_elements == 0)
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_EMPTY,
                   _("Cannot quantize “%s”: the tensor is empty"), tensor_name (tensor));
      return NULL;
    }
  if (!params_fit (params, tensor, error))
    return NULL;
  qs_quant_kernels ()->minmax (tensor->data, tensor->n_elements, &scan.min, &scan.max,
                               &scan.n_nan, &scan.n_inf);
  if (scan.n_nan + scan.n_inf == tensor->n_elements)
    {
      g_set_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_NON_FINITE,
                   _("Cannot quantize “%s”: all %zu values are NaN or infinite"),
                   tensor_name (tensor), tensor->n_elements);
      return NULL;
    }
  /* The same pruning as qs_quant_run(), so params computed by qs_quant_params_compute()
   * for a pruned spec see the same zeros. */
  pruned = prune_copy (tensor, &params->spec, &prune);
  r = run_pass (tensor, params, pruned ? pruned : tensor->data, &prune, &scan, options,
                cancellable, t0, error);
  qs_aligned_free (pruned);
  return r;
}

/* --------------------------------------------------------------- estimates */

static gsize
scale_count (gsize  count,
             double factor)
{
  return (gsize) (count * factor + 0.5);
}

QsQuantResult *
qs_quant_run_estimate (QsTensor             *tensor,
                       const QsQuantSpec    *spec,
                       const QsQuantOptions *options,
                       gsize                 max_values,
                       GCancellable         *cancellable,
                       GError              **error)
{
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(QsTensor) sample = NULL;
  g_autoptr(QsQuantParams) params = NULL;
  g_autoptr(QsQuantParams) sample_params = NULL;
  g_autofree char *name = NULL;
  QsQuantResult *r;
  gsize n_channels = 1, inner = 1, outer = 1, row, block, n_blocks, n_take, shape[2];
  gboolean whole_params;
  double factor;

  g_return_val_if_fail (tensor != NULL, NULL);
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!qs_quant_spec_validate (spec, tensor, error))
    return NULL;
  if (max_values == 0 || tensor->n_elements <= max_values || tensor->n_dims < 2 ||
      !qs_tensor_channel_geometry (tensor, spec->axis, &n_channels, &inner, &outer, NULL))
    return qs_quant_run (tensor, spec, options, cancellable, error);

  /* Rows of the reduction axis: one value per channel each when the channel axis is the
   * last (inner == 1), so any set of rows keeps every channel; groups are runs of
   * group_size rows. Other layouts are sampled only for per-tensor and float specs. */
  whole_params = qs_quant_spec_is_float (spec) || spec->granularity == QS_GRANULARITY_TENSOR ||
                 (spec->granularity == QS_GRANULARITY_CHANNEL && inner == 1);
  if (spec->granularity == QS_GRANULARITY_GROUP && inner != 1 && !qs_quant_spec_is_float (spec))
    return qs_quant_run (tensor, spec, options, cancellable, error);
  if (!whole_params && spec->granularity != QS_GRANULARITY_GROUP)
    return qs_quant_run (tensor, spec, options, cancellable, error);

  row = n_channels * inner;
  block = !qs_quant_spec_is_float (spec) && spec->granularity == QS_GRANULARITY_GROUP
          ? spec->group_size : 1;
  n_blocks = outer / block;
  n_take = MAX (max_values / (row * block), 1);
  if (n_take >= n_blocks)
    return qs_quant_run (tensor, spec, options, cancellable, error);

  /* Evenly strided blocks, the same ones for every run (no randomness to explain). */
  shape[0] = n_take * block;
  shape[1] = row;
  name = g_strdup_printf ("%s (sample)", tensor_name (tensor));
  sample = qs_tensor_new (name, 2, shape, NULL);
  qs_tensor_set_layout (sample, QS_TENSOR_LAYOUT_DENSE);
  for (gsize k = 0; k < n_take; k++)
    {
      gsize b = k * n_blocks / n_take;

      memcpy (sample->data + k * block * row, tensor->data + b * block * row,
              block * row * sizeof (float));
    }

  if (whole_params)
    {
      /* The ranges of the whole tensor: the estimate then differs from the exact result
       * only by the values it did not look at. */
      params = qs_quant_params_compute (tensor, spec, error);
      if (params == NULL)
        return NULL;
      if (params->n_params == 1)
        sample_params = qs_quant_params_ref (params);
      else
        {
          Geometry g = { 0 };

          g.n = sample->n_elements;
          g.n_channels = params->n_channels;
          g.inner = 1;
          g.outer = shape[0];
          g.gpc = 1;
          g.group_len = shape[0];
          g.axis = 1;
          sample_params = params_new (&params->spec, &g);
          memcpy (sample_params->scale, params->scale, params->n_params * sizeof (float));
          memcpy (sample_params->zero_point, params->zero_point, params->n_params * sizeof (gint32));
          memcpy (sample_params->clip_lo, params->clip_lo, params->n_params * sizeof (float));
          memcpy (sample_params->clip_hi, params->clip_hi, params->n_params * sizeof (float));
          if (params->threshold != NULL)
            memcpy (sample_params->threshold, params->threshold, params->n_params * sizeof (float));
        }
      r = qs_quant_run_with_params (sample, sample_params, options, cancellable, error);
    }
  else
    r = qs_quant_run (sample, spec, options, cancellable, error);
  if (r == NULL)
    return NULL;

  factor = (double) tensor->n_elements / (double) sample->n_elements;
  r->is_estimate = TRUE;
  r->n_sampled = sample->n_elements;
  r->stats.n_values = scale_count (r->stats.n_values, factor);
  r->stats.n_nan = scale_count (r->stats.n_nan, factor);
  r->stats.n_inf = scale_count (r->stats.n_inf, factor);
  r->stats.n_clipped = scale_count (r->stats.n_clipped, factor);
  r->stats.n_pruned = scale_count (r->stats.n_pruned, factor);
  r->stats.storage_bits = qs_quant_storage_bits (tensor, spec);
  r->stats.bits_per_value = (double) r->stats.storage_bits / tensor->n_elements;
  r->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return r;
}

/* ------------------------------------------------------------- single values */

gint32
qs_quant_value (float      x,
                float      scale,
                gint32     zero_point,
                gint32     qmin,
                gint32     qmax,
                QsRounding rounding)
{
  return qs_quant_value_at (x, scale, zero_point, qmin, qmax, rounding, 0, 0);
}

gint32
qs_quant_value_at (float      x,
                   float      scale,
                   gint32     zero_point,
                   gint32     qmin,
                   gint32     qmax,
                   QsRounding rounding,
                   guint64    seed,
                   guint64    index)
{
  float lo = (float) (qmin - zero_point), hi = (float) (qmax - zero_point), r;

  if (!isfinite (x))
    return zero_point;
  r = qs_quant_round (x / scale, rounding, seed, index);
  r = r < lo ? lo : (r > hi ? hi : r);
  return (gint32) r + zero_point;
}

gint
qs_quant_value_clip_side_at (float      x,
                             float      scale,
                             gint32     zero_point,
                             gint32     qmin,
                             gint32     qmax,
                             QsRounding rounding,
                             guint64    seed,
                             guint64    index)
{
  float r;

  if (!isfinite (x))
    return 0;
  /* the same division and rounding as the pass kernels (scalar and SIMD) */
  r = qs_quant_round (x / scale, rounding, seed, index);
  if (r < (float) (qmin - zero_point))
    return -1;
  return r > (float) (qmax - zero_point) ? 1 : 0;
}

float
qs_dequant_value (gint32 code,
                  float  scale,
                  gint32 zero_point)
{
  return (float) (code - zero_point) * scale;
}

gboolean
qs_enum_from_nick (GType       type,
                   const char *nick,
                   gint       *out)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *v = nick != NULL ? g_enum_get_value_by_nick (klass, nick) : NULL;

  if (v == NULL)
    return FALSE;
  *out = v->value;
  return TRUE;
}

char *
qs_enum_list_nicks (GType type)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < klass->n_values; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", klass->values[i].value_nick);
  return g_string_free (s, FALSE);
}
