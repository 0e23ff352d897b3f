// Admissions: the ward's live map (WatchWardBoard, a server stream over grpc-web), admitting
// into a bed chosen on it, transfers to a bed chosen on any ward's map, discharge with its
// type, undoing a discharge within the window, and the desk's corrections (type, ward,
// admitting diagnosis) or cancellation until the ward's first clinical act, with their history.
import { useEffect, useMemo, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, signedIn, type Session } from "../api";
import {
  AdmissionService,
  AdmissionStatus,
  AdmissionType,
  BedOccupancy,
  DischargeType,
  type Admission,
  type AdmissionCorrection,
  type BedSlot,
  type DischargeWorklistEntry,
  type RecordHandover,
  type WardBoard,
} from "../gen/openhmis/admissions/v1/admissions_pb";
import { BedState, FacilityService } from "../gen/openhmis/core/v1/core_pb";
import { PatientService, type Patient } from "../gen/openhmis/patients/v1/patients_pb";
import { patientName, usePatients } from "../patients";
import { BillingService, type GetPatientStandingResponse } from "../gen/openhmis/billing/v1/billing_pb";
import { formatMoney, formatTime, t, type Key } from "../i18n";
import { useWards, type Place } from "../places";
import { Choice, ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";

/** The ward's board as the server streams it: a new board after every change. */
function useBoard(wardId: string): [WardBoard | null, unknown] {
  const [board, setBoard] = useState<WardBoard | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setBoard(null);
    setError(null);
    if (!wardId) return;
    const abort = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const watch = async () => {
      try {
        for await (const update of client(AdmissionService).watchWardBoard(
          { departmentId: wardId },
          { signal: abort.signal },
        )) {
          setError(null);
          if (update.board) setBoard(update.board);
        }
      } catch (failure) {
        if (abort.signal.aborted) return;
        // The server ends a watch when the access token it was opened with expires: watch
        // again at once with the refreshed one, while the session lasts.
        if (failure instanceof ConnectError && failure.code === Code.Unauthenticated) {
          if (signedIn()) void watch();
          return;
        }
        setError(failure);
      }
      if (!abort.signal.aborted) retry = setTimeout(watch, 2000);
    };
    void watch();
    return () => {
      abort.abort();
      clearTimeout(retry);
    };
  }, [wardId]);
  return [board, error];
}

const occupancyKey: Record<number, Key> = {
  [BedOccupancy.FREE]: "free",
  [BedOccupancy.OCCUPIED]: "occupied",
  [BedOccupancy.RESERVED]: "reserved",
  [BedOccupancy.CLEANING]: "cleaning",
  [BedOccupancy.OUT_OF_SERVICE]: "outOfService",
};

interface Chosen {
  wardId: string;
  bed: BedSlot;
}

/** Housekeeping: a bed left for cleaning is made free again once it is clean. */
async function markClean(bedId: string): Promise<void> {
  const facilities = client(FacilityService);
  const { bed } = await facilities.getBed({ id: bedId });
  await facilities.setBedState({ requestId: requestId(), bedId, state: BedState.FREE, etag: bed?.etag ?? "" });
}

function BedMap(props: {
  board: WardBoard;
  chosen: Chosen | null;
  onChoose: (bed: BedSlot) => void;
  patients: Map<string, Patient | null>;
  canClean: boolean;
  onError: (error: unknown) => void;
}) {
  const rooms = new Map<string, BedSlot[]>();
  for (const bed of props.board.beds) {
    rooms.set(bed.roomCode, [...(rooms.get(bed.roomCode) ?? []), bed]);
  }
  return (
    <div class="bed-map" data-testid="bed-map">
      {[...rooms.entries()].map(([room, beds]) => (
        <fieldset key={room} class="room">
          <legend>
            {t("room")} {room}
          </legend>
          {beds.map((bed) => {
            const state = t(occupancyKey[bed.occupancy] ?? "unknown");
            const chosen = props.chosen?.bed.bedId === bed.bedId;
            const who = bed.patientId ? patientName(props.patients, bed.patientId) : "";
            const button = (
              <button
                key={bed.bedId}
                type="button"
                class={`bed bed-${occupancyKey[bed.occupancy] ?? "unknown"}`}
                aria-pressed={chosen}
                disabled={bed.occupancy !== BedOccupancy.FREE}
                data-bed={`${room}/${bed.bedCode}`}
                onClick={() => props.onChoose(bed)}
              >
                {t("bed")} {bed.bedCode} · {state}
                {who && <span class="who"> · {who}</span>}
              </button>
            );
            const clean =
              props.canClean && bed.occupancy === BedOccupancy.CLEANING ? (
                <button
                  key={`${bed.bedId}-clean`}
                  type="button"
                  class="outline clean"
                  aria-label={`${t("markClean")}: ${t("room")} ${room}, ${t("bed")} ${bed.bedCode}`}
                  onClick={() => markClean(bed.bedId).catch(props.onError)}
                >
                  {t("markClean")}
                </button>
              ) : null;
            return clean ? [button, clean] : button;
          })}
        </fieldset>
      ))}
    </div>
  );
}

