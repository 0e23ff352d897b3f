//! What admissions keeps from other modules' events: the registry's patients
//! ([`known_patients`]) and its merges of patient records ([`merges`]), encounters' principal
//! diagnoses ([`diagnoses`]) and clinical acts ([`clinical_acts`]), and the archive's consent
//! documents ([`consents`]).

pub(crate) mod clinical_acts;
pub(crate) mod consents;
pub(crate) mod diagnoses;
pub(crate) mod known_patients;
pub(crate) mod merges;
