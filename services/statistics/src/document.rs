//! The report as the institute receives it: a JSON document of schema version 1.0
//! (`schemas/report-v1.json`, published with the contract), checked against that schema before
//! it is signed, so a document the institute would refuse for its form never leaves.

use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat, Utc};
use hmis_proto::openhmis::statistics::v1 as pb;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::reports::Period;

pub const SCHEMA_VERSION: &str = "1.0";

/// The published schema; a receiver validates against the same text.
pub const SCHEMA: &str = include_str!("../schemas/report-v1.json");

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA).map_err(|error| error.to_string())?;
    jsonschema::validator_for(&schema).map_err(|error| error.to_string())
});

/// Every way `document` departs from the schema ("/content/wards/0/beds: -1 is less than
/// the minimum of 0"); empty when it conforms.
pub fn violations(document: &Value) -> Vec<String> {
    match &*VALIDATOR {
        Ok(validator) => validator
            .iter_errors(document)
            .map(|error| format!("{}: {error}", error.instance_path()))
            .collect(),
        Err(error) => vec![format!("the schema itself does not compile: {error}")],
    }
}

/// The report's name in the document and in the database.
pub fn report_name(kind: pb::ReportKind) -> Option<&'static str> {
    match kind {
        pb::ReportKind::Movement => Some("movement"),
        pb::ReportKind::Diagnoses => Some("diagnoses"),
        pb::ReportKind::Form16 => Some("form16"),
        pb::ReportKind::Unspecified => None,
    }
}

/// A request's report kind as its name, or a violation naming `field`.
pub fn parse_report(
    value: i32,
    field: &str,
    violations: &mut hmis_platform::Violations,
) -> Option<&'static str> {
    let report = pb::ReportKind::try_from(value).ok().and_then(report_name);
    if report.is_none() {
        violations.add(field, "must be MOVEMENT, DIAGNOSES or FORM16");
    }
    report
}

pub fn report_kind(name: &str) -> pb::ReportKind {
    match name {
        "movement" => pb::ReportKind::Movement,
        "diagnoses" => pb::ReportKind::Diagnoses,
        "form16" => pb::ReportKind::Form16,
        _ => pb::ReportKind::Unspecified,
    }
}

/// What the document says about itself.
pub(crate) struct Header<'a> {
    pub submission_id: Uuid,
    pub revision: i32,
    pub report: &'static str,
    pub facility: &'a hmis_core_api::Facility,
    pub period: &'a Period,
    pub generated_at: DateTime<Utc>,
}

/// A ratio the reports leave empty when its denominator is zero becomes null.
fn decimal(value: &str) -> Value {
    if value.is_empty() {
        Value::Null
    } else {
        Value::String(value.to_owned())
    }
}

fn movement_line(line: &pb::MovementLine) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    fields.insert("admitted".into(), json!(line.admitted));
    fields.insert("transferred_in".into(), json!(line.transferred_in));
    fields.insert("transferred_out".into(), json!(line.transferred_out));
    fields.insert("discharged".into(), json!(line.discharged));
    fields.insert("deceased".into(), json!(line.deceased));
    fields.insert("bed_days".into(), json!(line.bed_days));
    fields.insert("beds".into(), json!(line.beds));
    fields.insert(
        "average_length_of_stay".into(),
        decimal(&line.average_length_of_stay),
    );
    fields.insert(
        "bed_occupancy_percent".into(),
        decimal(&line.bed_occupancy_percent),
    );
    fields.insert("bed_turnover".into(), decimal(&line.bed_turnover));
    fields.insert("mortality_percent".into(), decimal(&line.mortality_percent));
    fields
}

