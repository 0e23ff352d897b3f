// The outpatient front office: a clinic's day. The desk books the next free slots for a
// patient (by medical record number) or for a referral the department has to see, checks
// patients in, cancels with a reason and records no-shows; the clinician calls the next
// patient to a room, starts the consultation (its outpatient encounter opens) and finishes
// the visit with its outcome, booking the follow-up in a free slot.
import { useEffect, useState } from "preact/hooks";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { client, holds, requestId, type Session } from "../api";
import { FacilityService, type Facility } from "../gen/openhmis/core/v1/core_pb";
import { PatientService } from "../gen/openhmis/patients/v1/patients_pb";
import {
  AppointmentStatus,
  Channel,
  QueuePriority,
  ReferralStatus,
  SchedulingService,
  TicketStatus,
  VisitOutcome,
  type Appointment,
  type Clinic,
  type ReferralToSee,
  type Slot,
  type Ticket,
} from "../gen/openhmis/scheduling/v1/scheduling_pb";
import { formatTime, t, today, type Key } from "../i18n";
import { patientName, usePatients } from "../patients";
import { staffName, useStaff } from "../staff";
import { Choice, ErrorMessage, Field, Pick, Section, Table, useAttempt } from "../ui";
import { ClinicSetup } from "./ClinicSetup";

const APPOINTMENT: Record<AppointmentStatus, Key> = {
  [AppointmentStatus.UNSPECIFIED]: "unknown",
  [AppointmentStatus.HELD]: "appointmentHeld",
  [AppointmentStatus.BOOKED]: "appointmentBooked",
  [AppointmentStatus.CHECKED_IN]: "appointmentCheckedIn",
  [AppointmentStatus.COMPLETED]: "appointmentCompleted",
  [AppointmentStatus.CANCELLED]: "appointmentCancelled",
  [AppointmentStatus.NO_SHOW]: "appointmentNoShow",
  [AppointmentStatus.EXPIRED]: "appointmentExpired",
};

const TICKET: Record<TicketStatus, Key> = {
  [TicketStatus.UNSPECIFIED]: "unknown",
  [TicketStatus.WAITING]: "ticketWaiting",
  [TicketStatus.CALLED]: "ticketCalled",
  [TicketStatus.IN_CONSULTATION]: "ticketInConsultation",
  [TicketStatus.DONE]: "ticketDone",
  [TicketStatus.LEFT]: "ticketLeft",
};

const PRIORITIES: readonly (readonly [QueuePriority, Key])[] = [
  [QueuePriority.ROUTINE, "routine"],
  [QueuePriority.PRIORITY, "priorityQueue"],
  [QueuePriority.URGENT, "urgent"],
];

const OUTCOMES: readonly (readonly [VisitOutcome, Key])[] = [
  [VisitOutcome.TO_FAMILY_DOCTOR, "outcomeFamilyDoctor"],
  [VisitOutcome.FOLLOW_UP, "outcomeFollowUp"],
  [VisitOutcome.REFERRED, "outcomeReferred"],
  [VisitOutcome.ADMITTED, "outcomeAdmitted"],
];

