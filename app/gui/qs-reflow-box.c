/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "qs-reflow-box.h"

struct _QsReflowBox
{
  GtkWidget parent_instance;

  int       spacing;    /* between the children; 1 with the separator line */
  gboolean  separator;
  gboolean  homogeneous;  /* side by side: halves, when the first fits in half */
  gboolean  stacked;
};

#define SEPARATOR_WIDTH (self->spacing)

G_DEFINE_FINAL_TYPE (QsReflowBox, qs_reflow_box, GTK_TYPE_WIDGET)

static void
get_children (QsReflowBox  *self,
              GtkWidget   **first,
              GtkWidget   **second)
{
  *first = gtk_widget_get_first_child (GTK_WIDGET (self));
  *second = *first != NULL ? gtk_widget_get_next_sibling (*first) : NULL;
}

static int
measure_one (GtkWidget      *child,
             GtkOrientation  orientation,
             int             for_size,
             int            *natural)
{
  int min = 0, nat = 0;

  if (child != NULL && gtk_widget_get_visible (child))
    gtk_widget_measure (child, orientation, for_size, &min, &nat, NULL, NULL);
  if (natural != NULL)
    *natural = nat;
  return min;
}

/* Side by side needs the first child's natural width beside the second's minimum. */
static int
side_by_side_width (QsReflowBox *self)
{
  GtkWidget *first, *second;
  int first_nat = 0;

  get_children (self, &first, &second);
  measure_one (first, GTK_ORIENTATION_HORIZONTAL, -1, &first_nat);
  return first_nat + SEPARATOR_WIDTH + measure_one (second, GTK_ORIENTATION_HORIZONTAL, -1, NULL);
}

static void
qs_reflow_box_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  QsReflowBox *self = QS_REFLOW_BOX (widget);
  GtkWidget *first, *second;
  int min1, nat1, min2, nat2;

  get_children (self, &first, &second);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      /* Stacked, the wider child sets the minimum; side by side is the natural. */
      min1 = measure_one (first, orientation, -1, &nat1);
      min2 = measure_one (second, orientation, -1, &nat2);
      *minimum = MAX (min1, min2);
      *natural = MAX (nat1 + SEPARATOR_WIDTH + nat2, side_by_side_width (self));
    }
  else if (for_size < 0 || for_size >= side_by_side_width (self))
    {
      int first_width = -1;

      if (for_size >= 0)
        {
          measure_one (first, GTK_ORIENTATION_HORIZONTAL, -1, &first_width);
          first_width = MIN (first_width, for_size);
        }
      min1 = measure_one (first, orientation, first_width, &nat1);
      min2 = measure_one (second, orientation,
                          for_size >= 0 ? for_size - first_width - SEPARATOR_WIDTH : -1, &nat2);
      *minimum = MAX (min1, min2);
      *natural = MAX (nat1, nat2);
    }
  else
    {
      /* Stacked: the first child at its natural height (it does not scroll on its own). */
      measure_one (first, orientation, for_size, &nat1);
      min2 = measure_one (second, orientation, for_size, &nat2);
      *minimum = nat1 + SEPARATOR_WIDTH + min2;
      *natural = nat1 + SEPARATOR_WIDTH + nat2;
    }
  if (minimum_baseline != NULL)
    *minimum_baseline = -1;
  if (natural_baseline != NULL)
    *natural_baseline = -1;
}

static void
qs_reflow_box_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  QsReflowBox *self = QS_REFLOW_BOX (widget);
  GtkWidget *first, *second;

  get_children (self, &first, &second);
  self->stacked = width < side_by_side_width (self);
  if (!self->stacked)
    {
      int first_width = 0;

      measure_one (first, GTK_ORIENTATION_HORIZONTAL, -1, &first_width);
      if (self->homogeneous)
        first_width = MAX (first_width, (width - SEPARATOR_WIDTH) / 2);
      first_width = MIN (first_width, width);
      if (first != NULL)
        gtk_widget_size_allocate (first, &(GtkAllocation) { 0, 0, first_width, height }, -1);
      if (second != NULL)
        gtk_widget_size_allocate (second,
                                  &(GtkAllocation) { first_width + SEPARATOR_WIDTH, 0,
                                                     MAX (0, width - first_width - SEPARATOR_WIDTH), height },
                                  -1);
    }
  else
    {
      int first_height = 0;

      measure_one (first, GTK_ORIENTATION_VERTICAL, width, &first_height);
      if (first != NULL)
        gtk_widget_size_allocate (first, &(GtkAllocation) { 0, 0, width, first_height }, -1);
      if (second != NULL)
        gtk_widget_size_allocate (second,
                                  &(GtkAllocation) { 0, first_height + SEPARATOR_WIDTH,
                                                     width, MAX (0, height - first_height - SEPARATOR_WIDTH) },
                                  -1);
    }
}

static void
qs_reflow_box_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  QsReflowBox *self = QS_REFLOW_BOX (widget);
  GtkWidget *first, *second;
  GdkRGBA color;
  graphene_rect_t line;

  get_children (self, &first, &second);
  for (GtkWidget *child = first; child != NULL; child = gtk_widget_get_next_sibling (child))
    gtk_widget_snapshot_child (widget, child, snapshot);
  if (first == NULL || second == NULL || !self->separator)
    return;

  /* The theme's foreground at separator strength. */
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  color.alpha *= 0.15f;
  if (self->stacked)
    line = GRAPHENE_RECT_INIT (0, gtk_widget_get_height (first), gtk_widget_get_width (widget), SEPARATOR_WIDTH);
  else
    line = GRAPHENE_RECT_INIT (gtk_widget_get_width (first), 0, SEPARATOR_WIDTH, gtk_widget_get_height (widget));
  gtk_snapshot_append_color (snapshot, &color, &line);
}

static GtkSizeRequestMode
qs_reflow_box_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
qs_reflow_box_dispose (GObject *object)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (qs_reflow_box_parent_class)->dispose (object);
}

static void
qs_reflow_box_class_init (QsReflowBoxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = qs_reflow_box_dispose;
  widget_class->measure = qs_reflow_box_measure;
  widget_class->size_allocate = qs_reflow_box_size_allocate;
  widget_class->snapshot = qs_reflow_box_snapshot;
  widget_class->get_request_mode = qs_reflow_box_get_request_mode;
  gtk_widget_class_set_css_name (widget_class, "reflowbox");
}

static void
qs_reflow_box_init (QsReflowBox *self)
{
  self->spacing = 1;
  self->separator = TRUE;
}

void
qs_reflow_box_set_spacing (QsReflowBox *self,
                           int          spacing,
                           gboolean     separator)
{
  g_return_if_fail (QS_IS_REFLOW_BOX (self));
  g_return_if_fail (spacing >= 0);

  self->spacing = spacing;
  self->separator = separator;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

void
qs_reflow_box_set_homogeneous (QsReflowBox *self,
                               gboolean     homogeneous)
{
  g_return_if_fail (QS_IS_REFLOW_BOX (self));

  self->homogeneous = !!homogeneous;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

GtkWidget *
qs_reflow_box_new (void)
{
  return g_object_new (QS_TYPE_REFLOW_BOX, NULL);
}

gboolean
qs_reflow_box_get_stacked (QsReflowBox *self)
{
  g_return_val_if_fail (QS_IS_REFLOW_BOX (self), FALSE);
  return self->stacked;
}
