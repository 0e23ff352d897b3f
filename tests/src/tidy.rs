//! The house rules of `docs/dev/style.md` that a machine can check, as ordinary tests: the
//! module anatomy in the source tree, and the tenancy and ownership invariants of DESIGN.md in
//! the database catalog after every migration ran. Each check returns what breaks the rule, so
//! a test can show it finds a deliberately broken fixture as well as pass on the real tree.

use std::fmt;
use std::path::{Path, PathBuf};

/// One broken house rule, with where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    pub rule: Rule,
    /// A path relative to the checked root, or a schema-qualified database object.
    pub place: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.rule.description())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A module speaks SQL only in its `store` (ANATOMY.md).
    SqlOutsideStore,
    /// `domain/` is pure: no tonic, sqlx or prost.
    TransportInDomain,
    /// A table with `tenant_id` has row-level security, forced.
    TenantTableWithoutForcedRls,
    /// A table with `tenant_id` has a primary key that leads with it (sharding by tenant).
    TenantKeyNotLeading,
    /// No foreign key crosses schemas: a module owns its schema alone.
    ForeignKeyAcrossSchemas,
}

impl Rule {
    pub fn description(self) -> &'static str {
        match self {
            Rule::SqlOutsideStore => "SQL outside the module's store (only store/ speaks SQL)",
            Rule::TransportInDomain => "tonic, sqlx or prost in a domain (domain/ is pure)",
            Rule::TenantTableWithoutForcedRls => {
                "a table with tenant_id without FORCE ROW LEVEL SECURITY"
            }
            Rule::TenantKeyNotLeading => {
                "a table with tenant_id whose primary key does not lead with it"
            }
            Rule::ForeignKeyAcrossSchemas => "a foreign key to another module's schema",
        }
    }
}

/// Crates under `services/` that are not hospital modules: the platform is the kit that
/// speaks SQL for every module (idempotency, outbox, audit), the server and the load
/// generator are binaries over every module.
const NOT_MODULES: &[&str] = &["platform", "server", "loadgen"];

/// Files of modules that still speak SQL outside a store: debts of the move to the module
/// anatomy (issue 16), each to be paid by moving its statements into the module's store. The
/// list may only shrink; a file here that no longer breaks the rule fails the check too, so it
/// is taken off as soon as it is paid.
pub const SQL_OUTSIDE_STORE_DEBTS: &[&str] = &[];

/// What marks a statement: sqlx's query functions and macros.
const SQL_MARKERS: &[&str] = &[
    "sqlx::query",
    "query_as(",
    "query_scalar(",
    "query_as!(",
    "query!(",
    "QueryBuilder",
];

/// What a domain may not name.
const TRANSPORT_MARKERS: &[&str] = &["tonic", "sqlx", "prost"];

/// The source rules over the module crates below `root` (a checkout, or a fixture shaped like
/// one): `services/<module>/src/**.rs`.
pub fn source_violations(root: &Path) -> std::io::Result<Vec<Violation>> {
    let mut violations = Vec::new();
    let services = root.join("services");
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&services)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("src").is_dir())
        .collect();
    crates.sort();
    for krate in crates {
        let name = krate
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if NOT_MODULES.contains(&name.as_str()) {
            continue;
        }
        for file in rust_files(&krate.join("src"))? {
            let text = std::fs::read_to_string(&file)?;
            let code = without_comments(&text);
            let place = relative(root, &file);
            if in_room(&file, "store") {
                // the store is where SQL belongs
            } else if SQL_MARKERS.iter().any(|marker| code.contains(marker)) {
                violations.push(Violation {
                    rule: Rule::SqlOutsideStore,
                    place: place.clone(),
                });
            }
            if in_room(&file, "domain")
                && code.lines().any(|line| {
                    TRANSPORT_MARKERS
                        .iter()
                        .any(|marker| names_crate(line, marker))
                })
            {
                violations.push(Violation {
                    rule: Rule::TransportInDomain,
                    place,
                });
            }
        }
    }
    Ok(violations)
}

/// [`source_violations`] less the recorded debts; a debt that is paid is itself a violation
/// (take it off the list).
pub fn source_violations_beyond_debts(root: &Path) -> std::io::Result<Vec<String>> {
    let found = source_violations(root)?;
    let mut report: Vec<String> = found
        .iter()
        .filter(|violation| {
            !(violation.rule == Rule::SqlOutsideStore
                && SQL_OUTSIDE_STORE_DEBTS.contains(&violation.place.as_str()))
        })
        .map(ToString::to_string)
        .collect();
    for debt in SQL_OUTSIDE_STORE_DEBTS {
        let still_owed = found
            .iter()
            .any(|violation| violation.rule == Rule::SqlOutsideStore && violation.place == *debt);
        if !still_owed {
            report.push(format!(
                "{debt}: no SQL outside the store any more; take it off SQL_OUTSIDE_STORE_DEBTS"
            ));
        }
    }
    Ok(report)
}

