//! Textures that hold many small images (tiles) in one grid, so a view with
//! hundreds of images costs one texture upload per snapshot, not hundreds.
//! Created once with `load_texture`, then updated with `TextureHandle::set`.
//! Also the colour maps the views share (grey, residual, viridis, diverging).

use eframe::egui;

use egui::{Color32, ColorImage, Rect, TextureHandle, TextureOptions, pos2};
use ndarray::ArrayView1;

/// Tiles of equal size in a grid of `cols` columns, in one texture.
pub struct Atlas {
    name: &'static str,
    options: TextureOptions,
    texture: Option<TextureHandle>,
    /// Tiles in the texture.
    pub count: usize,
    pub cols: usize,
    /// Tile size in texels (width, height).
    pub tile: [usize; 2],
}

impl Atlas {
    pub fn new(name: &'static str, options: TextureOptions) -> Self {
        Atlas { name, options, texture: None, count: 0, cols: 1, tile: [1, 1] }
    }

    pub fn texture(&self) -> Option<&TextureHandle> {
        self.texture.as_ref().filter(|_| self.count > 0)
    }

    /// Forgets the content (the texture is kept for reuse).
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// UV rectangle of tile `i`.
    pub fn uv(&self, i: usize) -> Rect {
        let rows = self.count.div_ceil(self.cols).max(1);
        let (c, r) = (i % self.cols, i / self.cols);
        let (fw, fh) = (1.0 / self.cols as f32, 1.0 / rows as f32);
        Rect::from_min_max(pos2(c as f32 * fw, r as f32 * fh), pos2((c + 1) as f32 * fw, (r + 1) as f32 * fh))
    }

    /// Rebuilds the texture from `count` tiles of `tile` texels; `fill`
    /// writes tile `i` into a row-major RGBA slice of `tile[0] * tile[1]`.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        count: usize,
        tile: [usize; 2],
        fill: impl FnMut(usize, &mut [Color32]),
    ) {
        let max_side = ctx.input(|i| i.max_texture_side);
        match TileGrid::compose(count, tile, max_side, fill) {
            Some(grid) => self.install(ctx, grid),
            None => self.count = 0,
        }
    }

    /// Shows `grid` (composed anywhere, e.g. on a background thread): the
    /// texture is set in place, created only the first time.
    pub fn install(&mut self, ctx: &egui::Context, grid: TileGrid) {
        let TileGrid { image, count, cols, tile } = grid;
        match &mut self.texture {
            Some(t) => t.set(image, self.options),
            None => self.texture = Some(ctx.load_texture(self.name, image, self.options)),
        }
        self.count = count;
        self.cols = cols;
        self.tile = tile;
    }
}

/// Tiles composed into one image, ready for [`Atlas::install`]. Pure
/// pixels: it can be built off the UI thread.
pub struct TileGrid {
    pub image: ColorImage,
    pub count: usize,
    pub cols: usize,
    pub tile: [usize; 2],
}

impl TileGrid {
    /// `count` tiles of `tile` texels, as square as a texture of at most
    /// `max_side` texels a side allows; `fill` writes tile `i` (row-major
    /// RGBA). None when there is nothing to show.
    pub fn compose(
        count: usize,
        tile: [usize; 2],
        max_side: usize,
        mut fill: impl FnMut(usize, &mut [Color32]),
    ) -> Option<TileGrid> {
        if count == 0 || tile[0] == 0 || tile[1] == 0 {
            return None;
        }
        let max_side = max_side.max(256);
        // As square as the texture limit allows.
        let mut cols = ((count as f64 * tile[1] as f64 / tile[0] as f64).sqrt().ceil() as usize).clamp(1, count);
        cols = cols.max(count.div_ceil((max_side / tile[1]).max(1))).min((max_side / tile[0]).max(1));
        let rows = count.div_ceil(cols);
        let (width, height) = (cols * tile[0], rows * tile[1]);
        let mut pixels = vec![Color32::BLACK; width * height];
        let mut buf = vec![Color32::BLACK; tile[0] * tile[1]];
        for i in 0..count {
            fill(i, &mut buf);
            let (x0, y0) = ((i % cols) * tile[0], (i / cols) * tile[1]);
            for y in 0..tile[1] {
                let dst = (y0 + y) * width + x0;
                pixels[dst..dst + tile[0]].copy_from_slice(&buf[y * tile[0]..(y + 1) * tile[0]]);
            }
        }
        Some(TileGrid { image: ColorImage::new([width, height], pixels), count, cols, tile })
    }
}

