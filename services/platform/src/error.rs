//! Canonical gRPC errors shared by every module.
//!
//! Each module has its own error enum (`thiserror`) and one `From<Error> for tonic::Status`;
//! this file gives them the pieces: field violations sent as `google.rpc.BadRequest`
//! ([`Violations`], [`invalid_argument`]), the classification of database errors by SQLSTATE
//! ([`DbErrorKind`]), and [`internal`], which logs the cause and sends the client nothing of it.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One wrong field of a request, named by its path in the request message
/// (e.g. `facility.time_zone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// How much of a field's path an error repeats.
pub const MAX_FIELD_CHARS: usize = 120;
/// How much of a description (which may quote what the client sent) an error repeats.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// How many violations a message names (the details carry up to [`MAX_DETAILED`]).
const MAX_SUMMARIZED: usize = 10;
/// How many violations the details carry.
pub const MAX_DETAILED: usize = 50;

/// How much of one value of the client's an error quotes.
pub const MAX_QUOTED_CHARS: usize = 32;

/// A value the client sent, as an error quotes it: in backquotes, at most
/// [`MAX_QUOTED_CHARS`] characters of it.
pub fn quoted(value: &str) -> String {
    format!("`{}`", bounded(value, MAX_QUOTED_CHARS))
}

/// `text`, or its first `max - 1` characters and an ellipsis: what an error may quote of the
/// client's input, so an answer never grows with it.
pub fn bounded(text: impl Into<String>, max: usize) -> String {
    let text = text.into();
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
        _ => text,
    }
}

impl FieldViolation {
    /// The violation, its path and description bounded (they may quote the request).
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: bounded(field, MAX_FIELD_CHARS),
            description: bounded(description, MAX_DESCRIPTION_CHARS),
        }
    }
}

/// `INVALID_ARGUMENT` with one `BadRequest` field violation per wrong field (up to
/// [`MAX_DETAILED`]); the message names the first fields too, for clients that do not decode
/// details. Its size is bounded whatever the request held.
pub fn invalid_argument(violations: Vec<FieldViolation>) -> Status {
    let mut summary = violations
        .iter()
        .take(MAX_SUMMARIZED)
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ");
    if violations.len() > MAX_SUMMARIZED {
        summary.push_str(&format!("; and {} more", violations.len() - MAX_SUMMARIZED));
    }
    let mut details = ErrorDetails::new();
    for violation in violations.into_iter().take(MAX_DETAILED) {
        details.add_bad_request_violation(violation.field, violation.description);
    }
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid request: {summary}"),
        details,
    )
}

