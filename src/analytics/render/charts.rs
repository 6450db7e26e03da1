//! The report's charts as SVG, drawn with plotters' SVG backend (no fonts, no system
//! libraries: text stays SVG `<text>` for the browser to set, with plotters' estimated
//! widths for layout) and inlined in the page.
//!
//! A suppressed figure is never drawn as a value: lines break around it, bars leave it out
//! and, where a bar would stand, the chart writes `< k` instead. Each chart's `<svg>` gets
//! `role="img"` and a `<title>` that says in words what it shows; the tables next to it hold
//! the same figures for anyone who cannot see it.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
pub(super) const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
pub(super) const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
pub(super) const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
pub(super) const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
pub(super) const PINK: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
pub(super) const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const GREY: RGBColor = RGBColor(0x6B, 0x6B, 0x6B);
const LIGHT_GREY: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);

/// At most this many period labels on the x axis (every second, third, … beyond).
const MAX_X_LABELS: usize = 12;

/// Longest label on a bar chart's axis before it is cut with "…" (the table has it whole).
const MAX_AXIS_LABEL: usize = 28;

/// One line of a line chart: `None` where the figure is suppressed.
pub(super) struct Line<'a> {
    pub name: &'a str,
    pub values: Vec<Option<u32>>,
    pub color: RGBColor,
}

/// The main chart: lines over the periods, broken where a figure is suppressed, with `< k`
/// written on the axis under a suppressed period of the first line.
pub(super) fn line_chart(
    periods: &[String],
    lines: &[Line<'_>],
    suppressed_label: &str,
    title: &str,
) -> String {
    let n = periods.len() as u32;
    if n == 0 {
        return String::new();
    }
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0);
    let y_max = nice_max(max);
    let size = (900, 340);
    render(size, "chart chart-main", title, |root| {
        let (legend, body) = root.split_vertically(28);
        draw_legend(&legend, lines.iter().map(|l| (l.name, l.color, false)), 70)?;
        // Categories on a float axis: period i is centred on x = i, ticks only there.
        let step = periods.len().div_ceil(MAX_X_LABELS).max(1);
        let ticks: Vec<f64> = (0..periods.len()).step_by(step).map(|i| i as f64).collect();
        let x_axis = Categories::new(-0.5..f64::from(n) - 0.5, ticks);
        let mut chart = ChartBuilder::on(&body)
            .margin_right(20)
            .margin_top(8)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(x_axis, 0u32..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(LIGHT_GREY)
            .axis_style(GREY)
            .y_labels(6)
            .x_label_formatter(&|x| {
                category(*x, periods.len())
                    .map(|i| periods[i].clone())
                    .unwrap_or_default()
            })
            .label_style(("sans-serif", 17).into_font().color(&TEXT))
            .draw()?;
        for line in lines {
            let style = line.color.stroke_width(2);
            for run in runs(&line.values) {
                let points = run.iter().map(|&(i, v)| (f64::from(i), v));
                chart.draw_series(LineSeries::new(points, style))?;
            }
            let dots = line
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i as f64, v)));
            chart.draw_series(dots.map(|p| Circle::new(p, 3, line.color.filled())))?;
        }
        if let Some(first) = lines.first() {
            let style = ("sans-serif", 16)
                .into_font()
                .color(&GREY)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            let marks = first
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_none())
                .map(|(i, _)| Text::new(suppressed_label.to_owned(), (i as f64, 0), style.clone()));
            chart.draw_series(marks)?;
        }
        Ok(())
    })
}

/// A sparkline: a small line without axes, broken where a figure is suppressed (a lone
/// shown figure between gaps is a dot).
pub(super) fn sparkline(values: &[Option<u32>], title: &str) -> String {
    let n = values.len();
    if n == 0 {
        return String::new();
    }
    let max = values.iter().flatten().copied().max().unwrap_or(0).max(1);
    render((120, 28), "spark", title, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(4)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..f64::from(max))?;
        for run in runs(values) {
            let points: Vec<(f64, f64)> = run
                .iter()
                .map(|&(i, v)| (f64::from(i), f64::from(v)))
                .collect();
            if let [only] = points[..] {
                chart.draw_series(std::iter::once(Circle::new(only, 2, BLUE.filled())))?;
            } else {
                chart.draw_series(LineSeries::new(points, BLUE.stroke_width(2)))?;
            }
        }
        Ok(())
    })
}

/// One bar of a horizontal (stacked) bar chart: its label and one figure per stack part;
/// `None` for a suppressed part.
pub(super) struct Bar {
    pub label: String,
    pub parts: Vec<Option<u32>>,
}

/// What [`bar_chart`] draws: `stacked` parts end to end (outcomes), or the second part drawn
/// inside the first (`overlay`: handoffs within referrals).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum BarLayout {
    Stacked,
    Overlay,
}

