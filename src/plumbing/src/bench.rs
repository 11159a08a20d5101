//! Benchmark plumbing (feature `testing`): the bare RSA-2048 operations that bound what verifying
//! or minting a message can cost, and cost ratios measured so that a busy machine cancels out.
//!
//! The benches of the SP, the mock IdP and the harness report each target as a ratio ("verifying a
//! typical response costs at most 4× one RSA verification"). On a machine shared with other
//! builds, wall-clock times swing by 3× within a minute, mostly because the benchmark thread waits
//! for a core. So costs are CPU time ([`CpuTime`]: the thread's, or the whole process's when
//! servers run on other threads), and two operations timed in alternating short batches see the
//! same load on caches and memory, so the median over rounds of each round's ratio is stable even
//! when the times are not.

use std::time::Duration;

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;

/// The bare RSA operations (RSA-SHA256, PKCS#1 v1.5) with one key pair: what XML-DSig does once
/// per signature, without any XML.
pub struct RsaBaseline {
    private: PKey<Private>,
    public: PKey<Public>,
    /// As long as a typical `ds:SignedInfo`, canonicalised.
    message: Vec<u8>,
    signature: Vec<u8>,
}

impl RsaBaseline {
    /// The baseline for the key pair `key_pem` / `cert_pem`. Panics on unusable PEM (benches only).
    pub fn new(key_pem: &str, cert_pem: &str) -> RsaBaseline {
        let private = PKey::private_key_from_pem(key_pem.as_bytes()).expect("bench private key");
        let public = X509::from_pem(cert_pem.as_bytes())
            .and_then(|c| c.public_key())
            .expect("bench certificate");
        let message = vec![b'x'; 600];
        let mut baseline = RsaBaseline {
            private,
            public,
            message,
            signature: Vec::new(),
        };
        baseline.signature = baseline.sign();
        assert!(baseline.verify(), "the bench key pair does not match");
        baseline
    }

    /// One RSA-SHA256 signature of the message.
    pub fn sign(&self) -> Vec<u8> {
        let mut signer = Signer::new(MessageDigest::sha256(), &self.private).expect("signer");
        signer.update(&self.message).expect("update");
        signer.sign_to_vec().expect("sign")
    }

    /// One RSA-SHA256 verification of the message's signature.
    pub fn verify(&self) -> bool {
        let mut verifier = Verifier::new(MessageDigest::sha256(), &self.public).expect("verifier");
        verifier.update(&self.message).expect("update");
        verifier.verify(&self.signature).unwrap_or(false)
    }
}

/// Which CPU clock a measurement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The calling thread's CPU time: for work done on the calling thread.
    Thread,
    /// The CPU time of every thread of the process: for work spread over server threads.
    Process,
}

