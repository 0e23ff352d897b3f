//! Who is calling and what they may do.
//!
//! The [`RequestContextLayer`](crate::RequestContextLayer) authenticates every call except the
//! public ones ([`is_public`]) through a [`TokenVerifier`] (implemented by the IAM module) and
//! leaves the [`Principal`] in the request. Handlers then ask one question,
//! [`Principal::authorize`]: does the caller hold this permission for this target? Grants are
//! scoped to the whole tenant, a facility, or a department (ward): a ward nurse's grants name
//! that ward, and modules pass the ward a patient lies in as the target.

use std::fmt;
use std::str::FromStr;

use tonic::Status;
use uuid::Uuid;

use crate::context::TenantId;

/// Calls that need no access token whoever serves them: what probes and tools use. The
/// verifier adds the calls of its own module that carry another credential (signing in).
pub fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// Where a grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Tenant,
    Facility(Uuid),
    Department(Uuid),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Tenant => f.write_str("tenant"),
            Scope::Facility(id) => write!(f, "facility:{id}"),
            Scope::Department(id) => write!(f, "department:{id}"),
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = || "must be tenant, facility:<uuid> or department:<uuid>".to_owned();
        match value.split_once(':') {
            None if value == "tenant" => Ok(Scope::Tenant),
            Some(("facility", id)) => Uuid::parse_str(id)
                .map(Scope::Facility)
                .map_err(|_| invalid()),
            Some(("department", id)) => Uuid::parse_str(id)
                .map(Scope::Department)
                .map_err(|_| invalid()),
            _ => Err(invalid()),
        }
    }
}

/// What a call acts on, as far as scopes care: the facility and department it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Target {
    pub facility: Option<Uuid>,
    pub department: Option<Uuid>,
}

impl Target {
    /// Tenant-wide data (the tenant's own settings, catalog-like reads).
    pub const TENANT: Target = Target {
        facility: None,
        department: None,
    };

    pub fn facility(id: Uuid) -> Self {
        Self {
            facility: Some(id),
            department: None,
        }
    }

    pub fn department(facility: Uuid, department: Uuid) -> Self {
        Self {
            facility: Some(facility),
            department: Some(department),
        }
    }
}

/// One permission held in one scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    pub permission: String,
    pub scope: Scope,
}

/// The permission only the system's own context holds ([`crate::RequestContext::system`]):
/// every permission, in its tenant. It is in no module's catalogue, so IAM never grants it,
/// and the token verifier refuses a token that carries it.
pub const EVERY_PERMISSION: &str = "*";

impl Grant {
    /// Whether this grant is of `permission`.
    fn names(&self, permission: &str) -> bool {
        self.permission == permission || self.permission == EVERY_PERMISSION
    }

    fn covers(&self, target: &Target) -> bool {
        match self.scope {
            Scope::Tenant => true,
            Scope::Facility(id) => target.facility == Some(id),
            Scope::Department(id) => target.department == Some(id),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub tenant_id: TenantId,
    pub username: String,
    pub service_account: bool,
    /// The session (refresh-token family) the access token was issued in.
    pub session_id: Uuid,
    pub grants: Vec<Grant>,
    /// When the access token that carried this principal expires (none for the system and
    /// for a principal not yet issued a token). Long-lived calls (streams) end there.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Principal {
    /// Whether the caller holds `permission` for `target`.
    pub fn is_allowed(&self, permission: &str, target: &Target) -> bool {
        self.grants
            .iter()
            .any(|grant| grant.names(permission) && grant.covers(target))
    }

    /// Whether the caller holds `permission` anywhere (listings then filter by scope).
    pub fn holds(&self, permission: &str) -> bool {
        self.grants.iter().any(|grant| grant.names(permission))
    }

    /// `PERMISSION_DENIED` unless the caller holds `permission` for `target`.
    pub fn authorize(&self, permission: &str, target: &Target) -> Result<(), Status> {
        if self.is_allowed(permission, target) {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "missing permission {permission} for this resource"
            )))
        }
    }

    /// Where the caller holds `permission`, for filtering a listing.
    pub fn reach(&self, permission: &str) -> Reach {
        let mut facilities = Vec::new();
        let mut departments = Vec::new();
        for grant in self.grants.iter().filter(|grant| grant.names(permission)) {
            match grant.scope {
                Scope::Tenant => return Reach::Tenant,
                Scope::Facility(id) => facilities.push(id),
                Scope::Department(id) => departments.push(id),
            }
        }
        Reach::Limited {
            facilities,
            departments,
        }
    }

    /// The departments (wards) the caller holds `permission` in, or `None` when a tenant-
    /// or facility-wide grant covers everything of the facility.
    pub fn departments_for(&self, permission: &str, facility: Uuid) -> Option<Vec<Uuid>> {
        let mut departments = Vec::new();
        for grant in self.grants.iter().filter(|grant| grant.names(permission)) {
            match grant.scope {
                Scope::Tenant => return None,
                Scope::Facility(id) if id == facility => return None,
                Scope::Facility(_) => {}
                Scope::Department(id) => departments.push(id),
            }
        }
        Some(departments)
    }
}

