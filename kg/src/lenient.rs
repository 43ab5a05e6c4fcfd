//! Lenient Turtle and TriG: every statement that parses is kept, every one that does not is
//! skipped and named with its lines.
//!
//! oxttl recovers from an error by dropping tokens up to the next `.`, which can swallow the
//! next, valid statement (`ex:a ex:b .` fails at its own `.`), lets an unterminated string eat
//! the rest of the file, and puts the rest of a TriG graph block in the default graph. Here a
//! lexical pass cuts the text, as it is read, into top-level statements: directives, triples
//! ended by `.`, TriG graph blocks `label { ... }` (and the statements inside them). A batch of
//! statements is parsed by oxttl as one document with the prefixes and base seen so far; only
//! a batch that fails is parsed again statement by statement, so a bad statement costs itself
//! alone. A graph block that fails is parsed statement by statement inside it, each one in the
//! block's graph. A short string still open at the end of its line ends its statement there;
//! a long string (`"""`) never closed takes the rest of the file with it, and the message says
//! so with the line range.
//!
//! This module only reads: `import` decides what to do with the quads and the errors.

use crate::error::{KgError, Location, Result};
use oxigraph::model::{GraphName, IriParseError, NamedOrBlankNode, Quad};
use oxttl::{TriGParser, TurtleParser, TurtleSyntaxError};
use std::collections::VecDeque;
use std::io::BufRead;
use std::path::PathBuf;

/// Bytes of statements parsed as one document before the next batch starts.
const BATCH_BYTES: usize = 1 << 20;

/// A piece of the text: a top-level statement, or a statement inside a graph block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    /// Byte offsets into the scanner's buffer.
    start: usize,
    end: usize,
    /// Where it starts, 0-based, columns in characters (as oxttl counts them).
    line: u64,
    column: u64,
    /// The line of its last byte that is not white space, 0-based.
    end_line: u64,
    /// What ended it.
    end_kind: Ending,
}

/// What ended a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Its own terminator: `.`, the `}` of its block, the IRI of a `PREFIX`/`BASE` directive.
    Terminator,
    /// The `}` of its block (the last statement of a block needs no `.`).
    ClosingBrace,
    /// A string still open at the end of its line.
    OpenString,
    /// A long string (`"""`) still open at the end of the file.
    OpenLongString,
    /// The end of the file.
    EndOfFile,
    /// A `}` with no block open.
    StrayBrace,
}

/// A TriG graph block: `label { statement . statement . ... }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Block {
    /// Offset of its `{`: the label is the text before it.
    label_end: usize,
    statements: Vec<Span>,
    /// Closed by `}` (not cut off by the end of the file).
    closed: bool,
    /// Not closed, but cut off by the next block, which starts on this line (0-based): its `}`
    /// was lost (inside a string left open, say), so what follows is not this block's.
    next_block: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Unit {
    span: Span,
    block: Option<Block>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Code,
    Comment,
    Iri,
    /// A string between single `"` or `'`.
    Short(u8),
    /// A string between `"""` or `'''`.
    Long(u8),
}

/// A unit being scanned.
#[derive(Debug)]
struct Open {
    start: usize,
    line: u64,
    column: u64,
    /// A SPARQL-style `PREFIX` or `BASE` directive: it ends with its IRI, not with a `.`.
    sparql_directive: bool,
    /// Depth of `{` (TriG only).
    depth: u32,
    block: Option<Block>,
    /// The statement open inside a block: start offset, line, column.
    inner: Option<(usize, u64, u64)>,
}

/// Cuts Turtle or TriG text into units while reading it.
struct Scanner {
    reader: Box<dyn BufRead + Send>,
    data: Vec<u8>,
    pos: usize,
    eof: bool,
    trig: bool,
    line: u64,
    column: u64,
    after_cr: bool,
    /// The line of the last byte that is not white space.
    last_line: u64,
    mode: Mode,
    open: Option<Open>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Bytes that may continue a prefixed name or a number around a `.` that is not a terminator.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'%') || b >= 0x80
}

impl Scanner {
    fn new(reader: Box<dyn BufRead + Send>, trig: bool) -> Self {
        Self {
            reader,
            data: Vec::new(),
            pos: 0,
            eof: false,
            trig,
            line: 0,
            column: 0,
            after_cr: false,
            last_line: 0,
            mode: Mode::Code,
            open: None,
        }
    }

