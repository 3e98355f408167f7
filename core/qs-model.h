/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-tensor.h"

G_BEGIN_DECLS

#define QS_MODEL_ERROR (qs_model_error_quark ())

typedef enum
{
  QS_MODEL_ERROR_NOT_FOUND,      /* file missing or unreadable */
  QS_MODEL_ERROR_NOT_HDF5,       /* not an HDF5 (or .keras zip) file */
  QS_MODEL_ERROR_CORRUPT,        /* truncated, damaged, inconsistent */
  QS_MODEL_ERROR_UNSUPPORTED,    /* valid but uses something we do not read */
  QS_MODEL_ERROR_BAD_CONFIG,     /* model_config / config.json wrong: names the field */
  QS_MODEL_ERROR_SHAPE_MISMATCH, /* weights disagree with the config */
  QS_MODEL_ERROR_GRAPH,          /* cyclic or dangling edges */
  QS_MODEL_ERROR_EXTERNAL,       /* external links, external storage, virtual datasets */
  QS_MODEL_ERROR_TOO_LARGE,      /* absurd dimensions */
  QS_MODEL_ERROR_NO_INFERENCE,   /* asked to run a model that cannot run */
  QS_MODEL_ERROR_WRITE,
  QS_MODEL_ERROR_TEXT_DAMAGED,   /* an HDF5 file whose binary bytes a text conversion replaced */
} QsModelError;

typedef enum
{
  QS_MODEL_FORMAT_KERAS2_MODEL,   /*< nick=keras2-model >*/
  QS_MODEL_FORMAT_KERAS2_WEIGHTS, /*< nick=keras2-weights >*/
  QS_MODEL_FORMAT_KERAS1_WEIGHTS, /*< nick=keras1-weights >*/
  QS_MODEL_FORMAT_KERAS3_LEGACY,  /*< nick=keras3-legacy >*/
  QS_MODEL_FORMAT_KERAS3_WEIGHTS, /*< nick=keras3-weights >*/
  QS_MODEL_FORMAT_KERAS3_ZIP,     /*< nick=keras3-zip >*/
  QS_MODEL_FORMAT_HDF5,           /*< nick=hdf5 >*/ /* any other HDF5: float datasets as tensors */
} QsModelFormat;

typedef enum
{
  QS_LAYER_INPUT,                /*< nick=input >*/
  QS_LAYER_DENSE,                /*< nick=dense >*/
  QS_LAYER_CONV2D,               /*< nick=conv2d >*/
  QS_LAYER_DEPTHWISE_CONV2D,     /*< nick=depthwise-conv2d >*/
  QS_LAYER_SEPARABLE_CONV2D,     /*< nick=separable-conv2d >*/
  QS_LAYER_MAX_POOL2D,           /*< nick=max-pool2d >*/
  QS_LAYER_AVG_POOL2D,           /*< nick=avg-pool2d >*/
  QS_LAYER_GLOBAL_AVG_POOL2D,    /*< nick=global-avg-pool2d >*/
  QS_LAYER_GLOBAL_MAX_POOL2D,    /*< nick=global-max-pool2d >*/
  QS_LAYER_FLATTEN,              /*< nick=flatten >*/
  QS_LAYER_RESHAPE,              /*< nick=reshape >*/
  QS_LAYER_IDENTITY,             /*< nick=identity >*/ /* Dropout, SpatialDropout2D, GaussianNoise */
  QS_LAYER_BATCH_NORM,           /*< nick=batch-norm >*/
  QS_LAYER_ACTIVATION,           /*< nick=activation >*/ /* Activation, ReLU, LeakyReLU, Softmax */
  QS_LAYER_ADD,                  /*< nick=add >*/
  QS_LAYER_CONCATENATE,          /*< nick=concatenate >*/
  QS_LAYER_ZERO_PADDING2D,       /*< nick=zero-padding2d >*/
  QS_LAYER_RESCALING,            /*< nick=rescaling >*/
  QS_LAYER_NORMALIZATION,        /*< nick=normalization >*/ /* Keras Normalization (invert false) */
  QS_LAYER_RESIZING,             /*< nick=resizing >*/
  QS_LAYER_CENTER_CROP,          /*< nick=center-crop >*/
  QS_LAYER_WEIGHTS,              /*< nick=weights >*/ /* weights-only entry (no architecture) */
  QS_LAYER_UNSUPPORTED,          /*< nick=unsupported >*/
} QsLayerKind;

