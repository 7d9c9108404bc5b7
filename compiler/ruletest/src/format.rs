//! The rule test file format (`*.test.yaml`), read into located data.
//!
//! ```yaml
//! rules: [lanner_rules.yaml]          # the rules under test, relative to this file
//! users: {0: root, 33: www-data}      # uid -> name
//! process: {name: bash, exe: /usr/bin/bash, pid: 4242, uid: 0, cwd: /root}   # defaults
//! parents: [{name: sshd, pid: 900}, {name: systemd, pid: 1}]               # nearest first
//! cases:
//!   - name: shell spawned by nginx
//!     parents: [{name: nginx, exe: /usr/sbin/nginx, pid: 80}]
//!     events:
//!       - {syscall: execve, process: {name: bash, args: [-i]}}
//!     expect:
//!       - {rule: Shell spawned by a server process, fields: {proc.pname: nginx}}
//! ```
//!
//! Reading never stops at the first problem: every problem is a located diagnostic, and the
//! cases that are well-formed are kept.

use lanner_syntax::codes;
use lanner_syntax::diagnostic::Diagnostic;
use lanner_syntax::span::{FileId, FileSpan, Span, Spanned};
use lanner_syntax::yaml::tree::{self, Node};

/// The id of a container described by its metadata only.
pub const DEFAULT_CONTAINER_ID: &str =
    "3ad7b26ded6d8e1f2a9c4b5d6e7f80919293949596979899a0a1a2a3a4a5a6a7";

/// A process as a test describes it. Every field is optional; the case's process is the file's
/// defaults overridden field by field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessSpec {
    pub name: Option<String>,
    pub exe: Option<String>,
    pub exepath: Option<String>,
    pub args: Option<Vec<String>>,
    pub pid: Option<i64>,
    pub tid: Option<i64>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub loginuid: Option<u32>,
    pub cwd: Option<String>,
    pub env: Option<Vec<String>>,
    pub tty: Option<u32>,
    /// The container the process runs in (`host` or absent for none); its id becomes the
    /// process's cgroups, its metadata a `container` event.
    pub container: Option<ContainerSpec>,
    /// `false`: the process is not in the capture's process list, as a thread that started
    /// before the capture and that the state engine never saw (`proc.name` is `<NA>`).
    pub known: Option<bool>,
    /// Capability sets as bit masks (`thread.cap_permitted`, `_effective`, `_inheritable`).
    pub cap_permitted: Option<u64>,
    pub cap_effective: Option<u64>,
    pub cap_inheritable: Option<u64>,
    /// The executable's flags (`proc.is_exe_writable`, `_upper_layer`, `_lower_layer`,
    /// `_from_memfd`).
    pub exe_writable: Option<bool>,
    pub exe_upper_layer: Option<bool>,
    pub exe_lower_layer: Option<bool>,
    pub exe_from_memfd: Option<bool>,
    /// Session id and process group id in the pid namespace (`proc.sid`, `proc.vpgid`).
    pub sid: Option<i64>,
    pub vpgid: Option<i64>,
    /// Ids in the process's pid namespace (`proc.vpid`, `thread.vtid`); by default the
    /// host ids (a process in the host's namespace). A container's init has `vpid: 1`.
    pub vpid: Option<i64>,
    pub vtid: Option<i64>,
}

/// A container: the id its processes' cgroups name and the metadata the container engine
/// reports, as libscap carries it in a `container` JSON event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerSpec {
    /// The full id (64 hex digits, or 32 as containerd names some); `host` for none.
    pub id: String,
    pub name: Option<String>,
    /// The image as written (`docker.io/library/nginx:1.25`); by default
    /// `repository:tag`.
    pub image: Option<String>,
    /// `container.image.repository`; by default the image without its tag.
    pub repository: Option<String>,
    /// `container.image.tag`; by default the image's tag.
    pub tag: Option<String>,
    pub privileged: Option<bool>,
    /// Labels, `io.kubernetes.pod.namespace` giving `k8s.ns.name`.
    pub labels: Vec<(String, String)>,
    pub mounts: Vec<MountSpec>,
}

impl ContainerSpec {
    /// Whether the test gave any metadata beyond the id; only then is a container event
    /// written (an id alone is a container whose engine never answered).
    pub fn has_metadata(&self) -> bool {
        self.name.is_some()
            || self.image.is_some()
            || self.repository.is_some()
            || self.tag.is_some()
            || self.privileged.is_some()
            || !self.labels.is_empty()
            || !self.mounts.is_empty()
    }

