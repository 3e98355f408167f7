/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>

#include <math.h>
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#include "qs-chart.h"
#include "qs-report.h"

/* The report export (report-html, report-pdf). Everything is gathered once into a Report
 * (summary, cost, rows, evaluation, chart results), then written by one of two writers:
 * HTML (inline CSS with light and dark palettes, charts as PNG data: URIs in both styles,
 * nothing fetched) or PDF (cairo + pango on A4: a title page, the per-layer table over as
 * many pages as it needs, one page of charts per large layer). */

typedef struct
{
  char    *name;
  char    *class_name;
  char    *weights;      /* weight format label, "—" without a kernel, "folded into X" */
  char    *activations;
  char    *folded;       /* the BatchNormalization folded into this layer, or "" */
  double   sqnr_db;      /* NAN without weights */
  guint64  bytes;        /* what the program stores of the layer */
  guint64  float_bytes;
  gsize    n_values;     /* the layer's own kernel values (0: none or folded away) */
  guint    layer;
} Row;

typedef struct
{
  const Row     *row;
  QsQuantResult *result;
  char          *spec_label;
} Chart;

typedef struct
{
  const QsExportContext *ctx;
  QsCost        cost;
  GArray       *rows;
  QsEvalResult *eval;
  char         *eval_data;    /* the dataset evaluated or meant to be */
  char         *eval_note;    /* why there is no evaluation, NULL when there is one */
  gboolean      eval_is_calib;
  guint         eval_requested;
  GPtrArray    *charts;
  char         *date;
  char         *config_name;
} Report;

static void
row_clear (gpointer data)
{
  Row *r = data;

  g_free (r->name);
  g_free (r->class_name);
  g_free (r->weights);
  g_free (r->activations);
  g_free (r->folded);
}

static void
chart_free (gpointer data)
{
  Chart *c = data;

  qs_quant_result_unref (c->result);
  g_free (c->spec_label);
  g_free (c);
}

static void
report_clear (Report *rep)
{
  g_clear_pointer (&rep->rows, g_array_unref);
  g_clear_pointer (&rep->eval, qs_eval_result_unref);
  g_clear_pointer (&rep->charts, g_ptr_array_unref);
  g_clear_pointer (&rep->eval_data, g_free);
  g_clear_pointer (&rep->eval_note, g_free);
  g_clear_pointer (&rep->date, g_free);
  g_clear_pointer (&rep->config_name, g_free);
}

static gint
compare_rows_by_size (gconstpointer a,
                      gconstpointer b)
{
  const Row *ra = *(const Row * const *) a, *rb = *(const Row * const *) b;

  if (ra->n_values != rb->n_values)
    return ra->n_values < rb->n_values ? 1 : -1;
  return (gint) ra->layer - (gint) rb->layer;
}

static void
collect_rows (Report *rep)
{
  const QsExportContext *ctx = rep->ctx;
  guint n = qs_model_get_n_layers (ctx->model);

  rep->rows = g_array_new (FALSE, TRUE, sizeof (Row));
  g_array_set_clear_func (rep->rows, row_clear);
  for (guint i = 1; i < n; i++)
    {
      const QsLayer *l = qs_model_get_layer (ctx->model, i);
      QsTensor *kernel = qs_layer_get_kernel (l);
      QsLoweredWeights w;
      QsLayerConfig lc;
      Row row = { 0 };

      qs_config_get_layer (ctx->config, l->name, &lc);
      row.layer = i;
      row.name = g_strdup (l->name);
      row.class_name = g_strdup (l->class_name);
      row.sqnr_db = NAN;
      row.folded = g_strdup ("");
      row.activations = lc.quantize_activations ? qs_quant_spec_to_label (&lc.activation)
                                                : g_strdup ("fp32");
      for (guint k = 0; k < l->weights->len; k++)
        row.float_bytes += ((QsTensor *) g_ptr_array_index (l->weights, k))->n_elements * 4;
      row.bytes = row.float_bytes;
      if (kernel != NULL)
        {
          QsQuantSpec resolved;

          qs_config_resolve_weight_spec (&lc.weight, kernel, &resolved);
          row.weights = qs_quant_spec_to_label (&resolved);
          row.n_values = kernel->n_elements;
        }
      else
        row.weights = g_strdup ("—");

      if (qs_lowering_get_layer_weights (ctx->lowering, i, &w))
        {
          row.sqnr_db = w.sqnr_db;
          row.bytes = (w.storage_bits + 7) / 8;
          if (w.folded_bn >= 0)
            {
              g_free (row.folded);
              row.folded = g_strdup (qs_model_get_layer (ctx->model, w.folded_bn)->name);
            }
        }
      else if (w.folded_into >= 0)
        {
          g_free (row.weights);
          row.weights = g_strdup_printf (_("folded into %s"),
                                         qs_model_get_layer (ctx->model, w.folded_into)->name);
          row.bytes = 0;
          row.n_values = 0;
        }
      else if (kernel != NULL)
        {
          QsQuantSpec spec;
          g_autoptr(QsQuantResult) q = NULL;

          /* not in a program (a model that does not lower): the layer's own kernel */
          qs_config_resolve_weight_spec (&lc.weight, kernel, &spec);
          q = qs_quant_run (kernel, &spec, NULL, NULL, NULL);
          if (q != NULL)
            {
              row.sqnr_db = q->stats.sqnr_db;
              row.bytes = row.float_bytes - kernel->n_elements * 4 + (q->stats.storage_bits + 7) / 8;
            }
        }
      g_array_append_val (rep->rows, row);
    }
}

