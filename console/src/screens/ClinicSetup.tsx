// Setting the outpatient front office up (scheduling.manage): a clinic in a department, a
// clinician's weekly hours in it, its slots opened for a period, the facility's holidays and a
// clinician's leave (both close the open slots they cover and name the appointments in them).
import { useState } from "preact/hooks";
import { client, requestId } from "../api";
import { DepartmentKind } from "../gen/openhmis/core/v1/core_pb";
import type { User } from "../gen/openhmis/iam/v1/admin_pb";
import { ClinicKind, SchedulingService, type Clinic } from "../gen/openhmis/scheduling/v1/scheduling_pb";
import { t, type Key } from "../i18n";
import { useDepartments } from "../places";
import { staffName } from "../staff";
import { Choice, ErrorMessage, Field, Pick, Section, useAttempt } from "../ui";

const KINDS: readonly (readonly [ClinicKind, Key])[] = [
  [ClinicKind.CONSULTATION, "clinicConsultation"],
  [ClinicKind.LABORATORY, "clinicLaboratory"],
  [ClinicKind.IMAGING, "clinicImaging"],
  [ClinicKind.PROCEDURE, "clinicProcedure"],
];

const DEPARTMENTS = [
  DepartmentKind.OUTPATIENT,
  DepartmentKind.WARD,
  DepartmentKind.LABORATORY,
  DepartmentKind.IMAGING,
] as const;

const WEEKDAYS: readonly (readonly [number, Key])[] = [
  [1, "monday"],
  [2, "tuesday"],
  [3, "wednesday"],
  [4, "thursday"],
  [5, "friday"],
  [6, "saturday"],
  [7, "sunday"],
];