/// Horizontal bars, one row per [`Bar`], the first row on top. A row whose parts are all
/// suppressed shows `suppressed_label` where the bar would start.
pub(super) fn bar_chart(
    bars: &[Bar],
    legend: &[(&str, RGBColor)],
    layout: BarLayout,
    suppressed_label: &str,
    title: &str,
) -> String {
    let n = bars.len() as u32;
    if n == 0 {
        return String::new();
    }
    let longest = bars.iter().map(|bar| measure_bar(bar, layout)).max();
    let x_max = nice_max(longest.unwrap_or(0));
    let legend_rows = legend.len().div_ceil(3) as u32;
    let legend_height = 8 + 22 * legend_rows;
    let size = (900, legend_height + 60 + 34 * n);
    // Row 0 on top: plotters' y grows upwards.
    let row_of = |i: u32| n - 1 - i;
    render(size, "chart chart-bars", title, |root| {
        let (legend_area, body) = root.split_vertically(legend_height);
        draw_legend(
            &legend_area,
            legend.iter().map(|&(name, c)| (name, c, true)),
            250,
        )?;
        // Row r (counted from the bottom) spans y = r..r + 1, its label at r + 0.5.
        let ticks: Vec<f64> = (0..n).map(|r| f64::from(r) + 0.5).collect();
        let y_axis = Categories::new(0.0..f64::from(n), ticks);
        let mut chart = ChartBuilder::on(&body)
            .margin_right(24)
            .margin_top(6)
            .x_label_area_size(36)
            .y_label_area_size(250)
            .build_cartesian_2d(0u32..x_max, y_axis)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(LIGHT_GREY)
            .axis_style(GREY)
            .x_labels(6)
            .y_label_formatter(&|y| {
                category(*y - 0.5, bars.len())
                    .map(|r| shorten(&bars[row_of(r as u32) as usize].label, MAX_AXIS_LABEL))
                    .unwrap_or_default()
            })
            .label_style(("sans-serif", 17).into_font().color(&TEXT))
            .draw()?;
        for (part, &(_, color)) in legend.iter().enumerate() {
            let rects = bars.iter().enumerate().filter_map(|(i, bar)| {
                let (start, end, inset) = place_part(bar, part, layout)?;
                let row = f64::from(row_of(i as u32));
                Some(Rectangle::new(
                    [(start, row + inset), (end, row + 1.0 - inset)],
                    color.filled(),
                ))
            });
            chart.draw_series(rects)?;
        }
        let style = ("sans-serif", 16)
            .into_font()
            .color(&GREY)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let marks = bars
            .iter()
            .enumerate()
            .filter(|(_, bar)| bar.parts.iter().all(Option::is_none))
            .map(|(i, _)| {
                let row = f64::from(row_of(i as u32));
                EmptyElement::at((0, row + 0.5))
                    + Text::new(suppressed_label.to_owned(), (8, 0), style.clone())
            });
        chart.draw_series(marks)?;
        Ok(())
    })
}

/// The length of a bar's row, so the x axis fits the longest: the parts end to end, or the
/// largest part when they overlay.
fn measure_bar(bar: &Bar, layout: BarLayout) -> u32 {
    match layout {
        BarLayout::Stacked => bar.parts.iter().flatten().sum(),
        BarLayout::Overlay => bar.parts.iter().flatten().copied().max().unwrap_or(0),
    }
}

/// Where one part of a bar starts and ends on the x axis, and how far it is inset from its
/// row's edges (an overlaid part is thinner, so the part under it stays visible). `None`
/// for a missing, suppressed or zero part: nothing is drawn for it.
fn place_part(bar: &Bar, part: usize, layout: BarLayout) -> Option<(u32, u32, f64)> {
    let value = bar.parts.get(part).copied().flatten()?;
    if value == 0 {
        return None;
    }
    let start: u32 = match layout {
        BarLayout::Stacked => bar.parts[..part].iter().flatten().sum(),
        BarLayout::Overlay => 0,
    };
    let inset = match layout {
        BarLayout::Overlay if part > 0 => 0.32,
        _ => 0.18,
    };
    Some((start, start + value, inset))
}

/// Coloured keys with their names, laid out in rows of three (or one row of `width`-wide
/// entries when they fit); `square` keys for bars, short lines for lines.
fn draw_legend<'n>(
    area: &Area<'_>,
    entries: impl Iterator<Item = (&'n str, RGBColor, bool)>,
    min_width: i32,
) -> DrawResult {
    let font = ("sans-serif", 17).into_font().color(&TEXT);
    let (mut x, mut y) = (60, 6);
    for (i, (name, color, square)) in entries.enumerate() {
        if i > 0 && i % 3 == 0 {
            x = 60;
            y += 22;
        }
        if square {
            area.draw(&Rectangle::new(
                [(x, y + 2), (x + 12, y + 14)],
                color.filled(),
            ))?;
        } else {
            area.draw(&PathElement::new(
                vec![(x, y + 8), (x + 16, y + 8)],
                color.stroke_width(3),
            ))?;
        }
        area.draw(&Text::new(name.to_owned(), (x + 20, y + 1), font.clone()))?;
        let estimated = 20 + 9 * name.chars().count() as i32 + 28;
        x += estimated.max(min_width);
    }
    Ok(())
}

