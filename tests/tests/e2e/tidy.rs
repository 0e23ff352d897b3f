//! The house rules that a machine can check (docs/dev/style.md), over the real tree and the
//! real migrated catalog, and over a fixture that breaks each of them on purpose, so a rule
//! that stopped finding anything would show here.

use std::path::{Path, PathBuf};

use hmis_e2e::tidy::{self, Rule, Violation};
use hmis_platform::testing::TestDatabase;
use sqlx::{Connection, PgConnection};

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the checkout")
        .to_path_buf()
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tidy-broken")
}

fn violation(rule: Rule, place: &str) -> Violation {
    Violation {
        rule,
        place: place.to_owned(),
    }
}

#[test]
fn the_module_crates_keep_the_anatomy() {
    let report = tidy::source_violations_beyond_debts(&checkout()).expect("read the tree");
    assert!(
        report.is_empty(),
        "house rules broken:\n{}",
        report.join("\n")
    );
}

#[test]
fn a_module_that_breaks_the_anatomy_is_found() {
    let found = tidy::source_violations(&fixture()).expect("read the fixture");
    assert_eq!(
        found,
        vec![
            violation(Rule::TransportInDomain, "services/wards/src/domain/mod.rs"),
            violation(Rule::SqlOutsideStore, "services/wards/src/grpc.rs"),
        ]
    );
}

#[tokio::test]
async fn every_migrated_table_keeps_tenancy_and_ownership() {
    let db = TestDatabase::new().await;
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("connect as the owner");
    let found = tidy::catalog_violations(&mut owner)
        .await
        .expect("read the catalog");
    let report: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(
        report.is_empty(),
        "house rules broken:\n{}",
        report.join("\n")
    );
}

#[tokio::test]
async fn a_schema_that_breaks_tenancy_and_ownership_is_found() {
    let db = TestDatabase::new().await;
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("connect as the owner");
    let broken = std::fs::read_to_string(fixture().join("broken.sql")).expect("read the fixture");
    sqlx::raw_sql(sqlx::AssertSqlSafe(broken))
        .execute(&mut owner)
        .await
        .expect("create the broken schema");
    let found: Vec<Violation> = tidy::catalog_violations(&mut owner)
        .await
        .expect("read the catalog")
        .into_iter()
        .filter(|violation| violation.place.starts_with("tidy_"))
        .collect();
    assert_eq!(
        found,
        vec![
            violation(Rule::TenantKeyNotLeading, "tidy_wards.beds"),
            violation(Rule::TenantTableWithoutForcedRls, "tidy_wards.misordered"),
            violation(Rule::TenantKeyNotLeading, "tidy_wards.misordered"),
            violation(Rule::TenantTableWithoutForcedRls, "tidy_wards.unguarded"),
            violation(
                Rule::ForeignKeyAcrossSchemas,
                "tidy_wards.beds.beds_tenant_id_room_id_fkey -> tidy_other.rooms"
            ),
        ]
    );
}
