//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use lanner_event::{Record, ScapError, ScapReader};

/// The shared captures folder, or `None` outside CI when the reference folder is missing
/// (the test skips and says so); under `CI=true` a missing folder is a failure.
pub fn shared() -> Option<PathBuf> {
    lanner_testkit::shared_or_skip().map(|p| p.join("scap"))
}

/// Every scap file of the shared folder (captures, synthetic, modern).
pub fn all_shared_files() -> Vec<PathBuf> {
    let Some(root) = shared() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dir in ["captures", "synthetic", "modern"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().to_string();
                n.ends_with(".scap") || n.ends_with(".scap.gz")
            })
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// What a full pass over a file saw.
#[derive(Debug, Default)]
pub struct Summary {
    /// Block names in order of first appearance, with counts.
    pub blocks: Vec<(String, usize)>,
    pub events: usize,
    pub threads: usize,
    pub fds: usize,
    pub users: usize,
    pub groups: usize,
    pub ifaces: usize,
    pub sections: usize,
    pub param_errors: Vec<String>,
    pub type_counts: BTreeMap<u16, usize>,
}

impl Summary {
    pub fn block_string(&self) -> String {
        self.blocks
            .iter()
            .map(|(n, c)| format!("{n}x{c}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn bump(&mut self, name: &str) {
        match self.blocks.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => *c += 1,
            None => self.blocks.push((name.to_string(), 1)),
        }
    }
}

/// Reads every record, iterates every list and decodes every parameter.
pub fn summarize_bytes(data: &[u8]) -> Result<Summary, ScapError> {
    let mut r = ScapReader::new(data)?;
    summarize(&mut r)
}

pub fn summarize<R: std::io::Read>(r: &mut ScapReader<R>) -> Result<Summary, ScapError> {
    let mut s = Summary::default();
    while let Some(rec) = r.next_record()? {
        match &rec {
            Record::SectionHeader(_) => s.sections += 1,
            Record::MachineInfo(_) => {}
            Record::ProcessList(pl) => s.threads += pl.threads().count(),
            Record::FdTable(t) => s.fds += t.fds().count(),
            Record::InterfaceList(il) => s.ifaces += il.interfaces().count(),
            Record::UserList(ul) => {
                for e in ul.entries() {
                    match e {
                        lanner_event::UserEntry::User(_) => s.users += 1,
                        lanner_event::UserEntry::Group(_) => s.groups += 1,
                    }
                }
            }
            Record::Event(ev) => {
                s.events += 1;
                *s.type_counts.entry(ev.event_type()).or_default() += 1;
                for i in 0..ev.nparams() {
                    if let Err(e) = ev.decode(i) {
                        s.param_errors.push(format!(
                            "event #{} type {} param {i}: {e}",
                            s.events,
                            ev.event_type()
                        ));
                    }
                }
            }
            Record::Unknown { .. } => {}
        }
        let (bt, _) = r.last_block().unwrap();
        let name = match bt.name() {
            "UNKNOWN" => format!("UNKNOWN_{:#x}", bt.0),
            n => n.to_string(),
        };
        s.bump(&name);
    }
    Ok(s)
}
