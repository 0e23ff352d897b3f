// The pharmacy catalogue's items, read once per screen, and an item's name among them.
import { useEffect, useState } from "preact/hooks";
import { client } from "./api";
import { InventoryService, type Item } from "./gen/openhmis/inventory/v1/inventory_pb";

/** Every item of the catalogue the caller may read (empty until read), and why it could not
 * be read, if it could not. */
export function useItems(): [Item[], unknown] {
  const [items, setItems] = useState<Item[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    client(InventoryService)
      .listItems({ pageSize: 500 })
      .then((answer) => setItems(answer.items))
      .catch(setError);
  }, []);
  return [items, error];
}

/** The item's name, or the first characters of its id when it is not among `items`. */
export function itemName(items: readonly Item[], id: string): string {
  return items.find((item) => item.id === id)?.name ?? id.slice(0, 8);
}
