fn main() {
    // The generated parser goes to OUT_DIR; a failure is a bug in the grammar, reported by
    // lalrpop with the conflict in full.
    if let Err(e) = lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .emit_rerun_directives(true)
        .process()
    {
        eprintln!("lalrpop failed: {e}");
        std::process::exit(1);
    }
}
