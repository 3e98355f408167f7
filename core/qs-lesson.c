/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-enums.h"
#include "qs-lesson.h"

/* Lesson files: a small XML format (docs/lessons.md). Titles and paragraphs are extracted
 * for translation by xgettext through po/its/quantscope-lesson.{its,loc}, and translated
 * here with the same whitespace normalisation. */

G_DEFINE_QUARK (qs-lesson-error-quark, qs_lesson_error)
G_DEFINE_BOXED_TYPE (QsLesson, qs_lesson, qs_lesson_ref, qs_lesson_unref)

enum
{
  FIELD_FORMAT       = 1 << 0,
  FIELD_BITS         = 1 << 1,
  FIELD_MAPPING      = 1 << 2,
  FIELD_GRANULARITY  = 1 << 3,
  FIELD_ROUNDING     = 1 << 4,
  FIELD_RANGE        = 1 << 5,
  FIELD_PERCENTILE   = 1 << 6,
  FIELD_SPARSITY     = 1 << 7,
  FIELD_ACTIVATIONS  = 1 << 8,
  FIELD_GROUP_SIZE   = 1 << 9,
};

static const char * const bundled[] = {
  "lessons/01-scale-and-zero-point.lesson",
  "lessons/02-rounding-and-clipping.lesson",
  "lessons/03-symmetric-and-affine.lesson",
  "lessons/04-per-tensor-and-per-channel.lesson",
  "lessons/05-bits-and-accuracy.lesson",
  "lessons/06-weights-only-and-full.lesson",
  "lessons/07-float-formats.lesson",
  "lessons/08-pruning.lesson",
  "lessons/09-quantization-aware-training.lesson",
  "lessons/10-mixed-precision.lesson",
  NULL
};

static const struct { const char *name; const char *file; } samples[] = {
  { "mlp", "models/fmnist-mlp.h5" },
  { "cnn", "models/fmnist-cnn.h5" },
  { "resnet", "models/fmnist-resnet.h5" },
  { "mobilenet", "models/fmnist-mobilenet.h5" },
};

const char * const *
qs_lesson_list_bundled (void)
{
  return bundled;
}

const char *
qs_lesson_sample_model_file (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    if (g_strcmp0 (name, samples[i].name) == 0)
      return samples[i].file;
  return NULL;
}

char *
qs_lesson_normalize_space (const char *text)
{
  GString *out = g_string_new (NULL);
  gboolean space = FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p))
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static char *
translate (const char *text)
{
  g_autofree char *norm = qs_lesson_normalize_space (text);

  return g_strdup (g_dgettext (GETTEXT_PACKAGE, norm));
}

static void
weights_free (gpointer data)
{
  QsLessonWeights *w = data;

  g_free (w->pattern);
  g_free (w);
}

/* The error paths of parse_weights free the pattern too. */
typedef QsLessonWeights QsLessonWeightsOwned;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsLessonWeightsOwned, weights_free)

static void
step_free (gpointer data)
{
  QsLessonStep *step = data;

  g_free (step->title);
  g_free (step->text);
  g_free (step->model);
  g_free (step->preset);
  g_free (step->layer);
  g_free (step->chart);
  g_clear_pointer (&step->weights, g_ptr_array_unref);
  g_free (step);
}

QsLesson *
qs_lesson_ref (QsLesson *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
qs_lesson_unref (QsLesson *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->path);
  g_free (self->title);
  g_ptr_array_unref (self->steps);
  g_free (self);
}

guint
qs_lesson_get_n_steps (QsLesson *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->steps->len;
}

const QsLessonStep *
qs_lesson_get_step (QsLesson *self,
                    guint     index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->steps->len, NULL);
  return g_ptr_array_index (self->steps, index);
}

/* ---------------------------------------------------------------------------------------- */
/* Parsing                                                                                  */

typedef struct
{
  const char   *path;
  QsLesson     *lesson;
  QsLessonStep *step;        /* the step being read */
  GString      *text;        /* of the <title> or <p> being read */
  GString      *paragraphs;  /* of the step being read */
  gboolean      in_text;
  gboolean      seen_lesson;
} ParseState;

G_GNUC_PRINTF (4, 5) static void
fail (GMarkupParseContext *context,
      ParseState          *state,
      GError             **error,
      const char          *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;
  int line = 0;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_markup_parse_context_get_position (context, &line, NULL);
  /* Translators: a lesson file error: file name, line, what is wrong */
  g_set_error (error, QS_LESSON_ERROR, QS_LESSON_ERROR_SCHEMA, _("%s:%d: %s"),
               state->path, line, message);
}

