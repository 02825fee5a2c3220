//! The CMOS real-time clock: its seconds (a clock independent of the PIT, so a test
//! can check the timer's rate against it) and its calendar registers (file time
//! stamps; `lazuli_storage::clock` decodes them).
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

/// Every calendar register, read twice until two reads agree (so no update of
/// the clock falls between them).
pub fn calendar() -> lazuli_storage::clock::RawCmos {
    let once = || {
        while read(STATUS_A) & UPDATE_IN_PROGRESS != 0 {}
        lazuli_storage::clock::RawCmos {
            seconds: read(SECONDS),
            minutes: read(0x02),
            hours: read(0x04),
            day: read(0x07),
            month: read(0x08),
            year: read(0x09),
            century: read(0x32),
            status_b: read(0x0b),
        }
    };
    loop {
        let (a, b) = (once(), once());
        if a == b {
            return a;
        }
    }
}
