//! No library: this crate holds the tests in `tests/` that compile rules with the checker and
//! run them on the interpreter. They live here, on the compiler's side, because the runtime
//! crates may not depend on the front end, not even for tests (see `tests/dependencies.rs`
//! in lanner-program).
