//! One process owns a data directory; a second one is refused with the holder's id.

use crate::common::*;
use std::time::{Duration, Instant};

#[test]
fn a_second_process_is_refused_while_an_import_holds_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import_movie_graph(&data);
    let before = stats(&data);
    let big = tmp.path().join("big.nt");
    write_synthetic_ntriples(&big, 300_000);

    let mut holder = kgrec(&data)
        .args(["import", "kg"])
        .arg(&big)
        .spawn()
        .unwrap();
    let pid = holder.id().to_string();
    let lock = data.join("lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != pid {
        assert!(Instant::now() < deadline, "the import never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = run(kgrec(&data).args(["stats", "--format", "json"]));
    let still_running = holder.try_wait().unwrap().is_none();
    if still_running {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let expected = format!(
            "data directory {} is in use by process {pid}",
            data.display()
        );
        assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    }
    assert!(holder.wait().unwrap().success());
    let after = stats(&data);
    assert_eq!(
        after["triples"].as_u64().unwrap(),
        before["triples"].as_u64().unwrap() + 300_000
    );
    assert!(
        still_running,
        "the import ended before the second process could try"
    );
}
