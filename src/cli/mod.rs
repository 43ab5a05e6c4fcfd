//! The command line: arguments ([`args`]), one small adapter per command that calls the
//! library's [`kgrec::Engine`] and prints, progress bars on a terminal.
//!
//! Results go to stdout; progress bars go to stderr and only when both streams are terminals,
//! so that scripts and pipes see plain output; notes and warnings go to stderr.

pub mod args;
mod explain;
pub(crate) mod graph;
mod kge;
mod models;
mod remove;
mod tune;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kgrec::{Engine, Error, LabelLangs, OpenOptions, Result};

use args::{Cli, Command, ExportCommand, ImportCommand, KgeCommand};

/// Where the data directory is when neither `--data` nor `KGREC_DATA` names one.
pub const DEFAULT_DATA_DIR: &str = "./kgrec-data";

/// `--quiet`: nothing but results and errors, on either stream.
static QUIET: OnceLock<bool> = OnceLock::new();

fn quiet() -> bool {
    QUIET.get().copied().unwrap_or(false)
}

/// Whether the data directory came from `KGREC_DATA` rather than `--data` (clap's value
/// source, [`args::Cli::data_from_env`]).
static DATA_FROM_ENV: OnceLock<bool> = OnceLock::new();

fn data_from_env() -> bool {
    DATA_FROM_ENV.get().copied().unwrap_or(false)
}

/// A summary of what a command did (not its result): stdout, unless `--quiet`.
fn summary(text: &str) -> Result<()> {
    if quiet() { Ok(()) } else { emit(text) }
}

/// The summary of an output written by [`write_out`]: on standard output, unless the output
/// itself went there (`--out -`), where it would end the results with a line that is not one.
fn written_summary(written: &Written, text: &str) -> Result<()> {
    if written.reader_left {
        Ok(())
    } else if written.to_stdout {
        if !quiet() {
            eprint!("{text}");
        }
        Ok(())
    } else {
        summary(text)
    }
}

/// Where [`write_out`] wrote: the path as shown, and whether that is standard output.
pub(crate) struct Written {
    pub shown: String,
    pub to_stdout: bool,
    /// Standard output's reader went away before the end (`--out - | head`): not a failure,
    /// and nothing to report.
    pub reader_left: bool,
}

/// `--label-lang` (or `KGREC_LABEL_LANG`): the languages labels are shown in.
static LABEL_LANGS: OnceLock<LabelLangs> = OnceLock::new();

/// The languages labels are shown in (`--label-lang`; default English first).
pub(crate) fn label_langs() -> LabelLangs {
    LABEL_LANGS.get().cloned().unwrap_or_default()
}

/// How long to wait for a data directory another process holds (`--wait`).
static WAIT: OnceLock<Option<Duration>> = OnceLock::new();

fn wait() -> Option<Duration> {
    WAIT.get().copied().flatten()
}

/// Opens an existing data directory (waiting as `--wait` says).
pub(crate) fn open_engine(data: &Path) -> Result<Engine> {
    Engine::open_with(
        data,
        &OpenOptions {
            wait: wait(),
            ..OpenOptions::default()
        },
    )
}

/// Opens an existing data directory as a replica (waiting as `--wait` says, for a writer's
/// commit to end): writes are refused, and the directory is held only while its database is
/// copied, so that writers may run beside (`serve --read-only`).
pub(crate) fn open_replica(data: &Path) -> Result<Engine> {
    Engine::open_with(
        data,
        &OpenOptions {
            read_only: true,
            replica: true,
            wait: wait(),
            ..OpenOptions::default()
        },
    )
}

/// How long a reader without `--wait` waits for a holder that is not a `kgrec serve`
/// ([`open_reader`]; the README says so).
pub(crate) const READER_GRACE: Duration = Duration::from_secs(10);

/// A reader's wait for the directory at least this long is said ([`open_reader`]).
const READER_WAIT_SAID: Duration = Duration::from_secs(2);

/// Opens an existing data directory for reading only (waiting as `--wait` says): a directory
/// this process may not write (a read-only mount, `chmod -R a-w`) is read through a temporary
/// copy of its database, and nothing is written to it.
///
/// Without `--wait`, a holder that is not a `kgrec serve` (a `train` reading its inputs or
/// committing, an import, another reader) is waited for up to [`READER_GRACE`]: such holds
/// are short, and a reader failing half the time beside a `train` helps nobody. A wait longer
/// than [`READER_WAIT_SAID`] is said, naming the holder.
pub(crate) fn open_reader(data: &Path) -> Result<Engine> {
    clean_up_reader_on_interrupt(data);
    let options = OpenOptions {
        read_only: true,
        ..OpenOptions::default()
    };
    let engine = open_through_short_hold(
        data,
        &options,
        READER_GRACE,
        |_| {},
        |holder, waited| {
            if waited >= READER_WAIT_SAID {
                warn(&format!(
                    "note: waited {:.1} s for {holder} to let {} go",
                    waited.as_secs_f64(),
                    data.display()
                ));
            }
        },
    )?;
    if engine.reads_a_copy()? {
        warn(&format!(
            "note: {} is not writable by this process: reading a temporary copy of its database \
             (nothing is written to it)",
            data.display()
        ));
    }
    Ok(engine)
}

/// Opens `data` with `options`, waiting as `--wait` says; without `--wait`, a holder that is
/// not a `kgrec serve` (whose hold lasts until it is stopped) is waited for up to `grace`:
/// `train` holds the directory only while it reads its inputs and while it commits, an import
/// while it imports. `before` is told the holder (as a note shows it) before such a wait,
/// `after` the holder and how long the wait took.
pub(crate) fn open_through_short_hold(
    data: &Path,
    options: &OpenOptions,
    grace: Duration,
    before: impl FnOnce(&str),
    after: impl FnOnce(&str, Duration),
) -> Result<Engine> {
    let open = |wait| {
        Engine::open_with(
            data,
            &OpenOptions {
                wait,
                ..options.clone()
            },
        )
    };
    if let Some(w) = wait() {
        return open(Some(w));
    }
    match open(None) {
        Err(Error::InUse { pid, .. }) if !held_by_serve(&pid) => {
            let shown = holder_shown(&pid);
            before(&shown);
            let start = std::time::Instant::now();
            let opened = open(Some(grace))?;
            after(&shown, start.elapsed());
            Ok(opened)
        }
        other => other,
    }
}

