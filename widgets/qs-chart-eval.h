/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-chart.h"
#include "qs-eval.h"

G_BEGIN_DECLS

/* The evaluation charts (issue 11), plain cairo like the others:
 *
 * - classes: per-class top-1 accuracy as paired bars, float (accent) beside quantized
 *   (second colour), 0-100 %; class names under the bars, thinned out when they do not fit.
 * - confusion: the true class (rows) against the predicted class (columns). Mode float or
 *   quantized: each cell's colour is its share of the row (the images of that true class)
 *   on the sequential map with a square-root scale, so that a 1 % confusion is visible next
 *   to a 95 % diagonal; the count is printed when it fits. Mode difference: quantized minus
 *   float counts on the diverging map, symmetric around zero (neutral grey), limit the
 *   largest |difference|. Labels thin out with many classes; every cell has a tooltip.
 *
 * Data from a QsEvalResult (qs_chart_eval_data_init) or any matrix (tests). */

typedef enum
{
  QS_CONFUSION_FLOAT,
  QS_CONFUSION_QUANT,
  QS_CONFUSION_DIFFERENCE,
} QsConfusionMode;

/* Borrowed: the arrays must outlive the normalised data built from it (the widget keeps
 * the QsEvalResult they come from). */
typedef struct
{
  guint               n_classes;
  const guint        *float_confusion;   /* n x n, [label][prediction] */
  const guint        *quant_confusion;   /* nullable: float only */
  const double       *float_per_class;   /* n, fraction, NAN: no image of that class */
  const double       *quant_per_class;   /* nullable */
  const char * const *class_names;       /* nullable; n entries, each nullable */
  gboolean            labelled;          /* FALSE (or classification FALSE): nothing to draw */
} QsChartEvalData;

/* Fills data from result (names as above); result must stay alive as long as data is used. */
void     qs_chart_eval_data_init       (QsChartEvalData       *data,
                                        QsEvalResult          *result,
                                        const char * const    *class_names);

/* Normalised confusion matrix: built once per data or mode change. */
typedef struct
{
  guint            n;
  QsConfusionMode  mode;
  gboolean         has_quant;
  guint           *float_counts;  /* n x n copies */
  guint           *quant_counts;  /* n x n, zeros without the quantized side */
  guint           *row_totals;    /* images of each true class */
  double          *t;             /* n x n colour positions: [0, 1] sequential, [-1, 1] diverging */
  gint             limit;         /* difference: the largest |quant - float| (at least 1) */
  char           **names;         /* n, "3" when the data has none */
} QsChartConfusion;

/* Normalised per-class bars. */
typedef struct
{
  guint     n;
  gboolean  has_quant;
  double   *float_acc;            /* percent, NAN: no image */
  double   *quant_acc;
  guint    *counts;               /* images of each class (row sums) */
  char    **names;
} QsChartClasses;

/* NULL when the data has no labels or classes. */
QsChartConfusion *qs_chart_confusion_new      (const QsChartEvalData  *data,
                                               QsConfusionMode         mode);
void              qs_chart_confusion_free     (QsChartConfusion       *confusion);
QsChartClasses   *qs_chart_classes_new        (const QsChartEvalData  *data);
void              qs_chart_classes_free       (QsChartClasses         *classes);

/* confusion / classes nullable (a message is drawn); hover: the hovered cell (row * n +
 * column) or class, -1 for none. */
void     qs_chart_draw_confusion       (cairo_t                *cr,
                                        double                  width,
                                        double                  height,
                                        const QsChartConfusion *confusion,
                                        gint                    hover,
                                        const char             *title,
                                        const QsChartStyle     *style);
void     qs_chart_draw_classes         (cairo_t                *cr,
                                        double                  width,
                                        double                  height,
                                        const QsChartClasses   *classes,
                                        gint                    hover,
                                        const char             *title,
                                        const QsChartStyle     *style);
/* The cell (row * n + column) or class at (x, y) in the layout without a title, or -1. */
gint     qs_chart_confusion_cell_at    (const QsChartConfusion *confusion,
                                        double                  width,
                                        double                  height,
                                        const QsChartStyle     *style,
                                        double                  x,
                                        double                  y);
gint     qs_chart_classes_at           (const QsChartClasses   *classes,
                                        double                  width,
                                        double                  height,
                                        const QsChartStyle     *style,
                                        double                  x,
                                        double                  y);
char    *qs_chart_confusion_describe_cell (const QsChartConfusion *confusion,
                                           guint                   row,
                                           guint                   col);
char    *qs_chart_classes_describe_class  (const QsChartClasses   *classes,
                                           guint                   c);
/* How many class labels the drawing shows along an axis of that many pixels (every k-th
 * class): what the thinning decides, for tests. */
guint    qs_chart_eval_label_step      (guint                   n,
                                        double                  extent,
                                        double                  label_extent);

/* kind "confusion" or "classes"; as qs_chart_export_full (). style NULL: light. */
gboolean qs_chart_export_eval          (const char             *kind,
                                        const QsChartEvalData  *data,
                                        QsConfusionMode         mode,
                                        const QsChartStyle     *style,
                                        const char             *title,
                                        const char             *path,
                                        int                     width,
                                        int                     height,
                                        double                  scale,
                                        GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsChartConfusion, qs_chart_confusion_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsChartClasses, qs_chart_classes_free)

G_END_DECLS
