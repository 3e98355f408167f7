/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "qs-kernels-quant.h"
#include "qs-stats.h"

G_DEFINE_BOXED_TYPE (QsHistogram, qs_histogram, qs_histogram_ref, qs_histogram_unref)
G_DEFINE_BOXED_TYPE (QsErrorMap, qs_error_map, qs_error_map_ref, qs_error_map_unref)

/* ---------------------------------------------------------------- histograms */

QsHistogram *
qs_histogram_new (guint  n_bins,
                  double lo,
                  double hi)
{
  QsHistogram *hist;

  g_return_val_if_fail (n_bins > 0, NULL);
  g_return_val_if_fail (isfinite (lo) && isfinite (hi), NULL);

  /* A degenerate range (a constant tensor) still gets a valid, tiny width so every
   * value equal to lo lands in bin 0. */
  if (!(hi > lo))
    hi = lo + MAX (fabs (lo) * 1e-6, 1e-30);

  hist = g_new0 (QsHistogram, 1);
  hist->ref_count = 1;
  hist->n_bins = n_bins;
  hist->lo = lo;
  hist->hi = hi;
  hist->counts = g_new0 (guint64, n_bins);
  return hist;
}

gint
qs_histogram_bin (const QsHistogram *hist,
                  double             value)
{
  double idx;

  g_return_val_if_fail (hist != NULL, -1);

  if (!(value >= hist->lo))
    return -1;
  if (value > hist->hi)
    return (gint) hist->n_bins;
  idx = (value - hist->lo) * (hist->n_bins / (hist->hi - hist->lo));
  if (idx >= hist->n_bins)
    return (gint) hist->n_bins - 1;
  return (gint) idx;
}

void
qs_histogram_add (QsHistogram *hist,
                  const float *data,
                  gsize        n)
{
  const double inv_width = hist->n_bins / (hist->hi - hist->lo);
  const guint n_bins = hist->n_bins;
  /* One bank of counters per SIMD lane (element index mod 8), so runs of equal values
   * (zeros of a pruned tensor) do not serialise on one counter. guint32 is enough for a
   * chunk of at most 2^30 values. */
  const gsize n_banks = QS_QUANT_HIST_BANKS;
  g_autofree guint32 *banks = NULL;
  guint32 outside[2];
  const gsize chunk = (gsize) 1 << 30;
  const QsQuantKernels *kernels = qs_quant_kernels ();

  g_return_if_fail (hist != NULL);
  g_return_if_fail (n == 0 || data != NULL);

  banks = g_new (guint32, n_banks * n_bins);
  for (gsize start = 0; start < n; start += chunk)
    {
      gsize len = MIN (n - start, chunk);

      memset (banks, 0, n_banks * n_bins * sizeof (guint32));
      outside[0] = outside[1] = 0;
      kernels->histogram (data + start, len, hist->lo, hist->hi, inv_width, n_bins, banks, outside);
      for (guint k = 0; k < n_bins; k++)
        {
          guint64 c = 0;

          for (gsize b = 0; b < n_banks; b++)
            c += banks[b * n_bins + k];
          hist->counts[k] += c;
          hist->total += c;
        }
      hist->underflow += outside[0];
      hist->overflow += outside[1];
    }
}

QsHistogram *
qs_histogram_ref (QsHistogram *hist)
{
  g_return_val_if_fail (hist != NULL, NULL);
  g_atomic_int_inc (&hist->ref_count);
  return hist;
}

void
qs_histogram_unref (QsHistogram *hist)
{
  g_return_if_fail (hist != NULL);

  if (g_atomic_int_dec_and_test (&hist->ref_count))
    {
      g_free (hist->counts);
      g_free (hist);
    }
}

/* ---------------------------------------------------------------- error maps */

static G_ALWAYS_INLINE inline gboolean
map_value (QsMapValue   what,
           const float *input,
           const float *dequant,
           const gint32 *codes,
           gsize        i,
           float        rel_eps,
           float       *out)
{
  float x = input[i];

  if (!isfinite (x))
    return FALSE;
  switch (what)
    {
    case QS_MAP_VALUE_ERROR:
      *out = dequant[i] - x;
      return TRUE;
    case QS_MAP_VALUE_ABS_ERROR:
      *out = fabsf (dequant[i] - x);
      return TRUE;
    case QS_MAP_VALUE_REL_ERROR:
      *out = fabsf (dequant[i] - x) / (fabsf (x) + rel_eps);
      return TRUE;
    case QS_MAP_VALUE_WEIGHT:
      *out = x;
      return TRUE;
    case QS_MAP_VALUE_CODE:
      *out = (float) codes[i];
      return TRUE;
    default:
      return FALSE;
    }
}

static G_ALWAYS_INLINE inline void
accumulate_cells (QsErrorMap     *map,
                  const QsTensor *input,
                  const float    *dequant,
                  const gint32   *codes,
                  QsMapValue      what,
                  gsize           row0,
                  gsize           rows,
                  gsize           cols,
                  const gsize    *col_offset,
                  const gsize    *col_bound,
                  float           rel_eps,
                  double         *cell_sum,
                  guint32        *cell_count)
{
  for (guint cy = 0; cy < map->height; cy++)
    {
      gsize r_begin = cy * rows / map->height, r_end = (cy + 1) * rows / map->height;

      for (gsize r = r_begin; r < r_end; r++)
        {
          gsize rb = qs_tensor_matrix_index (input, row0 + r, 0);

          for (guint cx = 0; cx < map->width; cx++)
            {
              gsize c_begin = col_bound[cx], c_end = col_bound[cx + 1];
              gsize cell = (gsize) cy * map->width + cx;
              float best = map->max_abs[cell];
              double sum = 0.0;
              guint32 count = 0;

              for (gsize c = c_begin; c < c_end; c++)
                {
                  float v;

                  if (!map_value (what, input->data, dequant, codes, rb + col_offset[c],
                                  rel_eps, &v))
                    continue;
                  if (fabsf (v) > fabsf (best))
                    best = v;
                  sum += v;
                  count++;
                }
              map->max_abs[cell] = best;
              cell_sum[cell] += sum;
              cell_count[cell] += count;
            }
        }
    }
}

