//! What `size.c` does with `sem_*`, through the crate: open or create a
//! semaphore, take and give back a token, unlink it. Exported as
//! `nsem_demo` for the same C `main` (in `main.c`) to call.
#![no_std]

use named_semaphores::NamedSemaphore;

/// Runs the demo on `/nsem-size-demo`; 0 on success.
#[no_mangle]
pub extern "C" fn nsem_demo() -> i32 {
    let Ok(sem) = NamedSemaphore::open_or_create("nsem-size-demo", 1) else {
        return 1;
    };
    let Ok(permit) = sem.acquire() else {
        return 2;
    };
    drop(permit); // gives the token back (`sem_post`)
    if sem.unlink().is_err() {
        return 3;
    }
    0
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
