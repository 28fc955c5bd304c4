//! Small formatting helpers shared by the Markdown and SVG renderers.

use std::time::Duration;

/// Seconds with millisecond precision: `1.250 s`.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// An optional duration, `–` when absent.
pub(crate) fn opt_secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "–".to_owned(), secs)
}

/// A share as a percentage: `99.250 %`.
pub(crate) fn percent(share: f64) -> String {
    format!("{:.3} %", share * 100.0)
}

/// An optional count, `–` when unknown.
pub(crate) fn opt_count(n: Option<u64>) -> String {
    n.map_or_else(|| "–".to_owned(), |n| n.to_string())
}

/// Text made safe for XML content and attribute values.
pub(crate) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newline are not allowed in XML 1.0.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text made safe for a Markdown table cell.
pub(crate) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(secs(Duration::from_millis(1250)), "1.250 s");
        assert_eq!(opt_secs(None), "–");
        assert_eq!(percent(0.5), "50.000 %");
        assert_eq!(
            xml("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\u{FFFD}"
        );
        assert_eq!(cell("a|b"), "a\\|b");
    }
}
