//! The context of one call: its request id, the tenant it acts for, where it came from.
//!
//! [`RequestContextLayer`] wraps the whole gRPC router. It accepts a caller's `x-request-id`
//! (or makes one), echoes it on the response, opens the tracing span every log line of the
//! call is recorded under, and leaves a [`RequestContext`] in the request extensions for the
//! handlers. Until the IAM module authenticates callers, the tenant comes from `x-tenant-id`
//! metadata or the configured default tenant; IAM will replace that with the token's claims.

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

pub const REQUEST_ID_HEADER: &str = "x-request-id";
pub const TENANT_ID_HEADER: &str = "x-tenant-id";

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
    tenant: TenantResolution,
    pub client_addr: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
enum TenantResolution {
    Known(TenantId),
    Missing,
    Malformed,
}

impl RequestContext {
    /// A context for work that does not come from a call (jobs, demo loading, tests).
    pub fn system(tenant_id: TenantId) -> Self {
        Self {
            request_id: RequestId::generate(),
            tenant: TenantResolution::Known(tenant_id),
            client_addr: None,
        }
    }

    /// The tenant this call acts for, or the error to answer with.
    pub fn tenant_id(&self) -> Result<TenantId, Status> {
        match self.tenant {
            TenantResolution::Known(tenant_id) => Ok(tenant_id),
            TenantResolution::Missing => Err(Status::unauthenticated(
                "no tenant: send x-tenant-id metadata or configure a default tenant",
            )),
            TenantResolution::Malformed => Err(crate::error::invalid_argument(vec![
                crate::error::FieldViolation::new(TENANT_ID_HEADER, "must be a UUID"),
            ])),
        }
    }

    /// The context the layer left on a request; a request that did not pass through the
    /// layer (a unit test calling a handler directly) gets a fresh one with no tenant.
    pub fn of<T>(request: &tonic::Request<T>) -> Self {
        request
            .extensions()
            .get::<RequestContext>()
            .cloned()
            .unwrap_or_else(|| Self {
                request_id: RequestId::generate(),
                tenant: TenantResolution::Missing,
                client_addr: None,
            })
    }
}

/// Tower layer that builds the [`RequestContext`] of every call.
#[derive(Debug, Clone, Default)]
pub struct RequestContextLayer {
    default_tenant: Option<TenantId>,
}

impl RequestContextLayer {
    pub fn new(default_tenant: Option<TenantId>) -> Self {
        Self { default_tenant }
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContextService {
            inner,
            default_tenant: self.default_tenant,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestContextService<S> {
    inner: S,
    default_tenant: Option<TenantId>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestContextService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
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
        let tenant = match request.headers().get(TENANT_ID_HEADER) {
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|value| value.parse::<TenantId>().ok())
                .map_or(TenantResolution::Malformed, TenantResolution::Known),
            None => self
                .default_tenant
                .map_or(TenantResolution::Missing, TenantResolution::Known),
        };
        let client_addr = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr());
        let tenant_field = match &tenant {
            TenantResolution::Known(tenant_id) => tenant_id.to_string(),
            TenantResolution::Missing | TenantResolution::Malformed => String::new(),
        };
        let span = tracing::info_span!(
            "grpc",
            rpc = %request.uri().path(),
            request_id = %request_id,
            tenant_id = %tenant_field,
        );
        let echoed = HeaderValue::from_str(request_id.as_str()).ok();
        request.extensions_mut().insert(RequestContext {
            request_id,
            tenant,
            client_addr,
        });

        Box::pin(
            async move {
                let started = std::time::Instant::now();
                let mut response = inner.call(request).await?;
                if let Some(echoed) = echoed {
                    response.headers_mut().insert(REQUEST_ID_HEADER, echoed);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

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
