/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-config.h"
#include "qs-dataset.h"
#include "qs-model.h"

G_BEGIN_DECLS

#define QS_TRAIN_ERROR (qs_train_error_quark ())

typedef enum
{
  QS_TRAIN_ERROR_INVALID,      /* bad options, unknown architecture, data that does not fit */
  QS_TRAIN_ERROR_UNSUPPORTED,  /* the model uses a layer the trainer cannot train */
  QS_TRAIN_ERROR_DIVERGED,     /* the loss became NaN or infinite */
  QS_TRAIN_ERROR_CHECKPOINT,   /* checkpoint unreadable, or written by another run */
} QsTrainError;

typedef enum
{
  QS_OPTIMIZER_ADAM,
  QS_OPTIMIZER_SGD,            /* with momentum (Keras semantics) */
} QsOptimizer;

typedef struct
{
  guint        epochs;
  guint        batch_size;      /* 64 */
  QsOptimizer  optimizer;       /* Adam */
  double       learning_rate;   /* 1e-3 (Adam) */
  double       momentum;        /* SGD: 0.9 */
  double       beta1;           /* Adam: 0.9, 0.999, 1e-7 (Keras defaults) */
  double       beta2;
  double       epsilon;
  gboolean     cosine_decay;    /* decay the learning rate to 0 over all epochs */
  guint64      seed;            /* shuffling, dropout (initial weights come with the net) */
  guint        n_threads;       /* 0 = all cores; results do not depend on it */
  guint        max_batches;     /* 0 = whole epochs; else stop each epoch after N batches */
  const char  *checkpoint;      /* nullable: resume from it when it exists, rewrite it after
                                 * every finished epoch */
} QsTrainOptions;

/* Reported after every batch (on the calling thread). */
typedef struct
{
  guint    epoch;               /* 0-based */
  guint    n_epochs;
  guint    batch;               /* 1-based within the epoch */
  guint    n_batches;
  double   loss;                /* running mean over the epoch so far */
  double   accuracy;            /* running top-1 over the epoch so far (training mode) */
  double   fraction;            /* of the whole run */
  double   seconds;             /* wall time of the epoch so far */
  gboolean resumed;             /* this epoch was restored from the checkpoint, not run */
} QsTrainProgress;

typedef void (*QsTrainProgressFunc) (const QsTrainProgress *progress,
                                     gpointer               user_data);

/* Training images in memory: uint8 pixels turned into inputs as pixel * scale + offset,
 * exactly as qs_dataset_fill_inputs() does. */
typedef struct _QsTrainData QsTrainData;

QsTrainData *qs_train_data_new               (guint           n_images,
                                              gsize           image_size,
                                              const guint8   *pixels,  /* copied */
                                              const guint8   *labels,  /* copied */
                                              guint           n_classes);
QsTrainData *qs_train_data_new_from_dataset  (QsDataset      *dataset,
                                              guint           limit,   /* 0 = all */
                                              GError        **error);
/* The model inputs qs_dataset_fill_inputs () makes of the first images (the dataset's
 * preprocessing, resize and crop included), kept as floats; the labels as above. */
QsTrainData *qs_train_data_new_from_model_inputs (QsDataset  *dataset,
                                              QsModel        *model,
                                              guint           limit,   /* 0 = all */
                                              GError        **error);
void         qs_train_data_free              (QsTrainData    *data);
guint        qs_train_data_get_n_images      (QsTrainData    *data);
gsize        qs_train_data_get_image_size    (QsTrainData    *data);
/* Writes images [start, start + count) as float inputs. */
void         qs_train_data_fill              (QsTrainData    *data,
                                              guint           start,
                                              guint           count,
                                              float          *out);

/* A trainable network: float32 weights, forward and backward passes, optimizer state. */
typedef struct _QsTrainNet QsTrainNet;

GQuark              qs_train_error_quark          (void);
void                qs_train_options_init         (QsTrainOptions      *options);

/* The sample architectures: "mlp", "cnn", "resnet", "mobilenet" (28 x 28 x 1 inputs,
 * 10 classes), initialised from seed (Glorot uniform kernels, zero biases). */