static void
collect_charts (Report *rep)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  rep->charts = g_ptr_array_new_with_free_func (chart_free);
  for (guint i = 0; i < rep->rows->len; i++)
    if (g_array_index (rep->rows, Row, i).n_values > 0)
      g_ptr_array_add (order, &g_array_index (rep->rows, Row, i));
  g_ptr_array_sort (order, compare_rows_by_size);
  for (guint i = 0; i < order->len && rep->charts->len < QS_REPORT_CHART_LAYERS; i++)
    {
      const Row *row = order->pdata[i];
      const QsLayer *l = qs_model_get_layer (rep->ctx->model, row->layer);
      QsTensor *kernel = qs_layer_get_kernel (l);
      QsQuantOptions qopts = { 0 };
      QsLayerConfig lc;
      QsQuantSpec spec;
      QsQuantResult *q;
      Chart *c;

      qs_config_get_layer (rep->ctx->config, l->name, &lc);
      qs_config_resolve_weight_spec (&lc.weight, kernel, &spec);
      qopts.want_codes = TRUE;
      qopts.want_dequant = TRUE;
      q = qs_quant_run (kernel, &spec, &qopts, NULL, NULL);
      if (q == NULL)
        continue;
      c = g_new0 (Chart, 1);
      c->row = row;
      c->result = q;
      c->spec_label = qs_quant_spec_to_label (&spec);
      g_ptr_array_add (rep->charts, c);
    }
}

static void
collect_eval (Report       *rep,
              QsEvalResult *given)
{
  const QsExportContext *ctx = rep->ctx;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  QsEvalOptions opts = { 0 };
  const char *calib = qs_config_get_calib_source (ctx->config);

  rep->eval_data = g_strdup (ctx->eval_data != NULL ? ctx->eval_data : calib);
  rep->eval_is_calib = g_strcmp0 (rep->eval_data, calib) == 0;
  rep->eval_requested = ctx->eval_images > 0 ? (guint) ctx->eval_images : QS_REPORT_DEFAULT_IMAGES;
  if (given != NULL)
    {
      rep->eval = qs_eval_result_ref (given);
      return;
    }
  if (ctx->eval_images < 0)
    {
      rep->eval_note = g_strdup (_("Not evaluated: the export was asked not to evaluate."));
      return;
    }
  if (rep->eval_data == NULL || rep->eval_data[0] == '\0')
    {
      rep->eval_note = g_strdup (_("Not evaluated: the config names no calibration or evaluation data."));
      return;
    }
  dataset = qs_dataset_open_full (rep->eval_data, NULL, qs_config_get_preprocess (ctx->config), &error);
  if (dataset == NULL)
    {
      rep->eval_note = g_strdup_printf (_("Not evaluated: no data (%s)."), error->message);
      return;
    }
  opts.limit = rep->eval_requested;
  rep->eval = qs_eval_run (ctx->model, ctx->config, dataset, &opts, NULL, NULL, NULL, &error);
  if (rep->eval == NULL)
    rep->eval_note = g_strdup_printf (_("Not evaluated: %s"), error->message);
}

static gboolean
report_collect (Report                *rep,
                const QsExportContext *ctx,
                QsEvalResult          *eval)
{
  const char *preset = qs_config_get_preset_name (ctx->config);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  memset (rep, 0, sizeof *rep);
  rep->ctx = ctx;
  rep->date = g_date_time_format (now, "%Y-%m-%d %H:%M");
  rep->config_name = preset != NULL ? g_strdup_printf (_("preset “%s”"), preset)
                                    : g_strdup (_("custom config"));
  qs_lowering_get_cost (ctx->lowering, &rep->cost);
  rep->cost.has_program = TRUE;   /* it lowered: there is a program */
  collect_rows (rep);
  collect_charts (rep);
  collect_eval (rep, eval);
  return TRUE;
}

/* --- shared text --- */

static char *
format_bytes (guint64 bytes)
{
  g_autofree char *size = g_format_size (bytes);

  return g_strdup_printf ("%s (%" G_GUINT64_FORMAT " B)", size, bytes);
}

static char *
format_energy (double pj)
{
  if (pj >= 1e6)
    return g_strdup_printf ("%.2f µJ", pj / 1e6);
  if (pj >= 1e3)
    return g_strdup_printf ("%.2f nJ", pj / 1e3);
  return g_strdup_printf ("%.1f pJ", pj);
}

static char *
format_sqnr (double db)
{
  if (isnan (db))
    return g_strdup ("—");
  if (isinf (db))
    return g_strdup (_("exact"));
  return g_strdup_printf ("%.1f", db);
}

static char *
format_percent (double fraction)
{
  if (isnan (fraction))
    return g_strdup ("—");
  return g_strdup_printf ("%.2f %%", 100.0 * fraction);
}

/* Label / value pairs, as both writers show them. */
typedef struct
{
  char *label;
  char *value;
} Pair;

static void
pair_clear (gpointer data)
{
  Pair *p = data;

  g_free (p->label);
  g_free (p->value);
}

static GArray *
pairs_new (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (Pair));

  g_array_set_clear_func (a, pair_clear);
  return a;
}

static void
pairs_add (GArray     *pairs,
           const char *label,
           char       *value)  /* taken */
{
  Pair p = { g_strdup (label), value };

  g_array_append_val (pairs, p);
}

