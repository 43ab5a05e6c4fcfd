//! ISO 8601 dates and times in a timestamp column (`2015-03-04`, `2015-03-04 12:30:00`,
//! `2015-03-04T12:30:00.5Z`, `2015-03-04T12:30+02:00`), as seconds since the epoch. A date or a
//! time without an offset is taken as UTC.

/// Seconds since 1970-01-01T00:00:00Z, or `None` when `text` is no ISO date or date-time.
pub fn parse_iso(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let (date, rest) = b.split_at_checked(10)?;
    let year = digits(date.get(0..4)?)?;
    let month = digits(date.get(5..7)?)?;
    let day = digits(date.get(8..10)?)?;
    if date[4] != b'-' || date[7] != b'-' || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut seconds = 0;
    let mut rest = rest;
    if let [b'T' | b't' | b' ', time @ ..] = rest {
        let hour = digits(time.get(0..2)?)?;
        let minute = digits(time.get(3..5)?)?;
        if time[2] != b':' || hour > 23 || minute > 59 {
            return None;
        }
        seconds = hour * 3600 + minute * 60;
        rest = &time[5..];
        if let [b':', s @ ..] = rest {
            let second = digits(s.get(0..2)?)?;
            if second > 60 {
                return None;
            }
            seconds += second;
            rest = &s[2..];
            if let [b'.' | b',', frac @ ..] = rest {
                let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 {
                    return None;
                }
                rest = &frac[n..];
            }
        }
    }
    let offset = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (h, m) = match zone {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    Some(days * 86_400 + seconds - offset)
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(parse_iso("1970-01-01"), Some(0));
        assert_eq!(parse_iso("1997-12-04"), Some(881_193_600));
        assert_eq!(parse_iso("2000-02-29T23:59:59Z"), Some(951_868_799));
        assert_eq!(parse_iso("1997-12-04 15:55:49"), Some(881_250_949));
        assert_eq!(parse_iso("1997-12-04T17:55:49.25+02:00"), Some(881_250_949));
        assert_eq!(parse_iso("1997-12-04T10:55:49-0500"), Some(881_250_949));
        assert_eq!(parse_iso("1969-12-31T23:00"), Some(-3600));
    }

    #[test]
    fn not_dates() {
        for text in [
            "",
            "881250949",
            "2001-02-29",
            "2001-13-01",
            "2001-1-01",
            "2001-01-01T25:00",
            "2001-01-01T10:00:00.",
            "2001-01-01T10:00 UTC",
            "2001-01-01T10:00+2",
            "yesterday",
        ] {
            assert_eq!(parse_iso(text), None, "{text:?}");
        }
    }
}
