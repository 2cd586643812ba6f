//! Pictures for slides: the basis montage with labels, a caption and a
//! chosen scale, and a caption strip under any picture (the app's
//! screenshots), saved as PNG.
//!
//! The montage shows every basis image (column of W), most important first
//! ([`metrics::order_by_importance`]), each auto-contrasted (its maximum is
//! white) as `basis_montage.png` is, on a white page; under each one its
//! number and its share of the reconstruction ([`metrics::importance`]),
//! above them the caption (data set, k, solver, iteration, rel_err). Every
//! length is multiplied by the scale, text included, so a 2× picture is the
//! 1× one drawn twice as fine.

use std::path::{Path, PathBuf};

use image::{GrayImage, Luma, RgbaImage};
use ndarray::{ArrayView1, ArrayView2};

use super::text::Text;
use super::{ExportError, write_atomic};
use crate::dataset::display_name;
use crate::nmf::metrics;

/// The largest scale of a picture or movie.
pub const MAX_SCALE: u32 = 8;

/// The page's grey level (white) and the text's (near black).
pub(crate) const PAGE: u8 = 255;
pub(crate) const INK: u8 = 24;

/// What a picture or movie frame says about the fit it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Caption {
    /// The data set's name ("ORL (orl_faces)", "built-in faces").
    pub dataset: String,
    /// Number of parts.
    pub k: usize,
    /// The solver's name (hals, mu, kl).
    pub solver: String,
    /// Iterations done.
    pub iteration: usize,
    /// ‖A − WH‖_F / ‖A‖_F.
    pub rel_err: f64,
}

impl Caption {
    /// Two lines: what was fitted, and how far the fit is.
    pub fn lines(&self) -> [String; 2] {
        [
            format!("{} · k = {} · {}", self.dataset, self.k, self.solver),
            format!("iteration {} · rel_err {:.4}", self.iteration, self.rel_err),
        ]
    }
}

impl std::fmt::Display for Caption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b] = self.lines();
        write!(f, "{a} · {b}")
    }
}

/// How to draw the basis montage.
#[derive(Debug, Clone, PartialEq)]
pub struct MontageSpec {
    /// Every length times this, 1 to [`MAX_SCALE`].
    pub scale: u32,
    /// Images per row (None: about square).
    pub per_row: Option<usize>,
    /// Write each image's number and importance under it.
    pub labels: bool,
    /// The caption above the images, if any.
    pub caption: Option<Caption>,
}

impl Default for MontageSpec {
    fn default() -> Self {
        MontageSpec { scale: 1, per_row: None, labels: true, caption: None }
    }
}

/// Checks a picture or movie scale.
pub(crate) fn check_scale(scale: u32) -> Result<(), ExportError> {
    if (1..=MAX_SCALE).contains(&scale) { Ok(()) } else { Err(ExportError::Scale { scale }) }
}

/// The basis montage of W (pixels × k) with labels and caption, for faces
/// of `width` × `height` pixels; H (k × faces) gives the importance order.
pub fn basis_montage(
    w: ArrayView2<'_, f32>,
    h: ArrayView2<'_, f32>,
    width: usize,
    height: usize,
    spec: &MontageSpec,
) -> Result<GrayImage, ExportError> {
    let k = w.ncols();
    if k == 0 || w.nrows() != width * height {
        return Err(ExportError::Shape { what: "W", got: w.dim(), expected: (width * height, k.max(1)) });
    }
    if h.nrows() != k {
        return Err(ExportError::Shape { what: "H", got: h.dim(), expected: (k, h.ncols()) });
    }
    let order = metrics::order_by_importance(w, h);
    let share = metrics::importance(w, h);
    let tiles: Vec<Tile<'_>> = order
        .iter()
        .enumerate()
        .map(|(i, &c)| Tile {
            pixels: w.column(c),
            normalize: true,
            label: spec.labels.then(|| (format!("{} · {:.1}%", i + 1, share[c] * 100.0), format!("{}", i + 1))),
        })
        .collect();
    let caption = spec.caption.as_ref().map(Caption::lines);
    render_tiles(&tiles, width, height, spec.per_row, spec.scale, caption.as_ref().map_or(&[][..], |c| &c[..]))
}

/// One image of a montage.
pub(crate) struct Tile<'a> {
    /// Its pixels, row by row.
    pub pixels: ArrayView1<'a, f32>,
    /// Stretch it so its maximum is white (else 0 black, 1 white).
    pub normalize: bool,
    /// Its label, long and short (the short one where the long one does not fit).
    pub label: Option<(String, String)>,
}

