// The operating block: the day's theatre list, booking an operation (the signed-in surgeon as
// its primary surgeon), and the day of surgery of one operation: the WHO checklist's pauses,
// the times, the operation record (signed, then amended with a reason), what it used (issued
// to the patient through the ledger, pre-filled from the procedures' packs) and cancelling.
import { useEffect, useState } from "preact/hooks";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, type Session } from "../api";
import { itemName, useItems } from "../catalog";
import { DepartmentKind } from "../gen/openhmis/core/v1/core_pb";
import { InventoryService, WarehouseKind, type Warehouse } from "../gen/openhmis/inventory/v1/inventory_pb";
import { PatientService } from "../gen/openhmis/patients/v1/patients_pb";
import { AdmissionService, AdmissionStatus } from "../gen/openhmis/admissions/v1/admissions_pb";
import {
  AnaesthesiaType,
  ChecklistPhase,
  Milestone,
  OperationStatus,
  Priority,
  RecordKind,
  SurgeryService,
  PrivilegeStatus,
  type ConsumedItem,
  type Operation,
  type Privilege,
  type PrivilegeOverride,
  type Theatre as TheatreRoom,
} from "../gen/openhmis/surgery/v1/surgery_pb";
import { formatNumber, formatTime, t, today, type Key } from "../i18n";
import { patientName, usePatients } from "../patients";
import { useDepartments } from "../places";
import { staffName, useStaff } from "../staff";
import { Choice, ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";

const BLOCKS = [DepartmentKind.OPERATING_BLOCK] as const;

const PRIORITIES = [
  [Priority.ELECTIVE, "elective"],
  [Priority.URGENT, "urgent"],
  [Priority.EMERGENCY, "emergencyPriority"],
] as const;

const ANAESTHESIA = [
  [AnaesthesiaType.GENERAL, "generalAnaesthesia"],
  [AnaesthesiaType.SPINAL, "spinal"],
  [AnaesthesiaType.EPIDURAL, "epidural"],
  [AnaesthesiaType.REGIONAL_BLOCK, "regionalBlock"],
  [AnaesthesiaType.LOCAL, "localAnaesthesia"],
  [AnaesthesiaType.SEDATION, "sedation"],
] as const;

const STATUS: Record<OperationStatus, Key> = {
  [OperationStatus.UNSPECIFIED]: "unknown",
  [OperationStatus.SCHEDULED]: "scheduled",
  [OperationStatus.IN_PROGRESS]: "inProgress",
  [OperationStatus.COMPLETED]: "completed",
  [OperationStatus.CANCELLED]: "cancelled",
  [OperationStatus.BUMPED]: "bumped",
};

/** The checklist's pauses in order, each with its items (the server's codes) and their texts. */
const PHASES: readonly (readonly [ChecklistPhase, Key, readonly (readonly [string, Key])[]])[] = [
  [
    ChecklistPhase.SIGN_IN,
    "phaseSignIn",
    [
      ["identity", "itemIdentity"],
      ["site-marked", "itemSiteMarked"],
      ["consent", "itemConsent"],
      ["anaesthesia-check", "itemAnaesthesiaCheck"],
      ["pulse-oximeter", "itemPulseOximeter"],
      ["allergy", "itemAllergy"],
      ["airway", "itemAirway"],
      ["blood-loss-risk", "itemBloodLossRisk"],
    ],
  ],
  [
    ChecklistPhase.TIME_OUT,
    "phaseTimeOut",
    [
      ["team-introduced", "itemTeamIntroduced"],
      ["patient-site-procedure", "itemPatientSiteProcedure"],
      ["antibiotic-prophylaxis", "itemAntibiotic"],
      ["critical-events", "itemCriticalEvents"],
      ["imaging-displayed", "itemImaging"],
    ],
  ],
  [
    ChecklistPhase.SIGN_OUT,
    "phaseSignOut",
    [
      ["procedure-recorded", "itemProcedureRecorded"],
      ["counts-correct", "itemCounts"],
      ["specimens-labelled", "itemSpecimens"],
      ["equipment-problems", "itemEquipment"],
      ["recovery-concerns", "itemRecovery"],
    ],
  ],
];

const MILESTONES: readonly (readonly [Milestone, Key])[] = [
  [Milestone.INTO_ROOM, "intoRoom"],
  [Milestone.ANAESTHESIA_START, "anaesthesiaStart"],
  [Milestone.INCISION, "incision"],
  [Milestone.CLOSURE, "closure"],
  [Milestone.OUT_OF_ROOM, "outOfRoom"],
];

/** The instant a wall-clock time of `day` is in `timeZone` (the block's zone). */
function zonedMs(day: string, time: string, timeZone: string): number {
  const [year, month, date] = day.split("-").map(Number);
  const [hour, minute] = time.split(":").map(Number);
  const guess = Date.UTC(year, month - 1, date, hour, minute);
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).formatToParts(new Date(guess));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"));
  return guess - (wall - guess);
}

