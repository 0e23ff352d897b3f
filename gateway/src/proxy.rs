//! The forwarding core: a gRPC call (already translated from grpc-web by tonic-web) goes to
//! the upstream that serves its service, over HTTP/2, with its metadata (authorization,
//! `x-request-id`, break-glass reason) as it came, a deadline no longer than allowed, and a
//! body no larger than allowed. Failures the gateway itself sees become gRPC statuses.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tonic::Status;
use tonic::body::Body;

use crate::limits::{LoginLimiter, deadline};

/// The sign-in method, the one call the gateway rate-limits per client.
pub const LOGIN_PATH: &str = "/openhmis.iam.v1.AuthService/Login";

const REQUEST_ID: &str = "x-request-id";

/// Headers of one HTTP hop that HTTP/2 forbids forwarding.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Why the gateway could not set itself up.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream `{0}` is not an http:// URL with a host")]
    Upstream(String),
}

/// Where each service goes.
#[derive(Debug, Clone)]
pub struct Upstreams {
    default: Uri,
    /// By module: the `<module>` of `openhmis.<module>.v1`.
    by_module: BTreeMap<String, Uri>,
}

fn parse_upstream(url: &str) -> Result<Uri, ProxyError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| ProxyError::Upstream(url.to_owned()))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(_)) => Ok(uri),
        _ => Err(ProxyError::Upstream(url.to_owned())),
    }
}

impl Upstreams {
    pub fn new(default: &str, routes: &BTreeMap<String, String>) -> Result<Self, ProxyError> {
        let mut by_module = BTreeMap::new();
        for (module, url) in routes {
            by_module.insert(module.to_ascii_lowercase(), parse_upstream(url)?);
        }
        Ok(Self {
            default: parse_upstream(default)?,
            by_module,
        })
    }

    /// The upstream of a call path `/openhmis.<module>.v1.<Service>/<Method>`; anything
    /// else (health, reflection) goes to the default.
    pub fn for_path(&self, path: &str) -> &Uri {
        path.strip_prefix("/openhmis.")
            .and_then(|rest| rest.split('.').next())
            .and_then(|module| self.by_module.get(module))
            .unwrap_or(&self.default)
    }
}

/// The gateway's inner service: gRPC in, gRPC out.
#[derive(Clone)]
pub struct Proxy {
    upstreams: Arc<Upstreams>,
    client: Client<HttpConnector, Body>,
    limiter: Arc<LoginLimiter>,
    max_request_bytes: usize,
    default_deadline: Duration,
    max_deadline: Duration,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("upstreams", &self.upstreams)
            .finish_non_exhaustive()
    }
}