/// Draws `tiles` (each `width` × `height`) in rows of `per_row` (None:
/// about square) on a white page, at `scale`, with `caption` lines above.
pub(crate) fn render_tiles(
    tiles: &[Tile<'_>],
    width: usize,
    height: usize,
    per_row: Option<usize>,
    scale: u32,
    caption: &[String],
) -> Result<GrayImage, ExportError> {
    check_scale(scale)?;
    let text = Text::new()?;
    let s = scale as usize;
    let n = tiles.len().max(1);
    let per_row = per_row.unwrap_or_else(|| (n as f64).sqrt().ceil() as usize).clamp(1, n);
    let rows = n.div_ceil(per_row);
    let (tile_w, tile_h) = (width * s, height * s);
    let gap = 6 * s;
    let label_px = 11.0 * scale as f32;
    let caption_px = 13.0 * scale as f32;
    let labelled = tiles.iter().any(|t| t.label.is_some());
    let label_h = if labelled { text.line_height(label_px) as usize + 2 * s } else { 0 };
    let caption_line = text.line_height(caption_px) as usize + s;
    let caption_h = if caption.is_empty() { 0 } else { caption.len() * caption_line + gap };
    let caption_w = caption.iter().map(|l| text.width(l, caption_px) as usize).max().unwrap_or(0);
    let grid_w = per_row * tile_w + (per_row - 1) * gap;
    let page_w = grid_w.max(caption_w) + 2 * gap;
    let page_h = gap + caption_h + rows * (tile_h + label_h) + (rows - 1) * gap + gap;
    if page_w > u32::MAX as usize || page_h > u32::MAX as usize {
        return Err(ExportError::TooLarge { width: page_w, height: page_h });
    }
    let mut img = GrayImage::from_pixel(page_w as u32, page_h as u32, Luma([PAGE]));
    for (i, line) in caption.iter().enumerate() {
        text.draw(&mut img, gap as i64, (gap + i * caption_line) as i64, line, caption_px, INK);
    }
    let left = (page_w - grid_w) / 2;
    let top = gap + caption_h;
    for (j, tile) in tiles.iter().enumerate() {
        let ox = left + (j % per_row) * (tile_w + gap);
        let oy = top + (j / per_row) * (tile_h + label_h + gap);
        let max = if tile.normalize { tile.pixels.iter().copied().fold(0.0f32, f32::max).max(1e-12) } else { 1.0 };
        for (p, &v) in tile.pixels.iter().enumerate().take(width * height) {
            let g = Luma([crate::dataset::to_u8(v / max)]);
            let (x0, y0) = (ox + (p % width) * s, oy + (p / width) * s);
            for dy in 0..s {
                for dx in 0..s {
                    img.put_pixel((x0 + dx) as u32, (y0 + dy) as u32, g);
                }
            }
        }
        if let Some((long, short)) = &tile.label {
            let fits = |t: &str| text.width(t, label_px) as usize <= tile_w + gap / 2;
            let label = if fits(long) { long } else { short };
            let lw = text.width(label, label_px) as usize;
            let x = ox as i64 + (tile_w as i64 - lw as i64) / 2;
            text.draw(&mut img, x, (oy + tile_h + s) as i64, label, label_px, INK);
        }
    }
    Ok(img)
}

/// `picture` with `lines` written in a white strip under it, at `scale`
/// (the app's screenshots: `scale` is their pixels per point).
pub fn add_caption(picture: &RgbaImage, lines: &[String], scale: u32) -> Result<RgbaImage, ExportError> {
    check_scale(scale)?;
    if lines.is_empty() {
        return Ok(picture.clone());
    }
    let text = Text::new()?;
    let s = scale as usize;
    let px = 13.0 * scale as f32;
    let line_h = text.line_height(px) as usize + s;
    let pad = 6 * s;
    let strip_h = 2 * pad + lines.len() * line_h;
    let text_w = lines.iter().map(|l| text.width(l, px) as usize).max().unwrap_or(0) + 2 * pad;
    let width = (picture.width() as usize).max(text_w);
    let height = picture.height() as usize + strip_h;
    if width > u32::MAX as usize || height > u32::MAX as usize {
        return Err(ExportError::TooLarge { width, height });
    }
    let mut strip = GrayImage::from_pixel(width as u32, strip_h as u32, Luma([PAGE]));
    for (i, line) in lines.iter().enumerate() {
        text.draw(&mut strip, pad as i64, (pad + i * line_h) as i64, line, px, INK);
    }
    let mut out = RgbaImage::from_pixel(width as u32, height as u32, image::Rgba([PAGE, PAGE, PAGE, 255]));
    image::imageops::replace(&mut out, picture, 0, 0);
    for (x, y, p) in strip.enumerate_pixels() {
        let g = p.0[0];
        out.put_pixel(x, y + picture.height(), image::Rgba([g, g, g, 255]));
    }
    Ok(out)
}

/// Checks that a new file `path` with extension `ext` may be written: the
/// name ends in `.ext`, its folder exists and takes new files, and it is
/// not there yet (or `overwrite`, and it is a file). Cheap; the CLI calls
/// it before any work, the app before asking whether to replace.
pub fn check_new_file(path: &Path, ext: &'static str, overwrite: bool) -> Result<(), ExportError> {
    let got = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if got.as_deref() != Some(ext) {
        return Err(ExportError::Extension { path: path.to_path_buf(), ext });
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(ExportError::NotAFolder { path: folder.to_path_buf() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ExportError::NoFolder { path: path.to_path_buf(), folder: folder.to_path_buf() });
        }
        Err(e) => return Err(ExportError::Io { path: folder.to_path_buf(), error: e }),
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Err(ExportError::IsAFolder { path: path.to_path_buf() }),
        Ok(_) if !overwrite => return Err(ExportError::Exists { path: path.to_path_buf() }),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ExportError::Io { path: path.to_path_buf(), error: e }),
    }
    super::probe_writable(path, folder)
}

