//! Injected time. Nothing in this crate reads the system clock directly, so tests pin time with
//! [`ManualClock`] instead of sleeping, and deterministic mode mints byte-for-byte stable XML.

use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

/// A source of "now".
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Clones share the same instant, so a test can keep one
/// handle and give another to the IdP.
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

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
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
    fn manual_clock_clones_share_time() {
        let clock = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
        let other = clock.clone();
        clock.advance(Duration::seconds(90));
        assert_eq!(other.now(), datetime!(2026-01-01 0:01:30 UTC));
        other.set(datetime!(2025-12-31 23:00 UTC));
        assert_eq!(clock.now(), datetime!(2025-12-31 23:00 UTC));
    }
}
