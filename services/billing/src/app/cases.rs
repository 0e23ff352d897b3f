//! DRG cases: the tenant's grouper tables, each discharged inpatient case grouped (at
//! discharge, and again while its claim is only prepared, as late diagnoses and procedures
//! land), the claim's status along the national insurer's answers, and the case-mix index.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::money::Money;
use hmis_platform::types::Version;
use hmis_proto::openhmis::billing::v1 as pb;

use super::*;
use crate::convert::case_to_pb;
use crate::domain::PayerKind;
use crate::domain::drg::{Case, Tables, days_text, weight_text};
use crate::error::Error;
use crate::store::{self, AccountRow, CaseRow, GrouperFiles};

/// What an UpdateClaim call asks for, parsed.
#[derive(Debug)]
pub(crate) struct ClaimChange {
    pub(crate) key: RequestKey,
    pub(crate) admission_id: Uuid,
    pub(crate) status: &'static str,
    pub(crate) reasons: Vec<String>,
    pub(crate) etag: Option<Version>,
}

/// The claim statuses a case is grouped again in: nothing was sent yet.
const REGROUPABLE: &[&str] = &["prepared", "not_insured"];

/// Whether a claim may move from `from` to `to`.
fn claim_moves(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("prepared", "sent")
            | ("sent", "accepted" | "rejected")
            | ("accepted", "paid")
            | ("rejected", "prepared")
    )
}

/// What a discharge tells the case, beside the diagnoses and procedures billing keeps.
#[derive(Debug, Clone)]
pub(crate) struct Discharge {
    pub(crate) facility_id: Uuid,
    pub(crate) department_id: Uuid,
    pub(crate) admit_time: DateTime<Utc>,
    pub(crate) discharge_time: DateTime<Utc>,
    pub(crate) expired: bool,
    pub(crate) transferred: bool,
}

fn age_at(birth: NaiveDate, day: NaiveDate) -> i32 {
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0)
}

/// The tenants' grouper tables as last parsed, by the row version they were parsed from: a
/// grouping asks the database only whether they changed, instead of reading and parsing
/// every table again.
#[derive(Debug, Default)]
pub(crate) struct Grouper {
    parsed: std::sync::Mutex<HashMap<Uuid, Parsed>>,
}

/// One tenant's parsed tables: (row version, grouper version, tables).
type Parsed = (String, String, Arc<Tables>);

impl Grouper {
    /// The tenant's grouper version and tables (none imported: no version, empty tables).
    async fn tables(&self, tx: &mut TenantTx) -> Result<(String, Arc<Tables>)> {
        let tenant = tx.tenant_id().as_uuid();
        let Some(stamp) = store::grouper_stamp(tx).await? else {
            return Ok((String::new(), Arc::new(Tables::default())));
        };
        if let Some((parsed_stamp, version, tables)) = self.parsed().get(&tenant)
            && *parsed_stamp == stamp
        {
            return Ok((version.clone(), tables.clone()));
        }
        let Some((stamp, (version, diagnoses, procedures, severity, drgs))) =
            store::grouper_tables(tx).await?
        else {
            return Ok((String::new(), Arc::new(Tables::default())));
        };
        let tables = Arc::new(
            Tables::from_csv(&diagnoses, &procedures, &severity, &drgs)
                .map_err(|_| Error::corrupt("grouper tables"))?,
        );
        self.parsed()
            .insert(tenant, (stamp, version.clone(), tables.clone()));
        Ok((version, tables))
    }

