//! Latency samples and how they are printed.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `--duration`: the longest a variant runs; its clients stop at whichever comes first, the
/// time or their calls.
static DURATION: OnceLock<Duration> = OnceLock::new();

pub fn limit_duration(duration: Duration) {
    let _ = DURATION.set(duration);
}

/// Latencies of one variant.
pub struct Sample {
    pub name: &'static str,
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

impl Sample {
    pub fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
        sorted.get(rank).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }

    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `call` sequentially (latency, not saturation, is the question here).
pub async fn measure<F, Fut>(
    name: &'static str,
    iterations: usize,
    mut call: F,
) -> anyhow::Result<Sample>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for _ in 0..(iterations / 10).max(10) {
        call().await?;
    }
    let mut latencies = Vec::with_capacity(iterations);
    let started = Instant::now();
    for _ in 0..iterations {
        let call_started = Instant::now();
        call().await?;
        latencies.push(call_started.elapsed());
    }
    Ok(Sample {
        name,
        latencies,
        elapsed: started.elapsed(),
    })
}

pub fn print(samples: &[Sample]) {
    println!(
        "{:<58} {:>7} {:>8} {:>8} {:>8} {:>9}",
        "variant", "calls", "p50 ms", "p95 ms", "p99 ms", "calls/s"
    );
    for sample in samples {
        println!(
            "{:<58} {:>7} {:>8.3} {:>8.3} {:>8.3} {:>9.0}",
            sample.name,
            sample.latencies.len(),
            sample.percentile(50.0),
            sample.percentile(95.0),
            sample.percentile(99.0),
            sample.throughput()
        );
    }
}

pub fn delta(label: &str, with: &Sample, without: &Sample) {
    println!(
        "  => {label}: {:+.3} ms at the median, {:+.3} ms at p99",
        with.percentile(50.0) - without.percentile(50.0),
        with.percentile(99.0) - without.percentile(99.0)
    );
}

/// Runs `clients` tasks at once, each making `calls` sequential calls (`call(client, n)`), and
/// keeps every latency; throughput is over the wall-clock time of the whole run.
pub async fn measure_concurrent<F, Fut>(
    name: &'static str,
    clients: usize,
    calls: usize,
    call: F,
) -> anyhow::Result<Sample>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    // On stderr, so a profiler can be started when the variant it is after begins.
    eprintln!("measuring: {name}");
    let started = Instant::now();
    let limit = DURATION.get().copied();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(calls);
                for n in 0..calls {
                    if limit.is_some_and(|limit| started.elapsed() >= limit) {
                        break;
                    }
                    let call_started = Instant::now();
                    call(client, n).await?;
                    latencies.push(call_started.elapsed());
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(clients * calls);
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(Sample {
        name,
        latencies,
        elapsed: started.elapsed(),
    })
}
