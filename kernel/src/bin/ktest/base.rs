//! Foundation cases: exceptions, heap, frames, timer, input, executor.
use crate::cases::{Body, Case, Outcome};
use crate::{ensure, ensure_eq};
use alloc::{boxed::Box, vec::Vec};
use core::sync::atomic::Ordering;
use lazuli_kernel::{arch::interrupts::BREAKPOINTS, input, mem::frame, mem::heap, time};

pub static CASES: &[Case] = &[
    Case {
        name: "breakpoint_exception_returns",
        body: Body::Inline(breakpoint_returns),
    },
    Case {
        name: "heap_storm_frees_and_reuses_memory",
        body: Body::Inline(heap_storm),
    },
    Case {
        name: "frames_freed_bring_the_free_count_back",
        body: Body::Inline(frames_round_trip),
    },
    Case {
        name: "timer_interrupts_arrive",
        body: Body::Inline(timer_ticks),
    },
    Case {
        name: "sleep_resumes_after_its_deadline",
        body: Body::Task(|| Box::pin(sleep_waits())),
    },
    Case {
        name: "input_bytes_arrive_in_order",
        body: Body::Task(|| Box::pin(input_in_order())),
    },
    Case {
        name: "pci_scan_finds_the_pc_machines_host_and_isa_bridges",
        body: Body::Inline(pci_scan),
    },
    Case {
        name: "stale_wake_ups_of_ended_tasks_leak_nothing",
        body: Body::Task(|| Box::pin(stale_wake_ups())),
    },
];

fn breakpoint_returns() -> Outcome {
    let before = BREAKPOINTS.load(Ordering::Relaxed);
    x86_64::instructions::interrupts::int3();
    ensure_eq!(
        BREAKPOINTS.load(Ordering::Relaxed),
        before + 1,
        "int3 reached the handler once"
    );
    Ok(())
}

fn heap_storm() -> Outcome {
    let baseline = heap::used();
    // 4096 rounds of 16 KiB live at most 64 at a time: 64 MiB through a 16 MiB heap.
    let mut live: Vec<Box<[u8]>> = Vec::new();
    for round in 0..4096usize {
        let size = 1024 + (round * 4099) % (15 * 1024);
        live.push(alloc::vec![round as u8; size].into_boxed_slice());
        if live.len() == 64 {
            for (i, b) in live.iter().enumerate() {
                ensure!(b.iter().all(|&x| x == b[0]), "allocation {i} corrupted");
            }
            live.clear();
        }
    }
    drop(live);
    ensure_eq!(heap::used(), baseline, "heap use back to where it started");
    Ok(())
}

fn frames_round_trip() -> Outcome {
    let before = frame::free_frames();
    let mut frames = Vec::new();
    for _ in 0..1000 {
        frames.push(frame::allocate(frame::FrameUse::Kernel).ok_or("out of frames")?);
    }
    ensure_eq!(frame::free_frames(), before - 1000, "1000 frames taken");
    let first = frames[999].addr();
    ensure_eq!(
        frame::use_of(frame::phys(&frames[999])),
        frame::FrameUse::Kernel,
        "the record says what it is for"
    );
    for f in frames.drain(..) {
        frame::free(f);
    }
    ensure_eq!(frame::free_frames(), before, "all given back");
    let again = frame::allocate(frame::FrameUse::Kernel).ok_or("out of frames")?;
    ensure_eq!(
        again.addr(),
        first,
        "the last frame freed is the first reused"
    );
    ensure_eq!(frame::owners(frame::phys(&again)), 1, "one owner");
    frame::free(again);
    Ok(())
}

/// The PIT ticks at its rate (1 kHz) as measured against the CMOS clock: the ticks
/// between two changes of the RTC's seconds.
fn timer_ticks() -> Outcome {
    let next_second = || {
        let now = lazuli_kernel::arch::rtc::seconds();
        while lazuli_kernel::arch::rtc::seconds() == now {
            x86_64::instructions::hlt(); // the timer ends each hlt
        }
    };
    // Under TCG a busy host can keep the CPU from taking a tick before the next
    // one is due, and that edge is lost: one of up to three RTC seconds within
    // ±10% passes (a wrong PIT divisor is off in every one).
    let hz = lazuli_kernel::arch::pic::TIMER_HZ as u64;
    let mut seconds = Vec::new();
    next_second();
    while seconds.len() < 3 {
        let start = time::ticks();
        next_second();
        let per_second = time::ticks() - start;
        if per_second * 10 >= hz * 9 && per_second * 10 <= hz * 11 {
            return Ok(());
        }
        seconds.push(per_second);
    }
    Err(alloc::format!(
        "{seconds:?} ticks in three RTC seconds, want {hz} ± 10% in one"
    ))
}

async fn sleep_waits() -> Outcome {
    let start = time::uptime_ms();
    lazuli_api::sleep(30).await;
    let slept = time::uptime_ms() - start;
    ensure!(slept >= 30, "woke after {slept} ms");
    Ok(())
}

async fn input_in_order() -> Outcome {
    for b in *b"lazuli" {
        input::push(b);
    }
    let mut got = Vec::new();
    for _ in 0..6 {
        got.push(lazuli_api::read_byte().await);
    }
    ensure_eq!(&got[..], b"lazuli", "bytes read back");
    Ok(())
}

/// Pending once after waking itself twice: the second wake-up arrives after the
/// task has ended.
struct DoubleWake(bool);

impl core::future::Future for DoubleWake {
    type Output = i32;
    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<i32> {
        if self.0 {
            return core::task::Poll::Ready(0);
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        cx.waker().wake_by_ref();
        core::task::Poll::Pending
    }
}

async fn stale_wake_ups() -> Outcome {
    let _ = lazuli_api::wait(lazuli_api::spawn("warm", DoubleWake(false))).await;
    let heap = heap::used();
    for _ in 0..20 {
        let pid = lazuli_api::spawn("stale", DoubleWake(false));
        ensure!(lazuli_api::wait(pid).await.is_ok(), "task {pid} ended");
    }
    lazuli_api::yield_now().await; // let the executor see the last stale wake-up
    ensure_eq!(
        heap::used(),
        heap,
        "heap in use after 20 tasks with stale wake-ups"
    );
    Ok(())
}

/// QEMU's `-machine pc`: the i440FX host bridge at 00:00.0 and the PIIX3 ISA bridge
/// at 00:01.0 (a multi-function device: its IDE controller is 00:01.1).
fn pci_scan() -> Outcome {
    use lazuli_kernel::arch::pci;
    let found = pci::scan();
    let at = |device, function| pci::Location {
        bus: 0,
        device,
        function,
    };
    let host = found.iter().find(|f| f.at == at(0, 0));
    ensure_eq!(
        host.map(|f| (f.vendor, f.device, f.class >> 16)),
        Some((0x8086, 0x1237, 0x06)),
        "00:00.0 (vendor, device, class)"
    );
    let isa = found.iter().find(|f| f.at == at(1, 0));
    ensure_eq!(
        isa.map(|f| (f.vendor, f.device)),
        Some((0x8086, 0x7000)),
        "00:01.0"
    );
    ensure!(
        found.iter().any(|f| f.at == at(1, 1)),
        "the PIIX3's second function (00:01.1) was found: {} functions in all",
        found.len()
    );
    Ok(())
}
