/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "qs-calib.h"
#include "qs-engine-float.h"
#include "qs-engine-int.h"
#include "qs-eval.h"
#include "qs-tsan.h"
#include "qs-eval-private.h"

G_DEFINE_QUARK (qs-eval-error-quark, qs_eval_error)
G_DEFINE_BOXED_TYPE (QsEvalResult, qs_eval_result, qs_eval_result_ref, qs_eval_result_unref)

/* Images used for per-layer activation SQNR (a second, tapped pass). */
#define LAYER_STATS_IMAGES 256

QsEvalResult *
qs_eval_result_ref (QsEvalResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_int_inc (&result->ref_count);
  return result;
}

void
qs_eval_result_unref (QsEvalResult *result)
{
  g_return_if_fail (result != NULL);

  if (g_atomic_int_dec_and_test (&result->ref_count))
    {
      for (guint i = 0; i < result->n_layers; i++)
        {
          g_free (result->layers[i].name);
          g_free (result->layers[i].weight_label);
          g_free (result->layers[i].folded_into);
          g_free (result->layers[i].activation_label);
        }
      g_free (result->layers);
      g_free (result->float_nonfinite_at);
      g_free (result->quant_nonfinite_at);
      g_free (result->float_per_class);
      g_free (result->quant_per_class);
      g_free (result->float_confusion);
      g_free (result->quant_confusion);
      g_free (result->float_outputs);
      g_free (result->quant_outputs);
      g_free (result);
    }
}

/* --- the cache: the float side (inputs + float outputs), the last compiled program and
 * the calibrations, owned by the caller; its lock guards lookups only --- */

typedef struct
{
  gint       ref_count;
  QsModel   *model;
  QsDataset *dataset;
  guint      n_images;
  /* the preprocessed inputs of all n_images only when they fit in one input window (see
   * Window below), else NULL: each run fills them a window at a time */
  float     *inputs;
  float     *outputs;
  /* n_images flags: the image's preprocessed input holds NaN or infinity (found while the
   * float side was made, each image being filled then); NULL when none does */
  guint8    *nonfinite_input;
  gsize      in_size;
  gsize      out_size;
  double     images_per_s;
  gboolean   from_disk;
} FloatSide;

typedef struct
{
  gint           ref_count;
  QsEngineFloat *engine;
} Hybrid;

struct _QsEvalCache
{
  gint                ref_count;
  GMutex              lock;
  FloatSide          *float_side;
  QsModel            *model;      /* of the program */
  QsConfig           *config;
  QsCalibration      *calib;
  QsEngineInt        *engine;
  Hybrid             *hybrid;     /* weight-only configs: the float engine with quantized weights */
  /* the integer program before the last one (a config compared back and forth, e.g. two
   * presets, compiles nothing the second time) */
  QsEngineInt        *engine_before;
  QsModel            *model_before;
  QsConfig           *config_before;
  QsCalibration      *calib_before;
  QsCalibrationCache *calibs;
  /* the last run's input window, kept for the next (a fresh 64 MiB window is page faults
   * the first chunk of a live run would wait for) */
  float              *spare_window;
  gsize               spare_window_floats;
  /* seconds per image of the last run's float and quantized sides (0: not measured), to
   * size a progressive run's first chunk */
  double              float_spi;
  double              quant_spi;
  double              fill_spi;   /* filling the inputs (0 when the last run had them kept) */
};

static FloatSide *
float_side_ref (FloatSide *f)
{
  g_atomic_int_inc (&f->ref_count);
  return f;
}

static void
float_side_unref (FloatSide *c)
{
  if (c == NULL || !g_atomic_int_dec_and_test (&c->ref_count))
    return;
  g_object_unref (c->model);
  g_object_unref (c->dataset);
  g_free (c->inputs);
  g_free (c->outputs);
  g_free (c->nonfinite_input);
  g_free (c);
}

static Hybrid *
hybrid_ref (Hybrid *h)
{
  g_atomic_int_inc (&h->ref_count);
  return h;
}

static void
hybrid_unref (Hybrid *h)
{
  if (h == NULL || !g_atomic_int_dec_and_test (&h->ref_count))
    return;
  qs_engine_float_free (h->engine);
  g_free (h);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FloatSide, float_side_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Hybrid, hybrid_unref)

QsEvalCache *
qs_eval_cache_new (void)
{
  QsEvalCache *cache = g_new0 (QsEvalCache, 1);

  cache->ref_count = 1;
  g_mutex_init (&cache->lock);
  cache->calibs = qs_calibration_cache_new ();
  return cache;
}

QsEvalCache *
qs_eval_cache_ref (QsEvalCache *cache)
{
  g_return_val_if_fail (cache != NULL, NULL);
  g_atomic_int_inc (&cache->ref_count);
  return cache;
}

static void
clear_program_before (QsEvalCache *cache)
{
  g_clear_pointer (&cache->engine_before, qs_engine_int_free);
  g_clear_object (&cache->model_before);
  g_clear_object (&cache->config_before);
  g_clear_pointer (&cache->calib_before, qs_calibration_unref);
}

static void
clear_program (QsEvalCache *cache)
{
  clear_program_before (cache);
  g_clear_pointer (&cache->engine, qs_engine_int_free);
  g_clear_pointer (&cache->hybrid, hybrid_unref);
  g_clear_object (&cache->model);
  g_clear_object (&cache->config);
  g_clear_pointer (&cache->calib, qs_calibration_unref);
}

void
qs_eval_cache_clear (QsEvalCache *cache)
{
  g_return_if_fail (cache != NULL);
  g_mutex_lock (&cache->lock);
  clear_program (cache);
  g_clear_pointer (&cache->spare_window, qs_aligned_free);
  cache->spare_window_floats = 0;
  g_clear_pointer (&cache->float_side, float_side_unref);
  g_mutex_unlock (&cache->lock);
  qs_calibration_cache_clear (cache->calibs);
}

