//! Orders sent to analysers: a specimen received in the laboratory queues one ORM^O01 for
//! each analyser of its facility that takes orders for the section of some of its tests, in
//! the reception's transaction; the sender ([`Laboratory::send_due`]) delivers what is due
//! over MLLP, one message inside its tenant's transaction at a time, and keeps what the
//! analyser answered: delivered (AA), refused (AE/AR: not sent again), or tried again later
//! with a doubling delay until the attempts run out (failed).

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_platform::context::RequestId;
use uuid::Uuid;

use super::Laboratory;
use crate::domain::{Priority, Sex};
use crate::error::Result;
use crate::hl7::{self, OrderMessage};
use crate::mllp;
use crate::store::{self, Attempt, OrderRow, OutboundRow, SpecimenRow};

/// How the sender retries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retries {
    /// The delay after the first failed attempt, doubled after each (at most ten minutes).
    pub first_delay: Duration,
    pub max_attempts: i32,
}

/// The longest wait between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(600);

impl Retries {
    fn delay_after(&self, attempts: i32) -> chrono::Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let delay = self
            .first_delay
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(MAX_DELAY);
        chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
    }
}

fn hl7_priority(priority: Priority) -> &'static str {
    match priority {
        Priority::Emergency => "S",
        Priority::Urgent => "A",
        Priority::Routine => "R",
    }
}

impl Laboratory {
    /// Queues the specimen's order for each analyser that takes orders for some of its tests.
    pub(crate) async fn queue_orders(
        &self,
        tx: &mut TenantTx,
        order: &OrderRow,
        specimen: &SpecimenRow,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let analysers = store::order_analysers(tx, order.facility_id).await?;
        if analysers.is_empty() {
            return Ok(());
        }
        let tests = store::order_tests(tx, &[order.id]).await?;
        let (sex, birth_date) = store::patient_facts(tx, order.patient_id)
            .await?
            .unwrap_or((Sex::Unknown, None));
        for (index, analyser) in analysers.iter().enumerate() {
            let mine: Vec<(String, String)> = tests
                .iter()
                .filter(|test| {
                    test.specimen_id == Some(specimen.id)
                        && test.section_code == analyser.section_code
                })
                .map(|test| (test.test_code.clone(), test.test_name.clone()))
                .collect();
            if mine.is_empty() {
                continue;
            }
            // Unique in the tenant: a specimen is received once; at most 20 characters.
            let control_id = format!("{}-{}", specimen.accession, index + 1);
            let message = hl7::order_message(
                &OrderMessage {
                    analyser_application: analyser.sending_application.clone(),
                    analyser_facility: analyser.sending_facility.clone(),
                    control_id: control_id.clone(),
                    patient_id: order.patient_id.to_string(),
                    birth_date,
                    sex: match sex {
                        Sex::Female => "F",
                        Sex::Male => "M",
                        Sex::Unknown => "U",
                    },
                    accession: specimen.accession.clone(),
                    specimen_type: specimen.specimen_type.clone(),
                    priority: hl7_priority(order.priority),
                    collected_at: specimen.collected_at,
                    tests: mine,
                },
                now,
            );
            store::queue_outbound(
                tx,
                &OutboundRow {
                    id: Uuid::now_v7(),
                    analyser_id: analyser.id,
                    specimen_id: specimen.id,
                    accession: specimen.accession.clone(),
                    control_id,
                    message_type: "ORM^O01".to_owned(),
                    message,
                    queued_at: now,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Sends every message due now; answers how many were attempted.
    pub(crate) async fn send_due(&self, retries: Retries) -> Result<usize> {
        let database = self.calls.database();
        let due = store::due_outbound(database.worker_pool(), self.calls.now(), 100).await?;
        let mut attempted = 0;
        for (tenant_id, id) in due {
            let mut tx = database.begin(tenant_id, &RequestId::generate()).await?;
            let now = self.calls.now();
            // Another sender holds it, or it moved on since it was found.
            let Some(sending) = store::lock_outbound(&mut tx, id, now).await? else {
                continue;
            };
            let answer = mllp::send(&sending.endpoint, &sending.message).await;
            let answered = self.calls.now();
            let attempts = sending.attempts.saturating_add(1);
            let retry = |error: String| Attempt {
                status: if attempts >= retries.max_attempts {
                    "failed"
                } else {
                    "pending"
                },
                attempts,
                next_attempt_at: answered + retries.delay_after(attempts),
                answered_at: None,
                acknowledgment: String::new(),
                error,
            };
            let attempt = match answer.as_deref().map(hl7::read_acknowledgment) {
                Ok(Some((code, words))) => Attempt {
                    status: if matches!(code.as_str(), "AA" | "CA") {
                        "delivered"
                    } else {
                        "refused"
                    },
                    attempts,
                    next_attempt_at: answered,
                    answered_at: Some(answered),
                    acknowledgment: code.chars().take(2).collect(),
                    error: words,
                },
                Ok(None) => retry("the analyser's answer is not an acknowledgment".to_owned()),
                Err(error) => retry(error.to_string()),
            };
            if attempt.status != "delivered" {
                tracing::warn!(
                    message_id = %sending.id,
                    status = attempt.status,
                    attempts,
                    error = %attempt.error,
                    "an order to an analyser was not delivered"
                );
            }
            store::record_attempt(&mut tx, sending.id, &attempt).await?;
            tx.commit().await?;
            attempted += 1;
        }
        Ok(attempted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_ten_minutes() {
        let retries = Retries {
            first_delay: Duration::from_secs(5),
            max_attempts: 12,
        };
        assert_eq!(retries.delay_after(1).num_seconds(), 5);
        assert_eq!(retries.delay_after(2).num_seconds(), 10);
        assert_eq!(retries.delay_after(4).num_seconds(), 40);
        assert_eq!(retries.delay_after(30).num_seconds(), 600);
    }
}