const admissionTypes: [AdmissionType, Key][] = [
  [AdmissionType.EMERGENCY, "emergency"],
  [AdmissionType.PLANNED, "planned"],
  [AdmissionType.DAY_CARE, "dayCare"],
  [AdmissionType.OBSERVATION, "observation"],
];

const dischargeTypes: [DischargeType, Key][] = [
  [DischargeType.RECOVERED, "recovered"],
  [DischargeType.IMPROVED, "improved"],
  [DischargeType.UNCHANGED, "unchanged"],
  [DischargeType.WORSENED, "worsened"],
  [DischargeType.DECEASED, "deceasedDischarge"],
  [DischargeType.TRANSFERRED, "transferred"],
  [DischargeType.LEFT_AGAINST_ADVICE, "leftAgainstAdvice"],
];

function Admit(props: { chosen: Chosen | null; initialMrn: string; visitId: string }) {
  const [mrn, setMrn] = useState(props.initialMrn);
  const [type, setType] = useState(AdmissionType.EMERGENCY);
  const [diagnosis, setDiagnosis] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [admitted, setAdmitted] = useState<Admission | null>(null);
  const [standing, setStanding] = useState<GetPatientStandingResponse | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (!props.chosen) return;
    setBusy(true);
    setError(null);
    setAdmitted(null);
    setStanding(null);
    try {
      const found = await client(PatientService).searchPatients({ mrn: mrn.trim(), pageSize: 1 });
      const patient = found.matches[0]?.patient;
      if (!patient) throw new Error(`${t("patientMrn")}: ${t("noMatches")}`);
      const answer = await client(AdmissionService).admitPatient({
        requestId: requestId(),
        admission: {
          patientId: patient.id,
          type,
          departmentId: props.chosen.wardId,
          bedId: props.chosen.bed.bedId,
          admittingDiagnosisCode: diagnosis.trim(),
          emergencyVisitId: props.visitId,
        },
      });
      setAdmitted(answer.admission ?? null);
      // The patient's insurance and what is owed, checked at admission (for those who read
      // billing; others are not told).
      client(BillingService)
        .getPatientStanding({ patientId: patient.id })
        .then(setStanding)
        .catch(() => setStanding(null));
      // The emergency visit is closed by this admission: the next one on this screen has none.
      if (props.visitId) window.location.hash = `#/admissions/${props.chosen.wardId}`;
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} aria-labelledby="admit-title">
      <h2 id="admit-title">{t("admitTitle")}</h2>
      <div class="grid">
        <Field label={t("patientMrn")} name="mrn" value={mrn} onInput={setMrn} required />
        <Choice label={t("admissionType")} name="admission_type" value={type} options={admissionTypes} onChange={setType} />
        <Field
          label={t("admittingDiagnosis")}
          name="admitting_diagnosis_code"
          value={diagnosis}
          onInput={setDiagnosis}
        />
      </div>
      <p role="status" data-testid="chosen-bed">
        {props.chosen
          ? `${t("chosenBed")}: ${t("room")} ${props.chosen.bed.roomCode}, ${t("bed")} ${props.chosen.bed.bedCode}`
          : t("noBedChosen")}
      </p>
      <ErrorMessage error={error} />
      <button type="submit" aria-busy={busy} disabled={!props.chosen}>
        {t("admit")}
      </button>
      {admitted && (
        <p role="status">
          {t("admitted")} <strong data-testid="admission-number">{admitted.admissionNumber}</strong>
        </p>
      )}
      {standing && (
        <p data-testid="standing" class={standing.coverages.length === 0 || Number(standing.debt) > 0 ? "error" : ""}>
          {standing.coverages.length === 0
            ? t("noInsurance")
            : `${t("insured")}: ${standing.coverages.map((coverage) => coverage.policyNumber).join(", ")}`}
          {Number(standing.debt) > 0 && ` · ${t("owes")} ${formatMoney(standing.debt)}`}
        </p>
      )}
    </form>
  );
}