void
qs_eval_cache_unref (QsEvalCache *cache)
{
  g_return_if_fail (cache != NULL);
  if (!g_atomic_int_dec_and_test (&cache->ref_count))
    return;
  clear_program (cache);
  g_clear_pointer (&cache->float_side, float_side_unref);
  g_clear_pointer (&cache->spare_window, qs_aligned_free);
  qs_calibration_cache_free (cache->calibs);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

QsCalibrationCache *
qs_eval_cache_get_calibrations (QsEvalCache *cache)
{
  g_return_val_if_fail (cache != NULL, NULL);
  return cache->calibs;
}

gsize
_qs_eval_cache_get_input_bytes (QsEvalCache *cache)
{
  gsize bytes = 0;

  g_return_val_if_fail (cache != NULL, 0);
  g_mutex_lock (&cache->lock);
  if (cache->float_side != NULL && cache->float_side->inputs != NULL)
    bytes = (gsize) cache->float_side->n_images * cache->float_side->in_size * sizeof (float);
  g_mutex_unlock (&cache->lock);
  return bytes;
}

gsize
_qs_eval_cache_get_spare_window_bytes (QsEvalCache *cache)
{
  gsize bytes;

  g_mutex_lock (&cache->lock);
  bytes = cache->spare_window != NULL ? cache->spare_window_floats * sizeof (float) : 0;
  g_mutex_unlock (&cache->lock);
  return bytes;
}

static gsize
model_output_size (QsModel *model)
{
  const QsLayer *last = qs_model_get_layer (model, qs_model_get_n_layers (model) - 1);
  gsize size = 1;

  for (guint i = 0; i < last->output_rank; i++)
    size *= last->output_shape[i];
  return size;
}

/* --- the input window ---
 * The preprocessed float32 inputs are never held for a whole run (602 kB per 224x224x3
 * image: 30 GB for ImageNet's validation set): every pass that needs them (the disk cache
 * key, the float outputs, the quantized ones, the layer statistics, locating a NaN) fills
 * them from the dataset (qs_dataset_fill_inputs) a window of at most
 * QsEvalOptions.window_bytes (64 MiB by default, at least one image) at a time. A window
 * that holds every image of the run is kept with the float side, so small datasets (the
 * samples) are preprocessed once and a config change only reruns the quantized engine. */

#define DEFAULT_WINDOW_BYTES ((gsize) 64 << 20)

typedef struct
{
  QsEvalCache *cache;     /* nullable: where the buffer comes from and goes back to */
  QsModel   *model;
  QsDataset *dataset;
  gsize      in_size;
  guint      n_images;    /* of the run */
  guint      capacity;    /* images */
  guint      start, end;  /* the images it holds: [start, end) */
  float     *data;
  gsize      data_floats; /* allocated (owned) */
  gboolean   owned;       /* else borrowed from a float side (all n_images) */
  /* look for NaN or infinity in what it fills: n_images flags, allocated at the first */
  gboolean   check;
  guint8    *nonfinite;
  gint64     fill_us;     /* time spent filling, and images filled */
  guint64    filled;
} Window;

static void
window_init (Window      *w,
             QsEvalCache *cache,
             QsModel     *model,
             QsDataset *dataset,
             gsize      in_size,
             guint      n_images,
             gsize      bytes)
{
  memset (w, 0, sizeof *w);
  w->cache = cache;
  w->model = model;
  w->dataset = dataset;
  w->in_size = MAX (in_size, 1);
  w->n_images = n_images;
  if (bytes == 0)
    bytes = DEFAULT_WINDOW_BYTES;
  w->capacity = (guint) CLAMP (bytes / (w->in_size * sizeof (float)), 1, MAX (n_images, 1));
  w->check = TRUE;
}

static void
window_clear (Window *w)
{
  if (w->owned && w->data != NULL && w->cache != NULL)
    {
      /* back to the cache, unless it keeps a bigger one */
      g_mutex_lock (&w->cache->lock);
      if (w->cache->spare_window == NULL || w->cache->spare_window_floats < w->data_floats)
        {
          g_clear_pointer (&w->cache->spare_window, qs_aligned_free);
          w->cache->spare_window = g_steal_pointer (&w->data);
          w->cache->spare_window_floats = w->data_floats;
        }
      g_mutex_unlock (&w->cache->lock);
    }
  if (w->owned)
    g_clear_pointer (&w->data, qs_aligned_free);
  g_free (w->nonfinite);
  memset (w, 0, sizeof *w);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Window, window_clear)

/* The inputs of images [start, start + count), count <= w->capacity: from what the window
 * holds, else filled after it (when they follow and fit) or from its start. */
static const float *
window_get (Window   *w,
            guint     start,
            guint     count,
            GError  **error)
{
  gsize offset;
  gint64 t0;

  g_assert (count >= 1 && count <= w->capacity && start + count <= w->n_images);

  if (start >= w->start && start + count <= w->end)
    return w->data + (gsize) (start - w->start) * w->in_size;
  g_assert (w->data == NULL || w->owned);
  if (w->data == NULL)
    {
      gsize floats = (gsize) w->capacity * w->in_size;

      if (w->cache != NULL)
        {
          g_mutex_lock (&w->cache->lock);
          if (w->cache->spare_window != NULL && w->cache->spare_window_floats >= floats)
            {
              w->data = g_steal_pointer (&w->cache->spare_window);
              w->data_floats = w->cache->spare_window_floats;
              w->cache->spare_window_floats = 0;
            }
          g_mutex_unlock (&w->cache->lock);
        }
      if (w->data == NULL)
        {
          w->data = qs_aligned_alloc (floats * sizeof (float));
          w->data_floats = floats;
        }
      if (w->data == NULL)
        {
          g_set_error (error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED,
                       _("Not enough memory to evaluate %u images"), w->capacity);
          return NULL;
        }
      w->owned = TRUE;
    }
  if (!(w->end > w->start && start == w->end && start + count - w->start <= w->capacity))
    w->start = w->end = start;
  offset = (gsize) (start - w->start) * w->in_size;
  t0 = g_get_monotonic_time ();
  if (!qs_dataset_fill_inputs (w->dataset, w->model, start, count, w->data + offset, error))
    {
      w->start = w->end = 0;
      return NULL;
    }
  w->fill_us += g_get_monotonic_time () - t0;
  w->filled += count;
  w->end = start + count;
  if (w->check)
    for (guint i = 0; i < count; i++)
      {
        const float *x = w->data + offset + (gsize) i * w->in_size;

        for (gsize k = 0; k < w->in_size; k++)
          if (!isfinite (x[k]))
            {
              if (w->nonfinite == NULL)
                w->nonfinite = g_new0 (guint8, w->n_images);
              w->nonfinite[start + i] = TRUE;
              break;
            }
      }
  return w->data + offset;
}

/* A complete float side: its inputs are the window's when they fit in it whole (else it
 * keeps none), the non-finite flags those the window found while filling every image. */
static void
float_side_finish (FloatSide *c,
                   Window    *w)
{
  if (c->inputs == NULL && w->owned && w->start == 0 && w->end == c->n_images)
    {
      c->inputs = w->data;
      w->owned = FALSE;
    }
  g_free (c->nonfinite_input);
  c->nonfinite_input = g_steal_pointer (&w->nonfinite);
  w->check = FALSE;
}

/* The run reads the inputs a float side keeps, and needs not look for NaN (it knows). */
static void
window_use_float_side (Window    *w,
                       FloatSide *c)
{
  w->check = FALSE;
  if (c->inputs != NULL && w->data == NULL)
    {
      w->data = c->inputs;
      w->owned = FALSE;
      w->capacity = c->n_images;
      w->start = 0;
      w->end = c->n_images;
    }
}

/* --- the float outputs on disk ---
 * One file per key: SHA-256 over the model file's checksum, the float engine's revision and
 * the float inputs themselves (so the dataset, its size, the preprocessing and the limit
 * are all in it, and nothing stale can match). The file: a header (magic, version, sizes,
 * the key, the payload's SHA-256, then the SHA-256 of those fields) and n_images * out_size
 * float32 in host order. Written atomically (g_file_set_contents); anything that does not
 * match is ignored and rewritten. */

#define FLOAT_CACHE_MAGIC "QSFLOUT1"
#define FLOAT_CACHE_VERSION 1
/* Bump when the float engine's arithmetic changes (its outputs would differ). 3: XNNPACK
 * for convolutions and Dense, BatchNorm folded into them (issue 16); the key also names the
 * kernels in use (qs_engine_float_kernels_describe), whose last bits differ. */
#define FLOAT_ENGINE_REVISION 3

typedef struct
{
  char    magic[8];
  guint32 version;
  guint32 endian;           /* 0x01020304 in host order */
  guint64 n_images;
  guint64 out_size;
  double  images_per_s;
  guint8  key[32];
  guint8  payload[32];
  guint8  header[32];       /* SHA-256 of everything above */
} FloatCacheHeader;

char *
qs_eval_float_cache_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "quantscope", "float-outputs", NULL);
}

static void
sha256 (const void *data,
        gsize       size,
        guint8     *digest)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize len = 32;

  g_checksum_update (sum, data, size);
  g_checksum_get_digest (sum, digest, &len);
}

/* The file for the run's inputs, and its key (*path NULL without a folder or when the model
 * has no checksum): the inputs are checksummed in order a window at a time as they are
 * filled (the digest of the whole buffer, as when every input was held at once). */
static gboolean
float_cache_path (const char    *dir,
                  QsModel       *model,
                  Window        *w,
                  gsize          out_size,
                  char         **path,
                  guint8        *key,
                  GCancellable  *cancellable,
                  GError       **error)
{
  const char *model_sum = qs_model_get_checksum (model);
  g_autoptr(GChecksum) sum = NULL;
  g_autofree char *head = NULL;
  gsize len = 32;

  *path = NULL;
  if (dir == NULL || model_sum == NULL)
    return TRUE;
  head = g_strdup_printf ("quantscope float outputs\nmodel %s\nengine %d %s\ninputs %zu\noutputs %zu\n",
                          model_sum, FLOAT_ENGINE_REVISION, qs_engine_float_kernels_describe (),
                          (gsize) w->n_images * w->in_size, out_size);
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) head, strlen (head));
  for (guint s = 0, m; s < w->n_images; s += m)
    {
      const float *x;

      m = MIN (w->capacity, w->n_images - s);
      if (g_cancellable_set_error_if_cancelled (cancellable, error)
          || (x = window_get (w, s, m, error)) == NULL)
        return FALSE;
      g_checksum_update (sum, (const guchar *) x, (gssize) ((gsize) m * w->in_size * sizeof (float)));
    }
  g_checksum_get_digest (sum, key, &len);
  *path = g_build_filename (dir, g_checksum_get_string (sum), NULL);
  return TRUE;
}

