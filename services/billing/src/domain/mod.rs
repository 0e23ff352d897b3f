//! Billing's own types and rules, free of the wire and the database: the labels it stores,
//! percentages, how a charge is split between the insurers and the patient, and how a stay
//! is counted in bed-days or started hours.

pub mod drg;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hmis_platform::labels;
use hmis_platform::money::Money;
use hmis_platform::types::ParseError;
use uuid::Uuid;

labels!(TariffKind {
    Service => "service",
    Accommodation => "accommodation",
    Supply => "supply",
    Package => "package",
});
labels!(TariffUnit { Each => "each", Day => "day", Hour => "hour" });
labels!(ChargeSource {
    Accommodation => "accommodation",
    Procedure => "procedure",
    Operation => "operation",
    Supply => "supply",
    EmergencyVisit => "emergency_visit",
    Adjustment => "adjustment",
    Package => "package",
    Investigation => "investigation",
    OutpatientVisit => "outpatient_visit",
    Registration => "registration",
    Meal => "meal",
});
labels!(PayerKind { National => "national", Supplementary => "supplementary" });
labels!(AccountStatus {
    Open => "open",
    Cancelled => "cancelled",
    Settled => "settled",
});
labels!(InvoiceKind {
    Interim => "interim",
    Final => "final",
    Supplementary => "supplementary",
});
labels!(PaymentMethod {
    Cash => "cash",
    Card => "card",
    BankTransfer => "bank_transfer",
    Mobile => "mobile",
});
labels!(PaymentKind { Payment => "payment", Deposit => "deposit" });

/// What a package's `includes` names a charge by: `service:<system>:<code>`,
/// `accommodation:<care level>`, `supply:<item>`; `None` for what no package includes
/// (adjustments, packages).
pub fn package_key(source: ChargeSource, code_system: &str, code: &str) -> Option<String> {
    match source {
        ChargeSource::Procedure
        | ChargeSource::Operation
        | ChargeSource::EmergencyVisit
        | ChargeSource::Investigation
        | ChargeSource::OutpatientVisit
        | ChargeSource::Registration
        | ChargeSource::Meal => Some(format!("service:{code_system}:{code}")),
        ChargeSource::Accommodation => Some(format!("accommodation:{code}")),
        ChargeSource::Supply => Some(format!("supply:{code}")),
        ChargeSource::Adjustment | ChargeSource::Package => None,
    }
}

/// The care level of a ward without one of its own.
pub const DEFAULT_CARE_LEVEL: &str = "general";
/// The code system meals are priced in, by diet code.
pub const DIET_CODE_SYSTEM: &str = "diet";
/// The code system of services billing names itself (an emergency visit).
pub const OWN_CODE_SYSTEM: &str = "hmis";
/// The service code an emergency visit is charged by.
pub const EMERGENCY_VISIT_CODE: &str = "emergency-visit";
/// The code system outpatient visits are priced in: a clinic's code (scheduling's).
pub const CLINIC_CODE_SYSTEM: &str = "clinic";
/// The tariff of a registration fee at an outpatient check-in (charged only where it exists).
pub const REGISTRATION_FEE_CODE: &str = "registration-fee";
/// The supply tariff code that applies to every item without a rule of its own.
pub const ANY_ITEM: &str = "*";

/// A percentage with two decimals, stored in hundredths of a percent (basis points):
/// "12.5" is 1250.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percent(i64);

impl Percent {
    /// "0" to `max_percent`, at most two decimals.
    pub fn parse(value: &str, max_percent: i64) -> Result<Self, ParseError> {
        let money = Money::parse(value)
            .map_err(|_| ParseError::new("must be a percentage such as 80 or 12.5"))?;
        if money.is_negative() || money.cents() > max_percent * 100 {
            return Err(ParseError::new(format!("must be from 0 to {max_percent}")));
        }
        Ok(Self(money.cents()))
    }

    pub fn from_basis_points(value: i64) -> Self {
        Self(value)
    }

