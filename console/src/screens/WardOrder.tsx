// The nurse's view of the ward's supplies: the ward's medication order for the coming days
// (what its patients' prescriptions need, in whole units) and the ward stock by lot.
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import { EncounterService, type OrderTotal } from "../gen/openhmis/encounters/v1/encounters_pb";
import { InventoryService, WarehouseKind, type Warehouse } from "../gen/openhmis/inventory/v1/inventory_pb";
import { formatNumber, t, today } from "../i18n";
import { useWards } from "../places";
import { ErrorMessage, Field, Pick, Section, Table } from "../ui";
import { PrintButton } from "./Documents";
import { Stock } from "./Stock";
import { Printout } from "../gen/openhmis/documents/v1/documents_pb";

export function WardOrder() {
  const [wards, wardsError] = useWards();
  const [wardId, setWardId] = useState("");
  const ward = wards.find((candidate) => candidate.id === wardId) ?? wards[0];
  const [days, setDays] = useState("1");
  const [totals, setTotals] = useState<OrderTotal[]>([]);
  const [stock, setStock] = useState<Warehouse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string[] | null>(null);

  useEffect(() => {
    if (!ward) return;
    setError(null);
    client(EncounterService)
      .getWardMedicationOrder({ departmentId: ward.id, startDate: today(ward.timeZone, 1), days: Number(days) || 1 })
      .then((answer) => setTotals(answer.order?.totals ?? []))
      .catch(setError);
    client(InventoryService)
      .listWarehouses({})
      .then((answer) =>
        setStock(
          answer.warehouses.find(
            (warehouse) => warehouse.kind === WarehouseKind.WARD && warehouse.departmentId === ward.id,
          ) ?? null,
        ),
      )
      .catch(setError);
  }, [ward?.id, days]);

  return (
    <>
      <h1>{t("wardOrder")}</h1>
      <ErrorMessage error={wardsError} />
      <div class="grid">
        <Pick label={t("ward")} name="ward" value={ward?.id ?? ""} options={wards} onChange={setWardId} />
        <Field label={t("days")} name="days" value={days} onInput={setDays} inputMode="numeric" />
      </div>
      <ErrorMessage error={error} />
      <Section title={t("wardOrder")} id="ward-order">
        <p>{t("wardOrderHelp")}</p>
        {stock && totals.length > 0 && (
          <p>
            <button
              type="button"
              onClick={() => {
                setError(null);
                client(InventoryService)
                  .requisitionWardMedicationOrder({
                    requestId: requestId(),
                    wardStockId: stock.id,
                    startDate: ward ? today(ward.timeZone, 1) : "",
                    days: Number(days) || 1,
                  })
                  .then((answer) => setSent(answer.unmatched))
                  .catch(setError);
              }}
            >
              {t("requisition")}
            </button>{" "}
            <PrintButton
              label="issuePdf"
              name={t("wardOrder")}
              request={{
                printout: Printout.WARD_MEDICATION_ORDER,
                departmentId: ward?.id ?? "",
                startDate: ward ? today(ward.timeZone, 1) : "",
                days: Number(days) || 1,
              }}
            />
          </p>
        )}
        {sent && (
          <p role="status">
            {t("requisitioned")}
            {sent.length > 0 && ` · ${t("notInCatalogue")}: ${sent.join(", ")}`}
          </p>
        )}
        <Table columns={["medicine", "quantity"]}>
          {totals.map((total) => (
            <tr key={total.medicineId}>
              <td>{total.medicineName}</td>
              <td>
                {formatNumber(Number(total.wholeUnits))} {total.formUnit}
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      {stock && (
        <>
          <h2>
            {t("wardStock")}: {stock.name}
          </h2>
          <Stock warehouseId={stock.id} readOnly />
        </>
      )}
    </>
  );
}
