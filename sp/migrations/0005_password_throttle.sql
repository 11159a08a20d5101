-- Password guessing limits (issue 8): failed password attempts per account and per client address,
-- shared by the recovery login and the linking page, kept across sign-ins and restarts.
-- A key is `account:<user id>`, `name:<what was typed>` (unknown usernames are counted alike, so
-- the lock-out does not tell accounts apart) or `address:<client address>`.
CREATE TABLE password_throttle (
    key            TEXT PRIMARY KEY,
    -- attempts reserved in the current window, capped at the limit + 1
    failures       INTEGER NOT NULL,
    window_started INTEGER NOT NULL,
    -- 0, or the unix time until which every attempt is refused unevaluated
    locked_until   INTEGER NOT NULL DEFAULT 0,
    -- when the row no longer matters (window and lock-out both over): pruned after that
    expires_at     INTEGER NOT NULL
);
CREATE INDEX password_throttle_expiry ON password_throttle (expires_at);
