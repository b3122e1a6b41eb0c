//! `signscope train --device`: the backend choice is checked before any data is read.

use std::process::Command;

fn train(args: &[&str], env: Option<(&str, &str)>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_signscope"));
    command.args(args).env_remove("SIGNSCOPE_DEVICE");
    if let Some((key, value)) = env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unavailable_or_unknown_device_is_a_clear_error() {
    let config = "no-such-config.toml";
    let (ok, stderr) = train(&["train", "--device", "cuda", "slr", config], None);
    assert!(!ok);
    if cfg!(feature = "cuda") {
        // A CUDA build on a machine with a GPU gets past the check and fails on the config.
        assert!(
            stderr.contains("CUDA") || stderr.contains(config),
            "{stderr}"
        );
    } else {
        assert!(stderr.contains("--features cuda"), "{stderr}");
        assert!(
            !stderr.contains(config),
            "the device is checked first: {stderr}"
        );
    }

    let (ok, stderr) = train(&["train", "slr", "--device", "tpu", config], None);
    assert!(!ok && stderr.contains("auto, cpu or cuda"), "{stderr}");
    let (ok, stderr) = train(&["train", "slr", config], Some(("SIGNSCOPE_DEVICE", "tpu")));
    assert!(!ok && stderr.contains("SIGNSCOPE_DEVICE"), "{stderr}");

    // The CPU is always there: the command goes on to the config and names it.
    let (ok, stderr) = train(&["train", "slr", "--device", "cpu", config], None);
    assert!(!ok && stderr.contains("training on cpu"), "{stderr}");
    assert!(stderr.contains(config), "{stderr}");
}
