//! The built-in synthetic face set.
//!
//! Faces are drawn by facenmf's own deterministic generator as a sum of
//! ADDITIVE, non-negative parts, so NMF can learn exactly those parts back:
//!
//! ```text
//! face = Σ_parts intensity_i · part_i  +  N(0, 0.01) noise,  clamped to [0, 1], quantised to k/255
//! ```
//!
//! Every part is a fixed, smooth, soft-edged image (gaussian blobs,
//! smoothstep-edged ellipses and strokes). Since nothing can be subtracted,
//! features are bright strokes on a moderately bright, shaded head: eye
//! whites with the iris left dark, teeth, lips, light hair, glasses frames
//! catching the light. The [`N_PARTS`] parts, in order, are listed in
//! [`PART_NAMES`]. Per face: one of the two heads (long, lit from above;
//! round, lit from below), always; at most one variant each of eyes, brows,
//! nose and mouth (each group is left out of some faces, since parts that
//! are always present cannot be told apart by NMF); optionally one hair
//! style, one lighting direction, glasses, moustache, goatee and side
//! whiskers. Each present part gets its own random intensity in 0.6..=1.0
//! (independently). Parts are scaled so
//! that the brightest possible face peaks at about 0.95.
//!
//! Each face's label is its mouth variant ("frown", "neutral", "no-mouth",
//! "open", "smile"); faces are ordered by label and numbered in that order, and
//! [`write_folder`] writes `DIR/<label>/face_NNNN.png`, so loading the
//! folder back with [`load_folder`](super::load_folder) reproduces the set
//! exactly (matrix, order, labels and files).

use std::path::Path;

use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::{BLOCK, Dataset, DatasetError, DatasetMeta, Source, column_blocks, to_u8, write_block};

/// Number of true parts (part variants) of the built-in set.
pub const N_PARTS: usize = 21;

/// Names of the parts, in column order of [`BuiltinFaces::parts`].
pub const PART_NAMES: [&str; N_PARTS] = [
    "head long",
    "head round",
    "eyes open",
    "eyes glancing",
    "eyes closed",
    "brows level",
    "brows raised",
    "nose long",
    "nose wide",
    "mouth smile",
    "mouth neutral",
    "mouth open",
    "mouth frown",
    "glasses",
    "hair fringe",
    "hair long",
    "moustache",
    "goatee",
    "side whiskers",
    "light from left",
    "light from right",
];

/// Number of faces in the default set.
pub const DEFAULT_FACES: usize = 400;
/// Side of the default faces, in pixels.
pub const DEFAULT_SIZE: usize = 64;
/// Seed of the default set.
pub const DEFAULT_SEED: u64 = 0x5EED_FACE;
/// Standard deviation of the pixel noise added to every face.
pub const NOISE_STD: f32 = 0.01;

/// The built-in face set together with its true parts.
#[derive(Debug, Clone)]
pub struct BuiltinFaces {
    /// The faces ([`Source::BuiltIn`]).
    pub dataset: Dataset,
    /// pixels × n_parts, the true part images (already scaled as used in the faces).
    pub parts: Array2<f32>,
    /// Name of each part (column of `parts`), see [`PART_NAMES`].
    pub part_names: Vec<String>,
}

/// The default built-in set: [`DEFAULT_FACES`] faces of
/// [`DEFAULT_SIZE`]×[`DEFAULT_SIZE`], always the same.
pub fn builtin_faces() -> BuiltinFaces {
    generate(DEFAULT_FACES, DEFAULT_SIZE, DEFAULT_SEED)
}

// Part indices.
const HEAD: [usize; 2] = [0, 1];
const EYES: [usize; 3] = [2, 3, 4];
const BROWS: [usize; 2] = [5, 6];
const NOSE: [usize; 2] = [7, 8];
const MOUTH: [usize; 4] = [9, 10, 11, 12];
const GLASSES: usize = 13;
const HAIR: [usize; 2] = [14, 15];
const MOUSTACHE: usize = 16;
const GOATEE: usize = 17;
const WHISKERS: usize = 18;
const LIGHT: [usize; 2] = [19, 20];

