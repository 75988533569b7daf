//! `qforge hdl pe`: the design folder it writes, its atomicity, what it refuses to replace
//! (user folders, files, links, devices, qforge folders of another kind), the cleanup of dead
//! runs' temp folders, and `qforge verify` on it.

use crate::common::qforge_command;
use std::path::Path;
use std::process::Command;

#[test]
fn invalid_configuration_fails_with_one_line_and_writes_nothing() {
    let dir = scratch!("invalid");
    let out = dir.join("pe");
    let o = qforge_command()
        .args([
            "hdl",
            "pe",
            "--kind",
            "pot",
            "--exp-bits",
            "3",
            "--acc-bits",
            "6",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("acc_bits (6)"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "left files behind"
    );
}

#[test]
fn design_folder_is_replaced_whole() {
    let dir = scratch!("replace");
    let out = dir.join("pe");
    std::fs::create_dir_all(out.join("rtl")).unwrap();
    std::fs::write(out.join("rtl/stale.v"), "stale").unwrap();
    // An earlier `hdl pe` folder (only qforge's own folders are ever replaced).
    std::fs::write(out.join(".qforge-output"), "pe\n").unwrap();
    let o = qforge_command()
        .args([
            "hdl", "pe", "--kind", "ternary", "--a-bits", "4", "--simd", "4",
        ])
        .args(["--acc-bits", "8", "--cycles", "100", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.join("rtl/stale.v").exists());
    for f in [
        "qforge.json",
        "run.sh",
        "tb/qf_replay_tb.sv",
        "vectors/stimulus.hex",
        "vectors/expected.hex",
        "rtl/qf_tb_dut.v",
        "rtl/qf_pe_ternary_a4_s4_acc8_wrap.v",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let stim = std::fs::read_to_string(out.join("vectors/stimulus.hex")).unwrap();
    assert_eq!(stim.lines().count(), 100);
    // only the design folder remains: no temporary or moved-aside folders
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn verify_passes_on_a_generated_array() {
    let dir = scratch!("verify");
    let out = dir.join("array");
    let o = qforge_command()
        .args([
            "hdl",
            "pe",
            "--kind",
            "apot",
            "--terms",
            "2",
            "--term-bits",
            "2",
            "--simd",
            "4",
        ])
        .args([
            "--pe",
            "2",
            "--acc-bits",
            "18",
            "--overflow",
            "sat",
            "--output-reg",
        ])
        .args(["--cycles", "3000", "--seed", "9", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = qforge_command().arg("verify").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(text.contains("0 warnings"), "{text}");
    assert!(text.contains("0 mismatches"), "{text}");
}

/// `hdl pe` of a small ternary PE into `out`, with `extra` arguments.
fn small_pe(out: &Path, extra: &[&str]) -> std::process::Output {
    qforge_command()
        .args([
            "hdl", "pe", "--kind", "ternary", "--a-bits", "4", "--simd", "4",
        ])
        .args(["--acc-bits", "8", "--cycles", "100"])
        .args(extra)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

/// Exit code 2 and exactly one `error: refusing to write to OUT: ...` line containing `why`.
fn assert_refused(o: &std::process::Output, out: &Path, why: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: refusing to write to {}: ", out.display())),
        "{err}"
    );
    assert!(err.contains(why), "{err}");
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn a_user_folder_is_refused_and_left_untouched() {
    let dir = scratch!("user_folder");
    let out = dir.join("mine");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep"), "x").unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let o = small_pe(&out, extra);
        assert_refused(
            &o,
            &out,
            "it is a folder qforge did not create (no .qforge-output marker); choose another path or empty it",
        );
        assert_eq!(names(&out), ["keep"]);
        assert_eq!(std::fs::read_to_string(out.join("keep")).unwrap(), "x");
        assert_eq!(names(&dir), ["mine"], "no temp folder left");
    }
}

#[test]
fn a_file_is_refused_and_left_untouched() {
    let dir = scratch!("file");
    let out = dir.join("notes.txt");
    std::fs::write(&out, "mine").unwrap();
    let o = small_pe(&out, &["--force"]);
    assert_refused(&o, &out, "it is a file");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
    assert_eq!(names(&dir), ["notes.txt"]);
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_refused_and_never_followed() {
    let dir = scratch!("symlink");
    // An empty folder would be accepted: a link to one must still be refused, not followed.
    let folder = dir.join("folder");
    std::fs::create_dir(&folder).unwrap();
    let file = dir.join("file");
    std::fs::write(&file, "mine").unwrap();
    for (name, target) in [("to_folder", &folder), ("to_file", &file)] {
        let link = dir.join(name);
        std::os::unix::fs::symlink(target, &link).unwrap();
        let o = small_pe(&link, &["--force"]);
        assert_refused(&o, &link, "it is a symbolic link");
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_symlink());
        assert_eq!(&std::fs::read_link(&link).unwrap(), target);
    }
    assert!(names(&folder).is_empty(), "the linked folder stays empty");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert_eq!(names(&dir), ["file", "folder", "to_file", "to_folder"]);
}

#[cfg(unix)]
#[test]
fn a_device_is_refused_and_left_untouched() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch!("device");
    // A character device (as /dev/null is) made in the scratch folder; where mknod is not
    // permitted (no root), a fifo made with mkfifo stands in for it.
    let dev = dir.join("null");
    let made = Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    let (is_char, why) = if made {
        (true, "it is a character device")
    } else {
        let fifo = Command::new("mkfifo").arg(&dev).status().unwrap();
        assert!(fifo.success(), "mkfifo failed");
        (false, "it is a fifo")
    };
    let o = small_pe(&dev, &["--force"]);
    assert_refused(&o, &dev, why);
    let ty = std::fs::symlink_metadata(&dev).unwrap().file_type();
    assert!(if is_char {
        ty.is_char_device()
    } else {
        ty.is_fifo()
    });
    assert_eq!(names(&dir), ["null"]);
}

#[test]
fn a_qforge_folder_of_another_kind_needs_force() {
    let dir = scratch!("other_kind");
    let out = dir.join("d");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join(".qforge-output"), "net\n").unwrap();
    std::fs::write(out.join("qforge.json"), "{}").unwrap();
    let o = small_pe(&out, &[]);
    assert_refused(
        &o,
        &out,
        "it holds a qforge net output, not pe; pass --force to replace it",
    );
    assert_eq!(names(&out), [".qforge-output", "qforge.json"]);
    let o = small_pe(&out, &["--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join(".qforge-output")).unwrap(),
        "pe\n"
    );
    assert!(out.join("rtl/qf_tb_dut.v").is_file());
    assert_eq!(names(&dir), ["d"]);
}

#[test]
fn empty_folders_and_earlier_designs_are_written() {
    let dir = scratch!("empty_and_same");
    let out = dir.join("d");
    std::fs::create_dir(&out).unwrap();
    for _ in 0..2 {
        let o = small_pe(&out, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            std::fs::read_to_string(out.join(".qforge-output")).unwrap(),
            "pe\n"
        );
        assert!(out.join("qforge.json").is_file());
        assert_eq!(names(&dir), ["d"]);
    }
    // A PE array is an `hdl pe` output too.
    let o = small_pe(&out, &["--pe", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn temp_folders_of_dead_runs_are_cleaned_and_live_ones_kept() {
    let dir = scratch!("stale");
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let live = std::process::id();
    let make = |name: &str, marker: bool| {
        let d = dir.join(name);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("half.v"), "module").unwrap();
        if marker {
            std::fs::write(d.join(".qforge-output"), "pe\n").unwrap();
        }
    };
    let stale = format!(".d.qforge-tmp.{dead}.0");
    let stale_other = format!(".x.qforge-tmp.{dead}.3");
    let running = format!(".d.qforge-tmp.{live}.0");
    let unmarked = format!(".d.qforge-tmp.{dead}.1");
    make(&stale, true);
    make(&stale_other, true);
    make(&running, true);
    make(&unmarked, false);
    let o = small_pe(&dir.join("d"), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut want = vec![running.clone(), unmarked.clone(), "d".to_string()];
    want.sort();
    assert_eq!(
        names(&dir),
        want,
        "only the dead runs' marked temp folders go"
    );
    assert!(dir.join(&unmarked).join("half.v").is_file());
}
