//! Host versions against floors, the runtime guard and the plugin lines.

use proptest::prelude::*;
use version_gate::{
    check_floor, line_for_host, weixin_runtime_guard, Compatibility, GuardOutcome, HostProfile,
    HostVersion, PreKind, Suffix,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Ok,
    Invalid,
    Unknown,
    Incompatible,
}

fn kind(c: &Compatibility) -> Want {
    match c {
        Compatibility::Ok => Want::Ok,
        Compatibility::Invalid(_) => Want::Invalid,
        Compatibility::UnknownHostVersion { .. } => Want::Unknown,
        Compatibility::Incompatible { .. } => Want::Incompatible,
    }
}

#[test]
fn host_against_floor_table() {
    use HostProfile::{Late, Newest};
    use Want::*;
    let table: &[(&str, &str, HostProfile, Want)] = &[
        // Plain D and PATCH forms.
        ("2026.5.12", ">=2026.5.12", Late, Ok),
        ("2026.5.13", ">=2026.5.12", Late, Ok),
        ("2026.5.11", ">=2026.5.12", Late, Incompatible),
        ("2026.9.6", ">=2026.5.12", Late, Ok),
        ("2027.1.1", ">=2026.12.31", Late, Ok),
        ("2026.4.15", ">=2026.5.12", Late, Incompatible),
        ("2026.3.22", ">=2026.3.22", Late, Ok),
        ("2026.3.21", ">=2026.3.22", Late, Incompatible),
        ("2026.10.1", ">=2026.9.40", Late, Ok),
        ("2026.9.33", ">=2026.9.6", Late, Ok),
        // Optional v on the host.
        ("v2026.5.12", ">=2026.5.12", Late, Ok),
        ("V2026.5.12", ">=2026.5.12", Newest, Ok),
        // Prereleases: late compares only the triple, newest as semver.
        ("2026.5.12-beta.1", ">=2026.5.12", Late, Ok),
        ("2026.5.12-beta.1", ">=2026.5.12", Newest, Incompatible),
        (
            "2026.5.12-alpha.3",
            ">=2026.5.12-beta.1",
            Newest,
            Incompatible,
        ),
        ("2026.5.12-beta.2", ">=2026.5.12-beta.1", Newest, Ok),
        ("2026.5.12", ">=2026.5.12-beta.1", Newest, Ok),
        ("2026.5.12-beta.1", ">=2026.5.12-beta.1", Late, Ok),
        // Corrections rank above their base on the newest hosts.
        ("2026.5.12-1", ">=2026.5.12", Newest, Ok),
        ("2026.5.12", ">=2026.5.12-1", Newest, Incompatible),
        ("2026.5.12", ">=2026.5.12-1", Late, Ok),
        ("2026.5.12-2", ">=2026.5.12-1", Newest, Ok),
        ("2026.5.11-3", ">=2026.5.12", Newest, Incompatible),
        // Build metadata is ignored.
        ("2026.5.12+build.7", ">=2026.5.12", Newest, Ok),
        ("2026.5.12", ">=2026.5.12+sha.1", Late, Ok),
        // Zero padding: tolerated by late, unknown host / invalid floor on newest.
        ("2026.04.15", ">=2026.4.15", Late, Ok),
        ("2026.04.15", ">=2026.4.15", Newest, Unknown),
        ("2026.5.12", ">=2026.05.12", Newest, Invalid),
        ("2026.5.12", ">=2026.05.12", Late, Ok),
        // Unknown host versions.
        ("", ">=2026.5.12", Late, Unknown),
        ("unknown", ">=2026.5.12", Late, Unknown),
        ("2026.5", ">=2026.5.12", Late, Unknown),
        ("2026.5.12.1", ">=2026.5.12", Late, Unknown),
        ("latest", ">=2026.5.12", Newest, Unknown),
        ("2026.13.1", ">=2026.5.12", Late, Unknown),
        ("2026.5.12-rc.1", ">=2026.5.12", Late, Unknown),
        ("26.5.12", ">=2026.5.12", Late, Unknown),
        // Invalid floors.
        ("2026.5.12", "2026.5.12", Late, Invalid),
        ("2026.5.12", ">2026.5.12", Late, Invalid),
        ("2026.5.12", "^2026.5.12", Late, Invalid),
        ("2026.5.12", ">=v2026.5.12", Late, Invalid),
        ("2026.5.12", ">=", Late, Invalid),
        ("2026.5.12", "", Newest, Invalid),
        ("2026.5.12", ">=2026.x.1", Late, Invalid),
        ("2026.5.12", ">= 2026.5.12", Late, Ok),
    ];
    assert!(table.len() >= 40);
    for (host, floor, profile, want) in table {
        let got = check_floor(Some(host), floor, *profile);
        assert_eq!(
            kind(&got),
            *want,
            "host {host:?} floor {floor:?} {profile:?}: {got:?}"
        );
    }
    assert_eq!(
        kind(&check_floor(None, ">=2026.5.12", HostProfile::Late)),
        Want::Unknown
    );
}

