// A warehouse's stock by lot and expiry (expired and soon-expiring lots marked), and the
// receipt of a supplier's delivery into it through the ledger.
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import { itemName, useItems } from "../catalog";
import { InventoryService, Provenance, type StockLine } from "../gen/openhmis/inventory/v1/inventory_pb";
import { formatDate, formatNumber, t } from "../i18n";
import { ErrorMessage, Field, Pick, Section, Table } from "../ui";

/** Days from today to `isoDate` (negative once past). */
function daysUntil(isoDate: string): number {
  const [year, month, day] = isoDate.split("-").map(Number);
  return Math.floor((Date.UTC(year, month - 1, day) - Date.now()) / 86_400_000);
}

export function Stock(props: { warehouseId: string; readOnly?: boolean }) {
  const [items, itemsError] = useItems();
  const [lines, setLines] = useState<StockLine[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  const [itemId, setItemId] = useState("");
  const [lotNumber, setLotNumber] = useState("");
  const [expiry, setExpiry] = useState("");
  const [quantity, setQuantity] = useState("");
  const [unitCost, setUnitCost] = useState("");
  const [supplier, setSupplier] = useState("");
  const [invoice, setInvoice] = useState("");
  const [received, setReceived] = useState(false);

  useEffect(() => {
    if (!props.warehouseId) return;
    client(InventoryService)
      .getStock({ warehouseId: props.warehouseId })
      .then((answer) => {
        const sorted = [...answer.lines].sort((a, b) => (a.lot?.expiryDate ?? "").localeCompare(b.lot?.expiryDate ?? ""));
        setLines(sorted);
      })
      .catch(setError);
  }, [props.warehouseId, generation]);


  async function receive(event: Event) {
    event.preventDefault();
    setError(null);
    setReceived(false);
    try {
      await client(InventoryService).receiveStock({
        requestId: requestId(),
        warehouseId: props.warehouseId,
        supplier: supplier.trim(),
        invoiceNumber: invoice.trim(),
        lines: [
          {
            itemId: itemId || items[0]?.id || "",
            lotNumber: lotNumber.trim(),
            expiryDate: expiry,
            quantity: quantity.trim(),
            unitCost: unitCost.trim(),
            provenance: Provenance.PURCHASE,
          },
        ],
      });
      setReceived(true);
      setLotNumber("");
      setQuantity("");
      setGeneration(generation + 1);
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <>
      <ErrorMessage error={error ?? itemsError} />
      <Section title={t("stock")} id="stock">
        <Table columns={["item", "lot", "expiry", "quantity", "value"]}>
          {lines.map((line) => {
            const left = line.lot ? daysUntil(line.lot.expiryDate) : 0;
            return (
              <tr key={line.lot?.id}>
                <td>{itemName(items, line.lot?.itemId ?? "")}</td>
                <td>{line.lot?.lotNumber}</td>
                <td>
                  {formatDate(line.lot?.expiryDate ?? "")}
                  {left < 0 ? <mark> {t("expired")}</mark> : left <= 90 ? <mark> {t("expiresSoon")}</mark> : null}
                </td>
                <td>{formatNumber(line.quantity)}</td>
                <td>{formatNumber(line.value)}</td>
              </tr>
            );
          })}
        </Table>
      </Section>
      {!props.readOnly && (
      <form onSubmit={receive} aria-labelledby="receive-title">
        <h2 id="receive-title">{t("receiveStock")}</h2>
        <div class="grid">
          <Pick label={t("item")} name="item" value={itemId || items[0]?.id || ""} options={items} onChange={setItemId} />
          <Field label={t("supplier")} name="supplier" value={supplier} onInput={setSupplier} required />
          <Field label={t("invoiceNumber")} name="invoice_number" value={invoice} onInput={setInvoice} required />
        </div>
        <div class="grid">
          <Field label={t("lot")} name="lot_number" value={lotNumber} onInput={setLotNumber} required />
          <Field label={t("expiry")} name="expiry_date" type="date" value={expiry} onInput={setExpiry} required />
          <Field label={t("quantity")} name="quantity" value={quantity} onInput={setQuantity} required inputMode="numeric" />
          <Field label={t("unitCost")} name="unit_cost" value={unitCost} onInput={setUnitCost} required />
        </div>
        <button type="submit">{t("receiveStock")}</button>
        {received && <p role="status">{t("received")}</p>}
      </form>
      )}
    </>
  );
}
