//! Notes longer than the forge accepts are cut, at a line, with a line saying so: GitHub
//! refuses a release body above 125,000 characters, and a first release (whose notes cover the
//! whole history) of a mature repository easily goes over it. The cut depends only on the
//! notes and the state, so a second run computes the same description and writes nothing.

use crate::block::{State, managed_block};

/// `notes`, cut so that the managed block holding them fits in `max` characters.
pub(super) fn fit(notes: &str, state: &State, max: Option<usize>) -> String {
    let Some(max) = max else {
        return notes.to_owned();
    };
    let size = |n: &str| managed_block(n, state).chars().count();
    if size(notes) <= max {
        return notes.to_owned();
    }
    let tail = format!(
        "\n\n*The notes stop here: the forge keeps at most {max} characters in a release description.*"
    );
    let lines: Vec<&str> = notes.split_inclusive('\n').collect();
    let cut = |k: usize| {
        let mut s = lines[..k].concat().trim_end().to_owned();
        s.push_str(&tail);
        s
    };
    // The most whole lines that fit with the tail.
    let (mut lo, mut hi) = (0, lines.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if size(&cut(mid)) <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    cut(lo)
}

#[cfg(test)]
mod tests {
    use super::fit;
    use crate::block::{State, managed_block};

    #[test]
    fn short_notes_are_kept_and_long_ones_cut_at_a_line_to_fit() {
        let state = State::default();
        assert_eq!(fit("- a\n- b\n", &state, Some(1000)), "- a\n- b\n");
        assert_eq!(fit("- a\n- b\n", &state, None), "- a\n- b\n");
        let notes: String = (0..2000).map(|i| format!("- change {i}\n")).collect();
        let cut = fit(&notes, &state, Some(5000));
        assert!(managed_block(&cut, &state).chars().count() <= 5000);
        assert!(managed_block(&cut, &state).chars().count() > 4800);
        assert!(cut.starts_with("- change 0\n"));
        assert!(cut.ends_with("in a release description.*"), "{cut}");
        let kept = cut.lines().filter(|l| l.starts_with("- change")).count();
        assert!(notes.starts_with(&cut.lines().take(kept).collect::<Vec<_>>().join("\n")));
        assert_eq!(
            fit(&notes, &state, Some(5000)),
            cut,
            "the same cut every run"
        );
    }
}
