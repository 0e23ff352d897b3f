//! HL7 v2 as analysers speak it: an ORU^R01 (observation results) read into plain values,
//! the ACK that answers it, and the ORM^O01 that orders a specimen's tests from an analyser
//! (with the reading of the analyser's ACK). Parsing is `hl7-parser`'s (a kept crate: it decodes escape
//! sequences and tells where the text stopped making sense); what an ORU must hold for the
//! laboratory is checked here, and a refusal names the segment and field (ERR-2, ERR-8).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use hl7_parser::Message;
use hl7_parser::builder::prelude::*;
use hl7_parser::message::Segment;

/// HL7 table 0357 codes the laboratory answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 100: a segment is out of its place.
    SegmentSequence,
    /// 101: a required field is empty.
    RequiredField,
    /// 102: a value is not of its type.
    DataType,
    /// 200: the message type is not one we take.
    UnsupportedMessageType,
    /// 204: the key (accession number, test code) is not known.
    UnknownKey,
    /// 207: the message could not be applied.
    ApplicationError,
}

impl ErrorCode {
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::SegmentSequence => "100",
            ErrorCode::RequiredField => "101",
            ErrorCode::DataType => "102",
            ErrorCode::UnsupportedMessageType => "200",
            ErrorCode::UnknownKey => "204",
            ErrorCode::ApplicationError => "207",
        }
    }

    fn text(self) -> &'static str {
        match self {
            ErrorCode::SegmentSequence => "Segment sequence error",
            ErrorCode::RequiredField => "Required field missing",
            ErrorCode::DataType => "Data type error",
            ErrorCode::UnsupportedMessageType => "Unsupported message type",
            ErrorCode::UnknownKey => "Unknown key identifier",
            ErrorCode::ApplicationError => "Application internal error",
        }
    }
}

/// Why a message is refused: where (segment, its occurrence, field) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hl7Error {
    pub segment: &'static str,
    /// 1-based occurrence of the segment in the message (0 when not known).
    pub occurrence: usize,
    /// 1-based field number (0: the segment as a whole).
    pub field: usize,
    pub code: ErrorCode,
    pub message: String,
    /// AR (rejected: do not send it again as is) or AE (error: may be fixed and sent again).
    pub rejected: bool,
}

impl Hl7Error {
    pub fn at(
        segment: &'static str,
        occurrence: usize,
        field: usize,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            segment,
            occurrence,
            field,
            code,
            message: message.into(),
            rejected: false,
        }
    }

    fn rejected(mut self) -> Self {
        self.rejected = true;
        self
    }

    /// "OBX-5", or "OBX-5 (OBX 2)" past the segment's first occurrence, as people read it.
    pub fn location(&self) -> String {
        let field = match self.field {
            0 => self.segment.to_owned(),
            field => format!("{}-{field}", self.segment),
        };
        if self.occurrence > 1 {
            format!("{field} ({} {})", self.segment, self.occurrence)
        } else {
            field
        }
    }

    /// The log's and the ERR segment's text: where, then what.
    pub fn describe(&self) -> String {
        format!("{}: {}", self.location(), self.message)
    }
}

/// One result of an ORU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Which OBX of the message it came from (1-based), to name it in a refusal.
    pub occurrence: usize,
    /// OBX-3.1: the test's code (LOINC).
    pub code: String,
    /// OBX-2: NM, SN, ST, TX, CE, CWE.
    pub value_type: String,
    /// OBX-5 decoded; a structured numeric (SN "<^0.01") as "<0.01".
    pub value: String,
    /// OBX-6.1.
    pub unit: String,
    /// OBX-8 (H, L, HH, LL, A, N).
    pub abnormal_flags: String,
    /// OBX-11: F (final), P (preliminary), C (correction), R (not verified).
    pub status: char,
    /// OBX-14, when the analyser says.
    pub observed_at: Option<DateTime<Utc>>,
}

/// The results of one specimen (an OBR and its OBX).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecimenResults {
    pub occurrence: usize,
    /// OBR-3.1 (filler order number: the accession the analyser read from the tube), else
    /// OBR-2.1.
    pub accession: String,
    pub observations: Vec<Observation>,
}