    /// Whether this is the host rather than a container.
    pub fn is_host(&self) -> bool {
        self.id.is_empty() || self.id == "host"
    }
}

/// A mount of a container, as the container engine reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MountSpec {
    pub source: String,
    pub dest: String,
    pub mode: String,
    pub rw: bool,
    pub propagation: String,
}

impl ProcessSpec {
    /// `self` with every field that `over` sets replaced.
    pub fn merged(&self, over: &ProcessSpec) -> ProcessSpec {
        fn pick<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
            b.clone().or_else(|| a.clone())
        }
        ProcessSpec {
            name: pick(&self.name, &over.name),
            exe: pick(&self.exe, &over.exe),
            exepath: pick(&self.exepath, &over.exepath),
            args: pick(&self.args, &over.args),
            pid: pick(&self.pid, &over.pid),
            tid: pick(&self.tid, &over.tid),
            uid: pick(&self.uid, &over.uid),
            gid: pick(&self.gid, &over.gid),
            loginuid: pick(&self.loginuid, &over.loginuid),
            cwd: pick(&self.cwd, &over.cwd),
            env: pick(&self.env, &over.env),
            tty: pick(&self.tty, &over.tty),
            container: pick(&self.container, &over.container),
            known: pick(&self.known, &over.known),
            cap_permitted: pick(&self.cap_permitted, &over.cap_permitted),
            cap_effective: pick(&self.cap_effective, &over.cap_effective),
            cap_inheritable: pick(&self.cap_inheritable, &over.cap_inheritable),
            exe_writable: pick(&self.exe_writable, &over.exe_writable),
            exe_upper_layer: pick(&self.exe_upper_layer, &over.exe_upper_layer),
            exe_lower_layer: pick(&self.exe_lower_layer, &over.exe_lower_layer),
            exe_from_memfd: pick(&self.exe_from_memfd, &over.exe_from_memfd),
            sid: pick(&self.sid, &over.sid),
            vpgid: pick(&self.vpgid, &over.vpgid),
            vpid: pick(&self.vpid, &over.vpid),
            vtid: pick(&self.vtid, &over.vtid),
        }
    }
}

/// What an fd refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum FdKind {
    File(String),
    Directory(String),
    /// `client_ip:client_port->server_ip:server_port`, as Falco renders a connected socket.
    Tcp(String),
    Udp(String),
    Unix(String),
    Pipe,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FdSpec {
    pub num: i64,
    pub kind: FdKind,
    pub span: FileSpan,
}

