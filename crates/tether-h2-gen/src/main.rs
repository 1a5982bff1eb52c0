//! `cargo run -p tether-h2-gen`: rewrites tether-h2's Huffman tables.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(e) = tether_h2_gen::check_codes() {
        eprintln!("tether-h2-gen: Appendix B table is wrong: {e}");
        return ExitCode::FAILURE;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(tether_h2_gen::OUTPUT_PATH);
    match std::fs::write(&path, tether_h2_gen::generate()) {
        Ok(()) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tether-h2-gen: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