static gboolean
float_cache_read (const char   *path,
                  const guint8 *key,
                  FloatSide    *c)
{
  g_autofree char *contents = NULL;
  gsize size, payload = (gsize) c->n_images * c->out_size * sizeof (float);
  FloatCacheHeader h;
  guint8 digest[32];

  if (!g_file_get_contents (path, &contents, &size, NULL))
    return FALSE;
  if (size != sizeof h + payload)
    return FALSE;
  memcpy (&h, contents, sizeof h);
  sha256 (&h, G_STRUCT_OFFSET (FloatCacheHeader, header), digest);
  if (memcmp (h.magic, FLOAT_CACHE_MAGIC, 8) != 0 || h.version != FLOAT_CACHE_VERSION
      || h.endian != 0x01020304u || memcmp (digest, h.header, 32) != 0
      || h.n_images != c->n_images || h.out_size != c->out_size || memcmp (h.key, key, 32) != 0)
    return FALSE;
  sha256 (contents + sizeof h, payload, digest);
  if (memcmp (digest, h.payload, 32) != 0)
    return FALSE;
  memcpy (c->outputs, contents + sizeof h, payload);
  c->images_per_s = h.images_per_s;
  return TRUE;
}

/* Best effort: a cache that cannot be written is only slower. */
static void
float_cache_write (const char   *dir,
                   const char   *path,
                   const guint8 *key,
                   FloatSide    *c)
{
  gsize payload = (gsize) c->n_images * c->out_size * sizeof (float);
  g_autofree char *contents = g_try_malloc (sizeof (FloatCacheHeader) + payload);
  FloatCacheHeader h = { 0 };
  g_autoptr(GError) error = NULL;

  if (contents == NULL || g_mkdir_with_parents (dir, 0700) != 0)
    return;
  memcpy (h.magic, FLOAT_CACHE_MAGIC, 8);
  h.version = FLOAT_CACHE_VERSION;
  h.endian = 0x01020304u;
  h.n_images = c->n_images;
  h.out_size = c->out_size;
  h.images_per_s = c->images_per_s;
  memcpy (h.key, key, 32);
  sha256 (c->outputs, payload, h.payload);
  sha256 (&h, G_STRUCT_OFFSET (FloatCacheHeader, header), h.header);
  memcpy (contents, &h, sizeof h);
  memcpy (contents + sizeof h, c->outputs, payload);
  if (!g_file_set_contents (path, contents, sizeof h + payload, &error))
    g_debug ("float output cache %s: %s", path, error->message);
}

/* The cached float side of exactly these images, or NULL. */
static FloatSide *
lookup_float_side (QsEvalCache *cache,
                   QsModel     *model,
                   QsDataset   *dataset,
                   guint        n_images)
{
  FloatSide *c = NULL;

  if (cache == NULL)
    return NULL;
  g_mutex_lock (&cache->lock);
  if (cache->float_side != NULL && cache->float_side->model == model
      && cache->float_side->dataset == dataset && cache->float_side->n_images == n_images)
    c = float_side_ref (cache->float_side);
  g_mutex_unlock (&cache->lock);
  return c;
}

/* An empty float side for n_images (outputs allocated, not filled; no inputs). */
static FloatSide *
float_side_alloc (QsModel   *model,
                  QsDataset *dataset,
                  guint      n_images,
                  GError   **error)
{
  g_autoptr(FloatSide) c = g_new0 (FloatSide, 1);
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank;

  c->ref_count = 1;
  c->model = g_object_ref (model);
  c->dataset = g_object_ref (dataset);
  c->n_images = n_images;
  rank = qs_model_get_input_shape (model, shape);
  c->in_size = 1;
  for (guint i = 0; i < rank; i++)
    c->in_size *= shape[i];
  c->out_size = model_output_size (model);
  c->outputs = g_try_new (float, (gsize) n_images * c->out_size);
  if (c->outputs == NULL)
    {
      g_set_error (error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED,
                   _("Not enough memory to evaluate %u images"), n_images);
      return NULL;
    }
  return g_steal_pointer (&c);
}

static void
store_float_side (QsEvalCache *cache,
                  FloatSide   *c)
{
  if (cache == NULL)
    return;
  g_mutex_lock (&cache->lock);
  g_clear_pointer (&cache->float_side, float_side_unref);
  cache->float_side = float_side_ref (c);
  g_mutex_unlock (&cache->lock);
}

/* The float outputs of the first n_images; reused from the cache while model, dataset and
 * count do not change, and from cache_dir (nullable) across runs. The inputs come a window
 * at a time from w (the key's checksum, then the float pass: twice for a run that does not
 * fit in one window and misses the disk cache). */
static FloatSide *
get_float_side (QsEvalCache  *cache,
                const char   *cache_dir,
                QsModel      *model,
                QsDataset    *dataset,
                guint         n_images,
                guint         n_threads,
                Window       *w,
                GCancellable *cancellable,
                GError      **error)
{
  g_autoptr(QsEngineFloat) engine = NULL;
  g_autoptr(FloatSide) c = lookup_float_side (cache, model, dataset, n_images);
  g_autofree char *path = NULL;
  guint8 key[32];
  gint64 t0, us = 0;

  if (c != NULL)
    return g_steal_pointer (&c);
  c = float_side_alloc (model, dataset, n_images, error);
  if (c == NULL)
    return NULL;
  if (!float_cache_path (cache_dir, model, w, c->out_size, &path, key, cancellable, error))
    return NULL;
  c->from_disk = path != NULL && float_cache_read (path, key, c);
  if (!c->from_disk)
    {
      engine = qs_engine_float_new (model, error);
      if (engine == NULL)
        return NULL;
      for (guint s = 0, m; s < n_images; s += m)
        {
          const float *x;

          m = MIN (w->capacity, n_images - s);
          if ((x = window_get (w, s, m, error)) == NULL)
            return NULL;
          t0 = g_get_monotonic_time ();
          if (!qs_engine_float_run (engine, x, m, c->outputs + (gsize) s * c->out_size, n_threads,
                                    NULL, NULL, cancellable, error))
            return NULL;
          us += g_get_monotonic_time () - t0;
        }
      c->images_per_s = n_images / MAX (us / 1e6, 1e-9);
      if (path != NULL)
        float_cache_write (cache_dir, path, key, c);
    }
  float_side_finish (c, w);
  store_float_side (cache, c);
  return g_steal_pointer (&c);
}

/* The compiled program for model + config + calibration (a new reference); reused while
 * they do not change. No lock is held while it runs: programs are immutable. */
static QsEngineInt *
get_program (QsEvalCache   *cache,
             QsModel       *model,
             QsConfig      *config,
             QsCalibration *calib,
             GError       **error)
{
  QsEngineInt *engine = NULL;
  g_autoptr(QsEngineInt) previous = NULL;

  if (cache != NULL)
    {
      g_mutex_lock (&cache->lock);
      if (cache->engine != NULL && cache->model == model && cache->calib == calib
          && qs_config_equal (cache->config, config))
        engine = qs_engine_int_ref (cache->engine);
      else if (cache->engine_before != NULL && cache->model_before == model
               && cache->calib_before == calib && qs_config_equal (cache->config_before, config))
        {
          /* back to the config before: the two swap places */
          engine = qs_engine_int_ref (cache->engine_before);
          if (cache->engine != NULL)
            {
              QsEngineInt *e = cache->engine;
              QsModel *m = cache->model;
              QsConfig *c = cache->config;
              QsCalibration *k = cache->calib;

              cache->engine = cache->engine_before;
              cache->model = cache->model_before;
              cache->config = cache->config_before;
              cache->calib = cache->calib_before;
              cache->engine_before = e;
              cache->model_before = m;
              cache->config_before = c;
              cache->calib_before = k;
            }
        }
      else if (cache->engine != NULL && cache->model == model)
        previous = qs_engine_int_ref (cache->engine);
      g_mutex_unlock (&cache->lock);
      if (engine != NULL)
        return engine;
    }

  /* after an edit, only the layers it changed are quantized and packed again */
  engine = qs_calibration_compile_reusing (calib, model, config, previous, error);
  if (engine == NULL || cache == NULL)
    return engine;

  g_mutex_lock (&cache->lock);
  clear_program_before (cache);
  if (cache->engine != NULL)
    {
      cache->engine_before = g_steal_pointer (&cache->engine);
      cache->model_before = g_steal_pointer (&cache->model);
      cache->config_before = g_steal_pointer (&cache->config);
      cache->calib_before = g_steal_pointer (&cache->calib);
    }
  g_clear_pointer (&cache->hybrid, hybrid_unref);
  g_clear_object (&cache->model);
  g_clear_object (&cache->config);
  g_clear_pointer (&cache->calib, qs_calibration_unref);
  cache->engine = qs_engine_int_ref (engine);
  cache->model = g_object_ref (model);
  cache->config = qs_config_copy (config);
  cache->calib = calib ? qs_calibration_ref (calib) : NULL;
  g_mutex_unlock (&cache->lock);
  return engine;
}

