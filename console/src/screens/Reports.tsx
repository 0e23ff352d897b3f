// The statistics office's reports for a facility and a period: movement analysis by ward or
// specialty (with the occupancy chart), Form 16, the registers (admissions, transfers,
// discharges) with CSV export, and the submissions to the statistics institute.
import { useEffect, useState } from "preact/hooks";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, type Session } from "../api";
import { Printout } from "../gen/openhmis/documents/v1/documents_pb";
import { PrintButton } from "./Documents";
import { FacilityService, type Facility } from "../gen/openhmis/core/v1/core_pb";
import {
  MovementGrouping,
  RegisterKind,
  ReportKind,
  StatisticsService,
  SubmissionStatus,
  SurgicalGrouping,
  type GetSurgicalActivityResponse,
  type GetTheatreUtilisationResponse,
  type Form16Line,
  type MovementLine,
  type RegisterEntry,
  type ReportSchedule,
  type Submission,
} from "../gen/openhmis/statistics/v1/statistics_pb";
import { SurgeryService, type Theatre } from "../gen/openhmis/surgery/v1/surgery_pb";
import { formatNumber, formatTime, t, today, type Key } from "../i18n";
import { useWards } from "../places";
import { Choice, ErrorMessage, Field, Pick, Section, SubNav, Table } from "../ui";

type Tab = "movement" | "form16" | "registers" | "surgery" | "submissions";
const TABS: Tab[] = ["movement", "form16", "registers", "surgery", "submissions"];
const TAB_TITLES: Record<Tab, Key> = {
  movement: "movement",
  form16: "form16",
  registers: "registers",
  surgery: "surgicalActivity",
  submissions: "submissions",
};

/** The statistics office's views: the daily census, then the reports. */
export const STATISTICS_VIEWS: readonly (readonly [string, Key])[] = [
  ["#/statistics", "census"],
  ...TABS.map((name) => [`#/reports/${name}`, TAB_TITLES[name]] as const),
];

const groupings: [MovementGrouping, Key][] = [
  [MovementGrouping.WARD, "byWard"],
  [MovementGrouping.SPECIALTY, "bySpecialty"],
];
const surgicalGroupings: [SurgicalGrouping, Key][] = [
  [SurgicalGrouping.SPECIALTY, "bySpecialty"],
  [SurgicalGrouping.GRADE, "grade"],
  [SurgicalGrouping.PRIORITY, "priority"],
  [SurgicalGrouping.SURGEON, "surgeon"],
];
const registerKinds: [RegisterKind, Key][] = [
  [RegisterKind.ADMISSIONS, "admissionsRegister"],
  [RegisterKind.TRANSFERS, "transfersRegister"],
  [RegisterKind.DISCHARGES, "dischargesRegister"],
];
const reportKinds: [ReportKind, Key][] = [
  [ReportKind.MOVEMENT, "movement"],
  [ReportKind.FORM16, "form16"],
];
const statusKey: Record<number, Key> = {
  [SubmissionStatus.PENDING]: "pending",
  [SubmissionStatus.SENT]: "sent",
  [SubmissionStatus.ACCEPTED]: "accepted",
  [SubmissionStatus.REJECTED]: "rejected",
};

/** A link that saves `csv` as `filename`. */
function CsvLink(props: { csv: string; filename: string }) {
  const [href, setHref] = useState("");
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([props.csv], { type: "text/csv;charset=utf-8" }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [props.csv]);
  if (!props.csv) return null;
  return (
    <a href={href} download={props.filename} role="button" class="outline">
      {t("downloadCsv")}
    </a>
  );
}

/** Horizontal bars of the occupancy per line (an SVG with a text equivalent in the table). */
function OccupancyChart(props: { lines: { name: string; value: number }[] }) {
  const height = props.lines.length * 28 + 10;
  const max = Math.max(100, ...props.lines.map((line) => line.value));
  return (
    <figure>
      <svg role="img" aria-label={t("occupancyChart")} viewBox={`0 0 600 ${height}`} width="100%">
        {props.lines.map((line, index) => (
          <g key={line.name} transform={`translate(0 ${index * 28 + 5})`}>
            <text x="0" y="16" font-size="13" fill="currentColor">
              {line.name}
            </text>
            <rect x="200" y="3" height="18" width={(line.value / max) * 340} fill="#0b6bb0" />
            <text x={205 + (line.value / max) * 340} y="16" font-size="13" fill="currentColor">
              {formatNumber(line.value.toFixed(1))}
            </text>
          </g>
        ))}
      </svg>
      <figcaption>{t("occupancyChart")}</figcaption>
    </figure>
  );
}

