//! Unit tests for the fault decision and the kill-reason strings.

use super::*;
use crate::addr::PAGE_SIZE;
use crate::layout::{GUARD_BOTTOM, STACK_BOTTOM, STACK_TOP, USER_END};
use crate::region::{Region, fresh_task_regions};
use std::string::ToString;

const P: u64 = PAGE_SIZE;
const RW_AT: u64 = 0x4000_0000;
const RO_AT: u64 = 0x4001_0000;
const NONE_AT: u64 = 0x4002_0000;
const RX_AT: u64 = 0x4003_0000;
const W_AT: u64 = 0x4004_0000;

/// A fresh task plus one two-page mmap region of each interesting prot.
fn task() -> RegionSet {
    let mut set = fresh_task_regions();
    for (start, prot) in [
        (RW_AT, Prot::RW),
        (RO_AT, Prot::READ),
        (NONE_AT, Prot::NONE),
        (RX_AT, Prot::RX),
        (W_AT, Prot::WRITE),
    ] {
        set.insert(Region {
            start,
            end: start + 2 * P,
            kind: RegionKind::Mmap,
            prot,
        })
        .unwrap();
    }
    set
}

fn kill(addr: u64, access: Access, why: Why) -> FaultAction {
    FaultAction::Kill(FaultReport { addr, access, why })
}

const ACCESSES: [Access; 3] = [Access::Read, Access::Write, Access::Exec];

#[test]
fn an_address_in_no_region_is_not_mapped() {
    let set = task();
    for access in ACCESSES {
        for present in [false, true] {
            for addr in [RW_AT - 1, RW_AT + 2 * P, GUARD_BOTTOM - 1, STACK_TOP] {
                assert_eq!(
                    resolve_fault(&set, addr, access, present),
                    kill(addr, access, Why::NotMapped)
                );
            }
        }
    }
}

#[test]
fn below_the_user_part_is_not_mapped_and_above_it_is_not_user_memory_whatever_the_regions_say() {
    let mut set = RegionSet::new();
    set.insert(Region {
        start: 0,
        end: P,
        kind: RegionKind::Mmap,
        prot: Prot::RW,
    })
    .unwrap();
    set.insert(Region {
        start: USER_END,
        end: USER_END + P,
        kind: RegionKind::Mmap,
        prot: Prot::RW,
    })
    .unwrap();
    assert_eq!(
        resolve_fault(&set, 0, Access::Read, false),
        kill(0, Access::Read, Why::NotMapped)
    );
    assert_eq!(
        resolve_fault(&set, USER_END, Access::Write, false),
        kill(USER_END, Access::Write, Why::NotUserMemory)
    );
    let kernel = 0xffff_8000_0000_1000;
    assert_eq!(
        resolve_fault(&set, kernel, Access::Read, true),
        kill(kernel, Access::Read, Why::NotUserMemory)
    );
    assert_eq!(
        resolve_fault(&set, u64::MAX, Access::Exec, false),
        kill(u64::MAX, Access::Exec, Why::NotUserMemory)
    );
    let report = FaultReport {
        addr: kernel,
        access: Access::Read,
        why: Why::NotUserMemory,
    };
    assert_eq!(
        report.to_string(),
        "page fault at 0xffff800000001000 (read, not user memory)"
    );
}

#[test]
fn any_touch_of_the_guard_page_kills_with_guard_page() {
    let set = task();
    for access in ACCESSES {
        for present in [false, true] {
            for addr in [GUARD_BOTTOM, STACK_BOTTOM - 8] {
                assert_eq!(
                    resolve_fault(&set, addr, access, present),
                    kill(addr, access, Why::GuardPage)
                );
            }
        }
    }
}

#[test]
fn first_touch_of_a_stack_page_maps_a_zeroed_rw_page() {
    let set = task();
    let addr = STACK_TOP - 8;
    for access in [Access::Read, Access::Write] {
        assert_eq!(
            resolve_fault(&set, addr, access, false),
            FaultAction::MapZeroed {
                page: STACK_TOP - P,
                prot: Prot::RW
            }
        );
    }
}

#[test]
fn first_touch_maps_the_page_containing_the_address_with_the_region_prot() {
    let set = task();
    let cases = [
        (RW_AT + P + 0x123, Access::Write, RW_AT + P, Prot::RW),
        (RW_AT, Access::Read, RW_AT, Prot::RW),
        (RO_AT + 5, Access::Read, RO_AT, Prot::READ),
        (RX_AT + P + 1, Access::Exec, RX_AT + P, Prot::RX),
        (RX_AT, Access::Read, RX_AT, Prot::RX),
    ];
    for (addr, access, page, prot) in cases {
        assert_eq!(
            resolve_fault(&set, addr, access, false),
            FaultAction::MapZeroed { page, prot },
            "{addr:#x} {access}"
        );
    }
}

#[test]
fn a_write_to_a_readable_but_not_writable_region_is_read_only() {
    let set = task();
    for addr in [RO_AT, RX_AT + 7] {
        for present in [false, true] {
            assert_eq!(
                resolve_fault(&set, addr, Access::Write, present),
                kill(addr, Access::Write, Why::ReadOnly)
            );
        }
    }
}

#[test]
fn reads_and_writes_of_a_region_without_rights_are_no_access() {
    let set = task();
    for access in [Access::Read, Access::Write] {
        for present in [false, true] {
            assert_eq!(
                resolve_fault(&set, NONE_AT + 9, access, present),
                kill(NONE_AT + 9, access, Why::NoAccess)
            );
        }
    }
}

