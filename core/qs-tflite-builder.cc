/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one C++ translation unit of core: serializes a QsTflModel with the flatbuffers code
 * flatc generates from tflite-schema.fbs. Everything else of the export is C. */
#include "config.h"

#include <vector>

#include "tflite-schema_generated.h"
#include "qs-tflite-builder.h"

using namespace tflite;

static flatbuffers::Offset<void>
build_options (flatbuffers::FlatBufferBuilder &b,
               const QsTflOp                  &op,
               BuiltinOptions                 *type)
{
  ActivationFunctionType act = static_cast<ActivationFunctionType> (op.fused_activation);
  Padding padding = static_cast<Padding> (op.padding);

  switch (op.builtin)
    {
    case QS_TFL_OP_CONV_2D:
      *type = BuiltinOptions_Conv2DOptions;
      return CreateConv2DOptions (b, padding, op.stride_w, op.stride_h, act,
                                  op.dilation_w, op.dilation_h).Union ();
    case QS_TFL_OP_DEPTHWISE_CONV_2D:
      *type = BuiltinOptions_DepthwiseConv2DOptions;
      return CreateDepthwiseConv2DOptions (b, padding, op.stride_w, op.stride_h,
                                           op.depth_multiplier, act,
                                           op.dilation_w, op.dilation_h).Union ();
    case QS_TFL_OP_AVERAGE_POOL_2D:
    case QS_TFL_OP_MAX_POOL_2D:
      *type = BuiltinOptions_Pool2DOptions;
      return CreatePool2DOptions (b, padding, op.stride_w, op.stride_h, op.filter_w,
                                  op.filter_h, act).Union ();
    case QS_TFL_OP_FULLY_CONNECTED:
      *type = BuiltinOptions_FullyConnectedOptions;
      return CreateFullyConnectedOptions (b, act).Union ();
    case QS_TFL_OP_SOFTMAX:
      *type = BuiltinOptions_SoftmaxOptions;
      return CreateSoftmaxOptions (b, op.beta).Union ();
    case QS_TFL_OP_CONCATENATION:
      *type = BuiltinOptions_ConcatenationOptions;
      return CreateConcatenationOptions (b, op.axis, act).Union ();
    case QS_TFL_OP_ADD:
      *type = BuiltinOptions_AddOptions;
      return CreateAddOptions (b, act).Union ();
    case QS_TFL_OP_MUL:
      *type = BuiltinOptions_MulOptions;
      return CreateMulOptions (b, act).Union ();
    case QS_TFL_OP_PAD:
      *type = BuiltinOptions_PadOptions;
      return CreatePadOptions (b).Union ();
    default:
      *type = BuiltinOptions_NONE;
      return 0;
    }
}

extern "C" GBytes *
qs_tflite_build (const QsTflModel *m)
{
  flatbuffers::FlatBufferBuilder b (1 << 16);
  std::vector<flatbuffers::Offset<Buffer>> buffers;
  std::vector<flatbuffers::Offset<Tensor>> tensors;
  std::vector<flatbuffers::Offset<Operator>> ops;
  std::vector<flatbuffers::Offset<OperatorCode>> codes;
  std::vector<std::pair<gint32, gint32>> code_keys;   /* (builtin, version) */

  /* Buffers first: big constant data ends up at the end of the file, aligned. */
  for (guint i = 0; i < m->buffers->len; i++)
    {
      GBytes *bytes = static_cast<GBytes *> (g_ptr_array_index (m->buffers, i));
      gsize size = 0;
      const guint8 *data = bytes ? static_cast<const guint8 *> (g_bytes_get_data (bytes, &size)) : nullptr;

      if (size == 0)
        buffers.push_back (CreateBuffer (b));
      else
        {
          b.ForceVectorAlignment (size, sizeof (guint8), 16);
          buffers.push_back (CreateBuffer (b, b.CreateVector (data, size)));
        }
    }

  for (guint i = 0; i < m->tensors->len; i++)
    {
      const QsTflTensor &t = g_array_index (m->tensors, QsTflTensor, i);
      flatbuffers::Offset<QuantizationParameters> q = 0;
      std::vector<int32_t> shape (t.shape, t.shape + t.rank);

      if (t.n_quant > 0)
        {
          std::vector<int64_t> zp (t.zero_point, t.zero_point + t.n_quant);

          q = CreateQuantizationParameters (b, 0, 0, b.CreateVector (t.scale, t.n_quant),
                                            b.CreateVector (zp), t.quantized_dimension);
        }
      tensors.push_back (CreateTensor (b, b.CreateVector (shape),
                                       static_cast<TensorType> (t.type), t.buffer,
                                       b.CreateString (t.name ? t.name : ""), q));
    }

  for (guint i = 0; i < m->ops->len; i++)
    {
      const QsTflOp &op = g_array_index (m->ops, QsTflOp, i);
      std::pair<gint32, gint32> key (op.builtin, op.version);
      guint index = 0;
      BuiltinOptions type;
      flatbuffers::Offset<void> options;
      std::vector<int32_t> inputs (op.inputs, op.inputs + op.n_inputs);
      std::vector<int32_t> outputs (1, op.output);

      while (index < code_keys.size () && code_keys[index] != key)
        index++;
      if (index == code_keys.size ())
        {
          code_keys.push_back (key);
          codes.push_back (CreateOperatorCode (b, static_cast<int8_t> (MIN (op.builtin, 127)), 0,
                                               op.version,
                                               static_cast<BuiltinOperator> (op.builtin)));
        }
      options = build_options (b, op, &type);
      ops.push_back (CreateOperator (b, index, b.CreateVector (inputs),
                                     b.CreateVector (outputs), type, options));
    }

  std::vector<int32_t> in (1, m->input), out (1, m->output);
  auto subgraph = CreateSubGraph (b, b.CreateVector (tensors), b.CreateVector (in),
                                  b.CreateVector (out), b.CreateVector (ops),
                                  b.CreateString ("main"));
  std::vector<flatbuffers::Offset<SubGraph>> subgraphs (1, subgraph);
  auto model = CreateModel (b, 3, b.CreateVector (codes), b.CreateVector (subgraphs),
                            b.CreateString (m->description ? m->description : ""),
                            b.CreateVector (buffers));
  FinishModelBuffer (b, model);

  /* Check what we wrote with the generated verifier before anyone reads it. */
  flatbuffers::Verifier verifier (b.GetBufferPointer (), b.GetSize ());
  if (!VerifyModelBuffer (verifier))
    return nullptr;
  return g_bytes_new (b.GetBufferPointer (), b.GetSize ());
}