/** The time of day now in `timeZone`, "HH:MM", to the minute. */
function nowIn(timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hourCycle: "h23", hour: "2-digit", minute: "2-digit" }).format(
    new Date(),
  );
}

export function Theatre(props: { session: Session }) {
  const [blocks, blocksError] = useDepartments(BLOCKS);
  const [blockId, setBlockId] = useState("");
  const block = blocks.find((candidate) => candidate.id === blockId) ?? blocks[0];
  const zone = block?.timeZone ?? "UTC";
  const [day, setDay] = useState("");
  const shownDay = day || today(zone);
  const [theatres, setTheatres] = useState<TheatreRoom[]>([]);
  const [operations, setOperations] = useState<Operation[]>([]);
  const [selectedId, setSelectedId] = useState("");
  const [version, setVersion] = useState(0);
  const [error, attempt] = useAttempt();
  const patients = usePatients(operations.map((operation) => operation.patientId));

  useEffect(() => {
    if (!block) return;
    // A list asked for before a later change may arrive after the later one: it is dropped.
    let superseded = false;
    void attempt(async () => {
      const surgery = client(SurgeryService);
      const [{ theatres: found }, list] = await Promise.all([
        surgery.listTheatres({ facilityId: block.facilityId }),
        surgery.getTheatreList({ facilityId: block.facilityId, day: shownDay }),
      ]);
      if (superseded) return;
      setTheatres(found.filter((theatre) => theatre.departmentId === block.id));
      setOperations(list.operations.filter((operation) => operation.departmentId === block.id));
    });
    return () => {
      superseded = true;
    };
  }, [block?.id, shownDay, version]);

  const theatreName = (id: string) => theatres.find((theatre) => theatre.id === id)?.name ?? id.slice(0, 8);
  const selected = operations.find((operation) => operation.id === selectedId);
  // From the value current when called: a panel rendered before the last reload may call it.
  const reload = () => setVersion((current) => current + 1);

  return (
    <>
      <h1>{t("operatingBlock")}</h1>
      <ErrorMessage error={blocksError} />
      <div class="grid">
        <Pick label={t("block")} name="block" value={block?.id ?? ""} options={blocks} onChange={setBlockId} />
        <Field label={t("day")} name="day" type="date" value={shownDay} onInput={setDay} />
      </div>
      <Section title={t("theatreList")} id="theatre-list">
        <ErrorMessage error={error} />
        {operations.length === 0 ? (
          <p>{t("noOperations")}</p>
        ) : (
          <Table columns={["time", "theatre", "name", "procedures", "status", "actions"]}>
            {operations.map((operation) => {
              const who = patientName(patients, operation.patientId);
              return (
                <tr key={operation.id} data-operation={operation.id}>
                  <td>{operation.startTime ? formatTime(timestampMs(operation.startTime), zone) : ""}</td>
                  <td>{theatreName(operation.theatreId)}</td>
                  <td>{who}</td>
                  <td>{operation.procedures.map((procedure) => `${procedure.code} ${procedure.display}`).join("; ")}</td>
                  <td>{t(STATUS[operation.status])}</td>
                  <td>
                    <button
                      type="button"
                      class="secondary"
                      aria-label={`${t("open")}: ${who}`}
                      onClick={() => setSelectedId(operation.id)}
                    >
                      {t("open")}
                    </button>
                  </td>
                </tr>
              );
            })}
          </Table>
        )}
      </Section>
      {selected && (
        <OperationPanel
          key={selected.id + selected.etag}
          operation={selected}
          patient={patientName(patients, selected.patientId)}
          zone={zone}
          session={props.session}
          changed={reload}
        />
      )}
      {holds(props.session, "surgery.privileges") && <Privileges />}
      {holds(props.session, "surgery.plan") && block && (
        <BookingForm
          session={props.session}
          theatres={theatres} day={shownDay} zone={zone} booked={(id) => (setSelectedId(id), reload())} />
      )}
    </>
  );
}

