//! A per-client fixed-window rate limiter, in memory (each instance limits on its own).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_window: u32,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Above this many tracked clients, expired windows are swept.
const SWEEP_THRESHOLD: usize = 10_000;

impl RateLimiter {
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self { per_window, window, clients: Mutex::new(HashMap::new()) }
    }

    /// Counts one request from `client`: `Err(wait)` when over the limit.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if clients.len() > SWEEP_THRESHOLD {
            clients.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let (start, count) = clients.entry(client).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_window {
            return Err(self.window - now.duration_since(*start));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_client_separately() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(limiter.check(a).is_ok() && limiter.check(a).is_ok());
        assert!(limiter.check(a).is_err());
        assert!(limiter.check(b).is_ok());
    }
}
