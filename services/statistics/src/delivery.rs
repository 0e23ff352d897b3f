//! Delivery of signed reports to the national statistics institute, over HTTP(S).
//!
//! The exchange with the institute:
//! - `POST <endpoint>` with the document as the body (`application/json`), the headers
//!   `Idempotency-Key: <submission id>` (a resent document is the same submission),
//!   `X-Report-Key-Id: <key id>` and `X-Report-Signature: <base64 Ed25519 signature of the
//!   body>`. The institute answers 200, 201 or 202 with `{"receipt": "...", "status":
//!   "received" | "accepted" | "rejected", "reasons": [...]}`, or 400 / 422 with
//!   `{"reasons": [...]}` when it refuses the document.
//! - `GET <endpoint>/<receipt>` answers the same JSON once it has decided.
//!
//! Anything else — no connection, a timeout, 5xx, 429, an unreadable answer — is a failed
//! attempt: the submission stays pending and is sent again after a delay that doubles, without
//! end, because a report the office submitted is never dropped. A submission is claimed in a
//! transaction of its own before the call (its next attempt moved past the call's timeout),
//! so two processes never send it at once and a crash mid-call only delays it.

use std::sync::Arc;
use std::time::Duration;

use crate::options::ReportingOptions;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmis_platform::TenantId;
use hmis_platform::context::RequestId;
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::error::Result;
use crate::grpc::Office;
use crate::signing::{KeyError, Signer, base64};
use crate::store::{self, Outcome};

/// The most of an answer the submitter reads.
const MAX_ANSWER: usize = 1 << 20;
/// How many due submissions one round takes.
const BATCH: i64 = 20;

/// Why reporting could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ReportingError {
    #[error("statistics.reporting.endpoint is not an http(s) URL")]
    Endpoint,
    #[error("statistics.reporting needs both endpoint and signing_key_file, or neither")]
    HalfConfigured,
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Where reports go and what signs them.
pub struct Reporting {
    pub(crate) signer: Signer,
    endpoint: String,
    pub(crate) options: ReportingOptions,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Reporting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporting")
            .field("endpoint", &self.endpoint)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// What the institute answers, in either call.
#[derive(Debug, Default, Deserialize)]
struct Answer {
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reasons: Vec<String>,
}

impl Reporting {
    /// Reporting as configured; `None` when neither endpoint nor key is set.
    pub fn from_options(options: &ReportingOptions) -> Result<Option<Self>, ReportingError> {
        let (endpoint, key_file) = match (&options.endpoint, &options.signing_key_file) {
            (None, None) => return Ok(None),
            (Some(endpoint), Some(key_file)) => (endpoint, key_file),
            _ => return Err(ReportingError::HalfConfigured),
        };
        let signer = Signer::from_pem_file(key_file)?;
        Self::new(endpoint, signer, options.clone()).map(Some)
    }

    pub fn new(
        endpoint: &str,
        signer: Signer,
        options: ReportingOptions,
    ) -> Result<Self, ReportingError> {
        let uri: Uri = endpoint.parse().map_err(|_| ReportingError::Endpoint)?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ReportingError::Endpoint);
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            signer,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            options,
            client,
        })
    }

    pub fn key_id(&self) -> &str {
        self.signer.key_id()
    }

    /// The wait before the next send after `attempts` failed ones.
    fn retry_delay(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        self.options
            .retry_delay
            .saturating_mul(1 << doublings)
            .min(self.options.max_retry_delay)
    }

    /// One HTTP exchange: the status and the parsed answer, or why there is none.
    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Answer), String> {
        let timeout = self.options.request_timeout;
        let response = tokio::time::timeout(timeout, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
            .map_err(|error| format!("the institute could not be reached: {error}"))?;
        let status = response.status();
        let body = tokio::time::timeout(
            timeout,
            Limited::new(response.into_body(), MAX_ANSWER).collect(),
        )
        .await
        .map_err(|_| "the answer did not arrive in time".to_owned())?
        .map_err(|error| format!("the answer could not be read: {error}"))?
        .to_bytes();
        let answer = if body.is_empty() {
            Answer::default()
        } else {
            match serde_json::from_slice(&body) {
                Ok(answer) => answer,
                Err(_) if !status.is_success() && !is_refusal(status) => Answer::default(),
                Err(error) => {
                    return Err(format!(
                        "HTTP {status}: the answer is not the agreed JSON: {error}"
                    ));
                }
            }
        };
        Ok((status, answer))
    }

    /// Sends the document; what came of it.
    async fn send(&self, row: &store::SubmissionRow) -> Outcome {
        let request = http::Request::post(&self.endpoint)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", row.id.to_string())
            .header("x-report-key-id", &row.key_id)
            .header("x-report-signature", base64(&row.signature))
            .body(Full::new(Bytes::from(row.document.clone())));
        let request = match request {
            Ok(request) => request,
            Err(error) => {
                return Outcome::Failed(format!("the request could not be built: {error}"));
            }
        };
        match self.exchange(request).await {
            Err(error) => Outcome::Failed(error),
            Ok((status, answer)) if is_refusal(status) => Outcome::Rejected {
                receipt: (!answer.receipt.is_empty()).then_some(answer.receipt),
                reasons: if answer.reasons.is_empty() {
                    vec![format!("HTTP {status}")]
                } else {
                    answer.reasons
                },
            },
            Ok((status, answer)) if status.is_success() => decided(answer, status),
            Ok((status, _)) => Outcome::Failed(format!("the institute answered HTTP {status}")),
        }
    }

    /// Asks the institute what it decided about a delivered submission.
    async fn check(&self, receipt: &str) -> Outcome {
        let uri = format!("{}/{}", self.endpoint, percent_path(receipt));
        let request = match http::Request::get(uri).body(Full::new(Bytes::new())) {
            Ok(request) => request,
            Err(error) => {
                return Outcome::Failed(format!("the request could not be built: {error}"));
            }
        };
        match self.exchange(request).await {
            Err(error) => Outcome::Failed(error),
            Ok((status, answer)) if status.is_success() => {
                let mut answer = answer;
                if answer.receipt.is_empty() {
                    answer.receipt = receipt.to_owned();
                }
                decided(answer, status)
            }
            Ok((status, _)) => Outcome::Failed(format!("the institute answered HTTP {status}")),
        }
    }
}

