//! The composition root: every module built once, in dependency order, each reaching the
//! modules it reads through a [`ServiceChannel`] (the other module's server in this process,
//! or its configured upstream when another process runs it). [`Modules::all`] is the one list
//! that drives mounting, health, reflection, subscriptions and workers; adding a module is a
//! field, its line in [`Modules::build`] and its entry in that list.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{Options, ServerError};
use hmis_admissions::AdmissionsModule;
use hmis_audit::AuditModule;
use hmis_billing::BillingModule;
use hmis_core::CoreModule;
use hmis_documents::{ContentStore, DocumentsModule};
use hmis_encounters::EncountersModule;
use hmis_iam::IamModule;
use hmis_imaging::ImagingModule;
use hmis_inventory::InventoryModule;
use hmis_laboratory::LaboratoryModule;
use hmis_nutrition::NutritionModule;
use hmis_patients::PatientsModule;
use hmis_platform::Database;
use hmis_platform::channel::{ServiceChannel, in_process, remote};
use hmis_platform::clock::SharedClock;
use hmis_platform::module::Module;
use hmis_scheduling::SchedulingModule;
use hmis_statistics::{Reporting, StatisticsModule};
use hmis_surgery::SurgeryModule;
use hmis_terminology::TerminologyModule;
use tonic::transport::Endpoint;

/// Every module this build can mount, by the name `--modules` takes: the names of
/// [`Modules::all`], in its order.
pub const MODULES: &[&str] = &[
    "core",
    "iam",
    "audit",
    "patients",
    "admissions",
    "terminology",
    "encounters",
    "inventory",
    "statistics",
    "surgery",
    "billing",
    "laboratory",
    "imaging",
    "documents",
    "scheduling",
    "nutrition",
];

/// Every module of this build, built once.
#[derive(Debug, Clone)]
pub struct Modules {
    pub core: CoreModule,
    pub iam: IamModule,
    pub audit: AuditModule,
    pub patients: PatientsModule,
    pub terminology: TerminologyModule,
    pub admissions: AdmissionsModule,
    pub encounters: EncountersModule,
    pub inventory: InventoryModule,
    pub statistics: StatisticsModule,
    pub surgery: SurgeryModule,
    pub billing: BillingModule,
    pub laboratory: LaboratoryModule,
    pub imaging: ImagingModule,
    pub documents: DocumentsModule,
    pub scheduling: SchedulingModule,
    pub nutrition: NutritionModule,
}

/// How modules reach one another: in-process when this process mounts the other module (or
/// nobody said where it runs), else over the network to its configured upstream.
struct Wiring<'a> {
    mounted: &'a [String],
    upstreams: &'a HashMap<String, Endpoint>,
}

impl Wiring<'_> {
    fn channel_to(&self, module: &str, local: impl FnOnce() -> ServiceChannel) -> ServiceChannel {
        match self.upstreams.get(module) {
            Some(endpoint) if !self.mounted.iter().any(|mounted| mounted == module) => {
                remote(endpoint.connect_lazy())
            }
            _ => local(),
        }
    }
}

