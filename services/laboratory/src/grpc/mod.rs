//! The tonic adapter of the laboratory: parse the request (every wrong field named,
//! `parse.rs`), call the use case (`crate::app`), answer. Authorization against the order's
//! ward happens in the use case, where the order is read; catalogue calls are authorized here.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::laboratory::v1 as pb;
use pb::laboratory_service_server::LaboratoryService;
use tonic::{Request, Response, Status};

use crate::app::{Laboratory, MANAGE, READ};

#[derive(Debug, Clone)]
pub struct LaboratoryApi {
    pub(crate) laboratory: Arc<Laboratory>,
}

#[tonic::async_trait]
impl LaboratoryService for LaboratoryApi {
    #[tracing::instrument(skip_all)]
    async fn set_section(
        &self,
        request: Request<pb::SetSectionRequest>,
    ) -> Result<Response<pb::SetSectionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let section = parse::section(&message)?;
        Ok(Response::new(
            self.laboratory.set_section(&context, section).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_sections(
        &self,
        request: Request<pb::ListSectionsRequest>,
    ) -> Result<Response<pb::ListSectionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        Ok(Response::new(
            self.laboratory.list_sections(&context).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_test(
        &self,
        request: Request<pb::SetTestRequest>,
    ) -> Result<Response<pb::SetTestResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let test = parse::test(&message)?;
        Ok(Response::new(
            self.laboratory.set_test(&context, test).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_tests(
        &self,
        request: Request<pb::ListTestsRequest>,
    ) -> Result<Response<pb::ListTestsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let section = parse::section_filter(&message.section_code)?;
        Ok(Response::new(
            self.laboratory.list_tests(&context, section).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn register_analyser(
        &self,
        request: Request<pb::RegisterAnalyserRequest>,
    ) -> Result<Response<pb::RegisterAnalyserResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let analyser = parse::analyser(&message)?;
        Ok(Response::new(
            self.laboratory
                .register_analyser(&context, &message, analyser)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_analysers(
        &self,
        request: Request<pb::ListAnalysersRequest>,
    ) -> Result<Response<pb::ListAnalysersResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        Ok(Response::new(
            self.laboratory.list_analysers(&context).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_hl7_messages(
        &self,
        request: Request<pb::ListHl7MessagesRequest>,
    ) -> Result<Response<pb::ListHl7MessagesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let limit = parse::messages(&message)?;
        Ok(Response::new(
            self.laboratory.list_messages(&context, limit).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_worklist(
        &self,
        request: Request<pb::ListWorklistRequest>,
    ) -> Result<Response<pb::ListWorklistResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let query = parse::worklist(&message)?;
        Ok(Response::new(
            self.laboratory.worklist(&context, query).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::GetOrderResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let order_id = parse::id("order_id", &message.order_id)?;
        Ok(Response::new(
            self.laboratory.get_order(&context, order_id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_patient_orders(
        &self,
        request: Request<pb::ListPatientOrdersRequest>,
    ) -> Result<Response<pb::ListPatientOrdersResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let patient_id = parse::id("patient_id", &message.patient_id)?;
        Ok(Response::new(
            self.laboratory.patient_orders(&context, patient_id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn collect_specimens(
        &self,
        request: Request<pb::CollectSpecimensRequest>,
    ) -> Result<Response<pb::CollectSpecimensResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::collect(&message)?;
        Ok(Response::new(
            self.laboratory.collect(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_specimen_label(
        &self,
        request: Request<pb::GetSpecimenLabelRequest>,
    ) -> Result<Response<pb::GetSpecimenLabelResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let accession = parse::label(&message)?;
        Ok(Response::new(
            self.laboratory.label(&context, accession).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn receive_specimen(
        &self,
        request: Request<pb::ReceiveSpecimenRequest>,
    ) -> Result<Response<pb::ReceiveSpecimenResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::receive(&message)?;
        Ok(Response::new(
            self.laboratory.receive(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn reject_specimen(
        &self,
        request: Request<pb::RejectSpecimenRequest>,
    ) -> Result<Response<pb::RejectSpecimenResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let rejection = parse::reject(&message)?;
        Ok(Response::new(
            self.laboratory
                .reject(&context, &message, rejection)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_results(
        &self,
        request: Request<pb::RecordResultsRequest>,
    ) -> Result<Response<pb::RecordResultsResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::record_results(&message)?;
        Ok(Response::new(
            self.laboratory
                .record_results(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn validate_results(
        &self,
        request: Request<pb::ValidateResultsRequest>,
    ) -> Result<Response<pb::ValidateResultsResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let validation = parse::validate(&message)?;
        Ok(Response::new(
            self.laboratory
                .validate(&context, &message, validation)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn correct_result(
        &self,
        request: Request<pb::CorrectResultRequest>,
    ) -> Result<Response<pb::CorrectResultResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let correction = parse::correct(&message)?;
        Ok(Response::new(
            self.laboratory
                .correct(&context, &message, correction)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_order(
        &self,
        request: Request<pb::CancelOrderRequest>,
    ) -> Result<Response<pb::CancelOrderResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::cancel(&message)?;
        Ok(Response::new(
            self.laboratory.cancel(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_cumulative_results(
        &self,
        request: Request<pb::GetCumulativeResultsRequest>,
    ) -> Result<Response<pb::GetCumulativeResultsResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let query = parse::cumulative(&message)?;
        Ok(Response::new(
            self.laboratory.cumulative(&context, query).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_critical_alerts(
        &self,
        request: Request<pb::ListCriticalAlertsRequest>,
    ) -> Result<Response<pb::ListCriticalAlertsResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let query = parse::alerts(&message)?;
        Ok(Response::new(
            self.laboratory.alerts(&context, query).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn acknowledge_critical_alert(
        &self,
        request: Request<pb::AcknowledgeCriticalAlertRequest>,
    ) -> Result<Response<pb::AcknowledgeCriticalAlertResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::acknowledge(&message)?;
        Ok(Response::new(
            self.laboratory
                .acknowledge(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_turnaround(
        &self,
        request: Request<pb::GetTurnaroundRequest>,
    ) -> Result<Response<pb::GetTurnaroundResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let query = parse::turnaround(&message)?;
        Ok(Response::new(
            self.laboratory.turnaround(&context, query).await?,
        ))
    }
}
