//! The CMOS real-time clock, read only for its seconds: a clock independent of the
//! PIT, so a test can check the timer's rate against it.
use x86_64::instructions::port::Port;

const INDEX: u16 = 0x70;
const DATA: u16 = 0x71;
const SECONDS: u8 = 0x00;
const STATUS_A: u8 = 0x0a;
const UPDATE_IN_PROGRESS: u8 = 0x80;

fn read(register: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index and data registers on every PC;
    // selecting a register and reading it changes nothing else (NMI stays enabled:
    // bit 7 of the index is clear).
    unsafe {
        Port::<u8>::new(INDEX).write(register);
        Port::<u8>::new(DATA).read()
    }
}

/// The RTC's seconds register (BCD or binary, as the firmware set it: callers only
/// compare values), read outside an update.
pub fn seconds() -> u8 {
    while read(STATUS_A) & UPDATE_IN_PROGRESS != 0 {}
    read(SECONDS)
}
