//! See the module documentation of `crate::app`.

use super::*;

/// What an AssignBed call asks for, parsed.
#[derive(Debug)]
pub(crate) struct BedAssignment {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) bed_id: Uuid,
    pub(crate) etag: Option<Version>,
    pub(crate) at: Option<DateTime<Utc>>,
}

/// What a TransferPatient call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Transfer {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) department_id: Uuid,
    pub(crate) bed_id: Option<Uuid>,
    pub(crate) etag: Option<Version>,
    pub(crate) at: Option<DateTime<Utc>>,
    pub(crate) reason: Text,
}

/// What a ReserveBed call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Reservation {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) bed_id: Uuid,
    pub(crate) etag: Option<Version>,
}

/// What a ReleaseBedReservation call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Release {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) etag: Option<Version>,
}

/// What a DischargePatient call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Discharge {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) kind: DischargeType,
    pub(crate) at: Option<DateTime<Utc>>,
    pub(crate) destination: Line,
    pub(crate) etag: Option<Version>,
}

/// What an UndoDischarge or a CancelAdmission call asks for, parsed: a change of an
/// admission that needs its reason.
#[derive(Debug)]
pub(crate) struct ReasonedChange {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) reason: Text,
    pub(crate) etag: Option<Version>,
}

impl Adt {
    pub(crate) async fn assign_bed(
        &self,
        context: &RequestContext,
        message: &pb::AssignBedRequest,
        assignment: BedAssignment,
    ) -> Result<pb::AssignBedResponse> {
        let BedAssignment {
            key,
            id,
            bed_id,
            etag,
            at,
        } = assignment;
        if let Some(replayed) = self
            .calls
            .replay(context, &method("AssignBed"), &key, message)
            .await?
        {
            return Ok(replayed);
        }
        let seen = self.peek(context, id).await?;
        let patient = self.patient(context, seen.patient_id).await?;
        let bed = self.directory.bed(context, bed_id).await?;
        check_bed(&bed, seen.department_id, &patient)?;
        let response = self
            .moving(
                context,
                "AssignBed",
                &key,
                message,
                id,
                etag,
                move |row| Move {
                    department_id: row.department_id,
                    bed_id: Some(bed_id),
                    at,
                    time_field: "assign_time",
                    reason: String::new(),
                },
                |admission| pb::AssignBedResponse {
                    admission: Some(admission),
                },
            )
            .await?;
        Ok(response)
    }

