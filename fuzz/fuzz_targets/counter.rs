//! Any sequence of operations on one `RawSemaphore` in plain memory, checked
//! against a plain counter: the value, the overflow refusals at `VALUE_MAX`,
//! and the waiter count (always back to zero) agree after every step.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use named_semaphores::{ErrorKind, Permit, RawSemaphore, VALUE_MAX};

fuzz_target!(|data: &[u8]| {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    // Start anywhere, near the top often.
    let start = if first & 1 == 0 {
        u32::from(first >> 1)
    } else {
        VALUE_MAX - u32::from(first >> 1)
    };
    let sem = RawSemaphore::new(start).expect("valid initial value");
    let mut model = u64::from(start);
    for chunk in ops.chunks(5) {
        let arg = chunk
            .get(1..5)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
        match chunk[0] % 5 {
            0 | 1 => {
                let n = if chunk[0] % 5 == 0 { arg % 16 } else { arg };
                match sem.release_n(n) {
                    Ok(()) => model += u64::from(n),
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Overflow);
                        assert!(model + u64::from(n) > u64::from(VALUE_MAX));
                    }
                }
            }
            2 => {
                let took = sem.try_acquire().expect("try_acquire");
                let took = took.map(Permit::forget).is_some();
                assert_eq!(took, model > 0);
                model -= u64::from(took);
            }
            3 => {
                // Never blocks for long: zero, or 1 µs when empty.
                let took = sem
                    .acquire_timeout(Duration::from_micros(u64::from(arg % 2)))
                    .expect("acquire_timeout")
                    .map(Permit::forget)
                    .is_some();
                assert_eq!(took, model > 0);
                model -= u64::from(took);
            }
            _ => {
                if model > 0 {
                    sem.acquire().expect("acquire").forget();
                    model -= 1;
                } else {
                    assert!(sem.try_acquire().expect("try_acquire").is_none());
                }
            }
        }
        assert_eq!(u64::from(sem.value()), model);
        assert_eq!(sem.waiters(), 0);
    }
});