/// One image (not a grid), created once and then updated in place.
pub struct Picture {
    name: &'static str,
    texture: Option<TextureHandle>,
    present: bool,
}

impl Picture {
    pub fn new(name: &'static str) -> Self {
        Picture { name, texture: None, present: false }
    }

    pub fn texture(&self) -> Option<&TextureHandle> {
        self.texture.as_ref().filter(|_| self.present)
    }

    pub fn clear(&mut self) {
        self.present = false;
    }

    pub fn set(&mut self, ctx: &egui::Context, image: ColorImage, options: TextureOptions) {
        match &mut self.texture {
            Some(t) => t.set(image, options),
            None => self.texture = Some(ctx.load_texture(self.name, image, options)),
        }
        self.present = true;
    }
}

/// Writes a `width × height` column image into `out`, mapping `lo..hi` to
/// black..white (auto-contrast when `lo`/`hi` are the column's min/max).
pub fn gray_into(col: ArrayView1<f32>, lo: f32, hi: f32, out: &mut [Color32]) {
    let span = hi - lo;
    let scale = if span > 1e-12 { 255.0 / span } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(col.iter()) {
        let g = ((v - lo) * scale).clamp(0.0, 255.0) as u8;
        *o = Color32::from_gray(g);
    }
}

/// A full-size grey image of a face-shaped column (0..1 as black..white).
pub fn gray_image(col: ArrayView1<f32>, width: usize, height: usize) -> ColorImage {
    let mut px = vec![Color32::BLACK; width * height];
    gray_into(col, 0.0, 1.0, &mut px);
    ColorImage::new([width, height], px)
}

/// A full-size image of a signed residual ([`residual_into`], ±0.5).
pub fn residual_image(col: ArrayView1<f32>, width: usize, height: usize) -> ColorImage {
    let mut px = vec![Color32::BLACK; width * height];
    residual_into(col, 0.5, &mut px);
    ColorImage::new([width, height], px)
}

