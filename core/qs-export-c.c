/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-export-private.h"
#include "qs-file.h"
#include "qs-fixedpoint.h"
#include "qs-quant.h"

/* The `c` export: dependency-free C99 for microcontrollers. It walks the lowering exactly as
 * the integer engine compiles it (qs-engine-int.c: the same bias, multiplier and clamp
 * computations) and writes int8 code in CMSIS-NN conventions: activations are int8 (the
 * engine's uint8 container minus 128), input_offset = -input zero-point, output_offset =
 * +output zero-point, activation_min / max, per-channel multiplier and shift arrays.
 *
 * The program runs from the quantized input to the last integer value: a trailing float
 * tail (the dequantize and a softmax, say) stays out, and <name>_run returns the int8 codes
 * that the tail would read. A float island inside the program is refused, naming the layer.
 * Activations live in one static scratch buffer; each value gets an offset from a first-fit
 * allocation over the values' lifetimes (the input and output are the caller's buffers). */

typedef struct
{
  gboolean is_int;
  float    scale;      /* container domain (uint8 codes), as the engine */
  gint32   zp, qmin, qmax;
  gint     root;       /* the value whose storage it uses (aliases share) */
  gsize    size;
} VInfo;

typedef struct
{
  const QsExportContext *ctx;
  QsLowering            *lw;
  VInfo                 *v;
  guint                  nv;
  gsize                 *offset;     /* per root value */
  gint                   in_root, out_root;
  GString               *data;       /* constant arrays */
  GString               *code;       /* the body of <name>_run */
  QsRequantMode          mode;
  guint                  used;       /* USE_* of the kernels the program calls */
} Gen;

enum
{
  USE_CONV = 1 << 0,
  USE_DEPTHWISE = 1 << 1,
  USE_POOL = 1 << 2,
  USE_ADD = 1 << 3,
  USE_CLAMP = 1 << 4,
  USE_RESCALE = 1 << 5,
  USE_PAD = 1 << 6,
  USE_REQUANT = USE_CONV | USE_DEPTHWISE | USE_ADD | USE_RESCALE,
};

static const char *
layer_name (QsLowering *lw,
            gint        layer)
{
  QsModel *model = qs_lowering_get_model (lw);

  if (layer < 0 || (guint) layer >= qs_model_get_n_layers (model))
    return "(conversion)";
  return qs_model_get_layer (model, layer)->name;
}

/* A C identifier from any text: letters, digits and '_' kept, the rest '_'. */
static char *
c_ident (const char *text)
{
  GString *s = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) ? g_ascii_tolower (*p) : '_');
  if (s->len == 0 || g_ascii_isdigit (s->str[0]))
    g_string_prepend (s, "m_");
  return g_string_free (s, FALSE);
}

static gboolean
assign_params (Gen     *g,
               GError **error)
{
  QsConfig *config = g->ctx->config;

  for (guint i = 0; i < g->nv; i++)
    {
      const QsLoweredValue *v = qs_lowering_get_value (g->lw, i);
      VInfo *t = &g->v[i];
      QsLoweredParams p;
      float lo, hi;

      t->is_int = v->is_int;
      t->size = v->h * v->w * v->c;
      t->root = v->alias_of >= 0 ? g->v[v->alias_of].root : (gint) i;
      if (!v->is_int)
        continue;
      if (v->params_from >= 0)
        {
          const VInfo *from = &g->v[v->params_from];

          t->scale = from->scale;
          t->zp = from->zp;
          t->qmin = from->qmin;
          t->qmax = from->qmax;
          continue;
        }
      if (config != NULL && qs_config_get_activation_range (config, v->range_name, &lo, &hi))
        ;
      else if (g->ctx->ranges == NULL
               || !qs_range_table_lookup (g->ctx->ranges, v->range_name, &lo, &hi))
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("The activation range of “%s” is missing: calibrate first"),
                       v->range_name);
          return FALSE;
        }
      if (!qs_lowered_params_from_range (&v->spec, lo, hi, &p, error))
        return FALSE;
      t->scale = p.scale;
      t->zp = p.zero_point;
      t->qmin = p.qmin;
      t->qmax = p.qmax;
    }
  for (guint i = 0; i < g->nv; i++)
    g->v[g->v[i].root].size = MAX (g->v[g->v[i].root].size, g->v[i].size);
  return TRUE;
}

/* TFLite's CalculateActivationRangeQuantized, as the engine's act_clamp (container domain). */
static void
act_clamp (const QsLoweredStep *s,
           const VInfo         *t,
           gint32              *lo,
           gint32              *hi)
{
  float max = s->act == QS_ACTIVATION_RELU6 ? 6.0f : s->relu_max;

  *lo = t->qmin;
  *hi = t->qmax;
  if (s->act == QS_ACTIVATION_RELU || s->act == QS_ACTIVATION_RELU6)
    {
      *lo = MAX (*lo, t->zp);
      if (max >= 0.0f)
        *hi = MIN (*hi, t->zp + (gint32) lrintf (max / t->scale));
      *hi = MAX (*hi, *lo);
    }
}

static void
append_array (GString    *out,
              const char *type,
              const char *name,
              const gint *values32,
              const gint8 *values8,
              gsize       n)
{
  g_string_append_printf (out, "static const %s %s[%" G_GSIZE_FORMAT "] = {", type, name, n);
  for (gsize i = 0; i < n; i++)
    {
      if (i % (values8 != NULL ? 20 : 8) == 0)
        g_string_append (out, "\n  ");
      if (values8 != NULL)
        g_string_append_printf (out, "%d,", values8[i]);
      else if (values32[i] == G_MININT32)
        g_string_append (out, "INT32_MIN,");
      else
        g_string_append_printf (out, "%d,", values32[i]);
      if (i + 1 < n)
        g_string_append_c (out, ' ');
    }
  g_string_append (out, "\n};\n");
}

static char *
buf_expr (Gen *g,
          gint value)
{
  gint r = g->v[value].root;

  if (r == g->in_root)
    return g_strdup ("input");
  if (r == g->out_root)
    return g_strdup ("output");
  return g_strdup_printf ("(scratch + %" G_GSIZE_FORMAT ")", g->offset[r]);
}

