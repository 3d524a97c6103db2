//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Output;

/// The built `tcpladder` binary.
pub fn tcpladder(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tcpladder"))
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("running tcpladder: {err}"))
}

/// The built `tcpladder` binary with these environment variables.
pub fn tcpladder_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tcpladder"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|err| panic!("running tcpladder: {err}"))
}

/// A file in `sample-captures/`.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures").join(name)
}

/// `tcpladder conns --json` of a sample, parsed.
pub fn conns(name: &str) -> Vec<serde_json::Value> {
    let path = sample(name);
    let output = tcpladder(&["conns", "--json", path.to_str().unwrap_or_default()]);
    assert!(output.status.success(), "conns {name}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("conns {name}: bad JSON: {err}"))
}

/// `tcpladder packets --json` of a sample, parsed.
pub fn packets(name: &str) -> Vec<serde_json::Value> {
    let path = sample(name);
    let output = tcpladder(&["packets", "--json", path.to_str().unwrap_or_default()]);
    assert!(output.status.success(), "packets {name}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("packets {name}: bad JSON line: {err}")))
        .collect()
}

/// Lessons use fixed loopback ports: tests that run them take turns.
pub static LESSON_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the lesson ports for the rest of the calling test (a failed test does not poison it).
pub fn lesson_ports() -> std::sync::MutexGuard<'static, ()> {
    LESSON_PORTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes `bytes` to `name` in this test run's scratch directory; returns its path.
pub fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpladder-test-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
    path
}

/// True when running as root with every one of `tools` on the PATH. Otherwise it says what is
/// missing, and the test skips, or fails when TCPLADDER_REQUIRE_LIVE asks for it (as in CI).
pub fn root_with_tools(tools: &[&str]) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|status| status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0")));
    let found = tools.iter().all(|tool| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !root || !found {
        let needs = format!("needs root and {}", tools.join(", "));
        assert!(std::env::var_os("TCPLADDER_REQUIRE_LIVE").is_none(), "{needs}");
        eprintln!("{needs}: skipped");
    }
    root && found
}
