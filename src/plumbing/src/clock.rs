//! Injected time. Neither server reads the system clock directly: each reads a [`Clock`], so that
//! tests and scenarios pin or move time with [`ManualClock`] instead of sleeping.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::{Duration, OffsetDateTime};

/// A source of "now". Every time-dependent decision reads one of these.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A virtual clock that only moves when told to. Clones share the same instant, so a test (or the
/// scenario runner) keeps one handle and gives others to the IdP and the SP.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Moves the clock to `now` (backwards is allowed).
    pub fn set(&self, now: OffsetDateTime) {
        *self.lock() = now;
    }

    /// Moves the clock by `by` (negative moves it back).
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        // Saturating: `+=` panics past year 9999.
        *now = now.saturating_add(by);
    }

    fn lock(&self) -> MutexGuard<'_, OffsetDateTime> {
        // An OffsetDateTime cannot be left half-written, so a poisoned lock still holds a valid value.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let clock = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
        let other = clock.clone();
        clock.advance(Duration::seconds(270));
        assert_eq!(other.now(), datetime!(2026-01-01 0:04:30 UTC));
        other.set(datetime!(2025-12-31 23:00 UTC));
        assert_eq!(clock.now(), datetime!(2025-12-31 23:00 UTC));
    }

    #[test]
    fn advancing_past_the_representable_range_saturates() {
        let clock = ManualClock::new(datetime!(9999-12-31 23:59 UTC));
        clock.advance(Duration::days(2));
        assert_eq!(clock.now().year(), 9999);
    }
}
