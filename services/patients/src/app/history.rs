//! What belongs to one record besides its current state: its versions and its visits.

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::paging::{PageSize, encode_token, finish_page};
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::patients::v1 as pb;
use prost::Message;
use uuid::Uuid;

use super::{Registry, change_kind_from_db};
use crate::error::Error;
use crate::store;

/// A page of what belongs to one record, starting after `after` (the previous page's last).
pub(crate) struct HistoryPage<After> {
    pub(crate) patient_id: Uuid,
    pub(crate) size: PageSize,
    pub(crate) after: Option<After>,
}

fn visit_to_pb(row: &store::VisitRow) -> pb::Visit {
    let status = match row.status.as_str() {
        "in_progress" => pb::VisitStatus::InProgress,
        "finished" => pb::VisitStatus::Finished,
        "cancelled" => pb::VisitStatus::Cancelled,
        _ => pb::VisitStatus::Unspecified,
    };
    pb::Visit {
        admission_id: row.admission_id.to_string(),
        admission_number: row.admission_number.clone(),
        facility_id: row.facility_id.to_string(),
        department_id: row.department_id.to_string(),
        admission_type: row.admission_type.clone(),
        status: status.into(),
        start_time: timestamp(row.start_time),
        end_time: row.end_time.and_then(timestamp),
        patient_id: row.patient_id.to_string(),
    }
}

impl Registry {
    /// The record's versions, newest first, each with the whole record as it was.
    pub(crate) async fn list_patient_versions(
        &self,
        context: &RequestContext,
        page: HistoryPage<i64>,
    ) -> Result<pb::ListPatientVersionsResponse, Error> {
        let HistoryPage {
            patient_id,
            size,
            after: before,
        } = page;
        let rows = self
            .read_of_record(context, patient_id, async |tx| {
                store::list_versions(tx, patient_id, before, size.fetch_limit()).await
            })
            .await?;
        let more = rows.len() > size.get();
        let versions = rows
            .iter()
            .take(size.get())
            .map(|row| {
                let patient = pb::Patient::decode(row.snapshot.as_slice())
                    .map_err(|_| Error::corrupt("version snapshot"))?;
                Ok(pb::PatientVersion {
                    version: row.version,
                    kind: change_kind_from_db(&row.kind).into(),
                    changed_fields: row.changed_fields.clone(),
                    changed_by: row.changed_by.to_string(),
                    change_time: timestamp(row.changed_at),
                    patient: Some(patient),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let next_page_token = match versions.last() {
            Some(last) if more => encode_token(&last.version),
            _ => String::new(),
        };
        Ok(pb::ListPatientVersionsResponse {
            versions,
            next_page_token,
        })
    }

    /// The record's admissions and visits, as admissions published them.
    pub(crate) async fn list_patient_visits(
        &self,
        context: &RequestContext,
        page: HistoryPage<(DateTime<Utc>, Uuid)>,
    ) -> Result<pb::ListPatientVisitsResponse, Error> {
        let HistoryPage {
            patient_id,
            size,
            after,
        } = page;
        let rows = self
            .read_of_record(context, patient_id, async |tx| {
                store::list_visits(tx, patient_id, after, size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) =
            finish_page(rows, size, |row| (row.start_time, row.admission_id));
        Ok(pb::ListPatientVisitsResponse {
            visits: rows.iter().map(visit_to_pb).collect(),
            next_page_token,
        })
    }
}
