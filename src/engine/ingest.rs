//! Group commit: concurrent writers share one write. Each caller queues its job; the first
//! caller to find nobody committing becomes the leader, takes every queued job and commits them
//! together (for the interaction store: one sled batch and one flush), then hands over to the
//! next caller waiting. Every caller returns its own job's result, and only once its job is
//! committed. Knows nothing of what a job is: the engine gives the commit.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

/// A queue of jobs `J` whose commit gives one `R` each.
#[derive(Debug)]
pub(crate) struct GroupCommit<J, R> {
    queue: Mutex<Queue<J, R>>,
    /// Signalled when a group is committed (results are in, the leader's seat is free).
    committed: Condvar,
}

#[derive(Debug)]
struct Queue<J, R> {
    /// Jobs waiting for a leader, in arrival order, with their tickets.
    pending: Vec<(u64, J)>,
    /// Results not yet picked up; `None`: the leader failed before giving one.
    done: HashMap<u64, Option<R>>,
    next_ticket: u64,
    /// A leader is committing a group now.
    leading: bool,
}

/// The group commit lost a job: its leader panicked, or a lock was poisoned by a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lost;

impl<J, R> Default for GroupCommit<J, R> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                done: HashMap::new(),
                next_ticket: 0,
                leading: false,
            }),
            committed: Condvar::new(),
        }
    }
}

impl<J, R> GroupCommit<J, R> {
    /// Queues `job` and returns its result once it is committed. A caller that becomes the
    /// leader runs `commit` on every job queued by then, its own among them (arrival order; one
    /// result per job, same order); the others wait for a leader.
    pub(crate) fn submit(&self, job: J, commit: impl FnOnce(Vec<J>) -> Vec<R>) -> Result<R, Lost> {
        let mut queue = self.queue.lock().map_err(|_| Lost)?;
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.pending.push((ticket, job));
        let mut commit = Some(commit);
        loop {
            if let Some(result) = queue.done.remove(&ticket) {
                return result.ok_or(Lost);
            }
            if !queue.leading
                && let Some(commit) = commit.take()
            {
                queue = self.lead(queue, commit)?;
                continue;
            }
            queue = self.committed.wait(queue).map_err(|_| Lost)?;
        }
    }

    /// Commits every pending job (the lock released meanwhile, so others can queue).
    fn lead<'a>(
        &'a self,
        mut queue: MutexGuard<'a, Queue<J, R>>,
        commit: impl FnOnce(Vec<J>) -> Vec<R>,
    ) -> Result<MutexGuard<'a, Queue<J, R>>, Lost> {
        queue.leading = true;
        let (tickets, jobs): (Vec<u64>, Vec<J>) =
            std::mem::take(&mut queue.pending).into_iter().unzip();
        drop(queue);
        let mut handover = Handover {
            owner: self,
            tickets,
            results: None,
        };
        handover.results = Some(commit(jobs));
        drop(handover);
        self.queue.lock().map_err(|_| Lost)
    }
}

/// Publishes a leader's results and frees the seat, also when the commit panicked (its jobs
/// then read as [`Lost`] instead of waiting forever).
struct Handover<'a, J, R> {
    owner: &'a GroupCommit<J, R>,
    tickets: Vec<u64>,
    results: Option<Vec<R>>,
}

impl<J, R> Drop for Handover<'_, J, R> {
    fn drop(&mut self) {
        let mut queue = match self.owner.queue.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut results = self.results.take().unwrap_or_default().into_iter();
        for &ticket in &self.tickets {
            queue.done.insert(ticket, results.next());
        }
        queue.leading = false;
        drop(queue);
        self.owner.committed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn concurrent_jobs_are_committed_in_groups_and_each_caller_gets_its_result() {
        let group = Arc::new(GroupCommit::<u32, u32>::default());
        let commits = Arc::new(AtomicUsize::new(0));
        let committed = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..16u32)
            .map(|t| {
                let (group, commits, committed) = (
                    Arc::clone(&group),
                    Arc::clone(&commits),
                    Arc::clone(&committed),
                );
                std::thread::spawn(move || {
                    (0..20u32)
                        .map(|n| {
                            let job = t * 1000 + n;
                            let result = group
                                .submit(job, |jobs| {
                                    commits.fetch_add(1, Ordering::SeqCst);
                                    // A slow commit, as a flush is: others queue meanwhile.
                                    std::thread::sleep(Duration::from_millis(2));
                                    committed.lock().unwrap().extend_from_slice(&jobs);
                                    jobs.iter().map(|j| j * 2).collect()
                                })
                                .unwrap();
                            assert_eq!(result, job * 2, "each caller gets its own result");
                            assert!(committed.lock().unwrap().contains(&job), "committed first");
                            job
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut acknowledged: Vec<u32> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        acknowledged.sort_unstable();
        let mut all = committed.lock().unwrap().clone();
        all.sort_unstable();
        assert_eq!(all, acknowledged, "every job committed exactly once");
        let commits = commits.load(Ordering::SeqCst);
        assert!(
            commits < 320,
            "{commits} commits for 320 jobs: none was grouped"
        );
    }

    #[test]
    fn a_panicking_leader_loses_its_group_but_not_the_queue() {
        let group = GroupCommit::<u32, u32>::default();
        let lost = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.submit(1, |_| panic!("the commit failed"))
        }));
        assert!(lost.is_err());
        assert_eq!(group.submit(2, |jobs| jobs), Ok(2), "the next caller leads");
        let short = group.submit(3, |_| Vec::new());
        assert_eq!(short, Err(Lost), "a missing result is lost, not awaited");
    }
}