/// A parameter value as written: a scalar, a list of scalars, or raw bytes (`{hex: cafebabe}`)
/// for data a YAML string cannot hold.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamLit {
    Scalar(String),
    List(Vec<String>),
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventSpec {
    pub span: FileSpan,
    pub syscall: Spanned<String>,
    /// The return value; defaults to 0, or to the fd number for syscalls that create one.
    pub res: Option<i64>,
    /// The fd the syscall uses or creates.
    pub fd: Option<FdSpec>,
    /// The process making this syscall, over the case's process.
    pub process: Option<ProcessSpec>,
    /// Parameters by name, overriding what is derived from the process and the fd.
    pub params: Vec<(Spanned<String>, ParamLit)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    pub rule: Spanned<String>,
    /// Index of the event (0-based within the case) the alert must come from; any if absent.
    pub event: Option<usize>,
    /// The whole output text.
    pub output: Option<Spanned<String>>,
    /// A subset of the output fields, by field text as written in the output (`proc.aname[2]`).
    pub fields: Vec<(String, Spanned<String>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub name: String,
    pub span: FileSpan,
    pub process: Option<ProcessSpec>,
    pub parents: Option<Vec<ProcessSpec>>,
    pub fds: Vec<FdSpec>,
    pub events: Vec<EventSpec>,
    pub expect: Vec<Expect>,
    /// Rules that must not fire. Unless `other_rules` is true, any rule not in `expect` must not
    /// fire either; `quiet` documents the rules a negative case is about.
    pub quiet: Vec<Spanned<String>>,
    pub other_rules: bool,
    /// Events taken from a capture instead of `events`: its path (relative to the test file)
    /// and a selection. The whole capture is replayed so that the state is right; rules are
    /// evaluated only on the selected events, and an expectation's `event` is an `evt.num`.
    pub capture: Option<CaptureSpec>,
}

/// `capture: FILE` with `select: CONDITION` (a filter expression, default every event).
#[derive(Clone, Debug, PartialEq)]
pub struct CaptureSpec {
    pub path: Spanned<String>,
    pub select: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestFile {
    pub file: Option<FileId>,
    pub rules: Vec<Spanned<String>>,
    pub users: Vec<(u32, String)>,
    pub groups: Vec<(u32, String)>,
    /// Host name → addresses, as the rules' `fd.*ip.name` comparisons resolve them: the
    /// test's DNS. A name not listed resolves to nothing (a test never asks the network).
    pub hosts: Vec<(String, Vec<std::net::IpAddr>)>,
    /// This machine's addresses besides loopback (`interfaces: [10.0.0.5]`), which decide
    /// `fd.is_server` and which end of a socket is `fd.lip`; unset, each socket's own end is
    /// taken (the server end of an accepted socket, the client end of any other).
    pub interfaces: Option<Vec<std::net::IpAddr>>,
    pub process: ProcessSpec,
    pub parents: Vec<ProcessSpec>,
    pub cases: Vec<Case>,
}

struct Reader {
    file: FileId,
    diags: Vec<Diagnostic>,
}

fn scalar(n: &Node) -> Option<&str> {
    match n {
        Node::Scalar(s) if !s.null => Some(s.scalar.value.as_str()),
        _ => None,
    }
}

fn entries(n: &Node) -> &[(Node, Node)] {
    match n {
        Node::Map(e, _) => e,
        _ => &[],
    }
}

impl Reader {
    fn at(&self, n: &Node) -> FileSpan {
        FileSpan::new(self.file, n.span())
    }

    fn error(&mut self, code: lanner_syntax::Code, n: &Node, msg: String, help: &str) {
        let d = Diagnostic::new(code, self.at(n), msg).with_help(help.to_string());
        self.diags.push(d);
    }

    fn expect_map<'n>(&mut self, n: &'n Node, what: &str) -> Option<&'n [(Node, Node)]> {
        match n {
            Node::Map(e, _) => Some(e),
            _ => {
                self.error(
                    codes::TEST_FILE_STRUCTURE,
                    n,
                    format!("{what} must be a mapping, found {}", n.shape()),
                    "see docs/rule-tests.md for the format",
                );
                None
            }
        }
    }

    fn string(&mut self, n: &Node, key: &str) -> Option<String> {
        match scalar(n) {
            Some(s) => Some(s.to_string()),
            None => {
                self.error(
                    codes::BAD_TEST_VALUE,
                    n,
                    format!("`{key}` must be a string, found {}", n.shape()),
                    "write a plain or quoted value",
                );
                None
            }
        }
    }

    fn int<T: TryFrom<i64>>(&mut self, n: &Node, key: &str) -> Option<T> {
        let v = scalar(n).and_then(|s| s.trim().parse::<i64>().ok());
        match v.and_then(|v| T::try_from(v).ok()) {
            Some(v) => Some(v),
            None => {
                self.error(
                    codes::BAD_TEST_VALUE,
                    n,
                    format!("`{key}` must be a number in range"),
                    "write a decimal number",
                );
                None
            }
        }
    }

    fn strings(&mut self, n: &Node, key: &str) -> Option<Vec<String>> {
        match n {
            Node::Seq(items, _) => items.iter().map(|i| self.string(i, key)).collect(),
            Node::Scalar(s) if !s.null => Some(
                s.scalar
                    .value
                    .split_whitespace()
                    .map(String::from)
                    .collect(),
            ),
            _ => {
                self.error(
                    codes::BAD_TEST_VALUE,
                    n,
                    format!("`{key}` must be a list of strings"),
                    "write `[a, b]`, or one string split at blanks",
                );
                None
            }
        }
    }

    fn unknown_key(&mut self, k: &Node, allowed: &[&str], what: &str) {
        let key = scalar(k).unwrap_or("");
        let mut d = Diagnostic::new(
            codes::UNKNOWN_TEST_KEY,
            self.at(k),
            format!("unknown key `{key}` in {what}"),
        )
        .with_label("ignored");
        if let Some(best) = allowed.iter().find(|a| {
            a.starts_with(key.get(..2).unwrap_or(key)) && key.len().abs_diff(a.len()) <= 2
        }) {
            d = d.with_help(format!("did you mean `{best}`?"));
        } else {
            d = d.with_help(format!("known keys: {}", allowed.join(", ")));
        }
        self.diags.push(d);
    }

    /// Raw bytes of a parameter, `{hex: "ca fe ba be"}`: hex digit pairs, blanks ignored,
    /// decoded as a `bcontains` literal is.
    fn bytes(&mut self, n: &Node) -> Option<Vec<u8>> {
        let mut out = None;
        for (k, v) in entries(n) {
            if scalar(k) != Some("hex") {
                self.unknown_key(k, &["hex"], "a byte value");
                continue;
            }
            let text: String = scalar(v)
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            match lanner_check::typeck::value::parse_hex(&text) {
                Some(b) => out = Some(b),
                None => self.error(
                    codes::BAD_TEST_VALUE,
                    v,
                    format!("`{text}` is not an even number of hex digits"),
                    "write the bytes as hex digit pairs, e.g. `{hex: cafebabe}`",
                ),
            }
        }
        out
    }

    fn process(&mut self, n: &Node) -> ProcessSpec {
        const KEYS: [&str; 26] = [
            "name",
            "exe",
            "exepath",
            "args",
            "pid",
            "tid",
            "uid",
            "gid",
            "loginuid",
            "cwd",
            "env",
            "tty",
            "container",
            "known",
            "cap_permitted",
            "cap_effective",
            "cap_inheritable",
            "exe_writable",
            "exe_upper_layer",
            "exe_lower_layer",
            "exe_from_memfd",
            "sid",
            "vpgid",
            "vpid",
            "vtid",
            "caps",
        ];
        let mut p = ProcessSpec::default();
        let Some(map) = self.expect_map(n, "a process") else {
            return p;
        };
        for (k, v) in map {
            match scalar(k).unwrap_or("") {
                "name" => p.name = self.string(v, "name"),
                "exe" => p.exe = self.string(v, "exe"),
                "exepath" => p.exepath = self.string(v, "exepath"),
                "args" => p.args = self.strings(v, "args"),
                "pid" => p.pid = self.int(v, "pid"),
                "tid" => p.tid = self.int(v, "tid"),
                "uid" => p.uid = self.int(v, "uid"),
                "gid" => p.gid = self.int(v, "gid"),
                "loginuid" => p.loginuid = self.int(v, "loginuid"),
                "cwd" => p.cwd = self.string(v, "cwd"),
                "env" => p.env = self.strings(v, "env"),
                "tty" => p.tty = self.int(v, "tty"),
                "container" => p.container = self.container(v),
                "known" => p.known = self.bool(v, "known"),
                "cap_permitted" => p.cap_permitted = self.caps(v, "cap_permitted"),
                "cap_effective" => p.cap_effective = self.caps(v, "cap_effective"),
                "cap_inheritable" => p.cap_inheritable = self.caps(v, "cap_inheritable"),
                // All three sets at once, as a process that was given them all.
                "caps" => {
                    let caps = self.caps(v, "caps");
                    p.cap_permitted = caps;
                    p.cap_effective = caps;
                    p.cap_inheritable = caps;
                }
                "exe_writable" => p.exe_writable = self.bool(v, "exe_writable"),
                "exe_upper_layer" => p.exe_upper_layer = self.bool(v, "exe_upper_layer"),
                "exe_lower_layer" => p.exe_lower_layer = self.bool(v, "exe_lower_layer"),
                "exe_from_memfd" => p.exe_from_memfd = self.bool(v, "exe_from_memfd"),
                "sid" => p.sid = self.int(v, "sid"),
                "vpgid" => p.vpgid = self.int(v, "vpgid"),
                "vpid" => p.vpid = self.int(v, "vpid"),
                "vtid" => p.vtid = self.int(v, "vtid"),
                _ => self.unknown_key(k, &KEYS, "a process"),
            }
        }
        p
    }

    fn bool(&mut self, n: &Node, key: &str) -> Option<bool> {
        match scalar(n) {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => {
                self.error(
                    codes::BAD_TEST_VALUE,
                    n,
                    format!("`{key}` must be `true` or `false`"),
                    "write `true` or `false`",
                );
                None
            }
        }
    }

    /// A capability set: names (`CAP_SYS_ADMIN`, or `sys_admin`), as a list or split at
    /// blanks, or a bit mask (`0x200000`).
    fn caps(&mut self, n: &Node, key: &str) -> Option<u64> {
        if let Some(s) = scalar(n)
            && let Some(hex) = s.trim().strip_prefix("0x")
        {
            return match u64::from_str_radix(hex, 16) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.error(
                        codes::BAD_TEST_VALUE,
                        n,
                        format!("`{key}` mask `{s}` is not a hexadecimal number"),
                        "write a mask as `0x200000`, or capability names",
                    );
                    None
                }
            };
        }
        // Each name with the node it was written at, so that a bad one is located.
        let items: Vec<(&Node, String)> = match n {
            Node::Seq(items, _) => items
                .iter()
                .filter_map(|i| Some((i, self.string(i, key)?)))
                .collect(),
            _ => self.strings(n, key)?.into_iter().map(|s| (n, s)).collect(),
        };
        let mut bits = 0u64;
        let mut ok = true;
        for (at, name) in &items {
            let upper = name.to_ascii_uppercase();
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            match lanner_state::CAPABILITY_NAMES
                .iter()
                .position(|c| *c == full)
            {
                Some(bit) => bits |= 1u64 << bit,
                None => {
                    ok = false;
                    self.error(
                        codes::BAD_TEST_VALUE,
                        at,
                        format!("`{name}` in `{key}` is not a capability"),
                        "write names as `thread.cap_effective` shows them (`CAP_SYS_ADMIN`), or a mask as `0x200000`",
                    );
                }
            }
        }
        ok.then_some(bits)
    }

    /// `container: ID`, `container: host`, or a mapping with the id and the metadata.
    fn container(&mut self, n: &Node) -> Option<ContainerSpec> {
        const KEYS: [&str; 8] = [
            "id",
            "name",
            "image",
            "repository",
            "tag",
            "privileged",
            "labels",
            "mounts",
        ];
        let mut c = ContainerSpec::default();
        let mut id_node = n;
        if let Some(id) = scalar(n) {
            c.id = id.to_string();
        } else {
            let map = self.expect_map(n, "a container")?;
            for (k, v) in map {
                match scalar(k).unwrap_or("") {
                    "id" => {
                        c.id = self.string(v, "id").unwrap_or_default();
                        id_node = v;
                    }
                    "name" => c.name = self.string(v, "name"),
                    "image" => c.image = self.string(v, "image"),
                    "repository" => c.repository = self.string(v, "repository"),
                    "tag" => c.tag = self.string(v, "tag"),
                    "privileged" => c.privileged = self.bool(v, "privileged"),
                    "labels" => {
                        if self.expect_map(v, "`labels`").is_some() {
                            for (lk, lv) in entries(v) {
                                if let (Some(lk), Some(lv)) =
                                    (self.string(lk, "labels"), self.string(lv, "labels"))
                                {
                                    c.labels.push((lk, lv));
                                }
                            }
                        }
                    }
                    "mounts" => match v {
                        Node::Seq(items, _) => {
                            c.mounts = items.iter().filter_map(|i| self.mount(i)).collect();
                        }
                        _ => self.error(
                            codes::TEST_FILE_STRUCTURE,
                            v,
                            "`mounts` must be a list".into(),
                            "write `mounts: [{source: /, dest: /host}]`",
                        ),
                    },
                    _ => self.unknown_key(k, &KEYS, "a container"),
                }
            }
            if c.id.is_empty() {
                // A container described only by its metadata gets a fixed id.
                c.id = DEFAULT_CONTAINER_ID.to_string();
            }
        }
        if c.is_host() {
            if c.has_metadata() {
                self.diags.push(
                    Diagnostic::new(
                        codes::BAD_TEST_VALUE,
                        self.at(id_node),
                        "the host has no container metadata",
                    )
                    .with_label("the host")
                    .with_help("give a container id, or drop the metadata"),
                );
            }
            return Some(c);
        }
        let hex = c.id.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || !(c.id.len() == 64 || c.id.len() == 32) {
            self.diags.push(
                Diagnostic::new(
                    codes::BAD_TEST_VALUE,
                    self.at(id_node),
                    format!("container id `{}` is not 64 or 32 hex digits", c.id),
                )
                .with_label("no container runtime names a cgroup so")
                .with_help("write the full id, e.g. `3ad7b26ded6d` followed by 52 more hex digits"),
            );
            return None;
        }
        Some(c)
    }

    fn mount(&mut self, n: &Node) -> Option<MountSpec> {
        const KEYS: [&str; 5] = ["source", "dest", "mode", "rw", "propagation"];
        let map = self.expect_map(n, "a mount")?;
        let mut m = MountSpec {
            rw: true,
            ..MountSpec::default()
        };
        for (k, v) in map {
            match scalar(k).unwrap_or("") {
                "source" => m.source = self.string(v, "source").unwrap_or_default(),
                "dest" => m.dest = self.string(v, "dest").unwrap_or_default(),
                "mode" => m.mode = self.string(v, "mode").unwrap_or_default(),
                "rw" => m.rw = self.bool(v, "rw").unwrap_or(true),
                "propagation" => {
                    m.propagation = self.string(v, "propagation").unwrap_or_default();
                }
                _ => self.unknown_key(k, &KEYS, "a mount"),
            }
        }
        if m.dest.is_empty() {
            self.error(
                codes::TEST_FILE_STRUCTURE,
                n,
                "a mount needs `dest`".into(),
                "e.g. `{source: /var/run/docker.sock, dest: /var/run/docker.sock}`",
            );
            return None;
        }
        Some(m)
    }

    fn processes(&mut self, n: &Node) -> Vec<ProcessSpec> {
        match n {
            Node::Seq(items, _) => items.iter().map(|i| self.process(i)).collect(),
            _ => {
                self.error(
                    codes::TEST_FILE_STRUCTURE,
                    n,
                    format!("`parents` must be a list of processes, found {}", n.shape()),
                    "write the parent chain nearest first: `[{name: sshd}, {name: systemd}]`",
                );
                Vec::new()
            }
        }
    }

    fn fd(&mut self, n: &Node) -> Option<FdSpec> {
        let map = self.expect_map(n, "an fd")?;
        let mut num = None;
        let mut kind = None;
        for (k, v) in map {
            let key = scalar(k).unwrap_or("");
            match key {
                "num" => num = self.int::<i64>(v, "num"),
                "file" => kind = self.string(v, key).map(FdKind::File),
                "dir" => kind = self.string(v, key).map(FdKind::Directory),
                "tcp" | "udp" => {
                    let text = self.string(v, key);
                    if let Some(t) = &text
                        && crate::synth::parse_tuple(t)
                            .is_none_or(|(s, _, d, _)| s.is_ipv4() != d.is_ipv4())
                    {
                        self.error(
                            codes::BAD_TEST_VALUE,
                            v,
                            format!("`{t}` is not a socket tuple"),
                            "write `client_ip:port->server_ip:port`, both ends of one family, IPv6 in brackets: `[fd00::5]:40000->[fd00::1]:443`",
                        );
                    }
                    kind = text.map(if key == "tcp" {
                        FdKind::Tcp
                    } else {
                        FdKind::Udp
                    });
                }
                "unix" => kind = self.string(v, key).map(FdKind::Unix),
                "pipe" => kind = Some(FdKind::Pipe),
                _ => self.unknown_key(
                    k,
                    &["num", "file", "dir", "tcp", "udp", "unix", "pipe"],
                    "an fd",
                ),
            }
        }
        let (Some(num), Some(kind)) = (num, kind) else {
            self.error(
                codes::TEST_FILE_STRUCTURE,
                n,
                "an fd needs `num` and one of `file`, `dir`, `tcp`, `udp`, `unix`, `pipe`".into(),
                "e.g. `{num: 3, file: /etc/shadow}` or `{num: 4, tcp: \"10.0.0.2:40000->1.2.3.4:4444\"}`",
            );
            return None;
        };
        Some(FdSpec {
            num,
            kind,
            span: self.at(n),
        })
    }

    fn event(&mut self, n: &Node) -> Option<EventSpec> {
        const KEYS: [&str; 5] = ["syscall", "res", "fd", "process", "params"];
        let map = self.expect_map(n, "an event")?;
        let mut syscall = None;
        let mut ev = EventSpec {
            span: self.at(n),
            syscall: Spanned::new(String::new(), Span::default()),
            res: None,
            fd: None,
            process: None,
            params: Vec::new(),
        };
        for (k, v) in map {
            match scalar(k).unwrap_or("") {
                "syscall" => {
                    syscall = self.string(v, "syscall").map(|s| Spanned::new(s, v.span()));
                }
                "res" => ev.res = self.int(v, "res"),
                "fd" => ev.fd = self.fd(v),
                "process" => ev.process = Some(self.process(v)),
                "params" => {
                    for (pk, pv) in entries(v) {
                        let Some(name) = scalar(pk) else { continue };
                        let lit = match pv {
                            Node::Seq(items, _) => ParamLit::List(
                                items
                                    .iter()
                                    .filter_map(|i| scalar(i).map(String::from))
                                    .collect(),
                            ),
                            Node::Map(..) => match self.bytes(pv) {
                                Some(b) => ParamLit::Bytes(b),
                                None => continue,
                            },
                            other => ParamLit::Scalar(scalar(other).unwrap_or("").to_string()),
                        };
                        ev.params
                            .push((Spanned::new(name.to_string(), pk.span()), lit));
                    }
                }
                _ => self.unknown_key(k, &KEYS, "an event"),
            }
        }
        match syscall {
            Some(s) => ev.syscall = s,
            None => {
                self.error(
                    codes::TEST_FILE_STRUCTURE,
                    n,
                    "an event needs `syscall`".into(),
                    "e.g. `{syscall: openat, fd: {num: 3, file: /etc/shadow}}`",
                );
                return None;
            }
        }
        Some(ev)
    }

    fn expect(&mut self, n: &Node) -> Option<Expect> {
        // A bare string is a rule name.
        if let Some(rule) = scalar(n) {
            return Some(Expect {
                rule: Spanned::new(rule.to_string(), n.span()),
                event: None,
                output: None,
                fields: Vec::new(),
            });
        }
        let map = self.expect_map(n, "an expected alert")?;
        let mut rule = None;
        let mut e = Expect {
            rule: Spanned::new(String::new(), Span::default()),
            event: None,
            output: None,
            fields: Vec::new(),
        };
        for (k, v) in map {
            match scalar(k).unwrap_or("") {
                "rule" => rule = self.string(v, "rule").map(|s| Spanned::new(s, v.span())),
                "event" => e.event = self.int(v, "event"),
                "output" => e.output = self.string(v, "output").map(|s| Spanned::new(s, v.span())),
                "fields" => {
                    for (fk, fv) in entries(v) {
                        if let (Some(f), Some(val)) = (scalar(fk), scalar(fv)) {
                            e.fields
                                .push((f.to_string(), Spanned::new(val.to_string(), fv.span())));
                        }
                    }
                }
                _ => self.unknown_key(
                    k,
                    &["rule", "event", "output", "fields"],
                    "an expected alert",
                ),
            }
        }
        match rule {
            Some(r) => e.rule = r,
            None => {
                self.error(
                    codes::TEST_FILE_STRUCTURE,
                    n,
                    "an expected alert needs `rule`".into(),
                    "e.g. `{rule: Write below /etc, fields: {fd.name: /etc/passwd}}`",
                );
                return None;
            }
        }
        Some(e)
    }

    fn case(&mut self, n: &Node) -> Option<Case> {
        const KEYS: [&str; 8] = [
            "name",
            "process",
            "parents",
            "fds",
            "events",
            "expect",
            "quiet",
            "other_rules",
        ];
        let map = self.expect_map(n, "a case")?;
        let mut c = Case {
            name: String::new(),
            span: self.at(n),
            process: None,
            parents: None,
            fds: Vec::new(),
            events: Vec::new(),
            expect: Vec::new(),
            quiet: Vec::new(),
            other_rules: false,
            capture: None,
        };
        let mut select = None;
        for (k, v) in map {
            match scalar(k).unwrap_or("") {
                "name" => c.name = self.string(v, "name").unwrap_or_default(),
                "process" => c.process = Some(self.process(v)),
                "parents" => c.parents = Some(self.processes(v)),
                "fds" => {
                    if let Node::Seq(items, _) = v {
                        c.fds = items.iter().filter_map(|i| self.fd(i)).collect();
                    }
                }
                "events" => match v {
                    Node::Seq(items, _) => {
                        c.events = items.iter().filter_map(|i| self.event(i)).collect();
                    }
                    _ => self.error(
                        codes::TEST_FILE_STRUCTURE,
                        v,
                        "`events` must be a list".into(),
                        "write `events: [{syscall: execve}]`",
                    ),
                },
                "expect" => {
                    if let Node::Seq(items, _) = v {
                        c.expect = items.iter().filter_map(|i| self.expect(i)).collect();
                    }
                }
                "quiet" => {
                    if let Node::Seq(items, _) = v {
                        c.quiet = items
                            .iter()
                            .filter_map(|i| {
                                scalar(i).map(|s| Spanned::new(s.to_string(), i.span()))
                            })
                            .collect();
                    }
                }
                "other_rules" => c.other_rules = scalar(v) == Some("true"),
                "capture" => {
                    c.capture = self.string(v, "capture").map(|p| CaptureSpec {
                        path: Spanned::new(p, v.span()),
                        select: None,
                    });
                }
                "select" => select = self.string(v, "select").map(|s| Spanned::new(s, v.span())),
                _ => self.unknown_key(k, &KEYS, "a case"),
            }
        }
        if c.name.is_empty() {
            self.error(
                codes::TEST_FILE_STRUCTURE,
                n,
                "a case needs a `name`".into(),
                "name the case after what it shows, e.g. `name: cat reading /etc/shadow fires`",
            );
            return None;
        }
        if let Some(cap) = &mut c.capture {
            cap.select = select;
        } else if select.is_some() {
            self.error(
                codes::TEST_FILE_STRUCTURE,
                n,
                format!("case `{}` has `select` without `capture`", c.name),
                "`select` chooses events of a capture: add `capture: FILE.scap`",
            );
        }
        if c.events.is_empty() && c.capture.is_none() {
            self.error(
                codes::TEST_FILE_STRUCTURE,
                n,
                format!("case `{}` has no events", c.name),
                "add `events:` with at least one syscall, or `capture:` with a scap file",
            );
            return None;
        }
        if !c.events.is_empty() && c.capture.is_some() {
            self.error(
                codes::TEST_FILE_STRUCTURE,
                n,
                format!("case `{}` has both `events` and `capture`", c.name),
                "describe the events, or take them from a capture, not both",
            );
            return None;
        }
        Some(c)
    }

    /// `hosts: {name: address, other: [address, ...]}`.
    fn hosts(&mut self, n: &Node) -> Vec<(String, Vec<std::net::IpAddr>)> {
        let Some(map) = self.expect_map(n, "`hosts`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let Some(name) = self.string(k, "hosts") else {
                continue;
            };
            let Some(texts) = self.strings(v, "hosts") else {
                continue;
            };
            let mut addrs = Vec::new();
            for t in &texts {
                match t.parse::<std::net::IpAddr>() {
                    Ok(a) => addrs.push(a),
                    Err(_) => self.error(
                        codes::BAD_TEST_VALUE,
                        v,
                        format!("`{t}` is not an IP address (host `{name}`)"),
                        "write an IPv4 or IPv6 address, or a list of them: `[10.96.0.1, fd00::1]`",
                    ),
                }
            }
            out.push((name, addrs));
        }
        out
    }

    /// `interfaces: [address, ...]`.
    fn interfaces(&mut self, n: &Node) -> Vec<std::net::IpAddr> {
        let Some(texts) = self.strings(n, "interfaces") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for t in &texts {
            match t.parse::<std::net::IpAddr>() {
                Ok(a) => out.push(a),
                Err(_) => self.error(
                    codes::BAD_TEST_VALUE,
                    n,
                    format!("`{t}` is not an IP address (`interfaces`)"),
                    "write a list of IPv4 or IPv6 addresses: `[10.0.0.5, fd00::5]`",
                ),
            }
        }
        out
    }

    fn id_names(&mut self, n: &Node, key: &str) -> Vec<(u32, String)> {
        entries(n)
            .iter()
            .filter_map(|(k, v)| Some((self.int::<u32>(k, key)?, self.string(v, key)?)))
            .collect()
    }
}

