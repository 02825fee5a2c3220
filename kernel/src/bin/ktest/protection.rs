//! Protection (CONTRACTS.md section 7): the address rule at the API edge, code in
//! user pages running in ring 3, Ctrl-C, and kills that leak nothing.
use crate::cases::{Case, Outcome};
use crate::check::{ended, run_task};
use crate::{ensure, ensure_eq, task_case};
use alloc::{boxed::Box, format, string::String};
use lazuli_api::{
    ExitStatus, KillReason, PAGE_SIZE as PAGE, Placement, Prot, free_frames, heap, map, numpp,
    set_foreground, sleep, spawn, user, wait, yield_now,
};
use lazuli_kernel::input;
use lazuli_vm::layout::{STACK_TOP, USER_END};

pub static CASES: &[Case] = &[
    task_case!(
        "accesses_at_or_above_user_end_kill_with_not_user_memory",
        address_rule
    ),
    task_case!(
        "a_refused_write_leaves_the_kernel_heap_untouched",
        heap_write_refused
    ),
    task_case!(
        "user_code_runs_in_ring_3_and_returns_its_rax",
        ring3_returns
    ),
    task_case!(
        "user_calls_preempted_anywhere_even_at_the_trampoline_return",
        many_user_calls
    ),
    task_case!(
        "user_code_faults_kill_with_the_contract_reasons",
        ring3_faults
    ),
    task_case!(
        "user_code_touching_a_lazy_page_gets_it_mapped",
        ring3_demand_paging
    ),
    task_case!(
        "an_endless_user_loop_is_preempted_and_ended_by_ctrl_c",
        ring3_loop_interrupted
    ),
    task_case!(
        "an_endless_user_loop_of_system_calls_is_preempted_and_ended_by_ctrl_c",
        ring3_syscall_loop_interrupted
    ),
    task_case!(
        "ctrl_c_ends_a_command_that_sleeps_waits_or_reads",
        interrupt_waiting
    ),
    task_case!(
        "ctrl_c_leaves_the_bytes_around_it_for_the_next_reader",
        interrupt_type_ahead
    ),
    task_case!(
        "only_a_task_the_caller_started_can_be_made_the_foreground",
        foreground_rules
    ),
    task_case!(
        "a_full_ring_of_type_ahead_still_takes_ctrl_c",
        interrupt_behind_full_ring
    ),
    task_case!(
        "a_thousand_kills_of_a_playground_leave_heap_and_frames_as_they_were",
        thousand_kills
    ),
    task_case!(
        "a_killed_task_takes_the_tasks_it_started_along",
        children_go_with_a_killed_parent
    ),
];

/// Maps one rwx page holding `code`; returns its address.
pub async fn code_page(code: &[u8]) -> Result<usize, String> {
    let a = map(PAGE, Prot::RWX, Placement::Anywhere).map_err(|e| format!("map: {e}"))?;
    for (i, &byte) in code.iter().enumerate() {
        user::store(a + i, byte).await;
    }
    Ok(a)
}

async fn address_rule() -> Outcome {
    let frames = free_frames();
    let cases: [(usize, &str); 5] = [
        (USER_END as usize, "read"),
        (0xffff_c000_0000_0000, "read"),
        (0xffff_8000_0000_0000, "write"),
        (usize::MAX, "write"),
        (USER_END as usize - 4, "write"), // a word that would cross USER_END
    ];
    for (i, (addr, access)) in cases.into_iter().enumerate() {
        let got = run_task(async move {
            match (access, i) {
                ("read", _) => i32::from(user::load(addr).await),
                (_, 4) => {
                    user::store_u64(addr, 1).await;
                    0
                }
                _ => {
                    user::store(addr, 1).await;
                    0
                }
            }
        })
        .await;
        let want = format!("killed: page fault at {addr:#x} ({access}, not user memory)");
        ensure_eq!(got, want, "access at {addr:#x}");
    }
    let got = run_task(async { i32::from(user::call(USER_END as usize).await == 0) }).await;
    ensure_eq!(
        got,
        format!("killed: page fault at {USER_END:#x} (exec, not user memory)"),
        "x of USER_END"
    );
    // Low addresses that were never mapped stay "not mapped".
    let got = run_task(async { i32::from(user::load(0x1000).await) }).await;
    ensure_eq!(
        got,
        "killed: page fault at 0x1000 (read, not mapped)",
        "null page"
    );
    ensure_eq!(free_frames(), frames, "frames after the kills");
    Ok(())
}

