//! The kernel's timing of its own page-fault handler (`vm::fault_timing`, armed
//! through `lazuli_api::diag`), which `bench` uses to split each fault figure into
//! the kernel's part and the emulator's.
use crate::cases::{Case, Outcome};
use crate::protection::code_page;
use crate::{ensure, ensure_eq, task_case};
use alloc::format;
use lazuli_api::diag::{arm_fault_timing, fault_handler_ticks};
use lazuli_api::{ExitStatus, PAGE_SIZE as PAGE, Placement, Prot, map, user, wait};

pub static CASES: &[Case] = &[task_case!(
    "fault_timing_records_one_handler_time_per_ring_3_fault",
    one_record_per_ring3_fault
)];

async fn one_record_per_ring3_fault() -> Outcome {
    let data = map(4 * PAGE, Prot::RW, Placement::Anywhere).map_err(|e| format!("map: {e}"))?;
    // movabs rax, data; mov byte [rax + 4096 * i], 1 for i in 0..3; ret
    let mut code = alloc::vec![0x48, 0xb8];
    code.extend_from_slice(&(data as u64).to_le_bytes());
    for i in 0..3u32 {
        code.extend_from_slice(&[0xc6, 0x80]);
        code.extend_from_slice(&(i * PAGE as u32).to_le_bytes());
        code.push(1);
    }
    code.push(0xc3);
    let f = code_page(&code).await?;
    user::call(code_page(&[0xc3]).await?).await; // the stack page faults in first
    arm_fault_timing();
    user::call(f).await;
    let ticks = fault_handler_ticks().ok_or("more faults than the kernel keeps")?;
    ensure_eq!(ticks.len(), 3, "handler times for three first touches");
    ensure!(
        ticks.iter().all(|t| t.handler > 0 && t.fill < t.handler),
        "every handler took time, any zeroing within it: {ticks:?}"
    );
    // A fault of the kernel's user-access routines is not ring 3's, and arming
    // forgets what came before.
    arm_fault_timing();
    user::store(data + 3 * PAGE, 1).await;
    ensure_eq!(
        fault_handler_ticks(),
        Some(alloc::vec![]),
        "a user access by the kernel"
    );
    // In a child, the same stores are copy-on-write faults: each copies a frame.
    let child = lazuli_api::fork(async move {
        arm_fault_timing();
        user::call(f).await;
        let ticks = fault_handler_ticks().unwrap_or_default();
        let copied = ticks.iter().filter(|t| t.fill > 0 && t.fill < t.handler);
        i32::try_from(copied.count()).unwrap_or(-1)
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    ensure_eq!(
        wait(child).await,
        Ok(ExitStatus::Exited(3)),
        "faults that copied, each within its handler time"
    );
    Ok(())
}
