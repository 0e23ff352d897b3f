// The nurse's view of the ward's supplies: the ward's medication order for the coming days
// (what its patients' prescriptions need, in whole units), the ward stock by lot, and the
// leftovers sent back through the ledger: a dose's unused part into the ward's stock, what
// the pharmacy sent back to the pharmacy.
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import { EncounterService, type OrderTotal } from "../gen/openhmis/encounters/v1/encounters_pb";
import {
  InventoryService,
  MovementKind,
  WarehouseKind,
  type Movement,
  type Warehouse,
} from "../gen/openhmis/inventory/v1/inventory_pb";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { itemName, useItems } from "../catalog";
import { formatNumber, formatTime, t, today } from "../i18n";
import { patientName, usePatients } from "../patients";
import { useWards } from "../places";
import { ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";
import { PrintButton } from "./Documents";
import { Stock } from "./Stock";
import { Printout } from "../gen/openhmis/documents/v1/documents_pb";

/** What left the ward's stock for its patients, and what the pharmacy sent it, each with a
 * quantity to return (a dose's leftover back into the ward's stock, the pharmacy's back to
 * the pharmacy). */
function Leftovers(props: { stock: Warehouse; timeZone: string }) {
  const [movements, setMovements] = useState<Movement[]>([]);
  const [quantities, setQuantities] = useState<Record<string, string>>({});
  const [reason, setReason] = useState("");
  const [returned, setReturned] = useState("");
  const [error, attempt, setError] = useAttempt();
  const [items] = useItems();
  const patients = usePatients(movements.map((movement) => movement.patientId).filter(Boolean));
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let live = true;
    client(InventoryService)
      .listMovements({ warehouseId: props.stock.id, pageSize: 50 })
      .then((answer) => {
        if (!live) return;
        setMovements(
          answer.movements.filter(
            (movement) =>
              (movement.kind === MovementKind.ISSUE_PATIENT && movement.fromWarehouseId === props.stock.id) ||
              (movement.kind === MovementKind.TRANSFER && movement.toWarehouseId === props.stock.id),
          ),
        );
      })
      .catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [props.stock.id, generation]);

  async function giveBack(movement: Movement) {
    const toPharmacy = movement.kind === MovementKind.TRANSFER;
    const done = await attempt(() =>
      client(InventoryService).returnStock({
        requestId: requestId(),
        warehouseId: toPharmacy ? movement.fromWarehouseId : props.stock.id,
        movementId: movement.id,
        quantity: quantities[movement.id] ?? "",
        reason,
      }),
    );
    if (done) {
      setReturned(`${t("returned")}: ${itemName(items, movement.itemId)} ${quantities[movement.id]}`);
      setQuantities({ ...quantities, [movement.id]: "" });
      setGeneration(generation + 1);
    }
  }

  return (
    <Section title={t("leftovers")} id="leftovers">
      <p>{t("leftoversHelp")}</p>
      <ErrorMessage error={error} />
      {returned && <p role="status">{returned}</p>}
      <Field label={t("reason")} name="leftover-reason" value={reason} onInput={setReason} />
      <Table columns={["time", "item", "name", "quantity", "actions"]}>
        {movements.map((movement) => {
          const item = itemName(items, movement.itemId);
          const who = movement.patientId ? patientName(patients, movement.patientId) : t("fromPharmacy");
          return (
            <tr key={movement.id}>
              <td>{movement.occurTime && formatTime(timestampMs(movement.occurTime), props.timeZone)}</td>
              <td>{item}</td>
              <td>{who}</td>
              <td>{movement.quantity}</td>
              <td>
                <Field
                  label={`${t("quantityBack")}: ${item}, ${who}`}
                  name={`back-${movement.id}`}
                  value={quantities[movement.id] ?? ""}
                  onInput={(value) => setQuantities({ ...quantities, [movement.id]: value })}
                  inputMode="numeric"
                />
                <button type="button" class="secondary" aria-label={`${t("returnLeftover")}: ${item}, ${who}`} onClick={() => void giveBack(movement)}>
                  {t("returnLeftover")}
                </button>
              </td>
            </tr>
          );
        })}
      </Table>
    </Section>
  );
}

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
          <Leftovers stock={stock} timeZone={ward?.timeZone ?? "UTC"} />
        </>
      )}
    </>
  );
}
