/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <math.h>
#include <string.h>

#include "qs-document.h"
#include "test-sample.h"

static QsModel *sample_model;
static char *tmp_dir;

static QsDocument *
new_document (void)
{
  QsDocument *doc = qs_document_new (sample_model, NULL, NULL);

  qs_document_set_autosave_delay (doc, 0);
  return doc;
}

/* The first layer with a kernel. */
static const char *
first_kernel_layer (void)
{
  for (guint i = 0; i < qs_model_get_n_layers (sample_model); i++)
    if (qs_layer_get_kernel (qs_model_get_layer (sample_model, i)) != NULL)
      return qs_model_get_layer (sample_model, i)->name;
  g_assert_not_reached ();
  return NULL;
}

static guint
layer_bits (QsDocument *doc,
            const char *layer)
{
  QsLayerConfig lc;

  qs_config_get_layer (qs_document_get_config (doc), layer, &lc);
  return lc.weight.bits;
}

static void
set_bits (QsDocument *doc,
          const char *layer,
          guint       bits,
          const char *coalesce_key)
{
  const char *layers[] = { layer, NULL };
  QsLayerConfig lc;

  qs_config_get_layer (qs_document_get_config (doc), layer, &lc);
  lc.weight.format = QS_FORMAT_INT;
  lc.weight.bits = bits;
  qs_document_set_layer_config (doc, layers, &lc, "Weight Bits", coalesce_key);
}

static void
wait_idle (QsDocument *doc)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (qs_document_get_busy (doc))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
test_document_undo_redo (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  const char *layer = first_kernel_layer ();
  g_autoptr(QsConfig) original = qs_config_copy (qs_document_get_config (doc));

  g_assert_false (qs_document_can_undo (doc));
  g_assert_false (qs_document_get_modified (doc));
  g_assert_cmpuint (layer_bits (doc, layer), ==, 8);

  set_bits (doc, layer, 4, NULL);
  g_assert_cmpuint (layer_bits (doc, layer), ==, 4);
  g_assert_true (qs_document_can_undo (doc));
  g_assert_true (qs_document_get_modified (doc));
  g_assert_cmpstr (qs_document_get_undo_label (doc), ==, "Weight Bits");

  g_assert_true (qs_document_undo (doc));
  g_assert_cmpuint (layer_bits (doc, layer), ==, 8);
  g_assert_true (qs_config_equal (qs_document_get_config (doc), original));
  g_assert_false (qs_document_get_modified (doc));   /* back at the saved state */
  g_assert_true (qs_document_can_redo (doc));
  g_assert_false (qs_document_undo (doc));

  g_assert_true (qs_document_redo (doc));
  g_assert_cmpuint (layer_bits (doc, layer), ==, 4);
  g_assert_false (qs_document_can_redo (doc));

  /* A new change after an undo drops the redo branch. */
  g_assert_true (qs_document_undo (doc));
  set_bits (doc, layer, 6, NULL);
  g_assert_false (qs_document_can_redo (doc));
  g_assert_cmpuint (layer_bits (doc, layer), ==, 6);

  /* Setting what is already there records nothing. */
  g_assert_true (qs_document_undo (doc));
  g_assert_false (qs_document_can_undo (doc));
  set_bits (doc, layer, 8, NULL);
  g_assert_false (qs_document_can_undo (doc));
}

static void
test_document_coalesce (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  const char *layer = first_kernel_layer ();

  /* A spin button dragged from 8 to 3: one undo step. */
  for (guint bits = 7; bits >= 3; bits--)
    set_bits (doc, layer, bits, "conv/bits");
  g_assert_cmpuint (layer_bits (doc, layer), ==, 3);
  g_assert_true (qs_document_undo (doc));
  g_assert_cmpuint (layer_bits (doc, layer), ==, 8);
  g_assert_false (qs_document_can_undo (doc));

  /* Different keys are different steps. */
  set_bits (doc, layer, 6, "conv/bits");
  set_bits (doc, layer, 5, "other");
  g_assert_true (qs_document_undo (doc));
  g_assert_cmpuint (layer_bits (doc, layer), ==, 6);
  g_assert_true (qs_document_undo (doc));
  g_assert_cmpuint (layer_bits (doc, layer), ==, 8);

  /* After an undo, or an explicit break, the same key starts a new step. */
  set_bits (doc, layer, 7, "conv/bits");
  qs_document_break_coalescing (doc);
  set_bits (doc, layer, 6, "conv/bits");
  g_assert_true (qs_document_undo (doc));
  g_assert_cmpuint (layer_bits (doc, layer), ==, 7);
}

