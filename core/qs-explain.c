/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-config.h"
#include "qs-engine-int.h"
#include "qs-explain.h"
#include "qs-fixedpoint.h"
#include "qs-kernels-int.h"

G_DEFINE_QUARK (qs-explain-error-quark, qs_explain_error)

static void
line_free (gpointer data)
{
  QsExplainLine *line = data;

  g_free (line->label);
  g_free (line->formula);
  g_free (line->value);
  g_free (line);
}

static void
add_line (GPtrArray  *lines,
          const char *label,
          char       *formula,   /* transfer full, nullable */
          char       *value)     /* transfer full */
{
  QsExplainLine *line = g_new0 (QsExplainLine, 1);

  line->label = g_strdup (label);
  line->formula = formula;
  line->value = value;
  g_ptr_array_add (lines, line);
}

/* Numbers as the user reads them: float values with the digits a float has. */
static char *
num (double v)
{
  return g_strdup_printf ("%.7g", v);
}

char *
qs_explain_lines_to_text (GPtrArray *lines)
{
  GString *s = g_string_new (NULL);

  g_return_val_if_fail (lines != NULL, NULL);

  for (guint i = 0; i < lines->len; i++)
    {
      const QsExplainLine *line = g_ptr_array_index (lines, i);

      g_string_append_printf (s, "%s: ", line->label);
      if (line->formula != NULL)
        g_string_append_printf (s, "%s = ", line->formula);
      g_string_append (s, line->value);
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------- one weight */

void
qs_explain_value_free (QsExplainValue *e)
{
  if (e == NULL)
    return;
  g_clear_pointer (&e->lines, g_ptr_array_unref);
  g_free (e);
}

static const char *
range_method_reason (const QsQuantSpec *spec)
{
  switch (spec->range_method)
    {
    case QS_RANGE_PERCENTILE:
      return spec->mapping == QS_MAPPING_SYMMETRIC && spec->is_signed
        ? _("percentile: ±T with T the chosen percentile of |x|, the rarest outliers clipped")
        : _("percentile: the chosen lower and upper percentiles of x");
    case QS_RANGE_MSE:
      return _("MSE: the clip a · [min, max] (a ≤ 1) with the least expected squared error, rounding and clipping together");
    case QS_RANGE_KL:
      return _("KL: the threshold whose quantized histogram is closest (KL divergence) to the float one");
    case QS_RANGE_MINMAX:
    default:
      return _("min-max: the smallest and largest value, nothing clipped");
    }
}

static void
explain_value_lines (QsExplainValue *e)
{
  GPtrArray *l = e->lines;
  const QsQuantSpec *spec = &e->spec;
  g_autofree char *method = NULL;

  add_line (l, _("Value x"), NULL, num (e->x));
  add_line (l, _("Values sharing its scale"),
            e->spec.granularity == QS_GRANULARITY_TENSOR
              ? g_strdup (_("the whole tensor"))
              : g_strdup_printf (_("output channel %zu"), e->channel),
            g_strdup_printf ("[%.7g, %.7g]", e->data_min, e->data_max));
  method = g_strdup (range_method_reason (spec));
  add_line (l, _("Range [lo, hi]"), g_steal_pointer (&method),
            g_strdup_printf ("[%.7g, %.7g]", e->clip_lo, e->clip_hi));
  add_line (l, _("Code range"),
            g_strdup_printf (_("%u-bit %s%s"), spec->bits, spec->is_signed ? _("signed") : _("unsigned"),
                             spec->narrow_range ? _(", narrow") : ""),
            g_strdup_printf ("[%d, %d]", e->qmin, e->qmax));
  if (spec->mapping == QS_MAPPING_SYMMETRIC)
    {
      add_line (l, _("Scale S"),
                g_strdup_printf ("max (|lo|, |hi|) / qmax = %.7g / %d%s",
                                 MAX (fabs (e->clip_lo), fabs (e->clip_hi)), e->qmax,
                                 spec->pow2_scale ? _(", rounded up to a power of two") : ""),
                num (e->scale));
      add_line (l, _("Zero-point Z"), g_strdup (_("symmetric mapping")), g_strdup_printf ("%d", e->zero_point));
    }
  else
    {
      add_line (l, _("Scale S"),
                g_strdup_printf ("(hi - lo) / (qmax - qmin) = (%.7g - %.7g) / %d%s",
                                 MAX (e->clip_hi, 0.0f), MIN (e->clip_lo, 0.0f), e->qmax - e->qmin,
                                 spec->pow2_scale ? _(", rounded up to a power of two") : ""),
                num (e->scale));
      add_line (l, _("Zero-point Z"),
                g_strdup_printf ("clamp (round (qmin - lo / S), qmin, qmax) = round (%d - %.7g / %.7g)",
                                 e->qmin, MIN (e->clip_lo, 0.0f), e->scale),
                g_strdup_printf ("%d", e->zero_point));
    }
  add_line (l, _("x / S"), g_strdup_printf ("%.7g / %.7g", e->x, e->scale), num (e->x_over_s));
  add_line (l, _("Code q"),
            g_strdup_printf ("clamp (round (x / S) + Z, qmin, qmax) = clamp (round (%.7g) + %d, %d, %d)",
                             e->x_over_s, e->zero_point, e->qmin, e->qmax),
            g_strdup_printf ("%d", e->q));
  if (e->pruned)
    add_line (l, _("Pruned"), g_strdup (_("the value is below the pruning threshold: stored as Z")),
              g_strdup_printf ("%d", e->result_code));
  add_line (l, _("Dequantized x̂"),
            g_strdup_printf ("S (q - Z) = %.7g × (%d - %d)", e->scale, e->pruned ? e->result_code : e->q,
                             e->zero_point),
            num (e->x_hat));
  add_line (l, _("Error"), g_strdup_printf ("x̂ - x = %.7g - %.7g", e->x_hat, e->x), num (e->error));
  if (e->clip_side != 0)
    add_line (l, _("Clipped"),
              g_strdup_printf (e->clip_side > 0 ? _("x lies %.7g above the largest code's value")
                                                : _("x lies %.7g below the smallest code's value"),
                               e->clipped_by),
              g_strdup_printf (_("|error| %.7g > bound %.7g"), fabs (e->error), e->bound));
  else if (!e->pruned)
    add_line (l, _("Rounding error bound"),
              e->bound < e->scale ? g_strdup_printf ("|error| ≤ S / 2 = %.7g / 2", e->scale)
                                  : g_strdup_printf (_("|error| < S = %.7g (floor or stochastic rounding)"), e->scale),
              g_strdup_printf (_("%.7g ≤ %.7g"), fabs (e->error), e->bound));
}

QsExplainValue *
qs_explain_value_new (QsQuantResult *result,
                      gsize          index,
                      GError       **error)
{
  g_autoptr(QsExplainValue) e = NULL;
  const QsQuantParams *p;
  const float *data;
  gsize n;

  g_return_val_if_fail (result != NULL, NULL);

  p = result->params;
  if (p == NULL || p->spec.format != QS_FORMAT_INT)
    {
      g_set_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_UNSUPPORTED,
                   _("Only integer formats are explained step by step; choose an integer weight format"));
      return NULL;
    }
  if (index >= result->input->n_elements)
    {
      g_set_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_INDEX,
                   _("Element %zu is outside the tensor “%s” (%zu values)"),
                   index, result->input->name ? result->input->name : "", result->input->n_elements);
      return NULL;
    }
  data = result->input->data;
  n = result->input->n_elements;

  e = g_new0 (QsExplainValue, 1);
  e->lines = g_ptr_array_new_with_free_func (line_free);
  e->index = index;
  e->spec = p->spec;
  e->param_index = qs_quant_params_index (p, index);
  e->channel = p->n_channels > 1 ? e->param_index / MAX (p->groups_per_channel, 1) : 0;
  e->x = data[index];
  e->clip_lo = p->clip_lo[e->param_index];
  e->clip_hi = p->clip_hi[e->param_index];
  e->scale = p->scale[e->param_index];
  e->zero_point = p->zero_point[e->param_index];
  e->qmin = p->qmin;
  e->qmax = p->qmax;

  e->data_min = INFINITY;
  e->data_max = -INFINITY;
  for (gsize i = 0; i < n; i++)
    if (isfinite (data[i]) && qs_quant_params_index (p, i) == e->param_index)
      {
        e->data_min = MIN (e->data_min, data[i]);
        e->data_max = MAX (e->data_max, data[i]);
      }

  e->x_over_s = (double) e->x / e->scale;
  e->q = qs_quant_value_at (e->x, e->scale, e->zero_point, e->qmin, e->qmax,
                            e->spec.rounding, e->spec.seed, index);
  e->result_code = result->codes != NULL ? result->codes[index] : e->q;
  e->pruned = e->result_code != e->q && e->spec.sparsity > 0.0;
  e->x_hat = qs_dequant_value (e->pruned ? e->result_code : e->q, e->scale, e->zero_point);
  e->result_dequant = result->dequant != NULL ? result->dequant->data[index] : NAN;
  e->error = (double) e->x_hat - e->x;
  /* round to nearest: half a step; floor and stochastic rounding: less than a step */
  e->bound = e->spec.rounding == QS_ROUNDING_FLOOR || e->spec.rounding == QS_ROUNDING_STOCHASTIC
    ? e->scale : e->scale / 2.0;
  e->clip_side = qs_quant_value_clip_side_at (e->x, e->scale, e->zero_point, e->qmin, e->qmax,
                                              e->spec.rounding, e->spec.seed, index);
  if (e->clip_side > 0)
    e->clipped_by = (double) e->x - qs_dequant_value (e->qmax, e->scale, e->zero_point);
  else if (e->clip_side < 0)
    e->clipped_by = (double) qs_dequant_value (e->qmin, e->scale, e->zero_point) - e->x;
  explain_value_lines (e);
  return g_steal_pointer (&e);
}

