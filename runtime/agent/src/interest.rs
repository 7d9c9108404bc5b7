//! Which syscalls the kernel must ship: the in-kernel prefilter's contents.
//!
//! A syscall leaves the kernel only if some rule can match one of its events, or if the state
//! engine needs it to keep processes and fds right (Falco calls these base syscalls). The map
//! from x86_64 syscall numbers to event ids is a copy of `shared/scap/syscall_table_x86_64.tsv`
//! (users build with cargo alone); a test checks it is still equal to the original.

use std::collections::BTreeSet;

const TABLE: &str = include_str!("../data/syscall_table_x86_64.tsv");

/// Syscalls the state engine needs whatever the rules: process life, fds, identity, cwd.
pub const BASE_SYSCALLS: &[&str] = &[
    "clone",
    "clone3",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "close",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "socket",
    "socketpair",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "open",
    "openat",
    "openat2",
    "creat",
    "pipe",
    "pipe2",
    "eventfd",
    "eventfd2",
    "signalfd",
    "signalfd4",
    "inotify_init",
    "inotify_init1",
    "timerfd_create",
    "memfd_create",
    "chdir",
    "fchdir",
    "chroot",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "setreuid",
    "setregid",
    "prctl",
    "capset",
    "setns",
    "unshare",
    "epoll_create",
    "epoll_create1",
    "bpf",
    "userfaultfd",
    "io_uring_setup",
    "pidfd_open",
    "pidfd_getfd",
];

/// One row of the syscall table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallRow {
    pub nr: u32,
    pub name: String,
    pub enter_id: Option<u16>,
    pub exit_id: Option<u16>,
}

/// The x86_64 syscall table.
pub fn table() -> Vec<SyscallRow> {
    TABLE
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Some(SyscallRow {
                nr: c.first()?.parse().ok()?,
                name: (*c.get(1)?).to_string(),
                enter_id: c.get(5).and_then(|v| v.parse().ok()),
                exit_id: c.get(7).and_then(|v| v.parse().ok()),
            })
        })
        .collect()
}

/// The syscall numbers to let through: those whose events any rule can match, plus the base
/// syscalls. `all` (a rule without event-type information) lets every syscall through.
pub fn syscalls(event_codes: &BTreeSet<u16>, all: bool) -> Vec<u32> {
    // What the kernel side knows the state engine needs, beside this crate's list.
    let state = lanner_ebpf::convert::state_syscalls();
    table()
        .into_iter()
        .filter(|r| {
            all || BASE_SYSCALLS.contains(&r.name.as_str())
                || state.contains(&r.nr)
                || r.exit_id.is_some_and(|id| event_codes.contains(&id))
                || r.enter_id.is_some_and(|id| event_codes.contains(&id))
        })
        .map(|r| r.nr)
        .collect()
}

/// The syscalls a rule set needs: [`syscalls`] of every event code its rules name.
pub fn for_ruleset(ruleset: &lanner_engine::ruleset::RuleSet) -> Vec<u32> {
    let codes: BTreeSet<u16> = ruleset
        .rules
        .iter()
        .flat_map(|r| r.event_codes.iter().copied())
        .collect();
    syscalls(&codes, ruleset.rules.iter().any(|r| r.any_event))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn table_is_a_copy_of_the_shared_one() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/scap/syscall_table_x86_64.tsv");
        if let Ok(original) = std::fs::read_to_string(shared) {
            assert_eq!(original, TABLE);
        }
    }

    #[test]
    fn openat_rules_want_openat_and_the_base() {
        let rows = table();
        let openat = rows.iter().find(|r| r.name == "openat").unwrap();
        let codes: BTreeSet<u16> = [openat.exit_id.unwrap()].into_iter().collect();
        let want = syscalls(&codes, false);
        assert!(want.contains(&openat.nr));
        let read = rows.iter().find(|r| r.name == "read").unwrap();
        assert!(!want.contains(&read.nr), "read is neither wanted nor base");
        let execve = rows.iter().find(|r| r.name == "execve").unwrap();
        assert!(want.contains(&execve.nr), "execve is a base syscall");
        assert_eq!(syscalls(&BTreeSet::new(), true).len(), rows.len());
    }
}
