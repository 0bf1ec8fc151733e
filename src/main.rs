fn main() -> std::process::ExitCode {
    walinspect::cli::main()
}
