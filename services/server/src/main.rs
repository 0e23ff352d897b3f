//! `openhmis`: serve the modules, migrate the database, or run the demo hospital.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hmis_platform::telemetry::Telemetry;
use openhmis_server::Options;
use openhmis_server::{Application, demo};

#[derive(Debug, Parser)]
#[command(
    name = "openhmis",
    version,
    about = "OpenHMIS hospital information system"
)]
struct Cli {
    /// TOML configuration file; `HMIS_*` environment variables override it.
    #[arg(long, global = true, env = "HMIS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC and grpc-web (all modules, or those named).
    Serve {
        /// Comma-separated modules to mount, for a split deployment (e.g. `core`).
        #[arg(long, value_delimiter = ',')]
        modules: Vec<String>,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Load the demo hospital (idempotent), make it the default tenant, and serve.
    Demo,
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Stock tools.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
    /// Billing tools.
    Billing {
        #[command(subcommand)]
        command: BillingCommand,
    },
    /// Runs a statistics report against a running server as a service account (the way a
    /// nightly job does): credentials from HMIS_REPORT_CLIENT_ID and
    /// HMIS_REPORT_CLIENT_SECRET; CSV or JSON on standard output.
    Report {
        /// The server's gRPC address.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        server: String,
        /// The tenant's sign-in code (empty: the server's default tenant).
        #[arg(long, default_value = "")]
        tenant: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
        #[command(subcommand)]
        report: ReportCommand,
    },
    /// Code systems: import ICD-10, procedure classifications, ATC, LOINC.
    Terminology {
        #[command(subcommand)]
        command: TerminologyCommand,
    },
    /// Operating block tools.
    Surgery {
        #[command(subcommand)]
        command: SurgeryCommand,
    },
    /// Laboratory tools: the starter catalogue, LOINC imports.
    Laboratory {
        #[command(subcommand)]
        command: LaboratoryCommand,
    },
    /// Document archive tools.
    Documents {
        #[command(subcommand)]
        command: DocumentsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DocumentsCommand {
    /// Reads every stored content back, hashes it again and names each version whose
    /// content is missing or altered (exits non-zero when one is).
    Verify,
}

#[derive(Debug, Subcommand)]
enum LaboratoryCommand {
    /// Stores the starter catalogue (sections, common tests with reference ranges) in a
    /// tenant; tests stored already are replaced by the starter's.
    Starter {
        /// The tenant's sign-in code; defaults to the standalone hospital's tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Imports the active tests of the official LOINC table file (Loinc.csv) whose LOINC
    /// class a section of the tenant takes (set the sections first: the starter has five).
    ImportLoinc {
        /// The tenant's sign-in code; defaults to the standalone hospital's tenant.
        #[arg(long)]
        tenant: Option<String>,
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum SurgeryCommand {
    /// Imports the grades of procedures (CSV with a header: code,grade; grade 1 minor to 5
    /// complex major); codes must exist in the tenant's ACHI. A code imported again gets the
    /// new grade.
    ImportGrades {
        /// The tenant's sign-in code; defaults to the standalone hospital's tenant.
        #[arg(long)]
        tenant: Option<String>,
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MovementBy {
    Ward,
    Specialty,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// One ward's daily census.
    Census {
        #[arg(long)]
        department: String,
        /// YYYY-MM-DD, in the facility's time zone.
        #[arg(long)]
        date: String,
    },
    /// Patient movement of a facility's wards over a period.
    Movement {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// A line per ward, or per the wards' specialty.
        #[arg(long, value_enum, default_value = "ward")]
        by: MovementBy,
    },
    /// Form 16, temporary work incapacity.
    Form16 {
        #[arg(long)]
        facility: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Signs a report and queues it for the statistics institute (needs statistics.submit);
    /// prints the submission. Run again with the same arguments, it answers the same
    /// submission; a correction needs its own --request-id.
    Submit {
        #[arg(long, value_enum)]
        report: SubmittedReport,
        #[arg(long)]
        facility: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        request_id: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SubmittedReport {
    Movement,
    Diagnoses,
    Form16,
}

#[derive(Debug, Subcommand)]
enum BillingCommand {
    /// Checks that every account's totals equal its charges and payments, and every closed
    /// shift's report its payments and refunds, in every tenant; exits non-zero and names
    /// each one that does not.
    Verify,
    /// Replaces the tenant's DRG grouper tables with the four CSV files of a folder:
    /// diagnoses.csv, procedures.csv, severity.csv and drgs.csv (headers as in
    /// services/billing/starter/drg/); a wrong line is named and nothing is changed.
    ImportGrouper {
        /// The tenant's sign-in code; defaults to the standalone hospital's tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// A label for the tables, e.g. "MS-DRG v43 2027".
        #[arg(long)]
        version: String,
        folder: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum InventoryCommand {
    /// Checks that every stock balance equals the sum of its ledger movements, in every
    /// tenant; exits non-zero and names each balance that does not.
    Verify,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    /// ClaML XML (WHO ICD-10 and national classifications).
    Claml,
    /// CSV with a header: code, display[, parent_code][, kind][, selectable].
    Csv,
}

#[derive(Debug, Subcommand)]
enum TerminologyCommand {
    /// Imports one version of a code system (replacing it if it was imported before).
    Import {
        /// The system's short name: icd10, achi, atc, loinc, ...
        #[arg(long)]
        system: String,
        /// The release; for ClaML, defaults to the version attribute of the file's Title element.
        #[arg(long)]
        version: Option<String>,
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// A title for the release (defaults to the file's, or the system and version).
        #[arg(long)]
        title: Option<String>,
        /// Check codes against this version from now on.
        #[arg(long = "default")]
        make_default: bool,
        /// The tenant's sign-in code; defaults to the standalone hospital's tenant.
        #[arg(long)]
        tenant: Option<String>,
        file: PathBuf,
    },
    /// Imports the map of a system from one imported version to another (CSV: from_code,
    /// to_code[, relation]).
    ImportMap {
        #[arg(long)]
        system: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        tenant: Option<String>,
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Seal what is pending, then recompute every tenant's hash chain; exits non-zero and
    /// names each altered, removed or unchained record when the trail was tampered with.
    Verify,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Report {
        server,
        tenant,
        format,
        report,
    } = &cli.command
    {
        // A client of a running server: no database, no configuration file needed.
        let job = openhmis_server::report::Job {
            server: server.clone(),
            tenant_code: tenant.clone(),
            client_id: std::env::var("HMIS_REPORT_CLIENT_ID")
                .context("HMIS_REPORT_CLIENT_ID is not set (the service account's client id)")?,
            client_secret: std::env::var("HMIS_REPORT_CLIENT_SECRET")
                .context("HMIS_REPORT_CLIENT_SECRET is not set")?,
        };
        let report = match report {
            ReportCommand::Census { department, date } => openhmis_server::report::Report::Census {
                department_id: department.clone(),
                date: date.clone(),
            },
            ReportCommand::Movement {
                facility,
                from,
                to,
                by,
            } => openhmis_server::report::Report::Movement {
                facility_id: facility.clone(),
                from: from.clone(),
                to: to.clone(),
                grouping: match by {
                    MovementBy::Ward => openhmis_server::report::Grouping::Ward,
                    MovementBy::Specialty => openhmis_server::report::Grouping::Specialty,
                },
            },
            ReportCommand::Submit {
                report,
                facility,
                from,
                to,
                request_id,
            } => openhmis_server::report::Report::Submit {
                report: match report {
                    SubmittedReport::Movement => openhmis_server::report::Submitted::Movement,
                    SubmittedReport::Diagnoses => openhmis_server::report::Submitted::Diagnoses,
                    SubmittedReport::Form16 => openhmis_server::report::Submitted::Form16,
                },
                facility_id: facility.clone(),
                from: from.clone(),
                to: to.clone(),
                request_id: request_id.clone(),
            },
            ReportCommand::Form16 { facility, from, to } => {
                openhmis_server::report::Report::Form16 {
                    facility_id: facility.clone(),
                    from: from.clone(),
                    to: to.clone(),
                }
            }
        };
        let format = match format {
            ReportFormat::Csv => openhmis_server::report::Format::Csv,
            ReportFormat::Json => openhmis_server::report::Format::Json,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let output = runtime.block_on(openhmis_server::report::run(&job, &report, format))?;
        #[allow(clippy::print_stdout)]
        {
            print!("{output}");
        }
        return Ok(());
    }
    let mut options = Options::load(cli.config.as_deref())?;
    if let Command::Serve { modules } = &cli.command
        && !modules.is_empty()
    {
        options.server.modules = modules.clone();
    }
    let telemetry = Telemetry::init(&options.telemetry)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(run(cli.command, options));
    if let Err(error) = &outcome {
        tracing::error!(error = %format!("{error:#}"), "openhmis failed");
    }
    telemetry.shutdown();
    outcome
}

async fn run(command: Command, mut options: Options) -> anyhow::Result<()> {
    if let Command::Report { .. } = command {
        anyhow::bail!("reports run before the server starts");
    }
    if let Command::Demo = command {
        demo::apply_defaults(&mut options);
    }
    let application = Application::prepare(options).await?;
    if let Command::Migrate = command {
        tracing::info!("migrations applied");
        return Ok(());
    }
    if let Command::Audit {
        command: AuditCommand::Verify,
    } = command
    {
        let reports = application.verify_audit().await?;
        let mut intact = true;
        #[allow(clippy::print_stdout)]
        for report in &reports {
            println!(
                "tenant {}: {} records checked, {}",
                report.tenant_id,
                report.checked,
                if report.problems.is_empty() {
                    "intact"
                } else {
                    "TAMPERED"
                }
            );
            for problem in &report.problems {
                intact = false;
                println!("  {problem:?}");
            }
        }
        application.shutdown().await?;
        anyhow::ensure!(intact, "the audit trail was tampered with");
        return Ok(());
    }
    if let Command::Inventory {
        command: InventoryCommand::Verify,
    } = command
    {
        let report = hmis_inventory::verify(application.database()).await?;
        #[allow(clippy::print_stdout)]
        {
            println!(
                "{} balances checked against the ledger: {}",
                report.checked,
                if report.discrepancies.is_empty() {
                    "consistent"
                } else {
                    "INCONSISTENT"
                }
            );
            for found in &report.discrepancies {
                println!(
                    "  tenant {} warehouse {} lot {}: ledger {} balance {}",
                    found.tenant_id, found.warehouse_id, found.lot_id, found.ledger, found.balance
                );
            }
        }
        application.shutdown().await?;
        anyhow::ensure!(
            report.discrepancies.is_empty(),
            "the stock ledger and the balances disagree"
        );
        return Ok(());
    }
    if let Command::Billing {
        command: BillingCommand::Verify,
    } = command
    {
        let report = hmis_billing::verify(application.database()).await?;
        #[allow(clippy::print_stdout)]
        {
            println!(
                "{} accounts, {} closed shifts and {} invoices checked against their rows: {}",
                report.accounts_checked,
                report.shifts_checked,
                report.invoices_checked,
                if report.is_consistent() {
                    "consistent"
                } else {
                    "INCONSISTENT"
                }
            );
            for found in &report.accounts {
                println!(
                    "  tenant {} account {}: {} kept {} recomputed {}",
                    found.tenant_id, found.account_id, found.what, found.kept, found.recomputed
                );
            }
            for found in &report.shifts {
                println!(
                    "  tenant {} shift {} {}: kept {} recomputed {} (payments/deposits/refunds)",
                    found.tenant_id, found.shift_id, found.method, found.kept, found.recomputed
                );
            }
            for found in &report.invoices {
                println!(
                    "  tenant {} invoice {} ({}): {} kept {} recomputed {}",
                    found.tenant_id,
                    found.number,
                    found.invoice_id,
                    found.what,
                    found.kept,
                    found.recomputed
                );
            }
        }
        application.shutdown().await?;
        anyhow::ensure!(
            report.is_consistent(),
            "account, shift or invoice totals disagree with their rows"
        );
        return Ok(());
    }
    if let Command::Terminology { command } = command {
        let outcome = terminology(&application, command).await;
        application.shutdown().await?;
        return outcome;
    }
    if let Command::Billing {
        command:
            BillingCommand::ImportGrouper {
                tenant,
                version,
                folder,
            },
    } = command
    {
        let imported = import_grouper(&application, tenant.as_deref(), version, &folder).await;
        application.shutdown().await?;
        return imported;
    }
    if let Command::Surgery { command } = command {
        let outcome = surgery(&application, command).await;
        application.shutdown().await?;
        return outcome;
    }
    if let Command::Documents {
        command: DocumentsCommand::Verify,
    } = command
    {
        let report = application.documents().verify().await;
        application.shutdown().await?;
        let report = report?;
        #[allow(clippy::print_stdout)]
        {
            println!(
                "{} versions verified, {} of deleted documents skipped, {} problems",
                report.verified,
                report.deleted,
                report.findings.len()
            );
            for finding in &report.findings {
                println!(
                    "  tenant {} document {} version {}: {}",
                    finding.tenant_id, finding.document_id, finding.version, finding.problem
                );
            }
        }
        anyhow::ensure!(
            report.findings.is_empty(),
            "stored content is missing or altered"
        );
        return Ok(());
    }
    if let Command::Laboratory { command } = command {
        let outcome = laboratory(&application, command).await;
        application.shutdown().await?;
        return outcome;
    }
    let bootstrapped = application.bootstrap().await?;
    if let Some(password) = &bootstrapped.generated_admin_password {
        // Shown once, on the terminal only (never in the log stream): nobody chose it.
        #[allow(clippy::print_stdout)]
        {
            println!(
                "first start: administrator `{}` of tenant {} has password {password} (change it)",
                openhmis_server::BOOTSTRAP_ADMIN,
                bootstrapped.tenant_id
            );
        }
    }
    if let Command::Demo = command {
        application.load_demo(bootstrapped.tenant_id).await?;
        tracing::info!(tenant_id = %bootstrapped.tenant_id, "demo hospital and staff loaded");
    }
    let listener = application
        .bind()
        .await
        .context("cannot bind the listen address")?;
    application.serve(listener, shutdown_signal()).await?;
    Ok(())
}

/// The tenant a command works in: the one named by its sign-in code, else the standalone
/// hospital's (created by the first start).
async fn command_tenant(
    application: &Application,
    code: Option<&str>,
) -> anyhow::Result<hmis_platform::TenantId> {
    match code {
        Some(code) => application
            .iam()
            .tenant_by_code(code)
            .await?
            .with_context(|| format!("no tenant has the code {code}")),
        None => Ok(application.bootstrap().await?.tenant_id),
    }
}

async fn terminology(application: &Application, command: TerminologyCommand) -> anyhow::Result<()> {
    use hmis_terminology::domain::{SystemName, VersionName};
    use hmis_terminology::import;
    match command {
        TerminologyCommand::Import {
            system,
            version,
            format,
            title,
            make_default,
            tenant,
            file,
        } => {
            let tenant_id = command_tenant(application, tenant.as_deref()).await?;
            let system = SystemName::parse(&system).context("--system")?;
            let source = file.display().to_string();
            let (concepts, file_version, file_title) = match format {
                ImportFormat::Claml => {
                    let xml = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {source}"))?;
                    let document = import::parse_claml(&xml)?;
                    (
                        document.concepts,
                        Some(document.version),
                        Some(document.title),
                    )
                }
                ImportFormat::Csv => {
                    let reader = std::fs::File::open(&file)
                        .with_context(|| format!("cannot read {source}"))?;
                    (
                        import::parse_concepts_csv(std::io::BufReader::new(reader))?,
                        None,
                        None,
                    )
                }
            };
            let version = version
                .or(file_version.filter(|version| !version.is_empty()))
                .context("--version is required (the file does not name its version)")?;
            let version = VersionName::parse(&version).context("--version")?;
            let title = title
                .or(file_title.filter(|title| !title.is_empty()))
                .unwrap_or_else(|| format!("{} {}", system.as_str(), version.as_str()));
            let progress = indicatif::ProgressBar::new(concepts.len() as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} concepts ({eta} left)",
            ) {
                progress.set_style(style.progress_chars("=> "));
            }
            progress.set_message(format!("{} {}", system.as_str(), version.as_str()));
            let import = hmis_terminology::CodeSystemImport {
                system,
                version,
                title,
                source,
                make_default,
                concepts,
            };
            let written = application
                .terminology()
                .import(tenant_id, &import, &|written| {
                    progress.set_position(written as u64);
                })
                .await?;
            progress.finish();
            #[allow(clippy::print_stdout)]
            {
                println!(
                    "imported {written} concepts of {} {} into tenant {tenant_id}",
                    import.system.as_str(),
                    import.version.as_str()
                );
            }
            Ok(())
        }
        TerminologyCommand::ImportMap {
            system,
            from,
            to,
            tenant,
            file,
        } => {
            let tenant_id = command_tenant(application, tenant.as_deref()).await?;
            let reader = std::fs::File::open(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mappings = import::parse_map_csv(std::io::BufReader::new(reader))?;
            let written = application
                .terminology()
                .import_map(
                    tenant_id,
                    &SystemName::parse(&system).context("--system")?,
                    &VersionName::parse(&from).context("--from")?,
                    &VersionName::parse(&to).context("--to")?,
                    &mappings,
                )
                .await?;
            #[allow(clippy::print_stdout)]
            {
                println!("imported {written} mappings of {system} {from} -> {to}");
            }
            Ok(())
        }
    }
}

async fn surgery(application: &Application, command: SurgeryCommand) -> anyhow::Result<()> {
    use hmis_proto::openhmis::surgery::v1 as surgery_pb;
    use sha2::Digest;
    use surgery_pb::surgery_service_server::SurgeryService;
    let SurgeryCommand::ImportGrades { tenant, file } = command;
    let tenant_id = command_tenant(application, tenant.as_deref()).await?;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let grades = hmis_surgery::starter::parse_grades(&text)
        .map_err(|reason| anyhow::anyhow!("{}: {reason}", file.display()))?;
    let api = application.surgery().api();
    let mut written = 0;
    // The file's content names each call: importing the same file again changes nothing.
    let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    for (index, chunk) in grades.chunks(5000).enumerate() {
        let mut request = tonic::Request::new(surgery_pb::SetProcedureGradesRequest {
            request_id: format!("import-grades-{}-{index}", &digest[..32]),
            grades: (chunk.iter())
                .map(|(code, grade)| surgery_pb::ProcedureGrade {
                    code: code.clone(),
                    grade: *grade,
                })
                .collect(),
        });
        request
            .extensions_mut()
            .insert(hmis_platform::RequestContext::system(tenant_id));
        written += api
            .set_procedure_grades(request)
            .await
            .map_err(|status| anyhow::anyhow!("{}", status.message()))?
            .into_inner()
            .written;
    }
    #[allow(clippy::print_stdout)]
    {
        println!("imported {written} procedure grades into tenant {tenant_id}");
    }
    Ok(())
}

async fn laboratory(application: &Application, command: LaboratoryCommand) -> anyhow::Result<()> {
    let (tenant, file) = match &command {
        LaboratoryCommand::Starter { tenant } => (tenant.as_deref(), None),
        LaboratoryCommand::ImportLoinc { tenant, file } => (tenant.as_deref(), Some(file)),
    };
    let tenant_id = command_tenant(application, tenant).await?;
    let context = hmis_platform::RequestContext::system(tenant_id);
    let laboratory = application.laboratory();
    let stored = match file {
        None => laboratory.load_starter(&context).await?,
        Some(file) => {
            let opened = std::fs::File::open(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            laboratory
                .import_loinc(&context, std::io::BufReader::new(opened))
                .await?
        }
    };
    #[allow(clippy::print_stdout)]
    {
        println!("stored {stored} laboratory tests in tenant {tenant_id}");
    }
    Ok(())
}

async fn import_grouper(
    application: &Application,
    tenant: Option<&str>,
    version: String,
    folder: &std::path::Path,
) -> anyhow::Result<()> {
    use billing_pb::billing_service_server::BillingService;
    use hmis_proto::openhmis::billing::v1 as billing_pb;
    let tenant_id = command_tenant(application, tenant).await?;
    let read = |name: &str| {
        let path = folder.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let message = billing_pb::ImportGrouperTablesRequest {
        request_id: String::new(),
        version,
        diagnoses_csv: read("diagnoses.csv")?,
        procedures_csv: read("procedures.csv")?,
        severity_csv: read("severity.csv")?,
        drgs_csv: read("drgs.csv")?,
    };
    // The files' content names the call: importing the same files again changes nothing.
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    for text in [
        &message.version,
        &message.diagnoses_csv,
        &message.procedures_csv,
        &message.severity_csv,
        &message.drgs_csv,
    ] {
        sha2::Digest::update(&mut hasher, text.as_bytes());
        sha2::Digest::update(&mut hasher, [0]);
    }
    let digest = hex::encode(sha2::Digest::finalize(hasher));
    let mut request = tonic::Request::new(billing_pb::ImportGrouperTablesRequest {
        request_id: format!("import-grouper-{}", &digest[..32]),
        ..message
    });
    request
        .extensions_mut()
        .insert(hmis_platform::RequestContext::system(tenant_id));
    let imported = application
        .billing()
        .api()
        .import_grouper_tables(request)
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner();
    #[allow(clippy::print_stdout)]
    {
        println!(
            "imported {} diagnosis groups, {} O.R. procedures, {} complication levels and {} DRGs \
             into tenant {tenant_id}",
            imported.diagnoses, imported.procedures, imported.severity_levels, imported.drgs
        );
    }
    Ok(())
}

/// Resolves on SIGTERM (Kubernetes, systemd) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(terminate) => terminate,
        Err(error) => {
            tracing::warn!(error = %error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
