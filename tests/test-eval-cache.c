/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"

/* The float outputs on disk (QsEvalOptions.float_cache_dir): a second evaluation reads them
 * and gives the same result; a corrupt, truncated or foreign file is ignored and rewritten;
 * a different image count is a different key. And the synthetic ImageNet-sized builders:
 * their shapes, and BatchNorm settling keeping activations in range. */

static char *tmp_dir;

static QsModel *
load_cnn (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) built = qs_synthetic_fmnist_cnn (&error);
  g_autofree char *path = g_build_filename (tmp_dir, "cnn.h5", NULL);
  QsModel *model;

  g_assert_no_error (error);
  g_assert_true (qs_model_save (built, path, NULL, &error));
  g_assert_no_error (error);
  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (qs_model_get_checksum (model));
  return model;
}

static QsEvalResult *
eval (QsModel    *model,
      QsConfig   *config,
      QsDataset  *dataset,
      const char *dir,
      guint       limit)
{
  g_autoptr(GError) error = NULL;
  QsEvalOptions opts = { .limit = limit, .n_threads = 2, .float_cache_dir = dir };
  QsEvalResult *r = qs_eval_run (model, config, dataset, &opts, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static char *
only_file (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *path = NULL;
  guint n = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_free (path);
      path = g_build_filename (dir, name, NULL);
      n++;
    }
  g_assert_cmpuint (n, ==, 1);
  return path;
}

static void
assert_same (QsEvalResult *a,
             QsEvalResult *b)
{
  g_assert_cmpuint (a->n_images, ==, b->n_images);
  g_assert_cmpfloat (a->float_top1, ==, b->float_top1);
  g_assert_cmpfloat (a->quant_top1, ==, b->quant_top1);
  g_assert_cmpfloat (a->agreement, ==, b->agreement);
  g_assert_cmpfloat (a->mean_kl, ==, b->mean_kl);
  g_assert_cmpfloat (a->output_sqnr_db, ==, b->output_sqnr_db);
}

static void
test_disk_cache (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = load_cnn ();
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", &error);
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", &error);
  g_autofree char *dir = g_build_filename (tmp_dir, "float-outputs", NULL);
  g_autoptr(QsEvalResult) first = NULL, second = NULL, other = NULL, uncached = NULL;
  g_autofree char *path = NULL, *contents = NULL;
  gsize size;

  g_assert_no_error (error);
  first = eval (model, config, dataset, dir, 300);
  g_assert_false (first->float_from_disk);
  path = only_file (dir);

  /* a second run (a new process would be the same: nothing in memory is shared) */
  second = eval (model, config, dataset, dir, 300);
  g_assert_true (second->float_from_disk);
  assert_same (first, second);
  uncached = eval (model, config, dataset, NULL, 300);
  g_assert_false (uncached->float_from_disk);
  assert_same (first, uncached);

  /* a flipped payload byte: ignored, recomputed, rewritten */
  g_assert_true (g_file_get_contents (path, &contents, &size, NULL));
  contents[size - 3] ^= 0x40;
  g_assert_true (g_file_set_contents (path, contents, size, NULL));
  {
    g_autoptr(QsEvalResult) r = eval (model, config, dataset, dir, 300);
    g_autoptr(QsEvalResult) again = NULL;

    g_assert_false (r->float_from_disk);
    assert_same (first, r);
    again = eval (model, config, dataset, dir, 300);
    g_assert_true (again->float_from_disk);
  }
  /* a flipped header byte (the image count), a truncated file, garbage */
  for (guint k = 0; k < 3; k++)
    {
      g_autoptr(QsEvalResult) r = NULL;
      g_autofree char *now = NULL;
      gsize now_size;

      g_assert_true (g_file_get_contents (path, &now, &now_size, NULL));
      if (k == 0)
        now[16] ^= 1;
      g_assert_true (g_file_set_contents (path, now, k == 1 ? now_size - 100 : k == 2 ? 10 : now_size, NULL));
      r = eval (model, config, dataset, dir, 300);
      g_assert_false (r->float_from_disk);
      assert_same (first, r);
    }

  /* another limit is another key */
  other = eval (model, config, dataset, dir, 200);
  g_assert_false (other->float_from_disk);
  g_assert_cmpuint (other->n_images, ==, 200);
}

typedef struct
{
  double max_abs;
  gboolean finite;
} Range;

static void
range_tap (const QsLayer *layer,
           const float   *output,
           gsize          batch,
           gsize          per_image,
           gpointer       user_data)
{
  Range *r = user_data;

  for (gsize i = 0; i < batch * per_image; i++)
    {
      r->finite &= isfinite (output[i]);
      r->max_abs = MAX (r->max_abs, fabs (output[i]));
    }
}

static void
test_synthetic_shapes (void)
{
  struct
  {
    QsModel *(*build) (gsize, gsize, GError **);
    gsize params;
  } cases[] = {
    /* torchvision's parameter counts plus the BatchNorm moving statistics, which Keras
     * counts (non-trainable): resnet18 11,689,512 + 2 x 4,800 channels; mobilenet_v2
     * 3,504,872 + 2 x 17,056 (= Keras applications' MobileNetV2 total) */
    { qs_synthetic_resnet18, 11699112 },
    { qs_synthetic_mobilenet_v2, 3538984 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QsModel) model = cases[i].build (224, 1000, &error);
      g_autoptr(QsModel) small = NULL;
      g_autoptr(QsEngineFloat) before = NULL, after = NULL;
      g_autofree float *input = g_new (float, 2 * 64 * 64 * 3);
      float out[2 * 10];
      Range r0 = { 0, TRUE }, r1 = { 0, TRUE };
      gsize shape[QS_TENSOR_MAX_DIMS];

      g_assert_no_error (error);
      g_assert_cmpuint (qs_model_get_n_params (model), ==, cases[i].params);
      g_assert_cmpuint (qs_model_get_input_shape (model, shape), ==, 3);
      g_assert_cmpuint (shape[0], ==, 224);
      g_assert_cmpuint (shape[2], ==, 3);

      /* settling, on a small input: the untouched network's activations grow, the settled
       * one's stay near BN's unit scale */
      small = cases[i].build (64, 10, &error);
      g_assert_no_error (error);
      qs_synthetic_images (input, 2 * 64 * 64 * 3, 5);
      before = qs_engine_float_new (small, &error);
      g_assert_true (qs_engine_float_run (before, input, 2, out, 1, range_tap, &r0, NULL, &error));
      g_assert_true (qs_synthetic_settle_batch_norm (small, 4, 99, &error));
      g_assert_no_error (error);
      after = qs_engine_float_new (small, &error);
      g_assert_true (qs_engine_float_run (after, input, 2, out, 1, range_tap, &r1, NULL, &error));
      g_assert_true (r1.finite);
      g_assert_cmpfloat (r1.max_abs, <, 100.0);
      g_assert_cmpfloat (r1.max_abs, <, r0.max_abs);
    }
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-eval-cache-XXXXXX", NULL);
  g_test_add_func ("/qs/eval-cache/disk", test_disk_cache);
  g_test_add_func ("/qs/synthetic/imagenet-shapes", test_synthetic_shapes);
  status = g_test_run ();
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
