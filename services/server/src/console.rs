//! The staff console (`console/` at the workspace root), built by its npm script into
//! `console/dist` and embedded here, so the one binary serves it beside its gRPC and
//! grpc-web services: `/` is the page, `/assets/app.{js,css}` its code and styles. A fresh
//! machine needs no Node to run it; CI rebuilds `dist` and fails when it differs from the
//! sources.
//!
//! [`ConsoleLayer`] answers those three paths before the gRPC layers see them (they are
//! public, and plain HTTP/1.1 GETs that grpc-web would refuse); every other request goes on
//! as it came.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use tower::{Layer, Service};

const INDEX: &[u8] = include_bytes!("../../../console/dist/index.html");
const SCRIPT: &[u8] = include_bytes!("../../../console/dist/assets/app.js");
const STYLES: &[u8] = include_bytes!("../../../console/dist/assets/app.css");

/// Only the console's own origin may run code or be framed; Pico's icons are data: images.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The file of the console at `path`: its content type and bytes.
fn file(path: &str) -> Option<(&'static str, &'static [u8])> {
    match path {
        "/" | "/index.html" => Some(("text/html; charset=utf-8", INDEX)),
        "/assets/app.js" => Some(("text/javascript; charset=utf-8", SCRIPT)),
        "/assets/app.css" => Some(("text/css; charset=utf-8", STYLES)),
        _ => None,
    }
}

fn answer(
    method: &Method,
    content_type: &'static str,
    body: &'static [u8],
) -> Response<tonic::body::Body> {
    let body = if method == Method::HEAD {
        tonic::body::Body::empty()
    } else {
        tonic::body::Body::new(http_body_util::Full::new(bytes::Bytes::from_static(body)))
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The names carry no hash: a browser asks again (cheaply) after each upgrade.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Serves the console's files; the outermost layer of the server.
#[derive(Debug, Clone, Default)]
pub struct ConsoleLayer;

impl<S> Layer<S> for ConsoleLayer {
    type Service = ConsoleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsoleService { inner }
    }
}

#[derive(Debug, Clone)]
pub struct ConsoleService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ConsoleService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let method = request.method().clone();
        if (method == Method::GET || method == Method::HEAD)
            && let Some((content_type, body)) = file(request.uri().path())
        {
            let response = answer(&method, content_type, body);
            return Box::pin(async move { Ok(response) });
        }
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(response.map(tonic::body::Body::new))
        })
    }
}
