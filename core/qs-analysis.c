/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-analysis.h"
#include "qs-lowering.h"

G_DEFINE_QUARK (qs-analysis-error-quark, qs_analysis_error)

/* The budget axis of the knapsack: kernel bytes are bucketed to at most this many steps
 * (rounded up, so a bucketed solution never exceeds its real budget by a bucket). */
#define BUDGET_BUCKETS 4096

static const char * const default_formats[] = { "int8", "int6", "int4", "int3", "int2", "fp16", NULL };

const char * const *
qs_analysis_default_formats (void)
{
  return default_formats;
}

gboolean
qs_analysis_parse_format (const char  *name,
                          QsQuantSpec *out,
                          GError     **error)
{
  guint bits = 0;
  gboolean tensor = FALSE;
  gboolean pow2 = FALSE;

  g_return_val_if_fail (name != NULL && out != NULL, FALSE);

  if (strcmp (name, "fp32") == 0 || strcmp (name, "fp16") == 0 || strcmp (name, "bf16") == 0
      || strcmp (name, "fp8") == 0)
    {
      qs_quant_spec_init_float (out, strcmp (name, "bf16") == 0 ? QS_FORMAT_BF16
                                     : strcmp (name, "fp32") == 0 ? QS_FORMAT_FP32
                                     : strcmp (name, "fp16") == 0 ? QS_FORMAT_FP16
                                     : QS_FORMAT_FP8_E4M3);
      return TRUE;
    }
  if (g_str_has_prefix (name, "int"))
    {
      char *end = NULL;

      bits = (guint) g_ascii_strtoull (name + 3, &end, 10);
      if (end != NULL && g_str_has_prefix (end, "-tensor"))
        {
          tensor = TRUE;
          end += strlen ("-tensor");
        }
      if (end != NULL && strcmp (end, "-pow2") == 0)
        {
          pow2 = TRUE;
          end += strlen ("-pow2");
        }
      if (end == NULL || *end != '\0')
        bits = 0;
    }
  if (bits < 2 || bits > 8)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID,
                   _("Unknown weight format “%s” (use int2 … int8, int8-tensor, int4-tensor, a “-pow2” suffix for power-of-two scales, fp16, bf16, fp8 or fp32)"),
                   name);
      return FALSE;
    }
  /* TFLite's weights: signed, symmetric, narrow range */
  qs_quant_spec_init (out);
  out->bits = bits;
  out->granularity = tensor ? QS_GRANULARITY_TENSOR : QS_GRANULARITY_CHANNEL;
  out->pow2_scale = pow2;   /* fixed-point hardware: scales rounded up to powers of two */
  return TRUE;
}

/* --- sensitivity --- */

QsSensitivity *
qs_sensitivity_ref (QsSensitivity *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  g_atomic_int_inc (&s->ref_count);
  return s;
}

void
qs_sensitivity_unref (QsSensitivity *s)
{
  g_return_if_fail (s != NULL);
  if (!g_atomic_int_dec_and_test (&s->ref_count))
    return;
  for (guint i = 0; i < s->n_layers; i++)
    {
      QsSensitivityLayer *l = &s->layers[i];

      g_free (l->layer);
      g_strfreev (l->formats);
      g_free (l->drop);
      g_free (l->bytes);
      g_free (l->sqnr_db);
      g_free (l->weight_bits);
    }
  g_free (s->layers);
  g_free (s->all_drop);
  g_free (s->fingerprint);
  g_free (s);
}

static gboolean
dataset_is_labelled (QsDataset *dataset,
                     guint      n)
{
  for (guint i = 0; i < n; i++)
    if (qs_dataset_get_label (dataset, i) < 0)
      return FALSE;
  return n > 0;
}

/* The drop of a config in points: float top-1 minus quantized top-1, or the disagreement
 * with the float model without labels. */
static gboolean
measure (QsModel                 *model,
         QsConfig                *config,
         QsDataset               *dataset,
         const QsAnalysisOptions *options,
         gboolean                 labelled,
         double                  *drop,
         double                  *top1,
         GCancellable            *cancellable,
         GError                 **error)
{
  QsEvalOptions eo = { 0 };
  g_autoptr(QsEvalResult) r = NULL;

  eo.limit = options->n_images ? options->n_images : 1000;
  eo.n_threads = options->n_threads;
  eo.cache = options->cache;
  r = qs_eval_run (model, config, dataset, &eo, NULL, NULL, cancellable, error);
  if (r == NULL)
    return FALSE;
  *top1 = labelled ? r->quant_top1 : NAN;
  *drop = labelled ? 100.0 * (r->float_top1 - r->quant_top1) : 100.0 * (1.0 - r->agreement);
  return TRUE;
}

/* Every kernel layer at spec (weights only) except skip, which stays float; skip NULL:
 * all of them. */
static QsConfig *
all_but_one_config (QsSensitivity     *s,
                    const char        *skip,
                    const QsQuantSpec *spec)
{
  QsConfig *config = qs_config_new_from_preset ("fp32", NULL);

  for (guint i = 0; i < s->n_layers; i++)
    {
      QsLayerConfig lc;

      if (g_strcmp0 (s->layers[i].layer, skip) == 0)
        continue;
      qs_config_get_layer (config, s->layers[i].layer, &lc);
      lc.weight = *spec;
      lc.quantize_activations = FALSE;
      qs_config_set_layer (config, s->layers[i].layer, &lc);
    }
  return config;
}

static QsConfig *
one_layer_config (const char        *layer,
                  const QsQuantSpec *spec)
{
  QsConfig *config = qs_config_new_from_preset ("fp32", NULL);
  QsLayerConfig lc;

  qs_config_get_layer (config, layer, &lc);
  lc.weight = *spec;
  lc.quantize_activations = FALSE;
  qs_config_set_layer (config, layer, &lc);
  return config;
}

/* --- what a sweep measures: its fingerprint, the disk cache ---
 * The base hash covers the model (its file's SHA-256, or its kernels when it has no file),
 * the evaluation inputs after preprocessing and the labels of the first n_images, the image
 * count, reverse and the measuring code's revision; the fingerprint adds the format list,
 * a cache key the one format. */

/* Bump when a measurement's arithmetic changes (cached drops would differ). */
#define SENSITIVITY_REVISION 1
#define SENSITIVITY_CACHE_VERSION 1

char *
qs_sensitivity_cache_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "quantscope", "sensitivity", NULL);
}

