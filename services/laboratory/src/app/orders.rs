//! Orders: received from physicians' referrals, listed for the laboratory and the requester,
//! their specimens collected (with accession numbers and labels), received, rejected, and the
//! order cancelled.

use barcoders::generators::svg::SVG;
use barcoders::sym::code128::Code128;
use chrono::{DateTime, Datelike, Utc};
use hmis_encounters_api::InvestigationReferral;
use hmis_platform::auth::Target;
use hmis_platform::call::Shown;
use hmis_platform::context::RequestId;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::{RequestContext, TenantId, TenantTx};
use hmis_proto::events::laboratory::SPECIMEN_REJECTED;
use hmis_proto::openhmis::laboratory::v1 as pb;
use uuid::Uuid;

use super::{
    COLLECT, Laboratory, PROCESS, READ, authorize, current_view, method, order_target, order_view,
    orders_view, patient_shown, record, refused, settled,
};
use crate::convert;
use crate::domain::{
    OrderStatus, Priority, RejectionReason, Sex, SpecimenStatus, Tube, accession, tubes,
};
use crate::error::{Error, Result};
use crate::store::{self, OrderRow, OrderTestRow, SpecimenRow};

#[derive(Debug, Clone)]
pub(crate) struct WorklistQuery {
    pub facility_id: Uuid,
    /// One ward's orders only.
    pub department_id: Option<Uuid>,
    pub section: Option<String>,
    pub statuses: Vec<OrderStatus>,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Rejection {
    pub key: RequestKey,
    pub accession: String,
    pub reason: RejectionReason,
    pub note: String,
}

impl Laboratory {
    /// Makes sure the laboratory knows the patient's sex and birth date before their order
    /// arrives (the registry's events may come later than encounters'): an unknown patient is
    /// asked for, as the system acting for the laboratory, and kept below any version the
    /// registry's events bring. When the registry cannot be asked, the order still goes on
    /// (ranges for either sex and any age apply until the registry's event arrives).
    pub(crate) async fn know_patient(&self, tenant_id: TenantId, patient_id: Uuid) -> Result<()> {
        let database = self.calls.database();
        let mut tx = database.begin(tenant_id, &RequestId::generate()).await?;
        if store::patient_facts(&mut tx, patient_id).await?.is_some() {
            return Ok(());
        }
        drop(tx);
        let context = RequestContext::system(tenant_id).acting_on("laboratory order received");
        let facts = match self.patients.facts(&context, patient_id).await {
            Ok(facts) => facts,
            Err(error) => {
                tracing::warn!(%error, %patient_id, "the registry could not tell the patient's sex and age");
                return Ok(());
            }
        };
        let sex = match facts.sex {
            hmis_patients_api::Sex::Female => Sex::Female,
            hmis_patients_api::Sex::Male => Sex::Male,
            hmis_patients_api::Sex::Unknown => Sex::Unknown,
        };
        let mut tx = database.begin(tenant_id, &RequestId::generate()).await?;
        store::keep_patient(&mut tx, patient_id, 0, (sex, facts.birth_date)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores the order of a laboratory referral (once: a repeated event finds it stored).
    /// A panel ordered is its members; a code the catalogue does not hold is kept as ordered,
    /// without a section, for the laboratory to see and settle.
    pub(crate) async fn receive_referral(
        &self,
        tx: &mut TenantTx,
        referral: InvestigationReferral,
    ) -> Result<bool> {
        let catalogue = store::get_tests(tx, &referral.codes).await?;
        let mut members: Vec<String> = Vec::new();
        for test in &catalogue {
            members.extend(test.member_codes.iter().cloned());
        }
        let member_tests = store::get_tests(tx, &members).await?;
        let mut tests: Vec<OrderTestRow> = Vec::new();
        let order_id = Uuid::now_v7();
        let mut push = |code: &str, name: &str, section: &str| {
            if !tests.iter().any(|test| test.test_code == code) {
                tests.push(OrderTestRow {
                    order_id,
                    test_code: code.to_owned(),
                    test_name: name.to_owned(),
                    section_code: section.to_owned(),
                    specimen_id: None,
                });
            }
        };
        for code in &referral.codes {
            match catalogue.iter().find(|test| &test.code == code) {
                Some(test) if !test.member_codes.is_empty() => {
                    for member in &test.member_codes {
                        if let Some(member) = member_tests.iter().find(|m| &m.code == member) {
                            push(&member.code, &member.name, &member.section_code);
                        }
                    }
                }
                Some(test) => push(&test.code, &test.name, &test.section_code),
                None => push(code, code, ""),
            }
        }
        let order = OrderRow {
            id: order_id,
            referral_id: referral.referral_id,
            encounter_id: referral.encounter_id,
            patient_id: referral.patient_id,
            admission_id: referral.admission_id,
            department_id: referral.department_id,
            facility_id: referral.facility_id,
            requested_by: referral.referred_by,
            priority: Priority::of(referral.urgency),
            status: OrderStatus::Ordered,
            reason: referral.reason,
            ordered_at: referral.at,
            final_at: None,
            cancel_reason: String::new(),
        };
        store::insert_order(tx, &order, &tests).await
    }

    pub(crate) async fn worklist(
        &self,
        context: &RequestContext,
        query: WorklistQuery,
    ) -> Result<pb::ListWorklistResponse> {
        let target = match query.department_id {
            Some(department) => Target::department(query.facility_id, department),
            None => Target::facility(query.facility_id),
        };
        context.authorize(READ, &target)?;
        self.calls
            .read(context, async |tx| {
                let orders = store::worklist(
                    tx,
                    (query.facility_id, query.department_id),
                    query.section.as_deref(),
                    &query.statuses,
                    query.limit,
                )
                .await?;
                let patients = orders.iter().map(|order| order.patient_id).collect();
                let orders = orders_view(tx, orders).await?;
                Ok((
                    pb::ListWorklistResponse { orders },
                    Shown::patients(patients),
                ))
            })
            .await
    }

    pub(crate) async fn get_order(
        &self,
        context: &RequestContext,
        order_id: Uuid,
    ) -> Result<pb::GetOrderResponse> {
        self.calls
            .read(context, async |tx| {
                let order = store::get_order(tx, order_id).await?;
                let access = context
                    .authorize_patient(READ, &order_target(&order))
                    .map_err(refused(vec![order.patient_id]))?;
                let shown = Shown::patient(order.patient_id, &access);
                let order = order_view(tx, order).await?;
                Ok((pb::GetOrderResponse { order: Some(order) }, shown))
            })
            .await
    }

    /// A patient's orders; those of wards outside the caller's scope need the break-glass
    /// reason, as any read of a patient.
    pub(crate) async fn patient_orders(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListPatientOrdersResponse> {
        context.authorize_any(READ)?;
        self.calls
            .read(context, async |tx| {
                let orders = store::patient_orders(tx, patient_id).await?;
                let shown = patient_shown(context, patient_id, &orders)?;
                let orders = orders_view(tx, orders).await?;
                Ok((pb::ListPatientOrdersResponse { orders }, shown))
            })
            .await
    }

    /// Collects what the order still needs: one specimen per tube for its tests that no live
    /// specimen carries (none yet, or the earlier one rejected).
    pub(crate) async fn collect(
        &self,
        context: &RequestContext,
        message: &pb::CollectSpecimensRequest,
        (key, order_id, collected_at): (RequestKey, Uuid, Option<DateTime<Utc>>),
    ) -> Result<pb::CollectSpecimensResponse> {
        let now = self.calls.now();
        let collected_at = collected_at.unwrap_or(now);
        if collected_at > now + chrono::Duration::minutes(5) {
            return Err(Error::invalid("collect_time", "is in the future"));
        }
        (self.calls)
            .write(
                context,
                &method("CollectSpecimens"),
                &key,
                message,
                async |tx| {
                    let order = store::lock_order(tx, order_id).await?;
                    authorize(context, COLLECT, &order)?;
                    if order.status == OrderStatus::Cancelled {
                        return Err(Error::precondition("the order is cancelled"));
                    }
                    // Tests no live specimen carries and no result answers yet.
                    let results = store::current_results(tx, &[order.id]).await?;
                    let waiting: Vec<OrderTestRow> = store::order_tests(tx, &[order.id])
                        .await?
                        .into_iter()
                        .filter(|test| {
                            test.specimen_id.is_none()
                                && !results.iter().any(|r| r.test_code == test.test_code)
                        })
                        .collect();
                    if waiting.is_empty() {
                        return Err(Error::precondition(
                            "every test of the order has its specimen already",
                        ));
                    }
                    let codes: Vec<String> = waiting.iter().map(|t| t.test_code.clone()).collect();
                    let catalogue = store::get_tests(tx, &codes).await?;
                    let tube_of = |code: &str| {
                        catalogue
                            .iter()
                            .find(|test| test.code == code)
                            .map(|test| Tube {
                                specimen_type: test.specimen_type.clone(),
                                container: test.container.clone(),
                            })
                            .unwrap_or(Tube {
                                specimen_type: "unspecified".into(),
                                container: "unspecified".into(),
                            })
                    };
                    let grouped = tubes(
                        waiting
                            .iter()
                            .map(|t| (t.test_code.as_str(), tube_of(&t.test_code))),
                    );
                    let mut collected = Vec::with_capacity(grouped.len());
                    for (tube, test_codes) in grouped {
                        let number = store::next_accession_number(tx).await?;
                        let specimen = SpecimenRow {
                            id: Uuid::now_v7(),
                            accession: accession(collected_at.year(), number),
                            order_id: order.id,
                            specimen_type: tube.specimen_type,
                            container: tube.container,
                            test_codes,
                            status: SpecimenStatus::Collected,
                            collected_by: context.user_id(),
                            collected_at,
                            received_by: None,
                            received_at: None,
                            rejection_reason: None,
                            rejection_note: String::new(),
                            rejected_by: None,
                            rejected_at: None,
                        };
                        store::insert_specimen(tx, &specimen).await?;
                        collected.push(convert::specimen_to_pb(&specimen));
                    }
                    let order = settled(tx, context, &order, now).await?;
                    Ok(pb::CollectSpecimensResponse {
                        order: Some(order),
                        collected,
                    })
                },
            )
            .await
    }

    /// The specimen's label: a Code 128 barcode of its accession number with the number, the
    /// tube and the patient's id printed under it (no name: a label travels through many
    /// hands).
    pub(crate) async fn label(
        &self,
        context: &RequestContext,
        accession_number: String,
    ) -> Result<pb::GetSpecimenLabelResponse> {
        self.calls
            .read(context, async |tx| {
                let specimen = store::get_specimen(tx, &accession_number)
                    .await?
                    .ok_or(Error::NotFound("specimen"))?;
                let order = store::get_order(tx, specimen.order_id).await?;
                let access = context
                    .authorize_patient(READ, &order_target(&order))
                    .map_err(refused(vec![order.patient_id]))?;
                let svg = label_svg(&specimen, &order)?;
                Ok((
                    pb::GetSpecimenLabelResponse {
                        specimen: Some(convert::specimen_to_pb(&specimen)),
                        svg,
                        symbology: "code128".to_owned(),
                    },
                    Shown::patient(order.patient_id, &access),
                ))
            })
            .await
    }

    /// Reception in the laboratory by accession number (what the scanner reads).
    pub(crate) async fn receive(
        &self,
        context: &RequestContext,
        message: &pb::ReceiveSpecimenRequest,
        (key, accession_number): (RequestKey, String),
    ) -> Result<pb::ReceiveSpecimenResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("ReceiveSpecimen"),
                &key,
                message,
                async |tx| {
                    let (specimen, order) = specimen_and_order(tx, &accession_number).await?;
                    authorize(context, PROCESS, &order)?;
                    match specimen.status {
                        SpecimenStatus::Collected => {}
                        SpecimenStatus::Received => {
                            return Err(Error::precondition("the specimen was received already"));
                        }
                        SpecimenStatus::Rejected => {
                            return Err(Error::precondition("the specimen was rejected"));
                        }
                    }
                    store::receive_specimen(tx, specimen.id, context.user_id(), now).await?;
                    self.queue_orders(tx, &order, &specimen, now).await?;
                    let order = settled(tx, context, &order, now).await?;
                    Ok(pb::ReceiveSpecimenResponse { order: Some(order) })
                },
            )
            .await
    }

    /// Rejects a specimen with its reason; the ward is told (`SpecimenRejected`) and the
    /// order's tests wait for a new collection.
    pub(crate) async fn reject(
        &self,
        context: &RequestContext,
        message: &pb::RejectSpecimenRequest,
        rejection: Rejection,
    ) -> Result<pb::RejectSpecimenResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("RejectSpecimen"),
                &rejection.key,
                message,
                async |tx| {
                    let (specimen, order) = specimen_and_order(tx, &rejection.accession).await?;
                    authorize(context, PROCESS, &order)?;
                    if specimen.status == SpecimenStatus::Rejected {
                        return Err(Error::precondition("the specimen was rejected already"));
                    }
                    let results = store::current_results(tx, &[order.id]).await?;
                    if results
                        .iter()
                        .any(|result| specimen.test_codes.contains(&result.test_code))
                    {
                        return Err(Error::precondition(
                            "the specimen has results already; correct them instead",
                        ));
                    }
                    store::reject_specimen(
                        tx,
                        specimen.id,
                        (rejection.reason, &rejection.note),
                        context.user_id(),
                        now,
                    )
                    .await?;
                    let order = settled(tx, context, &order, now).await?;
                    let rejected = order
                        .specimens
                        .iter()
                        .find(|s| s.accession == specimen.accession)
                        .cloned();
                    let event = pb::SpecimenRejected {
                        order: Some(order.clone()),
                        specimen: rejected,
                    };
                    self.outbox
                        .publish(tx, SPECIMEN_REJECTED, &order.id, &event, now)
                        .await?;
                    Ok(pb::RejectSpecimenResponse { order: Some(order) })
                },
            )
            .await
    }