/// Label (folder name) of each mouth variant, in the order of `MOUTH`.
/// (The last label is for faces drawn without a mouth part.)
const MOUTH_LABELS: [&str; 5] = ["smile", "neutral", "open", "frown", "no-mouth"];

/// Groups of mutually exclusive parts (for the brightness bound); every
/// other part is independent.
const EXCLUSIVE: [&[usize]; 7] = [&HEAD, &EYES, &BROWS, &NOSE, &MOUTH, &HAIR, &LIGHT];

/// Generates `n_faces` faces of `size`×`size` pixels from `seed`
/// (deterministic: same arguments, same set, whatever the thread count).
///
/// The parts are designed on a 64×64 grid and rendered at `size`; sizes
/// below about 24 lose the finer strokes. `size` 0 is treated as 1.
pub fn generate(n_faces: usize, size: usize, seed: u64) -> BuiltinFaces {
    let size = size.max(1);
    let parts = render_parts(size);
    let pixels = size * size;

    // Choose the parts and intensities of every face (cheap, sequential).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let recipes: Vec<Recipe> = (0..n_faces).map(|_| Recipe::random(&mut rng)).collect();
    // Order by label (stable), so the folder written loads back in this order.
    let mut order: Vec<usize> = (0..n_faces).collect();
    order.sort_by_key(|&i| MOUTH_LABELS[recipes[i].mouth]);

    let mut matrix = Array2::<f32>::zeros((pixels, n_faces));
    let lut: [f32; 256] = std::array::from_fn(|k| k as f32 / 255.0);
    column_blocks(&mut matrix).into_par_iter().zip(order.par_chunks(BLOCK)).for_each(|(block, idx)| {
        let mut buf = vec![0f32; pixels * idx.len()];
        for (&i, out) in idx.iter().zip(buf.chunks_exact_mut(pixels)) {
            render_face(&recipes[i], &parts, seed, i as u64, &lut, out);
        }
        write_block(block, &buf, pixels);
    });

    let labels: Vec<String> = order.iter().map(|&i| MOUTH_LABELS[recipes[i].mouth].to_string()).collect();
    let files = labels.iter().enumerate().map(|(j, l)| Path::new(l).join(format!("face_{:04}.png", j + 1))).collect();
    BuiltinFaces {
        dataset: Dataset {
            matrix,
            meta: DatasetMeta {
                width: size,
                height: size,
                labels,
                files,
                source: Source::BuiltIn,
                skipped: Vec::new(),
            },
        },
        parts,
        part_names: PART_NAMES.iter().map(|s| s.to_string()).collect(),
    }
}

/// Which parts a face has, with their intensities.
#[derive(Debug, Clone)]
struct Recipe {
    mouth: usize,
    /// (part index, intensity)
    parts: Vec<(usize, f32)>,
}

impl Recipe {
    fn random(rng: &mut Xoshiro256PlusPlus) -> Recipe {
        let mut parts = Vec::with_capacity(12);
        let mut add = |rng: &mut Xoshiro256PlusPlus, part: usize| {
            let c: f32 = rng.random_range(0.6..=1.0);
            parts.push((part, c));
        };
        // Picks index i with probability weights[i].
        fn pick(rng: &mut Xoshiro256PlusPlus, weights: &[f32]) -> usize {
            let mut r: f32 = rng.random::<f32>() * weights.iter().sum::<f32>();
            for (i, &w) in weights.iter().enumerate() {
                if r < w {
                    return i;
                }
                r -= w;
            }
            weights.len() - 1
        }
        let h = pick(rng, &[0.5, 0.5]);
        add(rng, HEAD[h]);
        // Every group is absent from some faces (the last weight): parts
        // that are always there could not be told apart from each other.
        let e = pick(rng, &[0.45, 0.2, 0.2, 0.15]);
        if let Some(&part) = EYES.get(e) {
            add(rng, part);
        }
        let b = pick(rng, &[0.45, 0.35, 0.2]);
        if let Some(&part) = BROWS.get(b) {
            add(rng, part);
        }
        let n = pick(rng, &[0.42, 0.42, 0.16]);
        if let Some(&part) = NOSE.get(n) {
            add(rng, part);
        }
        let mouth = pick(rng, &[0.21, 0.21, 0.21, 0.21, 0.16]);
        if let Some(&part) = MOUTH.get(mouth) {
            add(rng, part);
        }
        if rng.random::<f32>() < 0.3 {
            add(rng, GLASSES);
        }
        match pick(rng, &[0.35, 0.35, 0.3]) {
            0 => add(rng, HAIR[0]),
            1 => add(rng, HAIR[1]),
            _ => {}
        }
        if rng.random::<f32>() < 0.25 {
            add(rng, MOUSTACHE);
        }
        if rng.random::<f32>() < 0.2 {
            add(rng, GOATEE);
        }
        if rng.random::<f32>() < 0.2 {
            add(rng, WHISKERS);
        }
        match pick(rng, &[0.3, 0.3, 0.4]) {
            0 => add(rng, LIGHT[0]),
            1 => add(rng, LIGHT[1]),
            _ => {}
        }
        Recipe { mouth, parts }
    }
}

