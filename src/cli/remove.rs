//! `kgrec import interactions FILE --remove`: takes a file's (user, item) pairs back.

use std::fmt::Write as _;
use std::path::Path;

use kgrec::InteractionFile;
use kgrec::interactions::source::display_name;

use super::args::ImportInteractionsArgs;
use super::{notes, progress_bar};

/// Reads the file as `import interactions` reads it (format, columns, gzip, `-`), to the end
/// before the data directory is opened, then removes its pairs in one write; the summary counts
/// the pairs removed and those the store did not hold, naming the first few.
pub fn remove_interactions(
    data: &Path,
    args: &ImportInteractionsArgs,
    quiet: bool,
) -> kgrec::Result<()> {
    let format = super::models::interaction_format(args.format.as_deref(), "--format")?;
    let bar = progress_bar(quiet, 0, "{spinner} {wide_msg}");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar.set_message(format!("removing the pairs of {}", args.file.display()));
    let request = InteractionFile {
        file: args.file.clone(),
        format,
        link: None,
        link_columns: kgrec::interactions::LinkColumns::beside_interactions(None, None),
        min_rating: None,
        columns: args.read.columns(),
        delimiter: args.read.delimiter,
        rating_scale: None,
        time_unit: args.read.time_unit,
        events: None,
    };
    let removed = kgrec::engine::parse_interaction_file(&request).and_then(|parsed| {
        let engine = super::open_engine(data)?;
        engine.remove_parsed(parsed)
    });
    bar.finish_and_clear();
    let removed = removed?;
    notes(&removed.notes);
    let name = display_name(&args.file);
    let r = &removed.report;
    let mut not_found = format!("{} not found", r.not_found);
    if r.not_found > 0 {
        let named: Vec<String> = r
            .not_found_examples
            .iter()
            .map(|(u, i)| format!("{u} {i}"))
            .collect();
        let _ = write!(not_found, " ({}", named.join(", "));
        if r.not_found > named.len() as u64 {
            let _ = write!(not_found, " and {} more", r.not_found - named.len() as u64);
        }
        not_found.push_str(": no such stored interaction)");
    }
    let c = r.counts;
    super::summary(&format!(
        "removed {}: {} rows read, {} duplicates merged; {} interactions removed, {not_found}; \
         store: {} users, {} items, {} interactions, {} linked items ({:.2} s)\n",
        name.display(),
        removed.read,
        removed.merged,
        r.removed,
        c.users,
        c.items,
        c.interactions,
        c.linked,
        removed.seconds,
    ))
}
