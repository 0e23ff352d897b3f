//! The registry's pure types and rules: no tonic, no sqlx.

pub mod national_id;
pub mod patient;

/// Administrative sex as registries record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}
