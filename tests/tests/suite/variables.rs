//! Application and component variables.
use crate::common::*;
use weerbaar_tests::{Options, TestApp};

#[test]
fn missing_required_variable_fails_the_start_naming_it() {
    let mut o = Options::new(probe_manifest());
    o.store_labels = vec!["other".into()];
    o.environment_variables = false;
    let err = TestApp::start(o).err().expect("start fails");
    let text = format!("{err:#}");
    assert!(text.contains("no provider resolved required variable(s)"), "{text}");
    assert!(text.contains("secret_value"), "{text}");
}

#[test]
fn component_reads_its_declared_variables() {
    let app = start(probe_options().variable("greeting", "hoi"));
    assert_eq!(get(&app, "/probe?do=var&name=greeting").body, "ok:hoi");
    assert_eq!(get(&app, "/probe?do=var&name=secret_value").body, "ok:s3cr3t-value");
}

#[test]
fn undeclared_variable_is_refused() {
    let app = start(probe_options());
    // `peer_url` is an application variable, but `probe` does not declare it.
    let r = get(&app, "/probe?do=var&name=peer_url");
    assert!(r.body.starts_with("err:Error::Undefined("), "{}", r.body);
    // `peer` declares none at all.
    let r = get(&app, "/peer?do=var&name=greeting");
    assert!(r.body.starts_with("err:Error::Undefined("), "{}", r.body);
    let r = get(&app, "/probe?do=var&name=Not-Valid");
    assert!(r.body.starts_with("err:Error::InvalidName("), "{}", r.body);
}