    fn read_more(&mut self) -> std::io::Result<()> {
        let buf = self.reader.fill_buf()?;
        if buf.is_empty() {
            self.eof = true;
        } else {
            let n = buf.len();
            self.data.extend_from_slice(buf);
            self.reader.consume(n);
        }
        Ok(())
    }

    /// The byte `k` places ahead, reading more if needed; `None` at the end of the input.
    fn peek(&mut self, k: usize) -> std::io::Result<Option<u8>> {
        while self.pos + k >= self.data.len() && !self.eof {
            self.read_more()?;
        }
        Ok(self.data.get(self.pos + k).copied())
    }

    /// Consumes one byte, counting lines as oxttl does (`\r\n` is one line jump).
    fn advance(&mut self) {
        let Some(&b) = self.data.get(self.pos) else {
            return;
        };
        self.pos += 1;
        match b {
            b'\n' => {
                if !self.after_cr {
                    self.line += 1;
                }
                self.column = 0;
                self.after_cr = false;
            }
            b'\r' => {
                self.line += 1;
                self.column = 0;
                self.after_cr = true;
            }
            _ => {
                self.after_cr = false;
                if b & 0xC0 != 0x80 {
                    self.column += 1;
                }
                if !is_space(b) {
                    self.last_line = self.line;
                }
            }
        }
    }

    /// Forgets the bytes before `offset` (every unit before it has been handled).
    fn discard_before(&mut self, offset: usize) {
        let offset = offset.min(self.pos);
        if offset > 0 && offset >= self.data.len() / 2 {
            self.data.drain(..offset);
            self.pos -= offset;
            if let Some(open) = &mut self.open {
                open.start -= offset;
                if let Some(inner) = &mut open.inner {
                    inner.0 -= offset;
                }
                if let Some(block) = &mut open.block {
                    block.label_end -= offset;
                    for statement in &mut block.statements {
                        statement.start -= offset;
                        statement.end -= offset;
                    }
                }
            }
        }
    }

    /// Whether the bytes at the cursor spell `word` (ASCII, any case) followed by white space
    /// or `<`.
    fn at_keyword(&mut self, word: &[u8]) -> std::io::Result<bool> {
        for (k, expected) in word.iter().enumerate() {
            match self.peek(k)? {
                Some(b) if b.eq_ignore_ascii_case(expected) => {}
                _ => return Ok(false),
            }
        }
        Ok(self
            .peek(word.len())?
            .is_some_and(|b| is_space(b) || b == b'<'))
    }

    fn span_from(&self, start: usize, line: u64, column: u64, end_kind: Ending) -> Span {
        Span {
            start,
            end: self.pos,
            line,
            column,
            end_line: self.last_line.max(line),
            end_kind,
        }
    }

    /// Ends the open unit at the cursor.
    fn close(&mut self, end_kind: Ending) -> Option<Unit> {
        let open = self.open.take()?;
        let mut block = open.block;
        if let (Some(block), Some((start, line, column))) = (&mut block, open.inner) {
            let span = self.span_from(start, line, column, end_kind);
            block.statements.push(span);
        }
        Some(Unit {
            span: self.span_from(open.start, open.line, open.column, end_kind),
            block,
        })
    }

    /// Ends the statement open inside a block at the cursor.
    fn close_inner(&mut self, end_kind: Ending) {
        let Some(open) = &self.open else {
            return;
        };
        let Some((start, line, column)) = open.inner else {
            return;
        };
        let span = self.span_from(start, line, column, end_kind);
        if let Some(open) = &mut self.open {
            open.inner = None;
            if let Some(block) = &mut open.block {
                block.statements.push(span);
            }
        }
    }

    /// At a `{` inside a block: ends the block open before the label of the block this `{`
    /// opens (the statement open inside, if any), and opens that block.
    fn next_block(&mut self) -> Option<Unit> {
        let open = self.open.take()?;
        let (start, line, column) = open.inner.unwrap_or((self.pos, self.line, self.column));
        let mut block = open.block.unwrap_or_default();
        block.next_block = Some(line);
        let before = self.data[open.start..start]
            .iter()
            .rposition(|b| !is_space(*b))
            .map_or(open.start, |k| open.start + k);
        let end_line = open.line
            + self.data[open.start..before]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
        let unit = Unit {
            span: Span {
                start: open.start,
                end: start,
                line: open.line,
                column: open.column,
                end_line,
                end_kind: Ending::EndOfFile,
            },
            block: Some(block),
        };
        self.open = Some(Open {
            start,
            line,
            column,
            sparql_directive: false,
            depth: 1,
            block: Some(Block {
                label_end: self.pos,
                ..Block::default()
            }),
            inner: None,
        });
        self.advance();
        Some(unit)
    }

