/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-gallery-cell.h"

struct _QsGalleryCell
{
  GtkWidget   parent_instance;

  GtkWidget  *box;
  GtkPicture *picture;
  GtkLabel   *label_label;
  GtkLabel   *prediction_label;
};

G_DEFINE_FINAL_TYPE (QsGalleryCell, qs_gallery_cell, GTK_TYPE_WIDGET)

static char *
class_name (QsDataset *dataset,
            gint       cls)
{
  const char *name = cls >= 0 ? qs_dataset_get_class_name (dataset, cls) : NULL;

  if (cls < 0)
    return g_strdup ("—");
  return name ? g_strdup (name) : g_strdup_printf ("%d", cls);
}

void
qs_gallery_cell_set_item (QsGalleryCell *self,
                          QsGalleryItem *item)
{
  GtkWidget *widget = GTK_WIDGET (self);
  const QsSamplePrediction *p;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *label = NULL;
  g_autofree char *accessible = NULL;
  QsDataset *dataset;
  guint index;

  g_return_if_fail (QS_IS_GALLERY_CELL (self));

  gtk_widget_remove_css_class (widget, "changed");
  gtk_widget_remove_css_class (widget, "wrong");
  if (item == NULL)
    {
      gtk_picture_set_paintable (self->picture, NULL);
      gtk_label_set_label (self->label_label, NULL);
      gtk_label_set_label (self->prediction_label, NULL);
      return;
    }
  dataset = qs_gallery_item_get_dataset (item);
  index = qs_gallery_item_get_index (item);
  texture = qs_gallery_thumbnail_new (dataset, index, QS_GALLERY_THUMB_SIZE, NULL);
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (texture));
  label = qs_dataset_is_labelled (dataset) ? class_name (dataset, qs_dataset_get_label (dataset, index))
                                           /* Translators: an image without a label, and its number */
                                           : g_strdup_printf (_("#%u"), index);
  gtk_label_set_label (self->label_label, label);
  p = qs_gallery_item_get_prediction (item);
  if (p != NULL)
    {
      g_autofree char *f = class_name (dataset, p->float_class);
      g_autofree char *q = class_name (dataset, p->quant_class);
      g_autofree char *text = NULL;

      if (p->changed)
        {
          /* Translators: the float model's answer → the quantized model's, under a thumbnail */
          text = g_strdup_printf (_("%s → %s"), f, q);
          gtk_widget_add_css_class (widget, "changed");
        }
      else
        text = g_strdup (q);
      if (p->label >= 0 && (guint) p->label != p->quant_class)
        gtk_widget_add_css_class (widget, "wrong");
      gtk_label_set_label (self->prediction_label, text);
      /* Translators: accessible label of a gallery image: number, label, float and
       * quantized answers */
      accessible = g_strdup_printf (_("Image %u, %s: float says %s, quantized says %s"), index, label, f, q);
    }
  else
    {
      gtk_label_set_label (self->prediction_label, "");
      accessible = g_strdup_printf (_("Image %u, %s"), index, label);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
}

static void
qs_gallery_cell_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), QS_TYPE_GALLERY_CELL);
  G_OBJECT_CLASS (qs_gallery_cell_parent_class)->dispose (object);
}

static void
qs_gallery_cell_class_init (QsGalleryCellClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qs_gallery_cell_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quantscope/Quantscope/qs-gallery-cell.ui");
  gtk_widget_class_bind_template_child (widget_class, QsGalleryCell, box);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryCell, picture);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryCell, label_label);
  gtk_widget_class_bind_template_child (widget_class, QsGalleryCell, prediction_label);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "gallerycell");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
qs_gallery_cell_init (QsGalleryCell *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
qs_gallery_cell_new (void)
{
  return g_object_new (QS_TYPE_GALLERY_CELL, NULL);
}
