//! Requests of the admin service, parsed into what the use cases are asked: every wrong field
//! is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use hmis_platform::auth::{PermissionInfo, Principal, Scope};
use hmis_platform::paging::{PageSize, decode_token};
use hmis_platform::types::{Code, Name};
use hmis_platform::wire::parse_timestamp;
use hmis_platform::{TenantId, Violations};
use hmis_proto::openhmis::iam::v1 as pb;
use uuid::Uuid;

use crate::app::{
    NewAssignment, NewRole, NewServiceAccount, NewTenant, NewUser, UserDraft, refuse_permissions,
};
use crate::domain::Username;
use crate::error::Result;

/// One id, the whole request.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

/// Adds the violations of a part parsed on its own, each renamed by `rename`.
fn absorb(violations: &mut Violations, part: Violations, rename: impl Fn(&str) -> &str) {
    for violation in part.into_vec() {
        violations.add(rename(&violation.field), violation.description);
    }
}

pub(crate) fn new_user(message: &pb::CreateUserRequest) -> Result<NewUser> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let draft = UserDraft::parse(message.user.as_ref(), &message.initial_password)
        .map_err(|part| absorb(&mut violations, part, |field| field))
        .ok();
    Ok(violations.finish(|| {
        Some(NewUser {
            key: key?,
            draft: draft?,
        })
    })?)
}

/// The page size and where the page starts (after a username).
pub(crate) fn users_page(message: &pb::ListUsersRequest) -> Result<(PageSize, Option<String>)> {
    let mut violations = Violations::default();
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token::<String>(&message.page_token));
    Ok(violations.finish(|| Some((size?, after?)))?)
}

/// The user and whether it is to be active.
pub(crate) fn user_status(message: &pb::SetUserStatusRequest) -> Result<(Uuid, bool)> {
    let mut violations = Violations::default();
    let user_id = violations.id("user_id", &message.user_id);
    let active = match pb::UserStatus::try_from(message.status) {
        Ok(pb::UserStatus::Active) => Some(true),
        Ok(pb::UserStatus::Disabled) => Some(false),
        _ => {
            violations.add("status", "must be ACTIVE or DISABLED");
            None
        }
    };
    Ok(violations.finish(|| Some((user_id?, active?)))?)
}

pub(crate) fn service_account(
    message: &pb::CreateServiceAccountRequest,
) -> Result<NewServiceAccount> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let name = violations.check("name", Username::parse(&message.name));
    Ok(violations.finish(|| {
        Some(NewServiceAccount {
            key: key?,
            name: name?,
        })
    })?)
}

/// A role, its permissions checked against the catalogue and against what `principal` may
/// hand out.
pub(crate) fn new_role(
    message: &pb::CreateRoleRequest,
    catalogue: &[PermissionInfo],
    principal: &Principal,
) -> Result<NewRole> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.role.is_none() {
        violations.add("role", "is required");
    }
    let role = message.role.clone().unwrap_or_default();
    let code = violations.check("role.code", Code::parse(&role.code));
    let name = violations.check("role.name", Name::parse(&role.name));
    let mut permissions = role.permissions;
    permissions.sort();
    permissions.dedup();
    refuse_permissions(&permissions, catalogue, principal, &mut violations);
    Ok(violations.finish(|| {
        Some(NewRole {
            key: key?,
            code: code?,
            name: name?,
            permissions,
        })
    })?)
}

pub(crate) fn assignment(message: &pb::AssignRoleRequest) -> Result<NewAssignment> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.assignment.is_none() {
        violations.add("assignment", "is required");
    }
    let assignment = message.assignment.clone().unwrap_or_default();
    let user_id = violations.id("assignment.user_id", &assignment.user_id);
    let role_code = violations.check("assignment.role_code", Code::parse(&assignment.role_code));
    let scope = violations.check("assignment.scope", assignment.scope.parse::<Scope>());
    let valid_from = violations.check(
        "assignment.valid_from",
        parse_timestamp(assignment.valid_from.as_ref()),
    );
    let valid_until = violations.check(
        "assignment.valid_until",
        parse_timestamp(assignment.valid_until.as_ref()),
    );
    Ok(violations.finish(|| {
        Some(NewAssignment {
            key: key?,
            user_id: user_id?,
            role_code: role_code?,
            scope: scope?,
            valid_from: valid_from?,
            valid_until: valid_until?,
        })
    })?)
}

pub(crate) fn new_tenant(message: &pb::ProvisionTenantRequest) -> Result<NewTenant> {
    let mut violations = Violations::default();
    let tenant_id = violations
        .id("tenant_id", &message.tenant_id)
        .map(TenantId::new);
    let code = violations.check("tenant_code", Code::parse(&message.tenant_code));
    let admin = pb::User {
        username: message.admin_username.clone(),
        display_name: "Administrator".to_owned(),
        ..Default::default()
    };
    let draft = UserDraft::parse(Some(&admin), &message.admin_password)
        .map_err(|part| {
            absorb(&mut violations, part, |field| match field {
                "user.username" => "admin_username",
                "initial_password" => "admin_password",
                other => other,
            })
        })
        .ok();
    Ok(violations.finish(|| {
        draft?;
        Some(NewTenant {
            tenant_id: tenant_id?,
            code: code?,
            admin_username: message.admin_username.clone(),
            admin_password: message.admin_password.clone(),
        })
    })?)
}
