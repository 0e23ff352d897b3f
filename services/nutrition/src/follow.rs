//! What nutrition follows: the admissions' events (who is in which ward and bed: each event
//! carries the admission with every stay, kept when newer than the version kept), the
//! operating block's (nil by mouth before an operation) and the medical record's food
//! allergies (kept as the patient's restrictions when they name an allergen of the list). A change after a meal's cut-off
//! amends the meal orders sent and not yet served. Idempotent and order-proof: an older
//! admission version is ignored, an amendment adds only what is missing.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_platform::wire::parse_timestamp;
use hmis_proto::events::admissions::{
    ADMISSION_CANCELLED, DISCHARGE_UNDONE, PATIENT_ADMITTED, PATIENT_DISCHARGED,
    PATIENT_TRANSFERRED, admission_of,
};
use hmis_proto::events::encounters::ALLERGY_RECORDED;
use hmis_proto::events::surgery::{
    OPERATION_CANCELLED, OPERATION_COMPLETED, OPERATION_RESCHEDULED, OPERATION_SCHEDULED,
};
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::surgery::v1 as surgery_pb;
use uuid::Uuid;

use crate::app::Nutrition;
use crate::domain::{RestrictionKind, allergen_of};
use crate::store::{self, AdmissionFacts, RestrictionRow, StayFacts};

/// How long before an operation the patient takes nothing by mouth.
const FAST_BEFORE: Duration = Duration::hours(6);

#[derive(Debug, Clone, Copy)]
enum Source {
    Admissions,
    Surgery,
    Encounters,
}

#[derive(Debug)]
struct Follower {
    nutrition: Arc<Nutrition>,
    source: Source,
}

pub(crate) fn subscriptions(nutrition: Arc<Nutrition>) -> Vec<Subscription> {
    [
        ("admissions", "nutrition.stays", Source::Admissions),
        ("surgery", "nutrition.fasts", Source::Surgery),
        ("encounters", "nutrition.allergies", Source::Encounters),
    ]
    .into_iter()
    .map(|(source_module, subscriber, source)| Subscription {
        source: source_module,
        subscriber: subscriber.to_owned(),
        handler: Arc::new(Follower {
            nutrition: nutrition.clone(),
            source,
        }),
    })
    .collect()
}

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("an event's {what} is not valid"))
}

fn time(value: Option<&prost_types::Timestamp>, what: &str) -> Result<DateTime<Utc>, HandlerError> {
    parse_timestamp(value)
        .ok()
        .flatten()
        .ok_or_else(|| invalid(what))
}

fn id(value: &str, what: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| invalid(what))
}

/// The admission's facts as nutrition keeps them (a cancelled admission keeps no stay).
fn facts(admission: &admissions_pb::Admission) -> Result<AdmissionFacts, HandlerError> {
    let cancelled = admissions_pb::AdmissionStatus::try_from(admission.status)
        == Ok(admissions_pb::AdmissionStatus::Cancelled);
    let mut stays = Vec::with_capacity(admission.stays.len());
    if !cancelled {
        for stay in &admission.stays {
            stays.push(StayFacts {
                department_id: id(&stay.department_id, "stay ward")?,
                bed_id: match stay.bed_id.as_str() {
                    "" => None,
                    bed => Some(id(bed, "stay bed")?),
                },
                start_at: time(stay.start_time.as_ref(), "stay start")?,
                end_at: match &stay.end_time {
                    Some(end) => Some(time(Some(end), "stay end")?),
                    None => None,
                },
            });
        }
    }
    Ok(AdmissionFacts {
        admission_id: id(&admission.id, "admission id")?,
        version: Version::parse_etag(&admission.etag)
            .map_err(|_| invalid("admission etag"))?
            .get(),
        patient_id: id(&admission.patient_id, "patient")?,
        facility_id: id(&admission.facility_id, "facility")?,
        stays,
    })
}

/// Why the patient's meal orders change, in the words of an amendment line.
fn reason(event_type: &str) -> &'static str {
    match event_type {
        PATIENT_ADMITTED => "admitted",
        PATIENT_TRANSFERRED => "transferred",
        PATIENT_DISCHARGED => "discharged",
        ADMISSION_CANCELLED => "admission cancelled",
        DISCHARGE_UNDONE => "discharge undone",
        _ => "admission changed",
    }
}

