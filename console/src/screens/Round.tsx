// The nurse's medication round: the ward's new orders to verify, the doses due within the hours around now (from the
// ward's medication order), as-needed medicines, and the record of each dose given.
import { useEffect, useState } from "preact/hooks";
import { timestampMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { client, requestId } from "../api";
import {
  AdministrationStatus,
  EncounterService,
  type OrderedMedication,
  type Prescription,
  type PrescriptionQuery,
  VerificationStatus,
} from "../gen/openhmis/encounters/v1/encounters_pb";
import { formatTime, t, today } from "../i18n";
import { patientName, usePatients } from "../patients";
import { useWards } from "../places";
import { ErrorMessage, Pick, Section, Table, useAttempt } from "../ui";

/** How far from its time a scheduled dose may be recorded (the server's limit). */
const DRIFT_MS = 12 * 3_600_000;

/** The ward's new prescriptions waiting for a nurse: verified onto the round, or questioned
 * (the prescriber answers in the patient's encounter). */
function ToVerify(props: { wardId: string; onVerified: () => void }) {
  const [prescriptions, setPrescriptions] = useState<Prescription[]>([]);
  const [queries, setQueries] = useState<PrescriptionQuery[]>([]);
  const [questions, setQuestions] = useState<Record<string, string>>({});
  const [generation, setGeneration] = useState(0);
  const [error, attempt, setError] = useAttempt();
  const patients = usePatients(prescriptions.map((prescription) => prescription.patientId));

  useEffect(() => {
    let live = true;
    client(EncounterService)
      .listPrescriptionQueries({ departmentId: props.wardId })
      .then((answer) => {
        if (!live) return;
        setPrescriptions(answer.prescriptions);
        setQueries(answer.queries);
      })
      .catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [props.wardId, generation]);

  async function verify(prescription: Prescription) {
    const done = await attempt(() =>
      client(EncounterService).verifyPrescription({ requestId: requestId(), prescriptionId: prescription.id, etag: prescription.etag }),
    );
    if (done) {
      setGeneration(generation + 1);
      props.onVerified();
    }
  }

  async function ask(prescription: Prescription) {
    const done = await attempt(() =>
      client(EncounterService).queryPrescription({
        requestId: requestId(),
        prescriptionId: prescription.id,
        question: questions[prescription.id] ?? "",
      }),
    );
    if (done) setGeneration(generation + 1);
  }

  return (
    <Section title={t("ordersToVerify")} id="to-verify">
      <ErrorMessage error={error} />
      {prescriptions.length === 0 && <p>{t("nothingToVerify")}</p>}
      {prescriptions.length > 0 && (
        <Table columns={["name", "medicine", "dose", "status", "actions"]}>
          {prescriptions.map((prescription) => {
            const who = patientName(patients, prescription.patientId);
            const query = queries.find((open) => open.prescriptionId === prescription.id);
            const label = `${prescription.medicineName}, ${who}`;
            return (
              <tr key={prescription.id} data-patient={who}>
                <td>{who}</td>
                <td>{prescription.medicineName}</td>
                <td>
                  {prescription.dose} {prescription.doseUnit} × {prescription.timesPerDay}
                  {prescription.asNeeded && ` (${t("asNeeded")})`}
                </td>
                <td>
                  {prescription.verification === VerificationStatus.QUERIED && query
                    ? `${t("queried")}: ${query.question}`
                    : t("awaitingVerification")}
                </td>
                <td>
                  {prescription.verification === VerificationStatus.PENDING && (
                    <>
                      <button type="button" aria-label={`${t("verifyOrder")}: ${label}`} onClick={() => void verify(prescription)}>
                        {t("verifyOrder")}
                      </button>
                      <label>
                        {t("questionForPrescriber")}
                        <input
                          name={`question-${prescription.id}`}
                          value={questions[prescription.id] ?? ""}
                          onInput={(event) =>
                            setQuestions({ ...questions, [prescription.id]: (event.target as HTMLInputElement).value })
                          }
                        />
                      </label>
                      <button type="button" class="secondary" aria-label={`${t("askPrescriber")}: ${label}`} onClick={() => void ask(prescription)}>
                        {t("askPrescriber")}
                      </button>
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </Table>
      )}
    </Section>
  );
}

export function Round() {
  const [wards, wardsError] = useWards();
  const [wardId, setWardId] = useState("");
  const ward = wards.find((candidate) => candidate.id === wardId) ?? wards[0];
  const [medications, setMedications] = useState<OrderedMedication[]>([]);
  const [recorded, setRecorded] = useState(new Set<string>());
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  const patients = usePatients(medications.map((medication) => medication.patientId));

  useEffect(() => {
    if (!ward) return;
    let live = true;
    (async () => {
      const { order } = await client(EncounterService).getWardMedicationOrder({
        departmentId: ward.id,
        startDate: today(ward.timeZone, -1),
        days: 3,
      });
      const found = order?.medications ?? [];
      const encounters = [...new Set(found.map((medication) => medication.encounterId))];
      const recordedPerEncounter = await Promise.all(
        encounters.map((encounterId) => client(EncounterService).listAdministrations({ encounterId })),
      );
      const given = new Set<string>();
      for (const { administrations } of recordedPerEncounter) {
        for (const administration of administrations) {
          if (administration.scheduledTime) {
            given.add(`${administration.prescriptionId}@${timestampMs(administration.scheduledTime)}`);
          }
        }
      }
      if (live) {
        setMedications(found);
        setRecorded(given);
      }
    })().catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [ward?.id, generation]);

  async function give(medication: OrderedMedication, at: number | null) {
    setError(null);
    try {
      await client(EncounterService).recordAdministration({
        requestId: requestId(),
        administration: {
          prescriptionId: medication.prescriptionId,
          status: AdministrationStatus.GIVEN,
          scheduledTime: at === null ? undefined : timestampFromMs(at),
        },
      });
      // An as-needed dose may be given again: only a scheduled one is done once recorded.
      if (at !== null) setRecorded(new Set([...recorded, `${medication.prescriptionId}@${at}`]));
    } catch (failure) {
      setError(failure);
    }
  }

  const now = Date.now();
  const rows = medications.flatMap((medication) =>
    medication.asNeeded
      ? [{ medication, at: null as number | null }]
      : medication.doseTimes
          .map((time) => timestampMs(time))
          .filter((at) => Math.abs(at - now) <= DRIFT_MS)
          .map((at) => ({ medication, at })),
  );
  rows.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));

  return (
    <>
      <h1>{t("medicationRound")}</h1>
      <ErrorMessage error={wardsError} />
      <Pick label={t("ward")} name="ward" value={ward?.id ?? ""} options={wards} onChange={setWardId} />
      {ward && <ToVerify wardId={ward.id} onVerified={() => setGeneration(generation + 1)} />}
      <Section title={t("dueToday")} id="round">
        <ErrorMessage error={error} />
        <Table columns={["time", "name", "medicine", "dose", "actions"]}>
            {rows.map(({ medication, at }) => {
              const key = `${medication.prescriptionId}@${at}`;
              const done = at !== null && recorded.has(key);
              const who = patientName(patients, medication.patientId);
              return (
                <tr key={key} data-patient={who}>
                  <td>{at === null ? "PRN" : formatTime(at, ward?.timeZone)}</td>
                  <td>{who}</td>
                  <td>{medication.medicineName}</td>
                  <td>
                    {medication.dose} {medication.doseUnit}
                  </td>
                  <td>
                    {done ? (
                      <span role="status">{t("recorded")}</span>
                    ) : (
                      <button
                        type="button"
                        class="secondary"
                        aria-label={`${t("recordGiven")}: ${medication.medicineName}, ${who}`}
                        onClick={() => void give(medication, at)}
                      >
                        {t("recordGiven")}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
        </Table>
      </Section>
    </>
  );
}
