//! The swap area: the virtio disk the runner names `lazuli-swap` (made afresh for
//! every boot), as page-sized slots. `lazuli_vm::SwapSlots` keeps which slots are
//! in use and by how many entries; this module owns the device.
//!
//! What moves pages in and out is `vm::swap`: reclaim when a fault finds no free
//! frame, swap-in on the next touch.
use super::{BlockDevice, IoError, SECTOR, virtio::VirtioDisk};
use core::sync::atomic::{AtomicU64, Ordering};
use lazuli_vm::{PAGE_SIZE, SwapEntry, SwapSlots};
use spin::Mutex;

const SECTORS_PER_PAGE: u64 = PAGE_SIZE / SECTOR as u64;

struct SwapArea {
    disk: VirtioDisk,
    slots: SwapSlots,
}

static SWAP: Mutex<Option<SwapArea>> = Mutex::new(None);
/// Pages written to the area and read from it since boot.
static WRITTEN: AtomicU64 = AtomicU64::new(0);
static READ: AtomicU64 = AtomicU64::new(0);

/// (pages written, pages read) since boot.
pub fn traffic() -> (u64, u64) {
    (
        WRITTEN.load(Ordering::Relaxed),
        READ.load(Ordering::Relaxed),
    )
}

/// Makes `disk` the swap area (boot time).
pub fn attach(disk: VirtioDisk) {
    let slots = SwapSlots::new(disk.sectors() / SECTORS_PER_PAGE);
    *SWAP.lock() = Some(SwapArea { disk, slots });
}

/// (pages in use, pages in all); None without a swap area.
pub fn usage() -> Option<(u64, u64)> {
    SWAP.lock()
        .as_ref()
        .map(|a| (a.slots.used(), a.slots.total()))
}

/// False only when no slot is in use, so that no page-table entry can name one
/// (a fault's cheap answer to "might this page be in swap?"). True, to be safe,
/// while the area is locked.
pub fn may_hold_pages() -> bool {
    SWAP.try_lock()
        .is_none_or(|area| area.as_ref().is_some_and(|a| a.slots.used() > 0))
}

/// A free slot, referred to once; None when the area is full or missing.
pub fn allocate() -> Option<SwapEntry> {
    SWAP.lock().as_mut()?.slots.allocate()
}

/// One more entry refers to `slot` (fork copied it).
pub fn share(slot: SwapEntry) {
    if let Some(area) = SWAP.lock().as_mut() {
        area.slots.share(slot);
    }
}

/// One entry stops referring to `slot`; true if it is free now.
pub fn release(slot: SwapEntry) -> bool {
    SWAP.lock().as_mut().is_some_and(|a| a.slots.release(slot))
}

/// Writes one page to `slot`, waiting for the device.
pub fn write_page(slot: SwapEntry, page: &[u8; PAGE_SIZE as usize]) -> Result<(), IoError> {
    let mut area = SWAP.lock();
    let area = area.as_mut().ok_or(IoError::NoDevice)?;
    area.disk.write(slot.0 * SECTORS_PER_PAGE, page)?;
    WRITTEN.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Ticks to read one slot (the first) into a scratch page, for the benchmark;
/// None without a swap area.
pub fn read_ticks() -> Option<u64> {
    let mut page = alloc::boxed::Box::new([0u8; PAGE_SIZE as usize]);
    let t0 = crate::arch::cpu::rdtsc();
    read_page(SwapEntry(0), &mut page).ok()?;
    Some(crate::arch::cpu::rdtsc() - t0)
}

/// Reads the page in `slot`, waiting for the device.
pub fn read_page(slot: SwapEntry, page: &mut [u8; PAGE_SIZE as usize]) -> Result<(), IoError> {
    let mut area = SWAP.lock();
    let area = area.as_mut().ok_or(IoError::NoDevice)?;
    area.disk.read(slot.0 * SECTORS_PER_PAGE, page)?;
    READ.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
