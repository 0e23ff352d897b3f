//! Scheduled electronic reporting: per facility and report, each month's report goes to the
//! institute on a day and hour of the next month (in the facility's time zone) without anyone
//! asking. `SetReportSchedule` / `ListReportSchedules` keep the schedules; the scheduler
//! ([`Office::run_due_schedules`]) finds the due ones across tenants (the worker pool sees
//! only when they are due), claims each in its tenant's transaction (its next run moved past
//! a lease, so two processes never run it at once and a crash only delays it), submits the
//! month as `SubmitReport` would under a key made of the facility, report and month (a run
//! repeated after a crash answers the same submission), then moves on to the next month.
//! A run that fails says why on the schedule and is tried again; the submitter retries the
//! delivery of what was submitted, as for any submission.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::context::RequestId;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::parse_uuid;
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, TenantId, Violations};
use hmis_proto::openhmis::statistics::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::document::{parse_report, report_kind, report_name};
use crate::error::{Error, Result};
use crate::grpc::{Office, READ, SUBMIT, StatisticsApi};
use crate::reports::Period;
use crate::store::{self, ScheduleRow};

const SET_METHOD: &str = "/openhmis.statistics.v1.StatisticsService/SetReportSchedule";
/// Schedules taken per round.
const BATCH: i64 = 50;
/// Ids of scheduled runs' idempotency keys: one per facility, report and month.
const RUN_NAMESPACE: Uuid = Uuid::from_u128(0x6f70_656e_686d_6973_7265_706f_7274_7321);

/// When the report of the month beginning `period_from` goes: on `day` of the next month at
/// `hour`, in `zone` (an hour skipped by a clock change goes at the first instant after it).
pub(crate) fn run_time(
    period_from: NaiveDate,
    (day, hour): (u32, u32),
    zone: chrono_tz::Tz,
) -> DateTime<Utc> {
    let next_month = period_from + Months::new(1);
    let date = next_month
        .with_day(day)
        .unwrap_or(next_month)
        .and_hms_opt(hour, 0, 0)
        .unwrap_or_default();
    (0..3)
        .find_map(|shift| {
            zone.from_local_datetime(&(date + chrono::Duration::hours(shift)))
                .earliest()
        })
        .map(|local| local.with_timezone(&Utc))
        .unwrap_or_else(|| date.and_utc())
}

/// The first month a new schedule submits: the previous month, when its time has not come
/// yet, else the current one.
pub(crate) fn first_period(
    now: DateTime<Utc>,
    schedule: (u32, u32),
    zone: chrono_tz::Tz,
) -> NaiveDate {
    let today = now.with_timezone(&zone).date_naive();
    let this_month = today.with_day(1).unwrap_or(today);
    let previous = this_month - Months::new(1);
    if run_time(previous, schedule, zone) > now {
        previous
    } else {
        this_month
    }
}

fn to_pb(row: &ScheduleRow) -> pb::ReportSchedule {
    pb::ReportSchedule {
        facility_id: row.facility_id.to_string(),
        report: report_kind(&row.report).into(),
        day_of_month: row.day_of_month.into(),
        hour: row.hour.into(),
        enabled: row.enabled,
        next_period_from: row.next_period_from.to_string(),
        next_run_time: timestamp(row.next_run_at),
        last_submission_id: row
            .last_submission_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        last_error: row.last_error.clone().unwrap_or_default(),
        updated_by: row.updated_by.to_string(),
        update_time: timestamp(row.updated_at),
    }
}

