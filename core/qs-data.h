/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define QS_DATA_ERROR (qs_data_error_quark ())

typedef enum
{
  QS_DATA_ERROR_NOT_FOUND,
} QsDataError;

GQuark  qs_data_error_quark   (void);

/* Finds a bundled data file by its path relative to data/ ("sample/fashion-mnist/classes.txt",
 * "models/fmnist-cnn.h5"). Looks, in order, in $QUANTSCOPE_DATADIR, the installed
 * PKGDATADIR, and the source tree's data/ (an uninstalled build). Returns a newly allocated
 * absolute path, or NULL with an error listing the places searched. */
char   *qs_data_find_file     (const char  *relative,
                               GError     **error);

/* The bundled Fashion-MNIST test set images file ("sample" on the command line). */
#define QS_DATA_SAMPLE_TEST_IMAGES  "sample/fashion-mnist/t10k-images-idx3-ubyte.gz"
#define QS_DATA_SAMPLE_TRAIN_IMAGES "sample/fashion-mnist/train10k-images-idx3-ubyte.gz"
#define QS_DATA_SAMPLE_CLASSES      "sample/fashion-mnist/classes.txt"
/* The full training set from Debian's dataset-fashion-mnist, used when present. */
#define QS_DATA_SYSTEM_FMNIST_DIR   "/usr/share/datasets/fashion-mnist"
#define QS_DATA_SAMPLE_MODEL        "models/fmnist-cnn.h5"

/* Where the message catalogs are: the installed LOCALEDIR, or the build tree's when
 * Quantscope runs uninstalled. For bindtextdomain (). */
const char *qs_data_get_localedir (void);

G_END_DECLS
