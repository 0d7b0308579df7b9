//! The install policy: `@latest` stays on stable and falls back to the newest
//! compatible older version; exact versions and tags fail when incompatible.

use version_gate::{resolve_install, HostProfile, InstallError, InstallSpec, Published};

fn published() -> Vec<Published> {
    let p = |v: &str, floor: Option<&str>, tags: &[&str]| Published {
        version: semver::Version::parse(v).unwrap(),
        min_host_version: floor.map(str::to_owned),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    };
    vec![
        p("1.0.3", Some(">=2026.1.0"), &["legacy"]),
        p("2.0.0", Some(">=2026.3.22"), &[]),
        p("2.3.0", Some(">=2026.4.15"), &[]),
        p("2.4.9", Some(">=2026.5.12"), &["latest"]),
        p("2.5.0-beta.1", Some(">=2026.9.6"), &["beta"]),
    ]
}

fn install(host: &str, spec: &str) -> Result<String, InstallError> {
    resolve_install(
        host,
        &published(),
        &InstallSpec::parse(spec),
        HostProfile::Late,
    )
    .map(|v| v.to_string())
}

#[test]
fn latest_stays_on_stable_and_falls_back_to_a_compatible_version() {
    assert_eq!(install("2026.9.6", "").unwrap(), "2.4.9", "no prerelease");
    assert_eq!(install("2026.9.6", "@latest").unwrap(), "2.4.9");
    assert_eq!(install("2026.4.20", "latest").unwrap(), "2.3.0");
    assert_eq!(install("2026.3.22", "").unwrap(), "2.0.0");
    assert_eq!(install("2026.2.1", "").unwrap(), "1.0.3");
    match install("2025.12.1", "") {
        Err(InstallError::NoCompatibleVersion { message, .. }) => {
            assert!(
                message.contains("2025.12.1") && message.contains("@legacy"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn exact_versions_and_tags_fail_when_incompatible() {
    assert_eq!(install("2026.9.6", "2.5.0-beta.1").unwrap(), "2.5.0-beta.1");
    assert_eq!(install("2026.9.6", "beta").unwrap(), "2.5.0-beta.1");
    assert_eq!(install("2026.2.1", "legacy").unwrap(), "1.0.3");
    match install("2026.4.15", "2.4.9") {
        Err(InstallError::Incompatible { version, message }) => {
            assert_eq!(version, "2.4.9");
            assert!(
                message.contains("2026.4.15") && message.contains(">=2026.5.12"),
                "{message}"
            );
            assert!(
                message.contains("upgrade OpenClaw") && message.contains("@legacy"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        install("2026.4.15", "beta"),
        Err(InstallError::Incompatible { .. })
    ));
    assert!(matches!(
        install("2026.9.6", "9.9.9"),
        Err(InstallError::NotPublished(_))
    ));
    assert!(matches!(
        install("2026.9.6", "nightly"),
        Err(InstallError::NotPublished(_))
    ));
    assert!(matches!(
        install("not-a-version", ""),
        Err(InstallError::UnknownHost(_))
    ));
}