const char * const *qs_train_list_archs           (void);
QsTrainNet         *qs_train_net_new_arch         (const char          *arch,
                                                   guint64              seed,
                                                   GError             **error);
/* A trainable copy of a loaded model (Dense, Conv2D, DepthwiseConv2D, pooling, BatchNorm,
 * ReLU/ReLU6, Add, Flatten, Dropout; softmax only on the last layer). */
QsTrainNet         *qs_train_net_new_from_model   (QsModel             *model,
                                                   GError             **error);
void                qs_train_net_free             (QsTrainNet          *net);

gsize               qs_train_net_get_n_params     (QsTrainNet          *net);
gsize               qs_train_net_get_input_size   (QsTrainNet          *net);
guint               qs_train_net_get_n_classes    (QsTrainNet          *net);
const char         *qs_train_net_get_arch         (QsTrainNet          *net); /* nullable */

gboolean            qs_train_net_fit              (QsTrainNet          *net,
                                                   QsTrainData         *data,
                                                   const QsTrainOptions*options,
                                                   QsTrainProgressFunc  progress,
                                                   gpointer             user_data,
                                                   GCancellable        *cancellable,
                                                   GError             **error);
/* Inference mode (BatchNorm moving statistics, no dropout; fake quantization after QAT).
 * limit 0 = all images. */
gboolean            qs_train_net_evaluate         (QsTrainNet          *net,
                                                   QsTrainData         *data,
                                                   guint                limit,
                                                   guint                n_threads,
                                                   double              *accuracy,
                                                   double              *mean_loss,
                                                   GCancellable        *cancellable,
                                                   GError             **error);
/* Logits (before the final softmax) of batch inputs in inference mode. */
gboolean            qs_train_net_predict          (QsTrainNet          *net,
                                                   const float         *inputs,
                                                   gsize                batch,
                                                   float               *logits,
                                                   guint                n_threads,
                                                   GError             **error);

/* The network as a model: Keras layers, weights named "<layer>/<short>". */
QsModel            *qs_train_net_to_model         (QsTrainNet          *net,
                                                   const char          *name,
                                                   GError             **error);
/* Keras 2 full-model .h5 (atomic). */
gboolean            qs_train_net_save             (QsTrainNet          *net,
                                                   const char          *path,
                                                   GError             **error);

/* Quantization-aware training. Returns a copy of net prepared for fine-tuning under
 * config: BatchNorm after a linear Conv2D / DepthwiseConv2D / Dense is folded into its
 * kernel and bias (moving statistics, as the integer engine folds it), kernels are
 * fake-quantized with each layer's weight spec (parameters recomputed from the current
 * weights at every step, exactly as qs_quant_run() computes them), and quantized
 * activations get EMA-tracked ranges (decay 0.99) that qs_train_net_fit() freezes when it
 * finishes (qs_train_net_get_qat_config () carries them to the integer engine). Gradients pass the rounding unchanged (straight-through estimator) and stop
 * where values were clipped. Saving the result writes the folded graph, so the integer
 * engine runs exactly the arithmetic that was trained. */
QsTrainNet         *qs_train_net_new_qat          (QsTrainNet          *net,
                                                   QsConfig            *config,
                                                   GError             **error);
gboolean            qs_train_net_is_qat           (QsTrainNet          *net);
/* The QAT config with the activation ranges the net uses (qs_config_set_activation_range
 * for every quantized value; ranges not set yet are calibrated as the engine calibrates):
 * with it, the integer engine runs on the ranges that were trained, not on a new
 * calibration. NULL with an error when net is not a QAT net or calibration fails. */
QsConfig           *qs_train_net_get_qat_config   (QsTrainNet          *net,
                                                   GError             **error);
/* The activation range a QAT layer ends with (after fit), FALSE when not quantized. */
gboolean            qs_train_net_get_activation_range (QsTrainNet      *net,
                                                       const char      *layer,
                                                       float           *lo,
                                                       float           *hi);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsTrainData, qs_train_data_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsTrainNet, qs_train_net_free)

G_END_DECLS
