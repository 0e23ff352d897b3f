//! See the module documentation of `crate::app`. The stay's record handed over by the ward to
//! medical records after the discharge (sender, where the paper file is), and received there.

use hmis_platform::auth::Target;

use super::*;
use crate::store::HandoverRow;

/// Receives records handed over by the wards (medical records).
pub(crate) const RECORDS: &str = "admissions.records";

/// What a HandOverRecord call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Handover {
    pub(crate) key: RequestKey,
    pub(crate) admission_id: Uuid,
    pub(crate) location: Line,
    pub(crate) note: Text,
}

/// What a ReceiveRecord call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Receipt {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    /// `None`: where the ward said.
    pub(crate) location: Option<Line>,
}

fn to_pb(row: &HandoverRow) -> pb::RecordHandover {
    pb::RecordHandover {
        id: row.id.to_string(),
        admission_id: row.admission_id.to_string(),
        patient_id: row.patient_id.to_string(),
        facility_id: row.facility_id.to_string(),
        sent_by: row.sent_by.to_string(),
        send_time: timestamp(row.sent_at),
        paper_file_location: row.paper_file_location.clone(),
        note: row.note.clone(),
        received_by: row.received_by.map(|id| id.to_string()).unwrap_or_default(),
        receive_time: row.received_at.and_then(timestamp),
    }
}

impl Adt {
    pub(crate) async fn hand_over_record(
        &self,
        context: &RequestContext,
        message: &pb::HandOverRecordRequest,
        handover: Handover,
    ) -> Result<pb::HandOverRecordResponse> {
        let Handover {
            key,
            admission_id,
            location,
            note,
        } = handover;
        let now = self.calls.now();
        let response = self
            .calls
            .write(
                context,
                &method("HandOverRecord"),
                &key,
                message,
                async |tx| {
                    let row = lock_for_change(tx, context, admission_id, ADMIT, Must::BeAny, None)
                        .await?;
                    if row.status != AdmissionStatus::Discharged {
                        return Err(Error::precondition(format!(
                            "admission {} is {}: its record goes to medical records after the \
                         discharge",
                            row.admission_number, row.status
                        )));
                    }
                    if store::handover_of(tx, admission_id).await?.is_some() {
                        return Err(Error::precondition(
                            "the stay's record was already handed over",
                        ));
                    }
                    let handover = HandoverRow {
                        id: Uuid::now_v7(),
                        admission_id,
                        patient_id: row.patient_id,
                        facility_id: row.facility_id,
                        sent_by: context.user_id(),
                        sent_at: now,
                        paper_file_location: location.as_str().to_owned(),
                        note: note.as_str().to_owned(),
                        received_by: None,
                        received_at: None,
                    };
                    store::insert_handover(tx, &handover).await?;
                    audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::HandOverRecordResponse {
                        handover: Some(to_pb(&handover)),
                    })
                },
            )
            .await?;
        Ok(response)
    }

    pub(crate) async fn receive_record(
        &self,
        context: &RequestContext,
        message: &pb::ReceiveRecordRequest,
        receipt: Receipt,
    ) -> Result<pb::ReceiveRecordResponse> {
        let Receipt { key, id, location } = receipt;
        let now = self.calls.now();
        let response = self
            .calls
            .write(
                context,
                &method("ReceiveRecord"),
                &key,
                message,
                async |tx| {
                    let handover = store::get_handover(tx, id).await?;
                    context
                        .authorize(RECORDS, &Target::facility(handover.facility_id))
                        .map_err(refused(handover.patient_id))?;
                    if handover.received_at.is_some() {
                        return Err(Error::precondition("the record was already received"));
                    }
                    let location = location
                        .as_ref()
                        .map_or(handover.paper_file_location.as_str(), Line::as_str);
                    let received =
                        store::receive_handover(tx, id, (context.user_id(), now), location).await?;
                    audit::record(tx, context, &AuditEntry::ok(&[handover.patient_id]), now)
                        .await?;
                    Ok(pb::ReceiveRecordResponse {
                        handover: Some(to_pb(&received)),
                    })
                },
            )
            .await?;
        Ok(response)
    }

    /// A facility's hand-overs: a read of the patients they name.
    pub(crate) async fn list_record_handovers(
        &self,
        context: &RequestContext,
        (facility_id, awaiting_only, size): (Uuid, bool, PageSize),
    ) -> Result<pb::ListRecordHandoversResponse> {
        context.authorize(RECORDS, &Target::facility(facility_id))?;
        let mut tx = self.read_tx(context).await?;
        let rows = store::handovers_of(&mut tx, facility_id, awaiting_only, size.fetch_limit() - 1)
            .await?;
        let patients: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
        self.commit_read(tx, context, Shown::patients(patients))
            .await?;
        Ok(pb::ListRecordHandoversResponse {
            handovers: rows.iter().map(to_pb).collect(),
        })
    }
}
