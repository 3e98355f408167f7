/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"
#include "test-models.h"
#include "qs-export.h"
#include "qs-export-private.h"

/* The `c` export against the integer engine: every bundled sample model is exported, the
 * generated C compiled with the system compiler (strict C99, warnings as errors; also -m32
 * when the multilib is installed) and run on test images; its int8 output codes must equal
 * the engine's bit for bit in the engine's requantization mode. */

/* The engine computes QS_REQUANT_CMSIS_NN exactly as the generated C once the engine's
 * cmsis-nn mode is merged: then set this to 1 and the cmsis-nn comparison is exact too.
 * Until then the engine runs gemmlowp in that mode and codes may differ by 1. */
#define ENGINE_HAS_CMSIS_NN 1
/* The same for QS_REQUANT_SINGLE_ROUNDING (TFLite's single-rounding multiply). */
#define ENGINE_HAS_SINGLE_ROUNDING 1

#define N_IMAGES 300

static char *tmp_dir;
static char *cc;
static gboolean have_m32;       /* -m32 builds (gcc-multilib) */
static gboolean run_m32;        /* ... and this kernel runs them */
static char *no_m32_reason;
static QsCalibrationCache *calib_cache;

typedef struct
{
  const char    *model;      /* data/models/NAME.h5, or "model1" / "model2" (built here) */
  const char    *preset;
  QsRequantMode  mode;
} Case;

/* ------------------------------------------------------------------ small models
 * (as tests/test-engine-int.c builds them: every step kind the lowering has, including
 * zero padding, concatenation, dilation, a depth multiplier and reduced bit widths) */

static GRand *rng;

static QsModel *
build_model1 (void)
{
  return qs_test_model1 (rng);
}

static QsModel *
build_model2 (void)
{
  return qs_test_model2 (rng);
}

static float *
random_inputs (gsize n)
{
  float *x = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    x[i] = g_rand_int_range (rng, 0, 4) == 0 ? 0.0f : (float) g_rand_double_range (rng, 0.0, 1.0);
  return x;
}

/* ------------------------------------------------------------------ the comparison */

static char *
run_cmd (const char *cmdline,
         gboolean   *ok)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  gint status = 0;

  *ok = g_spawn_command_line_sync (cmdline, &out, &err, &status, &error)
        && g_spawn_check_wait_status (status, NULL);
  if (!*ok)
    g_test_message ("`%s` failed: %s%s%s", cmdline, error ? error->message : "", out ? out : "",
                    err ? err : "");
  return g_steal_pointer (&out);
}

typedef struct
{
  const char *name;
  float      *out;
  gboolean    seen;
} Tap;

static void
tap_cb (const char  *value_name,
        const float *data,
        gsize        n,
        gboolean     is_int,
        gpointer     user_data)
{
  Tap *t = user_data;

  if (g_strcmp0 (value_name, t->name) == 0 && is_int)
    {
      memcpy (t->out, data, n * sizeof (float));
      t->seen = TRUE;
    }
}

/* Compiles name.c + name_main.c with flags, runs it on in.bin, returns the output codes. */
static guint8 *
compile_and_run (const char *dir,
                 const char *name,
                 const char *flags,
                 const char *tag,
                 gsize       expect_bytes)
{
  g_autofree char *exe = g_strdup_printf ("%s/%s_%s", dir, name, tag);
  g_autofree char *out_bin = g_strdup_printf ("%s/out_%s.bin", dir, tag);
  g_autofree char *cmd = g_strdup_printf ("%s -std=c99 -Wall -Wextra -Werror -pedantic -O2 %s "
                                          "-o %s %s/%s.c %s/%s_main.c",
                                          cc, flags, exe, dir, name, dir, name);
  g_autofree char *printed = NULL, *printed2 = NULL;
  g_autofree char *run = NULL, *demo = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  gboolean ok;

  printed = run_cmd (cmd, &ok);
  g_assert_true (ok);
  run = g_strdup_printf ("%s %s/in.bin %s", exe, dir, out_bin);
  printed = (g_free (printed), run_cmd (run, &ok));
  g_assert_true (ok);
  g_assert_nonnull (strstr (printed, "inputs ->"));
  if (g_str_equal (tag, "native"))
    {
      /* float inputs through the generated <name>_quantize_input */
      g_autofree char *frun = g_strdup_printf ("%s -f %s/in.f32 %s/out_f32.bin", exe, dir, dir);

      g_free (run_cmd (frun, &ok));
      g_assert_true (ok);
    }
  demo = g_strdup (exe);
  printed2 = run_cmd (demo, &ok);
  g_assert_true (ok);
  g_assert_nonnull (strstr (printed2, "argmax:"));
  g_assert_true (g_file_get_contents (out_bin, &data, &len, NULL));
  g_assert_cmpuint (len, ==, expect_bytes);
  return (guint8 *) g_steal_pointer (&data);
}

