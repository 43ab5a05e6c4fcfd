//! Validation rows carved from a data directory's own interactions, seeded: per user with at
//! least [`MIN_USER_ITEMS`] items, a share of their items at random (`random`) or their latest
//! ones by timestamp (`time`); users with fewer keep every item for training. Dense ids stay the
//! store's, so a model fitted on the carved rows ranks the same items under the same ids.
//! When the catalogue's linked items without interactions are estimated to be new ones rather
//! than rare ones ([`crate::ease::hold_out_whole`], the estimate `kg-ease` chooses its cold rule
//! with), as many linked items with interactions are held out whole, every interaction of
//! theirs to validation: a cold-item rule is then chosen on cold items.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::cf::InteractionMatrix;
use crate::ease::{WholeItems, hold_out_share, hold_out_whole};
use crate::error::{Error, Result};
use crate::ids::{ItemId, UserId};
use crate::store::{Record, Snapshot};

/// Users with fewer items keep them all for training (as `kg-ease`'s own choice does).
pub const MIN_USER_ITEMS: usize = crate::ease::MIN_USER_ITEMS;

/// How validation rows are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitKind {
    /// A random share of each user's items.
    #[default]
    Random,
    /// Each user's latest items (every interaction needs a timestamp).
    Time,
}

impl SplitKind {
    /// The `--split` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Time => "time",
        }
    }
}

/// The training rows and the validation rows of one carving.
#[derive(Debug, Clone)]
pub struct Carved {
    /// The store with the validation rows taken out (same users, items and links).
    pub snapshot: Snapshot,
    /// Its matrix.
    pub matrix: InteractionMatrix,
    /// Each validation user's held-out items (those held out whole among them), users
    /// ascending.
    pub validation: Vec<(UserId, Vec<ItemId>)>,
    /// How many items are held out whole.
    pub whole_items: usize,
    /// Users with rows carved as a share of their own items (at least [`MIN_USER_ITEMS`] of
    /// them): 0 when every validation row is an item held out whole's (a cold-only validation).
    pub share_users: usize,
}

impl Carved {
    /// `snapshot` keeping only `records` (the same users, items and links), its matrix, and the
    /// validation rows carved from it with the items `whole` marks held out whole and
    /// `share_users` users' shares of their own items.
    fn new(
        snapshot: &Snapshot,
        records: Vec<Record>,
        validation: Vec<(UserId, Vec<ItemId>)>,
        whole: &[bool],
        share_users: usize,
    ) -> Result<Self> {
        let snapshot = Snapshot {
            users: snapshot.users.clone(),
            items: snapshot.items.clone(),
            links: snapshot.links.clone(),
            records,
            fingerprint: snapshot.fingerprint,
            scale: snapshot.scale,
        };
        let matrix = snapshot.matrix()?;
        Ok(Self {
            snapshot,
            matrix,
            validation,
            whole_items: whole.iter().filter(|w| **w).count(),
            share_users,
        })
    }
}

/// The items [`carve`] holds out whole for a snapshot whose items `linked` (by item) are linked
/// to a graph: none without a linked item estimated new ([`crate::ease::hold_out_whole`]).
/// Seeded.
pub fn whole_items(matrix: &InteractionMatrix, linked: &[bool], seed: u64) -> WholeItems {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7475_6e65_5f77_686f);
    hold_out_whole(matrix, linked, &mut rng)
}

/// `--target cold`: the items [`carve_whole`] holds out whole for a snapshot whose items
/// `linked` marks: as large a share of the linked items with interactions as the linked items
/// without any are of the linked items (every one of them taken for new), at least
/// [`super::COLD_TARGET_SHARE`]; drawn as [`whole_items`] draws them. Seeded.
pub fn cold_target_items(matrix: &InteractionMatrix, linked: &[bool], seed: u64) -> WholeItems {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7475_6e65_5f77_686f);
    let degrees = matrix.item_degrees();
    let is_linked = |i: usize| linked.get(i).copied().unwrap_or(false);
    let n_linked = (0..matrix.n_items()).filter(|&i| is_linked(i)).count();
    let unplaced = (0..matrix.n_items())
        .filter(|&i| is_linked(i) && degrees.get(i).is_none_or(|&d| d == 0))
        .count();
    let share = (unplaced as f64 / n_linked.max(1) as f64).max(super::COLD_TARGET_SHARE);
    let (whole, count) = hold_out_share(matrix, linked, share, &mut rng);
    WholeItems {
        whole,
        count,
        unplaced,
        new_items: unplaced as f64,
    }
}

