//! Limits on password guessing, shared by the recovery login and the linking page (issue 8).
//!
//! Every password attempt first *reserves* a guess, in one SQL statement, against two counters:
//! one for the client address and one for the account (or, when no account has that name, for
//! the name as typed, so that the lock-out behaves alike for accounts that exist and ones that do
//! not). The password is evaluated only when both reservations are within the limit, so parallel
//! requests cannot each get a guess. A sign-in forgets the account's failures and gives back the
//! address's reservation; anything else leaves the guess counted.
//!
//! After `max` failures within the window, a key is locked for the lock-out period: attempts are
//! refused unevaluated (`auth.throttled`). When the lock-out ends, the key gets one guess, which
//! locks it again if it fails (the back-off); only a full window without attempts after the
//! lock-out, or a sign-in, restores the whole allowance.

use std::net::IpAddr;

use sqlx::Row;
use time::OffsetDateTime;

use crate::config::SpSettings;
use crate::store::{Store, StoreResult};

/// At most this many keys are remembered; past it the ones that expire soonest are forgotten
/// first (only a flood of distinct names or addresses within one window gets there).
const MAX_KEYS: i64 = 100_000;

/// How many failures one key may have, and for how long they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed in a window; the attempt after them is refused.
    pub max_failures: u32,
    pub window_secs: u32,
    pub lockout_secs: u32,
}

/// The two limits of the SP's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_account: Limit,
    pub per_address: Limit,
}

impl From<&SpSettings> for Limits {
    fn from(sp: &SpSettings) -> Self {
        let limit = |max_failures| Limit {
            max_failures,
            window_secs: sp.password_failure_window_secs,
            lockout_secs: sp.password_lockout_secs,
        };
        Limits {
            per_account: limit(sp.password_max_failures),
            per_address: limit(sp.password_max_failures_per_address),
        }
    }
}

/// Whom one password attempt counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKeys {
    pub address: String,
    pub account: String,
}

impl AttemptKeys {
    /// `user_id` when the typed name is an account's, else the name itself (trimmed, lower-cased
    /// as the account lookup compares, and bounded in length).
    pub fn new(address: Option<IpAddr>, user_id: Option<i64>, typed_name: &str) -> Self {
        let account = match user_id {
            Some(id) => format!("account:{id}"),
            None => {
                let name: String = typed_name.trim().to_lowercase().chars().take(256).collect();
                format!("name:{name}")
            }
        };
        AttemptKeys {
            address: address_key(address),
            account,
        }
    }
}