/// Opens a data directory, creating it if missing; when `run` fails and the directory did not
/// exist before, it is removed again, so a command that fails leaves no directory behind.
/// An import's success names the directory written when the command line does not: a new
/// directory made (`./kgrec-data` without `--data`), or one that `KGREC_DATA` names (left set
/// from another project, it would take this project's data without a word).
fn with_new_engine<T>(data: &Path, run: impl FnOnce(&Engine) -> Result<T>) -> Result<T> {
    let existed = data.exists();
    let result = with_engine_made(data, run)?;
    match (existed, data_from_env()) {
        (false, true) => warn(&format!(
            "note: created the data directory {} (named by the environment variable KGREC_DATA)",
            data.display()
        )),
        (false, false) => warn(&format!(
            "note: created the data directory {}",
            data.display()
        )),
        (true, true) => warn(&format!(
            "note: wrote to the data directory {} (named by the environment variable KGREC_DATA; \
             --data DIR to choose another)",
            data.display()
        )),
        (true, false) => {}
    }
    Ok(result)
}

/// [`with_new_engine`] without its note (the demo says where its directory is itself).
fn with_engine_made<T>(data: &Path, run: impl FnOnce(&Engine) -> Result<T>) -> Result<T> {
    let existed = data.exists();
    // An empty folder given as the data directory is left empty again by a failure.
    let was_empty = existed && data.read_dir().is_ok_and(|mut d| d.next().is_none());
    // The outermost folder the open will create (`new/sub/data`: `new`), removed on failure
    // with everything under it, so that no parent folder is left behind either.
    let created = data
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
        .last()
        .map(Path::to_owned);
    let undo = match (existed, &created) {
        (false, Some(created)) => Some(Undo::Remove(created.clone())),
        (true, _) if was_empty => Some(Undo::Empty(data.to_owned())),
        _ => None,
    };
    // A Ctrl-C before the write returns undoes the creation too, from the moment the open
    // begins (`say_where_an_interrupt_leaves`), but only once this process holds the directory's
    // lock: the loser of a race for a new data directory leaves the winner's alone.
    if let Ok(mut pending) = PENDING_UNDO.lock() {
        *pending = undo.clone().map(|u| (u, data.to_owned()));
    }
    let opened = match &undo {
        Some(_) => open_first(data),
        None => Engine::open_with(
            data,
            &OpenOptions {
                create: true,
                wait: wait(),
                ..OpenOptions::default()
            },
        ),
    };
    // Only a directory this process holds is taken back: the loser of a race for a new data
    // directory (two first imports at once) fails as "in use" and leaves the winner's alone.
    let undo = match &opened {
        Err(Error::InUse { .. }) => None,
        _ => undo,
    };
    if undo.is_none()
        && let Ok(mut pending) = PENDING_UNDO.lock()
    {
        *pending = None;
    }
    let result = opened.and_then(|engine| run(&engine));
    {
        // A Ctrl-C handler that has begun taking the directory back holds this until the
        // process exits (130): a run that ended meanwhile waits for that exit rather than end
        // (0) as though its write were kept. A handler that comes later finds no undo.
        let _settled = first_open();
        if let Ok(mut pending) = PENDING_UNDO.lock() {
            *pending = None;
        }
    }
    if result.is_err()
        && let Some(undo) = undo
    {
        undo.apply();
    }
    result
}

/// Held by a first open of a new (or empty) data directory, and by a Ctrl-C handler before it
/// takes the directory back: the handler then finds no directory made, or one made whole and
/// locked by this process, never one half made, nor one the open makes again (sled's folders)
/// after the handler removed it. Taken before the list of [`kgrec::kg::fsutil`]'s temporary
/// files, in the handlers as in the open (whose writes take that list).
static FIRST_OPEN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn first_open() -> std::sync::MutexGuard<'static, ()> {
    FIRST_OPEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens a new (or empty) data directory under [`FIRST_OPEN`], each try in one hold of it;
/// while another process holds the directory, waits as `--wait` says, between the tries (so
/// that a Ctrl-C meanwhile is not kept waiting).
fn open_first(data: &Path) -> Result<Engine> {
    let deadline = wait().map(|w| std::time::Instant::now() + w);
    loop {
        let opened = {
            let _held = first_open();
            Engine::open_with(
                data,
                &OpenOptions {
                    create: true,
                    ..OpenOptions::default()
                },
            )
        };
        match opened {
            Err(Error::InUse { .. }) if deadline.is_some_and(|d| std::time::Instant::now() < d) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(Error::InUse { dir, pid, .. }) => {
                return Err(Error::InUse {
                    dir,
                    pid,
                    waited: wait(),
                });
            }
            other => return other,
        }
    }
}

/// How to take back a data directory a failed first write created.
#[derive(Clone, Debug)]
enum Undo {
    /// Remove this folder (the outermost one the open created) with everything under it.
    Remove(PathBuf),
    /// Empty this folder, which was empty before.
    Empty(PathBuf),
}

