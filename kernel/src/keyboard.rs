//! Placeholder until the keyboard decoder lands.
pub fn on_scancode(_code: u8) -> Option<u8> {
    None
}