    pub(crate) async fn transfer_patient(
        &self,
        context: &RequestContext,
        message: &pb::TransferPatientRequest,
        transfer: Transfer,
    ) -> Result<pb::TransferPatientResponse> {
        let Transfer {
            key,
            id,
            department_id,
            bed_id,
            etag,
            at,
            reason,
        } = transfer;
        if let Some(replayed) = self
            .calls
            .replay(context, &method("TransferPatient"), &key, message)
            .await?
        {
            return Ok(replayed);
        }
        let seen = self.peek(context, id).await?;
        let ward = self.directory.ward(context, department_id).await?;
        check_ward(&ward, seen.r#type)?;
        if ward.facility_id != seen.facility_id {
            return Err(Error::precondition(
                "the receiving ward is in another facility: discharge as transferred and admit there",
            ));
        }
        if let Some(bed_id) = bed_id {
            let patient = self.patient(context, seen.patient_id).await?;
            check_bed(
                &self.directory.bed(context, bed_id).await?,
                department_id,
                &patient,
            )?;
        }
        let response = self
            .moving(
                context,
                "TransferPatient",
                &key,
                message,
                id,
                etag,
                move |_| Move {
                    department_id,
                    bed_id,
                    at,
                    time_field: "transfer_time",
                    reason: reason.as_str().to_owned(),
                },
                |admission| pb::TransferPatientResponse {
                    admission: Some(admission),
                },
            )
            .await?;
        Ok(response)
    }

    pub(crate) async fn reserve_bed(
        &self,
        context: &RequestContext,
        message: &pb::ReserveBedRequest,
        reservation: Reservation,
    ) -> Result<pb::ReserveBedResponse> {
        let Reservation {
            key,
            id,
            bed_id,
            etag,
        } = reservation;
        let now = self.calls.now();
        if let Some(replayed) = self
            .calls
            .replay(context, &method("ReserveBed"), &key, message)
            .await?
        {
            return Ok(replayed);
        }
        let seen = self.peek(context, id).await?;
        let patient = self.patient(context, seen.patient_id).await?;
        let bed = self.directory.bed(context, bed_id).await?;
        // A bed may be held in any ward (the one the patient will move to), so only the
        // bed's own state and sex are checked here.
        check_bed(&bed, bed.department_id, &patient)?;
        let response = self
            .calls
            .write(context, &method("ReserveBed"), &key, message, async |tx| {
                lock_for_change(tx, context, id, ADMIT, Must::BeOpen, etag).await?;
                let stays = store::stays_of(tx, id).await?;
                if open_reservation(&stays).is_some() {
                    return Err(Error::precondition(
                        "the admission already holds a bed; release it first",
                    ));
                }
                if open_stay(&stays).and_then(|stay| stay.bed_id) == Some(bed_id) {
                    return Err(Error::precondition("the patient is already in that bed"));
                }
                store::insert_stay(
                    tx,
                    &store::NewStay {
                        admission_id: id,
                        kind: "reservation",
                        department_id: bed.department_id,
                        bed_id: Some(bed_id),
                        start_time: now,
                        end_time: None,
                        reason: "",
                    },
                )
                .await?;
                let row = store::update_admission(tx, id, &AdmissionChange::default(), now).await?;
                events::bed(self, tx, bed_id, &row, pb::BedOccupancy::Reserved, now).await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(pb::ReserveBedResponse {
                    admission: Some(Adt::to_pb(tx, &row).await?),
                })
            })
            .await?;
        Ok(response)
    }

    pub(crate) async fn release_bed_reservation(
        &self,
        context: &RequestContext,
        message: &pb::ReleaseBedReservationRequest,
        release: Release,
    ) -> Result<pb::ReleaseBedReservationResponse> {
        let Release { key, id, etag } = release;
        let now = self.calls.now();
        let response = self
            .calls
            .write(
                context,
                &method("ReleaseBedReservation"),
                &key,
                message,
                async |tx| {
                    lock_for_change(tx, context, id, ADMIT, Must::BeAny, etag).await?;
                    let stays = store::stays_of(tx, id).await?;
                    let Some(reservation) = open_reservation(&stays) else {
                        return Err(Error::precondition("the admission holds no bed"));
                    };
                    store::set_stay_end(tx, reservation.id, Some(now.max(reservation.start_time)))
                        .await?;
                    let row =
                        store::update_admission(tx, id, &AdmissionChange::default(), now).await?;
                    if let Some(bed_id) = reservation.bed_id {
                        events::bed(self, tx, bed_id, &row, pb::BedOccupancy::Free, now).await?;
                    }
                    audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::ReleaseBedReservationResponse {
                        admission: Some(Adt::to_pb(tx, &row).await?),
                    })
                },
            )
            .await?;
        Ok(response)
    }