impl Undo {
    fn apply(&self) {
        match self {
            Self::Remove(dir) if dir.is_dir() => {
                let _ = kgrec::kg::fsutil::remove_tree(dir);
            }
            Self::Empty(dir) => {
                for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    let _ = match path.is_dir() && !path.is_symlink() {
                        true => kgrec::kg::fsutil::remove_tree(&path),
                        false => std::fs::remove_file(&path),
                    };
                }
            }
            Self::Remove(_) => {}
        }
    }

    /// What [`Undo::apply`] did, for a message.
    fn describe(&self) -> String {
        match self {
            Self::Remove(dir) => format!("{} was removed", dir.display()),
            Self::Empty(dir) => format!("{} is empty again", dir.display()),
        }
    }
}

/// The undo of a first write under way, and the data directory whose lock it needs to hold.
static PENDING_UNDO: std::sync::Mutex<Option<(Undo, PathBuf)>> = std::sync::Mutex::new(None);

/// For the Ctrl-C handler: the undo of the first write under way, if this process holds its
/// data directory (the loser of a race for a new directory leaves the winner's alone).
fn take_pending_undo() -> Option<Undo> {
    PENDING_UNDO
        .lock()
        .ok()
        .and_then(|mut p| p.take())
        .filter(|(_, data)| kgrec::datadir::held_by_this_process(data))
        .map(|(undo, _)| undo)
}

/// The checkpoint of an `import kg --endpoint` fetch under way, for the Ctrl-C message.
static FETCH_CHECKPOINT: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// Records (or clears) the checkpoint of a fetch under way.
fn set_fetch_checkpoint(dir: Option<&Path>) {
    if let Ok(mut c) = FETCH_CHECKPOINT.lock() {
        *c = dir.map(Path::to_owned);
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let quiet = cli.quiet;
    let _ = QUIET.set(quiet);
    let _ = DATA_FROM_ENV.set(cli.data_from_env);
    if let Some(langs) = &cli.label_lang {
        let _ = LABEL_LANGS.set(langs.clone());
    }
    if let Some(seconds) = cli.wait {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(Error::BadInput(format!(
                "--wait {seconds}: expected a number of seconds of at least 0"
            )));
        }
        let _ = WAIT.set(Some(Duration::from_secs_f64(seconds)));
    }
    if let Some((name, works)) = data_blind(&cli.command) {
        // Given on the command line (an exported KGREC_DATA is for the other commands).
        let from_env = std::env::var_os("KGREC_DATA").map(PathBuf::from);
        if cli.data.is_some() && cli.data != from_env {
            warn(&format!(
                "note: {name} {works} and leaves the data directory alone: --data is not used"
            ));
        }
        if cli.wait.is_some() {
            warn(&format!(
                "note: {name} holds no data directory, so there is nothing to wait for: --wait \
                 is not used"
            ));
        }
    }
    let data = cli
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    if let Some(name) = data_writer(&cli.command) {
        say_where_an_interrupt_leaves(name, &data);
    } else if let Some((name, out)) = output_writer(&cli.command) {
        clean_up_on_interrupt(name, out);
    }
    // The demo leaves a data directory the environment names alone (it is a user's, set for
    // the other commands): it works in a temporary one, as without the variable.
    let demo_data = match (&cli.command, cli.data_from_env) {
        (Command::Demo(_), true) => {
            warn(&format!(
                "note: the demo leaves KGREC_DATA's data directory {} alone and works in a \
                 temporary one (named below); pass --data DIR to keep the demo's data",
                data.display()
            ));
            None
        }
        _ => cli.data.clone(),
    };
    if matches!(cli.command, Command::Demo(_)) {
        clean_up_demo_on_interrupt(demo_data.clone());
    }
    match cli.command {
        Command::Import(ImportCommand::Kg(args)) => graph::import_kg(&data, &args, quiet),
        Command::Stats(args) => graph::stats(&data, &args),
        Command::Sparql(args) => graph::sparql(&data, &args),
        Command::Demo(args) => graph::demo(demo_data.as_deref(), &args),
        Command::Import(ImportCommand::Interactions(args)) if args.remove => {
            remove::remove_interactions(&data, &args, quiet)
        }
        Command::Import(ImportCommand::Interactions(args)) => {
            models::import_interactions(&data, &args, quiet)
        }
        Command::Import(ImportCommand::Links(args)) => models::import_links(&data, &args),
        Command::Train(args) => models::train(&data, &args, quiet).map_err(in_flag_words),
        Command::Tune(args) => tune::tune(&data, &args, quiet).map_err(in_flag_words),
        Command::Use(args) => models::use_version(&data, &args),
        Command::Recommend(args) => models::recommend(&data, &args),
        Command::Explain(args) => explain::explain(&data, &args),
        Command::Eval(args) => models::eval(&args, quiet).map_err(in_flag_words),
        Command::Kge(KgeCommand::Train(args)) => {
            // kge uses no data directory, but must not write into one either.
            if let Some(out) = &args.out {
                refuse_inside_data_dir(out, &data)?;
            }
            kge::kge_train(&args, quiet)
        }
        Command::Kge(KgeCommand::Eval(args)) => kge::kge_eval(&args),
        Command::Export(ExportCommand::Embeddings(args)) => models::export_embeddings(&data, &args),
        Command::Similar(args) => models::similar(&data, &args),
        Command::Predict(args) => models::predict(&data, &args),
        Command::Serve(args) => crate::server::serve(&data, &args),
        Command::SparqlWorker(args) => crate::server::worker::run(&args),
    }
}

/// The name of a command that writes the data directory.
fn data_writer(command: &Command) -> Option<&'static str> {
    match command {
        Command::Import(ImportCommand::Kg(_)) => Some("import kg"),
        Command::Import(ImportCommand::Interactions(_)) => Some("import interactions"),
        Command::Import(ImportCommand::Links(_)) => Some("import links"),
        Command::Train(_) => Some("train"),
        Command::Tune(_) => Some("tune"),
        Command::Use(_) => Some("use"),
        _ => None,
    }
}

