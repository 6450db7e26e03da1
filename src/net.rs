//! Who is on the other end of a request: the client address that rate limits and failed-login
//! counters key on.
//!
//! Behind a reverse proxy every request comes from the proxy's address, so limits keyed on it
//! would lump all users together (one bad client locks everyone out). The proxy names the
//! real client in `X-Forwarded-For`; that header is believed only when the request comes from
//! an address in `server.trusted_proxies`, and then read from the right, skipping further
//! trusted proxies, because everything left of the last untrusted hop is the client's own
//! claim and can be forged.
//!
//! [`RateLimiter`] keys on that client address: a token bucket per client, so one address
//! cannot flood `POST /api/v1/ask` (every question is a database row), with its memory bounded
//! however many addresses an attacker uses.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// An address or an address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

/// Why a `server.trusted_proxies` entry is not an address or a range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or a CIDR range such as 10.0.0.0/8")]
pub struct IpRangeError(pub String);

impl FromStr for IpRange {
    type Err = IpRangeError;

    fn from_str(text: &str) -> Result<IpRange, IpRangeError> {
        let error = || IpRangeError(text.to_string());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| error())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(error)?,
            None => bits,
        };
        Ok(IpRange { network, prefix })
    }
}

impl IpRange {
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        match (canonical(self.network), address) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, as a dual-stack listener reports IPv4
/// peers) compare as the IPv4 address they carry.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpRange>);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, IpRangeError> {
        entries
            .iter()
            .map(|e| e.parse())
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_trusted(&self, address: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(address))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy, else the
    /// right-most `X-Forwarded-For` hop that is not a trusted proxy (the left-most hop when
    /// all are trusted). An unparseable hop ends the walk at the last address known to be
    /// good, so a forged header can never pick an arbitrary address.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(address) = parse_hop(hop) else {
                return client;
            };
            client = canonical(address);
            if !self.is_trusted(client) {
                return client;
            }
        }
        client
    }
}

