//! What the gateway limits: sign-in attempts per client address (a fixed one-minute window,
//! enough to slow password guessing without a store of its own), and call deadlines.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderValue;

const WINDOW: Duration = Duration::from_secs(60);
/// Above this many addresses, windows that ended are swept out.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct LoginLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `client`; false once it has used its minute's attempts.
    pub fn admit(&self, client: IpAddr) -> bool {
        self.admit_at(client, Instant::now())
    }

    fn admit_at(&self, client: IpAddr, now: Instant) -> bool {
        let mut windows = match self.windows.lock() {
            Ok(windows) => windows,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let window = windows.entry(client).or_insert((now, 0));
        if now.duration_since(window.0) >= WINDOW {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 <= self.per_minute
    }
}

/// The deadline of a call: the client's `grpc-timeout` (`<digits><unit>`, units H M S m u n),
/// else `default`, never more than `max`.
pub fn deadline(header: Option<&HeaderValue>, default: Duration, max: Duration) -> Duration {
    let asked = header
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
            let amount: u64 = digits.parse().ok()?;
            Some(match unit {
                "H" => Duration::from_secs(amount.saturating_mul(3600)),
                "M" => Duration::from_secs(amount.saturating_mul(60)),
                "S" => Duration::from_secs(amount),
                "m" => Duration::from_millis(amount),
                "u" => Duration::from_micros(amount),
                "n" => Duration::from_nanos(amount),
                _ => return None,
            })
        });
    asked.unwrap_or(default).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_attempts_per_minute_and_others_are_apart() {
        let limiter = LoginLimiter::new(3);
        let (one, two): (IpAddr, IpAddr) = (
            "10.0.0.1".parse().expect("ip"),
            "10.0.0.2".parse().expect("ip"),
        );
        let start = Instant::now();
        let first: Vec<bool> = (0..4).map(|_| limiter.admit_at(one, start)).collect();
        assert_eq!(first, [true, true, true, false]);
        assert!(
            limiter.admit_at(two, start),
            "another address has its own window"
        );
        assert!(
            limiter.admit_at(one, start + WINDOW),
            "a new minute, new attempts"
        );
    }

    #[test]
    fn deadlines_are_read_defaulted_and_capped() {
        let (default, max) = (Duration::from_secs(30), Duration::from_secs(300));
        let header = |value: &'static str| HeaderValue::from_static(value);
        assert_eq!(
            deadline(Some(&header("1500m")), default, max),
            Duration::from_millis(1500)
        );
        assert_eq!(deadline(Some(&header("2H")), default, max), max);
        assert_eq!(deadline(Some(&header("junk")), default, max), default);
        assert_eq!(deadline(None, default, max), default);
    }
}
