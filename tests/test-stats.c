/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quantscope-core.h"

static void
test_histogram_bins (void)
{
  g_autoptr(QsHistogram) h = qs_histogram_new (4, 0.0, 4.0);
  float v[] = { 0.0f, 0.999f, 1.0f, 3.999f, 4.0f, -0.001f, 4.001f, NAN, INFINITY, -INFINITY, 2.5f };

  qs_histogram_add (h, v, G_N_ELEMENTS (v));
  g_assert_cmpuint (h->counts[0], ==, 2);
  g_assert_cmpuint (h->counts[1], ==, 1);
  g_assert_cmpuint (h->counts[2], ==, 1);
  g_assert_cmpuint (h->counts[3], ==, 2);   /* 3.999 and hi itself */
  g_assert_cmpuint (h->total, ==, 6);
  g_assert_cmpuint (h->underflow, ==, 1);   /* NaN and Inf are not values */
  g_assert_cmpuint (h->overflow, ==, 1);
  g_assert_cmpint (qs_histogram_bin (h, 4.0), ==, 3);
  g_assert_cmpint (qs_histogram_bin (h, -1.0), ==, -1);
  g_assert_cmpint (qs_histogram_bin (h, 5.0), ==, 4);
  g_assert_cmpint (qs_histogram_bin (h, 2.0), ==, 2);
  /* qs_histogram_bin agrees with qs_histogram_add everywhere */
  {
    g_autoptr(QsHistogram) h2 = qs_histogram_new (37, -1.3, 2.9);
    g_autoptr(GRand) rand = g_rand_new_with_seed (1);

    for (int i = 0; i < 10000; i++)
      {
        float x = (float) g_rand_double_range (rand, -1.5, 3.0);
        gint b = qs_histogram_bin (h2, x);
        guint64 before = b < 0 ? h2->underflow : (b >= 37 ? h2->overflow : h2->counts[b]);

        qs_histogram_add (h2, &x, 1);
        g_assert_cmpuint (b < 0 ? h2->underflow : (b >= 37 ? h2->overflow : h2->counts[b]), ==, before + 1);
      }
  }
  /* a constant: degenerate range still holds the value in bin 0 */
  {
    g_autoptr(QsHistogram) h3 = qs_histogram_new (8, 2.0, 2.0);
    float c = 2.0f;

    qs_histogram_add (h3, &c, 1);
    g_assert_cmpuint (h3->counts[0], ==, 1);
  }
}

static QsTensor *
ramp (guint n_dims,
      const gsize *shape)
{
  QsTensor *t = qs_tensor_new ("map", n_dims, shape, NULL);

  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) i;
  return t;
}

static void
test_error_map (void)
{
  gsize dense[] = { 40, 30 }, conv[] = { 3, 2, 4, 5 };
  g_autoptr(QsTensor) d = ramp (2, dense);
  g_autoptr(QsTensor) c = ramp (4, conv);
  g_autofree float *deq = g_new (float, 1200);
  g_autofree gint32 *codes = g_new (gint32, 1200);
  g_autoptr(QsErrorMap) full = NULL, small = NULL, window = NULL, conv_map = NULL;

  for (gsize i = 0; i < 1200; i++)
    {
      deq[i] = d->data[i] + ((gint) (i % 7) - 3) * 0.01f;
      codes[i] = (gint32) (i % 11);
    }
  deq[17 * 30 + 4] = d->data[17 * 30 + 4] - 5.0f;   /* one big negative error */

  full = qs_error_map_compute (d, deq, codes, QS_MAP_VALUE_ERROR, 0, 0, 40, 30, 64, 64);
  g_assert_false (full->downsampled);
  g_assert_cmpuint (full->width, ==, 30);
  g_assert_cmpuint (full->height, ==, 40);
  for (gsize i = 0; i < 1200; i++)
    g_assert_cmpfloat (full->max_abs[i], ==, deq[i] - d->data[i]);
  g_assert_cmpfloat (full->lo, ==, -5.0f);

  small = qs_error_map_compute (d, deq, codes, QS_MAP_VALUE_ERROR, 0, 0, 40, 30, 3, 4);
  g_assert_true (small->downsampled);
  /* the single large error stays visible, with its sign, in its cell (row 17 -> 1, col 4 -> 0) */
  g_assert_cmpfloat (small->max_abs[1 * 3 + 0], ==, -5.0f);
  g_assert_cmpfloat (small->lo, ==, -5.0f);
  /* the mean of a cell equals the mean over its 10 x 10 block */
  {
    double sum = 0;
    for (gsize r = 30; r < 40; r++)
      for (gsize col = 20; col < 30; col++)
        sum += deq[r * 30 + col] - d->data[r * 30 + col];
    g_assert_cmpfloat_with_epsilon (small->mean[3 * 3 + 2], sum / 100, 1e-6);
  }

  window = qs_error_map_compute (d, NULL, codes, QS_MAP_VALUE_CODE, 10, 5, 4, 6, 100, 100);
  g_assert_cmpuint (window->width, ==, 6);
  for (gsize r = 0; r < 4; r++)
    for (gsize col = 0; col < 6; col++)
      g_assert_cmpfloat (window->max_abs[r * 6 + col], ==, (float) codes[(10 + r) * 30 + 5 + col]);

  /* conv picture: pixel (row, col) is element qs_tensor_matrix_index (row, col) */
  conv_map = qs_error_map_compute (c, NULL, NULL, QS_MAP_VALUE_WEIGHT, 0, 0, 100, 100, 100, 100);
  g_assert_cmpuint (conv_map->height, ==, 4 * 3);
  g_assert_cmpuint (conv_map->width, ==, 5 * 2);
  for (gsize r = 0; r < 12; r++)
    for (gsize col = 0; col < 10; col++)
      g_assert_cmpfloat (conv_map->max_abs[r * 10 + col], ==, (float) qs_tensor_matrix_index (c, r, col));
}

static void
test_sqnr (void)
{
  g_assert_cmpfloat_with_epsilon (qs_stats_sqnr_db (1.0, 0.01), 20.0, 1e-12);
  g_assert_true (isinf (qs_stats_sqnr_db (1.0, 0.0)) && qs_stats_sqnr_db (1.0, 0.0) > 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/stats/histogram", test_histogram_bins);
  g_test_add_func ("/qs/stats/error-map", test_error_map);
  g_test_add_func ("/qs/stats/sqnr", test_sqnr);
  return g_test_run ();
}
