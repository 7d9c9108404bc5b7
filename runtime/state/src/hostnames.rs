//! Host names for `fd.cip.name`, `fd.sip.name`, `fd.lip.name` and `fd.rip.name`.
//!
//! Falco does not look addresses up in reverse. Its DNS manager resolves the host names the
//! rules compare these fields with (the constants on the right of `=`, `!=` and `in`), keeps
//! the addresses each name resolved to, and refreshes them in the background (first after
//! 10 s, then at doubling intervals up to 320 s). A socket's address then "has the name" when
//! the name resolved to it; the field's printed value is the first such name in byte order.
//!
//! Lanner does the same with a table built when the rules are loaded: every constant is
//! resolved once through a [`Resolver`] (the system's, which honours `/etc/hosts`, or a fixed
//! map for tests), and [`HostNames`] maps each address back to the names that resolved to it.
//! The runtime may rebuild the table later (a refresh) and swap it in.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Resolves a host name to its addresses.
pub trait Resolver {
    /// The addresses `name` resolves to (IPv4 and IPv6); empty when it does not resolve.
    fn resolve(&self, name: &str) -> Vec<IpAddr>;
}

/// The system resolver (`getaddrinfo`, so `/etc/hosts` and the configured DNS), as Falco's
/// DNS manager uses it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str) -> Vec<IpAddr> {
        // An address written as a name resolves to itself without a query; a name that does
        // not resolve (or a lookup failure) has no address, as in Falco.
        let mut out: Vec<IpAddr> = match (name, 0u16).to_socket_addrs() {
            Ok(addrs) => addrs.map(|a| a.ip()).collect(),
            Err(_) => Vec::new(),
        };
        out.sort();
        out.dedup();
        out
    }
}

/// A fixed name → addresses map: rule tests pin their names with it, without DNS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticResolver {
    names: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn new(names: impl IntoIterator<Item = (String, Vec<IpAddr>)>) -> StaticResolver {
        StaticResolver {
            names: names.into_iter().collect(),
        }
    }
}

impl Resolver for StaticResolver {
    fn resolve(&self, name: &str) -> Vec<IpAddr> {
        self.names.get(name).cloned().unwrap_or_default()
    }
}

/// Addresses mapped back to the names that resolved to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostNames {
    /// INVARIANT: each list is sorted by bytes and holds no duplicate, so the first entry is
    /// the name Falco prints (its cache is an ordered map keyed by address, then name).
    by_addr: HashMap<IpAddr, Vec<Box<str>>>,
}

impl HostNames {
    /// Resolves every name through `resolver`.
    pub fn resolve<'n>(
        names: impl IntoIterator<Item = &'n str>,
        resolver: &dyn Resolver,
    ) -> HostNames {
        let unique: BTreeSet<&str> = names.into_iter().collect();
        HostNames::from_resolved(
            unique
                .into_iter()
                .map(|n| (n.to_owned(), resolver.resolve(n))),
        )
    }

    /// The table of already resolved names.
    pub fn from_resolved(resolved: impl IntoIterator<Item = (String, Vec<IpAddr>)>) -> HostNames {
        let mut sorted: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
        for (name, addrs) in resolved {
            for a in addrs {
                sorted.entry(a).or_default().insert(name.clone());
            }
        }
        HostNames {
            by_addr: sorted
                .into_iter()
                .map(|(a, names)| (a, names.into_iter().map(String::into_boxed_str).collect()))
                .collect(),
        }
    }

    /// The names that resolved to `addr`, in byte order; empty when none did.
    pub fn names_of(&self, addr: IpAddr) -> &[Box<str>] {
        self.by_addr.get(&addr).map_or(&[], Vec::as_slice)
    }

    /// True when no name resolved to any address.
    pub fn is_empty(&self) -> bool {
        self.by_addr.is_empty()
    }
}

/// The table the `fd.*ip.name` accessors read, shared with whoever refreshes it.
#[derive(Clone, Debug, Default)]
pub struct SharedHostNames(Arc<RwLock<Arc<HostNames>>>);

