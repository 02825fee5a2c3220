fn main() {
    println!("runner");
}
