//! SIGTERM and SIGINT set a flag that the sink and the replay client watch, to stop cleanly
//! (the sink answers what it holds; the replay client ends its run and reports it).

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGTERM or SIGINT once [`install`] ran.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Whether a stop was asked for.
pub(crate) fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

#[cfg(unix)]
mod imp {
    use std::ffi::c_int;
    use std::sync::atomic::Ordering;

    const SIGINT: c_int = 2;
    const SIGTERM: c_int = 15;

    extern "C" fn on_signal(_: c_int) {
        // Only an atomic store: async-signal-safe.
        super::STOP.store(true, Ordering::SeqCst);
    }

    unsafe extern "C" {
        fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    }

    pub(crate) fn install() {
        // SAFETY: the handler only stores to an atomic; `signal` replaces the default
        // action (terminate) of these two signals for this process.
        unsafe {
            signal(SIGTERM, on_signal);
            signal(SIGINT, on_signal);
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub(crate) fn install() {}
}

/// SIGTERM and SIGINT set [`STOP`] instead of ending the process.
pub(crate) fn install() {
    imp::install();
}