/// Whether the running command has begun writing the data directory (`train` and `tune` from
/// when they store their result, the other writers from their start): a Ctrl-C before then
/// says nothing was written.
static WRITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs `write` marked as writing the data directory ([`WRITING`]).
pub(super) fn writing<T>(write: impl FnOnce() -> T) -> T {
    WRITING.store(true, std::sync::atomic::Ordering::SeqCst);
    write()
}

/// On Ctrl-C (SIGINT), says before exiting (130, as the shell's own) what the interrupted
/// write left: a write commits whole or not at all, and near its end it may have committed
/// before the signal came. Without this the process ended silently, and an import that had
/// committed looked lost.
fn say_where_an_interrupt_leaves(name: &'static str, data: &Path) {
    let path = data.to_owned();
    let data = data.display().to_string();
    // `train` and `tune` write only at their end (`writing`); the imports write as they go.
    if !matches!(name, "train" | "tune") {
        WRITING.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    // Not installed (another handler, a platform without signals): the default, silent exit.
    let _ = ctrlc::set_handler(move || {
        // Held until the exit: no first open is under way, and none starts.
        let _opening = first_open();
        // Held until the exit: no temporary file is made or committed meanwhile.
        let (_, _held) = kgrec::kg::fsutil::clean_up_for_exit();
        if let Some(dir) = FETCH_CHECKPOINT.lock().ok().and_then(|c| c.clone()) {
            eprintln!(
                "\ninterrupted: what was fetched from the endpoint is kept in {} (the same \
                 command continues from there)",
                dir.display()
            );
        }
        match take_pending_undo() {
            Some(undo) => {
                undo.apply();
                eprintln!(
                    "\ninterrupted: `{name}` was the first write into {data}, and nothing of it \
                     is kept: {}",
                    undo.describe()
                );
            }
            // A first write interrupted before its open: no directory was made.
            None if !WRITING.load(std::sync::atomic::Ordering::SeqCst) || !path.exists() => {
                eprintln!("\ninterrupted: `{name}` had written nothing yet, so {data} is as it was")
            }
            None => eprintln!(
                "\ninterrupted: {data} holds all of what `{name}` was writing or none of it \
                 (writes commit whole); `kgrec --data {data} stats` shows which"
            ),
        }
        std::process::exit(130);
    });
}

/// A command that writes files outside the data directory (`--out`, a temporary data
/// directory), what it writes, and whether it replaces a user-named output.
fn output_writer(command: &Command) -> Option<(&'static str, Option<&Path>)> {
    match command {
        Command::Recommend(args) => args.out.as_deref().map(|out| ("recommend", Some(out))),
        Command::Export(ExportCommand::Embeddings(args)) => {
            Some(("export embeddings", Some(args.out.as_path())))
        }
        Command::Kge(KgeCommand::Train(args)) => {
            args.out.as_deref().map(|out| ("kge train", Some(out)))
        }
        Command::Eval(_) => Some(("eval", None)),
        _ => None,
    }
}

/// On Ctrl-C (SIGINT) during a command that writes files outside the data directory: removes
/// its temporary files and folders (an unfinished `--out`, `eval`'s temporary data directory)
/// and says so before exiting (130). Without this the signal ended the process and left them.
fn clean_up_on_interrupt(name: &'static str, out: Option<&Path>) {
    let out = out
        .filter(|out| *out != Path::new("-"))
        .map(|out| out.display().to_string());
    let _ = ctrlc::set_handler(move || {
        // Held until the exit: no temporary file is made or committed meanwhile.
        let (removed, _held) = kgrec::kg::fsutil::clean_up_for_exit();
        match &out {
            Some(out) if removed > 0 => eprintln!(
                "\ninterrupted: `{name}` had not finished writing {out}, and nothing of it is \
                 kept: {out} is as it was"
            ),
            Some(out) => eprintln!(
                "\ninterrupted: `{name}` stopped; {out} is as it was, or whole if its write had \
                 just finished"
            ),
            None => eprintln!(
                "\ninterrupted: `{name}` stopped, and nothing of it is kept (its temporary files \
                 are removed)"
            ),
        }
        std::process::exit(130);
    });
}

/// On Ctrl-C (SIGINT) during a command that only reads `data`: removes the temporary copy of
/// its database a reader of a directory it may not write takes (see [`open_reader`]), from the
/// moment the copy begins, and exits (130). Nothing else is left to tidy, so without a copy it
/// exits silently, as the signal's default would. A command that set its own handler before
/// (`recommend --out`, `export embeddings`) keeps it: that one removes the copy too.
fn clean_up_reader_on_interrupt(data: &Path) {
    let data = data.display().to_string();
    let _ = ctrlc::set_handler(move || {
        // Held until the exit: no temporary file is made or committed meanwhile.
        let (removed, _held) = kgrec::kg::fsutil::clean_up_for_exit();
        if removed > 0 {
            eprintln!(
                "\ninterrupted: {data} was only read, and the temporary copy of its database is \
                 removed"
            );
        }
        std::process::exit(130);
    });
}

/// Whether `demo` has stored its whole data directory (the import and the training): a
/// Ctrl-C after that leaves a `--data` directory as it is, complete.
static DEMO_STORED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// On Ctrl-C (SIGINT) during `demo`: removes its temporary folder (the fixtures it writes out,
/// and its data directory when `--data` is not given), and takes back a `--data` directory it
/// had not finished (the first write's undo, as for an import), then says which and exits
/// (130). A `--data` directory is thus absent (or empty, as it was) or complete, never half.
fn clean_up_demo_on_interrupt(data: Option<PathBuf>) {
    let _ = ctrlc::set_handler(move || {
        // Held until the exit: no first open is under way, and none starts.
        let _opening = first_open();
        // Held until the exit: no temporary file is made or committed meanwhile.
        let (_, _held) = kgrec::kg::fsutil::clean_up_for_exit();
        let undo = take_pending_undo();
        if let Some(undo) = &undo {
            undo.apply();
        }
        let stored = DEMO_STORED.load(std::sync::atomic::Ordering::SeqCst);
        match (&data, undo) {
            (None, _) => eprintln!(
                "\ninterrupted: `demo` stopped, and its temporary data directory is removed"
            ),
            (Some(data), Some(undo)) => eprintln!(
                "\ninterrupted: `demo` had not finished importing and training into {}, and \
                 nothing of it is kept: {}",
                data.display(),
                undo.describe()
            ),
            (Some(data), None) if stored => eprintln!(
                "\ninterrupted: `demo` stopped after its import and training, so {} is complete",
                data.display()
            ),
            (Some(data), None) => eprintln!(
                "\ninterrupted: `demo` had written nothing yet, so {} is as it was",
                data.display()
            ),
        }
        std::process::exit(130);
    });
}

/// A command that reads and writes no data directory, and what it works on instead.
fn data_blind(command: &Command) -> Option<(&'static str, &'static str)> {
    let benchmark = "works on the benchmark folder given by --dataset";
    match command {
        Command::Eval(_) => Some(("eval", "trains in a temporary directory")),
        Command::Kge(KgeCommand::Train(_)) => Some(("kge train", benchmark)),
        Command::Kge(KgeCommand::Eval(_)) => Some(("kge eval", benchmark)),
        _ => None,
    }
}

/// A hyper-parameter out of range, in the words of the command line: `--epochs 0: at least 1`
/// rather than the learner's `invalid iterations = 0`.
fn in_flag_words(error: Error) -> Error {
    let Error::Fit(kgrec::cf::FitError::Params(p)) = &error else {
        return error;
    };
    let flag = match p.name {
        "factors" => "--dim",
        "iterations" => "--epochs",
        "regularization" => "--reg",
        "alpha" => "--alpha",
        "learning_rate" => "--lr",
        "kg_weight" => "--kg-weight",
        "neighbour_weight" => "--neighbour-weight",
        "cold_scale" => "--cold-scale",
        "cold_neighbours" => "--cold-neighbours",
        "neighbours" => "--neighbours",
        "shrink" => "--shrink",
        "warmup" => {
            return Error::BadInput(format!(
                "--epochs: cke needs more than {0} epochs (its first {0} are plain ALS sweeps \
                 that place the items before the graph joins)",
                p.value
            ));
        }
        _ => return error,
    };
    Error::BadInput(format!("{flag} {}: expected {}", p.value, p.expected))
}

/// A progress bar on stderr when both streams are terminals and `--quiet` is not given.
fn progress_bar(quiet: bool, length: u64, template: &str) -> ProgressBar {
    if quiet || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The error and its causes, each said once: most messages already quote their cause (`PATH:
/// CAUSE`), and printing the chain as well said "Permission denied (os error 13): Permission
/// denied (os error 13)".
pub(crate) fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// A warning on stderr (not with `--quiet`).
pub(crate) fn warn(text: &str) {
    if !quiet() {
        eprintln!("{text}");
    }
}

/// A warning that qualifies the result itself (its order is near-arbitrary), on stderr even
/// with `--quiet`, as errors are: a quiet run's results must not read as meaningful when
/// they are not.
pub(crate) fn caveat(text: &str) {
    eprintln!("{text}");
}

/// Writes command output to stdout; a reader that went away (`kgrec ... | head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.map_err(|e| Error::io("<stdout>", e)),
    }
}