/// The movement content: each ward by its code and name (the institute does not know our ids),
/// then the total. `wards` pairs each ward line with its department.
pub fn movement_content(
    wards: &[(pb::MovementLine, hmis_core_api::Department)],
    total: &pb::MovementLine,
) -> Value {
    let wards: Vec<Value> = wards
        .iter()
        .map(|(line, department)| {
            let mut fields = movement_line(line);
            fields.insert("ward_code".into(), json!(department.code));
            fields.insert("ward_name".into(), json!(department.name));
            fields.insert("specialty_code".into(), json!(department.specialty_code));
            Value::Object(fields)
        })
        .collect();
    json!({ "wards": wards, "total": Value::Object(movement_line(total)) })
}

pub fn diagnoses_content(lines: &[pb::DiagnosisGroupLine]) -> Value {
    let chapters: Vec<Value> = lines
        .iter()
        .map(|line| {
            json!({
                "chapter": line.chapter,
                "title": line.title,
                "discharged": line.discharged,
                "deceased": line.deceased,
                "bed_days": line.bed_days,
                "average_length_of_stay": decimal(&line.average_length_of_stay),
                "mortality_percent": decimal(&line.mortality_percent),
            })
        })
        .collect();
    json!({ "chapters": chapters })
}

pub fn form16_content(form: &pb::GetForm16Response) -> Value {
    let lines: Vec<Value> = form
        .lines
        .iter()
        .map(|line| {
            json!({
                "chapter": line.chapter,
                "sex": line.sex,
                "age_group": line.age_group,
                "cases": line.cases,
                "days": line.days,
            })
        })
        .collect();
    json!({ "lines": lines, "total_cases": form.total_cases, "total_days": form.total_days })
}

/// The whole document, checked against the schema, as the bytes to sign and send.
pub(crate) fn render(header: &Header<'_>, content: Value) -> Result<Vec<u8>> {
    let document = json!({
        "schema_version": SCHEMA_VERSION,
        "submission_id": header.submission_id.to_string(),
        "revision": header.revision,
        "report": header.report,
        "facility": { "code": header.facility.code, "name": header.facility.name },
        "period": {
            "from": header.period.from.to_string(),
            "to": header.period.to.to_string(),
        },
        "generated_at": header.generated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "content": content,
    });
    let problems = violations(&document);
    if !problems.is_empty() {
        return Err(Error::InvalidDocument(problems.join("; ")));
    }
    serde_json::to_vec(&document).map_err(|error| Error::InvalidDocument(error.to_string()))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn header<'a>(facility: &'a hmis_core_api::Facility, period: &'a Period) -> Header<'a> {
        Header {
            submission_id: Uuid::now_v7(),
            revision: 1,
            report: "form16",
            facility,
            period,
            generated_at: Utc::now(),
        }
    }

    #[test]
    fn a_rendered_report_conforms_and_a_broken_one_is_named() {
        let facility = hmis_core_api::Facility {
            id: Uuid::now_v7(),
            code: "SCM".into(),
            name: "Spitalul Clinic Municipal".into(),
            time_zone: "Europe/Chisinau".into(),
            address: String::new(),
        };
        let period = Period {
            facility: Uuid::now_v7(),
            from: NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
            to: NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"),
        };
        let form = pb::GetForm16Response {
            lines: vec![pb::Form16Line {
                chapter: "X".into(),
                sex: "female".into(),
                age_group: "30-39".into(),
                cases: 2,
                days: 14,
            }],
            total_cases: 2,
            total_days: 14,
            csv: String::new(),
        };
        let bytes = render(&header(&facility, &period), form16_content(&form)).expect("conforms");
        let document: Value = serde_json::from_slice(&bytes).expect("json");
        assert!(violations(&document).is_empty());
        assert_eq!(document["content"]["lines"][0]["days"], 14);

        let mut broken = form.clone();
        broken.lines[0].sex = "robot".into();
        let error = render(&header(&facility, &period), form16_content(&broken))
            .expect_err("an unknown sex is refused");
        assert!(
            error.to_string().contains("/content/lines/0/sex"),
            "{error}"
        );

        let mut wrong = document.clone();
        wrong["report"] = json!("movement");
        assert!(
            !violations(&wrong).is_empty(),
            "form 16 content under the movement report"
        );
    }
}
