//! What a module offers the process that runs it, in one shape for every module: its tonic
//! services, the events it follows, its background work and its idempotency table. The server
//! builds each module once and drives mounting, health, reflection, subscriptions and workers
//! from one list of [`Module`]s; the platform itself knows no module.

use std::convert::Infallible;

use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

use crate::idempotency::IdempotencyKeys;
use crate::outbox::Subscription;

/// Background work a module runs for as long as the process serves (dropped at shutdown).
pub type Worker = BoxFuture<'static, ()>;

/// Where a module mounts its services: the process's routes and the names that health and
/// reflection report.
pub struct Mount<'a> {
    routes: &'a mut RoutesBuilder,
    names: &'a mut Vec<&'static str>,
}

impl<'a> Mount<'a> {
    pub fn new(routes: &'a mut RoutesBuilder, names: &'a mut Vec<&'static str>) -> Self {
        Self { routes, names }
    }

    /// Mounts one generated tonic server; its full name comes from the contract.
    pub fn service<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<http::Request<Body>, Error = Infallible, Response = http::Response<Body>>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }
}

/// A hospital module as the process that runs it sees it.
pub trait Module: Send + Sync {
    /// The name `--modules` and `server.upstreams` know it by.
    fn name(&self) -> &'static str;

    /// Mounts the module's tonic services.
    fn mount(&self, mount: &mut Mount<'_>);

    /// The events of other modules (or its own) this module follows.
    fn subscriptions(&self) -> Vec<Subscription> {
        Vec::new()
    }

    /// Background work: jobs, listeners, deliveries.
    fn workers(&self) -> Vec<Worker> {
        Vec::new()
    }

    /// The module's idempotency table, whose old keys a worker forgets.
    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        None
    }

    /// The permissions the module's calls ask for: its part of the catalogue roles are made
    /// of (IAM offers the whole catalogue; a role naming anything else is refused).
    fn permissions(&self) -> &'static [crate::auth::PermissionInfo] {
        &[]
    }
}