    pub(crate) async fn cancel(
        &self,
        context: &RequestContext,
        message: &pb::CancelOrderRequest,
        (key, order_id, reason): (RequestKey, Uuid, String),
    ) -> Result<pb::CancelOrderResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(context, &method("CancelOrder"), &key, message, async |tx| {
                let order = store::lock_order(tx, order_id).await?;
                authorize(context, COLLECT, &order)
                    .or_else(|_| authorize(context, PROCESS, &order))?;
                match order.status {
                    OrderStatus::Cancelled => {
                        return Err(Error::precondition("the order is cancelled already"));
                    }
                    OrderStatus::Final | OrderStatus::Preliminary | OrderStatus::InProgress => {
                        return Err(Error::precondition(
                            "the order has results; it can no longer be cancelled",
                        ));
                    }
                    _ => {}
                }
                store::cancel_order(tx, order.id, &reason).await?;
                record(tx, context, &[order.patient_id], now).await?;
                let order = current_view(tx, order.id).await?;
                Ok(pb::CancelOrderResponse { order: Some(order) })
            })
            .await
    }
}

/// The specimen with this accession number, locked, and its order.
async fn specimen_and_order(
    tx: &mut TenantTx,
    accession_number: &str,
) -> Result<(SpecimenRow, OrderRow)> {
    let specimen = store::lock_specimen(tx, accession_number)
        .await?
        .ok_or_else(|| Error::invalid("accession", "is not the number of a specimen"))?;
    let order = store::lock_order(tx, specimen.order_id).await?;
    Ok((specimen, order))
}

