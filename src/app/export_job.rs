//! The Export… window's work: write the current fit to a folder
//! ([`crate::export`]) on a background thread, with progress. A folder that
//! exists and holds files is never overwritten without the user's "Overwrite".

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread::JoinHandle;

use super::FaceNmfApp;
use super::new_face::{NativeDialog, poll_native_dialog, spawn_native_dialog};
use crate::dataset::{Dataset, LoadOptions};
use crate::export::{ExportError, ExportInput, check_destination, export_with_progress};
use crate::nmf::{FaceMatrix, Params, Record, StopReason};
use crate::worker::FitState;

/// What the export thread reports.
enum Message {
    Progress { done: usize, total: usize },
    Done(Result<usize, String>),
}

/// The export window's state and the running export.
#[derive(Default)]
pub struct ExportState {
    /// The window with the folder field.
    pub window_open: bool,
    /// The destination folder as typed (or chosen).
    pub path: String,
    /// Why the native dialog is not available, when it is not.
    pub note: Option<String>,
    /// A non-empty folder waiting for "Overwrite" or "Cancel".
    pub confirm: Option<PathBuf>,
    /// Files written of the total, while exporting.
    pub progress: Option<(usize, usize)>,
    /// The last export's outcome for the status line.
    pub notice: Option<String>,
    pub(crate) dialog: Option<NativeDialog>,
    job: Option<(PathBuf, Receiver<Message>, JoinHandle<()>)>,
}

impl ExportState {
    /// True while files are being written.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }
}

impl Drop for ExportState {
    /// Waits for an export in progress (files are written atomically; it
    /// ends within seconds), so no thread outlives the app.
    fn drop(&mut self) {
        if let Some((_, rx, handle)) = self.job.take() {
            drop(rx);
            if handle.join().is_err() {
                log::warn!("the export thread panicked");
            }
        }
    }
}

/// What the thread needs, owned.
struct Owned {
    dataset: Dataset,
    load_options: Option<LoadOptions>,
    data: Arc<FaceMatrix>,
    w: Arc<ndarray::Array2<f32>>,
    h: Arc<ndarray::Array2<f32>>,
    params: Params,
    history: Vec<Record>,
    iterations: usize,
    stop_reason: StopReason,
    init_secs: f64,
    fit_secs: f64,
}

