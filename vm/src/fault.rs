//! The "decide" hop of the page-fault path, with no hardware in it.
//!
//! A fault goes through three hops: *trap* (the kernel reads CR2 and the
//! error code), *decide* (this module: which region, which access, what to
//! do) and *apply* (the kernel allocates and zeroes a frame and maps it, or
//! kills the task). [`resolve_fault`] is the whole decision; it never changes
//! anything. Running out of frames is found in the apply hop, which reports
//! it with [`Why::OutOfMemory`].
//!
//! A write to a *present* page that its region allows is copy-on-write: fork
//! shares frames read-only, and the first write on either side gets
//! [`FaultAction::CopyOnWrite`] (the kernel then asks [`crate::cow_action`]
//! whether to copy the frame or just restore write access).

use core::fmt;

use crate::addr::{PAGE_SIZE, page_down};
use crate::file::{FileKey, FileMap, FileSizes, NoFiles};
use crate::layout::{USER_END, is_user};
use crate::prot::Prot;
use crate::region::{RegionKind, RegionSet};

/// What the faulting instruction tried to do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Read,
    Write,
    Exec,
}

impl fmt::Display for Access {
    /// `read`, `write` or `exec`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Exec => "exec",
        })
    }
}

/// Why a fault could not be satisfied.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Why {
    /// The address is in the user part but in no region (or below `USER_START`).
    NotMapped,
    /// The address is at or above `USER_END`: the kernel half, or non-canonical.
    NotUserMemory,
    /// A write to a region that is readable but not writable.
    ReadOnly,
    /// A region with no read right (and the access was not allowed).
    NoAccess,
    /// An instruction fetch from a region that is not executable.
    NoExec,
    /// A touch of the guard page below the stack.
    GuardPage,
    /// The access was allowed but no frame was left to back the page.
    OutOfMemory,
    /// A page of a file mapping that lies wholly past the end of the file.
    PastEndOfFile,
    /// A file page could not be read from the disk.
    Io,
}

impl fmt::Display for Why {
    /// `not mapped`, `not user memory`, `read-only`, `no-access`, `no-exec`, `guard page`,
    /// `out of memory`, `past end of file`, `I/O error`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Why::NotMapped => "not mapped",
            Why::NotUserMemory => "not user memory",
            Why::ReadOnly => "read-only",
            Why::NoAccess => "no-access",
            Why::NoExec => "no-exec",
            Why::GuardPage => "guard page",
            Why::OutOfMemory => "out of memory",
            Why::PastEndOfFile => "past end of file",
            Why::Io => "I/O error",
        })
    }
}

/// A fault that kills the task: where, what access, and why.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FaultReport {
    pub addr: u64,
    pub access: Access,
    pub why: Why,
}

impl fmt::Display for FaultReport {
    /// The kill reason of CONTRACTS.md, e.g. `page fault at 0x40001000 (write, read-only)`;
    /// guard page and out of memory omit the access: `page fault at 0x… (guard page)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.why {
            Why::GuardPage | Why::OutOfMemory => {
                write!(f, "page fault at {:#x} ({})", self.addr, self.why)
            }
            _ => write!(
                f,
                "page fault at {:#x} ({}, {})",
                self.addr, self.access, self.why
            ),
        }
    }
}

/// What the kernel should do about a fault.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultAction {
    /// Back `page` (page aligned) with a fresh zeroed frame mapped with `prot`,
    /// then return to the task to retry the access.
    MapZeroed { page: u64, prot: Prot },
    /// A write to `page` (page aligned), present but read-only in the page
    /// table, in a region that allows writing: the frame is shared
    /// copy-on-write. Copy it or make it writable in place, as
    /// [`crate::cow_action`] says for its owner count, map it with the
    /// region's `prot`, then retry.
    CopyOnWrite { page: u64, prot: Prot },
    /// A first touch of `page` in a file region: map the cache's frame for
    /// `index` of `file` (reading it into the cache first if need be) with
    /// `prot` — for a private region without write, so that its first store
    /// copies — then retry.
    MapFilePage {
        page: u64,
        prot: Prot,
        file: FileKey,
        index: u64,
    },
    /// A first touch by a store in a private file region: give the task its own
    /// copy of the cache's page `index` of `file`, mapped with `prot`, then retry.
    CopyFilePage {
        page: u64,
        prot: Prot,
        file: FileKey,
        index: u64,
    },
    /// A store to a present page of a shared file region whose entry is read-only
    /// (an `mprotect` added write): make the entry writable in place, never copy.
    MakeWritable { page: u64, prot: Prot },
    /// The access is not allowed: kill the task with this report.
    Kill(FaultReport),
}

