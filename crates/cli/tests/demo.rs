//! The README's first command runs `signscope demo`; this keeps it working.

use std::process::Command;

#[test]
fn demo_writes_a_coco_wholebody_pose_and_gifs() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_signscope"))
        .args(["demo", "--out"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success(), "signscope demo failed: {status}");

    let coco = signscope_pose::read_pose(out.path().join("coco_wholebody.pose")).unwrap();
    assert_eq!(coco.header.total_points(), 133);
    assert_eq!(coco.body.frames(), 97);
    for gif in ["skeleton.gif", "scope_77_points.gif"] {
        let bytes = std::fs::read(out.path().join(gif)).unwrap();
        assert!(bytes.starts_with(b"GIF89a"), "{gif} is not a GIF");
    }
}

#[test]
fn bad_input_is_a_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.pose");
    std::fs::write(&path, b"not a pose file").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_signscope"))
        .args(["pose", "info"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.pose"),
        "error does not name the file: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
}
