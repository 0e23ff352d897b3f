//! The tonic adapter of the booking office: authorize by permission, parse the request
//! (every wrong field named, `parse.rs`), call the use case (`crate::app`), answer.
//! Authorization against the clinic's department happens in the use case.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::scheduling::v1 as pb;
use pb::scheduling_service_server::SchedulingService;
use tonic::{Request, Response, Status};

use crate::app::{BOOK, MANAGE, QUEUE, READ, Scheduling};
use parse::AppointmentList;

#[derive(Debug, Clone)]
pub struct SchedulingApi {
    pub(crate) scheduling: Arc<Scheduling>,
}

#[tonic::async_trait]
impl SchedulingService for SchedulingApi {
    #[tracing::instrument(skip_all)]
    async fn create_clinic(
        &self,
        request: Request<pb::CreateClinicRequest>,
    ) -> Result<Response<pb::CreateClinicResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::create_clinic(&message)?;
            self.scheduling
                .create_clinic(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_clinics(
        &self,
        request: Request<pb::ListClinicsRequest>,
    ) -> Result<Response<pb::ListClinicsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let facility_id = parse::id("facility_id", &message.facility_id)?;
            self.scheduling.list_clinics(&context, facility_id).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn add_weekly_schedule(
        &self,
        request: Request<pb::AddWeeklyScheduleRequest>,
    ) -> Result<Response<pb::AddWeeklyScheduleResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::add_schedule(&message)?;
            self.scheduling
                .add_schedule(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_weekly_schedules(
        &self,
        request: Request<pb::ListWeeklySchedulesRequest>,
    ) -> Result<Response<pb::ListWeeklySchedulesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let clinic_id = parse::id("clinic_id", &message.clinic_id)?;
            self.scheduling.list_schedules(&context, clinic_id).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn add_holiday(
        &self,
        request: Request<pb::AddHolidayRequest>,
    ) -> Result<Response<pb::AddHolidayResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::add_holiday(&message)?;
            self.scheduling
                .add_holiday(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn add_leave(
        &self,
        request: Request<pb::AddLeaveRequest>,
    ) -> Result<Response<pb::AddLeaveResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::add_leave(&message)?;
            self.scheduling.add_leave(&context, &message, command).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn open_slots(
        &self,
        request: Request<pb::OpenSlotsRequest>,
    ) -> Result<Response<pb::OpenSlotsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::open_slots(&message)?;
            self.scheduling
                .open_slots(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn find_free_slots(
        &self,
        request: Request<pb::FindFreeSlotsRequest>,
    ) -> Result<Response<pb::FindFreeSlotsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let query = parse::find_free_slots(&message)?;
            self.scheduling.find_free_slots(&context, query).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn book_appointment(
        &self,
        request: Request<pb::BookAppointmentRequest>,
    ) -> Result<Response<pb::BookAppointmentResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(BOOK)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::book_appointment(&message)?;
            self.scheduling
                .book_appointment(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn confirm_appointment(
        &self,
        request: Request<pb::ConfirmAppointmentRequest>,
    ) -> Result<Response<pb::ConfirmAppointmentResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(BOOK)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::confirm(&message)?;
            self.scheduling
                .confirm_appointment(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn reschedule_appointment(
        &self,
        request: Request<pb::RescheduleAppointmentRequest>,
    ) -> Result<Response<pb::RescheduleAppointmentResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(BOOK)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::reschedule(&message)?;
            self.scheduling
                .reschedule_appointment(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_appointment(
        &self,
        request: Request<pb::CancelAppointmentRequest>,
    ) -> Result<Response<pb::CancelAppointmentResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(BOOK)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::cancel(&message)?;
            self.scheduling
                .cancel_appointment(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn mark_no_show(
        &self,
        request: Request<pb::MarkNoShowRequest>,
    ) -> Result<Response<pb::MarkNoShowResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(QUEUE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::no_show(&message)?;
            self.scheduling
                .mark_no_show(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_appointment(
        &self,
        request: Request<pb::GetAppointmentRequest>,
    ) -> Result<Response<pb::GetAppointmentResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let id = parse::id("id", &message.id)?;
            self.scheduling.get_appointment(&context, id).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_appointments(
        &self,
        request: Request<pb::ListAppointmentsRequest>,
    ) -> Result<Response<pb::ListAppointmentsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            match parse::list_appointments(&message)? {
                AppointmentList::Clinic(clinic_id, day) => {
                    self.scheduling
                        .list_clinic_appointments(&context, clinic_id, day)
                        .await
                }
                AppointmentList::Patient(patient_id) => {
                    self.scheduling
                        .list_patient_appointments(&context, patient_id)
                        .await
                }
            }
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_referrals(
        &self,
        request: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let (department_id, status) = parse::list_referrals(&message)?;
            self.scheduling
                .list_referrals(&context, department_id, status)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn check_in(
        &self,
        request: Request<pb::CheckInRequest>,
    ) -> Result<Response<pb::CheckInResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(QUEUE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::check_in(&message)?;
            self.scheduling.check_in(&context, &message, command).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_queue(
        &self,
        request: Request<pb::GetQueueRequest>,
    ) -> Result<Response<pb::GetQueueResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let (clinic_id, day) = parse::get_queue(&message)?;
            self.scheduling.get_queue(&context, clinic_id, day).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn call_ticket(
        &self,
        request: Request<pb::CallTicketRequest>,
    ) -> Result<Response<pb::CallTicketResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(QUEUE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::call_ticket(&message)?;
            self.scheduling
                .call_ticket(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn mark_ticket_left(
        &self,
        request: Request<pb::MarkTicketLeftRequest>,
    ) -> Result<Response<pb::MarkTicketLeftResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(QUEUE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::ticket_command(&message.request_id, &message.ticket_id)?;
            self.scheduling
                .mark_ticket_left(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn start_consultation(
        &self,
        request: Request<pb::StartConsultationRequest>,
    ) -> Result<Response<pb::StartConsultationResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(QUEUE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::ticket_command(&message.request_id, &message.ticket_id)?;
            self.scheduling
                .start_consultation(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn finish_visit(
        &self,
        request: Request<pb::FinishVisitRequest>,
    ) -> Result<Response<pb::FinishVisitResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(QUEUE)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::finish_visit(&message)?;
            self.scheduling
                .finish_visit(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn join_waiting_list(
        &self,
        request: Request<pb::JoinWaitingListRequest>,
    ) -> Result<Response<pb::JoinWaitingListResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(BOOK)?;
        let message = request.into_inner();
        let answer = {
            let command = parse::join_waiting_list(&message)?;
            self.scheduling
                .join_waiting_list(&context, &message, command)
                .await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_waiting_list(
        &self,
        request: Request<pb::ListWaitingListRequest>,
    ) -> Result<Response<pb::ListWaitingListResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let clinic_id = parse::id("clinic_id", &message.clinic_id)?;
            self.scheduling.list_waiting_list(&context, clinic_id).await
        };
        Ok(Response::new(answer?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_clinic_report(
        &self,
        request: Request<pb::GetClinicReportRequest>,
    ) -> Result<Response<pb::GetClinicReportResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let answer = {
            let (facility_id, days) = parse::clinic_report(&message)?;
            self.scheduling
                .clinic_report(&context, facility_id, days)
                .await
        };
        Ok(Response::new(answer?))
    }
}
