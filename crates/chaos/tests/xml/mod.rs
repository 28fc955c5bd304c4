//! A minimal XML well-formedness check, enough to catch what a hand-written
//! SVG can get wrong: unbalanced or crossed tags, unquoted or duplicated
//! attributes, a raw `<` or `&` in text, unknown entities, two roots.

use std::collections::BTreeSet;

/// Checks `text`; on success returns every element name in document order.
pub(crate) fn check(text: &str) -> Result<Vec<String>, String> {
    let mut rest = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if let Some(after) = rest.strip_prefix("<?xml") {
        let end = after.find("?>").ok_or("unterminated XML declaration")?;
        rest = &after[end + 2..];
    }
    let mut stack: Vec<String> = Vec::new();
    let mut elements = Vec::new();
    let mut roots = 0;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            text_ok(rest, stack.is_empty())?;
            break;
        };
        text_ok(&rest[..open], stack.is_empty())?;
        rest = &rest[open..];
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("unterminated comment")?;
            rest = &after[end + 3..];
            continue;
        }
        let close = rest.find('>').ok_or("unterminated tag")?;
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim_end();
            match stack.pop() {
                Some(open) if open == name => {}
                Some(open) => return Err(format!("</{name}> closes <{open}>")),
                None => return Err(format!("</{name}> closes nothing")),
            }
            continue;
        }
        let (body, empty) = match tag.strip_suffix('/') {
            Some(body) => (body, true),
            None => (tag, false),
        };
        let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
        let name = &body[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "-_:.".contains(c))
        {
            return Err(format!("bad element name in <{tag}>"));
        }
        attributes_ok(&body[name_end..], name)?;
        if stack.is_empty() {
            roots += 1;
            if roots > 1 {
                return Err(format!("second root element <{name}>"));
            }
        }
        elements.push(name.to_owned());
        if !empty {
            stack.push(name.to_owned());
        }
    }
    match stack.pop() {
        Some(open) => Err(format!("<{open}> is never closed")),
        None if roots == 0 => Err("no root element".to_owned()),
        None => Ok(elements),
    }
}

fn text_ok(text: &str, outside: bool) -> Result<(), String> {
    if outside && !text.trim().is_empty() {
        return Err(format!("text outside the root: {text:?}"));
    }
    entities_ok(text)
}

fn entities_ok(text: &str) -> Result<(), String> {
    if text.contains('<') {
        return Err(format!("raw '<' in {text:?}"));
    }
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let after = &rest[amp + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| format!("raw '&' in {text:?}"))?;
        let entity = &after[..end];
        let known = ["amp", "lt", "gt", "quot", "apos"].contains(&entity)
            || entity
                .strip_prefix("#x")
                .is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
            || entity
                .strip_prefix('#')
                .is_some_and(|d| d.parse::<u32>().is_ok());
        if !known {
            return Err(format!("unknown entity &{entity}; in {text:?}"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

fn attributes_ok(mut rest: &str, element: &str) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(());
        }
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("attribute without value in <{element}>"))?;
        let name = rest[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("bad attribute name {name:?} in <{element}>"));
        }
        if !seen.insert(name.to_owned()) {
            return Err(format!("duplicate attribute {name} in <{element}>"));
        }
        let value = rest[eq + 1..].trim_start();
        let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'');
        let quote = quote.ok_or_else(|| format!("unquoted attribute {name} in <{element}>"))?;
        let end = value[1..]
            .find(quote)
            .ok_or_else(|| format!("unterminated attribute {name} in <{element}>"))?;
        entities_ok(&value[1..=end])?;
        rest = &value[end + 2..];
    }
}

#[test]
fn the_checker_itself_tells_good_from_bad() {
    assert!(
        check(r#"<?xml version="1.0"?><svg a="1"><g><rect/></g><text>a &amp; b</text></svg>"#)
            .is_ok()
    );
    for bad in [
        "<svg><g></svg>",
        "<svg></g>",
        "<svg a=1/>",
        r#"<svg a="1" a="2"/>"#,
        "<svg>a & b</svg>",
        "<svg>&nbsp;</svg>",
        "<svg/><svg/>",
        "<svg>",
        "",
    ] {
        assert!(check(bad).is_err(), "{bad} passed");
    }
}
