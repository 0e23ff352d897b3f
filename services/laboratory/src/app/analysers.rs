//! What an analyser sends over HL7 v2: an ORU^R01 applied whole or not at all, answered with
//! an ACK (AA) or a NACK (AE/AR naming the segment and field), and logged. A message whose
//! control id was accepted before is answered again without storing its results twice.

use hmis_platform::RequestContext;
use hmis_platform::TenantId;
use hmis_platform::TenantTx;
use hmis_platform::context::RequestId;
use uuid::Uuid;

use super::Laboratory;
use super::results::{Entering, EntryFault, Source};
use crate::app::Entry;
use crate::domain::{OrderStatus, ResultStatus, SpecimenStatus};
use crate::error::{Error, Result};
use crate::hl7::{self, ErrorCode, Header, Hl7Error, Oru};
use crate::store::{self, OrderRow};

/// How a message ended: its answer's code and what the log keeps.
enum Outcome {
    Applied(i32),
    Repeated,
    Refused(Hl7Error),
}

impl Laboratory {
    /// Answers one HL7 message (the text between MLLP's frame bytes) with its acknowledgment.
    pub(crate) async fn receive_hl7(&self, raw: &str) -> String {
        let now = self.calls.now();
        let ack_id = ack_control_id();
        let parsed = hl7::parse_oru(raw);
        let header = match &parsed {
            Ok(oru) => oru.header.clone(),
            Err(_) => hl7::read_header(raw).unwrap_or_default(),
        };
        let route = match self
            .route(&header.sending_application, &header.sending_facility)
            .await
        {
            Ok(route) => route,
            Err(error) => {
                tracing::warn!(%error, "an analyser's route could not be read");
                let failed = unavailable();
                return hl7::acknowledgment(&header, &ack_id, now, Some(&failed));
            }
        };
        let Some((tenant_id, analyser_id)) = route else {
            let unknown = match parsed {
                Err(error) if header.sending_application.is_empty() => error,
                _ => Hl7Error::at(
                    "MSH",
                    1,
                    3,
                    ErrorCode::UnknownKey,
                    "the sending application and facility are not a registered analyser",
                ),
            };
            return hl7::acknowledgment(&header, &ack_id, now, Some(&unknown));
        };
        let outcome = match parsed {
            Ok(oru) => match self.apply(tenant_id, analyser_id, &oru).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::warn!(%error, %analyser_id, "an analyser's results could not be stored");
                    return hl7::acknowledgment(&header, &ack_id, now, Some(&unavailable()));
                }
            },
            Err(error) => Outcome::Refused(error),
        };
        let refusal = match outcome {
            Outcome::Applied(count) => {
                tracing::info!(%analyser_id, results = count, "analyser results stored");
                None
            }
            Outcome::Repeated => None,
            Outcome::Refused(error) => {
                if let Err(failure) = self
                    .log_refusal(tenant_id, analyser_id, &header, &error)
                    .await
                {
                    tracing::warn!(error = %failure, "a refused message could not be logged");
                }
                Some(error)
            }
        };
        hl7::acknowledgment(&header, &ack_id, now, refusal.as_ref())
    }

    /// Applies an ORU in one transaction of the analyser's tenant: every result, or none.
    async fn apply(&self, tenant_id: TenantId, analyser_id: Uuid, oru: &Oru) -> Result<Outcome> {
        let now = self.calls.now();
        let mut tx = self
            .calls
            .database()
            .begin(tenant_id, &RequestId::generate())
            .await?;
        let control_id = oru.header.control_id.as_str();
        let (code, active, repeated) =
            store::analyser_for_message(&mut tx, analyser_id, control_id).await?;
        if !active {
            return Ok(Outcome::Refused(Hl7Error::at(
                "MSH",
                1,
                3,
                ErrorCode::UnknownKey,
                "the analyser is not active",
            )));
        }
        if repeated {
            return Ok(Outcome::Repeated);
        }
        let message_id = Uuid::now_v7();
        let mut stored = 0;
        let mut patients: Vec<Uuid> = Vec::new();
        for specimen in &oru.specimens {
            let (order, fault) = self
                .apply_specimen(&mut tx, (&code, analyser_id, message_id), specimen)
                .await?;
            if let Some(fault) = fault {
                return Ok(Outcome::Refused(fault));
            }
            if let Some((order, count)) = order {
                stored += count;
                if !patients.contains(&order.patient_id) {
                    patients.push(order.patient_id);
                }
            }
        }
        if !store::log_message(
            &mut tx,
            message_id,
            analyser_id,
            (control_id, &oru.header.message_type),
            "AA",
            "",
            stored,
            now,
        )
        .await?
        {
            // Another connection applied the same message first: this copy changes nothing.
            return Ok(Outcome::Repeated);
        }
        let context = RequestContext::system(tenant_id)
            .acting_on(&format!("hl7 {} from {code}", oru.header.message_type));
        super::record(&mut tx, &context, &patients, now).await?;
        tx.commit().await?;
        Ok(Outcome::Applied(stored))
    }

    /// The results of one OBR: its specimen by accession number, each OBX entered.
    async fn apply_specimen(
        &self,
        tx: &mut TenantTx,
        (analyser_code, analyser_id, message_id): (&str, Uuid, Uuid),
        specimen: &hl7::SpecimenResults,
    ) -> Result<(Option<(OrderRow, i32)>, Option<Hl7Error>)> {
        let obr = |field: usize, code: ErrorCode, message: &str| {
            Some(Hl7Error::at(
                "OBR",
                specimen.occurrence,
                field,
                code,
                message,
            ))
        };
        let Some(found) = store::lock_specimen(tx, &specimen.accession).await? else {
            return Ok((
                None,
                obr(
                    3,
                    ErrorCode::UnknownKey,
                    "no specimen has this accession number",
                ),
            ));
        };
        let order = store::lock_order(tx, found.order_id).await?;
        match (found.status, order.status) {
            (_, OrderStatus::Cancelled) => {
                return Ok((
                    None,
                    obr(
                        3,
                        ErrorCode::ApplicationError,
                        "the specimen's order is cancelled",
                    ),
                ));
            }
            (SpecimenStatus::Rejected, _) => {
                return Ok((
                    None,
                    obr(3, ErrorCode::ApplicationError, "the specimen was rejected"),
                ));
            }
            (SpecimenStatus::Collected, _) => {
                // The analyser measured the tube: it is in the laboratory.
                store::receive_specimen(tx, found.id, analyser_id, self.calls.now()).await?;
            }
            (SpecimenStatus::Received, _) => {}
        }
        let mut entering = Entering::load(tx, order).await?;
        let mut count = 0;
        for observation in &specimen.observations {
            let obx = |field: usize, code: ErrorCode, message: String| {
                Some(Hl7Error::at(
                    "OBX",
                    observation.occurrence,
                    field,
                    code,
                    message,
                ))
            };
            if !found.test_codes.contains(&observation.code) {
                return Ok((
                    None,
                    obx(
                        3,
                        ErrorCode::UnknownKey,
                        "the test is not one of the specimen's".into(),
                    ),
                ));
            }
            let source = Source {
                label: format!("analyser:{analyser_code}"),
                by: analyser_id,
                observed_at: observation.observed_at.unwrap_or_else(|| self.calls.now()),
                message_id: Some(message_id),
                correction: (observation.status == 'C')
                    .then(|| "corrected by the analyser".to_owned()),
                status: ResultStatus::Entered,
                sender_flags: observation.abnormal_flags.clone(),
            };
            let entry = Entry {
                test_code: observation.code.clone(),
                value: observation.value.clone(),
                unit: Some(observation.unit.clone()),
            };
            match self.enter(tx, &mut entering, &entry, &source).await? {
                Ok(_) => count += 1,
                Err(EntryFault::UnknownTest) => {
                    return Ok((
                        None,
                        obx(
                            3,
                            ErrorCode::UnknownKey,
                            "the test is not one of the order's".into(),
                        ),
                    ));
                }
                Err(EntryFault::Value(why)) => {
                    return Ok((
                        None,
                        obx(5, ErrorCode::DataType, format!("the value {why}")),
                    ));
                }
                Err(EntryFault::Unit(why)) => {
                    return Ok((None, obx(6, ErrorCode::DataType, format!("the unit {why}"))));
                }
                Err(EntryFault::Final) => {
                    return Ok((
                        None,
                        obx(
                            11,
                            ErrorCode::ApplicationError,
                            "the test's result is final; send a correction (C)".into(),
                        ),
                    ));
                }
            }
        }
        self.store_entered(tx, &mut entering).await?;
        // Where the order stands now, from what was entered and its specimens.
        let specimens = store::specimens_of(tx, &[entering.order.id]).await?;
        let status = entering.status(&specimens);
        super::keep_status(tx, &entering.order, status, self.calls.now()).await?;
        Ok((Some((entering.order, count)), None))
    }

    /// The tenant and analyser sending as `application` at `facility`. Routes are only ever
    /// added (never changed or removed: an analyser is deactivated instead), so a route found
    /// is kept for the process's life and read once.
    async fn route(&self, application: &str, facility: &str) -> Result<Option<(TenantId, Uuid)>> {
        let key = (application.to_owned(), facility.to_owned());
        if let Some(found) = self
            .routes
            .read()
            .ok()
            .and_then(|routes| routes.get(&key).copied())
        {
            return Ok(Some(found));
        }
        let found =
            store::analyser_route(self.calls.database().app_pool(), application, facility).await?;
        if let (Some(found), Ok(mut routes)) = (found, self.routes.write()) {
            routes.insert(key, found);
        }
        Ok(found)
    }

    /// Logs a refused message in a transaction of its own (the refused one rolled back).
    async fn log_refusal(
        &self,
        tenant_id: TenantId,
        analyser_id: Uuid,
        header: &Header,
        error: &Hl7Error,
    ) -> Result<()> {
        let mut tx = self
            .calls
            .database()
            .begin(tenant_id, &RequestId::generate())
            .await?;
        let code = if error.rejected { "AR" } else { "AE" };
        store::log_message(
            &mut tx,
            Uuid::now_v7(),
            analyser_id,
            (
                &hmis_platform::error::bounded(header.control_id.clone(), 64),
                &hmis_platform::error::bounded(header.message_type.clone(), 16),
            ),
            code,
            &error.describe(),
            0,
            self.calls.now(),
        )
        .await?;
        tx.commit().await.map_err(Error::from)
    }
}

/// The answer when the database could not take the message: the analyser sends it again.
fn unavailable() -> Hl7Error {
    Hl7Error::at(
        "MSH",
        1,
        0,
        ErrorCode::ApplicationError,
        "the results could not be stored now; send the message again",
    )
}

/// The ACK's own control id: 20 characters, as MSH-10 allows.
fn ack_control_id() -> String {
    let mut id = Uuid::now_v7().simple().to_string();
    id.truncate(20);
    id
}
