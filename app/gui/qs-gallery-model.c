/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "qs-gallery-model.h"

/* ---------------------------------------------------------------------------------------- */
/* Items                                                                                    */

struct _QsGalleryItem
{
  GObject      parent_instance;
  guint        index;
  QsDataset   *dataset;
  QsSampleSet *predictions;   /* nullable */
};

G_DEFINE_FINAL_TYPE (QsGalleryItem, qs_gallery_item, G_TYPE_OBJECT)

static void
qs_gallery_item_finalize (GObject *object)
{
  QsGalleryItem *self = QS_GALLERY_ITEM (object);

  g_clear_object (&self->dataset);
  g_clear_pointer (&self->predictions, qs_sample_set_unref);
  G_OBJECT_CLASS (qs_gallery_item_parent_class)->finalize (object);
}

static void
qs_gallery_item_class_init (QsGalleryItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qs_gallery_item_finalize;
}

static void
qs_gallery_item_init (QsGalleryItem *self)
{
}

guint
qs_gallery_item_get_index (QsGalleryItem *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_ITEM (self), 0);
  return self->index;
}

QsDataset *
qs_gallery_item_get_dataset (QsGalleryItem *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_ITEM (self), NULL);
  return self->dataset;
}

const QsSamplePrediction *
qs_gallery_item_get_prediction (QsGalleryItem *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_ITEM (self), NULL);
  if (self->predictions == NULL || self->index >= self->predictions->n_images)
    return NULL;
  return &self->predictions->samples[self->index];
}

GdkTexture *
qs_gallery_thumbnail_new (QsDataset *dataset,
                          guint      index,
                          guint      max_size,
                          GError   **error)
{
  g_autofree guint8 *owned = NULL;
  g_autofree guint8 *rgb = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const guint8 *px;
  gsize h, w, c;
  guint f;

  g_return_val_if_fail (QS_IS_DATASET (dataset), NULL);

  px = qs_dataset_get_pixels (dataset, index);
  if (px != NULL)
    qs_dataset_get_image_shape (dataset, &h, &w, &c);
  else if ((px = owned = qs_dataset_read_pixels (dataset, index, &h, &w, &c, error)) == NULL)
    return NULL;
  if (h == 0 || w == 0 || c == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "empty image %u", index);
      return NULL;
    }
  /* whole-factor nearest-neighbour scaling up, or a stride down */
  if (MAX (h, w) <= max_size)
    {
      guint up = MAX (1u, max_size / (guint) MAX (h, w));
      gsize H = h * up, W = w * up;

      rgb = g_malloc (H * W * 3);
      for (gsize y = 0; y < H; y++)
        for (gsize x = 0; x < W; x++)
          {
            const guint8 *s = px + ((y / up) * w + x / up) * c;
            guint8 *d = rgb + (y * W + x) * 3;

            d[0] = s[0];
            d[1] = c >= 3 ? s[1] : s[0];
            d[2] = c >= 3 ? s[2] : s[0];
          }
      h = H;
      w = W;
    }
  else
    {
      gsize H, W;

      f = (MAX (h, w) + max_size - 1) / max_size;
      H = MAX (h / f, 1);
      W = MAX (w / f, 1);
      rgb = g_malloc (H * W * 3);
      for (gsize y = 0; y < H; y++)
        for (gsize x = 0; x < W; x++)
          {
            const guint8 *s = px + ((y * f) * w + x * f) * c;
            guint8 *d = rgb + (y * W + x) * 3;

            d[0] = s[0];
            d[1] = c >= 3 ? s[1] : s[0];
            d[2] = c >= 3 ? s[2] : s[0];
          }
      h = H;
      w = W;
    }
  bytes = g_bytes_new_take (g_steal_pointer (&rgb), h * w * 3);
  return gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8, bytes, w * 3);
}

/* ---------------------------------------------------------------------------------------- */
/* The model                                                                                */

struct _QsGalleryModel
{
  GObject          parent_instance;
  QsDataset       *dataset;
  QsSampleSet     *predictions;
  QsGalleryFilter  filter;
  gint             cls;
  GArray          *visible;     /* guint dataset indices; NULL = every image in order */
  guint            n_total;
  GHashTable      *items;       /* dataset index -> QsGalleryItem (weak: removed on finalize) */
};

static void qs_gallery_model_list_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QsGalleryModel, qs_gallery_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, qs_gallery_model_list_init))

static GType
list_get_item_type (GListModel *list)
{
  return QS_TYPE_GALLERY_ITEM;
}

static guint
list_get_n_items (GListModel *list)
{
  QsGalleryModel *self = QS_GALLERY_MODEL (list);

  return self->visible ? self->visible->len : self->n_total;
}

static void
item_gone (gpointer  data,
           GObject  *where)
{
  QsGalleryModel *self = data;

  /* weak notifies run in dispose: the item's fields are still there */
  g_hash_table_remove (self->items, GUINT_TO_POINTER (((QsGalleryItem *) where)->index));
}