static void
test_document_presets (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  g_autoptr(GError) error = NULL;
  const char *layer = first_kernel_layer ();
  const char *layers[] = { layer, NULL };
  guint n = qs_model_get_n_layers (sample_model);

  g_assert_true (qs_document_apply_preset (doc, "fp32", NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      QsLayerConfig lc;

      qs_config_get_layer (qs_document_get_config (doc), qs_model_get_layer (sample_model, i)->name, &lc);
      g_assert_cmpint (lc.weight.format, ==, QS_FORMAT_FP32);
      g_assert_false (lc.quantize_activations);
    }
  g_assert_true (qs_document_undo (doc));

  /* To one layer only: the others keep w8a8. */
  g_assert_true (qs_document_apply_preset (doc, "w4g32", layers, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (layer_bits (doc, layer), ==, 4);
  for (guint i = 0; i < n; i++)
    {
      const QsLayer *l = qs_model_get_layer (sample_model, i);
      if (qs_layer_get_kernel (l) != NULL && g_strcmp0 (l->name, layer) != 0)
        g_assert_cmpuint (layer_bits (doc, l->name), ==, 8);
    }

  g_assert_false (qs_document_apply_preset (doc, "no-such-preset", NULL, &error));
  g_assert_error (error, QS_CONFIG_ERROR, QS_CONFIG_ERROR_UNKNOWN_PRESET);
  g_clear_error (&error);

  /* A preset sets formats: the user's calibration set, its size, the preprocessing and
   * the requantization mode stay (a preset used to put back "sample-train", which a model
   * with its own data cannot calibrate on). */
  {
    g_autoptr(QsConfig) mine = qs_config_copy (qs_document_get_config (doc));
    QsPreprocess pp;

    g_assert_true (qs_preprocess_parse (&pp, "scale=0.5,resize=32", &error));
    g_assert_no_error (error);
    qs_config_set_calib_source (mine, "/data/my-photos.npy");
    qs_config_set_calib_images (mine, 123);
    qs_config_set_preprocess (mine, &pp);
    qs_config_set_requant_mode (mine, QS_REQUANT_FP32_RNE);
    qs_document_set_config (doc, mine, "mine");
    g_assert_true (qs_document_apply_preset (doc, "w4a8", NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (layer_bits (doc, layer), ==, 4);
    g_assert_cmpstr (qs_config_get_calib_source (qs_document_get_config (doc)), ==, "/data/my-photos.npy");
    g_assert_cmpuint (qs_config_get_calib_images (qs_document_get_config (doc)), ==, 123);
    g_assert_cmpint (qs_config_get_requant_mode (qs_document_get_config (doc)), ==, QS_REQUANT_FP32_RNE);
    g_assert_true (qs_preprocess_equal (qs_config_get_preprocess (qs_document_get_config (doc)), &pp));
  }
}

typedef struct
{
  QsDocument *doc;
  GError     *error;
  gboolean    done;
} LoadWait;

static void
load_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  LoadWait *wait = user_data;

  wait->doc = qs_document_load_session_finish (result, &wait->error);
  wait->done = TRUE;
}

static QsDocument *
load_session (const char  *path,
              GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  LoadWait wait = { 0 };

  qs_document_load_session_async (file, NULL, load_cb, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);
  return wait.doc;
}

static void
test_document_session (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  g_autoptr(QsDocument) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, "round-trip.json", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *bogus = g_build_filename (tmp_dir, "bogus.json", NULL);
  const char *layer = first_kernel_layer ();

  set_bits (doc, layer, 3, NULL);
  qs_document_set_notes (doc, "three bits for the first conv — too few?");
  g_assert_true (qs_document_get_modified (doc));
  g_assert_true (qs_document_save_session (doc, file, &error));
  g_assert_no_error (error);
  g_assert_false (qs_document_get_modified (doc));
  g_assert_true (qs_document_is_session_file (path));

  loaded = load_session (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  g_assert_true (qs_config_equal (qs_document_get_config (loaded), qs_document_get_config (doc)));
  g_assert_cmpuint (layer_bits (loaded, layer), ==, 3);
  g_assert_cmpstr (qs_document_get_notes (loaded), ==, "three bits for the first conv — too few?");
  g_assert_cmpstr (qs_model_get_checksum (qs_document_get_model (loaded)), ==, qs_model_get_checksum (sample_model));
  g_assert_false (qs_document_get_checksum_mismatch (loaded));
  g_assert_false (qs_document_get_modified (loaded));
  g_assert_true (g_file_equal (qs_document_get_file (loaded), file));

  /* Not a session: a clear error, no crash. */
  g_assert_true (g_file_set_contents (bogus, "{\"schema_version\": 1}", -1, NULL));
  g_assert_false (qs_document_is_session_file (bogus));
  g_assert_null (load_session (bogus, &error));
  g_assert_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (bogus, "{\"format\": \"quantscope-session\", \"version\": 99}", -1, NULL));
  g_assert_null (load_session (bogus, &error));
  g_assert_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_VERSION);
}

static void
test_document_autosave (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  g_autoptr(QsDocument) restored = NULL;
  g_autoptr(QsConfig) changed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *autosave = NULL;
  g_autofree char *found = NULL;
  const char *layer = first_kernel_layer ();

  g_assert_null (qs_document_find_autosave ());

  /* Unmodified: nothing is written. */
  g_assert_true (qs_document_autosave_now (doc, &error));
  g_assert_false (g_file_test (qs_document_get_autosave_path (doc), G_FILE_TEST_EXISTS));

  set_bits (doc, layer, 5, NULL);
  g_assert_true (qs_document_autosave_now (doc, &error));
  g_assert_no_error (error);
  autosave = g_strdup (qs_document_get_autosave_path (doc));
  g_assert_true (g_file_test (autosave, G_FILE_TEST_IS_REGULAR));
  /* A live document's own autosave is never offered for restore. */
  g_assert_null (qs_document_find_autosave ());

  /* The process "dies" without closing the document. */
  changed = qs_config_copy (qs_document_get_config (doc));
  g_clear_object (&doc);

  found = qs_document_find_autosave ();
  g_assert_cmpstr (found, ==, autosave);
  restored = load_session (found, &error);
  g_assert_no_error (error);
  g_assert_true (qs_config_equal (qs_document_get_config (restored), changed));
  g_assert_true (qs_document_get_modified (restored));   /* restored work is unsaved work */
  g_assert_null (qs_document_get_file (restored));
  g_assert_cmpstr (qs_document_get_autosave_path (restored), ==, autosave);
  g_assert_null (qs_document_find_autosave ());

  /* Closing it on purpose removes the autosave. */
  qs_document_discard_autosave (restored);
  g_assert_false (g_file_test (autosave, G_FILE_TEST_EXISTS));
}

/* A crash loses no undo history: the autosave keeps the undo and redo steps (configs and
 * labels), and the restored document undoes and redoes as the lost one would have. */
static void
test_document_autosave_history (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  g_autoptr(QsDocument) restored = NULL;
  g_autoptr(QsConfig) original = qs_config_copy (qs_document_get_config (doc));
  g_autoptr(QsConfig) five = NULL;
  g_autoptr(QsConfig) six = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *autosave = NULL;
  g_autofree char *contents = NULL;
  const char *layer = first_kernel_layer ();

  set_bits (doc, layer, 5, NULL);
  five = qs_config_copy (qs_document_get_config (doc));
  g_assert_true (qs_document_apply_preset (doc, "w4a4", NULL, &error));
  g_assert_no_error (error);
  set_bits (doc, layer, 6, NULL);
  six = qs_config_copy (qs_document_get_config (doc));
  g_assert_true (qs_document_undo (doc));            /* back to w4a4; "Weight Bits" to redo */
  g_assert_cmpuint (qs_document_get_n_history_steps (doc, FALSE), ==, 2);
  g_assert_cmpuint (qs_document_get_n_history_steps (doc, TRUE), ==, 1);

  g_assert_true (qs_document_autosave_now (doc, &error));
  g_assert_no_error (error);
  autosave = g_strdup (qs_document_get_autosave_path (doc));
  g_clear_object (&doc);                              /* the process "dies" */

  restored = load_session (autosave, &error);
  g_assert_no_error (error);
  g_assert_true (qs_document_can_undo (restored));
  g_assert_true (qs_document_can_redo (restored));
  g_assert_cmpstr (qs_document_get_undo_label (restored), ==, "Apply Preset w4a4");
  g_assert_cmpstr (qs_document_get_redo_label (restored), ==, "Weight Bits");

  g_assert_true (qs_document_redo (restored));
  g_assert_true (qs_config_equal (qs_document_get_config (restored), six));
  g_assert_true (qs_document_undo (restored));
  g_assert_true (qs_document_undo (restored));
  g_assert_true (qs_config_equal (qs_document_get_config (restored), five));
  g_assert_cmpstr (qs_document_get_undo_label (restored), ==, "Weight Bits");
  g_assert_true (qs_document_undo (restored));
  g_assert_true (qs_config_equal (qs_document_get_config (restored), original));
  g_assert_false (qs_document_can_undo (restored));
  qs_document_discard_autosave (restored);
  g_clear_object (&restored);

  /* A damaged history is left out; the config is still restored. */
  {
    g_autoptr(QsDocument) damaged = NULL;
    g_autofree char *dir = qs_document_autosave_dir ();
    g_autofree char *path = g_build_filename (dir, "session-damaged-history.json", NULL);
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(JsonGenerator) generator = json_generator_new ();
    g_autofree char *json = NULL;
    g_autoptr(QsDocument) source = new_document ();
    JsonObject *root;

    set_bits (source, layer, 3, NULL);
    g_assert_true (qs_document_autosave_now (source, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (qs_document_get_autosave_path (source), &json, NULL, NULL));
    g_assert_nonnull (strstr (json, "\"undo\""));
    g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
    root = json_node_get_object (json_parser_get_root (parser));
    json_object_set_string_member (root, "undo", "not steps");
    json_generator_set_root (generator, json_parser_get_root (parser));
    g_clear_pointer (&json, g_free);
    json = json_generator_to_data (generator, NULL);
    g_assert_true (g_file_set_contents (path, json, -1, NULL));
    damaged = load_session (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (layer_bits (damaged, layer), ==, 3);
    g_assert_false (qs_document_can_undo (damaged));
    qs_document_discard_autosave (damaged);
    qs_document_discard_autosave (source);
  }
}

static void
test_document_live (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  const char *layer = first_kernel_layer ();
  QsQuantResult *result;
  double sqnr8, sqnr4, signal = 0, noise = 0;
  guint64 float_bytes = 0;
  QsSummary summary;

  qs_document_refresh (doc);
  wait_idle (doc);
  result = qs_document_get_layer_result (doc, layer);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->params->spec.bits, ==, 8);
  sqnr8 = result->stats.sqnr_db;
  g_assert_true (isfinite (sqnr8));

  set_bits (doc, layer, 4, NULL);
  /* The stale int8 result is gone at once; the int4 one arrives. */
  g_assert_null (qs_document_get_layer_result (doc, layer));
  wait_idle (doc);
  result = qs_document_get_layer_result (doc, layer);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->params->spec.bits, ==, 4);
  sqnr4 = result->stats.sqnr_db;
  /* About 6 dB per bit: four bits fewer cost well over 15 dB. */
  g_assert_cmpfloat (sqnr4, <, sqnr8 - 15.0);

  /* The summary is the independent sum over the layers. */
  qs_document_get_summary (doc, &summary);
  g_assert_cmpuint (summary.n_layers_pending, ==, 0);
  g_assert_cmpuint (summary.n_layers_failed, ==, 0);
  for (guint i = 0; i < qs_model_get_n_layers (sample_model); i++)
    {
      const QsLayer *l = qs_model_get_layer (sample_model, i);

      for (guint k = 0; k < l->weights->len; k++)
        float_bytes += 4 * ((QsTensor *) g_ptr_array_index (l->weights, k))->n_elements;
      if (qs_layer_get_kernel (l) != NULL)
        {
          QsQuantResult *r = qs_document_get_layer_result (doc, l->name);
          signal += r->stats.signal_power * r->stats.n_values;
          noise += r->stats.mse * r->stats.n_values;
        }
    }
  g_assert_cmpuint (summary.float_bytes, ==, float_bytes);
  g_assert_cmpuint (summary.quant_bytes, <, float_bytes / 3);
  g_assert_cmpfloat_with_epsilon (summary.weighted_sqnr_db, 10 * log10 (signal / noise), 1e-9);
  g_assert_cmpuint (summary.peak_activation_bytes, <, summary.peak_activation_float_bytes);
  g_assert_cmpuint (summary.peak_activation_bytes, >, 0);

  g_assert_true (qs_document_undo (doc));
  wait_idle (doc);
  g_assert_cmpfloat (qs_document_get_layer_result (doc, layer)->stats.sqnr_db, ==, sqnr8);
}

static void
count_notify (gpointer data)
{
  (*(guint *) data)++;
}

/* "busy" says whether statistics are being computed and notifies only when that changes:
 * once when the layers are submitted, once when the last one arrives. */
static void
test_document_busy (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  const char *layer = first_kernel_layer ();
  guint n_notify = 0;

  g_signal_connect_swapped (doc, "notify::busy", G_CALLBACK (count_notify), &n_notify);
  g_assert_false (qs_document_get_busy (doc));
  g_assert_false (qs_document_get_layer_busy (doc, layer));

  qs_document_refresh (doc);
  g_assert_true (qs_document_get_busy (doc));
  g_assert_true (qs_document_get_layer_busy (doc, layer));
  g_assert_cmpuint (n_notify, ==, 1);

  wait_idle (doc);
  g_assert_false (qs_document_get_layer_busy (doc, layer));
  g_assert_nonnull (qs_document_get_layer_result (doc, layer));
  /* Several layers finished one by one: still one notification for the end. */
  g_assert_cmpuint (n_notify, ==, 2);
}

static void
on_eval (gpointer data)
{
  (*(int *) data)++;
}

static void
test_document_quick_eval (void)
{
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsDocument) doc = NULL;
  g_autoptr(GError) error = NULL;
  QsEvalResult *eval;
  int n_evals = 0;

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  doc = qs_document_new (sample_model, NULL, dataset);
  qs_document_set_autosave_delay (doc, 0);
  g_assert_true (qs_document_can_evaluate (doc, NULL));
  g_signal_connect_swapped (doc, "quick-eval-changed", G_CALLBACK (on_eval), &n_evals);

  /* Three changes inside the debounce window run one evaluation. */
  qs_document_set_quick_subset (doc, 500);
  qs_document_refresh (doc);
  qs_document_set_quick_subset (doc, 1000);
  wait_idle (doc);
  g_assert_cmpint (n_evals, ==, 1);
  g_assert_null (qs_document_get_quick_eval_error (doc));
  eval = qs_document_get_quick_eval (doc);
  g_assert_nonnull (eval);
  g_assert_cmpuint (eval->n_images, ==, 1000);
  g_assert_cmpfloat (eval->float_top1, >, 0.8);
  /* int8 weights and activations cost the sample CNN at most a couple of points. */
  g_assert_cmpfloat (fabs (eval->quant_top1 - eval->float_top1), <, 0.03);
}

typedef struct
{
  QsDocument *doc;
  GError     *error;
  gboolean    done;
} ModelWait;

static void
model_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  ModelWait *wait = user_data;

  wait->doc = qs_document_load_finish (result, &wait->error);
  wait->done = TRUE;
}

static QsDocument *
load_model (const char  *path,
            const char  *architecture,
            QsConfig    *config,
            GError     **error)
{
  ModelWait wait = { 0 };

  qs_document_load_async (path, architecture, config, NULL, model_cb, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);
  return wait.doc;
}

/* A weights-only file opens for exploring; attaching the architecture (what the banner's
 * button does) makes it runnable and keeps the config; a non-model is a clear error. */
static void
test_document_attach_architecture (void)
{
  const char *shared = g_getenv ("QS_SHARED_DIR");
  g_autofree char *weights = NULL, *architecture = NULL, *bogus = NULL;
  g_autoptr(QsDocument) doc = NULL;
  g_autoptr(QsDocument) attached = NULL;
  g_autoptr(GError) error = NULL;
  const char *why = NULL;

  weights = g_build_filename (shared ? shared : "", "models", "MrEliptik__Keras_to_TF_NCS2__weights.h5", NULL);
  architecture = g_build_filename (shared ? shared : "", "models", "MrEliptik__Keras_to_TF_NCS2__model.h5", NULL);
  if (shared == NULL || !g_file_test (weights, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("../shared/models not available");
      return;
    }

  doc = load_model (weights, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (qs_document_can_evaluate (doc, &why));
  g_assert_nonnull (why);
  g_assert_false (qs_model_can_infer (qs_document_get_model (doc), NULL));
  g_assert_true (qs_document_apply_preset (doc, "w4a8", NULL, NULL));

  attached = load_model (weights, architecture, qs_document_get_config (doc), &error);
  g_assert_no_error (error);
  g_assert_true (qs_model_can_infer (qs_document_get_model (attached), NULL));
  g_assert_true (qs_document_can_evaluate (attached, NULL));   /* 28x28 input: the sample fits */
  g_assert_true (qs_config_equal (qs_document_get_config (attached), qs_document_get_config (doc)));
  g_assert_cmpstr (qs_document_get_architecture_path (attached), ==, architecture);

  bogus = g_build_filename (tmp_dir, "not-a-model.h5", NULL);
  g_assert_true (g_file_set_contents (bogus, "hello", -1, NULL));
  g_assert_null (load_model (bogus, NULL, NULL, &error));
  g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NOT_HDF5);
}

static guint64
json_uint (JsonObject *o,
           const char *member)
{
  g_assert_true (json_object_has_member (o, member));
  return (guint64) json_object_get_int_member (o, member);
}

/* The summary and `quantscope-cli quantize` show the same cost numbers for the same
 * config: the document's config is exported as the user would (Export Config) and the
 * real CLI binary reads it. */
static void
test_document_cost_matches_cli (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *config_path = g_build_filename (tmp_dir, "cost.json", NULL);
  g_autofree char *out = NULL;
  const char *cli = g_getenv ("QS_CLI");
  const char *layer = first_kernel_layer ();
  JsonObject *o;
  QsSummary summary;
  gint status = 0;

  if (cli == NULL)
    {
      g_test_skip ("QS_CLI is not set");
      return;
    }
  /* a mixed config: one layer at 4 bits, the rest w8a8 */
  set_bits (doc, layer, 4, NULL);
  wait_idle (doc);
  qs_document_get_summary (doc, &summary);
  g_assert_true (qs_config_save_file (qs_document_get_config (doc), config_path, &error));
  g_assert_no_error (error);
  {
    const char *argv[] = { cli, "quantize", qs_model_get_path (sample_model), "--config", config_path,
                           "--json", NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                 &out, NULL, &status, &error));
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_boolean_member (o, "has_program"));
  g_assert_true (summary.has_program);
  g_assert_cmpuint (json_uint (o, "float_bytes"), ==, summary.float_bytes);
  g_assert_cmpuint (json_uint (o, "quant_bytes"), ==, summary.quant_bytes);
  g_assert_cmpuint (json_uint (o, "peak_activation_bytes"), ==, summary.peak_activation_bytes);
  g_assert_cmpuint (json_uint (o, "float_peak_activation_bytes"), ==, summary.peak_activation_float_bytes);
  g_assert_cmpuint (json_uint (o, "macs"), ==, summary.macs);
  g_assert_cmpuint (json_uint (o, "bit_ops"), ==, summary.bit_ops);
  /* and the 4-bit layer made a difference the CLI saw */
  g_assert_cmpuint (summary.quant_bytes, <, summary.float_bytes / 3);
  g_unlink (config_path);
}

/* Issue 17: a layer with more than 2M weights first shows statistics from a subsample
 * (is_estimate, n_sampled), then the exact ones replace them; the exact ones are
 * qs_quant_run ()'s on the whole kernel. */
static QsModel *
big_dense_model (gsize in,
                 gsize out)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *input = qs_layer_new ("input", "InputLayer", QS_LAYER_INPUT);
  QsLayer *dense = qs_layer_new ("big", "Dense", QS_LAYER_DENSE);
  gsize kshape[] = { in, out }, bshape[] = { out };
  QsTensor *kernel = qs_tensor_new ("big/kernel", 2, kshape, NULL);
  QsTensor *bias = qs_tensor_new ("big/bias", 1, bshape, NULL);
  g_autoptr(GError) error = NULL;
  guint32 seed = 7;
  QsModel *model;

  for (gsize i = 0; i < kernel->n_elements; i++)
    {
      double s = 0;

      for (int k = 0; k < 3; k++)
        {
          seed = seed * 1664525u + 1013904223u;
          s += (double) (seed >> 8) / (1 << 24) - 0.5;
        }
      kernel->data[i] = (float) (0.05 * s * (1.0 + (i % out) / (double) out));
    }
  memset (bias->data, 0, sizeof (float) * out);
  qs_tensor_set_layout (kernel, QS_TENSOR_LAYOUT_DENSE);
  qs_tensor_set_layout (bias, QS_TENSOR_LAYOUT_VECTOR);
  input->output_rank = 1;
  input->output_shape[0] = in;
  input->inputs = g_new0 (guint, 1);
  dense->units = out;
  dense->n_inputs = 1;
  dense->inputs = g_new0 (guint, 1);
  g_ptr_array_add (dense->weights, kernel);
  g_ptr_array_add (dense->weights, bias);
  g_ptr_array_add (layers, input);
  g_ptr_array_add (layers, dense);
  model = qs_model_new_from_layers ("big", layers, &error);
  g_assert_no_error (error);
  return model;
}

