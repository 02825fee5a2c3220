pub static CASES: &[crate::cases::Case] = &[];
