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
QsTrainData *qs_cli_train_open_data       (const char         *spec,
                                           guint               limit,
                                           GError            **error);
gboolean     qs_cli_train_parse_optimizer (const char         *name,
                                           QsOptimizer        *out);

G_END_DECLS