static const char *
element_path (ParseState *state,
              const char *element)
{
  static char buffer[64];

  if (state->step != NULL)
    g_snprintf (buffer, sizeof buffer, "step %u <%s>", state->lesson->steps->len + 1, element);
  else
    g_snprintf (buffer, sizeof buffer, "<%s>", element);
  return buffer;
}

static gboolean
parse_double (const char *value,
              double      lo,
              double      hi,
              double     *out)
{
  char *end = NULL;
  double d = g_ascii_strtod (value, &end);

  if (end == value || *end != '\0' || !(d >= lo && d <= hi))
    return FALSE;
  *out = d;
  return TRUE;
}

static gboolean
parse_weights (GMarkupParseContext *context,
               ParseState          *state,
               const char         **names,
               const char         **values,
               GError             **error)
{
  g_autoptr(QsLessonWeightsOwned) w = g_new0 (QsLessonWeights, 1);
  const char *where = element_path (state, "weights");

  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *n = names[i], *v = values[i];
      gint e = 0;
      double d = 0;
      gboolean ok = TRUE;
      GType type = G_TYPE_INVALID;

      if (strcmp (n, "layer") == 0)
        {
          g_free (w->pattern);
          w->pattern = g_strdup (v);
          continue;
        }
      if (strcmp (n, "format") == 0)
        {
          type = QS_TYPE_FORMAT;
          if ((ok = qs_enum_from_nick (type, v, &e)))
            w->format = e, w->set |= FIELD_FORMAT;
        }
      else if (strcmp (n, "bits") == 0)
        {
          if ((ok = parse_double (v, 2, 16, &d) && d == (guint) d))
            w->bits = (guint) d, w->set |= FIELD_BITS;
        }
      else if (strcmp (n, "mapping") == 0)
        {
          type = QS_TYPE_MAPPING;
          if ((ok = qs_enum_from_nick (type, v, &e)))
            w->mapping = e, w->set |= FIELD_MAPPING;
        }
      else if (strcmp (n, "granularity") == 0)
        {
          type = QS_TYPE_GRANULARITY;
          if ((ok = qs_enum_from_nick (type, v, &e)))
            w->granularity = e, w->set |= FIELD_GRANULARITY;
        }
      else if (strcmp (n, "group-size") == 0)
        {
          if ((ok = parse_double (v, 1, 65536, &d) && d == (guint) d))
            w->group_size = (guint) d, w->set |= FIELD_GROUP_SIZE;
        }
      else if (strcmp (n, "rounding") == 0)
        {
          type = QS_TYPE_ROUNDING;
          if ((ok = qs_enum_from_nick (type, v, &e)))
            w->rounding = e, w->set |= FIELD_ROUNDING;
        }
      else if (strcmp (n, "range") == 0)
        {
          type = QS_TYPE_RANGE_METHOD;
          if ((ok = qs_enum_from_nick (type, v, &e)))
            w->range_method = e, w->set |= FIELD_RANGE;
        }
      else if (strcmp (n, "percentile") == 0)
        {
          if ((ok = parse_double (v, 50, 100, &d)))
            w->range_param = d, w->set |= FIELD_PERCENTILE;
        }
      else if (strcmp (n, "sparsity") == 0)
        {
          if ((ok = parse_double (v, 0, 0.99, &d)))
            w->sparsity = d, w->set |= FIELD_SPARSITY;
        }
      else if (strcmp (n, "activations") == 0)
        {
          if ((ok = (strcmp (v, "true") == 0 || strcmp (v, "false") == 0)))
            w->activations = strcmp (v, "true") == 0, w->set |= FIELD_ACTIVATIONS;
        }
      else
        {
          /* Translators: %s: where in the lesson file ("step 2 <weights>"), then an attribute name */
          fail (context, state, error, _("%s: unknown attribute “%s”"), where, n);
          return FALSE;
        }
      if (!ok)
        {
          g_autofree char *nicks = type != G_TYPE_INVALID ? qs_enum_list_nicks (type) : NULL;

          if (nicks != NULL)
            /* Translators: where, attribute, its value, the values allowed */
            fail (context, state, error, _("%s: %s=“%s” is not one of %s"), where, n, v, nicks);
          else
            /* Translators: where, attribute, its value */
            fail (context, state, error, _("%s: %s=“%s” is out of range or not a number"), where, n, v);
          return FALSE;
        }
    }
  if (w->pattern == NULL || *w->pattern == '\0')
    {
      /* Translators: where in the lesson file; "layer" is an attribute name, keep it */
      fail (context, state, error, _("%s: the attribute “layer” (a layer name or glob) is missing"), where);
      return FALSE;
    }
  g_ptr_array_add (state->step->weights, g_steal_pointer (&w));
  return TRUE;
}