static char *
sweep_base_hash (QsModel    *model,
                 QsDataset  *dataset,
                 guint       n_images,
                 gboolean    reverse,
                 GError    **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *model_sum = qs_model_get_checksum (model);
  g_autofree char *head = NULL;
  g_autofree float *buf = NULL;
  gsize shape[QS_TENSOR_MAX_DIMS], in_size = 1;
  guint rank = qs_model_get_input_shape (model, shape);
  const guint chunk = 64;

  head = g_strdup_printf ("quantscope sensitivity\nrevision %d\nimages %u\nreverse %d\nmodel %s\n",
                          SENSITIVITY_REVISION, n_images, reverse ? 1 : 0,
                          model_sum != NULL ? model_sum : "(kernels)");
  g_checksum_update (sum, (const guchar *) head, strlen (head));
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *layer = qs_model_get_layer (model, i);
      QsTensor *kernel = qs_layer_get_kernel (layer);

      g_checksum_update (sum, (const guchar *) layer->name, strlen (layer->name) + 1);
      if (model_sum == NULL && kernel != NULL)
        g_checksum_update (sum, (const guchar *) kernel->data, kernel->n_elements * sizeof (float));
    }
  for (guint i = 0; i < rank; i++)
    in_size *= shape[i];
  buf = g_try_new (float, (gsize) chunk * in_size);
  if (buf == NULL)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID,
                   _("Not enough memory to read the evaluation images"));
      return NULL;
    }
  for (guint start = 0; start < n_images; start += chunk)
    {
      guint n = MIN (chunk, n_images - start);

      if (!qs_dataset_fill_inputs (dataset, model, start, n, buf, error))
        return NULL;
      g_checksum_update (sum, (const guchar *) buf, (gsize) n * in_size * sizeof (float));
    }
  for (guint i = 0; i < n_images; i++)
    {
      gint32 label = qs_dataset_get_label (dataset, i);

      g_checksum_update (sum, (const guchar *) &label, sizeof label);
    }
  return g_strdup (g_checksum_get_string (sum));
}

static char *
sweep_hash_with (const char         *base,
                 const char         *what,
                 const char * const *names)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  g_checksum_update (sum, (const guchar *) base, strlen (base));
  g_checksum_update (sum, (const guchar *) what, strlen (what) + 1);
  for (guint i = 0; names[i] != NULL; i++)
    g_checksum_update (sum, (const guchar *) names[i], strlen (names[i]) + 1);
  return g_strdup (g_checksum_get_string (sum));
}

char *
qs_sensitivity_fingerprint (QsModel                 *model,
                            QsDataset               *dataset,
                            const char * const      *formats,
                            const QsAnalysisOptions *options,
                            GError                 **error)
{
  g_autofree char *base = NULL;
  guint n_images;

  g_return_val_if_fail (QS_IS_MODEL (model) && QS_IS_DATASET (dataset), NULL);

  n_images = MIN (options != NULL && options->n_images ? options->n_images : 1000,
                  qs_dataset_get_n_images (dataset));
  base = sweep_base_hash (model, dataset, n_images, options != NULL && options->reverse, error);
  if (base == NULL)
    return NULL;
  return sweep_hash_with (base, "formats", formats != NULL ? formats : default_formats);
}

/* A cache file: {"version", "key", "format", "layers": {name: drop}, "all_drop"}. Anything
 * that does not match (version, key, format, the layer list, a drop that is not a finite
 * number) is a miss and is rewritten. */
static gboolean
cache_read (const char    *dir,
            const char    *key,
            QsSensitivity *s,
            guint          f)
{
  g_autofree char *path = g_build_filename (dir, key, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree double *drops = g_new (double, s->n_layers);
  JsonObject *root, *layers;
  JsonNode *node;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || !json_parser_load_from_file (parser, path, NULL))
    return FALSE;
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  root = json_node_get_object (node);
  if (json_object_get_int_member_with_default (root, "version", 0) != SENSITIVITY_CACHE_VERSION
      || g_strcmp0 (json_object_get_string_member_with_default (root, "key", ""), key) != 0
      || g_strcmp0 (json_object_get_string_member_with_default (root, "format", ""), s->layers[0].formats[f]) != 0
      || !json_object_has_member (root, "layers")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "layers")))
    return FALSE;
  layers = json_object_get_object_member (root, "layers");
  if (json_object_get_size (layers) != s->n_layers)
    return FALSE;
  for (guint i = 0; i < s->n_layers; i++)
    {
      JsonNode *v = json_object_get_member (layers, s->layers[i].layer);

      if (v == NULL || json_node_get_value_type (v) != G_TYPE_DOUBLE
          || !isfinite (json_node_get_double (v)))
        return FALSE;
      drops[i] = json_node_get_double (v);
    }
  if (s->reverse)
    {
      node = json_object_get_member (root, "all_drop");
      if (node == NULL || json_node_get_value_type (node) != G_TYPE_DOUBLE
          || !isfinite (json_node_get_double (node)))
        return FALSE;
      s->all_drop[f] = json_node_get_double (node);
    }
  for (guint i = 0; i < s->n_layers; i++)
    s->layers[i].drop[f] = drops[i];
  return TRUE;
}

/* Best effort: a cache that cannot be written is only slower. */
static void
cache_write (const char    *dir,
             const char    *key,
             QsSensitivity *s,
             guint          f)
{
  g_autofree char *path = g_build_filename (dir, key, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    return;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, SENSITIVITY_CACHE_VERSION);
  json_builder_set_member_name (b, "key");
  json_builder_add_string_value (b, key);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, s->layers[0].formats[f]);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_object (b);
  for (guint i = 0; i < s->n_layers; i++)
    {
      json_builder_set_member_name (b, s->layers[i].layer);
      json_builder_add_double_value (b, s->layers[i].drop[f]);
    }
  json_builder_end_object (b);
  if (s->reverse)
    {
      json_builder_set_member_name (b, "all_drop");
      json_builder_add_double_value (b, s->all_drop[f]);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  data = json_generator_to_data (gen, NULL);
  if (!g_file_set_contents (path, data, -1, &error))
    g_debug ("sensitivity cache %s: %s", path, error->message);
}

