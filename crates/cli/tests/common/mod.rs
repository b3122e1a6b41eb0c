//! Running the `signscope` binary from the repository root, shared by the binary's test files.
// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `signscope ARGS` run in the repository root (so that models/… and ../shared resolve).
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signscope"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// [`run`], which must succeed.
pub fn run_ok(args: &[&str]) -> Output {
    let output = run(args);
    assert!(
        output.status.success(),
        "signscope {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The error output of [`run`], which must fail.
pub fn refused(args: &[&str]) -> String {
    let output = run(args);
    assert!(!output.status.success(), "signscope {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
