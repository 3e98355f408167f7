/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "qs-cli-common.h"
#include "qs-cli-commands.h"
#include "quantscope-core.h"

/* quantscope-cli info MODEL [--architecture F] [--json] */

static const char *
enum_nick (GType type,
           gint  value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *v = g_enum_get_value (klass, value);

  return v != NULL ? v->value_nick : "?";
}

static void
add_shape (JsonBuilder *b,
           guint        rank,
           const gsize *shape)
{
  json_builder_begin_array (b);
  for (guint i = 0; i < rank; i++)
    json_builder_add_int_value (b, shape[i]);
  json_builder_end_array (b);
}

static char *
shape_string (guint        rank,
              const gsize *shape)
{
  GString *s = g_string_new ("(");

  for (guint i = 0; i < rank; i++)
    g_string_append_printf (s, "%s%zu", i > 0 ? ", " : "", shape[i]);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

static void
print_json (QsModel *model)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank = qs_model_get_input_shape (model, shape);
  const char *why_not = NULL;
  gboolean can_infer = qs_model_can_infer (model, &why_not);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, qs_model_get_path (model));
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, qs_model_get_name (model));
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, enum_nick (QS_TYPE_MODEL_FORMAT, qs_model_get_format (model)));
  json_builder_set_member_name (b, "keras_version");
  if (qs_model_get_keras_version (model) != NULL)
    json_builder_add_string_value (b, qs_model_get_keras_version (model));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "input_shape");
  if (rank > 0)
    add_shape (b, rank, shape);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "n_classes");
  json_builder_add_int_value (b, qs_model_get_n_classes (model));
  json_builder_set_member_name (b, "can_infer");
  json_builder_add_boolean_value (b, can_infer);
  json_builder_set_member_name (b, "why_not");
  if (why_not != NULL)
    json_builder_add_string_value (b, why_not);
  else
    json_builder_add_null_value (b);

  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, l->name);
      json_builder_set_member_name (b, "class");
      json_builder_add_string_value (b, l->class_name);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, enum_nick (QS_TYPE_LAYER_KIND, l->kind));
      json_builder_set_member_name (b, "params");
      json_builder_add_int_value (b, l->n_params);
      json_builder_set_member_name (b, "output_shape");
      if (l->output_rank > 0)
        add_shape (b, l->output_rank, l->output_shape);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "inputs");
      json_builder_begin_array (b);
      for (guint j = 0; j < l->n_inputs; j++)
        json_builder_add_string_value (b, qs_model_get_layer (model, l->inputs[j])->name);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "weights");
      json_builder_begin_array (b);
      for (guint j = 0; j < l->weights->len; j++)
        {
          QsTensor *t = g_ptr_array_index (l->weights, j);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, t->name);
          json_builder_set_member_name (b, "shape");
          add_shape (b, t->n_dims, t->shape);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "nonfinite");
      json_builder_add_int_value (b, l->n_nonfinite);
      if (l->kind == QS_LAYER_UNSUPPORTED)
        {
          json_builder_set_member_name (b, "unsupported");
          json_builder_add_string_value (b, l->why_unsupported != NULL ? l->why_unsupported : "");
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "total_params");
  json_builder_add_int_value (b, qs_model_get_n_params (model));
  json_builder_set_member_name (b, "float32_bytes");
  json_builder_add_int_value (b, qs_model_get_n_params (model) * sizeof (float));
  json_builder_end_object (b);
  qs_cli_print_builder (b);
}

static void
print_text (QsModel *model)
{
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank = qs_model_get_input_shape (model, shape);
  g_autofree char *input = shape_string (rank, shape);
  const char *why_not = NULL;

  printf (_("Model:         %s\n"), qs_model_get_name (model));
  printf (_("File:          %s\n"), qs_model_get_path (model));
  printf (_("Format:        %s\n"), enum_nick (QS_TYPE_MODEL_FORMAT, qs_model_get_format (model)));
  printf (_("Keras version: %s\n"), qs_model_get_keras_version (model) != NULL ? qs_model_get_keras_version (model) : _("unknown"));
  printf (_("Input shape:   %s\n"), rank > 0 ? input : _("unknown"));
  if (qs_model_can_infer (model, &why_not))
    printf (_("Inference:     available (%u classes)\n"), qs_model_get_n_classes (model));
  else
    printf (_("Inference:     not available: %s\n"), why_not);
  printf ("\n%-28s %-24s %12s  %-20s %s\n", _("Layer"), _("Class"), _("Parameters"), _("Output"), _("Weights"));
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *l = qs_model_get_layer (model, i);
      g_autofree char *out = l->output_rank > 0 ? shape_string (l->output_rank, l->output_shape) : g_strdup ("-");
      g_autoptr(GString) w = g_string_new (NULL);

      for (guint j = 0; j < l->weights->len; j++)
        {
          QsTensor *t = g_ptr_array_index (l->weights, j);
          g_autofree char *s = shape_string (t->n_dims, t->shape);
          g_string_append_printf (w, "%s%s %s", j > 0 ? ", " : "", t->name, s);
        }
      printf ("%-28s %-24s %12zu  %-20s %s\n", l->name, l->class_name, l->n_params, out, w->str);
      if (l->n_nonfinite > 0)
        printf (_("  warning: %zu weights of this layer are NaN or infinite\n"), l->n_nonfinite);
      if (l->kind == QS_LAYER_UNSUPPORTED)
        printf (_("  not supported: %s\n"), l->why_unsupported);
    }
  printf (_("\nTotal: %zu parameters, %zu bytes as float32\n"),
          qs_model_get_n_params (model), qs_model_get_n_params (model) * sizeof (float));
}

int
qs_cli_info (int    argc,
             char **argv)
{
  g_autofree char *architecture = NULL;
  gboolean json = FALSE;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  GOptionEntry entries[] = {
    { "architecture", 'a', 0, G_OPTION_ARG_FILENAME, &architecture,
      N_("Architecture for a weights-only file (model.to_json () output, .keras or full-model .h5)"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };

  if (!qs_cli_parse ("info", "MODEL", _("Describe a model file: format, input, layers, weights."),
                     entries, &argc, &argv))
    return QS_CLI_EXIT_USAGE;
  if (argc != 2)
    return qs_cli_usage_error ("info", _("expected exactly one MODEL file"));

  model = qs_model_load_untrusted (argv[1], architecture, NULL, &error);
  if (model == NULL)
    return qs_cli_fail ("info", error);
  if (json)
    print_json (model);
  else
    print_text (model);
  return QS_CLI_EXIT_OK;
}
