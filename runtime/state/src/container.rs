//! Container ids from cgroups, and the container table filled from the capture's container
//! events.
//!
//! Falco's container plugin derives a container id from a process's cgroup paths. On the
//! machines this project runs on every session sits in a memory cgroup named
//! `/<name>/<32 hex digits>`, which the plugin's containerd matcher takes for a container
//! (reference/kernel.md, last section). Lanner therefore makes the matcher configurable:
//! [`ContainerMatcher::falco`] reproduces Falco (64- and 32-digit ids), and
//! [`ContainerMatcher::runtimes_only`] accepts only the 64-digit ids container runtimes
//! create, so such sessions count as the host.

use std::rc::Rc;

/// How container ids are recognised in cgroup paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerMatcher {
    /// Id lengths (in hex digits) accepted as a container id.
    pub id_lengths: Vec<usize>,
    /// Prefixes stripped from the last path component (`docker-`, `crio-`, ...).
    pub prefixes: Vec<String>,
    /// Whether container ids are derived at all (false: every process is on the host).
    pub enabled: bool,
}

impl Default for ContainerMatcher {
    fn default() -> Self {
        Self::falco()
    }
}

impl ContainerMatcher {
    /// Falco 0.44.1 with its container plugin: docker, cri-o, podman and containerd ids of 64
    /// hex digits, and the containerd matcher's 32-digit ids.
    pub fn falco() -> Self {
        ContainerMatcher {
            id_lengths: vec![64, 32],
            prefixes: [
                "docker-",
                "crio-",
                "cri-containerd-",
                "libpod-",
                "containerd-",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            enabled: true,
        }
    }

    /// Only 64-digit runtime ids: sessions in `/<name>/<32 hex>` cgroups are the host.
    pub fn runtimes_only() -> Self {
        ContainerMatcher {
            id_lengths: vec![64],
            ..Self::falco()
        }
    }

    /// Every process is on the host.
    pub fn disabled() -> Self {
        ContainerMatcher {
            enabled: false,
            ..Self::falco()
        }
    }

    /// The short (12-digit) container id of a path, if it names a container.
    pub fn match_path(&self, path: &[u8]) -> Option<String> {
        self.match_full(path)
            .map(|full| full.chars().take(12).collect())
    }

    /// The full container id (32 or 64 hex digits) of a path, if it names a container.
    pub fn match_full(&self, path: &[u8]) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let last = path.rsplit(|b| *b == b'/').next()?;
        let mut comp = last.strip_suffix(b".scope").unwrap_or(last);
        for p in &self.prefixes {
            if let Some(rest) = comp.strip_prefix(p.as_bytes()) {
                comp = rest;
                break;
            }
        }
        if !self.id_lengths.contains(&comp.len()) || !comp.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        Some(String::from_utf8_lossy(comp).into_owned())
    }

    /// The container id of a process with these cgroups, `""` for the host.
    pub fn container_id(&self, cgroups: &[(Vec<u8>, Vec<u8>)]) -> Rc<str> {
        cgroups
            .iter()
            .find_map(|(_, path)| self.match_path(path))
            .map_or_else(|| Rc::from(""), |s| Rc::from(s.as_str()))
    }
}

/// A container known from the capture's container events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Full id.
    pub id: String,
    /// Name.
    pub name: Vec<u8>,
    /// Image as written (`nginx:latest`).
    pub image: Vec<u8>,
    /// Image repository (`nginx`).
    pub image_repo: Vec<u8>,
    /// Whether the container runs privileged, when the event says.
    pub privileged: Option<bool>,
    /// Labels (`io.kubernetes.pod.name`, ...).
    pub labels: Vec<(String, String)>,
    /// Mounts, in the event's order (`container.mount*`).
    pub mounts: Vec<Mount>,
}

/// One mount of a container, as the container engines write it in the `Mounts` array of the
/// container event (`Source`, `Destination`, `Mode`, `RW`, `Propagation`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mount {
    /// Host path.
    pub source: Vec<u8>,
    /// Path inside the container.
    pub dest: Vec<u8>,
    /// Mode (`ro`, `Z`, ...; often empty).
    pub mode: Vec<u8>,
    /// Writable.
    pub rw: bool,
    /// Propagation (`rprivate`, ...).
    pub propagation: Vec<u8>,
}

impl Mount {
    /// `source:dest:mode:rdrw:propagation`, the container plugin's rendering of one mount
    /// (`container.mount[...]`, and each item of `container.mounts`).
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, part) in [
            &self.source[..],
            &self.dest,
            &self.mode,
            if self.rw { b"true" } else { b"false" },
            &self.propagation,
        ]
        .iter()
        .enumerate()
        {
            if i > 0 {
                out.push(b':');
            }
            out.extend_from_slice(part);
        }
        out
    }
}

/// How a `container.mount*` field picks its mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKey {
    /// By position (`container.mount.dest[0]`).
    Index(usize),
    /// By a glob on the source (`container.mount.dest[/proc*]`), or on the destination for
    /// `container.mount.source`.
    Glob(Vec<u8>),
}

impl ContainerInfo {
    /// The mount a `container.mount*` field selects: by index, or the first whose source
    /// (`by_dest`: destination) matches the glob, as the container plugin looks them up.
    pub fn mount(&self, key: &MountKey, by_dest: bool) -> Option<&Mount> {
        match key {
            MountKey::Index(i) => self.mounts.get(*i),
            MountKey::Glob(g) => self.mounts.iter().find(|m| {
                let path = if by_dest { &m.dest } else { &m.source };
                crate::glob::fnmatch(g, path, false)
            }),
        }
    }
}

impl ContainerInfo {
    /// Parses the JSON of a `container` event (`{"container": {"id": ..., ...}}`).
    pub fn from_json(json: &[u8]) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_slice(json).ok()?;
        let c = v.get("container")?;
        let s = |k: &str| {
            c.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .as_bytes()
                .to_vec()
        };
        Some(ContainerInfo {
            id: String::from_utf8_lossy(&s("id")).into_owned(),
            name: s("name"),
            image: s("image"),
            image_repo: s("imagerepo"),
            privileged: c.get("privileged").and_then(serde_json::Value::as_bool),
            labels: c
                .get("labels")
                .and_then(serde_json::Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default(),
            mounts: c
                .get("Mounts")
                .and_then(serde_json::Value::as_array)
                .map(|list| list.iter().map(mount_from_json).collect())
                .unwrap_or_default(),
        })
    }
}

/// One entry of the event's `Mounts` array; missing keys are empty (`RW` false).
fn mount_from_json(m: &serde_json::Value) -> Mount {
    let s = |k: &str| {
        m.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .as_bytes()
            .to_vec()
    };
    Mount {
        source: s("Source"),
        dest: s("Destination"),
        mode: s("Mode"),
        rw: m
            .get("RW")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        propagation: s("Propagation"),
    }
}