/** The front office of one clinic's day. */
export function Appointments(props: { session: Session }) {
  const [error, attempt] = useAttempt();
  const [facilities, setFacilities] = useState<Facility[]>([]);
  const [facilityId, setFacilityId] = useState("");
  const [clinics, setClinics] = useState<Clinic[]>([]);
  const [clinicId, setClinicId] = useState("");
  const [day, setDay] = useState("");
  const [slots, setSlots] = useState<Slot[]>([]);
  const [appointments, setAppointments] = useState<Appointment[]>([]);
  const [tickets, setTickets] = useState<Ticket[]>([]);
  const [referrals, setReferrals] = useState<ReferralToSee[]>([]);
  const [mrn, setMrn] = useState("");
  const [referral, setReferral] = useState<ReferralToSee | null>(null);
  const [reason, setReason] = useState("");
  const [room, setRoom] = useState("");
  const [outcome, setOutcome] = useState(VisitOutcome.TO_FAMILY_DOCTOR);
  const [followUp, setFollowUp] = useState("");
  const [walkInMrn, setWalkInMrn] = useState("");
  const [priority, setPriority] = useState(QueuePriority.ROUTINE);
  const [done, setDone] = useState("");
  const patients = usePatients([
    ...appointments.map((a) => a.patientId),
    ...tickets.map((ticket) => ticket.patientId),
    ...referrals.map((r) => r.patientId),
  ]);
  const facility = facilityId || facilities[0]?.id || "";
  const zone = facilities.find((candidate) => candidate.id === facility)?.timeZone ?? "UTC";
  const clinic = clinics.find((candidate) => candidate.id === clinicId) ?? clinics[0];
  const shownDay = day || today(zone);
  const canBook = holds(props.session, "scheduling.book");
  const canQueue = holds(props.session, "scheduling.queue");
  const canManage = holds(props.session, "scheduling.manage");
  const [staff] = useStaff(holds(props.session, "iam.users.read"));

  useEffect(() => {
    void attempt(async () => {
      setFacilities((await client(FacilityService).listFacilities({ pageSize: 100 })).facilities);
    });
  }, []);

  useEffect(() => {
    if (!facility) return;
    void attempt(async () => {
      setClinics((await client(SchedulingService).listClinics({ facilityId: facility })).clinics);
    });
  }, [facility]);

  async function load() {
    if (!clinic) return;
    await attempt(async () => {
      const scheduling = client(SchedulingService);
      const [free, listed, queue, toSee] = await Promise.all([
        scheduling.findFreeSlots({ clinicId: clinic.id, limit: 12 }),
        scheduling.listAppointments({ clinicId: clinic.id, day: shownDay }),
        scheduling.getQueue({ clinicId: clinic.id, day: shownDay }),
        scheduling.listReferrals({ departmentId: clinic.departmentId, status: ReferralStatus.WAITING }),
      ]);
      setSlots(free.slots);
      setAppointments(listed.appointments);
      setTickets(queue.tickets);
      setReferrals(toSee.referrals);
    });
  }

  useEffect(() => {
    void load();
  }, [clinic?.id, shownDay]);

  const time = (value: Appointment["startTime"]) => (value ? formatTime(timestampMs(value), zone) : "");

  /** The local day (YYYY-MM-DD) of an instant, in the facility's zone. */
  const dayOf = (value: Appointment["startTime"]) =>
    value
      ? new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
          new Date(timestampMs(value)),
        )
      : shownDay;

  async function patientByMrn(value: string): Promise<string> {
    const found = await client(PatientService).searchPatients({ mrn: value.trim(), pageSize: 1 });
    const id = found.matches[0]?.patient?.id ?? "";
    if (!id) throw new Error(`${t("patientMrn")}: ${t("noMatches")}`);
    return id;
  }

  async function book(slot: Slot) {
    const answer = await attempt(async () => {
      const patientId = referral?.patientId || (await patientByMrn(mrn));
      return client(SchedulingService).bookAppointment({
        requestId: requestId(),
        slotId: slot.id,
        patientId,
        channel: Channel.DESK,
        referralId: referral?.referralId ?? "",
      });
    });
    if (answer) {
      setReferral(null);
      setMrn("");
      setDone(`${t("appointmentBookedDone")}: ${time(answer.value.appointment?.startTime)}`);
      const bookedDay = dayOf(answer.value.appointment?.startTime);
      if (bookedDay !== shownDay) setDay(bookedDay);
      else await load();
    }
  }

  async function walkIn() {
    if (!clinic) return;
    const answer = await attempt(async () =>
      client(SchedulingService).checkIn({
        requestId: requestId(),
        clinicId: clinic.id,
        patientId: await patientByMrn(walkInMrn),
        priority,
      }),
    );
    if (answer) {
      setWalkInMrn("");
      setDone(`${t("checkedInDone")}: ${answer.value.ticket?.number ?? ""}`);
      if (shownDay !== today(zone)) setDay(today(zone));
      else await load();
    }
  }

  async function act(action: () => Promise<unknown>, message: Key) {
    const answer = await attempt(action);
    if (answer) {
      setDone(t(message));
      await load();
    }
  }

  const scheduling = client(SchedulingService);
  const waiting = tickets.filter((ticket) => ticket.status === TicketStatus.WAITING);

  return (
    <>
      <Section title={t("frontOffice")} id="front-office">
        <div class="grid">
          <Pick
            label={t("facility")}
            name="facility"
            value={facility}
            options={facilities.map((candidate) => ({ id: candidate.id, name: candidate.name }))}
            onChange={setFacilityId}
          />
          <Pick
            label={t("clinic")}
            name="clinic"
            value={clinic?.id ?? ""}
            options={clinics.map((candidate) => ({ id: candidate.id, name: candidate.name }))}
            onChange={setClinicId}
          />
          <Field label={t("day")} name="day" type="date" value={shownDay} onInput={setDay} />
        </div>
        <button type="button" class="secondary" onClick={load}>
          {t("refresh")}
        </button>
        {done && <p role="status">{done}</p>}
        <ErrorMessage error={error} />
        {clinics.length === 0 && <p>{t("noClinics")}</p>}
      </Section>
      {clinic && canBook && (
        <Section title={t("bookAppointment")} id="booking">
          {referrals.length > 0 && (
            <Table columns={["referred", "patient", "urgency", "actions"]} caption={t("referralsToSee")}>
              {referrals.map((item) => (
                <tr key={item.referralId}>
                  <td>{item.createTime ? formatTime(timestampMs(item.createTime), zone) : ""}</td>
                  <th scope="row">{patientName(patients, item.patientId)}</th>
                  <td>{item.urgency}</td>
                  <td>
                    <button
                      type="button"
                      class="secondary"
                      aria-pressed={referral?.referralId === item.referralId}
                      onClick={() => setReferral(referral?.referralId === item.referralId ? null : item)}
                    >
                      {t("bookForReferral")}
                    </button>
                  </td>
                </tr>
              ))}
            </Table>
          )}
          {referral ? (
            <p>
              {t("bookingReferralOf")} {patientName(patients, referral.patientId)}
            </p>
          ) : (
            <Field label={t("patientMrn")} name="booking-mrn" value={mrn} onInput={setMrn} />
          )}
          <Table columns={["slotTime", "clinician", "freePlaces", "actions"]} caption={t("nextFreeSlots")}>
            {slots.map((slot) => (
              <tr key={slot.id}>
                <th scope="row">{time(slot.startTime)}</th>
                <td>{slot.clinicianId ? staffName(staff, slot.clinicianId) : "—"}</td>
                <td>{slot.capacity - slot.booked}</td>
                <td>
                  <button
                    type="button"
                    disabled={!referral && !mrn.trim()}
                    aria-label={`${t("book")}: ${time(slot.startTime)}`}
                    onClick={() => book(slot)}
                  >
                    {t("book")}
                  </button>
                </td>
              </tr>
            ))}
          </Table>
          {slots.length === 0 && <p>{t("noFreeSlots")}</p>}
        </Section>
      )}
      {clinic && (
        <Section title={t("daysAppointments")} id="appointments">
          <Field label={t("cancelReason")} name="appointment-reason" value={reason} onInput={setReason} />
          <Table columns={["slotTime", "patient", "status", "actions"]}>
            {appointments.map((item) => (
              <tr key={item.id}>
                <td>{time(item.startTime)}</td>
                <th scope="row">{patientName(patients, item.patientId)}</th>
                <td>{t(APPOINTMENT[item.status])}</td>
                <td>
                  <div role="group">
                    {canQueue && item.status === AppointmentStatus.BOOKED && (
                      <button
                        type="button"
                        aria-label={`${t("checkIn")}: ${patientName(patients, item.patientId)}`}
                        onClick={() =>
                          act(() => scheduling.checkIn({ requestId: requestId(), appointmentId: item.id }), "checkedInDone")
                        }
                      >
                        {t("checkIn")}
                      </button>
                    )}
                    {canBook && (item.status === AppointmentStatus.BOOKED || item.status === AppointmentStatus.HELD) && (
                      <button
                        type="button"
                        class="secondary"
                        disabled={!reason.trim()}
                        onClick={() =>
                          act(
                            () => scheduling.cancelAppointment({ requestId: requestId(), id: item.id, reason, etag: item.etag }),
                            "appointmentCancelledDone",
                          )
                        }
                      >
                        {t("cancelAppointment")}
                      </button>
                    )}
                    {canQueue &&
                      item.status === AppointmentStatus.BOOKED &&
                      item.startTime &&
                      timestampMs(item.startTime) <= Date.now() && (
                        <button
                          type="button"
                          class="secondary"
                          onClick={() => act(() => scheduling.markNoShow({ requestId: requestId(), id: item.id }), "noShowDone")}
                        >
                          {t("noShow")}
                        </button>
                      )}
                  </div>
                </td>
              </tr>
            ))}
          </Table>
          {appointments.length === 0 && <p>{t("noAppointments")}</p>}
        </Section>
      )}
      {clinic && (
        <Section title={t("queue")} id="queue">
          {canQueue && (
            <div class="grid">
              <Field label={t("walkInMrn")} name="walk-in-mrn" value={walkInMrn} onInput={setWalkInMrn} />
              <Choice label={t("queuePriority")} name="priority" value={priority} options={PRIORITIES} onChange={setPriority} />
              <button type="button" class="secondary" disabled={!walkInMrn.trim()} onClick={walkIn}>
                {t("checkInWalkIn")}
              </button>
            </div>
          )}
          {canQueue && (
            <div class="grid">
              <Field label={t("calledTo")} name="called-to" value={room} onInput={setRoom} />
              <button
                type="button"
                disabled={!room.trim() || waiting.length === 0}
                onClick={() =>
                  act(() => scheduling.callTicket({ requestId: requestId(), clinicId: clinic.id, calledTo: room }), "calledDone")
                }
              >
                {t("callNext")}
              </button>
            </div>
          )}
          <Table columns={["ticket", "patient", "status", "arrived", "waitMinutes", "actions"]}>
            {tickets.map((ticket) => (
              <tr key={ticket.id}>
                <td>{ticket.number}</td>
                <th scope="row">{patientName(patients, ticket.patientId)}</th>
                <td>
                  {t(TICKET[ticket.status])}
                  {ticket.calledTo && ` · ${ticket.calledTo}`}
                </td>
                <td>{time(ticket.arriveTime)}</td>
                <td>{ticket.callTime ? ticket.waitMinutes : ""}</td>
                <td>
                  {canQueue && (ticket.status === TicketStatus.WAITING || ticket.status === TicketStatus.CALLED) && (
                    <button
                      type="button"
                      class="secondary"
                      aria-label={`${t("markLeft")}: ${ticket.number}`}
                      onClick={() =>
                        act(() => scheduling.markTicketLeft({ requestId: requestId(), ticketId: ticket.id }), "ticketLeftDone")
                      }
                    >
                      {t("markLeft")}
                    </button>
                  )}
                  {canQueue && ticket.status === TicketStatus.CALLED && (
                    <button
                      type="button"
                      onClick={() =>
                        act(() => scheduling.startConsultation({ requestId: requestId(), ticketId: ticket.id }), "consultationStarted")
                      }
                    >
                      {t("startConsultation")}
                    </button>
                  )}
                  {canQueue && ticket.status === TicketStatus.IN_CONSULTATION && (
                    <div role="group">
                      <Choice label={t("visitOutcome")} name="outcome" value={outcome} options={OUTCOMES} onChange={setOutcome} />
                      {outcome === VisitOutcome.FOLLOW_UP && (
                        <Pick
                          label={t("followUpSlot")}
                          name="follow-up"
                          value={followUp}
                          options={[{ id: "", name: "—" }, ...slots.map((slot) => ({ id: slot.id, name: time(slot.startTime) }))]}
                          onChange={setFollowUp}
                        />
                      )}
                      <button
                        type="button"
                        disabled={outcome === VisitOutcome.FOLLOW_UP && !followUp}
                        onClick={() =>
                          act(
                            () =>
                              scheduling.finishVisit({
                                requestId: requestId(),
                                ticketId: ticket.id,
                                outcome,
                                followUpSlotId: outcome === VisitOutcome.FOLLOW_UP ? followUp : "",
                              }),
                            "visitFinished",
                          )
                        }
                      >
                        {t("finishVisit")}
                      </button>
                    </div>
                  )}
                  {ticket.encounterId && (
                    <a href={`#/encounters/${ticket.patientId}`}>{t("openRecord")}</a>
                  )}
                </td>
              </tr>
            ))}
          </Table>
          {tickets.length === 0 && <p>{t("nobodyWaiting")}</p>}
        </Section>
      )}
      {canManage && facility && (
        <ClinicSetup
          facilityId={facility}
          clinic={clinic}
          staff={staff}
          onChanged={() => {
            void attempt(async () => {
              setClinics((await client(SchedulingService).listClinics({ facilityId: facility })).clinics);
            });
            void load();
          }}
        />
      )}
    </>
  );
}
