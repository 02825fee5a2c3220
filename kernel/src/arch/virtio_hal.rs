//! What virtio-drivers needs from lazuli: PCI configuration access over
//! `arch::pci`'s ports ([`PortAccess`]) and memory ([`FrameHal`]) — frames for its
//! rings, physical addresses of buffers (bounced through a frame when a buffer is
//! not physically consecutive), an uncached window for registers.
use crate::{
    arch::pci,
    mem::{dma, frame},
};
use core::ptr::NonNull;
use virtio_drivers::{
    BufferDirection, Hal, PhysAddr as DevicePhys,
    transport::pci::bus::{ConfigurationAccess, DeviceFunction},
};
use x86_64::{PhysAddr, structures::paging::PhysFrame};

/// PCI configuration access for virtio-drivers, over `arch::pci`'s ports.
pub struct PortAccess;

fn location(df: DeviceFunction) -> pci::Location {
    pci::Location {
        bus: df.bus,
        device: df.device,
        function: df.function,
    }
}

impl ConfigurationAccess for PortAccess {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        pci::read(location(df), offset)
    }
    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        pci::write(location(df), offset, data)
    }
    unsafe fn unsafe_clone(&self) -> Self {
        PortAccess
    }
}

/// virtio-drivers' view of memory: frames for its rings, page tables for
/// addresses, an uncached window for registers.
pub struct FrameHal;

// SAFETY: dma_alloc returns zeroed, page-aligned, physically consecutive frames
// that nothing else uses; `share` returns the physical address of exactly the
// given buffer (or of a bounce frame holding it); registers are mapped uncached.
unsafe impl Hal for FrameHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (DevicePhys, NonNull<u8>) {
        let first = frame::allocate_contiguous(pages).expect("frames for the virtio rings");
        let ptr = NonNull::new(dma::frame_ptr(first)).expect("the physical map is not null");
        (first.start_address().as_u64(), ptr)
    }

    unsafe fn dma_dealloc(paddr: DevicePhys, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        for i in 0..pages as u64 {
            frame::release(PhysFrame::containing_address(PhysAddr::new(
                paddr + i * 4096,
            )));
        }
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: DevicePhys, size: usize) -> NonNull<u8> {
        let virt = dma::map_registers(PhysAddr::new(paddr), size);
        NonNull::new(virt.as_mut_ptr()).expect("the MMIO window is not null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> DevicePhys {
        let (ptr, len) = (buffer.as_ptr().cast::<u8>(), buffer.len());
        if let Some(pa) = dma::physical(ptr, len) {
            return pa.as_u64();
        }
        // Not physically consecutive (a small header straddling two stack pages):
        // bounce it through a frame.
        assert!(len <= 4096, "a bounced DMA buffer fits one frame");
        let bounce =
            frame::allocate(frame::FrameUse::Kernel).expect("a frame to bounce a DMA buffer");
        let bounce = frame::counted(bounce); // until unshare releases it
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the buffer is valid for `len` bytes (the trait's contract)
            // and the bounce frame is ours and at least as long.
            unsafe { core::ptr::copy_nonoverlapping(ptr, dma::frame_ptr(bounce), len) };
        }
        bounce.start_address().as_u64()
    }

    unsafe fn unshare(paddr: DevicePhys, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let (ptr, len) = (buffer.as_ptr().cast::<u8>(), buffer.len());
        if dma::physical(ptr, len).map(|pa| pa.as_u64()) == Some(paddr) {
            return;
        }
        let bounce = PhysFrame::containing_address(PhysAddr::new(paddr));
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: the device is done with the bounce frame; the buffer is valid.
            unsafe { core::ptr::copy_nonoverlapping(dma::frame_ptr(bounce), ptr, len) };
        }
        frame::release(bounce);
    }
}
