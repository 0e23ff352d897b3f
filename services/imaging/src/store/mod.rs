//! The only SQL of imaging, to the `imaging` schema only. Every function takes the caller's
//! tenant transaction (row-level security keeps it to that tenant).

mod catalogue;
mod exams;

pub use catalogue::*;
pub use exams::*;
