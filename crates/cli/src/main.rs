fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    keep_freed_documents_mapped();
    segur_cli::main()
}

/// glibc gives each thread that allocates its own malloc arena, up to 8 per core, and the
/// freed memory of each arena stays mapped. The validator's workers share one large rule set
/// and each hold one document at a time, so one arena per core is enough: measured on the 94
/// ANS examples with 2 workers, peak RSS goes from 118 MB to 98 MB at the same speed
/// (docs/PERFORMANCE.md). `MALLOC_ARENA_MAX` in the environment still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    /// `M_ARENA_MAX` of glibc's `<malloc.h>`.
    const M_ARENA_MAX: std::ffi::c_int = -8;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let arenas = std::ffi::c_int::try_from(cores).unwrap_or(std::ffi::c_int::MAX);
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other thread
    // exists, and its result (0 when the value is refused) needs no handling: the default
    // stays in force.
    unsafe {
        mallopt(M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

/// glibc serves large allocations (a document's node table and source, megabytes for the
/// largest ANS examples) with fresh mappings and hands freed heap tops back to the kernel, so
/// each document's memory is faulted in and zeroed again: about 35,000 page faults for four
/// passes over the 94 ANS examples. Allocations up to 32 MiB from the heap, and freed tops
/// kept up to 64 MiB, halve them (19,000) for 3 % less CPU time; peak RSS on 2 threads goes
/// from about 72 to 76 MB (docs/PERFORMANCE.md). `MALLOC_MMAP_THRESHOLD_` or
/// `MALLOC_TRIM_THRESHOLD_` in the environment still win.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_documents_mapped() {
    /// `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` of glibc's `<malloc.h>`.
    const M_TRIM_THRESHOLD: std::ffi::c_int = -1;
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
        || std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_some()
    {
        return;
    }
    // SAFETY: as in `limit_malloc_arenas`: allocator parameters set before any other thread
    // exists; a refused value leaves the default in force.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_documents_mapped() {}