/* The float engine with every kernel replaced by its fake-quantized (or fp16/bf16-rounded)
 * values: what weight-only configs run on (qs-eval-private.h). */
QsEngineFloat *
_qs_eval_hybrid_engine_new (QsModel  *model,
                            QsConfig *config,
                            GError  **error)
{
  g_autoptr(GHashTable) weights = NULL;

  weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) qs_tensor_unref);
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);
      QsLayerConfig lc;

      qs_config_get_layer (config, l->name, &lc);
      if (lc.weight.format == QS_FORMAT_FP32)
        continue;
      for (guint w = 0; w < l->weights->len; w++)
        {
          QsTensor *t = g_ptr_array_index (l->weights, w);
          QsQuantOptions opt = { .want_dequant = TRUE };
          g_autoptr(QsQuantResult) r = NULL;
          QsQuantSpec spec;

          if (t->layout != QS_TENSOR_LAYOUT_DENSE && t->layout != QS_TENSOR_LAYOUT_CONV2D
              && t->layout != QS_TENSOR_LAYOUT_DEPTHWISE)
            continue;   /* biases and BatchNorm parameters stay float */
          qs_config_resolve_weight_spec (&lc.weight, t, &spec);
          r = qs_quant_run (t, &spec, &opt, NULL, error);
          if (r == NULL)
            return NULL;
          g_hash_table_insert (weights, g_strdup (t->name), qs_tensor_ref (r->dequant));
        }
    }
  return qs_engine_float_new_with_weights (model, weights, error);
}

/* Weight-only ("hybrid") configs quantize no activation: they run on the float engine with
 * every kernel replaced by its fake-quantized (or fp16/bf16-rounded) values, exactly what
 * qs_quant_run () gives the charts; much faster than the integer program's float path. */
static Hybrid *
get_hybrid (QsEvalCache *cache,
            QsModel     *model,
            QsConfig    *config,
            GError     **error)
{
  Hybrid *h = NULL;

  if (cache != NULL)
    {
      g_mutex_lock (&cache->lock);
      if (cache->hybrid != NULL && cache->model == model && qs_config_equal (cache->config, config))
        h = hybrid_ref (cache->hybrid);
      g_mutex_unlock (&cache->lock);
      if (h != NULL)
        return h;
    }

  h = g_new0 (Hybrid, 1);
  h->ref_count = 1;
  h->engine = _qs_eval_hybrid_engine_new (model, config, error);
  if (h->engine == NULL)
    {
      g_free (h);
      return NULL;
    }
  if (cache == NULL)
    return h;

  g_mutex_lock (&cache->lock);
  clear_program (cache);
  cache->hybrid = hybrid_ref (h);
  cache->model = g_object_ref (model);
  cache->config = qs_config_copy (config);
  g_mutex_unlock (&cache->lock);
  return h;
}

/* --- non-finite outputs --- */

typedef struct
{
  char *first;
} QuantNonfinite;

static void
quant_nonfinite_tap (const char  *name,
                     const float *values,
                     gsize        n,
                     gboolean     is_integer,
                     gpointer     user_data)
{
  QuantNonfinite *q = user_data;

  if (q->first != NULL || name == NULL)
    return;
  for (gsize i = 0; i < n; i++)
    if (!isfinite (values[i]))
      {
        q->first = g_strdup (name);
        return;
      }
}

/* Counts the integer program's images with a non-finite output and names the first value
 * that holds one in the first such image (qs_eval_run () passes that image alone). */
static guint
quant_find_nonfinite (QsEngineInt *engine,
                      const float *inputs,
                      gsize        in_size,
                      const float *outputs,
                      gsize        out_size,
                      guint        n,
                      char       **first)
{
  guint count = 0;
  gssize first_image = -1;

  for (guint i = 0; i < n; i++)
    {
      gboolean bad = FALSE;

      for (gsize k = 0; k < out_size && !bad; k++)
        bad = !isfinite (outputs[(gsize) i * out_size + k]);
      for (gsize k = 0; k < in_size && !bad; k++)
        bad = !isfinite (inputs[(gsize) i * in_size + k]);
      if (bad)
        {
          if (first_image < 0)
            first_image = i;
          count++;
        }
    }
  if (first_image >= 0)
    {
      QuantNonfinite q = { NULL };

      qs_engine_int_run_tapped (engine, inputs + (gsize) first_image * in_size, NULL,
                                quant_nonfinite_tap, &q, NULL);
      *first = q.first;
    }
  return count;
}

/* --- metrics --- */

static void
topk (const float *p,
      gsize        n,
      gint         label,
      gboolean    *top1,
      gboolean    *top5,
      guint       *argmax)
{
  guint best = 0, better = 0;

  for (gsize i = 1; i < n; i++)
    if (p[i] > p[best])
      best = i;
  if (label >= 0 && (gsize) label < n)
    for (gsize i = 0; i < n; i++)
      if (p[i] > p[label])
        better++;
  *argmax = best;
  *top1 = label >= 0 && (guint) label == best;
  *top5 = label >= 0 && (gsize) label < n && better < 5;
}

static void
to_distribution (const float *x,
                 gsize        n,
                 double      *p)
{
  double sum = 0.0, m = -INFINITY;
  gboolean is_prob = TRUE;

  for (gsize i = 0; i < n; i++)
    {
      if (!(x[i] >= 0.0f && x[i] <= 1.0f))
        is_prob = FALSE;
      sum += x[i];
      m = MAX (m, x[i]);
    }
  if (is_prob && fabs (sum - 1.0) < 1e-3)
    {
      for (gsize i = 0; i < n; i++)
        p[i] = x[i] / sum;
      return;
    }
  sum = 0.0;
  for (gsize i = 0; i < n; i++)
    sum += (p[i] = exp (x[i] - m));
  for (gsize i = 0; i < n; i++)
    p[i] /= sum;
}

static gboolean
model_ends_in_softmax (QsModel *model)
{
  const QsLayer *last = qs_model_get_layer (model, qs_model_get_n_layers (model) - 1);

  return last->activation == QS_ACTIVATION_SOFTMAX;
}

/* |top-k (a) ∩ top-k (b)| / k with k = min (5, n) */
static double
top5_overlap (const float *a,
              const float *b,
              gsize        n)
{
  guint k = MIN (5, n), common = 0;
  gsize ta[5], tb[5];

  for (int side = 0; side < 2; side++)
    {
      const float *x = side == 0 ? a : b;
      gsize *t = side == 0 ? ta : tb;

      for (guint j = 0; j < k; j++)
        {
          gssize best = -1;

          for (gsize i = 0; i < n; i++)
            {
              gboolean taken = FALSE;

              for (guint q = 0; q < j && !taken; q++)
                taken = t[q] == i;
              if (!taken && (best < 0 || x[i] > x[best]))
                best = i;
            }
          t[j] = best;
        }
    }
  for (guint i = 0; i < k; i++)
    for (guint j = 0; j < k; j++)
      common += ta[i] == tb[j];
  return k > 0 ? (double) common / k : NAN;
}