#[test]
fn incompatible_names_found_and_needed() {
    match check_floor(Some("v2026.04.15"), ">=2026.5.12", HostProfile::Late) {
        Compatibility::Incompatible { found, needed } => {
            assert_eq!(found, "2026.4.15");
            assert_eq!(needed, ">=2026.5.12");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn runtime_guard_table() {
    let cases: &[(Option<&str>, &str)] = &[
        (Some("2026.3.22"), "pass"),
        (Some("2026.3.22-beta.1"), "pass"),
        (Some("2026.9.6"), "pass"),
        (Some("2026.03.22"), "pass"),
        (Some("2026.3.21"), "too-old"),
        (Some("2026.1.5"), "too-old"),
        (Some(""), "skipped"),
        (None, "skipped"),
        (Some("unknown"), "skipped"),
        (Some("UNKNOWN"), "skipped"),
        (Some("dev-build"), "unparseable"),
    ];
    for (host, want) in cases {
        let got = match weixin_runtime_guard(*host) {
            GuardOutcome::Pass => "pass",
            GuardOutcome::TooOld(msg) => {
                assert!(msg.contains(">=2026.3.22"), "{msg}");
                assert!(
                    msg.contains(
                        &HostVersion::parse_lenient(host.unwrap())
                            .unwrap()
                            .to_string()
                    ),
                    "{msg}"
                );
                assert!(
                    msg.contains("upgrade OpenClaw") && msg.contains("@legacy"),
                    "both cures: {msg}"
                );
                "too-old"
            }
            GuardOutcome::Skipped(w) => {
                assert!(w.contains("skipping"), "{w}");
                "skipped"
            }
            GuardOutcome::Unparseable(m) => {
                assert!(m.contains("dev-build"), "{m}");
                "unparseable"
            }
        };
        assert_eq!(got, *want, "{host:?}");
    }
}

#[test]
fn plugin_lines() {
    let cases = [
        ("2026.3.22", Some(("latest", 2))),
        ("2026.9.6", Some(("latest", 2))),
        ("2026.3.21", Some(("legacy", 1))),
        ("2026.1.0", Some(("legacy", 1))),
        ("2026.2.28-beta.1", Some(("legacy", 1))),
        ("2025.12.31", None),
        ("garbage", None),
    ];
    for (host, want) in cases {
        let got = line_for_host(host).map(|l| (l.tag, l.major));
        assert_eq!(got, want, "{host}");
    }
}

#[test]
fn parse_errors_say_what_is_wrong() {
    let e = HostVersion::parse_lenient("2026.13.1").unwrap_err();
    assert!(e.to_string().contains("month 13"), "{e}");
    let e = HostVersion::parse_strict("2026.04.15").unwrap_err();
    assert!(e.to_string().contains("zero-padded"), "{e}");
    let e = HostVersion::parse_lenient("2026.5.12-rc.1").unwrap_err();
    assert!(e.to_string().contains("-rc.1"), "{e}");
    assert!(HostVersion::parse_lenient("2026.5.12-beta.01").is_err());
    assert!(HostVersion::parse_lenient("2026.5.12+").is_err());
    let v = HostVersion::parse_lenient("2026.5.12-alpha.2").unwrap();
    assert_eq!(v.suffix, Some(Suffix::Pre(PreKind::Alpha, 2)));
    assert!(v.is_prerelease());
}

fn version() -> impl Strategy<Value = HostVersion> {
    let suffix = prop_oneof![
        Just(None),
        (0u64..100).prop_map(|n| Some(Suffix::Pre(PreKind::Beta, n))),
        (0u64..100).prop_map(|n| Some(Suffix::Pre(PreKind::Alpha, n))),
        (0u64..100).prop_map(|n| Some(Suffix::Correction(n))),
    ];
    let build = prop_oneof![
        Just(None),
        "[a-z0-9]{1,6}(\\.[a-z0-9]{1,6}){0,2}".prop_map(Some)
    ];
    (2000u64..2100, 1u64..=12, 0u64..100, suffix, build).prop_map(
        |(year, month, patch, suffix, build)| HostVersion {
            year,
            month,
            patch,
            suffix,
            build,
            zero_padded: false,
        },
    )
}

proptest! {
    #[test]
    fn parse_of_format_is_identity(v in version()) {
        let text = v.to_string();
        prop_assert_eq!(HostVersion::parse_strict(&text).unwrap(), v.clone());
        prop_assert_eq!(HostVersion::parse_lenient(&format!("v{text}")).unwrap(), v);
    }

    #[test]
    fn zero_padding_parses_leniently_to_the_same_triple(v in version()) {
        let padded = format!("{}.{:02}.{:02}", v.year, v.month, v.patch);
        let parsed = HostVersion::parse_lenient(&padded).unwrap();
        prop_assert_eq!(parsed.triple(), v.triple());
        prop_assert_eq!(parsed.zero_padded, v.month < 10 || v.patch < 10);
    }

    #[test]
    fn garbage_never_panics(s in "\\PC{0,24}") {
        let _ = HostVersion::parse_lenient(&s);
        let _ = check_floor(Some(&s), &s, HostProfile::Newest);
        let _ = weixin_runtime_guard(Some(&s));
    }
}