/// What the laboratory reads of an ORU^R01.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oru {
    pub header: Header,
    pub specimens: Vec<SpecimenResults>,
}

/// MSH as an answer needs it, read even from a message refused further on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub sending_application: String,
    pub sending_facility: String,
    pub receiving_application: String,
    pub receiving_facility: String,
    pub message_type: String,
    pub control_id: String,
    pub processing_id: String,
    pub version: String,
}

/// The longest control id kept (HL7 2.5 gives MSH-10 20 characters; some senders use more).
const MAX_CONTROL_ID: usize = 64;
/// The longest value kept of a result (a text result: a microscopy description).
const MAX_VALUE: usize = 4000;
/// At most this many results in one message.
const MAX_OBSERVATIONS: usize = 500;

fn text(message: &Message<'_>, value: &str) -> String {
    message.separators.decode(value).to_string()
}

/// A segment's field `number`, escapes decoded (empty when absent).
fn field_text(message: &Message<'_>, segment: &Segment<'_>, number: usize) -> String {
    segment
        .field(number)
        .map(|field| text(message, field.raw_value()))
        .unwrap_or_default()
}

/// Component `component` of a segment's field `number`, escapes decoded (empty when absent).
fn component_text(
    message: &Message<'_>,
    segment: &Segment<'_>,
    number: usize,
    component: usize,
) -> String {
    segment
        .field(number)
        .and_then(|field| field.component(component))
        .map(|component| text(message, component.raw_value()))
        .unwrap_or_default()
}

fn header(message: &Message<'_>) -> Result<Header, Hl7Error> {
    let Some(msh) = message.segment("MSH") else {
        return Err(
            Hl7Error::at("MSH", 1, 0, ErrorCode::SegmentSequence, "no MSH segment").rejected(),
        );
    };
    let field = |number: usize| field_text(message, msh, number);
    let component =
        |number: usize, component: usize| component_text(message, msh, number, component);
    let message_type = match (component(9, 1), component(9, 2)) {
        (code, event) if event.is_empty() => code,
        (code, event) => format!("{code}^{event}"),
    };
    Ok(Header {
        sending_application: component(3, 1),
        sending_facility: component(4, 1),
        receiving_application: component(5, 1),
        receiving_facility: component(6, 1),
        message_type,
        control_id: field(10),
        processing_id: component(11, 1),
        version: component(12, 1),
    })
}

/// Reads the header of a message that parses, for the answer (even to a refusal).
pub fn read_header(raw: &str) -> Option<Header> {
    let message = Message::parse_with_lenient_newlines(raw, true).ok()?;
    header(&message).ok()
}