    /// Inside a block, a statement starts at the first byte that is not white space.
    fn start_inner(&mut self) {
        let (pos, line, column) = (self.pos, self.line, self.column);
        if let Some(open) = &mut self.open
            && open.depth > 0
            && open.inner.is_none()
        {
            open.inner = Some((pos, line, column));
        }
    }

    /// The next unit, or `None` at the end of the input.
    fn next_unit(&mut self) -> std::io::Result<Option<Unit>> {
        loop {
            let Some(b) = self.peek(0)? else {
                let end_kind = match self.mode {
                    Mode::Long(_) => Ending::OpenLongString,
                    Mode::Short(_) => Ending::OpenString,
                    _ => Ending::EndOfFile,
                };
                self.mode = Mode::Code;
                return Ok(self.close(end_kind));
            };
            if self.open.is_none() {
                match self.mode {
                    Mode::Comment => {
                        if b == b'\n' || b == b'\r' {
                            self.mode = Mode::Code;
                        }
                        self.advance();
                    }
                    _ if is_space(b) => self.advance(),
                    _ if b == b'#' => {
                        self.mode = Mode::Comment;
                        self.advance();
                    }
                    _ => {
                        let sparql_directive =
                            self.at_keyword(b"prefix")? || self.at_keyword(b"base")?;
                        self.open = Some(Open {
                            start: self.pos,
                            line: self.line,
                            column: self.column,
                            sparql_directive,
                            depth: 0,
                            block: None,
                            inner: None,
                        });
                        self.mode = Mode::Code;
                    }
                }
                continue;
            }
            if let Some(unit) = self.step(b)? {
                return Ok(Some(unit));
            }
        }
    }

    /// Consumes the byte `b` at the cursor inside a unit; returns the unit if it ended.
    fn step(&mut self, b: u8) -> std::io::Result<Option<Unit>> {
        let (depth, sparql_directive) = match &self.open {
            Some(open) => (open.depth, open.sparql_directive),
            None => return Ok(None),
        };
        match self.mode {
            Mode::Comment => {
                if b == b'\n' || b == b'\r' {
                    self.mode = Mode::Code;
                } else {
                    self.advance();
                }
            }
            Mode::Iri => match b {
                b'>' => {
                    self.advance();
                    self.mode = Mode::Code;
                    if sparql_directive && depth == 0 {
                        return Ok(self.close(Ending::Terminator));
                    }
                }
                // Not allowed in an IRI: the IRI is broken, the byte belongs to what follows.
                b' ' | b'\t' | b'\n' | b'\r' | b'<' | b'{' | b'}' => self.mode = Mode::Code,
                _ => self.advance(),
            },
            Mode::Short(quote) => match b {
                b'\\' => {
                    self.advance();
                    if self.peek(0)?.is_some_and(|n| n != b'\n' && n != b'\r') {
                        self.advance();
                    }
                }
                b'\n' | b'\r' => {
                    // A string still open at the end of its line: its statement ends here.
                    self.mode = Mode::Code;
                    if depth > 0 {
                        self.close_inner(Ending::OpenString);
                    } else {
                        return Ok(self.close(Ending::OpenString));
                    }
                }
                _ => {
                    self.advance();
                    if b == quote {
                        self.mode = Mode::Code;
                    }
                }
            },
            Mode::Long(quote) => {
                if b == b'\\' {
                    self.advance();
                    self.advance();
                } else if b == quote && self.peek(1)? == Some(quote) && self.peek(2)? == Some(quote)
                {
                    self.advance();
                    self.advance();
                    self.advance();
                    self.mode = Mode::Code;
                } else {
                    self.advance();
                }
            }
            Mode::Code => return self.step_code(b, depth),
        }
        Ok(None)
    }

