//! The tonic adapters of encounters (the encounter service, certificates, the formulary):
//! authorize by permission, parse the request (every wrong field named, `parse.rs`), call the
//! use case (`crate::app`), answer. Authorization against the encounter's ward and the
//! patient is the use case's.

mod certificates;
mod formulary;
mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::encounters::v1 as pb;
use pb::encounter_service_server::EncounterService;
use tonic::{Request, Response, Status};

pub use certificates::CertificateApi;
pub use formulary::FormularyApi;

use crate::app::{ADMINISTER, PRESCRIBE, READ, RECORD, VERIFY, WRITE, Ward};

type Answer<T> = Result<Response<T>, Status>;

#[derive(Debug, Clone)]
pub struct EncounterApi {
    pub(crate) ward: Arc<Ward>,
}

#[tonic::async_trait]
impl EncounterService for EncounterApi {
    #[tracing::instrument(skip_all)]
    async fn open_encounter(
        &self,
        request: Request<pb::OpenEncounterRequest>,
    ) -> Answer<pb::OpenEncounterResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::opening(&message)?;
        Ok(Response::new(
            self.ward
                .open_encounter(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_encounter(
        &self,
        request: Request<pb::GetEncounterRequest>,
    ) -> Answer<pb::GetEncounterResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("id", &message.id)?;
        Ok(Response::new(
            self.ward.get_encounter(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_encounters(
        &self,
        request: Request<pb::ListEncountersRequest>,
    ) -> Answer<pb::ListEncountersResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::encounter_page(&message)?;
        Ok(Response::new(
            self.ward.list_encounters(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn close_encounter(
        &self,
        request: Request<pb::CloseEncounterRequest>,
    ) -> Answer<pb::CloseEncounterResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::closing(&message)?;
        Ok(Response::new(
            self.ward
                .close_encounter(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn add_note(&self, request: Request<pb::AddNoteRequest>) -> Answer<pb::AddNoteResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::note(&message, self.ward.calls.now())?;
        Ok(Response::new(
            self.ward.add_note(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_diagnosis(
        &self,
        request: Request<pb::RecordDiagnosisRequest>,
    ) -> Answer<pb::RecordDiagnosisResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::diagnosis(&message)?;
        Ok(Response::new(
            self.ward
                .record_diagnosis(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_procedure(
        &self,
        request: Request<pb::RecordProcedureRequest>,
    ) -> Answer<pb::RecordProcedureResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::procedure(&message, self.ward.calls.now())?;
        Ok(Response::new(
            self.ward
                .record_procedure(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_allergy(
        &self,
        request: Request<pb::RecordAllergyRequest>,
    ) -> Answer<pb::RecordAllergyResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::allergy(&message)?;
        Ok(Response::new(
            self.ward
                .record_allergy(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_allergies(
        &self,
        request: Request<pb::ListAllergiesRequest>,
    ) -> Answer<pb::ListAllergiesResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("patient_id", &message.patient_id)?;
        Ok(Response::new(
            self.ward.list_allergies(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn check_prescription(
        &self,
        request: Request<pb::CheckPrescriptionRequest>,
    ) -> Answer<pb::CheckPrescriptionResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(PRESCRIBE)?;
        let message = request.into_inner();
        let command = parse::check(&message)?;
        Ok(Response::new(
            self.ward.check_prescription(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_prescription(
        &self,
        request: Request<pb::CreatePrescriptionRequest>,
    ) -> Answer<pb::CreatePrescriptionResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(PRESCRIBE)?;
        let message = request.into_inner();
        let command = parse::prescription(&message)?;
        Ok(Response::new(
            self.ward
                .create_prescription(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn discontinue_prescription(
        &self,
        request: Request<pb::DiscontinuePrescriptionRequest>,
    ) -> Answer<pb::DiscontinuePrescriptionResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(PRESCRIBE)?;
        let message = request.into_inner();
        let command = parse::discontinuation(&message)?;
        Ok(Response::new(
            self.ward
                .discontinue_prescription(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_prescriptions(
        &self,
        request: Request<pb::ListPrescriptionsRequest>,
    ) -> Answer<pb::ListPrescriptionsResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::prescription_subject(&message)?;
        Ok(Response::new(
            self.ward
                .list_prescriptions(&context, command, message.active_only)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_prescription(
        &self,
        request: Request<pb::GetPrescriptionRequest>,
    ) -> Answer<pb::GetPrescriptionResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("id", &message.id)?;
        Ok(Response::new(
            self.ward.get_prescription(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn print_prescriptions(
        &self,
        request: Request<pb::PrintPrescriptionsRequest>,
    ) -> Answer<pb::PrintPrescriptionsResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("encounter_id", &message.encounter_id)?;
        Ok(Response::new(
            self.ward.print_prescriptions(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_referral(
        &self,
        request: Request<pb::CreateReferralRequest>,
    ) -> Answer<pb::CreateReferralResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let command = parse::referral(&message)?;
        Ok(Response::new(
            self.ward
                .create_referral(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_ward_medication_order(
        &self,
        request: Request<pb::GetWardMedicationOrderRequest>,
    ) -> Answer<pb::GetWardMedicationOrderResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::ward_round(&message)?;
        Ok(Response::new(
            self.ward.ward_medication_order(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_administration(
        &self,
        request: Request<pb::RecordAdministrationRequest>,
    ) -> Answer<pb::RecordAdministrationResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMINISTER)?;
        let message = request.into_inner();
        let command = parse::administration(&message, self.ward.calls.now())?;
        Ok(Response::new(
            self.ward
                .record_administration(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_administrations(
        &self,
        request: Request<pb::ListAdministrationsRequest>,
    ) -> Answer<pb::ListAdministrationsResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("encounter_id", &message.encounter_id)?;
        Ok(Response::new(
            self.ward.list_administrations(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn verify_prescription(
        &self,
        request: Request<pb::VerifyPrescriptionRequest>,
    ) -> Answer<pb::VerifyPrescriptionResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(VERIFY)?;
        let message = request.into_inner();
        let command = parse::verification(&message)?;
        Ok(Response::new(
            self.ward
                .verify_prescription(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn query_prescription(
        &self,
        request: Request<pb::QueryPrescriptionRequest>,
    ) -> Answer<pb::QueryPrescriptionResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(VERIFY)?;
        let message = request.into_inner();
        let command = parse::exchange(
            &message.request_id,
            ("prescription_id", &message.prescription_id),
            ("question", &message.question),
        )?;
        Ok(Response::new(
            self.ward
                .query_prescription(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn answer_prescription_query(
        &self,
        request: Request<pb::AnswerPrescriptionQueryRequest>,
    ) -> Answer<pb::AnswerPrescriptionQueryResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(PRESCRIBE)?;
        let message = request.into_inner();
        let command = parse::exchange(
            &message.request_id,
            ("query_id", &message.query_id),
            ("answer", &message.answer),
        )?;
        Ok(Response::new(
            self.ward
                .answer_prescription_query(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_prescription_queries(
        &self,
        request: Request<pb::ListPrescriptionQueriesRequest>,
    ) -> Answer<pb::ListPrescriptionQueriesResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let command = parse::query_page(request.get_ref())?;
        Ok(Response::new(
            self.ward
                .list_prescription_queries(&context, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn record_vital_signs(
        &self,
        request: Request<pb::RecordVitalSignsRequest>,
    ) -> Answer<pb::RecordVitalSignsResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(RECORD)?;
        let message = request.into_inner();
        let command = parse::vital_signs(&message, self.ward.calls.now())?;
        let entry = (self.ward)
            .chart(&context, "RecordVitalSigns", &message, command)
            .await?;
        Ok(Response::new(pb::RecordVitalSignsResponse {
            entry: Some(entry),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn add_nursing_entry(
        &self,
        request: Request<pb::AddNursingEntryRequest>,
    ) -> Answer<pb::AddNursingEntryResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(RECORD)?;
        let message = request.into_inner();
        let command = parse::nursing_entry(&message, self.ward.calls.now())?;
        let entry = (self.ward)
            .chart(&context, "AddNursingEntry", &message, command)
            .await?;
        Ok(Response::new(pb::AddNursingEntryResponse {
            entry: Some(entry),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_nursing_record(
        &self,
        request: Request<pb::GetNursingRecordRequest>,
    ) -> Answer<pb::GetNursingRecordResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let command = parse::id("encounter_id", &request.get_ref().encounter_id)?;
        Ok(Response::new(
            self.ward.nursing_record(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_medical_extract(
        &self,
        request: Request<pb::GetMedicalExtractRequest>,
    ) -> Answer<pb::GetMedicalExtractResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("encounter_id", &message.encounter_id)?;
        Ok(Response::new(
            self.ward.medical_extract(&context, command).await?,
        ))
    }
}
