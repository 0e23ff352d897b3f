//! The outpatient front office over real gRPC, on a clock the test moves: slots opened from
//! weekly schedules around a holiday, 32 kiosks racing for a slot's last place (one wins),
//! kiosk retries making one appointment, a patient kept from two overlapping appointments,
//! holds let go when they expire, and one referral from booking to the follow-up with the
//! waiting times the test computes.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmis_platform::auth::Scope;
use hmis_platform::clock::ManualClock;
use hmis_proto::openhmis::billing::v1 as billing_pb;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::iam::v1 as iam_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use hmis_proto::openhmis::scheduling::v1 as pb;
use pb::scheduling_service_client::SchedulingServiceClient;
use support::{Session, TestApp, WardSpec, eventually, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

use crate::support;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `day` ("2027-03-01") at `hh:mm` UTC (Chisinau is two hours ahead in March before the
/// clocks change on the 28th).
fn utc(day: &str, hh: u32, mm: u32) -> DateTime<Utc> {
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("day");
    Utc.from_utc_datetime(&date.and_hms_opt(hh, mm, 0).expect("time"))
}

fn stamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

fn instant(value: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    let value = value.expect("a time");
    Utc.timestamp_opt(value.seconds, 0).single().expect("time")
}

fn scheduling(app: &TestApp) -> SchedulingServiceClient<Channel> {
    SchedulingServiceClient::new(app.channel.clone())
}

async fn user_id(app: &TestApp, session: &Session) -> String {
    iam_pb::auth_service_client::AuthServiceClient::new(app.channel.clone())
        .get_me(signed_in(session, iam_pb::GetMeRequest {}))
        .await
        .expect("who am i")
        .into_inner()
        .user_id
}

/// A hospital's outpatient front office on a clock set to Friday 2027-02-26 12:00 local:
/// a family-medicine clinic that refers, a cardiology clinic with a consultation room, a
/// cardiologist working Monday and Wednesday mornings in 20-minute slots, the 8th of March a
/// holiday, and slots opened for two weeks from Monday the 1st.
struct Office {
    app: TestApp,
    clock: Arc<ManualClock>,
    admin: Session,
    desk: Session,
    cardiologist: Session,
    cardiologist_id: String,
    gp: Session,
    facility_id: String,
    family_id: String,
    cardiology_id: String,
    clinic: pb::Clinic,
}

impl Office {
    async fn open(code: &str) -> Self {
        let clock = Arc::new(ManualClock::new(utc("2027-02-26", 10, 0)));
        let app = TestApp::spawn_with_clock(Default::default(), clock.clone()).await;
        let admin = app.create_tenant(code).await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let facility_uuid: uuid::Uuid = facility.id.parse().expect("facility id");
        let outpatient = core_pb::DepartmentKind::Outpatient;
        let family = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::department("FAM", "Family medicine", outpatient),
            )
            .await;
        let cardiology = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::department("CAR", "Cardiology clinic", outpatient).room(
                    "C12",
                    "Consultation room 12",
                    &[],
                ),
            )
            .await;
        let scope = Scope::Facility(facility_uuid);
        let desk = app.staff(&admin, code, "desk", "registrar", scope).await;
        let cardiologist = app
            .staff(&admin, code, "cardiologist", "physician", scope)
            .await;
        let gp = app
            .staff(&admin, code, "familydoc", "physician", scope)
            .await;
        let cardiologist_id = user_id(&app, &cardiologist).await;
        let room_id = app
            .facilities()
            .list_rooms(signed_in(
                &admin,
                core_pb::ListRoomsRequest {
                    department_id: cardiology.id.clone(),
                    page_size: 10,
                    ..Default::default()
                },
            ))
            .await
            .expect("rooms")
            .into_inner()
            .rooms[0]
            .id
            .clone();
        let clinic = scheduling(&app)
            .create_clinic(signed_in(
                &admin,
                pb::CreateClinicRequest {
                    request_id: request_id(),
                    clinic: Some(pb::Clinic {
                        department_id: cardiology.id.clone(),
                        code: "CARD-OP".to_owned(),
                        name: "Cardiology consultations".to_owned(),
                        kind: pb::ClinicKind::Consultation.into(),
                        slot_minutes: 20,
                        capacity: 1,
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("clinic")
            .into_inner()
            .clinic
            .expect("clinic");
        let hours = |weekday| pb::WorkingHours {
            weekday,
            start: "08:00".to_owned(),
            end: "12:00".to_owned(),
        };
        scheduling(&app)
            .add_weekly_schedule(signed_in(
                &admin,
                pb::AddWeeklyScheduleRequest {
                    request_id: request_id(),
                    schedule: Some(pb::WeeklySchedule {
                        clinic_id: clinic.id.clone(),
                        clinician_id: cardiologist_id.clone(),
                        room_id,
                        hours: vec![hours(1), hours(3)],
                        valid_from: "2027-01-01".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("weekly schedule");
        scheduling(&app)
            .add_holiday(signed_in(
                &admin,
                pb::AddHolidayRequest {
                    request_id: request_id(),
                    facility_id: facility.id.clone(),
                    day: "2027-03-08".to_owned(),
                    name: "International Women's Day".to_owned(),
                },
            ))
            .await
            .expect("holiday");
        let office = Self {
            app,
            clock,
            admin,
            desk,
            cardiologist,
            cardiologist_id,
            gp,
            facility_id: facility.id,
            family_id: family.id,
            cardiology_id: cardiology.id,
            clinic,
        };
        let opened = office.open_slots("2027-03-01", "2027-03-14").await;
        // Mondays 1st and (not) 8th, Wednesdays 3rd and 10th: three mornings of 12 slots.
        assert_eq!(opened, 36, "slots opened around the holiday");
        assert_eq!(
            office.open_slots("2027-03-01", "2027-03-14").await,
            0,
            "opening the same days again opens nothing twice"
        );
        office
    }

    async fn open_slots(&self, first: &str, last: &str) -> i32 {
        scheduling(&self.app)
            .open_slots(signed_in(
                &self.admin,
                pb::OpenSlotsRequest {
                    request_id: request_id(),
                    clinic_id: self.clinic.id.clone(),
                    first_day: first.to_owned(),
                    last_day: last.to_owned(),
                },
            ))
            .await
            .expect("open slots")
            .into_inner()
            .opened
    }

    async fn register(&self, family: &str) -> String {
        patients_pb::patient_service_client::PatientServiceClient::new(self.app.channel.clone())
            .register_patient(signed_in(
                &self.desk,
                patients_pb::RegisterPatientRequest {
                    request_id: request_id(),
                    patient: Some(patients_pb::Patient {
                        family_name: family.to_owned(),
                        given_names: "Ion".to_owned(),
                        sex: patients_pb::Sex::Male.into(),
                        birth_date: "1958-04-02".to_owned(),
                        ..Default::default()
                    }),
                    confirm_new_patient: true,
                },
            ))
            .await
            .expect("register")
            .into_inner()
            .patient
            .expect("patient")
            .id
    }

    /// The clinic's free slots from `from`, earliest first.
    async fn free(&self, from: DateTime<Utc>) -> Vec<pb::Slot> {
        scheduling(&self.app)
            .find_free_slots(signed_in(
                &self.desk,
                pb::FindFreeSlotsRequest {
                    clinic_id: self.clinic.id.clone(),
                    from_time: Some(stamp(from)),
                    limit: 200,
                    ..Default::default()
                },
            ))
            .await
            .expect("free slots")
            .into_inner()
            .slots
    }

    async fn book(
        &self,
        who: &Session,
        slot_id: &str,
        patient_id: &str,
    ) -> Result<pb::Appointment, tonic::Status> {
        self.book_with(who, request_id(), slot_id, patient_id, false)
            .await
    }

    async fn book_with(
        &self,
        who: &Session,
        request_id: String,
        slot_id: &str,
        patient_id: &str,
        hold: bool,
    ) -> Result<pb::Appointment, tonic::Status> {
        scheduling(&self.app)
            .book_appointment(signed_in(
                who,
                pb::BookAppointmentRequest {
                    request_id,
                    slot_id: slot_id.to_owned(),
                    patient_id: patient_id.to_owned(),
                    channel: pb::Channel::Desk.into(),
                    hold,
                    hold_minutes: if hold { 10 } else { 0 },
                    referral_id: String::new(),
                },
            ))
            .await
            .map(|response| response.into_inner().appointment.expect("appointment"))
    }

    async fn appointment(&self, id: &str) -> pb::Appointment {
        scheduling(&self.app)
            .get_appointment(signed_in(
                &self.desk,
                pb::GetAppointmentRequest { id: id.to_owned() },
            ))
            .await
            .expect("appointment")
            .into_inner()
            .appointment
            .expect("appointment")
    }
}

#[tokio::test]
async fn thirty_two_kiosks_race_for_the_last_place_and_one_wins() {
    let office = Office::open("SCH1").await;
    // Monday 08:00's only place booked at the desk first.
    let slots = office.free(utc("2027-03-01", 0, 0)).await;
    assert_eq!(slots.len(), 36);
    assert_eq!(
        instant(slots[0].start_time.as_ref()),
        utc("2027-03-01", 6, 0)
    );
    let slot = &slots[0];
    let first = office.register("First").await;
    office
        .book(&office.desk, &slot.id, &first)
        .await
        .expect("booked");
    let mut patients = Vec::new();
    for index in 0..32 {
        patients.push(office.register(&format!("Kiosk{index}")).await);
    }
    // The slot has one place (capacity 1) and it is taken: every kiosk is refused.
    let refused = office.book(&office.desk, &slot.id, &patients[0]).await;
    assert_eq!(refused.expect_err("full").code(), Code::FailedPrecondition);

    // The next slot's last place: 32 kiosks at once, one wins.
    let kiosk = office
        .app
        .staff(
            &office.admin,
            "SCH1",
            "kiosk1",
            "kiosk",
            Scope::Facility(office.facility_id.parse().expect("facility")),
        )
        .await;
    let last = slots[1].id.clone();
    let attempts = patients.iter().map(|patient| {
        let (office, kiosk, last) = (&office, &kiosk, &last);
        async move { office.book(kiosk, last, patient).await }
    });
    let results = futures::future::join_all(attempts).await;
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "one booking of the last place wins");
    for result in &results {
        if let Err(status) = result {
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
            assert!(status.message().contains("full"), "{}", status.message());
        }
    }
    let remaining = office.free(utc("2027-03-01", 0, 0)).await;
    assert!(remaining.iter().all(|s| s.id != last && s.id != slot.id));
    // Someone who did not win books on.
    let patient = (patients.iter())
        .find(|patient| **patient != won[0].patient_id)
        .expect("a loser")
        .clone();

    // A kiosk retrying one booking eight times at once (same request id): one appointment.
    let key = request_id();
    let third = slots[2].id.clone();
    let retries = (0..8).map(|_| {
        let (office, kiosk, key, third, patient) = (&office, &kiosk, &key, &third, &patient);
        async move {
            office
                .book_with(kiosk, key.clone(), third, patient, false)
                .await
        }
    });
    let answers = futures::future::join_all(retries).await;
    let ids: std::collections::HashSet<String> = answers
        .into_iter()
        .map(|answer| answer.expect("a retry answers the booking").id)
        .collect();
    assert_eq!(ids.len(), 1, "retries make one appointment");
    let after = office.free(utc("2027-03-01", 0, 0)).await;
    assert_eq!(after.len(), 33, "three slots taken, one each");
    let booked = office.appointment(ids.iter().next().expect("id")).await;
    assert_eq!(booked.status, pb::AppointmentStatus::Booked as i32);
    assert_eq!(booked.booked_by, user_id(&office.app, &kiosk).await);

    // One patient in two overlapping appointments: refused by the database, whichever clinic.
    let procedures = scheduling(&office.app)
        .create_clinic(signed_in(
            &office.admin,
            pb::CreateClinicRequest {
                request_id: request_id(),
                clinic: Some(pb::Clinic {
                    department_id: office.cardiology_id.clone(),
                    code: "ECG".to_owned(),
                    name: "ECG room".to_owned(),
                    kind: pb::ClinicKind::Procedure.into(),
                    slot_minutes: 30,
                    capacity: 4,
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("ECG clinic")
        .into_inner()
        .clinic
        .expect("clinic");
    scheduling(&office.app)
        .add_weekly_schedule(signed_in(
            &office.admin,
            pb::AddWeeklyScheduleRequest {
                request_id: request_id(),
                schedule: Some(pb::WeeklySchedule {
                    clinic_id: procedures.id.clone(),
                    hours: vec![pb::WorkingHours {
                        weekday: 1,
                        start: "08:00".to_owned(),
                        end: "09:00".to_owned(),
                    }],
                    valid_from: "2027-03-01".to_owned(),
                    valid_until: "2027-03-01".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("ECG schedule");
    let ecg_opened = scheduling(&office.app)
        .open_slots(signed_in(
            &office.admin,
            pb::OpenSlotsRequest {
                request_id: request_id(),
                clinic_id: procedures.id.clone(),
                first_day: "2027-03-01".to_owned(),
                last_day: "2027-03-07".to_owned(),
            },
        ))
        .await
        .expect("ECG slots")
        .into_inner()
        .opened;
    assert_eq!(ecg_opened, 2);
    let ecg = scheduling(&office.app)
        .find_free_slots(signed_in(
            &office.desk,
            pb::FindFreeSlotsRequest {
                clinic_id: procedures.id.clone(),
                from_time: Some(stamp(utc("2027-03-01", 0, 0))),
                ..Default::default()
            },
        ))
        .await
        .expect("ECG free")
        .into_inner()
        .slots;
    assert_eq!(ecg[0].capacity, 4);
    // The patient's cardiology appointment is 06:40-07:00; the ECG at 06:30-07:00 overlaps.
    let at_once = office.book(&office.desk, &ecg[1].id, &patient).await;
    let status = at_once.expect_err("overlap refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("already has an appointment"),
        "{}",
        status.message()
    );
    office
        .book(&office.desk, &ecg[0].id, &patient)
        .await
        .expect("the ECG before it is fine");

    // Bad input: every wrong field named, nothing written.
    let bad = scheduling(&office.app)
        .book_appointment(signed_in(
            &office.desk,
            pb::BookAppointmentRequest {
                request_id: request_id(),
                slot_id: "slot".to_owned(),
                patient_id: String::new(),
                channel: 9,
                hold: true,
                hold_minutes: 600,
                referral_id: "x".repeat(5000),
            },
        ))
        .await
        .expect_err("invalid");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        [
            "channel",
            "hold_minutes",
            "patient_id",
            "referral_id",
            "slot_id"
        ]
    );
    assert!(bad.message().len() < 600, "input is not echoed at length");
    office.app.stop().await;
}

#[tokio::test]
async fn a_hold_not_confirmed_in_time_lets_its_place_go() {
    let office = Office::open("SCH2").await;
    let slot = office.free(utc("2027-03-01", 0, 0)).await[0].clone();
    let (first, second) = (
        office.register("Holder").await,
        office.register("Next").await,
    );
    let held = office
        .book_with(&office.desk, request_id(), &slot.id, &first, true)
        .await
        .expect("held");
    assert_eq!(held.status, pb::AppointmentStatus::Held as i32);
    assert_eq!(
        instant(held.hold_expire_time.as_ref()),
        utc("2027-02-26", 10, 10)
    );
    let taken = office.book(&office.desk, &slot.id, &second).await;
    assert_eq!(
        taken.expect_err("held place").code(),
        Code::FailedPrecondition
    );

    office.clock.advance(Duration::minutes(11));
    let booked = office
        .book(&office.desk, &slot.id, &second)
        .await
        .expect("the expired hold let its place go");
    assert_eq!(booked.status, pb::AppointmentStatus::Booked as i32);
    assert_eq!(
        office.appointment(&held.id).await.status,
        pb::AppointmentStatus::Expired as i32
    );
    let late = scheduling(&office.app)
        .confirm_appointment(signed_in(
            &office.desk,
            pb::ConfirmAppointmentRequest {
                request_id: request_id(),
                id: held.id.clone(),
            },
        ))
        .await
        .expect_err("too late");
    assert_eq!(late.code(), Code::FailedPrecondition);

    // A hold confirmed in time is booked; a cancellation gives the place back.
    let other = office.free(utc("2027-03-01", 0, 0)).await[0].clone();
    let held = office
        .book_with(&office.desk, request_id(), &other.id, &first, true)
        .await
        .expect("held");
    let confirmed = scheduling(&office.app)
        .confirm_appointment(signed_in(
            &office.desk,
            pb::ConfirmAppointmentRequest {
                request_id: request_id(),
                id: held.id.clone(),
            },
        ))
        .await
        .expect("confirmed")
        .into_inner()
        .appointment
        .expect("appointment");
    assert_eq!(confirmed.status, pb::AppointmentStatus::Booked as i32);
    let cancelled = scheduling(&office.app)
        .cancel_appointment(signed_in(
            &office.desk,
            pb::CancelAppointmentRequest {
                request_id: request_id(),
                id: held.id.clone(),
                reason: "the patient called to cancel".to_owned(),
                etag: confirmed.etag.clone(),
            },
        ))
        .await
        .expect("cancelled")
        .into_inner()
        .appointment
        .expect("appointment");
    assert_eq!(cancelled.status, pb::AppointmentStatus::Cancelled as i32);
    assert_eq!(
        cancelled.cancelled_by,
        user_id(&office.app, &office.desk).await
    );
    let free = office.free(utc("2027-03-01", 0, 0)).await;
    assert!(
        free.iter().any(|slot| slot.id == other.id),
        "the place is free again"
    );

    // The cardiologist's leave on Wednesday the 10th closes its 12 slots, and names the
    // appointment booked in one to be rescheduled.
    let wednesday = office.free(utc("2027-03-10", 0, 0)).await[3].clone();
    let moved = office
        .book(&office.desk, &wednesday.id, &second)
        .await
        .expect("booked on Wednesday");
    let leave = scheduling(&office.app)
        .add_leave(signed_in(
            &office.admin,
            pb::AddLeaveRequest {
                request_id: request_id(),
                clinician_id: office.cardiologist_id.clone(),
                first_day: "2027-03-10".to_owned(),
                last_day: "2027-03-10".to_owned(),
                reason: "conference".to_owned(),
                facility_id: office.facility_id.clone(),
            },
        ))
        .await
        .expect("leave")
        .into_inner();
    assert_eq!(leave.blocked_slots, 12);
    let ids: Vec<&str> = leave.to_reschedule.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [moved.id.as_str()]);
    let after = office.free(utc("2027-03-10", 0, 0)).await;
    assert!(
        after.is_empty(),
        "no free slot on the day of leave or after: {after:?}"
    );
    let closed = office.book(&office.desk, &wednesday.id, &first).await;
    assert_eq!(closed.expect_err("closed").code(), Code::FailedPrecondition);
    office.app.stop().await;
}

#[tokio::test]
async fn a_referral_is_booked_seen_and_followed_up_with_the_waits_the_desk_expects() {
    let office = Office::open("SCH3").await;
    let app = &office.app;
    let patient = office.register("Referred").await;
    let encounters = || {
        encounters_pb::encounter_service_client::EncounterServiceClient::new(app.channel.clone())
    };
    // The family doctor sees the patient and refers them to cardiology.
    let visit = encounters()
        .open_encounter(signed_in(
            &office.gp,
            encounters_pb::OpenEncounterRequest {
                request_id: request_id(),
                patient_id: patient.clone(),
                department_id: office.family_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("family visit")
        .into_inner()
        .encounter
        .expect("encounter");
    let referral = encounters()
        .create_referral(signed_in(
            &office.gp,
            encounters_pb::CreateReferralRequest {
                request_id: request_id(),
                referral: Some(encounters_pb::Referral {
                    encounter_id: visit.id.clone(),
                    kind: encounters_pb::ReferralKind::Consultation.into(),
                    specialty: "cardiology".to_owned(),
                    target_department_id: office.cardiology_id.clone(),
                    reason: "exertional chest pain".to_owned(),
                    urgency: encounters_pb::Urgency::Routine.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("referral")
        .into_inner()
        .referral
        .expect("referral");
    let referrals = |status: pb::ReferralStatus| {
        let office = &office;
        async move {
            scheduling(&office.app)
                .list_referrals(signed_in(
                    &office.desk,
                    pb::ListReferralsRequest {
                        department_id: office.cardiology_id.clone(),
                        status: status.into(),
                    },
                ))
                .await
                .expect("referrals to see")
                .into_inner()
                .referrals
        }
    };
    let waiting = eventually("cardiology lists the referral", || async {
        let list = referrals(pb::ReferralStatus::Waiting).await;
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(waiting[0].referral_id, referral.id);
    assert_eq!(waiting[0].patient_id, patient);
    assert_eq!(waiting[0].referring_department_id, office.family_id);

    // Booked into Monday 08:00 (06:00 UTC) from the referral, at the desk, on Friday 12:00.
    let slots = office.free(utc("2027-03-01", 0, 0)).await;
    let booked = scheduling(app)
        .book_appointment(signed_in(
            &office.desk,
            pb::BookAppointmentRequest {
                request_id: request_id(),
                slot_id: slots[0].id.clone(),
                patient_id: patient.clone(),
                channel: pb::Channel::Phone.into(),
                referral_id: referral.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("booked from the referral")
        .into_inner()
        .appointment
        .expect("appointment");
    assert_eq!(booked.clinician_id, office.cardiologist_id);
    assert!(referrals(pb::ReferralStatus::Waiting).await.is_empty());
    let again = scheduling(app)
        .book_appointment(signed_in(
            &office.desk,
            pb::BookAppointmentRequest {
                request_id: request_id(),
                slot_id: slots[5].id.clone(),
                patient_id: patient.clone(),
                channel: pb::Channel::Desk.into(),
                referral_id: referral.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("one booking per referral");
    assert_eq!(again.code(), Code::FailedPrecondition);
    // Another patient booked at 08:20 will not come.
    let absent = office.register("Absent").await;
    let missed = office
        .book(&office.desk, &slots[1].id, &absent)
        .await
        .expect("booked");

    // Monday: the patient arrives at 07:30 local; a walk-in at 08:01.
    office.clock.set(utc("2027-03-01", 5, 30));
    let ticket = scheduling(app)
        .check_in(signed_in(
            &office.desk,
            pb::CheckInRequest {
                request_id: request_id(),
                appointment_id: booked.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("checked in")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(ticket.number, "CARD-OP-001");
    assert_eq!(ticket.status, pb::TicketStatus::Waiting as i32);
    office.clock.set(utc("2027-03-01", 6, 1));
    let walk_in_patient = office.register("Walkin").await;
    let walk_in = scheduling(app)
        .check_in(signed_in(
            &office.desk,
            pb::CheckInRequest {
                request_id: request_id(),
                clinic_id: office.clinic.id.clone(),
                patient_id: walk_in_patient.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("walk-in")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(walk_in.number, "CARD-OP-002");

    // 08:12: the cardiologist calls the next patient: the 08:00 appointment goes before the
    // walk-in who came at 08:01.
    office.clock.set(utc("2027-03-01", 6, 12));
    let called = scheduling(app)
        .call_ticket(signed_in(
            &office.cardiologist,
            pb::CallTicketRequest {
                request_id: request_id(),
                clinic_id: office.clinic.id.clone(),
                called_to: "Room 12".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("called")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(called.id, ticket.id);
    assert_eq!(called.wait_minutes, 42, "07:30 to 08:12");
    assert_eq!(called.clinician_id, office.cardiologist_id);
    office.clock.set(utc("2027-03-01", 6, 14));
    let started = scheduling(app)
        .start_consultation(signed_in(
            &office.cardiologist,
            pb::StartConsultationRequest {
                request_id: request_id(),
                ticket_id: ticket.id.clone(),
            },
        ))
        .await
        .expect("consultation")
        .into_inner()
        .ticket
        .expect("ticket");
    let encounter = encounters()
        .get_encounter(signed_in(
            &office.cardiologist,
            encounters_pb::GetEncounterRequest {
                id: started.encounter_id.clone(),
            },
        ))
        .await
        .expect("the visit's encounter")
        .into_inner()
        .encounter
        .expect("encounter");
    assert_eq!(
        encounter.kind,
        encounters_pb::EncounterKind::Outpatient as i32
    );
    assert_eq!(encounter.department_id, office.cardiology_id);
    assert_eq!(encounter.patient_id, patient);

    // 08:40: the visit ends with a follow-up on Wednesday 10 March at 08:00.
    office.clock.set(utc("2027-03-01", 6, 40));
    let follow_up_slot = office
        .free(utc("2027-03-10", 0, 0))
        .await
        .into_iter()
        .next()
        .expect("a Wednesday slot");
    assert_eq!(
        instant(follow_up_slot.start_time.as_ref()),
        utc("2027-03-10", 6, 0)
    );
    let finish = pb::FinishVisitRequest {
        request_id: request_id(),
        ticket_id: ticket.id.clone(),
        outcome: pb::VisitOutcome::FollowUp.into(),
        follow_up_slot_id: follow_up_slot.id.clone(),
    };
    let finished = scheduling(app)
        .finish_visit(signed_in(&office.cardiologist, finish.clone()))
        .await
        .expect("visit finished")
        .into_inner();
    let retried = scheduling(app)
        .finish_visit(signed_in(&office.cardiologist, finish))
        .await
        .expect("a retry answers the same")
        .into_inner();
    assert_eq!(retried, finished);
    let done = finished.ticket.expect("ticket");
    assert_eq!(done.status, pb::TicketStatus::Done as i32);
    let follow_up = finished.follow_up.expect("follow-up");
    assert_eq!(done.follow_up_appointment_id, follow_up.id);
    assert_eq!(follow_up.slot_id, follow_up_slot.id);
    assert_eq!(
        office.appointment(&booked.id).await.status,
        pb::AppointmentStatus::Completed as i32
    );
    let closed = encounters()
        .get_encounter(signed_in(
            &office.cardiologist,
            encounters_pb::GetEncounterRequest {
                id: started.encounter_id.clone(),
            },
        ))
        .await
        .expect("encounter")
        .into_inner()
        .encounter
        .expect("encounter");
    assert_eq!(closed.status, encounters_pb::EncounterStatus::Closed as i32);
    let seen = referrals(pb::ReferralStatus::Seen).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].appointment_id, booked.id);

    // Billing charges the visit to the patient's outpatient account by the clinic's code, by
    // the clinician; no registration fee, since the tenant prices none.
    let billing =
        || billing_pb::billing_service_client::BillingServiceClient::new(app.channel.clone());
    let charges = eventually("billing charges the visit", || async {
        let accounts = billing()
            .list_accounts(signed_in(
                &office.admin,
                billing_pb::ListAccountsRequest {
                    patient_id: patient.clone(),
                },
            ))
            .await
            .expect("accounts")
            .into_inner()
            .accounts;
        let outpatient = accounts
            .iter()
            .find(|account| account.admission_id.is_empty())?;
        let account = billing()
            .get_account(signed_in(
                &office.admin,
                billing_pb::GetAccountRequest {
                    account_id: outpatient.id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("account")
            .into_inner()
            .account
            .expect("account");
        (!account.charges.is_empty()).then_some(account.charges)
    })
    .await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(
        charges[0].source,
        billing_pb::ChargeSource::OutpatientVisit as i32
    );
    assert_eq!(
        (charges[0].code_system.as_str(), charges[0].code.as_str()),
        ("clinic", "CARD-OP")
    );
    assert_eq!(charges[0].physician_id, office.cardiologist_id);

    // The 08:20 patient did not come.
    let no_show = scheduling(app)
        .mark_no_show(signed_in(
            &office.cardiologist,
            pb::MarkNoShowRequest {
                request_id: request_id(),
                id: missed.id.clone(),
            },
        ))
        .await
        .expect("no-show")
        .into_inner()
        .appointment
        .expect("appointment");
    assert_eq!(no_show.status, pb::AppointmentStatus::NoShow as i32);

    // The queue in calling order: the walk-in waiting, then the visit done.
    let queue = scheduling(app)
        .get_queue(signed_in(
            &office.desk,
            pb::GetQueueRequest {
                clinic_id: office.clinic.id.clone(),
                day: String::new(),
            },
        ))
        .await
        .expect("queue")
        .into_inner()
        .tickets;
    let order: Vec<&str> = queue.iter().map(|t| t.number.as_str()).collect();
    assert_eq!(order, ["CARD-OP-002", "CARD-OP-001"]);

    // The day's report as the test counts it.
    let report = scheduling(app)
        .get_clinic_report(signed_in(
            &office.admin,
            pb::GetClinicReportRequest {
                facility_id: office.facility_id.clone(),
                first_day: "2027-03-01".to_owned(),
                last_day: "2027-03-01".to_owned(),
            },
        ))
        .await
        .expect("report")
        .into_inner()
        .rows;
    let row = report
        .iter()
        .find(|row| row.clinician_id == office.cardiologist_id)
        .expect("the cardiologist's line");
    assert_eq!(row.places_offered, 12);
    assert_eq!(row.places_booked, 2);
    assert_eq!((row.appointments, row.visits, row.no_shows), (2, 1, 1));
    assert!((row.no_show_rate_percent - 50.0).abs() < 1e-9);
    assert!((row.utilisation_percent - 100.0 * 2.0 / 12.0).abs() < 1e-9);
    // Booked on Friday 10:00 UTC for Monday 06:00 and 06:20 UTC.
    let days =
        |start: DateTime<Utc>| (start - utc("2027-02-26", 10, 0)).num_seconds() as f64 / 86400.0;
    let expected = (days(utc("2027-03-01", 6, 0)) + days(utc("2027-03-01", 6, 20))) / 2.0;
    assert!(
        (row.mean_days_booking_to_visit - expected).abs() < 1e-6,
        "{row:?}"
    );
    assert!((row.mean_minutes_arrival_to_call - 42.0).abs() < 1e-9);
    let walk_ins = report
        .iter()
        .find(|row| row.clinician_id.is_empty())
        .expect("the walk-in's line (not yet called)");
    assert_eq!(walk_ins.walk_ins, 1);

    // The walk-in gives up and leaves unseen; nobody is left to call.
    let left = scheduling(app)
        .mark_ticket_left(signed_in(
            &office.desk,
            pb::MarkTicketLeftRequest {
                request_id: request_id(),
                ticket_id: walk_in.id.clone(),
            },
        ))
        .await
        .expect("left")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(left.status, pb::TicketStatus::Left as i32);
    assert_eq!(instant(left.end_time.as_ref()), utc("2027-03-01", 6, 40));
    let nobody = scheduling(app)
        .call_ticket(signed_in(
            &office.cardiologist,
            pb::CallTicketRequest {
                request_id: request_id(),
                clinic_id: office.clinic.id.clone(),
                called_to: "Room 12".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("nobody waits");
    assert_eq!(nobody.code(), Code::FailedPrecondition);
    office.app.stop().await;
}

#[tokio::test]
async fn a_freed_place_is_offered_to_the_first_patient_waiting_whose_window_takes_it() {
    let office = Office::open("SCH4").await;
    let slot = office.free(utc("2027-03-01", 0, 0)).await[0].clone();
    let booked_patient = office.register("Booked").await;
    let booked = office
        .book(&office.desk, &slot.id, &booked_patient)
        .await
        .expect("booked");
    let join = |patient: String, first: &str, last: &str| {
        let (office, first, last) = (&office, first.to_owned(), last.to_owned());
        async move {
            scheduling(&office.app)
                .join_waiting_list(signed_in(
                    &office.desk,
                    pb::JoinWaitingListRequest {
                        request_id: request_id(),
                        entry: Some(pb::WaitingListEntry {
                            clinic_id: office.clinic.id.clone(),
                            patient_id: patient,
                            first_day: first,
                            last_day: last,
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .map(|answer| answer.into_inner().entry.expect("entry"))
        }
    };
    let (first, second, later) = (
        office.register("Waitfirst").await,
        office.register("Waitsecond").await,
        office.register("Waitlater").await,
    );
    // The one wanting Wednesday only joins first: Monday's place does not suit them.
    let later_entry = join(later.clone(), "2027-03-03", "2027-03-03")
        .await
        .expect("joined");
    let first_entry = join(first.clone(), "2027-03-01", "2027-03-05")
        .await
        .expect("joined");
    let second_entry = join(second.clone(), "2027-03-01", "2027-03-01")
        .await
        .expect("joined");
    let twice = join(first.clone(), "2027-03-01", "2027-03-02").await;
    assert_eq!(
        twice.expect_err("one entry").code(),
        Code::FailedPrecondition
    );

    let entries = || async {
        scheduling(&office.app)
            .list_waiting_list(signed_in(
                &office.desk,
                pb::ListWaitingListRequest {
                    clinic_id: office.clinic.id.clone(),
                },
            ))
            .await
            .expect("waiting list")
            .into_inner()
            .entries
    };
    let status_of = |entries: &[pb::WaitingListEntry], id: &str| {
        let entry = entries.iter().find(|entry| entry.id == id).expect("entry");
        (entry.status, entry.offered_appointment_id.clone())
    };

    // The booked patient cancels: the place goes, as a hold, to the first one it suits.
    scheduling(&office.app)
        .cancel_appointment(signed_in(
            &office.desk,
            pb::CancelAppointmentRequest {
                request_id: request_id(),
                id: booked.id.clone(),
                reason: "moved abroad".to_owned(),
                etag: String::new(),
            },
        ))
        .await
        .expect("cancelled");
    let listed = entries().await;
    let (status, offered) = status_of(&listed, &first_entry.id);
    assert_eq!(status, pb::WaitingStatus::Offered as i32);
    assert_eq!(
        status_of(&listed, &later_entry.id).0,
        pb::WaitingStatus::Waiting as i32
    );
    assert_eq!(
        status_of(&listed, &second_entry.id).0,
        pb::WaitingStatus::Waiting as i32
    );
    let offer = office.appointment(&offered).await;
    assert_eq!(offer.patient_id, first);
    assert_eq!(offer.status, pb::AppointmentStatus::Held as i32);
    assert_eq!(
        instant(offer.hold_expire_time.as_ref()),
        utc("2027-02-27", 10, 0),
        "held for a day"
    );
    let free = office.free(utc("2027-03-01", 0, 0)).await;
    assert!(
        free.iter().all(|free| free.id != slot.id),
        "the place is held"
    );

    // Not confirmed in a day: the offer lapses and the place goes to the next one waiting
    // (a desk booking of the slot lets the hold go first, and finds the place offered).
    office.clock.advance(Duration::hours(25));
    let walk_up = office.register("Walkup").await;
    let refused = office.book(&office.desk, &slot.id, &walk_up).await;
    assert_eq!(
        refused.expect_err("offered first").code(),
        Code::FailedPrecondition
    );
    let listed = entries().await;
    assert_eq!(
        status_of(&listed, &first_entry.id).0,
        pb::WaitingStatus::Lapsed as i32
    );
    let (status, offered) = status_of(&listed, &second_entry.id);
    assert_eq!(status, pb::WaitingStatus::Offered as i32);
    assert_eq!(
        office.appointment(&offer.id).await.status,
        pb::AppointmentStatus::Expired as i32
    );
    scheduling(&office.app)
        .confirm_appointment(signed_in(
            &office.desk,
            pb::ConfirmAppointmentRequest {
                request_id: request_id(),
                id: offered.clone(),
            },
        ))
        .await
        .expect("the second confirms");
    let listed = entries().await;
    assert_eq!(
        status_of(&listed, &second_entry.id).0,
        pb::WaitingStatus::Booked as i32
    );
    assert_eq!(
        status_of(&listed, &later_entry.id).0,
        pb::WaitingStatus::Waiting as i32
    );
    let taken = office.appointment(&offered).await;
    assert_eq!(
        (taken.patient_id, taken.status),
        (second, pb::AppointmentStatus::Booked as i32)
    );
    office.app.stop().await;
}
