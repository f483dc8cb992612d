fn main() -> std::process::ExitCode {
    local_cluster::cli::main()
}
