//! The report page's two charts as inline SVG (no script, no font or file from elsewhere): the
//! requests received per month, stacked by right, and the days it took to answer, with the
//! one-month line marked. Every label passes the archive page's HTML escaping.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Days, Month, Period, RIGHTS};
use crate::archive::html::esc;
use chrono::Datelike;

/// One colour per right, in the order of [`RIGHTS`] (Okabe-Ito, told apart with colour blindness).
pub const COLOURS: [&str; 6] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"];

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 58.0;

/// The day after which an answer without an extension is late in every month (the longest
/// calendar month), drawn as the one-month line.
pub const ONE_MONTH_DAYS: i64 = 31;

/// A round step for about five ticks up to `max`.
fn tick_step(max: u64) -> u64 {
    let raw = (max.max(1) as f64 / 5.0).max(1.0);
    let magnitude = 10f64.powi(raw.log10().floor() as i32);
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    step as u64
}

/// The frame: y axis with ticks and grid lines up to `top` (a multiple of the step), labels.
fn frame(svg: &mut String, top: u64, step: u64, y_label: &str, x_label: &str) {
    let plot_h = HEIGHT - TOP - BOTTOM;
    let mut v = 0;
    while v <= top {
        let y = TOP + plot_h - plot_h * v as f64 / top as f64;
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#d0d7de\" stroke-width=\"1\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{v}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
        v += step;
    }
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\" stroke=\"#57606a\"/>\
         <text x=\"14\" y=\"{:.1}\" transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\" font-size=\"12\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">{}</text>",
        TOP + plot_h,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        esc(y_label),
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 6.0,
        esc(x_label)
    );
}

fn open(svg: &mut String, title: &str, extra_height: f64) {
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {}\" width=\"100%\" role=\"img\" \
         font-family=\"system-ui, sans-serif\"><title>{}</title>",
        HEIGHT + extra_height,
        esc(title)
    );
}

/// Requests received per month, one stacked bar a month, coloured by right, with a legend.
/// Every month of the period has its place, with no requests too: a year's chart shows twelve.
pub fn months(by_month: &[Month], period: &Period, title: &str, y_label: &str, x_label: &str) -> String {
    let mut per: BTreeMap<String, [u64; 6]> = BTreeMap::new();
    let mut month = period.from.with_day(1).unwrap_or(period.from);
    // (A period of many years keeps only its months with requests: bars too thin to read else.)
    while month <= period.to && per.len() < 120 {
        per.insert(month.format("%Y-%m").to_string(), [0; 6]);
        month = month.checked_add_months(chrono::Months::new(1)).unwrap_or(chrono::NaiveDate::MAX);
    }
    if month <= period.to {
        per.clear();
    }
    for m in by_month {
        if let Some(i) = RIGHTS.iter().position(|k| k.as_str() == m.right) {
            per.entry(m.month.clone()).or_default()[i] += m.count;
        }
    }
    let max = per.values().map(|v| v.iter().sum::<u64>()).max().unwrap_or(0);
    let step = tick_step(max);
    let top = max.div_ceil(step).max(1) * step;
    let mut svg = String::new();
    open(&mut svg, title, 28.0);
    frame(&mut svg, top, step, y_label, x_label);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / per.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    for (i, (month, counts)) in per.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = TOP + plot_h;
        for (r, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            let h = plot_h * *n as f64 / top as f64;
            y -= h;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{} {}: {n}</title></rect>",
                COLOURS[r],
                esc(month),
                RIGHTS[r].as_str()
            );
        }
        // Every month labelled while they fit; else every third.
        if per.len() <= 18 || i % 3 == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                x + bar / 2.0,
                TOP + plot_h + 16.0,
                esc(month)
            );
        }
    }
    // The legend, under the axis title.
    for (r, kind) in RIGHTS.iter().enumerate() {
        let x = LEFT + 110.0 * r as f64;
        let y = HEIGHT + 8.0;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            COLOURS[r],
            x + 16.0,
            y + 10.5,
            kind.as_str()
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Answers per number of days taken, one bar a day, with the one-month line.
pub fn days(days: &[Days], title: &str, y_label: &str, x_label: &str, line_label: &str) -> String {
    let last = days.iter().map(|d| d.days).max().unwrap_or(0).max(ONE_MONTH_DAYS + 4);
    let first = days.iter().map(|d| d.days).min().unwrap_or(0).min(0);
    let max = days.iter().map(|d| d.count).max().unwrap_or(0);
    let step = tick_step(max);
    let top = max.div_ceil(step).max(1) * step;
    let mut svg = String::new();
    open(&mut svg, title, 0.0);
    frame(&mut svg, top, step, y_label, x_label);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / (last - first + 1) as f64;
    let x_of = |d: i64| LEFT + slot * (d - first) as f64;
    for d in days {
        let h = plot_h * d.count as f64 / top as f64;
        let colour = if d.days > ONE_MONTH_DAYS { "#D55E00" } else { "#0072B2" };
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{} d: {}</title></rect>",
            x_of(d.days) + slot * 0.1,
            TOP + plot_h - h,
            (slot * 0.8).max(0.5),
            d.days,
            d.count
        );
    }
    let label_every = ((last - first) / 12).max(1);
    let mut d = first;
    while d <= last {
        if (d - first) % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{d}</text>",
                x_of(d) + slot / 2.0,
                TOP + plot_h + 16.0
            );
        }
        d += 1;
    }
    let x = x_of(ONE_MONTH_DAYS + 1);
    // The label beside the line on the side with room: to its left when the line is in the right
    // half of the chart (every answer within the month), so that it is not cut off at the edge.
    let (label_x, anchor) = if x > LEFT + plot_w / 2.0 { (x - 6.0, "end") } else { (x + 6.0, "start") };
    let _ = write!(
        svg,
        "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#cf222e\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\
         <text x=\"{label_x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" font-size=\"12\" fill=\"#cf222e\">{}</text>",
        TOP + plot_h,
        TOP + 14.0,
        esc(line_label)
    );
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_month_label_stays_inside_the_chart() {
        let all: Vec<_> = (0..=31).map(|d| crate::report::Days { days: d, count: 1 }).collect();
        let svg = days(&all, "t", "y", "x", "one month / één maand");
        let at = svg.rfind("<text x=\"").unwrap() + 9;
        let x: f64 = svg[at..].split('"').next().unwrap().parse().unwrap();
        assert!(svg[at..].contains("text-anchor=\"end\""), "{svg}");
        assert!(x <= WIDTH - 6.0, "{x}");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(0), 1);
        assert_eq!(tick_step(7), 2);
        assert_eq!(tick_step(100), 20);
        assert_eq!(tick_step(83_000), 20_000);
    }
}
