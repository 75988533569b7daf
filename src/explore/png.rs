//! A minimal PNG encoder for 8-bit RGB images (the bitmap plots).
//!
//! plotters' own PNG output goes through the `image` crate with several decoders; a plot needs
//! only to write one truecolour image, which is a signature, an `IHDR` chunk, one zlib-compressed
//! `IDAT` chunk (flate2, already a dependency) and `IEND`, each with its CRC-32.
//!
//! ```
//! use qforge::explore::png::encode_rgb;
//! let png = encode_rgb(2, 1, &[255, 0, 0, 0, 0, 255]).unwrap();
//! assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
//! ```

use std::io::Write;

/// Encodes `rgb` (row-major, 3 bytes per pixel, `width * height * 3` bytes) as a PNG file.
/// Returns `None` when the buffer size does not match the dimensions.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Option<Vec<u8>> {
    let row = width as usize * 3;
    if width == 0 || height == 0 || rgb.len() != row * height as usize {
        return None;
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    // bit depth 8, colour type 2 (truecolour), deflate, adaptive filtering, no interlace
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    for line in rgb.chunks(row) {
        // Filter type 1 (Sub): plots are mostly flat colour, which Sub turns into zeros.
        let mut filtered = Vec::with_capacity(row + 1);
        filtered.push(1u8);
        for (i, &b) in line.iter().enumerate() {
            let left = if i >= 3 { line[i - 3] } else { 0 };
            filtered.push(b.wrapping_sub(left));
        }
        z.write_all(&filtered).ok()?;
    }
    let data = z.finish().ok()?;
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    Some(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend(kind);
    out.extend(data);
    out.extend(crc.sum().to_be_bytes());
}