static gboolean
parse_step (GMarkupParseContext *context,
            ParseState          *state,
            const char         **names,
            const char         **values,
            GError             **error)
{
  QsLessonStep *step = state->step;
  const char *where = element_path (state, "step");

  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *n = names[i], *v = values[i];

      if (strcmp (n, "model") == 0)
        {
          if (qs_lesson_sample_model_file (v) == NULL)
            {
              fail (context, state, error, _("%s: model=“%s” is not a bundled sample (mlp, cnn, resnet, mobilenet)"), where, v);
              return FALSE;
            }
          g_free (step->model);
          step->model = g_strdup (v);
        }
      else if (strcmp (n, "preset") == 0)
        {
          if (!g_strv_contains (qs_config_list_presets (), v))
            {
              g_autofree char *list = g_strjoinv (", ", (char **) qs_config_list_presets ());

              fail (context, state, error, _("%s: preset=“%s” is not one of %s"), where, v, list);
              return FALSE;
            }
          g_free (step->preset);
          step->preset = g_strdup (v);
        }
      else if (strcmp (n, "layer") == 0)
        {
          g_free (step->layer);
          step->layer = g_strdup (v);
        }
      else if (strcmp (n, "page") == 0)
        {
          if (strcmp (v, "layer") == 0)
            step->page = QS_LESSON_PAGE_LAYER;
          else if (strcmp (v, "sensitivity") == 0)
            step->page = QS_LESSON_PAGE_SENSITIVITY;
          else if (strcmp (v, "playground") == 0)
            step->page = QS_LESSON_PAGE_PLAYGROUND;
          else
            {
              fail (context, state, error, _("%s: page=“%s” is not one of layer, sensitivity, playground"), where, v);
              return FALSE;
            }
        }
      else if (strcmp (n, "chart") == 0)
        {
          if (g_strcmp0 (v, "histogram") != 0 && g_strcmp0 (v, "heatmap") != 0
              && g_strcmp0 (v, "channels") != 0)
            {
              fail (context, state, error, _("%s: chart=“%s” is not one of histogram, heatmap, channels"), where, v);
              return FALSE;
            }
          g_free (step->chart);
          step->chart = g_strdup (v);
        }
      else if (strcmp (n, "requantization") == 0)
        {
          if (!qs_requant_mode_from_string (v, &step->requant))
            {
              fail (context, state, error, _("%s: requantization=“%s” is not one of gemmlowp, single-rounding, fp32-rne, cmsis-nn"), where, v);
              return FALSE;
            }
          step->has_requant = TRUE;
        }
      else
        {
          fail (context, state, error, _("%s: unknown attribute “%s”"), where, n);
          return FALSE;
        }
    }
  return TRUE;
}

