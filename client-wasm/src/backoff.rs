//! Reconnection delays: exponential backoff with jitter, as socket.io-client computes them.

/// The delay (ms) before reconnection attempt `attempt` (from 0): `min · 2^attempt`, spread
/// by `± jitter` and capped at `max`, given a random number `rand` in `[0, 1)`.
pub(crate) fn delay(attempt: u32, min: f64, max: f64, jitter: f64, rand: f64) -> f64 {
    let mut ms = min * pow2(attempt);
    if jitter > 0.0 {
        let deviation = floor(rand * jitter * ms);
        // The same coin as socket.io-client: one bit of the same random number.
        ms = if (floor(rand * 10.0) as u32) & 1 == 0 {
            ms - deviation
        } else {
            ms + deviation
        };
    }
    floor(ms.min(max).max(0.0))
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

    #[test]
    fn doubles_up_to_the_cap() {
        let delays: [f64; 5] = core::array::from_fn(|i| delay(i as u32, 1000.0, 5000.0, 0.0, 0.3));
        assert_eq!(delays, [1000.0, 2000.0, 4000.0, 5000.0, 5000.0]);
    }

    #[test]
    fn jitter_goes_both_ways() {
        // rand 0.25: floor(2.5) = 2 is even, so the delay shrinks by 0.25·0.5·1000.
        assert_eq!(delay(0, 1000.0, 5000.0, 0.5, 0.25), 875.0);
        // rand 0.35: floor(3.5) = 3 is odd, so it grows.
        assert_eq!(delay(0, 1000.0, 5000.0, 0.5, 0.35), 1175.0);
    }
}