impl Clock {
    /// The clock's current reading.
    pub fn now(self) -> Duration {
        let id = match self {
            Clock::Thread => libc::CLOCK_THREAD_CPUTIME_ID,
            Clock::Process => libc::CLOCK_PROCESS_CPUTIME_ID,
        };
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; both clock ids exist on Linux.
        let rc = unsafe { libc::clock_gettime(id, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

/// A criterion measurement of CPU time instead of wall-clock time (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct CpuTime(pub Clock);

impl criterion::measurement::Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        self.0.now()
    }
    fn end(&self, started: Duration) -> Duration {
        self.0.now().saturating_sub(started)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn criterion::measurement::ValueFormatter {
        // Nanoseconds, as for wall-clock time: criterion's own formatter.
        static WALL: criterion::measurement::WallTime = criterion::measurement::WallTime;
        criterion::measurement::Measurement::formatter(&WALL)
    }
}

/// A criterion configured from the command line that measures `clock`'s CPU time.
pub fn criterion(clock: Clock) -> criterion::Criterion<CpuTime> {
    criterion::Criterion::default()
        .with_measurement(CpuTime(clock))
        .configure_from_args()
}

/// One operation to time.
pub struct Op<'a> {
    pub name: &'a str,
    pub run: Box<dyn FnMut() + 'a>,
}

impl<'a> Op<'a> {
    pub fn new(name: &'a str, run: impl FnMut() + 'a) -> Op<'a> {
        Op {
            name,
            run: Box::new(run),
        }
    }
}

/// Per-call times of each operation, one per round (rounds interleave the operations).
pub struct Interleaved {
    names: Vec<String>,
    /// `rounds[r][i]`: operation `i`'s mean per-call time in round `r`.
    rounds: Vec<Vec<Duration>>,
}

/// How much CPU time one batch of one operation takes: short enough that the machine's load
/// barely changes between the batches of one round, long enough for the clock.
const BATCH: Duration = Duration::from_millis(4);

/// Times `ops` on `clock` in `rounds` rounds; each round runs one batch of each operation in turn.
pub fn interleaved(ops: &mut [Op<'_>], rounds: usize, clock: Clock) -> Interleaved {
    if rounds == 0 {
        return Interleaved {
            names: Vec::new(),
            rounds: Vec::new(),
        };
    }
    // Calibrate: how many calls make one batch.
    let sizes: Vec<u32> = ops
        .iter_mut()
        .map(|op| {
            let started = clock.now();
            let mut calls = 0u32;
            while clock.now().saturating_sub(started) < BATCH || calls < 3 {
                (op.run)();
                calls += 1;
            }
            calls
        })
        .collect();
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let round = ops
            .iter_mut()
            .zip(&sizes)
            .map(|(op, &calls)| {
                let started = clock.now();
                for _ in 0..calls {
                    (op.run)();
                }
                clock.now().saturating_sub(started) / calls
            })
            .collect();
        out.push(round);
    }
    Interleaved {
        names: ops.iter().map(|op| op.name.to_owned()).collect(),
        rounds: out,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

impl Interleaved {
    fn index(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no operation {name:?} was timed"))
    }

    /// The median per-call time of `name`, in µs.
    pub fn micros(&self, name: &str) -> f64 {
        let i = self.index(name);
        median(
            self.rounds
                .iter()
                .map(|r| r[i].as_secs_f64() * 1e6)
                .collect(),
        )
    }

    /// The median over rounds of `numerator`'s time over the sum of the `denominator`s' times.
    pub fn ratio(&self, numerator: &str, denominator: &[&str]) -> f64 {
        let n = self.index(numerator);
        let d: Vec<usize> = denominator.iter().map(|name| self.index(name)).collect();
        median(
            self.rounds
                .iter()
                .map(|r| r[n].as_secs_f64() / d.iter().map(|&i| r[i].as_secs_f64()).sum::<f64>())
                .collect(),
        )
    }

    /// Prints every operation's median time, then each ratio with its target; returns whether
    /// every target held.
    pub fn report(&self, title: &str, ratios: &[Ratio<'_>]) -> bool {
        if self.rounds.is_empty() {
            return true;
        }
        println!();
        println!(
            "{title}: CPU time, medians of {} interleaved rounds",
            self.rounds.len()
        );
        for name in &self.names {
            println!("  {name:<44} {:>10.1} µs", self.micros(name));
        }
        let mut all = true;
        for r in ratios {
            let value = self.ratio(r.numerator, r.denominator);
            let verdict = match r.target {
                Target::AtMost(limit) if value <= limit => format!("target ≤ {limit}: met"),
                Target::AtMost(limit) => {
                    all = false;
                    format!("target ≤ {limit}: MISSED")
                }
                Target::Below(limit) if value < limit => format!("target < {limit}: met"),
                Target::Below(limit) => {
                    all = false;
                    format!("target < {limit}: MISSED")
                }
                Target::None => "(no target)".to_owned(),
            };
            println!(
                "  ratio {:<58} {value:>6.2}  {verdict}",
                format!("{} / {}", r.numerator, r.denominator.join(" + "))
            );
        }
        all
    }
}

/// A target on a ratio.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    AtMost(f64),
    Below(f64),
    None,
}

/// A ratio to report: one operation's time over the sum of others'.
pub struct Ratio<'a> {
    pub numerator: &'a str,
    pub denominator: &'a [&'a str],
    pub target: Target,
}

/// How many interleaved rounds the benches run: `SAMLCONF_BENCH_ROUNDS`, default 41 (0 skips
/// them, e.g. under a profiler).
pub fn rounds() -> usize {
    std::env::var("SAMLCONF_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(41)
}
