//! What the reporter is told right after filing: safety first.

use shared::case::ReportFacts;
use shared::domain::Language;

/// The advice for a new report, most important first. With immediate danger or a
/// threat to life the first line is always "call 112".
pub fn for_report(facts: &ReportFacts) -> Vec<&'static str> {
    let urgent = facts.immediate_danger || facts.threat_to_life;
    let mut advice = Vec::new();
    match facts.language {
        Language::Dutch => {
            if urgent {
                advice.push("Bent u of is iemand anders nu in gevaar? Bel direct 112.");
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
                advice.push("Are you or is anyone else in danger right now? Call 112 immediately.");
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
