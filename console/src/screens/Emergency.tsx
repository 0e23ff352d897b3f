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
import { DepartmentKind, FacilityService } from "../gen/openhmis/core/v1/core_pb";
import { PatientService } from "../gen/openhmis/patients/v1/patients_pb";
import { formatTime, t, type Key } from "../i18n";
import { ErrorMessage, Field, Section } from "../ui";
import { WardPicker } from "./WardPicker";
import type { Ward } from "./Admissions";

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

/** The emergency departments of every facility the caller may read. */
function useEmergencyUnits(): [Ward[], unknown] {
  const [units, setUnits] = useState<Ward[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    (async () => {
      const facilities = client(FacilityService);
      const { facilities: found } = await facilities.listFacilities({ pageSize: 100 });
      const all: Ward[] = [];
      for (const facility of found) {
        const { departments } = await facilities.listDepartments({
          facilityId: facility.id,
          kind: DepartmentKind.EMERGENCY,
          pageSize: 50,
        });
        all.push(...departments.filter((d) => d.active).map((d) => ({ ...d, timeZone: facility.timeZone })));
      }
      setUnits(all);
    })().catch(setError);
  }, []);
  return [units, error];
}

export function Emergency() {
  const [units, unitsError] = useEmergencyUnits();
  const [unitId, setUnitId] = useState("");
  const unit = units.find((candidate) => candidate.id === unitId) ?? units[0];
  const [visits, setVisits] = useState<EmergencyVisit[]>([]);
  const [names, setNames] = useState(new Map<string, string>());
  const [generation, setGeneration] = useState(0);
  const [error, setError] = useState<unknown>(null);
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
      const people = new Map<string, string>();
      for (const visit of answer.visits) {
        if (people.has(visit.patientId)) continue;
        const { patient } = await client(PatientService).getPatient({ id: visit.patientId });
        people.set(visit.patientId, patient ? `${patient.familyName} ${patient.givenNames}` : visit.patientId);
      }
      // The most urgent first, then by arrival.
      const sorted = [...answer.visits].sort(
        (a, b) =>
          (a.triageLevel || 9) - (b.triageLevel || 9) ||
          (a.arrivalTime ? timestampMs(a.arrivalTime) : 0) - (b.arrivalTime ? timestampMs(b.arrivalTime) : 0),
      );
      if (live) {
        setVisits(sorted);
        setNames(people);
      }
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
      <WardPicker wards={units} value={unit?.id ?? ""} onChange={setUnitId} />
      <Section title={t("board")} id="er-board">
        <ErrorMessage error={error} />
        <label>
          {t("outcome")}
          <select
            name="outcome"
            value={String(outcome)}
            onChange={(event) => setOutcome(Number((event.target as HTMLSelectElement).value))}
          >
            {outcomes.map(([value, key]) => (
              <option key={value} value={String(value)}>
                {t(key)}
              </option>
            ))}
          </select>
        </label>
        {visits.length === 0 ? (
          <p>{t("noOpenVisits")}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t("triage")}</th>
                <th scope="col">{t("name")}</th>
                <th scope="col">{t("arrival")}</th>
                <th scope="col">{t("complaint")}</th>
                <th scope="col">{t("actions")}</th>
              </tr>
            </thead>
            <tbody>
              {visits.map((visit) => {
                const who = names.get(visit.patientId) ?? "";
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
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Section>
      <form onSubmit={arrive} aria-labelledby="arrival-title">
        <h2 id="arrival-title">{t("registerArrival")}</h2>
        <div class="grid">
          <Field label={t("patientMrn")} name="mrn" value={mrn} onInput={setMrn} required />
          <label>
            {t("arrivalMode")}
            <select name="arrival_mode" value={String(mode)} onChange={(e) => setMode(Number((e.target as HTMLSelectElement).value))}>
              {modes.map(([value, key]) => (
                <option key={value} value={String(value)}>
                  {t(key)}
                </option>
              ))}
            </select>
          </label>
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
