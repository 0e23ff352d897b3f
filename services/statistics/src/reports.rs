//! The reports themselves, computed from the read models for a facility and a period: what
//! the query calls answer and what electronic submissions carry, so both say the same.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{NaiveDate, Utc};
use hmis_platform::types::{parse_date, parse_uuid};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::statistics::v1 as pb;
use uuid::Uuid;

use crate::chapters::chapter_of;
use crate::error::{Error, Result};
use crate::form16::age_group;
use crate::grpc::Office;
use crate::store::{self, DayCensus, WardMovement};

/// A facility and a period of whole days in its time zone, at most a year long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    pub facility: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// Parses the three request fields, naming each one that is wrong.
    pub fn parse(
        facility_id: &str,
        from_date: &str,
        to_date: &str,
        violations: &mut Violations,
    ) -> Option<Self> {
        let facility = violations.check("facility_id", parse_uuid(facility_id));
        let from = violations.check("from_date", parse_date(from_date));
        let to = violations.check("to_date", parse_date(to_date));
        let (facility, from, to) = (facility?, from?, to?);
        if to < from || (to - from).num_days() > 366 {
            violations.add("to_date", "must be from from_date to a year after it");
            return None;
        }
        Some(Self { facility, from, to })
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// The facility's midnights that begin `first` and end `last` (inclusive).
pub(crate) fn local_days(
    zone: chrono_tz::Tz,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)> {
    Ok(hmis_platform::days::days(&zone, first, last))
}

/// A ward's (or the facility's, `department` `None`) census of `date` over the day's
/// `bounds`; `beds` in use.
pub(crate) fn census(
    department: Option<Uuid>,
    date: NaiveDate,
    bounds: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    day: &DayCensus,
    beds: i64,
) -> pb::Census {
    pb::Census {
        department_id: department.map(|id| id.to_string()).unwrap_or_default(),
        date: date.to_string(),
        day_start: timestamp(bounds.0),
        day_end: timestamp(bounds.1),
        present_at_start: count(day.present_at_start),
        admitted: count(day.admitted),
        transferred_in: count(day.transferred_in),
        transferred_out: count(day.transferred_out),
        discharged: count(day.discharged),
        deceased: count(day.deceased),
        present_at_end: count(day.present_at_end),
        bed_days: count(day.present_at_end + day.same_period_cases),
        beds_available: count(beds),
    }
}

pub(crate) fn count(value: i64) -> i32 {
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
    specialty: &str,
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
        specialty_code: specialty.to_owned(),
    }
}

