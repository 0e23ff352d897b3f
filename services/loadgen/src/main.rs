//! `openhmis-loadgen`: measures hot paths and prints throughput and latency percentiles beside
//! the raw PostgreSQL figure for the same statements. It starts the server in-process over a
//! fresh database (from `DATABASE_URL`, else the embedded test cluster) and talks real gRPC.
//!
//! Scenarios: `auth-audit` (what authentication and the audit record add to a trivial read),
//! `patients` (the registry over a million patients: searches and registrations from
//! concurrent clients), `adt` (admit, transfer, discharge from concurrent clients), `dispense`
//! (stock issues to patients from concurrent pharmacists), `census` (a 1,000-bed hospital's
//! year in the statistics read models: a day's census, a year's movement analysis),
//! `prescribe` (prescriptions with the safety check, then dispensing against them),
//! `theatre` (a 20-theatre block's day list and a month's utilisation), `billing` (charge
//! capture following the ADT cycle, a month's revenue over a year of 1,000 beds), `laboratory`
//! (analysers' results over MLLP), `documents` (the archive's streamed uploads and downloads,
//! with the resident memory they take), `print` (a medical extract issued as a signed PDF),
//! `appointments` (the next free slots of a 50-clinician clinic, and bookings), `nutrition`
//! (a 1,000-bed hospital's day of meal orders and its production sheet).
//!
//! `seed` is not a measurement: it fills the database `openhmis demo` serves with a big
//! hospital (a million patients, a year of admissions) by COPY, and says how long it took.

#![allow(clippy::print_stdout)]

mod adt;
mod appointments;
mod auth_audit;
mod bench;
mod billing;
mod census;
mod dispense;
mod documents;
mod laboratory;
mod nutrition;
mod patients;
mod prescribe;
mod print;
mod report;
mod seed;
mod theatre;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// Authentication and audit overhead on a trivial read.
    AuthAudit,
    /// Patient registry: search by identifier and by name, registration throughput.
    Patients,
    /// Admissions: admit, transfer and discharge from concurrent clients.
    Adt,
    /// Pharmacy: dispensing (stock issues to patients) from concurrent clients.
    Dispense,
    /// Statistics: a day's census and a year's movement analysis of a 1,000-bed hospital.
    Census,
    /// Prescribing with the safety check, then dispensing against the prescriptions.
    Prescribe,
    /// Operating block: a 20-theatre day's theatre list and a month's theatre utilisation.
    Theatre,
    /// Billing: charge capture following the ADT cycle (its backlog), and a month's revenue
    /// report over a year of a 1,000-bed hospital.
    Billing,
    /// Laboratory: analysers' ORU^R01 results over MLLP (closed loop and paced at 200 a
    /// second), beside raw PostgreSQL doing the same writes.
    Laboratory,
    /// Documents: streamed uploads and downloads of `--megabytes` each, `--iterations` times,
    /// with the process's peak resident memory, beside raw PostgreSQL writing the same chunks.
    Documents,
    /// Printed documents: an outpatient's medical extract issued as a signed PDF, from one
    /// client and from `--clients`, beside the extract's data alone and raw PostgreSQL
    /// storing the same PDF and rows.
    Print,
    /// Outpatient front office: the next free slots of a 50-clinician clinic over four weeks,
    /// and bookings, from `--clients`, beside raw PostgreSQL's statement and writes.
    Appointments,
    /// Nutrition: a 1,000-bed hospital's day of meal orders (3 meals, 30 wards) sent to the
    /// kitchen, and the day's production sheet, beside raw PostgreSQL's same writes.
    Nutrition,
    /// Fills the demo tenant of the database `openhmis demo` serves (HMIS_DATABASE__URL, else
    /// the embedded cluster) with `--patients` patients and `--days` of admissions in
    /// `--wards` new wards of `--beds-per-ward` beds, by COPY.
    Seed,
}

#[derive(Debug, Parser)]
#[command(name = "openhmis-loadgen", about = "OpenHMIS load generator")]
struct Cli {
    #[arg(value_enum, default_value = "auth-audit")]
    scenario: Scenario,
    /// Measured calls per variant (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 2000)]
    iterations: usize,
    /// `patients`: how many patients the registry holds before measuring.
    #[arg(long, default_value_t = 1_000_000)]
    patients: u32,
    /// `seed`: new wards to fill.
    #[arg(long, default_value_t = 30)]
    wards: usize,
    /// `seed`: beds in each new ward.
    #[arg(long, default_value_t = 34)]
    beds_per_ward: usize,
    /// `seed`: days of admissions, up to now.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// `documents`: the size of each document, in MiB.
    #[arg(long, default_value_t = 200)]
    megabytes: usize,
    /// `census`: admissions of the seeded year.
    #[arg(long, default_value_t = 50_000)]
    admissions: u32,
    /// `patients`, `adt`, `dispense`, `prescribe`, `theatre`, `census` (the whole hospital), `print`:
    /// concurrent gRPC clients (one connection each).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// The longest each measured variant runs, in seconds (it stops earlier once its
    /// iterations are done); unlimited when unset.
    #[arg(long)]
    duration: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(seconds) = cli.duration {
        report::limit_duration(std::time::Duration::from_secs(seconds));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.scenario {
            Scenario::AuthAudit => auth_audit::run(cli.iterations).await,
            Scenario::Patients => patients::run(cli.patients, cli.clients, cli.iterations).await,
            Scenario::Adt => adt::run(cli.clients, cli.iterations).await,
            Scenario::Dispense => dispense::run(cli.clients, cli.iterations).await,
            Scenario::Census => census::run(cli.admissions, cli.clients, cli.iterations).await,
            Scenario::Prescribe => prescribe::run(cli.clients, cli.iterations).await,
            Scenario::Theatre => theatre::run(cli.clients, cli.iterations).await,
            Scenario::Billing => billing::run(cli.clients, cli.iterations).await,
            Scenario::Laboratory => laboratory::run(cli.clients, cli.iterations).await,
            Scenario::Documents => documents::run(cli.megabytes, cli.iterations).await,
            Scenario::Print => print::run(cli.clients, cli.iterations).await,
            Scenario::Appointments => appointments::run(cli.clients, cli.iterations).await,
            Scenario::Nutrition => nutrition::run(cli.iterations).await,
            Scenario::Seed => {
                seed::run(seed::Size {
                    patients: cli.patients,
                    wards: cli.wards,
                    beds_per_ward: cli.beds_per_ward,
                    days: cli.days,
                })
                .await
            }
        }
    })
}
