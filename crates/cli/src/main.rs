fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
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
