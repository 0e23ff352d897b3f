//! The tonic adapter of billing: authorize by permission, parse the request (every wrong
//! field named, `parse.rs`), call the use case (`crate::app`), answer.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::billing::v1 as pb;
use pb::billing_service_server::BillingService;
use tonic::{Request, Response, Status};

use crate::app::{ADJUST, Billing, CASH, CLAIMS, COVER, MANAGE, READ, REPORTS};

#[derive(Debug, Clone)]
pub struct BillingApi {
    pub(crate) billing: Arc<Billing>,
}

#[tonic::async_trait]
impl BillingService for BillingApi {
    #[tracing::instrument(skip_all)]
    async fn create_price_list(
        &self,
        request: Request<pb::CreatePriceListRequest>,
    ) -> Result<Response<pb::CreatePriceListResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::create_price_list(&message)?;
        Ok(Response::new(
            self.billing
                .create_price_list(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_price_lists(
        &self,
        request: Request<pb::ListPriceListsRequest>,
    ) -> Result<Response<pb::ListPriceListsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        Ok(Response::new(
            self.billing.list_price_lists(&context).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_tariffs(
        &self,
        request: Request<pb::SetTariffsRequest>,
    ) -> Result<Response<pb::SetTariffsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::set_tariffs(&message)?;
        Ok(Response::new(
            self.billing
                .set_tariffs(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_tariffs(
        &self,
        request: Request<pb::ListTariffsRequest>,
    ) -> Result<Response<pb::ListTariffsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let parsed = parse::id("price_list_id", &message.price_list_id)?;
        Ok(Response::new(
            self.billing.list_tariffs(&context, parsed).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_ward_care_level(
        &self,
        request: Request<pb::SetWardCareLevelRequest>,
    ) -> Result<Response<pb::SetWardCareLevelResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::set_ward_care_level(&message)?;
        Ok(Response::new(
            self.billing
                .set_ward_care_level(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_insurance_contract(
        &self,
        request: Request<pb::CreateInsuranceContractRequest>,
    ) -> Result<Response<pb::CreateInsuranceContractResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::create_contract(&message)?;
        Ok(Response::new(
            self.billing
                .create_contract(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_insurance_contracts(
        &self,
        request: Request<pb::ListInsuranceContractsRequest>,
    ) -> Result<Response<pb::ListInsuranceContractsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        Ok(Response::new(self.billing.list_contracts(&context).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn add_coverage(
        &self,
        request: Request<pb::AddCoverageRequest>,
    ) -> Result<Response<pb::AddCoverageResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(COVER)?;
        let message = request.into_inner();
        let command = parse::add_coverage(&message)?;
        Ok(Response::new(
            self.billing
                .add_coverage(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_patient_standing(
        &self,
        request: Request<pb::GetPatientStandingRequest>,
    ) -> Result<Response<pb::GetPatientStandingResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let parsed = parse::id("patient_id", &message.patient_id)?;
        Ok(Response::new(
            self.billing.patient_standing(&context, parsed).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let parsed = parse::get_account(&message)?;
        Ok(Response::new(
            self.billing.get_account(&context, parsed).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let parsed = parse::id("patient_id", &message.patient_id)?;
        Ok(Response::new(
            self.billing.list_accounts(&context, parsed).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn adjust_account(
        &self,
        request: Request<pb::AdjustAccountRequest>,
    ) -> Result<Response<pb::AdjustAccountResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADJUST)?;
        let message = request.into_inner();
        let command = parse::adjust_account(&message)?;
        Ok(Response::new(
            self.billing
                .adjust_account(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn apply_package(
        &self,
        request: Request<pb::ApplyPackageRequest>,
    ) -> Result<Response<pb::ApplyPackageResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADJUST)?;
        let message = request.into_inner();
        let command = parse::apply_package(&message)?;
        Ok(Response::new(
            self.billing
                .apply_package(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn settle_account(
        &self,
        request: Request<pb::SettleAccountRequest>,
    ) -> Result<Response<pb::SettleAccountResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CASH)?;
        let message = request.into_inner();
        let command = parse::settle_account(&message)?;
        Ok(Response::new(
            self.billing
                .settle_account(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn open_shift(
        &self,
        request: Request<pb::OpenShiftRequest>,
    ) -> Result<Response<pb::OpenShiftResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CASH)?;
        let message = request.into_inner();
        let command = parse::open_shift(&message)?;
        Ok(Response::new(
            self.billing.open_shift(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_open_shift(
        &self,
        request: Request<pb::GetOpenShiftRequest>,
    ) -> Result<Response<pb::GetOpenShiftResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CASH)?;
        Ok(Response::new(
            self.billing.open_shift_of_caller(&context).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_payment(
        &self,
        request: Request<pb::RecordPaymentRequest>,
    ) -> Result<Response<pb::RecordPaymentResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CASH)?;
        let message = request.into_inner();
        let command = parse::record_payment(&message)?;
        Ok(Response::new(
            self.billing
                .record_payment(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn refund_payment(
        &self,
        request: Request<pb::RefundPaymentRequest>,
    ) -> Result<Response<pb::RefundPaymentResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CASH)?;
        let message = request.into_inner();
        let command = parse::refund_payment(&message)?;
        Ok(Response::new(
            self.billing
                .refund_payment(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn close_shift(
        &self,
        request: Request<pb::CloseShiftRequest>,
    ) -> Result<Response<pb::CloseShiftResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CASH)?;
        let message = request.into_inner();
        let command = parse::close_shift(&message)?;
        Ok(Response::new(
            self.billing
                .close_shift(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_shift_report(
        &self,
        request: Request<pb::GetShiftReportRequest>,
    ) -> Result<Response<pb::GetShiftReportResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CASH)?;
        let message = request.into_inner();
        let parsed = parse::id("shift_id", &message.shift_id)?;
        Ok(Response::new(
            self.billing.shift_report(&context, parsed).await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn import_grouper_tables(
        &self,
        request: Request<pb::ImportGrouperTablesRequest>,
    ) -> Result<Response<pb::ImportGrouperTablesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::import_grouper_tables(&message)?;
        Ok(Response::new(
            self.billing
                .import_grouper_tables(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_drg_case(
        &self,
        request: Request<pb::GetDrgCaseRequest>,
    ) -> Result<Response<pb::GetDrgCaseResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let admission_id = parse::id("admission_id", &message.admission_id)?;
        Ok(Response::new(
            self.billing.get_drg_case(&context, admission_id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_drg_cases(
        &self,
        request: Request<pb::ListDrgCasesRequest>,
    ) -> Result<Response<pb::ListDrgCasesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let asked = parse::list_drg_cases(request.get_ref())?;
        Ok(Response::new(
            self.billing.list_drg_cases(&context, asked).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_claim(
        &self,
        request: Request<pb::UpdateClaimRequest>,
    ) -> Result<Response<pb::UpdateClaimResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CLAIMS)?;
        let message = request.into_inner();
        let command = parse::update_claim(&message)?;
        Ok(Response::new(
            self.billing
                .update_claim(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_case_mix(
        &self,
        request: Request<pb::GetCaseMixRequest>,
    ) -> Result<Response<pb::GetCaseMixResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(REPORTS)?;
        let message = request.into_inner();
        let period = parse::case_mix(&message)?;
        Ok(Response::new(
            self.billing.case_mix(&context, period).await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn get_revenue(
        &self,
        request: Request<pb::GetRevenueRequest>,
    ) -> Result<Response<pb::GetRevenueResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(REPORTS)?;
        let message = request.into_inner();
        let query = parse::revenue(&message)?;
        Ok(Response::new(self.billing.revenue(&context, query).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_receivables(
        &self,
        request: Request<pb::GetReceivablesRequest>,
    ) -> Result<Response<pb::GetReceivablesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(REPORTS)?;
        Ok(Response::new(self.billing.receivables(&context).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn record_remittance(
        &self,
        request: Request<pb::RecordRemittanceRequest>,
    ) -> Result<Response<pb::RecordRemittanceResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CLAIMS)?;
        let message = request.into_inner();
        let command = parse::record_remittance(&message)?;
        Ok(Response::new(
            self.billing
                .record_remittance(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_insurer_reconciliation(
        &self,
        request: Request<pb::GetInsurerReconciliationRequest>,
    ) -> Result<Response<pb::GetInsurerReconciliationResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(REPORTS)?;
        let asked = parse::reconciliation(request.get_ref())?;
        Ok(Response::new(
            self.billing.reconciliation(&context, asked).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_ledger_accounts(
        &self,
        request: Request<pb::SetLedgerAccountsRequest>,
    ) -> Result<Response<pb::SetLedgerAccountsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::set_ledger_accounts(&message)?;
        Ok(Response::new(
            self.billing
                .set_ledger_accounts(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn export_journal(
        &self,
        request: Request<pb::ExportJournalRequest>,
    ) -> Result<Response<pb::ExportJournalResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(REPORTS)?;
        let asked = parse::export_journal(request.get_ref())?;
        Ok(Response::new(
            self.billing.export_journal(&context, asked).await?,
        ))
    }
}
