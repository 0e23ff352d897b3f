//! The outpatient front office (`scheduling` schema): clinics (bookable services of the
//! register's departments) with their weekly schedules, the facility's holidays and
//! clinicians' leave, the slots opened from them, appointments booked by desk, kiosk, phone
//! or an online channel (held, booked, rescheduled, cancelled, not shown up), the referrals
//! each department has to see, and the day's queue from arrival to the end of the visit, with
//! the clinics' report. The database keeps the rules people race on: a slot's places never
//! pass its capacity, a patient is in one appointment at a time, a ticket per appointment.
//! Every appointment and visit change is published through the outbox.
//!
//! Departments, rooms, patients and encounters belong to other modules; scheduling reads
//! them through their contracts ([`directory`]), never their tables.

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
use hmis_proto::openhmis::scheduling::v1::scheduling_service_server::SchedulingServiceServer;

pub use directory::Channels;
pub use error::Error;
pub use grpc::SchedulingApi;

/// The schema scheduling owns; its outbox is published under this name.
pub const SCHEMA: &str = "scheduling";

/// How often the hold job looks for holds not confirmed in time.
const HOLD_SWEEP: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct SchedulingModule {
    scheduling: Arc<app::Scheduling>,
}

impl SchedulingModule {
    pub fn new(database: Database, clock: SharedClock, channels: Channels) -> Self {
        Self {
            scheduling: Arc::new(app::Scheduling {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                directory: directory::Directory::new(channels),
            }),
        }
    }

    pub fn api(&self) -> SchedulingApi {
        SchedulingApi {
            scheduling: self.scheduling.clone(),
        }
    }

    pub fn service(&self) -> SchedulingServiceServer<SchedulingApi> {
        SchedulingServiceServer::new(self.api())
    }

    /// Lets every hold expired by now go (the hold job's one round); how many slots had some.
    pub async fn expire_holds(&self) -> Result<usize, Error> {
        self.scheduling
            .expire_holds(self.scheduling.calls.now())
            .await
    }

    async fn run_hold_job(self) {
        let mut ticks = tokio::time::interval(HOLD_SWEEP);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = self.expire_holds().await {
                tracing::warn!(error = %error, "letting expired holds go failed; will retry");
            }
        }
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "scheduling.read",
        "read clinics, free slots, appointments, referrals to see, queues and reports",
        true,
    ),
    hmis_platform::auth::permission(
        "scheduling.book",
        "book, hold, confirm, reschedule and cancel appointments",
        true,
    ),
    hmis_platform::auth::permission(
        "scheduling.queue",
        "check patients in, call them, run the visit and record no-shows",
        true,
    ),
    hmis_platform::auth::permission(
        "scheduling.manage",
        "set up clinics, weekly schedules, holidays and leave, and open slots",
        false,
    ),
];

impl hmis_platform::module::Module for SchedulingModule {
    fn name(&self) -> &'static str {
        "scheduling"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        follow::subscriptions(self.scheduling.calls.database())
    }

    fn workers(&self) -> Vec<hmis_platform::module::Worker> {
        vec![Box::pin(self.clone().run_hold_job())]
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.scheduling.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