function InWard(props: {
  board: WardBoard;
  patients: Map<string, Patient | null>;
  chosen: Chosen | null;
  timeZone: string;
  canAct: boolean;
  canCorrect: boolean;
  onCorrect: (admissionId: string) => void;
}) {
  const [error, act] = useAttempt();
  const [dischargeType, setDischargeType] = useState(DischargeType.RECOVERED);
  const [plannedAt, setPlannedAt] = useState("");
  const [withdrawReason, setWithdrawReason] = useState("");
  const bedOf = (id: string) => props.board.beds.find((bed) => bed.bedId === id);

  return (
    <Section title={t("inWard")} id="in-ward">
      <ErrorMessage error={error} />
      <Choice
        label={t("dischargeType")}
        name="discharge_type"
        value={dischargeType}
        options={dischargeTypes}
        onChange={setDischargeType}
        hidden={!props.canAct}
      />
      {props.canAct && (
        <div class="grid">
          <Field
            label={t("plannedDischarge")}
            name="planned_discharge"
            type="datetime-local"
            value={plannedAt}
            onInput={setPlannedAt}
            hint={t("plannedDischargeHint")}
          />
          <Field label={t("withdrawReason")} name="withdraw_reason" value={withdrawReason} onInput={setWithdrawReason} />
        </div>
      )}
      <Table
        columns={
          props.canAct || props.canCorrect
            ? ["admissionNumber", "name", "bed", "since", "actions"]
            : ["admissionNumber", "name", "bed", "since"]
        }
      >
          {props.board.patients.map((patient) => {
            const bed = bedOf(patient.bedId);
            const name = patientName(props.patients, patient.patientId);
            return (
              <tr key={patient.admissionId} data-admission={patient.admissionNumber}>
                <td>{patient.admissionNumber}</td>
                <td>
                  <a href={`#/patients/${patient.patientId}`}>{name}</a>
                </td>
                <td>{bed ? `${bed.roomCode}/${bed.bedCode}` : ""}</td>
                <td>
                  {patient.since && formatTime(timestampMs(patient.since), props.timeZone)}
                  {patient.plannedDischargeTime && (
                    <>
                      <br />
                      <small data-testid="discharge-announced">
                        {t("dischargeAnnouncedFor")} {formatTime(timestampMs(patient.plannedDischargeTime), props.timeZone)}
                      </small>
                    </>
                  )}
                </td>
                {(props.canAct || props.canCorrect) && (
                <td class="actions">
                  {props.canCorrect && (
                    <button
                      type="button"
                      class="outline"
                      aria-label={`${t("correctAdmission")}: ${name}`}
                      onClick={() => props.onCorrect(patient.admissionId)}
                    >
                      {t("correct")}
                    </button>
                  )}
                  {props.canAct && (<>
                  {patient.plannedDischargeTime ? (
                    <button
                      type="button"
                      class="outline"
                      aria-label={`${t("withdrawDischarge")}: ${name}`}
                      onClick={() =>
                        act(() =>
                          client(AdmissionService).withdrawDischarge({
                            requestId: requestId(),
                            admissionId: patient.admissionId,
                            reason: withdrawReason.trim(),
                          }),
                        )
                      }
                    >
                      {t("withdrawDischarge")}
                    </button>
                  ) : (
                    <button
                      type="button"
                      class="outline"
                      aria-label={`${t("announceDischarge")}: ${name}`}
                      onClick={() =>
                        act(() =>
                          client(AdmissionService).announceDischarge({
                            requestId: requestId(),
                            admissionId: patient.admissionId,
                            discharge: {
                              type: dischargeType,
                              plannedTime: plannedAt ? timestampFromMs(new Date(plannedAt).getTime()) : undefined,
                            },
                          }),
                        )
                      }
                    >
                      {t("announceDischarge")}
                    </button>
                  )}
                  <button
                    type="button"
                    class="secondary"
                    disabled={!props.chosen}
                    aria-label={`${t("transferTo")}: ${name}`}
                    onClick={() =>
                      act(() =>
                        client(AdmissionService).transferPatient({
                          requestId: requestId(),
                          admissionId: patient.admissionId,
                          departmentId: props.chosen?.wardId ?? "",
                          bedId: props.chosen?.bed.bedId ?? "",
                        }),
                      )
                    }
                  >
                    {t("transfer")}
                  </button>
                  <button
                    type="button"
                    class="contrast"
                    aria-label={`${t("discharge")}: ${name}`}
                    onClick={() =>
                      act(() =>
                        client(AdmissionService).dischargePatient({
                          requestId: requestId(),
                          admissionId: patient.admissionId,
                          type: dischargeType,
                        }),
                      )
                    }
                  >
                    {t("discharge")}
                  </button>
                  </>)}
                </td>
                )}
              </tr>
            );
          })}
      </Table>
    </Section>
  );
}