/** The set-up of the facility's clinics, beside the front office. */
export function ClinicSetup(props: {
  facilityId: string;
  clinic: Clinic | undefined;
  staff: readonly User[];
  onChanged: () => void;
}) {
  const [error, attempt] = useAttempt();
  const [departments] = useDepartments(DEPARTMENTS);
  const [done, setDone] = useState("");
  const [department, setDepartment] = useState("");
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [kind, setKind] = useState(ClinicKind.CONSULTATION);
  const [slotMinutes, setSlotMinutes] = useState("20");
  const [capacity, setCapacity] = useState("1");
  const [clinician, setClinician] = useState("");
  const [days, setDays] = useState<number[]>([1, 2, 3, 4, 5]);
  const [start, setStart] = useState("08:00");
  const [end, setEnd] = useState("12:00");
  const [validFrom, setValidFrom] = useState("");
  const [firstDay, setFirstDay] = useState("");
  const [lastDay, setLastDay] = useState("");
  const [holiday, setHoliday] = useState("");
  const [holidayName, setHolidayName] = useState("");
  const [leaveReason, setLeaveReason] = useState("");
  const scheduling = client(SchedulingService);
  const local = departments.filter((candidate) => candidate.facilityId === props.facilityId);
  const clinicians = [{ id: "", name: t("theClinicItself") }, ...props.staff.map((u) => ({ id: u.id, name: u.displayName }))];

  async function act<T>(action: () => Promise<T>, message: (value: T) => string) {
    const answer = await attempt(action);
    if (answer) {
      setDone(message(answer.value));
      props.onChanged();
    }
  }

  const toggle = (weekday: number) =>
    setDays((chosen) => (chosen.includes(weekday) ? chosen.filter((d) => d !== weekday) : [...chosen, weekday].sort()));

  return (
    <Section title={t("clinicSetup")} id="clinic-setup">
      {done && <p role="status">{done}</p>}
      <ErrorMessage error={error} />
      <fieldset>
        <legend>{t("newClinic")}</legend>
        <div class="grid">
          <Pick
            label={t("department")}
            name="clinic-department"
            value={department}
            options={[{ id: "", name: "—" }, ...local.map((d) => ({ id: d.id, name: d.name }))]}
            onChange={setDepartment}
          />
          <Field label={t("clinicCode")} name="clinic-code" value={code} onInput={setCode} />
          <Field label={t("clinicName")} name="clinic-name" value={name} onInput={setName} />
        </div>
        <div class="grid">
          <Choice label={t("clinicKind")} name="clinic-kind" value={kind} options={KINDS} onChange={setKind} />
          <Field label={t("slotMinutes")} name="slot-minutes" type="number" value={slotMinutes} onInput={setSlotMinutes} />
          <Field label={t("placesPerSlot")} name="places" type="number" value={capacity} onInput={setCapacity} />
        </div>
        <button
          type="button"
          disabled={!department || !code.trim() || !name.trim()}
          onClick={() =>
            act(
              () =>
                scheduling.createClinic({
                  requestId: requestId(),
                  clinic: {
                    departmentId: department,
                    code: code.trim(),
                    name: name.trim(),
                    kind,
                    slotMinutes: Number(slotMinutes),
                    capacity: Number(capacity),
                  },
                }),
              (answer) => `${t("clinicCreated")}: ${answer.clinic?.name ?? ""}`,
            )
          }
        >
          {t("createClinic")}
        </button>
      </fieldset>
      {props.clinic && (
        <fieldset>
          <legend>
            {t("weeklyHours")}: {props.clinic.name}
          </legend>
          <div class="grid">
            <Pick label={t("clinician")} name="schedule-clinician" value={clinician} options={clinicians} onChange={setClinician} />
            <Field label={t("from")} name="hours-start" type="time" value={start} onInput={setStart} />
            <Field label={t("until")} name="hours-end" type="time" value={end} onInput={setEnd} />
            <Field label={t("validFrom")} name="valid-from" type="date" value={validFrom} onInput={setValidFrom} />
          </div>
          <div role="group" aria-label={t("weekdays")}>
            {WEEKDAYS.map(([weekday, key]) => (
              <label key={weekday}>
                <input type="checkbox" name={`weekday-${weekday}`} checked={days.includes(weekday)} onChange={() => toggle(weekday)} />
                {t(key)}
              </label>
            ))}
          </div>
          <button
            type="button"
            disabled={days.length === 0 || !validFrom}
            onClick={() =>
              act(
                () =>
                  scheduling.addWeeklySchedule({
                    requestId: requestId(),
                    schedule: {
                      clinicId: props.clinic?.id ?? "",
                      clinicianId: clinician,
                      hours: days.map((weekday) => ({ weekday, start, end })),
                      validFrom,
                    },
                  }),
                () => `${t("weeklyHoursAdded")}: ${clinician ? staffName(props.staff, clinician) : t("theClinicItself")}`,
              )
            }
          >
            {t("addWeeklyHours")}
          </button>
          <div class="grid">
            <Field label={t("firstDay")} name="open-first" type="date" value={firstDay} onInput={setFirstDay} />
            <Field label={t("lastDay")} name="open-last" type="date" value={lastDay} onInput={setLastDay} />
            <button
              type="button"
              disabled={!firstDay || !lastDay}
              onClick={() =>
                act(
                  () =>
                    scheduling.openSlots({
                      requestId: requestId(),
                      clinicId: props.clinic?.id ?? "",
                      firstDay,
                      lastDay,
                    }),
                  (answer) => `${t("slotsOpened")}: ${answer.opened}`,
                )
              }
            >
              {t("openSlots")}
            </button>
          </div>
          <div class="grid">
            <Field label={t("leaveReason")} name="leave-reason" value={leaveReason} onInput={setLeaveReason} />
            <button
              type="button"
              class="secondary"
              disabled={!clinician || !firstDay || !lastDay || !leaveReason.trim()}
              onClick={() =>
                act(
                  () =>
                    scheduling.addLeave({
                      requestId: requestId(),
                      clinicianId: clinician,
                      facilityId: props.facilityId,
                      firstDay,
                      lastDay,
                      reason: leaveReason,
                    }),
                  (answer) =>
                    `${t("slotsClosed")}: ${answer.blockedSlots}; ${t("toReschedule")}: ${answer.toReschedule.length}`,
                )
              }
            >
              {t("addLeave")}
            </button>
          </div>
        </fieldset>
      )}
      <fieldset>
        <legend>{t("holiday")}</legend>
        <div class="grid">
          <Field label={t("day")} name="holiday-day" type="date" value={holiday} onInput={setHoliday} />
          <Field label={t("holidayName")} name="holiday-name" value={holidayName} onInput={setHolidayName} />
          <button
            type="button"
            class="secondary"
            disabled={!holiday || !holidayName.trim()}
            onClick={() =>
              act(
                () =>
                  scheduling.addHoliday({
                    requestId: requestId(),
                    facilityId: props.facilityId,
                    day: holiday,
                    name: holidayName,
                  }),
                (answer) =>
                  `${t("slotsClosed")}: ${answer.blockedSlots}; ${t("toReschedule")}: ${answer.toReschedule.length}`,
              )
            }
          >
            {t("addHoliday")}
          </button>
        </div>
      </fieldset>
    </Section>
  );
}
