//! Numeric results, reference ranges and the flags they give. A range applies to patients of
//! one sex (or either) in an age band; the most specific one that holds for the patient is
//! the one applied. Limits are inclusive: a potassium of exactly 5.1 with a range 3.5-5.1 is
//! normal.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Millionths: lab values carry at most six decimals.
const SCALE: i64 = 1_000_000;

/// A signed exact decimal as a result or a limit is written ("4.2", "-3", "0,75"), possibly
/// with a comparator as analysers report values beyond their measuring range ("<0.01",
/// ">1000"): the comparator is kept in the text, the number is what ranges compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Measure(i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureError(pub &'static str);

impl fmt::Display for MeasureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Measure {
    pub fn parse(text: &str) -> Result<Self, MeasureError> {
        let text = text.trim().trim_start_matches(['<', '>', '=']).trim_start();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = match digits.split_once(['.', ',']) {
            Some((whole, fraction)) => (whole, fraction),
            None => (digits, ""),
        };
        let is_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !is_digits(whole) || !is_digits(fraction) {
            return Err(MeasureError("is not a number"));
        }
        if fraction.len() > 6 {
            return Err(MeasureError("has more than six decimals"));
        }
        if whole.len() > 12 {
            return Err(MeasureError("is too large"));
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MeasureError("is not a number"))?
        };
        let mut fraction_scaled: i64 = 0;
        for (place, digit) in fraction.bytes().enumerate() {
            let weight = 10_i64.pow(5 - place as u32);
            fraction_scaled += i64::from(digit - b'0') * weight;
        }
        let value = whole * SCALE + fraction_scaled;
        Ok(Measure(if negative { -value } else { value }))
    }

    /// The value as the database's `numeric` takes it.
    pub fn to_decimal_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / SCALE as u64;
        let fraction = abs % SCALE as u64;
        if fraction == 0 {
            return format!("{sign}{whole}");
        }
        let fraction = format!("{fraction:06}");
        format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

/// Which patients a range is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RangeSex {
    #[default]
    Any,
    Female,
    Male,
}

hmis_platform::labels!(
    /// A patient's sex as the registry records it (kept in `laboratory.known_patients`).
    Sex {
        Female => "female",
        Male => "male",
        Unknown => "unknown",
    }
);

/// One reference range, stored as the test's `ranges` (JSON) and compared as [`Measure`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReferenceRange {
    #[serde(default)]
    pub sex: RangeSex,
    #[serde(default)]
    pub age_from_days: i32,
    /// 0: no upper bound.
    #[serde(default)]
    pub age_to_days: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<Measure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<Measure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_low: Option<Measure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_high: Option<Measure>,
}

impl Serialize for Measure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_decimal_string())
    }
}

impl<'de> Deserialize<'de> for Measure {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Measure::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl ReferenceRange {
    /// Whether the range is for a patient of this sex and age (unknown age: only ranges
    /// open from birth with no upper bound; unknown sex: only ranges for either sex).
    fn holds_for(&self, sex: Sex, age_days: Option<i64>) -> bool {
        let sex_ok = matches!(
            (self.sex, sex),
            (RangeSex::Any, _) | (RangeSex::Female, Sex::Female) | (RangeSex::Male, Sex::Male)
        );
        let age_ok = match age_days {
            Some(age) => {
                age >= i64::from(self.age_from_days)
                    && (self.age_to_days == 0 || age < i64::from(self.age_to_days))
            }
            None => self.age_from_days == 0 && self.age_to_days == 0,
        };
        sex_ok && age_ok
    }

    /// Narrower bands and a named sex are more specific.
    fn specificity(&self) -> (bool, i64) {
        let width = if self.age_to_days == 0 {
            i64::MAX
        } else {
            i64::from(self.age_to_days) - i64::from(self.age_from_days)
        };
        (self.sex != RangeSex::Any, -width)
    }

    /// The range as printed beside a result: "3.5-5.1", "<5", ">12".
    pub fn text(&self) -> String {
        match (self.low, self.high) {
            (Some(low), Some(high)) => format!("{low}-{high}"),
            (None, Some(high)) => format!("<={high}"),
            (Some(low), None) => format!(">={low}"),
            (None, None) => String::new(),
        }
    }