QsSensitivity *
qs_sensitivity_run (QsModel                 *model,
                    QsDataset               *dataset,
                    const char * const      *formats,
                    const QsAnalysisOptions *options,
                    QsProgressFunc           progress,
                    gpointer                 progress_data,
                    GCancellable            *cancellable,
                    GError                 **error)
{
  QsAnalysisOptions opts = { 0 };
  g_autoptr(QsSensitivity) s = NULL;
  g_autoptr(QsEvalCache) own_cache = NULL;
  g_autoptr(GArray) specs = g_array_new (FALSE, FALSE, sizeof (QsQuantSpec));
  GArray *layers;
  guint n_formats, done = 0, total;
  gint64 t0 = g_get_monotonic_time ();
  g_autofree char *base = NULL;
  g_autofree gboolean *cached = NULL;
  g_auto(GStrv) keys = NULL;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (QS_IS_DATASET (dataset), NULL);

  if (options != NULL)
    opts = *options;
  if (opts.cache == NULL)
    opts.cache = own_cache = qs_eval_cache_new ();
  if (formats == NULL)
    formats = default_formats;
  n_formats = g_strv_length ((char **) formats);
  for (guint f = 0; f < n_formats; f++)
    {
      QsQuantSpec spec;

      if (!qs_analysis_parse_format (formats[f], &spec, error))
        return NULL;
      g_array_append_val (specs, spec);
    }
  if (n_formats == 0)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID, _("No weight formats to try"));
      return NULL;
    }

  s = g_new0 (QsSensitivity, 1);
  s->ref_count = 1;
  s->n_images = MIN (opts.n_images ? opts.n_images : 1000, qs_dataset_get_n_images (dataset));
  s->labelled = dataset_is_labelled (dataset, s->n_images);
  layers = g_array_new (FALSE, TRUE, sizeof (QsSensitivityLayer));
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    if (qs_layer_get_kernel (qs_model_get_layer (model, i)) != NULL)
      {
        QsSensitivityLayer l = { 0 };

        l.layer = g_strdup (qs_model_get_layer (model, i)->name);
        g_array_append_val (layers, l);
      }
  s->n_layers = layers->len;
  s->layers = (QsSensitivityLayer *) g_array_free (layers, FALSE);
  {
    /* MACs per layer from the all-float program (0 when the model cannot run) */
    g_autoptr(QsLowering) lw = qs_lowering_new (model, NULL, NULL);

    /* every step with a kernel counts toward the model layer it computes (both stages of a
     * SeparableConv2D) */
    for (guint st_i = 0; lw != NULL && st_i < qs_lowering_get_n_steps (lw); st_i++)
      {
        const QsLoweredStep *st = qs_lowering_get_step (lw, st_i);
        const char *name;

        if (st->kernel == NULL || st->layer < 0)
          continue;
        name = qs_model_get_layer (model, (guint) st->layer)->name;
        for (guint i = 0; i < s->n_layers; i++)
          if (strcmp (s->layers[i].layer, name) == 0)
            s->layers[i].macs += (guint64) st->oh * st->ow * st->n_out * st->k;
      }
  }
  if (s->n_layers == 0)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID,
                   _("The model has no layer with weights to analyse"));
      return NULL;
    }

  {
    g_autoptr(QsConfig) fp32 = qs_config_new_from_preset ("fp32", NULL);
    QsEvalOptions eo = { .limit = s->n_images, .n_threads = opts.n_threads, .float_only = TRUE,
                         .cache = opts.cache };
    g_autoptr(QsEvalResult) r = qs_eval_run (model, fp32, dataset, &eo, NULL, NULL, cancellable, error);

    if (r == NULL)
      return NULL;
    s->float_top1 = s->labelled ? r->float_top1 : NAN;
  }

  s->reverse = opts.reverse;
  if (opts.shard_count > 0 && opts.shard_index >= opts.shard_count)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID,
                   _("Slice %u of %u does not exist (slices are numbered from 0 to %u)"),
                   opts.shard_index, opts.shard_count, opts.shard_count - 1);
      return NULL;
    }
  s->shard_index = opts.shard_count > 0 ? opts.shard_index : 0;
  s->shard_count = opts.shard_count;
  base = sweep_base_hash (model, dataset, s->n_images, s->reverse, error);
  if (base == NULL)
    return NULL;
  s->fingerprint = sweep_hash_with (base, "formats", formats);
  if (opts.reverse)
    s->all_drop = g_new (double, n_formats);
  for (guint i = 0; i < s->n_layers; i++)
    {
      s->layers[i].n_formats = n_formats;
      s->layers[i].formats = g_strdupv ((char **) formats);
      s->layers[i].drop = g_new (double, n_formats);
    }
  cached = g_new0 (gboolean, n_formats);
  keys = g_new0 (char *, n_formats + 1);
  for (guint f = 0; f < n_formats; f++)
    {
      const char *one[] = { formats[f], NULL };

      keys[f] = sweep_hash_with (base, "format", one);
      cached[f] = opts.cache_dir != NULL && cache_read (opts.cache_dir, keys[f], s, f);
      s->n_cached += cached[f];
    }

  /* the measurements this slice takes: item numbers as QsAnalysisOptions says */
#define OWNED(item) (opts.shard_count == 0 || (item) % opts.shard_count == opts.shard_index)
  total = 0;
  for (guint item = 0; item < (s->n_layers + (opts.reverse ? 1 : 0)) * n_formats; item++)
    total += OWNED (item) && !cached[item % n_formats];
  total = MAX (total, 1);
  if (opts.reverse)
    {
      for (guint f = 0; f < n_formats; f++)
        {
          g_autoptr(QsConfig) config = NULL;
          double top1;

          if (cached[f])
            continue;
          s->all_drop[f] = NAN;
          if (!OWNED (f))
            continue;
          config = all_but_one_config (s, NULL, &g_array_index (specs, QsQuantSpec, f));
          if (!measure (model, config, dataset, &opts, s->labelled, &s->all_drop[f], &top1,
                        cancellable, error))
            return NULL;
          if (progress != NULL)
            progress ((double) ++done / total, progress_data);
        }
    }
  for (guint i = 0; i < s->n_layers; i++)
    {
      QsSensitivityLayer *l = &s->layers[i];
      QsTensor *kernel = qs_layer_get_kernel (qs_model_find_layer (model, l->layer));

      l->bytes = g_new (guint64, n_formats);
      l->sqnr_db = g_new (double, n_formats);
      l->weight_bits = g_new (guint, n_formats);
      l->float_bytes = (guint64) kernel->n_elements * 4;
      for (guint f = 0; f < n_formats; f++)
        {
          const QsQuantSpec *spec = &g_array_index (specs, QsQuantSpec, f);
          g_autoptr(QsConfig) config = opts.reverse ? all_but_one_config (s, l->layer, spec)
                                                    : one_layer_config (l->layer, spec);
          QsQuantSpec resolved;
          QsQuantOptions qo = { 0 };
          g_autoptr(QsQuantResult) q = NULL;
          double top1;

          qs_config_resolve_weight_spec (spec, kernel, &resolved);
          l->weight_bits[f] = spec->format == QS_FORMAT_INT ? spec->bits
                              : spec->format == QS_FORMAT_FP16 || spec->format == QS_FORMAT_BF16 ? 16
                              : spec->format == QS_FORMAT_FP8_E4M3 ? 8 : 32;
          l->bytes[f] = (qs_lowering_kernel_storage_bits (kernel, &resolved) + 7) / 8;
          q = qs_quant_run (kernel, &resolved, &qo, cancellable, error);
          if (q == NULL)
            return NULL;
          l->sqnr_db[f] = q->stats.sqnr_db;
          if (cached[f])
            continue;
          l->drop[f] = NAN;
          if (!OWNED ((opts.reverse ? n_formats : 0) + i * n_formats + f))
            continue;
          if (!measure (model, config, dataset, &opts, s->labelled, &l->drop[f], &top1,
                        cancellable, error))
            return NULL;
          if (progress != NULL)
            progress ((double) ++done / total, progress_data);
        }
    }
#undef OWNED
  /* a format every measurement of which this run took goes to the cache */
  for (guint f = 0; opts.cache_dir != NULL && opts.shard_count <= 1 && f < n_formats; f++)
    if (!cached[f])
      cache_write (opts.cache_dir, keys[f], s, f);
  s->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return g_steal_pointer (&s);
}

/* --- the front --- */

static gint point_cmp_bytes (gconstpointer a,
                             gconstpointer b);

