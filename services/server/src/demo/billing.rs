//! The demo's billing: the 2026 price list with the starter tariffs, intensive care priced by
//! the hour, the national insurer (CNAM) and a supplementary insurer, and every demo patient
//! insured with CNAM (the first three also supplementary).

use hmis_billing::BillingApi;
use hmis_platform::TenantId;
use hmis_proto::openhmis::billing::v1 as pb;
use pb::billing_service_server::BillingService;
use tonic::Status;

use super::organisation::DemoWards;
use super::{missing, request};

fn kind(text: &str) -> pb::TariffKind {
    match text {
        "service" => pb::TariffKind::Service,
        "accommodation" => pb::TariffKind::Accommodation,
        "supply" => pb::TariffKind::Supply,
        _ => pb::TariffKind::Unspecified,
    }
}

fn unit(text: &str) -> pb::TariffUnit {
    match text {
        "each" => pb::TariffUnit::Each,
        "day" => pb::TariffUnit::Day,
        "hour" => pb::TariffUnit::Hour,
        _ => pb::TariffUnit::Unspecified,
    }
}

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
            pb::SetTariffsRequest {
                request_id: "demo-tariffs-2026".to_owned(),
                price_list_id: price_list.id,
                tariffs: (hmis_billing::starter::tariffs().into_iter())
                    .map(|line| pb::Tariff {
                        kind: kind(&line.kind).into(),
                        code_system: line.code_system,
                        code: line.code,
                        name: line.name,
                        price: line.price,
                        unit: unit(&line.unit).into(),
                        margin_percent: line.margin_percent,
                        service_group: line.service_group,
                    })
                    .collect(),
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
    let (version, diagnoses, procedures, severity, drgs) = hmis_billing::starter::grouper_files();
    billing
        .import_grouper_tables(request(
            tenant_id,
            pb::ImportGrouperTablesRequest {
                request_id: "demo-grouper-tables".to_owned(),
                version: version.to_owned(),
                diagnoses_csv: diagnoses.to_owned(),
                procedures_csv: procedures.to_owned(),
                severity_csv: severity.to_owned(),
                drgs_csv: drgs.to_owned(),
            },
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
