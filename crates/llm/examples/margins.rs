//! Greedy decoding with the top-2 logit margin at each step, for comparing against a
//! reference continuation: `cargo run --release -p signscope-llm --example margins -- MODEL "PROMPT" N [upstream]`
//! (`upstream` runs candle's own quantized_gemma3, SiLU gate, for comparison).
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use signscope_llm::tokenizer::tokenizer_from_gguf;

/// One forward step: tokens `[1, seq]` at a position → last logits `[1, vocab]`.
type Forward = Box<dyn FnMut(&Tensor, usize) -> candle_core::Result<Tensor>>;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (path, prompt, n) = (&args[1], &args[2], args[3].parse::<usize>()?);
    let upstream = args.get(4).is_some_and(|a| a == "upstream");
    let mut file = std::fs::File::open(path)?;
    let content = gguf_file::Content::read(&mut file)?;
    let tokenizer = tokenizer_from_gguf(&content)?;
    let ids = tokenizer
        .encode(prompt.as_str(), true)
        .map_err(anyhow::Error::msg)?
        .get_ids()
        .to_vec();
    let device = Device::Cpu;
    let mut forward: Forward = if upstream {
        let mut m = candle_transformers::models::quantized_gemma3::ModelWeights::from_gguf(
            content, &mut file, &device,
        )?;
        Box::new(move |x, p| m.forward(x, p))
    } else {
        let mut m = signscope_llm::gemma3::ModelWeights::from_gguf(content, &mut file, &device)?;
        Box::new(move |x, p| m.forward(x, p))
    };
    // ONEBYONE=1 feeds the prompt one token at a time (checks the multi-token path).
    let mut logits = if std::env::var_os("ONEBYONE").is_some() {
        let mut last = None;
        for (i, &id) in ids.iter().enumerate() {
            last = Some(forward(&Tensor::new(&[id], &device)?.unsqueeze(0)?, i)?);
        }
        last.expect("non-empty prompt")
    } else {
        forward(&Tensor::new(ids.as_slice(), &device)?.unsqueeze(0)?, 0)?
    };
    if let Ok(watch) = std::env::var("WATCH") {
        let v: Vec<f32> = logits.squeeze(0)?.to_vec1()?;
        for id in watch.split(',') {
            let id: usize = id.parse()?;
            println!("logit[{id}] = {:.4}", v[id]);
        }
    }
    let mut out = Vec::new();
    for pos in ids.len()..ids.len() + n {
        let v: Vec<f32> = logits.squeeze(0)?.to_vec1()?;
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        let (a, b) = (order[0], order[1]);
        println!(
            "{a:>7} {:>9.4}   2nd {b:>7} margin {:.4}",
            v[a],
            v[a] - v[b]
        );
        out.push(a as u32);
        logits = forward(&Tensor::new(&[a as u32], &device)?.unsqueeze(0)?, pos)?;
    }
    println!(
        "{:?}",
        tokenizer.decode(&out, false).map_err(anyhow::Error::msg)?
    );
    Ok(())
}
