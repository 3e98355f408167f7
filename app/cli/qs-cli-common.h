/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "qs-config.h"
#include "qs-dataset.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* Exit status contract (docs/ARCHITECTURE.md): 0 success, 1 error, 2 usage. */
#define QS_CLI_EXIT_OK    0
#define QS_CLI_EXIT_ERROR 1
#define QS_CLI_EXIT_USAGE 2

typedef int (*QsCliCommandFunc) (int argc, char **argv);

typedef struct
{
  const char       *name;
  const char       *summary;    /* untranslated; translated when printed */
  QsCliCommandFunc  func;
} QsCliCommand;

/* Parses argv with a GOptionContext for subcommand `name`; prints usage errors and returns
 * FALSE (the caller exits with QS_CLI_EXIT_USAGE). parameter_string like "MODEL". */
gboolean qs_cli_parse           (const char    *name,
                                 const char    *parameter_string,
                                 const char    *description,
                                 GOptionEntry  *entries,
                                 int           *argc,
                                 char        ***argv);
/* Prints "quantscope-cli NAME: message" to stderr and returns QS_CLI_EXIT_USAGE. */
int      qs_cli_usage_error     (const char    *name,
                                 const char    *format,
                                 ...) G_GNUC_PRINTF (2, 3);
/* Prints the error to stderr and returns QS_CLI_EXIT_ERROR. */
int      qs_cli_fail            (const char    *name,
                                 const GError  *error);
/* Checks an output path before any work: it must be a regular file or a new path (a save
 * renames a temporary file over it, which would replace a device node), and none of the
 * n_inputs files the command reads (NULL entries and names such as "sample" are skipped).
 * Prints the error and returns FALSE. */
gboolean qs_cli_check_output    (const char    *name,
                                 const char    *output,
                                 guint          n_inputs,
                                 ...);
/* A JSON member: a number, null when it is NaN or infinite (JSON has neither). */
void     qs_cli_json_add_number (JsonBuilder   *b,
                                 const char    *name,
                                 double         value);
void     qs_cli_json_add_uint   (JsonBuilder   *b,
                                 const char    *name,
                                 guint64        value);
/* Prints a JSON node (pretty) to stdout followed by a newline. */
void     qs_cli_print_json      (JsonNode      *node);
void     qs_cli_print_builder   (JsonBuilder   *builder);

/* Progress on stderr: a bar on a terminal, plain lines ("eval: 40%") otherwise, quiet
 * when stderr is neither (or QS_CLI_QUIET is set). Safe to call from any thread. */
typedef struct _QsCliProgress QsCliProgress;
QsCliProgress *qs_cli_progress_new    (const char    *label);
void           qs_cli_progress_update (QsCliProgress *progress,
                                       double         fraction,
                                       const char    *detail);
void           qs_cli_progress_free   (QsCliProgress *progress);
/* Adapter for core progress callbacks: void (*) (double fraction, gpointer user_data). */
void           qs_cli_progress_cb     (double         fraction,
                                       gpointer       user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsCliProgress, qs_cli_progress_free)

/* "COMMAND: warning: 12 of 1000 images produced NaN or infinity (first in “conv2”)" on
 * stderr when n_bad > 0. */
void qs_cli_warn_nonfinite (const char *command,
                            guint       n_bad,
                            guint       n_images,
                            const char *first_at);

/* The --requant option's help, value name and choices, shared by the commands. */
#define QS_CLI_REQUANT_HELP N_("Requantization mode: gemmlowp (default), single-rounding, fp32-rne or cmsis-nn")
#define QS_CLI_REQUANT_ARG  N_("MODE")
/* Applies --requant MODE (NULL: nothing) to config; prints a usage error naming the
 * accepted modes and returns FALSE for an unknown one. */
gboolean qs_cli_apply_requant (const char *command,
                               const char *mode,
                               QsConfig   *config);

/* One warning per layer whose weights hold NaN or infinity. */
void qs_cli_warn_nonfinite_weights (const char *command,
                                    QsModel    *model);

/* --dataset, as every command that reads the user's images takes it. */
#define QS_CLI_DATASET_HELP N_("Image folder (one sub-folder per class), .npz[:X,Y], .npy, HDF5[:X,Y], IDX images file, or “sample”")
#define QS_CLI_DATASET_ENTRY(spec) \
  { "dataset", 'd', 0, G_OPTION_ARG_FILENAME, (spec), QS_CLI_DATASET_HELP, N_("D") }

/* The data options eval, predict, quantize and qat share: --labels, --preprocess,
 * --calibration. */
typedef struct
{
  char *labels;        /* FILE.npy | none | NULL (the dataset's own) */
  char *preprocess;    /* PRESET | key=value,... | NULL */
  char *calibration;   /* a dataset spec | NULL */
} QsCliDataOptions;

#define QS_CLI_DATA_ENTRIES(o) \
  { "labels", 0, 0, G_OPTION_ARG_FILENAME, &(o)->labels, \
    N_("Labels from a .npy file of class numbers or one-hot rows, or “none” (unlabelled)"), N_("FILE.npy|none") }, \
  { "preprocess", 0, 0, G_OPTION_ARG_STRING, &(o)->preprocess, \
    N_("Preprocessing: a preset (auto, raw, 0..1, -1..1, caffe, torch) and/or key=value,... " \
       "(scale, offset, mean, std, bgr, resize=N|stretch|none, crop=N|HxW)"), N_("P") }, \
  { "calibration", 0, 0, G_OPTION_ARG_FILENAME, &(o)->calibration, \
    N_("Calibration dataset spec (default: the first N images of --dataset)"), N_("SPEC") }

void       qs_cli_data_options_clear (QsCliDataOptions *o);
/* g_auto(QsCliDataOptions): every return path frees what the option parser stored */
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QsCliDataOptions, qs_cli_data_options_clear)
/* Opens --dataset with --labels and the preprocessing (--preprocess, else the config's);
 * with a config, stores the preprocessing in it and sets its calibration source to
 * --calibration, or to the dataset itself when it is a file of the user's and the config
 * still names the default. Prints the error (usage errors for a bad --preprocess) and
 * returns NULL with *exit_status set. */
QsDataset *qs_cli_open_dataset       (const char        *command,
                                      const char        *spec,
                                      QsCliDataOptions  *o,
                                      QsConfig          *config,
                                      gboolean           calib_source_given,
                                      int               *exit_status);

G_END_DECLS
