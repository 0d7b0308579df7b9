//! Lossless 64-bit ids (`message_id`, `msg_id`, `svr_id`) and the `null`-means-absent helpers.
//!
//! iLink sends these ids as bare JSON numbers that may exceed 2^53, or as strings of
//! digits. Both decode into a [`WireId`] holding the exact `u64`, never through an `f64`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A uint64 id of the wire, kept exactly.
///
/// Decodes from a JSON number in `0..=u64::MAX` or a JSON string of decimal digits;
/// anything else (negative, fractional, beyond u64, non-digits) is a decode error.
/// Encodes as a bare JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WireId(pub u64);

impl WireId {
    /// The id as a `u64`.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for WireId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u64> for WireId {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl FromStr for WireId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("id {s:?} is not a string of decimal digits"));
        }
        s.parse::<u64>()
            .map(WireId)
            .map_err(|_| format!("id {s:?} is beyond u64"))
    }
}

impl Serialize for WireId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = WireId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a uint64 id as a JSON number or a string of digits")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireId, E> {
                Ok(WireId(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireId, E> {
                u64::try_from(v)
                    .map(WireId)
                    .map_err(|_| E::custom(format!("id {v} is negative")))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<WireId, E> {
                u64::try_from(v)
                    .map(WireId)
                    .map_err(|_| E::custom(format!("id {v} is beyond u64")))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<WireId, E> {
                Err(E::custom(format!(
                    "id {v} is not an integer in the u64 range"
                )))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireId, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

/// Deserializes a field where JSON `null` means the same as an absent field:
/// the type's default.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