async fn heap_write_refused() -> Outcome {
    let secret = Box::new(0x5eed_u64);
    let at = &*secret as *const u64 as usize;
    let got = run_task(async move {
        user::store_u64(at, 0xbad).await;
        0
    })
    .await;
    ensure_eq!(
        got,
        format!("killed: page fault at {at:#x} (write, not user memory)"),
        "write to a heap object"
    );
    ensure_eq!(*secret, 0x5eed, "the heap object");
    Ok(())
}

async fn ring3_returns() -> Outcome {
    let ret = code_page(&[0xc3]).await?;
    let (pp, frames) = (numpp(), free_frames());
    user::call(ret).await;
    // The return address went on the user stack: its top page is now present.
    ensure_eq!(numpp(), pp + 1, "numpp after the call (one stack page)");
    ensure!(free_frames() < frames, "the stack page took a frame");
    let answer = code_page(&[0xb8, 42, 0, 0, 0, 0xc3]).await?; // mov eax, 42; ret
    ensure_eq!(user::call(answer).await, 42, "rax after mov eax, 42; ret");
    // mov eax, cs; and eax, 3; ret — the privilege level the code ran at.
    let ring = code_page(&[0x8c, 0xc8, 0x83, 0xe0, 0x03, 0xc3]).await?;
    ensure_eq!(user::call(ring).await, 3, "CS's RPL in the called code");
    // mov rax, rsp; ret — rsp as the code saw it: just below the top of the stack.
    let rsp = code_page(&[0x48, 0x89, 0xe0, 0xc3]).await?;
    ensure_eq!(user::call(rsp).await, STACK_TOP - 8, "the user rsp");
    // std; ret — user code sets the direction flag; the kernel must not run with it.
    let std = code_page(&[0xfd, 0xc3]).await?;
    user::call(std).await;
    let flags = x86_64::registers::rflags::read();
    ensure!(
        !flags.contains(x86_64::registers::rflags::RFlags::DIRECTION_FLAG),
        "DF is set in the kernel after user code ran std"
    );
    let copy = alloc::vec![7u8; 100].clone(); // rep movs, forwards
    ensure!(
        copy.iter().all(|&b| b == 7),
        "a copy after user code ran std"
    );
    Ok(())
}

/// Many short user-mode calls, so that the timer lands in every part of one — also
/// right at the trampoline's first instruction, in the kernel half, which the
/// resumed call must run (found in CI: such a resume was once refused).
async fn many_user_calls() -> Outcome {
    let ret = code_page(&[0xc3]).await?;
    let t0 = lazuli_kernel::time::ticks();
    let mut calls = 0u32;
    while lazuli_kernel::time::ticks() < t0 + 300 {
        user::call(ret).await;
        calls += 1;
    }
    ensure!(calls > 100, "only {calls} calls in 300 ticks");
    Ok(())
}

/// `movabs rax, [addr]; ret`: a read of `addr` from ring 3.
fn read_at(addr: u64) -> [u8; 11] {
    let mut code = [0x48, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3];
    code[2..10].copy_from_slice(&addr.to_le_bytes());
    code
}

async fn ring3_faults() -> Outcome {
    let frames = free_frames();
    let kernel_heap = 0xffff_c000_0000_0000u64;
    let cases: [(&[u8], usize, String); 6] = [
        (&[0xfa, 0xf4], 0, String::from("general protection fault")), // cli; hlt
        (&[0x0f, 0x0b], 0, String::from("invalid opcode")),           // ud2
        (&[0x31, 0xc9, 0xf7, 0xf1], 2, String::from("divide error")), // xor ecx, ecx; div ecx
        (&read_at(kernel_heap), 0, String::new()),
        (&[0xe6, 0xf4], 0, String::from("general protection fault")), // out 0xf4, al
        // movabs rsp, 0x8000000000000000; mov eax, 1; int 0x80 — an unknown call, and
        // a stack pointer `iretq` cannot return to: refused at the rip after the call.
        (
            &[
                0x48, 0xbc, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xb8, 1, 0, 0, 0, 0xcd, 0x80,
            ],
            17,
            String::from("general protection fault"),
        ),
    ];
    for (code, offset, name) in cases {
        let code = code.to_vec();
        let placed = alloc::rc::Rc::new(core::cell::Cell::new(0usize));
        let seen = placed.clone();
        let got = run_task(async move {
            let Ok(a) = code_page(&code).await else {
                return 9;
            };
            seen.set(a);
            user::call(a).await;
            0
        })
        .await;
        let want = if name.is_empty() {
            format!("killed: page fault at {kernel_heap:#x} (read, not user memory)")
        } else {
            format!("killed: {name} at {:#x}", placed.get() + offset)
        };
        ensure_eq!(got, want, "user code {name:?}");
    }
    ensure_eq!(free_frames(), frames, "frames after the kills");
    Ok(())
}

