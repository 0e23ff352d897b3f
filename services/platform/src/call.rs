//! How an RPC runs, written once for every module.
//!
//! - A **read** opens a transaction in the caller's tenant ([`Calls::begin_read`]), reads, and
//!   commits with the call's audit record in it ([`Calls::commit_read`]), or lets [`Calls::read`]
//!   do both around its work: the record is durable before the data leaves.
//! - A **write** ([`Calls::write`]) asks the module's idempotency table first, so a retry
//!   replays its first answer before anything is looked up again, then does the work, its
//!   audit record and its outbox events in one transaction with the stored answer.
//! - A **refusal** found inside a write or a read (the caller may not touch this patient) rolls
//!   the transaction back and is then put on record in a transaction of its own; one found
//!   before any transaction is put on record at once ([`Calls::refuse`]).
//!
//! The work is an async closure that borrows what it needs from the handler (the request
//! context, parsed values): no boxed futures and no clones of the context per write.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use prost::Message;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::context::{PatientAccess, RequestContext};
use crate::db::{Database, TenantTx};
use crate::idempotency::{IdempotencyKeys, RequestKey};

/// A refusal to be put on record once the call's transaction has rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status the caller gets, as the audit record names it.
    pub outcome: Code,
    /// Whose data the refused call was about.
    pub patients: Vec<Uuid>,
}

/// A module's error as the call kit sees it: it can carry the kit's failures and tell which of
/// its values are refusals to audit after the rollback.
pub trait CallError: From<crate::Error> + From<sqlx::Error> + From<Status> {
    /// The refusal this error stands for, when it must be put on record after the rollback.
    fn refusal(&self) -> Option<Refusal> {
        None
    }
}

/// What a read showed, for its audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown {
    pub patient_ids: Vec<Uuid>,
    pub resource_ids: Vec<String>,
    /// Why the caller opened a record outside its scope, when it did.
    pub break_glass_reason: Option<String>,
}

impl Shown {
    /// The records of `patient_ids`, reached within the caller's scope.
    pub fn patients(patient_ids: Vec<Uuid>) -> Self {
        Self {
            patient_ids,
            ..Self::default()
        }
    }

    /// One patient's record, reached as `access` says (in scope or by break-glass).
    pub fn patient(patient_id: Uuid, access: &PatientAccess) -> Self {
        Self {
            patient_ids: vec![patient_id],
            resource_ids: Vec::new(),
            break_glass_reason: access.reason().map(str::to_owned),
        }
    }

    /// One patient's records kept in several wards (`targets`, one per record): each must be
    /// in the caller's scope for `permission`, or reached by break-glass, whose reason then
    /// goes on record. The refusal of the first one out of reach otherwise.
    pub fn patient_across(
        context: &RequestContext,
        permission: &str,
        patient_id: Uuid,
        targets: impl IntoIterator<Item = crate::auth::Target>,
    ) -> Result<Self, Status> {
        let mut reached_by_break_glass = None;
        for target in targets {
            let access = context.authorize_patient(permission, &target)?;
            if access.reason().is_some() {
                reached_by_break_glass = Some(access);
            }
        }
        Ok(match reached_by_break_glass {
            Some(access) => Self::patient(patient_id, &access),
            None => Self::patients(vec![patient_id]),
        })
    }

    fn entry(&self) -> AuditEntry<'_> {
        AuditEntry {
            patient_ids: &self.patient_ids,
            resource_ids: &self.resource_ids,
            outcome: Code::Ok,
            break_glass_reason: self.break_glass_reason.as_deref(),
        }
    }
}

/// What every call of one module shares: its database, its clock and its idempotency table.
/// `E` is the module's error type, so a use case's `?` needs no annotation.
pub struct Calls<E> {
    database: Database,
    clock: SharedClock,
    keys: IdempotencyKeys,
    error: PhantomData<fn() -> E>,
}

