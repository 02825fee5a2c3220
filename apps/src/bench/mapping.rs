//! File-mapping figures, one sample per page, the file's pages all in the page
//! cache first (as the Linux guest's file lives in its rootfs), each access timed in
//! user mode:
//! - `file_read_fault`: the first load from a page of a shared read-only mapping
//!   (the fault maps the cache's frame; one page per fault);
//! - `file_private_write_fault`: the first store to a page of a private mapping
//!   (the fault copies the cache's frame into the task's own).
//!
//! Linux's figures to compare with: `file_read_fault_1page_N4096` and
//! `file_private_write_fault_N4096` (../shared/bench/linux-guest).
use super::timed::{Access, first_accesses};
use super::{PAGE, Plan, report};
use alloc::vec;
use lazuli_api::{
    Placement, Prot,
    fs::{self, File, OpenOptions, Sharing},
    munmap, println,
};

const FILE: &str = "BENCHMAP.TMP";

pub async fn run(plan: Plan) -> bool {
    let pages = plan.n(4096, 64);
    let len = pages * PAGE;
    // Write the file (its pages stay cached, clean once it is closed).
    let made = async {
        let mut f = File::open(FILE, OpenOptions::REPLACE).ok()?;
        let page: vec::Vec<u8> = (0..PAGE).map(|i| i as u8).collect();
        for _ in 0..pages {
            f.write(&page).await.ok()?;
        }
        f.close().ok()
    };
    let Some(()) = made.await else {
        println!("bench file_read_fault: could not write {FILE}");
        return false;
    };
    let Ok(file) = File::open(FILE, OpenOptions::READ) else {
        return false;
    };
    let (Ok(shared), Ok(private)) = (
        file.map(0, len, Prot::READ, Sharing::Shared, Placement::Anywhere),
        file.map(0, len, Prot::RW, Sharing::Private, Placement::Anywhere),
    ) else {
        println!("bench file_read_fault: could not map {FILE}");
        return false;
    };
    // Each first access timed in user mode, as the Linux guest's figures are.
    let (Some(read), Some(write)) = (
        first_accesses(shared, pages, Access::Load).await,
        first_accesses(private, pages, Access::Store).await,
    ) else {
        return false;
    };
    let unmapped = munmap(shared, len).is_ok() && munmap(private, len).is_ok();
    drop(file);
    let _ = fs::remove(FILE);
    report("file_read_fault", &read);
    report("file_private_write_fault", &write);
    unmapped
}
