//! MLLP, the framing analysers speak: the listener they send their results to, and the
//! client (`send`) that sends them orders. Each message is framed as
//! `<VT> message <FS><CR>`, answered in the same framing before the next is read. What is
//! between frames is skipped; a frame longer than the limit is answered with a NACK and
//! skipped to its end; a connection that drops mid-frame, or keeps a frame open past the idle
//! limit, is closed with nothing stored (only a complete frame is ever applied).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::app::Laboratory;
use crate::hl7::{self, ErrorCode, Hl7Error};

const START: u8 = 0x0b;
const END: u8 = 0x1c;
const CARRIAGE_RETURN: u8 = 0x0d;

/// The largest message taken (a result message with many text results fits well within).
pub const DEFAULT_MAX_MESSAGE: usize = 1024 * 1024;
/// How long a frame may stay open without a byte, and a connection stay idle.
const IDLE: Duration = Duration::from_secs(120);

/// A bound MLLP listener; [`MllpListener::serve`] answers its connections until dropped.
#[derive(Debug)]
pub struct MllpListener {
    listener: TcpListener,
    laboratory: Arc<Laboratory>,
    max_message: usize,
    /// The networks analysers connect from; empty: any.
    allowed: Vec<IpNet>,
}

impl MllpListener {
    pub(crate) async fn bind(
        addr: SocketAddr,
        laboratory: Arc<Laboratory>,
        (max_message, allowed): (usize, Vec<IpNet>),
    ) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            laboratory,
            max_message,
            allowed,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections for as long as the future is polled, one task each.
    pub async fn serve(self) {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    // MLLP has no authentication: only the laboratory's networks are heard.
                    let peer_ip = peer.ip().to_canonical();
                    if !self.allowed.is_empty()
                        && !self.allowed.iter().any(|net| net.contains(&peer_ip))
                    {
                        tracing::warn!(%peer, "an MLLP connection from outside the analysers' networks was closed");
                        drop(stream);
                        continue;
                    }
                    let laboratory = self.laboratory.clone();
                    let max = self.max_message;
                    tokio::spawn(async move {
                        if let Err(error) = connection(stream, laboratory, max).await {
                            tracing::debug!(%error, %peer, "an analyser's connection ended");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "the MLLP listener could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}

/// What reading one frame gave.
enum Frame {
    Message(Vec<u8>),
    TooLong(Vec<u8>),
    Closed,
}

async fn read_byte(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<u8>> {
    match tokio::time::timeout(IDLE, reader.read_u8()).await {
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "idle connection",
        )),
        Ok(Ok(byte)) => Ok(Some(byte)),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Ok(Err(error)) => Err(error),
    }
}

/// Reads the next frame: skips to its start byte, then reads to `<FS><CR>`. A connection that
/// closes mid-frame gives `Closed`: the partial message is dropped.
async fn read_frame(reader: &mut BufReader<TcpStream>, max: usize) -> std::io::Result<Frame> {
    loop {
        match read_byte(reader).await? {
            None => return Ok(Frame::Closed),
            Some(START) => break,
            Some(_) => continue,
        }
    }
    let mut message = Vec::with_capacity(1024);
    let mut too_long = false;
    loop {
        let Some(byte) = read_byte(reader).await? else {
            return Ok(Frame::Closed);
        };
        if byte == END {
            match read_byte(reader).await? {
                Some(CARRIAGE_RETURN) => break,
                None => return Ok(Frame::Closed),
                Some(other) => {
                    // A lone FS inside the message: keep it and go on.
                    for kept in [END, other] {
                        if message.len() < max {
                            message.push(kept);
                        } else {
                            too_long = true;
                        }
                    }
                    continue;
                }
            }
        }
        if message.len() < max {
            message.push(byte);
        } else {
            too_long = true;
        }
    }
    Ok(if too_long {
        Frame::TooLong(message)
    } else {
        Frame::Message(message)
    })
}

/// HL7 v2 is often Latin-1 rather than UTF-8: bytes that are not UTF-8 are read as Latin-1.
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&byte| char::from(byte)).collect(),
    }
}

async fn connection(
    stream: TcpStream,
    laboratory: Arc<Laboratory>,
    max: usize,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    loop {
        let answer = match read_frame(&mut reader, max).await? {
            Frame::Closed => return Ok(()),
            Frame::Message(bytes) => laboratory.receive_hl7(&decode(&bytes)).await,
            Frame::TooLong(start) => {
                let header = hl7::read_header(&decode(&start)).unwrap_or_default();
                let error = Hl7Error::at(
                    "MSH",
                    1,
                    0,
                    ErrorCode::ApplicationError,
                    format!("the message is longer than {max} bytes"),
                );
                hl7::acknowledgment(&header, "TOOLONG", Utc::now(), Some(&error))
            }
        };
        let mut framed = Vec::with_capacity(answer.len() + 3);
        framed.push(START);
        framed.extend_from_slice(answer.as_bytes());
        framed.extend_from_slice(&[END, CARRIAGE_RETURN]);
        reader.get_mut().write_all(&framed).await?;
    }
}

/// How long an analyser may take to accept a connection, and then to answer a message.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest acknowledgment read.
const MAX_ANSWER: usize = 64 * 1024;

/// Sends one message to `endpoint` ("host:port") framed for MLLP and answers the framed
/// reply's content (the analyser's acknowledgment), on a connection of its own.
pub(crate) async fn send(endpoint: &str, message: &str) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(endpoint))
        .await
        .map_err(|_| Error::new(ErrorKind::TimedOut, "the analyser did not accept in time"))??;
    let mut framed = Vec::with_capacity(message.len() + 3);
    framed.push(START);
    framed.extend_from_slice(message.as_bytes());
    framed.extend_from_slice(&[END, CARRIAGE_RETURN]);
    stream.write_all(&framed).await?;
    let read = async {
        let mut reader = BufReader::new(&mut stream);
        let mut answer = Vec::new();
        let mut started = false;
        loop {
            let byte = reader.read_u8().await?;
            if !started {
                started = byte == START;
                continue;
            }
            answer.push(byte);
            if answer.ends_with(&[END, CARRIAGE_RETURN]) {
                answer.truncate(answer.len() - 2);
                return Ok(answer);
            }
            if answer.len() > MAX_ANSWER {
                return Err(Error::new(ErrorKind::InvalidData, "the answer is too long"));
            }
        }
    };
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, read)
        .await
        .map_err(|_| Error::new(ErrorKind::TimedOut, "the analyser did not answer in time"))??;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn latin1_is_read_when_the_bytes_are_not_utf8() {
        assert_eq!(decode(b"Ionescu"), "Ionescu");
        assert_eq!(decode(&[0x49, 0xe9]), "Ié");
        assert_eq!(decode("Ștefan".as_bytes()), "Ștefan");
    }
}
