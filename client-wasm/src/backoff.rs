//! Reconnection delays: exponential backoff with jitter, as socket.io-client computes them.

/// Delay schedule: `min · 2^attempt`, spread by `± jitter` and capped at `max` (ms).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) jitter: f64,
    pub(crate) attempts: u32,
}

impl Backoff {
    /// The next delay, given a random number in `[0, 1)`; counts one attempt.
    pub(crate) fn duration(&mut self, rand: f64) -> f64 {
        let mut ms = self.min * pow2(self.attempts);
        self.attempts = self.attempts.saturating_add(1);
        if self.jitter > 0.0 {
            let deviation = floor(rand * self.jitter * ms);
            // The same coin as socket.io-client: one bit of the same random number.
            ms = if (floor(rand * 10.0) as u32) & 1 == 0 {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        floor(ms.min(self.max).max(0.0))
    }

    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }
}

fn pow2(n: u32) -> f64 {
    // 2^n without libm; past 2^1023 the delay is capped by `max` anyway.
    let mut v = 1.0;
    for _ in 0..n.min(1023) {
        v *= 2.0;
    }
    v
}

fn floor(x: f64) -> f64 {
    // Delays are far below 2^53, where the cast is exact.
    let t = x as i64 as f64;
    if t > x { t - 1.0 } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff(jitter: f64) -> Backoff {
        Backoff {
            min: 1000.0,
            max: 5000.0,
            jitter,
            attempts: 0,
        }
    }

    #[test]
    fn doubles_up_to_the_cap() {
        let mut b = backoff(0.0);
        let delays: [f64; 5] = core::array::from_fn(|_| b.duration(0.3));
        assert_eq!(delays, [1000.0, 2000.0, 4000.0, 5000.0, 5000.0]);
        b.reset();
        assert_eq!(b.duration(0.3), 1000.0);
    }

    #[test]
    fn jitter_goes_both_ways() {
        // rand 0.25: floor(2.5) = 2 is even, so the delay shrinks by 0.25·0.5·1000.
        assert_eq!(backoff(0.5).duration(0.25), 875.0);
        // rand 0.35: floor(3.5) = 3 is odd, so it grows.
        assert_eq!(backoff(0.5).duration(0.35), 1175.0);
    }
}
