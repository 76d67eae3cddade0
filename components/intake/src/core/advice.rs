//! What the reporter is told right after filing: safety first.

use shared::case::{FollowUpFacts, ReportFacts};
use shared::domain::Language;

/// The advice for a new report, most important first. With immediate danger or a
/// threat to life the first line is always "call 112".
pub fn for_report(facts: &ReportFacts) -> Vec<&'static str> {
    let urgent = facts.immediate_danger || facts.threat_to_life;
    let mut advice = Vec::new();
    match facts.language {
        Language::Dutch => {
            if urgent {
                advice.push(call_112(Language::Dutch));
            }
            advice.push("Bewaar uw ontvangstcode goed: u heeft hem nodig om de status te zien en te reageren. Wij kunnen hem niet opnieuw tonen.");
            advice.push("Een vertrouwenspersoon neemt contact met u op zoals u heeft aangegeven.");
            if !facts.police_informed && !urgent {
                advice.push("Overweeg de politie te informeren of aangifte te doen; de vertrouwenspersoon kan u daarbij helpen.");
            }
            advice.push("Bewaar berichten, foto's en andere sporen; verwijder niets.");
        }
        Language::English => {
            if urgent {
                advice.push(call_112(Language::English));
            }
            advice.push(
                "Keep your receipt code safe: you need it to see the status and to reply. We cannot show it again.",
            );
            advice.push("A confidant will contact you the way you asked.");
            if !facts.police_informed && !urgent {
                advice.push("Consider informing the police or filing a report; the confidant can help you with that.");
            }
            advice.push("Keep messages, photos and other evidence; do not delete anything.");
        }
    }
    advice
}

/// The first advice whenever someone may be in danger now.
pub fn call_112(language: Language) -> &'static str {
    match language {
        Language::Dutch => "Bent u of is iemand anders nu in gevaar? Bel direct 112.",
        Language::English => "Are you or is anyone else in danger right now? Call 112 immediately.",
    }
}

/// The advice for a follow-up message, in the reporter's language: "call 112" first
/// when it reports danger now.
pub fn for_follow_up(follow_up: Option<&FollowUpFacts>, language: Language) -> Vec<&'static str> {
    let mut advice = Vec::new();
    if follow_up.is_some_and(FollowUpFacts::urgent) {
        advice.push(call_112(language));
    }
    advice.push(match language {
        Language::Dutch => "Uw bericht is doorgegeven aan de vertrouwenspersoon.",
        Language::English => "Your message has been passed on to the confidant.",
    });
    advice
}
