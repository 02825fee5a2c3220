fn main() { println!("runner"); }