export function Reports(props: { tab: string; session: Session }) {
  const tab: Tab = (TABS as string[]).includes(props.tab) ? (props.tab as Tab) : "movement";
  const [facilities, setFacilities] = useState<Facility[]>([]);
  const [facilityId, setFacilityId] = useState("");
  const facility = facilities.find((candidate) => candidate.id === facilityId) ?? facilities[0];
  const zone = facility?.timeZone ?? "UTC";
  const [wards] = useWards();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [grouping, setGrouping] = useState(MovementGrouping.WARD);
  const [registerKind, setRegisterKind] = useState(RegisterKind.ADMISSIONS);
  const [reportKind, setReportKind] = useState(ReportKind.MOVEMENT);
  const [movement, setMovement] = useState<{ lines: MovementLine[]; csv: string } | null>(null);
  const [form16, setForm16] = useState<{ lines: Form16Line[]; csv: string; cases: number; days: number } | null>(null);
  const [register, setRegister] = useState<{ entries: RegisterEntry[]; csv: string } | null>(null);
  const [submissions, setSubmissions] = useState<Submission[]>([]);
  const [schedules, setSchedules] = useState<ReportSchedule[]>([]);
  const [scheduleDay, setScheduleDay] = useState("5");
  const [scheduleHour, setScheduleHour] = useState("6");
  const [scheduleOn, setScheduleOn] = useState(true);
  const [surgicalGrouping, setSurgicalGrouping] = useState(SurgicalGrouping.SPECIALTY);
  const [surgery, setSurgery] = useState<{
    activity: GetSurgicalActivityResponse;
    utilisation: GetTheatreUtilisationResponse;
    theatres: Theatre[];
  } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  const start = from || `${today(zone).slice(0, 8)}01`;
  const end = to || today(zone);
  const wardName = (id: string) => (id ? wards.find((ward) => ward.id === id)?.name ?? id.slice(0, 8) : t("total"));

  useEffect(() => {
    client(FacilityService)
      .listFacilities({ pageSize: 100 })
      .then((answer) => setFacilities(answer.facilities))
      .catch(setError);
  }, []);

  useEffect(() => {
    if (!facility) return;
    setError(null);
    const statistics = client(StatisticsService);
    const period = { facilityId: facility.id, fromDate: start, toDate: end };
    const load = async () => {
      if (tab === "movement") {
        const answer = await statistics.getMovementAnalysis({ ...period, grouping });
        setMovement({ lines: answer.lines, csv: answer.csv });
      } else if (tab === "form16") {
        const answer = await statistics.getForm16(period);
        setForm16({ lines: answer.lines, csv: answer.csv, cases: answer.totalCases, days: answer.totalDays });
      } else if (tab === "registers") {
        const answer = await statistics.listRegister({ ...period, register: registerKind, pageSize: 500 });
        setRegister({ entries: answer.entries, csv: answer.csv });
      } else if (tab === "surgery") {
        const [activity, utilisation, { theatres }] = await Promise.all([
          statistics.getSurgicalActivity({ ...period, grouping: surgicalGrouping }),
          statistics.getTheatreUtilisation(period),
          client(SurgeryService).listTheatres({ facilityId: facility.id }),
        ]);
        setSurgery({ activity, utilisation, theatres });
      } else {
        const [answer, scheduled] = await Promise.all([
          statistics.listSubmissions({ facilityId: facility.id, pageSize: 50 }),
          statistics.listReportSchedules({ facilityId: facility.id }),
        ]);
        setSubmissions(answer.submissions);
        setSchedules(scheduled.schedules);
      }
    };
    load().catch(setError);
  }, [tab, facility?.id, start, end, grouping, registerKind, surgicalGrouping, generation]);

  return (
    <>
      <h1>{t("statistics")}</h1>
      <SubNav label={t("statistics")} current={`#/reports/${tab}`} views={STATISTICS_VIEWS} />
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setGeneration(generation + 1);
        }}
      >
        <div class="grid">
          <Pick label={t("facility")} name="facility" value={facility?.id ?? ""} options={facilities} onChange={setFacilityId} />
          <Field label={t("from")} name="from_date" type="date" value={start} onInput={setFrom} />
          <Field label={t("to")} name="to_date" type="date" value={end} onInput={setTo} />
          {tab === "movement" && (
            <Choice label={t("grouping")} name="grouping" value={grouping} options={groupings} onChange={setGrouping} />
          )}
          {tab === "surgery" && (
            <Choice
              label={t("grouping")}
              name="surgical_grouping"
              value={surgicalGrouping}
              options={surgicalGroupings}
              onChange={setSurgicalGrouping}
            />
          )}
          {tab === "registers" && (
            <Choice label={t("registerKind")} name="register" value={registerKind} options={registerKinds} onChange={setRegisterKind} />
          )}
        </div>
        <button type="submit">{t("show")}</button>
      </form>
      <ErrorMessage error={error} />
      {tab === "surgery" && surgery && (
        <>
          <Section title={t("surgicalActivity")} id="surgical-activity">
            <Table columns={["groupColumn", "completed", "cancelled", "openCount", "cancellationRate"]}>
              {surgery.activity.lines.map((line) => (
                <tr key={line.group}>
                  <th scope="row">{line.group || t("total")}</th>
                  <td>{line.completed}</td>
                  <td>{line.cancelled}</td>
                  <td>{line.open}</td>
                  <td>{formatNumber(line.cancellationRate)}</td>
                </tr>
              ))}
            </Table>
            <p>
              {t("unplannedReturns")}: <span data-testid="unplanned-returns">{surgery.activity.unplannedReturns}</span>
            </p>
            <CsvLink csv={surgery.activity.csv} filename={`surgical-activity-${start}-${end}.csv`} />
          </Section>
          <Section title={t("utilisation")} id="utilisation">
            <Table columns={["theatre", "operationsCount", "bookedMinutes", "usedMinutes", "lateStarts", "averageTurnover"]}>
              {surgery.utilisation.lines.map((line) => (
                <tr key={line.theatreId}>
                  <th scope="row">
                    {surgery.theatres.find((theatre) => theatre.id === line.theatreId)?.name ?? line.theatreId.slice(0, 8)}
                  </th>
                  <td>{line.operations}</td>
                  <td>{String(line.bookedMinutes)}</td>
                  <td>{String(line.usedMinutes)}</td>
                  <td>{line.lateStarts}</td>
                  <td>{formatNumber(line.averageTurnoverMinutes)}</td>
                </tr>
              ))}
            </Table>
            <CsvLink csv={surgery.utilisation.csv} filename={`theatre-utilisation-${start}-${end}.csv`} />
          </Section>
        </>
      )}
      {tab === "movement" && movement && (
        <Section title={t("movement")} id="movement">
          <OccupancyChart
            lines={movement.lines.map((line) => ({
              name: line.specialtyCode && grouping === MovementGrouping.SPECIALTY ? line.specialtyCode : wardName(line.departmentId),
              value: Number(line.bedOccupancyPercent) || 0,
            }))}
          />
          <Table
            columns={["ward", "beds", "admittedCount", "transferredIn", "transferredOut", "dischargedCount", "deaths", "bedDays", "averageStay", "occupancy", "turnover", "mortality"]}
          >
            {movement.lines.map((line) => (
              <tr key={`${line.departmentId}-${line.specialtyCode}`}>
                <th scope="row">
                  {grouping === MovementGrouping.SPECIALTY && line.specialtyCode ? line.specialtyCode : wardName(line.departmentId)}
                </th>
                <td>{line.beds}</td>
                <td>{line.admitted}</td>
                <td>{line.transferredIn}</td>
                <td>{line.transferredOut}</td>
                <td>{line.discharged}</td>
                <td>{line.deceased}</td>
                <td>{formatNumber(line.bedDays)}</td>
                <td>{formatNumber(line.averageLengthOfStay)}</td>
                <td>{formatNumber(line.bedOccupancyPercent)}</td>
                <td>{formatNumber(line.bedTurnover)}</td>
                <td>{formatNumber(line.mortalityPercent)}</td>
              </tr>
            ))}
          </Table>
          <CsvLink csv={movement.csv} filename={`movement-${start}-${end}.csv`} />
        </Section>
      )}
      {tab === "form16" && form16 && (
        <Section title={t("form16")} id="form16">
          <Table columns={["chapter", "sex", "ageGroup", "cases", "days"]}>
            {form16.lines.map((line, index) => (
              <tr key={index}>
                <td>{line.chapter}</td>
                <td>{line.sex}</td>
                <td>{line.ageGroup}</td>
                <td>{line.cases}</td>
                <td>{line.days}</td>
              </tr>
            ))}
            <tr>
              <th scope="row" colSpan={3}>
                {t("total")}
              </th>
              <td>{form16.cases}</td>
              <td>{form16.days}</td>
            </tr>
          </Table>
          <CsvLink csv={form16.csv} filename={`form16-${start}-${end}.csv`} />
          {holds(props.session, "documents.write") && facility && (
            <PrintButton
              request={{ printout: Printout.FORM16, facilityId: facility.id, fromDate: start, toDate: end }}
              label="printForm16"
            />
          )}
        </Section>
      )}
      {tab === "registers" && register && (
        <Section title={t("registers")} id="registers">
          <CsvLink csv={register.csv} filename={`register-${start}-${end}.csv`} />
          <Table columns={["admissionNumber", "when", "ward", "diagnosis", "lengthOfStay"]}>
            {register.entries.map((entry, index) => (
              <tr key={`${entry.admissionId}-${index}`}>
                <td>{entry.admissionNumber}</td>
                <td>{entry.time && formatTime(timestampMs(entry.time), zone)}</td>
                <td>{wardName(entry.departmentId)}</td>
                <td>{entry.diagnosisCode}</td>
                <td>{formatNumber(entry.lengthOfStayDays)}</td>
              </tr>
            ))}
          </Table>
        </Section>
      )}
      {tab === "submissions" && (
        <Section title={t("submissions")} id="submissions">
          <Table columns={["report", "from", "to", "revision", "status", "receipt"]}>
            {submissions.map((submission) => (
              <tr key={submission.id}>
                <td>{t(reportKinds.find(([kind]) => kind === submission.report)?.[1] ?? "unknown")}</td>
                <td>{submission.fromDate}</td>
                <td>{submission.toDate}</td>
                <td>{submission.revision}</td>
                <td>
                  {t(statusKey[submission.status] ?? "unknown")}
                  {submission.lastError && <small> · {submission.lastError}</small>}
                  {submission.rejectionReasons.length > 0 && <small> · {submission.rejectionReasons.join("; ")}</small>}
                </td>
                <td>{submission.receipt}</td>
              </tr>
            ))}
          </Table>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              if (!facility) return;
              client(StatisticsService)
                .submitReport({ requestId: requestId(), report: reportKind, facilityId: facility.id, fromDate: start, toDate: end })
                .then(() => setGeneration(generation + 1))
                .catch(setError);
            }}
          >
            <Choice label={t("report")} name="report" value={reportKind} options={reportKinds} onChange={setReportKind} />
            <button type="submit">{t("submit")}</button>
          </form>
        </Section>
      )}
      {tab === "submissions" && (
        <Section title={t("reportSchedules")} id="schedules">
          <p>
            <small>{t("reportSchedulesHint")}</small>
          </p>
          <Table columns={["report", "dayOfMonth", "hour", "status", "nextMonth", "nextRun"]}>
            {schedules.map((schedule) => (
              <tr key={schedule.report} data-schedule={ReportKind[schedule.report]}>
                <td>{t(reportKinds.find(([kind]) => kind === schedule.report)?.[1] ?? "unknown")}</td>
                <td>{schedule.dayOfMonth}</td>
                <td>{`${String(schedule.hour).padStart(2, "0")}:00`}</td>
                <td>
                  {t(schedule.enabled ? "scheduleOn" : "scheduleOff")}
                  {schedule.lastError && <small class="error"> · {schedule.lastError}</small>}
                </td>
                <td>{schedule.nextPeriodFrom.slice(0, 7)}</td>
                <td>{schedule.nextRunTime && formatTime(timestampMs(schedule.nextRunTime), zone)}</td>
              </tr>
            ))}
          </Table>
          <form
            aria-label={t("reportSchedules")}
            onSubmit={(event) => {
              event.preventDefault();
              if (!facility) return;
              client(StatisticsService)
                .setReportSchedule({
                  requestId: requestId(),
                  schedule: {
                    facilityId: facility.id,
                    report: reportKind,
                    dayOfMonth: Number(scheduleDay),
                    hour: Number(scheduleHour),
                    enabled: scheduleOn,
                  },
                })
                .then(() => setGeneration(generation + 1))
                .catch(setError);
            }}
          >
            <div class="grid">
              <Choice label={t("report")} name="schedule_report" value={reportKind} options={reportKinds} onChange={setReportKind} />
              <Field label={t("dayOfMonth")} name="schedule_day" type="number" inputMode="numeric" value={scheduleDay} onInput={setScheduleDay} />
              <Field label={t("hour")} name="schedule_hour" type="number" inputMode="numeric" value={scheduleHour} onInput={setScheduleHour} />
              <label>
                <input
                  type="checkbox"
                  name="schedule_enabled"
                  checked={scheduleOn}
                  onChange={(event) => setScheduleOn((event.target as HTMLInputElement).checked)}
                />
                {t("scheduleOn")}
              </label>
            </div>
            <button type="submit">{t("saveSchedule")}</button>
          </form>
        </Section>
      )}
    </>
  );
}