fn render_face(recipe: &Recipe, parts: &Array2<f32>, seed: u64, index: u64, lut: &[f32; 256], out: &mut [f32]) {
    out.fill(0.0);
    for &(part, c) in &recipe.parts {
        for (o, &v) in out.iter_mut().zip(parts.column(part).iter()) {
            *o += c * v;
        }
    }
    // Per-face noise stream: independent of thread scheduling.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for o in out.iter_mut() {
        let z: f32 = rng.sample(StandardNormal);
        *o = lut[to_u8(*o + NOISE_STD * z) as usize];
    }
}

// ------------------------------------------------------------ drawing kit
//
// All coordinates are in design units on a 64×64 grid (x right, y down).

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn gauss(x: f32, y: f32, cx: f32, cy: f32, sx: f32, sy: f32) -> f32 {
    let dx = (x - cx) / sx;
    let dy = (y - cy) / sy;
    (-0.5 * (dx * dx + dy * dy)).exp()
}

/// Approximate signed distance (design units) to an ellipse's boundary, negative inside.
fn ellipse_dist(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> f32 {
    let dx = (x - cx) / rx;
    let dy = (y - cy) / ry;
    let r = (dx * dx + dy * dy).sqrt();
    if r < 1e-6 {
        return -rx.min(ry);
    }
    // f = r - 1, |∇f| = sqrt((dx/rx)² + (dy/ry)²) / r
    let g = ((dx / rx).powi(2) + (dy / ry).powi(2)).sqrt() / r;
    (r - 1.0) / g.max(1e-6)
}

/// Filled ellipse, 1 inside, 0 outside, edge smoothed over ±`soft`.
fn ellipse(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32, soft: f32) -> f32 {
    1.0 - smoothstep(-soft, soft, ellipse_dist(x, y, cx, cy, rx, ry))
}

/// Elliptic ring (outline) of the given line width, soft-edged.
fn ring(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32, width: f32) -> f32 {
    let soft = 0.4;
    let d = ellipse_dist(x, y, cx, cy, rx, ry).abs();
    1.0 - smoothstep(width / 2.0 - soft, width / 2.0 + soft, d)
}

/// A stroke along a parametric curve `f(t)`, t in [0, 1], of line `width`,
/// optionally tapered towards both ends.
struct Stroke {
    pts: Vec<(f32, f32)>,
    width: f32,
    soft: f32,
    taper: bool,
}

impl Stroke {
    fn new(f: impl Fn(f32) -> (f32, f32), width: f32, soft: f32, taper: bool) -> Stroke {
        const N: usize = 40;
        let pts = (0..=N).map(|i| f(i as f32 / N as f32)).collect();
        Stroke { pts, width, soft, taper }
    }

    fn eval(&self, x: f32, y: f32) -> f32 {
        let n = self.pts.len() - 1;
        let mut best = f32::INFINITY;
        let mut best_t = 0.0;
        for i in 0..n {
            let (ax, ay) = self.pts[i];
            let (bx, by) = self.pts[i + 1];
            let (vx, vy) = (bx - ax, by - ay);
            let len2 = vx * vx + vy * vy;
            let s = if len2 > 0.0 { (((x - ax) * vx + (y - ay) * vy) / len2).clamp(0.0, 1.0) } else { 0.0 };
            let (px, py) = (ax + s * vx - x, ay + s * vy - y);
            let d2 = px * px + py * py;
            if d2 < best {
                best = d2;
                best_t = (i as f32 + s) / n as f32;
            }
        }
        let w = if self.taper {
            self.width * (0.35 + 0.65 * (1.0 - (2.0 * best_t - 1.0).powi(2)).sqrt())
        } else {
            self.width
        };
        1.0 - smoothstep(w / 2.0 - self.soft, w / 2.0 + self.soft, best.sqrt())
    }
}

/// Soft vertical strand texture for hair, in [0.7, 1].
fn strands(x: f32, y: f32) -> f32 {
    0.85 + 0.15 * (x * 2.3 + 0.8 * (y * 0.35).sin()).sin()
}

/// Soft stipple texture for beards, in [0.7, 1].
fn stubble(x: f32, y: f32) -> f32 {
    0.85 + 0.075 * ((x * 2.9 + y * 1.7).sin() + (x * 1.3 - y * 3.1).sin())
}

// Layout (design units).
/// The two head shapes: (centre x, centre y, radius x, radius y).
const HEADS: [(f32, f32, f32, f32); 2] = [(32.0, 33.5, 17.5, 25.5), (32.0, 35.5, 21.5, 22.5)];
const EYE_Y: f32 = 30.0;
const EYE_X: [f32; 2] = [24.0, 40.0];

/// Where both head shapes are (their intersection): for parts drawn on the skin.
fn head_oval(x: f32, y: f32) -> f32 {
    HEADS.iter().map(|&(cx, cy, rx, ry)| ellipse(x, y, cx, cy, rx, ry, 1.2)).fold(1.0, f32::min)
}

/// Either head shape enlarged by (gx, gy) (their union): for hair around the head.
fn head_hull(x: f32, y: f32, gx: f32, gy: f32, soft: f32) -> f32 {
    HEADS.iter().map(|&(cx, cy, rx, ry)| ellipse(x, y, cx, cy, rx + gx, ry + gy, soft)).fold(0.0, f32::max)
}

/// Renders every part at `size`×`size`, scaled so the brightest possible
/// face peaks at about 0.95. Returns pixels × N_PARTS.
fn render_parts(size: usize) -> Array2<f32> {
    let pixels = size * size;
    let scale = 64.0 / size as f32;

    let brow = |level: bool| {
        EYE_X.map(|ex| {
            Stroke::new(
                move |t| {
                    let s = 2.0 * t - 1.0;
                    let x = ex + 5.2 * s;
                    let y = if level { 23.2 - 0.7 * (1.0 - s * s) } else { 20.6 - 2.1 * (1.0 - s * s) };
                    (x, y)
                },
                2.5,
                0.6,
                true,
            )
        })
    };
    let brows_level = brow(true);
    let brows_raised = brow(false);
    let lids = EYE_X.map(|ex| {
        Stroke::new(
            move |t| {
                let s = 2.0 * t - 1.0;
                (ex + 4.6 * s, EYE_Y + 0.3 + 1.3 * (1.0 - s * s))
            },
            2.1,
            0.5,
            true,
        )
    });
    let nose_bridge = Stroke::new(|t| (32.0, 31.0 + 8.5 * t), 2.2, 0.7, true);
    let nose_base = Stroke::new(
        |t| {
            let s = 2.0 * t - 1.0;
            (32.0 + 3.2 * s, 42.6 + 0.6 * (1.0 - s * s))
        },
        1.2,
        0.5,
        false,
    );
    let smile = Stroke::new(
        |t| {
            let s = 2.0 * t - 1.0;
            (32.0 + 8.0 * s, 50.6 - 3.0 * s * s)
        },
        1.4,
        0.5,
        true,
    );
    let neutral = Stroke::new(|t| (23.0 + 18.0 * t, 49.6 + 0.4 * (2.0 * t - 1.0).powi(2)), 2.0, 0.5, true);
    let frown = Stroke::new(
        |t| {
            let s = 2.0 * t - 1.0;
            (32.0 + 7.0 * s, 48.2 + 2.6 * s * s)
        },
        2.2,
        0.5,
        true,
    );
    let moustache = Stroke::new(
        |t| {
            let s = 2.0 * t - 1.0;
            (32.0 + 7.0 * s, 45.0 + 2.0 * s * s)
        },
        2.4,
        0.6,
        true,
    );
    let bridge = Stroke::new(
        |t| {
            let s = 2.0 * t - 1.0;
            (32.0 + 2.0 * s, 29.0 + 0.6 * s * s)
        },
        1.0,
        0.4,
        false,
    );
    let temples = [
        Stroke::new(|t| (17.5 - 5.0 * t, 29.0 - 0.5 * t), 1.0, 0.4, false),
        Stroke::new(|t| (46.5 + 5.0 * t, 29.0 - 0.5 * t), 1.0, 0.4, false),
    ];

    let part = |i: usize, x: f32, y: f32| -> f32 {
        match i {
            0 | 1 => {
                // Long head lit from above; round head lit from below.
                let (cx, cy, rx, ry) = HEADS[i];
                let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
                let dome = (1.0 - 0.6 * (dx * dx + dy * dy)).max(0.0).sqrt();
                let light = if i == 0 {
                    0.65 + 0.35 * smoothstep(46.0, 14.0, y)
                } else {
                    0.65 + 0.35 * smoothstep(20.0, 50.0, y)
                };
                let sockets = 1.0 - 0.45 * EYE_X.iter().map(|&ex| gauss(x, y, ex, EYE_Y, 4.5, 3.0)).sum::<f32>();
                let face = ellipse(x, y, cx, cy, rx, ry, 1.2) * dome * light * sockets;
                let half_neck = if i == 0 { 4.5 } else { 7.5 };
                let neck = (1.0 - smoothstep(half_neck - 0.8, half_neck + 0.8, (x - 32.0).abs()))
                    * smoothstep(cy + ry - 6.0, cy + ry - 3.0, y)
                    * 0.5;
                let ears = 0.7
                    * (ellipse(x, y, cx - rx - 0.6, 34.0, 2.2, 4.6, 0.8)
                        + ellipse(x, y, cx + rx + 0.6, 34.0, 2.2, 4.6, 0.8));
                face.max(neck).max(ears)
            }
            2 | 3 => {
                let shift = if i == 2 { 0.0 } else { -2.4 };
                EYE_X
                    .iter()
                    .map(|&ex| {
                        ellipse(x, y, ex, EYE_Y, 4.6, 2.3, 0.6)
                            * (1.0 - ellipse(x, y, ex + shift, EYE_Y, 1.9, 1.9, 0.5))
                    })
                    .sum()
            }
            4 => lids.iter().map(|s| s.eval(x, y)).sum(),
            5 => brows_level.iter().map(|s| s.eval(x, y)).sum(),
            6 => brows_raised.iter().map(|s| s.eval(x, y)).sum(),
            7 => (0.85 * nose_bridge.eval(x, y)).max(gauss(x, y, 32.0, 40.2, 2.1, 1.6)),
            8 => (ellipse(x, y, 28.6, 41.4, 2.2, 1.5, 0.6) + ellipse(x, y, 35.4, 41.4, 2.2, 1.5, 0.6))
                .max(0.8 * nose_base.eval(x, y)),
            9 => {
                // Teeth between the upper lip and the smile line.
                let u = (x - 32.0) / 7.0;
                let upper = 48.0 - 1.0 * u * u;
                let lower = 50.6 - 3.0 * (x - 32.0).powi(2) / 64.0;
                let teeth = smoothstep(upper - 0.5, upper + 0.5, y)
                    * (1.0 - smoothstep(lower - 0.5, lower + 0.3, y))
                    * (1.0 - smoothstep(5.0, 6.0, (x - 32.0).abs()));
                smile.eval(x, y).max(0.85 * teeth)
            }
            10 => neutral.eval(x, y).max(0.8 * gauss(x, y, 32.0, 52.2, 3.6, 0.9)),
            11 => ellipse(x, y, 32.0, 50.0, 4.0, 3.4, 0.5) * (1.0 - ellipse(x, y, 32.0, 50.2, 2.4, 1.9, 0.5)),
            12 => frown.eval(x, y),
            GLASSES => {
                let rims: f32 = EYE_X.iter().map(|&ex| ring(x, y, ex, EYE_Y, 6.4, 5.0, 1.0)).sum();
                rims.max(bridge.eval(x, y)).max(temples[0].eval(x, y)).max(temples[1].eval(x, y))
            }
            14 => {
                // Fringe: inside a slightly enlarged head outline, above a wavy edge.
                let edge = 16.3 + 1.0 * (x * 0.9).sin();
                head_hull(x, y, 1.0, 1.0, 0.8) * (1.0 - smoothstep(edge - 0.8, edge + 0.8, y)) * strands(x, y)
            }
            15 => {
                // Long hair: around the head (not over the face), down to the shoulders.
                let outer = ellipse(x, y, 32.0, 31.0, 26.0, 27.5, 1.0);
                let inner = head_hull(x, y, 1.3, 1.8, 0.8);
                outer * (1.0 - inner) * (1.0 - smoothstep(48.0, 53.0, y)) * strands(x, y)
            }
            MOUSTACHE => moustache.eval(x, y) * stubble(x, y),
            GOATEE => ellipse(x, y, 32.0, 56.4, 4.0, 2.2, 0.7) * stubble(x, y),
            WHISKERS => {
                head_oval(x, y)
                    * smoothstep(9.5, 12.5, (x - 32.0).abs())
                    * smoothstep(36.0, 40.0, y)
                    * (1.0 - smoothstep(51.0, 55.0, y))
                    * stubble(x, y)
            }
            19 => head_oval(x, y) * smoothstep(27.0, 13.5, x).powf(1.5),
            20 => head_oval(x, y) * smoothstep(37.0, 50.5, x).powf(1.5),
            _ => 0.0,
        }
    };
    // Relative brightness of each part.
    const AMP: [f32; N_PARTS] = [
        0.40, 0.40, // head
        0.55, 0.55, 0.55, // eyes
        0.45, 0.45, // brows
        0.55, 0.50, // nose
        0.55, 0.50, 0.55, 0.50, // mouth
        0.50, // glasses
        0.50, 0.50, // hair
        0.45, 0.45, 0.45, // beard
        0.30, 0.30, // light
    ];

    let mut parts = Array2::<f32>::zeros((pixels, N_PARTS));
    parts.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(p, mut row)| {
        let (px, py) = (p % size, p / size);
        let x = (px as f32 + 0.5) * scale;
        let y = (py as f32 + 0.5) * scale;
        for (i, v) in row.iter_mut().enumerate() {
            *v = AMP[i] * part(i, x, y).clamp(0.0, 1.0);
        }
    });

    // Brightest possible face: every independent part, plus the brightest
    // variant of each exclusive group, all at intensity 1.
    let worst = parts
        .axis_iter(Axis(0))
        .map(|row| {
            let mut sum = 0.0;
            let mut grouped = [false; N_PARTS];
            for g in EXCLUSIVE {
                sum += g.iter().map(|&i| row[i]).fold(0.0, f32::max);
                for &i in g {
                    grouped[i] = true;
                }
            }
            sum + (0..N_PARTS).filter(|&i| !grouped[i]).map(|i| row[i]).sum::<f32>()
        })
        .fold(0.0, f32::max);
    if worst > 0.0 {
        parts.mapv_inplace(|v| v * 0.95 / worst);
    }
    parts
}