    /// The flag `value` gets against this range: critical limits first.
    pub fn flag(&self, value: Measure) -> Flag {
        if self.critical_low.is_some_and(|limit| value < limit) {
            Flag::CriticalLow
        } else if self.critical_high.is_some_and(|limit| value > limit) {
            Flag::CriticalHigh
        } else if self.low.is_some_and(|limit| value < limit) {
            Flag::Low
        } else if self.high.is_some_and(|limit| value > limit) {
            Flag::High
        } else {
            Flag::Normal
        }
    }

    /// Whether the limits are in order: low <= high, critical limits outside the normal ones.
    pub fn is_consistent(&self) -> bool {
        let ordered = |a: Option<Measure>, b: Option<Measure>| match (a, b) {
            (Some(a), Some(b)) => a <= b,
            _ => true,
        };
        ordered(self.low, self.high)
            && ordered(self.critical_low, self.low)
            && ordered(self.high, self.critical_high)
            && ordered(self.critical_low, self.critical_high)
            && self.age_from_days >= 0
            && (self.age_to_days == 0 || self.age_to_days > self.age_from_days)
    }
}

hmis_platform::labels!(
    /// How a result compares with its range ("none": no range applies, or not a number).
    Flag {
        None => "none",
        Normal => "normal",
        Low => "low",
        High => "high",
        CriticalLow => "critical_low",
        CriticalHigh => "critical_high",
        Abnormal => "abnormal",
    }
);

impl Flag {
    pub fn is_critical(self) -> bool {
        matches!(self, Flag::CriticalLow | Flag::CriticalHigh)
    }
}

/// The patient's age in whole days on `day`, if the birth date is known.
pub fn age_in_days(birth_date: Option<NaiveDate>, day: NaiveDate) -> Option<i64> {
    birth_date
        .map(|born| (day - born).num_days())
        .filter(|days| *days >= 0)
}

/// The range that applies to a patient: the most specific of those that hold.
pub fn applicable_range(
    ranges: &[ReferenceRange],
    sex: Sex,
    age_days: Option<i64>,
) -> Option<&ReferenceRange> {
    ranges
        .iter()
        .filter(|range| range.holds_for(sex, age_days))
        .max_by_key(|range| range.specificity())
}

/// A numeric result's flag and the range text printed beside it.
pub fn assess(
    value: Measure,
    ranges: &[ReferenceRange],
    sex: Sex,
    age_days: Option<i64>,
) -> (Flag, String) {
    match applicable_range(ranges, sex, age_days) {
        Some(range) => (range.flag(value), range.text()),
        None => (Flag::None, String::new()),
    }
}

/// A coded result's flag: abnormal outside the normal answers (when the test names some).
pub fn assess_coded(value: &str, normal_answers: &[String]) -> Flag {
    if normal_answers.is_empty() {
        Flag::None
    } else if normal_answers
        .iter()
        .any(|answer| answer.eq_ignore_ascii_case(value.trim()))
    {
        Flag::Normal
    } else {
        Flag::Abnormal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Measure {
        Measure::parse(text).expect("a number")
    }

    fn range(
        sex: RangeSex,
        ages: (i32, i32),
        normal: (&str, &str),
        critical: (&str, &str),
    ) -> ReferenceRange {
        let limit = |text: &str| (!text.is_empty()).then(|| m(text));
        ReferenceRange {
            sex,
            age_from_days: ages.0,
            age_to_days: ages.1,
            low: limit(normal.0),
            high: limit(normal.1),
            critical_low: limit(critical.0),
            critical_high: limit(critical.1),
        }
    }

    #[test]
    fn measures_parse_as_written() {
        assert_eq!(m("4.2").to_string(), "4.2");
        assert_eq!(m("4,20").to_string(), "4.2");
        assert_eq!(m("-3").to_string(), "-3");
        assert_eq!(m(".5").to_string(), "0.5");
        assert_eq!(m("<0.01").to_string(), "0.01");
        assert_eq!(m(">= 1000").to_string(), "1000");
        assert!(m("5.1") > m("5.09"));
        for bad in ["", "abc", "1.2.3", "1.1234567", "--1", "1e5", "."] {
            assert!(Measure::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// (ranges, value, sex, age in days, flag expected, range text expected)
    type Case<'a> = (
        &'a [ReferenceRange],
        &'a str,
        Sex,
        Option<i64>,
        Flag,
        &'a str,
    );

    /// Cases written from the starter catalogue's ranges, which follow commonly published
    /// adult and neonatal intervals (e.g. the MSD Manual's normal laboratory values, WHO's
    /// haemoglobin thresholds, common critical-value lists).
    #[test]
    fn flags_follow_the_applicable_range() {
        let potassium = [range(RangeSex::Any, (0, 0), ("3.5", "5.1"), ("2.8", "6.2"))];
        let haemoglobin = [
            range(RangeSex::Any, (0, 0), ("12", "17.5"), ("7", "20")),
            range(RangeSex::Male, (6570, 0), ("13", "17.5"), ("7", "20")),
            range(RangeSex::Female, (6570, 0), ("12", "15.5"), ("7", "20")),
            range(RangeSex::Any, (0, 31), ("14", "24"), ("9.5", "25")),
        ];
        let adult = Some(40 * 365);
        let newborn = Some(3);
        #[rustfmt::skip]
        let cases: &[Case<'_>] = &[
            (&potassium, "4.0", Sex::Female, adult, Flag::Normal, "3.5-5.1"),
            (&potassium, "3.5", Sex::Male, adult, Flag::Normal, "3.5-5.1"),
            (&potassium, "5.1", Sex::Male, adult, Flag::Normal, "3.5-5.1"),
            (&potassium, "5.2", Sex::Male, adult, Flag::High, "3.5-5.1"),
            (&potassium, "3.4", Sex::Male, adult, Flag::Low, "3.5-5.1"),
            (&potassium, "2.8", Sex::Male, adult, Flag::Low, "3.5-5.1"),
            (&potassium, "2.7", Sex::Male, adult, Flag::CriticalLow, "3.5-5.1"),
            (&potassium, "6.2", Sex::Male, adult, Flag::High, "3.5-5.1"),
            (&potassium, "6.3", Sex::Unknown, None, Flag::CriticalHigh, "3.5-5.1"),
            (&haemoglobin, "12.5", Sex::Male, adult, Flag::Low, "13-17.5"),
            (&haemoglobin, "12.5", Sex::Female, adult, Flag::Normal, "12-15.5"),
            (&haemoglobin, "16.0", Sex::Female, adult, Flag::High, "12-15.5"),
            (&haemoglobin, "16.0", Sex::Male, adult, Flag::Normal, "13-17.5"),
            (&haemoglobin, "6.9", Sex::Female, adult, Flag::CriticalLow, "12-15.5"),
            (&haemoglobin, "12.5", Sex::Unknown, adult, Flag::Normal, "12-17.5"),
            (&haemoglobin, "13.0", Sex::Male, newborn, Flag::Low, "14-24"),
            (&haemoglobin, "19.0", Sex::Female, newborn, Flag::Normal, "14-24"),
            (&haemoglobin, "9.0", Sex::Female, newborn, Flag::CriticalLow, "14-24"),
            (&haemoglobin, "12.5", Sex::Female, None, Flag::Normal, "12-17.5"),
        ];
        for (ranges, value, sex, age, flag, text) in cases {
            assert_eq!(
                assess(m(value), ranges, *sex, *age),
                (*flag, (*text).to_owned()),
                "{value} for {sex:?} aged {age:?}"
            );
        }
        assert_eq!(
            assess(m("1"), &[], Sex::Male, adult),
            (Flag::None, String::new())
        );
    }

    #[test]
    fn coded_results_are_abnormal_outside_the_normal_answers() {
        let normal = vec!["No growth".to_owned()];
        assert_eq!(assess_coded("no growth", &normal), Flag::Normal);
        assert_eq!(assess_coded("Escherichia coli", &normal), Flag::Abnormal);
        assert_eq!(assess_coded("anything", &[]), Flag::None);
    }

    #[test]
    fn inconsistent_limits_are_told() {
        assert!(range(RangeSex::Any, (0, 0), ("3.5", "5.1"), ("2.8", "6.2")).is_consistent());
        assert!(!range(RangeSex::Any, (0, 0), ("5.1", "3.5"), ("", "")).is_consistent());
        assert!(!range(RangeSex::Any, (0, 0), ("3.5", "5.1"), ("4", "")).is_consistent());
        assert!(!range(RangeSex::Any, (30, 10), ("", ""), ("", "")).is_consistent());
    }

    #[test]
    fn ages_count_whole_days() {
        let born = NaiveDate::from_ymd_opt(2026, 1, 1);
        let day = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap_or_default();
        assert_eq!(age_in_days(born, day), Some(30));
        assert_eq!(age_in_days(None, day), None);
    }
}
