//! `GET /triage/stats`: which cells a caller may ask for, reading them, and the answer
//! with small cells suppressed.
//!
//! The unit of publication is one month of one organisation: its tables are suppressed
//! together, the same way whatever the query, and no total across months or
//! organisations is published. So two answers never hold two different figures for the
//! same cells, and subtracting one answer from another gives nothing the tables
//! themselves do not.

use super::answer::{CellView, Count, FirstContactView, StatsAnswer};
use super::layout::{self, ack_bound, rows, EventRow, Month, Table, ACK_OVER};
use super::suppress::Grid;
use crate::context::Ctx;
use shared::auth::Principal;
use shared::domain::{Organisation, Priority, Province, RegionCode};
use shared::kv::{read_counter, KeyValue};
use shared::problem::{Problem, ProblemKind};
use std::collections::{BTreeMap, BTreeSet};

/// The most months one answer covers.
pub const MAX_MONTHS: usize = 12;

/// What a caller asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    pub from: Month,
    pub to: Month,
    /// `None`: every organisation the caller may see.
    pub organisation: Option<Organisation>,
}

impl StatsQuery {
    /// The organisations whose figures the caller gets: programme admins any, an
    /// organisation's admins their own, confidants none (403).
    pub fn organisations(&self, who: &Principal) -> Result<Vec<Organisation>, Problem> {
        who.require_admin()?;
        if who.is_programme_admin() {
            return Ok(self.organisation.map_or_else(|| Organisation::ALL.to_vec(), |o| vec![o]));
        }
        match self.organisation {
            Some(o) if o != who.organisation => {
                Err(Problem::new(ProblemKind::Forbidden, "an organisation's admins see only its own figures"))
            }
            _ => Ok(vec![who.organisation]),
        }
    }
}