/* CONV / DEPTHWISE: weights, biases, multipliers, shifts as the engine computes them. */
static gboolean
emit_weights (Gen                 *g,
              guint                index,
              const QsLoweredStep *s,
              const char          *id,
              GError             **error)
{
  g_autoptr(QsQuantResult) r = NULL;
  g_autoptr(GError) local = NULL;
  gboolean depthwise = s->kind == QS_LOWERED_DEPTHWISE;
  const VInfo *in = &g->v[s->inputs[0]], *out = &g->v[s->output];
  gsize n = s->n_out, k = s->k;
  g_autofree gint8 *w = g_new (gint8, n * k);
  g_autofree gint *bias = g_new (gint, n);
  g_autofree gint *mult = g_new (gint, n);
  g_autofree gint *shift = g_new (gint, n);
  g_autofree char *nw = g_strdup_printf ("%s_weights", id);
  g_autofree char *nb = g_strdup_printf ("%s_bias", id);
  g_autofree char *nm = g_strdup_printf ("%s_multiplier", id);
  g_autofree char *ns = g_strdup_printf ("%s_shift", id);

  r = qs_lowering_get_step_weights (g->lw, index, &local);
  if (r == NULL || r->codes == NULL)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("Layer “%s”: no integer weights (%s)"), layer_name (g->lw, s->layer),
                   local != NULL ? local->message : _("the weights stay float"));
      return FALSE;
    }
  for (gsize kk = 0; kk < k; kk++)
    for (gsize o = 0; o < n; o++)
      {
        gint32 c = r->codes[kk * n + o];

        w[depthwise ? kk * n + o : o * k + kk] = (gint8) CLAMP (c, -128, 127);
      }
  for (gsize o = 0; o < n; o++)
    {
      gsize idx = qs_quant_params_index (r->params, o);
      float swo = r->params->scale[idx];
      double sc = swo > 0.0f && isfinite (swo) ? swo : out->scale / in->scale;
      double bias_real = s->bias ? s->bias[o] : 0.0;
      double bq = nearbyint (bias_real / ((double) in->scale * sc));
      gint32 m;
      gint sh;

      if (r->params->zero_point[idx] != 0)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("Layer “%s”: the C export needs symmetric weights (zero-point 0)"),
                       layer_name (g->lw, s->layer));
          return FALSE;
        }
      bq = CLAMP (bq, (double) G_MININT32, (double) G_MAXINT32);
      bias[o] = (gint32) bq;
      qs_quantize_multiplier ((double) in->scale * sc / out->scale, &m, &sh);
      mult[o] = m;
      shift[o] = sh;
    }
  append_array (g->data, "int8_t", nw, NULL, w, n * k);
  append_array (g->data, "int32_t", nb, bias, NULL, n);
  append_array (g->data, "int32_t", nm, mult, NULL, n);
  append_array (g->data, "int32_t", ns, shift, NULL, n);
  return TRUE;
}

static gboolean
emit_step (Gen     *g,
           guint    index,
           GError **error)
{
  const QsLoweredStep *s = qs_lowering_get_step (g->lw, index);
  const char *lname = layer_name (g->lw, s->layer);
  g_autofree char *lid = c_ident (lname);
  g_autofree char *id = g_strdup_printf ("s%u_%s", index, lid);
  g_autofree char *src = buf_expr (g, s->inputs[0]);
  g_autofree char *dst = buf_expr (g, s->output);
  const VInfo *ti = &g->v[s->inputs[0]], *to = &g->v[s->output];
  GString *d = g->data;
  gint32 lo, hi;

  switch (s->kind)
    {
    case QS_LOWERED_ALIAS:
      g_string_append_printf (g->code, "  /* %s: reshape, the same %" G_GSIZE_FORMAT
                              " codes */\n", lname, to->size);
      return TRUE;

    case QS_LOWERED_CONV:
    case QS_LOWERED_DEPTHWISE:
      {
        gboolean dw = s->kind == QS_LOWERED_DEPTHWISE;
        gboolean direct = !dw && s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1
                          && s->pad_t == 0 && s->pad_l == 0;
        gsize ih = s->ih, iw = s->iw, ic = s->ic, oh = s->oh, ow = s->ow, oc = s->oc;

        if (!emit_weights (g, index, s, id, error))
          return FALSE;
        g->used |= dw ? USE_DEPTHWISE : USE_CONV;
        if (dw)
          {
            const QsLoweredValue *vi = qs_lowering_get_value (g->lw, s->inputs[0]);
            const QsLoweredValue *vo = qs_lowering_get_value (g->lw, s->output);

            ih = vi->h; iw = vi->w; ic = vi->c; oh = vo->h; ow = vo->w; oc = vo->c;
          }
        else if (direct)
          {
            /* Dense and 1x1 convolutions: rows of k values, as the engine's direct GEMM */
            ih = ti->size / s->k; iw = 1; ic = s->k; oh = ih; ow = 1; oc = s->n_out;
          }
        act_clamp (s, to, &lo, &hi);
        g_string_append_printf (d,
          "static const qs_conv_params %s = {\n"
          "  %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ",  /* input h, w, c */\n"
          "  %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ",  /* output h, w, c */\n"
          "  %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
          ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ",  /* kernel h, w, stride h, w, dilation h, w */\n"
          "  %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ",  /* pad top, left, channel multiplier */\n"
          "  %d, %d, %d, %d,  /* input_offset, output_offset, activation min, max */\n"
          "  %s_weights, %s_bias, { %s_multiplier, %s_shift }\n"
          "};\n\n",
          id, ih, iw, ic, oh, ow, oc,
          dw || !direct ? s->kh : 1, dw || !direct ? s->kw : 1,
          dw || !direct ? s->sh : 1, dw || !direct ? s->sw : 1,
          MAX (s->dh, 1), MAX (s->dw, 1),
          dw || !direct ? s->pad_t : 0, dw || !direct ? s->pad_l : 0, MAX (s->mult, 1),
          -(ti->zp - 128), to->zp - 128, lo - 128, hi - 128, id, id, id, id);
        g_string_append_printf (g->code, "  /* %s: %s %" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT
                                "x%" G_GSIZE_FORMAT " -> %" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT
                                "x%" G_GSIZE_FORMAT " */\n  %s (&%s, %s, %s);\n",
                                lname, dw ? "depthwise" : direct ? "dense" : "conv",
                                ih, iw, ic, oh, ow, oc,
                                dw ? "depthwise_conv_s8" : "conv_s8", id, src, dst);
        return TRUE;
      }

    case QS_LOWERED_POOL:
      {
        const QsLoweredValue *vi = qs_lowering_get_value (g->lw, s->inputs[0]);
        const QsLoweredValue *vo = qs_lowering_get_value (g->lw, s->output);

        g_string_append_printf (d,
          "static const qs_pool_params %s = {\n"
          "  %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %"
          G_GSIZE_FORMAT ",  /* input h, w, c, output h, w */\n"
          "  %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
          ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %d  /* window h, w, stride h, w, pad top, left, max */\n"
          "};\n\n",
          id, vi->h, vi->w, vi->c, vo->h, vo->w, s->kh, s->kw, s->sh, s->sw, s->pad_t,
          s->pad_l, s->is_max ? 1 : 0);
        g->used |= USE_POOL;
        g_string_append_printf (g->code, "  /* %s: %s pooling */\n  pool_s8 (&%s, %s, %s);\n",
                                lname, s->is_max ? "max" : "average", id, src, dst);
        return TRUE;
      }

    case QS_LOWERED_ACTIVATION:
      act_clamp (s, ti, &lo, &hi);
      g->used |= USE_CLAMP;
      g_string_append_printf (g->code, "  /* %s: ReLU on the codes */\n"
                              "  clamp_s8 (%s, %s, %" G_GSIZE_FORMAT ", %d, %d);\n",
                              lname, src, dst, to->size, lo - 128, hi - 128);
      return TRUE;

    case QS_LOWERED_ADD:
      {
        const VInfo *b = &g->v[s->inputs[1]];
        g_autofree char *src2 = buf_expr (g, s->inputs[1]);
        double twice_max = 2.0 * MAX ((double) ti->scale, (double) b->scale);
        gint32 m1, m2, mo;
        gint s1, s2, so;

        if (s->n_inputs != 2)
          {
            g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                         _("Layer “%s”: the C export adds two inputs, not %u"),
                         lname, s->n_inputs);
            return FALSE;
          }
        qs_quantize_multiplier (ti->scale / twice_max, &m1, &s1);
        qs_quantize_multiplier (b->scale / twice_max, &m2, &s2);
        qs_quantize_multiplier (twice_max / ((double) (1 << 20) * to->scale), &mo, &so);
        g_string_append_printf (d,
          "static const qs_add_params %s = {\n"
          "  %" G_GSIZE_FORMAT ", 20,  /* size, left_shift */\n"
          "  %d, %d, %d,  /* input1_offset, multiplier, shift */\n"
          "  %d, %d, %d,  /* input2_offset, multiplier, shift */\n"
          "  %d, %d, %d,  /* output_offset, multiplier, shift */\n"
          "  %d, %d  /* activation min, max */\n"
          "};\n\n",
          id, to->size, -(ti->zp - 128), m1, s1, -(b->zp - 128), m2, s2,
          to->zp - 128, mo, so, to->qmin - 128, to->qmax - 128);
        g->used |= USE_ADD;
        g_string_append_printf (g->code, "  /* %s: add */\n  add_s8 (&%s, %s, %s, %s);\n",
                                lname, id, src, src2, dst);
        return TRUE;
      }

    case QS_LOWERED_CONCAT:
      {
        gsize rows = to->size / qs_lowering_get_value (g->lw, s->output)->c, off = 0;

        g->used |= USE_RESCALE;
        g_string_append_printf (g->code, "  /* %s: concatenate (last axis) */\n", lname);
        for (guint j = 0; j < s->n_inputs; j++)
          {
            const VInfo *tj = &g->v[s->inputs[j]];
            g_autofree char *srcj = buf_expr (g, s->inputs[j]);
            gsize cj = tj->size / rows;
            gint32 m;
            gint sh;

            qs_quantize_multiplier ((double) tj->scale / to->scale, &m, &sh);
            g_string_append_printf (g->code,
                                    "  rescale_s8 (%s, %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                                    ", %d, %d, %d, %d, %d, %d, %s + %" G_GSIZE_FORMAT ", %"
                                    G_GSIZE_FORMAT ");\n",
                                    srcj, rows, cj, -(tj->zp - 128), m, sh, to->zp - 128,
                                    to->qmin - 128, to->qmax - 128, dst, off,
                                    qs_lowering_get_value (g->lw, s->output)->c);
            off += cj;
          }
        return TRUE;
      }

    case QS_LOWERED_PAD:
      {
        const QsLoweredValue *vi = qs_lowering_get_value (g->lw, s->inputs[0]);
        const QsLoweredValue *vo = qs_lowering_get_value (g->lw, s->output);

        g->used |= USE_PAD;
        g_string_append_printf (g->code,
                                "  /* %s: zero padding (the zero-point) */\n"
                                "  pad_s8 (%s, %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %"
                                G_GSIZE_FORMAT ", %s, %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                                ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ", %d);\n",
                                lname, src, vi->h, vi->w, vi->c, dst, vo->h, vo->w,
                                s->pad[0], s->pad[2], ti->zp - 128);
        return TRUE;
      }

    default:
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("Layer “%s” runs in float inside the integer program; the C export runs "
                     "integer layers only (quantize its weights and activations to 8 bits, "
                     "or export another format)"), lname);
      return FALSE;
    }
}

