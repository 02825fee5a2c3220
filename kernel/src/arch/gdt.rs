//! The GDT and TSS: a kernel code segment and a separate stack for double faults, so
//! a kernel stack overflow reports itself instead of triple-faulting.
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

static TSS: Lazy<TaskStateSegment> = Lazy::new(|| {
    static mut STACK: [u8; IST_STACK_SIZE] = [0; IST_STACK_SIZE];
    let mut tss = TaskStateSegment::new();
    let start = VirtAddr::from_ptr(&raw const STACK);
    tss.interrupt_stack_table[DOUBLE_FAULT_IST as usize] = start + IST_STACK_SIZE as u64;
    tss
});

struct Selectors {
    code: SegmentSelector,
    data: SegmentSelector,
    tss: SegmentSelector,
}

static GDT: Lazy<(GlobalDescriptorTable, Selectors)> = Lazy::new(|| {
    let mut gdt = GlobalDescriptorTable::new();
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss = gdt.append(Descriptor::tss_segment(&TSS));
    (gdt, Selectors { code, data, tss })
});

/// Loads lazuli's own GDT (replacing the bootloader's, which lives in the lower half
/// that tasks own) and the TSS.
pub fn init() {
    GDT.0.load();
    // SAFETY: the selectors come from the GDT just loaded and describe flat ring-0
    // segments and a TSS that lives in a static.
    unsafe {
        CS::set_reg(GDT.1.code);
        SS::set_reg(GDT.1.data);
        DS::set_reg(GDT.1.data);
        ES::set_reg(GDT.1.data);
        load_tss(GDT.1.tss);
    }
}
