/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-config.h"

G_BEGIN_DECLS

#define QS_LESSON_ERROR (qs_lesson_error_quark ())

typedef enum
{
  QS_LESSON_ERROR_PARSE,   /* not well-formed XML */
  QS_LESSON_ERROR_SCHEMA,  /* unknown element or attribute, bad value: the message names the file and field */
  QS_LESSON_ERROR_VERSION, /* written for a newer Quantscope */
  QS_LESSON_ERROR_IO,
} QsLessonError;

#define QS_LESSON_VERSION   1
#define QS_LESSON_MAX_BYTES ((gsize) 1 << 20)

/* Where a step shows the app: the layer page, the sensitivity view or the playground. */
typedef enum
{
  QS_LESSON_PAGE_UNSET,
  QS_LESSON_PAGE_LAYER,
  QS_LESSON_PAGE_SENSITIVITY,
  QS_LESSON_PAGE_PLAYGROUND,
} QsLessonPage;

/* One <weights> element: a layer (or glob) and the fields of its weight spec the step
 * changes, over what the preset gives that layer. */
typedef struct
{
  char          *pattern;
  guint          set;      /* QsLessonField bits */
  QsFormat       format;
  guint          bits;
  QsMapping      mapping;
  QsGranularity  granularity;
  guint          group_size;
  QsRounding     rounding;
  QsRangeMethod  range_method;
  double         range_param;
  double         sparsity;
  gboolean       activations;
} QsLessonWeights;

typedef struct
{
  char         *title;        /* translated, nullable */
  char         *text;         /* translated paragraphs joined by blank lines */
  char         *model;        /* bundled sample: "mlp", "cnn", "resnet", "mobilenet"; nullable */
  char         *preset;       /* nullable */
  char         *layer;        /* nullable */
  QsLessonPage  page;
  char         *chart;        /* "histogram", "heatmap", "channels"; nullable */
  gboolean      has_requant;
  QsRequantMode requant;
  GPtrArray    *weights;      /* QsLessonWeights* */
} QsLessonStep;

typedef struct
{
  gatomicrefcount ref_count;
  char           *path;       /* the file it came from */
  char           *title;      /* translated */
  GPtrArray      *steps;      /* QsLessonStep* */
} QsLesson;

#define QS_TYPE_LESSON (qs_lesson_get_type ())

GType        qs_lesson_get_type         (void) G_GNUC_CONST;
GQuark       qs_lesson_error_quark      (void);
/* Parses a lesson file (format: docs/lessons.md). Strings are translated with the
 * application's catalogue after xgettext's whitespace normalisation, so the bundled lessons
 * show in the user's language and a teacher's own lessons as written. */
QsLesson    *qs_lesson_new_from_data    (const char   *data,
                                         gssize        length,
                                         const char   *path, /* for messages */
                                         GError      **error);
QsLesson    *qs_lesson_load_file        (const char   *path,
                                         GError      **error);
QsLesson    *qs_lesson_ref              (QsLesson     *self);
void         qs_lesson_unref            (QsLesson     *self);
guint        qs_lesson_get_n_steps      (QsLesson     *self);
const QsLessonStep *qs_lesson_get_step  (QsLesson     *self,
                                         guint         index);
/* The bundled lessons' files relative to data/ (qs_data_find_file), in teaching order. */
const char * const *qs_lesson_list_bundled (void);
/* The data file of a bundled sample model name ("cnn" -> "models/fmnist-cnn.h5"), or NULL. */
const char  *qs_lesson_sample_model_file (const char  *name);
/* The config a step sets up, starting from current (its requantization mode is kept unless
 * the step sets one). A step without preset or weights returns a copy of current. */
QsConfig    *qs_lesson_step_make_config (const QsLessonStep *step,
                                         QsConfig           *current,
                                         GError            **error);
/* xgettext's "normalize" whitespace: runs of white space become one space, ends trimmed. */
char        *qs_lesson_normalize_space  (const char   *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsLesson, qs_lesson_unref)

G_END_DECLS
