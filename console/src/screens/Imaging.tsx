// Imaging: the facility's examinations by modality and room (most urgent first), each
// scheduled into a room of its modality, started and completed with the study's UID (or
// cancelled with a reason) by the radiographer; the radiologist's report drafted, signed, and
// amended with a reason as a new version that keeps the earlier one.
import { useEffect, useState } from "preact/hooks";
import { timestampFromDate, timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, type Session } from "../api";
import { FacilityService, type Facility } from "../gen/openhmis/core/v1/core_pb";
import {
  ExamStatus,
  ImagingService,
  Modality,
  Priority,
  type Exam,
  type Report,
  type Room,
} from "../gen/openhmis/imaging/v1/imaging_pb";
import { formatTime, t, type Key } from "../i18n";
import { patientName, usePatients } from "../patients";
import { Choice, ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";

const STATUS: Record<ExamStatus, Key> = {
  [ExamStatus.UNSPECIFIED]: "unknown",
  [ExamStatus.ORDERED]: "labOrdered",
  [ExamStatus.SCHEDULED]: "examScheduled",
  [ExamStatus.IN_PROGRESS]: "labInProgress",
  [ExamStatus.PERFORMED]: "examPerformed",
  [ExamStatus.PRELIMINARY]: "labPreliminary",
  [ExamStatus.FINAL]: "labFinal",
  [ExamStatus.CANCELLED]: "labCancelled",
};

const PRIORITY: Record<Priority, Key> = {
  [Priority.UNSPECIFIED]: "unknown",
  [Priority.ROUTINE]: "routine",
  [Priority.URGENT]: "urgent",
  [Priority.EMERGENCY]: "emergency",
};

const MODALITIES: readonly (readonly [Modality, Key])[] = [
  [Modality.UNSPECIFIED, "everyModality"],
  [Modality.XRAY, "modalityXray"],
  [Modality.ULTRASOUND, "modalityUltrasound"],
  [Modality.CT, "modalityCt"],
  [Modality.MRI, "modalityMri"],
  [Modality.MAMMOGRAPHY, "modalityMammography"],
  [Modality.FLUOROSCOPY, "modalityFluoroscopy"],
];

function modalityName(modality: Modality): string {
  const found = MODALITIES.find(([candidate]) => candidate === modality);
  return found && modality !== Modality.UNSPECIFIED ? t(found[1]) : "—";
}

function ReportText(props: { report: Report; zone: string; title: string }) {
  const { report } = props;
  return (
    <article aria-label={props.title}>
      <header>
        {props.title} · v{report.version}
        {report.signTime && ` · ${t("signed")} ${formatTime(timestampMs(report.signTime), props.zone)}`}
        {report.signedBy && !report.intact && <strong class="error"> · {t("reportAltered")}</strong>}
      </header>
      {report.amendmentReason && (
        <p>
          {t("amendmentReason")}: {report.amendmentReason}
        </p>
      )}
      <p>
        <strong>{t("reportFindings")}:</strong> {report.findings}
      </p>
      <p>
        <strong>{t("conclusion")}:</strong> {report.conclusion}
      </p>
    </article>
  );
}

function TextArea(props: { label: string; name: string; value: string; onInput: (value: string) => void }) {
  return (
    <label>
      {props.label}
      <textarea
        name={props.name}
        rows={4}
        value={props.value}
        onInput={(event) => props.onInput((event.target as HTMLTextAreaElement).value)}
      />
    </label>
  );
}

/** The imaging department's worklist and examinations. */
export function Imaging(props: { session: Session }) {
  const [error, attempt] = useAttempt();
  const [facilities, setFacilities] = useState<Facility[]>([]);
  const [facilityId, setFacilityId] = useState("");
  const [rooms, setRooms] = useState<Room[]>([]);
  const [modality, setModality] = useState(Modality.UNSPECIFIED);
  const [roomFilter, setRoomFilter] = useState("");
  const [exams, setExams] = useState<Exam[]>([]);
  const [selectedId, setSelectedId] = useState("");
  const [room, setRoom] = useState("");
  const [when, setWhen] = useState("");
  const [uid, setUid] = useState("");
  const [technique, setTechnique] = useState("");
  const [cancelReason, setCancelReason] = useState("");
  const [findings, setFindings] = useState("");
  const [conclusion, setConclusion] = useState("");
  const [amendment, setAmendment] = useState("");
  const [done, setDone] = useState("");
  const patients = usePatients(exams.map((exam) => exam.patientId));
  const facility = facilityId || facilities[0]?.id || "";
  const zone = facilities.find((candidate) => candidate.id === facility)?.timeZone ?? "UTC";
  const canReport = holds(props.session, "imaging.report");

  useEffect(() => {
    void attempt(async () => {
      const found = await client(FacilityService).listFacilities({ pageSize: 100 });
      setFacilities(found.facilities);
    });
  }, []);

  useEffect(() => {
    if (!facility) return;
    void attempt(async () => {
      const listed = await client(ImagingService).listRooms({ facilityId: facility });
      setRooms(listed.rooms.filter((candidate) => candidate.active));
    });
  }, [facility]);

  async function list() {
    if (!facility) return;
    const answer = await attempt(() =>
      client(ImagingService).listWorklist({ facilityId: facility, modality, roomId: roomFilter }),
    );
    if (answer) setExams(answer.value.exams);
  }

  useEffect(() => {
    void list();
  }, [facility, modality, roomFilter]);

  const current = exams.find((exam) => exam.id === selectedId) ?? null;

  function open(exam: Exam) {
    setSelectedId(exam.id);
    setRoom(exam.roomId);
    setDone("");
    const draft = exam.amendment ?? (exam.report?.signedBy ? undefined : exam.report);
    setFindings(draft?.findings ?? "");
    setConclusion(draft?.conclusion ?? "");
    setAmendment(draft?.amendmentReason ?? "");
  }

  function show(exam: Exam | undefined, message: Key) {
    if (!exam) return;
    setExams((listed) =>
      listed.some((candidate) => candidate.id === exam.id)
        ? listed.map((candidate) => (candidate.id === exam.id ? exam : candidate))
        : [...listed, exam],
    );
    setDone(t(message));
  }

  async function schedule(exam: Exam) {
    const answer = await attempt(() =>
      client(ImagingService).scheduleExam({
        requestId: requestId(),
        examId: exam.id,
        roomId: room,
        scheduledTime: timestampFromDate(when ? new Date(when) : new Date()),
      }),
    );
    if (answer) show(answer.value.exam, "examScheduledDone");
  }

  async function start(exam: Exam) {
    const answer = await attempt(() => client(ImagingService).startExam({ requestId: requestId(), examId: exam.id }));
    if (answer) show(answer.value.exam, "examStartedDone");
  }

  async function complete(exam: Exam) {
    const answer = await attempt(() =>
      client(ImagingService).completeExam({
        requestId: requestId(),
        examId: exam.id,
        studyInstanceUid: uid.trim(),
        techniqueNote: technique,
      }),
    );
    if (answer) show(answer.value.exam, "examPerformedDone");
  }

  async function cancel(exam: Exam) {
    const answer = await attempt(() =>
      client(ImagingService).cancelExam({ requestId: requestId(), examId: exam.id, reason: cancelReason }),
    );
    if (answer) show(answer.value.exam, "examCancelledDone");
  }

  async function save(exam: Exam) {
    const answer = await attempt(() =>
      client(ImagingService).saveReport({
        requestId: requestId(),
        examId: exam.id,
        findings,
        conclusion,
        amendmentReason: exam.report?.signedBy ? amendment : "",
      }),
    );
    if (answer) show(answer.value.exam, "reportSaved");
  }

  async function sign(exam: Exam) {
    const draft = exam.amendment ?? exam.report;
    if (!draft) return;
    const answer = await attempt(() =>
      client(ImagingService).signReport({ requestId: requestId(), examId: exam.id, reportId: draft.id }),
    );
    if (answer) show(answer.value.exam, "reportSignedDone");
  }

  const roomName = (id: string) => rooms.find((candidate) => candidate.id === id)?.name ?? "";
  const roomsFor = (exam: Exam) =>
    rooms.filter((candidate) => exam.modality === Modality.UNSPECIFIED || candidate.modality === exam.modality);
  const waiting = (exam: Exam) => exam.status === ExamStatus.ORDERED || exam.status === ExamStatus.SCHEDULED;
  const performed = (exam: Exam) =>
    exam.status === ExamStatus.PERFORMED || exam.status === ExamStatus.PRELIMINARY || exam.status === ExamStatus.FINAL;
  const draftOf = (exam: Exam) => exam.amendment ?? (exam.report && !exam.report.signedBy ? exam.report : undefined);

  return (
    <>
      <Section title={t("imagingScreen")} id="imaging">
        <div class="grid">
          <Pick
            label={t("facility")}
            name="facility"
            value={facility}
            options={facilities.map((candidate) => ({ id: candidate.id, name: candidate.name }))}
            onChange={setFacilityId}
          />
          <Choice label={t("modality")} name="modality" value={modality} options={MODALITIES} onChange={setModality} />
          <Pick
            label={t("examRoom")}
            name="room-filter"
            value={roomFilter}
            options={[{ id: "", name: t("everyRoom") }, ...rooms.map((r) => ({ id: r.id, name: r.name }))]}
            onChange={setRoomFilter}
          />
        </div>
        <button type="button" class="secondary" onClick={list}>
          {t("refresh")}
        </button>
        {done && <p role="status">{done}</p>}
        <ErrorMessage error={error} />
        <Table columns={["ordered", "priority", "patient", "examination", "modality", "examRoom", "status", "actions"]} caption={t("worklist")}>
          {exams.map((exam) => (
            <tr key={exam.id}>
              <td>{exam.orderTime ? formatTime(timestampMs(exam.orderTime), zone) : ""}</td>
              <td>{t(PRIORITY[exam.priority])}</td>
              <th scope="row">{patientName(patients, exam.patientId)}</th>
              <td>
                {exam.serviceName} <small>{exam.accession}</small>
              </td>
              <td>{modalityName(exam.modality)}</td>
              <td>
                {roomName(exam.roomId)}
                {exam.scheduledTime && ` ${formatTime(timestampMs(exam.scheduledTime), zone)}`}
              </td>
              <td>{t(STATUS[exam.status])}</td>
              <td>
                <button
                  type="button"
                  class="secondary"
                  aria-label={`${t("open")}: ${exam.serviceName} ${patientName(patients, exam.patientId)}`}
                  onClick={() => open(exam)}
                >
                  {t("open")}
                </button>
              </td>
            </tr>
          ))}
        </Table>
        {exams.length === 0 && <p>{t("noOrders")}</p>}
      </Section>
      {current && (
        <Section title={`${current.serviceName}: ${patientName(patients, current.patientId)}`} id="exam">
          <p>
            {t(PRIORITY[current.priority])} · {t(STATUS[current.status])} · {current.reason}
          </p>
          <p>
            {t("accession")}: {current.accession} · {t("studyUid")}: <code>{current.studyInstanceUid}</code>
            {current.viewerUrl && (
              <>
                {" "}
                · <a href={current.viewerUrl} target="_blank" rel="noopener noreferrer">{t("openViewer")}</a>
              </>
            )}
          </p>
          {waiting(current) && (
            <>
              <div class="grid">
                <Pick
                  label={t("examRoom")}
                  name="room"
                  value={room}
                  options={[{ id: "", name: "—" }, ...roomsFor(current).map((r) => ({ id: r.id, name: r.name }))]}
                  onChange={setRoom}
                />
                <Field label={t("scheduledTime")} name="scheduled" type="datetime-local" value={when} onInput={setWhen} />
              </div>
              <div role="group">
                <button type="button" disabled={!room} onClick={() => schedule(current)}>
                  {t("scheduleExam")}
                </button>
                {current.status === ExamStatus.SCHEDULED && (
                  <button type="button" onClick={() => start(current)}>
                    {t("startExam")}
                  </button>
                )}
              </div>
            </>
          )}
          {current.status === ExamStatus.IN_PROGRESS && (
            <>
              <div class="grid">
                <Field label={t("modalityStudyUid")} name="study-uid" value={uid} onInput={setUid} />
                <Field label={t("techniqueNote")} name="technique" value={technique} onInput={setTechnique} />
              </div>
              <button type="button" onClick={() => complete(current)}>
                {t("completeExam")}
              </button>
            </>
          )}
          {(waiting(current) || current.status === ExamStatus.IN_PROGRESS) && (
            <div class="grid">
              <Field label={t("cancelReason")} name="cancel-reason" value={cancelReason} onInput={setCancelReason} />
              <button type="button" class="secondary" disabled={!cancelReason.trim()} onClick={() => cancel(current)}>
                {t("cancelExam")}
              </button>
            </div>
          )}
          {current.report?.signedBy && <ReportText report={current.report} zone={zone} title={t("signedReport")} />}
          {current.earlierReports.map((report) => (
            <ReportText key={report.id} report={report} zone={zone} title={t("earlierReport")} />
          ))}
          {canReport && performed(current) && (
            <>
              {draftOf(current) && <p>{t("draftSaved")}</p>}
              <TextArea label={t("reportFindings")} name="findings" value={findings} onInput={setFindings} />
              <TextArea label={t("conclusion")} name="conclusion" value={conclusion} onInput={setConclusion} />
              {current.report?.signedBy && (
                <Field label={t("amendmentReason")} name="amendment" value={amendment} onInput={setAmendment} />
              )}
              <div role="group">
                <button type="button" disabled={!findings.trim() || !conclusion.trim()} onClick={() => save(current)}>
                  {current.report?.signedBy ? t("saveAmendment") : t("saveDraft")}
                </button>
                {draftOf(current) && (
                  <button type="button" onClick={() => sign(current)}>
                    {t("signReport")}
                  </button>
                )}
              </div>
            </>
          )}
        </Section>
      )}
    </>
  );
}