    fn step_code(&mut self, b: u8, depth: u32) -> std::io::Result<Option<Unit>> {
        match b {
            _ if is_space(b) => self.advance(),
            b'#' => {
                self.mode = Mode::Comment;
                self.advance();
            }
            b'<' => {
                self.start_inner();
                self.mode = Mode::Iri;
                self.advance();
            }
            b'"' | b'\'' => {
                self.start_inner();
                if self.peek(1)? == Some(b) && self.peek(2)? == Some(b) {
                    self.advance();
                    self.advance();
                    self.advance();
                    self.mode = Mode::Long(b);
                } else {
                    self.advance();
                    self.mode = Mode::Short(b);
                }
            }
            b'\\' => {
                // An escape inside a local name (`ex:a\.b`).
                self.start_inner();
                self.advance();
                if self.peek(0)?.is_some_and(|n| !is_space(n)) {
                    self.advance();
                }
            }
            b'.' => {
                let previous = match &self.open {
                    Some(open) if self.pos > open.start => self.data[self.pos - 1],
                    _ => b' ',
                };
                let next = self.peek(1)?;
                // Inside a prefixed name (`ex:a.b`) or a number (`1.5`, `.5`), not an end.
                let inside_token = next.is_some_and(|n| {
                    n.is_ascii_digit() || (is_name_byte(previous) && (is_name_byte(n) || n == b'.'))
                });
                if inside_token {
                    self.start_inner();
                    self.advance();
                } else if depth > 0 {
                    self.start_inner();
                    self.advance();
                    self.close_inner(Ending::Terminator);
                } else {
                    self.advance();
                    return Ok(self.close(Ending::Terminator));
                }
            }
            // TriG has no nested blocks: a `{` inside one starts the next block, and the one
            // open lost its `}` (to a string left open on its line, say). It ends before the
            // next block's label, so that no statement moves from one graph to another.
            b'{' if self.trig && depth == 1 => return Ok(self.next_block()),
            b'{' if self.trig => {
                let pos = self.pos;
                if depth > 0 {
                    self.start_inner();
                }
                if let Some(open) = &mut self.open {
                    if open.depth == 0 {
                        open.block = Some(Block {
                            label_end: pos,
                            ..Block::default()
                        });
                    }
                    open.depth += 1;
                }
                self.advance();
            }
            b'}' if self.trig => {
                if depth == 1 {
                    self.close_inner(Ending::ClosingBrace);
                    self.advance();
                    if let Some(open) = &mut self.open {
                        open.depth = 0;
                        if let Some(block) = &mut open.block {
                            block.closed = true;
                        }
                    }
                    return Ok(self.close(Ending::Terminator));
                } else if depth > 1 {
                    if let Some(open) = &mut self.open {
                        open.depth -= 1;
                    }
                    self.advance();
                } else {
                    // A `}` with no block open: the unit is broken, and ends here.
                    self.advance();
                    return Ok(self.close(Ending::StrayBrace));
                }
            }
            _ => {
                self.start_inner();
                self.advance();
            }
        }
        Ok(None)
    }
}

/// The prefixes and base in force, carried from one parse to the next.
#[derive(Clone, Debug, Default)]
struct Context {
    base: Option<String>,
    prefixes: Vec<(String, String)>,
}

/// Why a piece did not parse: oxttl's message and where, relative to the piece.
#[derive(Debug)]
struct Failure {
    position: Option<oxttl::TextPosition>,
    message: String,
}

impl From<TurtleSyntaxError> for Failure {
    fn from(e: TurtleSyntaxError) -> Self {
        Self {
            position: Some(e.location().start),
            message: e.message().to_owned(),
        }
    }
}