/// The SVG label: the barcode (Code 128, set B) over the accession number, the tube and the
/// patient's id.
fn label_svg(specimen: &SpecimenRow, order: &OrderRow) -> Result<String> {
    let barcode = Code128::new(format!("\u{0181}{}", specimen.accession))
        .map_err(|_| Error::precondition("the accession number cannot be encoded"))?;
    let bars = SVG::new(60)
        .xdim(2)
        .generate(barcode.encode())
        .map_err(|_| Error::precondition("the label could not be drawn"))?;
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    // The barcode's own SVG nested in the label's, scaled to its place (with quiet zones
    // either side, as Code 128 needs).
    let bars = bars.replacen(
        "<svg ",
        "<svg x=\"20\" y=\"8\" width=\"320\" height=\"60\" preserveAspectRatio=\"none\" ",
        1,
    );
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"360\" height=\"130\" \
         viewBox=\"0 0 360 130\"><rect width=\"360\" height=\"130\" fill=\"white\"/>\
         {bars}\
         <text x=\"180\" y=\"88\" font-family=\"monospace\" font-size=\"16\" \
         text-anchor=\"middle\">{accession}</text>\
         <text x=\"10\" y=\"108\" font-family=\"sans-serif\" font-size=\"11\">{tube}</text>\
         <text x=\"10\" y=\"124\" font-family=\"sans-serif\" font-size=\"9\">patient {patient}</text></svg>",
        accession = escape(&specimen.accession),
        tube = escape(&format!(
            "{} · {}",
            specimen.specimen_type, specimen.container
        )),
        patient = order.patient_id,
    ))
}
