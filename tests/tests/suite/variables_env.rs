//! Variables from the process environment. Alone in its binary because it
//! changes the environment, which no other test may read meanwhile.
use crate::common::*;

#[test]
fn environment_supplies_values_and_explicit_values_win() {
    std::env::set_var("SPIN_VARIABLE_GREETING", "from-env");
    let mut o = probe_options();
    o.environment_variables = true;
    let app = start(o.clone());
    assert_eq!(get(&app, "/probe?do=var&name=greeting").body, "ok:from-env");
    let app = start(o.variable("greeting", "explicit"));
    assert_eq!(get(&app, "/probe?do=var&name=greeting").body, "ok:explicit");
    std::env::remove_var("SPIN_VARIABLE_GREETING");
}