impl From<IriParseError> for Failure {
    fn from(e: IriParseError) -> Self {
        Self {
            position: None,
            message: e.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    Turtle,
    TriG,
}

fn turtle_parser(context: &Context) -> std::result::Result<TurtleParser, Failure> {
    let mut parser = TurtleParser::new();
    if let Some(base) = &context.base {
        parser = parser.with_base_iri(base.as_str())?;
    }
    for (name, iri) in &context.prefixes {
        parser = parser.with_prefix(name.as_str(), iri.as_str())?;
    }
    Ok(parser)
}

fn trig_parser(context: &Context) -> std::result::Result<TriGParser, Failure> {
    let mut parser = TriGParser::new();
    if let Some(base) = &context.base {
        parser = parser.with_base_iri(base.as_str())?;
    }
    for (name, iri) in &context.prefixes {
        parser = parser.with_prefix(name.as_str(), iri.as_str())?;
    }
    Ok(parser)
}

fn context_of<'a>(
    prefixes: impl Iterator<Item = (&'a str, &'a str)>,
    base: Option<&str>,
) -> Context {
    Context {
        base: base.map(str::to_owned),
        prefixes: prefixes
            .map(|(name, iri)| (name.to_owned(), iri.to_owned()))
            .collect(),
    }
}

/// Parses `text` as a whole document; on success, the quads (in `graph` for Turtle) and the
/// prefixes and base in force after it.
fn parse(
    text: &[u8],
    context: &Context,
    syntax: Syntax,
    graph: &GraphName,
) -> std::result::Result<(Vec<Quad>, Context), Failure> {
    let mut quads = Vec::new();
    match syntax {
        Syntax::Turtle => {
            let mut parser = turtle_parser(context)?.for_slice(text);
            for triple in parser.by_ref() {
                quads.push(triple?.in_graph(graph.clone()));
            }
            Ok((quads, context_of(parser.prefixes(), parser.base_iri())))
        }
        Syntax::TriG => {
            let mut parser = trig_parser(context)?.for_slice(text);
            for quad in parser.by_ref() {
                quads.push(quad?);
            }
            Ok((quads, context_of(parser.prefixes(), parser.base_iri())))
        }
    }
}

/// The statements of a lenient Turtle or TriG file, each a quad or the located error of a
/// statement skipped whole.
pub(crate) struct LenientQuads {
    path: PathBuf,
    scanner: Scanner,
    syntax: Syntax,
    context: Context,
    ready: VecDeque<Result<Quad>>,
    done: bool,
    batch_bytes: usize,
}

impl LenientQuads {
    /// Reads `reader` as TriG (`trig`) or Turtle; `base` resolves relative IRIs.
    pub(crate) fn new(
        path: PathBuf,
        reader: Box<dyn BufRead + Send>,
        trig: bool,
        base: Option<String>,
    ) -> Result<Self> {
        let context = Context {
            base,
            prefixes: Vec::new(),
        };
        if let Err(e) = turtle_parser(&context) {
            return Err(KgError::BadArgument(format!(
                "--base {}: not a valid IRI: {}",
                context.base.as_deref().unwrap_or_default(),
                e.message
            )));
        }
        Ok(Self {
            path,
            scanner: Scanner::new(reader, trig),
            syntax: if trig { Syntax::TriG } else { Syntax::Turtle },
            context,
            ready: VecDeque::new(),
            done: false,
            batch_bytes: BATCH_BYTES,
        })
    }

    #[cfg(test)]
    fn with_batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes;
        self
    }

    /// Scans the next batch of units and parses it.
    fn fill(&mut self) -> Result<()> {
        let mut units = Vec::new();
        loop {
            let unit = self
                .scanner
                .next_unit()
                .map_err(|e| crate::source::read_error(&self.path, e))?;
            let Some(unit) = unit else {
                self.done = true;
                break;
            };
            let full = unit.span.end_kind == Ending::Terminator
                && unit.span.end
                    - units
                        .first()
                        .map_or(unit.span.start, |u: &Unit| u.span.start)
                    >= self.batch_bytes;
            units.push(unit);
            if full {
                break;
            }
        }
        let (Some(first), Some(last)) = (units.first(), units.last()) else {
            return Ok(());
        };
        let (start, end) = (first.span.start, last.span.end);
        match parse(
            &self.scanner.data[start..end],
            &self.context,
            self.syntax,
            &GraphName::DefaultGraph,
        ) {
            Ok((quads, context)) => {
                self.ready.extend(quads.into_iter().map(Ok));
                self.context = context;
            }
            Err(_) => {
                for unit in &units {
                    self.parse_unit(unit);
                }
            }
        }
        self.scanner.discard_before(end);
        Ok(())
    }

    fn parse_unit(&mut self, unit: &Unit) {
        let text = &self.scanner.data[unit.span.start..unit.span.end];
        match parse(text, &self.context, self.syntax, &GraphName::DefaultGraph) {
            Ok((quads, context)) => {
                self.ready.extend(quads.into_iter().map(Ok));
                self.context = context;
            }
            Err(failure) => match &unit.block {
                Some(block) => self.recover_block(unit.span, block),
                None => {
                    let error = self.skipped(unit.span, &failure, "statement");
                    self.ready.push_back(Err(error));
                }
            },
        }
    }