/// Writes a user-named output file (`--out`): `-` is stdout, a special file or a link to one
/// is written through, a symlink keeps being a link, a regular file or a new path is replaced
/// whole (`kgrec_kg::fsutil`); a file that holds something other than a kgrec output only
/// with `force`. Returns the path written, for the summary.
fn write_out(
    (out, kind): (&Path, OutKind),
    force: bool,
    data: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Written> {
    refuse_inside_data_dir(out, data)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && out != Path::new("-")
        && !parent.is_dir()
    {
        return Err(Error::BadInput(format!(
            "--out {}: {} {}",
            out.display(),
            parent.display(),
            if parent.exists() {
                "is a file, not a folder"
            } else {
                "does not exist (kgrec creates the file, not its folder)"
            }
        )));
    }
    use kgrec::kg::fsutil::{FsError, OutputTarget};
    let fs_error = |e: FsError| Error::Kg(e.into());
    let target = kgrec::kg::fsutil::resolve_output(out).map_err(fs_error)?;
    // A symbolic link to a path in a folder that does not exist (a dangling link).
    if let OutputTarget::Atomic(path) = &target
        && let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(Error::BadInput(format!(
            "--out {}: it leads to {}, whose folder {} does not exist (kgrec creates the file, \
             not its folder)",
            out.display(),
            path.display(),
            folder.display()
        )));
    }
    // Only a file the output replaces or overwrites: standard output and the process's own
    // descriptors (`/dev/stdout` redirected to a file) are written through as opened.
    let replaced = match &target {
        OutputTarget::Atomic(path) => foreign_file(path, kind),
        OutputTarget::Direct(path) if !path.starts_with("/dev") && !path.starts_with("/proc") => {
            foreign_file(path, kind)
        }
        _ => None,
    };
    if let Some(bytes) = replaced
        && !force
    {
        return Err(Error::BadInput(format!(
            "--out {}: that file holds {bytes} bytes that are not a kgrec output of this kind \
             ({}; an input file? another program's?), and writing would replace them: write \
             elsewhere, or pass --force to replace it",
            out.display(),
            kind.name()
        )));
    }
    let to_stdout = matches!(target, OutputTarget::Stdout);
    let shown = if to_stdout {
        "standard output".to_owned()
    } else {
        target.path().display().to_string()
    };
    let mut file = target.open().map_err(fs_error)?;
    // Standard output's reader going away (`--out - | head`) ends the output, quietly.
    let broken = |e: &std::io::Error| to_stdout && e.kind() == std::io::ErrorKind::BrokenPipe;
    // A name ending in `.gz` is written gzip-compressed, as its readers (zcat, pandas) expect.
    let gzip = !to_stdout && is_gzip_name(out);
    let reader_left = match gzip_if(gzip, &mut file, write) {
        Err(e) if broken(&e) => true,
        written => {
            written.map_err(|e| Error::io(out, e))?;
            match file.commit() {
                Err(FsError::Io { source, .. }) if broken(&source) => true,
                committed => {
                    committed.map_err(fs_error)?;
                    false
                }
            }
        }
    };
    if let Some(bytes) = replaced {
        warn(&format!(
            "note: --out {}: replaced (--force) a file of {bytes} bytes that was not a kgrec \
             output of this kind ({})",
            out.display(),
            kind.name()
        ));
    }
    Ok(Written {
        shown,
        to_stdout,
        reader_left,
    })
}

