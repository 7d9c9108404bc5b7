//! The state Falco keeps while it reads events — the thread table with its parent chain, the fd
//! table, users, groups and containers — and the extraction of field values from an event and
//! that state.
//!
//! Events come from any [`lanner_event::EventSource`]: a scap capture now, the kernel ring
//! buffer next. The rule engine asks this crate for field values ([`value::Value`]) and never
//! looks at raw events itself.
//!
//! * [`fold`] folds enter events into exits the way Falco 0.44's libscap converter does, so
//!   that the events (and `evt.num`) the engine sees are Falco's.
//! * [`State`] holds threads, fds, users, groups and containers; [`State::process`] parses one
//!   converted event into it.
//! * [`Accessor`] is a compiled field reference; [`render`] prints a value as Falco does.
//! * [`Replay`] drives a whole capture (state records and events) through both.

pub mod args;
pub mod container;
pub mod errno;
pub mod extract;
pub mod fold;
pub mod glob;
pub mod hostnames;
pub mod idmap;
pub mod procfs;
pub mod render;
pub mod replay;
pub mod state;
pub mod value;

pub use container::{ContainerInfo, ContainerMatcher};
pub use extract::{Accessor, CAPABILITY_NAMES, ExtractError, extract};
pub use fold::{Decision, Folder, Folding};
pub use hostnames::{HostNames, Resolver, SharedHostNames, StaticResolver, SystemResolver};
pub use procfs::{ProcfsError, Snapshot, SnapshotOptions, SnapshotStats, snapshot};
pub use render::render;
pub use replay::{Replay, ReplayError};
pub use state::{Fd, State, Thread, User};
pub use value::Value;
