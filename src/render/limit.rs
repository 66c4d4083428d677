//! Resource limits for template rendering: a memory budget enforced by the global allocator
//! on the rendering thread, and a writer that caps the rendered size.
//!
//! minijinja's fuel bounds the number of instructions a template runs, but a few instructions
//! can still build a huge value (`{% set s = s ~ s %}` doubles a string each time, and
//! `center(n)` allocates `n` bytes at once). The allocator below counts the bytes the
//! rendering thread holds while a [`Budget`] is active; past the budget it prints the error
//! prepared by the caller and exits with status 2 (bad input) before the allocation is made.
//! Rendering happens before any request, so nothing has been sent to the forge then.

use std::alloc::{GlobalAlloc, Layout};

use mimalloc::MiMalloc;
use std::cell::Cell;

/// mimalloc (the changelog allocates and frees many small strings per commit, where it is
/// faster than the C library's allocator, musl's in particular), with a per-thread budget
/// while a template renders.
pub struct Guarded;

thread_local! {
    /// Bytes this thread may still allocate; `isize::MAX` when no budget is active.
    static LEFT: Cell<isize> = const { Cell::new(isize::MAX) };
    /// Whether a budget is active on this thread.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// The message printed when the budget runs out (pointer and length of a live `String`).
    static MESSAGE: Cell<(*const u8, usize)> = const { Cell::new((std::ptr::null(), 0)) };
}

#[inline]
fn charge(bytes: usize) {
    if !ACTIVE.with(Cell::get) {
        return;
    }
    let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
    let left = LEFT.with(Cell::get).saturating_sub(bytes);
    LEFT.with(|l| l.set(left));
    if left < 0 {
        exceeded();
    }
}

#[inline]
fn refund(bytes: usize) {
    if ACTIVE.with(Cell::get) {
        let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
        LEFT.with(|l| l.set(l.get().saturating_add(bytes)));
    }
}

/// The budget ran out: print the prepared message and exit 2. Allocation-free until the
/// budget is switched off, so the message is printed even when memory is short.
#[cold]
fn exceeded() -> ! {
    ACTIVE.with(|a| a.set(false));
    let (ptr, len) = MESSAGE.with(Cell::get);
    let mut stderr = std::io::stderr().lock();
    if !ptr.is_null() {
        // SAFETY: `Budget` keeps the message alive while the budget is active, and the
        // pointer and length come from that `String`.
        let msg = unsafe { std::slice::from_raw_parts(ptr, len) };
        let _ = std::io::Write::write_all(&mut stderr, msg);
    }
    let _ = std::io::Write::write_all(&mut stderr, b"\n");
    drop(stderr);
    std::process::exit(2)
}

// SAFETY: every call is forwarded to `MiMalloc`; the bookkeeping touches only thread-locals
// that are const-initialised and have no destructor.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        // SAFETY: forwarded as is.
        unsafe { MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        // SAFETY: forwarded as is.
        unsafe { MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        refund(layout.size());
        // SAFETY: forwarded as is.
        unsafe { MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            charge(new_size - layout.size());
        } else {
            refund(layout.size() - new_size);
        }
        // SAFETY: forwarded as is.
        unsafe { MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Guarded = Guarded;

/// An active memory budget on the current thread; dropping it ends the budget.
pub struct Budget {
    _message: String,
    previous: (bool, isize, (*const u8, usize)),
}

impl Budget {
    /// Starts a budget of `bytes` on this thread. `message` is printed (then the process
    /// exits 2) if the thread holds more than `bytes` new bytes before the budget is dropped.
    #[must_use]
    pub fn start(bytes: usize, message: String) -> Self {
        let previous = (
            ACTIVE.with(Cell::get),
            LEFT.with(Cell::get),
            MESSAGE.with(Cell::get),
        );
        MESSAGE.with(|m| m.set((message.as_ptr(), message.len())));
        LEFT.with(|l| l.set(isize::try_from(bytes).unwrap_or(isize::MAX)));
        ACTIVE.with(|a| a.set(true));
        Self {
            _message: message,
            previous,
        }
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        let (active, left, message) = self.previous;
        ACTIVE.with(|a| a.set(active));
        LEFT.with(|l| l.set(left));
        MESSAGE.with(|m| m.set(message));
    }
}

/// A writer that fails once more than `limit` bytes are written.
pub struct Capped {
    /// What was written.
    pub buf: Vec<u8>,
    limit: usize,
    /// Set when the limit was hit.
    pub overflowed: bool,
}

impl Capped {
    /// A writer of at most `limit` bytes.
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            limit,
            overflowed: false,
        }
    }
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            self.overflowed = true;
            return Err(std::io::Error::other("rendered output too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_what_the_thread_holds_and_ends_on_drop() {
        let budget = Budget::start(1 << 20, "unused".into());
        let a = vec![0u8; 512 * 1024];
        let left = LEFT.with(Cell::get);
        assert!(left <= (1 << 20) - 512 * 1024, "{left}");
        drop(a);
        assert!(LEFT.with(Cell::get) >= (1 << 20) - 1024);
        drop(budget);
        assert!(!ACTIVE.with(Cell::get));
        // Without a budget, large allocations are not counted.
        let big = vec![1u8; 4 << 20];
        assert_eq!(LEFT.with(Cell::get), isize::MAX);
        drop(big);
    }

    #[test]
    fn capped_writer_refuses_past_its_limit() {
        use std::io::Write;
        let mut w = Capped::new(4);
        assert!(w.write_all(b"abc").is_ok());
        assert!(w.write_all(b"de").is_err());
        assert!(w.overflowed);
        assert_eq!(w.buf, b"abc");
    }
}
