//! Table-driven test of the folder loader against bad and odd inputs.
//!
//! Every case builds a small folder in a tempdir and must end either in a
//! correct load (faces, size, values checked) or in a clear error (message
//! checked) — never a panic.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use facenmf::dataset::{Dataset, LoadOptions, Preprocess, load_folder};
use image::{ExtendedColorType, GrayImage, ImageFormat};

// ---------------------------------------------------------------- helpers

/// A deterministic test pattern: value at (x, y) for image number `seed`.
fn pv(x: u32, y: u32, seed: u32) -> u8 {
    ((x * 37 + y * 11 + seed * 53) % 256) as u8
}

fn pattern(w: u32, h: u32, seed: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| image::Luma([pv(x, y, seed)]))
}

fn save(img: &GrayImage, path: &Path, fmt: ImageFormat) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    img.save_with_format(path, fmt).unwrap();
}

fn png(dir: &Path, rel: &str, w: u32, h: u32, seed: u32) -> PathBuf {
    let p = dir.join(rel);
    save(&pattern(w, h, seed), &p, ImageFormat::Png);
    p
}

fn png_bytes(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut v = Vec::new();
    pattern(w, h, seed).write_to(&mut std::io::Cursor::new(&mut v), ImageFormat::Png).unwrap();
    v
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Checks face `j` equals the test pattern `seed` exactly (8-bit / 255).
fn is_pattern(ds: &Dataset, j: usize, seed: u32) {
    let (w, h) = (ds.width as u32, ds.height as u32);
    let col = ds.face(j);
    for y in 0..h {
        for x in 0..w {
            let want = pv(x, y, seed) as f32 / 255.0;
            let got = col[(y * w + x) as usize];
            assert_eq!(got, want, "face {j} pixel ({x},{y})");
        }
    }
}

fn near_pattern(ds: &Dataset, j: usize, seed: u32, tol: f32) {
    let (w, h) = (ds.width as u32, ds.height as u32);
    let col = ds.face(j);
    for y in 0..h {
        for x in 0..w {
            let want = pv(x, y, seed) as f32 / 255.0;
            let got = col[(y * w + x) as usize];
            assert!((got - want).abs() <= tol, "face {j} pixel ({x},{y}): {got} vs {want}");
        }
    }
}

fn skipped_reason(ds: &Dataset, name: &str) -> String {
    ds.skipped
        .iter()
        .find(|s| s.path.file_name().is_some_and(|f| f == name))
        .map(|s| s.reason.clone())
        .unwrap_or_else(|| panic!("{name} not in skipped: {:?}", ds.skipped))
}

fn labels(ds: &Dataset) -> Vec<&str> {
    ds.labels.iter().map(String::as_str).collect()
}

fn files(ds: &Dataset) -> Vec<String> {
    ds.files.iter().map(|f| f.to_string_lossy().replace('\\', "/")).collect()
}

/// Minimal CRC-32 (PNG chunks).
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A PNG with an arbitrary IHDR, palette and raw (unfiltered) scanlines, stored uncompressed.
fn raw_png(w: u32, h: u32, bit_depth: u8, color: u8, palette: Option<&[u8]>, rows: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let Some(p) = palette {
        chunk(&mut out, b"PLTE", p);
    }
    let mut raw = Vec::new();
    for r in rows {
        raw.push(0); // filter: none
        raw.extend_from_slice(r);
    }
    // zlib, one stored block
    let mut z = vec![0x78, 0x01, 0x01];
    let len = raw.len() as u16;
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

// ------------------------------------------------------------------ cases

type Check = Box<dyn Fn(&Dataset)>;

enum Expect {
    /// Load succeeds with (faces, width, height), then the check runs.
    Load(usize, usize, usize, Check),
    /// Load fails; the message contains every one of these (case-insensitive).
    Error(Vec<String>),
}

struct Setup {
    root: PathBuf,
    opts: LoadOptions,
    expect: Expect,
}

fn load(root: PathBuf, faces: usize, w: usize, h: usize, check: impl Fn(&Dataset) + 'static) -> Setup {
    Setup { root, opts: LoadOptions::default(), expect: Expect::Load(faces, w, h, Box::new(check)) }
}

fn error(root: PathBuf, needles: &[&str]) -> Setup {
    Setup { root, opts: LoadOptions::default(), expect: Expect::Error(needles.iter().map(|s| s.to_string()).collect()) }
}

fn with(mut s: Setup, opts: LoadOptions) -> Setup {
    s.opts = opts;
    s
}

type Case = (&'static str, fn(&Path) -> Setup);

fn cases() -> Vec<Case> {
    vec![
        ("hidden file", |d| {
            png(d, "a.png", 4, 3, 1);
            png(d, ".hidden.png", 4, 3, 2);
            load(d.into(), 1, 4, 3, |ds| {
                is_pattern(ds, 0, 1);
                assert!(skipped_reason(ds, ".hidden.png").contains("hidden"));
            })
        }),
        ("hidden folder", |d| {
            png(d, "a.png", 4, 3, 1);
            png(d, ".git/objects/b.png", 4, 3, 2);
            load(d.into(), 1, 4, 3, |ds| {
                assert!(skipped_reason(ds, ".git").contains("hidden folder"));
                assert_eq!(ds.skipped.len(), 1, "{:?}", ds.skipped);
            })
        }),
        ("text file", |d| {
            png(d, "a.png", 4, 3, 1);
            write(d, "notes.txt", b"these are not the faces you are looking for\n");
            write(d, "README", b"ORL-style readme without extension\n");
            load(d.into(), 1, 4, 3, |ds| {
                assert!(skipped_reason(ds, "notes.txt").contains("not an image"));
                assert!(skipped_reason(ds, "README").contains("not an image"));
            })
        }),
        ("text file named .png", |d| {
            png(d, "a.png", 4, 3, 1);
            write(d, "fake.png", b"hello, I am text\n");
            load(d.into(), 1, 4, 3, |ds| {
                let r = skipped_reason(ds, "fake.png");
                assert!(r.contains("corrupt") || r.contains("not an image"), "{r}");
            })
        }),
        ("zero-byte file", |d| {
            png(d, "a.png", 4, 3, 1);
            write(d, "empty.png", b"");
            load(d.into(), 1, 4, 3, |ds| {
                assert!(skipped_reason(ds, "empty.png").contains("empty file"));
            })
        }),
        ("truncated PNG", |d| {
            png(d, "a.png", 16, 12, 1);
            let full = png_bytes(16, 12, 2);
            write(d, "b_truncated.png", &full[..full.len() / 2]);
            png(d, "c.png", 16, 12, 3);
            load(d.into(), 2, 16, 12, |ds| {
                is_pattern(ds, 0, 1);
                is_pattern(ds, 1, 3);
                assert_eq!(files(ds), ["a.png", "c.png"]);
                let r = skipped_reason(ds, "b_truncated.png");
                assert!(r.contains("truncated") || r.contains("corrupt"), "{r}");
            })
        }),
        ("corrupt JPEG", |d| {
            png(d, "a.png", 16, 12, 1);
            // A JPEG start-of-image marker followed by garbage.
            let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
            bytes.extend((0..200u32).map(|i| (i * 7 + 3) as u8));
            write(d, "broken.jpg", &bytes);
            load(d.into(), 1, 16, 12, |ds| {
                let r = skipped_reason(ds, "broken.jpg");
                assert!(r.contains("corrupt") || r.contains("truncated"), "{r}");
            })
        }),
        ("truncated baseline JPEG", |d| {
            png(d, "a.png", 32, 24, 1);
            let mut bytes = Vec::new();
            pattern(32, 24, 2).write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Jpeg).unwrap();
            // The decoder fills what is cut off with grey and reports nothing.
            write(d, "b_cut.jpg", &bytes[..bytes.len() * 3 / 5]);
            write(d, "c_no_end_marker.jpg", &bytes[..bytes.len() - 2]);
            write(d, "d_whole.jpg", &bytes);
            load(d.into(), 2, 32, 24, |ds| {
                assert_eq!(files(ds), ["a.png", "d_whole.jpg"]);
                is_pattern(ds, 0, 1);
                for name in ["b_cut.jpg", "c_no_end_marker.jpg"] {
                    let r = skipped_reason(ds, name);
                    assert!(r.contains("truncated JPEG"), "{name}: {r}");
                }
            })
        }),
        ("valid JPEG", |d| {
            let p = d.join("face.jpg");
            let img = GrayImage::from_fn(16, 16, |x, _| image::Luma([if x < 8 { 40 } else { 200 }]));
            save(&img, &p, ImageFormat::Jpeg);
            load(d.into(), 1, 16, 16, |ds| {
                let c = ds.face(0);
                assert!((c[0] - 40.0 / 255.0).abs() < 0.05, "{}", c[0]);
                assert!((c[15] - 200.0 / 255.0).abs() < 0.05, "{}", c[15]);
            })
        }),
        ("GIF without extension (Yale style)", |d| {
            let img = pattern(10, 8, 4);
            let rgb = image::DynamicImage::ImageLuma8(img).to_rgb8();
            let p = d.join("subject01.happy");
            image::save_buffer_with_format(&p, rgb.as_raw(), 10, 8, ExtendedColorType::Rgb8, ImageFormat::Gif).unwrap();
            load(d.into(), 1, 10, 8, |ds| {
                assert_eq!(labels(ds), ["subject01"]);
                assert_eq!(files(ds), ["subject01.happy"]);
                near_pattern(ds, 0, 4, 2.0 / 255.0);
            })
        }),
        ("16-bit PGM (P5)", |d| {
            let (w, h) = (5u32, 4u32);
            let mut bytes = format!("P5\n{w} {h}\n65535\n").into_bytes();
            for i in 0..w * h {
                bytes.extend_from_slice(&((i * 3000) as u16).to_be_bytes());
            }
            write(d, "deep.pgm", &bytes);
            load(d.into(), 1, 5, 4, |ds| {
                for i in 0..20 {
                    let want = (i * 3000) as f32 / 65535.0;
                    assert!((ds.face(0)[i] - want).abs() < 1e-6, "pixel {i}");
                }
            })
        }),
        ("8-bit PGM (P5) and ASCII PGM (P2)", |d| {
            let mut p5 = b"P5\n# a comment\n3 2\n255\n".to_vec();
            p5.extend_from_slice(&[0, 51, 102, 153, 204, 255]);
            write(d, "1.pgm", &p5);
            write(d, "2.pgm", b"P2\n3 2\n15\n0 3 6\n9 12 15\n");
            load(d.into(), 2, 3, 2, |ds| {
                let want: Vec<f32> = [0u8, 51, 102, 153, 204, 255].iter().map(|&v| v as f32 / 255.0).collect();
                assert_eq!(ds.face(0).to_vec(), want);
                assert_eq!(ds.face(1).to_vec(), want, "P2 maxval 15 scales to 0..255");
            })
        }),
        ("RGBA, grey+alpha and 16-bit PNG", |d| {
            let g = pattern(6, 5, 7);
            let rgba = image::DynamicImage::ImageLuma8(g.clone()).to_rgba8();
            let mut rgba = rgba;
            for p in rgba.pixels_mut() {
                p.0[3] = 128; // alpha is ignored
            }
            rgba.save_with_format(d.join("a_rgba.png"), ImageFormat::Png).unwrap();
            let la = image::DynamicImage::ImageLuma8(g.clone()).to_luma_alpha8();
            la.save_with_format(d.join("b_la.png"), ImageFormat::Png).unwrap();
            let g16 = image::DynamicImage::ImageLuma8(g).to_luma16();
            g16.save_with_format(d.join("c_16.png"), ImageFormat::Png).unwrap();
            load(d.into(), 3, 6, 5, |ds| {
                is_pattern(ds, 0, 7);
                is_pattern(ds, 1, 7);
                near_pattern(ds, 2, 7, 1e-6);
            })
        }),
        ("palette PNG", |d| {
            // 4 grey palette entries, 8-bit indices.
            let pal = [0u8, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255];
            let rows = vec![vec![0u8, 1, 2, 3], vec![3, 2, 1, 0]];
            write(d, "pal.png", &raw_png(4, 2, 8, 3, Some(&pal), &rows));
            load(d.into(), 1, 4, 2, |ds| {
                let want: Vec<f32> = [0u8, 85, 170, 255, 255, 170, 85, 0].iter().map(|&v| v as f32 / 255.0).collect();
                assert_eq!(ds.face(0).to_vec(), want);
            })
        }),
        ("bogus huge PNG header", |d| {
            png(d, "a.png", 4, 3, 1);
            write(d, "huge.png", &raw_png(100_000, 100_000, 8, 0, None, &[vec![0; 4]]));
            load(d.into(), 1, 4, 3, |ds| {
                let r = skipped_reason(ds, "huge.png");
                assert!(r.contains("too large") || r.contains("corrupt"), "{r}");
            })
        }),
        ("TIFF and BMP", |d| {
            save(&pattern(7, 3, 8), &d.join("a.tif"), ImageFormat::Tiff);
            save(&pattern(7, 3, 9), &d.join("b.bmp"), ImageFormat::Bmp);
            load(d.into(), 2, 7, 3, |ds| {
                is_pattern(ds, 0, 8);
                is_pattern(ds, 1, 9);
            })
        }),
        ("mixed sizes", |d| {
            for i in 1..=3 {
                png(d, &format!("{i}.png"), 8, 6, i);
            }
            png(d, "odd one.png", 5, 5, 9);
            error(d.into(), &["different sizes", "8×6 (3 files)", "5×5 (1 file)", "odd one.png", "--resize"])
        }),
        ("mixed sizes, many minority files", |d| {
            for i in 1..=14 {
                png(d, &format!("big{i}.png"), 8, 6, i);
            }
            for i in 1..=12 {
                png(d, &format!("small{i}.png"), 4, 4, i);
            }
            error(d.into(), &["8×6 (14 files)", "4×4 (12 files)", "small1.png", "small10.png", "and 2 more"])
        }),
        ("mixed sizes with resize", |d| {
            png(d, "a.png", 8, 6, 1);
            png(d, "b.png", 16, 12, 2);
            // a flat image stays flat after resizing
            save(&GrayImage::from_pixel(20, 20, image::Luma([128])), &d.join("c.png"), ImageFormat::Png);
            with(
                load(d.into(), 3, 4, 3, |ds| {
                    assert!(ds.matrix.iter().all(|v| (0.0..=1.0).contains(v)));
                    assert!(ds.face(2).iter().all(|&v| (v - 128.0 / 255.0).abs() < 1e-3));
                }),
                LoadOptions { resize: Some((4, 3)), ..Default::default() },
            )
        }),
        ("scale by 0.5", |d| {
            save(&GrayImage::from_pixel(40, 30, image::Luma([200])), &d.join("a.png"), ImageFormat::Png);
            save(&GrayImage::from_pixel(40, 30, image::Luma([10])), &d.join("b.png"), ImageFormat::Png);
            with(
                load(d.into(), 2, 20, 15, |ds| {
                    assert!(ds.face(0).iter().all(|&v| (v - 200.0 / 255.0).abs() < 1e-3));
                    assert!(ds.face(1).iter().all(|&v| (v - 10.0 / 255.0).abs() < 1e-3));
                }),
                LoadOptions { scale: Some(0.5), ..Default::default() },
            )
        }),
        ("invalid scale", |d| {
            png(d, "a.png", 4, 3, 1);
            with(error(d.into(), &["--scale", "1.5"]), LoadOptions { scale: Some(1.5), ..Default::default() })
        }),
        ("resize and scale together", |d| {
            png(d, "a.png", 4, 3, 1);
            with(
                error(d.into(), &["--resize", "--scale", "not both"]),
                LoadOptions { scale: Some(0.5), resize: Some((2, 2)), ..Default::default() },
            )
        }),
        ("one image", |d| {
            png(d, "only.png", 9, 7, 5);
            load(d.into(), 1, 9, 7, |ds| {
                is_pattern(ds, 0, 5);
                assert_eq!(labels(ds), ["only"]);
                assert!(ds.skipped.is_empty());
            })
        }),
        ("root is a single file", |d| {
            let p = png(d, "dropped.png", 9, 7, 5);
            load(p, 1, 9, 7, |ds| {
                is_pattern(ds, 0, 5);
                assert_eq!(labels(ds), ["dropped"]);
                assert_eq!(files(ds), ["dropped.png"]);
            })
        }),
        ("names with spaces and non-ASCII", |d| {
            png(d, "Zoë face.png", 4, 3, 1);
            png(d, "größe ordner/ü 1.png", 4, 3, 2);
            png(d, "日本/顔.png", 4, 3, 3);
            load(d.into(), 3, 4, 3, |ds| {
                assert_eq!(files(ds), ["Zoë face.png", "größe ordner/ü 1.png", "日本/顔.png"]);
                assert_eq!(labels(ds), ["Zoë face", "größe ordner", "日本"]);
                is_pattern(ds, 0, 1);
                is_pattern(ds, 1, 2);
                is_pattern(ds, 2, 3);
            })
        }),
        ("nested folders and natural order", |d| {
            for s in [1u32, 2, 10] {
                for i in [1u32, 2, 9, 10] {
                    png(d, &format!("s{s}/{i}.png"), 4, 3, s * 100 + i);
                }
            }
            png(d, "deep/a/b/c/x.png", 4, 3, 7);
            load(d.into(), 13, 4, 3, |ds| {
                assert_eq!(
                    files(ds),
                    [
                        "deep/a/b/c/x.png",
                        "s1/1.png",
                        "s1/2.png",
                        "s1/9.png",
                        "s1/10.png",
                        "s2/1.png",
                        "s2/2.png",
                        "s2/9.png",
                        "s2/10.png",
                        "s10/1.png",
                        "s10/2.png",
                        "s10/9.png",
                        "s10/10.png"
                    ]
                );
                assert_eq!(labels(ds)[0], "deep");
                assert_eq!(labels(ds)[4], "s1");
                assert_eq!(labels(ds)[12], "s10");
                is_pattern(ds, 0, 7);
                is_pattern(ds, 4, 110);
                is_pattern(ds, 12, 1010);
            })
        }),
        ("duplicate files", |d| {
            let b = png_bytes(4, 3, 6);
            write(d, "one.png", &b);
            write(d, "two.png", &b);
            load(d.into(), 2, 4, 3, |ds| {
                is_pattern(ds, 0, 6);
                is_pattern(ds, 1, 6);
            })
        }),
        ("missing folder", |d| error(d.join("no such folder"), &["not found", "no such folder"])),
        ("empty folder", |d| error(d.into(), &["no usable face images", "empty"])),
        ("folder with only non-images", |d| {
            write(d, "a.txt", b"text");
            write(d, "b.csv", b"1,2,3\n");
            write(d, "c.png", b"");
            error(
                d.into(),
                &["no usable face images", "3 entries skipped", "a.txt", "not an image", "c.png", "empty file"],
            )
        }),
        ("symlink loop", |d| {
            png(d, "s1/a.png", 4, 3, 1);
            #[cfg(unix)]
            std::os::unix::fs::symlink(d, d.join("s1/loop")).unwrap();
            load(d.into(), 1, 4, 3, |ds| {
                #[cfg(unix)]
                assert!(skipped_reason(ds, "loop").contains("symlink loop"), "{:?}", ds.skipped);
                is_pattern(ds, 0, 1);
            })
        }),
        ("symlinked folder and broken symlink", |d| {
            png(d, "real/a.png", 4, 3, 1);
            #[cfg(unix)]
            {
                std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
                std::os::unix::fs::symlink(d.join("nowhere.png"), d.join("dangling.png")).unwrap();
            }
            let n = if cfg!(unix) { 2 } else { 1 };
            load(d.into(), n, 4, 3, move |ds| {
                is_pattern(ds, 0, 1);
                if cfg!(unix) {
                    assert_eq!(files(ds), ["link/a.png", "real/a.png"]);
                    assert!(skipped_reason(ds, "dangling.png").contains("cannot read"));
                }
            })
        }),
        ("bogus huge PGM header", |d| {
            png(d, "a.png", 4, 3, 1);
            let mut b = b"P5\n100000 100000\n255\n".to_vec();
            b.extend_from_slice(&[1, 2, 3, 4]);
            write(d, "huge.pgm", &b);
            load(d.into(), 1, 4, 3, |ds| {
                let r = skipped_reason(ds, "huge.pgm");
                assert!(r.contains("too large") && r.contains("100000×100000"), "{r}");
            })
        }),
        ("large header, truncated data", |d| {
            // Within the size limits, but the pixel data is missing.
            png(d, "a.png", 4, 3, 1);
            png(d, "b.png", 4, 3, 2);
            let mut b = b"P5\n4 3\n255\n".to_vec();
            b.extend_from_slice(&[9, 9]);
            write(d, "short.pgm", &b);
            load(d.into(), 2, 4, 3, |ds| {
                is_pattern(ds, 0, 1);
                is_pattern(ds, 1, 2);
                let r = skipped_reason(ds, "short.pgm");
                assert!(r.contains("truncated") || r.contains("corrupt"), "{r}");
            })
        }),
        ("memory limit exceeded", |d| {
            for i in 0..4 {
                png(d, &format!("{i}.png"), 100, 100, i);
            }
            with(
                error(d.into(), &["4 faces of 100×100", "--scale", "memory limit"]),
                LoadOptions { memory_limit_bytes: Some(100_000), ..Default::default() },
            )
        }),
        ("memory limit with suggested scale fits", |d| {
            for i in 0..4 {
                png(d, &format!("{i}.png"), 100, 100, i);
            }
            // 4 × 50×50 × 4 bytes = 40000 bytes fits in 100000.
            with(
                load(d.into(), 4, 50, 50, |_| {}),
                LoadOptions { memory_limit_bytes: Some(100_000), scale: Some(0.5), ..Default::default() },
            )
        }),
        ("unreadable file", |d| {
            png(d, "a.png", 4, 3, 1);
            let p = png(d, "secret.png", 4, 3, 2);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
            }
            // Root (and non-unix systems) can still read it: then it loads.
            if std::fs::read(&p).is_ok() {
                load(d.into(), 2, 4, 3, |ds| is_pattern(ds, 1, 2))
            } else {
                load(d.into(), 1, 4, 3, |ds| {
                    let r = skipped_reason(ds, "secret.png");
                    assert!(r.contains("cannot read") && r.contains("ermission"), "{r}");
                })
            }
        }),
        ("preprocess on load", |d| {
            png(d, "a.png", 8, 8, 1);
            with(
                load(d.into(), 1, 8, 8, |ds| {
                    let mean = ds.face(0).mean().unwrap();
                    assert!((mean - 0.25).abs() < 0.03, "{mean}");
                }),
                LoadOptions { preprocess: Preprocess::LeeSeung, ..Default::default() },
            )
        }),
    ]
}

#[test]
fn bad_and_odd_inputs() {
    let cases = cases();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for (name, build) in &cases {
        let dir = tempfile::tempdir().unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let setup = build(dir.path());
            let result = load_folder(&setup.root, &setup.opts);
            match (setup.expect, result) {
                (Expect::Load(n, w, h, check), Ok(ds)) => {
                    assert_eq!((ds.faces(), ds.width, ds.height), (n, w, h), "faces, width, height");
                    assert_eq!(ds.matrix.dim(), (w * h, n));
                    assert!(ds.matrix.is_standard_layout());
                    assert_eq!(ds.labels.len(), n);
                    assert_eq!(ds.files.len(), n);
                    assert!(ds.matrix.iter().all(|v| (0.0..=1.0).contains(v)));
                    for s in &ds.skipped {
                        eprintln!("[{name}] skipped {s}");
                    }
                    check(&ds);
                }
                (Expect::Load(..), Err(e)) => panic!("expected a load, got error: {e}"),
                (Expect::Error(needles), Err(e)) => {
                    let msg = e.to_string();
                    let lower = msg.to_lowercase();
                    for n in needles {
                        assert!(lower.contains(&n.to_lowercase()), "error {msg:?} lacks {n:?}");
                    }
                    eprintln!("[{name}] error message: {msg}");
                }
                (Expect::Error(_), Ok(ds)) => {
                    panic!("expected an error, loaded {} faces", ds.faces())
                }
            }
        }));
        // Restore permissions so the tempdir can be removed.
        #[cfg(unix)]
        for entry in walkdir::WalkDir::new(dir.path()).into_iter().flatten() {
            use std::os::unix::fs::PermissionsExt;
            if entry.file_type().is_file() {
                let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644));
            }
        }
        if let Err(p) = outcome {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{name}: {msg}"));
        }
    }
    let _ = std::io::stderr().flush();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
