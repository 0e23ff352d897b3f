//! Requests of the laboratory service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use hmis_platform::Violations;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Code, Line, Name, Text};
use hmis_platform::wire::parse_timestamp;
use hmis_proto::openhmis::laboratory::v1 as pb;
use uuid::Uuid;

use crate::app::{
    Correction, Entry, NewAnalyser, NewTest, Rejection, TurnaroundQuery, Validation, WorklistQuery,
};
use crate::convert::{parse_rejection, parse_result_kind, parse_status};
use crate::domain::{Measure, RangeSex, ReferenceRange, ValidationStage, is_accession};
use crate::error::Result;
use crate::store::SectionRow;

/// Ranges, members and answers one test may list.
const MAX_LIST: usize = 64;
/// Results one RecordResults call may enter.
const MAX_RESULTS: usize = 200;
/// The longest result value (a microscopy description).
const MAX_VALUE: usize = 4000;

pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

fn code(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    violations
        .check(field, Code::parse(value))
        .map(|code| code.as_str().to_owned())
}

fn line(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    violations
        .check(field, Line::parse(value))
        .map(|line| line.as_str().to_owned())
}

fn name(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    violations
        .check(field, Name::parse(value))
        .map(|name| name.as_str().to_owned())
}

fn list(
    field: &str,
    values: &[String],
    violations: &mut Violations,
    each: impl Fn(&str, &str, &mut Violations) -> Option<String>,
) -> Option<Vec<String>> {
    if values.len() > MAX_LIST {
        violations.add(field, format!("must list at most {MAX_LIST}"));
        return None;
    }
    let before = violations.len();
    let parsed: Vec<String> = values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| each(&format!("{field}[{index}]"), value, violations))
        .collect();
    (violations.len() == before).then_some(parsed)
}

fn accession(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim();
    if is_accession(value) {
        Some(value.to_owned())
    } else {
        violations.add(field, "must be an accession number (9 to 16 digits)");
        None
    }
}

/// An optional section code (a listing's filter).
pub(crate) fn section_filter(value: &str) -> Result<Option<String>> {
    let mut violations = Violations::default();
    let section = if value.trim().is_empty() {
        Some(None)
    } else {
        code("section_code", value, &mut violations).map(Some)
    };
    Ok(violations.finish(|| section)?)
}

pub(crate) fn section(message: &pb::SetSectionRequest) -> Result<SectionRow> {
    let mut violations = Violations::default();
    let Some(section) = message.section.as_ref() else {
        violations.add("section", "is required");
        return Ok(violations.finish(|| None)?);
    };
    let section_code = match section.code.trim() {
        code if !code.is_empty()
            && code.len() <= 16
            && code.bytes().all(|b| {
                b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
            }) =>
        {
            Some(code.to_owned())
        }
        _ => {
            violations.add(
                "section.code",
                "must be 1 to 16 upper-case letters, digits, '-' or '_'",
            );
            None
        }
    };
    let section_name = name("section.name", &section.name, &mut violations);
    let classes = list(
        "section.loinc_classes",
        &section.loinc_classes,
        &mut violations,
        line,
    );
    Ok(violations.finish(|| {
        Some(SectionRow {
            code: section_code?,
            name: section_name?,
            loinc_classes: classes?,
        })
    })?)
}

fn limit(field: &str, value: &str, violations: &mut Violations) -> Option<Option<Measure>> {
    if value.trim().is_empty() {
        return Some(None);
    }
    violations.check(field, Measure::parse(value)).map(Some)
}

fn range(
    field: &str,
    range: &pb::ReferenceRange,
    violations: &mut Violations,
) -> Option<ReferenceRange> {
    let sex = match pb::RangeSex::try_from(range.sex) {
        Ok(pb::RangeSex::Unspecified) => Some(RangeSex::Any),
        Ok(pb::RangeSex::Female) => Some(RangeSex::Female),
        Ok(pb::RangeSex::Male) => Some(RangeSex::Male),
        Err(_) => {
            violations.add(format!("{field}.sex"), "is not a known value");
            None
        }
    };
    let low = limit(&format!("{field}.low"), &range.low, violations);
    let high = limit(&format!("{field}.high"), &range.high, violations);
    let critical_low = limit(
        &format!("{field}.critical_low"),
        &range.critical_low,
        violations,
    );
    let critical_high = limit(
        &format!("{field}.critical_high"),
        &range.critical_high,
        violations,
    );
    let parsed = ReferenceRange {
        sex: sex?,
        age_from_days: range.age_from_days,
        age_to_days: range.age_to_days,
        low: low?,
        high: high?,
        critical_low: critical_low?,
        critical_high: critical_high?,
    };
    if !parsed.is_consistent() {
        violations.add(
            field,
            "limits out of order (critical low <= low <= high <= critical high) or an empty age band",
        );
        return None;
    }
    Some(parsed)
}