static gpointer
list_get_item (GListModel *list,
               guint       position)
{
  QsGalleryModel *self = QS_GALLERY_MODEL (list);
  QsGalleryItem *item;
  guint index;

  if (position >= list_get_n_items (list))
    return NULL;
  index = self->visible ? g_array_index (self->visible, guint, position) : position;
  /* the same object while someone holds it (the views bind by identity) */
  item = g_hash_table_lookup (self->items, GUINT_TO_POINTER (index));
  if (item != NULL)
    return g_object_ref (item);
  item = g_object_new (QS_TYPE_GALLERY_ITEM, NULL);
  item->index = index;
  item->dataset = g_object_ref (self->dataset);
  item->predictions = self->predictions ? qs_sample_set_ref (self->predictions) : NULL;
  g_hash_table_insert (self->items, GUINT_TO_POINTER (index), item);
  g_object_weak_ref (G_OBJECT (item), item_gone, self);
  return item;
}

static void
qs_gallery_model_list_init (GListModelInterface *iface)
{
  iface->get_item_type = list_get_item_type;
  iface->get_n_items = list_get_n_items;
  iface->get_item = list_get_item;
}

static void
forget_items (QsGalleryModel *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_object_weak_unref (G_OBJECT (value), item_gone, self);
  g_hash_table_remove_all (self->items);
}

static void
qs_gallery_model_finalize (GObject *object)
{
  QsGalleryModel *self = QS_GALLERY_MODEL (object);

  forget_items (self);
  g_hash_table_unref (self->items);
  g_clear_object (&self->dataset);
  g_clear_pointer (&self->predictions, qs_sample_set_unref);
  g_clear_pointer (&self->visible, g_array_unref);
  G_OBJECT_CLASS (qs_gallery_model_parent_class)->finalize (object);
}

static void
qs_gallery_model_class_init (QsGalleryModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qs_gallery_model_finalize;
}

static void
qs_gallery_model_init (QsGalleryModel *self)
{
  self->items = g_hash_table_new (NULL, NULL);
  self->cls = -1;
}

QsGalleryModel *
qs_gallery_model_new (void)
{
  return g_object_new (QS_TYPE_GALLERY_MODEL, NULL);
}

static gboolean
keep (QsGalleryModel *self,
      guint           index)
{
  const QsSamplePrediction *p = NULL;

  if (self->predictions != NULL && index < self->predictions->n_images)
    p = &self->predictions->samples[index];
  if (self->cls >= 0)
    {
      gint cls = qs_dataset_is_labelled (self->dataset) ? qs_dataset_get_label (self->dataset, index)
                 : p ? (gint) p->float_class : -1;

      if (cls != self->cls)
        return FALSE;
    }
  switch (self->filter)
    {
    case QS_GALLERY_FILTER_ALL:
      return TRUE;
    case QS_GALLERY_FILTER_CHANGED:
      return p != NULL && p->changed;
    case QS_GALLERY_FILTER_QUANT_WRONG:
      return p != NULL && qs_sample_prediction_quant_wrong (p);
    default:
      g_assert_not_reached ();
    }
}

static void
refilter (QsGalleryModel *self)
{
  guint before = list_get_n_items (G_LIST_MODEL (self)), n;

  forget_items (self);
  g_clear_pointer (&self->visible, g_array_unref);
  self->n_total = self->dataset ? qs_dataset_get_n_images (self->dataset) : 0;
  if (self->dataset != NULL && (self->filter != QS_GALLERY_FILTER_ALL || self->cls >= 0))
    {
      self->visible = g_array_new (FALSE, FALSE, sizeof (guint));
      for (guint i = 0; i < self->n_total; i++)
        if (keep (self, i))
          g_array_append_val (self->visible, i);
    }
  n = list_get_n_items (G_LIST_MODEL (self));
  g_list_model_items_changed (G_LIST_MODEL (self), 0, before, n);
}

void
qs_gallery_model_set_data (QsGalleryModel *self,
                           QsDataset      *dataset,
                           QsSampleSet    *predictions)
{
  g_return_if_fail (QS_IS_GALLERY_MODEL (self));

  g_set_object (&self->dataset, dataset);
  g_clear_pointer (&self->predictions, qs_sample_set_unref);
  if (predictions != NULL && dataset != NULL)
    self->predictions = qs_sample_set_ref (predictions);
  refilter (self);
}

QsSampleSet *
qs_gallery_model_get_predictions (QsGalleryModel *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_MODEL (self), NULL);
  return self->predictions;
}

void
qs_gallery_model_set_filter (QsGalleryModel  *self,
                             QsGalleryFilter  filter,
                             gint             cls)
{
  g_return_if_fail (QS_IS_GALLERY_MODEL (self));

  if (self->filter == filter && self->cls == cls)
    return;
  self->filter = filter;
  self->cls = cls;
  refilter (self);
}

guint
qs_gallery_model_get_index (QsGalleryModel *self,
                            guint           position)
{
  g_return_val_if_fail (QS_IS_GALLERY_MODEL (self), 0);
  g_return_val_if_fail (position < list_get_n_items (G_LIST_MODEL (self)), 0);
  return self->visible ? g_array_index (self->visible, guint, position) : position;
}

guint
qs_gallery_model_get_n_total (QsGalleryModel *self)
{
  g_return_val_if_fail (QS_IS_GALLERY_MODEL (self), 0);
  return self->n_total;
}
