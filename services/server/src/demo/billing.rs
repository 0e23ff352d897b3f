//! The demo's billing: the 2026 price list with the starter tariffs (and the cardiology
//! clinic's consultation), intensive care priced by the hour, the national insurer (CNAM) and
//! a supplementary insurer, and every demo patient insured with CNAM (the first three also
//! supplementary).

use hmis_billing::BillingApi;
use hmis_platform::TenantId;
use hmis_proto::openhmis::billing::v1 as pb;
use pb::billing_service_server::BillingService;
use tonic::Status;

use super::organisation::DemoWards;
use super::{missing, request};

pub async fn load_billing(
    billing: &BillingApi,
    tenant_id: TenantId,
    wards: &DemoWards,
    patients: &[String],
) -> Result<(), Status> {
    let price_list = billing
        .create_price_list(request(
            tenant_id,
            pb::CreatePriceListRequest {
                request_id: "demo-price-list-2026".to_owned(),
                name: "Tariffs 2026".to_owned(),
                currency: "MDL".to_owned(),
                valid_from: "2026-01-01".to_owned(),
                valid_until: "2027-12-31".to_owned(),
            },
        ))
        .await?
        .into_inner()
        .price_list
        .ok_or_else(|| missing("price list"))?;
    billing
        .set_tariffs(request(
            tenant_id,
            hmis_billing::starter::tariffs_request(
                "demo-tariffs-2026".to_owned(),
                price_list.id.clone(),
            ),
        ))
        .await?;
    // The cardiology clinic's consultation (scheduling's `CARD-OP`), charged as a visit ends.
    billing
        .set_tariffs(request(
            tenant_id,
            pb::SetTariffsRequest {
                request_id: "demo-tariffs-2026-clinics".to_owned(),
                price_list_id: price_list.id,
                tariffs: vec![pb::Tariff {
                    kind: pb::TariffKind::Service.into(),
                    code_system: "clinic".to_owned(),
                    code: "CARD-OP".to_owned(),
                    name: "Cardiology consultation".to_owned(),
                    price: "300".to_owned(),
                    unit: pb::TariffUnit::Each.into(),
                    service_group: "outpatient".to_owned(),
                    ..Default::default()
                }],
            },
        ))
        .await?;
    let icu = wards
        .get("ICU")
        .ok_or_else(|| missing("intensive care unit"))?;
    billing
        .set_ward_care_level(request(
            tenant_id,
            pb::SetWardCareLevelRequest {
                request_id: "demo-care-level-icu".to_owned(),
                department_id: icu.clone(),
                care_level: "intensive".to_owned(),
            },
        ))
        .await?;
    let contract = async |request_id: &str, contract: pb::InsuranceContract| {
        billing
            .create_insurance_contract(request(
                tenant_id,
                pb::CreateInsuranceContractRequest {
                    request_id: request_id.to_owned(),
                    contract: Some(contract),
                },
            ))
            .await?
            .into_inner()
            .contract
            .ok_or_else(|| missing("contract"))
    };
    let national = contract(
        "demo-contract-cnam",
        pb::InsuranceContract {
            payer_code: "CNAM".to_owned(),
            name: "National health insurance (CNAM)".to_owned(),
            kind: pb::PayerKind::National.into(),
            default_percent: "85".to_owned(),
            coverage: vec![
                pb::GroupCoverage {
                    service_group: "medicines".to_owned(),
                    percent: "50".to_owned(),
                },
                pb::GroupCoverage {
                    service_group: "intensive-care".to_owned(),
                    percent: "100".to_owned(),
                },
            ],
            franchise: "100".to_owned(),
            drg_base_rate: "9800".to_owned(),
            ..Default::default()
        },
    )
    .await?;
    let supplementary = contract(
        "demo-contract-asig",
        pb::InsuranceContract {
            payer_code: "ASIG".to_owned(),
            name: "Supplementary health insurance".to_owned(),
            kind: pb::PayerKind::Supplementary.into(),
            default_percent: "50".to_owned(),
            ceiling: "5000".to_owned(),
            ..Default::default()
        },
    )
    .await?;
    billing
        .import_grouper_tables(request(
            tenant_id,
            hmis_billing::starter::grouper_request("demo-grouper-tables".to_owned()),
        ))
        .await?;
    for (index, patient_id) in patients.iter().enumerate() {
        let mut contracts = vec![(&national, "CNAM")];
        if index < 3 {
            contracts.push((&supplementary, "ASIG"));
        }
        for (contract, payer) in contracts {
            billing
                .add_coverage(request(
                    tenant_id,
                    pb::AddCoverageRequest {
                        request_id: format!("demo-coverage-{payer}-{index}"),
                        coverage: Some(pb::Coverage {
                            patient_id: patient_id.clone(),
                            contract_id: contract.id.clone(),
                            policy_number: format!("{payer}-{:07}", 1_000_000 + index),
                            valid_from: "2026-01-01".to_owned(),
                            ..Default::default()
                        }),
                    },
                ))
                .await?;
        }
    }
    Ok(())
}
