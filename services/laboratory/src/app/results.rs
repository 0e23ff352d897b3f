//! Results: entered by hand or by an analyser, flagged against the patient's reference
//! range, validated technically then medically (which releases them into the patient's
//! record), corrected with the earlier value kept; critical values raised to the ward and
//! acknowledged there.

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::TenantTx;
use hmis_platform::auth::Target;
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::events::laboratory::{
    CRITICAL_VALUE_ACKNOWLEDGED, CRITICAL_VALUE_RAISED, RESULTS_RELEASED,
};
use hmis_proto::openhmis::laboratory::v1 as pb;
use uuid::Uuid;

use super::{ACKNOWLEDGE, Laboratory, PROCESS, READ, VALIDATE, authorize, method, record, settled};
use crate::convert;
use crate::domain::{
    Flag, Measure, OrderStatus, ResultKind, ResultStatus, Sex, SpecimenStatus, ValidationStage,
    age_in_days, assess, assess_coded,
};
use crate::error::{Error, Result};
use crate::store::{self, NewResult, OrderRow, OrderTestRow, ResultRow, SpecimenRow, TestRow};

/// One value for one test, as a person or an analyser gives it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub test_code: String,
    pub value: String,
    /// Checked against the test's unit when given.
    pub unit: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Validation {
    pub key: RequestKey,
    pub order_id: Uuid,
    pub stage: ValidationStage,
    pub tests: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Correction {
    pub key: RequestKey,
    pub result_id: Uuid,
    pub value: String,
    pub reason: String,
}

/// Why a value cannot be stored, said once for both ways results arrive (a person names
/// the request's field; an analyser's NACK names the OBX field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryFault {
    /// The test is not one of the order's.
    UnknownTest,
    Value(String),
    Unit(String),
    /// The test's result is final: only a correction replaces it.
    Final,
}

/// Who enters a result and how.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// "manual" or "analyser:CODE".
    pub label: String,
    pub by: Uuid,
    pub observed_at: DateTime<Utc>,
    pub message_id: Option<Uuid>,
    /// A correction's reason (it may replace a final result).
    pub correction: Option<String>,
    /// The status the result starts in (a correction by the validator is technically
    /// validated already).
    pub status: ResultStatus,
    /// What the sender flagged, for a result the laboratory cannot compare itself (text).
    pub sender_flags: String,
}

/// What entering results into one order reads once, however many values arrive: the order's
/// tests, their catalogue entries, the patient's sex and birth date, the current results
/// (kept up to date as values are entered).
pub(crate) struct Entering {
    pub order: OrderRow,
    tests: Vec<OrderTestRow>,
    catalogue: Vec<TestRow>,
    sex: Sex,
    birth: Option<chrono::NaiveDate>,
    current: Vec<ResultRow>,
    /// Entered, stored together by [`Laboratory::store_entered`].
    pending: Vec<NewResult>,
}

impl Entering {
    pub(crate) async fn load(tx: &mut TenantTx, order: OrderRow) -> Result<Self> {
        let tests = store::order_tests(tx, &[order.id]).await?;
        let codes: Vec<String> = tests.iter().map(|test| test.test_code.clone()).collect();
        let catalogue = store::get_tests(tx, &codes).await?;
        // Unknown to the registry's events (and the registry): ranges for either sex and any
        // age apply.
        let (sex, birth) = store::patient_facts(tx, order.patient_id)
            .await?
            .unwrap_or((Sex::Unknown, None));
        let current = store::current_results(tx, &[order.id]).await?;
        Ok(Self {
            order,
            tests,
            catalogue,
            sex,
            birth,
            current,
            pending: Vec::new(),
        })
    }

    /// Where the order stands with what was entered, given its specimens.
    pub(crate) fn status(&self, specimens: &[SpecimenRow]) -> OrderStatus {
        super::status_of(&self.order, &self.tests, specimens, &self.current)
    }
}

