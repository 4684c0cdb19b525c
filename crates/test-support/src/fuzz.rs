//! The harness of the parser fuzz benches (`*-parser-fuzz` examples of cost-etl and
//! connect-health): a reproducible xorshift generator, mutations of valid documents that reach
//! deep code (bytes flipped, inserted, removed, cut; JSON tokens; edge numbers), and a runner that
//! times only the parser calls, catches panics and prints a `parser | cases | seconds | cases/s`
//! table. For test inputs only.

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};


/// xorshift64*: small, fast and reproducible from its seed; for test inputs only.
pub struct Rng(u64);

impl Rng {
    /// One sequence per seed and parser name (FNV-1a of the name), so adding a parser does not
    /// change the inputs of the others.
    pub fn new(seed: u64, stream: &str) -> Rng {
        let mut state = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in stream.bytes() {
            state ^= u64::from(b);
            state = state.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(if state == 0 { 0x9e37_79b9_7f4a_7c15 } else { state })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn percent(&mut self, p: u64) -> bool {
        self.next_u64() % 100 < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 32) as u8
    }
}

/// Numbers on the edges parsers overflow or round at.
pub const EDGE_NUMBERS: &[&str] = &[
    "0", "-0", "1", "-1", "59", "60", "61", "255", "256", "65535", "65536", "4294967295", "4294967296", "-4294967296",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "307445734561825860", "307445734561825861",
    "99999999999999999999999999", "1e309", "-1e309", "1e-400", "1.5", "0.0000005", "9223372036854.775807",
    "9223372036854.775808", "8210266876799", "8210266876800", "-8334601315200", "999999999999", "1000000000000",
];

/// Tokens that change what a parser sees: JSON structure, escapes, invalid UTF-8, trace words.
pub const TOKENS: &[&[u8]] = &[
    b"\"", b"{", b"}", b"[", b"]", b",", b":", b"\\", b"\\u0000", b"\\ud800", b"\\\"", b"null", b"true", b"[]", b"{}",
    b"-", b".", b"e", b"\n", b"\r\n", b"\t", b" ", b"\xff", b"\xc3", b"\xe2\x80\xae", b"Caused by: ", b"\tat ", b"...",
];

pub fn edge_number(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 | 1 => rng.pick(EDGE_NUMBERS).to_string(),
        2 => rng.next_u64().to_string(),
        _ => (rng.next_u64() as i64).to_string(),
    }
}

/// Replace the number at (or after) a random place with an edge number.
pub fn splice_number(rng: &mut Rng, out: &mut Vec<u8>) {
    let start = rng.below(out.len() + 1);
    let found = out[start..].iter().position(u8::is_ascii_digit).map(|i| start + i).or_else(|| out.iter().position(u8::is_ascii_digit));
    let number = edge_number(rng);
    match found {
        Some(mut begin) => {
            while begin > 0 && (out[begin - 1].is_ascii_digit() || out[begin - 1] == b'.' || out[begin - 1] == b'-') {
                begin -= 1;
            }
            let mut end = begin;
            while end < out.len() && (out[end].is_ascii_digit() || out[end] == b'.' || (end == begin && out[end] == b'-')) {
                end += 1;
            }
            out.splice(begin..end, number.bytes());
        }
        None => {
            let at = rng.below(out.len() + 1);
            out.splice(at..at, number.bytes());
        }
    }
}

/// One to four edits of `sample`.
pub fn mutate(rng: &mut Rng, sample: &[u8]) -> Vec<u8> {
    let mut out = sample.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(8) {
            0 if at < len => out[at] ^= 1 << rng.below(8),
            1 => out.insert(at, rng.byte()),
            2 => {
                let token = *rng.pick(TOKENS);
                out.splice(at..at, token.iter().copied());
            }
            3 if at < len => {
                let end = (at + 1 + rng.below(8)).min(len);
                out.drain(at..end);
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let chunk = out[from..(from + 1 + rng.below(32)).min(len)].to_vec();
                let to = rng.below(len + 1);
                out.splice(to..to, chunk);
            }
            6 if at < len && rng.percent(50) => out.truncate(at),
            _ => splice_number(rng, &mut out),
        }
    }
    out
}

/// An input shaped like `samples`: mostly a mutated sample, some with edge numbers only, some
/// valid as they are, some noise.
pub fn document(rng: &mut Rng, samples: &[&[u8]]) -> Vec<u8> {
    let sample = *rng.pick(samples);
    match rng.below(20) {
        0 => sample.to_vec(),
        1 => (0..rng.below(200)).map(|_| rng.byte()).collect(),
        2..=5 => {
            let mut out = sample.to_vec();
            for _ in 0..1 + rng.below(3) {
                splice_number(rng, &mut out);
            }
            out
        }
        _ => mutate(rng, sample),
    }
}