impl FaceNmfApp {
    /// Opens the Export… window.
    pub fn open_export_window(&mut self) {
        self.export.window_open = true;
        self.export.confirm = None;
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            self.export.note = Some("No native folder dialog here (no desktop portal): type the folder's path.".into());
        }
    }

    /// Opens the native folder dialog for the destination.
    pub(crate) fn browse_export_folder(&mut self) {
        let start = self.settings.last_folder.clone();
        let dialog = spawn_native_dialog(&self.ctx, move || {
            let mut d = rfd::FileDialog::new().set_title("Export the fit to a folder");
            if let Some(dir) = start {
                d = d.set_directory(dir);
            }
            d.pick_folder()
        });
        match dialog {
            Some(d) => self.export.dialog = Some(d),
            None => {
                self.export.note =
                    Some("No native folder dialog here (no desktop portal): type the folder's path.".into());
            }
        }
    }

    /// Exports to the typed folder: at once when it is new or empty, after
    /// confirmation when it holds files.
    pub(crate) fn request_export(&mut self) {
        let text = self.export.path.trim().to_string();
        if text.is_empty() {
            self.report_error(&anyhow::anyhow!("type the folder to export to"));
            return;
        }
        let dir = PathBuf::from(text);
        match check_destination(&dir, false) {
            Ok(()) => self.start_export(&dir, false),
            Err(ExportError::NotEmpty { dir }) => self.export.confirm = Some(dir),
            Err(e) => self.report_error(&anyhow::Error::new(e)),
        }
    }

    /// The user confirmed overwriting the folder waiting for it.
    pub(crate) fn confirm_overwrite(&mut self) {
        if let Some(dir) = self.export.confirm.take() {
            self.start_export(&dir, true);
        }
    }

    fn start_export(&mut self, dir: &Path, overwrite: bool) {
        self.export.confirm = None;
        if self.export.job.is_some() {
            return;
        }
        let (Some(faces), Some(fit)) = (&self.faces, &self.fit) else {
            self.report_error(&anyhow::anyhow!("nothing to export: run a fit first"));
            return;
        };
        let p = &fit.progress;
        let load_options = match &self.current_load {
            Some((super::LoadRequest::Folder(_), resize)) => {
                Some(LoadOptions { resize: *resize, preprocess: self.settings.preprocess, ..LoadOptions::default() })
            }
            _ => None,
        };
        let owned = Owned {
            dataset: faces.dataset.clone(),
            load_options,
            data: Arc::clone(&faces.matrix),
            w: Arc::clone(&p.snapshot.w),
            h: Arc::clone(&p.snapshot.h),
            params: p.params.clone(),
            history: self.worker.as_ref().map_or_else(Vec::new, |w| w.history().to_vec()),
            iterations: p.snapshot.iteration,
            stop_reason: match p.state {
                FitState::Stopped(r) => r,
                // A running fit is exported as it is now.
                FitState::Running | FitState::Paused => StopReason::Cancelled,
            },
            init_secs: p.init_secs,
            fit_secs: p.snapshot.secs,
        };
        let (tx, rx) = mpsc::sync_channel(8);
        let ctx = self.ctx.clone();
        let target = dir.to_path_buf();
        let spawned = std::thread::Builder::new().name("facenmf-export".into()).spawn(move || {
            let rel_err = owned.data.rel_err(owned.w.view(), owned.h.view());
            let input = ExportInput {
                dataset: &owned.dataset,
                load_options: owned.load_options.as_ref(),
                w: owned.w.view(),
                h: owned.h.view(),
                params: &owned.params,
                history: &owned.history,
                iterations: owned.iterations,
                stop_reason: owned.stop_reason,
                load_secs: None,
                init_secs: owned.init_secs,
                fit_secs: owned.fit_secs,
                rel_err,
            };
            let result = export_with_progress(&target, &input, overwrite, |p| {
                if tx.try_send(Message::Progress { done: p.done, total: p.total }).is_ok() {
                    ctx.request_repaint();
                }
            });
            let _ = tx.send(Message::Done(result.map(|s| s.files.len()).map_err(|e| format!("{e}"))));
            ctx.request_repaint();
        });
        match spawned {
            Ok(handle) => {
                self.export.job = Some((dir.to_path_buf(), rx, handle));
                self.export.progress = Some((0, 1));
                self.export.notice = None;
            }
            Err(e) => self.report_error(&anyhow::Error::new(e).context("could not start the export")),
        }
    }

    /// Picks up the dialog's folder and the export's progress (in `logic()`).
    pub(crate) fn poll_export(&mut self) {
        match poll_native_dialog(&mut self.export.dialog) {
            Ok(Some(dir)) => self.export.path = dir.display().to_string(),
            Ok(None) => {}
            Err(note) => self.export.note = Some(format!("{note} Type the folder's path.")),
        }
        let Some((_, rx, _)) = &self.export.job else {
            return;
        };
        let mut end = None;
        loop {
            match rx.try_recv() {
                Ok(Message::Progress { done, total }) => self.export.progress = Some((done, total)),
                Ok(Message::Done(r)) => {
                    end = Some(r);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    end = Some(Err("the export stopped unexpectedly".into()));
                    break;
                }
            }
        }
        let Some(result) = end else {
            return;
        };
        if let Some((dir, _, handle)) = self.export.job.take() {
            if handle.join().is_err() {
                log::warn!("the export thread panicked");
            }
            self.export.progress = None;
            match result {
                Ok(files) => {
                    // The window stays open with the outcome (the status
                    // line may be too narrow for a long path).
                    self.export.notice = Some(format!("Exported {files} files to {}", dir.display()));
                }
                Err(e) => self.report_error(&anyhow::anyhow!("export to {} failed: {e}", dir.display())),
            }
        }
    }
}

impl FaceNmfApp {
    /// True while an export is writing files.
    pub fn is_exporting(&self) -> bool {
        self.export.is_running()
    }

    /// The last export's outcome ("Exported N files to DIR"), if any.
    pub fn export_notice(&self) -> Option<&str> {
        self.export.notice.as_deref()
    }
}
