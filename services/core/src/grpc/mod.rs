//! The tonic adapters of core, one file per service (`tenants.rs`, `facilities.rs`,
//! `dictionaries.rs`): authorize by permission, parse the request (every wrong field named,
//! `parse.rs`), call the use case (`crate::app`), answer.

mod dictionaries;
mod facilities;
mod parse;
mod tenants;

pub use dictionaries::DictionaryApi;
pub use facilities::FacilityApi;
pub use tenants::TenantApi;

type Answer<T> = std::result::Result<tonic::Response<T>, tonic::Status>;
