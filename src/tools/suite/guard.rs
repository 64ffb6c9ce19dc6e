//! Panics inside a test become that test's failure line rather than the end of the run.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the panic hook so that a panic inside a guarded case is recorded (message and
/// location) for its failure line instead of being printed over the progress bar. Panics
/// elsewhere still go to the previous hook. Process-wide, so only the binary calls it.
pub fn install_panic_capture() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if CAPTURING.with(Cell::get) {
            let location = info
                .location()
                .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            let message = format!("{}{location}", payload_message(info.payload()));
            CAPTURED.with(|c| *c.borrow_mut() = Some(message));
        } else {
            previous(info);
        }
    }));
}

/// A panic caught by [`guarded`], with its message and location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("panic: {0}")]
pub struct Panic(pub String);

/// Runs `f`, turning a panic into a [`Panic`] error (recorded quietly once
/// [`install_panic_capture`] is in place).
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Panic> {
    let was_capturing = CAPTURING.with(|c| c.replace(true));
    CAPTURED.with(|c| c.borrow_mut().take());
    let result = catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(was_capturing));
    result.map_err(|payload| {
        let message = CAPTURED
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| payload_message(payload.as_ref()));
        Panic(message)
    })
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_failures() {
        let err = guarded(|| -> u32 { panic!("runtime bug {}", 7) }).unwrap_err();
        assert_eq!(err.to_string(), "panic: runtime bug 7");
        assert_eq!(guarded(|| 5), Ok(5));
    }
}
