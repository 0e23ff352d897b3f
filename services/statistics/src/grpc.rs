//! The tonic adapter of statistics. Reports are aggregates, not patient data: authorized
//! (`statistics.read` for the facility), not audited.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use hmis_platform::auth::Target;
use hmis_platform::types::{parse_date, parse_uuid};
use hmis_platform::wire::timestamp;
use hmis_platform::{Database, RequestContext, Violations};
use hmis_proto::openhmis::statistics::v1 as pb;
use pb::statistics_service_server::StatisticsService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use std::fmt::Write;

use crate::chapters::chapter_of;
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::store::{self, WardMovement};

pub(crate) const READ: &str = "statistics.read";

#[derive(Debug)]
pub(crate) struct Office {
    pub(crate) database: Database,
    pub(crate) directory: Directory,
}

#[derive(Debug, Clone)]
pub struct StatisticsApi {
    pub(crate) office: Arc<Office>,
}

/// The facility's midnights that begin `first` and end `last` (inclusive).
fn local_days(
    zone: chrono_tz::Tz,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)> {
    let midnight = |day: NaiveDate| {
        zone.from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .ok_or(Error::CorruptRow("local midnight"))
    };
    Ok((midnight(first)?, midnight(last + Duration::days(1))?))
}

fn count(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn ratio(numerator: f64, denominator: f64) -> String {
    if denominator > 0.0 {
        format!("{:.2}", numerator / denominator)
    } else {
        String::new()
    }
}

fn movement_line(
    department: Option<Uuid>,
    ward: &WardMovement,
    beds: i32,
    days: i64,
) -> pb::MovementLine {
    let leavers = (ward.discharged + ward.deceased) as f64;
    pb::MovementLine {
        department_id: department.map(|id| id.to_string()).unwrap_or_default(),
        admitted: count(ward.admitted),
        transferred_in: count(ward.transferred_in),
        transferred_out: count(ward.transferred_out),
        discharged: count(ward.discharged),
        deceased: count(ward.deceased),
        bed_days: format!("{:.2}", ward.bed_days),
        beds,
        average_length_of_stay: ratio(ward.bed_days, leavers),
        bed_occupancy_percent: ratio(ward.bed_days * 100.0, f64::from(beds) * days as f64),
        bed_turnover: ratio(leavers, f64::from(beds)),
        mortality_percent: ratio(ward.deceased as f64 * 100.0, leavers),
    }
}

impl StatisticsApi {
    async fn authorize(&self, context: &RequestContext, facility: Uuid) -> Result<()> {
        context
            .authorize(READ, &Target::facility(facility))
            .map_err(Error::Context)?;
        Ok(())
    }
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
        let message = request.get_ref();
        let mut violations = Violations::default();
        let department = violations.check("department_id", parse_uuid(&message.department_id));
        let date = violations.check("date", parse_date(&message.date));
        let (Some(department), Some(date), true) = (department, date, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let office = &self.office;
        let facility = office.directory.facility_of(&context, department).await?;
        self.authorize(&context, facility).await?;
        let zone = office.directory.time_zone(&context, facility).await?;
        let (start, end) = local_days(zone, date, date)?;
        let beds = office.directory.beds_in_use(&context, department).await?;
        let mut tx = office
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let ward = store::ward_movement(&mut tx, facility, Some(department), start, end)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::GetDailyCensusResponse {
            census: Some(pb::Census {
                department_id: department.to_string(),
                date: date.to_string(),
                day_start: timestamp(start),
                day_end: timestamp(end),
                present_at_start: count(ward.present_at_start),
                admitted: count(ward.admitted),
                transferred_in: count(ward.transferred_in),
                transferred_out: count(ward.transferred_out),
                discharged: count(ward.discharged),
                deceased: count(ward.deceased),
                present_at_end: count(ward.present_at_end),
                bed_days: count(ward.present_at_end + ward.same_period_cases),
                beds_available: beds,
            }),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_movement_analysis(
        &self,
        request: Request<pb::GetMovementAnalysisRequest>,
    ) -> Result<Response<pb::GetMovementAnalysisResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let facility = violations.check("facility_id", parse_uuid(&message.facility_id));
        let from = violations.check("from_date", parse_date(&message.from_date));
        let to = violations.check("to_date", parse_date(&message.to_date));
        if let (Some(from), Some(to)) = (from, to)
            && (to < from || (to - from).num_days() > 366)
        {
            violations.add("to_date", "must be from from_date to a year after it");
        }
        let (Some(facility), Some(from), Some(to), true) =
            (facility, from, to, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        self.authorize(&context, facility).await?;
        let office = &self.office;
        let zone = office.directory.time_zone(&context, facility).await?;
        let (start, end) = local_days(zone, from, to)?;
        let days = (to - from).num_days() + 1;
        let mut tx = office
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let wards = store::ward_movement(&mut tx, facility, None, start, end).await?;
        tx.commit().await.map_err(Error::from)?;
        // The wards' bed counts are asked of the register at once, not one after another.
        let beds = futures::future::try_join_all(
            wards
                .iter()
                .map(|ward| office.directory.beds_in_use(&context, ward.department_id)),
        )
        .await?;
        let mut lines = Vec::with_capacity(wards.len() + 1);
        let mut total = WardMovement::default();
        let mut total_beds = 0;
        for (ward, beds) in wards.iter().zip(beds) {
            lines.push(movement_line(Some(ward.department_id), ward, beds, days));
            total.admitted += ward.admitted;
            total.transferred_in += ward.transferred_in;
            total.transferred_out += ward.transferred_out;
            total.discharged += ward.discharged;
            total.deceased += ward.deceased;
            total.bed_days += ward.bed_days;
            total_beds += beds;
        }
        lines.push(movement_line(None, &total, total_beds, days));
        let mut csv = String::from(
            "department_id,admitted,transferred_in,transferred_out,discharged,deceased,\
             bed_days,beds,average_length_of_stay,bed_occupancy_percent,bed_turnover,\
             mortality_percent\n",
        );
        for line in &lines {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                if line.department_id.is_empty() {
                    "total"
                } else {
                    &line.department_id
                },
                line.admitted,
                line.transferred_in,
                line.transferred_out,
                line.discharged,
                line.deceased,
                line.bed_days,
                line.beds,
                line.average_length_of_stay,
                line.bed_occupancy_percent,
                line.bed_turnover,
                line.mortality_percent
            );
        }
        Ok(Response::new(pb::GetMovementAnalysisResponse {
            lines,
            csv,
        }))
    }

    async fn get_form16(
        &self,
        request: Request<pb::GetForm16Request>,
    ) -> Result<Response<pb::GetForm16Response>, Status> {
        self.form16(request).await
    }

    #[tracing::instrument(skip_all)]
    async fn get_movement_by_diagnosis(
        &self,
        request: Request<pb::GetMovementByDiagnosisRequest>,
    ) -> Result<Response<pb::GetMovementByDiagnosisResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let facility = violations.check("facility_id", parse_uuid(&message.facility_id));
        let from = violations.check("from_date", parse_date(&message.from_date));
        let to = violations.check("to_date", parse_date(&message.to_date));
        if let (Some(from), Some(to)) = (from, to)
            && (to < from || (to - from).num_days() > 366)
        {
            violations.add("to_date", "must be from from_date to a year after it");
        }
        let (Some(facility), Some(from), Some(to), true) =
            (facility, from, to, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        self.authorize(&context, facility).await?;
        let office = &self.office;
        let zone = office.directory.time_zone(&context, facility).await?;
        let (start, end) = local_days(zone, from, to)?;
        let mut tx = office
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let codes = store::leavers_by_code(&mut tx, facility, start, end).await?;
        tx.commit().await.map_err(Error::from)?;
        // Chapters in the classification's order; codes outside every chapter last.
        let mut groups: Vec<(&'static str, &'static str, i64, i64, f64)> = Vec::new();
        for (code, discharged, deceased, days) in codes {
            let (numeral, title) = chapter_of(&code).unwrap_or(("", "Not coded in ICD-10"));
            match groups.iter_mut().find(|group| group.0 == numeral) {
                Some(group) => {
                    group.2 += discharged;
                    group.3 += deceased;
                    group.4 += days;
                }
                None => groups.push((numeral, title, discharged, deceased, days)),
            }
        }
        groups.sort_by_key(|group| roman_rank(group.0));
        let mut csv = String::from(
            "chapter,title,discharged,deceased,bed_days,average_length_of_stay,mortality_percent\n",
        );
        let lines: Vec<pb::DiagnosisGroupLine> = groups
            .into_iter()
            .map(|(chapter, title, discharged, deceased, days)| {
                let leavers = (discharged + deceased) as f64;
                pb::DiagnosisGroupLine {
                    chapter: chapter.to_owned(),
                    title: title.to_owned(),
                    discharged: count(discharged),
                    deceased: count(deceased),
                    bed_days: format!("{days:.2}"),
                    average_length_of_stay: ratio(days, leavers),
                    mortality_percent: ratio(deceased as f64 * 100.0, leavers),
                }
            })
            .collect();
        for line in &lines {
            let _ = writeln!(
                csv,
                "{},\"{}\",{},{},{},{},{}",
                line.chapter,
                line.title.replace('"', "\"\""),
                line.discharged,
                line.deceased,
                line.bed_days,
                line.average_length_of_stay,
                line.mortality_percent
            );
        }
        Ok(Response::new(pb::GetMovementByDiagnosisResponse {
            lines,
            csv,
        }))
    }
}

/// Orders chapters I, II, ... XXII, then the uncoded.
pub(crate) fn roman_rank(numeral: &str) -> i64 {
    let value = |c: char| match c {
        'I' => 1,
        'V' => 5,
        'X' => 10,
        _ => 0,
    };
    let digits: Vec<i64> = numeral.chars().map(value).collect();
    if digits.is_empty() {
        return i64::MAX;
    }
    digits
        .iter()
        .enumerate()
        .map(|(index, digit)| {
            if digits.get(index + 1).is_some_and(|next| next > digit) {
                -digit
            } else {
                *digit
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn chapters_sort_by_their_numerals() {
        let mut numerals = vec!["XXI", "IV", "", "IX", "I", "XIX", "XIV"];
        numerals.sort_by_key(|numeral| super::roman_rank(numeral));
        assert_eq!(numerals, ["I", "IV", "IX", "XIV", "XIX", "XXI", ""]);
    }
}