static void
start_element (GMarkupParseContext *context,
               const char          *element,
               const char         **names,
               const char         **values,
               gpointer             user_data,
               GError             **error)
{
  ParseState *state = user_data;
  const char *parent = NULL;
  const GSList *stack = g_markup_parse_context_get_element_stack (context);

  if (stack->next != NULL)
    parent = stack->next->data;

  if (state->in_text)
    {
      /* Translators: where in the lesson file; the text of titles and paragraphs is plain */
      fail (context, state, error, _("%s: markup inside text is not allowed"), element_path (state, element));
      return;
    }
  if (strcmp (element, "lesson") == 0 && parent == NULL)
    {
      const char *version = NULL;

      if (!g_markup_collect_attributes (element, names, values, error,
                                        G_MARKUP_COLLECT_STRING, "version", &version,
                                        G_MARKUP_COLLECT_INVALID))
        {
          g_autofree char *message = g_strdup ((*error)->message);

          g_clear_error (error);
          fail (context, state, error, "<lesson>: %s", message);
          return;
        }
      if (strcmp (version, "1") != 0)
        {
          fail (context, state, error, _("<lesson>: version=“%s”: this Quantscope reads lesson files of version %d"),
                version, QS_LESSON_VERSION);
          (*error)->code = QS_LESSON_ERROR_VERSION;
          return;
        }
      state->seen_lesson = TRUE;
    }
  else if (strcmp (element, "title") == 0 && (g_strcmp0 (parent, "lesson") == 0 || g_strcmp0 (parent, "step") == 0)
           && names[0] == NULL)
    {
      state->in_text = TRUE;
      g_string_truncate (state->text, 0);
    }
  else if (strcmp (element, "step") == 0 && g_strcmp0 (parent, "lesson") == 0)
    {
      state->step = g_new0 (QsLessonStep, 1);
      state->step->weights = g_ptr_array_new_with_free_func (weights_free);
      g_string_truncate (state->paragraphs, 0);
      parse_step (context, state, names, values, error);
    }
  else if (strcmp (element, "p") == 0 && g_strcmp0 (parent, "step") == 0 && names[0] == NULL)
    {
      state->in_text = TRUE;
      g_string_truncate (state->text, 0);
    }
  else if (strcmp (element, "weights") == 0 && g_strcmp0 (parent, "step") == 0)
    parse_weights (context, state, names, values, error);
  else if (parent == NULL)
    fail (context, state, error, _("<%s>: not a lesson file (the root element must be <lesson>)"), element);
  else
    /* Translators: an element name, then its parent's */
    fail (context, state, error, _("%s: unexpected element (or attributes) inside <%s>"),
          element_path (state, element), parent);
}

static void
end_element (GMarkupParseContext *context,
             const char          *element,
             gpointer             user_data,
             GError             **error)
{
  ParseState *state = user_data;
  const GSList *stack = g_markup_parse_context_get_element_stack (context);
  const char *parent = stack->next != NULL ? stack->next->data : NULL;

  if (strcmp (element, "title") == 0 || strcmp (element, "p") == 0)
    {
      g_autofree char *text = NULL;

      state->in_text = FALSE;
      text = qs_lesson_normalize_space (state->text->str);
      if (*text == '\0')
        {
          fail (context, state, error, _("%s: empty text"), element_path (state, element));
          return;
        }
      g_free (text);
      text = translate (state->text->str);
      if (strcmp (element, "p") == 0)
        g_string_append_printf (state->paragraphs, "%s%s", state->paragraphs->len ? "\n\n" : "", text);
      else if (g_strcmp0 (parent, "step") == 0)
        {
          g_free (state->step->title);
          state->step->title = g_steal_pointer (&text);
        }
      else
        {
          g_free (state->lesson->title);
          state->lesson->title = g_steal_pointer (&text);
        }
    }
  else if (strcmp (element, "step") == 0)
    {
      if (state->paragraphs->len == 0)
        {
          fail (context, state, error, _("%s: a step needs at least one <p> paragraph"), element_path (state, "step"));
          return;
        }
      state->step->text = g_strdup (state->paragraphs->str);
      g_ptr_array_add (state->lesson->steps, g_steal_pointer (&state->step));
    }
}

static void
text (GMarkupParseContext *context,
      const char          *data,
      gsize                length,
      gpointer             user_data,
      GError             **error)
{
  ParseState *state = user_data;

  if (state->in_text)
    g_string_append_len (state->text, data, length);
  else
    for (gsize i = 0; i < length; i++)
      if (!g_ascii_isspace (data[i]))
        {
          fail (context, state, error, _("text outside <title> or <p>"));
          return;
        }
}

