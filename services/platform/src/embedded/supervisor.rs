//! The embedded postmaster as a supervised child: started by one long-lived thread, waited
//! on, restarted with a growing pause when it dies, stopped (fast shutdown) on request. The
//! kernel stops it when this process dies however it dies (parent-death signal), so a killed
//! server never leaves a cluster behind that nobody owns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::watch;

use super::{Cluster, EmbeddedError};

/// How long a start (including crash recovery) may take before it is given up.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a fast shutdown may take before the postmaster is told to quit at once.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(25);

#[derive(Debug, Default)]
struct Shared {
    stopping: AtomicBool,
    /// The running postmaster's pid, 0 between runs.
    pid: AtomicI32,
}

#[derive(Debug)]
pub(super) struct Supervisor {
    shared: Arc<Shared>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
    crashes: watch::Receiver<u64>,
}

enum Started {
    Ready,
    Exited(String),
    TimedOut,
    Stopping,
}

impl Supervisor {
    /// Starts the postmaster and returns once it accepts connections; it is then watched
    /// until [`Supervisor::stop`].
    pub(super) fn spawn(cluster: Arc<Cluster>) -> Result<Self, EmbeddedError> {
        let shared = Arc::new(Shared::default());
        let (first_sender, first) = std::sync::mpsc::channel();
        let (crash_sender, crashes) = watch::channel(0_u64);
        // The child's parent-death signal follows the thread that forked it, so one thread
        // forks every postmaster and lives as long as they should.
        let thread = std::thread::Builder::new()
            .name("embedded-postgres".to_owned())
            .spawn({
                let shared = shared.clone();
                move || supervise(&cluster, &shared, first_sender, &crash_sender)
            })
            .map_err(|source| EmbeddedError::Io {
                path: "embedded-postgres thread".to_owned(),
                source,
            })?;
        match first.recv() {
            Ok(Ok(())) => Ok(Self {
                shared,
                thread: std::sync::Mutex::new(Some(thread)),
                crashes,
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(EmbeddedError::Command {
                    command: "postgres".to_owned(),
                    output: "the supervising thread ended before the server started".to_owned(),
                })
            }
        }
    }

    /// Counts the postmaster's unexpected exits; changes the moment one is noticed.
    pub(super) fn crashes(&self) -> watch::Receiver<u64> {
        self.crashes.clone()
    }

    pub(super) fn pid(&self) -> Option<i32> {
        let pid = self.shared.pid.load(Ordering::SeqCst);
        (pid > 0).then_some(pid)
    }

    /// Fast shutdown (sessions end, committed work is durable), escalating to an immediate
    /// one if it hangs; returns once the postmaster is gone. Idempotent.
    pub(super) fn stop(&self) {
        let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        signal(self.shared.pid.load(Ordering::SeqCst), Signal::SIGINT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        if !thread.is_finished() {
            tracing::warn!("embedded postgresql did not stop in time; quitting it immediately");
            signal(self.shared.pid.load(Ordering::SeqCst), Signal::SIGQUIT);
        }
        let _ = thread.join();
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(pid: i32, signal: Signal) {
    if pid > 0 {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

fn supervise(
    cluster: &Cluster,
    shared: &Shared,
    first: std::sync::mpsc::Sender<Result<(), EmbeddedError>>,
    crashes: &watch::Sender<u64>,
) {
    let mut first = Some(first);
    let mut pause = FIRST_PAUSE;
    loop {
        let launched = cluster.clear_lock().and_then(|()| cluster.launch());
        let mut child = match launched {
            Ok(child) => child,
            Err(error) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Err(error));
                    return;
                }
                tracing::error!(error = %error, "cannot restart embedded postgresql; retrying");
                if pause_or_stop(shared, &mut pause) {
                    return;
                }
                continue;
            }
        };
        let pid = i32::try_from(child.id()).unwrap_or(0);
        shared.pid.store(pid, Ordering::SeqCst);
        // stop() may have looked for a pid before it was stored: look again after.
        if shared.stopping.load(Ordering::SeqCst) {
            signal(pid, Signal::SIGINT);
        }
        match wait_until_ready(cluster, &mut child, pid, shared) {
            Started::Ready => {
                pause = FIRST_PAUSE;
                match first.take() {
                    Some(first) => {
                        let _ = first.send(Ok(()));
                    }
                    None => tracing::info!(pid, "embedded postgresql restarted"),
                }
                let status = child.wait();
                shared.pid.store(0, Ordering::SeqCst);
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                tracing::error!(
                    status = %status.map(|status| status.to_string()).unwrap_or_else(|error| error.to_string()),
                    "embedded postgresql exited unexpectedly; restarting it"
                );
                crashes.send_modify(|count| *count += 1);
            }
            Started::Stopping => {
                let _ = child.wait();
                shared.pid.store(0, Ordering::SeqCst);
                return;
            }
            outcome @ (Started::Exited(_) | Started::TimedOut) => {
                if matches!(outcome, Started::TimedOut) {
                    signal(pid, Signal::SIGQUIT);
                    let _ = child.wait();
                }
                shared.pid.store(0, Ordering::SeqCst);
                let reason = match outcome {
                    Started::Exited(status) => format!("postgres exited ({status})"),
                    _ => format!("postgres did not accept connections within {START_TIMEOUT:?}"),
                };
                let error = EmbeddedError::Command {
                    command: "postgres".to_owned(),
                    output: format!("{reason}; its log ends with:\n{}", cluster.log_tail()),
                };
                if let Some(first) = first.take() {
                    let _ = first.send(Err(error));
                    return;
                }
                tracing::error!(error = %error, "embedded postgresql failed to restart; retrying");
            }
        }
        if pause_or_stop(shared, &mut pause) {
            return;
        }
    }
}

/// Waits `pause` (doubling it for next time) unless a stop arrives: true when stopping.
fn pause_or_stop(shared: &Shared, pause: &mut Duration) -> bool {
    let deadline = Instant::now() + *pause;
    *pause = (*pause * 2).min(LONGEST_PAUSE);
    while Instant::now() < deadline {
        if shared.stopping.load(Ordering::SeqCst) {
            return true;
        }
        std::thread::sleep(POLL);
    }
    shared.stopping.load(Ordering::SeqCst)
}

fn wait_until_ready(
    cluster: &Cluster,
    child: &mut std::process::Child,
    pid: i32,
    shared: &Shared,
) -> Started {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return Started::Stopping;
        }
        match child.try_wait() {
            Ok(Some(status)) => return Started::Exited(status.to_string()),
            Ok(None) => {}
            Err(error) => return Started::Exited(error.to_string()),
        }
        if super::process::is_ready(&cluster.data_dir, pid) {
            return Started::Ready;
        }
        if Instant::now() >= deadline {
            return Started::TimedOut;
        }
        std::thread::sleep(POLL);
    }
}