static const char *requant_gemmlowp =
  "/* Requantization: gemmlowp / TFLite reference MultiplyByQuantizedMultiplier (double\n"
  " * rounding), as the Quantscope integer engine (core/qs-fixedpoint.h). */\n"
  "static int32_t\n"
  "saturating_rounding_doubling_high_mul (int32_t a, int32_t b)\n"
  "{\n"
  "  int64_t ab = (int64_t) a * (int64_t) b;\n"
  "  int64_t nudge = ab >= 0 ? ((int64_t) 1 << 30) : (1 - ((int64_t) 1 << 30));\n"
  "\n"
  "  if (a == INT32_MIN && b == INT32_MIN)\n"
  "    return INT32_MAX;\n"
  "  return (int32_t) ((ab + nudge) / ((int64_t) 1 << 31));  /* truncates toward zero */\n"
  "}\n"
  "\n"
  "static int32_t\n"
  "rounding_divide_by_pot (int32_t x, int32_t exponent)\n"
  "{\n"
  "  int32_t mask = (int32_t) (((uint32_t) 1 << exponent) - 1);\n"
  "  int32_t remainder = x & mask;\n"
  "  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);\n"
  "\n"
  "  return (x >> exponent) + (remainder > threshold ? 1 : 0);  /* arithmetic shift */\n"
  "}\n"
  "\n"
  "static int32_t\n"
  "requantize (int32_t x, int32_t multiplier, int32_t shift)\n"
  "{\n"
  "  int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;\n"
  "  int64_t v = (int64_t) x * ((int64_t) 1 << left);\n"
  "\n"
  "  /* a saturating left shift */\n"
  "  x = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t) v;\n"
  "  return rounding_divide_by_pot (saturating_rounding_doubling_high_mul (x, multiplier), right);\n"
  "}\n";

static const char *requant_single =
  "/* Requantization: TFLite single rounding (TFLITE_SINGLE_ROUNDING): one 64-bit product,\n"
  " * rounded once, ties toward +infinity. */\n"
  "static int32_t\n"
  "requantize (int32_t x, int32_t multiplier, int32_t shift)\n"
  "{\n"
  "  int64_t total_shift = 31 - shift;\n"
  "  int64_t round = (int64_t) 1 << (total_shift - 1);\n"
  "  int64_t result = (int64_t) x * (int64_t) multiplier + round;\n"
  "\n"
  "  return (int32_t) (result >> total_shift);  /* arithmetic shift */\n"
  "}\n";

