//! The machine's network interface addresses, read as libscap reads them when it opens a live
//! capture (`getifaddrs`): `fd.lip`, `fd.rip`, `fd.lport`, `fd.rport` and `fd.is_server` test a
//! socket's client address against this list, so the live agent must hold it as a replay does
//! from a capture's interface-list block, and `lanner capture` writes it into the capture.
//!
//! Like libscap, the list is read once at start: an address added later (or one in another
//! network namespace) is not the machine's.

use std::ffi::CStr;
use std::net::{Ipv4Addr, Ipv6Addr};

use lanner_event::{IfAddr, Interface};

/// One address of one interface, owning its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedInterface {
    pub name: Vec<u8>,
    pub addr: IfAddr,
}

impl OwnedInterface {
    /// The record form the state engine and the capture writer take.
    pub fn as_record(&self) -> Interface<'_> {
        Interface {
            name: &self.name,
            addr: self.addr,
            linkspeed: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("listing the network interfaces failed: {source}")]
pub struct InterfacesError {
    source: std::io::Error,
}

/// The IPv4 and IPv6 addresses of every interface of this network namespace, in the kernel's
/// order (other address families are skipped, as libscap skips them).
pub fn read() -> Result<Vec<OwnedInterface>, InterfacesError> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `getifaddrs` writes a list it allocates into `head`; on success it is freed
    // below with `freeifaddrs` and never used after.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(InterfacesError {
            source: std::io::Error::last_os_error(),
        });
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list `getifaddrs` returned, alive until `freeifaddrs`.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        // SAFETY: as above; the sockaddr pointers are null or point to sockaddrs of the
        // family their `sa_family` names.
        if let Some(addr) = unsafe { if_addr(ifa) } {
            let name = if ifa.ifa_name.is_null() {
                Vec::new()
            } else {
                // SAFETY: `ifa_name` is a NUL-terminated string owned by the list.
                unsafe { CStr::from_ptr(ifa.ifa_name) }.to_bytes().to_vec()
            };
            out.push(OwnedInterface { name, addr });
        }
    }
    // SAFETY: `head` came from a successful `getifaddrs` and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// The address, netmask and broadcast (or peer) address of one entry, if it is IPv4 or IPv6.
///
/// # Safety
/// The entry's sockaddr pointers must be null or point to valid sockaddrs.
unsafe fn if_addr(ifa: &libc::ifaddrs) -> Option<IfAddr> {
    if ifa.ifa_addr.is_null() {
        return None;
    }
    // SAFETY: non-null, valid per the caller.
    let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
    match family {
        libc::AF_INET => {
            // SAFETY: each pointer is null or a `sockaddr_in` (the family is AF_INET).
            let v4 = |p: *const libc::sockaddr| unsafe { sockaddr_v4(p) };
            Some(IfAddr::V4 {
                addr: v4(ifa.ifa_addr)?,
                netmask: v4(ifa.ifa_netmask).unwrap_or(Ipv4Addr::UNSPECIFIED),
                bcast: v4(ifa.ifa_ifu).unwrap_or(Ipv4Addr::UNSPECIFIED),
            })
        }
        libc::AF_INET6 => {
            // SAFETY: each pointer is null or a `sockaddr_in6` (the family is AF_INET6).
            let v6 = |p: *const libc::sockaddr| unsafe { sockaddr_v6(p) };
            Some(IfAddr::V6 {
                addr: v6(ifa.ifa_addr)?,
                netmask: v6(ifa.ifa_netmask).unwrap_or(Ipv6Addr::UNSPECIFIED),
                bcast: v6(ifa.ifa_ifu).unwrap_or(Ipv6Addr::UNSPECIFIED),
            })
        }
        _ => None,
    }
}

/// # Safety
/// `p` is null or points to a `sockaddr_in`.
unsafe fn sockaddr_v4(p: *const libc::sockaddr) -> Option<Ipv4Addr> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract; `read_unaligned` because the list gives no alignment promise.
    let sin = unsafe { std::ptr::read_unaligned(p.cast::<libc::sockaddr_in>()) };
    Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
}

/// # Safety
/// `p` is null or points to a `sockaddr_in6`.
unsafe fn sockaddr_v6(p: *const libc::sockaddr) -> Option<Ipv6Addr> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract, as above.
    let sin6 = unsafe { std::ptr::read_unaligned(p.cast::<libc::sockaddr_in6>()) };
    Some(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_address_is_listed() {
        let list = read().unwrap();
        assert!(
            list.iter()
                .any(|i| matches!(i.addr, IfAddr::V4 { addr, .. } if addr == Ipv4Addr::LOCALHOST)),
            "{list:?}"
        );
        assert!(list.iter().all(|i| !i.name.is_empty()));
    }
}