    pub fn basis_points(self) -> i64 {
        self.0
    }
}

/// "80", "12.5": as people write a percentage.
impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = Money::from_cents(self.0).to_string();
        let text = text.trim_end_matches('0').trim_end_matches('.');
        f.write_str(text)
    }
}

/// What an insurance contract pays, as the split needs it.
#[derive(Debug, Clone)]
pub struct Terms {
    pub contract_id: Uuid,
    pub default_percent: Percent,
    pub coverage: HashMap<String, Percent>,
    pub franchise: Money,
    pub ceiling: Option<Money>,
}

impl Terms {
    fn percent_of(&self, service_group: &str) -> Percent {
        self.coverage
            .get(service_group)
            .copied()
            .unwrap_or(self.default_percent)
    }
}

/// What an insurer has already taken on in this account: its shares so far and, for the
/// national insurer, the franchise the patient has already borne.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoFar {
    pub paid: Money,
    pub franchise: Money,
}

/// Who pays how much of one charge; the three shares add up to the charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub national: Option<(Uuid, Money)>,
    pub supplementary: Option<(Uuid, Money)>,
    pub patient: Money,
    /// The part of the national insurer's cover the patient bore as franchise.
    pub franchise: Money,
}

impl Split {
    /// Everything to the patient.
    pub fn patient_only(amount: Money) -> Self {
        Self {
            national: None,
            supplementary: None,
            patient: amount,
            franchise: Money::ZERO,
        }
    }

    /// The split of a reversal: each share of the original, negated.
    pub fn reversed(&self) -> Self {
        Self {
            national: self.national.map(|(id, amount)| (id, -amount)),
            supplementary: self.supplementary.map(|(id, amount)| (id, -amount)),
            patient: -self.patient,
            franchise: -self.franchise,
        }
    }
}

impl Split {
    /// The split of `part` of a charge whose split was `self` over `whole`: each insurer's
    /// share in proportion (rounded to the cent), the patient the rest. A return of part of
    /// what was issued is credited so.
    pub fn part(&self, part: Money, whole: Money) -> Self {
        let scale = |share: Money| {
            if whole.is_zero() {
                return Money::ZERO;
            }
            let exact = i128::from(share.cents()) * i128::from(part.cents());
            let whole = i128::from(whole.cents());
            let sign = exact.signum() * whole.signum();
            let rounded = sign * ((2 * exact.abs() + whole.abs()) / (2 * whole.abs()));
            Money::from_cents(i64::try_from(rounded).unwrap_or(0))
        };
        let national = self.national.map(|(id, share)| (id, scale(share)));
        let supplementary = self.supplementary.map(|(id, share)| (id, scale(share)));
        let insurers = national.map_or(Money::ZERO, |(_, share)| share)
            + supplementary.map_or(Money::ZERO, |(_, share)| share);
        Self {
            national,
            supplementary,
            patient: part - insurers,
            franchise: scale(self.franchise),
        }
    }
}

/// The unit price of a supply: its unit cost (four decimals) plus `margin`, rounded to the
/// cent; `None` when it does not fit.
pub fn supply_price(unit_cost_scaled: i64, margin: Percent) -> Option<Money> {
    // ten-thousandths × (10,000 + basis points) / 10,000 → ten-thousandths; then cents.
    let priced = i128::from(unit_cost_scaled) * i128::from(10_000 + margin.basis_points());
    let cents = (priced + 500_000) / 1_000_000;
    i64::try_from(cents).ok().map(Money::from_cents)
}

/// The share an insurer covers of `amount` (of `service_group`), after the franchise the
/// patient still bears and within the insurer's ceiling; and the franchise borne.
fn covered(amount: Money, service_group: &str, terms: &Terms, so_far: SoFar) -> (Money, Money) {
    let mut covered = amount
        .share(terms.percent_of(service_group).basis_points())
        .unwrap_or(Money::ZERO)
        .max(Money::ZERO);
    let franchise_left = (terms.franchise - so_far.franchise).max(Money::ZERO);
    let franchise = franchise_left.min(covered);
    covered = covered - franchise;
    if let Some(ceiling) = terms.ceiling {
        covered = covered.min((ceiling - so_far.paid).max(Money::ZERO));
    }
    (covered, franchise)
}

