//! The storage layer under faults, black-box through the binary: a full
//! disk, damaged files, the ledger folder deleted or replaced under a
//! running import, and read-only copies.

mod common;
#[path = "common/faults.rs"]
mod faults;

use common::{describe, spring_2025, Ledger};
use faults::{
    assert_no_crash, copy_dir, crashed, fingerprint, fingerprint_changes, run_input_limited,
    run_limited, spring_claim, spring_claims, Mount, Rng, READ_COMMANDS,
};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// Time limit of one command in these tests: a damaged file must make the
/// binary fail, not hang.
const COMMAND_SECONDS: u32 = 60;

/// The exported lines of a ledger at `path`, which must export.
fn export_lines(dir: &Path, path: &Path) -> Vec<String> {
    let output = run_limited(dir, path, &["export"], COMMAND_SECONDS);
    assert!(output.status.success(), "export: {}", describe(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Checks that `path` verifies, exports the `prefix` lines as its first
/// entries, and holds each `later` claim at its acknowledged seq; returns
/// why not.
fn holds(
    dir: &Path,
    path: &Path,
    prefix: &[String],
    later: &[(u64, String)],
) -> Result<(), String> {
    let wanted = later
        .iter()
        .map(|(seq, _)| *seq)
        .max()
        .unwrap_or(0)
        .max(prefix.len() as u64);
    let verify = run_limited(dir, path, &["verify", "--json"], COMMAND_SECONDS);
    if let Some(crash) = crashed(&verify) {
        return Err(format!("verify: {crash}: {}", describe(&verify)));
    }
    let entries = faults::verified_entries(&verify).map_err(|e| format!("verify: {e}"))?;
    if entries < wanted {
        return Err(format!(
            "verify passes with {entries} entries where {wanted} were acknowledged"
        ));
    }
    let export = run_limited(dir, path, &["export"], COMMAND_SECONDS);
    if !export.status.success() {
        return Err(format!("export: {}", describe(&export)));
    }
    let text = String::from_utf8_lossy(&export.stdout);
    let lines: Vec<&str> = text.lines().collect();
    if let Some(index) = prefix
        .iter()
        .enumerate()
        .position(|(i, wanted)| lines.get(i) != Some(&wanted.as_str()))
    {
        return Err(format!(
            "acknowledged seq {} is missing or changed",
            index + 1
        ));
    }
    for (seq, claim) in later {
        let line: serde_json::Value = lines
            .get(*seq as usize - 1)
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or_default();
        if line["claim"] != claim.as_str() {
            return Err(format!(
                "acknowledged seq {seq} (claim {claim}) is missing or changed: {line}"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// (1) A full disk.

/// Size of the small file system: the example ledger fits with room to
/// spare, an import of [`FULL_DISK_IMPORT`] claims does not.
const TMPFS_BYTES: u64 = 4 << 20;
const FULL_DISK_IMPORT: usize = 3_000;
/// A file written before the ledger, removed to free space.
const BALLAST_BYTES: usize = 1 << 20;
/// How much room is left while every command runs on the full disk.
const ROOM_LEFT_BYTES: &[u64] = &[0, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 256 << 10];

/// How the space comes back.
#[derive(Clone, Copy, Debug)]
enum Free {
    RemoveFiller,
    GrowFileSystem,
}

/// The claims a write command acknowledged, with their seqs: `ids` are the
/// claim ids of its input, in order.
fn acknowledged(args: &[&str], output: &Output, ids: &[String]) -> Vec<(u64, String)> {
    if !output.status.success() {
        return Vec::new();
    }
    let last = match args.first() {
        Some(&"record") => faults::recorded_seqs(&output.stdout).last().copied(),
        Some(&"import") => faults::imported_head(&output.stdout),
        _ => None,
    };
    let Some(last) = last else {
        return Vec::new();
    };
    let first = last + 1 - ids.len() as u64;
    (first..=last).zip(ids.iter().cloned()).collect()
}

/// Claim ids `prefix` + 0..n, as [`spring_claims`] makes them.
fn claim_ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Whether a failure on a full disk says so.
fn says_disk_full(output: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    stderr.contains("space") || stderr.contains("full")
}

fn full_disk_then_freed(free: Free) {
    let test = format!("full disk, then {free:?}");
    let dir = tempfile::tempdir().expect("temporary directory");
    let point = dir.path().join("small");
    std::fs::create_dir(&point).expect("mount point");
    let mount = match Mount::tmpfs(&point, TMPFS_BYTES) {
        Ok(mount) => mount,
        Err(why) => return faults::skip_or_fail(&test, &why),
    };
    let ledger = mount.point().join("ledger");
    let run = |args: &[&str], input: &str| {
        run_input_limited(dir.path(), &ledger, args, input, COMMAND_SECONDS)
    };
    // Room that removing files can give back later.
    let ballast = mount.point().join("ballast");
    std::fs::write(&ballast, vec![0u8; BALLAST_BYTES]).expect("write the ballast");
    let init = run_limited(dir.path(), &ledger, &["init"], COMMAND_SECONDS);
    assert!(init.status.success(), "init: {}", describe(&init));
    let output = run(&["import", "--backfill", "-"], &spring_2025());
    assert!(output.status.success(), "backfill: {}", describe(&output));
    let prefix = export_lines(dir.path(), &ledger);
    let mut later: Vec<(u64, String)> = Vec::new();

    // An import and a record that hit the limit: a clear error, no panic.
    let output = run(&["import", "-"], &spring_claims("F", FULL_DISK_IMPORT));
    assert_no_crash(&output, "an import that fills the disk");
    assert!(
        !output.status.success(),
        "the import of {FULL_DISK_IMPORT} claims should not fit in {TMPFS_BYTES} bytes: {}",
        describe(&output)
    );
    assert!(
        says_disk_full(&output),
        "the failed import says the disk is full: {}",
        describe(&output)
    );
    println!(
        "{test}: the import failed with {} bytes free: {}",
        faults::free_bytes(mount.point()),
        describe(&output)
    );
    let output = run(&["record", "-"], &spring_claims("F-record", 1));
    assert_no_crash(&output, "a record on the full disk");
    println!(
        "{test}: record after the failed import: {}",
        describe(&output)
    );
    later.extend(acknowledged(
        &["record"],
        &output,
        &claim_ids("F-record", 1),
    ));

    // Whatever room is left goes to a filler; then every command runs while
    // the disk is full, and again with a little room: how far sled gets
    // depends on how much (with none it fails early; with a little it may
    // leave a zero-length `snap.*.generating` that every later open reads).
    let mut commands: Vec<(Vec<&str>, String, Vec<String>)> = READ_COMMANDS
        .iter()
        .map(|args| (args.to_vec(), String::new(), Vec::new()))
        .collect();
    commands.push((vec!["checkpoint"], String::new(), Vec::new()));
    // Two passes: where sled first meets ENOSPC varies with its background
    // flusher, so each degree of fullness gets a second chance.
    for (pass, room) in (0..2).flat_map(|pass| ROOM_LEFT_BYTES.iter().map(move |r| (pass, r))) {
        let record = format!("F-full-{pass}-{room}-");
        let import = format!("F-full-import-{pass}-{room}-");
        let writes = [
            (
                vec!["record", "-"],
                spring_claims(&record, 1),
                claim_ids(&record, 1),
            ),
            (
                vec!["import", "-"],
                spring_claims(&import, 50),
                claim_ids(&import, 50),
            ),
        ];
        for (args, input, ids) in commands.iter().chain(&writes) {
            // Refilled before each command: an open may give back space
            // (sled trims what a failed import left in its file).
            let free = faults::leave_room(mount.point(), *room);
            let output = run(args, input);
            let what = format!("{test}: {args:?} with {free} bytes free");
            assert_no_crash(&output, &what);
            println!(
                "{what}: exit {:?} {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
            later.extend(acknowledged(args, &output, ids));
        }
    }

    match free {
        Free::RemoveFiller => {
            std::fs::remove_file(mount.point().join("filler")).expect("remove the filler");
            std::fs::remove_file(&ballast).expect("remove the ballast");
        }
        Free::GrowFileSystem => mount.resize(TMPFS_BYTES * 8),
    }
    // Every acknowledged entry is there and the ledger verifies; then it
    // takes writes again.
    if let Err(failure) = holds(dir.path(), &ledger, &prefix, &later) {
        panic!("{test}: after the space came back: {failure}");
    }
    let output = run(&["record", "-"], &spring_claim("F-after"));
    assert!(
        output.status.success(),
        "{test}: record after the space came back: {}",
        describe(&output)
    );
    let output = run_limited(dir.path(), &ledger, &["verify"], COMMAND_SECONDS);
    assert!(
        output.status.success(),
        "{test}: verify at the end: {}",
        describe(&output)
    );
}

#[test]
fn a_full_disk_then_a_file_removed_keeps_every_acknowledged_entry() {
    full_disk_then_freed(Free::RemoveFiller);
}

#[test]
fn a_full_disk_then_the_file_system_grown_keeps_every_acknowledged_entry() {
    full_disk_then_freed(Free::GrowFileSystem);
}

// ---------------------------------------------------------------------------
// (2) Damaged files.

/// Entries of the damaged ledger: the example, then a second batch.
const DAMAGE_EXTRA_CLAIMS: usize = 2_020;
/// Random cases per kind of damage, on top of the fixed ones from the issue.
const DAMAGE_RANDOM_PER_KIND: usize = 2;

#[derive(Clone, Copy, Debug)]
enum Damage {
    /// Cut the file to this many bytes.
    Truncate(u64),
    /// 4 KiB of zeros from this offset.
    Zero(u64),
    /// One byte XORed with 0xff at this offset.
    Flip(u64),
}

#[derive(Clone, Debug)]
struct Case {
    /// `db` or the snapshot file.
    file: &'static str,
    snapshot_kept: bool,
    damage: Damage,
}

fn damage_file(path: &Path, damage: Damage) {
    let mut bytes = std::fs::read(path).expect("read the file to damage");
    match damage {
        Damage::Truncate(len) => bytes.truncate(len as usize),
        Damage::Zero(at) => {
            let end = (at as usize + 4096).min(bytes.len());
            bytes[at as usize..end].fill(0);
        }
        Damage::Flip(at) => bytes[at as usize] ^= 0xff,
    }
    std::fs::write(path, bytes).expect("write the damaged file");
}

fn damage_cases(rng: &mut Rng, db_len: u64, snapshot_len: u64) -> Vec<Case> {
    let case = |file, snapshot_kept, damage| Case {
        file,
        snapshot_kept,
        damage,
    };
    let mut cases = Vec::new();
    // The cases: the snapshot gone, the database cut to 10-90%, or
    // one byte flipped at 30, 60, 90%.
    for percent in [10, 30, 60, 90] {
        cases.push(case("db", false, Damage::Truncate(db_len * percent / 100)));
    }
    for percent in [30, 60, 90] {
        cases.push(case("db", false, Damage::Flip(db_len * percent / 100)));
    }
    // Seeded ones: each kind of damage, with and without the snapshot, and
    // to the snapshot itself.
    for _ in 0..DAMAGE_RANDOM_PER_KIND {
        for (file, kept, len) in [
            ("db", true, db_len),
            ("db", false, db_len),
            ("snap", true, snapshot_len),
        ] {
            cases.push(case(file, kept, Damage::Truncate(rng.below(len))));
            cases.push(case(file, kept, Damage::Zero(rng.below(len))));
            cases.push(case(file, kept, Damage::Flip(rng.below(len))));
        }
    }
    cases
}

#[test]
fn damaged_files_never_verify_short_and_never_panic() {
    let seed = faults::seed("damage");
    let mut rng = Rng::new(seed);
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let stdout = ledger.record(&spring_claims("D", DAMAGE_EXTRA_CLAIMS));
    let acknowledged = faults::recorded_seqs(stdout.as_bytes())
        .last()
        .copied()
        .expect("record acknowledges");
    let head = ledger.head();
    assert_eq!(head.entries, acknowledged);
    let pristine = ledger.dir().join("pristine");
    copy_dir(ledger.path(), &pristine);
    let snapshot = faults::files_starting_with(&pristine.join("sled"), "snap.");
    assert_eq!(snapshot.len(), 1, "one snapshot file: {snapshot:?}");
    let snapshot_name = snapshot[0].file_name().expect("a name").to_owned();
    let db_len = std::fs::metadata(pristine.join("sled/db")).unwrap().len();
    let snapshot_len = std::fs::metadata(&snapshot[0]).unwrap().len();

    let cases = damage_cases(&mut rng, db_len, snapshot_len);
    let mut failures = Vec::new();
    let mut outcomes = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let copy = ledger.dir().join(format!("case-{index}"));
        copy_dir(&pristine, &copy);
        let sled = copy.join("sled");
        let target = match case.file {
            "db" => sled.join("db"),
            _ => sled.join(&snapshot_name),
        };
        damage_file(&target, case.damage);
        if !case.snapshot_kept {
            std::fs::remove_file(sled.join(&snapshot_name)).expect("remove the snapshot");
        }
        let output = run_limited(ledger.dir(), &copy, &["verify", "--json"], COMMAND_SECONDS);
        let verdict = judge(&output, acknowledged, head.head.as_deref());
        outcomes.push(format!(
            "{case:?}: exit {:?}{}",
            output.status.code(),
            verdict
                .as_deref()
                .map(|v| format!(" FAIL {v}"))
                .unwrap_or_default()
        ));
        if let Some(why) = verdict {
            failures.push(format!("{case:?}: {why}"));
        }
        std::fs::remove_dir_all(&copy).expect("remove the copy");
    }
    println!("{}", outcomes.join("\n"));
    assert!(
        failures.is_empty(),
        "seed {seed} (replay with ARMISTICE_TEST_SEED={seed}): {} of {} damaged copies of a \
         ledger of {acknowledged} acknowledged entries were judged wrongly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Why a `verify --json` of a damaged copy is wrong, if it is: a crash, a
/// failure without a message, or "ok" for another ledger than the one acknowledged.
fn judge(output: &Output, acknowledged: u64, head: Option<&str>) -> Option<String> {
    if let Some(crash) = crashed(output) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .find(|l| l.contains("panicked"))
            .unwrap_or("");
        return Some(format!("{crash} {first}"));
    }
    match output.status.code() {
        Some(0) => {
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
            let entries = report["entries"].as_u64().unwrap_or(0);
            if entries != acknowledged || report["head"].as_str() != head {
                Some(format!(
                    "verify reports ok for {entries} entries where {acknowledged} were acknowledged"
                ))
            } else {
                None
            }
        }
        _ if String::from_utf8_lossy(&output.stderr).trim().is_empty()
            && output.stdout.is_empty() =>
        {
            Some("failed without saying why".into())
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// (4) The folder deleted or replaced under a running import.

/// Lines fed before the folder goes: past the importer's second chunk of
/// 10,000, so that the first chunk has been written to sled.
const FED_BEFORE_DELETE: usize = 20_500;
const FED_AFTER_DELETE: usize = 500;

#[derive(Clone, Copy, Debug)]
enum Gone {
    Deleted,
    Replaced,
}

fn import_with_the_folder(gone: Gone) {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let mut command = ledger.command();
    command
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut importer = command.spawn().expect("spawn the import");
    let mut stdin = BufWriter::new(importer.stdin.take().expect("piped stdin"));
    for i in 0..FED_BEFORE_DELETE {
        writeln!(stdin, "{}", spring_claim(&format!("M{i}"))).expect("feed the import");
    }
    // Flushed into the pipe: the importer has read all but a pipe's worth,
    // so it holds the ledger open.
    stdin.flush().expect("feed the import");
    std::fs::remove_dir_all(ledger.path()).expect("delete the ledger folder");
    if let Gone::Replaced = gone {
        let output = ledger.run(&["init"]);
        assert!(output.status.success(), "init anew: {}", describe(&output));
    }
    for i in FED_BEFORE_DELETE..FED_BEFORE_DELETE + FED_AFTER_DELETE {
        // The importer may already have stopped reading: that is fine.
        if writeln!(stdin, "{}", spring_claim(&format!("M{i}"))).is_err() {
            break;
        }
    }
    drop(stdin);
    let output = importer.wait_with_output().expect("wait for the import");
    assert_no_crash(&output, &format!("import with the folder {gone:?}"));
    assert!(
        !output.status.success(),
        "an import whose ledger folder was {gone:?} under it must not report success: {}",
        describe(&output)
    );
    assert!(
        faults::imported_head(&output.stdout).is_none(),
        "it prints no success line: {}",
        describe(&output)
    );
    if let Gone::Replaced = gone {
        // The new ledger in its place holds nothing of the import.
        let entries = faults::verified_entries(&ledger.run(&["verify", "--json"]));
        assert_eq!(entries, Ok(0), "the replacing ledger is left as created");
    }
}

#[test]
fn an_import_whose_folder_is_deleted_does_not_report_success() {
    import_with_the_folder(Gone::Deleted);
}

#[test]
fn an_import_whose_folder_is_replaced_does_not_report_success() {
    import_with_the_folder(Gone::Replaced);
}

// ---------------------------------------------------------------------------
// (5) Read-only copies.

fn example_ledger() -> Ledger {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    ledger
}

/// Runs every read command with `make` building the command for a given
/// ledger path; returns the failures.
fn read_everything(mut run: impl FnMut(&[&str]) -> Output, what: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for args in READ_COMMANDS {
        let output = run(args);
        if let Some(crash) = crashed(&output) {
            failures.push(format!("{args:?}: {crash}: {}", describe(&output)));
        } else if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            failures.push(format!(
                "{args:?}: exit {:?}: {}",
                output.status.code(),
                stderr.trim()
            ));
        } else if output.stdout.is_empty() {
            failures.push(format!("{args:?}: printed nothing"));
        }
    }
    println!(
        "{what}: {} of {} read commands failed",
        failures.len(),
        READ_COMMANDS.len()
    );
    failures
}

fn assert_read_only_reads(failures: &[String], changes: &[String], what: &str) {
    assert!(
        failures.is_empty() && changes.is_empty(),
        "{what}:\nread commands that failed:\n{}\nfiles the reads changed:\n{}",
        failures.join("\n"),
        changes.join("\n")
    );
}

#[test]
fn every_read_command_works_on_a_read_only_bind_mount() {
    let test = "read-only bind mount";
    let ledger = example_ledger();
    let point = ledger.dir().join("read-only");
    std::fs::create_dir(&point).expect("mount point");
    let mount = match Mount::bind_read_only(ledger.path(), &point) {
        Ok(mount) => mount,
        Err(why) => return faults::skip_or_fail(test, &why),
    };
    let before = fingerprint(ledger.path());
    let failures = read_everything(
        |args| run_limited(ledger.dir(), mount.point(), args, COMMAND_SECONDS),
        test,
    );
    let changes = fingerprint_changes(&before, &fingerprint(ledger.path()));
    drop(mount);
    assert_read_only_reads(&failures, &changes, test);
}

#[test]
fn every_read_command_works_for_a_user_on_a_write_protected_copy() {
    let test = "write-protected copy read by an unprivileged user";
    let ledger = example_ledger();
    // The user's own copy (as `cp -r` would make it), then `chmod -R a-w`.
    let home = ledger.dir().join("home");
    std::fs::create_dir(&home).expect("a folder for the copy");
    let copy = home.join("ledger");
    copy_dir(ledger.path(), &copy);
    faults::open_to_all(ledger.dir());
    faults::open_to_all(&home);
    faults::chown_to_unprivileged(&home);
    faults::write_protect(&home);
    let before = fingerprint(&copy);
    let failures = read_everything(
        |args| {
            faults::armistice_unprivileged(&home)
                .arg("--ledger")
                .arg(&copy)
                .args(args)
                .output()
                .expect("run armistice as another user")
        },
        test,
    );
    let changes = fingerprint_changes(&before, &fingerprint(&copy));
    faults::write_unprotect(&home);
    if !faults::is_root() {
        println!("{test}: run as this (unprivileged) user");
    }
    assert_read_only_reads(&failures, &changes, test);
}

/// A "read-only" command on a writable ledger changes none of its files
/// either (the lock file aside, which exists to be taken).
#[test]
fn read_commands_leave_a_writable_ledger_byte_for_byte() {
    let ledger = example_ledger();
    let mut before = fingerprint(ledger.path());
    let failures = read_everything(
        |args| run_limited(ledger.dir(), ledger.path(), args, COMMAND_SECONDS),
        "writable ledger",
    );
    let mut after = fingerprint(ledger.path());
    for map in [&mut before, &mut after] {
        map.remove(&PathBuf::from("lock"));
    }
    let changes = fingerprint_changes(&before, &after);
    assert_read_only_reads(&failures, &changes, "read commands on a writable ledger");
}
