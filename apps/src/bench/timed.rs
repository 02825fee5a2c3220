//! Accesses timed in user mode, one sample each, as the Linux guest's benchmark
//! times them: a loop of ring-3 code reads the TSC around each access itself, so
//! the figure holds the fault and nothing of the app API.
use super::{PAGE, Samples};
use alloc::{vec, vec::Vec};
use lazuli_api::diag::FaultTicks;
use lazuli_api::{Placement, Prot, map, munmap, user};

/// What the timed instruction does to each page.
#[derive(Clone, Copy, Debug)]
pub enum Access {
    /// A one-byte load.
    Load,
    /// A one-byte store (of 1).
    Store,
}

/// Maps a page of user code holding `code`; returns its address.
pub async fn user_code(code: &[u8]) -> Result<usize, lazuli_api::VmError> {
    let at = map(PAGE, Prot::RWX, Placement::Anywhere)?;
    for (i, &byte) in code.iter().enumerate() {
        user::store(at + i, byte).await;
    }
    Ok(at)
}

/// Times one `access` to each of `pages` pages from `base` in user mode, as
/// pagebench.c does (`rdtsc`, one load or store, `rdtsc`), and returns the ticks
/// per page. The ticks go to a buffer of the task's own, touched beforehand so
/// that only the timed accesses fault; one user-mode call makes all of them.
pub async fn first_accesses(base: usize, pages: usize, access: Access) -> Option<Samples> {
    Some(timed_accesses(base, pages, access, false).await?.0)
}

/// One timed access in parts: the ticks the kernel's page-fault handler spent
/// (entry to return, timed by the kernel), of those the ticks of filling the new
/// frame (zeroing it, or copying into it), and the rest of the timed access — the
/// CPU's part: the walk that fails, delivering #PF from ring 3, `iretq`, the walk
/// of the retried access. Under QEMU's TCG the CPU's part is a floor no kernel
/// change lowers.
#[derive(Clone, Copy, Debug)]
pub struct Parts {
    pub handler: u64,
    pub fill: u64,
    pub outside: u64,
}

/// Like [`first_accesses`], with the kernel timing its handler for each fault (which
/// costs the figure two TSC readings): each access in parts. None unless each
/// access faulted once.
pub async fn first_accesses_split(base: usize, pages: usize, access: Access) -> Option<Vec<Parts>> {
    let (total, kernel) = timed_accesses(base, pages, access, true).await?;
    let kernel = kernel.filter(|k| k.len() == pages)?;
    let parts = total.raw().iter().zip(&kernel).map(|(t, k)| Parts {
        handler: k.handler,
        fill: k.fill,
        outside: t.saturating_sub(k.handler),
    });
    Some(parts.collect())
}

/// `bench NAME_handler`, `NAME_FILL` for faults that fill their frames (`fill`
/// names that part: `zero`, `copy`), and `NAME_outside`.
pub fn report_parts(name: &str, fill: Option<&str>, parts: &[Parts]) {
    let figure =
        |part: fn(&Parts) -> u64| Samples::from(parts.iter().map(part).collect::<Vec<_>>());
    super::report(&alloc::format!("{name}_handler"), &figure(|p| p.handler));
    if let Some(fill) = fill {
        super::report(&alloc::format!("{name}_{fill}"), &figure(|p| p.fill));
    }
    super::report(&alloc::format!("{name}_outside"), &figure(|p| p.outside));
}

/// The timed loop over `pages` pages; with `split`, also the kernel's handler ticks
/// of the faults it took (None if the kernel kept too few).
async fn timed_accesses(
    base: usize,
    pages: usize,
    access: Access,
    split: bool,
) -> Option<(Samples, Option<Vec<FaultTicks>>)> {
    let out = map(pages * 8, Prot::RW, Placement::Anywhere).ok()?;
    for page in (0..pages * 8).step_by(PAGE) {
        user::store(out + page, 0).await;
    }
    let code = user_code(&timed_loop(base, out, pages, access))
        .await
        .ok()?;
    if split {
        lazuli_api::diag::arm_fault_timing();
    }
    user::call(code).await;
    let handler = split.then(lazuli_api::diag::fault_handler_ticks).flatten();
    let mut ticks = Vec::with_capacity(pages);
    for i in 0..pages {
        ticks.push(user::load_u64(out + i * 8).await);
    }
    munmap(out, pages * 8).ok()?;
    munmap(code, PAGE).ok()?;
    Some((Samples::from(ticks), handler))
}

/// x86-64 code that makes `access` to the first byte of each of `pages` pages from
/// `base`, timing each with `lfence; rdtsc; lfence` on both sides, and writes the
/// ticks to consecutive words from `out`; then returns.
fn timed_loop(base: usize, out: usize, pages: usize, access: Access) -> Vec<u8> {
    const READ_TSC: [u8; 15] = [
        0x0f, 0xae, 0xe8, // lfence
        0x0f, 0x31, // rdtsc
        0x0f, 0xae, 0xe8, // lfence
        0x48, 0xc1, 0xe2, 0x20, // shl rdx, 32
        0x48, 0x09, 0xd0, // or rax, rdx
    ];
    let mut code = vec![0x48, 0xbf]; // movabs rdi, base
    code.extend_from_slice(&(base as u64).to_le_bytes());
    code.extend_from_slice(&[0x48, 0xbe]); // movabs rsi, out
    code.extend_from_slice(&(out as u64).to_le_bytes());
    code.push(0xb9); // mov ecx, pages
    code.extend_from_slice(&(pages as u32).to_le_bytes());
    let top = code.len();
    code.extend_from_slice(&READ_TSC);
    code.extend_from_slice(&[0x49, 0x89, 0xc0]); // mov r8, rax
    code.extend_from_slice(match access {
        Access::Load => &[0x44, 0x8a, 0x0f],  // mov r9b, byte [rdi]
        Access::Store => &[0xc6, 0x07, 0x01], // mov byte [rdi], 1
    });
    code.extend_from_slice(&READ_TSC);
    code.extend_from_slice(&[0x4c, 0x29, 0xc0]); // sub rax, r8
    code.extend_from_slice(&[0x48, 0x89, 0x06]); // mov [rsi], rax
    code.extend_from_slice(&[0x48, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00]); // add rdi, 4096
    code.extend_from_slice(&[0x48, 0x83, 0xc6, 0x08]); // add rsi, 8
    code.extend_from_slice(&[0xff, 0xc9]); // dec ecx
    let back = top as isize - (code.len() + 2) as isize;
    code.extend_from_slice(&[0x75, back as i8 as u8]); // jnz top
    code.push(0xc3); // ret
    code
}
