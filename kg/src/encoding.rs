//! The likely encoding of a file that is not UTF-8, for advice that names what to convert it
//! from: `iconv -f cp1252` on a Cyrillic (Windows-1251) or Chinese (GB18030) file turns its ids
//! into other, wrong letters without a word. The guess is `chardetng`'s (Firefox's detector) over
//! the file's first 64 KiB; an XML declaration's `encoding="..."` is the file's own word and
//! wins.

use std::io::Read;
use std::path::Path;

/// How much of a file the guess reads.
const SAMPLE: u64 = 64 * 1024;

/// The advice for a file that is not UTF-8: its likely encoding, named, and the `iconv` line
/// that converts from it. `seen`: bytes already read (a line, a field), guessed from when the
/// file cannot be read again (standard input).
pub fn not_utf8_advice(path: &Path, seen: &[u8]) -> String {
    let sample = sample(path).unwrap_or_else(|| seen.to_vec());
    if let Some(declared) = xml_declared_encoding(&sample)
        && !declared.eq_ignore_ascii_case("utf-8")
        && !declared.eq_ignore_ascii_case("utf8")
    {
        return format!(
            "the file must be UTF-8, and its XML declaration names encoding {declared:?}: \
             convert it, e.g. `iconv -f {declared} -t utf-8 FILE > FILE.utf8`, and make its \
             declaration say encoding=\"UTF-8\" (or leave the encoding out)"
        );
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(&sample, true);
    let guessed = detector.guess(None, false);
    let (iconv, what) = iconv_name(guessed);
    match guessed == encoding_rs::WINDOWS_1252 {
        true => "the file must be UTF-8 (its bytes look like Windows-1252, what spreadsheets and \
                 editors on Windows write, or Latin-1): convert it, e.g. `iconv -f cp1252 -t \
                 utf-8 FILE > FILE.utf8` (it reads Latin-1 text too, where `-f latin1` would \
                 turn its € and curly quotes into control characters; if iconv refuses a byte, \
                 the file is Latin-1: `iconv -f latin1 -t utf-8`)"
            .to_owned(),
        false => format!(
            "the file must be UTF-8 (its bytes look like {what}, {}): convert it, e.g. `iconv \
             -f {iconv} -t utf-8 FILE > FILE.utf8`, and check a few converted ids (a guess from \
             the bytes can be wrong; `-f cp1252` would garble these silently)",
            guessed.name()
        ),
    }
}

/// The first [`SAMPLE`] bytes of `path`, decompressed when they are gzip; `None` for what cannot
/// be read again (`-`, a pipe, a missing file).
fn sample(path: &Path) -> Option<Vec<u8>> {
    if path == Path::new("-") || !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(SAMPLE)
        .read_to_end(&mut head)
        .ok()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        let file = std::fs::File::open(path).ok()?;
        // A truncated stream still gives what it decoded.
        let _ = flate2::read::MultiGzDecoder::new(file)
            .take(SAMPLE)
            .read_to_end(&mut plain);
        return Some(plain);
    }
    Some(head)
}

/// The `encoding` an XML declaration (`<?xml version="1.0" encoding="windows-1251"?>`) at the
/// start of `bytes` names.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let head = &bytes[..bytes.len().min(200)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]);
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = rest[1..].split(quote).next()?;
    (!value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)))
    .then(|| value.to_owned())
}

/// The name `iconv` (glibc) knows `encoding` by, and what it is, in words.
fn iconv_name(encoding: &'static encoding_rs::Encoding) -> (String, &'static str) {
    let name = encoding.name();
    let what = match name {
        "windows-1251" | "KOI8-R" | "KOI8-U" | "IBM866" | "ISO-8859-5" | "x-mac-cyrillic" => {
            "Cyrillic"
        }
        "GBK" | "gb18030" => "simplified Chinese",
        "Big5" => "traditional Chinese",
        "Shift_JIS" | "EUC-JP" | "ISO-2022-JP" => "Japanese",
        "EUC-KR" => "Korean",
        "windows-1250" | "ISO-8859-2" => "Central European",
        "windows-1253" | "ISO-8859-7" => "Greek",
        "windows-1254" => "Turkish",
        "windows-1255" | "ISO-8859-8" => "Hebrew",
        "windows-1256" | "ISO-8859-6" => "Arabic",
        "windows-1257" | "ISO-8859-4" | "ISO-8859-13" => "Baltic",
        "windows-1258" => "Vietnamese",
        "windows-874" => "Thai",
        _ => "an 8-bit encoding",
    };
    let iconv = match name {
        // GB18030 reads every GBK file, and more.
        "GBK" | "gb18030" => "gb18030".to_owned(),
        "Shift_JIS" => "cp932".to_owned(),
        "EUC-KR" => "cp949".to_owned(),
        "Big5" => "big5-hkscs".to_owned(),
        other => match other.strip_prefix("windows-") {
            Some(page) => format!("cp{page}"),
            None => other.to_ascii_lowercase(),
        },
    };
    (iconv, what)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn advice_for(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, bytes).unwrap();
        not_utf8_advice(&path, &[])
    }

    #[test]
    fn cyrillic_and_chinese_files_are_named_and_latin_ones_keep_cp1252() {
        let text = "user_id,item_id\nИван,Война и мир\nМария,Анна Каренина\nПётр,Преступление и наказание\n";
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let said = advice_for(&cp1251);
        assert!(said.contains("iconv -f cp1251"), "{said}");
        assert!(said.contains("Cyrillic"), "{said}");
        let text = "user_id,item_id\n张伟,红楼梦\n王芳,西游记\n李娜,三国演义\n刘洋,水浒传\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let said = advice_for(&gb);
        assert!(said.contains("iconv -f gb18030"), "{said}");
        let text = "user_id,item_id\nJosé,Café crème\nRenée,Crème brûlée\nFrançois,Pâté\n";
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        let said = advice_for(&latin);
        assert!(said.contains("iconv -f cp1252"), "{said}");
    }

    #[test]
    fn an_xml_declaration_names_the_encoding() {
        let said = advice_for(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<rdf:RDF/>");
        assert!(said.contains("iconv -f windows-1251"), "{said}");
        assert!(said.contains("names encoding \"windows-1251\""), "{said}");
        assert_eq!(xml_declared_encoding(b"<?xml version='1.0'?>"), None);
    }
}
