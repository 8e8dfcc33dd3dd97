//! `nsem list PATTERN`: shell-style wildcards on semaphore names, as
//! `fnmatch(3)` without flags. `*` matches any bytes (none included), `?`
//! one byte, `[abc]`, `[a-z]` and `[!a-z]` (or `[^a-z]`) one byte of a set
//! or outside it, and `\` makes the next character literal. A `[` without
//! its `]` is a literal `[`. Names are bytes (not necessarily UTF-8), and so
//! is the pattern: a multi-byte character in a set matches any of its bytes.

/// Whether the semaphore name `name` matches `pattern`. Leading
/// slashes of both are ignored, as in names: `/jo*` is `jo*`.
pub fn matches(pattern: &[u8], name: &[u8]) -> bool {
    // Both sides without their leading slashes: `/jobs`, `jobs` and `//jobs`
    // are one name.
    let bare = |s: &[u8]| s.len() - s.iter().skip_while(|&&b| b == b'/').count();
    glob(&pattern[bare(pattern)..], &name[bare(name)..])
}

/// Iterative matching with one backtrack point, the last `*` seen: linear
/// in practice, `len(pattern) * len(name)` at worst.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where to resume after the last `*`: its pattern position and the
    // name position it now stands for up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => match set(&pattern[p..], name[n]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                // No closing `]`: a literal `[`.
                None => (name[n] == b'[').then_some(1),
            },
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == name[n]).then_some(2),
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                p += len;
                n += 1;
            }
            // Let the last `*` take one more byte, and try again after it.
            (None, Some((sp, sn))) => {
                star = Some((sp, sn + 1));
                p = sp;
                n = sn + 1;
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Matches one byte against the set that starts `pattern` (at its `[`):
/// `Some((matched, pattern bytes the set takes))`, or `None` if the set is
/// not closed.
fn set(pattern: &[u8], byte: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let mut lo = *pattern.get(i)?;
        // A `]` first in the set is a member, not its end.
        if lo == b']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        if lo == b'\\' {
            i += 1;
            lo = *pattern.get(i)?;
        }
        i += 1;
        let mut hi = lo;
        if pattern.get(i) == Some(&b'-') && pattern.get(i + 1).is_some_and(|&c| c != b']') {
            hi = pattern[i + 1];
            i += 2;
            if hi == b'\\' {
                hi = *pattern.get(i)?;
                i += 1;
            }
        }
        found |= (lo..=hi).contains(&byte);
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn m(pattern: &str, name: &str) -> bool {
        matches(pattern.as_bytes(), name.as_bytes())
    }

    #[test]
    fn literals_and_leading_slashes() {
        assert!(m("jobs", "jobs"));
        assert!(m("/jobs", "jobs"));
        assert!(m("//jobs", "jobs"));
        assert!(!m("jobs", "jobs2"));
        assert!(!m("jobs2", "jobs"));
        assert!(!m("Jobs", "jobs"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn stars() {
        assert!(m("*", "anything"));
        assert!(m("*", ""));
        assert!(m("jo*", "jobs"));
        assert!(m("jo*", "jo"));
        assert!(m("*bs", "jobs"));
        assert!(m("j*b*s", "jobs"));
        assert!(m("*-*-*", "a-b-c"));
        assert!(!m("*-*-*", "a-b"));
        assert!(m("a*a*a*b", "aaaaaaab"));
        assert!(!m("a*a*a*b", "aaaaaaaa"));
        assert!(m("**", "x"));
        assert!(!m("jo*x", "jobs"));
    }

    #[test]
    fn question_marks() {
        assert!(m("job?", "jobs"));
        assert!(!m("job?", "job"));
        assert!(!m("job?", "jobss"));
        assert!(m("???", "abc"));
        assert!(m("?*", "a"));
        assert!(!m("?*", ""));
    }

    #[test]
    fn sets() {
        assert!(m("[jk]obs", "jobs"));
        assert!(m("[jk]obs", "kobs"));
        assert!(!m("[jk]obs", "lobs"));
        assert!(m("worker-[0-9]", "worker-7"));
        assert!(!m("worker-[0-9]", "worker-x"));
        assert!(m("worker-[!0-9]", "worker-x"));
        assert!(m("worker-[^0-9]", "worker-x"));
        assert!(!m("worker-[!0-9]", "worker-7"));
        assert!(m("[]]", "]"));
        assert!(m("[!]]", "a"));
        assert!(!m("[!]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("[a-]", "a"));
        assert!(m("[\\]]", "]"));
        assert!(m("x[*]", "x*"));
        assert!(!m("x[*]", "xy"));
        assert!(m("[a-cx-z]", "y"));
        assert!(!m("[a-cx-z]", "m"));
    }

    #[test]
    fn unclosed_sets_and_escapes_are_literal() {
        assert!(m("a[b", "a[b"));
        assert!(!m("a[b", "ab"));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("a\\?", "a?"));
        assert!(m("a\\", "a\\"));
        assert!(m("[", "["));
    }

    #[test]
    fn bytes_that_are_not_utf8() {
        assert!(matches(b"caf?", b"caf\xe9"));
        assert!(matches(b"caf\xe9*", b"caf\xe9-1"));
        assert!(matches(b"[\x80-\xff]*", b"\xe9t\xe9"));
        assert!(!matches(b"[\x80-\xff]*", b"ete"));
    }

    /// Against a straightforward recursive matcher, on every pattern and
    /// name made of a few symbols up to a small length.
    #[test]
    fn agrees_with_a_recursive_matcher() {
        fn reference(p: &[u8], n: &[u8]) -> bool {
            match (p.first(), n.first()) {
                (None, _) => n.is_empty(),
                (Some(b'*'), _) => {
                    reference(&p[1..], n) || (!n.is_empty() && reference(p, &n[1..]))
                }
                (Some(b'?'), Some(_)) => reference(&p[1..], &n[1..]),
                (Some(&c), Some(&d)) => c == d && reference(&p[1..], &n[1..]),
                (Some(_), None) => false,
            }
        }
        fn words(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
            let mut all = vec![vec![]];
            let mut last = vec![vec![]];
            for _ in 0..max {
                let mut next = Vec::new();
                for w in &last {
                    for &c in alphabet {
                        let mut v = w.clone();
                        v.push(c);
                        next.push(v);
                    }
                }
                all.extend(next.iter().cloned());
                last = next;
            }
            all
        }
        let patterns = words(b"ab*?", 5);
        let names = words(b"ab", 6);
        for p in &patterns {
            for n in &names {
                assert_eq!(matches(p, n), reference(p, n), "{p:?} {n:?}");
            }
        }
    }
}