fn add(total: &mut WardMovement, ward: &WardMovement) {
    total.admitted += ward.admitted;
    total.transferred_in += ward.transferred_in;
    total.transferred_out += ward.transferred_out;
    total.discharged += ward.discharged;
    total.deceased += ward.deceased;
    total.bed_days += ward.bed_days;
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

/// Quotes a CSV field when it needs it.
pub(crate) fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

impl Office {
    /// The movement of the facility's wards in the period, by ward or by specialty, then the
    /// facility's total (empty department and specialty).
    pub(crate) async fn movement(
        &self,
        context: &RequestContext,
        period: &Period,
        grouping: pb::MovementGrouping,
    ) -> Result<Vec<pb::MovementLine>> {
        let zone = self.directory.time_zone(context, period.facility).await?;
        let (start, end) = local_days(zone, period.from, period.to)?;
        let days = period.days();
        let mut tx = self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
        let wards = store::ward_movement(&mut tx, period.facility, None, start, end).await?;
        tx.commit().await?;
        // The wards' bed counts (and specialties) are asked of the register at once, not one
        // after another.
        let beds = futures::future::try_join_all(
            wards
                .iter()
                .map(|ward| self.directory.beds_in_use(context, ward.department_id)),
        )
        .await?;
        let mut lines = Vec::with_capacity(wards.len() + 1);
        let mut total = WardMovement::default();
        let mut total_beds = 0;
        if grouping == pb::MovementGrouping::Specialty {
            let departments = futures::future::try_join_all(
                wards
                    .iter()
                    .map(|ward| self.directory.department(context, ward.department_id)),
            )
            .await?;
            let mut specialties: BTreeMap<String, (WardMovement, i32)> = BTreeMap::new();
            for ((ward, beds), department) in wards.iter().zip(beds).zip(departments) {
                let group = specialties.entry(department.specialty_code).or_default();
                add(&mut group.0, ward);
                group.1 += beds;
                add(&mut total, ward);
                total_beds += beds;
            }
            for (specialty, (movement, beds)) in &specialties {
                lines.push(movement_line(None, specialty, movement, *beds, days));
            }
        } else {
            for (ward, beds) in wards.iter().zip(beds) {
                lines.push(movement_line(
                    Some(ward.department_id),
                    "",
                    ward,
                    beds,
                    days,
                ));
                add(&mut total, ward);
                total_beds += beds;
            }
        }
        lines.push(movement_line(None, "", &total, total_beds, days));
        Ok(lines)
    }

    /// Leavers of the period by the ICD-10 chapter of their principal diagnosis, in the
    /// classification's order, the uncoded last.
    pub(crate) async fn diagnoses(
        &self,
        context: &RequestContext,
        period: &Period,
    ) -> Result<Vec<pb::DiagnosisGroupLine>> {
        let zone = self.directory.time_zone(context, period.facility).await?;
        let (start, end) = local_days(zone, period.from, period.to)?;
        let mut tx = self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
        let codes = store::leavers_by_code(&mut tx, period.facility, start, end).await?;
        tx.commit().await?;
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
        Ok(groups
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
            .collect())
    }

    /// Form 16 of the period (its csv left empty).
    pub(crate) async fn form16(
        &self,
        context: &RequestContext,
        period: &Period,
    ) -> Result<pb::GetForm16Response> {
        let mut tx = self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
        let rows = store::sick_leave_days(&mut tx, period.facility, period.from, period.to).await?;
        tx.commit().await?;
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
        let mut response = pb::GetForm16Response::default();
        let (mut total_cases, mut total_days) = (0, 0);
        for ((_, chapter, sex, age_group), (cases, days)) in groups {
            total_cases += cases;
            total_days += days;
            response.lines.push(pb::Form16Line {
                chapter: chapter.to_owned(),
                sex,
                age_group: age_group.to_owned(),
                cases: count(cases),
                days: count(days),
            });
        }
        response.total_cases = count(total_cases);
        response.total_days = count(total_days);
        Ok(response)
    }
}

pub(crate) fn movement_csv(lines: &[pb::MovementLine]) -> String {
    let mut csv = String::from(
        "department_id,admitted,transferred_in,transferred_out,discharged,deceased,bed_days,\
         beds,average_length_of_stay,bed_occupancy_percent,bed_turnover,mortality_percent,\
         specialty_code\n",
    );
    for line in lines {
        let total = line.department_id.is_empty() && line.specialty_code.is_empty();
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            if total { "total" } else { &line.department_id },
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
            line.mortality_percent,
            csv_field(&line.specialty_code)
        );
    }
    csv
}

pub(crate) fn diagnoses_csv(lines: &[pb::DiagnosisGroupLine]) -> String {
    let mut csv = String::from(
        "chapter,title,discharged,deceased,bed_days,average_length_of_stay,mortality_percent\n",
    );
    for line in lines {
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
    csv
}

pub(crate) fn form16_csv(lines: &[pb::Form16Line]) -> String {
    let mut csv = String::from("chapter,sex,age_group,cases,days\n");
    for line in lines {
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            line.chapter, line.sex, line.age_group, line.cases, line.days
        );
    }
    csv
}

impl Office {
    /// A ward's day: who was there at its start and end, who came and went, its bed days and
    /// the beds it has, in the facility's day.
    pub(crate) async fn daily_census(
        &self,
        context: &RequestContext,
        facility: Uuid,
        department: Uuid,
        date: NaiveDate,
    ) -> Result<pb::Census> {
        let zone = self.directory.time_zone(context, facility).await?;
        let (start, end) = local_days(zone, date, date)?;
        let beds = self.directory.beds_in_use(context, department).await?;
        let mut tx = self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let ward = store::day_census(&mut tx, facility, Some(department), start, end)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        tx.commit().await.map_err(Error::from)?;
        Ok(census(
            Some(department),
            date,
            (start, end),
            &ward,
            i64::from(beds),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapters_sort_by_their_numerals() {
        let mut numerals = vec!["XXI", "IV", "", "IX", "I", "XIX", "XIV"];
        numerals.sort_by_key(|numeral| roman_rank(numeral));
        assert_eq!(numerals, ["I", "IV", "IX", "XIV", "XIX", "XXI", ""]);
    }

    #[test]
    fn a_period_names_its_wrong_fields() {
        let mut violations = Violations::default();
        let id = Uuid::now_v7().to_string();
        assert!(Period::parse(&id, "2026-02-01", "2026-01-31", &mut violations).is_none());
        assert!(Period::parse("x", "2026-01-01", "2026-01-31", &mut violations).is_none());
        let period = Period::parse(&id, "2026-01-01", "2026-01-31", &mut violations);
        assert_eq!(period.map(|period| period.days()), Some(31));
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
