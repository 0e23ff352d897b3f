//! Charges captured from what other modules publish, never keyed in: bed-days at discharge
//! (by the care level of each ward of the stay), procedures, operations, stock issued to a
//! patient (and credited when it comes back), emergency visits, outpatient visits (priced by
//! the clinic's code) and registration fees (only where priced). Each charge names the fact
//! it charges (`source_key`), so a redelivered event charges nothing twice; an undone source
//! (a discharge undone, an admission cancelled) reverses its charges once.

use chrono::{DateTime, Utc};
use hmis_platform::amount::Amount;
use hmis_platform::money::Money;

use super::cases::{Discharge, Grouper, open_case, regroup, regroup_patient};
use super::*;
use crate::domain::{
    CLINIC_CODE_SYSTEM, ChargeSource, DEFAULT_CARE_LEVEL, DIET_CODE_SYSTEM, EMERGENCY_VISIT_CODE,
    OWN_CODE_SYSTEM, PayerKind, Percent, Period, REGISTRATION_FEE_CODE, Split, TariffKind,
    TariffUnit, accommodation_units, package_key, split, supply_price,
};
use crate::error::Error;
use crate::store::{self, AccountRow, AdmissionFacts, ChargeRow};

/// How long stock issued on a ward waits for its admission to be known to billing before it
/// is charged to the patient's outpatient account: the admissions outbox and the inventory
/// outbox are not ordered with each other.
const ADMISSION_WAIT: chrono::Duration = chrono::Duration::minutes(2);

/// One ward (and bed) period of an admission.
#[derive(Debug, Clone)]
pub(crate) struct StayPeriod {
    pub(crate) id: Uuid,
    pub(crate) department_id: Uuid,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: Option<DateTime<Utc>>,
}

/// An admission as its events carry it.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    pub(crate) facts: AdmissionFacts,
    pub(crate) stays: Vec<StayPeriod>,
    /// How the discharge ended, for the DRG: the patient died; went to another facility.
    pub(crate) expired: bool,
    pub(crate) transferred: bool,
}

/// What an event tells billing.
#[derive(Debug, Clone)]
pub(crate) enum Captured {
    /// Admitted, transferred, converted: the account follows the admission.
    AdmissionChanged(Admission),
    /// The stay's bed-days are charged.
    Discharged(Admission),
    /// The bed-days charged at the discharge are reversed.
    DischargeUndone(Admission),
    /// Every charge of the admission is reversed.
    AdmissionCancelled(Admission),
    Procedure {
        procedure_id: Uuid,
        patient_id: Uuid,
        admission_id: Option<Uuid>,
        code: String,
        display: String,
        at: DateTime<Utc>,
        performer_id: Option<Uuid>,
        department_id: Option<Uuid>,
    },
    /// Laboratory or imaging investigations ordered: each charged as the order lands.
    Investigations {
        referral_id: Uuid,
        patient_id: Uuid,
        admission_id: Option<Uuid>,
        /// "loinc" (laboratory) or "achi" (imaging).
        code_system: &'static str,
        codes: Vec<String>,
        at: DateTime<Utc>,
        physician_id: Option<Uuid>,
        department_id: Option<Uuid>,
    },
    Operation {
        operation_id: Uuid,
        patient_id: Uuid,
        admission_id: Option<Uuid>,
        /// (code, display) of each procedure.
        procedures: Vec<(String, String)>,
        at: DateTime<Utc>,
        surgeon_id: Option<Uuid>,
        department_id: Uuid,
    },
    Stock {
        movement_id: Uuid,
        patient_id: Uuid,
        /// For a return: the issue it returns.
        returns: Option<Uuid>,
        item_code: String,
        item_name: String,
        base_unit: String,
        quantity: Amount,
        /// The unit cost in ten-thousandths.
        unit_cost: i64,
        at: DateTime<Utc>,
        department_id: Option<Uuid>,
    },
    /// The registry's sex and birth date of a patient: kept for DRG cases.
    Patient {
        patient_id: Uuid,
        version: i64,
        /// "M", "F" or "".
        sex: &'static str,
        birth_date: Option<chrono::NaiveDate>,
    },
    /// A diagnosis of an admission: kept for its DRG case.
    Diagnosis {
        diagnosis_id: Uuid,
        admission_id: Uuid,
        code: String,
        /// admitting, principal, secondary or complication.
        role: &'static str,
        at: DateTime<Utc>,
    },
    EmergencyVisit {
        visit_id: Uuid,
        patient_id: Uuid,
        admission_id: Option<Uuid>,
        at: DateTime<Utc>,
        department_id: Uuid,
    },
    /// An outpatient visit ended (scheduling's `VisitCompleted`), priced by its clinic's code.
    OutpatientVisit {
        ticket_id: Uuid,
        patient_id: Uuid,
        clinic_code: String,
        at: DateTime<Utc>,
        department_id: Uuid,
        clinician_id: Option<Uuid>,
    },
    /// Patients' meals of a ward's meal order (nutrition's `MealOrderSent`, and the lines an
    /// amendment adds): charged where a tariff prices the diet, taken back when taken back.
    Meals {
        order_id: Uuid,
        at: DateTime<Utc>,
        department_id: Uuid,
        lines: Vec<MealLine>,
    },
    /// A patient checked in at an outpatient clinic: a registration fee, where one is priced.
    CheckedIn {
        ticket_id: Uuid,
        patient_id: Uuid,
        at: DateTime<Utc>,
        department_id: Uuid,
    },
}

