//! The interaction file formats of the contract and how one is guessed from a file name.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// An interaction file format (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Tab-separated with a header naming `user_id`, `item_id`, optionally `rating`, `timestamp`.
    Tsv,
    /// Comma-separated (RFC 4180 quoting) with the same header as [`Format::Tsv`].
    Csv,
    /// MovieLens `u.data` (`user<TAB>item<TAB>rating<TAB>ts`) or `ratings.dat` (`::`-separated), no header.
    MovieLens,
    /// RecBole atomic `.inter` file: tab-separated with a typed header (`user_id:token` ...).
    RecBole,
    /// KGAT `train.txt`: `user item item ...`, whitespace-separated, no header, no rating.
    Kgat,
}

impl Format {
    /// All formats, in the order `--format` lists them.
    pub const ALL: [Format; 5] = [
        Self::Tsv,
        Self::Csv,
        Self::MovieLens,
        Self::RecBole,
        Self::Kgat,
    ];

    /// The `--format` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tsv => "tsv",
            Self::Csv => "csv",
            Self::MovieLens => "movielens",
            Self::RecBole => "recbole",
            Self::Kgat => "kgat",
        }
    }

    /// What a file of the format looks like, for messages.
    pub fn shape(self) -> &'static str {
        match self {
            Self::Tsv => "a tab-separated table with a header",
            Self::Csv => "a comma-separated table with a header",
            Self::MovieLens => "`user item rating timestamp` lines without a header",
            Self::RecBole => "a RecBole atomic file with a typed header",
            Self::Kgat => "`user item item ...` lines",
        }
    }

    /// The format an extension (lower-case, no dot) names: `tsv`, `csv`, `inter` (RecBole),
    /// `data`/`dat`/`base` (MovieLens: `u.data`, `ratings.dat`, `u1.base`), `txt` (KGAT's
    /// `train.txt`, which the content may overrule: see `guess`).
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "tsv" | "tab" => Some(Self::Tsv),
            "csv" => Some(Self::Csv),
            "inter" => Some(Self::RecBole),
            "data" | "dat" | "base" => Some(Self::MovieLens),
            "txt" => Some(Self::Kgat),
            _ => None,
        }
    }

    /// Guesses the format from the file name alone (a `.gz` suffix aside).
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        Self::from_extension(name.rsplit_once('.')?.1)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text given to `--format` names no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown interaction format {0:?} (expected tsv, csv, movielens, recbole or kgat)")]
pub struct UnknownFormatName(pub String);

impl FromStr for Format {
    type Err = UnknownFormatName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|f| f.name() == lower)
            .or(match lower.as_str() {
                "ml" | "u.data" => Some(Self::MovieLens),
                "inter" => Some(Self::RecBole),
                _ => None,
            })
            .ok_or_else(|| UnknownFormatName(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn guesses_from_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/u.data")),
            Some(Format::MovieLens)
        );
        assert_eq!(
            Format::from_path(Path::new("ratings.dat")),
            Some(Format::MovieLens)
        );
        assert_eq!(
            Format::from_path(Path::new("ml-100k.inter")),
            Some(Format::RecBole)
        );
        assert_eq!(Format::from_path(Path::new("train.TSV")), Some(Format::Tsv));
        assert_eq!(Format::from_path(Path::new("r.csv")), Some(Format::Csv));
        assert_eq!(
            Format::from_path(Path::new("train.txt")),
            Some(Format::Kgat)
        );
        assert_eq!(Format::from_path(Path::new("r.csv.GZ")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("README")), None);
        assert_eq!(Format::from_path(Path::new("x.gz")), None);
        assert_eq!(Format::from_path(Path::new("x.parquet")), None);
    }

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
            assert_eq!(f.to_string(), f.name());
        }
        assert!("xml".parse::<Format>().is_err());
    }
}
