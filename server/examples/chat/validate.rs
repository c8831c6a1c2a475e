//! What the chat accepts from a client: nicknames, message text, channel names. Every
//! refusal carries the sentence the page shows.

/// Why a nickname or a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Empty, or only blanks.
    #[error("Pick a nickname")]
    EmptyName,
    /// Longer than the limit.
    #[error("Nicknames are at most {0} characters")]
    LongName(usize),
    /// Empty, or only blanks.
    #[error("Messages cannot be empty")]
    EmptyText,
    /// Longer than the limit.
    #[error("Messages are at most {0} characters")]
    LongText(usize),
    /// Not 8 to 64 letters, digits, `-` or `_`.
    #[error("Malformed message id")]
    ClientId,
}

impl Invalid {
    /// A stable code for `err.data.code` / the ack's `code`, for pages that want to branch.
    pub fn code(&self) -> &'static str {
        match self {
            Invalid::EmptyName => "name-empty",
            Invalid::LongName(_) => "name-too-long",
            Invalid::EmptyText => "text-empty",
            Invalid::LongText(_) => "text-too-long",
            Invalid::ClientId => "bad-request",
        }
    }
}

/// Control characters (newlines, tabs, escapes, bidi overrides…) become spaces, runs of
/// blanks one space, and the ends are trimmed: what others see is one plain line.
fn one_line(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_control() || is_bidi_control(c) {
            ' '
        } else {
            c
        };
        if !(c.is_whitespace() && out.ends_with(char::is_whitespace)) {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// Characters that reorder the text around them, which could make a name read as another.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// A nickname of 1 to `max` characters once normalised.
pub fn nickname(raw: &str, max: usize) -> Result<String, Invalid> {
    let name = one_line(raw);
    match name.chars().count() {
        0 => Err(Invalid::EmptyName),
        n if n > max => Err(Invalid::LongName(max)),
        _ => Ok(name),
    }
}

/// A message of 1 to `max` characters once normalised. The limit is checked on what was
/// received, so a page cannot pad past it with blanks that get squeezed.
pub fn message(raw: &str, max: usize) -> Result<String, Invalid> {
    if raw.chars().count() > max {
        return Err(Invalid::LongText(max));
    }
    let text = one_line(raw);
    if text.is_empty() {
        return Err(Invalid::EmptyText);
    }
    Ok(text)
}

/// `#` then 1 to 32 of `a-z`, `0-9`, `-`, `_`.
pub fn is_channel_name(name: &str) -> bool {
    name.strip_prefix('#').is_some_and(|rest| {
        (1..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    })
}

/// A page's id for a message it sends: 8 to 64 of `A-Z`, `a-z`, `0-9`, `-`, `_`.
pub fn client_id(cid: &str) -> Result<&str, Invalid> {
    let ok = (8..=64).contains(&cid.len())
        && cid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(cid) } else { Err(Invalid::ClientId) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        assert_eq!(client_id("0123abcd-EF_9"), Ok("0123abcd-EF_9"));
        for bad in [
            "short",
            "has space here",
            "<script>x</script>",
            "ünïcode-id",
        ] {
            assert_eq!(client_id(bad), Err(Invalid::ClientId), "{bad}");
        }
        assert_eq!(client_id(&"a".repeat(65)), Err(Invalid::ClientId));
    }

    #[test]
    fn nicknames() {
        assert_eq!(nickname("  alice ", 24).as_deref(), Ok("alice"));
        assert_eq!(nickname("a\tb\n\u{1b}c", 24).as_deref(), Ok("a b c"));
        assert_eq!(nickname("\u{202e}evil", 24).as_deref(), Ok("evil"));
        assert_eq!(nickname("", 24), Err(Invalid::EmptyName));
        assert_eq!(nickname(" \n\t ", 24), Err(Invalid::EmptyName));
        assert_eq!(nickname(&"x".repeat(24), 24).map(|n| n.len()), Ok(24));
        assert_eq!(nickname(&"x".repeat(25), 24), Err(Invalid::LongName(24)));
        // Characters, not bytes: 24 emoji fit.
        assert!(nickname(&"🦀".repeat(24), 24).is_ok());
        // Markup is just text here; the page renders it as text.
        assert_eq!(nickname("<b>x</b>", 24).as_deref(), Ok("<b>x</b>"));
        assert_eq!(
            Invalid::LongName(24).to_string(),
            "Nicknames are at most 24 characters"
        );
    }

    #[test]
    fn messages() {
        assert_eq!(message(" hi  there ", 11).as_deref(), Ok("hi there"));
        assert_eq!(message("  ", 10), Err(Invalid::EmptyText));
        assert_eq!(message(&"x".repeat(11), 10), Err(Invalid::LongText(10)));
        assert_eq!(message(&" ".repeat(20), 10), Err(Invalid::LongText(10)));
        assert_eq!(
            message("<img src=x onerror=alert(1)>", 100).as_deref(),
            Ok("<img src=x onerror=alert(1)>")
        );
        assert_eq!(Invalid::LongText(500).code(), "text-too-long");
    }

    #[test]
    fn channel_names() {
        assert!(is_channel_name("#general"));
        assert!(is_channel_name("#a-b_9"));
        for bad in ["general", "#", "#Caps", "#a b", "#<b>", "#ünï"] {
            assert!(!is_channel_name(bad), "{bad}");
        }
        assert!(!is_channel_name(&format!("#{}", "a".repeat(33))));
    }
}
