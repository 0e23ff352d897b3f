//! The catalogue: sections, tests with their ranges and panels, analysers, the message log.

use hmis_platform::RequestContext;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::openhmis::laboratory::v1 as pb;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Laboratory, method, record};
use crate::convert;
use crate::domain::{ReferenceRange, ResultKind};
use crate::error::{Error, Result};
use crate::store::{self, AnalyserRow, SectionRow, TestRow};

/// A test to add or replace, parsed.
#[derive(Debug, Clone)]
pub(crate) struct NewTest {
    pub code: String,
    pub name: String,
    /// Empty: the section whose LOINC classes hold the test's class.
    pub section_code: String,
    pub loinc_class: String,
    pub specimen_type: String,
    pub container: String,
    pub kind: ResultKind,
    pub unit: String,
    pub ranges: Vec<ReferenceRange>,
    pub member_codes: Vec<String>,
    pub answers: Vec<String>,
    pub normal_answers: Vec<String>,
    pub active: bool,
    /// The version being replaced; none to add.
    pub version: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct NewAnalyser {
    pub key: RequestKey,
    pub code: String,
    pub name: String,
    pub sending_application: String,
    pub sending_facility: String,
    pub facility_id: Uuid,
    pub section_code: String,
    /// "host:port", or empty.
    pub order_endpoint: String,
}

impl Laboratory {
    pub(crate) async fn set_section(
        &self,
        context: &RequestContext,
        section: SectionRow,
    ) -> Result<pb::SetSectionResponse> {
        self.calls
            .transaction(context, async |tx| {
                store::upsert_section(tx, &section).await?;
                record(tx, context, &[], self.calls.now()).await?;
                Ok(pb::SetSectionResponse {
                    section: Some(convert::section_to_pb(&section)),
                })
            })
            .await
    }

    pub(crate) async fn list_sections(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListSectionsResponse> {
        self.calls
            .transaction(context, async |tx| {
                let sections = store::list_sections(tx).await?;
                Ok(pb::ListSectionsResponse {
                    sections: sections.iter().map(convert::section_to_pb).collect(),
                })
            })
            .await
    }

    /// Adds or replaces a test. A panel's members must be tests of the catalogue already; a
    /// test without a section goes to the section that takes its LOINC class.
    pub(crate) async fn set_test(
        &self,
        context: &RequestContext,
        test: NewTest,
    ) -> Result<pb::SetTestResponse> {
        self.calls
            .transaction(context, async |tx| {
                let row = self.test_row(tx, test.clone()).await?;
                let version = store::upsert_test(tx, &row, test.version).await?;
                record(tx, context, &[], self.calls.now()).await?;
                Ok(pb::SetTestResponse {
                    test: Some(convert::test_to_pb(&TestRow { version, ..row })),
                })
            })
            .await
    }

    /// Stores tests as the starter catalogue and the LOINC importer give them: each added, or
    /// replaced whatever its version. Answers how many.
    pub(crate) async fn import_tests(
        &self,
        context: &RequestContext,
        tests: Vec<NewTest>,
    ) -> Result<usize> {
        self.calls
            .transaction(context, async |tx| {
                let count = tests.len();
                for test in tests {
                    let code = test.code.clone();
                    let row = self.test_row(tx, test).await?;
                    let current = store::get_tests(tx, std::slice::from_ref(&code)).await?;
                    let version = current.first().map(|existing| existing.version);
                    store::upsert_test(tx, &row, version).await?;
                }
                record(tx, context, &[], self.calls.now()).await?;
                Ok(count)
            })
            .await
    }

    async fn test_row(&self, tx: &mut hmis_platform::TenantTx, test: NewTest) -> Result<TestRow> {
        let section_code = match test.section_code.as_str() {
            "" => store::section_for_class(tx, &test.loinc_class)
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        "test.section_code",
                        "is required: no section takes the test's LOINC class",
                    )
                })?,
            code => code.to_owned(),
        };
        if !test.member_codes.is_empty() {
            let members = store::get_tests(tx, &test.member_codes).await?;
            if let Some(missing) = test
                .member_codes
                .iter()
                .position(|code| !members.iter().any(|member| &member.code == code))
            {
                return Err(Error::invalid(
                    &format!("test.member_codes[{missing}]"),
                    "is not a test of the catalogue",
                ));
            }
            if members.iter().any(|member| !member.member_codes.is_empty()) {
                return Err(Error::invalid(
                    "test.member_codes",
                    "a panel's members are tests, not panels",
                ));
            }
        }
        let kind = if test.member_codes.is_empty() {
            test.kind
        } else {
            ResultKind::Panel
        };
        Ok(TestRow {
            code: test.code,
            name: test.name,
            section_code,
            loinc_class: test.loinc_class,
            specimen_type: test.specimen_type,
            container: test.container,
            result_kind: kind,
            unit: test.unit,
            ranges: Json(test.ranges),
            member_codes: test.member_codes,
            answers: test.answers,
            normal_answers: test.normal_answers,
            active: test.active,
            version: 1,
        })
    }

    pub(crate) async fn list_tests(
        &self,
        context: &RequestContext,
        section: Option<String>,
    ) -> Result<pb::ListTestsResponse> {
        self.calls
            .transaction(context, async |tx| {
                let tests = store::list_tests(tx, section.as_deref()).await?;
                Ok(pb::ListTestsResponse {
                    tests: tests.iter().map(convert::test_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn register_analyser(
        &self,
        context: &RequestContext,
        message: &pb::RegisterAnalyserRequest,
        analyser: NewAnalyser,
    ) -> Result<pb::RegisterAnalyserResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("RegisterAnalyser"),
                &analyser.key,
                message,
                async |tx| {
                    let row = AnalyserRow {
                        id: Uuid::now_v7(),
                        code: analyser.code.clone(),
                        name: analyser.name.clone(),
                        sending_application: analyser.sending_application.clone(),
                        sending_facility: analyser.sending_facility.clone(),
                        facility_id: analyser.facility_id,
                        section_code: analyser.section_code.clone(),
                        active: true,
                        order_endpoint: analyser.order_endpoint.clone(),
                    };
                    store::insert_analyser(tx, &row, now).await?;
                    record(tx, context, &[], now).await?;
                    Ok(pb::RegisterAnalyserResponse {
                        analyser: Some(convert::analyser_to_pb(&row)),
                    })
                },
            )
            .await
    }

    pub(crate) async fn list_analysers(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListAnalysersResponse> {
        self.calls
            .transaction(context, async |tx| {
                let analysers = store::list_analysers(tx).await?;
                Ok(pb::ListAnalysersResponse {
                    analysers: analysers.iter().map(convert::analyser_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn list_messages(
        &self,
        context: &RequestContext,
        limit: i64,
    ) -> Result<pb::ListHl7MessagesResponse> {
        self.calls
            .transaction(context, async |tx| {
                let messages = store::list_messages(tx, limit).await?;
                Ok(pb::ListHl7MessagesResponse {
                    messages: messages.iter().map(convert::message_to_pb).collect(),
                })
            })
            .await
    }
}
