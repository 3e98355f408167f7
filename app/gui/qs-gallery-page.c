/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "qs-bar-chart-view.h"
#include "qs-gallery-cell.h"
#include "qs-gallery-page.h"

#define LARGE_SIZE 168

struct _QsGalleryPage
{
  AdwBin              parent_instance;

  /* Template widgets */
  GtkRevealer        *progress_revealer;
  GtkProgressBar     *progress_bar;
  GtkDropDown        *filter_dropdown;
  GtkDropDown        *class_dropdown;
  GtkLabel           *count_label;
  GtkButton          *compute_button;
  GtkStack           *grid_stack;
  AdwStatusPage      *empty_page;
  GtkGridView        *grid_view;
  GtkStack           *detail_stack;
  GtkPicture         *big_picture;
  GtkLabel           *title_label;
  GtkLabel           *verdict_label;
  GtkSpinner         *detail_spinner;
  GtkGrid            *float_grid;
  GtkGrid            *quant_grid;
  QsBarChartView     *error_chart;
  GtkLabel           *worst_label;
  GtkButton          *widen_button;
  GtkLabel           *widen_result_label;

  /* State */
  QsDocument         *document;
  gulong              config_changed_id;
  gulong              dataset_id;
  QsDataset          *dataset;            /* the one the model shows */
  QsGalleryModel     *model;
  GtkSingleSelection *selection;
  QsEvalCache        *cache;              /* float side and calibrations between runs */
  QsConfig           *predictions_config; /* what the shown answers were computed with */
  GCancellable       *cancellable;        /* the answers job's, NULL when idle */
  QsConfig           *computing_config;   /* what the running answers job computes with */
  guint               auto_id;            /* the debounced automatic answers job */
  gint                progress;           /* permille, atomic */
  guint               progress_id;
  /* the selected image */
  gint                selected;           /* dataset index, -1 none */
  QsAttribution      *attribution;
  QsAttributor       *attributor;         /* for attributor_config */
  QsConfig           *attributor_config;
  GCancellable       *detail_cancellable; /* the detail job's, NULL when idle */
  gint                widen_before;       /* the quantized answer before a widen, -1 none */
  char               *widen_layer;
};

G_DEFINE_FINAL_TYPE (QsGalleryPage, qs_gallery_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_RUNNING,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void run_detail (QsGalleryPage *self);
static void schedule_auto_compute (QsGalleryPage *self);

static char *
class_name (QsDataset *dataset,
            gint       cls)
{
  const char *name = cls >= 0 && dataset ? qs_dataset_get_class_name (dataset, cls) : NULL;

  if (cls < 0)
    return g_strdup ("—");
  return name ? g_strdup (name) : g_strdup_printf ("%d", cls);
}

/* ---------------------------------------------------------------------------------------- */
/* The answers for every image (worker)                                                     */

typedef struct
{
  QsModel     *model;
  QsConfig    *config;
  QsDataset   *dataset;
  QsEvalCache *cache;
  gint        *progress;
} AnswersJob;

static void
answers_job_free (gpointer data)
{
  AnswersJob *job = data;

  g_clear_object (&job->model);
  g_clear_object (&job->config);
  g_clear_object (&job->dataset);
  g_clear_pointer (&job->cache, qs_eval_cache_unref);
  g_free (job);
}

static void
answers_progress (double   fraction,
                  gpointer data)
{
  AnswersJob *job = data;

  g_atomic_int_set (job->progress, (gint) (fraction * 1000));
}

static void
answers_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  AnswersJob *job = task_data;
  /* leave a core to the main thread */
  QsEvalOptions opts = { .n_threads = MAX (g_get_num_processors (), 2) - 1, .cache = job->cache };
  GError *error = NULL;
  QsSampleSet *set;

  set = qs_sample_set_compute (job->model, job->config, job->dataset, &opts, answers_progress, job,
                               cancellable, &error);
  if (set == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, set, (GDestroyNotify) qs_sample_set_unref);
}