fn timestamp(value: &str) -> Option<DateTime<Utc>> {
    // DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; local times are read as UTC when
    // no offset is given (analysers in the hospital's zone are configured to send one).
    let value = value.trim();
    let (digits, offset) = match value.find(['+', '-']) {
        Some(at) => (&value[..at], Some(&value[at..])),
        None => (value, None),
    };
    let digits = digits.split('.').next().unwrap_or_default();
    let naive = match digits.len() {
        14 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok()?,
        12 => NaiveDateTime::parse_from_str(&format!("{digits}00"), "%Y%m%d%H%M%S").ok()?,
        8 => NaiveDate::parse_from_str(digits, "%Y%m%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?,
        _ => return None,
    };
    let seconds = match offset {
        Some(offset) if offset.len() == 5 => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let hours: i32 = offset[1..3].parse().ok()?;
            let minutes: i32 = offset[3..5].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
        Some(_) => return None,
        None => 0,
    };
    let zone = chrono::FixedOffset::east_opt(seconds)?;
    zone.from_local_datetime(&naive)
        .single()
        .map(|at| at.with_timezone(&Utc))
}

/// Reads an ORU^R01: its header, then each OBR with the OBX that follow it. Anything the
/// laboratory cannot store as it stands is refused whole, naming the segment and field.
pub fn parse_oru(raw: &str) -> Result<Oru, Hl7Error> {
    let message = Message::parse_with_lenient_newlines(raw, true).map_err(|error| {
        let at = match error {
            hl7_parser::parser::ParseError::FailedToParse { position, .. } => {
                format!("the message does not parse at character {position}")
            }
            hl7_parser::parser::ParseError::IncompleteInput(_) => {
                "the message is incomplete".to_owned()
            }
        };
        Hl7Error::at("MSH", 1, 0, ErrorCode::SegmentSequence, at).rejected()
    })?;
    if message.segments.first().map(|segment| segment.name) != Some("MSH") {
        return Err(Hl7Error::at(
            "MSH",
            1,
            0,
            ErrorCode::SegmentSequence,
            "the message must begin with MSH",
        )
        .rejected());
    }
    let header = header(&message)?;
    if header.control_id.is_empty() {
        return Err(Hl7Error::at(
            "MSH",
            1,
            10,
            ErrorCode::RequiredField,
            "the control id is empty",
        )
        .rejected());
    }
    if header.control_id.chars().count() > MAX_CONTROL_ID {
        return Err(Hl7Error::at(
            "MSH",
            1,
            10,
            ErrorCode::DataType,
            format!("the control id is longer than {MAX_CONTROL_ID} characters"),
        )
        .rejected());
    }
    if header.sending_application.is_empty() {
        return Err(Hl7Error::at(
            "MSH",
            1,
            3,
            ErrorCode::RequiredField,
            "the sending application is empty",
        )
        .rejected());
    }
    if header.message_type != "ORU^R01" {
        return Err(Hl7Error::at(
            "MSH",
            1,
            9,
            ErrorCode::UnsupportedMessageType,
            "only ORU^R01 (observation results) is taken",
        )
        .rejected());
    }
    let mut specimens: Vec<SpecimenResults> = Vec::new();
    let (mut obr_seen, mut obx_seen) = (0, 0);
    for segment in message.segments() {
        match segment.name {
            "OBR" => {
                obr_seen += 1;
                let component = |number: usize| component_text(&message, segment, number, 1);
                let accession = match component(3) {
                    filler if !filler.trim().is_empty() => filler,
                    _ => component(2),
                };
                let accession = accession.trim().to_owned();
                if accession.is_empty() {
                    return Err(Hl7Error::at(
                        "OBR",
                        obr_seen,
                        3,
                        ErrorCode::RequiredField,
                        "no accession number (OBR-3, or OBR-2)",
                    ));
                }
                specimens.push(SpecimenResults {
                    occurrence: obr_seen,
                    accession,
                    observations: Vec::new(),
                });
            }
            "OBX" => {
                obx_seen += 1;
                let Some(current) = specimens.last_mut() else {
                    return Err(Hl7Error::at(
                        "OBX",
                        obx_seen,
                        0,
                        ErrorCode::SegmentSequence,
                        "an OBX before any OBR",
                    ));
                };
                if obx_seen > MAX_OBSERVATIONS {
                    return Err(Hl7Error::at(
                        "OBX",
                        obx_seen,
                        0,
                        ErrorCode::ApplicationError,
                        format!("more than {MAX_OBSERVATIONS} results in one message"),
                    )
                    .rejected());
                }
                current
                    .observations
                    .push(observation(&message, segment, obx_seen)?);
            }
            _ => {}
        }
    }
    if obr_seen == 0 {
        return Err(Hl7Error::at(
            "OBR",
            1,
            0,
            ErrorCode::SegmentSequence,
            "no OBR segment",
        ));
    }
    if obx_seen == 0 {
        return Err(Hl7Error::at(
            "OBX",
            1,
            0,
            ErrorCode::SegmentSequence,
            "no OBX segment",
        ));
    }
    Ok(Oru { header, specimens })
}

fn observation(
    message: &Message<'_>,
    segment: &Segment<'_>,
    occurrence: usize,
) -> Result<Observation, Hl7Error> {
    let err = |field: usize, code: ErrorCode, what: String| {
        Hl7Error::at("OBX", occurrence, field, code, what)
    };
    let field_text = |number: usize| field_text(message, segment, number);
    let component =
        |number: usize, component: usize| component_text(message, segment, number, component);
    let value_type = field_text(2).trim().to_owned();
    let code = component(3, 1).trim().to_owned();
    if code.is_empty() {
        return Err(err(
            3,
            ErrorCode::RequiredField,
            "the test code is empty".into(),
        ));
    }
    if code.chars().count() > 32 {
        return Err(err(
            3,
            ErrorCode::DataType,
            "the test code is too long".into(),
        ));
    }
    let value = match value_type.as_str() {
        "NM" | "ST" | "TX" | "FT" => field_text(5),
        "CE" | "CWE" => match component(5, 2) {
            text if !text.is_empty() => text,
            _ => component(5, 1),
        },
        "SN" => {
            // <comparator>^<num1>[^<separator>^<num2>]
            let comparator = component(5, 1);
            let number = component(5, 2);
            format!("{}{}", comparator.trim(), number.trim())
        }
        "" => {
            return Err(err(
                2,
                ErrorCode::RequiredField,
                "the value type is empty".into(),
            ));
        }
        _ => {
            return Err(err(
                2,
                ErrorCode::DataType,
                "the value type must be NM, SN, ST, TX, FT, CE or CWE".into(),
            ));
        }
    };
    let value = value.trim().to_owned();
    if value.is_empty() {
        return Err(err(
            5,
            ErrorCode::RequiredField,
            "the value is empty".into(),
        ));
    }
    if value.chars().count() > MAX_VALUE {
        return Err(err(
            5,
            ErrorCode::DataType,
            format!("the value is longer than {MAX_VALUE} characters"),
        ));
    }
    if value_type == "NM" && crate::domain::Measure::parse(&value).is_err() {
        return Err(err(
            5,
            ErrorCode::DataType,
            "an NM value is not a number".into(),
        ));
    }
    let status = field_text(11).trim().chars().next().unwrap_or('F');
    if !matches!(status, 'F' | 'P' | 'C' | 'R') {
        return Err(err(
            11,
            ErrorCode::DataType,
            "the result status must be F, P, C or R".into(),
        ));
    }
    let observed = field_text(14);
    let observed_at = match observed.trim() {
        "" => None,
        text => Some(timestamp(text).ok_or_else(|| {
            err(
                14,
                ErrorCode::DataType,
                "the observation time is not an HL7 timestamp".into(),
            )
        })?),
    };
    Ok(Observation {
        occurrence,
        code,
        value_type,
        value,
        unit: component(6, 1).trim().to_owned(),
        abnormal_flags: field_text(8).trim().to_owned(),
        status,
        observed_at,
    })
}

/// The acknowledgment of a message: AA, or AE/AR with an ERR segment naming where it failed.
/// `header` is what could be read of the message (empty when nothing could).
pub fn acknowledgment(
    header: &Header,
    control_id: &str,
    now: DateTime<Utc>,
    error: Option<&Hl7Error>,
) -> String {
    let code = match error {
        None => "AA",
        Some(error) if error.rejected => "AR",
        Some(_) => "AE",
    };
    let version = if header.version.is_empty() {
        "2.5"
    } else {
        header.version.as_str()
    };
    let mut msh = SegmentBuilder::new("MSH")
        .with_field_value(3, header.receiving_application.clone())
        .with_field_value(4, header.receiving_facility.clone())
        .with_field_value(5, header.sending_application.clone())
        .with_field_value(6, header.sending_facility.clone())
        .with_field_value(7, now.format("%Y%m%d%H%M%S").to_string())
        .with_field(
            9,
            FieldBuilder::default()
                .with_component(1, "ACK")
                .with_component(2, "R01")
                .with_component(3, "ACK"),
        )
        .with_field_value(10, control_id.to_owned())
        .with_field_value(12, version.to_owned());
    if !header.processing_id.is_empty() {
        msh = msh.with_field_value(11, header.processing_id.clone());
    } else {
        msh = msh.with_field_value(11, "P");
    }
    let mut ack = MessageBuilder::new(Separators::default())
        .with_segment(msh)
        .with_segment(
            SegmentBuilder::new("MSA")
                .with_field_value(1, code)
                .with_field_value(2, header.control_id.clone()),
        );
    if let Some(error) = error {
        let mut location = FieldBuilder::default().with_component(1, error.segment);
        if error.occurrence > 0 {
            location = location.with_component(2, error.occurrence.to_string());
        }
        if error.field > 0 {
            location = location.with_component(3, error.field.to_string());
        }
        ack = ack.with_segment(
            SegmentBuilder::new("ERR")
                .with_field(2, location)
                .with_field(
                    3,
                    FieldBuilder::default()
                        .with_component(1, error.code.code())
                        .with_component(2, error.code.text())
                        .with_component(3, "HL70357"),
                )
                .with_field_value(4, "E")
                .with_field_value(8, error.describe()),
        );
    }
    ack.to_string()
}

/// A specimen's tests ordered from one analyser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderMessage {
    /// MSH-5 and MSH-6: the analyser as its own messages name it.
    pub analyser_application: String,
    pub analyser_facility: String,
    pub control_id: String,
    /// PID-3 (the patient's id), PID-7 (birth date) and PID-8 (F, M or U).
    pub patient_id: String,
    pub birth_date: Option<NaiveDate>,
    pub sex: &'static str,
    /// ORC-2 and OBR-2 (placer order number): the tube's accession number, which the
    /// analyser sends back in its results.
    pub accession: String,
    /// OBR-15: the specimen type ("serum").
    pub specimen_type: String,
    /// ORC-7.6: S (stat), A (as soon as possible) or R (routine).
    pub priority: &'static str,
    pub collected_at: DateTime<Utc>,
    /// (LOINC code, name) of each test: one ORC and OBR each.
    pub tests: Vec<(String, String)>,
}