static const char *requant_cmsis =
  "/* Requantization: CMSIS-NN arm_nn_requantize (the build without\n"
  " * CMSIS_NN_USE_SINGLE_ROUNDING): arm_nn_divide_by_power_of_two (\n"
  " * arm_nn_doubling_high_mult_no_sat (val * (1 << LEFT_SHIFT (shift)), multiplier),\n"
  " * RIGHT_SHIFT (shift)). */\n"
  "static int32_t\n"
  "doubling_high_mult_no_sat (int32_t m1, int32_t m2)\n"
  "{\n"
  "  int64_t mult = ((int64_t) 1 << 30) + (int64_t) m1 * m2;\n"
  "\n"
  "  return (int32_t) (mult >> 31);  /* arithmetic shift, as SMLAL + the high word */\n"
  "}\n"
  "\n"
  "static int32_t\n"
  "divide_by_power_of_two (int32_t dividend, int32_t exponent)\n"
  "{\n"
  "  int32_t remainder_mask = (int32_t) (((uint32_t) 1 << exponent) - 1);\n"
  "  int32_t remainder = remainder_mask & dividend;\n"
  "  int32_t result = dividend >> exponent;\n"
  "  int32_t threshold = remainder_mask >> 1;\n"
  "\n"
  "  if (result < 0)\n"
  "    threshold++;\n"
  "  if (remainder > threshold)\n"
  "    result++;\n"
  "  return result;\n"
  "}\n"
  "\n"
  "static int32_t\n"
  "requantize (int32_t val, int32_t multiplier, int32_t shift)\n"
  "{\n"
  "  int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;\n"
  "\n"
  "  /* val * (1 << left) wraps as on the target instead of being undefined */\n"
  "  return divide_by_power_of_two (\n"
  "    doubling_high_mult_no_sat ((int32_t) ((uint32_t) val << left), multiplier), right);\n"
  "}\n";

static const char *k_types =
  "typedef struct\n"
  "{\n"
  "  const int32_t *multiplier;  /* per output channel (cmsis_nn_per_channel_quant_params) */\n"
  "  const int32_t *shift;\n"
  "} qs_per_channel_quant_params;\n"
  "\n"
  "typedef struct\n"
  "{\n"
  "  int32_t in_h, in_w, in_c, out_h, out_w, out_c;\n"
  "  int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;\n"
  "  int32_t pad_top, pad_left, ch_mult;\n"
  "  int32_t input_offset, output_offset, activation_min, activation_max;\n"
  "  const int8_t *weights;  /* conv: [out_c][kernel_h][kernel_w][in_c];\n"
  "                           * depthwise: [kernel_h][kernel_w][out_c] */\n"
  "  const int32_t *bias;    /* at input scale x weight scale */\n"
  "  qs_per_channel_quant_params quant;\n"
  "} qs_conv_params;\n"
  "\n"
  "typedef struct\n"
  "{\n"
  "  int32_t in_h, in_w, in_c, out_h, out_w;\n"
  "  int32_t window_h, window_w, stride_h, stride_w, pad_top, pad_left, is_max;\n"
  "} qs_pool_params;\n"
  "\n"
  "typedef struct\n"
  "{\n"
  "  int32_t size, left_shift;\n"
  "  int32_t input1_offset, input1_multiplier, input1_shift;\n"
  "  int32_t input2_offset, input2_multiplier, input2_shift;\n"
  "  int32_t output_offset, output_multiplier, output_shift;\n"
  "  int32_t activation_min, activation_max;\n"
  "} qs_add_params;\n"
  "\n"
  "static int8_t\n"
  "clamp_to (int64_t v, int32_t lo, int32_t hi)\n"
  "{\n"
  "  return (int8_t) (v < lo ? lo : v > hi ? hi : v);\n"
  "}\n"
  "\n"
;

static const char *k_conv =
  "/* Conv2D / Dense: acc = bias + sum over the taps inside the input of\n"
  " * (in + input_offset) * weight; out = clamp (requantize (acc) + output_offset). */\n"
  "static void\n"
  "conv_s8 (const qs_conv_params *p, const int8_t *in, int8_t *out)\n"
  "{\n"
  "  int32_t oy, ox, o, ky, kx, c;\n"
  "  int32_t k = p->kernel_h * p->kernel_w * p->in_c;\n"
  "\n"
  "  for (oy = 0; oy < p->out_h; oy++)\n"
  "    for (ox = 0; ox < p->out_w; ox++)\n"
  "      for (o = 0; o < p->out_c; o++)\n"
  "        {\n"
  "          const int8_t *w = p->weights + (long) o * k;\n"
  "          int32_t acc = p->bias[o];\n"
  "\n"
  "          for (ky = 0; ky < p->kernel_h; ky++)\n"
  "            {\n"
  "              int32_t iy = oy * p->stride_h + ky * p->dilation_h - p->pad_top;\n"
  "\n"
  "              if (iy < 0 || iy >= p->in_h)\n"
  "                continue;\n"
  "              for (kx = 0; kx < p->kernel_w; kx++)\n"
  "                {\n"
  "                  int32_t ix = ox * p->stride_w + kx * p->dilation_w - p->pad_left;\n"
  "                  const int8_t *px, *wk;\n"
  "\n"
  "                  if (ix < 0 || ix >= p->in_w)\n"
  "                    continue;\n"
  "                  px = in + ((long) iy * p->in_w + ix) * p->in_c;\n"
  "                  wk = w + (ky * p->kernel_w + kx) * p->in_c;\n"
  "                  for (c = 0; c < p->in_c; c++)\n"
  "                    acc += ((int32_t) px[c] + p->input_offset) * wk[c];\n"
  "                }\n"
  "            }\n"
  "          out[((long) oy * p->out_w + ox) * p->out_c + o] =\n"
  "            clamp_to ((int64_t) p->output_offset\n"
  "                      + requantize (acc, p->quant.multiplier[o], p->quant.shift[o]),\n"
  "                      p->activation_min, p->activation_max);\n"
  "        }\n"
  "}\n"
  "\n"
;

