//! Integration tests of version-gate: a table of host/floor/line cases,
//! properties of the version grammar, the install policy, and package checks
//! on plugin-directory fixtures.
#![allow(clippy::unwrap_used, missing_docs)]

mod install;
mod package;
mod versions;
