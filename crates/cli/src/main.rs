fn main() -> std::process::ExitCode {
    malloc::tune();
    segur_cli::main()
}

/// glibc's allocator, tuned for a process whose workers share one large rule set and each hold
/// one document at a time (docs/PERFORMANCE.md). Each setting yields to its variables in the
/// environment.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod malloc {
    use std::ffi::c_int;

    /// `M_TRIM_THRESHOLD`, `M_MMAP_THRESHOLD` and `M_ARENA_MAX` of glibc's `<malloc.h>`.
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    const M_ARENA_MAX: c_int = -8;

    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }

    /// Sets `param` to `value` unless one of `env` is set.
    fn set(param: c_int, value: c_int, env: &[&str]) {
        if env.iter().any(|v| std::env::var_os(v).is_some()) {
            return;
        }
        // SAFETY: mallopt only sets an allocator parameter; it is called before any other
        // thread exists, and its result (0 when the value is refused) needs no handling: the
        // default stays in force.
        unsafe {
            mallopt(param, value);
        }
    }

    pub(crate) fn tune() {
        // glibc gives each thread that allocates its own arena, up to 8 per core, and the
        // freed memory of each arena stays mapped; one arena per core is enough: on the 94 ANS
        // examples with 2 workers, peak RSS goes from 118 MB to 98 MB at the same speed.
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let arenas = c_int::try_from(cores).unwrap_or(c_int::MAX);
        set(M_ARENA_MAX, arenas, &["MALLOC_ARENA_MAX"]);
        // glibc serves large allocations (a document's node table and source, megabytes for
        // the largest ANS examples) with fresh mappings and hands freed heap tops back to the
        // kernel, so each document's memory is faulted in and zeroed again: about 35,000 page
        // faults for four passes over the 94 ANS examples. Allocations up to 32 MiB from the
        // heap, and freed tops kept up to 64 MiB, halve them (19,000) for 3 % less CPU time;
        // peak RSS on 2 threads goes from about 72 to 76 MB.
        let thresholds = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"];
        set(M_MMAP_THRESHOLD, 32 << 20, &thresholds);
        set(M_TRIM_THRESHOLD, 64 << 20, &thresholds);
    }
}

/// Nothing to tune outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod malloc {
    pub(crate) fn tune() {}
}