/** An admission's field as a correction names it, in the user's words. */
function fieldName(field: string): string {
  const names: Record<string, Key> = {
    type: "admissionType",
    department_id: "ward",
    bed_id: "bed",
    admitting_physician_id: "admittingPhysician",
    admitting_diagnosis_code: "admittingDiagnosis",
    admitting_diagnosis_text: "diagnosisText",
    status: "status",
  };
  return names[field] ? t(names[field]) : field;
}

/** A corrected value in the user's words: a ward by its name, a type by its word. */
function valueName(field: string, value: string, wards: Place[]): string {
  if (!value) return "—";
  if (field === "department_id") return wards.find((ward) => ward.id === value)?.name ?? value.slice(0, 8);
  if (field === "type") {
    const found = admissionTypes.find(([kind]) => `ADMISSION_TYPE_${AdmissionType[kind]}` === value);
    return found ? t(found[1]) : value;
  }
  if (field === "status") return value === "ADMISSION_STATUS_CANCELLED" ? t("cancelledAdmission") : t("admittedStatus");
  if (field === "bed_id" || field === "admitting_physician_id") return value.slice(0, 8);
  return value;
}

/** The desk's corrections of one admission: what it entered, corrected or cancelled until the
 * ward's first clinical act, and every correction made so far. */
