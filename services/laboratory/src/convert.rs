//! The laboratory's rows and values in the contract's words, and the contract's enumerations
//! read back.

use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::laboratory::v1 as pb;
use uuid::Uuid;

use crate::domain::{
    Flag, Measure, OrderStatus, Priority, RangeSex, ReferenceRange, RejectionReason, ResultKind,
    ResultStatus, SpecimenStatus,
};
use crate::store::{
    AlertRow, AnalyserRow, MessageRow, OrderRow, OrderTestRow, ResultRow, SectionRow, SpecimenRow,
    TestRow,
};

fn id_text(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(crate) fn priority_to_pb(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Routine => pb::Priority::Routine,
        Priority::Urgent => pb::Priority::Urgent,
        Priority::Emergency => pb::Priority::Emergency,
    }
}

pub(crate) fn status_to_pb(status: OrderStatus) -> pb::OrderStatus {
    match status {
        OrderStatus::Ordered => pb::OrderStatus::Ordered,
        OrderStatus::Collected => pb::OrderStatus::Collected,
        OrderStatus::Received => pb::OrderStatus::Received,
        OrderStatus::InProgress => pb::OrderStatus::InProgress,
        OrderStatus::Preliminary => pb::OrderStatus::Preliminary,
        OrderStatus::Final => pb::OrderStatus::Final,
        OrderStatus::Cancelled => pb::OrderStatus::Cancelled,
    }
}

pub(crate) fn parse_status(value: i32) -> Option<OrderStatus> {
    Some(match pb::OrderStatus::try_from(value).ok()? {
        pb::OrderStatus::Unspecified => return None,
        pb::OrderStatus::Ordered => OrderStatus::Ordered,
        pb::OrderStatus::Collected => OrderStatus::Collected,
        pb::OrderStatus::Received => OrderStatus::Received,
        pb::OrderStatus::InProgress => OrderStatus::InProgress,
        pb::OrderStatus::Preliminary => OrderStatus::Preliminary,
        pb::OrderStatus::Final => OrderStatus::Final,
        pb::OrderStatus::Cancelled => OrderStatus::Cancelled,
    })
}

pub(crate) fn parse_result_kind(value: i32) -> Option<ResultKind> {
    Some(match pb::ResultKind::try_from(value).ok()? {
        pb::ResultKind::Unspecified => return None,
        pb::ResultKind::Numeric => ResultKind::Numeric,
        pb::ResultKind::Text => ResultKind::Text,
        pb::ResultKind::Coded => ResultKind::Coded,
    })
}

fn result_kind_to_pb(kind: ResultKind) -> pb::ResultKind {
    match kind {
        ResultKind::Numeric => pb::ResultKind::Numeric,
        ResultKind::Text => pb::ResultKind::Text,
        ResultKind::Coded => pb::ResultKind::Coded,
        ResultKind::Panel => pb::ResultKind::Unspecified,
    }
}

pub(crate) fn parse_rejection(value: i32) -> Option<RejectionReason> {
    Some(match pb::RejectionReason::try_from(value).ok()? {
        pb::RejectionReason::Unspecified => return None,
        pb::RejectionReason::Haemolysed => RejectionReason::Haemolysed,
        pb::RejectionReason::Insufficient => RejectionReason::Insufficient,
        pb::RejectionReason::Clotted => RejectionReason::Clotted,
        pb::RejectionReason::WrongContainer => RejectionReason::WrongContainer,
        pb::RejectionReason::Unlabelled => RejectionReason::Unlabelled,
        pb::RejectionReason::Delayed => RejectionReason::Delayed,
    })
}

fn rejection_to_pb(reason: Option<RejectionReason>) -> pb::RejectionReason {
    match reason {
        None => pb::RejectionReason::Unspecified,
        Some(RejectionReason::Haemolysed) => pb::RejectionReason::Haemolysed,
        Some(RejectionReason::Insufficient) => pb::RejectionReason::Insufficient,
        Some(RejectionReason::Clotted) => pb::RejectionReason::Clotted,
        Some(RejectionReason::WrongContainer) => pb::RejectionReason::WrongContainer,
        Some(RejectionReason::Unlabelled) => pb::RejectionReason::Unlabelled,
        Some(RejectionReason::Delayed) => pb::RejectionReason::Delayed,
    }
}

