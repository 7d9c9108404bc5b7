//! The state Falco keeps while it reads events — the thread table with its parent chain, the fd
//! table, users, groups and containers — and the extraction of field values from an event and
//! that state.
//!
//! Events come from any [`lanner_event::EventSource`]: a scap capture now, the kernel ring
//! buffer next. The rule engine asks this crate for field values ([`value::Value`]) and never
//! looks at raw events itself.

pub mod value;