static gboolean
in_channel (QsQuantResult *result,
            gint           channel,
            gsize          i)
{
  const QsQuantParams *p = result->params;

  if (channel < 0 || p == NULL || p->n_channels <= 1)
    return TRUE;
  return qs_quant_params_index (p, i) / MAX (p->groups_per_channel, 1) == (gsize) channel;
}

gsize
qs_explain_find_nearest (QsQuantResult *result,
                         gint           channel,
                         double         x)
{
  const float *d;
  gsize best = 0;
  double best_d = INFINITY;

  g_return_val_if_fail (result != NULL, 0);

  d = result->input->data;
  for (gsize i = 0; i < result->input->n_elements; i++)
    if (isfinite (d[i]) && fabs (d[i] - x) < best_d && in_channel (result, channel, i))
      {
        best_d = fabs (d[i] - x);
        best = i;
      }
  return best;
}

gsize
qs_explain_find_channel_extreme (QsQuantResult *result,
                                 gsize          channel)
{
  const float *d;
  gsize best = 0;
  float best_a = -1.0f;

  g_return_val_if_fail (result != NULL, 0);

  d = result->input->data;
  for (gsize i = 0; i < result->input->n_elements; i++)
    if (isfinite (d[i]) && fabsf (d[i]) > best_a && in_channel (result, (gint) channel, i))
      {
        best_a = fabsf (d[i]);
        best = i;
      }
  return best;
}