static void
update_count (QsGalleryPage *self)
{
  QsSampleSet *set = qs_gallery_model_get_predictions (self->model);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->model));
  guint total = qs_gallery_model_get_n_total (self->model);
  g_autofree char *text = NULL;
  gboolean stale = set != NULL && self->document != NULL && self->predictions_config != NULL
                   && !qs_config_equal (self->predictions_config, qs_document_get_config (self->document));

  if (set == NULL)
    /* Translators: the gallery's count before the answers are computed */
    text = g_strdup_printf (ngettext ("%'u image", "%'u images", total), total);
  else
    /* Translators: "312 of 10,000 shown · quantization changed 41 answers"; the last %s is
     * empty or " · for an earlier configuration" */
    text = g_strdup_printf (ngettext ("%'u of %'u shown · quantization changed %'u answer%s",
                                      "%'u of %'u shown · quantization changed %'u answers%s",
                                      set->n_changed), n, total,
                            set->n_changed,
                            stale ? _(" · for an earlier configuration") : "");
  gtk_label_set_label (self->count_label, text);
  gtk_button_set_label (self->compute_button, set != NULL ? _("Re_compute") : _("Compute _Answers"));
  gtk_stack_set_visible_child_name (self->grid_stack, n > 0 ? "grid" : "empty");
  if (n == 0)
    adw_status_page_set_description (self->empty_page,
                                     self->dataset == NULL ? _("Choose a dataset to see its images")
                                     : set == NULL && qs_gallery_page_get_running (self)
                                     ? _("Computing the answers…")
                                     : set == NULL ? _("Compute the answers to filter by them")
                                     : _("No image matches the filter"));
}

static gboolean
progress_tick (gpointer data)
{
  QsGalleryPage *self = data;

  gtk_progress_bar_set_fraction (self->progress_bar, g_atomic_int_get (&self->progress) / 1000.0);
  return G_SOURCE_CONTINUE;
}

static void
set_running (QsGalleryPage *self,
             gboolean       running)
{
  gtk_revealer_set_reveal_child (self->progress_revealer, running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gallery.compute", !running && self->dataset != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gallery.cancel", running);
  if (running && self->progress_id == 0)
    self->progress_id = g_timeout_add (100, progress_tick, self);
  else if (!running)
    g_clear_handle_id (&self->progress_id, g_source_remove);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
answers_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(QsGalleryPage) self = user_data;
  GCancellable *cancellable = g_task_get_cancellable (G_TASK (result));
  g_autoptr(QsSampleSet) set = NULL;
  g_autoptr(GError) error = NULL;
  AnswersJob *job = g_task_get_task_data (G_TASK (result));

  set = g_task_propagate_pointer (G_TASK (result), &error);
  if (cancellable != self->cancellable)
    return;   /* a newer job (or a new document) took over */
  g_clear_object (&self->cancellable);
  set_running (self, FALSE);
  if (set == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *msg = g_strdup_printf (_("Could not compute the answers: %s"), error->message);

          gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s", msg);
        }
      return;
    }
  g_set_object (&self->predictions_config, job->config);
  qs_gallery_model_set_data (self->model, self->dataset, set);
  update_count (self);
}

void
qs_gallery_page_compute (QsGalleryPage *self)
{
  g_autoptr(GTask) task = NULL;
  AnswersJob *job;

  g_return_if_fail (QS_IS_GALLERY_PAGE (self));

  if (self->document == NULL || self->dataset == NULL)
    return;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_atomic_int_set (&self->progress, 0);
  job = g_new0 (AnswersJob, 1);
  job->model = g_object_ref (qs_document_get_model (self->document));
  job->config = qs_config_copy (qs_document_get_config (self->document));
  job->dataset = g_object_ref (self->dataset);
  job->cache = qs_eval_cache_ref (self->cache);
  job->progress = &self->progress;
  g_set_object (&self->computing_config, job->config);
  task = g_task_new (NULL, self->cancellable, answers_done, g_object_ref (self));
  g_task_set_source_tag (task, qs_gallery_page_compute);
  g_task_set_task_data (task, job, answers_job_free);
  g_task_run_in_thread (task, answers_thread);
  set_running (self, TRUE);
  update_count (self);
}