static GArray *
summary_pairs (Report *rep)
{
  const QsExportContext *ctx = rep->ctx;
  const QsCost *c = &rep->cost;
  QsRequantMode mode = qs_config_get_requant_mode (ctx->config);
  GArray *p = pairs_new ();
  QsLayerConfig def;
  g_autofree char *wlabel = NULL, *alabel = NULL;
  g_autofree char *wb = format_bytes (c->weight_bytes), *fwb = format_bytes (c->float_weight_bytes);
  g_autofree char *pa = format_bytes (c->peak_activation_bytes);
  g_autofree char *fpa = format_bytes (c->float_peak_activation_bytes);

  qs_config_get_default (ctx->config, &def);
  wlabel = qs_quant_spec_to_label (&def.weight);
  alabel = def.quantize_activations ? qs_quant_spec_to_label (&def.activation) : g_strdup ("fp32");

  pairs_add (p, _("Model"), g_strdup_printf ("%s (%u layers, %zu parameters)",
                                             qs_model_get_name (ctx->model),
                                             qs_model_get_n_layers (ctx->model),
                                             qs_model_get_n_params (ctx->model)));
  pairs_add (p, _("Config"), g_strdup_printf (_("%s: weights %s, activations %s, %u layer overrides"),
                                              rep->config_name, wlabel, alabel,
                                              qs_config_get_n_overrides (ctx->config)));
  pairs_add (p, _("Requantization"), g_strdup_printf ("%s: %s", qs_requant_mode_to_string (mode),
                                                      qs_requant_mode_describe (mode)));
  pairs_add (p, _("Weights, float32"), g_strdup (fwb));
  pairs_add (p, _("Weights, quantized"),
             c->weight_bytes > 0
             ? g_strdup_printf (_("%s, %.2f× smaller"), wb, (double) c->float_weight_bytes / c->weight_bytes)
             : g_strdup (wb));
  if (c->has_program)
    {
      g_autofree char *e = format_energy (c->energy_pj);
      g_autofree char *ec = format_energy (c->energy_compute_pj);
      g_autofree char *ew = format_energy (c->energy_weights_pj);
      g_autofree char *ea = format_energy (c->energy_activations_pj);

      pairs_add (p, _("Peak activations"), g_strdup_printf (_("%s (float32: %s)"), pa, fpa));
      pairs_add (p, _("Compute"), g_strdup_printf (_("%" PRIu64 " MACs per image; %u integer and %u float steps"),
                                                   c->macs, c->n_int_steps, c->n_float_steps));
      pairs_add (p, _("Energy estimate"),
                 g_strdup_printf (_("%s per inference (compute %s, weights %s, activations %s)"),
                                  e, ec, ew, ea));
    }
  else
    pairs_add (p, _("Peak activations"), g_strdup (_("— (the model does not lower to a program)")));
  return p;
}

static GArray *
accuracy_pairs (Report *rep)
{
  QsEvalResult *r = rep->eval;
  GArray *p = pairs_new ();

  if (r == NULL)
    return p;
  pairs_add (p, _("Data"),
             rep->eval_is_calib
             ? g_strdup_printf (_("%u images of %s (the calibration set: the numbers are optimistic; evaluate on held-out data for a decision)"),
                                r->n_images, rep->eval_data)
             : g_strdup_printf (_("%u images of %s"), r->n_images, rep->eval_data));
  if (r->labelled && r->classification)
    {
      pairs_add (p, _("Top-1, float"), format_percent (r->float_top1));
      pairs_add (p, _("Top-1, quantized"), format_percent (r->quant_top1));
      pairs_add (p, _("Top-1 change"), g_strdup_printf ("%+.2f %s", 100.0 * (r->quant_top1 - r->float_top1),
                                                        _("points")));
      pairs_add (p, _("Top-5, float / quantized"),
                 g_strdup_printf ("%.2f %% / %.2f %%", 100.0 * r->float_top5, 100.0 * r->quant_top5));
    }
  pairs_add (p, _("Agreement (same top-1)"), format_percent (r->agreement));
  if (r->classification)
    {
      pairs_add (p, _("Top-5 overlap"), format_percent (r->top5_overlap));
      pairs_add (p, _("Mean KL(float ‖ quantized)"), g_strdup_printf ("%.4g", r->mean_kl));
    }
  pairs_add (p, _("Output SQNR"), g_strdup_printf ("%.1f dB", r->output_sqnr_db));
  pairs_add (p, _("Largest output error"), g_strdup_printf ("%.4g", r->output_max_abs_error));
  if (r->float_nonfinite > 0 || r->quant_nonfinite > 0)
    pairs_add (p, _("NaN / infinity"),
               g_strdup_printf (_("%u float and %u quantized outputs (first at %s)"), r->float_nonfinite,
                                r->quant_nonfinite,
                                r->quant_nonfinite_at ? r->quant_nonfinite_at
                                : r->float_nonfinite_at ? r->float_nonfinite_at : "?"));
  return p;
}

static char *
chart_title (const Chart *c,
             const char  *what)
{
  return g_strdup_printf ("%s: %s (%s)", c->row->name, what, c->spec_label);
}

static char *
chart_caption (const Chart *c)
{
  g_autofree char *sq = format_sqnr (c->result->stats.sqnr_db);

  return g_strdup_printf (_("%s (%s): %zu weights in %s, SQNR %s dB of the layer's own kernel (before BatchNorm folding)."),
                          c->row->name, c->row->class_name, c->row->n_values, c->spec_label, sq);
}

static const char *const chart_kinds[] = { "histogram", "heatmap" };

static const char *
chart_kind_label (guint k)
{
  return k == 0 ? _("weights") : _("quantization error");
}