impl StatisticsApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn set_schedule(
        &self,
        request: Request<pb::SetReportScheduleRequest>,
    ) -> Result<Response<pb::SetReportScheduleResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(SUBMIT)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let given = message.schedule.clone().unwrap_or_default();
        if message.schedule.is_none() {
            violations.add("schedule", "is required");
        }
        let facility_id = violations.check("schedule.facility_id", parse_uuid(&given.facility_id));
        let report = match message.schedule {
            Some(_) => parse_report(given.report, "schedule.report", &mut violations),
            None => None,
        };
        if message.schedule.is_some() && !(1..=28).contains(&given.day_of_month) {
            violations.add("schedule.day_of_month", "must be 1 to 28");
        }
        if message.schedule.is_some() && !(0..=23).contains(&given.hour) {
            violations.add("schedule.hour", "must be 0 to 23");
        }
        let (Some(key), Some(facility_id), Some(report), true) =
            (key, facility_id, report, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        self.authorize(&context, SUBMIT, facility_id)?;
        let office = &self.office;
        let zone = office.directory.time_zone(&context, facility_id).await?;
        let (day, hour) = (given.day_of_month, given.hour);
        let schedule = (day.unsigned_abs(), hour.unsigned_abs());
        let now = office.clock.now();
        let tenant_id = context.tenant_id()?;
        let response = office
            .keys
            .run(
                &office.database,
                tenant_id,
                &context.request_id,
                SET_METHOD,
                &key,
                &message,
                async |tx| {
                    let kept = store::get_schedule(tx, facility_id, report).await?;
                    let next_period_from = kept
                        .as_ref()
                        .map(|row| row.next_period_from)
                        .unwrap_or_else(|| first_period(now, schedule, zone));
                    let row = ScheduleRow {
                        facility_id,
                        report: report.to_owned(),
                        day_of_month: i16::try_from(day).unwrap_or(1),
                        hour: i16::try_from(hour).unwrap_or(0),
                        time_zone: zone.name().to_owned(),
                        enabled: given.enabled,
                        next_period_from,
                        next_run_at: run_time(next_period_from, schedule, zone),
                        last_submission_id: kept.as_ref().and_then(|row| row.last_submission_id),
                        last_error: None,
                        updated_by: context.user_id(),
                        updated_at: now,
                    };
                    store::put_schedule(tx, &row).await?;
                    let resources = [format!("report-schedule:{facility_id}:{report}")];
                    audit::record(
                        tx,
                        &context,
                        &AuditEntry {
                            resource_ids: &resources,
                            ..AuditEntry::ok(&[])
                        },
                        now,
                    )
                    .await?;
                    Ok::<_, Error>(pb::SetReportScheduleResponse {
                        schedule: Some(to_pb(&row)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn schedules(
        &self,
        request: Request<pb::ListReportSchedulesRequest>,
    ) -> Result<Response<pb::ListReportSchedulesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let facility_id = parse_uuid(&request.get_ref().facility_id).map_err(|error| {
            let mut violations = Violations::default();
            violations.add("facility_id", error.to_string());
            Error::from(violations)
        })?;
        self.authorize(&context, READ, facility_id)?;
        let mut tx = (self.office.database)
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let rows = store::schedules_of(&mut tx, facility_id).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::ListReportSchedulesResponse {
            schedules: rows.iter().map(to_pb).collect(),
        }))
    }
}

impl Office {
    /// One round of the scheduler: submits every month whose time has come. Returns how many
    /// runs it made (failed ones included).
    pub(crate) async fn run_due_schedules(&self) -> Result<usize> {
        let now = self.clock.now();
        let due = store::due_schedules(self.database.worker_pool(), now, BATCH).await?;
        let mut runs = 0;
        for (tenant_id, facility_id, report) in due {
            if self
                .run_schedule(TenantId::new(tenant_id), facility_id, &report, now)
                .await?
            {
                runs += 1;
            }
        }
        Ok(runs)
    }

    async fn run_schedule(
        &self,
        tenant_id: TenantId,
        facility_id: Uuid,
        report: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let lease = self.retry_delay().max(chrono::Duration::minutes(5));
        let mut tx = self
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        let Some(row) =
            store::claim_schedule(&mut tx, (facility_id, report), now, now + lease).await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        tx.commit().await?;
        let zone: chrono_tz::Tz = row.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let schedule = (
            u32::try_from(row.day_of_month).unwrap_or(1),
            u32::try_from(row.hour).unwrap_or(0),
        );
        let outcome = self.submit_month(tenant_id, &row).await;
        let next = match &outcome {
            Ok(_) => {
                let month = row.next_period_from + Months::new(1);
                (month, run_time(month, schedule, zone))
            }
            Err(_) => (row.next_period_from, now + self.retry_delay()),
        };
        let outcome = outcome.map_err(|error| {
            tracing::warn!(%facility_id, report, error = %error, "a scheduled report failed; it will be tried again");
            // What the office reads on the schedule: the reason, without anyone's data.
            error.to_string().chars().take(500).collect::<String>()
        });
        let mut tx = self
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        store::record_schedule_run(&mut tx, (facility_id, report), next, outcome).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Submits the schedule's month, as the user who set the schedule, under the month's key.
    async fn submit_month(&self, tenant_id: TenantId, row: &ScheduleRow) -> Result<Uuid> {
        let from = row.next_period_from;
        let to = from + Months::new(1) - chrono::Duration::days(1);
        let run = Uuid::new_v5(
            &RUN_NAMESPACE,
            format!("{}/{}/{from}", row.facility_id, row.report).as_bytes(),
        );
        let key =
            RequestKey::parse(&run.to_string()).map_err(|_| Error::corrupt("scheduled run key"))?;
        let report = report_name(report_kind(&row.report)).ok_or(Error::corrupt("report"))?;
        let message = pb::SubmitReportRequest {
            request_id: run.to_string(),
            report: report_kind(&row.report).into(),
            facility_id: row.facility_id.to_string(),
            from_date: from.to_string(),
            to_date: to.to_string(),
        };
        let period = Period {
            facility: row.facility_id,
            from,
            to,
        };
        let context = RequestContext::system(tenant_id);
        let response = self
            .submit_report(&context, &key, &message, (report, &period), row.updated_by)
            .await?;
        let id = response
            .submission
            .map(|submission| submission.id)
            .unwrap_or_default();
        Uuid::parse_str(&id).map_err(|_| Error::corrupt("submission id"))
    }

    /// The wait before a failed run is tried again (the submitter's first retry delay).
    fn retry_delay(&self) -> chrono::Duration {
        let delay = self
            .reporting
            .as_ref()
            .map(|reporting| reporting.options.retry_delay)
            .unwrap_or(std::time::Duration::from_secs(30));
        chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::minutes(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_month_goes_on_its_day_and_hour_in_the_facility_zone() {
        let zone: chrono_tz::Tz = "Europe/Chisinau".parse().expect("zone");
        let november = NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        // 5 December 06:00 in Chisinau (UTC+2 in winter).
        assert_eq!(
            run_time(november, (5, 6), zone),
            utc("2026-12-05T04:00:00Z")
        );
        // March's report goes in April, after the clock moved (UTC+3).
        let march = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        assert_eq!(run_time(march, (1, 9), zone), utc("2026-04-01T06:00:00Z"));
        // December's goes in January of the next year.
        let december = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        assert_eq!(
            run_time(december, (28, 23), zone),
            utc("2027-01-28T21:00:00Z")
        );
    }

    #[test]
    fn a_new_schedule_starts_with_the_first_month_whose_time_has_not_come() {
        let zone = chrono_tz::UTC;
        let november = NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        let december = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        // Before 5 December 06:00, November is still to go; from then, December is next.
        assert_eq!(
            first_period(utc("2026-12-05T05:59:59Z"), (5, 6), zone),
            november
        );
        assert_eq!(
            first_period(utc("2026-12-05T06:00:00Z"), (5, 6), zone),
            december
        );
        assert_eq!(
            first_period(utc("2026-12-31T23:00:00Z"), (28, 23), zone),
            december
        );
    }
}
