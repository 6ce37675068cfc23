fn main() -> std::process::ExitCode {
    segur_cli::main()
}