static const char *k_depthwise =
  "/* DepthwiseConv2D: output channel c * ch_mult + m reads input channel c. */\n"
  "static void\n"
  "depthwise_conv_s8 (const qs_conv_params *p, const int8_t *in, int8_t *out)\n"
  "{\n"
  "  int32_t oy, ox, o, ky, kx;\n"
  "\n"
  "  for (oy = 0; oy < p->out_h; oy++)\n"
  "    for (ox = 0; ox < p->out_w; ox++)\n"
  "      for (o = 0; o < p->out_c; o++)\n"
  "        {\n"
  "          int32_t c = o / p->ch_mult, acc = p->bias[o];\n"
  "\n"
  "          for (ky = 0; ky < p->kernel_h; ky++)\n"
  "            {\n"
  "              int32_t iy = oy * p->stride_h + ky * p->dilation_h - p->pad_top;\n"
  "\n"
  "              if (iy < 0 || iy >= p->in_h)\n"
  "                continue;\n"
  "              for (kx = 0; kx < p->kernel_w; kx++)\n"
  "                {\n"
  "                  int32_t ix = ox * p->stride_w + kx * p->dilation_w - p->pad_left;\n"
  "\n"
  "                  if (ix < 0 || ix >= p->in_w)\n"
  "                    continue;\n"
  "                  acc += ((int32_t) in[((long) iy * p->in_w + ix) * p->in_c + c]\n"
  "                          + p->input_offset)\n"
  "                         * p->weights[(ky * p->kernel_w + kx) * p->out_c + o];\n"
  "                }\n"
  "            }\n"
  "          out[((long) oy * p->out_w + ox) * p->out_c + o] =\n"
  "            clamp_to ((int64_t) p->output_offset\n"
  "                      + requantize (acc, p->quant.multiplier[o], p->quant.shift[o]),\n"
  "                      p->activation_min, p->activation_max);\n"
  "        }\n"
  "}\n"
  "\n"
;

static const char *k_pool =
  "/* Max / average pooling (output parameters = input parameters). Average: the sum over\n"
  " * the taps inside the input divided by their count, rounded half away from zero. */\n"
  "static void\n"
  "pool_s8 (const qs_pool_params *p, const int8_t *in, int8_t *out)\n"
  "{\n"
  "  int32_t oy, ox, c, y, x;\n"
  "\n"
  "  for (oy = 0; oy < p->out_h; oy++)\n"
  "    for (ox = 0; ox < p->out_w; ox++)\n"
  "      {\n"
  "        int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;\n"
  "        int32_t y1 = y0 + p->window_h, x1 = x0 + p->window_w, count;\n"
  "\n"
  "        y1 = y1 < p->in_h ? y1 : p->in_h;\n"
  "        x1 = x1 < p->in_w ? x1 : p->in_w;\n"
  "        y0 = y0 > 0 ? y0 : 0;\n"
  "        x0 = x0 > 0 ? x0 : 0;\n"
  "        count = (y1 - y0) * (x1 - x0);\n"
  "        for (c = 0; c < p->in_c; c++)\n"
  "          {\n"
  "            int32_t acc = p->is_max ? -128 : 0;\n"
  "\n"
  "            for (y = y0; y < y1; y++)\n"
  "              for (x = x0; x < x1; x++)\n"
  "                {\n"
  "                  int32_t v = in[((long) y * p->in_w + x) * p->in_c + c];\n"
  "\n"
  "                  if (!p->is_max)\n"
  "                    acc += v;\n"
  "                  else if (v > acc)\n"
  "                    acc = v;\n"
  "                }\n"
  "            if (!p->is_max && count > 0)\n"
  "              acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;\n"
  "            out[((long) oy * p->out_w + ox) * p->in_c + c] = clamp_to (acc, -128, 127);\n"
  "          }\n"
  "      }\n"
  "}\n"
  "\n"
;

static const char *k_add =
  "/* Add (TFLite / CMSIS-NN arm_elementwise_add_s8): both inputs scaled to 2 * max (s1, s2)\n"
  " * with left_shift, summed, requantized to the output. */\n"
  "static void\n"
  "add_s8 (const qs_add_params *p, const int8_t *a, const int8_t *b, int8_t *out)\n"
  "{\n"
  "  int32_t i;\n"
  "\n"
  "  for (i = 0; i < p->size; i++)\n"
  "    {\n"
  "      int32_t x1 = ((int32_t) a[i] + p->input1_offset) * (1 << p->left_shift);\n"
  "      int32_t x2 = ((int32_t) b[i] + p->input2_offset) * (1 << p->left_shift);\n"
  "      int32_t sum = requantize (x1, p->input1_multiplier, p->input1_shift)\n"
  "                    + requantize (x2, p->input2_multiplier, p->input2_shift);\n"
  "\n"
  "      out[i] = clamp_to ((int64_t) p->output_offset\n"
  "                         + requantize (sum, p->output_multiplier, p->output_shift),\n"
  "                         p->activation_min, p->activation_max);\n"
  "    }\n"
  "}\n"
  "\n"
;

static const char *k_clamp =
  "/* A standalone ReLU / ReLU6 on the codes. */\n"
  "static void\n"
  "clamp_s8 (const int8_t *in, int8_t *out, int32_t n, int32_t lo, int32_t hi)\n"
  "{\n"
  "  int32_t i;\n"
  "\n"
  "  for (i = 0; i < n; i++)\n"
  "    out[i] = clamp_to (in[i], lo, hi);\n"
  "}\n"
  "\n"
;

static const char *k_rescale =
  "/* One input of a concatenation: rows x n values rescaled to the output's parameters, into\n"
  " * columns of out (row stride out_stride). */\n"
  "static void\n"
  "rescale_s8 (const int8_t *in, int32_t rows, int32_t n, int32_t input_offset,\n"
  "            int32_t multiplier, int32_t shift, int32_t output_offset,\n"
  "            int32_t activation_min, int32_t activation_max, int8_t *out,\n"
  "            int32_t out_stride)\n"
  "{\n"
  "  int32_t r, i;\n"
  "\n"
  "  for (r = 0; r < rows; r++)\n"
  "    for (i = 0; i < n; i++)\n"
  "      out[(long) r * out_stride + i] =\n"
  "        clamp_to ((int64_t) output_offset\n"
  "                  + requantize ((int32_t) in[(long) r * n + i] + input_offset, multiplier, shift),\n"
  "                  activation_min, activation_max);\n"
  "}\n"
  "\n"
;

static const char *k_pad =
  "/* ZeroPadding2D: the padding holds the zero-point. */\n"
  "static void\n"
  "pad_s8 (const int8_t *in, int32_t h, int32_t w, int32_t c, int8_t *out, int32_t oh,\n"
  "        int32_t ow, int32_t top, int32_t left, int32_t zero_point)\n"
  "{\n"
  "  int32_t i, y;\n"
  "\n"
  "  for (i = 0; i < oh * ow * c; i++)\n"
  "    out[i] = (int8_t) zero_point;\n"
  "  for (y = 0; y < h; y++)\n"
  "    for (i = 0; i < w * c; i++)\n"
  "      out[((long) (y + top) * ow + left) * c + i] = in[(long) y * w * c + i];\n"
  "}\n";