impl Laboratory {
    /// Stores one value for one test of the order: checked against the test (a number in its
    /// unit, one of its answers), flagged against the patient's range, the earlier current
    /// result superseded (kept), a critical value raised to the ward. Answers the result, or
    /// why it cannot be stored.
    pub(crate) async fn enter(
        &self,
        tx: &mut TenantTx,
        entering: &mut Entering,
        entry: &Entry,
        source: &Source,
    ) -> Result<std::result::Result<(), EntryFault>> {
        let order = &entering.order;
        if !entering
            .tests
            .iter()
            .any(|test| test.test_code == entry.test_code)
        {
            return Ok(Err(EntryFault::UnknownTest));
        }
        let test = entering
            .catalogue
            .iter()
            .find(|test| test.code == entry.test_code);
        let (sex, birth) = (entering.sex, entering.birth);
        let age = age_in_days(birth, source.observed_at.date_naive());
        let kind = test
            .map(|test| test.result_kind)
            .unwrap_or(ResultKind::Text);
        let value = entry.value.trim().to_owned();
        let (flag, range, numeric, unit) = match (kind, test) {
            (ResultKind::Numeric, Some(test)) => {
                let Ok(measure) = Measure::parse(&value) else {
                    return Ok(Err(EntryFault::Value("is not a number".into())));
                };
                if let Some(unit) = entry.unit.as_deref().filter(|unit| !unit.is_empty())
                    && unit != test.unit
                {
                    return Ok(Err(EntryFault::Unit(format!(
                        "must be the test's unit, {}",
                        test.unit
                    ))));
                }
                let (flag, range) = assess(measure, &test.ranges.0, sex, age);
                (
                    flag,
                    range,
                    Some(measure.to_decimal_string()),
                    test.unit.clone(),
                )
            }
            (ResultKind::Coded, Some(test)) => {
                let answer = test
                    .answers
                    .iter()
                    .find(|answer| answer.eq_ignore_ascii_case(&value));
                let value_known = test.answers.is_empty() || answer.is_some();
                if !value_known {
                    return Ok(Err(EntryFault::Value(
                        "is not one of the test's answers".into(),
                    )));
                }
                (
                    assess_coded(&value, &test.normal_answers),
                    String::new(),
                    None,
                    String::new(),
                )
            }
            (ResultKind::Panel, _) => {
                return Ok(Err(EntryFault::Value(
                    "a panel has no value of its own; enter its members".into(),
                )));
            }
            _ => {
                let flagged =
                    ["A", "AA", "H", "HH", "L", "LL"].contains(&source.sender_flags.as_str());
                let flag = if flagged { Flag::Abnormal } else { Flag::None };
                (
                    flag,
                    String::new(),
                    None,
                    entry.unit.clone().unwrap_or_default(),
                )
            }
        };
        let current = entering
            .current
            .iter()
            .position(|result| result.test_code == entry.test_code)
            .map(|at| entering.current.swap_remove(at));
        let mut corrected = false;
        if let Some(current) = &current {
            if current.status == ResultStatus::Final {
                if source.correction.is_none() {
                    return Ok(Err(EntryFault::Final));
                }
                corrected = true;
            }
            // One entered in this call is not stored yet: it is stored superseded.
            match entering.pending.iter_mut().find(|p| p.row.id == current.id) {
                Some(pending) => pending.row.status = ResultStatus::Superseded,
                None => store::supersede(tx, current.id).await?,
            }
        }
        let now = self.calls.now();
        let result = ResultRow {
            id: Uuid::now_v7(),
            order_id: order.id,
            patient_id: order.patient_id,
            test_code: entry.test_code.clone(),
            value,
            unit,
            flag,
            reference_range: range,
            status: source.status,
            source: source.label.clone(),
            entered_by: source.by,
            observed_at: source.observed_at,
            technical_by: (source.status == ResultStatus::Preliminary).then_some(source.by),
            technical_at: (source.status == ResultStatus::Preliminary).then_some(now),
            medical_by: None,
            medical_at: None,
            supersedes_id: current.as_ref().map(|current| current.id),
            correction_reason: source.correction.clone().unwrap_or_default(),
            corrected,
        };
        entering.current.push(result.clone());
        entering.pending.push(NewResult {
            row: result,
            numeric,
            message_id: source.message_id,
        });
        Ok(Ok(()))
    }

