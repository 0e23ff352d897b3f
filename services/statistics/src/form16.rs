//! Form 16, temporary work incapacity: the sick-leave certificates of a period grouped by the
//! ICD-10 chapter of the episode's diagnosis, the patient's sex and age group. A case is an
//! episode (a first certificate and its extensions) begun in the period; days are counted
//! within the period over every certificate.

use std::collections::BTreeMap;
use std::fmt::Write;

use hmis_platform::auth::Target;
use hmis_platform::types::{parse_date, parse_uuid};
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::statistics::v1 as pb;
use tonic::{Request, Response, Status};

use crate::chapters::chapter_of;
use crate::error::{Error, Result};
use crate::grpc::{READ, StatisticsApi, roman_rank};
use crate::store;

/// The age groups of the form.
pub fn age_group(age: Option<i32>) -> &'static str {
    match age {
        None => "unknown",
        Some(age) if age < 20 => "under 20",
        Some(age) if age < 30 => "20-29",
        Some(age) if age < 40 => "30-39",
        Some(age) if age < 50 => "40-49",
        Some(age) if age < 60 => "50-59",
        Some(_) => "60 and over",
    }
}

impl StatisticsApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn form16(
        &self,
        request: Request<pb::GetForm16Request>,
    ) -> Result<Response<pb::GetForm16Response>, Status> {
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
        context
            .authorize(READ, &Target::facility(facility))
            .map_err(Error::Context)?;
        let mut tx = self
            .office
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let rows = store::sick_leave_days(&mut tx, facility, from, to).await?;
        tx.commit().await.map_err(Error::from)?;
        let mut groups: BTreeMap<(i64, &'static str, String, &'static str), (i64, i64)> =
            BTreeMap::new();
        for (code, sex, age, begins, days) in rows {
            let chapter = chapter_of(&code).map_or("", |(numeral, _)| numeral);
            let group = groups
                .entry((roman_rank(chapter), chapter, sex, age_group(age)))
                .or_default();
            group.0 += i64::from(begins);
            group.1 += i64::from(days);
        }
        let count = |value: i64| i32::try_from(value).unwrap_or(i32::MAX);
        let mut csv = String::from("chapter,sex,age_group,cases,days\n");
        let mut lines = Vec::with_capacity(groups.len());
        let (mut total_cases, mut total_days) = (0, 0);
        for ((_, chapter, sex, age_group), (cases, days)) in groups {
            total_cases += cases;
            total_days += days;
            let _ = writeln!(csv, "{chapter},{sex},{age_group},{cases},{days}");
            lines.push(pb::Form16Line {
                chapter: chapter.to_owned(),
                sex,
                age_group: age_group.to_owned(),
                cases: count(cases),
                days: count(days),
            });
        }
        Ok(Response::new(pb::GetForm16Response {
            lines,
            total_cases: count(total_cases),
            total_days: count(total_days),
            csv,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::age_group;

    #[test]
    fn ages_fall_into_the_forms_groups() {
        assert_eq!(age_group(Some(19)), "under 20");
        assert_eq!(age_group(Some(20)), "20-29");
        assert_eq!(age_group(Some(59)), "50-59");
        assert_eq!(age_group(Some(60)), "60 and over");
        assert_eq!(age_group(None), "unknown");
    }
}
