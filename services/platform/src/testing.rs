//! Test support: a fresh, migrated database per test, dropped afterwards.
//!
//! The server comes from `DATABASE_URL` when set (its role needs CREATEDB and CREATEROLE),
//! otherwise from an embedded cluster under the temp folder that every test process of a run
//! shares (started once, behind a file lock; left running for the next run). Migrations run
//! once per migration set into a template database; each test database is a cheap copy of it.

use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};
use tokio::sync::OnceCell;

use crate::config::{DatabaseOptions, EmbeddedOptions};
use crate::db::{self, Database, MIGRATOR};
use crate::embedded::EmbeddedPostgres;

/// The test server: connection options and the same as a URL (for child processes).
#[derive(Debug, Clone)]
struct Server {
    options: PgConnectOptions,
    url: String,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();

/// Connection options for a maintenance database of the test server.
async fn server() -> Server {
    SERVER
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("DATABASE_URL")
                && !url.is_empty()
            {
                let options =
                    PgConnectOptions::from_str(&url).expect("DATABASE_URL is not a valid URL");
                return Server { options, url };
            }
            let dir = std::env::temp_dir().join(format!(
                "openhmis-test-pg-{}",
                nix::unistd::geteuid().as_raw()
            ));
            std::fs::create_dir_all(&dir).expect("create the test cluster folder");
            let lock_path = dir.with_extension("lock");
            let lock = std::fs::File::create(&lock_path).expect("create the test cluster lock");
            lock.lock().expect("lock the test cluster");
            let options = EmbeddedOptions {
                dir,
                ..EmbeddedOptions::default()
            };
            let cluster = EmbeddedPostgres::start_detached(&options)
                .await
                .unwrap_or_else(|error| panic!("cannot start the embedded test cluster: {error}"));
            drop(lock);
            Server {
                options: cluster.connect_options("postgres"),
                url: format!(
                    "postgres://postgres@localhost:5432/postgres?host={}",
                    cluster.socket_dir().display()
                ),
            }
        })
        .await
        .clone()
}

fn template_name() -> String {
    let mut hasher = Sha256::new();
    for migration in MIGRATOR.iter() {
        hasher.update(migration.version.to_le_bytes());
        hasher.update(&migration.checksum);
    }
    format!("hmis_tpl_{}", &hex::encode(hasher.finalize())[..16])
}

async fn ensure_template(admin: &mut PgConnection, server: &PgConnectOptions) -> String {
    let template = template_name();
    // One process builds the template; the others wait on the lock, then see it.
    sqlx::query("SELECT pg_advisory_lock(hashtext('openhmis-test-template'))")
        .execute(&mut *admin)
        .await
        .expect("take the template lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut *admin)
            .await
            .expect("look up the template");
    if !exists {
        let building = format!("{template}_building");
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
        )))
        .execute(&mut *admin)
        .await
        .expect("drop a half-built template");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {building}")))
            .execute(&mut *admin)
            .await
            .expect("create the template");
        db::migrate(&server.clone().database(&building))
            .await
            .expect("migrate the template");
        sqlx::query(AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {template}"
        )))
        .execute(&mut *admin)
        .await
        .expect("publish the template");
    }
    sqlx::query("SELECT pg_advisory_unlock(hashtext('openhmis-test-template'))")
        .execute(&mut *admin)
        .await
        .expect("release the template lock");
    template
}

/// A migrated database of its own for one test.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    server: PgConnectOptions,
    server_url: String,
    pub database: Database,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let Server {
            options: server,
            url: server_url,
        } = server().await;
        let mut admin = server
            .clone()
            .connect()
            .await
            .expect("connect to the test server");
        let template = ensure_template(&mut admin, &server).await;
        let name = format!("hmis_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .execute(&mut admin)
        .await
        .expect("create the test database");
        admin.close().await.ok();
        let options = DatabaseOptions {
            max_connections: 40,
            ..DatabaseOptions::default()
        };
        let database = Database::connect(server.clone().database(&name), &options)
            .await
            .expect("connect to the test database");
        Self {
            name,
            server,
            server_url,
            database,
        }
    }

    /// Options that connect as the test server's (owner) user to this database: for setting
    /// up what the application role may not do, and for tampering on purpose.
    pub fn owner_options(&self) -> PgConnectOptions {
        self.server.clone().database(&self.name)
    }

    /// This database's URL, for a server started as a child process.
    pub fn url(&self) -> String {
        let (base, query) = match self.server_url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (self.server_url.as_str(), None),
        };
        let prefix = match base.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('/') {
                Some((authority, _)) => format!("{scheme}://{authority}"),
                None => base.to_owned(),
            },
            None => base.to_owned(),
        };
        match query {
            Some(query) => format!("{prefix}/{}?{query}", self.name),
            None => format!("{prefix}/{}", self.name),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
        // thread with its own runtime drops the database.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = server.connect().await {
                    let _ = sqlx::query(AssertSqlSafe(statement))
                        .execute(&mut admin)
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}
