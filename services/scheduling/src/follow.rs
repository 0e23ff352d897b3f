//! What the booking office follows: the encounters' referrals (read by
//! `hmis-encounters-api`), kept as the receiving departments' lists of referrals to see, and
//! the registry's patients (death, merge; read by `hmis-patients-api`), which booking checks.
//! Idempotent: a referral is kept once, a patient's row only moves to a newer version.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_encounters_api::{Investigation, ReferralKind as Kind, Urgency, referral_made};
use hmis_patients_api::patient_changed;
use hmis_platform::Database;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};

use crate::domain::{ReferralKind, ReferralStatus};
use crate::store::{self, ReferralRow};

#[derive(Debug, Clone, Copy)]
enum Source {
    Encounters,
    Patients,
}

#[derive(Debug)]
struct Follower {
    database: Database,
    source: Source,
}

pub(crate) fn subscriptions(database: &Database) -> Vec<Subscription> {
    [
        ("encounters", "scheduling.referrals", Source::Encounters),
        ("patients", "scheduling.known_patients", Source::Patients),
    ]
    .into_iter()
    .map(|(source_module, subscriber, source)| Subscription {
        source: source_module,
        subscriber: subscriber.to_owned(),
        handler: Arc::new(Follower {
            database: database.clone(),
            source,
        }),
    })
    .collect()
}

impl Follower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        match self.source {
            Source::Encounters => self.keep_referral(event).await,
            Source::Patients => self.keep_patient(event).await,
        }
    }

    async fn keep_patient(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(patient) = patient_changed(event)? else {
            return Ok(());
        };
        let mut tx = (self.database)
            .begin_following(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        let facts = (patient.deceased, patient.merged_into);
        store::keep_patient(&mut tx, patient.id, patient.version, facts)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }

    async fn keep_referral(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(referral) = referral_made(event)? else {
            return Ok(());
        };
        let row = ReferralRow {
            referral_id: referral.referral_id,
            patient_id: referral.patient_id,
            facility_id: referral.facility_id,
            kind: match referral.kind {
                Kind::Investigation(Investigation::Laboratory) => ReferralKind::Laboratory,
                Kind::Investigation(Investigation::Imaging) => ReferralKind::Imaging,
                Kind::Consultation => ReferralKind::Consultation,
            },
            codes: referral.codes,
            specialty: referral.specialty,
            target_department_id: referral.target_department_id,
            referring_department_id: referral.department_id,
            referred_by: referral.referred_by,
            urgency: match referral.urgency {
                Urgency::Routine => "routine",
                Urgency::Urgent => "urgent",
                Urgency::Emergency => "emergency",
            }
            .to_owned(),
            created_at: referral.at,
            status: ReferralStatus::Waiting,
            appointment_id: None,
        };
        let mut tx = (self.database)
            .begin_following(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::keep_referral(&mut tx, &row)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for Follower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