    fn parsed(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Parsed>> {
        // A panic while holding the lock leaves the map whole: nothing is half-inserted.
        self.parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Opens (or reopens) the case of a discharge and groups it.
pub(crate) async fn open_case(
    tx: &mut TenantTx,
    grouper: &Grouper,
    account: &AccountRow,
    admission_id: Uuid,
    discharge: &Discharge,
    zone: &chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<()> {
    let admitted = discharge.admit_time.with_timezone(zone).date_naive();
    let left = discharge.discharge_time.with_timezone(zone).date_naive();
    let row = CaseRow {
        admission_id,
        account_id: account.id,
        patient_id: account.patient_id,
        facility_id: discharge.facility_id,
        department_id: discharge.department_id,
        discharge_time: discharge.discharge_time,
        discharge_day: left,
        principal: String::new(),
        secondaries: Vec::new(),
        procedures: Vec::new(),
        age: None,
        sex: String::new(),
        expired: discharge.expired,
        transferred: discharge.transferred,
        length_of_stay: i32::try_from((left - admitted).num_days().max(0)).unwrap_or(i32::MAX),
        drg: String::new(),
        mdc: String::new(),
        title: String::new(),
        relative_weight: "0".to_owned(),
        gmlos: "0".to_owned(),
        case_weight: "0".to_owned(),
        severity: String::new(),
        surgical: false,
        claim_status: "prepared".to_owned(),
        claim_contract_id: None,
        claim_amount: None,
        rejection_reasons: Vec::new(),
        grouper_version: String::new(),
        version: 0,
    };
    group(tx, grouper, row, now).await
}

/// Groups the case of `admission_id` again, if it exists and nothing was claimed yet.
pub(crate) async fn regroup(
    tx: &mut TenantTx,
    grouper: &Grouper,
    admission_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    match store::get_case(tx, admission_id, true).await? {
        Some(case) if REGROUPABLE.contains(&case.claim_status.as_str()) => {
            group(tx, grouper, case, now).await
        }
        _ => Ok(()),
    }
}

/// Groups again the cases of a patient the registry told billing more about.
pub(crate) async fn regroup_patient(
    tx: &mut TenantTx,
    grouper: &Grouper,
    patient_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    for admission_id in store::regroupable_cases_of(tx, patient_id).await? {
        regroup(tx, grouper, admission_id, now).await?;
    }
    Ok(())
}

/// Groups `row` with the admission's diagnoses and procedures and the patient's age and sex
/// as billing knows them now, and prices its claim.
async fn group(
    tx: &mut TenantTx,
    grouper: &Grouper,
    mut row: CaseRow,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some((sex, birth_date)) = store::known_patient(tx, row.patient_id).await? {
        row.age = birth_date.map(|birth| age_at(birth, row.discharge_day));
        row.sex = sex;
    }
    let (version, tables) = grouper.tables(tx).await?;
    let diagnoses = store::diagnoses_of(tx, row.admission_id).await?;
    let principal = (diagnoses.iter().rev())
        .find(|(_, role)| role == "principal")
        .map(|(code, _)| code.clone());
    let mut secondaries: Vec<String> = Vec::new();
    for (code, role) in &diagnoses {
        if matches!(role.as_str(), "secondary" | "complication")
            && Some(code) != principal.as_ref()
            && !secondaries.contains(code)
        {
            secondaries.push(code.clone());
        }
    }
    let procedures = store::procedures_of(tx, row.account_id).await?;
    let grouped = tables.group(&Case {
        principal: principal.clone(),
        secondaries: secondaries.clone(),
        procedures: procedures.clone(),
        age: row.age,
        sex: row.sex.chars().next(),
        expired: row.expired,
        transferred: row.transferred,
        length_of_stay: i64::from(row.length_of_stay),
    });
    let national = store::coverages_on(tx, row.patient_id, row.discharge_time.date_naive())
        .await?
        .into_iter()
        .map(|(_, contract)| contract)
        .find(|contract| contract.kind == PayerKind::National);
    let claim = national.as_ref().map(|contract| {
        // The weight is in ten-thousandths, as `share` takes a fraction.
        let amount = (contract.drg_base_rate)
            .and_then(|rate| rate.share(grouped.case_weight))
            .unwrap_or(Money::ZERO);
        (contract.id, amount)
    });
    row.principal = principal.unwrap_or_default();
    row.secondaries = secondaries;
    row.procedures = procedures;
    row.drg = grouped.drg;
    row.mdc = grouped.mdc;
    row.title = grouped.title;
    row.relative_weight = weight_text(grouped.relative_weight);
    row.gmlos = days_text(grouped.gmlos);
    row.case_weight = weight_text(grouped.case_weight);
    row.severity = grouped.severity.as_str().to_owned();
    row.surgical = grouped.surgical;
    row.claim_status = if claim.is_some() {
        "prepared"
    } else {
        "not_insured"
    }
    .to_owned();
    row.claim_contract_id = claim.map(|(id, _)| id);
    row.claim_amount = claim.map(|(_, amount)| amount);
    row.rejection_reasons = Vec::new();
    row.grouper_version = version;
    store::upsert_case(tx, &row, now).await
}

impl Billing {
    pub(crate) async fn import_grouper_tables(
        &self,
        context: &RequestContext,
        message: &pb::ImportGrouperTablesRequest,
        (key, files, counts): (RequestKey, GrouperFiles, (usize, usize, usize, usize)),
    ) -> Result<pb::ImportGrouperTablesResponse> {
        let now = self.calls.now();
        let method = method("ImportGrouperTables");
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        self.calls
            .write(context, &method, &key, message, async |tx| {
                store::set_grouper_tables(tx, &files, now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::ImportGrouperTablesResponse {
                    diagnoses: count(counts.0),
                    procedures: count(counts.1),
                    severity_levels: count(counts.2),
                    drgs: count(counts.3),
                })
            })
            .await
    }

    pub(crate) async fn get_drg_case(
        &self,
        context: &RequestContext,
        admission_id: Uuid,
    ) -> Result<pb::GetDrgCaseResponse> {
        self.calls
            .read(context, async |tx| {
                let case = (store::get_case(tx, admission_id, false).await?)
                    .ok_or(Error::NotFound("DRG case"))?;
                let patients = vec![case.patient_id];
                Ok((
                    pb::GetDrgCaseResponse {
                        drg_case: Some(case_to_pb(&case)),
                    },
                    Shown::patients(patients),
                ))
            })
            .await
    }

    pub(crate) async fn list_drg_cases(
        &self,
        context: &RequestContext,
        (facility_id, from, to, status): (Uuid, NaiveDate, NaiveDate, Option<&'static str>),
    ) -> Result<pb::ListDrgCasesResponse> {
        const LISTED: usize = 500;
        let zone = self.directory.time_zone(context, facility_id).await?;
        let bounds = hmis_platform::days::days(&zone, from, to);
        self.calls
            .read(context, async |tx| {
                let mut cases =
                    store::list_cases(tx, facility_id, bounds, status, LISTED as i64 + 1).await?;
                let truncated = cases.len() > LISTED;
                cases.truncate(LISTED);
                let patients = cases.iter().map(|case| case.patient_id).collect();
                Ok((
                    pb::ListDrgCasesResponse {
                        drg_cases: cases.iter().map(case_to_pb).collect(),
                        truncated,
                    },
                    Shown::patients(patients),
                ))
            })
            .await
    }

    pub(crate) async fn update_claim(
        &self,
        context: &RequestContext,
        message: &pb::UpdateClaimRequest,
        change: ClaimChange,
    ) -> Result<pb::UpdateClaimResponse> {
        let now = self.calls.now();
        let method = method("UpdateClaim");
        self.calls
            .write(context, &method, &change.key, message, async |tx| {
                let case = match store::get_case(tx, change.admission_id, true).await? {
                    Some(case) => case,
                    None => return Err(Error::invalid("admission_id", "has no DRG case")),
                };
                if change.etag.is_some_and(|etag| etag.get() != case.version) {
                    return Err(Error::Stale("DRG case"));
                }
                if !claim_moves(&case.claim_status, change.status) {
                    return Err(Error::precondition(format!(
                        "a {} claim cannot become {}",
                        case.claim_status, change.status
                    )));
                }
                store::set_claim_status(tx, case.admission_id, change.status, &change.reasons)
                    .await?;
                record(tx, context, &[case.patient_id], now).await?;
                let case = (store::get_case(tx, case.admission_id, false).await?)
                    .ok_or(Error::NotFound("DRG case"))?;
                Ok(pb::UpdateClaimResponse {
                    drg_case: Some(case_to_pb(&case)),
                })
            })
            .await
    }

    pub(crate) async fn case_mix(
        &self,
        context: &RequestContext,
        (facility_id, from, to): (Uuid, NaiveDate, NaiveDate),
    ) -> Result<pb::GetCaseMixResponse> {
        let zone = self.directory.time_zone(context, facility_id).await?;
        let bounds = hmis_platform::days::days(&zone, from, to);
        self.calls
            .transaction(context, async |tx| {
                let rows = store::case_mix(tx, facility_id, bounds).await?;
                // Weights in ten-thousandths; the index is their mean, rounded.
                let row = |department: String, cases: i64, weight: i64| pb::CaseMixRow {
                    department_id: department,
                    cases: i32::try_from(cases).unwrap_or(i32::MAX),
                    total_weight: weight_text(weight),
                    case_mix_index: weight_text(if cases > 0 {
                        (weight + cases / 2) / cases
                    } else {
                        0
                    }),
                };
                let mut wards = Vec::with_capacity(rows.len());
                let (mut cases, mut weight) = (0_i64, 0_i64);
                for (department, count, total) in rows {
                    let total = crate::domain::drg::scaled_weight(&total)
                        .ok_or(Error::corrupt("case weight"))?;
                    cases += count;
                    weight += total;
                    wards.push(row(department.to_string(), count, total));
                }
                Ok(pb::GetCaseMixResponse {
                    wards,
                    total: Some(row(String::new(), cases, weight)),
                })
            })
            .await
    }
}