/* Cells partition the window evenly: cell k of n over len items covers
 * [k * len / n, (k + 1) * len / n). With n == len every cell is one value. */
QsErrorMap *
qs_error_map_compute (const QsTensor *input,
                      const float    *dequant,
                      const gint32   *codes,
                      QsMapValue      what,
                      gsize           row0,
                      gsize           col0,
                      gsize           rows,
                      gsize           cols,
                      guint           width,
                      guint           height)
{
  QsErrorMap *map;
  gsize m_rows, m_cols, base0;
  g_autofree gsize *col_offset = NULL;
  g_autofree gsize *col_bound = NULL;
  g_autofree guint32 *cell_count = NULL;
  g_autofree double *cell_sum = NULL;
  float rel_eps = FLT_MIN;

  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  g_return_val_if_fail (what != QS_MAP_VALUE_CODE || codes != NULL, NULL);
  g_return_val_if_fail ((what != QS_MAP_VALUE_ERROR && what != QS_MAP_VALUE_ABS_ERROR &&
                         what != QS_MAP_VALUE_REL_ERROR) || dequant != NULL, NULL);

  qs_tensor_matrix_shape (input, &m_rows, &m_cols);
  row0 = MIN (row0, m_rows);
  col0 = MIN (col0, m_cols);
  rows = MIN (rows, m_rows - row0);
  cols = MIN (cols, m_cols - col0);

  map = g_new0 (QsErrorMap, 1);
  map->ref_count = 1;
  map->row0 = row0;
  map->col0 = col0;
  map->rows = rows;
  map->cols = cols;
  map->width = (guint) MAX (1, MIN (width, cols));
  map->height = (guint) MAX (1, MIN (height, rows));
  map->downsampled = cols > width || rows > height;
  map->max_abs = g_new0 (float, (gsize) map->width * map->height);
  map->mean = g_new0 (float, (gsize) map->width * map->height);
  if (rows == 0 || cols == 0)
    return map;

  /* The matrix index of every layout is separable: index (r, c) = index (r, 0) +
   * index (0, c) - index (0, 0), so one column table serves every row. */
  base0 = qs_tensor_matrix_index (input, 0, 0);
  col_offset = g_new (gsize, cols);
  for (gsize c = 0; c < cols; c++)
    col_offset[c] = qs_tensor_matrix_index (input, 0, col0 + c) - base0;
  col_bound = g_new (gsize, map->width + 1);
  for (guint cx = 0; cx <= map->width; cx++)
    col_bound[cx] = (gsize) cx * cols / map->width;

  if (what == QS_MAP_VALUE_REL_ERROR)
    {
      /* Relative error against |x| + eps, eps = 1e-6 of the window's largest |x|, so
       * exact zeros (pruned weights) do not swamp the scale. */
      float amax = 0.0f;

      for (gsize r = 0; r < rows; r++)
        {
          gsize rb = qs_tensor_matrix_index (input, row0 + r, 0);
          for (gsize c = 0; c < cols; c++)
            {
              float x = input->data[rb + col_offset[c]];
              if (isfinite (x))
                amax = MAX (amax, fabsf (x));
            }
        }
      rel_eps = MAX (amax * 1e-6f, FLT_MIN);
    }

  cell_count = g_new0 (guint32, (gsize) map->width * map->height);
  cell_sum = g_new0 (double, (gsize) map->width * map->height);
  /* One specialised copy of the cell loop per value kind (map_value is always inlined). */
  switch (what)
    {
#define CELLS(WHAT) \
    case WHAT: \
      accumulate_cells (map, input, dequant, codes, WHAT, row0, rows, cols, col_offset, \
                        col_bound, rel_eps, cell_sum, cell_count); \
      break
    CELLS (QS_MAP_VALUE_ERROR);
    CELLS (QS_MAP_VALUE_ABS_ERROR);
    CELLS (QS_MAP_VALUE_REL_ERROR);
    CELLS (QS_MAP_VALUE_WEIGHT);
    CELLS (QS_MAP_VALUE_CODE);
#undef CELLS
    default:
      break;
    }

  map->lo = G_MAXFLOAT;
  map->hi = -G_MAXFLOAT;
  for (gsize cell = 0; cell < (gsize) map->width * map->height; cell++)
    {
      /* A cell whose values are all NaN/Inf shows 0 (they are counted in the stats). */
      map->mean[cell] = cell_count[cell] ? (float) (cell_sum[cell] / cell_count[cell]) : 0.0f;
      map->lo = MIN (map->lo, map->max_abs[cell]);
      map->hi = MAX (map->hi, map->max_abs[cell]);
    }
  return map;
}

QsErrorMap *
qs_error_map_ref (QsErrorMap *map)
{
  g_return_val_if_fail (map != NULL, NULL);
  g_atomic_int_inc (&map->ref_count);
  return map;
}

void
qs_error_map_unref (QsErrorMap *map)
{
  g_return_if_fail (map != NULL);

  if (g_atomic_int_dec_and_test (&map->ref_count))
    {
      g_free (map->max_abs);
      g_free (map->mean);
      g_free (map);
    }
}

double
qs_stats_sqnr_db (double signal_power,
                  double mse)
{
  if (mse <= 0.0)
    return INFINITY;
  if (signal_power <= 0.0)
    return -INFINITY;
  return 10.0 * log10 (signal_power / mse);
}
