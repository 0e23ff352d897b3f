//! The tonic adapter of the registry: authorize by permission, parse the request (every
//! wrong field named, `parse.rs`), call the use case (`crate::app`), answer. Whether the
//! caller reaches the record (its ward, break-glass, confidentiality) is the use case's.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::patients::v1 as pb;
use pb::patient_service_server::PatientService;
use tonic::{Request, Response, Status};

use crate::app::{MERGE, READ, Registry, WRITE};

#[derive(Debug, Clone)]
pub struct PatientApi {
    pub(crate) registry: Arc<Registry>,
}

#[tonic::async_trait]
impl PatientService for PatientApi {
    #[tracing::instrument(skip_all)]
    async fn register_patient(
        &self,
        request: Request<pb::RegisterPatientRequest>,
    ) -> Result<Response<pb::RegisterPatientResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::registration(&message, self.registry.calls.now())?;
        let registry = &self.registry;
        Ok(Response::new(
            registry
                .register_patient(&context, &message, command)
                .await?,
        ))
    }

    /// The read is authorized in the use case, after the id is known: a refusal names the
    /// patient on record.
    #[tracing::instrument(skip_all)]
    async fn get_patient(
        &self,
        request: Request<pb::GetPatientRequest>,
    ) -> Result<Response<pb::GetPatientResponse>, Status> {
        let context = RequestContext::of(&request);
        context.tenant_id()?;
        let id = parse::id("id", &request.get_ref().id)?;
        Ok(Response::new(
            self.registry.get_patient(&context, id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn search_patients(
        &self,
        request: Request<pb::SearchPatientsRequest>,
    ) -> Result<Response<pb::SearchPatientsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let search = parse::search(request.get_ref(), self.registry.calls.now())?;
        Ok(Response::new(
            self.registry.search_patients(&context, search).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_patient(
        &self,
        request: Request<pb::UpdatePatientRequest>,
    ) -> Result<Response<pb::UpdatePatientResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::update(&message)?;
        let registry = &self.registry;
        Ok(Response::new(
            registry.update_patient(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_patient_versions(
        &self,
        request: Request<pb::ListPatientVersionsRequest>,
    ) -> Result<Response<pb::ListPatientVersionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let page =
            parse::history_page(&message.patient_id, message.page_size, &message.page_token)?;
        Ok(Response::new(
            self.registry.list_patient_versions(&context, page).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_patient_visits(
        &self,
        request: Request<pb::ListPatientVisitsRequest>,
    ) -> Result<Response<pb::ListPatientVisitsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let page =
            parse::history_page(&message.patient_id, message.page_size, &message.page_token)?;
        Ok(Response::new(
            self.registry.list_patient_visits(&context, page).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn merge_patients(
        &self,
        request: Request<pb::MergePatientsRequest>,
    ) -> Result<Response<pb::MergePatientsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MERGE)?;
        let message = request.into_inner();
        let command = parse::merge(&message)?;
        let registry = &self.registry;
        Ok(Response::new(
            registry.merge_patients(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn unmerge_patient(
        &self,
        request: Request<pb::UnmergePatientRequest>,
    ) -> Result<Response<pb::UnmergePatientResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MERGE)?;
        let message = request.into_inner();
        let command = parse::unmerge(&message)?;
        let registry = &self.registry;
        Ok(Response::new(
            registry
                .unmerge_patient(&context, &message, command)
                .await?,
        ))
    }
}
