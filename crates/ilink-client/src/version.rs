//! The `iLink-App-ClientVersion` header: the channel's semver packed into a u32.

use crate::error::{Error, ErrorKind, Result};

/// Packs `MAJOR.MINOR.PATCH` (a prerelease or build suffix is ignored) as
/// `major << 16 | minor << 8 | patch`, each masked to 8 bits.
///
/// ```
/// assert_eq!(ilink_client::pack_client_version("2.4.9").unwrap(), 132105);
/// assert_eq!(ilink_client::pack_client_version("2.4.11").unwrap(), 132107);
/// ```
pub fn pack_client_version(version: &str) -> Result<u32> {
    let core = version
        .trim()
        .trim_start_matches('v')
        .split(['-', '+'])
        .next()
        .unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let bad = || {
        Error::new(ErrorKind::Config(format!(
            "channel version {version:?} is not MAJOR.MINOR.PATCH"
        )))
    };
    if parts.len() != 3 {
        return Err(bad());
    }
    let mut packed = 0u32;
    for part in parts {
        let n: u32 = part.parse().map_err(|_| bad())?;
        packed = (packed << 8) | (n & 0xff);
    }
    Ok(packed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_masks() {
        assert_eq!(pack_client_version("2.4.9").ok(), Some(0x0002_0409));
        assert_eq!(
            pack_client_version("v1.0.0-beta.1+b5").ok(),
            Some(0x0001_0000)
        );
        assert_eq!(pack_client_version("258.1.1").ok(), Some(0x0002_0101));
        assert!(pack_client_version("2.4").is_err());
        assert!(pack_client_version("2.x.1").is_err());
        assert!(pack_client_version("").is_err());
    }
}