function Correction(props: { admissionId: string; wards: Place[]; timeZone: string; onClose: () => void }) {
  const [admission, setAdmission] = useState<Admission | null>(null);
  const [history, setHistory] = useState<AdmissionCorrection[]>([]);
  const [type, setType] = useState(AdmissionType.EMERGENCY);
  const [wardId, setWardId] = useState("");
  const [code, setCode] = useState("");
  const [reason, setReason] = useState("");
  const [error, act, setError] = useAttempt();
  const [done, setDone] = useState("");

  async function load() {
    const [got, listed] = await Promise.all([
      client(AdmissionService).getAdmission({ id: props.admissionId }),
      client(AdmissionService).listAdmissionCorrections({ admissionId: props.admissionId }),
    ]);
    const current = got.admission ?? null;
    setAdmission(current);
    setHistory(listed.corrections);
    if (current) {
      setType(current.type);
      setWardId(current.admittingDepartmentId);
      setCode(current.admittingDiagnosisCode);
    }
  }
  useEffect(() => {
    setDone("");
    load().catch(setError);
  }, [props.admissionId]);
  if (!admission) return <ErrorMessage error={error} />;
  const closed = admission.firstClinicalActTime !== undefined;
  const open = admission.status === AdmissionStatus.ADMITTED;

  async function correct(event: Event) {
    event.preventDefault();
    if (!admission) return;
    const answer = await act(() =>
      client(AdmissionService).correctAdmission({
        requestId: requestId(),
        admissionId: admission.id,
        etag: admission.etag,
        reason: reason.trim(),
        type: type === admission.type ? AdmissionType.UNSPECIFIED : type,
        departmentId: wardId === admission.admittingDepartmentId ? "" : wardId,
        admittingDiagnosisCode: code.trim().toUpperCase() === admission.admittingDiagnosisCode ? "" : code.trim(),
      }),
    );
    if (answer) {
      setDone(t("correctionSaved"));
      setReason("");
      await load();
    }
  }

  async function cancel() {
    if (!admission) return;
    const answer = await act(() =>
      client(AdmissionService).cancelAdmission({
        requestId: requestId(),
        admissionId: admission.id,
        etag: admission.etag,
        reason: reason.trim(),
      }),
    );
    if (answer) {
      setDone(t("admissionCancelled"));
      setReason("");
      await load();
    }
  }

  return (
    <section aria-labelledby="correction-title">
      <h2 id="correction-title">
        {t("correctAdmission")} {admission.admissionNumber}
      </h2>
      {closed && admission.firstClinicalActTime && (
        <p role="note" data-testid="corrections-closed">
          {t("careRecorded")} {formatTime(timestampMs(admission.firstClinicalActTime), props.timeZone)}
        </p>
      )}
      {open && !closed && (
        <form onSubmit={correct} aria-label={t("correctAdmission")}>
          <div class="grid">
            <Choice label={t("admissionType")} name="correct_type" value={type} options={admissionTypes} onChange={setType} />
            <Pick label={t("admittingWard")} name="correct_ward" value={wardId} options={props.wards} onChange={setWardId} />
            <Field label={t("admittingDiagnosis")} name="correct_diagnosis" value={code} onInput={setCode} />
          </div>
          <Field label={t("reason")} name="correct_reason" value={reason} onInput={setReason} required />
          <div class="grid">
            <button type="submit">{t("saveCorrection")}</button>
            <button type="button" class="contrast" onClick={cancel}>
              {t("cancelAdmission")}
            </button>
            <button type="button" class="secondary" onClick={props.onClose}>
              {t("close")}
            </button>
          </div>
        </form>
      )}
      <ErrorMessage error={error} />
      {done && <p role="status">{done}</p>}
      <Table columns={["when", "changes", "reason"]} caption={t("correctionHistory")}>
        {history.map((correction) => (
          <tr key={correction.id} data-correction={correction.id}>
            <td>{correction.correctTime && formatTime(timestampMs(correction.correctTime), props.timeZone)}</td>
            <td>
              {correction.changes
                .map((change) => `${fieldName(change.field)}: ${valueName(change.field, change.before, props.wards)} → ${valueName(change.field, change.after, props.wards)}`)
                .join("; ")}
            </td>
            <td>{correction.reason}</td>
          </tr>
        ))}
      </Table>
    </section>
  );
}

