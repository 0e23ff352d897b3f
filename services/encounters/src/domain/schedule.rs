//! When the doses of a prescription fall: at its times of day, or, without fixed times, at
//! the ward's standard times (evenly over the day from 08:00), in the facility's time zone;
//! and how much of the medicine a number of doses takes, in its form units.

use chrono::{DateTime, Duration, LocalResult, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use hmis_platform::amount::Amount;

/// The first dose of the day on the ward's standard schedule.
const FIRST_DOSE_MINUTE: u32 = 8 * 60;

/// The standard times of `times_per_day` doses: evenly over 24 hours from 08:00.
pub fn standard_times(times_per_day: u32) -> Vec<NaiveTime> {
    let times = times_per_day.clamp(1, 24);
    let step = 24 * 60 / times;
    (0..times)
        .filter_map(|n| {
            let minute = (FIRST_DOSE_MINUTE + n * step) % (24 * 60);
            NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)
        })
        .collect()
}

/// The instants of the doses given at `times` (local times of day in `zone`) from `start`
/// (inclusive) to `end` (exclusive). A local time skipped by a clock change is given at the
/// first instant after it; one that occurs twice, once.
pub fn dose_times(
    times: &[NaiveTime],
    zone: Tz,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    if end <= start {
        return Vec::new();
    }
    let mut instants = Vec::new();
    let mut day = start.with_timezone(&zone).date_naive() - Duration::days(1);
    let last = end.with_timezone(&zone).date_naive();
    while day <= last {
        for time in times {
            let local = day.and_time(*time);
            let instant = match zone.from_local_datetime(&local) {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at,
                LocalResult::None => {
                    match zone.from_local_datetime(&(local + Duration::hours(1))) {
                        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at,
                        LocalResult::None => continue,
                    }
                }
            }
            .with_timezone(&Utc);
            if instant >= start && instant < end {
                instants.push(instant);
            }
        }
        day += Duration::days(1);
    }
    instants.sort();
    instants
}

/// How many form units (tablets, ampoules) one dose takes: the dose itself when it is
/// counted in form units, else the dose over the strength, rounded up to four places.
pub fn form_units_per_dose(
    dose: Amount,
    dose_unit: &str,
    form_unit: &str,
    strength: Amount,
) -> Amount {
    if dose_unit.eq_ignore_ascii_case(form_unit) {
        return dose;
    }
    let scaled = i128::from(dose.scaled()) * 10_000;
    let strength = i128::from(strength.scaled());
    let per_dose = (scaled + strength - 1) / strength;
    i64::try_from(per_dose)
        .ok()
        .and_then(Amount::from_scaled_positive)
        .unwrap_or(dose)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: &str) -> DateTime<Utc> {
        value.parse().expect("instant")
    }

    #[test]
    fn standard_times_spread_from_eight_in_the_morning() {
        let times = |n| {
            standard_times(n)
                .iter()
                .map(|time| time.format("%H:%M").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(times(1), ["08:00"]);
        assert_eq!(times(3), ["08:00", "16:00", "00:00"]);
        assert_eq!(times(4), ["08:00", "14:00", "20:00", "02:00"]);
    }

    #[test]
    fn doses_fall_at_local_times_within_the_period() {
        let zone: Tz = "Europe/Chisinau".parse().expect("zone");
        let times = [
            NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
            NaiveTime::from_hms_opt(20, 0, 0).expect("time"),
        ];
        // Chisinau is UTC+2 in November: 08:00 local is 06:00 UTC.
        let doses = dose_times(
            &times,
            zone,
            at("2026-11-23T00:00:00Z"),
            at("2026-11-25T00:00:00Z"),
        );
        assert_eq!(
            doses,
            [
                at("2026-11-23T06:00:00Z"),
                at("2026-11-23T18:00:00Z"),
                at("2026-11-24T06:00:00Z"),
                at("2026-11-24T18:00:00Z"),
            ]
        );
        // Started at noon: the morning dose of the first day is not given.
        assert_eq!(
            dose_times(
                &times,
                zone,
                at("2026-11-23T10:00:00Z"),
                at("2026-11-24T00:00:00Z")
            ),
            [at("2026-11-23T18:00:00Z")]
        );
    }

    #[test]
    fn a_dose_in_milligrams_takes_its_share_of_a_tablet() {
        let amount = |value: &str| Amount::parse(value).expect("amount");
        assert_eq!(
            form_units_per_dose(amount("250"), "mg", "tablet", amount("500")),
            amount("0.5")
        );
        assert_eq!(
            form_units_per_dose(amount("1/2"), "tablet", "tablet", amount("500")),
            amount("0.5")
        );
        assert_eq!(
            form_units_per_dose(amount("100"), "mg", "tablet", amount("300")),
            amount("0.3334"),
            "rounded up: the ward never runs short"
        );
    }
}