/* Quantized vs float outputs over all n values (non-finite pairs skipped). */
static void
output_errors (const float  *f,
               const float  *q,
               gsize         n,
               QsEvalResult *r)
{
  double ss = 0.0, se = 0.0, sq = 0.0, dot = 0.0, max_err = 0.0;
  gsize used = 0;

  for (gsize i = 0; i < n; i++)
    {
      double a = f[i], b = q[i], d = b - a;

      if (!isfinite (a) || !isfinite (b))
        continue;
      ss += a * a;
      sq += b * b;
      se += d * d;
      dot += a * b;
      max_err = MAX (max_err, fabs (d));
      used++;
    }
  if (used == 0)
    return;
  r->output_sqnr_db = qs_stats_sqnr_db (ss, se);
  r->output_mse = se / used;
  r->output_cosine = ss > 0 && sq > 0 ? dot / (sqrt (ss) * sqrt (sq)) : (ss == sq ? 1.0 : 0.0);
  r->output_max_abs_error = max_err;
}

typedef struct
{
  GHashTable *float_values;   /* name -> GArray of float (this image) */
  GHashTable *acc;            /* name -> double[2]: signal, noise */
} TapState;

static void
float_tap (const char  *name,
           const float *values,
           gsize        n,
           gboolean     is_integer,
           gpointer     user_data)
{
  TapState *st = user_data;
  GArray *a = g_hash_table_lookup (st->float_values, name);

  if (a == NULL)
    {
      a = g_array_new (FALSE, FALSE, sizeof (float));
      g_hash_table_insert (st->float_values, g_strdup (name), a);
    }
  g_array_set_size (a, n);
  memcpy (a->data, values, n * sizeof (float));
}

static void
quant_tap (const char  *name,
           const float *values,
           gsize        n,
           gboolean     is_integer,
           gpointer     user_data)
{
  TapState *st = user_data;
  GArray *ref = g_hash_table_lookup (st->float_values, name);
  double *acc;

  if (!is_integer || ref == NULL || ref->len != n)
    return;
  acc = g_hash_table_lookup (st->acc, name);
  if (acc == NULL)
    {
      acc = g_new0 (double, 2);
      g_hash_table_insert (st->acc, g_strdup (name), acc);
    }
  for (gsize i = 0; i < n; i++)
    {
      double f = g_array_index (ref, float, i), d = values[i] - f;

      acc[0] += f * f;
      acc[1] += d * d;
    }
}

static gboolean
layer_activation_stats (QsModel       *model,
                        QsEngineInt   *quant,
                        Window        *w,
                        guint          n_images,
                        GHashTable   **out_acc,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(QsLowering) lowering = qs_lowering_new (model, NULL, error);
  g_autoptr(QsEngineInt) ref = lowering ? qs_engine_int_new (lowering, NULL, error) : NULL;
  g_autoptr(GHashTable) float_values = NULL;
  g_autoptr(GHashTable) acc = NULL;
  TapState st;

  if (ref == NULL)
    return FALSE;
  st.float_values = float_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  st.acc = acc = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint s = 0, m; s < n_images; s += m)
    {
      const float *x;

      m = MIN (w->capacity, n_images - s);
      if ((x = window_get (w, s, m, error)) == NULL)
        return FALSE;
      for (guint i = 0; i < m; i++)
        if (g_cancellable_set_error_if_cancelled (cancellable, error)
            || !qs_engine_int_run_tapped (ref, x + (gsize) i * w->in_size, NULL, float_tap, &st, error)
            || !qs_engine_int_run_tapped (quant, x + (gsize) i * w->in_size, NULL, quant_tap, &st, error))
          return FALSE;
    }
  *out_acc = g_steal_pointer (&acc);
  return TRUE;
}

static void
fill_layers (QsEvalResult               *r,
             QsModel                    *model,
             QsConfig                   *config,
             GHashTable                 *act_acc,
             const QsEngineLayerWeights *stored)  /* nullable: no integer program */
{
  guint n = qs_model_get_n_layers (model);

  r->layers = g_new0 (QsEvalLayer, n);
  for (guint i = 1; i < n; i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);
      QsEvalLayer *el = &r->layers[r->n_layers++];
      QsTensor *kernel = qs_layer_get_kernel (l);
      QsLayerConfig lc;
      double *acc;

      el->name = g_strdup (l->name);
      el->weight_sqnr_db = NAN;
      el->activation_sqnr_db = NAN;
      if (config != NULL)
        qs_config_get_layer (config, l->name, &lc);
      else
        {
          memset (&lc, 0, sizeof lc);
          qs_quant_spec_init_float (&lc.weight, QS_FORMAT_FP32);
        }
      if (kernel != NULL)
        {
          QsQuantSpec resolved;

          qs_config_resolve_weight_spec (&lc.weight, kernel, &resolved);
          el->weight_label = qs_quant_spec_to_label (&resolved);
        }
      else
        el->weight_label = g_strdup ("—");
      el->activation_label = lc.quantize_activations ? qs_quant_spec_to_label (&lc.activation)
                                                     : g_strdup ("fp32");
      for (guint w = 0; w < l->weights->len; w++)
        el->float_bytes += ((QsTensor *) g_ptr_array_index (l->weights, w))->n_elements * 4;
      if (kernel != NULL)
        {
          QsQuantSpec spec;
          g_autoptr(QsQuantResult) q = NULL;

          qs_config_resolve_weight_spec (&lc.weight, kernel, &spec);
          q = qs_quant_run (kernel, &spec, NULL, NULL, NULL);

          if (q != NULL)
            {
              el->weight_sqnr_db = q->stats.sqnr_db;
              el->weight_bytes = el->float_bytes - kernel->n_elements * 4 + (q->stats.storage_bits + 7) / 8;
            }
          else
            el->weight_bytes = el->float_bytes;
        }
      else
        el->weight_bytes = el->float_bytes;
      /* The integer program stores folded kernels: report what a device would hold. */
      if (stored != NULL && stored[i].folded_into >= 0)
        {
          const QsLayer *into = qs_model_get_layer (model, stored[i].folded_into);

          g_free (el->weight_label);
          el->weight_label = g_strdup_printf (_("folded into %s"), into->name);
          el->folded_into = g_strdup (into->name);
          el->weight_bytes = 0;
        }
      else if (stored != NULL && stored[i].n_values > 0)
        {
          el->weight_sqnr_db = stored[i].sqnr_db;
          /* the layer as stored: kernels (codes and scales) and a 32-bit bias per channel */
          el->weight_bytes = (stored[i].storage_bits + 7) / 8;
        }
      if (act_acc != NULL)
        {
          /* a layer whose activation (softmax, sigmoid ...) runs in float reports its
           * integer pre-activation output */
          g_autofree char *pre = g_strconcat (l->name, "#pre", NULL);

          acc = g_hash_table_lookup (act_acc, l->name);
          if (acc == NULL)
            acc = g_hash_table_lookup (act_acc, pre);
          if (acc != NULL)
            el->activation_sqnr_db = qs_stats_sqnr_db (acc[0], acc[1]);
        }
    }
}

/* --- progressive runs and intervals --- */

/* A progressive run answers first within about this long of its start (calibration,
 * compiling the program and the first chunk; issue 16's 300 ms with a margin for the
 * partial's own work and a busy machine) ... */
#define FIRST_ANSWER_SECONDS 0.15
/* ... its first chunk taking at most this long, and at least this long when what came
 * before it already used the budget (an open that calibrates) ... */
#define FIRST_CHUNK_SECONDS 0.12
#define FIRST_CHUNK_MIN_SECONDS 0.05
/* ... with at least this many images (fewer say too little even as a first answer; the
 * interval shown with it says how little) */
#define MIN_CHUNK 8

/* The first chunk's size for a run that has spent elapsed seconds so far: the time left of
 * FIRST_ANSWER_SECONDS (within the bounds above) over the last run's seconds per image
 * (its float side unless cached, its quantized side, filling the inputs). */
static guint
first_chunk (QsEvalCache *cache,
             gboolean     float_cached,
             guint        n,
             double       elapsed)
{
  double spi = 0.0, seconds = CLAMP (FIRST_ANSWER_SECONDS - elapsed, FIRST_CHUNK_MIN_SECONDS,
                                     FIRST_CHUNK_SECONDS);

  if (cache != NULL)
    {
      g_mutex_lock (&cache->lock);
      spi = (float_cached ? 0.0 : cache->float_spi) + cache->quant_spi + cache->fill_spi;
      g_mutex_unlock (&cache->lock);
    }
  if (spi <= 0.0)
    return MIN (MIN_CHUNK, n);
  return (guint) CLAMP (seconds / spi, MIN (MIN_CHUNK, n), n);
}

