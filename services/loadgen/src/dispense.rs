//! Dispensing: concurrent pharmacists issuing one unit per call to patients, first from one
//! lot that every call contends for (the worst case: one balance row, locked by each issue
//! in turn), then from one item per client (no contention), beside raw PostgreSQL doing the
//! same transaction shape (lock the lot's balance, write the movement whose trigger moves
//! the balance, write the audit record) on plain connections.

use std::sync::Arc;

use hmis_proto::openhmis::inventory::v1 as pb;
use pb::inventory_service_client::InventoryServiceClient;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::bench::{Bench, signed};
use crate::report::{Sample, measure_concurrent, print};

pub async fn run(clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[("bench-pharmacist", "pharmacist")]).await?;
    let pharmacist = bench.login("bench-pharmacist").await?;
    let db = &bench.db;
    let calls = (iterations / clients).max(1);

    let facility = bench.facility().await?;
    let warehouse = bench.pharmacy(&pharmacist, &facility).await?;
    // Item 0 is the contended one; items 1..=clients are one per client.
    let mut items = Vec::with_capacity(clients + 1);
    for index in 0..=clients {
        let item = pb::Item {
            code: format!("BENCH-{index}"),
            name: format!("Bench medicine {index}"),
            ..Default::default()
        };
        items.push(
            bench
                .stocked_tablets(&pharmacist, &warehouse, item, clients * calls * 2, "0.25")
                .await?,
        );
    }
    let (channels, items) = (bench.connections(clients).await?, Arc::new(items));
    let dispense = |name: &'static str, contended: bool| {
        let (channels, items, pharmacist, warehouse) = (
            channels.clone(),
            items.clone(),
            pharmacist.clone(),
            warehouse.clone(),
        );
        measure_concurrent(name, clients, calls, move |client, _| {
            let mut inventory = InventoryServiceClient::new(channels[client].clone());
            let item = items[if contended { 0 } else { client + 1 }].clone();
            let (pharmacist, warehouse) = (pharmacist.clone(), warehouse.clone());
            async move {
                let patient = Uuid::now_v7().to_string();
                inventory
                    .issue_stock(signed(
                        &pharmacist,
                        pb::IssueStockRequest {
                            request_id: Uuid::new_v4().to_string(),
                            warehouse_id: warehouse,
                            document_id: format!("RX-{patient}"),
                            patient_id: patient,
                            document_type: "dispensing-note".to_owned(),
                            lines: vec![pb::ItemQuantity {
                                item_id: item,
                                quantity: "1".to_owned(),
                                ..Default::default()
                            }],
                            ..Default::default()
                        },
                    ))
                    .await?;
                Ok(())
            }
        })
    };
    let mut samples: Vec<Sample> = vec![
        dispense("gRPC IssueStock, every client on one lot", true).await?,
        dispense("gRPC IssueStock, one item per client", false).await?,
    ];

    // The same transaction on plain connections, as the owner, in another tenant.
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32)
        .connect_with(db.owner_options())
        .await?;
    let raw_tenant = Uuid::now_v7();
    let raw_warehouse = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO inventory.warehouses (tenant_id, id, code, name, kind, facility_id, created_at) \
         VALUES ($1, $2, 'RAW', 'Raw', 'central_pharmacy', $3, now())",
    )
    .bind(raw_tenant)
    .bind(raw_warehouse)
    .bind(Uuid::nil())
    .execute(&pool)
    .await?;
    let mut raw_lots = Vec::with_capacity(clients + 1);
    for index in 0..=clients {
        let (item, lot) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query(
            "INSERT INTO inventory.items (tenant_id, id, code, name, item_class, base_unit, created_at) \
             VALUES ($1, $2, $3, 'Raw', 'medicine', 'tablet', now())",
        )
        .bind(raw_tenant)
        .bind(item)
        .bind(format!("RAW-{index}"))
        .execute(&pool)
        .await?;
        sqlx::query(
            "INSERT INTO inventory.lots (tenant_id, id, item_id, lot_number, expiry_date, unit_cost, \
                 provenance, created_at) VALUES ($1, $2, $3, 'RAW', '2035-12-31', 0.25, 'purchase', now())",
        )
        .bind(raw_tenant)
        .bind(lot)
        .bind(item)
        .execute(&pool)
        .await?;
        sqlx::query(
            "INSERT INTO inventory.movements (tenant_id, id, kind, item_id, lot_id, to_warehouse_id, \
                 quantity, unit_cost, actor_id, document_type, document_id, occurred_at) \
             VALUES ($1, $2, 'receipt', $3, $4, $5, $6, 0.25, $7, 'invoice', 'RAW', now())",
        )
        .bind(raw_tenant)
        .bind(Uuid::now_v7())
        .bind(item)
        .bind(lot)
        .bind(raw_warehouse)
        .bind(i64::try_from(clients * calls * 2)?)
        .bind(Uuid::nil())
        .execute(&pool)
        .await?;
        raw_lots.push((item, lot));
    }
    let raw_lots = Arc::new(raw_lots);
    let raw = |name: &'static str, contended: bool| {
        let (pool, raw_lots) = (pool.clone(), raw_lots.clone());
        measure_concurrent(name, clients, calls, move |client, _| {
            let pool = pool.clone();
            let (item, lot) = raw_lots[if contended { 0 } else { client + 1 }];
            async move {
                let patient = Uuid::now_v7();
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "SELECT b.lot_id, b.quantity FROM inventory.balances b \
                     JOIN inventory.lots l ON l.tenant_id = b.tenant_id AND l.id = b.lot_id \
                     WHERE b.tenant_id = $1 AND b.warehouse_id = $2 AND b.item_id = $3 \
                       AND b.quantity > 0 AND l.expiry_date > current_date \
                     ORDER BY l.expiry_date, b.lot_id FOR UPDATE OF b",
                )
                .bind(raw_tenant)
                .bind(raw_warehouse)
                .bind(item)
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO inventory.movements (tenant_id, id, kind, item_id, lot_id, \
                         from_warehouse_id, quantity, unit_cost, actor_id, document_type, \
                         document_id, patient_id, occurred_at) \
                     VALUES ($1, $2, 'issue_patient', $3, $4, $5, 1, 0.25, $6, 'prescription', \
                         'RAW', $7, now())",
                )
                .bind(raw_tenant)
                .bind(Uuid::now_v7())
                .bind(item)
                .bind(lot)
                .bind(raw_warehouse)
                .bind(Uuid::nil())
                .bind(patient)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO audit.records (tenant_id, record_id, occurred_at, user_id, username, \
                         method, patient_ids, resource_ids, outcome, client_addr, request_id, \
                         break_glass_reason) \
                     VALUES ($1, $2, now(), $3, 'bench', 'bench', ARRAY[$4]::uuid[], '{}', 'OK', '', \
                         'bench', '')",
                )
                .bind(raw_tenant)
                .bind(Uuid::now_v7())
                .bind(Uuid::nil())
                .bind(patient)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        })
    };
    samples.push(raw("raw PostgreSQL: the same issue, one lot", true).await?);
    samples.push(raw("raw PostgreSQL: the same issue, one item per client", false).await?);

    let report = hmis_inventory::verify(&db.database).await?;
    anyhow::ensure!(
        report.discrepancies.is_empty(),
        "the ledger and the balances disagree after the run: {:?}",
        report.discrepancies
    );
    bench.stop().await?;
    println!(
        "{clients} clients, {calls} dispenses each; ledger check after the run: {} balances consistent",
        report.checked
    );
    print(&samples);
    Ok(())
}
