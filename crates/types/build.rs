fn main() {
    println!("cargo:rerun-if-changed=csrc/num.c");
    cc::Build::new().file("csrc/num.c").opt_level(2).compile("hematite_num");
}