/// [`document`] as text, as the parsers that take `&str` receive it.
pub fn text_document(rng: &mut Rng, samples: &[&str]) -> String {
    let samples: Vec<&[u8]> = samples.iter().map(|s| s.as_bytes()).collect();
    String::from_utf8_lossy(&document(rng, &samples)).into_owned()
}

pub fn show_bytes(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(bytes).chars().take(600).collect();
    format!("{text:?}")
}

pub fn show_debug<T: Debug>(value: &T) -> String {
    // Debug output escapes control characters already.
    format!("{value:?}").chars().take(600).collect()
}

pub static PANICS_SHOWN: AtomicUsize = AtomicUsize::new(0);

/// Print the first few panics (message and place) and stay quiet after.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if PANICS_SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("panic: {info}");
        }
    }));
}

pub struct Options {
    pub seed: u64,
    pub cases: u64,
    pub filter: Option<String>,
}

impl Options {
    pub fn from_args() -> Options {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let number = |i: usize, default: u64| match args.get(i) {
            None => default,
            Some(a) => a.replace('_', "").parse().unwrap_or_else(|_| {
                eprintln!("usage: parser-fuzz [SEED] [CASES] [FILTER]  ({a:?} is not a whole number)");
                std::process::exit(2)
            }),
        };
        Options { seed: number(0, 1), cases: number(1, 1_000_000), filter: args.get(2).cloned() }
    }
}

pub struct Row {
    pub name: &'static str,
    pub cases: u64,
    pub seconds: f64,
    pub panics: u64,
}

pub struct Fuzz {
    pub options: Options,
    pub rows: Vec<Row>,
}

/// Inputs generated ahead of each timed batch, so that only the parser calls are timed.
pub const BATCH: u64 = 1000;

impl Fuzz {
    pub fn run<I>(&mut self, name: &'static str, mut generate: impl FnMut(&mut Rng) -> I, parse: impl Fn(&I) -> usize, show: impl Fn(&I) -> String) {
        if self.options.filter.as_deref().is_some_and(|f| !name.contains(f)) {
            return;
        }
        let mut rng = Rng::new(self.options.seed, name);
        let (mut spent, mut panics, mut sink, mut done) = (Duration::ZERO, 0u64, 0usize, 0u64);
        while done < self.options.cases {
            let batch: Vec<I> = (0..BATCH.min(self.options.cases - done)).map(|_| generate(&mut rng)).collect();
            let started = Instant::now();
            for (i, input) in batch.iter().enumerate() {
                match catch_unwind(AssertUnwindSafe(|| parse(input))) {
                    Ok(n) => sink = sink.wrapping_add(n),
                    Err(_) => {
                        panics += 1;
                        if panics <= 3 {
                            eprintln!("{name}: case {} of seed {} panicked on {}", done + i as u64, self.options.seed, show(input));
                        }
                    }
                }
            }
            spent += started.elapsed();
            done += batch.len() as u64;
        }
        std::hint::black_box(sink);
        eprintln!("{name}: {done} cases in {:.2} s, {panics} panicked", spent.as_secs_f64());
        self.rows.push(Row { name, cases: done, seconds: spent.as_secs_f64(), panics });
    }

    /// Print the table; the number of calls that panicked.
    pub fn finish(self) -> u64 {
        let thousands = |n: u64| {
            let digits = n.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            out
        };
        println!("{:<32} | {:>11} | {:>8} | {:>11}", "parser", "cases", "seconds", "cases/s");
        println!("{:-<32}-+-{:->11}-+-{:->8}-+-{:->11}", "", "", "", "");
        for row in &self.rows {
            let rate = if row.seconds > 0.0 { (row.cases as f64 / row.seconds) as u64 } else { 0 };
            println!("{:<32} | {:>11} | {:>8.3} | {:>11}", row.name, thousands(row.cases), row.seconds, thousands(rate));
        }
        let panics: u64 = self.rows.iter().map(|r| r.panics).sum();
        println!("panics: {panics} (seed {}, {} cases per parser)", self.options.seed, thousands(self.options.cases));
        for row in self.rows.iter().filter(|r| r.panics > 0) {
            println!("  {}: {} panicked", row.name, row.panics);
        }
        panics
    }
}