static cairo_status_t
append_bytes (void                *closure,
              const unsigned char *data,
              unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* One chart as a PNG in base64 (a data: URI's payload). */
static char *
render_png_base64 (const Chart         *c,
                   guint                kind,
                   const QsChartStyle  *style,
                   gsize               *png_bytes,
                   GError             **error)
{
  const int width = 760, height = 330;
  const double scale = 1.5;
  g_autofree char *title = chart_title (c, chart_kind_label (kind));
  g_autoptr(GByteArray) png = g_byte_array_new ();
  QsChartOptions opts;
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  qs_chart_options_init (&opts);
  opts.style = style;
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) (width * scale), (int) (height * scale));
  cairo_surface_set_device_scale (surface, scale, scale);
  cr = cairo_create (surface);
  if (!qs_chart_draw_figure (cr, chart_kinds[kind], c->result, &opts, title, width, height, error))
    {
      cairo_destroy (cr);
      cairo_surface_destroy (surface);
      return NULL;
    }
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_write_to_png_stream (surface, append_bytes, png);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_WRITE,
                   _("Could not draw the chart of “%s”: %s"), c->row->name, cairo_status_to_string (status));
      return NULL;
    }
  *png_bytes += png->len;
  return g_base64_encode (png->data, png->len);
}

/* --- HTML --- */

static const char html_css[] =
  ":root{color-scheme:light dark;--bg:#fafafa;--fg:#1e1e1e;--muted:#5e5c64;--card:#fff;"
  "--line:#deddda;--accent:#1c71d8;--warn:#c01c28;--stripe:rgba(0,0,0,.03)}\n"
  "@media (prefers-color-scheme:dark){:root{--bg:#242424;--fg:#fff;--muted:#c0bfbc;"
  "--card:#303030;--line:#4a4a4a;--accent:#78aeed;--warn:#ff7b63;--stripe:rgba(255,255,255,.04)}}\n"
  "body{margin:0 auto;max-width:1080px;padding:24px 32px 48px;background:var(--bg);color:var(--fg);"
  "font:15px/1.5 system-ui,-apple-system,'Cantarell','Segoe UI',sans-serif}\n"
  "h1{font-size:28px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px;border-bottom:1px solid var(--line);padding-bottom:4px}\n"
  ".sub{color:var(--muted);margin:0 0 16px}\n"
  ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin:16px 0}\n"
  ".card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:12px 16px}\n"
  ".card .k{color:var(--muted);font-size:13px}.card .v{font-size:22px;font-weight:600}\n"
  "table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px}\n"
  "th,td{padding:6px 10px;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}\n"
  "th{font-weight:600;color:var(--muted);font-size:13px}tbody tr:nth-child(even){background:var(--stripe)}\n"
  "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
  "table.kv th{width:220px}\n"
  ".note{border-left:4px solid var(--warn);padding:8px 12px;background:var(--card)}\n"
  "figure{margin:16px 0;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:8px}\n"
  "figure img{width:100%;height:auto;display:block}figcaption{color:var(--muted);font-size:13px;padding:4px 8px}\n"
  "footer{margin-top:32px;color:var(--muted);font-size:13px}code{font-size:13px}\n"
  "@media print{body{max-width:none;padding:0}figure,table{break-inside:avoid}}\n";

static void
html_text (GString    *out,
           const char *text)
{
  g_autofree char *e = g_markup_escape_text (text, -1);

  g_string_append (out, e);
}

static void
html_kv_table (GString *out,
               GArray  *pairs)
{
  g_string_append (out, "<table class=\"kv\"><tbody>\n");
  for (guint i = 0; i < pairs->len; i++)
    {
      Pair *p = &g_array_index (pairs, Pair, i);

      g_string_append (out, "<tr><th scope=\"row\">");
      html_text (out, p->label);
      g_string_append (out, "</th><td>");
      html_text (out, p->value);
      g_string_append (out, "</td></tr>\n");
    }
  g_string_append (out, "</tbody></table>\n");
}

static void
html_card (GString    *out,
           const char *key,
           const char *value)
{
  g_string_append (out, "<div class=\"card\"><div class=\"k\">");
  html_text (out, key);
  g_string_append (out, "</div><div class=\"v\">");
  html_text (out, value);
  g_string_append (out, "</div></div>\n");
}

