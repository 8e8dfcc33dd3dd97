//! A std "hello world", built by `benches/size/run.sh` with the tool's
//! profile and target: the floor any std program pays, beside which the
//! tool's size is reported.

fn main() {
    println!("hello world");
}
