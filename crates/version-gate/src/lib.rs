//! OpenClaw host/plugin compatibility for the Weixin channel.
//!
//! Host versions ([`HostVersion`]: `YYYY.M.D` / `YYYY.M.PATCH`, prereleases,
//! corrections, zero padding accepted leniently), `minHostVersion` floors and
//! their four results ([`check_floor`]), the Weixin runtime guard
//! ([`weixin_runtime_guard`]), the plugin-line table and the install policy
//! ([`resolve_install`]), and checks of a plugin package ([`package`]). The
//! messages a user sees name the version found, the floor needed and both
//! cures. Only [`package::DirFiles`] touches the disk.
//!
//! ```
//! use version_gate::{check_floor, weixin_runtime_guard, Compatibility, GuardOutcome, HostProfile};
//!
//! assert_eq!(check_floor(Some("2026.9.6"), ">=2026.5.12", HostProfile::Late), Compatibility::Ok);
//! match weixin_runtime_guard(Some("2026.2.1")) {
//!     GuardOutcome::TooOld(msg) => assert!(msg.contains(">=2026.3.22") && msg.contains("@legacy")),
//!     other => panic!("{other:?}"),
//! }
//! ```

mod compat;
mod host_version;
pub mod package;

pub use compat::{
    check_floor, line_for_host, resolve_install, too_old_message, weixin_runtime_guard,
    Compatibility, Floor, FloorError, GuardOutcome, HostProfile, InstallError, InstallSpec,
    PluginLine, Published, PLUGIN_LINES, WEIXIN_PACKAGE, WEIXIN_RUNTIME_FLOOR,
};
pub use host_version::{CompareMode, HostVersion, PreKind, Suffix, VersionError};
