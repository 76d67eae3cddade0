mod common;
use common::*;

#[test]
fn probe_answers() {
    let app = start(probe_options());
    let r = get(&app, "/probe/hello?do=echo");
    println!("{r:#?}");
    assert_eq!(r.status, 200);
}
