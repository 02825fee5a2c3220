//! File time stamps from the real-time clock (UTC under QEMU, whatever the
//! firmware keeps on a PC). A clock that reads as nonsense stamps FAT's epoch,
//! 1980-01-01 00:00:00, rather than a made-up date.
use lamfat::{Date, DateTime, Time, TimeProvider};

#[derive(Debug, Default, Clone, Copy)]
pub struct RtcClock;

impl RtcClock {
    fn now() -> DateTime {
        match lazuli_storage::clock::decode(crate::arch::rtc::calendar()) {
            Some(t) => DateTime::new(
                Date::new(t.year, t.month, t.day),
                Time::new(t.hour, t.minute, t.second, 0),
            ),
            None => DateTime::new(Date::new(1980, 1, 1), Time::new(0, 0, 0, 0)),
        }
    }
}

impl TimeProvider for RtcClock {
    fn get_current_date(&self) -> Date {
        Self::now().date
    }
    fn get_current_date_time(&self) -> DateTime {
        Self::now()
    }
}
