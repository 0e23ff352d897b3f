//! The context of one call: its request id, who is calling (and so for which tenant), and
//! where the call came from.
//!
//! [`RequestContextLayer`] wraps the whole gRPC router. It accepts a caller's `x-request-id`
//! (or makes one), echoes it on the response, authenticates the bearer token of every call
//! that is not public (refusing with `UNAUTHENTICATED` before any handler runs), opens the
//! tracing span every log line of the call is recorded under, and leaves a [`RequestContext`]
//! in the request extensions for the handlers. The tenant is the token's; nothing else names it.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tonic::Status;
use tower::{Layer, Service};
use tracing::Instrument;
use uuid::Uuid;

use std::sync::Arc;

use crate::auth::{EVERY_PERMISSION, Grant, Principal, Scope, Target, TokenError, TokenVerifier};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
pub const AUTHORIZATION_HEADER: &str = "authorization";
/// Why the caller opens a patient record outside its scope (break-glass).
pub const BREAK_GLASS_HEADER: &str = "x-break-glass-reason";
/// Why a movement is recorded further back than the usual window (with the permission for it).
pub const BACKDATING_HEADER: &str = "x-backdating-reason";

/// The institution a call acts for. Every row of every module carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Uuid);

impl TenantId {
    pub fn new(id: Uuid) -> Self {
        Self(id)
    }

    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TenantId {
    type Err = uuid::Error;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(value).map(Self)
    }
}

/// Correlates a call across logs, traces, audit records and the client's own logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    const MAX_LEN: usize = 128;

    /// A caller-supplied id is kept when it is short printable ASCII (it ends up in logs and
    /// headers); anything else is replaced so it cannot forge log lines.
    pub fn from_header(value: Option<&HeaderValue>) -> Self {
        value
            .and_then(|value| value.to_str().ok())
            .filter(|value| {
                !value.is_empty()
                    && value.len() <= Self::MAX_LEN
                    && value.bytes().all(|byte| byte.is_ascii_graphic())
            })
            .map(|value| Self(value.to_owned()))
            .unwrap_or_else(Self::generate)
    }

    pub fn generate() -> Self {
        Self(Uuid::now_v7().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a handler knows about the call it serves.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: RequestId,
    principal: Option<Principal>,
    pub client_addr: Option<SocketAddr>,
    method: String,
    break_glass_reason: Option<String>,
    backdating_reason: Option<String>,
    /// The caller's access token, for calls made on its behalf to a module in another
    /// process ([`crate::channel::forwarded`]). Never printed.
    bearer: Option<BearerToken>,
}

/// An access token as the caller sent it; `Debug` shows no part of it.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

/// How a caller may reach a patient's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientAccess {
    /// Within the caller's scope.
    InScope,
    /// Outside it, by break-glass, with the caller's reason: flagged in the audit trail.
    BreakGlass(String),
}

impl PatientAccess {
    pub fn reason(&self) -> Option<&str> {
        match self {
            PatientAccess::InScope => None,
            PatientAccess::BreakGlass(reason) => Some(reason),
        }
    }
}

/// The permission that lets a caller open a record outside its scope, giving a reason.
pub const BREAK_GLASS_PERMISSION: &str = "patients.break_glass";

impl RequestContext {
    /// A context for work the system does itself (bootstrap, demo loading, jobs): it holds
    /// every permission ([`EVERY_PERMISSION`]), for `tenant_id` only.
    pub fn system(tenant_id: TenantId) -> Self {
        Self {
            request_id: RequestId::generate(),
            principal: Some(Principal {
                expires_at: None,
                user_id: Uuid::nil(),
                tenant_id,
                username: "system".to_owned(),
                service_account: true,
                session_id: Uuid::nil(),
                grants: vec![Grant {
                    permission: EVERY_PERMISSION.to_owned(),
                    scope: Scope::Tenant,
                }],
            }),
            client_addr: None,
            method: "system".to_owned(),
            break_glass_reason: None,
            backdating_reason: None,
            bearer: None,
        }
    }