/// Collects every wrong field of a request so the client learns all of them at once.
///
/// ```
/// # use hmis_platform::Violations;
/// let mut violations = Violations::default();
/// let size: Option<u8> = violations.check("size", "300".parse::<u8>());
/// assert!(size.is_none());
/// assert!(violations.into_result().is_err());
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps the value, or records why `field` is wrong.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    /// Records why `field` is wrong (both bounded: see [`FieldViolation::new`]).
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many violations were recorded (a parser compares before and after a part).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }

    /// `Ok` when nothing was recorded.
    pub fn into_result(self) -> Result<(), Violations> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The request's idempotency key, `request_id`.
    pub fn request_key(&mut self, value: &str) -> Option<crate::idempotency::RequestKey> {
        self.check("request_id", crate::idempotency::RequestKey::parse(value))
    }

    /// A required id.
    pub fn id(&mut self, field: &str, value: &str) -> Option<uuid::Uuid> {
        self.check(field, crate::types::parse_uuid(value))
    }

    /// An id that may be left empty: `Some(None)` when empty, `None` when it is not an id.
    pub fn optional_id(&mut self, field: &str, value: &str) -> Option<Option<uuid::Uuid>> {
        if value.trim().is_empty() {
            Some(None)
        } else {
            self.id(field, value).map(Some)
        }
    }

    /// The etag a change may send to guard against a stale screen; empty means "don't check".
    pub fn optional_etag(&mut self, field: &str, value: &str) -> Option<crate::types::Version> {
        if value.trim().is_empty() {
            None
        } else {
            self.check(field, crate::types::Version::parse_etag(value))
        }
    }

    /// A date `YYYY-MM-DD` that may be left empty: `Some(None)` when empty.
    pub fn optional_date(&mut self, field: &str, value: &str) -> Option<Option<chrono::NaiveDate>> {
        if value.trim().is_empty() {
            Some(None)
        } else {
            self.check(field, crate::types::parse_date(value)).map(Some)
        }
    }

    /// A period of whole days, `from` to `to` inclusive, both required, in order.
    pub fn period(
        &mut self,
        (from_field, from): (&str, &str),
        (to_field, to): (&str, &str),
    ) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
        let from = self.check(from_field, crate::types::parse_date(from));
        let to = self.check(to_field, crate::types::parse_date(to));
        let (from, to) = (from?, to?);
        if to < from {
            self.add(to_field, format!("must not be before {from_field}"));
            return None;
        }
        Some((from, to))
    }

    /// A period of instants `[from, to)`, both required, `to` after `from` and at most a year
    /// (366 days) later: what a report over a period of time is asked.
    pub fn instant_period(
        &mut self,
        (from_field, from): (&str, Option<&prost_types::Timestamp>),
        (to_field, to): (&str, Option<&prost_types::Timestamp>),
    ) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
        let mut instant =
            |field: &str, value| match self.check(field, crate::wire::parse_timestamp(value)) {
                Some(Some(at)) => Some(at),
                Some(None) => {
                    self.add(field, "is required");
                    None
                }
                None => None,
            };
        let from = instant(from_field, from);
        let to = instant(to_field, to);
        let (from, to) = (from?, to?);
        if to <= from || to - from > chrono::Duration::days(366) {
            self.add(
                to_field,
                format!("must be after {from_field}, at most a year later"),
            );
            return None;
        }
        Some((from, to))
    }

    /// The whole request's parse: `Err` naming every wrong field when any was wrong, else
    /// what `build` makes of the parsed parts (each an `Option`, taken with `?`).
    ///
    /// ```
    /// # use hmis_platform::Violations;
    /// let mut violations = Violations::default();
    /// let id = violations.id("id", "not-a-uuid");
    /// assert!(violations.finish(|| Some(id?)).is_err());
    /// ```
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Violations> {
        let value = if self.0.is_empty() { build() } else { None };
        match (self.0.is_empty(), value) {
            (true, Some(value)) => Ok(value),
            (true, None) => Err(Self(vec![FieldViolation::new(
                "request",
                "is not complete",
            )])),
            (false, _) => Err(self),
        }
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, violation) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", violation.field, violation.description)?;
        }
        Ok(())
    }
}

impl From<Violations> for Status {
    fn from(violations: Violations) -> Self {
        invalid_argument(violations.0)
    }
}

/// What a database error means for the caller, by SQLSTATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbErrorKind {
    /// 23505: a unique constraint (named) refused a duplicate.
    UniqueViolation {
        constraint: Option<String>,
    },
    /// 23503
    ForeignKeyViolation {
        constraint: Option<String>,
    },
    /// 23514: a business rule written as a CHECK (e.g. stock never negative).
    CheckViolation {
        constraint: Option<String>,
    },
    /// 23P01: e.g. two stays overlapping on one bed.
    ExclusionViolation {
        constraint: Option<String>,
    },
    /// 40001 / 40P01: the transaction lost a race and may be retried.
    Conflict,
    /// 55P03: `NOWAIT` could not take a lock.
    LockNotAvailable,
    /// 57014: statement timeout or cancellation.
    Cancelled,
    /// Pool exhausted or database unreachable.
    Unavailable,
    RowNotFound,
    Other,
}

/// Whether `error` says the connection is gone (the database ended the session, or the
/// socket broke), as opposed to the database refusing the statement or the pool having no
/// connection to give.
pub fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl DbErrorKind {
    pub fn of(error: &sqlx::Error) -> Self {
        if connection_lost(error) {
            return Self::Unavailable;
        }
        match error {
            sqlx::Error::RowNotFound => Self::RowNotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Self::Unavailable,
            sqlx::Error::Database(database_error) => {
                let constraint = database_error.constraint().map(str::to_owned);
                match database_error.code().as_deref() {
                    Some("23505") => Self::UniqueViolation { constraint },
                    Some("23503") => Self::ForeignKeyViolation { constraint },
                    Some("23514") => Self::CheckViolation { constraint },
                    Some("23P01") => Self::ExclusionViolation { constraint },
                    Some("40001" | "40P01") => Self::Conflict,
                    Some("55P03") => Self::LockNotAvailable,
                    Some("57014") => Self::Cancelled,
                    _ => Self::Other,
                }
            }
            _ => Self::Other,
        }
    }
}