void
qs_gallery_page_cancel (QsGalleryPage *self)
{
  g_return_if_fail (QS_IS_GALLERY_PAGE (self));

  if (self->cancellable == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  set_running (self, FALSE);
}

QsConfig *
qs_gallery_page_get_answers_config (QsGalleryPage *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_PAGE (self), NULL);
  return self->predictions_config;
}

gboolean
qs_gallery_page_get_running (QsGalleryPage *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_PAGE (self), FALSE);
  return self->cancellable != NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* The selected image (worker)                                                              */

typedef struct
{
  QsModel      *model;
  QsConfig     *config;
  QsDataset    *dataset;
  QsEvalCache  *cache;
  QsAttributor *attributor;  /* nullable: compiled in the worker */
  guint         index;
} DetailJob;

typedef struct
{
  QsAttributor  *attributor;
  QsAttribution *attribution;
} DetailResult;

static void
detail_job_free (gpointer data)
{
  DetailJob *job = data;

  g_clear_object (&job->model);
  g_clear_object (&job->config);
  g_clear_object (&job->dataset);
  g_clear_pointer (&job->cache, qs_eval_cache_unref);
  g_clear_pointer (&job->attributor, qs_attributor_free);
  g_free (job);
}

static void
detail_result_free (gpointer data)
{
  DetailResult *r = data;

  g_clear_pointer (&r->attributor, qs_attributor_free);
  g_clear_pointer (&r->attribution, qs_attribution_unref);
  g_free (r);
}

static void
detail_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  DetailJob *job = task_data;
  g_autoptr(QsAttributor) at = NULL;
  g_autofree float *input = NULL;
  GError *error = NULL;
  DetailResult *r;

  at = job->attributor ? qs_attributor_ref (job->attributor)
       : qs_attributor_new (job->model, job->config, qs_eval_cache_get_calibrations (job->cache),
                            qs_dataset_get_preprocess (job->dataset), cancellable, &error);
  if (at == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  input = g_new (float, qs_attributor_get_input_size (at));
  if (!qs_dataset_fill_inputs (job->dataset, job->model, job->index, 1, input, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  r = g_new0 (DetailResult, 1);
  r->attribution = qs_attributor_run (at, input, &error);
  r->attributor = g_steal_pointer (&at);
  if (r->attribution == NULL)
    {
      detail_result_free (r);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, r, detail_result_free);
}

static void
fill_top (QsGalleryPage            *self,
          GtkGrid                  *grid,
          const QsAttributionClass *top,
          guint                     n_top,
          gint                      label)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, child);
  for (guint k = 0; k < n_top; k++)
    {
      g_autofree char *name = class_name (self->dataset, top[k].cls);
      g_autofree char *pct = g_strdup_printf ("%.1f %%", 100.0 * top[k].prob);
      GtkWidget *l = gtk_label_new (name), *bar = gtk_level_bar_new (), *p = gtk_label_new (pct);

      gtk_label_set_xalign (GTK_LABEL (l), 0);
      gtk_label_set_ellipsize (GTK_LABEL (l), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (l), 10);
      if ((gint) top[k].cls == label)
        gtk_widget_add_css_class (l, "heading");
      gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), CLAMP (top[k].prob, 0.0, 1.0));
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_label_set_xalign (GTK_LABEL (p), 1);
      gtk_widget_add_css_class (p, "numeric");
      gtk_grid_attach (grid, l, 0, k, 1, 1);
      gtk_grid_attach (grid, bar, 1, k, 1, 1);
      gtk_grid_attach (grid, p, 2, k, 1, 1);
    }
}

