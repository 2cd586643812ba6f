//! Export…: the current fit written to a folder ([`crate::export`]) as a
//! background [`Job`] holding the CPU lease, with progress. A folder that
//! exists and holds files is never written without the user's "Overwrite".

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dataset::{DatasetMeta, LoadOptions, display_name};
use crate::export::{ExportError, ExportInput, check_destination, export_with_progress};
use crate::jobs::{CpuLease, Job, JobError, Wake};
use crate::nmf::{FaceMatrix, Params, Record, StopReason};

/// What an export needs, owned by its job (the pixels and metadata shared).
pub(crate) struct ExportWork {
    pub meta: Arc<DatasetMeta>,
    pub load_options: Option<LoadOptions>,
    pub data: Arc<FaceMatrix>,
    pub w: Arc<ndarray::Array2<f32>>,
    pub h: Arc<ndarray::Array2<f32>>,
    pub params: Params,
    pub history: Vec<Record>,
    pub iterations: usize,
    pub stop_reason: StopReason,
}

/// The export in progress, its confirmation and its outcome.
#[derive(Default)]
pub struct ExportState {
    /// A non-empty folder waiting for "Overwrite" or "Cancel".
    pub confirm: Option<PathBuf>,
    /// Files written of the total, while exporting.
    pub progress: Option<(usize, usize)>,
    /// The last export's outcome, for as long as it describes the fit shown.
    pub notice: Option<String>,
    /// The fit (id) the last export wrote: the notice goes when another
    /// fit is shown (a warm start, Reset, other faces).
    pub(crate) notice_fit: Option<u64>,
    job: Option<(PathBuf, ExportJob)>,
}

/// An export being written: progress (files done, total), then the number
/// of files or why it failed.
type ExportJob = Job<(usize, usize), Result<usize, String>>;

/// What asking for an export led to.
pub(crate) enum Requested {
    /// Writing has started.
    Started,
    /// The folder holds files: the user is asked first.
    Confirm,
}

impl ExportState {
    /// True while files are being written.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Exports to `dir`: at once when it is new or empty (or `overwrite`),
    /// else asks first.
    pub(crate) fn request(
        &mut self,
        dir: &Path,
        overwrite: bool,
        work: ExportWork,
        wake: Wake,
        lease: &CpuLease,
    ) -> anyhow::Result<Requested> {
        self.confirm = None;
        if self.job.is_some() {
            anyhow::bail!("an export is already running");
        }
        match check_destination(dir, overwrite) {
            Ok(()) => {}
            Err(ExportError::NotEmpty { dir }) => {
                self.confirm = Some(dir);
                return Ok(Requested::Confirm);
            }
            Err(e) => return Err(e.into()),
        }
        let target = dir.to_path_buf();
        let job = Job::spawn("export", wake, Some(lease), move |ctx| {
            let w = &work;
            let rel_err = w.data.rel_err(w.w.view(), w.h.view());
            let input = ExportInput {
                dataset: &w.meta,
                load_options: w.load_options.as_ref(),
                w: w.w.view(),
                h: w.h.view(),
                params: &w.params,
                history: &w.history,
                iterations: w.iterations,
                stop_reason: w.stop_reason,
                load_secs: None,
                init_secs: w.history.first().map_or(0.0, |r| r.secs),
                fit_secs: w.history.last().map_or(0.0, |r| r.secs),
                rel_err,
            };
            export_with_progress(&target, &input, overwrite, |p| ctx.progress((p.done, p.total)))
                .map(|s| s.files.len())
                .map_err(|e| e.to_string())
        })
        .map_err(|e: JobError| anyhow::Error::new(e).context("could not start the export"))?;
        self.job = Some((dir.to_path_buf(), job));
        self.progress = Some((0, 1));
        self.notice = None;
        Ok(Requested::Started)
    }

    /// Takes the job's progress; returns an error message when it failed.
    pub(crate) fn poll(&mut self) -> Option<String> {
        let (_, job) = self.job.as_mut()?;
        if let Some(p) = job.take_progress() {
            self.progress = Some(p);
        }
        let end = job.poll()?;
        let (dir, _) = self.job.take()?;
        self.progress = None;
        match end.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(files) => {
                self.notice =
                    Some(format!("Exported {} to {}", crate::dataset::count_of(files, "file"), display_name(&dir)));
                None
            }
            Err(e) => Some(format!("export to {} failed: {e}", display_name(&dir))),
        }
    }
}
