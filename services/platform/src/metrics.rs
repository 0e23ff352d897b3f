//! Per-RPC metrics in the Prometheus text format: how many calls each method took, with
//! which status, and how long they ran. [`MetricsLayer`] counts every gRPC (and grpc-web)
//! call that reaches the services; [`Metrics::render`] is what `/metrics` on the admin port
//! serves.
//!
//! The series (the dashboard's metric list is in the README):
//! - `openhmis_rpc_requests_total{service, method, code}`: calls finished, by gRPC status
//!   code name (`OK`, `INVALID_ARGUMENT`, ...);
//! - `openhmis_rpc_duration_seconds{service, method}`: a histogram of call durations, until
//!   the response headers (for a unary call, the whole handler);
//! - `openhmis_rpc_in_flight`: calls being served now.
//!
//! The status of a unary call is known from its headers (tonic sends errors trailers-only);
//! a server stream that fails after its first message is counted as `OK` when it starts.
//! Paths that are not a served method (`UNIMPLEMENTED`) are counted under `method="unknown"`,
//! so a scanner cannot grow the label set.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tonic::Code;
use tower::{Layer, Service};

/// Upper bounds of the duration histogram, in seconds.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct MethodStats {
    by_code: BTreeMap<&'static str, u64>,
    /// Calls per bucket (not cumulative; made cumulative when rendered), then the overflow.
    buckets: [u64; BUCKETS.len() + 1],
    sum_seconds: f64,
    count: u64,
}

/// The process's RPC metrics; cheap to clone (one shared registry).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    methods: Arc<Mutex<BTreeMap<(String, String), MethodStats>>>,
    in_flight: Arc<AtomicI64>,
}

/// `/openhmis.patients.v1.PatientService/GetPatient` -> (`openhmis.patients.v1.PatientService`,
/// `GetPatient`).
fn split_path(path: &str) -> (String, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or_default();
    let method = parts.next().unwrap_or_default();
    (service.to_owned(), method.to_owned())
}

fn code_name(code: Code) -> &'static str {
    crate::audit::outcome_name(code)
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one finished call.
    pub fn record(&self, path: &str, code: Code, seconds: f64) {
        let (service, method) = if code == Code::Unimplemented {
            ("unknown".to_owned(), "unknown".to_owned())
        } else {
            split_path(path)
        };
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        let Ok(mut methods) = self.methods.lock() else {
            return;
        };
        let stats = methods.entry((service, method)).or_default();
        *stats.by_code.entry(code_name(code)).or_default() += 1;
        stats.buckets[bucket] += 1;
        stats.sum_seconds += seconds;
        stats.count += 1;
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let methods = match self.methods.lock() {
            Ok(methods) => methods,
            Err(poisoned) => poisoned.into_inner(),
        };
        out.push_str(
            "# HELP openhmis_rpc_requests_total gRPC calls finished, by method and status code.\n\
             # TYPE openhmis_rpc_requests_total counter\n",
        );
        for ((service, method), stats) in methods.iter() {
            for (code, count) in &stats.by_code {
                let _ = writeln!(
                    out,
                    "openhmis_rpc_requests_total{{service=\"{service}\",method=\"{method}\",code=\"{code}\"}} {count}"
                );
            }
        }
        out.push_str(
            "# HELP openhmis_rpc_duration_seconds gRPC call durations, by method.\n\
             # TYPE openhmis_rpc_duration_seconds histogram\n",
        );
        for ((service, method), stats) in methods.iter() {
            let labels = format!("service=\"{service}\",method=\"{method}\"");
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(stats.buckets.iter()) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "openhmis_rpc_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "openhmis_rpc_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 openhmis_rpc_duration_seconds_sum{{{labels}}} {}\n\
                 openhmis_rpc_duration_seconds_count{{{labels}}} {}",
                stats.count, stats.sum_seconds, stats.count
            );
        }
        let _ = write!(
            out,
            "# HELP openhmis_rpc_in_flight gRPC calls being served now.\n\
             # TYPE openhmis_rpc_in_flight gauge\n\
             openhmis_rpc_in_flight {}\n",
            self.in_flight.load(Ordering::Relaxed)
        );
        out
    }
}

/// Counts the calls of the services it wraps into a [`Metrics`].
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Metrics,
}

impl MetricsLayer {
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Metrics,
}

/// Leaves the in-flight gauge when the call ends, however it ends (a dropped future too).
struct InFlight(Arc<AtomicI64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S>
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        let path = request.uri().path().to_owned();
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        let in_flight = InFlight(metrics.in_flight.clone());
        Box::pin(async move {
            let _in_flight = in_flight;
            let started = Instant::now();
            let result = inner.call(request).await;
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.parse::<i32>().ok())
                    .map_or(Code::Ok, Code::from_i32),
                Err(_) => Code::Internal,
            };
            metrics.record(&path, code, started.elapsed().as_secs_f64());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_method_and_code_with_cumulative_buckets() {
        let metrics = Metrics::new();
        let path = "/openhmis.patients.v1.PatientService/GetPatient";
        metrics.record(path, Code::Ok, 0.003);
        metrics.record(path, Code::Ok, 0.2);
        metrics.record(path, Code::NotFound, 20.0);
        metrics.record("/no.such.Service/Scan", Code::Unimplemented, 0.0001);
        let text = metrics.render();
        let labels = "service=\"openhmis.patients.v1.PatientService\",method=\"GetPatient\"";
        assert!(text.contains(&format!(
            "openhmis_rpc_requests_total{{{labels},code=\"OK\"}} 2"
        )));
        assert!(text.contains(&format!(
            "openhmis_rpc_requests_total{{{labels},code=\"NOT_FOUND\"}} 1"
        )));
        assert!(text.contains(&format!(
            "openhmis_rpc_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1"
        )));
        assert!(text.contains(&format!(
            "openhmis_rpc_duration_seconds_bucket{{{labels},le=\"0.25\"}} 2"
        )));
        assert!(text.contains(&format!(
            "openhmis_rpc_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3"
        )));
        assert!(text.contains("service=\"unknown\",method=\"unknown\",code=\"UNIMPLEMENTED\"} 1"));
        assert!(!text.contains("no.such.Service"));
        assert!(text.contains("openhmis_rpc_in_flight 0"));
    }
}
