//! The grpc-web gateway in front of a real server: grpc-web (binary and text) over HTTP/1.1
//! as browsers send it, routing by service name (one module sent to a process that is not
//! there), the sign-in rate limit, the request size cap, CORS for the app's origin only,
//! request ids passed through, the static folder, and native gRPC through it.

use crate::support;

use std::collections::HashMap;
use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hmis_proto::openhmis::iam::v1 as iam_pb;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openhmis_gateway::Gateway;
use openhmis_gateway::config::GatewayOptions;
use prost::Message;
use support::{ADMIN_PASSWORD, TestApp};

const ORIGIN: &str = "https://hmis.example";

/// What came back from one grpc-web call.
#[derive(Debug)]
struct WebAnswer {
    http_status: u16,
    headers: http::HeaderMap,
    /// The messages, each without its frame header.
    messages: Vec<Vec<u8>>,
    /// The trailers frame, or the headers of a trailers-only answer.
    trailers: HashMap<String, String>,
}

impl WebAnswer {
    fn grpc_status(&self) -> i32 {
        self.trailers
            .get("grpc-status")
            .and_then(|value| value.parse().ok())
            .unwrap_or(-1)
    }
}

fn frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
    framed.extend_from_slice(&body);
    framed
}

/// One grpc-web call to `path`, binary or text, as a browser's fetch sends it.
async fn call(
    gateway: SocketAddr,
    path: &str,
    message: &impl Message,
    text: bool,
    headers: &[(&str, &str)],
) -> WebAnswer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let framed = frame(message);
    let (content_type, body) = if text {
        (
            "application/grpc-web-text",
            STANDARD.encode(&framed).into_bytes(),
        )
    } else {
        ("application/grpc-web+proto", framed)
    };
    let mut request = http::Request::post(format!("http://{gateway}{path}"))
        .header("content-type", content_type)
        .header("accept", content_type)
        .header("x-grpc-web", "1")
        .header("origin", ORIGIN);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("the gateway answers");
    let http_status = response.status().as_u16();
    let response_headers = response.headers().clone();
    let raw = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    let mut bytes = if text {
        // Each frame is encoded on its own (padding may fall mid-answer); every 4-character
        // quantum decodes by itself.
        let characters: Vec<u8> = raw
            .into_iter()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        characters
            .chunks(4)
            .flat_map(|quantum| STANDARD.decode(quantum).expect("base64 answer"))
            .collect()
    } else {
        raw
    };
    let mut messages = Vec::new();
    let mut trailers = HashMap::new();
    for (name, value) in &response_headers {
        if name.as_str().starts_with("grpc-") {
            trailers.insert(
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            );
        }
    }
    while bytes.len() >= 5 {
        let flag = bytes[0];
        let length = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
        let payload: Vec<u8> = bytes[5..5 + length].to_vec();
        bytes.drain(..5 + length);
        if flag & 0x80 != 0 {
            for line in String::from_utf8_lossy(&payload).split("\r\n") {
                if let Some((name, value)) = line.split_once(':') {
                    trailers.insert(name.trim().to_lowercase(), value.trim().to_owned());
                }
            }
        } else {
            messages.push(payload);
        }
    }
    WebAnswer {
        http_status,
        headers: response_headers,
        messages,
        trailers,
    }
}

fn login_request(password: &str) -> iam_pb::LoginRequest {
    iam_pb::LoginRequest {
        tenant_code: "OPS".to_owned(),
        credentials: Some(iam_pb::login_request::Credentials::Password(
            iam_pb::PasswordCredentials {
                username: "admin".to_owned(),
                password: password.to_owned(),
            },
        )),
    }
}

async fn start_gateway(options: GatewayOptions) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let gateway = Gateway::new(&options).expect("valid gateway options");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        gateway
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("gateway ran");
    });
    (addr, stop)
}

