//! Text in exported pictures and movies: egui's default monospace font
//! (Hack, from `epaint_default_fonts`) rasterised with `ab_glyph`, drawn
//! antialiased onto a grayscale image.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::ExportError;

/// The font every label and caption is written in.
pub(crate) struct Text {
    font: FontRef<'static>,
}

impl Text {
    /// The font, or an error when its bytes cannot be read (they are
    /// compiled in, so this does not happen in a working build).
    pub fn new() -> Result<Text, ExportError> {
        let font = FontRef::try_from_slice(epaint_default_fonts::HACK_REGULAR)
            .map_err(|e| ExportError::Font { error: e.to_string() })?;
        Ok(Text { font })
    }

    /// Width in pixels of `text` written `px` pixels high.
    pub fn width(&self, text: &str, px: f32) -> u32 {
        let scaled = self.font.as_scaled(PxScale::from(px));
        let mut x = 0.0f32;
        let mut last = None;
        for c in text.chars() {
            let id = self.font.glyph_id(c);
            if let Some(prev) = last {
                x += scaled.kern(prev, id);
            }
            x += scaled.h_advance(id);
            last = Some(id);
        }
        x.ceil() as u32
    }

    /// Height in pixels of a line of text `px` pixels high (ascent to descent).
    pub fn line_height(&self, px: f32) -> u32 {
        let scaled = self.font.as_scaled(PxScale::from(px));
        (scaled.ascent() - scaled.descent()).ceil() as u32
    }

    /// Draws `text` with its line's top-left corner at (`x`, `y`), in grey
    /// level `ink`, blended by the glyphs' coverage; whatever falls outside
    /// the image is cut off.
    pub fn draw(&self, img: &mut image::GrayImage, x: i64, y: i64, text: &str, px: f32, ink: u8) {
        let scale = PxScale::from(px);
        let scaled = self.font.as_scaled(scale);
        let baseline = y as f32 + scaled.ascent();
        let mut pen = x as f32;
        let mut last = None;
        let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
        for c in text.chars() {
            let id = self.font.glyph_id(c);
            if let Some(prev) = last {
                pen += scaled.kern(prev, id);
            }
            let glyph = id.with_scale_and_position(scale, point(pen, baseline));
            pen += scaled.h_advance(id);
            last = Some(id);
            let Some(outline) = self.font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            let (gx, gy) = (bounds.min.x as i64, bounds.min.y as i64);
            outline.draw(|dx, dy, coverage| {
                let (px_x, px_y) = (gx + i64::from(dx), gy + i64::from(dy));
                if (0..iw).contains(&px_x) && (0..ih).contains(&px_y) {
                    let p = img.get_pixel_mut(px_x as u32, px_y as u32);
                    let a = coverage.clamp(0.0, 1.0);
                    p.0[0] = (f32::from(p.0[0]) * (1.0 - a) + f32::from(ink) * a).round() as u8;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_and_measured() {
        let text = Text::new().unwrap();
        let w = text.width("rel_err 0.1234", 12.0);
        assert!((70..130).contains(&w), "{w}");
        assert!(text.width("ab", 24.0) > text.width("ab", 12.0));
        let mut img = image::GrayImage::from_pixel(120, 20, image::Luma([255]));
        text.draw(&mut img, 2, 2, "iteration 12", 12.0, 0);
        let dark = img.pixels().filter(|p| p.0[0] < 128).count();
        assert!(dark > 40, "{dark} dark pixels");
        // Drawing off the image is cut off, not a panic.
        text.draw(&mut img, -50, 15, "cut off", 12.0, 0);
    }
}
