fn main() {
    println!("kgrec");
}
