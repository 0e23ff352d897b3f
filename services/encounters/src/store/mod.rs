//! The only place encounters speaks SQL, and only to the `encounters` schema. Amounts travel
//! as text (`numeric::text`, `$n::numeric`): exact both ways.

mod administrations;
mod allergies;
mod certificates;
mod encounters;
mod formulary;
mod nursing;
mod prescriptions;
mod records;
mod ward_order;

pub use administrations::*;
pub use allergies::*;
pub use certificates::*;
pub use encounters::*;
pub use formulary::*;
pub use nursing::*;
pub use prescriptions::*;
pub use records::*;
pub use ward_order::*;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::CertificateDetails;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    ForUpdate,
}

impl Lock {
    fn sql(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::ForUpdate => " FOR UPDATE",
        }
    }
}
