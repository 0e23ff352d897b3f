//! Keyset pagination. A page token is the sort key of the last row served, encoded as opaque
//! base64url JSON; the next page starts strictly after it. Unlike OFFSET, a page never
//! repeats or skips rows when others are inserted meanwhile, and costs the same at any depth.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::types::ParseError;

/// How many rows a page holds: 0 means the default, more than the maximum is capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

impl PageSize {
    pub const DEFAULT: u16 = 50;
    pub const MAX: u16 = 500;

    pub fn parse(requested: i32) -> Result<Self, ParseError> {
        match requested {
            0 => Ok(Self(Self::DEFAULT)),
            n if n < 0 => Err(ParseError::new("must not be negative")),
            n => Ok(Self(u16::try_from(n).unwrap_or(Self::MAX).min(Self::MAX))),
        }
    }

    pub fn get(&self) -> usize {
        usize::from(self.0)
    }

    /// One row more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.0) + 1
    }
}

/// Decodes a page token into the key type `K` of the listing; empty means the first page.
pub fn decode_token<K: DeserializeOwned>(token: &str) -> Result<Option<K>, ParseError> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || ParseError::new("is not a page token from this listing");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| invalid())
}

pub fn encode_token<K: Serialize>(key: &K) -> String {
    // Serialising plain key structs cannot fail; an empty token would only end the listing.
    serde_json::to_vec(key)
        .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
        .unwrap_or_default()
}

/// Cuts the over-fetched rows to the page and makes the next token from the last row kept.
pub fn finish_page<T, K: Serialize>(
    mut rows: Vec<T>,
    size: PageSize,
    key_of: impl Fn(&T) -> K,
) -> (Vec<T>, String) {
    if rows.len() <= size.get() {
        return (rows, String::new());
    }
    rows.truncate(size.get());
    let token = rows
        .last()
        .map(|row| encode_token(&key_of(row)))
        .unwrap_or_default();
    (rows, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(PageSize::parse(0).map(|s| s.get()), Ok(50));
        assert_eq!(PageSize::parse(10_000).map(|s| s.get()), Ok(500));
        assert!(PageSize::parse(-1).is_err());
    }

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        let token = encode_token(&("ICU".to_owned(), 7_i64));
        assert_eq!(
            decode_token::<(String, i64)>(&token),
            Ok(Some(("ICU".to_owned(), 7)))
        );
        assert_eq!(decode_token::<(String, i64)>(""), Ok(None));
        assert!(decode_token::<(String, i64)>("not a token!").is_err());
    }

    #[test]
    fn finishing_a_page_tells_whether_more_follow() {
        let size = PageSize::parse(2).expect("valid size");
        let (rows, token) = finish_page(vec![1, 2, 3], size, |row| *row);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(decode_token::<i32>(&token), Ok(Some(2)));
        let (rows, token) = finish_page(vec![1, 2], size, |row| *row);
        assert_eq!(rows, vec![1, 2]);
        assert!(token.is_empty());
    }
}
