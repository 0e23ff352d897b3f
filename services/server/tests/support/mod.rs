//! What the tests that start the real `openhmis` binary share: its JSON log read on a thread,
//! waiting for one of its messages, a channel to the address it logs, and the bootstrap
//! administrator's sign-in.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use hmis_proto::openhmis::iam::v1 as iam;
use iam::auth_service_client::AuthServiceClient;
use tokio::sync::mpsc;

/// A started `openhmis` that is killed (and reaped) when the test lets go of it, however the
/// test ends: a test that fails half-way leaves no server and no cluster running.
pub struct Spawned(pub std::process::Child);

impl std::ops::Deref for Spawned {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Spawned {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // Already exited (the test stopped it) is fine: there is nothing to kill.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the server's JSON log lines on a thread and forwards them.
pub fn forward_log(
    stdout: std::process::ChildStdout,
) -> mpsc::UnboundedReceiver<serde_json::Value> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = sender.send(value);
            }
        }
    });
    receiver
}

/// Waits up to `within` for the log line whose message is `message`, and returns it.
pub async fn wait_for_message(
    log: &mut mpsc::UnboundedReceiver<serde_json::Value>,
    message: &str,
    within: Duration,
) -> serde_json::Value {
    loop {
        let line = tokio::time::timeout(within, log.recv())
            .await
            .unwrap_or_else(|_| panic!("no `{message}` log line within {within:?}"))
            .unwrap_or_else(|| panic!("server exited before logging `{message}`"));
        if line["message"] == message {
            return line;
        }
    }
}

/// A channel to the address of the server's `listening` line, logged within `within`.
pub async fn connect_when_listening(
    log: &mut mpsc::UnboundedReceiver<serde_json::Value>,
    within: Duration,
) -> tonic::transport::Channel {
    let listening = wait_for_message(log, "listening", within).await;
    let addr = listening["addr"].as_str().expect("addr field").to_owned();
    tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect")
}

/// The bootstrap administrator's access token (tenant `MAIN`).
pub async fn sign_in_admin(channel: &tonic::transport::Channel, password: &str) -> String {
    AuthServiceClient::new(channel.clone())
        .login(iam::LoginRequest {
            tenant_code: "MAIN".to_owned(),
            credentials: Some(iam::login_request::Credentials::Password(
                iam::PasswordCredentials {
                    username: "admin".to_owned(),
                    password: password.to_owned(),
                },
            )),
        })
        .await
        .expect("sign in")
        .into_inner()
        .tokens
        .expect("tokens")
        .access_token
}

/// `message` with the bearer token.
pub fn signed_in<T>(access_token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {access_token}").parse().expect("ascii"),
    );
    request
}
