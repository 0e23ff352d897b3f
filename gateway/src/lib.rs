//! `openhmis-gateway`: browsers speak grpc-web (binary or text, over HTTP/1.1); the gateway
//! translates each call to gRPC (tonic-web) and forwards it over HTTP/2 to the process that
//! serves its service (`proxy.rs`), so a split deployment looks like one endpoint. Around
//! that: CORS for the browser app's origins, a sign-in rate limit per client address, a cap
//! on request size and on deadlines (`limits.rs`), request ids made when missing and passed
//! through, a static folder for the browser app, and `/healthz` for probes. Native gRPC
//! clients may use it too (HTTP/2 is forwarded as it is).

pub mod config;
pub mod limits;
pub mod proxy;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use http::header::HeaderName;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::services::ServeDir;

use crate::config::GatewayOptions;
use crate::limits::LoginLimiter;
use crate::proxy::{ClientAddr, Proxy, ProxyError, Upstreams};

/// The gateway, ready to serve.
#[derive(Debug, Clone)]
pub struct Gateway {
    options: GatewayOptions,
    proxy: Proxy,
}

impl Gateway {
    pub fn new(options: &GatewayOptions) -> Result<Self, ProxyError> {
        let upstreams = Upstreams::new(&options.default_upstream, &options.routes)?;
        let proxy = Proxy::new(
            upstreams,
            Arc::new(LoginLimiter::new(options.login_per_minute)),
            options.max_request_bytes,
            options.default_deadline,
            options.max_deadline,
        );
        Ok(Self {
            options: options.clone(),
            proxy,
        })
    }

    /// Every route: `/healthz`, gRPC and grpc-web calls, the static folder.
    pub fn router(&self) -> axum::Router {
        let dispatch = Dispatch {
            grpc: tonic_web::GrpcWebLayer::new().layer(self.proxy.clone()),
            statics: self.options.static_dir.as_ref().map(ServeDir::new),
            trust_forwarded_for: self.options.trust_forwarded_for,
            max_request_bytes: self.options.max_request_bytes,
        };
        axum::Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .fallback_service(dispatch)
            .layer(cors(&self.options.allowed_origins))
    }

    /// Serves on `listener` until `shutdown` resolves, then lets calls in flight finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            listener,
            self.router()
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// Browsers may read gRPC's status headers and the request id; preflights are cached.
fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_headers(Any)
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .expose_headers([
            HeaderName::from_static("grpc-status"),
            HeaderName::from_static("grpc-message"),
            HeaderName::from_static("grpc-status-details-bin"),
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// gRPC and grpc-web calls to the proxy (with the client's address), other GETs to the
/// static folder.
#[derive(Clone)]
struct Dispatch<G> {
    grpc: G,
    statics: Option<ServeDir>,
    trust_forwarded_for: bool,
    max_request_bytes: usize,
}

impl<G> Service<Request<axum::body::Body>> for Dispatch<G>
where
    G: Service<
            Request<axum::body::Body>,
            Response = Response<tonic::body::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    G::Future: Send + 'static,
{
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<axum::body::Body>) -> Self::Future {
        let is_grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/grpc"));
        if is_grpc {
            // What the client says it sends, checked before anything is read: a grpc-web-text
            // body is base64, a third larger than the messages it carries.
            let declared = request
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<usize>().ok());
            let text = request
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc-web-text"));
            let allowed = if text {
                self.max_request_bytes / 3 * 4 + 4
            } else {
                self.max_request_bytes + 5
            };
            if declared.is_some_and(|length| length > allowed) {
                let status = proxy::too_large(self.max_request_bytes);
                return Box::pin(async move { Ok(status.into_http::<axum::body::Body>()) });
            }
            let forwarded = self
                .trust_forwarded_for
                .then(|| {
                    request
                        .headers()
                        .get("x-forwarded-for")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.split(',').next())
                        .and_then(|first| first.trim().parse().ok())
                })
                .flatten();
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip());
            if let Some(client) = forwarded.or(peer) {
                request.extensions_mut().insert(ClientAddr(client));
            }
            let grpc = self.grpc.clone();
            return Box::pin(async move {
                let response = grpc.oneshot(request).await?;
                Ok(response.map(axum::body::Body::new))
            });
        }
        let statics = self.statics.clone();
        Box::pin(async move {
            match statics {
                Some(statics) if matches!(*request.method(), Method::GET | Method::HEAD) => {
                    Ok(statics.oneshot(request).await.into_response())
                }
                _ => Ok(StatusCode::NOT_FOUND.into_response()),
            }
        })
    }
}