async fn ring3_demand_paging() -> Outcome {
    let data = map(PAGE, Prot::RW, Placement::Anywhere).map_err(|e| format!("map: {e}"))?;
    // movabs rax, data; mov byte [rax], 42; ret
    let mut code = [0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xc6, 0x00, 42, 0xc3];
    code[2..10].copy_from_slice(&(data as u64).to_le_bytes());
    let f = code_page(&code).await?;
    user::call(f).await; // the stack page, then the data page, fault in
    let pp = numpp();
    ensure_eq!(user::load(data).await, 42, "what the user code wrote");
    ensure_eq!(numpp(), pp, "reading it back faults nothing in");
    Ok(())
}

async fn ring3_loop_interrupted() -> Outcome {
    spin_then_interrupt(&[0xeb, 0xfe]).await // jmp $
}

async fn ring3_syscall_loop_interrupted() -> Outcome {
    // 1: mov eax, 1; int 0x80; jmp 1b — an endless loop of (unknown) system calls.
    spin_then_interrupt(&[0xb8, 1, 0, 0, 0, 0xcd, 0x80, 0xeb, 0xf7]).await
}

/// Runs `code` in user mode in a task of its own (it never returns), checks that
/// this task still sleeps and wakes meanwhile, then ends it with Ctrl-C.
async fn spin_then_interrupt(code: &'static [u8]) -> Outcome {
    let frames = free_frames();
    let pid = spawn("spinner", async move {
        let Ok(a) = code_page(code).await else {
            return 9;
        };
        user::call(a).await;
        0
    });
    set_foreground(Some(pid)).map_err(|e| format!("foreground: {e:?}"))?;
    // This task sleeps and wakes while the loop runs: the timer preempts it.
    let t0 = lazuli_kernel::time::ticks();
    sleep(20).await;
    ensure!(lazuli_kernel::time::ticks() >= t0 + 20, "time went on");
    input::push(input::INTERRUPT);
    let status = wait(pid).await;
    let _ = set_foreground(None); // ours to end: it cannot fail
    ensure_eq!(
        status,
        Ok(ExitStatus::Killed(KillReason::Interrupted)),
        "the spinner's end"
    );
    ensure_eq!(free_frames(), frames, "frames after the kill");
    Ok(())
}

/// Starts `body` in the foreground, lets it block, sends Ctrl-C; how it ended.
async fn interrupt(body: impl core::future::Future<Output = i32> + 'static) -> String {
    let pid = spawn("waiter", body);
    if let Err(e) = set_foreground(Some(pid)) {
        return format!("foreground refused: {e:?}");
    }
    for _ in 0..3 {
        yield_now().await;
    }
    input::push(input::INTERRUPT);
    let status = ended(wait(pid).await);
    let _ = set_foreground(None); // ours to end: it cannot fail
    status
}

async fn interrupt_waiting() -> Outcome {
    let killed = "killed: interrupted";
    let got = interrupt(async {
        sleep(100_000).await;
        0
    })
    .await;
    ensure_eq!(got, killed, "a sleeper");
    let got = interrupt(async {
        let child = spawn("sleeper", async {
            sleep(100_000).await;
            0
        });
        let _ = wait(child).await;
        0
    })
    .await;
    ensure_eq!(got, killed, "a waiter");
    ensure!(
        lazuli_api::tasks().iter().all(|t| t.name != "sleeper"),
        "the waiter's child went with it"
    );
    let got = interrupt(async { i32::from(lazuli_api::read_byte().await) }).await;
    ensure_eq!(got, killed, "a reader");
    Ok(())
}

async fn interrupt_type_ahead() -> Outcome {
    let pid = spawn("sleeper", async {
        sleep(100_000).await;
        0
    });
    set_foreground(Some(pid)).map_err(|e| format!("foreground: {e:?}"))?;
    yield_now().await;
    for &byte in b"ab\x03cd" {
        input::push(byte);
    }
    let status = ended(wait(pid).await);
    let _ = set_foreground(None); // ours to end: it cannot fail
    ensure_eq!(status, "killed: interrupted", "the sleeper");
    let mut rest = [0u8; 4];
    for byte in &mut rest {
        *byte = lazuli_api::read_byte().await;
    }
    ensure_eq!(&rest, b"abcd", "the bytes typed around Ctrl-C");
    Ok(())
}