QsFront *
qs_front_ref (QsFront *front)
{
  g_return_val_if_fail (front != NULL, NULL);
  g_atomic_int_inc (&front->ref_count);
  return front;
}

void
qs_front_unref (QsFront *front)
{
  g_return_if_fail (front != NULL);
  if (!g_atomic_int_dec_and_test (&front->ref_count))
    return;
  for (guint i = 0; i < front->n_points; i++)
    g_free (front->points[i].choice);   /* the names belong to front->layers' sensitivity copy */
  g_free (front->points);
  g_strfreev (front->layers);
  g_free (front);
}

/* Multiple-choice knapsack over the layers: best[b] = least summed drop of the layers so far
 * with bucketed bytes exactly b; pick[l][b] = the format layer l took. Kernel bytes are
 * bucketed by rounding up, so the bytes reported are always the exact sum. */
QsFront *
qs_front_build (QsSensitivity *s,
                guint          max_points)
{
  return qs_front_build_full (s, QS_FRONT_COST_BYTES, 8, max_points);
}

static guint64
layer_bitops (const QsSensitivityLayer *l,
              guint                     f,
              guint                     act_bits)
{
  /* a sensitivity built by hand may leave the operations out */
  return l->weight_bits != NULL ? l->macs * l->weight_bits[f] * act_bits : 0;
}

QsFront *
qs_front_build_full (QsSensitivity *s,
                     QsFrontCost    cost_axis,
                     guint          act_bits,
                     guint          max_points)
{
  guint L, F;
  guint64 max_total = 0, bucket;
  guint B;
  g_autofree double *best = NULL, *next = NULL;
  g_autofree guint8 *pick = NULL;
  g_autofree guint64 *exact = NULL, *next_exact = NULL;
  g_autofree guint64 *cost = NULL;   /* cost[l * F + f] on the chosen axis */
  GArray *points;
  QsFront *front;
  double best_so_far = INFINITY;

  g_return_val_if_fail (s != NULL && s->n_layers > 0, NULL);

  L = s->n_layers;
  F = s->layers[0].n_formats;
  cost = g_new (guint64, (gsize) L * F);
  for (guint l = 0; l < L; l++)
    for (guint f = 0; f < F; f++)
      cost[l * F + f] = cost_axis == QS_FRONT_COST_BITOPS ? layer_bitops (&s->layers[l], f, act_bits)
                                                          : s->layers[l].bytes[f];
  for (guint l = 0; l < L; l++)
    {
      guint64 m = 0;

      for (guint f = 0; f < F; f++)
        m = MAX (m, cost[l * F + f]);
      max_total += m;
    }
  bucket = MAX ((max_total + BUDGET_BUCKETS - 1) / BUDGET_BUCKETS, 1);
  B = (guint) (max_total / bucket) + L + 1;
  best = g_new (double, B);
  next = g_new (double, B);
  exact = g_new0 (guint64, B);
  next_exact = g_new0 (guint64, B);
  pick = g_new (guint8, (gsize) L * B);
  for (guint b = 0; b < B; b++)
    best[b] = INFINITY;
  best[0] = 0.0;
  for (guint l = 0; l < L; l++)
    {
      const QsSensitivityLayer *sl = &s->layers[l];

      for (guint b = 0; b < B; b++)
        next[b] = INFINITY;
      for (guint b = 0; b < B; b++)
        {
          if (!isfinite (best[b]))
            continue;
          for (guint f = 0; f < F; f++)
            {
              guint64 c = cost[l * F + f];
              guint nb = b + (guint) ((c + bucket - 1) / bucket);
              /* a format that measured better than float counts as no loss: the additive
               * model must not chase noise */
              double d = best[b] + MAX (sl->drop[f], 0.0);

              if (nb < B && (d < next[nb] || (d == next[nb] && exact[b] + c < next_exact[nb])))
                {
                  next[nb] = d;
                  next_exact[nb] = exact[b] + c;
                  pick[(gsize) l * B + nb] = (guint8) f;
                }
            }
        }
      memcpy (best, next, B * sizeof (double));
      memcpy (exact, next_exact, B * sizeof (guint64));
    }

  points = g_array_new (FALSE, TRUE, sizeof (QsFrontPoint));
  for (guint b = 0; b < B; b++)
    {
      QsFrontPoint p = { 0 };
      guint cur = b;

      if (!isfinite (best[b]) || best[b] >= best_so_far - 1e-9)
        continue;
      best_so_far = best[b];
      p.predicted_drop = best[b];
      p.measured_drop = NAN;
      p.measured_top1 = NAN;
      p.choice = g_new0 (char *, L + 1);
      for (guint l = L; l-- > 0;)
        {
          guint f = pick[(gsize) l * B + cur];

          p.choice[l] = s->layers[l].formats[f];
          p.weight_bytes += s->layers[l].bytes[f];
          p.bit_ops += layer_bitops (&s->layers[l], f, act_bits);
          cur -= (guint) ((cost[l * F + f] + bucket - 1) / bucket);
        }
      g_array_append_val (points, p);
    }

  /* thin to max_points, keeping the cheapest and the best */
  if (max_points >= 2 && points->len > max_points)
    {
      GArray *thin = g_array_new (FALSE, TRUE, sizeof (QsFrontPoint));
      guint n = points->len;

      for (guint k = 0; k < max_points; k++)
        {
          guint idx = (guint) llround ((double) k * (n - 1) / (max_points - 1));

          g_array_append_val (thin, g_array_index (points, QsFrontPoint, idx));
          g_array_index (points, QsFrontPoint, idx).choice = NULL;
        }
      for (guint k = 0; k < n; k++)
        g_free (g_array_index (points, QsFrontPoint, k).choice);
      g_array_unref (points);
      points = thin;
    }

  front = g_new0 (QsFront, 1);
  front->ref_count = 1;
  front->act_bits = act_bits;
  front->n_layers = L;
  front->layers = g_new0 (char *, L + 1);
  for (guint l = 0; l < L; l++)
    {
      front->layers[l] = g_strdup (s->layers[l].layer);
      front->float_bytes += s->layers[l].float_bytes;
    }
  /* the choices point into the sensitivity's format names: make them the front's own */
  front->n_points = points->len;
  front->points = (QsFrontPoint *) g_array_free (points, FALSE);
  for (guint i = 0; i < front->n_points; i++)
    for (guint l = 0; l < L; l++)
      front->points[i].choice[l] = (char *) g_intern_string (front->points[i].choice[l]);
  if (cost_axis != QS_FRONT_COST_BYTES)
    qsort (front->points, front->n_points, sizeof (QsFrontPoint), point_cmp_bytes);
  return front;
}

QsConfig *
qs_front_point_to_config (QsFront            *front,
                          const QsFrontPoint *point)
{
  QsConfig *config;

  g_return_val_if_fail (front != NULL && point != NULL, NULL);

  config = qs_config_new_from_preset ("fp32", NULL);
  for (guint l = 0; l < front->n_layers; l++)
    {
      QsLayerConfig lc;

      qs_config_get_layer (config, front->layers[l], &lc);
      if (!qs_analysis_parse_format (point->choice[l], &lc.weight, NULL))
        g_assert_not_reached ();
      lc.quantize_activations = FALSE;
      qs_config_set_layer (config, front->layers[l], &lc);
    }
  return config;
}

