//! The PC's real-time clock as a calendar time, for file time stamps.
//!
//! The CMOS clock keeps seconds, minutes, hours, day, month and year (two digits,
//! plus a century register on most machines) in BCD or binary, and hours in 12- or
//! 24-hour form, as status register B says. [`decode`] turns the raw registers into
//! a checked [`Civil`] time, or None when they hold nothing sensible — the kernel
//! then stamps files with FAT's epoch instead of trusting a broken clock.

/// The registers as read, untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawCmos {
    pub seconds: u8,
    pub minutes: u8,
    pub hours: u8,
    pub day: u8,
    pub month: u8,
    pub year: u8,
    /// Register 0x32 where the firmware keeps it (QEMU does); 0 if unknown.
    pub century: u8,
    /// Status register B: bit 1 = 24-hour, bit 2 = binary (else BCD).
    pub status_b: u8,
}

/// A calendar date and time, every field in range (FAT's years: 1980–2107).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: u16,
    pub month: u16,
    pub day: u16,
    pub hour: u16,
    pub minute: u16,
    pub second: u16,
}

const HOURS_24: u8 = 1 << 1;
const BINARY: u8 = 1 << 2;
const PM: u8 = 0x80;

fn bcd(v: u8) -> Option<u8> {
    let (hi, lo) = (v >> 4, v & 0x0f);
    (hi <= 9 && lo <= 9).then_some(hi * 10 + lo)
}

/// The calendar time the registers hold, if they hold a valid one.
pub fn decode(raw: RawCmos) -> Option<Civil> {
    let binary = raw.status_b & BINARY != 0;
    let number = |v: u8| if binary { Some(v) } else { bcd(v) };
    let pm = raw.status_b & HOURS_24 == 0 && raw.hours & PM != 0;
    let mut hour = number(raw.hours & !PM)?;
    if raw.status_b & HOURS_24 == 0 {
        // 12-hour form: 12 AM is midnight, 12 PM noon.
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let century = match number(raw.century) {
        Some(c @ 19..=21) => u16::from(c),
        _ => 20,
    };
    let civil = Civil {
        year: century * 100 + u16::from(number(raw.year)?),
        month: u16::from(number(raw.month)?),
        day: u16::from(number(raw.day)?),
        hour: u16::from(hour),
        minute: u16::from(number(raw.minutes)?),
        second: u16::from(number(raw.seconds)?),
    };
    let valid = (1980..=2107).contains(&civil.year)
        && (1..=12).contains(&civil.month)
        && (1..=days_in(civil.year, civil.month)).contains(&civil.day)
        && civil.hour <= 23
        && civil.minute <= 59
        && civil.second <= 59;
    valid.then_some(civil)
}

fn days_in(year: u16, month: u16) -> u16 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(status_b: u8) -> RawCmos {
        RawCmos {
            seconds: 0x56,
            minutes: 0x34,
            hours: 0x12,
            day: 0x02,
            month: 0x12,
            year: 0x26,
            century: 0x20,
            status_b,
        }
    }

    #[test]
    fn bcd_24_hour_as_qemu_sets_it() {
        let t = decode(raw(HOURS_24)).unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 12, 2, 12, 34, 56)
        );
    }

    #[test]
    fn twelve_hour_midnight_and_pm() {
        assert_eq!(decode(raw(0)).unwrap().hour, 0, "12 AM is midnight");
        let pm = RawCmos {
            hours: 0x80 | 0x03,
            ..raw(0)
        };
        assert_eq!(decode(pm).unwrap().hour, 15);
        let noon = RawCmos {
            hours: 0x80 | 0x12,
            ..raw(0)
        };
        assert_eq!(decode(noon).unwrap().hour, 12);
    }

    #[test]
    fn binary_mode_and_a_missing_century() {
        let b = RawCmos {
            seconds: 56,
            minutes: 34,
            hours: 12,
            day: 2,
            month: 12,
            year: 26,
            century: 0,
            status_b: HOURS_24 | BINARY,
        };
        assert_eq!(decode(b).unwrap().year, 2026);
    }

    #[test]
    fn nonsense_is_none() {
        assert_eq!(
            decode(RawCmos {
                month: 0x13,
                ..raw(HOURS_24)
            }),
            None
        );
        assert_eq!(
            decode(RawCmos {
                day: 0x31,
                month: 0x02,
                ..raw(HOURS_24)
            }),
            None
        );
        assert_eq!(
            decode(RawCmos {
                seconds: 0x5a,
                ..raw(HOURS_24)
            }),
            None,
            "not BCD"
        );
        assert_eq!(
            decode(RawCmos {
                year: 0x70,
                century: 0x19,
                ..raw(HOURS_24)
            }),
            None,
            "1970 is before FAT"
        );
        assert_eq!(
            decode(RawCmos {
                day: 0x29,
                month: 0x02,
                year: 0x24,
                ..raw(HOURS_24)
            })
            .unwrap()
            .day,
            29
        );
    }

    proptest! {
        /// Whatever the registers hold, a decoded time is in range (FAT's date
        /// constructors assert on their ranges).
        #[test]
        fn any_registers_decode_in_range_or_not_at_all(
            r in (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
        ) {
            let raw = RawCmos { seconds: r.0, minutes: r.1, hours: r.2, day: r.3, month: r.4, year: r.5, century: r.6, status_b: r.7 };
            if let Some(t) = decode(raw) {
                prop_assert!((1980..=2107).contains(&t.year));
                prop_assert!((1..=12).contains(&t.month) && (1..=31).contains(&t.day));
                prop_assert!(t.hour <= 23 && t.minute <= 59 && t.second <= 59);
            }
        }
    }
}
