//! The demo's outpatient front office: the cardiology department's consultation clinic, the
//! demo physician's weekday mornings in it (20-minute slots), and its slots opened for the
//! four weeks from the day the demo is loaded.

use chrono::{Duration, Utc};
use hmis_iam::IamModule;
use hmis_platform::TenantId;
use hmis_proto::openhmis::iam::v1 as iam_pb;
use hmis_proto::openhmis::scheduling::v1 as pb;
use hmis_scheduling::SchedulingApi;
use iam_pb::admin_service_server::AdminService;
use pb::scheduling_service_server::SchedulingService;
use tonic::Status;

use super::organisation::DemoWards;
use super::{missing, request};

pub async fn load_scheduling(
    scheduling: &SchedulingApi,
    iam: &IamModule,
    tenant_id: TenantId,
    wards: &DemoWards,
) -> Result<(), Status> {
    let cardiology = wards
        .get("CARD")
        .ok_or_else(|| missing("cardiology ward"))?;
    let clinic = scheduling
        .create_clinic(request(
            tenant_id,
            pb::CreateClinicRequest {
                request_id: "demo-clinic-CARD-OP".to_owned(),
                clinic: Some(pb::Clinic {
                    department_id: cardiology.clone(),
                    code: "CARD-OP".to_owned(),
                    name: "Cardiology consultations".to_owned(),
                    kind: pb::ClinicKind::Consultation.into(),
                    slot_minutes: 20,
                    capacity: 1,
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .clinic
        .ok_or_else(|| missing("clinic"))?;
    let physician = iam
        .admin_api()
        .list_users(request(
            tenant_id,
            iam_pb::ListUsersRequest {
                page_size: 500,
                page_token: String::new(),
            },
        ))
        .await?
        .into_inner()
        .users
        .into_iter()
        .find(|user| user.username == "physician")
        .ok_or_else(|| missing("demo physician"))?;
    scheduling
        .add_weekly_schedule(request(
            tenant_id,
            pb::AddWeeklyScheduleRequest {
                request_id: "demo-schedule-CARD-OP".to_owned(),
                schedule: Some(pb::WeeklySchedule {
                    clinic_id: clinic.id.clone(),
                    clinician_id: physician.id,
                    hours: (1..=5)
                        .map(|weekday| pb::WorkingHours {
                            weekday,
                            start: "08:00".to_owned(),
                            end: "12:00".to_owned(),
                        })
                        .collect(),
                    valid_from: "2026-01-01".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await?;
    let today = Utc::now().date_naive();
    scheduling
        .open_slots(request(
            tenant_id,
            pb::OpenSlotsRequest {
                request_id: "demo-slots-CARD-OP".to_owned(),
                clinic_id: clinic.id,
                first_day: today.to_string(),
                last_day: (today + Duration::days(27)).to_string(),
            },
        ))
        .await?;
    Ok(())
}