/// Saves `img` as a PNG file at `path` (a name ending in .png), atomically;
/// an existing file is replaced only when `overwrite`.
pub fn save_png(path: &Path, img: &image::DynamicImage, overwrite: bool) -> Result<PathBuf, ExportError> {
    check_new_file(path, "png", overwrite)?;
    write_atomic(path, |out| {
        img.write_to(out, image::ImageFormat::Png)
            .map_err(|e| ExportError::Encode { path: path.to_path_buf(), error: e })
    })?;
    Ok(path.to_path_buf())
}

/// The name a data set goes by in captions: the folder's name, or
/// "built-in faces".
pub fn dataset_caption_name(source: &crate::dataset::Source) -> String {
    match source {
        crate::dataset::Source::Folder(p) => {
            let name = p.file_name().map_or_else(|| display_name(p), |n| display_name(Path::new(n)));
            if name.is_empty() { display_name(p) } else { name }
        }
        crate::dataset::Source::BuiltIn => "built-in faces".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn factors() -> (Array2<f32>, Array2<f32>) {
        let (width, height, k, n) = (20, 24, 5, 7);
        let w = Array2::from_shape_fn((width * height, k), |(p, c)| ((p * (c + 3)) % 17) as f32 / 17.0);
        let h = Array2::from_shape_fn((k, n), |(c, j)| (c + 1) as f32 * 0.1 + j as f32 * 0.01);
        (w, h)
    }

    #[test]
    fn labels_scale_and_caption_change_the_picture() {
        let (w, h) = factors();
        let plain = MontageSpec { labels: false, ..MontageSpec::default() };
        let bare = basis_montage(w.view(), h.view(), 20, 24, &plain).unwrap();
        let labelled = basis_montage(w.view(), h.view(), 20, 24, &MontageSpec::default()).unwrap();
        assert!(labelled.height() > bare.height(), "labels take a strip under each row");
        let caption = Caption { dataset: "test".into(), k: 5, solver: "hals".into(), iteration: 12, rel_err: 0.25 };
        let spec = MontageSpec { caption: Some(caption.clone()), ..MontageSpec::default() };
        let captioned = basis_montage(w.view(), h.view(), 20, 24, &spec).unwrap();
        assert!(captioned.height() > labelled.height());
        let double = basis_montage(w.view(), h.view(), 20, 24, &MontageSpec { scale: 2, ..spec.clone() }).unwrap();
        assert!(double.width() >= 2 * captioned.width() - 2 && double.width() <= 2 * captioned.width() + 2);
        assert!(matches!(
            basis_montage(w.view(), h.view(), 20, 24, &MontageSpec { scale: 0, ..spec }),
            Err(ExportError::Scale { scale: 0 })
        ));
        assert_eq!(caption.to_string(), "test · k = 5 · hals · iteration 12 · rel_err 0.2500");
    }

    #[test]
    fn the_most_important_image_comes_first() {
        let (w, mut h) = factors();
        h.row_mut(3).fill(10.0);
        let spec = MontageSpec { labels: false, ..MontageSpec::default() };
        let img = basis_montage(w.view(), h.view(), 20, 24, &spec).unwrap();
        let col = w.column(3);
        let max = col.iter().copied().fold(0.0f32, f32::max);
        // The first tile starts one gap in from the corner.
        let first = |p: usize| img.get_pixel((6 + p % 20) as u32, (6 + p / 20) as u32).0[0];
        for p in [0, 5, 100, 333] {
            assert_eq!(first(p), crate::dataset::to_u8(col[p] / max), "pixel {p}");
        }
    }

    #[test]
    fn shapes_are_checked() {
        let (w, h) = factors();
        let e = basis_montage(w.view(), h.view(), 21, 24, &MontageSpec::default()).unwrap_err();
        assert!(e.to_string().contains("W has shape"), "{e}");
        let e = basis_montage(w.view(), h.t(), 20, 24, &MontageSpec::default()).unwrap_err();
        assert!(e.to_string().contains("H has shape"), "{e}");
    }

    #[test]
    fn a_caption_strip_goes_under_the_picture() {
        let pic = RgbaImage::from_pixel(300, 100, image::Rgba([10, 20, 30, 255]));
        let out = add_caption(&pic, &["ORL · k = 25 · hals".into(), "iteration 3".into()], 1).unwrap();
        assert_eq!(out.width(), 300);
        assert!(out.height() > 120);
        assert_eq!(out.get_pixel(5, 5).0, [10, 20, 30, 255]);
        let dark = (100..out.height()).flat_map(|y| (0..300).map(move |x| (x, y)));
        assert!(dark.filter(|&(x, y)| out.get_pixel(x, y).0[0] < 128).count() > 50);
        let narrow = add_caption(&RgbaImage::new(20, 20), &["a long caption line".into()], 2).unwrap();
        assert!(narrow.width() > 20, "the strip is widened for the text");
    }
}