pub(crate) fn test(message: &pb::SetTestRequest) -> Result<NewTest> {
    let mut violations = Violations::default();
    let Some(test) = message.test.as_ref() else {
        violations.add("test", "is required");
        return Ok(violations.finish(|| None)?);
    };
    let test_code = code("test.code", &test.code, &mut violations);
    let test_name = name("test.name", &test.name, &mut violations);
    let section = if test.section_code.trim().is_empty() {
        Some(String::new())
    } else {
        code("test.section_code", &test.section_code, &mut violations)
    };
    let class = line("test.loinc_class", &test.loinc_class, &mut violations);
    let members = list(
        "test.member_codes",
        &test.member_codes,
        &mut violations,
        code,
    );
    let is_panel = !test.member_codes.is_empty();
    let kind = match parse_result_kind(test.result_kind) {
        Some(kind) => Some(kind),
        None if is_panel => Some(crate::domain::ResultKind::Panel),
        None => {
            violations.add("test.result_kind", "is required");
            None
        }
    };
    let specimen = name("test.specimen_type", &test.specimen_type, &mut violations);
    let container = name("test.container", &test.container, &mut violations);
    let unit = line("test.unit", &test.unit, &mut violations);
    if kind == Some(crate::domain::ResultKind::Numeric) && test.unit.trim().is_empty() {
        violations.add(
            "test.unit",
            "is required for a numeric test (UCUM, e.g. mmol/L)",
        );
    }
    let ranges = if test.ranges.len() > MAX_LIST {
        violations.add("test.ranges", format!("must list at most {MAX_LIST}"));
        None
    } else {
        let before = violations.len();
        let parsed: Vec<ReferenceRange> = test
            .ranges
            .iter()
            .enumerate()
            .filter_map(|(index, r)| range(&format!("test.ranges[{index}]"), r, &mut violations))
            .collect();
        (violations.len() == before).then_some(parsed)
    };
    let answers = list("test.answers", &test.answers, &mut violations, line);
    let normal = list(
        "test.normal_answers",
        &test.normal_answers,
        &mut violations,
        line,
    );
    if let (Some(answers), Some(normal)) = (&answers, &normal) {
        for (index, answer) in normal.iter().enumerate() {
            if !answers.contains(answer) {
                violations.add(
                    format!("test.normal_answers[{index}]"),
                    "is not one of the answers",
                );
            }
        }
    }
    let version = if message.etag.trim().is_empty() {
        Some(None)
    } else {
        violations
            .check(
                "etag",
                hmis_platform::types::Version::parse_etag(&message.etag),
            )
            .map(|version| Some(version.get()))
    };
    Ok(violations.finish(|| {
        Some(NewTest {
            code: test_code?,
            name: test_name?,
            section_code: section?,
            loinc_class: class?,
            specimen_type: specimen?,
            container: container?,
            kind: kind?,
            unit: unit?,
            ranges: ranges?,
            member_codes: members?,
            answers: answers?,
            normal_answers: normal?,
            active: test.active,
            version: version?,
        })
    })?)
}

pub(crate) fn analyser(message: &pb::RegisterAnalyserRequest) -> Result<NewAnalyser> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let Some(analyser) = message.analyser.as_ref() else {
        violations.add("analyser", "is required");
        return Ok(violations.finish(|| None)?);
    };
    let analyser_code = code("analyser.code", &analyser.code, &mut violations);
    let analyser_name = name("analyser.name", &analyser.name, &mut violations);
    let application = code(
        "analyser.sending_application",
        &analyser.sending_application,
        &mut violations,
    );
    let facility_text = if analyser.sending_facility.trim().is_empty() {
        Some(String::new())
    } else {
        code(
            "analyser.sending_facility",
            &analyser.sending_facility,
            &mut violations,
        )
    };
    let facility = violations.id("analyser.facility_id", &analyser.facility_id);
    let section = code(
        "analyser.section_code",
        &analyser.section_code,
        &mut violations,
    );
    let endpoint = match analyser.order_endpoint.trim() {
        "" => Some(String::new()),
        endpoint if is_endpoint(endpoint) => Some(endpoint.to_owned()),
        _ => {
            violations.add(
                "analyser.order_endpoint",
                "must be host:port (a name or an address, and a port from 1 to 65535)",
            );
            None
        }
    };
    Ok(violations.finish(|| {
        Some(NewAnalyser {
            key: key?,
            code: analyser_code?,
            name: analyser_name?,
            sending_application: application?,
            sending_facility: facility_text?,
            facility_id: facility?,
            section_code: section?,
            order_endpoint: endpoint?,
        })
    })?)
}