function BookingForm(props: {
  session: Session;
  theatres: TheatreRoom[];
  day: string;
  zone: string;
  booked: (id: string) => void;
}) {
  const [theatreId, setTheatreId] = useState("");
  const [mrn, setMrn] = useState("");
  const [time, setTime] = useState(() => nowIn(props.zone));
  const [minutes, setMinutes] = useState("60");
  const [codes, setCodes] = useState("");
  const [priority, setPriority] = useState<Priority>(Priority.ELECTIVE);
  const [anaesthesia, setAnaesthesia] = useState<AnaesthesiaType>(AnaesthesiaType.GENERAL);
  const [done, setDone] = useState("");
  const [error, attempt, setError] = useAttempt();
  const theatre = props.theatres.find((candidate) => candidate.id === theatreId) ?? props.theatres[0];
  // A coordinator picks the surgeon from the directory; a surgeon books as themself.
  const [staff] = useStaff(holds(props.session, "iam.users.read"));
  const [surgeonId, setSurgeonId] = useState(props.session.me.userId);
  const surgeons = staff.length > 0 ? staff.map((user) => ({ id: user.id, name: user.displayName })) : [];

  async function book(event: Event) {
    event.preventDefault();
    setDone("");
    const answer = await attempt(async () => {
      const found = await client(PatientService).searchPatients({ mrn: mrn.trim(), pageSize: 1 });
      const patient = found.matches[0]?.patient;
      if (!patient) throw new Error(t("noMatches"));
      // An inpatient's operation belongs to the open admission; none: day surgery.
      const { admissions } = await client(AdmissionService).listAdmissions({
        patientId: patient.id,
        status: AdmissionStatus.ADMITTED,
        pageSize: 1,
      });
      const { operation } = await client(SurgeryService).bookOperation({
        requestId: requestId(),
        theatreId: theatre?.id ?? "",
        patientId: patient.id,
        admissionId: admissions[0]?.id ?? "",
        startTime: timestampFromMs(zonedMs(props.day, time, props.zone)),
        durationMinutes: Number(minutes),
        priority,
        anaesthesiaType: anaesthesia,
        procedureCodes: codes
          .split(",")
          .map((code) => code.trim())
          .filter(Boolean),
        primarySurgeonId: surgeonId,
      });
      return operation;
    });
    if (answer?.value) {
      setDone(t("operationBooked"));
      setError(null);
      props.booked(answer.value.id);
    }
  }

  return (
    <Section title={t("bookOperation")} id="book">
      <form onSubmit={book}>
        {surgeons.length > 0 ? (
          <Pick label={t("primarySurgeon")} name="primary_surgeon" value={surgeonId} options={surgeons} onChange={setSurgeonId} />
        ) : (
          <p>{t("bookedAs")}</p>
        )}
        <div class="grid">
          <Pick
            label={t("theatre")}
            name="theatre"
            value={theatre?.id ?? ""}
            options={props.theatres}
            onChange={setTheatreId}
          />
          <Field label={t("patientMrn")} name="mrn" value={mrn} onInput={setMrn} required />
        </div>
        <div class="grid">
          <Field label={t("startTime")} name="start_time" type="time" value={time} onInput={setTime} required />
          <Field
            label={t("durationMinutes")}
            name="duration_minutes"
            value={minutes}
            onInput={setMinutes}
            inputMode="numeric"
          />
        </div>
        <Field label={t("procedureCodes")} name="procedure_codes" value={codes} onInput={setCodes} required />
        <div class="grid">
          <Choice label={t("priority")} name="priority" value={priority} options={PRIORITIES} onChange={setPriority} />
          <Choice
            label={t("anaesthesia")}
            name="anaesthesia_type"
            value={anaesthesia}
            options={ANAESTHESIA}
            onChange={setAnaesthesia}
          />
        </div>
        <button type="submit">{t("book")}</button>
        {done && <p role="status">{done}</p>}
        <ErrorMessage error={error} />
      </form>
    </Section>
  );
}