/* The float -> int8 quantization of the input, as the engine's QUANTIZE step. */
static void
emit_quantize (GString    *out,
               const char *name,
               const VInfo *t,
               QsRounding  rounding)
{
  const char *round_code;

  switch (rounding)
    {
    case QS_ROUNDING_FLOOR:
      round_code = "  if (d < 0.0f)\n    t -= 1.0f;\n";
      break;
    case QS_ROUNDING_NEAREST_AWAY:
      round_code = "  if (d >= 0.5f)\n    t += 1.0f;\n  else if (d <= -0.5f)\n    t -= 1.0f;\n";
      break;
    case QS_ROUNDING_NEAREST_EVEN:
    case QS_ROUNDING_STOCHASTIC:
    default:
      round_code = "  if (d > 0.5f || (d == 0.5f && ((int32_t) t & 1)))\n    t += 1.0f;\n"
                   "  else if (d < -0.5f || (d == -0.5f && ((int32_t) t & 1)))\n    t -= 1.0f;\n";
      break;
    }
  g_string_append_printf (out,
    "/* x / scale rounded (%s), clamped to the code range, plus the zero-point (the value\n"
    " * is clamped before rounding so the float -> int conversion is exact). Float arithmetic\n"
    " * in single precision: on x87 (gcc -m32) build with -msse2 -mfpmath=sse for the codes\n"
    " * Quantscope computes. */\n"
    "static int8_t\n"
    "quantize_one (float x)\n"
    "{\n"
    "  const float scale = %a, lo = %d.0f, hi = %d.0f;\n"
    "  float v, t, d;\n"
    "\n"
    "  if (x != x || x > FLT_MAX || x < -FLT_MAX)\n"
    "    return (int8_t) %d;\n"
    "  v = x / scale;\n"
    "  v = v < lo - 1.0f ? lo - 1.0f : (v > hi + 1.0f ? hi + 1.0f : v);\n"
    "  t = (float) (int32_t) v;\n"
    "  d = v - t;\n"
    "%s"
    "  t = t < lo ? lo : (t > hi ? hi : t);\n"
    "  return (int8_t) ((int32_t) t + %d);\n"
    "}\n\n"
    "void\n"
    "%s_quantize_input (const float *x, int8_t *q)\n"
    "{\n"
    "  long i;\n"
    "\n"
    "  for (i = 0; i < %" G_GSIZE_FORMAT "; i++)\n"
    "    q[i] = quantize_one (x[i]);\n"
    "}\n\n",
    rounding == QS_ROUNDING_FLOOR ? "floor"
    : rounding == QS_ROUNDING_NEAREST_AWAY ? "half away from zero" : "half to even",
    (double) t->scale, t->qmin - t->zp, t->qmax - t->zp, t->zp - 128, round_code,
    t->zp - 128, name, t->size);
}

/* First-fit offsets over the values' lifetimes; returns the peak. */
static gsize
allocate_scratch (Gen          *g,
                  const guint  *steps,
                  guint         n_steps)
{
  g_autofree gint *last_use = g_new (gint, g->nv);
  g_autoptr(GArray) live = g_array_new (FALSE, FALSE, sizeof (gint));  /* roots */
  gsize peak = 0;

  for (guint i = 0; i < g->nv; i++)
    last_use[i] = -1;
  for (guint i = 0; i < n_steps; i++)
    {
      const QsLoweredStep *s = qs_lowering_get_step (g->lw, steps[i]);

      for (guint j = 0; j < s->n_inputs; j++)
        last_use[g->v[s->inputs[j]].root] = (gint) i;
    }
  for (guint i = 0; i < n_steps; i++)
    {
      const QsLoweredStep *s = qs_lowering_get_step (g->lw, steps[i]);
      gint r = g->v[s->output].root;

      if (s->kind != QS_LOWERED_ALIAS && r != g->in_root && r != g->out_root)
        {
          gsize size = (g->v[r].size + 3) / 4 * 4, off = 0;
          gboolean moved = TRUE;

          /* the lowest offset that overlaps no live value (retry after every move) */
          while (moved)
            {
              moved = FALSE;
              for (guint j = 0; j < live->len; j++)
                {
                  gint o = g_array_index (live, gint, j);
                  gsize olen = (g->v[o].size + 3) / 4 * 4;

                  if (off < g->offset[o] + olen && g->offset[o] < off + size)
                    {
                      off = g->offset[o] + olen;
                      moved = TRUE;
                    }
                }
            }
          g->offset[r] = off;
          peak = MAX (peak, off + size);
          g_array_append_val (live, r);
        }
      for (guint j = live->len; j-- > 0;)
        if (last_use[g_array_index (live, gint, j)] <= (gint) i)
          g_array_remove_index_fast (live, j);
    }
  return peak;
}

static gboolean
write_one (const char *dir,
           const char *file,
           GString    *text,
           GString    *summary,
           gsize      *total,
           GError    **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr(GError) local = NULL;

  if (!qs_file_check_writable (path, &local))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET, "%s", local->message);
      return FALSE;
    }
  if (!qs_export_write_file (path, text->str, text->len, error))
    return FALSE;
  g_string_append_printf (summary, _("Wrote %s (%lu bytes)\n"), path, (gulong) text->len);
  *total += text->len;
  return TRUE;
}

