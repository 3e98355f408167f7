/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <adwaita.h>

#include "qs-layer-page.h"
#include "qs-window.h"
#include "test-sample.h"

/* The window on the sample model at a small size (issue 17): every control of the layer
 * page, every statistics card, the chart tabs and the export button can be reached, either
 * because it lies inside the window or because a scrolled window around it can bring it
 * into view. */

#define SMALL_WIDTH  800
#define SMALL_HEIGHT 600

static void
iterate (guint n)
{
  for (guint i = 0; i < n; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
}

static gboolean
is_drawn (GtkWidget *widget)
{
  for (GtkWidget *w = widget; w != NULL; w = gtk_widget_get_parent (w))
    if (!gtk_widget_get_visible (w) || !gtk_widget_get_child_visible (w))
      return FALSE;
  return gtk_widget_get_mapped (widget);
}

/* Where the widget can be brought by scrolling every scrolled window around it, in window
 * coordinates; FALSE when it sticks out of a scrolled window in a direction that one cannot
 * scroll (or out of a parent that clips and does not scroll). */
static gboolean
reachable_bounds (GtkWidget       *widget,
                  GtkWidget       *window,
                  graphene_rect_t *out,
                  char           **why)
{
  graphene_rect_t b;

  if (!gtk_widget_compute_bounds (widget, window, &b))
    {
      *why = g_strdup ("no bounds");
      return FALSE;
    }
  for (GtkWidget *w = gtk_widget_get_parent (widget); w != NULL && w != window; w = gtk_widget_get_parent (w))
    {
      graphene_rect_t sb;
      GtkPolicyType hp, vp;
      gboolean h_ok, v_ok;

      if (!GTK_IS_SCROLLED_WINDOW (w))
        continue;
      if (!gtk_widget_compute_bounds (w, window, &sb))
        continue;
      gtk_scrolled_window_get_policy (GTK_SCROLLED_WINDOW (w), &hp, &vp);
      h_ok = b.origin.x >= sb.origin.x - 1 && b.origin.x + b.size.width <= sb.origin.x + sb.size.width + 1;
      v_ok = b.origin.y >= sb.origin.y - 1 && b.origin.y + b.size.height <= sb.origin.y + sb.size.height + 1;
      if ((!h_ok && (hp == GTK_POLICY_NEVER || hp == GTK_POLICY_EXTERNAL))
          || (!v_ok && (vp == GTK_POLICY_NEVER || vp == GTK_POLICY_EXTERNAL)))
        {
          *why = g_strdup_printf ("outside a %s scrolled window that does not scroll that way "
                                  "(%.0f,%.0f %.0fx%.0f in %.0f,%.0f %.0fx%.0f)",
                                  gtk_widget_get_name (w), b.origin.x, b.origin.y, b.size.width,
                                  b.size.height, sb.origin.x, sb.origin.y, sb.size.width, sb.size.height);
          return FALSE;
        }
      /* Scrolled into view: as much of it as fits, inside the scrolled window. */
      if (!h_ok)
        {
          b.size.width = MIN (b.size.width, sb.size.width);
          b.origin.x = sb.origin.x;
        }
      if (!v_ok)
        {
          b.size.height = MIN (b.size.height, sb.size.height);
          b.origin.y = sb.origin.y;
        }
    }
  *out = b;
  return TRUE;
}

typedef struct
{
  GtkWidget *window;
  guint      n_checked;
  guint      n_tiles;
  guint      n_tabs;
  GString   *failures;
} Walk;

static gboolean
wants_check (GtkWidget *widget)
{
  if (gtk_widget_has_css_class (widget, "stat-tile"))
    return TRUE;
  /* Interactive widgets: rows, spin buttons, switches, buttons, the chart tabs. */
  return gtk_widget_get_focusable (widget) && gtk_widget_get_sensitive (widget);
}

static void
check_tree (GtkWidget *widget,
            Walk      *walk)
{
  if (!is_drawn (widget))
    return;

  if (wants_check (widget))
    {
      graphene_rect_t b;
      g_autofree char *why = NULL;
      const char *kind = G_OBJECT_TYPE_NAME (widget);

      walk->n_checked++;
      if (gtk_widget_has_css_class (widget, "stat-tile"))
        walk->n_tiles++;
      if (GTK_IS_TOGGLE_BUTTON (widget) && gtk_widget_get_ancestor (widget, ADW_TYPE_VIEW_SWITCHER))
        walk->n_tabs++;
      if (!reachable_bounds (widget, walk->window, &b, &why))
        g_string_append_printf (walk->failures, "  %s %s: %s\n", kind,
                                gtk_widget_get_tooltip_text (widget) ? gtk_widget_get_tooltip_text (widget) : "",
                                why);
      else if (b.origin.x < -1 || b.origin.y < -1
               || b.origin.x + b.size.width > SMALL_WIDTH + 1
               || b.origin.y + b.size.height > SMALL_HEIGHT + 1)
        g_string_append_printf (walk->failures, "  %s %s: at %.0f,%.0f %.0fx%.0f, outside the %dx%d window\n",
                                kind,
                                gtk_widget_get_tooltip_text (widget) ? gtk_widget_get_tooltip_text (widget) : "",
                                b.origin.x, b.origin.y, b.size.width, b.size.height,
                                SMALL_WIDTH, SMALL_HEIGHT);
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    check_tree (child, walk);
}

static GtkWidget *
find_layer_page (GtkWidget *widget)
{
  if (g_strcmp0 (G_OBJECT_TYPE_NAME (widget), "QsLayerPage") == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_layer_page (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* A window of that size on the sample model, sized, the first layer shown, its statistics
 * in. */
static QsWindow *
open_sample_window (QsApplication *app,
                    int            width,
                    int            height)
{
  QsWindow *window = qs_window_new (app);
  guint waited = 0;

  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_present (GTK_WINDOW (window));
  qs_window_open_sample (window);
  while (qs_window_get_document (window) == NULL && waited++ < 3000)
    iterate (1);
  g_assert_nonnull (qs_window_get_document (window));
  iterate (100);
  return window;
}

static void
test_window_layout_small (gconstpointer data)
{
  QsApplication *app = QS_APPLICATION ((gpointer) data);
  QsWindow *window = open_sample_window (app, SMALL_WIDTH, SMALL_HEIGHT);
  GtkWidget *page;
  Walk walk = { GTK_WIDGET (window), 0, 0, 0, g_string_new (NULL) };

  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), >, 0);
  page = find_layer_page (GTK_WIDGET (window));
  g_assert_nonnull (page);
  g_assert_true (gtk_widget_get_mapped (page));

  check_tree (page, &walk);
  g_test_message ("window %dx%d, %u widgets checked",
                  gtk_widget_get_width (GTK_WIDGET (window)), gtk_widget_get_height (GTK_WIDGET (window)),
                  walk.n_checked);
  if (walk.failures->len > 0)
    g_test_message ("not reachable:\n%s", walk.failures->str);
  /* Eight statistics, four chart tabs (histogram, error map, channels, activations), and
   * the controls. */
  g_assert_cmpuint (walk.n_tiles, ==, 8);
  g_assert_cmpuint (walk.n_tabs, ==, 4);
  g_assert_cmpuint (walk.n_checked, >=, 8 + 4 + 13);
  g_assert_cmpuint (walk.failures->len, ==, 0);

  g_string_free (walk.failures, TRUE);
  gtk_window_destroy (GTK_WINDOW (window));
  iterate (5);
}

static GtkWidget *
window_child (QsWindow   *window,
              const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (window), QS_TYPE_WINDOW, name);

  g_assert_nonnull (child);
  return GTK_WIDGET (child);
}

/* Filtering the list never leaves the page on a layer the filter hides: the first match
 * takes its place; no match says so in the list and on the page. Return on a row selects
 * that layer alone. */
static void
test_window_filter (gconstpointer data)
{
  QsApplication *app = QS_APPLICATION ((gpointer) data);
  QsWindow *window = open_sample_window (app, 1280, 800);
  QsLayerPage *page = QS_LAYER_PAGE (window_child (window, "layer_page"));
  GtkWidget *entry = window_child (window, "search_entry");
  GtkStack *list_stack = GTK_STACK (window_child (window, "list_stack"));
  GtkListView *view = GTK_LIST_VIEW (window_child (window, "layer_view"));
  GtkSelectionModel *selection = gtk_list_view_get_model (view);

  g_assert_cmpstr (qs_layer_page_get_layer (page), ==, "conv1");

  gtk_editable_set_text (GTK_EDITABLE (entry), "fc");
  iterate (20);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (selection)), ==, 1);
  g_assert_cmpstr (qs_layer_page_get_layer (page), ==, "fc1");
  g_assert_true (gtk_selection_model_is_selected (selection, 0));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (list_stack), ==, "list");

  gtk_editable_set_text (GTK_EDITABLE (entry), "no such");
  iterate (20);
  g_assert_null (qs_layer_page_get_layer (page));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (list_stack), ==, "no-match");
  /* Typing on while nothing matches: the page quotes the whole filter. */
  gtk_editable_set_text (GTK_EDITABLE (entry), "no such layer");
  iterate (20);
  {
    GtkWidget *empty = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (page), QS_TYPE_LAYER_PAGE, "empty_page"));

    g_assert_nonnull (strstr (adw_status_page_get_description (ADW_STATUS_PAGE (empty)), "no such layer"));
  }

  /* A filter that keeps the shown layer keeps it. */
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
  iterate (20);
  g_assert_cmpstr (qs_layer_page_get_layer (page), ==, "conv1");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (list_stack), ==, "list");
  gtk_editable_set_text (GTK_EDITABLE (entry), "conv");
  iterate (20);
  g_assert_cmpstr (qs_layer_page_get_layer (page), ==, "conv1");

  /* Return on the second row (conv2). */
  g_signal_emit_by_name (view, "activate", 1);
  iterate (5);
  g_assert_cmpstr (qs_layer_page_get_layer (page), ==, "conv2");
  g_assert_true (gtk_selection_model_is_selected (selection, 1));
  g_assert_false (gtk_selection_model_is_selected (selection, 0));

  /* "win.select-layer" (the folded BatchNorm page's button) shows a layer the filter hides:
   * the filter is cleared. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.select-layer", "s", "fc1");
  iterate (5);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "");
  g_assert_cmpstr (qs_layer_page_get_layer (page), ==, "fc1");

  gtk_window_destroy (GTK_WINDOW (window));
  iterate (5);
}

int
main (int argc, char **argv)
{
  g_autofree char *tmp_dir = g_dir_make_tmp ("quantscope-test-window-layout-XXXXXX", NULL);
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  int ret;

  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", tmp_dir, TRUE);
  test_gui_init_or_skip (&argc, &argv);
  /* The window opens the sample itself: skip without it. */
  model = test_load_sample_model_or_skip ();

  app = qs_application_new ();
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) | G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    g_error ("%s", error->message);
  g_test_add_data_func ("/qs/window/layout-small", app, test_window_layout_small);
  g_test_add_data_func ("/qs/window/filter", app, test_window_filter);

  ret = g_test_run ();
  return ret;
}
