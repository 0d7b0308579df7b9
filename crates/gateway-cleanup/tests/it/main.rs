//! Integration tests of gateway-cleanup with real processes. Every process a
//! test starts is this test binary re-executed in a role (a fake gateway, a
//! middle process, the cleaner), tagged with a marker unique to the test; the
//! cleanup's matcher matches only that marker, and the tests signal only the
//! processes they started, by pid.
#![allow(clippy::unwrap_used, missing_docs)]

mod processes;