function OperationPanel(props: {
  operation: Operation;
  patient: string;
  zone: string;
  session: Session;
  changed: () => void;
}) {
  const operation = props.operation;
  const [error, attempt] = useAttempt();
  const surgery = client(SurgeryService);
  const recording = holds(props.session, "surgery.record");
  const open = operation.status === OperationStatus.SCHEDULED || operation.status === OperationStatus.IN_PROGRESS;
  const confirmed = new Set(operation.checklist.map((pause) => pause.phase));
  const next = PHASES.find(([phase]) => !confirmed.has(phase));
  const recorded = new Map(operation.times.map((time) => [time.milestone, time]));
  const nextMilestone = MILESTONES.find(([milestone]) => !recorded.has(milestone));
  const [ticked, setTicked] = useState(new Set<string>());
  const [reason, setReason] = useState("");

  async function confirm(phase: ChecklistPhase) {
    const done = await attempt(() =>
      surgery.confirmChecklistPhase({
        requestId: requestId(),
        operationId: operation.id,
        phase,
        confirmedItems: [...ticked],
      }),
    );
    if (done) props.changed();
  }

  async function record(milestone: Milestone) {
    const done = await attempt(() =>
      surgery.recordMilestone({ requestId: requestId(), operationId: operation.id, milestone }),
    );
    if (done) props.changed();
  }

  async function cancel(event: Event) {
    event.preventDefault();
    const done = await attempt(() =>
      surgery.cancelOperation({ requestId: requestId(), operationId: operation.id, reason, etag: operation.etag }),
    );
    if (done) props.changed();
  }

  return (
    <Section title={`${t("operationTitle")}: ${props.patient}`} id="operation">
      <p data-testid="operation-status">{t(STATUS[operation.status])}</p>
      <ErrorMessage error={error} />
      <h3>{t("checklist")}</h3>
      <ul>
        {operation.checklist.map((pause) => {
          const phase = PHASES.find(([candidate]) => candidate === pause.phase);
          return (
            <li key={pause.phase}>
              {phase ? t(phase[1]) : ""}: {t("confirmedAt")}{" "}
              {pause.confirmTime ? formatTime(timestampMs(pause.confirmTime), props.zone) : ""}
            </li>
          );
        })}
      </ul>
      {recording && open && next && (
        <fieldset>
          <legend>{t(next[1])}</legend>
          {next[2].map(([code, key]) => (
            <label key={code}>
              <input
                type="checkbox"
                name={code}
                checked={ticked.has(code)}
                onChange={(event) => {
                  const now = new Set(ticked);
                  if ((event.target as HTMLInputElement).checked) now.add(code);
                  else now.delete(code);
                  setTicked(now);
                }}
              />
              {t(key)}
            </label>
          ))}
          <button type="button" onClick={() => void confirm(next[0])}>
            {`${t("confirmPhase")}: ${t(next[1])}`}
          </button>
        </fieldset>
      )}
      <h3>{t("milestones")}</h3>
      <ul>
        {MILESTONES.filter(([milestone]) => recorded.has(milestone)).map(([milestone, key]) => {
          const time = recorded.get(milestone)?.time;
          return (
            <li key={milestone}>
              {t(key)}: {time ? formatTime(timestampMs(time), props.zone) : ""}
            </li>
          );
        })}
      </ul>
      {recording && open && nextMilestone && (
        <button type="button" onClick={() => void record(nextMilestone[0])}>
          {`${t("recordNow")}: ${t(nextMilestone[1])}`}
        </button>
      )}
      {recording && operation.status !== OperationStatus.SCHEDULED && <RecordForm operation={operation} />}
      {holds(props.session, "pharmacy.dispense") && operation.status !== OperationStatus.SCHEDULED && (
        <ConsumptionForm operation={operation} />
      )}
      {holds(props.session, "surgery.plan") && operation.status === OperationStatus.SCHEDULED && (
        <form onSubmit={cancel}>
          <Field label={t("cancelReason")} name="cancel_reason" value={reason} onInput={setReason} required />
          <button type="submit" class="secondary">
            {t("cancelOperation")}
          </button>
        </form>
      )}
    </Section>
  );
}

