//! The targets without libFuzzer, on stable: each over its seeds, then over pseudo-random
//! variations of them (byte edits, splices of two seeds), for machines without nightly.
//! Far weaker than coverage-guided fuzzing, but the same checks on the same code.
//!
//! `SIO_FUZZ_TARGET` picks one target (default: all), `SIO_FUZZ_SECS` how long to vary
//! each one's seeds (default 2 s). A failing input is written to `artifacts/<target>/`.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sio_fuzz::TARGETS;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// xorshift64*: reproducible variations without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the formats, to insert: digits, delimiters, escapes, msgpack tags.
const INTERESTING: &[u8] =
    b"0123456-/,[]{}\"\\:ub=\x1e \x00\x7f\xc0\xc1\xcc\xd4\xd7\xd9\xdc\xde\xff\x80\x90\xa0";

fn vary(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut out = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 => out.insert(at, rng.next() as u8),
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at..end);
            }
            4 if at < out.len() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
        }
    }
    out
}

fn save(target: &str, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("artifacts")
        .join(target);
    let _ = std::fs::create_dir_all(&dir);
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("stable-crash-{hash:016x}"));
    let _ = std::fs::write(&path, input);
    path
}

#[test]
fn targets_over_seeds_and_variations() {
    let only = std::env::var("SIO_FUZZ_TARGET").ok();
    let secs: f64 = std::env::var("SIO_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let mut failed = Vec::new();
    for &(name, target) in TARGETS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let seeds = seeds(name);
        assert!(!seeds.is_empty(), "{name}: no seeds");
        let start = Instant::now();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        let mut runs = 0u64;
        let mut crash = None;
        let deadline = Duration::from_secs_f64(secs);
        let mut inputs = seeds.clone().into_iter();
        loop {
            let input = match inputs.next() {
                Some(seed) => seed,
                None if start.elapsed() < deadline => vary(&mut rng, &seeds),
                None => break,
            };
            runs += 1;
            if panic::catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
                crash = Some(save(name, &input));
                break;
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        let rate = runs as f64 / elapsed.max(1e-9);
        match crash {
            None => {
                println!("stable {name}: {runs} runs in {elapsed:.1} s ({rate:.0}/s), 0 crashes")
            }
            Some(path) => {
                println!("stable {name}: CRASH after {runs} runs: {}", path.display());
                failed.push(name);
            }
        }
    }
    assert!(failed.is_empty(), "crashes in {failed:?}");
}

/// `SIO_FUZZ_TARGET=t SIO_FUZZ_INPUT=path`: runs one input (a crash artifact) with its panic
/// message in full.
#[test]
fn one_input() {
    let (Ok(name), Ok(path)) = (
        std::env::var("SIO_FUZZ_TARGET"),
        std::env::var("SIO_FUZZ_INPUT"),
    ) else {
        return;
    };
    let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (_, target) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no target {name}"));
    target(&input);
}