/// Two handles are equal when they share one table (accessors compare by identity).
impl PartialEq for SharedHostNames {
    fn eq(&self, other: &SharedHostNames) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedHostNames {}

impl SharedHostNames {
    pub fn new(table: HostNames) -> SharedHostNames {
        SharedHostNames(Arc::new(RwLock::new(Arc::new(table))))
    }

    /// The table now. A writer that panicked left a whole table behind (the swap is one
    /// assignment), so a poisoned lock is read as it is.
    pub fn current(&self) -> Arc<HostNames> {
        match self.0.read() {
            Ok(t) => Arc::clone(&t),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Swaps in a new table; readers see the old one or the new one, never a mix.
    pub fn replace(&self, table: HostNames) {
        let table = Arc::new(table);
        match self.0.write() {
            Ok(mut t) => *t = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
    }
}

/// Falco's refresh schedule: the first refresh 10 s after the names were resolved, then each
/// interval twice the last, up to 320 s.
pub fn refresh_intervals() -> impl Iterator<Item = Duration> {
    std::iter::successors(Some(10u64), |s| Some((s * 2).min(320))).map(Duration::from_secs)
}

/// Re-resolves `names` into `table` on Falco's schedule ([`refresh_intervals`]), on a thread
/// of its own so that detection never waits for DNS; the thread ends when `table` has no other
/// holder.
pub fn spawn_refresh(
    table: SharedHostNames,
    names: Vec<String>,
    resolver: impl Resolver + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("lanner-dns".into())
        .spawn(move || {
            // Only a weak hold: once every rule set reading the table is gone, the thread ends.
            let weak = Arc::downgrade(&table.0);
            drop(table);
            for wait in refresh_intervals() {
                std::thread::sleep(wait);
                let Some(strong) = weak.upgrade() else { return };
                let fresh = HostNames::resolve(names.iter().map(String::as_str), &resolver);
                SharedHostNames(strong).replace(fresh);
            }
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_map_back_to_addresses_in_byte_order() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "fd00::1".parse().unwrap();
        let r = StaticResolver::new([
            ("zeta.example".to_owned(), vec![a]),
            ("alpha.example".to_owned(), vec![a, b]),
            ("nowhere.example".to_owned(), vec![]),
        ]);
        let t = HostNames::resolve(
            [
                "zeta.example",
                "alpha.example",
                "nowhere.example",
                "zeta.example",
            ],
            &r,
        );
        let names = |ip| {
            t.names_of(ip)
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(a), ["alpha.example", "zeta.example"]);
        assert_eq!(names(b), ["alpha.example"]);
        assert!(names("10.0.0.2".parse().unwrap()).is_empty());
        assert!(!t.is_empty());
        assert!(HostNames::resolve(["nowhere.example"], &r).is_empty());
    }

    #[test]
    fn a_shared_table_is_swapped_whole() {
        let shared = SharedHostNames::default();
        let reader = shared.clone();
        assert!(reader.current().is_empty());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        shared.replace(HostNames::from_resolved([(
            "a.example".to_owned(),
            vec![a],
        )]));
        assert_eq!(reader.current().names_of(a).len(), 1);
        assert_eq!(shared, reader);
        assert_ne!(shared, SharedHostNames::default());
    }

    #[test]
    fn refreshes_back_off_from_10_to_320_seconds() {
        let secs: Vec<u64> = refresh_intervals().take(8).map(|d| d.as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 320, 320, 320]);
    }

    /// `localhost` comes from `/etc/hosts` (or the resolver's built-in), never from the
    /// network, so the system resolver is testable offline.
    #[test]
    fn the_system_resolver_reads_etc_hosts() {
        let addrs = SystemResolver.resolve("localhost");
        assert!(
            addrs.iter().any(IpAddr::is_loopback),
            "localhost resolved to {addrs:?}"
        );
        assert_eq!(
            SystemResolver.resolve("192.0.2.7"),
            vec!["192.0.2.7".parse::<IpAddr>().unwrap()]
        );
    }
}
