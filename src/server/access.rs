//! Who may call what: API keys by role, the bind check that keeps an open service on loopback,
//! and per-client rate limits.
//!
//! Roles, from the route a request matched:
//! - **write**: `POST` and `DELETE /v1/interactions`, `/v1/admin/*` — the API key (`--api-key`);
//! - **read**: recommendations, explanations, similar items, models, `/sparql` — the read key
//!   (`--read-key`) or the API key; open when no read key is set;
//! - **health** (`/health/*`, `/openapi.json`) and **metrics** (`/metrics`): open unless
//!   `--guard` names them, then as reads.
//!
//! Keys come as `Authorization: Bearer KEY` or `X-API-Key: KEY`. They are compared as SHA-256
//! digests with a constant-time equality, so neither the time nor the answer tells which part
//! of a key was wrong; a missing and a wrong key get the same 401.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::Path;

use axum::http::{HeaderMap, Method};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use kgrec::{Error, Result};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Health checks and the OpenAPI document.
    Health,
    /// Prometheus metrics.
    Metrics,
    /// Answers from the model and the graph.
    Read,
    /// Interactions in, rebuilds.
    Write,
}

impl Role {
    /// The role of a matched route template and method.
    pub fn of(route: &str, method: &Method) -> Role {
        match route {
            "/health/live" | "/health/ready" | "/openapi.json" => Role::Health,
            "/metrics" => Role::Metrics,
            "/v1/interactions" | "/v1/items/retired"
                if method == Method::POST || method == Method::DELETE =>
            {
                Role::Write
            }
            r if r.starts_with("/v1/admin/") => Role::Write,
            _ => Role::Read,
        }
    }
}

/// A key, kept only as its digest.
#[derive(Clone)]
struct Key([u8; 32]);

impl Key {
    fn new(secret: &str) -> Key {
        Key(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether `given` is this key, in time that does not depend on where they differ.
    fn matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        bool::from(self.0.ct_eq(&given))
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Which routes are guarded by which key.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    write: Option<Key>,
    read: Option<Key>,
    guard_health: bool,
    guard_metrics: bool,
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// No key, or not the right one: 401 (the same answer for both).
    Unauthorized,
    /// The read key on a write or admin route: 403 (the key is valid, the right is not its).
    Forbidden,
}

impl Policy {
    /// A policy from the keys' secrets (`None`: no key of that kind) and the guarded extras.
    pub fn new(
        write: Option<&str>,
        read: Option<&str>,
        guard_health: bool,
        guard_metrics: bool,
    ) -> Policy {
        Policy {
            write: write.map(Key::new),
            read: read.map(Key::new),
            guard_health,
            guard_metrics,
        }
    }

    /// Whether writes need a key.
    pub fn writes_guarded(&self) -> bool {
        self.write.is_some()
    }

    /// Whether a request of `role` with these headers may go on.
    pub fn check(&self, role: Role, headers: &HeaderMap) -> Verdict {
        let open = match role {
            Role::Health if !self.guard_health => true,
            Role::Metrics if !self.guard_metrics => true,
            Role::Write => self.write.is_none(),
            Role::Read => self.read.is_none(),
            Role::Health | Role::Metrics => self.read.is_none() && self.write.is_none(),
        };
        if open {
            return Verdict::Allowed;
        }
        let Some(given) = presented_key(headers) else {
            return Verdict::Unauthorized;
        };
        // Both digests are compared whatever the first says: the time tells nothing.
        let write_ok = self.write.as_ref().is_some_and(|k| k.matches(given));
        let read_ok = self.read.as_ref().is_some_and(|k| k.matches(given));
        let allowed = match role {
            Role::Write => write_ok,
            _ => write_ok | read_ok,
        };
        match (allowed, read_ok) {
            (true, _) => Verdict::Allowed,
            (false, true) => Verdict::Forbidden,
            (false, false) => Verdict::Unauthorized,
        }
    }

    /// One line for the startup log: what is open to whom (`read_only`: the server takes no
    /// writes).
    pub fn describe(&self, read_only: bool) -> String {
        let reads = if self.read.is_some() {
            "reads need the read key or the API key"
        } else {
            "reads are open"
        };
        let writes = if read_only {
            "writes and admin are refused (read-only)"
        } else if self.write.is_some() {
            "writes and admin need the API key"
        } else {
            "writes and admin are open (no --api-key)"
        };
        let extra = |guarded: bool, what: &str| {
            if guarded {
                format!("{what} need a read key")
            } else {
                format!("{what} are open")
            }
        };
        format!(
            "access: {reads}; {writes}; {}; {}",
            extra(self.guard_health, "health checks and /openapi.json"),
            extra(self.guard_metrics, "metrics")
        )
    }
}

/// The key a request presents: `Authorization: Bearer KEY`, else `X-API-Key: KEY`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION)
        && let Ok(value) = value.to_str()
        && let Some((scheme, key)) = value.split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some(key.trim());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// A key from a flag's value (or its environment variable `env`) or from a file; `what` names
/// the flag in errors. A file is read whole, less a final line break; an empty key is refused.
pub fn load_key(
    value: Option<&str>,
    file: Option<&Path>,
    what: &str,
    env: &str,
) -> Result<Option<String>> {
    // The flag's value may have come from the environment: errors name where it came from.
    let from_env = value.is_some_and(|value| {
        std::env::var(env).is_ok_and(|set| set == value)
            && !std::env::args()
                .any(|a| a == format!("--{what}") || a.starts_with(&format!("--{what}=")))
    });
    let (source, key) = match (value, file) {
        (Some(_), Some(_)) => {
            return Err(Error::BadInput(match from_env {
                true => format!(
                    "the environment variable {env} (the key of --{what}) is set and \
                     --{what}-file is given: give one (`unset {env}`, or leave out --{what}-file)"
                ),
                false => format!("--{what} and --{what}-file both given: give one"),
            }));
        }
        (Some(value), None) => (
            match from_env {
                true => format!("{env} (the environment variable of --{what})"),
                false => format!("--{what}"),
            },
            value.to_owned(),
        ),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::BadInput(format!("--{what}-file {}: {e}", path.display())))?;
            (
                format!("--{what}-file {}", path.display()),
                text.strip_suffix('\n')
                    .map(|t| t.strip_suffix('\r').unwrap_or(t))
                    .unwrap_or(&text)
                    .to_owned(),
            )
        }
        (None, None) => return Ok(None),
    };
    if key.trim().is_empty() {
        return Err(Error::BadInput(format!("{source}: the key is empty")));
    }
    if key.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::BadInput(format!(
            "{source}: the key holds spaces or control characters, which HTTP headers cannot \
             carry"
        )));
    }
    if key.len() < 16 {
        return Err(Error::BadInput(format!(
            "{source}: the key is {} characters; use at least 16 (for example `openssl rand \
             -hex 32`)",
            key.len()
        )));
    }
    if from_env {
        // A variable left set in a shell keys a server nobody meant to key: say where it came from.
        crate::cli::warn(&format!(
            "note: the key of --{what} comes from the environment variable {env}"
        ));
    }
    Ok(Some(key))
}