/// `--target cold`: every interaction of the items `whole` marks (by item) goes to
/// validation, and nothing else: the validation rows are the whole items' alone.
pub fn carve_whole(snapshot: &Snapshot, whole: &[bool]) -> Result<Carved> {
    let is_whole = |item: ItemId| whole.get(item.index()).copied().unwrap_or(false);
    let mut by_user: Vec<Vec<ItemId>> = vec![Vec::new(); snapshot.users.len()];
    for r in snapshot.records.iter().filter(|r| is_whole(r.item)) {
        if let Some(list) = by_user.get_mut(r.user.index()) {
            list.push(r.item);
        }
    }
    let validation = by_user
        .into_iter()
        .enumerate()
        .filter(|(_, items)| !items.is_empty())
        .map(|(u, items)| (UserId(u as u32), sorted(items)))
        .collect();
    let records = snapshot
        .records
        .iter()
        .filter(|r| !is_whole(r.item))
        .copied()
        .collect();
    Carved::new(snapshot, records, validation, whole, 0)
}

/// Carves every interaction of the items `whole` marks (by item; empty: none), then `share` of
/// every user's other items (at least one, from users with at least [`MIN_USER_ITEMS`] of
/// them) out of `snapshot`.
pub fn carve(
    snapshot: &Snapshot,
    kind: SplitKind,
    share: f64,
    seed: u64,
    whole: &[bool],
) -> Result<Carved> {
    if !(share > 0.0 && share < 1.0) {
        return Err(Error::BadInput(format!(
            "a validation share of {share}: expected a share between 0 and 1, e.g. 0.2"
        )));
    }
    if kind == SplitKind::Time
        && let Some(r) = snapshot.records.iter().find(|r| r.timestamp.is_none())
    {
        let user = snapshot
            .users
            .get(r.user.index())
            .map_or("?", String::as_str);
        let item = snapshot
            .items
            .get(r.item.index())
            .map_or("?", String::as_str);
        return Err(Error::BadInput(format!(
            "--split time needs a timestamp on every interaction, and user {user:?} with item \
             {item:?} has none: import a file with a timestamp column, or use --split random"
        )));
    }
    let is_whole = |item: ItemId| whole.get(item.index()).copied().unwrap_or(false);
    let mut by_user: Vec<Vec<usize>> = vec![Vec::new(); snapshot.users.len()];
    let mut whole_by_user: Vec<Vec<ItemId>> = vec![Vec::new(); snapshot.users.len()];
    let mut held = vec![false; snapshot.records.len()];
    for (i, r) in snapshot.records.iter().enumerate() {
        if is_whole(r.item) {
            held[i] = true;
            if let Some(list) = whole_by_user.get_mut(r.user.index()) {
                list.push(r.item);
            }
        } else if let Some(list) = by_user.get_mut(r.user.index()) {
            list.push(i);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut validation = Vec::new();
    let mut share_users = 0;
    for (user, (rows, whole)) in by_user.iter_mut().zip(whole_by_user).enumerate() {
        if rows.len() < MIN_USER_ITEMS {
            if !whole.is_empty() {
                validation.push((UserId(user as u32), sorted(whole)));
            }
            continue;
        }
        let n = ((rows.len() as f64 * share).round() as usize).clamp(1, rows.len() - 1);
        share_users += 1;
        match kind {
            SplitKind::Random => rows.shuffle(&mut rng),
            // Latest last; ties in import order.
            SplitKind::Time => {
                rows.sort_by_key(|&i| (snapshot.records[i].timestamp, i));
                rows.reverse();
            }
        }
        let mut items: Vec<ItemId> = rows[..n]
            .iter()
            .map(|&i| {
                held[i] = true;
                snapshot.records[i].item
            })
            .collect();
        items.extend(whole);
        validation.push((UserId(user as u32), sorted(items)));
    }
    let records = snapshot
        .records
        .iter()
        .zip(&held)
        .filter(|(_, held)| !**held)
        .map(|(r, _)| *r)
        .collect();
    Carved::new(snapshot, records, validation, whole, share_users)
}

/// `items` ascending, each once.
fn sorted(mut items: Vec<ItemId>) -> Vec<ItemId> {
    items.sort_unstable();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::Record;

    fn snapshot(timestamps: bool) -> Snapshot {
        let users: Vec<String> = (0..4).map(|u| format!("u{u}")).collect();
        let items: Vec<String> = (0..10).map(|i| format!("i{i}")).collect();
        let mut records = Vec::new();
        // u0: 10 items, u1: 5, u2: 4 (kept whole), u3: 6.
        for (u, n) in [(0u32, 10u32), (1, 5), (2, 4), (3, 6)] {
            for i in 0..n {
                records.push(Record {
                    user: UserId(u),
                    item: ItemId(i),
                    count: 1,
                    rating: None,
                    timestamp: timestamps.then_some(i64::from(100 - i)),
                });
            }
        }
        Snapshot {
            users,
            links: vec![None; items.len()],
            items,
            records,
            fingerprint: 1,
            scale: None,
        }
    }

    /// `--target cold`: the whole items' rows, and nothing else, are the validation; with
    /// no linked item without interactions, a tenth of the linked ones are held out.
    #[test]
    fn the_cold_target_holds_out_only_whole_items() {
        let s = snapshot(false);
        let matrix = s.matrix().unwrap();
        let linked = vec![true; 10];
        let whole = cold_target_items(&matrix, &linked, 3);
        assert_eq!((whole.count, whole.unplaced), (1, 0));
        let carved = carve_whole(&s, &whole.whole).unwrap();
        let item = ItemId(whole.whole.iter().position(|w| *w).unwrap() as u32);
        assert_eq!(carved.whole_items, 1);
        assert!(!carved.validation.is_empty());
        for (_, held) in &carved.validation {
            assert_eq!(held, &vec![item]);
        }
        let users = s.records.iter().filter(|r| r.item == item).count();
        assert_eq!(carved.validation.len(), users);
        assert_eq!(carved.snapshot.records.len(), s.records.len() - users);
        assert!(carved.snapshot.records.iter().all(|r| r.item != item));
        // Items 6-9 lose every interaction: 4 of 10 linked items are unplaced, so 4/10 of the
        // 6 with interactions (2) are held out whole.
        let warm = Snapshot {
            records: s.records.iter().filter(|r| r.item.0 < 6).copied().collect(),
            ..s.clone()
        };
        let whole = cold_target_items(&warm.matrix().unwrap(), &linked, 3);
        assert_eq!((whole.count, whole.unplaced), (2, 4));
        assert!(whole.whole[6..].iter().all(|w| !w));
    }

    #[test]
    fn a_share_of_each_user_with_enough_items_is_held_out_and_nothing_is_lost() {
        let s = snapshot(false);
        let carved = carve(&s, SplitKind::Random, 0.2, 5, &[]).unwrap();
        let held: Vec<(u32, usize)> = carved
            .validation
            .iter()
            .map(|(u, items)| (u.0, items.len()))
            .collect();
        assert_eq!(held, [(0, 2), (1, 1), (3, 1)]);
        assert_eq!(carved.share_users, 3);
        let total: usize = carved.validation.iter().map(|(_, i)| i.len()).sum();
        assert_eq!(carved.snapshot.records.len() + total, s.records.len());
        // Held-out pairs are not in training.
        for (u, items) in &carved.validation {
            for i in items {
                assert!(
                    !carved
                        .snapshot
                        .records
                        .iter()
                        .any(|r| r.user == *u && r.item == *i)
                );
            }
        }
        // Seeded: the same seed carves the same rows, another seed others.
        let again = carve(&s, SplitKind::Random, 0.2, 5, &[]).unwrap();
        assert_eq!(again.validation, carved.validation);
        let other: Vec<_> = (6..12)
            .map(|seed| {
                carve(&s, SplitKind::Random, 0.2, seed, &[])
                    .unwrap()
                    .validation
            })
            .collect();
        assert!(other.iter().any(|v| *v != carved.validation));
    }

    #[test]
    fn the_time_split_holds_out_the_latest_and_needs_timestamps() {
        // Item i has timestamp 100 - i: the latest are the smallest ids.
        let carved = carve(&snapshot(true), SplitKind::Time, 0.2, 0, &[]).unwrap();
        assert_eq!(
            carved.validation[0],
            (UserId(0), vec![ItemId(0), ItemId(1)])
        );
        let err = carve(&snapshot(false), SplitKind::Time, 0.2, 0, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--split time needs a timestamp"), "{err}");
        assert!(err.contains("\"u0\""), "{err}");
        assert!(carve(&snapshot(false), SplitKind::Random, 1.0, 0, &[]).is_err());
    }

    #[test]
    fn items_held_out_whole_give_every_interaction_to_validation() {
        let s = snapshot(false);
        // Items 0 and 1 whole: every user has them.
        let mut whole = vec![false; 10];
        whole[0] = true;
        whole[1] = true;
        let carved = carve(&s, SplitKind::Random, 0.2, 5, &whole).unwrap();
        assert_eq!(carved.whole_items, 2);
        // Only u0 keeps 5 items or more besides the whole ones: the others' rows are cold.
        assert_eq!(carved.share_users, 1);
        assert!(carved.snapshot.records.iter().all(|r| r.item.index() > 1));
        // u2 (4 items, 2 left) holds only its whole items; u1 (5, 3 left) too; u0 (10, 8 left)
        // and u3 (6, 4 left): u0 also a share of the rest.
        let by_user: Vec<(u32, Vec<u32>)> = carved
            .validation
            .iter()
            .map(|(u, items)| (u.0, items.iter().map(|i| i.0).collect()))
            .collect();
        for (u, items) in &by_user {
            assert!(items.starts_with(&[0, 1]), "{u}: {items:?}");
        }
        assert_eq!(
            by_user
                .iter()
                .map(|(u, i)| (*u, i.len()))
                .collect::<Vec<_>>(),
            [(0, 4), (1, 2), (2, 2), (3, 2)]
        );
        let total: usize = carved.validation.iter().map(|(_, i)| i.len()).sum();
        assert_eq!(carved.snapshot.records.len() + total, s.records.len());
    }
}