/// What a batch `--out` file holds: which kgrec output an existing file there may be to be
/// replaced without `--force`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutKind {
    /// `recommend --all-users`: TSV with the header `user_id, item_id, rank, score`.
    Batch,
    /// `recommend --all-users --explain`: one explanation JSON object per line.
    Explained,
}

impl OutKind {
    fn name(self) -> &'static str {
        match self {
            OutKind::Batch => "recommendations TSV (header user_id, item_id, rank, score)",
            OutKind::Explained => "explanation JSON lines (recommend --all-users --explain)",
        }
    }
}

/// The size of the regular file at `out` when it holds something other than a kgrec output of
/// `kind`: a batch file's header, or a first line that is an explanation object (`user`,
/// `items`). Any other file, JSON or not, is someone's: replaced only with `--force`.
fn foreign_file(out: &Path, kind: OutKind) -> Option<u64> {
    use std::io::{BufRead, Read};
    let meta = std::fs::metadata(out).ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    let file = std::fs::File::open(out).ok()?;
    let reader: Box<dyn Read> = if is_gzip_name(out) {
        // An earlier kgrec output there was compressed: its text is what tells.
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    // The first line (an explanation of many items with paths is long, but not this long).
    let mut line = Vec::new();
    let _ = std::io::BufReader::new(reader.take(16 << 20)).read_until(b'\n', &mut line);
    let ours = match kind {
        OutKind::Batch => line.starts_with(b"user_id\titem_id\trank\tscore"),
        OutKind::Explained => serde_json::from_slice::<serde_json::Value>(&line)
            .is_ok_and(|v| v.get("user").is_some_and(|u| u.is_string()) && v["items"].is_array()),
    };
    (!ours).then_some(meta.len())
}

/// Whether an output named `out` is to be gzip-compressed: its name ends in `.gz`.
fn is_gzip_name(out: &Path) -> bool {
    out.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Runs `write` on `file`, through a gzip encoder when `gzip`.
fn gzip_if(
    gzip: bool,
    file: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if !gzip {
        return write(file);
    }
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    write(&mut encoder)?;
    encoder.finish().map(drop)
}

/// `out` made absolute, symbolic links resolved as far as the path exists (the rest, not yet
/// created, joined as given); a dangling link is followed to where it points, through a chain
/// of links, since writing through it creates its target there. `None` when no part of it
/// resolves, or the links loop.
fn resolve_partly(out: &Path) -> Option<PathBuf> {
    /// As many links as the kernel follows before ELOOP.
    const MAX_LINKS: usize = 40;
    resolve_partly_within(out, MAX_LINKS)
}

fn resolve_partly_within(out: &Path, links_left: usize) -> Option<PathBuf> {
    let mut rest = Vec::new();
    let mut at = out;
    loop {
        let probe = if at.as_os_str().is_empty() {
            Path::new(".")
        } else {
            at
        };
        let base = match probe.canonicalize() {
            Ok(found) => Some(found),
            Err(_) if std::fs::symlink_metadata(probe).is_ok_and(|m| m.is_symlink()) => {
                // A dangling link: resolve where it points (relative to its own folder).
                let link = std::fs::read_link(probe).ok()?;
                let target = probe
                    .parent()
                    .map_or_else(|| link.clone(), |dir| dir.join(&link));
                Some(resolve_partly_within(&target, links_left.checked_sub(1)?)?)
            }
            Err(_) => None,
        };
        if let Some(found) = base {
            return Some(rest.iter().rev().fold(found, |path, name| path.join(name)));
        }
        rest.push(at.file_name()?.to_owned());
        at = at.parent()?;
    }
}

/// Refuses an output that lands inside the data directory, or inside any other kgrec data
/// directory (directly or through symlinks; `--force` does not change it): it would overwrite
/// the store's own files.
fn refuse_inside_data_dir(out: &Path, data: &Path) -> Result<()> {
    if out == Path::new("-") {
        return Ok(());
    }
    let Some(resolved) = resolve_partly(out) else {
        return Ok(());
    };
    let data = data.canonicalize().ok();
    if let Some(data) = data.as_ref().filter(|data| resolved.starts_with(data)) {
        return Err(Error::BadInput(format!(
            "--out {}: that is inside the data directory {} ({}), whose files it would overwrite; \
             write the output elsewhere",
            out.display(),
            data.display(),
            resolved.display()
        )));
    }
    refuse_inside_any_data_dir(out, &resolved)?;
    let Some(data) = data else {
        return Ok(());
    };
    // A file with several hard links is written in place: one of them may be a store file.
    if let Ok(meta) = std::fs::metadata(&resolved) {
        use std::os::unix::fs::MetadataExt;
        if meta.is_file()
            && meta.nlink() > 1
            && let Some(twin) = same_file_under(&data, (meta.dev(), meta.ino()))
        {
            return Err(Error::BadInput(format!(
                "--out {}: that file is a hard link of {}, a file of the data directory, which \
                 writing it would overwrite; write the output elsewhere",
                out.display(),
                twin.display()
            )));
        }
    }
    Ok(())
}

/// Refuses an output whose resolved path `resolved` is, or lies inside, a kgrec data directory
/// (any, not only the one `--data` names): `--force` does not change it.
fn refuse_inside_any_data_dir(out: &Path, resolved: &Path) -> Result<()> {
    let Some(store) = kgrec::datadir::enclosing_data_dir(resolved) else {
        return Ok(());
    };
    Err(Error::BadInput(if store == resolved {
        format!(
            "--out {}: is a kgrec data directory; an output goes into a file or folder of its \
             own, outside any data directory",
            out.display()
        )
    } else {
        format!(
            "--out {}: that is inside {}, a kgrec data directory ({}), whose files it would \
             overwrite (--force does not change this); write the output elsewhere",
            out.display(),
            store.display(),
            resolved.display()
        )
    }))
}

/// The file under `dir` (recursively, symbolic links not followed) with this device and inode.
fn same_file_under(dir: &Path, id: (u64, u64)) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            if let Some(found) = same_file_under(&entry.path(), id) {
                return Some(found);
            }
        } else if meta.is_file() && (meta.dev(), meta.ino()) == id {
            return Some(entry.path());
        }
    }
    None
}

