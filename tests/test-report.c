/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "quantscope-core.h"
#include "qs-report.h"

/* The report export (issue 13): registered with core's formats table from outside core; the
 * HTML is well-formed markup holding every layer name, the numbers qs_eval_run () gives
 * and PNG charts that decode, with nothing fetched; the PDF has the pages it says (title,
 * table, one page of charts per large layer, counted by pdfinfo when installed); without
 * data the report says so; the model is never overwritten. */

#define N_IMAGES 200

static char *
tmp_path (const char *name)
{
  static char *dir = NULL;

  if (dir == NULL)
    {
      g_autoptr(GError) error = NULL;

      dir = g_dir_make_tmp ("qs-test-report-XXXXXX", &error);
      g_assert_no_error (error);
    }
  return g_build_filename (dir, name, NULL);
}

static QsModel *
load_sample (const char *name)
{
  g_autofree char *rel = g_strdup_printf ("models/%s.h5", name);
  g_autofree char *path = qs_data_find_file (rel, NULL);
  g_autoptr(GError) error = NULL;
  QsModel *model;

  g_assert_nonnull (path);
  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  return model;
}

typedef struct
{
  QsModel      *model;
  QsConfig     *config;
  QsLowering   *lowering;
} Fixture;

static void
fixture_init (Fixture    *f,
              const char *model,
              const char *preset)
{
  g_autoptr(GError) error = NULL;

  f->model = load_sample (model);
  f->config = qs_config_new_from_preset (preset, &error);
  g_assert_no_error (error);
  f->lowering = qs_lowering_new (f->model, f->config, &error);
  g_assert_no_error (error);
}

static void
fixture_clear (Fixture *f)
{
  g_clear_pointer (&f->lowering, qs_lowering_unref);
  g_clear_object (&f->config);
  g_clear_object (&f->model);
}

