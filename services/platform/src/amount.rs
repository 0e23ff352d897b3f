//! Exact decimal amounts with four places, never floats: doses (half a tablet is 0.5, a
//! third of 10 mg is refused rather than rounded to 3.3333 mg without saying so), stock
//! quantities and costs. The scale is the database's `numeric(14,4)`.

use std::fmt;

use crate::types::ParseError;

/// Ten-thousandths, the scale of the database's `numeric(14,4)`.
const SCALE: i64 = 10_000;
/// The largest amount `numeric(14,4)` holds.
const MAX: i64 = 9_999_999_999 * SCALE;

/// A positive exact amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    /// "1", "0.5", "2,5", "1/2", "3/4", "1 1/2".
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        let (whole, fraction) = match value.split_once(' ') {
            Some((whole, fraction)) if fraction.contains('/') => {
                (Some(whole.trim()), fraction.trim())
            }
            _ => (None, value),
        };
        let mut scaled = match fraction.split_once('/') {
            Some((numerator, denominator)) => {
                let numerator: i64 = numerator.trim().parse().map_err(|_| invalid())?;
                let denominator: i64 = denominator.trim().parse().map_err(|_| invalid())?;
                if denominator <= 0 || numerator < 0 {
                    return Err(invalid());
                }
                let scaled = numerator.checked_mul(SCALE).ok_or_else(too_large)?;
                if scaled % denominator != 0 {
                    return Err(ParseError::new(format!(
                        "{} is not exact to four decimal places",
                        crate::error::quoted(value)
                    )));
                }
                scaled / denominator
            }
            None => parse_decimal(fraction)?,
        };
        if let Some(whole) = whole {
            let whole: i64 = whole.parse().map_err(|_| invalid())?;
            scaled = whole
                .checked_mul(SCALE)
                .and_then(|whole| whole.checked_add(scaled))
                .ok_or_else(too_large)?;
        }
        Self::from_scaled(scaled)
    }

    /// The amount the database returns as text (`numeric::text`).
    pub fn from_db(value: &str) -> Result<Self, ParseError> {
        parse_decimal(value).and_then(Self::from_scaled)
    }

    fn from_scaled(scaled: i64) -> Result<Self, ParseError> {
        if scaled <= 0 {
            return Err(ParseError::new("must be more than zero"));
        }
        if scaled > MAX {
            return Err(too_large());
        }
        Ok(Self(scaled))
    }

    /// `self × other`, or `None` when it is not exact to four places or too large.
    pub fn times(self, other: Amount) -> Option<Amount> {
        let product = i128::from(self.0) * i128::from(other.0);
        if product % i128::from(SCALE) != 0 {
            return None;
        }
        i64::try_from(product / i128::from(SCALE))
            .ok()
            .and_then(|scaled| Self::from_scaled(scaled).ok())
    }

    /// The amount in ten-thousandths, for arithmetic that may reach zero (allocating a
    /// quantity across lots).
    pub fn scaled(self) -> i64 {
        self.0
    }

    /// An amount from ten-thousandths; `None` unless it is more than zero and fits.
    pub fn from_scaled_positive(scaled: i64) -> Option<Amount> {
        Self::from_scaled(scaled).ok()
    }

    pub fn times_count(self, count: u32) -> Option<Amount> {
        self.0
            .checked_mul(i64::from(count))
            .and_then(|scaled| Self::from_scaled(scaled).ok())
    }
}

/// A `numeric` read as text keeps its column's scale ("500.0000"); people read "500".
pub fn trim_scale(value: &str) -> String {
    if value.contains('.') {
        value.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        value.to_owned()
    }
}

fn invalid() -> ParseError {
    ParseError::new("must be a number such as 1, 0.5 or 1/2")
}

fn too_large() -> ParseError {
    ParseError::new("is too large")
}

fn parse_decimal(value: &str) -> Result<i64, ParseError> {
    let value = value.replace(',', ".");
    let (integer, decimals) = value.split_once('.').unwrap_or((&value, ""));
    if integer.is_empty() && decimals.is_empty()
        || !integer.chars().all(|c| c.is_ascii_digit())
        || !decimals.chars().all(|c| c.is_ascii_digit())
    {
        return Err(invalid());
    }
    let decimals = decimals.trim_end_matches('0');
    if decimals.len() > 4 {
        return Err(ParseError::new("must have at most four decimal places"));
    }
    let integer: i64 = if integer.is_empty() {
        0
    } else {
        integer.parse().map_err(|_| too_large())?
    };
    let fraction: i64 = format!("{decimals:0<4}").parse().map_err(|_| invalid())?;
    integer
        .checked_mul(SCALE)
        .and_then(|integer| integer.checked_add(fraction))
        .ok_or_else(too_large)
}

/// Plain decimal, without trailing zeros: 0.5, 1500, 2.25.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let integer = self.0 / SCALE;
        let fraction = self.0 % SCALE;
        if fraction == 0 {
            write!(f, "{integer}")
        } else {
            let decimals = format!("{fraction:04}");
            write!(f, "{integer}.{}", decimals.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(value: &str) -> Amount {
        Amount::parse(value).expect("valid amount")
    }

    #[test]
    fn fractions_and_decimals_mean_the_same() {
        assert_eq!(amount("1/2"), amount("0.5"));
        assert_eq!(amount("0,5"), amount(".5"));
        assert_eq!(amount("1 1/2"), amount("1.5"));
        assert_eq!(amount("3/4").to_string(), "0.75");
        assert_eq!(amount("1500.000").to_string(), "1500");
    }

    #[test]
    fn inexact_negative_and_zero_amounts_are_refused() {
        assert!(Amount::parse("1/3").is_err());
        assert!(Amount::parse("0").is_err());
        assert!(Amount::parse("-1").is_err());
        assert!(Amount::parse("1/0").is_err());
        assert!(Amount::parse("0.00001").is_err());
        assert!(Amount::parse("abc").is_err());
        assert!(Amount::parse("").is_err());
    }

    #[test]
    fn products_stay_exact() {
        assert_eq!(amount("0.5").times(amount("500")), Some(amount("250")));
        assert_eq!(amount("250").times_count(3), Some(amount("750")));
        assert_eq!(amount("0.0001").times(amount("0.5")), None, "inexact");
    }
}