fn is_refusal(status: StatusCode) -> bool {
    status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY
}

/// A 2xx answer: accepted, rejected, or received and still to be decided.
fn decided(answer: Answer, status: StatusCode) -> Outcome {
    match (answer.status.as_str(), answer.receipt.is_empty()) {
        ("accepted", _) => Outcome::Accepted {
            receipt: answer.receipt,
        },
        ("rejected", _) => Outcome::Rejected {
            receipt: (!answer.receipt.is_empty()).then_some(answer.receipt),
            reasons: answer.reasons,
        },
        ("received" | "", false) => Outcome::Received {
            receipt: answer.receipt,
        },
        _ => Outcome::Failed(format!("HTTP {status} without a receipt or a known status")),
    }
}

/// Keeps a receipt to the characters a path segment may hold as they are.
fn percent_path(receipt: &str) -> String {
    receipt
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

impl Office {
    /// One round of the submitter: sends what is pending and due, asks about what was
    /// delivered and is due for a question. Returns how many submissions it handled.
    pub(crate) async fn deliver_due(&self, reporting: &Reporting) -> Result<usize> {
        let now = self.clock.now();
        let due = store::due_submissions(self.database.worker_pool(), now, BATCH).await?;
        let mut handled = 0;
        for (tenant_id, id) in due {
            if self
                .deliver_one(reporting, TenantId::new(tenant_id), id, now)
                .await?
            {
                handled += 1;
            }
        }
        Ok(handled)
    }

    async fn deliver_one(
        &self,
        reporting: &Reporting,
        tenant_id: TenantId,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // The claim: the call may take up to the timeout twice (send and read), so the next
        // attempt moves past that before anything is sent.
        let lease = chrono::Duration::from_std(reporting.options.request_timeout * 3)
            .unwrap_or(chrono::Duration::minutes(5));
        let mut tx = self
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        let Some(row) = store::claim_submission(&mut tx, id, now, now + lease).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        tx.commit().await?;
        let sending = row.status == "pending";
        let outcome = if sending {
            reporting.send(&row).await
        } else {
            reporting
                .check(row.receipt.as_deref().unwrap_or_default())
                .await
        };
        let finished = self.clock.now();
        let next = match &outcome {
            Outcome::Failed(_) if sending => reporting.retry_delay(row.attempts),
            _ => reporting.options.status_check_interval,
        };
        let next =
            finished + chrono::Duration::from_std(next).unwrap_or(chrono::Duration::hours(1));
        match &outcome {
            Outcome::Failed(error) => {
                tracing::warn!(submission_id = %id, tenant_id = %tenant_id, attempts = row.attempts, error = %error, "a report submission did not get through; it will be tried again");
            }
            _ => {
                tracing::info!(submission_id = %id, tenant_id = %tenant_id, outcome = outcome.name(), "the statistics institute answered a report submission");
            }
        }
        let mut tx = self
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        store::record_outcome(&mut tx, id, &row.status, &outcome, finished, next).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Runs the submitter until the process stops.
pub(crate) async fn run(office: Arc<Office>, reporting: Arc<Reporting>) {
    let every = reporting
        .options
        .poll_interval
        .max(Duration::from_millis(100));
    // The first round waits a whole interval: a process just started has its dispatchers and
    // migrations to settle first, and nothing it was asked to send is older than that.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = office.deliver_due(&reporting).await {
            tracing::warn!(error = %error, "the report submitter's round failed; it will run again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_the_cap() {
        let options = ReportingOptions {
            retry_delay: Duration::from_secs(30),
            max_retry_delay: Duration::from_secs(300),
            ..ReportingOptions::default()
        };
        let reporting = Reporting::new(
            "https://reports.example/v1/submissions",
            Signer::new(ed25519_dalek::SigningKey::from_bytes(&[1; 32])),
            options,
        )
        .expect("valid");
        let waits: Vec<u64> = (1..=6)
            .map(|n| reporting.retry_delay(n).as_secs())
            .collect();
        assert_eq!(waits, [30, 60, 120, 240, 300, 300]);
        assert!(
            Reporting::new(
                "ftp://x",
                Signer::new(ed25519_dalek::SigningKey::from_bytes(&[1; 32])),
                ReportingOptions::default()
            )
            .is_err()
        );
    }

    #[test]
    fn receipts_are_escaped_in_paths() {
        assert_eq!(percent_path("R-2026/17 a"), "R-2026%2F17%20a");
    }
}
