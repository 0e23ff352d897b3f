//! The patient registry (`patients` schema). In progress: this crate holds the registry's
//! domain rules that stand on their own, starting with national identifiers validated by
//! pluggable per-country rules ([`domain::national_id`]). The schema, the gRPC service,
//! search, merge and history follow (see the "Patient registry" issue).

pub mod domain;