typedef enum
{
  QS_ACTIVATION_LINEAR,     /*< nick=linear >*/
  QS_ACTIVATION_RELU,       /*< nick=relu >*/       /* with max_value / negative_slope / threshold */
  QS_ACTIVATION_RELU6,      /*< nick=relu6 >*/
  QS_ACTIVATION_SIGMOID,    /*< nick=sigmoid >*/
  QS_ACTIVATION_TANH,       /*< nick=tanh >*/
  QS_ACTIVATION_SOFTMAX,    /*< nick=softmax >*/
  QS_ACTIVATION_SWISH,      /*< nick=swish >*/
  QS_ACTIVATION_GELU,       /*< nick=gelu >*/
  QS_ACTIVATION_ELU,        /*< nick=elu >*/
  QS_ACTIVATION_LEAKY_RELU, /*< nick=leaky-relu >*/
} QsActivation;

/* Resizing's interpolation, as tf.image.resize computes it (half-pixel centres, no
 * antialiasing). */
typedef enum
{
  QS_INTERPOLATION_BILINEAR, /*< nick=bilinear >*/
  QS_INTERPOLATION_NEAREST,  /*< nick=nearest >*/
} QsInterpolation;

typedef enum
{
  QS_PADDING_VALID, /*< nick=valid >*/
  QS_PADDING_SAME,  /*< nick=same >*/
} QsPadding;

/* QsLayer.axis of a Normalization with axis None (one mean and variance for all values). */
#define QS_NORMALIZATION_AXIS_NONE (-1000)

/* One layer of a loaded model. Owned by the model, immutable once loading is done:
 * any thread may read it while it holds a reference to the model. Shapes exclude the batch axis. */
typedef struct
{
  char        *name;
  char        *class_name;      /* as Keras wrote it: "Conv2D" */
  QsLayerKind  kind;
  guint        index;           /* position in the model, topological order */

  GPtrArray   *weights;         /* QsTensor *, Keras order: kernel, bias | gamma, beta, mean, var |
                                 * depthwise, pointwise, bias (SeparableConv2D) */
  guint        n_inputs;
  guint       *inputs;          /* indices of the layers feeding this one */
  guint        output_rank;
  gsize        output_shape[QS_TENSOR_MAX_DIMS];
  gsize        n_params;

  /* Layer configuration (what applies to the kind). */
  guint        units;           /* Dense */
  guint        filters;         /* Conv2D, SeparableConv2D */
  guint        kernel_size[2];
  guint        strides[2];
  guint        dilation[2];
  QsPadding    padding;
  guint        depth_multiplier;
  gboolean     use_bias;
  QsActivation activation;      /* fused activation of Dense/Conv, or the Activation layer's */
  float        relu_max_value;  /* < 0: none */
  float        relu_negative_slope;
  float        relu_threshold;
  float        alpha;           /* LeakyReLU / ELU */
  guint        pool_size[2];
  guint        pool_strides[2];
  float        bn_epsilon;
  gint         axis;            /* Concatenate / BatchNorm / Softmax axis, normalised to >= 0 on the output */
  guint        zero_padding[4]; /* top, bottom, left, right */
  float        rescale_scale;
  float        rescale_offset;
  /* Normalization: y = (x - mean) / max (sqrt (variance), 1e-7) per last-axis channel;
   * norm_n is 1 (axis None) or the channel count. From the config's "mean" / "variance"
   * or, without them, the layer's "mean" / "variance" weights (filled when the model is
   * built). */
  float       *norm_mean;
  float       *norm_variance;
  gsize        norm_n;
  /* Resizing / CenterCrop: the output height and width */
  guint        resize_size[2];
  QsInterpolation resize_interpolation;
  gboolean     crop_to_aspect_ratio; /* Resizing */
  guint        target_rank;     /* Reshape */
  gssize       target_shape[QS_TENSOR_MAX_DIMS];

  char        *why_unsupported; /* kind == QS_LAYER_UNSUPPORTED: the reason */
  gsize        n_nonfinite;     /* NaN/Inf values among the weights (loaded as they are) */
} QsLayer;

#define QS_TYPE_MODEL (qs_model_get_type ())

G_DECLARE_FINAL_TYPE (QsModel, qs_model, QS, MODEL, GObject)

GQuark         qs_model_error_quark          (void);

/* Loads any supported file. architecture_path (nullable): a model.to_json() file or a
 * model/.keras file whose config completes a weights-only file. */
QsModel       *qs_model_load                 (const char    *path,
                                              const char    *architecture_path,
                                              GCancellable  *cancellable,
                                              GError       **error);