/* ------------------------------------------------------- requantization */

void
qs_explain_requant_free (QsExplainRequant *e)
{
  if (e == NULL)
    return;
  g_free (e->layer_name);
  g_clear_pointer (&e->lines, g_ptr_array_unref);
  g_free (e);
}

static void
requant_lines (QsExplainRequant *e)
{
  GPtrArray *l;
  gint left = MAX (e->shift, 0), right = MAX (-e->shift, 0);

  g_clear_pointer (&e->lines, g_ptr_array_unref);
  l = e->lines = g_ptr_array_new_with_free_func (line_free);

  if (e->layer_name != NULL)
    add_line (l, _("Output element"), g_strdup_printf (_("layer “%s”, row %zu, column %zu, channel %zu"),
                                                       e->layer_name, e->oy, e->ox, e->oc),
              g_strdup_printf ("#%zu", e->out_index));
  if (e->config_mode != QS_REQUANT_GEMMLOWP)
    add_line (l, _("Requantization"), g_strdup_printf (_("the config uses %s; shown: gemmlowp, the TFLite reference"),
                                                       qs_requant_mode_to_string (e->config_mode)),
              NULL);
  add_line (l, _("Scales"), g_strdup ("S_in, S_w, S_out"),
            g_strdup_printf ("%.7g, %.7g, %.7g", e->s_in, e->s_w, e->s_out));
  if (e->n_taps > 0)
    {
      add_line (l, _("Bias"), g_strdup (_("round (bias / (S_in S_w))")), g_strdup_printf ("%d", e->bias_q));
      add_line (l, _("Products"), g_strdup_printf (_("Σ (a - %d) w over %zu taps"), e->in_zp, e->n_taps),
                g_strdup_printf ("%" G_GINT64_FORMAT, e->sum));
    }
  add_line (l, _("Accumulator (int32)"), e->n_taps > 0 ? g_strdup_printf ("%d + %" G_GINT64_FORMAT, e->bias_q, e->sum) : NULL,
            g_strdup_printf ("%d", e->acc));
  add_line (l, _("Its real value"), g_strdup_printf ("S_in S_w acc = %.7g × %.7g × %d", e->s_in, e->s_w, e->acc),
            num (e->exact));
  add_line (l, _("Multiplier M"), g_strdup_printf ("S_in S_w / S_out = %.7g × %.7g / %.7g", e->s_in, e->s_w, e->s_out),
            g_strdup_printf ("%.10g", e->m_real));
  add_line (l, _("M0 and shift"), g_strdup_printf ("M = M0 · 2^shift / 2^31, M0 in [2^30, 2^31)"),
            g_strdup_printf ("M0 = %d, shift = %d", e->m0, e->shift));
  if (left > 0)
    add_line (l, _("Left shift"), g_strdup_printf ("acc · 2^%d (saturating)", left), g_strdup_printf ("%d", e->shifted));
  add_line (l, _("Rounding doubling high multiply"),
            g_strdup_printf (_("round (%d × %d / 2^31), ties up"), e->shifted, e->m0),
            g_strdup_printf ("%d", e->high_mul));
  if (right > 0)
    add_line (l, _("Rounding right shift"),
              g_strdup_printf (_("round (%d / 2^%d), ties away from zero"), e->high_mul, right),
              g_strdup_printf ("%d", e->scaled));
  add_line (l, _("Plus the output zero-point"), g_strdup_printf ("%d + %d", e->out_zp, e->scaled),
            g_strdup_printf ("%d", e->unclamped));
  add_line (l, _("Clamp"), g_strdup_printf ("clamp (%d, %d, %d)", e->unclamped, e->out_min, e->out_max),
            g_strdup_printf ("%d", e->code));
  add_line (l, _("Real value"), g_strdup_printf ("S_out (code - Z_out) = %.7g × (%d - %d)", e->s_out, e->code, e->out_zp),
            num (e->real));
  if (e->has_engine_code)
    add_line (l, _("The engine wrote"), NULL,
              e->engine_code == e->code ? g_strdup_printf (_("%d (the same)"), e->engine_code)
                                        : g_strdup_printf (_("%d (differs!)"), e->engine_code));
}

