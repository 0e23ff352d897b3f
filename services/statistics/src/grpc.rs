//! The tonic adapter of statistics. Reports are aggregates, not patient data: authorized
//! (`statistics.read` for the facility), not audited. Registers list ids only and are
//! audited as reads of those patients; submissions to the institute are audited writes.

use std::sync::Arc;

use hmis_platform::auth::Target;
use hmis_platform::clock::Clock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::types::{parse_date, parse_uuid};
use hmis_platform::{Database, RequestContext, Violations};
use hmis_proto::openhmis::statistics::v1 as pb;
use pb::statistics_service_server::StatisticsService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::delivery::Reporting;
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::reports::{self, Period};

pub(crate) const READ: &str = "statistics.read";
pub(crate) const SUBMIT: &str = "statistics.submit";

#[derive(Debug)]
pub(crate) struct Office {
    pub(crate) database: Database,
    pub(crate) directory: Directory,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: IdempotencyKeys,
    /// How reports reach the institute; `None` when the deployment has no endpoint or key.
    pub(crate) reporting: Option<Arc<Reporting>>,
}

#[derive(Debug, Clone)]
pub struct StatisticsApi {
    pub(crate) office: Arc<Office>,
}

impl StatisticsApi {
    pub(crate) fn authorize(
        &self,
        context: &RequestContext,
        permission: &str,
        facility: Uuid,
    ) -> Result<()> {
        context
            .authorize(permission, &Target::facility(facility))
            .map_err(Error::from)?;
        Ok(())
    }

    /// The period of a report request, checked, and the caller allowed to read it.
    fn read_period(
        &self,
        context: &RequestContext,
        facility_id: &str,
        from_date: &str,
        to_date: &str,
    ) -> Result<Period> {
        context.authorize_any(READ).map_err(Error::from)?;
        let mut violations = Violations::default();
        let period = Period::parse(facility_id, from_date, to_date, &mut violations);
        let (Some(period), true) = (period, violations.is_empty()) else {
            return Err(violations.into());
        };
        self.authorize(context, READ, period.facility)?;
        Ok(period)
    }
}

