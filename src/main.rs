fn main() {
    std::process::exit(vendorwatch::cli::main());
}