static char *
export_report (Fixture      *f,
               const char   *format_id,
               const char   *file,
               gint          images,
               GString      *summary,
               QsReportInfo *info)
{
  QsExportContext ctx = { f->model, f->config, f->lowering, NULL, qs_model_get_path (f->model) };
  const QsExportFormat *format = qs_export_find_format (format_id);
  g_autoptr(GError) error = NULL;
  char *path = tmp_path (file);

  g_assert_nonnull (format);
  ctx.eval_images = images;
  if (info != NULL)
    g_assert_true (qs_report_write (&ctx, g_str_equal (format_id, "report-pdf"), path, NULL, summary,
                                    info, &error));
  else
    g_assert_true (qs_export_run (format, &ctx, path, summary, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_registered (void)
{
  guint n0, n1, n2;
  const QsExportFormat *formats = qs_export_list_formats (&n0);
  const QsExportFormat *config_row = qs_export_find_format ("config");

  /* core alone does not know the report */
  g_assert_null (qs_export_find_format ("report-html"));
  qs_report_register ();
  qs_export_list_formats (&n1);
  g_assert_cmpuint (n1, ==, n0 + 2);
  qs_report_register ();
  g_assert_true (qs_export_list_formats (&n2) == formats);
  g_assert_cmpuint (n2, ==, n1);
  /* built-in rows keep their addresses */
  g_assert_true (qs_export_find_format ("config") == config_row);
  g_assert_cmpstr (qs_export_find_format ("report-html")->extension, ==, ".html");
  g_assert_cmpstr (qs_export_find_format ("report-pdf")->extension, ==, ".pdf");
  g_assert_true (qs_export_find_format ("report-pdf")->keeps_requant_mode);
  g_assert_false (qs_export_register_format (qs_export_find_format ("config")));
}

/* --- HTML --- */

typedef struct
{
  GString *text;
  GPtrArray *images;   /* src / srcset values */
  guint depth;
  gboolean in_style;
} Parse;

static void
start_element (GMarkupParseContext  *context,
               const char           *name,
               const char          **attr_names,
               const char          **attr_values,
               gpointer              data,
               GError              **error)
{
  Parse *p = data;

  p->depth++;
  p->in_style = g_str_equal (name, "style");
  for (guint i = 0; attr_names[i] != NULL; i++)
    {
      if ((g_str_equal (attr_names[i], "src") || g_str_equal (attr_names[i], "srcset")
           || g_str_equal (attr_names[i], "href")))
        g_ptr_array_add (p->images, g_strdup (attr_values[i]));
    }
}

static void
end_element (GMarkupParseContext  *context,
             const char           *name,
             gpointer              data,
             GError              **error)
{
  Parse *p = data;

  p->depth--;
  p->in_style = FALSE;
  g_string_append_c (p->text, '\n');
}

static void
text_cb (GMarkupParseContext  *context,
         const char           *text,
         gsize                 len,
         gpointer              data,
         GError              **error)
{
  Parse *p = data;

  if (!p->in_style)
    g_string_append_len (p->text, text, len);
}

static void
test_html (void)
{
  Fixture f;
  g_autoptr(GString) summary = g_string_new (NULL);
  g_autofree char *path = NULL, *html = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsEvalResult) eval = NULL;
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) images = g_ptr_array_new_with_free_func (g_free);
  GMarkupParser parser = { start_element, end_element, text_cb, NULL, NULL };
  Parse p = { text, images, 0, FALSE };
  QsEvalOptions opts = { 0 };
  guint n_png = 0;

  qs_report_register ();
  fixture_init (&f, "fmnist-cnn", "w8a8");
  path = export_report (&f, "report-html", "cnn.html", N_IMAGES, summary, NULL);
  g_test_message ("%s", summary->str);
  g_assert_true (g_file_get_contents (path, &html, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (html, "<!DOCTYPE html>"));

  /* well-formed (XHTML-style: every element closed, entities escaped) */
  context = g_markup_parse_context_new (&parser, 0, &p, NULL);
  g_assert_true (g_markup_parse_context_parse (context, html, -1, &error)
                 && g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (p.depth, ==, 0);

  /* every layer by name */
  for (guint i = 1; i < qs_model_get_n_layers (f.model); i++)
    {
      const char *name = qs_model_get_layer (f.model, i)->name;
      g_autofree char *cell = g_strdup_printf ("\n%s\n", name);

      g_assert_nonnull (strstr (text->str, cell));
    }

  /* the numbers qs_eval_run () gives on the same images */
  dataset = qs_dataset_open_full (qs_config_get_calib_source (f.config), NULL,
                                  qs_config_get_preprocess (f.config), &error);
  g_assert_no_error (error);
  opts.limit = N_IMAGES;
  eval = qs_eval_run (f.model, f.config, dataset, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (eval->labelled && eval->classification);
  {
    g_autofree char *ft = g_strdup_printf ("%.2f %%", 100.0 * eval->float_top1);
    g_autofree char *qt = g_strdup_printf ("%.2f %%", 100.0 * eval->quant_top1);
    g_autofree char *ag = g_strdup_printf ("%.2f %%", 100.0 * eval->agreement);
    g_autofree char *n = g_strdup_printf ("%u images of sample-train", eval->n_images);

    g_test_message ("float %s, quantized %s, agreement %s", ft, qt, ag);
    g_assert_nonnull (strstr (text->str, ft));
    g_assert_nonnull (strstr (text->str, qt));
    g_assert_nonnull (strstr (text->str, ag));
    g_assert_nonnull (strstr (text->str, n));
    g_assert_cmpuint (eval->n_images, ==, N_IMAGES);
  }

  /* self-contained: every image a PNG data: URI that decodes, nothing fetched */
  g_assert_null (strstr (html, "http://"));
  g_assert_null (strstr (html, "https://"));
  g_assert_null (strstr (html, "@import"));
  g_assert_null (strstr (html, "url("));
  for (guint i = 0; i < images->len; i++)
    {
      const char *src = images->pdata[i];
      const char *prefix = "data:image/png;base64,";
      g_autofree guchar *png = NULL;
      g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new_with_type ("png", NULL);
      GdkPixbuf *pixbuf;
      gsize len;

      g_assert_true (g_str_has_prefix (src, prefix));
      png = g_base64_decode (src + strlen (prefix), &len);
      g_assert_true (gdk_pixbuf_loader_write (loader, png, len, &error));
      g_assert_true (gdk_pixbuf_loader_close (loader, &error));
      g_assert_no_error (error);
      pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
      g_assert_nonnull (pixbuf);
      g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), >=, 700);
      n_png++;
    }
  /* two charts (histogram, heatmap) of the three largest layers, light and dark */
  g_assert_cmpuint (n_png, ==, 2 * 2 * QS_REPORT_CHART_LAYERS);
  fixture_clear (&f);
}

/* --- PDF --- */

static guint
count_pages_raw (const char *data,
                 gsize       len)
{
  guint n = 0;

  for (const char *s = data; (s = g_strstr_len (s, data + len - s, "/Type /Page")) != NULL; s++)
    if (s[11] != 's')
      n++;
  return n;
}

static void
check_pdf (const char *path,
           guint       expected_pages)
{
  g_autofree char *data = NULL, *pdfinfo = g_find_program_in_path ("pdfinfo");
  g_autoptr(GError) error = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_true (len > 5 && memcmp (data, "%PDF-", 5) == 0);
  if (pdfinfo != NULL)
    {
      g_autofree char *out = NULL;
      const char *argv[] = { pdfinfo, path, NULL };
      const char *pages;
      int status;

      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                   &out, NULL, &status, &error));
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      pages = strstr (out, "Pages:");
      g_assert_nonnull (pages);
      g_assert_cmpuint (g_ascii_strtoull (pages + 6, NULL, 10), ==, expected_pages);
      g_assert_nonnull (strstr (out, "Quantization report"));
    }
  else
    {
      g_test_message ("pdfinfo not installed (poppler-utils): counting /Type /Page");
      g_assert_cmpuint (count_pages_raw (data, len), ==, expected_pages);
    }
}

