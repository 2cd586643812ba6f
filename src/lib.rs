//! facenmf: watch non-negative matrix factorization learn the parts of faces.
//!
//! Layers, each using only those before it (ARCHITECTURE.md):
//! 1. [`dataset`]: folder → pixel matrix, and the built-in face set.
//! 2. [`nmf`]: solvers, inits, losses, SVD/PCA (pure ndarray + rayon).
//! 3. [`jobs`] / [`worker`]: background work (no egui): one job type, the
//!    CPU lease, the thread that drives [`nmf`] step by step, and the
//!    snapshots it keeps for replay ([`replay`]).
//! 4. [`model`]: the app's state and what it does, apart from any view.
//! 5. [`ui`]: the views (eframe/egui), one struct and file each; [`app`]:
//!    the shell joining model and views; [`cli`]: headless commands.
//!
//! [`export`] writes a fit (images, W and H, a JSON report) to a folder,
//! for the CLI and the GUI alike; [`project`] computes the weights of a
//! face that is not in the set.

pub mod app;
pub mod cli;
pub mod dataset;
pub mod export;
pub mod jobs;
pub mod model;
pub mod nmf;
pub mod project;
pub mod replay;
pub mod ui;
pub mod worker;