static gboolean
write_html (Report      *rep,
            const char  *path,
            gsize       *written,
            gsize       *image_bytes,
            GError     **error)
{
  const QsExportContext *ctx = rep->ctx;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GArray) summary = summary_pairs (rep);
  g_autoptr(GArray) accuracy = accuracy_pairs (rep);
  g_autofree char *title = g_strdup_printf (_("Quantization report: %s"), qs_model_get_name (ctx->model));
  QsChartStyle light, dark;

  qs_chart_style_init_light (&light);
  qs_chart_style_init_dark (&dark);
  g_string_append (out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n"
                        "<meta name=\"generator\" content=\"Quantscope " PACKAGE_VERSION "\" />\n<title>");
  html_text (out, title);
  g_string_append_printf (out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", html_css);
  html_text (out, title);
  g_string_append (out, "</h1>\n<p class=\"sub\">");
  {
    g_autofree char *sub = g_strdup_printf (_("%s, requantization %s. Generated by Quantscope %s on %s."),
                                            rep->config_name,
                                            qs_requant_mode_to_string (qs_config_get_requant_mode (ctx->config)),
                                            PACKAGE_VERSION, rep->date);
    html_text (out, sub);
  }
  g_string_append (out, "</p>\n<div class=\"cards\">\n");
  if (rep->eval != NULL && rep->eval->labelled && rep->eval->classification)
    {
      g_autofree char *f = format_percent (rep->eval->float_top1);
      g_autofree char *q = format_percent (rep->eval->quant_top1);

      html_card (out, _("Top-1, float"), f);
      html_card (out, _("Top-1, quantized"), q);
    }
  if (rep->eval != NULL)
    {
      g_autofree char *a = format_percent (rep->eval->agreement);

      html_card (out, _("Agreement"), a);
    }
  {
    g_autofree char *w = g_format_size (rep->cost.weight_bytes);
    g_autofree char *fw = g_format_size (rep->cost.float_weight_bytes);
    g_autofree char *wv = g_strdup_printf ("%s → %s", fw, w);

    html_card (out, _("Weights"), wv);
  }
  if (rep->cost.has_program)
    {
      g_autofree char *e = format_energy (rep->cost.energy_pj);

      html_card (out, _("Energy per inference"), e);
    }
  g_string_append (out, "</div>\n");

  g_string_append (out, "<h2>");
  html_text (out, _("Summary"));
  g_string_append (out, "</h2>\n");
  html_kv_table (out, summary);
  if (rep->cost.has_program)
    {
      g_autofree char *note = g_strdup_printf (_("Energy from the per-operation table of %s."), QS_ENERGY_SOURCE);

      g_string_append (out, "<p class=\"sub\">");
      html_text (out, note);
      g_string_append (out, "</p>\n");
    }

  g_string_append (out, "<h2>");
  html_text (out, _("Accuracy"));
  g_string_append (out, "</h2>\n");
  if (rep->eval != NULL)
    html_kv_table (out, accuracy);
  else
    {
      g_string_append (out, "<p class=\"note\">");
      html_text (out, rep->eval_note);
      g_string_append (out, "</p>\n");
    }

  g_string_append (out, "<h2>");
  html_text (out, _("Layers"));
  g_string_append (out, "</h2>\n<table>\n<thead><tr>");
  {
    const char *heads[] = { N_("Layer"), N_("Type"), N_("Weights"), N_("Activations"),
                            N_("Weight SQNR (dB)"), N_("Bytes stored"), N_("Bytes, float32"),
                            N_("Folded BatchNorm") };

    for (guint i = 0; i < G_N_ELEMENTS (heads); i++)
      {
        g_string_append (out, "<th scope=\"col\">");
        html_text (out, _(heads[i]));
        g_string_append (out, "</th>");
      }
  }
  g_string_append (out, "</tr></thead>\n<tbody>\n");
  for (guint i = 0; i < rep->rows->len; i++)
    {
      const Row *r = &g_array_index (rep->rows, Row, i);
      g_autofree char *sq = format_sqnr (r->sqnr_db);

      g_string_append (out, "<tr><td><code>");
      html_text (out, r->name);
      g_string_append (out, "</code></td><td>");
      html_text (out, r->class_name);
      g_string_append (out, "</td><td>");
      html_text (out, r->weights);
      g_string_append (out, "</td><td>");
      html_text (out, r->activations);
      g_string_append_printf (out, "</td><td class=\"n\">%s</td><td class=\"n\">%" G_GUINT64_FORMAT
                              "</td><td class=\"n\">%" G_GUINT64_FORMAT "</td><td>",
                              sq, r->bytes, r->float_bytes);
      html_text (out, r->folded);
      g_string_append (out, "</td></tr>\n");
    }
  g_string_append (out, "</tbody>\n</table>\n");

  g_string_append (out, "<h2>");
  html_text (out, _("Weights of the largest layers"));
  g_string_append (out, "</h2>\n");
  if (rep->charts->len == 0)
    {
      g_string_append (out, "<p class=\"sub\">");
      html_text (out, _("The model has no kernels to chart."));
      g_string_append (out, "</p>\n");
    }
  for (guint i = 0; i < rep->charts->len; i++)
    {
      const Chart *c = rep->charts->pdata[i];
      g_autofree char *caption = chart_caption (c);

      for (guint k = 0; k < G_N_ELEMENTS (chart_kinds); k++)
        {
          g_autofree char *png_light = render_png_base64 (c, k, &light, image_bytes, error);
          g_autofree char *png_dark = NULL;
          g_autofree char *alt = chart_title (c, chart_kind_label (k));

          if (png_light == NULL)
            return FALSE;
          png_dark = render_png_base64 (c, k, &dark, image_bytes, error);
          if (png_dark == NULL)
            return FALSE;
          g_string_append_printf (out, "<figure><picture><source media=\"(prefers-color-scheme: dark)\" "
                                       "srcset=\"data:image/png;base64,%s\" />"
                                       "<img src=\"data:image/png;base64,%s\" alt=\"",
                                  png_dark, png_light);
          html_text (out, alt);
          g_string_append (out, "\" /></picture><figcaption>");
          html_text (out, caption);
          g_string_append (out, "</figcaption></figure>\n");
        }
    }
  g_string_append (out, "<footer>");
  {
    g_autofree char *foot = g_strdup_printf (_("Model file: %s. The weight SQNR and bytes are those the integer program stores (BatchNorm folded in, 32-bit biases)."),
                                             ctx->model_path != NULL ? ctx->model_path : qs_model_get_name (ctx->model));
    html_text (out, foot);
  }
  g_string_append (out, "</footer>\n</body>\n</html>\n");
  *written = out->len;
  return qs_export_write_file (path, out->str, out->len, error);
}

/* --- PDF --- */

#define PAGE_W 595.0   /* A4 in points */
#define PAGE_H 842.0
#define MARGIN 48.0

typedef struct
{
  cairo_t *cr;
  guint    page;
  const char *footer;
} Pdf;