    /// The same context, its work on record under `method` (e.g. the event a follower acts
    /// on) instead of the method of a call.
    pub fn acting_on(mut self, method: &str) -> Self {
        self.method = method.to_owned();
        self
    }

    /// A context for an authenticated caller; used by the layer and by in-process callers.
    pub fn authenticated(principal: Principal, method: &str) -> Self {
        Self {
            request_id: RequestId::generate(),
            principal: Some(principal),
            client_addr: None,
            method: method.to_owned(),
            break_glass_reason: None,
            backdating_reason: None,
            bearer: None,
        }
    }

    /// Why the caller records something further back than usual ([`BACKDATING_HEADER`]).
    pub fn backdating_reason(&self) -> Option<&str> {
        self.backdating_reason.as_deref()
    }

    /// The caller's access token, when the call came with one.
    pub fn bearer(&self) -> Option<&BearerToken> {
        self.bearer.as_ref()
    }

    /// The full gRPC method of the call, e.g. `/openhmis.core.v1.FacilityService/GetBed`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// May the caller reach data of a patient who belongs to `target` with `permission`?
    /// In scope: yes. Outside it: only by break-glass, when the caller holds
    /// [`BREAK_GLASS_PERMISSION`] and sent a reason (`x-break-glass-reason`). The answer must
    /// go into the call's audit record.
    pub fn authorize_patient(
        &self,
        permission: &str,
        target: &Target,
    ) -> Result<PatientAccess, Status> {
        let principal = self.principal()?;
        if principal.is_allowed(permission, target) {
            return Ok(PatientAccess::InScope);
        }
        if principal.holds(permission) && principal.holds(BREAK_GLASS_PERMISSION) {
            return match &self.break_glass_reason {
                Some(reason) => Ok(PatientAccess::BreakGlass(reason.clone())),
                None => Err(Status::permission_denied(format!(
                    "outside your scope; to open it anyway send {BREAK_GLASS_HEADER} with the reason"
                ))),
            };
        }
        Err(Status::permission_denied(format!(
            "missing permission {permission} for this patient"
        )))
    }

    /// The caller, or `UNAUTHENTICATED` (only public calls reach a handler without one).
    pub fn principal(&self) -> Result<&Principal, Status> {
        self.principal
            .as_ref()
            .ok_or_else(|| Status::unauthenticated("this call needs an access token"))
    }

    /// The caller's user id, for "who did it" columns; nil for an anonymous (public) call.
    pub fn user_id(&self) -> Uuid {
        self.principal
            .as_ref()
            .map(|principal| principal.user_id)
            .unwrap_or_default()
    }

    /// The tenant this call acts for: the caller's.
    pub fn tenant_id(&self) -> Result<TenantId, Status> {
        self.principal().map(|principal| principal.tenant_id)
    }

    /// The caller, if it holds `permission` for `target`; `PERMISSION_DENIED` otherwise.
    pub fn authorize(&self, permission: &str, target: &Target) -> Result<&Principal, Status> {
        let principal = self.principal()?;
        principal.authorize(permission, target)?;
        Ok(principal)
    }

    /// The caller, if it holds `permission` in any scope (listings filter by scope after).
    pub fn authorize_any(&self, permission: &str) -> Result<&Principal, Status> {
        let principal = self.principal()?;
        if principal.holds(permission) {
            Ok(principal)
        } else {
            Err(Status::permission_denied(format!(
                "missing permission {permission}"
            )))
        }
    }

    /// The context the layer left on a request; a request that did not pass through the
    /// layer (a unit test calling a handler directly) gets an anonymous one.
    pub fn of<T>(request: &tonic::Request<T>) -> Self {
        request
            .extensions()
            .get::<RequestContext>()
            .cloned()
            .unwrap_or_else(|| Self {
                request_id: RequestId::generate(),
                principal: None,
                client_addr: None,
                method: String::new(),
                break_glass_reason: None,
                backdating_reason: None,
                bearer: None,
            })
    }
}