/// Splits a charge of `amount` (not negative) between the national insurer (first), a
/// supplementary insurer (part of what the national one leaves) and the patient (the rest).
/// Each insurer covers its percentage of the charge's service group, less the franchise the
/// patient still bears in this account (national only), up to its ceiling for the account.
pub fn split(
    amount: Money,
    service_group: &str,
    national: Option<(&Terms, SoFar)>,
    supplementary: Option<(&Terms, SoFar)>,
) -> Split {
    if !amount.is_positive() {
        return Split::patient_only(amount);
    }
    let (national, franchise) = match national {
        Some((terms, so_far)) => {
            let (share, franchise) = covered(amount, service_group, terms, so_far);
            (Some((terms.contract_id, share)), franchise)
        }
        None => (None, Money::ZERO),
    };
    let left = amount - national.map_or(Money::ZERO, |(_, share)| share);
    let supplementary = supplementary.map(|(terms, so_far)| {
        let terms = Terms {
            franchise: Money::ZERO,
            ..terms.clone()
        };
        (
            terms.contract_id,
            covered(left, service_group, &terms, so_far).0,
        )
    });
    let patient = left - supplementary.map_or(Money::ZERO, |(_, share)| share);
    Split {
        national,
        supplementary,
        patient,
        franchise,
    }
}

/// One period of a stay as accommodation counts it.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub unit: TariffUnit,
}

