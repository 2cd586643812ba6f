//! Thumbnail geometry: faces shrunk by an integer factor (block means), for
//! views that show many faces or parts at once. Pure arithmetic.

use ndarray::Array2;

/// Longest side of a face thumbnail (faces view) in texels.
pub const THUMB_SIDE: usize = 32;
/// Longest side of a basis image in the gallery's texture.
pub const GALLERY_SIDE: usize = 64;

/// Thumbnail geometry: faces shrunk by an integer factor (block means).
#[derive(Debug, Clone, Copy)]
pub struct Thumb {
    pub width: usize,
    pub height: usize,
    pub src_width: usize,
    pub src_height: usize,
    pub factor: usize,
}

impl Thumb {
    /// Thumbnails at most about `side` texels on the longer side.
    pub fn new(src_width: usize, src_height: usize, side: usize) -> Self {
        let factor = src_width.max(src_height).div_ceil(side.max(1)).max(1);
        Thumb { width: src_width.div_ceil(factor), height: src_height.div_ceil(factor), src_width, src_height, factor }
    }

    pub fn pixels(&self) -> usize {
        self.width * self.height
    }

    /// Block means of one face (`src`: its pixels, row-major) into `out`
    /// (its thumbnail, [`Self::pixels`] long).
    pub fn downsample_one(&self, src: &[f32], out: &mut [f32]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        if self.factor == 1 {
            out.iter_mut().zip(src).for_each(|(o, &v)| *o = v);
            return;
        }
        for (y, row) in src.chunks_exact(self.src_width.max(1)).take(self.src_height).enumerate() {
            let out_row = &mut out[(y / self.factor) * self.width..][..self.width];
            for (x, &v) in row.iter().enumerate() {
                out_row[x / self.factor] += v;
            }
        }
        // Edge blocks hold fewer pixels.
        for (q, o) in out.iter_mut().enumerate() {
            let (bx, by) = (q % self.width, q / self.width);
            let w = (self.src_width - bx * self.factor).min(self.factor);
            let h = (self.src_height - by * self.factor).min(self.factor);
            *o /= (w * h).max(1) as f32;
        }
    }

    /// Block means of the columns of `m` (pixels × c) → (thumb pixels × c).
    pub fn downsample(&self, m: ndarray::ArrayView2<f32>) -> Array2<f32> {
        let c = m.ncols();
        if self.factor == 1 {
            return m.to_owned();
        }
        let m = m.as_standard_layout();
        let src = m.as_slice().unwrap_or(&[]);
        let mut out = vec![0.0f32; self.pixels() * c];
        let mut counts = vec![0u32; self.pixels()];
        for y in 0..self.src_height {
            let qy = (y / self.factor) * self.width;
            for x in 0..self.src_width {
                let q = qy + x / self.factor;
                let p = y * self.src_width + x;
                let (dst, row) = (&mut out[q * c..(q + 1) * c], &src[p * c..(p + 1) * c]);
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d += v;
                }
                counts[q] += 1;
            }
        }
        for (q, &n) in counts.iter().enumerate() {
            if n > 1 {
                let inv = 1.0 / n as f32;
                out[q * c..(q + 1) * c].iter_mut().for_each(|v| *v *= inv);
            }
        }
        Array2::from_shape_vec((self.pixels(), c), out).unwrap_or_else(|_| Array2::zeros((self.pixels(), c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_face_is_downsampled_like_the_columns() {
        // 7 × 5 by a factor of 3: edge blocks hold fewer pixels.
        let t = Thumb::new(7, 5, 3);
        assert_eq!(t.factor, 3);
        let face: Vec<f32> = (0..35).map(|i| (i * 7 % 11) as f32 / 11.0).collect();
        let m = Array2::from_shape_vec((35, 1), face.clone()).unwrap();
        let want = t.downsample(m.view());
        let mut got = vec![0.0f32; t.pixels()];
        t.downsample_one(&face, &mut got);
        for (g, w) in got.iter().zip(want.column(0)) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }
}
