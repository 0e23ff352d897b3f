//! Roles (named sets of permissions from the catalogue) and their assignment to users over a
//! scope (the tenant, a facility, a ward) for a period.

use chrono::{DateTime, Utc};
use hmis_platform::auth::{PermissionInfo, Principal, Scope};
use hmis_platform::error::quoted;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Code, Name};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::iam::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use super::{ADMIN_SERVICE, Iam, change_on_record, may_grant};
use crate::error::{Error, Result};
use crate::store;

/// A role to create; its permissions sorted, each once.
pub(crate) struct NewRole {
    pub(crate) key: RequestKey,
    pub(crate) code: Code,
    pub(crate) name: Name,
    pub(crate) permissions: Vec<String>,
}

/// A role given to a user over a scope, for a period when one is given.
pub(crate) struct NewAssignment {
    pub(crate) key: RequestKey,
    pub(crate) user_id: Uuid,
    pub(crate) role_code: Code,
    pub(crate) scope: Scope,
    pub(crate) valid_from: Option<DateTime<Utc>>,
    pub(crate) valid_until: Option<DateTime<Utc>>,
}

/// Names the permissions `principal` may not put in a role: unknown ones, and those only
/// their holders may hand out.
pub(crate) fn refuse_permissions(
    permissions: &[String],
    catalogue: &[PermissionInfo],
    principal: &Principal,
    violations: &mut Violations,
) {
    for permission in permissions {
        if !catalogue
            .iter()
            .any(|info| info.name == permission.as_str())
        {
            violations.add(
                "role.permissions",
                format!("{} is not in the catalog", quoted(permission)),
            );
        } else if !may_grant(principal, permission) {
            violations.add(
                "role.permissions",
                format!("{} can only be granted by its holders", quoted(permission)),
            );
        }
    }
}

fn role_to_pb(role: store::RoleRow) -> pb::Role {
    pb::Role {
        id: role.id.to_string(),
        code: role.code,
        name: role.name,
        permissions: role.permissions,
    }
}

fn assignment_to_pb(row: &store::AssignmentRow) -> Result<pb::Assignment> {
    Ok(pb::Assignment {
        id: row.id.to_string(),
        user_id: row.user_id.to_string(),
        role_code: row.role_code.clone(),
        scope: row.scope()?.to_string(),
        valid_from: row.valid_from.and_then(timestamp),
        valid_until: row.valid_until.and_then(timestamp),
    })
}

impl Iam {
    /// The catalogue of permissions every module declares.
    pub(crate) fn list_permissions(&self) -> pb::ListPermissionsResponse {
        pb::ListPermissionsResponse {
            permissions: (self.catalogue().iter())
                .map(|info| pb::Permission {
                    name: info.name.to_owned(),
                    module: info.module().to_owned(),
                    description: info.description.to_owned(),
                    patient_data: info.patient_data,
                })
                .collect(),
        }
    }

    pub(crate) async fn list_roles(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListRolesResponse> {
        let mut tx = self.begin(context).await?;
        let roles = store::list_roles(&mut tx).await?;
        Ok(pb::ListRolesResponse {
            roles: roles.into_iter().map(role_to_pb).collect(),
        })
    }

    pub(crate) async fn create_role(
        &self,
        context: &RequestContext,
        message: &pb::CreateRoleRequest,
        role: NewRole,
    ) -> Result<pb::CreateRoleResponse> {
        let row = store::RoleRow {
            id: Uuid::now_v7(),
            code: role.code.to_string(),
            name: role.name.to_string(),
            permissions: role.permissions,
        };
        let now = self.clock.now();
        let method = format!("{ADMIN_SERVICE}CreateRole");
        (self.idempotency)
            .run(
                &self.database,
                context.tenant_id()?,
                &context.request_id,
                &method,
                &role.key,
                message,
                async |tx| {
                    store::insert_role(tx, &row, now).await?;
                    change_on_record(tx, context, format!("role:{}", row.id), now).await?;
                    Ok::<_, Error>(pb::CreateRoleResponse {
                        role: Some(role_to_pb(row)),
                    })
                },
            )
            .await
    }

    pub(crate) async fn assign_role(
        &self,
        context: &RequestContext,
        message: &pb::AssignRoleRequest,
        assignment: NewAssignment,
    ) -> Result<pb::AssignRoleResponse> {
        let principal = context.principal()?;
        let now = self.clock.now();
        let NewAssignment {
            key,
            user_id,
            role_code,
            scope,
            valid_from,
            valid_until,
        } = assignment;
        let method = format!("{ADMIN_SERVICE}AssignRole");
        (self.idempotency)
            .run(
                &self.database,
                principal.tenant_id,
                &context.request_id,
                &method,
                &key,
                message,
                async |tx| {
                    let roles = store::list_roles(tx).await?;
                    let Some(role) = roles.iter().find(|role| role.code == role_code.as_str())
                    else {
                        return Err(Error::invalid("assignment.role_code", "no such role"));
                    };
                    if let Some(permission) = (role.permissions.iter())
                        .find(|permission| !may_grant(principal, permission))
                    {
                        return Err(Error::from(Status::permission_denied(format!(
                            "only holders of {permission} may assign this role"
                        ))));
                    }
                    store::get_user(tx, user_id)
                        .await
                        .map_err(|error| match error {
                            Error::NotFound { .. } => {
                                Error::invalid("assignment.user_id", "no such user")
                            }
                            other => other,
                        })?;
                    let id = Uuid::now_v7();
                    store::insert_assignment(
                        tx,
                        id,
                        user_id,
                        role.id,
                        scope,
                        valid_from,
                        valid_until,
                        now,
                    )
                    .await?;
                    change_on_record(tx, context, format!("assignment:{id}"), now).await?;
                    Ok::<_, Error>(pb::AssignRoleResponse {
                        assignment: Some(pb::Assignment {
                            id: id.to_string(),
                            user_id: user_id.to_string(),
                            role_code: role.code.clone(),
                            scope: scope.to_string(),
                            valid_from: valid_from.and_then(timestamp),
                            valid_until: valid_until.and_then(timestamp),
                        }),
                    })
                },
            )
            .await
    }

    pub(crate) async fn revoke_assignment(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::RevokeAssignmentResponse> {
        let mut tx = self.begin(context).await?;
        let now = self.clock.now();
        store::revoke_assignment(&mut tx, id, now).await?;
        change_on_record(&mut tx, context, format!("assignment:{id}"), now).await?;
        tx.commit().await?;
        Ok(pb::RevokeAssignmentResponse {})
    }

    pub(crate) async fn list_assignments(
        &self,
        context: &RequestContext,
        user_id: Uuid,
    ) -> Result<pb::ListAssignmentsResponse> {
        let mut tx = self.begin(context).await?;
        let rows = store::list_assignments(&mut tx, user_id).await?;
        Ok(pb::ListAssignmentsResponse {
            assignments: rows.iter().map(assignment_to_pb).collect::<Result<_>>()?,
        })
    }
}