gboolean
qs_front_verify (QsFront                 *front,
                 QsModel                 *model,
                 QsDataset               *dataset,
                 QsSensitivity           *sensitivity,
                 const QsAnalysisOptions *options,
                 GCancellable            *cancellable,
                 GError                 **error)
{
  QsAnalysisOptions opts = { 0 };
  g_autoptr(QsEvalCache) own_cache = NULL;

  g_return_val_if_fail (front != NULL && sensitivity != NULL, FALSE);

  if (options != NULL)
    opts = *options;
  if (opts.cache == NULL)
    opts.cache = own_cache = qs_eval_cache_new ();
  opts.n_images = sensitivity->n_images;
  for (guint i = 0; i < front->n_points; i++)
    {
      QsFrontPoint *p = &front->points[i];
      g_autoptr(QsConfig) config = qs_front_point_to_config (front, p);

      if (!measure (model, config, dataset, &opts, sensitivity->labelled, &p->measured_drop,
                    &p->measured_top1, cancellable, error))
        return FALSE;
    }
  return TRUE;
}

void
qs_front_add_uniform (QsFront       *front,
                      QsSensitivity *s)
{
  guint F;
  guint n_added = 0;

  g_return_if_fail (front != NULL && s != NULL && s->n_layers == front->n_layers);

  F = s->layers[0].n_formats;
  front->points = g_renew (QsFrontPoint, front->points, front->n_points + F);
  for (guint f = 0; f < F; f++)
    {
      QsFrontPoint p = { 0 };
      gboolean present = FALSE;

      for (guint i = 0; i < front->n_points + n_added && !present; i++)
        {
          present = TRUE;
          for (guint l = 0; l < front->n_layers && present; l++)
            present = strcmp (front->points[i].choice[l], s->layers[l].formats[f]) == 0;
        }
      if (present)
        continue;
      p.measured_drop = NAN;
      p.measured_top1 = NAN;
      p.uniform = TRUE;
      p.choice = g_new0 (char *, front->n_layers + 1);
      for (guint l = 0; l < front->n_layers; l++)
        {
          p.choice[l] = (char *) g_intern_string (s->layers[l].formats[f]);
          p.weight_bytes += s->layers[l].bytes[f];
          p.predicted_drop += MAX (s->layers[l].drop[f], 0.0);
          p.bit_ops += layer_bitops (&s->layers[l], f, front->act_bits);
        }
      front->points[front->n_points + n_added++] = p;
    }
  front->n_points += n_added;
  qsort (front->points, front->n_points, sizeof (QsFrontPoint), point_cmp_bytes);
}

static gint
point_cmp_bytes (gconstpointer a,
                 gconstpointer b)
{
  const QsFrontPoint *pa = a, *pb = b;

  return pa->weight_bytes < pb->weight_bytes ? -1 : pa->weight_bytes > pb->weight_bytes;
}

static guint
format_index (const QsSensitivityLayer *l,
              const char               *name)
{
  for (guint f = 0; f < l->n_formats; f++)
    if (strcmp (l->formats[f], name) == 0)
      return f;
  g_assert_not_reached ();
  return 0;
}

/* The format of layer l that is the next larger than f in bytes (ties: the better drop),
 * or -1. */
static gint
next_larger (const QsSensitivityLayer *l,
             guint                     f)
{
  gint best = -1;

  for (guint g = 0; g < l->n_formats; g++)
    if (l->bytes[g] > l->bytes[f]
        && (best < 0 || l->bytes[g] < l->bytes[best]
            || (l->bytes[g] == l->bytes[best] && l->drop[g] < l->drop[best])))
      best = (gint) g;
  return best;
}

gboolean
qs_front_refine (QsFront                 *front,
                 QsModel                 *model,
                 QsDataset               *dataset,
                 QsSensitivity           *s,
                 double                   max_drop,
                 const QsAnalysisOptions *options,
                 GCancellable            *cancellable,
                 GError                 **error)
{
  QsAnalysisOptions opts = { 0 };
  g_autoptr(QsEvalCache) own_cache = NULL;
  g_autoptr(GArray) added = g_array_new (FALSE, TRUE, sizeof (QsFrontPoint));
  g_autofree guint *cur = NULL;
  const QsFrontPoint *start = NULL;
  double cur_drop;
  guint64 cur_bytes;

  g_return_val_if_fail (front != NULL && s != NULL, FALSE);

  if (options != NULL)
    opts = *options;
  if (opts.cache == NULL)
    opts.cache = own_cache = qs_eval_cache_new ();
  opts.n_images = s->n_images;

  /* already met, or nothing measured: nothing to refine */
  for (guint i = 0; i < front->n_points; i++)
    {
      const QsFrontPoint *p = &front->points[i];

      if (isnan (p->measured_drop))
        return TRUE;
      if (p->measured_drop <= max_drop)
        return TRUE;
      if (start == NULL || p->measured_drop < start->measured_drop)
        start = p;
    }
  if (start == NULL)
    return TRUE;
  cur = g_new (guint, front->n_layers);
  for (guint l = 0; l < front->n_layers; l++)
    cur[l] = format_index (&s->layers[l], start->choice[l]);
  cur_drop = start->measured_drop;
  cur_bytes = start->weight_bytes;

  while (cur_drop > max_drop)
    {
      gint best_l = -1, best_f = -1;
      double best_score = -INFINITY, best_drop = 0, best_top1 = NAN;

      for (guint l = 0; l < front->n_layers; l++)
        {
          gint f = next_larger (&s->layers[l], cur[l]);
          QsFrontPoint trial = { 0 };
          g_autofree char **choice = NULL;
          g_autoptr(QsConfig) config = NULL;
          double drop, top1, score;

          if (f < 0)
            continue;
          choice = g_new0 (char *, front->n_layers + 1);
          for (guint k = 0; k < front->n_layers; k++)
            choice[k] = s->layers[k].formats[k == l ? (guint) f : cur[k]];
          trial.choice = choice;
          config = qs_front_point_to_config (front, &trial);
          if (!measure (model, config, dataset, &opts, s->labelled, &drop, &top1, cancellable, error))
            return FALSE;
          score = (cur_drop - drop) / (double) (s->layers[l].bytes[f] - s->layers[l].bytes[cur[l]]);
          if (score > best_score)
            {
              best_score = score;
              best_l = (gint) l;
              best_f = f;
              best_drop = drop;
              best_top1 = top1;
            }
        }
      if (best_l < 0)
        break;
      cur_bytes += s->layers[best_l].bytes[best_f] - s->layers[best_l].bytes[cur[best_l]];
      cur[best_l] = (guint) best_f;
      cur_drop = best_drop;
      {
        QsFrontPoint p = { 0 };

        p.weight_bytes = cur_bytes;
        p.measured_drop = best_drop;
        p.measured_top1 = best_top1;
        p.predicted_drop = 0.0;
        p.choice = g_new0 (char *, front->n_layers + 1);
        for (guint k = 0; k < front->n_layers; k++)
          {
            p.choice[k] = (char *) g_intern_string (s->layers[k].formats[cur[k]]);
            p.predicted_drop += MAX (s->layers[k].drop[cur[k]], 0.0);
            p.bit_ops += layer_bitops (&s->layers[k], cur[k], front->act_bits);
          }
        p.refined = TRUE;
        g_array_append_val (added, p);
      }
    }
  if (added->len > 0)
    {
      front->points = g_renew (QsFrontPoint, front->points, front->n_points + added->len);
      memcpy (front->points + front->n_points, added->data, added->len * sizeof (QsFrontPoint));
      front->n_points += added->len;
      qsort (front->points, front->n_points, sizeof (QsFrontPoint), point_cmp_bytes);
    }
  return TRUE;
}

