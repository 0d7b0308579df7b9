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
        .replace("/tmp/mock-ilink.out", out.to_str().unwrap());
    let script = format!(
        "set -euo pipefail\n{script}\necho\necho \"VIOLATIONS=$(curl -s \"$MOCK/_mock/violations\")\"\nkill $MOCK_PID\nwait $MOCK_PID || true\n"
    );
    let run = Command::new("bash")
        .arg("-c")
        .arg(&script)
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