fn hl7_time(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d%H%M%S+0000").to_string()
}

/// The ORM^O01 (new order) of a specimen's tests, escapes encoded by the builder.
pub fn order_message(order: &OrderMessage, now: DateTime<Utc>) -> String {
    let msh = SegmentBuilder::new("MSH")
        .with_field_value(3, "OPENHMIS")
        .with_field_value(4, "OPENHMIS")
        .with_field_value(5, order.analyser_application.clone())
        .with_field_value(6, order.analyser_facility.clone())
        .with_field_value(7, hl7_time(now))
        .with_field(
            9,
            FieldBuilder::default()
                .with_component(1, "ORM")
                .with_component(2, "O01")
                .with_component(3, "ORM_O01"),
        )
        .with_field_value(10, order.control_id.clone())
        .with_field_value(11, "P")
        .with_field_value(12, "2.5");
    let pid = SegmentBuilder::new("PID")
        .with_field_value(1, "1")
        .with_field(
            3,
            FieldBuilder::default()
                .with_component(1, order.patient_id.clone())
                .with_component(4, "OPENHMIS")
                .with_component(5, "PI"),
        )
        .with_field_value(
            7,
            order
                .birth_date
                .map(|date| date.format("%Y%m%d").to_string())
                .unwrap_or_default(),
        )
        .with_field_value(8, order.sex);
    let mut message = MessageBuilder::new(Separators::default())
        .with_segment(msh)
        .with_segment(pid);
    for (index, (code, name)) in order.tests.iter().enumerate() {
        message = message
            .with_segment(
                SegmentBuilder::new("ORC")
                    .with_field_value(1, "NW")
                    .with_field_value(2, order.accession.clone())
                    .with_field(7, FieldBuilder::default().with_component(6, order.priority))
                    .with_field_value(9, hl7_time(now)),
            )
            .with_segment(
                SegmentBuilder::new("OBR")
                    .with_field_value(1, (index + 1).to_string())
                    .with_field_value(2, order.accession.clone())
                    .with_field(
                        4,
                        FieldBuilder::default()
                            .with_component(1, code.clone())
                            .with_component(2, name.clone())
                            .with_component(3, "LN"),
                    )
                    .with_field_value(7, hl7_time(order.collected_at))
                    .with_field_value(15, order.specimen_type.clone()),
            );
    }
    message.to_string()
}

