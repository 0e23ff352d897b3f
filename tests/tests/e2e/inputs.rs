//! Odd input to every RPC of every service, found from the contracts' descriptors (not a list
//! kept by hand): an empty message, then for each field of the request (and of the messages it
//! holds) an oversized string, a malformed id, an unknown enum number, negative and huge
//! numbers, and timestamps outside any calendar. Every answer is short and never INTERNAL or
//! UNKNOWN; every refusal of bad input names a field; an oversized string or an unknown enum
//! number is never accepted; and the server keeps serving throughout.

use crate::support;

use bytes::{Buf, BufMut};
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    Value,
};
use support::TestApp;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Raw protobuf bytes out, response bytes ignored: the status is what is checked.
#[derive(Debug, Clone, Default)]
struct RawCodec;

#[derive(Debug, Clone, Default)]
struct RawEncoder;

#[derive(Debug, Clone, Default)]
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// The size of an oversized string: far past any field's bound.
const OVERSIZED: usize = 100_000;
/// How deep into nested messages fields are varied.
const DEPTH: usize = 3;

/// One variation of a request.
struct Case {
    /// The field path varied (`facility.name`), empty for the empty message.
    path: String,
    what: &'static str,
    message: DynamicMessage,
    /// Bad enough that accepting it is a defect, not a matter of taste.
    must_refuse: bool,
}

/// Sets `value` at `path` (a chain of fields from `root`), creating the messages on the way.
fn with_value(root: &MessageDescriptor, path: &[FieldDescriptor], value: Value) -> DynamicMessage {
    fn set(message: &mut DynamicMessage, path: &[FieldDescriptor], value: Value) {
        let (field, rest) = path.split_first().expect("a path has a field");
        if rest.is_empty() {
            let value = if field.is_list() {
                Value::List(vec![value])
            } else {
                value
            };
            message.set_field(field, value);
            return;
        }
        let Kind::Message(inner) = field.kind() else {
            unreachable!("only message fields lead deeper")
        };
        let mut child = DynamicMessage::new(inner);
        set(&mut child, rest, value);
        let child = Value::Message(child);
        let child = if field.is_list() {
            Value::List(vec![child])
        } else {
            child
        };
        message.set_field(field, child);
    }
    let mut message = DynamicMessage::new(root.clone());
    set(&mut message, path, value);
    message
}

fn timestamp(descriptor: &MessageDescriptor, seconds: i64, nanos: i32) -> Value {
    let mut message = DynamicMessage::new(descriptor.clone());
    message.set_field_by_name("seconds", Value::I64(seconds));
    message.set_field_by_name("nanos", Value::I32(nanos));
    Value::Message(message)
}

/// The odd values for one field.
fn odd_values(field: &FieldDescriptor) -> Vec<(&'static str, Value, bool)> {
    if field.is_map() {
        return Vec::new();
    }
    let name = field.name();
    match field.kind() {
        Kind::String => {
            let mut values = vec![(
                "an oversized string",
                Value::String("x".repeat(OVERSIZED)),
                true,
            )];
            if name == "id" || name.ends_with("_id") || name.ends_with("_ids") {
                values.push((
                    "a malformed id",
                    Value::String("not-an-id".to_owned()),
                    false,
                ));
            }
            values
        }
        Kind::Bytes => vec![(
            "oversized bytes",
            Value::Bytes(vec![b'x'; OVERSIZED].into()),
            false,
        )],
        Kind::Enum(descriptor) => {
            let unknown = descriptor
                .values()
                .map(|value| value.number())
                .max()
                .unwrap_or(0)
                + 1000;
            vec![("an unknown enum number", Value::EnumNumber(unknown), true)]
        }
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => vec![
            ("a negative number", Value::I32(-1), false),
            ("the smallest number", Value::I32(i32::MIN), false),
            ("the largest number", Value::I32(i32::MAX), false),
        ],
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => vec![
            ("a negative number", Value::I64(-1), false),
            ("the smallest number", Value::I64(i64::MIN), false),
            ("the largest number", Value::I64(i64::MAX), false),
        ],
        Kind::Uint32 | Kind::Fixed32 => vec![("the largest number", Value::U32(u32::MAX), false)],
        Kind::Uint64 | Kind::Fixed64 => vec![("the largest number", Value::U64(u64::MAX), false)],
        Kind::Double => vec![
            ("a negative number", Value::F64(-1.0), false),
            ("not a number", Value::F64(f64::NAN), false),
            ("infinity", Value::F64(f64::INFINITY), false),
        ],
        Kind::Float => vec![("not a number", Value::F32(f32::NAN), false)],
        Kind::Message(descriptor) if descriptor.full_name() == "google.protobuf.Timestamp" => vec![
            // Year 10000 and year 0: outside what a timestamp may hold.
            (
                "a timestamp after year 9999",
                timestamp(&descriptor, 253_402_300_800, 0),
                false,
            ),
            (
                "a timestamp before year 1",
                timestamp(&descriptor, -62_135_596_801, 0),
                false,
            ),
            ("negative nanoseconds", timestamp(&descriptor, 0, -1), false),
            ("year 1", timestamp(&descriptor, -62_135_596_800, 0), false),
        ],
        Kind::Message(_) | Kind::Bool => Vec::new(),
    }
}