/* Adds images [start, start + count) to the top-1 counts of p (quant_out NULL: float only). */
static void
score_top1 (QsDataset     *dataset,
            const float   *float_out,
            const float   *quant_out,
            guint          nc,
            guint          start,
            guint          count,
            QsEvalPartial *p)
{
  for (guint i = start; i < start + count; i++)
    {
      gint label = qs_dataset_get_label (dataset, i);
      gboolean f1, q1 = FALSE, t5;
      guint af, aq = G_MAXUINT;

      topk (float_out + (gsize) i * nc, nc, label, &f1, &t5, &af);
      if (quant_out != NULL)
        topk (quant_out + (gsize) i * nc, nc, label, &q1, &t5, &aq);
      p->float_correct += f1;
      p->quant_correct += q1;
      p->both_correct += f1 && q1;
      p->agree += af == aq;
    }
}

void
qs_wilson_interval (guint   successes,
                    guint   n,
                    double  z,
                    double *lower,
                    double *upper)
{
  double x = successes, z2 = z * z, center, half;

  g_return_if_fail (successes <= n);

  if (n == 0)
    {
      *lower = 0.0;
      *upper = 1.0;
      return;
    }
  /* (x + z²/2 ± z sqrt (x (n - x) / n + z²/4)) / (n + z²) */
  center = (x + z2 / 2) / (n + z2);
  half = z * sqrt (x * (n - x) / n + z2 / 4) / (n + z2);
  *lower = MAX (center - half, 0.0);
  *upper = MIN (center + half, 1.0);
}

void
qs_paired_difference_interval (guint   both,
                               guint   only_first,
                               guint   only_second,
                               guint   neither,
                               double  z,
                               double *lower,
                               double *upper)
{
  double a = both, b = only_first, c = only_second, d = neither;
  double n = a + b + c + d, p1, p2, l1, u1, l2, u2, denom, phi = 0.0;

  if (n == 0)
    {
      *lower = -1.0;
      *upper = 1.0;
      return;
    }
  /* Newcombe (1998), "Improved confidence intervals for the difference between binomial
   * proportions based on paired data", Stat. Med. 17:2635-2650, method 10: Wilson intervals
   * (l1, u1) of p1 = (a + b) / n and (l2, u2) of p2 = (a + c) / n, squared and added with
   * the correlation phi = (ad - bc) / sqrt ((a + b)(c + d)(a + c)(b + d)) (0 when a margin
   * is empty):
   *   L = p1 - p2 - sqrt ((p1 - l1)² - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)²)
   *   U = p1 - p2 + sqrt ((u1 - p1)² - 2 phi (u1 - p1)(p2 - l2) + (p2 - l2)²) */
  p1 = (a + b) / n;
  p2 = (a + c) / n;
  qs_wilson_interval (both + only_first, (guint) n, z, &l1, &u1);
  qs_wilson_interval (both + only_second, (guint) n, z, &l2, &u2);
  denom = (a + b) * (c + d) * (a + c) * (b + d);
  if (denom > 0)
    phi = (a * d - b * c) / sqrt (denom);
  *lower = p1 - p2 - sqrt (MAX ((p1 - l1) * (p1 - l1) - 2 * phi * (p1 - l1) * (u2 - p2)
                                + (u2 - p2) * (u2 - p2), 0.0));
  *upper = p1 - p2 + sqrt (MAX ((u1 - p1) * (u1 - p1) - 2 * phi * (u1 - p1) * (p2 - l2)
                                + (p2 - l2) * (p2 - l2), 0.0));
  *lower = MAX (*lower, -1.0);
  *upper = MIN (*upper, 1.0);
}

#define Z95 1.959963984540054

void
qs_eval_partial_compute (QsEvalPartial *p)
{
  guint n = p->n_images;

  g_return_if_fail (p != NULL);

  p->agreement = n ? (double) p->agree / n : NAN;
  qs_wilson_interval (p->agree, n, Z95, &p->agreement_low, &p->agreement_high);
  if (!p->labelled || n == 0)
    {
      p->float_top1 = p->float_low = p->float_high = NAN;
      p->quant_top1 = p->quant_low = p->quant_high = NAN;
      p->diff = p->diff_low = p->diff_high = NAN;
      return;
    }
  p->float_top1 = (double) p->float_correct / n;
  p->quant_top1 = (double) p->quant_correct / n;
  p->diff = p->quant_top1 - p->float_top1;
  qs_wilson_interval (p->float_correct, n, Z95, &p->float_low, &p->float_high);
  qs_wilson_interval (p->quant_correct, n, Z95, &p->quant_low, &p->quant_high);
  /* first = quantized, second = float: the interval of quant - float */
  qs_paired_difference_interval (p->both_correct, p->quant_correct - p->both_correct,
                                 p->float_correct - p->both_correct,
                                 n - p->float_correct - p->quant_correct + p->both_correct,
                                 Z95, &p->diff_low, &p->diff_high);
}

/* --- a first answer while a slow calibration runs --- */

/* Images of the calibration set a provisional calibration uses, and at most how many
 * images its answers cover. */
#define PROVISIONAL_CALIB 16
#define PROVISIONAL_IMAGES 32

typedef struct
{
  QsEvalPartialFunc func;
  gpointer          data;
  guint             n_total;
  guint             calib_total;
} Provisional;

static void
provisional_partial (const QsEvalPartial *partial,
                     gpointer             user_data)
{
  const Provisional *pv = user_data;
  QsEvalPartial p = *partial;

  /* the images of the whole run, and the calibration it will have */
  p.n_total = pv->n_total;
  p.calib_total = pv->calib_total;
  pv->func (&p, pv->data);
}

/* QsEvalOptions.provisional_seconds: when the config's calibration is not cached, times a
 * calibration on its first PROVISIONAL_CALIB images (cached as any other; its pass over the
 * images, not opening them); when the whole set would take longer than the budget at that
 * pace, evaluates the first images with it
 * and hands its partials on (calib_images < calib_total). FALSE only on error or
 * cancellation. */
static gboolean
provisional_answer (QsModel             *model,
                    QsConfig            *config,
                    QsDataset           *dataset,
                    const QsEvalOptions *opts,
                    guint                n,
                    GCancellable        *cancellable,
                    GError             **error)
{
  QsCalibrationCache *calibs = opts->cache ? opts->cache->calibs : NULL;
  const char *source = qs_config_get_calib_source (config);
  const QsPreprocess *pp = qs_dataset_get_preprocess (dataset);
  guint n_cal = qs_config_get_calib_images (config);
  double budget = opts->provisional_seconds > 0 ? opts->provisional_seconds : 1.0;
  g_autoptr(QsCalibration) small = NULL;
  g_autoptr(QsConfig) small_config = NULL;
  g_autoptr(QsEvalResult) r = NULL;
  QsEvalOptions o = *opts;
  Provisional pv = { opts->partial, opts->partial_data, n, n_cal };

  if (calibs == NULL || n_cal <= PROVISIONAL_CALIB
      || qs_calibration_cache_contains (calibs, model, source, pp, n_cal))
    return TRUE;
  small = qs_calibration_cache_get_full (calibs, model, source, pp, PROVISIONAL_CALIB, NULL, NULL,
                                         cancellable, error);
  if (small == NULL)
    return FALSE;
  /* the pass alone (opening a compressed set is paid once either way) */
  if (qs_calibration_get_n_images (small) >= n_cal   /* a calibration set this small */
      || qs_calibration_get_seconds (small) * n_cal / PROVISIONAL_CALIB <= budget)
    return TRUE;
  small_config = qs_config_copy (config);
  qs_config_set_calib_images (small_config, PROVISIONAL_CALIB);
  o.limit = MIN (n, PROVISIONAL_IMAGES);
  o.layer_stats = FALSE;
  o.keep_outputs = FALSE;
  o.float_cache_dir = NULL;
  o.partial = provisional_partial;
  o.partial_data = &pv;
  r = qs_eval_run (model, small_config, dataset, &o, NULL, NULL, cancellable, error);
  return r != NULL;
}

