//! Golden test of the generated stubs: compiles `golden/proto/demo/echo.proto`
//! and compares the whole generated file with `golden/tether.demo.rs`.
//! Run with `TETHER_BLESS=1` to rewrite the golden file after a deliberate
//! change of the generator (and review the diff).

use std::path::Path;

#[test]
fn echo_stub_text_matches_golden() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let out = tempfile::tempdir().unwrap();
    tether_build::configure()
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .compile(&[here.join("proto/demo/echo.proto")], &[here.join("proto")])
        .unwrap();
    let generated = std::fs::read_to_string(out.path().join("tether.demo.rs")).unwrap();
    let golden_path = here.join("tether.demo.rs");
    if std::env::var_os("TETHER_BLESS").is_some() {
        std::fs::write(&golden_path, &generated).unwrap();
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap();
    assert!(
        generated == golden,
        "generated code differs from {}; generated:\n{generated}",
        golden_path.display()
    );
}

#[test]
fn parse_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.proto"),
        "syntax = \"proto3\";\nmessage {\n",
    )
    .unwrap();
    let err = tether_build::configure()
        .out_dir(dir.path())
        .emit_rerun_if_changed(false)
        .compile(&[dir.path().join("bad.proto")], &[dir.path()])
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("tether-build: "), "{text}");
    assert!(
        text.contains("bad.proto") || text.contains("expected"),
        "{text}"
    );
}
