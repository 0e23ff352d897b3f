// The pharmacy: a patient's active prescriptions (found by MRN) dispensed from a warehouse
// through the stock ledger, each against its prescription (the server checks it names this
// patient, is still active and is this medicine).
import { useEffect, useState } from "preact/hooks";
import { client, requestId } from "../api";
import { EncounterService, type Prescription } from "../gen/openhmis/encounters/v1/encounters_pb";
import { InventoryService, WarehouseKind, type Warehouse } from "../gen/openhmis/inventory/v1/inventory_pb";
import { PatientService, type Patient } from "../gen/openhmis/patients/v1/patients_pb";
import { t, type Key } from "../i18n";
import { ErrorMessage, Field, Pick, Section, SubNav, Table } from "../ui";
import { Stock } from "./Stock";
import { Requisitions, Stocktaking } from "./Supplies";

/** The pharmacy's views. */
const PHARMACY_VIEWS: readonly (readonly [string, Key])[] = [
  ["#/pharmacy", "dispensing"],
  ["#/pharmacy/stock", "stock"],
  ["#/pharmacy/requisitions", "requisitions"],
  ["#/pharmacy/stocktaking", "stocktaking"],
];

export function Pharmacy(props: { tab: string }) {
  const [warehouses, setWarehouses] = useState<Warehouse[]>([]);
  const [warehouseId, setWarehouseId] = useState("");
  const [mrn, setMrn] = useState("");
  const [patient, setPatient] = useState<Patient | null>(null);
  const [prescriptions, setPrescriptions] = useState<Prescription[]>([]);
  const [quantities, setQuantities] = useState<Record<string, string>>({});
  const [dispensed, setDispensed] = useState<Set<string>>(new Set());
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    client(InventoryService)
      .listWarehouses({})
      .then((answer) => {
        setWarehouses(answer.warehouses);
        const pharmacy = answer.warehouses.find((w) => w.kind === WarehouseKind.CENTRAL_PHARMACY);
        setWarehouseId((pharmacy ?? answer.warehouses[0])?.id ?? "");
      })
      .catch(setError);
  }, []);

  async function find(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      const found = await client(PatientService).searchPatients({ mrn: mrn.trim(), pageSize: 1 });
      const who = found.matches[0]?.patient ?? null;
      if (!who) throw new Error(t("noMatches"));
      const { prescriptions: active } = await client(EncounterService).listPrescriptions({
        patientId: who.id,
        activeOnly: true,
      });
      // The quantity one course needs, as the prescription says in the medicine's form units.
      const full = await Promise.all(
        active.map(async (prescription) => (await client(EncounterService).getPrescription({ id: prescription.id })).prescription ?? prescription),
      );
      setPatient(who);
      setPrescriptions(full);
      setQuantities(Object.fromEntries(full.map((p) => [p.id, p.dispensableQuantity || "1"])));
    } catch (failure) {
      setError(failure);
    }
  }

  async function dispense(prescription: Prescription) {
    setError(null);
    try {
      const { items } = await client(InventoryService).listItems({ query: prescription.medicineCode, pageSize: 10 });
      const item = items.find((candidate) => candidate.code === prescription.medicineCode);
      if (!item) throw new Error(`${prescription.medicineCode}: ${t("noMatches")}`);
      await client(InventoryService).issueStock({
        requestId: requestId(),
        warehouseId,
        patientId: prescription.patientId,
        documentType: "prescription",
        documentId: prescription.id,
        lines: [{ itemId: item.id, quantity: quantities[prescription.id] ?? "1" }],
      });
      setDispensed(new Set([...dispensed, prescription.id]));
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <>
      <h1>{t("pharmacy")}</h1>
      <SubNav label={t("pharmacy")} current={`#/pharmacy${props.tab ? `/${props.tab}` : ""}`} views={PHARMACY_VIEWS} />
      <Pick label={t("warehouse")} name="warehouse" value={warehouseId} options={warehouses} onChange={setWarehouseId} />
      {props.tab === "stock" && <Stock warehouseId={warehouseId} />}
      {props.tab === "requisitions" && <Requisitions warehouseId={warehouseId} warehouses={warehouses} />}
      {props.tab === "stocktaking" && <Stocktaking key={warehouseId} warehouseId={warehouseId} />}
      {props.tab === "" && (
      <form onSubmit={find}>
        <Field label={t("patientMrn")} name="mrn" value={mrn} onInput={setMrn} required />
        <button type="submit">{t("search")}</button>
      </form>
      )}
      <ErrorMessage error={error} />
      {patient && props.tab === "" && (
        <Section title={`${t("toDispense")}: ${patient.familyName} ${patient.givenNames}`} id="dispense">
          <Table columns={["medicine", "dose", "quantity", "actions"]}>
              {prescriptions.map((prescription) => (
                <tr key={prescription.id}>
                  <td>{prescription.medicineName}</td>
                  <td>
                    {prescription.dose} {prescription.doseUnit} × {prescription.timesPerDay}
                  </td>
                  <td>
                    <input
                      name={`quantity-${prescription.medicineCode}`}
                      aria-label={`${t("quantity")} (${prescription.formUnit}): ${prescription.medicineName}`}
                      value={quantities[prescription.id] ?? ""}
                      onInput={(event) =>
                        setQuantities({ ...quantities, [prescription.id]: (event.target as HTMLInputElement).value })
                      }
                    />
                  </td>
                  <td>
                    {dispensed.has(prescription.id) ? (
                      <span role="status">{t("dispensed")}</span>
                    ) : (
                      <button
                        type="button"
                        aria-label={`${t("dispense")}: ${prescription.medicineName}`}
                        onClick={() => void dispense(prescription)}
                      >
                        {t("dispense")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
          </Table>
        </Section>
      )}
    </>
  );
}
