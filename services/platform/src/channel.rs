//! How one module calls another through its contract: the generated tonic client over a
//! [`ServiceChannel`], which is either the other module's server in this process
//! ([`in_process`]) or a network channel to the process that runs it ([`remote`]). The caller
//! cannot tell which, so a module moved to its own process keeps its callers' code.
//!
//! In-process calls do not pass the [`RequestContextLayer`](crate::RequestContextLayer): the
//! request carries the caller's [`RequestContext`] instead ([`forwarded`]), so the callee
//! authorizes and audits the same person the outer call does.

use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::RequestContext;

/// Any error a transport may raise.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error every channel is boxed to: a concrete type, not `BoxError` itself, so that the
/// `Into<StdError>` bounds of generated clients hold without higher-ranked lifetimes (a
/// boxed trait object there makes `async fn`s using the client fail to be `Send`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ChannelError(BoxError);

/// A transport for generated clients: `XServiceClient::new(channel)`.
pub type ServiceChannel = BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    ChannelError,
>;

/// A channel straight into a tonic server of this process (no socket, no HTTP/2 framing).
pub fn in_process<S>(server: S) -> ServiceChannel
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    BoxCloneSyncService::new(server.map_err(|error| ChannelError(error.into())))
}

/// A channel to a module served by another process.
pub fn remote(channel: tonic::transport::Channel) -> ServiceChannel {
    BoxCloneSyncService::new(channel.map_err(|error| ChannelError(error.into())))
}

/// A request on behalf of the caller of the current call: the callee sees the same
/// principal, request id and method, and audits its access under them. In this process it
/// reads the context itself; in another, the caller's access token and request id travel as
/// metadata and that process's [`RequestContextLayer`](crate::RequestContextLayer) checks the
/// token again.
pub fn forwarded<T>(context: &RequestContext, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(context.clone());
    let metadata = request.metadata_mut();
    if let Some(bearer) = context.bearer()
        && let Ok(value) = format!("Bearer {}", bearer.expose()).parse()
    {
        metadata.insert(crate::context::AUTHORIZATION_HEADER, value);
    }
    if let Ok(value) = context.request_id.as_str().parse() {
        metadata.insert(crate::context::REQUEST_ID_HEADER, value);
    }
    request
}

/// Why a call to another module failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The module answered with this status (NOT_FOUND, PERMISSION_DENIED, ...).
    #[error(transparent)]
    Status(#[from] tonic::Status),
    /// Its answer lacks what its contract promises.
    #[error("another module answered a malformed {0}")]
    Malformed(&'static str),
}

/// As a module's failure: the other module's status passed on as it is, a malformed answer
/// as a corrupt row (an internal error; the log names what was malformed).
impl From<CallError> for crate::Failure {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Status(status) => Self::Context(status),
            CallError::Malformed(what) => Self::CorruptRow(what),
        }
    }
}

impl CallError {
    /// Whether the module said there is no such thing (the caller says which field named it).
    pub fn is_not_found(&self) -> bool {
        matches!(self, CallError::Status(status) if status.code() == tonic::Code::NotFound)
    }
}

/// An id another module sent, parsed (malformed: [`CallError::Malformed`] naming `what`).
pub fn answered_id(value: &str, what: &'static str) -> Result<uuid::Uuid, CallError> {
    uuid::Uuid::parse_str(value).map_err(|_| CallError::Malformed(what))
}

/// An optional id another module sent (empty: none).
pub fn answered_optional_id(
    value: &str,
    what: &'static str,
) -> Result<Option<uuid::Uuid>, CallError> {
    match value {
        "" => Ok(None),
        value => answered_id(value, what).map(Some),
    }
}