/// Writes the faces as 8-bit grayscale PNGs to `dir/<files[j]>`
/// (`dir/<label>/face_NNNN.png`), creating folders as needed.
///
/// Refuses to overwrite: if any target file exists, nothing is written and
/// the error names it. Each file is written to a temporary file in its
/// folder and then moved into place without replacing anything (atomic).
pub fn write_folder(faces: &BuiltinFaces, dir: &Path) -> Result<(), DatasetError> {
    let ds = &faces.dataset;
    let targets: Vec<std::path::PathBuf> = ds.files.iter().map(|f| dir.join(f)).collect();
    if let Some(t) = targets.iter().find(|t| t.exists()) {
        return Err(DatasetError::FileExists { path: t.clone() });
    }
    let mut folders: Vec<&Path> = targets.iter().filter_map(|t| t.parent()).collect();
    folders.sort();
    folders.dedup();
    for f in folders {
        std::fs::create_dir_all(f).map_err(|e| DatasetError::Io { path: f.to_path_buf(), source: e })?;
    }
    targets.par_iter().enumerate().try_for_each(|(j, target)| write_png(&ds.face_image(j), target))
}

fn write_png(img: &image::GrayImage, target: &Path) -> Result<(), DatasetError> {
    let folder = target.parent().unwrap_or(Path::new("."));
    let io_err = |e: std::io::Error| DatasetError::Io { path: target.to_path_buf(), source: e };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".facenmf-").suffix(".png.tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode of any new file (0666 less the umask), not the temporary file's 0600.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(folder).map_err(io_err)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        img.write_to(&mut w, image::ImageFormat::Png)
            .map_err(|e| DatasetError::Encode { path: target.to_path_buf(), source: e })?;
        std::io::Write::flush(&mut w).map_err(io_err)?;
    }
    tmp.persist_noclobber(target).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            DatasetError::FileExists { path: target.to_path_buf() }
        } else {
            io_err(e.error)
        }
    })?;
    Ok(())
}