/* What the widen button would do to the worst layer (FALSE: nothing to widen). */
static gboolean
widen_plan (QsGalleryPage *self,
            const char   **layer,
            QsLayerConfig *out,
            QsWidenKind   *kind)
{
  QsLayerConfig lc;

  if (self->attribution == NULL || self->attribution->worst < 0 || self->document == NULL)
    return FALSE;
  *layer = self->attribution->values[self->attribution->worst].layer;
  if (qs_model_find_layer (qs_document_get_model (self->document), *layer) == NULL)
    return FALSE;
  qs_config_get_layer (qs_document_get_config (self->document), *layer, &lc);
  *kind = qs_layer_config_widen (&lc, out);
  /* already as wide as it goes */
  return !qs_quant_spec_equal (&lc.weight, &out->weight)
         || lc.quantize_activations != out->quantize_activations
         || !qs_quant_spec_equal (&lc.activation, &out->activation);
}

static void
show_attribution (QsGalleryPage *self)
{
  QsAttribution *a = self->attribution;
  gint label = self->selected >= 0 && qs_dataset_is_labelled (self->dataset)
               ? qs_dataset_get_label (self->dataset, self->selected) : -1;
  g_autofree char *verdict = NULL;
  g_autofree char *f = NULL, *q = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autofree double *errors = NULL;
  QsChartBarsData data;
  QsLayerConfig lc;
  QsWidenKind kind;
  const char *layer = NULL;
  gboolean can_widen;

  if (a == NULL)
    return;
  f = class_name (self->dataset, a->float_top[0].cls);
  q = class_name (self->dataset, a->quant_top[0].cls);
  if (a->float_top[0].cls != a->quant_top[0].cls)
    /* Translators: float and quantized answers of one image */
    verdict = g_strdup_printf (_("Quantization changed the answer: float says %s, quantized says %s"), f, q);
  else
    verdict = g_strdup_printf (_("Both say %s"), f);
  gtk_label_set_label (self->verdict_label, verdict);
  fill_top (self, self->float_grid, a->float_top, a->n_top, label);
  fill_top (self, self->quant_grid, a->quant_top, a->n_top, label);

  errors = g_new0 (double, MAX (a->n_values, 1));
  for (guint i = 0; i < a->n_values; i++)
    {
      g_ptr_array_add (names, a->values[i].name);
      errors[i] = 100.0 * a->values[i].rel_l2;
    }
  qs_chart_bars_data_init (&data);
  data.labels = (const char * const *) names->pdata;
  data.values = errors;
  data.n = a->n_values;
  data.highlight = a->worst;
  /* Translators: axis of the per-layer error chart */
  data.y_label = _("Relative error (%)");
  data.series_label = _("‖quantized − float‖ / ‖float‖ at each value");
  data.highlight_label = _("Adds the most error");
  qs_bar_chart_view_set_data (self->error_chart, &data);

  if (a->worst >= 0)
    {
      const QsAttributionValue *w = &a->values[a->worst];
      double before = a->worst > 0 ? a->values[a->worst - 1].sqnr_db : INFINITY;
      g_autofree char *text = NULL;

      if (isfinite (before))
        /* Translators: %s is a layer or value name; SQNR in dB before and after it */
        text = g_strdup_printf (_("Most error is added at %s: the SQNR falls from %.1f dB to %.1f dB (relative error %.1f %%)."),
                                w->name, before, w->sqnr_db, 100.0 * w->rel_l2);
      else
        text = g_strdup_printf (_("Most error is added at %s: SQNR %.1f dB (relative error %.1f %%)."),
                                w->name, w->sqnr_db, 100.0 * w->rel_l2);
      gtk_label_set_label (self->worst_label, text);
    }
  else
    gtk_label_set_label (self->worst_label, _("The quantized run matches the float run at every layer."));

  can_widen = widen_plan (self, &layer, &lc, &kind);
  if (can_widen)
    {
      g_autofree char *text = kind == QS_WIDEN_8_BITS
        /* Translators: button; %s is a layer name */
        ? g_strdup_printf (_("Use 8 Bits for %s"), layer)
        /* Translators: button; %s is a layer name */
        : g_strdup_printf (_("Keep %s in Float"), layer);

      gtk_button_set_label (self->widen_button, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->widen_button), can_widen);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gallery.widen", can_widen);

  if (self->widen_before >= 0)
    {
      g_autofree char *before = class_name (self->dataset, self->widen_before);
      g_autofree char *text = NULL;
      /* the float model's answer is the one quantization should keep */
      gint good = (gint) a->float_top[0].cls;

      if ((gint) a->quant_top[0].cls == good && self->widen_before != good)
        text = g_strdup_printf (_("After widening %s the answer came back: %s, as in float."), self->widen_layer, q);
      else if ((gint) a->quant_top[0].cls == good)
        text = g_strdup_printf (_("After widening %s both still say %s."), self->widen_layer, q);
      else
        text = g_strdup_printf (_("After widening %s the quantized model says %s (was %s)."),
                                self->widen_layer, q, before);
      gtk_label_set_label (self->widen_result_label, text);
      self->widen_before = -1;
    }
}