/// The counters of one month of one organisation: table → row → per priority.
type Counters = BTreeMap<(Table, &'static str), [u64; 4]>;

fn read_unit<S: KeyValue>(store: &S, month: Month, org: Organisation) -> Result<Counters, Problem> {
    let mut counters = Counters::new();
    for table in Table::ALL {
        for row in rows(*table) {
            let mut per = [0u64; 4];
            for (i, p) in Priority::ALL.iter().enumerate() {
                let n = read_counter(store, &layout::key(month, org, *table, row, *p))?;
                per[i] = n.max(0) as u64;
            }
            counters.insert((*table, row), per);
        }
    }
    Ok(counters)
}

const TOTAL: &str = "total";

fn id(table: &str, row: &str, column: &str) -> String {
    format!("{table}/{row}/{column}")
}

/// A row of a table: its name and its counts by priority.
type Row = (String, [u64; 4]);

/// The grid of one unit, with regions or with provinces.
fn grid(counters: &Counters, by_region: bool) -> Grid {
    let mut g = Grid::default();
    let per = |t: Table, r: &str| counters.get(&(t, r)).copied().unwrap_or([0; 4]);
    let p_cols = || Priority::ALL.iter().map(|p| p.as_str());
    // Every row: its priorities add up to its total.
    let put_row = |g: &mut Grid, table: &str, row: &str, values: [u64; 4]| {
        let parts = p_cols().zip(values).map(|(p, v)| (id(table, row, p), v)).collect();
        g.sum(parts, id(table, row, TOTAL));
    };
    for row in EventRow::ALL {
        put_row(&mut g, "event", row.as_str(), per(Table::Event, row.as_str()));
    }
    let within = per(Table::Event, EventRow::AcknowledgedWithin.as_str());
    let late = per(Table::Event, EventRow::AcknowledgedLate.as_str());
    let acknowledged: Vec<u64> = within.iter().zip(late).map(|(w, l)| w + l).collect();
    put_row(&mut g, "event", "acknowledged", acknowledged.clone().try_into().expect("four priorities"));
    for col in p_cols().chain([TOTAL]) {
        let parts = [EventRow::AcknowledgedWithin, EventRow::AcknowledgedLate].map(|r| id("event", r.as_str(), col));
        g.bind(parts.to_vec(), id("event", "acknowledged", col));
    }
    // Tables of triaged cases: rows by priority, and each priority (and the grand
    // total) is the event table's `triaged` cell, shared.
    let geography: Vec<Row> = if by_region {
        RegionCode::ALL.iter().map(|r| (r.as_str().to_string(), per(Table::Region, r.as_str()))).collect()
    } else {
        Province::ALL
            .iter()
            .map(|prov| {
                let mut sum = [0u64; 4];
                for r in RegionCode::ALL.iter().filter(|r| r.province() == *prov) {
                    for (s, v) in sum.iter_mut().zip(per(Table::Region, r.as_str())) {
                        *s += v;
                    }
                }
                (prov.as_str().to_string(), sum)
            })
            .collect()
    };
    let geo_table = if by_region { "region" } else { "province" };
    let mut partitions: Vec<(&str, Vec<Row>)> = vec![(geo_table, geography)];
    for table in [Table::Role, Table::Request] {
        partitions.push((table.as_str(), rows(table).into_iter().map(|r| (r.to_string(), per(table, r))).collect()));
    }
    for (table, table_rows) in partitions {
        for (row, values) in &table_rows {
            put_row(&mut g, table, row, *values);
        }
        for col in p_cols().chain([TOTAL]) {
            let parts = table_rows.iter().map(|(row, _)| id(table, row, col)).collect();
            g.bind(parts, id("event", EventRow::Triaged.as_str(), col));
        }
    }
    // Incident kinds: a case may name several, so only rows add up.
    for row in rows(Table::Incident) {
        put_row(&mut g, "incident", row, per(Table::Incident, row));
    }
    // The histogram: its buckets add up to the acknowledgements of each priority.
    let buckets = rows(Table::Ack);
    for row in &buckets {
        put_row(&mut g, "ack", row, per(Table::Ack, row));
    }
    for col in p_cols().chain([TOTAL]) {
        let parts = buckets.iter().map(|row| id("ack", row, col)).collect();
        g.bind(parts, id("event", "acknowledged", col));
    }
    // First confidant messages: the buckets add up to the row `replied` of the event table.
    let mut replied = [0u64; 4];
    for row in &buckets {
        let values = per(Table::Reply, row);
        for (r, v) in replied.iter_mut().zip(values) {
            *r += v;
        }
        put_row(&mut g, "reply", row, values);
    }
    put_row(&mut g, "event", "replied", replied);
    for col in p_cols().chain([TOTAL]) {
        let parts = buckets.iter().map(|row| id("reply", row, col)).collect();
        g.bind(parts, id("event", "replied", col));
    }
    g
}

/// The order cells are published in: tables as laid out, rows as in their sets.
fn table_order() -> Vec<(&'static str, Vec<String>)> {
    let words = |t: Table| rows(t).into_iter().map(str::to_string).collect::<Vec<_>>();
    let mut event: Vec<String> = EventRow::ALL.iter().map(|r| r.as_str().to_string()).collect();
    event.insert(3, "acknowledged".into());
    event.push("replied".into());
    vec![
        ("event", event),
        ("role", words(Table::Role)),
        ("region", words(Table::Region)),
        ("province", Province::ALL.iter().map(|p| p.as_str().to_string()).collect()),
        ("request", words(Table::Request)),
        ("incident", words(Table::Incident)),
        ("ack", words(Table::Ack)),
        ("reply", words(Table::Reply)),
    ]
}

struct Unit {
    month: Month,
    org: Organisation,
    grid: Grid,
    hidden: BTreeSet<String>,
}

impl Unit {
    fn count(&self, cell: &str, threshold: u64) -> Count {
        if self.hidden.contains(cell) {
            Count::Suppressed(threshold)
        } else {
            Count::Value(self.grid.value(cell))
        }
    }

    fn first_contact(&self, p: Priority, threshold: u64) -> FirstContactView {
        let c = |row: &str| self.count(&id("event", row, p.as_str()), threshold);
        let (within, acknowledged) = (c(EventRow::AcknowledgedWithin.as_str()), c("acknowledged"));
        let within_deadline_percent = match (within.value(), acknowledged.value()) {
            (Some(w), Some(a)) if a > 0 => Some((w as f64 * 1000.0 / a as f64).round() / 10.0),
            _ => None,
        };
        // Only from published buckets: a withheld one leaves the percentiles out.
        let histogram = |table: &str| -> Option<Vec<(String, u64)>> {
            rows(Table::Ack)
                .into_iter()
                .map(|b| self.count(&id(table, b, p.as_str()), threshold).value().map(|v| (b.to_string(), v)))
                .collect()
        };
        let (ack, reply) = (histogram("ack"), histogram("reply"));
        let of = |h: &Option<Vec<(String, u64)>>, q: f64| h.as_ref().and_then(|h| quantile(h, q));
        FirstContactView {
            month: self.month.to_string(),
            organisation: self.org,
            priority: p,
            triaged: c(EventRow::Triaged.as_str()),
            acknowledged,
            acknowledged_within_deadline: within,
            acknowledged_after_deadline: c(EventRow::AcknowledgedLate.as_str()),
            escalated: c(EventRow::Escalated.as_str()),
            within_deadline_percent,
            p50_minutes: of(&ack, 0.5),
            p90_minutes: of(&ack, 0.9),
            replied: c("replied"),
            reply_p50_minutes: of(&reply, 0.5),
            reply_p90_minutes: of(&reply, 0.9),
        }
    }
}

/// The upper bound of the bucket where the cumulative share reaches `q`.
fn quantile(histogram: &[(String, u64)], q: f64) -> Option<i64> {
    let total: u64 = histogram.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut seen = 0u64;
    for (bucket, n) in histogram {
        seen += n;
        if seen as f64 >= q * total as f64 {
            return if bucket == ACK_OVER { None } else { ack_bound(bucket) };
        }
    }
    None
}

/// The figures of `query` for `who`: reads [`super::CELLS_PER_UNIT`] counters per
/// month and organisation, never anything per case.
pub fn stats<S: KeyValue, O>(ctx: &Ctx<'_, S, O>, who: &Principal, query: &StatsQuery) -> Result<StatsAnswer, Problem> {
    let organisations = query.organisations(who)?;
    let threshold = ctx.config.stats_min_cell;
    let mut counters = Vec::new();
    for month in query.from.through(query.to) {
        for org in &organisations {
            counters.push((month, *org, read_unit(ctx.store, month, *org)?));
        }
    }
    let build = |by_region: bool| -> Vec<Unit> {
        counters
            .iter()
            .map(|(month, org, c)| {
                let grid = grid(c, by_region);
                let hidden = grid.suppressed(threshold);
                Unit { month: *month, org: *org, grid, hidden }
            })
            .collect()
    };
    let regional = build(true);
    let by_region = regional.iter().all(|u| u.hidden.is_empty());
    let units = if by_region { regional } else { build(false) };
    let order = table_order();
    let mut cells = Vec::new();
    let mut first_contact = Vec::new();
    for unit in &units {
        for (table, table_rows) in &order {
            if (*table == "region" && !by_region) || (*table == "province" && by_region) {
                continue;
            }
            for row in table_rows {
                for col in Priority::ALL.iter().map(|p| p.as_str()).chain([TOTAL]) {
                    cells.push(CellView {
                        month: unit.month.to_string(),
                        organisation: unit.org,
                        table,
                        row: row.clone(),
                        column: col.to_string(),
                        value: unit.count(&id(table, row, col), threshold),
                    });
                }
            }
        }
        first_contact.extend(Priority::ALL.iter().map(|p| unit.first_contact(*p, threshold)));
    }
    Ok(StatsAnswer {
        from: query.from.to_string(),
        to: query.to.to_string(),
        organisations,
        threshold,
        geography: if by_region { "region" } else { "province" },
        first_contact,
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_cell(n: u64) -> Counters {
        let mut c = Counters::new();
        for table in Table::ALL {
            for row in rows(*table) {
                c.insert((*table, row), [n; 4]);
            }
        }
        c
    }

    #[test]
    fn regions_are_offered_only_when_no_cell_is_withheld() {
        let full = every_cell(3);
        let regional = grid(&full, true);
        assert!(regional.suppressed(2).is_empty(), "every cell clears 2");
        assert!(regional.values.contains_key("region/VR09/P1"));
        let mut one_small = full.clone();
        one_small.insert((Table::Region, "VR09"), [1, 3, 3, 3]);
        let hidden = grid(&one_small, true).suppressed(2);
        assert!(hidden.contains("region/VR09/P1") && hidden.len() >= 2, "{hidden:?}");
        // By province, Utrecht's P1 is VR09 alone: withheld too, and complemented.
        let provincial = grid(&one_small, false);
        assert!(provincial.values.contains_key("province/utrecht/P1"));
        assert!(!provincial.values.contains_key("region/VR09/P1"));
        assert_eq!(provincial.value("province/noord_holland/P2"), 15, "five regions of 3");
    }
}