void
qs_explain_requant_compute (QsExplainRequant *e)
{
  QsRequant rq = { 0 };
  gint64 v;

  g_return_if_fail (e != NULL);

  /* as qs-engine-int.c's compile_int_weights */
  e->m_real = (double) e->s_in * e->s_w / e->s_out;
  qs_quantize_multiplier (e->m_real, &e->m0, &e->shift);
  e->shifted = qs_saturating_left_shift (e->acc, MAX (e->shift, 0));
  e->high_mul = qs_saturating_rounding_doubling_high_mul (e->shifted, e->m0);
  e->scaled = qs_rounding_divide_by_pot (e->high_mul, MAX (-e->shift, 0));
  v = (gint64) e->out_zp + e->scaled;
  e->unclamped = (gint32) CLAMP (v, G_MININT32, G_MAXINT32);
  e->code = CLAMP (e->unclamped, e->out_min, e->out_max);
  rq.out_zp = e->out_zp;
  rq.out_min = e->out_min;
  rq.out_max = e->out_max;
  rq.multiplier = &e->m0;
  rq.shift = &e->shift;
  rq.mode = QS_REQUANT_GEMMLOWP;   /* the steps shown are gemmlowp's */
  /* the kernels' own function must agree with the steps shown */
  g_assert (e->code == qs_requant_channel (e->acc, 0, &rq));
  e->real = (float) (e->code - e->out_zp) * e->s_out;
  e->exact = (double) e->s_in * e->s_w * e->acc;
  requant_lines (e);
}