static void
set_busy (QsGalleryPage *self,
          gboolean       busy)
{
  gtk_spinner_set_spinning (self->detail_spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->detail_spinner), busy);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
detail_done (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(QsGalleryPage) self = user_data;
  GCancellable *cancellable = g_task_get_cancellable (G_TASK (result));
  DetailJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  DetailResult *r;

  r = g_task_propagate_pointer (G_TASK (result), &error);
  if (cancellable != self->detail_cancellable)
    {
      g_clear_pointer (&r, detail_result_free);
      return;
    }
  g_clear_object (&self->detail_cancellable);
  if (r == NULL)
    {
      set_busy (self, FALSE);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_label (self->verdict_label, error->message);
      return;
    }
  if (r->attributor != self->attributor)
    {
      g_clear_pointer (&self->attributor, qs_attributor_free);
      self->attributor = qs_attributor_ref (r->attributor);
      g_set_object (&self->attributor_config, job->config);
    }
  g_clear_pointer (&self->attribution, qs_attribution_unref);
  self->attribution = qs_attribution_ref (r->attribution);
  detail_result_free (r);
  show_attribution (self);
  set_busy (self, FALSE);
}

static void
run_detail (QsGalleryPage *self)
{
  g_autoptr(GTask) task = NULL;
  DetailJob *job;
  QsConfig *config;

  if (self->detail_cancellable != NULL)
    g_cancellable_cancel (self->detail_cancellable);
  g_clear_object (&self->detail_cancellable);
  if (self->selected < 0 || self->document == NULL || self->dataset == NULL)
    return;
  config = qs_document_get_config (self->document);
  self->detail_cancellable = g_cancellable_new ();
  job = g_new0 (DetailJob, 1);
  job->model = g_object_ref (qs_document_get_model (self->document));
  job->config = qs_config_copy (config);
  job->dataset = g_object_ref (self->dataset);
  job->cache = qs_eval_cache_ref (self->cache);
  job->index = self->selected;
  if (self->attributor != NULL && self->attributor_config != NULL
      && qs_config_equal (self->attributor_config, config))
    job->attributor = qs_attributor_ref (self->attributor);
  task = g_task_new (NULL, self->detail_cancellable, detail_done, g_object_ref (self));
  g_task_set_source_tag (task, run_detail);
  g_task_set_task_data (task, job, detail_job_free);
  g_task_run_in_thread (task, detail_thread);
  set_busy (self, TRUE);
}

