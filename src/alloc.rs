//! The binary's global allocator: the system allocator, with transparent huge pages asked for on
//! large blocks.
//!
//! A run's large tables (clients, requests, sessions, store items) are read at random, one
//! entry per event: with 4 KiB pages, each table costs one page fault per 4 KiB as it grows and
//! a TLB miss on most accesses. A block of at least [`THRESHOLD_BYTES`] is advised
//! `MADV_HUGEPAGE` (Linux `madvise(2)`) over all its pages, after `alloc` and after a growing
//! `realloc` (glibc grows a large block with `mremap`, which keeps the advice on the old part;
//! the whole block is advised again). With the kernel's THP mode `madvise` or `always`, the
//! 2 MiB-aligned parts of those blocks are then backed by 2 MiB pages; with `never`, or on other
//! systems, the advice is ignored (or not made) and nothing else changes. This is what glibc's
//! `glibc.malloc.hugetlb=1` tunable does for `mmap`ed blocks, without needing the environment.
//!
//! Measured on the 2-core reference VM (`sessim bench --one`, after the radix queue frees its
//! large vectors): page faults 25,267 → 12,133 in `closed-loop-rr-100k` and 107,443 → 22,642 in
//! `full-feature`; wall medians of alternating runs −12% and −10%, from user time (fewer TLB
//! misses) more than from the faults; peak RSS +0.4 to +1.3 MB.
//!
//! Results do not depend on the allocator. Only the binary installs it (`src/main.rs`), so the
//! library's users and its unit tests keep the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this many bytes are advised: one transparent huge page on x86-64 (and
/// most arm64 kernels), the threshold glibc's tunable uses too.
pub const THRESHOLD_BYTES: usize = 2 << 20;

/// [`System`], plus `madvise(MADV_HUGEPAGE)` on blocks of at least [`THRESHOLD_BYTES`].
/// Errors of `madvise` are ignored: the advice is an optimisation only.
pub struct HugePageAlloc;

/// Advises the pages of `[p, p + size)`, from the page holding `p` to the page holding its last
/// byte. Not just the 2 MiB-aligned middle: advising part of a mapping splits it into several
/// mappings, and a split mapping can no longer be grown in place by `mremap` (glibc then copies
/// the block into a new one at each growth, faulting every page again). The kernel places the
/// huge pages at the 2 MiB-aligned addresses inside the advised range.
#[inline]
fn advise(p: *mut u8, size: usize) {
    #[cfg(target_os = "linux")]
    if !p.is_null() {
        // SAFETY: `sysconf` only reads a value the C library holds.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        let start = p as usize & !(page - 1);
        let end = (p as usize + size).next_multiple_of(page);
        // SAFETY: advice changes no contents; the range is the block's pages (their other
        // bytes, if any, belong to blocks of this same process).
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, size);
}

// SAFETY: every call is forwarded to `System` with the same arguments; `advise` only advises
// memory of the returned block.
unsafe impl GlobalAlloc for HugePageAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if layout.size() >= THRESHOLD_BYTES {
            advise(p, layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if layout.size() >= THRESHOLD_BYTES {
            advise(p, layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout)
    }

    #[inline]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        if new_size >= THRESHOLD_BYTES && new_size > layout.size() {
            advise(q, new_size);
        }
        q
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The mapping of `/proc/self/smaps` that holds address `a`: (start, end, VmFlags).
    fn mapping_of(a: usize) -> (usize, usize, String) {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut found = None;
        for line in smaps.lines() {
            let range = line.split_whitespace().next().unwrap_or("");
            if let Some((s, e)) = range.split_once('-') {
                if let (Ok(s), Ok(e)) = (usize::from_str_radix(s, 16), usize::from_str_radix(e, 16))
                {
                    found = (s <= a && a < e).then_some((s, e));
                    continue;
                }
            }
            if let (Some((s, e)), Some(flags)) = (found, line.strip_prefix("VmFlags:")) {
                return (s, e, flags.to_string());
            }
        }
        panic!("no mapping holds {a:#x}");
    }

    /// A large block is advised as a whole: its one mapping carries the `hg` flag
    /// (`VM_HUGEPAGE`), before and after a growing `realloc`, and the advice did not split the
    /// mapping (a split one cannot grow in place, so glibc would copy the block at each growth).
    #[test]
    fn large_blocks_are_advised_whole_and_stay_one_mapping_when_grown() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            eprintln!("skipped: this kernel has no transparent huge pages");
            return;
        }
        let a = HugePageAlloc;
        let small = Layout::from_size_align(THRESHOLD_BYTES + 100, 16).expect("layout");
        unsafe {
            let p = a.alloc(small);
            assert!(!p.is_null());
            let (s, e, flags) = mapping_of(p as usize);
            assert!(flags.contains(" hg"), "not advised: {flags}");
            assert!(
                s <= p as usize && p as usize + small.size() <= e,
                "block split"
            );
            let grown = 12 * THRESHOLD_BYTES;
            let q = a.realloc(p, small, grown);
            assert!(!q.is_null());
            let (s, e, flags) = mapping_of(q as usize);
            assert!(flags.contains(" hg"), "grown block not advised: {flags}");
            assert!(
                s <= q as usize && q as usize + grown <= e,
                "grown block split"
            );
            a.dealloc(q, Layout::from_size_align(grown, 16).expect("layout"));
        }
    }
}