/* An integer value's container parameters, as qs-engine-int.c's assign_params. */
static gboolean
value_params (QsLowering      *lw,
              QsRangeTable    *ranges,
              gint             value,
              QsLoweredParams *p,
              GError         **error)
{
  QsConfig *config = qs_lowering_get_config (lw);
  const QsLoweredValue *v = qs_lowering_get_value (lw, qs_lowering_get_range_owner (lw, value));
  float lo, hi;

  if (config != NULL && v->range_name != NULL && qs_config_get_activation_range (config, v->range_name, &lo, &hi))
    ;
  else if (ranges == NULL || v->range_name == NULL || !qs_range_table_lookup (ranges, v->range_name, &lo, &hi))
    {
      g_set_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_UNSUPPORTED,
                   _("The activation “%s” has no range: calibrate first"), v->range_name ? v->range_name : "?");
      return FALSE;
    }
  return qs_lowered_params_from_range (&v->spec, lo, hi, p, error);
}

typedef struct
{
  const char *in_name;
  const char *out_name;
  float      *in_values;
  float      *out_values;
  gsize       in_n;
  gsize       out_n;
} TapCtx;

static void
tap_collect (const char  *name,
             const float *values,
             gsize        n,
             gboolean     is_integer,
             gpointer     user_data)
{
  TapCtx *ctx = user_data;

  if (ctx->in_name != NULL && g_strcmp0 (name, ctx->in_name) == 0 && ctx->in_values == NULL)
    {
      ctx->in_values = g_memdup2 (values, n * sizeof (float));
      ctx->in_n = n;
    }
  if (ctx->out_name != NULL && g_strcmp0 (name, ctx->out_name) == 0)
    {
      g_free (ctx->out_values);
      ctx->out_values = g_memdup2 (values, n * sizeof (float));
      ctx->out_n = n;
    }
}

static const QsLoweredStep *
explainable_step (QsLowering *lw,
                  guint       layer_index,
                  GError    **error)
{
  const QsLoweredLayer *layer;
  const QsLoweredStep *s;

  if (layer_index >= qs_model_get_n_layers (qs_lowering_get_model (lw)))
    {
      g_set_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_INDEX, _("No layer %u"), layer_index);
      return NULL;
    }
  layer = qs_lowering_get_layer (lw, layer_index);
  s = layer->step >= 0 ? qs_lowering_get_step (lw, (guint) layer->step) : NULL;
  if (s == NULL || !s->is_int || (s->kind != QS_LOWERED_CONV && s->kind != QS_LOWERED_DEPTHWISE))
    {
      g_set_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_UNSUPPORTED,
                   _("The layer does not run in integers (its weights or activations are not quantized to int8 or fewer bits)"));
      return NULL;
    }
  return s;
}

gsize
qs_explain_requant_n_outputs (QsLowering *lowering,
                              guint       layer_index)
{
  const QsLoweredStep *s;

  g_return_val_if_fail (lowering != NULL, 0);
  s = explainable_step (lowering, layer_index, NULL);
  return s != NULL ? s->oh * s->ow * s->oc : 0;
}