    /// Stores what was entered (one statement), then raises the alert of each critical value
    /// once: the ward and the ordering physician are told (`CriticalValueRaised`).
    pub(crate) async fn store_entered(
        &self,
        tx: &mut TenantTx,
        entering: &mut Entering,
    ) -> Result<()> {
        let pending = std::mem::take(&mut entering.pending);
        store::insert_results(tx, &pending).await?;
        let now = self.calls.now();
        for entered in &pending {
            if entered.row.status == ResultStatus::Superseded || !entered.row.flag.is_critical() {
                continue;
            }
            let alert_id = Uuid::now_v7();
            if store::insert_alert(tx, alert_id, &entered.row, &entering.order, now).await? {
                let alert = store::get_alert(tx, alert_id).await?;
                let event = pb::CriticalValueRaised {
                    alert: Some(convert::alert_to_pb(&alert)),
                };
                let order_id = entering.order.id.to_string();
                self.outbox
                    .publish(tx, CRITICAL_VALUE_RAISED, &order_id, &event, now)
                    .await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn record_results(
        &self,
        context: &RequestContext,
        message: &pb::RecordResultsRequest,
        (key, order_id, entries): (RequestKey, Uuid, Vec<Entry>),
    ) -> Result<pb::RecordResultsResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(context, &method("RecordResults"), &key, message, async |tx| {
                let order = store::lock_order(tx, order_id).await?;
                authorize(context, PROCESS, &order)?;
                if order.status == crate::domain::OrderStatus::Cancelled {
                    return Err(Error::precondition("the order is cancelled"));
                }
                let specimens = store::specimens_of(tx, &[order.id]).await?;
                let mut entering = Entering::load(tx, order).await?;
                let source = Source {
                    label: "manual".to_owned(),
                    by: context.user_id(),
                    observed_at: now,
                    message_id: None,
                    correction: None,
                    status: ResultStatus::Entered,
                    sender_flags: String::new(),
                };
                for (index, entry) in entries.iter().enumerate() {
                    let received = entering
                        .tests
                        .iter()
                        .find(|test| test.test_code == entry.test_code)
                        .and_then(|test| test.specimen_id)
                        .and_then(|id| specimens.iter().find(|s| s.id == id))
                        .is_some_and(|s| s.status == SpecimenStatus::Received);
                    let field = |name: &str| format!("results[{index}].{name}");
                    match self.enter(tx, &mut entering, entry, &source).await? {
                        Ok(_) if !received => {
                            return Err(Error::precondition(format!(
                                "results[{index}]: the test's specimen has not been received"
                            )));
                        }
                        Ok(_) => {}
                        Err(EntryFault::UnknownTest) => {
                            return Err(Error::invalid(&field("test_code"), "is not a test of the order"));
                        }
                        Err(EntryFault::Value(why)) => return Err(Error::invalid(&field("value"), why)),
                        Err(EntryFault::Unit(why)) => return Err(Error::invalid(&field("unit"), why)),
                        Err(EntryFault::Final) => {
                            return Err(Error::precondition(format!(
                                "results[{index}]: the test's result is final; correct it instead"
                            )));
                        }
                    }
                }
                self.store_entered(tx, &mut entering).await?;
                let order = entering.order;
                let order = settled(tx, context, &order, now).await?;
                Ok(pb::RecordResultsResponse { order: Some(order) })
            })
            .await
    }

    /// Technical validation (the bench: the run's controls were in) or medical validation (the
    /// laboratory physician: the results make sense together), which releases them.
    pub(crate) async fn validate(
        &self,
        context: &RequestContext,
        message: &pb::ValidateResultsRequest,
        validation: Validation,
    ) -> Result<pb::ValidateResultsResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("ValidateResults"),
                &validation.key,
                message,
                async |tx| {
                    let order = store::lock_order(tx, validation.order_id).await?;
                    let permission = match validation.stage {
                        ValidationStage::Technical => PROCESS,
                        ValidationStage::Medical => VALIDATE,
                    };
                    authorize(context, permission, &order)?;
                    let moved = store::validate(
                        tx,
                        order.id,
                        &validation.tests,
                        validation.stage.moves(),
                        context.user_id(),
                        now,
                    )
                    .await?;
                    if moved.is_empty() {
                        return Err(Error::precondition(format!(
                            "no result awaits {} validation",
                            validation.stage
                        )));
                    }
                    let view = settled(tx, context, &order, now).await?;
                    if validation.stage == ValidationStage::Medical {
                        let released: Vec<pb::Result> = view
                            .results
                            .iter()
                            .filter(|result| moved.iter().any(|m| m.id.to_string() == result.id))
                            .cloned()
                            .collect();
                        let event = pb::ResultsReleased {
                            order: Some(view.clone()),
                            results: released,
                        };
                        self.outbox
                            .publish(tx, RESULTS_RELEASED, &view.id, &event, now)
                            .await?;
                    }
                    Ok(pb::ValidateResultsResponse { order: Some(view) })
                },
            )
            .await
    }

