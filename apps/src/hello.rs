//! `hello`: the smallest app — proves a task runs and prints.
use lazuli_api::println;

pub async fn main() -> i32 {
    println!("hello from lazuli");
    0
}
