//! A private PostgreSQL for the standalone set-up and for tests.
//!
//! With no database URL configured, the server runs its own cluster from the installed
//! PostgreSQL server binaries: data in a local folder (`<dir>/pgdata`), listening only on a
//! unix socket in `<dir>/run` (no TCP port to collide with or expose), trust authentication
//! guarded by that folder's 0700 permissions. `initdb` refuses to run as root, so when this
//! process is root the cluster runs as an unprivileged OS user (default `postgres`).
//!
//! The server runs the postmaster as its supervised child (`supervisor.rs`): a death is
//! noticed at once and the cluster restarted, and the cluster ends with the process. Who holds
//! the folder is read from the process table, not trusted from a lock file (`process.rs`).

mod process;
mod supervisor;

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::watch;

use crate::config::EmbeddedOptions;
use process::Holder;
use supervisor::Supervisor;

/// Port number used only to name the socket file (`.s.PGSQL.<port>`); no TCP is opened.
const SOCKET_PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";
/// Unix socket paths are limited to 107 bytes by the kernel.
const MAX_SOCKET_PATH: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found; install them \
         (Debian/Ubuntu: `apt-get install postgresql`), set HMIS_DATABASE__EMBEDDED__BIN_DIR, \
         or point HMIS_DATABASE__URL at an existing server"
    )]
    BinariesNotFound,
    #[error(
        "running as root, the embedded PostgreSQL runs as OS user `{0}`, which does not exist; \
         create it or set HMIS_DATABASE__EMBEDDED__OS_USER"
    )]
    UnknownUser(String),
    #[error(
        "OS user `{user}` cannot reach {dir}; choose a folder it can enter with \
         HMIS_DATABASE__EMBEDDED__DIR (e.g. under /var/lib or /tmp)"
    )]
    Unreachable { user: String, dir: String },
    #[error("socket path {0} is too long for a unix socket; choose a shorter embedded dir")]
    SocketPathTooLong(String),
    #[error("{command} failed: {output}")]
    Command { command: String, output: String },
    #[error("embedded PostgreSQL i/o on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("embedded PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The OS identity the cluster's processes run as.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

/// The cluster's folders and how its programs are run.
#[derive(Debug)]
struct Cluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    run_as: Option<RunAs>,
}

/// A running embedded cluster: supervised by this process, or another process's.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    cluster: Arc<Cluster>,
    /// `None` when another live process runs the cluster (this one only connects).
    supervisor: Option<Supervisor>,
}

impl EmbeddedPostgres {
    /// Initialises the cluster if needed and runs it as a supervised child of this process:
    /// restarted when it dies, stopped by [`EmbeddedPostgres::stop`] or when this process
    /// ends, however it ends. A stale lock file (its process gone, a zombie or another
    /// program) is cleared; a cluster left running by a killed server is stopped and started
    /// again under supervision; a cluster another live process runs is used as it is.
    pub async fn start(options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let cluster = Arc::new(Cluster::prepare(options)?);
        if let Holder::Owned(pid) = process::holder(&cluster.data_dir) {
            tracing::info!(pid, data_dir = %cluster.data_dir.display(), "using the embedded postgresql another process runs");
            cluster.wait_until_ready(pid)?;
            return Ok(Self {
                cluster,
                supervisor: None,
            });
        }
        tracing::info!(data_dir = %cluster.data_dir.display(), "starting embedded postgresql");
        let supervisor = Supervisor::spawn(cluster.clone())?;
        Ok(Self {
            cluster,
            supervisor: Some(supervisor),
        })
    }

    /// Like [`EmbeddedPostgres::start`], but a cluster started here outlives this process
    /// (for test runs, whose processes share one cluster one after another); any live
    /// cluster on the folder is used as it is. Never supervised; `stop` leaves it running.
    pub async fn start_detached(options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let cluster = Arc::new(Cluster::prepare(options)?);
        match process::holder(&cluster.data_dir) {
            Holder::Owned(pid) | Holder::Orphan(pid) => cluster.wait_until_ready(pid)?,
            Holder::Stale | Holder::Nobody => {
                cluster.remove_stale_lock()?;
                tracing::info!(data_dir = %cluster.data_dir.display(), "starting embedded postgresql (detached)");
                cluster.run(
                    "pg_ctl",
                    &[
                        "start".as_ref(),
                        "-w".as_ref(),
                        "-t".as_ref(),
                        "120".as_ref(),
                        "-D".as_ref(),
                        cluster.data_dir.as_os_str(),
                        "-l".as_ref(),
                        cluster.log_file.as_os_str(),
                    ],
                )?;
            }
        }
        Ok(Self {
            cluster,
            supervisor: None,
        })
    }

    /// Counts the times the supervised cluster died unexpectedly (`None` when this process
    /// does not supervise it); it changes the moment a death is noticed, before the restart.
    pub fn crashes(&self) -> Option<watch::Receiver<u64>> {
        self.supervisor.as_ref().map(Supervisor::crashes)
    }

    /// The supervised postmaster's process id while it runs.
    pub fn pid(&self) -> Option<i32> {
        self.supervisor.as_ref().and_then(Supervisor::pid)
    }