function RecordForm(props: { operation: Operation }) {
  const operation = props.operation;
  const [findings, setFindings] = useState("");
  const [complications, setComplications] = useState("");
  const [bloodLoss, setBloodLoss] = useState("0");
  const [sign, setSign] = useState(true);
  const [reason, setReason] = useState("");
  const [etag, setEtag] = useState("");
  const [saved, setSaved] = useState("");
  const [signed, setSigned] = useState(false);
  const [error, attempt] = useAttempt();

  // The latest version, if one was written: the form starts from it, and a signed record
  // changes only with a reason.
  useEffect(() => {
    void attempt(async () => {
      const { versions } = await client(SurgeryService).listRecordVersions({
        operationId: operation.id,
        kind: RecordKind.OPERATION,
      });
      const latest = versions[versions.length - 1];
      if (!latest || latest.content.case !== "operation") return;
      setFindings(latest.content.value.findings);
      setComplications(latest.content.value.complications);
      setBloodLoss(String(latest.content.value.bloodLossMl));
      setEtag(latest.etag);
      setSigned(versions.some((version) => version.signed));
      setSaved(`${t("recordSaved")} ${latest.version}`);
    });
  }, [operation.id]);

  async function save(event: Event) {
    event.preventDefault();
    const answer = await attempt(() =>
      client(SurgeryService).writeRecord({
        requestId: requestId(),
        operationId: operation.id,
        content: {
          case: "operation",
          value: {
            performedProcedureCodes: operation.procedures.map((procedure) => procedure.code),
            findings,
            complications,
            bloodLossMl: Number(bloodLoss),
          },
        },
        sign,
        amendmentReason: reason,
        etag,
      }),
    );
    const record = answer?.value.record;
    if (record) {
      setEtag(record.etag);
      setSigned(signed || record.signed);
      setReason("");
      setSaved(`${t("recordSaved")} ${record.version}`);
    }
  }

  return (
    <form onSubmit={save}>
      <h3>{t("operationRecord")}</h3>
      <Field label={t("findings")} name="findings" value={findings} onInput={setFindings} />
      <Field label={t("complicationsText")} name="complications" value={complications} onInput={setComplications} />
      <Field label={t("bloodLoss")} name="blood_loss_ml" value={bloodLoss} onInput={setBloodLoss} inputMode="numeric" />
      <label>
        <input type="checkbox" name="sign" checked={sign} onChange={(event) => setSign((event.target as HTMLInputElement).checked)} />
        {t("signRecord")}
      </label>
      {signed && (
        <Field label={t("amendmentReason")} name="amendment_reason" value={reason} onInput={setReason} required />
      )}
      <button type="submit">{t("saveRecord")}</button>
      {saved && <p role="status">{saved}</p>}
      <ErrorMessage error={error} />
    </form>
  );
}