static void
on_selection_changed (QsGalleryPage *self)
{
  guint pos = gtk_single_selection_get_selected (self->selection);
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *title = NULL;
  g_autofree char *label = NULL;

  if (pos == GTK_INVALID_LIST_POSITION)
    {
      self->selected = -1;
      gtk_stack_set_visible_child_name (self->detail_stack, "none");
      return;
    }
  self->selected = qs_gallery_model_get_index (self->model, pos);
  self->widen_before = -1;
  gtk_label_set_label (self->widen_result_label, "");
  g_clear_pointer (&self->attribution, qs_attribution_unref);
  texture = qs_gallery_thumbnail_new (self->dataset, self->selected, LARGE_SIZE, NULL);
  gtk_picture_set_paintable (self->big_picture, GDK_PAINTABLE (texture));
  label = qs_dataset_is_labelled (self->dataset)
    ? class_name (self->dataset, qs_dataset_get_label (self->dataset, self->selected)) : NULL;
  title = label ? g_strdup_printf (_("Image %d · %s"), self->selected, label)
                : g_strdup_printf (_("Image %d"), self->selected);
  gtk_label_set_label (self->title_label, title);
  gtk_label_set_label (self->verdict_label, "");
  gtk_label_set_label (self->worst_label, "");
  qs_bar_chart_view_set_data (self->error_chart, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->widen_button), FALSE);
  gtk_stack_set_visible_child_name (self->detail_stack, "detail");
  run_detail (self);
}

gboolean
qs_gallery_page_widen (QsGalleryPage *self)
{
  const char *layer = NULL;
  const char *layers[2] = { NULL, NULL };
  g_autofree char *undo = NULL;
  QsLayerConfig lc;
  QsWidenKind kind;

  g_return_val_if_fail (QS_IS_GALLERY_PAGE (self), FALSE);

  if (!widen_plan (self, &layer, &lc, &kind))
    return FALSE;
  g_free (self->widen_layer);
  self->widen_layer = g_strdup (layer);
  self->widen_before = self->attribution->quant_top[0].cls;
  layers[0] = self->widen_layer;
  undo = kind == QS_WIDEN_8_BITS ? g_strdup_printf (_("Use 8 Bits for %s"), layer)
                                 : g_strdup_printf (_("Keep %s in Float"), layer);
  qs_document_break_coalescing (self->document);
  /* config-changed runs the image again */
  qs_document_set_layer_config (self->document, layers, &lc, undo, NULL);
  return TRUE;
}

QsAttribution *
qs_gallery_page_get_attribution (QsGalleryPage *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_PAGE (self), NULL);
  return self->attribution;
}

gboolean
qs_gallery_page_get_busy (QsGalleryPage *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_PAGE (self), FALSE);
  return self->detail_cancellable != NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Document, filters                                                                        */

static void
on_filter_changed (QsGalleryPage *self)
{
  guint f = gtk_drop_down_get_selected (self->filter_dropdown);
  guint c = gtk_drop_down_get_selected (self->class_dropdown);

  qs_gallery_model_set_filter (self->model, f == GTK_INVALID_LIST_POSITION ? 0 : f,
                               c == GTK_INVALID_LIST_POSITION || c == 0 ? -1 : (gint) c - 1);
  update_count (self);
}

void
qs_gallery_page_set_filter (QsGalleryPage   *self,
                            QsGalleryFilter  filter,
                            gint             cls)
{
  g_return_if_fail (QS_IS_GALLERY_PAGE (self));

  gtk_drop_down_set_selected (self->class_dropdown, cls < 0 ? 0 : (guint) cls + 1);
  gtk_drop_down_set_selected (self->filter_dropdown, filter);
  on_filter_changed (self);
}

static void
fill_classes (QsGalleryPage *self)
{
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  guint n = self->dataset ? qs_dataset_get_n_classes (self->dataset) : 0;

  gtk_string_list_append (list, _("All Classes"));
  for (guint c = 0; c < n; c++)
    {
      g_autofree char *name = class_name (self->dataset, c);

      gtk_string_list_append (list, name);
    }
  gtk_drop_down_set_model (self->class_dropdown, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->class_dropdown, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->class_dropdown), n > 0);
}

