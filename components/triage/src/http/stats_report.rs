//! `GET /triage/stats/report`: the answer of [`crate::core::stats::query`] as one self-contained HTML
//! page for a quarterly report. No script, no style sheet, no external asset: the charts
//! are inline SVG drawn with presentation attributes, so the page runs under
//! [`REPORT_CSP`], which allows nothing to load.

use crate::core::stats::answer::{Count, StatsAnswer};
use shared::domain::Priority;

/// The page's Content-Security-Policy: nothing may load or run.
pub const REPORT_CSP: &str = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Escapes text for HTML (every value here is a closed-set word, a month or a number,
/// but the page does not rely on that).
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const BAR_COLOURS: [&str; 4] = ["#b2182b", "#ef8a62", "#67a9cf", "#2166ac"];

/// One bar: its priority, its height (none when withheld) and its label.
type Bar = (Priority, Option<f64>, String);

/// One bar chart: groups of bars (one per priority), each labelled; a withheld count is
/// drawn as an empty bar labelled with its `<n`.
fn bar_chart(title: &str, groups: &[(String, Vec<Bar>)], max: f64) -> String {
    let (bar, gap, height) = (14.0, 24.0, 160.0);
    let group_width = bar * 4.0 + gap;
    let width = 60.0 + group_width * groups.len().max(1) as f64;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
         width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\"><title>{}</title>",
        esc(title),
        height + 150.0,
        height + 150.0,
        esc(title)
    );
    svg.push_str(&format!(
        "<line x1=\"40\" y1=\"{height}\" x2=\"{width}\" y2=\"{height}\" stroke=\"#333\" stroke-width=\"1\"/>"
    ));
    for (g, (label, bars)) in groups.iter().enumerate() {
        let x0 = 50.0 + g as f64 * group_width;
        for (i, (p, value, text)) in bars.iter().enumerate() {
            let x = x0 + i as f64 * bar;
            let h = value.map_or(0.0, |v| if max > 0.0 { v / max * (height - 20.0) } else { 0.0 });
            let colour = BAR_COLOURS[Priority::ALL.iter().position(|q| q == p).unwrap_or(0)];
            svg.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{h}\" fill=\"{colour}\"><title>{} {}: {}</title></rect>",
                height - h,
                bar - 2.0,
                esc(label),
                p,
                esc(text)
            ));
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"8\" text-anchor=\"middle\">{}</text>",
                x + bar / 2.0 - 1.0,
                height - h - 3.0,
                esc(text)
            ));
        }
        // Labels slanted, so long organisation names do not run into each other.
        let (lx, ly) = (x0 + bar * 2.0, height + 12.0);
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ly}\" font-size=\"9\" text-anchor=\"end\" transform=\"rotate(-40 {lx} {ly})\">{}</text>",
            esc(label)
        ));
    }
    for (i, p) in Priority::ALL.iter().enumerate() {
        let x = 50.0 + i as f64 * 50.0;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"10\">{p}</text>",
            height + 125.0,
            BAR_COLOURS[i],
            x + 14.0,
            height + 134.0
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

fn text(count: Count) -> String {
    count.to_string()
}

/// The report page.
pub fn render(answer: &StatsAnswer) -> String {
    let orgs: Vec<&str> = answer.organisations.iter().map(|o| o.as_str()).collect();
    let mut html = String::from("<!DOCTYPE html><html lang=\"nl\"><head><meta charset=\"utf-8\">");
    html.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{REPORT_CSP}\"><title>Steunpunt: cijfers {} tot en met {}</title></head><body>",
        esc(&answer.from),
        esc(&answer.to)
    ));
    html.push_str(&format!(
        "<h1>Programme figures {} to {}</h1><p>Organisations: {}. Counts below {} are shown as &lt;{}; \
         totals that would reveal them are withheld too. Geography: {}.</p>",
        esc(&answer.from),
        esc(&answer.to),
        esc(&orgs.join(", ")),
        answer.threshold,
        answer.threshold,
        answer.geography
    ));

    // Charts: cases per month by priority, and within-deadline percentage per priority,
    // one group per month and organisation (nothing is summed across them).
    let label = |month: &str, org: &str| if orgs.len() > 1 { format!("{month} {org}") } else { month.to_string() };
    let mut cases = Vec::new();
    let mut within = Vec::new();
    let mut max_cases = 0.0f64;
    for chunk in answer.first_contact.chunks(Priority::ALL.len()) {
        let first = &chunk[0];
        let name = label(&first.month, first.organisation.as_str());
        let bars = chunk
            .iter()
            .map(|f| {
                let v = f.triaged.value().map(|v| v as f64);
                max_cases = max_cases.max(v.unwrap_or(0.0));
                (f.priority, v, text(f.triaged))
            })
            .collect();
        cases.push((name.clone(), bars));
        let bars = chunk
            .iter()
            .map(|f| {
                let shown = f.within_deadline_percent.map_or_else(|| "n/a".to_string(), |p| format!("{p}%"));
                (f.priority, f.within_deadline_percent, shown)
            })
            .collect();
        within.push((name, bars));
    }
    html.push_str(&bar_chart("Cases triaged per month, by priority", &cases, max_cases));
    html.push_str(&bar_chart("Acknowledged within the deadline (%), by priority", &within, 100.0));

    html.push_str("<h2>First contact</h2><table border=\"1\"><thead><tr>");
    for h in [
        "month",
        "organisation",
        "priority",
        "triaged",
        "acknowledged",
        "within deadline",
        "after deadline",
        "escalated",
        "within %",
        "p50 ≤ min",
        "p90 ≤ min",
        "first message",
        "message p50 ≤ min",
        "message p90 ≤ min",
    ] {
        html.push_str(&format!("<th>{h}</th>"));
    }
    html.push_str("</tr></thead><tbody>");
    let opt = |v: Option<String>| v.unwrap_or_else(|| "n/a".into());
    for f in &answer.first_contact {
        let row = [
            f.month.clone(),
            f.organisation.to_string(),
            f.priority.to_string(),
            text(f.triaged),
            text(f.acknowledged),
            text(f.acknowledged_within_deadline),
            text(f.acknowledged_after_deadline),
            text(f.escalated),
            opt(f.within_deadline_percent.map(|p| format!("{p}"))),
            opt(f.p50_minutes.map(|m| m.to_string())),
            opt(f.p90_minutes.map(|m| m.to_string())),
            text(f.replied),
            opt(f.reply_p50_minutes.map(|m| m.to_string())),
            opt(f.reply_p90_minutes.map(|m| m.to_string())),
        ];
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{}</td>", esc(&cell)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");

    // Every table of every month and organisation, rows by priority.
    html.push_str("<h2>Tables</h2>");
    for chunk in
        answer.cells.chunk_by(|a, b| a.month == b.month && a.organisation == b.organisation && a.table == b.table)
    {
        let first = &chunk[0];
        html.push_str(&format!(
            "<h3>{} {} {}</h3><table border=\"1\"><thead><tr><th>{}</th><th>P1</th><th>P2</th><th>P3</th><th>P4</th><th>total</th></tr></thead><tbody>",
            esc(&first.month),
            first.organisation,
            first.table,
            first.table
        ));
        for row in chunk.chunks(Priority::ALL.len() + 1) {
            html.push_str(&format!("<tr><th>{}</th>", esc(&row[0].row)));
            for c in row {
                html.push_str(&format!("<td>{}</td>", esc(&c.value.to_string())));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</body></html>");
    html
}