/* Text at (x, y) in a box width wide (ellipsized when single_line); returns its height. */
static double
pdf_text (Pdf        *pdf,
          double      x,
          double      y,
          double      width,
          const char *font,
          double      gray,
          gboolean    single_line,
          PangoAlignment align,
          const char *text)
{
  g_autoptr(PangoLayout) layout = pango_cairo_create_layout (pdf->cr);
  PangoFontDescription *desc = pango_font_description_from_string (font);
  int w, h;

  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);
  pango_layout_set_width (layout, (int) (width * PANGO_SCALE));
  pango_layout_set_alignment (layout, align);
  if (single_line)
    pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  else
    pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_text (layout, text, -1);
  cairo_set_source_rgb (pdf->cr, gray, gray, gray);
  cairo_move_to (pdf->cr, x, y);
  pango_cairo_show_layout (pdf->cr, layout);
  pango_layout_get_size (layout, &w, &h);
  return (double) h / PANGO_SCALE;
}

static void
pdf_end_page (Pdf *pdf)
{
  g_autofree char *foot = g_strdup_printf (_("%s · page %u"), pdf->footer, ++pdf->page);

  cairo_set_source_rgb (pdf->cr, 0.8, 0.8, 0.8);
  cairo_set_line_width (pdf->cr, 0.5);
  cairo_move_to (pdf->cr, MARGIN, PAGE_H - MARGIN + 8);
  cairo_line_to (pdf->cr, PAGE_W - MARGIN, PAGE_H - MARGIN + 8);
  cairo_stroke (pdf->cr);
  pdf_text (pdf, MARGIN, PAGE_H - MARGIN + 12, PAGE_W - 2 * MARGIN, "Sans 8", 0.45, TRUE,
            PANGO_ALIGN_RIGHT, foot);
  cairo_show_page (pdf->cr);
}

static double
pdf_heading (Pdf        *pdf,
             double      y,
             const char *text)
{
  double h = pdf_text (pdf, MARGIN, y, PAGE_W - 2 * MARGIN, "Sans Bold 13", 0.1, TRUE, PANGO_ALIGN_LEFT, text);

  cairo_set_source_rgb (pdf->cr, 0.11, 0.44, 0.85);
  cairo_rectangle (pdf->cr, MARGIN, y + h + 2, PAGE_W - 2 * MARGIN, 1.2);
  cairo_fill (pdf->cr);
  return y + h + 10;
}

static double
pdf_pairs (Pdf    *pdf,
           double  y,
           GArray *pairs)
{
  const double label_w = 150;

  for (guint i = 0; i < pairs->len; i++)
    {
      Pair *p = &g_array_index (pairs, Pair, i);
      double h1, h2;

      h1 = pdf_text (pdf, MARGIN, y, label_w - 8, "Sans Bold 9", 0.35, FALSE, PANGO_ALIGN_LEFT, p->label);
      h2 = pdf_text (pdf, MARGIN + label_w, y, PAGE_W - 2 * MARGIN - label_w, "Sans 9", 0.1, FALSE,
                     PANGO_ALIGN_LEFT, p->value);
      y += MAX (h1, h2) + 4;
    }
  return y;
}

#define N_COLUMNS 7
static const char *const pdf_heads[N_COLUMNS] = {
  N_("Layer"), N_("Type"), N_("Weights"), N_("Activations"), N_("SQNR dB"), N_("Bytes"), N_("Folded BN"),
};

static double
pdf_text_width (Pdf        *pdf,
                const char *font,
                const char *text)
{
  g_autoptr(PangoLayout) layout = pango_cairo_create_layout (pdf->cr);
  PangoFontDescription *desc = pango_font_description_from_string (font);
  int w, h;

  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);
  pango_layout_set_text (layout, text, -1);
  pango_layout_get_size (layout, &w, &h);
  return (double) w / PANGO_SCALE;
}

static void
pdf_row_cells (const Row  *r,
               char      **owned,
               const char *cells[N_COLUMNS])
{
  owned[0] = format_sqnr (r->sqnr_db);
  owned[1] = g_strdup_printf ("%" G_GUINT64_FORMAT, r->bytes);
  cells[0] = r->name;
  cells[1] = r->class_name;
  cells[2] = r->weights;
  cells[3] = r->activations;
  cells[4] = owned[0];
  cells[5] = owned[1];
  cells[6] = r->folded;
}

/* Column widths from what they hold (the widest cell or heading), shrunk in proportion
 * when the page is too narrow (cells are then ellipsized), the spare width shared out. */
static void
pdf_column_widths (Pdf    *pdf,
                   GArray *rows,
                   double  widths[N_COLUMNS])
{
  const double avail = PAGE_W - 2 * MARGIN, pad = 10;
  double sum = 0;

  for (guint c = 0; c < N_COLUMNS; c++)
    widths[c] = pdf_text_width (pdf, "Sans Bold 7.5", _(pdf_heads[c])) + pad;
  for (guint i = 0; i < rows->len; i++)
    {
      char *owned[2];
      const char *cells[N_COLUMNS];

      pdf_row_cells (&g_array_index (rows, Row, i), owned, cells);
      for (guint c = 0; c < N_COLUMNS; c++)
        widths[c] = MAX (widths[c], pdf_text_width (pdf, "Sans 7.5", cells[c]) + pad);
      g_free (owned[0]);
      g_free (owned[1]);
    }
  for (guint c = 0; c < N_COLUMNS; c++)
    sum += widths[c];
  if (sum <= avail)
    {
      for (guint c = 0; c < N_COLUMNS; c++)
        widths[c] += (avail - sum) / N_COLUMNS;
      return;
    }
  /* too wide: cap the widest columns at one width (the narrow numbers keep theirs) */
  {
    double lo = 0, hi = avail;

    for (guint it = 0; it < 40; it++)
      {
        double cap = (lo + hi) / 2, total = 0;

        for (guint c = 0; c < N_COLUMNS; c++)
          total += MIN (widths[c], cap);
        if (total > avail)
          hi = cap;
        else
          lo = cap;
      }
    for (guint c = 0; c < N_COLUMNS; c++)
      widths[c] = MIN (widths[c], lo);
  }
}