pub(crate) fn flag_to_pb(flag: Flag) -> pb::Flag {
    match flag {
        Flag::None => pb::Flag::Unspecified,
        Flag::Normal => pb::Flag::Normal,
        Flag::Low => pb::Flag::Low,
        Flag::High => pb::Flag::High,
        Flag::CriticalLow => pb::Flag::CriticalLow,
        Flag::CriticalHigh => pb::Flag::CriticalHigh,
        Flag::Abnormal => pb::Flag::Abnormal,
    }
}

fn result_status_to_pb(status: ResultStatus) -> pb::ResultStatus {
    match status {
        ResultStatus::Entered => pb::ResultStatus::Entered,
        ResultStatus::Preliminary => pb::ResultStatus::Preliminary,
        ResultStatus::Final => pb::ResultStatus::Final,
        ResultStatus::Superseded => pb::ResultStatus::Superseded,
    }
}

fn specimen_status_to_pb(status: SpecimenStatus) -> pb::SpecimenStatus {
    match status {
        SpecimenStatus::Collected => pb::SpecimenStatus::Collected,
        SpecimenStatus::Received => pb::SpecimenStatus::Received,
        SpecimenStatus::Rejected => pb::SpecimenStatus::Rejected,
    }
}

pub(crate) fn section_to_pb(row: &SectionRow) -> pb::Section {
    pb::Section {
        code: row.code.clone(),
        name: row.name.clone(),
        loinc_classes: row.loinc_classes.clone(),
    }
}

