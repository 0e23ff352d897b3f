//! The stock ledger over real gRPC: receipts in packs, first-expiry-first-out issues,
//! transfers, returns and write-offs; balances that only movements change and that never go
//! below zero, whatever the race; the ledger check; purchase suggestions.

use crate::support;

use hmis_platform::auth::Scope;
use hmis_platform::context::RequestId;
use hmis_proto::openhmis::inventory::v1 as pb;
use pb::inventory_service_client::InventoryServiceClient;
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, USER_PASSWORD, WardSpec, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

struct Pharmacy {
    app: TestApp,
    pharmacist: Session,
    pharmacy_id: String,
    ward_stock_id: String,
    ward_id: String,
    paracetamol: pb::Item,
}

fn inventory(app: &TestApp) -> InventoryServiceClient<Channel> {
    InventoryServiceClient::new(app.channel.clone())
}

impl Pharmacy {
    async fn open() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.create_tenant("INV").await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let ward_id = app
            .open_ward(&admin, &facility.id, WardSpec::ward("SURG", "Surgery"))
            .await
            .id;
        let facility_uuid: uuid::Uuid = facility.id.parse().expect("facility id");
        app.add_user(
            admin.tenant_id,
            "pharmacist",
            "pharmacist",
            Scope::Facility(facility_uuid),
        )
        .await;
        let pharmacist = app
            .login("INV", "pharmacist", USER_PASSWORD)
            .await
            .expect("pharmacist signs in");
        let mut api = inventory(&app);
        let warehouse = |code: &str, kind: pb::WarehouseKind, department: &str| {
            let mut api = api.clone();
            let pharmacist = pharmacist.clone();
            let warehouse = pb::Warehouse {
                code: code.to_owned(),
                name: format!("Stock {code}"),
                kind: kind.into(),
                facility_id: facility.id.clone(),
                department_id: department.to_owned(),
                ..Default::default()
            };
            async move {
                api.create_warehouse(signed_in(
                    &pharmacist,
                    pb::CreateWarehouseRequest {
                        request_id: request_id(),
                        warehouse: Some(warehouse),
                    },
                ))
                .await
                .expect("warehouse")
                .into_inner()
                .warehouse
                .expect("warehouse")
                .id
            }
        };
        let pharmacy_id = warehouse("PHARM", pb::WarehouseKind::CentralPharmacy, "").await;
        let ward_stock_id = warehouse("SURG-STOCK", pb::WarehouseKind::Ward, &ward_id).await;
        let paracetamol = api
            .create_item(signed_in(
                &pharmacist,
                pb::CreateItemRequest {
                    request_id: request_id(),
                    item: Some(pb::Item {
                        code: "PARA500".to_owned(),
                        name: "Paracetamol 500 mg tablets".to_owned(),
                        item_class: pb::ItemClass::Medicine.into(),
                        atc_code: "N02BE01".to_owned(),
                        preparation_group: "tablets".to_owned(),
                        base_unit: "tablet".to_owned(),
                        pack_units: vec![pb::PackUnit {
                            name: "box".to_owned(),
                            base_quantity: "20".to_owned(),
                        }],
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("item")
            .into_inner()
            .item
            .expect("item");
        Self {
            app,
            pharmacist,
            pharmacy_id,
            ward_stock_id,
            ward_id,
            paracetamol,
        }
    }

    async fn receive(
        &self,
        lot: &str,
        expiry: &str,
        quantity: &str,
        unit: &str,
        cost: &str,
    ) -> pb::Movement {
        inventory(&self.app)
            .receive_stock(signed_in(
                &self.pharmacist,
                pb::ReceiveStockRequest {
                    request_id: request_id(),
                    warehouse_id: self.pharmacy_id.clone(),
                    supplier: "Farmaco SA".to_owned(),
                    invoice_number: format!("INV-{lot}"),
                    lines: vec![pb::ReceiptLine {
                        item_id: self.paracetamol.id.clone(),
                        lot_number: lot.to_owned(),
                        expiry_date: expiry.to_owned(),
                        quantity: quantity.to_owned(),
                        unit: unit.to_owned(),
                        unit_cost: cost.to_owned(),
                        provenance: if cost == "0" {
                            pb::Provenance::Donation
                        } else {
                            pb::Provenance::Purchase
                        }
                        .into(),
                    }],
                },
            ))
            .await
            .expect("receive")
            .into_inner()
            .movements
            .remove(0)
    }

    async fn issue(
        &self,
        request_id: &str,
        patient: &str,
        quantity: &str,
    ) -> Result<Vec<pb::Movement>, tonic::Status> {
        inventory(&self.app)
            .issue_stock(signed_in(
                &self.pharmacist,
                pb::IssueStockRequest {
                    request_id: request_id.to_owned(),
                    warehouse_id: self.pharmacy_id.clone(),
                    patient_id: patient.to_owned(),
                    document_type: "dispensing-note".to_owned(),
                    document_id: format!("RX-{patient}"),
                    lines: vec![pb::ItemQuantity {
                        item_id: self.paracetamol.id.clone(),
                        quantity: quantity.to_owned(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ))
            .await
            .map(|response| response.into_inner().movements)
    }

    async fn stock(&self, warehouse: &str) -> Vec<(String, String)> {
        inventory(&self.app)
            .get_stock(signed_in(
                &self.pharmacist,
                pb::GetStockRequest {
                    warehouse_id: warehouse.to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .expect("stock")
            .into_inner()
            .lines
            .into_iter()
            .map(|line| (line.lot.expect("lot").lot_number, line.quantity))
            .collect()
    }

    async fn verify(&self) -> hmis_inventory::LedgerReport {
        hmis_inventory::verify(&self.app.db.database)
            .await
            .expect("verify")
    }
}

#[tokio::test]
async fn every_movement_keeps_the_ledger_and_the_balances_equal() {
    let pharmacy = Pharmacy::open().await;
    let mut api = inventory(&pharmacy.app);
    // Five boxes at 12.40 a box: 100 tablets at 0.62; a donated lot that expires sooner.
    let bought = pharmacy
        .receive("A-100", "2030-01-31", "5", "box", "12.40")
        .await;
    assert_eq!(
        (bought.quantity.as_str(), bought.unit_cost.as_str()),
        ("100", "0.62")
    );
    pharmacy.receive("B-7", "2029-06-30", "40", "", "0").await;
    assert_eq!(
        pharmacy.stock(&pharmacy.pharmacy_id).await,
        [
            ("B-7".to_owned(), "40".to_owned()),
            ("A-100".to_owned(), "100".to_owned())
        ],
        "soonest expiry first"
    );

    // 50 tablets for a patient: the donated lot is emptied first.
    let patient = uuid::Uuid::new_v4().to_string();
    let issued = pharmacy
        .issue(&request_id(), &patient, "50")
        .await
        .expect("issue");
    let taken: Vec<(String, &str)> = issued
        .iter()
        .map(|movement| (movement.quantity.clone(), movement.document_type.as_str()))
        .collect();
    assert_eq!(
        taken,
        [
            ("40".to_owned(), "dispensing-note"),
            ("10".to_owned(), "dispensing-note")
        ]
    );
    let from_a = issued[1].clone();

    api.transfer_stock(signed_in(
        &pharmacy.pharmacist,
        pb::TransferStockRequest {
            request_id: request_id(),
            from_warehouse_id: pharmacy.pharmacy_id.clone(),
            to_warehouse_id: pharmacy.ward_stock_id.clone(),
            document_id: "REQ-1".to_owned(),
            lines: vec![pb::ItemQuantity {
                item_id: pharmacy.paracetamol.id.clone(),
                quantity: "30".to_owned(),
                ..Default::default()
            }],
        },
    ))
    .await
    .expect("transfer to the ward");
    // The patient brings back 5 tablets of lot A; a sixth more than was issued is refused.
    api.return_stock(signed_in(
        &pharmacy.pharmacist,
        pb::ReturnStockRequest {
            request_id: request_id(),
            warehouse_id: pharmacy.pharmacy_id.clone(),
            movement_id: from_a.id.clone(),
            quantity: "5".to_owned(),
            reason: "discharged before the course ended".to_owned(),
        },
    ))
    .await
    .expect("return");
    let too_many = api
        .return_stock(signed_in(
            &pharmacy.pharmacist,
            pb::ReturnStockRequest {
                request_id: request_id(),
                warehouse_id: pharmacy.pharmacy_id.clone(),
                movement_id: from_a.id.clone(),
                quantity: "6".to_owned(),
                reason: "again".to_owned(),
            },
        ))
        .await
        .expect_err("more than was issued");
    assert_eq!(too_many.code(), Code::FailedPrecondition);
    let written_off = api
        .write_off_stock(signed_in(
            &pharmacy.pharmacist,
            pb::WriteOffStockRequest {
                request_id: request_id(),
                warehouse_id: pharmacy.pharmacy_id.clone(),
                lot_id: from_a.lot_id.clone(),
                quantity: "2".to_owned(),
                reason: pb::WriteOffReason::Broken.into(),
                document_id: "WO-1".to_owned(),
                note: "dropped".to_owned(),
            },
        ))
        .await
        .expect("write-off")
        .into_inner()
        .movement
        .expect("movement");
    assert_eq!(written_off.reason, "broken: dropped");
    assert_eq!(
        pharmacy.stock(&pharmacy.pharmacy_id).await,
        [("A-100".to_owned(), "63".to_owned())],
        "100 - 10 issued - 30 transferred + 5 returned - 2 broken"
    );
    assert_eq!(
        pharmacy.stock(&pharmacy.ward_stock_id).await,
        [("A-100".to_owned(), "30".to_owned())]
    );

    // The patient's slip: 40 donated tablets (free) and 10 - 5 returned at 0.62.
    let slip = api
        .get_patient_slip(signed_in(
            &pharmacy.pharmacist,
            pb::GetPatientSlipRequest {
                patient_id: patient.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("slip")
        .into_inner();
    let lines: Vec<(&str, &str, &str)> = slip
        .lines
        .iter()
        .map(|line| {
            (
                line.lot_number.as_str(),
                line.quantity.as_str(),
                line.value.as_str(),
            )
        })
        .collect();
    assert_eq!(lines, [("A-100", "5", "3.10"), ("B-7", "40", "0.00")]);
    assert_eq!(slip.total_value, "3.10");
    assert!(
        slip.text
            .contains("Paracetamol 500 mg tablets (lot A-100): 5 tablet x 0.62 = 3.10")
    );

    // The ward uses 6 tablets today: 24 left last 4 days at today's rate.
    api.issue_stock(signed_in(
        &pharmacy.pharmacist,
        pb::IssueStockRequest {
            request_id: request_id(),
            warehouse_id: pharmacy.ward_stock_id.clone(),
            department_id: pharmacy.ward_id.clone(),
            document_type: "ward-use".to_owned(),
            document_id: "WARD-DAY-1".to_owned(),
            lines: vec![pb::ItemQuantity {
                item_id: pharmacy.paracetamol.id.clone(),
                quantity: "6".to_owned(),
                ..Default::default()
            }],
            ..Default::default()
        },
    ))
    .await
    .expect("ward use");
    let zone: chrono_tz::Tz = "Europe/Chisinau".parse().expect("zone");
    let today = chrono::Utc::now()
        .with_timezone(&zone)
        .date_naive()
        .to_string();
    let analysis = api
        .get_ward_stock_analysis(signed_in(
            &pharmacy.pharmacist,
            pb::GetWardStockAnalysisRequest {
                warehouse_id: pharmacy.ward_stock_id.clone(),
                from_date: today.clone(),
                to_date: today,
            },
        ))
        .await
        .expect("analysis")
        .into_inner()
        .lines;
    let analysis: Vec<(&str, &str, &str, &str, &str)> = analysis
        .iter()
        .map(|line| {
            (
                line.received.as_str(),
                line.consumed.as_str(),
                line.closing.as_str(),
                line.daily_consumption.as_str(),
                line.days_of_cover.as_str(),
            )
        })
        .collect();
    assert_eq!(analysis, [("30", "6", "24", "6", "4")]);

    // More than is in hand: refused whole, with what there is.
    let short = pharmacy
        .issue(&request_id(), &patient, "64")
        .await
        .expect_err("not enough");
    assert_eq!(short.code(), Code::FailedPrecondition);
    assert!(
        short.message().contains("63 in hand"),
        "{}",
        short.message()
    );
    let report = pharmacy.verify().await;
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );
    assert_eq!(
        report.checked, 3,
        "B-7 (now 0) and A-100 in the pharmacy, A-100 in the ward"
    );

    // Balances change only through movements, and the ledger is append-only for the
    // application; the owner of the schema cannot set a balance either.
    let mut owner = PgConnection::connect_with(&pharmacy.app.db.owner_options())
        .await
        .expect("owner");
    let forged = sqlx::query("UPDATE inventory.balances SET quantity = 1000")
        .execute(&mut owner)
        .await
        .expect_err("a balance set by hand");
    assert!(
        forged
            .to_string()
            .contains("balances change only through movements"),
        "{forged}"
    );
    let tenant_id = pharmacy.pharmacist.tenant_id;
    let mut tx = pharmacy
        .app
        .db
        .database
        .begin(tenant_id, &RequestId::generate())
        .await
        .expect("application transaction");
    let rewritten = sqlx::query("UPDATE inventory.movements SET quantity = 1")
        .execute(&mut *tx)
        .await
        .expect_err("the ledger rewritten");
    assert!(
        rewritten.to_string().contains("permission denied"),
        "{rewritten}"
    );
    drop(tx);

    // A reorder point of 70 tablets: 63 in hand, order 77 to reach 140.
    api.set_reorder_point(signed_in(
        &pharmacy.pharmacist,
        pb::SetReorderPointRequest {
            request_id: request_id(),
            warehouse_id: pharmacy.pharmacy_id.clone(),
            item_id: pharmacy.paracetamol.id.clone(),
            quantity: "70".to_owned(),
        },
    ))
    .await
    .expect("reorder point");
    let suggestions = api
        .list_purchase_suggestions(signed_in(
            &pharmacy.pharmacist,
            pb::ListPurchaseSuggestionsRequest {
                warehouse_id: pharmacy.pharmacy_id.clone(),
            },
        ))
        .await
        .expect("suggestions")
        .into_inner()
        .suggestions;
    assert_eq!(suggestions.len(), 1);
    assert_eq!(
        (
            suggestions[0].in_stock.as_str(),
            suggestions[0].suggested_quantity.as_str()
        ),
        ("63", "77")
    );
    let ledger = api
        .list_movements(signed_in(
            &pharmacy.pharmacist,
            pb::ListMovementsRequest {
                warehouse_id: pharmacy.pharmacy_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("ledger")
        .into_inner()
        .movements;
    assert_eq!(
        ledger.len(),
        7,
        "2 receipts, 2 issue lines, transfer, return, write-off"
    );
    pharmacy.app.stop().await;
}

#[tokio::test]
async fn sixty_four_dispensers_racing_for_one_lot_never_oversell_and_a_retry_dispenses_once() {
    let pharmacy = Pharmacy::open().await;
    pharmacy
        .receive("RACE-1", "2031-01-31", "50", "", "0.50")
        .await;
    let attempts = (0..64).map(|_| {
        let pharmacy = &pharmacy;
        async move {
            pharmacy
                .issue(&request_id(), &uuid::Uuid::new_v4().to_string(), "1")
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let served = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(served, 50, "exactly what the lot held");
    assert!(
        results
            .iter()
            .filter_map(|result| result.as_ref().err())
            .all(|status| status.code() == Code::FailedPrecondition)
    );
    assert!(pharmacy.stock(&pharmacy.pharmacy_id).await.is_empty());

    pharmacy
        .receive("RACE-2", "2031-02-28", "10", "", "0.50")
        .await;
    let once = request_id();
    let patient = uuid::Uuid::new_v4().to_string();
    let (first, second) = tokio::join!(
        pharmacy.issue(&once, &patient, "3"),
        pharmacy.issue(&once, &patient, "3")
    );
    let (first, second) = (first.expect("first"), second.expect("retry"));
    assert_eq!(
        first[0].id, second[0].id,
        "the retry answers the first dispense"
    );
    assert_eq!(
        pharmacy.stock(&pharmacy.pharmacy_id).await,
        [("RACE-2".to_owned(), "7".to_owned())]
    );
    let report = pharmacy.verify().await;
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );

    let bad = inventory(&pharmacy.app)
        .issue_stock(signed_in(
            &pharmacy.pharmacist,
            pb::IssueStockRequest {
                request_id: request_id(),
                warehouse_id: pharmacy.pharmacy_id.clone(),
                lines: vec![pb::ItemQuantity {
                    item_id: "x".to_owned(),
                    quantity: "-1".to_owned(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad issue");
    assert_eq!(
        violated_fields(&bad),
        [
            "patient_id",
            "document_type",
            "document_id",
            "lines[0].item_id",
            "lines[0].quantity"
        ]
    );
    pharmacy.app.stop().await;
}

#[tokio::test]
async fn stocktaking_posts_its_differences_and_the_reports_read_the_ledger() {
    let pharmacy = Pharmacy::open().await;
    let mut api = inventory(&pharmacy.app);
    let morphine = api
        .create_item(signed_in(
            &pharmacy.pharmacist,
            pb::CreateItemRequest {
                request_id: request_id(),
                item: Some(pb::Item {
                    code: "MORPH10".to_owned(),
                    name: "Morphine 10 mg/ml ampoules".to_owned(),
                    item_class: pb::ItemClass::Medicine.into(),
                    atc_code: "N02AA01".to_owned(),
                    base_unit: "ampoule".to_owned(),
                    controlled: true,
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("controlled item")
        .into_inner()
        .item
        .expect("item");
    let received = api
        .receive_stock(signed_in(
            &pharmacy.pharmacist,
            pb::ReceiveStockRequest {
                request_id: request_id(),
                warehouse_id: pharmacy.pharmacy_id.clone(),
                supplier: "State narcotics depot".to_owned(),
                invoice_number: "N-2026-11".to_owned(),
                lines: vec![pb::ReceiptLine {
                    item_id: morphine.id.clone(),
                    lot_number: "M1".to_owned(),
                    expiry_date: "2030-12-31".to_owned(),
                    quantity: "10".to_owned(),
                    unit_cost: "2.50".to_owned(),
                    provenance: pb::Provenance::StateProgramme.into(),
                    ..Default::default()
                }],
            },
        ))
        .await
        .expect("receive")
        .into_inner()
        .movements
        .remove(0);
    let issuer = api.clone();
    let issue = |request_id: String| {
        let mut api = issuer.clone();
        let pharmacist = pharmacy.pharmacist.clone();
        let warehouse = pharmacy.pharmacy_id.clone();
        let item = morphine.id.clone();
        async move {
            api.issue_stock(signed_in(
                &pharmacist,
                pb::IssueStockRequest {
                    request_id,
                    warehouse_id: warehouse,
                    patient_id: uuid::Uuid::new_v4().to_string(),
                    document_type: "dispensing-note".to_owned(),
                    document_id: "RX-9".to_owned(),
                    lines: vec![pb::ItemQuantity {
                        item_id: item,
                        quantity: "3".to_owned(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ))
            .await
        }
    };
    issue(request_id()).await.expect("issue");

    // The register: every movement of the controlled item, with the running stock.
    let zone: chrono_tz::Tz = "Europe/Chisinau".parse().expect("zone");
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let register = api
        .list_controlled_register(signed_in(
            &pharmacy.pharmacist,
            pb::ListControlledRegisterRequest {
                warehouse_id: pharmacy.pharmacy_id.clone(),
                from_date: (today - chrono::Duration::days(1)).to_string(),
                to_date: (today + chrono::Duration::days(1)).to_string(),
            },
        ))
        .await
        .expect("register")
        .into_inner()
        .entries;
    let lines: Vec<(&str, &str)> = register
        .iter()
        .map(|entry| (entry.change.as_str(), entry.balance_after.as_str()))
        .collect();
    assert_eq!(lines, [("10", "10"), ("-3", "7")]);
    assert_eq!(
        register[0].movement.as_ref().map(|m| m.id.as_str()),
        Some(received.id.as_str())
    );
    // The register names the patient the ampoules were issued to: its read is on record.
    let issued_to: uuid::Uuid = register[1]
        .movement
        .as_ref()
        .map(|movement| movement.patient_id.parse().expect("patient id"))
        .expect("the issue's movement");
    let mut owner = PgConnection::connect_with(&pharmacy.app.db.owner_options())
        .await
        .expect("owner");
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.records WHERE $1 = ANY (patient_ids) \
         AND method = '/openhmis.inventory.v1.InventoryService/ListControlledRegister'",
    )
    .bind(issued_to)
    .fetch_one(&mut owner)
    .await
    .expect("audit records");
    assert_eq!(recorded, 1);

    // Counting: the warehouse takes no movement meanwhile; one ampoule is missing.
    let counting = api
        .start_stocktaking(signed_in(
            &pharmacy.pharmacist,
            pb::StartStocktakingRequest {
                request_id: request_id(),
                warehouse_id: pharmacy.pharmacy_id.clone(),
            },
        ))
        .await
        .expect("start")
        .into_inner()
        .stocktaking
        .expect("stocktaking");
    assert_eq!(counting.lines.len(), 1);
    assert_eq!(counting.lines[0].expected, "7");
    let second = api
        .start_stocktaking(signed_in(
            &pharmacy.pharmacist,
            pb::StartStocktakingRequest {
                request_id: request_id(),
                warehouse_id: pharmacy.pharmacy_id.clone(),
            },
        ))
        .await
        .expect_err("one at a time");
    assert_eq!(second.code(), Code::FailedPrecondition);
    let frozen = issue(request_id()).await.expect_err("being counted");
    assert_eq!(frozen.code(), Code::FailedPrecondition);
    let lot_id = counting.lines[0].lot.as_ref().expect("lot").id.clone();
    let counted = api
        .record_counts(signed_in(
            &pharmacy.pharmacist,
            pb::RecordCountsRequest {
                request_id: request_id(),
                stocktaking_id: counting.id.clone(),
                counts: vec![pb::LotCount {
                    lot_id: lot_id.clone(),
                    counted: "6".to_owned(),
                }],
            },
        ))
        .await
        .expect("count")
        .into_inner()
        .stocktaking
        .expect("stocktaking");
    let stale = api
        .close_stocktaking(signed_in(
            &pharmacy.pharmacist,
            pb::CloseStocktakingRequest {
                request_id: request_id(),
                id: counting.id.clone(),
                etag: counting.etag.clone(),
                cancel: false,
            },
        ))
        .await
        .expect_err("counts recorded since");
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let closed = api
        .close_stocktaking(signed_in(
            &pharmacy.pharmacist,
            pb::CloseStocktakingRequest {
                request_id: request_id(),
                id: counting.id.clone(),
                etag: counted.etag.clone(),
                cancel: false,
            },
        ))
        .await
        .expect("post")
        .into_inner();
    assert_eq!(closed.adjustments.len(), 1);
    assert_eq!(closed.adjustments[0].quantity, "1");
    assert_eq!(
        closed.adjustments[0].kind,
        pb::MovementKind::Adjustment as i32
    );
    let stocktaking = closed.stocktaking.expect("stocktaking");
    assert_eq!(stocktaking.status, pb::StocktakingStatus::Posted as i32);
    assert_eq!(stocktaking.lines[0].difference, "-1");
    assert_eq!(
        pharmacy.stock(&pharmacy.pharmacy_id).await,
        [("M1".to_owned(), "6".to_owned())]
    );
    issue(request_id())
        .await
        .expect("movements resume once posted");

    // The month's report: 10 received (25.00), 3 + 1 + 3 out (17.50), 3 left (7.50).
    let report = api
        .get_stock_report(signed_in(
            &pharmacy.pharmacist,
            pb::GetStockReportRequest {
                warehouse_id: pharmacy.pharmacy_id.clone(),
                month: today.format("%Y-%m").to_string(),
            },
        ))
        .await
        .expect("report")
        .into_inner();
    let figures: Vec<(String, String, String, String, String)> = report
        .lines
        .iter()
        .map(|line| {
            let figure = |f: &Option<pb::StockFigure>| {
                f.as_ref()
                    .map(|f| format!("{} / {}", f.quantity, f.value))
                    .unwrap_or_default()
            };
            (
                line.item.as_ref().expect("item").code.clone(),
                figure(&line.opening),
                figure(&line.received),
                figure(&line.issued),
                figure(&line.closing),
            )
        })
        .collect();
    assert_eq!(
        figures,
        [(
            "MORPH10".to_owned(),
            "0 / 0.00".to_owned(),
            "10 / 25.00".to_owned(),
            "7 / 17.50".to_owned(),
            "3 / 7.50".to_owned()
        )]
    );
    let report = pharmacy.verify().await;
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );
    pharmacy.app.stop().await;
}

#[tokio::test]
async fn a_ward_requisition_is_filled_in_parts_and_never_beyond_what_it_asks() {
    let pharmacy = Pharmacy::open().await;
    pharmacy
        .receive("Q-1", "2030-05-31", "100", "", "0.40")
        .await;
    let ward_uuid: uuid::Uuid = pharmacy.ward_id.parse().expect("ward id");
    pharmacy
        .app
        .add_user(
            pharmacy.pharmacist.tenant_id,
            "ward-nurse",
            "nurse",
            Scope::Department(ward_uuid),
        )
        .await;
    let nurse = pharmacy
        .app
        .login("INV", "ward-nurse", USER_PASSWORD)
        .await
        .expect("nurse signs in");
    let mut api = inventory(&pharmacy.app);
    let requisition = api
        .create_requisition(signed_in(
            &nurse,
            pb::CreateRequisitionRequest {
                request_id: request_id(),
                requisition: Some(pb::Requisition {
                    ward_stock_id: pharmacy.ward_stock_id.clone(),
                    supplier_id: pharmacy.pharmacy_id.clone(),
                    lines: vec![pb::RequisitionLine {
                        item_id: pharmacy.paracetamol.id.clone(),
                        requested: "20".to_owned(),
                        ..Default::default()
                    }],
                    note: "for the weekend".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("the nurse asks")
        .into_inner()
        .requisition
        .expect("requisition");
    let fill = |lines: Vec<pb::ItemQuantity>| {
        let mut api = api.clone();
        let pharmacist = pharmacy.pharmacist.clone();
        let id = requisition.id.clone();
        async move {
            api.fulfill_requisition(signed_in(
                &pharmacist,
                pb::FulfillRequisitionRequest {
                    request_id: request_id(),
                    requisition_id: id,
                    lines,
                },
            ))
            .await
        }
    };
    let part = |quantity: &str| pb::ItemQuantity {
        item_id: pharmacy.paracetamol.id.clone(),
        quantity: quantity.to_owned(),
        ..Default::default()
    };
    let first = fill(vec![part("5")])
        .await
        .expect("a first part")
        .into_inner();
    let status = first.requisition.as_ref().expect("requisition");
    assert_eq!(status.status, pb::RequisitionStatus::Open as i32);
    assert_eq!(status.lines[0].supplied, "5");
    let too_much = fill(vec![part("16")])
        .await
        .expect_err("beyond the request");
    assert_eq!(too_much.code(), Code::FailedPrecondition);
    let rest = fill(Vec::new()).await.expect("the rest").into_inner();
    assert_eq!(rest.movements.len(), 1);
    assert_eq!(rest.movements[0].quantity, "15");
    assert_eq!(rest.movements[0].document_type, "requisition");
    assert_eq!(
        rest.requisition.expect("requisition").status,
        pb::RequisitionStatus::Fulfilled as i32
    );
    let again = fill(Vec::new()).await.expect_err("already fulfilled");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(
        pharmacy.stock(&pharmacy.ward_stock_id).await,
        [("Q-1".to_owned(), "20".to_owned())]
    );
    let open = api
        .list_open_requisitions(signed_in(
            &pharmacy.pharmacist,
            pb::ListOpenRequisitionsRequest {
                supplier_id: pharmacy.pharmacy_id.clone(),
            },
        ))
        .await
        .expect("open requisitions")
        .into_inner()
        .requisitions;
    assert!(open.is_empty());
    let report = pharmacy.verify().await;
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );
    pharmacy.app.stop().await;
}

/// The ledger names the patients medicines were issued to: reading it is a read of their data,
/// on the audit trail like any other.
#[tokio::test]
async fn reading_the_ledger_is_on_record_with_the_patients_it_names() {
    let pharmacy = Pharmacy::open().await;
    pharmacy
        .receive("L-1", "2031-01-31", "10", "", "0.50")
        .await;
    let patient = uuid::Uuid::new_v4().to_string();
    pharmacy
        .issue(&request_id(), &patient, "2")
        .await
        .expect("issue to the patient");
    let ledger = inventory(&pharmacy.app)
        .list_movements(signed_in(
            &pharmacy.pharmacist,
            pb::ListMovementsRequest {
                warehouse_id: pharmacy.pharmacy_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("ledger")
        .into_inner()
        .movements;
    assert!(ledger.iter().any(|movement| movement.patient_id == patient));
    let mut owner = PgConnection::connect_with(&pharmacy.app.db.owner_options())
        .await
        .expect("owner");
    let patient_uuid: uuid::Uuid = patient.parse().expect("uuid");
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.records WHERE $1 = ANY (patient_ids) \
         AND method = '/openhmis.inventory.v1.InventoryService/ListMovements'",
    )
    .bind(patient_uuid)
    .fetch_one(&mut owner)
    .await
    .expect("audit records");
    assert_eq!(recorded, 1);
}