/// The counter key of a client address. IPv6 clients are counted per /64, the block one
/// subscriber usually gets; a router served without connection info counts all clients as one.
pub fn address_key(address: Option<IpAddr>) -> String {
    match address.map(|a| a.to_canonical()) {
        None => "address:unknown".into(),
        Some(IpAddr::V4(v4)) => format!("address:{v4}"),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The outcome of reserving a guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Evaluate the password; `remaining` guesses are left on the tighter of the two counters
    /// should this one fail.
    Granted { remaining: u32 },
    /// Refused unevaluated until `until`, because of the counter `key`.
    Refused { key: String, until: OffsetDateTime },
}

impl Store {
    /// Reserves one guess against the address, then the account. A refused address does not
    /// touch the account's counter (nor create one).
    pub async fn reserve_password_attempt(
        &self,
        keys: &AttemptKeys,
        limits: &Limits,
        now: OffsetDateTime,
    ) -> StoreResult<Reservation> {
        self.prune_throttle(now).await?;
        let address = self
            .reserve_guess(&keys.address, &limits.per_address, now)
            .await?;
        let Reservation::Granted {
            remaining: left_at_address,
        } = address
        else {
            return Ok(address);
        };
        let account = self
            .reserve_guess(&keys.account, &limits.per_account, now)
            .await?;
        Ok(match account {
            Reservation::Granted { remaining } => Reservation::Granted {
                remaining: remaining.min(left_at_address),
            },
            refused => refused,
        })
    }

    /// A sign-in with the password: the account's failures are forgotten and the address gets
    /// its reservation back.
    pub async fn password_attempt_succeeded(
        &self,
        keys: &AttemptKeys,
        limits: &Limits,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM password_throttle WHERE key = $1")
            .bind(&keys.account)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "UPDATE password_throttle SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
               locked_until = CASE WHEN failures - 1 < $2 THEN 0 ELSE locked_until END
             WHERE key = $1",
        )
        .bind(&keys.address)
        .bind(i64::from(limits.per_address.max_failures))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One atomic step of one counter: a new or expired key starts a window, a locked key stays
    /// locked (and refuses), a key whose lock-out has ended gets one guess and locks again, and
    /// otherwise the count goes up, locking when it reaches the limit. The count is capped at
    /// `max + 1`, so a flood cannot grow it.
    async fn reserve_guess(
        &self,
        key: &str,
        limit: &Limit,
        now: OffsetDateTime,
    ) -> StoreResult<Reservation> {
        let max = limit.max_failures.max(1);
        let row = sqlx::query(
            "INSERT INTO password_throttle (key, failures, window_started, locked_until, expires_at)
             VALUES ($1, 1, $2,
                     CASE WHEN 1 >= $3 THEN $2 + $5 ELSE 0 END,
                     CASE WHEN 1 >= $3 THEN $2 + $5 + $4 ELSE $2 + $4 END)
             ON CONFLICT (key) DO UPDATE SET
               failures = CASE
                 WHEN password_throttle.expires_at <= $2 THEN 1
                 WHEN password_throttle.locked_until > $2 THEN CASE WHEN password_throttle.failures < $3 THEN password_throttle.failures + 1 ELSE $3 + 1 END
                 WHEN password_throttle.locked_until > 0 THEN $3
                 ELSE CASE WHEN password_throttle.failures < $3 THEN password_throttle.failures + 1 ELSE $3 + 1 END END,
               window_started = CASE WHEN password_throttle.expires_at <= $2 THEN $2 ELSE password_throttle.window_started END,
               locked_until = CASE
                 WHEN password_throttle.expires_at <= $2 THEN (CASE WHEN 1 >= $3 THEN $2 + $5 ELSE 0 END)
                 WHEN password_throttle.locked_until > $2 THEN password_throttle.locked_until
                 WHEN password_throttle.locked_until > 0 OR password_throttle.failures + 1 >= $3 THEN $2 + $5
                 ELSE 0 END,
               expires_at = CASE
                 WHEN password_throttle.expires_at <= $2 THEN (CASE WHEN 1 >= $3 THEN $2 + $5 + $4 ELSE $2 + $4 END)
                 WHEN password_throttle.locked_until > $2 THEN password_throttle.expires_at
                 WHEN password_throttle.locked_until > 0 OR password_throttle.failures + 1 >= $3 THEN $2 + $5 + $4
                 ELSE password_throttle.expires_at END
             RETURNING failures, locked_until",
        )
        .bind(key)
        .bind(now.unix_timestamp())
        .bind(i64::from(max))
        .bind(i64::from(limit.window_secs))
        .bind(i64::from(limit.lockout_secs))
        .fetch_one(&self.pool)
        .await?;
        let failures: i64 = row.get("failures");
        let locked_until: i64 = row.get("locked_until");
        let max = i64::from(max);
        Ok(if failures <= max {
            Reservation::Granted {
                remaining: u32::try_from(max - failures).unwrap_or(0),
            }
        } else {
            Reservation::Refused {
                key: key.to_owned(),
                until: OffsetDateTime::from_unix_timestamp(locked_until).unwrap_or(now),
            }
        })
    }

    /// Forgets keys that no longer matter, and the soonest-expiring ones past [`MAX_KEYS`].
    async fn prune_throttle(&self, now: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("DELETE FROM password_throttle WHERE expires_at <= $1")
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "DELETE FROM password_throttle WHERE key IN (
               SELECT key FROM password_throttle ORDER BY expires_at
               LIMIT (SELECT CASE WHEN count(*) > $1 THEN count(*) - $1 ELSE 0 END
                      FROM password_throttle))",
        )
        .bind(MAX_KEYS - 1)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);
    const LIMIT: Limit = Limit {
        max_failures: 3,
        window_secs: 600,
        lockout_secs: 300,
    };
    const LIMITS: Limits = Limits {
        per_account: LIMIT,
        per_address: Limit {
            max_failures: 8,
            ..LIMIT
        },
    };

    fn keys(address: &str, account: &str) -> AttemptKeys {
        AttemptKeys {
            address: address.into(),
            account: account.into(),
        }
    }

    async fn granted(store: &Store, keys: &AttemptKeys, at: OffsetDateTime) -> bool {
        matches!(
            store
                .reserve_password_attempt(keys, &LIMITS, at)
                .await
                .unwrap(),
            Reservation::Granted { .. }
        )
    }

    #[tokio::test]
    async fn the_attempt_after_max_failures_is_refused_until_the_lock_out_ends() {
        let store = Store::open(":memory:").await.unwrap();
        let k = keys("address:a", "account:1");
        let mut remaining = vec![];
        for _ in 0..3 {
            match store
                .reserve_password_attempt(&k, &LIMITS, T0)
                .await
                .unwrap()
            {
                Reservation::Granted { remaining: r } => remaining.push(r),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(remaining, [2, 1, 0]);
        let refused = store
            .reserve_password_attempt(&k, &LIMITS, T0)
            .await
            .unwrap();
        assert_eq!(
            refused,
            Reservation::Refused {
                key: "account:1".into(),
                until: T0 + Duration::seconds(300)
            }
        );
        assert!(!granted(&store, &k, T0 + Duration::seconds(299)).await);
        // The lock-out is over: one guess, which locks again when it fails (back-off).
        let after = T0 + Duration::seconds(300);
        assert!(granted(&store, &k, after).await);
        assert!(!granted(&store, &k, after).await);
        // A quiet window after the lock-out restores the whole allowance.
        let later = after + Duration::seconds(300 + 600);
        for _ in 0..3 {
            assert!(granted(&store, &k, later).await);
        }
        assert!(!granted(&store, &k, later).await);
    }

    #[tokio::test]
    async fn failures_outside_the_window_are_forgotten() {
        let store = Store::open(":memory:").await.unwrap();
        let k = keys("address:a", "account:1");
        assert!(granted(&store, &k, T0).await);
        assert!(granted(&store, &k, T0).await);
        let next_window = T0 + Duration::seconds(600);
        for _ in 0..3 {
            assert!(granted(&store, &k, next_window).await);
        }
        assert!(!granted(&store, &k, next_window).await);
    }

    #[tokio::test]
    async fn a_sign_in_forgets_the_account_and_refunds_the_address() {
        let store = Store::open(":memory:").await.unwrap();
        let k = keys("address:a", "account:1");
        for _ in 0..3 {
            assert!(granted(&store, &k, T0).await);
        }
        store.password_attempt_succeeded(&k, &LIMITS).await.unwrap();
        for _ in 0..2 {
            assert!(granted(&store, &k, T0).await);
        }
        // The address has 3 + 2 reservations, one of them given back: four guesses left.
        let other = keys("address:a", "account:2");
        for _ in 0..3 {
            assert!(granted(&store, &other, T0).await);
        }
        let third = keys("address:a", "account:3");
        assert!(granted(&store, &third, T0).await);
        assert!(!granted(&store, &third, T0).await);
    }

    #[tokio::test]
    async fn a_locked_address_refuses_every_account_without_counting_them() {
        let store = Store::open(":memory:").await.unwrap();
        for i in 0..8 {
            assert!(granted(&store, &keys("address:a", &format!("name:u{i}")), T0).await);
        }
        let refused = store
            .reserve_password_attempt(&keys("address:a", "name:fresh"), &LIMITS, T0)
            .await
            .unwrap();
        assert!(
            matches!(&refused, Reservation::Refused { key, .. } if key == "address:a"),
            "{refused:?}"
        );
        // Another address still gets the account's whole allowance.
        for _ in 0..3 {
            assert!(granted(&store, &keys("address:b", "name:fresh"), T0).await);
        }
    }

    #[tokio::test]
    async fn a_limit_of_one_locks_at_the_first_guess() {
        let store = Store::open(":memory:").await.unwrap();
        let one = Limits {
            per_account: Limit {
                max_failures: 1,
                ..LIMIT
            },
            ..LIMITS
        };
        let k = keys("address:a", "account:1");
        let first = store.reserve_password_attempt(&k, &one, T0).await.unwrap();
        assert_eq!(first, Reservation::Granted { remaining: 0 });
        let second = store.reserve_password_attempt(&k, &one, T0).await.unwrap();
        assert!(matches!(second, Reservation::Refused { .. }), "{second:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_reservations_grant_exactly_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("throttle.sqlite");
        let store = Store::open(path.to_str().unwrap()).await.unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { granted(&store, &keys("address:a", "account:1"), T0).await },
                )
            })
            .collect();
        let mut granted_count = 0;
        for task in tasks {
            granted_count += usize::from(task.await.unwrap());
        }
        assert_eq!(granted_count, 3);
    }

    #[test]
    fn address_keys_group_ipv6_by_64_and_unmap_ipv4() {
        let v6: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let v6_neighbour: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(Some(v6)), address_key(Some(v6_neighbour)));
        assert_eq!(address_key(Some(v6)), "address:2001:db8:1:2::/64");
        let mapped = IpAddr::V6(Ipv6Addr::from([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]));
        assert_eq!(address_key(Some(mapped)), "address:127.0.0.1");
        assert_eq!(address_key(None), "address:unknown");
    }

    #[test]
    fn unknown_names_are_keyed_as_the_lookup_compares() {
        let a = AttemptKeys::new(None, None, "  Ghost ");
        assert_eq!(a.account, "name:ghost");
        assert_eq!(
            AttemptKeys::new(None, Some(7), "ghost").account,
            "account:7"
        );
        let long = "x".repeat(10_000);
        assert!(AttemptKeys::new(None, None, &long).account.len() <= 5 + 256);
    }
}