gboolean
_qs_export_c_full (const QsExportContext *ctx,
                   const char            *path,
                   GString               *summary,
                   QsExportCInfo         *info,
                   GError               **error)
{
  Gen g = { 0 };
  g_autofree VInfo *vinfo = NULL;
  g_autofree gsize *offsets = NULL;
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GString) tail = g_string_new (NULL);
  g_autoptr(GString) h = g_string_new (NULL), c = g_string_new (NULL), m = g_string_new (NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = NULL, *upper = NULL, *hfile = NULL, *cfile = NULL, *mfile = NULL;
  const char *mode_name;
  guint n_steps;
  gint input, output, in_value = -1, out_value;
  QsRounding in_rounding = QS_ROUNDING_NEAREST_EVEN;
  gsize scratch, total = 0;
  char *dot;

  g.ctx = ctx;
  g.lw = ctx->lowering;
  g.mode = qs_config_get_requant_mode (ctx->config);
  g.nv = qs_lowering_get_n_values (g.lw);
  g.v = vinfo = g_new0 (VInfo, g.nv);
  g.offset = offsets = g_new0 (gsize, g.nv);
  g.data = g_string_new (NULL);
  g.code = g_string_new (NULL);
  mode_name = qs_requant_mode_to_string (g.mode);

  if (g.mode == QS_REQUANT_FP32_RNE)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("The C export writes integer requantization (gemmlowp, single-rounding "
                     "or cmsis-nn); the configuration asks for %s"), mode_name);
      goto fail;
    }
  if (!assign_params (&g, error))
    goto fail;

  /* The program: the input's quantization, integer steps, and a float tail. */
  input = qs_lowering_get_input (g.lw);
  output = qs_lowering_get_output (g.lw);
  n_steps = qs_lowering_get_n_steps (g.lw);
  out_value = output;
  while (!g.v[out_value].is_int)
    {
      const QsLoweredValue *v = qs_lowering_get_value (g.lw, out_value);
      const QsLoweredStep *s;

      if (v->producer < 0)
        break;
      s = qs_lowering_get_step (g.lw, v->producer);
      if (s->kind != QS_LOWERED_DEQUANTIZE && s->kind != QS_LOWERED_ACTIVATION
          && s->kind != QS_LOWERED_ALIAS)
        {
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("Layer “%s” runs in float at the end of the model; the C export runs "
                         "integer layers only (quantize it to 8 bits)"),
                       layer_name (g.lw, s->layer));
          goto fail;
        }
      if (s->kind == QS_LOWERED_ACTIVATION)
        g_string_append_printf (tail, "%s%s", tail->len > 0 ? ", " : "",
                                layer_name (g.lw, s->layer));
      out_value = s->inputs[0];
    }
  if (!g.v[out_value].is_int)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("The model has no integer layers: the C export needs a configuration "
                     "that quantizes weights and activations to 8 bits"));
      goto fail;
    }
  for (guint i = 0; i < n_steps; i++)
    {
      const QsLoweredStep *s = qs_lowering_get_step (g.lw, i);

      if (in_value < 0)
        {
          if (s->kind != QS_LOWERED_QUANTIZE || s->inputs[0] != input)
            {
              g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                           _("Layer “%s” runs in float before the first integer layer; the C "
                             "export starts from the quantized input"),
                           layer_name (g.lw, s->layer));
              goto fail;
            }
          in_value = s->output;
          in_rounding = s->rounding;
          continue;
        }
      if (qs_lowering_get_value (g.lw, out_value)->producer < (gint) i)
        break;   /* the float tail */
      if (!s->is_int && s->kind != QS_LOWERED_ALIAS)
        {
          /* name the island's first layer, not its (unnamed) conversion */
          for (guint j = i; j < n_steps && s->layer < 0; j++)
            if (qs_lowering_get_step (g.lw, j)->layer >= 0)
              s = qs_lowering_get_step (g.lw, j);
          g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                       _("Layer “%s” runs in float inside the integer program; the C export "
                         "runs integer layers only (quantize its weights and activations to "
                         "8 bits, or export another format)"),
                       layer_name (g.lw, s->layer));
          goto fail;
        }
      g_array_append_val (steps, i);
    }
  if (in_value < 0)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("The model's input is not quantized: the C export needs 8-bit activations"));
      goto fail;
    }
  for (guint i = 0; i < g.nv; i++)
    if (g.v[i].is_int && g.v[i].qmin < 0)
      {
        g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                     _("Value “%s” is wider than 8 bits"),
                     qs_lowering_get_value (g.lw, i)->name);
        goto fail;
      }
  g.in_root = g.v[in_value].root;
  g.out_root = g.v[out_value].root;
  if (g.in_root == g.out_root)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED,
                   _("The model computes nothing in integers between its input and output"));
      goto fail;
    }
  scratch = allocate_scratch (&g, (const guint *) steps->data, steps->len);

  /* names: DIR/NAME(.ext) -> NAME.h, NAME.c, NAME_main.c */
  if ((dot = strrchr (base, '.')) != NULL && dot != base)
    *dot = '\0';
  name = c_ident (base);
  upper = g_ascii_strup (name, -1);
  hfile = g_strdup_printf ("%s.h", name);
  cfile = g_strdup_printf ("%s.c", name);
  mfile = g_strdup_printf ("%s_main.c", name);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET,
                   _("%s: the folder “%s” does not exist (the C export writes %s, %s and %s "
                     "into it)"), path, dir, hfile, cfile, mfile);
      goto fail;
    }

  for (guint i = 0; i < steps->len; i++)
    if (!emit_step (&g, g_array_index (steps, guint, i), error))
      goto fail;

  /* <name>.h */
  g_string_append_printf (h,
    "/* %s.h: %s as int8 C99 code, generated by Quantscope (the `c` export).\n"
    " * Requantization: %s. Activations: int8, q stands for scale * (q - zero_point). */\n"
    "#ifndef %s_H\n#define %s_H\n\n#include <stdint.h>\n\n"
    "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
    "#define %s_INPUT_H %" G_GSIZE_FORMAT "\n#define %s_INPUT_W %" G_GSIZE_FORMAT "\n"
    "#define %s_INPUT_C %" G_GSIZE_FORMAT "\n"
    "#define %s_INPUT_SIZE %" G_GSIZE_FORMAT "\n#define %s_OUTPUT_SIZE %" G_GSIZE_FORMAT "\n"
    "#define %s_INPUT_SCALE %af  /* %g */\n#define %s_INPUT_ZERO_POINT %d\n"
    "#define %s_OUTPUT_SCALE %af  /* %g */\n#define %s_OUTPUT_ZERO_POINT %d\n"
    "/* The one static activation buffer %s.c holds (bytes). */\n"
    "#define %s_SCRATCH_BYTES %" G_GSIZE_FORMAT "\n"
    "#define %s_REQUANTIZATION \"%s\"\n\n"
    "/* x: %s_INPUT_SIZE floats (NHWC) -> q: int8 input codes. */\n"
    "void %s_quantize_input (const float *x, int8_t *q);\n"
    "/* input: %s_INPUT_SIZE int8 codes; output: %s_OUTPUT_SIZE int8 codes of \"%s\"%s.\n"
    " * Not reentrant: one static scratch buffer. */\n"
    "void %s_run (const int8_t *input, int8_t *output);\n\n"
    "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
    name, qs_model_get_name (ctx->model), mode_name, upper, upper,
    upper, qs_lowering_get_value (g.lw, in_value)->h,
    upper, qs_lowering_get_value (g.lw, in_value)->w,
    upper, qs_lowering_get_value (g.lw, in_value)->c,
    upper, g.v[in_value].size, upper, g.v[out_value].size,
    upper, (double) g.v[in_value].scale, (double) g.v[in_value].scale, upper,
    g.v[in_value].zp - 128,
    upper, (double) g.v[out_value].scale, (double) g.v[out_value].scale, upper,
    g.v[out_value].zp - 128,
    name, upper, scratch, upper, mode_name, upper, name, upper, upper,
    qs_lowering_get_value (g.lw, out_value)->name != NULL
      ? qs_lowering_get_value (g.lw, out_value)->name : "output",
    tail->len > 0 ? " (before the float tail, which is not exported)" : "",
    name);

  /* <name>.c */
  g_string_append_printf (c,
    "/* %s.c: generated by Quantscope (the `c` export) from %s. C99, no dependencies, no\n"
    " * malloc: weights are const arrays, activations live in one static buffer. */\n"
    "#include <float.h>\n#include <stdint.h>\n\n#include \"%s\"\n\n",
    name, qs_model_get_name (ctx->model), hfile);
  if (g.used & USE_REQUANT)
    {
      g_string_append (c, g.mode == QS_REQUANT_CMSIS_NN ? requant_cmsis
                          : g.mode == QS_REQUANT_SINGLE_ROUNDING ? requant_single
                          : requant_gemmlowp);
      g_string_append (c, "\n");
    }
  g_string_append (c, k_types);
  {
    static const struct { guint bit; const char **text; } pieces[] = {
      { USE_CONV, &k_conv }, { USE_DEPTHWISE, &k_depthwise }, { USE_POOL, &k_pool },
      { USE_ADD, &k_add }, { USE_CLAMP, &k_clamp }, { USE_RESCALE, &k_rescale },
      { USE_PAD, &k_pad },
    };

    for (guint i = 0; i < G_N_ELEMENTS (pieces); i++)
      if (g.used & pieces[i].bit)
        g_string_append (c, *pieces[i].text);
  }
  g_string_append (c, "\n/* --- the model's constants --- */\n\n");
  g_string_append_len (c, g.data->str, g.data->len);
  g_string_append_printf (c,
                          "static int8_t scratch[%s_SCRATCH_BYTES > 0 ? %s_SCRATCH_BYTES : 1];\n\n",
                          upper, upper);
  emit_quantize (c, name, &g.v[in_value], in_rounding);
  g_string_append_printf (c, "void\n%s_run (const int8_t *input, int8_t *output)\n{\n", name);
  g_string_append_len (c, g.code->str, g.code->len);
  g_string_append (c, "  (void) scratch;\n}\n");

  /* <name>_main.c */
  g_string_append_printf (m,
    "/* %s_main.c: an example for %s.c, generated by Quantscope.\n"
    " *   %s_main              runs one input of zeros and prints the output codes\n"
    " *   %s_main IN.bin OUT.bin  reads inputs of %s_INPUT_SIZE int8 codes, writes\n"
    " *                           %s_OUTPUT_SIZE int8 codes per input\n"
    " *   %s_main -f IN.f32 OUT.bin  the same from float inputs (native float32), quantized\n"
    " *                              by %s_quantize_input */\n"
    "#include <stdio.h>\n#include <string.h>\n\n#include \"%s\"\n\n"
    "int\nmain (int argc, char **argv)\n{\n"
    "  static float x[%s_INPUT_SIZE];\n"
    "  static int8_t in[%s_INPUT_SIZE], out[%s_OUTPUT_SIZE];\n"
    "  unsigned long n = 0;\n  int i, best = 0, floats = 0;\n  FILE *fi, *fo;\n\n"
    "  if (argc == 1)\n    {\n"
    "      %s_quantize_input (x, in);\n"
    "      %s_run (in, out);\n"
    "      printf (\"%s: %%d outputs, scratch %%d bytes, requantization %%s\\n\",\n"
    "              %s_OUTPUT_SIZE, %s_SCRATCH_BYTES, %s_REQUANTIZATION);\n"
    "      for (i = 0; i < %s_OUTPUT_SIZE; i++)\n        {\n"
    "          printf (\"%%s%%d\", i > 0 ? \" \" : \"codes: \", out[i]);\n"
    "          if (out[i] > out[best])\n            best = i;\n        }\n"
    "      printf (\"\\nargmax: %%d\\n\", best);\n      return 0;\n    }\n"
    "  if (argc == 4 && strcmp (argv[1], \"-f\") == 0)\n    {\n"
    "      floats = 1;\n      argv++;\n      argc--;\n    }\n"
    "  if (argc != 3)\n    {\n"
    "      fprintf (stderr, \"usage: %%s [[-f] IN OUT.bin]\\n\", argv[0]);\n      return 2;\n    }\n"
    "  fi = fopen (argv[1], \"rb\");\n"
    "  if (fi == NULL)\n    {\n      perror (argv[1]);\n      return 1;\n    }\n"
    "  fo = fopen (argv[2], \"wb\");\n"
    "  if (fo == NULL)\n    {\n      perror (argv[2]);\n      fclose (fi);\n      return 1;\n    }\n"
    "  while (floats ? fread (x, sizeof x[0], %s_INPUT_SIZE, fi) == %s_INPUT_SIZE\n"
    "                : fread (in, 1, sizeof in, fi) == sizeof in)\n    {\n"
    "      if (floats)\n        %s_quantize_input (x, in);\n"
    "      %s_run (in, out);\n"
    "      if (fwrite (out, 1, sizeof out, fo) != sizeof out)\n        {\n"
    "          perror (argv[2]);\n          return 1;\n        }\n      n++;\n    }\n"
    "  fclose (fi);\n"
    "  if (fclose (fo) != 0)\n    {\n      perror (argv[2]);\n      return 1;\n    }\n"
    "  printf (\"%%lu inputs -> %%s\\n\", n, argv[2]);\n  return 0;\n}\n",
    name, name, name, name, upper, upper, name, name, hfile, upper, upper, upper, name, name,
    name, upper, upper, upper, upper, upper, upper, name, name);

  if (!write_one (dir, hfile, h, summary, &total, error)
      || !write_one (dir, cfile, c, summary, &total, error)
      || !write_one (dir, mfile, m, summary, &total, error))
    goto fail;

  g_string_append_printf (summary,
                          _("C99 for microcontrollers: %u steps, int8 activations, "
                            "requantization %s; peak scratch %lu bytes (%s_SCRATCH_BYTES), "
                            "input %lu codes, output %lu codes\n"),
                          steps->len, mode_name, (gulong) scratch, upper,
                          (gulong) g.v[in_value].size, (gulong) g.v[out_value].size);
  if (tail->len > 0)
    g_string_append_printf (summary,
                            _("Not in the C code: the float tail (%s); %s_run returns the int8 "
                              "codes it reads (a softmax keeps the argmax)\n"),
                            tail->str, name);
  g_string_append_printf (summary, _("Build the example: cc -std=c99 -O2 -o %s_main %s %s\n"),
                          name, cfile, mfile);
  if (info != NULL)
    {
      info->scratch_bytes = scratch;
      info->input_size = g.v[in_value].size;
      info->output_size = g.v[out_value].size;
      info->input_value = in_value;
      info->output_value = out_value;
      info->input_scale = g.v[in_value].scale;
      info->input_zero_point = g.v[in_value].zp - 128;
      info->input_qmin = g.v[in_value].qmin - 128;
      info->input_qmax = g.v[in_value].qmax - 128;
      info->output_scale = g.v[out_value].scale;
      info->output_zero_point = g.v[out_value].zp - 128;
      info->source_bytes = total;
    }
  g_string_free (g.data, TRUE);
  g_string_free (g.code, TRUE);
  return TRUE;

fail:
  g_string_free (g.data, TRUE);
  g_string_free (g.code, TRUE);
  return FALSE;
}

gboolean
_qs_export_c (const QsExportContext *ctx,
              const char            *path,
              GString               *summary,
              GError               **error)
{
  return _qs_export_c_full (ctx, path, summary, NULL, error);
}