/// A census request: the ward and the day, every wrong field named.
fn parse_census(message: &pb::GetDailyCensusRequest) -> Result<(Uuid, chrono::NaiveDate)> {
    let mut violations = Violations::default();
    let department = violations.check("department_id", parse_uuid(&message.department_id));
    let date = violations.check("date", parse_date(&message.date));
    let (Some(department), Some(date), true) = (department, date, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok((department, date))
}

#[tonic::async_trait]
impl StatisticsService for StatisticsApi {
    #[tracing::instrument(skip_all)]
    async fn get_daily_census(
        &self,
        request: Request<pb::GetDailyCensusRequest>,
    ) -> Result<Response<pb::GetDailyCensusResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let (department, date) = parse_census(request.get_ref())?;
        let office = &self.office;
        let facility = office.directory.facility_of(&context, department).await?;
        self.authorize(&context, READ, facility)?;
        let census = office
            .daily_census(&context, facility, department, date)
            .await?;
        Ok(Response::new(pb::GetDailyCensusResponse {
            census: Some(census),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_movement_analysis(
        &self,
        request: Request<pb::GetMovementAnalysisRequest>,
    ) -> Result<Response<pb::GetMovementAnalysisResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.get_ref();
        let grouping = match pb::MovementGrouping::try_from(message.grouping) {
            Ok(pb::MovementGrouping::Unspecified) => pb::MovementGrouping::Ward,
            Ok(grouping) => grouping,
            Err(_) => return Err(Error::invalid("grouping", "is not a known grouping").into()),
        };
        let period = self.read_period(
            &context,
            &message.facility_id,
            &message.from_date,
            &message.to_date,
        )?;
        let lines = self.office.movement(&context, &period, grouping).await?;
        let csv = reports::movement_csv(&lines);
        Ok(Response::new(pb::GetMovementAnalysisResponse {
            lines,
            csv,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_movement_by_diagnosis(
        &self,
        request: Request<pb::GetMovementByDiagnosisRequest>,
    ) -> Result<Response<pb::GetMovementByDiagnosisResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.get_ref();
        let period = self.read_period(
            &context,
            &message.facility_id,
            &message.from_date,
            &message.to_date,
        )?;
        let lines = self.office.diagnoses(&context, &period).await?;
        let csv = reports::diagnoses_csv(&lines);
        Ok(Response::new(pb::GetMovementByDiagnosisResponse {
            lines,
            csv,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_form16(
        &self,
        request: Request<pb::GetForm16Request>,
    ) -> Result<Response<pb::GetForm16Response>, Status> {
        let context = RequestContext::of(&request);
        let message = request.get_ref();
        let period = self.read_period(
            &context,
            &message.facility_id,
            &message.from_date,
            &message.to_date,
        )?;
        let mut form = self.office.form16(&context, &period).await?;
        form.csv = reports::form16_csv(&form.lines);
        Ok(Response::new(form))
    }

    async fn list_register(
        &self,
        request: Request<pb::ListRegisterRequest>,
    ) -> Result<Response<pb::ListRegisterResponse>, Status> {
        self.register(request).await
    }

    async fn submit_report(
        &self,
        request: Request<pb::SubmitReportRequest>,
    ) -> Result<Response<pb::SubmitReportResponse>, Status> {
        self.submit(request).await
    }

    async fn get_submission(
        &self,
        request: Request<pb::GetSubmissionRequest>,
    ) -> Result<Response<pb::GetSubmissionResponse>, Status> {
        self.submission(request).await
    }

    async fn list_submissions(
        &self,
        request: Request<pb::ListSubmissionsRequest>,
    ) -> Result<Response<pb::ListSubmissionsResponse>, Status> {
        self.submissions(request).await
    }

    async fn set_report_schedule(
        &self,
        request: Request<pb::SetReportScheduleRequest>,
    ) -> Result<Response<pb::SetReportScheduleResponse>, Status> {
        self.set_schedule(request).await
    }

    async fn list_report_schedules(
        &self,
        request: Request<pb::ListReportSchedulesRequest>,
    ) -> Result<Response<pb::ListReportSchedulesResponse>, Status> {
        self.schedules(request).await
    }

    #[tracing::instrument(skip_all)]
    async fn get_surgical_activity(
        &self,
        request: Request<pb::GetSurgicalActivityRequest>,
    ) -> Result<Response<pb::GetSurgicalActivityResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.get_ref();
        let grouping = pb::SurgicalGrouping::try_from(message.grouping)
            .map_err(|_| Error::invalid("grouping", "is not a known grouping"))?;
        let period = self.read_period(
            &context,
            &message.facility_id,
            &message.from_date,
            &message.to_date,
        )?;
        Ok(Response::new(
            self.office
                .surgical_activity(&context, &period, grouping)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_theatre_utilisation(
        &self,
        request: Request<pb::GetTheatreUtilisationRequest>,
    ) -> Result<Response<pb::GetTheatreUtilisationResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.get_ref();
        let period = self.read_period(
            &context,
            &message.facility_id,
            &message.from_date,
            &message.to_date,
        )?;
        Ok(Response::new(
            self.office.theatre_utilisation(&context, &period).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_hospital_occupancy(
        &self,
        request: Request<pb::GetHospitalOccupancyRequest>,
    ) -> Result<Response<pb::GetHospitalOccupancyResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ).map_err(Error::from)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let facility = violations.check("facility_id", parse_uuid(&message.facility_id));
        let date = violations.optional_date("date", &message.date);
        let (Some(facility), Some(date), true) = (facility, date, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        self.authorize(&context, READ, facility)?;
        Ok(Response::new(
            self.office
                .hospital_occupancy(&context, facility, date)
                .await?,
        ))
    }
}