    /// Connection options for `database` as the cluster's superuser, over the socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.cluster.socket_dir)
            .port(SOCKET_PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// The folder holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.cluster.socket_dir
    }

    /// The cluster's data folder (holding `postmaster.pid`).
    pub fn data_dir(&self) -> &Path {
        &self.cluster.data_dir
    }

    /// Creates `database` unless it exists.
    pub async fn ensure_database(&self, database: &str) -> Result<(), EmbeddedError> {
        let mut connection = self.connect_options("postgres").connect().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
                .bind(database)
                .fetch_one(&mut connection)
                .await?;
        if !exists {
            let statement = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
            match sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut connection)
                .await
            {
                Ok(_) => {}
                // Another process created it meanwhile.
                Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("42P04") => {}
                Err(error) => return Err(error.into()),
            }
        }
        connection.close().await?;
        Ok(())
    }

    /// Stops the cluster if this process supervises it (fast shutdown: sessions are ended,
    /// committed work is durable); a cluster that already died is simply not restarted.
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if let Some(supervisor) = &self.supervisor {
            tracing::info!("stopping embedded postgresql");
            supervisor.stop();
        }
        Ok(())
    }
}

impl Cluster {
    /// Finds the binaries, creates the folders (0700, owned by the cluster's user) and
    /// initialises the cluster on first use.
    fn prepare(options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir(options.bin_dir.as_deref())?;
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name(&options.os_user)
                .ok()
                .flatten()
                .ok_or_else(|| EmbeddedError::UnknownUser(options.os_user.clone()))?;
            Some(RunAs {
                name: options.os_user.clone(),
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
            })
        } else {
            None
        };

