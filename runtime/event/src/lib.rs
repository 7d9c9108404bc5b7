//! Syscall events for Lanner: a source-independent event model, the driver event tables,
//! and a streaming reader and writer of scap capture files.
//!
//! * [`Event`] is a borrowed, validated view of one driver event (header, parameter
//!   lengths, parameter values). It is built from scap event blocks by [`ScapReader`] and
//!   can be built from a kernel ring buffer record with [`Event::parse_v2`]. Parameters are
//!   decoded lazily into [`ParamValue`]s that borrow from the event bytes.
//! * [`table`] holds the event schemas of the current libs and of sysdig 0.29, generated
//!   at build time from the TSV tables in `tables/`.
//! * [`ScapReader`] streams any scap file (every block type and version, plain or gzip) in
//!   constant memory and yields [`Record`]s; malformed input yields a located [`ScapError`].
//! * [`ScapWriter`] writes files that sysdig 0.29 and current libs both accept.
//!
//! ```no_run
//! use lanner_event::{ParamValue, Record, ScapReader};
//!
//! let mut reader = ScapReader::open("capture.scap.gz")?;
//! while let Some(record) = reader.next_record()? {
//!     match record {
//!         Record::ProcessList(threads) => {
//!             for t in threads.threads() {
//!                 println!("thread {} {}", t.tid, String::from_utf8_lossy(t.comm));
//!             }
//!         }
//!         Record::Event(ev) if ev.info().is_some_and(|i| i.name == "openat") => {
//!             if let Some(Ok(ParamValue::Path(p))) = ev.param_by_name("name").map(|p| p.decode()) {
//!                 println!("{} openat {}", ev.tid(), String::from_utf8_lossy(p));
//!             }
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok::<(), lanner_event::ScapError>(())
//! ```

mod block;
mod bytes;
mod event;
pub mod param;
mod reader;
pub mod records;
pub mod table;
mod writer;

pub use block::{BlockKind, BlockType, ScapError};
pub use event::{
    DF_STATE_ONLY, Event, EventError, EventHeader, EventSource, OwnedEvent, Param, RawParams,
    V1_HEADER_LEN, V2_HEADER_LEN, has_large_lengths,
};
pub use param::{ParamError, ParamValue, SockAddr, SockTuple};
pub use reader::{
    BYTE_ORDER_MAGIC, MAX_EVENT_BLOCK_BODY, ReaderOptions, Record, ScapReader, ScapSliceReader,
};
pub use records::{
    FdDetail, FdDetailOf, FdInfo, FdTable, GroupInfo, IfAddr, Interface, InterfaceList,
    MachineInfo, ProcessList, SectionHeader, ThreadInfo, UserEntry, UserInfo, UserList,
};
pub use table::{Direction, EventInfo, FlagTable, ParamInfo, ParamType, TableVersion, event_info};
pub use writer::{ScapWriter, WriteError, WriterOptions};