/// Reads a test file. Never fails: problems are diagnostics, good cases are kept.
pub fn load(file: FileId, text: &str) -> (TestFile, Vec<Diagnostic>) {
    const KEYS: [&str; 8] = [
        "rules",
        "users",
        "groups",
        "hosts",
        "interfaces",
        "process",
        "parents",
        "cases",
    ];
    let docs = tree::parse(text);
    let mut r = Reader {
        file,
        diags: Vec::new(),
    };
    let mut t = TestFile {
        file: Some(file),
        ..TestFile::default()
    };
    if let Some(err) = &docs.error {
        r.diags.push(
            Diagnostic::new(
                codes::YAML_SYNTAX,
                FileSpan::new(file, Span::at(err.offset)),
                format!("invalid yaml: {}", err.message),
            )
            .with_label("the yaml parser stopped here"),
        );
    }
    for doc in &docs.docs {
        let Some(map) = r.expect_map(doc, "a rule test file") else {
            continue;
        };
        for (k, v) in map {
            match scalar(k).unwrap_or("") {
                "rules" => {
                    if let Node::Seq(items, _) = v {
                        t.rules = items
                            .iter()
                            .filter_map(|i| {
                                scalar(i).map(|s| Spanned::new(s.to_string(), i.span()))
                            })
                            .collect();
                    } else if let Some(s) = scalar(v) {
                        t.rules = vec![Spanned::new(s.to_string(), v.span())];
                    }
                }
                "users" => t.users = r.id_names(v, "users"),
                "groups" => t.groups = r.id_names(v, "groups"),
                "hosts" => t.hosts = r.hosts(v),
                "interfaces" => t.interfaces = Some(r.interfaces(v)),
                "process" => t.process = r.process(v),
                "parents" => t.parents = r.processes(v),
                "cases" => match v {
                    Node::Seq(items, _) => {
                        t.cases = items.iter().filter_map(|i| r.case(i)).collect();
                    }
                    _ => r.error(
                        codes::TEST_FILE_STRUCTURE,
                        v,
                        "`cases` must be a list".into(),
                        "write `cases: [{name: ..., events: [...], expect: [...]}]`",
                    ),
                },
                _ => r.unknown_key(k, &KEYS, "a rule test file"),
            }
        }
    }
    (t, r.diags)
}