QsEvalResult *
qs_eval_run (QsModel             *model,
             QsConfig            *config,
             QsDataset           *dataset,
             const QsEvalOptions *options,
             QsProgressFunc       progress,
             gpointer             progress_data,
             GCancellable        *cancellable,
             GError             **error)
{
  QsEvalOptions opts = { 0 };
  g_autoptr(QsEvalResult) r = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(GHashTable) act_acc = NULL;
  g_autofree float *quant_out = NULL;
  g_autofree double *pf = NULL, *pq = NULL;
  g_autofree guint *class_count = NULL;
  g_autofree QsEngineLayerWeights *stored = NULL;
  g_autoptr(FloatSide) fc = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(Hybrid) hybrid = NULL;
  g_autoptr(QsEngineFloat) fengine = NULL;
  g_auto(Window) w = { 0 };
  QsEvalPartial live = { 0 }, total = { 0 };
  gboolean quant;
  gint64 t_start = g_get_monotonic_time (), t0, float_us = 0, quant_us = 0;
  guint float_done = 0;
  guint n, nc, f1 = 0, f5 = 0, q1 = 0, q5 = 0, agree = 0;
  double kl = 0.0, overlap = 0.0;
  const char *why = NULL;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (config == NULL || QS_IS_CONFIG (config), NULL);
  g_return_val_if_fail (QS_IS_DATASET (dataset), NULL);

  if (options != NULL)
    opts = *options;
  quant = config != NULL && !opts.float_only;
  if (!qs_model_can_infer (model, &why))
    {
      g_set_error (error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED, "%s", why);
      return NULL;
    }
  n = qs_dataset_get_n_images (dataset);
  if (opts.limit > 0)
    n = MIN (n, opts.limit);
  if (n == 0)
    {
      g_set_error (error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED,
                   _("The dataset “%s” has no images"), qs_dataset_get_name (dataset));
      return NULL;
    }

  /* Calibration (cached per model + calibration set). */
  if (quant && qs_config_any_activations (config))
    {
      /* a first answer from a small calibration when the whole one would be slow */
      if (opts.partial != NULL
          && !provisional_answer (model, config, dataset, &opts, n, cancellable, error))
        return NULL;
      /* the calibration images get the preprocessing the evaluated ones get */
      calib = qs_calibration_cache_get_full (opts.cache ? opts.cache->calibs : NULL, model,
                                             qs_config_get_calib_source (config),
                                             qs_dataset_get_preprocess (dataset),
                                             qs_config_get_calib_images (config), NULL, NULL,
                                             cancellable, error);
      if (calib == NULL)
        return NULL;
      live.calib_images = live.calib_total = total.calib_images = total.calib_total
        = qs_calibration_get_n_images (calib);
    }
  if (progress)
    progress (0.2, progress_data);

  /* The float side: cached, computed here chunk by chunk (a progressive run without a disk
   * cache: the first answer must not wait for every image's float outputs), or in one go.
   * The inputs come from the window, filled as the passes go. */
  {
    gsize shape[QS_TENSOR_MAX_DIMS], in_size = 1;
    guint rank = qs_model_get_input_shape (model, shape);

    for (guint i = 0; i < rank; i++)
      in_size *= shape[i];
    window_init (&w, opts.cache, model, dataset, in_size, n, opts.window_bytes);
  }
  if (opts.partial != NULL && opts.float_cache_dir == NULL)
    {
      fc = lookup_float_side (opts.cache, model, dataset, n);
      if (fc != NULL)
        float_done = n;
      else if ((fc = float_side_alloc (model, dataset, n, error)) == NULL
               || (fengine = qs_engine_float_new (model, error)) == NULL)
        return NULL;
    }
  else
    {
      fc = get_float_side (opts.cache, opts.float_cache_dir, model, dataset, n, opts.n_threads,
                           &w, cancellable, error);
      if (fc == NULL)
        return NULL;
      float_done = n;
    }
  if (float_done == n)
    window_use_float_side (&w, fc);
  if (progress)
    progress (0.5, progress_data);

  r = g_new0 (QsEvalResult, 1);
  r->ref_count = 1;
  r->n_images = n;
  nc = r->n_classes = fc->out_size;
  r->float_per_class = g_new0 (double, nc);
  r->quant_per_class = g_new0 (double, nc);
  r->float_confusion = g_new0 (guint, (gsize) nc * nc);
  r->quant_confusion = g_new0 (guint, (gsize) nc * nc);
  r->float_from_disk = fc->from_disk;
  r->quant_top1 = r->quant_top5 = r->agreement = r->mean_kl = NAN;
  r->top5_overlap = r->output_sqnr_db = r->output_mse = r->output_cosine = r->output_max_abs_error = NAN;
  r->labelled = qs_dataset_is_labelled (dataset);
  r->classification = nc >= 2 && (r->labelled || model_ends_in_softmax (model));
  r->quant_images_per_s = NAN;

  if (quant && calib == NULL)
    {
      hybrid = get_hybrid (opts.cache, model, config, error);
      if (hybrid == NULL)
        return NULL;
    }
  else if (quant)
    {
      engine = get_program (opts.cache, model, config, calib, error);
      if (engine == NULL)
        return NULL;
      if (qs_engine_int_get_output_size (engine) != fc->out_size)
        {
          g_set_error (error, QS_EVAL_ERROR, QS_EVAL_ERROR_FAILED,
                       _("The integer program has %zu outputs, the model %zu"),
                       qs_engine_int_get_output_size (engine), fc->out_size);
          return NULL;
        }
    }
  if (quant)
    quant_out = g_new (float, (gsize) n * fc->out_size);

  /* One chunk, or growing ones: every engine answers each image on its own, so the outputs
   * are the same whatever the chunks. */
  live.n_total = n;
  live.labelled = r->labelled;
  for (guint done = 0, k; done < n; done += k)
    {
      k = done == 0 ? (opts.partial ? first_chunk (opts.cache, float_done == n, n,
                                                   (g_get_monotonic_time () - t_start) / 1e6)
                                    : n)
                    : done;
      if (k >= n - done || n - done - k < k / 2)
        k = n - done;   /* no small last chunk */
      for (guint s = done, m; s < done + k; s += m)
        {
          const float *x;

          m = MIN (w.capacity, done + k - s);
          if ((x = window_get (&w, s, m, error)) == NULL)
            return NULL;
          if (s + m > float_done)
            {
              t0 = g_get_monotonic_time ();
              if (!qs_engine_float_run (fengine, x, m, fc->outputs + (gsize) s * fc->out_size,
                                        opts.n_threads, NULL, NULL, cancellable, error))
                return NULL;
              float_us += g_get_monotonic_time () - t0;
            }
          t0 = g_get_monotonic_time ();
          if (hybrid != NULL
              && !qs_engine_float_run (hybrid->engine, x, m, quant_out + (gsize) s * fc->out_size,
                                       opts.n_threads, NULL, NULL, cancellable, error))
            return NULL;
          if (engine != NULL
              && !qs_engine_int_run (engine, x, m, quant_out + (gsize) s * fc->out_size,
                                     opts.n_threads, NULL, NULL, cancellable, error))
            return NULL;
          quant_us += g_get_monotonic_time () - t0;
        }
      float_done = MAX (float_done, done + k);
      if (opts.partial != NULL)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          score_top1 (dataset, fc->outputs, quant_out, nc, done, k, &live);
          live.n_images = done + k;
          qs_eval_partial_compute (&live);
          opts.partial (&live, opts.partial_data);
        }
    }
  if (fengine != NULL)
    {
      fc->images_per_s = n / MAX (float_us / 1e6, 1e-9);
      float_side_finish (fc, &w);
      store_float_side (opts.cache, fc);
    }
  r->float_images_per_s = fc->images_per_s;
  if (quant)
    r->quant_images_per_s = n / MAX (quant_us / 1e6, 1e-9);
  if (opts.cache != NULL)
    {
      g_mutex_lock (&opts.cache->lock);
      if (fengine != NULL)
        opts.cache->float_spi = float_us / 1e6 / n;
      else if (!fc->from_disk && fc->images_per_s > 0)
        opts.cache->float_spi = 1.0 / fc->images_per_s;
      if (quant)
        opts.cache->quant_spi = quant_us / 1e6 / n;
      opts.cache->fill_spi = w.fill_us / 1e6 / n;
      g_mutex_unlock (&opts.cache->lock);
    }
  /* its last use: its packed weights and arenas go before the layer statistics run */
  g_clear_pointer (&fengine, qs_engine_float_free);
  if (engine != NULL)
    {
      if (opts.layer_stats
          && !layer_activation_stats (model, engine, &w, MIN (n, LAYER_STATS_IMAGES), &act_acc,
                                      cancellable, error))
        return NULL;
      stored = g_new0 (QsEngineLayerWeights, qs_model_get_n_layers (model));
      for (guint i = 0; i < qs_model_get_n_layers (model); i++)
        qs_engine_int_get_layer_weights (engine, i, &stored[i]);
    }
  /* NaN or infinity in an output (or in the image itself: ReLU and max pooling can hide it
   * behind a finite answer): counted and located in the first such image, never silently
   * argmax 0 */
  {
    g_autoptr(QsEngineFloat) fe = NULL;
    gint64 first_f = -1, first_q = -1;
    guint count_f = 0, count_q = 0;
    const float *x;

    for (guint i = 0; i < n; i++)
      {
        gboolean bad_in = fc->nonfinite_input != NULL && fc->nonfinite_input[i];
        gboolean bad_f = bad_in, bad_q = bad_in;

        for (gsize k = 0; k < fc->out_size && !bad_f; k++)
          bad_f = !isfinite (fc->outputs[(gsize) i * fc->out_size + k]);
        for (gsize k = 0; k < fc->out_size && quant && !bad_q; k++)
          bad_q = !isfinite (quant_out[(gsize) i * fc->out_size + k]);
        if (bad_f && count_f++ == 0)
          first_f = i;
        if (quant && bad_q && count_q++ == 0)
          first_q = i;
      }
    if (first_f >= 0 && (fe = qs_engine_float_new (model, NULL)) != NULL)
      {
        if ((x = window_get (&w, first_f, 1, error)) == NULL)
          return NULL;
        r->float_nonfinite = count_f;
        qs_engine_float_find_nonfinite (fe, x, 1, fc->outputs + (gsize) first_f * fc->out_size,
                                        &r->float_nonfinite_at);
      }
    if (first_q >= 0)
      {
        if ((x = window_get (&w, first_q, 1, error)) == NULL)
          return NULL;
        r->quant_nonfinite = count_q;
        if (hybrid != NULL)
          qs_engine_float_find_nonfinite (hybrid->engine, x, 1,
                                          quant_out + (gsize) first_q * fc->out_size,
                                          &r->quant_nonfinite_at);
        else
          quant_find_nonfinite (engine, x, fc->in_size, quant_out + (gsize) first_q * fc->out_size,
                                fc->out_size, 1, &r->quant_nonfinite_at);
      }
  }
  r->input_window = w.capacity;
  g_debug ("eval: %u images, a window of %u (%.1f MB); %" G_GUINT64_FORMAT " filled, %.3f ms each; "
           "quantized engine %.3f ms per image",
           n, w.capacity, (double) w.capacity * w.in_size * sizeof (float) / 1e6, w.filled,
           w.filled ? w.fill_us / 1e3 / w.filled : 0.0, quant ? quant_us / 1e3 / n : NAN);
  if (progress)
    progress (0.9, progress_data);

  class_count = g_new0 (guint, nc);
  pf = g_new (double, nc);
  pq = g_new (double, nc);
  for (guint i = 0; i < n; i++)
    {
      gint label = qs_dataset_get_label (dataset, i);
      const float *fo = fc->outputs + (gsize) i * nc;
      gboolean t1, t5;
      guint af, aq;

      topk (fo, nc, label, &t1, &t5, &af);
      f1 += t1; f5 += t5;
      if (label >= 0 && (guint) label < nc)
        {
          class_count[label]++;
          r->float_per_class[label] += t1;
          r->float_confusion[(gsize) label * nc + af]++;
        }
      if (quant)
        {
          const float *qo = quant_out + (gsize) i * nc;

          topk (qo, nc, label, &t1, &t5, &aq);
          q1 += t1; q5 += t5;
          agree += af == aq;
          if (label >= 0 && (guint) label < nc)
            {
              r->quant_per_class[label] += t1;
              r->quant_confusion[(gsize) label * nc + aq]++;
            }
          overlap += top5_overlap (fo, qo, nc);
          to_distribution (fo, nc, pf);
          to_distribution (qo, nc, pq);
          for (guint c = 0; c < nc; c++)
            if (pf[c] > 0.0)
              kl += pf[c] * log (pf[c] / MAX (pq[c], 1e-12));
        }
    }
  r->float_top1 = r->labelled ? (double) f1 / n : NAN;
  r->float_top5 = r->labelled ? (double) f5 / n : NAN;
  for (guint c = 0; c < nc; c++)
    {
      r->float_per_class[c] = class_count[c] ? r->float_per_class[c] / class_count[c] : NAN;
      r->quant_per_class[c] = class_count[c] && quant ? r->quant_per_class[c] / class_count[c] : NAN;
    }
  if (quant)
    {
      r->quant_top1 = r->labelled ? (double) q1 / n : NAN;
      r->quant_top5 = r->labelled ? (double) q5 / n : NAN;
      r->agreement = (double) agree / n;
      r->mean_kl = kl / n;
      r->top5_overlap = overlap / n;
      output_errors (fc->outputs, quant_out, (gsize) n * nc, r);
    }
  total.n_total = n;
  total.labelled = r->labelled;
  score_top1 (dataset, fc->outputs, quant_out, nc, 0, n, &total);
  total.n_images = n;
  qs_eval_partial_compute (&total);
  r->summary = total;
  fill_layers (r, model, quant ? config : NULL, act_acc, stored);
  if (opts.keep_outputs)
    {
      r->float_outputs = g_memdup2 (fc->outputs, (gsize) n * nc * sizeof (float));
      r->quant_outputs = g_steal_pointer (&quant_out);
    }
  r->seconds = (g_get_monotonic_time () - t_start) / 1e6;
  if (progress)
    progress (1.0, progress_data);
  return g_steal_pointer (&r);
}

