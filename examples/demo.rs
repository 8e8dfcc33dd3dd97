//! Several worker processes share one named semaphore of value N; the demo
//! shows on the terminal that never more than N are inside at once.
//!
//! ```text
//! cargo run --example demo            # 6 workers, 3 slots
//! cargo run --example demo -- 10 4    # 10 workers, 4 slots
//! ```
//!
//! A second semaphore counts the workers inside: each worker releases a token
//! into it on entering and takes it back on leaving, so its value is the
//! current occupancy, visible to every process. Any glibc program could watch
//! it too: `sem_open("/nsem-demo-...-inside")` and `sem_getvalue`.

use std::process::{Command, ExitCode};
use std::time::Duration;

use named_semaphores::{Existence, NamedSemaphore};

const ROUNDS: u32 = 4;

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        return worker(&args[2], &args[3], args[4].parse()?, args[5].parse()?);
    }
    let workers: u32 = args.get(1).map_or(Ok(6), |s| s.parse())?;
    let slots: u32 = args.get(2).map_or(Ok(3), |s| s.parse())?;
    if workers == 0 || slots == 0 || slots > 64 {
        return Err("usage: demo [WORKERS] [SLOTS 1..=64]".into());
    }

    // Unique names; this process created both, so they are unlinked when
    // `limit` and `inside` are dropped at the end of main.
    let base = format!("nsem-demo-{}", std::process::id());
    let create = |suffix: &str, value| {
        NamedSemaphore::options()
            .existence(Existence::CreateNew)
            .initial_value(value)
            .open(format!("{base}-{suffix}"))
    };
    let limit = create("slots", slots)?;
    let inside = create("inside", 0)?;
    println!(
        "{workers} worker processes share {} (value {slots}); occupancy counter {}",
        limit.name(),
        inside.name()
    );

    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for id in 0..workers {
        children.push(
            Command::new(&exe)
                .args(["worker", limit.name(), inside.name()])
                .arg(id.to_string())
                .arg(slots.to_string())
                .spawn()?,
        );
    }
    let mut peak = 0;
    let mut failed = false;
    for mut child in children {
        match child.wait()?.code() {
            Some(code) if code < 100 => peak = peak.max(code as u32),
            other => {
                eprintln!("a worker failed: {other:?}");
                failed = true;
            }
        }
    }
    println!(
        "all workers done: at most {peak} of {slots} inside at once; value now {} (back to {slots})",
        limit.value()
    );
    if failed || peak > slots || limit.value() != slots {
        eprintln!("limit violated or tokens lost");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// One worker: enters the limited section `ROUNDS` times and reports the
/// highest occupancy it saw through its exit code.
fn worker(
    limit: &str,
    inside: &str,
    id: u32,
    slots: u32,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let limit = NamedSemaphore::open(limit)?;
    let inside = NamedSemaphore::open(inside)?;
    let mut peak = 0;
    for round in 1..=ROUNDS {
        let permit = limit.acquire()?; // blocks while all slots are taken
        inside.release()?;
        let now = inside.value();
        peak = peak.max(now);
        println!(
            "worker {id:>2} in   [{}] {now}/{slots} inside  (round {round})",
            bar(now, slots)
        );
        std::thread::sleep(Duration::from_millis(40 + u64::from(id * 37 % 60)));
        // Leave: take our token back from the counter, then free the slot.
        match inside.try_acquire()? {
            Some(taken) => taken.forget(),
            None => return Err("occupancy counter lost a token".into()),
        }
        drop(permit);
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(ExitCode::from(peak.min(99) as u8))
}

fn bar(n: u32, of: u32) -> String {
    (0..of).map(|i| if i < n { '#' } else { '.' }).collect()
}
