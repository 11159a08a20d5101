//! Arithmetic on the instants the SP reads from messages and its clock. The clock itself (the
//! injected `Clock`, `ManualClock`) is `plumbing::clock`, shared with the mock IdP.

use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

// Instants come from messages (`NotOnOrAfter="9999-12-31T23:59:00Z"` is a valid xs:dateTime), and
// `time`'s `+` panics past year 9999. Every computation on an instant uses these instead: they
// saturate at the representable range, which keeps the meaning of "far future" / "far past".

/// The latest representable instant (9999-12-31T23:59:59.999999999Z).
pub const LATEST: OffsetDateTime = PrimitiveDateTime::MAX.assume_utc();
/// The earliest representable instant.
pub const EARLIEST: OffsetDateTime = PrimitiveDateTime::MIN.assume_utc();

/// The earliest instant a four-digit `xs:dateTime` year writes in UTC (0000-01-01T00:00:00Z).
pub const EARLIEST_WRITABLE: OffsetDateTime = time::macros::datetime!(0000-01-01 0:00 UTC);

/// `t` in UTC, clamped to `[EARLIEST_WRITABLE, LATEST]`: what every instant read from a message
/// becomes, so that it can be compared, shifted and written back (RFC 3339) without failing.
/// `0000-01-01T00:00:00+14:00` (year -1 in UTC) is "the distant past" either way.
pub fn writable(t: OffsetDateTime) -> OffsetDateTime {
    utc(t).clamp(EARLIEST_WRITABLE, LATEST)
}

/// `t` in UTC; an instant whose UTC form lies beyond the range (`9999-12-31T23:00:00-05:00`)
/// becomes [`LATEST`] (or [`EARLIEST`]). Comparisons never panic, conversions can: normalise first.
pub fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.checked_to_offset(UtcOffset::UTC)
        .unwrap_or(if t > LATEST { LATEST } else { EARLIEST })
}

/// `t + d`, saturating at [`LATEST`] / [`EARLIEST`].
pub fn add(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    utc(t).saturating_add(d)
}

/// `t - d`, saturating at [`LATEST`] / [`EARLIEST`].
pub fn sub(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    utc(t).saturating_sub(d)
}

/// `t + secs` seconds (a configured duration), saturating.
pub fn add_secs(t: OffsetDateTime, secs: u32) -> OffsetDateTime {
    add(t, Duration::seconds(i64::from(secs)))
}

/// The Unix second at or after `t` (a cache entry kept "until t" must not expire before it:
/// truncating `12:00:00.5` to `12:00:00` opens a half-second window).
pub fn unix_ceil(t: OffsetDateTime) -> i64 {
    let t = utc(t);
    let secs = t.unix_timestamp();
    if t.nanosecond() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn arithmetic_saturates_at_the_representable_range() {
        let end = datetime!(9999-12-31 23:59:00 UTC);
        assert_eq!(add(end, Duration::seconds(120)), LATEST);
        assert_eq!(add_secs(end, u32::MAX), LATEST);
        assert_eq!(sub(EARLIEST, Duration::seconds(1)), EARLIEST);
        assert_eq!(add(LATEST, Duration::MIN), EARLIEST);
        // Beyond the range only in UTC: local 9999-12-31 23:00 at -05:00 is 10000-01-01 04:00Z.
        let beyond = datetime!(9999-12-31 23:00 -5);
        assert_eq!(utc(beyond), LATEST);
        assert_eq!(add(beyond, Duration::seconds(1)), LATEST);
        assert_eq!(utc(datetime!(0000-01-01 0:00 +14)).year(), -1);
    }

    #[test]
    fn unix_ceil_rounds_fractions_up() {
        assert_eq!(unix_ceil(datetime!(1970-01-01 0:00:01 UTC)), 1);
        assert_eq!(unix_ceil(datetime!(1970-01-01 0:00:01.000000001 UTC)), 2);
        assert_eq!(unix_ceil(datetime!(1969-12-31 23:59:59.5 UTC)), 0);
        assert_eq!(unix_ceil(LATEST), LATEST.unix_timestamp() + 1);
    }
}
