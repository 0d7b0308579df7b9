//! Wire types: what travels in the JSON bodies, with serde.

pub mod api;
pub mod enums;
pub mod id;
pub mod message;

pub use api::*;
pub use enums::*;
pub use id::WireId;
pub use message::*;