    /// A graph block that failed: its statements one by one, each in the block's graph.
    fn recover_block(&mut self, span: Span, block: &Block) {
        let graph = match self.graph_name(span, block) {
            Ok(graph) => graph,
            Err(failure) => {
                let error = self.skipped(span, &failure, "graph block");
                self.ready.push_back(Err(error));
                return;
            }
        };
        let mut kept = 0usize;
        for statement in &block.statements {
            let mut text = self.scanner.data[statement.start..statement.end].to_vec();
            if statement.end_kind != Ending::Terminator {
                // The last statement of a block needs no `.`; alone, it does.
                text.extend_from_slice(b" .");
            }
            match parse(&text, &self.context, Syntax::Turtle, &graph) {
                Ok((quads, _)) => {
                    kept += 1;
                    self.ready.extend(quads.into_iter().map(Ok));
                }
                Err(failure) => {
                    let error = self.skipped(*statement, &failure, "statement");
                    self.ready.push_back(Err(error));
                }
            }
        }
        if !block.closed {
            let before = match block.next_block {
                Some(line) => format!(
                    "the next graph block (line {}; was its `}}` inside a string left open?)",
                    line + 1
                ),
                None => "the end of the file".to_owned(),
            };
            let error = KgError::Syntax {
                file: self.path.clone(),
                location: Location {
                    line: span.line + 1,
                    column: span.column + 1,
                },
                message: format!(
                    "the graph block opened here is not closed by `}}` before {before} (lines \
                     {}-{}); its {kept} statement(s) that parse were kept, in its graph",
                    span.line + 1,
                    span.end_line + 1
                ),
            };
            self.ready.push_back(Err(error));
        }
    }

    /// The graph a block's label names (`GRAPH <g>`, `ex:g`, `_:b`, `[]`, nothing).
    fn graph_name(&self, span: Span, block: &Block) -> std::result::Result<GraphName, Failure> {
        let mut label = self.scanner.data[span.start..block.label_end].to_vec();
        let keyword = label.iter().position(|b| !is_space(*b)).unwrap_or(0);
        if label.len() > keyword + 5
            && label[keyword..keyword + 5].eq_ignore_ascii_case(b"graph")
            && !is_name_byte(label[keyword + 5])
        {
            // Blanked rather than cut, so that positions in the label stay those of the file.
            label[keyword..keyword + 5].fill(b' ');
        }
        if label.iter().all(|b| is_space(*b)) {
            return Ok(GraphName::DefaultGraph);
        }
        const MARK: &str = "urn:kgrec:lenient:graph-label";
        label.extend_from_slice(format!(" <{MARK}> <{MARK}> .").as_bytes());
        let (triples, _) = parse(
            &label,
            &self.context,
            Syntax::Turtle,
            &GraphName::DefaultGraph,
        )?;
        triples
            .iter()
            .find(|q| q.predicate.as_str() == MARK)
            .map(|q| match &q.subject {
                NamedOrBlankNode::NamedNode(n) => GraphName::NamedNode(n.clone()),
                NamedOrBlankNode::BlankNode(b) => GraphName::BlankNode(b.clone()),
            })
            .ok_or_else(|| Failure {
                position: None,
                message: "not a graph name".to_owned(),
            })
    }

    /// The located error of a piece skipped whole, with the lines it covered.
    fn skipped(&self, span: Span, failure: &Failure, what: &str) -> KgError {
        let location = match failure.position {
            Some(p) if p.line == 0 => Location {
                line: span.line + 1,
                column: span.column + p.column + 1,
            },
            Some(p) => Location {
                line: span.line + p.line + 1,
                column: p.column + 1,
            },
            None => Location {
                line: span.line + 1,
                column: span.column + 1,
            },
        };
        let lines = if span.end_line > span.line {
            format!("lines {}-{}", span.line + 1, span.end_line + 1)
        } else {
            format!("line {}", span.line + 1)
        };
        // oxttl sees the end of the piece it was given; say what really ended it.
        let at_end = failure.message.to_ascii_lowercase().contains("end of file");
        let message = match span.end_kind {
            Ending::OpenString if at_end => "string not closed before the end of its line",
            Ending::OpenLongString if at_end => "long string not closed before the end of the file",
            _ => failure.message.as_str(),
        };
        KgError::Syntax {
            file: self.path.clone(),
            location,
            message: format!("{message}; skipped the {what} on {lines}"),
        }
    }
}