/// Every variation of `input`: the empty message, then each odd value of each field, nested
/// messages included (to `DEPTH`, without following a message into itself).
fn cases(input: &MessageDescriptor) -> Vec<Case> {
    fn walk(
        root: &MessageDescriptor,
        descriptor: &MessageDescriptor,
        path: &mut Vec<FieldDescriptor>,
        seen: &mut Vec<String>,
        out: &mut Vec<Case>,
    ) {
        for field in descriptor.fields() {
            path.push(field.clone());
            let dotted = path
                .iter()
                .map(|field| field.name())
                .collect::<Vec<_>>()
                .join(".");
            for (what, value, must_refuse) in odd_values(&field) {
                out.push(Case {
                    path: dotted.clone(),
                    what,
                    message: with_value(root, path, value),
                    must_refuse,
                });
            }
            if let Kind::Message(inner) = field.kind()
                && !field.is_map()
                && !inner.full_name().starts_with("google.protobuf.")
                && path.len() < DEPTH
                && !seen.contains(&inner.full_name().to_owned())
            {
                seen.push(inner.full_name().to_owned());
                walk(root, &inner, path, seen, out);
                seen.pop();
            }
            path.pop();
        }
    }
    let mut out = vec![Case {
        path: String::new(),
        what: "an empty message",
        message: DynamicMessage::new(input.clone()),
        must_refuse: false,
    }];
    walk(
        input,
        input,
        &mut Vec::new(),
        &mut vec![input.full_name().to_owned()],
        &mut out,
    );
    out
}

/// The fields a refusal names (`google.rpc.BadRequest` in the details).
fn named_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|violation| violation.field)
                .collect()
        })
        .unwrap_or_default()
}

/// Sends `message` to `method`, signed in, and returns the status (OK as `Code::Ok`).
async fn call(
    channel: &tonic::transport::Channel,
    token: &str,
    method: &MethodDescriptor,
    message: &DynamicMessage,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("the server accepts calls");
    let path: http::uri::PathAndQuery =
        format!("/{}/{}", method.parent_service().full_name(), method.name())
            .parse()
            .expect("a method path");
    let mut request = tonic::Request::new(message.encode_to_vec());
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    request
        .metadata_mut()
        .insert("grpc-timeout", "30S".parse().expect("ascii"));
    if method.is_server_streaming() {
        match grpc.server_streaming(request, path, RawCodec).await {
            // A stream that starts is an answer; its first message or end is enough.
            Ok(response) => match response.into_inner().message().await {
                Ok(_) => tonic::Status::ok(""),
                Err(status) => status,
            },
            Err(status) => status,
        }
    } else {
        match grpc.unary(request, path, RawCodec).await {
            Ok(_) => tonic::Status::ok(""),
            Err(status) => status,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_odd_input_with_a_short_client_error() {
    let app = TestApp::spawn().await;
    let pool = DescriptorPool::decode(hmis_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    let services: Vec<_> = pool
        .services()
        .filter(|service| service.full_name().starts_with("openhmis."))
        .collect();
    assert!(
        services.len() >= 14,
        "every service is found: {}",
        services.len()
    );
    let mut defects = Vec::new();
    let mut calls = 0_usize;
    for service in &services {
        for method in service.methods() {
            // Signing out ends the session every other call uses.
            if method.name() == "Logout" {
                continue;
            }
            for case in cases(&method.input()) {
                calls += 1;
                let status = call(
                    &app.channel,
                    &app.operator.access_token,
                    &method,
                    &case.message,
                )
                .await;
                let name = format!(
                    "{}/{} with {}{}",
                    service.name(),
                    method.name(),
                    case.what,
                    if case.path.is_empty() {
                        String::new()
                    } else {
                        format!(" in `{}`", case.path)
                    }
                );
                let message = status.message();
                if matches!(
                    status.code(),
                    Code::Internal | Code::Unknown | Code::Unimplemented
                ) {
                    defects.push(format!("{name}: {:?} {message:.200}", status.code()));
                } else if message.len() > 1024 || message.contains(&"x".repeat(40)) {
                    defects.push(format!(
                        "{name}: a {}-byte message: {message:.300}",
                        message.len()
                    ));
                } else if status.code() == Code::InvalidArgument && named_fields(&status).is_empty()
                {
                    defects.push(format!(
                        "{name}: INVALID_ARGUMENT naming no field: {message:.200}"
                    ));
                } else if case.must_refuse && status.code() == Code::Ok {
                    defects.push(format!("{name}: accepted"));
                } else if status.code() == Code::Unauthenticated && service.name() != "AuthService"
                {
                    defects.push(format!("{name}: the session ended: {message:.200}"));
                }
            }
        }
    }
    // Still serving: a plain call answers.
    app.facilities()
        .list_facilities(support::signed_in(
            &app.operator,
            hmis_proto::openhmis::core::v1::ListFacilitiesRequest::default(),
        ))
        .await
        .expect("the server still serves");
    assert!(calls > 1000, "the contracts were walked: {calls} calls");
    assert!(
        defects.is_empty(),
        "{} of {calls} answers were wrong:\n{}",
        defects.len(),
        defects.join("\n")
    );
    app.stop().await;
}