/// "host:port": a host name of letters, digits, '-' and '.', an IPv4 address, or an IPv6
/// address in brackets; a port from 1 to 65535.
fn is_endpoint(value: &str) -> bool {
    let Some((host, port)) = value.rsplit_once(':') else {
        return false;
    };
    let port_ok = port.parse::<u16>().is_ok_and(|port| port > 0);
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
    };
    port_ok && host_ok
}

/// A listing's `page_size`: 0 is `default`; beyond 1..=500 is refused.
fn page_size(value: i32, default: i64, violations: &mut Violations) -> Option<i64> {
    match value {
        0 => Some(default),
        size if (1..=500).contains(&size) => Some(i64::from(size)),
        _ => {
            violations.add("page_size", "must be between 1 and 500");
            None
        }
    }
}

/// How many entries of the HL7 message log to list (default 50).
pub(crate) fn messages(message: &pb::ListHl7MessagesRequest) -> Result<i64> {
    let mut violations = Violations::default();
    let size = page_size(message.page_size, 50, &mut violations);
    Ok(violations.finish(|| size)?)
}

pub(crate) fn worklist(message: &pb::ListWorklistRequest) -> Result<WorklistQuery> {
    let mut violations = Violations::default();
    let facility = violations.id("facility_id", &message.facility_id);
    let department = violations.optional_id("department_id", &message.department_id);
    let section = if message.section_code.trim().is_empty() {
        Some(None)
    } else {
        code("section_code", &message.section_code, &mut violations).map(Some)
    };
    let mut statuses = Vec::new();
    for (index, status) in message.statuses.iter().enumerate() {
        match parse_status(*status) {
            Some(status) => statuses.push(status),
            None => violations.add(format!("statuses[{index}]"), "is not a known status"),
        }
    }
    let limit = page_size(message.page_size, 100, &mut violations);
    Ok(violations.finish(|| {
        Some(WorklistQuery {
            facility_id: facility?,
            department_id: department?,
            section: section?,
            statuses,
            limit: limit?,
        })
    })?)
}

pub(crate) fn collect(
    message: &pb::CollectSpecimensRequest,
) -> Result<(RequestKey, Uuid, Option<chrono::DateTime<chrono::Utc>>)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let order = violations.id("order_id", &message.order_id);
    let at = violations.check(
        "collect_time",
        parse_timestamp(message.collect_time.as_ref()),
    );
    Ok(violations.finish(|| Some((key?, order?, at?)))?)
}

pub(crate) fn label(message: &pb::GetSpecimenLabelRequest) -> Result<String> {
    let mut violations = Violations::default();
    let number = accession("accession", &message.accession, &mut violations);
    Ok(violations.finish(|| number)?)
}

pub(crate) fn receive(message: &pb::ReceiveSpecimenRequest) -> Result<(RequestKey, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let number = accession("accession", &message.accession, &mut violations);
    Ok(violations.finish(|| Some((key?, number?)))?)
}

pub(crate) fn reject(message: &pb::RejectSpecimenRequest) -> Result<Rejection> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let number = accession("accession", &message.accession, &mut violations);
    let reason = parse_rejection(message.reason);
    if reason.is_none() {
        violations.add("reason", "is required");
    }
    let note = violations.check("note", Text::parse(&message.note));
    Ok(violations.finish(|| {
        Some(Rejection {
            key: key?,
            accession: number?,
            reason: reason?,
            note: note?.as_str().to_owned(),
        })
    })?)
}

fn value(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        violations.add(field, "is required");
        None
    } else if value.chars().count() > MAX_VALUE {
        violations.add(field, format!("must be at most {MAX_VALUE} characters"));
        None
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        violations.add(field, "must not contain control characters");
        None
    } else {
        Some(value.to_owned())
    }
}

