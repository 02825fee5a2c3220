//! The swap area (CONTRACTS.md section 10), as far as it is built: tests/kernel.rs
//! boots ktest with a 16 MiB swap disk beside the data disk; the kernel tells the
//! two apart by the swap disk's serial number, sizes the area in page slots, and
//! reads and writes slots whole.
use crate::cases::{Case, Outcome};
use crate::{ensure, ensure_eq, task_case};
use alloc::{format, vec::Vec};
use lazuli_kernel::block::{self, swap};

pub static CASES: &[Case] = &[
    task_case!("the_swap_disk_is_found_beside_the_data_disk", found),
    task_case!("swap_slots_hold_whole_pages", slots),
];

/// 16 MiB of 4 KiB slots (tests/kernel.rs's SWAP_MIB).
const SLOTS: usize = 16 * 256;

async fn found() -> Outcome {
    let swap = lazuli_api::swap();
    ensure_eq!((swap.used, swap.total), (0, SLOTS), "swap");
    // The data disk is still the data disk: a FAT boot sector, not the blank swap.
    let mut sector = [0u8; block::SECTOR];
    block::with_device(|d| d.read(0, &mut sector))
        .map_err(|e| format!("{e:?}"))?
        .map_err(|e| format!("{e:?}"))?;
    ensure_eq!(
        sector[510..],
        [0x55, 0xaa],
        "the data disk's boot signature"
    );
    Ok(())
}

async fn slots() -> Outcome {
    let mut taken = Vec::new();
    for i in 0..3u8 {
        let slot = swap::allocate().ok_or("no slot")?;
        let page = [i.wrapping_mul(37).wrapping_add(1); 4096];
        swap::write_page(slot, &page).map_err(|e| format!("{e:?}"))?;
        taken.push((slot, page[0]));
    }
    ensure_eq!(lazuli_api::swap().used, 3, "slots in use");
    for &(slot, byte) in taken.iter().rev() {
        let mut back = [0u8; 4096];
        swap::read_page(slot, &mut back).map_err(|e| format!("{e:?}"))?;
        ensure!(
            back.iter().all(|&b| b == byte),
            "slot {} came back changed",
            slot.0
        );
        ensure!(swap::release(slot), "slot {} was referred to once", slot.0);
    }
    ensure_eq!(lazuli_api::swap().used, 0, "every slot free again");
    Ok(())
}