/// Refuses an address beyond loopback when writes are open, unless `allow_open` says the
/// operator means it.
pub fn check_bind(addr: SocketAddr, policy: &Policy, allow_open: bool) -> Result<()> {
    // Keyed reads beside open writes: whoever may not read could still add interactions and
    // start rebuilds. On any address that is a mistake unless asked for.
    if policy.read.is_some() && !policy.writes_guarded() && !allow_open {
        return Err(Error::BadInput(
            "--read-key guards reads, but without --api-key writes and admin (POST \
             /v1/interactions, POST /v1/admin/rebuild) would be open to anyone who reaches the \
             port: set --api-key too (or KGREC_API_KEY, or --api-key-file), or pass \
             --allow-open-writes to keep writes open deliberately"
                .to_owned(),
        ));
    }
    if addr.ip().is_loopback() || policy.writes_guarded() || allow_open {
        return Ok(());
    }
    Err(Error::BadInput(format!(
        "refusing to listen on {addr} without --api-key: anyone who reaches the port could add \
         interactions and start rebuilds. Set --api-key (or KGREC_API_KEY, or --api-key-file), \
         listen on 127.0.0.1, or pass --allow-open-writes to accept the risk"
    )))
}

/// Requests per second per client address, with a burst of the same size.
#[derive(Debug)]
pub struct ClientLimits {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl ClientLimits {
    /// `per_second` requests a second for each client; `None` for 0 (no limit).
    pub fn new(per_second: u32) -> Option<ClientLimits> {
        let rate = NonZeroU32::new(per_second)?;
        Some(ClientLimits {
            limiter: RateLimiter::keyed(Quota::per_second(rate)),
        })
    }

