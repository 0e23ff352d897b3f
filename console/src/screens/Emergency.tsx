// The emergency unit: today's board of open visits (most urgent first), registering an
// arrival with its triage level, closing a visit with its outcome, and admitting from it.
import { useEffect, useState } from "preact/hooks";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { client, requestId } from "../api";
import {
  AdmissionService,
  ArrivalMode,
  EmergencyOutcome,
  TriageLevel,
  type EmergencyVisit,
} from "../gen/openhmis/admissions/v1/admissions_pb";
import { DepartmentKind } from "../gen/openhmis/core/v1/core_pb";
import { PatientService } from "../gen/openhmis/patients/v1/patients_pb";
import { formatTime, t, type Key } from "../i18n";
import { patientName, usePatients } from "../patients";
import { useDepartments } from "../places";
import { Choice, ErrorMessage, Field, Pick, Section, Table } from "../ui";

const modes: [ArrivalMode, Key][] = [
  [ArrivalMode.WALK_IN, "walkIn"],
  [ArrivalMode.AMBULANCE, "ambulance"],
  [ArrivalMode.REFERRED, "referred"],
];
const outcomes: [EmergencyOutcome, Key][] = [
  [EmergencyOutcome.SENT_HOME, "sentHome"],
  [EmergencyOutcome.REFERRED_ELSEWHERE, "referredElsewhere"],
  [EmergencyOutcome.LEFT_WITHOUT_BEING_SEEN, "leftUnseen"],
  [EmergencyOutcome.DIED, "died"],
];

const EMERGENCY = [DepartmentKind.EMERGENCY] as const;

export function Emergency() {
  const [units, unitsError] = useDepartments(EMERGENCY);
  const [unitId, setUnitId] = useState("");
  const unit = units.find((candidate) => candidate.id === unitId) ?? units[0];
  // Null until the board was read once.
  const [visits, setVisits] = useState<EmergencyVisit[] | null>(null);
  const [generation, setGeneration] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const patients = usePatients((visits ?? []).map((visit) => visit.patientId));
  // The board is shown once it was read and its patients with it.
  const board = visits && visits.every((visit) => patients.has(visit.patientId)) ? visits : null;
  const [mrn, setMrn] = useState("");
  const [mode, setMode] = useState(ArrivalMode.WALK_IN);
  const [triage, setTriage] = useState(TriageLevel.URGENT);
  const [complaint, setComplaint] = useState("");
  const [warning, setWarning] = useState("");
  const [outcome, setOutcome] = useState(EmergencyOutcome.SENT_HOME);

  useEffect(() => {
    if (!unit) return;
    let live = true;
    (async () => {
      const answer = await client(AdmissionService).listEmergencyVisits({
        departmentId: unit.id,
        openOnly: true,
        pageSize: 100,
      });
      // The most urgent first, then by arrival.
      const sorted = [...answer.visits].sort(
        (a, b) =>
          (a.triageLevel || 9) - (b.triageLevel || 9) ||
          (a.arrivalTime ? timestampMs(a.arrivalTime) : 0) - (b.arrivalTime ? timestampMs(b.arrivalTime) : 0),
      );
      if (live) setVisits(sorted);
    })().catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [unit?.id, generation]);

  async function arrive(event: Event) {
    event.preventDefault();
    setError(null);
    setWarning("");
    try {
      const found = await client(PatientService).searchPatients({ mrn: mrn.trim(), pageSize: 1 });
      const patient = found.matches[0]?.patient;
      if (!patient) throw new Error(`${t("patientMrn")}: ${t("noMatches")}`);
      const answer = await client(AdmissionService).registerEmergencyVisit({
        requestId: requestId(),
        visit: {
          patientId: patient.id,
          departmentId: unit?.id ?? "",
          arrivalMode: mode,
          triageLevel: triage,
          chiefComplaint: complaint.trim(),
        },
      });
      if (answer.unpaidDebt) setWarning(t("unpaidDebtWarning"));
      setMrn("");
      setComplaint("");
      setGeneration(generation + 1);
    } catch (failure) {
      setError(failure);
    }
  }

  async function close(visit: EmergencyVisit) {
    setError(null);
    try {
      await client(AdmissionService).closeEmergencyVisit({ requestId: requestId(), visitId: visit.id, outcome });
      setGeneration(generation + 1);
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <>
      <h1>{t("emergencyUnit")}</h1>
      <ErrorMessage error={unitsError} />
      <Pick label={t("ward")} name="ward" value={unit?.id ?? ""} options={units} onChange={setUnitId} />
      <Section title={t("board")} id="er-board">
        <ErrorMessage error={error} />
        <Choice label={t("outcome")} name="outcome" value={outcome} options={outcomes} onChange={setOutcome} />
        {board === null ? (
          <p aria-busy="true">{t("loading")}</p>
        ) : board.length === 0 ? (
          <p>{t("noOpenVisits")}</p>
        ) : (
          <Table columns={["triage", "name", "arrival", "complaint", "actions"]}>
              {board.map((visit) => {
                const person = patients.get(visit.patientId);
                const who = patientName(patients, visit.patientId);
                return (
                  <tr key={visit.id}>
                    <td>{visit.triageLevel || "–"}</td>
                    <td>
                      <a href={`#/patients/${visit.patientId}`}>{who}</a>
                    </td>
                    <td>{visit.arrivalTime && formatTime(timestampMs(visit.arrivalTime), unit?.timeZone)}</td>
                    <td>{visit.chiefComplaint}</td>
                    <td>
                      <button type="button" class="secondary" aria-label={`${t("close")}: ${who}`} onClick={() => void close(visit)}>
                        {t("close")}
                      </button>{" "}
                      {person?.mrn && (
                        <a
                          href={`#/admissions?mrn=${person.mrn}&visit=${visit.id}`}
                          role="button"
                          class="outline"
                          aria-label={`${t("admit")}: ${who}`}
                        >
                          {t("admit")}
                        </a>
                      )}
                    </td>
                  </tr>
                );
              })}
          </Table>
        )}
      </Section>
      <form onSubmit={arrive} aria-labelledby="arrival-title">
        <h2 id="arrival-title">{t("registerArrival")}</h2>
        <div class="grid">
          <Field label={t("patientMrn")} name="mrn" value={mrn} onInput={setMrn} required />
          <Choice label={t("arrivalMode")} name="arrival_mode" value={mode} options={modes} onChange={setMode} />
          <label>
            {t("triage")}
            <select name="triage_level" value={String(triage)} onChange={(e) => setTriage(Number((e.target as HTMLSelectElement).value))}>
              {[1, 2, 3, 4, 5].map((level) => (
                <option key={level} value={String(level)}>
                  {level} · {TriageLevel[level].toLowerCase().replace(/_/g, " ")}
                </option>
              ))}
            </select>
          </label>
        </div>
        <Field label={t("complaint")} name="chief_complaint" value={complaint} onInput={setComplaint} />
        {warning && <p role="alert">{warning}</p>}
        <button type="submit">{t("registerArrival")}</button>
      </form>
    </>
  );
}
