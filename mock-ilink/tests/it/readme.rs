//! The README's shell examples for plugin maintainers work as written: every
//! `sh` block after the first (`cargo run`, which blocks) runs in order under
//! `bash -e` against the built binary, and no example causes a violation.

use std::process::Command;

#[test]
fn readme_curl_examples_work_as_written() {
    let readme = include_str!("../../README.md");
    let blocks: Vec<&str> = readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(blocks.len() >= 8, "found {} sh blocks", blocks.len());
    assert!(blocks[0].contains("cargo run -p mock-ilink"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mock-ilink.out");
    // The examples build and start the binary themselves; here it is already
    // built, so the build line is skipped and the path points at it.
    let script = blocks[1..]
        .join("\n")
        .replace("cargo build -q -p mock-ilink", "true")
        .replace(
            "./target/debug/mock-ilink",
            env!("CARGO_BIN_EXE_mock-ilink"),
        )
        .replace("/tmp/mock-ilink.out", out.to_str().unwrap())
        // Bound the README's wait for the URL line, so a mock that fails to
        // start fails the test instead of hanging it.
        .replace(
            "until grep -q MOCK_ILINK_URL",
            "for _ in $(seq 300); do grep -q MOCK_ILINK_URL",
        )
        .replace("; do sleep 0.1; done", " && break; sleep 0.1; done");
    assert!(
        script.contains("for _ in $(seq 300)"),
        "the README's wait loop changed"
    );
    // Whatever happens, the mock the script started is stopped by its pid.
    let script = format!(
        "set -euo pipefail\ntrap 'kill ${{MOCK_PID:-}} 2>/dev/null || true' EXIT\n{script}\necho\necho \"VIOLATIONS=$(curl -s \"$MOCK/_mock/violations\")\"\n"
    );
    let run = Command::new("timeout")
        .args(["120", "bash", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the README examples failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Each documented answer appeared.
    for expected in [
        "\"status\":\"confirmed\"",
        "\"message\":{",
        "\"msgs\":[{",
        "\"faults\":[",
        "\"token\":\"",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected} in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("VIOLATIONS={\"violations\":[]}"),
        "{stdout}"
    );
}
