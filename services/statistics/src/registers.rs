//! The statistics office's registers: admissions (patients treated), transfers and
//! discharges of a period, with filters, paged and as CSV. They name patients by id, so each
//! page is audited as a read of those patients.

use std::fmt::Write;

use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::parse_uuid;
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::statistics::v1 as pb;
use serde::{Deserialize, Serialize};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::grpc::{READ, StatisticsApi};
use crate::reports::{Period, csv_field, local_days};
use crate::store::{self, Register, RegisterFilter, RegisterRow};

const DISCHARGE_TYPES: &[&str] = &["alive", "deceased", "transferred"];

#[derive(Serialize, Deserialize)]
struct EntryKey {
    at: chrono::DateTime<chrono::Utc>,
    admission_id: Uuid,
    position: i32,
}

fn to_pb(row: &RegisterRow) -> pb::RegisterEntry {
    pb::RegisterEntry {
        admission_id: row.admission_id.to_string(),
        admission_number: row.admission_number.clone(),
        patient_id: row.patient_id.to_string(),
        time: timestamp(row.at),
        department_id: row.department_id.to_string(),
        from_department_id: row
            .from_department_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        admission_type: row.admission_type.clone(),
        diagnosis_code: row.diagnosis_code.clone(),
        discharge_type: row.discharge_type.clone().unwrap_or_default(),
        length_of_stay_days: row
            .length_of_stay_days
            .map(|days| format!("{days:.2}"))
            .unwrap_or_default(),
    }
}

fn csv(entries: &[pb::RegisterEntry]) -> String {
    let mut csv = String::from(
        "admission_number,admission_id,patient_id,time,department_id,from_department_id,\
         admission_type,diagnosis_code,discharge_type,length_of_stay_days\n",
    );
    for entry in entries {
        let time = entry
            .time
            .as_ref()
            .and_then(|time| chrono::DateTime::from_timestamp(time.seconds, 0))
            .map(|time| time.to_rfc3339())
            .unwrap_or_default();
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_field(&entry.admission_number),
            entry.admission_id,
            entry.patient_id,
            time,
            entry.department_id,
            entry.from_department_id,
            csv_field(&entry.admission_type),
            csv_field(&entry.diagnosis_code),
            entry.discharge_type,
            entry.length_of_stay_days
        );
    }
    csv
}

impl StatisticsApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn register(
        &self,
        request: Request<pb::ListRegisterRequest>,
    ) -> Result<Response<pb::ListRegisterResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let register = match pb::RegisterKind::try_from(message.register) {
            Ok(pb::RegisterKind::Admissions) => Some(Register::Admissions),
            Ok(pb::RegisterKind::Transfers) => Some(Register::Transfers),
            Ok(pb::RegisterKind::Discharges) => Some(Register::Discharges),
            _ => {
                violations.add("register", "must be ADMISSIONS, TRANSFERS or DISCHARGES");
                None
            }
        };
        let period = Period::parse(
            &message.facility_id,
            &message.from_date,
            &message.to_date,
            &mut violations,
        );
        let department_id = if message.department_id.is_empty() {
            None
        } else {
            violations.check("department_id", parse_uuid(&message.department_id))
        };
        let prefix = message.diagnosis_prefix.trim().to_uppercase();
        if prefix.len() > 8
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            violations.add(
                "diagnosis_prefix",
                "must be the start of an ICD-10 code, e.g. I2",
            );
        }
        let discharge_type = match message.discharge_type.as_str() {
            "" => None,
            value if DISCHARGE_TYPES.contains(&value) => Some(value.to_owned()),
            _ => {
                violations.add("discharge_type", "must be alive, deceased or transferred");
                None
            }
        };
        let admission_type = message.admission_type.trim().to_lowercase();
        if admission_type.len() > 32
            || !admission_type
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
        {
            violations.add(
                "admission_type",
                "must be an admission type such as emergency or elective",
            );
        }
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations.check("page_token", decode_token::<EntryKey>(&message.page_token));
        let (Some(register), Some(period), Some(size), Some(after), true) =
            (register, period, size, after, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        self.authorize(&context, READ, period.facility)?;
        let office = &self.office;
        let zone = office
            .directory
            .time_zone(&context, period.facility)
            .await?;
        let (start, end) = local_days(zone, period.from, period.to)?;
        let filter = RegisterFilter {
            department_id,
            diagnosis_prefix: prefix,
            discharge_type,
            admission_type: (!admission_type.is_empty()).then_some(admission_type),
        };
        let mut tx = office
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let rows = store::register_entries(
            &mut tx,
            register,
            period.facility,
            start,
            end,
            &filter,
            after.map(|key| (key.at, key.admission_id, key.position)),
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| EntryKey {
            at: row.at,
            admission_id: row.admission_id,
            position: row.position,
        });
        let mut patients: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
        patients.sort_unstable();
        patients.dedup();
        if !patients.is_empty() {
            audit::record(
                &mut tx,
                &context,
                &AuditEntry::ok(&patients),
                office.clock.now(),
            )
            .await
            .map_err(Error::from)?;
        }
        tx.commit().await.map_err(Error::from)?;
        let entries: Vec<pb::RegisterEntry> = rows.iter().map(to_pb).collect();
        let csv = csv(&entries);
        Ok(Response::new(pb::ListRegisterResponse {
            entries,
            next_page_token,
            csv,
        }))
    }
}
