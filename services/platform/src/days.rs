//! Days of a facility's time zone as instants: reports and lists cut days where the facility
//! lives (design: time is UTC in the database; days are the facility's), one way everywhere.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

/// The instant `day` begins in `zone`. Where a clock change skips midnight, the day begins
/// at the first instant it has.
pub fn midnight(zone: &chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    at_local(zone, day, NaiveTime::MIN)
}

/// The instant the clocks of `zone` show `time` on `day` (a meal's cut-off, a shift's start).
/// Where a clock change skips that time, the first instant after the gap; where it repeats
/// it, the first of the two.
pub fn at_local(zone: &chrono_tz::Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = day.and_time(time);
    let found = zone.from_local_datetime(&local).earliest().or_else(|| {
        // A gap is at most an hour or two: the first existing minute after it.
        (1..=180).find_map(|minutes| {
            zone.from_local_datetime(&(local + Duration::minutes(minutes)))
                .earliest()
        })
    });
    found.map_or_else(
        || Utc.from_utc_datetime(&local),
        |at| at.with_timezone(&Utc),
    )
}

/// The instants `first` begins and the day after `last` begins in `zone`: the half-open
/// period [start, end) of those days.
pub fn days(
    zone: &chrono_tz::Tz,
    first: NaiveDate,
    last: NaiveDate,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        midnight(zone, first),
        midnight(zone, last.succ_opt().unwrap_or(last)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_cut_in_the_zone_across_clock_changes() {
        let chisinau: chrono_tz::Tz = "Europe/Chisinau".parse().expect("zone");
        let day = NaiveDate::from_ymd_opt(2026, 10, 25).expect("day");
        let (start, end) = days(&chisinau, day, day);
        assert_eq!(start.to_rfc3339(), "2026-10-24T21:00:00+00:00");
        assert_eq!((end - start).num_hours(), 25, "the day clocks go back");
        // Santiago skips midnight when its clocks go forward (2026-09-06).
        let santiago: chrono_tz::Tz = "America/Santiago".parse().expect("zone");
        let skipped = NaiveDate::from_ymd_opt(2026, 9, 6).expect("day");
        assert_eq!(
            midnight(&santiago, skipped).to_rfc3339(),
            "2026-09-06T04:00:00+00:00"
        );
    }
}
