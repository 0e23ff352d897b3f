//! Reference data of billing: price lists and their tariffs, wards' care levels, insurance
//! contracts and patients' policies.

use chrono::NaiveDate;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::money::Money;
use hmis_proto::openhmis::billing::v1 as pb;

use super::*;
use crate::convert::{contract_to_pb, coverage_to_pb, price_list_to_pb, tariff_to_pb};
use crate::store::{self, ContractRow, CoverageRow, PriceListRow, TariffRow};

/// What a CreatePriceList call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewPriceList {
    pub(crate) key: RequestKey,
    pub(crate) name: String,
    pub(crate) currency: String,
    pub(crate) valid_from: NaiveDate,
    pub(crate) valid_until: Option<NaiveDate>,
}

/// What a CreateInsuranceContract call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewContract {
    pub(crate) key: RequestKey,
    pub(crate) row: ContractRow,
}

/// What an AddCoverage call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewCoverage {
    pub(crate) key: RequestKey,
    pub(crate) row: CoverageRow,
}

impl Billing {
    pub(crate) async fn create_price_list(
        &self,
        context: &RequestContext,
        message: &pb::CreatePriceListRequest,
        new: NewPriceList,
    ) -> Result<pb::CreatePriceListResponse> {
        let now = self.calls.now();
        let row = PriceListRow {
            id: Uuid::now_v7(),
            name: new.name,
            currency: new.currency,
            valid_from: new.valid_from,
            valid_until: new.valid_until,
        };
        let method = method("CreatePriceList");
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                store::insert_price_list(tx, &row, now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::CreatePriceListResponse {
                    price_list: Some(price_list_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_price_lists(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListPriceListsResponse> {
        self.calls
            .transaction(context, async |tx| {
                Ok(pb::ListPriceListsResponse {
                    price_lists: (store::price_lists(tx).await?.iter())
                        .map(price_list_to_pb)
                        .collect(),
                })
            })
            .await
    }

    pub(crate) async fn set_tariffs(
        &self,
        context: &RequestContext,
        message: &pb::SetTariffsRequest,
        (key, price_list_id, tariffs): (RequestKey, Uuid, Vec<TariffRow>),
    ) -> Result<pb::SetTariffsResponse> {
        let now = self.calls.now();
        let method = method("SetTariffs");
        self.calls
            .write(context, &method, &key, message, async |tx| {
                match store::get_price_list(tx, price_list_id).await {
                    Err(crate::error::Error::NotFound(_)) => {
                        return Err(crate::error::Error::invalid(
                            "price_list_id",
                            "was not found",
                        ));
                    }
                    found => found?,
                };
                let written = store::upsert_tariffs(tx, price_list_id, &tariffs).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::SetTariffsResponse {
                    written: i32::try_from(written).unwrap_or(i32::MAX),
                })
            })
            .await
    }

    pub(crate) async fn list_tariffs(
        &self,
        context: &RequestContext,
        price_list_id: Uuid,
    ) -> Result<pb::ListTariffsResponse> {
        self.calls
            .transaction(context, async |tx| {
                store::get_price_list(tx, price_list_id).await?;
                Ok(pb::ListTariffsResponse {
                    tariffs: (store::tariffs(tx, price_list_id).await?.iter())
                        .map(tariff_to_pb)
                        .collect(),
                })
            })
            .await
    }

    pub(crate) async fn set_ward_care_level(
        &self,
        context: &RequestContext,
        message: &pb::SetWardCareLevelRequest,
        (key, department_id, level): (RequestKey, Uuid, String),
    ) -> Result<pb::SetWardCareLevelResponse> {
        self.directory
            .check_ward(context, department_id, "department_id")
            .await?;
        let now = self.calls.now();
        let method = method("SetWardCareLevel");
        self.calls
            .write(context, &method, &key, message, async |tx| {
                store::set_care_level(tx, department_id, &level).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::SetWardCareLevelResponse {})
            })
            .await
    }

    pub(crate) async fn create_contract(
        &self,
        context: &RequestContext,
        message: &pb::CreateInsuranceContractRequest,
        new: NewContract,
    ) -> Result<pb::CreateInsuranceContractResponse> {
        let now = self.calls.now();
        let method = method("CreateInsuranceContract");
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                store::insert_contract(tx, &new.row, now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::CreateInsuranceContractResponse {
                    contract: Some(contract_to_pb(&new.row)),
                })
            })
            .await
    }

    pub(crate) async fn list_contracts(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListInsuranceContractsResponse> {
        self.calls
            .transaction(context, async |tx| {
                Ok(pb::ListInsuranceContractsResponse {
                    contracts: (store::contracts(tx).await?.iter())
                        .map(contract_to_pb)
                        .collect(),
                })
            })
            .await
    }

    pub(crate) async fn add_coverage(
        &self,
        context: &RequestContext,
        message: &pb::AddCoverageRequest,
        new: NewCoverage,
    ) -> Result<pb::AddCoverageResponse> {
        let patients = [new.row.patient_id];
        self.directory
            .check_patient(context, new.row.patient_id)
            .await?;
        let now = self.calls.now();
        let method = method("AddCoverage");
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let contract = match store::get_contract(tx, new.row.contract_id).await {
                    Err(crate::error::Error::NotFound(_)) => {
                        return Err(crate::error::Error::invalid(
                            "coverage.contract_id",
                            "was not found",
                        ));
                    }
                    found => found?,
                };
                store::insert_coverage(tx, &new.row, contract.kind).await?;
                record(tx, context, &patients, now).await?;
                Ok(pb::AddCoverageResponse {
                    coverage: Some(coverage_to_pb(&new.row)),
                })
            })
            .await
    }

    pub(crate) async fn patient_standing(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::GetPatientStandingResponse> {
        let today = self.calls.now().date_naive();
        self.calls
            .read(context, async |tx| {
                let coverages = store::coverages_on(tx, patient_id, today).await?;
                let owing = store::owing(tx, patient_id).await?;
                let debt: Money = owing.iter().map(|(_, owed)| *owed).sum();
                let answer = pb::GetPatientStandingResponse {
                    coverages: (coverages.iter())
                        .map(|(coverage, _)| coverage_to_pb(coverage))
                        .collect(),
                    debt: debt.to_string(),
                    owing_account_ids: owing.iter().map(|(id, _)| id.to_string()).collect(),
                };
                Ok((
                    answer,
                    hmis_platform::call::Shown::patients(vec![patient_id]),
                ))
            })
            .await
    }
}