static void
test_model (gconstpointer user_data)
{
  const Case *tc = user_data;
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "..", "data", "models",
                                                       tc->model, NULL);
  g_autofree char *stem = NULL, *name = NULL, *dir = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(QsEngineInt) engine = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) summary = g_string_new (NULL), summary2 = g_string_new (NULL);
  g_autofree float *x = NULL, *raw = NULL, *tapped = NULL;
  g_autofree gint8 *codes = NULL, *expect = NULL, *expect_f = NULL;
  g_autofree char *got_f = NULL, *out_f = NULL;
  gsize got_f_len = 0;
  guint mismatches_f = 0;
  g_autofree guint8 *got = NULL, *got32 = NULL;
  g_autofree char *objcmd = NULL, *sizecmd = NULL, *size_out = NULL;
  const QsExportFormat *format = qs_export_find_format ("c");
  QsExportContext ctx = { 0 };
  QsExportCInfo info = { 0 };
  guint n, mismatches = 0, mismatches32 = 0, max_diff = 0;
  gboolean exact, ok, synthetic;

  if (cc == NULL)
    {
      g_test_skip ("no C compiler (cc, or $CC) found");
      return;
    }
  g_assert_nonnull (format);
  g_assert_cmpstr (format->id, ==, "c");
  synthetic = !g_str_has_suffix (tc->model, ".h5");
  if (synthetic)
    {
      g_clear_pointer (&model_path, g_free);
      rng = g_rand_new_with_seed (7);
      model = g_str_equal (tc->model, "model1") ? build_model1 () : build_model2 ();
    }
  else
    model = qs_model_load (model_path, NULL, NULL, &error);
  g_assert_no_error (error);
  config = qs_config_new_from_preset (tc->preset, &error);
  g_assert_no_error (error);
  qs_config_set_requant_mode (config, tc->mode);
  lowering = qs_lowering_new (model, config, &error);
  g_assert_no_error (error);
  if (synthetic)
    {
      gsize in_size = qs_lowering_get_value (lowering, qs_lowering_get_input (lowering))->h
                      * qs_lowering_get_value (lowering, qs_lowering_get_input (lowering))->w
                      * qs_lowering_get_value (lowering, qs_lowering_get_input (lowering))->c;
      g_autofree float *calib_in = random_inputs (16 * in_size);

      calib = qs_calibration_new (model, calib_in, 16, NULL, NULL, NULL, &error);
    }
  else
    calib = qs_calibration_cache_get (calib_cache, model, "sample-train", 50, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  ranges = qs_calibration_make_ranges (calib, lowering, &error);
  g_assert_no_error (error);
  engine = qs_engine_int_new (lowering, ranges, &error);
  g_assert_no_error (error);

  name = g_strdelimit (synthetic ? g_strdup (tc->model)
                                 : g_strndup (tc->model, strlen (tc->model) - 3), "-", '_');
  dir = g_build_filename (tmp_dir, name, tc->preset, qs_requant_mode_to_string (tc->mode), NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  stem = g_build_filename (dir, name, NULL);
  ctx = (QsExportContext) { model, config, lowering, ranges, model_path };

  /* through the formats table, then once more for the numbers (the same files) */
  g_assert_true (qs_export_run (format, &ctx, stem, summary, &error));
  g_assert_no_error (error);
  g_assert_true (_qs_export_c_full (&ctx, stem, summary2, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (summary->str, ==, summary2->str);
  g_test_message ("%s", summary->str);
  g_assert_cmpuint (info.scratch_bytes, >, 0);

  /* test images -> int8 codes (what the C program reads) -> the floats those codes stand
   * for (what the engine reads: its own quantization gives back the same codes) */
  if (synthetic)
    {
      n = 100;
      x = random_inputs ((gsize) n * info.input_size);
    }
  else
    {
      dataset = qs_dataset_open ("sample", &error);
      g_assert_no_error (error);
      n = MIN (N_IMAGES, qs_dataset_get_n_images (dataset));
      x = g_new (float, (gsize) n * info.input_size);
      g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, n, x, &error));
    }
  codes = g_new (gint8, (gsize) n * info.input_size);
  raw = g_memdup2 (x, (gsize) n * info.input_size * sizeof (float));
  for (gsize i = 0; i < (gsize) n * info.input_size; i++)
    {
      float q = rintf (x[i] / info.input_scale) + (float) info.input_zero_point;

      codes[i] = (gint8) CLAMP (q, (float) info.input_qmin, (float) info.input_qmax);
      x[i] = (float) ((gint32) codes[i] - info.input_zero_point) * info.input_scale;
    }
  {
    g_autofree char *in_bin = g_build_filename (dir, "in.bin", NULL);

    g_autofree char *in_f32 = g_build_filename (dir, "in.f32", NULL);

    g_assert_true (g_file_set_contents (in_bin, (const char *) codes,
                                        (gssize) n * info.input_size, &error));
    g_assert_true (g_file_set_contents (in_f32, (const char *) raw,
                                        (gssize) (n * info.input_size * sizeof (float)), &error));
  }

  /* the engine's codes of the C program's output value */
  expect = g_new (gint8, (gsize) n * info.output_size);
  tapped = g_new (float, info.output_size);
  {
    const QsLoweredValue *ov = qs_lowering_get_value (lowering, info.output_value);
    Tap tap = { ov->name, tapped, FALSE };

    g_assert_nonnull (ov->name);
    for (guint i = 0; i < n; i++)
      {
        tap.seen = FALSE;
        g_assert_true (qs_engine_int_run_tapped (engine, x + (gsize) i * info.input_size, NULL,
                                                 tap_cb, &tap, &error));
        g_assert_true (tap.seen);
        for (gsize j = 0; j < info.output_size; j++)
          expect[(gsize) i * info.output_size + j] =
            (gint8) (lrintf (tapped[j] / info.output_scale) + info.output_zero_point);
      }
    /* the same from the raw floats: the engine's quantization against the generated one */
    expect_f = g_new (gint8, (gsize) n * info.output_size);
    for (guint i = 0; i < n; i++)
      {
        tap.seen = FALSE;
        g_assert_true (qs_engine_int_run_tapped (engine, raw + (gsize) i * info.input_size, NULL,
                                                 tap_cb, &tap, &error));
        g_assert_true (tap.seen);
        for (gsize j = 0; j < info.output_size; j++)
          expect_f[(gsize) i * info.output_size + j] =
            (gint8) (lrintf (tapped[j] / info.output_scale) + info.output_zero_point);
      }
  }

  got = compile_and_run (dir, name, "", "native", (gsize) n * info.output_size);
  /* the 32-bit build and the object size once per model (gemmlowp): the other modes change
   * only the requantization function */
  if (run_m32 && tc->mode == QS_REQUANT_GEMMLOWP)
    got32 = compile_and_run (dir, name, "-m32", "m32", (gsize) n * info.output_size);
  else if (have_m32 && tc->mode == QS_REQUANT_GEMMLOWP)
    {
      g_autofree char *cmd32 = g_strdup_printf ("%s -std=c99 -Wall -Wextra -Werror -pedantic -O2 "
                                                "-m32 -o %s/%s_m32 %s/%s.c %s/%s_main.c",
                                                cc, dir, name, dir, name, dir, name);

      g_free (run_cmd (cmd32, &ok));
      g_assert_true (ok);
    }
  for (gsize i = 0; i < (gsize) n * info.output_size; i++)
    {
      gint d = ABS ((gint) (gint8) got[i] - (gint) expect[i]);

      if (d != 0)
        {
          mismatches++;
          if (mismatches <= 10)
            g_test_message ("image %" G_GSIZE_FORMAT " output %" G_GSIZE_FORMAT
                            ": C %d, engine %d", i / info.output_size, i % info.output_size,
                            (gint8) got[i], expect[i]);
        }
      max_diff = MAX (max_diff, (guint) d);
      if (got32 != NULL && got32[i] != got[i])
        mismatches32++;
    }

  out_f = g_build_filename (dir, "out_f32.bin", NULL);
  g_assert_true (g_file_get_contents (out_f, &got_f, &got_f_len, NULL));
  g_assert_cmpuint (got_f_len, ==, (gsize) n * info.output_size);
  for (gsize i = 0; i < got_f_len; i++)
    mismatches_f += (gint8) got_f[i] != expect_f[i];

  /* the compiled size of the model's code and constants */
  ok = FALSE;
  if (tc->mode == QS_REQUANT_GEMMLOWP)
    {
      objcmd = g_strdup_printf ("%s -std=c99 -Os -c -o %s/%s.o %s/%s.c", cc, dir, name, dir, name);
      g_free (run_cmd (objcmd, &ok));
      g_assert_true (ok);
      sizecmd = g_strdup_printf ("size %s/%s.o", dir, name);
      size_out = run_cmd (sizecmd, &ok);
    }
  g_clear_pointer (&rng, g_rand_free);
  g_test_message ("%s %s (%s): %u images x %" G_GSIZE_FORMAT " outputs compared, %u mismatches "
                  "(max %u), from floats %u, -m32: %s%u mismatches against the native build; source %"
                  G_GSIZE_FORMAT " bytes; scratch %" G_GSIZE_FORMAT " bytes; size -Os:\n%s",
                  tc->model, tc->preset, qs_requant_mode_to_string (tc->mode), n, info.output_size,
                  mismatches, max_diff, mismatches_f, run_m32 ? "" : have_m32 ? "built, not run, " : "skipped, ", mismatches32,
                  info.source_bytes, info.scratch_bytes, ok ? size_out : "(not measured)");
  if (g_test_verbose ())
    g_print ("# %s %s: %u mismatches of %" G_GSIZE_FORMAT "\n", tc->model,
             qs_requant_mode_to_string (tc->mode), mismatches, (gsize) n * info.output_size);

  exact = tc->mode == QS_REQUANT_GEMMLOWP
          || (tc->mode == QS_REQUANT_CMSIS_NN && ENGINE_HAS_CMSIS_NN)
          || (tc->mode == QS_REQUANT_SINGLE_ROUNDING && ENGINE_HAS_SINGLE_ROUNDING);
  if (exact)
    g_assert_cmpuint (mismatches, ==, 0);
  else if (tc->mode == QS_REQUANT_CMSIS_NN)
    g_assert_cmpuint (max_diff, <=, 1);   /* the two roundings differ only on negative ties */
  else
    g_assert_cmpuint (max_diff, <=, 3);   /* one rounding against two, compounded over layers */
  g_assert_cmpuint (mismatches32, ==, 0);
  if (exact)
    g_assert_cmpuint (mismatches_f, ==, 0);
}

/* A layer that runs in float inside the program is refused, naming it. */
static void
test_float_island (void)
{
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "..", "data", "models",
                                                       "fmnist-cnn.h5", NULL);
  g_autofree char *stem = g_build_filename (tmp_dir, "island", NULL);
  g_autoptr(QsModel) model = qs_model_load (model_path, NULL, NULL, NULL);
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsRangeTable) ranges = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) summary = g_string_new (NULL);
  QsLayerConfig lc;
  QsExportContext ctx;
  g_autofree char *h = g_strdup_printf ("%s.h", stem);

  g_assert_nonnull (model);
  qs_config_get_layer (config, "fc1", &lc);
  lc.quantize_activations = FALSE;
  qs_config_set_layer (config, "fc1", &lc);
  lowering = qs_lowering_new (model, config, &error);
  g_assert_no_error (error);
  calib = qs_calibration_cache_get (calib_cache, model, "sample-train", 50, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  ranges = qs_calibration_make_ranges (calib, lowering, &error);
  g_assert_no_error (error);
  ctx = (QsExportContext) { model, config, lowering, ranges, model_path };
  g_assert_false (qs_export_run (qs_export_find_format ("c"), &ctx, stem, summary, &error));
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "fc1"));
  g_assert_false (g_file_test (h, G_FILE_TEST_EXISTS));

  /* fp32-rne requantization has no integer C form here */
  g_clear_error (&error);
  qs_config_clear_layer (config, "fc1");
  qs_config_set_requant_mode (config, QS_REQUANT_FP32_RNE);
  g_clear_pointer (&lowering, qs_lowering_unref);
  lowering = qs_lowering_new (model, config, &error);
  ctx.lowering = lowering;
  g_assert_false (qs_export_run (qs_export_find_format ("c"), &ctx, stem, summary, &error));
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "fp32-rne"));

  /* a folder that does not exist */
  g_clear_error (&error);
  qs_config_set_requant_mode (config, QS_REQUANT_GEMMLOWP);
  g_free (stem);
  stem = g_build_filename (tmp_dir, "no-such-folder", "m", NULL);
  g_assert_false (qs_export_run (qs_export_find_format ("c"), &ctx, stem, summary, &error));
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET);
}