function ConsumptionForm(props: { operation: Operation }) {
  const operation = props.operation;
  const [items] = useItems();
  const [warehouses, setWarehouses] = useState<Warehouse[]>([]);
  const [warehouseId, setWarehouseId] = useState("");
  const [lines, setLines] = useState<ConsumedItem[]>([]);
  const [consumed, setConsumed] = useState<ConsumedItem[]>([]);
  const [error, attempt] = useAttempt();
  const warehouse = warehouses.find((candidate) => candidate.id === warehouseId) ?? warehouses[0];

  useEffect(() => {
    void attempt(async () => {
      const [{ warehouses: found }, pack] = await Promise.all([
        client(InventoryService).listWarehouses({}),
        client(SurgeryService).getOperationPack({ operationId: operation.id }),
      ]);
      setWarehouses(found.filter((candidate) => candidate.kind === WarehouseKind.OPERATING_BLOCK));
      setLines(pack.lines);
      setConsumed(pack.consumed);
    });
  }, [operation.id]);

  async function issue(event: Event) {
    event.preventDefault();
    const answer = await attempt(() =>
      client(SurgeryService).recordConsumption({
        requestId: requestId(),
        operationId: operation.id,
        warehouseId: warehouse?.id ?? "",
        lines: lines.filter((line) => Number(line.quantity) > 0),
      }),
    );
    if (answer) setConsumed(answer.value.consumed);
  }

  return (
    <form onSubmit={issue}>
      <h3>{t("consumption")}</h3>
      <Pick label={t("warehouse")} name="warehouse" value={warehouse?.id ?? ""} options={warehouses} onChange={setWarehouseId} />
      {lines.map((line, index) => (
        <Field
          key={line.itemId}
          label={itemName(items, line.itemId)}
          name={`quantity-${index}`}
          value={line.quantity}
          inputMode="numeric"
          onInput={(quantity) => setLines(lines.map((other, at) => (at === index ? { ...other, quantity } : other)))}
        />
      ))}
      <button type="submit">{t("issueConsumption")}</button>
      {consumed.length > 0 && (
        <p role="status">
          {t("consumed")}:{" "}
          {consumed.map((line) => `${itemName(items, line.itemId)} ${formatNumber(line.quantity)}`).join(", ")}
        </p>
      )}
      <ErrorMessage error={error} />
    </form>
  );
}

const PRIVILEGE_STATUS: Record<PrivilegeStatus, Key> = {
  [PrivilegeStatus.UNSPECIFIED]: "unknown",
  [PrivilegeStatus.ACTIVE]: "active",
  [PrivilegeStatus.SUSPENDED]: "suspended",
  [PrivilegeStatus.REVOKED]: "revoked",
};

/** The medical office's view: surgeons' privileges (grant, suspend, reinstate, revoke with a
 * reason) and the emergency overrides to review. */