impl Modules {
    /// Builds every module in dependency order: a module is built after those it reads.
    pub fn build(
        database: &Database,
        clock: &SharedClock,
        options: &Options,
        iam: IamModule,
        reporting: Option<Arc<Reporting>>,
        mounted: &[String],
        upstreams: &HashMap<String, Endpoint>,
    ) -> Result<Self, ServerError> {
        let wiring = Wiring { mounted, upstreams };
        let core = CoreModule::new(database.clone(), clock.clone());
        let core_channel = || wiring.channel_to("core", || in_process(core.facility_service()));
        let patients = PatientsModule::new(database.clone(), clock.clone(), core_channel());
        let patients_channel = || wiring.channel_to("patients", || in_process(patients.service()));
        let terminology = TerminologyModule::new(database.clone(), clock.clone());
        // Billing, the laboratory and imaging read none of the modules below: built first, so
        // the discharge desk's worklist can ask them what holds a discharge up.
        let billing = BillingModule::new(
            database.clone(),
            clock.clone(),
            hmis_billing::Channels {
                core: core_channel(),
                patients: patients_channel(),
            },
        );
        let laboratory = LaboratoryModule::new(
            database.clone(),
            clock.clone(),
            options.laboratory.clone(),
            patients_channel(),
        );
        let imaging = ImagingModule::new(database.clone(), clock.clone(), options.imaging.clone());
        let admissions = AdmissionsModule::new(
            database.clone(),
            clock.clone(),
            options.admissions.clone(),
            hmis_admissions::Channels {
                core: core_channel(),
                patients: patients_channel(),
                terminology: wiring.channel_to("terminology", || in_process(terminology.service())),
                laboratory: wiring.channel_to("laboratory", || in_process(laboratory.service())),
                imaging: wiring.channel_to("imaging", || in_process(imaging.service())),
                billing: wiring.channel_to("billing", || in_process(billing.service())),
            },
        );
        let encounters = EncountersModule::new(
            database.clone(),
            clock.clone(),
            hmis_encounters::Channels {
                admissions: wiring.channel_to("admissions", || in_process(admissions.service())),
                core: core_channel(),
                patients: patients_channel(),
                terminology: wiring.channel_to("terminology", || in_process(terminology.service())),
            },
        );
        let inventory = InventoryModule::new(
            database.clone(),
            clock.clone(),
            core_channel(),
            wiring.channel_to("encounters", || in_process(encounters.service())),
        );
        let statistics =
            StatisticsModule::new(database.clone(), clock.clone(), core_channel(), reporting);
        let surgery = SurgeryModule::new(
            database.clone(),
            clock.clone(),
            hmis_surgery::Channels {
                admissions: wiring.channel_to("admissions", || in_process(admissions.service())),
                core: core_channel(),
                inventory: wiring.channel_to("inventory", || in_process(inventory.service())),
                patients: patients_channel(),
                terminology: wiring.channel_to("terminology", || in_process(terminology.service())),
            },
        );
        let documents = DocumentsModule::new(
            database.clone(),
            clock.clone(),
            options.documents.clone(),
            ContentStore::open(&options.documents)?,
            Some(hmis_documents::Channels {
                core: core_channel(),
                patients: patients_channel(),
                iam: wiring.channel_to("iam", || in_process(iam.auth_service())),
                encounters: wiring.channel_to("encounters", || in_process(encounters.service())),
                certificates: wiring.channel_to("encounters", || {
                    in_process(encounters.certificate_service())
                }),
                inventory: wiring.channel_to("inventory", || in_process(inventory.service())),
                statistics: wiring.channel_to("statistics", || in_process(statistics.service())),
            }),
        );
        let scheduling = SchedulingModule::new(
            database.clone(),
            clock.clone(),
            hmis_scheduling::Channels {
                core: core_channel(),
                patients: patients_channel(),
                encounters: wiring.channel_to("encounters", || in_process(encounters.service())),
            },
        );
        let nutrition = NutritionModule::new(
            database.clone(),
            clock.clone(),
            hmis_nutrition::Channels {
                core: core_channel(),
                inventory: wiring.channel_to("inventory", || in_process(inventory.service())),
            },
        );
        let audit = AuditModule::new(database.clone(), clock.clone());
        let modules = Self {
            core,
            iam,
            audit,
            patients,
            terminology,
            admissions,
            encounters,
            inventory,
            statistics,
            surgery,
            billing,
            laboratory,
            imaging,
            documents,
            scheduling,
            nutrition,
        };
        // Roles are made of every module's permissions; IAM learns them once all are built.
        let catalogue = (modules.all().iter())
            .flat_map(|module| module.permissions().iter().copied())
            .collect();
        modules.iam.install_catalogue(catalogue);
        modules
            .iam
            .install_core(wiring.channel_to("core", || in_process(modules.core.tenant_service())));
        Ok(modules)
    }

    /// Every module, in the order they are mounted and their subscriptions and workers start.
    pub fn all(&self) -> [&dyn Module; 16] {
        [
            &self.core,
            &self.iam,
            &self.audit,
            &self.patients,
            &self.admissions,
            &self.terminology,
            &self.encounters,
            &self.inventory,
            &self.statistics,
            &self.surgery,
            &self.billing,
            &self.laboratory,
            &self.imaging,
            &self.documents,
            &self.scheduling,
            &self.nutrition,
        ]
    }
}
