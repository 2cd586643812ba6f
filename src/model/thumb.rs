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