async fn foreground_rules() -> Outcome {
    use lazuli_api::{ForegroundError, Pid};
    // Pid 1 started this task: it is no descendant of ours, nor are we.
    ensure_eq!(
        set_foreground(Some(Pid(1))),
        Err(ForegroundError::NotDescendant),
        "an ancestor"
    );
    ensure_eq!(
        set_foreground(Some(lazuli_api::getpid())),
        Err(ForegroundError::NotDescendant),
        "ourselves"
    );
    let child = spawn("child", async {
        // The foreground is our parent's to end, not ours.
        let refused = set_foreground(None) == Err(ForegroundError::NotYours);
        i32::from(!refused)
    });
    ensure_eq!(set_foreground(Some(child)), Ok(()), "our own child");
    ensure_eq!(
        ended(wait(child).await),
        "exited 0",
        "the child's attempt to end it"
    );
    ensure_eq!(set_foreground(None), Ok(()), "ending our own");
    Ok(())
}

async fn interrupt_behind_full_ring() -> Outcome {
    let pid = spawn("sleeper", async {
        sleep(100_000).await;
        0
    });
    set_foreground(Some(pid)).map_err(|e| format!("foreground: {e:?}"))?;
    yield_now().await;
    // A command that never reads while keys keep coming: the ring fills up...
    for _ in 0..input::RING + 10 {
        input::push(b'a');
    }
    input::push(input::INTERRUPT); // ...and Ctrl-C still gets in.
    let status = ended(wait(pid).await);
    let _ = set_foreground(None); // ours to end: it cannot fail
    ensure_eq!(status, "killed: interrupted", "the sleeper");
    let mut kept = 0;
    while input::pending() {
        ensure_eq!(
            lazuli_api::read_byte().await,
            b'a',
            "type-ahead byte {kept}"
        );
        kept += 1;
    }
    ensure_eq!(
        kept,
        input::RING - 1,
        "type-ahead kept (one slot is Ctrl-C's)"
    );
    Ok(())
}

/// A playground script that owns heap objects (its parsed commands) and then waits
/// in `sleep` — or dies at its first access — with the rest never run.
fn long_script(first: &str) -> String {
    let mut script = String::from(first);
    for i in 0..100 {
        script.push_str(&format!(
            "; map 4096 rw; w $+{i} 7; spawn {{ stat; fork {{ free }} }}"
        ));
    }
    script
}

async fn thousand_kills() -> Outcome {
    let sleeper = long_script("mmap 8192; w $+0 1; sleep 100000");
    let faulter = long_script("mmap 8192; w $+0 1; r 0x800000000000");
    let round = async |k: usize| -> String {
        if k % 2 == 0 {
            interrupt(lazuli_apps::vm::main(sleeper.clone())).await
        } else {
            run_task(lazuli_apps::vm::main(faulter.clone())).await
        }
    };
    // Warm up: queues and tables keep the capacity they grew to.
    for k in 0..4 {
        let _ = round(k).await;
    }
    let (frames, used) = (free_frames(), heap().used);
    for k in 0..1000 {
        let got = round(k).await;
        let want = if k % 2 == 0 {
            String::from("killed: interrupted")
        } else {
            String::from("killed: page fault at 0x800000000000 (read, not user memory)")
        };
        ensure_eq!(got, want, "kill {k}");
    }
    ensure_eq!(free_frames(), frames, "free frames after 1000 kills");
    ensure_eq!(heap().used, used, "heap in use after 1000 kills");
    Ok(())
}

async fn children_go_with_a_killed_parent() -> Outcome {
    let frames = free_frames();
    // Two children and a grandchild asleep (one spinning in user mode), then the
    // parent dies of a bad access: nothing it started may outlive it.
    let script = "map 4096 rwx; w $+0 235; w $+1 254; spawn { sleep 100000 }; \
                  spawn { spawn { x $+0 }; sleep 100000 }; sleep 5; r 0x800000000000";
    let got = run_task(lazuli_apps::vm::main(String::from(script))).await;
    ensure_eq!(
        got,
        "killed: page fault at 0x800000000000 (read, not user memory)",
        "the parent"
    );
    let left: alloc::vec::Vec<_> = lazuli_api::tasks()
        .into_iter()
        .filter(|t| t.name == "victim")
        .map(|t| t.pid)
        .collect();
    ensure!(left.is_empty(), "tasks left running: {left:?}");
    ensure_eq!(free_frames(), frames, "frames after the kill");
    Ok(())
}
