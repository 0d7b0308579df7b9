//! Integration tests of channel-contract: session keys, routing, admission,
//! and the pairing store on real files (with real processes for the locks).
#![allow(clippy::unwrap_used, missing_docs)]

mod admission;
mod pairing;
mod routing;
mod session;