int
main (int    argc,
      char **argv)
{
  static const char *models[] = { "fmnist-cnn.h5", "fmnist-mlp.h5", "fmnist-mobilenet.h5",
                                  "fmnist-resnet.h5" };
  static const QsRequantMode modes[] = { QS_REQUANT_GEMMLOWP, QS_REQUANT_CMSIS_NN,
                                         QS_REQUANT_SINGLE_ROUNDING };
  static const Case synthetic[] = {
    { "model1", "w8a8", QS_REQUANT_GEMMLOWP },
    { "model1", "w4a4", QS_REQUANT_GEMMLOWP },
    { "model2", "w8a8", QS_REQUANT_GEMMLOWP },
    { "model2", "w8a8", QS_REQUANT_CMSIS_NN },
  };
  g_autoptr(GError) error = NULL;
  const char *env_cc = g_getenv ("CC");
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-export-c-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  calib_cache = qs_calibration_cache_new ();

  cc = g_find_program_in_path (env_cc != NULL && *env_cc != '\0' ? env_cc : "cc");
  if (cc == NULL)
    cc = g_find_program_in_path ("gcc");
  if (cc != NULL)
    {
      g_autofree char *probe = g_build_filename (tmp_dir, "probe.c", NULL);
      g_autofree char *cmd = g_strdup_printf ("%s -m32 -o %s/probe %s", cc, tmp_dir, probe);
      gboolean ok;

      g_file_set_contents (probe, "#include <stdio.h>\nint main (void) { return 0; }\n", -1, NULL);
      g_autofree char *exe = g_build_filename (tmp_dir, "probe", NULL);

      g_free (run_cmd (cmd, &ok));
      have_m32 = ok;
      if (!ok)
        no_m32_reason = g_strdup ("the compiler cannot build -m32 programs (install gcc-multilib): "
                                  "no 32-bit build");
      else
        {
          g_free (run_cmd (exe, &ok));
          run_m32 = ok;
          if (!ok)
            no_m32_reason = g_strdup ("-m32 programs build (the export compiles cleanly for "
                                      "32 bits) but this kernel cannot run them: not compared");
        }
    }
  if (no_m32_reason != NULL)
    g_test_message ("-m32 variant: %s", no_m32_reason);

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    for (guint j = 0; j < G_N_ELEMENTS (modes); j++)
      {
        Case *tc = g_new0 (Case, 1);
        g_autofree char *path = NULL;

        tc->model = models[i];
        tc->preset = "w8a8";
        tc->mode = modes[j];
        path = g_strdup_printf ("/qs/export-c/matches-engine/%s/%s", models[i],
                                qs_requant_mode_to_string (modes[j]));
        g_test_add_data_func_full (path, tc, test_model, g_free);
      }
  for (guint i = 0; i < G_N_ELEMENTS (synthetic); i++)
    {
      Case *tc = g_new0 (Case, 1);
      g_autofree char *path = NULL;

      *tc = synthetic[i];
      path = g_strdup_printf ("/qs/export-c/matches-engine/%s/%s/%s", tc->model, tc->preset,
                              qs_requant_mode_to_string (tc->mode));
      g_test_add_data_func_full (path, tc, test_model, g_free);
    }
  g_test_add_func ("/qs/export-c/refuses-float-island", test_float_island);
  ret = g_test_run ();
  qs_calibration_cache_free (calib_cache);
  if (g_getenv ("QS_KEEP_TMP") == NULL)
    {
      g_autofree char *rm = g_strdup_printf ("rm -rf %s", tmp_dir);
      gboolean ok;

      g_free (run_cmd (rm, &ok));
    }
  g_free (tmp_dir);
  g_free (cc);
  g_free (no_m32_reason);
  return ret;
}