/// Minimum and maximum of a column (0, 0 when empty).
pub fn min_max(col: ArrayView1<f32>) -> (f32, f32) {
    col.iter()
        .fold(None, |acc: Option<(f32, f32)>, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
        .unwrap_or((0.0, 0.0))
}

/// A signed residual: mid gray is 0, white is +`range`, black is −`range`.
pub fn residual_into(col: ArrayView1<f32>, range: f32, out: &mut [Color32]) {
    let scale = if range > 1e-12 { 127.5 / range } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(col.iter()) {
        *o = Color32::from_gray((127.5 + v * scale).clamp(0.0, 255.0) as u8);
    }
}

/// The viridis colour map at `t` in 0..1 (for the weights heat map).
pub fn viridis(t: f32) -> Color32 {
    const STOPS: [[f32; 3]; 6] = [
        [68.0, 1.0, 84.0],
        [65.0, 68.0, 135.0],
        [42.0, 120.0, 142.0],
        [34.0, 168.0, 132.0],
        [122.0, 209.0, 81.0],
        [253.0, 231.0, 37.0],
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let [r, g, b] = lerp_stops(&STOPS, t);
    Color32::from_rgb(r as u8, g as u8, b as u8)
}

/// The colour at `t` in 0..1 of a map given by evenly spaced RGB stops,
/// interpolated linearly.
pub fn lerp_stops(stops: &[[f32; 3]], t: f32) -> [f32; 3] {
    let x = t * (stops.len() - 1) as f32;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f32;
    std::array::from_fn(|j| stops[i][j] + (stops[i + 1][j] - stops[i][j]) * f)
}

/// The diverging colour map (ColorBrewer's RdBu): −1 dark blue, 0 near
/// white, +1 dark red; lightness falls equally on both sides. Values beyond
/// ±1 are clamped; NaN is 0.
pub fn diverging(t: f32) -> Color32 {
    // From 0 outwards: white, then the red side (the blue side mirrors it).
    const RED: [[f32; 3]; 6] = [
        [247.0, 247.0, 247.0],
        [253.0, 219.0, 199.0],
        [244.0, 165.0, 130.0],
        [214.0, 96.0, 77.0],
        [178.0, 24.0, 43.0],
        [103.0, 0.0, 31.0],
    ];
    const BLUE: [[f32; 3]; 6] = [
        [247.0, 247.0, 247.0],
        [209.0, 229.0, 240.0],
        [146.0, 197.0, 222.0],
        [67.0, 147.0, 195.0],
        [33.0, 102.0, 172.0],
        [5.0, 48.0, 97.0],
    ];
    let t = if t.is_finite() { t.clamp(-1.0, 1.0) } else { 0.0 };
    let stops = if t >= 0.0 { &RED } else { &BLUE };
    let [r, g, b] = lerp_stops(stops, t.abs());
    Color32::from_rgb(r.round() as u8, g.round() as u8, b.round() as u8)
}

/// Writes a signed image into `out` with [`diverging`], scaled by its own
/// max |value| (so ±max are the map's ends and 0 is white).
pub fn diverging_into(col: ArrayView1<f32>, out: &mut [Color32]) {
    let max = col.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    let scale = if max > 1e-12 { 1.0 / max } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(col.iter()) {
        *o = diverging(v * scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    fn lightness(c: Color32) -> f32 {
        // Relative luminance of sRGB, then CIE L*.
        let lin = |v: u8| {
            let v = f32::from(v) / 255.0;
            if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        let y = 0.2126 * lin(c.r()) + 0.7152 * lin(c.g()) + 0.0722 * lin(c.b());
        if y > 0.008856 { 116.0 * y.cbrt() - 16.0 } else { 903.3 * y }
    }

    #[test]
    fn diverging_map_is_neutral_at_zero_and_symmetric() {
        let zero = diverging(0.0);
        assert_eq!(zero, diverging(-0.0));
        assert!(zero.r() == zero.g() && zero.g() == zero.b(), "0 is a neutral grey: {zero:?}");
        assert!(lightness(zero) > 95.0);
        assert_eq!(diverging(f32::NAN), zero);
        assert_eq!(diverging(5.0), diverging(1.0));
        assert_eq!(diverging(-5.0), diverging(-1.0));
        let mut last = lightness(zero);
        for i in 1..=20 {
            let t = i as f32 / 20.0;
            let (pos, neg) = (diverging(t), diverging(-t));
            assert!(pos.r() > pos.b(), "+{t} is red: {pos:?}");
            assert!(neg.b() > neg.r(), "−{t} is blue: {neg:?}");
            let (lp, ln) = (lightness(pos), lightness(neg));
            assert!((lp - ln).abs() < 6.0, "±{t}: lightness {lp} vs {ln}");
            assert!(lp < last, "lightness falls with |t|");
            last = lp;
        }
    }

    #[test]
    fn diverging_images_scale_by_their_own_max_magnitude() {
        let col = Array1::from(vec![-2.0f32, 0.0, 1.0, 2.0]);
        let mut out = vec![Color32::BLACK; 4];
        diverging_into(col.view(), &mut out);
        assert_eq!(out, vec![diverging(-1.0), diverging(0.0), diverging(0.5), diverging(1.0)]);
        let zeros = Array1::<f32>::zeros(3);
        diverging_into(zeros.view(), &mut out[..3]);
        assert!(out[..3].iter().all(|&c| c == diverging(0.0)));
    }
}
