//! Speed of the sentence embedder (all-MiniLM-L6-v2 on candle, CPU): the latency one chat
//! question pays, and the throughput of a burst batched by the worker.
//!
//! `cargo bench --bench embedding`. Reads the model from `$REFERRAL_DESK_MODEL_DIR` or
//! `models/all-MiniLM-L6-v2` (installed by `models/fetch`) and skips with a message when it is
//! absent. Besides criterion's figures each case prints its median (p50) over plain runs.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use referral_desk::nlu::embedding::{CandleEmbedder, DEFAULT_MODEL_DIR, Embedder};

/// A typical short question: 12 tokens with `[CLS]` and `[SEP]`.
const QUERY: &str = "how do I request a training budget this year?";

/// Chat questions as employees type them, English and Dutch, 8 to 20 tokens each.
const QUESTIONS: [&str; 64] = [
    "How many vacation days do I have left this year?",
    "Who do I talk to about a promotion?",
    "Can I work from home on Fridays?",
    "How do I request parental leave?",
    "Where can I find the training budget policy?",
    "I want to change teams, who should I contact?",
    "What is the process for an internal job application?",
    "Is there a mentoring programme for new managers?",
    "How do I report a conflict with my manager?",
    "Can the company pay for my master's degree?",
    "When is the next performance review cycle?",
    "Who handles questions about my salary scale?",
    "How can I get feedback on my career development plan?",
    "What courses are available for leadership skills?",
    "I feel burned out, who can help me?",
    "How do I register for the onboarding workshop?",
    "Can I take unpaid leave for three months?",
    "Is there a coach I can speak to confidentially?",
    "How do I update my personal development goals?",
    "Where do I submit my expense claim for a conference?",
    "What are the rules for sabbatical leave?",
    "Who is the HR business partner for engineering?",
    "How do I apply for the talent programme?",
    "Can I reduce my working hours to four days?",
    "What happens to my bonus when I change roles?",
    "How do I give feedback to a colleague anonymously?",
    "Is there a budget for language lessons?",
    "Who approves study leave requests?",
    "How can I become a certified project manager?",
    "I need advice about a difficult conversation with my team.",
    "What is the policy for working abroad temporarily?",
    "How do I find a mentor outside my department?",
    "Hoe vraag ik opleidingsbudget aan?",
    "Wie kan me helpen met Power BI?",
    "Ik wil een cursus Excel volgen, bij wie moet ik zijn?",
    "Hoeveel verlofdagen heb ik nog over dit jaar?",
    "Kan ik een coach krijgen voor mijn loopbaan?",
    "Wie gaat over de interne vacatures?",
    "Ik wil minder uren werken, hoe regel ik dat?",
    "Waar vind ik het beleid over thuiswerken?",
    "Is er een mentorprogramma voor nieuwe leidinggevenden?",
    "Hoe meld ik een conflict met mijn manager?",
    "Wanneer is de volgende beoordelingsronde?",
    "Wie kan me helpen met een moeilijk gesprek in mijn team?",
    "Kan ik een studie volgen naast mijn werk?",
    "Hoe werkt het persoonlijk ontwikkelbudget?",
    "Ik wil een heisessie organiseren met mijn team, wie helpt daarbij?",
    "Waar meld ik me aan voor de introductiedag?",
    "Mag ik mijn vakantiedagen meenemen naar volgend jaar?",
    "Wie is de HR-adviseur voor mijn afdeling?",
    "my laptop won't start after the update",
    "is there a mentoring programme for new managers",
    "who can help me with Power BI?",
    "Can I shadow someone in another department?",
    "Where do I find information about the 360 feedback?",
    "How do I ask for a salary review?",
    "What training is mandatory for new hires?",
    "Who should I contact about workplace stress?",
    "How can I improve my presentation skills?",
    "Is there a programme for women in leadership?",
    "Can I switch from a fixed-term to a permanent contract?",
    "How do I get access to the learning portal?",
    "Who decides on internal promotions?",
    "Where do I report an issue with my contract?",
];

fn model_dir() -> PathBuf {
    std::env::var_os("REFERRAL_DESK_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_DIR))
}

/// Median wall time of `runs` calls, after two warm-up calls.
fn p50(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn embedding(c: &mut Criterion) {
    let dir = model_dir();
    let embedder = match CandleEmbedder::load(&dir) {
        Ok(embedder) => embedder,
        Err(err) => {
            eprintln!("skipping embedding benchmarks: {err}");
            return;
        }
    };

    let query_tokens = embedder.token_ids(QUERY).map(|ids| ids.len()).unwrap_or(0);
    let median = p50(200, || {
        black_box(embedder.embed_batch(&[black_box(QUERY)]).unwrap());
    });
    eprintln!(
        "embed/query ({query_tokens} tokens): p50 {:.2} ms",
        median.as_secs_f64() * 1e3
    );
    c.bench_function("embed/query_12_tokens", |b| {
        b.iter(|| embedder.embed_batch(&[black_box(QUERY)]).unwrap())
    });

    let tokens: usize = QUESTIONS
        .iter()
        .map(|q| embedder.token_ids(q).map(|ids| ids.len()).unwrap_or(0))
        .sum();
    let median = p50(20, || {
        black_box(embedder.embed_batch(black_box(&QUESTIONS)).unwrap());
    });
    eprintln!(
        "embed/batch_64 ({:.1} tokens per question): p50 {:.1} ms = {:.0} sentences/s",
        tokens as f64 / QUESTIONS.len() as f64,
        median.as_secs_f64() * 1e3,
        QUESTIONS.len() as f64 / median.as_secs_f64()
    );
    let mut group = c.benchmark_group("embed");
    group.sample_size(20);
    group.throughput(Throughput::Elements(QUESTIONS.len() as u64));
    group.bench_function("batch_64", |b| {
        b.iter(|| embedder.embed_batch(black_box(&QUESTIONS)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, embedding);
criterion_main!(benches);
