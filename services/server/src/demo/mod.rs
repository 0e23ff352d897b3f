//! The demo hospital: one tenant, one facility with an emergency unit, wards with rooms and
//! beds, an ICU, an operating block, a pharmacy, and starter dictionaries. Loaded through the
//! modules' own service contracts (in-process), with fixed request ids, so loading twice
//! changes nothing.
//!
//! `organisation` holds the tenant, its wards and staff; `registry` the patients and their
//! stays; `formulary` the medicines; `clinical` what the physicians recorded and the stock.

mod billing;
mod clinical;
mod formulary;
mod imaging;
mod laboratory;
mod nutrition;
mod organisation;
mod registry;
mod scheduling;
mod surgery;

pub use billing::load_billing;
pub use clinical::{load_encounters, load_inventory};
pub use formulary::load_formulary;
pub use imaging::load_imaging;
pub use laboratory::load_laboratory;
pub use nutrition::load_nutrition;
pub use organisation::{DEMO_PASSWORD, DEMO_TENANT_CODE, DemoWards, apply_defaults, load};
pub use registry::{DEMO_PATIENTS, load_admissions, load_patients};
pub use scheduling::load_scheduling;
pub use surgery::load_surgery;

use hmis_platform::{RequestContext, TenantId};
use tonic::{Request, Status};

pub(super) fn request<T>(tenant_id: TenantId, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .extensions_mut()
        .insert(RequestContext::system(tenant_id));
    request
}

pub(super) fn missing(what: &str) -> Status {
    Status::internal(format!("demo: the response carries no {what}"))
}
