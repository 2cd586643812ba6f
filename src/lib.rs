//! facenmf: watch non-negative matrix factorization learn the parts of faces.
//!
//! Layers, each using only those before it:
//! 1. [`dataset`]: folder → pixel matrix, and the built-in face set.
//! 2. [`nmf`]: solvers, inits, losses, SVD/PCA (pure ndarray + rayon).
//! 3. [`jobs`]: one background-job type (cancel, latest-value progress,
//!    joined on drop) and the CPU lease; [`worker`]: a background thread that
//!    drives [`nmf`] step by step.
//! 4. [`app`] / [`ui`]: the eframe desktop app.
//! 5. [`cli`]: headless commands over layers 1–3.
//!
//! [`export`] writes a fit (images, W and H, a JSON report) to a folder,
//! for the CLI and the GUI alike; [`project`] computes the weights of a
//! face that is not in the set.

pub mod app;
pub mod cli;
pub mod dataset;
pub mod export;
pub mod jobs;
pub mod nmf;
pub mod project;
pub mod ui;
pub mod worker;
