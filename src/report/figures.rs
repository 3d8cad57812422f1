//! The figures of the requests, from their groups: per right, channel and month, the outcome of
//! each as of the report's day, the days to answer and their nearest-rank percentiles.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{Count, Days, Line, Month, Refusals, Requests, RightChannel, CHANNELS, GROUNDS, RIGHTS};

/// One group of requests: received the same day, for the same right, answered the same day (or
/// not answered), in the same state, refused on the same ground, with the same deadlines; and
/// how many came by each channel.
#[derive(Debug, Default)]
pub(super) struct Group {
    pub(super) received: NaiveDate,
    pub(super) right: String,
    pub(super) answered: Option<NaiveDate>,
    pub(super) state: String,
    pub(super) ground: Option<String>,
    pub(super) due: NaiveDate,
    pub(super) extended: Option<NaiveDate>,
    pub(super) count: u64,
    pub(super) channels: [u64; 5],
}

/// The per-right lines and the breakdowns, from the groups, with outcomes as of `as_of`.
pub(super) fn requests_of(groups: &[Group], as_of: NaiveDate) -> (Requests, Refusals) {
    // The rights, then the requests read from mail whose right the officer has yet to decide
    // (kind `unclear`, in review): a line only when there are any.
    let names: Vec<&str> = RIGHTS.iter().map(|k| k.as_str()).chain([crate::request::UNCLEAR]).collect();
    let mut lines: Vec<Line> = names.iter().map(|k| Line { right: (*k).into(), ..Line::default() }).collect();
    let mut days: Vec<BTreeMap<i64, u64>> = vec![BTreeMap::new(); names.len()];
    let mut channels = vec![[0u64; 5]; names.len()];
    let mut months: BTreeMap<(String, usize), u64> = BTreeMap::new();
    let mut grounds = [0u64; 4];
    for g in groups {
        let Some(i) = names.iter().position(|k| *k == g.right) else { continue };
        let l = &mut lines[i];
        // The deadline in force: the extended one if any (Art. 12(3)).
        let deadline = g.extended.unwrap_or(g.due);
        l.received += g.count;
        if g.extended.is_some() {
            l.extended += g.count;
        }
        for (c, n) in g.channels.iter().enumerate() {
            channels[i][c] += n;
        }
        *months.entry((g.received.format("%Y-%m").to_string(), i)).or_default() += g.count;
        if g.state == "rejected" {
            l.refused += g.count;
            let ground = g.ground.as_deref().and_then(|x| GROUNDS.iter().position(|k| *k == x));
            grounds[ground.unwrap_or(3)] += g.count;
        }
        match g.answered {
            Some(answered) => {
                l.answered += g.count;
                if answered <= deadline {
                    l.in_time += g.count;
                } else {
                    l.late += g.count;
                }
                *days[i].entry((answered - g.received).num_days()).or_default() += g.count;
            }
            None if g.state == "expired" => l.expired += g.count,
            None if deadline < as_of => l.overdue += g.count,
            None => l.open += g.count,
        }
    }
    let mut all_days: BTreeMap<i64, u64> = BTreeMap::new();
    for (l, d) in lines.iter_mut().zip(&days) {
        (l.median_days, l.p95_days) = (percentile(d, 50), percentile(d, 95));
        l.in_time_percent = share(l.in_time, l.answered);
        for (k, n) in d {
            *all_days.entry(*k).or_default() += n;
        }
    }
    let mut all = Line { right: "all".into(), ..Line::default() };
    for l in &lines {
        all.received += l.received;
        all.answered += l.answered;
        all.in_time += l.in_time;
        all.late += l.late;
        all.overdue += l.overdue;
        all.open += l.open;
        all.expired += l.expired;
        all.extended += l.extended;
        all.refused += l.refused;
    }
    all.in_time_percent = share(all.in_time, all.answered);
    (all.median_days, all.p95_days) = (percentile(&all_days, 50), percentile(&all_days, 95));
    let by_channel = CHANNELS
        .iter()
        .enumerate()
        .map(|(c, name)| Count { key: (*name).into(), count: channels.iter().map(|r| r[c]).sum() })
        .collect();
    let by_right_and_channel = names
        .iter()
        .enumerate()
        .flat_map(|(i, k)| CHANNELS.iter().enumerate().map(move |(c, ch)| (i, k, c, ch)).collect::<Vec<_>>())
        .map(|(i, k, c, ch)| RightChannel { right: (*k).into(), channel: (*ch).into(), count: channels[i][c] })
        .filter(|rc| rc.count > 0)
        .collect();
    let by_month =
        months.into_iter().map(|((month, i), count)| Month { month, right: names[i].into(), count }).collect();
    let identity = grounds[2];
    let refusals = Refusals {
        total: grounds.iter().sum(),
        by_ground: GROUNDS.iter().zip(grounds).map(|(g, count)| Count { key: (*g).into(), count }).collect(),
        expired: all.expired,
        unverifiable: all.expired + identity,
    };
    if lines.last().is_some_and(|l| l.right == crate::request::UNCLEAR && l.received == 0) {
        lines.pop();
    }
    let requests = Requests {
        total: all.received,
        all,
        by_right: lines,
        by_channel,
        by_right_and_channel,
        by_month,
        days_to_answer: all_days.into_iter().map(|(days, count)| Days { days, count }).collect(),
    };
    (requests, refusals)
}

/// `part` of `whole` in percent with one decimal.
fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// The nearest-rank percentile of a distribution given as value -> count: the smallest value
/// such that at least `p` percent of all values are at most it (rank ceil(p/100 * N)).
pub fn percentile(counts: &BTreeMap<i64, u64>, p: u64) -> Option<i64> {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1);
    let mut seen = 0;
    for (value, count) in counts {
        seen += count;
        if seen >= rank {
            return Some(*value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(values: &[i64]) -> BTreeMap<i64, u64> {
        let mut m = BTreeMap::new();
        for v in values {
            *m.entry(*v).or_default() += 1;
        }
        m
    }

    #[test]
    fn nearest_rank_percentiles() {
        // Ranks: median of 4 values is rank 2; p95 of 20 values is rank 19.
        assert_eq!(percentile(&dist(&[1, 2, 3, 4]), 50), Some(2));
        assert_eq!(percentile(&dist(&[5]), 95), Some(5));
        let twenty: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&dist(&twenty), 95), Some(19));
        assert_eq!(percentile(&dist(&twenty), 50), Some(10));
        assert_eq!(percentile(&dist(&[3, 3, 3, 40]), 95), Some(40));
        assert_eq!(percentile(&BTreeMap::new(), 50), None);
    }

    #[test]
    fn shares_round_to_one_decimal() {
        assert_eq!(share(2, 3), Some(66.7));
        assert_eq!(share(0, 0), None);
    }
}
