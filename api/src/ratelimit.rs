//! Keyed rate limits (GCRA, from the `governor` crate), in memory: each instance limits on its
//! own. Used per client address for browser error reports and per token for writes.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

pub struct RateLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
}

/// Above this many tracked keys, keys whose limit is fully replenished are forgotten.
const SWEEP_THRESHOLD: usize = 10_000;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_minute` requests a minute, sustained, with bursts of up to `burst` at once.
    pub fn per_minute(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self { limiter: DefaultKeyedRateLimiter::keyed(quota), clock: DefaultClock::default() }
    }

    /// Counts one request from `key`: `Err(wait)` when over the limit.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        if self.limiter.len() > SWEEP_THRESHOLD {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Whole seconds to put in `Retry-After` (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_key_separately() {
        let two = NonZeroU32::new(2).unwrap();
        let limiter = RateLimiter::per_minute(two, two);
        assert!(limiter.check(&"a").is_ok() && limiter.check(&"a").is_ok());
        let wait = limiter.check(&"a").expect_err("third within the minute");
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30), "{wait:?}");
        assert!(limiter.check(&"b").is_ok());
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
    }
}