pub(crate) fn record_results(
    message: &pb::RecordResultsRequest,
) -> Result<(RequestKey, Uuid, Vec<Entry>)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let order = violations.id("order_id", &message.order_id);
    if message.results.is_empty() {
        violations.add("results", "must name at least one result");
    }
    if message.results.len() > MAX_RESULTS {
        violations.add("results", format!("must name at most {MAX_RESULTS}"));
        return Ok(violations.finish(|| None)?);
    }
    let mut entries = Vec::with_capacity(message.results.len());
    for (index, result) in message.results.iter().enumerate() {
        let test_code = code(
            &format!("results[{index}].test_code"),
            &result.test_code,
            &mut violations,
        );
        let given = value(
            &format!("results[{index}].value"),
            &result.value,
            &mut violations,
        );
        let unit = line(
            &format!("results[{index}].unit"),
            &result.unit,
            &mut violations,
        );
        if let Some(test_code) = &test_code
            && entries
                .iter()
                .any(|entry: &Entry| &entry.test_code == test_code)
        {
            violations.add(format!("results[{index}].test_code"), "is named twice");
        }
        if let (Some(test_code), Some(value), Some(unit)) = (test_code, given, unit) {
            entries.push(Entry {
                test_code,
                value,
                unit: (!unit.is_empty()).then_some(unit),
            });
        }
    }
    Ok(violations.finish(|| Some((key?, order?, entries)))?)
}

pub(crate) fn validate(message: &pb::ValidateResultsRequest) -> Result<Validation> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let order = violations.id("order_id", &message.order_id);
    let stage = match pb::ValidationStage::try_from(message.stage) {
        Ok(pb::ValidationStage::Technical) => Some(ValidationStage::Technical),
        Ok(pb::ValidationStage::Medical) => Some(ValidationStage::Medical),
        _ => {
            violations.add("stage", "must be TECHNICAL or MEDICAL");
            None
        }
    };
    let tests = list("test_codes", &message.test_codes, &mut violations, code);
    Ok(violations.finish(|| {
        Some(Validation {
            key: key?,
            order_id: order?,
            stage: stage?,
            tests: tests?,
        })
    })?)
}

pub(crate) fn correct(message: &pb::CorrectResultRequest) -> Result<Correction> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let result = violations.id("result_id", &message.result_id);
    let given = value("value", &message.value, &mut violations);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    Ok(violations.finish(|| {
        Some(Correction {
            key: key?,
            result_id: result?,
            value: given?,
            reason: reason?.as_str().to_owned(),
        })
    })?)
}

pub(crate) fn cancel(message: &pb::CancelOrderRequest) -> Result<(RequestKey, Uuid, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let order = violations.id("order_id", &message.order_id);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    Ok(violations.finish(|| Some((key?, order?, reason?.as_str().to_owned())))?)
}

pub(crate) fn cumulative(message: &pb::GetCumulativeResultsRequest) -> Result<(Uuid, String)> {
    let mut violations = Violations::default();
    let patient = violations.id("patient_id", &message.patient_id);
    let test = code("test_code", &message.test_code, &mut violations);
    Ok(violations.finish(|| Some((patient?, test?)))?)
}

pub(crate) fn alerts(
    message: &pb::ListCriticalAlertsRequest,
) -> Result<(Uuid, Option<Uuid>, bool)> {
    let mut violations = Violations::default();
    let facility = violations.id("facility_id", &message.facility_id);
    let department = violations.optional_id("department_id", &message.department_id);
    Ok(violations.finish(|| Some((facility?, department?, message.unacknowledged_only)))?)
}

pub(crate) fn acknowledge(
    message: &pb::AcknowledgeCriticalAlertRequest,
) -> Result<(RequestKey, Uuid, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let alert = violations.id("alert_id", &message.alert_id);
    let note = violations.check("note", Text::parse(&message.note));
    Ok(violations.finish(|| Some((key?, alert?, note?.as_str().to_owned())))?)
}

pub(crate) fn turnaround(message: &pb::GetTurnaroundRequest) -> Result<TurnaroundQuery> {
    let mut violations = Violations::default();
    let facility = violations.id("facility_id", &message.facility_id);
    let period = violations.instant_period(
        ("from_time", message.from_time.as_ref()),
        ("to_time", message.to_time.as_ref()),
    );
    let group = match pb::TurnaroundGrouping::try_from(message.group_by) {
        Ok(pb::TurnaroundGrouping::Test) => Some("test"),
        Ok(pb::TurnaroundGrouping::Section) => Some("section"),
        Ok(pb::TurnaroundGrouping::Priority) => Some("priority"),
        Ok(pb::TurnaroundGrouping::Source) => Some("source"),
        _ => {
            violations.add("group_by", "must be TEST, SECTION, PRIORITY or SOURCE");
            None
        }
    };
    Ok(violations.finish(|| {
        Some(TurnaroundQuery {
            facility_id: facility?,
            from: period?.0,
            to: period?.1,
            group: group?,
        })
    })?)
}