impl Iterator for LenientQuads {
    type Item = Result<Quad>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oxigraph::io::{RdfFormat, RdfParser};

    fn lenient(text: &str, trig: bool, batch: usize) -> (Vec<Quad>, Vec<String>) {
        let reader: Box<dyn BufRead + Send> =
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        let quads = LenientQuads::new(PathBuf::from("f"), reader, trig, None)
            .unwrap()
            .with_batch_bytes(batch);
        let (mut ok, mut errors) = (Vec::new(), Vec::new());
        for item in quads {
            match item {
                Ok(q) => ok.push(q),
                Err(e) => errors.push(e.to_string()),
            }
        }
        (ok, errors)
    }

    fn subjects(quads: &[Quad]) -> Vec<String> {
        quads.iter().map(|q| q.subject.to_string()).collect()
    }

    /// The quads as text, blank nodes named by their order of appearance (anonymous ones are
    /// fresh on every parse).
    fn shape(quads: &[Quad]) -> Vec<String> {
        let mut names = std::collections::HashMap::new();
        let mut name = |id: &str| {
            let next = names.len();
            format!("_:n{}", names.entry(id.to_owned()).or_insert(next))
        };
        quads
            .iter()
            .map(|q| {
                let subject = match &q.subject {
                    NamedOrBlankNode::BlankNode(b) => name(b.as_str()),
                    other => other.to_string(),
                };
                let object = match &q.object {
                    oxigraph::model::Term::BlankNode(b) => name(b.as_str()),
                    other => other.to_string(),
                };
                format!("{subject} {} {object} {}", q.predicate, q.graph_name)
            })
            .collect()
    }

    /// Every batch size gives the same answer: one statement per batch, or the whole file.
    fn each_batch_size(text: &str, trig: bool) -> (Vec<Quad>, Vec<String>) {
        let whole = lenient(text, trig, usize::MAX);
        for batch in [0, 1, 40] {
            let (quads, errors) = lenient(text, trig, batch);
            assert_eq!(shape(&quads), shape(&whole.0), "batch {batch}");
            assert_eq!(errors, whole.1, "batch {batch}");
        }
        whole
    }

    #[test]
    fn a_statement_after_a_bad_one_is_kept() {
        let text = "@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b .\nex:d ex:e ex:f .\n\
                    ex:g ex:h ex:i .\n";
        let (quads, errors) = each_batch_size(text, false);
        assert_eq!(
            subjects(&quads),
            ["<http://e/a>", "<http://e/d>", "<http://e/g>"]
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("f:3:11: ")
                && errors[0].ends_with("skipped the statement on line 3"),
            "{errors:?}"
        );
    }

    #[test]
    fn an_unterminated_string_costs_its_line_only() {
        let text = "@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b \"open .\n\
                    ex:d ex:e ex:f .\nex:g ex:h 'also open\nex:j ex:k ex:l .\n";
        let (quads, errors) = each_batch_size(text, false);
        assert_eq!(
            subjects(&quads),
            ["<http://e/a>", "<http://e/d>", "<http://e/j>"]
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("f:3:11: string not closed before the end of its line"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("f:5:11: string not closed"),
            "{errors:?}"
        );
    }

    #[test]
    fn an_unterminated_long_string_names_the_lines_it_took() {
        let text = "@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b \"\"\"open .\n\
                    ex:d ex:e ex:f .\nex:g ex:h ex:i .\n";
        let (quads, errors) = each_batch_size(text, false);
        assert_eq!(subjects(&quads), ["<http://e/a>"]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("f:3:11: long string not closed before the end of the file")
                && errors[0].ends_with("on lines 3-5"),
            "{errors:?}"
        );
    }

    #[test]
    fn dots_inside_names_numbers_and_strings_do_not_end_a_statement() {
        let text = "@prefix ex: <http://e/> .\n\
                    ex:a.b ex:p 1.5, .5, 2.0e1, 3.E2, \"x. y\", \"\"\"multi .\nline\"\"\", ex:c\\.d, 'q.' .\n\
                    ex:e ex:p ex:f.\nex:g ex:p 1 .\nex:a ex:p .\nex:h ex:p [ ex:q ( 1 2.0 ) ] .\n\
                    # comment with a . dot\n<http://e/i#x.> ex:p ex:j . ex:k ex:p ex:l .\n";
        let (quads, errors) = each_batch_size(text, false);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("f:6:"), "{errors:?}");
        let strict: Vec<Quad> = RdfParser::from_format(RdfFormat::Turtle)
            .for_slice(text.replace("ex:a ex:p .\n", "").as_bytes())
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(shape(&quads), shape(&strict));
    }

