//! The crash drill, on the README's run path (embedded PostgreSQL, no database configured):
//! under write load the embedded PostgreSQL is killed with SIGKILL, then the server itself;
//! the cluster is restarted unaided (health says NOT_SERVING meanwhile), a killed server
//! leaves no cluster behind, a lock file naming a zombie does not stop the next start, and
//! every acknowledged write is present exactly once.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmis_proto::openhmis::core::v1 as pb;
use pb::facility_service_client::FacilityServiceClient;
use sqlx::Connection;
use support::{Spawned, connect_when_listening, forward_log, sign_in_admin, signed_in};
use tokio::sync::{mpsc, watch};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const ADMIN_PASSWORD: &str = "Drill-Secret-2026!";
const WRITERS: usize = 4;
const WAIT: Duration = Duration::from_secs(120);

struct Server {
    child: Spawned,
    log: mpsc::UnboundedReceiver<serde_json::Value>,
    channel: tonic::transport::Channel,
    token: String,
}

/// Starts `openhmis serve` on the embedded cluster in `dir` and signs in.
async fn start(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_openhmis"))
        .arg("serve")
        .env_remove("HMIS_DATABASE__URL")
        .env("HMIS_DATABASE__EMBEDDED__DIR", dir)
        .env("HMIS_IAM__BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env(
            "HMIS_IAM__SIGNING_KEY_SECRET_FILE",
            dir.with_file_name("token-signing.key"),
        )
        .env("HMIS_SERVER__LISTEN_ADDR", "127.0.0.1:0")
        .env("HMIS_TELEMETRY__LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Spawned)
        .expect("start openhmis");
    let mut log = forward_log(child.stdout.take().expect("stdout"));
    let channel = connect_when_listening(&mut log, WAIT).await;
    let token = sign_in_admin(&channel, ADMIN_PASSWORD).await;
    Server {
        child,
        log,
        channel,
        token,
    }
}

/// Creates facilities until told to stop, retrying each (same request id) until it is
/// acknowledged, as a client on a flaky network would; records the acknowledged codes.
async fn write(
    server: &Server,
    writer: usize,
    acknowledged: Arc<Mutex<Vec<String>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut facilities = FacilityServiceClient::new(server.channel.clone());
    let token = server.token.clone();
    for n in 0.. {
        let code = format!("W{writer}N{n}");
        loop {
            if *stop.borrow_and_update() {
                return;
            }
            let answer = facilities
                .create_facility(signed_in(
                    &token,
                    pb::CreateFacilityRequest {
                        request_id: format!("drill-{code}"),
                        facility: Some(pb::Facility {
                            code: code.clone(),
                            name: format!("Drill {code}"),
                            time_zone: "UTC".to_owned(),
                            ..Default::default()
                        }),
                    },
                ))
                .await;
            match answer {
                Ok(_) => {
                    acknowledged.lock().expect("lock").push(code.clone());
                    break;
                }
                Err(status) => {
                    assert!(
                        matches!(
                            status.code(),
                            tonic::Code::Unavailable
                                | tonic::Code::Unknown
                                | tonic::Code::Cancelled
                        ),
                        "a write failed for a reason other than the outage: {status:?}"
                    );
                    // A client's back-off between retries, not an ordering device.
                    let _ = tokio::time::timeout(Duration::from_millis(50), stop.changed()).await;
                }
            }
        }
    }
}

/// Waits until at least `count` writes are acknowledged.
async fn until_acknowledged(acknowledged: &Mutex<Vec<String>>, count: usize) {
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(WAIT, async {
        while acknowledged.lock().expect("lock").len() < count {
            poll.tick().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("fewer than {count} writes acknowledged within two minutes"));
}

fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn kill(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("send the signal");
}

/// Waits for the health stream to report `wanted`.
async fn until_status(
    stream: &mut tonic::Streaming<tonic_health::pb::HealthCheckResponse>,
    wanted: ServingStatus,
) {
    tokio::time::timeout(WAIT, async {
        loop {
            let message = stream
                .message()
                .await
                .expect("health stream")
                .expect("health stream open");
            if message.status == wanted as i32 {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("health never reported {wanted:?}"));
}

/// Runs `WRITERS` writers against `server` until `stop` is sent.
fn spawn_writers(
    server: &Arc<Server>,
    acknowledged: &Arc<Mutex<Vec<String>>>,
    stop: &watch::Sender<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..WRITERS)
        .map(|writer| {
            let server = server.clone();
            let acknowledged = acknowledged.clone();
            let stop = stop.subscribe();
            tokio::spawn(async move { write(&server, writer, acknowledged, stop).await })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_cluster_and_the_server_are_killed_under_load_and_nothing_acknowledged_is_lost()
 {
    let root = tempdir();
    let dir = root.join("postgres");
    let data_dir = dir.join("pgdata");
    let acknowledged = Arc::new(Mutex::new(Vec::new()));

    // 1. The embedded PostgreSQL dies under load: it comes back unaided, health says so.
    let server = Arc::new(start(&dir).await);
    let mut health = HealthClient::new(server.channel.clone())
        .watch(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch health")
        .into_inner();
    until_status(&mut health, ServingStatus::Serving).await;
    let (stop, _) = watch::channel(false);
    let writers = spawn_writers(&server, &acknowledged, &stop);
    until_acknowledged(&acknowledged, 20).await;
    let postmaster = postmaster_pid(&data_dir).expect("a running postmaster");
    kill(postmaster, nix::sys::signal::Signal::SIGKILL);
    until_status(&mut health, ServingStatus::NotServing).await;
    until_status(&mut health, ServingStatus::Serving).await;
    let restarted = postmaster_pid(&data_dir).expect("a restarted postmaster");
    assert_ne!(restarted, postmaster, "a new postmaster runs");
    let before = acknowledged.lock().expect("lock").len();
    until_acknowledged(&acknowledged, before + 20).await;

    // 2. The server dies under load: its cluster goes with it.
    let server_pid = i32::try_from(server.child.id()).expect("pid");
    kill(server_pid, nix::sys::signal::Signal::SIGKILL);
    stop.send(true).expect("stop the writers");
    for writer in writers {
        writer.await.expect("writer");
    }
    let Ok(mut server) = Arc::try_unwrap(server) else {
        panic!("the writers still hold the server");
    };
    server.child.wait().expect("reap the killed server");
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(WAIT, async {
        while alive(restarted) {
            poll.tick().await;
        }
    })
    .await
    .expect("the killed server's postmaster stops by itself");

    // 3. A lock file naming a zombie (another program, and not even alive) is no obstacle.
    let mut zombie = Command::new("true").spawn().expect("spawn a child");
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    let zombie_pid = i32::try_from(zombie.id()).expect("pid");
    tokio::time::timeout(WAIT, async {
        while alive(zombie_pid) {
            poll.tick().await;
        }
    })
    .await
    .expect("the child exits");
    std::fs::write(
        data_dir.join("postmaster.pid"),
        format!("{zombie_pid}\n{}\n", data_dir.display()),
    )
    .expect("forge the lock file");

    // 4. A restart finds every acknowledged write, each once.
    let mut server = start(&dir).await;
    zombie.wait().expect("reap the zombie");
    let mut owner = sqlx::PgConnection::connect_with(
        &sqlx::postgres::PgConnectOptions::new()
            .socket(dir.join("run"))
            .port(5432)
            .username("postgres")
            .database("openhmis"),
    )
    .await
    .expect("connect to the embedded cluster");
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT code, count(*) FROM core.facilities WHERE code LIKE 'W%N%' GROUP BY code",
    )
    .fetch_all(&mut owner)
    .await
    .expect("read the facilities");
    owner.close().await.expect("disconnect");
    let acknowledged: BTreeSet<String> = acknowledged.lock().expect("lock").drain(..).collect();
    let stored_codes: BTreeSet<String> = stored.iter().map(|(code, _)| code.clone()).collect();
    assert!(
        acknowledged.len() >= 40,
        "the drill ran under load ({} writes)",
        acknowledged.len()
    );
    let missing: Vec<&String> = acknowledged.difference(&stored_codes).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert!(
        stored.iter().all(|(_, count)| *count == 1),
        "a write was stored twice: {stored:?}"
    );

    // 5. SIGTERM stops the server and its cluster cleanly.
    kill(
        i32::try_from(server.child.id()).expect("pid"),
        nix::sys::signal::Signal::SIGTERM,
    );
    let status = server.child.wait().expect("wait for exit");
    assert!(status.success(), "openhmis exited with {status}");
    assert!(
        postmaster_pid(&data_dir).is_none(),
        "the cluster was stopped and removed its lock file"
    );
    while server.log.try_recv().is_ok() {}
    std::fs::remove_dir_all(&root).expect("clean up");
}

/// A folder the cluster's user can enter (the embedded cluster runs as `postgres` when the
/// tests run as root).
fn tempdir() -> PathBuf {
    let root = std::env::temp_dir().join(format!("openhmis-drill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("create the drill folder");
    std::fs::set_permissions(
        &root,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .expect("open the drill folder to the cluster's user");
    root
}
