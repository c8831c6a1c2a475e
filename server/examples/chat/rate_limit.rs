//! A token bucket per socket: a burst, then one action per refill interval.

use std::time::{Duration, Instant};

/// A rate: `burst` actions at once, then one more every `refill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens in a full bucket.
    pub burst: u32,
    /// Time to earn one token back.
    pub refill: Duration,
}

/// The tokens one socket has left.
#[derive(Debug)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate, now: Instant) -> Self {
        Self {
            rate,
            tokens: f64::from(rate.burst),
            last: now,
        }
    }

    /// Takes a token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let full = f64::from(self.rate.burst);
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = if self.rate.refill.is_zero() {
            full
        } else {
            (self.tokens + elapsed.as_secs_f64() / self.rate.refill.as_secs_f64()).min(full)
        };
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate {
        burst: 3,
        refill: Duration::from_secs(1),
    };

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(RATE, t0);
        assert!((0..3).all(|_| b.try_take(t0)));
        assert!(!b.try_take(t0));
        assert!(!b.try_take(t0 + Duration::from_millis(999)));
        assert!(b.try_take(t0 + Duration::from_millis(1_000)));
        assert!(!b.try_take(t0 + Duration::from_millis(1_001)));
        // A long pause refills up to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| b.try_take(later)));
        assert!(!b.try_take(later));
    }

    #[test]
    fn clock_going_backwards_earns_nothing() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = TokenBucket::new(Rate { burst: 1, ..RATE }, t0);
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0 - Duration::from_secs(5)));
    }

    #[test]
    fn zero_refill_is_unlimited() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            Rate {
                burst: 1,
                refill: Duration::ZERO,
            },
            t0,
        );
        assert!((0..100).all(|_| b.try_take(t0)));
    }
}
