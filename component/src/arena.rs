//! The guest's global allocator: a per-call bump arena in front of the system allocator
//! (dlmalloc on `wasm32-unknown-unknown`).
//!
//! A `decide` call allocates a few dozen short-lived blocks: the strings and lists the host lowers
//! into the guest, the engine's request and decision, and the decision's WIT form, all freed again
//! by the time the host has lifted the answer (in the post-return function). With dlmalloc those
//! mallocs and frees were about a sixth of a decision's cost through the component. Here they take
//! a pointer bump and a counter: blocks come from one region, every free of a block in the region
//! counts down, and when nothing in the region is live any more the next block starts at its
//! beginning again.
//!
//! Loading a policy set builds data that lives as long as the set, so [`CallArena::persistent`] sends every
//! allocation made while its guard lives to the system allocator. Nothing depends on the arena for
//! correctness: a block that does not fit (a large request, or a decision that explains thousands
//! of policies) comes from the system allocator, and a block in the region that is never freed only
//! keeps the region from being reused until it is, after which blocks come from the system
//! allocator as before.

#![expect(
    unsafe_code,
    reason = "a global allocator hands out raw memory; the region is only ever touched from the \
              guest's single thread"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The region's size. A decision with a client, a user and a handful of scopes uses about 2 KiB.
const REGION: usize = 64 * 1024;

/// The allocator (see the module docs).
pub(crate) struct CallArena {
    /// Where the region starts (0 until it is first needed).
    start: Cell<usize>,
    /// Where the next block may start.
    next: Cell<usize>,
    /// How many blocks in the region are live.
    live: Cell<usize>,
    /// While positive, every allocation goes to the system allocator.
    persistent: Cell<u32>,
}

// SAFETY: the component runs on one thread (`wasm32-unknown-unknown` without the atomics feature,
// which is the only configuration this allocator is installed in), so the cells are never touched
// concurrently.
unsafe impl Sync for CallArena {}

impl CallArena {
    pub(crate) const fn new() -> CallArena {
        CallArena {
            start: Cell::new(0),
            next: Cell::new(0),
            live: Cell::new(0),
            persistent: Cell::new(0),
        }
    }

    /// Sends every allocation to the system allocator until the guard is dropped: for data that
    /// outlives the call, such as a loaded policy set.
    pub(crate) fn persistent(&'static self) -> Persistent {
        self.persistent.set(self.persistent.get() + 1);
        Persistent(self)
    }

    fn contains(&self, ptr: *mut u8) -> bool {
        let start = self.start.get();
        let address = ptr as usize;
        start != 0 && address >= start && address < start + REGION
    }

    /// A block from the region, or `None` when it does not fit (or the region cannot be had).
    #[inline]
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        if self.persistent.get() > 0 {
            return None;
        }
        if self.start.get() == 0 {
            // SAFETY: REGION is non-zero and 16 is a valid alignment.
            let region = unsafe { System.alloc(Layout::from_size_align(REGION, 16).ok()?) };
            if region.is_null() {
                return None;
            }
            self.start.set(region as usize);
            self.next.set(region as usize);
        }
        // Alignments are powers of two: round up with a mask, not a division.
        let mask = layout.align() - 1;
        let begin = self.next.get().checked_add(mask)? & !mask;
        let end = begin.checked_add(layout.size())?;
        if end > self.start.get() + REGION {
            return None;
        }
        self.next.set(end);
        self.live.set(self.live.get() + 1);
        Some(begin as *mut u8)
    }

    fn release(&self) {
        let live = self.live.get() - 1;
        self.live.set(live);
        if live == 0 {
            self.next.set(self.start.get());
        }
    }
}

// SAFETY: blocks from the region are disjoint (the bump pointer only moves past live blocks, and
// goes back to the start only when none is live), aligned as asked, and within the region, which
// the system allocator handed out and which is never freed; every other block is the system
// allocator's, and is returned to it.
unsafe impl GlobalAlloc for CallArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(block) => block,
            // SAFETY: the caller's layout has a non-zero size, as GlobalAlloc requires.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.contains(ptr) {
            self.release();
        } else {
            // SAFETY: a block outside the region came from the system allocator with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.contains(ptr) {
            // SAFETY: the block is the system allocator's; the caller upholds realloc's contract.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let address = ptr as usize;
        // The newest block grows or shrinks in place while it fits.
        if address + layout.size() == self.next.get()
            && address + new_size <= self.start.get() + REGION
        {
            self.next.set(address + new_size);
            return ptr;
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: new_layout has the caller's non-zero size and the block's alignment.
        let moved = unsafe { self.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both blocks are valid for the smaller of the two sizes and do not overlap
            // (the old block is still live while the new one is handed out).
            unsafe { std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size)) };
            self.release();
        }
        moved
    }
}

/// The guard of [`CallArena::persistent`].
pub(crate) struct Persistent(&'static CallArena);

impl Drop for Persistent {
    fn drop(&mut self) {
        self.0.persistent.set(self.0.persistent.get() - 1);
    }
}
