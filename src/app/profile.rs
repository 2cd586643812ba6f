//! Frame timings for FACENMF_PROFILE: the UI thread's own work per frame.

use std::time::{Duration, Instant};

/// Frame timings, printed to stderr once a second when the environment
/// variable `FACENMF_PROFILE` is set: the UI's own work per frame (logic +
/// ui), the time from Run to the first basis images, and iterations per
/// second.
#[derive(Debug, Default)]
pub struct Profile {
    pub enabled: bool,
    /// CPU time of the UI thread at the start of the frame's `logic()`.
    frame_cpu_start: Option<Duration>,
    cpu_total: Duration,
    cpu_max: Duration,
    /// Each frame's CPU time this second (for the median).
    cpu_frames: Vec<Duration>,
    run_at: Option<Instant>,
    /// Milliseconds from the last Run to the first basis images shown.
    pub first_basis_ms: Option<f64>,
    logic: Duration,
    frames: u32,
    work_total: Duration,
    work_max: Duration,
    ui_total: Duration,
    snapshots: u32,
    derive_total: Duration,
    textures_total: Duration,
    window_start: Option<Instant>,
    iter_start: Option<usize>,
    last_iter: Option<usize>,
    /// The last second's figures: mean and max UI ms per frame, frames,
    /// iterations per second.
    pub last_report: Option<(f64, f64, u32, f64)>,
}

impl Profile {
    pub fn from_env() -> Self {
        Profile { enabled: std::env::var_os("FACENMF_PROFILE").is_some(), ..Default::default() }
    }

    pub fn run_clicked(&mut self, at: Instant) {
        self.run_at = Some(at);
        self.first_basis_ms = None;
    }

    /// A snapshot was turned into views: `derive` (importance, thumbnails'
    /// reconstructions) and `textures` (atlases filled and set).
    pub fn snapshot_shown(&mut self, derive: Duration, textures: Duration) {
        self.snapshots += 1;
        self.derive_total += derive;
        self.textures_total += textures;
        if let Some(at) = self.run_at.take() {
            let ms = at.elapsed().as_secs_f64() * 1e3;
            self.first_basis_ms = Some(ms);
            if self.enabled {
                eprintln!("[profile] first basis images {ms:.0} ms after Run");
            }
        }
    }

    /// Called at the start of `logic()`.
    pub fn frame_started(&mut self) {
        if self.enabled {
            self.frame_cpu_start = thread_cpu_time();
        }
    }

    pub fn logic_done(&mut self, spent: Duration) {
        self.logic = spent;
    }

    pub fn ui_done(&mut self, spent: Duration, iteration: Option<usize>) {
        let work = self.logic + spent;
        if let (Some(start), Some(now)) = (self.frame_cpu_start.take(), thread_cpu_time()) {
            let cpu = now.saturating_sub(start);
            self.cpu_total += cpu;
            self.cpu_max = self.cpu_max.max(cpu);
            self.cpu_frames.push(cpu);
        }
        self.frames += 1;
        self.work_total += work;
        self.ui_total += spent;
        self.work_max = self.work_max.max(work);
        self.last_iter = iteration.or(self.last_iter);
        let now = Instant::now();
        let start = *self.window_start.get_or_insert(now);
        if self.iter_start.is_none() {
            self.iter_start = self.last_iter;
        }
        let secs = now.duration_since(start).as_secs_f64();
        if secs >= 1.0 {
            let ms = |d: Duration, n: u32| d.as_secs_f64() * 1e3 / f64::from(n.max(1));
            let mean_ms = ms(self.work_total, self.frames);
            let max_ms = self.work_max.as_secs_f64() * 1e3;
            let its = match (self.iter_start, self.last_iter) {
                (Some(a), Some(b)) if b >= a => (b - a) as f64 / secs,
                _ => 0.0,
            };
            self.last_report = Some((mean_ms, max_ms, self.frames, its));
            if self.enabled {
                self.cpu_frames.sort();
                let median = self.cpu_frames.get(self.cpu_frames.len() / 2).copied().unwrap_or_default();
                eprintln!(
                    "[profile] ui work per frame: mean {mean_ms:.2} ms, max {max_ms:.2} ms wall; cpu mean {:.2} ms, max {:.2} ms, median {:.2} ms; over {} frames (drawing {:.2} ms/frame; {} snapshots: derive {:.2} ms, textures {:.2} ms each); solver {its:.1} it/s; peak RSS {:.0} MB",
                    ms(self.cpu_total, self.frames),
                    self.cpu_max.as_secs_f64() * 1e3,
                    median.as_secs_f64() * 1e3,
                    self.frames,
                    ms(self.ui_total, self.frames),
                    self.snapshots,
                    ms(self.derive_total, self.snapshots),
                    ms(self.textures_total, self.snapshots),
                    peak_rss_bytes().unwrap_or(0) as f64 / 1e6,
                );
            }
            self.window_start = Some(now);
            self.frames = 0;
            self.snapshots = 0;
            self.work_total = Duration::ZERO;
            self.ui_total = Duration::ZERO;
            self.derive_total = Duration::ZERO;
            self.textures_total = Duration::ZERO;
            self.work_max = Duration::ZERO;
            self.cpu_total = Duration::ZERO;
            self.cpu_max = Duration::ZERO;
            self.cpu_frames.clear();
            self.iter_start = self.last_iter;
        }
    }
}

/// CPU time used so far by the calling thread (Linux and other unixes).
#[cfg(unix)]
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32))
}

#[cfg(not(unix))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

/// The process's peak resident set size (VmHWM), from /proc (Linux);
/// elsewhere from getrusage.
pub fn peak_rss_bytes() -> Option<u64> {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        return Some(kb * 1024);
    }
    rusage_max_rss()
}

#[cfg(unix)]
fn rusage_max_rss() -> Option<u64> {
    // SAFETY: an all-zero rusage is a valid value; getrusage only writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    // ru_maxrss is in kilobytes on Linux and the BSDs, in bytes on macOS.
    let scale = if cfg!(target_os = "macos") { 1 } else { 1024 };
    (rc == 0).then(|| u64::try_from(usage.ru_maxrss).unwrap_or(0) * scale)
}

#[cfg(not(unix))]
fn rusage_max_rss() -> Option<u64> {
    None
}