/// A patient's meal on a meal order: served (a portion) or taken back (an amendment).
#[derive(Debug, Clone)]
pub(crate) struct MealLine {
    pub(crate) patient_id: Uuid,
    pub(crate) admission_id: Uuid,
    pub(crate) diet_code: String,
    pub(crate) served: bool,
}

/// Why an event was not charged now: it will be offered again.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotYet {
    #[error("the patient's admission is not known to billing yet")]
    AdmissionUnknown,
    #[error(transparent)]
    Failed(#[from] Error),
}

/// A charge about to be written, before its split.
struct Pricing {
    source: ChargeSource,
    source_key: String,
    code_system: String,
    code: String,
    description: String,
    quantity: Amount,
    unit_price: Option<Money>,
    service_group: String,
    service_time: DateTime<Utc>,
    department_id: Option<Uuid>,
    physician_id: Option<Uuid>,
}

impl Billing {
    /// Takes captured facts of one tenant in order, in one transaction of that tenant: all
    /// or nothing.
    pub(crate) async fn capture(
        &self,
        context: &RequestContext,
        captured: Vec<Captured>,
    ) -> std::result::Result<(), NotYet> {
        // The register is read before the transaction: a discharge's facility time zone
        // (bed-days, the length of stay).
        let mut zones = Vec::with_capacity(captured.len());
        for fact in &captured {
            zones.push(match fact {
                Captured::Discharged(admission) => Some(
                    self.directory
                        .time_zone(context, admission.facts.facility_id)
                        .await?,
                ),
                _ => None,
            });
        }
        let now = self.calls.now();
        let mut tx = (self.calls.database())
            .begin_following(
                context.tenant_id().map_err(Error::from)?,
                &context.request_id,
            )
            .await
            .map_err(Error::from)?;
        for (fact, zone) in captured.into_iter().zip(zones) {
            take(&mut tx, &self.grouper, fact, zone, now).await?;
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(())
    }
}

/// Takes one captured fact in the transaction.
async fn take(
    tx: &mut TenantTx,
    grouper: &Grouper,
    captured: Captured,
    zone: Option<chrono_tz::Tz>,
    now: DateTime<Utc>,
) -> std::result::Result<(), NotYet> {
    match captured {
        Captured::AdmissionChanged(admission) => {
            store::follow_admission(tx, &admission.facts, now).await?;
        }
        Captured::Discharged(admission) => {
            let account = keep(tx, &admission, now).await?;
            let zone = zone.unwrap_or(chrono_tz::UTC);
            charge_stay(tx, &account, &admission, &zone, now).await?;
            if let (Some(discharge_time), Some(last)) =
                (admission.facts.discharge_time, admission.stays.last())
            {
                let discharge = Discharge {
                    facility_id: admission.facts.facility_id,
                    department_id: last.department_id,
                    admit_time: admission.facts.admit_time,
                    discharge_time,
                    expired: admission.expired,
                    transferred: admission.transferred,
                };
                let id = admission.facts.admission_id;
                open_case(tx, grouper, &account, id, &discharge, &zone, now).await?;
            }
        }
        Captured::DischargeUndone(admission) => {
            let account = keep(tx, &admission, now).await?;
            reverse_all(tx, &account, Some(ChargeSource::Accommodation), now).await?;
            store::void_case(tx, admission.facts.admission_id).await?;
        }
        Captured::AdmissionCancelled(admission) => {
            let account = keep(tx, &admission, now).await?;
            reverse_all(tx, &account, None, now).await?;
            store::void_case(tx, admission.facts.admission_id).await?;
        }
        Captured::Patient {
            patient_id,
            version,
            sex,
            birth_date,
        } => {
            store::keep_patient(tx, patient_id, version, (sex, birth_date)).await?;
            regroup_patient(tx, grouper, patient_id, now).await?;
        }
        Captured::Diagnosis {
            diagnosis_id,
            admission_id,
            code,
            role,
            at,
        } => {
            store::keep_diagnosis(tx, (diagnosis_id, admission_id), &code, role, at).await?;
            regroup(tx, grouper, admission_id, now).await?;
        }
        Captured::Procedure {
            procedure_id,
            patient_id,
            admission_id,
            code,
            display,
            at,
            performer_id,
            department_id,
        } => {
            let account = account_for(tx, patient_id, admission_id, now).await?;
            let pricing = service(tx, &code, display, at).await?;
            let pricing = Pricing {
                source: ChargeSource::Procedure,
                source_key: format!("procedure:{procedure_id}"),
                department_id,
                physician_id: performer_id,
                ..pricing
            };
            charge(tx, &account, pricing, now).await?;
            if let Some(admission_id) = admission_id {
                regroup(tx, grouper, admission_id, now).await?;
            }
        }
        Captured::Investigations {
            referral_id,
            patient_id,
            admission_id,
            code_system,
            codes,
            at,
            physician_id,
            department_id,
        } => {
            let account = account_for(tx, patient_id, admission_id, now).await?;
            for code in codes {
                let pricing = service_of(tx, code_system, &code, String::new(), at).await?;
                let pricing = Pricing {
                    source: ChargeSource::Investigation,
                    source_key: format!("referral:{referral_id}:{code}"),
                    department_id,
                    physician_id,
                    ..pricing
                };
                charge(tx, &account, pricing, now).await?;
            }
        }
        Captured::Operation {
            operation_id,
            patient_id,
            admission_id,
            procedures,
            at,
            surgeon_id,
            department_id,
        } => {
            let account = account_for(tx, patient_id, admission_id, now).await?;
            for (code, display) in procedures {
                let pricing = service(tx, &code, display, at).await?;
                let pricing = Pricing {
                    source: ChargeSource::Operation,
                    source_key: format!("operation:{operation_id}:{code}"),
                    department_id: Some(department_id),
                    physician_id: surgeon_id,
                    ..pricing
                };
                charge(tx, &account, pricing, now).await?;
            }
            if let Some(admission_id) = admission_id {
                regroup(tx, grouper, admission_id, now).await?;
            }
        }
        Captured::Stock {
            movement_id,
            patient_id,
            returns,
            item_code,
            item_name,
            base_unit,
            quantity,
            unit_cost,
            at,
            department_id,
        } => {
            if let Some(issue_id) = returns {
                credit_return(tx, movement_id, issue_id, quantity, &base_unit, now).await?;
            } else {
                let account = match store::inpatient_account_at(tx, patient_id, at).await? {
                    Some(account) => account,
                    None if department_id.is_some() && now - at < ADMISSION_WAIT => {
                        return Err(NotYet::AdmissionUnknown);
                    }
                    None => store::outpatient_account(tx, patient_id, now).await?,
                };
                let tariff =
                    store::tariff_on(tx, TariffKind::Supply, "", &item_code, at.date_naive())
                        .await?;
                let unit_price = tariff.as_ref().and_then(|tariff| {
                    let margin =
                        Percent::from_basis_points(i64::from(tariff.margin_bp.unwrap_or(0)));
                    supply_price(unit_cost, margin)
                });
                let pricing = Pricing {
                    source: ChargeSource::Supply,
                    source_key: format!("movement:{movement_id}"),
                    code_system: String::new(),
                    code: item_code,
                    description: format!("{item_name} ({base_unit})"),
                    quantity,
                    unit_price,
                    service_group: tariff
                        .map(|tariff| tariff.service_group)
                        .unwrap_or_default(),
                    service_time: at,
                    department_id,
                    physician_id: None,
                };
                charge(tx, &account, pricing, now).await?;
            }
        }
        Captured::EmergencyVisit {
            visit_id,
            patient_id,
            admission_id,
            at,
            department_id,
        } => {
            let account = account_for(tx, patient_id, admission_id, now).await?;
            let tariff = store::tariff_on(
                tx,
                TariffKind::Service,
                OWN_CODE_SYSTEM,
                EMERGENCY_VISIT_CODE,
                at.date_naive(),
            )
            .await?;
            let pricing = Pricing {
                source: ChargeSource::EmergencyVisit,
                source_key: format!("emergency_visit:{visit_id}"),
                code_system: OWN_CODE_SYSTEM.to_owned(),
                code: EMERGENCY_VISIT_CODE.to_owned(),
                description: (tariff.as_ref())
                    .map_or_else(|| "Emergency visit".to_owned(), |t| t.name.clone()),
                quantity: one(),
                unit_price: tariff.as_ref().and_then(|tariff| tariff.price),
                service_group: tariff.map(|t| t.service_group).unwrap_or_default(),
                service_time: at,
                department_id: Some(department_id),
                physician_id: None,
            };
            charge(tx, &account, pricing, now).await?;
        }
        Captured::OutpatientVisit {
            ticket_id,
            patient_id,
            clinic_code,
            at,
            department_id,
            clinician_id,
        } => {
            let account = store::outpatient_account(tx, patient_id, now).await?;
            let tariff = store::tariff_on(
                tx,
                TariffKind::Service,
                CLINIC_CODE_SYSTEM,
                &clinic_code,
                at.date_naive(),
            )
            .await?;
            let pricing = Pricing {
                source: ChargeSource::OutpatientVisit,
                source_key: format!("outpatient_visit:{ticket_id}"),
                code_system: CLINIC_CODE_SYSTEM.to_owned(),
                code: clinic_code,
                description: (tariff.as_ref())
                    .map_or_else(|| "Outpatient visit".to_owned(), |t| t.name.clone()),
                quantity: one(),
                unit_price: tariff.as_ref().and_then(|tariff| tariff.price),
                service_group: tariff.map(|t| t.service_group).unwrap_or_default(),
                service_time: at,
                department_id: Some(department_id),
                physician_id: clinician_id,
            };
            charge(tx, &account, pricing, now).await?;
        }
        Captured::Meals {
            order_id,
            at,
            department_id,
            lines,
        } => {
            for line in lines {
                charge_meal(tx, (order_id, at, department_id), line, now).await?;
            }
        }
        Captured::CheckedIn {
            ticket_id,
            patient_id,
            at,
            department_id,
        } => {
            let tariff = store::tariff_on(
                tx,
                TariffKind::Service,
                OWN_CODE_SYSTEM,
                REGISTRATION_FEE_CODE,
                at.date_naive(),
            )
            .await?;
            // No registration fee unless the tenant prices one.
            let Some(tariff) = tariff else {
                return Ok(());
            };
            let account = store::outpatient_account(tx, patient_id, now).await?;
            let pricing = Pricing {
                source: ChargeSource::Registration,
                source_key: format!("registration:{ticket_id}"),
                code_system: OWN_CODE_SYSTEM.to_owned(),
                code: REGISTRATION_FEE_CODE.to_owned(),
                description: tariff.name.clone(),
                quantity: one(),
                unit_price: tariff.price,
                service_group: tariff.service_group,
                service_time: at,
                department_id: Some(department_id),
                physician_id: None,
            };
            charge(tx, &account, pricing, now).await?;
        }
    }
    Ok(())
}

/// Charges a patient's meal where its diet is priced (once per order, patient and diet), or
/// takes it back (the reversal of that charge, once).
async fn charge_meal(
    tx: &mut TenantTx,
    (order_id, at, department_id): (Uuid, DateTime<Utc>, Uuid),
    line: MealLine,
    now: DateTime<Utc>,
) -> Result<()> {
    let source_key = format!("meal:{order_id}:{}:{}", line.patient_id, line.diet_code);
    if !line.served {
        let charged = store::charge_by_source(tx, &source_key).await?;
        if let Some(charged) = charged {
            let reversal = format!("reversal:{}", charged.id);
            if store::charge_by_source(tx, &reversal).await?.is_none() {
                reverse(tx, charged, "the meal was taken back".to_owned(), now).await?;
            }
        }
        return Ok(());
    }
    let tariff = store::tariff_on(
        tx,
        TariffKind::Service,
        DIET_CODE_SYSTEM,
        &line.diet_code,
        at.date_naive(),
    )
    .await?;
    // Meals are in the price of a stay unless the tenant prices a diet.
    let Some(tariff) = tariff else {
        return Ok(());
    };
    let account = store::admission_account(tx, line.admission_id, line.patient_id, now).await?;
    let pricing = Pricing {
        source: ChargeSource::Meal,
        source_key,
        code_system: DIET_CODE_SYSTEM.to_owned(),
        code: line.diet_code,
        description: tariff.name.clone(),
        quantity: one(),
        unit_price: tariff.price,
        service_group: tariff.service_group,
        service_time: at,
        department_id: Some(department_id),
        physician_id: None,
    };
    charge(tx, &account, pricing, now).await
}

fn one() -> Amount {
    Amount::from_scaled_positive(10_000).unwrap_or_else(|| unreachable!("one is positive"))
}

/// The account of an admission (locked), with the admission's latest facts kept on it (the
/// one upsert an admission's change makes).
async fn keep(tx: &mut TenantTx, admission: &Admission, now: DateTime<Utc>) -> Result<AccountRow> {
    let facts = &admission.facts;
    store::follow_admission(tx, facts, now).await?;
    store::admission_account(tx, facts.admission_id, facts.patient_id, now).await
}

/// The account a charge goes to: its admission's, else the patient's outpatient account.
async fn account_for(
    tx: &mut TenantTx,
    patient_id: Uuid,
    admission_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<AccountRow> {
    match admission_id {
        Some(admission_id) => store::admission_account(tx, admission_id, patient_id, now).await,
        None => store::outpatient_account(tx, patient_id, now).await,
    }
}

/// A service priced by the procedure classification (`achi`).
async fn service(
    tx: &mut TenantTx,
    code: &str,
    display: String,
    at: DateTime<Utc>,
) -> Result<Pricing> {
    service_of(tx, "achi", code, display, at).await
}

/// A service priced by its code system and code.
async fn service_of(
    tx: &mut TenantTx,
    code_system: &str,
    code: &str,
    display: String,
    at: DateTime<Utc>,
) -> Result<Pricing> {
    let tariff =
        store::tariff_on(tx, TariffKind::Service, code_system, code, at.date_naive()).await?;
    Ok(Pricing {
        source: ChargeSource::Procedure,
        source_key: String::new(),
        code_system: code_system.to_owned(),
        code: code.to_owned(),
        description: match &tariff {
            Some(tariff) => tariff.name.clone(),
            None if display.is_empty() => code.to_owned(),
            None => display,
        },
        quantity: one(),
        unit_price: tariff.as_ref().and_then(|tariff| tariff.price),
        service_group: tariff
            .map(|tariff| tariff.service_group)
            .unwrap_or_default(),
        service_time: at,
        department_id: None,
        physician_id: None,
    })
}

/// Charges a package's price on a locked account and reverses the standing charges it
/// includes: (the package's charge, the reversals).
pub(crate) async fn charge_package(
    tx: &mut TenantTx,
    account: &AccountRow,
    package: &store::TariffRow,
    now: DateTime<Utc>,
) -> Result<(ChargeRow, Vec<ChargeRow>)> {
    let price = package.price.unwrap_or(Money::ZERO);
    let split = split_for(tx, account, price, &package.service_group, now).await?;
    let pricing = Pricing {
        source: ChargeSource::Package,
        source_key: format!("package:{}", account.id),
        code_system: String::new(),
        code: package.code.clone(),
        description: package.name.clone(),
        quantity: one(),
        unit_price: Some(price),
        service_group: package.service_group.clone(),
        service_time: now,
        department_id: None,
        physician_id: None,
    };
    let row = charge_row(account.id, pricing, price, price, &split, false);
    store::insert_charge(tx, &row, now).await?;
    let mut reversals = Vec::new();
    for original in store::standing_charges(tx, account.id, None).await? {
        let included = package_key(original.source, &original.code_system, &original.code)
            .is_some_and(|key| package.includes.contains(&key));
        if included {
            let reason = format!("included in package {}", package.code);
            reversals.push(reverse(tx, original, reason, now).await?);
        }
    }
    Ok((row, reversals))
}

/// Splits and writes a charge on a locked account; nothing when its source was charged.
async fn charge(
    tx: &mut TenantTx,
    account: &AccountRow,
    pricing: Pricing,
    now: DateTime<Utc>,
) -> Result<()> {
    if store::charge_by_source(tx, &pricing.source_key)
        .await?
        .is_some()
    {
        return Ok(());
    }
    // A service the account's package includes is in its price.
    let pricing = match store::package_of(tx, account.id).await? {
        Some((code, _, includes))
            if package_key(pricing.source, &pricing.code_system, &pricing.code)
                .is_some_and(|key| includes.contains(&key)) =>
        {
            Pricing {
                unit_price: Some(Money::ZERO),
                description: format!("{} (package {code})", pricing.description),
                ..pricing
            }
        }
        _ => pricing,
    };
    let unpriced = pricing.unit_price.is_none();
    let unit_price = pricing.unit_price.unwrap_or(Money::ZERO);
    let amount = unit_price
        .times(pricing.quantity)
        .ok_or_else(|| Error::precondition("a charge is too large"))?;
    let split = split_for(
        tx,
        account,
        amount,
        &pricing.service_group,
        pricing.service_time,
    )
    .await?;
    let row = charge_row(account.id, pricing, unit_price, amount, &split, unpriced);
    store::insert_charge(tx, &row, now).await?;
    Ok(())
}

/// The split of `amount` by the patient's policies valid on the service's day.
pub(crate) async fn split_for(
    tx: &mut TenantTx,
    account: &AccountRow,
    amount: Money,
    service_group: &str,
    at: DateTime<Utc>,
) -> Result<Split> {
    let coverages = store::coverages_on(tx, account.patient_id, at.date_naive()).await?;
    let mut national = None;
    let mut supplementary = None;
    for (_, contract) in &coverages {
        let so_far = store::so_far(tx, account.id, contract.id).await?;
        match contract.kind {
            PayerKind::National => national = Some((contract.terms(), so_far)),
            PayerKind::Supplementary => supplementary = Some((contract.terms(), so_far)),
        }
    }
    Ok(split(
        amount,
        service_group,
        national.as_ref().map(|(terms, so_far)| (terms, *so_far)),
        supplementary
            .as_ref()
            .map(|(terms, so_far)| (terms, *so_far)),
    ))
}

fn charge_row(
    account_id: Uuid,
    pricing: Pricing,
    unit_price: Money,
    amount: Money,
    split: &Split,
    unpriced: bool,
) -> ChargeRow {
    ChargeRow {
        id: Uuid::now_v7(),
        account_id,
        source: pricing.source,
        source_key: pricing.source_key,
        code_system: pricing.code_system,
        code: pricing.code,
        description: pricing.description,
        quantity: pricing.quantity.to_string(),
        unit_price,
        amount,
        national_contract_id: split.national.map(|(id, _)| id),
        national_amount: split.national.map_or(Money::ZERO, |(_, share)| share),
        supplementary_contract_id: split.supplementary.map(|(id, _)| id),
        supplementary_amount: split.supplementary.map_or(Money::ZERO, |(_, share)| share),
        patient_amount: split.patient,
        franchise_applied: split.franchise,
        service_group: pricing.service_group,
        service_time: pricing.service_time,
        department_id: pricing.department_id,
        physician_id: pricing.physician_id,
        reverses_id: None,
        unpriced,
        reason: String::new(),
        approved_by: None,
    }
}

/// `row` carrying `split`'s shares.
fn with_split(row: ChargeRow, split: &Split) -> ChargeRow {
    ChargeRow {
        national_contract_id: split.national.map(|(id, _)| id),
        national_amount: split.national.map_or(Money::ZERO, |(_, share)| share),
        supplementary_contract_id: split.supplementary.map(|(id, _)| id),
        supplementary_amount: split.supplementary.map_or(Money::ZERO, |(_, share)| share),
        patient_amount: split.patient,
        franchise_applied: split.franchise,
        ..row
    }
}

/// The split a charge was written with.
pub(crate) fn split_of(charge: &ChargeRow) -> Split {
    Split {
        national: (charge.national_contract_id).map(|id| (id, charge.national_amount)),
        supplementary: (charge.supplementary_contract_id)
            .map(|id| (id, charge.supplementary_amount)),
        patient: charge.patient_amount,
        franchise: charge.franchise_applied,
    }
}

/// Bed-days (or started hours) of every stay of a discharged admission, by the care level of
/// each ward and the tariff valid on the day each stay began.
async fn charge_stay(
    tx: &mut TenantTx,
    account: &AccountRow,
    admission: &Admission,
    zone: &chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(discharged) = admission.facts.discharge_time else {
        return Ok(());
    };
    let departments: Vec<Uuid> = admission.stays.iter().map(|s| s.department_id).collect();
    let levels = store::care_levels(tx, &departments).await?;
    let mut priced = Vec::with_capacity(admission.stays.len());
    for stay in &admission.stays {
        let level = (levels.get(&stay.department_id).cloned())
            .unwrap_or_else(|| DEFAULT_CARE_LEVEL.to_owned());
        let tariff = store::tariff_on(
            tx,
            TariffKind::Accommodation,
            "",
            &level,
            stay.start.with_timezone(zone).date_naive(),
        )
        .await?;
        let period = Period {
            start: stay.start,
            end: stay.end.unwrap_or(discharged).max(stay.start),
            unit: tariff
                .as_ref()
                .map_or(TariffUnit::Day, |tariff| tariff.unit),
        };
        priced.push((stay, level, tariff, period));
    }
    let periods: Vec<Period> = priced.iter().map(|(_, _, _, period)| *period).collect();
    let units = accommodation_units(zone, &periods);
    for ((stay, level, tariff, period), units) in priced.into_iter().zip(units) {
        if units == 0 {
            continue;
        }
        let Some(quantity) = u32::try_from(units)
            .ok()
            .and_then(|units| one().times_count(units))
        else {
            continue;
        };
        let unit_name = if period.unit == TariffUnit::Hour {
            "hours"
        } else {
            "days"
        };
        let pricing = Pricing {
            source: ChargeSource::Accommodation,
            source_key: format!("stay:{}:{}", stay.id, discharged.timestamp_micros()),
            code_system: String::new(),
            code: level.clone(),
            description: match &tariff {
                Some(tariff) => format!("{} ({unit_name})", tariff.name),
                None => format!("Accommodation, {level} ({unit_name})"),
            },
            quantity,
            unit_price: tariff.as_ref().and_then(|tariff| tariff.price),
            service_group: tariff
                .map(|tariff| tariff.service_group)
                .unwrap_or_default(),
            service_time: period.start,
            department_id: Some(stay.department_id),
            physician_id: admission.facts.physician_id,
        };
        charge(tx, account, pricing, now).await?;
    }
    Ok(())
}

/// Reverses, once, every standing charge of the account (of `source`, or all).
async fn reverse_all(
    tx: &mut TenantTx,
    account: &AccountRow,
    source: Option<ChargeSource>,
    now: DateTime<Utc>,
) -> Result<()> {
    for original in store::standing_charges(tx, account.id, source).await? {
        let reason = "reversed: its source was undone".to_owned();
        reverse(tx, original, reason, now).await?;
    }
    Ok(())
}

/// Writes the reversal of a standing charge, split as it was.
async fn reverse(
    tx: &mut TenantTx,
    original: ChargeRow,
    reason: String,
    now: DateTime<Utc>,
) -> Result<ChargeRow> {
    let split = split_of(&original).reversed();
    let row = with_split(
        ChargeRow {
            id: Uuid::now_v7(),
            source_key: format!("reversal:{}", original.id),
            unit_price: -original.unit_price,
            amount: -original.amount,
            reverses_id: Some(original.id),
            reason,
            ..original
        },
        &split,
    );
    store::insert_charge(tx, &row, now).await?;
    Ok(row)
}

/// Credits stock that came back from a patient, at the price it was charged, in proportion
/// of the charge's split.
async fn credit_return(
    tx: &mut TenantTx,
    movement_id: Uuid,
    issue_id: Uuid,
    quantity: Amount,
    base_unit: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(issued) = store::charge_by_source(tx, &format!("movement:{issue_id}")).await? else {
        // The issue was never charged (a ward's stock, not a patient's): nothing to credit.
        return Ok(());
    };
    let account = store::lock_account(tx, issued.account_id).await?;
    let credit = -issued
        .unit_price
        .times(quantity)
        .ok_or_else(|| Error::precondition("a credit is too large"))?;
    let split = split_of(&issued).part(credit, issued.amount);
    let row = with_split(
        ChargeRow {
            id: Uuid::now_v7(),
            account_id: account.id,
            source_key: format!("movement:{movement_id}"),
            quantity: quantity.to_string(),
            unit_price: -issued.unit_price,
            amount: credit,
            reverses_id: None,
            reason: format!("returned {quantity} {base_unit}"),
            ..issued
        },
        &split,
    );
    store::insert_charge(tx, &row, now).await?;
    Ok(())
}