function Privileges() {
  const [staff, staffError] = useStaff(true);
  const [privileges, setPrivileges] = useState<Privilege[]>([]);
  const [overrides, setOverrides] = useState<PrivilegeOverride[]>([]);
  const [surgeonId, setSurgeonId] = useState("");
  const [grade, setGrade] = useState("3");
  const [until, setUntil] = useState("");
  const [reason, setReason] = useState("");
  const [version, setVersion] = useState(0);
  const [error, attempt] = useAttempt();
  const surgery = client(SurgeryService);
  const surgeon = surgeonId || staff[0]?.id || "";

  useEffect(() => {
    void attempt(async () => {
      const [listed, review] = await Promise.all([
        surgery.listPrivileges({}),
        surgery.listPrivilegeOverrides({ unreviewedOnly: true }),
      ]);
      setPrivileges(listed.privileges);
      setOverrides(review.overrides);
    });
  }, [version]);

  async function grant(event: Event) {
    event.preventDefault();
    const done = await attempt(() =>
      surgery.grantPrivilege({
        requestId: requestId(),
        surgeonId: surgeon,
        extent: { case: "maxGrade", value: Number(grade) },
        validUntil: until,
      }),
    );
    if (done) setVersion((current) => current + 1);
  }

  async function change(privilege: Privilege, status: PrivilegeStatus) {
    const done = await attempt(() =>
      surgery.changePrivilegeStatus({
        requestId: requestId(),
        privilegeId: privilege.id,
        status,
        reason,
        etag: privilege.etag,
      }),
    );
    if (done) setVersion((current) => current + 1);
  }

  async function review(item: PrivilegeOverride) {
    const done = await attempt(() =>
      surgery.reviewPrivilegeOverride({ requestId: requestId(), overrideId: item.id, note: reason }),
    );
    if (done) setVersion((current) => current + 1);
  }

  const people = staff.map((user) => ({ id: user.id, name: user.displayName }));
  return (
    <Section title={t("surgicalPrivileges")} id="privileges">
      <ErrorMessage error={staffError} />
      <ErrorMessage error={error} />
      <form onSubmit={grant}>
        <div class="grid">
          <Pick label={t("surgeonLabel")} name="surgeon" value={surgeon} options={people} onChange={setSurgeonId} />
          <Field label={t("maxGrade")} name="max_grade" value={grade} onInput={setGrade} inputMode="numeric" />
          <Field label={t("validUntil")} name="valid_until" type="date" value={until} onInput={setUntil} />
        </div>
        <button type="submit">{t("grantPrivilege")}</button>
      </form>
      <Field label={t("reason")} name="privilege_reason" value={reason} onInput={setReason} />
      <Table columns={["surgeonLabel", "maxGrade", "validUntil", "status", "actions"]}>
        {privileges.map((privilege) => {
          const who = staffName(staff, privilege.surgeonId);
          const extent = privilege.extent.case === "procedureCode" ? privilege.extent.value : String(privilege.extent.value ?? "");
          return (
            <tr key={privilege.id}>
              <td>{who}</td>
              <td>{extent}</td>
              <td>{privilege.validUntil}</td>
              <td>
                {t(PRIVILEGE_STATUS[privilege.status])} {privilege.statusReason}
              </td>
              <td>
                {privilege.status === PrivilegeStatus.ACTIVE && (
                  <button type="button" class="secondary" onClick={() => void change(privilege, PrivilegeStatus.SUSPENDED)}>
                    {`${t("suspend")}: ${who} ${extent}`}
                  </button>
                )}
                {privilege.status === PrivilegeStatus.SUSPENDED && (
                  <button type="button" class="secondary" onClick={() => void change(privilege, PrivilegeStatus.ACTIVE)}>
                    {`${t("reinstate")}: ${who} ${extent}`}
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </Table>
      <h3>{t("overridesToReview")}</h3>
      {overrides.length === 0 ? (
        <p>{t("noOverrides")}</p>
      ) : (
        <Table columns={["surgeonLabel", "procedures", "reason", "actions"]}>
          {overrides.map((item) => (
            <tr key={item.id}>
              <td>{staffName(staff, item.surgeonId)}</td>
              <td>{item.procedureCodes.join(", ")}</td>
              <td>{item.reason}</td>
              <td>
                <button type="button" class="secondary" onClick={() => void review(item)}>
                  {t("markReviewed")}
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Section>
  );
}
