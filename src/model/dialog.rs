//! Native file and folder dialogs (rfd), each on a background [`Job`] so
//! the window keeps drawing. Where no desktop portal is reachable the views
//! fall back to their typed-path fields.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::jobs::{Job, Wake};

/// Image files offered by the native file dialog.
pub const IMAGE_EXTENSIONS: [&str; 11] =
    ["png", "pgm", "pnm", "ppm", "pbm", "jpg", "jpeg", "bmp", "gif", "tif", "tiff"];

/// What a dialog is choosing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A folder of faces to open.
    OpenFolder,
    /// An image to project onto the parts.
    ProjectImage,
    /// The folder to export to.
    ExportFolder,
    /// A cover image for the selected face.
    CoverImage,
    /// The PNG file to save a picture to.
    SavePicture,
}

impl Purpose {
    fn title(self) -> &'static str {
        match self {
            Purpose::OpenFolder => "Open a folder of faces",
            Purpose::ProjectImage => "Project a face",
            Purpose::ExportFolder => "Export the fit to a folder",
            Purpose::CoverImage => "Load a cover image",
            Purpose::SavePicture => "Save a picture",
        }
    }
}

/// What a dialog answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Picked(PathBuf),
    Cancelled,
    /// The dialog could not be shown: the sentence says why.
    Unavailable(String),
}

/// A dialog on screen.
pub(crate) struct Dialog {
    pub purpose: Purpose,
    opened_at: Instant,
    job: Job<(), Option<PathBuf>>,
}

/// True when a desktop portal may answer (a session bus exists).
pub fn portal_available() -> bool {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
}

impl Dialog {
    /// Shows the native dialog for `purpose`, starting in `start`.
    pub fn open(purpose: Purpose, start: Option<PathBuf>, wake: Wake) -> Result<Dialog, Answer> {
        if !portal_available() {
            return Err(Answer::Unavailable("No native file dialog is available here (no desktop portal).".into()));
        }
        let job = Job::spawn("dialog", wake, None, move |_| {
            let mut d = rfd::FileDialog::new().set_title(purpose.title());
            if let Some(dir) = start {
                d = d.set_directory(dir);
            }
            match purpose {
                Purpose::ProjectImage | Purpose::CoverImage => d.add_filter("Images", &IMAGE_EXTENSIONS).pick_file(),
                Purpose::OpenFolder | Purpose::ExportFolder => d.pick_folder(),
                Purpose::SavePicture => d.add_filter("PNG picture", &["png"]).set_file_name("facenmf.png").save_file(),
            }
        })
        .map_err(|e| Answer::Unavailable(format!("The native file dialog could not be started ({e}).")))?;
        Ok(Dialog { purpose, opened_at: Instant::now(), job })
    }

    /// The answer, once the dialog has closed.
    pub fn poll(&mut self) -> Option<Answer> {
        let answer = match self.job.poll()? {
            Ok(Some(path)) => Answer::Picked(path),
            // A dialog that "answers" at once never showed: no portal.
            Ok(None) if self.opened_at.elapsed() < Duration::from_millis(300) => {
                Answer::Unavailable("The native file dialog is not available (no desktop portal).".into())
            }
            Ok(None) => Answer::Cancelled,
            Err(e) => Answer::Unavailable(format!("The native file dialog failed ({e}).")),
        };
        Some(answer)
    }
}
