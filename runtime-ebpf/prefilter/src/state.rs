//! Which events the state engine needs, whatever the rules say of them: derived from the fields
//! the program reads (conditions and outputs), so a program that observes no process or fd
//! state does not pay for it.

use lanner_event::table::{EventFlags, EventInfo};
use lanner_program::{FieldKey, OutputPart, Program};

use crate::{Atom, Cmp, Formula, opens_path};

/// What state a program can observe.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StateNeed {
    /// Some rule reads process, user, container or path-resolution state: process life,
    /// identity and working-directory changes pass.
    pub process: bool,
    /// Some rule reads the fd table (an `fd.*` field, a rendered argument, a resolved path):
    /// every event that creates, changes or closes an fd passes (an open when it succeeded).
    pub fds: bool,
    /// The first field that made each need true, for `rulec explain`.
    pub why_process: Option<String>,
    pub why_fds: Option<String>,
}

/// Events that change process state (the table's `MODIFIES_STATE` ones without fds, and the
/// working directory and session calls the table does not flag).
fn process_event(info: &EventInfo) -> bool {
    matches!(
        info.name,
        "clone"
            | "clone3"
            | "fork"
            | "vfork"
            | "execve"
            | "execveat"
            | "procexit"
            | "chdir"
            | "fchdir"
            | "chroot"
            | "setsid"
            | "setpgid"
            | "setuid"
            | "setgid"
            | "setresuid"
            | "setresgid"
            | "setreuid"
            | "setregid"
            | "capset"
            | "prctl"
            | "setns"
            | "unshare"
    )
}

/// Events that change the fd table besides the opens.
fn fd_event(info: &EventInfo) -> bool {
    let f = info.flags;
    f.contains(EventFlags::CREATES_FD)
        || f.contains(EventFlags::DESTROYS_FD)
        || matches!(
            info.name,
            "connect"
                | "bind"
                | "listen"
                | "accept"
                | "accept4"
                | "sendto"
                | "sendmsg"
                | "recvfrom"
                | "recvmsg"
                | "fcntl"
                | "dup"
                | "dup2"
                | "dup3"
                | "close"
        )
}

impl StateNeed {
    /// What must pass for the event whatever the rules: [`Formula::False`] when nothing.
    pub fn formula(&self, info: &EventInfo) -> Formula {
        if opens_path(info.name) {
            // A failed open creates no fd.
            return if self.fds {
                Formula::atom(Atom::Ret(Cmp::Ge, 0))
            } else {
                Formula::False
            };
        }
        if process_event(info) {
            return if self.process || self.fds {
                Formula::True
            } else {
                Formula::False
            };
        }
        if fd_event(info) {
            return if self.fds {
                Formula::True
            } else {
                Formula::False
            };
        }
        // Where the table says the event changes state and this crate does not know how,
        // it passes.
        if info.flags.contains(EventFlags::MODIFIES_STATE) && (self.process || self.fds) {
            return Formula::True;
        }
        Formula::False
    }
}

/// Fields that read only the event itself.
fn event_only(name: &str) -> bool {
    name.starts_with("evt.")
        && !matches!(
            name,
            "evt.arg" | "evt.args" | "evt.abspath" | "evt.abspath.src" | "evt.abspath.dst"
        )
}

fn reads_fds(name: &str) -> bool {
    name.starts_with("fd.")
        || name.starts_with("fs.")
        || matches!(
            name,
            "evt.arg" | "evt.args" | "evt.abspath" | "evt.abspath.src" | "evt.abspath.dst"
        )
        || name == "proc.cwd"
}

/// The state `program`'s running syscall rules can observe.
pub fn state_need(program: &Program) -> StateNeed {
    let mut need = StateNeed::default();
    let mut note = |name: &str, rule: &str| {
        if !event_only(name) && need.why_process.is_none() {
            need.process = true;
            need.why_process = Some(format!("`{name}` in rule `{rule}`"));
        }
        if reads_fds(name) && need.why_fds.is_none() {
            need.fds = true;
            need.why_fds = Some(format!("`{name}` in rule `{rule}`"));
        }
    };
    for rule in &program.rules {
        if !rule.runs_on_syscalls() {
            continue;
        }
        if let Some(root) = rule.condition {
            for f in program.fields_used(root) {
                note(program.field_name(f.key), &rule.name);
            }
        }
        for part in &rule.output {
            if let OutputPart::Field { field, .. } = part {
                match field.key {
                    FieldKey::Schema(_) => note(program.field_name(field.key), &rule.name),
                    FieldKey::Extra(_) => {}
                }
            }
        }
    }
    need
}