static void
test_pdf (void)
{
  const char *models[] = { "fmnist-cnn", "fmnist-mobilenet" };

  qs_report_register ();
  for (guint m = 0; m < G_N_ELEMENTS (models); m++)
    {
      Fixture f;
      g_autoptr(GString) summary = g_string_new (NULL);
      g_autofree char *file = g_strdup_printf ("%s.pdf", models[m]);
      g_autofree char *path = NULL;
      QsReportInfo info;
      guint n_rows = qs_model_get_n_layers (f.model = load_sample (models[m])) - 1;
      guint table_pages = (n_rows + QS_REPORT_PDF_ROWS_PER_PAGE - 1) / QS_REPORT_PDF_ROWS_PER_PAGE;

      g_clear_object (&f.model);
      fixture_init (&f, models[m], "w8a8");
      path = export_report (&f, "report-pdf", file, 50, summary, &info);
      g_test_message ("%s: %s", models[m], summary->str);
      g_assert_cmpuint (info.n_layers, ==, n_rows);
      g_assert_cmpuint (info.n_chart_layers, ==, QS_REPORT_CHART_LAYERS);
      g_assert_cmpuint (info.n_table_pages, ==, table_pages);
      g_assert_cmpuint (info.n_pages, ==, 1 + table_pages + QS_REPORT_CHART_LAYERS);
      g_assert_cmpuint (info.n_images, ==, 50);
      check_pdf (path, info.n_pages);
      fixture_clear (&f);
    }
}

/* --- no data, no evaluation, the model refused --- */

static void
test_no_data (void)
{
  Fixture f;
  g_autoptr(GString) summary = g_string_new (NULL);
  g_autoptr(GString) summary2 = g_string_new (NULL);
  g_autofree char *path = NULL, *html = NULL, *path2 = NULL;
  g_autoptr(GError) error = NULL;
  QsReportInfo info;

  qs_report_register ();
  fixture_init (&f, "fmnist-mlp", "w8a8");
  qs_config_set_calib_source (f.config, "/nonexistent/calibration.npy");
  path = export_report (&f, "report-html", "mlp.html", 0, summary, &info);
  g_assert_cmpuint (info.n_images, ==, 0);
  g_assert_true (g_file_get_contents (path, &html, NULL, &error));
  g_assert_nonnull (strstr (html, "Not evaluated: no data"));
  g_assert_nonnull (strstr (html, "/nonexistent/calibration.npy"));
  g_assert_nonnull (strstr (summary->str, "Not evaluated"));
  path2 = export_report (&f, "report-pdf", "mlp.pdf", -1, summary2, &info);
  g_assert_nonnull (strstr (summary2->str, "Not evaluated"));
  check_pdf (path2, info.n_pages);
  fixture_clear (&f);
}

static void
test_refuses_model (void)
{
  Fixture f;
  g_autoptr(GString) summary = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *copy = tmp_path ("model.h5"), *data = NULL, *after = NULL;
  QsExportContext ctx;
  gsize len, len2;

  qs_report_register ();
  fixture_init (&f, "fmnist-mlp", "w8a8");
  g_assert_true (g_file_get_contents (qs_model_get_path (f.model), &data, &len, NULL));
  g_assert_true (g_file_set_contents (copy, data, len, NULL));
  ctx = (QsExportContext) { f.model, f.config, f.lowering, NULL, copy };
  ctx.eval_images = -1;
  g_assert_false (qs_export_run (qs_export_find_format ("report-pdf"), &ctx, copy, summary, &error));
  g_assert_error (error, QS_EXPORT_ERROR, QS_EXPORT_ERROR_TARGET);
  g_assert_true (g_file_get_contents (copy, &after, &len2, NULL));
  g_assert_true (len2 == len && memcmp (data, after, len) == 0);
  fixture_clear (&f);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("LC_ALL", "C", TRUE);
  g_test_add_func ("/report/registered", test_registered);
  g_test_add_func ("/report/html", test_html);
  g_test_add_func ("/report/pdf", test_pdf);
  g_test_add_func ("/report/no-data", test_no_data);
  g_test_add_func ("/report/refuses-model", test_refuses_model);
  return g_test_run ();
}