/// Tables with `tenant_id` that need not force row-level security, each with its reason: they
/// are read only through a SECURITY DEFINER function that keeps to the transaction's tenant
/// itself (pg_trgm's operators are not leakproof, so under RLS they never reach an index), and
/// the application role has no privilege on them (checked: with one, the exception is void).
pub const RLS_EXCEPTIONS: &[&str] = &["patients.name_index", "patients.name_words"];

/// The catalog rules over every table of the connected database outside PostgreSQL's own
/// schemas.
pub async fn catalog_violations(
    connection: &mut sqlx::PgConnection,
) -> Result<Vec<Violation>, sqlx::Error> {
    let mut violations = Vec::new();
    let tenant_tables: Vec<(String, bool, bool, Option<String>)> = sqlx::query_as(
        "SELECT format('%I.%I', n.nspname, c.relname), \
                c.relrowsecurity AND c.relforcerowsecurity, \
                EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = 'openhmis_app' \
                          AND has_table_privilege(r.oid, c.oid, 'SELECT,INSERT,UPDATE,DELETE')), \
                (SELECT a.attname::text FROM pg_constraint k \
                   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
                  WHERE k.conrelid = c.oid AND k.contype = 'p') \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
            AND n.nspname NOT LIKE 'pg\\_%' \
            AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                         AND a.attname = 'tenant_id' AND NOT a.attisdropped) \
          ORDER BY 1",
    )
    .fetch_all(&mut *connection)
    .await?;
    for (table, forced, app_may_touch, key_head) in tenant_tables {
        let excepted = RLS_EXCEPTIONS.contains(&table.as_str()) && !app_may_touch;
        if !forced && !excepted {
            violations.push(Violation {
                rule: Rule::TenantTableWithoutForcedRls,
                place: table.clone(),
            });
        }
        if key_head.as_deref() != Some("tenant_id") {
            violations.push(Violation {
                rule: Rule::TenantKeyNotLeading,
                place: table,
            });
        }
    }
    let crossing: Vec<(String,)> = sqlx::query_as(
        "SELECT format('%I.%I.%I -> %I.%I', n.nspname, c.relname, k.conname, fn.nspname, fc.relname) \
           FROM pg_constraint k \
           JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           JOIN pg_class fc ON fc.oid = k.confrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
          WHERE k.contype = 'f' AND n.oid <> fn.oid \
          ORDER BY 1",
    )
    .fetch_all(&mut *connection)
    .await?;
    violations.extend(crossing.into_iter().map(|(place,)| Violation {
        rule: Rule::ForeignKeyAcrossSchemas,
        place,
    }));
    Ok(violations)
}

fn rust_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Whether `file` is in the room `room` of its crate: `src/<room>.rs` or `src/<room>/...`.
fn in_room(file: &Path, room: &str) -> bool {
    let mut components = file
        .components()
        .map(|part| part.as_os_str().to_string_lossy());
    let Some(_) = components.by_ref().position(|part| part == "src") else {
        return false;
    };
    match components.next() {
        Some(first) => first == room || first == format!("{room}.rs"),
        None => false,
    }
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Whether `line` names the crate `name` (as a path `name::`, or in a `use`).
fn names_crate(line: &str, name: &str) -> bool {
    line.match_indices(name).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = &line[at + name.len()..];
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && (after.starts_with("::") || after.starts_with(';') || after.starts_with(" as "))
    })
}

/// The text without `//` comments (doc comments may name what a room does not use).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_found_by_the_first_folder_under_src() {
        assert!(in_room(Path::new("services/core/src/store.rs"), "store"));
        assert!(in_room(
            Path::new("services/core/src/store/beds.rs"),
            "store"
        ));
        assert!(in_room(
            Path::new("services/core/src/domain/bed.rs"),
            "domain"
        ));
        assert!(!in_room(Path::new("services/core/src/grpc.rs"), "store"));
        assert!(!in_room(
            Path::new("services/core/src/app/store_like.rs"),
            "store"
        ));
    }

    #[test]
    fn crates_are_named_as_paths_not_as_words() {
        assert!(names_crate("use sqlx::PgPool;", "sqlx"));
        assert!(names_crate("    tonic::Status::ok()", "tonic"));
        assert!(!names_crate("let prostate = 1;", "prost"));
        assert!(!names_crate("my_tonic::x", "tonic"));
    }
}
