//! Giving memory back after a burst, for `pushbus serve` on glibc.
//!
//! glibc keeps what a burst freed (10,000 connections that came and went leave the
//! server at 41 MiB instead of the 7 MiB it started with) because freed chunks sit
//! between live ones and its automatic trimming only returns the top of a heap.
//! `malloc_trim` also returns free pages in the middle. It takes the allocator's locks
//! for well under a millisecond, so it runs only when at least `WORTH_TRIMMING` bytes
//! are free. Measured against mimalloc in BENCHMARKS.md ("Memory after a burst"). Only
//! the binary does this: the library leaves an embedder's allocator alone.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back_periodically() {
    use std::time::Duration;
    const EVERY: Duration = Duration::from_secs(10);
    const WORTH_TRIMMING: usize = 4 << 20;
    let spawned = std::thread::Builder::new()
        .name("pushbus-trim".into())
        .spawn(|| loop {
            std::thread::sleep(EVERY);
            // SAFETY: both only read and adjust the allocator's own state, under its
            // locks; no pointer of ours is involved.
            let free = unsafe { libc::mallinfo2() }.fordblks;
            if free >= WORTH_TRIMMING {
                unsafe { libc::malloc_trim(0) };
            }
        });
    if let Err(e) = spawned {
        eprintln!("pushbus: memory trimming not started: {e}");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back_periodically() {}