/// What an answer acknowledges: MSA-1 (AA, AE, AR; CA, CE, CR in enhanced mode) and the
/// error's words (ERR-8, else MSA-3), or none when the answer is not an acknowledgment.
pub fn read_acknowledgment(raw: &str) -> Option<(String, String)> {
    let message = Message::parse_with_lenient_newlines(raw, true).ok()?;
    let msa = message.segment("MSA")?;
    let code = field_text(&message, msa, 1).trim().to_owned();
    if code.is_empty() {
        return None;
    }
    let words = message
        .segment("ERR")
        .map(|err| field_text(&message, err, 8))
        .filter(|words| !words.trim().is_empty())
        .unwrap_or_else(|| field_text(&message, msa, 3));
    Some((code, words.chars().take(500).collect()))
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_order_message_reads_back_with_its_tests_and_escapes() {
        let order = OrderMessage {
            analyser_application: "COBAS".into(),
            analyser_facility: "LAB1".into(),
            control_id: "260000042-1".into(),
            patient_id: "0190a1b2".into(),
            birth_date: NaiveDate::from_ymd_opt(1961, 5, 17),
            sex: "F",
            accession: "260000042".into(),
            specimen_type: "serum".into(),
            priority: "S",
            collected_at: Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap(),
            tests: vec![
                ("2823-3".into(), "Potassium".into()),
                ("2951-2".into(), "Sodium | Na^+".into()),
            ],
        };
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap();
        let raw = order_message(&order, now);
        let message = Message::parse_with_lenient_newlines(&raw, true).expect("parses");
        let msh = message.segment("MSH").expect("MSH");
        assert_eq!(component_text(&message, msh, 9, 1), "ORM");
        assert_eq!(field_text(&message, msh, 10), "260000042-1");
        let pid = message.segment("PID").expect("PID");
        assert_eq!(field_text(&message, pid, 7), "19610517");
        let obrs: Vec<_> = message.segments().filter(|s| s.name == "OBR").collect();
        assert_eq!(obrs.len(), 2);
        assert_eq!(field_text(&message, obrs[0], 2), "260000042");
        assert_eq!(component_text(&message, obrs[1], 4, 2), "Sodium | Na^+");
        let orc = message.segment("ORC").expect("ORC");
        assert_eq!(component_text(&message, orc, 7, 6), "S");
    }

    #[test]
    fn acknowledgments_read_their_code_and_words() {
        let header = Header {
            sending_application: "OPENHMIS".into(),
            control_id: "C1".into(),
            ..Default::default()
        };
        let now = Utc::now();
        let ok = acknowledgment(&header, "A1", now, None);
        assert_eq!(read_acknowledgment(&ok), Some(("AA".into(), String::new())));
        let error = Hl7Error::at(
            "OBR",
            1,
            4,
            ErrorCode::UnknownKey,
            "test 9999-9 not on this analyser",
        );
        let refused = acknowledgment(&header, "A2", now, Some(&error));
        let (code, words) = read_acknowledgment(&refused).expect("an acknowledgment");
        assert_eq!(code, "AE");
        assert!(words.contains("9999-9"), "{words}");
        assert_eq!(read_acknowledgment("not hl7"), None);
    }

    use super::*;

    const ORU: &str = "MSH|^~\\&|COBAS|LAB1|OPENHMIS|HOSP|20261206101500||ORU^R01|MSG0001|P|2.5\r\
PID|1||P123\r\
OBR|1||260000042|24356-8^Panel^LN\r\
OBX|1|NM|2823-3^Potassium^LN||6.9|mmol/L|3.5-5.1|HH|||F|||20261206101000+0200\r\
OBX|2|SN|10839-9^Troponin I^LN||<^0.01|ng/mL||N|||F\r\
OBX|3|CWE|600-7^Culture^LN||NG^No growth^L||||||P\r";

    #[test]
    fn an_oru_reads_into_its_specimens_and_results() {
        let oru = parse_oru(ORU).expect("parses");
        assert_eq!(oru.header.control_id, "MSG0001");
        assert_eq!(oru.header.sending_application, "COBAS");
        assert_eq!(oru.header.sending_facility, "LAB1");
        assert_eq!(oru.specimens.len(), 1);
        let results = &oru.specimens[0].observations;
        assert_eq!(oru.specimens[0].accession, "260000042");
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].code, "2823-3");
        assert_eq!(results[0].value, "6.9");
        assert_eq!(results[0].unit, "mmol/L");
        assert_eq!(results[0].abnormal_flags, "HH");
        assert_eq!(
            results[0].observed_at.map(|at| at.to_rfc3339()),
            Some("2026-12-06T08:10:00+00:00".to_owned())
        );
        assert_eq!(results[1].value, "<0.01");
        assert_eq!(results[2].value, "No growth");
        assert_eq!(results[2].status, 'P');
    }

    #[test]
    fn refusals_name_the_segment_and_field() {
        let cases = [
            ("", "MSH"),
            ("PID|1\r", "MSH"),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01||P|2.5\rOBR|1||1\rOBX|1|NM|1^x||1\r",
                "MSH-10",
            ),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ADT^A01|1|P|2.5\r",
                "MSH-9",
            ),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01|1|P|2.5\rOBX|1|NM|1^x||1\r",
                "OBX",
            ),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01|1|P|2.5\rOBR|1\rOBX|1|NM|1^x||1\r",
                "OBR-3",
            ),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01|1|P|2.5\rOBR|1||9\rOBX|1|NM|1^x||abc\r",
                "OBX-5",
            ),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01|1|P|2.5\rOBR|1||9\rOBX|1|NM|1^x||1\rOBX|2|NM|||1\r",
                "OBX-3 (OBX 2)",
            ),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01|1|P|2.5\rOBR|1||9\rOBX|1|ZZ|1^x||1\r",
                "OBX-2",
            ),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01|1|P|2.5\rOBR|1||9\rOBX|1|NM|1^x||1||||||X\r",
                "OBX-11",
            ),
            (
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01|1|P|2.5\rOBR|1||9\rOBX|1|NM|1^x||1||||||F|||2026-12\r",
                "OBX-14",
            ),
        ];
        for (raw, location) in cases {
            let error = parse_oru(raw).expect_err(raw);
            assert_eq!(error.location(), location, "{raw:?}: {}", error.describe());
        }
    }

    #[test]
    fn the_answer_acknowledges_the_control_id_and_names_the_error() {
        let header = read_header(ORU).expect("a header");
        let now = Utc
            .with_ymd_and_hms(2026, 12, 6, 10, 0, 0)
            .single()
            .unwrap_or_default();
        let ack = acknowledgment(&header, "ACK1", now, None);
        assert!(
            ack.starts_with(
                "MSH|^~\\&|OPENHMIS|HOSP|COBAS|LAB1|20261206100000||ACK^R01^ACK|ACK1|P|2.5\r"
            ),
            "{ack}"
        );
        assert!(ack.ends_with("MSA|AA|MSG0001"), "{ack}");
        let error = Hl7Error::at(
            "OBX",
            2,
            5,
            ErrorCode::DataType,
            "an NM value is not a number",
        );
        let nack = acknowledgment(&header, "ACK2", now, Some(&error));
        assert!(nack.contains("\rMSA|AE|MSG0001\rERR||OBX^2^5|102^Data type error^HL70357|E||||OBX-5 (OBX 2): an NM value is not a number"), "{nack}");
        let parsed = Message::parse(&nack).expect("the NACK parses");
        assert_eq!(
            parsed
                .segment("MSA")
                .and_then(|msa| msa.field(1))
                .map(|f| f.raw_value()),
            Some("AE")
        );
    }
}
