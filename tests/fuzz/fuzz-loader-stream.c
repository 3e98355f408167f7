/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness: what the parent reads from the sandboxed loader (the header JSON and
 * the tensors after it). The helper may be the one a hostile file compromised, so its
 * answer is a trust boundary like the file itself. */
#include "config.h"

#include <string.h>

#include "quantscope-core.h"
#include "qs-model-sandbox.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(QsModel) model = NULL;
  guint64 header_len = size;

  if (size > ((gsize) 1 << 20))
    return 0;
  /* The input is the header JSON then tensor bytes; the length prefix comes from the first
   * 8 bytes when the input starts with '#', else it covers everything (so that JSON seeds
   * mutate into valid headers). */
  if (size >= 9 && data[0] == '#')
    {
      memcpy (&header_len, data + 1, 8);
      data += 9;
      size -= 9;
    }
  {
    g_autoptr(GBytes) prefix = g_bytes_new (&header_len, sizeof header_len);
    g_autoptr(GBytes) body = g_bytes_new (data, size);
    in = g_memory_input_stream_new_from_bytes (prefix);
    g_memory_input_stream_add_bytes (G_MEMORY_INPUT_STREAM (in), body);
  }
  model = _qs_model_sandbox_read_model (in, "fuzz.h5", NULL, NULL);
  if (model != NULL)
    (void) qs_model_can_infer (model, NULL);
  return 0;
}
