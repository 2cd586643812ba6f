//! `facenmf fit … --movie FILE.gif [--movie-face N]` and `--picture FILE.png
//! [--picture-scale N]` end to end.

// Test code states its expectations with unwrap, expect and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use image::AnimationDecoder;

fn facenmf(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facenmf"));
    cmd.args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask is async-signal-safe and touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0o022);
                Ok(())
            });
        }
    }
    cmd.output().expect("run facenmf")
}

/// A folder of 30 built-in faces of 24×24.
fn faces() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = facenmf::dataset::builtin::generate(30, 24, 3);
    facenmf::dataset::builtin::write_folder(&set, dir.path()).expect("write faces");
    dir
}

fn last_json(run: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&run.stdout);
    serde_json::from_str(stdout.trim().lines().last().expect("a line")).expect("JSON")
}

fn gif_frames(path: &Path) -> Vec<image::RgbaImage> {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("the movie"));
    let decoder = image::codecs::gif::GifDecoder::new(file).expect("a GIF");
    decoder.into_frames().map(|f| f.expect("a frame").into_buffer()).collect()
}

#[test]
fn fit_movie_writes_a_gif_of_the_kept_snapshots() {
    let faces = faces();
    let outs = tempfile::tempdir().unwrap();
    let movie = outs.path().join("learning.gif");
    let (dir, movie_s) = (faces.path().to_str().unwrap(), movie.to_str().unwrap());
    let run = facenmf(&["fit", dir, "--k", "4", "--max-iter", "40", "--tol", "0", "--movie", movie_s, "--json"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let v = last_json(&run);
    let m = &v["movie"];
    assert_eq!(m["path"], movie_s);
    let iterations: Vec<u64> = m["iterations"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap()).collect();
    assert_eq!(&iterations[..5], &[0, 1, 2, 3, 4]);
    assert_eq!(iterations.last(), Some(&40));
    let frames = gif_frames(&movie);
    assert_eq!(m["frames"].as_u64(), Some(frames.len() as u64));
    assert_eq!(m["snapshots"].as_u64(), Some(iterations.len() as u64));
    assert!(frames.len() >= iterations.len() && frames.len() >= 10, "{} frames", frames.len());
    for f in &frames {
        assert!(f.width().min(f.height()) >= 200, "{:?}", f.dimensions());
    }
    assert_ne!(frames[0], frames[frames.len() - 1]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&movie).unwrap().permissions().mode() & 0o777, 0o644);

    // An existing movie is refused before any work, naming the file and --force.
    let before = std::fs::read(&movie).unwrap();
    let run = facenmf(&["fit", dir, "--k", "3", "--max-iter", "5", "--movie", movie_s]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(movie_s) && stderr.contains("--force"), "{stderr}");
    assert!(run.stdout.is_empty());
    assert_eq!(std::fs::read(&movie).unwrap(), before);

    // With --force it is replaced; a short fit still makes 10 frames, and says so.
    let run = facenmf(&["fit", dir, "--k", "3", "--max-iter", "3", "--movie", movie_s, "--force", "--movie-face", "2"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("ended after 3 iterations") && stderr.contains("10 frames"), "{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("wrote the movie") && stdout.contains(movie_s), "{stdout}");
    let frames = gif_frames(&movie);
    assert_eq!(frames.len(), 10);
    assert!(frames[0].width() > frames[0].height(), "the face beside its reconstruction");
}

#[test]
fn bad_movie_and_picture_arguments_are_refused_naming_the_value() {
    let faces = faces();
    let outs = tempfile::tempdir().unwrap();
    let dir = faces.path().to_str().unwrap();
    let refused = |args: &[&str], needle: &str| {
        let run = facenmf(args);
        assert!(!run.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(run.stdout.is_empty(), "{args:?}: work was done");
    };
    let png = outs.path().join("m.png");
    refused(&["fit", dir, "--k", "3", "--movie", png.to_str().unwrap()], "m.png");
    let missing = outs.path().join("nowhere").join("m.gif");
    refused(&["fit", dir, "--k", "3", "--movie", missing.to_str().unwrap()], "there is no folder");
    let gif = outs.path().join("m.gif");
    let gif = gif.to_str().unwrap();
    refused(&["fit", dir, "--k", "3", "--movie", gif, "--movie-face", "0"], "--movie-face 0");
    refused(&["fit", dir, "--k", "3", "--movie", gif, "--movie-face", "31"], "--movie-face 31");
    refused(&["fit", dir, "--k", "3", "--movie-face", "3"], "--movie");
    let pic = outs.path().join("p.png");
    let pic = pic.to_str().unwrap();
    refused(&["fit", dir, "--k", "3", "--picture", pic, "--picture-scale", "9"], "scale 9");
    refused(&["fit", dir, "--k", "3", "--picture", gif], "m.gif");
    assert!(std::fs::read_dir(outs.path()).unwrap().next().is_none(), "nothing was written");
}

#[test]
fn fit_picture_saves_the_labelled_montage_at_the_scale_asked() {
    let faces = faces();
    let outs = tempfile::tempdir().unwrap();
    let dir = faces.path().to_str().unwrap();
    let one = outs.path().join("one.png");
    let two = outs.path().join("two.png");
    for (path, scale) in [(&one, "1"), (&two, "2")] {
        let run = facenmf(&[
            "fit",
            dir,
            "--k",
            "4",
            "--max-iter",
            "10",
            "--picture",
            path.to_str().unwrap(),
            "--picture-scale",
            scale,
            "--json",
        ]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert_eq!(last_json(&run)["picture"], path.to_str().unwrap());
    }
    let (one, two) = (image::open(&one).unwrap().to_luma8(), image::open(&two).unwrap().to_luma8());
    assert!(one.width() >= 2 * 24 && one.height() > 2 * 24, "{:?}", one.dimensions());
    let (dw, dh) = (two.width() as i64 - 2 * one.width() as i64, two.height() as i64 - 2 * one.height() as i64);
    assert!(dw.abs() <= 4 && dh.abs() <= 4, "2× is twice as large: {:?} {:?}", one.dimensions(), two.dimensions());
}