/* As qs_model_load, but the file is parsed in quantscope-loader, a helper process under
 * resource limits (address space, CPU time, open files, no file writes), a seccomp filter
 * (no network, no exec, no writes) and a timeout; the model comes back over a pipe. A
 * crash, hang or limit in the helper is a QS_MODEL_ERROR naming the file. What the app and
 * the CLI use for files from users. QS_NO_SANDBOX=1, or no helper installed, loads
 * in-process; QS_LOADER names the helper, QS_LOADER_TIMEOUT its time limit in seconds. */
QsModel       *qs_model_load_untrusted       (const char    *path,
                                              const char    *architecture_path,
                                              GCancellable  *cancellable,
                                              GError       **error);
gboolean       qs_model_sandbox_available    (void);
/* The time limit for a file of this size (QS_LOADER_TIMEOUT overrides). */
guint          qs_model_sandbox_timeout_seconds (gsize       file_size);
void           qs_model_load_async           (const char          *path,
                                              const char          *architecture_path,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
QsModel       *qs_model_load_finish          (GAsyncResult  *result,
                                              GError       **error);

const char    *qs_model_get_path             (QsModel       *self);
const char    *qs_model_get_name             (QsModel       *self); /* model name or file basename */
QsModelFormat  qs_model_get_format           (QsModel       *self);
const char    *qs_model_get_keras_version    (QsModel       *self); /* nullable */
guint          qs_model_get_n_layers         (QsModel       *self);
const QsLayer *qs_model_get_layer            (QsModel       *self,
                                              guint          index);
const QsLayer *qs_model_find_layer           (QsModel       *self,
                                              const char    *name);
/* Input shape without the batch axis, e.g. [28, 28, 1]. */
guint          qs_model_get_input_shape      (QsModel       *self,
                                              gsize         *shape);
guint          qs_model_get_n_classes        (QsModel       *self);
gsize          qs_model_get_n_params         (QsModel       *self);
/* TRUE when the float engine can run the whole model; otherwise why_not says which layer
 * (name and class) or what is missing, in a sentence a user can read. */
gboolean       qs_model_can_infer            (QsModel       *self,
                                              const char   **why_not);
/* The SHA-256 of the file, for sessions. */
const char    *qs_model_get_checksum         (QsModel       *self);

/* The weight a quantization config addresses for a layer (kernel; depthwise kernel for
 * SeparableConv2D's first weight), or NULL for layers without one. */
QsTensor      *qs_layer_get_kernel           (const QsLayer *layer);
QsTensor      *qs_layer_get_bias             (const QsLayer *layer);
gboolean       qs_layer_has_weights          (const QsLayer *layer);

/* Builder: all config fields defaulted (strides 1, dilation 1, relu_max_value -1 ...); the
 * caller fills fields, adds weights with g_ptr_array_add (layer->weights, tensor) (the array
 * owns the references; names "<layer>/<short>") and sets n_inputs/inputs (g_new). */
QsLayer       *qs_layer_new                  (const char    *name,
                                              const char    *class_name,
                                              QsLayerKind    kind);
void           qs_layer_free                 (QsLayer       *layer);
/* layers: QsLayer *, transfer full, topological order, layer 0 an InputLayer (its
 * output_rank/output_shape give the input shape), the output last. Validates the graph and
 * the weight shapes, computes output shapes and parameter counts. Concatenate/Softmax/BatchNorm
 * axis: negative counts from the end, non-negative indexes the shape without the batch axis. */
QsModel       *qs_model_new_from_layers      (const char    *name,
                                              GPtrArray     *layers,
                                              GError       **error);
/* Writes a Keras 2 full-model .h5 (model_config, model_weights with layer_names/weight_names)
 * that Keras can load, or a Keras 2 save_weights file for weights-only models. weights
 * (nullable): tensor name -> QsTensor replacing the model's. Atomic (temp file + rename).
 * Refuses (QS_MODEL_ERROR_WRITE) a path that exists and is not a regular file, and the file
 * the model was loaded from. */
gboolean       qs_model_save                 (QsModel       *model,
                                              const char    *path,
                                              GHashTable    *weights,
                                              GError       **error);
/* A copy of the model sharing its layers' configuration, with some weights replaced
 * (tensor name -> QsTensor of the same shape). */
QsModel       *qs_model_new_with_weights     (QsModel       *model,
                                              GHashTable    *weights,
                                              GError       **error);

G_END_DECLS
