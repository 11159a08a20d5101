//! Properties over extreme instants (issue 8, "Panics and time arithmetic"): every path that reads
//! an instant from a message — the verifier's time checks, the session's end, the replay cache's
//! expiry, a LogoutRequest's NotOnOrAfter — neither panics nor loses the meaning of "far future"
//! / "far past", for years 0001..9999, any fraction, any offset, any `now` and any configured
//! duration. The oracle computes in `i128` nanoseconds, independently of `time`'s arithmetic.

use proptest::prelude::*;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::clock::{self, EARLIEST_WRITABLE, LATEST};
use crate::config::SpConfig;
use crate::verify::checks;

/// A generated `xs:dateTime` and the instant it names, in Unix nanoseconds (exact, untruncated
/// by any range).
#[derive(Debug, Clone)]
struct Instant {
    text: String,
    nanos: i128,
}

fn instant() -> impl Strategy<Value = Instant> {
    (
        prop_oneof![1i32..=9999, Just(1i32), Just(9999i32), 1969i32..=2100],
        1u8..=12,
        1u8..=28,
        prop_oneof![0u8..24, Just(23u8)],
        prop_oneof![0u8..60, Just(59u8)],
        prop_oneof![0u8..60, Just(59u8)],
        prop_oneof![Just(String::new()), "[0-9]{1,14}"],
        prop_oneof![
            Just(None),
            (-(23i32 * 60 + 59)..=(23 * 60 + 59)).prop_map(Some),
            Just(Some(-(23 * 60 + 59))),
            Just(Some(23 * 60 + 59)),
        ],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, offset)| {
            let date = Date::from_calendar_date(y, Month::try_from(mo).unwrap(), d).unwrap();
            let local = PrimitiveDateTime::new(date, Time::from_hms(h, mi, s).unwrap());
            // xs:dateTime fractions have any length; the SP keeps nanoseconds (truncates).
            let frac_nanos: i128 = format!("{frac:0<9}")[..9].parse().unwrap_or(0);
            let offset_minutes: i32 = offset.unwrap_or(0);
            let nanos = local.assume_utc().unix_timestamp_nanos() + frac_nanos
                - i128::from(offset_minutes) * 60_000_000_000;
            let zone = match offset {
                None => "Z".to_owned(),
                Some(m) => format!(
                    "{}{:02}:{:02}",
                    if m < 0 { '-' } else { '+' },
                    m.abs() / 60,
                    m.abs() % 60
                ),
            };
            let dot = if frac.is_empty() { "" } else { "." };
            Instant {
                text: format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{dot}{frac}{zone}"),
                nanos,
            }
        })
}

/// Any representable `now`, the edges included.
fn now() -> impl Strategy<Value = OffsetDateTime> {
    prop_oneof![
        Just(LATEST),
        Just(clock::EARLIEST),
        Just(EARLIEST_WRITABLE),
        (EARLIEST_WRITABLE.unix_timestamp()..=LATEST.unix_timestamp())
            .prop_map(|s| OffsetDateTime::from_unix_timestamp(s).unwrap()),
        (0i64..4_102_444_800).prop_map(|s| OffsetDateTime::from_unix_timestamp(s).unwrap()),
    ]
}

fn nanos(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos()
}

/// `a + b` in nanoseconds, saturated at the representable range (what `clock::add` promises).
fn saturated(n: i128) -> i128 {
    n.clamp(nanos(clock::EARLIEST), nanos(LATEST))
}

fn secs(s: u32) -> i128 {
    i128::from(s) * 1_000_000_000
}

fn sp_settings(skew: u32, max_session: u32) -> crate::config::SpSettings {
    let mut config = SpConfig::from_toml(
        "[sp]\nbase_url = \"http://sp\"\n[idp]\nentity_id = \"i\"\nsso_url = \"http://i\"\ncertificate_pem = \"x\"\n",
    )
    .unwrap()
    .sp;
    config.clock_skew_secs = skew;
    config.max_session_secs = max_session;
    config
}

