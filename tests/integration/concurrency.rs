//! Readers during a write (issue #20, item 5): `recommend` in a loop while `train` commits a new
//! model, and many HTTP readers while `/v1/admin/rebuild` swaps the served model. Every answer
//! is the old model's or the new one's, whole; the only waiting is the documented lock wait.
//!
//! `KGREC_CONC_ROUNDS` (default 2) commits and rebuilds each.

use crate::common::*;
use crate::kill_loop::env_u64;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A `recommend` answer's items with their scores (`--wait`: readers wait for the lock).
fn answer(data: &Path, user: &str) -> Result<serde_json::Value, String> {
    let out = run(kgrec(data).args([
        "--wait",
        "120",
        "recommend",
        "--user",
        user,
        "-k",
        "8",
        "--format",
        "json",
    ]));
    if !out.status.success() {
        return Err(format!("{}: {}", out.status, stderr(&out)));
    }
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).map_err(|e| e.to_string())?;
    Ok(v["items"].clone())
}

#[test]
fn recommend_during_a_train_commit_sees_the_old_or_the_new_model() {
    let rounds = env_u64("KGREC_CONC_ROUNDS", 2);
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop", "--quiet"]));
    let users = ["1", "2", "3"];
    let mut old: BTreeMap<&str, serde_json::Value> = users
        .iter()
        .map(|u| (*u, answer(&data, u).unwrap()))
        .collect();
    let (mut seen_old, mut seen_new, mut total) = (0, 0, 0);
    for round in 0..rounds {
        let model = ["als", "bpr"][round as usize % 2];
        let mut trainer = kgrec(&data)
            .args([
                "train", "--model", model, "--epochs", "400", "--quiet", "--seed",
            ])
            .arg(round.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let done = AtomicBool::new(false);
        let answers: Mutex<Vec<(&str, Result<serde_json::Value, String>)>> = Mutex::new(vec![]);
        let deadline = Instant::now() + Duration::from_secs(180);
        std::thread::scope(|scope| {
            for t in 0..2 {
                let (done, answers, data) = (&done, &answers, &data);
                scope.spawn(move || {
                    // Until the train has ended, and three answers more.
                    let mut after = 0;
                    let mut n = t;
                    while after < 3 && Instant::now() < deadline {
                        if done.load(Ordering::SeqCst) {
                            after += 1;
                        }
                        let user = users[n % users.len()];
                        answers.lock().unwrap().push((user, answer(data, user)));
                        n += 1;
                    }
                });
            }
            let status = loop {
                if let Some(status) = trainer.try_wait().unwrap() {
                    break status;
                }
                assert!(Instant::now() < deadline, "train never ended");
                std::thread::sleep(Duration::from_millis(10));
            };
            done.store(true, Ordering::SeqCst);
            let mut err = String::new();
            std::io::Read::read_to_string(&mut trainer.stderr.take().unwrap(), &mut err).unwrap();
            assert!(status.success(), "train: {err}");
        });
        let new: BTreeMap<&str, serde_json::Value> = users
            .iter()
            .map(|u| (*u, answer(&data, u).unwrap()))
            .collect();
        assert_ne!(
            old, new,
            "round {round}: the new model answers as the old one"
        );
        for (user, got) in answers.into_inner().unwrap() {
            let got = got.unwrap_or_else(|e| panic!("round {round}: recommend {user}: {e}"));
            total += 1;
            if got == old[user] {
                seen_old += 1;
            } else if got == new[user] {
                seen_new += 1;
            } else {
                panic!(
                    "round {round}: user {user} got {got}, neither the old model's {} nor the new one's {}",
                    old[user], new[user]
                );
            }
        }
        old = new;
    }
    eprintln!(
        "recommend during train: {rounds} commits, {total} answers: {seen_old} old model, {seen_new} new model, 0 mixed or failed"
    );
    assert!(
        seen_old > 0 && seen_new > 0,
        "the readers never overlapped a train"
    );
}

/// A served answer: the model version and the JSON without it.
type Served = (u64, serde_json::Value);

/// The served answer of `user` without its version, and the version.
fn served(server: &Server, user: &str) -> Result<Served, String> {
    let answer = http(
        &server.addr,
        "GET",
        &format!("/v1/users/{user}/recommendations?k=6"),
        &[],
        b"",
    )
    .map_err(|e| e.to_string())?;
    if answer.status != 200 {
        return Err(format!("{}: {}", answer.status, answer.text()));
    }
    let mut v = answer.json();
    let version = v["model_version"].as_u64().unwrap_or(0);
    v.as_object_mut().unwrap().remove("model_version");
    Ok((version, v))
}

#[test]
fn http_readers_during_a_rebuild_see_the_old_or_the_new_model() {
    let rounds = env_u64("KGREC_CONC_ROUNDS", 2);
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::cf::imported(tmp.path());
    ok(kgrec(&data).args(["train", "--model", "pop", "--quiet"]));
    let server = Server::start(&data, &[]);
    let users: Vec<String> = (1..=12).map(|u| u.to_string()).collect();
    let snapshot = |server: &Server| -> BTreeMap<String, Served> {
        users
            .iter()
            .map(|u| (u.clone(), served(server, u).unwrap()))
            .collect()
    };
    let mut old = snapshot(&server);
    let (mut seen_old, mut seen_new, mut total) = (0, 0, 0);
    for round in 0..rounds {
        let stop = AtomicBool::new(false);
        let count = AtomicUsize::new(0);
        let answers: Mutex<Vec<(String, Result<Served, String>)>> = Mutex::new(vec![]);
        let deadline = Instant::now() + Duration::from_secs(180);
        let version = std::thread::scope(|scope| {
            for t in 0..6 {
                let (stop, count, answers, users, server) =
                    (&stop, &count, &answers, &users, &server);
                scope.spawn(move || {
                    let mut n = t;
                    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                        let user = &users[n % users.len()];
                        let got = served(server, user);
                        answers.lock().unwrap().push((user.clone(), got));
                        count.fetch_add(1, Ordering::SeqCst);
                        n += 1;
                    }
                });
            }
            while count.load(Ordering::SeqCst) < 20 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let model = ["als", "bpr"][round as usize % 2];
            let body = format!(r#"{{"model": "{model}", "seed": {round}}}"#);
            let started = server.post_json("/v1/admin/rebuild", &body);
            assert_eq!(started.status, 202, "{}", started.text());
            let job = crate::serve::wait_for_job(&server, started.json()["id"].as_str().unwrap());
            assert_eq!(job["status"], "done", "{job}");
            let after = count.load(Ordering::SeqCst);
            while count.load(Ordering::SeqCst) < after + 20 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            stop.store(true, Ordering::SeqCst);
            job["version"].as_u64().unwrap()
        });
        let new = snapshot(&server);
        assert!(new.values().all(|(v, _)| *v == version), "{new:?}");
        assert_ne!(old, new);
        let mut versions = BTreeSet::new();
        for (user, got) in answers.into_inner().unwrap() {
            let got = got.unwrap_or_else(|e| panic!("round {round}: user {user}: {e}"));
            total += 1;
            versions.insert(got.0);
            if got == old[&user] {
                seen_old += 1;
            } else if got == new[&user] {
                seen_new += 1;
            } else {
                panic!(
                    "round {round}: user {user} got {got:?}, neither the old model's {:?} nor the new one's {:?}",
                    old[&user], new[&user]
                );
            }
        }
        assert_eq!(
            versions.len(),
            2,
            "round {round}: versions served {versions:?}"
        );
        old = new;
    }
    eprintln!(
        "HTTP readers during rebuild: {rounds} swaps, {total} answers: {seen_old} old model, {seen_new} new model, 0 mixed or failed"
    );
    assert!(server.terminate(30).success());
}
