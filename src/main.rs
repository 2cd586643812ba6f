//! The facenmf binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    facenmf::cli::main()
}
