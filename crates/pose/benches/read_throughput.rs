//! `.pose` read throughput on real files (the 600 fingerspelling letters + ../shared/data/poses):
//! the bare `std::fs::read` of every file (no decoding: the floor for reading files),
//! whole files through `read_pose` (reads arrays straight into their buffers), through
//! `std::fs::read` + `Pose::from_bytes`, and from memory through
//! `Pose::from_bytes`, several repetitions, median MB/s. The zero-copy [`PoseView`] is
//! measured doing what pose-format's `Pose.read` does beyond parsing the header (it makes
//! the arrays views of the bytes and builds the missing-point mask from the confidences):
//! open, then count the zero confidences per point — with a buffer per file (`open`) and
//! with one buffer reused across files (`read_into`); and, to show the cost of touching
//! every byte, `read_into` and count non-finite values over the whole body.
//!
//! cargo bench -p signscope-pose --bench read_throughput [-- REPS]
//! (crates/pose/benches/compare_pose_read.sh runs this and pose-format's Python reader.)

use std::path::{Path, PathBuf};
use std::time::Instant;

use signscope_pose::{Pose, PoseView, read_pose};

fn pose_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            pose_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "pose") {
            out.push(path);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let reps: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let assets = std::env::var_os("SIGNSCOPE_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../.assets"));
    let shared = std::env::var_os("SIGNSCOPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../../shared"));
    let mut files = Vec::new();
    pose_files(
        &assets.join("spoken-to-signed/spoken_to_signed/assets/fingerspelling_lexicon"),
        &mut files,
    );
    pose_files(&shared.join("data/poses"), &mut files);
    files.sort();
    if files.is_empty() {
        eprintln!("no .pose files found (run scripts/fetch-assets.sh)");
        std::process::exit(1);
    }
    let buffers: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let total_bytes: usize = buffers.iter().map(Vec::len).sum();
    let mb = total_bytes as f64 / 1e6;
    println!("files={} total_mb={mb:.3} reps={reps}", files.len());

    let mut file_bytes_only = Vec::new();
    let mut from_file = Vec::new();
    let mut read_then_decode = Vec::new();
    let mut from_memory = Vec::new();
    let mut view_file = Vec::new();
    let mut view_reused = Vec::new();
    let mut view_file_all_bytes = Vec::new();
    let mut view_memory = Vec::new();
    let mut checksum = 0f64;
    for _ in 0..reps {
        // The floor for reading from files: the OS copying each file out of the page
        // cache, with no decoding at all.
        let start = Instant::now();
        for f in &files {
            checksum += std::fs::read(f).unwrap().len() as f64;
        }
        file_bytes_only.push(mb / start.elapsed().as_secs_f64());

        let start = Instant::now();
        for f in &files {
            let pose = read_pose(f).unwrap();
            checksum += pose.body.frames() as f64;
        }
        from_file.push(mb / start.elapsed().as_secs_f64());

        let start = Instant::now();
        for f in &files {
            let pose = Pose::from_bytes(&std::fs::read(f).unwrap()).unwrap();
            checksum += pose.body.frames() as f64;
        }
        read_then_decode.push(mb / start.elapsed().as_secs_f64());

        let start = Instant::now();
        for b in &buffers {
            let pose = Pose::from_bytes(b).unwrap();
            checksum += pose.body.frames() as f64;
        }
        from_memory.push(mb / start.elapsed().as_secs_f64());

        let missing = |view: &PoseView| -> f64 {
            let per_point = view.confidence().zeros_per_position(view.points());
            per_point.iter().sum::<usize>() as f64
        };
        let start = Instant::now();
        for f in &files {
            checksum += missing(&PoseView::open(f).unwrap());
        }
        view_file.push(mb / start.elapsed().as_secs_f64());

        let mut buffer = Vec::new();
        let start = Instant::now();
        for f in &files {
            checksum += missing(&PoseView::read_into(f, &mut buffer).unwrap());
        }
        view_reused.push(mb / start.elapsed().as_secs_f64());

        let start = Instant::now();
        for f in &files {
            let view = PoseView::read_into(f, &mut buffer).unwrap();
            checksum +=
                (view.data().count_non_finite() + view.confidence().count_non_finite()) as f64;
        }
        view_file_all_bytes.push(mb / start.elapsed().as_secs_f64());

        let start = Instant::now();
        for b in &buffers {
            checksum += missing(&PoseView::from_bytes(b).unwrap());
        }
        view_memory.push(mb / start.elapsed().as_secs_f64());
    }
    println!(
        "bound: std::fs::read only median_mb_s={:.1}",
        median(file_bytes_only)
    );
    println!(
        "rust read_pose(path)      median_mb_s={:.1}",
        median(from_file)
    );
    println!(
        "rust fs::read+from_bytes  median_mb_s={:.1}",
        median(read_then_decode)
    );
    println!(
        "rust Pose::from_bytes     median_mb_s={:.1}",
        median(from_memory)
    );
    println!(
        "rust PoseView::open+missing     median_mb_s={:.1}",
        median(view_file)
    );
    println!(
        "rust PoseView::read_into+missing median_mb_s={:.1}",
        median(view_reused)
    );
    println!(
        "rust PoseView::read_into+all bytes median_mb_s={:.1}",
        median(view_file_all_bytes)
    );
    println!(
        "rust PoseView::from_bytes+missing median_mb_s={:.1}",
        median(view_memory)
    );
    eprintln!("(checksum {checksum})");
}
