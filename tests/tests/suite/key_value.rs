//! Key-value as Spin's default SQLite store behaves (its Redis store: `redis_store.rs`).
use crate::common::*;
use weerbaar_tests::{StoreBacking, WriteFault};

fn kv(app: &weerbaar_tests::TestApp, query: &str) -> String {
    let r = get(app, &format!("/probe?do=kv&{query}"));
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

#[test]
fn labels_are_isolated_and_both_interfaces_share_a_label() {
    let app = start(probe_options());
    assert_eq!(kv(&app, "op=set&label=default&key=k&value=d"), "ok");
    assert_eq!(kv(&app, "op=set&label=other&key=k&value=o"), "ok");
    assert_eq!(kv(&app, "op=get&label=default&key=k"), "ok:some:d");
    assert_eq!(kv(&app, "op=wasi-get&label=other&key=k"), "ok:some:o");
    assert_eq!(app.kv_dump("default"), vec![("k".to_string(), b"d".to_vec())]);
}

#[test]
fn unlisted_label_is_refused_on_both_interfaces() {
    let app = start(probe_options());
    // `peer` lists only `default`; `other` is defined for the app.
    let r = get(&app, "/peer?do=kv&op=open&label=other");
    assert_eq!(r.body, "err:Error::AccessDenied");
    let r = get(&app, "/peer?do=kv&op=wasi-open&label=other");
    assert_eq!(r.body, "err:Error::AccessDenied");
    // `wide` lists no store at all.
    let r = get(&app, "/wide?do=kv&op=open&label=default");
    assert_eq!(r.body, "err:Error::AccessDenied");
}

#[test]
fn undefined_label_fails_the_start_like_spin() {
    let mut o = probe_options();
    o.store_labels.clear();
    let err = weerbaar_tests::TestApp::start(o).err().expect("start fails");
    assert!(err.to_string().contains("`other`"), "{err:#}");
}

#[test]
fn stale_swap_fails_and_leaves_the_other_writers_value() {
    let app = start(probe_options());
    kv(&app, "op=set&key=doc&value=v1");
    let r = kv(&app, "op=cas&key=doc&value=mine&read=1&interfere=theirs");
    assert_eq!(r, "err:seen=v1;cas-failed");
    assert_eq!(kv(&app, "op=get&key=doc"), "ok:some:theirs");
}

#[test]
fn fresh_swap_applies() {
    let app = start(probe_options());
    kv(&app, "op=set&key=doc&value=v1");
    assert_eq!(kv(&app, "op=cas&key=doc&value=v2&read=1"), "ok:seen=v1;swapped");
    assert_eq!(kv(&app, "op=get&key=doc"), "ok:some:v2");
}

#[test]
fn swap_from_absent_or_unread_is_an_unconditional_upsert() {
    let app = start(probe_options());
    // current() saw nothing; another writer created the key; the swap still wins.
    let r = kv(&app, "op=cas&key=new&value=mine&read=1&interfere=theirs");
    assert_eq!(r, "ok:seen=<none>;swapped");
    assert_eq!(kv(&app, "op=get&key=new"), "ok:some:mine");
    // current() never read: plain upsert over whatever is there.
    kv(&app, "op=set&key=doc&value=v1");
    assert_eq!(kv(&app, "op=cas&key=doc&value=blind"), "ok:swapped");
    assert_eq!(kv(&app, "op=get&key=doc"), "ok:some:blind");
}

#[test]
fn set_many_is_all_or_nothing_under_a_write_fault() {
    let app = start(probe_options());
    app.set_write_fault(WriteFault::KeysStartingWith("index:".into()));
    let r = post(&app, "/probe?do=kv&op=set_many", "record:1=r\nindex:a=1\nrecord:2=s");
    assert!(r.body.starts_with("err:Error::Other(\"injected fault"), "{}", r.body);
    assert!(app.kv_dump("default").is_empty(), "nothing of the batch was kept");

    app.fail_store_writes(true);
    assert!(kv(&app, "op=set&key=a&value=1").starts_with("err:Error::Other("));
    assert!(kv(&app, "op=increment&key=c").starts_with("err:Error::Other("));
    app.fail_store_writes(false);
    let r = post(&app, "/probe?do=kv&op=set_many", "record:1=r\nindex:a=1");
    assert_eq!(r.body, "ok");
    assert_eq!(app.kv_dump("default").len(), 2);
}

#[test]
fn increment_is_atomic_under_concurrency() {
    let app = start(probe_options());
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..50 {
                    let r = kv(&app, "op=increment&key=counter&delta=1");
                    assert!(r.starts_with("ok:"), "{r}");
                }
            });
        }
    });
    assert_eq!(kv(&app, "op=increment&key=counter&delta=0"), "ok:800");
    assert_eq!(app.kv_dump("default"), vec![("counter".to_string(), 800i64.to_le_bytes().to_vec())]);
}

#[test]
fn increment_of_a_non_counter_traps_the_request() {
    let app = start(probe_options());
    kv(&app, "op=set&key=c&value=abc");
    let r = get(&app, "/probe?do=kv&op=increment&key=c");
    assert_eq!(r.status, 500);
    assert_eq!(r.body, "");
}

#[test]
fn two_apps_on_one_file_share_data() {
    let dir = std::env::temp_dir().join(format!("weerbaar-kv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shared.db");
    let _ = std::fs::remove_file(&file);
    let mut a = probe_options();
    a.store = StoreBacking::File(file.clone());
    let mut b = probe_options();
    b.store = StoreBacking::File(file.clone());
    let (a, b) = (start(a), start(b));
    kv(&a, "op=set&key=shared&value=from-a");
    assert_eq!(kv(&b, "op=get&key=shared"), "ok:some:from-a");
    kv(&b, "op=increment&key=n&delta=2");
    assert_eq!(kv(&a, "op=increment&key=n&delta=3"), "ok:5");
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn batch_get_and_key_listing() {
    let app = start(probe_options());
    post(&app, "/probe?do=kv&op=set_many", "a=1\nb=2");
    assert_eq!(kv(&app, "op=get_many&key=a,b,c"), "ok:a=1,b=2,c=<none>");
    assert_eq!(kv(&app, "op=keys"), "ok:a,b");
    assert_eq!(kv(&app, "op=delete&key=a"), "ok");
    assert_eq!(kv(&app, "op=keys"), "ok:b");
}