static void
pdf_table_row (Pdf          *pdf,
               double        y,
               const double  widths[N_COLUMNS],
               const char   *cells[N_COLUMNS],
               gboolean      head)
{
  double x = MARGIN;

  for (guint c = 0; c < N_COLUMNS; c++)
    {
      pdf_text (pdf, x + 2, y, widths[c] - 8, head ? "Sans Bold 7.5" : "Sans 7.5",
                head ? 0.35 : 0.1, TRUE, c == 4 || c == 5 ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT, cells[c]);
      x += widths[c];
    }
}

static gboolean
write_pdf (Report        *rep,
           const char    *path,
           QsReportInfo  *info,
           GError       **error)
{
  const QsExportContext *ctx = rep->ctx;
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  g_autoptr(GArray) summary = summary_pairs (rep);
  g_autoptr(GArray) accuracy = accuracy_pairs (rep);
  g_autofree char *title = g_strdup_printf (_("Quantization report: %s"), qs_model_get_name (ctx->model));
  cairo_surface_t *surface;
  cairo_status_t status;
  const double row_h = 15.5;
  double widths[N_COLUMNS];
  guint n_table_pages;
  Pdf pdf = { 0 };
  double y;

  surface = cairo_pdf_surface_create_for_stream (append_bytes, bytes, PAGE_W, PAGE_H);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Quantscope " PACKAGE_VERSION);
  pdf.cr = cairo_create (surface);
  pdf.footer = title;

  /* title page: summary, accuracy */
  y = MARGIN;
  y += pdf_text (&pdf, MARGIN, y, PAGE_W - 2 * MARGIN, "Sans Bold 22", 0.1, FALSE, PANGO_ALIGN_LEFT,
                 _("Quantization report"));
  y += pdf_text (&pdf, MARGIN, y + 2, PAGE_W - 2 * MARGIN, "Sans 15", 0.25, TRUE, PANGO_ALIGN_LEFT,
                 qs_model_get_name (ctx->model)) + 4;
  {
    g_autofree char *sub = g_strdup_printf (_("%s, requantization %s. Generated by Quantscope %s on %s."),
                                            rep->config_name,
                                            qs_requant_mode_to_string (qs_config_get_requant_mode (ctx->config)),
                                            PACKAGE_VERSION, rep->date);
    y += pdf_text (&pdf, MARGIN, y, PAGE_W - 2 * MARGIN, "Sans 9", 0.45, FALSE, PANGO_ALIGN_LEFT, sub) + 18;
  }
  y = pdf_heading (&pdf, y, _("Summary"));
  y = pdf_pairs (&pdf, y, summary);
  if (rep->cost.has_program)
    {
      g_autofree char *note = g_strdup_printf (_("Energy from the per-operation table of %s."), QS_ENERGY_SOURCE);

      y += pdf_text (&pdf, MARGIN, y + 2, PAGE_W - 2 * MARGIN, "Sans Italic 8", 0.45, FALSE, PANGO_ALIGN_LEFT, note);
    }
  y = pdf_heading (&pdf, y + 18, _("Accuracy"));
  if (rep->eval != NULL)
    y = pdf_pairs (&pdf, y, accuracy);
  else
    y += pdf_text (&pdf, MARGIN, y, PAGE_W - 2 * MARGIN, "Sans 9", 0.1, FALSE, PANGO_ALIGN_LEFT, rep->eval_note);
  pdf_end_page (&pdf);

  /* the per-layer table */
  pdf_column_widths (&pdf, rep->rows, widths);
  n_table_pages = MAX (1, (rep->rows->len + QS_REPORT_PDF_ROWS_PER_PAGE - 1) / QS_REPORT_PDF_ROWS_PER_PAGE);
  for (guint page = 0; page < n_table_pages; page++)
    {
      const char *heads[N_COLUMNS];
      g_autofree char *h = n_table_pages > 1
                           ? g_strdup_printf (_("Layers (%u of %u)"), page + 1, n_table_pages)
                           : g_strdup (_("Layers"));

      y = pdf_heading (&pdf, MARGIN, h);
      for (guint c = 0; c < N_COLUMNS; c++)
        heads[c] = _(pdf_heads[c]);
      pdf_table_row (&pdf, y, widths, heads, TRUE);
      y += row_h + 2;
      for (guint i = page * QS_REPORT_PDF_ROWS_PER_PAGE;
           i < MIN (rep->rows->len, (page + 1) * QS_REPORT_PDF_ROWS_PER_PAGE); i++)
        {
          const Row *r = &g_array_index (rep->rows, Row, i);
          char *owned[2];
          const char *cells[N_COLUMNS];

          pdf_row_cells (r, owned, cells);

          if ((i % 2) == 1)
            {
              cairo_set_source_rgb (pdf.cr, 0.96, 0.96, 0.96);
              cairo_rectangle (pdf.cr, MARGIN, y - 2, PAGE_W - 2 * MARGIN, row_h);
              cairo_fill (pdf.cr);
            }
          pdf_table_row (&pdf, y, widths, cells, FALSE);
          g_free (owned[0]);
          g_free (owned[1]);
          y += row_h;
        }
      if (page == n_table_pages - 1)
        pdf_text (&pdf, MARGIN, y + 10, PAGE_W - 2 * MARGIN, "Sans Italic 8", 0.45, FALSE, PANGO_ALIGN_LEFT,
                  _("Bytes and SQNR as the integer program stores the layer: BatchNorm folded in, codes with their scales and zero-points, a 32-bit bias per channel."));
      pdf_end_page (&pdf);
    }

  /* one page of charts per large layer */
  for (guint i = 0; i < rep->charts->len; i++)
    {
      const Chart *c = rep->charts->pdata[i];
      g_autofree char *h = g_strdup_printf (_("Weights of %s"), c->row->name);
      g_autofree char *caption = chart_caption (c);
      QsChartOptions opts;
      double chart_h;

      qs_chart_options_init (&opts);
      y = pdf_heading (&pdf, MARGIN, h);
      y += pdf_text (&pdf, MARGIN, y, PAGE_W - 2 * MARGIN, "Sans 9", 0.3, FALSE, PANGO_ALIGN_LEFT, caption) + 10;
      chart_h = (PAGE_H - MARGIN - 16 - y - 16) / 2;
      for (guint k = 0; k < G_N_ELEMENTS (chart_kinds); k++)
        {
          g_autofree char *ct = chart_title (c, chart_kind_label (k));

          cairo_save (pdf.cr);
          cairo_translate (pdf.cr, MARGIN, y);
          cairo_rectangle (pdf.cr, 0, 0, PAGE_W - 2 * MARGIN, chart_h);
          cairo_clip (pdf.cr);
          if (!qs_chart_draw_figure (pdf.cr, chart_kinds[k], c->result, &opts, ct,
                                     PAGE_W - 2 * MARGIN, chart_h, error))
            {
              cairo_restore (pdf.cr);
              cairo_destroy (pdf.cr);
              cairo_surface_destroy (surface);
              return FALSE;
            }
          cairo_restore (pdf.cr);
          y += chart_h + 16;
        }
      pdf_end_page (&pdf);
    }

  status = cairo_status (pdf.cr);
  cairo_destroy (pdf.cr);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_WRITE,
                   _("Could not draw the report %s: %s"), path, cairo_status_to_string (status));
      return FALSE;
    }
  info->n_pages = pdf.page;
  info->n_table_pages = n_table_pages;
  info->bytes = bytes->len;
  return qs_export_write_file (path, bytes->data, bytes->len, error);
}