    pub(crate) async fn discharge_patient(
        &self,
        context: &RequestContext,
        message: &pb::DischargePatientRequest,
        discharge: Discharge,
    ) -> Result<pb::DischargePatientResponse> {
        let Discharge {
            key,
            id,
            kind,
            at,
            destination,
            etag,
        } = discharge;
        let now = self.calls.now();
        let response = self
            .calls
            .write(
                context,
                &method("DischargePatient"),
                &key,
                message,
                async |tx| {
                    lock_for_change(tx, context, id, ADMIT, Must::BeOpen, etag).await?;
                    if store::discharge_requires_principal_diagnosis(tx).await?
                        && !store::has_principal_diagnosis(tx, id).await?
                    {
                        return Err(Error::precondition(
                            "this hospital discharges only with a principal diagnosis recorded \
                             in the stay's encounter",
                        ));
                    }
                    let stays = store::stays_of(tx, id).await?;
                    let current = open_stay(&stays)
                        .cloned()
                        .ok_or(Error::corrupt("open admission without an open stay"))?;
                    let at = self
                        .movement_time_in(
                            tx,
                            context,
                            "discharge_time",
                            (at, Some(current.start_time)),
                            now,
                        )
                        .await?;
                    store::set_stay_end(tx, current.id, Some(at)).await?;
                    if let Some(reservation) = open_reservation(&stays) {
                        store::set_stay_end(
                            tx,
                            reservation.id,
                            Some(at.max(reservation.start_time)),
                        )
                        .await?;
                    }
                    let row = store::update_admission(
                        tx,
                        id,
                        &AdmissionChange {
                            status: Some(AdmissionStatus::Discharged),
                            bed_id: Some(None),
                            discharge: Some(Some(DischargeColumns {
                                kind,
                                time: at,
                                destination: destination.as_str().to_owned(),
                                by: context.user_id(),
                                recorded_at: now,
                            })),
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
                    if let Some(bed_id) = current.bed_id {
                        events::bed(self, tx, bed_id, &row, pb::BedOccupancy::Cleaning, at).await?;
                    }
                    if let Some(bed_id) = open_reservation(&stays).and_then(|stay| stay.bed_id) {
                        events::bed(self, tx, bed_id, &row, pb::BedOccupancy::Free, at).await?;
                    }
                    let admission = Adt::to_pb(tx, &row).await?;
                    events::publish(
                        self,
                        tx,
                        events::PATIENT_DISCHARGED,
                        &row,
                        &pb::PatientDischarged {
                            admission: Some(admission.clone()),
                        },
                        now,
                    )
                    .await?;
                    audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::DischargePatientResponse {
                        admission: Some(admission),
                    })
                },
            )
            .await?;
        Ok(response)
    }

    pub(crate) async fn undo_discharge(
        &self,
        context: &RequestContext,
        message: &pb::UndoDischargeRequest,
        change: ReasonedChange,
    ) -> Result<pb::UndoDischargeResponse> {
        let ReasonedChange {
            key,
            id,
            reason,
            etag,
        } = change;
        let now = self.calls.now();
        let window = chrono::Duration::from_std(self.options.undo_discharge_window)
            .unwrap_or(chrono::Duration::MAX);
        let response = self
            .calls.write(context, &method("UndoDischarge"), &key, message, async |tx| {
                    let row = lock_for_change(tx, context, id, UNDO, Must::BeAny, etag).await?;
                    let (Some(recorded), Some(kind), Some(time)) = (row.discharge_recorded_at, row.discharge_type, row.discharge_time) else {
                        return Err(Error::precondition(format!("admission {} is not discharged", row.admission_number)));
                    };
                    if !undo_allowed(recorded, now, window) {
                        return Err(Error::precondition(format!(
                            "the discharge was recorded more than {} hours ago; it can no longer be undone",
                            window.num_hours()
                        )));
                    }
                    let stays = store::stays_of(tx, id).await?;
                    let last = stays
                        .iter()
                        .filter(|stay| !stay.is_reservation() && !stay.cancelled)
                        .max_by_key(|stay| (stay.start_time, stay.id))
                        .cloned()
                        .ok_or(Error::corrupt("discharged admission without stays"))?;
                    let undone = pb::Discharge {
                        r#type: discharge_type_to_pb(kind).into(),
                        discharge_time: timestamp(time),
                        destination: row.discharge_destination.clone(),
                        discharged_by: row.discharged_by.map(|id| id.to_string()).unwrap_or_default(),
                    };
                    store::set_stay_end(tx, last.id, None).await.map_err(|error| match error {
                        Error::BedTaken => Error::precondition(
                            "the patient's bed was taken since the discharge; undo is not possible until it is free",
                        ),
                        other => other,
                    })?;
                    let row = store::update_admission(
                        tx,
                        id,
                        &AdmissionChange {
                            status: Some(AdmissionStatus::Admitted),
                            department_id: Some(last.department_id),
                            bed_id: Some(last.bed_id),
                            discharge: Some(None),
                            // The stay goes on: orders are possible again.
                            planned_discharge: Some(None),
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
                    if let Some(bed_id) = last.bed_id {
                        events::bed(self, tx, bed_id, &row, pb::BedOccupancy::Occupied, now).await?;
                    }
                    let admission = Adt::to_pb(tx, &row).await?;
                    events::publish(self, tx, events::DISCHARGE_UNDONE, &row, &pb::DischargeUndone {
                        admission: Some(admission.clone()),
                        reason: reason.as_str().to_owned(),
                        undone: Some(undone),
                    }, now).await?;
                    audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::UndoDischargeResponse { admission: Some(admission) })
                })
            .await?;
        Ok(response)
    }
}