static void
on_big_result (GPtrArray  *seen,
               const char *layer,
               QsDocument *doc)
{
  QsQuantResult *r = qs_document_get_layer_result (doc, layer);

  if (g_strcmp0 (layer, "big") == 0 && r != NULL)
    g_ptr_array_add (seen, qs_quant_result_ref (r));
}

static void
check_estimate_then_exact (QsDocument *doc,
                           GPtrArray  *seen,
                           guint       bits)
{
  QsTensor *kernel = qs_layer_get_kernel (qs_model_find_layer (qs_document_get_model (doc), "big"));
  QsQuantResult *first, *last;
  g_autoptr(QsQuantResult) full = NULL;
  g_autoptr(GError) error = NULL;
  QsQuantOptions options = { 0 };
  QsLayerConfig lc;

  wait_idle (doc);
  g_assert_cmpuint (seen->len, ==, 2);
  first = g_ptr_array_index (seen, 0);
  last = g_ptr_array_index (seen, 1);

  /* the estimate first: flagged, from a subsample, scaled to the whole kernel */
  g_assert_true (first->is_estimate);
  g_assert_cmpuint (first->n_sampled, >, 0);
  g_assert_cmpuint (first->n_sampled, <=, 256 * 1024);
  g_assert_cmpuint (first->input->n_elements, ==, first->n_sampled);
  g_assert_cmpuint (first->stats.n_values, ==, kernel->n_elements);
  g_assert_cmpuint (first->params->spec.bits, ==, bits);
  /* then the exact result replaces it and stays */
  g_assert_false (last->is_estimate);
  g_assert_cmpuint (last->n_sampled, ==, 0);
  g_assert_true (last == qs_document_get_layer_result (doc, "big"));
  g_assert_true (last->input == kernel);
  g_assert_cmpfloat (fabs (first->stats.sqnr_db - last->stats.sqnr_db), <, 0.5);

  /* the exact statistics are qs_quant_run ()'s on the full tensor */
  qs_config_get_layer (qs_document_get_config (doc), "big", &lc);
  options.want_dequant = TRUE;
  options.want_codes = TRUE;
  options.hist_bins = 128;
  options.hist_channel = -1;
  options.map_width = options.map_height = 128;
  full = qs_quant_run (kernel, &lc.weight, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (last->stats.n_values, ==, full->stats.n_values);
  g_assert_cmpuint (last->stats.n_clipped, ==, full->stats.n_clipped);
  g_assert_cmpuint (last->stats.levels_used, ==, full->stats.levels_used);
  g_assert_cmpuint (last->stats.storage_bits, ==, full->stats.storage_bits);
  g_assert_cmpfloat (last->stats.mse, ==, full->stats.mse);
  g_assert_cmpfloat (last->stats.sqnr_db, ==, full->stats.sqnr_db);
  g_assert_cmpfloat (last->stats.max_abs_error, ==, full->stats.max_abs_error);
  g_assert_cmpfloat (last->stats.cosine, ==, full->stats.cosine);
  g_assert_cmpmem (last->dequant->data, sizeof (float) * kernel->n_elements,
                   full->dequant->data, sizeof (float) * kernel->n_elements);
  /* the estimate's ranges are the whole kernel's (per channel) */
  g_assert_cmpmem (first->params->scale, sizeof (float) * first->params->n_params,
                   full->params->scale, sizeof (float) * full->params->n_params);
  g_ptr_array_set_size (seen, 0);
}

static void
test_document_big_layer_estimate (void)
{
  g_autoptr(QsModel) model = big_dense_model (2048, 1536);
  g_autoptr(QsDocument) doc = qs_document_new (model, NULL, NULL);
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_quant_result_unref);
  QsSummary summary;

  qs_document_set_autosave_delay (doc, 0);
  g_signal_connect_swapped (doc, "layer-result-changed", G_CALLBACK (on_big_result), seen);
  qs_document_set_focus_layer (doc, "big");

  qs_document_refresh (doc);
  check_estimate_then_exact (doc, seen, 8);
  set_bits (doc, "big", 4, NULL);
  check_estimate_then_exact (doc, seen, 4);

  qs_document_get_summary (doc, &summary);
  g_assert_cmpuint (summary.n_layers_pending, ==, 0);
  g_assert_cmpuint (summary.n_layers_estimated, ==, 0);
  g_signal_handlers_disconnect_by_data (doc, seen);
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = NULL;
  int ret;

  tmp_dir = g_dir_make_tmp ("quantscope-test-document-XXXXXX", NULL);
  data_home = g_build_filename (tmp_dir, "data", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  g_test_init (&argc, &argv, NULL);

  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/document/undo-redo", test_document_undo_redo);
  g_test_add_func ("/qs/document/coalesce", test_document_coalesce);
  g_test_add_func ("/qs/document/presets", test_document_presets);
  g_test_add_func ("/qs/document/session-round-trip", test_document_session);
  g_test_add_func ("/qs/document/autosave-restore", test_document_autosave);
  g_test_add_func ("/qs/document/autosave-keeps-undo-history", test_document_autosave_history);
  g_test_add_func ("/qs/document/live-results", test_document_live);
  g_test_add_func ("/qs/document/big-layer-estimate-then-exact", test_document_big_layer_estimate);
  g_test_add_func ("/qs/document/busy", test_document_busy);
  g_test_add_func ("/qs/document/cost-matches-cli", test_document_cost_matches_cli);
  g_test_add_func ("/qs/document/quick-eval", test_document_quick_eval);
  g_test_add_func ("/qs/document/attach-architecture", test_document_attach_architecture);

  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
