//! Nutrition (`nutrition` schema): the diet catalogue (the national diet tables, textures,
//! special diets, nil by mouth) with daily targets, patients' food allergies and
//! restrictions, diet orders (nil by mouth before an operation from the operating block's
//! bookings, the ward's default diet until one is ordered), the wards' meal orders sent at
//! each meal's cut-off from who is in the ward (followed from the admissions' events) with
//! late changes as amendments, and the kitchen: ingredients (food items of the inventory),
//! recipes, cycle menus checked against the diets' targets, the day's production sheet, the
//! ingredients issued through the stock ledger, and distribution lists whose trays never
//! carry a patient's allergen.
//!
//! Departments, beds, facilities, patients and stock belong to other modules; nutrition
//! reads them through their contracts ([`directory`]), never their tables.

mod app;
mod convert;
pub mod directory;
pub mod domain;
mod error;
mod follow;
mod grpc;
mod jobs;
mod store;

use std::sync::Arc;
use std::time::Duration;

use hmis_platform::Database;
use hmis_platform::call::Calls;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::nutrition::v1::nutrition_service_server::NutritionServiceServer;

pub use directory::Channels;
pub use error::Error;
pub use grpc::NutritionApi;

/// The schema nutrition owns; its outbox is published under this name.
pub const SCHEMA: &str = "nutrition";

/// How often the cut-off job looks for meals whose orders are due.
const CUTOFF_SWEEP: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct NutritionModule {
    nutrition: Arc<app::Nutrition>,
}

impl NutritionModule {
    pub fn new(database: Database, clock: SharedClock, channels: Channels) -> Self {
        Self {
            nutrition: Arc::new(app::Nutrition {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                directory: directory::Directory::new(channels),
            }),
        }
    }

    pub fn api(&self) -> NutritionApi {
        NutritionApi {
            nutrition: self.nutrition.clone(),
        }
    }

    pub fn service(&self) -> NutritionServiceServer<NutritionApi> {
        NutritionServiceServer::new(self.api())
    }

    /// Sends every ward's meal order whose cut-off has passed by now (the cut-off job's one
    /// round); how many meals of a facility were sent.
    pub async fn send_due_meal_orders(&self) -> Result<usize, Error> {
        self.nutrition
            .send_due_meal_orders(self.nutrition.calls.now())
            .await
    }

    /// Sends a facility's meal of `day` now, as the cut-off job does when its cut-off comes
    /// (once: a second call finds it sent); how many ward orders were sent.
    pub async fn send_meal(
        &self,
        tenant_id: hmis_platform::TenantId,
        facility_id: uuid::Uuid,
        (day, meal): (chrono::NaiveDate, domain::Meal),
    ) -> Result<usize, Error> {
        self.nutrition
            .send_meal(
                tenant_id,
                facility_id,
                (day, meal),
                self.nutrition.calls.now(),
            )
            .await
    }

    async fn run_cutoff_job(self) {
        let mut ticks = tokio::time::interval(CUTOFF_SWEEP);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = self.send_due_meal_orders().await {
                tracing::warn!(error = %error, "sending the meal orders due failed; will retry");
            }
        }
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "nutrition.read",
        "read diets, patients' diets and restrictions, meal orders, menus and distribution lists",
        true,
    ),
    hmis_platform::auth::permission(
        "nutrition.order",
        "order patients' diets, record their food restrictions and adjust the ward's meal order",
        true,
    ),
    hmis_platform::auth::permission(
        "nutrition.kitchen",
        "keep recipes and cycle menus, read the production sheet and issue its ingredients",
        false,
    ),
    hmis_platform::auth::permission(
        "nutrition.manage",
        "keep the diet catalogue, the wards' default diets and the kitchens' meal times",
        false,
    ),
];

impl hmis_platform::module::Module for NutritionModule {
    fn name(&self) -> &'static str {
        "nutrition"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        follow::subscriptions(self.nutrition.clone())
    }

    fn workers(&self) -> Vec<hmis_platform::module::Worker> {
        vec![Box::pin(self.clone().run_cutoff_job())]
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.nutrition.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
