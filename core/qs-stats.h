/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "qs-tensor.h"

G_BEGIN_DECLS

/* Error statistics of one quantization pass. Non-finite inputs are counted in n_nan / n_inf
 * and excluded from every other number. */
typedef struct
{
  gsize   n_values;          /* finite values measured */
  gsize   n_nan;
  gsize   n_inf;
  float   min;               /* finite input range */
  float   max;
  double  signal_power;      /* mean x^2 */
  double  mse;               /* mean (x - q(x))^2 */
  double  sqnr_db;           /* 10 log10 (signal_power / mse); +inf when mse == 0 */
  double  max_abs_error;
  double  mean_error;        /* mean (q(x) - x): the bias rounding introduces */
  double  cosine;            /* cosine similarity of x and q(x) */
  gsize   n_clipped;         /* values outside the representable range */
  double  clipped_fraction;
  gsize   n_pruned;          /* values zeroed by magnitude pruning */
  guint64 levels_used;       /* distinct codes used (integer formats) */
  guint64 levels_available;  /* qmax - qmin + 1 */
  double  code_entropy_bits; /* Shannon entropy of the code histogram: effective bits */
  guint64 storage_bits;      /* codes plus scale (fp32) and zero-point overhead */
  double  bits_per_value;    /* storage_bits / n_elements */
} QsQuantStats;

/* Equal-width histogram over [lo, hi]; values outside are counted in underflow/overflow. */
typedef struct
{
  guint    n_bins;
  double   lo;
  double   hi;
  guint64 *counts;
  guint64  total;            /* sum of counts (in range) */
  guint64  underflow;
  guint64  overflow;

  /*< private >*/
  gint ref_count;
} QsHistogram;

/* A W x H downsampling of a rows x cols matrix window. Each cell keeps the signed value of
 * largest magnitude in its block (so one large error stays visible at any zoom) and the mean. */
typedef struct
{
  guint  width;
  guint  height;
  gsize  row0;               /* the matrix window this map covers */
  gsize  col0;
  gsize  rows;
  gsize  cols;
  gboolean downsampled;      /* TRUE if cells cover more than one value */
  float *max_abs;            /* width * height, row-major: signed value of largest |v| */
  float *mean;               /* width * height */
  float  lo;                 /* min/max over max_abs, for colour scales */
  float  hi;

  /*< private >*/
  gint ref_count;
} QsErrorMap;

typedef enum
{
  QS_MAP_VALUE_ERROR,        /*< nick=error >*/     /* q(x) - x */
  QS_MAP_VALUE_ABS_ERROR,    /*< nick=abs-error >*/ /* |q(x) - x| */
  QS_MAP_VALUE_REL_ERROR,    /*< nick=rel-error >*/ /* |q(x) - x| / (|x| + eps) */
  QS_MAP_VALUE_WEIGHT,       /*< nick=weight >*/    /* x */
  QS_MAP_VALUE_CODE,         /*< nick=code >*/      /* integer code */
} QsMapValue;

#define QS_TYPE_HISTOGRAM (qs_histogram_get_type ())
#define QS_TYPE_ERROR_MAP (qs_error_map_get_type ())

GType        qs_histogram_get_type  (void) G_GNUC_CONST;
GType        qs_error_map_get_type  (void) G_GNUC_CONST;

QsHistogram *qs_histogram_new       (guint           n_bins,
                                     double          lo,
                                     double          hi);
/* Adds the finite values of data (stride 1). */
void         qs_histogram_add       (QsHistogram    *hist,
                                     const float    *data,
                                     gsize           n);
/* Bin index a value falls in, or -1 / n_bins when outside. */
gint         qs_histogram_bin       (const QsHistogram *hist,
                                     double          value);
QsHistogram *qs_histogram_ref       (QsHistogram    *hist);
void         qs_histogram_unref     (QsHistogram    *hist);

/* Downsample the matrix picture of a tensor (qs_tensor_matrix_shape) over the window
 * [row0, row0 + rows) x [col0, col0 + cols) into width x height cells.
 * dequant or codes may be NULL when what does not need them. */
QsErrorMap  *qs_error_map_compute   (const QsTensor *input,
                                     const float    *dequant,
                                     const gint32   *codes,
                                     QsMapValue      what,
                                     gsize           row0,
                                     gsize           col0,
                                     gsize           rows,
                                     gsize           cols,
                                     guint           width,
                                     guint           height);
QsErrorMap  *qs_error_map_ref       (QsErrorMap     *map);
void         qs_error_map_unref     (QsErrorMap     *map);

/* Independent double-precision helpers (tests and calibration). */
double       qs_stats_sqnr_db       (double          signal_power,
                                     double          mse);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsHistogram, qs_histogram_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsErrorMap, qs_error_map_unref)

G_END_DECLS
