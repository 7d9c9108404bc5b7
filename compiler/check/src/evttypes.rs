//! Event-type sets (being written).
