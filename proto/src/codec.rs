//! The codec every generated client and server uses: prost's, except that bytes which are not
//! the expected message are `INVALID_ARGUMENT` (the sender's error), not `INTERNAL` (which
//! tells clients and alerts that the server broke).

use std::marker::PhantomData;

use prost::Message;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::{Code, Status};
use tonic_prost::{ProstDecoder, ProstEncoder};

/// prost's codec with malformed messages blamed on their sender.
#[derive(Debug, Clone)]
pub struct ProtoCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for ProtoCodec<T, U> {
    fn default() -> Self {
        Self {
            _types: PhantomData,
        }
    }
}

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProtoDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder(ProstDecoder::default())
    }
}

/// prost's decoder; what it cannot decode is an invalid argument.
#[derive(Debug, Clone)]
pub struct ProtoDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for ProtoDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|status| {
            if status.code() == Code::Internal {
                // prost's message names the field; the length of what was sent is not in it.
                Status::invalid_argument(format!(
                    "invalid request: the message is not valid protobuf ({})",
                    bounded(status.message())
                ))
            } else {
                status
            }
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// At most a short prefix of a decoder's message.
fn bounded(message: &str) -> &str {
    let message = message
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(message);
    match message.char_indices().nth(160) {
        Some((cut, _)) => &message[..cut],
        None => message,
    }
}