static double
point_drop (const QsFrontPoint *p)
{
  return isnan (p->measured_drop) ? p->predicted_drop : p->measured_drop;
}

const QsFrontPoint *
qs_front_choose (QsFront  *front,
                 guint64   max_bytes,
                 double    max_drop,
                 GError  **error)
{
  return qs_front_choose_full (front, max_bytes, 0, max_drop, error);
}

const QsFrontPoint *
qs_front_choose_full (QsFront  *front,
                      guint64   max_bytes,
                      guint64   max_bitops,
                      double    max_drop,
                      GError  **error)
{
  const QsFrontPoint *chosen = NULL;

  g_return_val_if_fail (front != NULL, NULL);

  if (max_bitops > 0)
    {
      for (guint i = 0; i < front->n_points; i++)
        {
          const QsFrontPoint *p = &front->points[i];

          if (p->bit_ops <= max_bitops && (max_bytes == 0 || p->weight_bytes <= max_bytes)
              && (chosen == NULL || point_drop (p) < point_drop (chosen)))
            chosen = p;
        }
      if (chosen == NULL)
        {
          guint64 least = G_MAXUINT64;

          for (guint i = 0; i < front->n_points; i++)
            least = MIN (least, front->points[i].bit_ops);
          g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE,
                       _("No mix of the formats fits into %" PRIu64 " bit-operations per image (the smallest takes %" PRIu64 ")"),
                       max_bitops, front->n_points ? least : 0);
        }
      return chosen;
    }
  for (guint i = 0; i < front->n_points; i++)
    {
      const QsFrontPoint *p = &front->points[i];

      if (max_bytes > 0)
        {
          if (p->weight_bytes <= max_bytes && (chosen == NULL || point_drop (p) < point_drop (chosen)))
            chosen = p;
        }
      else if (max_drop >= 0.0 && point_drop (p) <= max_drop
               && (chosen == NULL || p->weight_bytes < chosen->weight_bytes))
        chosen = p;
    }
  if (chosen == NULL)
    {
      if (max_bytes > 0)
        g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE,
                     _("No mix of the formats fits the kernels into %" PRIu64 " bytes (the smallest takes %" PRIu64 ")"),
                     max_bytes, front->n_points ? front->points[0].weight_bytes : 0);
      else
        g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE,
                     _("No mix of the formats loses at most %.2f points"), max_drop);
    }
  return chosen;
}

/* --- peak activations and budgets --- */

gboolean
qs_front_measure_activations (QsFront  *front,
                              QsModel  *model,
                              GError  **error)
{
  g_autoptr(QsConfig) w8a8 = qs_config_new_from_preset ("w8a8", error);

  g_return_val_if_fail (front != NULL && QS_IS_MODEL (model), FALSE);

  if (w8a8 == NULL)
    return FALSE;
  for (guint i = 0; i < front->n_points; i++)
    {
      QsFrontPoint *p = &front->points[i];
      g_autoptr(QsConfig) config = qs_config_copy (w8a8);
      QsCost cost;

      /* the w8a8 deployment (its input and activation handling) with the point's weights */
      for (guint l = 0; l < front->n_layers; l++)
        {
          QsLayerConfig lc;

          qs_config_get_layer (config, front->layers[l], &lc);
          if (!qs_analysis_parse_format (p->choice[l], &lc.weight, error))
            return FALSE;
          lc.quantize_activations = lc.weight.format == QS_FORMAT_INT;
          lc.activation.bits = MIN (front->act_bits, 8);
          qs_config_set_layer (config, front->layers[l], &lc);
        }
      qs_cost_compute (model, config, &cost);
      if (!cost.has_program)
        {
          g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID,
                       _("The model cannot run, so it has no activation sizes to budget"));
          return FALSE;
        }
      p->peak_act_bytes = cost.peak_activation_bytes;
    }
  return TRUE;
}

const QsFrontPoint *
qs_front_choose_budget (QsFront             *front,
                        const QsFrontBudget *budget,
                        GError             **error)
{
  const QsFrontPoint *chosen = NULL;
  gboolean smallest = budget->max_drop >= 0.0 && budget->max_bytes == 0 && budget->max_bitops == 0;
  guint64 least_act = G_MAXUINT64;

  g_return_val_if_fail (front != NULL && budget != NULL, NULL);

  if (budget->max_act_bytes == 0)
    return qs_front_choose_full (front, budget->max_bytes, budget->max_bitops, budget->max_drop, error);

  for (guint i = 0; i < front->n_points; i++)
    {
      const QsFrontPoint *p = &front->points[i];

      least_act = MIN (least_act, p->peak_act_bytes);
      if (p->peak_act_bytes > budget->max_act_bytes
          || (budget->max_bytes > 0 && p->weight_bytes > budget->max_bytes)
          || (budget->max_bitops > 0 && p->bit_ops > budget->max_bitops)
          || (budget->max_drop >= 0.0 && point_drop (p) > budget->max_drop))
        continue;
      if (chosen == NULL
          || (smallest ? p->weight_bytes < chosen->weight_bytes : point_drop (p) < point_drop (chosen)))
        chosen = p;
    }
  if (chosen == NULL)
    {
      if (least_act > budget->max_act_bytes)
        g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE,
                     _("No mix of the formats keeps the peak activations within %" PRIu64 " bytes (the smallest peak is %" PRIu64 " bytes)"),
                     budget->max_act_bytes, front->n_points ? least_act : 0);
      else
        g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INFEASIBLE,
                     _("No mix of the formats meets the other budgets with the peak activations within %" PRIu64 " bytes"),
                     budget->max_act_bytes);
    }
  return chosen;
}

/* --- saved tables, shards --- */

gboolean
qs_sensitivity_is_complete (QsSensitivity *s)
{
  g_return_val_if_fail (s != NULL, FALSE);

  for (guint f = 0; s->reverse && f < s->layers[0].n_formats; f++)
    if (isnan (s->all_drop[f]))
      return FALSE;
  for (guint i = 0; i < s->n_layers; i++)
    for (guint f = 0; f < s->layers[i].n_formats; f++)
      if (isnan (s->layers[i].drop[f]))
        return FALSE;
  return TRUE;
}