/// Tower layer that builds the [`RequestContext`] of every call and refuses unauthenticated
/// calls to anything but the public methods.
#[derive(Clone)]
pub struct RequestContextLayer {
    verifier: Arc<dyn TokenVerifier>,
}

impl std::fmt::Debug for RequestContextLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContextLayer")
            .finish_non_exhaustive()
    }
}

impl RequestContextLayer {
    pub fn new(verifier: Arc<dyn TokenVerifier>) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContextService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestContextService<S> {
    inner: S,
    verifier: Arc<dyn TokenVerifier>,
}

fn bearer_token(value: Option<&HeaderValue>) -> Result<&str, TokenError> {
    let value = value.ok_or(TokenError::Missing)?;
    let value = value.to_str().map_err(|_| TokenError::Malformed)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(token.trim())
        }
        _ => Err(TokenError::Malformed),
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestContextService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness serves this call; the fresh clone waits.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);

        let request_id = RequestId::from_header(request.headers().get(REQUEST_ID_HEADER));
        let path = request.uri().path().to_owned();
        let client_addr = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr());
        let token = bearer_token(request.headers().get(AUTHORIZATION_HEADER));
        let bearer = token
            .as_ref()
            .ok()
            .map(|token| BearerToken((*token).to_owned()));
        let authenticated = token.and_then(|token| self.verifier.verify(token));
        let span = tracing::info_span!(
            "grpc",
            rpc = %path,
            request_id = %request_id,
            tenant_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        let echoed = HeaderValue::from_str(request_id.as_str()).ok();
        let principal = match authenticated {
            Ok(principal) => {
                span.record("tenant_id", tracing::field::display(principal.tenant_id));
                span.record("user_id", tracing::field::display(principal.user_id));
                Some(principal)
            }
            Err(_)
                if crate::auth::is_public(&path)
                    || self.verifier.public_methods().contains(&path.as_str()) =>
            {
                None
            }
            Err(error) => {
                let _entered = span.enter();
                tracing::info!(reason = %error, "refused an unauthenticated call");
                let mut response: Response<ResBody> =
                    Status::unauthenticated("a valid access token is required").into_http();
                if let Some(echoed) = echoed {
                    response.headers_mut().insert(REQUEST_ID_HEADER, echoed);
                }
                return Box::pin(async move { Ok(response) });
            }
        };
        // Kept only with the principal it proved.
        let bearer = principal.as_ref().and(bearer);
        let reason_in = |header: &str| {
            request
                .headers()
                .get(header)
                .and_then(|value| value.to_str().ok())
                .map(|value| value.trim().chars().take(500).collect::<String>())
                .filter(|value| !value.is_empty())
        };
        let break_glass_reason = reason_in(BREAK_GLASS_HEADER);
        let backdating_reason = reason_in(BACKDATING_HEADER);
        request.extensions_mut().insert(RequestContext {
            request_id,
            principal,
            client_addr,
            method: path,
            break_glass_reason,
            backdating_reason,
            bearer,
        });

        Box::pin(
            async move {
                let started = std::time::Instant::now();
                let mut response = inner.call(request).await?;
                if let Some(echoed) = echoed {
                    response.headers_mut().insert(REQUEST_ID_HEADER, echoed);
                }
                bound_error_message(response.headers_mut());
                tracing::debug!(
                    elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                    "call done"
                );
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// The most of an error's `grpc-message` (percent-encoded) an answer carries.
const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// Cuts an error's message to [`MAX_ERROR_MESSAGE_BYTES`]: whatever a module put in it, an
/// answer never grows with the client's input (standard clients refuse headers past their
/// limit, and grpc-web clients cannot parse the answer). Field violations are bounded where
/// they are made; this is the net under every other message.
fn bound_error_message(headers: &mut http::HeaderMap) {
    let Some(message) = headers.get("grpc-message") else {
        return;
    };
    let bytes = message.as_bytes();
    if bytes.len() <= MAX_ERROR_MESSAGE_BYTES {
        return;
    }
    // Percent-encoded: never cut inside an escape.
    let mut cut = MAX_ERROR_MESSAGE_BYTES;
    if let Some(escape) = bytes[cut.saturating_sub(2)..cut]
        .iter()
        .position(|b| *b == b'%')
    {
        cut = cut - 2 + escape;
    }
    let mut bounded = bytes[..cut].to_vec();
    bounded.extend_from_slice(b"%E2%80%A6");
    if let Ok(value) = HeaderValue::from_bytes(&bounded) {
        headers.insert("grpc-message", value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_error_messages_are_cut_outside_an_escape() {
        let mut headers = http::HeaderMap::new();
        let long = format!("{}%41{}", "a".repeat(1022), "b".repeat(5000));
        headers.insert("grpc-message", HeaderValue::from_str(&long).expect("ascii"));
        bound_error_message(&mut headers);
        let message = headers.get("grpc-message").expect("kept").as_bytes();
        assert_eq!(message.len(), 1022 + "%E2%80%A6".len());
        assert!(message.ends_with(b"a%E2%80%A6"));
    }

    fn context(grants: &[(&str, Scope)], reason: Option<&str>) -> RequestContext {
        let mut context = RequestContext::authenticated(
            Principal {
                expires_at: None,
                user_id: Uuid::new_v4(),
                tenant_id: TenantId::generate(),
                username: "dr".to_owned(),
                service_account: false,
                session_id: Uuid::new_v4(),
                grants: grants
                    .iter()
                    .map(|(permission, scope)| Grant {
                        permission: (*permission).to_owned(),
                        scope: *scope,
                    })
                    .collect(),
            },
            "/test",
        );
        context.break_glass_reason = reason.map(str::to_owned);
        context
    }

    #[test]
    fn break_glass_needs_the_permission_and_a_reason() {
        let (facility, ward, elsewhere) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let in_ward = Target::department(facility, ward);
        let outside = Target::department(facility, elsewhere);
        let physician = [
            ("patients.read", Scope::Department(ward)),
            (BREAK_GLASS_PERMISSION, Scope::Tenant),
        ];
        assert_eq!(
            context(&physician, None)
                .authorize_patient("patients.read", &in_ward)
                .ok(),
            Some(PatientAccess::InScope)
        );
        let refused = context(&physician, None)
            .authorize_patient("patients.read", &outside)
            .expect_err("no reason given");
        assert!(refused.message().contains(BREAK_GLASS_HEADER));
        assert_eq!(
            context(&physician, Some("cardiac arrest in the corridor"))
                .authorize_patient("patients.read", &outside)
                .ok(),
            Some(PatientAccess::BreakGlass(
                "cardiac arrest in the corridor".to_owned()
            ))
        );
        let nurse = [("patients.read", Scope::Department(ward))];
        assert!(
            context(&nurse, Some("curious"))
                .authorize_patient("patients.read", &outside)
                .is_err(),
            "no break-glass permission"
        );
    }

    #[test]
    fn caller_request_ids_are_kept_when_sane() {
        let kept = RequestId::from_header(Some(&HeaderValue::from_static("abc-123")));
        assert_eq!(kept.as_str(), "abc-123");
        let forged = RequestId::from_header(Some(&HeaderValue::from_static("a b\tc")));
        assert_ne!(forged.as_str(), "a b\tc");
        let long = "x".repeat(200);
        let too_long = HeaderValue::from_str(&long).expect("ascii header");
        assert_ne!(RequestId::from_header(Some(&too_long)).as_str(), long);
        assert!(Uuid::parse_str(RequestId::from_header(None).as_str()).is_ok());
    }
}