fn limit(value: Option<Measure>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

fn range_to_pb(range: &ReferenceRange) -> pb::ReferenceRange {
    pb::ReferenceRange {
        sex: match range.sex {
            RangeSex::Any => pb::RangeSex::Unspecified,
            RangeSex::Female => pb::RangeSex::Female,
            RangeSex::Male => pb::RangeSex::Male,
        } as i32,
        age_from_days: range.age_from_days,
        age_to_days: range.age_to_days,
        low: limit(range.low),
        high: limit(range.high),
        critical_low: limit(range.critical_low),
        critical_high: limit(range.critical_high),
    }
}

pub(crate) fn test_to_pb(row: &TestRow) -> pb::Test {
    pb::Test {
        code: row.code.clone(),
        name: row.name.clone(),
        section_code: row.section_code.clone(),
        loinc_class: row.loinc_class.clone(),
        specimen_type: row.specimen_type.clone(),
        container: row.container.clone(),
        result_kind: result_kind_to_pb(row.result_kind) as i32,
        unit: row.unit.clone(),
        ranges: row.ranges.0.iter().map(range_to_pb).collect(),
        member_codes: row.member_codes.clone(),
        answers: row.answers.clone(),
        normal_answers: row.normal_answers.clone(),
        active: row.active,
        etag: hmis_platform::types::Version::from_db(row.version).etag(),
    }
}

pub(crate) fn analyser_to_pb(row: &AnalyserRow) -> pb::Analyser {
    pb::Analyser {
        id: row.id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        sending_application: row.sending_application.clone(),
        sending_facility: row.sending_facility.clone(),
        facility_id: row.facility_id.to_string(),
        section_code: row.section_code.clone(),
        active: row.active,
        order_endpoint: row.order_endpoint.clone(),
    }
}

pub(crate) fn message_to_pb(row: &MessageRow) -> pb::Hl7Message {
    pb::Hl7Message {
        id: row.id.to_string(),
        analyser_code: row.analyser_code.clone(),
        control_id: row.control_id.clone(),
        message_type: row.message_type.clone(),
        receive_time: timestamp(row.received_at),
        acknowledgment_code: row.acknowledgment.clone(),
        error: row.error.clone(),
        results: row.results,
        direction: if row.outbound {
            pb::Hl7Direction::Outbound
        } else {
            pb::Hl7Direction::Inbound
        } as i32,
        delivery: match row.delivery.as_str() {
            "pending" => pb::DeliveryStatus::Pending,
            "delivered" => pb::DeliveryStatus::Delivered,
            "refused" => pb::DeliveryStatus::Refused,
            "failed" => pb::DeliveryStatus::Failed,
            _ => pb::DeliveryStatus::Unspecified,
        } as i32,
        attempts: row.attempts,
        next_attempt_time: row.next_attempt_at.and_then(timestamp),
        accession: row.accession.clone(),
    }
}

/// The order without its tests, specimens and results (`app::orders_view` adds them).
pub(crate) fn order_to_pb(row: &OrderRow) -> pb::Order {
    pb::Order {
        id: row.id.to_string(),
        referral_id: row.referral_id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        patient_id: row.patient_id.to_string(),
        admission_id: id_text(row.admission_id),
        department_id: id_text(row.department_id),
        facility_id: row.facility_id.to_string(),
        requested_by: row.requested_by.to_string(),
        priority: priority_to_pb(row.priority) as i32,
        status: status_to_pb(row.status) as i32,
        reason: row.reason.clone(),
        tests: Vec::new(),
        specimens: Vec::new(),
        results: Vec::new(),
        order_time: timestamp(row.ordered_at),
        final_time: row.final_at.and_then(timestamp),
        cancel_reason: row.cancel_reason.clone(),
    }
}

pub(crate) fn ordered_test_to_pb(row: &OrderTestRow, status: OrderStatus) -> pb::OrderedTest {
    pb::OrderedTest {
        code: row.test_code.clone(),
        name: row.test_name.clone(),
        section_code: row.section_code.clone(),
        status: status_to_pb(status) as i32,
    }
}

pub(crate) fn specimen_to_pb(row: &SpecimenRow) -> pb::Specimen {
    pb::Specimen {
        id: row.id.to_string(),
        accession: row.accession.clone(),
        order_id: row.order_id.to_string(),
        specimen_type: row.specimen_type.clone(),
        container: row.container.clone(),
        test_codes: row.test_codes.clone(),
        status: specimen_status_to_pb(row.status) as i32,
        collected_by: row.collected_by.to_string(),
        collect_time: timestamp(row.collected_at),
        received_by: id_text(row.received_by),
        receive_time: row.received_at.and_then(timestamp),
        rejection_reason: rejection_to_pb(row.rejection_reason) as i32,
        rejection_note: row.rejection_note.clone(),
        rejected_by: id_text(row.rejected_by),
        reject_time: row.rejected_at.and_then(timestamp),
    }
}

pub(crate) fn result_to_pb(row: &ResultRow, test_name: &str) -> pb::Result {
    pb::Result {
        id: row.id.to_string(),
        order_id: row.order_id.to_string(),
        test_code: row.test_code.clone(),
        test_name: test_name.to_owned(),
        value: row.value.clone(),
        unit: row.unit.clone(),
        flag: flag_to_pb(row.flag) as i32,
        reference_range: row.reference_range.clone(),
        status: result_status_to_pb(row.status) as i32,
        source: row.source.clone(),
        entered_by: row.entered_by.to_string(),
        observe_time: timestamp(row.observed_at),
        technical_validated_by: id_text(row.technical_by),
        technical_validate_time: row.technical_at.and_then(timestamp),
        medical_validated_by: id_text(row.medical_by),
        medical_validate_time: row.medical_at.and_then(timestamp),
        supersedes_id: id_text(row.supersedes_id),
        correction_reason: row.correction_reason.clone(),
        corrected: row.corrected,
    }
}

pub(crate) fn alert_to_pb(row: &AlertRow) -> pb::CriticalAlert {
    pb::CriticalAlert {
        id: row.id.to_string(),
        result_id: row.result_id.to_string(),
        order_id: row.order_id.to_string(),
        patient_id: row.patient_id.to_string(),
        department_id: id_text(row.department_id),
        facility_id: row.facility_id.to_string(),
        requested_by: row.requested_by.to_string(),
        test_code: row.test_code.clone(),
        test_name: row.test_name.clone(),
        value: row.value.clone(),
        unit: row.unit.clone(),
        flag: flag_to_pb(row.flag) as i32,
        raise_time: timestamp(row.raised_at),
        acknowledged_by: id_text(row.acknowledged_by),
        acknowledge_time: row.acknowledged_at.and_then(timestamp),
        acknowledgment_note: row.acknowledgment_note.clone(),
    }
}
