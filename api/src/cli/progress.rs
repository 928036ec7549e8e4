//! A one-line progress bar on standard error for long tools: done/total, rate and time left.
//! Silent when standard error is not a terminal (CI logs, pipes, cron mail stay clean).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Redraw at most this often.
const REDRAW: Duration = Duration::from_millis(100);
const WIDTH: u64 = 30;

pub struct Progress {
    label: &'static str,
    unit: &'static str,
    total: u64,
    started: Instant,
    drawn: Option<Instant>,
    visible: bool,
}

impl Progress {
    /// A bar for `total` units of work (0 when unknown: then only the count and rate show).
    pub fn new(label: &'static str, unit: &'static str, total: u64) -> Self {
        let visible = std::io::stderr().is_terminal();
        Self { label, unit, total, started: Instant::now(), drawn: None, visible }
    }

    /// Reports `done` units finished so far.
    pub fn set(&mut self, done: u64) {
        if !self.visible || self.drawn.is_some_and(|at| at.elapsed() < REDRAW) {
            return;
        }
        self.drawn = Some(Instant::now());
        eprint!("\r{}", self.line(done));
        let _ = std::io::stderr().flush();
    }

    /// Reports `done` units finished of a `total` known only once the work is under way.
    pub fn set_of(&mut self, done: u64, total: u64) {
        self.total = total;
        self.set(done);
    }

    /// Draws the final state and ends the line.
    pub fn finish(&mut self, done: u64) {
        if self.visible {
            eprintln!("\r{}", self.line(done));
        }
    }

    fn line(&self, done: u64) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / seconds;
        if self.total == 0 {
            return format!("{} {done} {}, {rate:.0} {}/s", self.label, self.unit, self.unit);
        }
        let total = self.total.max(done);
        let filled = done * WIDTH / total.max(1);
        let left = if rate > 0.0 { (total - done) as f64 / rate } else { 0.0 };
        format!(
            "{} [{}{}] {:>3}% {done}/{total} {}, {rate:.0} {}/s, ETA {}",
            self.label,
            "#".repeat(filled as usize),
            "-".repeat((WIDTH - filled) as usize),
            done * 100 / total.max(1),
            self.unit,
            self.unit,
            clock(left)
        )
    }
}

/// `1:02:03` or `2:03`.
fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