static void
add_number (JsonBuilder *b,
            const char  *name,
            double       value)
{
  json_builder_set_member_name (b, name);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
qs_sensitivity_build_json (QsSensitivity *s,
                           JsonBuilder   *b)
{
  g_return_if_fail (s != NULL && b != NULL);

  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, s->n_images);
  json_builder_set_member_name (b, "labelled");
  json_builder_add_boolean_value (b, s->labelled);
  add_number (b, "float_accuracy", s->float_top1);
  json_builder_set_member_name (b, "reverse");
  json_builder_add_boolean_value (b, s->reverse);
  json_builder_set_member_name (b, "fingerprint");
  json_builder_add_string_value (b, s->fingerprint != NULL ? s->fingerprint : "");
  if (s->shard_count > 0)
    {
      json_builder_set_member_name (b, "shard");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, s->shard_index);
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, s->shard_count);
      json_builder_end_object (b);
    }
  if (s->reverse)
    {
      json_builder_set_member_name (b, "all_quantized_drop_points");
      json_builder_begin_object (b);
      for (guint f = 0; f < s->layers[0].n_formats; f++)
        add_number (b, s->layers[0].formats[f], s->all_drop[f]);
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint i = 0; i < s->n_layers; i++)
    {
      const QsSensitivityLayer *l = &s->layers[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "layer");
      json_builder_add_string_value (b, l->layer);
      json_builder_set_member_name (b, "float_bytes");
      json_builder_add_int_value (b, (gint64) l->float_bytes);
      json_builder_set_member_name (b, "macs");
      json_builder_add_int_value (b, (gint64) l->macs);
      json_builder_set_member_name (b, "formats");
      json_builder_begin_array (b);
      for (guint f = 0; f < l->n_formats; f++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "format");
          json_builder_add_string_value (b, l->formats[f]);
          add_number (b, "drop_points", l->drop[f]);
          /* +inf (an exact format) is written as null too and read back as +inf */
          add_number (b, "sqnr_db", l->sqnr_db[f]);
          json_builder_set_member_name (b, "bytes");
          json_builder_add_int_value (b, (gint64) l->bytes[f]);
          json_builder_set_member_name (b, "weight_bits");
          json_builder_add_int_value (b, l->weight_bits != NULL ? l->weight_bits[f] : 0);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* A number or null (null_value); FALSE when the member is missing or of another type. */
static gboolean
get_number (JsonObject *o,
            const char *name,
            double      null_value,
            double     *out)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_NULL (n))
    {
      *out = null_value;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n)
      || (json_node_get_value_type (n) != G_TYPE_DOUBLE && json_node_get_value_type (n) != G_TYPE_INT64))
    return FALSE;
  *out = json_node_get_double (n);
  return TRUE;
}

static gboolean
get_count (JsonObject *o,
           const char *name,
           guint64     max,
           guint64    *out)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64
      || json_node_get_int (n) < 0 || (guint64) json_node_get_int (n) > max)
    return FALSE;
  *out = (guint64) json_node_get_int (n);
  return TRUE;
}

static gboolean
parse_error (GError    **error,
             const char *what,
             const char *field)
{
  g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_PARSE,
               _("%s: “%s” is missing or not valid (write the file with “quantscope-cli sensitivity --json” or “merge”)"),
               what, field);
  return FALSE;
}

QsSensitivity *
qs_sensitivity_load_json (JsonNode   *root,
                          const char *what,
                          GError    **error)
{
  g_autoptr(QsSensitivity) s = g_new0 (QsSensitivity, 1);
  JsonObject *o;
  JsonArray *layers;
  guint64 v;
  guint n_formats = 0;

  g_return_val_if_fail (root != NULL && what != NULL, NULL);

  s->ref_count = 1;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return parse_error (error, what, "{"), NULL;
  o = json_node_get_object (root);
  if (!get_count (o, "images", G_MAXUINT, &v) || v == 0)
    return parse_error (error, what, "images"), NULL;
  s->n_images = (guint) v;
  if (!json_object_has_member (o, "labelled") || !JSON_NODE_HOLDS_VALUE (json_object_get_member (o, "labelled")))
    return parse_error (error, what, "labelled"), NULL;
  s->labelled = json_object_get_boolean_member (o, "labelled");
  if (!get_number (o, "float_accuracy", NAN, &s->float_top1))
    return parse_error (error, what, "float_accuracy"), NULL;
  s->reverse = json_object_get_boolean_member_with_default (o, "reverse", FALSE);
  s->fingerprint = g_strdup (json_object_get_string_member_with_default (o, "fingerprint", ""));
  if (json_object_has_member (o, "shard"))
    {
      JsonNode *sn = json_object_get_member (o, "shard");
      guint64 idx, count;

      if (!JSON_NODE_HOLDS_OBJECT (sn)
          || !get_count (json_node_get_object (sn), "count", 1u << 20, &count) || count == 0
          || !get_count (json_node_get_object (sn), "index", count - 1, &idx))
        return parse_error (error, what, "shard"), NULL;
      s->shard_index = (guint) idx;
      s->shard_count = (guint) count;
    }
  if (!json_object_has_member (o, "layers") || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "layers"))
      || json_array_get_length (json_object_get_array_member (o, "layers")) == 0)
    return parse_error (error, what, "layers"), NULL;
  layers = json_object_get_array_member (o, "layers");
  s->n_layers = json_array_get_length (layers);
  s->layers = g_new0 (QsSensitivityLayer, s->n_layers);
  for (guint i = 0; i < s->n_layers; i++)
    {
      QsSensitivityLayer *l = &s->layers[i];
      JsonNode *ln = json_array_get_element (layers, i);
      JsonObject *lo;
      JsonArray *fa;
      g_autofree char *field = g_strdup_printf ("layers[%u]", i);

      if (!JSON_NODE_HOLDS_OBJECT (ln))
        return parse_error (error, what, field), NULL;
      lo = json_node_get_object (ln);
      if (json_object_get_string_member_with_default (lo, "layer", NULL) == NULL
          || !get_count (lo, "float_bytes", G_MAXINT64, &l->float_bytes)
          || !json_object_has_member (lo, "formats")
          || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (lo, "formats")))
        return parse_error (error, what, field), NULL;
      l->layer = g_strdup (json_object_get_string_member (lo, "layer"));
      if (json_object_has_member (lo, "macs") && !get_count (lo, "macs", G_MAXINT64, &l->macs))
        return parse_error (error, what, field), NULL;
      fa = json_object_get_array_member (lo, "formats");
      l->n_formats = json_array_get_length (fa);
      if (l->n_formats == 0 || l->n_formats > 255 || (i > 0 && l->n_formats != n_formats))
        return parse_error (error, what, field), NULL;
      n_formats = l->n_formats;
      l->formats = g_new0 (char *, l->n_formats + 1);
      l->drop = g_new (double, l->n_formats);
      l->bytes = g_new (guint64, l->n_formats);
      l->sqnr_db = g_new (double, l->n_formats);
      l->weight_bits = g_new0 (guint, l->n_formats);
      for (guint f = 0; f < l->n_formats; f++)
        {
          JsonNode *fn = json_array_get_element (fa, f);
          JsonObject *fo;
          const char *name;
          QsQuantSpec spec;
          guint64 bits = 0;
          g_autofree char *ffield = g_strdup_printf ("layers[%u].formats[%u]", i, f);

          if (!JSON_NODE_HOLDS_OBJECT (fn))
            return parse_error (error, what, ffield), NULL;
          fo = json_node_get_object (fn);
          name = json_object_get_string_member_with_default (fo, "format", NULL);
          if (name == NULL || !qs_analysis_parse_format (name, &spec, NULL)
              || (i > 0 && strcmp (name, s->layers[0].formats[f]) != 0)
              || !get_number (fo, "drop_points", NAN, &l->drop[f])
              || !get_number (fo, "sqnr_db", INFINITY, &l->sqnr_db[f])
              || !get_count (fo, "bytes", G_MAXINT64, &l->bytes[f])
              || (json_object_has_member (fo, "weight_bits") && !get_count (fo, "weight_bits", 64, &bits)))
            return parse_error (error, what, ffield), NULL;
          l->formats[f] = g_strdup (name);
          l->weight_bits[f] = (guint) bits;
        }
    }
  if (s->reverse)
    {
      JsonNode *an = json_object_get_member (o, "all_quantized_drop_points");

      if (an == NULL || !JSON_NODE_HOLDS_OBJECT (an))
        return parse_error (error, what, "all_quantized_drop_points"), NULL;
      s->all_drop = g_new (double, n_formats);
      for (guint f = 0; f < n_formats; f++)
        if (!get_number (json_node_get_object (an), s->layers[0].formats[f], NAN, &s->all_drop[f]))
          return parse_error (error, what, "all_quantized_drop_points"), NULL;
    }
  {
    double seconds = 0;

    if (get_number (o, "seconds", 0, &seconds))
      s->seconds = seconds;
  }
  return g_steal_pointer (&s);
}

