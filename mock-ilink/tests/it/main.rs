//! Integration tests of mock-ilink over real loopback HTTP, driven through
//! `ilink-client` (which cross-checks both sides of the wire).
#![allow(clippy::unwrap_used, missing_docs)]

mod binary;
mod control;
mod protocol;
mod readme;
mod support;