#[test]
fn an_instruction_fetch_from_a_non_executable_region_is_no_exec() {
    let set = task();
    for addr in [RW_AT, RO_AT, NONE_AT, STACK_TOP - 1] {
        assert_eq!(
            resolve_fault(&set, addr, Access::Exec, false),
            kill(addr, Access::Exec, Why::NoExec)
        );
    }
}

#[test]
fn a_write_only_region_is_readable_as_on_x86() {
    let set = task();
    assert_eq!(
        resolve_fault(&set, W_AT, Access::Read, false),
        FaultAction::MapZeroed {
            page: W_AT,
            prot: Prot::WRITE
        }
    );
    assert_eq!(
        resolve_fault(&set, W_AT, Access::Exec, false),
        kill(W_AT, Access::Exec, Why::NoExec)
    );
}

#[test]
fn a_write_to_a_present_page_of_a_writable_region_is_copy_on_write() {
    let set = task();
    let cases = [
        (RW_AT, RW_AT),
        (RW_AT + P + 0x123, RW_AT + P),
        (W_AT + 8, W_AT),
        (STACK_TOP - 1, STACK_TOP - P),
    ];
    for (addr, page) in cases {
        assert_eq!(
            resolve_fault(&set, addr, Access::Write, true),
            FaultAction::CopyOnWrite {
                page,
                prot: set.find(addr).unwrap().prot
            },
            "{addr:#x}"
        );
    }
}

#[test]
fn a_write_to_a_present_page_of_a_read_only_region_still_kills_read_only() {
    let set = task();
    for addr in [RO_AT, RO_AT + P + 1, RX_AT] {
        assert_eq!(
            resolve_fault(&set, addr, Access::Write, true),
            kill(addr, Access::Write, Why::ReadOnly)
        );
    }
}

#[test]
fn an_exec_of_a_present_page_of_a_non_executable_region_kills_no_exec() {
    let set = task();
    for addr in [RW_AT, RO_AT + 3, W_AT, STACK_TOP - 8] {
        assert_eq!(
            resolve_fault(&set, addr, Access::Exec, true),
            kill(addr, Access::Exec, Why::NoExec)
        );
    }
}

#[test]
fn a_present_fault_the_region_allows_other_than_a_write_kills_with_what_the_entry_implies() {
    let set = task();
    assert_eq!(
        resolve_fault(&set, RX_AT, Access::Exec, true),
        kill(RX_AT, Access::Exec, Why::NoExec)
    );
    assert_eq!(
        resolve_fault(&set, RW_AT, Access::Read, true),
        kill(RW_AT, Access::Read, Why::NoAccess)
    );
}

#[test]
fn a_write_to_a_present_guard_or_no_access_page_is_never_copy_on_write() {
    let set = task();
    assert_eq!(
        resolve_fault(&set, GUARD_BOTTOM, Access::Write, true),
        kill(GUARD_BOTTOM, Access::Write, Why::GuardPage)
    );
    assert_eq!(
        resolve_fault(&set, NONE_AT, Access::Write, true),
        kill(NONE_AT, Access::Write, Why::NoAccess)
    );
}

#[test]
fn access_and_why_display_as_their_words() {
    assert_eq!(Access::Read.to_string(), "read");
    assert_eq!(Access::Write.to_string(), "write");
    assert_eq!(Access::Exec.to_string(), "exec");
    assert_eq!(Why::NotMapped.to_string(), "not mapped");
    assert_eq!(Why::NotUserMemory.to_string(), "not user memory");
    assert_eq!(Why::ReadOnly.to_string(), "read-only");
    assert_eq!(Why::NoAccess.to_string(), "no-access");
    assert_eq!(Why::NoExec.to_string(), "no-exec");
    assert_eq!(Why::GuardPage.to_string(), "guard page");
    assert_eq!(Why::OutOfMemory.to_string(), "out of memory");
}

#[test]
fn fault_reports_display_exactly_as_the_contract_says() {
    let r = |addr, access, why| FaultReport { addr, access, why }.to_string();
    assert_eq!(
        r(0x4000_2000, Access::Write, Why::NotMapped),
        "page fault at 0x40002000 (write, not mapped)"
    );
    assert_eq!(
        r(0x4000_2000, Access::Read, Why::NotMapped),
        "page fault at 0x40002000 (read, not mapped)"
    );
    assert_eq!(
        r(0x4000_0abc, Access::Write, Why::ReadOnly),
        "page fault at 0x40000abc (write, read-only)"
    );
    assert_eq!(
        r(0xdead_beef, Access::Read, Why::NoAccess),
        "page fault at 0xdeadbeef (read, no-access)"
    );
    assert_eq!(
        r(0x7ffe_ffff_8000, Access::Exec, Why::NoExec),
        "page fault at 0x7ffeffff8000 (exec, no-exec)"
    );
    assert_eq!(
        r(0x7ffe_ffff_7ff8, Access::Write, Why::GuardPage),
        "page fault at 0x7ffeffff7ff8 (guard page)"
    );
    assert_eq!(
        r(0x4000_0000, Access::Read, Why::OutOfMemory),
        "page fault at 0x40000000 (out of memory)"
    );
    assert_eq!(
        r(0, Access::Read, Why::NotMapped),
        "page fault at 0x0 (read, not mapped)"
    );
}

#[test]
fn the_error_code_decodes_to_access_and_present_bit() {
    assert_eq!(decode_error_code(0b0_0000), (Access::Read, false));
    assert_eq!(decode_error_code(0b0_0001), (Access::Read, true));
    assert_eq!(decode_error_code(0b0_0010), (Access::Write, false));
    assert_eq!(decode_error_code(0b0_0111), (Access::Write, true));
    assert_eq!(decode_error_code(0b1_0000), (Access::Exec, false));
    assert_eq!(decode_error_code(0b1_0101), (Access::Exec, true));
}