    /// A new value for a result, with its reason; the earlier one stays readable. Entered by
    /// the validator, it waits for medical validation only.
    pub(crate) async fn correct(
        &self,
        context: &RequestContext,
        message: &pb::CorrectResultRequest,
        correction: Correction,
    ) -> Result<pb::CorrectResultResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("CorrectResult"),
                &correction.key,
                message,
                async |tx| {
                    let result = store::get_result(tx, correction.result_id).await?;
                    let order = store::lock_order(tx, result.order_id).await?;
                    authorize(context, VALIDATE, &order)?;
                    if result.status == ResultStatus::Superseded {
                        return Err(Error::precondition(
                            "the result was replaced already; correct the current one",
                        ));
                    }
                    let entry = Entry {
                        test_code: result.test_code.clone(),
                        value: correction.value.clone(),
                        unit: None,
                    };
                    let source = Source {
                        label: "manual".to_owned(),
                        by: context.user_id(),
                        observed_at: result.observed_at,
                        message_id: None,
                        correction: Some(correction.reason.clone()),
                        status: ResultStatus::Preliminary,
                        sender_flags: String::new(),
                    };
                    let mut entering = Entering::load(tx, order).await?;
                    match self.enter(tx, &mut entering, &entry, &source).await? {
                        Ok(_) => {}
                        Err(EntryFault::Value(why)) => return Err(Error::invalid("value", why)),
                        Err(fault) => {
                            return Err(Error::precondition(format!(
                                "the result cannot be corrected ({fault:?})"
                            )));
                        }
                    }
                    self.store_entered(tx, &mut entering).await?;
                    let order = entering.order;
                    let order = settled(tx, context, &order, now).await?;
                    Ok(pb::CorrectResultResponse { order: Some(order) })
                },
            )
            .await
    }

    pub(crate) async fn cumulative(
        &self,
        context: &RequestContext,
        (patient_id, test_code): (Uuid, String),
    ) -> Result<pb::GetCumulativeResultsResponse> {
        context.authorize_any(READ)?;
        self.calls
            .read(context, async |tx| {
                let results = store::cumulative(tx, patient_id, &test_code).await?;
                let order_ids: Vec<Uuid> = results.iter().map(|r| r.order_id).collect();
                let orders = store::get_orders(tx, &order_ids).await?;
                let shown = super::patient_shown(context, patient_id, &orders)?;
                let name = store::get_tests(tx, std::slice::from_ref(&test_code))
                    .await?
                    .pop()
                    .map(|test| test.name)
                    .unwrap_or_else(|| test_code.clone());
                Ok((
                    pb::GetCumulativeResultsResponse {
                        results: results
                            .iter()
                            .map(|result| convert::result_to_pb(result, &name))
                            .collect(),
                    },
                    shown,
                ))
            })
            .await
    }

    pub(crate) async fn alerts(
        &self,
        context: &RequestContext,
        (facility_id, department_id, unacknowledged_only): (Uuid, Option<Uuid>, bool),
    ) -> Result<pb::ListCriticalAlertsResponse> {
        let target = match department_id {
            Some(department) => Target::department(facility_id, department),
            None => Target::facility(facility_id),
        };
        context.authorize(READ, &target)?;
        self.calls
            .read(context, async |tx| {
                let alerts =
                    store::list_alerts(tx, facility_id, department_id, unacknowledged_only).await?;
                let patients = alerts.iter().map(|alert| alert.patient_id).collect();
                Ok((
                    pb::ListCriticalAlertsResponse {
                        alerts: alerts.iter().map(convert::alert_to_pb).collect(),
                    },
                    Shown::patients(patients),
                ))
            })
            .await
    }

    pub(crate) async fn acknowledge(
        &self,
        context: &RequestContext,
        message: &pb::AcknowledgeCriticalAlertRequest,
        (key, alert_id, note): (RequestKey, Uuid, String),
    ) -> Result<pb::AcknowledgeCriticalAlertResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("AcknowledgeCriticalAlert"),
                &key,
                message,
                async |tx| {
                    let alert = store::get_alert(tx, alert_id).await?;
                    let order = store::lock_order(tx, alert.order_id).await?;
                    authorize(context, ACKNOWLEDGE, &order)?;
                    if !store::acknowledge_alert(tx, alert_id, context.user_id(), &note, now)
                        .await?
                    {
                        return Err(Error::precondition("the alert was acknowledged already"));
                    }
                    let alert = convert::alert_to_pb(&store::get_alert(tx, alert_id).await?);
                    record(tx, context, &[order.patient_id], now).await?;
                    let event = pb::CriticalValueAcknowledged {
                        alert: Some(alert.clone()),
                    };
                    self.outbox
                        .publish(
                            tx,
                            CRITICAL_VALUE_ACKNOWLEDGED,
                            &alert.order_id,
                            &event,
                            now,
                        )
                        .await?;
                    Ok(pb::AcknowledgeCriticalAlertResponse { alert: Some(alert) })
                },
            )
            .await
    }
}
