//! Component output capture and the movable clock.
use crate::common::*;
use std::time::Duration;
use weerbaar_tests::Stream;

#[test]
fn output_is_captured_per_component() {
    let app = start(probe_options());
    get(&app, "/probe?do=log&msg=hello+from+probe");
    get(&app, "/peer?do=log&msg=peer+here");
    let logs = app.logs();
    assert!(logs.iter().any(|l| l.component == "probe" && l.stream == Stream::Stdout && l.line == "hello from probe"));
    assert!(logs
        .iter()
        .any(|l| l.component == "probe" && l.stream == Stream::Stderr && l.line == "stderr: hello from probe"));
    assert!(logs.iter().any(|l| l.component == "peer" && l.line == "peer here"));
    assert!(!app.logs_text().contains("s3cr3t-value"));
}

#[test]
fn advancing_the_clock_moves_every_components_time() {
    let app = start(probe_options());
    let now = |path: &str| -> u64 {
        let body = get(&app, path).body;
        body.strip_prefix("ok:").unwrap().parse().unwrap()
    };
    let before = now("/probe?do=now");
    app.advance_clock(Duration::from_secs(3 * 3600));
    let after_probe = now("/probe?do=now");
    let after_peer = now("/peer?do=now");
    assert!(after_probe >= before + 3 * 3600, "{before} -> {after_probe}");
    assert!(after_peer >= before + 3 * 3600);
    assert!(after_probe < before + 3 * 3600 + 60);
}
