//! One whole SP-initiated sign-in in process over loopback HTTP: the SP's `/login` makes an
//! AuthnRequest, the mock IdP answers with a signed response (one RSA-2048 signature), the
//! browser posts it to the ACS (one RSA-2048 verification), the SP opens a session, and `/me`
//! shows who is signed in. Both servers and the HTTP driver run in this process, so the cost is
//! the process's CPU time (`plumbing::bench`), set against one bare RSA signature plus one
//! verification measured in the same run.
//!
//! `cargo bench --bench sign_in` (append `-- --warm-up-time 1 --measurement-time 3` for a quick
//! run; `SAMLCONF_BENCH_ROUNDS` sets the interleaved rounds).

use mock_idp::keys::IdpKeys;
use plumbing::bench::{Clock, Op, Ratio, RsaBaseline, Target, criterion, interleaved, rounds};
use samlconf::driver::{HttpDriver, SignInOutcome};
use samlconf::harness::{Pair, PairOptions};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let pair = runtime
        .block_on(Pair::start(PairOptions {
            virtual_start: Some(samlconf::runner::START),
            ..Default::default()
        }))
        .expect("start the mock IdP and the reference SP");
    let sign_in = || {
        runtime.block_on(async {
            // A fresh browser (cookie jar) each time: one new session per sign-in.
            let driver = HttpDriver::new(&pair.endpoints.sp_base_url).expect("driver");
            match driver.sign_in("alice@example.com", None).await {
                Ok(SignInOutcome::SignedIn { .. }) => {}
                other => panic!("the sign-in did not succeed: {other:?}"),
            }
        })
    };
    sign_in();
    let keys = IdpKeys::fixed_for_tests();
    let rsa = RsaBaseline::new(&keys.idp.key_pem, &keys.idp.cert_pem);

    let mut c = criterion(Clock::Process);
    c.bench_function("sign_in/round_trip_loopback_http", |b| b.iter(sign_in));
    c.bench_function("rsa2048/sign", |b| b.iter(|| rsa.sign()));
    c.bench_function("rsa2048/verify", |b| b.iter(|| assert!(rsa.verify())));
    c.final_summary();

    let mut ops = [
        Op::new("rsa2048 sign", || drop(rsa.sign())),
        Op::new("rsa2048 verify", || assert!(rsa.verify())),
        Op::new("sign-in round trip", sign_in),
    ];
    interleaved(&mut ops, rounds(), Clock::Process).report(
        "one sign-in over loopback HTTP against its two RSA-2048 operations",
        &[Ratio {
            numerator: "sign-in round trip",
            denominator: &["rsa2048 sign", "rsa2048 verify"],
            target: Target::None,
        }],
    );
}