/// Tiles columns of `images` (pixels × n, each `width`×`height`) into one
/// 8-bit image, `per_row` tiles per row with a 1-pixel dark gap. With
/// `normalize`, each tile is scaled so its maximum is white (for basis
/// images); otherwise values in [0, 1] are shown as they are.
pub fn montage(
    images: ArrayView2<'_, f32>,
    width: usize,
    height: usize,
    per_row: usize,
    normalize: bool,
) -> image::GrayImage {
    let n = images.ncols();
    let per_row = per_row.max(1);
    let rows = n.div_ceil(per_row).max(1);
    let (tw, th) = (width + 1, height + 1);
    let mut out = image::GrayImage::new((per_row * tw + 1) as u32, (rows * th + 1) as u32);
    for (j, col) in images.axis_iter(Axis(1)).enumerate() {
        let max = if normalize { col.iter().cloned().fold(0.0f32, f32::max).max(1e-12) } else { 1.0 };
        let (ox, oy) = (1 + (j % per_row) * tw, 1 + (j / per_row) * th);
        for (p, &v) in col.iter().enumerate().take(width * height) {
            let (x, y) = (ox + p % width, oy + p / width);
            out.put_pixel(x as u32, y as u32, image::Luma([to_u8(v / max)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_quantised() {
        let a = generate(40, 32, 7);
        let b = generate(40, 32, 7);
        assert_eq!(a.dataset.matrix, b.dataset.matrix);
        assert_eq!(a.dataset.labels, b.dataset.labels);
        let c = generate(40, 32, 8);
        assert_ne!(a.dataset.matrix, c.dataset.matrix);
        assert_eq!(a.dataset.matrix.dim(), (32 * 32, 40));
        assert_eq!(a.parts.dim(), (32 * 32, N_PARTS));
        for &v in a.dataset.matrix.iter() {
            assert!((0.0..=1.0).contains(&v));
            assert_eq!(v, to_u8(v) as f32 / 255.0, "not quantised: {v}");
        }
        // Sorted by label, files numbered in order.
        let mut sorted = a.dataset.labels.clone();
        sorted.sort();
        assert_eq!(sorted, a.dataset.labels);
        assert_eq!(a.dataset.files[0], Path::new(&a.dataset.labels[0]).join("face_0001.png"));
    }

    #[test]
    fn brightness_bounded() {
        let f = builtin_faces();
        assert_eq!(f.dataset.faces(), DEFAULT_FACES);
        assert_eq!(f.part_names.len(), N_PARTS);
        let pmax = f.parts.iter().cloned().fold(0.0, f32::max);
        assert!(pmax > 0.1 && pmax <= 0.95);
        // No face is all noise: the head is always there.
        for col in f.dataset.matrix.columns() {
            assert!(col.sum() > 100.0);
        }
    }
}
