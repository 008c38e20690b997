//! nodeup's block of `/etc/hosts`: the etcd members' DNS names and their addresses.
//!
//! The block sits between two marker lines; everything outside it is the machine's and is
//! kept byte for byte. An empty block is removed with its markers.

use std::net::IpAddr;

/// The line that opens nodeup's block.
pub const BEGIN: &str = "# Begin host entries managed by nodeup (etcd members)";
/// The line that closes it.
pub const END: &str = "# End host entries managed by nodeup";

/// One line of the block: an address and its names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct HostEntry {
    /// The address.
    pub address: IpAddr,
    /// The names that resolve to it.
    pub names: Vec<String>,
}

/// `existing` with nodeup's block replaced by `entries` (appended when there was none).
#[must_use]
pub fn with_block(existing: &str, entries: &[HostEntry]) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut inside = false;
    for line in existing.lines() {
        match line.trim_end() {
            BEGIN => inside = true,
            END if inside => inside = false,
            _ if inside => {}
            _ => kept.push(line),
        }
    }
    let mut text = kept.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    if !entries.is_empty() {
        text.push_str(BEGIN);
        text.push('\n');
        for entry in entries {
            text.push_str(&format!("{}\t{}\n", entry.address, entry.names.join(" ")));
        }
        text.push_str(END);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(address: &str, name: &str) -> HostEntry {
        HostEntry {
            address: address.parse().expect("an address"),
            names: vec![name.to_owned()],
        }
    }

    #[test]
    fn the_block_is_added_replaced_and_removed_keeping_the_rest() {
        let machine = "127.0.0.1\tlocalhost\n::1\tip6-localhost\n";
        let first = with_block(machine, &[entry("10.0.0.1", "etcd-a.internal.c")]);
        assert_eq!(
            first,
            format!("{machine}{BEGIN}\n10.0.0.1\tetcd-a.internal.c\n{END}\n")
        );
        // The same entries give the same text (a second run writes nothing).
        assert_eq!(
            with_block(&first, &[entry("10.0.0.1", "etcd-a.internal.c")]),
            first
        );
        let moved = with_block(
            &format!("{first}10.9.9.9\tadded-later\n"),
            &[entry("10.0.0.2", "etcd-a.internal.c")],
        );
        assert_eq!(
            moved,
            format!(
                "{machine}10.9.9.9\tadded-later\n{BEGIN}\n10.0.0.2\tetcd-a.internal.c\n{END}\n"
            )
        );
        assert_eq!(
            with_block(&moved, &[]),
            format!("{machine}10.9.9.9\tadded-later\n")
        );
        assert_eq!(with_block("", &[]), "");
    }
}