fn conditions(not_before: &str, not_on_or_after: &str) -> libxml::tree::Document {
    let xml = format!(
        r#"<saml:Conditions xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" NotBefore="{not_before}" NotOnOrAfter="{not_on_or_after}"/>"#
    );
    crate::verify::parse_document(xml.as_bytes()).unwrap().0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_parsed_instant_is_utc_writable_and_exact_within_the_range(i in instant()) {
        let t = checks::parse_instant(&i.text, "t").unwrap();
        prop_assert!(t.offset().is_utc());
        prop_assert!(t.format(&time::format_description::well_known::Rfc3339).is_ok());
        prop_assert_eq!(nanos(t), i.nanos.clamp(nanos(EARLIEST_WRITABLE), nanos(LATEST)));
    }

    #[test]
    fn the_conditions_window_is_judged_exactly_at_any_now_and_skew(
        nb in instant(), noa in instant(), now in now(), skew in any::<u32>(),
    ) {
        let doc = conditions(&nb.text, &noa.text);
        let node = doc.get_root_readonly().unwrap();
        let skew_d = Duration::seconds(i64::from(skew));
        let result = checks::check_conditions_time(Some(node), now, skew_d);
        let clamp = |n: i128| n.clamp(nanos(EARLIEST_WRITABLE), nanos(LATEST));
        let too_early = clamp(nb.nanos) > saturated(nanos(now) + secs(skew));
        let expired = clamp(noa.nanos) <= saturated(nanos(now) - secs(skew));
        match result {
            Ok(_) => prop_assert!(!too_early && !expired),
            Err(r) if too_early => prop_assert_eq!(r.reason.code(), "time.not_yet_valid"),
            Err(r) => {
                prop_assert!(expired, "{}", r.message);
                prop_assert_eq!(r.reason.code(), "time.expired");
            }
        }
    }

    #[test]
    fn the_session_ends_at_the_earliest_of_the_idp_and_the_cap(
        session in proptest::option::of(instant()), noa in proptest::option::of(instant()),
        now in now(), max_session in any::<u32>(),
    ) {
        let parse = |i: &Option<Instant>| i.as_ref().map(|i| checks::parse_instant(&i.text, "t").unwrap());
        let end = super::acs::session_end_at(parse(&session), parse(&noa), max_session, now);
        let cap = saturated(nanos(now) + secs(max_session));
        let idp = session.or(noa).map(|i| i.nanos.clamp(nanos(EARLIEST_WRITABLE), nanos(LATEST)));
        prop_assert_eq!(nanos(end), idp.map_or(cap, |t| t.min(cap)));
        prop_assert!(crate::xml::saml_instant(end).ends_with('Z'));
    }

    #[test]
    fn the_replay_cache_keeps_an_assertion_for_as_long_as_it_is_acceptable(
        conditions in proptest::option::of(instant()), bearer in proptest::option::of(instant()),
        one_time_use in any::<bool>(), now in now(), skew in any::<u32>(), max_session in any::<u32>(),
    ) {
        let parse = |i: &Option<Instant>| i.as_ref().map(|i| checks::parse_instant(&i.text, "t").unwrap());
        let settings = sp_settings(skew, max_session);
        let until = super::acs::replay_keep_until(
            [parse(&conditions), parse(&bearer)], one_time_use, &settings, now);
        let stored = clock::unix_ceil(until);
        // The verifier accepts while `now' - skew < NotOnOrAfter`, i.e. until NotOnOrAfter + skew.
        for window in [&conditions, &bearer].into_iter().flatten() {
            let last = saturated(window.nanos.clamp(nanos(EARLIEST_WRITABLE), nanos(LATEST)) + secs(skew));
            prop_assert!(i128::from(stored) * 1_000_000_000 >= last);
        }
        if one_time_use {
            prop_assert!(nanos(until) >= saturated(nanos(now) + secs(max_session)));
        }
    }

    #[test]
    fn a_logout_request_s_instants_are_judged_and_remembered_without_overflow(
        issued in instant(), noa in proptest::option::of(instant()), now in now(),
        skew in any::<u32>(), ttl in any::<u32>(),
    ) {
        let issue_instant = checks::parse_instant(&issued.text, "t").unwrap();
        let not_on_or_after = noa.as_ref().map(|i| checks::parse_instant(&i.text, "t").unwrap());
        let skew_d = Duration::seconds(i64::from(skew));
        let ttl_d = Duration::seconds(i64::from(ttl));
        let until = crate::slo::logout_keep_until(issue_instant, skew_d, ttl_d);
        let request = crate::slo::VerifiedLogoutRequest {
            id: "_l".into(),
            issuer: "i".into(),
            name_id: "n".into(),
            name_id_format: None,
            session_indexes: Vec::new(),
            issue_instant,
            not_on_or_after,
            signed: crate::slo::Signed::Unsigned,
        };
        let policy = crate::slo::SloPolicy {
            verify: crate::verify::VerifyPolicy { clock_skew: skew_d, ..crate::verify::VerifyPolicy::new("sp", "acs", vec![]) },
            sls_url: "sls".into(),
            require_signed_requests: false,
            max_request_age: ttl_d,
        };
        let accepted = crate::slo::verify::check_request_time(&request, &policy, now).is_ok();
        // While it is accepted, its ID is still remembered.
        if accepted {
            prop_assert!(until >= now);
        }
    }

    #[test]
    fn arithmetic_on_any_instant_saturates(t in now(), d in any::<i64>()) {
        let d = Duration::seconds(d);
        prop_assert_eq!(nanos(clock::add(t, d)), saturated(nanos(t) + d.whole_nanoseconds()));
        prop_assert_eq!(nanos(clock::sub(t, d)), saturated(nanos(t) - d.whole_nanoseconds()));
        let ceil = i128::from(clock::unix_ceil(t)) * 1_000_000_000;
        prop_assert!(ceil >= nanos(t) && ceil - nanos(t) < 1_000_000_000);
    }
}
