//! The SP's notion of "now", injected so that scenarios can move virtual time without sleeping.

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

/// A source of the current time. Every time-dependent decision of the SP reads one of these.
pub trait Clock: Send + Sync + 'static {
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

/// A virtual clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    pub fn set(&self, now: OffsetDateTime) {
        *self.lock() = now;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // A poisoned lock only means another thread panicked while holding a plain value;
        // the value itself is still a valid time.
        self.now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        other.set(datetime!(2027-01-01 0:00 UTC));
        assert_eq!(clock.now(), datetime!(2027-01-01 0:00 UTC));
    }
}
