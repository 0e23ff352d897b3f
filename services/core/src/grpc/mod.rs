//! The tonic adapter of core: proto -> domain (parse and validate) -> store -> proto, one file
//! per service (`tenants.rs`, `facilities.rs`, `dictionaries.rs`) and the wire forms of the
//! domain in `convert.rs`. Wire types live only in this folder.

mod convert;
mod dictionaries;
mod facilities;
mod tenants;

pub use dictionaries::DictionaryApi;
pub use facilities::FacilityApi;
pub use tenants::{TenantApi, tenant_id_for_request};

use convert::*;
pub(crate) use convert::{bed_state_to_pb, bed_to_pb, department_to_pb, facility_to_pb};

use std::sync::Arc;

use hmis_platform::auth::Target;
use hmis_platform::call::Calls;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::outbox::Outbox;
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::{Code, Name, Text, Version};
use hmis_platform::wire::{mask_paths, masked, timestamp};
use hmis_platform::{RequestContext, TenantId, TenantTx, Violations};
use hmis_proto::openhmis::core::v1 as pb;
use pb::dictionary_service_server::DictionaryService;
use pb::facility_service_server::FacilityService;
use pb::tenant_service_server::TenantService;
use tonic::{Request, Response, Status};

use crate::domain::{
    Bed, BedChanges, BedId, BedSex, BedState, Department, DepartmentChanges, DepartmentId,
    DepartmentKind, Dictionary, DictionaryEntry, DictionaryEntryChanges, Facility, FacilityChanges,
    FacilityId, Room, RoomChanges, RoomId, Tenant, parse_time_zone,
};
use crate::error::{Error, Result};
use crate::events;
use crate::store::{self, BedScope, Lock};

/// What every core handler shares.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
}

/// The caller's tenant and the call's context, if the caller may read the organisation
/// (in any scope: wards and beds are not patient data).
fn reader<T>(request: &Request<T>) -> Result<(TenantId, RequestContext)> {
    let context = RequestContext::of(request);
    let tenant_id = context.authorize_any("core.read")?.tenant_id;
    Ok((tenant_id, context))
}

/// The caller's tenant and the call's context, if the caller may change the organisation.
fn manager<T>(request: &Request<T>) -> Result<(TenantId, RequestContext)> {
    let context = RequestContext::of(request);
    let tenant_id = context.authorize("core.manage", &Target::TENANT)?.tenant_id;
    Ok((tenant_id, context))
}

impl Core {
    async fn read_tx(&self, tenant_id: TenantId, context: &RequestContext) -> Result<TenantTx> {
        Ok(self
            .calls
            .database()
            .begin(tenant_id, &context.request_id)
            .await?)
    }
}