    /// `Ok` when `client` may send one more request now; else the seconds to wait.
    pub fn check(&self, client: IpAddr) -> std::result::Result<(), u64> {
        match self.limiter.check_key(&client) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait =
                    not_until.wait_time_from(governor::clock::Clock::now(self.limiter.clock()));
                Err(wait.as_secs().max(1))
            }
        }
    }

    /// Forgets clients whose allowance is full again (called now and then: the table would
    /// otherwise keep every address ever seen).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    const WRITE: &str = "write-key-0123456789abcdef";
    const READ: &str = "read-key-0123456789abcdef";

    fn with(header: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn roles_of_routes() {
        assert_eq!(Role::of("/v1/interactions", &Method::POST), Role::Write);
        assert_eq!(Role::of("/v1/interactions", &Method::DELETE), Role::Write);
        assert_eq!(Role::of("/v1/admin/rebuild", &Method::POST), Role::Write);
        assert_eq!(Role::of("/v1/items/retired", &Method::POST), Role::Write);
        assert_eq!(Role::of("/v1/items/retired", &Method::DELETE), Role::Write);
        assert_eq!(Role::of("/v1/items/retired", &Method::GET), Role::Read);
        assert_eq!(Role::of("/v1/admin/jobs/{id}", &Method::GET), Role::Write);
        assert_eq!(
            Role::of("/v1/users/{id}/recommendations", &Method::GET),
            Role::Read
        );
        assert_eq!(Role::of("/sparql", &Method::POST), Role::Read);
        assert_eq!(Role::of("/metrics", &Method::GET), Role::Metrics);
        assert_eq!(Role::of("/health/ready", &Method::GET), Role::Health);
    }

    #[test]
    fn keys_by_role() {
        let none = HeaderMap::new();
        let bearer = |k: &str| with("authorization", &format!("Bearer {k}"));
        let x = |k: &str| with("x-api-key", k);

        let open = Policy::default();
        for role in [Role::Health, Role::Metrics, Role::Read, Role::Write] {
            assert_eq!(open.check(role, &none), Verdict::Allowed);
        }

        let writes = Policy::new(Some(WRITE), None, false, false);
        assert_eq!(writes.check(Role::Write, &none), Verdict::Unauthorized);
        assert_eq!(
            writes.check(Role::Write, &x("write-key-0123456789abcdeF")),
            Verdict::Unauthorized
        );
        assert_eq!(writes.check(Role::Write, &bearer(WRITE)), Verdict::Allowed);
        assert_eq!(writes.check(Role::Write, &x(WRITE)), Verdict::Allowed);
        assert_eq!(writes.check(Role::Read, &none), Verdict::Allowed);
        assert_eq!(writes.check(Role::Metrics, &none), Verdict::Allowed);

        let both = Policy::new(Some(WRITE), Some(READ), true, true);
        assert_eq!(both.check(Role::Read, &none), Verdict::Unauthorized);
        assert_eq!(both.check(Role::Read, &x(READ)), Verdict::Allowed);
        assert_eq!(both.check(Role::Read, &x(WRITE)), Verdict::Allowed);
        assert_eq!(both.check(Role::Write, &x(READ)), Verdict::Forbidden);
        assert_eq!(both.check(Role::Metrics, &none), Verdict::Unauthorized);
        assert_eq!(both.check(Role::Health, &bearer(READ)), Verdict::Allowed);
        assert_eq!(
            both.check(Role::Read, &with("authorization", &format!("Basic {READ}"))),
            Verdict::Unauthorized
        );
    }

    #[test]
    fn keys_load_from_values_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, format!("{WRITE}\n")).unwrap();
        assert_eq!(
            load_key(None, Some(&file), "api-key", "KGREC_API_KEY")
                .unwrap()
                .as_deref(),
            Some(WRITE)
        );
        assert_eq!(
            load_key(None, None, "api-key", "KGREC_API_KEY").unwrap(),
            None
        );
        for bad in ["", "short", "has a space in it ....."] {
            assert!(
                load_key(Some(bad), None, "api-key", "KGREC_API_KEY").is_err(),
                "{bad:?}"
            );
        }
        assert!(load_key(Some(WRITE), Some(&file), "api-key", "KGREC_API_KEY").is_err());
        assert!(
            load_key(
                None,
                Some(&dir.path().join("absent")),
                "api-key",
                "KGREC_API_KEY"
            )
            .is_err()
        );
    }

    #[test]
    fn open_writes_stay_on_loopback() {
        let open = Policy::default();
        let lan: SocketAddr = "0.0.0.0:7878".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        assert!(check_bind(local, &open, false).is_ok());
        let refused = check_bind(lan, &open, false).unwrap_err().to_string();
        assert!(refused.contains("--api-key"), "{refused}");
        assert!(check_bind(lan, &open, true).is_ok());
        assert!(check_bind(lan, &Policy::new(Some(WRITE), None, false, false), false).is_ok());
        // A read key without an API key leaves writes open: refused on loopback too, unless
        // asked for.
        let read_only = Policy::new(None, Some(READ), false, false);
        let refused = check_bind(local, &read_only, false)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("--api-key"), "{refused}");
        assert!(check_bind(local, &read_only, true).is_ok());
    }

    #[test]
    fn clients_are_limited_one_by_one() {
        let limits = ClientLimits::new(2).unwrap();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(limits.check(a).is_ok());
        assert!(limits.check(a).is_ok());
        assert!(limits.check(a).unwrap_err() >= 1);
        assert!(
            limits.check(b).is_ok(),
            "another client has its own allowance"
        );
        assert!(ClientLimits::new(0).is_none());
    }
}
