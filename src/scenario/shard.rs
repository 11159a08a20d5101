//! `--shard K/N`: a stable share of the selected scenarios, so that a long suite can be split
//! across CI machines. Every shard sorts the same selection the same way (natural order of the
//! scenario IDs) and takes every N-th scenario starting at the K-th, so the shards are disjoint,
//! together cover the selection, and differ in size by at most one scenario.

use std::fmt;
use std::str::FromStr;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// Keeps this shard's share of `items`, identified by `id`, in natural order of the IDs.
    pub fn take<T>(self, mut items: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
        items.sort_by(|a, b| natord::compare(id(a), id(b)));
        items
            .into_iter()
            .enumerate()
            .filter(|(position, _)| position % self.count == self.index - 1)
            .map(|(_, item)| item)
            .collect()
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("`{text}` is not a shard: write K/N with 1 ≤ K ≤ N, e.g. 2/4");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let index: usize = index.trim().parse().map_err(|_| usage())?;
        let count: usize = count.trim().parse().map_err(|_| usage())?;
        if index == 0 || count == 0 || index > count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("{}.{}", i % 7 + 1, i)).collect()
    }

    #[test]
    fn shards_are_disjoint_cover_everything_and_are_balanced() {
        let all = ids(53);
        for count in 1..=6 {
            let mut seen: Vec<String> = Vec::new();
            let mut sizes = Vec::new();
            for index in 1..=count {
                let shard = Shard { index, count };
                let share = shard.take(all.clone(), |s| s.as_str());
                sizes.push(share.len());
                seen.extend(share);
            }
            seen.sort();
            let mut expected = all.clone();
            expected.sort();
            assert_eq!(
                seen, expected,
                "{count} shards must cover each scenario once"
            );
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(
                max.zip(min).is_some_and(|(max, min)| max - min <= 1),
                "{sizes:?}"
            );
        }
    }

    #[test]
    fn the_share_does_not_depend_on_the_input_order() {
        let shard: Shard = "2/3".parse().unwrap();
        let mut reversed = ids(20);
        reversed.reverse();
        assert_eq!(
            shard.take(ids(20), |s| s.as_str()),
            shard.take(reversed, |s| s.as_str())
        );
    }

    #[test]
    fn malformed_shards_are_refused() {
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "1/2/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!("1/1".parse::<Shard>().unwrap().to_string(), "1/1");
    }
}
