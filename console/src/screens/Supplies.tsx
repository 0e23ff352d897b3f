// The pharmacy's side of supplying wards and checking its stock: the open requisitions made
// to a warehouse (supplied as asked, through the ledger), and stocktaking (the expected
// balance of each lot, the counts, the differences posted as adjustments).
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import {
  InventoryService,
  StocktakingStatus,
  type Requisition,
  type Stocktaking as StocktakingData,
} from "../gen/openhmis/inventory/v1/inventory_pb";
import { formatNumber, t } from "../i18n";
import { itemName, useItems } from "../catalog";
import { ErrorMessage, Section, Table, useAttempt } from "../ui";

export function Requisitions(props: { warehouseId: string; warehouses: { id: string; name: string }[] }) {
  const [items] = useItems();
  const [requisitions, setRequisitions] = useState<Requisition[]>([]);
  const [error, attempt, setError] = useAttempt();
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (!props.warehouseId) return;
    client(InventoryService)
      .listOpenRequisitions({ supplierId: props.warehouseId })
      .then((answer) => setRequisitions(answer.requisitions))
      .catch(setError);
  }, [props.warehouseId, generation]);
  const from = (id: string) => props.warehouses.find((warehouse) => warehouse.id === id)?.name ?? id.slice(0, 8);

  async function fulfil(requisition: Requisition) {
    const done = await attempt(() =>
      client(InventoryService).fulfillRequisition({
        requestId: requestId(),
        requisitionId: requisition.id,
        lines: requisition.lines.map((line) => ({ itemId: line.itemId, quantity: line.requested })),
      }),
    );
    if (done) setGeneration(generation + 1);
  }

  return (
    <Section title={t("requisitions")} id="requisitions">
      <ErrorMessage error={error} />
      {requisitions.length === 0 && <p>{t("noRequisitions")}</p>}
      {requisitions.map((requisition) => (
        <article key={requisition.id}>
          <header>
            {from(requisition.wardStockId)} · {requisition.note}
          </header>
          <Table columns={["item", "requested"]}>
            {requisition.lines.map((line) => (
              <tr key={line.itemId}>
                <td>{itemName(items, line.itemId)}</td>
                <td>{formatNumber(line.requested)}</td>
              </tr>
            ))}
          </Table>
          <button type="button" onClick={() => void fulfil(requisition)}>
            {t("fulfil")}
          </button>
        </article>
      ))}
    </Section>
  );
}

export function Stocktaking(props: { warehouseId: string }) {
  const [items] = useItems();
  const [stocktaking, setStocktaking] = useState<StocktakingData | null>(null);
  const [counts, setCounts] = useState<Record<string, string>>({});
  const [error, attempt] = useAttempt();

  // One action at a time: posting waits for the counts being saved (its etag is theirs).
  const [busy, setBusy] = useState(false);

  async function act(action: () => Promise<StocktakingData | undefined>) {
    setBusy(true);
    const result = (await attempt(action))?.value;
    setBusy(false);
    if (result) {
      setStocktaking(result);
      setCounts(Object.fromEntries(result.lines.map((line) => [line.lot?.id ?? "", line.counted || line.expected])));
    }
  }

  const open = stocktaking?.status === StocktakingStatus.OPEN;
  return (
    <Section title={t("stocktaking")} id="stocktaking">
      <ErrorMessage error={error} />
      {!open && (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            act(async () => (await client(InventoryService).startStocktaking({ requestId: requestId(), warehouseId: props.warehouseId })).stocktaking)
          }
        >
          {t("startStocktaking")}
        </button>
      )}
      {stocktaking?.status === StocktakingStatus.POSTED && <p role="status">{t("posted")}</p>}
      {stocktaking && (
        <Table columns={["item", "lot", "expected", "counted"]}>
          {stocktaking.lines.map((line) => {
            const lotId = line.lot?.id ?? "";
            const name = itemName(items, line.lot?.itemId ?? "");
            return (
              <tr key={lotId}>
                <td>{name}</td>
                <td>{line.lot?.lotNumber}</td>
                <td>{formatNumber(line.expected)}</td>
                <td>
                  {open ? (
                    <input
                      name={`counted-${line.lot?.lotNumber}`}
                      aria-label={`${t("counted")}: ${name} ${line.lot?.lotNumber}`}
                      inputMode="decimal"
                      value={counts[lotId] ?? ""}
                      onInput={(event) => setCounts({ ...counts, [lotId]: (event.target as HTMLInputElement).value })}
                    />
                  ) : (
                    <>
                      {formatNumber(line.counted)} {line.difference && `(${line.difference})`}
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </Table>
      )}
      {open && stocktaking && (
        <div class="grid">
          <button
            type="button"
            class="secondary"
            disabled={busy}
            onClick={() =>
              act(async () =>
                (
                  await client(InventoryService).recordCounts({
                    requestId: requestId(),
                    stocktakingId: stocktaking.id,
                    counts: Object.entries(counts).map(([lotId, counted]) => ({ lotId, counted: counted.trim() })),
                  })
                ).stocktaking,
              )
            }
          >
            {t("saveCounts")}
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              act(async () =>
                (await client(InventoryService).closeStocktaking({ requestId: requestId(), id: stocktaking.id, etag: stocktaking.etag }))
                  .stocktaking,
              )
            }
          >
            {t("post")}
          </button>
          <button
            type="button"
            class="outline"
            disabled={busy}
            onClick={() =>
              act(async () =>
                (
                  await client(InventoryService).closeStocktaking({
                    requestId: requestId(),
                    id: stocktaking.id,
                    etag: stocktaking.etag,
                    cancel: true,
                  })
                ).stocktaking,
              )
            }
          >
            {t("cancelStocktaking")}
          </button>
        </div>
      )}
    </Section>
  );
}
