//! What other modules read of encounters' events, in domain words: a physician's referral for
//! laboratory or imaging investigations (`ReferralCreated`), read once here for the
//! departments that receive it (the laboratory, imaging), so each does not decode the event
//! and parse its ids again; and its printable documents ([`EncountersPrinter`]: the medical
//! extract, certificates, prescriptions, a ward's medication order), read through its
//! contract on behalf of the caller and laid out for the archive to render and sign.

mod print;

pub use print::{EncounterPlace, EncountersPrinter, WardOrder};

use chrono::{DateTime, Utc};
use hmis_platform::outbox::{Event, HandlerError};
use hmis_proto::events::encounters::REFERRAL_CREATED;
use hmis_proto::openhmis::encounters::v1 as pb;
use uuid::Uuid;

/// Which department an investigation referral goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Investigation {
    /// Laboratory tests (LOINC codes).
    Laboratory,
    /// Imaging examinations (procedure classification codes).
    Imaging,
}

/// How urgent the physician said it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Routine,
    Urgent,
    Emergency,
}

/// A referral for investigations, as encounters published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestigationReferral {
    pub investigation: Investigation,
    pub referral_id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    /// None for an outpatient.
    pub admission_id: Option<Uuid>,
    /// The requesting ward or clinic, and its facility.
    pub department_id: Option<Uuid>,
    pub facility_id: Uuid,
    /// The requesting physician (a user id).
    pub referred_by: Uuid,
    pub urgency: Urgency,
    /// The clinical question (at most 2,000 characters).
    pub reason: String,
    /// The investigations' codes, as the physician chose them.
    pub codes: Vec<String>,
    pub at: DateTime<Utc>,
}

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("an event's {what} is not valid"))
}

fn id(value: &str, what: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| invalid(what))
}

fn optional_id(value: &str, what: &str) -> Result<Option<Uuid>, HandlerError> {
    match value {
        "" => Ok(None),
        value => id(value, what).map(Some),
    }
}

/// What a referral asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralKind {
    Investigation(Investigation),
    /// A consultation with another specialty.
    Consultation,
}

/// Any referral, as encounters published it: what the receiving departments book or do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    pub kind: ReferralKind,
    pub referral_id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    /// None for an outpatient.
    pub admission_id: Option<Uuid>,
    /// The requesting ward or clinic, and its facility.
    pub department_id: Option<Uuid>,
    pub facility_id: Uuid,
    /// The department asked to see the patient, if the physician named one.
    pub target_department_id: Option<Uuid>,
    /// Consultation: the specialty asked.
    pub specialty: String,
    /// The requesting physician (a user id).
    pub referred_by: Uuid,
    pub urgency: Urgency,
    /// The clinical question (at most 2,000 characters).
    pub reason: String,
    /// The investigations' codes, as the physician chose them.
    pub codes: Vec<String>,
    pub at: DateTime<Utc>,
}

/// The referral `event` carries, if it is a `ReferralCreated` of a known kind.
pub fn referral_made(event: &Event) -> Result<Option<Referral>, HandlerError> {
    if event.event_type != REFERRAL_CREATED {
        return Ok(None);
    }
    let created: pb::ReferralCreated = event.decode().map_err(HandlerError::new)?;
    let referral = created.referral.ok_or_else(|| invalid("referral"))?;
    let kind = match pb::ReferralKind::try_from(referral.kind) {
        Ok(pb::ReferralKind::Laboratory) => ReferralKind::Investigation(Investigation::Laboratory),
        Ok(pb::ReferralKind::Imaging) => ReferralKind::Investigation(Investigation::Imaging),
        Ok(pb::ReferralKind::Consultation) => ReferralKind::Consultation,
        _ => return Ok(None),
    };
    let urgency = match pb::Urgency::try_from(referral.urgency) {
        Ok(pb::Urgency::Emergency) => Urgency::Emergency,
        Ok(pb::Urgency::Urgent) => Urgency::Urgent,
        _ => Urgency::Routine,
    };
    let at = hmis_platform::wire::parse_timestamp(referral.create_time.as_ref())
        .ok()
        .flatten()
        .unwrap_or(event.occurred_at);
    Ok(Some(Referral {
        kind,
        referral_id: id(&referral.id, "referral id")?,
        encounter_id: id(&referral.encounter_id, "encounter id")?,
        patient_id: id(&referral.patient_id, "patient id")?,
        admission_id: optional_id(&created.admission_id, "admission id")?,
        department_id: optional_id(&created.department_id, "department id")?,
        facility_id: id(&created.facility_id, "facility id")?,
        target_department_id: optional_id(&referral.target_department_id, "target department")?,
        specialty: hmis_platform::error::bounded(referral.specialty, 100),
        referred_by: id(&referral.referred_by, "referred_by")?,
        urgency,
        reason: hmis_platform::error::bounded(referral.reason, 2000),
        codes: referral.investigation_codes,
        at,
    }))
}

/// The investigation referral `event` carries, if it is a `ReferralCreated` for
/// `investigation`; none for any other event or referral.
pub fn investigation_referral(
    event: &Event,
    investigation: Investigation,
) -> Result<Option<InvestigationReferral>, HandlerError> {
    let Some(referral) = referral_made(event)? else {
        return Ok(None);
    };
    if referral.kind != ReferralKind::Investigation(investigation) {
        return Ok(None);
    }
    Ok(Some(InvestigationReferral {
        investigation,
        referral_id: referral.referral_id,
        encounter_id: referral.encounter_id,
        patient_id: referral.patient_id,
        admission_id: referral.admission_id,
        department_id: referral.department_id,
        facility_id: referral.facility_id,
        referred_by: referral.referred_by,
        urgency: referral.urgency,
        reason: referral.reason,
        codes: referral.codes,
        at: referral.at,
    }))
}