QsLesson *
qs_lesson_new_from_data (const char  *data,
                         gssize       length,
                         const char  *path,
                         GError     **error)
{
  static const GMarkupParser parser = { start_element, end_element, text, NULL, NULL };
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(QsLesson) lesson = g_new0 (QsLesson, 1);
  ParseState state = { 0 };
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (data != NULL, NULL);

  if (path == NULL)
    path = "lesson";
  g_atomic_ref_count_init (&lesson->ref_count);
  lesson->path = g_strdup (path);
  lesson->steps = g_ptr_array_new_with_free_func (step_free);
  state.path = path;
  state.lesson = lesson;
  state.text = g_string_new (NULL);
  state.paragraphs = g_string_new (NULL);

  context = g_markup_parse_context_new (&parser, G_MARKUP_PREFIX_ERROR_POSITION, &state, NULL);
  if (!g_markup_parse_context_parse (context, data, length, &local_error)
      || !g_markup_parse_context_end_parse (context, &local_error))
    {
      if (local_error->domain != QS_LESSON_ERROR)
        {
          g_autoptr(GError) parse_error = g_steal_pointer (&local_error);

          g_set_error (&local_error, QS_LESSON_ERROR, QS_LESSON_ERROR_PARSE,
                       /* Translators: file name, then the XML parser's message */
                       _("%s: not a valid lesson file: %s"), path, parse_error->message);
        }
      g_clear_pointer (&state.step, step_free);
    }
  else if (lesson->title == NULL)
    g_set_error (&local_error, QS_LESSON_ERROR, QS_LESSON_ERROR_SCHEMA,
                 _("%s: the lesson has no <title>"), path);
  else if (lesson->steps->len == 0)
    g_set_error (&local_error, QS_LESSON_ERROR, QS_LESSON_ERROR_SCHEMA,
                 _("%s: the lesson has no <step>"), path);
  g_string_free (state.text, TRUE);
  g_string_free (state.paragraphs, TRUE);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_steal_pointer (&lesson);
}

QsLesson *
qs_lesson_load_file (const char  *path,
                     GError     **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_set_error (error, QS_LESSON_ERROR, QS_LESSON_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  if (length > QS_LESSON_MAX_BYTES)
    {
      g_set_error (error, QS_LESSON_ERROR, QS_LESSON_ERROR_IO,
                   _("%s: too large for a lesson file (over 1 MiB)"), path);
      return NULL;
    }
  return qs_lesson_new_from_data (data, length, path, error);
}

/* ---------------------------------------------------------------------------------------- */

QsConfig *
qs_lesson_step_make_config (const QsLessonStep *step,
                            QsConfig           *current,
                            GError            **error)
{
  g_autoptr(QsConfig) config = NULL;

  g_return_val_if_fail (step != NULL, NULL);
  g_return_val_if_fail (QS_IS_CONFIG (current), NULL);

  if (step->preset != NULL)
    {
      if ((config = qs_config_new_from_preset (step->preset, error)) == NULL)
        return NULL;
      qs_config_set_requant_mode (config, qs_config_get_requant_mode (current));
    }
  else
    config = qs_config_copy (current);
  if (step->has_requant)
    qs_config_set_requant_mode (config, step->requant);

  for (guint i = 0; i < step->weights->len; i++)
    {
      const QsLessonWeights *w = g_ptr_array_index (step->weights, i);
      QsLayerConfig lc;

      qs_config_get_layer (config, w->pattern, &lc);
      if (w->set & FIELD_FORMAT)
        lc.weight.format = w->format;
      if (w->set & FIELD_BITS)
        lc.weight.bits = w->bits;
      if (w->set & FIELD_MAPPING)
        lc.weight.mapping = w->mapping;
      if (w->set & FIELD_GRANULARITY)
        lc.weight.granularity = w->granularity;
      if (w->set & FIELD_GROUP_SIZE)
        lc.weight.group_size = w->group_size;
      if (w->set & FIELD_ROUNDING)
        lc.weight.rounding = w->rounding;
      if (w->set & FIELD_RANGE)
        lc.weight.range_method = w->range_method;
      if (w->set & FIELD_PERCENTILE)
        lc.weight.range_param = w->range_param;
      if (w->set & FIELD_SPARSITY)
        lc.weight.sparsity = w->sparsity;
      if (w->set & FIELD_ACTIVATIONS)
        lc.quantize_activations = w->activations;
      if (lc.weight.format == QS_FORMAT_INT && lc.weight.mapping == QS_MAPPING_AFFINE)
        lc.weight.narrow_range = FALSE;
      if (strcmp (w->pattern, "*") == 0)
        {
          qs_config_set_default (config, &lc);
          /* every override a preset made follows the default's change too */
          for (guint j = 0; j < qs_config_get_n_overrides (config); j++)
            {
              QsLayerConfig olc;
              g_autofree char *pattern = g_strdup (qs_config_get_override (config, j, &olc));

              qs_config_set_layer (config, pattern, &lc);
            }
        }
      else
        qs_config_set_layer (config, w->pattern, &lc);
    }
  return g_steal_pointer (&config);
}
