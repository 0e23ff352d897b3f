//! A private PostgreSQL for the standalone set-up and for tests.
//!
//! With no database URL configured, the server runs its own cluster from the installed
//! PostgreSQL server binaries: data in a local folder (`<dir>/pgdata`), listening only on a
//! unix socket in `<dir>/run` (no TCP port to collide with or expose), trust authentication
//! guarded by that folder's 0700 permissions. `initdb` refuses to run as root, so when this
//! process is root the cluster runs as an unprivileged OS user (default `postgres`). A cluster
//! found running is reused; one started here is stopped by [`EmbeddedPostgres::stop`].

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::config::EmbeddedOptions;

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

/// A running (or adopted) embedded cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<RunAs>,
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Initialises the cluster if needed and starts it if it is not running.
    pub async fn start(options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
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

        let mut cluster = Self {
            bin_dir,
            data_dir,
            socket_dir,
            run_as,
            started_here: false,
        };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        cluster.write_settings()?;
        if !cluster.is_running() {
            tracing::info!(data_dir = %cluster.data_dir.display(), "starting embedded postgresql");
            let log_file = root.join("postgresql.log");
            if let Some(run_as) = &cluster.run_as {
                // The log is written by the server process itself, as the cluster's user.
                fs::File::options()
                    .create(true)
                    .append(true)
                    .open(&log_file)
                    .map_err(io_error(&log_file))?;
                chown(&log_file, Some(run_as.uid), Some(run_as.gid))
                    .map_err(io_error(&log_file))?;
            }
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
                    log_file.as_os_str(),
                ],
            )?;
            cluster.started_here = true;
        } else {
            tracing::info!(data_dir = %cluster.data_dir.display(), "reusing running embedded postgresql");
        }
        Ok(cluster)
    }

    /// Connection options for `database` as the cluster's superuser, over the socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(SOCKET_PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// The folder holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
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

    /// Stops the cluster if this process started it (fast shutdown: sessions are ended,
    /// committed work is durable).
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if !self.started_here {
            return Ok(());
        }
        tracing::info!("stopping embedded postgresql");
        self.run(
            "pg_ctl",
            &[
                "stop".as_ref(),
                "-w".as_ref(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-D".as_ref(),
                self.data_dir.as_os_str(),
            ],
        )?;
        Ok(())
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

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.data_dir)
            .output()
            .map(|output| output.status.success())
            .unwrap_or(false)
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
