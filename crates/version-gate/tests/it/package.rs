//! Package checks on plugin-directory fixtures: the real 2.x layout, a
//! TypeScript-only package, a missing runtime entry, an escaping path and a
//! bad manifest.

use std::path::PathBuf;

use version_gate::package::{
    check_package, ts_candidates, CheckContext, DirFiles, Finding, Severity,
};
use version_gate::{HostProfile, WEIXIN_RUNTIME_FLOOR};

fn fixture(name: &str) -> DirFiles {
    DirFiles(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/plugins")
            .join(name),
    )
}

fn check(name: &str, context: CheckContext, profile: HostProfile) -> Vec<Finding> {
    check_package(&fixture(name), context, profile, Some(WEIXIN_RUNTIME_FLOOR))
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

#[test]
fn the_real_2x_layout_loads_and_reports_the_floor_inconsistency() {
    let findings = check(
        "weixin-2x",
        CheckContext::Load { managed: true },
        HostProfile::Late,
    );
    assert_eq!(codes(&findings), ["min-host-disagrees"], "{findings:#?}");
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(
        findings[0].message.contains(">=2026.5.12") && findings[0].message.contains("2026.3.22")
    );
    // Without a runtime floor to compare with, nothing at all.
    assert!(check_package(
        &fixture("weixin-2x"),
        CheckContext::Install,
        HostProfile::Newest,
        None
    )
    .is_empty());
}

#[test]
fn a_typescript_only_package_needs_compiled_output() {
    let findings = check("ts-only", CheckContext::Install, HostProfile::Late);
    assert_eq!(
        codes(&findings),
        ["typescript-entry-not-built"],
        "{findings:#?}"
    );
    let msg = &findings[0].message;
    assert!(
        msg.starts_with(
            "package install requires compiled runtime output for TypeScript entry ./src/index.ts: \
             expected ./dist/index.js, ./dist/index.mjs, ./dist/index.cjs, ./src/index.js, ./src/index.mjs, ./src/index.cjs. \
             This is a plugin packaging issue, not a local config problem;"
        ),
        "{msg}"
    );
    assert_eq!(findings[0].severity, Severity::Error);
    let load = check(
        "ts-only",
        CheckContext::Load { managed: true },
        HostProfile::Late,
    );
    assert!(
        load[0]
            .message
            .starts_with("installed plugin package requires"),
        "{load:?}"
    );
    let global = check(
        "ts-only",
        CheckContext::Load { managed: false },
        HostProfile::Late,
    );
    assert_eq!(
        global[0].severity,
        Severity::Warning,
        "a warning for a globally installed plugin"
    );
}

#[test]
fn a_built_candidate_satisfies_the_typescript_check() {
    let dir = tempfile_copy("ts-only");
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(dir.join("dist/index.mjs"), "export default {};").unwrap();
    let findings = check_package(
        &DirFiles(dir.clone()),
        CheckContext::Install,
        HostProfile::Late,
        None,
    );
    assert!(findings.is_empty(), "{findings:#?}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_copy(name: &str) -> PathBuf {
    let src = fixture(name).0;
    let dst = std::env::temp_dir().join(format!("version-gate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    copy_dir(&src, &dst);
    dst
}

fn copy_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

#[test]
fn candidates_late_and_newest() {
    assert_eq!(
        ts_candidates("./index.ts", HostProfile::Late),
        [
            "./dist/index.js",
            "./dist/index.mjs",
            "./dist/index.cjs",
            "./index.js",
            "./index.mjs",
            "./index.cjs"
        ]
    );
    assert_eq!(
        ts_candidates("./src/a/b.mts", HostProfile::Newest),
        [
            "./dist/a/b.mjs",
            "./dist/a/b.js",
            "./dist/a/b.cjs",
            "./dist/src/a/b.mjs",
            "./dist/src/a/b.js",
            "./dist/src/a/b.cjs",
            "./src/a/b.mjs",
            "./src/a/b.js",
            "./src/a/b.cjs"
        ]
    );
    assert_eq!(
        ts_candidates("./x.cts", HostProfile::Newest)[0],
        "./dist/x.cjs"
    );
}

#[test]
fn a_declared_runtime_entry_that_is_missing() {
    let findings = check("missing-runtime", CheckContext::Install, HostProfile::Late);
    assert_eq!(codes(&findings), ["runtime-entry-missing"], "{findings:#?}");
    assert_eq!(
        findings[0].message,
        "runtime extension entry not found: ./dist/index.js"
    );
}

#[test]
fn entry_paths_must_stay_inside_the_package() {
    let findings = check("escaping-path", CheckContext::Install, HostProfile::Late);
    assert_eq!(
        codes(&findings),
        ["entry-escapes", "entry-escapes", "runtime-not-paired"],
        "{findings:#?}"
    );
    assert_eq!(
        findings[0].message,
        "entry path escapes the package: ../outside/index.js"
    );
    for (path, inside) in [
        ("./dist/index.js", true),
        ("dist/../index.js", true),
        ("./a/../../b.js", false),
        ("/etc/passwd", false),
        ("C:/x.js", false),
    ] {
        assert_eq!(version_gate::package::stays_inside(path), inside, "{path}");
    }
}

#[test]
fn a_bad_manifest_and_an_invalid_floor() {
    let findings = check("bad-manifest", CheckContext::Install, HostProfile::Late);
    assert_eq!(
        codes(&findings),
        [
            "manifest-id-missing",
            "manifest-config-schema-missing",
            "channel-config-missing",
            "min-host-invalid"
        ],
        "{findings:#?}"
    );
    assert_eq!(
        findings[2].message,
        "channel openclaw-weixin has no channelConfigs.openclaw-weixin.schema"
    );
    assert!(
        findings[3].message.contains(">=x.y.z"),
        "{}",
        findings[3].message
    );
    let missing = check_package(
        &DirFiles(PathBuf::from("/nonexistent/plugin")),
        CheckContext::Install,
        HostProfile::Late,
        None,
    );
    assert_eq!(codes(&missing), ["manifest-missing", "package-missing"]);
}