impl<E> Clone for Calls<E> {
    fn clone(&self) -> Self {
        Self {
            database: self.database.clone(),
            clock: self.clock.clone(),
            keys: self.keys.clone(),
            error: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Calls<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl<E: CallError> Calls<E> {
    /// The kit of the module whose schema is `schema` (its idempotency keys live there).
    pub fn new(database: Database, clock: SharedClock, schema: &'static str) -> Self {
        Self {
            database,
            clock,
            keys: IdempotencyKeys::new(schema),
            error: PhantomData,
        }
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The module's idempotency table (its keys are purged by a background worker).
    pub fn keys(&self) -> &IdempotencyKeys {
        &self.keys
    }

    /// A transaction in the caller's tenant, for a read.
    pub async fn begin_read(&self, context: &RequestContext) -> Result<TenantTx, E> {
        Ok(self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?)
    }

    /// Records what a read showed in the read's own transaction and commits it, so the record
    /// is durable before the answer leaves.
    pub async fn commit_read(
        &self,
        mut tx: TenantTx,
        context: &RequestContext,
        shown: &Shown,
    ) -> Result<(), E> {
        audit::record(&mut tx, context, &shown.entry(), self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A whole audited read: `work` reads in the caller's tenant and says what it showed; the
    /// record commits with the read. A refusal `work` finds is put on record after the rollback.
    pub async fn read<T>(
        &self,
        context: &RequestContext,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<(T, Shown), E>,
    ) -> Result<T, E> {
        let mut tx = self.begin_read(context).await?;
        match work(&mut tx).await {
            Ok((value, shown)) => {
                self.commit_read(tx, context, &shown).await?;
                Ok(value)
            }
            Err(error) => {
                drop(tx);
                Err(self.after_rollback(context, error).await)
            }
        }
    }

    /// One transaction in the caller's tenant that writes no audit record, committed when
    /// `work` succeeds: a read that shows no patient's data (a catalogue, a stock list), or a
    /// change of reference data guarded by its etag rather than an idempotency key. A refusal
    /// `work` finds is put on record after the rollback, as in [`Calls::read`].
    pub async fn transaction<T>(
        &self,
        context: &RequestContext,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut tx = self.begin_read(context).await?;
        match work(&mut tx).await {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(error) => {
                drop(tx);
                Err(self.after_rollback(context, error).await)
            }
        }
    }

    /// The first answer to an earlier call with `key`, if one committed: a call that consults
    /// other modules before it writes asks this first, so a retry answers as the first call
    /// did even when what it consulted has moved on since.
    pub async fn replay<Req, Res>(
        &self,
        context: &RequestContext,
        method: &str,
        key: &RequestKey,
        request: &Req,
    ) -> Result<Option<Res>, E>
    where
        Req: Message,
        Res: Message + Default,
    {
        Ok(self
            .keys
            .replay(
                &self.database,
                context.tenant_id()?,
                &context.request_id,
                method,
                key,
                request,
            )
            .await?)
    }

    /// The whole idempotent, audited write of `method` under the caller's `key`: a retry gets
    /// the stored answer and changes nothing; otherwise `work` runs in the caller's tenant and
    /// its answer is stored in the same transaction. `work` writes its audit record and events
    /// in `tx`. A refusal `work` finds is put on record after the rollback.
    pub async fn write<Req, Res>(
        &self,
        context: &RequestContext,
        method: &str,
        key: &RequestKey,
        request: &Req,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<Res, E>,
    ) -> Result<Res, E>
    where
        Req: Message,
        Res: Message + Default,
    {
        let tenant_id = context.tenant_id()?;
        let written = self
            .keys
            .run(
                &self.database,
                tenant_id,
                &context.request_id,
                method,
                key,
                request,
                work,
            )
            .await;
        // `run` has rolled the transaction back and returned its connection by now.
        match written {
            Err(error) => Err(self.after_rollback(context, error).await),
            answer => answer,
        }
    }

    /// Puts a refusal found before any transaction on record and returns the error to answer
    /// with; if the record cannot be written, the caller gets that failure instead.
    pub async fn refuse(&self, context: &RequestContext, patients: &[Uuid], denied: Status) -> E {
        let tenant_id = match context.tenant_id() {
            Ok(tenant_id) => tenant_id,
            Err(status) => return E::from(status),
        };
        E::from(
            audit::refuse(
                &self.database,
                tenant_id,
                context,
                patients,
                denied,
                self.now(),
            )
            .await,
        )
    }

    /// A failed call's error, with its refusal on record when it is one (the call's own
    /// transaction has rolled back by now).
    async fn after_rollback(&self, context: &RequestContext, error: E) -> E {
        let Some(refusal) = error.refusal() else {
            return error;
        };
        let Ok(tenant_id) = context.tenant_id() else {
            return error;
        };
        let entry = AuditEntry {
            outcome: refusal.outcome,
            ..AuditEntry::ok(&refusal.patients)
        };
        match audit::record_refusal(&self.database, tenant_id, context, &entry, self.now()).await {
            Ok(_) => error,
            Err(failure) => E::from(failure),
        }
    }
}
