//! Billing over real gRPC: an inpatient stay charged from the events of admissions, surgery
//! and inventory, checked line by line against tariffs worked out by hand, split with the
//! national insurer, and reversed when the discharge is undone; a payment confirmation
//! delivered 32 times at once applied once, refunds racing past the payment refused by the
//! database; a cashier's shift that closes balanced; `verify` finding altered totals.

use crate::support;
use crate::surgery::{Block, SIGN_IN, SIGN_OUT, TIME_OUT, inventory, minutes_ago, request_id};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use hmis_platform::auth::Scope;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::billing::v1 as pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::surgery::v1 as surgery_pb;
use pb::billing_service_client::BillingServiceClient;
use sqlx::Connection;
use support::{Session, TestApp, WardSpec, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

const ZONE: chrono_tz::Tz = chrono_tz::Europe::Chisinau;

fn billing(app: &TestApp) -> BillingServiceClient<Channel> {
    BillingServiceClient::new(app.channel.clone())
}

fn admissions(
    app: &TestApp,
) -> admissions_pb::admission_service_client::AdmissionServiceClient<Channel> {
    admissions_pb::admission_service_client::AdmissionServiceClient::new(app.channel.clone())
}

fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// Local midnight in Chisinau `days` before today, in UTC.
fn local_midnight(days_ago: i64) -> DateTime<Utc> {
    let day = Utc::now().with_timezone(&ZONE).date_naive() - Duration::days(days_ago);
    ZONE.from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .expect("a midnight")
        .with_timezone(&Utc)
}

fn local_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&ZONE).date_naive()
}

