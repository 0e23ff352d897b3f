//! The one end-to-end test binary: the server in-process on port 0 over a fresh database per
//! test, real gRPC clients, one module (file) per area of the hospital. One binary links the
//! whole server once instead of once per area.

mod support;

mod admissions;
mod audit;
mod billing;
mod documents;
mod encounters;
mod foundation;
mod gateway;
mod iam;
mod imaging;
mod inputs;
mod inventory;
mod kit;
mod laboratory;
mod nutrition;
mod patient_records;
mod patients;
mod printing;
mod scheduling;
mod statistics;
mod surgery;
mod tidy;