static void
on_dataset_changed (QsGalleryPage *self)
{
  QsDataset *dataset = self->document ? qs_document_get_dataset (self->document) : NULL;

  if (dataset == self->dataset && dataset != NULL)
    return;
  qs_gallery_page_cancel (self);
  g_set_object (&self->dataset, dataset);
  g_clear_object (&self->predictions_config);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
  qs_gallery_model_set_data (self->model, dataset, NULL);
  fill_classes (self);
  set_running (self, FALSE);
  update_count (self);
  schedule_auto_compute (self);
}

/* The answers follow the document while the gallery is on screen: shown, or the config or
 * the dataset changed under it, they are computed again after a short pause (a slider
 * being dragged starts one job, not twenty). A job the user cancelled stays cancelled
 * until the next change. */
#define AUTO_COMPUTE_DELAY_MS 400

static gboolean
auto_compute_cb (gpointer data)
{
  QsGalleryPage *self = data;
  QsConfig *config;

  self->auto_id = 0;
  if (self->document == NULL || self->dataset == NULL || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    return G_SOURCE_REMOVE;
  config = qs_document_get_config (self->document);
  if (qs_gallery_page_get_running (self) && self->computing_config != NULL
      && qs_config_equal (self->computing_config, config))
    return G_SOURCE_REMOVE;
  if (!qs_gallery_page_get_running (self) && qs_gallery_model_get_predictions (self->model) != NULL
      && self->predictions_config != NULL && qs_config_equal (self->predictions_config, config))
    return G_SOURCE_REMOVE;
  qs_gallery_page_compute (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_auto_compute (QsGalleryPage *self)
{
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  g_clear_handle_id (&self->auto_id, g_source_remove);
  self->auto_id = g_timeout_add (AUTO_COMPUTE_DELAY_MS, auto_compute_cb, self);
}

static void
on_config_changed (QsGalleryPage *self)
{
  update_count (self);
  run_detail (self);
  schedule_auto_compute (self);
}

void
qs_gallery_page_set_document (QsGalleryPage *self,
                              QsDocument    *document)
{
  g_return_if_fail (QS_IS_GALLERY_PAGE (self));

  if (self->document == document)
    return;
  if (self->document != NULL)
    {
      g_clear_signal_handler (&self->config_changed_id, self->document);
      g_clear_signal_handler (&self->dataset_id, self->document);
    }
  qs_gallery_page_cancel (self);
  if (self->detail_cancellable != NULL)
    g_cancellable_cancel (self->detail_cancellable);
  g_clear_object (&self->detail_cancellable);
  g_clear_pointer (&self->attributor, qs_attributor_free);
  g_clear_object (&self->attributor_config);
  g_clear_pointer (&self->attribution, qs_attribution_unref);
  g_clear_pointer (&self->cache, qs_eval_cache_unref);
  self->cache = qs_eval_cache_new ();
  g_set_object (&self->document, document);
  if (document != NULL)
    {
      self->config_changed_id = g_signal_connect_swapped (document, "config-changed",
                                                          G_CALLBACK (on_config_changed), self);
      self->dataset_id = g_signal_connect_swapped (document, "notify::dataset",
                                                   G_CALLBACK (on_dataset_changed), self);
    }
  g_clear_object (&self->dataset);
  on_dataset_changed (self);
}

QsGalleryModel *
qs_gallery_page_get_model (QsGalleryPage *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_PAGE (self), NULL);
  return self->model;
}

GtkGridView *
qs_gallery_page_get_grid_view (QsGalleryPage *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_PAGE (self), NULL);
  return self->grid_view;
}

void
qs_gallery_page_select (QsGalleryPage *self,
                        guint          position)
{
  g_return_if_fail (QS_IS_GALLERY_PAGE (self));
  gtk_single_selection_set_selected (self->selection, position);
}

/* ---------------------------------------------------------------------------------------- */
/* Cells                                                                                    */

static void
cell_setup (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            gpointer                  user_data)
{
  gtk_list_item_set_child (item, qs_gallery_cell_new ());
}

static void
cell_bind (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  user_data)
{
  qs_gallery_cell_set_item (QS_GALLERY_CELL (gtk_list_item_get_child (item)),
                            gtk_list_item_get_item (item));
}

static void
cell_unbind (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             gpointer                  user_data)
{
  qs_gallery_cell_set_item (QS_GALLERY_CELL (gtk_list_item_get_child (item)), NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Class                                                                                    */

static void
compute_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  qs_gallery_page_compute (QS_GALLERY_PAGE (widget));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  qs_gallery_page_cancel (QS_GALLERY_PAGE (widget));
}

static void
widen_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  qs_gallery_page_widen (QS_GALLERY_PAGE (widget));
}

static void
qs_gallery_page_dispose (GObject *object)
{
  QsGalleryPage *self = QS_GALLERY_PAGE (object);

  qs_gallery_page_set_document (self, NULL);
  g_clear_handle_id (&self->progress_id, g_source_remove);
  g_clear_handle_id (&self->auto_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), QS_TYPE_GALLERY_PAGE);
  G_OBJECT_CLASS (qs_gallery_page_parent_class)->dispose (object);
}

