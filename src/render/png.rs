//! SVG to PNG, for slides: rasterized with resvg and egui's bundled fonts, so a picture's text
//! never depends on the fonts the machine has.

/// Why a picture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    #[error("the SVG could not be read back: {0}")]
    Svg(String),
    #[error(
        "a {0}×{1} pixel picture is too large (at most {MAX_PNG_SIDE} pixels a side and {MAX_PNG_PIXELS} in all): \
         choose a smaller scale, or export SVG, which has no limit"
    )]
    TooLarge(u32, u32),
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

/// The largest picture, in pixels: a bound on memory for a huge ladder at a large scale.
const MAX_PNG_SIDE: u32 = 32_000;
const MAX_PNG_PIXELS: u64 = 100_000_000;

/// Rasterizes an SVG at `scale` (2.0 for a crisp slide) into PNG bytes, with egui's
/// bundled fonts so the text never depends on the fonts installed.
pub fn png(svg: &str, scale: f32) -> Result<Vec<u8>, PngError> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_font_data(epaint_default_fonts::HACK_REGULAR.to_vec());
    fonts.load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
    fonts.set_monospace_family("Hack");
    // epaint's Ubuntu-Light is the family "Ubuntu" at weight 300.
    fonts.set_sans_serif_family("Ubuntu");
    options.font_family = "Hack".to_string();
    let tree = usvg::Tree::from_str(svg, &options).map_err(|err| PngError::Svg(err.to_string()))?;
    let scale = scale.clamp(0.25, 8.0);
    let size = tree.size();
    let (width, height) = ((size.width() * scale).ceil() as u32, (size.height() * scale).ceil() as u32);
    if width > MAX_PNG_SIDE || height > MAX_PNG_SIDE || u64::from(width) * u64::from(height) > MAX_PNG_PIXELS {
        return Err(PngError::TooLarge(width, height));
    }
    let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or(PngError::TooLarge(width, height))?;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|err| PngError::Encode(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str =
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20"><text y="10">→ x</text></svg>"#;

    #[test]
    fn scales_and_encodes() {
        let bytes = png(SQUARE, 2.0).unwrap_or_default();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        // The IHDR chunk holds width and height, big-endian, at bytes 16..24.
        assert_eq!(bytes.get(16..24), Some(&[0, 0, 0, 20, 0, 0, 0, 40][..]));
    }

    #[test]
    fn refuses_what_is_not_svg_and_what_is_too_large() {
        assert!(matches!(png("<html/>", 1.0), Err(PngError::Svg(_))));
        let tall = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="9000"/>"#;
        assert!(matches!(png(tall, 8.0), Err(PngError::TooLarge(80, 72000))));
    }
}