/// The address a call came from, put in the request's extensions by the listener.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl Proxy {
    pub fn new(
        upstreams: Upstreams,
        limiter: Arc<LoginLimiter>,
        max_request_bytes: usize,
        default_deadline: Duration,
        max_deadline: Duration,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(connector);
        Self {
            upstreams: Arc::new(upstreams),
            client,
            limiter,
            max_request_bytes,
            default_deadline,
            max_deadline,
        }
    }

    async fn forward(self, mut request: Request<Body>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        let request_id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let answer = |status: Status| with_request_id(status.into_http(), &request_id);

        if path == LOGIN_PATH {
            let client = request.extensions().get::<ClientAddr>().map(|addr| addr.0);
            if let Some(client) = client
                && !self.limiter.admit(client)
            {
                tracing::warn!(client = %client, "sign-in attempts over the limit");
                return answer(Status::resource_exhausted(
                    "too many sign-in attempts from this address; wait a minute",
                ));
            }
        }
        let timeout = deadline(
            request.headers().get("grpc-timeout"),
            self.default_deadline,
            self.max_deadline,
        );

        let upstream = self.upstreams.for_path(&path);
        let mut parts = upstream.clone().into_parts();
        parts.path_and_query = request.uri().path_and_query().cloned();
        let Ok(uri) = Uri::from_parts(parts) else {
            return answer(Status::invalid_argument("the call path is not valid"));
        };
        *request.uri_mut() = uri;
        *request.version_mut() = http::Version::HTTP_2;
        let headers = request.headers_mut();
        for name in HOP_BY_HOP {
            headers.remove(name);
        }
        // grpc-web-text bodies shrink when decoded; HTTP/2 frames carry the real length.
        headers.remove(http::header::CONTENT_LENGTH);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert(HeaderName::from_static(REQUEST_ID), value);
        }
        if let Ok(value) = HeaderValue::from_str(&format!("{}m", timeout.as_millis())) {
            headers.insert(HeaderName::from_static("grpc-timeout"), value);
        }
        // A body larger than allowed that did not say so up front fails when it grows past
        // the limit; the upstream sees the stream reset.
        let limit = self.max_request_bytes;
        let request = request.map(|body| {
            Body::new(Unsized {
                inner: http_body_util::Limited::new(body, limit)
                    .map_err(|error| Status::resource_exhausted(error.to_string())),
            })
        });

        match tokio::time::timeout(timeout, self.client.request(request)).await {
            Err(_) => answer(Status::deadline_exceeded(
                "the upstream did not answer in time",
            )),
            Ok(Err(error)) if body_too_large(&error) => answer(too_large(limit)),
            Ok(Err(error)) => {
                tracing::warn!(upstream = %upstream, error = %error, "upstream unreachable");
                answer(Status::unavailable(
                    "the service is not reachable; try again",
                ))
            }
            Ok(Ok(response)) => with_request_id(response.map(Body::new), &request_id),
        }
    }
}

pin_project_lite::pin_project! {
    /// A body that claims no size: a grpc-web-text body keeps the size hint of its base64
    /// form, and HTTP/2 would announce that as the content-length of the shorter decoded
    /// message (the server resets such a stream).
    struct Unsized<B> {
        #[pin]
        inner: B,
    }
}

impl<B: http_body::Body> http_body::Body for Unsized<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

/// The answer to a request over the size limit.
pub fn too_large(limit: usize) -> Status {
    Status::resource_exhausted(format!(
        "the request is larger than the gateway accepts ({limit} bytes)"
    ))
}

/// Whether the call failed because its body grew past the limit (the `Limited` wrapper's
/// error, somewhere in the client error's causes).
fn body_too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error
            .downcast_ref::<Status>()
            .is_some_and(|status| status.code() == tonic::Code::ResourceExhausted)
        {
            return true;
        }
        cause = error.source();
    }
    false
}

fn with_request_id(mut response: Response<Body>, request_id: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), value);
    }
    response
}

impl tower::Service<Request<Body>> for Proxy {
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let proxy = self.clone();
        Box::pin(async move { Ok(proxy.forward(request).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_go_to_their_module_upstream_and_the_rest_to_the_default() {
        let routes = BTreeMap::from([
            ("patients".to_owned(), "http://clinical:50051".to_owned()),
            ("INVENTORY".to_owned(), "http://pharmacy:50051".to_owned()),
        ]);
        let upstreams = Upstreams::new("http://openhmis:50051", &routes).expect("valid");
        let host = |path: &str| {
            upstreams
                .for_path(path)
                .host()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            host("/openhmis.patients.v1.PatientService/GetPatient"),
            "clinical"
        );
        assert_eq!(
            host("/openhmis.inventory.v1.InventoryService/GetStock"),
            "pharmacy"
        );
        assert_eq!(host("/openhmis.iam.v1.AuthService/Login"), "openhmis");
        assert_eq!(host("/grpc.health.v1.Health/Check"), "openhmis");
        assert!(Upstreams::new("https://x:1", &BTreeMap::new()).is_err());
        assert!(Upstreams::new("not a url", &BTreeMap::new()).is_err());
    }
}