static void
qs_gallery_page_finalize (GObject *object)
{
  QsGalleryPage *self = QS_GALLERY_PAGE (object);

  g_clear_object (&self->selection);
  g_clear_object (&self->model);
  g_clear_pointer (&self->cache, qs_eval_cache_unref);
  g_clear_object (&self->predictions_config);
  g_clear_object (&self->computing_config);
  g_free (self->widen_layer);
  G_OBJECT_CLASS (qs_gallery_page_parent_class)->finalize (object);
}

static void
qs_gallery_page_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QsGalleryPage *self = QS_GALLERY_PAGE (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, qs_gallery_page_get_running (self));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, qs_gallery_page_get_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_gallery_page_class_init (QsGalleryPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_gallery_page_dispose;
  object_class->finalize = qs_gallery_page_finalize;
  object_class->get_property = qs_gallery_page_get_property;

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (QS_TYPE_BAR_CHART_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-gallery-page.ui");
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, filter_dropdown);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, count_label);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, compute_button);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, grid_stack);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, grid_view);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, detail_stack);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, big_picture);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, verdict_label);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, detail_spinner);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, float_grid);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, quant_grid);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, error_chart);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, worst_label);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, widen_button);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryPage, widen_result_label);

  gtk_widget_class_install_action (widget_class, "gallery.compute", NULL, compute_action);
  gtk_widget_class_install_action (widget_class, "gallery.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "gallery.widen", NULL, widen_action);
}

static void
qs_gallery_page_init (QsGalleryPage *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->selected = -1;
  self->widen_before = -1;
  self->cache = qs_eval_cache_new ();
  self->model = qs_gallery_model_new ();
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->model)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
  g_signal_connect (factory, "setup", G_CALLBACK (cell_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (cell_bind), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (cell_unbind), NULL);
  gtk_grid_view_set_factory (self->grid_view, factory);
  gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_swapped (self->selection, "notify::selected", G_CALLBACK (on_selection_changed), self);
  g_signal_connect_swapped (self->filter_dropdown, "notify::selected", G_CALLBACK (on_filter_changed), self);
  g_signal_connect_swapped (self->class_dropdown, "notify::selected", G_CALLBACK (on_filter_changed), self);
  g_signal_connect_swapped (self, "map", G_CALLBACK (schedule_auto_compute), self);
  fill_classes (self);
  set_running (self, FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gallery.widen", FALSE);
  set_busy (self, FALSE);
  update_count (self);
}

GtkWidget *
qs_gallery_page_new (void)
{
  return g_object_new (QS_TYPE_GALLERY_PAGE, NULL);
}