/// An `--out` that names a folder of files (an embedding export): `-` cannot be one.
/// Checks `--out` of an embedding export before anything is trained or written, and returns the
/// files of an earlier export it will replace ([`kgrec::kg::embed::check_export_dir`]: links,
/// special files and someone else's files are refused, the last unless `force`).
fn folder_out(out: &Path, force: bool) -> Result<Vec<&'static str>> {
    if out == Path::new("-") {
        return Err(Error::BadInput(
            "--out -: an embedding export is a folder (entities.tsv, relations.tsv, meta.json), \
             not a stream; give a folder"
                .to_owned(),
        ));
    }
    if out.exists() && !out.is_dir() {
        return Err(Error::BadInput(format!(
            "--out {}: is a file, not a folder; an embedding export is a folder (entities.tsv, \
             relations.tsv, meta.json): give a folder, new or existing",
            out.display()
        )));
    }
    if let Some(resolved) = resolve_partly(out) {
        refuse_inside_any_data_dir(out, &resolved)?;
    }
    if !out.is_dir() {
        return Ok(Vec::new());
    }
    // Links and special files under the export's names first: refused even with --force.
    let present = kgrec::kg::embed::check_export_dir(out, force)
        .map_err(|e| Error::BadInput(e.to_string()))?;
    // A folder of someone's files gets the export mixed in only when they say so.
    let held: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| Error::io(out, e))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !kgrec::kg::fsutil::is_leftover_temp(std::ffi::OsStr::new(name)))
        .collect();
    if !held.is_empty() && !force && !kgrec::kg::embed::is_export_dir(out) {
        let mut shown: Vec<&str> = held.iter().map(String::as_str).collect();
        shown.sort_unstable();
        shown.truncate(3);
        return Err(Error::BadInput(format!(
            "--out {}: the folder is not empty ({} entr{}: {}{}) and holds no earlier embedding \
             export (its meta.json): export into a new or empty folder, or pass --force to add \
             the export files beside what is there",
            out.display(),
            held.len(),
            if held.len() == 1 { "y" } else { "ies" },
            shown.join(", "),
            if held.len() > 3 { ", ..." } else { "" }
        )));
    }
    Ok(present)
}

/// The files of an embedding export now in `dir`, for the summary.
fn export_files(dir: &Path) -> Vec<&'static str> {
    kgrec::kg::embed::EXPORT_FILES
        .into_iter()
        .filter(|name| dir.join(name).is_file())
        .collect()
}

/// What an export did to the files an earlier export left in `dir` (`before`): those it wrote
/// again were replaced, the others (an earlier model's extra files) removed.
fn export_replaced_note(dir: &Path, before: &[&'static str]) {
    if before.is_empty() {
        return;
    }
    let (replaced, removed): (Vec<&str>, Vec<&str>) =
        before.iter().partition(|name| dir.join(name).is_file());
    let mut said = Vec::new();
    if !replaced.is_empty() {
        said.push(format!("replaced {}", replaced.join(", ")));
    }
    if !removed.is_empty() {
        said.push(format!(
            "removed {} (this export does not write them)",
            removed.join(", ")
        ));
    }
    warn(&format!(
        "note: {} held an earlier export: {}",
        dir.display(),
        said.join("; ")
    ));
}

/// A validation figure to four places; a trial that failed (collapsed, diverged, refused)
/// scores minus infinity, printed as `failed`.
fn figure(value: f64) -> String {
    kgrec::metrics::figure(value)
}

/// Pretty JSON with a final newline.
fn json_text(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| Error::Internal {
            what: format!("output does not serialise as JSON: {e}"),
        })
}

/// Notes of the library for the user, on stderr (not with `--quiet`); one that starts
/// `warning: ` is printed as a warning.
fn notes(notes: &[String]) {
    let mut stderr = std::io::stderr().lock();
    for note in notes {
        // A warning says the result means little (a collapsed model, a model below
        // popularity): kept under --quiet, as errors are; notes are not.
        let _ = match note.starts_with("warning: ") {
            true => writeln!(stderr, "{note}"),
            false if quiet() => Ok(()),
            false => writeln!(stderr, "note: {note}"),
        };
    }
}

/// The note for a model trained before the latest interactions.
fn stale_note(model: &kgrec::store::ModelHeader) {
    if quiet() {
        return;
    }
    eprintln!(
        "note: interactions or links changed after model v{} was trained (imports, removals \
         or HTTP posts); it does not know the changes yet (run `kgrec train`)",
        model.version
    );
}