/// Decides a user page fault at `addr` for a task without file regions (see
/// [`resolve_fault_with`]).
#[inline(always)]
pub fn resolve_fault(regions: &RegionSet, addr: u64, access: Access, present: bool) -> FaultAction {
    resolve_fault_with(regions, &NoFiles, addr, access, present)
}

/// Decides a user page fault at `addr`. `present` is the error code's P bit:
/// true when the page was mapped and the fault is a protection violation;
/// `files` gives the sizes of mapped files (a page wholly past the end kills).
/// Pure: looks at `regions` and `files` only and changes nothing.
#[inline(always)]
pub fn resolve_fault_with(
    regions: &RegionSet,
    files: &dyn FileSizes,
    addr: u64,
    access: Access,
    present: bool,
) -> FaultAction {
    let kill = |why| FaultAction::Kill(FaultReport { addr, access, why });
    if addr >= USER_END {
        return kill(Why::NotUserMemory);
    }
    let Some(region) = regions.find(addr).filter(|_| is_user(addr)) else {
        return kill(Why::NotMapped);
    };
    if region.kind == RegionKind::Guard {
        return kill(Why::GuardPage);
    }
    // Decide on the rights the hardware will enforce once the page is mapped
    // (write or exec imply read on x86_64), so that the first touch and every
    // later touch agree.
    let prot = region.prot.effective();
    match access {
        Access::Write if !prot.writable() => {
            return kill(if prot.readable() {
                Why::ReadOnly
            } else {
                Why::NoAccess
            });
        }
        Access::Read if !prot.readable() => return kill(Why::NoAccess),
        Access::Exec if !prot.executable() => return kill(Why::NoExec),
        _ => {}
    }
    if let RegionKind::File(map) = region.kind {
        return file_fault(files, map, region.prot, addr, access, present);
    }
    if present {
        // The region allows the access but the page-table entry did not.
        // For a write that is a frame shared copy-on-write (or an entry left
        // read-only by an mprotect that added write: reusing it in place is
        // then right too). Anything else: report what the entry implies.
        return match access {
            Access::Write => FaultAction::CopyOnWrite {
                page: page_down(addr),
                prot: region.prot,
            },
            Access::Exec => kill(Why::NoExec),
            Access::Read => kill(Why::NoAccess),
        };
    }
    FaultAction::MapZeroed {
        page: page_down(addr),
        prot: region.prot,
    }
}

/// The decision for an allowed access to a file region.
#[inline(always)]
fn file_fault(
    files: &dyn FileSizes,
    map: FileMap,
    prot: Prot,
    addr: u64,
    access: Access,
    present: bool,
) -> FaultAction {
    let page = page_down(addr);
    if present {
        return match access {
            Access::Write if map.shared => FaultAction::MakeWritable { page, prot },
            Access::Write => FaultAction::CopyOnWrite { page, prot },
            Access::Exec => FaultAction::Kill(FaultReport {
                addr,
                access,
                why: Why::NoExec,
            }),
            Access::Read => FaultAction::Kill(FaultReport {
                addr,
                access,
                why: Why::NoAccess,
            }),
        };
    }
    let index = map.page_of(addr);
    let size = files.size(map.file).unwrap_or(0);
    if index.saturating_mul(PAGE_SIZE) >= size {
        return FaultAction::Kill(FaultReport {
            addr,
            access,
            why: Why::PastEndOfFile,
        });
    }
    let file = map.file;
    if !map.shared && access == Access::Write {
        return FaultAction::CopyFilePage {
            page,
            prot,
            file,
            index,
        };
    }
    // A private page is mapped without write until the task stores to it.
    let prot = if map.shared {
        prot
    } else {
        prot.without_write()
    };
    FaultAction::MapFilePage {
        page,
        prot,
        file,
        index,
    }
}

/// Decodes an x86_64 page-fault error code into the access and the P bit
/// (bit 0 present, bit 1 write, bit 4 instruction fetch), as `resolve_fault` takes them.
pub fn decode_error_code(code: u64) -> (Access, bool) {
    let present = code & 1 != 0;
    let access = if code & (1 << 4) != 0 {
        Access::Exec
    } else if code & (1 << 1) != 0 {
        Access::Write
    } else {
        Access::Read
    };
    (access, present)
}

#[cfg(test)]
mod file_tests;
#[cfg(test)]
mod tests;