#[tokio::test]
async fn browsers_reach_the_services_through_the_gateway_within_its_limits() {
    let app = TestApp::spawn().await;
    let statics = std::env::temp_dir().join(format!("openhmis-app-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&statics).expect("static folder");
    std::fs::write(statics.join("index.html"), "<h1>OpenHMIS</h1>").expect("index");
    let options = GatewayOptions {
        default_upstream: format!("http://{}", app.addr),
        // The bed register "runs" where nothing listens: its calls must go there, not to the
        // default, and fail as UNAVAILABLE.
        routes: [("core".to_owned(), "http://127.0.0.1:9".to_owned())].into(),
        allowed_origins: vec![ORIGIN.to_owned()],
        static_dir: Some(statics.clone()),
        login_per_minute: 3,
        max_request_bytes: 64 * 1024,
        ..GatewayOptions::default()
    };
    let (gateway, stop) = start_gateway(options).await;

    // Sign-in over grpc-web (binary), with the request id passed through both ways.
    let signed_in = call(
        gateway,
        "/openhmis.iam.v1.AuthService/Login",
        &login_request(ADMIN_PASSWORD),
        false,
        &[("x-request-id", "browser-call-1")],
    )
    .await;
    assert_eq!((signed_in.http_status, signed_in.grpc_status()), (200, 0));
    assert_eq!(
        signed_in
            .headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok()),
        Some("browser-call-1")
    );
    assert_eq!(
        signed_in
            .headers
            .get("access-control-allow-origin")
            .and_then(|value| value.to_str().ok()),
        Some(ORIGIN)
    );
    let tokens = iam_pb::LoginResponse::decode(signed_in.messages[0].as_slice())
        .expect("a login response")
        .tokens
        .expect("tokens");
    let authorization = format!("Bearer {}", tokens.access_token);

    // An authenticated call over grpc-web-text reaches IAM on the default upstream.
    let me = call(
        gateway,
        "/openhmis.iam.v1.AuthService/GetMe",
        &iam_pb::GetMeRequest {},
        true,
        &[("authorization", &authorization)],
    )
    .await;
    assert_eq!(me.grpc_status(), 0, "{:?}", me.trailers);
    let me = iam_pb::GetMeResponse::decode(me.messages[0].as_slice()).expect("me");
    assert_eq!(me.username, "admin");

    // The bed register is routed to its own (absent) upstream.
    let beds = call(
        gateway,
        "/openhmis.core.v1.FacilityService/ListFacilities",
        &hmis_proto::openhmis::core::v1::ListFacilitiesRequest::default(),
        false,
        &[("authorization", &authorization)],
    )
    .await;
    assert_eq!(beds.grpc_status(), tonic::Code::Unavailable as i32);
    assert!(
        beds.headers.contains_key("x-request-id"),
        "a request id is made when none came"
    );

    // Too large a request is refused before it is forwarded.
    let huge = iam_pb::LoginRequest {
        tenant_code: "X".repeat(100 * 1024),
        ..login_request("x")
    };
    let refused = call(
        gateway,
        "/openhmis.iam.v1.AuthService/Login",
        &huge,
        false,
        &[],
    )
    .await;
    assert_eq!(refused.grpc_status(), tonic::Code::ResourceExhausted as i32);

    // Sign-in attempts: 3 a minute from one address. The sign-in above was the first (the
    // oversized one never got that far); two wrong passwords are checked, then the address
    // must wait.
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(
            call(
                gateway,
                "/openhmis.iam.v1.AuthService/Login",
                &login_request("wrong-password"),
                false,
                &[],
            )
            .await
            .grpc_status(),
        );
    }
    let exhausted = tonic::Code::ResourceExhausted as i32;
    assert_eq!(
        codes,
        [
            tonic::Code::Unauthenticated as i32,
            tonic::Code::Unauthenticated as i32,
            exhausted,
            exhausted
        ]
    );

    // CORS: the app's origin is allowed a preflight; another origin is not.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let preflight = |origin: &str| {
        http::Request::builder()
            .method("OPTIONS")
            .uri(format!(
                "http://{gateway}/openhmis.iam.v1.AuthService/Login"
            ))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-grpc-web,authorization",
            )
            .body(Full::new(Bytes::new()))
            .expect("preflight")
    };
    let allowed = client.request(preflight(ORIGIN)).await.expect("preflight");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|value| value.to_str().ok()),
        Some(ORIGIN)
    );
    let other = client
        .request(preflight("https://elsewhere.example"))
        .await
        .expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The browser app's files and the probe.
    let page = client
        .get(format!("http://{gateway}/index.html").parse().expect("uri"))
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let page = page.into_body().collect().await.expect("page").to_bytes();
    assert_eq!(&page[..], b"<h1>OpenHMIS</h1>");
    let health = client
        .get(format!("http://{gateway}/healthz").parse().expect("uri"))
        .await
        .expect("health");
    assert_eq!(health.status(), 200);

    // Native gRPC (HTTP/2) goes through as it is.
    let channel = tonic::transport::Channel::from_shared(format!("http://{gateway}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect through the gateway");
    let status = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health over gRPC")
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    let _ = stop.send(());
    std::fs::remove_dir_all(&statics).expect("cleanup");
    app.stop().await;
}