    #[test]
    fn prefixes_and_base_carry_across_batches_and_sparql_style_directives_end_with_their_iri() {
        let text = "PREFIX ex: <http://e/>\nBASE <http://b/>\nex:a ex:b <c> .\nex:a ex:b .\n\
                    @prefix ex: <http://f/> .\nex:d ex:e <g> .\n";
        let (quads, errors) = each_batch_size(text, false);
        assert_eq!(
            quads.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "<http://e/a> <http://e/b> <http://b/c>",
                "<http://f/d> <http://f/e> <http://b/g>"
            ]
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn a_bad_statement_inside_a_trig_block_keeps_the_rest_of_the_block_in_its_graph() {
        let text = "@prefix ex: <http://e/> .\nex:g1 { ex:a ex:b ex:c . ex:a ex:b . ex:d ex:e ex:f }\n\
                    GRAPH ex:g2 {\n ex:h ex:i ex:j .\n ex:k ex:l \"open\n ex:m ex:n ex:o\n}\n\
                    { ex:p ex:q ex:r }\nex:s ex:t ex:u .\n";
        let (quads, errors) = each_batch_size(text, true);
        let shown: Vec<String> = quads.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "<http://e/a> <http://e/b> <http://e/c> <http://e/g1>",
                "<http://e/d> <http://e/e> <http://e/f> <http://e/g1>",
                "<http://e/h> <http://e/i> <http://e/j> <http://e/g2>",
                "<http://e/m> <http://e/n> <http://e/o> <http://e/g2>",
                "<http://e/p> <http://e/q> <http://e/r>",
                "<http://e/s> <http://e/t> <http://e/u>",
            ]
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("f:2:"), "{errors:?}");
        assert!(errors[1].starts_with("f:5:"), "{errors:?}");
    }

    #[test]
    fn an_unclosed_trig_block_keeps_its_statements_and_says_so() {
        let text = "@prefix ex: <http://e/> .\nex:g { ex:a ex:b ex:c .\nex:d ex:e ex:f .\n";
        let (quads, errors) = each_batch_size(text, true);
        assert_eq!(quads.len(), 2);
        assert!(
            quads
                .iter()
                .all(|q| q.graph_name.to_string() == "<http://e/g>")
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("f:2:1: the graph block opened here is not closed"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_block_whose_brace_a_string_swallowed_keeps_the_next_blocks_statements_in_their_graphs() {
        let text = "@prefix ex: <http://e/> .\n\
                    ex:g1 { ex:a ex:b ex:c . ex:d ex:b \"open . ex:e ex:b ex:f . }\n\
                    ex:g2 { ex:h ex:b ex:f . ex:i ex:j ex:k ; ex:l 12 . }\n\
                    ex:g3 { ex:m ex:b ex:f .\n";
        let (quads, errors) = each_batch_size(text, true);
        let shown: Vec<String> = quads
            .iter()
            .map(|q| format!("{} {}", q.subject, q.graph_name))
            .collect();
        assert_eq!(
            shown,
            [
                "<http://e/a> <http://e/g1>",
                "<http://e/h> <http://e/g2>",
                "<http://e/i> <http://e/g2>",
                "<http://e/i> <http://e/g2>",
                "<http://e/m> <http://e/g3>",
            ]
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("f:2:"), "{errors:?}");
        assert!(
            errors[1].contains("before the next graph block (line 3;")
                && errors[1].contains("its 1 statement(s) that parse were kept"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("before the end of the file")
                && errors[2].contains("its 1 statement(s)"),
            "{errors:?}"
        );
    }

    #[test]
    fn the_movie_fixture_reads_as_the_strict_parser_reads_it_in_any_batch_size() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/movies.ttl");
        let text = std::fs::read_to_string(path).unwrap();
        let strict: Vec<Quad> = RdfParser::from_format(RdfFormat::Turtle)
            .for_slice(text.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        for batch in [0, 100, usize::MAX] {
            let (quads, errors) = lenient(&text, false, batch);
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(shape(&quads), shape(&strict), "batch {batch}");
        }
    }
}