impl Follower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        match self.source {
            Source::Admissions => self.keep_stays(event).await,
            Source::Surgery => self.keep_fast(event).await,
            Source::Encounters => self.keep_allergy(event).await,
        }
    }

    async fn keep_allergy(&self, event: &Event) -> Result<(), HandlerError> {
        if event.event_type != ALLERGY_RECORDED {
            return Ok(());
        }
        let recorded: encounters_pb::AllergyRecorded = event.decode().map_err(HandlerError::new)?;
        let Some(allergy) = recorded.allergy else {
            return Err(HandlerError::new(
                "an AllergyRecorded event without its allergy",
            ));
        };
        if encounters_pb::AllergyCategory::try_from(allergy.category)
            != Ok(encounters_pb::AllergyCategory::Food)
        {
            return Ok(());
        }
        let Some(allergen) = allergen_of(&allergy.substance_text) else {
            return Ok(());
        };
        let kind = if encounters_pb::ReactionKind::try_from(allergy.kind)
            == Ok(encounters_pb::ReactionKind::Intolerance)
        {
            RestrictionKind::Intolerance
        } else {
            RestrictionKind::Allergy
        };
        let row = RestrictionRow {
            id: Uuid::now_v7(),
            patient_id: id(&allergy.patient_id, "allergy patient")?,
            kind,
            allergen: allergen.to_owned(),
            note: "from the medical record's allergies".to_owned(),
            recorded_by: id(&allergy.recorded_by, "allergy recorded by")?,
            recorded_at: time(allergy.record_time.as_ref(), "allergy record time")?,
        };
        let database = self.nutrition.calls.database();
        let mut tx = (database
            .begin_following(event.tenant_id, &RequestId::generate())
            .await)
            .map_err(HandlerError::new)?;
        store::keep_restriction(&mut tx, &row)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }

    async fn keep_stays(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(admission) =
            admission_of(&event.event_type, &event.payload).map_err(HandlerError::new)?
        else {
            return Ok(());
        };
        let facts = facts(&admission)?;
        let database = self.nutrition.calls.database();
        let mut tx = (database
            .begin_following(event.tenant_id, &RequestId::generate())
            .await)
            .map_err(HandlerError::new)?;
        if store::replace_admission(&mut tx, &facts)
            .await
            .map_err(HandlerError::new)?
        {
            let now = self.nutrition.calls.now();
            (self.nutrition)
                .amend_for_patient(&mut tx, facts.patient_id, now, reason(&event.event_type))
                .await
                .map_err(HandlerError::new)?;
        }
        tx.commit().await.map_err(HandlerError::new)
    }

    async fn keep_fast(&self, event: &Event) -> Result<(), HandlerError> {
        let kind = event.event_type.as_str();
        if ![
            OPERATION_SCHEDULED,
            OPERATION_RESCHEDULED,
            OPERATION_CANCELLED,
            OPERATION_COMPLETED,
        ]
        .contains(&kind)
        {
            return Ok(());
        }
        // Each operation event has `Operation operation = 1`.
        let scheduled: surgery_pb::OperationScheduled =
            event.decode().map_err(HandlerError::new)?;
        let Some(operation) = scheduled.operation else {
            return Err(HandlerError::new(
                "an operation event without its operation",
            ));
        };
        let operation_id = id(&operation.id, "operation id")?;
        let patient_id = id(&operation.patient_id, "operation patient")?;
        let start = time(operation.start_time.as_ref(), "operation start")?;
        let end = start + Duration::minutes(i64::from(operation.duration_minutes.max(1)));
        let database = self.nutrition.calls.database();
        let mut tx = (database
            .begin_following(event.tenant_id, &RequestId::generate())
            .await)
            .map_err(HandlerError::new)?;
        let now = self.nutrition.calls.now();
        let done = if kind == OPERATION_CANCELLED || kind == OPERATION_COMPLETED {
            (self.nutrition)
                .end_fast(&mut tx, (operation_id, patient_id), now, now)
                .await
        } else {
            (self.nutrition)
                .fast_for_operation(
                    &mut tx,
                    (operation_id, patient_id),
                    (start - FAST_BEFORE, end),
                    now,
                )
                .await
        };
        done.map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for Follower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
