//! The OpenAI backend against a real OpenAI-compatible server: llama-cpp-python 0.3.36's
//! `llama_cpp.server` serving SmolLM2 on 127.0.0.1 (a free port). Needs a Python with
//! `llama-cpp-python[server]`, found as $SIGNSCOPE_LLM_PYTHON or python3; without one the
//! test skips (fails under CI).

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use signscope_llm::{
    ChatBackend, DialogueTurn, GenerationConfig, GgufChatModel, GlossHypothesis, LlmError,
    OpenAiChat, OpenAiConfig, PromptOptions, scope_prompt,
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

fn python_with_server() -> Option<String> {
    let python = std::env::var("SIGNSCOPE_LLM_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import llama_cpp.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let message = format!(
        "{python} cannot import llama_cpp.server — pip install \"llama-cpp-python[server]==0.3.36\" \
         and set SIGNSCOPE_LLM_PYTHON"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("SKIP: {message}");
    None
}

fn start(python: &str, model: &std::path::Path) -> Server {
    let port = free_port();
    let child = Command::new(python)
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--n_threads",
            "2",
            "--n_ctx",
            "2048",
            "--chat_format",
            "chatml",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if ureq::get(&format!("{}/v1/models", server.url))
            .call()
            .is_ok()
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("llama_cpp.server did not come up on {}", server.url);
}

#[test]
fn openai_backend_against_llama_cpp_server() {
    let Some(model_path) = common::smollm2() else {
        return;
    };
    let Some(python) = python_with_server() else {
        return;
    };
    let server = start(&python, &model_path);

    let messages = scope_prompt(
        &[
            GlossHypothesis::parse("TOMORROW RAIN NORTH", Some(-0.3)),
            GlossHypothesis::parse("TOMORROW RAIN", Some(-1.2)),
        ],
        &[DialogueTurn::parse(
            "What will the weather be like tomorrow?",
        )],
        &[],
        &PromptOptions {
            language: Some("English".into()),
            ..PromptOptions::default()
        },
    );
    let config = GenerationConfig {
        max_new_tokens: 24,
        ..GenerationConfig::default()
    };
    let mut remote_config = OpenAiConfig::new(server.url.clone(), "smollm2");
    // llama-cpp-python applies repeat_penalty 1.1 by default, even when greedy.
    remote_config
        .extra_body
        .insert("repeat_penalty".into(), serde_json::json!(1.0));
    let mut remote = OpenAiChat::new(remote_config).unwrap();
    let reply = remote.chat(&messages, &config).unwrap();
    // Same weights, same ChatML prompt, greedy on both sides: llama.cpp's reply is what the
    // local model produces (their greedy tokens agree, see tests/reference.rs).
    let mut local = GgufChatModel::load(&model_path).unwrap();
    assert_eq!(reply, local.chat(&messages, &config).unwrap());

    // A wrong path: the error names the URL and the status.
    let mut wrong =
        OpenAiChat::new(OpenAiConfig::new(format!("{}/nowhere", server.url), "m")).unwrap();
    match wrong.chat(&messages, &config) {
        Err(LlmError::HttpStatus { url, status, .. }) => {
            assert_eq!(status, 404);
            assert!(url.ends_with("/nowhere/chat/completions"), "{url}");
        }
        other => panic!("expected HTTP 404, got {other:?}"),
    }

    // Nobody listening: a clear error naming the URL, after the configured retries.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut config_dead = OpenAiConfig::new(dead.clone(), "m");
    config_dead.max_retries = 1;
    config_dead.initial_backoff = Duration::from_millis(10);
    config_dead.timeout = Duration::from_secs(5);
    let err = OpenAiChat::new(config_dead)
        .unwrap()
        .chat(&messages, &config)
        .unwrap_err();
    assert!(
        matches!(&err, LlmError::Unreachable { url, .. } if url.starts_with(&dead)),
        "{err}"
    );
}
