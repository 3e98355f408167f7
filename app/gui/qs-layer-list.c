/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "qs-layer-list.h"

struct _QsLayerList
{
  GObject     parent_instance;

  QsDocument *document;   /* weak: the document owns the window's lifetime, not ours */
  GPtrArray  *items;      /* QsLayerItem* */
  GHashTable *by_name;    /* name -> position + 1 */
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QsLayerList, qs_layer_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
list_get_item_type (GListModel *model)
{
  return QS_TYPE_LAYER_ITEM;
}

static guint
list_get_n_items (GListModel *model)
{
  return QS_LAYER_LIST (model)->items->len;
}

static gpointer
list_get_item (GListModel *model,
               guint       position)
{
  QsLayerList *self = QS_LAYER_LIST (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = list_get_item_type;
  iface->get_n_items = list_get_n_items;
  iface->get_item = list_get_item;
}

QsLayerItem *
qs_layer_list_find (QsLayerList *self,
                    const char  *name,
                    guint       *position)
{
  guint pos;

  g_return_val_if_fail (QS_IS_LAYER_LIST (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  pos = GPOINTER_TO_UINT (g_hash_table_lookup (self->by_name, name));
  if (pos == 0)
    return NULL;
  if (position != NULL)
    *position = pos - 1;
  return g_ptr_array_index (self->items, pos - 1);
}

static void
update_item_config (QsLayerList *self,
                    QsLayerItem *item)
{
  QsLayerConfig lc;

  qs_config_get_layer (qs_document_get_config (self->document), qs_layer_item_get_name (item), &lc);
  qs_layer_item_set_config (item, &lc);
}

static void
update_item_result (QsLayerList *self,
                    QsLayerItem *item)
{
  const char *name = qs_layer_item_get_name (item);

  qs_layer_item_set_result (item,
                            qs_document_get_layer_result (self->document, name),
                            qs_document_get_layer_error (self->document, name));
}

static void
on_config_changed (QsLayerList *self,
                   GStrv        layers,
                   QsDocument  *document)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      QsLayerItem *item = g_ptr_array_index (self->items, i);

      /* Globs and defaults may touch any layer: refresh every item (cheap). */
      update_item_config (self, item);
      update_item_result (self, item);
    }
}

static void
on_target_issues_changed (QsLayerList *self,
                          QsDocument  *document)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      QsLayerItem *item = g_ptr_array_index (self->items, i);
      g_autofree char *reason = qs_document_get_layer_target_issue (document, qs_layer_item_get_name (item));

      qs_layer_item_set_target_issue (item, reason);
    }
}

static void
on_layer_result_changed (QsLayerList *self,
                         const char  *name,
                         QsDocument  *document)
{
  QsLayerItem *item = qs_layer_list_find (self, name, NULL);

  if (item != NULL)
    update_item_result (self, item);
}

static void
qs_layer_list_dispose (GObject *object)
{
  QsLayerList *self = QS_LAYER_LIST (object);

  g_clear_weak_pointer (&self->document);

  G_OBJECT_CLASS (qs_layer_list_parent_class)->dispose (object);
}

static void
qs_layer_list_finalize (GObject *object)
{
  QsLayerList *self = QS_LAYER_LIST (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->by_name, g_hash_table_unref);

  G_OBJECT_CLASS (qs_layer_list_parent_class)->finalize (object);
}

static void
qs_layer_list_class_init (QsLayerListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_layer_list_dispose;
  object_class->finalize = qs_layer_list_finalize;
}

static void
qs_layer_list_init (QsLayerList *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
}

QsLayerList *
qs_layer_list_new (QsDocument *document)
{
  QsLayerList *self;
  QsModel *model;
  guint n;

  g_return_val_if_fail (QS_IS_DOCUMENT (document), NULL);

  self = g_object_new (QS_TYPE_LAYER_LIST, NULL);
  g_set_weak_pointer (&self->document, document);
  model = qs_document_get_model (document);
  n = qs_model_get_n_layers (model);
  for (guint i = 0; i < n; i++)
    {
      const QsLayer *layer = qs_model_get_layer (model, i);
      QsLayerItem *item;

      if (layer->kind == QS_LAYER_INPUT)
        continue;
      item = qs_layer_item_new (layer);
      g_ptr_array_add (self->items, item);
      g_hash_table_insert (self->by_name, (gpointer) qs_layer_item_get_name (item),
                           GUINT_TO_POINTER (self->items->len));
      update_item_config (self, item);
      update_item_result (self, item);
    }

  g_signal_connect_object (document, "config-changed",
                           G_CALLBACK (on_config_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (document, "layer-result-changed",
                           G_CALLBACK (on_layer_result_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (document, "target-issues-changed",
                           G_CALLBACK (on_target_issues_changed), self, G_CONNECT_SWAPPED);
  on_target_issues_changed (self, document);
  return self;
}