/// The generic mapping of a database error nobody handled more precisely. Constraint names
/// are not sent: they describe our schema, not the caller's mistake.
pub fn database_status(error: &sqlx::Error) -> Status {
    match DbErrorKind::of(error) {
        DbErrorKind::UniqueViolation { .. } => {
            Status::already_exists("the resource already exists")
        }
        DbErrorKind::ForeignKeyViolation { .. } => {
            Status::failed_precondition("a referenced resource does not exist")
        }
        DbErrorKind::CheckViolation { .. } | DbErrorKind::ExclusionViolation { .. } => {
            Status::failed_precondition("the change breaks a business rule")
        }
        DbErrorKind::Conflict | DbErrorKind::LockNotAvailable => {
            Status::aborted("concurrent change, retry the call")
        }
        DbErrorKind::Cancelled => Status::deadline_exceeded("the database call was cancelled"),
        DbErrorKind::Unavailable => Status::unavailable("the database is unavailable"),
        DbErrorKind::RowNotFound => Status::not_found("not found"),
        DbErrorKind::Other => internal(error),
    }
}

/// Logs the cause under the current span (which carries the request id) and answers
/// `INTERNAL` without it: SQL text and internals never reach a client.
pub fn internal(cause: &dyn fmt::Display) -> Status {
    tracing::error!(error = %cause, "internal error");
    Status::internal("internal error; the server log has the details under this call's request id")
}

/// Errors of the platform's own helpers (idempotency, outbox).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("request_id was already used for a different request")]
    IdempotencyKeyReused,
    #[error("a stored response could not be decoded: {0}")]
    StoredResponse(#[from] prost::DecodeError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::IdempotencyKeyReused => invalid_argument(vec![FieldViolation::new(
                "request_id",
                "already used for a different request; use a new request_id for a new request",
            )]),
            Error::StoredResponse(error) => internal(&error),
            Error::Database(error) => database_status(&error),
        }
    }
}

/// What every module's error carries besides its own refusals: the request's wrong fields, a
/// stored row that does not parse, a refusal to audit after the rollback, another module's (or
/// the caller's context's) answer passed on as it is, and the platform's and the database's
/// errors. A module's error holds it as its `Failure(Failure)` variant and gets the
/// conversions `?` needs from [`shared_failures!`](crate::shared_failures):
/// `#[error(transparent)] Failure(#[from] Failure)`.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
    #[error("stored {0} is not valid")]
    CorruptRow(&'static str),
    /// The caller may not do this to these patients; put on record once the transaction that
    /// found it out rolled back.
    #[error("refused: {}", .status.message())]
    Refused {
        status: Status,
        patients: Vec<uuid::Uuid>,
    },
    /// Another module's answer, or the caller's context's refusal, passed on as it is.
    #[error(transparent)]
    Context(Status),
    #[error(transparent)]
    Platform(Error),
    #[error("database: {0}")]
    Database(sqlx::Error),
}

impl Failure {
    /// One wrong field, found once the request was looked at against what is stored.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        let mut violations = Violations::default();
        violations.add(field, description);
        Self::InvalidArgument(violations)
    }

    /// The refusal to put on record after the rollback, when this is one.
    pub fn refusal(&self) -> Option<crate::call::Refusal> {
        match self {
            Self::Refused { status, patients } => Some(crate::call::Refusal {
                outcome: status.code(),
                patients: patients.clone(),
            }),
            _ => None,
        }
    }
}

impl From<Failure> for Status {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::InvalidArgument(violations) => violations.into(),
            Failure::CorruptRow(_) => internal(&failure),
            Failure::Refused { status, .. } | Failure::Context(status) => status,
            Failure::Platform(error) => error.into(),
            Failure::Database(error) => database_status(&error),
        }
    }
}