/// How many units of its tariff each period is charged: calendar days in `zone` (the day of
/// admission counts, the day of leaving does not) or started hours; a stay charged by the day
/// counts one day at least, on its last period counted by the day.
pub fn accommodation_units(zone: &chrono_tz::Tz, periods: &[Period]) -> Vec<i64> {
    let mut units: Vec<i64> = periods
        .iter()
        .map(|period| match period.unit {
            TariffUnit::Hour => {
                let seconds = (period.end - period.start).num_seconds().max(0);
                ((seconds + 3599) / 3600).max(1)
            }
            TariffUnit::Day | TariffUnit::Each => {
                let start = period.start.with_timezone(zone).date_naive();
                let end = period.end.with_timezone(zone).date_naive();
                (end - start).num_days().max(0)
            }
        })
        .collect();
    let by_day = |period: &Period| period.unit != TariffUnit::Hour;
    let days: i64 = (periods.iter().zip(&units))
        .filter(|(period, _)| by_day(period))
        .map(|(_, units)| units)
        .sum();
    if days == 0
        && let Some(last) = periods.iter().rposition(by_day)
    {
        units[last] = 1;
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(value: &str) -> Money {
        Money::parse(value).expect("money")
    }

    fn terms(default_percent: i64, franchise: &str, ceiling: Option<&str>) -> Terms {
        Terms {
            contract_id: Uuid::now_v7(),
            default_percent: Percent::from_basis_points(default_percent * 100),
            coverage: HashMap::from([("medicines".to_owned(), Percent::from_basis_points(5000))]),
            franchise: money(franchise),
            ceiling: ceiling.map(money),
        }
    }

    #[test]
    fn the_national_insurer_pays_its_share_after_the_franchise_and_within_its_ceiling() {
        let national = terms(90, "100", Some("1000"));
        let first = split(
            money("500"),
            "surgery",
            Some((&national, SoFar::default())),
            None,
        );
        // 90 % of 500 is 450, of which the patient bears the 100 of franchise.
        assert_eq!(first.national.map(|(_, share)| share), Some(money("350")));
        assert_eq!(first.patient, money("150"));
        assert_eq!(first.franchise, money("100"));
        let later = SoFar {
            paid: money("900"),
            franchise: money("100"),
        };
        let capped = split(money("500"), "surgery", Some((&national, later)), None);
        assert_eq!(capped.national.map(|(_, share)| share), Some(money("100")));
        assert_eq!(capped.patient, money("400"));
        let medicines = split(money("10.01"), "medicines", Some((&national, later)), None);
        assert_eq!(
            medicines.national.map(|(_, share)| share),
            Some(money("5.01"))
        );
        assert_eq!(medicines.patient, money("5.00"));
    }

    #[test]
    fn a_supplementary_insurer_covers_part_of_what_the_national_one_leaves() {
        let national = terms(80, "0", None);
        let supplementary = terms(50, "0", None);
        let split = split(
            money("333.33"),
            "surgery",
            Some((&national, SoFar::default())),
            Some((&supplementary, SoFar::default())),
        );
        let national_share = split.national.map(|(_, share)| share).expect("national");
        let supplementary_share = split.supplementary.map(|(_, share)| share).expect("supp");
        assert_eq!(national_share, money("266.66"));
        assert_eq!(supplementary_share, money("33.34"));
        assert_eq!(
            national_share + supplementary_share + split.patient,
            money("333.33")
        );
        assert_eq!(split.reversed().patient, -split.patient);
    }

    #[test]
    fn a_part_of_a_charge_splits_in_proportion_and_adds_up() {
        let national = terms(80, "0", None);
        let whole = split(
            money("100"),
            "medicines",
            Some((&national, SoFar::default())),
            None,
        );
        // medicines are covered at 50 %.
        let part = whole.part(money("-33.33"), money("100"));
        assert_eq!(part.national.map(|(_, share)| share), Some(money("-16.67")));
        assert_eq!(part.patient, money("-16.66"));
    }

    #[test]
    fn supplies_are_priced_at_cost_plus_margin_to_the_cent() {
        let margin = Percent::parse("12.5", 1000).expect("percent");
        // 2.3456 × 1.125 = 2.6388 → 2.64
        assert_eq!(supply_price(23_456, margin), Some(money("2.64")));
        assert_eq!(supply_price(0, margin), Some(money("0")));
    }

    #[test]
    fn stays_count_calendar_days_in_the_zone_and_started_hours() {
        let zone: chrono_tz::Tz = "Europe/Chisinau".parse().expect("zone");
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc)
        };
        let periods = [
            Period {
                start: at("2026-12-01T08:00:00Z"),
                end: at("2026-12-02T06:30:00Z"),
                unit: TariffUnit::Day,
            },
            Period {
                start: at("2026-12-02T06:30:00Z"),
                end: at("2026-12-03T08:00:00Z"),
                unit: TariffUnit::Hour,
            },
            Period {
                start: at("2026-12-03T08:00:00Z"),
                end: at("2026-12-05T09:00:00Z"),
                unit: TariffUnit::Day,
            },
        ];
        assert_eq!(accommodation_units(&zone, &periods), vec![1, 26, 2]);
        let same_day = [Period {
            start: at("2026-12-01T08:00:00Z"),
            end: at("2026-12-01T15:00:00Z"),
            unit: TariffUnit::Day,
        }];
        assert_eq!(accommodation_units(&zone, &same_day), vec![1]);
        // 23:30 local on the 1st to 00:30 local on the 2nd is one day in Chisinau.
        let over_midnight = [Period {
            start: at("2026-12-01T21:30:00Z"),
            end: at("2026-12-01T22:30:00Z"),
            unit: TariffUnit::Day,
        }];
        assert_eq!(accommodation_units(&zone, &over_midnight), vec![1]);
    }

    #[test]
    fn percentages_parse_with_two_decimals_within_bounds() {
        assert_eq!(
            Percent::parse("12.5", 100).map(Percent::basis_points),
            Ok(1250)
        );
        assert_eq!(
            Percent::parse("100", 100).map(|p| p.to_string()),
            Ok("100".into())
        );
        assert!(Percent::parse("100.01", 100).is_err());
        assert!(Percent::parse("-1", 100).is_err());
        assert!(Percent::parse("1.234", 100).is_err());
    }
}
