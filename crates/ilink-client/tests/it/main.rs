//! Integration tests of ilink-client: endpoints, login and media against
//! `wiremock` servers on loopback, wire decoding, and snapshots of request bodies.
#![allow(clippy::unwrap_used, missing_docs)]

mod endpoints;
mod login;
mod media;
mod requests;
mod support;
mod wire;