/// Gives a module's error enum, which holds the shared failures as a `Failure(Failure)`
/// variant, the conversions `?` needs (from [`Violations`], `tonic::Status`, the platform's
/// [`Error`] and, unless the module maps constraints itself, `sqlx::Error`), constructors for
/// the shared failures, and its [`CallError`](crate::call::CallError) (unless the module has
/// refusals of its own).
///
/// ```text
/// hmis_platform::shared_failures!(Error);                  // everything
/// hmis_platform::shared_failures!(Error, own database);    // From<sqlx::Error> written by the module
/// hmis_platform::shared_failures!(Error, own database, own refusals);
/// ```
#[macro_export]
macro_rules! shared_failures {
    ($error:ident) => {
        $crate::shared_failures!(@conversions $error);
        $crate::shared_failures!(@database $error);
        $crate::shared_failures!(@refusals $error);
    };
    ($error:ident, own database) => {
        $crate::shared_failures!(@conversions $error);
        $crate::shared_failures!(@refusals $error);
    };
    ($error:ident, own database, own refusals) => {
        $crate::shared_failures!(@conversions $error);
    };
    (@conversions $error:ident) => {
        impl From<$crate::Violations> for $error {
            fn from(violations: $crate::Violations) -> Self {
                Self::Failure($crate::Failure::InvalidArgument(violations))
            }
        }
        impl From<$crate::__macro_support::Status> for $error {
            fn from(status: $crate::__macro_support::Status) -> Self {
                Self::Failure($crate::Failure::Context(status))
            }
        }
        impl From<$crate::Error> for $error {
            fn from(error: $crate::Error) -> Self {
                Self::Failure($crate::Failure::Platform(error))
            }
        }
        #[allow(dead_code)]
        impl $error {
            /// One wrong field, found once the request was looked at against what is stored.
            pub fn invalid(field: &str, description: impl Into<String>) -> Self {
                Self::Failure($crate::Failure::invalid(field, description))
            }
            /// A stored row (`what`) that does not parse.
            pub fn corrupt(what: &'static str) -> Self {
                Self::Failure($crate::Failure::CorruptRow(what))
            }
            /// A refusal about `patients`, put on record after the rollback.
            pub fn refused(status: $crate::__macro_support::Status, patients: Vec<$crate::__macro_support::Uuid>) -> Self {
                Self::Failure($crate::Failure::Refused { status, patients })
            }
        }
    };
    (@database $error:ident) => {
        impl From<$crate::__macro_support::SqlxError> for $error {
            fn from(error: $crate::__macro_support::SqlxError) -> Self {
                Self::Failure($crate::Failure::Database(error))
            }
        }
    };
    (@refusals $error:ident) => {
        impl $crate::call::CallError for $error {
            fn refusal(&self) -> Option<$crate::call::Refusal> {
                match self {
                    Self::Failure(failure) => failure.refusal(),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_period_is_required_ordered_and_at_most_a_year() {
        let at = |seconds: i64| prost_types::Timestamp { seconds, nanos: 0 };
        let day = 86_400;
        let mut violations = Violations::default();
        let period = violations.instant_period(("from", Some(&at(0))), ("to", Some(&at(day))));
        assert!(period.is_some() && violations.is_empty());
        for (from, to) in [
            (Some(at(day)), Some(at(0))),
            (Some(at(0)), Some(at(367 * day))),
            (None, Some(at(day))),
        ] {
            let mut violations = Violations::default();
            let period = violations.instant_period(("from", from.as_ref()), ("to", to.as_ref()));
            assert!(period.is_none() && violations.len() == 1, "{from:?} {to:?}");
        }
    }

    #[test]
    fn invalid_argument_carries_every_field() {
        let mut violations = Violations::default();
        violations.add("facility.code", "must not be empty");
        violations.add("facility.time_zone", "unknown time zone");
        let status = Status::from(violations);
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad_request = status
            .get_details_bad_request()
            .expect("bad request details");
        let fields: Vec<_> = bad_request
            .field_violations
            .iter()
            .map(|violation| violation.field.as_str())
            .collect();
        assert_eq!(fields, ["facility.code", "facility.time_zone"]);
        assert!(status.message().contains("facility.time_zone"));
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = internal(&"relation core.secret does not exist");
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("core.secret"));
    }
}