        fs::create_dir_all(&options.dir).map_err(io_error(&options.dir))?;
        let root = fs::canonicalize(&options.dir).map_err(io_error(&options.dir))?;
        let data_dir = root.join("pgdata");
        let socket_dir = root.join("run");
        let socket_path = socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
        if socket_path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(EmbeddedError::SocketPathTooLong(
                socket_path.display().to_string(),
            ));
        }
        for dir in [&root, &data_dir, &socket_dir] {
            fs::create_dir_all(dir).map_err(io_error(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_error(dir))?;
            if let Some(run_as) = &run_as {
                chown(dir, Some(run_as.uid), Some(run_as.gid)).map_err(io_error(dir))?;
            }
        }
        if let Some(run_as) = &run_as {
            let reachable = Command::new("test")
                .arg("-w")
                .arg(&data_dir)
                .uid(run_as.uid)
                .gid(run_as.gid)
                .status()
                .map(|status| status.success())
                .unwrap_or(false);
            if !reachable {
                return Err(EmbeddedError::Unreachable {
                    user: run_as.name.clone(),
                    dir: data_dir.display().to_string(),
                });
            }
        }
        let log_file = root.join("postgresql.log");
        fs::File::options()
            .create(true)
            .append(true)
            .open(&log_file)
            .map_err(io_error(&log_file))?;
        if let Some(run_as) = &run_as {
            // pg_ctl's detached server opens the log itself, as the cluster's user.
            chown(&log_file, Some(run_as.uid), Some(run_as.gid)).map_err(io_error(&log_file))?;
        }
        let cluster = Self {
            bin_dir,
            data_dir,
            socket_dir,
            log_file,
            run_as,
        };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        cluster.write_settings()?;
        Ok(cluster)
    }

    /// Makes the folder free for a new postmaster: a stale lock file is removed, a cluster
    /// nobody supervises any more is stopped; one another live process runs is an error.
    fn clear_lock(&self) -> Result<(), EmbeddedError> {
        match process::holder(&self.data_dir) {
            Holder::Nobody => Ok(()),
            Holder::Stale => self.remove_stale_lock(),
            Holder::Orphan(pid) => {
                tracing::warn!(
                    pid,
                    "stopping the embedded postgresql a previous run left behind"
                );
                self.stop_orphan(pid)
            }
            Holder::Owned(pid) => Err(EmbeddedError::Command {
                command: "postgres".to_owned(),
                output: format!("another process runs this cluster (postmaster pid {pid})"),
            }),
        }
    }

    /// Removes `postmaster.pid` and the socket's lock when no live postmaster holds them.
    fn remove_stale_lock(&self) -> Result<(), EmbeddedError> {
        if process::holder(&self.data_dir) != Holder::Stale {
            return Ok(());
        }
        tracing::warn!(data_dir = %self.data_dir.display(), "removing a stale postmaster.pid");
        let socket = self.socket_dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
        for path in [
            self.data_dir.join("postmaster.pid"),
            socket.with_extension(format!("{SOCKET_PORT}.lock")),
            socket,
        ] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io_error(&path)(error)),
            }
        }
        Ok(())
    }

    /// Fast shutdown of a postmaster this process did not start; immediate if that fails.
    fn stop_orphan(&self, pid: i32) -> Result<(), EmbeddedError> {
        let stopped = self.run(
            "pg_ctl",
            &[
                "stop".as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-D".as_ref(),
                self.data_dir.as_os_str(),
            ],
        );
        if stopped.is_ok() {
            return Ok(());
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGQUIT,
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while matches!(process::holder(&self.data_dir), Holder::Orphan(_)) {
            if std::time::Instant::now() > deadline {
                return stopped.map(drop);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.remove_stale_lock()
    }

    /// Starts `postgres` as a child: its output appended to the log, in its own process
    /// group (a terminal's Ctrl-C reaches this process, which stops it in order), and told
    /// to shut down fast when the thread that started it ends.
    fn launch(&self) -> Result<std::process::Child, EmbeddedError> {
        let log = fs::File::options()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(io_error(&self.log_file))?;
        let log_err = log.try_clone().map_err(io_error(&self.log_file))?;
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(&self.data_dir)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        #[allow(unsafe_code)]
        // SAFETY: the closure runs in the forked child before exec, after the switch to the
        // cluster's user (which would clear the setting), and only calls prctl(2), which is
        // async-signal-safe; it allocates nothing and touches no lock.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGINT)
                    .map_err(std::io::Error::from)
            });
        }
        command.spawn().map_err(|source| EmbeddedError::Io {
            path: self.bin_dir.join("postgres").display().to_string(),
            source,
        })
    }

    /// Waits until postmaster `pid` accepts connections.
    fn wait_until_ready(&self, pid: i32) -> Result<(), EmbeddedError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !process::is_ready(&self.data_dir, pid) {
            if std::time::Instant::now() > deadline
                || !matches!(
                    process::holder(&self.data_dir),
                    Holder::Owned(_) | Holder::Orphan(_)
                )
            {
                return Err(EmbeddedError::Command {
                    command: "postgres".to_owned(),
                    output: format!(
                        "the running postmaster (pid {pid}) does not accept connections; its log \
                         ends with:\n{}",
                        self.log_tail()
                    ),
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        Ok(())
    }

    /// The last lines of the cluster's log, for an error message.
    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn initdb(&self) -> Result<(), EmbeddedError> {
        tracing::info!(data_dir = %self.data_dir.display(), "initialising embedded postgresql");
        self.run(
            "initdb",
            &[
                "-D".as_ref(),
                self.data_dir.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=trust".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C.UTF-8".as_ref(),
            ],
        )?;
        let conf = self.data_dir.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf).map_err(io_error(&conf))?;
        text.push_str("\ninclude_if_exists = 'openhmis.conf'\n");
        fs::write(&conf, text).map_err(io_error(&conf))?;
        Ok(())
    }

    /// Settings that follow this folder's location; rewritten at every start.
    fn write_settings(&self) -> Result<(), EmbeddedError> {
        let path = self.data_dir.join("openhmis.conf");
        let socket_dir = self.socket_dir.display().to_string().replace('\'', "''");
        let text = format!(
            "# written by openhmis at every start\n\
             listen_addresses = ''\n\
             port = {SOCKET_PORT}\n\
             unix_socket_directories = '{socket_dir}'\n\
             unix_socket_permissions = 0700\n\
             max_connections = 200\n\
             shared_buffers = 128MB\n"
        );
        fs::write(&path, text).map_err(io_error(&path))?;
        if let Some(run_as) = &self.run_as {
            chown(&path, Some(run_as.uid), Some(run_as.gid)).map_err(io_error(&path))?;
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        if let Some(run_as) = &self.run_as {
            command.uid(run_as.uid).gid(run_as.gid);
            // Child processes must not try to read root's home.
            command.env("HOME", &self.data_dir);
        }
        command.current_dir(&self.data_dir);
        command
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<Output, EmbeddedError> {
        let output = self
            .command(program)
            .args(args)
            .output()
            .map_err(|source| EmbeddedError::Io {
                path: self.bin_dir.join(program).display().to_string(),
                source,
            })?;
        if output.status.success() {
            return Ok(output);
        }
        Err(EmbeddedError::Command {
            command: program.to_owned(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// `configured`, else `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`,
/// else wherever `initdb` is on PATH: the first that holds all three programs.
pub fn find_bin_dir(configured: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    let has_server = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|program| dir.join(program).is_file())
    };
    if let Some(dir) = configured {
        return if has_server(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(EmbeddedError::BinariesNotFound)
        };
    }
    let mut candidates = Vec::new();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        candidates.push(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ));
    }
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .collect();
        versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        candidates.extend(versions.into_iter().map(|(_, dir)| dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            // A symlinked initdb (e.g. /usr/local/bin) points at the real bin folder.
            if let Ok(real) = fs::canonicalize(dir.join("initdb"))
                && let Some(parent) = real.parent()
            {
                candidates.push(parent.to_path_buf());
            }
        }
    }
    candidates
        .into_iter()
        .find(|dir| has_server(dir))
        .ok_or(EmbeddedError::BinariesNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_the_server_binaries_is_one_clear_error() {
        let empty = std::env::temp_dir();
        let error = find_bin_dir(Some(&empty)).expect_err("temp dir holds no initdb");
        assert!(matches!(error, EmbeddedError::BinariesNotFound));
        assert!(error.to_string().contains("apt-get install postgresql"));
    }
}