/// The tariffs of these tests: general beds 450 a day, intensive care 120 an hour, an
/// appendicectomy 3200, supplies at cost plus 10 %; the national insurer pays 80 % (50 % of
/// medicines), with no franchise; the patient is insured from the start of the year.
async fn tariffs(block: &Block, officer: &Session, icu_id: &str) -> String {
    let api = billing(&block.app);
    let price_list = api
        .clone()
        .create_price_list(signed_in(
            officer,
            pb::CreatePriceListRequest {
                request_id: request_id(),
                name: "Tariffs 2026".to_owned(),
                currency: "MDL".to_owned(),
                valid_from: "2026-01-01".to_owned(),
                valid_until: String::new(),
            },
        ))
        .await
        .expect("price list")
        .into_inner()
        .price_list
        .expect("price list");
    let tariff =
        |kind: pb::TariffKind, system: &str, code: &str, price: &str, unit, group: &str| {
            pb::Tariff {
                kind: kind.into(),
                code_system: system.to_owned(),
                code: code.to_owned(),
                name: format!("Tariff {code}"),
                price: price.to_owned(),
                unit: unit as i32,
                margin_percent: String::new(),
                service_group: group.to_owned(),
                includes: Vec::new(),
            }
        };
    let mut supplies = tariff(
        pb::TariffKind::Supply,
        "",
        "*",
        "",
        pb::TariffUnit::Unspecified,
        "medicines",
    );
    supplies.margin_percent = "10".to_owned();
    let written = api
        .clone()
        .set_tariffs(signed_in(
            officer,
            pb::SetTariffsRequest {
                request_id: request_id(),
                price_list_id: price_list.id.clone(),
                tariffs: vec![
                    tariff(
                        pb::TariffKind::Accommodation,
                        "",
                        "general",
                        "450",
                        pb::TariffUnit::Day,
                        "accommodation",
                    ),
                    tariff(
                        pb::TariffKind::Accommodation,
                        "",
                        "intensive",
                        "120",
                        pb::TariffUnit::Hour,
                        "intensive-care",
                    ),
                    tariff(
                        pb::TariffKind::Service,
                        "achi",
                        "30571-00",
                        "3200",
                        pb::TariffUnit::Each,
                        "surgery",
                    ),
                    supplies,
                ],
            },
        ))
        .await
        .expect("tariffs")
        .into_inner()
        .written;
    assert_eq!(written, 4);
    let imported = api
        .clone()
        .import_grouper_tables(signed_in(
            officer,
            hmis_billing::starter::grouper_request(request_id()),
        ))
        .await
        .expect("grouper tables")
        .into_inner();
    assert_eq!(imported.drgs, 79);
    api.clone()
        .set_ward_care_level(signed_in(
            officer,
            pb::SetWardCareLevelRequest {
                request_id: request_id(),
                department_id: icu_id.to_owned(),
                care_level: "intensive".to_owned(),
            },
        ))
        .await
        .expect("care level");
    api.clone()
        .create_insurance_contract(signed_in(
            officer,
            pb::CreateInsuranceContractRequest {
                request_id: request_id(),
                contract: Some(pb::InsuranceContract {
                    payer_code: "CNAM".to_owned(),
                    name: "National health insurance".to_owned(),
                    kind: pb::PayerKind::National.into(),
                    default_percent: "80".to_owned(),
                    coverage: vec![pb::GroupCoverage {
                        service_group: "medicines".to_owned(),
                        percent: "50".to_owned(),
                    }],
                    franchise: "0".to_owned(),
                    drg_base_rate: "10000".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("contract")
        .into_inner()
        .contract
        .expect("contract")
        .id
}

async fn insure(block: &Block, desk: &Session, patient_id: &str, contract_id: &str) {
    billing(&block.app)
        .add_coverage(signed_in(
            desk,
            pb::AddCoverageRequest {
                request_id: request_id(),
                coverage: Some(pb::Coverage {
                    patient_id: patient_id.to_owned(),
                    contract_id: contract_id.to_owned(),
                    policy_number: "A-1234567".to_owned(),
                    valid_from: "2026-01-01".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("coverage");
}

/// The admission's account once `ready` says billing has captured what the test did.
async fn account_when(
    app: &TestApp,
    session: &Session,
    admission_id: &str,
    ready: impl Fn(&pb::Account) -> bool,
) -> pb::Account {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(25));
    loop {
        poll.tick().await;
        let found = billing(app)
            .get_account(signed_in(
                session,
                pb::GetAccountRequest {
                    admission_id: admission_id.to_owned(),
                    ..Default::default()
                },
            ))
            .await;
        match found {
            Ok(found) => {
                let account = found.into_inner().account.expect("account");
                if ready(&account) {
                    return account;
                }
            }
            Err(status) => assert_eq!(status.code(), Code::NotFound, "{status}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "billing never captured what the test expects"
        );
    }
}

/// The admission's DRG case once `ready` says billing has grouped what the test did.
async fn drg_case_when(
    app: &TestApp,
    session: &Session,
    admission_id: &str,
    ready: impl Fn(&pb::DrgCase) -> bool,
) -> pb::DrgCase {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(25));
    loop {
        poll.tick().await;
        let found = billing(app)
            .get_drg_case(signed_in(
                session,
                pb::GetDrgCaseRequest {
                    admission_id: admission_id.to_owned(),
                },
            ))
            .await;
        match found {
            Ok(found) => {
                let case = found.into_inner().drg_case.expect("case");
                if ready(&case) {
                    return case;
                }
            }
            Err(status) => assert_eq!(status.code(), Code::NotFound, "{status}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "billing never grouped the case as the test expects"
        );
    }
}

/// (description prefix, quantity, unit price, amount, CNAM's share, patient's share) of a
/// charge, as the bill shows it.
fn line(charge: &pb::Charge) -> (String, String, String, String, String, String) {
    let cnam = (charge.shares.iter())
        .find(|share| share.payer_code == "CNAM")
        .map(|share| share.amount.clone())
        .unwrap_or_default();
    let patient = (charge.shares.iter())
        .find(|share| share.contract_id.is_empty())
        .map(|share| share.amount.clone())
        .unwrap_or_default();
    (
        charge.code.clone(),
        charge.quantity.clone(),
        charge.unit_price.clone(),
        charge.amount.clone(),
        cnam,
        patient,
    )
}

fn expected(
    code: &str,
    quantity: &str,
    unit_price: &str,
    amount: &str,
    cnam: &str,
    patient: &str,
) -> (String, String, String, String, String, String) {
    (
        code.to_owned(),
        quantity.to_owned(),
        unit_price.to_owned(),
        amount.to_owned(),
        cnam.to_owned(),
        patient.to_owned(),
    )
}

/// Runs an operation through its checklist and times to OUT_OF_ROOM (completed).
async fn operate(block: &Block, nurse: &Session, operation_id: &str) {
    let mut api = block.surgery();
    let phase = |phase: surgery_pb::ChecklistPhase, items: &[&str]| {
        surgery_pb::ConfirmChecklistPhaseRequest {
            request_id: request_id(),
            operation_id: operation_id.to_owned(),
            phase: phase.into(),
            confirmed_items: items.iter().map(|item| (*item).to_owned()).collect(),
        }
    };
    let milestone =
        |milestone: surgery_pb::Milestone, ago: i64| surgery_pb::RecordMilestoneRequest {
            request_id: request_id(),
            operation_id: operation_id.to_owned(),
            milestone: milestone.into(),
            time: Some(minutes_ago(ago)),
        };
    use surgery_pb::{ChecklistPhase, Milestone};
    api.record_milestone(signed_in(nurse, milestone(Milestone::IntoRoom, 30)))
        .await
        .expect("into the room");
    api.confirm_checklist_phase(signed_in(nurse, phase(ChecklistPhase::SignIn, SIGN_IN)))
        .await
        .expect("sign in");
    api.record_milestone(signed_in(nurse, milestone(Milestone::AnaesthesiaStart, 28)))
        .await
        .expect("anaesthesia");
    api.confirm_checklist_phase(signed_in(nurse, phase(ChecklistPhase::TimeOut, TIME_OUT)))
        .await
        .expect("time out");
    api.record_milestone(signed_in(nurse, milestone(Milestone::Incision, 25)))
        .await
        .expect("incision");
    api.record_milestone(signed_in(nurse, milestone(Milestone::Closure, 8)))
        .await
        .expect("closure");
    api.confirm_checklist_phase(signed_in(nurse, phase(ChecklistPhase::SignOut, SIGN_OUT)))
        .await
        .expect("sign out");
    api.record_milestone(signed_in(nurse, milestone(Milestone::OutOfRoom, 2)))
        .await
        .expect("out of the room");
}

#[tokio::test]
async fn an_inpatient_stay_is_billed_line_by_line_split_with_the_insurer_grouped_to_its_drg_and_reversed_when_the_discharge_is_undone()
 {
    let block = Block::open(1).await;
    let app = &block.app;
    let facility: uuid::Uuid = block.facility_id.parse().expect("facility id");
    let operating_block: uuid::Uuid = block.block_id.parse().expect("block id");
    let icu = app
        .open_ward(
            &block.admin,
            &block.facility_id,
            WardSpec::ward("ICU", "Intensive care").beds("I1", "ICU room", 2),
        )
        .await;
    let officer = app
        .staff(
            &block.admin,
            "SRG",
            "officer",
            "billing_officer",
            Scope::Tenant,
        )
        .await;
    let records = app
        .staff(
            &block.admin,
            "SRG",
            "records",
            "records",
            Scope::Facility(facility),
        )
        .await;
    let pharmacist = app
        .staff(
            &block.admin,
            "SRG",
            "pharmacist",
            "pharmacist",
            Scope::Facility(facility),
        )
        .await;
    let nurse = app
        .staff(
            &block.admin,
            "SRG",
            "theatre_nurse",
            "theatre_nurse",
            Scope::Department(operating_block),
        )
        .await;
    let cnam = tariffs(&block, &officer, &icu.id).await;

    // Four days ago at 10:00 into surgery; the next day at 08:00 to intensive care; the day
    // after at 14:30 back to surgery (30.5 hours: 31 started hours).
    let base = local_midnight(4);
    let patient_id = block.register("Munteanu").await;
    insure(&block, &block.desk, &patient_id, &cnam).await;
    let mut admission = admissions(app)
        .admit_patient(signed_in(
            &block.desk,
            admissions_pb::AdmitPatientRequest {
                request_id: request_id(),
                admission: Some(admissions_pb::Admission {
                    patient_id: patient_id.clone(),
                    department_id: block.ward_id.clone(),
                    bed_id: block.beds[0].clone(),
                    r#type: admissions_pb::AdmissionType::Emergency.into(),
                    admit_time: Some(timestamp(base + Duration::hours(10))),
                    admitting_diagnosis_code: "K35.8".to_owned(),
                    admitting_diagnosis_text: "Acute appendicitis".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("admitted")
        .into_inner()
        .admission
        .expect("admission");
    for (department, bed, at) in [
        (&icu.id, &icu.beds[0], base + Duration::hours(24 + 8)),
        (
            &block.ward_id,
            &block.beds[1],
            base + Duration::hours(48 + 14) + Duration::minutes(30),
        ),
    ] {
        admission = admissions(app)
            .transfer_patient(signed_in(
                &block.desk,
                admissions_pb::TransferPatientRequest {
                    request_id: request_id(),
                    admission_id: admission.id.clone(),
                    department_id: department.clone(),
                    bed_id: bed.clone(),
                    transfer_time: Some(timestamp(at)),
                    reason: "care level".to_owned(),
                    etag: admission.etag.clone(),
                },
            ))
            .await
            .expect("transferred")
            .into_inner()
            .admission
            .expect("admission");
    }

    // The surgeon's diagnoses: acute appendicitis, and a urinary infection (a CC).
    let mut encounters =
        hmis_proto::openhmis::encounters::v1::encounter_service_client::EncounterServiceClient::new(
            app.channel.clone(),
        );
    let surgeon = block.surgeons[0].0.clone();
    let encounter = encounters
        .open_encounter(signed_in(
            &surgeon,
            encounters_pb::OpenEncounterRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("encounter")
        .into_inner()
        .encounter
        .expect("encounter");
    for (code, role) in [
        ("K35.8", encounters_pb::DiagnosisRole::Principal),
        ("N39.0", encounters_pb::DiagnosisRole::Secondary),
    ] {
        encounters
            .record_diagnosis(signed_in(
                &surgeon,
                encounters_pb::RecordDiagnosisRequest {
                    request_id: request_id(),
                    diagnosis: Some(encounters_pb::Diagnosis {
                        encounter_id: encounter.id.clone(),
                        code: code.to_owned(),
                        role: role.into(),
                        certainty: encounters_pb::DiagnosisCertainty::Confirmed.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("diagnosis");
    }

    // The appendicectomy, today.
    block.known(&admission).await;
    let mut booking = block.booking(0, &patient_id, 0, minutes_ago(40));
    booking.admission_id = admission.id.clone();
    let operation = block
        .book(booking)
        .await
        .expect("booked")
        .operation
        .expect("operation");
    operate(&block, &nurse, &operation.id).await;

    // Twenty tablets at 0.85 from the pharmacy; five come back.
    let mut stock = inventory(app);
    let warehouse = stock
        .create_warehouse(signed_in(
            &pharmacist,
            inventory_pb::CreateWarehouseRequest {
                request_id: request_id(),
                warehouse: Some(inventory_pb::Warehouse {
                    code: "PHARMACY".to_owned(),
                    name: "Central pharmacy".to_owned(),
                    kind: inventory_pb::WarehouseKind::CentralPharmacy.into(),
                    facility_id: block.facility_id.clone(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("warehouse")
        .into_inner()
        .warehouse
        .expect("warehouse")
        .id;
    let item = stock
        .create_item(signed_in(
            &pharmacist,
            inventory_pb::CreateItemRequest {
                request_id: request_id(),
                item: Some(inventory_pb::Item {
                    code: "PARA-500".to_owned(),
                    name: "Paracetamol 500 mg".to_owned(),
                    item_class: inventory_pb::ItemClass::Medicine.into(),
                    base_unit: "tablet".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("item")
        .into_inner()
        .item
        .expect("item")
        .id;
    stock
        .receive_stock(signed_in(
            &pharmacist,
            inventory_pb::ReceiveStockRequest {
                request_id: request_id(),
                warehouse_id: warehouse.clone(),
                supplier: "Medsupply".to_owned(),
                invoice_number: "INV-1".to_owned(),
                lines: vec![inventory_pb::ReceiptLine {
                    item_id: item.clone(),
                    lot_number: "P1".to_owned(),
                    expiry_date: "2029-01-01".to_owned(),
                    quantity: "100".to_owned(),
                    unit: String::new(),
                    unit_cost: "0.85".to_owned(),
                    provenance: inventory_pb::Provenance::Purchase.into(),
                }],
            },
        ))
        .await
        .expect("received");
    let issued = stock
        .issue_stock(signed_in(
            &pharmacist,
            inventory_pb::IssueStockRequest {
                request_id: request_id(),
                warehouse_id: warehouse.clone(),
                patient_id: patient_id.clone(),
                department_id: String::new(),
                document_type: "slip".to_owned(),
                document_id: "S-1".to_owned(),
                lines: vec![inventory_pb::ItemQuantity {
                    item_id: item.clone(),
                    quantity: "20".to_owned(),
                    ..Default::default()
                }],
            },
        ))
        .await
        .expect("issued")
        .into_inner()
        .movements;
    // The return is a credit of the issue: the issue is charged first.
    account_when(app, &officer, &admission.id, |account| {
        account
            .charges
            .iter()
            .any(|charge| charge.code == "PARA-500")
    })
    .await;
    stock
        .return_stock(signed_in(
            &pharmacist,
            inventory_pb::ReturnStockRequest {
                request_id: request_id(),
                warehouse_id: warehouse.clone(),
                movement_id: issued[0].id.clone(),
                quantity: "5".to_owned(),
                reason: "not needed".to_owned(),
            },
        ))
        .await
        .expect("returned");

    let discharged = admissions(app)
        .discharge_patient(signed_in(
            &block.desk,
            admissions_pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: admissions_pb::DischargeType::Recovered.into(),
                discharge_time: None,
                destination: "home".to_owned(),
                etag: admission.etag.clone(),
            },
        ))
        .await
        .expect("discharged")
        .into_inner()
        .admission
        .expect("admission");
    let discharge_time = discharged
        .discharge
        .as_ref()
        .and_then(|discharge| discharge.discharge_time)
        .expect("discharge time");
    let discharge_time = Utc
        .timestamp_opt(discharge_time.seconds, 0)
        .single()
        .expect("time");

    // By hand: 1 day in surgery (the day of admission counts, the day of leaving does not),
    // 31 started hours of intensive care, then surgery from the day before yesterday to the
    // day of discharge.
    let last_days = (local_day(discharge_time) - local_day(base + Duration::hours(48))).num_days();
    let last_amount = 450 * last_days;
    let bill = account_when(app, &officer, &admission.id, |account| {
        account.charges.len() == 6
    })
    .await;
    let mut lines: Vec<_> = bill.charges.iter().map(line).collect();
    lines.sort();
    let mut hand = vec![
        expected("general", "1", "450.00", "450.00", "360.00", "90.00"),
        expected("intensive", "31", "120.00", "3720.00", "2976.00", "744.00"),
        expected(
            "general",
            &last_days.to_string(),
            "450.00",
            &format!("{last_amount}.00"),
            &format!("{}.00", last_amount * 4 / 5),
            &format!("{}.00", last_amount / 5),
        ),
        expected("30571-00", "1", "3200.00", "3200.00", "2560.00", "640.00"),
        // 0.85 + 10 % = 0.935, 0.94 a tablet; medicines are half covered.
        expected("PARA-500", "20", "0.94", "18.80", "9.40", "9.40"),
        expected("PARA-500", "5", "-0.94", "-4.70", "-2.35", "-2.35"),
    ];
    hand.sort();
    assert_eq!(lines, hand);
    let total = 450 + 3720 + last_amount + 3200;
    assert_eq!(bill.total, format!("{}.10", total + 14));
    assert_eq!(bill.currency, "MDL");
    assert_eq!(
        (
            bill.insurer_shares.len(),
            bill.insurer_shares[0].payer_code.as_str()
        ),
        (1, "CNAM")
    );
    let patient_total = 90 + 744 + last_amount / 5 + 640;
    assert_eq!(bill.patient_total, format!("{}.05", patient_total + 7));
    assert_eq!(bill.balance, bill.patient_total, "nothing paid yet");
    assert!(bill.warnings.is_empty(), "{:?}", bill.warnings);
    let operation_line = (bill.charges.iter())
        .find(|charge| charge.code == "30571-00")
        .expect("operation charged");
    assert_eq!(
        (
            operation_line.source,
            operation_line.physician_id.as_str(),
            operation_line.department_id.as_str()
        ),
        (
            pb::ChargeSource::Operation as i32,
            block.surgeon(0),
            block.block_id.as_str()
        )
    );

    // The case: surgical in MDC 06 with a CC, DRG 398 (MS-DRG v43 weight 1.5136); the claim
    // is the weight times CNAM's base rate of 10,000.
    let case = drg_case_when(app, &officer, &admission.id, |case| case.drg == "398").await;
    let length_of_stay =
        (local_day(discharge_time) - local_day(base + Duration::hours(10))).num_days();
    assert_eq!(
        (
            case.principal_diagnosis.as_str(),
            case.secondary_diagnoses.clone(),
            case.procedures.clone(),
            case.mdc.as_str(),
            case.severity.as_str(),
            case.surgical,
            case.relative_weight.as_str(),
            case.case_weight.as_str(),
            case.claim_amount.as_str(),
            case.claim_status,
            i64::from(case.length_of_stay),
            case.department_id.as_str(),
        ),
        (
            "K35.8",
            vec!["N39.0".to_owned()],
            vec!["30571-00".to_owned()],
            "06",
            "cc",
            true,
            "1.5136",
            "1.5136",
            "15136.00",
            pb::ClaimStatus::Prepared as i32,
            length_of_stay,
            block.ward_id.as_str(),
        )
    );
    assert_eq!(
        (case.age, case.sex.as_str()),
        (
            i32::try_from(
                local_day(discharge_time)
                    .years_since(NaiveDate::from_ymd_opt(1970, 3, 2).expect("birth"))
                    .expect("age")
            )
            .expect("age"),
            "M",
        )
    );
    let today = local_day(discharge_time).format("%Y-%m-%d").to_string();
    let mix = billing(app)
        .get_case_mix(signed_in(
            &officer,
            pb::GetCaseMixRequest {
                facility_id: block.facility_id.clone(),
                from_date: today.clone(),
                to_date: today,
            },
        ))
        .await
        .expect("case mix")
        .into_inner();
    let total = mix.total.expect("total");
    assert_eq!((total.cases, total.case_mix_index.as_str()), (1, "1.5136"));
    assert_eq!(mix.wards[0].department_id, block.ward_id);
    // Revenue of the stay's days by service group and by payer, and what is owed.
    let revenue = |group_by: pb::RevenueGrouping| {
        let mut api = billing(app);
        let request = signed_in(
            &officer,
            pb::GetRevenueRequest {
                facility_id: block.facility_id.clone(),
                from_date: local_day(base).format("%Y-%m-%d").to_string(),
                to_date: local_day(discharge_time).format("%Y-%m-%d").to_string(),
                group_by: group_by.into(),
            },
        );
        async move {
            api.get_revenue(request)
                .await
                .expect("revenue")
                .into_inner()
        }
    };
    let by_group = revenue(pb::RevenueGrouping::ServiceGroup).await;
    let groups: Vec<(String, String)> = (by_group.rows.iter())
        .map(|row| (row.key.clone(), row.amount.clone()))
        .collect();
    assert_eq!(
        groups,
        [
            ("intensive-care".to_owned(), "3720.00".to_owned()),
            ("surgery".to_owned(), "3200.00".to_owned()),
            (
                "accommodation".to_owned(),
                format!("{}.00", 450 + last_amount)
            ),
            ("medicines".to_owned(), "14.10".to_owned()),
        ]
    );
    let by_payer = revenue(pb::RevenueGrouping::Payer).await;
    let payers: Vec<(String, String)> = (by_payer.rows.iter())
        .map(|row| (row.key.clone(), row.amount.clone()))
        .collect();
    let cnam_total = format!("{}.05", 360 + 2976 + last_amount * 4 / 5 + 2560 + 7);
    assert_eq!(
        payers,
        [
            ("CNAM".to_owned(), cnam_total.clone()),
            ("patient".to_owned(), bill.patient_total.clone()),
        ]
    );
    let total = by_payer.total.expect("total");
    assert_eq!(
        (total.charges, total.amount.as_str()),
        (6, bill.total.as_str())
    );
    let owed = billing(app)
        .get_receivables(signed_in(&officer, pb::GetReceivablesRequest {}))
        .await
        .expect("receivables")
        .into_inner();
    assert_eq!(
        (owed.patients_owe.as_str(), owed.owing_accounts),
        (bill.balance.as_str(), 1)
    );
    assert_eq!(
        (
            owed.insurers[0].payer_code.as_str(),
            owed.insurers[0].shares.as_str(),
            owed.insurers[0].claims_open.as_str(),
            owed.insurers[0].open_claims
        ),
        ("CNAM", cnam_total.as_str(), "15136.00", 1)
    );

    // The claim goes out, is rejected with reasons, and is prepared again; it cannot skip.
    let claims = |status: pb::ClaimStatus, reasons: &[&str], etag: &str| pb::UpdateClaimRequest {
        request_id: request_id(),
        admission_id: admission.id.clone(),
        status: status.into(),
        rejection_reasons: reasons.iter().map(|reason| (*reason).to_owned()).collect(),
        etag: etag.to_owned(),
    };
    let skipped = billing(app)
        .update_claim(signed_in(&officer, claims(pb::ClaimStatus::Paid, &[], "")))
        .await
        .expect_err("not sent yet");
    assert_eq!(skipped.code(), Code::FailedPrecondition);
    let sent = billing(app)
        .update_claim(signed_in(
            &officer,
            claims(pb::ClaimStatus::Sent, &[], &case.etag),
        ))
        .await
        .expect("sent")
        .into_inner()
        .drg_case
        .expect("case");
    let stale = billing(app)
        .update_claim(signed_in(
            &officer,
            claims(pb::ClaimStatus::Accepted, &[], &case.etag),
        ))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    let rejected = billing(app)
        .update_claim(signed_in(
            &officer,
            claims(
                pb::ClaimStatus::Rejected,
                &["secondary diagnosis not documented"],
                &sent.etag,
            ),
        ))
        .await
        .expect("rejected")
        .into_inner()
        .drg_case
        .expect("case");
    assert_eq!(
        (rejected.claim_status, rejected.rejection_reasons.clone()),
        (
            pb::ClaimStatus::Rejected as i32,
            vec!["secondary diagnosis not documented".to_owned()]
        )
    );
    let prepared = billing(app)
        .update_claim(signed_in(
            &officer,
            claims(pb::ClaimStatus::Prepared, &[], &rejected.etag),
        ))
        .await
        .expect("prepared again")
        .into_inner()
        .drg_case
        .expect("case");
    let mut etag = prepared.etag;
    for status in [pb::ClaimStatus::Sent, pb::ClaimStatus::Accepted] {
        etag = billing(app)
            .update_claim(signed_in(&officer, claims(status, &[], &etag)))
            .await
            .expect("moved")
            .into_inner()
            .drg_case
            .expect("case")
            .etag;
    }
    the_insurer_pays(
        &block,
        &officer,
        (&cnam, &admission.id),
        local_day(discharge_time),
        (&cnam_total, &bill.total),
    )
    .await;

    // The discharge undone: the bed-days are reversed, once, the rest stands.
    let undone = admissions(app)
        .undo_discharge(signed_in(
            &records,
            admissions_pb::UndoDischargeRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                reason: "discharged in error".to_owned(),
                etag: discharged.etag.clone(),
            },
        ))
        .await
        .expect("undone")
        .into_inner()
        .admission
        .expect("admission");
    // The bill's statements read what has committed when each runs: the account's row is
    // read before its charges, so both are waited for.
    let reversed = account_when(app, &officer, &admission.id, |account| {
        account.charges.len() == 9 && account.discharge_time.is_none()
    })
    .await;
    let reversals: Vec<_> = (reversed.charges.iter())
        .filter(|charge| !charge.reverses_charge_id.is_empty())
        .collect();
    assert_eq!(reversals.len(), 3);
    for reversal in &reversals {
        let original = (reversed.charges.iter())
            .find(|charge| charge.id == reversal.reverses_charge_id)
            .expect("the reversed charge");
        assert_eq!(original.source, pb::ChargeSource::Accommodation as i32);
        assert_eq!(reversal.amount, format!("-{}", original.amount));
    }
    assert_eq!(reversed.total, format!("{}.10", 3200 + 14));
    assert!(reversed.discharge_time.is_none(), "the stay goes on");
    let voided = drg_case_when(app, &officer, &admission.id, |case| {
        case.claim_status == pb::ClaimStatus::Void as i32
    })
    .await;
    assert_eq!(voided.drg, "398", "a void case keeps what it was");
    assert_eq!(
        undone.status,
        admissions_pb::AdmissionStatus::Admitted as i32
    );

    // Redelivered events charge nothing twice: replaying billing's subscriptions from the
    // start leaves the bill as it is.
    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner");
    for schema in ["admissions", "surgery", "inventory"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {schema}.outbox_offsets SET last_txid = '0', last_id = 0 \
             WHERE subscriber LIKE 'billing.%'"
        )))
        .execute(&mut owner)
        .await
        .expect("rewind");
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(25));
    for schema in ["admissions", "surgery", "inventory"] {
        loop {
            poll.tick().await;
            let (caught_up,): (bool,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT coalesce((SELECT (o.last_txid, o.last_id) >= (e.txid, e.id) \
                     FROM {schema}.outbox_offsets o, \
                          (SELECT txid, id FROM {schema}.outbox \
                           ORDER BY txid DESC, id DESC LIMIT 1) e \
                     WHERE o.subscriber LIKE 'billing.%'), false)"
            )))
            .fetch_one(&mut owner)
            .await
            .expect("offsets");
            if caught_up {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "billing never caught up with {schema}"
            );
        }
    }
    let replayed = account_when(app, &officer, &admission.id, |_| true).await;
    assert_eq!(
        (replayed.charges.len(), replayed.total.as_str()),
        (9, reversed.total.as_str())
    );
    let report = hmis_billing::verify(&app.db.database)
        .await
        .expect("verify");
    assert!(report.is_consistent(), "{report:?}");
    assert!(report.accounts_checked >= 1);
}

/// CNAM pays the accepted claim of `admission_id` (15,136.00) short, 15,000.00, in a
/// remittance of 20,000.00 received on the day of discharge (the rest on account); its
/// reconciliation by day and by month, and the journal for accounting, say so.
async fn the_insurer_pays(
    block: &Block,
    officer: &Session,
    (contract_id, admission_id): (&str, &str),
    discharge_day: NaiveDate,
    (cnam_total, bill_total): (&str, &str),
) {
    let api = || billing(&block.app);
    let day = discharge_day.format("%Y-%m-%d").to_string();
    let remittance =
        |reference: &str, amount: &str, lines: Vec<(&str, &str)>| pb::RecordRemittanceRequest {
            request_id: request_id(),
            contract_id: contract_id.to_owned(),
            reference: reference.to_owned(),
            received_date: day.clone(),
            amount: amount.to_owned(),
            lines: (lines.into_iter())
                .map(|(admission_id, amount)| pb::RemittanceLine {
                    admission_id: admission_id.to_owned(),
                    amount: amount.to_owned(),
                })
                .collect(),
        };
    let worklist = |status: pb::ClaimStatus| {
        let request = pb::ListDrgCasesRequest {
            facility_id: block.facility_id.clone(),
            from_date: (discharge_day - Duration::days(6))
                .format("%Y-%m-%d")
                .to_string(),
            to_date: day.clone(),
            claim_status: status.into(),
        };
        async move {
            let listed = api()
                .list_drg_cases(signed_in(officer, request))
                .await
                .expect("worklist")
                .into_inner();
            (listed.drg_cases.into_iter())
                .map(|case| case.admission_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(worklist(pb::ClaimStatus::Accepted).await, [admission_id]);
    assert!(worklist(pb::ClaimStatus::Paid).await.is_empty());
    let unknown = uuid::Uuid::now_v7().to_string();
    let wrong = api()
        .record_remittance(signed_in(
            officer,
            remittance("OP-1", "100", vec![(&unknown, "10")]),
        ))
        .await
        .expect_err("no such case");
    assert_eq!(violated_fields(&wrong), ["lines[0].admission_id"]);
    let wrong = api()
        .record_remittance(signed_in(
            officer,
            remittance("OP-1", "100", vec![(admission_id, "15000")]),
        ))
        .await
        .expect_err("more than the amount");
    assert_eq!(violated_fields(&wrong), ["lines"]);
    let paid = api()
        .record_remittance(signed_in(
            officer,
            remittance("OP-1", "20000", vec![(admission_id, "15000")]),
        ))
        .await
        .expect("recorded")
        .into_inner()
        .remittance
        .expect("remittance");
    assert_eq!(paid.unallocated, "5000.00");
    let twice = api()
        .record_remittance(signed_in(officer, remittance("OP-1", "20000", vec![])))
        .await
        .expect_err("recorded once");
    assert_eq!(twice.code(), Code::FailedPrecondition, "{twice}");
    let case = drg_case_when(&block.app, officer, admission_id, |_| true).await;
    assert_eq!(case.claim_status(), pb::ClaimStatus::Paid);
    assert_eq!(worklist(pb::ClaimStatus::Paid).await, [admission_id]);
    assert_eq!(worklist(pb::ClaimStatus::Unspecified).await, [admission_id]);
    let again = api()
        .record_remittance(signed_in(
            officer,
            remittance("OP-2", "15000", vec![(admission_id, "15000")]),
        ))
        .await
        .expect_err("paid already");
    assert_eq!(violated_fields(&again), ["lines[0].admission_id"]);

    let reconcile = |period: pb::ReconciliationPeriod| {
        let request = pb::GetInsurerReconciliationRequest {
            contract_id: contract_id.to_owned(),
            facility_id: block.facility_id.clone(),
            from_date: (discharge_day - Duration::days(6))
                .format("%Y-%m-%d")
                .to_string(),
            to_date: day.clone(),
            period: period.into(),
        };
        async move {
            api()
                .get_insurer_reconciliation(signed_in(officer, request))
                .await
                .expect("reconciliation")
                .into_inner()
        }
    };
    let daily = reconcile(pb::ReconciliationPeriod::Day).await;
    let last = daily.rows.last().expect("the day of discharge");
    assert_eq!(last.period, day);
    assert_eq!(
        (
            last.claims,
            last.claimed.as_str(),
            last.claims_paid,
            last.paid_claims_claimed.as_str(),
            last.paid_claims_paid.as_str(),
            last.received.as_str(),
            last.received_on_account.as_str()
        ),
        (
            1, "15136.00", 1, "15136.00", "15000.00", "20000.00", "5000.00"
        )
    );
    let total = daily.total.clone().expect("total");
    assert_eq!(total.charged, cnam_total);
    assert_eq!(total.charges, 6);
    assert_eq!(daily.claims_outstanding, "0.00");
    let monthly = reconcile(pb::ReconciliationPeriod::Month).await;
    assert!(
        monthly
            .rows
            .iter()
            .all(|row| row.period.len() == "2026-12".len()),
        "{:?}",
        monthly.rows
    );
    assert_eq!(
        monthly
            .total
            .map(|total| (total.charged, total.claimed, total.received)),
        Some((total.charged, total.claimed, total.received))
    );

    // The journal for accounting, on the tenant's chart: every day balances.
    let chart = api()
        .set_ledger_accounts(signed_in(
            officer,
            pb::SetLedgerAccountsRequest {
                request_id: request_id(),
                accounts: vec![pb::LedgerAccount {
                    role: "revenue".to_owned(),
                    code: "706".to_owned(),
                }],
            },
        ))
        .await
        .expect("chart")
        .into_inner();
    assert_eq!(chart.accounts.len(), 7);
    let journal = api()
        .export_journal(signed_in(
            officer,
            pb::ExportJournalRequest {
                facility_id: block.facility_id.clone(),
                from_date: (discharge_day - Duration::days(6))
                    .format("%Y-%m-%d")
                    .to_string(),
                to_date: day.clone(),
            },
        ))
        .await
        .expect("journal")
        .into_inner();
    assert_eq!(journal.total_debit, journal.total_credit);
    let cents = |text: &str| -> i64 {
        let (whole, part) = text.split_once('.').expect("two decimals");
        whole.parse::<i64>().expect("number") * 100 + part.parse::<i64>().expect("cents")
    };
    let mut by_day: std::collections::BTreeMap<&str, i64> = Default::default();
    let mut revenue = 0;
    for line in &journal.lines {
        *by_day.entry(line.date.as_str()).or_default() += cents(&line.debit) - cents(&line.credit);
        if line.account.starts_with("706.") {
            revenue += cents(&line.credit) - cents(&line.debit);
        }
    }
    assert!(by_day.values().all(|net| *net == 0), "{by_day:?}");
    assert_eq!(revenue, cents(bill_total));
    let lines: Vec<_> = (journal.lines.iter())
        .filter(|line| line.journal == "remittances")
        .map(|line| {
            (
                line.account.as_str(),
                line.debit.as_str(),
                line.credit.as_str(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("2212.CNAM", "0.00", "20000.00"),
            ("242", "20000.00", "0.00")
        ]
    );
    assert!(
        journal
            .csv
            .starts_with("date,account,debit,credit,journal\n")
    );
    assert_eq!(journal.csv.lines().count(), journal.lines.len() + 1);
}

/// A hospital with a patient admitted now (an account to pay into) and a cashier.
struct Desk {
    block: Block,
    cashier: Session,
    admission: admissions_pb::Admission,
    account_id: String,
}

impl Desk {
    async fn open() -> Self {
        let block = Block::open(0).await;
        let facility: uuid::Uuid = block.facility_id.parse().expect("facility id");
        let cashier = block
            .app
            .staff(
                &block.admin,
                "SRG",
                "cashier",
                "cashier",
                Scope::Facility(facility),
            )
            .await;
        let admission = block.admitted("Rusu", 0).await;
        let account = account_when(&block.app, &cashier, &admission.id, |_| true).await;
        Self {
            cashier,
            admission,
            account_id: account.id,
            block,
        }
    }

    fn api(&self) -> BillingServiceClient<Channel> {
        billing(&self.block.app)
    }

    async fn shift(&self, cashier: &Session, float: &str) -> pb::Shift {
        self.api()
            .open_shift(signed_in(
                cashier,
                pb::OpenShiftRequest {
                    request_id: request_id(),
                    desk: "Main entrance 1".to_owned(),
                    opening_float: float.to_owned(),
                },
            ))
            .await
            .expect("shift")
            .into_inner()
            .shift
            .expect("shift")
    }

    fn payment(
        &self,
        shift: &pb::Shift,
        kind: pb::PaymentKind,
        method: pb::PaymentMethod,
        amount: &str,
        confirmation: &str,
    ) -> pb::RecordPaymentRequest {
        pb::RecordPaymentRequest {
            request_id: request_id(),
            shift_id: shift.id.clone(),
            account_id: self.account_id.clone(),
            kind: kind.into(),
            method: method.into(),
            amount: amount.to_owned(),
            confirmation_id: confirmation.to_owned(),
        }
    }

    async fn pay(&self, request: pb::RecordPaymentRequest) -> pb::Payment {
        self.api()
            .record_payment(signed_in(&self.cashier, request))
            .await
            .expect("paid")
            .into_inner()
            .payment
            .expect("payment")
    }

    fn refund(
        &self,
        shift: &pb::Shift,
        payment: &pb::Payment,
        amount: &str,
    ) -> pb::RefundPaymentRequest {
        pb::RefundPaymentRequest {
            request_id: request_id(),
            shift_id: shift.id.clone(),
            payment_id: payment.id.clone(),
            amount: amount.to_owned(),
            method: pb::PaymentMethod::Unspecified.into(),
            reason: "overpaid".to_owned(),
        }
    }

    /// Discharges the desk's patient home from the admission as of `etag`.
    async fn discharge(&self, etag: &str) -> admissions_pb::Admission {
        admissions(&self.block.app)
            .discharge_patient(signed_in(
                &self.block.desk,
                admissions_pb::DischargePatientRequest {
                    request_id: request_id(),
                    admission_id: self.admission.id.clone(),
                    r#type: admissions_pb::DischargeType::Recovered.into(),
                    discharge_time: None,
                    destination: "home".to_owned(),
                    etag: etag.to_owned(),
                },
            ))
            .await
            .expect("discharged")
            .into_inner()
            .admission
            .expect("admission")
    }

    async fn settle(&self, kind: pb::InvoiceKind) -> Result<pb::Invoice, tonic::Status> {
        let answer = self
            .api()
            .settle_account(signed_in(
                &self.cashier,
                pb::SettleAccountRequest {
                    request_id: request_id(),
                    account_id: self.account_id.clone(),
                    kind: kind.into(),
                },
            ))
            .await?;
        Ok(answer.into_inner().invoice.expect("invoice"))
    }

    async fn adjust(&self, officer: &Session, amount: &str) -> pb::Charge {
        self.api()
            .adjust_account(signed_in(
                officer,
                pb::AdjustAccountRequest {
                    request_id: request_id(),
                    account_id: self.account_id.clone(),
                    amount: amount.to_owned(),
                    reason: "agreed with the patient".to_owned(),
                    contract_id: String::new(),
                },
            ))
            .await
            .expect("adjusted")
            .into_inner()
            .charge
            .expect("charge")
    }

    async fn account(&self) -> pb::Account {
        self.api()
            .get_account(signed_in(
                &self.cashier,
                pb::GetAccountRequest {
                    account_id: self.account_id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("account")
            .into_inner()
            .account
            .expect("account")
    }
}

#[tokio::test]
async fn a_confirmation_delivered_32_times_is_applied_once_and_racing_refunds_stop_at_what_was_paid()
 {
    let desk = Desk::open().await;
    let shift = desk.shift(&desk.cashier, "0").await;
    // A mobile-money callback retried 32 times at once, each with a request id of its own.
    let deliveries = (0..32).map(|_| {
        let mut api = desk.api();
        let request = desk.payment(
            &shift,
            pb::PaymentKind::Payment,
            pb::PaymentMethod::Mobile,
            "500",
            "MPESA-8841",
        );
        let cashier = desk.cashier.clone();
        async move { api.record_payment(signed_in(&cashier, request)).await }
    });
    let answers = futures::future::join_all(deliveries).await;
    let answers: Vec<pb::RecordPaymentResponse> = (answers.into_iter())
        .map(|answer| answer.expect("answered").into_inner())
        .collect();
    let applied = answers
        .iter()
        .filter(|answer| !answer.already_applied)
        .count();
    assert_eq!(applied, 1, "one delivery applies the payment");
    let payment = answers[0].payment.clone().expect("payment");
    assert!(
        answers
            .iter()
            .all(|answer| answer.payment.as_ref().map(|p| p.id.as_str())
                == Some(payment.id.as_str())),
        "every delivery answers the one payment"
    );
    let account = desk.account().await;
    assert_eq!(
        (account.paid.as_str(), account.payments.len()),
        ("500.00", 1)
    );
    assert_eq!(
        payment.receipt_number,
        format!("R{}-000001", Utc::now().format("%Y"))
    );

    // Eight cashiers refund 100 each at once: only five fit in the 500 paid.
    let refunds = (0..8).map(|_| {
        let mut api = desk.api();
        let request = desk.refund(&shift, &payment, "100");
        let cashier = desk.cashier.clone();
        async move { api.refund_payment(signed_in(&cashier, request)).await }
    });
    let results = futures::future::join_all(refunds).await;
    let refused: Vec<_> = results
        .iter()
        .filter_map(|result| result.as_ref().err())
        .collect();
    assert_eq!(results.len() - refused.len(), 5);
    for status in &refused {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status}");
        assert!(status.message().contains("more than was paid"), "{status}");
    }
    let account = desk.account().await;
    assert_eq!(
        (
            account.paid.as_str(),
            account.refunds.len(),
            account.payments[0].refunded.as_str()
        ),
        ("0.00", 5, "500.00")
    );
    // Receipt numbers stay gap-free: the payment's and the five refunds'.
    let mut receipts: Vec<_> = account
        .refunds
        .iter()
        .map(|r| r.receipt_number.clone())
        .collect();
    receipts.push(payment.receipt_number.clone());
    receipts.sort();
    let year = Utc::now().format("%Y");
    let expected: Vec<_> = (1..=6).map(|n| format!("R{year}-{n:06}")).collect();
    assert_eq!(receipts, expected);
}

#[tokio::test]
async fn a_cashier_shift_closes_balanced_by_method_and_verify_finds_altered_totals() {
    let desk = Desk::open().await;
    let none = desk
        .api()
        .get_open_shift(signed_in(&desk.cashier, pb::GetOpenShiftRequest {}))
        .await
        .expect("no shift yet")
        .into_inner();
    assert_eq!(none.shift, None);
    let shift = desk.shift(&desk.cashier, "200").await;
    let found = desk
        .api()
        .get_open_shift(signed_in(&desk.cashier, pb::GetOpenShiftRequest {}))
        .await
        .expect("the open shift")
        .into_inner();
    assert_eq!(found.shift.map(|found| found.id), Some(shift.id.clone()));
    let second = desk
        .api()
        .open_shift(signed_in(
            &desk.cashier,
            pb::OpenShiftRequest {
                request_id: request_id(),
                desk: "Main entrance 2".to_owned(),
                opening_float: "0".to_owned(),
            },
        ))
        .await
        .expect_err("one open shift a cashier");
    assert_eq!(second.code(), Code::FailedPrecondition);

    let wrong = desk
        .api()
        .record_payment(signed_in(
            &desk.cashier,
            pb::RecordPaymentRequest {
                request_id: request_id(),
                shift_id: shift.id.clone(),
                account_id: desk.account_id.clone(),
                kind: pb::PaymentKind::Payment.into(),
                method: pb::PaymentMethod::Card.into(),
                amount: "-5.001".to_owned(),
                confirmation_id: String::new(),
            },
        ))
        .await
        .expect_err("a wrong payment");
    assert_eq!(violated_fields(&wrong), ["amount", "confirmation_id"]);

    use pb::{PaymentKind, PaymentMethod};
    let cash = desk
        .pay(desk.payment(&shift, PaymentKind::Payment, PaymentMethod::Cash, "300", ""))
        .await;
    let card = desk
        .pay(desk.payment(
            &shift,
            PaymentKind::Payment,
            PaymentMethod::Card,
            "150.25",
            "POS-1",
        ))
        .await;
    desk.pay(desk.payment(
        &shift,
        PaymentKind::Deposit,
        PaymentMethod::Cash,
        "1000",
        "",
    ))
    .await;
    let mut api = desk.api();
    api.refund_payment(signed_in(&desk.cashier, desk.refund(&shift, &cash, "50")))
        .await
        .expect("cash refund");
    api.refund_payment(signed_in(
        &desk.cashier,
        desk.refund(&shift, &card, "20.25"),
    ))
    .await
    .expect("card refund to the card");
    // Another cashier cannot take money in this shift.
    let facility: uuid::Uuid = desk.block.facility_id.parse().expect("facility");
    let other = desk
        .block
        .app
        .staff(
            &desk.block.admin,
            "SRG",
            "cashier2",
            "cashier",
            Scope::Facility(facility),
        )
        .await;
    let foreign = api
        .record_payment(signed_in(
            &other,
            desk.payment(&shift, PaymentKind::Payment, PaymentMethod::Cash, "1", ""),
        ))
        .await
        .expect_err("someone else's shift");
    assert_eq!(violated_fields(&foreign), ["shift_id"]);

    // 200 float + 300 + 1000 − 50 in the drawer.
    let report = api
        .close_shift(signed_in(
            &desk.cashier,
            pb::CloseShiftRequest {
                request_id: request_id(),
                shift_id: shift.id.clone(),
                counted_cash: "1450".to_owned(),
            },
        ))
        .await
        .expect("closed")
        .into_inner()
        .report
        .expect("report");
    let totals: Vec<_> = (report.totals.iter())
        .map(|t| {
            (
                t.method,
                t.payments.as_str(),
                t.deposits.as_str(),
                t.refunds.as_str(),
                t.net.as_str(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        [
            (
                PaymentMethod::Card as i32,
                "150.25",
                "0.00",
                "20.25",
                "130.00"
            ),
            (
                PaymentMethod::Cash as i32,
                "300.00",
                "1000.00",
                "50.00",
                "1250.00"
            ),
        ]
    );
    assert_eq!(
        (
            report.expected_cash.as_str(),
            report.difference.as_str(),
            report.payment_count,
            report.refund_count
        ),
        ("1450.00", "0.00", 3, 2)
    );
    let late = api
        .record_payment(signed_in(
            &desk.cashier,
            desk.payment(&shift, PaymentKind::Payment, PaymentMethod::Cash, "1", ""),
        ))
        .await
        .expect_err("closed shift");
    assert_eq!(late.code(), Code::FailedPrecondition);
    let account = desk.account().await;
    assert_eq!(account.paid, "1380.00");

    // The ledger of money checks out, until a total is altered behind the application.
    let database = &desk.block.app.db.database;
    let report = hmis_billing::verify(database).await.expect("verify");
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.shifts_checked, 1);
    let mut owner = sqlx::PgConnection::connect_with(&desk.block.app.db.owner_options())
        .await
        .expect("owner");
    sqlx::query("UPDATE billing.accounts SET paid = paid + 0.01 WHERE id = $1::uuid")
        .bind(&desk.account_id)
        .execute(&mut owner)
        .await
        .expect("tamper");
    sqlx::query(
        "UPDATE billing.shift_totals SET refunds = 0 WHERE shift_id = $1::uuid AND method = 'cash'",
    )
    .bind(&shift.id)
    .execute(&mut owner)
    .await
    .expect("tamper");
    let report = hmis_billing::verify(database).await.expect("verify");
    let accounts: Vec<_> = (report.accounts.iter())
        .map(|found| {
            (
                found.account_id.to_string(),
                found.what.as_str(),
                found.kept.as_str(),
            )
        })
        .collect();
    assert_eq!(accounts, [(desk.account_id.clone(), "paid", "1380.01")]);
    let shifts: Vec<_> = (report.shifts.iter())
        .map(|found| (found.shift_id.to_string(), found.method.as_str()))
        .collect();
    assert_eq!(shifts, [(shift.id.clone(), "cash")]);
}

#[tokio::test]
async fn an_account_is_invoiced_during_the_stay_settled_at_discharge_and_late_charges_go_on_a_supplementary_invoice()
 {
    let desk = Desk::open().await;
    let officer = (desk.block.app)
        .staff(
            &desk.block.admin,
            "SRG",
            "officer",
            "billing_officer",
            Scope::Tenant,
        )
        .await;
    let year = Utc::now().format("%Y").to_string();
    let refused = |result: Result<pb::Invoice, tonic::Status>, code: Code, words: &str| {
        let status = result.expect_err("refused");
        assert_eq!(status.code(), code, "{status}");
        assert!(status.message().contains(words), "{status}");
    };
    let kind = desk.settle(pb::InvoiceKind::Supplementary).await;
    assert_eq!(
        violated_fields(&kind.expect_err("asked, not issued")),
        ["kind"]
    );
    refused(
        desk.settle(pb::InvoiceKind::Final).await,
        Code::FailedPrecondition,
        "not discharged",
    );
    refused(
        desk.settle(pb::InvoiceKind::Interim).await,
        Code::FailedPrecondition,
        "on an invoice already",
    );

    // An interim invoice of what was charged so far.
    let first = desk.adjust(&officer, "120.50").await;
    let second = desk.adjust(&officer, "300").await;
    let interim = desk
        .settle(pb::InvoiceKind::Interim)
        .await
        .expect("interim");
    assert_eq!(interim.number, format!("F{year}-000001"));
    assert_eq!(interim.kind(), pb::InvoiceKind::Interim);
    assert_eq!(interim.charge_ids, [first.id.clone(), second.id.clone()]);
    assert_eq!(
        (
            interim.total.as_str(),
            interim.patient_total.as_str(),
            interim.paid.as_str(),
            interim.patient_due.as_str()
        ),
        ("420.50", "420.50", "0.00", "420.50")
    );

    // The patient pays part; a charge lands; the patient is discharged (a bed-day without a
    // tariff: this hospital has no price list).
    let shift = desk.shift(&desk.cashier, "0").await;
    desk.pay(desk.payment(
        &shift,
        pb::PaymentKind::Payment,
        pb::PaymentMethod::Cash,
        "100",
        "",
    ))
    .await;
    let third = desk.adjust(&officer, "50").await;
    desk.discharge(&desk.admission.etag).await;
    let discharged = account_when(
        &desk.block.app,
        &desk.cashier,
        &desk.admission.id,
        |account| account.discharge_time.is_some(),
    )
    .await;
    let bed_days: Vec<String> = (discharged.charges.iter())
        .filter(|charge| charge.source() == pb::ChargeSource::Accommodation)
        .map(|charge| charge.id.clone())
        .collect();
    assert_eq!(bed_days.len(), 1, "{:?}", discharged.charges);

    // The final invoice bills what the interim one did not, and settles the account.
    let last = desk.settle(pb::InvoiceKind::Final).await.expect("final");
    assert_eq!(last.number, format!("F{year}-000002"));
    assert_eq!(last.kind(), pb::InvoiceKind::Final);
    let mut billed = vec![third.id.clone()];
    billed.extend(bed_days.iter().cloned());
    let mut charge_ids = last.charge_ids.clone();
    charge_ids.sort();
    billed.sort();
    assert_eq!(charge_ids, billed);
    assert_eq!(
        (
            last.total.as_str(),
            last.paid.as_str(),
            last.patient_due.as_str()
        ),
        ("50.00", "100.00", "370.50")
    );
    assert_eq!(
        last.warnings,
        ["1 charge has no tariff and is charged at 0"]
    );
    let settled = desk.account().await;
    assert_eq!(settled.status(), pb::AccountStatus::Settled);
    assert!(
        settled
            .charges
            .iter()
            .all(|charge| !charge.invoice_id.is_empty())
    );
    assert_eq!(
        (settled.invoices.iter())
            .map(|invoice| invoice.number.clone())
            .collect::<Vec<_>>(),
        [interim.number.clone(), last.number.clone()]
    );
    assert!(
        settled
            .warnings
            .iter()
            .all(|warning| !warning.contains("after the final"))
    );
    refused(
        desk.settle(pb::InvoiceKind::Interim).await,
        Code::FailedPrecondition,
        "settled",
    );
    refused(
        desk.settle(pb::InvoiceKind::Final).await,
        Code::FailedPrecondition,
        "on an invoice already",
    );

    // A credit after the final invoice: the bill warns, a supplementary invoice bills it.
    let late = desk.adjust(&officer, "-20").await;
    let warned = desk.account().await;
    assert!(
        warned.warnings.contains(
            &"1 charge landed after the final invoice: a supplementary invoice bills it".to_owned()
        ),
        "{:?}",
        warned.warnings
    );
    let request = pb::SettleAccountRequest {
        request_id: request_id(),
        account_id: desk.account_id.clone(),
        kind: pb::InvoiceKind::Final.into(),
    };
    let supplementary = desk
        .api()
        .settle_account(signed_in(&desk.cashier, request.clone()))
        .await
        .expect("supplementary")
        .into_inner()
        .invoice
        .expect("invoice");
    assert_eq!(supplementary.kind(), pb::InvoiceKind::Supplementary);
    assert_eq!(supplementary.number, format!("F{year}-000003"));
    assert_eq!(supplementary.charge_ids, std::slice::from_ref(&late.id));
    assert_eq!(
        (
            supplementary.total.as_str(),
            supplementary.patient_due.as_str()
        ),
        ("-20.00", "350.50")
    );
    // The cash desk's retry is answered with the same invoice; no number is taken.
    let again = desk
        .api()
        .settle_account(signed_in(&desk.cashier, request))
        .await
        .expect("retried")
        .into_inner()
        .invoice
        .expect("invoice");
    assert_eq!(again.id, supplementary.id);
    assert_eq!(desk.account().await.invoices.len(), 3);
    // A registrar reads bills but does not issue them.
    let registrar = desk
        .api()
        .settle_account(signed_in(
            &desk.block.desk,
            pb::SettleAccountRequest {
                request_id: request_id(),
                account_id: desk.account_id.clone(),
                kind: pb::InvoiceKind::Interim.into(),
            },
        ))
        .await
        .expect_err("not a cashier");
    assert_eq!(registrar.code(), Code::PermissionDenied);

    // Every invoice adds up, until one is altered behind the application.
    let database = &desk.block.app.db.database;
    let report = hmis_billing::verify(database).await.expect("verify");
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.invoices_checked, 3);
    let mut owner = sqlx::PgConnection::connect_with(&desk.block.app.db.owner_options())
        .await
        .expect("owner");
    sqlx::query(
        "UPDATE billing.invoices SET total = total + 1, patient_total = patient_total + 1 \
         WHERE id = $1::uuid",
    )
    .bind(&interim.id)
    .execute(&mut owner)
    .await
    .expect("tamper");
    let report = hmis_billing::verify(database).await.expect("verify");
    let found: Vec<_> = (report.invoices.iter())
        .map(|found| {
            (
                found.number.as_str(),
                found.what.as_str(),
                found.kept.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (interim.number.as_str(), "patient_total", "421.50"),
            (interim.number.as_str(), "total", "421.50")
        ]
    );
}

#[tokio::test]
async fn a_package_is_charged_once_reverses_what_it_includes_and_prices_later_included_charges_at_zero()
 {
    let desk = Desk::open().await;
    let app = &desk.block.app;
    let facility: uuid::Uuid = desk.block.facility_id.parse().expect("facility id");
    let officer = app
        .staff(
            &desk.block.admin,
            "SRG",
            "officer",
            "billing_officer",
            Scope::Tenant,
        )
        .await;
    let records = app
        .staff(
            &desk.block.admin,
            "SRG",
            "records",
            "records",
            Scope::Facility(facility),
        )
        .await;
    let api = || billing(app);
    let price_list = api()
        .create_price_list(signed_in(
            &officer,
            pb::CreatePriceListRequest {
                request_id: request_id(),
                name: "Tariffs".to_owned(),
                currency: "MDL".to_owned(),
                valid_from: "2026-01-01".to_owned(),
                valid_until: String::new(),
            },
        ))
        .await
        .expect("price list")
        .into_inner()
        .price_list
        .expect("price list");
    let package = |includes: &[&str]| pb::Tariff {
        kind: pb::TariffKind::Package.into(),
        code: "APPENDIX".to_owned(),
        name: "Appendicectomy, all included".to_owned(),
        price: "5000".to_owned(),
        unit: pb::TariffUnit::Each.into(),
        service_group: "surgery".to_owned(),
        includes: includes.iter().map(|item| (*item).to_owned()).collect(),
        ..Default::default()
    };
    let bed_day = pb::Tariff {
        kind: pb::TariffKind::Accommodation.into(),
        code: "general".to_owned(),
        name: "Bed-day, general ward".to_owned(),
        price: "450".to_owned(),
        unit: pb::TariffUnit::Day.into(),
        service_group: "accommodation".to_owned(),
        ..Default::default()
    };
    let test = |code: &str, name: &str, price: &str| pb::Tariff {
        kind: pb::TariffKind::Service.into(),
        code_system: "loinc".to_owned(),
        code: code.to_owned(),
        name: name.to_owned(),
        price: price.to_owned(),
        unit: pb::TariffUnit::Each.into(),
        service_group: "laboratory".to_owned(),
        ..Default::default()
    };
    let set = |tariffs: Vec<pb::Tariff>| pb::SetTariffsRequest {
        request_id: request_id(),
        price_list_id: price_list.id.clone(),
        tariffs,
    };
    let mut including = bed_day.clone();
    including.includes = vec!["supply:AMOX500".to_owned()];
    let wrong = api()
        .set_tariffs(signed_in(
            &officer,
            set(vec![
                package(&[]),
                including,
                package(&["accommodation:general", "bed:general"]),
            ]),
        ))
        .await
        .expect_err("wrong packages");
    assert_eq!(
        violated_fields(&wrong),
        [
            "tariffs[0].includes",
            "tariffs[1].includes",
            "tariffs[2].includes[1]"
        ]
    );
    api()
        .set_tariffs(signed_in(
            &officer,
            set(vec![
                bed_day,
                test("718-7", "Haemoglobin", "85"),
                test("1988-5", "C-reactive protein", "60"),
                package(&[
                    "accommodation:general",
                    "service:achi:30571-00",
                    "service:loinc:718-7",
                ]),
            ]),
        ))
        .await
        .expect("tariffs");

    // The physician orders two laboratory tests: each is charged as the order lands.
    let doctor = app
        .staff(
            &desk.block.admin,
            "SRG",
            "doctor",
            "physician",
            Scope::Facility(facility),
        )
        .await;
    let mut encounters =
        hmis_proto::openhmis::encounters::v1::encounter_service_client::EncounterServiceClient::new(
            app.channel.clone(),
        );
    let encounter = encounters
        .open_encounter(signed_in(
            &doctor,
            encounters_pb::OpenEncounterRequest {
                request_id: request_id(),
                admission_id: desk.admission.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("encounter")
        .into_inner()
        .encounter
        .expect("encounter");
    encounters
        .create_referral(signed_in(
            &doctor,
            encounters_pb::CreateReferralRequest {
                request_id: request_id(),
                referral: Some(encounters_pb::Referral {
                    encounter_id: encounter.id.clone(),
                    kind: encounters_pb::ReferralKind::Laboratory.into(),
                    investigation_codes: vec!["718-7".to_owned(), "1988-5".to_owned()],
                    reason: "follow the inflammation".to_owned(),
                    urgency: encounters_pb::Urgency::Routine.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("referral");
    let ordered = account_when(app, &desk.cashier, &desk.admission.id, |account| {
        account.charges.len() == 2
    })
    .await;
    let tests: Vec<_> = (ordered.charges.iter())
        .map(|charge| {
            (
                charge.source(),
                charge.code.as_str(),
                charge.amount.as_str(),
                !charge.physician_id.is_empty(),
            )
        })
        .collect();
    assert_eq!(
        tests,
        [
            (pb::ChargeSource::Investigation, "718-7", "85.00", true),
            (pb::ChargeSource::Investigation, "1988-5", "60.00", true),
        ]
    );

    // Discharged: one bed-day at 450; then the package is applied.
    let discharged = desk.discharge(&desk.admission.etag).await;
    let charged = account_when(app, &desk.cashier, &desk.admission.id, |account| {
        account.charges.len() == 3
    })
    .await;
    assert_eq!(charged.total, "595.00");
    let apply = |code: &str| pb::ApplyPackageRequest {
        request_id: request_id(),
        account_id: desk.account_id.clone(),
        code: code.to_owned(),
    };
    let unknown = api()
        .apply_package(signed_in(&officer, apply("CATARACT")))
        .await
        .expect_err("no such package");
    assert_eq!(violated_fields(&unknown), ["code"]);
    let applied = api()
        .apply_package(signed_in(&officer, apply("APPENDIX")))
        .await
        .expect("applied")
        .into_inner();
    let charge = applied.charge.expect("the package's charge");
    assert_eq!(
        (
            charge.source(),
            charge.amount.as_str(),
            charge.code.as_str()
        ),
        (pb::ChargeSource::Package, "5000.00", "APPENDIX")
    );
    let reversed: Vec<_> = (applied.reversals.iter())
        .map(|reversal| (reversal.amount.as_str(), reversal.reason.as_str()))
        .collect();
    assert_eq!(
        reversed,
        [
            ("-450.00", "included in package APPENDIX"),
            ("-85.00", "included in package APPENDIX")
        ]
    );
    let again = api()
        .apply_package(signed_in(&officer, apply("APPENDIX")))
        .await
        .expect_err("one package an account");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again}");
    let account = desk.account().await;
    assert_eq!(
        (account.total.as_str(), account.package_code.as_str()),
        ("5060.00", "APPENDIX")
    );

    // The discharge undone and done again: the bed-day, in the package, is charged at 0.
    let undone = admissions(app)
        .undo_discharge(signed_in(
            &records,
            admissions_pb::UndoDischargeRequest {
                request_id: request_id(),
                admission_id: desk.admission.id.clone(),
                reason: "discharged in error".to_owned(),
                etag: discharged.etag.clone(),
            },
        ))
        .await
        .expect("undone")
        .into_inner()
        .admission
        .expect("admission");
    account_when(app, &desk.cashier, &desk.admission.id, |account| {
        account.discharge_time.is_none()
    })
    .await;
    desk.discharge(&undone.etag).await;
    let last = account_when(app, &desk.cashier, &desk.admission.id, |account| {
        account.discharge_time.is_some()
    })
    .await;
    let lines: Vec<_> = (last.charges.iter())
        .map(|charge| (charge.amount.as_str(), charge.description.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("450.00", "Bed-day, general ward (days)"),
            ("-450.00", "Bed-day, general ward (days)"),
            ("0.00", "Bed-day, general ward (days) (package APPENDIX)"),
            ("85.00", "Haemoglobin"),
            ("60.00", "C-reactive protein"),
            ("-85.00", "Haemoglobin"),
            ("5000.00", "Appendicectomy, all included"),
        ]
    );
    assert_eq!(last.total, "5060.00");
}