/* --- async --- */

typedef struct
{
  QsModel       *model;
  QsConfig      *config;
  QsDataset     *dataset;
  QsEvalOptions  options;
} AsyncData;

static void
async_data_free (gpointer data)
{
  AsyncData *d = data;

  g_object_unref (d->model);
  g_clear_object (&d->config);
  g_object_unref (d->dataset);
  g_clear_pointer (&d->options.cache, qs_eval_cache_unref);
  g_free (d);
}

static void
eval_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  AsyncData *d = task_data;
  GError *error = NULL;
  QsEvalResult *r;

  QS_TSAN_ACQUIRE (task);   /* qs_eval_run_async () filled d; GThreadPool handed it over */
  r = qs_eval_run (d->model, d->config, d->dataset, &d->options, NULL, NULL, cancellable, &error);
  QS_TSAN_RELEASE (task);   /* the result and d reach qs_eval_run_finish () through GLib */
  if (r == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, r, (GDestroyNotify) qs_eval_result_unref);
}

void
qs_eval_run_async (QsModel             *model,
                   QsConfig            *config,
                   QsDataset           *dataset,
                   const QsEvalOptions *options,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncData *d;

  g_return_if_fail (QS_IS_MODEL (model));
  g_return_if_fail (QS_IS_DATASET (dataset));

  d = g_new0 (AsyncData, 1);
  d->model = g_object_ref (model);
  d->config = config ? qs_config_copy (config) : NULL;   /* a snapshot: the caller may edit on */
  d->dataset = g_object_ref (dataset);
  if (options != NULL)
    d->options = *options;
  if (d->options.cache != NULL)
    qs_eval_cache_ref (d->options.cache);
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, qs_eval_run_async);
  g_task_set_task_data (task, d, async_data_free);
  QS_TSAN_RELEASE (task);
  g_task_run_in_thread (task, eval_thread);
}

QsEvalResult *
qs_eval_run_finish (GAsyncResult  *result,
                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == qs_eval_run_async, NULL);
  QS_TSAN_ACQUIRE (result);   /* eval_thread () */
  return g_task_propagate_pointer (G_TASK (result), error);
}