/* --- entry points --- */

gboolean
qs_report_write (const QsExportContext *ctx,
                 gboolean               pdf,
                 const char            *path,
                 QsEvalResult          *eval,
                 GString               *summary,
                 QsReportInfo          *info_out,
                 GError               **error)
{
  Report rep;
  QsReportInfo info = { 0 };
  gsize image_bytes = 0;
  gboolean ok;

  g_return_val_if_fail (ctx != NULL && ctx->model != NULL && ctx->config != NULL
                        && ctx->lowering != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  report_collect (&rep, ctx, eval);
  if (pdf)
    ok = write_pdf (&rep, path, &info, error);
  else
    ok = write_html (&rep, path, &info.bytes, &image_bytes, error);
  info.n_layers = rep.rows->len;
  info.n_chart_layers = rep.charts->len;
  info.n_images = rep.eval != NULL ? rep.eval->n_images : 0;
  if (ok && summary != NULL)
    {
      g_autofree char *size = g_format_size (info.bytes);

      if (pdf)
        g_string_append_printf (summary, _("Wrote a PDF report: %u pages, %s: a title page, %u layers in %u table pages, charts of the %u largest layers.\n"),
                                info.n_pages, size, info.n_layers, info.n_table_pages, info.n_chart_layers);
      else
        {
          g_autofree char *isize = g_format_size (image_bytes);

          g_string_append_printf (summary, _("Wrote a self-contained HTML report: %s, %u layers, charts of the %u largest layers (%s of PNG in light and dark).\n"),
                                  size, info.n_layers, info.n_chart_layers, isize);
        }
      if (rep.eval != NULL)
        g_string_append_printf (summary, _("Evaluated on %u images of %s%s.\n"), rep.eval->n_images,
                                rep.eval_data, rep.eval_is_calib ? _(" (the calibration set)") : "");
      else
        g_string_append_printf (summary, "%s\n", rep.eval_note);
    }
  if (info_out != NULL)
    *info_out = info;
  report_clear (&rep);
  return ok;
}

static gboolean
write_report_html (const QsExportContext *ctx,
                   const char            *path,
                   GString               *summary,
                   GError               **error)
{
  return qs_report_write (ctx, FALSE, path, NULL, summary, NULL, error);
}

static gboolean
write_report_pdf (const QsExportContext *ctx,
                  const char            *path,
                  GString               *summary,
                  GError               **error)
{
  return qs_report_write (ctx, TRUE, path, NULL, summary, NULL, error);
}

void
qs_report_register (void)
{
  static const QsExportFormat rows[] = {
    { "report-html", N_("Report (HTML)"),
      N_("A self-contained web page for a design review or a class: summary, cost, per-layer table, weight charts, accuracy"),
      ".html", FALSE, QS_REQUANT_GEMMLOWP, write_report_html, TRUE },
    { "report-pdf", N_("Report (PDF)"),
      N_("The same report as a printable PDF: a title page, the per-layer table, a page of charts per large layer"),
      ".pdf", FALSE, QS_REQUANT_GEMMLOWP, write_report_pdf, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    qs_export_register_format (&rows[i]);
}