/// Everything a caller may reach with one permission: a listing filters by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// A tenant-wide grant: no filter.
    Tenant,
    /// Only data of these facilities and departments (both empty: nothing).
    Limited {
        facilities: Vec<Uuid>,
        departments: Vec<Uuid>,
    },
}

/// Why a token was refused. The client hears only "unauthenticated"; the reason is logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no access token")]
    Missing,
    #[error("malformed authorization header")]
    Malformed,
    #[error("token signed with an unknown key")]
    UnknownKey,
    #[error("token expired")]
    Expired,
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// Checks access tokens. Implemented by the IAM module; the layer knows nothing of JWTs.
pub trait TokenVerifier: Send + Sync + 'static {
    fn verify(&self, token: &str) -> Result<Principal, TokenError>;

    /// The full method names that take no access token because they carry another credential
    /// (a password, a refresh token): signing in and out.
    fn public_methods(&self) -> &'static [&'static str] {
        &[]
    }
}

/// One entry of the permission catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// Every use touches patient data and is audited.
    pub patient_data: bool,
}

impl PermissionInfo {
    pub fn module(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }
}

/// One entry of a module's catalogue (each module crate declares its `PERMISSIONS`).
pub const fn permission(
    name: &'static str,
    description: &'static str,
    patient_data: bool,
) -> PermissionInfo {
    PermissionInfo {
        name,
        description,
        patient_data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(grants: &[(&str, Scope)]) -> Principal {
        Principal {
            expires_at: None,
            user_id: Uuid::nil(),
            tenant_id: TenantId::new(Uuid::nil()),
            username: "nurse".to_owned(),
            service_account: false,
            session_id: Uuid::nil(),
            grants: grants
                .iter()
                .map(|(permission, scope)| Grant {
                    permission: (*permission).to_owned(),
                    scope: *scope,
                })
                .collect(),
        }
    }

    #[test]
    fn a_ward_grant_covers_that_ward_only() {
        let (facility, ward, other_ward) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let nurse = principal(&[("patients.read", Scope::Department(ward))]);
        assert!(nurse.is_allowed("patients.read", &Target::department(facility, ward)));
        assert!(!nurse.is_allowed("patients.read", &Target::department(facility, other_ward)));
        assert!(!nurse.is_allowed("patients.read", &Target::facility(facility)));
        assert!(!nurse.is_allowed("patients.write", &Target::department(facility, ward)));
        assert_eq!(
            nurse.departments_for("patients.read", facility),
            Some(vec![ward])
        );
        let head = principal(&[("patients.read", Scope::Facility(facility))]);
        assert!(head.is_allowed("patients.read", &Target::department(facility, other_ward)));
        assert_eq!(head.departments_for("patients.read", facility), None);
        assert_eq!(
            nurse.reach("patients.read"),
            Reach::Limited {
                facilities: vec![],
                departments: vec![ward]
            }
        );
        assert_eq!(
            principal(&[("patients.read", Scope::Tenant)]).reach("patients.read"),
            Reach::Tenant
        );
        let denied = nurse
            .authorize("patients.write", &Target::TENANT)
            .expect_err("nurse cannot write");
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn scopes_round_trip_through_text() {
        let id = Uuid::new_v4();
        for scope in [Scope::Tenant, Scope::Facility(id), Scope::Department(id)] {
            assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope));
        }
        assert!("ward:1".parse::<Scope>().is_err());
        assert!("facility:nope".parse::<Scope>().is_err());
    }

    #[test]
    fn only_probes_and_tools_are_public_by_themselves() {
        assert!(is_public("/grpc.health.v1.Health/Check"));
        assert!(!is_public("/openhmis.iam.v1.AuthService/Login"));
        assert!(!is_public("/openhmis.iam.v1.AuthService/GetMe"));
        assert!(!is_public(
            "/openhmis.core.v1.FacilityService/ListFacilities"
        ));
    }

    #[test]
    fn the_system_holds_every_permission_in_its_tenant_and_nobody_else_does() {
        let system = principal(&[(EVERY_PERMISSION, Scope::Tenant)]);
        let ward = Target::department(Uuid::new_v4(), Uuid::new_v4());
        assert!(system.is_allowed("patients.read", &ward));
        assert!(system.holds("anything.at.all"));
        assert_eq!(system.reach("patients.read"), Reach::Tenant);
        let nurse = principal(&[("patients.read", Scope::Tenant)]);
        assert!(!nurse.holds(EVERY_PERMISSION));
        assert_eq!(permission("audit.read", "", false).module(), "audit");
    }
}
