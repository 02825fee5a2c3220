//! The GDT and TSS: flat kernel and user segments, and the TSS's stacks — one for
//! double faults (so a kernel stack overflow reports itself instead of
//! triple-faulting) and one that the CPU switches to on every interrupt or
//! exception taken from user mode (ring 3).
use spin::Lazy;
use x86_64::{
    VirtAddr,
    instructions::{
        segmentation::{CS, DS, ES, SS, Segment},
        tables::load_tss,
    },
    structures::{
        gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector},
        tss::TaskStateSegment,
    },
};

pub const DOUBLE_FAULT_IST: u16 = 0;
const IST_STACK_SIZE: usize = 16 * 1024;
/// The stack for traps from ring 3: page faults (which may zero and map a frame),
/// interrupts, exceptions. It is empty whenever the CPU runs kernel code of a task.
const USER_TRAP_STACK_SIZE: usize = 64 * 1024;

#[repr(align(16))]
struct Stack<const N: usize>([u8; N]);

static TSS: Lazy<TaskStateSegment> = Lazy::new(|| {
    static mut DOUBLE_FAULT_STACK: Stack<IST_STACK_SIZE> = Stack([0; IST_STACK_SIZE]);
    static mut USER_TRAP_STACK: Stack<USER_TRAP_STACK_SIZE> = Stack([0; USER_TRAP_STACK_SIZE]);
    let mut tss = TaskStateSegment::new();
    let double_fault = VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK);
    tss.interrupt_stack_table[DOUBLE_FAULT_IST as usize] = double_fault + IST_STACK_SIZE as u64;
    let user_trap = VirtAddr::from_ptr(&raw const USER_TRAP_STACK);
    tss.privilege_stack_table[0] = user_trap + USER_TRAP_STACK_SIZE as u64;
    tss
});

/// The selectors of lazuli's GDT.
pub struct Selectors {
    pub kernel_code: SegmentSelector,
    pub kernel_data: SegmentSelector,
    /// 64-bit code, DPL 3 (RPL 3 in the selector).
    pub user_code: SegmentSelector,
    /// Data/stack, DPL 3 (RPL 3 in the selector).
    pub user_data: SegmentSelector,
    tss: SegmentSelector,
}

static GDT: Lazy<(GlobalDescriptorTable, Selectors)> = Lazy::new(|| {
    let mut gdt = GlobalDescriptorTable::new();
    let kernel_code = gdt.append(Descriptor::kernel_code_segment());
    let kernel_data = gdt.append(Descriptor::kernel_data_segment());
    // Data before code, the order `sysret` would want, should syscall come later.
    let user_data = gdt.append(Descriptor::user_data_segment());
    let user_code = gdt.append(Descriptor::user_code_segment());
    let tss = gdt.append(Descriptor::tss_segment(&TSS));
    let selectors = Selectors {
        kernel_code,
        kernel_data,
        user_code,
        user_data,
        tss,
    };
    (gdt, selectors)
});

/// Loads lazuli's own GDT (replacing the bootloader's, which lives in the lower half
/// that tasks own) and the TSS.
pub fn init() {
    GDT.0.load();
    // SAFETY: the selectors come from the GDT just loaded and describe flat ring-0
    // segments and a TSS that lives in a static.
    unsafe {
        CS::set_reg(GDT.1.kernel_code);
        load_tss(GDT.1.tss);
    }
    restore_kernel_data_segments();
}

/// The GDT's selectors.
pub fn selectors() -> &'static Selectors {
    &GDT.1
}

/// Reloads SS, DS and ES with the kernel's data segment: an entry from ring 3
/// leaves SS null and a return to ring 3 nulls DS and ES.
pub fn restore_kernel_data_segments() {
    let data = GDT.1.kernel_data;
    // SAFETY: a flat ring-0 data segment of the loaded GDT; loading it changes no
    // address the kernel uses (segmentation is flat in 64-bit mode).
    unsafe {
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
    }
}