/// The key a limit counts under: an IPv4 address as it is, an IPv6 address by its /64 network.
/// One IPv6 host usually holds a whole /64, so counting single addresses would let it pick a
/// fresh address for every request.
pub fn limit_key(address: IpAddr) -> IpAddr {
    match canonical(address) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

/// Clients a [`RateLimiter`] remembers at most. Beyond this the least recently seen half is
/// forgotten (they start again with a full bucket): memory stays bounded (a few MB) when an
/// attacker spreads requests over many addresses.
pub const MAX_TRACKED_CLIENTS: usize = 65_536;

/// A token bucket per client ([`limit_key`]): `burst` requests at once, then `per_minute`
/// requests per minute. A client that stays away long enough to refill its bucket is
/// indistinguishable from a new one, so such entries are dropped when the table grows.
#[derive(Debug)]
pub struct RateLimiter {
    /// Tokens added per second.
    rate: f64,
    /// Bucket size.
    burst: f64,
    capacity: usize,
    table: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    clients: HashMap<IpAddr, Bucket>,
    /// Sweep out refilled buckets when the table reaches this size.
    next_sweep: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Below this size the table is never swept: too small to matter.
const MIN_SWEEP: usize = 1024;

impl RateLimiter {
    /// `None` when either figure is 0: the limit is off.
    pub fn new(per_minute: u32, burst: u32) -> Option<RateLimiter> {
        RateLimiter::with_capacity(per_minute, burst, MAX_TRACKED_CLIENTS)
    }

    /// As [`RateLimiter::new`], remembering at most `capacity` clients.
    pub fn with_capacity(per_minute: u32, burst: u32, capacity: usize) -> Option<RateLimiter> {
        (per_minute > 0 && burst > 0).then(|| RateLimiter {
            rate: f64::from(per_minute) / 60.0,
            burst: f64::from(burst),
            capacity: capacity.max(2),
            table: Mutex::new(Buckets {
                clients: HashMap::new(),
                next_sweep: MIN_SWEEP,
            }),
        })
    }

    /// Takes one token for `client`; `Err(wait)` when its bucket is empty, with how long
    /// until the next token.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    /// [`RateLimiter::check`] at a given time (for tests).
    pub fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = limit_key(client);
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if !table.clients.contains_key(&key) {
            self.make_room(&mut table, now);
        }
        let bucket = table.clients.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    /// Clients currently remembered.
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clients
            .len()
    }

    /// Before a new client is added: drop refilled buckets once the table has doubled since
    /// the last sweep (amortised O(1) per request), and the least recently seen half when it
    /// is full of active clients.
    fn make_room(&self, table: &mut Buckets, now: Instant) {
        let len = table.clients.len();
        if len < table.next_sweep.min(self.capacity) {
            return;
        }
        let (rate, burst) = (self.rate, self.burst);
        table.clients.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
        });
        if table.clients.len() >= self.capacity {
            let mut seen: Vec<Instant> = table.clients.values().map(|b| b.at).collect();
            let middle = seen.len() / 2;
            let (_, cut, _) = seen.select_nth_unstable(middle);
            let cut = *cut;
            table.clients.retain(|_, b| b.at > cut);
        }
        table.next_sweep = (table.clients.len() * 2).max(MIN_SWEEP);
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:5000`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = hop.parse() {
        return Some(address);
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    hop.trim_start_matches('[')
        .split(']')
        .next()
        .and_then(|a| a.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in forwarded {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let range: IpRange = "10.0.0.0/8".parse().unwrap();
        assert!(range.contains(ip("10.200.3.4")));
        assert!(!range.contains(ip("11.0.0.1")));
        assert!(range.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        let single: IpRange = "192.0.2.7".parse().unwrap();
        assert!(single.contains(ip("192.0.2.7")) && !single.contains(ip("192.0.2.8")));
        let v6: IpRange = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let everything: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "proxy.internal", "10.0.0/8", "", "::/129"] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        // a client that is no proxy cannot claim another address
        assert_eq!(
            trusted.client_address(ip("203.0.113.9"), &headers(&["198.51.100.1"])),
            ip("203.0.113.9")
        );
        // through the proxy: the hop the proxy appended, not what the client wrote before it
        assert_eq!(
            trusted.client_address(
                ip("10.0.0.2"),
                &headers(&["1.1.1.1, 198.51.100.1", "10.0.0.3"])
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            trusted.client_address(ip("10.0.0.2"), &headers(&["[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
        // no header, or garbage right behind the proxy: the proxy itself
        assert_eq!(
            trusted.client_address(ip("10.0.0.2"), &headers(&[])),
            ip("10.0.0.2")
        );
        assert_eq!(
            trusted.client_address(ip("10.0.0.2"), &headers(&["1.1.1.1, garbage"])),
            ip("10.0.0.2")
        );
        // nothing trusted: the header is ignored
        assert_eq!(
            TrustedProxies::default().client_address(ip("10.0.0.2"), &headers(&["1.1.1.1"])),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(limit_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(30, 3).unwrap();
        let start = Instant::now();
        let a = ip("198.51.100.1");
        for _ in 0..3 {
            assert!(limiter.check_at(a, start).is_ok());
        }
        let wait = limiter.check_at(a, start).unwrap_err();
        assert!(
            wait > Duration::from_millis(1900) && wait <= Duration::from_secs(2),
            "{wait:?}"
        );
        // another client has a bucket of its own
        assert!(limiter.check_at(ip("198.51.100.2"), start).is_ok());
        // 30 per minute: one token every 2 s
        assert!(limiter.check_at(a, start + Duration::from_secs(2)).is_ok());
        assert!(limiter.check_at(a, start + Duration::from_secs(2)).is_err());
        // a long pause refills the bucket only up to the burst
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(limiter.check_at(a, later).is_ok());
        }
        assert!(limiter.check_at(a, later).is_err());
        // an IPv6 host cannot escape by changing the low 64 bits
        let v6 = |n: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, n, 0, 0, 1));
        for n in 0..3 {
            assert!(limiter.check_at(v6(n), start).is_ok());
        }
        assert!(limiter.check_at(v6(99), start).is_err());
    }

    #[test]
    fn zero_switches_the_limit_off() {
        assert!(RateLimiter::new(0, 10).is_none());
        assert!(RateLimiter::new(30, 0).is_none());
    }

    #[test]
    fn the_table_stays_bounded_however_many_clients_come() {
        let limiter = RateLimiter::with_capacity(1, 1, 2_000).unwrap();
        let start = Instant::now();
        for n in 0..20_000u32 {
            let client = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            let _ = limiter.check_at(client, start + Duration::from_millis(u64::from(n)));
            assert!(limiter.tracked() <= 2_000, "{} at {n}", limiter.tracked());
        }
        // refilled buckets are swept out
        let limiter = RateLimiter::with_capacity(60, 1, 100_000).unwrap();
        for n in 0..5_000u32 {
            let client = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            let _ = limiter.check_at(client, start + Duration::from_secs(u64::from(n)));
        }
        assert!(limiter.tracked() < 2 * MIN_SWEEP, "{}", limiter.tracked());
        // the most recent client is still limited after a sweep
        let last = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + 4_999));
        assert!(
            limiter
                .check_at(last, start + Duration::from_secs(4_999))
                .is_err()
        );
    }
}