function RecentlyDischarged(props: { wardId: string; board: WardBoard }) {
  const [admissions, setAdmissions] = useState<Admission[]>([]);
  const [reason, setReason] = useState("");
  const [location, setLocation] = useState("");
  const [handedOver, setHandedOver] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const patients = usePatients(admissions.map((admission) => admission.patientId));
  useEffect(() => {
    client(AdmissionService)
      .listAdmissions({ departmentId: props.wardId, status: AdmissionStatus.DISCHARGED, pageSize: 10 })
      .then((answer) => setAdmissions(answer.admissions))
      .catch(setError);
  }, [props.wardId, props.board.readTime?.seconds, props.board.readTime?.nanos]);
  if (admissions.length === 0 && !error) return null;
  return (
    <Section title={t("recentlyDischarged")} id="discharged">
      <ErrorMessage error={error} />
      <div class="grid">
        <Field label={t("reason")} name="undo_reason" value={reason} onInput={setReason} />
        <Field label={t("paperFileLocation")} name="paper_file_location" value={location} onInput={setLocation} />
      </div>
      <ul>
        {admissions.map((admission) => (
          <li key={admission.id}>
            {admission.admissionNumber} · {patientName(patients, admission.patientId) || admission.patientId.slice(0, 8)}{" "}
            <button
              type="button"
              class="outline"
              onClick={() =>
                client(AdmissionService)
                  .undoDischarge({ requestId: requestId(), admissionId: admission.id, reason: reason.trim() })
                  .then(() => setError(null))
                  .catch(setError)
              }
            >
              {t("undoDischarge")} {admission.admissionNumber}
            </button>{" "}
            {handedOver.includes(admission.id) ? (
              <small role="status">{t("recordHandedOver")}</small>
            ) : (
              <button
                type="button"
                class="outline"
                onClick={() =>
                  client(AdmissionService)
                    .handOverRecord({ requestId: requestId(), admissionId: admission.id, paperFileLocation: location.trim() })
                    .then(() => {
                      setError(null);
                      setHandedOver([...handedOver, admission.id]);
                    })
                    .catch(setError)
                }
              >
                {t("handOverRecord")} {admission.admissionNumber}
              </button>
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}

/** Medical records: the stays' records the wards handed over, received with where the paper
 * file is kept now. */
function RecordsOnTheirWay(props: { facilityId: string; timeZone: string }) {
  const [handovers, setHandovers] = useState<RecordHandover[]>([]);
  const [location, setLocation] = useState("");
  const [error, act] = useAttempt();
  const [generation, setGeneration] = useState(0);
  const patients = usePatients(handovers.map((handover) => handover.patientId));
  useEffect(() => {
    if (!props.facilityId) return;
    act(() => client(AdmissionService).listRecordHandovers({ facilityId: props.facilityId, awaitingOnly: true })).then(
      (done) => done && setHandovers(done.value.handovers),
    );
  }, [props.facilityId, generation]);
  return (
    <Section title={t("recordsOnTheirWay")} id="records">
      <ErrorMessage error={error} />
      <Field label={t("keptAt")} name="kept_at" value={location} onInput={setLocation} />
      <Table columns={["name", "sent", "paperFileLocation", "actions"]}>
        {handovers.map((handover) => {
          const name = patientName(patients, handover.patientId) || handover.patientId.slice(0, 8);
          return (
            <tr key={handover.id}>
              <td>{name}</td>
              <td>{handover.sendTime && formatTime(timestampMs(handover.sendTime), props.timeZone)}</td>
              <td>{handover.paperFileLocation}</td>
              <td>
                <button
                  type="button"
                  aria-label={`${t("receiveRecord")}: ${name}`}
                  onClick={() =>
                    act(() =>
                      client(AdmissionService).receiveRecord({
                        requestId: requestId(),
                        handoverId: handover.id,
                        paperFileLocation: location.trim(),
                      }),
                    ).then((done) => done && setGeneration(generation + 1))
                  }
                >
                  {t("receiveRecord")}
                </button>
              </td>
            </tr>
          );
        })}
      </Table>
    </Section>
  );
}

/** The discharge desk: the facility's announced discharges, planned time first, with what
 * still holds each up (results and reports awaited, the balance owed); the desk completes
 * the discharge as the physician announced it. */
function DischargeDesk(props: { facilityId: string; timeZone: string; board: WardBoard | null }) {
  const [entries, setEntries] = useState<DischargeWorklistEntry[]>([]);
  const [error, act] = useAttempt();
  const [generation, setGeneration] = useState(0);
  const patients = usePatients(entries.map((entry) => entry.admission?.patientId ?? ""));
  useEffect(() => {
    if (!props.facilityId) return;
    act(() => client(AdmissionService).listDischargeWorklist({ facilityId: props.facilityId })).then(
      (done) => done && setEntries(done.value.entries),
    );
    // The ward's board is live: an announcement or a discharge there is read again here.
  }, [props.facilityId, generation, props.board]);
  return (
    <Section title={t("dischargeDesk")} id="discharge-desk">
      <ErrorMessage error={error} />
      {entries.length === 0 && <p>{t("nothingToDischarge")}</p>}
      {entries.length > 0 && (
        <Table columns={["name", "plannedFor", "stillMissing", "actions"]}>
          {entries.map(({ admission, holds: missing }) => {
            if (!admission) return null;
            const name = patientName(patients, admission.patientId) || admission.admissionNumber;
            const planned = admission.plannedDischarge;
            return (
              <tr key={admission.id} data-patient={name}>
                <td>{name}</td>
                <td>{planned?.plannedTime && formatTime(timestampMs(planned.plannedTime), props.timeZone)}</td>
                <td>
                  {missing.length === 0 ? (
                    t("readyToGo")
                  ) : (
                    <ul>
                      {missing.map((hold) => (
                        <li key={`${hold.kind}-${hold.detail}`}>{hold.detail}</li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  <button
                    type="button"
                    aria-label={`${t("completeDischarge")}: ${name}`}
                    onClick={() =>
                      act(() =>
                        client(AdmissionService).dischargePatient({
                          requestId: requestId(),
                          admissionId: admission.id,
                          type: planned?.type,
                          destination: planned?.destination ?? "",
                          etag: admission.etag,
                        }),
                      ).then((done) => done && setGeneration(generation + 1))
                    }
                  >
                    {t("completeDischarge")}
                  </button>
                </td>
              </tr>
            );
          })}
        </Table>
      )}
    </Section>
  );
}

export function Admissions(props: { wardId: string; patientMrn: string; visitId: string; session: Session }) {
  const [mapError, setMapError] = useState<unknown>(null);
  const canAdmit = holds(props.session, "admissions.admit");
  const canCorrect = holds(props.session, "admissions.correct");
  const [correcting, setCorrecting] = useState("");
  const [wards, wardsError] = useWards();
  const wardId = props.wardId || wards[0]?.id || "";
  const [board, boardError] = useBoard(wardId);
  const [chosen, setChosen] = useState<Chosen | null>(null);
  const ids = useMemo(() => (board ? board.beds.map((bed) => bed.patientId).filter(Boolean) : []), [board]);
  const patients = usePatients(ids);
  const ward = wards.find((candidate) => candidate.id === wardId);

  // A chosen bed that stops being free is chosen no more.
  useEffect(() => {
    if (chosen && board && chosen.wardId === wardId) {
      const now = board.beds.find((bed) => bed.bedId === chosen.bed.bedId);
      if (!now || now.occupancy !== BedOccupancy.FREE) setChosen(null);
    }
  }, [board]);

  return (
    <>
      <h1>{t("admissions")}</h1>
      <ErrorMessage error={wardsError} />
      <Pick
        label={t("ward")}
        name="ward"
        value={wardId}
        options={wards}
        onChange={(id) => {
          const visit = props.visitId ? `&visit=${props.visitId}` : "";
          window.location.hash = `#/admissions/${id}${props.patientMrn ? `?mrn=${props.patientMrn}${visit}` : ""}`;
        }}
      />
      <Section title={`${t("wardMap")}${ward ? `: ${ward.name}` : ""}`} id="map">
        <p>
          <small>{t("live")}</small>
        </p>
        <ErrorMessage error={boardError ?? mapError} />
        {board ? (
          <BedMap
            board={board}
            chosen={chosen}
            patients={patients}
            canClean={holds(props.session, "core.beds.manage")}
            onError={setMapError}
            onChoose={(bed) => setChosen({ wardId, bed })}
          />
        ) : (
          <p aria-busy="true">{t("loading")}</p>
        )}
      </Section>
      {canAdmit && <Admit chosen={chosen} initialMrn={props.patientMrn} visitId={props.visitId} />}
      {board && (
        <InWard
          board={board}
          patients={patients}
          chosen={chosen}
          timeZone={ward?.timeZone ?? "UTC"}
          canAct={canAdmit}
          canCorrect={canCorrect}
          onCorrect={setCorrecting}
        />
      )}
      {correcting && (
        <Correction
          admissionId={correcting}
          wards={wards}
          timeZone={ward?.timeZone ?? "UTC"}
          onClose={() => setCorrecting("")}
        />
      )}
      {board && canAdmit && <RecentlyDischarged wardId={wardId} board={board} />}
      {canAdmit && ward && <DischargeDesk facilityId={ward.facilityId} timeZone={ward.timeZone} board={board} />}
      {holds(props.session, "admissions.records") && ward && (
        <RecordsOnTheirWay facilityId={ward.facilityId} timeZone={ward.timeZone} />
      )}
    </>
  );
}
