/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the train and qat subcommands. */

#include "qs-cli-common.h"
#include "quantscope-core.h"

G_BEGIN_DECLS

/* Turns per-batch trainer progress into a QsCliProgress bar (a detail line per epoch when
 * stderr is not a terminal) and remembers the last epoch's figures. */
typedef struct
{
  QsCliProgress       *progress;
  gboolean             tty;
  int                  last_percent;
  double               last_loss;
  double               last_accuracy;
  double               epoch_seconds;
  guint                epochs_run;
  QsTrainProgressFunc  func;
} QsCliTrainProgress;

void         qs_cli_train_progress_init   (QsCliTrainProgress *tp,
                                           const char         *label);
void         qs_cli_train_progress_clear  (QsCliTrainProgress *tp);
/* The options train and qat share (training data, schedule, threads, output). */
typedef struct
{
  char     *dataset;
  char     *test;
  char     *optimizer;
  char     *output;
  gint      epochs;
  gint      batch_size;
  gint      threads;
  gint      limit;
  gint64    seed;
  double    lr;
  gboolean  json;
  gboolean  no_resume;
  gboolean  constant_lr;
  char     *checkpoint;   /* OUT.h5.ckpt, set by qs_cli_fit_args_to_options */
} QsCliFitArgs;

/* The shared option entries, with the command's own help for those whose defaults differ;
 * returns a NULL-terminated array to pass to qs_cli_parse (free with g_free). */
GOptionEntry *qs_cli_fit_args_entries     (QsCliFitArgs       *args,
                                           const GOptionEntry *extra,        /* NULL-terminated */
                                           const char         *epochs_help,
                                           const char         *seed_help,
                                           const char         *lr_help,
                                           const char         *output_help);
/* Checks the values and fills options; on a usage error prints it and returns FALSE. */
gboolean     qs_cli_fit_args_to_options   (const char         *command,
                                           QsCliFitArgs       *args,
                                           QsTrainOptions     *options);
void         qs_cli_fit_args_clear        (QsCliFitArgs       *args);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QsCliFitArgs, qs_cli_fit_args_clear)

QsTrainData *qs_cli_train_open_data       (const char         *spec,
                                           guint               limit,
                                           GError            **error);
gboolean     qs_cli_train_parse_optimizer (const char         *name,
                                           QsOptimizer        *out);

G_END_DECLS
