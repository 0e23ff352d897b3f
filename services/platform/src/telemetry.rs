//! Logs and traces. `tracing` everywhere; pretty lines for a developer, JSON for log
//! shippers; OpenTelemetry traces over OTLP/gRPC when an endpoint is configured (or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set). Span fields carry ids only, never patient data.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, TelemetryOptions};

/// Keeps the trace pipeline alive; [`Telemetry::shutdown`] flushes spans still buffered.
#[derive(Debug)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter: {0}")]
    Filter(String),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

impl Telemetry {
    /// Installs the global subscriber. Call once, early, from the binary.
    pub fn init(options: &TelemetryOptions) -> Result<Self, TelemetryError> {
        let filter = match std::env::var("RUST_LOG") {
            Ok(filter) if !filter.is_empty() => EnvFilter::try_new(filter),
            _ => EnvFilter::try_new(&options.log_filter),
        }
        .map_err(|error| TelemetryError::Filter(error.to_string()))?;

        let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .ok()
            .filter(|endpoint| !endpoint.is_empty())
            .or_else(|| options.otlp_endpoint.clone());
        let tracer_provider = match endpoint {
            Some(endpoint) => {
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .build()
                    .map_err(|error| TelemetryError::Exporter(error.to_string()))?;
                Some(
                    SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_resource(
                            Resource::builder()
                                .with_service_name(options.service_name.clone())
                                .build(),
                        )
                        .build(),
                )
            }
            None => None,
        };
        let otel_layer = tracer_provider.as_ref().map(|provider| {
            tracing_opentelemetry::layer().with_tracer(provider.tracer("openhmis"))
        });

        let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
        let installed = match options.log_format {
            LogFormat::Pretty => registry
                .with(tracing_subscriber::fmt::layer().with_target(false))
                .try_init(),
            LogFormat::Json => registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .flatten_event(true)
                        .with_current_span(true)
                        .with_span_list(false),
                )
                .try_init(),
        };
        installed.map_err(|error| TelemetryError::AlreadyInstalled(error.to_string()))?;
        Ok(Self { tracer_provider })
    }

    pub fn shutdown(self) {
        if let Some(provider) = self.tracer_provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(error = %error, "flushing traces failed");
        }
    }
}
