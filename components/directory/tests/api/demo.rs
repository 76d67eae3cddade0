//! The demo network that ships with the project imports, and gives every region an
//! answer for every need.

use crate::common::*;
use serde_json::{json, Value};

fn network() -> Value {
    serde_json::from_str(include_str!("../../demo/network.json")).unwrap()
}

#[test]
fn the_demo_network_imports_and_answers_every_need_in_every_region() {
    let h = Harness::new();
    let r = h.admin("POST", "/directory/members/import", Some(&network()));
    assert_eq!(r.status, 201, "{}", r.body);
    for region in shared::domain::RegionCode::ALL {
        let request = json!({
            "role": "council_member", "region": region.as_str(), "municipality": "Nergenshuizen",
            "needs": ["peer", "security", "legal", "aftercare", "prevention"], "language": "nl", "limit": 3
        });
        let m = h.matches(request);
        for i in 0..5 {
            assert!(!candidate_ids(&m, i).is_empty(), "{region}: nobody for {}", m["matches"][i]["need"]);
        }
    }
    let again = h.admin("POST", "/directory/members/import", Some(&network()));
    assert_eq!(again.status, 409, "loading the demo twice changes nothing");
}

#[test]
fn the_demo_network_covers_all_25_regions_and_every_expertise_with_fictional_contacts() {
    let members = network();
    let members = members.as_array().unwrap();
    for region in shared::domain::RegionCode::ALL {
        let serves = |kind: &str| {
            members
                .iter()
                .any(|m| m["kind"] == kind && m["regions"].as_array().unwrap().contains(&json!(region.as_str())))
        };
        assert!(serves("peer") && serves("expert"), "{region}");
    }
    for expertise in ["security", "legal", "aftercare"] {
        assert!(members.iter().any(|m| m["expertise"].as_array().is_some_and(|e| e.contains(&json!(expertise)))));
    }
    for m in members {
        assert!(m["name"].as_str().unwrap().contains("Demo-"), "demo people are recognisably fictional");
        if let Some(email) = m["contact"]["email"].as_str() {
            assert!(email.ends_with("@example.org"), "{email}");
        }
    }
}