/// Draws into an SVG string and gives it back ready to inline: the `<svg>` tag made
/// accessible (`role="img"`, a `<title>`), with a class for the stylesheet and without the
/// `xmlns` (an HTML parser puts inline `<svg>` in the SVG namespace by itself, and the page
/// then holds no URL at all). Empty when plotters reports an error, so a chart that cannot be
/// drawn leaves the page without it rather than without the page.
fn render(
    size: (u32, u32),
    class: &str,
    title: &str,
    draw: impl FnOnce(&Area<'_>) -> DrawResult,
) -> String {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root).and_then(|()| root.present())
    };
    if drawn.is_err() {
        return String::new();
    }
    let Some(open_end) = svg.find('>') else {
        return String::new();
    };
    let (w, h) = size;
    let title = escape(title);
    format!(
        "<svg class=\"{class}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" focusable=\"false\"><title>{title}</title>{}",
        svg[open_end + 1..].trim_start()
    )
}

/// A category axis: a float range whose only ticks are the categories' centres (plotters'
/// own key-point binding does not combine with a label formatter on floats).
struct Categories {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Categories {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Categories {
        Categories { range, ticks }
    }
}

impl Ranged for Categories {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let share = if span > 0.0 {
            (value - self.range.start) / span
        } else {
            0.5
        };
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// The index of the category (of `len`) whose centre is at `x` = 0, 1, 2, …, if any.
fn category(x: f64, len: usize) -> Option<usize> {
    let i = x.round();
    ((x - i).abs() < 1e-6 && i >= 0.0 && i < len as f64).then_some(i as usize)
}

/// The runs of consecutive shown figures, with their period index.
fn runs(values: &[Option<u32>]) -> Vec<Vec<(u32, u32)>> {
    let mut runs = Vec::new();
    let mut current = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match value {
            Some(v) => current.push((i as u32, *v)),
            None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// An axis maximum a little above `max` that gives round tick labels: 1, 1.2, 1.5, 2, 2.5,
/// 3, 4, 5, 6 or 8 times a power of ten.
fn nice_max(max: u32) -> u32 {
    let target = (u64::from(max) * 11).div_ceil(10).max(5);
    let magnitude = 10u64.pow(target.ilog10());
    let nice = [10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100]
        .into_iter()
        .map(|m| m * magnitude / 10)
        .find(|&value| value >= target)
        .unwrap_or(10 * magnitude);
    u32::try_from(nice).unwrap_or(u32::MAX)
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Text for an SVG element or attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_break_at_gaps() {
        let runs = runs(&[
            Some(1),
            Some(2),
            None,
            Some(4),
            None,
            None,
            Some(6),
            Some(7),
        ]);
        assert_eq!(
            runs,
            vec![vec![(0, 1), (1, 2)], vec![(3, 4)], vec![(6, 6), (7, 7)]]
        );
    }

    #[test]
    fn axis_maximum_is_round_and_above_the_data() {
        for max in [0, 1, 4, 5, 9, 10, 37, 99, 100, 123, 999, 4567, 1_000_000] {
            let nice = nice_max(max);
            assert!(nice >= max && nice >= 5, "{max} -> {nice}");
            assert!(nice <= max.saturating_mul(2).max(10), "{max} -> {nice}");
        }
    }

    #[test]
    fn charts_are_inline_svg_with_text_and_a_title() {
        let periods = vec!["2026-W40".to_owned(), "2026-W41".to_owned()];
        let svg = line_chart(
            &periods,
            &[Line {
                name: "Gesprekken <x>",
                values: vec![Some(12), None],
                color: BLUE,
            }],
            "< 5",
            "Titel & \"meer\"",
        );
        assert!(svg.starts_with("<svg class=\"chart chart-main\""), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title>Titel &amp; &quot;meer&quot;</title>"));
        assert!(svg.contains("<text"));
        assert!(svg.contains("2026-W41"));
        assert!(svg.contains("&lt; 5"));
        assert!(svg.contains("Gesprekken &lt;x&gt;"));
        assert!(!svg.contains("xmlns"));
        assert!(!svg.contains("style="));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn one_period_and_one_bar_still_draw() {
        let line = line_chart(
            &["2026-10".to_owned()],
            &[Line {
                name: "x",
                values: vec![Some(3)],
                color: BLUE,
            }],
            "< 5",
            "t",
        );
        assert!(
            line.contains("2026-10") && line.contains("<circle"),
            "{line}"
        );
        let bars = bar_chart(
            &[Bar {
                label: "Anna".into(),
                parts: vec![Some(7), None],
            }],
            &[("a", BLUE), ("b", SKY)],
            BarLayout::Overlay,
            "< 5",
            "t",
        );
        assert!(bars.contains("Anna") && bars.contains("<rect"), "{bars}");
        let hidden = bar_chart(
            &[Bar {
                label: "Bram".into(),
                parts: vec![None, None],
            }],
            &[("a", BLUE), ("b", SKY)],
            BarLayout::Overlay,
            "< 5",
            "t",
        );
        assert!(hidden.contains("&lt; 5"), "{hidden}");
        assert!(!sparkline(&[None, Some(4), None], "t").is_empty());
        assert!(!sparkline(&[None, None], "t").is_empty());
    }
}