QsExplainRequant *
qs_explain_requant_new (QsLowering   *lw,
                        QsRangeTable *ranges,
                        const float  *image,
                        guint         layer_index,
                        gsize         out_index,
                        GError      **error)
{
  g_autoptr(QsExplainRequant) e = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(QsQuantResult) w = NULL;
  const QsLoweredStep *s;
  const QsLoweredValue *vin, *vout;
  QsLoweredParams pin, pout;
  g_autofree gint32 *in_codes = NULL;
  TapCtx ctx = { 0 };
  gboolean depthwise;
  gsize n, oy, ox, o;
  double sc;
  float max;

  g_return_val_if_fail (lw != NULL, NULL);
  g_return_val_if_fail (image != NULL, NULL);

  if ((s = explainable_step (lw, layer_index, error)) == NULL)
    return NULL;
  if (out_index >= s->oh * s->ow * s->oc)
    {
      g_set_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_INDEX,
                   _("Output element %zu is outside the layer's %zu outputs"), out_index, s->oh * s->ow * s->oc);
      return NULL;
    }
  depthwise = s->kind == QS_LOWERED_DEPTHWISE;
  vin = qs_lowering_get_value (lw, s->inputs[0]);
  vout = qs_lowering_get_value (lw, s->output);
  if (!value_params (lw, ranges, s->inputs[0], &pin, error)
      || !value_params (lw, ranges, s->output, &pout, error))
    return NULL;
  if ((w = qs_lowering_get_step_weights (lw, (guint) (s - qs_lowering_get_step (lw, 0)), error)) == NULL)
    return NULL;
  {
    /* The steps below are gemmlowp's: compare them with an engine computing in that mode. */
    QsConfig *config = qs_lowering_get_config (lw);
    g_autoptr(QsLowering) gemmlowp_lw = NULL;

    if (config != NULL && qs_config_get_requant_mode (config) != QS_REQUANT_GEMMLOWP)
      {
        g_autoptr(QsConfig) copy = qs_config_copy (config);

        qs_config_set_requant_mode (copy, QS_REQUANT_GEMMLOWP);
        if ((gemmlowp_lw = qs_lowering_new (qs_lowering_get_model (lw), copy, error)) == NULL)
          return NULL;
      }
    if ((engine = qs_engine_int_new (gemmlowp_lw != NULL ? gemmlowp_lw : lw, ranges, error)) == NULL)
      return NULL;
  }

  /* The input codes: the tap of the input value, or of the float value a conversion
   * quantizes (quantized here with qs_quant_value (), as the engine's quantize step). */
  if (vin->name != NULL)
    ctx.in_name = vin->name;
  else if (vin->producer >= 0)
    {
      const QsLoweredStep *q = qs_lowering_get_step (lw, (guint) vin->producer);
      if (q->kind == QS_LOWERED_QUANTIZE)
        ctx.in_name = qs_lowering_get_value (lw, q->inputs[0])->name;
    }
  ctx.out_name = vout->name;
  if (ctx.in_name == NULL)
    {
      g_set_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_UNSUPPORTED,
                   _("The layer's input is not a named value the engine reports"));
      return NULL;
    }
  if (!qs_engine_int_run_tapped (engine, image, NULL, tap_collect, &ctx, error))
    return NULL;
  n = s->ih * s->iw * s->ic;
  if (ctx.in_values == NULL || ctx.in_n != n)
    {
      g_free (ctx.in_values);
      g_free (ctx.out_values);
      g_set_error (error, QS_EXPLAIN_ERROR, QS_EXPLAIN_ERROR_UNSUPPORTED,
                   _("The engine did not report the layer's input “%s”"), ctx.in_name);
      return NULL;
    }
  in_codes = g_new (gint32, n);
  for (gsize i = 0; i < n; i++)
    in_codes[i] = vin->name != NULL
      ? pin.zero_point + (gint32) lrintf (ctx.in_values[i] / pin.scale)
      : qs_quant_value (ctx.in_values[i], pin.scale, pin.zero_point, pin.qmin, pin.qmax,
                        qs_lowering_get_step (lw, (guint) vin->producer)->rounding);

  e = g_new0 (QsExplainRequant, 1);
  e->layer_name = g_strdup (qs_model_get_layer (qs_lowering_get_model (lw), layer_index)->name);
  if (qs_lowering_get_config (lw) != NULL)
    e->config_mode = qs_config_get_requant_mode (qs_lowering_get_config (lw));
  e->out_index = out_index;
  e->oy = oy = out_index / (s->ow * s->oc);
  e->ox = ox = out_index / s->oc % s->ow;
  e->oc = o = out_index % s->oc;
  e->s_in = pin.scale;
  e->in_zp = pin.zero_point;
  e->s_out = pout.scale;
  e->out_zp = pout.zero_point;
  e->s_w = w->params->scale[qs_quant_params_index (w->params, o)];
  /* as compile_int_weights: an all-zero channel's scale stands in with S_out / S_in */
  sc = e->s_w > 0.0f && isfinite (e->s_w) ? e->s_w : pout.scale / pin.scale;
  e->s_w = (float) sc;
  {
    double bq = nearbyint ((s->bias ? s->bias[o] : 0.0) / ((double) pin.scale * sc));
    e->bias_q = (gint32) CLAMP (bq, (double) G_MININT32, (double) G_MAXINT32);
  }

  for (gsize ky = 0; ky < s->kh; ky++)
    for (gsize kx = 0; kx < s->kw; kx++)
      {
        gssize iy = (gssize) (oy * s->sh + ky * s->dh) - (gssize) s->pad_t;
        gssize ix = (gssize) (ox * s->sw + kx * s->dw) - (gssize) s->pad_l;

        if (iy < 0 || ix < 0 || iy >= (gssize) s->ih || ix >= (gssize) s->iw)
          continue;
        if (depthwise)
          {
            gsize kk = ky * s->kw + kx, ci = o / s->mult;
            gint32 a = in_codes[((gsize) iy * s->iw + (gsize) ix) * s->ic + ci];
            gint32 wc = CLAMP (w->codes[kk * s->n_out + o], -128, 127);

            e->sum += (gint64) (a - pin.zero_point) * wc;
            e->n_taps++;
          }
        else
          for (gsize ci = 0; ci < s->ic; ci++)
            {
              gsize kk = (ky * s->kw + kx) * s->ic + ci;
              gint32 a = in_codes[((gsize) iy * s->iw + (gsize) ix) * s->ic + ci];
              gint32 wc = CLAMP (w->codes[kk * s->n_out + o], -128, 127);

              e->sum += (gint64) (a - pin.zero_point) * wc;
              e->n_taps++;
            }
      }
  e->acc = (gint32) CLAMP ((gint64) e->bias_q + e->sum, G_MININT32, G_MAXINT32);

  /* the clamp: as qs-engine-int.c's act_clamp */
  e->out_min = pout.qmin;
  e->out_max = pout.qmax;
  max = s->act == QS_ACTIVATION_RELU6 ? 6.0f : s->relu_max;
  if (s->act == QS_ACTIVATION_RELU || s->act == QS_ACTIVATION_RELU6)
    {
      e->out_min = MAX (e->out_min, pout.zero_point);
      if (max >= 0.0f)
        e->out_max = MIN (e->out_max, pout.zero_point + (gint32) lrintf (max / pout.scale));
      e->out_max = MAX (e->out_max, e->out_min);
    }
  if (ctx.out_values != NULL && out_index < ctx.out_n)
    {
      e->has_engine_code = TRUE;
      e->engine_code = pout.zero_point + (gint32) lrintf (ctx.out_values[out_index] / pout.scale);
    }
  g_free (ctx.in_values);
  g_free (ctx.out_values);
  qs_explain_requant_compute (e);
  return g_steal_pointer (&e);
}
