//! Data for the user goes to stdout through here; logs and diagnostics go to stderr.

use std::io::Write;

/// Writes `text` to stdout as is.
pub(crate) fn stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes a line for the user (progress notes, next steps) to stderr.
pub(crate) fn note(text: &str) {
    // A note that cannot be written is not worth failing the command for.
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Formats rows as aligned columns under a header.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut text = String::new();
    let mut line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index == last {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}   "));
            }
        }
        text.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_without_trailing_spaces() {
        let text = table(
            &["NAME", "ROLE"],
            &[vec!["nodes-us-east-1a".into(), "Node".into()]],
        );
        assert_eq!(text, "NAME               ROLE\nnodes-us-east-1a   Node\n");
    }
}