QsSensitivity *
qs_sensitivity_load_file (const char  *path,
                          GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_PARSE,
                   _("%s: not a sensitivity table: %s"), path, local->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_PARSE, _("%s: the file is empty"), path);
      return NULL;
    }
  return qs_sensitivity_load_json (json_parser_get_root (parser), path, error);
}

static gboolean
same_table_shape (QsSensitivity *a,
                  QsSensitivity *b)
{
  if (a->n_layers != b->n_layers || a->reverse != b->reverse || a->n_images != b->n_images)
    return FALSE;
  for (guint i = 0; i < a->n_layers; i++)
    {
      if (strcmp (a->layers[i].layer, b->layers[i].layer) != 0
          || a->layers[i].n_formats != b->layers[i].n_formats)
        return FALSE;
      for (guint f = 0; f < a->layers[i].n_formats; f++)
        if (strcmp (a->layers[i].formats[f], b->layers[i].formats[f]) != 0)
          return FALSE;
    }
  return TRUE;
}

QsSensitivity *
qs_sensitivity_merge (QsSensitivity * const *shards,
                      const char * const    *names,
                      guint                  n_shards,
                      GError               **error)
{
  QsSensitivity *first;
  g_autofree gint *by_index = NULL;
  g_autoptr(QsSensitivity) m = NULL;
  g_autoptr(GString) missing = g_string_new (NULL);
  guint N, F;

  g_return_val_if_fail (shards != NULL && names != NULL, NULL);

  if (n_shards == 0)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_INVALID, _("No shards to merge"));
      return NULL;
    }
  for (guint k = 0; k < n_shards; k++)
    if (shards[k]->shard_count == 0)
      {
        g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH,
                     _("%s is not a slice of a sharded sweep (run “sensitivity --shard K/N”)"), names[k]);
        return NULL;
      }
  first = shards[0];
  N = first->shard_count;
  by_index = g_new (gint, N);
  for (guint k = 0; k < N; k++)
    by_index[k] = -1;
  for (guint k = 0; k < n_shards; k++)
    {
      QsSensitivity *s = shards[k];

      if (g_strcmp0 (s->fingerprint, first->fingerprint) != 0 || s->shard_count != N
          || !same_table_shape (s, first))
        {
          g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH,
                       _("%s belongs to another sweep than %s (model, images, dataset, formats or slice count differ)"),
                       names[k], names[0]);
          return NULL;
        }
      if (by_index[s->shard_index] >= 0)
        {
          g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH,
                       _("%s and %s are both slice %u/%u"), names[by_index[s->shard_index]], names[k],
                       s->shard_index, N);
          return NULL;
        }
      by_index[s->shard_index] = (gint) k;
    }
  for (guint k = 0; k < N; k++)
    if (by_index[k] < 0)
      g_string_append_printf (missing, "%s%u/%u", missing->len ? ", " : "", k, N);
  if (missing->len > 0)
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH,
                   _("Slice %s of the sweep in %s is missing (run “--shard K/N” for it and merge its file too)"),
                   missing->str, names[0]);
      return NULL;
    }

  /* a copy of the first slice, each measurement taken from the slice that owns it */
  F = first->layers[0].n_formats;
  m = g_new0 (QsSensitivity, 1);
  m->ref_count = 1;
  m->n_images = first->n_images;
  m->labelled = first->labelled;
  m->float_top1 = first->float_top1;
  m->reverse = first->reverse;
  m->fingerprint = g_strdup (first->fingerprint);
  m->n_layers = first->n_layers;
  m->layers = g_new0 (QsSensitivityLayer, m->n_layers);
  for (guint k = 0; k < n_shards; k++)
    m->seconds += shards[k]->seconds;
  if (m->reverse)
    {
      m->all_drop = g_new (double, F);
      for (guint f = 0; f < F; f++)
        m->all_drop[f] = shards[by_index[f % N]]->all_drop[f];
    }
  for (guint i = 0; i < m->n_layers; i++)
    {
      const QsSensitivityLayer *src = &first->layers[i];
      QsSensitivityLayer *l = &m->layers[i];

      l->layer = g_strdup (src->layer);
      l->float_bytes = src->float_bytes;
      l->macs = src->macs;
      l->n_formats = F;
      l->formats = g_strdupv (src->formats);
      l->drop = g_new (double, F);
      l->bytes = g_memdup2 (src->bytes, F * sizeof (guint64));
      l->sqnr_db = g_memdup2 (src->sqnr_db, F * sizeof (double));
      l->weight_bits = src->weight_bits != NULL ? g_memdup2 (src->weight_bits, F * sizeof (guint)) : NULL;
      for (guint f = 0; f < F; f++)
        {
          guint item = (m->reverse ? F : 0) + i * F + f;

          l->drop[f] = shards[by_index[item % N]]->layers[i].drop[f];
        }
    }
  if (!qs_sensitivity_is_complete (m))
    {
      g_set_error (error, QS_ANALYSIS_ERROR, QS_ANALYSIS_ERROR_MISMATCH,
                   _("The slices of %s leave measurements out (a slice was edited or cut short)"), names[0]);
      return NULL;
    }
  return g_steal_pointer (&m);
}
