//! Exact money in cents, signed (a reversal or a credit is negative): the database's
//! `numeric(14,2)`. Prices times quantities and percentages round half away from zero to the
//! cent once, where the charge is made, so the shares of a charge add up to it exactly.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Neg, Sub};

use crate::amount::Amount;
use crate::types::ParseError;

/// The largest amount `numeric(14,2)` holds, in cents.
const MAX_CENTS: i64 = 99_999_999_999_999;

/// An amount of money in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    /// "1250", "12.5", "12,50", "-40.10"; at most two decimal places.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        let (negative, digits) = match value.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let digits = digits.replace(',', ".");
        let (integer, decimals) = digits.split_once('.').unwrap_or((&digits, ""));
        if integer.is_empty()
            || !integer.chars().all(|c| c.is_ascii_digit())
            || !decimals.chars().all(|c| c.is_ascii_digit())
        {
            return Err(ParseError::new("must be an amount such as 120 or 45.50"));
        }
        let decimals = decimals.trim_end_matches('0');
        if decimals.len() > 2 {
            return Err(ParseError::new("must have at most two decimal places"));
        }
        let integer: i64 = integer
            .parse()
            .map_err(|_| ParseError::new("is too large"))?;
        let fraction: i64 = format!("{decimals:0<2}")
            .parse()
            .map_err(|_| ParseError::new("must be an amount such as 120 or 45.50"))?;
        let cents = integer
            .checked_mul(100)
            .and_then(|cents| cents.checked_add(fraction))
            .filter(|cents| *cents <= MAX_CENTS)
            .ok_or_else(|| ParseError::new("is too large"))?;
        Ok(Self(if negative { -cents } else { cents }))
    }

    /// The amount the database returns as text (`numeric::text`).
    pub fn from_db(value: &str) -> Result<Self, ParseError> {
        Self::parse(value)
    }

    pub fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self × quantity`, rounded half away from zero to the cent; `None` when too large.
    pub fn times(self, quantity: Amount) -> Option<Money> {
        // cents × ten-thousandths: divide by 10,000 to come back to cents.
        let product = i128::from(self.0) * i128::from(quantity.scaled());
        Self::rounded(product, 10_000)
    }

    /// `self × basis_points / 10,000` (a percentage with two decimals: 1250 is 12.5 %),
    /// rounded half away from zero to the cent.
    pub fn share(self, basis_points: i64) -> Option<Money> {
        Self::rounded(i128::from(self.0) * i128::from(basis_points), 10_000)
    }

    fn rounded(numerator: i128, denominator: i128) -> Option<Money> {
        let half = denominator / 2;
        let rounded = if numerator >= 0 {
            (numerator + half) / denominator
        } else {
            (numerator - half) / denominator
        };
        i64::try_from(rounded)
            .ok()
            .filter(|cents| cents.abs() <= MAX_CENTS)
            .map(Money)
    }

    pub fn min(self, other: Money) -> Money {
        Money(self.0.min(other.0))
    }

    pub fn max(self, other: Money) -> Money {
        Money(self.0.max(other.0))
    }
}

impl Add for Money {
    type Output = Money;

    /// Saturating: no account comes near `numeric(14,2)`'s limit, and the database refuses
    /// what does not fit.
    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl Sub for Money {
    type Output = Money;

    fn sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl Neg for Money {
    type Output = Money;

    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

/// Always two decimals: 1250.00, -40.10, 0.00.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let cents = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", cents / 100, cents % 100)
    }
}

/// Stored as `numeric(14,2)`, exchanged with the database as text: a query binds it as
/// `$1::numeric` and reads the column as `amount::text`, so no float ever carries it.
impl sqlx::Type<sqlx::Postgres> for Money {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Postgres> for Money {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, sqlx::Postgres>>::encode(self.to_string(), buf)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Money {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)?;
        Money::from_db(text).map_err(|error| format!("{text:?} is not money: {}", error.0).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(value: &str) -> Money {
        Money::parse(value).expect("valid money")
    }

    #[test]
    fn parses_and_prints_to_the_cent() {
        assert_eq!(money("1250").to_string(), "1250.00");
        assert_eq!(money("12.5").to_string(), "12.50");
        assert_eq!(money("12,05").to_string(), "12.05");
        assert_eq!(money("-40.10").to_string(), "-40.10");
        assert_eq!(money("0").to_string(), "0.00");
        assert_eq!(money("-0.07").cents(), -7);
        for wrong in ["", "-", "1.234", "abc", "1e3", ".5", "99999999999999999"] {
            assert!(Money::parse(wrong).is_err(), "{wrong} parsed");
        }
    }

    #[test]
    fn rounds_half_away_from_zero_once() {
        let tablet = Amount::parse("0.5").expect("amount");
        assert_eq!(money("0.05").times(tablet), Some(money("0.03")));
        assert_eq!(money("-0.05").times(tablet), Some(money("-0.03")));
        assert_eq!(money("100").share(1250), Some(money("12.50")));
        assert_eq!(money("0.10").share(5000), Some(money("0.05")));
        assert_eq!(money("0.01").share(5000), Some(money("0.01")));
        let three = Amount::parse("3").expect("amount");
        assert_eq!(money("450.00").times(three), Some(money("1350")));
    }
}
