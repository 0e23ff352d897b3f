//! The only SQL of the laboratory, to the `laboratory` schema only. Every function takes the
//! caller's tenant transaction (row-level security keeps it to that tenant), except the
//! lookup of an analyser's route, which finds the tenant a message belongs to.

mod catalogue;
mod orders;

pub use catalogue::*;
pub use orders::*;
