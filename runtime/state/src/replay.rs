//! Driving a whole capture through the converter and the state engine.

use std::path::Path;

use lanner_event::{Event, Record, ScapError, ScapReader};

use crate::container::ContainerMatcher;
use crate::fold::{Decision, Folder};
use crate::state::State;

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The capture could not be read.
    #[error("cannot read capture {path}: {source}")]
    Read {
        /// The capture path.
        path: String,
        /// The reader's error.
        source: ScapError,
    },
}

/// The converter and the state, fed record by record.
pub struct Replay {
    folder: Folder,
    /// The state after the last record.
    pub state: State,
    sections: u32,
}

impl Default for Replay {
    fn default() -> Self {
        Self::new(ContainerMatcher::default())
    }
}

impl Replay {
    /// A replay at the start of a capture.
    pub fn new(matcher: ContainerMatcher) -> Self {
        Replay {
            folder: Folder::new(),
            state: State::with_matcher(matcher),
            sections: 0,
        }
    }

    /// Feeds one record. For an event, returns what Falco makes of it; when the decision is
    /// `parsed`, the state has been updated and [`Replay::event`] is the converted event.
    pub fn record(&mut self, rec: &Record<'_>) -> Option<Decision> {
        self.record_with(rec, false)
    }

    /// As [`Replay::record`], without copying an event that Falco delivers unchanged: read
    /// the event back with [`Replay::event_for`] and the same record ([`Replay::event`] is
    /// not meaningful after this call).
    pub fn record_borrowed(&mut self, rec: &Record<'_>) -> Option<Decision> {
        self.record_with(rec, true)
    }

    /// The converted event of the last `parsed` decision of [`Replay::record_borrowed`].
    pub fn event_for<'b>(&'b self, rec: &Record<'b>) -> Option<Event<'b>> {
        match rec {
            Record::Event(ev) => self.folder.current_for(ev),
            _ => None,
        }
    }

    fn record_with(&mut self, rec: &Record<'_>, borrow: bool) -> Option<Decision> {
        match rec {
            Record::SectionHeader(_) => {
                // libsinsp restarts its state at each new section; numbering continues.
                if self.sections > 0 {
                    self.state.reset();
                    self.folder.new_section();
                }
                self.sections += 1;
                None
            }
            Record::ProcessList(list) => {
                for t in list.threads() {
                    self.state.add_thread_info(&t);
                }
                None
            }
            Record::FdTable(table) => {
                let tid = table.tid();
                for fd in table.fds() {
                    self.state.add_fd_info(tid, &fd);
                }
                None
            }
            Record::InterfaceList(list) => {
                self.state.add_interfaces(list);
                None
            }
            Record::UserList(list) => {
                self.state.add_user_list(list);
                None
            }
            Record::Event(ev) => {
                let d = if borrow {
                    self.folder.accept_borrowed(ev)
                } else {
                    self.folder.accept(ev)
                };
                if d.parsed
                    && let Some(cur) = self.folder.current_for(ev)
                {
                    self.state.process(&cur);
                    self.state.current.num = d.num;
                }
                Some(d)
            }
            _ => None,
        }
    }

    /// The converted event of the last `parsed` decision.
    pub fn event(&self) -> Option<Event<'_>> {
        self.folder.current()
    }

    /// Replays a capture file, calling `each` with every event Falco delivers, its state and
    /// its `evt.num`.
    pub fn run_file(
        path: &Path,
        matcher: ContainerMatcher,
        mut each: impl FnMut(&Event<'_>, &State, u64),
    ) -> Result<(), ReplayError> {
        let err = |source| ReplayError::Read {
            path: path.display().to_string(),
            source,
        };
        let mut reader = ScapReader::open(path).map_err(err)?;
        let mut replay = Replay::new(matcher);
        while let Some(rec) = reader.next_record().map_err(err)? {
            if let Some(d) = replay.record_borrowed(&rec)
                && d.delivered
                && let Some(ev) = replay.event_for(&rec)
            {
                each(&ev, &replay.state, d.num);
            }
        }
        Ok(())
    }
}