/// When the data directory came from `KGREC_DATA` (no `--data` on the command line) and
/// `error` names it: a note saying so, since the command line shows no path.
pub fn data_from_env_note(error: &Error) -> Option<String> {
    let from_env = std::env::var_os("KGREC_DATA").filter(|_| data_from_env())?;
    let shown = Path::new(&from_env).display().to_string();
    error_text(error).contains(&shown).then(|| {
        format!(
            "note: the data directory {shown} comes from the environment variable KGREC_DATA \
             (no --data was given): point KGREC_DATA at the right directory, unset it, or pass \
             --data DIR"
        )
    })
}

/// What to do about a data directory process `pid` holds: when it is a `kgrec serve` (Linux:
/// its command line in `/proc`), its HTTP API is the way in while it runs.
pub fn in_use_hint(pid: &str, waited: Option<std::time::Duration>) -> String {
    match holder(pid) {
        // A replica copies the directory under a shared lock, which a writable server never
        // gives up while it runs (its database is open for writing: a copy taken beside it
        // could be torn). docs/http.md, "Read-only servers".
        Holder::Serve(_) if replica_asked() => format!(
            "hint: process {pid} is a writable `kgrec serve`, which holds the directory until it \
             stops, so a read-only replica cannot take its copy beside it: start replicas before \
             the writable server (each lets the directory go once its copy is taken), or stop \
             the writable server (SIGTERM: it finishes its writes), start the replica, then \
             start the writable server again (docs/http.md, \"Read-only servers\")"
        ),
        Holder::Serve(Some(addr)) => format!(
            "hint: process {pid} is `kgrec serve` on http://{addr}: while it runs, use its HTTP \
             API (docs/http.md; e.g. `curl http://{addr}/v1/models`), or stop it (SIGTERM) to \
             use this command"
        ),
        Holder::Serve(None) => format!(
            "hint: process {pid} is `kgrec serve`: while it runs, use its HTTP API (docs/http.md; \
             the address is the one it printed when it started), or stop it (SIGTERM) to use \
             this command"
        ),
        Holder::Other(Some(command)) if waited.is_some() => format!(
            "hint: process {pid} is `kgrec {command}`{}, and it did not let the directory go in \
             time: wait longer (--wait SECONDS; a bare --wait is 600)",
            short_hold(&command)
        ),
        Holder::Other(Some(command)) => format!(
            "hint: process {pid} is `kgrec {command}`{}: wait for it (--wait SECONDS)",
            short_hold(&command)
        ),
        Holder::Other(None) if waited.is_some() => {
            "hint: it did not finish in time: wait longer (--wait SECONDS; a bare --wait is 600)"
                .to_owned()
        }
        Holder::Other(None) => "hint: wait for it to finish (--wait SECONDS)".to_owned(),
        Holder::Unknown => "hint: if that process is a `kgrec serve`, use its HTTP API while it \
                            runs (docs/http.md); otherwise wait for it (--wait SECONDS)"
            .to_owned(),
    }
}

/// Whether this process was asked to be a read-only server (`serve --read-only`).
fn replica_asked() -> bool {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    args.iter().any(|a| a == "serve") && args.iter().any(|a| a == "--read-only")
}

/// Whether process `pid` (the holder of a data directory) is a `kgrec serve`, which does not
/// release the directory until it is stopped.
pub(crate) fn held_by_serve(pid: &str) -> bool {
    matches!(holder(pid), Holder::Serve(_))
}

/// What holds a data directory.
enum Holder {
    /// `kgrec serve`, on this address (`None`: it chose its port itself).
    Serve(Option<String>),
    /// Another command: its (sub)command words, `train`, `import interactions` (`None`: not
    /// a kgrec command line this can read).
    Other(Option<String>),
    /// Nothing can tell (no `/proc`, or the process is gone).
    Unknown,
}

/// The kgrec (sub)command of a command line (`train`, `import kg`, `kge train`): the first
/// argument that names a command, and the next one when it names one of its subcommands.
fn command_of(args: &[String]) -> Option<String> {
    use clap::CommandFactory;
    let cli = args::Cli::command();
    let mut rest = args.iter().skip(1);
    let top = rest.find_map(|a| cli.find_subcommand(a))?;
    let mut words = top.get_name().to_owned();
    if let Some(sub) = rest.next().and_then(|a| top.find_subcommand(a)) {
        words.push(' ');
        words.push_str(sub.get_name());
    }
    Some(words)
}

/// What a command's hold of the data directory is like, for a hint: a `train` holds it only
/// while it reads its inputs and while it commits.
fn short_hold(command: &str) -> &'static str {
    match command {
        "train" => {
            ", which holds the directory only while it reads its inputs and while it commits the \
             new version (seconds on a large store)"
        }
        c if c.starts_with("import") => ", which holds the directory while it imports",
        _ => "",
    }
}

/// How a holder of a data directory shows in a note: `process 12 (`kgrec train`)`.
fn holder_shown(pid: &str) -> String {
    match holder(pid) {
        Holder::Other(Some(command)) => format!("process {pid} (`kgrec {command}`)"),
        Holder::Serve(_) => format!("process {pid} (`kgrec serve`)"),
        _ => format!("process {pid}"),
    }
}

fn holder(pid: &str) -> Holder {
    let Ok(cmdline) = std::fs::read(format!("/proc/{}/cmdline", pid.trim())) else {
        return Holder::Unknown;
    };
    let args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let Some(serve) = args.iter().skip(1).position(|a| a == "serve") else {
        return Holder::Other(command_of(&args));
    };
    let after = args.get(serve + 2..).unwrap_or_default();
    let addr = after
        .iter()
        .position(|a| a == "--addr")
        .and_then(|i| after.get(i + 1).cloned())
        .or_else(|| {
            after
                .iter()
                .find_map(|a| a.strip_prefix("--addr=").map(str::to_owned))
        })
        .unwrap_or_else(|| "127.0.0.1:7878".to_owned());
    Holder::Serve((!addr.ends_with(":0")).then_some(addr))
}
