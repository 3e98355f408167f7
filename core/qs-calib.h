/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-act-stats.h"
#include "qs-config.h"
#include "qs-dataset.h"
#include "qs-engine-int.h"
#include "qs-lowering.h"
#include "qs-model.h"
#include "qs-quant.h"
#include "qs-stats.h"

G_BEGIN_DECLS

#define QS_CALIB_ERROR (qs_calib_error_quark ())

typedef enum
{
  QS_CALIB_ERROR_FAILED,
  QS_CALIB_ERROR_NO_VALUE,     /* the model has no value of that name */
} QsCalibError;

#define QS_CALIB_HIST_BINS 2048

/* Activation statistics of a model over a calibration set: for every value the engine
 * names (layer outputs, "name#pre", "name#dw"), the float min / max and, on first need,
 * a QS_CALIB_HIST_BINS histogram over [min (lo, 0), max (hi, 0)] for the percentile, MSE
 * and KL range methods (qs_range_choose). Computed with the all-float program of
 * qs-engine-int (the same graph and fusions the integer program runs). Thread-safe,
 * refcounted; the calibration inputs are kept for the lazy histogram pass. */
typedef struct _QsCalibration QsCalibration;

GQuark         qs_calib_error_quark          (void);

/* From images already converted to model inputs (n_images * input size floats, copied). */
QsCalibration *qs_calibration_new            (QsModel        *model,
                                              const float    *inputs,
                                              gsize           n_images,
                                              QsProgressFunc  progress,
                                              gpointer        progress_data,
                                              GCancellable   *cancellable,
                                              GError        **error);
/* The same with the passes over the images on up to n_threads threads (0: one per
 * processor, what qs_calibration_new () uses); the statistics and histograms do not depend
 * on n_threads. */
QsCalibration *qs_calibration_new_full       (QsModel        *model,
                                              const float    *inputs,
                                              gsize           n_images,
                                              guint           n_threads,
                                              QsProgressFunc  progress,
                                              gpointer        progress_data,
                                              GCancellable   *cancellable,
                                              GError        **error);
/* Calibrations by model checksum + dataset source + image count, owned by the caller (the
 * app keeps one per document, the CLI one per run). Thread-safe; no lock is held while a
 * calibration runs. */
typedef struct _QsCalibrationCache QsCalibrationCache;

QsCalibrationCache *qs_calibration_cache_new   (void);
void           qs_calibration_cache_free     (QsCalibrationCache *cache);
void           qs_calibration_cache_clear    (QsCalibrationCache *cache);
/* The first n_images of a dataset spec (qs_dataset_open: "sample-train" ...); the second
 * call with the same model, source and count returns the same object at once. cache
 * NULL: computed, not kept. */
QsCalibration *qs_calibration_cache_get      (QsCalibrationCache *cache,
                                              QsModel        *model,
                                              const char     *source,
                                              guint           n_images,
                                              QsProgressFunc  progress,
                                              gpointer        progress_data,
                                              GCancellable   *cancellable,
                                              GError        **error);
/* The same with the preprocessing the images get (NULL: the default); part of the key. */
QsCalibration *qs_calibration_cache_get_full (QsCalibrationCache *cache,
                                              QsModel        *model,
                                              const char     *source,
                                              const QsPreprocess *preprocess,
                                              guint           n_images,
                                              QsProgressFunc  progress,
                                              gpointer        progress_data,
                                              GCancellable   *cancellable,
                                              GError        **error);
/* Whether qs_calibration_cache_get_full () with these arguments would return at once. */
gboolean       qs_calibration_cache_contains (QsCalibrationCache *cache,
                                              QsModel        *model,
                                              const char     *source,
                                              const QsPreprocess *preprocess,
                                              guint           n_images);
QsCalibration *qs_calibration_ref            (QsCalibration  *calib);
void           qs_calibration_unref          (QsCalibration  *calib);
guint          qs_calibration_get_n_images   (QsCalibration  *calib);
/* Wall time its pass over the images took (not opening or preprocessing them). */
double         qs_calibration_get_seconds    (QsCalibration  *calib);
gboolean       qs_calibration_get_minmax     (QsCalibration  *calib,
                                              const char     *value_name,
                                              float          *lo,
                                              float          *hi);
/* The histogram of a value (computed on first use); NULL if there is no such value. */
QsHistogram   *qs_calibration_get_histogram  (QsCalibration  *calib,
                                              const char     *value_name,
                                              GError        **error);
/* A value's activations for the activation view: its histogram (computed on first use, as
 * above) with the counts and moments of the min / max pass; NULL if there is no such value. */
QsActStats    *qs_calibration_get_activations (QsCalibration *calib,
                                              const char     *value_name,
                                              GError        **error);
/* The range a spec's range_method picks for a value (min-max without a histogram). */
gboolean       qs_calibration_get_range      (QsCalibration  *calib,
                                              const char     *value_name,
                                              const QsQuantSpec *spec,
                                              float          *lo,
                                              float          *hi,
                                              GError        **error);

/* The range table a lowering needs: the config's fixed ranges, the rest chosen from this
 * calibration with each value's spec. calib may be NULL when every range is fixed. */
QsRangeTable  *qs_calibration_make_ranges    (QsCalibration  *calib,
                                              QsLowering     *lowering,
                                              GError        **error);
/* Lowers model + config, takes the ranges from calib and compiles the integer program. */
QsEngineInt   *qs_calibration_compile        (QsCalibration  *calib,
                                              QsModel        *model,
                                              QsConfig       *config,
                                              GError        **error);
/* The same, reusing what previous (nullable: a program of the same model) compiled for
 * layers that compile to the same (qs_engine_int_new_reusing). */
QsEngineInt   *qs_calibration_compile_reusing (QsCalibration *calib,
                                               QsModel       *model,
                                               QsConfig      *config,
                                               QsEngineInt   *previous,
                                               GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsCalibration, qs_calibration_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsCalibrationCache, qs_calibration_cache_free)

G_END_DECLS
